// The demo page (www/) driven as a person would, in Debian's Chromium through
// playwright-core, against softap-sim (the device and the cloud); the test serves the page,
// pointed at the free ports the simulator took.
// Screenshots of every step go to target/e2e-screenshots/.
//
// Run: node --test tests/e2e/   (make test does, after building pkg/ and the simulator)
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { chromium } from "playwright-core";
import { demoSite, root, startSim } from "./support.mjs";

const shots = path.join(root, "target/e2e-screenshots");
// The demo page and the simulator's control address: free ports, set before the tests run.
let PAGE;
let CONTROL;

let sim;
let demo;
let browser;

before(async () => {
  mkdirSync(shots, { recursive: true });
  // Free ports, with quicker joins; the demo page is served pointed at them.
  sim = await startSim([
    "--http", "127.0.0.1:0", "--tcp", "127.0.0.1:0", "--cloud", "127.0.0.1:0",
    "--control", "127.0.0.1:0", "--backend", "127.0.0.1:0",
    "--key", path.join(root, "tests/fixtures/device-1024.pem"),
    "--scan-entry-ms", "5", "--scan-ms", "20", "--teardown-ms", "50", "--join-ms", "200",
    "--relisten-ms", "300",
  ]);
  CONTROL = sim.addresses.control;
  demo = await demoSite(sim.addresses);
  PAGE = demo.url;
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
      "--disable-component-update", "--no-first-run"],
  });
});

after(async () => {
  await browser?.close();
  demo?.server.close();
  sim?.kill();
});

async function reset() {
  await fetch(`${CONTROL}/reset?device=0`, { method: "POST" });
}

/** A fresh page on the demo: the page and its widget. */
async function open(options = {}) {
  const page = await browser.newPage({ locale: "en-US", ...options });
  await page.goto(PAGE);
  return { page, widget: page.locator("softap-setup") };
}

/** Picks a network in the list, types its password, and sends. */
async function connectTo(widget, network, password) {
  await widget.getByRole("radio", { name: new RegExp(network) }).check();
  await widget.getByLabel("Password", { exact: true }).fill(password);
  await widget.getByRole("button", { name: "Connect" }).click();
}

async function deviceState() {
  return (await (await fetch(`${CONTROL}/state`)).json()).devices[0];
}

test("a WPA2 setup from start to done, a screenshot per step", async () => {
  await reset();
  const { page, widget } = await open({ viewport: { width: 360, height: 740 } });
  await widget.getByRole("heading", { name: "Set up your Lumen lamp" }).waitFor();
  await page.screenshot({ path: path.join(shots, "1-intro.png") });
  await widget.getByRole("button", { name: "Start" }).click();
  await widget.getByRole("heading", { name: "Choose your Wi-Fi network" }).waitFor();
  await widget.getByText("Home WiFi").waitFor();
  await page.screenshot({ path: path.join(shots, "2-networks.png") });
  await connectTo(widget, "Home WiFi", "correct horse");
  await widget.getByRole("heading", { name: "Rejoin your home Wi-Fi" }).waitFor();
  await page.screenshot({ path: path.join(shots, "3-rejoin.png") });
  await widget.getByRole("heading", { name: "All set!" }).waitFor({ timeout: 20000 });
  await page.screenshot({ path: path.join(shots, "4-done.png") });
  const state = await deviceState();
  assert.equal(state.networks[0].password, "correct horse");
  assert.equal(state.claimedBy, "customer@example.com");
  await page.close();
});

test("a password the device cannot take is refused in the form, with the field marked", async () => {
  await reset();
  const { page, widget } = await open();
  await widget.getByRole("button", { name: "Start" }).click();
  await connectTo(widget, "Home WiFi", "short");
  await widget.getByRole("alert").filter({ hasText: "8 to 63 characters" }).waitFor();
  assert.equal(await widget.getByLabel("Password", { exact: true }).getAttribute("aria-invalid"), "true");
  await page.screenshot({ path: path.join(shots, "5-password-error.png") });
  assert.equal((await deviceState()).networks.length, 0, "nothing was configured");
  await page.close();
});

test("the German interface follows the browser's language", async () => {
  await reset();
  const { page, widget } = await open({ locale: "de-DE" });
  await widget.getByRole("heading", { name: "Lumen lamp einrichten" }).waitFor();
  await widget.getByRole("button", { name: "Los geht's" }).click();
  await widget.getByRole("heading", { name: "Wählen Sie Ihr WLAN" }).waitFor();
  await page.screenshot({ path: path.join(shots, "6-german.png") });
  await page.close();
});

