// The https→device handoff, for browsers whose https pages cannot reach the device (Safari,
// every iPhone browser, Firefox): the maker's page, while online, gets the claim code, then
// sends the customer by a top-level navigation to the page the device serves, with
// everything in the URL fragment (never sent over the network). The device page returns to
// the maker's page with the result in the fragment.
//
// The link, the return and sealing are the wasm core's (softap_web.js): this module adds only
// what the page itself knows — whether this browser has Local Network Access, its address
// and its history. Call the package's `init()` before `handoffUrl`, `readReturn` or `seal`.
import { handoffUrl as coreHandoffUrl, pathFor, readHandoffReturn, sealNetwork } from "./softap_web.js";

/**
 * "direct" when this page can call the device itself, else "handoff" (the rule is the
 * core's: an https page needs Local Network Access, which only Chromium knows; an http page
 * reaches the device everywhere but in Chromium; a loopback device is always reachable).
 */
export async function choosePath(deviceUrl, { protocol = location.protocol } = {}) {
  let lna = false;
  try {
    await navigator.permissions.query({ name: "local-network-access" });
    lna = true;
  } catch {
    // No such permission in this browser: no Local Network Access either.
  }
  return pathFor(deviceUrl, protocol === "https:", lna);
}

/**
 * The device page's URL: a fresh random query (so no browser shows a page it cached from an
 * earlier device, or an impostor), the handoff in the fragment.
 */
export function handoffUrl(options) {
  return coreHandoffUrl(options);
}

/**
 * The device page's answer, if this page was returned to: `{ result, deviceId, code, ok }`
 * (`result` "ok", "connecting", "error" or "invalid"), and the fragment is taken out of the
 * address bar. `null` otherwise.
 */
export function readReturn() {
  let back;
  try {
    back = readHandoffReturn(location.hash);
  } catch {
    back = { result: "invalid" };
  }
  if (back === null) return null;
  history.replaceState(history.state, "", location.pathname + location.search);
  return { ...back, ok: back.result === "ok" || back.result === "connecting" };
}

/**
 * Sealed mode: the network checked and its password encrypted with the key the maker
 * recorded for the device (hex DER), before the customer leaves for the device's network.
 * The device page checks the fingerprint before it relays anything.
 */
export function seal({ publicKey, ...network }) {
  return sealNetwork(publicKey, network);
}
