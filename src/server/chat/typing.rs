//! "… is typing": passed on, never stored, at most once per user per room every
//! [`TYPING_EVERY`], whatever the number of their tabs or frames.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::protocol::TYPING_EVERY_MS;

/// How often one user's typing is passed on in one room, at most.
pub const TYPING_EVERY: Duration = Duration::from_millis(TYPING_EVERY_MS);
/// Entries kept before the stale ones are swept out.
const SWEEP_AT: usize = 64;

/// When each user's typing was last passed on, in one room. Only subscribers get in (the
/// room checks first) and entries older than [`TYPING_EVERY`] are swept once there are
/// [`SWEEP_AT`], so a flood costs a lookup and stores nothing.
#[derive(Default)]
pub struct TypingThrottle {
    last: HashMap<String, Instant>,
}

impl TypingThrottle {
    /// Whether `user`'s typing at `now` is passed on; if so, the next is not before
    /// [`TYPING_EVERY`] from now.
    pub fn may_pass(&mut self, user: &str, now: Instant) -> bool {
        if let Some(last) = self.last.get_mut(user) {
            if now.saturating_duration_since(*last) < TYPING_EVERY {
                return false;
            }
            *last = now;
            return true;
        }
        if self.last.len() >= SWEEP_AT {
            self.last
                .retain(|_, last| now.saturating_duration_since(*last) < TYPING_EVERY);
        }
        self.last.insert(user.to_owned(), now);
        true
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.last.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_event_per_user_every_three_seconds() {
        let mut throttle = TypingThrottle::default();
        let t0 = Instant::now();
        let at = |ms| t0 + Duration::from_millis(ms);
        assert!(throttle.may_pass("ana", at(0)));
        assert!(!throttle.may_pass("ana", at(1)));
        assert!(!throttle.may_pass("ana", at(2_999)));
        assert!(
            throttle.may_pass("bo", at(1_000)),
            "others are not affected"
        );
        assert!(throttle.may_pass("ana", at(3_000)));
        assert!(!throttle.may_pass("ana", at(5_999)));
        assert!(throttle.may_pass("ana", at(6_000)));
        assert!(!throttle.may_pass("bo", at(3_999)));
        assert!(throttle.may_pass("bo", at(4_000)));
    }

    #[test]
    fn a_flood_of_frames_stores_nothing_and_stale_entries_go() {
        let mut throttle = TypingThrottle::default();
        let t0 = Instant::now();
        let passed = (0..10_000).filter(|_| throttle.may_pass("ana", t0)).count();
        assert_eq!(passed, 1);
        assert_eq!(throttle.len(), 1);
        // Many people typing once: swept as they go stale.
        for i in 0..1_000u64 {
            let now = t0 + Duration::from_millis(100 * i);
            assert!(throttle.may_pass(&format!("user-{i}"), now));
        }
        assert!(throttle.len() <= SWEEP_AT, "{} kept", throttle.len());
    }
}
