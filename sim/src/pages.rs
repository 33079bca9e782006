//! A generated device page (`make device-page`), served the way the generated firmware
//! handler serves it: the handler's own 200 or 404 through the application page route, every
//! write of at most 4 KB one chunk, `Content-Encoding: gzip` right after the status line,
//! the MIME passed through the firmware's table, and the forced no-store headers
//! (every-browser.md §1.1–§1.3).

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
}

struct Asset {
    url: String,
    mime: &'static str,
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
                Ok(Asset {
                    gzipped: std::fs::read(dir.join(&e.file))?,
                    mime: table_mime(&e.mime),
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
        let mut out = head("200 OK", "Content-Encoding: gzip\r\n", asset.mime);
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
    fn the_table_keeps_known_types_and_drops_the_rest() {
        assert_eq!(table_mime("text/html; charset=utf-8"), "text/html");
        assert_eq!(table_mime("application/wasm"), "*/*");
        assert_eq!(table_mime("image/svg+xml"), "*/*");
    }
}
