//! Token buckets: one per sender ([`TokenBucket`]: `burst` at once, refilled at
//! `per_second`), or one per key, for limits across connections ([`keyed`]).

pub mod keyed;

use std::time::Instant;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rate {
    pub per_second: f64,
    pub burst: f64,
}

pub struct TokenBucket {
    rate: Rate,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    pub fn new(rate: Rate) -> Self {
        Self::new_at(rate, Instant::now())
    }

    /// A full bucket as of `now`.
    pub fn new_at(rate: Rate, now: Instant) -> Self {
        TokenBucket {
            rate,
            tokens: rate.burst,
            last: now,
        }
    }

    /// Whether the bucket would be full at `now`: nothing about it is worth remembering.
    pub fn is_full(&self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens + elapsed * self.rate.per_second >= self.rate.burst
    }

    /// Takes one token if there is one.
    pub fn try_take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate.per_second).min(self.rate.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn allows_a_burst_then_the_steady_rate() {
        let mut bucket = TokenBucket::new(Rate {
            per_second: 2.0,
            burst: 3.0,
        });
        let start = bucket.last;
        let taken = (0..10).filter(|_| bucket.try_take(start)).count();
        assert_eq!(taken, 3, "the burst, then nothing");
        assert!(!bucket.try_take(start + Duration::from_millis(400)));
        assert!(
            bucket.try_take(start + Duration::from_millis(500)),
            "refilled at 2/s"
        );
        // A long pause refills to the burst, not beyond.
        let later = start + Duration::from_secs(60);
        let taken = (0..10).filter(|_| bucket.try_take(later)).count();
        assert_eq!(taken, 3);
    }
}
