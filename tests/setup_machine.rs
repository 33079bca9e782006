//! The setup machine against the simulated device and cloud, in-process on a virtual clock:
//! whole setups, every fault the simulator injects, both firmware profiles, every security
//! type, and the cloud wait's paths. No sockets and no sleeps; times below are virtual.
#![cfg(not(target_arch = "wasm32"))]

mod harness;

use harness::{Network, Options, World};
use softap_sim::device::Firmware;
use softap_sim::life::{Faults, Mode};
use softap_web::protocol::setup::{Operation, Outcome, Peer, Step};
use softap_web::protocol::{Error, Field, Fingerprint, NameOrNumber, NetworkOptions};

const MINUTE: u64 = 60_000;

fn wpa2() -> NetworkOptions {
    NetworkOptions {
        ssid: "Home WiFi".into(),
        security: Some(NameOrNumber::Number(4194310)),
        password: Some("correct horse".into()),
        ..Default::default()
    }
}

fn network(ssid: &str, security: i64, password: Option<&str>) -> NetworkOptions {
    NetworkOptions {
        ssid: ssid.into(),
        security: Some(NameOrNumber::Number(security)),
        password: password.map(str::to_owned),
        ..Default::default()
    }
}

fn wait_for_cloud(watch_device: bool) -> Operation {
    Operation::WaitForCloud {
        device_id: None,
        timeout_ms: 10 * MINUTE,
        interval_ms: 3_000,
        watch_device,
        claim_unowned: false,
    }
}

/// The customer's whole setup, as the element runs it: the step that failed, if one did.
fn setup(world: &mut World, network: NetworkOptions) -> Result<String, (Step, Error)> {
    let fail = |step| move |e| (step, e);
    world
        .call(Operation::Prepare { devices: 1 }, true, MINUTE)
        .map_err(fail(Step::Preparing))?;
    world.join_device_network();
    world
        .call(
            Operation::WaitForDevice {
                timeout_ms: 5 * MINUTE,
                interval_ms: 2_000,
            },
            true,
            6 * MINUTE,
        )
        .map_err(fail(Step::WaitingForDevice))?;
    let Outcome::Networks(list) = world
        .call(Operation::Scan, true, 2 * MINUTE)
        .map_err(fail(Step::Scanning))?
    else {
        panic!("scan gives networks");
    };
    assert!(list.iter().any(|n| n.ssid == network.ssid) || network.ssid == "Hidden");
    world
        .call(
            Operation::Configure {
                network,
                claim: true,
            },
            true,
            5 * MINUTE,
        )
        .map_err(fail(Step::Configuring))?;
    world
        .call(Operation::Connect, true, MINUTE)
        .map_err(fail(Step::Connecting))?;
    match world
        .call(wait_for_cloud(true), true, 11 * MINUTE)
        .map_err(fail(Step::WaitingForCloud))?
    {
        Outcome::Claimed { device_id } => Ok(device_id),
        other => panic!("{other:?}"),
    }
}

fn device_requests(world: &World) -> Vec<String> {
    world
        .device_log()
        .into_iter()
        .map(|e| format!("{} {}", e.path, e.status))
        .collect()
}

#[test]
fn a_whole_setup_ends_claimed_with_six_device_requests() {
    let mut world = World::new(Options::default());
    let id = setup(&mut world, wpa2()).unwrap();
    assert_eq!(id, world.device_id);
    assert_eq!(world.owner().as_deref(), Some(world.customer.as_str()));
    assert_eq!(
        device_requests(&world),
        [
            "/device-id 200",
            "/public-key 200",
            "/scan-ap 200",
            "/set 200",
            "/configure-ap 200",
            "/connect-ap 200"
        ]
    );
    assert_eq!(world.client.devices(), [world.device_id.clone()]);
    let steps: Vec<Step> = world.progress.iter().map(|p| p.step).collect();
    assert_eq!(
        steps,
        [
            Step::Preparing,
            Step::WaitingForDevice,
            Step::DeviceFound,
            Step::Scanning,
            Step::Configuring,
            Step::Connecting,
            Step::WaitingForCloud,
            Step::Claimed
        ]
    );
}

