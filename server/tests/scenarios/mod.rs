//! Scenarios that run on SQLite and on PostgreSQL alike: each gets a fresh database, a
//! simulator and servers of its own.

use std::collections::HashSet;

use futures_util::future::join_all;
use reqwest::Method;
use serde_json::{json, Value};
use softap_maker::factory::Outcome;
use softap_maker::release::ReleasePolicy;
use softap_sim::cloud::CloudFault;

use crate::common::*;

/// Every scenario, by name.
pub fn all() -> Vec<(&'static str, Scenario)> {
    vec![
        ("tokens_for_a_new_and_an_existing_user", |db| {
            Box::pin(tokens_for_a_new_and_an_existing_user(db))
        }),
        ("hundred_concurrent_first_calls_make_one_customer", |db| {
            Box::pin(hundred_concurrent_first_calls_make_one_customer(db))
        }),
        ("restart_keeps_everything", |db| {
            Box::pin(restart_keeps_everything(db))
        }),
        ("installations_are_isolated_between_users", |db| {
            Box::pin(installations_are_isolated_between_users(db))
        }),
        (
            "setup_reaches_claimed_and_the_installation_lists_it",
            |db| Box::pin(setup_reaches_claimed_and_the_installation_lists_it(db)),
        ),
        ("removing_releases_and_the_device_sets_up_again", |db| {
            Box::pin(removing_releases_and_the_device_sets_up_again(db))
        }),
        ("a_stale_record_never_releases_the_new_owner", |db| {
            Box::pin(a_stale_record_never_releases_the_new_owner(db))
        }),
        (
            "another_customers_device_follows_the_release_policy",
            |db| Box::pin(another_customers_device_follows_the_release_policy(db)),
        ),
        (
            "import_adds_good_lines_skips_duplicates_refuses_malformed",
            |db| {
                Box::pin(import_adds_good_lines_skips_duplicates_refuses_malformed(
                    db,
                ))
            },
        ),
    ]
}

async fn tokens_for_a_new_and_an_existing_user(db: Db) {
    let sim = simulator(1);
    let server = start(config(&sim, &db)).await;
    let api = Api::new(server.addr);
    let kim = session("kim@lumen.example");

    let first = api.setup_token(&kim).await;
    let customers = cloud_customers(&sim);
    assert_eq!(customers.len(), 1);
    let email = &customers[0];
    assert!(email.ends_with("@customers.invalid"), "{email}");
    assert!(
        !email.contains("kim"),
        "the user's real address never reaches Particle"
    );
    // The token is this customer's, as the element uses it: a claim code with it.
    let claim = reqwest::Client::new()
        .post(format!(
            "http://{}/v1/products/{PRODUCT}/device_claims",
            sim.cloud_addr
        ))
        .bearer_auth(&first)
        .send()
        .await
        .unwrap();
    assert_eq!(claim.status(), 200);

    let second = api.setup_token(&kim).await;
    assert_ne!(first, second, "a fresh token per call");
    assert_eq!(cloud_customers(&sim), customers, "the existing customer");
    let creations = cloud_calls(&sim, "POST", &format!("/v1/products/{PRODUCT}/customers"));
    assert_eq!(creations, 1);

    api.setup_token(&session("lee@lumen.example")).await;
    assert_eq!(cloud_customers(&sim).len(), 2);
    server.stop().await;
}

async fn hundred_concurrent_first_calls_make_one_customer(db: Db) {
    let sim = simulator(1);
    let server = start(config(&sim, &db)).await;
    let api = Api::new(server.addr);
    let kim = session("kim");
    let calls = (0..100).map(|_| {
        let (api, kim) = (api.clone(), kim.clone());
        tokio::spawn(async move {
            api.call(Method::POST, "/v1/setup-token", Some(&kim), None)
                .await
        })
    });
    let answers: Vec<(u16, Value)> = join_all(calls)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert!(
        answers.iter().all(|(status, _)| *status == 200),
        "{answers:?}"
    );
    let tokens: HashSet<&str> = answers
        .iter()
        .map(|(_, b)| b["access_token"].as_str().unwrap())
        .collect();
    assert_eq!(tokens.len(), 100);
    assert_eq!(cloud_customers(&sim).len(), 1, "exactly one customer");
    let store = softap_maker::store::Store::open(&db.url).await.unwrap();
    assert_eq!(store.customer_count().await.unwrap(), 1);
    store.close().await;
    server.stop().await;
}

