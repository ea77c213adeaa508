//! The tick engine: pause, catch-up limits, and determinism.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::time::Duration;

use bevy::prelude::*;
use bevy::time::TimeUpdateStrategy;
use galaxy_server::ships::ShipAction;
use galaxy_server::tick::{ClockCommand, SimClock, TickStats};
use galaxy_shared::components::{
    AngularVelocity, Attitude, Controls, Fuel, HoldMode, Position, Ship, Velocity, WheelMomentum,
};
use glam::DVec3;

use crate::harness::{Sim, config};

#[test]
fn pause_stops_game_time_but_not_ticks() {
    let mut sim = Sim::new(config(&[]));
    let ship = sim.spawn(sim.orbit_slot("Earth", 400_000.0, 0.0));
    sim.run_for(1.0);
    sim.app.world_mut().write_message(ClockCommand::Pause);
    sim.tick();
    let paused = sim.clock();
    let position = sim.get::<Position>(ship).0;
    let earth = sim.body_state("Earth").0;
    for _ in 0..30 {
        sim.tick();
    }
    assert!(sim.clock().paused);
    assert_eq!(
        sim.clock().game_time,
        paused.game_time,
        "no game time passes while paused"
    );
    assert_eq!(sim.clock().tick, paused.tick + 30, "ticks keep counting");
    assert_eq!(sim.get::<Position>(ship).0, position, "ships stand still");
    assert_eq!(sim.body_state("Earth").0, earth, "bodies stand still");
    sim.app.world_mut().write_message(ClockCommand::Resume);
    sim.tick();
    assert!(sim.clock().game_time > paused.game_time);
    sim.app
        .world_mut()
        .write_message(ClockCommand::SetTimeScale {
            scale: 1_000.0,
            forced: false,
        });
    sim.tick();
    let before = sim.clock().game_time;
    sim.tick();
    assert!((sim.clock().game_time - before - 1_000.0 / 30.0).abs() < 1e-9);
}

#[test]
fn an_overrun_is_caught_up_then_the_backlog_is_dropped_and_counted() {
    let mut sim = Sim::new(config(&[]));
    let period = Duration::from_secs_f64(1.0 / 30.0);
    // One frame that took 20 tick periods: 1 tick + 5 catch-up ticks run, 14 dropped.
    sim.app
        .insert_resource(TimeUpdateStrategy::ManualDuration(period * 20));
    let before = sim.clock().tick;
    sim.app.update();
    let ran = sim.clock().tick - before;
    let dropped = sim.world().resource::<TickStats>().dropped;
    assert_eq!(
        ran, 6,
        "one tick plus max_catchup_ticks = 5 run in the frame"
    );
    assert!((13..=14).contains(&dropped), "dropped {dropped} ticks");
    // Back to normal frames: exactly one tick each, nothing more dropped.
    sim.app
        .insert_resource(TimeUpdateStrategy::ManualDuration(period));
    let before = sim.clock().tick;
    for _ in 0..10 {
        sim.app.update();
    }
    let ran = sim.clock().tick - before;
    assert!(
        (9..=11).contains(&ran),
        "ran {ran} ticks in 10 normal frames"
    );
    assert_eq!(sim.world().resource::<TickStats>().dropped, dropped);
}

/// Runs a busy scenario: many ships, burns, holds and warp.
fn scenario_hash() -> u64 {
    let mut sim = Sim::new(config(&[]));
    let ships: Vec<Entity> = (0..64)
        .map(|i| sim.spawn(sim.orbit_slot("Earth", 400_000.0 + 1_000.0 * i as f64, i as f64 * 0.1)))
        .collect();
    for (i, &ship) in ships.iter().enumerate() {
        match i % 4 {
            0 => sim.command(ship, ShipAction::Throttle(0.5)),
            1 => sim.command(
                ship,
                ShipAction::Controls(Controls::Hold(HoldMode::Prograde)),
            ),
            2 => sim.command(
                ship,
                ShipAction::Controls(Controls::Rates(DVec3::new(0.3, -1.0, 0.2))),
            ),
            _ => {}
        }
    }
    sim.set_time_scale(50.0);
    for _ in 0..300 {
        sim.tick();
    }
    let mut hasher = DefaultHasher::new();
    let world = sim.app.world_mut();
    let mut query = world.query_filtered::<(
        &Position,
        &Velocity,
        &Attitude,
        &AngularVelocity,
        &WheelMomentum,
        &Fuel,
    ), With<Ship>>();
    let mut rows: Vec<_> = query
        .iter(world)
        .map(|row| (row.0.0, row.1.0, row.2.0, row.3.0, row.4.0, row.5.0))
        .collect();
    rows.sort_by(|a, b| a.0.x.total_cmp(&b.0.x));
    for (p, v, q, w, h, f) in rows {
        for x in p
            .to_array()
            .iter()
            .chain(&v.to_array())
            .chain(&q.to_array())
            .chain(&w.to_array())
            .chain(&h.to_array())
        {
            x.to_bits().hash(&mut hasher);
        }
        f.to_bits().hash(&mut hasher);
    }
    let clock = *world.resource::<SimClock>();
    clock.game_time.to_bits().hash(&mut hasher);
    hasher.finish()
}

#[test]
fn same_inputs_give_the_same_world_bit_for_bit() {
    assert_eq!(scenario_hash(), scenario_hash());
}
