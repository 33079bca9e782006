// The device page beyond the corpus: how it talks to the device (deadlines, retries, what it
// learns of the firmware) against a stand-in fetch, and the generator's options and output.
// Issue 11's findings each have a case here or in the end-to-end tests (every-browser): a
// timeout is retried, never taken for a device's code (4); a lost connect-ap reply is
// "probably connecting" (3); a configure-ap whose reply began is never sent twice.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { gunzipSync } from "node:zlib";
import { createPublicKey } from "node:crypto";
import { configureBody, deviceClient, END_GRACE_MS } from "../../www/device/logic.js";
import { readKey } from "../../www/seal.js";
import { TEXT_KEYS } from "../../www/device/texts.js";
import { root } from "./support.mjs";

globalThis.navigator ??= { languages: [] };
const { MESSAGES } = await import("../../www/i18n.js");
const { generate, parseArgs } = await import("../../scripts/device-page.mjs");

const ID = '{"id":"3A0020001847333531323BCF","c":"0"}';

/**
 * A body delivered in `pieces`, then ended unless `open` (0.6 never ends its bodies); as in a
 * browser, it fails when the request's `signal` aborts.
 */
function body(pieces, { open = false, signal } = {}) {
  return new ReadableStream({
    start(controller) {
      for (const piece of pieces) controller.enqueue(new TextEncoder().encode(piece));
      if (!open) controller.close();
      signal?.addEventListener("abort", () => controller.error(new DOMException("aborted", "AbortError")));
    },
  });
}

/** Rejects as a browser's fetch does when its signal aborts: a DOMException with code 20. */
const hang = (signal) => new Promise((_, reject) => {
  signal.addEventListener("abort", () => reject(new DOMException("The operation was aborted.", "AbortError")));
});

/**
 * A device client over `answers` (one function per attempt, given the request's init), with
 * short deadlines. Pauses are macrotasks, so a body that has ended is always seen to end first.
 */
function client(answers) {
  const requests = [];
  const pauses = [];
  const device = deviceClient({
    fetch: async (url, init) => {
      requests.push({ url, method: init.method ?? "GET", type: init.headers?.["Content-Type"], body: init.body });
      const answer = answers.shift();
      assert.ok(answer, `an unexpected request: ${url}`);
      return answer(init);
    },
    wait: (ms) => {
      pauses.push(ms);
      return new Promise((resolve) => setTimeout(resolve, 0));
    },
    limit: () => 30,
  });
  return { device, requests, pauses };
}

test("a timeout of the page's own is retried, never read as a device's error code (issue 11, finding 4)", async () => {
  const { device, requests, pauses } = client([
    ({ signal }) => hang(signal),
    () => new Response(body([ID])),
  ]);
  const reply = await device.call("device-id");
  assert.deepEqual(reply, { deviceId: { id: "3a0020001847333531323bcf", claimed: false } });
  assert.equal(requests.length, 2);
  // The pause before the second attempt; then the wait for the end of the body.
  assert.deepEqual(pauses, [250, END_GRACE_MS]);
});

test("reads are retried after drops, busy replies and stalls, and settle with a typed error", async () => {
  const { device, requests, pauses } = client([
    () => Promise.reject(new TypeError("Failed to fetch")),
    () => new Response(null, { status: 503 }),
    ({ signal }) => new Response(body(['{"scans":['], { open: true, signal })),
  ]);
  await assert.rejects(device.call("scan-ap"), { code: "timeout" });
  assert.equal(requests.length, 3);
  assert.deepEqual(pauses, [250, 1000]);
  const twice = client([() => Promise.reject(new TypeError("x")), () => Promise.reject(new TypeError("x")), () => Promise.reject(new TypeError("x"))]);
  await assert.rejects(twice.device.call("version"), { code: "device-unreachable" });
  const missing = client([() => new Response("", { status: 404 })]);
  await assert.rejects(missing.device.call("version"), { code: "device-http-status" });
});

