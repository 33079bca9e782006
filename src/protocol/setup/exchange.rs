//! One command to the device, from the first attempt to its outcome: the deadline of each
//! attempt, reading the reply as it arrives (complete at its first whole JSON value, refused
//! past its cap), and what [`policy::after_failure`] says to do when an attempt fails.

use crate::protocol::command::{Command, Request};
use crate::protocol::error::Error;
use crate::protocol::json::Progress;
use crate::protocol::policy::{self, Decision, Failure};
use crate::protocol::reply::{Reply, ReplyReader};

use super::TransmitId;

/// How a command ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Ending {
    /// The device's reply.
    Reply(Reply),
    /// `connect-ap` was sent but its reply lost: most likely joining.
    ProbablyConnecting,
}

#[derive(Debug)]
pub(crate) enum State {
    /// Waiting to send (again) from `not_before`, once the device is free.
    Waiting { not_before: u64 },
    /// An attempt is out.
    InFlight {
        transmit: TransmitId,
        deadline: u64,
        began: bool,
        reader: ReplyReader,
    },
    /// Settled.
    Done(Result<Ending, Error>),
}

/// One command's attempts.
#[derive(Debug)]
pub(crate) struct Exchange {
    pub(crate) request: Request,
    /// `configure-ap` with enterprise settings (0.6 answers those with silence).
    enterprise: bool,
    max_attempts: u32,
    deadline_ms: u64,
    attempts: u32,
    pub(crate) state: State,
}

/// What the machine must do after an input to an exchange.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum After {
    /// Nothing more.
    Nothing,
    /// Abort this transmit (its outcome is known, or it failed).
    Abort(TransmitId),
    /// The reply is complete while the transmit is still open: the device's body may still
    /// end (0.7) or never end (0.6).
    Complete(TransmitId),
}

impl Exchange {
    pub(crate) fn new(request: Request, now: u64) -> Self {
        let command = request.command();
        Self {
            request,
            enterprise: false,
            max_attempts: policy::MAX_ATTEMPTS,
            deadline_ms: policy::deadline_ms(command),
            attempts: 0,
            state: State::Waiting { not_before: now },
        }
    }

    /// A single look with its own deadline: polling for the device retries by polling again.
    pub(crate) fn look(request: Request, now: u64, deadline_ms: u64) -> Self {
        Self {
            max_attempts: 1,
            deadline_ms,
            ..Self::new(request, now)
        }
    }

    /// Marks a `configure-ap` carrying enterprise settings.
    pub(crate) fn enterprise(mut self, enterprise: bool) -> Self {
        self.enterprise = enterprise;
        self
    }

