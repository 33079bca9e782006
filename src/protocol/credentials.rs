//! What the customer types, checked before anything is sent ("parse, don't validate").
//!
//! [`NetworkOptions`] is the loose input of a form or a JS object; [`NetworkOptions::validate`]
//! turns it into a [`Network`] that the device will accept, or names the first field to fix.
//! Secrets live in [`Secret`], which never prints and is wiped when dropped.

use core::fmt;

use serde::Deserialize;
use zeroize::Zeroizing;

use crate::protocol::error::{Error, Field};
use crate::protocol::security::{Security, SecurityClass};

/// Largest network name, in bytes (802.11).
pub const MAX_SSID_BYTES: usize = 32;
/// The length of a claim code: what the cloud issues and the device stores (spec §4.5).
pub const MAX_CLAIM_CODE_BYTES: usize = 63;
/// Largest identity or PEAP password the device accepts (spec §6, `check_enterprise_credentials`).
pub const MAX_ENTERPRISE_FIELD_BYTES: usize = 64;
/// Largest certificate: the device copies it only if shorter than its 4096-byte slot.
pub const MAX_CERTIFICATE_BYTES: usize = 4095;
/// Largest private key PEM: its AES ciphertext (PEM + 1..=16 padding bytes, spec §7.3) must be
/// shorter than the device's 2048-byte slot, so at most 2032 bytes, of which ≥ 1 is padding.
pub const MAX_PRIVATE_KEY_BYTES: usize = 2031;

/// A secret string: never printed, wiped from memory when dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: String) -> Self {
        Self(Zeroizing::new(value))
    }

    /// The secret, for encryption only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// A value the device stores without JSON-unescaping it (spec §8): `"`, `\` and control
/// characters cannot be sent correctly, so they are refused with a message that says so.
fn check_plain(field: Field, value: &str) -> Result<(), Error> {
    match value.chars().find(|&c| c == '"' || c == '\\' || c < ' ') {
        Some(character) => Err(Error::UnsupportedCharacter { field, character }),
        None => Ok(()),
    }
}

/// A network name the device can store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ssid(String);

impl Ssid {
    /// Checks a network name: 1 to 32 UTF-8 bytes, nothing the device cannot store.
    ///
    /// # Errors
    /// [`Error::SsidLength`] or [`Error::UnsupportedCharacter`].
    pub fn new(name: &str) -> Result<Self, Error> {
        if name.is_empty() || name.len() > MAX_SSID_BYTES {
            return Err(Error::SsidLength { bytes: name.len() });
        }
        check_plain(Field::Ssid, name)?;
        Ok(Self(name.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A claim code from the cloud, ready for the device's `set` command.
#[derive(Clone, PartialEq, Eq)]
pub struct ClaimCode(Secret);

impl ClaimCode {
    /// Checks a claim code: exactly the form the cloud issues, 63 characters of base64's
    /// alphabet, `+` and `/` included (cloud spec §4.4). Anything else never came from the
    /// cloud (a crafted link, say), and `/` is sent unescaped, as the device stores it verbatim.
    ///
    /// # Errors
    /// [`Error::ClaimCodeLength`] or [`Error::UnsupportedCharacter`].
    pub fn new(code: &str) -> Result<Self, Error> {
        let length = code.chars().count();
        if length != MAX_CLAIM_CODE_BYTES {
            return Err(Error::ClaimCodeLength { length });
        }
        if let Some(character) = code
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '+' || *c == '/'))
        {
            return Err(Error::UnsupportedCharacter {
                field: Field::ClaimCode,
                character,
            });
        }
        Ok(Self(Secret::new(code.to_owned())))
    }

    /// The code.
    pub fn expose(&self) -> &str {
        self.0.expose()
    }
}

impl fmt::Debug for ClaimCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClaimCode(<redacted>)")
    }
}

/// The EAP method of an enterprise network (spec §6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EapMethod {
    /// PEAP with MSCHAPv2: user name and password.
    Peap,
    /// EAP-TLS: client certificate and private key.
    Tls,
}

