//! Login and registration throttling that bounds guessing without handing a
//! stranger a way to lock an owner out.
//!
//! Failures are counted by *source* (an IPv4 address, or an IPv6 /64, since one
//! host holds a whole /64) and by account:
//! - **per source**: `max_failures_per_address` failed logins per window, then the
//!   source is refused for one window, whatever name it tries;
//! - **per source and account**: after `max_failures_per_username` failures from one
//!   source against one account, that pair backs off, doubling from
//!   `backoff_base_s` up to `backoff_max_s` with every further failure, and forgets
//!   after `backoff_max_s` without one. Another source is not affected, so a
//!   stranger cannot lock the owner out;
//! - **per account**, from all sources: past `max_failures_per_account` in a window
//!   (a guessing botnet), the account refuses sources it has not seen log in
//!   successfully within `known_source_ttl_s`. The owner's usual addresses still get
//!   in.
//!
//! Every attempt *reserves* its failure before the password is hashed and gives it
//! back on success, so a thousand concurrent guesses meet the same limit as a
//! thousand serial ones. Registrations reserve against their own per-source limit.
//!
//! Each table is an LRU map of at most `throttle_table_entries` keys, O(1) per
//! request; when one is full, the least recently touched key is forgotten. A source
//! that keeps trying keeps its entry fresh, so flushing a locked one needs that many
//! other sources first.

use std::net::IpAddr;
use std::num::NonZeroUsize;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use lru::LruCache;

use crate::config::AuthConfig;

/// Where a request comes from, as counted: IPv4 addresses whole, IPv6 by /64.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Source(IpAddr);

impl Source {
    /// The source an address counts as (IPv4-mapped IPv6 counts as IPv4).
    pub fn of(address: IpAddr) -> Self {
        match address {
            IpAddr::V4(v4) => Self(IpAddr::V4(v4)),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Self(IpAddr::V4(v4)),
                None => {
                    let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                    Self(IpAddr::V6(prefix.into()))
                }
            },
        }
    }
}

/// The limits, from `[auth]`.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Failed logins per source per window.
    pub per_source: u32,
    /// Failed logins per source and account before backoff starts.
    pub per_source_account: u32,
    /// Failed logins per account per window, from all sources.
    pub per_account: u32,
    /// Registrations per source per window of registrations.
    pub registrations_per_source: u32,
    /// Counting window and source lockout.
    pub window: Duration,
    /// Window of the registration count.
    pub registration_window: Duration,
    /// First backoff of a source and account pair.
    pub backoff_base: Duration,
    /// Longest backoff.
    pub backoff_max: Duration,
    /// How long a successful login makes its source known to the account.
    pub known_source_ttl: Duration,
    /// Most keys per table.
    pub table_entries: usize,
}

impl Limits {
    /// The `[auth]` limits.
    pub fn from_config(auth: &AuthConfig) -> Self {
        Self {
            per_source: auth.max_failures_per_address,
            per_source_account: auth.max_failures_per_username,
            per_account: auth.max_failures_per_account,
            registrations_per_source: auth.max_registrations_per_address,
            window: Duration::from_secs(auth.throttle_window_s),
            registration_window: Duration::from_secs(auth.registration_window_s),
            backoff_base: Duration::from_secs(auth.backoff_base_s),
            backoff_max: Duration::from_secs(auth.backoff_max_s),
            known_source_ttl: Duration::from_secs(auth.known_source_ttl_s),
            table_entries: auth.throttle_table_entries,
        }
    }
}

/// Failures (and reserved attempts) of one key.
#[derive(Clone, Copy, Debug)]
struct Count {
    /// Start of the current window.
    started: Instant,
    failures: u32,
    /// Attempts in flight, counted as failures until they finish.
    pending: u32,
    /// Refused until then.
    locked_until: Option<Instant>,
}

impl Count {
    fn new(now: Instant) -> Self {
        Self {
            started: now,
            failures: 0,
            pending: 0,
            locked_until: None,
        }
    }

    fn locked(&self, now: Instant) -> Option<Duration> {
        self.locked_until
            .and_then(|until| until.checked_duration_since(now))
            .filter(|left| !left.is_zero())
    }

    /// Starts a new window once the old one and any lock have passed.
    fn roll(&mut self, now: Instant, window: Duration) {
        if now.duration_since(self.started) >= window && self.locked(now).is_none() {
            *self = Self {
                pending: self.pending,
                ..Self::new(now)
            };
        }
    }

