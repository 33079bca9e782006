// What the end-to-end tests share: softap-sim started and ready (on free ports, its addresses
// read from the line it prints), softap-maker against it, the maker's page as an https origin
// (self-signed) serving www/ and pkg/ beside the test's own routes, the demo as make demo runs
// it (scripts/demo-server.mjs) pointed at the simulator's and the maker's real addresses, and
// free ports for the WebDriver servers. Nothing here listens on a fixed port.
import { spawn, execFileSync } from "node:child_process";
import { createServer as createHttpServer } from "node:http";
import { createServer } from "node:https";
import { createServer as createTcpServer } from "node:net";
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

const TYPES = { ".html": "text/html", ".js": "text/javascript", ".wasm": "application/wasm", ".svg": "image/svg+xml" };

/**
 * softap-sim with these arguments, once it has printed its addresses; the process, with
 * those addresses (`{ devices: [{ id, http, tcp }], cloud, control, backend, www }`) as
 * `addresses`. Give addresses with port 0: the simulator takes free ports.
 */
export async function startSim(args) {
  const sim = spawn(path.join(root, "target/debug/softap-sim"), args, { stdio: ["ignore", "pipe", "inherit"] });
  const line = await new Promise((resolve, reject) => {
    sim.once("exit", (code) => reject(new Error(`softap-sim exited with ${code}`)));
    createInterface({ input: sim.stdout }).once("line", resolve);
  });
  sim.addresses = JSON.parse(line);
  return sim;
}

/** A port nobody listens on at `host` now (for servers that must be told one). */
export async function freePort(host = "127.0.0.1") {
  const server = createTcpServer();
  await new Promise((resolve) => server.listen(0, host, resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A file of www/ (or of pkg/ under /pkg/), or undefined; never outside them. */
function staticFile(pathname) {
  const file = pathname.startsWith("/pkg/")
    ? path.join(root, "pkg", path.basename(pathname))
    : path.join(root, "www", path.basename(pathname) || "index.html");
  return existsSync(file) && statSync(file).isFile() ? file : undefined;
}

/**
 * An https server on `host` (127.0.0.1 unless given) with a fresh self-signed certificate.
 * `route(url, req, res)` answers what it knows and returns true; everything else is a file
 * of pkg/ (under /pkg/) or www/. Resolves to `{ server, origin }`.
 */
export async function httpsSite(route, { host = "127.0.0.1" } = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), "softap-https-"));
  execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", `/CN=${host}`,
    "-addext", `subjectAltName=IP:${host}`, "-keyout", path.join(dir, "key.pem"), "-out", path.join(dir, "cert.pem")],
  { stdio: "ignore" });
  const server = createServer({ key: readFileSync(path.join(dir, "key.pem")), cert: readFileSync(path.join(dir, "cert.pem")) },
    (req, res) => {
      const url = new URL(req.url, "https://x");
      if (route(url, req, res)) return;
      const file = staticFile(url.pathname);
      if (!file) return res.writeHead(404).end();
      res.writeHead(200, { "Content-Type": TYPES[path.extname(file)] ?? "application/octet-stream" }).end(readFileSync(file));
    });
  await new Promise((resolve) => server.listen(0, host, resolve));
  return { server, origin: `https://${host}:${server.address().port}` };
}

/** softap-maker's development session secret in the tests (HS256, at least 32 bytes). */
const MAKER_SECRET = "softap-e2e-maker-session-secret-0123456789";

/**
 * softap-maker (the maker's server) against this simulator's cloud, on a free port, with a
 * fresh SQLite database in a temporary folder; `origins` may call it (CORS). The process,
 * with its base URL as `url` and `token(user)`, a session for that user.
 */
