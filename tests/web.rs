//! The core's crypto and parsing, and the JS error shape, in a real browser (headless
//! Chromium through wasm-bindgen-test-runner): randomness from `crypto.getRandomValues`,
//! ciphertexts decrypted with the fixture's private key.
#![cfg(target_arch = "wasm32")]

use aes::cipher::block_padding::Pkcs7;
use aes::cipher::{BlockModeDecrypt, KeyIvInit};
use rsa::pkcs1::DecodeRsaPrivateKey;
use softap_web::protocol::{configure, DeviceKey, NameOrNumber, NetworkOptions, Request};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const SPKI_1024: &[u8] = include_bytes!("fixtures/device-1024.spki.der");
const PRIVATE_1024: &str = include_str!("fixtures/device-1024.pem");
const CLIENT_KEY: &str = include_str!("fixtures/client-key.pem");

fn device_hex() -> String {
    let mut blob = SPKI_1024.to_vec();
    blob.resize(294, 0);
    hex::encode_upper(&blob)
}

fn decrypt(hex_text: &str) -> Vec<u8> {
    let private = rsa::PrivateKey::from_pkcs1_pem(PRIVATE_1024).unwrap();
    private
        .decrypt(rsa::Pkcs1v15Encrypt, &hex::decode(hex_text).unwrap())
        .unwrap()
}

#[wasm_bindgen_test]
fn parses_the_padded_key_from_the_device() {
    let key = DeviceKey::from_device_hex(&device_hex()).unwrap();
    assert_eq!(key.bits(), 1024);
    assert_eq!(key.spki_der(), SPKI_1024);
}

#[wasm_bindgen_test]
fn encrypts_a_password_with_browser_randomness() {
    let key = DeviceKey::from_device_hex(&device_hex()).unwrap();
    let a = key
        .encrypt_hex(&mut getrandom::SysRng, "pässwörd 😀".as_bytes())
        .unwrap();
    let b = key
        .encrypt_hex(&mut getrandom::SysRng, "pässwörd 😀".as_bytes())
        .unwrap();
    assert_eq!(a.len(), 256);
    assert_ne!(a, b, "random padding");
    assert_eq!(decrypt(&a), "pässwörd 😀".as_bytes());
    assert_eq!(decrypt(&b), "pässwörd 😀".as_bytes());
}

#[wasm_bindgen_test]
fn seals_an_enterprise_private_key() {
    let key = DeviceKey::from_device_hex(&device_hex()).unwrap();
    let pem = format!("{}\r\n", CLIENT_KEY.trim());
    let sealed = configure::seal_private_key(&key, &mut getrandom::SysRng, pem.as_bytes()).unwrap();
    let key_and_iv = decrypt(&sealed.encrypted_key);
    let plaintext =
        cbc::Decryptor::<aes::Aes128>::new_from_slices(&key_and_iv[..16], &key_and_iv[16..])
            .unwrap()
            .decrypt_padded_vec::<Pkcs7>(&hex::decode(&sealed.ciphertext).unwrap())
            .unwrap();
    assert_eq!(plaintext, pem.as_bytes());
}

