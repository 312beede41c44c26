//! How long the page waits before reconnecting: 0.5 s, 1 s, 2 s … up to 15 s, each
//! with jitter, so that a restarted server is not hit by every client at the same
//! instant.

use std::time::Duration;

/// The first wait.
const FIRST_MS: f64 = 500.0;
/// The longest wait, before jitter.
const MAX_MS: f64 = 15_000.0;

/// The wait after `failures` failed tries in a row (the first failure waits least).
/// `random` in `[0, 1)` scales it to between half and all of the full wait.
pub fn backoff(failures: u32, random: f64) -> Duration {
    let doublings = failures.saturating_sub(1).min(5) as i32;
    let full = (FIRST_MS * 2f64.powi(doublings)).min(MAX_MS);
    let jittered = full * (0.5 + random.clamp(0.0, 1.0) / 2.0);
    Duration::from_millis(jittered as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(failures: u32, random: f64) -> u64 {
        backoff(failures, random).as_millis() as u64
    }

    #[test]
    fn doubles_from_half_a_second() {
        let full: Vec<u64> = (1..=6).map(|n| ms(n, 1.0)).collect();
        assert_eq!(full, [500, 1_000, 2_000, 4_000, 8_000, 15_000]);
        // No failure yet counts as the first.
        assert_eq!(ms(0, 1.0), 500);
    }

    #[test]
    fn stops_growing_at_fifteen_seconds() {
        assert_eq!(ms(7, 1.0), 15_000);
        assert_eq!(ms(u32::MAX, 1.0), 15_000);
    }

    #[test]
    fn jitter_keeps_between_half_and_all_of_the_wait() {
        assert_eq!(ms(3, 0.0), 1_000);
        assert_eq!(ms(3, 0.5), 1_500);
        assert_eq!(ms(20, 0.0), 7_500);
        // Out-of-range randomness cannot make it longer or shorter.
        assert_eq!(ms(3, 7.0), 2_000);
        assert_eq!(ms(3, -1.0), 1_000);
    }
}