#[test]
fn the_customer_names_their_device_in_the_cloud_after_setup() {
    let mut world = World::new(Options::default());
    let id = setup(&mut world, wpa2()).unwrap();
    let name_in_cloud = |world: &World| {
        world
            .cloud
            .devices()
            .find(|d| d.id == world.device_id)
            .and_then(|d| d.name.clone())
    };
    let rename = |name: &str| Operation::RenameDevice {
        device_id: id.to_ascii_uppercase(),
        name: name.into(),
    };
    assert_eq!(
        world.call(rename("  Küchenlampe  "), false, MINUTE),
        Ok(Outcome::Done)
    );
    assert_eq!(name_in_cloud(&world).as_deref(), Some("Küchenlampe"));
    // Refused before anything is sent: empty, too long, control characters.
    let requests = world.sent.len();
    for (name, code) in [
        ("   ", "missing-field"),
        (&"x".repeat(65)[..], "field-too-long"),
        ("Lamp\n2", "unsupported-character"),
    ] {
        let error = world.call(rename(name), false, MINUTE).unwrap_err();
        assert_eq!(
            (error.code(), error.field()),
            (code, Some(Field::DeviceName))
        );
    }
    assert_eq!(
        world.sent.len(),
        requests,
        "nothing sent for a refused name"
    );
    assert_eq!(name_in_cloud(&world).as_deref(), Some("Küchenlampe"));
    // Another customer's device is not theirs to name.
    world
        .cloud
        .set_owner(&world.device_id.clone(), Some("someone-else"));
    let error = world.call(rename("Mine now"), false, MINUTE).unwrap_err();
    assert_eq!(error, Error::CloudError { status: 403 });
}

#[test]
fn looks_for_the_device_pause_while_the_page_is_hidden_and_resume_at_once_when_it_shows() {
    let mut world = World::new(Options::default());
    world
        .call(Operation::Prepare { devices: 1 }, true, MINUTE)
        .unwrap();
    let looks = |world: &World| {
        world
            .sent
            .iter()
            .filter(|(_, peer, _)| *peer == Peer::Device)
            .count()
    };
    // The customer is still on the home network: the looks fail, one every two seconds.
    let op = world.start(
        Operation::WaitForDevice {
            timeout_ms: 5 * MINUTE,
            interval_ms: 2_000,
        },
        true,
    );
    world.wait(10_000);
    let before = looks(&world);
    assert!(before >= 4, "{before} looks in 10 s");
    // The phone's Wi-Fi settings in front: the page is hidden. Not one look for a minute,
    // while the customer joins the device's network.
    world.client.set_visible(world.now, false);
    world.wait(1_000);
    let hidden = looks(&world);
    assert!(hidden <= before + 1, "at most the look under way");
    world.join_device_network();
    world.wait(MINUTE);
    assert_eq!(looks(&world), hidden, "no look while hidden");
    // Back on the page: a look at once finds the device.
    let shown_at = world.now;
    world.client.set_visible(world.now, true);
    world.pump();
    let found = world.run(op, MINUTE).unwrap();
    assert!(matches!(found, Outcome::Device(_)), "{found:?}");
    assert!(
        world.now - shown_at < 1_000,
        "found {} ms after",
        world.now - shown_at
    );
}

#[test]
fn a_wait_for_the_device_ends_at_its_deadline_even_while_the_page_is_hidden() {
    let mut world = World::new(Options::default());
    let op = world.start(
        Operation::WaitForDevice {
            timeout_ms: MINUTE,
            interval_ms: 2_000,
        },
        true,
    );
    world.wait(5_000);
    world.client.set_visible(world.now, false);
    let hidden_at = world.now;
    let ended = world.run(op, 2 * MINUTE);
    assert_eq!(ended, Err(Error::DeviceUnreachable));
    assert!(
        world.now <= hidden_at + MINUTE,
        "ended at {} ms, the deadline was {} ms",
        world.now,
        MINUTE
    );
}