test("keyboard only: tab to Start, pick a network with the arrows, type, Enter", async () => {
  await reset();
  const { page, widget } = await open();
  await widget.getByRole("heading", { name: "Set up your Lumen lamp" }).waitFor();
  await page.keyboard.press("Tab");
  await page.keyboard.press("Enter");
  await widget.getByText("Guest").waitFor();
  // Focus is on the heading; Tab reaches the first network, arrows move between them.
  await page.keyboard.press("Tab");
  const names = await widget.locator("label.network .ssid").allTextContents();
  for (let i = 0; i < names.indexOf("Guest"); i++) await page.keyboard.press("ArrowDown");
  assert.equal(await widget.getByRole("radio", { name: /Guest/ }).isChecked(), true);
  await page.keyboard.press("Enter");
  await widget.getByRole("heading", { name: "All set!" }).waitFor({ timeout: 20000 });
  assert.equal((await deviceState()).joined, "Guest");
  await page.close();
});

test("a wrong password, the light blinks blue again, then the right one", async () => {
  await reset();
  const { page, widget } = await open();
  await widget.getByRole("button", { name: "Start" }).click();
  await connectTo(widget, "Home WiFi", "wrong horse");
  await widget.getByRole("heading", { name: "Rejoin your home Wi-Fi" }).waitFor();
  // The device fails to join and comes back in setup mode.
  for (let i = 0; i < 200 && (await deviceState()).modes.at(-1) !== "listening"; i++) {
    await new Promise((r) => setTimeout(r, 25));
  }
  await page.screenshot({ path: path.join(shots, "7-blinking-blue-again.png") });
  await widget.getByRole("button", { name: "Its light blinks blue again" }).click();
  await connectTo(widget, "Home WiFi", "correct horse");
  await widget.getByRole("heading", { name: "All set!" }).waitFor({ timeout: 20000 });
  const state = await deviceState();
  assert.equal(state.joined, "Home WiFi");
  assert.equal(state.claimedBy, "customer@example.com");
  await page.close();
});

test("the page, widget and wasm load again without internet once visited", async () => {
  await reset();
  const context = await browser.newContext({ locale: "en-US" });
  const page = await context.newPage();
  await page.goto(PAGE);
  await page.evaluate(() => navigator.serviceWorker.ready);
  await page.reload();
  await page.evaluate(() => navigator.serviceWorker.ready);
  await context.setOffline(true);
  await page.reload();
  const widget = page.locator("softap-setup");
  await widget.getByRole("heading", { name: "Set up your Lumen lamp" }).waitFor();
  // The wasm loads from the cache; the token request cannot leave: the page says so.
  const wasm = await page.evaluate(async () => (await caches.match("./pkg/softap_web_bg.wasm"))?.status);
  assert.equal(wasm, 200);
  await widget.getByRole("button", { name: "Start" }).click();
  await widget.getByRole("alert").filter({ hasText: "internet is not reachable" }).waitFor();
  await page.screenshot({ path: path.join(shots, "8-offline.png") });
  await context.close();
});

test("usable at 320 px: no sideways scrolling on the busiest screen", async () => {
  await reset();
  const { page, widget } = await open({ viewport: { width: 320, height: 640 } });
  await widget.getByRole("button", { name: "Start" }).click();
  await widget.getByRole("radio", { name: /Corp/ }).check();
  await widget.getByLabel("User name").waitFor();
  // PEAP asks for a user name and password, not for certificates.
  assert.equal(await widget.getByLabel("Client certificate (PEM)").isVisible(), false);
  assert.equal(await widget.getByLabel("Password", { exact: true }).isVisible(), true);
  await widget.getByLabel("Sign-in method").selectOption("tls");
  assert.equal(await widget.getByLabel("Client certificate (PEM)").isVisible(), true);
  assert.equal(await widget.getByLabel("Password", { exact: true }).isVisible(), false);
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 320, `the page is ${width} px wide`);
  await page.screenshot({ path: path.join(shots, "9-320px-enterprise.png"), fullPage: true });
  await page.close();
});

