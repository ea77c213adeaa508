//! Login throttling: failed logins are counted per client address and per
//! username in a fixed window; once either count reaches its limit, logins for that
//! address or that name are refused until the lockout (one window) ends.
//!
//! The per-username count is independent of the address, so an attacker rotating
//! addresses still locks after the username limit. A successful login clears the
//! name's count. Entries whose window and lockout have passed are pruned, and the
//! maps are capped, so memory stays bounded.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::config::AuthConfig;

/// Most entries kept per map; past this the oldest windows are dropped first.
const MAX_ENTRIES: usize = 100_000;
/// How often expired entries are swept.
const PRUNE_EVERY: Duration = Duration::from_secs(10);

/// Failures of one key in its current window.
#[derive(Clone, Copy, Debug)]
struct Window {
    started: Instant,
    failures: u32,
    locked_until: Option<Instant>,
}

impl Window {
    fn retry_after(&self, now: Instant) -> Option<Duration> {
        self.locked_until
            .and_then(|until| until.checked_duration_since(now))
            .filter(|left| !left.is_zero())
    }

    fn expired(&self, now: Instant, window: Duration) -> bool {
        now.duration_since(self.started) >= window && self.retry_after(now).is_none()
    }
}

#[derive(Debug)]
struct Counts<K> {
    limit: u32,
    entries: HashMap<K, Window>,
}

impl<K: Eq + Hash + Clone> Counts<K> {
    fn retry_after(&self, key: &K, now: Instant) -> Option<Duration> {
        self.entries.get(key).and_then(|w| w.retry_after(now))
    }

    fn fail(&mut self, key: &K, now: Instant, window: Duration) {
        if self.entries.len() >= MAX_ENTRIES && !self.entries.contains_key(key) {
            self.prune(now, window);
            if self.entries.len() >= MAX_ENTRIES {
                self.evict_oldest();
            }
        }
        let entry = self.entries.entry(key.clone()).or_insert(Window {
            started: now,
            failures: 0,
            locked_until: None,
        });
        if entry.expired(now, window) {
            *entry = Window {
                started: now,
                failures: 0,
                locked_until: None,
            };
        }
        entry.failures = entry.failures.saturating_add(1);
        if entry.failures >= self.limit && entry.locked_until.is_none() {
            entry.locked_until = Some(now + window);
        }
    }

    fn prune(&mut self, now: Instant, window: Duration) {
        self.entries.retain(|_, w| !w.expired(now, window));
    }

    fn evict_oldest(&mut self) {
        let oldest = self
            .entries
            .iter()
            .min_by_key(|(_, w)| w.started)
            .map(|(k, _)| k.clone());
        if let Some(key) = oldest {
            self.entries.remove(&key);
        }
    }
}

#[derive(Debug)]
struct State {
    addresses: Counts<IpAddr>,
    usernames: Counts<String>,
    last_prune: Instant,
}

/// The login throttle shared by all HTTP handlers.
#[derive(Debug)]
pub struct Throttle {
    window: Duration,
    state: Mutex<State>,
}

impl Throttle {
    /// A throttle with the `[auth]` limits.
    pub fn new(auth: &AuthConfig) -> Self {
        Self::with_limits(
            auth.max_failures_per_address,
            auth.max_failures_per_username,
            Duration::from_secs(auth.throttle_window_s),
        )
    }

