//! `DeviceKey`: a device's public key in JS, for fingerprints and for sealing secrets on a
//! trusted page before the customer switches networks.

use wasm_bindgen::prelude::*;

use crate::protocol::DeviceKey as CoreKey;
use crate::web::JsResult;

/// A device's RSA public key.
#[wasm_bindgen(js_name = DeviceKey)]
pub struct DeviceKey(CoreKey);

#[wasm_bindgen(js_class = DeviceKey)]
impl DeviceKey {
    /// Parses the hex the device's `public-key` command returns (its `b` field), padding
    /// included.
    #[wasm_bindgen(js_name = fromDeviceHex)]
    pub fn from_device_hex(hex: &str) -> JsResult<DeviceKey> {
        Ok(Self(CoreKey::from_device_hex(hex)?))
    }

    /// Parses a DER key: SubjectPublicKeyInfo or PKCS#1.
    #[wasm_bindgen(js_name = fromDer)]
    pub fn from_der(der: &[u8]) -> JsResult<DeviceKey> {
        Ok(Self(CoreKey::from_der(der)?))
    }

    /// The modulus length in bits.
    #[wasm_bindgen(getter)]
    pub fn bits(&self) -> u32 {
        self.0.bits() as u32
    }

    /// SHA-256 of the SubjectPublicKeyInfo DER, 64 lower-case hex digits.
    #[wasm_bindgen(getter)]
    pub fn fingerprint(&self) -> String {
        self.0.fingerprint_hex()
    }

    /// Throws `fingerprint-mismatch` unless the key has the expected fingerprint.
    #[wasm_bindgen(js_name = verifyFingerprint)]
    pub fn verify_fingerprint(&self, expected: &str) -> JsResult<()> {
        Ok(self.0.verify_fingerprint(expected)?)
    }

    /// RSA PKCS#1 v1.5 encryption of a UTF-8 secret, as the lower-case hex the device takes.
    #[wasm_bindgen(js_name = encryptPassword)]
    pub fn encrypt_password(&self, password: &str) -> JsResult<String> {
        Ok(self
            .0
            .encrypt_hex(&mut getrandom::SysRng, password.as_bytes())?)
    }
}
