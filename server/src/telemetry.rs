//! Metrics through the [`metrics`] facade, exported as Prometheus text at `/metrics`.
//!
//! Every metric is one line of the `catalogue!` below: its constant, kind, name and help
//! text. Call sites record with the facade's macros
//! (`counter!(telemetry::LOGINS, "outcome" => "ok").increment(1)`); without an
//! installed recorder (unit tests, `simulate`) they cost nothing and go nowhere.

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Declares each metric's name constant and its help text for the exporter.
macro_rules! catalogue {
    ($($constant:ident: $kind:ident $name:literal, $help:literal;)*) => {
        $(
            #[doc = $help]
            pub const $constant: &str = $name;
        )*

        fn describe_all() {
            $( catalogue!(@describe $kind $name $help); )*
        }
    };
    (@describe counter $name:literal $help:literal) => { ::metrics::describe_counter!($name, $help) };
    (@describe gauge $name:literal $help:literal) => { ::metrics::describe_gauge!($name, $help) };
    (@describe histogram $name:literal $help:literal) => { ::metrics::describe_histogram!($name, $help) };
}

catalogue! {
    TICKS: counter "galaxy_ticks_total", "Simulation ticks run";
    TICK_DURATION: histogram "galaxy_tick_duration_seconds", "Wall time of one simulation tick";
    TICK_OVERRUNS: counter "galaxy_tick_overruns_total", "Ticks longer than their period";
    TICKS_DROPPED: counter "galaxy_ticks_dropped_total", "Ticks dropped by the catch-up limit";
    PLAYERS_ONLINE: gauge "galaxy_players_online", "Game clients connected";
    WARP: gauge "galaxy_warp", "Game seconds per real second the shared clock runs at";
    SHIPS: gauge "galaxy_ships", "Ships in the world, by flight state";
    NET_BYTES: counter "galaxy_net_bytes_total", "Game datagram bytes, by direction";
    NET_MESSAGES: counter "galaxy_net_messages_total", "Game messages, by direction";
    REJECTED_MESSAGES: counter "galaxy_rejected_messages_total", "Client messages refused, by reason";
    GUARDED_PACKETS: counter "galaxy_guarded_packets_total", "Datagrams dropped by the packet guard, by kind";
    GARBAGE_DISCONNECTS: counter "galaxy_garbage_disconnects_total", "Clients disconnected for sending garbage";
    SHIP_COMMANDS_REJECTED: counter "galaxy_ship_commands_rejected_total", "Ship commands refused by the game rules";
    LOGINS: counter "galaxy_logins_total", "HTTP logins, by outcome";
    REGISTRATIONS: counter "galaxy_registrations_total", "Account registrations, by outcome";
    ADMIN_COMMANDS: counter "galaxy_admin_commands_total", "Admin lines, by outcome";
    DB_ERRORS: counter "galaxy_db_errors_total", "Database operations that failed";
    DATABASE_UP: gauge "galaxy_database_up", "Whether the database answered its last ping";
    SIMULATION_UP: gauge "galaxy_simulation_up", "Whether the simulation ticked within the last 2 s";
    SNAPSHOTS: counter "galaxy_snapshots_total", "World snapshot writes, by outcome";
    SNAPSHOT_DURATION: histogram "galaxy_snapshot_duration_seconds", "Encode and write time of a snapshot";
    SNAPSHOT_SIZE: gauge "galaxy_snapshot_size_bytes", "Size of the last snapshot written";
    SNAPSHOT_AGE: gauge "galaxy_snapshot_age_seconds", "Time since the last snapshot was written";
    HTTP_REQUESTS: counter "galaxy_http_requests_total", "HTTP requests, by route and status";
    SYNC_DURATION: histogram "galaxy_sync_duration_seconds", "Wall time of one round of state messages to every client";
}

/// Histogram buckets (s) of the tick time: a 30 Hz tick has 33 ms.
const TICK_BUCKETS: &[f64] = &[
    0.000_5, 0.001, 0.002, 0.004, 0.008, 0.016, 0.025, 0.033, 0.05, 0.1, 0.25, 1.0,
];
/// Histogram buckets (s) of snapshot writes.
const SNAPSHOT_BUCKETS: &[f64] = &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];
/// How often the exporter folds recorded samples into its histograms.
pub const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the Prometheus recorder for this process (once; later calls do nothing).
pub fn install() -> Result<(), String> {
    if HANDLE.get().is_some() {
        return Ok(());
    }
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Full(TICK_DURATION.into()), TICK_BUCKETS)
        .and_then(|b| {
            b.set_buckets_for_metric(Matcher::Full(SNAPSHOT_DURATION.into()), SNAPSHOT_BUCKETS)
        })
        .and_then(|b| b.set_buckets_for_metric(Matcher::Full(SYNC_DURATION.into()), TICK_BUCKETS))
        .and_then(PrometheusBuilder::install_recorder)
        .map_err(|e| format!("cannot install the metrics recorder: {e}"))?;
    describe_all();
    let _ = HANDLE.set(handle);
    Ok(())
}

/// The Prometheus text exposition of every metric recorded so far.
pub fn render() -> String {
    HANDLE
        .get()
        .map(PrometheusHandle::render)
        .unwrap_or_default()
}

/// Folds recorded histogram samples in; call every [`UPKEEP_INTERVAL`].
pub fn upkeep() {
    if let Some(handle) = HANDLE.get() {
        handle.run_upkeep();
    }
}

/// `1` or `0` for a gauge that says whether something is up.
pub fn up(flag: bool) -> f64 {
    if flag { 1.0 } else { 0.0 }
}
