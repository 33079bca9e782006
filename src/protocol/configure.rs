//! The requests that carry secrets: `set` (claim code) and `configure-ap` (the network).
//!
//! `configure-ap` encrypts every password with the device key (RSA PKCS#1 v1.5, hex), and an
//! EAP-TLS private key with the hybrid the device decrypts (spec §7.3): 32 random bytes, RSA-
//! encrypted as `ek`, are an AES-128 key and IV; `key` is the AES-128-CBC/PKCS#7 ciphertext.

use aes::cipher::block_padding::Pkcs7;
use aes::cipher::{BlockModeEncrypt, KeyIvInit};
use rand_core::TryCryptoRng;
use zeroize::Zeroizing;

use crate::protocol::command::{Command, Request};
use crate::protocol::credentials::{ClaimCode, Credentials, EapMethod, Network};
use crate::protocol::error::Error;
use crate::protocol::json::ObjectWriter;
use crate::protocol::key::DeviceKey;

impl Request {
    /// `set` with the claim code: `{"k":"cc","v":"<code>"}` (spec §4.5).
    pub fn set_claim_code(code: &ClaimCode) -> Self {
        let mut body = ObjectWriter::new();
        body.raw_string("k", b"cc");
        body.raw_string("v", code.expose().as_bytes());
        Self::new(Command::Set, Some(body.finish()))
    }

    /// `configure-ap` for a checked network, its secrets encrypted for `key`.
    ///
    /// Open networks carry no `pwd` at all: 0.6 firmware always decrypts a `pwd` that is
    /// present, so `"pwd":""` fails there (spec §4.6).
    ///
    /// # Errors
    /// [`Error::RandomUnavailable`] or [`Error::EncryptionFailed`] from the encryption.
    pub fn configure_ap<R: TryCryptoRng + ?Sized>(
        network: &Network,
        key: &DeviceKey,
        rng: &mut R,
    ) -> Result<Self, Error> {
        let mut body = ObjectWriter::new();
        body.number("idx", 0);
        body.raw_string("ssid", network.ssid.as_str().as_bytes());
        let password = match &network.credentials {
            Credentials::Open | Credentials::Tls { .. } => None,
            Credentials::Wep(secret) | Credentials::Passphrase(secret) => Some(secret),
            Credentials::Peap { password, .. } => Some(password),
        };
        if let Some(password) = password {
            body.raw_string(
                "pwd",
                key.encrypt_hex(rng, password.expose().as_bytes())?
                    .as_bytes(),
            );
        }
        if let Some(channel) = network.channel {
            body.number("ch", i64::from(channel));
        }
        body.number("sec", network.security.value());
        match &network.credentials {
            Credentials::Peap {
                outer_identity,
                inner_identity,
                ca_certificate,
                ..
            } => {
                body.number("eap", EapMethod::Peap.value());
                if let Some(outer) = outer_identity {
                    body.raw_string("oi", outer.as_bytes());
                }
                body.raw_string("ii", inner_identity.as_bytes());
                if let Some(ca) = ca_certificate {
                    body.escaped_string("ca", ca);
                }
            }
            Credentials::Tls {
                outer_identity,
                client_certificate,
                private_key,
                ca_certificate,
            } => {
                body.number("eap", EapMethod::Tls.value());
                if let Some(outer) = outer_identity {
                    body.raw_string("oi", outer.as_bytes());
                }
                body.escaped_string("crt", client_certificate);
                let sealed = seal_private_key(key, rng, private_key.expose().as_bytes())?;
                body.raw_string("ek", sealed.encrypted_key.as_bytes());
                body.raw_string("key", sealed.ciphertext.as_bytes());
                if let Some(ca) = ca_certificate {
                    body.escaped_string("ca", ca);
                }
            }
            Credentials::Open | Credentials::Wep(_) | Credentials::Passphrase(_) => {}
        }
        Ok(Self::new(Command::ConfigureAp, Some(body.finish())))
    }
}

/// A private key sealed for the device: `ek` and `key` of `configure-ap`, both hex.
pub struct SealedKey {
    /// RSA ciphertext of the AES key and IV.
    pub encrypted_key: String,
    /// AES-128-CBC ciphertext of the PEM, PKCS#7-padded.
    pub ciphertext: String,
}

