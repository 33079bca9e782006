//! One request to the cloud: its deadline, its body collected up to a cap, and its outcome as
//! a status and body, or a failure the caller decides about (the cloud is unreachable while
//! the customer is still on the device's network, and that is expected).

use crate::protocol::cloud::CloudRequest;
use crate::protocol::error::Error;
use crate::protocol::policy;

use super::TransmitId;

/// The largest cloud reply read (a customer's device list is a few KB).
const BODY_CAP: usize = 256 * 1024;

/// Its `Debug` shows body lengths only: a body may hold a claim code or a token.
pub(crate) enum CallState {
    /// To be sent from this time.
    Waiting { not_before: u64 },
    /// Sent.
    InFlight {
        transmit: TransmitId,
        deadline: u64,
        status: Option<u16>,
        body: Vec<u8>,
    },
    /// Answered, failed or timed out.
    Done(Result<(u16, Vec<u8>), Error>),
}

impl core::fmt::Debug for CallState {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Waiting { not_before } => f
                .debug_struct("Waiting")
                .field("not_before", not_before)
                .finish(),
            Self::InFlight {
                transmit,
                deadline,
                status,
                body,
            } => f
                .debug_struct("InFlight")
                .field("transmit", transmit)
                .field("deadline", deadline)
                .field("status", status)
                .field("body_len", &body.len())
                .finish(),
            Self::Done(Ok((status, body))) => f
                .debug_struct("Done")
                .field("status", status)
                .field("body_len", &body.len())
                .finish(),
            Self::Done(Err(error)) => f.debug_tuple("Done").field(error).finish(),
        }
    }
}

/// A cloud request and where it stands.
#[derive(Debug)]
pub(crate) struct CloudCall {
    pub(crate) request: CloudRequest,
    pub(crate) state: CallState,
}

impl CloudCall {
    pub(crate) fn new(request: CloudRequest, not_before: u64) -> Self {
        Self {
            request,
            state: CallState::Waiting { not_before },
        }
    }

    pub(crate) fn ready_to_send(&self, now: u64) -> bool {
        matches!(self.state, CallState::Waiting { not_before } if not_before <= now)
    }

    pub(crate) fn sent(&mut self, now: u64, transmit: TransmitId) {
        self.state = CallState::InFlight {
            transmit,
            deadline: now + policy::CLOUD_DEADLINE_MS,
            status: None,
            body: Vec::new(),
        };
    }

    pub(crate) fn transmit(&self) -> Option<TransmitId> {
        match self.state {
            CallState::InFlight { transmit, .. } => Some(transmit),
            _ => None,
        }
    }

    pub(crate) fn wake_at(&self) -> Option<u64> {
        match self.state {
            CallState::Waiting { not_before } => Some(not_before),
            CallState::InFlight { deadline, .. } => Some(deadline),
            CallState::Done(_) => None,
        }
    }

    pub(crate) fn handle_head(&mut self, status: u16) {
        if let CallState::InFlight { status: s, .. } = &mut self.state {
            *s = Some(status);
        }
    }

    /// `false` when the body passed its cap (the call is then done, and the transmit must be
    /// aborted).
    pub(crate) fn handle_data(&mut self, data: &[u8]) -> bool {
        if let CallState::InFlight { body, status, .. } = &mut self.state {
            if body.len() + data.len() > BODY_CAP {
                // The status the cloud gave, which is what a caller can act on.
                let status = status.unwrap_or(0);
                self.state = CallState::Done(Err(Error::CloudError { status }));
                return false;
            }
            body.extend_from_slice(data);
        }
        true
    }

    pub(crate) fn handle_end(&mut self) {
        if let CallState::InFlight { status, body, .. } = &mut self.state {
            let status = status.unwrap_or(0);
            self.state = CallState::Done(Ok((status, core::mem::take(body))));
        }
    }

    pub(crate) fn handle_failure(&mut self) {
        if let CallState::InFlight { .. } = self.state {
            self.state = CallState::Done(Err(Error::CloudUnreachable));
        }
    }

    /// `true` when the call just timed out (its transmit must be aborted).
    pub(crate) fn handle_timeout(&mut self, now: u64) -> bool {
        match self.state {
            CallState::InFlight { deadline, .. } if now >= deadline => {
                self.state = CallState::Done(Err(Error::CloudUnreachable));
                true
            }
            _ => false,
        }
    }

    pub(crate) fn take_outcome(&mut self) -> Option<Result<(u16, Vec<u8>), Error>> {
        match &self.state {
            CallState::Done(_) => {
                match core::mem::replace(&mut self.state, CallState::Done(Err(Error::Cancelled))) {
                    CallState::Done(outcome) => Some(outcome),
                    _ => None,
                }
            }
            _ => None,
        }
    }
}