test("a lost connect-ap reply means probably connecting, and connect-ap is never sent twice (finding 3)", async () => {
  for (const answer of [
    () => Promise.reject(new TypeError("Failed to fetch")),
    ({ signal }) => hang(signal),
    () => new Response(new ReadableStream({ start(c) { c.error(new TypeError("network")); } })),
  ]) {
    const { device, requests } = client([answer]);
    assert.deepEqual(await device.call("connect-ap", '{"idx":0}'), { connecting: true });
    assert.equal(requests.length, 1);
    assert.deepEqual(requests[0], { url: "/connect-ap", method: "POST", type: "application/x-www-form-urlencoded", body: '{"idx":0}' });
  }
  // Busy: the device refused it unseen, so sending it again cannot act twice.
  const busy = client([() => new Response(null, { status: 503 }), () => new Response(body(['{"r":0}']))]);
  assert.deepEqual(await busy.device.call("connect-ap", '{"idx":0}'), { ok: true });
  assert.equal(busy.requests.length, 2);
});

test("a configure-ap whose reply began but stalled settles without a second send", async () => {
  const stall = ({ signal }) => new Response(body([], { open: true, signal }));
  const wpa = client([stall]);
  await assert.rejects(wpa.device.call("configure-ap", "{}"), { code: "timeout" });
  assert.equal(wpa.requests.length, 1);
  // Enterprise settings met with silence: 0.6 firmware's refusal.
  const corp = client([stall]);
  await assert.rejects(corp.device.call("configure-ap", "{}", true), { code: "firmware-too-old" });
  assert.equal(corp.requests.length, 1);
  // No reply byte at all: it never arrived, so it is sent again.
  const lost = client([({ signal }) => hang(signal), () => new Response(body(['{"r":0}']))]);
  assert.deepEqual(await lost.device.call("configure-ap", "{}"), { ok: true });
  assert.equal(lost.requests.length, 2);
  // The device's own answer is not retried.
  const refused = client([() => new Response(body(['{"r":-2}']))]);
  await assert.rejects(refused.device.call("configure-ap", "{}"), { code: "network-not-found" });
});

test("the page learns whether the device ends its bodies: 0.7 does, 0.6 never does", async () => {
  const seven = client([() => new Response(body([ID]))]);
  await seven.device.call("device-id");
  assert.equal(seven.device.firmware(), "0.7");
  // 0.6 writes one token per chunk and never ends: the reply counts once whole.
  const six = client([({ signal }) => new Response(body(['{"id":', '"3A0020001847333531323BCF"', ',"c":"0"}'], { open: true, signal }))]);
  assert.deepEqual(await six.device.call("device-id"), { deviceId: { id: "3a0020001847333531323bcf", claimed: false } });
  assert.equal(six.device.firmware(), "0.6");
  assert.ok(six.pauses.includes(END_GRACE_MS));
});

test("enterprise on firmware that never ends its bodies (0.6) is refused before anything is sent", async () => {
  const six = client([({ signal }) => new Response(body([ID], { open: true, signal }))]);
  await six.device.call("device-id");
  const pem = readFileSync(path.join(root, "tests/fixtures/device-1024.pem"));
  const key = readKey(new Uint8Array(createPublicKey(pem).export({ type: "spki", format: "der" })));
  const peap = { ssid: "Corp", security: 37748742, eap: "peap", innerIdentity: "alice", password: "s3cret!" };
  assert.throws(() => configureBody(peap, key, six.device.firmware()), { code: "firmware-too-old" });
  // WPA2 goes to 0.6 as to 0.7.
  assert.match(configureBody({ ssid: "Home", security: 4194310, password: "correct horse" }, key, six.device.firmware()),
    /^\{"idx":0,"ssid":"Home","pwd":"[0-9a-f]{256}","sec":4194310\}$/);
  const seven = client([() => new Response(body([ID]))]);
  await seven.device.call("device-id");
  assert.match(configureBody(peap, key, seven.device.firmware()), /"eap":25,"ii":"alice"\}$/);
});

test("requests: reads are plain GETs, writes urlencoded POSTs (no preflight, past the firmware's routing)", async () => {
  const { device, requests } = client([() => new Response(body(['{"r":0}']))]);
  await device.call("set", '{"k":"cc","v":"x"}');
  assert.deepEqual(requests, [{ url: "/set", method: "POST", type: "application/x-www-form-urlencoded", body: '{"k":"cc","v":"x"}' }]);
});

