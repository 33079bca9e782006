// Chrome's Local Network Access as a customer meets it (recipe: shared/spec/browser-lab.md):
// the maker's page over https from a "public" address, the device a "local", non-trustworthy
// host (device.test), permission granted or denied through the DevTools protocol.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { chromium } from "playwright-core";
import { httpsSite, root, startSim } from "./support.mjs";

const shots = path.join(root, "target/e2e-screenshots");
// The simulator's ports, free ones it took (filled in before the tests run).
const PORTS = {};

let sim;
let https;
let pagePort;
let browser;

/** The maker's page, as https: www/ at /, pkg/ at /pkg/, a page per case with its attributes. */
function page(attributes) {
  return `<!doctype html><meta charset="utf-8"><softap-setup product-name="Lumen lamp"
    device-url="http://device.test:${PORTS.device}" api-url="http://127.0.0.1:${PORTS.cloud}"
    token-url="http://127.0.0.1:${PORTS.backend}/customer-token" product-id="4242"
    module-url="/pkg/softap_web.js" ${attributes}></softap-setup>
    <script type="module" src="/softap-setup.js"></script>`;
}

before(async () => {
  mkdirSync(shots, { recursive: true });
  sim = await startSim([
    "--http", "127.0.0.1:0", "--tcp", "127.0.0.1:0", "--cloud", "127.0.0.1:0", "--control", "127.0.0.1:0",
    "--backend", "127.0.0.1:0", "--key", path.join(root, "tests/fixtures/device-1024.pem"),
    "--scan-entry-ms", "5", "--scan-ms", "20", "--teardown-ms", "50", "--join-ms", "200",
  ]);
  const { devices: [device], cloud, control, backend } = sim.addresses;
  const port = (address) => new URL(address).port;
  Object.assign(PORTS, { device: port(device.http), cloud: port(cloud), control: port(control), backend: port(backend) });
  let origin;
  ({ server: https, origin } = await httpsSite((url, req, res) => {
    if (!url.pathname.startsWith("/case/")) return false;
    const attributes = { declared: 'target-address-space="local"', undeclared: "" }[url.pathname.slice(6)];
    res.writeHead(200, { "Content-Type": "text/html" }).end(page(attributes));
    return true;
  }));
  pagePort = new URL(origin).port;
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
      "--disable-component-update", "--no-first-run", "--ignore-certificate-errors",
      `--host-resolver-rules=MAP device.test 127.0.0.1`,
      // The page, the cloud and the maker's server are public; the device is local.
      `--ip-address-space-overrides=127.0.0.1:${pagePort}=public,127.0.0.1:${PORTS.cloud}=public,` +
        `127.0.0.1:${PORTS.backend}=public,127.0.0.1:${PORTS.device}=local`],
  });
});

after(async () => {
  await browser?.close();
  https?.close();
  sim?.kill();
});

async function withPermission(setting, pageCase, run) {
  await fetch(`http://127.0.0.1:${PORTS.control}/reset?device=0`, { method: "POST" });
  const context = await browser.newContext();
  const cdp = await browser.newBrowserCDPSession();
  const { browserContextIds } = await cdp.send("Target.getBrowserContexts");
  for (const browserContextId of browserContextIds) {
    // Chromium has named it "local-network-access", and now splits it into "local-network"
    // and "loopback-network": set them all.
    for (const name of ["local-network-access", "local-network", "loopback-network"]) {
      await cdp.send("Browser.setPermission", {
        permission: { name }, setting, origin: `https://127.0.0.1:${pagePort}`, browserContextId,
      });
    }
  }
  const tab = await context.newPage();
  await tab.goto(`https://127.0.0.1:${pagePort}/case/${pageCase}`);
  try {
    await run(tab, tab.locator("softap-setup"));
  } finally {
    await context.close();
  }
}

async function requestsSeenByDevice() {
  return (await (await fetch(`http://127.0.0.1:${PORTS.control}/state`)).json()).devices[0].log.length;
}

test("permission granted: an https page sets up the local device", async () => {
  await withPermission("granted", "declared", async (tab, widget) => {
    await widget.getByRole("button", { name: "Start" }).click();
    await widget.getByRole("radio", { name: /Guest/ }).check();
    await widget.getByRole("button", { name: "Connect" }).click();
    await widget.getByRole("heading", { name: "Your Lumen lamp is online" }).waitFor({ timeout: 30000 });
    await widget.getByRole("button", { name: "Save" }).click();
    await widget.getByRole("heading", { name: "All set!" }).waitFor({ timeout: 20000 });
    await tab.screenshot({ path: path.join(shots, "lna-granted.png") });
  });
});

test("permission denied: the page says how to allow it, and nothing reached the device", async () => {
  await withPermission("denied", "declared", async (tab, widget) => {
    await widget.getByRole("button", { name: "Start" }).click();
    await widget.getByRole("alert").filter({ hasText: "local network access" }).waitFor({ timeout: 20000 });
    await tab.screenshot({ path: path.join(shots, "lna-denied.png") });
    assert.equal(await requestsSeenByDevice(), 0);
  });
});

test("without the local declaration the same page is blocked as mixed content", async () => {
  await withPermission("granted", "undeclared", async (tab, widget) => {
    await widget.getByRole("button", { name: "Start" }).click();
    await widget.getByRole("alert").filter({ hasText: "blocks the connection" }).waitFor({ timeout: 20000 });
    await tab.screenshot({ path: path.join(shots, "lna-mixed-content.png") });
    assert.equal(await requestsSeenByDevice(), 0);
  });
});
