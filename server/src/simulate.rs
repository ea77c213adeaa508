//! `galaxy-server simulate`: the simulation stepped as fast as the machine allows.
//!
//! It runs the same plugins and systems as the real-time server, but drives the
//! fixed schedule by hand with long ticks, so a year takes a fraction of a second
//! of wall time. Users fast-forward with it; tests check accuracy and speed with it.

use std::time::Instant;

use bevy::app::FixedMain;
use bevy::ecs::message::Messages;
use bevy::prelude::*;
use galaxy_shared::components::{FlightState, Fuel, Position, Ship, Velocity};
use galaxy_shared::flight_plan::{Burn, FlightPlan, Node};
use glam::{DQuat, DVec3};
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::ephemeris::Bodies;
use crate::ships::executor::{ACT_TOLERANCE, ManoeuvreSchedule};
use crate::ships::spawn::{OrbitSlot, SpawnRng, random_spawn_slot, ship_bundle};
use crate::ships::{ShipEvent, ShipEventKind};
use crate::tick::{SimClock, TickStats};
use crate::{Drive, server_app};

/// Game seconds one simulate tick covers at most: a day makes the schedule's fixed
/// cost per tick (about 0.3 ms) negligible; substeps and body steps stay as configured.
pub const SIMULATE_TICK_S: f64 = 86_400.0;

/// Most ship substeps in one simulate tick, so the body track every ship reads
/// (48 bytes per body and substep) stays within the CPU caches.
pub const SIMULATE_TRACK_SUBSTEPS: f64 = 4_096.0;

/// Game seconds a simulate tick covers while a burn executor turns or burns: the
/// throttle is set once per tick, as on the real-time server at low warp.
pub const SIMULATE_BURN_TICK_S: f64 = 1.0;

/// What to simulate.
#[derive(Clone, Debug, PartialEq)]
pub struct SimulateOptions {
    /// Game days to run.
    pub days: f64,
    /// Ships in random 400 km Earth orbits.
    pub ships: usize,
    /// Ships at given states (`--ships-file`), reported back in this order.
    pub ship_states: Vec<ShipStart>,
}

/// A `--ships-file` ship: its barycentric ICRF state at the start epoch, coasting
/// with the throttle closed, and the nodes the burn executor is to fly in turn.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShipStart {
    /// Position (m).
    pub position_m: [f64; 3],
    /// Velocity (m/s).
    pub velocity_m_s: [f64; 3],
    /// Planned burns.
    #[serde(default)]
    pub nodes: Vec<NodeStart>,
}

/// A node of a `--ships-file` ship.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeStart {
    /// Seconds after the start.
    pub at_s: f64,
    /// Prograde delta-v (m/s).
    #[serde(default)]
    pub prograde_m_s: f64,
    /// Normal delta-v (m/s).
    #[serde(default)]
    pub normal_m_s: f64,
    /// Radial (out) delta-v (m/s).
    #[serde(default)]
    pub radial_m_s: f64,
}

/// A `--ships-file` ship at the end: the report's `ship_states`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ShipEnd {
    /// Barycentric ICRF position (m).
    pub position_m: [f64; 3],
    /// Barycentric ICRF velocity (m/s).
    pub velocity_m_s: [f64; 3],
    /// Propellant left (kg).
    pub fuel_kg: f64,
    /// `flying`, `landed` or `destroyed`.
    pub flight: &'static str,
    /// The burns the executor finished, in order.
    pub burns: Vec<BurnReport>,
}

/// One burn the executor finished.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct BurnReport {
    /// The node's delta-v as planned at ignition (m/s, ICRF).
    pub planned_m_s: [f64; 3],
    /// What the engine gave (m/s, ICRF).
    pub achieved_m_s: [f64; 3],
    /// What was left of the plan at cutoff (m/s).
    pub left_m_s: f64,
}

/// Most ships a ships file may hold.
pub const MAX_FILE_SHIPS: usize = 1_000_000;

/// Reads a ships file: a JSON array of [`ShipStart`] with every number finite and
/// every node within the rules (a node at the start itself is too late).
pub fn read_ship_states(text: &str) -> Result<Vec<ShipStart>, String> {
    let states: Vec<ShipStart> = serde_json::from_str(text).map_err(|e| e.to_string())?;
    if states.len() > MAX_FILE_SHIPS {
        return Err(format!("more than {MAX_FILE_SHIPS} ships"));
    }
    for (i, ship) in states.iter().enumerate() {
        if !ship
            .position_m
            .iter()
            .chain(&ship.velocity_m_s)
            .all(|x| x.is_finite())
        {
            return Err(format!("ship {i} has a number that is not finite"));
        }
        plan_of(ship, 0.0).map_err(|why| format!("ship {i}: {why}"))?;
    }
    Ok(states)
}

