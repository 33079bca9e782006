// Issue 13, the page's side: <softap-setup> and the demo page against softap-maker (the
// maker's server) and softap-sim's cloud, in Chromium, as make demo runs them. The whole setup
// from the element through the maker's server to "claimed" and listed in the installation,
// every call carrying the maker's session; the installation managed from the page (rename,
// remove = release, add another); a lamp that another account owns, released or not as the
// maker's policy says.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { demoStack, launchChromium, root, simState, untilSim, widgetActions } from "./support.mjs";

const { connectTo, name } = widgetActions;
const shots = path.join(root, "target/e2e-screenshots");
const SIM = ["--http", "127.0.0.1:0", "--tcp", "127.0.0.1:0", "--cloud", "127.0.0.1:0", "--control", "127.0.0.1:0",
  "--backend", "127.0.0.1:0", "--scan-entry-ms", "5", "--scan-ms", "20", "--teardown-ms", "50", "--join-ms", "200",
  "--relisten-ms", "300"];
let refuse;
let release;
let browser;

before(async () => {
  mkdirSync(shots, { recursive: true });
  refuse = await demoStack(SIM); // softap-maker's default policy: refuse
  release = await demoStack(SIM, { makerEnv: { RELEASE_POLICY: "release" } });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  refuse?.stop();
  release?.stop();
});

/** The maker's API as the demo user (or another). */
async function api(stack, pathname, { method = "GET", body, user } = {}) {
  const token = user ? stack.maker.token(user) : stack.session;
  const response = await fetch(`${stack.maker.url}${pathname}`, {
    method, body: body && JSON.stringify(body),
    headers: { Authorization: `Bearer ${token}`, ...(body ? { "Content-Type": "application/json" } : {}) },
  });
  return { status: response.status, json: response.status === 204 ? null : await response.json() };
}

async function open(stack) {
  const context = await browser.newContext({ locale: "en-US" });
  const page = await context.newPage();
  // Every call the page makes to the maker's server, with its Authorization header.
  page.makerCalls = [];
  page.on("request", (request) => {
    if (request.url().startsWith(stack.maker.url) && request.method() !== "OPTIONS") {
      page.makerCalls.push({ method: request.method(), path: new URL(request.url()).pathname, authorization: request.headers().authorization });
    }
  });
  await page.goto(stack.url);
  page.done = () => context.close();
  return { page, widget: page.locator("softap-setup") };
}

const lamp = async (stack) => (await simState(stack.control)).devices[0];

/** One whole setup on an open page: Home WiFi, a name, done. */
async function setUp(widget, label) {
  await widget.getByRole("button", { name: "Start" }).click();
  await connectTo(widget, "Home WiFi", "correct horse");
  await name(widget, label);
  await widget.getByRole("heading", { name: "All set!" }).waitFor({ timeout: 30000 });
}

test("the whole setup from the element through softap-maker to claimed and listed in the installation, every call with the maker's session", async () => {
  await fetch(`${refuse.control}/reset?device=0&release=1`, { method: "POST" });
  const { page, widget } = await open(refuse);
  await page.locator("#installation-status", { hasText: "No lamps yet." }).waitFor();
  await setUp(widget, "Living room lamp");
  const id = (await lamp(refuse)).id;
  await page.locator("#installation-devices li", { hasText: "Living room lamp" }).waitFor();
  await page.screenshot({ path: path.join(shots, "19-installation.png"), fullPage: true });
  // The maker's records: the lamp, its name, online and this user's; Particle's name as well.
  const { json: { installations } } = await api(refuse, "/v1/installations");
  assert.equal(installations.length, 1);
  const { json: installation } = await api(refuse, `/v1/installations/${installations[0].id}`);
  assert.deepEqual(installation.devices.map(({ deviceId, name: n, online, ownedByYou }) => ({ deviceId, name: n, online, ownedByYou })),
    [{ deviceId: id, name: "Living room lamp", online: true, ownedByYou: true }]);
  assert.equal((await simState(refuse.control)).cloud.devices.find((d) => d.id === id).name, "Living_room_lamp");
  // The token came from POST /v1/setup-token without a body; the device went into the
  // installation; and nothing reached the maker without the session.
  const calls = page.makerCalls.map((c) => `${c.method} ${c.path}`);
  assert.ok(calls.includes("POST /v1/setup-token"), calls.join());
  assert.ok(calls.includes(`POST /v1/installations/${installations[0].id}/devices`), calls.join());
  for (const call of page.makerCalls) assert.equal(call.authorization, `Bearer ${refuse.session}`, `${call.method} ${call.path}`);
  await page.done();
});

