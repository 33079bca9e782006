// Every screen of <softap-setup> in English and German, at 320 px and 390 px wide, into
// target/e2e-screenshots/screens/ (LANG-WIDTH-NN-SCREEN.png), for review: the demo as make
// demo runs it. Screens that pass quickly (getting ready, looking for the lamp, the network
// list loading, sending) are held by the test until they are taken. Each is also checked: no
// sideways scrolling, nothing English on a German screen.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readdirSync, rmSync } from "node:fs";
import path from "node:path";
import { demoStack, launchChromium, root, untilSim } from "./support.mjs";

const dir = path.join(root, "target/e2e-screenshots/screens");
const WIDTHS = [320, 390];
let stack;
let browser;

before(async () => {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  stack = await demoStack(["--http", "127.0.0.1:0", "--tcp", "127.0.0.1:0", "--cloud", "127.0.0.1:0",
    "--control", "127.0.0.1:0", "--backend", "127.0.0.1:0", "--scan-entry-ms", "5", "--scan-ms", "20", "--teardown-ms", "50",
    "--join-ms", "200", "--relisten-ms", "300"], { devicePage: true });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  stack?.stop();
});

/** A request the test lets through when it says so: `{ release() }`. */
async function hold(page, pattern) {
  let release;
  const gate = new Promise((resolve) => { release = resolve; });
  let seen;
  const arrived = new Promise((resolve) => { seen = resolve; });
  await page.route(pattern, async (route) => {
    seen();
    await gate;
    await route.continue().catch(() => {});
  }, { times: 1 });
  return { arrived, release };
}

const WORDS = {
  en: { start: "Start", connect: "Connect", save: "Save", password: "Password", blue: "It blinks blue", release: "Remove it from the other account", done: "All set!" },
  de: { start: "Los geht's", connect: "Verbinden", save: "Speichern", password: "Passwort", blue: "Es blinkt blau", release: "Vom anderen Konto entfernen", done: "Fertig!" },
};

