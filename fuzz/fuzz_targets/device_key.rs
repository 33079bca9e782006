//! Any bytes as a public key, as DER and as the device's hex: a key or a typed error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use softap_web::protocol::DeviceKey;

fuzz_target!(|data: &[u8]| {
    if let Ok(key) = DeviceKey::from_der(data) {
        assert!((1024..=4096).contains(&key.bits()));
        assert_eq!(DeviceKey::from_der(key.spki_der()).as_ref(), Ok(&key));
    }
    let _ = DeviceKey::from_device_hex(&String::from_utf8_lossy(data));
});