impl EapMethod {
    /// The IANA EAP type number the device's `eap` field takes.
    pub fn value(self) -> i64 {
        match self {
            Self::Peap => 25,
            Self::Tls => 13,
        }
    }

    /// Looks a method up by name (`peap`, `peap/mschapv2`, `tls`, `eap-tls`) or number.
    ///
    /// # Errors
    /// [`Error::UnknownEapMethod`], for LEAP, TTLS and anything else the device refuses.
    pub fn from_name(name: &str) -> Result<Self, Error> {
        match name.trim().to_ascii_lowercase().as_str() {
            "peap" | "peap/mschapv2" | "peap-mschapv2" | "25" => Ok(Self::Peap),
            "tls" | "eap-tls" | "eap_tls" | "13" => Ok(Self::Tls),
            _ => Err(Error::UnknownEapMethod {
                name: name.chars().take(32).collect(),
            }),
        }
    }
}

/// A security type or EAP method as JS gives it: a name or the number.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum NameOrNumber {
    /// A number, as the scan reports it.
    Number(i64),
    /// A name from the table.
    Name(String),
}

/// The network to configure, as a form or a JS object gives it. Empty strings count as
/// absent, as form fields deliver them.
#[derive(Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct NetworkOptions {
    /// Network name.
    pub ssid: String,
    /// Security: a name (`"wpa2_mixed"`) or the scan's number. Absent means open.
    pub security: Option<NameOrNumber>,
    /// Wi-Fi password, WEP key or PEAP password.
    pub password: Option<String>,
    /// Channel, as the scan reports it.
    pub channel: Option<u32>,
    /// EAP method for enterprise networks: `"peap"`, `"tls"` or 25 / 13.
    pub eap: Option<NameOrNumber>,
    /// PEAP user name.
    pub inner_identity: Option<String>,
    /// Anonymous outer identity (enterprise, optional).
    pub outer_identity: Option<String>,
    /// EAP-TLS client certificate, PEM.
    pub client_certificate: Option<String>,
    /// EAP-TLS client private key, PEM.
    pub private_key: Option<String>,
    /// CA certificate to check the RADIUS server with, PEM (optional).
    pub ca_certificate: Option<String>,
}

impl fmt::Debug for NetworkOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NetworkOptions")
            .field("ssid", &self.ssid)
            .field("security", &self.security)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("channel", &self.channel)
            .field("eap", &self.eap)
            .field("inner_identity", &self.inner_identity)
            .field("outer_identity", &self.outer_identity)
            .field(
                "client_certificate",
                &self.client_certificate.as_ref().map(String::len),
            )
            .field(
                "private_key",
                &self.private_key.as_ref().map(|_| "<redacted>"),
            )
            .field(
                "ca_certificate",
                &self.ca_certificate.as_ref().map(String::len),
            )
            .finish()
    }
}

fn present(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|v| !v.is_empty())
}

/// The credentials of a checked network, in the form the device takes them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credentials {
    /// An open network.
    Open,
    /// A WEP key in the device's form: hex of key index 0, key length, key bytes.
    Wep(Secret),
    /// A WPA/WPA2 passphrase or 64-hex-digit PSK.
    Passphrase(Secret),
    /// PEAP/MSCHAPv2.
    Peap {
        /// Outer identity.
        outer_identity: Option<String>,
        /// User name.
        inner_identity: String,
        /// Password.
        password: Secret,
        /// CA certificate, normalised PEM.
        ca_certificate: Option<String>,
    },
    /// EAP-TLS.
    Tls {
        /// Outer identity.
        outer_identity: Option<String>,
        /// Client certificate, normalised PEM.
        client_certificate: String,
        /// Private key, normalised PEM.
        private_key: Secret,
        /// CA certificate, normalised PEM.
        ca_certificate: Option<String>,
    },
}

/// A network the device will accept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Network {
    /// Name.
    pub ssid: Ssid,
    /// Security value sent as `sec`.
    pub security: Security,
    /// Channel sent as `ch`, if known.
    pub channel: Option<u32>,
    /// What authenticates the device.
    pub credentials: Credentials,
}

