//! Between the ECS world and a [`WorldSnapshot`]: capture after a tick, restore
//! before the first one.

use std::sync::Arc;

use bevy::ecs::query::QueryData;
use bevy::ecs::system::SystemState;
use bevy::prelude::*;
use bevy::tasks::{ComputeTaskPool, TaskPool};
use galaxy_shared::components::{
    AngularVelocity, Attitude, Controls, FlightState, Fuel, Position, Ship, Throttle, Velocity,
    WheelMomentum,
};
use galaxy_shared::flight_plan::{Burn, FlightPlan};
use glam::{DQuat, DVec3};

use super::format::{ClockRecord, LandingRecord, Limits, PlanRecord, ShipRecord, WorldSnapshot};
use crate::config::{Config, ShipSpec};
use crate::ephemeris::Bodies;
use crate::ships::flight::{DominantBody, PositionCarry};
use crate::ships::lander::Landing;
use crate::ships::spawn::SpawnRng;
use crate::ships::{Owner, ShipName};
use crate::tick::SimClock;

/// The ship components a snapshot reads.
#[derive(QueryData)]
pub struct ShipData {
    name: &'static ShipName,
    owner: Option<&'static Owner>,
    position: &'static Position,
    carry: &'static PositionCarry,
    velocity: &'static Velocity,
    attitude: &'static Attitude,
    rate: &'static AngularVelocity,
    wheels: &'static WheelMomentum,
    fuel: &'static Fuel,
    throttle: &'static Throttle,
    controls: &'static Controls,
    flight: &'static FlightState,
    dominant: &'static DominantBody,
    plan: &'static FlightPlan,
    burn: Option<&'static Burn>,
    landing: Option<&'static Landing>,
}

impl ShipDataItem<'_, '_> {
    /// This ship's record, written over `record` (the last snapshot's ship at this
    /// place, usually the same one: a name it shares is not cloned again).
    fn write(&self, record: &mut ShipRecord) {
        if !Arc::ptr_eq(&record.name, &self.name.0) {
            record.name = self.name.0.clone();
        }
        let same_owner = match (&record.owner, self.owner) {
            (Some((player, name)), Some(owner)) => {
                *player == owner.player && Arc::ptr_eq(name, &owner.name)
            }
            (None, None) => true,
            _ => false,
        };
        if !same_owner {
            record.owner = self.owner.map(|o| (o.player, o.name.clone()));
        }
        record.position = self.position.0;
        record.position_carry = self.carry.0;
        record.velocity = self.velocity.0;
        record.attitude = self.attitude.0;
        record.angular_velocity = self.rate.0;
        record.wheel_momentum = self.wheels.0;
        record.fuel = self.fuel.0;
        record.throttle = self.throttle.0;
        record.controls = *self.controls;
        record.flight = *self.flight;
        record.dominant_body = self.dominant.0;
    }

    /// This ship's record, new.
    fn record(&self) -> ShipRecord {
        let mut record = ShipRecord {
            name: self.name.0.clone(),
            owner: None,
            position: DVec3::ZERO,
            position_carry: DVec3::ZERO,
            velocity: DVec3::ZERO,
            attitude: DQuat::IDENTITY,
            angular_velocity: DVec3::ZERO,
            wheel_momentum: DVec3::ZERO,
            fuel: 0.0,
            throttle: 0.0,
            controls: Controls::default(),
            flight: FlightState::Flying,
            dominant_body: 0,
        };
        self.write(&mut record);
        record
    }

    /// The autopilots' state of ship `index`, when it has any.
    fn autopilots(&self, index: usize, into: &mut Autopilots) {
        let ship = index as u32;
        if let Some(landing) = self.landing {
            into.landings.push(LandingRecord {
                ship,
                body: landing.body,
                phase: landing.phase,
                speed: landing.speed,
                next_act: landing.next_act,
            });
        }
        if !self.plan.nodes.is_empty() || self.burn.is_some() {
            into.plans.push(PlanRecord {
                ship,
                nodes: self.plan.nodes.clone(),
                burn: self.burn.copied(),
            });
        }
    }
}

/// Flight plans and landings of some ships, in ship order.
#[derive(Default)]
struct Autopilots {
    plans: Vec<PlanRecord>,
    landings: Vec<LandingRecord>,
}