async fn restart_keeps_everything(db: Db) {
    let sim = simulator(1);
    assert_eq!(
        import(&sim, &db, &[0])
            .await
            .count(|o| matches!(o, Outcome::Added { .. })),
        1
    );
    let server = start(config(&sim, &db)).await;
    let api = Api::new(server.addr);
    let kim = session("kim");
    let token = api.setup_token(&kim).await;
    let installation = api.installation(&kim, "Flat").await;
    let device = set_up(&sim, 0, &token).await;
    let path = format!("/v1/installations/{installation}/devices");
    let (status, _) = api
        .post(&path, &kim, json!({"deviceId": device, "name": "Hall"}))
        .await;
    assert_eq!(status, 201);
    let before = api
        .get(&format!("/v1/installations/{installation}"), &kim)
        .await
        .1;
    server.stop().await;

    let server = start(config(&sim, &db)).await;
    let api = Api::new(server.addr);
    let after = api
        .get(&format!("/v1/installations/{installation}"), &kim)
        .await
        .1;
    assert_eq!(after["devices"][0]["name"], "Hall");
    assert_eq!(after, before);
    let listed = api.get("/v1/installations", &kim).await.1;
    assert_eq!(listed["installations"][0]["deviceCount"], 1);
    let (status, key) = api
        .get(&format!("/v1/device-key?device={}", ap_name(&sim, 0)), &kim)
        .await;
    assert_eq!(status, 200, "the key records kept over the restart: {key}");
    assert_eq!(key["fingerprint"].as_str().map(str::len), Some(64));
    assert_eq!(
        key.get("deviceId"),
        None,
        "a lookup by name does not hand out the id a release asks for ({device})"
    );
    api.setup_token(&kim).await;
    assert_eq!(
        cloud_customers(&sim).len(),
        1,
        "the same customer after a restart"
    );
    assert_eq!(
        cloud_calls(&sim, "POST", &format!("/v1/products/{PRODUCT}/customers")),
        1
    );
    server.stop().await;
}

