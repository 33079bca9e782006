// Issue 12, findings 2 and 3, on the demo as make demo runs it (softap-sim serving the device
// page generated for the demo's origin, softap-maker, the demo page), in Chromium: the wrong
// password on the direct and the handoff path, "What does the light do?", a reload at every
// screen, Back and Forward, and the device page opened without its link.
//
// Two simulators: in the first a lamp that cannot join comes back in setup mode at once (the
// library sees it); in the second it stays away until the test brings it back, so the customer
// answers the light question.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { demoStack, launchChromium, root, simState, untilSim, widgetActions } from "./support.mjs";

const { connectTo, name } = widgetActions;
const shots = path.join(root, "target/e2e-screenshots");
const FAST = ["--http", "127.0.0.1:0", "--tcp", "127.0.0.1:0", "--cloud", "127.0.0.1:0", "--control", "127.0.0.1:0",
  "--backend", "127.0.0.1:0", "--scan-entry-ms", "5", "--scan-ms", "20", "--teardown-ms", "50", "--join-ms", "200"];
let quick;
let away;
let browser;

before(async () => {
  mkdirSync(shots, { recursive: true });
  quick = await demoStack([...FAST, "--relisten-ms", "300"], { devicePage: true });
  // Ten minutes: the lamp that could not join is back only when the test says so.
  away = await demoStack([...FAST, "--relisten-ms", "600000"]);
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  quick?.stop();
  away?.stop();
});

async function reset(stack) {
  await fetch(`${stack.control}/reset?device=0&release=1`, { method: "POST" });
}

/** The demo page; `attributes` are set on the element before it starts. */
async function open(stack, { query = "", attributes = {}, locale = "en-US" } = {}) {
  const context = await browser.newContext({ locale });
  await context.addInitScript((values) => {
    new MutationObserver((_, observer) => {
      const element = document.querySelector("softap-setup");
      if (!element) return;
      for (const [key, value] of Object.entries(values)) element.setAttribute(key, value);
      observer.disconnect();
    }).observe(document, { childList: true, subtree: true });
  }, attributes);
  const page = await context.newPage();
  await page.goto(stack.url + query);
  page.done = () => context.close();
  return { page, widget: page.locator("softap-setup") };
}

const lamp = async (stack) => (await simState(stack.control)).devices[0];
/** Claim codes the customer asked the cloud for so far. */
const claimCodes = async (stack) => (await simState(stack.control)).cloud.log.filter((r) => r.method === "POST" && r.path.includes("device_claims")).length;

/** On the device page: a network by name, its password, and the page's own Connect. */
async function onDevicePage(page, ssid, password) {
  const label = page.locator("label.network", { hasText: ssid });
  await label.locator("input").check();
  if (password !== undefined) await page.locator("#password").fill(password);
  await page.locator("#connect").click();
}

test("finding 2, direct: a wrong password, the lamp answers in setup mode again: straight back to the password, the network still chosen, the claim code reused", async () => {
  await reset(quick);
  const { page, widget } = await open(quick);
  await widget.getByRole("button", { name: "Start" }).click();
  await connectTo(widget, "Café Übersee", "wrong password");
  await widget.getByRole("heading", { name: "Rejoin your home Wi-Fi" }).waitFor();
  const codes = await claimCodes(quick);
  // No button to press, no ten minutes: the library sees the lamp in setup mode again.
  await widget.getByRole("alert").filter({ hasText: "could not join Café Übersee" }).waitFor({ timeout: 30000 });
  await page.screenshot({ path: path.join(shots, "15-wrong-password-direct.png") });
  assert.equal(await widget.getByRole("heading").textContent(), "Choose your Wi-Fi network");
  assert.equal(await widget.getByRole("radio", { name: /Café Übersee/ }).isChecked(), true);
  assert.equal(await widget.getByLabel("Password", { exact: true }).inputValue(), "", "a password is never kept");
  await widget.getByLabel("Password", { exact: true }).fill("grüße-123");
  await widget.locator("#connect").click();
  await name(widget, undefined);
  await widget.getByRole("heading", { name: "All set!" }).waitFor({ timeout: 30000 });
  const state = await lamp(quick);
  assert.equal(state.joined, "Café Übersee");
  assert.equal(await claimCodes(quick), codes, "no new claim code");
  assert.ok(state.claimedBy);
  await page.done();
});

