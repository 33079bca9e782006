// The device page: served by the device itself (make device-page), so same-origin with it in
// every browser, with no mixed content and no Local Network Access prompt. The maker's https
// page hands over in the URL fragment, which never leaves the browser:
//   #v=1&cc=<claim code>&back=<https URL to return to>[&fp=<key fingerprint>][&lang=de]
//     [&product=<name>][&ssid=<home network>&pwd=<password sealed with the device key>[&sec=<n>]]
// This page relays to the device's commands and returns to `back` with
//   #softap=1&device=<id>&result=ok   or   #softap=1&result=error&code=<error code>
// Flavours (set by the generator): "relay" speaks the protocol in plain JS (seal.js encrypts);
// "full" loads the wasm client, which also knows WEP and enterprise networks.
import { bytesOfHex, encrypt, matches, readKey } from "../seal.js";

const FLAVOUR = "relay";

const TEXT = {
  en: {
    connecting: "Talking to your {product}…", choose: "Choose your Wi-Fi network", password: "Password", user: "User name",
    show: "Show password", connect: "Connect", sending: "Sending the settings to your {product}…",
    rejoin: "Rejoin your home Wi-Fi", rejoinText: "Your {product} is connecting. Join your home Wi-Fi network again, then continue.",
    continue: "Continue", failed: "Setup stopped", back: "Back to setup", rescan: "Search again",
    none: "Your {product} sees no network it can join here. Move it closer to your router, then search again.",
    "fingerprint-mismatch": "This is not the {product} you are setting up. Do not send it your Wi-Fi password: check that you joined the right network.",
    "network-not-found": "Your {product} cannot see the network {ssid}. Move it closer to your router, or check the name.",
    "passphrase-length": "The password must have 8 to 63 characters.",
    "device-unreachable": "Your {product} does not answer. Check that this phone or computer is still on its network.",
    "handoff-invalid": "This link is incomplete. Go back to the setup page and start again.",
    "device-error": "Your {product} did not accept the settings. Try again.",
  },
  de: {
    connecting: "Verbindung mit Ihrem {product}…", choose: "Wählen Sie Ihr WLAN", password: "Passwort", user: "Benutzername",
    show: "Passwort anzeigen", connect: "Verbinden", sending: "Die Einstellungen gehen an Ihren {product}…",
    rejoin: "Zurück in Ihr WLAN", rejoinText: "Ihr {product} verbindet sich. Verbinden Sie sich wieder mit Ihrem WLAN und fahren Sie fort.",
    continue: "Weiter", failed: "Einrichtung angehalten", back: "Zurück zur Einrichtung", rescan: "Erneut suchen",
    none: "Ihr {product} sieht hier kein WLAN, dem er beitreten kann. Stellen Sie ihn näher an den Router und suchen Sie erneut.",
    "fingerprint-mismatch": "Das ist nicht der {product}, den Sie einrichten. Senden Sie ihm nicht Ihr WLAN-Passwort: Sind Sie im richtigen Netz?",
    "network-not-found": "Ihr {product} sieht das Netz {ssid} nicht. Stellen Sie ihn näher an den Router oder prüfen Sie den Namen.",
    "passphrase-length": "Das Passwort muss 8 bis 63 Zeichen haben.",
    "device-unreachable": "Ihr {product} antwortet nicht. Ist dieses Gerät noch mit seinem Netz verbunden?",
    "handoff-invalid": "Dieser Link ist unvollständig. Gehen Sie zurück zur Einrichtungsseite und beginnen Sie neu.",
    "device-error": "Ihr {product} hat die Einstellungen nicht angenommen. Versuchen Sie es erneut.",
  },
};

const params = new URLSearchParams(location.hash.slice(1));
// The claim code and any sealed password leave the address bar and the history at once.
history.replaceState(null, "", location.pathname);
const lang = [params.get("lang"), ...navigator.languages].map((l) => String(l || "").slice(0, 2)).find((l) => TEXT[l]) || "en";
const product = params.get("product") || "device";
const $ = (id) => document.getElementById(id);
const escape = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const t = (key, values = {}) => (TEXT[lang][key] || TEXT.en[key] || key)
  .replace(/\{(\w+)\}/g, (_, name) => escape({ product, ...values }[name] ?? ""));
document.documentElement.lang = lang;

const failure = (code, values) => Object.assign(new Error(code), { code, values });

