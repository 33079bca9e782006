// The device page generator: from www/device/ (page.js, logic.js, index.html), www/seal.js
// and the texts of www/i18n.js it writes the gzipped page, `pages.json` (what softap-sim
// serves), and `softap_pages.cpp`: a Device OS application page handler (Device OS >= 0.7.0)
// that a maker adds to the product firmware. Prints `device_page_relay_gzip_bytes: N`.
//
//   node scripts/device-page.mjs --allow-origin https://example.com [--allow-origin …]
//     [--setup-url https://example.com/setup] [--product "Lumen lamp"]
//     [--product-in de=Lumen-Lampe,f] [--lang en,de] [--out DIR]      (make device-page)
//
// --allow-origin (required, repeatable): the maker's origins the page may return to; a link
// whose `back` is elsewhere is refused before anything reaches the device. --setup-url: the
// maker's setup page, where a page opened without its link (a reload, Back) sends the customer
// (default: the first origin's /); it must be on one of those origins. --product: the name the
// page calls the device by (never taken from a link); --product-in LANG=NAME[,GENDER] its name
// in one language, with its German gender (m, f, n) for the articles (without one, German says
// "Ihr Gerät"). --lang: the languages shipped (default: every language of www/i18n.js); each
// costs flash.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { minify } from "terser";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
globalThis.navigator ??= { languages: [] }; // www/i18n.js is written for browsers
const { MESSAGES, productWords } = await import(path.join(root, "www/i18n.js"));
const { TEXT_KEYS } = await import(path.join(root, "www/device/texts.js"));

/** The options, checked: `{ out, origins, product, langs }`. Throws with a usage message. */
export function parseArgs(args) {
  const known = ["--out", "--allow-origin", "--setup-url", "--product", "--product-in", "--lang"];
  const values = Object.fromEntries(known.map((k) => [k, []]));
  for (let i = 0; i < args.length; i += 2) {
    if (!known.includes(args[i]) || args[i + 1] === undefined) {
      throw new Error(`${args[i]}: use ${known.join(", ")} (each with a value); the "full" flavour is gone`);
    }
    values[args[i]].push(args[i + 1]);
  }
  if (!values["--allow-origin"].length) {
    throw new Error("--allow-origin is required: the maker's origin(s) the page returns to, like https://example.com");
  }
  const origins = values["--allow-origin"].map((origin) => {
    let url;
    try {
      url = new URL(origin);
    } catch {
      // Reported below.
    }
    if (!url || !["https:", "http:"].includes(url.protocol) || url.origin !== origin.replace(/\/$/, "")) {
      throw new Error(`--allow-origin ${origin}: an origin, like https://example.com or http://127.0.0.1:8080`);
    }
    return url.origin;
  });
  const langs = values["--lang"].length ? values["--lang"].flatMap((l) => l.split(",")) : Object.keys(MESSAGES);
  for (const lang of langs) {
    if (!Object.hasOwn(MESSAGES, lang)) throw new Error(`--lang ${lang}: www/i18n.js has ${Object.keys(MESSAGES).join(", ")}`);
  }
  if (values["--product"].length > 1) throw new Error("--product: one name");
  if (values["--setup-url"].length > 1) throw new Error("--setup-url: one page");
  const home = values["--setup-url"][0] ?? `${origins[0]}/`;
  let homeOrigin;
  try {
    homeOrigin = new URL(home).origin;
  } catch {
    // Reported below.
  }
  if (!origins.includes(homeOrigin)) throw new Error(`--setup-url ${home}: a page on one of the --allow-origin origins`);
  const names = {};
  for (const value of values["--product-in"]) {
    const [, lang, name, gender] = /^([a-z]{2})=([^,]+)(?:,([mfn]))?$/.exec(value) ?? [];
    if (!lang) throw new Error(`--product-in ${value}: LANG=NAME[,GENDER], like de=Lumen-Lampe,f`);
    names[lang] = { name, gender };
  }
  return {
    out: path.resolve(values["--out"][0] || path.join(root, "target/device-page")),
    origins: [...new Set(origins)],
    home,
    product: values["--product"][0] || "device",
    names,
    langs: [...new Set(langs)],
  };
}

// The URLs the page answers: `/` is the system's 301 to `/index`, so typing the device's
// address lands here too; the handoff links to `/setup`.
const PAGE_URLS = ["/index", "/setup"];
// What the handler adds to the firmware's headers: the page is gzipped, and never cached (the
// firmware adds no-store as well; a page a fake device served must not be reused either).
const HEADERS = "Content-Encoding: gzip\r\nCache-Control: no-store\r\n";
const CONFIG_LINE = 'const CONFIG = { origins: [], home: "", texts: { en: {} } };';
/** Text made safe inside HTML, as the page escapes what it fills in. */
const escapeHtml = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The page's script: seal.js, logic.js and page.js as one module, minified. */
async function pageScript({ origins, home = `${origins[0]}/`, product, names = {}, langs }) {
  const read = (file) => readFileSync(path.join(root, "www", file), "utf8");
  // The product's words are settled here, per language, escaped: the texts are HTML (the page
  // fills in only {ssid} and {character}).
  const texts = Object.fromEntries(langs.map((lang) => {
    const words = productWords(lang, names[lang]?.name ?? product, names[lang]?.gender);
    return [lang, Object.fromEntries(TEXT_KEYS.map((key) => {
      const text = MESSAGES[lang][key];
      if (typeof text !== "string") throw new Error(`www/i18n.js: ${lang}.${key} is missing`);
      return [key, text.replace(/\{(\w+)\}/g, (all, name) => (Object.hasOwn(words, name) ? escapeHtml(words[name]) : all))];
    }))];
  }));
  const inline = (source, file) => {
    const code = source.replace(/^import [^;]+;$/gm, "").replace(/^export /gm, "");
    if (/^import /m.test(code)) throw new Error(`${file}: an import was not inlined`);
    return code;
  };
  const page = read("device/page.js");
  if (!page.includes(CONFIG_LINE)) throw new Error("www/device/page.js: the CONFIG line is missing");
  const config = `const CONFIG = ${JSON.stringify({ origins, home, texts })};`;
  const source = [inline(read("seal.js"), "seal.js"), inline(read("device/logic.js"), "logic.js"),
    inline(page, "page.js").replace(CONFIG_LINE, () => config)].join("\n");
  const { code } = await minify(source, { module: true, compress: { passes: 2 }, mangle: true });
  return code;
}

