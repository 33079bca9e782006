//! The machine against a scripted peer: every request it sends is answered by the test.
//! Whole setups against the simulated device and cloud live in `tests/setup_machine.rs`.

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

use super::*;

fn machine() -> Setup<ChaCha20Rng> {
    Setup::new(
        SetupConfig::new("http://192.168.0.1"),
        ChaCha20Rng::seed_from_u64(1),
    )
}

fn sent(setup: &mut Setup<ChaCha20Rng>) -> Vec<Outgoing> {
    let mut out = Vec::new();
    while let Some(t) = setup.poll_transmit() {
        if let Transmit::Send(o) = t {
            out.push(o);
        }
    }
    out
}

fn finished(setup: &mut Setup<ChaCha20Rng>) -> Vec<(OpId, Result<Outcome, Error>)> {
    let mut out = Vec::new();
    while let Some(e) = setup.poll_event() {
        if let Event::Finished { op, result } = e {
            out.push((op, result));
        }
    }
    out
}

#[test]
fn one_request_at_a_time_to_the_device() {
    let mut setup = machine();
    let a = setup.start(0, Operation::Version, false);
    let b = setup.start(0, Operation::DeviceInfo, false);
    let first = sent(&mut setup);
    assert_eq!(first.len(), 1, "the second waits for the line");
    assert_eq!(first[0].url, "http://192.168.0.1/version");
    assert!(
        first[0].declare_local,
        "a private address declares the local space"
    );
    setup.handle_head(1, first[0].id, 200);
    setup.handle_data(2, first[0].id, br#"{"v":2}"#);
    setup.handle_end(3, first[0].id);
    assert_eq!(finished(&mut setup), [(a, Ok(Outcome::Version(2)))]);
    let second = sent(&mut setup);
    assert_eq!(second[0].url, "http://192.168.0.1/device-id");
    setup.handle_head(4, second[0].id, 200);
    setup.handle_data(
        5,
        second[0].id,
        br#"{"id":"3A0020001847333531323BCF","c":"1"}"#,
    );
    let done = finished(&mut setup);
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].0, b);
    assert_eq!(setup.device_id(), Some("3a0020001847333531323bcf"));
}

#[test]
fn the_first_reply_teaches_whether_the_firmware_ends_its_bodies() {
    let mut setup = machine();
    setup.start(0, Operation::Version, false);
    let out = sent(&mut setup);
    setup.handle_head(1, out[0].id, 200);
    setup.handle_data(2, out[0].id, br#"{"v":2}"#);
    assert_eq!(setup.body_ending(), BodyEnding::Unknown);
    setup.start(3, Operation::Version, false);
    assert!(sent(&mut setup).is_empty(), "the line lingers for the end");
    assert_eq!(setup.poll_timeout(), Some(2 + policy::END_OF_BODY_GRACE_MS));
    setup.handle_timeout(2 + policy::END_OF_BODY_GRACE_MS);
    assert_eq!(
        setup.body_ending(),
        BodyEnding::Never,
        "0.6: no end in time"
    );
    let aborted_then_next: Vec<Transmit> = std::iter::from_fn(|| setup.poll_transmit()).collect();
    assert_eq!(aborted_then_next[0], Transmit::Abort(out[0].id));
    assert!(matches!(aborted_then_next[1], Transmit::Send(_)));
}

#[test]
fn a_complete_reply_that_no_longer_ends_is_aborted_not_left_open() {
    let mut setup = machine();
    setup.start(0, Operation::Version, false);
    let first = sent(&mut setup);
    setup.handle_head(1, first[0].id, 200);
    setup.handle_data(2, first[0].id, br#"{"v":2}"#);
    setup.handle_end(3, first[0].id);
    assert_eq!(setup.body_ending(), BodyEnding::Ends);
    // The next reply is complete but its body stays open.
    setup.start(4, Operation::Version, false);
    let second = sent(&mut setup);
    setup.handle_head(5, second[0].id, 200);
    setup.handle_data(6, second[0].id, br#"{"v":2}"#);
    assert_eq!(finished(&mut setup).len(), 2);
    assert_eq!(setup.poll_timeout(), Some(6 + policy::END_OF_BODY_GRACE_MS));
    setup.handle_timeout(6 + policy::END_OF_BODY_GRACE_MS);
    assert_eq!(setup.poll_transmit(), Some(Transmit::Abort(second[0].id)));
    assert_eq!(setup.poll_timeout(), None, "nothing left open");
}

#[test]
fn cancel_finishes_everything_and_later_operations_fail_at_once() {
    let mut setup = machine();
    let a = setup.start(0, Operation::Scan, true);
    let out = sent(&mut setup);
    setup.cancel(5);
    assert_eq!(setup.poll_transmit(), Some(Transmit::Abort(out[0].id)));
    assert_eq!(finished(&mut setup), [(a, Err(Error::Cancelled))]);
    let b = setup.start(6, Operation::Version, false);
    assert_eq!(finished(&mut setup), [(b, Err(Error::Cancelled))]);
    assert!(sent(&mut setup).is_empty());
}
