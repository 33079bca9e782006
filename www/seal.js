// The device's RSA key in plain JS: read it (the device's padded SPKI, SPKI or PKCS#1 DER)
// under the one key policy the core applies too, fingerprint it (SHA-256 of the SPKI, as the
// wasm client does), and encrypt a password with it (PKCS#1 v1.5, hex), as configure-ap
// expects. Small enough for the device page, which is not a secure context (no
// crypto.subtle); also what the https page seals with when the maker's records know the key.
// Needs BigInt (Safari 14+) and crypto.getRandomValues.
//
// The key policy (tests/vectors/keys.json): strict DER, RSA (rsaEncryption), a modulus of
// 1024 to 4096 bits that is odd and positive, an odd exponent from 3 to 2^32-1, and nothing
// but zero padding after the DER. Anything else throws an Error with code
// "invalid-public-key".

const hexOf = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

const badKey = () => Object.assign(new Error("invalid-public-key"), { code: "invalid-public-key" });

export function bytesOfHex(hex) {
  if (!/^([0-9a-fA-F]{2})*$/.test(hex)) throw badKey();
  return Uint8Array.from(hex.match(/../g) || [], (h) => parseInt(h, 16));
}

/** The DER element with `tag` at `at` (ending by `end`): [start of content, end of content]. */
function element(der, at, end, tag) {
  if (at + 2 > end || der[at] !== tag) throw badKey();
  let length = der[at + 1];
  let start = at + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count < 1 || count > 2 || start + count > end) throw badKey();
    length = count === 1 ? der[start] : der[start] * 256 + der[start + 1];
    // Definite and minimal: a long form only where the short one cannot say it.
    if (length < (count === 1 ? 128 : 256)) throw badKey();
    start += count;
  }
  if (start + length > end) throw badKey();
  return [start, start + length];
}

/** A minimally encoded positive INTEGER's magnitude. */
function positive(der, [start, end]) {
  if (start === end || der[start] & 0x80 || (der[start] === 0 && end - start > 1 && !(der[start + 1] & 0x80))) throw badKey();
  return der.subarray(der[start] === 0 && end - start > 1 ? start + 1 : start, end);
}

const bigOf = (bytes) => (bytes.length ? BigInt("0x" + hexOf(bytes)) : 0n);

// AlgorithmIdentifier of rsaEncryption (1.2.840.113549.1.1.1) with NULL parameters.
const RSA_ALGORITHM = "300d06092a864886f70d0101010500";

function derLength(n) {
  return n < 128 ? [n] : n < 256 ? [0x81, n] : [0x82, n >> 8, n & 255];
}

/**
 * A device key from DER: the device's 294-byte slot (SPKI then zeros), SPKI or PKCS#1.
 * Returns { n, e, bytes, bits, spki } or throws (code "invalid-public-key").
 */
export function readKey(der) {
  const [start, end] = element(der, 0, der.length, 0x30);
  if (der.subarray(end).some((b) => b)) throw badKey();
  let rsa = [0, end];
  let spki = der.subarray(0, end);
  if (der[start] === 0x30) {
    // SPKI: rsaEncryption (its parameters NULL or absent), then the PKCS#1 key in a BIT
    // STRING with no unused bits, and nothing more.
    const algorithm = element(der, start, end, 0x30);
    const oid = hexOf(der.subarray(algorithm[0] - 2, algorithm[1]));
    if (oid !== RSA_ALGORITHM && oid !== "300b06092a864886f70d010101") throw badKey();
    const bits = element(der, algorithm[1], end, 0x03);
    if (bits[1] !== end || der[bits[0]] !== 0) throw badKey();
    rsa = [bits[0] + 1, end];
  } else {
    // PKCS#1: wrapped as SPKI, so that the fingerprint is the same whatever the form.
    const bits = [0, ...spki];
    const content = [...bytesOfHex(RSA_ALGORITHM), 0x03, ...derLength(bits.length), ...bits];
    spki = Uint8Array.from([0x30, ...derLength(content.length), ...content]);
  }
  const sequence = element(der, rsa[0], rsa[1], 0x30);
  if (sequence[1] !== rsa[1]) throw badKey();
  const modulus = element(der, sequence[0], sequence[1], 0x02);
  const exponent = element(der, modulus[1], sequence[1], 0x02);
  if (exponent[1] !== sequence[1]) throw badKey();
  const n = bigOf(positive(der, modulus));
  const eBytes = positive(der, exponent);
  const e = bigOf(eBytes);
  const bits = n.toString(2).length;
  if (bits < 1024 || bits > 4096 || !(n & 1n) || eBytes.length > 4 || e < 3n || !(e & 1n)) throw badKey();
  return { n, e, bytes: Math.ceil(bits / 8), bits, spki };
}

