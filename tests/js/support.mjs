// What the Node tests of the device page and seal.js share: the shared corpus, device bytes
// as the corpus describes them, and RSA decryption with the test key — done here, in test
// code, with BigInt (Node >= 20 refuses PKCS#1 v1.5 private decryption), never in shipped code.
import { createPrivateKey } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** One file of tests/vectors/. */
export const corpus = (name) => JSON.parse(readFileSync(path.join(root, "tests/vectors", name), "utf8"));

/** A case's device bytes: `body`, `bodyHex` or `bodyRepeat` (README.md, "Device bytes"). */
export function caseBytes(c) {
  if (c.body !== undefined) return new Uint8Array(Buffer.from(c.body, "utf8"));
  if (c.bodyHex !== undefined) return new Uint8Array(Buffer.from(c.bodyHex, "hex"));
  const { prefix, unit, count, suffix, counter } = c.bodyRepeat;
  const parts = [Buffer.from(prefix, "utf8")];
  if (counter) {
    for (let i = 0; i < count; i++) parts.push(Buffer.from(unit.split(counter).join(String(i)), "utf8"));
  } else {
    parts.push(Buffer.from(unit.repeat(count), "utf8"));
  }
  parts.push(Buffer.from(suffix, "utf8"));
  return new Uint8Array(Buffer.concat(parts));
}

const key = createPrivateKey(readFileSync(path.join(root, "tests/fixtures/device-1024.pem"))).export({ format: "jwk" });
const big = (b64url) => BigInt(`0x${Buffer.from(b64url, "base64url").toString("hex")}`);
const N = big(key.n);
const D = big(key.d);

function modPow(base, exponent, modulus) {
  let result = 1n;
  for (base %= modulus; exponent > 0n; exponent >>= 1n) {
    if (exponent & 1n) result = (result * base) % modulus;
    base = (base * base) % modulus;
  }
  return result;
}

/**
 * The plaintext of a PKCS#1 v1.5 block (256 hex digits) under the test device key, after
 * checking the padding as the device does: 00 02, at least 8 non-zero random bytes, 00.
 */
export function decrypt(hex) {
  if (!/^[0-9a-f]{256}$/.test(hex)) throw new Error(`not 128 bytes of lower-case hex: ${hex.length} digits`);
  const block = Buffer.from(modPow(BigInt(`0x${hex}`), D, N).toString(16).padStart(256, "0"), "hex");
  const end = block.indexOf(0, 2);
  if (block[0] !== 0 || block[1] !== 2 || end < 10) throw new Error("bad PKCS#1 v1.5 type 2 padding");
  return block.subarray(end + 1);
}
