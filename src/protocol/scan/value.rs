//! One JSON value of a scan entry, checked a byte at a time.
//!
//! A scan entry is read by several readings at once (one per possible end of its raw name),
//! each fed every byte exactly once: so the work is linear and the outcome cannot depend on how
//! the body was cut into pieces. Values are only checked, not kept, except a whole number at
//! the top (`rssi`, `sec`, `ch`, `mdr`). Strings may hold any raw byte, as the device's own
//! parser allows; escapes are checked for form only.

/// How deep containers may nest inside a field's value (a value at depth 17 is refused).
const MAX_DEPTH: u8 = 16;

/// What one byte did to the value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Lexed {
    /// The value goes on.
    More,
    /// The value ended with this byte.
    Done(Option<i64>),
    /// The value ended just before this byte, which belongs to what follows.
    DoneBefore(Option<i64>),
    /// Not a JSON value.
    Bad,
}

#[derive(Clone, Copy, Debug)]
enum State {
    /// A value starts here (white space first).
    Start,
    /// Inside a string; `escape` counts what the escape still needs (1: its letter, 2..=5:
    /// hex digits of `\u`).
    Text {
        escape: u8,
        key: bool,
    },
    Number(Number),
    /// `word`'s first `matched` bytes were seen.
    Word {
        word: &'static [u8],
        matched: u8,
    },
    /// In a container after a value: `,` or its end.
    AfterItem,
    /// After `{`: a key or `}`.
    FirstKey,
    /// After `,` in an object: a key.
    Key,
    /// After a key: `:`.
    Colon,
    /// After `[`: a value or `]`.
    FirstItem,
}

/// Where a number is in JSON's grammar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Number {
    Minus,
    Zero,
    Integer,
    Dot,
    Fraction,
    Exponent,
    ExponentSign,
    ExponentDigits,
}

impl Number {
    fn is_whole(self) -> bool {
        matches!(
            self,
            Self::Zero | Self::Integer | Self::Fraction | Self::ExponentDigits
        )
    }

    fn next(self, byte: u8) -> Option<Self> {
        use Number::*;
        Some(match (self, byte) {
            (Minus, b'0') => Zero,
            (Minus | Integer, b'1'..=b'9') | (Integer, b'0') => Integer,
            (Zero | Integer, b'.') => Dot,
            (Dot | Fraction, b'0'..=b'9') => Fraction,
            (Zero | Integer | Fraction, b'e' | b'E') => Exponent,
            (Exponent, b'+' | b'-') => ExponentSign,
            (Exponent | ExponentSign | ExponentDigits, b'0'..=b'9') => ExponentDigits,
            _ => return None,
        })
    }
}

/// Checks one value as its bytes come.
#[derive(Clone, Debug)]
pub(super) struct ValueLexer {
    state: State,
    /// Open containers, innermost in the lowest bit: 1 for an object, 0 for an array.
    kinds: u32,
    depth: u8,
    /// The top-level number so far, while it is a whole number that fits.
    integer: Option<i64>,
    negative: bool,
}

impl ValueLexer {
    pub(super) fn new() -> Self {
        Self {
            state: State::Start,
            kinds: 0,
            depth: 0,
            integer: None,
            negative: false,
        }
    }

    /// Takes the next byte.
    pub(super) fn push(&mut self, byte: u8) -> Lexed {
        let space = matches!(byte, b' ' | b'\t' | b'\r' | b'\n');
        match self.state {
            State::Start | State::FirstItem if space => Lexed::More,
            State::FirstItem if byte == b']' => self.close(),
            State::Start | State::FirstItem => self.start(byte),
            State::Text { escape: 0, key } => match byte {
                b'"' if key => {
                    self.state = State::Colon;
                    Lexed::More
                }
                b'"' => self.item_done(),
                b'\\' => {
                    self.state = State::Text { escape: 1, key };
                    Lexed::More
                }
                _ => Lexed::More,
            },
            State::Text { escape: 1, key } => match byte {
                b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {
                    self.state = State::Text { escape: 0, key };
                    Lexed::More
                }
                b'u' => {
                    self.state = State::Text { escape: 5, key };
                    Lexed::More
                }
                _ => Lexed::Bad,
            },
            State::Text { escape, key } => {
                if !byte.is_ascii_hexdigit() {
                    return Lexed::Bad;
                }
                let escape = if escape == 2 { 0 } else { escape - 1 };
                self.state = State::Text { escape, key };
                Lexed::More
            }
            State::Number(number) => match number.next(byte) {
                Some(next) => {
                    self.state = State::Number(next);
                    if self.depth == 0 {
                        self.accumulate(next, byte);
                    }
                    Lexed::More
                }
                None if matches!(byte, b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-') => {
                    Lexed::Bad
                }
                None if number.is_whole() => match self.item_done() {
                    Lexed::Done(value) => Lexed::DoneBefore(value),
                    Lexed::More => self.push(byte),
                    other => other,
                },
                None => Lexed::Bad,
            },
            State::Word { word, matched } => {
                if word.get(usize::from(matched)) != Some(&byte) {
                    return Lexed::Bad;
                }
                if usize::from(matched) + 1 == word.len() {
                    return self.item_done();
                }
                self.state = State::Word {
                    word,
                    matched: matched + 1,
                };
                Lexed::More
            }
            State::AfterItem | State::FirstKey | State::Key | State::Colon if space => Lexed::More,
            State::AfterItem => match byte {
                b',' => {
                    self.state = if self.kinds & 1 == 1 {
                        State::Key
                    } else {
                        State::Start
                    };
                    Lexed::More
                }
                b'}' if self.kinds & 1 == 1 => self.close(),
                b']' if self.kinds & 1 == 0 => self.close(),
                _ => Lexed::Bad,
            },
            State::FirstKey if byte == b'}' => self.close(),
            State::FirstKey | State::Key => {
                if byte != b'"' {
                    return Lexed::Bad;
                }
                self.state = State::Text {
                    escape: 0,
                    key: true,
                };
                Lexed::More
            }
            State::Colon => {
                if byte != b':' {
                    return Lexed::Bad;
                }
                self.state = State::Start;
                Lexed::More
            }
        }
    }

