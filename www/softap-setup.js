// <softap-setup>: the whole setup of a Photon-based product as a themeable element, built
// only on softap-web's public JS API (SoftAP, Cloud, SetupFlow).
//
// Attributes: product-name, ap-prefix ("Photon"), device-url ("http://192.168.0.1"),
// api-url, token-url (the maker's endpoint that returns { access_token }), product-id,
// expected-fingerprint, devices (how many in a row), lang, module-url (where softap_web.js is;
// by default beside this file, as in pkg/),
// target-address-space ("local" for a device address the library cannot tell is local),
// device-wait-ms (how long to wait for the customer to join the device's network), logo,
// help-url, terms-url, mode ("auto": this browser's path; "direct": the page calls the
// device; "handoff": through the page the device serves, for Safari, iPhones and Firefox),
// cloud-wait-ms (how long to wait for the device online after a handoff), device-page
// ("/setup"), key-url (the maker's records: `GET key-url?device=<name or id>` →
// `{ publicKey }` turns on sealed mode: the password is encrypted here, before the handoff),
// device-name (the device's name or id, from a QR label, to fill in for sealed mode).
// Or all of them at once as JSON, in the `config` attribute or property, keys in camelCase
// (`productName`, `helpUrl`, …), plus `messages` (texts by language) and `theme` (custom
// properties without their prefix: `{ "accent": "#8a3b12" }`). Attributes win over config.
// Theme: --softap-accent, --softap-background, --softap-text, --softap-muted,
// --softap-radius, --softap-font. Events: softap-progress, softap-done, softap-error,
// softap-next (the customer starts the next device).
import { MESSAGES, pickLanguage } from "./i18n.js";

const STYLE = `
[hidden] { display: none !important; }
:host { display: block; font: 16px/1.5 var(--softap-font, system-ui, sans-serif);
  color: var(--softap-text, #1d2330); background: var(--softap-background, #fff);
  border-radius: var(--softap-radius, 12px); padding: 1.25rem; max-width: 32rem; min-width: 0; }
h2 { font-size: 1.25rem; margin: 0 0 .75rem; outline: none; }
p { margin: .5rem 0; }
.muted { color: var(--softap-muted, #4a5263); }
button { font: inherit; border: 0; border-radius: var(--softap-radius, 12px); padding: .65rem 1.1rem;
  background: var(--softap-accent, #0b5cad); color: #fff; cursor: pointer; margin: .5rem .5rem 0 0; }
a.button { display: inline-block; text-decoration: none; font: inherit; border-radius: var(--softap-radius, 12px);
  padding: .65rem 1.1rem; background: var(--softap-accent, #0b5cad); color: #fff; margin: .5rem .5rem 0 0; }
a.button:focus-visible { outline: 3px solid var(--softap-accent, #0b5cad); outline-offset: 2px; }
button.secondary { background: transparent; color: var(--softap-accent, #0b5cad); border: 2px solid currentColor; }
button:focus-visible, input:focus-visible, select:focus-visible, textarea:focus-visible,
label.network:focus-within { outline: 3px solid var(--softap-accent, #0b5cad); outline-offset: 2px; }
ul { list-style: none; padding: 0; margin: .5rem 0; }
label.network { display: flex; gap: .5rem; align-items: center; padding: .55rem .5rem; border-radius: 8px; }
label.network:hover { background: rgba(0,0,0,.05); }
.bars { margin-left: auto; letter-spacing: -2px; font-family: monospace; }
.field { display: grid; gap: .25rem; margin: .6rem 0; }
input, select, textarea { font: inherit; padding: .5rem; border: 1px solid #8a93a6; border-radius: 8px;
  width: 100%; box-sizing: border-box; background: #fff; color: #1d2330; }
input[type=radio], input[type=checkbox] { width: auto; margin: 0; }
textarea { min-height: 5rem; font-family: monospace; font-size: .8rem; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
.ssid { flex: 1; overflow-wrap: anywhere; }
.lock { width: .9em; height: .9em; vertical-align: -.1em; }
.error { color: #a4161a; font-weight: 600; }
.status { min-height: 1.5em; }
.logo { display: block; max-height: 3rem; max-width: 60%; margin: 0 0 .75rem; }
footer { margin-top: 1rem; font-size: .875rem; }
footer a { color: var(--softap-accent, #0b5cad); margin-right: 1rem; }
`;

