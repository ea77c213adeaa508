//! The snapshot writer: a task on the service runtime that encodes and writes what
//! the tick captured, retrying with backoff while the database is away.
//!
//! Only the newest snapshot waits: a capture that arrives while an older one is still
//! pending replaces it (its waiters move over), so memory stays bounded however long
//! the database is gone. The tick never waits on the writer. Once encoded, a
//! snapshot's ship list goes back for the next capture to overwrite: at 100k ships
//! that saves the tick allocating (and faulting in) 25 MB and cloning every name.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use bevy::log::{error, info, warn};
use bevy::prelude::Resource;
use metrics::{counter, gauge, histogram};
use tokio::sync::Notify;

use super::format::{EncodedSnapshot, ShipRecord, WorldSnapshot};
use super::store::{self, FAIL_WRITES_FROM_ENV};
use crate::bridge::Bridge;
use crate::db::Db;
use crate::telemetry;

/// First retry delay after a failed write.
const FIRST_RETRY: Duration = Duration::from_millis(250);
/// Longest retry delay.
const MAX_RETRY: Duration = Duration::from_secs(30);
/// How often a waiting retry checks whether the database came back.
const RETRY_POLL: Duration = Duration::from_millis(100);
/// A write that takes longer than this is abandoned and retried.
const WRITE_TIMEOUT: Duration = Duration::from_secs(120);

/// What a finished (or first failed) write reports to whoever asked for it.
pub type SnapshotOutcome = Result<Saved, String>;
/// Called once with the outcome of a requested snapshot.
pub type SnapshotDone = Box<dyn FnOnce(SnapshotOutcome) + Send + Sync>;

/// A written snapshot.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Saved {
    /// Row id.
    pub id: i64,
    /// Tick it was taken at.
    pub tick: u64,
    /// Ships in it.
    pub ships: usize,
    /// Blob size.
    pub bytes: usize,
    /// Encode and write time.
    pub duration: Duration,
}

struct Pending {
    snapshot: WorldSnapshot,
    waiters: Vec<SnapshotDone>,
}

#[derive(Default)]
struct Slot {
    pending: Option<Pending>,
    busy: bool,
}

struct Shared {
    slot: Mutex<Slot>,
    /// An encoded snapshot's ship list, for the next capture to overwrite.
    spare_ships: Mutex<Vec<ShipRecord>>,
    wake: Notify,
    urgent: AtomicBool,
    attempts: AtomicU64,
}

impl Shared {
    fn keep_spare(&self, ships: Vec<ShipRecord>) {
        *self
            .spare_ships
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = ships;
    }
}

/// Hands captured snapshots to the writer task; cheap to clone.
#[derive(Resource, Clone)]
pub struct SnapshotWriter {
    shared: Arc<Shared>,
}

impl SnapshotWriter {
    /// Starts the writer task on `runtime`, keeping the newest `keep` snapshots.
    pub fn start(
        db: Db,
        bridge: Option<Bridge>,
        keep: u32,
        runtime: &tokio::runtime::Handle,
    ) -> Self {
        let shared = Arc::new(Shared {
            slot: Mutex::default(),
            spare_ships: Mutex::default(),
            wake: Notify::new(),
            urgent: AtomicBool::new(false),
            attempts: AtomicU64::new(0),
        });
        let fail_from = std::env::var(FAIL_WRITES_FROM_ENV)
            .ok()
            .and_then(|v| v.trim().parse().ok());
        if let Some(from) = fail_from {
            warn!(
                "{FAIL_WRITES_FROM_ENV}={from}: snapshot writes from attempt {from} on will fail (test hook)"
            );
        }
        let task = Task {
            shared: shared.clone(),
            db,
            bridge,
            keep,
            fail_from,
        };
        runtime.spawn(task.run());
        Self { shared }
    }

    /// Queues `snapshot`, replacing one still waiting (whose waiters move over);
    /// each of `done` hears how it went.
    pub fn submit(&self, snapshot: WorldSnapshot, done: Vec<SnapshotDone>) {
        let mut slot = self.lock();
        let mut waiters = slot
            .pending
            .take()
            .map(|older| older.waiters)
            .unwrap_or_default();
        waiters.extend(done);
        slot.pending = Some(Pending { snapshot, waiters });
        drop(slot);
        self.shared.wake.notify_one();
    }

    /// The last encoded snapshot's ship list (empty before the first), for the
    /// next capture to overwrite.
    pub fn spare_ships(&self) -> Vec<ShipRecord> {
        std::mem::take(
            &mut *self
                .shared
                .spare_ships
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        )
    }

    /// Keeps `ships` for the next capture to overwrite.
    pub fn keep_spare(&self, ships: Vec<ShipRecord>) {
        self.shared.keep_spare(ships);
    }

    /// Whether nothing waits and nothing is being written.
    pub fn is_idle(&self) -> bool {
        let slot = self.lock();
        slot.pending.is_none() && !slot.busy
    }