async function pageHtml(options) {
  const script = await pageScript(options);
  const html = readFileSync(path.join(root, "www/device/index.html"), "utf8").replace(/\n\s*/g, "\n")
    .replace('<html lang="en">', () => `<html lang="${options.langs[0]}">`)
    .replace("<title>Setup</title>", () => `<title>${escapeHtml(options.product)}</title>`);
  const tag = '<script type="module" src="./page.js"></script>';
  if (!html.includes(tag)) throw new Error("www/device/index.html: the page.js tag is missing");
  // A function replacement: `$` in the minified code stays as it is.
  return html.replace(tag, () => `<script type="module">${script}</script>`);
}

/** The C++ handler: a URL table over gzipped byte arrays, 4 KB writes, 404 otherwise. */
function cpp(files, entries, origins) {
  const arrays = files.map((file, i) => {
    const hex = Array.from(file.gzipped, (b) => `0x${b.toString(16).padStart(2, "0")}`);
    const lines = [];
    for (let at = 0; at < hex.length; at += 16) lines.push(`    ${hex.slice(at, at + 16).join(", ")},`);
    return `// ${file.name}: ${file.gzipped.length} bytes gzipped\nconst uint8_t asset${i}[] = {\n${lines.join("\n")}\n};`;
  }).join("\n\n");
  const table = entries.map((e) => `    { "${e.url}", "${e.mime}", asset${e.index}, sizeof(asset${e.index}) },`).join("\n");
  return `// Generated by softap-web (node scripts/device-page.mjs). Do not edit: regenerate with
// \`make device-page\` when the page changes. It returns only to ${origins.join(", ")}.
//
// Add this file to the product firmware (Device OS >= 0.7.0) and register the handler:
//
//   void softapWebPages(const char* url, ResponseCallback* cb, void* cbArg, Reader* body,
//                       Writer* result, void* reserved);
//   STARTUP(softap_set_application_page_handler(softapWebPages, nullptr));
//
// The page is served at ${PAGE_URLS.join(" and ")}, whatever query follows (the handoff link
// carries a random one); every other URL the system does not answer gets 404. The page goes
// out gzipped and with Cache-Control: no-store (the firmware adds its own no-store as well).
#include "Particle.h"
#include "softap_http.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

namespace {

${arrays}

struct Asset {
    const char* url;
    const char* mime;
    const uint8_t* data;
    size_t size;
};

const Asset assets[] = {
${table}
};

// Each write becomes one HTTP chunk; 4 KB keeps chunks large and writes modest.
const size_t kWriteSlice = 4096;

} // namespace

void softapWebPages(const char* url, ResponseCallback* cb, void* cbArg, Reader* body,
                    Writer* result, void* reserved) {
    (void)body;
    (void)reserved;
    // Since 0.7.0-rc.7 the URL carries its query: match the path only.
    const size_t length = strcspn(url, "?");
    for (const Asset& asset : assets) {
        if (strlen(asset.url) == length && strncmp(url, asset.url, length) == 0) {
            Header header(${JSON.stringify(HEADERS)});
            cb(cbArg, 0, 200, asset.mime, &header);
            for (size_t at = 0; at < asset.size; at += kWriteSlice) {
                const size_t left = asset.size - at;
                result->write(asset.data + at, left < kWriteSlice ? left : kWriteSlice);
            }
            return;
        }
    }
    cb(cbArg, 0, 404, nullptr, nullptr);
}
`;
}

/** Writes the page into `options.out`; returns its gzipped size. */
export async function generate(options) {
  const { out } = options;
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const files = [{ name: "index.html", mime: "text/html", urls: PAGE_URLS, bytes: Buffer.from(await pageHtml(options)) }];
  const entries = [];
  let total = 0;
  files.forEach((file, index) => {
    file.gzipped = gzipSync(file.bytes, { level: 9 });
    total += file.gzipped.length;
    writeFileSync(path.join(out, `${file.name}.gz`), file.gzipped);
    for (const url of file.urls) entries.push({ url, mime: file.mime, file: `${file.name}.gz`, headers: HEADERS, index });
  });
  writeFileSync(path.join(out, "pages.json"), JSON.stringify(entries.map(({ index, ...e }) => e), null, 2));
  writeFileSync(path.join(out, "softap_pages.cpp"), cpp(files, entries, options.origins));
  const report = files.map((f) => `${f.name}: ${f.bytes.length} bytes, ${f.gzipped.length} gzipped`).join("\n");
  writeFileSync(path.join(out, "sizes.txt"), `${report}\ntotal gzipped (flash): ${total} bytes\n`);
  return total;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  let options;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (error) {
    console.error(`device-page: ${error.message}`);
    process.exit(2);
  }
  console.log(`device_page_relay_gzip_bytes: ${await generate(options)}`);
}
