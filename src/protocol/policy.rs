//! How long to wait for the device, how much to read, and what to do when a request fails:
//! decided once, here, for every client (the device page implements the same table, and the
//! shared corpus `tests/vectors/retry.json` holds both to it).

use crate::protocol::command::Command;
use crate::protocol::error::Error;

/// Attempts of one command, the first included.
pub const MAX_ATTEMPTS: u32 = 3;

/// Attempts of one command when the caller allows `retries` more after the first.
pub fn attempts(retries: u32) -> u32 {
    retries.saturating_add(1).min(MAX_ATTEMPTS)
}

/// The shortest deadline a caller may give a command: a device on its own network answers
/// within milliseconds, but not within none.
pub const MIN_COMMAND_DEADLINE_MS: u64 = 100;

/// How long one attempt of `command` may take before the client gives up on it. A scan takes
/// seconds in a crowded place (spec §4.3), and `configure-ap` on 0.7 scans twice for WPA
/// networks before answering, each scan bounded by 30 s on the device (spec §4.6).
pub fn deadline_ms(command: Command) -> u64 {
    match command {
        Command::ScanAp => 30_000,
        Command::ConfigureAp => 65_000,
        _ => 8_000,
    }
}

/// The largest reply body accepted for `command`, in bytes. Real replies are far smaller
/// (a public key about 600 bytes, a scan of 40 networks about 3.5 KB); a device sending more
/// is refused there, whatever else it sends.
pub fn reply_cap(command: Command) -> usize {
    match command {
        Command::ScanAp => 65_536,
        Command::PublicKey => 2_048,
        _ => 256,
    }
}

/// How an attempt failed, as the transport saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// No reply byte: the connection failed or closed before the reply began.
    Dropped,
    /// No reply byte by the deadline.
    Timeout,
    /// HTTP 503: every connection slot of the device was busy; the request never ran.
    Busy,
    /// Another HTTP status (the device's core 404 for a request it routes nowhere).
    Status(u16),
    /// The connection broke after the reply began.
    Broken,
    /// The deadline passed after the reply began.
    Stalled,
}

impl Failure {
    /// Whether the device may have acted on the request.
    fn may_have_run(self) -> bool {
        matches!(self, Self::Broken | Self::Stalled)
    }
}

/// What to do after a failed attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Send the same request again after this pause.
    Retry {
        /// Pause before the next attempt, in milliseconds.
        delay_ms: u64,
    },
    /// Give up with this error.
    Fail(Error),
    /// `connect-ap`'s reply was lost after it may have reached the device: it is most likely
    /// leaving to join the network (spec §4.7), so this is an outcome, not an error.
    ProbablyConnecting,
}

/// After failed attempt number `attempt` (1-based) of `command`: send again, or settle.
///
/// Reads are sent again after any failure. Commands that write (`set`, `configure-ap`) are
/// sent again only before any reply byte arrived, or after a busy answer: running either
/// twice stores the same thing twice, which is harmless, but a reply that began and broke
/// leaves its outcome unknown, so that is reported rather than papered over. `connect-ap` is
/// never sent again once it may have arrived — the device leaves on the first one — but a
/// busy answer means it never ran. `enterprise` marks a `configure-ap` with
/// enterprise settings, which 0.6 firmware refuses by answering with headers and silence.
pub fn after_failure(
    command: Command,
    failure: Failure,
    attempt: u32,
    enterprise: bool,
) -> Decision {
    let settled = match failure {
        Failure::Status(status) => {
            return Decision::Fail(Error::DeviceHttpStatus { command, status })
        }
        Failure::Busy => Error::DeviceHttpStatus {
            command,
            status: 503,
        },
        Failure::Dropped | Failure::Broken => Error::DeviceUnreachable,
        Failure::Stalled if command == Command::ConfigureAp && enterprise => {
            return Decision::Fail(Error::FirmwareTooOld)
        }
        Failure::Timeout | Failure::Stalled => Error::Timeout { command },
    };
    let resendable = match command {
        Command::ConnectAp => failure == Failure::Busy,
        Command::Set | Command::ConfigureAp => !failure.may_have_run(),
        _ => true,
    };
    if command == Command::ConnectAp && !resendable {
        return Decision::ProbablyConnecting;
    }
    if !resendable || attempt >= MAX_ATTEMPTS {
        return Decision::Fail(settled);
    }
    Decision::Retry {
        delay_ms: retry_delay_ms(failure, attempt),
    }
}