#[test]
fn the_event_stream_reports_the_claim_within_the_clouds_latency() {
    let mut world = World::new(Options::default());
    setup(&mut world, wpa2()).unwrap();
    // The claim was seen from the stream: the wait ended within a few of the cloud's one-way
    // delays of the device coming online, long before the next poll (30 s away).
    let online_at = world.device.online_at().expect("the device came online");
    let seen_after = world.now - online_at;
    assert!(
        seen_after <= 5 * Options::default().cloud_latency_ms,
        "claimed {seen_after} ms after the device came online"
    );
    let polls = world
        .sent
        .iter()
        .filter(|(_, peer, url)| *peer == Peer::Cloud && url.ends_with("/v1/devices"))
        .count();
    assert!(
        polls <= 3,
        "the stream, not polling, found the device: {polls} polls"
    );
}

#[test]
fn every_security_type_is_configured_and_joins() {
    let cert = include_str!("fixtures/client-cert.pem");
    let key = include_str!("fixtures/client-key.pem");
    let cases = [
        network("Guest", 0, None),
        network("Old WEP", 1, Some("abcde")),
        network("Café Übersee", 4194308, Some("grüße-123")),
        wpa2(),
        NetworkOptions {
            eap: Some(NameOrNumber::Name("peap".into())),
            inner_identity: Some("alice".into()),
            ..network("Corp", 37748742, Some("enterprise secret"))
        },
        NetworkOptions {
            eap: Some(NameOrNumber::Name("tls".into())),
            client_certificate: Some(cert.into()),
            private_key: Some(key.into()),
            ..network("Lab TLS", 37748740, None)
        },
    ];
    for (i, options) in cases.into_iter().enumerate() {
        let ssid = options.ssid.clone();
        let mut world = World::new(Options {
            seed: i as u64,
            ..Options::default()
        });
        assert!(setup(&mut world, options).is_ok(), "{ssid}");
        assert_eq!(world.device.joined(), Some(ssid.as_str()));
    }
}

#[test]
fn firmware_0_6_never_ends_its_bodies_and_is_still_set_up() {
    let mut world = World::new(Options {
        firmware: Firmware::V06,
        ..Options::default()
    });
    setup(&mut world, wpa2()).unwrap();
    assert_eq!(
        world.client.body_ending(),
        softap_web::protocol::setup::BodyEnding::Never
    );
    // The replies that never end were aborted, not left open for their deadlines.
    assert!(world.aborted.len() >= 5);
}

#[test]
fn enterprise_on_firmware_0_6_is_refused_before_sending() {
    let mut world = World::new(Options {
        firmware: Firmware::V06,
        ..Options::default()
    });
    let peap = NetworkOptions {
        eap: Some(NameOrNumber::Name("peap".into())),
        inner_identity: Some("alice".into()),
        ..network("Corp", 37748742, Some("enterprise secret"))
    };
    let failed = setup(&mut world, peap).unwrap_err();
    assert_eq!(failed, (Step::Configuring, Error::FirmwareTooOld));
    assert!(!device_requests(&world)
        .iter()
        .any(|r| r.starts_with("/configure-ap")));
}

#[test]
fn enterprise_on_0_6_is_refused_as_soon_as_the_keys_reply_shows_the_firmware() {
    // configure-ap straight away: the key is read first, and its reply never ends.
    let mut world = World::new(Options {
        firmware: Firmware::V06,
        ..Options::default()
    });
    world
        .call(Operation::Prepare { devices: 1 }, true, MINUTE)
        .unwrap();
    world.join_device_network();
    let peap = NetworkOptions {
        eap: Some(NameOrNumber::Name("peap".into())),
        inner_identity: Some("alice".into()),
        ..network("Corp", 37748742, Some("enterprise secret"))
    };
    let started = world.now;
    let result = world.call(
        Operation::Configure {
            network: peap,
            claim: false,
        },
        false,
        5 * MINUTE,
    );
    // public-key taught the client that 0.6 never ends its bodies: refused before sending.
    assert_eq!(result, Err(Error::FirmwareTooOld));
    assert!(world.now - started < 1_000);
    let configures = device_requests(&world)
        .iter()
        .filter(|r| r.starts_with("/configure-ap"))
        .count();
    assert_eq!(configures, 0);
}