    /// `Err(wait)` while backing off. Below `limit`, attempts in flight count as
    /// failures; past it, one attempt at a time is let through after each backoff.
    fn admit_backing_off(&self, now: Instant, limit: u32) -> Result<(), Duration> {
        if let Some(wait) = self.locked(now) {
            return Err(wait);
        }
        let busy = if self.failures >= limit {
            self.pending > 0
        } else {
            self.failures.saturating_add(self.pending) >= limit
        };
        if busy {
            // Attempts in flight finish within a hash or two.
            return Err(Duration::from_secs(1));
        }
        Ok(())
    }

    /// `Err(wait)` when one more attempt would pass `limit` within the window.
    fn admit(&self, now: Instant, window: Duration, limit: u32) -> Result<(), Duration> {
        if let Some(wait) = self.locked(now) {
            return Err(wait);
        }
        if self.failures.saturating_add(self.pending) >= limit {
            let window_left = (self.started + window).saturating_duration_since(now);
            return Err(window_left.max(Duration::from_secs(1)));
        }
        Ok(())
    }
}

/// One LRU table of counts.
struct Table<K: std::hash::Hash + Eq> {
    counts: LruCache<K, Count>,
}

impl<K: std::hash::Hash + Eq + Clone> Table<K> {
    fn new(entries: NonZeroUsize) -> Self {
        Self {
            counts: LruCache::new(entries),
        }
    }

    fn entry(&mut self, key: &K, now: Instant, window: Duration) -> &mut Count {
        let count = self.counts.get_or_insert_mut_ref(key, || Count::new(now));
        count.roll(now, window);
        count
    }

    fn get(&mut self, key: &K, now: Instant, window: Duration) -> Option<&mut Count> {
        let count = self.counts.get_mut(key)?;
        count.roll(now, window);
        Some(count)
    }
}

/// Account names are case-insensitive, so their counts are too.
type Account = String;

fn account(username: &str) -> Account {
    username.to_ascii_lowercase()
}

struct State {
    sources: Table<Source>,
    pairs: Table<(Source, Account)>,
    accounts: Table<Account>,
    known: LruCache<(Source, Account), Instant>,
    registrations: Table<Source>,
}

/// The login and registration throttle shared by all HTTP handlers.
pub struct Throttle {
    limits: Limits,
    state: Mutex<State>,
}

/// A login attempt that holds its reservation until it is finished.
#[derive(Debug)]
#[must_use = "an attempt holds a reservation until it is finished"]
pub struct Attempt {
    source: Source,
    /// `None` when the name cannot be an account: only the source is counted.
    account: Option<Account>,
}

/// How a login attempt ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The password matched.
    Success,
    /// Wrong password for an existing account.
    WrongPassword,
    /// No such account (or a name that cannot be one).
    NoAccount,
}

