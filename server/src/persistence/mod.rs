//! World persistence: snapshots of the whole world in the database, taken every
//! `persistence.snapshot_interval_s` real seconds, on the admin `snapshot` command
//! and on clean shutdown, and restored at start.
//!
//! The tick thread only copies the world ([`world::capture`], between ticks in
//! `Update`); encoding and the one-transaction write happen on the service runtime
//! ([`SnapshotWriter`]), which retries with backoff while the database is away and
//! keeps only the newest unwritten snapshot. Ships are part of the snapshot with
//! their [`Owner`](crate::ships::Owner), which is how a player gets the same ship
//! back after logging out or a restart (`net::session` looks ships up by owner).

pub mod cli;
pub use galaxy_formats::snapshot as format;
pub mod store;
pub mod world;
mod writer;

use std::time::Duration;

use bevy::ecs::system::SystemParam;
use bevy::prelude::*;
use bevy::time::common_conditions::on_real_timer;
use galaxy_shared::components::Ship;
use galaxy_shared::units::CalendarTime;

pub use writer::{Saved, SnapshotDone, SnapshotOutcome, SnapshotWriter};

use crate::config::Config;
use crate::db::{Db, DbError};
use crate::ephemeris::Bodies;
use crate::ships::spawn::SpawnRng;
use crate::tick::SimClock;
use store::{LoadError, SnapshotInfo};
use world::ShipData;

/// How long a clean shutdown waits for the final snapshot to be written.
pub const SHUTDOWN_PATIENCE: Duration = Duration::from_secs(30);

/// Takes snapshots; needs [`Config`] and a [`SnapshotWriter`] resource.
pub fn plugin(app: &mut App) {
    let interval = app
        .world()
        .resource::<Config>()
        .persistence
        .snapshot_interval_s;
    app.init_resource::<SnapshotRequests>()
        .add_systems(
            Update,
            (
                request_periodic_snapshot.run_if(on_real_timer(Duration::from_secs_f64(interval))),
                take_requested_snapshot,
            )
                .chain(),
        )
        .add_systems(Last, take_final_snapshot);
}

/// Snapshots asked for since the last capture.
#[derive(Resource, Default)]
pub struct SnapshotRequests {
    due: bool,
    waiters: Vec<SnapshotDone>,
}

impl SnapshotRequests {
    /// Asks for a snapshot after this tick; `done` hears when it is written (or
    /// first fails).
    pub fn request(&mut self, done: SnapshotDone) {
        self.waiters.push(done);
    }
}

fn request_periodic_snapshot(mut requests: ResMut<SnapshotRequests>) {
    requests.due = true;
}

/// What taking a snapshot reads: the world, and the writer it goes to.
#[derive(SystemParam)]
struct Capture<'w, 's> {
    requests: ResMut<'w, SnapshotRequests>,
    writer: Res<'w, SnapshotWriter>,
    clock: Res<'w, SimClock>,
    bodies: Res<'w, Bodies>,
    rng: Option<Res<'w, SpawnRng>>,
    ships: Query<'w, 's, ShipData, With<Ship>>,
}

impl Capture<'_, '_> {
    /// Copies the world into the writer's spare ship list and hands it over, with
    /// everyone waiting for a snapshot.
    fn submit(&mut self) {
        self.requests.due = false;
        let snapshot = world::capture(
            &self.clock,
            &self.bodies,
            self.rng.as_deref(),
            &self.ships,
            self.writer.spare_ships(),
        );
        self.writer
            .submit(snapshot, std::mem::take(&mut self.requests.waiters));
    }
}

fn take_requested_snapshot(mut capture: Capture) {
    if capture.requests.due || !capture.requests.waiters.is_empty() {
        capture.submit();
    }
}

