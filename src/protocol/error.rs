//! The one error type of the core, with a stable machine-readable code per case.
//!
//! Codes are kebab-case strings that never change once released: they become the JS
//! `error.code`, the keys of the page's translations and the rows of the README's table.
//! Messages tell a person what to do. No variant carries a secret (password, private key,
//! claim code, token); at most a length or a character that is not allowed.

use core::fmt;

use crate::protocol::command::Command;

/// Which field of the caller's input an error is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    /// The CA certificate of an enterprise network.
    CaCertificate,
    /// The claim code from the cloud.
    ClaimCode,
    /// The client certificate of an EAP-TLS network.
    ClientCertificate,
    /// The EAP method of an enterprise network.
    Eap,
    /// The EAP user name (PEAP inner identity).
    InnerIdentity,
    /// The anonymous outer identity of an enterprise network.
    OuterIdentity,
    /// The Wi-Fi password or WEP key.
    Password,
    /// The client private key of an EAP-TLS network.
    PrivateKey,
    /// The network name.
    Ssid,
    /// The name the customer gives the device.
    DeviceName,
}

impl Field {
    /// The field's name as the JS API spells it.
    pub fn name(self) -> &'static str {
        match self {
            Self::CaCertificate => "caCertificate",
            Self::ClaimCode => "claimCode",
            Self::ClientCertificate => "clientCertificate",
            Self::Eap => "eap",
            Self::InnerIdentity => "innerIdentity",
            Self::OuterIdentity => "outerIdentity",
            Self::Password => "password",
            Self::PrivateKey => "privateKey",
            Self::Ssid => "ssid",
            Self::DeviceName => "deviceName",
        }
    }

    /// The field as a person calls it, for messages.
    fn label(self) -> &'static str {
        match self {
            Self::CaCertificate => "CA certificate",
            Self::ClaimCode => "claim code",
            Self::ClientCertificate => "client certificate",
            Self::Eap => "EAP method (PEAP or EAP-TLS)",
            Self::InnerIdentity => "user name",
            Self::OuterIdentity => "outer identity",
            Self::Password => "password",
            Self::PrivateKey => "private key",
            Self::Ssid => "network name",
            Self::DeviceName => "device name",
        }
    }
}

/// Why a public key was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyProblem {
    /// The device's `b` field is not hexadecimal.
    NotHex,
    /// The bytes are neither SubjectPublicKeyInfo nor PKCS#1 DER.
    NotDer,
    /// A well-formed key of another algorithm (EC, Ed25519, ...).
    NotRsa,
    /// Bytes other than zero padding follow the key.
    TrailingData,
    /// The modulus is outside 1024..=4096 bits.
    UnsupportedSize {
        /// The modulus length found.
        bits: usize,
    },
    /// The public exponent is even, below 3 or wider than 32 bits.
    BadExponent,
    /// The modulus is no RSA modulus (even, or not larger than the exponent).
    BadModulus,
}

