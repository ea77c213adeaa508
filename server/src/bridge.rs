//! What the Bevy app and the HTTP side (tokio) share: metrics, health, secrets and
//! the admin request channel. Neither side ever blocks on the other: counters are
//! atomics, admin requests travel through a bounded channel and are answered on a
//! oneshot.

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use bevy::prelude::Resource;
use galaxy_shared::guard::Rejection;
use galaxy_shared::protocol::Role;
use tokio::sync::{mpsc, oneshot};

/// Counters and gauges exported at `/metrics`.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Simulation ticks run.
    pub ticks: AtomicU64,
    /// Median tick duration (µs) over the recent window.
    pub tick_p50_us: AtomicU64,
    /// 99th percentile tick duration (µs).
    pub tick_p99_us: AtomicU64,
    /// Ticks longer than their period.
    pub tick_overruns: AtomicU64,
    /// Ticks dropped by the catch-up limit.
    pub ticks_dropped: AtomicU64,
    /// Ships in the world.
    pub ships: AtomicU64,
    /// Connected game clients.
    pub clients: AtomicU64,
    /// Game messages that failed to decode or validate.
    pub bad_messages: AtomicU64,
    /// Datagrams dropped by the packet guard before netcode or renet saw them.
    pub guarded_packets: AtomicU64,
    /// The same, by [`Rejection`] kind (indexed as in [`Rejection::ALL`]).
    pub guarded_by_kind: [AtomicU64; Rejection::ALL.len()],
    /// Clients disconnected for sending garbage.
    pub garbage_disconnects: AtomicU64,
    /// Game payload bytes sent / received.
    pub bytes_sent: AtomicU64,
    /// Game payload bytes received.
    pub bytes_received: AtomicU64,
    /// HTTP requests served.
    pub http_requests: AtomicU64,
    /// Successful logins.
    pub logins: AtomicU64,
    /// Failed logins (bad credentials).
    pub login_failures: AtomicU64,
    /// Logins refused by throttling.
    pub login_throttled: AtomicU64,
    /// Accounts created.
    pub registrations: AtomicU64,
    /// Registrations refused by throttling.
    pub registrations_throttled: AtomicU64,
    /// Admin commands run (from any entry point).
    pub admin_commands: AtomicU64,
    /// Admin lines refused (not an admin, banned, or the standing unreadable).
    pub admin_refused: AtomicU64,
    /// Database operations that failed.
    pub db_errors: AtomicU64,
    /// World snapshots written.
    pub snapshots_written: AtomicU64,
    /// Snapshot write attempts that failed (each is retried).
    pub snapshots_failed: AtomicU64,
    /// Encode and write time of the last snapshot written (ms).
    pub snapshot_last_duration_ms: AtomicU64,
    /// Size of the last snapshot written (bytes).
    pub snapshot_last_bytes: AtomicU64,
}

