//! Replies: the bytes of a response body turned into typed values or typed errors, as they
//! arrive.
//!
//! A [`ReplyReader`] takes the body piece by piece and says [`Progress::Partial`] until a whole
//! JSON value is there, so a caller can stop reading a 0.6 body that never ends (spec §3.2.4).
//! Every command's reply has a size cap ([`policy::reply_cap`]): a device that floods is
//! refused at the cap, and the work stays linear in what arrived. [`ReplyReader::finish`] says
//! the stream has ended: only then is an empty body the device's rejection (spec §8) and a
//! partial one a truncation.

use serde::Serialize;

use crate::protocol::command::Command;
use crate::protocol::error::Error;
use crate::protocol::json::{self, read_value, Progress, Value};
use crate::protocol::key::DeviceKey;
use crate::protocol::policy;
use crate::protocol::scan::{ScanEntry, ScanReader};

/// What `device-id` says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DeviceInfo {
    /// The 24-hex-digit device id, lower case as the cloud API wants it.
    pub id: String,
    /// Whether the device believes it is claimed.
    pub claimed: bool,
}

/// A reply, typed by its command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// `version`: the protocol version.
    Version(u32),
    /// `device-id`.
    DeviceId(DeviceInfo),
    /// `public-key`.
    PublicKey(DeviceKey),
    /// `scan-ap`: every entry as the device listed it; see [`crate::protocol::scan::networks`].
    ScanAp(Vec<ScanEntry>),
    /// `set`, `configure-ap`, `connect-ap`: `{"r":0}`.
    Ok,
}

/// Reads one reply as its bytes arrive.
#[derive(Debug)]
pub struct ReplyReader {
    command: Command,
    received: usize,
    body: Body,
}

#[derive(Debug)]
enum Body {
    Scan(ScanReader),
    Value(Vec<u8>),
}

impl ReplyReader {
    /// A reader for `command`'s reply.
    pub fn new(command: Command) -> Self {
        let body = match command {
            Command::ScanAp => Body::Scan(ScanReader::new()),
            _ => Body::Value(Vec::new()),
        };
        Self {
            command,
            received: 0,
            body,
        }
    }

    /// Bytes received so far.
    pub fn received(&self) -> usize {
        self.received
    }

    /// Takes more of the body: `Complete` at the first whole reply, whatever follows.
    ///
    /// # Errors
    /// [`Error::InvalidResponse`] for bytes that are not the reply or past the cap, the
    /// command's own errors for `r` ≠ 0.
    pub fn feed(&mut self, data: &[u8]) -> Result<Progress<Reply>, Error> {
        // Only the cap's worth is read, so the outcome is the same however the bytes were cut:
        // a reply that is whole (or wrong) within the cap counts as such, whatever follows.
        let room = policy::reply_cap(self.command).saturating_sub(self.received);
        let within = &data[..data.len().min(room)];
        self.received = self.received.saturating_add(data.len());
        let progress = match &mut self.body {
            Body::Scan(reader) => match reader.feed(within) {
                Ok(Progress::Complete(entries)) => Progress::Complete(Reply::ScanAp(entries)),
                Ok(Progress::Partial) => Progress::Partial,
                Err(e) => return Err(self.invalid(e.0)),
            },
            Body::Value(buffer) => {
                buffer.extend_from_slice(within);
                // Read again from the start: a value reply is at most a few KB (its cap).
                self.read_value(false)?
            }
        };
        if progress == Progress::Partial && self.received > policy::reply_cap(self.command) {
            return Err(self.invalid("reply too long"));
        }
        Ok(progress)
    }

    /// The stream ended after what was fed.
    ///
    /// # Errors
    /// [`Error::RequestIgnored`] for an empty body, [`Error::InvalidResponse`] for a
    /// truncated or wrong one, the command's own errors for `r` ≠ 0.
    pub fn finish(&mut self) -> Result<Reply, Error> {
        let command = self.command;
        match &mut self.body {
            Body::Scan(reader) if reader.is_blank() => Err(Error::RequestIgnored { command }),
            Body::Scan(reader) => {
                reader
                    .finish()
                    .map(Reply::ScanAp)
                    .map_err(|e| Error::InvalidResponse {
                        command,
                        reason: e.0,
                    })
            }
            Body::Value(buffer) if buffer.iter().all(json::is_space) => {
                Err(Error::RequestIgnored { command })
            }
            Body::Value(_) => match self.read_value(true)? {
                Progress::Complete(reply) => Ok(reply),
                Progress::Partial => Err(self.invalid("truncated")),
            },
        }
    }

