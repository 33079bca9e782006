//! The device's RSA public key: parsing what the device sends, its fingerprint, and the
//! RSAES-PKCS1-v1_5 encryption of secrets for it (spec §4.4, §7).
//!
//! Randomness comes from the caller (`rng`), so tests are deterministic and the core does
//! no I/O; the browser layer passes the system generator.

use core::fmt;

use rand_core::TryCryptoRng;
use sha2::{Digest, Sha256};

use crate::protocol::der::{self, Parsed};
use crate::protocol::error::{Error, KeyProblem};
use crate::protocol::hex;
use crate::protocol::rsa_public::{EncryptError, RsaPublicKey};

/// Smallest modulus accepted: the Photon's own keys are 1024 bits.
pub const MIN_BITS: usize = 1024;
/// Largest modulus accepted.
pub const MAX_BITS: usize = 4096;

/// A device's RSA public key, checked.
#[derive(Clone)]
pub struct DeviceKey {
    key: RsaPublicKey,
    spki_der: Vec<u8>,
}

impl DeviceKey {
    /// Parses the `b` field of the device's `public-key` reply: hex of a DER key, upper or
    /// lower case, with the device's zero padding (spec §4.4: 162 key bytes + 132 zeros).
    ///
    /// # Errors
    /// [`Error::InvalidPublicKey`] naming the problem.
    pub fn from_device_hex(text: &str) -> Result<Self, Error> {
        let bytes = hex::decode(text).ok_or(Error::InvalidPublicKey(KeyProblem::NotHex))?;
        Self::from_der(&bytes)
    }

    /// Parses a DER key: SubjectPublicKeyInfo or PKCS#1 `RSAPublicKey`, optionally followed
    /// by zero padding as the device sends it. Strict DER parsers reject the padded blob
    /// (spec §4.4), so the key is cut to the length its outer header declares first.
    ///
    /// # Errors
    /// [`Error::InvalidPublicKey`] naming the problem.
    pub fn from_der(bytes: &[u8]) -> Result<Self, Error> {
        let invalid = Error::InvalidPublicKey;
        let length = der::sequence_length(bytes).ok_or(invalid(KeyProblem::NotDer))?;
        let (der, padding) = bytes.split_at(length);
        if padding.iter().any(|&b| b != 0) {
            return Err(invalid(KeyProblem::TrailingData));
        }
        let (numbers, spki_der) =
            match der::parse_public_key(der).ok_or(invalid(KeyProblem::NotDer))? {
                Parsed::Spki(numbers) => (numbers, der.to_vec()),
                Parsed::Pkcs1(numbers) => (numbers, der::spki_from_pkcs1(der)),
                Parsed::OtherAlgorithm => return Err(invalid(KeyProblem::NotRsa)),
            };
        let bits = bit_length(numbers.modulus);
        if !(MIN_BITS..=MAX_BITS).contains(&bits) {
            return Err(invalid(KeyProblem::UnsupportedSize { bits }));
        }
        let e = match numbers.exponent {
            e if e.len() <= 4 => e.iter().fold(0u32, |acc, &b| acc << 8 | u32::from(b)),
            _ => return Err(invalid(KeyProblem::BadExponent)),
        };
        // Checks the modulus is odd and the exponent odd and at least 3.
        let key = RsaPublicKey::new(numbers.modulus, e).ok_or(invalid(KeyProblem::BadExponent))?;
        Ok(Self { key, spki_der })
    }

    /// The modulus length in bits.
    pub fn bits(&self) -> usize {
        self.key.bits()
    }

    /// The key as SubjectPublicKeyInfo DER, whatever form it arrived in.
    pub fn spki_der(&self) -> &[u8] {
        &self.spki_der
    }

    /// SHA-256 of the SubjectPublicKeyInfo DER: the same key gives the same fingerprint
    /// whether it came padded from the device, as SPKI or as PKCS#1.
    pub fn fingerprint(&self) -> [u8; 32] {
        Sha256::digest(&self.spki_der).into()
    }

    /// The fingerprint as 64 lower-case hex digits.
    pub fn fingerprint_hex(&self) -> String {
        hex::encode(&self.fingerprint())
    }

    /// Checks the key against a fingerprint the maker expects (from a QR label or factory
    /// records). Case, and `:` or space separators, do not matter.
    ///
    /// # Errors
    /// [`Error::InvalidFingerprint`] if `expected` is not 32 bytes of hex;
    /// [`Error::FingerprintMismatch`] if it is another key.
    pub fn verify_fingerprint(&self, expected: &str) -> Result<(), Error> {
        let digits: String = expected
            .chars()
            .filter(|c| !matches!(c, ':' | ' '))
            .collect();
        let expected = hex::decode(&digits)
            .filter(|b| b.len() == 32)
            .ok_or(Error::InvalidFingerprint)?;
        // Not secret, so no need for a constant-time comparison.
        if expected == self.fingerprint() {
            Ok(())
        } else {
            Err(Error::FingerprintMismatch)
        }
    }

