//! The `scan-ap` reply, read as it arrives by a parser that survives what the device really
//! sends, and the list of networks a client shows from it.
//!
//! The device writes SSIDs raw, without JSON escaping (spec §4.3): an SSID with `"`, `\`,
//! control or non-UTF-8 bytes makes the reply invalid JSON, and a neighbour can name a network
//! so that it looks like the end of its entry and the start of another. The parser knows the
//! reply's shape instead: every `"` within 32 bytes of an SSID's opening quote is a possible
//! end, and a reading counts when the rest of the entry parses and a `,` or `]` follows. One
//! reading makes a clean entry; more than one a *doubtful* entry, which is listed after the
//! clean ones and never merged with them, so a crafted name cannot change or hide a real
//! network. An entry with no reading is skipped, not the whole list.
//!
//! The work is linear in the reply: bytes are examined once, except within one entry (at most
//! [`ENTRY_CAP`] bytes), which is tried again only when a byte arrives that could end it.

use serde::Serialize;

use crate::protocol::json::{read_value, Progress};
use crate::protocol::security::Security;

/// The largest entry read: a real one is about 85 bytes (a 32-byte SSID, five fields).
pub const ENTRY_CAP: usize = 256;
/// The longest SSID the radio reports.
const MAX_SSID: usize = 32;

/// One entry of the device's scan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScanEntry {
    /// The name for display (invalid UTF-8 replaced by U+FFFD).
    pub ssid: String,
    /// The name's bytes exactly as the device sent them.
    pub ssid_bytes: Vec<u8>,
    /// Signal strength in dBm.
    pub rssi: i32,
    /// The raw security value.
    pub security: Security,
    /// Channel (0 when not given).
    pub channel: u32,
    /// Maximum data rate in kbit/s (0 when not given).
    pub max_data_rate: u32,
    /// The entry's end was ambiguous: its name may be crafted to look like other entries.
    pub doubtful: bool,
}

/// A network as a client lists it: one per name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Network {
    /// The name for display.
    pub ssid: String,
    /// Signal strength of the strongest access point, dBm.
    pub rssi: i32,
    /// Name of the security type (`wpa2_mixed`, `unknown`, or hex for combinations).
    pub security: String,
    /// The raw security value.
    pub sec: i64,
    /// Channel.
    pub channel: u32,
    /// kbit/s.
    pub max_data_rate: u32,
    /// The device's entry for it was ambiguous (see the module documentation): show it apart,
    /// never instead of a clean network of the same name.
    #[serde(skip_serializing_if = "core::ops::Not::not")]
    pub doubtful: bool,
}

/// Reads a `scan-ap` body as it arrives.
#[derive(Debug, Default)]
pub struct ScanReader {
    buf: Vec<u8>,
    stage: Stage,
    entries: Vec<ScanEntry>,
    /// Length of `buf` when the pending entry was last tried.
    tried_at_len: usize,
    /// A byte that can end an entry (`}`, `,`, `]`) arrived since it was last tried.
    brace_since_try: bool,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Stage {
    /// Before `{"scans":[`.
    #[default]
    Open,
    /// At an entry or the list's end.
    Item(usize),
    /// After an entry: `,` or `]`.
    Next(usize),
    /// Looking for the next `{"ssid":"` or `]}` from here.
    Skip(usize),
    /// After `]`: the closing `}`.
    Close(usize),
    /// The list is whole.
    Done,
}

/// Why a body is not a scan at all (its frame is wrong).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotAScan(pub &'static str);

impl ScanReader {
    /// A reader at the start of a body.
    pub fn new() -> Self {
        Self::default()
    }

    /// Bytes received so far.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether nothing was received.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Whether every byte so far is white space.
    pub fn is_blank(&self) -> bool {
        self.buf.iter().all(u8::is_ascii_whitespace)
    }

    /// Takes more of the body. `Complete` once the list is whole (whatever follows).
    ///
    /// # Errors
    /// [`NotAScan`] when the frame is wrong.
    pub fn feed(&mut self, data: &[u8]) -> Result<Progress<Vec<ScanEntry>>, NotAScan> {
        if self.stage == Stage::Done {
            return Ok(Progress::Complete(self.entries.clone()));
        }
        self.brace_since_try |= data.iter().any(|b| matches!(b, b'}' | b',' | b']'));
        self.buf.extend_from_slice(data);
        self.advance(false)
    }

