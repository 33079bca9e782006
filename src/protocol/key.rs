//! The device's RSA public key: what the device sends, one key policy for every client, its
//! fingerprint, and RSAES-PKCS1-v1_5 encryption of secrets for it (spec §4.4, §7).
//!
//! DER and RSA come from RustCrypto (`der`, `spki`, `pkcs1`, `rsa`); this module only handles
//! the device's quirk (the key padded with zeros to a 294-byte slot) and the policy. Randomness
//! comes from the caller, so tests are deterministic and the core does no I/O.

use core::fmt;

use rand_core::TryCryptoRng;
use rsa::pkcs1::der::{Decode, Encode, SliceReader};
use rsa::pkcs1::RsaPublicKeyRef;
use rsa::pkcs8::{EncodePublicKey, SubjectPublicKeyInfoRef};
use rsa::{BoxedUint, Pkcs1v15Encrypt};
use sha2::{Digest, Sha256};

use crate::protocol::error::{Error, KeyProblem};

/// Smallest modulus accepted: the Photon's own keys are 1024 bits.
pub const MIN_BITS: usize = 1024;
/// Largest modulus accepted: a maker's records may hold larger keys, none this large.
pub const MAX_BITS: usize = 4096;
/// Largest public exponent accepted (a wider one only slows encryption down).
pub const MAX_EXPONENT: u64 = u32::MAX as u64;

/// `rsaEncryption` (1.2.840.113549.1.1.1).
const RSA_ENCRYPTION: &str = "1.2.840.113549.1.1.1";

/// A device's RSA public key that passed the key policy.
#[derive(Clone)]
pub struct DeviceKey {
    key: rsa::PublicKey,
    spki_der: Vec<u8>,
    bits: usize,
}

impl DeviceKey {
    /// Reads the `b` field of the device's `public-key` reply: hex of a DER key, upper or
    /// lower case, with the device's zero padding (spec §4.4: 162 key bytes + 132 zeros).
    ///
    /// # Errors
    /// [`Error::InvalidPublicKey`] naming the problem.
    pub fn from_device_hex(text: &str) -> Result<Self, Error> {
        let bytes = hex::decode(text).map_err(|_| Error::InvalidPublicKey(KeyProblem::NotHex))?;
        Self::from_der(&bytes)
    }

    /// Reads a DER key: SubjectPublicKeyInfo or PKCS#1 `RSAPublicKey`, optionally followed by
    /// zero padding as the device sends it. Strict DER parsers refuse the padded slot (spec
    /// §4.4), so the key is cut where its outer SEQUENCE ends first.
    ///
    /// # Errors
    /// [`Error::InvalidPublicKey`] naming the problem.
    pub fn from_der(bytes: &[u8]) -> Result<Self, Error> {
        let invalid = Error::InvalidPublicKey;
        let der = outer_sequence(bytes).ok_or(invalid(KeyProblem::NotDer))?;
        if bytes[der.len()..].iter().any(|&b| b != 0) {
            return Err(invalid(KeyProblem::TrailingData));
        }
        let (pkcs1, spki_der) = match SubjectPublicKeyInfoRef::from_der(der) {
            Ok(spki) => {
                if spki.algorithm.oid.to_string() != RSA_ENCRYPTION {
                    return Err(invalid(KeyProblem::NotRsa));
                }
                // rsaEncryption takes NULL parameters (RFC 3279 §2.3.1); anything else is no
                // key of that algorithm (seal.js refuses it too).
                if spki.algorithm.parameters.is_some_and(|p| !p.is_null()) {
                    return Err(invalid(KeyProblem::NotDer));
                }
                let inner = spki
                    .subject_public_key
                    .as_bytes()
                    .ok_or(invalid(KeyProblem::NotDer))?;
                let pkcs1 =
                    RsaPublicKeyRef::from_der(inner).map_err(|_| invalid(KeyProblem::NotDer))?;
                (pkcs1, Some(der.to_vec()))
            }
            Err(_) => (
                RsaPublicKeyRef::from_der(der).map_err(|_| invalid(KeyProblem::NotDer))?,
                None,
            ),
        };
        let (key, bits) = checked_key(&pkcs1)?;
        let spki_der = match spki_der {
            Some(der) => der,
            // The same key gives the same fingerprint whatever form it came in.
            None => key
                .to_public_key_der()
                .map_err(|_| invalid(KeyProblem::NotDer))?
                .into_vec(),
        };
        Ok(Self {
            key,
            spki_der,
            bits,
        })
    }

