//! The device's commands and the requests that carry them (spec §3, §4).
//!
//! A [`Request`] is what goes on the wire, free of any transport: the browser layer sends it
//! with `fetch`, tests and tools with raw sockets ([`Request::to_http`], [`Request::to_tcp`]).

use core::fmt;

/// The content type every body is sent with. The device routes by content type (spec
/// §3.2.3): `text/plain` and `application/json` get a 404 without CORS header, while this type
/// is not in its table, counts as "all" and reaches the command. It also keeps the request
/// CORS-simple, so the browser sends no preflight the device would never answer.
pub const CONTENT_TYPE: &str = "application/x-www-form-urlencoded";

/// Where a device in listening mode answers: its access point's own address (spec §2).
pub const DEVICE_URL: &str = "http://192.168.0.1";

/// One command of the SoftAP protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Command {
    /// `configure-ap`: store Wi-Fi credentials.
    ConfigureAp,
    /// `connect-ap`: leave setup mode and join the stored network.
    ConnectAp,
    /// `device-id`: the device id and its claimed flag.
    DeviceId,
    /// `public-key`: the device's RSA public key.
    PublicKey,
    /// `scan-ap`: the networks the device sees.
    ScanAp,
    /// `set`: store the claim code.
    Set,
    /// `version`: the protocol version (always 2, spec §4.1).
    Version,
}

impl Command {
    /// Every command.
    pub const ALL: [Command; 7] = [
        Self::ConfigureAp,
        Self::ConnectAp,
        Self::DeviceId,
        Self::PublicKey,
        Self::ScanAp,
        Self::Set,
        Self::Version,
    ];

    /// The command's name: the TCP command and, after a `/`, the HTTP path.
    pub fn name(self) -> &'static str {
        match self {
            Self::ConfigureAp => "configure-ap",
            Self::ConnectAp => "connect-ap",
            Self::DeviceId => "device-id",
            Self::PublicKey => "public-key",
            Self::ScanAp => "scan-ap",
            Self::Set => "set",
            Self::Version => "version",
        }
    }

    /// The HTTP path.
    pub fn path(self) -> &'static str {
        match self {
            Self::ConfigureAp => "/configure-ap",
            Self::ConnectAp => "/connect-ap",
            Self::DeviceId => "/device-id",
            Self::PublicKey => "/public-key",
            Self::ScanAp => "/scan-ap",
            Self::Set => "/set",
            Self::Version => "/version",
        }
    }

    /// Whether sending it twice does no harm, so a lost reply may be retried. `connect-ap`
    /// is not: the device leaves setup mode on the first one (spec §4.7).
    pub fn is_idempotent(self) -> bool {
        self != Self::ConnectAp
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// HTTP method of a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// No body.
    Get,
    /// With a body.
    Post,
}

impl Method {
    /// The method as HTTP spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
        }
    }
}

/// A request to the device, ready to send.
#[derive(Clone, PartialEq, Eq)]
pub struct Request {
    command: Command,
    body: Option<Vec<u8>>,
}

impl Request {
    pub(crate) fn new(command: Command, body: Option<Vec<u8>>) -> Self {
        Self { command, body }
    }

    /// A request with any body, unchecked: for tools and tests that must send what the
    /// typed builders refuse to build. Applications use the builders.
    pub fn raw(command: Command, body: Option<Vec<u8>>) -> Self {
        Self::new(command, body)
    }

    /// `version`.
    pub fn version() -> Self {
        Self::new(Command::Version, None)
    }

    /// `device-id`.
    pub fn device_id() -> Self {
        Self::new(Command::DeviceId, None)
    }

    /// `public-key`.
    pub fn public_key() -> Self {
        Self::new(Command::PublicKey, None)
    }

    /// `scan-ap`.
    pub fn scan_ap() -> Self {
        Self::new(Command::ScanAp, None)
    }

    /// `connect-ap` with `{"idx":0}`, as every client sends it (the device ignores the body).
    pub fn connect_ap() -> Self {
        Self::new(Command::ConnectAp, Some(b"{\"idx\":0}".to_vec()))
    }

    /// The command.
    pub fn command(&self) -> Command {
        self.command
    }

    /// GET without a body, POST with one.
    pub fn method(&self) -> Method {
        if self.body.is_some() {
            Method::Post
        } else {
            Method::Get
        }
    }