function modPow(base, exponent, modulus) {
  let result = 1n;
  base %= modulus;
  for (; exponent > 0n; exponent >>= 1n) {
    if (exponent & 1n) result = (result * base) % modulus;
    base = (base * base) % modulus;
  }
  return result;
}

/** RSA PKCS#1 v1.5 encryption of a UTF-8 text or bytes, as hex (what `pwd` carries). */
export function encrypt(key, data) {
  const message = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const padding = key.bytes - 3 - message.length;
  if (padding < 8) throw Object.assign(new Error("encryption-failed"), { code: "encryption-failed" });
  const block = new Uint8Array(key.bytes);
  block[1] = 2;
  // Non-zero random padding bytes.
  const random = new Uint8Array(1);
  for (let i = 2; i < 2 + padding; i++) {
    do crypto.getRandomValues(random); while (!random[0]);
    block[i] = random[0];
  }
  block.set(message, 3 + padding);
  return modPow(bigOf(block), key.e, key.n).toString(16).padStart(key.bytes * 2, "0");
}

// SHA-256's constants: the first 32 bits of the fractional parts of the square roots of the
// first 8 primes (H) and of the cube roots of the first 64 (K); tests/js checks the result
// against Node's SHA-256, and the end-to-end tests check fingerprints in every engine.
const H = [];
const K = [];
for (let n = 2; K.length < 64; n++) {
  let prime = true;
  for (let d = 2; d * d <= n; d++) prime &&= n % d > 0;
  if (prime) {
    if (H.length < 8) H.push((Math.sqrt(n) * 2 ** 32) | 0);
    K.push((Math.cbrt(n) * 2 ** 32) | 0);
  }
}

/** SHA-256, for the fingerprint where crypto.subtle is missing (an http page). */
export function sha256(data) {
  const length = data.length;
  const padded = new Uint8Array(((length + 72) >> 6) << 6);
  padded.set(data);
  padded[length] = 0x80;
  const view = new DataView(padded.buffer);
  view.setUint32(padded.length - 4, length * 8);
  view.setUint32(padded.length - 8, Math.floor(length / 0x20000000));
  const h = Uint32Array.from(H);
  const w = new Uint32Array(64);
  const rotr = (x, n) => (x >>> n) | (x << (32 - n));
  for (let block = 0; block < padded.length; block += 64) {
    for (let i = 0; i < 64; i++) {
      w[i] = i < 16 ? view.getUint32(block + i * 4)
        : (rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >>> 10)) + w[i - 7]
          + (rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >>> 3)) + w[i - 16];
    }
    let [a, b, c, d, e, f, g, k] = h;
    for (let i = 0; i < 64; i++) {
      const t1 = k + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
      const t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
      [k, g, f, e, d, c, b, a] = [g, f, e, (d + t1) | 0, c, b, a, (t1 + t2) | 0];
    }
    [a, b, c, d, e, f, g, k].forEach((v, i) => { h[i] = (h[i] + v) | 0; });
  }
  return Uint8Array.from(Array.from(h).flatMap((v) => [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255]));
}

/** The key's fingerprint: 64 lower-case hex digits, as `SoftAP.publicKey()` gives it. */
export function fingerprint(key) {
  return hexOf(sha256(key.spki));
}

/** Whether `expected` (any case, `:` or spaces allowed) names this key. */
export function matches(key, expected) {
  return String(expected).replace(/[: ]/g, "").toLowerCase() === fingerprint(key);
}
