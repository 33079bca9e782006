//! Hostile scan bodies, fed in pieces the input chooses: entries are read or skipped, never
//! a panic; the outcome does not depend on how the body was cut; every name is listed once
//! per kind (clean, doubtful), clean ones first, strongest first.
#![no_main]

use libfuzzer_sys::fuzz_target;
use softap_web::protocol::{networks, Progress, ScanReader};

fn read(body: &[u8], piece: usize) -> Option<Result<Vec<softap_web::protocol::ScanEntry>, ()>> {
    let mut reader = ScanReader::new();
    for chunk in body.chunks(piece) {
        match reader.feed(chunk) {
            Ok(Progress::Complete(entries)) => return Some(Ok(entries)),
            Ok(Progress::Partial) => {}
            Err(_) => return Some(Err(())),
        }
    }
    None
}

fuzz_target!(|data: &[u8]| {
    let Some((&cut, rest)) = data.split_first() else {
        return;
    };
    let mut body = b"{\"scans\":[".to_vec();
    body.extend_from_slice(rest);
    let whole = read(&body, body.len().max(1));
    let pieces = read(&body, usize::from(cut % 16) + 1);
    assert_eq!(
        whole, pieces,
        "the outcome depends on where the body was cut"
    );
    if let Some(Ok(entries)) = whole {
        for entry in &entries {
            assert!(!entry.ssid_bytes.is_empty() && entry.ssid_bytes.len() <= 32);
        }
        let list = networks(&entries);
        assert!(list.len() <= entries.len());
        let first_doubtful = list.iter().position(|n| n.doubtful).unwrap_or(list.len());
        assert!(
            list[first_doubtful..].iter().all(|n| n.doubtful),
            "clean ones first"
        );
        for part in [&list[..first_doubtful], &list[first_doubtful..]] {
            assert!(part.windows(2).all(|w| w[0].rssi >= w[1].rssi));
        }
    }
});