export async function startMaker(addresses, { origins = [], env = {} } = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), "softap-maker-"));
  const vars = {
    PARTICLE_API_URL: addresses.cloud, PARTICLE_CLIENT_ID: "softap-sim-client", PARTICLE_CLIENT_SECRET: "softap-sim-secret",
    PARTICLE_PRODUCT_ID: String(addresses.productId ?? 4242), MAKER_JWT_SECRET: MAKER_SECRET,
    ALLOWED_ORIGINS: origins.join(","), LISTEN_ADDR: "127.0.0.1:0", DATABASE_URL: `sqlite://${path.join(dir, "maker.db")}?mode=rwc`,
    RUST_LOG: "warn", ...env,
  };
  const bin = path.join(root, "target/debug/softap-maker");
  const maker = spawn(bin, [], { env: { PATH: process.env.PATH, ...vars }, stdio: ["ignore", "pipe", "inherit"] });
  const line = await new Promise((resolve, reject) => {
    maker.once("exit", (code) => reject(new Error(`softap-maker exited with ${code}`)));
    createInterface({ input: maker.stdout }).once("line", resolve);
  });
  maker.url = JSON.parse(line).listening.replace(/\/$/, "");
  maker.token = (user) => execFileSync(bin, ["dev-token", user], { env: { PATH: process.env.PATH, ...vars } }).toString().trim();
  maker.import = (csv) => {
    const file = path.join(dir, `import-${Date.now()}.csv`);
    writeFileSync(file, csv);
    return execFileSync(bin, ["import", file, "--labels", path.join(dir, "labels")], {
      env: { PATH: process.env.PATH, ...vars, MAKER_SETUP_URL: "https://lumen.example/setup" },
    }).toString();
  };
  return maker;
}

/**
 * The demo as `make demo` runs it, on free ports: the demo page (scripts/demo-server.mjs),
 * softap-sim with `simArgs` (and, with `devicePage`, serving the device page generated for
 * the demo's origin), and softap-maker in place of the simulator's stand-in backend, with a
 * session for "demo-user". `{ sim, maker, demo, url, control, session, stop }`.
 */
export async function demoStack(simArgs, { makerEnv, devicePage = false } = {}) {
  const { demoServer } = await import("../../scripts/demo-server.mjs");
  // The page first: its origin is the device page's way back and the maker's allowed origin.
  // The server reads `addresses` and the session at every request.
  const addresses = {};
  const stack = {};
  stack.demo = await demoServer({ addresses, session: () => stack.session });
  stack.url = stack.demo.url;
  const origin = new URL(stack.url).origin;
  const args = [...simArgs];
  if (devicePage) {
    const { generate } = await import("../../scripts/device-page.mjs");
    const out = mkdtempSync(path.join(tmpdir(), "softap-device-page-"));
    await generate({ out, origins: [origin], product: "Lumen lamp", names: { de: { name: "Lumen-Lampe", gender: "f" } }, langs: ["en", "de"] });
    args.push("--device-page", out);
  }
  stack.sim = await startSim(args);
  stack.control = stack.sim.addresses.control;
  Object.assign(addresses, { device: stack.sim.addresses.devices[0].http, cloud: stack.sim.addresses.cloud, control: stack.control });
  stack.maker = await startMaker(stack.sim.addresses, { origins: [origin], env: makerEnv });
  addresses.maker = stack.maker.url;
  stack.session = stack.maker.token("demo-user");
  stack.stop = () => {
    stack.demo.server.close();
    stack.maker.kill();
    stack.sim.kill();
  };
  return stack;
}

/** Debian's Chromium through playwright-core, as every Chromium test here starts it. */
export async function launchChromium(args = []) {
  const { chromium } = await import("playwright-core");
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
      "--disable-component-update", "--no-first-run", ...args],
  });
}

/** The simulator's state (`GET control/state`). */
export async function simState(control) {
  return (await fetch(`${control}/state`)).json();
}

/** Waits (polling the simulator, never a fixed sleep) until `check(state)` holds. */
export async function untilSim(control, check, what = "the simulator's state") {
  for (let i = 0; i < 600; i++) {
    const state = await simState(control);
    if (check(state)) return state;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** The element's helpers on a page: pick a network, type its password, send; name the device. */
export const widgetActions = {
  async connectTo(widget, network, password, { label = "Password" } = {}) {
    await widget.getByRole("radio", { name: new RegExp(network) }).check();
    if (password !== undefined) await widget.getByLabel(label, { exact: true }).fill(password);
    await widget.locator("#connect").click();
  },
  async name(widget, name, { save = "Save", title = /is online/ } = {}) {
    await widget.getByRole("heading", { name: title }).waitFor({ timeout: 30000 });
    if (name !== undefined) await widget.locator("#device-label").fill(name);
    await widget.getByRole("button", { name: save }).click();
  },
};
