//! A fixed-window rate limit per key (an account or a client address) for login and
//! challenges, so a key's guesses and a flood of challenges cost the attacker time.
//!
//! It counts per process: replicas behind one address each allow the limit. Windows are kept
//! only while they are current, so memory is bounded by the keys seen in one window.

use std::collections::HashMap;
use std::sync::Mutex;

/// Attempts allowed per key and window.
#[derive(Debug)]
pub struct RateLimiter {
    limit: u32,
    window_secs: i64,
    windows: Mutex<HashMap<String, (i64, u32)>>,
}

impl RateLimiter {
    /// Allows `limit` attempts per key every `window_secs` seconds.
    pub fn new(limit: u32, window_secs: i64) -> Self {
        Self {
            limit,
            window_secs: window_secs.max(1),
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts an attempt of `key` at `now`; whether it is allowed.
    pub fn allow(&self, key: &str, now: i64) -> bool {
        let window = now.div_euclid(self.window_secs);
        let Ok(mut windows) = self.windows.lock() else {
            // A panic while counting poisoned the lock; refusing is the safe answer.
            return false;
        };
        if windows.len() > 10_000 {
            windows.retain(|_, (start, _)| *start == window);
        }
        let entry = windows.entry(key.to_owned()).or_insert((window, 0));
        if entry.0 != window {
            *entry = (window, 0);
        }
        entry.1 = entry.1.saturating_add(1);
        entry.1 <= self.limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_key_gets_its_limit_per_window() {
        let limiter = RateLimiter::new(2, 60);
        assert!(limiter.allow("alice", 0));
        assert!(limiter.allow("alice", 10));
        assert!(!limiter.allow("alice", 59));
        assert!(limiter.allow("bob", 59));
        assert!(limiter.allow("alice", 60));
    }
}
