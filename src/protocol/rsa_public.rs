//! RSA public-key encryption, RSAES-PKCS1-v1_5 (RFC 8017 §7.2.1), and nothing more.
//!
//! The client only ever encrypts for a device, with a public exponent of at most 32 bits:
//! a handful of Montgomery multiplications. A general big-integer library costs the wasm
//! tens of kilobytes for operations we never use, so this is written out here and checked
//! against the `rsa` crate's decryption in the tests.
//!
//! Timing: the exponent is public and the operation count fixed for a key; the limb loops
//! do not branch on the message except for Montgomery's final subtraction, which leaks at
//! most one bit per multiplication about intermediate values to someone timing the
//! customer's own browser.

use rand_core::TryCryptoRng;

/// A checked RSA public key: odd modulus, exponent odd and ≥ 3.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct RsaPublicKey {
    /// Modulus, little-endian 32-bit limbs, no leading zero limb.
    n: Vec<u32>,
    /// −n⁻¹ mod 2³².
    n0_inv: u32,
    /// R² mod n, R = 2^(32·limbs): converts into Montgomery form.
    r2: Vec<u32>,
    e: u32,
    /// Modulus length in bytes (k of RFC 8017).
    size: usize,
}

/// Why encryption failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EncryptError {
    /// The message is longer than k − 11 bytes.
    TooLong,
    /// The random generator failed.
    Random,
}

impl RsaPublicKey {
    /// `modulus` big-endian (leading zeros allowed); `None` unless it is odd and > 1, with
    /// an odd exponent ≥ 3.
    pub(crate) fn new(modulus: &[u8], e: u32) -> Option<Self> {
        let n = limbs_from_be(modulus);
        if n.is_empty() || n[0] & 1 == 0 || (n.len() == 1 && n[0] == 1) || e < 3 || e & 1 == 0 {
            return None;
        }
        let bits = (n.len() - 1) * 32 + (32 - n[n.len() - 1].leading_zeros() as usize);
        // Newton's iteration doubles the correct low bits: 1 → 2 → 4 → ... → 32.
        let mut inv: u32 = 1;
        for _ in 0..5 {
            inv = inv.wrapping_mul(2u32.wrapping_sub(n[0].wrapping_mul(inv)));
        }
        let r2 = power_of_two_mod(2 * 32 * n.len(), &n);
        Some(Self {
            n0_inv: inv.wrapping_neg(),
            r2,
            e,
            size: bits.div_ceil(8),
            n,
        })
    }

    /// k: the modulus length in bytes, and the ciphertext's.
    #[cfg(test)]
    pub(crate) fn size(&self) -> usize {
        self.size
    }

    /// The modulus length in bits.
    pub(crate) fn bits(&self) -> usize {
        let top = self.n[self.n.len() - 1];
        (self.n.len() - 1) * 32 + (32 - top.leading_zeros() as usize)
    }

