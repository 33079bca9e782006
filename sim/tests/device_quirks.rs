//! The simulated device on real sockets, quirk by quirk (spec §3, §4, §8, §9, §14), with
//! softap-web's own core as the client: each side checks the other.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use softap_sim::device::{Firmware, RadioTiming};
use softap_sim::server::{Faults, LifeTiming, Mode};
use softap_sim::{Config, DeviceConfig, Simulator};
use softap_web::protocol::{
    read_reply, ClaimCode, Command, DeviceKey, Error, NameOrNumber, NetworkOptions, Progress,
    Reply, Request,
};

const KEY_PEM: &str = include_str!("../../tests/fixtures/device-1024.pem");
const SPKI: &[u8] = include_bytes!("../../tests/fixtures/device-1024.spki.der");
/// Generous bound on anything a test waits for; reaching it is a failure, not a pass.
const BOUND: Duration = Duration::from_secs(20);

fn start(firmware: Firmware, faults: Faults) -> Simulator {
    let device = DeviceConfig {
        firmware,
        key_pem: Some(KEY_PEM.into()),
        id: Some("3A0020001847333531323BCF".into()),
        radio: RadioTiming {
            scan_entry: Duration::from_millis(1),
            scan: Duration::from_millis(1),
        },
        life: LifeTiming {
            teardown: Duration::from_millis(20),
            join: Duration::from_millis(20),
            relisten: Duration::from_millis(100),
        },
        faults,
        ..DeviceConfig::default()
    };
    Simulator::start(Config {
        devices: vec![device],
        ..Config::default()
    })
    .unwrap()
}

fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(BOUND)).unwrap();
    stream
}

/// Sends `bytes` and reads until the device closes.
fn exchange(addr: SocketAddr, bytes: &[u8]) -> Vec<u8> {
    let mut stream = connect(addr);
    stream.write_all(bytes).unwrap();
    let mut out = Vec::new();
    stream.read_to_end(&mut out).unwrap();
    out
}

/// The request with `Connection: close`, so the device closes after answering.
fn closing(request: &Request) -> Vec<u8> {
    let bytes = request.to_http("192.168.0.1");
    let head_end = bytes.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let mut out = bytes[..head_end].to_vec();
    out.extend_from_slice(b"\r\nConnection: close\r\n\r\n");
    out.extend_from_slice(&bytes[head_end + 4..]);
    out
}

/// Reads exactly one response from a kept-alive connection: the head, then a
/// `Content-Length` body or chunks up to the terminating one.
fn read_response(stream: &mut TcpStream) -> String {
    let mut byte = [0u8; 1];
    let mut read_line = |stream: &mut TcpStream| {
        let mut line = Vec::new();
        while !line.ends_with(b"\r\n") {
            stream.read_exact(&mut byte).unwrap();
            line.push(byte[0]);
        }
        String::from_utf8_lossy(&line).into_owned()
    };
    let mut head = String::new();
    loop {
        let line = read_line(stream);
        head.push_str(&line);
        if line == "\r\n" {
            break;
        }
    }
    if let Some(length) = head.split("Content-Length: ").nth(1) {
        let length: usize = length.split("\r\n").next().unwrap().parse().unwrap();
        let mut body = vec![0u8; length];
        stream.read_exact(&mut body).unwrap();
        head.push_str(&String::from_utf8_lossy(&body));
    } else {
        loop {
            let size_line = read_line(stream);
            head.push_str(&size_line);
            let size = usize::from_str_radix(size_line.trim_end(), 16).unwrap();
            let mut chunk = vec![0u8; size + 2];
            stream.read_exact(&mut chunk).unwrap();
            head.push_str(&String::from_utf8_lossy(&chunk));
            if size == 0 {
                break;
            }
        }
    }
    head
}