impl NetworkOptions {
    /// Checks every field against what the device accepts.
    ///
    /// # Errors
    /// The first problem found, naming its field.
    pub fn validate(&self) -> Result<Network, Error> {
        let ssid = Ssid::new(&self.ssid)?;
        let security = match &self.security {
            None => Security::OPEN,
            Some(NameOrNumber::Name(name)) => Security::from_name(name)?,
            Some(NameOrNumber::Number(value)) => {
                Security::from_value(*value).ok_or(Error::UnsupportedSecurity { value: *value })?
            }
        };
        let class = security.class()?;
        let enterprise_given = self.eap.is_some()
            || [
                &self.inner_identity,
                &self.outer_identity,
                &self.client_certificate,
            ]
            .into_iter()
            .chain([&self.private_key, &self.ca_certificate])
            .any(|v| present(v).is_some());
        if enterprise_given && class != SecurityClass::Enterprise {
            return Err(Error::SecurityMismatch);
        }
        let password = present(&self.password);
        let credentials = match class {
            SecurityClass::Open => match password {
                Some(_) => return Err(Error::PasswordNotAllowed),
                None => Credentials::Open,
            },
            SecurityClass::Wep => Credentials::Wep(wep_key(password)?),
            SecurityClass::Personal => Credentials::Passphrase(passphrase(password)?),
            SecurityClass::Enterprise => self.enterprise()?,
        };
        Ok(Network {
            ssid,
            security,
            channel: self.channel,
            credentials,
        })
    }

    fn enterprise(&self) -> Result<Credentials, Error> {
        let method = match &self.eap {
            None => return Err(Error::MissingField { field: Field::Eap }),
            Some(NameOrNumber::Name(name)) => EapMethod::from_name(name)?,
            Some(NameOrNumber::Number(n)) => EapMethod::from_name(&n.to_string())?,
        };
        let outer_identity = match present(&self.outer_identity) {
            Some(outer) => Some(identity(Field::OuterIdentity, outer)?),
            None => None,
        };
        let ca_certificate = match present(&self.ca_certificate) {
            Some(ca) => Some(pem(Field::CaCertificate, ca, MAX_CERTIFICATE_BYTES)?),
            None => None,
        };
        match method {
            EapMethod::Peap => {
                let inner = present(&self.inner_identity).ok_or(Error::MissingField {
                    field: Field::InnerIdentity,
                })?;
                let password = present(&self.password).ok_or(Error::MissingField {
                    field: Field::Password,
                })?;
                if password.len() > MAX_ENTERPRISE_FIELD_BYTES {
                    return Err(Error::FieldTooLong {
                        field: Field::Password,
                        max_bytes: MAX_ENTERPRISE_FIELD_BYTES,
                    });
                }
                no_nul(password)?;
                if present(&self.client_certificate).is_some()
                    || present(&self.private_key).is_some()
                {
                    return Err(Error::SecurityMismatch);
                }
                Ok(Credentials::Peap {
                    outer_identity,
                    inner_identity: identity(Field::InnerIdentity, inner)?,
                    password: Secret::new(password.to_owned()),
                    ca_certificate,
                })
            }
            EapMethod::Tls => {
                let certificate = present(&self.client_certificate).ok_or(Error::MissingField {
                    field: Field::ClientCertificate,
                })?;
                let key = present(&self.private_key).ok_or(Error::MissingField {
                    field: Field::PrivateKey,
                })?;
                if present(&self.password).is_some() || present(&self.inner_identity).is_some() {
                    return Err(Error::SecurityMismatch);
                }
                let private_key = pem(Field::PrivateKey, key, MAX_PRIVATE_KEY_BYTES)?;
                if !private_key.contains("PRIVATE KEY-----") {
                    return Err(Error::NotPem {
                        field: Field::PrivateKey,
                    });
                }
                Ok(Credentials::Tls {
                    outer_identity,
                    client_certificate: pem(
                        Field::ClientCertificate,
                        certificate,
                        MAX_CERTIFICATE_BYTES,
                    )?,
                    private_key: Secret::new(private_key),
                    ca_certificate,
                })
            }
        }
    }
}

