//! The services around the simulation: a small tokio runtime running the database
//! pool, the HTTP API, the metrics exporter's upkeep and the database health watch,
//! plus the plugin that feeds tick health, ship counts and the dashboard's history
//! from the app into the shared [`Bridge`] and the metrics.

use std::time::{Duration, Instant};

use bevy::log::{info, warn};
use bevy::prelude::*;
use bevy::time::common_conditions::on_real_timer;
use galaxy_shared::components::{FlightState, Ship};
use metrics::{counter, gauge};
use tokio::sync::mpsc;

use crate::auth::start_http;
use crate::bridge::{AdminRequest, Bridge, SAMPLE_INTERVAL_S, Sample, bridge, unix_now_s};
use crate::config::Config;
use crate::db::Db;
use crate::roster::Roster;
use crate::secrets::Secrets;
use crate::ships::flight_word;
use crate::telemetry;
use crate::tick::TickStats;

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
    telemetry::install()?;
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
    runtime.spawn(metrics_upkeep());
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

/// Folds histogram samples into the exporter's buckets now and then.
async fn metrics_upkeep() {
    let mut interval = tokio::time::interval(telemetry::UPKEEP_INTERVAL);
    loop {
        interval.tick().await;
        telemetry::upkeep();
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
            counter!(telemetry::DB_ERRORS).increment(1);
        } else if !was_up {
            info!("database is back");
        }
        bridge.health.set_database_up(up);
        was_up = up;
    }
}

/// Feeds the bridge and the metrics from the app: a heartbeat after every tick, the
/// ships by flight state once per second, a history sample every ten seconds.
/// Needs a [`Bridge`] resource.
pub fn plugin(app: &mut App) {
    app.add_systems(FixedLast, record_tick).add_systems(
        Update,
        (
            count_ships.run_if(on_real_timer(Duration::from_secs(1))),
            sample_history.run_if(on_real_timer(Duration::from_secs(SAMPLE_INTERVAL_S))),
        ),
    );
}

fn record_tick(bridge: Res<Bridge>) {
    bridge.health.record_tick();
}

fn count_ships(ships: Query<&FlightState, With<Ship>>) {
    let mut counts = [("flying", 0_u32), ("landed", 0), ("destroyed", 0)];
    for flight in &ships {
        let word = flight_word(flight);
        if let Some((_, count)) = counts.iter_mut().find(|(state, _)| *state == word) {
            *count += 1;
        }
    }
    for (state, count) in counts {
        gauge!(telemetry::SHIPS, "state" => state).set(f64::from(count));
    }
}

fn sample_history(
    bridge: Res<Bridge>,
    stats: Res<TickStats>,
    config: Res<Config>,
    roster: Res<Roster>,
    ships: Query<(), With<Ship>>,
) {
    let window = (config.tick.rate_hz * SAMPLE_INTERVAL_S as f64).ceil() as usize;
    let ms = |q: f64| stats.recent_quantile(window, q).as_secs_f64() * 1e3;
    bridge.history.push(Sample {
        unix_s: unix_now_s(),
        tick_p50_ms: ms(0.5),
        tick_p99_ms: ms(0.99),
        players: u32::try_from(roster.0.len()).unwrap_or(u32::MAX),
        ships: u32::try_from(ships.iter().count()).unwrap_or(u32::MAX),
    });
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
    fn the_plugin_records_ticks_and_samples_the_history() {
        let (bridge, _inbox) = bridge();
        let mut app = App::new();
        app.add_plugins(MinimalPlugins)
            .insert_resource(bridge.clone())
            .insert_resource(Config::defaults().expect("defaults"))
            .init_resource::<Roster>()
            .init_resource::<TickStats>()
            .add_plugins(plugin);
        app.world_mut().spawn(Ship);
        app.world_mut().spawn(Ship);
        assert!(!bridge.health.simulation_up(), "no tick yet");
        app.world_mut().run_schedule(FixedLast);
        assert!(bridge.health.simulation_up(), "a tick was recorded");
        // The real-time timer fires once the sample interval has passed.
        let started = Instant::now();
        while bridge.history.samples().is_empty()
            && started.elapsed() < Duration::from_secs(SAMPLE_INTERVAL_S + 5)
        {
            app.update();
            std::thread::sleep(Duration::from_millis(100));
        }
        let samples = bridge.history.samples();
        assert_eq!(samples.len(), 1, "{samples:?}");
        assert_eq!((samples[0].ships, samples[0].players), (2, 0));
    }
}