const ENTERPRISE = 0x02000000;
/** sessionStorage key: what survives the trip to the device page (no secrets). */
const STORE = "softap-setup";
const LOCK = `<svg class="lock" viewBox="0 0 16 16" aria-hidden="true"><path fill="currentColor"
  d="M4 7V5a4 4 0 0 1 8 0v2h1v8H3V7zm2 0h4V5a2 2 0 0 0-4 0z"/></svg> `;

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

function bars(rssi) {
  return rssi >= -55 ? 4 : rssi >= -67 ? 3 : rssi >= -78 ? 2 : 1;
}

export class SoftApSetupElement extends HTMLElement {
  #api;
  #flow;
  #networks = [];
  #setUp = [];
  #custom = {};
  #config = {};
  /** The handoff path's claim code for the device at hand (never stored). */
  #claimCode;
  /** The path the maker's key records are asked for ("direct" or "handoff"). */
  #sealPath;
  /** handoff.js: choosePath, handoffUrl, readReturn, seal. */
  #handoffApi;
  /** The device being set up on the direct path, once it answered. */
  #deviceId;
  /** Bumped when the customer starts over: results of earlier waits are ignored. */
  #attempt = 0;
  /** The screen shown, and where "Try again" leads after an error. */
  #screen;
  #retryTo;

  constructor() {
    super();
    this.attachShadow({ mode: "open" });
  }

  static observedAttributes = ["config"];

  /** Maker overrides: `{ en: { title: "…" }, de: { … } }`. */
  set messages(value) {
    this.#custom = value || {};
    this.#redraw();
  }

