// The handoff in three engines (issue: every browser). The maker's page is https (self-signed,
// public); the device, softap-sim serving the generated device page, is a plain-http host on
// this machine's network address, which no https page may call in WebKit or Firefox. Each
// run goes from the maker's page through the device page and back, and the simulated
// cloud must see the device claimed; sealed mode and a wrong key are covered too.
//
// Chromium through playwright-core; WebKit (WebKitGTK's MiniBrowser, under Xvfb) and Firefox
// ESR through their WebDriver servers, spoken to as plain HTTP. Every step is driven by
// script in the page, so one scenario serves all three.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { request as httpRequest } from "node:http";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { networkInterfaces } from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";
import { httpsSite, root, startSim } from "./support.mjs";

const shots = path.join(root, "target/e2e-screenshots");
const PORTS = { device: 8380, tcp: 8390, cloud: 8382, control: 8383, backend: 8384 };
const CUSTOMER = "customer@example.com";

// Not loopback: a host no browser trusts, as 192.168.0.1 is not.
const LAN = Object.values(networkInterfaces()).flat().find((a) => a.family === "IPv4" && !a.internal)?.address;
const DEVICE = (i) => `http://${LAN}:${PORTS.device + i}`;

let sim;
let https;
let maker;

/** The maker's page: the widget with this case's attributes, its cloud and server behind /api and /backend. */
function makerPage(query) {
  const device = Number(query.get("device") || 0);
  const attributes = [
    `mode="${query.get("mode") || "auto"}"`,
    query.get("sealed") ? `key-url="/backend/device-key"` : "",
    query.get("name") ? `device-name="${query.get("name")}"` : "",
  ].join(" ");
  return `<!doctype html><meta charset="utf-8"><meta name="viewport" content="width=device-width">
    <softap-setup product-name="Lumen lamp" device-url="${DEVICE(device)}" api-url="${maker}/api"
      token-url="/backend/customer-token" product-id="4242" module-url="/pkg/softap_web.js"
      cloud-wait-ms="20000" ${attributes}></softap-setup>
    <script type="module" src="/softap-setup.js"></script>`;
}

function proxy(req, res, port, prefix) {
  const upstream = httpRequest({ host: "127.0.0.1", port, path: req.url.slice(prefix.length), method: req.method,
    headers: { ...req.headers, host: `127.0.0.1:${port}` } }, (answer) => {
    res.writeHead(answer.statusCode, answer.headers);
    answer.pipe(res);
  });
  upstream.on("error", () => res.writeHead(502).end());
  req.pipe(upstream);
}

before(async () => {
  assert.ok(LAN, "a non-loopback IPv4 address on this machine, for the device");
  mkdirSync(shots, { recursive: true });
  if (!existsSync(path.join(root, "target/device-page/full/pages.json"))) {
    execFileSync("node", [path.join(root, "scripts/device-page.mjs")], { stdio: "ignore" });
  }
  // Device 0 serves the relay page, device 1 the full (wasm) page.
  sim = await startSim([
    "--devices", "2", "--http", `${LAN}:${PORTS.device}`, "--tcp", `127.0.0.1:${PORTS.tcp}`,
    "--cloud", `127.0.0.1:${PORTS.cloud}`, "--control", `127.0.0.1:${PORTS.control}`,
    "--backend", `127.0.0.1:${PORTS.backend}`,
    "--device-page", `${root}/target/device-page/relay,${root}/target/device-page/full`,
    "--scan-entry-ms", "5", "--scan-ms", "20", "--teardown-ms", "50", "--join-ms", "200",
  ]);
  ({ server: https, origin: maker } = await httpsSite((url, req, res) => {
    if (url.pathname === "/maker") res.writeHead(200, { "Content-Type": "text/html" }).end(makerPage(url.searchParams));
    else if (url.pathname.startsWith("/api/")) proxy(req, res, PORTS.cloud, "/api");
    else if (url.pathname.startsWith("/backend/")) proxy(req, res, PORTS.backend, "/backend");
    else return false;
    return true;
  }));
});

