//! A generated device page served as the generated firmware handler serves it: through the
//! application page route, in 4 KB chunks, gzip-encoded, no-store, the MIME through the
//! firmware's table, and the handler's own 404.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::Duration;

use softap_sim::device::Firmware;
use softap_sim::{Config, DeviceConfig, Simulator};

/// A page folder as scripts/device-page.mjs writes it, with stand-in "gzipped" bytes.
fn page_folder(name: &str) -> (PathBuf, Vec<u8>) {
    let dir = std::env::temp_dir().join(format!("softap-sim-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let page: Vec<u8> = (0..10_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(dir.join("index.html.gz"), &page).unwrap();
    std::fs::write(dir.join("w.gz"), b"\0asm").unwrap();
    std::fs::write(
        dir.join("pages.json"),
        r#"[{"url":"/setup","mime":"text/html","file":"index.html.gz"},
            {"url":"/index","mime":"text/html","file":"index.html.gz"},
            {"url":"/a.wasm","mime":"application/wasm","file":"w.gz"}]"#,
    )
    .unwrap();
    (dir, page)
}

fn start(firmware: Firmware, pages: PathBuf) -> Simulator {
    Simulator::start(Config {
        devices: vec![DeviceConfig {
            firmware,
            pages: Some(pages),
            ..DeviceConfig::default()
        }],
        ..Config::default()
    })
    .unwrap()
}

/// A browser's GET, then everything until the device closes (or, on 0.6, goes quiet).
fn get(addr: SocketAddr, path: &str) -> (String, Vec<u8>) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: 192.168.0.1\r\nAccept: */*\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    let mut out = Vec::new();
    let mut buffer = [0u8; 4096];
    while let Ok(n) = stream.read(&mut buffer) {
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buffer[..n]);
    }
    let end = out.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    (
        String::from_utf8(out[..end].to_vec()).unwrap(),
        out[end..].to_vec(),
    )
}

/// The chunk sizes and the joined data of a chunked body; whether it was terminated.
fn chunks(mut body: &[u8]) -> (Vec<usize>, Vec<u8>, bool) {
    let (mut sizes, mut data) = (Vec::new(), Vec::new());
    while let Some(line_end) = body.windows(2).position(|w| w == b"\r\n") {
        let size =
            usize::from_str_radix(std::str::from_utf8(&body[..line_end]).unwrap(), 16).unwrap();
        if size == 0 {
            return (sizes, data, true);
        }
        sizes.push(size);
        data.extend_from_slice(&body[line_end + 2..line_end + 2 + size]);
        body = &body[line_end + 2 + size + 2..];
    }
    (sizes, data, false)
}

#[test]
fn the_page_comes_gzipped_in_4_kb_chunks_with_the_firmwares_headers() {
    let (dir, page) = page_folder("page");
    let sim = start(Firmware::V07, dir);
    let device = sim.devices[0].http;
    // The handler sees `path?query` on 0.7 and matches the path.
    for path in ["/setup", "/index", "/setup?from=qr"] {
        let (head, body) = get(device, path);
        assert!(
            head.starts_with("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n"),
            "{head}"
        );
        for line in [
            "Content-Type: text/html\r\n",
            "Cache-Control: no-store",
            "Transfer-Encoding: chunked\r\n",
            "Access-Control-Allow-Origin: *\r\n",
        ] {
            assert!(head.contains(line), "{line} in {head}");
        }
        assert!(!head.contains("Content-Length"));
        let (sizes, data, terminated) = chunks(&body);
        assert_eq!(sizes, [4096, 4096, 1808]);
        assert_eq!(data, page);
        assert!(terminated);
    }
    // `/` is still the system's: a 301 to `/index`, which is the page.
    let (head, _) = get(device, "/");
    assert!(
        head.starts_with("HTTP/1.1 301\r\nLocation: /index\r\n"),
        "{head}"
    );
    // The commands are still the system's.
    let (head, _) = get(device, "/device-id");
    assert!(head.contains("Content-Type: application/json"), "{head}");
}

#[test]
fn unknown_urls_get_the_handlers_404_and_wasm_has_no_type_of_its_own() {
    let (dir, _) = page_folder("404");
    let sim = start(Firmware::V07, dir);
    let device = sim.devices[0].http;
    let (head, body) = get(device, "/favicon.ico");
    assert!(head.starts_with("HTTP/1.1 404 Not Found\r\n"), "{head}");
    assert_eq!(body, b"0\r\n\r\n");
    let (head, body) = get(device, "/a.wasm");
    assert!(head.contains("Content-Type: */*\r\n"), "{head}");
    assert_eq!(chunks(&body).1, b"\0asm");
}

#[test]
fn before_07_no_page_is_reachable() {
    let (dir, _) = page_folder("06");
    let sim = start(Firmware::V06, dir);
    // 0.6 routes only `/` to the application handler, and `/` is the system's redirect:
    // the generated handler needs Device OS 0.7.0 or later.
    let (head, _) = get(sim.devices[0].http, "/setup");
    assert!(head.starts_with("HTTP/1.1 404 Not Found\r\n"), "{head}");
    assert!(!head.contains("Content-Encoding: gzip"), "{head}");
}
