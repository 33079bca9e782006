// Compiled with `tsc --noEmit --strict` against pkg/softap_web.d.ts by make test: the API a
// page uses, typed precisely (a wrong option or result field fails the build).
import init, { SoftAP, Cloud, SetupFlow } from "../pkg/softap_web.js";
import type { SoftApError, ProgressEvent, ScanResult, NetworkConfig, ErrorCode } from "../pkg/softap_web.js";

async function setUp(token: string): Promise<string> {
  await init();
  const device = new SoftAP();
  const other = new SoftAP({ baseUrl: "http://192.168.0.1", timeoutMs: 8000, retries: 2, targetAddressSpace: "local" });
  const cloud = new Cloud({ accessToken: token, productId: 1234 });
  const steps: ProgressEvent["step"][] = [];
  const flow = new SetupFlow({ device, cloud, onProgress: (e: ProgressEvent) => steps.push(e.step) });
  const ready: number = await flow.prepare({ devices: 2 });
  const info = await flow.waitForDevice();
  const id: string = info.id;
  const claimed: boolean = info.claimed;
  const networks: ScanResult[] = await flow.scan();
  const strongest: string = networks[0].ssid + networks[0].security + networks[0].sec + networks[0].maxDataRate;
  const doubtful: boolean = networks.some((n) => n.doubtful === true);
  const network: NetworkConfig = { ssid: "Home", security: "wpa2", password: "secret123" };
  const enterprise: NetworkConfig = { ssid: "Corp", security: 37748742, eap: "peap", innerIdentity: "a", password: "b" };
  await flow.configure(network);
  const { acknowledged } = await flow.connect();
  const done: string = await flow.waitForCloud({ intervalMs: 3000, watchDevice: true });
  flow.addEventListener("progress", (event) => steps.push(event.detail.step));
  flow.setAccessToken(token);
  flow.next();
  const devices: string[] = flow.devices;
  const key = await other.publicKey();
  const bits: number = key.bits;
  const { claimCode, deviceIds } = await cloud.createClaimCode();
  await cloud.waitForDevice(id, { signal: new AbortController().signal });
  await cloud.waitForDevice(id, { claimUnowned: true, timeoutMs: 60_000 });
  const renamed: void = await cloud.renameDevice(id, "Kitchen lamp");
  const fingerprint: string = key.fingerprint;
  void [renamed, ready, claimed, strongest, doubtful, enterprise, acknowledged, devices, bits, claimCode, deviceIds, fingerprint];
  return done;
}

function describe(error: unknown): ErrorCode | undefined {
  const e = error as SoftApError;
  return e.name === "SoftApError" ? e.code : undefined;
}

void [setUp, describe];

// The handoff module shipped beside the element (pkg/handoff.js, pkg/handoff.d.ts).
import { choosePath, handoffUrl, readReturn, seal } from "../pkg/handoff.js";
import type { Sealed, HandoffReturn } from "../pkg/handoff.js";

async function handOff(claimCode: string, publicKey: string): Promise<string | null> {
  const path: "direct" | "handoff" = await choosePath("http://192.168.0.1");
  const sealed: Sealed = seal({ publicKey, ssid: "Home", password: "secret123", security: 4194308 });
  const url: string = handoffUrl({ deviceUrl: "http://192.168.0.1", claimCode, back: location.href, sealed, fingerprint: sealed.fingerprint });
  const back: HandoffReturn | null = readReturn();
  const result: "ok" | "connecting" | "error" | "invalid" | undefined = back?.result;
  void result;
  return path === "handoff" ? url : back?.deviceId ?? null;
}
void handOff;
