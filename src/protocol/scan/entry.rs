//! One entry of the scan, read a byte at a time by every reading of its raw name at once.
//!
//! Every `"` within 32 bytes of the name's opening quote may be where the name ends; each
//! starts a reading of the rest of the entry, and every byte after it goes to every reading
//! still alive. A reading counts once its entry's `}` is followed by `,` or `]`. The entry is
//! decided at the first byte after which every reading has counted or failed and no quote can
//! still start another (the name's window has passed, or the list visibly ended after the
//! longest reading); the cap, or the end of the stream, decides what is still open. Each byte
//! is looked at once per reading, at most 33 readings: the work is linear, and the decision
//! the same however the body was cut.

use crate::protocol::scan::value::{Lexed, ValueLexer};
use crate::protocol::scan::ScanEntry;
use crate::protocol::security::Security;

/// The largest entry read: a real one is about 85 bytes (a 32-byte SSID, five fields).
pub const ENTRY_CAP: usize = 256;
/// The longest SSID the radio reports.
const MAX_SSID: usize = 32;
/// The longest field name read (the device's are at most 4 bytes).
const MAX_KEY: usize = 16;

/// What became of an entry.
#[derive(Debug)]
pub(super) enum Decision {
    /// A well-formed entry (`None`: hidden, or no usable network), and where it ends.
    Entry(Option<ScanEntry>, usize),
    /// No reading of it: skip to the next entry mark.
    Skip,
}

/// The fields the client uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Key {
    Ssid,
    Rssi,
    Sec,
    Ch,
    Mdr,
    Other,
}

impl Key {
    fn of(name: &[u8]) -> Self {
        match name {
            b"ssid" => Self::Ssid,
            b"rssi" => Self::Rssi,
            b"sec" => Self::Sec,
            b"ch" => Self::Ch,
            b"mdr" => Self::Mdr,
            _ => Self::Other,
        }
    }
}

/// An entry's fields as read so far.
#[derive(Clone, Copy, Debug, Default)]
struct Fields {
    rssi: Option<i64>,
    sec: Option<i64>,
    ch: Option<i64>,
    mdr: Option<i64>,
}

impl Fields {
    fn set(&mut self, key: Key, value: Option<i64>) {
        match key {
            Key::Rssi => self.rssi = value,
            Key::Sec => self.sec = value,
            Key::Ch => self.ch = value,
            Key::Mdr => self.mdr = value,
            Key::Ssid | Key::Other => {}
        }
    }

    /// The entry, or `None` for a well-formed entry that is no usable network (hidden, or
    /// impossible values).
    fn into_entry(self, ssid_bytes: &[u8], doubtful: bool) -> Option<ScanEntry> {
        if ssid_bytes.is_empty() {
            return None;
        }
        let rssi = i32::try_from(self.rssi?)
            .ok()
            .filter(|r| (-128..=0).contains(r))?;
        let security = Security::from_value(self.sec?)?;
        Some(ScanEntry {
            ssid: String::from_utf8_lossy(ssid_bytes).into_owned(),
            ssid_bytes: ssid_bytes.to_vec(),
            rssi,
            security,
            channel: self.ch.and_then(|c| u32::try_from(c).ok()).unwrap_or(0),
            max_data_rate: self.mdr.and_then(|m| u32::try_from(m).ok()).unwrap_or(0),
            doubtful,
        })
    }
}

/// Where a reading is in the entry's grammar.
#[derive(Clone, Debug)]
enum Syntax {
    /// Right after the entry's `{`: a field name or `}`.
    Open,
    /// After a value (or the raw name): `,` or `}`.
    AfterValue,
    /// After `,`: a field name.
    Key,
    /// Inside a field name.
    InKey {
        name: [u8; MAX_KEY],
        len: u8,
    },
    /// After a field name: `:`.
    Colon(Key),
    Value(Key, ValueLexer),
    /// The entry's `}` ended at `end`: `,` or `]` must follow.
    Follows {
        end: usize,
    },
    /// `]` followed: the reading counts; a `}` next would close the list.
    ListEnd {
        end: usize,
    },
    /// The reading counts; `last`: the list ends right after it.
    Counted {
        end: usize,
        last: bool,
    },
    /// Before the name: `"ssid":` was read.
    NameNext,
    Failed,
}

/// One way of reading the entry: its fields and where it is.
#[derive(Clone, Debug)]
struct Reading {
    fields: Fields,
    syntax: Syntax,
}