/// Every way an operation of the core can fail.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    // --- the caller's input, refused before anything is sent ---
    /// The network name is empty or longer than 32 bytes.
    SsidLength {
        /// UTF-8 length found.
        bytes: usize,
    },
    /// A character the device cannot take in this field: it does not unescape JSON there,
    /// so `"`, `\` and control characters would arrive mangled.
    UnsupportedCharacter {
        /// The field.
        field: Field,
        /// The character refused (never from a secret field).
        character: char,
    },
    /// A WPA/WPA2 passphrase that is not 8–63 characters (at most 63 bytes) or 64 hex digits.
    PassphraseLength,
    /// A WEP key that is not 5 or 13 characters, or 10 or 26 hex digits.
    WepKeyFormat,
    /// The security needs a password and none was given.
    PasswordRequired,
    /// A password was given for an open network: refusing beats configuring an open network
    /// when the customer believes it is protected.
    PasswordNotAllowed,
    /// The claim code does not have the 63 characters the cloud issues.
    ClaimCodeLength {
        /// Characters found.
        length: usize,
    },
    /// A security name that is not in the table.
    UnknownSecurity {
        /// The name given, shortened to 32 characters.
        name: String,
    },
    /// A security value the device cannot be configured with (scan-only `unknown`, ad-hoc).
    UnsupportedSecurity {
        /// The raw value.
        value: i64,
    },
    /// An EAP method other than PEAP and EAP-TLS.
    UnknownEapMethod {
        /// The method given, shortened to 32 characters.
        name: String,
    },
    /// An enterprise network without a field its method needs.
    MissingField {
        /// The field that is missing.
        field: Field,
    },
    /// A field longer than the device stores.
    FieldTooLong {
        /// The field.
        field: Field,
        /// The largest size in bytes the device accepts.
        max_bytes: usize,
    },
    /// A certificate or key that is not PEM text.
    NotPem {
        /// The field.
        field: Field,
    },
    /// Enterprise fields given for a network whose security is not enterprise, or the reverse.
    SecurityMismatch,

    // --- the device key ---
    /// The device's public key cannot be used.
    InvalidPublicKey(KeyProblem),
    /// The device's key does not match the fingerprint the maker expects: it may be another
    /// device, or an impostor. Nothing secret was sent.
    FingerprintMismatch,
    /// The expected fingerprint given by the caller is not 64 hex digits.
    InvalidFingerprint,
    /// The system's random number generator failed.
    RandomUnavailable,
    /// The plaintext does not fit into one RSA block of the device key.
    EncryptionFailed,

    // --- what the device answered ---
    /// Bytes from the device that are not the expected reply.
    InvalidResponse {
        /// The command whose reply it was.
        command: Command,
        /// What was wrong, in a few words.
        reason: &'static str,
    },
    /// The device answered with an empty body: it did not accept the request's contents.
    RequestIgnored {
        /// The command.
        command: Command,
    },
    /// `configure-ap` −2: the device cannot see the network.
    NetworkNotFound,
    /// `configure-ap` −3: the device refused the network name's length.
    DeviceRejectedSsid,
    /// `configure-ap` −4: the device refused the password's length.
    DeviceRejectedPassword,
    /// A large negative `r`: the device could not decrypt what was sent.
    DecryptionFailed {
        /// The device's code.
        code: i64,
    },
    /// `configure-ap` 1: the device refused the enterprise settings.
    EnterpriseRejected,
    /// A positive `r` other than the documented ones: the device could not store the data.
    StorageFailed {
        /// The command.
        command: Command,
        /// The device's code.
        code: i64,
    },
    /// `set` −1: the device refused the claim code.
    ClaimCodeRejected,
    /// `public-key` answered `r` ≠ 0: the device cannot read its own key.
    PublicKeyUnavailable,
    /// Any other non-zero `r`.
    DeviceError {
        /// The command.
        command: Command,
        /// The device's code.
        code: i64,
    },

    // --- reaching the device and the cloud ---
    /// No complete reply in time.
    Timeout {
        /// The command.
        command: Command,
    },
    /// The device did not answer: not joined to its network, or it left listening mode.
    DeviceUnreachable,
    /// The browser's Local Network Access permission was denied for this page.
    LocalNetworkDenied,
    /// The browser blocks an https page from reaching the http device (mixed content).
    MixedContentBlocked,
    /// The device answered with an HTTP status other than 200 (a 404 for a request it
    /// routes nowhere, a 503 when busy).
    DeviceHttpStatus {
        /// The command.
        command: Command,
        /// The status.
        status: u16,
    },
    /// The caller cancelled.
    Cancelled,
    /// The device's firmware (Device OS 0.6 or older) cannot store enterprise settings.
    FirmwareTooOld,
    /// The device came back in setup mode after `connect-ap`: it could not join the network,
    /// most likely because of a wrong password.
    JoinFailed,
    /// The device is online but belongs to another customer (sold on, given away): the
    /// maker must release it before it can be set up for this customer.
    ClaimedByAnother,
    /// A handoff link or the device page's return is malformed or not from this maker.
    HandoffInvalid,
    /// The cloud refused the access token as expired.
    TokenExpired,
    /// The cloud refused the access token.
    TokenInvalid,
    /// The cloud answered with an error status.
    CloudError {
        /// HTTP status.
        status: u16,
    },
    /// The cloud could not be reached (no internet yet).
    CloudUnreachable,
    /// The device did not come online claimed in the time allowed.
    ClaimTimeout,
}