    /// The first byte of a value.
    fn start(&mut self, byte: u8) -> Lexed {
        if self.depth > MAX_DEPTH {
            return Lexed::Bad;
        }
        self.state = match byte {
            b'"' => State::Text {
                escape: 0,
                key: false,
            },
            b'{' | b'[' => {
                self.kinds = self.kinds << 1 | u32::from(byte == b'{');
                self.depth += 1;
                if byte == b'{' {
                    State::FirstKey
                } else {
                    State::FirstItem
                }
            }
            b't' => Self::word(b"true"),
            b'f' => Self::word(b"false"),
            b'n' => Self::word(b"null"),
            b'-' | b'0'..=b'9' => {
                let number = if byte == b'-' {
                    Number::Minus
                } else if byte == b'0' {
                    Number::Zero
                } else {
                    Number::Integer
                };
                if self.depth == 0 {
                    self.negative = byte == b'-';
                    self.integer = Some(0);
                    self.accumulate(number, byte);
                }
                State::Number(number)
            }
            _ => return Lexed::Bad,
        };
        Lexed::More
    }

    fn word(word: &'static [u8]) -> State {
        State::Word { word, matched: 1 }
    }

    /// A top-level number's value so far: whole numbers that fit in an `i64`.
    fn accumulate(&mut self, number: Number, byte: u8) {
        self.integer = match number {
            Number::Zero | Number::Integer => self.integer.and_then(|n| {
                let digit = i64::from(byte - b'0');
                let n = n.checked_mul(10)?;
                if self.negative {
                    n.checked_sub(digit)
                } else {
                    n.checked_add(digit)
                }
            }),
            Number::Minus => self.integer,
            _ => None,
        };
    }

    /// A value inside a container, or the whole value, ended.
    fn item_done(&mut self) -> Lexed {
        if self.depth == 0 {
            return Lexed::Done(self.integer);
        }
        self.state = State::AfterItem;
        Lexed::More
    }

    /// The innermost container ended.
    fn close(&mut self) -> Lexed {
        self.kinds >>= 1;
        self.depth -= 1;
        self.item_done()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `text`; what the last byte said and how many bytes were taken.
    fn lex(text: &str) -> (Lexed, usize) {
        let mut lexer = ValueLexer::new();
        for (i, byte) in text.bytes().enumerate() {
            match lexer.push(byte) {
                Lexed::More => {}
                Lexed::DoneBefore(value) => return (Lexed::DoneBefore(value), i),
                other => return (other, i + 1),
            }
        }
        (Lexed::More, text.len())
    }

    #[test]
    fn whole_numbers_are_kept_other_values_only_checked() {
        assert_eq!(lex("-52,"), (Lexed::DoneBefore(Some(-52)), 3));
        assert_eq!(lex("4194310}"), (Lexed::DoneBefore(Some(4194310)), 7));
        assert_eq!(lex("0 "), (Lexed::DoneBefore(Some(0)), 1));
        assert_eq!(
            lex("-9223372036854775808,"),
            (Lexed::DoneBefore(Some(i64::MIN)), 20)
        );
        assert_eq!(lex("9223372036854775808,"), (Lexed::DoneBefore(None), 19));
        assert_eq!(lex("1.5e3,"), (Lexed::DoneBefore(None), 5));
        assert_eq!(lex("\"a\\\"\\u00e9\""), (Lexed::Done(None), 11));
        assert_eq!(lex(" true"), (Lexed::Done(None), 5));
        assert_eq!(lex("[1,{\"k\":[null]},\"x\"]"), (Lexed::Done(None), 20));
        assert_eq!(lex("{}"), (Lexed::Done(None), 2));
        assert_eq!(lex("[ ]"), (Lexed::Done(None), 3));
    }

    #[test]
    fn what_json_refuses_is_bad() {
        for text in [
            "01",
            "-",
            "-,",
            "1.",
            "1.e",
            "1e",
            "1e+",
            "+1",
            "1-",
            "tru,",
            "nul1",
            "\"\\x\"",
            "\"\\u12g4\"",
            "[1,]",
            "{\"a\" 1}",
            "{\"a\":1,}",
            "{,}",
            "[1 2]",
            "{1:2}",
            "]",
            "}",
            ",",
            "x",
        ] {
            let (lexed, _) = lex(&format!("{text} "));
            assert_eq!(lexed, Lexed::Bad, "{text:?}");
        }
    }

    #[test]
    fn seventeen_levels_of_nesting_and_no_more() {
        let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        assert_eq!(lex(&deep(17)).0, Lexed::Done(None));
        assert_eq!(lex(&deep(18)).0, Lexed::Bad);
        assert_eq!(
            lex(&format!("{}1{}", "[".repeat(16), "]".repeat(16))).0,
            Lexed::Done(None)
        );
        assert_eq!(
            lex(&format!("{}1{}", "[".repeat(17), "]".repeat(17))).0,
            Lexed::Bad
        );
    }
}