    fn invalid(&self, reason: &'static str) -> Error {
        Error::InvalidResponse {
            command: self.command,
            reason,
        }
    }

    fn read_value(&self, finished: bool) -> Result<Progress<Reply>, Error> {
        let Body::Value(buffer) = &self.body else {
            return Ok(Progress::Partial);
        };
        // Every reply is an object: one that begins otherwise is wrong however it goes on.
        if buffer
            .iter()
            .find(|b| !json::is_space(b))
            .is_some_and(|&b| b != b'{')
        {
            return Err(self.invalid("not an object"));
        }
        let value = match read_value(buffer).map_err(|m| self.invalid(m.0))? {
            Progress::Complete((value, _)) => value,
            Progress::Partial if finished => return Err(self.invalid("truncated")),
            Progress::Partial => return Ok(Progress::Partial),
        };
        if !matches!(value, Value::Object(_)) {
            return Err(self.invalid("not an object"));
        }
        interpret(self.command, &value).map(Progress::Complete)
    }
}

/// Reads a whole body at once: [`ReplyReader`] fed once, then finished if `finished`.
///
/// # Errors
/// As [`ReplyReader::feed`] and [`ReplyReader::finish`].
pub fn read_reply(command: Command, body: &[u8], finished: bool) -> Result<Progress<Reply>, Error> {
    let mut reader = ReplyReader::new(command);
    match reader.feed(body)? {
        Progress::Complete(reply) => Ok(Progress::Complete(reply)),
        Progress::Partial if finished => reader.finish().map(Progress::Complete),
        Progress::Partial => Ok(Progress::Partial),
    }
}