#[test]
fn dropped_connections_and_busy_devices_are_retried_for_reads() {
    let mut world = World::new(Options {
        faults: Faults {
            drop_next: 2,
            drop_command: "scan-ap".into(),
            busy_next: 1,
            ..Faults::default()
        },
        ..Options::default()
    });
    setup(&mut world, wpa2()).unwrap();
    let log = device_requests(&world);
    assert_eq!(
        log[0], " busy",
        "the first connection found the device busy"
    );
    assert_eq!(
        log.iter()
            .filter(|r| r.as_str() == "/scan-ap dropped")
            .count(),
        2
    );
}

#[test]
fn configure_ap_is_resent_after_a_drop_before_any_reply_byte() {
    let mut world = World::new(Options {
        faults: Faults {
            drop_next: 1,
            drop_command: "configure-ap".into(),
            ..Faults::default()
        },
        ..Options::default()
    });
    setup(&mut world, wpa2()).unwrap();
    let configures: Vec<String> = device_requests(&world)
        .into_iter()
        .filter(|r| r.starts_with("/configure-ap"))
        .collect();
    assert_eq!(configures, ["/configure-ap dropped", "/configure-ap 200"]);
}

#[test]
fn a_lost_connect_reply_is_probably_connecting_and_never_resent() {
    let mut world = World::new(Options {
        faults: Faults {
            lose_connect_reply: true,
            ..Faults::default()
        },
        ..Options::default()
    });
    setup(&mut world, wpa2()).unwrap();
    let connects = device_requests(&world)
        .iter()
        .filter(|r| r.starts_with("/connect-ap"))
        .count();
    assert_eq!(connects, 1);
    assert!(world.owner().is_some());
}

#[test]
fn a_slow_scan_and_latency_are_waited_out() {
    let mut world = World::new(Options {
        faults: Faults {
            latency_ms: 1_500,
            slow_scan_ms: 2_000,
            ..Faults::default()
        },
        ..Options::default()
    });
    setup(&mut world, wpa2()).unwrap();
}

#[test]
fn a_reboot_mid_setup_fails_typed_and_the_next_try_reuses_the_claim_code() {
    let mut world = World::new(Options {
        faults: Faults {
            reboot_after: "set".into(),
            reboot_ms: 3_000,
            ..Faults::default()
        },
        ..Options::default()
    });
    // The device reboots once its `set` is answered: configure-ap finds it gone, and the
    // retries (750 ms) end before it is back.
    let failed = setup(&mut world, wpa2()).unwrap_err();
    assert_eq!(failed, (Step::Configuring, Error::DeviceUnreachable));
    assert!(world.device.modes().contains(&Mode::Rebooting));
    // The customer joins the device again and tries once more.
    world.wait(5_000);
    world.join_device_network();
    world
        .call(
            Operation::Configure {
                network: wpa2(),
                claim: true,
            },
            true,
            5 * MINUTE,
        )
        .unwrap();
    world.call(Operation::Connect, true, MINUTE).unwrap();
    let claimed = world.call(wait_for_cloud(false), true, 11 * MINUTE);
    assert!(
        matches!(claimed, Ok(Outcome::Claimed { .. })),
        "{claimed:?}"
    );
    assert_eq!(world.client.claim_codes_ready(), 0, "one code, used twice");
}

#[test]
fn a_flooding_device_is_refused_at_the_cap() {
    let mut world = World::new(Options {
        faults: Faults {
            flood_command: "scan-ap".into(),
            flood_bytes: 4 << 20,
            ..Faults::default()
        },
        ..Options::default()
    });
    let failed = setup(&mut world, wpa2()).unwrap_err();
    assert_eq!(failed.0, Step::Scanning);
    assert!(
        matches!(failed.1, Error::InvalidResponse { .. }),
        "{failed:?}"
    );
}

#[test]
fn a_wrong_password_comes_back_as_a_failed_join_where_the_device_is_seen() {
    let mut world = World::new(Options {
        rejoin_access_point: true,
        ..Options::default()
    });
    let wrong = network("Home WiFi", 4194310, Some("wrong horse"));
    let failed = setup(&mut world, wrong).unwrap_err();
    assert_eq!(failed, (Step::WaitingForCloud, Error::JoinFailed));
    // Back to the password: the claim code is reused, and the right one gets it online.
    world.join_device_network();
    world
        .call(
            Operation::Configure {
                network: wpa2(),
                claim: true,
            },
            true,
            5 * MINUTE,
        )
        .unwrap();
    world.call(Operation::Connect, true, MINUTE).unwrap();
    let claimed = world.call(wait_for_cloud(true), true, 11 * MINUTE);
    assert!(
        matches!(claimed, Ok(Outcome::Claimed { .. })),
        "{claimed:?}"
    );
    let sets = device_requests(&world)
        .iter()
        .filter(|r| r.starts_with("/set"))
        .count();
    assert_eq!(sets, 2, "the same claim code, sent again");
    assert_eq!(world.client.claim_codes_ready(), 0);
}

