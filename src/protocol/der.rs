//! Just enough DER to read an RSA public key: SubjectPublicKeyInfo (RFC 5280) and PKCS#1
//! `RSAPublicKey` (RFC 8017 A.1.1). Strict: definite minimal lengths, minimal positive
//! INTEGERs, nothing left over inside a structure.

/// The DER of AlgorithmIdentifier's OID rsaEncryption, 1.2.840.113549.1.1.1.
pub(crate) const RSA_ENCRYPTION_OID: [u8; 9] =
    [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];

/// An RSA public key's numbers, borrowed from the DER.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct RsaNumbers<'a> {
    /// Modulus, big-endian without sign byte.
    pub(crate) modulus: &'a [u8],
    /// Public exponent, big-endian without sign byte.
    pub(crate) exponent: &'a [u8],
}

/// What a DER structure turned out to be.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Parsed<'a> {
    /// An RSA key in a SubjectPublicKeyInfo.
    Spki(RsaNumbers<'a>),
    /// A bare PKCS#1 RSA key.
    Pkcs1(RsaNumbers<'a>),
    /// A well-formed SubjectPublicKeyInfo of another algorithm.
    OtherAlgorithm,
}

/// Reads `der` (exactly one structure) as SPKI or, failing that, PKCS#1.
pub(crate) fn parse_public_key(der: &[u8]) -> Option<Parsed<'_>> {
    match parse_spki(der) {
        Some(parsed) => Some(parsed),
        None => parse_pkcs1(der).map(Parsed::Pkcs1),
    }
}

fn parse_spki(der: &[u8]) -> Option<Parsed<'_>> {
    let spki = single(der, 0x30)?;
    let (algorithm, rest) = read(spki, 0x30)?;
    let (key, rest) = read(rest, 0x03)?;
    if !rest.is_empty() {
        return None;
    }
    let (oid, params) = read(algorithm, 0x06)?;
    // rsaEncryption takes NULL parameters; other algorithms take what they like.
    if oid != RSA_ENCRYPTION_OID {
        return Some(Parsed::OtherAlgorithm);
    }
    if !(params.is_empty() || params == [0x05, 0x00]) {
        return None;
    }
    let (&unused_bits, key) = key.split_first()?;
    if unused_bits != 0 {
        return None;
    }
    parse_pkcs1(key).map(Parsed::Spki)
}

fn parse_pkcs1(der: &[u8]) -> Option<RsaNumbers<'_>> {
    let sequence = single(der, 0x30)?;
    let (modulus, rest) = read(sequence, 0x02)?;
    let (exponent, rest) = read(rest, 0x02)?;
    if !rest.is_empty() {
        return None;
    }
    Some(RsaNumbers {
        modulus: positive_integer(modulus)?,
        exponent: positive_integer(exponent)?,
    })
}

/// The magnitude of a minimally encoded positive INTEGER.
fn positive_integer(content: &[u8]) -> Option<&[u8]> {
    match content {
        [] => None,
        [first, ..] if first & 0x80 != 0 => None,
        [0, second, ..] if second & 0x80 == 0 => None,
        [0, rest @ ..] if !rest.is_empty() => Some(rest),
        _ => Some(content),
    }
}

/// The content of the one element in `der`, which must have `tag` and fill `der` exactly.
fn single(der: &[u8], tag: u8) -> Option<&[u8]> {
    match read(der, tag)? {
        (content, []) => Some(content),
        _ => None,
    }
}

/// Splits a TLV with `tag` off the front: (content, rest).
fn read(der: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (&found, rest) = der.split_first()?;
    if found != tag {
        return None;
    }
    let (&first, rest) = rest.split_first()?;
    let (length, rest) = match first {
        0..=0x7f => (usize::from(first), rest),
        0x81..=0x83 => {
            let n = usize::from(first - 0x80);
            let bytes = rest.get(..n)?;
            // DER: no leading zero byte, and the long form only from 128 on.
            if bytes[0] == 0 {
                return None;
            }
            let length = bytes
                .iter()
                .fold(0usize, |acc, &b| acc << 8 | usize::from(b));
            if length < 0x80 {
                return None;
            }
            (length, &rest[n..])
        }
        _ => return None,
    };
    (rest.len() >= length).then(|| rest.split_at(length))
}

/// The total length of the DER SEQUENCE at the start of `bytes`, if it fits in `bytes`.
pub(crate) fn sequence_length(bytes: &[u8]) -> Option<usize> {
    let (_, rest) = read(bytes, 0x30)?;
    Some(bytes.len() - rest.len())
}

