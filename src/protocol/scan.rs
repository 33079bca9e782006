//! The `scan-ap` reply, read by a parser that survives what the device really sends.
//!
//! The device writes SSIDs raw, without JSON escaping (spec §4.3): an SSID with `"`, `\`,
//! control or non-UTF-8 bytes makes the reply invalid JSON. This parser knows the reply's
//! shape instead: an SSID ends at the first `"` followed by the next field (`,"rssi":` ...)
//! or the end of its entry, and an entry it cannot read is skipped, not the whole list.

use serde::Serialize;

use crate::protocol::json::{read_value, Progress};
use crate::protocol::security::Security;

/// One network in the device's scan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScanEntry {
    /// The name for display (invalid UTF-8 replaced by U+FFFD).
    pub ssid: String,
    /// The name's bytes exactly as the device sent them.
    #[serde(skip)]
    pub ssid_bytes: Vec<u8>,
    /// Signal strength in dBm.
    pub rssi: i32,
    /// The raw security value.
    #[serde(skip)]
    pub security: Security,
    /// Channel.
    pub channel: u32,
    /// Maximum data rate in kbit/s.
    pub max_data_rate: u32,
}

/// Field names the device writes in an entry, in its order.
const FIELDS: [&[u8]; 5] = [b"ssid", b"rssi", b"sec", b"ch", b"mdr"];

/// Reads a prefix of a `scan-ap` body.
///
/// # Errors
/// A few words on why, when the reply is not a scan at all (its frame is wrong). Broken
/// entries inside a good frame are skipped.
pub(crate) fn read_scan(input: &[u8]) -> Result<Progress<Vec<ScanEntry>>, &'static str> {
    let mut cursor = Cursor { input, pos: 0 };
    for token in [&b"{"[..], b"\"scans\"", b":", b"["] {
        match cursor.literal(token) {
            Step::Ok(()) => {}
            Step::Incomplete => return Ok(Progress::Partial),
            Step::Bad => return Err("not a scan list"),
        }
    }
    let mut entries = Vec::new();
    loop {
        cursor.skip_space();
        let Some(&byte) = input.get(cursor.pos) else {
            return Ok(Progress::Partial);
        };
        match byte {
            b']' => {
                cursor.pos += 1;
                return match cursor.literal(b"}") {
                    Step::Ok(()) => Ok(Progress::Complete(entries)),
                    Step::Incomplete => Ok(Progress::Partial),
                    Step::Bad => Err("not a scan list"),
                };
            }
            b',' => cursor.pos += 1,
            b'{' => match entry(input, cursor.pos) {
                Step::Ok((found, end)) => {
                    entries.extend(found);
                    cursor.pos = end;
                }
                Step::Incomplete => return Ok(Progress::Partial),
                Step::Bad => match resync(input, cursor.pos + 1) {
                    Some(next) => cursor.pos = next,
                    None => return Ok(Progress::Partial),
                },
            },
            _ => match resync(input, cursor.pos) {
                Some(next) => cursor.pos = next,
                None => return Ok(Progress::Partial),
            },
        }
    }
}

