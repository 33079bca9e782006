//! The shared corpus (`tests/vectors/`) against the Rust core. The device page runs the same
//! files (`tests/js/vectors.test.mjs`), so the two clients cannot drift apart.
#![cfg(not(target_arch = "wasm32"))]

use std::path::Path;

use aes::cipher::block_padding::Pkcs7;
use aes::cipher::{BlockModeDecrypt, KeyIvInit};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use rsa::pkcs1::DecodeRsaPrivateKey;
use serde_json::{json, Value};
use softap_web::protocol::handoff::{self, HandoffLink, Return, Sealed};
use softap_web::protocol::policy::{self, Decision, Failure};
use softap_web::protocol::{
    networks, ClaimCode, Command, DeviceKey, Error, Fingerprint, NetworkOptions, Progress, Reply,
    ReplyReader, Request,
};

const PRIVATE_KEY: &str = include_str!("fixtures/device-1024.pem");

fn corpus(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vectors")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn cases<'a>(file: &'a Value, list: &str) -> &'a Vec<Value> {
    file[list].as_array().unwrap()
}

fn name(case: &Value) -> &str {
    case["name"].as_str().unwrap_or("?")
}

/// Checks every case of `list` on its own, so one failing case does not hide the next; prints
/// `corpus_core <what>: <checked> checked, <failed> failed` (`make bench` adds these up into
/// `hostile_vectors`), then fails if any case did. `check` returns whether the case is the
/// core's to run (the table in tests/vectors/README.md).
fn each_case(what: &str, list: &[Value], check: impl Fn(&Value) -> bool) -> usize {
    let (mut checked, mut failed) = (0, Vec::new());
    for case in list {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(case))) {
            Ok(true) => checked += 1,
            Ok(false) => {}
            Err(_) => {
                checked += 1;
                failed.push(name(case).to_owned());
            }
        }
    }
    println!(
        "corpus_core {what}: {checked} checked, {} failed",
        failed.len()
    );
    assert!(failed.is_empty(), "{what}: failed cases {failed:#?}");
    checked
}

/// The body a case describes: `body`, `bodyHex` or `bodyRepeat`.
fn body(case: &Value) -> Vec<u8> {
    if let Some(text) = case["body"].as_str() {
        return text.as_bytes().to_vec();
    }
    if let Some(hex) = case["bodyHex"].as_str() {
        return hex::decode(hex).unwrap();
    }
    let repeat = &case["bodyRepeat"];
    let mut out = repeat["prefix"].as_str().unwrap().as_bytes().to_vec();
    let unit = repeat["unit"].as_str().unwrap();
    let counter = repeat["counter"].as_str();
    for i in 0..repeat["count"].as_u64().unwrap() {
        match counter {
            Some(mark) => out.extend_from_slice(unit.replace(mark, &i.to_string()).as_bytes()),
            None => out.extend_from_slice(unit.as_bytes()),
        }
    }
    out.extend_from_slice(repeat["suffix"].as_str().unwrap().as_bytes());
    out
}

fn command(name: &str) -> Command {
    Command::ALL
        .into_iter()
        .find(|c| c.name() == name)
        .unwrap_or_else(|| panic!("unknown command {name}"))
}

/// Feeds `body` in pieces of `piece` bytes, then finishes if `finished`: the outcome as the
/// corpus writes it.
fn outcome(command: Command, body: &[u8], piece: usize, finished: bool) -> Value {
    let mut reader = ReplyReader::new(command);
    let mut result = Ok(Progress::Partial);
    for chunk in body.chunks(piece.max(1)) {
        result = reader.feed(chunk);
        if !matches!(result, Ok(Progress::Partial)) {
            break;
        }
    }
    if finished && matches!(result, Ok(Progress::Partial)) {
        result = reader.finish().map(Progress::Complete);
    }
    match result {
        Ok(Progress::Partial) => json!({ "partial": true }),
        Ok(Progress::Complete(reply)) => reply_json(reply),
        Err(error) => json!({ "error": error.code() }),
    }
}

fn reply_json(reply: Reply) -> Value {
    match reply {
        Reply::Version(v) => json!({ "version": v }),
        Reply::DeviceId(info) => json!({ "deviceId": { "id": info.id, "claimed": info.claimed } }),
        Reply::PublicKey(key) => json!({
            "publicKey": { "fingerprint": key.fingerprint().to_hex(), "bits": key.bits() }
        }),
        Reply::ScanAp(entries) => {
            let list: Vec<Value> = networks(&entries)
                .into_iter()
                .map(|n| {
                    let mut v = json!({
                        "ssid": n.ssid, "rssi": n.rssi, "sec": n.sec, "channel": n.channel
                    });
                    if n.doubtful {
                        v["doubtful"] = json!(true);
                    }
                    v
                })
                .collect();
            json!({ "networks": list })
        }
        Reply::Ok => json!({ "ok": true }),
    }
}