    /// RSAES-PKCS1-v1_5: `00 02 PS 00 M`, PS at least 8 random non-zero bytes, then mᵉ mod n
    /// as exactly k bytes.
    pub(crate) fn encrypt<R: TryCryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        message: &[u8],
    ) -> Result<Vec<u8>, EncryptError> {
        let k = self.size;
        if message.len() + 11 > k {
            return Err(EncryptError::TooLong);
        }
        let mut block = zeroize::Zeroizing::new(vec![0u8; k]);
        block[1] = 2;
        let padding = &mut block[2..k - message.len() - 1];
        rng.try_fill_bytes(padding)
            .map_err(|_| EncryptError::Random)?;
        for byte in padding.iter_mut() {
            while *byte == 0 {
                let mut one = [0u8; 1];
                rng.try_fill_bytes(&mut one)
                    .map_err(|_| EncryptError::Random)?;
                *byte = one[0];
            }
        }
        block[k - message.len()..].copy_from_slice(message);
        Ok(self.raw_encrypt(&block))
    }

    /// mᵉ mod n for a big-endian m < n, as k big-endian bytes.
    fn raw_encrypt(&self, message: &[u8]) -> Vec<u8> {
        let mut m = limbs_from_be(message);
        m.resize(self.n.len(), 0);
        let base = self.mont_mul(&m, &self.r2);
        let mut acc = base.clone();
        // Left to right over the exponent's bits below its top bit.
        for bit in (0..31 - self.e.leading_zeros()).rev() {
            acc = self.mont_mul(&acc, &acc);
            if self.e >> bit & 1 == 1 {
                acc = self.mont_mul(&acc, &base);
            }
        }
        let mut one = vec![0u32; self.n.len()];
        one[0] = 1;
        let c = self.mont_mul(&acc, &one);
        limbs_to_be(&c, self.size)
    }

    /// Montgomery product a·b·R⁻¹ mod n (CIOS), for a, b < n.
    fn mont_mul(&self, a: &[u32], b: &[u32]) -> Vec<u32> {
        let s = self.n.len();
        let mut t = vec![0u32; s + 2];
        for &ai in a.iter().take(s) {
            let mut carry = 0u64;
            for j in 0..s {
                let x = u64::from(t[j]) + u64::from(ai) * u64::from(b[j]) + carry;
                t[j] = x as u32;
                carry = x >> 32;
            }
            let x = u64::from(t[s]) + carry;
            t[s] = x as u32;
            t[s + 1] = (x >> 32) as u32;

            let m = t[0].wrapping_mul(self.n0_inv);
            let x = u64::from(t[0]) + u64::from(m) * u64::from(self.n[0]);
            let mut carry = x >> 32;
            for j in 1..s {
                let x = u64::from(t[j]) + u64::from(m) * u64::from(self.n[j]) + carry;
                t[j - 1] = x as u32;
                carry = x >> 32;
            }
            let x = u64::from(t[s]) + carry;
            t[s - 1] = x as u32;
            t[s] = t[s + 1] + (x >> 32) as u32;
            t[s + 1] = 0;
        }
        t.truncate(s + 1);
        if t[s] != 0 || !less_than(&t[..s], &self.n) {
            subtract_in_place(&mut t, &self.n);
        }
        t.truncate(s);
        t
    }
}

impl core::fmt::Debug for RsaPublicKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "RsaPublicKey({} bits, e = {})", self.bits(), self.e)
    }
}

/// Little-endian limbs of a big-endian byte string, leading zeros dropped.
fn limbs_from_be(bytes: &[u8]) -> Vec<u32> {
    let mut limbs: Vec<u32> = bytes
        .rchunks(4)
        .map(|chunk| chunk.iter().fold(0u32, |acc, &b| acc << 8 | u32::from(b)))
        .collect();
    while limbs.last() == Some(&0) {
        limbs.pop();
    }
    limbs
}

/// Big-endian bytes of little-endian limbs, left-padded or cut to `size`.
fn limbs_to_be(limbs: &[u32], size: usize) -> Vec<u8> {
    let mut out: Vec<u8> = limbs.iter().rev().flat_map(|l| l.to_be_bytes()).collect();
    if out.len() > size {
        out.drain(..out.len() - size);
    } else {
        out.splice(0..0, core::iter::repeat_n(0, size - out.len()));
    }
    out
}

/// a < b, both of b's length.
fn less_than(a: &[u32], b: &[u32]) -> bool {
    for (x, y) in a.iter().rev().zip(b.iter().rev()) {
        if x != y {
            return x < y;
        }
    }
    false
}

/// a −= b, where a may have more limbs than b and a ≥ b.
fn subtract_in_place(a: &mut [u32], b: &[u32]) {
    let mut borrow = 0i64;
    for (i, limb) in a.iter_mut().enumerate() {
        let x = i64::from(*limb) - i64::from(b.get(i).copied().unwrap_or(0)) - borrow;
        *limb = x as u32;
        borrow = i64::from(x < 0);
    }
}