fn interpret(command: Command, value: &Value) -> Result<Reply, Error> {
    let invalid = |reason| Error::InvalidResponse { command, reason };
    // A whole number a JS client reads exactly too (the device page reads the same replies).
    const SAFE: u64 = (1 << 53) - 1;
    let code = || {
        value
            .get("r")
            .and_then(Value::as_i64)
            .filter(|r| r.unsigned_abs() <= SAFE)
            .ok_or(invalid("no result code"))
    };
    match command {
        Command::Version => {
            let v = value
                .get("v")
                .and_then(Value::as_i64)
                .ok_or(invalid("no version"))?;
            u32::try_from(v)
                .map(Reply::Version)
                .map_err(|_| invalid("bad version"))
        }
        Command::DeviceId => {
            let id = value
                .get("id")
                .and_then(Value::as_bytes)
                .ok_or(invalid("no id"))?;
            if id.len() != 24 || !id.iter().all(u8::is_ascii_hexdigit) {
                return Err(invalid("id is not 24 hex digits"));
            }
            let claimed = match value.get("c") {
                Some(Value::String(c)) if c == b"1" => true,
                Some(Value::String(c)) if c == b"0" => false,
                // Particle's own emulator sends a boolean; accept it too.
                Some(Value::Bool(c)) => *c,
                _ => return Err(invalid("claimed flag is not \"0\" or \"1\"")),
            };
            let id = String::from_utf8_lossy(id).to_ascii_lowercase();
            Ok(Reply::DeviceId(DeviceInfo { id, claimed }))
        }
        Command::PublicKey => {
            if code()? != 0 {
                return Err(Error::PublicKeyUnavailable);
            }
            let b = value
                .get("b")
                .and_then(Value::as_bytes)
                .ok_or(invalid("no key"))?;
            let hex = std::str::from_utf8(b).map_err(|_| invalid("key is not text"))?;
            DeviceKey::from_device_hex(hex).map(Reply::PublicKey)
        }
        Command::ScanAp => Err(invalid("not a scan list")),
        Command::Set => match code()? {
            0 => Ok(Reply::Ok),
            -1 => Err(Error::ClaimCodeRejected),
            r if r > 0 => Err(Error::StorageFailed { command, code: r }),
            r => Err(Error::DeviceError { command, code: r }),
        },
        Command::ConfigureAp => match code()? {
            0 => Ok(Reply::Ok),
            -2 => Err(Error::NetworkNotFound),
            -3 => Err(Error::DeviceRejectedSsid),
            -4 => Err(Error::DeviceRejectedPassword),
            1 => Err(Error::EnterpriseRejected),
            r if r > 1 => Err(Error::StorageFailed { command, code: r }),
            // mbedTLS / tropicssl RSA error codes, negated (spec §4.6)
            r if r < -4 => Err(Error::DecryptionFailed { code: r }),
            r => Err(Error::DeviceError { command, code: r }),
        },
        Command::ConnectAp => match code()? {
            0 => Ok(Reply::Ok),
            r => Err(Error::DeviceError { command, code: r }),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::key::tests::device_blob_hex;
    use crate::protocol::security::Security;

    /// What a reader says after `body` in pieces of `piece` bytes, and then at the end.
    fn cut(command: Command, body: &[u8], piece: usize) -> String {
        let mut reader = ReplyReader::new(command);
        for chunk in body.chunks(piece) {
            match reader.feed(chunk) {
                Ok(Progress::Partial) => {}
                other => return format!("{other:?}"),
            }
        }
        format!("{:?}", reader.finish())
    }

    #[test]
    fn what_goes_wrong_within_the_cap_is_said_however_the_body_is_cut() {
        // Found by fuzzing: a reply wrong early and longer than its cap was "too long" when it
        // came in one piece and "missing colon" in small ones.
        let mut body = br#"{"scans":[{"ssid":"A","rssi":-50,"sec":0,"ch":1,"mdr"i":-60"#.to_vec();
        body.extend_from_slice(&[b'M'; 240]);
        let whole = cut(Command::Version, &body, body.len());
        assert!(whole.contains("missing colon"), "{whole}");
        for piece in 1..=17 {
            assert_eq!(
                cut(Command::Version, &body, piece),
                whole,
                "pieces of {piece}"
            );
        }
        // And a reply that goes wrong after its last `}` is refused in any pieces.
        for piece in 1..=8 {
            assert!(cut(Command::Version, br#"{"v":{}x"#, piece).contains("InvalidResponse"));
        }
    }

    fn done(command: Command, body: &[u8]) -> Result<Reply, Error> {
        match read_reply(command, body, true)? {
            Progress::Complete(reply) => Ok(reply),
            Progress::Partial => panic!("partial"),
        }
    }

    #[test]
    fn version_is_read() {
        assert_eq!(done(Command::Version, br#"{"v":2}"#), Ok(Reply::Version(2)));
        assert_eq!(
            done(Command::Version, br#"{"v":-1}"#).unwrap_err().code(),
            "invalid-response"
        );
    }

    #[test]
    fn device_id_is_lower_cased_and_claimed_comes_from_the_string_c() {
        let reply = done(
            Command::DeviceId,
            br#"{"id":"320020001847333531323135","c":"1"}"#,
        );
        assert_eq!(
            reply,
            Ok(Reply::DeviceId(DeviceInfo {
                id: "320020001847333531323135".into(),
                claimed: true
            }))
        );
        let reply = done(
            Command::DeviceId,
            br#"{"id":"3A0020001847333531323BCF","c":"0"}"#,
        );
        assert_eq!(
            reply,
            Ok(Reply::DeviceId(DeviceInfo {
                id: "3a0020001847333531323bcf".into(),
                claimed: false
            }))
        );
        for bad in [
            &br#"{"id":"3A00","c":"0"}"#[..],
            br#"{"id":"3A0020001847333531323BCZ","c":"0"}"#,
            br#"{"id":"3A0020001847333531323BCF","c":"2"}"#,
            br#"{"id":"3A0020001847333531323BCF"}"#,
            br#"{"c":"0"}"#,
        ] {
            assert_eq!(
                done(Command::DeviceId, bad).unwrap_err().code(),
                "invalid-response"
            );
        }
    }

    #[test]
    fn public_key_reply_gives_the_key_or_a_typed_error() {
        let body = format!(r#"{{"b":"{}","r":0}}"#, device_blob_hex());
        match done(Command::PublicKey, body.as_bytes()) {
            Ok(Reply::PublicKey(key)) => assert_eq!(key.bits(), 1024),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            done(Command::PublicKey, br#"{"r":1}"#),
            Err(Error::PublicKeyUnavailable)
        );
        assert_eq!(
            done(Command::PublicKey, br#"{"b":"3082","r":0}"#)
                .unwrap_err()
                .code(),
            "invalid-public-key"
        );
    }

    #[test]
    fn every_configure_ap_code_has_its_error() {
        let cases: [(&[u8], Result<Reply, Error>); 9] = [
            (br#"{"r":0}"#, Ok(Reply::Ok)),
            (br#"{"r":-2}"#, Err(Error::NetworkNotFound)),
            (br#"{"r":-3}"#, Err(Error::DeviceRejectedSsid)),
            (br#"{"r":-4}"#, Err(Error::DeviceRejectedPassword)),
            (br#"{"r":1}"#, Err(Error::EnterpriseRejected)),
            (
                br#"{"r":4}"#,
                Err(Error::StorageFailed {
                    command: Command::ConfigureAp,
                    code: 4,
                }),
            ),
            (
                br#"{"r":-16512}"#,
                Err(Error::DecryptionFailed { code: -16512 }),
            ),
            (
                br#"{"r":-1040}"#,
                Err(Error::DecryptionFailed { code: -1040 }),
            ),
            (
                br#"{"r":-1}"#,
                Err(Error::DeviceError {
                    command: Command::ConfigureAp,
                    code: -1,
                }),
            ),
        ];
        for (body, expected) in cases {
            assert_eq!(
                done(Command::ConfigureAp, body),
                expected,
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn set_and_connect_codes() {
        assert_eq!(done(Command::Set, br#"{"r":0}"#), Ok(Reply::Ok));
        assert_eq!(
            done(Command::Set, br#"{"r":-1}"#),
            Err(Error::ClaimCodeRejected)
        );
        assert_eq!(
            done(Command::Set, br#"{"r":3}"#),
            Err(Error::StorageFailed {
                command: Command::Set,
                code: 3
            })
        );
        assert_eq!(
            done(Command::Set, br#"{"r":-9}"#),
            Err(Error::DeviceError {
                command: Command::Set,
                code: -9
            })
        );
        assert_eq!(done(Command::ConnectAp, br#"{"r":0}"#), Ok(Reply::Ok));
        assert_eq!(
            done(Command::ConnectAp, br#"{"r":5}"#),
            Err(Error::DeviceError {
                command: Command::ConnectAp,
                code: 5
            })
        );
        assert_eq!(
            done(Command::Set, br#"{"x":0}"#).unwrap_err().code(),
            "invalid-response"
        );
    }

    #[test]
    fn an_empty_finished_body_is_the_devices_rejection() {
        for command in Command::ALL {
            assert_eq!(
                read_reply(command, b"", true),
                Err(Error::RequestIgnored { command })
            );
            assert_eq!(
                read_reply(command, b"\n\n", true),
                Err(Error::RequestIgnored { command }),
                "TCP"
            );
            assert_eq!(read_reply(command, b"", false), Ok(Progress::Partial));
        }
    }

    #[test]
    fn an_unfinished_body_is_complete_at_its_first_json_value() {
        // 0.6 firmware: no terminating chunk, the connection stays open.
        assert_eq!(
            read_reply(Command::Set, b"{\"r\":0", false),
            Ok(Progress::Partial)
        );
        assert_eq!(
            read_reply(Command::Set, b"{\"r\":0}", false),
            Ok(Progress::Complete(Reply::Ok))
        );
        assert_eq!(
            read_reply(Command::Set, b"\n\n{\"r\":0}", false),
            Ok(Progress::Complete(Reply::Ok))
        );
        let scan = br#"{"scans":[{"ssid":"A","rssi":-1,"sec":0,"ch":1,"mdr":1}]}"#;
        assert_eq!(
            read_reply(Command::ScanAp, &scan[..scan.len() - 1], false),
            Ok(Progress::Partial)
        );
        match read_reply(Command::ScanAp, scan, false) {
            Ok(Progress::Complete(Reply::ScanAp(entries))) => {
                assert_eq!(entries[0].security, Security::OPEN)
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_truncated_finished_body_is_an_error() {
        assert_eq!(
            read_reply(Command::Set, b"{\"r\":0", true)
                .unwrap_err()
                .code(),
            "invalid-response"
        );
        assert_eq!(
            read_reply(Command::ScanAp, b"{\"scans\":[", true)
                .unwrap_err()
                .code(),
            "invalid-response"
        );
    }

    #[test]
    fn html_and_other_garbage_is_an_invalid_response() {
        for body in [
            &b"<html>404</html>"[..],
            b"[1,2]",
            b"\"r\"",
            b"Soft AP Setup\0",
        ] {
            for command in Command::ALL {
                assert_eq!(
                    read_reply(command, body, true).unwrap_err().code(),
                    "invalid-response"
                );
            }
        }
    }
}
