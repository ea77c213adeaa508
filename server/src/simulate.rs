//! `galaxy-server simulate`: the simulation stepped as fast as the machine allows.
//!
//! It runs the same plugins and systems as the real-time server, but drives the
//! fixed schedule by hand with long ticks, so a year takes a fraction of a second
//! of wall time. Users fast-forward with it; tests check accuracy and speed with it.

use std::time::Instant;

use bevy::app::FixedMain;
use bevy::prelude::*;
use galaxy_shared::components::Ship;
use glam::{DQuat, DVec3};
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::ephemeris::Bodies;
use crate::ships::spawn::{OrbitSlot, SpawnRng, random_spawn_slot, ship_bundle};
use crate::tick::{SimClock, TickStats};
use crate::{Drive, server_app};

/// Game seconds one simulate tick covers at most: a day makes the schedule's fixed
/// cost per tick (about 0.3 ms) negligible; substeps and body steps stay as configured.
pub const SIMULATE_TICK_S: f64 = 86_400.0;

/// Most ship substeps in one simulate tick, so the body track every ship reads
/// (48 bytes per body and substep) stays within the CPU caches.
pub const SIMULATE_TRACK_SUBSTEPS: f64 = 4_096.0;

/// What to simulate.
#[derive(Clone, Debug, PartialEq)]
pub struct SimulateOptions {
    /// Game days to run.
    pub days: f64,
    /// Ships in random 400 km Earth orbits.
    pub ships: usize,
    /// Ships at given states (`--ships-file`), reported back in this order.
    pub ship_states: Vec<ShipState>,
}

/// A ship's barycentric ICRF state: how `--ships-file` gives it at the start epoch
/// and the report's `ship_states` gives it at the end.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShipState {
    /// Position (m).
    pub position_m: [f64; 3],
    /// Velocity (m/s).
    pub velocity_m_s: [f64; 3],
}

/// Most ships a ships file may hold.
pub const MAX_FILE_SHIPS: usize = 1_000_000;

/// Reads a ships file: a JSON array of [`ShipState`] with every number finite.
pub fn read_ship_states(text: &str) -> Result<Vec<ShipState>, String> {
    let states: Vec<ShipState> = serde_json::from_str(text).map_err(|e| e.to_string())?;
    if states.len() > MAX_FILE_SHIPS {
        return Err(format!("more than {MAX_FILE_SHIPS} ships"));
    }
    match states.iter().position(|s| {
        !s.position_m
            .iter()
            .chain(&s.velocity_m_s)
            .all(|x| x.is_finite())
    }) {
        Some(i) => Err(format!("ship {i} has a number that is not finite")),
        None => Ok(states),
    }
}

/// The JSON report.
#[derive(Clone, Debug, Serialize)]
pub struct SimulateReport {
    /// TDB seconds since J2000 at the end.
    pub game_time_s: f64,
    /// Wall-clock seconds spent stepping.
    pub wall_s: f64,
    /// Ship integrator substeps run.
    pub steps: u64,
    /// Body integrator steps run.
    pub body_steps: u64,
    /// Relative change of the bodies' Newtonian energy over the run.
    pub energy_rel_drift: f64,
    /// Final barycentric ICRF states.
    pub bodies: Vec<BodyReport>,
    /// Ships simulated.
    pub ships: usize,
    /// Ships still flying (not landed or destroyed) at the end.
    pub ships_flying: usize,
    /// Final states of the `--ships-file` ships, in the file's order.
    pub ship_states: Vec<ShipState>,
}

/// One body's final state.
#[derive(Clone, Debug, Serialize)]
pub struct BodyReport {
    /// Name.
    pub name: String,
    /// Position (m).
    pub position_m: [f64; 3],
    /// Velocity (m/s).
    pub velocity_m_s: [f64; 3],
}

