//! Any bytes as the reply to any command, finished or not: a typed result, never a panic,
//! and a complete reply stays the same when more bytes follow (0.6 firmware streams on).
#![no_main]

use libfuzzer_sys::fuzz_target;
use softap_web::protocol::{read_reply, Command, Progress};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else { return };
    let command = Command::ALL[usize::from(selector) % Command::ALL.len()];
    let finished = selector & 0x80 != 0;
    let first = read_reply(command, body, finished);
    if let Ok(Progress::Complete(reply)) = &first {
        let mut longer = body.to_vec();
        longer.extend_from_slice(b"\r\n0\r\n\r\n");
        if let Ok(Progress::Complete(again)) = read_reply(command, &longer, finished) {
            assert_eq!(&again, reply);
        }
    }
});
