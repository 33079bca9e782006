//! TypeScript declarations for the option bags, results and errors: `pkg/` describes the
//! whole API precisely, with no `any`.

use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &'static str = r#"
/** Every `code` a SoftApError can carry. */
export type ErrorCode = "ssid-length" | "unsupported-character" | "passphrase-length" | "wep-key-format" | "password-required" | "password-not-allowed" | "claim-code-length" | "unknown-security" | "unsupported-security" | "unknown-eap-method" | "missing-field" | "field-too-long" | "not-pem" | "security-mismatch" | "invalid-public-key" | "fingerprint-mismatch" | "invalid-fingerprint" | "random-unavailable" | "encryption-failed" | "invalid-response" | "request-ignored" | "network-not-found" | "device-rejected-ssid" | "device-rejected-password" | "decryption-failed" | "enterprise-rejected" | "storage-failed" | "claim-code-rejected" | "public-key-unavailable" | "device-error" | "timeout" | "device-unreachable" | "local-network-denied" | "mixed-content-blocked" | "device-http-status" | "cancelled" | "firmware-too-old" | "join-failed" | "claimed-by-another" | "handoff-invalid" | "token-expired" | "token-invalid" | "cloud-error" | "cloud-unreachable" | "claim-timeout";

/** The setup step an error happened in. */
export type SetupStep = "preparing" | "waiting-for-device" | "device-found" | "scanning" | "configuring" | "connecting" | "waiting-for-cloud" | "claimed" | "failed";

/** What every promise of this library rejects with. */
export interface SoftApError extends Error {
  name: "SoftApError";
  code: ErrorCode;
  /** The step of the setup it happened in. */
  step?: SetupStep;
  /** The input to fix, when an input is to blame. */
  field?: "ssid" | "password" | "claimCode" | "eap" | "innerIdentity" | "outerIdentity" | "clientCertificate" | "privateKey" | "caCertificate" | "deviceName";
}

export interface SoftAPOptions {
  /** The device; default "http://192.168.0.1". */
  baseUrl?: string;
  /** Deadline of quick commands in ms (default 8000); scans and configure get at least 30 s and 65 s. */
  timeoutMs?: number;
  /** Retries after a dropped connection, a timeout or a busy device (default 2, at most 2): reads
   *  are sent again; set and configure-ap only if the device cannot have run them; connect-ap never. */
  retries?: number;
  /** Force ("local") or forbid ("none") Chrome's local address-space declaration; by default
   *  it is made for private IPs and .local names, never for loopback. */
  targetAddressSpace?: "local" | "none";
  /** SHA-256 of the device key (hex): a device with another key is refused before any secret is sent. */
  expectedFingerprint?: string;
}

export interface DeviceInfo {
  /** 24 hex digits, lower case. */
  id: string;
  claimed: boolean;
}

export interface PublicKeyInfo {
  /** SHA-256 of the SubjectPublicKeyInfo DER, 64 lower-case hex digits. */
  fingerprint: string;
  bits: number;
}

export interface ScanResult {
  ssid: string;
  /** dBm. */
  rssi: number;
  /** Name of the security type, e.g. "wpa2_mixed", "unknown", or hex for combinations without a name. */
  security: string;
  /** The raw WICED security value (-1: unknown). */
  sec: number;
  channel: number;
  /** kbit/s. */
  maxDataRate: number;
  /** The device's entry for this name was ambiguous (a name crafted to look like other entries):
   *  listed after every clean network, never merged with one. Show it apart, if at all. */
  doubtful?: true;
}

export type SecurityName = "open" | "none" | "wep" | "wep_psk" | "wep_shared" | "wpa" | "wpa_tkip" | "wpa_aes" | "wpa_mixed" | "wpa2" | "wpa2_aes" | "wpa2_tkip" | "wpa2_mixed" | "wpa_enterprise" | "wpa_enterprise_tkip" | "wpa_enterprise_aes" | "wpa_enterprise_mixed" | "wpa2_enterprise" | "wpa2_enterprise_tkip" | "wpa2_enterprise_aes" | "wpa2_enterprise_mixed" | "wps_open" | "wps_secure";