/// The flight plan of a ships-file ship for a start at game time `start`.
fn plan_of(ship: &ShipStart, start: f64) -> Result<FlightPlan, String> {
    let mut plan = FlightPlan::default();
    for node in &ship.nodes {
        let node = Node {
            at: start + node.at_s,
            prograde: node.prograde_m_s,
            normal: node.normal_m_s,
            radial: node.radial_m_s,
        };
        plan.apply(
            galaxy_shared::flight_plan::PlanCommand::Add(node),
            start,
            false,
        )
        .map_err(|error| error.to_string())?;
    }
    Ok(plan)
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
    pub ship_states: Vec<ShipEnd>,
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
    let given = add_given_ships(app.world_mut(), &options.ship_states, start_time);
    let ships = options.ships + given.len();
    let mut events = app.world().resource::<Messages<ShipEvent>>().get_cursor();
    let mut burns: std::collections::HashMap<Entity, Vec<BurnReport>> = Default::default();
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
    // A tick of no time first, so the executors have scheduled their burns
    // before the first real tick is sized.
    app.world_mut().resource_mut::<SimClock>().time_scale = 0.0;
    app.world_mut().run_schedule(FixedMain);
    loop {
        let now = app.world().resource::<SimClock>().game_time;
        let remaining = end - now;
        if remaining <= 1e-9 {
            break;
        }
        let schedule = *app.world().resource::<ManoeuvreSchedule>();
        let dt = remaining.min(tick_s).min(burn_tick_limit(&schedule, now));
        app.world_mut().resource_mut::<SimClock>().time_scale = dt * rate;
        app.world_mut().run_schedule(FixedMain);
        let messages = app.world().resource::<Messages<ShipEvent>>();
        for event in events.read(messages) {
            if let ShipEventKind::BurnFinished {
                left,
                planned,
                achieved,
            } = event.kind
            {
                burns.entry(event.ship).or_default().push(BurnReport {
                    planned_m_s: planned.to_array(),
                    achieved_m_s: achieved.to_array(),
                    left_m_s: left,
                });
            }
        }
    }
    let wall_s = started.elapsed().as_secs_f64();
    report(
        app.world_mut(),
        energy_start,
        wall_s,
        ships,
        &given,
        &mut burns,
    )
}

/// The longest next tick that ends where a burn executor acts, and is short while
/// one turns or burns.
fn burn_tick_limit(schedule: &ManoeuvreSchedule, now: f64) -> f64 {
    let until = schedule.next.map_or(f64::INFINITY, |(at, _)| at - now);
    if until <= ACT_TOLERANCE {
        SIMULATE_BURN_TICK_S
    } else if schedule.busy {
        until.min(SIMULATE_BURN_TICK_S)
    } else {
        until
    }
}

/// Coasting ships at the given states, executing their nodes; their entities in
/// the same order.
fn add_given_ships(world: &mut World, states: &[ShipStart], start: f64) -> Vec<Entity> {
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
            let mut ship = world.spawn(ship_bundle(format!("file-{i}"), slot, &spec));
            // Checked when the file was read (against its own start); a node
            // that is not valid here is dropped with the rest of the plan.
            if let Ok(plan) = plan_of(state, start)
                && !plan.nodes.is_empty()
            {
                ship.insert((plan, Burn::waiting(true)));
            }
            ship.id()
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
    burns: &mut std::collections::HashMap<Entity, Vec<BurnReport>>,
) -> SimulateReport {
    let ship_states = given
        .iter()
        .filter_map(|&ship| {
            let entity = world.get_entity(ship).ok()?;
            Some(ShipEnd {
                position_m: entity.get::<Position>()?.0.to_array(),
                velocity_m_s: entity.get::<Velocity>()?.0.to_array(),
                fuel_kg: entity.get::<Fuel>()?.0,
                flight: crate::ships::flight_word(entity.get::<FlightState>()?),
                burns: burns.remove(&ship).unwrap_or_default(),
            })
        })
        .collect();
    let flying = world
        .query_filtered::<&FlightState, With<Ship>>()
        .iter(world)
        .filter(|f| matches!(f, FlightState::Flying))
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
                {"position_m":[-1e11,0,0.5],"velocity_m_s":[0,3e4,0],
                 "nodes":[{"at_s":600,"prograde_m_s":120},{"at_s":60,"radial_m_s":-3}]}]"#,
        )
        .expect("valid");
        assert_eq!(states.len(), 2);
        assert_eq!(states[1].position_m, [-1e11, 0.0, 0.5]);
        let plan = plan_of(&states[1], 1_000.0).expect("valid");
        let times: Vec<f64> = plan.nodes.iter().map(|n| n.at).collect();
        assert_eq!(times, [1_060.0, 1_600.0], "in time order, after the start");
        assert_eq!(plan.nodes[0].radial, -3.0);
        for bad in [
            "",
            "{}",
            r#"[{"position_m":[1,2],"velocity_m_s":[4,5,6]}]"#,
            r#"[{"position_m":[1,2,3]}]"#,
            r#"[{"position_m":[1,2,3],"velocity_m_s":[4,5,6],"mass":1}]"#,
            r#"[{"position_m":[1,2,1e999],"velocity_m_s":[4,5,6]}]"#,
            r#"[{"position_m":[1,2,3],"velocity_m_s":[4,5,6],"nodes":[{"at_s":0}]}]"#,
            r#"[{"position_m":[1,2,3],"velocity_m_s":[4,5,6],"nodes":[{"at_s":9,"up":1}]}]"#,
            r#"[{"position_m":[1,2,3],"velocity_m_s":[4,5,6],"nodes":[{"at_s":9,"normal_m_s":4e4}]}]"#,
        ] {
            assert!(read_ship_states(bad).is_err(), "{bad}");
        }
    }
}
