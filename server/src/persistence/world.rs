//! Between the ECS world and a [`WorldSnapshot`]: capture after a tick, restore
//! before the first one.

use bevy::ecs::system::SystemState;
use bevy::prelude::*;
use galaxy_shared::components::{
    AngularVelocity, Attitude, Controls, FlightState, Fuel, Position, Ship, Throttle, Velocity,
    WheelMomentum,
};
use galaxy_shared::flight_plan::{Burn, FlightPlan};

use super::format::{ClockRecord, LandingRecord, Limits, PlanRecord, ShipRecord, WorldSnapshot};
use crate::config::{Config, ShipSpec};
use crate::ephemeris::Bodies;
use crate::ships::flight::{DominantBody, PositionCarry};
use crate::ships::lander::Landing;
use crate::ships::spawn::SpawnRng;
use crate::ships::{Owner, ShipName};
use crate::tick::SimClock;

/// The ship components a snapshot reads.
pub(super) type ShipData = (
    &'static ShipName,
    Option<&'static Owner>,
    &'static Position,
    &'static PositionCarry,
    &'static Velocity,
    &'static Attitude,
    &'static AngularVelocity,
    &'static WheelMomentum,
    &'static Fuel,
    &'static Throttle,
    &'static Controls,
    &'static FlightState,
    &'static DominantBody,
    &'static FlightPlan,
    // The autopilots (a tuple holds at most 15 query items).
    (Option<&'static Burn>, Option<&'static Landing>),
);

/// Copies the world into a snapshot (done on the tick thread, between ticks), its
/// ships into `records` (emptied, and reused for its room).
pub(super) fn capture<'a>(
    clock: &SimClock,
    bodies: &Bodies,
    spawn_rng: Option<&SpawnRng>,
    ships: impl ExactSizeIterator<Item = bevy::ecs::query::QueryItem<'a, 'a, ShipData>>,
    mut records: Vec<ShipRecord>,
) -> WorldSnapshot {
    records.clear();
    records.reserve(ships.len());
    let mut plans = Vec::new();
    let mut landings = Vec::new();
    for (
        name,
        owner,
        p,
        carry,
        v,
        attitude,
        rate,
        wheels,
        fuel,
        throttle,
        controls,
        flight,
        dom,
        plan,
        (burn, landing),
    ) in ships
    {
        if let Some(landing) = landing {
            landings.push(LandingRecord {
                ship: records.len() as u32,
                body: landing.body,
                phase: landing.phase,
                speed: landing.speed,
                next_act: landing.next_act,
            });
        }
        if !plan.nodes.is_empty() || burn.is_some() {
            plans.push(PlanRecord {
                ship: records.len() as u32,
                nodes: plan.nodes.clone(),
                burn: burn.copied(),
            });
        }
        records.push(ShipRecord {
            name: name.0.clone(),
            owner: owner.map(|o| (o.player, o.name.clone())),
            position: p.0,
            position_carry: carry.0,
            velocity: v.0,
            attitude: attitude.0,
            angular_velocity: rate.0,
            wheel_momentum: wheels.0,
            fuel: fuel.0,
            throttle: throttle.0,
            controls: *controls,
            flight: *flight,
            dominant_body: dom.0,
        });
    }
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
        plans,
        landings,
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
    Ok(capture(
        &clock,
        &bodies,
        rng.as_deref(),
        ships.iter(),
        records,
    ))
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
/// bodies, clock and spawn RNG are replaced and every ship is spawned with its owner.
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
    for (index, ship) in ships.into_iter().enumerate() {
        let mut entity = world.spawn((
            ShipName(ship.name),
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
        if let Some((player, name)) = ship.owner {
            entity.insert(Owner { player, name });
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
    Ok(())
}