impl Throttle {
    /// A throttle with these limits.
    pub fn new(limits: Limits) -> Self {
        let entries = NonZeroUsize::new(limits.table_entries).unwrap_or(NonZeroUsize::MIN);
        Self {
            limits,
            state: Mutex::new(State {
                sources: Table::new(entries),
                pairs: Table::new(entries),
                accounts: Table::new(entries),
                known: LruCache::new(entries),
                registrations: Table::new(entries),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Counts stay usable after a panic elsewhere: keep throttling rather than
        // fail every login.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Reserves one login attempt, or says how long to wait. `username` is `None`
    /// when the name cannot be an account.
    pub fn begin_login(
        &self,
        source: Source,
        username: Option<&str>,
        now: Instant,
    ) -> Result<Attempt, Duration> {
        let l = self.limits;
        let account = username.map(account);
        let mut state = self.lock();
        let state = &mut *state;
        state
            .sources
            .entry(&source, now, l.window)
            .admit(now, l.window, l.per_source)?;
        if let Some(account) = &account {
            let pair = (source, account.clone());
            if let Some(count) = state.pairs.get(&pair, now, l.backoff_max) {
                count.admit_backing_off(now, l.per_source_account)?;
            }
            let known = state
                .known
                .get(&pair)
                .is_some_and(|&seen| now.duration_since(seen) < l.known_source_ttl);
            if !known && let Some(count) = state.accounts.get(account, now, l.window) {
                count.admit(now, l.window, l.per_account)?;
            }
            state.pairs.entry(&pair, now, l.backoff_max).pending += 1;
            state.accounts.entry(account, now, l.window).pending += 1;
        }
        state.sources.entry(&source, now, l.window).pending += 1;
        Ok(Attempt { source, account })
    }

    /// Finishes an attempt: its reservation becomes a failure or is given back.
    pub fn finish_login(&self, attempt: Attempt, outcome: Outcome, now: Instant) {
        let l = self.limits;
        let mut state = self.lock();
        let state = &mut *state;
        let failed = outcome != Outcome::Success;
        let source = state.sources.entry(&attempt.source, now, l.window);
        source.pending = source.pending.saturating_sub(1);
        if failed {
            source.failures = source.failures.saturating_add(1);
            if source.failures >= l.per_source && source.locked_until.is_none() {
                source.locked_until = Some(now + l.window);
            }
        }
        let Some(account) = attempt.account else {
            return;
        };
        let pair_key = (attempt.source, account.clone());
        let pair = state.pairs.entry(&pair_key, now, l.backoff_max);
        pair.pending = pair.pending.saturating_sub(1);
        match outcome {
            Outcome::Success => {
                state.pairs.counts.pop(&pair_key);
                state.known.put(pair_key, now);
            }
            Outcome::WrongPassword | Outcome::NoAccount => {
                pair.failures = pair.failures.saturating_add(1);
                if let Some(over) = pair.failures.checked_sub(l.per_source_account) {
                    let backoff = l
                        .backoff_base
                        .saturating_mul(1u32 << over.min(20))
                        .min(l.backoff_max);
                    pair.locked_until = Some(now + backoff);
                }
                // A pair forgets only after `backoff_max` without a failure, counted
                // from the end of its backoff.
                pair.started = pair.locked_until.unwrap_or(now).max(now);
            }
        }
        let count = state.accounts.entry(&account, now, l.window);
        count.pending = count.pending.saturating_sub(1);
        match outcome {
            Outcome::WrongPassword => {
                count.failures = count.failures.saturating_add(1);
                if count.failures >= l.per_account && count.locked_until.is_none() {
                    count.locked_until = Some(now + l.window);
                }
            }
            // Names that are not accounts leave no account entry behind, so a flood
            // of made-up names cannot push real accounts out of the table.
            Outcome::NoAccount if count.failures == 0 && count.pending == 0 => {
                state.accounts.counts.pop(&account);
            }
            Outcome::NoAccount | Outcome::Success => {}
        }
    }

    /// Counts one registration attempt from `source`, or says how long to wait.
    pub fn begin_registration(&self, source: Source, now: Instant) -> Result<(), Duration> {
        let l = self.limits;
        let mut state = self.lock();
        let count = state
            .registrations
            .entry(&source, now, l.registration_window);
        count.admit(now, l.registration_window, l.registrations_per_source)?;
        count.failures = count.failures.saturating_add(1);
        Ok(())
    }

    /// Keys held per table (sources, pairs, accounts, known, registrations).
    #[cfg(test)]
    fn len(&self) -> [usize; 5] {
        let state = self.lock();
        [
            state.sources.counts.len(),
            state.pairs.counts.len(),
            state.accounts.counts.len(),
            state.known.len(),
            state.registrations.counts.len(),
        ]
    }
}

/// Whole seconds for a `Retry-After` header, never 0.
pub fn retry_after_secs(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use super::*;

    fn limits() -> Limits {
        Limits {
            per_source: 20,
            per_source_account: 5,
            per_account: 50,
            registrations_per_source: 3,
            window: Duration::from_secs(300),
            registration_window: Duration::from_secs(3600),
            backoff_base: Duration::from_secs(30),
            backoff_max: Duration::from_secs(3600),
            known_source_ttl: Duration::from_secs(30 * 86_400),
            table_entries: 1000,
        }
    }

    fn ip(n: u32) -> Source {
        Source::of(IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + n)))
    }

    fn fail(t: &Throttle, source: Source, name: &str, now: Instant) -> Result<(), Duration> {
        let attempt = t.begin_login(source, Some(name), now)?;
        t.finish_login(attempt, Outcome::WrongPassword, now);
        Ok(())
    }

    fn succeed(t: &Throttle, source: Source, name: &str, now: Instant) -> Result<(), Duration> {
        let attempt = t.begin_login(source, Some(name), now)?;
        t.finish_login(attempt, Outcome::Success, now);
        Ok(())
    }

    #[test]
    fn ipv6_counts_per_64_and_mapped_ipv4_as_ipv4() {
        let a: Ipv6Addr = "2001:db8:1:2:aaaa::1".parse().expect("v6");
        let b: Ipv6Addr = "2001:db8:1:2:ffff:1:2:3".parse().expect("v6");
        let c: Ipv6Addr = "2001:db8:1:3::1".parse().expect("v6");
        assert_eq!(Source::of(a.into()), Source::of(b.into()));
        assert_ne!(Source::of(a.into()), Source::of(c.into()));
        let mapped: Ipv6Addr = "::ffff:10.0.0.7".parse().expect("v6");
        assert_eq!(Source::of(mapped.into()), ip(7));
    }

    #[test]
    fn a_stranger_backs_off_but_the_owner_still_logs_in() {
        let t = Throttle::new(limits());
        let t0 = Instant::now();
        for i in 0..5 {
            fail(&t, ip(66), "root", t0).unwrap_or_else(|_| panic!("guess {i} is admitted"));
        }
        let first = t
            .begin_login(ip(66), Some("root"), t0)
            .expect_err("the stranger backs off");
        assert_eq!(retry_after_secs(first), 30);
        assert!(succeed(&t, ip(1), "root", t0).is_ok(), "owner unaffected");
        // The backoff doubles with every further failure, up to the cap.
        let mut now = t0 + Duration::from_secs(31);
        let mut waits = Vec::new();
        for _ in 0..10 {
            fail(&t, ip(66), "ROOT", now).expect("admitted after the backoff");
            let wait = t
                .begin_login(ip(66), Some("root"), now)
                .expect_err("backing off");
            waits.push(retry_after_secs(wait));
            now += wait;
        }
        assert_eq!(&waits[..4], &[60, 120, 240, 480]);
        assert_eq!(*waits.last().expect("ten waits"), 3600, "capped: {waits:?}");
    }

    #[test]
    fn a_source_is_locked_whatever_name_it_tries() {
        let t = Throttle::new(limits());
        let t0 = Instant::now();
        for i in 0..20 {
            fail(&t, ip(9), &format!("user{i}"), t0).expect("admitted");
        }
        let wait = t
            .begin_login(ip(9), Some("fresh"), t0)
            .expect_err("source locked");
        assert_eq!(retry_after_secs(wait), 300);
        assert!(t.begin_login(ip(10), Some("fresh"), t0).is_ok());
        assert!(
            t.begin_login(ip(9), None, t0 + Duration::from_secs(301))
                .is_ok(),
            "the lock ends after one window"
        );
    }

    #[test]
    fn a_botnet_locks_the_account_only_for_sources_it_has_not_seen() {
        let t = Throttle::new(limits());
        let t0 = Instant::now();
        succeed(&t, ip(1), "alice", t0).expect("owner logs in from home");
        for bot in 0..50 {
            fail(&t, ip(1000 + bot), "alice", t0).expect("each bot guesses once");
        }
        assert!(
            t.begin_login(ip(5000), Some("alice"), t0).is_err(),
            "a new source is refused once the account has seen 50 failures"
        );
        assert!(
            succeed(&t, ip(1), "alice", t0).is_ok(),
            "the owner's known address still gets in"
        );
        assert!(
            t.begin_login(ip(5000), Some("bob"), t0).is_ok(),
            "other accounts unaffected"
        );
    }

    #[test]
    fn concurrent_attempts_reserve_their_failure_before_hashing() {
        let t = Throttle::new(limits());
        let t0 = Instant::now();
        // A burst: every attempt begins before any finishes.
        let admitted: Vec<Attempt> = (0..1000)
            .filter_map(|_| t.begin_login(ip(3), Some("victim"), t0).ok())
            .collect();
        assert_eq!(admitted.len(), 5, "the same limit as five serial guesses");
        for attempt in admitted {
            t.finish_login(attempt, Outcome::WrongPassword, t0);
        }
        assert!(t.begin_login(ip(3), Some("victim"), t0).is_err());
        // A success gives its reservation back.
        let t = Throttle::new(limits());
        for _ in 0..100 {
            succeed(&t, ip(4), "owner", t0).expect("successes never lock");
        }
    }

    #[test]
    fn made_up_names_leave_no_account_entries_and_tables_stay_bounded() {
        let t = Throttle::new(Limits {
            table_entries: 64,
            per_source: u32::MAX,
            ..limits()
        });
        let t0 = Instant::now();
        for i in 0..10_000u32 {
            let attempt = t
                .begin_login(ip(i), Some(&format!("ghost{i}")), t0)
                .expect("admitted");
            t.finish_login(attempt, Outcome::NoAccount, t0);
        }
        let [sources, pairs, accounts, known, registrations] = t.len();
        assert!(sources <= 64 && pairs <= 64, "{sources} {pairs}");
        assert_eq!((accounts, known, registrations), (0, 0, 0));
    }

    #[test]
    fn registrations_are_limited_per_source() {
        let t = Throttle::new(limits());
        let t0 = Instant::now();
        for _ in 0..3 {
            t.begin_registration(ip(1), t0).expect("admitted");
        }
        let wait = t.begin_registration(ip(1), t0).expect_err("limited");
        assert_eq!(retry_after_secs(wait), 3600);
        assert!(t.begin_registration(ip(2), t0).is_ok());
        assert!(
            t.begin_registration(ip(1), t0 + Duration::from_secs(3600))
                .is_ok()
        );
    }

    #[test]
    fn retry_after_rounds_up_and_is_never_zero() {
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1500)), 2);
        assert_eq!(retry_after_secs(Duration::from_secs(7)), 7);
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
    }
}