    /// RSAES-PKCS1-v1_5 encryption, as the device decrypts it; the ciphertext is exactly as
    /// long as the modulus (leading zero bytes kept, spec §7.2).
    ///
    /// # Errors
    /// [`Error::EncryptionFailed`] if the plaintext is longer than the modulus allows (k − 11
    /// bytes); [`Error::RandomUnavailable`] if `rng` fails.
    pub fn encrypt<R: TryCryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, Error> {
        self.key.encrypt(rng, plaintext).map_err(|e| match e {
            EncryptError::TooLong => Error::EncryptionFailed,
            EncryptError::Random => Error::RandomUnavailable,
        })
    }

    /// [`encrypt`](Self::encrypt), as the lower-case hex the device's `pwd` and `ek` take.
    ///
    /// # Errors
    /// As [`encrypt`](Self::encrypt).
    pub fn encrypt_hex<R: TryCryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        plaintext: &[u8],
    ) -> Result<String, Error> {
        self.encrypt(rng, plaintext).map(|c| hex::encode(&c))
    }
}

impl fmt::Debug for DeviceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceKey")
            .field("bits", &self.bits())
            .field("fingerprint", &self.fingerprint_hex())
            .finish()
    }
}

impl PartialEq for DeviceKey {
    fn eq(&self, other: &Self) -> bool {
        self.spki_der == other.spki_der
    }
}

impl Eq for DeviceKey {}