test("finding 2, direct: after the maker's wait, \"What does the light do?\": green keeps waiting, cyan asks the cloud now, blue goes back to the password with the network and the claim code kept", async () => {
  await reset(away);
  const { page, widget } = await open(away, { attributes: { "ask-light-after-ms": "200" } });
  await widget.getByRole("button", { name: "Start" }).click();
  await connectTo(widget, "Home WiFi", "wrong horse");
  await widget.getByText("What does the light on your Lumen lamp do?").waitFor({ timeout: 30000 });
  await page.screenshot({ path: path.join(shots, "16-light-question.png") });
  const codes = await claimCodes(away);
  await widget.getByRole("button", { name: "It blinks green" }).click();
  await widget.getByText("is looking for your Wi-Fi or the internet").waitFor();
  assert.equal(await widget.getByRole("heading").textContent(), "Rejoin your home Wi-Fi", "still waiting");
  await widget.getByRole("button", { name: /breathes cyan/ }).click();
  await widget.getByText("does not list your Lumen lamp as online yet").waitFor({ timeout: 30000 });
  await widget.getByRole("button", { name: "It blinks blue" }).click();
  // Back to the lamp's network first, then the form.
  await widget.getByRole("heading", { name: "Connect to your Lumen lamp" }).waitFor();
  await fetch(`${away.control}/reset?device=0`, { method: "POST" });
  await widget.getByRole("heading", { name: "Choose your Wi-Fi network" }).waitFor({ timeout: 30000 });
  assert.equal(await widget.getByRole("radio", { name: /Home WiFi/ }).isChecked(), true);
  await widget.getByRole("alert").filter({ hasText: "could not join Home WiFi" }).waitFor();
  await widget.getByLabel("Password", { exact: true }).fill("correct horse");
  await widget.locator("#connect").click();
  await name(widget, undefined);
  await widget.getByRole("heading", { name: "All set!" }).waitFor({ timeout: 30000 });
  assert.equal(await claimCodes(away), codes, "the claim code the lamp had was sent again");
  assert.equal((await lamp(away)).joined, "Home WiFi");
  await page.done();
});

test("finding 2, handoff: a wrong password on the device page, back on the maker's page the light blinks blue: a new link, the right password, done", async () => {
  await reset(quick);
  const { page, widget } = await open(quick, { query: "?mode=handoff", attributes: { "ask-light-after-ms": "100" } });
  await widget.getByRole("button", { name: "Start" }).click();
  await widget.getByRole("link", { name: "Continue" }).click();
  await page.waitForURL(/\/setup$/);
  await onDevicePage(page, "Home WiFi", "wrong horse");
  await page.waitForURL(new RegExp(`^${quick.url}`), { timeout: 30000 });
  await widget.getByText("What does the light on your Lumen lamp do?").waitFor({ timeout: 30000 });
  await page.screenshot({ path: path.join(shots, "17-light-question-handoff.png") });
  await widget.getByRole("button", { name: "It blinks blue" }).click();
  await widget.getByRole("alert").filter({ hasText: "could not join your Wi-Fi" }).waitFor({ timeout: 30000 });
  await untilSim(quick.control, (s) => s.devices[0].mode === "listening", "the lamp in setup mode again");
  await widget.getByRole("link", { name: "Continue" }).click();
  await page.waitForURL(/\/setup$/);
  await onDevicePage(page, "Home WiFi", "correct horse");
  await page.waitForURL(new RegExp(`^${quick.url}`), { timeout: 30000 });
  await name(widget, "Porch lamp");
  await widget.getByRole("heading", { name: "All set!" }).waitFor({ timeout: 30000 });
  assert.equal((await lamp(quick)).joined, "Home WiFi");
  assert.ok((await lamp(quick)).claimedBy);
  await page.done();
});