after(async () => {
  https?.close();
  sim?.kill();
});

async function control(pathAndQuery, body) {
  const response = await fetch(`http://127.0.0.1:${PORTS.control}${pathAndQuery}`, body === undefined ? {} : { method: "POST", body });
  return response.json();
}

const state = async (i) => (await control("/state")).devices[i];

// --- engines ------------------------------------------------------------------------------

/** One browser, driven by script: goto, run (a function's source with arguments), url, shot. */
async function playwrightEngine() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--ignore-certificate-errors"],
  });
  const page = await browser.newPage({ locale: "en-US" });
  return {
    name: "chromium",
    page,
    goto: (url) => page.goto(url),
    run: (fn, ...args) => page.evaluate(({ source, args }) => (0, eval)(`(${source})`)(...args), { source: String(fn), args }),
    url: async () => page.url(),
    shot: (name) => page.screenshot({ path: path.join(shots, `every-browser-chromium-${name}.png`) }),
    close: () => browser.close(),
  };
}

/** A W3C WebDriver session over plain HTTP (WebKitWebDriver, geckodriver). */
async function webdriverEngine(name, command, args, capabilities) {
  const port = name === "webkit" ? 4450 : 4451;
  // Its own process group: xvfb-run starts Xvfb and the driver, and all must go at the end.
  const server = spawn(command, [...args, `--port=${port}`], { stdio: "ignore", detached: true });
  const base = `http://127.0.0.1:${port}`;
  let session;
  const call = async (method, url, body) => {
    const response = await fetch(`${base}${url}`, { method, headers: { "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body) });
    const json = await response.json();
    if (json.value?.error) throw new Error(`${name} ${url}: ${json.value.error}: ${json.value.message}`);
    return json.value;
  };
  for (let i = 0; ; i++) {
    try {
      session = (await call("POST", "/session", { capabilities: { alwaysMatch: { acceptInsecureCerts: true, ...capabilities } } })).sessionId;
      break;
    } catch (error) {
      if (i > 100) throw error;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  const s = (url) => `/session/${session}${url}`;
  return {
    name,
    goto: (url) => call("POST", s("/url"), { url }),
    run: (fn, ...args) => call("POST", s("/execute/async"), {
      script: `const done = arguments[arguments.length - 1];
        Promise.resolve((${String(fn)})(...Array.from(arguments).slice(0, -1))).then(done, (e) => done({ thrown: String(e) }));`,
      args,
    }).then((value) => {
      if (value?.thrown) throw new Error(value.thrown);
      return value;
    }),
    url: () => call("GET", s("/url")),
    shot: async (shot) => writeFileSync(path.join(shots, `every-browser-${name}-${shot}.png`),
      Buffer.from(await call("GET", s("/screenshot")), "base64")),
    close: async () => {
      await call("DELETE", s("")).catch(() => {});
      process.kill(-server.pid, "SIGTERM");
    },
  };
}

// --- steps, run in the page ---------------------------------------------------------------

/** Waits (polling) until `fn` returns something truthy in the page; returns it. */
async function until(engine, what, fn, ...args) {
  for (let i = 0; i < 300; i++) {
    let value;
    try {
      value = await engine.run(fn, ...args);
    } catch {
      // Between pages: the script had nowhere to run.
    }
    if (value) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${engine.name}: timed out waiting for ${what}; at ${await engine.url().catch(() => "?")}`);
}

const widgetHas = (id) => document.querySelector("softap-setup")?.shadowRoot?.getElementById(id) ? true : false;
const widgetAlert = () => document.querySelector("softap-setup")?.shadowRoot?.querySelector("[role=alert]")?.textContent;
const widgetClick = (id) => { document.querySelector("softap-setup").shadowRoot.getElementById(id).click(); return true; };
const widgetHref = (id) => document.querySelector("softap-setup").shadowRoot.getElementById(id).href;
function widgetFill(values) {
  const root = document.querySelector("softap-setup").shadowRoot;
  for (const [id, value] of Object.entries(values)) {
    const field = root.getElementById(id);
    field.value = value;
    field.dispatchEvent(new Event("input", { bubbles: true }));
    field.dispatchEvent(new Event("change", { bubbles: true }));
  }
  root.querySelector("form button[type=submit]").click();
  return true;
}
function pagePick(ssid, password, user) {
  const label = [...document.querySelectorAll("label.network")].find((l) => l.textContent.trim() === ssid);
  label.querySelector("input").click();
  document.getElementById("password").value = password;
  if (user) document.getElementById("user").value = user;
  document.querySelector("#form button").click();
  return true;
}
const pageClick = (id) => { document.getElementById(id).click(); return true; };
const onPage = (origin) => location.origin === origin && document.readyState === "complete";

/** From the maker's page through the device page and back, for one device. */
async function handoff(engine, { device = 0, mode = "auto", sealed = false, network = ["Home WiFi", "correct horse"], faults }) {
  const shot = (step) => engine.shot(`device${device}-${sealed ? "sealed-" : ""}${network[0].replace(/\W/g, "")}-${step}`);
  await control(`/reset?device=${device}`, "");
  if (faults) await control(`/faults?device=${device}`, JSON.stringify(faults));
  // Sealed: the device's name comes from its QR label (the page's device-name), or, for the
  // wrong key, the customer types the other lamp's name.
  const own = (await state(device)).ssid;
  const qr = sealed === true ? `&sealed=1&name=${own}` : sealed ? "&sealed=1" : "";
  await engine.goto(`${maker}/maker?device=${device}&mode=${mode}${qr}`);
  await until(engine, "the intro", widgetHas, "start");
  await engine.run(widgetClick, "start");
  if (sealed) {
    await until(engine, "the sealed form", widgetHas, "seal-form");
    const fields = { ssid: "Home WiFi", security: "4194308", password: "correct horse" };
    if (sealed === "other") fields["device-name"] = (await state(1 - device)).ssid;
    else assert.equal(await engine.run(() => document.querySelector("softap-setup").shadowRoot.getElementById("device-name").value), own);
    await engine.run(widgetFill, fields);
  }
  await until(engine, "the Continue link", widgetHas, "continue");
  const href = await engine.run(widgetHref, "continue");
  assert.ok(href.startsWith(`${DEVICE(device)}/setup#v=1&cc=`), href);
  assert.equal(href.includes("correct"), false, "no password in clear in the link");
  await shot("1-handoff");
  await engine.run(widgetClick, "continue");
  await until(engine, "the device page", onPage, DEVICE(device));
  if (sealed === "other") {
    await until(engine, "the refusal", (t) => document.body?.innerText.includes(t), "not the Lumen lamp");
    await shot("wrong-key");
    // Back on the maker's page, it says what happened.
    await engine.run(pageClick, "back");
    await until(engine, "the maker's page again", onPage, maker);
    const alert = await until(engine, "the error", widgetAlert);
    assert.match(alert, /not the Lumen lamp you expected/);
    return;
  }
  if (!sealed) {
    // A scan with nothing usable offers to search again.
    await until(engine, "the network list", () => {
      document.getElementById("rescan")?.click();
      return document.getElementById("form") ? true : false;
    });
    await shot("2-device-page");
    await engine.run(pagePick, ...network);
  }
  // The device page returns by itself once the maker's page answers; or the customer taps.
  await until(engine, "the Continue button", async (origin) =>
    location.origin !== origin || (document.getElementById("continue") ? (document.getElementById("continue").click(), true) : false),
  DEVICE(device));
  await until(engine, "the maker's page again", onPage, maker);
  await until(engine, "All set", (t) => document.querySelector("softap-setup")?.shadowRoot?.textContent.includes(t), "All set!");
  await shot("3-done");
}

async function assertConfigured(device) {
  const s = await state(device);
  assert.equal(s.joined, "Home WiFi");
  assert.equal(s.networks[0].password, "correct horse", "the simulator decrypted what the page encrypted");
  assert.equal(s.claimedBy, CUSTOMER);
}

// --- the cases ----------------------------------------------------------------------------

test("Chromium: forced handoff through the relay page, the full (wasm) page with WPA2 and PEAP; sealed; a wrong key", async () => {
  const engine = await playwrightEngine();
  try {
    // Chromium has Local Network Access: left to itself, the page would call the device.
    await engine.goto(`${maker}/maker`);
    assert.equal(await engine.run(async () => (await import("/handoff.js")).choosePath("http://192.168.0.1")), "direct");
    // The relay page rides out dropped scans, as the wasm client does.
    await handoff(engine, { device: 0, mode: "handoff", faults: { drop_next: 2, drop_command: "scan-ap" } });
    await assertConfigured(0);
    const scans = (await state(0)).log.filter((e) => e.path === "/scan-ap").map((e) => e.status);
    assert.deepEqual(scans, ["dropped", "dropped", "200"]);
    // The first scan finds nothing usable: the page says so, and searching again works.
    let emptied = 0;
    await engine.page.route(`${DEVICE(1)}/scan-ap`, (route) => {
      emptied++;
      return route.fulfill({ status: 200, contentType: "application/json", body: '{"scans":[]}' });
    }, { times: 1 });
    await handoff(engine, { device: 1, mode: "handoff" });
    assert.equal(emptied, 1);
    await assertConfigured(1);
    // The full page speaks enterprise networks too (PEAP: user name and password).
    await handoff(engine, { device: 1, mode: "handoff", network: ["Corp", "enterprise secret", "alice"] });
    const corp = (await state(1)).networks.find((n) => n.ssid === "Corp");
    assert.deepEqual([corp.eap, corp.inner_identity, corp.password], [25, "alice", "enterprise secret"]);
    assert.equal((await state(1)).joined, "Corp");
    // Sealed through the full page: its wasm checks the fingerprint seal.js computed.
    await handoff(engine, { device: 1, mode: "handoff", sealed: true });
    await assertConfigured(1);
    await handoff(engine, { device: 0, mode: "handoff", sealed: true });
    await assertConfigured(0);
    // The customer names the other lamp: its key is not this device's, nothing is sent.
    await handoff(engine, { device: 0, mode: "handoff", sealed: "other" });
    const paths = (await state(0)).log.map((e) => e.path);
    assert.deepEqual(paths.filter((p) => p.startsWith("/") && !["/setup", "/index"].includes(p)), ["/device-id", "/public-key"]);
    assert.equal((await state(0)).networks.length, 0);
  } finally {
    await engine.close();
  }
});

for (const [name, start] of [
  ["webkit", () => webdriverEngine("webkit", "xvfb-run", ["-a", "WebKitWebDriver"], {
    browserName: "MiniBrowser",
    "webkitgtk:browserOptions": { binary: "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser", args: ["--automation"] },
  })],
  ["firefox", () => webdriverEngine("firefox", process.env.SOFTAP_GECKODRIVER ?? path.join(root, ".tools/bin/geckodriver"), [], {
    "moz:firefoxOptions": { binary: "/usr/bin/firefox-esr", args: ["-headless"] },
  })],
]) {
  test(`${name}: the https page picks the handoff by itself; relay page, sealed mode, a wrong key`, async () => {
    const engine = await start();
    try {
      // This engine cannot call the device from the https page at all.
      await engine.goto(`${maker}/maker`);
      const direct = await engine.run(async (url) => {
        try {
          await fetch(url, { cache: "no-store" });
          return "reached";
        } catch {
          return "blocked";
        }
      }, `${DEVICE(0)}/device-id`);
      assert.equal(direct, "blocked");
      await handoff(engine, { device: 0 });
      await assertConfigured(0);
      await handoff(engine, { device: 0, sealed: true });
      await assertConfigured(0);
      await handoff(engine, { device: 0, sealed: "other" });
      assert.equal((await state(0)).networks.length, 0, "nothing sent to a device with another key");
    } finally {
      await engine.close();
    }
  });
}
