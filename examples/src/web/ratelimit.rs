//! Limits on login attempts, per account and per client address.
//!
//! Both limits are token buckets from `governor`, kept in this process's memory: two
//! instances each allow the full rate. Behind a proxy, the client's address is read from
//! the header the proxy sets (see `WebConfig::client_address`). Set either limit to 0 to switch it off, as a load
//! test from one address may need.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum_client_ip::ClientIp;
use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// How many login attempts are let through per minute (also the burst size); 0 means no
/// limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginLimits {
    /// Attempts per minute for one email address, whatever the client.
    pub per_account_per_minute: u32,
    /// Attempts per minute from one client address, whatever the email.
    pub per_address_per_minute: u32,
}

impl Default for LoginLimits {
    fn default() -> Self {
        Self {
            per_account_per_minute: 10,
            per_address_per_minute: 30,
        }
    }
}

/// The limiters themselves.
pub(crate) struct LoginLimiter {
    account: Option<DefaultKeyedRateLimiter<String>>,
    address: Option<DefaultKeyedRateLimiter<IpAddr>>,
}

impl fmt::Debug for LoginLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginLimiter")
            .field("per_account", &self.account.is_some())
            .field("per_address", &self.address.is_some())
            .finish()
    }
}

/// An attempt over the limit: how long to wait, in whole seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RateLimited {
    pub(crate) retry_after_secs: u64,
}

impl LoginLimiter {
    pub(crate) fn new(limits: &LoginLimits) -> Self {
        let quota = |per_minute| NonZeroU32::new(per_minute).map(Quota::per_minute);
        Self {
            account: quota(limits.per_account_per_minute).map(RateLimiter::keyed),
            address: quota(limits.per_address_per_minute).map(RateLimiter::keyed),
        }
    }

    /// Counts one attempt for `email` from `address`, or says how long to wait.
    pub(crate) fn check(&self, email: &str, address: IpAddr) -> Result<(), RateLimited> {
        if let Some(limiter) = &self.address {
            limiter.check_key(&address).map_err(refusal)?;
        }
        if let Some(limiter) = &self.account {
            let key = email.trim().to_lowercase();
            limiter.check_key(&key).map_err(|err| {
                tracing::warn!("login attempts for one account over the limit");
                refusal(err)
            })?;
        }
        Ok(())
    }

    /// Counts one attempt from `address` alone (registration).
    pub(crate) fn check_address(&self, address: IpAddr) -> Result<(), RateLimited> {
        match &self.address {
            Some(limiter) => limiter.check_key(&address).map_err(refusal),
            None => Ok(()),
        }
    }

    /// Forgets keys whose buckets are full again, so memory stays bounded.
    pub(crate) fn prune(&self) {
        if let Some(limiter) = &self.account {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
        if let Some(limiter) = &self.address {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}

fn refusal(not_until: governor::NotUntil<governor::clock::QuantaInstant>) -> RateLimited {
    let wait = not_until.wait_time_from(DefaultClock::default().now());
    RateLimited {
        retry_after_secs: wait.as_secs() + 1,
    }
}

/// The client's address, from where [`WebConfig::client_address`](super::WebConfig) says:
/// the connection, or a header set by the proxy in front. A request without that header
/// (one that did not come through the proxy) falls back to the connection's address.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClientAddr(pub(crate) IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if let Ok(ClientIp(address)) = ClientIp::from_request_parts(parts, state).await {
            return Ok(Self(address));
        }
        let address = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |info| info.0.ip());
        Ok(Self(address))
    }
}
