//! The device: a Photon in listening mode, as its firmware behaves (spec §4–§8, §14).
//!
//! Sans-IO: [`Device::handle`] takes a command name and body and returns what the firmware
//! would write, write by write, with the pauses between (scans take time), plus what the
//! command sets in motion. The HTTP and TCP fronts turn writes into chunks or bytes.

use std::time::Duration;

use aes::cipher::block_padding::NoPadding;
use aes::cipher::{BlockModeDecrypt, KeyIvInit};
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::traits::PublicKeyParts;
use rsa::BoxedUint;
use serde::{Deserialize, Serialize};

use crate::jsmn::{self, Kind};

/// Firmware behaviour profile.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Firmware {
    /// ≤ 0.6.x: 5 `configure-ap` keys, `sec` stored verbatim, no chunk terminator.
    #[serde(rename = "0.6")]
    V06,
    /// ≥ 0.7.0: enterprise keys, the security "sniff", terminated chunked bodies.
    #[serde(rename = "0.7")]
    V07,
}

/// A network the device can see (a scan fixture entry).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct VisibleNetwork {
    /// Name; empty for a hidden network (never listed).
    pub ssid: String,
    /// Access point.
    #[serde(default)]
    pub bssid: String,
    /// dBm.
    pub rssi: i64,
    /// WICED security value.
    pub sec: i64,
    /// Channel.
    pub ch: i64,
    /// Max data rate, kbit/s.
    pub mdr: i64,
    /// Passphrase (or WEP key record in hex, or PEAP password) that lets a device join.
    #[serde(default)]
    pub password: Option<String>,
    /// PEAP user name that lets a device join.
    #[serde(default)]
    pub identity: Option<String>,
    /// `"tls"` for an EAP-TLS network (any certificate and key join).
    #[serde(default)]
    pub eap: Option<String>,
    /// Write the SSID bytes given in `raw_ssid_hex` instead of `ssid` (non-UTF-8 names).
    #[serde(default)]
    pub raw_ssid_hex: Option<String>,
}

impl VisibleNetwork {
    /// The SSID bytes the radio reports.
    pub fn ssid_bytes(&self) -> Vec<u8> {
        match &self.raw_ssid_hex {
            Some(hex) => decode_hex_lenient(hex.as_bytes()),
            None => self.ssid.as_bytes().to_vec(),
        }
    }
}

/// Credentials as stored in the device's DCT, decrypted.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct StoredNetwork {
    /// Name, bytes as sent (escape sequences kept, spec §8).
    pub ssid: String,
    /// WICED security stored (after the sniff on 0.7).
    pub security: i64,
    /// Channel.
    pub channel: i64,
    /// Decrypted passphrase; WEP: the key bytes as hex.
    pub password: Option<String>,
    /// EAP type.
    pub eap: Option<i64>,
    /// Outer identity.
    pub outer_identity: Option<String>,
    /// Inner identity.
    pub inner_identity: Option<String>,
    /// Client certificate (unescaped).
    pub certificate: Option<String>,
    /// Private key as decrypted, without padding removal (PEM + PKCS#7 bytes).
    pub private_key: Option<String>,
    /// CA certificate (unescaped).
    pub ca: Option<String>,
}

/// One step of the firmware's output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Emit {
    /// One write: one HTTP chunk, or one TCP write.
    Write(Vec<u8>),
    /// Time passes (scanning).
    Pause(Duration),
}

/// What a command sets in motion beyond its reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Nothing.
    None,
    /// `connect-ap`: leave listening mode and join.
    ConnectAp,
}

/// Timing of the radio.
#[derive(Clone, Copy, Debug)]
pub struct RadioTiming {
    /// Before each scan entry is written.
    pub scan_entry: Duration,
    /// One full scan (`configure-ap` on 0.7 does two for WPA networks).
    pub scan: Duration,
}

/// The device's identity and storage.
pub struct Device {
    id: String,
    key: rsa::PrivateKey,
    firmware: Firmware,
    claim_code: Option<String>,
    claimed: bool,
    visible: Vec<VisibleNetwork>,
    stored: Vec<StoredNetwork>,
    timing: RadioTiming,
}

/// mbedTLS `MBEDTLS_ERR_RSA_INVALID_PADDING`, negated as the device reports it.
pub const DECRYPT_ERROR: i64 = -0x4100;
/// mbedTLS `MBEDTLS_ERR_RSA_BAD_INPUT_DATA`, negated.
pub const BAD_INPUT_ERROR: i64 = -0x4080;

