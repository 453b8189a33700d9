//! What stands between the token endpoint and a password guesser: growing delays after failed
//! attempts, counted per (username, client address), per client address and per username.
//!
//! Each counter lets a few failures pass, then refuses further attempts for 2, 4, 8, … seconds
//! (answered `429` with `Retry-After`, before any hashing). The pair counter stops one client
//! guessing one account; the address counter stops one client trying many accounts; the
//! username counter, with a higher threshold and a one-minute ceiling, stops many clients
//! guessing one account without letting them lock its owner out for long: the owner, from
//! another address, only meets that short ceiling. A success clears the pair and the username.
//! Counters forget after a quiet quarter of an hour.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::Mutex,
    time::{Duration, Instant},
};

use crate::error::AppError;

/// Failures allowed before delays start, and the longest delay, per kind of counter.
const PAIR: Rule = Rule {
    free: 5,
    max_delay: Duration::from_secs(300),
};
const ADDRESS: Rule = Rule {
    free: 30,
    max_delay: Duration::from_secs(300),
};
const USERNAME: Rule = Rule {
    free: 100,
    max_delay: Duration::from_secs(60),
};
/// A counter with no failure for this long is forgotten.
const FORGET_AFTER: Duration = Duration::from_secs(15 * 60);
/// Above this many counters, forgotten ones are swept on the next failure.
const SWEEP_ABOVE: usize = 50_000;

#[derive(Clone, Copy)]
struct Rule {
    free: u32,
    max_delay: Duration,
}

impl Rule {
    /// The delay after `failures` failures.
    fn delay(self, failures: u32) -> Duration {
        let over = failures.saturating_sub(self.free);
        if over == 0 {
            return Duration::ZERO;
        }
        let secs = 1u64.checked_shl(over.min(32)).unwrap_or(u64::MAX);
        Duration::from_secs(secs).min(self.max_delay)
    }
}

#[derive(Clone, PartialEq, Eq, Hash)]
enum Key {
    Pair(String, Option<IpAddr>),
    Address(IpAddr),
    Username(String),
}

struct Counter {
    failures: u32,
    last: Instant,
    blocked_until: Instant,
}

#[derive(Default)]
pub struct LoginGuard {
    counters: Mutex<HashMap<Key, Counter>>,
}

fn keys(username: &str, client: Option<IpAddr>) -> Vec<(Key, Rule)> {
    let name = username.trim().to_lowercase();
    let mut keys = vec![
        (Key::Pair(name.clone(), client), PAIR),
        (Key::Username(name), USERNAME),
    ];
    if let Some(ip) = client {
        keys.push((Key::Address(ip), ADDRESS));
    }
    keys
}

impl LoginGuard {
    /// `Err(429)` while any counter of this attempt is in its delay.
    pub fn check(&self, username: &str, client: Option<IpAddr>) -> Result<(), AppError> {
        let now = Instant::now();
        let counters = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        let wait = keys(username, client)
            .iter()
            .filter_map(|(key, _)| counters.get(key))
            .map(|c| c.blocked_until.saturating_duration_since(now))
            .max()
            .unwrap_or_default();
        if wait.is_zero() {
            return Ok(());
        }
        Err(AppError::RetryLater {
            status: 429,
            code: "too_many_attempts",
            detail: "too many failed sign-in attempts; wait before trying again".into(),
            retry_after: wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
        })
    }

    pub fn failed(&self, username: &str, client: Option<IpAddr>) {
        let now = Instant::now();
        let mut counters = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        if counters.len() > SWEEP_ABOVE {
            counters.retain(|_, c| now.duration_since(c.last) < FORGET_AFTER);
        }
        for (key, rule) in keys(username, client) {
            let counter = counters.entry(key).or_insert(Counter {
                failures: 0,
                last: now,
                blocked_until: now,
            });
            if now.duration_since(counter.last) >= FORGET_AFTER {
                counter.failures = 0;
            }
            counter.failures = counter.failures.saturating_add(1);
            counter.last = now;
            counter.blocked_until = now + rule.delay(counter.failures);
        }
    }

    pub fn succeeded(&self, username: &str, client: Option<IpAddr>) {
        let name = username.trim().to_lowercase();
        let mut counters = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        counters.remove(&Key::Pair(name.clone(), client));
        counters.remove(&Key::Username(name));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_and_stop_at_the_ceiling() {
        assert_eq!(PAIR.delay(5), Duration::ZERO);
        assert_eq!(PAIR.delay(6), Duration::from_secs(2));
        assert_eq!(PAIR.delay(7), Duration::from_secs(4));
        assert_eq!(PAIR.delay(40), Duration::from_secs(300));
        assert_eq!(USERNAME.delay(u32::MAX), Duration::from_secs(60));
    }

    #[test]
    fn a_guesser_is_held_back_and_others_are_not() {
        let guard = LoginGuard::default();
        let attacker = Some(IpAddr::from([10, 0, 0, 1]));
        let owner = Some(IpAddr::from([10, 0, 0, 2]));
        for _ in 0..PAIR.free {
            assert!(guard.check("admin", attacker).is_ok());
            guard.failed("admin", attacker);
        }
        guard.failed("Admin", attacker);
        let Err(AppError::RetryLater {
            status,
            retry_after,
            ..
        }) = guard.check("ADMIN", attacker)
        else {
            panic!("the sixth failure is not delayed");
        };
        assert_eq!((status, retry_after), (429, 2));
        // The owner, elsewhere, still signs in; another account from the attacker too.
        assert!(guard.check("admin", owner).is_ok());
        assert!(guard.check("someone", attacker).is_ok());
        guard.succeeded("admin", owner);
        assert!(guard.check("admin", owner).is_ok());
    }
}
