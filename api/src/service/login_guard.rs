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
/// Above this many counters, forgotten ones are swept on the next attempt; above twice this,
/// every counter not holding anyone back is dropped, so the map stays bounded whatever an
/// attacker sends.
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

/// A counter's key. Names are kept as a 64-bit digest (a counter costs the same whatever the
/// name's length); IPv6 clients are counted by their /64, the block one subscriber gets.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Key {
    Pair(u64, Option<IpAddr>),
    Address(IpAddr),
    Username(u64),
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

fn name_key(username: &str) -> u64 {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(username.trim().to_lowercase().as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first)
}

/// The unit a client is counted by: its IPv4 address, or the /64 of its IPv6 address (the
/// block one subscriber gets, so rotating addresses inside it does not make a new client).
pub fn network(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

fn keys(username: &str, client: Option<IpAddr>) -> [(Option<Key>, Rule); 3] {
    let name = name_key(username);
    let client = client.map(network);
    [
        (Some(Key::Pair(name, client)), PAIR),
        (Some(Key::Username(name)), USERNAME),
        (client.map(Key::Address), ADDRESS),
    ]
}

/// One sign-in attempt admitted by [`LoginGuard::admit`]: it already counts as a failure, so a
/// burst of concurrent guesses is counted as it arrives, not after the hashing. Settle it with
/// [`Attempt::succeeded`], [`Attempt::failed`], or drop it when no verdict was reached (the
/// server was busy): then it does not count.
pub struct Attempt<'g> {
    guard: &'g LoginGuard,
    username: String,
    client: Option<IpAddr>,
    settled: bool,
}

impl Attempt<'_> {
    /// The credentials were right: the account's counters are cleared and the address's
    /// reserved failure is taken back.
    pub fn succeeded(mut self) {
        self.settled = true;
        let name = name_key(&self.username);
        let client = self.client.map(network);
        let mut counters = self.guard.lock();
        counters.remove(&Key::Pair(name, client));
        counters.remove(&Key::Username(name));
        if let Some(ip) = client {
            take_back(&mut counters, Key::Address(ip), ADDRESS);
        }
    }

    /// The credentials were wrong: the reserved failure stands.
    pub fn failed(mut self) {
        self.settled = true;
    }
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        if self.settled {
            return;
        }
        let mut counters = self.guard.lock();
        for (key, rule) in keys(&self.username, self.client) {
            if let Some(key) = key {
                take_back(&mut counters, key, rule);
            }
        }
    }
}

/// Takes one reserved failure back from `key`.
fn take_back(counters: &mut HashMap<Key, Counter>, key: Key, rule: Rule) {
    if let Some(counter) = counters.get_mut(&key) {
        counter.failures = counter.failures.saturating_sub(1);
        counter.blocked_until = counter.last + rule.delay(counter.failures);
    }
}

impl LoginGuard {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Counter>> {
        self.counters.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Admits an attempt and counts it at once, or refuses it with `429` while any of its
    /// counters is in its delay. Checking and counting under one lock means concurrent guesses
    /// cannot all pass the check before the first is counted.
    pub fn admit(&self, username: &str, client: Option<IpAddr>) -> Result<Attempt<'_>, AppError> {
        let now = Instant::now();
        let mut counters = self.lock();
        let keys = keys(username, client);
        let wait = keys
            .iter()
            .filter_map(|(key, _)| key.and_then(|k| counters.get(&k)))
            .map(|c| c.blocked_until.saturating_duration_since(now))
            .max()
            .unwrap_or_default();
        if !wait.is_zero() {
            return Err(AppError::RetryLater {
                status: 429,
                code: "too_many_attempts",
                detail: "too many failed sign-in attempts; wait before trying again".into(),
                retry_after: wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
            });
        }
        if counters.len() > SWEEP_ABOVE {
            counters.retain(|_, c| now.duration_since(c.last) < FORGET_AFTER);
        }
        if counters.len() > 2 * SWEEP_ABOVE {
            counters.retain(|_, c| c.blocked_until > now);
        }
        for (key, rule) in keys {
            let Some(key) = key else { continue };
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
        Ok(Attempt {
            guard: self,
            username: username.to_string(),
            client,
            settled: false,
        })
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

    fn fail(guard: &LoginGuard, name: &str, client: Option<IpAddr>) {
        guard.admit(name, client).expect("admitted").failed();
    }

    #[test]
    fn a_guesser_is_held_back_and_others_are_not() {
        let guard = LoginGuard::default();
        let attacker = Some(IpAddr::from([10, 0, 0, 1]));
        let owner = Some(IpAddr::from([10, 0, 0, 2]));
        for _ in 0..=PAIR.free {
            fail(&guard, "admin", attacker);
        }
        let Err(AppError::RetryLater {
            status,
            retry_after,
            ..
        }) = guard.admit("ADMIN", attacker)
        else {
            panic!("the sixth failure is not delayed");
        };
        assert_eq!((status, retry_after), (429, 2));
        // The owner, elsewhere, still signs in; another account from the attacker too.
        guard.admit("admin", owner).expect("owner").succeeded();
        guard
            .admit("someone", attacker)
            .expect("other account")
            .failed();
    }

    #[test]
    fn a_concurrent_burst_is_counted_as_it_arrives() {
        let guard = LoginGuard::default();
        let client = Some(IpAddr::from([10, 0, 0, 3]));
        // Six attempts in flight at once: the sixth is refused before any verdict.
        let in_flight: Vec<Attempt<'_>> = (0..PAIR.free)
            .map(|_| guard.admit("admin", client).expect("admitted"))
            .collect();
        assert!(guard.admit("admin", client).is_ok_and(|a| {
            a.failed();
            true
        }));
        assert!(guard.admit("admin", client).is_err());
        drop(in_flight);
    }

    #[test]
    fn an_attempt_without_a_verdict_does_not_count() {
        let guard = LoginGuard::default();
        let client = Some(IpAddr::from([10, 0, 0, 4]));
        for _ in 0..20 {
            drop(guard.admit("admin", client).expect("admitted"));
        }
        assert!(guard.admit("admin", client).is_ok());
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_64() {
        let a: IpAddr = "2001:db8:1:2::1".parse().expect("ip");
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().expect("ip");
        assert_eq!(network(a), network(b));
        let guard = LoginGuard::default();
        for i in 0..ADDRESS.free {
            fail(&guard, &format!("user{i}"), Some(a));
        }
        fail(&guard, "one-more", Some(b));
        assert!(guard.admit("yet-another", Some(b)).is_err());
    }
}
