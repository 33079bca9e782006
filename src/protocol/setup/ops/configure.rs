//! `configure-ap`, with the key and the claim code it needs.

use crate::protocol::cloud;
use crate::protocol::command::Request;
use crate::protocol::credentials::{ClaimCode, Network};
use crate::protocol::error::Error;
use crate::protocol::reply::Reply;

use super::{accept_key, step_exchange, unexpected, Finish, RetryingCall};
use crate::protocol::setup::exchange::{Ending, Exchange};
use crate::protocol::setup::{BodyEnding, Ctx, Outcome, TransmitId};

#[derive(Debug)]
pub(super) struct Configure {
    pub(super) network: Network,
    pub(super) claim: bool,
    pub(super) enterprise: bool,
    pub(super) stage: ConfigureStage,
}

#[derive(Debug)]
pub(super) enum ConfigureStage {
    Start,
    Key(Exchange),
    FetchCode(RetryingCall),
    Set(Exchange),
    Send(Exchange),
}

impl ConfigureStage {
    pub(super) fn transmit(&self) -> Option<TransmitId> {
        match self {
            Self::Start => None,
            Self::FetchCode(call) => call.call.transmit(),
            Self::Key(e) | Self::Set(e) | Self::Send(e) => e.transmit(),
        }
    }
}

impl Configure {
    pub(super) fn device<R: ?Sized>(ctx: &Ctx<'_, R>, request: Request) -> Exchange {
        Exchange::new(request, ctx.now)
            .max_attempts(ctx.config.attempts)
            .deadline_override(ctx.config.deadline_ms)
    }

    pub(super) fn advance<R: rand_core::TryCryptoRng + ?Sized>(
        &mut self,
        ctx: &mut Ctx<'_, R>,
    ) -> (bool, Finish) {
        let mut moved = false;
        loop {
            let next = match &mut self.stage {
                ConfigureStage::Start => match ctx.session.key {
                    None => ConfigureStage::Key(Self::device(ctx, Request::public_key())),
                    Some(_) => match self.claim_stage(ctx) {
                        Ok(stage) => stage,
                        Err(e) => return (true, Some(Err(e))),
                    },
                },
                ConfigureStage::Key(exchange) => {
                    moved |= step_exchange(exchange, ctx);
                    match exchange.take_outcome() {
                        None => return (moved, None),
                        Some(Ok(Ending::Reply(Reply::PublicKey(key)))) => {
                            if let Err(e) = accept_key(ctx, key) {
                                return (true, Some(Err(e)));
                            }
                            match self.claim_stage(ctx) {
                                Ok(stage) => stage,
                                Err(e) => return (true, Some(Err(e))),
                            }
                        }
                        Some(Ok(_)) => return (true, Some(Err(unexpected(exchange)))),
                        Some(Err(e)) => return (true, Some(Err(e))),
                    }
                }
                ConfigureStage::FetchCode(call) => {
                    let (m, result) = call.advance(ctx);
                    moved |= m;
                    let Some(result) = result else {
                        return (moved, None);
                    };
                    let code = result
                        .and_then(|(status, body)| cloud::read_claim_code(status, &body))
                        .and_then(|reply| ClaimCode::new(&reply.claim_code));
                    match code {
                        Ok(code) => self.set_stage(ctx, code),
                        Err(e) => return (true, Some(Err(e))),
                    }
                }
                ConfigureStage::Set(exchange) => {
                    moved |= step_exchange(exchange, ctx);
                    match exchange.take_outcome() {
                        None => return (moved, None),
                        Some(Ok(Ending::Reply(Reply::Ok))) => match self.send_stage(ctx) {
                            Ok(stage) => stage,
                            Err(e) => return (true, Some(Err(e))),
                        },
                        Some(Ok(_)) => return (true, Some(Err(unexpected(exchange)))),
                        Some(Err(e)) => return (true, Some(Err(e))),
                    }
                }
                ConfigureStage::Send(exchange) => {
                    // The key's reply may just have shown that the firmware never ends its
                    // bodies: 0.6, which cannot store enterprise settings.
                    let unsent = exchange.transmit().is_none() && exchange.ready_to_send(ctx.now);
                    if unsent && self.enterprise && ctx.session.ending == BodyEnding::Never {
                        return (true, Some(Err(Error::FirmwareTooOld)));
                    }
                    moved |= step_exchange(exchange, ctx);
                    return match exchange.take_outcome() {
                        None => (moved, None),
                        Some(Ok(Ending::Reply(Reply::Ok))) => (true, Some(Ok(Outcome::Done))),
                        Some(Ok(_)) => (true, Some(Err(unexpected(exchange)))),
                        Some(Err(e)) => (true, Some(Err(e))),
                    };
                }
            };
            self.stage = next;
            moved = true;
        }
    }

    /// The claim code to send: the one this device already got (a second try after a wrong
    /// password: the code is spent only when the device reaches the cloud), else one fetched
    /// ahead, else a new one (only while the page is still online).
    pub(super) fn claim_stage<R: rand_core::TryCryptoRng + ?Sized>(
        &mut self,
        ctx: &mut Ctx<'_, R>,
    ) -> Result<ConfigureStage, Error> {
        if !self.claim {
            return self.send_stage(ctx);
        }
        let code = ctx
            .session
            .claim_code
            .clone()
            .or_else(|| ctx.codes.pop_front());
        match (code, &ctx.config.cloud) {
            (Some(code), _) => Ok(self.set_stage(ctx, code)),
            (None, Some(cloud)) => Ok(ConfigureStage::FetchCode(RetryingCall::new(
                cloud.claim_code_request(),
                ctx.now,
            ))),
            (None, None) => self.send_stage(ctx),
        }
    }

    pub(super) fn set_stage<R: ?Sized>(
        &mut self,
        ctx: &mut Ctx<'_, R>,
        code: ClaimCode,
    ) -> ConfigureStage {
        let request = Request::set_claim_code(&code);
        ctx.session.claim_code = Some(code);
        ConfigureStage::Set(Self::device(ctx, request))
    }

    pub(super) fn send_stage<R: rand_core::TryCryptoRng + ?Sized>(
        &mut self,
        ctx: &mut Ctx<'_, R>,
    ) -> Result<ConfigureStage, Error> {
        let key = ctx.session.key.as_ref().ok_or(Error::DeviceUnreachable)?;
        let request = Request::configure_ap(&self.network, key, ctx.rng)?;
        Ok(ConfigureStage::Send(
            Self::device(ctx, request).enterprise(self.enterprise),
        ))
    }
}