impl Reading {
    /// Whether the reading has counted (`Some(end)`), or failed or goes on (`None`).
    fn counted(&self) -> Option<usize> {
        match self.syntax {
            Syntax::ListEnd { end } | Syntax::Counted { end, .. } => Some(end),
            _ => None,
        }
    }

    /// Neither counted nor failed yet.
    fn is_open(&self) -> bool {
        !matches!(
            self.syntax,
            Syntax::ListEnd { .. } | Syntax::Counted { .. } | Syntax::Failed | Syntax::NameNext
        )
    }

    /// Still looking at bytes: open, or counted with the list's end still to be seen.
    fn wants_bytes(&self) -> bool {
        self.is_open() || matches!(self.syntax, Syntax::ListEnd { .. })
    }

    /// Takes the byte at `index`. `before_name`: the name is still to come, so `"ssid"` is
    /// where it starts rather than a second name.
    fn push(&mut self, byte: u8, index: usize, before_name: bool) {
        let space = matches!(byte, b' ' | b'\t' | b'\r' | b'\n');
        self.syntax = match core::mem::replace(&mut self.syntax, Syntax::Failed) {
            done @ (Syntax::Counted { .. } | Syntax::Failed | Syntax::NameNext) => done,
            same @ (Syntax::Open
            | Syntax::AfterValue
            | Syntax::Key
            | Syntax::Colon(_)
            | Syntax::Follows { .. })
                if space =>
            {
                same
            }
            Syntax::Open | Syntax::AfterValue if byte == b'}' => Syntax::Follows { end: index + 1 },
            Syntax::AfterValue if byte == b',' => Syntax::Key,
            Syntax::Open | Syntax::Key if byte == b'"' => Syntax::InKey {
                name: [0; MAX_KEY],
                len: 0,
            },
            Syntax::InKey { name, len } if byte == b'"' => {
                Syntax::Colon(Key::of(&name[..usize::from(len)]))
            }
            Syntax::InKey { mut name, len } if usize::from(len) < MAX_KEY => {
                name[usize::from(len)] = byte;
                Syntax::InKey { name, len: len + 1 }
            }
            Syntax::Colon(Key::Ssid) if byte == b':' && before_name => Syntax::NameNext,
            // A second name would make the entry say two things.
            Syntax::Colon(Key::Ssid) => Syntax::Failed,
            Syntax::Colon(key) if byte == b':' => Syntax::Value(key, ValueLexer::new()),
            Syntax::Value(key, mut lexer) => match lexer.push(byte) {
                Lexed::More => Syntax::Value(key, lexer),
                Lexed::Done(value) => {
                    self.fields.set(key, value);
                    Syntax::AfterValue
                }
                Lexed::DoneBefore(value) => {
                    self.fields.set(key, value);
                    self.syntax = Syntax::AfterValue;
                    return self.push(byte, index, before_name);
                }
                Lexed::Bad => Syntax::Failed,
            },
            Syntax::Follows { end } if byte == b',' => Syntax::Counted { end, last: false },
            Syntax::Follows { end } if byte == b']' => Syntax::ListEnd { end },
            Syntax::ListEnd { end } if space => Syntax::ListEnd { end },
            Syntax::ListEnd { end } => Syntax::Counted {
                end,
                last: byte == b'}',
            },
            _ => Syntax::Failed,
        };
    }

    /// The stream or the entry's cap ended what was open.
    fn close(&mut self) {
        self.syntax = match self.syntax {
            Syntax::ListEnd { end } => Syntax::Counted { end, last: false },
            Syntax::Counted { end, last } => Syntax::Counted { end, last },
            _ => Syntax::Failed,
        };
    }
}

#[derive(Debug)]
enum Phase {
    /// The fields before the name (the device writes the name first; other orders are read
    /// too).
    BeforeName(Reading),
    /// `"ssid":` was read: the name's opening quote comes next.
    Quote(Fields),
    /// In or after the name: one reading per possible end.
    Name {
        start: usize,
        fields: Fields,
        /// Readings in the order of their closing quotes (the last is the longest name).
        readings: Vec<(usize, Reading)>,
    },
}

/// Reads the entry whose `{` is at `start`.
#[derive(Debug)]
pub(super) struct EntryReader {
    start: usize,
    /// The next byte to read.
    next: usize,
    phase: Phase,
}

impl EntryReader {
    pub(super) fn new(start: usize) -> Self {
        Self {
            start,
            next: start + 1,
            phase: Phase::BeforeName(Reading {
                fields: Fields::default(),
                syntax: Syntax::Open,
            }),
        }
    }