test("finding 3: a reload at every screen keeps the setup; after the lamp took the network the cloud is asked before anything", async () => {
  await reset(quick);
  const { page, widget } = await open(quick);
  const heading = () => widget.getByRole("heading").textContent();
  const device = quick.sim.addresses.devices[0].http;
  // The first screen.
  await page.reload();
  await widget.getByRole("button", { name: "Start" }).waitFor();
  // Looking for the lamp (it cannot be reached yet): a reload looks again, no Start needed.
  await page.route(`${device}/**`, (route) => route.abort());
  await widget.getByRole("button", { name: "Start" }).click();
  await widget.getByRole("heading", { name: "Connect to your Lumen lamp" }).waitFor();
  await page.reload();
  await widget.getByRole("heading", { name: "Connect to your Lumen lamp" }).waitFor({ timeout: 30000 });
  await page.unroute(`${device}/**`);
  // The networks: the same screen again, by itself.
  await widget.getByRole("heading", { name: "Choose your Wi-Fi network" }).waitFor({ timeout: 30000 });
  await page.reload();
  await widget.getByRole("heading", { name: "Choose your Wi-Fi network" }).waitFor({ timeout: 30000 });
  // Rejoining, with the phone still offline: a reload waits for the cloud, never for the lamp.
  const cloud = quick.sim.addresses.cloud;
  await page.route(`${cloud}/**`, (route) => route.abort());
  await connectTo(widget, "Home WiFi", "correct horse");
  await widget.getByRole("heading", { name: "Rejoin your home Wi-Fi" }).waitFor();
  await untilSim(quick.control, (s) => s.devices[0].mode === "online", "the lamp online");
  const requests = (await lamp(quick)).log.length;
  await page.reload();
  await widget.getByRole("heading", { name: "Rejoin your home Wi-Fi" }).waitFor({ timeout: 30000 });
  await page.unroute(`${cloud}/**`);
  await widget.getByRole("heading", { name: "Your Lumen lamp is online" }).waitFor({ timeout: 30000 });
  assert.equal((await lamp(quick)).log.length, requests, "nothing was asked of the lamp after the reload");
  // The name, then done: each reload shows the same screen.
  await page.reload();
  await widget.getByRole("heading", { name: "Your Lumen lamp is online" }).waitFor({ timeout: 30000 });
  await name(widget, "Reading lamp");
  await widget.getByRole("heading", { name: "All set!" }).waitFor({ timeout: 30000 });
  await page.reload();
  await widget.getByRole("heading", { name: "All set!" }).waitFor({ timeout: 30000 });
  assert.equal(await widget.locator("#done-name").textContent(), "Reading lamp is online and ready.");
  assert.equal(await heading(), "All set!");
  // Nothing secret was kept for the reloads.
  const kept = await page.evaluate(() => sessionStorage.getItem("softap-setup"));
  assert.doesNotMatch(kept, /correct horse|access_token|token|claim/i);
  for (const key of Object.keys(JSON.parse(kept))) {
    assert.ok(["step", "path", "deviceId", "installation", "name", "ssid", "deviceName", "setUp"].includes(key), key);
  }
  await page.done();
});

