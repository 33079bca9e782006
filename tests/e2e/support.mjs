// What the end-to-end tests share: softap-sim started and ready (on free ports, its addresses
// read from the line it prints), the maker's page as an https origin (self-signed) serving
// www/ and pkg/ beside the test's own routes, the demo page served with the simulator's real
// addresses, and free ports for the WebDriver servers. Nothing here listens on a fixed port.
import { spawn, execFileSync } from "node:child_process";
import { createServer as createHttpServer } from "node:http";
import { createServer } from "node:https";
import { createServer as createTcpServer } from "node:net";
import { existsSync, mkdtempSync, readFileSync, statSync } from "node:fs";
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

// The simulator's addresses as the demo page (www/index.html) names them (scripts/demo.sh).
const DEMO_ADDRESSES = { device: "http://127.0.0.1:8180", control: "http://127.0.0.1:8183", cloud: "http://127.0.0.1:8182", backend: "http://127.0.0.1:8184" };

/**
 * The demo (www/ and pkg/, as softap-sim's --www serves them: the same types, no-cache) on a
 * free loopback port, its page pointed at this simulator's addresses instead of the fixed ones
 * `make demo` uses. Resolves to `{ server, url }`.
 */
export async function demoSite(addresses) {
  const actual = { device: addresses.devices[0].http, control: addresses.control, cloud: addresses.cloud, backend: addresses.backend };
  let page = readFileSync(path.join(root, "www/index.html"), "utf8");
  for (const [name, fixed] of Object.entries(DEMO_ADDRESSES)) page = page.replaceAll(fixed, actual[name]);
  const left = page.match(/http:\/\/127\.0\.0\.1:\d+/g)?.filter((a) => !Object.values(actual).includes(a));
  if (left?.length) throw new Error(`www/index.html names ${left.join(", ")}: tell DEMO_ADDRESSES what it is`);
  const types = { ...TYPES, ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8" };
  const server = createHttpServer((req, res) => {
    const file = staticFile(new URL(req.url, "http://x").pathname);
    if (req.method !== "GET" || !file) return res.writeHead(404).end();
    const body = file === path.join(root, "www/index.html") ? page : readFileSync(file);
    res.writeHead(200, { "Content-Type": types[path.extname(file)] ?? "application/octet-stream", "Cache-Control": "no-cache" }).end(body);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, url: `http://127.0.0.1:${server.address().port}/` };
}