export interface NetworkConfig {
  ssid: string;
  /** A name or the scan's `sec` number; absent means open. */
  security?: SecurityName | number;
  /** Wi-Fi password, WEP key, or PEAP password. */
  password?: string;
  channel?: number;
  /** Enterprise networks: "peap" or "tls" (or 25 / 13). */
  eap?: "peap" | "tls" | "eap-tls" | 25 | 13;
  /** PEAP user name. */
  innerIdentity?: string;
  outerIdentity?: string;
  /** EAP-TLS client certificate, PEM. */
  clientCertificate?: string;
  /** EAP-TLS private key, PEM: sent AES-encrypted with a key only the device can decrypt. */
  privateKey?: string;
  caCertificate?: string;
}

export interface ConnectResult {
  /** false: the reply was lost; the device is most likely joining the network already. */
  acknowledged: boolean;
}

export interface CloudOptions {
  /** Default "https://api.particle.io". */
  apiUrl?: string;
  /** A customer-scoped token from the maker's server. */
  accessToken: string;
  /** The product (id or slug); without it, the developer claim endpoint is used. */
  productId?: number | string;
}

export interface ClaimCode {
  claimCode: string;
  /** Devices this customer already owns. */
  deviceIds: string[];
}

export interface WaitOptions {
  /** Give up after this long (default 10 minutes). */
  timeoutMs?: number;
  /** Pause between polls while the cloud's event stream is down (default 3000). */
  intervalMs?: number;
  /** Claim the device outright while nobody owns it, which also tells a device another
   *  customer owns apart (`claimed-by-another`). Only for a device this customer just gave a
   *  claim code (back from the device page): anyone can put any id in a link. */
  claimUnowned?: boolean;
  signal?: AbortSignal;
}

export interface CloudWaitOptions {
  /** Give up after this long (default 10 minutes). */
  timeoutMs?: number;
  /** Pause between polls while the cloud's event stream is down (default 3000). */
  intervalMs?: number;
  /** Also look at the device's own network (where the page can reach it): the device answering
   *  there again could not join and is back in setup mode (`join-failed`). */
  watchDevice?: boolean;
}

/** The home network sealed for one device's recorded key (sealed mode). */
export interface Sealed {
  ssid: string;
  sec: number;
  /** RSA PKCS#1 v1.5 ciphertext of the password, hex; absent for an open network. */
  pwd?: string;
  /** 25 for PEAP. */
  eap?: number;
  /** PEAP user name. */
  ii?: string;
  /** PEAP outer identity. */
  oi?: string;
  /** SHA-256 of the key it was sealed for, 64 hex digits. */
  fingerprint: string;
}

export interface HandoffOptions {
  /** Default "http://192.168.0.1". */
  deviceUrl?: string;
  /** The device page's path (default "/setup"). */
  page?: string;
  claimCode: string;
  /** Where the device page returns to: this page (its fragment is dropped). */
  back: string;
  /** The key the device must have. */
  fingerprint?: string;
  lang?: string;
  sealed?: Sealed;
}

/** What the device page reported when it sent the customer back. */
export type HandoffResult =
  | { result: "ok"; deviceId: string }
  | { result: "connecting"; deviceId: string }
  | { result: "error"; code: ErrorCode; deviceId?: string };

export interface ClaimedDevice {
  id: string;
  online: true;
}

export interface ProgressEvent {
  step: SetupStep;
  /** Once known. */
  deviceId?: string;
  /** With "device-found". */
  claimed?: boolean;
  /** With "failed". */
  error?: SoftApError;
}

export interface SetupFlowOptions {
  device: SoftAP;
  /** Without it, no claim code is sent and the claim is not verified. */
  cloud?: Cloud;
  /** The device key's SHA-256 (from a QR label or factory records). */
  expectedFingerprint?: string;
  onProgress?: (event: ProgressEvent) => void;
}

export interface DeviceWaitOptions {
  /** Default 5 minutes. */
  timeoutMs?: number;
  /** Default 2000. */
  intervalMs?: number;
}
"#;