    /// The modulus length in bits.
    pub fn bits(&self) -> usize {
        self.bits
    }

    /// The key as SubjectPublicKeyInfo DER, whatever form it arrived in.
    pub fn spki_der(&self) -> &[u8] {
        &self.spki_der
    }

    /// SHA-256 of the SubjectPublicKeyInfo DER.
    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint(Sha256::digest(&self.spki_der).into())
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
        if plaintext.len() + 11 > self.bits.div_ceil(8) {
            return Err(Error::EncryptionFailed);
        }
        self.key
            .encrypt(rng, Pkcs1v15Encrypt, plaintext)
            .map_err(|e| match e {
                rsa::Error::Rng => Error::RandomUnavailable,
                _ => Error::EncryptionFailed,
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
        self.encrypt(rng, plaintext).map(hex::encode)
    }
}

/// The DER of the outer SEQUENCE at the start of `bytes`, without what follows it.
fn outer_sequence(bytes: &[u8]) -> Option<&[u8]> {
    let mut reader = SliceReader::new(bytes).ok()?;
    let header = rsa::pkcs1::der::Header::decode(&mut reader).ok()?;
    if header.tag() != rsa::pkcs1::der::Tag::Sequence {
        return None;
    }
    let total = (header.encoded_len().ok()? + header.length()).ok()?;
    let total = usize::try_from(total).ok()?;
    bytes.get(..total)
}

/// The key policy: RSA, [`MIN_BITS`]..=[`MAX_BITS`], an odd modulus, an odd exponent from 3
/// to [`MAX_EXPONENT`]. `rsa` checks the modulus and the exponent's parity itself.
fn checked_key(pkcs1: &RsaPublicKeyRef<'_>) -> Result<(rsa::PublicKey, usize), Error> {
    let invalid = Error::InvalidPublicKey;
    let modulus = pkcs1.modulus.as_bytes();
    let bits = modulus.len() * 8 - modulus.first().map_or(8, |b| b.leading_zeros() as usize);
    if !(MIN_BITS..=MAX_BITS).contains(&bits) {
        return Err(invalid(KeyProblem::UnsupportedSize { bits }));
    }
    let exponent = pkcs1.public_exponent.as_bytes();
    let e = match exponent.len() {
        0..=8 => exponent
            .iter()
            .fold(0u64, |acc, &b| acc << 8 | u64::from(b)),
        _ => return Err(invalid(KeyProblem::BadExponent)),
    };
    if e < 3 || e % 2 == 0 || e > MAX_EXPONENT {
        return Err(invalid(KeyProblem::BadExponent));
    }
    let n = BoxedUint::from_be_slice_vartime(modulus);
    let key = rsa::PublicKey::new_with_size_limits(n, BoxedUint::from(e), MIN_BITS..=MAX_BITS)
        .map_err(|e| match e {
            rsa::Error::InvalidExponent
            | rsa::Error::PublicExponentTooSmall
            | rsa::Error::PublicExponentTooLarge => invalid(KeyProblem::BadExponent),
            _ => invalid(KeyProblem::BadModulus),
        })?;
    Ok((key, bits))
}

impl fmt::Debug for DeviceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceKey")
            .field("bits", &self.bits)
            .field("fingerprint", &self.fingerprint())
            .finish()
    }
}

impl PartialEq for DeviceKey {
    fn eq(&self, other: &Self) -> bool {
        self.spki_der == other.spki_der
    }
}

impl Eq for DeviceKey {}

/// SHA-256 of a key's SubjectPublicKeyInfo DER: what a maker prints on a label or records at
/// the factory, to recognise the device (and refuse an impostor) before any secret leaves.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint(pub [u8; 32]);