    /// Allows at most `attempts` attempts (at least one).
    pub(crate) fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The caller's deadline in place of the policy's for quick commands (at least
    /// [`policy::MIN_COMMAND_DEADLINE_MS`]); scans and `configure-ap` keep theirs when longer.
    pub(crate) fn deadline_override(mut self, deadline_ms: Option<u64>) -> Self {
        if let Some(ms) = deadline_ms {
            let ms = ms.max(policy::MIN_COMMAND_DEADLINE_MS);
            self.deadline_ms = match self.request.command() {
                Command::ScanAp | Command::ConfigureAp => self.deadline_ms.max(ms),
                _ => ms,
            };
        }
        self
    }

    pub(crate) fn command(&self) -> Command {
        self.request.command()
    }

    /// Takes the outcome once settled.
    pub(crate) fn take_outcome(&mut self) -> Option<Result<Ending, Error>> {
        match &self.state {
            State::Done(_) => {
                match core::mem::replace(&mut self.state, State::Done(Err(Error::Cancelled))) {
                    State::Done(outcome) => Some(outcome),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// When this exchange next needs the machine: its send time or its attempt's deadline.
    pub(crate) fn wake_at(&self) -> Option<u64> {
        match self.state {
            State::Waiting { not_before } => Some(not_before),
            State::InFlight { deadline, .. } => Some(deadline),
            State::Done(_) => None,
        }
    }

    /// Whether it wants to send now (the device line must be free too).
    pub(crate) fn ready_to_send(&self, now: u64) -> bool {
        matches!(self.state, State::Waiting { not_before } if not_before <= now)
    }

    /// Records that an attempt went out as `transmit`.
    pub(crate) fn sent(&mut self, now: u64, transmit: TransmitId) {
        self.attempts += 1;
        self.state = State::InFlight {
            transmit,
            deadline: now + self.deadline_ms,
            began: false,
            reader: ReplyReader::new(self.request.command()),
        };
    }

    pub(crate) fn transmit(&self) -> Option<TransmitId> {
        match self.state {
            State::InFlight { transmit, .. } => Some(transmit),
            _ => None,
        }
    }

    /// The status line arrived.
    pub(crate) fn handle_head(&mut self, now: u64, status: u16) -> After {
        let State::InFlight {
            transmit, began, ..
        } = &mut self.state
        else {
            return After::Nothing;
        };
        let transmit = *transmit;
        match status {
            200 => {
                *began = true;
                After::Nothing
            }
            503 => self.fail(now, Failure::Busy, transmit),
            other => self.fail(now, Failure::Status(other), transmit),
        }
    }

    /// Body bytes arrived.
    pub(crate) fn handle_data(&mut self, data: &[u8]) -> After {
        let State::InFlight {
            transmit,
            began,
            reader,
            ..
        } = &mut self.state
        else {
            return After::Nothing;
        };
        let transmit = *transmit;
        *began = true;
        match reader.feed(data) {
            Ok(Progress::Partial) => After::Nothing,
            Ok(Progress::Complete(reply)) => {
                self.state = State::Done(Ok(Ending::Reply(reply)));
                After::Complete(transmit)
            }
            // The device answered, and what it said is final: sending it again would get the
            // same answer.
            Err(error) => {
                self.state = State::Done(Err(error));
                After::Abort(transmit)
            }
        }
    }

    /// The body ended.
    pub(crate) fn handle_end(&mut self) -> After {
        let State::InFlight { reader, .. } = &mut self.state else {
            return After::Nothing;
        };
        self.state = State::Done(reader.finish().map(Ending::Reply));
        After::Nothing
    }

    /// The connection failed. `blocked`: the browser refused the request outright (a denied
    /// Local Network Access, mixed content); trying again cannot help.
    pub(crate) fn handle_failure(&mut self, now: u64, blocked: Option<Error>) -> After {
        let State::InFlight {
            transmit, began, ..
        } = &self.state
        else {
            return After::Nothing;
        };
        let (transmit, began) = (*transmit, *began);
        if let Some(error) = blocked {
            self.state = State::Done(Err(error));
            return After::Nothing;
        }
        let failure = if began {
            Failure::Broken
        } else {
            Failure::Dropped
        };
        match self.fail(now, failure, transmit) {
            // The transmit is over already.
            After::Abort(_) => After::Nothing,
            other => other,
        }
    }

    /// Time passed: an attempt past its deadline has failed.
    pub(crate) fn handle_timeout(&mut self, now: u64) -> After {
        let State::InFlight {
            transmit,
            deadline,
            began,
            ..
        } = &self.state
        else {
            return After::Nothing;
        };
        if now < *deadline {
            return After::Nothing;
        }
        let failure = if *began {
            Failure::Stalled
        } else {
            Failure::Timeout
        };
        let transmit = *transmit;
        self.fail(now, failure, transmit)
    }

    fn fail(&mut self, now: u64, failure: Failure, transmit: TransmitId) -> After {
        let decision = policy::after_failure(
            self.request.command(),
            failure,
            self.attempts.max(1),
            self.enterprise,
        );
        self.state = match decision {
            Decision::Retry { .. } if self.attempts >= self.max_attempts => {
                State::Done(Err(settled_error(self.request.command(), failure)))
            }
            Decision::Retry { delay_ms } => State::Waiting {
                not_before: now + delay_ms,
            },
            Decision::Fail(error) => State::Done(Err(error)),
            Decision::ProbablyConnecting => State::Done(Ok(Ending::ProbablyConnecting)),
        };
        After::Abort(transmit)
    }
}

/// The error a failure settles with when no attempt is left.
fn settled_error(command: Command, failure: Failure) -> Error {
    match policy::after_failure(command, failure, policy::MAX_ATTEMPTS, false) {
        Decision::Fail(error) => error,
        _ => Error::DeviceUnreachable,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(n: u64) -> TransmitId {
        TransmitId(n)
    }

    #[test]
    fn a_reply_is_complete_at_its_first_whole_value() {
        let mut exchange = Exchange::new(Request::device_id(), 0);
        assert!(exchange.ready_to_send(0));
        exchange.sent(0, t(1));
        assert_eq!(exchange.handle_head(1, 200), After::Nothing);
        assert_eq!(
            exchange.handle_data(b"{\"id\":\"3A00200018473335"),
            After::Nothing
        );
        assert_eq!(
            exchange.handle_data(b"31323BCF\",\"c\":\"0\"}"),
            After::Complete(t(1))
        );
        assert!(matches!(
            exchange.take_outcome(),
            Some(Ok(Ending::Reply(Reply::DeviceId(_))))
        ));
    }

    #[test]
    fn a_dropped_read_is_sent_again_after_a_pause_then_settles() {
        let mut exchange = Exchange::new(Request::scan_ap(), 0);
        exchange.sent(0, t(1));
        assert_eq!(exchange.handle_failure(10, None), After::Nothing);
        assert_eq!(exchange.wake_at(), Some(260));
        assert!(!exchange.ready_to_send(259) && exchange.ready_to_send(260));
        exchange.sent(260, t(2));
        exchange.handle_failure(270, None);
        exchange.sent(770, t(3));
        exchange.handle_failure(780, None);
        assert_eq!(exchange.take_outcome(), Some(Err(Error::DeviceUnreachable)));
    }

    #[test]
    fn a_stalled_enterprise_configure_is_0_6_refusing_it() {
        let mut exchange =
            Exchange::new(Request::raw(Command::ConfigureAp, Some(b"{}".to_vec())), 0)
                .enterprise(true);
        exchange.sent(0, t(1));
        exchange.handle_head(5, 200);
        assert_eq!(exchange.handle_timeout(64_999), After::Nothing);
        assert_eq!(exchange.handle_timeout(65_000), After::Abort(t(1)));
        assert_eq!(exchange.take_outcome(), Some(Err(Error::FirmwareTooOld)));
    }

    #[test]
    fn a_lost_connect_reply_is_probably_connecting() {
        let mut exchange = Exchange::new(Request::connect_ap(), 0);
        exchange.sent(0, t(1));
        assert_eq!(exchange.handle_timeout(8_000), After::Abort(t(1)));
        assert_eq!(
            exchange.take_outcome(),
            Some(Ok(Ending::ProbablyConnecting))
        );
    }

    #[test]
    fn a_flood_is_refused_at_the_cap_and_not_retried() {
        let mut exchange = Exchange::new(Request::device_id(), 0);
        exchange.sent(0, t(1));
        exchange.handle_head(1, 200);
        assert_eq!(exchange.handle_data(&[b' '; 300]), After::Abort(t(1)));
        assert!(matches!(
            exchange.take_outcome(),
            Some(Err(Error::InvalidResponse { .. }))
        ));
    }
}