    /// Writes what waits now, skipping any backoff, and blocks until the writer is
    /// idle or `patience` passes; false when it gave up (the database is away).
    pub fn flush(&self, runtime: &tokio::runtime::Handle, patience: Duration) -> bool {
        self.shared.urgent.store(true, Ordering::Relaxed);
        self.shared.wake.notify_one();
        let deadline = Instant::now() + patience;
        runtime.block_on(async {
            while !self.is_idle() {
                if Instant::now() >= deadline {
                    return false;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            true
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Slot> {
        // The slot is only swapped whole, so a panic elsewhere cannot leave it torn.
        self.shared
            .slot
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

struct Task {
    shared: Arc<Shared>,
    db: Db,
    bridge: Option<Bridge>,
    keep: u32,
    fail_from: Option<u64>,
}

impl Task {
    fn take(&self, busy: bool) -> Option<Pending> {
        let mut slot = self
            .shared
            .slot
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let pending = slot.pending.take();
        slot.busy = busy && pending.is_some();
        pending
    }

    fn set_idle(&self) {
        let mut slot = self
            .shared
            .slot
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        slot.busy = false;
    }

    async fn run(self) {
        let mut delay = FIRST_RETRY;
        loop {
            let Some(pending) = self.take(true) else {
                self.shared.wake.notified().await;
                continue;
            };
            let (mut encoded, mut waiters) = match self.encode(pending).await {
                Ok(ready) => ready,
                Err(()) => {
                    self.set_idle();
                    continue;
                }
            };
            loop {
                match self.write(&encoded.0, encoded.1).await {
                    Ok(saved) => {
                        delay = FIRST_RETRY;
                        self.record_success(&saved);
                        for done in waiters.drain(..) {
                            done(Ok(saved));
                        }
                        break;
                    }
                    Err(reason) => {
                        counter!(telemetry::SNAPSHOTS, "outcome" => "failed").increment(1);
                        counter!(telemetry::DB_ERRORS).increment(1);
                        let tick = encoded.0.tick;
                        warn!(
                            tick,
                            retry_in_ms = delay.as_millis() as u64,
                            "snapshot not written: {reason}; retrying"
                        );
                        for done in waiters.drain(..) {
                            done(Err(format!(
                                "snapshot at tick {tick} not written yet ({reason}); \
                                 retrying in the background"
                            )));
                        }
                        self.back_off(delay).await;
                        delay = (delay * 2).min(MAX_RETRY);
                        // A newer capture replaces the one that failed.
                        if let Some(newer) = self.take(true) {
                            match self.encode(newer).await {
                                Ok(ready) => (encoded, waiters) = ready,
                                Err(()) => continue,
                            }
                        }
                    }
                }
            }
            self.set_idle();
        }
    }

    /// Encodes off the async workers; an encoding failure (a bug, not the database)
    /// is reported to the waiters and the snapshot dropped.
    async fn encode(
        &self,
        pending: Pending,
    ) -> Result<((EncodedSnapshot, Duration), Vec<SnapshotDone>), ()> {
        let Pending { snapshot, waiters } = pending;
        let started = Instant::now();
        let shared = self.shared.clone();
        let encoded = tokio::task::spawn_blocking(move || {
            let encoded = snapshot.encode();
            shared.keep_spare(snapshot.ships);
            encoded
        })
        .await
        .map_err(|e| format!("the encoder stopped: {e}"))
        .and_then(|r| r.map_err(|e| format!("cannot encode the snapshot: {e}")));
        match encoded {
            Ok(encoded) => Ok(((encoded, started.elapsed()), waiters)),
            Err(reason) => {
                error!("{reason}");
                for done in waiters {
                    done(Err(reason.clone()));
                }
                Err(())
            }
        }
    }

    /// Waits `delay`, or less when the database is seen to come back or a flush
    /// asks for the write now.
    async fn back_off(&self, delay: Duration) {
        let until = Instant::now() + delay;
        let health = self.bridge.as_ref().map(|b| b.health.clone());
        let mut seen_down = false;
        while Instant::now() < until {
            if self.shared.urgent.swap(false, Ordering::Relaxed) {
                return;
            }
            if let Some(health) = &health {
                if !health.database_up() {
                    seen_down = true;
                } else if seen_down {
                    info!("database is back; writing the pending snapshot");
                    return;
                }
            }
            tokio::time::sleep(RETRY_POLL.min(until.saturating_duration_since(Instant::now())))
                .await;
        }
    }

    /// One attempt; the reported duration is encoding plus this attempt's write.
    async fn write(&self, encoded: &EncodedSnapshot, encoding: Duration) -> Result<Saved, String> {
        let attempt = self.shared.attempts.fetch_add(1, Ordering::Relaxed) + 1;
        let started = Instant::now();
        let id = tokio::time::timeout(
            WRITE_TIMEOUT,
            store::insert(&self.db, encoded, self.keep, self.fail_from, attempt),
        )
        .await
        .map_err(|_| format!("the write took over {WRITE_TIMEOUT:?}"))?
        .map_err(|e| e.to_string())?;
        let duration = encoding + started.elapsed();
        Ok(Saved {
            id,
            tick: encoded.tick,
            ships: encoded.ship_count,
            bytes: encoded.bytes.len(),
            duration,
        })
    }

    fn record_success(&self, saved: &Saved) {
        info!(
            id = saved.id,
            tick = saved.tick,
            ships = saved.ships,
            bytes = saved.bytes,
            ms = saved.duration.as_secs_f64() * 1e3,
            "snapshot written"
        );
        counter!(telemetry::SNAPSHOTS, "outcome" => "written").increment(1);
        histogram!(telemetry::SNAPSHOT_DURATION).record(saved.duration.as_secs_f64());
        gauge!(telemetry::SNAPSHOT_SIZE).set(saved.bytes as f64);
        if let Some(bridge) = &self.bridge {
            bridge.health.record_snapshot();
        }
    }
}

impl Drop for Task {
    fn drop(&mut self) {
        if self.take(false).is_some() {
            error!("the snapshot writer stopped with a snapshot still pending");
        }
    }
}
