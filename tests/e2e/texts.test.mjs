// Issue 12, finding 4: every error code has a text in every language, and German speaks of
// the product with the maker's grammar. The registry is read where it is kept: the core's
// `Error::CODES` (src/protocol/error.rs), the TypeScript `ErrorCode` union (src/web/types.rs,
// and pkg/softap_web.d.ts as built); the texts are www/i18n.js's. Then, in Chromium, the German
// page shows every code as the device page would hand it back, in German.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { demoStack, launchChromium, root } from "./support.mjs";

globalThis.navigator ??= { languages: [] }; // www/i18n.js is written for browsers
const { MESSAGES, productWords } = await import("../../www/i18n.js");
const read = (file) => readFileSync(path.join(root, file), "utf8");

/** The core's registry: the string literals of `Error::CODES`. */
function coreCodes() {
  const source = read("src/protocol/error.rs");
  const block = /pub const CODES: &'static \[&'static str\] = &\[([^\]]*)\]/.exec(source);
  assert.ok(block, "Error::CODES in src/protocol/error.rs");
  return [...block[1].matchAll(/"([a-z-]+)"/g)].map((m) => m[1]);
}

/** The TypeScript union `ErrorCode` in a file. */
function unionCodes(file) {
  const union = /export type ErrorCode =([^;]*);/.exec(read(file));
  assert.ok(union, `ErrorCode in ${file}`);
  return [...union[1].matchAll(/"([a-z-]+)"/g)].map((m) => m[1]);
}

/** The codes the element itself reports: its own and those of the maker's server it shows. */
function elementCodes() {
  const source = read("www/softap-setup.js");
  return [...new Set([...source.matchAll(/coded\("([a-z-]+)"/g), ...source.matchAll(/(?:error|note)\("([a-z-]+)"\)/g),
    ...source.matchAll(/"(device-not-claimed|device-owned-by-another-customer|release-refused|maker-error)"/g)].map((m) => m[1]))];
}

test("the registry: the core's codes, the TypeScript union and the built package agree", () => {
  const codes = coreCodes();
  assert.ok(codes.length >= 40, `${codes.length} codes`);
  assert.deepEqual([...unionCodes("src/web/types.rs")].sort(), [...codes].sort());
  if (existsSync(path.join(root, "pkg/softap_web.d.ts"))) assert.deepEqual([...unionCodes("pkg/softap_web.d.ts")].sort(), [...codes].sort());
});

test("every error code, the library's and the element's, has a text in every language", () => {
  const codes = [...coreCodes(), ...elementCodes()];
  for (const code of ["release-refused", "device-owned-by-another-customer", "device-not-claimed", "maker-error", "cloud-unreachable"]) {
    assert.ok(codes.includes(code), code);
  }
  const missing = [];
  for (const [lang, texts] of Object.entries(MESSAGES)) {
    for (const code of codes) if (typeof texts[code] !== "string" || !texts[code].trim()) missing.push(`${lang}: ${code}`);
  }
  assert.deepEqual(missing, []);
  assert.ok(Object.keys(MESSAGES).length >= 2 && MESSAGES.de && MESSAGES.en);
});

test("every text the element uses exists in every language; no language has keys the others lack", () => {
  const source = read("www/softap-setup.js");
  const used = new Set([...source.matchAll(/#(?:t|h|status)\("([\w-]+)"/g)].map((m) => m[1]));
  for (const m of source.matchAll(/\bnote = "([\w-]+)"/g)) used.add(m[1]);
  for (const m of source.matchAll(/STEP_NAMES = \[([^\]]*)\]/g)) for (const k of m[1].matchAll(/"(\w+)"/g)) used.add(k[1]);
  assert.ok(used.size > 40, [...used].join());
  const languages = Object.entries(MESSAGES);
  for (const [lang, texts] of languages) {
    for (const key of used) assert.equal(typeof texts[key], "string", `${lang}.${key}`);
    for (const [other, theirs] of languages) {
      for (const key of Object.keys(texts)) assert.ok(key in theirs, `${lang} has ${key}, ${other} does not`);
    }
  }
});

test("German grammar: the product only through {your}, {yourAcc}, {yourDat} and the pronouns, never after an article of our guessing", () => {
  const known = new Set(["product", "your", "yourAcc", "yourDat", "it", "itAcc", "itDat", "ap", "n", "total", "name", "ssid",
    "bars", "character"]);
  for (const [key, text] of Object.entries(MESSAGES.de)) {
    assert.doesNotMatch(text, /\b(Ihr|Ihre|Ihren|Ihrem|Ihres|Ihrer|der|die|das|den|dem|des|ein|einen|einem|er|ihn|sein|seinem)\s+\{product\}/i, key);
    for (const [, name] of text.matchAll(/\{(\w+)\}/g)) assert.ok(known.has(name), `de.${key}: {${name}}`);
  }
  // Each gender declines; without one, the neuter "Ihr Gerät" is always right.
  assert.equal(productWords("de", "Lumen-Lampe", "f").yourAcc, "Ihre Lumen-Lampe");
  assert.equal(productWords("de", "Strahler", "m").yourAcc, "Ihren Strahler");
  assert.equal(productWords("de", "Lumen lamp").yourDat, "Ihrem Gerät");
  assert.equal(productWords("en", "Lumen lamp").your, "your Lumen lamp");
});

let stack;
let browser;

before(async () => {
  stack = await demoStack(["--http", "127.0.0.1:0", "--tcp", "127.0.0.1:0", "--cloud", "127.0.0.1:0", "--control", "127.0.0.1:0",
    "--backend", "127.0.0.1:0"]);
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  stack?.stop();
});

test("in German, every error code the device page can hand back is shown in German, with the product's grammar", async () => {
  const context = await browser.newContext({ locale: "de-DE" });
  const page = await context.newPage();
  const widget = page.locator("softap-setup");
  const words = { ...productWords("de", "Lumen-Lampe", "f"), ap: "Photon-XXXXXX" };
  const german = (code) => MESSAGES.de[code].replace(/\{(\w+)\}/g, (_, name) => words[name]);
  const seen = [];
  for (const code of coreCodes()) {
    // A query of its own: a new document each time, not a change of fragment.
    await page.goto(`${stack.url}?case=${code}#softap=1&result=error&code=${code}`);
    const alert = widget.getByRole("alert");
    await alert.waitFor();
    const text = await alert.textContent();
    assert.equal(text, german(code), code);
    assert.notEqual(text, MESSAGES.en[code], code);
    assert.doesNotMatch(text, /Something went wrong|Etwas ist schiefgegangen/, code);
    seen.push(code);
    await page.evaluate(() => sessionStorage.clear());
  }
  assert.deepEqual(seen, coreCodes());
  await context.close();
});