/// Fewest ships one capture task copies.
const MIN_CAPTURE_CHUNK: usize = 4_096;

/// Copies the world into a snapshot (done on the tick thread, between ticks), its
/// ships into `records`: the last encoded snapshot's ship list, overwritten in
/// place in parallel (no allocation, no page faults, names shared), then cut or
/// extended to the ships there are now.
pub(super) fn capture(
    clock: &SimClock,
    bodies: &Bodies,
    spawn_rng: Option<&SpawnRng>,
    ships: &Query<ShipData, With<Ship>>,
    mut records: Vec<ShipRecord>,
) -> WorldSnapshot {
    let count = ships.iter().len();
    records.truncate(count);
    let reused = records.len();
    let pool = ComputeTaskPool::get_or_init(TaskPool::default);
    let chunk = reused
        .div_ceil(pool.thread_num().max(1))
        .max(MIN_CAPTURE_CHUNK);
    let mut parts = pool.scope(|scope| {
        for (i, slice) in records.chunks_mut(chunk).enumerate() {
            scope.spawn(async move {
                let start = i * chunk;
                let mut found = Autopilots::default();
                for (offset, (record, ship)) in
                    slice.iter_mut().zip(ships.iter().skip(start)).enumerate()
                {
                    ship.write(record);
                    ship.autopilots(start + offset, &mut found);
                }
                found
            });
        }
    });
    let mut found = Autopilots::default();
    for (offset, ship) in ships.iter().skip(reused).enumerate() {
        records.push(ship.record());
        ship.autopilots(reused + offset, &mut found);
    }
    parts.push(found);
    WorldSnapshot {
        clock: ClockRecord {
            tick: clock.tick,
            game_time: clock.game_time,
            game_time_carry: clock.game_time_carry,
            time_scale: clock.time_scale,
            paused: clock.paused,
        },
        body_names: bodies.catalog.names.clone(),
        bodies: bodies.state.clone(),
        spawn_rng: spawn_rng.map_or(0, |rng| rng.0.get_seed()),
        ships: records,
        plans: parts.iter_mut().flat_map(|p| p.plans.drain(..)).collect(),
        landings: parts
            .iter_mut()
            .flat_map(|p| p.landings.drain(..))
            .collect(),
        inertial_offsets: false,
    }
}

/// Captures a whole world (for tests, benchmarks and tools); fails when it is not a
/// server world (no clock or bodies).
pub fn capture_world(world: &mut World) -> Result<WorldSnapshot, String> {
    capture_world_into(world, Vec::new())
}

/// [`capture_world`] into the room of `records`, as the server reuses an encoded
/// snapshot's ship list.
pub fn capture_world_into(
    world: &mut World,
    records: Vec<ShipRecord>,
) -> Result<WorldSnapshot, String> {
    let mut state: SystemState<(
        Res<SimClock>,
        Res<Bodies>,
        Option<Res<SpawnRng>>,
        Query<ShipData, With<Ship>>,
    )> = SystemState::new(world);
    let (clock, bodies, rng, ships) = state.get(world).map_err(|e| e.to_string())?;
    Ok(capture(&clock, &bodies, rng.as_deref(), &ships, records))
}

/// Why a snapshot does not fit this server.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RestoreError {
    /// The bodies differ from the configured ephemeris.
    #[error("it was taken with other bodies ({0}); the ephemeris changed")]
    OtherBodies(String),
    /// A ship refers to a body that does not exist, or arrays disagree in length.
    #[error("inconsistent data: {0}")]
    Inconsistent(String),
}

