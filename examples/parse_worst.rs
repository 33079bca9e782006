//! The worst time to reject a 1 MiB hostile device reply (issue 14's `parse_mib_worst_ms`):
//! every command's reader fed shapes built to make parsing slow, in pieces of 1, 7 and 4096
//! bytes, each timed until the reader refuses the body, completes, or the body runs out.
//! Run in the release build: `cargo run --release --example parse_worst`.

use std::time::Instant;

use softap_web::protocol::{Command, Progress, ReplyReader};

const MIB: usize = 1 << 20;

/// `unit` repeated after `head` until the body is 1 MiB.
fn body(head: &[u8], unit: &[u8]) -> Vec<u8> {
    let mut body = head.to_vec();
    while body.len() < MIB {
        body.extend_from_slice(unit);
    }
    body.truncate(MIB);
    body
}

/// The hostile bodies, each with a name and the command whose reply it pretends to be.
fn shapes() -> Vec<(&'static str, Command, Vec<u8>)> {
    let scan = b"{\"scans\":[";
    let quotes_then_fields = {
        // A name window full of quotes, each a possible end, then fields that keep every
        // reading alive as long as possible.
        let mut unit = b"{\"ssid\":\"".to_vec();
        unit.extend_from_slice(&[b'"'; 32]);
        unit.extend_from_slice(b",\"rssi\":-1,\"sec\":0,\"x\":\"");
        unit.extend_from_slice(&[b'a'; 180]);
        unit.extend_from_slice(b"\"},");
        unit
    };
    let readings_in_step = {
        // Several readings of one name that all parse up to the same long value.
        let mut unit = b"{\"ssid\":\"a\",\"b\":1,\"c\":2,\"d\":3,\"e\":\"".to_vec();
        unit.extend_from_slice(&[b'z'; 200]);
        unit.extend_from_slice(b"\"},");
        unit
    };
    let list_end_in_name = {
        let mut unit = b"{\"ssid\":\"]}]}\",\"rssi\":-1,\"sec\":0,\"x\":[".to_vec();
        unit.extend_from_slice(&[b'1'; 200]);
        unit
    };
    vec![
        (
            "scan_valid_entries",
            Command::ScanAp,
            body(
                scan,
                b"{\"ssid\":\"Neighbour\",\"rssi\":-60,\"sec\":4194310,\"ch\":6,\"mdr\":1},",
            ),
        ),
        (
            "scan_quote_window",
            Command::ScanAp,
            body(scan, &quotes_then_fields),
        ),
        (
            "scan_readings_in_step",
            Command::ScanAp,
            body(scan, &readings_in_step),
        ),
        (
            "scan_list_end_in_name",
            Command::ScanAp,
            body(scan, &list_end_in_name),
        ),
        (
            "scan_entry_marks",
            Command::ScanAp,
            body(scan, b"{\"ssid\":\"{\"ssid\":\""),
        ),
        ("scan_garbage", Command::ScanAp, body(scan, b"x{[\"\\")),
        (
            "scan_nesting",
            Command::ScanAp,
            body(b"{\"scans\":[{\"ssid\":\"a\",\"x\":", b"["),
        ),
        (
            "device_id_string",
            Command::DeviceId,
            body(b"{\"id\":\"", b"0"),
        ),
        (
            "device_id_braces",
            Command::DeviceId,
            body(b"{\"id\":\"", b"}"),
        ),
        (
            "device_id_nesting",
            Command::DeviceId,
            body(b"{\"a\":", b"[{\"a\":"),
        ),
        (
            "public_key_string",
            Command::PublicKey,
            body(b"{\"b\":\"", b"30}"),
        ),
        ("version_numbers", Command::Version, body(b"{\"v\":", b"9")),
        ("set_keys", Command::Set, body(b"{", b"\"r\":0,")),
        (
            "configure_escapes",
            Command::ConfigureAp,
            body(b"{\"r\":\"", b"\\u00}"),
        ),
        ("connect_white_space", Command::ConnectAp, body(b"{", b" }")),
    ]
}

/// Feeds `body` in `piece`-byte pieces until the reader decides; the time taken, in ms.
fn time_to_decide(command: Command, body: &[u8], piece: usize) -> f64 {
    let started = Instant::now();
    let mut reader = ReplyReader::new(command);
    for chunk in body.chunks(piece) {
        if !matches!(reader.feed(chunk), Ok(Progress::Partial)) {
            break;
        }
    }
    started.elapsed().as_secs_f64() * 1000.0
}

fn main() {
    let mut worst = (0.0, "");
    for (name, command, body) in shapes() {
        for piece in [1, 7, 4096] {
            // The best of three: the figure is the parser's work, not the machine's hiccups.
            let ms = (0..3)
                .map(|_| time_to_decide(command, &body, piece))
                .fold(f64::INFINITY, f64::min);
            if std::env::var_os("PARSE_WORST_VERBOSE").is_some() {
                eprintln!("{name} in {piece}-byte pieces: {ms:.3} ms");
            }
            if ms > worst.0 {
                worst = (ms, name);
            }
        }
    }
    println!("parse_mib_worst_ms: {:.2}", worst.0);
    println!("parse_mib_worst_shape: {}", worst.1);
    println!("budget_parse_mib_worst_ms: 50");
    println!(
        "budget_parse_mib_worst_met: {}",
        if worst.0 <= 50.0 { "yes" } else { "no" }
    );
}