impl Fingerprint {
    /// Reads 64 hex digits; case, and `:` or space separators, do not matter.
    ///
    /// # Errors
    /// [`Error::InvalidFingerprint`].
    pub fn parse(text: &str) -> Result<Self, Error> {
        if text.len() > 128 {
            return Err(Error::InvalidFingerprint);
        }
        let digits: String = text.chars().filter(|c| !matches!(c, ':' | ' ')).collect();
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(&digits, &mut bytes).map_err(|_| Error::InvalidFingerprint)?;
        Ok(Self(bytes))
    }

    /// 64 lower-case hex digits.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
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
    const PRIVATE_1024: &str = include_str!("../../tests/fixtures/device-1024.pem");

    /// The `b` field exactly as a Photon sends it: upper-case hex, padded to 294 bytes.
    pub(crate) fn device_blob_hex() -> String {
        let mut blob = SPKI_1024.to_vec();
        blob.resize(294, 0);
        hex::encode_upper(&blob)
    }

    pub(crate) fn private_key() -> rsa::PrivateKey {
        rsa::PrivateKey::from_pkcs1_pem(PRIVATE_1024).unwrap()
    }

    pub(crate) fn rng() -> ChaCha20Rng {
        ChaCha20Rng::seed_from_u64(7)
    }

    #[test]
    fn accepts_the_padded_slot_the_device_sends() {
        let key = DeviceKey::from_device_hex(&device_blob_hex()).unwrap();
        assert_eq!(key.bits(), 1024);
        assert_eq!(key.spki_der(), SPKI_1024);
    }

    #[test]
    fn the_fingerprint_is_of_the_spki_whatever_form_the_key_came_in() {
        let spki = DeviceKey::from_der(SPKI_1024).unwrap();
        let pkcs1 = DeviceKey::from_der(PKCS1_1024).unwrap();
        assert_eq!(spki.fingerprint(), pkcs1.fingerprint());
        assert_eq!(pkcs1.spki_der(), SPKI_1024);
        let text = spki.fingerprint().to_hex();
        assert_eq!(
            Fingerprint::parse(&text.to_uppercase()).unwrap(),
            spki.fingerprint()
        );
        let colons: Vec<String> = text
            .as_bytes()
            .chunks(2)
            .map(|p| String::from_utf8(p.to_vec()).unwrap())
            .collect();
        assert_eq!(
            Fingerprint::parse(&colons.join(":")).unwrap(),
            spki.fingerprint()
        );
        assert_eq!(Fingerprint::parse("abc"), Err(Error::InvalidFingerprint));
    }

    #[test]
    fn encrypts_what_the_private_key_decrypts_at_the_modulus_length() {
        let key = DeviceKey::from_der(SPKI_1024).unwrap();
        let private = private_key();
        let mut rng = rng();
        for _ in 0..20 {
            let ciphertext = key.encrypt(&mut rng, b"correct horse").unwrap();
            assert_eq!(ciphertext.len(), 128, "leading zero bytes are kept");
            let plain = private.decrypt(Pkcs1v15Encrypt, &ciphertext).unwrap();
            assert_eq!(plain, b"correct horse");
        }
        assert_eq!(
            key.encrypt(&mut rng, &[0u8; 118]),
            Err(Error::EncryptionFailed)
        );
        assert_eq!(key.encrypt(&mut rng, &[0u8; 117]).map(|c| c.len()), Ok(128));
    }

    #[test]
    fn a_failing_random_source_is_reported() {
        struct Failing;
        #[derive(Debug)]
        struct Gone;
        impl core::fmt::Display for Gone {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str("gone")
            }
        }
        impl core::error::Error for Gone {}
        impl rand_core::TryRng for Failing {
            type Error = Gone;
            fn try_next_u32(&mut self) -> Result<u32, Gone> {
                Err(Gone)
            }
            fn try_next_u64(&mut self) -> Result<u64, Gone> {
                Err(Gone)
            }
            fn try_fill_bytes(&mut self, _: &mut [u8]) -> Result<(), Gone> {
                Err(Gone)
            }
        }
        impl rand_core::TryCryptoRng for Failing {}
        let key = DeviceKey::from_der(SPKI_1024).unwrap();
        assert_eq!(
            key.encrypt(&mut Failing, b"x"),
            Err(Error::RandomUnavailable)
        );
    }
}