async fn installations_are_isolated_between_users(db: Db) {
    let sim = simulator(1);
    import(&sim, &db, &[0]).await;
    let server = start(config(&sim, &db)).await;
    let api = Api::new(server.addr);
    let (kim, lee) = (session("kim"), session("lee"));
    let kims = api.installation(&kim, "Kim's flat").await;
    let device = set_up(&sim, 0, &api.setup_token(&kim).await).await;
    let devices = format!("/v1/installations/{kims}/devices");
    assert_eq!(
        api.post(&devices, &kim, json!({"deviceId": device, "name": "Lamp"}))
            .await
            .0,
        201
    );

    assert_eq!(
        api.get("/v1/installations", &lee).await.1,
        json!({"installations": []})
    );
    let path = format!("/v1/installations/{kims}");
    for (method, body) in [
        (Method::GET, None),
        (Method::PATCH, Some(json!({"name": "Mine"}))),
        (Method::DELETE, None),
    ] {
        let (status, body) = api.call(method.clone(), &path, Some(&lee), body).await;
        assert_eq!(
            (status, code(&body)),
            (404, "installation-not-found"),
            "{method}"
        );
    }
    let (status, body) = api
        .post(&devices, &lee, json!({"deviceId": device, "name": "Mine"}))
        .await;
    assert_eq!((status, code(&body)), (404, "installation-not-found"));
    let (status, body) = api.delete(&format!("{devices}/{device}"), &lee).await;
    assert_eq!((status, code(&body)), (404, "installation-not-found"));
    // In an installation of their own, still not theirs: Particle says who owns it.
    let lees = api.installation(&lee, "Lee's house").await;
    let (status, body) = api
        .post(
            &format!("/v1/installations/{lees}/devices"),
            &lee,
            json!({"deviceId": device, "name": "Mine"}),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (409, "device-owned-by-another-customer")
    );

    let kept = api.get(&path, &kim).await.1;
    assert_eq!(
        (kept["name"].as_str(), kept["devices"][0]["name"].as_str()),
        (Some("Kim's flat"), Some("Lamp"))
    );
    assert_eq!(
        api.get("/v1/installations", &kim).await.1["installations"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    server.stop().await;
}

async fn setup_reaches_claimed_and_the_installation_lists_it(db: Db) {
    let sim = simulator(2);
    import(&sim, &db, &[0, 1]).await;
    let server = start(config(&sim, &db)).await;
    let api = Api::new(server.addr);
    let kim = session("kim");
    let installation = api.installation(&kim, "Holiday flat").await;
    let devices = format!("/v1/installations/{installation}/devices");

    // The element: token, then the device's key for sealed mode, then the setup.
    let token = api.setup_token(&kim).await;
    let (status, key) = api
        .get(
            &format!("/v1/device-key?device={}", ap_name(&sim, 0).to_lowercase()),
            &kim,
        )
        .await;
    assert_eq!(status, 200, "{key}");
    assert_eq!(
        key["publicKey"].as_str().unwrap().len(),
        162 * 2,
        "the key without the device's padding"
    );
    assert_eq!(key["fingerprint"].as_str().unwrap().len(), 64);

    // Before the device reaches the cloud, nobody owns it.
    let first = device_id(&sim, 0);
    let (status, body) = api
        .post(&devices, &kim, json!({"deviceId": first, "name": "Lamp"}))
        .await;
    assert_eq!((status, code(&body)), (409, "device-not-claimed"));

    for (index, name) in [(0, "Window lamp"), (1, "Desk lamp")] {
        let device = set_up(&sim, index, &token).await;
        let (status, body) = api
            .post(
                &devices,
                &kim,
                json!({"deviceId": device.to_uppercase(), "name": name}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(
            (body["deviceId"].as_str(), body["online"].as_bool()),
            (Some(device.as_str()), Some(true))
        );
    }
    let shown = api
        .get(&format!("/v1/installations/{installation}"), &kim)
        .await
        .1;
    let mut listed: Vec<(&str, &str, bool, bool)> = shown["devices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["deviceId"].as_str().unwrap(),
                d["name"].as_str().unwrap(),
                d["online"].as_bool().unwrap(),
                d["ownedByYou"].as_bool().unwrap(),
            )
        })
        .collect();
    let second = device_id(&sim, 1);
    // Listed by the second they were added, then by id.
    listed.sort_unstable();
    let mut expected = [
        (first.as_str(), "Window lamp", true, true),
        (second.as_str(), "Desk lamp", true, true),
    ];
    expected.sort_unstable();
    assert_eq!(listed, expected);
    assert!(shown["devices"][0]["lastHeard"]
        .as_str()
        .unwrap()
        .ends_with('Z'));

    // Renamed here and on Particle; offline once its power goes.
    let path = format!("{devices}/{first}");
    let (status, body) = api
        .patch(&path, &kim, json!({"name": "Reading lamp"}))
        .await;
    assert_eq!((status, body["name"].as_str()), (200, Some("Reading lamp")));
    let particle_name = sim
        .cloud
        .lock()
        .unwrap()
        .devices()
        .find(|d| d.id == first)
        .and_then(|d| d.name.clone());
    assert_eq!(particle_name.as_deref(), Some("Reading_lamp"));
    sim.cloud
        .lock()
        .unwrap()
        .device_disconnected(sim.clock.now(), &first);
    let shown = api
        .get(&format!("/v1/installations/{installation}"), &kim)
        .await
        .1;
    let renamed = shown["devices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["deviceId"] == first.as_str())
        .unwrap();
    assert_eq!(
        (renamed["name"].as_str(), renamed["online"].as_bool()),
        (Some("Reading lamp"), Some(false))
    );
    server.stop().await;
}

async fn removing_releases_and_the_device_sets_up_again(db: Db) {
    let sim = simulator(1);
    import(&sim, &db, &[0]).await;
    let server = start(config(&sim, &db)).await;
    let api = Api::new(server.addr);
    let (kim, lee) = (session("kim"), session("lee"));
    let kims = api.installation(&kim, "Flat").await;
    let device = set_up(&sim, 0, &api.setup_token(&kim).await).await;
    let path = format!("/v1/installations/{kims}/devices");
    assert_eq!(
        api.post(&path, &kim, json!({"deviceId": device, "name": "Lamp"}))
            .await
            .0,
        201
    );

    let (status, _) = api.delete(&format!("{path}/{device}"), &kim).await;
    assert_eq!(status, 204);
    assert_eq!(
        cloud_owner(&sim, &device),
        None,
        "released through the product API"
    );
    assert_eq!(
        api.get(&format!("/v1/installations/{kims}"), &kim).await.1["devices"],
        json!([])
    );
    let (status, body) = api.delete(&format!("{path}/{device}"), &kim).await;
    assert_eq!((status, code(&body)), (404, "device-not-found"));

    // Given to Lee, set up again from listening mode.
    sim.devices[0].reset();
    let lees = api.installation(&lee, "House").await;
    let again = set_up(&sim, 0, &api.setup_token(&lee).await).await;
    assert_eq!(again, device);
    let (status, body) = api
        .post(
            &format!("/v1/installations/{lees}/devices"),
            &lee,
            json!({"deviceId": device, "name": "Lamp"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    server.stop().await;
}

/// Kim's record outlives Kim's ownership (Lee took the lamp over with a claim code and never
/// recorded it): Kim removing it, or deleting the installation, forgets the record and leaves
/// Lee's claim alone.
async fn a_stale_record_never_releases_the_new_owner(db: Db) {
    let sim = simulator_with(
        2,
        softap_sim::cloud::ProductRules {
            import_required: true,
            claim_takes_over: true,
        },
    );
    import(&sim, &db, &[0, 1]).await;
    let server = start(config(&sim, &db)).await;
    let api = Api::new(server.addr);
    let (kim, lee) = (session("kim"), session("lee"));
    let kims = api.installation(&kim, "Flat").await;
    let path = format!("/v1/installations/{kims}/devices");
    let kim_token = api.setup_token(&kim).await;
    let mut taken = Vec::new();
    for index in [0, 1] {
        let device = set_up(&sim, index, &kim_token).await;
        let (status, body) = api
            .post(&path, &kim, json!({"deviceId": device, "name": "Lamp"}))
            .await;
        assert_eq!(status, 201, "{body}");
        let kims_owner = cloud_owner(&sim, &device);
        sim.devices[index].reset();
        set_up(&sim, index, &api.setup_token(&lee).await).await;
        let lees_owner = cloud_owner(&sim, &device);
        assert!(
            lees_owner.is_some() && lees_owner != kims_owner,
            "taken over"
        );
        taken.push((device, lees_owner));
    }
    let (device, lees_owner) = &taken[0];
    let (status, body) = api.delete(&format!("{path}/{device}"), &kim).await;
    assert_eq!(status, 204, "{body}");
    assert_eq!(&cloud_owner(&sim, device), lees_owner, "Lee's claim stays");
    assert_eq!(
        api.get(&format!("/v1/installations/{kims}"), &kim).await.1["devices"]
            .as_array()
            .map(Vec::len),
        Some(1),
        "Kim's record of it is gone"
    );
    let (status, body) = api.delete(&format!("/v1/installations/{kims}"), &kim).await;
    assert_eq!(status, 204, "{body}");
    let (device, lees_owner) = &taken[1];
    assert_eq!(&cloud_owner(&sim, device), lees_owner, "Lee's claim stays");
    server.stop().await;
}

async fn another_customers_device_follows_the_release_policy(db: Db) {
    let sim = simulator(1);
    import(&sim, &db, &[0]).await;
    let mut refusing = config(&sim, &db);
    refusing.release_policy = ReleasePolicy::Refuse;
    let server = start(refusing).await;
    let api = Api::new(server.addr);
    let (kim, lee) = (session("kim"), session("lee"));
    let kims = api.installation(&kim, "Flat").await;
    let device = set_up(&sim, 0, &api.setup_token(&kim).await).await;
    assert_eq!(
        api.post(
            &format!("/v1/installations/{kims}/devices"),
            &kim,
            json!({"deviceId": device, "name": "Lamp"})
        )
        .await
        .0,
        201
    );
    let kims_owner = cloud_owner(&sim, &device);

    // Lee sets it up: it comes online still Kim's (no takeover).
    sim.devices[0].reset();
    let lee_token = api.setup_token(&lee).await;
    set_up_unclaimed(&sim, 0, &lee_token).await;
    assert_eq!(cloud_owner(&sim, &device), kims_owner);
    let lees = api.installation(&lee, "House").await;
    let add = format!("/v1/installations/{lees}/devices");
    let (status, body) = api
        .post(&add, &lee, json!({"deviceId": device, "name": "Lamp"}))
        .await;
    assert_eq!(
        (status, code(&body)),
        (409, "device-owned-by-another-customer")
    );
    let release = format!("/v1/devices/{device}/release");
    let (status, body) = api.post(&release, &lee, json!({})).await;
    assert_eq!((status, code(&body)), (403, "release-refused"));
    assert_eq!(cloud_owner(&sim, &device), kims_owner);
    // Kim asking for Kim's own device: nothing to do.
    assert_eq!(
        api.post(&release, &kim, json!({})).await.1["status"],
        "yours"
    );
    server.stop().await;

    // Recorded by Kim: "unrecorded" refuses too.
    let mut unrecorded = config(&sim, &db);
    unrecorded.release_policy = ReleasePolicy::Unrecorded;
    let server = start(unrecorded).await;
    let api = Api::new(server.addr);
    let (status, body) = api.post(&release, &lee, json!({})).await;
    assert_eq!((status, code(&body)), (403, "release-refused"));
    server.stop().await;

    // "release": Lee gets it released, sets it up again, and Kim's record goes.
    let mut releasing = config(&sim, &db);
    releasing.release_policy = ReleasePolicy::Release;
    let server = start(releasing).await;
    let api = Api::new(server.addr);
    let (status, body) = api.post(&release, &lee, json!({})).await;
    assert_eq!(
        (status, body),
        (200, json!({"deviceId": device, "status": "released"}))
    );
    assert_eq!(cloud_owner(&sim, &device), None);
    assert_eq!(
        api.get(&format!("/v1/installations/{kims}"), &kim).await.1["devices"],
        json!([])
    );
    assert_eq!(
        api.post(&release, &lee, json!({})).await.1["status"],
        "unowned"
    );
    sim.devices[0].reset();
    set_up(&sim, 0, &api.setup_token(&lee).await).await;
    assert_eq!(
        api.post(&add, &lee, json!({"deviceId": device, "name": "Lamp"}))
            .await
            .0,
        201
    );
    let unknown = "0123456789abcdef01234567";
    let (status, body) = api
        .post(&format!("/v1/devices/{unknown}/release"), &lee, json!({}))
        .await;
    assert_eq!((status, code(&body)), (404, "device-not-found"));
    server.stop().await;
}

async fn import_adds_good_lines_skips_duplicates_refuses_malformed(db: Db) {
    let sim = simulator(3);
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("batch.csv");
    let labels = dir.path().join("labels");
    let lines = [
        "device_id,ap_name,public_key\n".to_owned(),
        csv_line(&sim, 0),
        csv_line(&sim, 1),
        csv_line(&sim, 0),
        "not-a-device,Photon-123456,00\n".to_owned(),
        format!("{},{},3003020100\n", device_id(&sim, 2), ap_name(&sim, 2)),
        format!("{},Photon-ABCDEF\n", device_id(&sim, 2)),
        format!(
            "0123456789abcdef01234567,Photon-234567,{}\n",
            device_key_hex(&sim, 2)
        ),
    ];
    let text = lines.concat();
    std::fs::write(&csv, text).unwrap();
    let store = softap_maker::store::Store::open(&db.url).await.unwrap();
    let particle = softap_maker::particle::Particle::new(config(&sim, &db).particle).unwrap();
    let setup = reqwest::Url::parse("https://lumen.example/setup").unwrap();

    // Particle failing: nothing recorded, no label written.
    sim.cloud.lock().unwrap().inject(CloudFault {
        path_prefix: format!("/v1/products/{PRODUCT}/devices"),
        status: 503,
        count: 1,
    });
    let failed = softap_maker::factory::import(&csv, &labels, &setup, &store, &particle).await;
    assert!(failed.is_err());
    assert!(!labels.exists());
    assert!(store
        .key_records(&[device_id(&sim, 0), device_id(&sim, 1)])
        .await
        .unwrap()
        .is_empty());

    let report = softap_maker::factory::import(&csv, &labels, &setup, &store, &particle)
        .await
        .unwrap();
    let by_line: Vec<(u64, &str)> = report
        .lines
        .iter()
        .map(|l| {
            (
                l.line,
                match &l.outcome {
                    Outcome::Added { .. } => "added",
                    Outcome::Skipped { .. } => "skipped",
                    Outcome::Refused { .. } => "refused",
                },
            )
        })
        .collect();
    assert_eq!(
        by_line,
        [
            (2, "added"),
            (3, "added"),
            (4, "skipped"),
            (5, "refused"),
            (6, "refused"),
            (7, "refused"),
            (8, "refused")
        ]
    );
    assert!(
        report
            .render()
            .contains("line 8: refused: Particle refused it as invalid"),
        "{}",
        report.render()
    );
    let recorded = store
        .key_records(&[device_id(&sim, 0), device_id(&sim, 1), device_id(&sim, 2)])
        .await
        .unwrap();
    assert_eq!(recorded.len(), 2);
    let owned: Vec<bool> = sim
        .cloud
        .lock()
        .unwrap()
        .devices()
        .map(|d| d.in_product)
        .collect();
    assert_eq!(
        owned.iter().filter(|in_product| **in_product).count(),
        2,
        "two devices added to the product"
    );

    // Labels: the setup link with name and fingerprint, as a QR code.
    let svg = std::fs::read_to_string(labels.join(format!("{}.svg", device_id(&sim, 0)))).unwrap();
    assert!(svg.contains(&format!(">{}</text>", ap_name(&sim, 0))));
    let index = std::fs::read_to_string(labels.join("labels.csv")).unwrap();
    let link = format!(
        "https://lumen.example/setup?device-name={}&expected-fingerprint={}",
        ap_name(&sim, 0),
        recorded
            .iter()
            .find(|r| r.device_id == device_id(&sim, 0))
            .unwrap()
            .fingerprint
    );
    assert!(index.contains(&link), "{index}");

    // Again: nothing new, the labels written again.
    std::fs::remove_dir_all(&labels).unwrap();
    let again = softap_maker::factory::import(&csv, &labels, &setup, &store, &particle)
        .await
        .unwrap();
    assert_eq!(again.count(|o| matches!(o, Outcome::Added { .. })), 0);
    assert_eq!(again.count(|o| matches!(o, Outcome::Skipped { .. })), 3);
    assert_eq!(again.labels, 2);
    assert!(labels.join(format!("{}.svg", device_id(&sim, 1))).exists());
    store.close().await;
}