impl Metrics {
    /// Counts a packet the guard dropped.
    pub fn count_guarded(&self, rejection: Rejection) {
        self.guarded_packets.fetch_add(1, Ordering::Relaxed);
        if let Some(i) = Rejection::ALL.iter().position(|&r| r == rejection) {
            self.guarded_by_kind[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Prometheus text exposition of every counter.
    pub fn render(&self, health: &Health) -> String {
        let rows: [(&str, &str, &str, &AtomicU64); 25] = [
            (
                "galaxy_ticks_total",
                "counter",
                "Simulation ticks run",
                &self.ticks,
            ),
            (
                "galaxy_tick_duration_p50_microseconds",
                "gauge",
                "Median tick duration",
                &self.tick_p50_us,
            ),
            (
                "galaxy_tick_duration_p99_microseconds",
                "gauge",
                "99th percentile tick duration",
                &self.tick_p99_us,
            ),
            (
                "galaxy_tick_overruns_total",
                "counter",
                "Ticks longer than their period",
                &self.tick_overruns,
            ),
            (
                "galaxy_ticks_dropped_total",
                "counter",
                "Ticks dropped by the catch-up limit",
                &self.ticks_dropped,
            ),
            ("galaxy_ships", "gauge", "Ships in the world", &self.ships),
            (
                "galaxy_clients",
                "gauge",
                "Connected game clients",
                &self.clients,
            ),
            (
                "galaxy_bad_messages_total",
                "counter",
                "Game messages that failed to decode or validate",
                &self.bad_messages,
            ),
            (
                "galaxy_guarded_packets_total",
                "counter",
                "Datagrams dropped by the packet guard",
                &self.guarded_packets,
            ),
            (
                "galaxy_garbage_disconnects_total",
                "counter",
                "Clients disconnected for garbage",
                &self.garbage_disconnects,
            ),
            (
                "galaxy_net_sent_bytes_total",
                "counter",
                "Game payload bytes sent",
                &self.bytes_sent,
            ),
            (
                "galaxy_net_received_bytes_total",
                "counter",
                "Game payload bytes received",
                &self.bytes_received,
            ),
            (
                "galaxy_http_requests_total",
                "counter",
                "HTTP requests served",
                &self.http_requests,
            ),
            (
                "galaxy_logins_total",
                "counter",
                "Successful logins",
                &self.logins,
            ),
            (
                "galaxy_login_failures_total",
                "counter",
                "Failed logins",
                &self.login_failures,
            ),
            (
                "galaxy_login_throttled_total",
                "counter",
                "Logins refused by throttling",
                &self.login_throttled,
            ),
            (
                "galaxy_registrations_total",
                "counter",
                "Accounts created",
                &self.registrations,
            ),
            (
                "galaxy_registrations_throttled_total",
                "counter",
                "Registrations refused by throttling",
                &self.registrations_throttled,
            ),
            (
                "galaxy_admin_commands_total",
                "counter",
                "Admin commands run",
                &self.admin_commands,
            ),
            (
                "galaxy_admin_refused_total",
                "counter",
                "Admin lines refused",
                &self.admin_refused,
            ),
            (
                "galaxy_db_errors_total",
                "counter",
                "Database operations that failed",
                &self.db_errors,
            ),
            (
                "galaxy_snapshots_written_total",
                "counter",
                "World snapshots written",
                &self.snapshots_written,
            ),
            (
                "galaxy_snapshots_failed_total",
                "counter",
                "Snapshot write attempts that failed",
                &self.snapshots_failed,
            ),
            (
                "galaxy_snapshot_last_duration_milliseconds",
                "gauge",
                "Encode and write time of the last snapshot",
                &self.snapshot_last_duration_ms,
            ),
            (
                "galaxy_snapshot_last_size_bytes",
                "gauge",
                "Size of the last snapshot",
                &self.snapshot_last_bytes,
            ),
        ];
        let mut out = String::new();
        for (name, kind, help, value) in rows {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {}",
                value.load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# HELP galaxy_guarded_packets_by_kind_total Packets dropped by the packet guard, by kind\n# TYPE galaxy_guarded_packets_by_kind_total counter"
        );
        for (kind, count) in Rejection::ALL.iter().zip(&self.guarded_by_kind) {
            let _ = writeln!(
                out,
                "galaxy_guarded_packets_by_kind_total{{kind=\"{}\"}} {}",
                kind.as_str(),
                count.load(Ordering::Relaxed)
            );
        }
        let ready = |flag: bool| u8::from(flag);
        let _ = writeln!(
            out,
            "# HELP galaxy_database_up Database reachable\n# TYPE galaxy_database_up gauge\ngalaxy_database_up {}",
            ready(health.database_up())
        );
        let _ = writeln!(
            out,
            "# HELP galaxy_simulation_up Simulation ticked within the last 2 s\n# TYPE galaxy_simulation_up gauge\ngalaxy_simulation_up {}",
            ready(health.simulation_up())
        );
        out
    }
}

/// Liveness facts for `/ready`.
#[derive(Debug, Default)]
pub struct Health {
    last_tick_unix_ms: AtomicU64,
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
    /// Counters.
    pub metrics: Arc<Metrics>,
    /// Health flags.
    pub health: Arc<Health>,
    /// Send side of the admin queue (HTTP uses it).
    pub admin: mpsc::Sender<AdminRequest>,
}

/// A bridge and the receive end of its admin queue (for the app).
pub fn bridge() -> (Bridge, mpsc::Receiver<AdminRequest>) {
    let (admin, inbox) = mpsc::channel(ADMIN_QUEUE);
    (
        Bridge {
            metrics: Arc::default(),
            health: Arc::default(),
            admin,
        },
        inbox,
    )
}
