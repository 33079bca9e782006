//! The setup machine fed any sequence of inputs: operations started, heads, bodies, ends and
//! failures for whatever it sent, time passing, cancel. Never a panic, and every operation
//! finishes once time runs on long enough.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use softap_web::protocol::cloud::CloudConfig;
use softap_web::protocol::setup::{
    Event, NetFailure, Operation, Peer, Setup, SetupConfig, Transmit, TransmitId,
};
use softap_web::protocol::{NameOrNumber, NetworkOptions};

fn operation(byte: u8) -> Operation {
    let wpa2 = NetworkOptions {
        ssid: "Home".into(),
        security: Some(NameOrNumber::Number(4194310)),
        password: Some("correct horse".into()),
        ..Default::default()
    };
    match byte % 11 {
        0 => Operation::Version,
        1 => Operation::DeviceInfo,
        2 => Operation::PublicKey,
        3 => Operation::Scan,
        4 => Operation::Configure {
            network: wpa2,
            claim: byte & 0x10 != 0,
        },
        5 => Operation::Connect,
        6 => Operation::Prepare {
            devices: 1 + u32::from(byte >> 6),
        },
        7 => Operation::WaitForDevice {
            timeout_ms: 60_000,
            interval_ms: 2_000,
        },
        8 => Operation::CreateClaimCode,
        9 => Operation::RenameDevice {
            device_id: "3a0020001847333531323bcf".into(),
            name: ["Kitchen lamp", "", "x\n"][usize::from(byte >> 6) % 3].into(),
        },
        _ => Operation::WaitForCloud {
            device_id: Some("3a0020001847333531323bcf".into()),
            timeout_ms: 120_000,
            interval_ms: 3_000,
            watch_device: byte & 0x10 != 0,
            claim_unowned: byte & 0x20 != 0,
        },
    }
}

fuzz_target!(|data: &[u8]| {
    let mut config = SetupConfig::new("http://192.168.0.1");
    config.cloud =
        Some(CloudConfig::new("https://api.particle.io", "token", Some("1".into())).unwrap());
    let mut setup = Setup::new(config, ChaCha20Rng::seed_from_u64(0));
    let mut now = 0u64;
    let mut open: Vec<(TransmitId, Peer)> = Vec::new();
    let mut started = 0usize;
    let mut finished = 0usize;
    let mut bytes = data.iter().copied();
    let drain = |setup: &mut Setup<ChaCha20Rng>,
                 open: &mut Vec<(TransmitId, Peer)>,
                 finished: &mut usize| {
        while let Some(t) = setup.poll_transmit() {
            match t {
                Transmit::Send(o) => open.push((o.id, o.peer)),
                Transmit::Abort(id) => open.retain(|(t, _)| *t != id),
            }
        }
        while let Some(event) = setup.poll_event() {
            if matches!(event, Event::Finished { .. }) {
                *finished += 1;
            }
        }
    };
    while let Some(action) = bytes.next() {
        let arg = bytes.next().unwrap_or(0);
        match action % 8 {
            0 => {
                setup.start(now, operation(arg), arg & 0x20 != 0);
                started += 1;
            }
            1 | 2 | 3 if !open.is_empty() => {
                let (id, _) = open[usize::from(arg) % open.len()];
                match action % 8 {
                    1 => {
                        setup.handle_head(now, id, [200, 200, 200, 503, 404][usize::from(arg) % 5])
                    }
                    2 => {
                        let len = usize::from(bytes.next().unwrap_or(0));
                        let chunk: Vec<u8> = bytes.by_ref().take(len).collect();
                        setup.handle_data(now, id, &chunk);
                    }
                    _ => {
                        open.retain(|(t, _)| *t != id);
                        if arg & 1 == 0 {
                            setup.handle_end(now, id);
                        } else {
                            setup.handle_failure(now, id, NetFailure::Network { permission: None });
                        }
                    }
                }
            }
            4 | 5 => {
                now += u64::from(arg) * 97;
                setup.handle_timeout(now);
            }
            6 if arg == 0 => setup.cancel(now),
            _ => {}
        }
        drain(&mut setup, &mut open, &mut finished);
    }
    // Run the clock on, failing whatever is still open: everything finishes.
    for _ in 0..10_000 {
        if finished == started {
            break;
        }
        for (id, _) in std::mem::take(&mut open) {
            setup.handle_failure(now, id, NetFailure::Network { permission: None });
            drain(&mut setup, &mut open, &mut finished);
        }
        match setup.poll_timeout() {
            Some(at) => now = now.max(at),
            None => now += 1_000,
        }
        setup.handle_timeout(now);
        drain(&mut setup, &mut open, &mut finished);
    }
    assert_eq!(finished, started, "an operation never finished");
});
