// The device's RSA key in plain JS: read it (the device's padded SPKI, SPKI or PKCS#1 DER),
// fingerprint it (SHA-256 of the SPKI, as the wasm client does), and encrypt a password
// with it (PKCS#1 v1.5, hex), as configure-ap expects. Small enough for the device page, which
// is not a secure context (no crypto.subtle); also what the https page seals with when the
// maker's records know the key. Needs BigInt (Safari 14+) and crypto.getRandomValues.

const hexOf = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

export function bytesOfHex(hex) {
  if (!/^([0-9a-fA-F]{2})*$/.test(hex)) throw new Error("not hex");
  return Uint8Array.from(hex.match(/../g) || [], (h) => parseInt(h, 16));
}

/** One DER element at `at`: [tag, start of content, end of content]. */
function element(der, at) {
  const tag = der[at];
  let length = der[at + 1];
  let start = at + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count < 1 || count > 2) throw new Error("bad DER length");
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + der[start + i];
    start += count;
  }
  if (tag === undefined || start + length > der.length) throw new Error("truncated DER");
  return [tag, start, start + length];
}

const bigOf = (bytes) => (bytes.length ? BigInt("0x" + hexOf(bytes)) : 0n);

// AlgorithmIdentifier of rsaEncryption with NULL parameters.
const RSA_ALGORITHM = bytesOfHex("300d06092a864886f70d0101010500");

function derLength(n) {
  return n < 128 ? [n] : n < 256 ? [0x81, n] : [0x82, n >> 8, n & 255];
}

/**
 * A device key from DER: the device's 294-byte slot (SPKI then zeros), SPKI or PKCS#1.
 * Returns { n, e, bytes, spki }.
 */
export function readKey(der) {
  const [tag, start, end] = element(der, 0);
  if (tag !== 0x30 || der.subarray(end).some((b) => b !== 0)) throw new Error("not a key");
  let inner = der.subarray(0, end);
  let spki = inner;
  const first = element(der, start);
  if (first[0] === 0x30) {
    // SPKI: algorithm, then the PKCS#1 key in a BIT STRING (one unused-bits byte).
    const bits = element(der, first[2]);
    if (bits[0] !== 0x03) throw new Error("not a key");
    inner = der.subarray(bits[1] + 1, bits[2]);
  } else {
    // PKCS#1: wrapped as SPKI, so that the fingerprint is the same whatever the form.
    const bits = [0x00, ...inner];
    const content = [...RSA_ALGORITHM, 0x03, ...derLength(bits.length), ...bits];
    spki = Uint8Array.from([0x30, ...derLength(content.length), ...content]);
  }
  const [seq, s] = element(inner, 0);
  if (seq !== 0x30) throw new Error("not a key");
  const modulus = element(inner, s);
  const exponent = element(inner, modulus[2]);
  if (modulus[0] !== 2 || exponent[0] !== 2) throw new Error("not a key");
  const n = bigOf(inner.subarray(modulus[1], modulus[2]));
  const e = bigOf(inner.subarray(exponent[1], exponent[2]));
  const bytes = Math.ceil(n.toString(16).length / 2);
  if (bytes < 64 || e < 3n) throw new Error("key too small");
  return { n, e, bytes, spki };
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

/** RSA PKCS#1 v1.5 encryption of a UTF-8 text, as hex (what `pwd` carries). */
export function encrypt(key, text) {
  const message = new TextEncoder().encode(text);
  const padding = key.bytes - 3 - message.length;
  if (padding < 8) throw new Error("too long for the key");
  const block = new Uint8Array(key.bytes);
  block[1] = 2;
  // Non-zero random padding bytes.
  for (let i = 2; i < 2 + padding; i++) {
    const one = new Uint8Array(1);
    do crypto.getRandomValues(one); while (one[0] === 0);
    block[i] = one[0];
  }
  block.set(message, 3 + padding);
  return modPow(bigOf(block), key.e, key.n).toString(16).padStart(key.bytes * 2, "0");
}

const K = Uint32Array.from(
  "428a2f98 71374491 b5c0fbcf e9b5dba5 3956c25b 59f111f1 923f82a4 ab1c5ed5 d807aa98 12835b01 243185be 550c7dc3 72be5d74 80deb1fe 9bdc06a7 c19bf174 e49b69c1 efbe4786 0fc19dc6 240ca1cc 2de92c6f 4a7484aa 5cb0a9dc 76f988da 983e5152 a831c66d b00327c8 bf597fc7 c6e00bf3 d5a79147 06ca6351 14292967 27b70a85 2e1b2138 4d2c6dfc 53380d13 650a7354 766a0abb 81c2c92e 92722c85 a2bfe8a1 a81a664b c24b8b70 c76c51a3 d192e819 d6990624 f40e3585 106aa070 19a4c116 1e376c08 2748774c 34b0bcb5 391c0cb3 4ed8aa4a 5b9cca4f 682e6ff3 748f82ee 78a5636f 84c87814 8cc70208 90befffa a4506ceb bef9a3f7 c67178f2"
    .split(" "), (h) => parseInt(h, 16));

/** SHA-256, for the fingerprint where crypto.subtle is missing (an http page). */
export function sha256(data) {
  const length = data.length;
  const padded = new Uint8Array(((length + 72) >> 6) << 6);
  padded.set(data);
  padded[length] = 0x80;
  const view = new DataView(padded.buffer);
  view.setUint32(padded.length - 4, length * 8);
  view.setUint32(padded.length - 8, Math.floor(length / 0x20000000));
  const h = Uint32Array.from([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
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