/// A busy device asks for a second ("Retry-After: 1", spec §3.2.4); otherwise 250 ms, then
/// twice as long each time.
fn retry_delay_ms(failure: Failure, attempt: u32) -> u64 {
    match failure {
        Failure::Busy => 1_000,
        _ => 250u64 << (attempt.clamp(1, 5) - 1),
    }
}

/// How long to wait for the customer to join the device's network, unless the caller says.
pub const DEVICE_WAIT_MS: u64 = 5 * 60_000;
/// Between two looks for the device while the customer joins its network.
pub const DEVICE_POLL_MS: u64 = 2_000;
/// One look's deadline: a device that is there answers `device-id` at once.
pub const DEVICE_POLL_DEADLINE_MS: u64 = 4_000;
/// How long to wait for the end of a complete reply, once per device, to learn whether its
/// firmware ends chunked bodies (0.7 and later do at once; 0.6 never does, spec §3.2.4).
pub const END_OF_BODY_GRACE_MS: u64 = 250;

/// How long to wait for the device to be online and the customer's, unless the caller says.
pub const CLOUD_WAIT_MS: u64 = 10 * 60_000;
/// One cloud request's deadline.
pub const CLOUD_DEADLINE_MS: u64 = 15_000;
/// Between polls of the customer's devices while the event stream is down.
pub const CLOUD_POLL_MS: u64 = 3_000;
/// Between polls while the event stream is up: a safety net only.
pub const CLOUD_POLL_WITH_STREAM_MS: u64 = 30_000;
/// The event stream is reopened after this long without a byte (the cloud sends keep-alives).
pub const STREAM_IDLE_MS: u64 = 45_000;
/// After this long waiting without the device showing up, ask the cloud to claim it for the
/// customer (`POST /v1/devices`): it answers whether another customer owns it.
pub const CLAIM_PROBE_AFTER_MS: u64 = 20_000;
/// Between such probes.
pub const CLAIM_PROBE_EVERY_MS: u64 = 30_000;
/// Between looks at the device's own network while waiting for the cloud: the same device
/// answering means it is back in setup mode.
pub const DEVICE_WATCH_MS: u64 = 5_000;

/// A struggling or unreachable cloud: 1 s, then twice as long each time, at most 30 s.
pub fn cloud_backoff_ms(failures: u32) -> u64 {
    (1_000u64 << failures.clamp(1, 6).saturating_sub(1)).min(30_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_are_resent_only_when_they_cannot_have_run() {
        for command in [Command::Set, Command::ConfigureAp] {
            assert_eq!(
                after_failure(command, Failure::Dropped, 1, false),
                Decision::Retry { delay_ms: 250 }
            );
            assert_eq!(
                after_failure(command, Failure::Broken, 1, false),
                Decision::Fail(Error::DeviceUnreachable)
            );
        }
        assert_eq!(
            after_failure(Command::ConfigureAp, Failure::Stalled, 1, true),
            Decision::Fail(Error::FirmwareTooOld)
        );
    }

    #[test]
    fn connect_ap_is_never_resent_once_it_may_have_arrived() {
        for failure in [
            Failure::Dropped,
            Failure::Timeout,
            Failure::Broken,
            Failure::Stalled,
        ] {
            assert_eq!(
                after_failure(Command::ConnectAp, failure, 1, false),
                Decision::ProbablyConnecting
            );
        }
        assert_eq!(
            after_failure(Command::ConnectAp, Failure::Busy, 1, false),
            Decision::Retry { delay_ms: 1_000 }
        );
    }

    #[test]
    fn cloud_backoff_doubles_up_to_thirty_seconds() {
        let pauses: Vec<u64> = (1..=7).map(cloud_backoff_ms).collect();
        assert_eq!(pauses, [1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]);
    }
}