test("an enterprise (PEAP) network: user name, password, and the device joins", async () => {
  await reset();
  const { page, widget } = await open();
  await widget.getByRole("button", { name: "Start" }).click();
  await widget.getByRole("radio", { name: /Corp/ }).check();
  await widget.getByLabel("User name").fill("alice");
  await widget.getByLabel("Anonymous identity (optional)").fill("anonymous");
  await widget.getByLabel("Password", { exact: true }).fill("enterprise secret");
  await page.screenshot({ path: path.join(shots, "10-enterprise-form.png") });
  await widget.getByRole("button", { name: "Connect" }).click();
  await widget.getByRole("heading", { name: "All set!" }).waitFor({ timeout: 20000 });
  const state = await deviceState();
  assert.equal(state.joined, "Corp");
  const corp = state.networks.find((n) => n.ssid === "Corp");
  assert.equal(corp.inner_identity, "alice");
  assert.equal(corp.eap, 25, "PEAP");
  assert.equal(corp.password, "enterprise secret");
  assert.equal(state.claimedBy, "customer@example.com");
  await page.close();
});

test("the device goes away mid-setup: guidance, then Try again finds it back", async () => {
  await reset();
  // Found, then gone (the phone fell back to the home network, or the device restarted)
  // before its key is read; back after 3 s.
  await fetch(`${CONTROL}/faults?device=0`, {
    method: "POST",
    body: JSON.stringify({ reboot_after: "device-id", reboot_ms: 3000 }),
  });
  const { page, widget } = await open();
  await widget.getByRole("button", { name: "Start" }).click();
  const alert = widget.getByRole("alert");
  await alert.waitFor({ timeout: 20000 });
  assert.match(await alert.textContent(), /cannot be reached. Check that you joined Photon-XXXXXX/);
  await page.screenshot({ path: path.join(shots, "11-device-unreachable.png") });
  await widget.getByRole("button", { name: "Try again" }).click();
  await widget.getByRole("heading", { name: "Choose your Wi-Fi network" }).waitFor({ timeout: 20000 });
  await connectTo(widget, "Home WiFi", "correct horse");
  await widget.getByRole("heading", { name: "All set!" }).waitFor({ timeout: 20000 });
  assert.equal((await deviceState()).joined, "Home WiFi");
  await page.close();
});

test("two lamps in a row: the second has its own id and claim, both are listed", async () => {
  await reset();
  const { page, widget } = await open();
  const done = [];
  await page.exposeFunction("recordDone", (ids) => done.push(ids));
  await page.evaluate(() => document.querySelector("softap-setup")
    .addEventListener("softap-done", (e) => window.recordDone(e.detail.deviceIds)));
  await widget.getByRole("button", { name: "Start" }).click();
  await connectTo(widget, "Home WiFi", "correct horse");
  await widget.getByRole("heading", { name: "All set!" }).waitFor({ timeout: 20000 });
  const first = (await deviceState()).id;
  // The demo page powers on "the next lamp" (a new identity at the same address).
  await widget.getByRole("button", { name: "Set up another Lumen lamp" }).click();
  await widget.getByRole("heading", { name: "Choose your Wi-Fi network" }).waitFor({ timeout: 20000 });
  await connectTo(widget, "Home WiFi", "correct horse");
  await widget.getByRole("heading", { name: "All set!" }).waitFor({ timeout: 20000 });
  await page.screenshot({ path: path.join(shots, "12-two-lamps.png") });
  const second = await deviceState();
  assert.notEqual(second.id, first);
  assert.equal(second.claimedBy, "customer@example.com");
  assert.deepEqual(done, [[first], [first, second.id]]);
  const listed = await widget.locator("section p.muted").last().textContent();
  assert.ok(listed.includes(first) && listed.includes(second.id));
  // The installation was two lamps: no third offer.
  assert.equal(await widget.getByRole("button", { name: /another/ }).count(), 0);
  await page.close();
});

test("branding from one JSON config: logo, links, texts and colours", async () => {
  await reset();
  const { page, widget } = await open();
  await page.evaluate(() => {
    document.querySelector("softap-setup").config = {
      productName: "Aqua sensor",
      logo: "./lumen-logo.svg",
      helpUrl: "https://example.com/aqua/help",
      termsUrl: "https://example.com/aqua/terms",
      theme: { accent: "#00543c" },
      messages: { en: { start: "Let's go" } },
    };
  });
  // Attributes win over the config: the demo's product-name attribute stays.
  await widget.getByRole("heading", { name: "Set up your Lumen lamp" }).waitFor();
  assert.equal(await widget.getByRole("img", { name: "Lumen lamp" }).count(), 1);
  assert.equal(await widget.getByRole("link", { name: "Help" }).getAttribute("href"), "https://example.com/aqua/help");
  assert.equal(await widget.getByRole("link", { name: "Terms" }).getAttribute("href"), "https://example.com/aqua/terms");
  const start = widget.getByRole("button", { name: "Let's go" });
  assert.equal(await start.evaluate((b) => getComputedStyle(b).backgroundColor), "rgb(0, 84, 60)");
  await page.evaluate(() => document.querySelector("softap-setup").removeAttribute("product-name"));
  await page.evaluate(() => { const el = document.querySelector("softap-setup"); el.config = el.config; });
  await widget.getByRole("heading", { name: "Set up your Aqua sensor" }).waitFor();
  await page.screenshot({ path: path.join(shots, "13-config-branding.png") });
  await page.close();
});