const CONFIGURE_KEYS_07: [(&[u8], Kind); 12] = [
    (b"idx", Kind::Primitive),
    (b"ssid", Kind::String),
    (b"pwd", Kind::String),
    (b"ch", Kind::Primitive),
    (b"sec", Kind::Primitive),
    (b"eap", Kind::Primitive),
    (b"oi", Kind::String),
    (b"ii", Kind::String),
    (b"crt", Kind::String),
    (b"ek", Kind::String),
    (b"key", Kind::String),
    (b"ca", Kind::String),
];

const WEP: i64 = 0x1;
const WPA: i64 = 0x0020_0000;
const WPA2: i64 = 0x0040_0000;
const ENTERPRISE: i64 = 0x0200_0000;

impl Device {
    /// A device with a 24-hex-digit `id`, its RSA key, firmware and what its radio sees.
    pub fn new(
        id: String,
        key: rsa::PrivateKey,
        firmware: Firmware,
        visible: Vec<VisibleNetwork>,
        timing: RadioTiming,
    ) -> Self {
        Self {
            id: id.to_uppercase(),
            key,
            firmware,
            claim_code: None,
            claimed: false,
            visible,
            stored: Vec::new(),
            timing,
        }
    }

    /// Loads a PKCS#1 PEM private key.
    pub fn key_from_pem(pem: &str) -> Result<rsa::PrivateKey, String> {
        rsa::PrivateKey::from_pkcs1_pem(pem).map_err(|e| format!("bad device key: {e}"))
    }

    /// A fresh RSA-1024 key, as a Photon has.
    pub fn generate_key() -> rsa::PrivateKey {
        rsa::PrivateKey::new(&mut getrandom::SysRng, 1024).expect("RSA key generation")
    }

    /// The device id, upper case as the device reports it.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Scan timing.
    pub fn radio_timing(&self) -> RadioTiming {
        self.timing
    }

    /// Firmware profile.
    pub fn firmware(&self) -> Firmware {
        self.firmware
    }

    /// The stored claim code, if any.
    pub fn claim_code(&self) -> Option<&str> {
        self.claim_code.as_deref()
    }

    /// Whether the DCT's claimed flag is set.
    pub fn claimed(&self) -> bool {
        self.claimed
    }

    /// The cloud redeemed the claim code (`spark/device/claim/...` event): clear it, set the flag.
    pub fn mark_claimed(&mut self) {
        self.claim_code = None;
        self.claimed = true;
    }

    /// Becomes another device (new id and key) at the same address: the next Photon of an
    /// installation, set up after this one left.
    pub fn replace_identity(&mut self, id: String, key: rsa::PrivateKey) {
        self.id = id.to_uppercase();
        self.key = key;
        self.reset();
    }

    /// Forgets credentials and claim code: a factory-fresh device (for test isolation).
    pub fn reset(&mut self) {
        self.claim_code = None;
        self.claimed = false;
        self.stored.clear();
    }

    /// Stored networks, most recent first.
    pub fn stored(&self) -> &[StoredNetwork] {
        &self.stored
    }

    /// What the radio sees.
    pub fn visible(&self) -> &[VisibleNetwork] {
        &self.visible
    }

    /// The public key as SubjectPublicKeyInfo DER.
    pub fn public_key_der(&self) -> Vec<u8> {
        use rsa::pkcs8::EncodePublicKey;
        self.key
            .to_public_key()
            .to_public_key_der()
            .expect("SPKI encoding")
            .into_vec()
    }

    /// The 294-byte public-key slot: SPKI DER of the RSA-1024 key, then zeros (spec §4.4).
    pub fn public_key_blob(&self) -> Vec<u8> {
        let mut blob = self.public_key_der();
        blob.resize(294, 0);
        blob
    }

