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
//! The work is linear in the reply: each byte of an entry is looked at once by each of its
//! readings ([`entry`]), so the outcome is the same however the body is cut into pieces.

mod entry;
mod value;

use serde::Serialize;

use crate::protocol::command::Command;
use crate::protocol::json::Progress;
use crate::protocol::policy;
use crate::protocol::security::Security;
pub use entry::ENTRY_CAP;
use entry::{Decision, EntryReader};

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
}

#[derive(Debug, Default)]
enum Stage {
    /// Before `{"scans":[`.
    #[default]
    Open,
    /// At an entry or the list's end.
    Item(usize),
    /// Inside an entry.
    Entry(EntryReader),
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
        self.buf.iter().all(crate::protocol::json::is_space)
    }

    /// Takes more of the body. `Complete` once the list is whole (whatever follows). At most
    /// the scan's reply cap is read ([`policy::reply_cap`]): a list not whole by then is refused.
    ///
    /// # Errors
    /// [`NotAScan`] when the frame is wrong or the list runs past the cap.
    pub fn feed(&mut self, data: &[u8]) -> Result<Progress<Vec<ScanEntry>>, NotAScan> {
        let cap = policy::reply_cap(Command::ScanAp);
        let room = cap.saturating_sub(self.buf.len());
        if !matches!(self.stage, Stage::Done) {
            self.buf.extend_from_slice(&data[..data.len().min(room)]);
        }
        match self.advance(false)? {
            Progress::Partial if data.len() > room => Err(NotAScan("reply too long")),
            progress => Ok(progress),
        }
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
        let buf = &self.buf;
        loop {
            self.stage = match &mut self.stage {
                Stage::Done => return Ok(Progress::Complete(self.entries.clone())),
                Stage::Open => match open_list(buf) {
                    Some(Ok(at)) => Stage::Item(at),
                    Some(Err(e)) => return Err(e),
                    None if finished => return Err(NotAScan("truncated")),
                    None => return Ok(Progress::Partial),
                },
                Stage::Item(at) => {
                    let at = skip_space(buf, *at);
                    match buf.get(at) {
                        None => return Ok(Progress::Partial),
                        Some(b']') => Stage::Close(at + 1),
                        Some(b'{') => Stage::Entry(EntryReader::new(at)),
                        Some(_) => Stage::Skip(at),
                    }
                }
                Stage::Entry(reader) => match reader.advance(buf, finished) {
                    None => return Ok(Progress::Partial),
                    Some(Decision::Entry(entry, end)) => {
                        self.entries.extend(entry);
                        Stage::Next(end)
                    }
                    Some(Decision::Skip) => Stage::Skip(reader.start() + 1),
                },
                Stage::Next(at) => {
                    let at = skip_space(buf, *at);
                    match buf.get(at) {
                        None => return Ok(Progress::Partial),
                        Some(b',') => Stage::Item(at + 1),
                        Some(b']') => Stage::Close(at + 1),
                        Some(_) => Stage::Skip(at),
                    }
                }
                Stage::Skip(from) => match find_resync(buf, *from) {
                    Resync::Entry(at) => Stage::Item(at),
                    Resync::End => Stage::Done,
                    Resync::NotYet(next_from) => {
                        *from = next_from;
                        return Ok(Progress::Partial);
                    }
                },
                Stage::Close(at) => {
                    let at = skip_space(buf, *at);
                    match buf.get(at) {
                        None => return Ok(Progress::Partial),
                        Some(b'}') => Stage::Done,
                        Some(_) => return Err(NotAScan("malformed end of list")),
                    }
                }
            };
        }
    }
}

/// `{"scans":[`, white space allowed between its tokens: where the list's items start, or
/// `None` while it is still arriving.
fn open_list(buf: &[u8]) -> Option<Result<usize, NotAScan>> {
    let mut at = 0;
    for token in [&b"{"[..], b"\"scans\"", b":", b"["] {
        at = skip_space(buf, at);
        let available = &buf[at.min(buf.len())..];
        let n = available.len().min(token.len());
        if available[..n] != token[..n] {
            return Some(Err(NotAScan("not a scan list")));
        }
        if n < token.len() {
            return None;
        }
        at += token.len();
    }
    Some(Ok(at))
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
    fn a_long_unknown_field_fed_byte_by_byte_completes() {
        let body = br#"{"scans":[{"ssid":"A","rssi":-1,"sec":0,"x":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}]}"#;
        let mut reader = ScanReader::new();
        let mut outcome = Progress::Partial;
        for byte in body {
            outcome = reader.feed(&[*byte]).unwrap();
        }
        assert!(matches!(outcome, Progress::Complete(ref e) if e.len() == 1));
    }

    type Fed = Result<Progress<Vec<ScanEntry>>, NotAScan>;
    type Finished = Result<Vec<ScanEntry>, NotAScan>;

    /// The outcome after every byte fed in pieces of `piece` bytes, then at the end.
    fn outcome(body: &[u8], piece: usize) -> (Fed, Finished) {
        let mut reader = ScanReader::new();
        let mut progress = Ok(Progress::Partial);
        for chunk in body.chunks(piece) {
            progress = reader.feed(chunk);
            if !matches!(progress, Ok(Progress::Partial)) {
                break;
            }
        }
        (progress, reader.finish())
    }

    #[test]
    fn a_reader_used_on_its_own_stops_at_the_cap() {
        let mut reader = ScanReader::new();
        assert_eq!(reader.feed(b"{\"scans\":["), Ok(Progress::Partial));
        let flood = vec![b'x'; 1 << 20];
        assert_eq!(reader.feed(&flood), Err(NotAScan("reply too long")));
        assert_eq!(reader.len(), policy::reply_cap(Command::ScanAp));
    }

    #[test]
    fn the_outcome_does_not_depend_on_where_the_body_is_cut() {
        let mut fuzzed = b"{\"scans\":[{\"ssid\":\"A*,\"rss\0\":-50,\xf1sec\":0,\"ch\"]}".to_vec();
        fuzzed.extend_from_slice(&[0xff; 120]);
        let bodies: [&[u8]; 6] = [
            // Found by fuzzing: a list end inside an entry whose window closes on bytes that
            // cannot end an entry.
            &fuzzed,
            br#"{"scans":[{"ssid":"]}","rssi":-5x########################################"#,
            br#"{"scans":[{"ssid":"a","b":1}]}","rssi":-5,"sec":0}]}"#,
            br#"{"scans":[{"ssid":"x","k":"v","k":"v","rssi":-5,"sec":0,"n":[1,{"a":"}]"}]},{"ssid":"y"}]}"#,
            br#"{"scans":[{"rssi":-5,"sec":0,"ssid":"z" ,"ch":1} ] }"#,
            TYPICAL,
        ];
        for body in bodies {
            let whole = outcome(body, body.len());
            for piece in 1..=17 {
                assert_eq!(
                    outcome(body, piece),
                    whole,
                    "{:?} in pieces of {piece}",
                    String::from_utf8_lossy(body)
                );
            }
        }
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