test("the session expires while the customer is offline: a new token from the maker's server, done", async () => {
  await reset();
  const { page, widget } = await open();
  await widget.getByRole("button", { name: "Start" }).click();
  await widget.getByRole("heading", { name: "Choose your Wi-Fi network" }).waitFor();
  await fetch(`${CONTROL}/cloud/expire-tokens`, { method: "POST" });
  await connectTo(widget, "Home WiFi", "correct horse");
  await widget.getByRole("heading", { name: "All set!" }).waitFor({ timeout: 20000 });
  assert.equal((await deviceState()).claimedBy, "customer@example.com");
  await page.close();
});

test("the session expires and the maker's server refuses a new one: the page says what to do", async () => {
  await reset();
  const { page, widget } = await open();
  await widget.getByRole("button", { name: "Start" }).click();
  await widget.getByRole("heading", { name: "Choose your Wi-Fi network" }).waitFor();
  await fetch(`${CONTROL}/cloud/expire-tokens`, { method: "POST" });
  await fetch(`${CONTROL}/cloud/faults`, {
    method: "POST",
    body: JSON.stringify({ path_prefix: "/oauth/token", status: 400, count: 1 }),
  });
  await connectTo(widget, "Home WiFi", "correct horse");
  const alert = widget.getByRole("alert");
  await alert.waitFor({ timeout: 20000 });
  assert.match(await alert.textContent(), /session has expired/);
  await page.screenshot({ path: path.join(shots, "14-token-expired.png") });
  await page.close();
});

/** WCAG relative luminance of a CSS rgb()/rgba() colour. */
function luminance(css) {
  const [r, g, b] = css.match(/[\d.]+/g).slice(0, 3).map((v) => {
    const c = Number(v) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

function contrast(a, b) {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

test("WCAG AA contrast for every text on the busiest screens, demo and default themes", async () => {
  for (const theme of ["demo", "default"]) {
    await reset();
    const { page, widget } = await open();
    if (theme === "default") {
      // The element as a maker gets it: no custom properties from the page.
      await page.addStyleTag({ content: "softap-setup { --softap-accent: initial; --softap-background: initial; --softap-text: initial; --softap-muted: initial; }" });
    }
    const screens = { intro: async () => {} };
    screens.networks = async () => {
      await widget.getByRole("button", { name: "Start" }).click();
      await widget.getByRole("radio", { name: /Corp/ }).check();
    };
    screens.error = async () => {
      await widget.getByLabel("User name").fill("");
      await widget.getByRole("button", { name: "Connect" }).click();
      await widget.getByRole("alert").filter({ hasText: /./ }).waitFor();
    };
    for (const [name, reach] of Object.entries(screens)) {
      await reach();
      const pairs = await widget.evaluate((host) => {
        const background = getComputedStyle(host).backgroundColor;
        const out = [];
        for (const el of host.shadowRoot.querySelectorAll("h2, p, label, button, a, span, legend")) {
          if (!el.textContent.trim() || el.closest("[hidden]") || el.classList.contains("visually-hidden")) continue;
          const style = getComputedStyle(el);
          // A translucent background (the hovered row) shows the widget's through it.
          const [r, g, b, a = 1] = style.backgroundColor.match(/[\d.]+/g).map(Number);
          const [R, G, B] = background.match(/[\d.]+/g).map(Number);
          const mix = (x, y) => Math.round(x * a + y * (1 - a));
          const back = `rgb(${mix(r, R)}, ${mix(g, G)}, ${mix(b, B)})`;
          out.push({ text: el.textContent.trim().slice(0, 30), color: style.color, back });
        }
        return out;
      });
      assert.ok(pairs.length > 3, `${theme}/${name}: texts found`);
      const accent = await widget.locator("button").first().evaluate((b) => getComputedStyle(b).backgroundColor);
      assert.equal(accent, theme === "demo" ? "rgb(138, 59, 18)" : "rgb(11, 92, 173)");
      for (const { text, color, back } of pairs) {
        const ratio = contrast(color, back);
        assert.ok(ratio >= 4.5, `${theme}/${name}: "${text}" has contrast ${ratio.toFixed(2)} (${color} on ${back})`);
      }
    }
    await page.close();
  }
});
