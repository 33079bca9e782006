// www/seal.js, the plain-JS crypto of the device page and of sealed mode, against Node's:
// the key read in every form the device or a maker's records give it, the fingerprint the
// wasm client computes (SHA-256 of the SubjectPublicKeyInfo DER), and PKCS#1 v1.5 blocks
// that Node's RSA opens back to the password. (The simulator decrypts them too, end to end.)
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash, createPublicKey, privateEncrypt, constants } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { bytesOfHex, encrypt, fingerprint, matches, readKey, sha256 } from "../../www/seal.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const pem = readFileSync(path.join(root, "tests/fixtures/device-1024.pem"), "utf8");
const spki = new Uint8Array(createPublicKey(pem).export({ type: "spki", format: "der" }));
const pkcs1 = new Uint8Array(createPublicKey(pem).export({ type: "pkcs1", format: "der" }));
const expected = createHash("sha256").update(spki).digest("hex");

test("SHA-256 agrees with Node's at every padding boundary", () => {
  for (const length of [0, 1, 3, 55, 56, 63, 64, 65, 119, 120, 1000]) {
    const data = Uint8Array.from({ length }, (_, i) => (i * 31 + 7) & 255);
    assert.equal(Buffer.from(sha256(data)).toString("hex"), createHash("sha256").update(data).digest("hex"), `${length} bytes`);
  }
});

test("the device's padded slot, SPKI and PKCS#1 give one key and one fingerprint", () => {
  const slot = new Uint8Array(294);
  slot.set(spki);
  for (const der of [slot, spki, pkcs1]) {
    const key = readKey(der);
    assert.equal(key.bytes, 128);
    assert.equal(fingerprint(key), expected);
    assert.ok(matches(key, expected.toUpperCase().match(/../g).join(":")));
  }
});

test("what is not a key is refused", () => {
  const policy = { code: "invalid-public-key" };
  assert.throws(() => readKey(bytesOfHex("3003020101")), policy);
  const trailing = new Uint8Array(spki.length + 1);
  trailing.set(spki);
  trailing[spki.length] = 1;
  assert.throws(() => readKey(trailing), policy);
  assert.throws(() => bytesOfHex("abc"), policy);
  assert.throws(() => encrypt(readKey(spki), "x".repeat(118)), { code: "encryption-failed" });
  // The longest a 1024-bit block takes: 117 bytes.
  assert.match(encrypt(readKey(spki), "x".repeat(117)), /^[0-9a-f]{256}$/);
});

test("PKCS#1 v1.5 blocks: type 2, non-zero random padding, then the UTF-8 password", () => {
  const key = readKey(spki);
  const password = "grüße-123 ✓";
  const seen = new Set();
  for (let i = 0; i < 20; i++) {
    const hex = encrypt(key, password);
    assert.match(hex, /^[0-9a-f]{256}$/);
    seen.add(hex);
    // Raw RSA with the private key undoes the public operation: the block itself.
    const block = publicDecryptRaw(hex);
    assert.equal(block[0], 0);
    assert.equal(block[1], 2);
    const end = block.indexOf(0, 2);
    assert.ok(end >= 10, "at least 8 padding bytes");
    assert.equal(Buffer.from(block.subarray(end + 1)).toString(), password);
  }
  assert.equal(seen.size, 20, "random padding");
});

/** m = c^d mod n, with Node's private key through a no-padding private encryption. */
function publicDecryptRaw(hex) {
  return new Uint8Array(privateEncrypt({ key: pem, padding: constants.RSA_NO_PADDING }, Buffer.from(bytesOfHex(hex))));
}
