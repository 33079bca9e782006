// Seeds every fuzz target's corpus from the shared corpus (tests/vectors/): fuzz/seeds/<target>/.
// The fuzz targets' own discoveries go to fuzz/corpus/ (not kept). Run after adding vectors.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const vectors = (name) => JSON.parse(readFileSync(path.join(root, "tests/vectors", name), "utf8"));
const COMMANDS = ["configure-ap", "connect-ap", "device-id", "public-key", "scan-ap", "set", "version"];
const LIMIT = 4096;

function body(c) {
  if (c.body !== undefined) return Buffer.from(c.body, "utf8");
  if (c.bodyHex !== undefined) return Buffer.from(c.bodyHex, "hex");
  const r = c.bodyRepeat;
  let out = r.prefix;
  for (let i = 0; out.length < LIMIT && i < r.count; i++) out += r.counter ? r.unit.replaceAll(r.counter, String(i)) : r.unit;
  return Buffer.from(out + r.suffix, "utf8").subarray(0, LIMIT);
}

const seeds = {};
const add = (target, name, bytes) => {
  (seeds[target] ??= []).push([name.replace(/[^a-z0-9]+/gi, "-").slice(0, 60), bytes]);
};

const prefix = Buffer.from('{"scans":[');
for (const c of vectors("scan.json").cases) {
  const b = body(c);
  const rest = b.subarray(0, prefix.length).equals(prefix) ? b.subarray(prefix.length) : b;
  add("scan", c.name, Buffer.concat([Buffer.from([7]), rest]));
  add("reply", c.name, Buffer.concat([Buffer.from([COMMANDS.indexOf("scan-ap") | (c.finished === false ? 0 : 0x80)]), b]));
}
for (const c of vectors("replies.json").cases) {
  add("reply", c.name, Buffer.concat([Buffer.from([COMMANDS.indexOf(c.command) | (c.finished === false ? 0 : 0x80)]), body(c)]));
}
for (const c of vectors("keys.json").cases) {
  add("device_key", c.name, c.derHex !== undefined ? Buffer.from(c.derHex, "hex") : Buffer.from(c.deviceHex, "utf8"));
}
const handoff = vectors("handoff.json");
for (const c of handoff.returns) add("handoff_return", c.name, Buffer.from(c.fragment, "utf8"));
add("cloud", "claim code", Buffer.from('\x00{"claim_code":"rCFr2KAJNgzJ2rR3Jm1ZoUd7G4Sr3ak7MRHdWrM274eYzInP1+psZ0fP2qNehlj","device_ids":["33FF210644893F533E242597"]}'));
add("cloud", "device list", Buffer.from('\x10[{"id":"3a0020001847333531323bcf","online":true}]'));
add("cloud", "expired token", Buffer.from('\x03{"error":"invalid_token","error_description":"The access token provided has expired."}'));
add("cloud", "another owner", Buffer.from('\x04{"errors":["That belongs to someone else."]}'));
add("cloud", "event stream", Buffer.from('\x20:ok\n\nevent: spark/status\ndata: {"data":"online","ttl":60,"published_at":"2026-11-30T00:00:00.000Z","coreid":"3a0020001847333531323bcf"}\n\n'));
// The machine: start each operation, answer it, let time pass.
for (let op = 0; op < 9; op++) {
  add("setup_machine", `operation ${op}`, Buffer.from([0, op, 1, 0, 2, 0, 7, ...Buffer.from('{"r":0}'), 3, 0, 4, 200, 4, 255]));
}

rmSync(path.join(root, "fuzz/seeds"), { recursive: true, force: true });
for (const [target, list] of Object.entries(seeds)) {
  const dir = path.join(root, "fuzz/seeds", target);
  mkdirSync(dir, { recursive: true });
  list.forEach(([name, bytes], i) => writeFileSync(path.join(dir, `${String(i).padStart(3, "0")}-${name}`), bytes));
}
console.log(Object.entries(seeds).map(([t, l]) => `${t}: ${l.length}`).join(", "));