/// A long list is checked by its length and first network.
fn matches(expected: &Value, actual: &Value) -> bool {
    match expected.get("networkCount") {
        Some(count) => {
            let list = actual["networks"].as_array();
            list.is_some_and(|l| json!(l.len()) == *count && l.first() == expected.get("first"))
        }
        None => expected == actual,
    }
}

fn run_replies(file: &str, default_command: Option<Command>) -> usize {
    let corpus = corpus(file);
    each_case(file, cases(&corpus, "cases"), |case| {
        let command = default_command.unwrap_or_else(|| command(case["command"].as_str().unwrap()));
        let finished = case["finished"].as_bool().unwrap_or(true);
        let body = body(case);
        for piece in [1, 7, 4096] {
            let actual = outcome(command, &body, piece, finished);
            assert!(
                matches(&case["expect"], &actual),
                "{} (pieces of {piece}): expected {}, got {actual}",
                name(case),
                case["expect"]
            );
        }
        true
    })
}

#[test]
fn scan_replies() {
    assert!(run_replies("scan.json", Some(Command::ScanAp)) >= 30);
}

#[test]
fn other_replies() {
    assert!(run_replies("replies.json", None) >= 50);
}

#[test]
fn the_key_policy() {
    let file = corpus("keys.json");
    each_case("keys.json", cases(&file, "cases"), |case| {
        let key = match (case["deviceHex"].as_str(), case["derHex"].as_str()) {
            (Some(text), _) => DeviceKey::from_device_hex(text),
            (_, Some(der)) => DeviceKey::from_der(&hex::decode(der).unwrap()),
            _ => panic!("{}: no key", name(case)),
        };
        let actual = match key {
            Ok(key) => json!({ "fingerprint": key.fingerprint().to_hex(), "bits": key.bits() }),
            Err(error) => json!({ "error": error.code() }),
        };
        assert_eq!(actual, case["expect"], "{}", name(case));
        true
    });
}

#[test]
fn claim_codes() {
    let file = corpus("claim-codes.json");
    each_case("claim-codes.json", cases(&file, "cases"), |case| {
        let actual = match ClaimCode::new(case["code"].as_str().unwrap()) {
            Ok(_) => json!({ "ok": true }),
            Err(e) => json!({ "error": e.code(), "field": e.field().map(|f| f.name()) }),
        };
        assert_eq!(actual, case["expect"], "{}", name(case));
        true
    });
}

fn decrypt(private: &rsa::PrivateKey, hex_text: &str) -> Vec<u8> {
    assert_eq!(hex_text.len(), 256, "a ciphertext is 128 bytes");
    assert_eq!(hex_text, hex_text.to_lowercase(), "lower-case hex");
    private
        .decrypt(rsa::Pkcs1v15Encrypt, &hex::decode(hex_text).unwrap())
        .unwrap()
}

/// The body with its ciphertexts checked against `secrets` and replaced by their markers.
fn redact(body: &str, secrets: &Value, private: &rsa::PrivateKey) -> String {
    let value: Value = serde_json::from_str(body).unwrap();
    let mut text = body.to_owned();
    if let Some(pwd) = value["pwd"].as_str() {
        let plain = decrypt(private, pwd);
        assert_eq!(plain, secrets["pwd"].as_str().unwrap().as_bytes());
        text = text.replace(pwd, "<rsa>");
    }
    if let (Some(ek), Some(key)) = (value["ek"].as_str(), value["key"].as_str()) {
        let key_and_iv = decrypt(private, ek);
        let decryptor =
            cbc::Decryptor::<aes::Aes128>::new_from_slices(&key_and_iv[..16], &key_and_iv[16..])
                .unwrap();
        let plain = decryptor
            .decrypt_padded_vec::<Pkcs7>(&hex::decode(key).unwrap())
            .unwrap();
        assert_eq!(plain, secrets["key"].as_str().unwrap().as_bytes());
        text = text.replace(ek, "<ek>").replace(key, "<aes>");
    }
    text
}