  /** The maker's settings as one object (see the top of this file). */
  set config(value) {
    this.#config = value || {};
    if (this.#config.messages) this.#custom = this.#config.messages;
    for (const [name, value] of Object.entries(this.#config.theme || {})) {
      this.style.setProperty(`--softap-${name}`, value);
    }
    this.#redraw();
  }

  get config() {
    return this.#config;
  }

  attributeChangedCallback(name, _, value) {
    try {
      this.config = value ? JSON.parse(value) : {};
    } catch {
      // A page's typo must not take the setup down: keep the defaults, say why once.
      console.warn("<softap-setup>: the config attribute is not JSON");
    }
  }

  /** Screens drawn from data (networks, errors) take new texts when next drawn. */
  #redraw() {
    const screen = this.#screen ?? "intro";
    if (this.isConnected && this.#body(screen)) this.#render(screen);
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

  #t(key, extra = {}) {
    const lang = this.#lang;
    const text = this.#custom[lang]?.[key] ?? MESSAGES[lang][key] ?? MESSAGES.en[key] ?? key;
    const values = {
      product: this.#opt("product-name") || "device",
      ap: `${this.#opt("ap-prefix") || "Photon"}-XXXXXX`,
      ...extra,
    };
    return text.replace(/\{(\w+)\}/g, (_, name) => escapeHtml(values[name] ?? ""));
  }

  connectedCallback() {
    // Back from the device page: its result is in the fragment, read by the library.
    if (/(^#|&)softap=/.test(location.hash)) return this.#returned();
    this.#render("intro");
  }

  disconnectedCallback() {
    this.#flow?.cancel();
  }

  /** Shows a screen; moves focus to its heading so keyboard and screen-reader users follow. */
  #render(screen, body = "") {
    this.#screen = screen;
    const logo = this.#opt("logo");
    const links = [["help-url", "help"], ["terms-url", "terms"]]
      .filter(([name]) => this.#opt(name))
      .map(([name, key]) => `<a href="${escapeHtml(this.#opt(name))}" target="_blank" rel="noopener">${this.#t(key)}</a>`)
      .join("");
    this.shadowRoot.innerHTML = `<style>${STYLE}</style>${
      logo ? `<img class="logo" src="${escapeHtml(logo)}" alt="${this.#t("logoAlt")}">` : ""}<section aria-live="polite">${
      body || this.#body(screen)}</section>${links ? `<footer>${links}</footer>` : ""}`;
    this.shadowRoot.querySelector("h2")?.focus();
    this.#wire(screen);
  }

  #body(screen) {
    const h = (key) => `<h2 tabindex="-1">${this.#t(key)}</h2>`;
    switch (screen) {
      case "intro":
        return `${h("title")}<p class="muted">${this.#t("intro")}</p><button id="start">${this.#t("start")}</button>`;
      case "preparing":
        return `${h("title")}<p class="status" role="status">${this.#t("preparing")}</p>`;
      case "join":
        return `${h("joinTitle")}<p>${this.#t("joinText")}</p><p class="status muted" role="status">${this.#t("joinWaiting")}</p>`;
      case "sending":
        return `${h("networksTitle")}<p class="status" role="status">${this.#t("sending")}</p>`;
      case "rejoin":
        return `${h("rejoinTitle")}<p>${this.#t("rejoinText")}</p><p class="status muted" role="status">${this.#t("waitingCloud")}</p>
          <button class="secondary" id="blue-again">${this.#t("blueAgain")}</button>`;
      case "done": {
        const more = this.#setUp.length < Number(this.#opt("devices") || 1);
        return `${h("doneTitle")}<p>${this.#t("doneText")}</p><p class="muted">${this.#setUp.map(escapeHtml).join("<br>")}</p>${
          more ? `<button id="next">${this.#t("next")}</button>` : ""}`;
      }
      default:
        return "";
    }
  }

  #networksBody(scanning) {
    // No form while scanning: it is drawn anew with the results, and typing would be lost.
    if (scanning) {
      return `<h2 tabindex="-1">${this.#t("networksTitle")}</h2><p class="status" role="status">${this.#t("scanning")}</p>`;
    }
    const items = this.#networks.map((n, i) => {
      const lock = n.sec !== 0;
      return `<li><label class="network"><input type="radio" name="network" value="${i}" ${i === 0 ? "checked" : ""}>
        <span class="ssid">${escapeHtml(n.ssid)}</span><span class="muted">${lock ? LOCK + this.#t("secured") : this.#t("open")}</span>
        <span class="bars" aria-label="${this.#t("signal", { bars: bars(n.rssi) })}">${"▮".repeat(bars(n.rssi))}${"▯".repeat(4 - bars(n.rssi))}</span></label></li>`;
    }).join("");
    return `<h2 tabindex="-1">${this.#t("networksTitle")}</h2>
      <form id="network-form" novalidate>
        <fieldset style="border:0;padding:0;margin:0"><legend class="visually-hidden">${this.#t("networksTitle")}</legend>
        <ul>${items}<li><label class="network"><input type="radio" name="network" value="other" ${items ? "" : "checked"}>
          <span class="ssid">${this.#t("otherNetwork")}</span></label></li></ul></fieldset>
        <div id="other" hidden>
          <div class="field"><label for="ssid">${this.#t("networkName")}</label><input id="ssid" autocomplete="off"></div>
          <div class="field"><label for="security">${this.#t("security")}</label>
            <select id="security"><option value="wpa2">WPA2</option><option value="wpa">WPA</option>
            <option value="open">${this.#t("open")}</option><option value="wep_psk">WEP</option>
            <option value="wpa2_enterprise">WPA2-Enterprise</option></select></div>
        </div>
        <div id="enterprise" hidden>
          <div class="field"><label for="eap">${this.#t("eap")}</label>
            <select id="eap"><option value="peap">PEAP</option><option value="tls">EAP-TLS</option></select></div>
          <div class="field" id="user-field"><label for="user">${this.#t("user")}</label><input id="user" autocomplete="username"></div>
          <div class="field"><label for="outer">${this.#t("outerIdentity")}</label><input id="outer"></div>
          <div class="field" id="cert-field" hidden><label for="cert">${this.#t("certificate")}</label><textarea id="cert"></textarea></div>
          <div class="field" id="key-field" hidden><label for="key">${this.#t("privateKey")}</label><textarea id="key"></textarea></div>
        </div>
        <div class="field" id="password-field"><label for="password">${this.#t("password")}</label>
          <input id="password" type="password" autocomplete="current-password">
          <label><input id="show" type="checkbox" style="width:auto"> ${this.#t("showPassword")}</label></div>
        <p class="error" id="form-error" role="alert"></p>
        <button type="submit" id="connect">${this.#t("connect")}</button>
        <button type="button" class="secondary" id="rescan">${this.#t("rescan")}</button>
      </form>`;
  }

  #wire(screen) {
    const $ = (id) => this.shadowRoot.getElementById(id);
    if (screen === "intro") $("start").onclick = () => this.#start();
    if (screen === "done" && $("next")) {
      $("next").onclick = () => {
        this.#emit("softap-next", { count: this.#setUp.length + 1 });
        if (!this.#flow) return this.#start();
        this.#flow.next();
        this.#join();
      };
    }
    if (screen === "networks") {
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
      };
      form.onchange = update;
      update();
      $("show").onchange = () => { $("password").type = $("show").checked ? "text" : "password"; };
      $("rescan").onclick = () => this.#scan();
      form.onsubmit = (event) => { event.preventDefault(); this.#configure(form); };
    }
    if (screen === "error") $("retry").onclick = () => this.#retry();
    if (screen === "seal") {
      const form = $("seal-form");
      const update = () => { if ($("security")) $("password-field").hidden = $("security").value === "open"; };
      form.onchange = update;
      update();
      if ($("show")) $("show").onchange = () => { $("password").type = $("show").checked ? "text" : "password"; };
      form.onsubmit = (event) => { event.preventDefault(); this.#sealed(form); };
    }
    // The device could not join (wrong password): it is back in setup mode. Start over from
    // joining its network; the pending wait for the cloud is left behind (#attempt).
    if (screen === "rejoin") $("blue-again").onclick = () => { this.#attempt++; this.#join(); };
  }

  #emit(name, detail) {
    this.dispatchEvent(new CustomEvent(name, { detail, bubbles: true, composed: true }));
  }

  /** The library and its handoff module, which ships beside it (pkg/). */
  async #load() {
    if (this.#api) return this.#api;
    // By default the package beside this file: pkg/ ships both (www/ names its copy).
    const url = new URL(this.#opt("module-url") || "./softap_web.js", this.#opt("module-url") ? document.baseURI : import.meta.url);
    const [api, handoff] = await Promise.all([import(url.href), import(new URL("./handoff.js", url).href)]);
    await api.default();
    this.#handoffApi = handoff;
    this.#api = api;
    return api;
  }

  /** A customer token from the maker's server (token-url), or the one given. */
  async #token() {
    const tokenUrl = this.#opt("token-url");
    if (!tokenUrl) return this.#opt("access-token");
    let answer;
    try {
      const response = await fetch(tokenUrl, { method: "POST" });
      answer = response.ok ? await response.json() : {};
    } catch {
      // The maker's server is out of reach: this page must start while online.
      throw Object.assign(new Error("token"), { code: "cloud-unreachable", step: "preparing" });
    }
    // The maker's server refused (the customer's session with the maker has ended).
    if (!answer?.access_token) throw Object.assign(new Error("token"), { code: "token-invalid", step: "preparing" });
    return answer.access_token;
  }

  async #start() {
    this.#render("preparing");
    try {
      const api = await this.#load();
      const token = await this.#token();
      const mode = this.#opt("mode") || "auto";
      const path = mode === "auto" ? await this.#handoffApi.choosePath(this.#opt("device-url") || "http://192.168.0.1") : mode;
      if (path === "handoff") return await this.#handoff(api, token);
      // With the maker's key records, the device's key is checked against them on every path.
      if (this.#opt("key-url")) return this.#render("seal", this.#sealBody("direct"));
      await this.#direct(api, token);
    } catch (error) {
      this.#fail(error, "intro");
    }
  }

  /** The direct path: this page calls the device. */
  async #direct(api, token, expectedFingerprint = this.#opt("expected-fingerprint")) {
    {
      const device = new api.SoftAP({
        baseUrl: this.#opt("device-url"),
        targetAddressSpace: this.#opt("target-address-space"),
      });
      const cloud = token
        ? new api.Cloud({
          apiUrl: this.#opt("api-url"),
          accessToken: token,
          productId: this.#opt("product-id"),
        })
        : undefined;
      this.#flow = new api.SetupFlow({
        device,
        cloud,
        expectedFingerprint,
        onProgress: (event) => this.#emit("softap-progress", event),
      });
      // Everything from the cloud is fetched now, while there is internet.
      await this.#flow.prepare({ devices: Number(this.#opt("devices") || 1) });
      this.#join();
    }
  }

  async #join() {
    this.#render("join");
    try {
      const timeoutMs = Number(this.#opt("device-wait-ms")) || undefined;
      this.#deviceId = (await this.#flow.waitForDevice({ intervalMs: 1500, timeoutMs })).id;
      this.shadowRoot.querySelector(".status").textContent = this.#t("found");
      await this.#scan();
    } catch (error) {
      this.#fail(error, "join");
    }
  }

  async #scan() {
    this.#render("scanning", this.#networksBody(true));
    try {
      this.#networks = await this.#flow.scan();
      this.#render("networks", this.#networksBody(false));
    } catch (error) {
      this.#fail(error, "join");
    }
  }

  async #configure(form) {
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
    this.#render("sending");
    const attempt = this.#attempt;
    try {
      await this.#flow.configure(network);
      await this.#flow.connect();
      this.#render("rejoin");
      const id = await this.#waitForCloud();
      if (attempt !== this.#attempt) return;
      this.#setUp.push(id);
      this.#render("done");
      this.#emit("softap-done", { deviceIds: [...this.#setUp] });
    } catch (error) {
      // Input the customer can fix goes back to the form, with the field marked.
      if (error?.field && error.step === "configuring") {
        this.#render("networks", this.#networksBody(false));
        const message = this.#message(error);
        this.shadowRoot.getElementById("form-error").textContent = message;
        const field = { password: "password", ssid: "ssid" }[error.field];
        if (field) this.shadowRoot.getElementById(field)?.setAttribute("aria-invalid", "true");
        return;
      }
      if (attempt !== this.#attempt) return;
      this.#fail(error, error?.step === "waiting-for-cloud" ? "rejoin" : "networks");
    }
  }

  /**
   * Waits until the device is online and this customer's. A customer token that expired in
   * the meantime is minted anew by the maker's server (token-url), now that the customer is
   * online again, rather than sending them back to the start.
   */
  async #waitForCloud() {
    try {
      return await this.#flow.waitForCloud({ watchDevice: true });
    } catch (error) {
      const stale = error?.code === "token-expired" || error?.code === "token-invalid";
      if (!stale || !this.#opt("token-url") || !this.#deviceId) throw error;
      let token;
      try {
        token = await this.#token();
      } catch {
        throw error;
      }
      this.#flow.setAccessToken(token);
      return await this.#flow.waitForCloud({ watchDevice: true });
    }
  }

  // The handoff path: a claim code while online, then off to the page the device serves.
  async #handoff(api, token) {
    const cloud = new api.Cloud({ apiUrl: this.#opt("api-url"), accessToken: token, productId: this.#opt("product-id") });
    this.#claimCode = (await cloud.createClaimCode()).claimCode;
    if (this.#opt("key-url")) return this.#render("seal", this.#sealBody("handoff"));
    this.#leave();
  }

  #sealBody(path) {
    this.#sealPath = path;
    // The direct path needs only the device's name: its key is checked against the record,
    // and the network is chosen from the device's own list later.
    if (path !== "handoff") {
      return `<h2 tabindex="-1">${this.#t("sealTitle")}</h2><form id="seal-form" novalidate>
      <div class="field"><label for="device-name">${this.#t("deviceName")}</label><input id="device-name" autocomplete="off" value="${escapeHtml(this.#opt("device-name") || "")}"></div>
      <p class="error" id="form-error" role="alert"></p>
      <button type="submit">${this.#t("continue")}</button></form>`;
    }
    return `<h2 tabindex="-1">${this.#t("sealTitle")}</h2><form id="seal-form" novalidate>
      <div class="field"><label for="device-name">${this.#t("deviceName")}</label><input id="device-name" autocomplete="off" value="${escapeHtml(this.#opt("device-name") || "")}"></div>
      <div class="field"><label for="ssid">${this.#t("networkName")}</label><input id="ssid" autocomplete="off"></div>
      <div class="field"><label for="security">${this.#t("security")}</label>
        <select id="security"><option value="4194308">WPA2</option><option value="2097156">WPA</option>
        <option value="open">${this.#t("open")}</option></select></div>
      <div class="field" id="password-field"><label for="password">${this.#t("password")}</label>
        <input id="password" type="password" autocomplete="current-password">
        <label><input id="show" type="checkbox" style="width:auto"> ${this.#t("showPassword")}</label></div>
      <p class="error" id="form-error" role="alert"></p>
      <button type="submit">${this.#t("continue")}</button></form>`;
  }

  /**
   * The maker's record of this device's key: on the handoff it seals the password here (sealed
   * mode); on the direct path the device must have that key before anything is sent.
   */
  async #sealed(form) {
    const $ = (id) => this.shadowRoot.getElementById(id);
    const error = (key) => { $("form-error").textContent = this.#t(key); };
    const direct = this.#sealPath !== "handoff";
    const open = !direct && $("security").value === "open";
    const password = direct || open ? "" : $("password").value;
    if (!direct && !$("ssid").value) return error("ssid-empty");
    let record;
    try {
      const url = new URL(this.#opt("key-url"), document.baseURI);
      url.searchParams.set("device", $("device-name").value.trim());
      const response = await fetch(url);
      record = response.ok ? await response.json() : null;
    } catch {
      return error("cloud-unreachable");
    }
    if (!record?.publicKey) return error("device-not-in-records");
    const name = $("device-name").value.trim();
    if (direct) {
      let expected;
      try {
        expected = this.#api.fingerprintOf(record.publicKey);
      } catch {
        return error("device-not-in-records");
      }
      this.#render("preparing");
      try {
        return await this.#direct(this.#api, await this.#token(), expected);
      } catch (e) {
        return this.#fail(e, "intro");
      }
    }
    let sealed;
    try {
      sealed = this.#handoffApi.seal({ publicKey: record.publicKey, ssid: $("ssid").value, password, security: open ? 0 : Number($("security").value) });
    } catch (e) {
      $("form-error").textContent = this.#message(e);
      return;
    }
    form.reset();
    this.#leave(sealed, /^[A-Za-z]+-\w+$/.test(name) ? name : undefined);
  }

  /** "Join the device's network, then Continue": a link, so a real top-level navigation. */
  #leave(sealed, apName) {
    const back = location.href.split("#")[0];
    const url = this.#handoffApi.handoffUrl({
      deviceUrl: this.#opt("device-url") || "http://192.168.0.1",
      page: this.#opt("device-page"),
      claimCode: this.#claimCode,
      back,
      fingerprint: sealed?.fingerprint ?? this.#opt("expected-fingerprint"),
      lang: this.#lang,
      sealed,
    });
    // Only what is not secret survives the trip: the devices set up so far.
    sessionStorage.setItem(STORE, JSON.stringify({ setUp: this.#setUp }));
    this.#render("handoff", `<h2 tabindex="-1">${this.#t("joinTitle")}</h2><p>${this.#t("handoffText", apName ? { ap: apName } : {})}</p>
      <a class="button" id="continue" href="${escapeHtml(url)}">${this.#t("continue")}</a>`);
  }

  /**
   * Back from the device page: verify through the cloud, now that we are online again. A lost
   * connect-ap reply ("connecting") is verified the same way; a return that does not validate
   * (a crafted link) is refused.
   */
  async #returned() {
    try {
      this.#setUp = JSON.parse(sessionStorage.getItem(STORE) || "{}").setUp || [];
    } catch {
      this.#setUp = [];
    }
    this.#render("preparing");
    let back;
    try {
      await this.#load();
      back = this.#handoffApi.readReturn();
    } catch (error) {
      return this.#fail(error, "intro");
    }
    if (!back) return this.#render("intro");
    if (back.result === "invalid") return this.#fail({ code: "handoff-invalid", step: "handoff" }, "intro");
    if (!back.ok) return this.#fail({ code: back.code, step: "handoff" }, "intro");
    this.#render("rejoin");
    this.shadowRoot.getElementById("blue-again").hidden = true;
    try {
      const api = this.#api;
      const token = await this.#token();
      const cloud = new api.Cloud({ apiUrl: this.#opt("api-url"), accessToken: token, productId: this.#opt("product-id") });
      const timeoutMs = Number(this.#opt("cloud-wait-ms")) || undefined;
      await cloud.waitForDevice(back.deviceId, { intervalMs: 1500, timeoutMs });
      this.#setUp.push(back.deviceId);
      sessionStorage.setItem(STORE, JSON.stringify({ setUp: this.#setUp }));
      this.#render("done");
      this.#emit("softap-done", { deviceIds: [...this.#setUp] });
    } catch (error) {
      this.#fail(error, "intro");
    }
  }

  #message(error) {
    const code = error?.code;
    if (code && (this.#custom[this.#lang]?.[code] || MESSAGES[this.#lang][code] || MESSAGES.en[code])) {
      return this.#t(code);
    }
    return this.#t("other", { message: error?.message || String(error) });
  }

  #fail(error, retryTo) {
    this.#retryTo = retryTo;
    this.#emit("softap-error", { code: error?.code, step: error?.step, message: error?.message });
    const body = `<h2 tabindex="-1">${this.#t("title")}</h2><p class="error" role="alert">${this.#message(error)}</p>
      <button id="retry">${this.#t("retry")}</button>`;
    this.#render("error", body);
  }

  #retry() {
    const to = this.#retryTo;
    if (to === "intro" || !this.#flow) return this.#start();
    if (to === "join") return this.#join();
    if (to === "rejoin") {
      this.#render("rejoin");
      return this.#waitForCloud().then((id) => {
        this.#setUp.push(id);
        this.#render("done");
        this.#emit("softap-done", { deviceIds: [...this.#setUp] });
      }, (error) => this.#fail(error, "rejoin"));
    }
    return this.#render("networks", this.#networksBody(false));
  }
}

if (!customElements.get("softap-setup")) customElements.define("softap-setup", SoftApSetupElement);