/// The device uses a password only up to its first NUL (spec §7.2).
fn no_nul(password: &str) -> Result<(), Error> {
    match password.contains('\0') {
        true => Err(Error::UnsupportedCharacter {
            field: Field::Password,
            character: '\0',
        }),
        false => Ok(()),
    }
}

fn is_hex(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// WPA/WPA2: 8 to 63 characters (at most 63 bytes: the device reads 64 as a raw PSK), or a
/// raw PSK of 64 hex digits.
fn passphrase(password: Option<&str>) -> Result<Secret, Error> {
    let password = password.ok_or(Error::PasswordRequired)?;
    let psk = password.len() == 64 && is_hex(password);
    let chars = password.chars().count();
    if !psk && (!(8..=63).contains(&chars) || password.len() > 63) {
        return Err(Error::PassphraseLength);
    }
    no_nul(password)?;
    Ok(Secret::new(password.to_owned()))
}

/// WEP: 5 or 13 ASCII characters, or 10 or 26 hex digits. The device hex-decodes any WEP
/// password not starting with a byte ≤ 4 into WICED's key record of index, length and key
/// (device-os `add_wiced_wifi_credentials`), so the record is sent hex-encoded: key index 0.
fn wep_key(password: Option<&str>) -> Result<Secret, Error> {
    let key = password.ok_or(Error::PasswordRequired)?;
    let bytes: Zeroizing<Vec<u8>> = match key.len() {
        5 | 13 if key.bytes().all(|b| b.is_ascii_graphic() || b == b' ') => {
            Zeroizing::new(key.as_bytes().to_vec())
        }
        10 | 26 if is_hex(key) => Zeroizing::new(
            key.as_bytes()
                .chunks(2)
                .map(|pair| {
                    let text = core::str::from_utf8(pair).unwrap_or("00");
                    u8::from_str_radix(text, 16).unwrap_or(0)
                })
                .collect(),
        ),
        _ => return Err(Error::WepKeyFormat),
    };
    let mut record = Zeroizing::new(String::with_capacity(4 + 2 * bytes.len()));
    record.push_str("00");
    for byte in core::iter::once(&(bytes.len() as u8)).chain(bytes.iter()) {
        record.push(char::from_digit(u32::from(byte >> 4), 16).unwrap_or('0'));
        record.push(char::from_digit(u32::from(byte & 0xf), 16).unwrap_or('0'));
    }
    Ok(Secret::new(core::mem::take(&mut *record)))
}

fn identity(field: Field, value: &str) -> Result<String, Error> {
    if value.len() > MAX_ENTERPRISE_FIELD_BYTES {
        return Err(Error::FieldTooLong {
            field,
            max_bytes: MAX_ENTERPRISE_FIELD_BYTES,
        });
    }
    check_plain(field, value)?;
    Ok(value.to_owned())
}

/// PEM normalised as the reference client sends it (spec §7.3): trimmed, ending in CRLF.
fn pem(field: Field, value: &str, max_bytes: usize) -> Result<String, Error> {
    let trimmed = value.trim();
    if !trimmed.starts_with("-----BEGIN ") || !trimmed.ends_with("-----") {
        return Err(Error::NotPem { field });
    }
    // The device unescapes only \" \\ \/ \b \t \n \f \r; anything needing \uXXXX is lost.
    if let Some(character) = trimmed
        .chars()
        .find(|&c| c < ' ' && !"\t\n\r\x08\x0c".contains(c))
    {
        return Err(Error::UnsupportedCharacter { field, character });
    }
    let normalized = format!("{trimmed}\r\n");
    if normalized.len() > max_bytes {
        return Err(Error::FieldTooLong { field, max_bytes });
    }
    Ok(normalized)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wpa2(ssid: &str, password: &str) -> NetworkOptions {
        NetworkOptions {
            ssid: ssid.into(),
            security: Some(NameOrNumber::Name("wpa2".into())),
            password: Some(password.into()),
            ..Default::default()
        }
    }

    const CERT: &str = include_str!("../../tests/fixtures/client-cert.pem");
    const KEY: &str = include_str!("../../tests/fixtures/client-key.pem");
    const CA: &str = include_str!("../../tests/fixtures/ca-cert.pem");

    fn code(result: Result<Network, Error>) -> &'static str {
        result.unwrap_err().code()
    }

    #[test]
    fn ssid_is_1_to_32_utf8_bytes() {
        assert_eq!(Ssid::new("").unwrap_err(), Error::SsidLength { bytes: 0 });
        assert!(Ssid::new(&"a".repeat(32)).is_ok());
        assert_eq!(
            Ssid::new(&"a".repeat(33)).unwrap_err(),
            Error::SsidLength { bytes: 33 }
        );
        // 11 × "é" = 22 bytes fits; 17 × "é" = 34 bytes does not, though only 17 characters
        assert!(Ssid::new(&"é".repeat(16)).is_ok());
        assert_eq!(
            Ssid::new(&"é".repeat(17)).unwrap_err(),
            Error::SsidLength { bytes: 34 }
        );
        assert_eq!(Ssid::new("Café 😀").unwrap().as_str(), "Café 😀");
    }

    #[test]
    fn characters_the_device_cannot_unescape_are_refused_with_their_name() {
        for (name, bad) in [
            ("My\"Net", '"'),
            ("a\\b", '\\'),
            ("tab\there", '\t'),
            ("nl\n", '\n'),
        ] {
            let error = Ssid::new(name).unwrap_err();
            assert_eq!(
                error,
                Error::UnsupportedCharacter {
                    field: Field::Ssid,
                    character: bad
                }
            );
            assert!(error.to_string().contains("network name"), "{error}");
        }
        assert!(
            Ssid::new("slash/ok").is_ok(),
            "slashes are fine: they are never escaped"
        );
        let quoted = format!("{}\"", "a".repeat(62));
        assert_eq!(
            ClaimCode::new(&quoted).unwrap_err(),
            Error::UnsupportedCharacter {
                field: Field::ClaimCode,
                character: '"'
            }
        );
    }

    #[test]
    fn claim_code_is_exactly_63_characters() {
        assert_eq!(
            ClaimCode::new("").unwrap_err(),
            Error::ClaimCodeLength { length: 0 }
        );
        let real = "rCFr2KAJNgzJ2rR3Jm1ZoUd7G4Sr3ak7MRHdWrM274eYzInP1+psZ0fP2qNehlj";
        assert_eq!(real.len(), 63);
        assert_eq!(ClaimCode::new(real).unwrap().expose(), real);
        assert_eq!(
            ClaimCode::new(&format!("{real}x")).unwrap_err(),
            Error::ClaimCodeLength { length: 64 }
        );
        assert!(!format!("{:?}", ClaimCode::new(real).unwrap()).contains("rCFr"));
    }

    #[test]
    fn wpa_passphrase_edges() {
        assert_eq!(code(wpa2("n", "1234567").validate()), "passphrase-length");
        assert!(wpa2("n", "12345678").validate().is_ok());
        assert!(wpa2("n", &"p".repeat(63)).validate().is_ok());
        assert_eq!(
            code(wpa2("n", &"p".repeat(64)).validate()),
            "passphrase-length"
        );
        assert!(
            wpa2(
                "n",
                &"pZ3"
                    .repeat(21)
                    .chars()
                    .chain("0".chars())
                    .collect::<String>()
            )
            .validate()
            .is_err(),
            "64 characters that are not all hex are too long"
        );
        assert!(
            wpa2("n", &"aB34".repeat(16)).validate().is_ok(),
            "64 hex digits: a raw PSK"
        );
        assert_eq!(
            code(wpa2("n", &"p".repeat(65)).validate()),
            "passphrase-length"
        );
        // 8 characters of 2 bytes: fine; 32 characters of 2 bytes = 64 bytes: too long
        assert!(wpa2("n", &"ü".repeat(8)).validate().is_ok());
        assert_eq!(
            code(wpa2("n", &"ü".repeat(32)).validate()),
            "passphrase-length"
        );
        assert_eq!(code(wpa2("n", "").validate()), "password-required");
        assert_eq!(
            code(wpa2("n", "pass\0word").validate()),
            "unsupported-character"
        );
    }

    #[test]
    fn wep_keys_become_the_devices_hex_record() {
        let wep = |key: &str| NetworkOptions {
            ssid: "old".into(),
            security: Some(NameOrNumber::Name("wep_psk".into())),
            password: Some(key.into()),
            ..Default::default()
        };
        let record = |key: &str| match wep(key).validate().unwrap().credentials {
            Credentials::Wep(secret) => secret.expose().to_owned(),
            other => panic!("{other:?}"),
        };
        assert_eq!(record("abcde"), "00056162636465");
        assert_eq!(record("0A1B2C3D4E"), "00050a1b2c3d4e");
        assert_eq!(record("ABCDEFGHIJKLM"), "000d4142434445464748494a4b4c4d");
        assert_eq!(record(&"f".repeat(26)), format!("000d{}", "f".repeat(26)));
        for bad in [
            "abcd",
            "abcdef",
            "0A1B2C3D4G",
            &"f".repeat(24),
            "ab\u{e9}de",
        ] {
            assert_eq!(code(wep(bad).validate()), "wep-key-format", "{bad}");
        }
    }

    #[test]
    fn open_networks_take_no_password_and_unknown_security_is_no_open_network() {
        let open = NetworkOptions {
            ssid: "cafe".into(),
            ..Default::default()
        };
        assert_eq!(open.validate().unwrap().credentials, Credentials::Open);
        let open_with_empty = NetworkOptions {
            password: Some(String::new()),
            ..open.clone()
        };
        assert!(
            open_with_empty.validate().is_ok(),
            "an empty form field is no password"
        );
        let open_with_password = NetworkOptions {
            password: Some("secret12".into()),
            ..open.clone()
        };
        assert_eq!(code(open_with_password.validate()), "password-not-allowed");
        let typo = NetworkOptions {
            security: Some(NameOrNumber::Name("wpa-2".into())),
            password: Some("secret12".into()),
            ..open.clone()
        };
        assert_eq!(code(typo.validate()), "unknown-security");
        let unknown = NetworkOptions {
            security: Some(NameOrNumber::Number(-1)),
            ..open
        };
        assert_eq!(code(unknown.validate()), "unsupported-security");
    }

    fn enterprise(eap: &str) -> NetworkOptions {
        NetworkOptions {
            ssid: "corp".into(),
            security: Some(NameOrNumber::Name("wpa2_enterprise".into())),
            eap: Some(NameOrNumber::Name(eap.into())),
            ..Default::default()
        }
    }

    #[test]
    fn peap_needs_user_and_password_within_64_bytes() {
        let mut peap = enterprise("PEAP");
        assert_eq!(
            peap.validate().unwrap_err(),
            Error::MissingField {
                field: Field::InnerIdentity
            }
        );
        peap.inner_identity = Some("alice".into());
        assert_eq!(
            peap.validate().unwrap_err(),
            Error::MissingField {
                field: Field::Password
            }
        );
        peap.password = Some("p".repeat(65));
        assert_eq!(
            peap.validate().unwrap_err(),
            Error::FieldTooLong {
                field: Field::Password,
                max_bytes: 64
            }
        );
        peap.password = Some("p".repeat(64));
        peap.outer_identity = Some("anonymous@corp".into());
        peap.ca_certificate = Some(format!("\n  {CA}  \n"));
        match peap.validate().unwrap().credentials {
            Credentials::Peap {
                outer_identity,
                inner_identity,
                ca_certificate,
                ..
            } => {
                assert_eq!(outer_identity.as_deref(), Some("anonymous@corp"));
                assert_eq!(inner_identity, "alice");
                assert_eq!(ca_certificate.unwrap(), format!("{}\r\n", CA.trim()));
            }
            other => panic!("{other:?}"),
        }
        peap.outer_identity = Some("o".repeat(65));
        assert_eq!(
            peap.validate().unwrap_err(),
            Error::FieldTooLong {
                field: Field::OuterIdentity,
                max_bytes: 64
            }
        );
        peap.outer_identity = Some("a\"b".into());
        assert_eq!(code(peap.validate()), "unsupported-character");
    }

    #[test]
    fn eap_tls_needs_pem_certificate_and_key() {
        let mut tls = enterprise("eap-tls");
        assert_eq!(
            tls.validate().unwrap_err(),
            Error::MissingField {
                field: Field::ClientCertificate
            }
        );
        tls.client_certificate = Some(CERT.into());
        assert_eq!(
            tls.validate().unwrap_err(),
            Error::MissingField {
                field: Field::PrivateKey
            }
        );
        tls.private_key = Some("MIIC...not pem".into());
        assert_eq!(
            tls.validate().unwrap_err(),
            Error::NotPem {
                field: Field::PrivateKey
            }
        );
        tls.private_key = Some(CERT.into());
        assert_eq!(
            tls.validate().unwrap_err(),
            Error::NotPem {
                field: Field::PrivateKey
            }
        );
        tls.private_key = Some(KEY.into());
        match tls.validate().unwrap().credentials {
            Credentials::Tls {
                private_key,
                client_certificate,
                ..
            } => {
                assert_eq!(private_key.expose(), format!("{}\r\n", KEY.trim()));
                assert!(client_certificate.ends_with("-----END CERTIFICATE-----\r\n"));
            }
            other => panic!("{other:?}"),
        }
        let huge_key = format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----",
            "A".repeat(2000)
        );
        tls.private_key = Some(huge_key);
        assert_eq!(
            tls.validate().unwrap_err(),
            Error::FieldTooLong {
                field: Field::PrivateKey,
                max_bytes: MAX_PRIVATE_KEY_BYTES
            }
        );
        tls.private_key = Some(KEY.into());
        tls.client_certificate = Some(format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----",
            "A".repeat(4100)
        ));
        assert_eq!(code(tls.validate()), "field-too-long");
    }

    #[test]
    fn enterprise_method_and_security_must_agree() {
        assert_eq!(code(enterprise("leap").validate()), "unknown-eap-method");
        assert_eq!(code(enterprise("ttls").validate()), "unknown-eap-method");
        let no_eap = NetworkOptions {
            eap: None,
            ..enterprise("peap")
        };
        assert_eq!(
            no_eap.validate().unwrap_err(),
            Error::MissingField { field: Field::Eap }
        );
        let mut personal_with_eap = wpa2("home", "password1");
        personal_with_eap.eap = Some(NameOrNumber::Number(25));
        assert_eq!(code(personal_with_eap.validate()), "security-mismatch");
        let mut peap_with_key = enterprise("peap");
        peap_with_key.inner_identity = Some("bob".into());
        peap_with_key.password = Some("pw".into());
        peap_with_key.private_key = Some(KEY.into());
        assert_eq!(code(peap_with_key.validate()), "security-mismatch");
        assert_eq!(EapMethod::from_name("13").unwrap(), EapMethod::Tls);
        assert_eq!(EapMethod::from_name("peap/MSCHAPv2").unwrap().value(), 25);
    }

    #[test]
    fn debug_output_never_shows_secrets() {
        let mut options = wpa2("home", "hunter2hunter2");
        options.private_key = Some("-----BEGIN PRIVATE KEY-----SECRETKEY".into());
        let debug = format!("{options:?}");
        assert!(
            !debug.contains("hunter2") && !debug.contains("SECRETKEY"),
            "{debug}"
        );
        let network = wpa2("home", "hunter2hunter2").validate().unwrap();
        assert!(!format!("{network:?}").contains("hunter2"));
    }
}
