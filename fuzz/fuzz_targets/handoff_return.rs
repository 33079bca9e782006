//! Any fragment as the device page's return: nothing, invalid, or a return whose code is one
//! of the library's own and whose device id is 24 lower-case hex digits. Never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use softap_web::protocol::handoff::{read_return, Return};
use softap_web::protocol::Error;

fuzz_target!(|data: &[u8]| {
    let fragment = String::from_utf8_lossy(data);
    let id_ok = |id: &str| {
        id.len() == 24
            && id
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    match read_return(&fragment) {
        Ok(Some(Return::Ok { device_id } | Return::Connecting { device_id })) => {
            assert!(id_ok(&device_id))
        }
        Ok(Some(Return::Error { code, device_id })) => {
            assert!(Error::CODES.contains(&code));
            assert!(device_id.as_deref().is_none_or(id_ok));
        }
        Ok(None) | Err(_) => {}
    }
});
