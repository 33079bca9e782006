// Types of handoff.js: the https→device handoff (Safari, iPhones, Firefox).

/** The home network with its password encrypted for one device's key (sealed mode). */
export interface Sealed {
  ssid: string;
  /** RSA PKCS#1 v1.5 ciphertext, hex; empty for an open network. */
  pwd: string;
  /** The security value to use if the device does not see the network. */
  sec?: number;
  /** SHA-256 of the key's SubjectPublicKeyInfo, 64 hex digits. */
  fingerprint: string;
}

/** What the device page reported, when it sent the customer back. */
export interface HandoffReturn {
  deviceId: string | null;
  ok: boolean;
  /** An error code when `ok` is false (`fingerprint-mismatch`, `network-not-found`, …). */
  code?: string;
}

export function choosePath(deviceUrl: string, options?: { protocol?: string }): Promise<"direct" | "handoff">;

export function handoffUrl(options: {
  deviceUrl: string;
  /** The device page's path: "/setup" unless the firmware serves it elsewhere. */
  page?: string;
  claimCode: string;
  /** Where the device page returns to: this page, without its fragment. */
  back: string;
  fingerprint?: string;
  lang?: string;
  product?: string;
  sealed?: Sealed;
}): string;

export function readReturn(): HandoffReturn | null;

export function seal(options: { publicKey: string; ssid: string; password: string; security?: number }): Sealed;