    /// The stream ended: what is there is all there is.
    ///
    /// # Errors
    /// [`NotAScan`] when the frame is wrong or cut short.
    pub fn finish(&mut self) -> Result<Vec<ScanEntry>, NotAScan> {
        match self.advance(true)? {
            Progress::Complete(entries) => Ok(entries),
            Progress::Partial => Err(NotAScan("truncated")),
        }
    }

    fn advance(&mut self, finished: bool) -> Result<Progress<Vec<ScanEntry>>, NotAScan> {
        loop {
            match self.stage {
                Stage::Done => return Ok(Progress::Complete(self.entries.clone())),
                Stage::Open => {
                    let mut cursor = Cursor::new(&self.buf, 0);
                    for token in [&b"{"[..], b"\"scans\"", b":", b"["] {
                        match cursor.literal(token) {
                            Step::Ok(()) => {}
                            Step::Incomplete => return Ok(Progress::Partial),
                            Step::Bad => return Err(NotAScan("not a scan list")),
                        }
                    }
                    self.stage = Stage::Item(cursor.pos);
                }
                Stage::Item(at) => {
                    let at = skip_space(&self.buf, at);
                    match self.buf.get(at) {
                        None => return Ok(Progress::Partial),
                        Some(b']') => self.stage = Stage::Close(at + 1),
                        Some(b'{') => {
                            if !finished
                                && !self.brace_since_try
                                && self.tried_at_len > 0
                                && self.buf.len() < at + ENTRY_CAP + 16
                            {
                                return Ok(Progress::Partial);
                            }
                            self.tried_at_len = self.buf.len();
                            self.brace_since_try = false;
                            match read_entry(&self.buf, at, finished) {
                                Step::Ok((entry, end)) => {
                                    self.entries.extend(entry);
                                    self.tried_at_len = 0;
                                    self.stage = Stage::Next(end);
                                }
                                Step::Incomplete => return Ok(Progress::Partial),
                                Step::Bad => {
                                    self.tried_at_len = 0;
                                    self.stage = Stage::Skip(at + 1);
                                }
                            }
                        }
                        Some(_) => self.stage = Stage::Skip(at),
                    }
                }
                Stage::Next(at) => {
                    let at = skip_space(&self.buf, at);
                    match self.buf.get(at) {
                        None => return Ok(Progress::Partial),
                        Some(b',') => self.stage = Stage::Item(at + 1),
                        Some(b']') => self.stage = Stage::Close(at + 1),
                        Some(_) => self.stage = Stage::Skip(at),
                    }
                }
                Stage::Skip(from) => match find_resync(&self.buf, from) {
                    Resync::Entry(at) => self.stage = Stage::Item(at),
                    Resync::End => self.stage = Stage::Done,
                    Resync::NotYet(next_from) => {
                        self.stage = Stage::Skip(next_from);
                        return Ok(Progress::Partial);
                    }
                },
                Stage::Close(at) => {
                    let at = skip_space(&self.buf, at);
                    match self.buf.get(at) {
                        None => return Ok(Progress::Partial),
                        Some(b'}') => self.stage = Stage::Done,
                        Some(_) => return Err(NotAScan("malformed end of list")),
                    }
                }
            }
        }
    }
}

const ENTRY_MARK: &[u8] = b"{\"ssid\":\"";

enum Resync {
    Entry(usize),
    End,
    /// Not found up to the end: resume the search here.
    NotYet(usize),
}

/// The next `{"ssid":"` or `]}` at or after `from`, in one forward pass.
fn find_resync(buf: &[u8], from: usize) -> Resync {
    let mut i = from;
    while i < buf.len() {
        match buf[i] {
            b'{' if buf[i..].starts_with(ENTRY_MARK) => return Resync::Entry(i),
            b'{' if ENTRY_MARK.starts_with(&buf[i..]) => return Resync::NotYet(i),
            b']' if buf.get(i + 1) == Some(&b'}') => return Resync::End,
            b']' if i + 1 == buf.len() => return Resync::NotYet(i),
            _ => i += 1,
        }
    }
    Resync::NotYet(i)
}

fn skip_space(buf: &[u8], mut at: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\r' | b'\n') = buf.get(at) {
        at += 1;
    }
    at
}

enum Step<T> {
    Ok(T),
    Incomplete,
    Bad,
}

struct Cursor<'a> {
    input: &'a [u8],
    pos: usize,
    /// Where the entry cap cuts the input (`input.len()` when it does not).
    limit: usize,
    /// The stream has ended: running out of bytes is final.
    finished: bool,
}

impl<'a> Cursor<'a> {
    fn new(input: &'a [u8], pos: usize) -> Self {
        Self {
            input,
            pos,
            limit: input.len(),
            finished: false,
        }
    }