#[test]
fn the_next_device_is_not_held_to_the_last_ones_fingerprint() {
    let mut world = World::new(Options::default());
    world.client.next_device(Some(Fingerprint([7; 32])));
    world.client.next_device(None);
    assert!(setup(&mut world, wpa2()).is_ok());
}

#[test]
fn a_wrong_password_unseen_times_out() {
    let mut world = World::new(Options::default());
    let wrong = network("Home WiFi", 4194310, Some("wrong horse"));
    let failed = setup(&mut world, wrong).unwrap_err();
    assert_eq!(failed, (Step::WaitingForCloud, Error::ClaimTimeout));
}

#[test]
fn a_wrong_fingerprint_sends_nothing_secret() {
    let mut world = World::new(Options::default());
    world.client.next_device(Some(Fingerprint([7; 32])));
    let failed = setup(&mut world, wpa2()).unwrap_err();
    assert_eq!(failed, (Step::WaitingForDevice, Error::FingerprintMismatch));
    assert_eq!(
        device_requests(&world),
        ["/device-id 200", "/public-key 200"]
    );
}

#[test]
fn an_expired_token_is_reported_then_a_fresh_one_finishes_the_wait() {
    let mut world = World::new(Options::default());
    world
        .call(Operation::Prepare { devices: 1 }, true, MINUTE)
        .unwrap();
    world.join_device_network();
    world
        .call(
            Operation::WaitForDevice {
                timeout_ms: MINUTE,
                interval_ms: 2_000,
            },
            true,
            2 * MINUTE,
        )
        .unwrap();
    world
        .call(
            Operation::Configure {
                network: wpa2(),
                claim: true,
            },
            true,
            5 * MINUTE,
        )
        .unwrap();
    world.call(Operation::Connect, true, MINUTE).unwrap();
    world.cloud.expire_tokens(world.now);
    let stale = world.call(wait_for_cloud(false), true, 11 * MINUTE);
    assert_eq!(stale, Err(Error::TokenExpired));
    let customer = world.customer.clone();
    let fresh = harness::mint_customer_token(&mut world.cloud, &customer);
    world.client.set_access_token(&fresh).unwrap();
    let claimed = world.call(wait_for_cloud(false), true, 11 * MINUTE);
    assert!(
        matches!(claimed, Ok(Outcome::Claimed { .. })),
        "{claimed:?}"
    );
}

#[test]
fn a_device_owned_by_another_customer_is_reported_as_such() {
    let mut world = World::new(Options::default());
    // Someone else set this device up before (sold on, given away).
    harness::mint_customer_token(&mut world.cloud, "someone-else@example.com");
    let id = world.device_id.clone();
    assert!(!world.cloud.device_connected(0, &id, None));
    world.cloud.set_owner(&id, Some("someone-else@example.com"));
    world.cloud.device_disconnected(0, &id);
    let failed = setup(&mut world, wpa2()).unwrap_err();
    assert_eq!(failed, (Step::WaitingForCloud, Error::ClaimedByAnother));
}

#[test]
fn a_device_named_only_by_its_id_is_never_claimed_outright() {
    let mut world = World::new(Options::default());
    // Online, nobody's: what a crafted return link could name.
    let id = world.device_id.clone();
    world.cloud.device_connected(0, &id, None);
    let wait = |claim_unowned| Operation::WaitForCloud {
        device_id: Some(id.clone()),
        timeout_ms: 2 * MINUTE,
        interval_ms: 3_000,
        watch_device: false,
        claim_unowned,
    };
    assert_eq!(
        world.call(wait(false), false, 3 * MINUTE),
        Err(Error::ClaimTimeout)
    );
    assert_eq!(world.owner(), None, "only watched, never claimed");
    // The page that sent this customer to the device page, with its code, says so.
    let claimed = world.call(wait(true), false, 3 * MINUTE);
    assert!(
        matches!(claimed, Ok(Outcome::Claimed { .. })),
        "{claimed:?}"
    );
    assert_eq!(world.owner().as_deref(), Some(world.customer.as_str()));
}

