// The demo page (www/) driven as a person would, in Debian's Chromium through
// playwright-core, against softap-sim serving the page, the device and the cloud.
// Screenshots of every step go to target/e2e-screenshots/.
//
// Run: node --test tests/e2e/   (make test does, after building pkg/ and the simulator)
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { createInterface } from "node:readline";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const shots = path.join(root, "target/e2e-screenshots");
const PAGE = "http://127.0.0.1:8080/";
const CONTROL = "http://127.0.0.1:8183";

let sim;
let browser;

before(async () => {
  mkdirSync(shots, { recursive: true });
  // The demo's addresses (www/index.html names them), with quicker joins.
  sim = spawn(path.join(root, "target/debug/softap-sim"), [
    "--http", "127.0.0.1:8180", "--tcp", "127.0.0.1:8181", "--cloud", "127.0.0.1:8182",
    "--control", "127.0.0.1:8183", "--backend", "127.0.0.1:8184",
    "--www", `127.0.0.1:8080=${path.join(root, "www")}`, "--pkg", path.join(root, "pkg"),
    "--key", path.join(root, "tests/fixtures/device-1024.pem"),
    "--scan-entry-ms", "5", "--scan-ms", "20", "--teardown-ms", "50", "--join-ms", "200",
    "--relisten-ms", "300",
  ], { stdio: ["ignore", "pipe", "inherit"] });
  await new Promise((resolve, reject) => {
    sim.once("exit", (code) => reject(new Error(`softap-sim exited with ${code}`)));
    createInterface({ input: sim.stdout }).once("line", resolve);
  });
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
      "--disable-component-update", "--no-first-run"],
  });
});

after(async () => {
  await browser?.close();
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
