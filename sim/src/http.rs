//! The device's HTTP server, as the WICED library in the firmware behaves (spec §3.2):
//! only the first segment is parsed, methods by prefix, headers by case-sensitive substring,
//! routes by path *and* content type, every write its own chunk.

use crate::device::Firmware;

/// The server's MIME table (spec §3.2.3); a value matching none of 0–15 is 16, "all".
const MIME_TABLE: [&str; 16] = [
    "application/x-tlv8",
    "application/x-apple-binary-plist",
    "application/x-ns-proxy-autoconfig",
    "application/octet-stream",
    "application/javascript",
    "application/json",
    "application/hap+json",
    "application/pairing+tlv8",
    "application/hap+verify",
    "text/html",
    "text/plain",
    "text/event-stream",
    "text/css",
    "image/png",
    "image/gif",
    "image/vnd.microsoft.icon",
];
const MIME_ALL: usize = 16;
const MIME_OCTET_STREAM: usize = 3;
const MIME_TEXT_HTML: usize = 9;
const MIME_TEXT_PLAIN: usize = 10;

/// The command paths.
pub const COMMANDS: [&str; 7] = [
    "version",
    "device-id",
    "scan-ap",
    "configure-ap",
    "connect-ap",
    "public-key",
    "set",
];

const CACHE_HEADERS: &str = "Cache-Control: no-store, no-cache, must-revalidate, post-check=0, pre-check=0\r\nPragma: no-cache\r\n";

/// How the first segment of a request is taken.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    /// Not answered at all (too short, no `HTTP/1.1`, unknown method, header block not in
    /// this segment). `close`: the segment said `Connection: close`.
    Ignored {
        /// Close the connection.
        close: bool,
    },
    /// A request the server handles.
    Request(Request),
}

/// A request the server dispatches.
#[derive(Debug, PartialEq, Eq)]
pub struct Request {
    /// Method as sent (`GET`, `POST` or `PUT`: dispatched alike).
    pub method: String,
    /// Path, `%xx`-decoded, query removed.
    pub path: String,
    /// The request's MIME index.
    pub mime: usize,
    /// `Content-Type` as sent, for the log.
    pub content_type: Option<String>,
    /// `Connection: close` (exact case) appeared.
    pub close: bool,
    /// Body length; without `Content-Length` the body is ignored.
    pub content_length: usize,
    /// Bytes of the body that came in the first segment.
    pub body_start: Vec<u8>,
}

/// Parses a request's first segment.
pub fn parse_first_segment(segment: &[u8]) -> Parsed {
    let close = contains(segment, b"Connection: close");
    let Some(header_end) = find(segment, b"\r\n\r\n") else {
        return Parsed::Ignored { close };
    };
    if segment.len() < 18 {
        return Parsed::Ignored { close };
    }
    let line_end = find(segment, b"\r\n").unwrap_or(header_end);
    let line = &segment[..line_end];
    let method = [&b"GET "[..], b"POST ", b"PUT "]
        .into_iter()
        .find(|m| line.starts_with(m));
    let (Some(method), Some(version_at)) = (method, find(line, b" HTTP/1.1")) else {
        return Parsed::Ignored { close };
    };
    let target = &line[method.len()..version_at];
    let target = match target.iter().position(|&b| b == b'?') {
        Some(q) => &target[..q],
        None => target,
    };
    let headers = &segment[..header_end + 4];
    let content_type = header_value(headers, b"Content-Type: ");
    let mime = content_type
        .as_deref()
        .and_then(|value| {
            MIME_TABLE
                .iter()
                .position(|m| value.starts_with(m.as_bytes()))
        })
        .unwrap_or(MIME_ALL);
    let content_length = header_value(headers, b"Content-Length: ")
        .map(|v| {
            let digits: Vec<u8> = v.iter().copied().take_while(u8::is_ascii_digit).collect();
            String::from_utf8_lossy(&digits)
                .parse::<usize>()
                .unwrap_or(0)
        })
        .unwrap_or(0)
        .min(u16::MAX as usize);
    let body_start = segment[header_end + 4..]
        .iter()
        .copied()
        .take(content_length)
        .collect();
    Parsed::Request(Request {
        method: String::from_utf8_lossy(&method[..method.len() - 1]).into_owned(),
        path: percent_decode(target),
        mime,
        content_type: content_type.map(|c| String::from_utf8_lossy(&c).into_owned()),
        close,
        content_length,
        body_start,
    })
}

