//! Snapshot benchmarks: capture, encode + write, and read + restore of 1k, 10k and
//! 100k ships on SQLite (temp file) and PostgreSQL (a throwaway database on
//! `GALAXY_TEST_POSTGRES_URL`, default `postgres://postgres@127.0.0.1:5432/postgres`),
//! and the tick durations while a snapshot is being written. Prints a table.
//! Run with `cargo bench -p galaxy_server --bench snapshot`.

mod support;

use std::time::{Duration, Instant};

use bevy::app::FixedMain;
use bevy::prelude::*;
use galaxy_server::db::Db;
use galaxy_server::persistence::format::WorldSnapshot;
use galaxy_server::persistence::{SnapshotWriter, store, world};

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

struct Backend {
    name: &'static str,
    db: Db,
    cleanup: Option<(String, String)>,
}

fn backends(runtime: &tokio::runtime::Runtime, dir: &std::path::Path) -> Vec<Backend> {
    let sqlite = format!("sqlite://{}/bench.db", dir.display());
    let mut out = vec![Backend {
        name: "SQLite",
        db: runtime.block_on(Db::connect(&sqlite)).expect("sqlite"),
        cleanup: None,
    }];
    let admin = std::env::var("GALAXY_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let name = format!("galaxy_bench_{:016x}", fastrand::u64(..));
    let created = runtime.block_on(async {
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect(&admin).await?;
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&pool)
            .await?;
        pool.close().await;
        Ok::<_, sqlx::Error>(())
    });
    match created {
        Ok(()) => {
            let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
            let url = format!("{base}/{name}");
            out.push(Backend {
                name: "PostgreSQL",
                db: runtime.block_on(Db::connect(&url)).expect("postgres"),
                cleanup: Some((admin, name)),
            });
        }
        Err(error) => eprintln!("PostgreSQL skipped ({admin}): {error}"),
    }
    out
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let dir = std::env::temp_dir().join(format!("galaxy-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let backends = backends(&runtime, &dir);
    let runs = 3;

    println!(
        "\n| ships | backend | size | capture (tick): first / reusing the last | first after a restore | encode | encode + write | read + decode + restore |"
    );
    println!("|---:|---|---:|---:|---:|---:|---:|---:|");
    for ships in [1_000, 10_000, 100_000] {
        let mut app = support::server_with_ships(ships);
        app.world_mut().run_schedule(FixedMain);
        let started = Instant::now();
        let first = world::capture_world(app.world_mut()).expect("server world");
        let capture_first = started.elapsed();
        // The server captures over the ship list of the last encoded snapshot.
        let spare = first.ships;
        let started = Instant::now();
        let snapshot = world::capture_world_into(app.world_mut(), spare).expect("server world");
        let capture = started.elapsed();
        let started = Instant::now();
        let encoded = snapshot.encode().expect("encodes");
        let encode = started.elapsed();
        for backend in &backends {
            let mut writes = Vec::new();
            let mut reads = Vec::new();
            let mut recaptures = Vec::new();
            for _ in 0..runs {
                let started = Instant::now();
                let encoded = snapshot.encode().expect("encodes");
                let id = runtime
                    .block_on(store::insert(&backend.db, &encoded, 3, None, 1))
                    .expect("written");
                writes.push(started.elapsed());
                let mut fresh = support::server_from(support::config());
                let started = Instant::now();
                let (_, loaded) = runtime
                    .block_on(store::load(&backend.db, id))
                    .expect("loaded");
                world::restore(fresh.world_mut(), loaded).expect("restored");
                reads.push(started.elapsed());
                // A restarted server's first capture overwrites the restored list.
                let world::RestoredShips(restored) = fresh
                    .world_mut()
                    .remove_resource()
                    .expect("a restore leaves its ship list");
                let started = Instant::now();
                let again =
                    world::capture_world_into(fresh.world_mut(), restored).expect("server world");
                recaptures.push(started.elapsed());
                assert_eq!(again.state_hash(), snapshot.state_hash(), "exact restore");
            }
            println!(
                "| {ships} | {} | {:.1} MB | {:.1} / {:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms |",
                backend.name,
                encoded.bytes.len() as f64 / 1e6,
                ms(capture_first),
                ms(capture),
                ms(median(recaptures)),
                ms(encode),
                ms(median(writes)),
                ms(median(reads)),
            );
        }
    }

    println!("\n| ships | backend | ticks | p50 | p99 | max | over 33.3 ms | write took |");
    println!("|---:|---|---:|---:|---:|---:|---:|---:|");
    for ships in [10_000, 100_000] {
        let mut app = support::server_with_ships(ships);
        for backend in &backends {
            let writer = SnapshotWriter::start(backend.db.clone(), None, 3, runtime.handle());
            let (durations, took) = ticks_during_write(&mut app, &writer);
            let mut sorted = durations.clone();
            sorted.sort();
            let q = |q: f64| sorted[((sorted.len() - 1) as f64 * q).round() as usize];
            let over = durations
                .iter()
                .filter(|d| **d > Duration::from_secs_f64(1.0 / 30.0))
                .count();
            println!(
                "| {ships} | {} | {} | {:.1} ms | {:.1} ms | {:.1} ms | {over} | {:.0} ms |",
                backend.name,
                durations.len(),
                ms(q(0.5)),
                ms(q(0.99)),
                ms(q(1.0)),
                ms(took),
            );
        }
    }

    for backend in backends {
        drop(backend.db);
        if let Some((admin, name)) = backend.cleanup {
            let _ = runtime.block_on(async {
                let pool = sqlx::AnyPool::connect(&admin).await?;
                sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&pool)
                    .await
            });
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Real-time ticks at 30 Hz (1× time scale): the first one captures a snapshot and
/// hands it to the writer, as the server does; then ticks run until the writer is
/// idle, plus 30 more. Returns every tick's duration (capture included) and how
/// long the write took.
fn ticks_during_write(app: &mut App, writer: &SnapshotWriter) -> (Vec<Duration>, Duration) {
    let period = Duration::from_secs_f64(1.0 / 30.0);
    let mut durations = Vec::new();
    let started = Instant::now();
    let tick_start = Instant::now();
    app.world_mut().run_schedule(FixedMain);
    let snapshot: WorldSnapshot =
        world::capture_world_into(app.world_mut(), writer.spare_ships()).expect("server world");
    writer.submit(snapshot, Vec::new());
    durations.push(tick_start.elapsed());
    let mut took = None;
    let mut extra = 30;
    while extra > 0 {
        let next = tick_start + period * durations.len() as u32;
        if let Some(wait) = next.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let tick = Instant::now();
        app.world_mut().run_schedule(FixedMain);
        durations.push(tick.elapsed());
        if took.is_none() && writer.is_idle() {
            took = Some(started.elapsed());
        }
        if took.is_some() {
            extra -= 1;
        }
    }
    (durations, took.unwrap_or_default())
}