test("the session as a property holding the token, or a function returning it: the element asks for it before every call", async () => {
  for (const form of ["token", "function"]) {
    await fetch(`${refuse.control}/reset?device=0&identity=new`, { method: "POST" });
    const { page, widget } = await open(refuse);
    // The demo page has set its own installation by now; this page records into none.
    await page.locator("#installation-status").filter({ hasNotText: "Loading" }).waitFor();
    const user = `session-${form}`;
    const token = refuse.maker.token(user);
    await page.evaluate(([kind, value]) => {
      const element = document.querySelector("softap-setup");
      element.removeAttribute("installation-url");
      window.asked = 0;
      element.session = kind === "token" ? value : async () => {
        window.asked++;
        return value;
      };
    }, [form, token]);
    await widget.getByRole("button", { name: "Start" }).click();
    await connectTo(widget, "Guest");
    await name(widget, undefined);
    await widget.getByRole("heading", { name: "All set!" }).waitFor({ timeout: 30000 });
    const mine = page.makerCalls.filter((c) => c.authorization === `Bearer ${token}`);
    assert.ok(mine.some((c) => c.path === "/v1/setup-token"), form);
    if (form === "function") assert.ok(await page.evaluate(() => window.asked) >= 1);
    // The lamp is this user's customer's: the maker's server can put it in their installation.
    const { json: created } = await api(refuse, "/v1/installations", { method: "POST", body: { name: "Flat" }, user });
    const added = await api(refuse, `/v1/installations/${created.id}/devices`, { method: "POST", body: { deviceId: (await lamp(refuse)).id, name: "Lamp" }, user });
    assert.equal(added.status, 201, form);
    await page.done();
  }
});

test("Your installation on the demo page: rename, remove (the lamp is released), add another", async () => {
  await fetch(`${refuse.control}/reset?device=0&identity=new`, { method: "POST" });
  const { page, widget } = await open(refuse);
  await page.locator("#installation-devices li").first().waitFor();
  await setUp(widget, "Bedside lamp");
  const id = (await lamp(refuse)).id;
  const item = page.locator(`#installation-devices li[data-device="${id}"]`);
  await item.waitFor();
  assert.match(await item.textContent(), /online/);
  // Rename.
  await item.getByRole("button", { name: "Rename" }).click();
  await item.getByLabel("New name").fill("Night lamp");
  await item.getByRole("button", { name: "Save" }).click();
  await page.locator(`#installation-devices li[data-device="${id}"] .name`, { hasText: "Night lamp" }).waitFor();
  assert.equal((await simState(refuse.control)).cloud.devices.find((d) => d.id === id).name, "Night_lamp");
  // Remove: gone from the list, and nobody owns it in the cloud any more.
  await page.locator(`#installation-devices li[data-device="${id}"]`).getByRole("button", { name: "Remove" }).click();
  await page.locator(`#installation-devices li[data-device="${id}"]`).waitFor({ state: "detached" });
  assert.equal((await simState(refuse.control)).cloud.devices.find((d) => d.id === id).owner, null);
  // Add another: a new lamp, set up from the start, listed too.
  await page.getByRole("button", { name: "Add another lamp" }).click();
  await setUp(widget, "Garden lamp");
  await page.locator("#installation-devices li", { hasText: "Garden lamp" }).waitFor();
  assert.notEqual((await lamp(refuse)).id, id);
  await page.done();
});

