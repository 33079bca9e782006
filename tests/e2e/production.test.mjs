// The README's "Going to production", followed step by step against the simulator: the
// package packed with npm and unpacked into a site's /softap/, the README's page and service
// worker served over https, softap-maker as the token endpoint with the lamp imported at the
// "factory", the page's session handed to the element; a lamp set up in sealed mode, and the
// page loading again without internet from the cache named after the package's hash.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { httpsSite, launchChromium, root, simState, startMaker, startSim } from "./support.mjs";

/** The section's code blocks, as the README shows them. */
function readmeBlocks() {
  const readme = readFileSync(path.join(root, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("## Going to production"), readme.indexOf("## Layout"));
  const block = (lang) => new RegExp("```" + lang + "\\n([\\s\\S]*?)```").exec(section)?.[1];
  return { html: block("html"), js: block("js") };
}

let sim;
let maker;
let site;
let browser;
let siteServer;
let files;

before(async () => {
  // 1. The package: npm pack, unpacked as a site would install it.
  const work = mkdtempSync(path.join(tmpdir(), "softap-production-"));
  const tarball = execFileSync("npm", ["pack", "--silent", "--pack-destination", work], { cwd: path.join(root, "pkg") }).toString().trim();
  execFileSync("tar", ["-xzf", path.join(work, tarball), "-C", work]);
  files = path.join(work, "package");
  sim = await startSim(["--http", "127.0.0.1:0", "--tcp", "127.0.0.1:0", "--cloud", "127.0.0.1:0", "--control", "127.0.0.1:0",
    "--backend", "127.0.0.1:0", "--scan-entry-ms", "5", "--scan-ms", "20", "--teardown-ms", "50", "--join-ms", "200"]);
  const { html, js } = readmeBlocks();
  assert.ok(html && js, "the README's page and worker");
  // 2. The README's page and worker over https; the package beside them at /softap/.
  const routes = (url, req, res) => {
    const send = (type, body) => res.writeHead(200, { "Content-Type": type, "Cache-Control": "no-cache" }).end(body);
    if (url.pathname === "/setup") return send("text/html; charset=utf-8", page(html)), true;
    if (url.pathname === "/sw.js") return send("text/javascript", js), true;
    if (url.pathname === "/my-lamps") return send("text/html", "<!doctype html><p>Your lamps</p>"), true;
    if (url.pathname.startsWith("/softap/")) {
      const name = path.basename(url.pathname);
      if (!readdirSync(files).includes(name)) return res.writeHead(404).end(), true;
      const type = { ".js": "text/javascript", ".wasm": "application/wasm" }[path.extname(name)] ?? "application/octet-stream";
      return send(type, readFileSync(path.join(files, name))), true;
    }
    res.writeHead(404).end();
    return true;
  };
  ({ server: siteServer, origin: site } = await httpsSite(routes));
  // 3 and 4. softap-maker for this origin; the lamp added to the product and its key recorded.
  maker = await startMaker(sim.addresses, { origins: [site] });
  const lamp = (await simState(sim.addresses.control)).devices[0];
  const { b: key } = await (await fetch(`${sim.addresses.devices[0].http}/public-key`)).json();
  assert.match(maker.import(`device_id,ap_name,public_key\n${lamp.id},${lamp.ssid},${key}\n`), /added: 1/);
  browser = await launchChromium(["--ignore-certificate-errors"]);
});

after(async () => {
  await browser?.close();
  siteServer?.close();
  maker?.kill();
  sim?.kill();
});

/** The README's page, pointed at the simulator (the lamp and the cloud) and this maker. */
function page(html) {
  const session = maker.token("customer-42");
  return `<script>window.login = { session: () => ${JSON.stringify(session)} };</script>\n${html
    .replaceAll("https://maker.lumen.example", maker.url)
    .replace('product-id="1234"', 'product-id="4242"')
    .replace("<softap-setup ", `<softap-setup device-url="${sim.addresses.devices[0].http}" api-url="${sim.addresses.cloud}" `)}`;
}

test("the README's production steps: the packed package on an https page, softap-maker's token, sealed mode, offline again from the hashed cache", async () => {
  for (const file of ["softap-setup.js", "handoff.js", "i18n.js", "precache.js", "softap_web.js", "softap_web_bg.wasm"]) {
    assert.ok(readdirSync(files).includes(file), `npm pack ships ${file}`);
  }
  const context = await browser.newContext({ locale: "de-DE" });
  const tab = await context.newPage();
  await tab.goto(`${site}/setup`);
  const widget = tab.locator("softap-setup");
  await widget.getByRole("heading", { name: "Lumen-Lampe einrichten" }).waitFor();
  await widget.getByRole("button", { name: "Los geht's" }).click();
  // Sealed mode: the name on the label, the key from the maker's records.
  const lamp = (await simState(sim.addresses.control)).devices[0];
  await widget.getByLabel(/Der Name auf dem Etikett/).fill(lamp.ssid);
  await widget.getByRole("button", { name: "Weiter" }).click();
  await widget.getByRole("radio", { name: /Home WiFi/ }).check();
  await widget.getByLabel("Passwort", { exact: true }).fill("correct horse");
  await widget.locator("#connect").click();
  await widget.getByRole("heading", { name: "Ihre Lumen-Lampe ist online" }).waitFor({ timeout: 30000 });
  await widget.getByRole("button", { name: "Speichern" }).click();
  await widget.getByRole("heading", { name: "Fertig!" }).waitFor({ timeout: 30000 });
  assert.equal(await widget.getByRole("link", { name: "Abschließen" }).getAttribute("href"), "/my-lamps");
  assert.ok((await simState(sim.addresses.control)).devices[0].claimedBy);
  // 6. The worker keeps page, element and wasm under the package's hash; offline, all loads.
  await tab.evaluate(() => navigator.serviceWorker.ready);
  const { hash } = JSON.parse(/SOFTAP_PRECACHE = (\{.*\});/.exec(readFileSync(path.join(files, "precache.js"), "utf8"))[1].replace(/(\w+):/g, '"$1":'));
  assert.deepEqual(await tab.evaluate(() => caches.keys()), [`lumen-setup-${hash}`]);
  await context.setOffline(true);
  await tab.evaluate(() => sessionStorage.clear());
  await tab.reload();
  await widget.getByRole("button", { name: "Los geht's" }).waitFor();
  await context.close();
});
