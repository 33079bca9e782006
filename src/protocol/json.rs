//! The little JSON the device speaks: a writer for request bodies and a reader for replies.
//!
//! Neither is a general JSON library, on purpose. The writer emits exactly what the device's
//! jsmn-based parser takes (spec §8: no `\/`, no `\uXXXX`, strings unescaped except `crt` and
//! `ca`). The reader takes the prefix of a byte stream, says `Partial` until a whole value has
//! arrived (0.6 firmware never ends its chunked body, spec §3.2.4) and ignores what follows.

use std::fmt::Write as _;

/// A JSON object body, written field by field in the order given.
pub(crate) struct ObjectWriter {
    out: Vec<u8>,
}

impl ObjectWriter {
    pub(crate) fn new() -> Self {
        Self { out: b"{".to_vec() }
    }

    fn key(&mut self, key: &str) {
        if self.out.len() > 1 {
            self.out.push(b',');
        }
        self.out.push(b'"');
        self.out.extend_from_slice(key.as_bytes());
        self.out.extend_from_slice(b"\":");
    }

    /// A string the device stores verbatim: the caller has refused `"`, `\` and control
    /// characters already, so the bytes go out as they are.
    pub(crate) fn raw_string(&mut self, key: &str, value: &[u8]) {
        debug_assert!(!value.iter().any(|&b| b == b'"' || b == b'\\' || b < 0x20));
        self.key(key);
        self.out.push(b'"');
        self.out.extend_from_slice(value);
        self.out.push(b'"');
    }

    /// A string the device JSON-unescapes (`crt`, `ca`): only the escapes it understands.
    pub(crate) fn escaped_string(&mut self, key: &str, value: &str) {
        self.key(key);
        self.out.push(b'"');
        for byte in value.bytes() {
            match byte {
                b'"' => self.out.extend_from_slice(b"\\\""),
                b'\\' => self.out.extend_from_slice(b"\\\\"),
                b'\n' => self.out.extend_from_slice(b"\\n"),
                b'\r' => self.out.extend_from_slice(b"\\r"),
                b'\t' => self.out.extend_from_slice(b"\\t"),
                0x08 => self.out.extend_from_slice(b"\\b"),
                0x0c => self.out.extend_from_slice(b"\\f"),
                other => self.out.push(other),
            }
        }
        self.out.push(b'"');
    }

    pub(crate) fn number(&mut self, key: &str, value: i64) {
        self.key(key);
        let mut text = String::new();
        let _ = write!(text, "{value}");
        self.out.extend_from_slice(text.as_bytes());
    }

    pub(crate) fn finish(mut self) -> Vec<u8> {
        self.out.push(b'}');
        self.out
    }
}

/// The outcome of reading a prefix of a stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Progress<T> {
    /// More bytes are needed.
    Partial,
    /// A whole value, and how many bytes of the input it took.
    Complete(T),
}

/// A parsed JSON value. Strings keep their bytes: device strings need not be UTF-8.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Value {
    Null,
    Bool(bool),
    /// A whole number; the device sends no other kind.
    Integer(i64),
    /// A number with a fraction or exponent, or too large: kept only as "some number".
    OtherNumber,
    String(Vec<u8>),
    Array(Vec<Value>),
    Object(Vec<(Vec<u8>, Value)>),
}

impl Value {
    /// The last value for `key`: the device's jsmn lets the last duplicate win, and so do we.
    pub(crate) fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Object(fields) => fields
                .iter()
                .rev()
                .find(|(k, _)| k == key.as_bytes())
                .map(|(_, v)| v),
            _ => None,
        }
    }

    pub(crate) fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Integer(n) => Some(*n),
            _ => None,
        }
    }

    pub(crate) fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// A string field as text (bad UTF-8 replaced).
    pub(crate) fn text(&self, key: &str) -> Option<String> {
        self.get(key)
            .and_then(Value::as_bytes)
            .map(|b| String::from_utf8_lossy(b).into_owned())
    }

    /// A boolean field.
    pub(crate) fn flag(&self, key: &str) -> Option<bool> {
        match self.get(key) {
            Some(Value::Bool(b)) => Some(*b),
            _ => None,
        }
    }
}

/// Why bytes are not JSON.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Malformed(pub &'static str);

const MAX_DEPTH: usize = 16;

