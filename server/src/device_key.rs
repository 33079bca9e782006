//! A device's public key as the factory reads it from the device (`public-key`'s `b`: hex
//! of DER, SubjectPublicKeyInfo or PKCS#1, followed by the zero padding of the device's
//! 294-byte key slot), checked and turned into what the records keep: the key as
//! SubjectPublicKeyInfo DER and its fingerprint, SHA-256 of that DER — the same fingerprint
//! the setup page and the device page compute.

use rsa::pkcs1::DecodeRsaPublicKey;
use rsa::pkcs8::{DecodePublicKey, EncodePublicKey};
use rsa::traits::PublicKeyParts;
use sha2::{Digest, Sha256};

/// Smallest and largest modulus accepted (the Photon's keys are 1024 bits).
const MIN_BITS: usize = 1024;
const MAX_BITS: usize = 4096;
/// Longest hex text read (a 4096-bit key with generous padding).
pub const MAX_HEX: usize = 4096;

/// Why a key is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyProblem {
    /// Not an even number of hex digits, or too long.
    #[error("the public key is not hex")]
    NotHex,
    /// Not DER of an RSA public key.
    #[error("the public key is not an RSA public key (SubjectPublicKeyInfo or PKCS#1 DER)")]
    NotRsa,
    /// Non-zero bytes after the key.
    #[error("the public key has data after its end")]
    TrailingData,
    /// Modulus size outside 1024..=4096 bits.
    #[error("the public key has {0} bits (1024 to 4096 accepted)")]
    Size(usize),
}

/// A checked device key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DevicePublicKey {
    /// SubjectPublicKeyInfo DER.
    pub spki_der: Vec<u8>,
}

impl DevicePublicKey {
    /// Parses the key as the device serves it.
    ///
    /// # Errors
    /// [`KeyProblem`] naming what is wrong.
    pub fn from_device_hex(text: &str) -> Result<Self, KeyProblem> {
        let text = text.trim();
        if text.len() > MAX_HEX || !text.len().is_multiple_of(2) {
            return Err(KeyProblem::NotHex);
        }
        let bytes = hex_decode(text).ok_or(KeyProblem::NotHex)?;
        let length = der_length(&bytes).ok_or(KeyProblem::NotRsa)?;
        let (der, padding) = bytes.split_at(length);
        if padding.iter().any(|&b| b != 0) {
            return Err(KeyProblem::TrailingData);
        }
        // The key as given when it is SubjectPublicKeyInfo, so that its fingerprint is the
        // one every client computes from the same bytes; PKCS#1 is wrapped.
        let (key, spki_der) = match rsa::PublicKey::from_public_key_der(der) {
            Ok(key) => (key, der.to_vec()),
            Err(_) => {
                let key = rsa::PublicKey::from_pkcs1_der(der).map_err(|_| KeyProblem::NotRsa)?;
                let spki = key.to_public_key_der().map_err(|_| KeyProblem::NotRsa)?;
                (key, spki.into_vec())
            }
        };
        let bits = key.n().bit_width() as usize;
        if !(MIN_BITS..=MAX_BITS).contains(&bits) {
            return Err(KeyProblem::Size(bits));
        }
        Ok(Self { spki_der })
    }

    /// The DER as lower-case hex: what `GET /v1/device-key` answers.
    pub fn hex(&self) -> String {
        hex_encode(&self.spki_der)
    }

    /// SHA-256 of the DER, 64 lower-case hex digits.
    pub fn fingerprint(&self) -> String {
        hex_encode(&Sha256::digest(&self.spki_der))
    }
}

/// Length of the outer DER SEQUENCE, header included, if it fits in `bytes`.
fn der_length(bytes: &[u8]) -> Option<usize> {
    let (&tag, rest) = bytes.split_first()?;
    if tag != 0x30 {
        return None;
    }
    let (&first, rest) = rest.split_first()?;
    let (content, header) = if first < 0x80 {
        (usize::from(first), 2)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 2 || rest.len() < count {
            return None;
        }
        let content = rest[..count]
            .iter()
            .fold(0usize, |n, &b| n << 8 | usize::from(b));
        (content, 2 + count)
    };
    let total = header + content;
    (total <= bytes.len()).then_some(total)
}

/// Hex digits, two a byte; `None` for anything else (`from_str_radix` alone would take a
/// `+` sign and a lone last digit).
pub fn hex_decode(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    text.as_bytes()
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok())
        .collect()
}

/// Lower-case hex.
pub fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 1024-bit SubjectPublicKeyInfo (test key, tests/fixtures/device-1024.spki.der).
    const SPKI_1024: &[u8] = include_bytes!("../tests/fixtures/device-1024.spki.der");

    #[test]
    fn the_device_blob_spki_and_pkcs1_give_one_fingerprint() {
        let spki = DevicePublicKey::from_device_hex(&hex_encode(SPKI_1024)).unwrap();
        let mut blob = SPKI_1024.to_vec();
        blob.resize(294, 0);
        let padded = DevicePublicKey::from_device_hex(&hex_encode(&blob).to_uppercase()).unwrap();
        assert_eq!(padded, spki);
        let key = rsa::PublicKey::from_public_key_der(SPKI_1024).unwrap();
        let pkcs1 = rsa::pkcs1::EncodeRsaPublicKey::to_pkcs1_der(&key).unwrap();
        let wrapped = DevicePublicKey::from_device_hex(&hex_encode(pkcs1.as_bytes())).unwrap();
        assert_eq!(wrapped.fingerprint(), spki.fingerprint());
        assert_eq!(spki.fingerprint().len(), 64);
        assert_eq!(spki.hex(), hex_encode(SPKI_1024));
    }

    #[test]
    fn malformed_keys_are_refused_with_the_reason() {
        let mut trailing = SPKI_1024.to_vec();
        trailing.extend_from_slice(&[0, 0, 1]);
        let cases = [
            ("zz", KeyProblem::NotHex),
            ("+f", KeyProblem::NotHex),
            ("-1", KeyProblem::NotHex),
            ("abc", KeyProblem::NotHex),
            ("3003020100", KeyProblem::NotRsa),
            ("0102", KeyProblem::NotRsa),
            ("", KeyProblem::NotRsa),
        ];
        for (text, problem) in cases {
            assert_eq!(
                DevicePublicKey::from_device_hex(text),
                Err(problem),
                "{text}"
            );
        }
        assert_eq!(
            DevicePublicKey::from_device_hex(&hex_encode(&trailing)),
            Err(KeyProblem::TrailingData)
        );
        assert_eq!(
            DevicePublicKey::from_device_hex(&"00".repeat(MAX_HEX)),
            Err(KeyProblem::NotHex)
        );
    }
}
