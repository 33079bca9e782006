// The device page: served by the device itself (scripts/device-page.mjs), so same-origin with
// it in every browser, with no mixed content and no Local Network Access prompt. The maker's
// https page links here with everything in the fragment, which never leaves the browser:
//   /setup?r=<random>#v=1&cc=<claim code>&back=<the maker's page>[&fp=<key fingerprint>]
//     [&lang=de][&ssid=<home network>&sec=<n>[&pwd=<password sealed for the device key>]
//     [&eap=25&ii=<user>[&oi=<outer identity>]]]
// The query is ignored. Every field is checked before the first device request (logic.js,
// readHandoff), `back` against the maker's origins fixed when the page was generated; nothing
// that writes to the device goes out before the customer confirms the network by name. The
// page returns to `back` with #softap=1&result=ok|connecting|error[&code=…][&device=<id>].
import {
  configureBody, deviceClient, fail, isEnterprise, readHandoff, backUrl, returnUrl, securityClass, setBody,
} from "./logic.js";
import { matches } from "../seal.js";

// The maker's origins, its setup page, the product's name and the texts: set by
// scripts/device-page.mjs.
const CONFIG = { origins: [], home: "", texts: { en: {} } };

const fragment = location.hash;
// The claim code and any sealed password leave the address bar and the history at once.
history.replaceState(null, "", location.pathname);
const langs = Object.keys(CONFIG.texts);
let lang = [...(navigator.languages || [])].map((l) => l.slice(0, 2).toLowerCase()).find((l) => CONFIG.texts[l]) || langs[0];
const $ = (id) => document.getElementById(id);
const escape = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
/**
 * A text with its {values} escaped: HTML (the product's words in it were escaped when the page
 * was generated), or plain text for textContent when `text`.
 */