/// A whole document (the cloud's replies, which are plain JSON): its one value, if it is one.
pub(crate) fn read_document(input: &[u8]) -> Option<Value> {
    let (value, used) = match read_value(input).ok()? {
        Progress::Complete(done) => done,
        // A bare number is only known to be whole once something follows it.
        Progress::Partial => match read_value(&[input, b" "].concat()).ok()? {
            Progress::Complete(done) => done,
            Progress::Partial => return None,
        },
    };
    input
        .get(used..)
        .unwrap_or_default()
        .iter()
        .all(is_space)
        .then_some(value)
}

/// JSON's white space: not the form feed or vertical tab that `u8::is_ascii_whitespace`
/// also takes (every reader of device bytes, and the device page, agree on this).
pub(crate) fn is_space(byte: &u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\r' | b'\n')
}

/// Reads one JSON value from the start of `input` (after white space). Bytes after the value
/// are not looked at.
pub(crate) fn read_value(input: &[u8]) -> Result<Progress<(Value, usize)>, Malformed> {
    let mut reader = Reader { input, pos: 0 };
    match reader.value(0) {
        Ok(value) => Ok(Progress::Complete((value, reader.pos))),
        Err(Stop::Incomplete) => Ok(Progress::Partial),
        Err(Stop::Malformed(why)) => Err(Malformed(why)),
    }
}

enum Stop {
    Incomplete,
    Malformed(&'static str),
}

struct Reader<'a> {
    input: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn skip_space(&mut self) {
        while let Some(b' ' | b'\t' | b'\r' | b'\n') = self.input.get(self.pos) {
            self.pos += 1;
        }
    }

    fn peek(&mut self) -> Result<u8, Stop> {
        self.skip_space();
        self.input.get(self.pos).copied().ok_or(Stop::Incomplete)
    }

    fn expect(&mut self, byte: u8, why: &'static str) -> Result<(), Stop> {
        if self.peek()? != byte {
            return Err(Stop::Malformed(why));
        }
        self.pos += 1;
        Ok(())
    }

    fn value(&mut self, depth: usize) -> Result<Value, Stop> {
        if depth > MAX_DEPTH {
            return Err(Stop::Malformed("nested too deeply"));
        }
        match self.peek()? {
            b'{' => self.object(depth),
            b'[' => self.array(depth),
            b'"' => self.string().map(Value::String),
            b't' => self.literal(b"true", Value::Bool(true)),
            b'f' => self.literal(b"false", Value::Bool(false)),
            b'n' => self.literal(b"null", Value::Null),
            b'-' | b'0'..=b'9' => self.number(),
            _ => Err(Stop::Malformed("not JSON")),
        }
    }