test("the maker's server has not seen the claim yet (409 device-not-claimed): the element asks again calmly; another customer's (409): it says what to do", async () => {
  for (const answer of ["not-claimed-twice", "owned-by-another"]) {
    await fetch(`${refuse.control}/reset?device=0&identity=new`, { method: "POST" });
    const { page, widget } = await open(refuse);
    await page.locator("#installation-status").filter({ hasNotText: "Loading" }).waitFor();
    // The maker's server as it answers while Particle has not confirmed the claim, or when
    // the device is another customer's: the first answers of the installation call.
    let refused = 0;
    const code = answer === "owned-by-another" ? "device-owned-by-another-customer" : "device-not-claimed";
    await page.route(`${refuse.maker.url}/v1/installations/*/devices`, (route) => {
      if (route.request().method() !== "POST" || refused >= 2) return route.continue();
      refused++;
      return route.fulfill({ status: 409, contentType: "application/json", headers: { "Access-Control-Allow-Origin": "*" },
        body: JSON.stringify({ error: { code, message: "…" } }) });
    });
    await widget.getByRole("button", { name: "Start" }).click();
    await connectTo(widget, "Guest");
    await name(widget, "Patient lamp");
    if (answer === "owned-by-another") {
      await widget.getByRole("heading", { name: "This Lumen lamp belongs to someone else" }).waitFor({ timeout: 30000 });
      assert.equal(refused, 1, "not asked again");
    } else {
      await widget.getByRole("heading", { name: "All set!" }).waitFor({ timeout: 30000 });
      assert.equal(refused, 2, "asked again after each refusal");
      await page.locator("#installation-devices li", { hasText: "Patient lamp" }).waitFor();
    }
    await page.done();
  }
});

/** A lamp owned by "previous-owner"'s customer, then in setup mode again for the demo user. */
async function ownedByAnother(stack) {
  await fetch(`${stack.control}/reset?device=0&identity=new`, { method: "POST" });
  const previous = stack.session;
  stack.session = stack.maker.token("previous-owner");
  const { page, widget } = await open(stack);
  await page.locator("#installation-status", { hasText: /lamp/ }).waitFor();
  await setUp(widget, "Sold lamp");
  await page.done();
  stack.session = previous;
  await fetch(`${stack.control}/reset?device=0`, { method: "POST" });
  await untilSim(stack.control, (s) => s.devices[0].mode === "listening", "the sold lamp in setup mode");
}

test("a lamp another account owns, and the maker's policy refuses to release it: the page says what to do", { timeout: 180_000 }, async () => {
  await ownedByAnother(refuse);
  const { page, widget } = await open(refuse);
  const id = (await lamp(refuse)).id;
  const owner = (await simState(refuse.control)).cloud.devices.find((d) => d.id === id).owner;
  await widget.getByRole("button", { name: "Start" }).click();
  await connectTo(widget, "Home WiFi", "correct horse");
  await widget.getByRole("heading", { name: "This Lumen lamp belongs to someone else" }).waitFor({ timeout: 60000 });
  await page.screenshot({ path: path.join(shots, "20-claimed-by-another.png") });
  await widget.getByRole("button", { name: "Remove it from the other account" }).click();
  await widget.getByRole("alert").filter({ hasText: "stays registered to its previous owner" }).waitFor();
  assert.match(await widget.evaluate((el) => el.shadowRoot.textContent), /Ask them to remove it from their account, or contact our support/);
  assert.equal(await widget.getByRole("button", { name: "Remove it from the other account" }).count(), 0);
  assert.equal((await simState(refuse.control)).cloud.devices.find((d) => d.id === id).owner, owner, "still the previous owner's");
  await page.done();
});

test("a lamp another account owns, and the maker's policy releases it: the customer asks, the lamp becomes theirs", { timeout: 180_000 }, async () => {
  await ownedByAnother(release);
  const { page, widget } = await open(release);
  const id = (await lamp(release)).id;
  const before = (await simState(release.control)).cloud.devices.find((d) => d.id === id).owner;
  assert.ok(before, "owned by the previous owner's customer");
  await widget.getByRole("button", { name: "Start" }).click();
  await connectTo(widget, "Home WiFi", "correct horse");
  await widget.getByRole("heading", { name: "This Lumen lamp belongs to someone else" }).waitFor({ timeout: 60000 });
  await widget.getByRole("button", { name: "Remove it from the other account" }).click();
  await widget.getByRole("heading", { name: "Your Lumen lamp is online" }).waitFor({ timeout: 60000 });
  await name(widget, "Second-hand lamp");
  await widget.getByRole("heading", { name: "All set!" }).waitFor({ timeout: 30000 });
  const after = (await simState(release.control)).cloud.devices.find((d) => d.id === id).owner;
  assert.ok(after && after !== before, `now the demo user's (${after}, was ${before})`);
  await page.locator("#installation-devices li", { hasText: "Second-hand lamp" }).waitFor();
  await page.done();
});