    /// Runs a command as the firmware does. `None` for an unknown command name.
    pub fn handle(&mut self, command: &str, body: &[u8]) -> Option<(Vec<Emit>, Effect)> {
        let mut out = Writer::default();
        let effect = match command {
            "version" => {
                // The only reply written in one piece.
                out.emits.push(Emit::Write(b"{\"v\":2}".to_vec()));
                Effect::None
            }
            "device-id" => {
                out.open();
                out.string_field("id", self.id.as_bytes());
                out.comma();
                out.string_field("c", if self.claimed { b"1" } else { b"0" });
                out.close();
                Effect::None
            }
            "public-key" => {
                let hex: Vec<u8> = hex_upper(&self.public_key_blob()).into_bytes();
                out.open();
                out.key("b");
                out.write(b"\"");
                // One write per hex digit: ~600 chunks (spec §3.2.4).
                for digit in hex.chunks(1) {
                    out.write(digit);
                }
                out.write(b"\"");
                out.comma();
                out.number_field("r", 0);
                out.close();
                Effect::None
            }
            "scan-ap" => {
                self.scan(&mut out);
                Effect::None
            }
            // `None` from these: the JSON was rejected and no reply body is written at all.
            "set" => {
                if let Some(r) = self.set(body) {
                    out.result(r);
                }
                Effect::None
            }
            "configure-ap" => {
                if let Some(r) = self.configure(body, &mut out) {
                    out.result(r);
                }
                Effect::None
            }
            "connect-ap" => {
                out.result(0);
                Effect::ConnectAp
            }
            _ => return None,
        };
        Some((out.emits, effect))
    }

    fn scan(&self, out: &mut Writer) {
        out.write(b"{");
        out.write(b"\"");
        out.write(b"scans");
        out.write(b"\"");
        out.write(b":");
        out.write(b"[");
        let mut first = true;
        for network in &self.visible {
            out.emits.push(Emit::Pause(self.timing.scan_entry));
            let ssid = network.ssid_bytes();
            if ssid.is_empty() {
                continue; // hidden networks are not listed
            }
            if !first {
                out.comma();
            }
            first = false;
            out.open();
            // Written raw: no JSON escaping (spec §4.3).
            out.string_field("ssid", &ssid);
            out.comma();
            out.number_field("rssi", network.rssi);
            out.comma();
            out.number_field("sec", network.sec);
            out.comma();
            out.number_field("ch", network.ch);
            out.comma();
            out.number_field("mdr", network.mdr);
            out.close();
        }
        out.write(b"]");
        out.write(b"}");
    }

    /// `set`: `Some(r)`, or `None` when the JSON is rejected (no reply body).
    fn set(&mut self, body: &[u8]) -> Option<i64> {
        if body.is_empty() {
            return None;
        }
        let mut key = None;
        let mut value = None;
        for field in jsmn::fields(body) {
            match (field.key.as_slice(), field.kind) {
                (b"k", Kind::String) => key = Some(field.value),
                (b"v", Kind::String) => value = Some(field.value),
                _ => return None,
            }
        }
        // The key buffer keeps 2 characters, the value 63 (spec §4.5).
        let key: Vec<u8> = key.unwrap_or_default().into_iter().take(2).collect();
        let value: Vec<u8> = value.unwrap_or_default().into_iter().take(63).collect();
        if key != b"cc" || value.is_empty() {
            return Some(-1);
        }
        self.claim_code = Some(String::from_utf8_lossy(&value).into_owned());
        Some(0)
    }