/// 2^exponent mod n by doubling, for R² once per key.
fn power_of_two_mod(exponent: usize, n: &[u32]) -> Vec<u32> {
    let mut x = vec![0u32; n.len() + 1];
    x[0] = 1;
    for _ in 0..exponent {
        let mut carry = 0u32;
        for limb in x.iter_mut() {
            let next = *limb >> 31;
            *limb = *limb << 1 | carry;
            carry = next;
        }
        if x[n.len()] != 0 || !less_than(&x[..n.len()], n) {
            subtract_in_place(&mut x, n);
        }
    }
    x.truncate(n.len());
    x
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::{Rng, SeedableRng};
    use rsa::pkcs1::DecodeRsaPrivateKey;
    use rsa::traits::PublicKeyParts;

    const PEM_1024: &str = include_str!("../../tests/fixtures/device-1024.pem");
    const PEM_2048: &str = include_str!("../../tests/fixtures/device-2048.pem");

    fn ours(private: &rsa::PrivateKey) -> RsaPublicKey {
        let e = private
            .e_bytes()
            .iter()
            .fold(0u32, |acc, &b| acc << 8 | u32::from(b));
        RsaPublicKey::new(&private.n_bytes(), e).unwrap()
    }

    #[test]
    fn round_trips_through_the_rsa_crate_for_1024_and_2048_bits() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        for pem in [PEM_1024, PEM_2048] {
            let private = rsa::PrivateKey::from_pkcs1_pem(pem).unwrap();
            let key = ours(&private);
            assert_eq!(key.size(), private.size());
            for len in [0, 1, 8, 63, 64, key.size() - 11] {
                let mut message = vec![0u8; len];
                rng.fill_bytes(&mut message);
                let ciphertext = key.encrypt(&mut rng, &message).unwrap();
                assert_eq!(ciphertext.len(), key.size());
                assert_eq!(
                    private.pkcs1v15_decrypt(&ciphertext).unwrap(),
                    message,
                    "{len} bytes"
                );
            }
            assert_eq!(
                key.encrypt(&mut rng, &vec![1; key.size() - 10]),
                Err(EncryptError::TooLong)
            );
        }
    }

    #[test]
    fn raw_operation_matches_textbook_values() {
        // n = 3233 = 61 · 53, e = 17: 65¹⁷ mod 3233 = 2790 (the classic example).
        let key = RsaPublicKey::new(&[0x0c, 0xa1], 17).unwrap();
        assert_eq!(key.raw_encrypt(&[0, 65]), vec![0x0a, 0xe6]);
        assert_eq!(key.raw_encrypt(&[0, 0]), vec![0, 0]);
        assert_eq!(key.raw_encrypt(&[0, 1]), vec![0, 1]);
    }

    #[test]
    fn padding_is_random_and_never_zero() {
        struct Zeros(u8);
        impl rand_core::TryRng for Zeros {
            type Error = core::convert::Infallible;
            fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
                Ok(0)
            }
            fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
                Ok(0)
            }
            fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
                // Mostly zeros: the encryptor must draw again until no padding byte is zero.
                for b in dst.iter_mut() {
                    self.0 = self.0.wrapping_add(1);
                    *b = if self.0.is_multiple_of(3) { self.0 } else { 0 };
                }
                Ok(())
            }
        }
        impl rand_core::TryCryptoRng for Zeros {}
        let private = rsa::PrivateKey::from_pkcs1_pem(PEM_1024).unwrap();
        let key = ours(&private);
        let ciphertext = key.encrypt(&mut Zeros(0), b"secret").unwrap();
        assert_eq!(private.pkcs1v15_decrypt(&ciphertext).unwrap(), b"secret");
    }

    #[test]
    fn refuses_even_moduli_and_bad_exponents() {
        assert!(RsaPublicKey::new(&[0x0c, 0xa2], 17).is_none());
        assert!(RsaPublicKey::new(&[0x0c, 0xa1], 2).is_none());
        assert!(RsaPublicKey::new(&[0x0c, 0xa1], 1).is_none());
        assert!(RsaPublicKey::new(&[0, 0, 1], 3).is_none());
        assert!(RsaPublicKey::new(&[], 3).is_none());
    }

    #[test]
    fn limb_conversions() {
        assert_eq!(
            limbs_from_be(&[0, 0, 1, 2, 3, 4, 5]),
            vec![0x02030405, 0x01]
        );
        assert_eq!(limbs_to_be(&[0x02030405, 0x01], 6), vec![0, 1, 2, 3, 4, 5]);
        assert_eq!(limbs_to_be(&[0x02030405, 0], 4), vec![2, 3, 4, 5]);
    }
}