/// Where a request goes.
#[derive(Debug, PartialEq, Eq)]
pub enum Route {
    /// `/`: 301 to `/index`.
    Root,
    /// `/hello`: the 14-byte static page.
    Hello,
    /// A command handler.
    Command(&'static str),
    /// The application page handler (default: `/index` → 301 `/hello`, else 404).
    AppPage,
    /// No route took it: the WICED core's 404.
    CoreNotFound,
}

/// Routes in the firmware's order; a route only matches if its MIME equals the request's,
/// or the request's is "all" (spec §3.2.2, §3.2.3).
pub fn route(request: &Request, firmware: Firmware) -> Route {
    let mime_ok = |page: usize| request.mime == page || request.mime == MIME_ALL;
    if request.path == "/" && mime_ok(MIME_TEXT_HTML) {
        return Route::Root;
    }
    if request.path == "/hello" && mime_ok(MIME_TEXT_PLAIN) {
        return Route::Hello;
    }
    if let Some(name) = COMMANDS
        .iter()
        .find(|c| request.path.strip_prefix('/') == Some(c))
    {
        if mime_ok(MIME_OCTET_STREAM) {
            return Route::Command(name);
        }
    }
    // The catch-all page route: `/*` since 0.7.0-rc.3, only `/` before.
    let page_path = match firmware {
        Firmware::V07 => request.path.starts_with('/'),
        Firmware::V06 => request.path == "/",
    };
    if page_path && mime_ok(MIME_OCTET_STREAM) {
        return Route::AppPage;
    }
    Route::CoreNotFound
}

/// The header block of a command's reply (spec §3.2.4), exactly.
pub fn command_headers() -> Vec<u8> {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{CACHE_HEADERS}Connection: Keep-Alive\r\nAccess-Control-Allow-Origin: *\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    .into_bytes()
}

/// One firmware write as a chunk: lower-case hex length.
pub fn chunk(data: &[u8]) -> Vec<u8> {
    let mut out = format!("{:x}\r\n", data.len()).into_bytes();
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
    out
}

/// The terminating chunk, sent only by 0.7+.
pub const LAST_CHUNK: &[u8] = b"0\r\n\r\n";

/// The WICED core's 404: no CORS header unless the connection's flag is set.
pub fn core_not_found(cors: bool) -> Vec<u8> {
    let cors = if cors {
        "Access-Control-Allow-Origin: *\r\n"
    } else {
        ""
    };
    format!(
        "HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\n{CACHE_HEADERS}Connection: Keep-Alive\r\n{cors}Content-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

/// `/`: a raw 301 to `/index`.
pub fn root_redirect(cors: bool) -> Vec<u8> {
    let cors = if cors {
        "Access-Control-Allow-Origin: *\r\n"
    } else {
        ""
    };
    format!("HTTP/1.1 301\r\nLocation: /index\r\n{cors}Content-Length: 0\r\n\r\n").into_bytes()
}

/// `/hello`: `Soft AP Setup` and the C string's NUL, 14 bytes.
pub fn hello(cors: bool) -> Vec<u8> {
    let cors = if cors {
        "Access-Control-Allow-Origin: *\r\n"
    } else {
        ""
    };
    let mut out = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n{CACHE_HEADERS}Connection: Keep-Alive\r\n{cors}Content-Length: 14\r\n\r\n"
    )
    .into_bytes();
    out.extend_from_slice(b"Soft AP Setup\0");
    out
}

/// The default application page handler (0.7): `/index` → 301 `/hello`, else 404 `*/*`.
pub fn default_app_page(path: &str, firmware: Firmware) -> Vec<u8> {
    let terminator = if firmware == Firmware::V07 {
        "0\r\n\r\n"
    } else {
        ""
    };
    if path == "/index" {
        format!(
            "HTTP/1.1 301 Moved Permanently\r\nLocation: /hello\r\nContent-Type: text/plain\r\n{CACHE_HEADERS}Connection: Keep-Alive\r\nAccess-Control-Allow-Origin: *\r\nTransfer-Encoding: chunked\r\n\r\n{terminator}"
        )
        .into_bytes()
    } else {
        format!(
            "HTTP/1.1 404 Not Found\r\nContent-Type: */*\r\n{CACHE_HEADERS}Connection: Keep-Alive\r\nAccess-Control-Allow-Origin: *\r\nTransfer-Encoding: chunked\r\n\r\n{terminator}"
        )
        .into_bytes()
    }
}

/// Every connection slot busy: a malformed 503 without the blank line, then disconnect.
pub const SERVICE_UNAVAILABLE: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\n";

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    find(haystack, needle).is_some()
}

/// A header's value by case-sensitive substring search of the header block.
fn header_value(headers: &[u8], name: &[u8]) -> Option<Vec<u8>> {
    let start = find(headers, name)? + name.len();
    let end = find(&headers[start..], b"\r\n").map_or(headers.len(), |e| start + e);
    Some(headers[start..end].to_vec())
}

fn percent_decode(path: &[u8]) -> String {
    let mut out = Vec::with_capacity(path.len());
    let mut i = 0;
    while i < path.len() {
        if path[i] == b'%' && i + 2 < path.len() {
            let hex = std::str::from_utf8(&path[i + 1..i + 3]).ok();
            if let Some(byte) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(path[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(raw: &str) -> Request {
        match parse_first_segment(raw.as_bytes()) {
            Parsed::Request(r) => r,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn ignores_what_the_device_ignores() {
        for raw in [
            "OPTIONS /set HTTP/1.1\r\nHost: x\r\n\r\n",
            "HEAD /version HTTP/1.1\r\nHost: x\r\n\r\n",
            "get /version HTTP/1.1\r\nHost: x\r\n\r\n",
            "GET /version HTTP/1.0\r\nHost: x\r\n\r\n",
            "GET /version HTTP/1.1\r\nHost: x\r\n",
            "PUT  HTTP/1.1\r\n\r\n",
        ] {
            assert_eq!(
                parse_first_segment(raw.as_bytes()),
                Parsed::Ignored { close: false },
                "{raw:?}"
            );
        }
        assert_eq!(
            parse_first_segment(b"OPTIONS /set HTTP/1.1\r\nConnection: close\r\n\r\n"),
            Parsed::Ignored { close: true }
        );
    }

    #[test]
    fn content_type_routes_by_prefix_and_traps_text_plain_and_json() {
        let firmware = Firmware::V07;
        let with = |ct: &str| {
            let raw = format!(
                "POST /set HTTP/1.1\r\nContent-Type: {ct}\r\nContent-Length: 2\r\n\r\n{{}}"
            );
            route(&request(&raw), firmware)
        };
        assert_eq!(
            with("application/x-www-form-urlencoded"),
            Route::Command("set")
        );
        assert_eq!(
            with("multipart/form-data; boundary=x"),
            Route::Command("set")
        );
        assert_eq!(with("application/octet-stream"), Route::Command("set"));
        assert_eq!(with("text/plain;charset=UTF-8"), Route::CoreNotFound);
        assert_eq!(with("application/json"), Route::CoreNotFound);
        // Header names are matched case-sensitively: a lower-case name is no Content-Type.
        let raw = "POST /set HTTP/1.1\r\ncontent-type: text/plain\r\nContent-Length: 2\r\n\r\n{}";
        assert_eq!(route(&request(raw), firmware), Route::Command("set"));
    }

    #[test]
    fn paths_decode_drop_queries_and_fall_to_the_page_handler() {
        let r = request("GET /device%2Did?x=1 HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_eq!(r.path, "/device-id");
        assert_eq!(route(&r, Firmware::V07), Route::Command("device-id"));
        let r = request("GET /provision-keys HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_eq!(route(&r, Firmware::V07), Route::AppPage);
        assert_eq!(route(&r, Firmware::V06), Route::CoreNotFound);
        assert_eq!(
            route(&request("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), Firmware::V07),
            Route::Root
        );
        assert_eq!(
            route(
                &request("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"),
                Firmware::V06
            ),
            Route::Hello
        );
        assert_eq!(
            route(
                &request("GET /Version HTTP/1.1\r\nHost: x\r\n\r\n"),
                Firmware::V06
            ),
            Route::CoreNotFound
        );
    }

    #[test]
    fn body_needs_content_length() {
        let r = request("POST /set HTTP/1.1\r\nHost: x\r\n\r\n{\"k\":\"cc\"}");
        assert_eq!((r.content_length, r.body_start.len()), (0, 0));
        let r = request("PUT /set HTTP/1.1\r\nContent-Length: 4\r\n\r\nabcdef");
        assert_eq!(r.body_start, b"abcd");
        assert_eq!(r.method, "PUT");
    }

    #[test]
    fn responses_are_byte_exact() {
        let headers = String::from_utf8(command_headers()).unwrap();
        assert!(headers.starts_with(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nCache-Control: no-store"
        ));
        assert!(headers
            .ends_with("Access-Control-Allow-Origin: *\r\nTransfer-Encoding: chunked\r\n\r\n"));
        assert_eq!(chunk(b"{"), b"1\r\n{\r\n");
        assert_eq!(chunk(&[b'a'; 26])[..4], *b"1a\r\n");
        assert!(!String::from_utf8(core_not_found(false))
            .unwrap()
            .contains("Access-Control"));
        assert!(String::from_utf8(core_not_found(true))
            .unwrap()
            .contains("Access-Control-Allow-Origin: *"));
        assert!(hello(false).ends_with(b"Soft AP Setup\0"));
        assert!(!SERVICE_UNAVAILABLE.ends_with(b"\r\n\r\n"));
    }
}