    /// `configure-ap`: `Some(r)`, or `None` for rejected JSON.
    fn configure(&mut self, body: &[u8], out: &mut Writer) -> Option<i64> {
        if body.is_empty() {
            return None;
        }
        let allowed: &[(&[u8], Kind)] = match self.firmware {
            Firmware::V07 => &CONFIGURE_KEYS_07,
            Firmware::V06 => &CONFIGURE_KEYS_07[..5],
        };
        let mut fields = std::collections::HashMap::new();
        for field in jsmn::fields(body) {
            let known = allowed.iter().find(|(k, _)| *k == field.key.as_slice())?;
            if known.1 != field.kind {
                return None;
            }
            fields.insert(field.key.clone(), field.value); // the last duplicate wins
        }
        let get = |k: &str| fields.get(k.as_bytes());
        let ssid = get("ssid").cloned().unwrap_or_default();
        let channel = get("ch").map(|v| jsmn::atoi(v)).unwrap_or(0);
        let sec = get("sec").map(|v| jsmn::atoi(v)).unwrap_or(0);
        let eap = get("eap").map(|v| jsmn::atoi(v));

        // Passwords: 0.7 decrypts only strings of 2+ characters; 0.6 always.
        let password = match get("pwd") {
            Some(pwd) if self.firmware == Firmware::V06 || pwd.len() >= 2 => {
                match self.rsa_decrypt_hex(pwd) {
                    // A password is a C string: used up to its first NUL (spec §7.2).
                    Ok(mut plain) => {
                        plain.truncate(plain.iter().position(|&b| b == 0).unwrap_or(plain.len()));
                        Some(plain)
                    }
                    Err(code) => return Some(code),
                }
            }
            _ => None,
        };
        // Enterprise private key: RSA for the AES key and IV, then CBC without unpadding.
        let private_key = match (get("ek"), get("key")) {
            (Some(ek), Some(key)) => {
                let key_iv = match self.rsa_decrypt_hex(ek) {
                    Ok(k) if k.len() == 32 => k,
                    Ok(_) => return Some(DECRYPT_ERROR),
                    Err(code) => return Some(code),
                };
                Some(aes_cbc_decrypt_no_unpad(&key_iv, key))
            }
            _ => None,
        };

        // wlan_set_credentials: the SSID first.
        if ssid.is_empty() || ssid.len() > 32 {
            return Some(-3);
        }
        let security = match self.firmware {
            Firmware::V06 => sec,
            Firmware::V07 => {
                let class = security_class(sec);
                if class == Class::Open || class == Class::Wep {
                    if class == Class::Open {
                        0
                    } else {
                        WEP
                    }
                } else {
                    // No cipher known: scan for the SSID and take what is seen — twice,
                    // the dry run and the save (spec §5.3, §4.6 timing).
                    out.emits.push(Emit::Pause(self.timing.scan));
                    out.emits.push(Emit::Pause(self.timing.scan));
                    match self.visible.iter().find(|n| n.ssid_bytes() == ssid) {
                        Some(network) => network.sec,
                        None => return Some(-2),
                    }
                }
            }
        };
        let is_enterprise = security & ENTERPRISE != 0;
        let pwd_len = password.as_ref().map_or(0, Vec::len);
        if security & WEP != 0 && !(5..=58).contains(&pwd_len) {
            return Some(-4);
        }
        if security & (WPA | WPA2) != 0 && !is_enterprise && !(8..=64).contains(&pwd_len) {
            return Some(-4);
        }
        let unescape = |k: &str| get(k).map(|v| jsmn::unescape_certificate(v));
        let certificate = unescape("crt");
        let ca = unescape("ca");
        let inner = get("ii").cloned();
        let outer = get("oi").cloned().filter(|o| o.len() <= 64); // longer is dropped silently
        if let Some(eap) = eap.filter(|&e| e != 0) {
            let valid = match eap {
                25 => {
                    inner.as_ref().is_some_and(|i| (1..=64).contains(&i.len()))
                        && (1..=64).contains(&pwd_len)
                }
                13 => {
                    certificate
                        .as_ref()
                        .is_some_and(|c| !c.is_empty() && c.len() <= 4096)
                        && private_key
                            .as_ref()
                            .is_some_and(|k| !k.is_empty() && k.len() <= 2048)
                }
                _ => false,
            };
            if !valid || ca.as_ref().is_some_and(|c| c.len() > 4096) {
                return Some(1);
            }
        }
        let text = |b: &Vec<u8>| String::from_utf8_lossy(b).into_owned();
        let stored = StoredNetwork {
            ssid: text(&ssid),
            security,
            channel,
            password: if security & WEP != 0 {
                password.as_ref().map(|p| hex_lower(&decode_hex_lenient(p)))
            } else {
                password.as_ref().map(text)
            },
            eap,
            outer_identity: outer.as_ref().map(text),
            inner_identity: inner.as_ref().map(text),
            certificate: certificate.as_ref().map(text),
            private_key: private_key.as_ref().map(text),
            ca: ca.as_ref().map(text),
        };
        self.store(stored);
        Some(0)
    }

    /// Up to 5 networks: the same SSID replaces its slot, a new one goes first; only one
    /// enterprise network is kept (spec §4.6).
    fn store(&mut self, network: StoredNetwork) {
        if network.security & ENTERPRISE != 0 {
            self.stored
                .retain(|n| n.security & ENTERPRISE == 0 || n.ssid == network.ssid);
        }
        match self.stored.iter().position(|n| n.ssid == network.ssid) {
            Some(i) => self.stored[i] = network,
            None => {
                self.stored.insert(0, network);
                self.stored.truncate(5);
            }
        }
    }

