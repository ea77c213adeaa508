//! What the Bevy app and the HTTP side (tokio) share: health, the dashboard's history
//! and the admin request channel (metrics go through the `metrics` facade, see
//! [`crate::telemetry`]). Neither side ever blocks on the other: flags are atomics,
//! the history is behind a lock held for microseconds, admin requests travel through
//! a bounded channel and are answered on a oneshot.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use bevy::prelude::Resource;
use galaxy_shared::protocol::Role;
use tokio::sync::{mpsc, oneshot};

/// Liveness facts for `/ready`, `/metrics` and the dashboard.
#[derive(Debug, Default)]
pub struct Health {
    last_tick_unix_ms: AtomicU64,
    last_snapshot_unix_ms: AtomicU64,
    database_up: AtomicBool,
}

/// A tick older than this means the simulation is stuck.
const TICK_STALE_MS: u64 = 2_000;

fn now_unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl Health {
    /// Called by the simulation after every tick.
    pub fn record_tick(&self) {
        self.last_tick_unix_ms
            .store(now_unix_ms(), Ordering::Relaxed);
    }

    /// Whether the simulation ticked recently.
    pub fn simulation_up(&self) -> bool {
        now_unix_ms().saturating_sub(self.last_tick_unix_ms.load(Ordering::Relaxed)) < TICK_STALE_MS
    }

    /// Set by whoever last talked to the database.
    pub fn set_database_up(&self, up: bool) {
        self.database_up.store(up, Ordering::Relaxed);
    }

    /// Whether the database answered last time.
    pub fn database_up(&self) -> bool {
        self.database_up.load(Ordering::Relaxed)
    }

    /// Called by the snapshot writer after each snapshot it wrote.
    pub fn record_snapshot(&self) {
        self.last_snapshot_unix_ms
            .store(now_unix_ms(), Ordering::Relaxed);
    }

    /// Seconds since the last snapshot was written, if one was.
    pub fn snapshot_age_s(&self) -> Option<f64> {
        match self.last_snapshot_unix_ms.load(Ordering::Relaxed) {
            0 => None,
            at => Some(now_unix_ms().saturating_sub(at) as f64 / 1e3),
        }
    }
}

/// One point of the dashboard's charts.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Sample {
    /// When it was taken (unix s).
    pub unix_s: u64,
    /// Median tick time over the interval (ms).
    pub tick_p50_ms: f64,
    /// 99th percentile tick time over the interval (ms).
    pub tick_p99_ms: f64,
    /// Players online.
    pub players: u32,
    /// Ships in the world.
    pub ships: u32,
}

/// Samples kept: an hour at one per [`SAMPLE_INTERVAL_S`].
pub const HISTORY_SAMPLES: usize = 360;
/// Seconds between samples.
pub const SAMPLE_INTERVAL_S: u64 = 10;

/// The last hour of [`Sample`]s, oldest first.
#[derive(Debug, Default)]
pub struct History(Mutex<std::collections::VecDeque<Sample>>);

impl History {
    /// Adds a sample, forgetting the oldest beyond [`HISTORY_SAMPLES`].
    pub fn push(&self, sample: Sample) {
        let mut samples = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if samples.len() == HISTORY_SAMPLES {
            samples.pop_front();
        }
        samples.push_back(sample);
    }

    /// A copy of every sample, oldest first.
    pub fn samples(&self) -> Vec<Sample> {
        let samples = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        samples.iter().copied().collect()
    }
}

/// Current unix time (s), for samples.
pub fn unix_now_s() -> u64 {
    now_unix_ms() / 1_000
}

/// Who runs an admin command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    /// Player id.
    pub player: u64,
    /// Player name.
    pub name: String,
    /// Role.
    pub role: Role,
}

/// The answer to an admin line.
#[derive(Clone, Debug, PartialEq)]
pub struct AdminReply {
    /// Whether it ran.
    pub ok: bool,
    /// What it printed or why it was refused.
    pub output: String,
    /// The same as data, for commands that report something (`status`, `players`).
    pub data: Option<serde_json::Value>,
}

/// An admin line from outside the app (HTTP), answered on `reply`.
#[derive(Debug)]
pub struct AdminRequest {
    /// Who asked.
    pub actor: Actor,
    /// The line.
    pub line: String,
    /// Where the answer goes.
    pub reply: oneshot::Sender<AdminReply>,
}

/// Admin requests waiting for the app; bounded so a flood cannot grow memory.
pub const ADMIN_QUEUE: usize = 64;

/// The receive end of the admin queue, as a resource the admin plugin drains.
#[derive(Resource, Debug)]
pub struct AdminInbox(pub mpsc::Receiver<AdminRequest>);

/// The shared handles, cloned into both sides.
#[derive(Resource, Clone, Debug)]
pub struct Bridge {
    /// Health flags.
    pub health: Arc<Health>,
    /// The dashboard's charts.
    pub history: Arc<History>,
    /// Send side of the admin queue (HTTP uses it).
    pub admin: mpsc::Sender<AdminRequest>,
}

/// A bridge and the receive end of its admin queue (for the app).
pub fn bridge() -> (Bridge, mpsc::Receiver<AdminRequest>) {
    let (admin, inbox) = mpsc::channel(ADMIN_QUEUE);
    (
        Bridge {
            health: Arc::default(),
            history: Arc::default(),
            admin,
        },
        inbox,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_keeps_the_last_hour_oldest_first() {
        let history = History::default();
        let sample = |unix_s| Sample {
            unix_s,
            tick_p50_ms: 1.0,
            tick_p99_ms: 2.0,
            players: 3,
            ships: 4,
        };
        for t in 0..(HISTORY_SAMPLES as u64 + 25) {
            history.push(sample(t));
        }
        let kept = history.samples();
        assert_eq!(kept.len(), HISTORY_SAMPLES);
        assert_eq!(kept[0].unix_s, 25, "the oldest samples are forgotten");
        assert_eq!(
            kept[HISTORY_SAMPLES - 1].unix_s,
            HISTORY_SAMPLES as u64 + 24
        );
    }

    #[test]
    fn snapshot_age_is_unknown_until_one_is_written() {
        let health = Health::default();
        assert_eq!(health.snapshot_age_s(), None);
        health.record_snapshot();
        let age = health.snapshot_age_s().expect("written");
        assert!((0.0..1.0).contains(&age), "{age}");
    }
}