/// Seals `pem` for the device with a fresh AES key and IV (spec §7.3).
///
/// # Errors
/// [`Error::RandomUnavailable`] or [`Error::EncryptionFailed`].
pub fn seal_private_key<R: TryCryptoRng + ?Sized>(
    key: &DeviceKey,
    rng: &mut R,
    pem: &[u8],
) -> Result<SealedKey, Error> {
    let mut key_and_iv = Zeroizing::new([0u8; 32]);
    rng.try_fill_bytes(&mut *key_and_iv)
        .map_err(|_| Error::RandomUnavailable)?;
    let (aes_key, iv) = key_and_iv.split_at(16);
    let encryptor = cbc::Encryptor::<aes::Aes128>::new_from_slices(aes_key, iv)
        .map_err(|_| Error::EncryptionFailed)?;
    let ciphertext = encryptor.encrypt_padded_vec::<Pkcs7>(pem);
    Ok(SealedKey {
        encrypted_key: key.encrypt_hex(rng, &*key_and_iv)?,
        ciphertext: hex::encode(&ciphertext),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::credentials::{NameOrNumber, NetworkOptions};
    use crate::protocol::json::{read_value, Progress, Value};
    use crate::protocol::key::tests::{device_blob_hex, private_key, rng};
    use aes::cipher::BlockModeDecrypt;

    const CERT: &str = include_str!("../../tests/fixtures/client-cert.pem");
    const KEY: &str = include_str!("../../tests/fixtures/client-key.pem");
    const CA: &str = include_str!("../../tests/fixtures/ca-cert.pem");

    fn device_key() -> DeviceKey {
        DeviceKey::from_device_hex(&device_blob_hex()).unwrap()
    }

    fn body_of(request: &Request) -> Value {
        match read_value(request.body().unwrap()).unwrap() {
            Progress::Complete((value, used)) => {
                assert_eq!(
                    used,
                    request.body().unwrap().len(),
                    "one JSON object, nothing else"
                );
                value
            }
            Progress::Partial => panic!("incomplete body"),
        }
    }

    fn decrypt_hex(value: &Value) -> Vec<u8> {
        let text = std::str::from_utf8(value.as_bytes().unwrap()).unwrap();
        assert_eq!(text.len(), 256);
        private_key()
            .pkcs1v15_decrypt(&hex::decode(text).unwrap())
            .unwrap()
    }

    fn keys(value: &Value) -> Vec<String> {
        match value {
            Value::Object(fields) => fields
                .iter()
                .map(|(k, _)| String::from_utf8(k.clone()).unwrap())
                .collect(),
            _ => panic!("not an object"),
        }
    }

    fn configure(options: NetworkOptions) -> Value {
        let network = options.validate().unwrap();
        body_of(&Request::configure_ap(&network, &device_key(), &mut rng()).unwrap())
    }

    #[test]
    fn claim_code_goes_out_verbatim_slashes_included() {
        let text = format!("ab/cd+ef{}", "x".repeat(55));
        let code = ClaimCode::new(&text).unwrap();
        let request = Request::set_claim_code(&code);
        assert_eq!(request.command(), Command::Set);
        let expected = format!(r#"{{"k":"cc","v":"{text}"}}"#);
        assert_eq!(request.body(), Some(expected.as_bytes()));
    }

    #[test]
    fn wpa2_sends_idx_ssid_encrypted_pwd_channel_and_sec() {
        let body = configure(NetworkOptions {
            ssid: "Café Ünïcode".into(),
            security: Some(NameOrNumber::Number(4194310)),
            password: Some("pässwörd-ü".into()),
            channel: Some(11),
            ..Default::default()
        });
        assert_eq!(keys(&body), ["idx", "ssid", "pwd", "ch", "sec"]);
        assert_eq!(body.get("idx").unwrap().as_i64(), Some(0));
        assert_eq!(
            body.get("ssid").unwrap().as_bytes(),
            Some("Café Ünïcode".as_bytes())
        );
        assert_eq!(
            decrypt_hex(body.get("pwd").unwrap()),
            "pässwörd-ü".as_bytes()
        );
        assert_eq!(body.get("ch").unwrap().as_i64(), Some(11));
        assert_eq!(body.get("sec").unwrap().as_i64(), Some(4194310));
    }

    #[test]
    fn open_networks_send_no_pwd_key_at_all() {
        let body = configure(NetworkOptions {
            ssid: "cafe".into(),
            ..Default::default()
        });
        assert_eq!(keys(&body), ["idx", "ssid", "sec"]);
        assert_eq!(body.get("sec").unwrap().as_i64(), Some(0));
    }

    #[test]
    fn wep_sends_the_encrypted_hex_record() {
        let body = configure(NetworkOptions {
            ssid: "old".into(),
            security: Some(NameOrNumber::Name("wep_shared".into())),
            password: Some("abcde".into()),
            ..Default::default()
        });
        assert_eq!(decrypt_hex(body.get("pwd").unwrap()), b"00056162636465");
        assert_eq!(body.get("sec").unwrap().as_i64(), Some(32769));
    }

    #[test]
    fn peap_sends_eap_25_identities_encrypted_password_and_escaped_ca() {
        let body = configure(NetworkOptions {
            ssid: "corp".into(),
            security: Some(NameOrNumber::Name("wpa2_enterprise_aes".into())),
            eap: Some(NameOrNumber::Name("peap".into())),
            inner_identity: Some("alice@corp.example".into()),
            outer_identity: Some("anonymous@corp.example".into()),
            password: Some("enterprise secret".into()),
            ca_certificate: Some(CA.into()),
            ..Default::default()
        });
        assert_eq!(
            keys(&body),
            ["idx", "ssid", "pwd", "sec", "eap", "oi", "ii", "ca"]
        );
        assert_eq!(body.get("eap").unwrap().as_i64(), Some(25));
        assert_eq!(
            body.get("ii").unwrap().as_bytes(),
            Some(&b"alice@corp.example"[..])
        );
        assert_eq!(
            body.get("oi").unwrap().as_bytes(),
            Some(&b"anonymous@corp.example"[..])
        );
        assert_eq!(decrypt_hex(body.get("pwd").unwrap()), b"enterprise secret");
        let ca = format!("{}\r\n", CA.trim());
        assert_eq!(body.get("ca").unwrap().as_bytes(), Some(ca.as_bytes()));
    }

    #[test]
    fn eap_tls_private_key_decrypts_with_the_hybrid_scheme() {
        let body = configure(NetworkOptions {
            ssid: "corp".into(),
            security: Some(NameOrNumber::Name("wpa2_enterprise".into())),
            eap: Some(NameOrNumber::Number(13)),
            client_certificate: Some(CERT.into()),
            private_key: Some(KEY.into()),
            ..Default::default()
        });
        assert_eq!(
            keys(&body),
            ["idx", "ssid", "sec", "eap", "crt", "ek", "key"]
        );
        assert_eq!(body.get("eap").unwrap().as_i64(), Some(13));
        let crt = format!("{}\r\n", CERT.trim());
        assert_eq!(body.get("crt").unwrap().as_bytes(), Some(crt.as_bytes()));
        // As the device does it: RSA-decrypt ek, then AES-128-CBC with key ek[..16], IV ek[16..].
        let key_and_iv = decrypt_hex(body.get("ek").unwrap());
        assert_eq!(key_and_iv.len(), 32);
        let ciphertext =
            hex::decode(std::str::from_utf8(body.get("key").unwrap().as_bytes().unwrap()).unwrap())
                .unwrap();
        let pem = format!("{}\r\n", KEY.trim());
        assert_eq!(
            ciphertext.len(),
            16 * (pem.len() / 16 + 1),
            "PKCS#7 always pads"
        );
        let plaintext =
            cbc::Decryptor::<aes::Aes128>::new_from_slices(&key_and_iv[..16], &key_and_iv[16..])
                .unwrap()
                .decrypt_padded_vec::<Pkcs7>(&ciphertext)
                .unwrap();
        assert_eq!(plaintext, pem.as_bytes());
    }

    #[test]
    fn sealing_uses_fresh_keys_each_time() {
        let key = device_key();
        let mut rng = rng();
        let a = seal_private_key(&key, &mut rng, b"pem").unwrap();
        let b = seal_private_key(&key, &mut rng, b"pem").unwrap();
        assert_ne!(a.ciphertext, b.ciphertext);
        assert_ne!(a.encrypted_key, b.encrypted_key);
    }

    #[test]
    fn the_body_never_contains_a_plaintext_secret() {
        let network = NetworkOptions {
            ssid: "home".into(),
            security: Some(NameOrNumber::Name("wpa2".into())),
            password: Some("hunter2hunter2".into()),
            ..Default::default()
        }
        .validate()
        .unwrap();
        let request = Request::configure_ap(&network, &device_key(), &mut rng()).unwrap();
        let body = String::from_utf8(request.body().unwrap().to_vec()).unwrap();
        assert!(!body.contains("hunter2"));
        assert!(!format!("{request:?}").contains("hunter2"));
    }
}
