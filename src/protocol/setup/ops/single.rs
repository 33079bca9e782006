//! One device command, read into its outcome.

use crate::protocol::reply::Reply;
use crate::protocol::scan::networks;

use super::{accept_key, remember_device, step_exchange, unexpected, Finish};
use crate::protocol::setup::exchange::{Ending, Exchange};
use crate::protocol::setup::{Ctx, Outcome};

#[derive(Debug, Clone, Copy)]
pub(super) enum What {
    Version,
    DeviceInfo,
    PublicKey,
    Scan,
    Set,
    Connect,
}

#[derive(Debug)]
pub(super) struct Single {
    pub(super) what: What,
    pub(super) exchange: Exchange,
}

impl Single {
    pub(super) fn new(what: What, exchange: Exchange) -> Self {
        Self { what, exchange }
    }

    pub(super) fn advance<R: ?Sized>(&mut self, ctx: &mut Ctx<'_, R>) -> (bool, Finish) {
        let moved = step_exchange(&mut self.exchange, ctx);
        let Some(outcome) = self.exchange.take_outcome() else {
            return (moved, None);
        };
        let result = outcome.and_then(|ending| match (self.what, ending) {
            (What::Connect, Ending::ProbablyConnecting) => Ok(Outcome::Connect {
                acknowledged: false,
            }),
            (What::Connect, Ending::Reply(Reply::Ok)) => {
                Ok(Outcome::Connect { acknowledged: true })
            }
            (What::Version, Ending::Reply(Reply::Version(v))) => Ok(Outcome::Version(v)),
            (What::DeviceInfo, Ending::Reply(Reply::DeviceId(info))) => {
                remember_device(ctx.session, &info);
                Ok(Outcome::Device(info))
            }
            (What::PublicKey, Ending::Reply(Reply::PublicKey(key))) => accept_key(ctx, key),
            (What::Scan, Ending::Reply(Reply::ScanAp(entries))) => {
                Ok(Outcome::Networks(networks(&entries)))
            }
            (What::Set, Ending::Reply(Reply::Ok)) => Ok(Outcome::Done),
            _ => Err(unexpected(&self.exchange)),
        });
        (true, Some(result))
    }
}
