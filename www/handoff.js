// The https→device handoff, for browsers whose https pages cannot reach the device (Safari,
// every iPhone browser, Firefox): the maker's page, while online, gets the claim code, then
// sends the customer by a top-level navigation to the page the device serves, with
// everything in the URL fragment (never sent over the network). The device page returns to
// the maker's page with the result in the fragment. See www/device/page.js for the format.
import { bytesOfHex, encrypt, fingerprint, readKey } from "./seal.js";

const LOOPBACK = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])$/;

/**
 * "direct" when this page can call the device itself, else "handoff". An https page needs
 * Local Network Access (Chromium 142+: `permissions.query` knows the name; WebKit and
 * Firefox reject it). An http page reaches the device everywhere but in Chromium, which
 * refuses local requests from insecure pages. A loopback device (a simulator) is reachable.
 */
export async function choosePath(deviceUrl, { protocol = location.protocol } = {}) {
  if (LOOPBACK.test(new URL(deviceUrl).hostname)) return "direct";
  let lna = false;
  try {
    await navigator.permissions.query({ name: "local-network-access" });
    lna = true;
  } catch {
    // No such permission in this browser: no Local Network Access either.
  }
  return (protocol === "https:") === lna ? "direct" : "handoff";
}

/**
 * The device page's URL with the handoff in its fragment. `sealed` (from `seal`) carries the
 * home network with its password already encrypted for this device.
 */
export function handoffUrl({ deviceUrl, page = "/setup", claimCode, back, fingerprint, lang, product, sealed }) {
  const url = new URL(page, deviceUrl);
  const data = { v: "1", cc: claimCode, back };
  if (fingerprint) data.fp = fingerprint;
  if (lang) data.lang = lang;
  if (product) data.product = product;
  if (sealed) Object.assign(data, { ssid: sealed.ssid, pwd: sealed.pwd }, sealed.sec ? { sec: String(sealed.sec) } : {});
  url.hash = new URLSearchParams(data).toString();
  return url.href;
}

/**
 * The device page's answer, if this page was returned to: `{ deviceId, ok, code }`, and the
 * fragment is taken out of the address bar. `null` otherwise.
 */
export function readReturn() {
  const data = new URLSearchParams(location.hash.slice(1));
  if (data.get("softap") !== "1") return null;
  history.replaceState(null, "", location.pathname + location.search);
  return { deviceId: data.get("device"), ok: data.get("result") === "ok", code: data.get("code") || undefined };
}

/**
 * Sealed mode: the password encrypted with the key the maker recorded for the device (hex
 * DER), before the customer leaves for its network. Returns `{ ssid, pwd, sec, fingerprint }`;
 * the device page checks the fingerprint before it relays anything.
 */
export function seal({ publicKey, ssid, password, security }) {
  const key = readKey(bytesOfHex(publicKey));
  return { ssid, pwd: password ? encrypt(key, password) : "", sec: security, fingerprint: fingerprint(key) };
}