    /// A throttle with explicit limits.
    pub fn with_limits(per_address: u32, per_username: u32, window: Duration) -> Self {
        Self {
            window,
            state: Mutex::new(State {
                addresses: Counts {
                    limit: per_address.max(1),
                    entries: HashMap::new(),
                },
                usernames: Counts {
                    limit: per_username.max(1),
                    entries: HashMap::new(),
                },
                last_prune: Instant::now(),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding this lock cannot leave the counts inconsistent in a
        // way that matters; keep throttling rather than fail every login.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// `Err(retry_after)` when this address or this username is locked out.
    pub fn check(&self, address: IpAddr, username: &str, now: Instant) -> Result<(), Duration> {
        let state = self.lock();
        let by_address = state.addresses.retry_after(&address, now);
        let by_name = state.usernames.retry_after(&key(username), now);
        match by_address.into_iter().chain(by_name).max() {
            Some(wait) => Err(wait),
            None => Ok(()),
        }
    }

    /// Counts a failed login; `username` is `None` when it cannot be an account.
    pub fn record_failure(&self, address: IpAddr, username: Option<&str>, now: Instant) {
        let window = self.window;
        let mut state = self.lock();
        if now.duration_since(state.last_prune) >= PRUNE_EVERY {
            state.addresses.prune(now, window);
            state.usernames.prune(now, window);
            state.last_prune = now;
        }
        state.addresses.fail(&address, now, window);
        if let Some(name) = username {
            state.usernames.fail(&key(name), now, window);
        }
    }

    /// A successful login clears the username's failures.
    pub fn record_success(&self, username: &str) {
        self.lock().usernames.entries.remove(&key(username));
    }

    /// Entries held (addresses, usernames), for tests and metrics.
    pub fn len(&self) -> (usize, usize) {
        let state = self.lock();
        (state.addresses.entries.len(), state.usernames.entries.len())
    }

    /// Whether nothing is tracked.
    pub fn is_empty(&self) -> bool {
        self.len() == (0, 0)
    }
}

/// Usernames are case-insensitive, so their counts are too.
fn key(username: &str) -> String {
    username.to_ascii_lowercase()
}

/// Whole seconds for a `Retry-After` header, never 0.
pub fn retry_after_secs(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(10, 0, 0, last))
    }

    #[test]
    fn an_address_is_locked_after_its_limit_for_one_window() {
        let throttle = Throttle::with_limits(3, 100, Duration::from_secs(60));
        let t0 = Instant::now();
        for i in 0..3 {
            assert!(
                throttle.check(ip(1), "a", t0).is_ok(),
                "attempt {i} allowed"
            );
            throttle.record_failure(ip(1), Some(&format!("user{i}")), t0);
        }
        let wait = throttle
            .check(ip(1), "fresh", t0)
            .expect_err("address locked");
        assert_eq!(retry_after_secs(wait), 60);
        assert!(
            throttle.check(ip(2), "fresh", t0).is_ok(),
            "other addresses unaffected"
        );
        let later = t0 + Duration::from_secs(45);
        assert_eq!(
            retry_after_secs(throttle.check(ip(1), "x", later).expect_err("still locked")),
            15
        );
        assert!(
            throttle
                .check(ip(1), "x", t0 + Duration::from_secs(61))
                .is_ok(),
            "lock ends"
        );
    }

    #[test]
    fn a_username_locks_even_when_addresses_rotate() {
        let throttle = Throttle::with_limits(20, 5, Duration::from_secs(300));
        let t0 = Instant::now();
        for i in 0..5 {
            assert!(throttle.check(ip(i), "Victim", t0).is_ok());
            throttle.record_failure(
                ip(i),
                Some("Victim"),
                t0 + Duration::from_secs(u64::from(i)),
            );
        }
        let now = t0 + Duration::from_secs(10);
        let wait = throttle
            .check(ip(200), "victim", now)
            .expect_err("name locked from a new address");
        assert_eq!(
            retry_after_secs(wait),
            300 - 6,
            "locked one window from the fifth failure"
        );
        assert!(
            throttle.check(ip(200), "someone-else", now).is_ok(),
            "new address, other name"
        );
    }

    #[test]
    fn success_clears_the_username_count_but_failures_spread_out_expire() {
        let throttle = Throttle::with_limits(100, 3, Duration::from_secs(60));
        let t0 = Instant::now();
        throttle.record_failure(ip(1), Some("ann"), t0);
        throttle.record_failure(ip(1), Some("ann"), t0);
        throttle.record_success("ANN");
        throttle.record_failure(ip(1), Some("ann"), t0);
        throttle.record_failure(ip(1), Some("ann"), t0);
        assert!(
            throttle.check(ip(1), "ann", t0).is_ok(),
            "count restarted after success"
        );
        // A new window starts once the old one has passed.
        let t1 = t0 + Duration::from_secs(61);
        throttle.record_failure(ip(1), Some("ann"), t1);
        assert!(
            throttle.check(ip(1), "ann", t1).is_ok(),
            "old failures expired"
        );
    }

    #[test]
    fn expired_entries_are_pruned() {
        let throttle = Throttle::with_limits(1000, 1000, Duration::from_secs(5));
        let t0 = Instant::now();
        for i in 0..50 {
            throttle.record_failure(ip(i), Some(&format!("name{i}")), t0);
        }
        assert_eq!(throttle.len(), (50, 50));
        throttle.record_failure(ip(1), None, t0 + PRUNE_EVERY + Duration::from_secs(6));
        assert_eq!(throttle.len(), (1, 0), "only the new failure remains");
    }

    #[test]
    fn retry_after_rounds_up_and_is_never_zero() {
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1500)), 2);
        assert_eq!(retry_after_secs(Duration::from_secs(7)), 7);
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
    }
}
