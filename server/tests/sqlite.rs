//! The scenarios on SQLite, and what does not depend on the database: session tokens,
//! hostile bodies, Particle failing, CORS and limits, the command line, the logs — and,
//! ignored unless asked for, the figures of scripts/bench-server.sh.

mod common;
mod scenarios;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::*;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use libtest_mimic::{Arguments, Trial};
use reqwest::Method;
use serde_json::{json, Value};
use softap_maker::config::JwtKey;
use softap_sim::cloud::CloudFault;

const RS256_PRIVATE: &str = include_str!("fixtures/session-rs256.pem");
const RS256_PUBLIC: &str = include_str!("fixtures/session-rs256.pub.pem");
const OTHER_RS256_PRIVATE: &str = include_str!("fixtures/other-rs256.pem");

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn sign(header: Header, claims: &Value, key: &EncodingKey) -> String {
    jsonwebtoken::encode(&header, claims, key).unwrap()
}

async fn refused(api: &Api, session: Option<&str>) -> (u16, String) {
    let (status, body) = api
        .call(Method::POST, "/v1/setup-token", session, None)
        .await;
    (status, code(&body).to_owned())
}

async fn bad_expired_and_wrongly_signed_sessions_are_refused(db: Db) {
    let sim = simulator(1);
    let server = start(config(&sim, &db)).await;
    let api = Api::new(server.addr);
    let secret = EncodingKey::from_secret(JWT_SECRET.as_bytes()).unwrap();
    let hs = || Header::new(Algorithm::HS256);
    let expired = sign(hs(), &json!({"sub": "kim", "exp": now() - 3600}), &secret);
    let wrong_secret = EncodingKey::from_secret(b"another-secret-another-secret-32b").unwrap();
    let forged = sign(
        hs(),
        &json!({"sub": "kim", "exp": now() + 600}),
        &wrong_secret,
    );
    let no_exp = sign(hs(), &json!({"sub": "kim"}), &secret);
    let not_yet = sign(
        hs(),
        &json!({"sub": "kim", "exp": now() + 7200, "nbf": now() + 3600}),
        &secret,
    );
    let no_sub = sign(hs(), &json!({"exp": now() + 600}), &secret);
    let empty_sub = sign(hs(), &json!({"sub": "", "exp": now() + 600}), &secret);
    // alg "none": the signature part empty.
    let valid = session("kim");
    let parts: Vec<&str> = valid.split('.').collect();
    let none_header = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0"; // {"alg":"none","typ":"JWT"}
    let unsigned = format!("{none_header}.{}.", parts[1]);
    let tampered = format!(
        "{}.{}.{}",
        parts[0], "eyJzdWIiOiJsZWUiLCJleHAiOjk5OTk5OTk5OTl9", parts[2]
    );

    assert_eq!(refused(&api, None).await, (401, "missing-token".into()));
    for (what, token, expected) in [
        ("expired", expired.as_str(), "token-expired"),
        ("wrong secret", &forged, "invalid-token"),
        ("no exp", &no_exp, "invalid-token"),
        (
            "not valid before an hour from now",
            &not_yet,
            "invalid-token",
        ),
        ("no sub", &no_sub, "invalid-token"),
        ("empty sub", &empty_sub, "invalid-token"),
        ("alg none", &unsigned, "invalid-token"),
        ("tampered claims", &tampered, "invalid-token"),
        ("garbage", "garbage", "invalid-token"),
    ] {
        assert_eq!(
            refused(&api, Some(token)).await,
            (401, expected.into()),
            "{what}"
        );
    }
    let huge = "a".repeat(9000);
    assert_eq!(
        refused(&api, Some(&huge)).await,
        (401, "invalid-token".into())
    );
    let response = reqwest::Client::new()
        .post(format!("http://{}/v1/setup-token", server.addr))
        .header("Authorization", format!("Basic {valid}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    assert!(cloud_customers(&sim).is_empty(), "nothing reached Particle");
    api.setup_token(&valid).await;
    server.stop().await;

    // RS256: the maker's public key verifies; another key, or HS256 keyed with the public
    // key itself (algorithm confusion), does not.
    let mut rs256 = config(&sim, &db);
    rs256.jwt.key = JwtKey::Rs256(RS256_PUBLIC.into());
    let server = start(rs256).await;
    let api = Api::new(server.addr);
    let claims = json!({"sub": "kim", "exp": now() + 600});
    let rs = || Header::new(Algorithm::RS256);
    let good = sign(
        rs(),
        &claims,
        &EncodingKey::from_rsa_pem(RS256_PRIVATE.as_bytes()).unwrap(),
    );
    let stranger = sign(
        rs(),
        &claims,
        &EncodingKey::from_rsa_pem(OTHER_RS256_PRIVATE.as_bytes()).unwrap(),
    );
    let confused = sign(
        hs(),
        &claims,
        &EncodingKey::from_secret(RS256_PUBLIC.as_bytes()).unwrap(),
    );
    api.setup_token(&good).await;
    assert_eq!(
        refused(&api, Some(&stranger)).await,
        (401, "invalid-token".into())
    );
    assert_eq!(
        refused(&api, Some(&confused)).await,
        (401, "invalid-token".into())
    );
    assert_eq!(
        refused(&api, Some(&session("kim"))).await,
        (401, "invalid-token".into())
    );
    server.stop().await;
}

async fn hostile_bodies_and_unknown_devices(db: Db) {
    let sim = simulator(1);
    let server = start(config(&sim, &db)).await;
    let api = Api::new(server.addr);
    let kim = session("kim");
    let http = reqwest::Client::new();
    let url = |path: &str| format!("http://{}{path}", server.addr);
    let send = |request: reqwest::RequestBuilder| async move {
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let body: Value = response.json().await.expect("every error is JSON");
        (status, code(&body).to_owned())
    };

    let huge = json!({ "name": "x".repeat(20_000) });
    let (status, body) = api.post("/v1/installations", &kim, huge.clone()).await;
    assert_eq!((status, code(&body)), (413, "body-too-large"));
    // Refused as announced even where the endpoint reads no body.
    let (status, body) = api.post("/v1/setup-token", &kim, huge).await;
    assert_eq!((status, code(&body)), (413, "body-too-large"));
    assert!(cloud_customers(&sim).is_empty());
    // Streamed without a length: cut off at the limit all the same.
    let (status, body) = chunked_post(server.addr, "/v1/installations", &kim, 64 * 1024);
    assert_eq!((status, code(&body)), (413, "body-too-large"));
    let bad_json = http
        .post(url("/v1/installations"))
        .bearer_auth(&kim)
        .header("content-type", "application/json")
        .body("{");
    assert_eq!(send(bad_json).await, (400, "invalid-json".into()));
    let not_json = http
        .post(url("/v1/installations"))
        .bearer_auth(&kim)
        .body("name=Flat");
    assert_eq!(send(not_json).await, (415, "unsupported-media-type".into()));
    let (status, body) = api
        .post("/v1/installations", &kim, json!({"title": "Flat"}))
        .await;
    assert_eq!((status, code(&body)), (422, "invalid-json"));
    for name in ["", "  ", "bell\u{7}", &"x".repeat(101)] {
        let (status, body) = api
            .post("/v1/installations", &kim, json!({ "name": name }))
            .await;
        assert_eq!((status, code(&body)), (400, "invalid-name"), "{name:?}");
    }
    let (status, body) = api.get("/v1/nowhere", &kim).await;
    assert_eq!((status, code(&body)), (404, "not-found"));
    let (status, body) = api
        .call(Method::PUT, "/v1/installations", Some(&kim), None)
        .await;
    assert_eq!((status, code(&body)), (405, "method-not-allowed"));

    let installation = api.installation(&kim, "Flat").await;
    let devices = format!("/v1/installations/{installation}/devices");
    let unknown = "0123456789abcdef01234567";
    let (status, body) = api
        .post(&devices, &kim, json!({"deviceId": unknown, "name": "Lamp"}))
        .await;
    assert_eq!((status, code(&body)), (404, "device-not-found"));
    // Made but never imported into the product: unknown to it as well.
    let (status, body) = api
        .post(
            &devices,
            &kim,
            json!({"deviceId": device_id(&sim, 0), "name": "Lamp"}),
        )
        .await;
    assert_eq!((status, code(&body)), (404, "device-not-found"));
    for bad in [
        "xyz",
        "0123456789abcdef0123456g",
        "../../../v1/products/4242/devices",
    ] {
        let (status, body) = api
            .post(&devices, &kim, json!({"deviceId": bad, "name": "Lamp"}))
            .await;
        assert_eq!((status, code(&body)), (400, "invalid-device-id"), "{bad}");
    }
    for path in [format!("{devices}/{unknown}")] {
        let (status, body) = api.patch(&path, &kim, json!({"name": "x"})).await;
        assert_eq!((status, code(&body)), (404, "device-not-found"));
        let (status, body) = api.delete(&path, &kim).await;
        assert_eq!((status, code(&body)), (404, "device-not-found"));
    }
    let (status, body) = api.get("/v1/installations/not-an-id", &kim).await;
    assert_eq!((status, code(&body)), (404, "installation-not-found"));
    let (status, body) = api
        .get(&format!("/v1/device-key?device={unknown}"), &kim)
        .await;
    assert_eq!((status, code(&body)), (404, "device-not-found"));
    let (status, body) = api.get("/v1/device-key", &kim).await;
    assert_eq!((status, code(&body)), (400, "invalid-device-query"));
    let (status, body) = api
        .get(&format!("/v1/device-key?device={}", "A".repeat(100)), &kim)
        .await;
    assert_eq!((status, code(&body)), (400, "invalid-device-query"));
    let (status, body) = api.get("/v1/device-key?device=a&device=b", &kim).await;
    assert_eq!((status, code(&body)), (400, "invalid-device-query"));
    let (status, body) = api
        .post(&format!("/v1/devices/{unknown}/release"), &kim, json!({}))
        .await;
    assert_eq!((status, code(&body)), (404, "device-not-found"));
    server.stop().await;
}

/// A POST whose body comes in 1 KB chunks, with no `Content-Length`.
fn chunked_post(
    addr: std::net::SocketAddr,
    path: &str,
    session: &str,
    bytes: usize,
) -> (u16, Value) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(BOUND)).unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {session}\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).unwrap();
    for _ in 0..bytes / 1024 {
        // The server may answer and close before reading it all.
        if stream
            .write_all(format!("400\r\n{}\r\n", " ".repeat(1024)).as_bytes())
            .is_err()
        {
            break;
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n");
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let text = String::from_utf8_lossy(&response);
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let (_, body) = text.split_once("\r\n\r\n").unwrap_or_default();
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

async fn particle_failures_answer_502_with_a_code(db: Db) {
    let sim = simulator(1);
    let server = start(config(&sim, &db)).await;
    let api = Api::new(server.addr);
    let kim = session("kim");
    sim.cloud.lock().unwrap().inject(CloudFault {
        path_prefix: "/oauth/token".into(),
        status: 503,
        count: 1,
    });
    let (status, body) = api
        .call(Method::POST, "/v1/setup-token", Some(&kim), None)
        .await;
    assert_eq!((status, code(&body)), (502, "particle-error"));
    assert_eq!(
        body["error"]["message"],
        "The Particle API answered with HTTP 503."
    );
    api.setup_token(&kim).await;
    let installation = api.installation(&kim, "Flat").await;
    sim.cloud.lock().unwrap().inject(CloudFault {
        path_prefix: format!("/v1/products/{PRODUCT}/devices"),
        status: 500,
        count: 1,
    });
    let (status, body) = api
        .post(
            &format!("/v1/installations/{installation}/devices"),
            &kim,
            json!({"deviceId": device_id(&sim, 0), "name": "Lamp"}),
        )
        .await;
    assert_eq!((status, code(&body)), (502, "particle-error"));
    // The cached product token expired early (revoked): one 401, a new token, the answer.
    let minted = cloud_calls(&sim, "POST", "/oauth/token");
    sim.cloud.lock().unwrap().expire_tokens(sim.clock.now());
    let unknown = "0123456789abcdef01234567";
    let (status, body) = api
        .post(
            &format!("/v1/installations/{installation}/devices"),
            &kim,
            json!({"deviceId": unknown, "name": "Lamp"}),
        )
        .await;
    assert_eq!((status, code(&body)), (404, "device-not-found"));
    assert_eq!(
        cloud_calls(&sim, "POST", "/oauth/token"),
        minted + 1,
        "a new product token"
    );
    server.stop().await;

    let mut wrong_secret = config(&sim, &db);
    wrong_secret.particle.client_secret = softap_maker::secret::Secret::new("not-the-secret");
    let server = start(wrong_secret).await;
    let (status, body) = Api::new(server.addr)
        .call(Method::POST, "/v1/setup-token", Some(&session("lee")), None)
        .await;
    assert_eq!((status, code(&body)), (502, "particle-client-rejected"));
    assert!(!body.to_string().contains("not-the-secret"));
    server.stop().await;

    // Nothing listens there.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut unreachable = config(&sim, &db);
    unreachable.particle.api_url = reqwest::Url::parse(&format!("http://{closed}")).unwrap();
    let server = start(unreachable).await;
    let (status, body) = Api::new(server.addr)
        .call(Method::POST, "/v1/setup-token", Some(&session("lee")), None)
        .await;
    assert_eq!((status, code(&body)), (502, "particle-unreachable"));
    server.stop().await;
}

async fn cors_health_and_rate_limits(db: Db) {
    let sim = simulator(1);
    let mut limited = config(&sim, &db);
    limited.rate_limit_per_minute = 5;
    let server = start(limited).await;
    let http = reqwest::Client::new();
    let url = format!("http://{}/v1/setup-token", server.addr);
    let preflight = |origin: &'static str| {
        http.request(Method::OPTIONS, &url)
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .header("Access-Control-Request-Headers", "authorization")
            .send()
    };
    let allowed = preflight("http://127.0.0.1:8080").await.unwrap();
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "http://127.0.0.1:8080"
    );
    let methods = allowed.headers()["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        methods.contains("PATCH") && methods.contains("DELETE"),
        "{methods}"
    );
    let other = preflight("https://evil.example").await.unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());

    let health = http
        .get(format!("http://{}/healthz", server.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(health.json::<Value>().await.unwrap(), json!({"ok": true}));

    let api = Api::new(server.addr);
    let kim = session("kim");
    for _ in 0..5 {
        assert_eq!(api.get("/v1/installations", &kim).await.0, 200);
    }
    let response = http
        .get(format!("http://{}/v1/installations", server.addr))
        .bearer_auth(&kim)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    assert!(
        response.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1
    );
    assert_eq!(
        code(&response.json::<Value>().await.unwrap()),
        "rate-limited"
    );
    assert_eq!(
        api.get("/v1/installations", &session("lee")).await.0,
        200,
        "per user"
    );
    server.stop().await;
}

/// The binary, configured for the simulator through its environment only.
fn binary(sim: &softap_sim::Simulator, db: &Db) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_softap-maker"));
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("PARTICLE_API_URL", format!("http://{}", sim.cloud_addr))
        .env("PARTICLE_CLIENT_ID", CLIENT_ID)
        .env("PARTICLE_CLIENT_SECRET", CLIENT_SECRET)
        .env("PARTICLE_PRODUCT_ID", PRODUCT.to_string())
        .env("DATABASE_URL", &db.url)
        .env("LISTEN_ADDR", "127.0.0.1:0")
        .env("MAKER_JWT_SECRET", JWT_SECRET)
        .env("MAKER_SETUP_URL", "https://lumen.example/setup");
    command
}