#[wasm_bindgen_test]
fn builds_a_configure_request_in_the_browser() {
    let key = DeviceKey::from_device_hex(&device_hex()).unwrap();
    let network = NetworkOptions {
        ssid: "Wohnung Müller".into(),
        security: Some(NameOrNumber::Name("wpa2_aes".into())),
        password: Some("geheim123".into()),
        ..Default::default()
    }
    .validate()
    .unwrap();
    let request = Request::configure_ap(&network, &key, &mut getrandom::SysRng).unwrap();
    let body = String::from_utf8(request.body().unwrap().to_vec()).unwrap();
    assert!(
        body.starts_with("{\"idx\":0,\"ssid\":\"Wohnung Müller\",\"pwd\":\""),
        "{body}"
    );
    let pwd = body
        .split("\"pwd\":\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    assert_eq!(decrypt(pwd), b"geheim123");
}

fn js_field(error: &JsValue, name: &str) -> Option<String> {
    js_sys::Reflect::get(error, &name.into()).ok()?.as_string()
}

#[wasm_bindgen_test]
async fn js_errors_carry_a_stable_code_name_step_and_field() {
    use softap_web::web::softap::SoftAp;
    let options = js_sys::JSON::parse(r#"{"expectedFingerprint":"abcd"}"#).unwrap();
    let error = SoftAp::new(Some(options)).err().unwrap();
    assert!(error.is_instance_of::<js_sys::Error>());
    assert_eq!(js_field(&error, "name").as_deref(), Some("SoftApError"));
    assert_eq!(
        js_field(&error, "code").as_deref(),
        Some("invalid-fingerprint")
    );

    // Checked before anything is sent: no device is needed to see these.
    let device = SoftAp::new(None).unwrap();
    let network =
        js_sys::JSON::parse(r#"{"ssid":"Home","security":"wpa3","password":"longenough"}"#)
            .unwrap();
    let error = wasm_bindgen_futures::JsFuture::from(device.configure(network))
        .await
        .unwrap_err();
    assert_eq!(
        js_field(&error, "code").as_deref(),
        Some("unknown-security")
    );
    assert_eq!(js_field(&error, "step").as_deref(), Some("configuring"));
    let network =
        js_sys::JSON::parse(r#"{"ssid":"Home","security":"wpa2","password":"short"}"#).unwrap();
    let error = wasm_bindgen_futures::JsFuture::from(device.configure(network))
        .await
        .unwrap_err();
    assert_eq!(
        js_field(&error, "code").as_deref(),
        Some("passphrase-length")
    );
    assert_eq!(js_field(&error, "field").as_deref(), Some("password"));
    assert!(
        !js_field(&error, "message").unwrap().contains("short"),
        "no secret in the message"
    );
}

#[wasm_bindgen_test]
fn a_malformed_option_throws_a_type_error_naming_it() {
    use softap_web::web::softap::SoftAp;
    let options =
        js_sys::JSON::parse(r#"{"baseUrl":"http://192.168.0.1","timeoutMs":"soon"}"#).unwrap();
    let error = SoftAp::new(Some(options)).err().unwrap();
    assert!(error.is_instance_of::<js_sys::TypeError>());
    let message = js_field(&error, "message").unwrap();
    assert!(message.contains("timeoutMs"), "{message}");
}

#[wasm_bindgen_test]
async fn an_operation_settles_after_the_object_that_started_it_is_gone() {
    // A page that makes a `Cloud` for one call and keeps only the promise: once the object is
    // collected, the wait must still end at its deadline (it used to hang: found by a flaky
    // end-to-end test of a reload). The cloud here refuses every connection (loopback).
    use softap_web::web::cloud::Cloud;
    let options =
        js_sys::JSON::parse(r#"{"apiUrl":"http://127.0.0.1:1","accessToken":"token"}"#).unwrap();
    let cloud = Cloud::new(options).unwrap();
    let wait = cloud.wait_for_device(
        "3a0020001847333531323bcf".into(),
        Some(js_sys::JSON::parse(r#"{"timeoutMs":800,"intervalMs":200}"#).unwrap()),
    );
    drop(cloud);
    let hung: js_sys::Promise = js_sys::Function::new_no_args(
        "return new Promise((resolve) => setTimeout(() => resolve('hung'), 5000))",
    )
    .call0(&JsValue::NULL)
    .unwrap()
    .unchecked_into();
    let first = wasm_bindgen_futures::JsFuture::from(js_sys::Promise::race(
        &[wait, hung].into_iter().collect::<js_sys::Array>(),
    ))
    .await;
    let error = first.expect_err("the wait rejects at its deadline, it does not hang");
    assert_eq!(js_field(&error, "code").as_deref(), Some("claim-timeout"));
}

#[wasm_bindgen_test]
fn a_secret_of_the_wrong_type_stays_out_of_the_type_error() {
    use softap_web::web::cloud::Cloud;
    use softap_web::web::handoff::seal_network;
    let token =
        js_sys::JSON::parse(r#"{"accessToken":{"access_token":"s3cr3t-token-abc"}}"#).unwrap();
    let error = Cloud::new(token).err().unwrap();
    assert!(error.is_instance_of::<js_sys::TypeError>());
    let message = js_field(&error, "message").unwrap();
    assert!(message.contains("accessToken"), "{message}");
    assert!(!message.contains("s3cr3t"), "{message}");
    let key = hex::encode(SPKI_1024);
    for password in ["12345678", r#"["a, expected hunter2"]"#] {
        let network = js_sys::JSON::parse(&format!(
            r#"{{"ssid":"Home","security":"wpa2","password":{password}}}"#
        ))
        .unwrap();
        let error = seal_network(&key, network).err().unwrap();
        let message = js_field(&error, "message").unwrap();
        assert!(message.contains("password"), "{message}");
        assert!(
            !message.contains("12345678") && !message.contains("hunter2"),
            "{message}"
        );
    }
}
