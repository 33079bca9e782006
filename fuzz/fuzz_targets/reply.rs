//! Any bytes as the reply to any command, fed in pieces, finished or not: a typed result,
//! never a panic; the same whatever the pieces; a complete reply stays the same when more
//! bytes follow (0.6 firmware streams on).
#![no_main]

use libfuzzer_sys::fuzz_target;
use softap_web::protocol::{Command, Progress, ReplyReader};

fn read(command: Command, body: &[u8], piece: usize, finished: bool) -> String {
    let mut reader = ReplyReader::new(command);
    for chunk in body.chunks(piece) {
        match reader.feed(chunk) {
            Ok(Progress::Partial) => {}
            other => return format!("{other:?}"),
        }
    }
    if finished {
        return format!("{:?}", reader.finish());
    }
    "partial".into()
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let command = Command::ALL[usize::from(selector) % Command::ALL.len()];
    let finished = selector & 0x80 != 0;
    let piece = usize::from(selector >> 3 & 0x0f) + 1;
    let whole = read(command, body, body.len().max(1), finished);
    assert_eq!(whole, read(command, body, piece, finished));
    if whole.starts_with("Ok(Complete") {
        let mut longer = body.to_vec();
        longer.extend_from_slice(b"\r\n0\r\n\r\n{");
        assert_eq!(whole, read(command, &longer, longer.len(), false));
    }
});