/// Runs the simulation for `options` and reports the end state.
pub fn simulate(
    config: Config,
    bodies: Bodies,
    start_time: f64,
    options: SimulateOptions,
) -> SimulateReport {
    let rate = config.tick.rate_hz;
    let mut app = server_app(config, bodies, start_time, Drive::Manual);
    app.finish();
    app.cleanup();
    app.update();
    add_random_orbits(app.world_mut(), options.ships);
    let given = add_given_ships(app.world_mut(), &options.ship_states);
    let ships = options.ships + given.len();
    let energy_start = app.world().resource::<Bodies>().state.energy_over_g();
    let tick_s = if ships == 0 {
        SIMULATE_TICK_S
    } else {
        SIMULATE_TICK_S
            .min(SIMULATE_TRACK_SUBSTEPS * app.world().resource::<Config>().physics.max_substep_s)
    };
    let duration = galaxy_shared::units::days_to_game_time(options.days);
    let end = start_time + duration;
    let started = Instant::now();
    loop {
        let remaining = end - app.world().resource::<SimClock>().game_time;
        if remaining <= 1e-9 {
            break;
        }
        app.world_mut().resource_mut::<SimClock>().time_scale = remaining.min(tick_s) * rate;
        app.world_mut().run_schedule(FixedMain);
    }
    let wall_s = started.elapsed().as_secs_f64();
    report(app.world_mut(), energy_start, wall_s, ships, &given)
}

/// Coasting ships at the given states; their entities in the same order.
fn add_given_ships(world: &mut World, states: &[ShipState]) -> Vec<Entity> {
    let spec = world.resource::<Config>().ship.spec();
    states
        .iter()
        .enumerate()
        .map(|(i, state)| {
            let slot = OrbitSlot {
                position: DVec3::from_array(state.position_m),
                velocity: DVec3::from_array(state.velocity_m_s),
                attitude: DQuat::IDENTITY,
            };
            world
                .spawn(ship_bundle(format!("file-{i}"), slot, &spec))
                .id()
        })
        .collect()
}

fn add_random_orbits(world: &mut World, count: usize) {
    let config = world.resource::<Config>().clone();
    let bodies = world.resource::<Bodies>().clone();
    let spec = config.ship.spec();
    let slots: Vec<_> = {
        let mut rng = world.resource_mut::<SpawnRng>();
        (0..count)
            .map(|_| random_spawn_slot(&config, &bodies, &mut rng.0))
            .collect()
    };
    for (i, slot) in slots.into_iter().enumerate() {
        world.spawn(ship_bundle(format!("sim-{i}"), slot, &spec));
    }
}

fn report(
    world: &mut World,
    energy_start: f64,
    wall_s: f64,
    ships: usize,
    given: &[Entity],
) -> SimulateReport {
    let ship_states = given
        .iter()
        .filter_map(|&ship| {
            let entity = world.get_entity(ship).ok()?;
            let position = entity.get::<galaxy_shared::components::Position>()?.0;
            let velocity = entity.get::<galaxy_shared::components::Velocity>()?.0;
            Some(ShipState {
                position_m: position.to_array(),
                velocity_m_s: velocity.to_array(),
            })
        })
        .collect();
    let flying = world
        .query_filtered::<&galaxy_shared::components::FlightState, With<Ship>>()
        .iter(world)
        .filter(|f| matches!(f, galaxy_shared::components::FlightState::Flying))
        .count();
    let bodies = world.resource::<Bodies>();
    let stats = world.resource::<TickStats>();
    let clock = world.resource::<SimClock>();
    let energy_end = bodies.state.energy_over_g();
    SimulateReport {
        game_time_s: clock.game_time,
        wall_s,
        steps: stats.substeps,
        body_steps: stats.body_steps,
        energy_rel_drift: (energy_end - energy_start) / energy_start.abs(),
        bodies: (0..bodies.state.len())
            .map(|i| BodyReport {
                name: bodies.catalog.names[i].clone(),
                position_m: bodies.state.positions[i].to_array(),
                velocity_m_s: bodies.state.velocities[i].to_array(),
            })
            .collect(),
        ships,
        ships_flying: flying,
        ship_states,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ships_file_is_read_whole_or_refused_with_a_reason() {
        let states = read_ship_states(
            r#"[{"position_m":[1,2,3],"velocity_m_s":[4,5,6]},
                {"position_m":[-1e11,0,0.5],"velocity_m_s":[0,3e4,0]}]"#,
        )
        .expect("valid");
        assert_eq!(states.len(), 2);
        assert_eq!(states[1].position_m, [-1e11, 0.0, 0.5]);
        for bad in [
            "",
            "{}",
            r#"[{"position_m":[1,2],"velocity_m_s":[4,5,6]}]"#,
            r#"[{"position_m":[1,2,3]}]"#,
            r#"[{"position_m":[1,2,3],"velocity_m_s":[4,5,6],"mass":1}]"#,
            r#"[{"position_m":[1,2,1e999],"velocity_m_s":[4,5,6]}]"#,
        ] {
            assert!(read_ship_states(bad).is_err(), "{bad}");
        }
    }
}