fn bit_length(big_endian: &[u8]) -> usize {
    match big_endian.iter().position(|&b| b != 0) {
        Some(i) => (big_endian.len() - i - 1) * 8 + (8 - big_endian[i].leading_zeros() as usize),
        None => 0,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;
    use rsa::pkcs1::DecodeRsaPrivateKey;

    pub(crate) const SPKI_1024: &[u8] = include_bytes!("../../tests/fixtures/device-1024.spki.der");
    const PKCS1_1024: &[u8] = include_bytes!("../../tests/fixtures/device-1024.pkcs1.der");
    const SPKI_2048: &[u8] = include_bytes!("../../tests/fixtures/device-2048.spki.der");
    const SPKI_512: &[u8] = include_bytes!("../../tests/fixtures/small-512.spki.der");
    const SPKI_EC: &[u8] = include_bytes!("../../tests/fixtures/ec-p256.spki.der");
    const PRIVATE_1024: &str = include_str!("../../tests/fixtures/device-1024.pem");

    /// The `b` field exactly as a Photon sends it: upper-case hex, padded to 294 bytes.
    pub(crate) fn device_blob_hex() -> String {
        let mut blob = SPKI_1024.to_vec();
        blob.resize(294, 0);
        hex::encode(&blob).to_uppercase()
    }

    pub(crate) fn private_key() -> rsa::PrivateKey {
        rsa::PrivateKey::from_pkcs1_pem(PRIVATE_1024).unwrap()
    }

    pub(crate) fn rng() -> ChaCha20Rng {
        ChaCha20Rng::seed_from_u64(7)
    }

    #[test]
    fn accepts_the_padded_blob_the_device_sends() {
        let hex = device_blob_hex();
        assert_eq!(hex.len(), 588);
        assert!(hex.starts_with("30819F300D06092A864886F70D0101010500"));
        let key = DeviceKey::from_device_hex(&hex).unwrap();
        assert_eq!(key.bits(), 1024);
        assert_eq!(key.spki_der(), SPKI_1024);
        assert_eq!(
            DeviceKey::from_device_hex(&hex.to_lowercase()).unwrap(),
            key
        );
    }

    #[test]
    fn spki_pkcs1_and_padded_forms_are_one_key_with_one_fingerprint() {
        let spki = DeviceKey::from_der(SPKI_1024).unwrap();
        let pkcs1 = DeviceKey::from_der(PKCS1_1024).unwrap();
        let padded = DeviceKey::from_device_hex(&device_blob_hex()).unwrap();
        assert_eq!(spki, pkcs1);
        assert_eq!(spki.fingerprint(), padded.fingerprint());
        let expected: [u8; 32] = Sha256::digest(SPKI_1024).into();
        assert_eq!(spki.fingerprint(), expected, "SHA-256 of the SPKI DER");
        assert_eq!(spki.fingerprint_hex().len(), 64);
        assert_eq!(DeviceKey::from_der(SPKI_2048).unwrap().bits(), 2048);
        assert_eq!(
            pkcs1.spki_der(),
            SPKI_1024,
            "PKCS#1 is wrapped exactly as OpenSSL does"
        );
    }

    #[test]
    fn refuses_what_is_not_a_sane_rsa_key() {
        let problem = |bytes: &[u8]| match DeviceKey::from_der(bytes) {
            Err(Error::InvalidPublicKey(p)) => p,
            other => panic!("{other:?}"),
        };
        assert_eq!(problem(SPKI_EC), KeyProblem::NotRsa);
        assert_eq!(problem(SPKI_512), KeyProblem::UnsupportedSize { bits: 512 });
        assert_eq!(problem(&[]), KeyProblem::NotDer);
        assert_eq!(problem(&[0u8; 294]), KeyProblem::NotDer, "an all-zero slot");
        assert_eq!(problem(&SPKI_1024[..100]), KeyProblem::NotDer, "truncated");
        let mut trailing = SPKI_1024.to_vec();
        trailing.extend_from_slice(&[0, 0, 1]);
        assert_eq!(problem(&trailing), KeyProblem::TrailingData);
        let mut corrupt = SPKI_1024.to_vec();
        corrupt[20] = 0x31;
        assert_eq!(problem(&corrupt), KeyProblem::NotDer);
        assert_eq!(
            DeviceKey::from_device_hex("30819G").unwrap_err(),
            Error::InvalidPublicKey(KeyProblem::NotHex)
        );
        assert_eq!(
            DeviceKey::from_device_hex("308").unwrap_err(),
            Error::InvalidPublicKey(KeyProblem::NotHex),
            "odd length"
        );
    }

    #[test]
    fn refuses_bad_exponents() {
        // PKCS#1 RSAPublicKey: SEQUENCE { INTEGER n, INTEGER e }, the fixture's n (30 81 89,
        // then 02 81 81 and 129 bytes) with the exponent replaced.
        let with_exponent = |e: &[u8]| {
            let modulus = &PKCS1_1024[3..3 + 3 + 129];
            let mut content = modulus.to_vec();
            content.extend_from_slice(&[0x02, e.len() as u8]);
            content.extend_from_slice(e);
            let mut der = vec![0x30, 0x81, content.len() as u8];
            der.extend_from_slice(&content);
            DeviceKey::from_der(&der)
        };
        assert!(with_exponent(&[1, 0, 1]).is_ok());
        assert!(with_exponent(&[3]).is_ok());
        for bad in [
            &[1][..],
            &[2],
            &[1, 0, 0],
            &[1, 0, 0, 0, 1],
            &[0x7f, 0, 0, 0, 0, 1],
        ] {
            assert_eq!(
                with_exponent(bad).unwrap_err(),
                Error::InvalidPublicKey(KeyProblem::BadExponent),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn fingerprint_check_ignores_case_and_separators() {
        let key = DeviceKey::from_der(SPKI_1024).unwrap();
        let hex = key.fingerprint_hex();
        assert_eq!(key.verify_fingerprint(&hex), Ok(()));
        assert_eq!(key.verify_fingerprint(&hex.to_uppercase()), Ok(()));
        let colons: Vec<String> = hex
            .as_bytes()
            .chunks(2)
            .map(|c| String::from_utf8_lossy(c).into())
            .collect();
        assert_eq!(key.verify_fingerprint(&colons.join(":")), Ok(()));
        let other = DeviceKey::from_der(SPKI_2048).unwrap().fingerprint_hex();
        assert_eq!(
            key.verify_fingerprint(&other),
            Err(Error::FingerprintMismatch)
        );
        assert_eq!(
            key.verify_fingerprint("abcd"),
            Err(Error::InvalidFingerprint)
        );
        assert_eq!(
            key.verify_fingerprint(&"zz".repeat(32)),
            Err(Error::InvalidFingerprint)
        );
    }

    #[test]
    fn encryption_round_trips_through_the_private_key() {
        let key = DeviceKey::from_device_hex(&device_blob_hex()).unwrap();
        let mut rng = rng();
        for password in ["12345678", "pässwörd-ünïcødé 😀", &"x".repeat(117)] {
            let hex = key.encrypt_hex(&mut rng, password.as_bytes()).unwrap();
            assert_eq!(hex.len(), 256, "always the modulus length");
            assert!(
                hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')),
                "lower-case hex"
            );
            let ciphertext = hex::decode(&hex).unwrap();
            let plaintext = private_key().pkcs1v15_decrypt(&ciphertext).unwrap();
            assert_eq!(plaintext, password.as_bytes());
        }
        assert_eq!(
            key.encrypt(&mut rng, &[0; 118]).unwrap_err(),
            Error::EncryptionFailed
        );
    }

    #[test]
    fn encryption_is_randomised() {
        let key = DeviceKey::from_der(SPKI_1024).unwrap();
        let mut rng = rng();
        let a = key.encrypt(&mut rng, b"same").unwrap();
        let b = key.encrypt(&mut rng, b"same").unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn debug_shows_size_and_fingerprint() {
        let key = DeviceKey::from_der(SPKI_1024).unwrap();
        let debug = format!("{key:?}");
        assert!(debug.contains("1024") && debug.contains(&key.fingerprint_hex()));
    }
}