test("the texts: every key the page uses is shipped, and in every language of the element's table", () => {
  const page = readFileSync(path.join(root, "www/device/page.js"), "utf8");
  const block = (name) => page.slice(page.indexOf(`const ${name} = {`), page.indexOf("};", page.indexOf(`const ${name} = {`)));
  const used = new Set([
    ...[...page.matchAll(/\bt\("([\w-]+)"/g)].map((m) => m[1]),
    ...[...`${block("MESSAGES")}${block("FATAL")}`.matchAll(/: "([\w-]+)"/g)].map((m) => m[1]),
    "device-error",
  ]);
  assert.ok(used.size > 20, [...used].join(" "));
  for (const key of used) assert.ok(TEXT_KEYS.includes(key), `www/device/texts.js lacks ${key}, which page.js uses`);
  for (const [lang, texts] of Object.entries(MESSAGES)) {
    for (const key of TEXT_KEYS) assert.equal(typeof texts[key], "string", `${lang}.${key}`);
  }
});

test("the generator: --allow-origin is required and must be an origin; the full flavour is gone", () => {
  assert.throws(() => parseArgs([]), /--allow-origin is required/);
  assert.throws(() => parseArgs(["--allow-origin", "https://lumen.example/setup"]), /an origin/);
  assert.throws(() => parseArgs(["--allow-origin", "javascript:alert(1)"]), /an origin/);
  assert.throws(() => parseArgs(["--allow-origin", "https://lumen.example", "--flavour", "full"]), /full/);
  assert.throws(() => parseArgs(["--allow-origin", "https://lumen.example", "--lang", "xx"]), /--lang xx/);
  const options = parseArgs(["--allow-origin", "https://lumen.example/", "--allow-origin", "http://127.0.0.1:8080",
    "--product", "Lumen lamp", "--lang", "de"]);
  assert.deepEqual(options.origins, ["https://lumen.example", "http://127.0.0.1:8080"]);
  assert.deepEqual([options.product, options.langs], ["Lumen lamp", ["de"]]);
  // A page opened without its link (a reload, Back) sends the customer to the maker's setup
  // page: the first origin's / unless --setup-url names one, on an allowed origin only.
  assert.equal(options.home, "https://lumen.example/");
  assert.equal(parseArgs(["--allow-origin", "https://lumen.example", "--setup-url", "https://lumen.example/setup?x=1"]).home,
    "https://lumen.example/setup?x=1");
  assert.throws(() => parseArgs(["--allow-origin", "https://lumen.example", "--setup-url", "https://evil.example/"]), /--setup-url/);
  assert.deepEqual(parseArgs(["--allow-origin", "https://lumen.example", "--product-in", "de=Lumen-Lampe,f"]).names,
    { de: { name: "Lumen-Lampe", gender: "f" } });
  assert.throws(() => parseArgs(["--allow-origin", "https://lumen.example", "--product-in", "Lumen-Lampe"]), /--product-in/);
});

test("the generated page: one gzipped HTML within 12 KB, its origins, product and texts inlined, no-store", async () => {
  const out = mkdtempSync(path.join(tmpdir(), "softap-device-page-"));
  const size = await generate({ out, origins: ["https://lumen.example"], product: "Lumen <lamp>", langs: ["en", "de"] });
  assert.ok(size <= 12 * 1024, `${size} bytes gzipped`);
  const pages = JSON.parse(readFileSync(path.join(out, "pages.json"), "utf8"));
  assert.deepEqual(pages.map((p) => p.url), ["/index", "/setup"]);
  for (const page of pages) assert.equal(page.headers, "Content-Encoding: gzip\r\nCache-Control: no-store\r\n");
  const html = gunzipSync(readFileSync(path.join(out, "index.html.gz"))).toString("utf8");
  assert.match(html, /<title>Lumen &#60;lamp&#62;<\/title>/);
  assert.match(html, /<script type="module">/);
  assert.doesNotMatch(html, /\bimport\b|\bexport\b|src="\.\/page\.js"/);
  assert.ok(html.includes('["https://lumen.example"]'));
  assert.match(html, /\bhome:"https:\/\/lumen\.example\/"/, "the way back from a page opened without its link");
  for (const lang of ["en", "de"]) assert.ok(html.includes(JSON.stringify(MESSAGES[lang].pageConnectTo)), lang);
  // The product's name is in the texts, which the page shows as HTML: escaped there too.
  assert.ok(!html.includes("Lumen <lamp>"), "no raw markup from the name");
  assert.match(html, /Lumen &#60;lamp&#62;/);
  const handler = readFileSync(path.join(out, "softap_pages.cpp"), "utf8");
  assert.ok(handler.includes('Header header("Content-Encoding: gzip\\r\\nCache-Control: no-store\\r\\n");'));
});
