// Types of handoff.js: the https→device handoff (Safari, iPhones, Firefox). Call the package's
// init() before handoffUrl, readReturn or seal.
import type { ErrorCode, HandoffOptions, NetworkConfig, Sealed } from "./softap_web.js";

export type { HandoffOptions, Sealed };

/** What the device page reported, when it sent the customer back. */
export interface HandoffReturn {
  /** "invalid": a return that does not validate (a crafted link); start again. */
  result: "ok" | "connecting" | "error" | "invalid";
  deviceId?: string;
  /** true for "ok" and "connecting" (the device is joining: verify in the cloud). */
  ok: boolean;
  /** An error code with "error" (`fingerprint-mismatch`, `network-not-found`, …). */
  code?: ErrorCode;
}

export function choosePath(deviceUrl: string, options?: { protocol?: string }): Promise<"direct" | "handoff">;

export function handoffUrl(options: HandoffOptions): string;

export function readReturn(): HandoffReturn | null;

export function seal(options: NetworkConfig & { publicKey: string }): Sealed;
