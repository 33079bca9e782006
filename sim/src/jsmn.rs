//! The device's reading of a request body (spec §8): a non-strict jsmn tokenizer whose
//! errors are not checked. Top-level keys and their raw values; strings are *not* unescaped
//! (only `crt` and `ca` are, later, by the command); anything that is not an object reads as
//! "no fields".

/// A top-level field as the firmware sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    /// The key, raw.
    pub key: Vec<u8>,
    /// The value's bytes: a string's content between its quotes (escapes kept), or a
    /// primitive's text.
    pub value: Vec<u8>,
    /// jsmn's token type of the value.
    pub kind: Kind,
}

/// jsmn's token types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A quoted string.
    String,
    /// A number, `true`, `false` or `null`.
    Primitive,
    /// An object or array.
    Container,
}

/// Reads the top-level fields of `body`. Objects and arrays as values are skipped whole
/// (and count as neither string nor primitive).
pub fn fields(body: &[u8]) -> Vec<Field> {
    let mut out = Vec::new();
    let mut pos = skip_space(body, 0);
    if body.get(pos) != Some(&b'{') {
        return out;
    }
    pos += 1;
    loop {
        pos = skip_space(body, pos);
        match body.get(pos) {
            Some(b'"') => {}
            Some(b',') => {
                pos += 1;
                continue;
            }
            _ => return out,
        }
        let Some((key, after)) = string(body, pos) else {
            return out;
        };
        pos = skip_space(body, after);
        if body.get(pos) != Some(&b':') {
            return out;
        }
        pos = skip_space(body, pos + 1);
        match body.get(pos) {
            Some(b'"') => {
                let Some((value, after)) = string(body, pos) else {
                    return out;
                };
                out.push(Field {
                    key,
                    value,
                    kind: Kind::String,
                });
                pos = after;
            }
            Some(b'{' | b'[') => {
                let Some(after) = skip_container(body, pos) else {
                    return out;
                };
                out.push(Field {
                    key,
                    value: Vec::new(),
                    kind: Kind::Container,
                });
                pos = after;
            }
            Some(_) => {
                let start = pos;
                while let Some(&b) = body.get(pos) {
                    if matches!(b, b',' | b'}' | b' ' | b'\t' | b'\r' | b'\n') {
                        break;
                    }
                    pos += 1;
                }
                let value = body[start..pos].to_vec();
                out.push(Field {
                    key,
                    value,
                    kind: Kind::Primitive,
                });
            }
            None => return out,
        }
    }
}

fn skip_space(body: &[u8], mut pos: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\r' | b'\n') = body.get(pos) {
        pos += 1;
    }
    pos
}

/// A string token starting at `pos` (a quote): its raw content and the position after it.
fn string(body: &[u8], pos: usize) -> Option<(Vec<u8>, usize)> {
    let mut i = pos + 1;
    while i < body.len() {
        match body[i] {
            b'\\' => i += 2,
            b'"' => return Some((body[pos + 1..i].to_vec(), i + 1)),
            _ => i += 1,
        }
    }
    None
}

fn skip_container(body: &[u8], pos: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = pos;
    while i < body.len() {
        match body[i] {
            b'"' => {
                i = string(body, i)?.1;
                continue;
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// The escapes the device resolves in `crt` and `ca` (spec §7.3): `\" \\ \/ \b \t \n \f
/// \r`. `\u` is not supported: the firmware gives up and the certificate ends up empty.
pub fn unescape_certificate(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'\\' && i + 1 < raw.len() {
            let c = match raw[i + 1] {
                b'"' => b'"',
                b'\\' => b'\\',
                b'/' => b'/',
                b'b' => 0x08,
                b't' => b'\t',
                b'n' => b'\n',
                b'f' => 0x0c,
                b'r' => b'\r',
                _ => return Vec::new(),
            };
            out.push(c);
            i += 2;
        } else {
            out.push(raw[i]);
            i += 1;
        }
    }
    out
}

/// `atoi` as the firmware reads primitives: leading sign and digits, anything else stops.
pub fn atoi(value: &[u8]) -> i64 {
    let (negative, digits) = match value.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, value),
    };
    let n = digits
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .fold(0i64, |acc, &d| {
            acc.wrapping_mul(10).wrapping_add(i64::from(d - b'0'))
        });
    if negative {
        -n
    } else {
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(body: &[u8]) -> Vec<(String, String, Kind)> {
        fields(body)
            .into_iter()
            .map(|f| {
                (
                    String::from_utf8_lossy(&f.key).into(),
                    String::from_utf8_lossy(&f.value).into(),
                    f.kind,
                )
            })
            .collect()
    }

    #[test]
    fn strings_keep_their_escapes() {
        assert_eq!(
            keys(br#"{"ssid":"a\"b\/c","sec":4194310,"ch":null}"#),
            vec![
                ("ssid".into(), "a\\\"b\\/c".into(), Kind::String),
                ("sec".into(), "4194310".into(), Kind::Primitive),
                ("ch".into(), "null".into(), Kind::Primitive),
            ]
        );
    }

    #[test]
    fn garbage_reads_as_no_fields() {
        assert!(fields(b"hello").is_empty());
        assert!(fields(b"{").is_empty());
        assert!(fields(b"").is_empty());
    }

    #[test]
    fn certificates_unescape_the_supported_escapes_only() {
        assert_eq!(unescape_certificate(br"a\r\nb\/c\\"), b"a\r\nb/c\\");
        assert_eq!(unescape_certificate(br"a\u0041"), b"");
    }

    #[test]
    fn atoi_like_the_firmware() {
        assert_eq!(atoi(b"4194310"), 4194310);
        assert_eq!(atoi(b"-2"), -2);
        assert_eq!(atoi(b"null"), 0);
        assert_eq!(atoi(b"12abc"), 12);
    }
}