async fn command_line_help_dev_token_and_import(db: Db) {
    let sim = simulator(2);
    let help = Command::new(env!("CARGO_BIN_EXE_softap-maker"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(help.status.success());
    let text = String::from_utf8(help.stdout).unwrap();
    for variable in [
        "PARTICLE_API_URL",
        "PARTICLE_CLIENT_ID",
        "PARTICLE_CLIENT_SECRET",
        "PARTICLE_PRODUCT_ID",
        "DATABASE_URL",
        "LISTEN_ADDR",
        "MAKER_JWT_SECRET",
        "MAKER_JWT_PUBLIC_KEY",
        "ALLOWED_ORIGINS",
    ] {
        assert!(text.contains(variable), "--help lists {variable}");
    }
    let missing = Command::new(env!("CARGO_BIN_EXE_softap-maker"))
        .env_clear()
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("is not set"));

    let minted = binary(&sim, &db)
        .args(["dev-token", "demo-user"])
        .output()
        .unwrap();
    assert!(minted.status.success());
    let token = String::from_utf8(minted.stdout).unwrap().trim().to_owned();
    let server = start(config(&sim, &db)).await;
    assert_eq!(
        Api::new(server.addr)
            .get("/v1/installations", &token)
            .await
            .0,
        200,
        "the server accepts it"
    );
    server.stop().await;

    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("batch-7.csv");
    std::fs::write(
        &csv,
        format!("{}{}nonsense\n", csv_line(&sim, 0), csv_line(&sim, 1)),
    )
    .unwrap();
    let run = || binary(&sim, &db).arg("import").arg(&csv).output().unwrap();
    let first = run();
    let report = String::from_utf8(first.stdout).unwrap();
    assert_eq!(first.status.code(), Some(1), "a refused line: {report}");
    assert!(
        report.contains(&format!("line 1: added {}", device_id(&sim, 0))),
        "{report}"
    );
    assert!(
        report.contains("line 3: refused: 1 fields; expected 3"),
        "{report}"
    );
    assert!(
        report.contains("added: 2, skipped: 0, refused: 1, labels: 2"),
        "{report}"
    );
    let labels = dir.path().join("batch-7-labels");
    assert!(labels.join(format!("{}.svg", device_id(&sim, 1))).exists());
    std::fs::write(&csv, csv_line(&sim, 0)).unwrap();
    let again = run();
    assert!(again.status.success());
    assert!(String::from_utf8(again.stdout)
        .unwrap()
        .contains("added: 0, skipped: 1, refused: 0"));
    let no_setup_url = binary(&sim, &db)
        .env_remove("MAKER_SETUP_URL")
        .arg("import")
        .arg(&csv)
        .output()
        .unwrap();
    assert_eq!(no_setup_url.status.code(), Some(2));
}

/// A running `softap-maker serve`, its log going to a file.
struct Served {
    child: Child,
    addr: String,
}

fn serve_binary(mut command: Command, log: &std::path::Path) -> Served {
    let mut child = command
        .env("RUST_LOG", "trace")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let printed: Value =
        serde_json::from_str(&line).unwrap_or_else(|_| panic!("the address line: {line:?}"));
    let addr = printed["listening"]
        .as_str()
        .unwrap()
        .trim_start_matches("http://")
        .to_owned();
    Served { child, addr }
}

impl Served {
    /// SIGTERM, as a service manager stops it, and the exit status.
    fn stop(mut self) -> std::process::ExitStatus {
        Command::new("kill")
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        self.child.wait().unwrap()
    }
}

async fn the_client_secret_and_tokens_never_reach_the_log(db: Db) {
    let sim = simulator(1);
    import(&sim, &db, &[0]).await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("server.log");
    let served = serve_binary(binary(&sim, &db), &log);
    let api = Api::new(served.addr.parse().unwrap());
    let kim = session("kim");
    let mut secrets = vec![CLIENT_SECRET.to_owned(), JWT_SECRET.to_owned(), kim.clone()];

    let token = api.setup_token(&kim).await;
    secrets.push(token.clone());
    let again = api.setup_token(&kim).await;
    secrets.push(again);
    let installation = api.installation(&kim, "Flat").await;
    let device = set_up(&sim, 0, &token).await;
    let path = format!("/v1/installations/{installation}/devices");
    assert_eq!(
        api.post(&path, &kim, json!({"deviceId": device, "name": "Lamp"}))
            .await
            .0,
        201
    );
    assert_eq!(
        api.get(&format!("/v1/installations/{installation}"), &kim)
            .await
            .0,
        200
    );
    assert_eq!(api.delete(&format!("{path}/{device}"), &kim).await.0, 204);
    let forged = format!("{kim}x");
    secrets.push(forged.clone());
    assert_eq!(api.get("/v1/installations", &forged).await.0, 401);
    sim.cloud.lock().unwrap().inject(CloudFault {
        path_prefix: "/oauth/token".into(),
        status: 500,
        count: 1,
    });
    assert_eq!(
        api.call(Method::POST, "/v1/setup-token", Some(&kim), None)
            .await
            .0,
        502
    );
    assert!(served.stop().success(), "a clean shutdown on SIGTERM");

    let text = std::fs::read_to_string(&log).unwrap();
    // The log is there and detailed (trace level, requests and Particle calls)…
    assert!(text.contains("softap-maker listening"), "{text}");
    assert!(
        text.contains("/v1/setup-token") && text.contains("Particle API call failed"),
        "{text}"
    );
    assert!(text.lines().count() > 20);
    // …and holds none of the secrets.
    for secret in &secrets {
        assert!(
            !text.contains(secret.as_str()),
            "a secret or token in the log"
        );
    }
    assert!(
        !text.to_ascii_lowercase().contains("bearer "),
        "no Authorization header in the log"
    );
    assert!(!text.contains("access_token"));
}

/// The figures of scripts/bench-server.sh (`--ignored bench`): per-request latency and
/// throughput of `POST /v1/setup-token` for an existing user, and the latency of an
/// installation of ten devices, all against the simulated cloud.
async fn bench(db: Db) {
    let sim = simulator(10);
    import(&sim, &db, &(0..10).collect::<Vec<_>>()).await;
    let server = start(config(&sim, &db)).await;
    let api = Api::new(server.addr);
    let kim = session("kim");
    let token = api.setup_token(&kim).await;
    let median = |mut samples: Vec<Duration>| {
        samples.sort();
        samples[samples.len() / 2].as_secs_f64() * 1000.0
    };

    let mut samples = Vec::new();
    for _ in 0..200 {
        let started = Instant::now();
        api.setup_token(&kim).await;
        samples.push(started.elapsed());
    }
    println!("maker_token_p50_ms: {:.2}", median(samples));

    let (requests, concurrency) = (1000, 16);
    let started = Instant::now();
    let workers = (0..concurrency).map(|_| {
        let (api, kim) = (api.clone(), kim.clone());
        tokio::spawn(async move {
            for _ in 0..requests / concurrency {
                api.setup_token(&kim).await;
            }
        })
    });
    for worker in futures_util::future::join_all(workers).await {
        worker.unwrap();
    }
    println!(
        "maker_token_rps: {:.0}",
        f64::from(requests) / started.elapsed().as_secs_f64()
    );

    let installation = api.installation(&kim, "Ten lamps").await;
    for index in 0..10 {
        let device = set_up(&sim, index, &token).await;
        let path = format!("/v1/installations/{installation}/devices");
        assert_eq!(
            api.post(
                &path,
                &kim,
                json!({"deviceId": device, "name": format!("Lamp {index}")})
            )
            .await
            .0,
            201
        );
    }
    let path = format!("/v1/installations/{installation}");
    let mut samples = Vec::new();
    for _ in 0..100 {
        let started = Instant::now();
        let (status, body) = api.get(&path, &kim).await;
        samples.push(started.elapsed());
        assert_eq!(
            (status, body["devices"].as_array().map(Vec::len)),
            (200, Some(10))
        );
    }
    println!("maker_installation_p50_ms: {:.2}", median(samples));
    server.stop().await;
}

fn main() -> ExitCode {
    let args = Arguments::from_args();
    let mut scenarios = scenarios::all();
    let local: Vec<(&'static str, Scenario)> = vec![
        (
            "bad_expired_and_wrongly_signed_sessions_are_refused",
            |db| Box::pin(bad_expired_and_wrongly_signed_sessions_are_refused(db)),
        ),
        ("hostile_bodies_and_unknown_devices", |db| {
            Box::pin(hostile_bodies_and_unknown_devices(db))
        }),
        ("particle_failures_answer_502_with_a_code", |db| {
            Box::pin(particle_failures_answer_502_with_a_code(db))
        }),
        ("cors_health_and_rate_limits", |db| {
            Box::pin(cors_health_and_rate_limits(db))
        }),
        ("command_line_help_dev_token_and_import", |db| {
            Box::pin(command_line_help_dev_token_and_import(db))
        }),
        ("the_client_secret_and_tokens_never_reach_the_log", |db| {
            Box::pin(the_client_secret_and_tokens_never_reach_the_log(db))
        }),
    ];
    scenarios.extend(local);
    let mut trials: Vec<Trial> = scenarios
        .into_iter()
        .map(|(name, scenario)| {
            Trial::test(format!("sqlite::{name}"), move || {
                run(scenario, Db::sqlite());
                Ok(())
            })
        })
        .collect();
    trials.push(
        Trial::test("bench", || {
            run(|db| Box::pin(bench(db)), Db::sqlite());
            Ok(())
        })
        .with_ignored_flag(true),
    );
    libtest_mimic::run(&args, trials).exit_code()
}