    /// Hex-decodes into the fixed 128-byte RSA input (non-hex digits decode to garbage, as
    /// the firmware's `hex_nibble` does) and decrypts with PKCS#1 v1.5 padding checked.
    fn rsa_decrypt_hex(&self, hex: &[u8]) -> Result<Vec<u8>, i64> {
        let size = self.key.size();
        if hex.len() != size * 2 {
            return Err(BAD_INPUT_ERROR);
        }
        let bytes: Vec<u8> = hex
            .chunks(2)
            .map(|p| hex_nibble(p[0]) << 4 | hex_nibble(p[1]))
            .collect();
        // At the modulus' precision: a ciphertext with leading zero bytes (1 in 256) must
        // not become a narrower integer.
        let c = BoxedUint::from_be_slice(&bytes, self.key.n().bits_precision())
            .map_err(|_| BAD_INPUT_ERROR)?;
        if c >= *self.key.n().as_ref() {
            return Err(BAD_INPUT_ERROR);
        }
        let m = rsa::hazmat::rsa_decrypt_and_check(&self.key, None::<&mut getrandom::SysRng>, &c)
            .map_err(|_| DECRYPT_ERROR)?;
        let em = left_pad(&m.to_be_bytes(), size);
        // EM = 00 02 PS 00 M, PS at least 8 non-zero bytes.
        if em[0] != 0 || em[1] != 2 {
            return Err(DECRYPT_ERROR);
        }
        let separator = em[2..].iter().position(|&b| b == 0).ok_or(DECRYPT_ERROR)? + 2;
        if separator < 10 {
            return Err(DECRYPT_ERROR);
        }
        Ok(em[separator + 1..].to_vec())
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    Open,
    Wep,
    Other,
}

/// `toSecurityType` of 0.7: the cipher is dropped; only open and WEP are decided here.
fn security_class(sec: i64) -> Class {
    if sec == 0 {
        Class::Open
    } else if sec & WEP != 0 {
        Class::Wep
    } else {
        Class::Other
    }
}

fn aes_cbc_decrypt_no_unpad(key_iv: &[u8], hex: &[u8]) -> Vec<u8> {
    let mut data: Vec<u8> = hex
        .chunks(2)
        .filter(|p| p.len() == 2)
        .map(|p| hex_nibble(p[0]) << 4 | hex_nibble(p[1]))
        .collect();
    data.truncate(data.len() / 16 * 16);
    cbc::Decryptor::<aes::Aes128>::new_from_slices(&key_iv[..16], &key_iv[16..32])
        .expect("16-byte key and IV")
        .decrypt_padded_vec::<NoPadding>(&data)
        .expect("whole blocks")
}

fn hex_nibble(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        b'A'..=b'F' => c - b'A' + 10,
        _ => c & 0x0f,
    }
}

fn decode_hex_lenient(hex: &[u8]) -> Vec<u8> {
    hex.chunks(2)
        .filter(|p| p.len() == 2)
        .map(|p| hex_nibble(p[0]) << 4 | hex_nibble(p[1]))
        .collect()
}

/// Upper-case hex, as the device writes its key.
pub fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn left_pad(bytes: &[u8], size: usize) -> Vec<u8> {
    let start = bytes.len().saturating_sub(size);
    let mut out = vec![0u8; size.saturating_sub(bytes.len())];
    out.extend_from_slice(&bytes[start..]);
    out
}

/// Builds the firmware's writes: one per character or token (spec §3.2.4).
#[derive(Default)]
struct Writer {
    emits: Vec<Emit>,
}

impl Writer {
    fn write(&mut self, bytes: &[u8]) {
        self.emits.push(Emit::Write(bytes.to_vec()));
    }
    fn open(&mut self) {
        self.write(b"{");
    }
    fn close(&mut self) {
        self.write(b"}");
    }
    fn comma(&mut self) {
        self.write(b",");
    }
    fn key(&mut self, key: &str) {
        self.write(b"\"");
        self.write(key.as_bytes());
        self.write(b"\"");
        self.write(b":");
    }
    fn string_field(&mut self, key: &str, value: &[u8]) {
        self.key(key);
        self.write(b"\"");
        self.write(value);
        self.write(b"\"");
    }
    fn number_field(&mut self, key: &str, value: i64) {
        self.key(key);
        self.write(value.to_string().as_bytes());
    }
    fn result(&mut self, r: i64) {
        self.open();
        self.number_field("r", r);
        self.close();
    }
}