impl Error {
    /// The stable machine-readable code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            Self::SsidLength { .. } => "ssid-length",
            Self::UnsupportedCharacter { .. } => "unsupported-character",
            Self::PassphraseLength => "passphrase-length",
            Self::WepKeyFormat => "wep-key-format",
            Self::PasswordRequired => "password-required",
            Self::PasswordNotAllowed => "password-not-allowed",
            Self::ClaimCodeLength { .. } => "claim-code-length",
            Self::UnknownSecurity { .. } => "unknown-security",
            Self::UnsupportedSecurity { .. } => "unsupported-security",
            Self::UnknownEapMethod { .. } => "unknown-eap-method",
            Self::MissingField { .. } => "missing-field",
            Self::FieldTooLong { .. } => "field-too-long",
            Self::NotPem { .. } => "not-pem",
            Self::SecurityMismatch => "security-mismatch",
            Self::InvalidPublicKey(_) => "invalid-public-key",
            Self::FingerprintMismatch => "fingerprint-mismatch",
            Self::InvalidFingerprint => "invalid-fingerprint",
            Self::RandomUnavailable => "random-unavailable",
            Self::EncryptionFailed => "encryption-failed",
            Self::InvalidResponse { .. } => "invalid-response",
            Self::RequestIgnored { .. } => "request-ignored",
            Self::NetworkNotFound => "network-not-found",
            Self::DeviceRejectedSsid => "device-rejected-ssid",
            Self::DeviceRejectedPassword => "device-rejected-password",
            Self::DecryptionFailed { .. } => "decryption-failed",
            Self::EnterpriseRejected => "enterprise-rejected",
            Self::StorageFailed { .. } => "storage-failed",
            Self::ClaimCodeRejected => "claim-code-rejected",
            Self::PublicKeyUnavailable => "public-key-unavailable",
            Self::DeviceError { .. } => "device-error",
            Self::Timeout { .. } => "timeout",
            Self::DeviceUnreachable => "device-unreachable",
            Self::LocalNetworkDenied => "local-network-denied",
            Self::MixedContentBlocked => "mixed-content-blocked",
            Self::DeviceHttpStatus { .. } => "device-http-status",
            Self::Cancelled => "cancelled",
            Self::FirmwareTooOld => "firmware-too-old",
            Self::JoinFailed => "join-failed",
            Self::ClaimedByAnother => "claimed-by-another",
            Self::HandoffInvalid => "handoff-invalid",
            Self::TokenExpired => "token-expired",
            Self::TokenInvalid => "token-invalid",
            Self::CloudError { .. } => "cloud-error",
            Self::CloudUnreachable => "cloud-unreachable",
            Self::ClaimTimeout => "claim-timeout",
        }
    }

    /// Every code this type can produce, for the JS type union and the translations.
    pub const CODES: &'static [&'static str] = &[
        "ssid-length",
        "unsupported-character",
        "passphrase-length",
        "wep-key-format",
        "password-required",
        "password-not-allowed",
        "claim-code-length",
        "unknown-security",
        "unsupported-security",
        "unknown-eap-method",
        "missing-field",
        "field-too-long",
        "not-pem",
        "security-mismatch",
        "invalid-public-key",
        "fingerprint-mismatch",
        "invalid-fingerprint",
        "random-unavailable",
        "encryption-failed",
        "invalid-response",
        "request-ignored",
        "network-not-found",
        "device-rejected-ssid",
        "device-rejected-password",
        "decryption-failed",
        "enterprise-rejected",
        "storage-failed",
        "claim-code-rejected",
        "public-key-unavailable",
        "device-error",
        "timeout",
        "device-unreachable",
        "local-network-denied",
        "mixed-content-blocked",
        "device-http-status",
        "cancelled",
        "firmware-too-old",
        "join-failed",
        "claimed-by-another",
        "handoff-invalid",
        "token-expired",
        "token-invalid",
        "cloud-error",
        "cloud-unreachable",
        "claim-timeout",
    ];

    /// The input field this error is about, if any.
    pub fn field(&self) -> Option<Field> {
        match self {
            Self::SsidLength { .. } | Self::DeviceRejectedSsid | Self::NetworkNotFound => {
                Some(Field::Ssid)
            }
            Self::UnsupportedCharacter { field, .. }
            | Self::MissingField { field }
            | Self::FieldTooLong { field, .. }
            | Self::NotPem { field } => Some(*field),
            Self::PassphraseLength
            | Self::WepKeyFormat
            | Self::PasswordRequired
            | Self::PasswordNotAllowed
            | Self::DeviceRejectedPassword
            | Self::JoinFailed => Some(Field::Password),
            Self::ClaimCodeLength { .. } | Self::ClaimCodeRejected => Some(Field::ClaimCode),
            Self::UnknownEapMethod { .. } => Some(Field::Eap),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SsidLength { bytes: 0 } => f.write_str("Enter the network name."),
            Self::SsidLength { bytes } => {
                write!(f, "The network name has {bytes} bytes; Wi-Fi allows 32. Check the name.")
            }
            Self::UnsupportedCharacter {
                field: Field::DeviceName,
                character,
            } => write!(f, "A device name cannot hold {}. Remove it.", CharName(*character)),
            Self::UnsupportedCharacter { field, character } => write!(
                f,
                "The device cannot store {} in a {}. Remove it.",
                CharName(*character),
                field.label()
            ),
            Self::PassphraseLength => {
                f.write_str("A WPA password has 8 to 63 characters, or 64 hex digits. Check it.")
            }
            Self::WepKeyFormat => {
                f.write_str("A WEP key has 5 or 13 characters, or 10 or 26 hex digits. Check it.")
            }
            Self::PasswordRequired => f.write_str("This network needs a password."),
            Self::PasswordNotAllowed => {
                f.write_str("A password was given for an open network. Check the security type.")
            }
            Self::ClaimCodeLength { length } => {
                write!(f, "The claim code has {length} characters, not 63. Get a new one.")
            }
            Self::UnknownSecurity { name } => {
                write!(f, "\"{name}\" is no known Wi-Fi security type. Use e.g. \"wpa2\".")
            }
            Self::UnsupportedSecurity { value } => {
                write!(f, "The device cannot join networks of security {value}. Choose another type.")
            }
            Self::UnknownEapMethod { name } => {
                write!(f, "\"{name}\" is no EAP method the device supports. Use \"peap\" or \"tls\".")
            }
            Self::MissingField {
                field: Field::DeviceName,
            } => f.write_str("Give the device a name."),
            Self::MissingField { field } => write!(f, "This network needs a {}.", field.label()),
            Self::FieldTooLong {
                field: Field::DeviceName,
                max_bytes,
            } => write!(f, "The device name is too long: it may have {max_bytes} bytes."),
            Self::FieldTooLong { field, max_bytes } => {
                write!(f, "The {} is too long: the device keeps {max_bytes} bytes.", field.label())
            }
            Self::NotPem { field } => write!(f, "The {} must be PEM text (-----BEGIN …).", field.label()),
            Self::SecurityMismatch => {
                f.write_str("Enterprise settings belong to enterprise networks only. Check the security type.")
            }
            Self::InvalidPublicKey(problem) => {
                f.write_str("The device's key is unusable (")?;
                match problem {
                    KeyProblem::NotHex => f.write_str("not hex")?,
                    KeyProblem::NotDer => f.write_str("not DER")?,
                    KeyProblem::NotRsa => f.write_str("not RSA")?,
                    KeyProblem::TrailingData => f.write_str("trailing bytes")?,
                    KeyProblem::UnsupportedSize { bits } => write!(f, "{bits} bits")?,
                    KeyProblem::BadExponent => f.write_str("unsafe exponent")?,
                    KeyProblem::BadModulus => f.write_str("bad modulus")?,
                }
                f.write_str("). Restart its setup mode.")
            }
            Self::FingerprintMismatch => f.write_str(
                "This is not the expected device: its key differs. Nothing was sent. Join the right device's network.",
            ),
            Self::InvalidFingerprint => f.write_str("A device fingerprint has 64 hex digits."),
            Self::RandomUnavailable => f.write_str("No secure random numbers here. Try another browser."),
            Self::EncryptionFailed => f.write_str("The secret is too long for the device's key."),
            Self::InvalidResponse { command, reason } => {
                write!(f, "The device's reply to {} is unreadable ({reason}). Try again.", command.name())
            }
            Self::RequestIgnored { command: Command::ConfigureAp } => f.write_str(
                "The device ignored the network settings. Enterprise networks need Device OS 0.7.0 or later.",
            ),
            Self::RequestIgnored { command } => {
                write!(f, "The device ignored {}. Try again.", command.name())
            }
            Self::NetworkNotFound => f.write_str(
                "The device cannot see this network. Check the name; it must be 2.4 GHz and in range.",
            ),
            Self::DeviceRejectedSsid => f.write_str("The device refused the network name. Check it."),
            Self::DeviceRejectedPassword => f.write_str("The device refused the password's length. Check it."),
            Self::DecryptionFailed { code } => {
                write!(f, "The device could not decrypt (code {code}). Restart its setup mode.")
            }
            Self::EnterpriseRejected => {
                f.write_str("The device refused the enterprise settings. Check user, password, certificates.")
            }
            Self::StorageFailed { command, code } => {
                write!(f, "The device could not save {} (code {code}). Restart it.", command.name())
            }
            Self::ClaimCodeRejected => f.write_str("The device refused the claim code. Get a new one."),
            Self::PublicKeyUnavailable => {
                f.write_str("The device cannot read its key. Restart it; if that persists, contact the maker.")
            }
            Self::DeviceError { command, code } => {
                write!(f, "The device reported error {code} for {}. Try again.", command.name())
            }
            Self::Timeout { command } => {
                write!(f, "The device did not answer {} in time. Stay close and try again.", command.name())
            }
            Self::DeviceUnreachable => {
                f.write_str("The device is unreachable. Join its Wi-Fi (Photon-…); its light must blink blue.")
            }
            Self::LocalNetworkDenied => {
                f.write_str("Local network access was denied. Allow it in the site settings and try again.")
            }
            Self::MixedContentBlocked => {
                f.write_str("This browser blocks a secure page from the device. Use the device's own page.")
            }
            Self::DeviceHttpStatus { command, status } => {
                write!(f, "The device answered {} with HTTP {status}. Try again.", command.name())
            }
            Self::Cancelled => f.write_str("Setup was cancelled."),
            Self::FirmwareTooOld => f.write_str(
                "The device's firmware is too old for enterprise networks (Device OS 0.7.0 or later). Choose another network.",
            ),
            Self::JoinFailed => f.write_str(
                "The device could not join the network and is back in setup mode. Check the password.",
            ),
            Self::ClaimedByAnother => f.write_str(
                "This device belongs to another customer. Ask the maker to release it, then set it up again.",
            ),
            Self::HandoffInvalid => f.write_str("This setup link is incomplete. Start the setup again."),
            Self::TokenExpired => f.write_str("Your session has expired. Sign in again."),
            Self::TokenInvalid => f.write_str("Your session is not valid. Sign in again."),
            Self::CloudError { status } => write!(f, "The cloud answered HTTP {status}. Try again soon."),
            Self::CloudUnreachable => f.write_str("The cloud is unreachable. Get back online."),
            Self::ClaimTimeout => {
                f.write_str("The device did not come online. Blinking green may mean a wrong Wi-Fi password.")
            }
        }
    }
}