/** Where to go back to: only an http(s) URL, never script. */
function backUrl(fragment) {
  const back = new URL(params.get("back"));
  if (back.protocol !== "https:" && back.protocol !== "http:") throw failure("handoff-invalid");
  back.hash = new URLSearchParams({ softap: "1", ...fragment }).toString();
  return back.href;
}

function show(title, body) {
  $("title").textContent = title;
  $("body").innerHTML = body;
  $("title").focus();
}

// The device, through plain fetch (relay) or the wasm client (full). Same origin: no CORS,
// no preflight; urlencoded bodies get past the firmware's Content-Type routing. A scan takes
// seconds in a crowded place and configure-ap scans twice: those get longer to answer.
const TIMEOUT_MS = { "scan-ap": 30000, "configure-ap": 65000 };

async function call(command, body) {
  // Reads may be sent again after a dropped connection or a busy device; commands that act
  // are sent once (a lost connect-ap reply means it is probably connecting).
  const tries = body === undefined ? 3 : 1;
  for (let attempt = 1; ; attempt++) {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), TIMEOUT_MS[command] || 8000);
    try {
      const response = await fetch(`/${command}`, body === undefined ? { cache: "no-store", signal: abort.signal }
        : { method: "POST", cache: "no-store", signal: abort.signal, headers: { "Content-Type": "application/x-www-form-urlencoded" }, body });
      const text = await response.text();
      // A 200 with an empty body is how the firmware says it failed.
      if (response.ok && text) return text;
      if (response.status !== 503 || attempt >= tries) throw failure("device-error");
    } catch (error) {
      if (error.code || attempt >= tries) throw error.code ? error : failure("device-unreachable");
    } finally {
      clearTimeout(timer);
    }
    await new Promise((resolve) => setTimeout(resolve, 500 * attempt));
  }
}

const relay = {
  async info() {
    const { id } = JSON.parse(await call("device-id"));
    const { b } = JSON.parse(await call("public-key"));
    const key = readKey(bytesOfHex(b));
    return { id, check: (fp) => matches(key, fp), key };
  },
  async scan() {
    // SSIDs arrive unescaped (a quote in a name breaks JSON): read entries field by field.
    const text = await call("scan-ap");
    const entries = text.matchAll(/\{"ssid":"(.*?)","rssi":(-?\d+),"sec":(\d+),"ch":(\d+),"mdr":\d+\}/g);
    return Array.from(entries, (m) => ({ ssid: m[1], rssi: +m[2], sec: +m[3], channel: +m[4] }));
  },
  async send(device, claimCode, network) {
    await result(call("set", `{"k":"cc","v":"${claimCode}"}`));
    const pwd = network.sealed ?? (network.password ? encrypt(device.key, network.password) : undefined);
    await result(call("configure-ap", `{"idx":0,"ssid":"${network.ssid}",${pwd ? `"pwd":"${pwd}",` : ""}"ch":${network.channel},"sec":${network.sec}}`));
    await result(call("connect-ap", `{"idx":0}`));
  },
};

async function result(reply) {
  if (JSON.parse(await reply).r !== 0) throw failure("device-error");
}

async function full() {
  const api = await import("./softap_web.js");
  // The firmware has no application/wasm type: hand the bytes over rather than stream.
  await api.default({ module_or_path: await (await fetch("./softap_web_bg.wasm")).arrayBuffer() });
  const soft = new api.SoftAP({ baseUrl: location.origin });
  const wrap = (promise) => promise.catch((error) => { throw failure(error.code || "device-error"); });
  return {
    async info() {
      const { id } = await wrap(soft.deviceInfo());
      const { fingerprint } = await wrap(soft.publicKey());
      return { id, check: (fp) => String(fp).replace(/[: ]/g, "").toLowerCase() === fingerprint };
    },
    scan: () => wrap(soft.scan()),
    async send(_, claimCode, network) {
      await wrap(soft.setClaimCode(claimCode));
      await wrap(soft.configure({
        ssid: network.ssid, password: network.password, security: network.sec, channel: network.channel,
        eap: network.eap, innerIdentity: network.innerIdentity,
      }));
      await wrap(soft.connect());
    },
  };
}

