//! Token-bucket rate limits per client (a signer key or a connection), with a bound on how
//! many clients are tracked. Time is passed in, so the limiter is deterministic under test.

use std::collections::HashMap;
use std::hash::Hash;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RateLimited {
    #[error("rate limit: at most {rate_per_s} requests per second; retry in {retry_after_ms} ms")]
    TooFast {
        rate_per_s: f64,
        retry_after_ms: u64,
    },
    #[error("too many clients are being tracked ({0}); retry later")]
    TooManyClients(usize),
}

struct Bucket {
    tokens: f64,
    updated: Instant,
}

pub struct RateLimiter<K> {
    rate_per_s: f64,
    burst: f64,
    clients_max: usize,
    buckets: HashMap<K, Bucket>,
}

impl<K: Hash + Eq> RateLimiter<K> {
    pub fn new(rate_per_s: f64, burst: f64, clients_max: usize) -> Self {
        assert!(
            rate_per_s > 0.0 && burst >= 1.0 && clients_max > 0,
            "config checks the limits"
        );
        RateLimiter {
            rate_per_s,
            burst,
            clients_max,
            buckets: HashMap::new(),
        }
    }

    /// Takes one token for `client`, or says how long to wait.
    pub fn take(&mut self, client: K, now: Instant) -> Result<(), RateLimited> {
        if !self.buckets.contains_key(&client) && self.buckets.len() >= self.clients_max {
            self.forget_idle(now);
            if self.buckets.len() >= self.clients_max {
                return Err(RateLimited::TooManyClients(self.clients_max));
            }
        }
        let (rate, burst) = (self.rate_per_s, self.burst);
        let bucket = self.buckets.entry(client).or_insert(Bucket {
            tokens: burst,
            updated: now,
        });
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate).min(burst);
        bucket.updated = now;
        if bucket.tokens < 1.0 {
            let wait = Duration::from_secs_f64((1.0 - bucket.tokens) / rate);
            return Err(RateLimited::TooFast {
                rate_per_s: rate,
                retry_after_ms: wait.as_millis() as u64 + 1,
            });
        }
        bucket.tokens -= 1.0;
        Ok(())
    }

    /// Drops clients whose bucket has refilled: forgetting them changes nothing.
    fn forget_idle(&mut self, now: Instant) {
        let (rate, burst) = (self.rate_per_s, self.burst);
        self.buckets.retain(|_, b| {
            b.tokens + now.saturating_duration_since(b.updated).as_secs_f64() * rate < burst
        });
    }

    pub fn len(&self) -> usize {
        self.buckets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_gets_its_burst_then_the_rate() {
        let start = Instant::now();
        let mut limiter = RateLimiter::new(2.0, 3.0, 10);
        for _ in 0..3 {
            assert!(limiter.take("a", start).is_ok());
        }
        assert!(matches!(
            limiter.take("a", start),
            Err(RateLimited::TooFast { .. })
        ));
        assert!(
            limiter.take("b", start).is_ok(),
            "clients are limited apart"
        );
        assert!(limiter
            .take("a", start + Duration::from_millis(500))
            .is_ok());
        assert!(limiter
            .take("a", start + Duration::from_millis(500))
            .is_err());
    }

    #[test]
    fn tracked_clients_are_bounded_and_idle_ones_are_forgotten() {
        let start = Instant::now();
        let mut limiter = RateLimiter::new(1.0, 2.0, 2);
        assert!(limiter.take(1, start).is_ok());
        assert!(limiter.take(2, start).is_ok());
        assert_eq!(limiter.take(3, start), Err(RateLimited::TooManyClients(2)));
        // After a second both buckets are full again; they are forgotten to make room.
        assert!(limiter.take(3, start + Duration::from_secs(1)).is_ok());
        assert_eq!(limiter.len(), 1);
    }
}
