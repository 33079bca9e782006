//! Any status and body as a cloud reply, any bytes as an event stream: typed results, never a
//! panic; an event stream reads the same however it is cut.
#![no_main]

use libfuzzer_sys::fuzz_target;
use softap_web::protocol::cloud::{self, EventStreamReader};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let status = [200, 201, 400, 401, 403, 404, 429, 500, 503][usize::from(selector) % 9];
    let _ = cloud::read_claim_code(status, body);
    let _ = cloud::read_devices(status, body, "3a0020001847333531323bcf");
    let _ = cloud::read_claim_device(status, body);
    let mut whole = EventStreamReader::new();
    let all = whole.feed(body);
    let mut pieces = EventStreamReader::new();
    let piece = usize::from(selector >> 4) + 1;
    let cut: Vec<_> = body.chunks(piece).flat_map(|c| pieces.feed(c)).collect();
    assert_eq!(all, cut);
});