    /// Where the entry starts.
    pub(super) fn start(&self) -> usize {
        self.start
    }

    /// Reads what arrived of the entry; the decision once there is one. `finished`: no more
    /// bytes will come.
    pub(super) fn advance(&mut self, buf: &[u8], finished: bool) -> Option<Decision> {
        let cap = self.start + ENTRY_CAP;
        while self.next < buf.len().min(cap) {
            let index = self.next;
            self.next += 1;
            self.push(buf[index], index);
            if let Some(decision) = self.decide(buf, index + 1) {
                return Some(decision);
            }
        }
        if finished || buf.len() > cap {
            return Some(self.close(buf));
        }
        None
    }

    fn push(&mut self, byte: u8, index: usize) {
        match &mut self.phase {
            Phase::BeforeName(reading) => {
                reading.push(byte, index, true);
                if let Syntax::NameNext = reading.syntax {
                    self.phase = Phase::Quote(reading.fields);
                }
            }
            Phase::Quote(fields) => match byte {
                b' ' | b'\t' | b'\r' | b'\n' => {}
                b'"' => {
                    self.phase = Phase::Name {
                        start: index + 1,
                        fields: *fields,
                        readings: Vec::new(),
                    }
                }
                _ => {
                    self.phase = Phase::BeforeName(Reading {
                        fields: Fields::default(),
                        syntax: Syntax::Failed,
                    })
                }
            },
            Phase::Name {
                start,
                fields,
                readings,
            } => {
                for (_, reading) in readings.iter_mut().filter(|(_, r)| r.wants_bytes()) {
                    reading.push(byte, index, false);
                }
                if byte == b'"' && index <= *start + MAX_SSID {
                    readings.push((
                        index,
                        Reading {
                            fields: *fields,
                            syntax: Syntax::AfterValue,
                        },
                    ));
                }
            }
        }
    }

    /// The decision after the first `seen` bytes of the body, if they make one.
    fn decide(&self, buf: &[u8], seen: usize) -> Option<Decision> {
        match &self.phase {
            Phase::BeforeName(reading) => match reading.syntax {
                Syntax::Failed => Some(Decision::Skip),
                // No name at all: a hidden network, or no entry.
                _ => reading.counted().map(|end| Decision::Entry(None, end)),
            },
            Phase::Quote(_) => None,
            Phase::Name {
                start, readings, ..
            } => {
                if readings.iter().any(|(_, r)| r.is_open()) {
                    return None;
                }
                let window_open = seen <= start + MAX_SSID;
                let ends_list = readings.iter().rev().find_map(|(_, r)| match r.syntax {
                    Syntax::Counted { last, .. } => Some(last),
                    Syntax::ListEnd { .. } => Some(false),
                    _ => None,
                }) == Some(true);
                // The list is whole after the longest reading: nothing the device writes
                // comes later, so no later quote can be part of the name.
                if window_open && !ends_list {
                    return None;
                }
                Some(Self::choose(buf, *start, readings))
            }
        }
    }

    /// The stream or the cap ended the entry: what is open fails, and the readings decide.
    fn close(&mut self, buf: &[u8]) -> Decision {
        match &mut self.phase {
            Phase::BeforeName(reading) => {
                reading.close();
                match reading.counted() {
                    Some(end) => Decision::Entry(None, end),
                    None => Decision::Skip,
                }
            }
            Phase::Quote(_) => Decision::Skip,
            Phase::Name {
                start, readings, ..
            } => {
                for (_, reading) in readings.iter_mut() {
                    reading.close();
                }
                Self::choose(buf, *start, readings)
            }
        }
    }

    /// One reading that counts makes a clean entry, more a doubtful one; none, no entry.
    fn choose(buf: &[u8], start: usize, readings: &[(usize, Reading)]) -> Decision {
        let counted: Vec<(usize, &Reading, usize)> = readings
            .iter()
            .filter_map(|(close, r)| r.counted().map(|end| (*close, r, end)))
            .collect();
        // The firmware writes the name, then its fields: a crafted name can only put a false
        // end before the true one, so the longest reading is the name as the radio heard it.
        match counted.last() {
            Some(&(close, reading, end)) => Decision::Entry(
                reading
                    .fields
                    .into_entry(&buf[start..close], counted.len() > 1),
                end,
            ),
            None => Decision::Skip,
        }
    }
}
