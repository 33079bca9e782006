// The device page's logic, as an ES module without the DOM: the handoff link it reads, the
// return link it builds, every reply of the device read as its bytes arrive (the tolerant
// scan parser included), the configure-ap body, the claim code's form, and one retry policy.
// It does what the Rust core does, case for case: both run the shared corpus tests/vectors/
// (tests/js/vectors.test.mjs here). scripts/device-page.mjs inlines it, with ../seal.js and
// page.js, into the page the device serves; tests import it as it is.
import { bytesOfHex, encrypt, readKey } from "../seal.js";

/** An Error with the library's code (and the field to fix, where an input is to blame). */
export const fail = (code, field) => Object.assign(new Error(code), field ? { code, field } : { code });

// --- Deadlines, caps and the retry policy (tests/vectors/retry.json) ---------------------

/** How long one attempt may take, ms: a scan takes seconds, configure-ap scans twice. */
export const deadline = (command) => ({ "scan-ap": 30000, "configure-ap": 65000 })[command] || 8000;

/** The largest reply accepted, bytes: past it the reply is refused, whatever follows. */
export const replyCap = (command) => ({ "scan-ap": 65536, "public-key": 2048 })[command] || 256;

/** How long to wait for the end of a complete reply: 0.7 firmware ends bodies at once, 0.6 never. */
export const END_GRACE_MS = 250;

/**
 * After failed attempt `attempt` (1-based) of `command`: `{ retry: true, delayMs }`,
 * `{ error }` or `{ outcome: "probably-connecting" }`. Failures: dropped (no reply byte, the
 * connection failed), timeout (no reply byte by the deadline), busy (503: refused unseen),
 * status (another HTTP status), broken (lost after the reply began), stalled (the deadline
 * passed after the reply began). Reads are sent again; set and configure-ap only when the
 * device cannot have run them; connect-ap never once it may have arrived.
 */
export function afterFailure(command, failure, attempt, enterprise) {
  const began = failure === "broken" || failure === "stalled";
  const error = failure === "busy" || failure === "status" ? "device-http-status"
    : failure === "dropped" || failure === "broken" ? "device-unreachable" : "timeout";
  if (failure === "status") return { error };
  // 0.6 firmware refuses enterprise settings with headers and silence.
  if (failure === "stalled" && command === "configure-ap" && enterprise) return { error: "firmware-too-old" };
  if (command === "connect-ap" && failure !== "busy") return { outcome: "probably-connecting" };
  if (attempt >= 3 || (began && (command === "set" || command === "configure-ap"))) return { error };
  return { retry: true, delayMs: failure === "busy" ? 1000 : 250 << (attempt - 1) };
}

// --- Claim code, names, the handoff link and the return link ------------------------------

const utf8 = (text) => new TextEncoder().encode(text);

/** A claim code as the cloud issues it: 63 characters of A-Z a-z 0-9 + /. */
export function checkClaimCode(code) {
  if ([...code].length !== 63) throw fail("claim-code-length", "claimCode");
  if (!/^[A-Za-z0-9+/]*$/.test(code)) throw fail("unsupported-character", "claimCode");
}

