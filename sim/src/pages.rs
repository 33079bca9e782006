//! A generated device page (`make device-page`), served the way the generated firmware
//! handler serves it: the handler's own 200 or 404 through the application page route, every
//! write of at most 4 KB one chunk, the handler's headers (`Content-Encoding: gzip`,
//! `Cache-Control: no-store`) right after the status line, the MIME passed through the
//! firmware's table, and the firmware's forced no-store headers (every-browser.md §1.1–§1.3).

use crate::device::Firmware;
use serde::Deserialize;
use std::path::Path;

/// How much the generated handler writes at a time; each write is one chunk on the wire.
pub const WRITE_SLICE: usize = 4096;

/// The MIME types the firmware's header writer knows (prefix match); any other goes out as
/// `*/*`. There is no `application/wasm`.
const MIME_TABLE: [&str; 10] = [
    "application/javascript",
    "application/json",
    "text/html",
    "text/css",
    "text/plain",
    "image/png",
    "image/gif",
    "image/vnd.microsoft.icon",
    "application/octet-stream",
    "*/*",
];

/// One entry of the generator's `pages.json`, as in the generated C++ table.
#[derive(Deserialize)]
struct Entry {
    url: String,
    mime: String,
    file: String,
    /// The header lines the handler passes to the firmware (each ending in CRLF).
    #[serde(default = "gzip_header")]
    headers: String,
}

fn gzip_header() -> String {
    "Content-Encoding: gzip\r\n".into()
}

struct Asset {
    url: String,
    mime: &'static str,
    headers: String,
    gzipped: Vec<u8>,
}

/// The pages of one generated device page folder.
pub struct Pages {
    assets: Vec<Asset>,
}

impl Pages {
    /// Reads `pages.json` and the gzipped files it names.
    pub fn load(dir: &Path) -> std::io::Result<Self> {
        let manifest = std::fs::read(dir.join("pages.json"))?;
        let entries: Vec<Entry> = serde_json::from_slice(&manifest)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
        let assets = entries
            .into_iter()
            .map(|e| {
                // The firmware's Header takes header lines, each ending in CRLF: anything
                // else is no handler the generator writes.
                let lines = e.headers.strip_suffix("\r\n").map(|h| h.split("\r\n"));
                let well_formed = e.headers.is_empty()
                    || lines.is_some_and(|mut lines| {
                        lines.all(|l| !l.is_empty() && !l.contains(['\r', '\n']))
                    });
                if !well_formed {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!("{}: headers must be CRLF-terminated lines", e.url),
                    ));
                }
                Ok(Asset {
                    gzipped: std::fs::read(dir.join(&e.file))?,
                    mime: table_mime(&e.mime),
                    headers: e.headers,
                    url: e.url,
                })
            })
            .collect::<std::io::Result<_>>()?;
        Ok(Self { assets })
    }

    /// The status and exact bytes for `path` (the handler sees `path?query` on 0.7).
    pub fn respond(&self, path: &str, firmware: Firmware) -> (u16, Vec<u8>) {
        let url = path.split('?').next().unwrap_or(path);
        let terminator: &[u8] = match firmware {
            Firmware::V07 => b"0\r\n\r\n",
            Firmware::V06 => b"",
        };
        let Some(asset) = self.assets.iter().find(|a| a.url == url) else {
            let mut out = head("404 Not Found", "", "*/*");
            out.extend_from_slice(terminator);
            return (404, out);
        };
        let mut out = head("200 OK", &asset.headers, asset.mime);
        for slice in asset.gzipped.chunks(WRITE_SLICE) {
            out.extend_from_slice(&crate::http::chunk(slice));
        }
        out.extend_from_slice(terminator);
        (200, out)
    }
}

/// The header block the firmware writes: the handler's headers right after the status line.
fn head(status: &str, custom: &str, mime: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status}\r\n{custom}Content-Type: {mime}\r\nCache-Control: no-store, no-cache, must-revalidate, post-check=0, pre-check=0\r\nPragma: no-cache\r\nConnection: Keep-Alive\r\nAccess-Control-Allow-Origin: *\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    .into_bytes()
}

/// What the firmware's table makes of the handler's MIME (a charset parameter is lost).
fn table_mime(mime: &str) -> &'static str {
    MIME_TABLE
        .iter()
        .find(|known| mime.starts_with(*known))
        .copied()
        .unwrap_or("*/*")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_handlers_headers_come_right_after_the_status_line() {
        let dir = std::env::temp_dir().join(format!("softap-pages-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("p.gz"), b"page").unwrap();
        std::fs::write(
            dir.join("pages.json"),
            r#"[{"url":"/setup","mime":"text/html","file":"p.gz","headers":"Content-Encoding: gzip\r\nCache-Control: no-store\r\n"},
                {"url":"/old","mime":"text/html","file":"p.gz"}]"#,
        )
        .unwrap();
        let pages = Pages::load(&dir).unwrap();
        let (status, reply) = pages.respond("/setup?r=k3J9x2", Firmware::V07);
        let text = String::from_utf8_lossy(&reply);
        assert_eq!(status, 200);
        assert!(
            text.starts_with("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nCache-Control: no-store\r\nContent-Type: text/html\r\n"),
            "{text}"
        );
        let (_, old) = pages.respond("/old", Firmware::V07);
        assert!(String::from_utf8_lossy(&old)
            .starts_with("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Type"));
        std::fs::write(
            dir.join("pages.json"),
            r#"[{"url":"/setup","mime":"text/html","file":"p.gz","headers":"X: 1\nY: 2"}]"#,
        )
        .unwrap();
        assert!(Pages::load(&dir).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_table_keeps_known_types_and_drops_the_rest() {
        assert_eq!(table_mime("text/html; charset=utf-8"), "text/html");
        assert_eq!(table_mime("application/wasm"), "*/*");
        assert_eq!(table_mime("image/svg+xml"), "*/*");
    }
}
