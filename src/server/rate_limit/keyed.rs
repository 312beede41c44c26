//! Token buckets per key (an account, an address), for limits that must hold across
//! connections and requests.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::Instant;

use crate::server::rate_limit::{Rate, TokenBucket};

/// Keys are forgotten once their bucket is full again, so the map holds only those
/// limited recently; past this many, it is swept.
const SWEEP_AT: usize = 10_000;

pub struct KeyedLimiter<K> {
    rate: Rate,
    buckets: Mutex<HashMap<K, TokenBucket>>,
}

impl<K: Hash + Eq> KeyedLimiter<K> {
    pub fn new(rate: Rate) -> Self {
        KeyedLimiter {
            rate,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token from `key`'s bucket, if it has one. A borrowed key (`&str` for
    /// `String` keys) is copied only the first time: this runs for every message sent.
    pub fn try_take<Q>(&self, key: &Q, now: Instant) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(bucket) = buckets.get_mut(key) {
            return bucket.try_take(now);
        }
        if buckets.len() >= SWEEP_AT {
            buckets.retain(|_, bucket| !bucket.is_full(now));
        }
        let mut bucket = TokenBucket::new_at(self.rate, now);
        let taken = bucket.try_take(now);
        buckets.insert(key.to_owned(), bucket);
        taken
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn each_key_has_its_own_bucket() {
        let limiter = KeyedLimiter::new(Rate {
            per_second: 1.0,
            burst: 2.0,
        });
        let now = Instant::now();
        assert!(limiter.try_take(&"ana", now));
        assert!(limiter.try_take(&"ana", now));
        assert!(!limiter.try_take(&"ana", now), "ana's burst is spent");
        assert!(limiter.try_take(&"bo", now), "bo is not limited by ana");
        assert!(limiter.try_take(&"ana", now + Duration::from_secs(1)));
    }

    #[test]
    fn full_buckets_are_swept() {
        let limiter = KeyedLimiter::new(Rate {
            per_second: 100.0,
            burst: 1.0,
        });
        let start = Instant::now();
        for key in 0..SWEEP_AT {
            limiter.try_take(&key, start);
        }
        // A second later every bucket is full again and the next call sweeps them.
        limiter.try_take(&usize::MAX, start + Duration::from_secs(1));
        assert_eq!(limiter.buckets.lock().unwrap().len(), 1);
    }
}