#[test]
fn the_customers_choices() {
    let file = corpus("inputs.json");
    let private = rsa::PrivateKey::from_pkcs1_pem(PRIVATE_KEY).unwrap();
    let key = DeviceKey::from_der(
        &rsa::pkcs8::EncodePublicKey::to_public_key_der(&private.to_public_key())
            .unwrap()
            .into_vec(),
    )
    .unwrap();
    let rng = std::cell::RefCell::new(ChaCha20Rng::seed_from_u64(3));
    each_case("inputs.json", cases(&file, "cases"), |case| {
        let options: NetworkOptions = serde_json::from_value(case["network"].clone())
            .unwrap_or_else(|e| panic!("{}: {e}", name(case)));
        let firmware_06 = case["firmware"].as_str() == Some("0.6");
        let result = options.validate().and_then(|network| {
            let enterprise = matches!(
                network.credentials,
                softap_web::protocol::Credentials::Peap { .. }
                    | softap_web::protocol::Credentials::Tls { .. }
            );
            if firmware_06 && enterprise {
                return Err(Error::FirmwareTooOld);
            }
            Request::configure_ap(&network, &key, &mut *rng.borrow_mut())
        });
        let expect = &case["expect"];
        match result {
            Ok(request) => {
                let body = String::from_utf8(request.body().unwrap().to_vec()).unwrap();
                let text = redact(&body, &expect["secrets"], &private);
                assert_eq!(
                    Some(text.as_str()),
                    expect["body"].as_str(),
                    "{}",
                    name(case)
                );
            }
            Err(error) => {
                let mut actual = json!({ "error": error.code() });
                if let Some(field) = error.field() {
                    actual["field"] = json!(field.name());
                }
                assert_eq!(&actual, expect, "{}", name(case));
            }
        }
        true
    });
}

#[test]
fn handoff_returns() {
    let file = corpus("handoff.json");
    each_case("handoff.json returns", cases(&file, "returns"), |case| {
        let actual = match handoff::read_return(case["fragment"].as_str().unwrap()) {
            Ok(None) => json!({ "none": true }),
            Err(Error::HandoffInvalid) => json!({ "invalid": true }),
            Err(other) => panic!("{}: {other:?}", name(case)),
            Ok(Some(r)) => {
                let mut v = serde_json::to_value(&r).unwrap();
                if let Return::Error {
                    device_id: None, ..
                } = r
                {
                    v.as_object_mut().unwrap().remove("deviceId");
                }
                json!({ "return": v })
            }
        };
        assert_eq!(actual, case["expect"], "{}", name(case));
        true
    });
}

#[test]
fn handoff_links_the_core_builds() {
    let file = corpus("handoff.json");
    let built = each_case("handoff.json build", cases(&file, "build"), |case| {
        let Some(options) = case.get("options") else {
            return false;
        };
        let code = ClaimCode::new(options["claimCode"].as_str().unwrap()).unwrap();
        let sealed: Option<Sealed> = options.get("sealed").map(|s| {
            let mut s = s.clone();
            s["fingerprint"] = options["fingerprint"].clone();
            serde_json::from_value(s).unwrap()
        });
        let link = HandoffLink {
            device_url: options["deviceUrl"].as_str().unwrap(),
            page: options["page"].as_str().unwrap(),
            nonce: options["nonce"].as_str().unwrap(),
            claim_code: &code,
            back: options["back"].as_str().unwrap(),
            fingerprint: options["fingerprint"]
                .as_str()
                .map(|f| Fingerprint::parse(f).unwrap()),
            lang: options["lang"].as_str(),
            sealed: sealed.as_ref(),
        };
        assert_eq!(
            handoff::handoff_url(&link).unwrap(),
            case["expect"].as_str().unwrap(),
            "{}",
            name(case)
        );
        true
    });
    assert!(built >= 2);
}

fn failure(case: &Value) -> Failure {
    match case["failure"].as_str().unwrap() {
        "dropped" => Failure::Dropped,
        "timeout" => Failure::Timeout,
        "busy" => Failure::Busy,
        "broken" => Failure::Broken,
        "stalled" => Failure::Stalled,
        "status" => Failure::Status(case["status"].as_u64().unwrap() as u16),
        other => panic!("unknown failure {other}"),
    }
}

#[test]
fn the_retry_policy_deadlines_and_caps() {
    let file = corpus("retry.json");
    each_case("retry.json", cases(&file, "cases"), |case| {
        let decision = policy::after_failure(
            command(case["command"].as_str().unwrap()),
            failure(case),
            case["attempt"].as_u64().unwrap() as u32,
            case["enterprise"].as_bool().unwrap_or(false),
        );
        let actual = match decision {
            Decision::Retry { delay_ms } => json!({ "retry": true, "delayMs": delay_ms }),
            Decision::Fail(error) => json!({ "error": error.code() }),
            Decision::ProbablyConnecting => json!({ "outcome": "probably-connecting" }),
        };
        assert_eq!(actual, case["expect"], "{}", name(case));
        true
    });
    for case in cases(&file, "deadlines") {
        let command = command(case["command"].as_str().unwrap());
        assert_eq!(
            json!(policy::deadline_ms(command)),
            case["deadlineMs"],
            "{command}"
        );
    }
    for case in cases(&file, "replyCaps") {
        let command = command(case["command"].as_str().unwrap());
        assert_eq!(
            json!(policy::reply_cap(command)),
            case["maxBytes"],
            "{command}"
        );
    }
}
