// <softap-setup>: the whole setup of a Photon-based product as a themeable element, built
// only on softap-web's public JS API (SoftAP, Cloud, SetupFlow) and handoff.js.
//
// Attributes (or the same keys in camelCase in the `config` attribute or property, as JSON;
// attributes win):
//   product-name, ap-prefix ("Photon"), device-url ("http://192.168.0.1"), api-url,
//   product-id, expected-fingerprint, devices (claim codes fetched ahead), lang, logo,
//   help-url, terms-url, module-url (where softap_web.js is; by default beside this file, as
//   in pkg/), target-address-space ("local" for a device address the library cannot tell is
//   local), device-wait-ms (how long to look for the device), mode ("auto", "direct" or
//   "handoff"), device-page ("/setup"), cloud-wait-ms (how long to wait for the device online),
//   ask-light-after-ms (60000: when to ask what the device's light does, if it is not online
//   yet), done-url (a finish link on the last screen), device-name (from a QR label).
// The maker's service (softap-maker, or your own with the same answers). Every call carries
// the maker's session, when the page gives one, as `Authorization: Bearer`:
//   token-url         POST, no body → { access_token, expires_in }: the customer's token
//   key-url           GET ?device=<name or id> → { publicKey } (sealed mode)
//   installation-url  POST {installation-url}/devices { deviceId, name } after each setup
//   release-url       POST, "{device}" replaced by the id: release a device another account
//                     owns → { status }, or 403 release-refused
// The session: `element.session = "<token>"`, or a function returning it (or a promise of it),
// asked before every call, so a page with short-lived sessions hands over a fresh one.
// Also `config.messages` (texts by language; `product` and `productGender` name the product per
// language) and `config.theme` (custom properties without their prefix: { accent: "#8a3b12" }).
// Theme: --softap-accent, --softap-background, --softap-text, --softap-muted, --softap-radius,
// --softap-font. Events: softap-progress, softap-done, softap-error, softap-next. Methods:
// startOver() forgets the setup in progress and shows the first screen.
//
// The setup survives a reload and Back/Forward: the screen reached, the device id, the
// installation and the chosen network's name live in sessionStorage (never a password, a token
// or a claim code); after a reload the cloud is asked about the device before anything else.
import { MESSAGES, pickLanguage, productWords } from "./i18n.js";

const STYLE = `
[hidden] { display: none !important; }
:host { display: block; box-sizing: border-box; font: 16px/1.5 var(--softap-font, system-ui, sans-serif);
  color: var(--softap-text, #1d2330); background: var(--softap-background, #fff);
  border-radius: var(--softap-radius, 12px); padding: 1.25rem; max-width: 32rem; min-width: 0; }
@media (max-width: 26rem) { :host { padding: 1rem; } }
* { box-sizing: border-box; }
h2 { font-size: 1.25rem; margin: 0 0 .75rem; outline: none; }
p { margin: .5rem 0; }
.muted { color: var(--softap-muted, #4a5263); }
button, a.button { font: inherit; border: 0; border-radius: var(--softap-radius, 12px); padding: .6rem 1.1rem;
  min-height: 44px; min-width: 44px; background: var(--softap-accent, #0b5cad); color: #fff; cursor: pointer;
  margin: .5rem .5rem 0 0; display: inline-flex; align-items: center; justify-content: center; text-decoration: none; }
button.secondary { background: transparent; color: var(--softap-accent, #0b5cad); border: 2px solid currentColor; }
button:disabled { opacity: .6; cursor: default; }
button:focus-visible, a:focus-visible, input:focus-visible, select:focus-visible, textarea:focus-visible,
summary:focus-visible, label.network:focus-within { outline: 3px solid var(--softap-accent, #0b5cad); outline-offset: 2px; }
ul { list-style: none; padding: 0; margin: .5rem 0; }
label.network { display: flex; gap: .5rem; align-items: center; padding: .5rem; min-height: 44px; border-radius: 8px; }
label.network:hover { background: rgba(0,0,0,.05); }
label.check { display: inline-flex; gap: .5rem; align-items: center; min-height: 44px; }
.bars { margin-left: auto; letter-spacing: -2px; font-family: monospace; }
.field { display: grid; gap: .25rem; margin: .6rem 0; }
input, select, textarea { font: inherit; padding: .5rem; min-height: 44px; border: 1px solid #8a93a6; border-radius: 8px;
  width: 100%; background: #fff; color: #1d2330; }
input[type=radio], input[type=checkbox] { width: 22px; height: 22px; min-height: 0; margin: 0; flex: none; }
fieldset { border: 0; padding: 0; margin: 0; min-width: 0; }
textarea { min-height: 5rem; font-family: monospace; font-size: .8rem; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
.ssid { flex: 1; overflow-wrap: anywhere; }
.lock { width: .9em; height: .9em; vertical-align: -.1em; }
.error { color: #a4161a; font-weight: 600; }
.error:empty { display: none; }
.status { min-height: 1.5em; }
.logo { display: block; max-height: 3rem; max-width: 60%; margin: 0 0 .75rem; }
footer { margin-top: 1rem; font-size: .875rem; }
footer a { color: var(--softap-accent, #0b5cad); margin-right: .5rem; padding: 0 .5rem; display: inline-flex; align-items: center;
  justify-content: center; min-height: 44px; min-width: 44px; }
.steps { display: flex; gap: .35rem; margin: 0 0 .25rem; padding: 0; list-style: none; }
.steps li { flex: 1; height: 6px; border-radius: 3px; background: #c9ced8; }
.steps li.done, .steps li.current { background: var(--softap-accent, #0b5cad); }
.steps li.current { opacity: .55; }
.step { font-size: .875rem; margin: 0 0 .5rem; }
.spinner { display: inline-block; width: 1em; height: 1em; margin-right: .5em; vertical-align: -.15em;
  border: 2px solid currentColor; border-right-color: transparent; border-radius: 50%; animation: spin 1s linear infinite; }
@keyframes spin { to { transform: rotate(360deg); } }
@media (prefers-reduced-motion: reduce) { .spinner { animation-duration: 4s; } }
.light { margin-top: 1rem; }
.light button { width: 100%; justify-content: flex-start; gap: .6rem; }
.dot { width: 14px; height: 14px; border-radius: 50%; flex: none; border: 2px solid #fff; }
.blue { background: #1e5bd8; } .green { background: #1f9d3a; } .cyan { background: #18b7c9; }
details { margin-top: 1rem; }
summary { cursor: pointer; padding: .7rem 0; }
code { overflow-wrap: anywhere; }
`;

