// The handoff in three engines (issue: every browser), each as a customer meets it: the maker's
// page is https at a public address, the device is http://192.168.0.1 — softap-sim serving the
// generated device page, exactly as the firmware handler would. WebKit and Firefox cannot call
// the device from the https page; Chromium could, so it is sent through the handoff on purpose.
//
// Tests reach only loopback or a network namespace of their own: this file runs itself again
// inside `unshare -n`, where 192.168.0.1 (the device, port 80) and 203.0.113.10 (a stand-in
// public host for the maker's page and the cloud) are addresses of the namespace's own
// loopback, and every browser runs in there too. Every other port is a free one.
//
// Scenarios, in every engine, from links built as the maker's page builds them: WPA2 (an
// unknown-security network in the list), WEP, PEAP, a name with a quote (refused, nothing
// sent), a lost connect-ap reply (back as "connecting", then claimed in the cloud), a timeout
// then success, links with a foreign `back` or a crafted claim code (nothing reaches the
// device), sealed mode (nothing sent before the customer's click) and a device with another
// key. Then the round trip through <softap-setup> on the maker's page (those assertions wait
// on the element: its random query, "connecting", sealed mode, the lamp's name at the end). Chromium through playwright-core; WebKit (WebKitGTK's MiniBrowser, under Xvfb)
// and Firefox ESR through their WebDriver servers, spoken to as plain HTTP. One browser per
// engine serves every scenario.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { request as httpRequest } from "node:http";
import { connect, createServer as createTcpServer } from "node:net";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { bytesOfHex, encrypt, fingerprint, readKey } from "../../www/seal.js";
import { freePort, httpsSite, root, startSim } from "./support.mjs";

const DEVICE = "http://192.168.0.1"; // as on a real SoftAP: port 80
const PUBLIC = "203.0.113.10"; // TEST-NET-3: the maker's https page and the cloud
const INSIDE = process.env.SOFTAP_E2E_NETNS === "1";

if (!INSIDE) {
  test("every browser, in a network namespace of the test's own", { timeout: 45 * 60_000 }, async (t) => {
    const script = `set -e
ip link set lo up
ip addr add 192.168.0.1/32 dev lo
ip addr add ${PUBLIC}/32 dev lo
exec "$0" --test --test-reporter=spec --test-concurrency=1 "$1"`;
    // A test run of its own in there (not a child of this runner: it would skip its files).
    const { NODE_TEST_CONTEXT, ...env } = process.env;
    const child = spawn("unshare", ["-n", "--", "bash", "-c", script, process.execPath, fileURLToPath(import.meta.url)], {
      env: { ...env, SOFTAP_E2E_NETNS: "1" }, stdio: ["ignore", "pipe", "pipe"], detached: true,
    });
    // Stopped (a timeout, a signal): everything in there goes too; the namespace with it.
    const stop = () => {
      try {
        process.kill(-child.pid, "SIGTERM");
      } catch {
        // Already gone.
      }
    };
    t.signal.addEventListener("abort", stop);
    process.once("exit", stop);
    process.once("SIGTERM", () => {
      stop();
      process.exit(1);
    });
    let output = "";
    for (const stream of [child.stdout, child.stderr]) {
      stream.on("data", (data) => {
        output += data;
        process.stderr.write(data);
      });
    }
    const code = await new Promise((resolve) => child.on("exit", resolve));
    assert.equal(code, 0, `the tests in the namespace failed:\n${output.slice(-6000)}`);
    // Every engine ran there, with its scenarios, and nothing failed or was left out.
    const count = (what) => Number(new RegExp(`^ℹ ${what} (\\d+)$`, "m").exec(output)?.[1]);
    assert.ok(count("tests") > 30, output.slice(-6000));
    assert.deepEqual([count("pass"), count("fail"), count("cancelled"), count("skipped")], [count("tests"), 0, 0, 0]);
    for (const engine of ["chromium", "webkit", "firefox"]) assert.match(output, new RegExp(`^✔ ${engine}: `, "m"));
  });
} else {
  inside();
}