test("finding 3, handoff: a reload on the way out and on the device page; the device page links back, and the maker's page picks up", async () => {
  await reset(quick);
  const { page, widget } = await open(quick, { query: "?mode=handoff" });
  await widget.getByRole("button", { name: "Start" }).click();
  await widget.getByRole("link", { name: "Continue" }).waitFor();
  await page.reload();
  await widget.getByRole("link", { name: "Continue" }).waitFor({ timeout: 30000 });
  await widget.getByRole("link", { name: "Continue" }).click();
  await page.waitForURL(/\/setup$/);
  await page.locator("label.network").first().waitFor();
  // The device page took its link off the address bar: a reload has none.
  await page.reload();
  await page.getByText("opened without its setup link").waitFor();
  await page.screenshot({ path: path.join(shots, "18-device-page-without-link.png") });
  await page.getByRole("link", { name: "Back to setup" }).click();
  await page.waitForURL(new RegExp(`^${quick.url}`));
  await widget.getByRole("link", { name: "Continue" }).waitFor({ timeout: 30000 });
  await widget.getByRole("link", { name: "Continue" }).click();
  await onDevicePage(page, "Guest");
  await page.waitForURL(new RegExp(`^${quick.url}`), { timeout: 30000 });
  // Online already: the return is checked in the cloud, and a reload asks nothing.
  await widget.getByRole("heading", { name: "Your Lumen lamp is online" }).waitFor({ timeout: 30000 });
  await page.reload();
  await widget.getByRole("heading", { name: "Your Lumen lamp is online" }).waitFor({ timeout: 30000 });
  await name(widget, undefined);
  await widget.getByRole("heading", { name: "All set!" }).waitFor({ timeout: 30000 });
  assert.equal((await lamp(quick)).joined, "Guest");
  await page.done();
});

test("a crafted return link naming a lamp, in a tab that sent nobody to the device page: the first screen, nothing asked of the cloud", async () => {
  await reset(quick);
  const id = (await lamp(quick)).id.toLowerCase();
  const before = (await simState(quick.control)).cloud.log.length;
  const { page, widget } = await open(quick, { query: `#softap=1&result=ok&device=${id}` });
  await widget.getByRole("button", { name: "Start" }).waitFor();
  assert.equal(new URL(page.url()).hash, "", "the fragment is taken off at once");
  // Were the link trusted, the customer's token would wait for the lamp and claim it outright.
  const asked = (await simState(quick.control)).cloud.log.slice(before).map((r) => `${r.method} ${r.path}`);
  assert.deepEqual(asked.filter((r) => r.includes("/v1/devices")), [], asked.join());
  assert.equal((await lamp(quick)).claimedBy, null);
  await page.done();
});

test("finding 3: Back and Forward move between the screens without losing the setup", async () => {
  await reset(quick);
  const { page, widget } = await open(quick);
  await widget.getByRole("button", { name: "Start" }).click();
  await widget.getByRole("radio", { name: /Café Übersee/ }).check();
  const requests = (await lamp(quick)).log.length;
  await page.goBack();
  await widget.getByRole("heading", { name: "Set up your Lumen lamp" }).waitFor();
  await page.goForward();
  await widget.getByRole("heading", { name: "Choose your Wi-Fi network" }).waitFor();
  assert.equal(await widget.getByRole("radio", { name: /Café Übersee/ }).isChecked(), true);
  assert.equal((await lamp(quick)).log.length, requests, "the lamp was not looked for again");
  // Back, then Start: where the setup was.
  await page.goBack();
  await widget.getByRole("button", { name: "Start" }).click();
  await widget.getByRole("heading", { name: "Choose your Wi-Fi network" }).waitFor();
  assert.equal(await widget.getByRole("radio", { name: /Café Übersee/ }).isChecked(), true);
  await widget.getByLabel("Password", { exact: true }).fill("grüße-123");
  await widget.locator("#connect").click();
  await widget.getByRole("heading", { name: "Your Lumen lamp is online" }).waitFor({ timeout: 30000 });
  // Once the lamp took the network, Back keeps the screen the setup is on.
  await page.goBack();
  await widget.getByRole("heading", { name: "Your Lumen lamp is online" }).waitFor();
  await name(widget, "Study lamp");
  await widget.getByRole("heading", { name: "All set!" }).waitFor({ timeout: 30000 });
  await page.goBack();
  await widget.getByRole("heading", { name: "All set!" }).waitFor();
  await page.goForward();
  await widget.getByRole("heading", { name: "All set!" }).waitFor();
  assert.equal((await lamp(quick)).joined, "Café Übersee");
  await page.done();
});