    fn object(&mut self, depth: usize) -> Result<Value, Stop> {
        self.pos += 1;
        let mut fields = Vec::new();
        if self.peek()? == b'}' {
            self.pos += 1;
            return Ok(Value::Object(fields));
        }
        loop {
            if self.peek()? != b'"' {
                return Err(Stop::Malformed("object key is not a string"));
            }
            let key = self.string()?;
            self.expect(b':', "missing colon")?;
            let value = self.value(depth + 1)?;
            fields.push((key, value));
            match self.peek()? {
                b',' => self.pos += 1,
                b'}' => {
                    self.pos += 1;
                    return Ok(Value::Object(fields));
                }
                _ => return Err(Stop::Malformed("missing comma")),
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Value, Stop> {
        self.pos += 1;
        let mut items = Vec::new();
        if self.peek()? == b']' {
            self.pos += 1;
            return Ok(Value::Array(items));
        }
        loop {
            items.push(self.value(depth + 1)?);
            match self.peek()? {
                b',' => self.pos += 1,
                b']' => {
                    self.pos += 1;
                    return Ok(Value::Array(items));
                }
                _ => return Err(Stop::Malformed("missing comma")),
            }
        }
    }

    fn string(&mut self) -> Result<Vec<u8>, Stop> {
        self.pos += 1;
        let mut out = Vec::new();
        loop {
            let byte = *self.input.get(self.pos).ok_or(Stop::Incomplete)?;
            self.pos += 1;
            match byte {
                b'"' => return Ok(out),
                b'\\' => {
                    let escaped = *self.input.get(self.pos).ok_or(Stop::Incomplete)?;
                    self.pos += 1;
                    match escaped {
                        b'"' | b'\\' | b'/' => out.push(escaped),
                        b'b' => out.push(0x08),
                        b'f' => out.push(0x0c),
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'u' => self.unicode_escape(&mut out)?,
                        _ => return Err(Stop::Malformed("bad escape")),
                    }
                }
                other => out.push(other),
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, Stop> {
        let digits = self
            .input
            .get(self.pos..self.pos + 4)
            .ok_or(Stop::Incomplete)?;
        self.pos += 4;
        digits.iter().try_fold(0u32, |acc, &d| {
            let nibble = (d as char)
                .to_digit(16)
                .ok_or(Stop::Malformed("bad escape"))?;
            Ok(acc * 16 + nibble)
        })
    }

    /// `\uXXXX`, a surrogate pair joined. A lone surrogate is JSON all the same (RFC 8259
    /// §8.2) and becomes U+FFFD, as a browser's decoder would show it.
    fn unicode_escape(&mut self, out: &mut Vec<u8>) -> Result<(), Stop> {
        let mut code = self.hex4()?;
        if (0xD800..0xDC00).contains(&code) {
            // A low surrogate's escape next makes a pair; wait while the bytes could be one.
            let next = &self.input[self.pos..self.input.len().min(self.pos + 6)];
            let could_be_low = next.iter().enumerate().all(|(i, &b)| match i {
                0 => b == b'\\',
                1 => b == b'u',
                2 => matches!(b, b'd' | b'D'),
                3 => matches!(b, b'c'..=b'f' | b'C'..=b'F'),
                _ => b.is_ascii_hexdigit(),
            });
            if could_be_low {
                if next.len() < 6 {
                    return Err(Stop::Incomplete);
                }
                let low = next[2..].iter().fold(0, |n, &d| n * 16 + hex_digit(d));
                self.pos += 6;
                code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
            }
        }
        let c = char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER);
        let mut buf = [0; 4];
        out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        Ok(())
    }

    fn literal(&mut self, word: &'static [u8], value: Value) -> Result<Value, Stop> {
        let available = &self.input[self.pos..];
        let n = available.len().min(word.len());
        if available[..n] != word[..n] {
            return Err(Stop::Malformed("not JSON"));
        }
        if n < word.len() {
            return Err(Stop::Incomplete);
        }
        self.pos += word.len();
        Ok(value)
    }

    fn number(&mut self) -> Result<Value, Stop> {
        let start = self.pos;
        while let Some(b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9') = self.input.get(self.pos) {
            self.pos += 1;
        }
        // A number is only known to be whole once something follows it.
        if self.pos == self.input.len() {
            return Err(Stop::Incomplete);
        }
        // Integers by hand: float parsing would add kilobytes to the wasm for nothing.
        let text = &self.input[start..self.pos];
        let (negative, digits) = match text.split_first() {
            Some((b'-', rest)) => (true, rest),
            _ => (false, text),
        };
        let (int, tail) = digits.split_at(digits.iter().take_while(|b| b.is_ascii_digit()).count());
        let well_formed = !int.is_empty()
            && (int.len() == 1 || int[0] != b'0')
            && (tail.is_empty() || fraction_and_exponent(tail));
        if !well_formed {
            return Err(Stop::Malformed("bad number"));
        }
        let magnitude = int.iter().try_fold(0i64, |acc, &d| {
            acc.checked_mul(10)?.checked_add(i64::from(d - b'0'))
        });
        Ok(match (tail.is_empty(), magnitude) {
            (true, Some(m)) => Value::Integer(if negative { -m } else { m }),
            _ => Value::OtherNumber,
        })
    }
}

/// The value of a hex digit (checked by the caller).
fn hex_digit(d: u8) -> u32 {
    (d as char).to_digit(16).unwrap_or(0)
}

/// `.digits`, then optionally `e`/`E`, a sign and digits: the rest of a JSON number.
fn fraction_and_exponent(tail: &[u8]) -> bool {
    let digits = |s: &[u8]| s.iter().take_while(|b| b.is_ascii_digit()).count();
    let mut rest = tail;
    if let Some(after_dot) = rest.strip_prefix(b".") {
        let n = digits(after_dot);
        if n == 0 {
            return false;
        }
        rest = &after_dot[n..];
    }
    if let Some(after_e) = rest.strip_prefix(b"e").or_else(|| rest.strip_prefix(b"E")) {
        let unsigned = after_e
            .strip_prefix(b"-")
            .or_else(|| after_e.strip_prefix(b"+"))
            .unwrap_or(after_e);
        let n = digits(unsigned);
        return n > 0 && n == unsigned.len();
    }
    rest.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn complete(input: &[u8]) -> Value {
        match read_value(input) {
            Ok(Progress::Complete((value, _))) => value,
            other => panic!("{other:?} for {:?}", String::from_utf8_lossy(input)),
        }
    }

    #[test]
    fn writer_emits_what_the_device_parses() {
        let mut w = ObjectWriter::new();
        w.number("idx", 0);
        w.raw_string("ssid", "Café/Bar".as_bytes());
        w.number("sec", 4194310);
        w.escaped_string("crt", "-----BEGIN X-----\r\nab\"\\\t\n");
        let body = w.finish();
        assert_eq!(
            body,
            "{\"idx\":0,\"ssid\":\"Café/Bar\",\"sec\":4194310,\
             \"crt\":\"-----BEGIN X-----\\r\\nab\\\"\\\\\\t\\n\"}"
                .as_bytes()
        );
        // and our own reader reads it back
        let value = complete(&body);
        assert_eq!(
            value.get("ssid").unwrap().as_bytes(),
            Some("Café/Bar".as_bytes())
        );
        assert_eq!(
            value.get("crt").unwrap().as_bytes(),
            Some(&b"-----BEGIN X-----\r\nab\"\\\t\n"[..])
        );
    }

    #[test]
    fn every_prefix_of_a_reply_is_partial() {
        let reply = br#"{"id":"320020001847333531323135","c":"0","n":[1,true,null,-2.5e1]}"#;
        for end in 0..reply.len() {
            assert_eq!(
                read_value(&reply[..end]),
                Ok(Progress::Partial),
                "prefix {end}"
            );
        }
        let value = complete(reply);
        assert_eq!(value.get("c").unwrap().as_bytes(), Some(&b"0"[..]));
    }

    #[test]
    fn stops_at_the_end_of_the_first_value() {
        // TCP replies start with "\n\n"; 0.6 HTTP bodies may be followed by anything.
        match read_value(b"\n\n{\"r\":0}garbage") {
            Ok(Progress::Complete((value, used))) => {
                assert_eq!(value.get("r").unwrap().as_i64(), Some(0));
                assert_eq!(used, 9);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_bare_number_needs_a_following_byte() {
        assert_eq!(read_value(b"12"), Ok(Progress::Partial));
        assert_eq!(complete(b"12 "), Value::Integer(12));
        assert_eq!(complete(b"-7,"), Value::Integer(-7));
        assert_eq!(complete(b"-2.5e1 "), Value::OtherNumber);
        assert_eq!(
            complete(b"99999999999999999999 "),
            Value::OtherNumber,
            "too large"
        );
    }

    #[test]
    fn last_duplicate_key_wins() {
        assert_eq!(
            complete(br#"{"r":1,"r":0}"#).get("r").unwrap().as_i64(),
            Some(0)
        );
    }

    #[test]
    fn unicode_escapes_and_surrogates_decode() {
        let value = complete(br#"["\u00e9\ud83d\ude00\/"]"#);
        assert_eq!(
            value,
            Value::Array(vec![Value::String("é😀/".as_bytes().to_vec())])
        );
        // Lone surrogates are JSON too (RFC 8259 §8.2): U+FFFD, as a browser shows them.
        let value = complete(br#"["\ud800","\udc00x","\ud800\u0041","\uD800\uDBFF"]"#);
        let text = |s: &str| Value::String(s.as_bytes().to_vec());
        assert_eq!(
            value,
            Value::Array(vec![
                text("\u{FFFD}"),
                text("\u{FFFD}x"),
                text("\u{FFFD}A"),
                text("\u{FFFD}\u{FFFD}")
            ])
        );
    }

    #[test]
    fn malformed_input_is_refused_not_waited_for() {
        for bad in [
            &b"hello"[..],
            b"{1:2}",
            b"{\"a\" 1}",
            b"[1 2]",
            b"\"\\x\"",
            b"-x",
            b"01 ",
            b"1. ",
            b"1e ",
            b"1e+ ",
            b"+1 ",
            b"1-2 ",
        ] {
            assert!(
                read_value(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn deep_nesting_is_refused() {
        let deep = [b'['; 100];
        assert_eq!(read_value(&deep), Err(Malformed("nested too deeply")));
    }
}
