//! Looking for the device while the customer joins its network.

use crate::protocol::command::Request;
use crate::protocol::error::Error;
use crate::protocol::reply::{DeviceInfo, Reply};

use super::{accept_key, look, remember_device, step_exchange, unexpected, Finish};
use crate::protocol::setup::exchange::{Ending, Exchange};
use crate::protocol::setup::{Ctx, Outcome, Step};

#[derive(Debug)]
pub(super) struct WaitForDevice {
    pub(super) deadline: u64,
    pub(super) interval: u64,
    pub(super) stage: WaitStage,
    pub(super) look_started: u64,
    pub(super) found: Option<DeviceInfo>,
    /// A look was held back while the page was hidden: the next goes out as soon as it shows.
    pub(super) held: bool,
}

#[derive(Debug)]
pub(super) enum WaitStage {
    Look(Exchange),
    Pause(u64),
    Key(Exchange),
}

impl WaitForDevice {
    /// `flow`: the customer's setup, whose progress is reported.
    pub(super) fn advance<R: ?Sized>(
        &mut self,
        ctx: &mut Ctx<'_, R>,
        flow: bool,
    ) -> (bool, Finish) {
        let mut moved = false;
        loop {
            let next = match &mut self.stage {
                WaitStage::Pause(until) => {
                    if !ctx.visible {
                        // Paused, not endless: the wait's deadline holds while hidden too.
                        if ctx.now >= self.deadline {
                            return (true, Some(Err(Error::DeviceUnreachable)));
                        }
                        self.held = true;
                        return (moved, None);
                    }
                    if ctx.now < *until && !self.held {
                        return (moved, None);
                    }
                    self.held = false;
                    self.look_started = ctx.now;
                    WaitStage::Look(look(ctx.now))
                }
                WaitStage::Look(exchange) => {
                    moved |= step_exchange(exchange, ctx);
                    match exchange.take_outcome() {
                        None => return (moved, None),
                        Some(Ok(Ending::Reply(Reply::DeviceId(info)))) => {
                            remember_device(ctx.session, &info);
                            if ctx.session.key.is_some() {
                                return (true, Some(Ok(self.found(ctx, info, flow))));
                            }
                            self.found = Some(info);
                            WaitStage::Key(
                                Exchange::new(Request::public_key(), ctx.now)
                                    .max_attempts(ctx.config.attempts)
                                    .deadline_override(ctx.config.deadline_ms),
                            )
                        }
                        Some(Ok(_)) => return (true, Some(Err(unexpected(exchange)))),
                        Some(Err(e @ (Error::LocalNetworkDenied | Error::MixedContentBlocked))) => {
                            return (true, Some(Err(e)))
                        }
                        Some(Err(e)) => {
                            let next = (self.look_started + self.interval).max(ctx.now);
                            if next >= self.deadline {
                                return (true, Some(Err(e)));
                            }
                            WaitStage::Pause(next)
                        }
                    }
                }
                WaitStage::Key(exchange) => {
                    moved |= step_exchange(exchange, ctx);
                    return match exchange.take_outcome() {
                        None => (moved, None),
                        Some(Ok(Ending::Reply(Reply::PublicKey(key)))) => {
                            let result = accept_key(ctx, key).map(|_| {
                                let info = self.found.take().unwrap_or(DeviceInfo {
                                    id: ctx.session.id.clone().unwrap_or_default(),
                                    claimed: false,
                                });
                                self.found(ctx, info, flow)
                            });
                            (true, Some(result))
                        }
                        Some(Ok(_)) => (true, Some(Err(unexpected(exchange)))),
                        Some(Err(e)) => (true, Some(Err(e))),
                    };
                }
            };
            self.stage = next;
            moved = true;
        }
    }

    fn found<R: ?Sized>(&self, ctx: &mut Ctx<'_, R>, info: DeviceInfo, flow: bool) -> Outcome {
        if flow {
            ctx.progress(Step::DeviceFound, Some(info.claimed), None);
        }
        Outcome::Device(info)
    }
}
