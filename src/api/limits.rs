//! Rate limits on reads (governor's keyed GCRA limiter), keyed by the client's address.
//!
//! Reads are GET and HEAD requests other than the health, readiness and metrics endpoints;
//! writes are bounded by their signatures and the sequencer's queue instead. When reads are
//! signed, the verified actor becomes a second key: a limiter keyed by actor id, checked in
//! [`limit_reads`] after the signature, beside this one.

use super::error::ApiError;
use crate::client::layout;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;

/// Addresses remembered before idle ones (whose bucket is full again) are forgotten.
const FORGET_IDLE_ABOVE: usize = 10_000;

/// Reads per second allowed from one address, with bursts up to `burst`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadQuota {
    pub per_second: NonZeroU32,
    pub burst: NonZeroU32,
}

/// The limiter of a [`ReadQuota`], shared by every request.
#[derive(Clone)]
pub struct ReadLimit {
    quota: ReadQuota,
    by_address: Arc<DefaultKeyedRateLimiter<IpAddr>>,
}

impl ReadLimit {
    pub fn new(quota: ReadQuota) -> Self {
        let gcra = Quota::per_second(quota.per_second).allow_burst(quota.burst);
        Self {
            quota,
            by_address: Arc::new(RateLimiter::keyed(gcra)),
        }
    }

    fn check(&self, address: IpAddr) -> Result<(), ApiError> {
        let verdict = self.by_address.check_key(&address);
        if self.by_address.len() > FORGET_IDLE_ABOVE {
            self.by_address.retain_recent();
        }
        verdict.map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            ApiError::TooManyRequests {
                limit: self.quota.per_second.get(),
                burst: self.quota.burst.get(),
                // Retry-After counts whole seconds: round up, so a retry then is allowed.
                retry_after_secs: wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
            }
        })
    }
}

/// Whether `request` is a read the limit applies to.
fn is_limited_read(request: &Request) -> bool {
    let monitoring = [
        layout::HEALTH,
        layout::HEALTHZ,
        layout::READYZ,
        layout::METRICS,
    ];
    matches!(*request.method(), Method::GET | Method::HEAD)
        && !monitoring.contains(&request.uri().path())
}

/// The middleware: a 429 problem with Retry-After once an address exceeds its reads.
pub async fn limit_reads(
    State(limit): State<ReadLimit>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    if is_limited_read(&request)
        && let Err(refusal) = limit.check(peer.ip())
    {
        return refusal.into_response();
    }
    next.run(request).await
}
