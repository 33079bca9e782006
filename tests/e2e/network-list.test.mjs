// The list of networks as <softap-setup> shows it when a neighbour names a network to look like
// the customer's own (issue 14, finding 1) and when the device reports a security it does not
// know (-1): the real network stays as it is and is chosen, the crafted one is listed after it
// and marked, the unknown one cannot be chosen. Chromium against softap-sim and softap-maker
// (as `make demo` runs them), on free ports, with a radio that sees those networks.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { demoStack, launchChromium, root, simState, widgetActions } from "./support.mjs";

const SPOOF = 'Home WiFi","rssi":-1,"sec":0},';
let stack;
let browser;

before(async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "softap-networks-"));
  const networks = path.join(dir, "networks.json");
  writeFileSync(networks, JSON.stringify([
    { ssid: "Home WiFi", bssid: "a0:00:00:00:00:01", rssi: -60, sec: 4194310, ch: 6, mdr: 144400, password: "correct horse" },
    // Stronger than the real one, and written raw by the device right after it.
    { ssid: SPOOF, bssid: "a0:00:00:00:00:09", rssi: -30, sec: 0, ch: 6, mdr: 54000 },
    { ssid: "Odd", bssid: "a0:00:00:00:00:0a", rssi: -50, sec: -1, ch: 1, mdr: 54000 },
    { ssid: "Guest", bssid: "a0:00:00:00:00:04", rssi: -80, sec: 0, ch: 11, mdr: 54000 },
  ]));
  stack = await demoStack([
    "--http", "127.0.0.1:0", "--tcp", "127.0.0.1:0", "--cloud", "127.0.0.1:0",
    "--control", "127.0.0.1:0", "--backend", "127.0.0.1:0",
    "--key", path.join(root, "tests/fixtures/device-1024.pem"), "--networks", networks,
    "--scan-entry-ms", "5", "--scan-ms", "20", "--teardown-ms", "50", "--join-ms", "200",
  ]);
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  stack?.stop();
});

test("a crafted name never stands for the real network, and an unknown security cannot be chosen", async () => {
  const context = await browser.newContext({ locale: "en-US" });
  const page = await context.newPage();
  await page.goto(stack.url);
  const widget = page.locator("softap-setup");
  await widget.getByRole("button", { name: "Start" }).click();
  await widget.getByRole("heading", { name: "Choose your Wi-Fi network" }).waitFor();
  const rows = widget.locator("label.network");
  await rows.first().waitFor();
  const texts = (await rows.allInnerTexts()).map((t) => t.replace(/\s+/g, " ").trim());
  // Clean ones first (strongest first), then the doubtful one, then "Other network…".
  assert.match(texts[0], /^Odd security unknown/);
  assert.match(texts[1], /^Home WiFi .*secured/);
  assert.match(texts[2], /^Guest open/);
  assert.ok(texts[3].startsWith(SPOOF) && texts[3].includes("name unclear"), texts[3]);
  assert.equal(texts.length, 5, texts.join(" / "));
  // The unknown one cannot be picked; the first network that can be set up is chosen.
  assert.equal(await widget.getByRole("radio", { name: /^Odd/ }).isDisabled(), true);
  assert.equal(await widget.getByRole("radio", { name: /^Home WiFi .*secured/ }).isChecked(), true);
  // The real network is set up as what it is: WPA2, with its password.
  await widgetActions.connectTo(widget, "^Home WiFi .*secured", "correct horse");
  await widgetActions.name(widget, "Hall lamp");
  await widget.getByRole("heading", { name: "All set!" }).waitFor({ timeout: 30000 });
  const [device] = (await simState(stack.control)).devices;
  assert.deepEqual(device.networks.map((n) => [n.ssid, n.security, n.password]), [["Home WiFi", 4194310, "correct horse"]]);
  await context.close();
});
