// The demo's web server (make demo, and the end-to-end tests): the made-up maker's page from
// www/ and the npm package from pkg/ at /pkg/, as a static host serves them (their types,
// Cache-Control: no-cache), and GET /demo-session: the demo user's session token for the
// maker's server, standing in for the maker's own login (a real page gets its session from
// its login, never from a URL). With `addresses`, the page is served pointed at them instead of
// the fixed local ports `make demo` uses.
//
//   DEMO_SESSION=<token> node scripts/demo-server.mjs [--listen 127.0.0.1:8080]
import { createServer } from "node:http";
import { existsSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** The addresses www/index.html names, as scripts/demo.sh starts them. */
export const DEMO_ADDRESSES = {
  device: "http://127.0.0.1:8180",
  cloud: "http://127.0.0.1:8182",
  control: "http://127.0.0.1:8183",
  maker: "http://127.0.0.1:8185",
};

const TYPES = {
  ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".wasm": "application/wasm",
  ".svg": "image/svg+xml", ".json": "application/json", ".ts": "text/plain; charset=utf-8",
};

/** A file of www/ (or of pkg/ under /pkg/), or undefined; never outside them. */
function file(pathname) {
  const name = path.basename(pathname);
  const found = pathname.startsWith("/pkg/")
    ? path.join(root, "pkg", name)
    : pathname.split("/").length === 2 ? path.join(root, "www", name || "index.html") : undefined;
  return found && existsSync(found) && statSync(found).isFile() ? found : undefined;
}

/**
 * Serves the demo on `host:port` (a free port unless given). `addresses` (optional): where the
 * page's device, cloud, simulator control and maker's server are. `session`: the token
 * /demo-session answers. Resolves to `{ server, url }`.
 */
export async function demoServer({ host = "127.0.0.1", port = 0, addresses = {}, session } = {}) {
  const page = () => {
    let html = readFileSync(path.join(root, "www/index.html"), "utf8");
    for (const [name, fixed] of Object.entries(DEMO_ADDRESSES)) html = html.replaceAll(fixed, addresses[name] ?? fixed);
    return html;
  };
  const server = createServer((req, res) => {
    const url = new URL(req.url, "http://x");
    if (req.method !== "GET" && req.method !== "HEAD") return res.writeHead(405).end();
    if (url.pathname === "/demo-session") {
      const token = typeof session === "function" ? session() : session;
      if (!token) return res.writeHead(404, { "Content-Type": "application/json" }).end('{"error":"no demo session"}');
      return res.writeHead(200, { "Content-Type": "application/json", "Cache-Control": "no-store" }).end(JSON.stringify({ token }));
    }
    const found = file(url.pathname);
    if (!found) return res.writeHead(404).end();
    const body = found === path.join(root, "www/index.html") ? page() : readFileSync(found);
    res.writeHead(200, { "Content-Type": TYPES[path.extname(found)] ?? "application/octet-stream", "Cache-Control": "no-cache" });
    res.end(req.method === "HEAD" ? undefined : body);
  });
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, resolve);
  });
  return { server, url: `http://${host}:${server.address().port}/` };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const at = process.argv.indexOf("--listen");
  const [host, port] = (at > 0 ? process.argv[at + 1] : "127.0.0.1:8080").split(":");
  const { url } = await demoServer({ host, port: Number(port), session: process.env.DEMO_SESSION });
  console.log(JSON.stringify({ listening: url }));
}
