//! The simulated cloud, the maker-backend stand-in and the control address over real HTTP,
//! as a page's `fetch` meets them.

use softap_sim::httpd::request;
use softap_sim::{Config, Simulator};

fn json(body: &[u8]) -> serde_json::Value {
    serde_json::from_slice(body).unwrap()
}

#[test]
fn backend_mints_customer_tokens_that_claim_codes_and_device_lists_accept() {
    let sim = Simulator::start(Config::default()).unwrap();
    let backend = sim.backend_addr.unwrap();
    let (status, body) = request(
        backend,
        "POST",
        "/customer-token",
        &[],
        br#"{"customer":"Kim@Example.com"}"#,
    )
    .unwrap();
    assert_eq!(status, 200);
    let token = json(&body);
    assert_eq!(token["customer"], "kim@example.com");
    assert_eq!(token["expires_in"], 3600);
    assert_eq!(token["product_id"], 4242);
    let token = token["access_token"].as_str().unwrap().to_owned();
    assert!(
        !String::from_utf8_lossy(&body).contains("softap-sim-secret"),
        "the secret stays on the server"
    );

    // A second visit of the same customer gets a fresh token for the same customer.
    let (_, again) = request(
        backend,
        "POST",
        "/customer-token",
        &[],
        b"customer=kim%40example.com",
    )
    .unwrap();
    assert_ne!(json(&again)["access_token"], token);

    let auth = format!("Bearer {token}");
    let (status, claim) = request(
        sim.cloud_addr,
        "POST",
        "/v1/products/4242/device_claims",
        &[("Authorization", &auth)],
        b"",
    )
    .unwrap();
    assert_eq!(status, 200);
    assert_eq!(json(&claim)["claim_code"].as_str().unwrap().len(), 63);
    let (status, list) = request(
        sim.cloud_addr,
        "GET",
        "/v1/devices",
        &[("Authorization", &auth)],
        b"",
    )
    .unwrap();
    assert_eq!((status, json(&list)), (200, serde_json::json!([])));

    // Expired through the control address: the real 401 body.
    let control = sim.control_addr.unwrap();
    assert_eq!(
        request(control, "POST", "/cloud/expire-tokens", &[], b"")
            .unwrap()
            .0,
        200
    );
    let (status, body) = request(
        sim.cloud_addr,
        "GET",
        "/v1/devices",
        &[("Authorization", &auth)],
        b"",
    )
    .unwrap();
    assert_eq!(status, 401);
    assert_eq!(
        json(&body)["error_description"],
        "The access token provided has expired."
    );
}

#[test]
fn preflights_are_answered_for_the_headers_a_page_sends() {
    let sim = Simulator::start(Config::default()).unwrap();
    let raw = |addr| {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        stream
            .write_all(b"OPTIONS /v1/devices HTTP/1.1\r\nHost: x\r\nOrigin: https://maker.example\r\nAccess-Control-Request-Method: GET\r\nAccess-Control-Request-Headers: authorization\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut out = String::new();
        stream.read_to_string(&mut out).unwrap();
        out
    };
    let cloud = raw(sim.cloud_addr);
    assert!(cloud.starts_with("HTTP/1.1 204"), "{cloud}");
    assert!(cloud.contains("Access-Control-Allow-Headers: Authorization, Content-Type, Accept"));
    assert!(cloud.contains("Access-Control-Allow-Origin: *"));
    assert!(raw(sim.backend_addr.unwrap()).contains("Access-Control-Allow-Origin: *"));
}

#[test]
fn control_sets_device_and_cloud_faults() {
    let sim = Simulator::start(Config::default()).unwrap();
    let control = sim.control_addr.unwrap();
    let (status, _) = request(
        control,
        "POST",
        "/faults?device=0",
        &[],
        br#"{"busy_next":1}"#,
    )
    .unwrap();
    assert_eq!(status, 200);
    assert_eq!(
        request(control, "POST", "/faults?device=7", &[], b"{}")
            .unwrap()
            .0,
        404
    );
    assert_eq!(
        request(control, "POST", "/faults", &[], b"not json")
            .unwrap()
            .0,
        400
    );
    let (_, state) = request(control, "GET", "/state", &[], b"").unwrap();
    assert_eq!(json(&state)["devices"][0]["faults"]["busy_next"], 1);
    let fault = br#"{"path_prefix":"/v1/products/4242/device_claims","status":503,"count":1}"#;
    assert_eq!(
        request(control, "POST", "/cloud/faults", &[], fault)
            .unwrap()
            .0,
        200
    );
    let (status, _) = request(
        sim.backend_addr.unwrap(),
        "POST",
        "/customer-token",
        &[],
        b"{}",
    )
    .unwrap();
    assert_eq!(
        status, 200,
        "the token path is not under the fault's prefix"
    );
    let (status, _) = request(
        sim.cloud_addr,
        "POST",
        "/v1/products/4242/device_claims",
        &[],
        b"",
    )
    .unwrap();
    assert_eq!(status, 503);
}

#[test]
fn the_backends_records_give_a_devices_key_by_id_or_access_point_name() {
    let sim = Simulator::start(Config {
        devices: vec![softap_sim::DeviceConfig {
            key_pem: Some(include_str!("../../tests/fixtures/device-1024.pem").into()),
            id: Some("3A0020001847333531323BCF".into()),
            ..softap_sim::DeviceConfig::default()
        }],
        ..Config::default()
    })
    .unwrap();
    let backend = sim.backend_addr.unwrap();
    let spki: String = include_bytes!("../../tests/fixtures/device-1024.spki.der")
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    for asked in ["3a0020001847333531323bcf", "Photon-323BCF", "323bcf"] {
        let (status, body) = request(
            backend,
            "GET",
            &format!("/device-key?device={asked}"),
            &[],
            b"",
        )
        .unwrap();
        assert_eq!(status, 200, "{asked}");
        let record = json(&body);
        assert_eq!(record["deviceId"], "3a0020001847333531323bcf");
        assert_eq!(record["publicKey"], spki.as_str());
    }
    for unknown in ["Photon-000000", "", "3bcf"] {
        let (status, _) = request(
            backend,
            "GET",
            &format!("/device-key?device={unknown}"),
            &[],
            b"",
        )
        .unwrap();
        assert_eq!(status, 404, "{unknown:?}");
    }
}