/// On `AppExit` (SIGINT/SIGTERM or any other stop) the last frame captures the
/// world; `main` then waits for the writer with [`SnapshotWriter::flush`].
fn take_final_snapshot(mut exits: MessageReader<AppExit>, mut capture: Capture) {
    if exits.read().count() > 0 {
        info!(
            tick = capture.clock.tick,
            "stopping: taking the final snapshot"
        );
        capture.submit();
    }
}

/// Loads the newest usable snapshot into `world` (built from the ephemeris, not yet
/// run). Rows that are corrupt, from a newer format or for other bodies are skipped
/// with an error naming their id. `None`: no usable snapshot, the ephemeris stands.
pub fn restore_newest(
    db: &Db,
    runtime: &tokio::runtime::Handle,
    world: &mut World,
) -> Result<Option<SnapshotInfo>, DbError> {
    let rows = runtime.block_on(store::list(db))?;
    for row in rows {
        let loaded = runtime.block_on(store::load(db, row.id));
        let (info, snapshot) = match loaded {
            Ok(loaded) => loaded,
            Err(LoadError::Db(error)) => return Err(error),
            Err(error) => {
                error!("{error}; skipping it");
                continue;
            }
        };
        let (ships, paused, scale) = (
            snapshot.ships.len(),
            snapshot.clock.paused,
            snapshot.clock.time_scale,
        );
        if let Err(error) = world::restore(world, snapshot) {
            error!("snapshot {} is unusable: {error}; skipping it", info.id);
            continue;
        }
        info!(
            id = info.id,
            tick = info.tick,
            game_time = info.game_time,
            date = %CalendarTime::from_game_time(info.game_time),
            ships,
            paused,
            time_scale = scale,
            "restored snapshot {}",
            info.id
        );
        return Ok(Some(info));
    }
    info!("no usable snapshot in the database; starting from the ephemeris");
    Ok(None)
}

/// Starts the writer and adds the plugin to a real-time server; `main` calls this
/// after the world is restored.
pub fn start(
    app: &mut App,
    db: Db,
    bridge: crate::bridge::Bridge,
    runtime: &tokio::runtime::Handle,
) -> SnapshotWriter {
    let keep = app.world().resource::<Config>().persistence.snapshots_kept;
    let writer = SnapshotWriter::start(db, Some(bridge), keep, runtime);
    if let Some(world::RestoredShips(ships)) = app.world_mut().remove_resource() {
        writer.keep_spare(ships);
    }
    app.insert_resource(writer.clone()).add_plugins(plugin);
    writer
}