/// Splits a response into head and chunked body: (head, chunks, terminated).
fn chunks(response: &[u8]) -> (String, Vec<Vec<u8>>, bool) {
    let split = response.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let head = String::from_utf8_lossy(&response[..split]).into_owned();
    let mut rest = &response[split..];
    let mut out = Vec::new();
    while !rest.is_empty() {
        let line = rest.windows(2).position(|w| w == b"\r\n").unwrap();
        let size = usize::from_str_radix(std::str::from_utf8(&rest[..line]).unwrap(), 16).unwrap();
        if size == 0 {
            assert_eq!(&rest[line..], b"\r\n\r\n");
            return (head, out, true);
        }
        out.push(rest[line + 2..line + 2 + size].to_vec());
        rest = &rest[line + 2 + size + 2..];
    }
    (head, out, false)
}

fn send(sim: &Simulator, request: &Request) -> Result<Reply, Error> {
    let response = exchange(sim.devices[0].http, &closing(request));
    let (head, body, _) = chunks(&response);
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    match read_reply(request.command(), &body.concat(), true)? {
        Progress::Complete(reply) => Ok(reply),
        Progress::Partial => panic!("partial"),
    }
}

fn key(sim: &Simulator) -> DeviceKey {
    match send(sim, &Request::public_key()).unwrap() {
        Reply::PublicKey(key) => key,
        other => panic!("{other:?}"),
    }
}

fn state(sim: &Simulator) -> serde_json::Value {
    sim.devices[0].state_json()
}

