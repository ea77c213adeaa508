//! The services around the simulation: a small tokio runtime running the database
//! pool, the HTTP API and the database health watch, plus the plugin that feeds
//! tick health and statistics from the app into the shared [`Bridge`].

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bevy::log::{info, warn};
use bevy::prelude::*;
use bevy::time::common_conditions::on_real_timer;
use galaxy_shared::components::Ship;
use tokio::sync::mpsc;

use crate::auth::start_http;
use crate::bridge::{AdminRequest, Bridge, bridge};
use crate::config::Config;
use crate::db::Db;
use crate::secrets::Secrets;
use crate::tick::{SimClock, TickStats};

/// Threads of the service runtime: HTTP and the database are light next to the tick.
const SERVICE_WORKERS: usize = 2;
/// How long start-up keeps trying to reach the database.
const DB_CONNECT_PATIENCE: Duration = Duration::from_secs(10);
/// How often the database is pinged for `/ready`.
const DB_PING_INTERVAL: Duration = Duration::from_secs(1);

/// What [`start_services`] hands to the app.
pub type Services = (
    tokio::runtime::Runtime,
    Bridge,
    mpsc::Receiver<AdminRequest>,
    Secrets,
    Db,
);

/// Builds the service runtime, loads the secrets, connects and migrates the
/// database (retrying for about ten seconds) and starts the HTTP API.
///
/// Keep the returned runtime alive as long as the app runs: dropping it stops HTTP.
pub fn start_services(config: &Config) -> Result<Services, String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(SERVICE_WORKERS)
        .thread_name("galaxy-services")
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the service runtime: {e}"))?;
    let secrets = Secrets::from_env().map_err(|e| e.to_string())?;
    if secrets.generated_jwt {
        warn!(
            "GALAXY_JWT_SECRET is not set: using a generated development secret; \
             sessions end when the server stops"
        );
    }
    let (bridge, inbox) = bridge();
    let url = config.persistence.database_url.clone();
    let db = runtime.block_on(connect_with_retry(&url))?;
    bridge.health.set_database_up(true);
    runtime.spawn(watch_database(db.clone(), bridge.clone()));
    let http = runtime
        .block_on(start_http(config, &secrets, db.clone(), bridge.clone()))
        .map_err(|e| format!("cannot start the HTTP API on {}: {e}", config.net.http_addr))?;
    info!("HTTP API on http://{http}");
    Ok((runtime, bridge, inbox, secrets, db))
}

/// Connects, retrying with backoff while the failure may be temporary.
pub async fn connect_with_retry(url: &str) -> Result<Db, String> {
    let started = Instant::now();
    let mut delay = Duration::from_millis(250);
    loop {
        match Db::connect(url).await {
            Ok(db) => return Ok(db),
            Err(error) if error.is_transient() && started.elapsed() < DB_CONNECT_PATIENCE => {
                warn!(%error, retry_in_ms = delay.as_millis() as u64, "database not reachable yet");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(2));
            }
            Err(error) => {
                return Err(format!(
                    "cannot use the database at DATABASE_URL ({}): {error}",
                    redact(url)
                ));
            }
        }
    }
}

/// The URL without its password, for messages.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    match rest.split_once('@') {
        Some((credentials, host)) => {
            let user = credentials.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}@{host}")
        }
        None => url.to_owned(),
    }
}

/// Pings the database every second and reports the answer to `/ready`.
async fn watch_database(db: Db, bridge: Bridge) {
    let mut interval = tokio::time::interval(DB_PING_INTERVAL);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut was_up = true;
    loop {
        interval.tick().await;
        let up = match tokio::time::timeout(DB_PING_INTERVAL * 3, db.ping()).await {
            Ok(Ok(())) => true,
            Ok(Err(error)) => {
                if was_up {
                    warn!(%error, "database went away");
                }
                false
            }
            Err(_) => {
                if was_up {
                    warn!("database ping timed out");
                }
                false
            }
        };
        if !up {
            bridge.metrics.db_errors.fetch_add(1, Ordering::Relaxed);
        } else if !was_up {
            info!("database is back");
        }
        bridge.health.set_database_up(up);
        was_up = up;
    }
}

/// Feeds the bridge from the app: a heartbeat after every tick and the tick
/// statistics once per second. Needs a [`Bridge`] resource.
pub fn plugin(app: &mut App) {
    app.add_systems(FixedLast, record_tick).add_systems(
        Update,
        publish_tick_metrics.run_if(on_real_timer(Duration::from_secs(1))),
    );
}

fn record_tick(bridge: Res<Bridge>) {
    bridge.health.record_tick();
}

fn publish_tick_metrics(
    bridge: Res<Bridge>,
    clock: Res<SimClock>,
    stats: Res<TickStats>,
    ships: Query<(), With<Ship>>,
) {
    let metrics = &bridge.metrics;
    let micros = |q: f64| u64::try_from(stats.quantile(q).as_micros()).unwrap_or(u64::MAX);
    metrics.ticks.store(clock.tick, Ordering::Relaxed);
    metrics.tick_p50_us.store(micros(0.5), Ordering::Relaxed);
    metrics.tick_p99_us.store(micros(0.99), Ordering::Relaxed);
    metrics
        .tick_overruns
        .store(stats.overruns, Ordering::Relaxed);
    metrics
        .ticks_dropped
        .store(stats.dropped, Ordering::Relaxed);
    metrics
        .ships
        .store(ships.iter().count() as u64, Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bridge::bridge;

    #[test]
    fn passwords_are_kept_out_of_messages() {
        assert_eq!(
            redact("postgres://u:secret@db:5432/g"),
            "postgres://u@db:5432/g"
        );
        assert_eq!(redact("postgres://db/g"), "postgres://db/g");
        assert_eq!(redact("sqlite://galaxy.db"), "sqlite://galaxy.db");
    }

    #[test]
    fn the_plugin_reports_ticks_and_ships_to_the_bridge() {
        let (bridge, _inbox) = bridge();
        let mut app = App::new();
        app.add_plugins(MinimalPlugins)
            .insert_resource(bridge.clone())
            .insert_resource(SimClock {
                tick: 1234,
                ..default()
            })
            .init_resource::<TickStats>()
            .add_plugins(plugin);
        app.world_mut().spawn(Ship);
        app.world_mut().spawn(Ship);
        assert!(!bridge.health.simulation_up(), "no tick yet");
        app.world_mut().run_schedule(FixedLast);
        assert!(bridge.health.simulation_up(), "a tick was recorded");
        // The real-time timer fires once a second has passed.
        let started = Instant::now();
        while bridge.metrics.ships.load(Ordering::Relaxed) == 0
            && started.elapsed() < Duration::from_secs(5)
        {
            app.update();
            std::thread::sleep(Duration::from_millis(50));
        }
        assert_eq!(bridge.metrics.ships.load(Ordering::Relaxed), 2);
        assert_eq!(bridge.metrics.ticks.load(Ordering::Relaxed), 1234);
    }
}