function inside() {
  const shots = path.join(root, "target/e2e-screenshots");
  // What must not outlive this run if it is stopped: the simulator, the WebDriver servers.
  const cleanups = new Set();
  process.once("SIGTERM", () => {
    for (const cleanup of cleanups) cleanup();
    process.exit(1);
  });
  const CUSTOMER = "customer@example.com";
  const CC = "rCFr2KAJNgzJ2rR3Jm1ZoUd7G4Sr3ak7MRHdWrM274eYzInP1+psZ0fP2qNehlj";
  // What the simulated radio sees. A network of unknown security (-1) right before the only
  // Home WiFi: the old page's regex ran on into Home WiFi's entry and lost it.
  const NETWORKS = [
    { ssid: "Mystery", bssid: "a0:00:00:00:00:10", rssi: -45, sec: -1, ch: 4, mdr: 54000 },
    { ssid: "Home WiFi", bssid: "a0:00:00:00:00:01", rssi: -48, sec: 4194310, ch: 6, mdr: 144400, password: "correct horse" },
    { ssid: "Corp", bssid: "a0:00:00:00:00:05", rssi: -66, sec: 37748742, ch: 36, mdr: 300000, identity: "alice", password: "enterprise secret" },
    { ssid: "Bob\"s \\Net", bssid: "a0:00:00:00:00:09", rssi: -77, sec: 4194310, ch: 9, mdr: 72000, password: "bobbobbob" },
    { ssid: "Guest", bssid: "a0:00:00:00:00:04", rssi: -80, sec: 0, ch: 11, mdr: 54000 },
    { ssid: "Old WEP", bssid: "a0:00:00:00:00:07", rssi: -85, sec: 1, ch: 3, mdr: 11000, password: "00056162636465" },
  ];

  let sim;
  let https;
  let maker;
  let link;

  before(async () => {
    mkdirSync(shots, { recursive: true });
    const tmp = mkdtempSync(path.join(tmpdir(), "softap-every-browser-"));
    ({ server: https, origin: maker } = await httpsSite(makerRoutes, { host: PUBLIC }));
    // The device page, generated for this maker's origin only.
    const { generate } = await import("../../scripts/device-page.mjs");
    await generate({ out: path.join(tmp, "device-page"), origins: [maker], product: "Lumen lamp", langs: ["en", "de"] });
    writeFileSync(path.join(tmp, "networks.json"), JSON.stringify(NETWORKS));
    // Device 0 at 192.168.0.1:80; device 1, the customer's other lamp, at :81.
    sim = await startSim([
      "--devices", "2", "--http", "192.168.0.1:80", "--tcp", "127.0.0.1:0", "--cloud", `${PUBLIC}:0`,
      "--control", "127.0.0.1:0", "--backend", "127.0.0.1:0",
      "--device-page", path.join(tmp, "device-page"), "--networks", path.join(tmp, "networks.json"),
      "--scan-entry-ms", "5", "--scan-ms", "20", "--teardown-ms", "50", "--join-ms", "200",
    ]);
    cleanups.add(() => sim.kill("SIGKILL"));
    link = await flakyLink(new URL(DEVICE).hostname, 80, "/device-id");
  });

  after(async () => {
    link?.server.close();
    https?.close();
    sim?.kill();
  });

  /** The maker's page (the widget with this case's attributes), its cloud and server behind /api and /backend. */
  function makerRoutes(url, req, res) {
    const html = (page) => res.writeHead(200, { "Content-Type": "text/html" }).end(page);
    if (url.pathname === "/maker") html(makerPage(url.searchParams));
    // A page of the maker that notes how the device page came back, and nothing else.
    else if (url.pathname === "/back") html('<!doctype html><meta charset="utf-8"><script>window.returned = location.href;</script><p>Back</p>');
    else if (url.pathname.startsWith("/api/")) proxy(req, res, sim.addresses.cloud, "/api");
    else if (url.pathname.startsWith("/backend/")) proxy(req, res, sim.addresses.backend, "/backend");
    else return false;
    return true;
  }

  function makerPage(query) {
    const deviceUrl = { 0: DEVICE, 1: `${DEVICE}:81`, link: link?.url }[query.get("device") || "0"];
    const attributes = [
      `mode="${query.get("mode") || "auto"}"`,
      query.get("sealed") ? `key-url="/backend/device-key"` : "",
      query.get("name") ? `device-name="${query.get("name")}"` : "",
    ].join(" ");
    // The element as the npm package ships it (pkg/), as a maker's page loads it. The way back
    // as the device page built it is kept before the element takes it off the address bar.
    return `<!doctype html><meta charset="utf-8"><meta name="viewport" content="width=device-width">
      <script>window.returned = location.href;</script>
      <softap-setup product-name="Lumen lamp" device-url="${deviceUrl}" api-url="${maker}/api"
        token-url="/backend/customer-token" product-id="4242" module-url="/pkg/softap_web.js"
        cloud-wait-ms="20000" ${attributes}></softap-setup>
      <script type="module" src="/pkg/softap-setup.js"></script>`;
  }

  function proxy(req, res, upstream, prefix) {
    const { hostname, port } = new URL(upstream);
    const forward = httpRequest({ host: hostname, port, path: req.url.slice(prefix.length), method: req.method,
      headers: { ...req.headers, host: `${hostname}:${port}` } }, (answer) => {
      res.writeHead(answer.statusCode, answer.headers);
      answer.pipe(res);
    });
    forward.on("error", () => res.writeHead(502).end());
    req.pipe(forward);
  }

  /**
   * A link to the device that loses the first request for `lost`: it reaches nothing and is
   * never answered, so only the page's own deadline ends it. Everything else passes through
   * byte for byte. `{ server, url, lost, arm() }`.
   */
  async function flakyLink(host, port, lost) {
    const self = { lost: [], armed: false, arm: () => { self.armed = true; self.lost = []; } };
    self.server = createTcpServer((client) => {
      let pending = Buffer.alloc(0);
      let upstream;
      let swallowed = false;
      client.on("error", () => {});
      client.on("close", () => upstream?.destroy());
      client.on("data", (data) => {
        if (swallowed) return;
        pending = Buffer.concat([pending, data]);
        for (;;) {
          const end = pending.indexOf("\r\n\r\n");
          if (end < 0) return;
          const head = pending.subarray(0, end).toString("latin1");
          const size = end + 4 + Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
          if (pending.length < size) return;
          const request = pending.subarray(0, size);
          pending = pending.subarray(size);
          if (self.armed && head.split(" ")[1] === lost) {
            self.armed = false;
            self.lost.push(lost);
            swallowed = true;
            return;
          }
          if (!upstream) {
            upstream = connect(port, host);
            upstream.on("error", () => client.destroy());
            upstream.pipe(client);
          }
          upstream.write(request);
        }
      });
    });
    await new Promise((resolve) => self.server.listen(0, host, resolve));
    self.url = `http://${host}:${self.server.address().port}`;
    return self;
  }

  async function control(pathAndQuery, body) {
    const response = await fetch(`${sim.addresses.control}${pathAndQuery}`, body === undefined ? {} : { method: "POST", body });
    return response.json();
  }

  const state = async (i) => (await control("/state")).devices[i];
  const id = (i) => sim.addresses.devices[i].id;
  /** What reached device `i` since its reset: "METHOD /path", the page's own loads left out. */
  const requests = async (i) => (await state(i)).log.filter((e) => e.transport === "http")
    .map((e) => `${e.method} ${e.path}`).filter((r) => r !== "GET /setup");
  const WRITES = /^POST \/(set|configure-ap|connect-ap)$/;

  async function reset(i, faults) {
    await control(`/reset?device=${i}`, "");
    if (faults) await control(`/faults?device=${i}`, JSON.stringify(faults));
  }

  // --- engines ----------------------------------------------------------------------------

  /** One browser, driven by script: goto, run (a function's source with arguments), url, shot. */
  async function playwrightEngine() {
    const browser = await chromium.launch({
      executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
      args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--ignore-certificate-errors",
        "--disable-background-networking", "--disable-component-update"],
    });
    const page = await browser.newPage({ locale: "en-US" });
    // What the page itself asks for (the network below may send a request again by itself).
    const asked = [];
    page.on("request", (r) => asked.push(`${r.method()} ${new URL(r.url()).pathname}`));
    return {
      name: "chromium",
      page,
      asked,
      goto: (url) => page.goto(url),
      run: (fn, ...args) => page.evaluate(({ source, args }) => (0, eval)(`(${source})`)(...args), { source: String(fn), args }),
      url: async () => page.url(),
      shot: (name) => page.screenshot({ path: path.join(shots, `every-browser-chromium-${name}.png`) }),
      close: () => browser.close(),
    };
  }

  /** A W3C WebDriver session over plain HTTP (WebKitWebDriver, geckodriver). */
  async function webdriverEngine(name, command, args, capabilities) {
    const port = await freePort();
    // Its own process group: xvfb-run starts Xvfb and the driver, and all must go at the end.
    const server = spawn(command, [...args, `--port=${port}`], { stdio: "ignore", detached: true });
    const kill = () => {
      try {
        process.kill(-server.pid, "SIGTERM");
      } catch {
        // Already gone.
      }
    };
    cleanups.add(kill);
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
        if (i > 150) {
          kill();
          throw error;
        }
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
        kill();
        cleanups.delete(kill);
      },
    };
  }

  // --- steps, run in the page -------------------------------------------------------------

  /** Waits (polling, at most 30 s) until `fn` returns something truthy in the page; returns it. */
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

  const widgetHas = (id) => !!document.querySelector("softap-setup")?.shadowRoot?.getElementById(id);
  const widgetText = (text) => document.querySelector("softap-setup")?.shadowRoot?.textContent.includes(text);
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
  const onPage = (origin) => location.origin === origin && document.readyState === "complete";
  const pageHas = (id) => !!document.getElementById(id);
  const pageText = (text) => document.body?.innerText.includes(text);
  const pageClick = (id) => { document.getElementById(id).click(); return true; };
  /** The device page's list: [name, disabled, note] per network. */
  const pageList = () => [...document.querySelectorAll("label.network")].map((l) => [
    l.querySelector(".name").textContent, l.querySelector("input").disabled, l.querySelector("small")?.textContent ?? "",
  ]);
  /** Picks a network by name on the device page, fills its fields, and confirms it by name. */
  function pagePick(ssid, password, user) {
    const label = [...document.querySelectorAll("label.network")].find((l) => l.querySelector(".name").textContent === ssid);
    label.querySelector("input").click();
    document.getElementById("form").dispatchEvent(new Event("change"));
    if (password !== undefined) document.getElementById("password").value = password;
    if (user !== undefined) document.getElementById("user").value = user;
    const button = document.getElementById("connect");
    if (button.textContent !== `Connect to ${ssid}`) return `the button says ${button.textContent}`;
    button.click();
    return true;
  }

  /** From the maker's page to the device page: the handoff link's href. */
  async function toDevicePage(engine, { device = "0", mode, sealed, shot }) {
    // Sealed: the device's name comes from its QR label (the page's device-name), or, for the
    // wrong key, the customer types the other lamp's name.
    const own = (await state(device === "1" ? 1 : 0)).ssid;
    const qr = sealed === true ? `&sealed=1&name=${own}` : sealed ? "&sealed=1" : "";
    await engine.goto(`${maker}/maker?device=${device}&mode=${mode}${qr}`);
    await until(engine, "the intro", widgetHas, "start");
    await engine.run(widgetClick, "start");
    if (sealed) {
      await until(engine, "the sealed form", widgetHas, "seal-form");
      const fields = { ssid: "Home WiFi", security: "4194308", password: "correct horse" };
      if (sealed === "other") fields["device-name"] = (await state(1)).ssid;
      await engine.run(widgetFill, fields);
    }
    await until(engine, "the Continue link", widgetHas, "continue");
    const href = await engine.run(widgetHref, "continue");
    assert.equal(href.includes("correct"), false, "no password in clear in the link");
    await engine.shot(`${shot}-1-handoff`);
    await engine.run(widgetClick, "continue");
    await until(engine, "the device page", onPage, new URL(href).origin);
    return href;
  }

  /** Back on the maker's page: the URL the device page returned to. */
  async function returned(engine) {
    await until(engine, "the maker's page again", onPage, maker);
    return engine.run(() => window.returned);
  }

  async function assertJoined(device, ssid, check) {
    // The device joins, then claims itself in the cloud with the claim code it was given.
    for (let i = 0; i < 100 && (await state(device)).claimedBy !== CUSTOMER; i++) await new Promise((r) => setTimeout(r, 100));
    const s = await state(device);
    assert.equal(s.joined, ssid);
    assert.equal(s.claimedBy, CUSTOMER);
    const network = s.networks.find((n) => n.ssid === ssid);
    check?.(network);
    return s;
  }

  // --- the maker's side, played by the test -----------------------------------------------

  /** A claim code for the customer, as the maker's page gets one while online. */
  async function claimCode() {
    const token = await fetch(`${sim.addresses.backend}/customer-token`, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ customer: CUSTOMER }),
    });
    const { access_token: accessToken } = await token.json();
    const claim = await fetch(`${sim.addresses.cloud}/v1/products/4242/device_claims`, {
      method: "POST", headers: { Authorization: `Bearer ${accessToken}` },
    });
    const { claim_code: code } = await claim.json();
    assert.match(code, /^[A-Za-z0-9+/]{63}$/);
    return code;
  }

  /**
   * The handoff link as the maker's page builds it (tests/vectors/handoff.json, build): a
   * fresh random query, everything else in the fragment; `back` is a page of this maker that
   * only notes the fragment it was returned with. Sealed: the home network with its password
   * encrypted for the key the maker recorded for `sealFor`.
   */
  async function handoffLink({ device = DEVICE, sealFor } = {}) {
    const data = { v: "1", cc: await claimCode(), back: backPage(), lang: "en" };
    if (sealFor !== undefined) {
      const record = await (await fetch(`${sim.addresses.backend}/device-key?device=${id(sealFor)}`)).json();
      const key = readKey(bytesOfHex(record.publicKey));
      Object.assign(data, { fp: fingerprint(key), ssid: "Home WiFi", sec: "4194310", pwd: encrypt(key, "correct horse") });
    }
    return `${device}/setup?r=${Math.random().toString(36).slice(2)}#${new URLSearchParams(data)}`;
  }

  // --- the scenarios ----------------------------------------------------------------------

  const wpa2 = (network) => assert.equal(network.password, "correct horse", "the simulator decrypted what the page encrypted");
  const backPage = () => `${maker}/back?from=device-page`;

  /** The device page's own behaviour, from a link the maker's page would build. */
  async function devicePage(t, engine) {
    await t.test("WPA2, with a network of unknown security in the list; nothing written before the customer confirms", async () => {
      await reset(0, { drop_next: 1, drop_command: "scan-ap" });
      await engine.goto(await handoffLink());
      await until(engine, "the network list", pageHas, "form");
      await engine.shot("wpa2-1-device-page");
      // The unknown network is listed, greyed out, and the next network is still there.
      const list = await engine.run(pageList);
      assert.deepEqual(list.find(([name]) => name === "Mystery"), ["Mystery", true, "security unknown"]);
      assert.deepEqual(list.find(([name]) => name === "Home WiFi"), ["Home WiFi", false, ""]);
      assert.equal(list.length, NETWORKS.length);
      assert.equal(await engine.run(() => location.href), `${DEVICE}/setup`, "the fragment and query left the address bar");
      assert.deepEqual((await requests(0)).filter((r) => WRITES.test(r)), []);
      assert.equal(await engine.run(pagePick, "Home WiFi", "correct horse"), true);
      // The way back, with the device id in lower case, as the cloud spells it.
      assert.equal(await returned(engine), `${backPage()}#softap=1&result=ok&device=${id(0)}`);
      assert.match(id(0), /^[0-9a-f]{24}$/);
      await assertJoined(0, "Home WiFi", wpa2);
      // A dropped scan is sent again.
      assert.deepEqual((await state(0)).log.filter((e) => e.path === "/scan-ap").map((e) => e.status), ["dropped", "200"]);
    });

    await t.test("WEP: the key goes as its key record, RSA-encrypted", async () => {
      await reset(0);
      await engine.goto(await handoffLink());
      await until(engine, "the network list", pageHas, "form");
      assert.equal(await engine.run(pagePick, "Old WEP", "abcde"), true);
      assert.equal(await returned(engine), `${backPage()}#softap=1&result=ok&device=${id(0)}`);
      await assertJoined(0, "Old WEP", (n) => assert.deepEqual([n.security, n.password], [1, "00056162636465"]));
    });

    await t.test("PEAP: user name and password", async () => {
      await reset(0);
      await engine.goto(await handoffLink());
      await until(engine, "the network list", pageHas, "form");
      assert.equal(await engine.run(pagePick, "Corp", "enterprise secret", "alice"), true);
      assert.equal(await returned(engine), `${backPage()}#softap=1&result=ok&device=${id(0)}`);
      await assertJoined(0, "Corp", (n) => assert.deepEqual([n.eap, n.inner_identity, n.password], [25, "alice", "enterprise secret"]));
    });

    await t.test("a name with a quote is refused on the page, naming the character, and nothing is sent", async () => {
      await reset(0);
      await engine.goto(await handoffLink());
      await until(engine, "the network list", pageHas, "form");
      assert.equal(await engine.run(pagePick, "Bob\"s \\Net", "bobbobbob"), true);
      await until(engine, "the refusal", pageText, "cannot store “\"”");
      await engine.shot("quote-refused");
      assert.deepEqual((await requests(0)).filter((r) => WRITES.test(r)), []);
      assert.equal((await state(0)).networks.length, 0);
    });

    await t.test("a lost connect-ap reply: back as connecting, and the device is claimed in the cloud", async () => {
      await reset(0, { lose_connect_reply: true });
      engine.asked?.splice(0);
      await engine.goto(await handoffLink());
      await until(engine, "the network list", pageHas, "form");
      assert.equal(await engine.run(pagePick, "Home WiFi", "correct horse"), true);
      assert.equal(await returned(engine), `${backPage()}#softap=1&result=connecting&device=${id(0)}`);
      // The page sends it once. (Chromium itself sends a request again when a kept-alive
      // connection closes without a reply, so the device may log it twice: not the page's.)
      const sent = (await state(0)).log.filter((e) => e.path === "/connect-ap").map((e) => e.status);
      assert.ok(sent.length >= 1 && sent.every((status) => status === "lost"), sent.join());
      if (engine.asked) assert.equal(engine.asked.filter((r) => r === "POST /connect-ap").length, 1);
      await assertJoined(0, "Home WiFi", wpa2);
    });

    await t.test("a timeout, then success: the page's own deadline, the read sent again", async () => {
      await reset(0);
      link.arm();
      await engine.goto(await handoffLink({ device: link.url }));
      await until(engine, "the network list", pageHas, "form");
      assert.deepEqual(link.lost, ["/device-id"]);
      assert.equal(await engine.run(pagePick, "Home WiFi", "correct horse"), true);
      assert.equal(await returned(engine), `${backPage()}#softap=1&result=ok&device=${id(0)}`);
      await assertJoined(0, "Home WiFi", wpa2);
      assert.equal((await requests(0)).filter((r) => r === "GET /device-id").length, 1);
    });

    await t.test("links with a foreign way back or a crafted claim code: refused, and nothing reaches the device", async () => {
      const sealed = `&fp=${"ab".repeat(32)}&ssid=Home+WiFi&sec=4194310&pwd=${"ab".repeat(128)}`;
      for (const [name, away, extra] of [
        ["foreign", "https://evil.example/phish", ""],
        ["script", "javascript:alert(1)", ""],
        ["sealed", `https://${PUBLIC}.evil.example/`, sealed],
      ]) {
        await reset(0);
        const fragment = `v=1&cc=${encodeURIComponent(await claimCode())}&back=${encodeURIComponent(away)}${extra}`;
        await engine.goto(`${DEVICE}/setup?r=${name}#${fragment}`);
        await until(engine, "the refusal", pageText, "The setup link was incomplete");
        await engine.shot(`back-${name}`);
        assert.equal(await engine.run(pageHas, "back"), false, "no way back to a foreign origin");
        assert.equal(await engine.run(() => location.hash), "", "the fragment left the address bar");
        assert.deepEqual(await requests(0), [], name);
      }
      // A claim code that would add a key to the set body: refused before anything is sent;
      // the way back (an allowed origin) says why.
      await reset(0);
      const injected = `v=1&cc=${encodeURIComponent('x","k":"cc","v":"INJECTED')}&back=${encodeURIComponent(backPage())}`;
      await engine.goto(`${DEVICE}/setup?r=injected#${injected}`);
      await until(engine, "the refusal", pageText, "The setup link was incomplete");
      assert.equal(await engine.run(() => document.getElementById("back").href), `${backPage()}#softap=1&result=error&code=handoff-invalid`);
      assert.deepEqual(await requests(0), [], "injected");
    });

    await t.test("sealed mode: the network named in the link, sent only once the customer confirms it", async () => {
      await reset(0);
      await engine.goto(await handoffLink({ sealFor: 0 }));
      await until(engine, "the sealed network", pageText, "will join the Wi-Fi network Home WiFi");
      await engine.shot("sealed-confirm");
      assert.deepEqual(await requests(0), ["GET /device-id", "GET /public-key"]);
      await engine.run(pageClick, "connect");
      assert.equal(await returned(engine), `${backPage()}#softap=1&result=ok&device=${id(0)}`);
      await assertJoined(0, "Home WiFi", wpa2);
    });

    await t.test("sealed for another lamp's key: nothing is sent, and the way back says why", async () => {
      await reset(0);
      await engine.goto(await handoffLink({ sealFor: 1 }));
      await until(engine, "the refusal", pageText, "not the Lumen lamp");
      await engine.shot("wrong-key");
      await engine.run(pageClick, "back");
      assert.equal(await returned(engine), `${backPage()}#softap=1&result=error&code=fingerprint-mismatch&device=${id(0)}`);
      assert.deepEqual(await requests(0), ["GET /device-id", "GET /public-key"]);
      assert.equal((await state(0)).networks.length, 0);
    });
  }

  /** Online and claimed: the element asks for the lamp's name, then says All set. */
  async function named(engine) {
    await until(engine, "the name", widgetHas, "save-name");
    await engine.run(widgetClick, "save-name");
    await until(engine, "All set", widgetText, "All set!");
  }

  /**
   * The round trip through <softap-setup> on the maker's page and back. These wait on the
   * element: the random query on its link, "connecting" taken from the page, sealed mode.
   */
  async function roundTrips(t, engine, mode) {
    await t.test("through <softap-setup>: WPA2, the element's link, All set", async () => {
      await reset(0);
      const href = await toDevicePage(engine, { mode, shot: "element-wpa2" });
      assert.match(href, /^http:\/\/192\.168\.0\.1\/setup\?r=[^#&]+#v=1&cc=/, "a fresh random query on the link");
      await until(engine, "the network list", pageHas, "form");
      assert.equal(await engine.run(pagePick, "Home WiFi", "correct horse"), true);
      assert.match(await returned(engine), new RegExp(`^${maker}/maker\\?.*#softap=1&result=ok&device=${id(0)}$`));
      await assertJoined(0, "Home WiFi", wpa2);
      await named(engine);
      await engine.shot("element-wpa2-done");
    });

    await t.test("through <softap-setup>: a lost connect-ap reply, back as connecting, All set", async () => {
      await reset(0, { lose_connect_reply: true });
      await toDevicePage(engine, { mode, shot: "element-lost-reply" });
      await until(engine, "the network list", pageHas, "form");
      assert.equal(await engine.run(pagePick, "Home WiFi", "correct horse"), true);
      assert.match(await returned(engine), /#softap=1&result=connecting&device=[0-9a-f]{24}$/);
      await assertJoined(0, "Home WiFi", wpa2);
      await named(engine);
    });

    await t.test("through <softap-setup>: sealed mode, confirmed on the device page, All set", async () => {
      await reset(0);
      await toDevicePage(engine, { mode, sealed: true, shot: "element-sealed" });
      await until(engine, "the sealed network", pageText, "will join the Wi-Fi network Home WiFi");
      assert.deepEqual(await requests(0), ["GET /device-id", "GET /public-key"]);
      await engine.run(pageClick, "connect");
      assert.match(await returned(engine), /#softap=1&result=ok&device=[0-9a-f]{24}$/);
      await assertJoined(0, "Home WiFi", wpa2);
      await named(engine);
    });

    await t.test("through <softap-setup>: sealed for another lamp, the element says so", async () => {
      await reset(0);
      await toDevicePage(engine, { mode, sealed: "other", shot: "element-wrong-key" });
      await until(engine, "the refusal", pageText, "not the Lumen lamp");
      await engine.run(pageClick, "back");
      assert.match(await returned(engine), /#softap=1&result=error&code=fingerprint-mismatch&device=[0-9a-f]{24}$/);
      const alert = await until(engine, "the error", widgetAlert);
      assert.match(alert, /not the Lumen lamp you expected/);
      assert.deepEqual(await requests(0), ["GET /device-id", "GET /public-key"]);
    });
  }

  test("chromium: the handoff (chosen on purpose: Chromium could call the device directly)", { timeout: 15 * 60_000 }, async (t) => {
    const engine = await playwrightEngine();
    try {
      await devicePage(t, engine);
      await t.test("a scan with nothing usable: the page says so, and searching again works", async () => {
        await reset(0);
        let emptied = 0;
        await engine.page.route(`${DEVICE}/scan-ap`, (route) => {
          emptied++;
          return route.fulfill({ status: 200, contentType: "application/json", body: '{"scans":[]}' });
        }, { times: 1 });
        await engine.goto(await handoffLink());
        await until(engine, "the empty list", pageText, "sees no network it can join");
        await engine.run(pageClick, "rescan");
        await until(engine, "the network list", pageHas, "form");
        assert.equal(emptied, 1);
        assert.equal(await engine.run(pagePick, "Home WiFi", "correct horse"), true);
        assert.equal(await returned(engine), `${backPage()}#softap=1&result=ok&device=${id(0)}`);
        await assertJoined(0, "Home WiFi", wpa2);
      });
      await roundTrips(t, engine, "handoff");
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
    test(`${name}: the https page picks the handoff by itself`, { timeout: 15 * 60_000 }, async (t) => {
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
        }, `${DEVICE}/device-id`);
        assert.equal(direct, "blocked");
        await devicePage(t, engine);
        await roundTrips(t, engine, "auto");
      } finally {
        await engine.close();
      }
    });
  }
}