impl std::error::Error for Error {}

/// A character as a person can read it in a message.
struct CharName(char);

impl fmt::Display for CharName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            '"' => f.write_str("a double quote (\")"),
            '\\' => f.write_str("a backslash (\\)"),
            c if c.is_control() => write!(f, "a control character (U+{:04X})", c as u32),
            c => write!(f, "\"{c}\""),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_variant() -> Vec<Error> {
        vec![
            Error::SsidLength { bytes: 33 },
            Error::UnsupportedCharacter {
                field: Field::Ssid,
                character: '"',
            },
            Error::PassphraseLength,
            Error::WepKeyFormat,
            Error::PasswordRequired,
            Error::PasswordNotAllowed,
            Error::ClaimCodeLength { length: 64 },
            Error::UnknownSecurity {
                name: "wpa3".into(),
            },
            Error::UnsupportedSecurity { value: -1 },
            Error::UnknownEapMethod {
                name: "leap".into(),
            },
            Error::MissingField {
                field: Field::InnerIdentity,
            },
            Error::FieldTooLong {
                field: Field::OuterIdentity,
                max_bytes: 64,
            },
            Error::NotPem {
                field: Field::ClientCertificate,
            },
            Error::SecurityMismatch,
            Error::InvalidPublicKey(KeyProblem::NotRsa),
            Error::FingerprintMismatch,
            Error::InvalidFingerprint,
            Error::RandomUnavailable,
            Error::EncryptionFailed,
            Error::InvalidResponse {
                command: Command::ScanAp,
                reason: "truncated",
            },
            Error::RequestIgnored {
                command: Command::Set,
            },
            Error::NetworkNotFound,
            Error::DeviceRejectedSsid,
            Error::DeviceRejectedPassword,
            Error::DecryptionFailed { code: -16512 },
            Error::EnterpriseRejected,
            Error::StorageFailed {
                command: Command::ConfigureAp,
                code: 4,
            },
            Error::ClaimCodeRejected,
            Error::PublicKeyUnavailable,
            Error::DeviceError {
                command: Command::ConnectAp,
                code: -1,
            },
            Error::Timeout {
                command: Command::ScanAp,
            },
            Error::DeviceUnreachable,
            Error::LocalNetworkDenied,
            Error::MixedContentBlocked,
            Error::DeviceHttpStatus {
                command: Command::Set,
                status: 404,
            },
            Error::Cancelled,
            Error::FirmwareTooOld,
            Error::JoinFailed,
            Error::ClaimedByAnother,
            Error::HandoffInvalid,
            Error::TokenExpired,
            Error::TokenInvalid,
            Error::CloudError { status: 500 },
            Error::CloudUnreachable,
            Error::ClaimTimeout,
        ]
    }

    #[test]
    fn codes_are_unique_kebab_case_and_all_listed() {
        let variants = every_variant();
        let codes: Vec<&str> = variants.iter().map(Error::code).collect();
        assert_eq!(
            codes,
            Error::CODES,
            "CODES lists every code, in declaration order"
        );
        let mut sorted = codes.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), codes.len(), "codes are unique");
        for code in codes {
            assert!(
                code.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'),
                "{code}"
            );
        }
    }

    #[test]
    fn the_typescript_union_and_the_readme_list_every_code() {
        let types = include_str!("../web/types.rs");
        let readme = include_str!("../../README.md");
        for code in Error::CODES {
            assert!(
                types.contains(&format!("\"{code}\"")),
                "{code} missing from the ErrorCode type"
            );
            assert!(
                readme.contains(&format!("`{code}`")),
                "{code} missing from the README"
            );
        }
    }

    #[test]
    fn every_message_is_a_sentence() {
        for error in every_variant() {
            let message = error.to_string();
            assert!(message.ends_with('.'), "{message}");
            assert!(
                message.starts_with(|c: char| c.is_uppercase() || c == '"'),
                "{message}"
            );
        }
    }

    #[test]
    fn numbers_in_messages_are_written_exactly() {
        assert!(Error::DecryptionFailed { code: -16512 }
            .to_string()
            .contains("(code -16512)"));
        assert!(Error::SsidLength { bytes: 33 }
            .to_string()
            .contains(" 33 bytes"));
        assert!(Error::DeviceError {
            command: Command::Set,
            code: 0
        }
        .to_string()
        .contains("error 0 for set"));
        let huge = Error::UnsupportedSecurity { value: i64::MIN }.to_string();
        assert!(huge.contains("-9223372036854775808"), "{huge}");
        let quote = Error::UnsupportedCharacter {
            field: Field::Ssid,
            character: 'é',
        }
        .to_string();
        assert!(quote.contains("\"é\""), "{quote}");
    }

    #[test]
    fn control_characters_are_named_not_printed() {
        let error = Error::UnsupportedCharacter {
            field: Field::Ssid,
            character: '\n',
        };
        assert!(error.to_string().contains("U+000A"));
        assert!(!error.to_string().contains('\n'));
    }

    #[test]
    fn fields_point_at_the_input_to_fix() {
        assert_eq!(Error::PassphraseLength.field(), Some(Field::Password));
        assert_eq!(Error::NetworkNotFound.field(), Some(Field::Ssid));
        assert_eq!(Error::ClaimCodeRejected.field(), Some(Field::ClaimCode));
        assert_eq!(Error::FingerprintMismatch.field(), None);
        assert_eq!(Field::InnerIdentity.name(), "innerIdentity");
    }
}