    fn capped(input: &'a [u8], pos: usize, start: usize, finished: bool) -> Self {
        Self {
            input,
            pos,
            limit: input.len().min(start + ENTRY_CAP),
            finished,
        }
    }

    /// What running out of bytes at the limit means: more may come, or not (the cap was
    /// reached, or the stream ended).
    fn out(&self) -> Step<()> {
        if self.limit < self.input.len() || self.finished {
            Step::Bad
        } else {
            Step::Incomplete
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.pos = skip_space(self.input, self.pos);
        (self.pos < self.limit).then(|| self.input[self.pos])
    }

    /// Consumes `token` after optional white space.
    fn literal(&mut self, token: &[u8]) -> Step<()> {
        self.pos = skip_space(self.input, self.pos);
        let available = &self.input[self.pos.min(self.limit)..self.limit];
        let n = available.len().min(token.len());
        if available[..n] != token[..n] {
            return Step::Bad;
        }
        if n < token.len() {
            return self.out();
        }
        self.pos += token.len();
        Step::Ok(())
    }

    /// `"key":` — keys are short ASCII.
    fn key(&mut self) -> Step<Vec<u8>> {
        match self.peek() {
            None => return self.out().map(|()| Vec::new()),
            Some(b'"') => {}
            Some(_) => return Step::Bad,
        }
        let start = self.pos + 1;
        let window = &self.input[start.min(self.limit)..self.limit];
        let Some(len) = window.iter().take(17).position(|&b| b == b'"') else {
            return if window.len() < 17 {
                self.out().map(|()| Vec::new())
            } else {
                Step::Bad
            };
        };
        self.pos = start + len + 1;
        self.literal(b":")
            .map(|()| self.input[start..start + len].to_vec())
    }

    /// A field value: a whole number, or any other JSON value (ignored as `None`).
    fn value(&mut self) -> Step<Option<i64>> {
        self.pos = skip_space(self.input, self.pos);
        match read_value(&self.input[self.pos.min(self.limit)..self.limit]) {
            Ok(Progress::Complete((value, used))) => {
                self.pos += used;
                Step::Ok(value.as_i64())
            }
            Ok(Progress::Partial) => self.out().map(|()| None),
            Err(_) => Step::Bad,
        }
    }
}

impl<T> Step<T> {
    fn map<U>(self, f: impl FnOnce(T) -> U) -> Step<U> {
        match self {
            Step::Ok(value) => Step::Ok(f(value)),
            Step::Incomplete => Step::Incomplete,
            Step::Bad => Step::Bad,
        }
    }
}

/// An entry's fields as read so far.
#[derive(Clone, Default)]
struct Fields {
    rssi: Option<i64>,
    sec: Option<i64>,
    ch: Option<i64>,
    mdr: Option<i64>,
}

impl Fields {
    fn set(&mut self, key: &[u8], value: Option<i64>) -> Step<()> {
        match key {
            b"rssi" => self.rssi = value,
            b"sec" => self.sec = value,
            b"ch" => self.ch = value,
            b"mdr" => self.mdr = value,
            // A second name would make the entry say two things.
            b"ssid" => return Step::Bad,
            _ => {}
        }
        Step::Ok(())
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

/// Reads the entry starting at `start` (a `{`): the entry (or `None` for an unusable one) and
/// where it ends.
fn read_entry(buf: &[u8], start: usize, finished: bool) -> Step<(Option<ScanEntry>, usize)> {
    let mut cursor = Cursor::capped(buf, start + 1, start, finished);
    let mut fields = Fields::default();
    // Fields before the name (the device writes it first; other orders are read too).
    loop {
        match cursor.peek() {
            None => return cursor.out().map(|()| (None, 0)),
            Some(b'}') => {
                // No name at all: a hidden network, or not an entry.
                let end = cursor.pos + 1;
                return follows(buf, end, cursor.finished).map(|_| (None, end));
            }
            Some(b',') if cursor.pos > start + 1 => cursor.pos += 1,
            Some(_) => {}
        }
        let key = match cursor.key() {
            Step::Ok(key) => key,
            Step::Incomplete => return Step::Incomplete,
            Step::Bad => return Step::Bad,
        };
        if key == b"ssid" {
            return raw_ssid_readings(buf, start, cursor, fields);
        }
        match cursor.value() {
            Step::Ok(n) => {
                if let Step::Bad = fields.set(&key, n) {
                    return Step::Bad;
                }
            }
            Step::Incomplete => return Step::Incomplete,
            Step::Bad => return Step::Bad,
        }
    }
}

/// After `"ssid":`: every possible end of the raw name, each with the rest of the entry.
fn raw_ssid_readings(
    buf: &[u8],
    start: usize,
    mut cursor: Cursor<'_>,
    fields: Fields,
) -> Step<(Option<ScanEntry>, usize)> {
    match cursor.literal(b"\"") {
        Step::Ok(()) => {}
        Step::Incomplete => return Step::Incomplete,
        Step::Bad => return Step::Bad,
    }
    let name_start = cursor.pos;
    let window_end = cursor.limit.min(name_start + MAX_SSID + 1);
    // More quotes may still arrive within the name's 32 bytes.
    let window_open =
        window_end < name_start + MAX_SSID + 1 && cursor.limit == buf.len() && !cursor.finished;
    let mut incomplete = false;
    let mut readings: Vec<(Fields, usize, usize)> = Vec::new();
    let mut ends_list = false;
    for close in (name_start..window_end).filter(|&i| buf[i] == b'"') {
        match rest_of_entry(buf, start, close + 1, fields.clone(), cursor.finished) {
            Step::Ok((rest, end, last)) => {
                readings.push((rest, close, end));
                ends_list = last;
            }
            Step::Incomplete => incomplete = true,
            Step::Bad => {}
        }
    }
    // The list is whole after the longest reading: nothing the device writes comes later.
    if incomplete || (window_open && !ends_list) {
        return Step::Incomplete;
    }
    let doubtful = readings.len() > 1;
    // The firmware writes the name, then its fields: a crafted name can only put a false end
    // before the true one, so the longest reading is the name as the radio heard it.
    match readings.pop() {
        Some((rest, close, end)) => {
            Step::Ok((rest.into_entry(&buf[name_start..close], doubtful), end))
        }
        None => Step::Bad,
    }
}

/// The fields after the name, up to the entry's `}`, where the entry ends, and whether the
/// list ends right after it.
fn rest_of_entry(
    buf: &[u8],
    start: usize,
    at: usize,
    mut fields: Fields,
    finished: bool,
) -> Step<(Fields, usize, bool)> {
    let mut cursor = Cursor::capped(buf, at, start, finished);
    loop {
        match cursor.peek() {
            None => return cursor.out().map(|()| (Fields::default(), 0, false)),
            Some(b'}') => {
                let end = cursor.pos + 1;
                return follows(buf, end, finished).map(|last| (fields, end, last));
            }
            Some(b',') => cursor.pos += 1,
            Some(_) => return Step::Bad,
        }
        let key = match cursor.key() {
            Step::Ok(key) => key,
            Step::Incomplete => return Step::Incomplete,
            Step::Bad => return Step::Bad,
        };
        match cursor.value() {
            Step::Ok(n) => {
                if let Step::Bad = fields.set(&key, n) {
                    return Step::Bad;
                }
            }
            Step::Incomplete => return Step::Incomplete,
            Step::Bad => return Step::Bad,
        }
    }
}

/// What may follow an entry: `,` or `]`, after white space. `Ok(true)` when the list ends
/// there (`]` and `}`).
fn follows(buf: &[u8], at: usize, finished: bool) -> Step<bool> {
    let at = skip_space(buf, at);
    match buf.get(at) {
        None if finished => Step::Bad,
        None => Step::Incomplete,
        Some(b',') => Step::Ok(false),
        Some(b']') => Step::Ok(buf.get(skip_space(buf, at + 1)) == Some(&b'}')),
        Some(_) => Step::Bad,
    }
}

/// The networks to show: one per name (by bytes), the strongest access point kept (the device
/// lists one entry per access point, spec §4.3), strongest first, equal signals in the
/// device's order. Doubtful entries come after every clean one and never merge with one.
pub fn networks(entries: &[ScanEntry]) -> Vec<Network> {
    // Sorted by (doubtful, name, strongest first, first seen): each name's best entry leads
    // its run. O(n log n), whatever the device sends.
    let mut order: Vec<usize> = (0..entries.len()).collect();
    order.sort_by(|&a, &b| {
        let (x, y) = (&entries[a], &entries[b]);
        (x.doubtful, &x.ssid_bytes, core::cmp::Reverse(x.rssi), a).cmp(&(
            y.doubtful,
            &y.ssid_bytes,
            core::cmp::Reverse(y.rssi),
            b,
        ))
    });
    // Each name once: its strongest entry, placed where the name first appeared.
    let mut best: Vec<(usize, &ScanEntry)> = Vec::new();
    let mut previous: Option<&ScanEntry> = None;
    for &index in &order {
        let entry = &entries[index];
        let same_name = previous
            .is_some_and(|p| p.doubtful == entry.doubtful && p.ssid_bytes == entry.ssid_bytes);
        previous = Some(entry);
        match best.last_mut() {
            Some((first, _)) if same_name => *first = (*first).min(index),
            _ => best.push((index, entry)),
        }
    }
    best.sort_by_key(|&(first, e)| (e.doubtful, core::cmp::Reverse(e.rssi), first));
    best.into_iter()
        .map(|(_, e)| e)
        .map(|e| Network {
            ssid: e.ssid.clone(),
            rssi: e.rssi,
            security: e.security.to_string(),
            sec: e.security.value(),
            channel: e.channel,
            max_data_rate: e.max_data_rate,
            doubtful: e.doubtful,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(input: &[u8]) -> Vec<ScanEntry> {
        let mut reader = ScanReader::new();
        match reader.feed(input) {
            Ok(Progress::Complete(entries)) => entries,
            other => panic!("{other:?} for {:?}", String::from_utf8_lossy(input)),
        }
    }

    const TYPICAL: &[u8] = br#"{"scans":[{"ssid":"Home","rssi":-52,"sec":4194310,"ch":6,"mdr":216700},{"ssid":"Cafe","rssi":-80,"sec":0,"ch":11,"mdr":54000}]}"#;

    #[test]
    fn reads_a_typical_scan() {
        let entries = read(TYPICAL);
        assert_eq!(entries.len(), 2);
        let home = &entries[0];
        assert_eq!(
            (
                home.ssid.as_str(),
                home.rssi,
                home.channel,
                home.max_data_rate
            ),
            ("Home", -52, 6, 216700)
        );
        assert_eq!(home.security, Security::WPA2_MIXED_PSK);
        assert!(!home.doubtful);
    }

    #[test]
    fn every_prefix_is_partial_in_one_piece_and_byte_by_byte() {
        for end in 0..TYPICAL.len() {
            let mut reader = ScanReader::new();
            assert_eq!(
                reader.feed(&TYPICAL[..end]),
                Ok(Progress::Partial),
                "prefix {end}"
            );
        }
        let mut reader = ScanReader::new();
        for (i, byte) in TYPICAL.iter().enumerate() {
            let progress = reader.feed(&[*byte]).unwrap();
            assert_eq!(
                matches!(progress, Progress::Complete(_)),
                i == TYPICAL.len() - 1,
                "byte {i}"
            );
        }
    }

    #[test]
    fn a_finished_partial_body_is_truncated() {
        let mut reader = ScanReader::new();
        reader.feed(&TYPICAL[..40]).unwrap();
        assert_eq!(reader.finish(), Err(NotAScan("truncated")));
    }

    #[test]
    fn the_list_is_whole_at_its_end_whatever_follows() {
        let mut body = TYPICAL.to_vec();
        body.extend_from_slice(b"\r\ngarbage");
        assert_eq!(read(&body).len(), 2);
    }

    #[test]
    fn an_entry_is_not_retried_for_every_byte_until_a_brace_arrives() {
        // A long unknown field fed byte by byte still completes, and the entry is decided
        // only once its closing brace is there.
        let body = br#"{"scans":[{"ssid":"A","rssi":-1,"sec":0,"x":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}]}"#;
        let mut reader = ScanReader::new();
        let mut outcome = Progress::Partial;
        for byte in body {
            outcome = reader.feed(&[*byte]).unwrap();
        }
        assert!(matches!(outcome, Progress::Complete(ref e) if e.len() == 1));
    }

    #[test]
    fn networks_merge_by_name_keep_the_strongest_and_put_doubtful_ones_last() {
        let entry = |name: &str, rssi, doubtful| ScanEntry {
            ssid: name.into(),
            ssid_bytes: name.as_bytes().to_vec(),
            rssi,
            security: Security::OPEN,
            channel: 0,
            max_data_rate: 0,
            doubtful,
        };
        let list = networks(&[
            entry("Mesh", -80, false),
            entry("Spoof", -10, true),
            entry("Mesh", -45, false),
            entry("Mesh", -5, true),
            entry("Other", -60, false),
        ]);
        let names: Vec<(&str, i32, bool)> = list
            .iter()
            .map(|n| (n.ssid.as_str(), n.rssi, n.doubtful))
            .collect();
        assert_eq!(
            names,
            [
                ("Mesh", -45, false),
                ("Other", -60, false),
                ("Mesh", -5, true),
                ("Spoof", -10, true)
            ]
        );
    }
}