    /// The HTTP path.
    pub fn path(&self) -> &'static str {
        self.command.path()
    }

    /// The body: JSON, sent as [`CONTENT_TYPE`]. It may hold the claim code: do not log it.
    pub fn body(&self) -> Option<&[u8]> {
        self.body.as_deref()
    }

    /// The complete HTTP/1.1 request (for native tools and tests; browsers use `fetch`).
    /// `Content-Length` is the body's byte length — not its UTF-16 length, the reference
    /// client's bug (spec §10.4).
    pub fn to_http(&self, host: &str) -> Vec<u8> {
        let mut head = format!(
            "{} {} HTTP/1.1\r\nHost: {host}\r\n",
            self.method().as_str(),
            self.path()
        );
        if let Some(body) = &self.body {
            head.push_str(&format!(
                "Content-Type: {CONTENT_TYPE}\r\nContent-Length: {}\r\n",
                body.len()
            ));
        }
        head.push_str("\r\n");
        let mut out = head.into_bytes();
        out.extend_from_slice(self.body.as_deref().unwrap_or_default());
        out
    }

    /// The request in the TCP protocol (port 5609): LF only, byte length, blank line (§3.1).
    pub fn to_tcp(&self) -> Vec<u8> {
        let body = self.body.as_deref().unwrap_or_default();
        let mut out = format!("{}\n{}\n\n", self.command.name(), body.len()).into_bytes();
        out.extend_from_slice(body);
        out
    }
}

impl fmt::Debug for Request {
    /// Shows the command and the body's size, never the body: it may carry the claim code.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("command", &self.command)
            .field("body_bytes", &self.body.as_ref().map(Vec::len))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_without_arguments_are_plain_gets() {
        for (request, path) in [
            (Request::version(), "/version"),
            (Request::device_id(), "/device-id"),
            (Request::public_key(), "/public-key"),
            (Request::scan_ap(), "/scan-ap"),
        ] {
            assert_eq!(request.method(), Method::Get);
            assert_eq!(request.path(), path);
            assert_eq!(request.body(), None);
            let http = request.to_http("192.168.0.1");
            assert_eq!(
                http,
                format!("GET {path} HTTP/1.1\r\nHost: 192.168.0.1\r\n\r\n").into_bytes()
            );
            assert_eq!(
                request.to_tcp(),
                format!("{}\n0\n\n", &path[1..]).into_bytes()
            );
        }
    }

    #[test]
    fn connect_ap_posts_idx_zero_and_is_never_retried() {
        let request = Request::connect_ap();
        assert_eq!(request.method(), Method::Post);
        assert_eq!(request.body(), Some(&b"{\"idx\":0}"[..]));
        assert!(!Command::ConnectAp.is_idempotent());
        assert!(Command::ALL
            .iter()
            .filter(|c| **c != Command::ConnectAp)
            .all(|c| c.is_idempotent()));
    }

    #[test]
    fn http_and_tcp_lengths_count_utf8_bytes() {
        let request = Request::new(
            Command::Set,
            Some("{\"k\":\"cc\",\"v\":\"é\"}".as_bytes().to_vec()),
        );
        let http = String::from_utf8(request.to_http("h")).unwrap();
        assert!(http.contains("Content-Length: 19\r\n"), "{http}");
        assert!(http.contains("Content-Type: application/x-www-form-urlencoded\r\n"));
        assert!(http.ends_with("\r\n\r\n{\"k\":\"cc\",\"v\":\"é\"}"));
        assert!(request.to_tcp().starts_with(b"set\n19\n\n{"));
        assert!(
            !request.to_tcp().contains(&b'\r'),
            "the TCP protocol is LF only"
        );
    }

    #[test]
    fn debug_never_shows_the_body() {
        let request = Request::new(
            Command::Set,
            Some(b"{\"k\":\"cc\",\"v\":\"SECRETCODE\"}".to_vec()),
        );
        let debug = format!("{request:?}");
        assert!(!debug.contains("SECRETCODE"), "{debug}");
        assert!(debug.contains("Set") && debug.contains("27"), "{debug}");
    }

    #[test]
    fn names_and_paths_agree() {
        for command in Command::ALL {
            assert_eq!(command.path(), format!("/{}", command.name()));
        }
    }
}