async function run() {
  show(t("connecting"), "");
  const claimCode = params.get("cc");
  if (!claimCode || !params.get("back")) throw failure("handoff-invalid");
  const device = FLAVOUR === "full" ? await full() : relay;
  const info = await device.info();
  // Nothing secret is sent to a device whose key is not the one the maker recorded.
  if (params.get("fp") && !info.check(params.get("fp"))) throw failure("fingerprint-mismatch");
  const sealed = params.get("pwd");
  let network;
  // Nothing usable in sight (a scan in a noisy moment): the customer searches again.
  while (!network) {
    const networks = await device.scan();
    network = sealed !== null ? await sealedNetwork(networks, sealed) : await choose(networks);
  }
  show(t("sending"), "");
  // A sealed password is relayed as it is, by either flavour.
  await (sealed !== null ? relay : device).send(info, claimCode, network);
  const back = backUrl({ device: info.id, result: "ok" });
  show(t("rejoin"), `<p>${t("rejoinText")}</p><a class="button" id="continue" href="${escape(back)}">${t("continue")}</a>`);
  // Back on the home network the maker's page answers: go there by ourselves.
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 2000));
    try {
      await fetch(params.get("back"), { mode: "no-cors", cache: "no-store" });
      location.replace(back);
      return;
    } catch {
      // Still on the device's network (or between networks).
    }
  }
}

async function sealedNetwork(networks, sealed) {
  const ssid = params.get("ssid") || "";
  const seen = networks.filter((n) => n.ssid === ssid).sort((a, b) => b.rssi - a.rssi)[0];
  const sec = seen?.sec ?? Number(params.get("sec"));
  if (!seen && !params.get("sec")) throw failure("network-not-found", { ssid });
  return { ssid, sec, channel: seen?.channel ?? 0, sealed: sealed || undefined };
}

const ENTERPRISE = 0x02000000;

function choose(networks) {
  const best = new Map();
  for (const n of networks) if (n.ssid && !(best.get(n.ssid)?.rssi > n.rssi)) best.set(n.ssid, n);
  // The relay speaks open and WPA/WPA2 networks; the full page also WEP and PEAP.
  const usable = [...best.values()].filter((n) => FLAVOUR === "full" || n.sec === 0 || (n.sec & 0x00600000 && !(n.sec & ENTERPRISE)))
    .sort((a, b) => b.rssi - a.rssi);
  if (!usable.length) {
    show(t("choose"), `<p>${t("none")}</p><button id="rescan">${t("rescan")}</button>`);
    return new Promise((resolve) => { $("rescan").onclick = () => resolve(null); });
  }
  show(t("choose"), `<form id="form"><ul>${usable.map((n, i) => `<li><label class="network"><input type="radio" name="n" value="${i}" ${i ? "" : "checked"}>
    ${escape(n.ssid)}</label></li>`).join("")}</ul>
    <div class="field" id="user-field"><label for="user">${t("user")}</label><input id="user" autocomplete="username"></div>
    <div class="field" id="pw"><label for="password">${t("password")}</label><input id="password" type="password" autocomplete="current-password">
    <label><input type="checkbox" id="show"> ${t("show")}</label></div>
    <p class="error" id="error" role="alert"></p><button>${t("connect")}</button></form>`);
  const chosen = () => usable[Number($("form").n.value ?? 0)] || usable[0];
  const update = () => {
    $("pw").hidden = chosen()?.sec === 0;
    $("user-field").hidden = !(chosen()?.sec & ENTERPRISE);
  };
  $("form").onchange = update;
  $("show").onchange = () => { $("password").type = $("show").checked ? "text" : "password"; };
  update();
  return new Promise((resolve) => {
    $("form").onsubmit = (event) => {
      event.preventDefault();
      const network = { ...chosen() };
      if (network.sec !== 0) network.password = $("password").value;
      if (network.sec & ENTERPRISE) {
        Object.assign(network, { eap: "peap", innerIdentity: $("user").value });
      } else if (network.sec & 0x00600000 && (network.password.length < 8 || network.password.length > 63)) {
        // The full page's wasm checks everything; the relay checks what it sends.
        $("error").textContent = t("passphrase-length");
        return;
      }
      resolve(network);
    };
  });
}

run().catch((error) => {
  const code = TEXT.en[error.code] ? error.code : "device-error";
  let back = "";
  try {
    back = `<a class="button" id="back" href="${escape(backUrl({ result: "error", code }))}">${t("back")}</a>`;
  } catch {
    // No way back was handed over.
  }
  show(t("failed"), `<p class="error" role="alert">${t(code, error.values)}</p>
    ${back}`);
});