const ENTERPRISE = 0x02000000;
/** sessionStorage key: what survives a reload and the trip to the device page (no secrets). */
const STORE = "softap-setup";
/** The only keys ever written there. */
const KEPT = ["step", "path", "deviceId", "installation", "name", "ssid", "deviceName", "setUp"];
/** The steps the indicator shows, by screen. */
const STEPS = { join: 1, handoff: 1, seal: 1, scanning: 2, networks: 2, rejoin: 3, claimed: 3, name: 4 };
const STEP_NAMES = ["stepConnect", "stepNetwork", "stepOnline", "stepName"];
/** How far the setup has come, in order: Back and Forward never go behind what the device did. */
const ORDER = ["intro", "handoff", "join", "networks", "rejoin", "claimed", "name", "done"];
const LOCK = `<svg class="lock" viewBox="0 0 16 16" aria-hidden="true"><path fill="currentColor"
  d="M4 7V5a4 4 0 0 1 8 0v2h1v8H3V7zm2 0h4V5a2 2 0 0 0-4 0z"/></svg> `;
const SPINNER = '<span class="spinner" aria-hidden="true"></span>';

/** A text of `table` under `key`, if it has one of its own ("constructor" is no text). */
function own(table, key) {
  return table && Object.hasOwn(table, key) && typeof table[key] === "string" ? table[key] : undefined;
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

function bars(rssi) {
  return rssi >= -55 ? 4 : rssi >= -67 ? 3 : rssi >= -78 ? 2 : 1;
}

/** An error with a code, as the library's are. */
function coded(code, step) {
  return Object.assign(new Error(code), { code, step });
}

/** The name Particle keeps: letters, digits, - and _ (the customer's name stays with the maker). */
function particleName(name) {
  const out = name.replace(/[^A-Za-z0-9-]+/g, "_").replace(/^_+|_+$/g, "").slice(0, 40);
  return out || "device";
}

const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export class SoftApSetupElement extends HTMLElement {
  #api;
  #handoffApi;
  #flow;
  #custom = {};
  #config = {};
  #session;
  /** The customer token of this visit (never stored). */
  #accessToken;
  #networks = [];
  /** The customer's choices on the network form (never the password or the private key). */
  #choice = {};
  /** What sessionStorage keeps. */
  #state = {};
  /** The furthest screen of the device at hand (ORDER). */
  #progress = "intro";
  #screen;
  #retryTo;
  /** Bumped for every new device and every start over: results of older waits are dropped. */
  #epoch = 0;
  /** The handoff path's claim code for the device at hand (never stored). */
  #claimCode;
  #sealPath;
  /** The handoff screen with its link, for Back and Forward (in memory only: the link holds the claim code). */
  #handoffHtml;
  /** Stops the cloud wait of the handoff path (or of a resumed setup). */
  #cloudAbort;
  #lightTimer;
  /** The light question is on screen; and what the customer answered last. */
  #light = { asked: false, note: "" };
  /** A note above the network form (the password was wrong). */
  #formNote = "";

  constructor() {
    super();
    this.attachShadow({ mode: "open" });
  }

  static observedAttributes = ["config"];

  /** Maker overrides: `{ en: { title: "…" }, de: { product: "Lumen-Lampe", productGender: "f" } }`. */
  set messages(value) {
    this.#custom = value || {};
    this.#redraw();
  }

  /** The maker's settings as one object (see the top of this file). */
  set config(value) {
    this.#config = value || {};
    if (this.#config.messages) this.#custom = this.#config.messages;
    for (const [name, v] of Object.entries(this.#config.theme || {})) this.style.setProperty(`--softap-${name}`, v);
    this.#redraw();
  }

  get config() {
    return this.#config;
  }

  /** The maker's session for its own service: a token, or a function returning one. */
  set session(value) {
    this.#session = value;
  }

  get session() {
    return this.#session;
  }

  attributeChangedCallback(name, _, value) {
    try {
      this.config = value ? JSON.parse(value) : {};
    } catch {
      // A page's typo must not take the setup down: keep the defaults, say why once.
      console.warn("<softap-setup>: the config attribute is not JSON");
    }
  }

  /** Screens drawn from data take new texts when next drawn; forms are left alone. */
  #redraw() {
    if (this.isConnected && ["intro", "done", "claimed"].includes(this.#screen)) this.#show(this.#screen, { history: "none" });
  }

  /** An attribute, else the config key of the same name in camelCase. */
  #opt(name) {
    const key = name.replace(/-(\w)/g, (_, c) => c.toUpperCase());
    const value = this.getAttribute(name) ?? this.#config[key];
    return value == null || value === "" ? undefined : String(value);
  }

  get #lang() {
    return pickLanguage(this.#opt("lang"), Object.keys(MESSAGES));
  }

  /** The product's name in this page's language. */
  get #product() {
    const lang = this.#lang;
    return this.#custom[lang]?.product ?? this.#opt("product-name") ?? (lang === "de" ? "Gerät" : "device");
  }

  /** A text as HTML: the texts are ours or the maker's, every value in them escaped. */
  #t(key, extra = {}) {
    const lang = this.#lang;
    const custom = this.#custom[lang] || {};
    const text = own(custom, key) ?? own(MESSAGES[lang], key) ?? own(MESSAGES.en, key) ?? escapeHtml(key);
    const values = {
      ...productWords(lang, this.#product, custom.productGender),
      ap: `${this.#opt("ap-prefix") || "Photon"}-XXXXXX`,
      ...extra,
    };
    return text.replace(/\{(\w+)\}/g, (_, n) => escapeHtml((Object.hasOwn(values, n) ? values[n] : "") ?? ""));
  }

  connectedCallback() {
    addEventListener("popstate", this.#onPopState);
    this.#state = this.#restore();
    // A setup that ended is shown again on a reload or Back; a new visit starts anew.
    const visit = performance.getEntriesByType?.("navigation")?.[0]?.type;
    if (this.#state.step === "done" && visit === "navigate") this.#state = { installation: this.#state.installation };
    // Back from the device page: its result is in the fragment, read by the library.
    if (/(^#|&)softap=/.test(location.hash)) return this.#returned();
    if (this.#state.step && this.#state.step !== "intro") return this.#resume();
    this.#show("intro", { history: "replace" });
  }

  disconnectedCallback() {
    removeEventListener("popstate", this.#onPopState);
    this.#stopWaits();
    this.#flow?.cancel();
  }

  /** Forgets the setup in progress (nothing is sent anywhere) and shows the first screen. */
  startOver() {
    this.#epoch++;
    this.#stopWaits();
    this.#flow?.cancel();
    this.#flow = undefined;
    this.#networks = [];
    this.#choice = {};
    this.#formNote = "";
    this.#claimCode = undefined;
    this.#handoffHtml = undefined;
    this.#state = {};
    this.#progress = "intro";
    try {
      sessionStorage.removeItem(STORE);
    } catch {
      // Storage off: nothing was kept.
    }
    this.#show("intro", { history: "replace" });
  }

  // --- what survives a reload (never a secret) ---

  #restore() {
    try {
      const kept = JSON.parse(sessionStorage.getItem(STORE) || "{}");
      return kept && typeof kept === "object" ? kept : {};
    } catch {
      return {};
    }
  }

  #save(patch) {
    Object.assign(this.#state, patch);
    const kept = Object.fromEntries(KEPT.filter((k) => this.#state[k] !== undefined).map((k) => [k, this.#state[k]]));
    try {
      sessionStorage.setItem(STORE, JSON.stringify(kept));
    } catch {
      // Storage off (a private window of an old Safari): the setup still works, without reloads.
    }
  }

  get #setUp() {
    return Array.isArray(this.#state.setUp) ? this.#state.setUp : [];
  }

  /** The maker's installation the devices go into (kept across reloads). */
  get #installation() {
    return this.#opt("installation-url") ?? this.#state.installation;
  }

  get #deviceId() {
    return this.#state.deviceId;
  }

  // --- screens ---

  /** Shows a screen; Back and Forward move between the screens shown (history entries). */
  #show(screen, { body, history: entry = "push" } = {}) {
    this.#screen = screen;
    const html = body ?? this.#body(screen);
    const logo = this.#opt("logo");
    const links = [["help-url", "help"], ["terms-url", "terms"]]
      .filter(([name]) => this.#opt(name))
      .map(([name, key]) => `<a href="${escapeHtml(this.#opt(name))}" target="_blank" rel="noopener">${this.#t(key)}</a>`)
      .join("");
    const step = STEPS[screen];
    const steps = step
      ? `<ol class="steps" aria-hidden="true">${STEP_NAMES.map((_, i) => `<li class="${i + 1 < step ? "done" : i + 1 === step ? "current" : ""}"></li>`).join("")}</ol>
        <p class="step muted" id="step">${this.#t("stepOf", { n: step, total: STEP_NAMES.length })} · ${this.#t(STEP_NAMES[step - 1])}</p>`
      : "";
    this.shadowRoot.innerHTML = `<style>${STYLE}</style>${
      logo ? `<img class="logo" src="${escapeHtml(logo)}" alt="${this.#t("logoAlt")}">` : ""}${steps}<section aria-live="polite">${
      html}</section>${links ? `<footer>${links}</footer>` : ""}`;
    this.shadowRoot.querySelector("h2")?.focus();
    this.#wire(screen);
    if (!ORDER.includes(screen) || entry === "none") return;
    if (entry === "replace") history.replaceState({ ...history.state, softap: screen }, "");
    else if (history.state?.softap !== screen) history.pushState({ softap: screen }, "");
  }

  #h(key, extra) {
    return `<h2 tabindex="-1">${this.#t(key, extra)}</h2>`;
  }

  #status(key, extra) {
    return `<p class="status" role="status">${SPINNER}${this.#t(key, extra)}</p>`;
  }

  #body(screen) {
    switch (screen) {
      case "intro":
        return `${this.#h("title")}<p class="muted">${this.#t("intro")}</p><button id="start">${this.#t("start")}</button>`;
      case "preparing":
        return `${this.#h("title")}${this.#status("preparing")}`;
      case "resuming":
        return `${this.#h("title")}${this.#status("resuming")}`;
      case "join":
        return `${this.#h("joinTitle")}${this.#formNote ? `<p class="error" role="alert">${this.#formNote}</p>` : ""}
          <p>${this.#t("joinText")}</p>${this.#status("joinWaiting")}`;
      case "scanning":
        return `${this.#h("networksTitle")}${this.#status("scanning")}`;
      case "networks":
        return this.#networksBody();
      case "rejoin":
        return this.#rejoinBody();
      case "name":
        return this.#nameBody();
      case "done":
        return this.#doneBody();
      case "claimed":
        return this.#claimedBody();
      default:
        return "";
    }
  }

  #networksBody() {
    // After a reload only the network's name is known (sessionStorage).
    const c = this.#choice.key ? this.#choice : { key: "list", ssid: this.#state.ssid };
    const index = this.#networks.findIndex((n) => n.ssid === c.ssid && c.key !== "other");
    // A network of unknown security (-1) cannot be configured: listed, not chosen. A doubtful
    // entry (its name may be crafted to look like others) is listed after the clean ones,
    // marked, and never chosen for the customer.
    const kept = index >= 0 && this.#networks[index].sec !== -1 ? index : -1;
    const first = this.#networks.findIndex((n) => n.sec !== -1 && !n.doubtful);
    const other = c.key === "other" || (kept < 0 && first < 0);
    const chosen = other ? -1 : kept >= 0 ? kept : first;
    const items = this.#networks.map((n, i) => {
      const lock = n.sec !== 0;
      const kind = n.sec === -1 ? this.#t("pageUnknownSecurity") : lock ? LOCK + this.#t("secured") : this.#t("open");
      return `<li><label class="network"><input type="radio" name="network" value="${i}" ${i === chosen ? "checked" : ""} ${n.sec === -1 ? "disabled" : ""}>
        <span class="ssid">${escapeHtml(n.ssid)}</span><span class="muted">${kind}${n.doubtful ? ` · ${this.#t("pageUnclear")}` : ""}</span>
        <span class="bars" aria-label="${this.#t("signal", { bars: bars(n.rssi) })}">${"▮".repeat(bars(n.rssi))}${"▯".repeat(4 - bars(n.rssi))}</span></label></li>`;
    }).join("");
    const selected = (value, current) => (value === current ? "selected" : "");
    const security = c.security || "wpa2";
    const eap = c.eap || "peap";
    return `${this.#h("networksTitle")}
      <form id="network-form" novalidate><fieldset id="network-fields">
        <fieldset><legend class="visually-hidden">${this.#t("networksTitle")}</legend>
        <ul>${items}<li><label class="network"><input type="radio" name="network" value="other" ${other ? "checked" : ""}>
          <span class="ssid">${this.#t("otherNetwork")}</span></label></li></ul></fieldset>
        <div id="other" hidden>
          <div class="field"><label for="ssid">${this.#t("networkName")}</label><input id="ssid" autocomplete="off" value="${escapeHtml(c.key === "other" ? c.ssid ?? "" : "")}"></div>
          <div class="field"><label for="security">${this.#t("security")}</label>
            <select id="security"><option value="wpa2" ${selected("wpa2", security)}>WPA2</option><option value="wpa" ${selected("wpa", security)}>WPA</option>
            <option value="open" ${selected("open", security)}>${this.#t("open")}</option><option value="wep_psk" ${selected("wep_psk", security)}>WEP</option>
            <option value="wpa2_enterprise" ${selected("wpa2_enterprise", security)}>WPA2-Enterprise</option></select></div>
        </div>
        <div id="enterprise" hidden>
          <div class="field"><label for="eap">${this.#t("eap")}</label>
            <select id="eap"><option value="peap" ${selected("peap", eap)}>PEAP</option><option value="tls" ${selected("tls", eap)}>EAP-TLS</option></select></div>
          <div class="field" id="user-field"><label for="user">${this.#t("user")}</label><input id="user" autocomplete="username" value="${escapeHtml(c.user ?? "")}"></div>
          <div class="field"><label for="outer">${this.#t("outerIdentity")}</label><input id="outer" value="${escapeHtml(c.outer ?? "")}"></div>
          <div class="field" id="cert-field" hidden><label for="cert">${this.#t("certificate")}</label><textarea id="cert">${escapeHtml(c.cert ?? "")}</textarea></div>
          <div class="field" id="key-field" hidden><label for="key">${this.#t("privateKey")}</label><textarea id="key"></textarea></div>
        </div>
        <div class="field" id="password-field"><label for="password">${this.#t("password")}</label>
          <input id="password" type="password" autocomplete="current-password">
          <label class="check"><input id="show" type="checkbox"> ${this.#t("showPassword")}</label></div>
        <p class="error" id="form-error" role="alert">${this.#formNote}</p>
        <button type="submit" id="connect">${this.#t("connect")}</button>
        <button type="button" class="secondary" id="rescan">${this.#t("rescan")}</button>
      </fieldset><p class="status" role="status" id="form-status"></p></form>`;
  }

  #rejoinBody() {
    const light = this.#light;
    return `${this.#h("rejoinTitle")}<p>${this.#t("rejoinText")}</p>${this.#status("waitingCloud")}
      <div class="light" id="light" ${light.asked ? "" : "hidden"}>
        <p><strong>${this.#t("lightQuestion")}</strong></p>
        <button class="secondary" id="light-blue"><span class="dot blue" aria-hidden="true"></span>${this.#t("lightBlue")}</button>
        <button class="secondary" id="light-green"><span class="dot green" aria-hidden="true"></span>${this.#t("lightGreen")}</button>
        <button class="secondary" id="light-cyan"><span class="dot cyan" aria-hidden="true"></span>${this.#t("lightCyan")}</button>
        <p class="muted" id="light-note" role="status">${light.note ? this.#t(light.note) : ""}</p>
      </div>`;
  }

  #nameBody() {
    const suggested = escapeHtml(this.#state.name ?? (this.#setUp.length ? `${this.#product} ${this.#setUp.length + 1}` : this.#product));
    return `${this.#h("nameTitle")}<p>${this.#t("nameText")}</p>
      <form id="name-form" novalidate><fieldset id="name-fields">
        <div class="field"><label for="device-label">${this.#t("nameLabel")}</label>
        <input id="device-label" autocomplete="off" maxlength="100" value="${suggested}"></div>
        <p class="error" id="form-error" role="alert"></p>
        <button type="submit" id="save-name">${this.#t("nameSave")}</button>
      </fieldset><p class="status" role="status" id="form-status"></p></form>`;
  }

  #doneBody() {
    const last = this.#setUp.at(-1);
    const doneUrl = this.#opt("done-url");
    const list = this.#setUp.length > 1
      ? `<p class="muted">${this.#t("doneList")}</p><ul id="set-up">${this.#setUp.map((d) => `<li>${escapeHtml(d.name)}</li>`).join("")}</ul>`
      : "";
    return `${this.#h("doneTitle")}<p id="done-name">${this.#t("doneText", { name: last?.name ?? this.#product })}</p>${list}
      <button id="next" class="${doneUrl ? "secondary" : ""}">${this.#t("next")}</button>${
      doneUrl ? `<a class="button" id="finish" href="${escapeHtml(doneUrl)}">${this.#t("finish")}</a>` : ""}
      <details><summary>${this.#t("details")}</summary>${this.#setUp.map((d) =>
        `<p>${escapeHtml(d.name)} · ${this.#t("deviceIdLabel")}: <code>${escapeHtml(d.id)}</code></p>`).join("")}</details>`;
  }

  #claimedBody(note = "") {
    const release = this.#opt("release-url") && !note;
    return `${this.#h("claimedTitle")}<p>${this.#t("claimed-by-another")}</p>
      ${note ? `<p class="error" role="alert">${this.#t(note)}</p>` : ""}
      ${note ? "" : `<p class="muted">${this.#t("releaseHow")}</p>`}
      ${release ? `<button id="release">${this.#t("release")}</button>` : ""}
      <button id="retry" class="${release ? "secondary" : ""}">${this.#t("retry")}</button>
      <p class="status" role="status" id="form-status"></p>`;
  }

  #wire(screen) {
    const $ = (id) => this.shadowRoot.getElementById(id);
    if (screen === "intro") $("start").onclick = () => this.#begin();
    if (screen === "done") {
      $("next").onclick = () => this.#next();
    }
    if (screen === "networks") this.#wireNetworks($);
    if (screen === "error") $("retry").onclick = () => this.#retry();
    if (screen === "seal") {
      const form = $("seal-form");
      const update = () => { if ($("security")) $("password-field").hidden = $("security").value === "open"; };
      form.onchange = update;
      update();
      if ($("show")) $("show").onchange = () => { $("password").type = $("show").checked ? "text" : "password"; };
      form.onsubmit = (event) => { event.preventDefault(); this.#sealed(form).catch((error) => this.#fail(error, "intro")); };
    }
    if (screen === "rejoin") {
      $("light-blue").onclick = () => this.#lightBlue();
      $("light-green").onclick = () => this.#lightGreen();
      $("light-cyan").onclick = () => this.#lightCyan();
    }
    if (screen === "name") {
      $("name-form").onsubmit = (event) => { event.preventDefault(); this.#saveName(); };
    }
    if (screen === "claimed") {
      if ($("release")) $("release").onclick = () => this.#release();
      $("retry").onclick = () => this.#waitAgain();
    }
  }

  #wireNetworks($) {
    const form = $("network-form");
    const update = () => {
      const choice = form.querySelector("input[name=network]:checked")?.value;
      const other = choice === "other";
      $("other").hidden = !other;
      const chosen = other ? null : this.#networks[Number(choice)];
      const enterprise = other ? $("security").value.includes("enterprise") : (chosen.sec & ENTERPRISE) !== 0;
      const open = other ? $("security").value === "open" : chosen.sec === 0;
      const tls = enterprise && $("eap").value === "tls";
      $("enterprise").hidden = !enterprise;
      $("cert-field").hidden = $("key-field").hidden = !tls;
      $("user-field").hidden = tls;
      $("password-field").hidden = open || tls;
      // The choices survive every error, retry and new search (never the password or key).
      this.#choice = {
        key: other ? "other" : "list",
        ssid: other ? $("ssid").value : chosen.ssid,
        security: $("security").value,
        eap: $("eap").value,
        user: $("user").value,
        outer: $("outer").value,
        cert: $("cert").value,
      };
    };
    form.onchange = update;
    form.oninput = update;
    update();
    $("show").onchange = () => { $("password").type = $("show").checked ? "text" : "password"; };
    $("rescan").onclick = () => this.#scan();
    form.onsubmit = (event) => { event.preventDefault(); this.#configure(form); };
  }

  #emit(name, detail) {
    this.dispatchEvent(new CustomEvent(name, { detail, bubbles: true, composed: true }));
  }

  // --- Back and Forward ---

  #onPopState = (event) => {
    const target = event.state?.softap;
    if (!target || !this.isConnected) return;
    // Once the device took a network, the setup stays where it is: nothing behind it can be
    // done again, and nothing is lost.
    if (ORDER.indexOf(this.#progress) >= ORDER.indexOf("rejoin")) return this.#show(this.#progress, { history: "none" });
    if (target === "handoff" && this.#handoffHtml) return this.#show("handoff", { body: this.#handoffHtml, history: "none" });
    if (target === "intro" || target === "handoff") return this.#show("intro", { history: "none" });
    if (this.#networks.length && this.#flow) return this.#show("networks", { history: "none" });
    if (this.#flow) return this.#show("join", { history: "none" });
    this.#show("intro", { history: "none" });
  };

  // --- the library and the maker's service ---

  /** The library and its handoff module, which ships beside it (pkg/). */
  async #load() {
    if (this.#api) return this.#api;
    // By default the package beside this file: pkg/ ships both.
    const url = new URL(this.#opt("module-url") || "./softap_web.js", this.#opt("module-url") ? document.baseURI : import.meta.url);
    const [api, handoff] = await Promise.all([import(url.href), import(new URL("./handoff.js", url).href)]);
    await api.default();
    this.#handoffApi = handoff;
    this.#api = api;
    return api;
  }

  /** A call to the maker's service, with the maker's session as the Bearer token. */
  async #maker(url, { method = "GET", body } = {}) {
    const headers = {};
    let session = this.#session;
    try {
      if (typeof session === "function") session = await session();
    } catch {
      // The page could not get its session (offline): no answer without it either.
      throw coded("cloud-unreachable", "preparing");
    }
    if (session) headers.Authorization = `Bearer ${session}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(new URL(url, document.baseURI), {
        method, headers, cache: "no-store", body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch {
      throw coded("cloud-unreachable", "preparing");
    }
    let json = null;
    try {
      json = await response.json();
    } catch {
      // No JSON (204, or an error page).
    }
    // The maker's login has ended: the customer signs in again.
    if (response.status === 401) throw coded(json?.error?.code === "token-expired" ? "token-expired" : "token-invalid", "preparing");
    return { status: response.status, ok: response.ok, json, code: json?.error?.code };
  }

  /** A customer token from the maker's service (token-url), or the one given. */
  async #token() {
    const tokenUrl = this.#opt("token-url");
    if (!tokenUrl) return (this.#accessToken = this.#opt("access-token"));
    const answer = await this.#maker(tokenUrl, { method: "POST" });
    // The maker's service refused (the customer's session with the maker has ended).
    if (!answer.json?.access_token) throw coded("token-invalid", "preparing");
    this.#accessToken = answer.json.access_token;
    return this.#accessToken;
  }

  #cloud() {
    return new this.#api.Cloud({ apiUrl: this.#opt("api-url"), accessToken: this.#accessToken, productId: this.#opt("product-id") });
  }

  // --- starting ---

  /** Start, or go on where the setup is when Back led to the first screen. */
  #begin() {
    const reached = ORDER.indexOf(this.#progress);
    if (this.#progress === "handoff" && this.#handoffHtml) return this.#show("handoff", { body: this.#handoffHtml });
    if (reached > 0 && this.#progress !== "handoff") return this.#show(this.#flow && this.#networks.length && reached < 4 ? "networks" : this.#progress);
    this.#start();
  }

  async #start() {
    const epoch = this.#epoch;
    this.#show("preparing", { history: "none" });
    try {
      const api = await this.#load();
      const token = await this.#token();
      if (epoch !== this.#epoch) return;
      const mode = this.#state.path || this.#opt("mode") || "auto";
      const path = mode === "auto" ? await this.#handoffApi.choosePath(this.#opt("device-url") || "http://192.168.0.1") : mode;
      this.#save({ path, installation: this.#installation });
      if (path === "handoff") return await this.#handoff(api);
      // With the maker's key records, the device's key is checked against them on every path.
      if (this.#opt("key-url")) return this.#show("seal", { body: this.#sealBody("direct") });
      await this.#direct(api, token);
    } catch (error) {
      if (epoch === this.#epoch) this.#fail(error, "intro");
    }
  }

  /** The direct path: this page calls the device. */
  async #direct(api, token, expectedFingerprint = this.#opt("expected-fingerprint")) {
    const device = new api.SoftAP({ baseUrl: this.#opt("device-url"), targetAddressSpace: this.#opt("target-address-space") });
    const cloud = token ? new api.Cloud({ apiUrl: this.#opt("api-url"), accessToken: token, productId: this.#opt("product-id") }) : undefined;
    this.#flow?.cancel();
    this.#flow = new api.SetupFlow({ device, cloud, expectedFingerprint, onProgress: (event) => this.#emit("softap-progress", event) });
    // Everything from the cloud is fetched now, while there is internet.
    await this.#flow.prepare({ devices: Number(this.#opt("devices") || 1) });
    this.#join();
  }

  async #join() {
    const epoch = this.#epoch;
    this.#progress = "join";
    this.#save({ step: "join" });
    this.#show("join");
    try {
      const timeoutMs = Number(this.#opt("device-wait-ms")) || undefined;
      const { id } = await this.#flow.waitForDevice({ timeoutMs });
      if (epoch !== this.#epoch || this.#progress !== "join") return;
      const again = this.#deviceId === id.toLowerCase() && this.#networks.length;
      this.#save({ deviceId: id.toLowerCase() });
      this.shadowRoot.querySelector(".status").innerHTML = this.#t("found");
      // The same device again (a wrong password): its list is known, the choice kept.
      if (again) return this.#showNetworks();
      await this.#scan();
    } catch (error) {
      if (epoch === this.#epoch && this.#progress === "join") this.#fail(error, "join");
    }
  }

  async #scan() {
    const epoch = this.#epoch;
    this.#show("scanning", { history: "none" });
    try {
      this.#networks = await this.#flow.scan();
      if (epoch === this.#epoch) this.#showNetworks();
    } catch (error) {
      if (epoch === this.#epoch) this.#fail(error, "join");
    }
  }

  #showNetworks() {
    this.#progress = "networks";
    this.#save({ step: "networks" });
    this.#show("networks", { history: history.state?.softap === "join" ? "replace" : "push" });
  }

  /** The network as the form has it; the choice is kept for any error to come. */
  #network(form) {
    const $ = (id) => this.shadowRoot.getElementById(id);
    const choice = form.querySelector("input[name=network]:checked")?.value;
    const chosen = choice === "other" ? null : this.#networks[Number(choice)];
    const network = chosen
      ? { ssid: chosen.ssid, security: chosen.sec, channel: chosen.channel }
      : { ssid: $("ssid").value, security: $("security").value };
    if (!$("password-field").hidden) network.password = $("password").value;
    if (!$("enterprise").hidden) {
      network.eap = $("eap").value;
      if (network.eap === "tls") {
        network.clientCertificate = $("cert").value;
        network.privateKey = $("key").value;
      } else {
        network.innerIdentity = $("user").value;
      }
      if ($("outer").value) network.outerIdentity = $("outer").value;
    }
    return network;
  }

  async #configure(form) {
    const $ = (id) => this.shadowRoot.getElementById(id);
    const epoch = this.#epoch;
    const network = this.#network(form);
    // The form stays, disabled, while the settings go out: an input error comes back to it
    // with everything as typed (the password too).
    $("network-fields").disabled = true;
    $("form-error").textContent = "";
    $("form-status").innerHTML = `${SPINNER}${this.#t("sending")}`;
    this.#save({ ssid: network.ssid });
    try {
      await this.#flow.configure(network);
      if (epoch !== this.#epoch) return;
      // From here the device may leave its network: a reload waits for the cloud.
      this.#progress = "rejoin";
      this.#save({ step: "rejoin" });
      await this.#flow.connect();
      if (epoch !== this.#epoch) return;
      this.#formNote = "";
      this.#rejoin();
    } catch (error) {
      if (epoch !== this.#epoch) return;
      if (error?.field && error.step === "configuring" && this.#screen === "networks") {
        this.#progress = "networks";
        this.#save({ step: "networks" });
        $("network-fields").disabled = false;
        $("form-status").textContent = "";
        $("form-error").innerHTML = this.#message(error);
        const field = { password: "password", ssid: "ssid", innerIdentity: "user", outerIdentity: "outer", clientCertificate: "cert", privateKey: "key" }[error.field];
        $(field)?.setAttribute("aria-invalid", "true");
        $(field)?.focus();
        return;
      }
      this.#progress = this.#progress === "rejoin" && error?.step !== "connecting" ? "rejoin" : "networks";
      this.#save({ step: this.#progress });
      this.#fail(error, this.#progress === "rejoin" ? "rejoin" : "networks");
    }
  }

  // --- waiting for the cloud, and the light ---

  /** The device took the network: the customer rejoins theirs; the page waits for the cloud. */
  #rejoin() {
    this.#progress = "rejoin";
    this.#light = { asked: false, note: "" };
    this.#save({ step: "rejoin" });
    this.#show("rejoin");
    this.#waitForCloud();
  }

  #stopWaits() {
    clearTimeout(this.#lightTimer);
    this.#cloudAbort?.abort();
    this.#cloudAbort = undefined;
  }

  #askLightLater() {
    clearTimeout(this.#lightTimer);
    const after = Number(this.#opt("ask-light-after-ms") ?? 60_000);
    this.#lightTimer = setTimeout(() => {
      if (this.#progress !== "rejoin") return;
      this.#light.asked = true;
      if (this.#screen !== "rejoin") return;
      this.shadowRoot.getElementById("light").hidden = false;
    }, after);
  }

  /**
   * Waits until the device is online and this customer's: the flow's wait on the direct path,
   * which also looks at the device's network (the same device answering there again could not
   * join: straight back to the password); the cloud alone on the handoff path and after a
   * reload. A customer token that expired meanwhile is minted anew (token-url).
   */
  #waitForCloud() {
    const epoch = this.#epoch;
    const id = this.#deviceId;
    this.#askLightLater();
    const wait = this.#flow ? this.#flowWait() : this.#cloudWait(id);
    wait.then(
      () => this.#online(epoch, id),
      (error) => {
        if (epoch !== this.#epoch || id !== this.#deviceId || error?.code === "cancelled") return;
        if (error?.code === "join-failed") {
          if (this.#progress === "rejoin") this.#wrongPassword();
          return;
        }
        if (!["rejoin", "claimed"].includes(this.#progress)) return;
        if (error?.code === "claimed-by-another") return this.#claimedByAnother();
        this.#fail(error, "rejoin");
      },
    );
  }

  async #flowWait() {
    try {
      return await this.#flow.waitForCloud({ watchDevice: true, timeoutMs: Number(this.#opt("cloud-wait-ms")) || undefined });
    } catch (error) {
      if (!this.#stale(error)) throw error;
      // A new token from the maker's service; if it has none, the customer signs in again.
      this.#flow.setAccessToken(await this.#token().catch(() => Promise.reject(error)));
      return await this.#flow.waitForCloud({ watchDevice: true, timeoutMs: Number(this.#opt("cloud-wait-ms")) || undefined });
    }
  }

  /** The cloud alone; `timeoutMs` for a quick look. */
  async #cloudWait(id, timeoutMs = Number(this.#opt("cloud-wait-ms")) || undefined) {
    this.#cloudAbort?.abort();
    const controller = new AbortController();
    this.#cloudAbort = controller;
    const once = () => this.#cloud().waitForDevice(id, { timeoutMs, claimUnowned: this.#claimsUnowned, signal: controller.signal });
    try {
      await once();
    } catch (error) {
      if (!this.#stale(error) || controller.signal.aborted) throw error;
      await this.#token().catch(() => Promise.reject(error));
      await once();
    }
    return id;
  }

  /**
   * The handoff's device got this customer's claim code from the device page, which this tab
   * sent it to: claiming it outright while nobody owns it is what the code would do, and tells
   * a device another customer owns apart.
   */
  get #claimsUnowned() {
    return this.#state.path === "handoff";
  }

  #stale(error) {
    return (error?.code === "token-expired" || error?.code === "token-invalid") && !!this.#opt("token-url");
  }

  /** Blinking blue: the device is back in setup mode. Back to the password, network kept. */
  #lightBlue() {
    clearTimeout(this.#lightTimer);
    this.#wrongPassword({ answered: true });
  }

  #lightGreen() {
    this.#light.note = "lightGreenText";
    this.shadowRoot.getElementById("light-note").innerHTML = this.#t("lightGreenText");
    this.#askLightLater();
  }

  /** Breathing cyan: online. Ask the cloud now rather than at its next turn. */
  async #lightCyan() {
    const epoch = this.#epoch;
    const id = this.#deviceId;
    const note = this.shadowRoot.getElementById("light-note");
    note.innerHTML = `${SPINNER}${this.#t("lightCyanChecking")}`;
    const look = new AbortController();
    try {
      const cloud = this.#cloud();
      await cloud.waitForDevice(id, { timeoutMs: 8000, claimUnowned: this.#claimsUnowned, signal: look.signal });
      this.#online(epoch, id);
    } catch (error) {
      if (epoch !== this.#epoch || this.#progress !== "rejoin") return;
      if (error?.code === "claimed-by-another") return this.#claimedByAnother();
      this.#light.note = "lightCyanNotYet";
      if (this.#screen === "rejoin") this.shadowRoot.getElementById("light-note").innerHTML = this.#t("lightCyanNotYet");
    }
  }

  /**
   * The device could not join (the library saw it back in setup mode, or the customer says it
   * blinks blue). Direct path: the network form, the network still chosen, the claim code the
   * device already has reused (the flow keeps it). Handoff: a new link to the device page.
   */
  #wrongPassword({ answered = false } = {}) {
    this.#light = { asked: false, note: "" };
    if (this.#state.path === "handoff") {
      this.#stopWaits();
      this.#formNote = this.#t("handoffAgain");
      this.#progress = "handoff";
      return this.#start();
    }
    const ssid = this.#state.ssid ?? this.#choice.ssid ?? "";
    this.#formNote = this.#t("wrongPassword", { ssid });
    if (!this.#flow) {
      // After a reload: a new flow (and claim code) for the same device.
      this.#progress = "join";
      return this.#start();
    }
    if (answered) {
      // The customer rejoins the device's network first; the cloud wait goes on meanwhile,
      // in case the device comes online after all.
      this.#progress = "join";
      return this.#join();
    }
    this.#showNetworks();
  }

  /** Online and this customer's: the name, then done. */
  #online(epoch, id) {
    if (epoch !== this.#epoch || id !== this.#deviceId) return;
    if (["name", "done"].includes(this.#progress)) return;
    this.#stopWaits();
    this.#formNote = "";
    this.#progress = "name";
    this.#save({ step: "name" });
    this.#show("name", { history: history.state?.softap === "rejoin" ? "replace" : "push" });
  }

  async #saveName() {
    const $ = (id) => this.shadowRoot.getElementById(id);
    const name = $("device-label").value.trim();
    if (!name || name.length > 100 || /[\0-\x1f\x7f]/.test(name)) {
      $("form-error").innerHTML = this.#t("name-empty");
      $("device-label").setAttribute("aria-invalid", "true");
      return;
    }
    const epoch = this.#epoch;
    const id = this.#deviceId;
    $("name-fields").disabled = true;
    $("form-error").textContent = "";
    $("form-status").innerHTML = `${SPINNER}${this.#t("saving")}`;
    this.#save({ name });
    try {
      await this.#record(id, name);
    } catch (error) {
      if (epoch !== this.#epoch) return;
      if (error?.code === "device-owned-by-another-customer") return this.#claimedByAnother();
      $("name-fields").disabled = false;
      $("form-status").textContent = "";
      $("form-error").innerHTML = this.#message(error);
      return;
    }
    if (epoch !== this.#epoch) return;
    this.#progress = "done";
    this.#save({ step: "done", name: undefined, setUp: [...this.#setUp.filter((d) => d.id !== id), { id, name }] });
    this.#show("done");
    this.#emit("softap-done", { deviceIds: this.#setUp.map((d) => d.id), devices: [...this.#setUp] });
  }

  /** The name goes to the cloud (the customer's own device) and to the maker's installation. */
  async #record(id, name) {
    await this.#load();
    if (!this.#accessToken) await this.#token().catch(() => {});
    const cloud = this.#accessToken && this.#cloud();
    if (cloud && typeof cloud.renameDevice === "function") {
      try {
        await cloud.renameDevice(id, particleName(name));
      } catch (error) {
        if (!this.#stale(error)) throw error;
        await this.#token();
        await this.#cloud().renameDevice(id, particleName(name));
      }
    }
    const installation = this.#installation;
    if (!installation) return;
    // Until the Particle API confirms the claim, softap-maker answers device-not-claimed: a
    // few calm tries, then the customer may try again.
    for (let attempt = 0; ; attempt++) {
      const answer = await this.#maker(`${installation.replace(/\/$/, "")}/devices`, { method: "POST", body: { deviceId: id, name } });
      if (answer.ok) return;
      if (answer.code === "device-not-claimed" && attempt < 4) {
        await pause(1500 * 2 ** attempt);
        continue;
      }
      throw coded(["device-not-claimed", "device-owned-by-another-customer"].includes(answer.code) ? answer.code : "maker-error", "claimed");
    }
  }

  // --- a device that another account owns ---

  #claimedByAnother() {
    this.#stopWaits();
    this.#progress = "claimed";
    this.#save({ step: "claimed" });
    this.#emit("softap-error", { code: "claimed-by-another", step: "waiting-for-cloud" });
    this.#show("claimed");
  }

  /** Asks the maker's service to release the device, as its policy allows. */
  async #release() {
    const $ = (id) => this.shadowRoot.getElementById(id);
    $("release").disabled = true;
    $("form-status").innerHTML = `${SPINNER}${this.#t("busy")}`;
    let answer;
    try {
      answer = await this.#maker(this.#opt("release-url").replace("{device}", encodeURIComponent(this.#deviceId)), { method: "POST" });
    } catch (error) {
      return this.#fail(error, "claimed");
    }
    if (answer.ok) {
      this.#progress = "rejoin";
      this.#save({ step: "rejoin" });
      this.#show("rejoin", { history: "none" });
      this.shadowRoot.querySelector(".status").innerHTML = `${SPINNER}${this.#t("releasedText")}`;
      return this.#waitForCloud();
    }
    this.#show("claimed", { body: this.#claimedBody(answer.code === "release-refused" ? "release-refused" : "maker-error") });
  }

  #waitAgain() {
    this.#progress = "rejoin";
    this.#save({ step: "rejoin" });
    this.#show("rejoin", { history: "none" });
    this.#waitForCloud();
  }

  // --- the handoff path ---

  /** A claim code while online, then off to the page the device serves. */
  async #handoff(api) {
    this.#claimCode = (await this.#cloud().createClaimCode()).claimCode;
    if (this.#opt("key-url")) return this.#show("seal", { body: this.#sealBody("handoff") });
    this.#leave();
  }

  #sealBody(path) {
    this.#sealPath = path;
    const note = this.#formNote ? `<p class="error" role="alert">${this.#formNote}</p>` : "";
    const name = `<div class="field"><label for="device-name">${this.#t("deviceName")}</label><input id="device-name" autocomplete="off" value="${
      escapeHtml(this.#state.deviceName ?? this.#opt("device-name") ?? "")}"></div>`;
    // The direct path needs only the device's name: its key is checked against the record,
    // and the network is chosen from the device's own list later.
    if (path !== "handoff") {
      return `${this.#h("sealTitle")}${note}<form id="seal-form" novalidate>${name}
      <p class="error" id="form-error" role="alert"></p>
      <button type="submit">${this.#t("continue")}</button></form>`;
    }
    return `${this.#h("sealTitle")}${note}<form id="seal-form" novalidate>${name}
      <div class="field"><label for="ssid">${this.#t("networkName")}</label><input id="ssid" autocomplete="off" value="${escapeHtml(this.#state.ssid ?? "")}"></div>
      <div class="field"><label for="security">${this.#t("security")}</label>
        <select id="security"><option value="4194308">WPA2</option><option value="2097156">WPA</option>
        <option value="open">${this.#t("open")}</option></select></div>
      <div class="field" id="password-field"><label for="password">${this.#t("password")}</label>
        <input id="password" type="password" autocomplete="current-password">
        <label class="check"><input id="show" type="checkbox"> ${this.#t("showPassword")}</label></div>
      <p class="error" id="form-error" role="alert"></p>
      <button type="submit">${this.#t("continue")}</button></form>`;
  }

  /**
   * The maker's record of this device's key: on the handoff it seals the password here (sealed
   * mode); on the direct path the device must have that key before anything is sent.
   */
  async #sealed(form) {
    const $ = (id) => this.shadowRoot.getElementById(id);
    const error = (key) => { $("form-error").innerHTML = this.#t(key); };
    const direct = this.#sealPath !== "handoff";
    const open = !direct && $("security").value === "open";
    const password = direct || open ? "" : $("password").value;
    if (!direct && !$("ssid").value) return error("ssid-empty");
    const name = $("device-name").value.trim();
    this.#save({ deviceName: name, ssid: direct ? undefined : $("ssid").value });
    let record;
    try {
      const url = new URL(this.#opt("key-url"), document.baseURI);
      url.searchParams.set("device", name);
      const answer = await this.#maker(url.href);
      record = answer.ok ? answer.json : null;
    } catch (e) {
      $("form-error").innerHTML = this.#message(e?.code ? e : { code: "cloud-unreachable" });
      return;
    }
    if (!record?.publicKey) return error("device-not-in-records");
    if (direct) {
      let expected;
      try {
        expected = this.#api.fingerprintOf(record.publicKey);
      } catch {
        return error("device-not-in-records");
      }
      this.#show("preparing", { history: "none" });
      try {
        return await this.#direct(this.#api, this.#accessToken, expected);
      } catch (e) {
        return this.#fail(e, "intro");
      }
    }
    let sealed;
    try {
      sealed = this.#handoffApi.seal({ publicKey: record.publicKey, ssid: $("ssid").value, password, security: open ? 0 : Number($("security").value) });
    } catch (e) {
      $("form-error").innerHTML = this.#message(e);
      return;
    }
    form.reset();
    this.#leave(sealed, /^[A-Za-z]+-\w+$/.test(name) ? name : undefined);
  }

  /** "Join the device's network, then Continue": a link, so a real top-level navigation. */
  #leave(sealed, apName) {
    const back = location.href.split("#")[0];
    let url;
    try {
      url = this.#handoffApi.handoffUrl({
        deviceUrl: this.#opt("device-url") || "http://192.168.0.1",
        page: this.#opt("device-page"),
        claimCode: this.#claimCode,
        back,
        fingerprint: sealed?.fingerprint ?? this.#opt("expected-fingerprint"),
        lang: this.#lang,
        sealed,
      });
    } catch (error) {
      // A maker's option the link cannot carry (a malformed expected-fingerprint).
      return this.#fail(error, "intro");
    }
    // Only what is not secret survives the trip.
    this.#progress = "handoff";
    this.#save({ step: "handoff", path: "handoff", deviceId: undefined });
    const note = this.#formNote ? `<p class="error" role="alert">${this.#formNote}</p>` : "";
    this.#handoffHtml = `${this.#h("joinTitle")}${note}<p>${this.#t("handoffText", apName ? { ap: apName } : {})}</p>
      <a class="button" id="continue" href="${escapeHtml(url)}">${this.#t("continue")}</a>`;
    this.#show("handoff", { body: this.#handoffHtml });
  }

  /**
   * Back from the device page: verify through the cloud, now that we are online again. A lost
   * connect-ap reply ("connecting") is verified the same way; a return that does not validate
   * (a crafted link) is refused.
   */
  async #returned() {
    // Only a tab that sent the customer to the device page waits for a device named in the
    // return: anyone can craft a link naming someone else's device.
    const sent = this.#state.step === "handoff" && this.#state.path === "handoff";
    this.#show("preparing", { history: "none" });
    let back;
    try {
      await this.#load();
      back = this.#handoffApi.readReturn();
    } catch (error) {
      return this.#fail(error, "intro");
    }
    if (!back) return this.#show("intro", { history: "replace" });
    if (back.result === "invalid") return this.#fail({ code: "handoff-invalid", step: "handoff" }, "intro");
    if (!back.ok) return this.#fail({ code: back.code, step: "handoff" }, "intro");
    if (!sent) return this.#show("intro", { history: "replace" });
    this.#save({ path: "handoff", deviceId: back.deviceId.toLowerCase() });
    try {
      await this.#token();
    } catch (error) {
      return this.#fail(error, "rejoin");
    }
    this.#rejoin();
  }

  /** After a reload: the cloud first, then the screen the setup was on. */
  async #resume() {
    const { step } = this.#state;
    this.#show("resuming", { history: "none" });
    if (step === "done") {
      this.#progress = "done";
      return this.#show("done", { history: "replace" });
    }
    try {
      await this.#load();
      if (this.#deviceId && ["rejoin", "name", "claimed"].includes(step)) {
        await this.#token();
        // Online and claimed already? Then nothing needs asking.
        const online = await this.#cloudWait(this.#deviceId, 4000).then(() => true, (error) => {
          if (error?.code === "claimed-by-another") return "claimed";
          if (["token-expired", "token-invalid"].includes(error?.code)) throw error;
          return false;
        });
        if (online === true) {
          this.#progress = "rejoin";
          return this.#online(this.#epoch, this.#deviceId);
        }
        if (online === "claimed") return this.#claimedByAnother();
        return this.#rejoin();
      }
    } catch (error) {
      return this.#fail(error, "intro");
    }
    // Nothing reached the device yet: start again where the customer was, without Start.
    this.#progress = step === "handoff" ? "handoff" : "join";
    this.#start();
  }

  // --- more devices, errors ---

  async #next() {
    this.#emit("softap-next", { count: this.#setUp.length + 1 });
    this.#epoch++;
    this.#stopWaits();
    this.#save({ deviceId: undefined, name: undefined, step: "join" });
    this.#formNote = "";
    this.#networks = [];
    if (!this.#flow) return this.#start();
    const epoch = this.#epoch;
    try {
      // A claim code for the next device, while online, if none is left.
      if (!this.#flow.claimCodesReady) {
        this.#show("preparing", { history: "none" });
        await this.#flow.prepare({ devices: 1 });
      }
      this.#flow.next();
      if (epoch === this.#epoch) this.#join();
    } catch (error) {
      if (epoch === this.#epoch) this.#fail(error, "intro");
    }
  }

  #message(error) {
    const code = error?.code;
    const lang = this.#lang;
    if (typeof code === "string" && (own(this.#custom[lang], code) || own(MESSAGES[lang], code) || own(MESSAGES.en, code))) return this.#t(code);
    return this.#t("other");
  }

  #fail(error, retryTo) {
    this.#retryTo = retryTo;
    this.#emit("softap-error", { code: error?.code, step: error?.step, message: error?.message });
    const body = `${this.#h("title")}<p class="error" role="alert">${this.#message(error)}</p>
      <button id="retry">${this.#t("retry")}</button>`;
    this.#show("error", { body });
  }

  #retry() {
    const to = this.#retryTo;
    if (to === "intro" || (!this.#flow && ["join", "networks"].includes(to))) return this.#start();
    if (to === "join" || to === "networks") {
      this.#progress = "join";
      return this.#join();
    }
    if (to === "claimed") return this.#show("claimed");
    if (to === "rejoin") return this.#waitAgain();
    return this.#start();
  }
}

if (!customElements.get("softap-setup")) customElements.define("softap-setup", SoftApSetupElement);
