// What the end-to-end tests share: softap-sim started and ready, and the maker's page as
// an https origin (self-signed) serving www/ and pkg/ beside the test's own routes.
import { spawn, execFileSync } from "node:child_process";
import { createServer } from "node:https";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

const TYPES = { ".html": "text/html", ".js": "text/javascript", ".wasm": "application/wasm", ".svg": "image/svg+xml" };

/** softap-sim with these arguments, once it has printed its addresses. */
export async function startSim(args) {
  const sim = spawn(path.join(root, "target/debug/softap-sim"), args, { stdio: ["ignore", "pipe", "inherit"] });
  await new Promise((resolve, reject) => {
    sim.once("exit", (code) => reject(new Error(`softap-sim exited with ${code}`)));
    createInterface({ input: sim.stdout }).once("line", resolve);
  });
  return sim;
}

/**
 * An https server on 127.0.0.1 with a fresh self-signed certificate. `route(url, req, res)`
 * answers what it knows and returns true; everything else is a file of pkg/ (under /pkg/)
 * or www/. Resolves to `{ server, origin }`.
 */
export async function httpsSite(route) {
  const dir = mkdtempSync(path.join(tmpdir(), "softap-https-"));
  execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
    "-keyout", path.join(dir, "key.pem"), "-out", path.join(dir, "cert.pem")], { stdio: "ignore" });
  const server = createServer({ key: readFileSync(path.join(dir, "key.pem")), cert: readFileSync(path.join(dir, "cert.pem")) },
    (req, res) => {
      const url = new URL(req.url, "https://x");
      if (route(url, req, res)) return;
      const file = url.pathname.startsWith("/pkg/")
        ? path.join(root, "pkg", path.basename(url.pathname))
        : path.join(root, "www", path.basename(url.pathname));
      if (!existsSync(file)) return res.writeHead(404).end();
      res.writeHead(200, { "Content-Type": TYPES[path.extname(file)] ?? "application/octet-stream" }).end(readFileSync(file));
    });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, origin: `https://127.0.0.1:${server.address().port}` };
}