/// Checks that `snapshot` fits the bodies in `world`.
pub fn check(world: &World, snapshot: &WorldSnapshot) -> Result<(), RestoreError> {
    let names = &world.resource::<Bodies>().catalog.names;
    if &snapshot.body_names != names {
        return Err(RestoreError::OtherBodies(snapshot.body_names.join(", ")));
    }
    let n = names.len();
    let state = &snapshot.bodies;
    let lengths = [
        state.positions.len(),
        state.velocities.len(),
        state.gms.len(),
        state.position_carry.len(),
        state.velocity_carry.len(),
    ];
    if lengths.iter().any(|&len| len != n) {
        return Err(RestoreError::Inconsistent(format!(
            "body arrays of lengths {lengths:?} for {n} bodies"
        )));
    }
    let limits = Limits {
        max_time_scale: world.resource::<Config>().tick.max_time_scale,
        fuel_capacity: world.resource::<ShipSpec>().fuel_capacity,
    };
    snapshot
        .validate(&limits)
        .map_err(RestoreError::Inconsistent)?;
    for ship in &snapshot.ships {
        let body = match ship.flight {
            FlightState::Flying => None,
            FlightState::Landed { body, .. } | FlightState::Destroyed { body, .. } => Some(body),
        };
        if ship.dominant_body >= n || body.is_some_and(|b| b >= n) {
            return Err(RestoreError::Inconsistent(format!(
                "ship `{}` refers to a body beyond the {n} there are",
                ship.name
            )));
        }
    }
    Ok(())
}

/// Puts `snapshot` into a world built from the ephemeris, before its first update:
/// bodies, clock and spawn RNG are replaced, every ship is spawned with its owner,
/// and the ship records stay behind as [`RestoredShips`].
pub fn restore(world: &mut World, snapshot: WorldSnapshot) -> Result<(), RestoreError> {
    check(world, &snapshot)?;
    let WorldSnapshot {
        clock,
        bodies: state,
        spawn_rng,
        mut ships,
        plans,
        landings,
        inertial_offsets,
        ..
    } = snapshot;
    if inertial_offsets {
        let rotations = &world.resource::<Bodies>().catalog.rotations;
        for ship in &mut ships {
            if let FlightState::Landed { body, offset } | FlightState::Destroyed { body, offset } =
                &mut ship.flight
            {
                *offset = rotations[*body].orientation(clock.game_time).inverse() * *offset;
            }
        }
    }
    {
        let mut bodies = world.resource_mut::<Bodies>();
        // Relativity follows the config; everything else the snapshot.
        let center = bodies.state.relativistic_center;
        bodies.state = state;
        bodies.state.relativistic_center = center;
        bodies.update_spheres_of_influence();
    }
    *world.resource_mut::<SimClock>() = SimClock {
        tick: clock.tick,
        game_time: clock.game_time,
        game_time_carry: clock.game_time_carry,
        time_scale: clock.time_scale,
        forced: false,
        warp: None,
        paused: clock.paused,
    };
    if let Some(mut rng) = world.get_resource_mut::<SpawnRng>() {
        rng.0 = fastrand::Rng::with_seed(spawn_rng);
    }
    let mut plans = plans.into_iter().peekable();
    let mut landings = landings.into_iter().peekable();
    for (index, ship) in ships.iter().enumerate() {
        let mut entity = world.spawn((
            ShipName(ship.name.clone()),
            Ship,
            Position(ship.position),
            PositionCarry(ship.position_carry),
            Velocity(ship.velocity),
            Attitude(ship.attitude),
            (
                AngularVelocity(ship.angular_velocity),
                WheelMomentum(ship.wheel_momentum),
                Fuel(ship.fuel),
                Throttle(ship.throttle),
                ship.controls,
                ship.flight,
                DominantBody(ship.dominant_body),
            ),
        ));
        if let Some((player, name)) = &ship.owner {
            entity.insert(Owner {
                player: *player,
                name: name.clone(),
            });
        }
        if let Some(plan) = plans.next_if(|plan| plan.ship as usize == index) {
            entity.insert(FlightPlan { nodes: plan.nodes });
            if let Some(burn) = plan.burn {
                entity.insert(burn);
            }
        }
        if let Some(landing) = landings.next_if(|landing| landing.ship as usize == index) {
            entity.insert(Landing {
                body: landing.body,
                phase: landing.phase,
                speed: landing.speed,
                next_act: landing.next_act,
            });
        }
    }
    world.insert_resource(RestoredShips(ships));
    Ok(())
}

/// The ship list of the restored snapshot, for the first capture to overwrite as
/// it overwrites every encoded one after (`persistence::start` hands it to the
/// writer): a restarted server's first snapshot then costs what the others do.
#[derive(Resource)]
pub struct RestoredShips(pub Vec<ShipRecord>);