for (const lang of ["en", "de"]) {
  test(`every screen in ${lang === "en" ? "English" : "German"} at ${WIDTHS.join(" and ")} px`, { timeout: 240_000 }, async () => {
    const words = WORDS[lang];
    const context = await browser.newContext({ locale: lang === "en" ? "en-US" : "de-DE", viewport: { width: 390, height: 844 } });
    await context.addInitScript(() => {
      new MutationObserver((_, observer) => {
        const element = document.querySelector("softap-setup");
        if (!element) return;
        element.setAttribute("ask-light-after-ms", "0");
        observer.disconnect();
      }).observe(document, { childList: true, subtree: true });
    });
    const page = await context.newPage();
    const widget = page.locator("softap-setup");
    let n = 0;
    const shot = async (screen) => {
      n++;
      for (const width of WIDTHS) {
        await page.setViewportSize({ width, height: 844 });
        const scroll = await page.evaluate(() => document.documentElement.scrollWidth);
        assert.ok(scroll <= width, `${lang} ${screen} at ${width} px is ${scroll} px wide`);
        await widget.screenshot({ path: path.join(dir, `${lang}-${width}-${String(n).padStart(2, "0")}-${screen}.png`) });
      }
      if (lang === "de") {
        const text = await widget.evaluate((el) => el.shadowRoot.querySelector("section").innerText);
        assert.doesNotMatch(text, /\b(the|your|Your|and|is|to|with)\b/, `${screen}: English on a German screen: ${text}`);
      }
    };
    const device = stack.sim.addresses.devices[0].http;
    const cloud = stack.sim.addresses.cloud;
    await fetch(`${stack.control}/reset?device=0&release=1`, { method: "POST" });
    await page.goto(stack.url);
    await widget.locator("#start").waitFor();
    await shot("intro");
    // Getting ready (the token), looking for the lamp, looking for networks.
    const token = await hold(page, `${stack.maker.url}/v1/setup-token`);
    const found = await hold(page, `${device}/device-id`);
    const scan = await hold(page, `${device}/scan-ap`);
    await widget.locator("#start").click();
    await token.arrived;
    await shot("preparing");
    token.release();
    await found.arrived;
    await widget.locator("#step").waitFor();
    await shot("join");
    found.release();
    await scan.arrived;
    await shot("scanning");
    scan.release();
    await widget.locator("#network-form").waitFor();
    await shot("networks");
    await widget.getByRole("radio", { name: /Corp/ }).check();
    await shot("networks-enterprise");
    await widget.getByRole("radio", { name: /Home WiFi/ }).check();
    await widget.getByLabel(words.password, { exact: true }).fill("short");
    await widget.locator("#connect").click();
    await widget.locator("#form-error").filter({ hasText: /./ }).waitFor();
    await shot("networks-password-error");
    // Sending, then waiting for the cloud (held offline), the light question.
    const sending = await hold(page, `${device}/configure-ap`);
    await page.route(`${cloud}/**`, (route) => route.abort());
    await widget.getByLabel(words.password, { exact: true }).fill("correct horse");
    await widget.locator("#connect").click();
    await sending.arrived;
    await shot("sending");
    sending.release();
    await widget.locator("#light:not([hidden])").waitFor({ timeout: 30000 });
    await shot("rejoin-light-question");
    await widget.locator("#light-green").click();
    await shot("rejoin-light-green");
    await page.unroute(`${cloud}/**`);
    await widget.locator("#name-form").waitFor({ timeout: 30000 });
    await shot("name");
    await widget.locator("#save-name").click();
    await widget.getByRole("heading", { name: words.done }).waitFor({ timeout: 30000 });
    await shot("done");
    await widget.locator("summary").click();
    await shot("done-details");
    // An error screen (the device page's answer: another lamp than the one expected).
    await page.goto(`${stack.url}?case=error#softap=1&result=error&code=fingerprint-mismatch`);
    await widget.locator("#retry").waitFor();
    await shot("error");
    // The handoff, sealed mode's form, and the light question after a handoff.
    await page.evaluate(() => sessionStorage.clear());
    await fetch(`${stack.control}/reset?device=0&release=1`, { method: "POST" });
    await page.goto(`${stack.url}?mode=handoff&sealed=1`);
    await widget.locator("#start").click();
    await widget.locator("#seal-form").waitFor();
    await shot("sealed-form");
    await page.evaluate(() => sessionStorage.clear());
    await page.goto(`${stack.url}?mode=handoff`);
    await widget.locator("#start").click();
    await widget.locator("#continue").waitFor();
    await shot("handoff");
    await widget.locator("#continue").click();
    await page.waitForURL(/\/setup$/);
    await page.locator("label.network", { hasText: "Home WiFi" }).locator("input").check();
    await page.locator("#password").fill("wrong horse");
    await page.locator("#connect").click();
    await widget.locator("#light:not([hidden])").waitFor({ timeout: 30000 });
    await widget.getByRole("button", { name: words.blue }).click();
    await widget.locator("#continue").waitFor({ timeout: 30000 });
    await shot("handoff-wrong-password");
    // A lamp another account owns.
    await page.evaluate(() => sessionStorage.clear());
    const previous = stack.session;
    stack.session = stack.maker.token(`previous-owner-${lang}`);
    await fetch(`${stack.control}/reset?device=0&identity=new`, { method: "POST" });
    await page.goto(`${stack.url}?case=previous`);
    await page.locator("#installation-status").filter({ hasNotText: "Loading" }).waitFor();
    await widget.locator("#start").click();
    await widget.getByRole("radio", { name: /Guest/ }).check();
    await widget.locator("#connect").click();
    await widget.locator("#save-name").click({ timeout: 30000 });
    await widget.locator("#next").waitFor({ timeout: 30000 });
    stack.session = previous;
    await page.evaluate(() => sessionStorage.clear());
    await fetch(`${stack.control}/reset?device=0`, { method: "POST" });
    await untilSim(stack.control, (s) => s.devices[0].mode === "listening", "the lamp in setup mode");
    await page.goto(`${stack.url}?case=claimed`);
    await page.locator("#installation-status").filter({ hasNotText: "Loading" }).waitFor();
    await widget.locator("#start").click();
    await widget.getByRole("radio", { name: /Guest/ }).check();
    await widget.locator("#connect").click();
    await widget.locator("#release").waitFor({ timeout: 60000 });
    await shot("claimed-by-another");
    await widget.locator("#release").click();
    await widget.getByRole("alert").waitFor();
    await shot("claimed-release-refused");
    await context.close();
    const taken = readdirSync(dir).filter((f) => f.startsWith(`${lang}-`));
    assert.equal(taken.length, n * WIDTHS.length);
  });
}
