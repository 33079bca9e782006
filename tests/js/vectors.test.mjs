// The shared corpus (tests/vectors/) against the device page's logic (www/device/logic.js) and
// www/seal.js: every case the table in tests/vectors/README.md gives the device page. The Rust
// core runs the same files (tests/vectors.rs), so the two clients cannot drift apart.
// Device bytes are fed in pieces of 1, 7 and 4096 bytes; each must reach the same outcome.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createPublicKey } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import {
  afterFailure, checkClaimCode, configureBody, deadline, readHandoff, replyCap, replyReader, returnUrl,
} from "../../www/device/logic.js";
import { bytesOfHex, fingerprint, readKey } from "../../www/seal.js";
import { caseBytes, corpus, decrypt, root } from "./support.mjs";

const PIECES = [1, 7, 4096];
let checked = 0;
const failed = [];

/**
 * Checks every case of `list` on its own, so one failing case does not hide the next (`make
 * bench` adds the counts up into `hostile_vectors`), then fails if any did. `check` returns
 * false for a case that is not the page's to run.
 */
function eachCase(list, check) {
  const before = failed.length;
  for (const c of list) {
    try {
      if (check(c) === false) continue;
      checked++;
    } catch (error) {
      checked++;
      failed.push(error.message.includes(c.name) ? error.message : `${c.name}: ${error.message}`);
    }
  }
  assert.deepEqual(failed.slice(before), [], "failed cases");
}

/** What a reader makes of `bytes` fed in pieces of `piece` bytes; `{ partial }` if nothing yet. */
function read(command, bytes, piece, finished) {
  const reader = replyReader(command);
  let outcome;
  for (let at = 0; at < bytes.length && !outcome; at += piece) outcome = reader.feed(bytes.subarray(at, at + piece));
  if (!outcome && finished) outcome = reader.end();
  return outcome ?? { partial: true };
}

/** An error as the corpus writes it: `{ error, field? }`. */
function caught(fn) {
  try {
    return { value: fn() };
  } catch (error) {
    assert.ok(error.code, `an error without a code: ${error.stack}`);
    return { error: error.field ? { error: error.code, field: error.field } : { error: error.code } };
  }
}

test("scan.json: scan-ap replies, the networks listed", () => {
  eachCase(corpus("scan.json").cases, (c) => {
    const bytes = caseBytes(c);
    for (const piece of PIECES) {
      const got = read("scan-ap", bytes, piece, c.finished ?? true);
      const what = `${c.name} (pieces of ${piece})`;
      if (c.expect.networkCount !== undefined) {
        assert.ok(got.networks, `${what}: ${JSON.stringify(got)}`);
        assert.equal(got.networks.length, c.expect.networkCount, what);
        assert.deepEqual(got.networks[0], c.expect.first, what);
      } else {
        assert.deepEqual(got, c.expect, what);
      }
    }
  });
});

test("replies.json: every other reply, as the commands the page sends read it", () => {
  eachCase(corpus("replies.json").cases, (c) => {
    const bytes = caseBytes(c);
    for (const piece of PIECES) {
      assert.deepEqual(read(c.command, bytes, piece, c.finished ?? true), c.expect, `${c.name} (pieces of ${piece})`);
    }
  });
});

test("keys.json: seal.js applies the one key policy", () => {
  eachCase(corpus("keys.json").cases, (c) => {
    const got = caught(() => {
      const key = readKey(bytesOfHex(c.deviceHex ?? c.derHex));
      return { fingerprint: fingerprint(key), bits: key.bits };
    });
    assert.deepEqual(got.error ?? got.value, c.expect, c.name);
  });
});

const pem = readFileSync(path.join(root, "tests/fixtures/device-1024.pem"));
const deviceKey = readKey(new Uint8Array(createPublicKey(pem).export({ type: "spki", format: "der" })));
const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

test("inputs.json: the configure-ap body, exact, or the error before anything is sent", () => {
  eachCase(corpus("inputs.json").cases, (c) => {
    if (c.clients && !c.clients.includes("page")) return false;
    const got = caught(() => configureBody(c.network, deviceKey, c.firmware ?? "0.7"));
    if (c.expect.body === undefined) {
      assert.deepEqual(got.error, c.expect, c.name);
      return;
    }
    assert.ok(got.value, `${c.name}: ${JSON.stringify(got.error)}`);
    // <rsa>: 256 lower-case hex digits that the test key opens to the secret.
    const pattern = new RegExp(`^${escape(c.expect.body).replaceAll("<rsa>", "([0-9a-f]{256})")}$`);
    const match = got.value.match(pattern);
    assert.ok(match, `${c.name}:\n  got      ${got.value}\n  expected ${c.expect.body}`);
    for (const hex of match.slice(1)) assert.equal(decrypt(hex).toString("utf8"), c.expect.secrets.pwd, c.name);
  });
});

test("claim-codes.json: exactly the form the cloud issues", () => {
  eachCase(corpus("claim-codes.json").cases, (c) => {
    const got = caught(() => checkClaimCode(c.code));
    assert.deepEqual(got.error ?? { ok: true }, c.expect, c.name);
  });
});

test("handoff.json: the fragments the device page reads, the return links it builds", () => {
  const { allowedOrigins, inbound, build } = corpus("handoff.json");
  eachCase(inbound, (c) => {
    const got = caught(() => readHandoff(c.fragment, allowedOrigins));
    assert.deepEqual(got.error ?? { handoff: got.value }, c.expect, c.name);
  });
  eachCase(build, (c) => {
    if (!c.return) return false;
    assert.equal(returnUrl(c.return), c.expect, c.name);
  });
});

test("retry.json: one retry policy, the deadlines and the reply caps", () => {
  const policy = corpus("retry.json");
  eachCase(policy.cases, (c) => {
    assert.deepEqual(afterFailure(c.command, c.failure, c.attempt, !!c.enterprise), c.expect, c.name);
  });
  for (const { command, deadlineMs } of policy.deadlines) assert.equal(deadline(command), deadlineMs, command);
  for (const { command, maxBytes } of policy.replyCaps) assert.equal(replyCap(command), maxBytes, command);
});

test("every case of the corpus for the page was run", (t) => {
  t.diagnostic(`corpus_page: ${checked} checked, ${failed.length} failed`);
  assert.ok(checked > 200, `${checked} cases`);
});