/// After `app.run()`: waits for the final snapshot, logging whether it landed.
pub fn finish(writer: &SnapshotWriter, runtime: &tokio::runtime::Handle) {
    if writer.flush(runtime, SHUTDOWN_PATIENCE) {
        info!("final snapshot written");
    } else {
        error!(
            "the final snapshot could not be written within {SHUTDOWN_PATIENCE:?}; \
             the newest snapshot already in the database will be restored"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ships::Owner;
    use crate::ships::flight::PositionCarry;
    use crate::{Drive, server_app};
    use bevy::app::FixedMain;
    use galaxy_shared::components::{Controls, Fuel, HoldMode, Position, Throttle};
    use std::path::PathBuf;

    fn config() -> Config {
        let mut config = Config::defaults().expect("compiled-in defaults");
        config.tick.time_scale = 500.0;
        config
    }

    fn fresh_app() -> App {
        let config = config();
        let (bodies, start) = crate::ephemeris::load_bodies(&config).expect("ephemeris");
        let mut app = server_app(config, bodies, start, Drive::Manual);
        app.finish();
        app.cleanup();
        app
    }

    /// A world that has run a while with ships burning and turning.
    fn flown_app() -> App {
        let mut app = fresh_app();
        app.update();
        let config = app.world().resource::<Config>().clone();
        let spec = config.ship.spec();
        for i in 0..5u64 {
            let slot = {
                let world = app.world_mut();
                let bodies = world.resource::<Bodies>().clone();
                let mut rng = world.resource_mut::<SpawnRng>();
                crate::ships::spawn::spawn_slot(&config, &bodies, &mut rng.0)
            };
            app.world_mut()
                .spawn((
                    crate::ships::spawn::ship_bundle(format!("ship of p{i}"), slot, &spec),
                    Owner {
                        player: 10 + i,
                        name: format!("p{i}").into(),
                    },
                ))
                .insert((Throttle(0.1 * i as f64), Controls::Hold(HoldMode::Prograde)));
        }
        // One ship flown by the landing autopilot, which a restart must keep.
        let earth = app.world().resource::<Bodies>().catalog.index_of("Earth");
        let first = app
            .world_mut()
            .query_filtered::<Entity, With<Owner>>()
            .iter(app.world())
            .next();
        if let (Some(body), Some(ship)) = (earth, first) {
            app.world_mut()
                .entity_mut(ship)
                .insert(crate::ships::lander::Landing {
                    body,
                    phase: galaxy_shared::flight_plan::LandingPhase::Coast,
                    speed: 0.0,
                    next_act: 0.0,
                });
        }
        for _ in 0..20 {
            app.world_mut().run_schedule(FixedMain);
        }
        app
    }

    #[test]
    fn a_restored_world_continues_bit_for_bit() {
        let mut original = flown_app();
        let snapshot = world::capture_world(original.world_mut()).expect("a server world");
        assert_eq!(snapshot.ships.len(), 5);
        assert_eq!(snapshot.landings.len(), 1, "the landing is kept");
        assert!(
            snapshot
                .ships
                .iter()
                .any(|s| s.fuel < 1000.0 || s.throttle > 0.0)
        );
        assert!(
            snapshot
                .bodies
                .position_carry
                .iter()
                .any(|c| *c != glam::DVec3::ZERO),
            "the Kahan carries are part of the state"
        );
        let blob = snapshot.encode().expect("encodes").bytes;

        let mut restored = fresh_app();
        world::restore(
            restored.world_mut(),
            format::WorldSnapshot::decode(&blob).expect("decodes"),
        )
        .expect("fits");
        restored.update();
        let again = world::capture_world(restored.world_mut()).expect("a server world");
        assert_eq!(
            again.state_hash(),
            snapshot.state_hash(),
            "restore is exact"
        );
        assert_eq!(again.clock, snapshot.clock);

        // Both worlds then evolve identically.
        for _ in 0..20 {
            original.world_mut().run_schedule(FixedMain);
            restored.world_mut().run_schedule(FixedMain);
        }
        let (a, b) = (
            world::capture_world(original.world_mut()).expect("a server world"),
            world::capture_world(restored.world_mut()).expect("a server world"),
        );
        assert!(a.clock.game_time > snapshot.clock.game_time, "time moved");
        assert_eq!(
            a.state_hash(),
            b.state_hash(),
            "the futures agree bit for bit"
        );
        let owners = |s: &format::WorldSnapshot| {
            let mut o: Vec<_> = s.ships.iter().map(|s| s.owner.clone()).collect();
            o.sort();
            o
        };
        assert_eq!(owners(&a), owners(&b));
        let mut ships = restored
            .world_mut()
            .query::<(&Owner, &Position, &PositionCarry, &Fuel)>();
        assert_eq!(ships.iter(restored.world()).count(), 5);
    }

    #[test]
    fn a_snapshot_of_other_bodies_is_refused_untouched() {
        let mut app = flown_app();
        let mut snapshot = world::capture_world(app.world_mut()).expect("a server world");
        snapshot.body_names[1] = "Vulcan".into();
        let mut target = fresh_app();
        let before = target.world().resource::<SimClock>().tick;
        assert!(matches!(
            world::restore(target.world_mut(), snapshot.clone()),
            Err(world::RestoreError::OtherBodies(_))
        ));
        assert_eq!(target.world().resource::<SimClock>().tick, before);
        snapshot.body_names = app.world().resource::<Bodies>().catalog.names.clone();
        snapshot.ships[0].dominant_body = 999;
        assert!(matches!(
            world::restore(target.world_mut(), snapshot.clone()),
            Err(world::RestoreError::Inconsistent(_))
        ));
        // Rows that decode but hold a NaN or an overfull tank leave the world as it was.
        snapshot.ships[0].dominant_body = 0;
        snapshot.ships[1].velocity.x = f64::NAN;
        let error = world::restore(target.world_mut(), snapshot.clone()).expect_err("NaN ship");
        assert!(error.to_string().contains("not finite"), "{error}");
        snapshot.ships[1].velocity.x = 0.0;
        snapshot.ships[2].fuel = 1.0e9;
        let error = world::restore(target.world_mut(), snapshot).expect_err("overfull tank");
        assert!(error.to_string().contains("tank"), "{error}");
        let mut ships = target.world_mut().query::<&Ship>();
        assert_eq!(ships.iter(target.world()).count(), 0, "nothing was spawned");
        assert_eq!(target.world().resource::<SimClock>().tick, before);
    }

    /// A fresh SQLite file in the temp dir, removed on drop.
    struct TempDir(PathBuf);

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn temp_db() -> (TempDir, String) {
        let dir = std::env::temp_dir().join(format!(
            "galaxy-persist-{}-{}",
            std::process::id(),
            fastrand::u64(..)
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let url = format!("sqlite://{}/galaxy.db", dir.display());
        (TempDir(dir), url)
    }

    #[test]
    fn the_writer_keeps_n_and_restore_skips_bad_rows() {
        let (_dir, url) = temp_db();
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        let db = runtime.block_on(Db::connect(&url)).expect("db");
        let writer = SnapshotWriter::start(db.clone(), None, 3, runtime.handle());
        let mut app = flown_app();
        let mut hashes = Vec::new();
        for _ in 0..5 {
            app.world_mut().run_schedule(FixedMain);
            let snapshot = world::capture_world(app.world_mut()).expect("a server world");
            hashes.push(snapshot.state_hash());
            let (tx, rx) = std::sync::mpsc::channel();
            writer.submit(
                snapshot,
                vec![Box::new(move |outcome| {
                    let _ = tx.send(outcome);
                })],
            );
            let saved = rx.recv().expect("answered").expect("written");
            assert_eq!(saved.ships, 5);
        }
        let rows = runtime.block_on(store::list(&db)).expect("list");
        assert_eq!(rows.len(), 3, "pruned to the newest 3: {rows:?}");
        assert!(rows.windows(2).all(|w| w[0].id > w[1].id), "newest first");

        // Garble the newest row: the one before it is restored instead.
        runtime
            .block_on(
                sqlx::query("UPDATE snapshots SET data = $1 WHERE id = $2")
                    .bind(b"not a snapshot at all, just some bytes".as_slice())
                    .bind(rows[0].id)
                    .execute(db.pool()),
            )
            .expect("garble");
        let mut target = fresh_app();
        let info = restore_newest(&db, runtime.handle(), target.world_mut())
            .expect("db works")
            .expect("a snapshot is usable");
        assert_eq!(info.id, rows[1].id);
        let restored = world::capture_world(target.world_mut()).expect("a server world");
        assert_eq!(restored.state_hash(), hashes[3]);

        // An operator restore copies the oldest as the newest.
        let copy = runtime
            .block_on(store::copy_as_newest(&db, rows[2].id))
            .expect("copied");
        let (info, snapshot) = runtime.block_on(store::load(&db, copy)).expect("loads");
        assert_eq!(info.restored_from, Some(rows[2].id));
        assert_eq!(snapshot.state_hash(), hashes[2]);
        assert!(matches!(
            runtime.block_on(store::copy_as_newest(&db, rows[0].id)),
            Err(LoadError::Unusable { .. })
        ));
    }
}