const t = (key, values = {}, text) => {
  const html = (CONFIG.texts[lang][key] ?? CONFIG.texts[langs[0]][key] ?? "")
    .replace(/\{(\w+)\}/g, (_, name) => escape(Object.hasOwn(values, name) ? values[name] : ""));
  return text ? html.replace(/&#(\d+);/g, (_, code) => String.fromCharCode(code)) : html;
};

/** Open as the device configures it (WPS-open too): no password to ask for. A security the
 * device cannot configure asks for one, and is refused when sent. */
const isOpen = (sec) => {
  try {
    return securityClass(sec) === securityClass(0);
  } catch {
    return false;
  }
};

/** `table[code]` when the table has it as its own. */
const own = (table, code) => (typeof code === "string" && Object.hasOwn(table, code) ? table[code] : undefined);

function show(title, body) {
  document.documentElement.lang = lang;
  $("title").textContent = title;
  $("body").innerHTML = body;
  $("title").focus();
}

// What the customer can fix stays on the form, with a message; the rest stops the setup.
const MESSAGES = {
  "unsupported-character": "pageCharacter", "unsupported-security": "pageUnsupported", "firmware-too-old": "pageFirmware",
  "wep-key-format": "pageWepKey", "missing-field": "pageEnterprise", "field-too-long": "pageEnterprise",
  "passphrase-length": "passphrase-length", "password-required": "password-required", "password-not-allowed": "password-required",
  "ssid-length": "pageUnsupported", "network-not-found": "network-not-found", "device-rejected-password": "passphrase-length",
  "device-rejected-ssid": "pageUnsupported", "enterprise-rejected": "pageEnterprise",
};
const FATAL = {
  "handoff-invalid": "handoff-invalid", "fingerprint-mismatch": "fingerprint-mismatch", "device-unreachable": "pageUnreachable",
  timeout: "timeout",
};

const client = deviceClient();
let handoff;
let deviceId;

async function run() {
  handoff = readHandoff(fragment, CONFIG.origins);
  if (CONFIG.texts[handoff.lang]) lang = handoff.lang;
  show(t("pageTalking"), "");
  ({ deviceId: { id: deviceId } } = await client.call("device-id"));
  const { key } = await client.call("public-key");
  // Nothing is sent to a device whose key is not the one the maker recorded.
  if (handoff.fingerprint && !matches(key, handoff.fingerprint)) throw fail("fingerprint-mismatch");
  let problem = "";
  // The list and the customer's choices survive a fixable error: the device scans again only
  // when asked to, or when the chosen network is gone.
  let scan;
  let previous;
  for (;;) {
    if (!handoff.sealed && !scan) scan = await client.call("scan-ap");
    const network = handoff.sealed ? await confirmSealed() : await choose(scan, problem, previous);
    if (!network) {
      scan = previous = undefined;
      problem = "";
      continue;
    }
    previous = network;
    try {
      // Checked and encrypted before the first write: a name the device cannot store, or
      // enterprise settings on firmware that cannot keep them, never leave the page.
      const body = configureBody(network, key, client.firmware());
      show(t("sending"), "");
      await client.call("set", setBody(handoff.claimCode));
      await client.call("configure-ap", body, isEnterprise(network.sealed?.sec ?? network.security));
      const { connecting } = await client.call("connect-ap", '{"idx":0}');
      return rejoin(connecting ? "connecting" : "ok");
    } catch (error) {
      if (!own(MESSAGES, error.code) || handoff.sealed) throw error;
      if (error.code === "network-not-found") scan = undefined;
      // The character the device cannot store, named.
      const [c = ""] = /["\\\0-\x1f]/.exec(network[error.field] ?? "") ?? [];
      problem = t(own(MESSAGES, error.code), { character: `“${c < " " ? `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}` : c}”` }, true);
    }
  }
}

/** Sealed mode: the network the maker's page named, sent only once the customer says so. */
function confirmSealed() {
  const { ssid } = handoff.sealed;
  show(t("sealTitle"), `<p>${t("pageSealed", { ssid })}</p><button id="connect">${t("pageConnectTo", { ssid })}</button>`);
  return new Promise((resolve) => {
    $("connect").onclick = () => resolve({ sealed: handoff.sealed });
  });
}

/**
 * The networks in sight; resolves to the customer's choice (null: search again). `previous`:
 * what the customer chose and typed last time, shown again.
 */
function choose({ networks }, problem, previous) {
  const usable = networks.filter((n) => n.sec !== -1);
  if (!usable.length) {
    show(t("networksTitle"), `<p>${t("pageNone")}</p><button id="rescan">${t("rescan")}</button>`);
    return new Promise((resolve) => { $("rescan").onclick = () => resolve(null); });
  }
  const items = networks.map((n, i) => `<li><label class="network"><input type="radio" name="n" value="${i}"
    ${n.sec === -1 ? "disabled" : ""}><span class="name">${escape(n.ssid)}</span>
    ${n.sec === -1 ? `<small>${t("pageUnknownSecurity")}</small>` : n.doubtful ? `<small>${t("pageUnclear")}</small>` : ""}</label></li>`);
  show(t("networksTitle"), `<form id="form"><ul>${items.join("")}</ul>
    <div class="field" id="eap-field"><label for="eap">${t("eap")}</label><select id="eap">
      <option value="peap">${t("pagePeap")}</option><option value="tls">${t("pageTls")}</option></select></div>
    <div class="field" id="user-field"><label for="user">${t("user")}</label><input id="user" autocomplete="username"></div>
    <div class="field" id="pw"><label for="password">${t("password")}</label><input id="password" type="password" autocomplete="current-password">
    <label><input type="checkbox" id="show"> ${t("showPassword")}</label></div>
    <p class="error" id="error" role="alert"></p><button id="connect"></button>
    <button type="button" id="rescan">${t("rescan")}</button></form>`);
  const form = $("form");
  // The last choice, else the first usable network whose name is clear: a doubtful one (its
  // name may imitate another) is never chosen for the customer.
  const preset = networks.find((n) => n.ssid === previous?.ssid && n.sec === previous.security && n.sec !== -1)
    ?? usable.find((n) => !n.doubtful);
  if (preset) form.querySelectorAll("[name=n]")[networks.indexOf(preset)].checked = true;
  if (previous) {
    $("user").value = previous.innerIdentity ?? "";
    $("password").value = previous.password ?? "";
  }
  const chosen = () => networks[form.querySelector("[name=n]:checked")?.value];
  const update = () => {
    if (!chosen()) {
      for (const id of ["pw", "user-field", "eap-field"]) $(id).hidden = true;
      $("connect").textContent = t("connect", {}, true);
      $("connect").disabled = true;
      return;
    }
    const { ssid, sec } = chosen();
    const enterprise = isEnterprise(sec);
    const tls = enterprise && $("eap").value === "tls";
    $("pw").hidden = tls || isOpen(sec);
    $("user-field").hidden = !enterprise || tls;
    $("eap-field").hidden = !enterprise;
    $("error").textContent = tls ? t("pageTlsDirect", {}, true) : problem;
    // The customer confirms the network by its name.
    $("connect").textContent = t("pageConnectTo", { ssid }, true);
    $("connect").disabled = tls;
  };
  form.onchange = update;
  $("show").onchange = () => { $("password").type = $("show").checked ? "text" : "password"; };
  update();
  return new Promise((resolve) => {
    $("rescan").onclick = () => resolve(null);
    form.onsubmit = (event) => {
      event.preventDefault();
      const { ssid, sec, channel } = chosen();
      const network = { ssid, security: sec, password: $("pw").hidden ? undefined : $("password").value };
      if (channel) network.channel = channel;
      if (isEnterprise(sec)) Object.assign(network, { eap: "peap", innerIdentity: $("user").value });
      resolve(network);
    };
  });
}

/** Done here: the customer rejoins their Wi-Fi, and the page goes back by itself once it can. */
async function rejoin(result) {
  const back = returnUrl({ back: handoff.back, result, deviceId });
  show(t("rejoinTitle"), `<p>${t("rejoinText")}</p><a class="button" id="continue" href="${escape(back)}">${t("continue")}</a>`);
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 2000));
    try {
      await fetch(handoff.back, { mode: "no-cors", cache: "no-store" });
      location.replace(back);
      return;
    } catch {
      // Still on the device's network (or between networks).
    }
  }
}

run().catch((error) => {
  // Only our own codes: a DOMException's numeric code is none of them.
  const code = typeof error.code === "string" ? error.code : "device-error";
  // A way back only to an origin the page was generated for.
  const back = handoff?.back ?? backUrl(new URLSearchParams(fragment.slice(1)).get("back"), CONFIG.origins);
  // Without a link (a reload, Back, a bookmark) or with a foreign one: the maker's setup page,
  // which knows from its own storage where the customer is.
  const link = back ? `<a class="button" id="back" href="${escape(returnUrl({ back, result: "error", code, deviceId }))}">${t("pageBack")}</a>`
    : `<a class="button" id="home" href="${escape(CONFIG.home)}">${t("pageBack")}</a>`;
  const lost = !fragment.replace(/^#/, "");
  show(t("pageStopped"), `<p class="error" role="alert">${t(lost ? "pageLost" : own(FATAL, code) ?? own(MESSAGES, code) ?? "device-error")}</p>${link}`);
});
