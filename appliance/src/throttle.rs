//! Login throttling: after a few wrong passwords an account (and, separately, a client
//! address) is locked for a while, so passwords cannot be guessed at speed. In memory: a
//! restart clears it, which an attacker cannot trigger from outside.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures allowed before a lock.
pub const MAX_FAILURES: u32 = 5;
/// How long a lock lasts.
pub const LOCK_DURATION: Duration = Duration::from_secs(300);

#[derive(Debug, Clone, Copy)]
struct Record {
    failures: u32,
    locked_until: Option<Instant>,
}

/// Failure counts per key (a user name, or a client address).
#[derive(Debug, Default)]
pub struct LoginThrottle {
    records: Mutex<HashMap<String, Record>>,
}

impl LoginThrottle {
    /// How long `key` stays locked, if it is.
    pub fn locked_for(&self, key: &str, now: Instant) -> Option<Duration> {
        let records = self.records.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        records
            .get(key)
            .and_then(|record| record.locked_until)
            .filter(|until| *until > now)
            .map(|until| until - now)
    }

    /// Records a failed attempt; returns true when this failure locks the key.
    pub fn failed(&self, key: &str, now: Instant) -> bool {
        let mut records = self.records.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let record = records.entry(key.to_owned()).or_insert(Record {
            failures: 0,
            locked_until: None,
        });
        if record.locked_until.is_some_and(|until| until <= now) {
            *record = Record {
                failures: 0,
                locked_until: None,
            };
        }
        record.failures += 1;
        if record.failures >= MAX_FAILURES && record.locked_until.is_none() {
            record.locked_until = Some(now + LOCK_DURATION);
            return true;
        }
        false
    }

    /// A successful login clears the key's failures.
    pub fn succeeded(&self, key: &str) {
        self.records
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_after_repeated_failures_and_unlocks_later() {
        let throttle = LoginThrottle::default();
        let start = Instant::now();
        for attempt in 1..MAX_FAILURES {
            assert!(!throttle.failed("bob", start), "attempt {attempt} locked too early");
            assert!(throttle.locked_for("bob", start).is_none());
        }
        assert!(throttle.failed("bob", start), "the fifth failure locks");
        assert!(throttle.locked_for("bob", start).is_some());
        assert!(
            throttle.locked_for("alice", start).is_none(),
            "other accounts are not affected"
        );
        let later = start + LOCK_DURATION + Duration::from_secs(1);
        assert!(throttle.locked_for("bob", later).is_none());
        assert!(!throttle.failed("bob", later), "a new window starts after the lock");
        throttle.succeeded("bob");
        assert!(throttle.locked_for("bob", later).is_none());
    }
}