/** What the device stores without unescaping it: no `"`, `\` or control characters. */
const plain = (text, field) => {
  if (/["\\\0-\x1f]/.test(text)) throw fail("unsupported-character", field);
};

function checkSsid(ssid) {
  const bytes = utf8(ssid).length;
  if (!bytes || bytes > 32) throw fail("ssid-length", "ssid");
  plain(ssid, "ssid");
}

/** A user name or outer identity: at most 64 bytes, nothing the device cannot store. */
function identity(value, field) {
  if (utf8(value).length > 64) throw fail("field-too-long", field);
  plain(value, field);
  return value;
}

/**
 * The handoff the page was given (`#v=1&cc=…&back=…[&fp=…][&lang=…][&ssid=…&sec=…[&pwd=…]
 * [&eap=25&ii=…[&oi=…]]]`), every field checked, `back` against the origins fixed when the page
 * was generated: `{ claimCode, back, fingerprint?, lang?, sealed? }`, or throws
 * "handoff-invalid" naming the field. Unknown keys are ignored.
 */
export function readHandoff(fragment, origins) {
  const text = fragment.replace(/^#/, "");
  // The longest handoff (sealed PEAP, a long way back) is well under 4 KB.
  if (!text || text.length > 4096) throw fail("handoff-invalid");
  const data = new Map();
  for (const [key, value] of new URLSearchParams(text)) {
    if (data.has(key)) throw fail("handoff-invalid", key);
    data.set(key, value);
  }
  const has = (key) => data.has(key);
  const get = (key) => data.get(key) ?? "";
  const check = (key, ok) => {
    if (!ok) throw fail("handoff-invalid", key);
  };
  const valid = (key, fn) => {
    try {
      fn(get(key));
    } catch {
      check(key, false);
    }
  };
  check("v", get("v") === "1");
  valid("cc", checkClaimCode);
  const back = backUrl(get("back"), origins);
  check("back", back);
  const out = { claimCode: get("cc"), back };
  if (has("fp")) {
    check("fp", /^[0-9a-f]{64}$/i.test(get("fp")));
    out.fingerprint = get("fp").toLowerCase();
  }
  if (has("lang")) {
    check("lang", /^[a-z]{2,3}(-[a-z0-9]{1,8})*$/i.test(get("lang")));
    out.lang = get("lang").split("-")[0].toLowerCase();
  }
  // Sealed mode: the home network, its password encrypted on the maker's page for the key
  // recorded for this device; nothing goes out unless the device has that key.
  if (["ssid", "sec", "pwd", "eap", "ii", "oi"].some(has)) {
    check("fp", out.fingerprint);
    valid("ssid", checkSsid);
    check("sec", /^\d{1,10}$/.test(get("sec")));
    const sealed = { ssid: get("ssid"), sec: +get("sec") };
    let kind;
    try {
      kind = securityClass(sealed.sec);
    } catch {
      check("sec", false);
    }
    if (kind) {
      // RSA ciphertext as long as the recorded key's modulus: 1024 to 4096 bits.
      check("pwd", /^(?:[0-9a-f]{2}){128,512}$/i.test(get("pwd")));
      sealed.pwd = get("pwd");
    } else check("pwd", !has("pwd"));
    if (kind === ENTERPRISE) {
      check("eap", get("eap") === "25");
      valid("ii", (ii) => check("ii", ii && identity(ii)));
      sealed.eap = 25;
      sealed.ii = get("ii");
      if (has("oi")) {
        valid("oi", (oi) => check("oi", oi && identity(oi)));
        sealed.oi = get("oi");
      }
    } else ["eap", "ii", "oi"].forEach((key) => check(key, !has(key)));
    out.sealed = sealed;
  }
  return out;
}

/** `back` if it is an absolute URL of one of `origins`, without credentials; its fragment dropped. */
export function backUrl(back, origins) {
  try {
    const url = new URL(back);
    if (url.username || url.password || !origins.includes(url.origin)) return;
    url.hash = "";
    return url.href;
  } catch {
    // Not an absolute URL.
  }
}

/** The way back: `back#softap=1&result=ok|connecting|error[&code=…][&device=…]`. */
export function returnUrl({ back, result, code, deviceId }) {
  const data = { softap: 1, result };
  if (code) data.code = code;
  if (deviceId) data.device = deviceId;
  return `${back}#${new URLSearchParams(data)}`;
}

// --- Security values and the configure-ap body -------------------------------------------

const OPEN = 0, WEP = 1, PERSONAL = 2, ENTERPRISE = 3;

// The names of the WICED table (spec §5.2), as the core takes them.
const NAMES = {
  open: 0, none: 0, wep_psk: 1, wep: 1, wep_shared: 0x8001, wpa_tkip: 0x200002, wpa_aes: 0x200004,
  wpa_mixed: 0x200006, wpa: 0x200006, wpa2_aes: 0x400004, wpa2_tkip: 0x400002, wpa2_mixed: 0x400006,
  wpa2: 0x400006, wpa_enterprise_tkip: 0x2200002, wpa_enterprise_aes: 0x2200004, wpa_enterprise_mixed: 0x2200006,
  wpa_enterprise: 0x2200006, wpa2_enterprise_tkip: 0x2400002, wpa2_enterprise_aes: 0x2400004,
  wpa2_enterprise_mixed: 0x2400006, wpa2_enterprise: 0x2400006, ibss_open: 0x20000000, wps_open: 0x10000000,
  wps_secure: 0x10000004, unknown: -1,
};

/** How a security value is configured: OPEN, WEP, PERSONAL or ENTERPRISE; or unsupported. */
export function securityClass(sec) {
  if (!Number.isInteger(sec) || sec < 0 || sec > 0xffffffff || sec & 0x20000000) throw fail("unsupported-security");
  return sec & 0x2000000 ? ENTERPRISE : sec & 0x600006 ? PERSONAL : sec & 1 ? WEP : OPEN;
}

export const isEnterprise = (sec) => sec >= 0 && !!(sec & 0x2000000);

function securityOf(security) {
  if (security == null) return 0;
  if (typeof security === "number") return security;
  // As the core reads a name: ASCII case only, a sign allowed, -1 or 0..2^32-1.
  const name = String(security).trim().replace(/[A-Z]/g, (c) => c.toLowerCase()).replace(/[- ]/g, "_");
  if (Object.hasOwn(NAMES, name)) return NAMES[name];
  const number = /^[+-]?\d+$/.test(name) ? Number(name) : NaN;
  if (number === -1 || (number >= 0 && number <= 0xffffffff)) return number + 0;
  throw fail("unknown-security");
}

/**
 * Checks the customer's network as the device would take it (the core's rules, field by
 * field): `{ ssid, sec, kind, secret?, ii?, oi?, ca? }` where `secret` is what goes
 * RSA-encrypted as `pwd`. EAP-TLS is not for this page: it needs the maker's https page.
 */
export function checkNetwork(network) {
  const { ssid = "", password, eap } = network;
  checkSsid(ssid);
  const sec = securityOf(network.security);
  const kind = securityClass(sec);
  const given = (value) => value != null && value !== "";
  const enterpriseGiven = eap != null
    || ["innerIdentity", "outerIdentity", "clientCertificate", "privateKey", "caCertificate"].some((k) => given(network[k]));
  if (enterpriseGiven && kind !== ENTERPRISE) throw fail("security-mismatch");
  const out = { ssid, sec, kind };
  const bytes = given(password) ? utf8(password) : new Uint8Array(0);
  if (kind === OPEN && bytes.length) throw fail("password-not-allowed", "password");
  if (kind === WEP) {
    if (!bytes.length) throw fail("password-required", "password");
    const hex = /^[0-9a-f]*$/i.test(password);
    const key = [5, 13].includes(bytes.length) && bytes.every((b) => b >= 32 && b < 127) ? bytes
      : [10, 26].includes(bytes.length) && hex ? bytesOfHex(password) : null;
    if (!key) throw fail("wep-key-format", "password");
    // WICED's key record, hex: key index 0, the key's length, the key.
    out.secret = Array.from([0, key.length, ...key], (b) => b.toString(16).padStart(2, "0")).join("");
  }
  if (kind === PERSONAL) {
    if (!bytes.length) throw fail("password-required", "password");
    const psk = bytes.length === 64 && /^[0-9a-f]*$/i.test(password);
    const chars = [...password].length;
    if (!psk && (chars < 8 || chars > 63 || bytes.length > 63)) throw fail("passphrase-length", "password");
    if (password.includes("\0")) throw fail("unsupported-character", "password");
    out.secret = password;
  }
  if (kind === ENTERPRISE) {
    if (eap == null) throw fail("missing-field", "eap");
    const method = String(eap).trim().toLowerCase();
    const peap = ["peap", "peap/mschapv2", "peap-mschapv2", "25"].includes(method);
    if (!peap && !["tls", "eap-tls", "eap_tls", "13"].includes(method)) throw fail("unknown-eap-method", "eap");
    if (given(network.outerIdentity)) out.oi = identity(network.outerIdentity, "outerIdentity");
    if (given(network.caCertificate)) out.ca = pem(network.caCertificate, "caCertificate");
    if (!peap) throw fail("unsupported-security", "eap");
    if (!given(network.innerIdentity)) throw fail("missing-field", "innerIdentity");
    if (!bytes.length) throw fail("missing-field", "password");
    if (bytes.length > 64) throw fail("field-too-long", "password");
    if (password.includes("\0")) throw fail("unsupported-character", "password");
    if (given(network.clientCertificate) || given(network.privateKey)) throw fail("security-mismatch");
    out.ii = identity(network.innerIdentity, "innerIdentity");
    out.secret = password;
  }
  return out;
}

/** PEM as the reference client sends it: trimmed, ending in CRLF; the device unescapes it. */
function pem(text, field) {
  const trimmed = text.trim();
  if (!trimmed.startsWith("-----BEGIN ") || !trimmed.endsWith("-----")) throw fail("not-pem", field);
  if (/[\0-\x07\x0b\x0e-\x1f]/.test(trimmed)) throw fail("unsupported-character", field);
  const normalized = `${trimmed}\r\n`;
  if (utf8(normalized).length > 4095) throw fail("field-too-long", field);
  return normalized;
}

/**
 * The configure-ap body, exact text: idx, ssid, pwd (RSA-encrypted for the device's key),
 * ch, sec, then eap, oi, ii, ca for PEAP. `network` is checked first (checkNetwork); a sealed
 * network from the handoff comes with its `pwd` already encrypted. Firmware 0.6 cannot store
 * enterprise settings: refused before anything is sent.
 */
export function configureBody(network, key, firmware = "0.7") {
  const n = network.sealed ? { ...network.sealed, kind: securityClass(network.sealed.sec) } : checkNetwork(network);
  if (n.kind === ENTERPRISE && firmware === "0.6") throw fail("firmware-too-old");
  const pwd = n.secret != null ? encrypt(key, n.secret) : n.pwd;
  // A sealed password is RSA ciphertext for the device's own key: exactly as long as its modulus.
  if (network.sealed && pwd && pwd.length !== key.bytes * 2) throw fail("handoff-invalid", "pwd");
  let body = `{"idx":0,"ssid":"${n.ssid}"`;
  if (pwd) body += `,"pwd":"${pwd}"`;
  const { channel } = network;
  if (Number.isInteger(channel) && channel >= 0 && channel <= 0xffffffff) body += `,"ch":${channel}`;
  body += `,"sec":${n.sec}`;
  if (n.kind === ENTERPRISE) {
    body += `,"eap":25${n.oi ? `,"oi":"${n.oi}"` : ""},"ii":"${n.ii}"`;
    if (n.ca) body += `,"ca":${JSON.stringify(n.ca)}`;
  }
  return `${body}}`;
}

/** The set body for a checked claim code. */
export const setBody = (claimCode) => (checkClaimCode(claimCode), `{"k":"cc","v":"${claimCode}"}`);

// --- Reading replies ----------------------------------------------------------------------

const isSpace = (b) => b === 32 || b === 9 || b === 10 || b === 13;
const space = (b, i, end) => {
  while (i < end && isSpace(b[i])) i++;
  return i;
};
const latin1 = (b, i, j) => String.fromCharCode(...b.subarray(i, j));

// What one byte did to a value: it goes on, ended with this byte, ended before it, or is bad.
const GOES_ON = 0;
const DONE = 1;
const DONE_BEFORE = 2;
const WRONG = 3;

/** A JSON number's place in the grammar after `c`: 1 -, 2 0, 3 integer, 4 ., 5 fraction,
 * 6 e, 7 exponent sign, 8 exponent digits; 0 a number byte out of place, -1 no number byte. */
function numberAfter(s, c) {
  if (c >= 48 && c <= 57) return s === 1 ? (c === 48 ? 2 : 3) : s === 3 ? 3 : s === 4 || s === 5 ? 5 : s >= 6 ? 8 : 0;
  if (c === 46) return s === 2 || s === 3 ? 4 : 0;
  if (c === 101 || c === 69) return s === 2 || s === 3 || s === 5 ? 6 : 0;
  if (c === 43 || c === 45) return s === 6 ? 7 : 0;
  return -1;
}

/** What a one-letter JSON escape stands for. */
const ESCAPED = { __proto__: null, '"': '"', "\\": "\\", "/": "/", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" };

/**
 * One JSON value checked a byte at a time (containers nested at most 16 deep inside it), as
 * the core's scan reader does: `push(c)` says what the byte did; `int` is the value when it is a
 * whole number at the top, else NaN.
 */
function valueLexer() {
  // States: 0 a value starts, 1 string, 2 number, 3 word, 4 after an item, 5 first key or },
  // 6 key, 7 colon, 8 first item or ].
  let st = 0;
  let esc = 0;
  let key = false;
  let num = 0;
  let word = "";
  let matched = 0;
  const kinds = []; // open containers: true for an object
  let name = ""; // the top object's key being read, while it is one
  let code = 0; // a \u escape's value so far
  const self = {
    int: NaN,
    // The top object's fields that are whole numbers as written (2, not 2.0 or 2e0).
    whole: Object.create(null),
    push(c) {
      const sp = isSpace(c);
      switch (st) {
        case 8:
          if (sp) return GOES_ON;
          if (c === 93) return close();
        // falls through
        case 0:
          if (sp) return GOES_ON;
          return start(c);
        case 1: {
          // The top object's keys are kept decoded, as the core reads them.
          const keep = key && kinds.length === 1 && name.length < 16;
          if (esc === 1) {
            const simple = ESCAPED[String.fromCharCode(c)];
            if (c === 117) {
              esc = 5;
              code = 0;
            } else if (simple !== undefined) {
              esc = 0;
              if (keep) name += simple;
            } else return WRONG;
          } else if (esc) {
            const digit = parseInt(String.fromCharCode(c), 16);
            if (Number.isNaN(digit)) return WRONG;
            code = code * 16 + digit;
            esc = esc === 2 ? 0 : esc - 1;
            if (!esc && keep) name += String.fromCharCode(code);
          } else if (c === 92) esc = 1;
          else if (c === 34) {
            if (!key) return itemDone();
            st = 7;
          } else if (keep) name += String.fromCharCode(c);
          return GOES_ON;
        }
        case 2: {
          const next = numberAfter(num, c);
          if (next > 0) {
            num = next;
            if (!kinds.length) self.int = num === 2 || num === 3 ? self.int * 10 + (c - 48) * (self.neg ? -1 : 1) : num === 1 ? self.int : NaN;
            return GOES_ON;
          }
          if (next === 0 || ![2, 3, 5, 8].includes(num)) return WRONG;
          const got = itemDone();
          return got === DONE ? DONE_BEFORE : self.push(c);
        }
        case 3:
          if (c !== word.charCodeAt(matched)) return WRONG;
          return ++matched === word.length ? itemDone() : GOES_ON;
        default:
          if (sp) return GOES_ON;
      }
      if (st === 4) {
        const object = kinds[kinds.length - 1];
        if (c === 44) st = object ? 6 : 0;
        else if (c === (object ? 125 : 93)) return close();
        else return WRONG;
      } else if (st === 5 && c === 125) return close();
      else if (st === 5 || st === 6) {
        if (c !== 34) return WRONG;
        st = 1;
        key = true;
        name = "";
      } else {
        if (c !== 58) return WRONG;
        st = 0;
      }
      return GOES_ON;
    },
  };
  const start = (c) => {
    if (kinds.length > 16) return WRONG;
    key = false;
    if (c === 34) st = 1;
    else if (c === 123 || c === 91) {
      kinds.push(c === 123);
      st = c === 123 ? 5 : 8;
    } else if (c === 116 || c === 102 || c === 110) {
      word = c === 116 ? "true" : c === 102 ? "false" : "null";
      matched = 1;
      st = 3;
    } else if (c === 45 || (c >= 48 && c <= 57)) {
      num = c === 45 ? 1 : c === 48 ? 2 : 3;
      if (!kinds.length) {
        self.neg = c === 45;
        self.int = num === 3 ? (self.neg ? -1 : 1) * (c - 48) : 0;
      }
      st = 2;
    } else return WRONG;
    return GOES_ON;
  };
  const itemDone = () => {
    if (kinds.length === 1 && kinds[0]) self.whole[name] = st === 2 && (num === 2 || num === 3);
    if (!kinds.length) {
      self.int = Number.isSafeInteger(self.int) && st === 2 && [2, 3].includes(num) ? self.int || 0 : NaN;
      return DONE;
    }
    st = 4;
    return GOES_ON;
  };
  const close = () => {
    kinds.pop();
    return itemDone();
  };
  return self;
}

/** A growing byte buffer, at most `max` bytes. */
function buffer(max) {
  let bytes = new Uint8Array(256);
  const self = {
    len: 0,
    get bytes() {
      return bytes;
    },
    /** Takes what fits; returns whether everything did. */
    add(data) {
      const take = Math.min(data.length, max - self.len);
      if (self.len + take > bytes.length) {
        const grown = new Uint8Array(Math.min(max, Math.max(bytes.length * 2, self.len + take)));
        grown.set(bytes.subarray(0, self.len));
        bytes = grown;
      }
      bytes.set(data.subarray(0, take), self.len);
      self.len += take;
      return take === data.length;
    },
    blank: () => bytes.subarray(0, self.len).every(isSpace),
  };
  return self;
}

/**
 * A reader of `command`'s reply: `feed(bytes)` as they arrive and `end()` when the stream
 * ends, each returning the outcome once there is one (undefined: more bytes needed):
 * `{ version }`, `{ deviceId: { id, claimed } }`, `{ key }`, `{ networks }`, `{ ok: true }`
 * or `{ error }`. The first whole reply counts, whatever follows (0.6 never ends its bodies);
 * past the command's cap the reply is refused. Each byte is read once, so the outcome is the
 * same however the body was cut.
 */
export function replyReader(command) {
  if (command === "scan-ap") return scanReader();
  const buf = buffer(replyCap(command));
  const invalid = { error: "invalid-response" };
  let outcome;
  let at = 0;
  let start = -1;
  let lexer;
  const read = (finished) => {
    const b = buf.bytes;
    for (; at < buf.len; at++) {
      if (!lexer) {
        if (isSpace(b[at])) continue;
        if (b[at] !== 123) return invalid;
        lexer = valueLexer();
        start = at;
      }
      const got = lexer.push(b[at]);
      if (got === WRONG) return invalid;
      if (got === DONE) {
        // Raw control bytes are read as the core reads them (JSON.parse would refuse them).
        try {
          const o = JSON.parse(new TextDecoder().decode(b.subarray(start, at + 1)).replace(/[\0-\x1f]/g, " "));
          // As the core reads numbers: whole as written (2, not 2.0), and exact.
          for (const k of ["r", "v"]) if (!lexer.whole[k]) delete o[k];
          return interpret(command, o);
        } catch {
          return invalid;
        }
      }
    }
    if (finished) return lexer ? invalid : { error: "request-ignored" };
  };
  return {
    feed(data) {
      if (!outcome) {
        const whole = buf.add(data);
        outcome = read(false) || (whole ? undefined : invalid);
      }
      return outcome;
    },
    end: () => (outcome ||= read(true)),
  };
}

function interpret(command, o) {
  const invalid = { error: "invalid-response" };
  const r = o.r;
  const code = Number.isSafeInteger(r);
  switch (command) {
    case "version":
      return Number.isSafeInteger(o.v) && o.v >= 0 && o.v <= 0xffffffff ? { version: o.v } : invalid;
    case "device-id": {
      const claimed = typeof o.c === "boolean" ? o.c : o.c === "1" ? true : o.c === "0" ? false : undefined;
      const ok = typeof o.id === "string" && /^[0-9a-f]{24}$/i.test(o.id) && (typeof o.c === "string" || typeof o.c === "boolean");
      return ok && claimed !== undefined ? { deviceId: { id: o.id.toLowerCase(), claimed } } : invalid;
    }
    case "public-key":
      if (!code) return invalid;
      if (r) return { error: "public-key-unavailable" };
      if (typeof o.b !== "string") return invalid;
      try {
        return { key: readKey(bytesOfHex(o.b)) };
      } catch {
        return { error: "invalid-public-key" };
      }
    default:
      if (!code) return invalid;
      if (!r) return { ok: true };
      if (command === "set") return { error: r === -1 ? "claim-code-rejected" : r > 0 ? "storage-failed" : "device-error" };
      if (command === "configure-ap") {
        return { error: { [-2]: "network-not-found", [-3]: "device-rejected-ssid", [-4]: "device-rejected-password", 1: "enterprise-rejected" }[r]
          || (r > 1 ? "storage-failed" : r < -4 ? "decryption-failed" : "device-error") };
      }
      return { error: "device-error" };
  }
}

// --- The scan ------------------------------------------------------------------------------

const ENTRY_CAP = 256; // bytes of one entry: a real one is about 85
const MARK = [123, 34, 115, 115, 105, 100, 34, 58, 34]; // {"ssid":"

/**
 * The scan-ap reply, read as it arrives: `{ networks: [{ ssid, rssi, sec, channel,
 * doubtful? }] }`. SSIDs come raw (the firmware does not escape them): each `"` within 32
 * bytes of the opening one is a possible end, and a reading counts when the rest of the entry
 * parses (at most 256 bytes in all) and `,` or `]` follows it. One reading makes a clean
 * entry; more a doubtful one, read with its longest name, listed after every clean entry and
 * never merged with one. An entry without a reading is skipped up to the next `{"ssid":"` or
 * `]}`. Each byte is read once by each reading of its entry: the work is linear, and the
 * outcome the same however the body was cut.
 */
export function scanReader() {
  const buf = buffer(replyCap("scan-ap"));
  const entries = [];
  let stage = 0; // 0 open, 1 item, 2 after an entry, 3 skip, 4 closing brace, 5 in an entry
  let at = 0;
  let entry;
  let outcome;

  const advance = (finished) => {
    const b = buf.bytes;
    const len = buf.len;
    for (;;) {
      if (stage === 0) {
        // {"scans":[ with white space anywhere between its tokens.
        let i = 0;
        for (const token of ["{", '"scans"', ":", "["]) {
          i = space(b, i, len);
          for (let k = 0; k < token.length; k++, i++) {
            if (i >= len) return finished ? { error: "invalid-response" } : undefined;
            if (b[i] !== token.charCodeAt(k)) return { error: "invalid-response" };
          }
        }
        stage = 1;
        at = i;
      }
      if (stage === 5) {
        const decided = entry.advance(b, len, finished);
        if (!decided) return;
        if (decided === SKIP) {
          at = entry.start + 1;
          stage = 3;
        } else {
          if (decided[0]) entries.push(decided[0]);
          at = decided[1];
          stage = 2;
        }
        continue;
      }
      const i = space(b, at, len);
      if (stage === 3) {
        // The next {"ssid":" or ]}, in one pass; a prefix at the end is looked at again.
        let j = at;
        for (; j < len; j++) {
          if (b[j] === 123 && MARK.every((m, k) => j + k >= len || b[j + k] === m)) break;
          if (b[j] === 93 && (j + 1 >= len || b[j + 1] === 125)) break;
        }
        at = j;
        if (j >= len || (b[j] === 123 && j + MARK.length > len) || (b[j] === 93 && j + 1 >= len)) {
          return finished ? { error: "invalid-response" } : undefined;
        }
        if (b[j] === 93) return { networks: list(entries) };
        stage = 1;
        continue;
      }
      if (i >= len) return finished ? { error: "invalid-response" } : undefined;
      if (stage === 4) {
        if (b[i] !== 125) return { error: "invalid-response" };
        return { networks: list(entries) };
      }
      if (stage === 2) {
        at = b[i] === 44 ? i + 1 : b[i] === 93 ? i + 1 : i;
        stage = b[i] === 44 ? 1 : b[i] === 93 ? 4 : 3;
        continue;
      }
      // stage 1: an entry, or the list's end.
      at = i;
      if (b[i] === 93) {
        at = i + 1;
        stage = 4;
      } else if (b[i] === 123) {
        entry = entryReader(i);
        stage = 5;
      } else stage = 3;
    }
  };

  return {
    feed(data) {
      if (!outcome) {
        const whole = buf.add(data);
        outcome = advance(false) || (whole ? undefined : { error: "invalid-response" });
      }
      return outcome;
    },
    end: () => (outcome ||= buf.blank() ? { error: "request-ignored" } : advance(true)),
  };
}

const SKIP = {}; // an entry without a reading
// Where a reading is: 0 after the entry's {, 1 after a value (or the name), 2 after a comma,
// 3 in a key, 4 after a key, 5 in a value, 6 after the entry's }, 7 after the ] that follows
// it; then 8 counted, 9 the name comes next (before it), 10 failed. Below 7: still open.
const LIST_END = 7;
const COUNTED = 8;
const NAME_NEXT = 9;
const FAILED = 10;

/** Takes byte `c` at `i` into reading `r`; `before`: the name is still to come. */
function step(r, c, i, before) {
  const sp = isSpace(c);
  switch (r.s) {
    case 0:
    case 1:
      if (sp) return;
      if (c === 125) {
        r.s = 6;
        r.end = i + 1;
        return;
      }
      if (r.s === 1 && c === 44) {
        r.s = 2;
        return;
      }
      if (r.s === 0 && c === 34) {
        r.s = 3;
        r.k = "";
        return;
      }
      break;
    case 2:
      if (sp) return;
      if (c === 34) {
        r.s = 3;
        r.k = "";
        return;
      }
      break;
    case 3:
      if (c === 34) {
        r.s = 4;
        return;
      }
      if (r.k.length < 16) {
        r.k += String.fromCharCode(c);
        return;
      }
      break;
    case 4:
      if (sp) return;
      // A second name would make the entry say two things.
      if (r.k === "ssid") {
        if (c === 58 && before) {
          r.s = NAME_NEXT;
          return;
        }
        break;
      }
      if (c === 58) {
        r.s = 5;
        r.v = valueLexer();
        return;
      }
      break;
    case 5: {
      const got = r.v.push(c);
      if (got === GOES_ON) return;
      if (got === WRONG) break;
      if (["rssi", "sec", "ch"].includes(r.k)) r.f[r.k] = r.v.int;
      r.s = 1;
      if (got === DONE_BEFORE) step(r, c, i, before);
      return;
    }
    case 6:
      if (sp) return;
      if (c === 44) {
        r.s = COUNTED;
        r.last = false;
        return;
      }
      if (c === 93) {
        r.s = LIST_END;
        return;
      }
      break;
    case LIST_END:
      if (sp) return;
      r.s = COUNTED;
      r.last = c === 125;
      return;
    default:
      return;
  }
  r.s = FAILED;
}

/** The stream or the entry's cap ended what was open. */
function closeReading(r) {
  r.last &&= r.s === COUNTED;
  r.s = r.s === LIST_END || r.s === COUNTED ? COUNTED : FAILED;
}

/**
 * The entry whose `{` is at `start`, read a byte at a time: `advance(b, len, finished)` returns
 * undefined until decided, then SKIP or [entry or null (hidden or impossible), its end].
 */
function entryReader(start) {
  let next = start + 1;
  let phase = 0; // 0 fields before the name, 1 its opening quote next, 2 in or after it
  const before = { f: {}, s: 0 };
  let fields;
  let name;
  const readings = []; // one per possible end of the name, in order
  const decide = (b, seen, final) => {
    if (final) (phase === 0 ? [before] : readings).forEach(closeReading);
    if (phase === 0) return before.s === FAILED ? SKIP : before.s === LIST_END || before.s === COUNTED ? [null, before.end] : undefined;
    if (phase === 1) return final ? SKIP : undefined;
    if (readings.some((r) => r.s < LIST_END)) return;
    const counted = readings.filter((r) => r.s === LIST_END || r.s === COUNTED);
    const last = counted[counted.length - 1];
    // The list is whole after the longest reading: nothing the device writes comes later.
    if (!final && seen <= name + 32 && !last?.last) return;
    if (!last) return SKIP;
    // A crafted name can only put a false end before the true one: the longest reading is the
    // name as the radio heard it.
    const f = last.f;
    const bytes = b.subarray(name, last.close);
    const ok = bytes.length && f.rssi >= -128 && f.rssi <= 0 && (f.sec === -1 || (f.sec >= 0 && f.sec <= 0xffffffff));
    const entry = ok && { ssid: new TextDecoder("utf-8", { ignoreBOM: true }).decode(bytes), key: latin1(bytes, 0, bytes.length), rssi: f.rssi, sec: f.sec,
      channel: f.ch >= 0 && f.ch <= 0xffffffff ? f.ch : 0 };
    if (entry && counted.length > 1) entry.doubtful = true;
    return [entry || null, last.end];
  };
  return {
    start,
    advance(b, len, finished) {
      const cap = start + ENTRY_CAP;
      while (next < Math.min(len, cap)) {
        const i = next++;
        const c = b[i];
        if (phase === 0) {
          step(before, c, i, true);
          if (before.s === NAME_NEXT) {
            phase = 1;
            fields = before.f;
          }
        } else if (phase === 1) {
          if (c === 34) {
            phase = 2;
            name = i + 1;
          } else if (!isSpace(c)) {
            phase = 0;
            before.s = FAILED;
          }
        } else {
          for (const r of readings) if (r.s <= LIST_END) step(r, c, i, false);
          if (c === 34 && i <= name + 32) readings.push({ f: { ...fields }, s: 1, close: i });
        }
        const decided = decide(b, i + 1, false);
        if (decided) return decided;
      }
      if (finished || len > cap) return decide(b, 0, true);
    },
  };
}

/** One network per name (by bytes), the strongest kept, strongest first; doubtful ones last. */
function list(entries) {
  const groups = [new Map(), new Map()];
  for (const e of entries) {
    const group = groups[e.doubtful ? 1 : 0];
    if (!(group.get(e.key)?.rssi >= e.rssi)) group.set(e.key, e);
  }
  // A name keeps the place it was first seen at; the sort is stable: ties keep the device's order.
  return groups.flatMap((group) => [...group.values()].sort((x, y) => y.rssi - x.rssi).map(({ key, ...network }) => network));
}

// --- Talking to the device ---------------------------------------------------------------

/**
 * The device's commands over same-origin fetch (urlencoded bodies pass the firmware's
 * Content-Type routing), each attempt bounded by its deadline and reply cap, retried per the
 * policy. `call(command, body?, enterprise?)` resolves to the reply's outcome, or to
 * `{ connecting: true }` when connect-ap's reply was lost after it may have arrived; it
 * rejects with a coded Error. `firmware()` says what the device's bodies told: "0.6" when a
 * complete reply was never followed by the end of its body, else "0.7". `fetch`, `wait` (a
 * pause, ms) and `limit` (a command's deadline) are the browser's and the policy's unless given.
 */
export function deviceClient({
  fetch = globalThis.fetch.bind(globalThis), wait = (ms) => new Promise((r) => setTimeout(r, ms)), limit = deadline, base = "",
} = {}) {
  let ends;
  const attempt = async (command, body) => {
    const abort = new AbortController();
    let expired = false;
    let began = false;
    let reader;
    const timer = setTimeout(() => {
      expired = true;
      abort.abort();
    }, limit(command));
    try {
      const response = await fetch(`${base}/${command}`, body == null ? { cache: "no-store", signal: abort.signal }
        : { method: "POST", cache: "no-store", signal: abort.signal, headers: { "Content-Type": "application/x-www-form-urlencoded" }, body });
      began = true;
      reader = response.body?.getReader();
      if (response.status !== 200) return { failure: response.status === 503 ? "busy" : "status" };
      const parser = replyReader(command);
      for (;;) {
        const { done, value } = await reader.read();
        const outcome = done ? parser.end() : parser.feed(value);
        if (done) ends = true;
        else if (outcome && !ends) {
          // Learn once whether this firmware ends its bodies: 0.6 never does.
          const drain = async () => {
            while (!(await reader.read()).done);
            return true;
          };
          ends = await Promise.race([drain().catch(() => false), wait(END_GRACE_MS).then(() => false)]);
        }
        if (outcome) return { outcome };
      }
    } catch {
      // Our own deadline is a timeout (or a stall once the reply began), never a device's code.
      return { failure: expired ? (began ? "stalled" : "timeout") : began ? "broken" : "dropped" };
    } finally {
      clearTimeout(timer);
      reader?.cancel().catch(() => {});
    }
  };
  return {
    firmware: () => (ends === false ? "0.6" : "0.7"),
    async call(command, body, enterprise) {
      for (let n = 1; ; n++) {
        const { outcome, failure } = await attempt(command, body);
        if (outcome?.error) throw fail(outcome.error);
        if (outcome) return outcome;
        const next = afterFailure(command, failure, n, enterprise);
        if (next.outcome) return { connecting: true };
        if (next.error) throw fail(next.error);
        await wait(next.delayMs);
      }
    },
  };
}