/// The start of the next entry, or of the closing `]}`, after an unreadable entry.
fn resync(input: &[u8], from: usize) -> Option<usize> {
    let rest = input.get(from..)?;
    let next_entry = find(rest, b"{\"ssid\":\"");
    let end = find(rest, b"]}");
    match (next_entry, end) {
        (Some(a), Some(b)) => Some(from + a.min(b)),
        (Some(a), None) | (None, Some(a)) => Some(from + a),
        (None, None) => None,
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

enum Step<T> {
    Ok(T),
    Incomplete,
    Bad,
}

struct Cursor<'a> {
    input: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn skip_space(&mut self) {
        while let Some(b' ' | b'\t' | b'\r' | b'\n') = self.input.get(self.pos) {
            self.pos += 1;
        }
    }

    /// Consumes `token` after optional white space.
    fn literal(&mut self, token: &[u8]) -> Step<()> {
        self.skip_space();
        let available = &self.input[self.pos.min(self.input.len())..];
        let n = available.len().min(token.len());
        if available[..n] != token[..n] {
            return Step::Bad;
        }
        if n < token.len() {
            return Step::Incomplete;
        }
        self.pos += token.len();
        Step::Ok(())
    }
}

/// An entry's fields as read so far.
#[derive(Default)]
struct Fields {
    ssid: Option<Vec<u8>>,
    rssi: Option<i64>,
    sec: Option<i64>,
    ch: Option<i64>,
    mdr: Option<i64>,
}

/// Reads the entry starting at `start` (a `{`). `Ok(None)` for a well-formed entry that is
/// no usable network (hidden, impossible values).
fn entry(input: &[u8], start: usize) -> Step<(Option<ScanEntry>, usize)> {
    let mut cursor = Cursor {
        input,
        pos: start + 1,
    };
    let mut fields = Fields::default();
    loop {
        cursor.skip_space();
        match input.get(cursor.pos) {
            None => return Step::Incomplete,
            Some(b'}') => return Step::Ok((fields.into_entry(), cursor.pos + 1)),
            Some(b',') if cursor.pos > start + 1 => cursor.pos += 1,
            Some(_) => {}
        }
        cursor.skip_space();
        let key = match key(&mut cursor) {
            Step::Ok(key) => key,
            Step::Incomplete => return Step::Incomplete,
            Step::Bad => return Step::Bad,
        };
        if key == b"ssid" {
            // The raw SSID: try each plausible end until the rest of the entry reads.
            return raw_ssid_then_rest(input, cursor.pos, fields);
        }
        match value(&mut cursor) {
            Step::Ok(n) => fields.set(&key, n),
            Step::Incomplete => return Step::Incomplete,
            Step::Bad => return Step::Bad,
        }
    }
}

impl Fields {
    fn set(&mut self, key: &[u8], value: Option<i64>) {
        match key {
            b"rssi" => self.rssi = value,
            b"sec" => self.sec = value,
            b"ch" => self.ch = value,
            b"mdr" => self.mdr = value,
            _ => {}
        }
    }

    fn into_entry(self) -> Option<ScanEntry> {
        let ssid_bytes = self.ssid.filter(|s| !s.is_empty())?;
        let rssi = i32::try_from(self.rssi?)
            .ok()
            .filter(|r| (-128..=0).contains(r))?;
        let security = Security::from_value(self.sec?)?;
        Some(ScanEntry {
            ssid: String::from_utf8_lossy(&ssid_bytes).into_owned(),
            ssid_bytes,
            rssi,
            security,
            channel: self.ch.and_then(|c| u32::try_from(c).ok()).unwrap_or(0),
            max_data_rate: self.mdr.and_then(|m| u32::try_from(m).ok()).unwrap_or(0),
        })
    }
}

/// `"name":` — keys are plain ASCII.
fn key(cursor: &mut Cursor<'_>) -> Step<Vec<u8>> {
    let input = cursor.input;
    match input.get(cursor.pos) {
        None => return Step::Incomplete,
        Some(b'"') => {}
        Some(_) => return Step::Bad,
    }
    let start = cursor.pos + 1;
    let Some(len) = input[start..].iter().take(16).position(|&b| b == b'"') else {
        return if input.len() - start < 16 {
            Step::Incomplete
        } else {
            Step::Bad
        };
    };
    cursor.pos = start + len + 1;
    match cursor.literal(b":") {
        Step::Ok(()) => Step::Ok(input[start..start + len].to_vec()),
        Step::Incomplete => Step::Incomplete,
        Step::Bad => Step::Bad,
    }
}

/// A field value: a whole number, or any other JSON value (ignored as `None`).
fn value(cursor: &mut Cursor<'_>) -> Step<Option<i64>> {
    cursor.skip_space();
    match read_value(&cursor.input[cursor.pos..]) {
        Ok(Progress::Complete((value, used))) => {
            cursor.pos += used;
            Step::Ok(value.as_i64())
        }
        Ok(Progress::Partial) => Step::Incomplete,
        Err(_) => Step::Bad,
    }
}

/// After `"ssid":`, the raw string and the rest of the entry.
fn raw_ssid_then_rest(input: &[u8], at: usize, fields: Fields) -> Step<(Option<ScanEntry>, usize)> {
    let mut cursor = Cursor { input, pos: at };
    match cursor.literal(b"\"") {
        Step::Ok(()) => {}
        Step::Incomplete => return Step::Incomplete,
        Step::Bad => return Step::Bad,
    }
    let start = cursor.pos;
    // The device's SSID buffer holds at most 32 bytes: a closing quote lies within 32 bytes
    // of the opening one, which also keeps a broken entry from swallowing the next ones.
    let window = &input[start..input.len().min(start + 33)];
    for (offset, _) in window.iter().enumerate().filter(|(_, &b)| b == b'"') {
        let close = start + offset;
        let parsed = match ends_string(input, close + 1) {
            Step::Ok(()) => {
                let with_ssid = Fields {
                    ssid: Some(input[start..close].to_vec()),
                    ..fields_copy(&fields)
                };
                // An SSID may contain what looks like the end of its entry: the true end is
                // the one after which the list goes on.
                match rest_of_entry(input, close + 1, with_ssid) {
                    Step::Ok(done) => follows_entry(input, done.1).map(|()| done),
                    other => other,
                }
            }
            Step::Incomplete => Step::Incomplete,
            Step::Bad => Step::Bad,
        };
        match parsed {
            Step::Ok(done) => return Step::Ok(done),
            Step::Incomplete => return Step::Incomplete,
            Step::Bad => continue,
        }
    }
    if window.len() < 33 {
        Step::Incomplete
    } else {
        Step::Bad
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

/// What may follow an entry: the next one, or the end of the list.
fn follows_entry(input: &[u8], at: usize) -> Step<()> {
    let rest = &input[at.min(input.len())..];
    match rest.iter().find(|b| !b" \t\r\n".contains(b)) {
        None => Step::Incomplete,
        Some(b',' | b']') => Step::Ok(()),
        Some(_) => Step::Bad,
    }
}

fn fields_copy(fields: &Fields) -> Fields {
    Fields {
        ssid: fields.ssid.clone(),
        ..*fields
    }
}

/// Whether the `"` before `at` can close a string: the next known field or the entry's end
/// must follow.
fn ends_string(input: &[u8], at: usize) -> Step<()> {
    let mut cursor = Cursor {
        input,
        pos: at.min(input.len()),
    };
    cursor.skip_space();
    match input.get(cursor.pos) {
        None => return Step::Incomplete,
        Some(b'}') => return Step::Ok(()),
        Some(b',') => cursor.pos += 1,
        Some(_) => return Step::Bad,
    }
    cursor.skip_space();
    let rest = &input[cursor.pos..];
    let mut incomplete = false;
    for field in FIELDS {
        let quoted = [&b"\""[..], field, b"\""].concat();
        let n = rest.len().min(quoted.len());
        if rest[..n] == quoted[..n] {
            if n < quoted.len() {
                incomplete = true;
                continue;
            }
            let mut after = Cursor {
                input,
                pos: cursor.pos + quoted.len(),
            };
            return after.literal(b":");
        }
    }
    if incomplete {
        Step::Incomplete
    } else {
        Step::Bad
    }
}

fn rest_of_entry(input: &[u8], at: usize, mut fields: Fields) -> Step<(Option<ScanEntry>, usize)> {
    let mut cursor = Cursor { input, pos: at };
    loop {
        cursor.skip_space();
        match input.get(cursor.pos) {
            None => return Step::Incomplete,
            Some(b'}') => return Step::Ok((fields.into_entry(), cursor.pos + 1)),
            Some(b',') => cursor.pos += 1,
            Some(_) => return Step::Bad,
        }
        cursor.skip_space();
        let key = match key(&mut cursor) {
            Step::Ok(key) => key,
            Step::Incomplete => return Step::Incomplete,
            Step::Bad => return Step::Bad,
        };
        match value(&mut cursor) {
            Step::Ok(n) => fields.set(&key, n),
            Step::Incomplete => return Step::Incomplete,
            Step::Bad => return Step::Bad,
        }
    }
}

/// One entry per network name, the strongest signal kept, strongest first (the device lists
/// one entry per access point, spec §4.3). Ties keep the device's order.
pub fn networks(mut entries: Vec<ScanEntry>) -> Vec<ScanEntry> {
    entries.sort_by_key(|e| core::cmp::Reverse(e.rssi));
    let mut seen: Vec<Vec<u8>> = Vec::new();
    entries.retain(|e| {
        if seen.contains(&e.ssid_bytes) {
            false
        } else {
            seen.push(e.ssid_bytes.clone());
            true
        }
    });
    entries
}

#[cfg(test)]
mod tests {
    use super::*;

    fn complete(input: &[u8]) -> Vec<ScanEntry> {
        match read_scan(input) {
            Ok(Progress::Complete(entries)) => entries,
            other => panic!("{other:?} for {:?}", String::from_utf8_lossy(input)),
        }
    }

    fn names(entries: &[ScanEntry]) -> Vec<&[u8]> {
        entries.iter().map(|e| e.ssid_bytes.as_slice()).collect()
    }

    const TYPICAL: &[u8] = br#"{"scans":[{"ssid":"Home","rssi":-52,"sec":4194310,"ch":6,"mdr":216700},{"ssid":"Cafe","rssi":-80,"sec":0,"ch":11,"mdr":54000}]}"#;

    #[test]
    fn reads_a_typical_scan() {
        let entries = complete(TYPICAL);
        assert_eq!(names(&entries), [&b"Home"[..], b"Cafe"]);
        let home = &entries[0];
        assert_eq!(
            (home.rssi, home.channel, home.max_data_rate),
            (-52, 6, 216700)
        );
        assert_eq!(home.security, Security::WPA2_MIXED_PSK);
        assert_eq!(complete(br#"{"scans":[]}"#), vec![]);
    }

    #[test]
    fn every_prefix_is_partial() {
        for end in 0..TYPICAL.len() {
            match read_scan(&TYPICAL[..end]) {
                Ok(Progress::Partial) => {}
                other => panic!("prefix {end}: {other:?}"),
            }
        }
    }

    #[test]
    fn survives_raw_quotes_backslashes_control_and_non_utf8_bytes() {
        let mut body = b"{\"scans\":[".to_vec();
        let hostile: [&[u8]; 7] = [
            b"Bob\"s \"net\"",
            b"C:\\path\\",
            b"tab\there\nnl",
            b"\xff\xfe latin1 \xe9",
            b"a\",\"rssi\":-1}",
            b"}]}",
            b"ends with quote\"",
        ];
        for (i, ssid) in hostile.iter().enumerate() {
            if i > 0 {
                body.push(b',');
            }
            body.extend_from_slice(b"{\"ssid\":\"");
            body.extend_from_slice(ssid);
            body.extend_from_slice(
                format!(
                    "\",\"rssi\":-{},\"sec\":4194308,\"ch\":1,\"mdr\":1000}}",
                    40 + i
                )
                .as_bytes(),
            );
        }
        body.extend_from_slice(
            b",{\"ssid\":\"Normal\",\"rssi\":-90,\"sec\":0,\"ch\":1,\"mdr\":1}]}",
        );
        let entries = complete(&body);
        let mut expected: Vec<&[u8]> = hostile.to_vec();
        expected.push(b"Normal");
        assert_eq!(names(&entries), expected);
        assert_eq!(entries[3].ssid, "\u{fffd}\u{fffd} latin1 \u{fffd}");
        assert_eq!(
            entries[4].rssi, -44,
            "an SSID that looks like a field still reads whole"
        );
    }

    #[test]
    fn skips_a_broken_entry_and_keeps_the_others() {
        let body = br#"{"scans":[{"ssid":"Good1","rssi":-50,"sec":0,"ch":1,"mdr":1},{"ssid":"Broken","rssi":oops,"sec":0},{"ssid":"Good2","rssi":-60,"sec":0,"ch":1,"mdr":1}]}"#;
        assert_eq!(names(&complete(body)), [&b"Good1"[..], b"Good2"]);
        let garbage_between = br#"{"scans":[{"ssid":"A","rssi":-50,"sec":0,"ch":1,"mdr":1},xx,{"ssid":"B","rssi":-60,"sec":0,"ch":1,"mdr":1}]}"#;
        assert_eq!(names(&complete(garbage_between)), [&b"A"[..], b"B"]);
    }

    #[test]
    fn hidden_and_impossible_entries_are_dropped() {
        let body = br#"{"scans":[{"ssid":"","rssi":-50,"sec":0,"ch":1,"mdr":1},{"ssid":"NoRssi","sec":0},{"ssid":"Weak","rssi":-200,"sec":0},{"ssid":"BadSec","rssi":-50,"sec":-7},{"ssid":"Ok","rssi":-50,"sec":-1}]}"#;
        let entries = complete(body);
        assert_eq!(names(&entries), [&b"Ok"[..]]);
        assert_eq!(entries[0].security, Security::UNKNOWN);
    }

    #[test]
    fn tolerates_white_space_field_order_and_unknown_fields() {
        let body = b"\n\n{ \"scans\" : [ { \"rssi\" : -70 , \"sec\":2, \"extra\":[1,{}], \"ssid\":\"Late\" } ] }";
        let entries = complete(body);
        assert_eq!(names(&entries), [&b"Late"[..]]);
        assert_eq!((entries[0].rssi, entries[0].channel), (-70, 0));
    }

    #[test]
    fn refuses_what_is_not_a_scan() {
        assert!(read_scan(b"{\"r\":0}").is_err());
        assert!(read_scan(b"<html>").is_err());
        assert!(read_scan(b"{\"scans\":[]]").is_err());
    }

    #[test]
    fn networks_deduplicate_by_name_keeping_the_strongest_and_sort_by_signal() {
        let body = br#"{"scans":[{"ssid":"Mesh","rssi":-80,"sec":4194310,"ch":1,"mdr":1},{"ssid":"Other","rssi":-60,"sec":0,"ch":6,"mdr":1},{"ssid":"Mesh","rssi":-45,"sec":4194310,"ch":11,"mdr":1},{"ssid":"Mesh","rssi":-90,"sec":4194310,"ch":6,"mdr":1}]}"#;
        let list = networks(complete(body));
        assert_eq!(names(&list), [&b"Mesh"[..], b"Other"]);
        assert_eq!((list[0].rssi, list[0].channel), (-45, 11));
    }
}