#[test]
fn two_devices_in_a_row_each_get_a_claim_code_fetched_ahead() {
    let mut world = World::new(Options::default());
    let ready = world
        .call(Operation::Prepare { devices: 2 }, true, MINUTE)
        .unwrap();
    assert_eq!(ready, Outcome::Prepared { ready: 2 });
    world.join_device_network();
    for round in 0..2 {
        world
            .call(
                Operation::WaitForDevice {
                    timeout_ms: 5 * MINUTE,
                    interval_ms: 2_000,
                },
                true,
                6 * MINUTE,
            )
            .unwrap();
        world
            .call(
                Operation::Configure {
                    network: wpa2(),
                    claim: true,
                },
                true,
                5 * MINUTE,
            )
            .unwrap();
        world.call(Operation::Connect, true, MINUTE).unwrap();
        let claimed = world.call(wait_for_cloud(false), true, 11 * MINUTE);
        assert!(
            matches!(claimed, Ok(Outcome::Claimed { .. })),
            "round {round}"
        );
        if round == 0 {
            // The next lamp at the same address: the customer plugs it in and joins it.
            let key = harness::device_key(1);
            let id = harness::device_id(2);
            world.cloud.manufacture(&id);
            let now = world.now;
            world
                .device
                .reset(now, &mut world.cloud, Some((id.clone(), key)));
            world.device_id = id.to_ascii_lowercase();
            world.client.next_device(None);
            world.join_device_network();
        }
    }
    assert_eq!(world.client.devices().len(), 2);
    assert_eq!(world.client.claim_codes_ready(), 0);
}

#[test]
fn cancel_ends_a_wait_at_once_and_aborts_its_requests() {
    let mut world = World::new(Options::default());
    world.join_device_network();
    world.device.set_faults(Faults {
        latency_ms: 5_000,
        ..Faults::default()
    });
    let op = world.start(
        Operation::WaitForDevice {
            timeout_ms: MINUTE,
            interval_ms: 2_000,
        },
        true,
    );
    world.wait(1_000);
    world.client.cancel(world.now);
    world.pump();
    assert_eq!(world.run(op, 1), Err(Error::Cancelled));
    assert_eq!(world.aborted.len(), 1);
    let later = world.call(Operation::Scan, false, 1_000);
    assert_eq!(later, Err(Error::Cancelled));
}

#[test]
fn the_customer_offline_on_the_device_network_is_not_an_error_while_waiting() {
    // Still on the device's network (no internet) when the wait begins: calm retries, then
    // the claim once the phone is home.
    let mut world = World::new(Options {
        fallback_ms: 90_000,
        ..Options::default()
    });
    setup(&mut world, wpa2()).unwrap();
    assert_eq!(world.phone, Network::Home);
}

#[test]
fn a_struggling_cloud_is_waited_out_with_backoff() {
    let mut world = World::new(Options::default());
    world.cloud.inject(softap_sim::cloud::CloudFault {
        path_prefix: "/v1/products".into(),
        status: 503,
        count: 2,
    });
    world.cloud.inject(softap_sim::cloud::CloudFault {
        path_prefix: "/v1/devices".into(),
        status: 500,
        count: 4,
    });
    setup(&mut world, wpa2()).unwrap();
    // The claim code asked for three times, each pause twice the last (1 s, then 2 s).
    let asked: Vec<u64> = world
        .sent
        .iter()
        .filter(|(_, peer, url)| *peer == Peer::Cloud && url.ends_with("/device_claims"))
        .map(|&(at, _, _)| at)
        .collect();
    assert_eq!(asked.len(), 3, "{asked:?}");
    let pauses = [asked[1] - asked[0], asked[2] - asked[1]];
    assert!(
        (1_000..2_000).contains(&pauses[0]) && (2_000..3_000).contains(&pauses[1]),
        "pauses {pauses:?}"
    );
}
