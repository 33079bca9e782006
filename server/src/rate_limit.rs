//! Requests per user (the session token's subject), with governor's GCRA: a burst of a
//! minute's allowance, then a steady rate. Keyed by user rather than address, since behind
//! the maker's TLS proxy every request comes from the proxy.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::error::{ApiError, ErrorCode};
use crate::AppState;

/// How often idle users' counters are dropped.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// The per-user limiter.
pub struct UserLimiter {
    limiter: DefaultKeyedRateLimiter<String>,
    clock: DefaultClock,
}

impl UserLimiter {
    /// `per_minute` requests per user and minute, all of them allowed at once.
    pub fn new(per_minute: u32) -> Self {
        let per_minute = NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN);
        Self {
            limiter: RateLimiter::keyed(Quota::per_minute(per_minute)),
            clock: DefaultClock::default(),
        }
    }

    /// Counts one request of `user`.
    ///
    /// # Errors
    /// `rate-limited`, with the seconds to wait.
    pub fn check(&self, user: &str) -> Result<(), ApiError> {
        self.limiter
            .check_key(&user.to_owned())
            .map_err(|not_until| {
                let wait = not_until.wait_time_from(self.clock.now());
                let mut error = ApiError::from_code(ErrorCode::RateLimited);
                error.retry_after = Some(wait.as_secs().max(1));
                error
            })
    }
}

/// Drops the counters of users who have been quiet, so the map does not grow forever.
pub async fn sweep(state: AppState) {
    let mut interval = tokio::time::interval(SWEEP_EVERY);
    loop {
        interval.tick().await;
        state.limiter.limiter.retain_recent();
        state.limiter.limiter.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_over_the_limit_waits_and_others_do_not() {
        let limiter = UserLimiter::new(3);
        for _ in 0..3 {
            limiter.check("kim").unwrap();
        }
        let refused = limiter.check("kim").unwrap_err();
        assert_eq!(refused.code, ErrorCode::RateLimited);
        assert!(refused.retry_after.unwrap() >= 1);
        limiter.check("lee").unwrap();
    }
}