/// SubjectPublicKeyInfo around a PKCS#1 key: AlgorithmIdentifier rsaEncryption with NULL
/// parameters, then the key as a BIT STRING.
pub(crate) fn spki_from_pkcs1(pkcs1: &[u8]) -> Vec<u8> {
    let mut algorithm = vec![0x06, RSA_ENCRYPTION_OID.len() as u8];
    algorithm.extend_from_slice(&RSA_ENCRYPTION_OID);
    algorithm.extend_from_slice(&[0x05, 0x00]);
    let mut bit_string = vec![0];
    bit_string.extend_from_slice(pkcs1);
    let mut content = tlv(0x30, &algorithm);
    content.extend_from_slice(&tlv(0x03, &bit_string));
    tlv(0x30, &content)
}

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    match content.len() {
        n @ 0..=0x7f => out.push(n as u8),
        n @ 0x80..=0xff => out.extend_from_slice(&[0x81, n as u8]),
        n => out.extend_from_slice(&[0x82, (n >> 8) as u8, n as u8]),
    }
    out.extend_from_slice(content);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPKI_1024: &[u8] = include_bytes!("../../tests/fixtures/device-1024.spki.der");
    const PKCS1_1024: &[u8] = include_bytes!("../../tests/fixtures/device-1024.pkcs1.der");
    const SPKI_2048: &[u8] = include_bytes!("../../tests/fixtures/device-2048.spki.der");
    const SPKI_EC: &[u8] = include_bytes!("../../tests/fixtures/ec-p256.spki.der");

    #[test]
    fn reads_spki_and_pkcs1_to_the_same_numbers() {
        let Some(Parsed::Spki(from_spki)) = parse_public_key(SPKI_1024) else {
            panic!()
        };
        let Some(Parsed::Pkcs1(from_pkcs1)) = parse_public_key(PKCS1_1024) else {
            panic!()
        };
        assert_eq!(from_spki, from_pkcs1);
        assert_eq!(from_spki.modulus.len(), 128);
        assert_eq!(from_spki.exponent, [1, 0, 1]);
        let Some(Parsed::Spki(big)) = parse_public_key(SPKI_2048) else {
            panic!()
        };
        assert_eq!(big.modulus.len(), 256);
    }

    #[test]
    fn tells_other_algorithms_apart_from_garbage() {
        assert_eq!(parse_public_key(SPKI_EC), Some(Parsed::OtherAlgorithm));
        assert_eq!(parse_public_key(&[]), None);
        assert_eq!(parse_public_key(&SPKI_1024[..161]), None);
        let mut extra = SPKI_1024.to_vec();
        extra.push(0);
        assert_eq!(
            parse_public_key(&extra),
            None,
            "single() wants the exact length"
        );
    }

    #[test]
    fn is_strict_about_der() {
        assert_eq!(
            read(&[0x30, 0x81, 0x05, 1, 2, 3, 4, 5], 0x30),
            None,
            "long form below 128"
        );
        assert_eq!(
            read(&[0x30, 0x82, 0x00, 0x80], 0x30),
            None,
            "leading zero length byte"
        );
        assert_eq!(read(&[0x30, 0x80, 0, 0], 0x30), None, "indefinite length");
        assert_eq!(positive_integer(&[0x80]), None, "negative");
        assert_eq!(positive_integer(&[0x00, 0x01]), None, "not minimal");
        assert_eq!(positive_integer(&[0x00, 0x80]), Some(&[0x80][..]));
        assert_eq!(positive_integer(&[0x00]), Some(&[0x00][..]));
    }

    #[test]
    fn wraps_pkcs1_exactly_as_openssl_does() {
        assert_eq!(spki_from_pkcs1(PKCS1_1024), SPKI_1024);
        assert_eq!(
            spki_from_pkcs1(&SPKI_2048[24..]),
            SPKI_2048,
            "two-byte lengths"
        );
    }

    #[test]
    fn sequence_length_reads_the_outer_header() {
        let mut padded = SPKI_1024.to_vec();
        padded.resize(294, 0);
        assert_eq!(sequence_length(&padded), Some(162));
        assert_eq!(
            sequence_length(&[0x30, 0x05, 0]),
            None,
            "longer than the input"
        );
        assert_eq!(sequence_length(&[0x02, 0x01, 0]), None);
    }
}
