//! Cloud calls with the policy of one-shot requests, and claim codes fetched ahead.

use crate::protocol::cloud::{self, CloudRequest};
use crate::protocol::credentials::ClaimCode;
use crate::protocol::error::Error;
use crate::protocol::policy;

use super::Finish;
use crate::protocol::setup::cloud_call::CloudCall;
use crate::protocol::setup::{Ctx, Outcome};

/// A cloud call's status and body.
pub(super) type Answer = (u16, Vec<u8>);

/// A cloud request retried while the cloud is unreachable or struggling (at most three
/// attempts), its answer handed back otherwise.
#[derive(Debug)]
pub(super) struct RetryingCall {
    pub(super) call: CloudCall,
    pub(super) failures: u32,
}

impl RetryingCall {
    pub(super) fn new(request: CloudRequest, now: u64) -> Self {
        Self {
            call: CloudCall::new(request, now),
            failures: 0,
        }
    }

    pub(super) fn advance<R: ?Sized>(
        &mut self,
        ctx: &mut Ctx<'_, R>,
    ) -> (bool, Option<Result<Answer, Error>>) {
        if let Some(transmit) = self.call.transmit() {
            if self.call.handle_timeout(ctx.now) {
                ctx.transmits
                    .push_back(crate::protocol::setup::Transmit::Abort(transmit));
            }
        }
        let moved = ctx.send_cloud(&mut self.call);
        match self.call.take_outcome() {
            None => (moved, None),
            Some(outcome) => {
                let retry = match &outcome {
                    Err(Error::CloudUnreachable) => true,
                    Ok((status, _)) => *status == 429 || *status >= 500,
                    Err(_) => false,
                };
                self.failures += 1;
                if retry && self.failures < policy::MAX_ATTEMPTS {
                    let request = self.call.request.clone();
                    self.call =
                        CloudCall::new(request, ctx.now + policy::cloud_backoff_ms(self.failures));
                    return (true, None);
                }
                (true, Some(outcome))
            }
        }
    }
}

// --- claim codes fetched ahead ---

#[derive(Debug)]
pub(super) struct Prepare {
    pub(super) devices: usize,
    pub(super) call: Option<RetryingCall>,
}

impl Prepare {
    pub(super) fn advance<R: ?Sized>(&mut self, ctx: &mut Ctx<'_, R>) -> (bool, Finish) {
        let Some(cloud) = &ctx.config.cloud else {
            return (
                true,
                Some(Ok(Outcome::Prepared {
                    ready: ctx.codes.len() as u32,
                })),
            );
        };
        if ctx.codes.len() >= self.devices {
            return (
                true,
                Some(Ok(Outcome::Prepared {
                    ready: ctx.codes.len() as u32,
                })),
            );
        }
        let request = cloud.claim_code_request();
        let call = self
            .call
            .get_or_insert_with(|| RetryingCall::new(request, ctx.now));
        let (moved, result) = call.advance(ctx);
        let Some(result) = result else {
            return (moved, None);
        };
        self.call = None;
        let code = result
            .and_then(|(status, body)| cloud::read_claim_code(status, &body))
            .and_then(|reply| ClaimCode::new(&reply.claim_code));
        match code {
            Ok(code) => {
                ctx.codes.push_back(code);
                (true, None)
            }
            Err(e) => (true, Some(Err(e))),
        }
    }
}