#[test]
fn methods_and_versions_the_device_ignores_get_no_reply_and_keep_the_connection() {
    let sim = start(Firmware::V07, Faults::default());
    for (i, ignored) in [
        "OPTIONS /set HTTP/1.1\r\nHost: d\r\nAccess-Control-Request-Method: POST\r\n\r\n",
        "HEAD /version HTTP/1.1\r\nHost: d\r\n\r\n",
        "DELETE /set HTTP/1.1\r\nHost: d\r\n\r\n",
        "get /version HTTP/1.1\r\nHost: d\r\n\r\n",
        "GET /version HTTP/1.0\r\nHost: d\r\n\r\n",
    ]
    .iter()
    .enumerate()
    {
        let mut stream = connect(sim.devices[0].http);
        stream.write_all(ignored.as_bytes()).unwrap();
        // Once the device has read (and ignored) it, the next request on the same
        // connection is the first to be answered.
        let ignored_so_far = || {
            sim.devices[0]
                .log()
                .iter()
                .filter(|e| e.status == "ignored")
                .count()
        };
        for _ in 0..4000 {
            if ignored_so_far() > i {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(ignored_so_far(), i + 1);
        stream
            .write_all(b"GET /version HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut out = Vec::new();
        stream.read_to_end(&mut out).unwrap();
        let (head, body, _) = chunks(&out);
        assert!(head.starts_with("HTTP/1.1 200 OK"), "{ignored:?}: {head}");
        assert_eq!(
            body,
            vec![b"{\"v\":2}".to_vec()],
            "{ignored:?}: version is one chunk"
        );
    }
    let log = sim.devices[0].log();
    assert_eq!(log.iter().filter(|e| e.status == "ignored").count(), 5);
}

#[test]
fn an_ignored_request_with_connection_close_just_closes() {
    let sim = start(Firmware::V07, Faults::default());
    let out = exchange(
        sim.devices[0].http,
        b"OPTIONS /set HTTP/1.1\r\nConnection: close\r\n\r\n",
    );
    assert!(out.is_empty());
}

#[test]
fn text_plain_and_json_get_the_core_404_whose_cors_header_sticks_to_the_connection() {
    let sim = start(Firmware::V07, Faults::default());
    let mut stream = connect(sim.devices[0].http);
    let plain = "POST /set HTTP/1.1\r\nContent-Type: text/plain;charset=UTF-8\r\nContent-Length: 2\r\n\r\n{}";
    stream.write_all(plain.as_bytes()).unwrap();
    let first = read_response(&mut stream);
    assert!(
        first.starts_with("HTTP/1.1 404 Not Found\r\nContent-Type: text/html"),
        "{first}"
    );
    assert!(
        !first.contains("Access-Control-Allow-Origin"),
        "a browser sees an opaque error"
    );
    stream
        .write_all(b"GET /version HTTP/1.1\r\nHost: d\r\n\r\n")
        .unwrap();
    assert!(read_response(&mut stream).contains("Access-Control-Allow-Origin: *"));
    let json =
        "POST /set HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";
    stream.write_all(json.as_bytes()).unwrap();
    let third = read_response(&mut stream);
    assert!(third.starts_with("HTTP/1.1 404"), "{third}");
    assert!(
        third.contains("Access-Control-Allow-Origin: *"),
        "the flag is never cleared"
    );
}

#[test]
fn every_write_is_a_chunk_and_the_public_key_is_the_padded_upper_case_blob() {
    let sim = start(Firmware::V07, Faults::default());
    let out = exchange(sim.devices[0].http, &closing(&Request::device_id()));
    let (head, body, terminated) = chunks(&out);
    assert!(head.ends_with(
        "Connection: Keep-Alive\r\nAccess-Control-Allow-Origin: *\r\nTransfer-Encoding: chunked\r\n\r\n"
    ));
    assert!(terminated, "0.7 terminates the chunked body");
    assert_eq!(body.len(), 17, "one chunk per token");
    assert_eq!(
        body.concat(),
        br#"{"id":"3A0020001847333531323BCF","c":"0"}"#
    );

    let out = exchange(sim.devices[0].http, &closing(&Request::public_key()));
    let (_, body, _) = chunks(&out);
    assert!(body.len() > 590, "one chunk per hex digit");
    let text = String::from_utf8(body.concat()).unwrap();
    let hex = text.split('"').nth(3).unwrap();
    assert_eq!(hex.len(), 588);
    assert_eq!(hex, hex.to_uppercase());
    assert!(
        hex.ends_with(&"00".repeat(132)),
        "132 zero bytes of padding"
    );
    assert_eq!(
        key(&sim).spki_der(),
        SPKI,
        "the blob carries the configured key"
    );
}

#[test]
fn firmware_0_6_never_terminates_its_chunked_body_and_has_one_connection() {
    let sim = start(Firmware::V06, Faults::default());
    let out = exchange(sim.devices[0].http, &closing(&Request::device_id()));
    let (_, body, terminated) = chunks(&out);
    assert!(!terminated);
    // The client's reader completes on the first whole JSON value, stream still open.
    assert!(matches!(
        read_reply(Command::DeviceId, &body.concat(), false),
        Ok(Progress::Complete(_))
    ));

    let mut first = connect(sim.devices[0].http);
    first.write_all(&Request::version().to_http("d")).unwrap();
    let mut buf = [0u8; 512];
    assert!(first.read(&mut buf).unwrap() > 0);
    // The only socket is taken (the reply never ended): a second connection gets the 503.
    let busy = exchange(sim.devices[0].http, &Request::version().to_http("d"));
    assert_eq!(
        busy,
        b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\n"
    );
    drop(first);
    // Once the client lets go, the slot is free again.
    let mut answered = false;
    for _ in 0..200 {
        let out = exchange(sim.devices[0].http, &closing(&Request::version()));
        if out.starts_with(b"HTTP/1.1 200") {
            answered = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(answered);
}

#[test]
fn the_busy_fault_answers_503_without_a_blank_line() {
    let sim = start(
        Firmware::V07,
        Faults {
            busy_next: 1,
            ..Faults::default()
        },
    );
    assert_eq!(
        exchange(sim.devices[0].http, &closing(&Request::version())),
        b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\n"
    );
    assert!(send(&sim, &Request::version()).is_ok());
}

#[test]
fn static_pages_redirects_and_the_default_page_handler() {
    let sim = start(Firmware::V07, Faults::default());
    let get = |path: &str| {
        let raw = format!("GET {path} HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n");
        String::from_utf8_lossy(&exchange(sim.devices[0].http, raw.as_bytes())).into_owned()
    };
    let root = get("/");
    assert!(
        root.starts_with("HTTP/1.1 301\r\nLocation: /index\r\n"),
        "{root}"
    );
    let hello = get("/hello");
    assert!(
        hello.contains("Content-Length: 14\r\n") && hello.ends_with("Soft AP Setup\0"),
        "{hello:?}"
    );
    assert!(get("/index").starts_with("HTTP/1.1 301 Moved Permanently\r\nLocation: /hello\r\n"));
    let missing = get("/provision-keys");
    assert!(
        missing.starts_with("HTTP/1.1 404 Not Found\r\nContent-Type: */*\r\n"),
        "{missing}"
    );
    assert!(missing.ends_with("\r\n\r\n0\r\n\r\n"));
}

#[test]
fn rejected_json_is_a_200_with_an_empty_body() {
    let sim = start(Firmware::V07, Faults::default());
    for body in [
        &br#"{"k":"cc","v":"x","extra":1}"#[..],
        br#"{"k":"cc","v":5}"#,
        b"",
    ] {
        let raw = [
            format!("POST /set HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\nConnection: close\r\nContent-Length: {}\r\n\r\n", body.len()).as_bytes(),
            body,
        ]
        .concat();
        let (head, chunks, terminated) = chunks(&exchange(sim.devices[0].http, &raw));
        assert!(head.starts_with("HTTP/1.1 200 OK"));
        assert!(
            chunks.is_empty() && terminated,
            "{:?}",
            String::from_utf8_lossy(body)
        );
        assert_eq!(
            read_reply(Command::Set, b"", true),
            Err(Error::RequestIgnored {
                command: Command::Set
            })
        );
    }
    let numbers_as_strings = br#"{"idx":0,"ssid":"Guest","sec":"0"}"#;
    let raw = [
        format!(
            "POST /configure-ap HTTP/1.1\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
            numbers_as_strings.len()
        )
        .as_bytes(),
        numbers_as_strings,
    ]
    .concat();
    let (_, chunks, _) = chunks(&exchange(sim.devices[0].http, &raw));
    assert!(chunks.is_empty(), "sec sent as a string: no reply body");
}

#[test]
fn set_keeps_two_key_characters_and_63_value_characters() {
    let sim = start(Firmware::V07, Faults::default());
    let long = "a".repeat(70);
    let raw_set = |body: String| Request::raw(Command::Set, Some(body.into_bytes()));
    assert_eq!(
        send(&sim, &raw_set(format!(r#"{{"k":"ccX","v":"{long}"}}"#))),
        Ok(Reply::Ok)
    );
    assert_eq!(state(&sim)["claimCode"], "a".repeat(63));
    assert_eq!(
        send(&sim, &raw_set(r#"{"k":"zz","v":"x"}"#.into())),
        Err(Error::ClaimCodeRejected)
    );
    let code =
        ClaimCode::new("rCFr2KAJNgzJ2rR3Jm1ZoUd7G4Sr3ak7MRHdWrM274eYzInP1+psZ0fP2qNehlj").unwrap();
    assert_eq!(send(&sim, &Request::set_claim_code(&code)), Ok(Reply::Ok));
    assert_eq!(
        state(&sim)["claimCode"],
        code.expose(),
        "slash and plus arrive verbatim"
    );
}

fn wpa2(ssid: &str, password: &str) -> NetworkOptions {
    NetworkOptions {
        ssid: ssid.into(),
        security: Some(NameOrNumber::Name("wpa_aes".into())),
        password: Some(password.into()),
        ..NetworkOptions::default()
    }
}

#[test]
fn configure_ap_result_codes_reach_the_client_as_typed_errors() {
    let sim = start(Firmware::V07, Faults::default());
    let key = key(&sim);
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let configure = |options: NetworkOptions, rng: &mut ChaCha20Rng| {
        send(
            &sim,
            &Request::configure_ap(&options.validate().unwrap(), &key, rng).unwrap(),
        )
    };
    // The device scans for WPA networks and stores the security it really sees.
    assert_eq!(
        configure(wpa2("Home WiFi", "correct horse"), &mut rng),
        Ok(Reply::Ok)
    );
    let stored = &state(&sim)["networks"][0];
    assert_eq!(
        (stored["password"].as_str(), stored["security"].as_i64()),
        (Some("correct horse"), Some(4194310))
    );
    assert_eq!(
        configure(wpa2("Not Around", "password1"), &mut rng),
        Err(Error::NetworkNotFound)
    );

    let raw = |body: String| Request::raw(Command::ConfigureAp, Some(body.into_bytes()));
    assert_eq!(
        send(&sim, &raw(r#"{"idx":0,"ssid":"","sec":0}"#.into())),
        Err(Error::DeviceRejectedSsid)
    );
    let short = key.encrypt_hex(&mut rng, b"short").unwrap();
    assert_eq!(
        send(
            &sim,
            &raw(format!(
                r#"{{"idx":0,"ssid":"Home WiFi","pwd":"{short}","sec":4194310}}"#
            ))
        ),
        Err(Error::DeviceRejectedPassword)
    );
    let garbage = "ab".repeat(128);
    assert!(matches!(
        send(
            &sim,
            &raw(format!(
                r#"{{"idx":0,"ssid":"Home WiFi","pwd":"{garbage}","sec":4194310}}"#
            ))
        ),
        Err(Error::DecryptionFailed { .. })
    ));
    let peap_without_user = format!(
        r#"{{"idx":0,"ssid":"Corp","pwd":"{}","sec":37748742,"eap":25}}"#,
        key.encrypt_hex(&mut rng, b"secret").unwrap()
    );
    assert_eq!(
        send(&sim, &raw(peap_without_user)),
        Err(Error::EnterpriseRejected)
    );
    assert_eq!(
        send(
            &sim,
            &raw(r#"{"idx":0,"ssid":"Guest","sec":0,"ch":null}"#.into())
        ),
        Ok(Reply::Ok),
        "null is a primitive, as jsmn reads it"
    );
}

#[test]
fn firmware_0_6_takes_five_keys_stores_sec_verbatim_and_always_decrypts_pwd() {
    let sim = start(Firmware::V06, Faults::default());
    let key = key(&sim);
    let raw = |body: &str| Request::raw(Command::ConfigureAp, Some(body.as_bytes().to_vec()));
    assert_eq!(
        send(
            &sim,
            &raw(r#"{"idx":0,"ssid":"Corp","sec":37748742,"eap":25,"ii":"a"}"#)
        ),
        Err(Error::RequestIgnored {
            command: Command::ConfigureAp
        })
    );
    assert!(matches!(
        send(&sim, &raw(r#"{"idx":0,"ssid":"Guest","pwd":"","sec":0}"#)),
        Err(Error::DecryptionFailed { .. })
    ));
    let mut rng = ChaCha20Rng::seed_from_u64(4);
    let network = wpa2("Home WiFi", "correct horse").validate().unwrap();
    assert_eq!(
        send(
            &sim,
            &Request::configure_ap(&network, &key, &mut rng).unwrap()
        ),
        Ok(Reply::Ok)
    );
    assert_eq!(
        state(&sim)["networks"][0]["security"],
        2097156,
        "verbatim, no sniff"
    );
}

#[test]
fn the_scan_streams_raw_ssids_duplicates_and_no_hidden_networks() {
    let sim = start(Firmware::V07, Faults::default());
    let Ok(Reply::ScanAp(entries)) = send(&sim, &Request::scan_ap()) else {
        panic!()
    };
    let names: Vec<&str> = entries.iter().map(|e| e.ssid.as_str()).collect();
    assert_eq!(
        names,
        [
            "Home WiFi",
            "Home WiFi",
            "Café Übersee",
            "Guest",
            "Corp",
            "Lab TLS",
            "Old WEP",
            "Bob\"s \\Net"
        ]
    );
}

#[test]
fn tcp_protocol_frames_with_lf_answers_then_closes() {
    let sim = start(Firmware::V07, Faults::default());
    let tcp = sim.devices[0].tcp;
    let out = exchange(tcp, &Request::device_id().to_tcp());
    assert_eq!(
        out,
        b"\n\n{\"id\":\"3A0020001847333531323BCF\",\"c\":\"0\"}"
    );
    assert!(
        exchange(tcp, b"provision-keys\n0\n\n").is_empty(),
        "unknown: no bytes, closed"
    );
    assert!(
        exchange(tcp, b"device-id\r\n0\n\n").is_empty(),
        "a CR makes the name unknown"
    );
    // Not a claim code the cloud would issue: the framing of a UTF-8 body is what is tested.
    let body = "{\"k\":\"cc\",\"v\":\"code-ÄÖ\"}".as_bytes().to_vec();
    let out = exchange(tcp, &Request::raw(Command::Set, Some(body)).to_tcp());
    assert_eq!(out, b"\n\n{\"r\":0}");
    assert_eq!(
        state(&sim)["claimCode"],
        "code-ÄÖ",
        "the length counts UTF-8 bytes"
    );
    let extra_headers = exchange(tcp, b"version\n0\nX-Ignored: yes\n\n");
    assert_eq!(extra_headers, b"\n\n{\"v\":2}");
}

fn claim_code(sim: &Simulator, customer: &str) -> String {
    let backend = sim.backend_addr.unwrap();
    let body = format!(r#"{{"customer":"{customer}"}}"#);
    let (status, token) =
        softap_sim::httpd::request(backend, "POST", "/customer-token", &[], body.as_bytes())
            .unwrap();
    assert_eq!(status, 200);
    let token: serde_json::Value = serde_json::from_slice(&token).unwrap();
    let auth = format!("Bearer {}", token["access_token"].as_str().unwrap());
    let (status, claim) = softap_sim::httpd::request(
        sim.cloud_addr,
        "POST",
        "/v1/products/4242/device_claims",
        &[("Authorization", &auth)],
        b"",
    )
    .unwrap();
    assert_eq!(status, 200);
    serde_json::from_slice::<serde_json::Value>(&claim).unwrap()["claim_code"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn connect_ap_takes_the_access_point_down_and_the_device_claims_itself() {
    let sim = start(Firmware::V07, Faults::default());
    let key = key(&sim);
    let code = claim_code(&sim, "owner@example.com");
    send(
        &sim,
        &Request::set_claim_code(&ClaimCode::new(&code).unwrap()),
    )
    .unwrap();
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let network = wpa2("Home WiFi", "correct horse").validate().unwrap();
    send(
        &sim,
        &Request::configure_ap(&network, &key, &mut rng).unwrap(),
    )
    .unwrap();
    assert_eq!(send(&sim, &Request::connect_ap()), Ok(Reply::Ok));
    assert!(sim.devices[0].wait_for_mode(Mode::Online, BOUND));
    assert!(
        TcpStream::connect(sim.devices[0].http).is_err(),
        "the access point is gone"
    );
    let s = state(&sim);
    assert_eq!(s["claimedBy"], "owner@example.com");
    assert_eq!(s["claimed"], true);
}

#[test]
fn a_wrong_password_brings_the_access_point_back() {
    let sim = start(Firmware::V07, Faults::default());
    let key = key(&sim);
    let mut rng = ChaCha20Rng::seed_from_u64(6);
    let network = wpa2("Home WiFi", "wrong horse").validate().unwrap();
    send(
        &sim,
        &Request::configure_ap(&network, &key, &mut rng).unwrap(),
    )
    .unwrap();
    send(&sim, &Request::connect_ap()).unwrap();
    for _ in 0..2000 {
        if sim.devices[0]
            .modes()
            .ends_with(&[Mode::Connecting, Mode::Listening])
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(
        sim.devices[0].modes(),
        [Mode::Listening, Mode::Connecting, Mode::Listening]
    );
    let mut answered = false;
    for _ in 0..200 {
        if TcpStream::connect(sim.devices[0].http).is_ok() {
            answered = send(&sim, &Request::version()) == Ok(Reply::Version(2));
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(answered, "listening mode again, same address");
    assert_eq!(state(&sim)["joined"], serde_json::Value::Null);
}

#[test]
fn drop_and_lost_reply_faults() {
    let faults = Faults {
        drop_next: 1,
        drop_command: "device-id".into(),
        lose_connect_reply: true,
        ..Faults::default()
    };
    let sim = start(Firmware::V07, faults);
    assert!(
        exchange(sim.devices[0].http, &closing(&Request::version())).starts_with(b"HTTP/1.1 200")
    );
    assert!(
        exchange(sim.devices[0].http, &closing(&Request::device_id())).is_empty(),
        "dropped"
    );
    assert!(
        exchange(sim.devices[0].http, &closing(&Request::device_id())).starts_with(b"HTTP/1.1 200")
    );
    assert!(
        exchange(sim.devices[0].http, &closing(&Request::connect_ap())).is_empty(),
        "reply lost"
    );
    assert!(sim.devices[0].wait_for_mode(Mode::Listening, BOUND));
    assert!(
        sim.devices[0].modes().contains(&Mode::Connecting),
        "connect-ap acted all the same"
    );
    let statuses: Vec<String> = sim.devices[0].log().into_iter().map(|e| e.status).collect();
    assert!(statuses.contains(&"dropped".to_owned()) && statuses.contains(&"lost".to_owned()));
}

#[test]
fn a_reboot_takes_the_device_away_and_back_with_its_storage() {
    let faults = Faults {
        reboot_after: "set".into(),
        reboot_ms: 50,
        ..Faults::default()
    };
    let sim = start(Firmware::V07, faults);
    let kept = format!("kept+across/reboot{}", "x".repeat(45));
    let code = ClaimCode::new(&kept).unwrap();
    send(&sim, &Request::set_claim_code(&code)).unwrap();
    for _ in 0..2000 {
        if sim.devices[0]
            .modes()
            .ends_with(&[Mode::Listening, Mode::Rebooting, Mode::Listening])
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(
        sim.devices[0].modes(),
        [Mode::Listening, Mode::Rebooting, Mode::Listening]
    );
    let mut back = false;
    for _ in 0..200 {
        if TcpStream::connect(sim.devices[0].http).is_ok() {
            back = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(back);
    assert_eq!(state(&sim)["claimCode"], kept.as_str());
}

#[test]
fn a_ciphertext_with_a_leading_zero_byte_decrypts() {
    // One ciphertext in 256 starts with a zero byte; the device decrypts it all the same.
    let sim = start(Firmware::V07, Faults::default());
    let key = key(&sim);
    let pwd = (0u64..)
        .map(|seed| {
            key.encrypt_hex(&mut ChaCha20Rng::seed_from_u64(seed), b"correct horse")
                .unwrap()
        })
        .find(|hex| hex.starts_with("00"))
        .unwrap();
    let body = format!(r#"{{"idx":0,"ssid":"Home WiFi","pwd":"{pwd}","sec":4194310}}"#);
    assert_eq!(
        send(
            &sim,
            &Request::raw(Command::ConfigureAp, Some(body.into_bytes()))
        ),
        Ok(Reply::Ok)
    );
    assert_eq!(state(&sim)["networks"][0]["password"], "correct horse");
}

#[test]
fn an_enterprise_key_whose_aes_key_has_zero_bytes_decrypts() {
    // `ek` is 32 binary bytes: a zero among them is no terminator.
    let sim = start(Firmware::V07, Faults::default());
    let key = key(&sim);
    let seed = (0u64..)
        .find(|&seed| {
            let mut first = [0u8; 32];
            rand_core::Rng::fill_bytes(&mut ChaCha20Rng::seed_from_u64(seed), &mut first);
            first.contains(&0)
        })
        .unwrap();
    let network = NetworkOptions {
        ssid: "Lab TLS".into(),
        security: Some(NameOrNumber::Name("wpa2_enterprise".into())),
        eap: Some(NameOrNumber::Name("tls".into())),
        client_certificate: Some(include_str!("../../tests/fixtures/client-cert.pem").into()),
        private_key: Some(include_str!("../../tests/fixtures/client-key.pem").into()),
        ..NetworkOptions::default()
    }
    .validate()
    .unwrap();
    let request =
        Request::configure_ap(&network, &key, &mut ChaCha20Rng::seed_from_u64(seed)).unwrap();
    assert_eq!(send(&sim, &request), Ok(Reply::Ok));
    let pem = format!(
        "{}\r\n",
        include_str!("../../tests/fixtures/client-key.pem").trim()
    );
    assert!(state(&sim)["networks"][0]["private_key"]
        .as_str()
        .unwrap()
        .starts_with(&pem));
}
