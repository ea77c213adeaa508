//! Ships that take fine substeps fly in groups whose gravity is summed in vector
//! lanes, and steady ones fly whole runs of substeps in lanes; a ship's path must
//! not depend on whether it flew in a group or alone.

use bevy::prelude::Entity;
use galaxy_server::config::ShipSpec;
use galaxy_server::ships::ShipAction;
use galaxy_server::ships::spawn::OrbitSlot;
use galaxy_shared::components::{
    AngularVelocity, Attitude, Controls, FlightState, Fuel, HoldMode, Position, Velocity,
};
use glam::DVec3;

use crate::harness::{Sim, config};

/// A ship at `altitude` above the Moon, falling straight down at `speed` relative to it.
fn falling_onto_the_moon(sim: &Sim, altitude: f64, speed: f64) -> OrbitSlot {
    let mut slot = sim.orbit_slot("Moon", altitude, 1.0);
    let (moon, moon_v) = sim.body_state("Moon");
    slot.velocity = moon_v - (slot.position - moon).normalize() * speed;
    slot
}

/// A ship to fly: where it starts, what it is told, and its propellant when the
/// tank is not full.
type Setup = (OrbitSlot, Vec<ShipAction>, Option<f64>);

/// Eight ships that all take fine substeps, each doing something different.
fn fleet(sim: &Sim) -> Vec<Setup> {
    let leo = |phase| sim.orbit_slot("Earth", 400_000.0, phase);
    let hold = |mode| ShipAction::Controls(Controls::Hold(mode));
    vec![
        (leo(0.1), vec![ShipAction::Throttle(0.5)], None),
        (
            leo(0.7),
            vec![ShipAction::Controls(Controls::Rates(DVec3::new(
                0.3, -1.0, 0.2,
            )))],
            None,
        ),
        (leo(1.3), vec![hold(HoldMode::Prograde)], None),
        (
            leo(2.0),
            vec![hold(HoldMode::RadialOut), ShipAction::Throttle(1.0)],
            None,
        ),
        (
            sim.orbit_slot("Moon", 50_000.0, 0.4),
            vec![hold(HoldMode::Retrograde), ShipAction::Throttle(0.2)],
            None,
        ),
        (
            falling_onto_the_moon(sim, 3_000.0, 20.0),
            vec![hold(HoldMode::Normal)],
            None,
        ),
        (
            falling_onto_the_moon(sim, 4.0, 0.5),
            vec![hold(HoldMode::RadialIn)],
            None,
        ),
        (
            sim.orbit_slot("Mars", 300_000.0, 2.5),
            vec![ShipAction::Throttle(0.05), hold(HoldMode::AntiNormal)],
            None,
        ),
    ]
}

/// Eight ships of which most fly steady runs: burning or not at a fixed attitude,
/// one whose tank runs dry, two falling onto the Moon; one turns among them.
fn steady_fleet(sim: &Sim) -> Vec<Setup> {
    let leo = |phase| sim.orbit_slot("Earth", 400_000.0, phase);
    let throttle = ShipAction::Throttle;
    vec![
        (leo(0.1), vec![], None),
        (leo(0.5), vec![throttle(0.5)], None),
        (leo(0.9), vec![throttle(1.0)], Some(1_000.0)),
        (
            leo(1.4),
            vec![
                ShipAction::Controls(Controls::Rates(DVec3::ZERO)),
                throttle(0.2),
            ],
            None,
        ),
        (falling_onto_the_moon(sim, 3_000.0, 20.0), vec![], None),
        (falling_onto_the_moon(sim, 4.0, 0.5), vec![], None),
        (
            sim.orbit_slot("Moon", 50_000.0, 0.4),
            vec![throttle(0.2)],
            None,
        ),
        (
            leo(2.0),
            vec![
                ShipAction::Controls(Controls::Hold(HoldMode::Prograde)),
                throttle(0.3),
            ],
            None,
        ),
    ]
}

/// Everything a ship's flight changes.
type Flown = (
    Position,
    Velocity,
    Attitude,
    AngularVelocity,
    Fuel,
    FlightState,
);

fn flown(sim: &Sim, ship: Entity) -> Flown {
    (
        sim.get(ship),
        sim.get(ship),
        sim.get(ship),
        sim.get(ship),
        sim.get(ship),
        sim.get(ship),
    )
}

/// Spawns `ships` on a server with `overrides`, gives their commands, and flies
/// them `seconds` at `scale` (many substeps a tick).
fn fly(ships: &[Setup], overrides: &[(&str, &str)], scale: f64, seconds: f64) -> Vec<Flown> {
    let mut sim = Sim::new(config(overrides));
    let entities: Vec<Entity> = ships
        .iter()
        .map(|(slot, actions, fuel)| {
            let ship = sim.spawn(*slot);
            if let Some(fuel) = fuel {
                sim.app.world_mut().entity_mut(ship).insert(Fuel(*fuel));
            }
            for action in actions {
                sim.command(ship, *action);
            }
            ship
        })
        .collect();
    sim.set_time_scale(scale);
    sim.run_for(seconds);
    entities.iter().map(|&ship| flown(&sim, ship)).collect()
}

#[test]
fn a_ship_flies_the_same_in_a_group_as_alone() {
    let ships = fleet(&Sim::new(config(&[])));
    let together = fly(&ships, &[], 50.0, 200.0);
    for (i, ship) in ships.iter().enumerate() {
        let alone = fly(std::slice::from_ref(ship), &[], 50.0, 200.0);
        assert_eq!(
            alone[0], together[i],
            "ship {i} flew differently in its group"
        );
    }
    // The fleet did what it was meant to: burned, turned, and met the Moon.
    let full = Sim::new(config(&[]))
        .world()
        .resource::<ShipSpec>()
        .fuel_capacity;
    assert!(together[0].4.0 < full, "the burning ship used no fuel");
    assert!(
        together[1].3.0.length() > 0.0,
        "the turning ship does not turn"
    );
    assert!(
        matches!(together[5].5, FlightState::Destroyed { .. }),
        "a 20 m/s fall from 3 km wrecks the ship, got {:?}",
        together[5].5
    );
    assert!(
        matches!(together[6].5, FlightState::Landed { .. }),
        "a 4 m drop lands the ship, got {:?}",
        together[6].5
    );
}

#[test]
fn a_steady_run_flies_each_ship_as_it_would_alone() {
    let ships = steady_fleet(&Sim::new(config(&[])));
    for coast in ["true", "false"] {
        let overrides = [("GALAXY_PHYSICS__COAST", coast)];
        // At 1 000× a tick holds 33 substeps: runs are long, and a ship whose
        // tank runs dry coasts the rest of its tick.
        let together = fly(&ships, &overrides, 1_000.0, 600.0);
        for (i, ship) in ships.iter().enumerate() {
            let alone = fly(std::slice::from_ref(ship), &overrides, 1_000.0, 600.0);
            assert_eq!(
                alone[0], together[i],
                "ship {i} flew differently in its group (coasting {coast})"
            );
        }
        // The runs met what ends them: a dry tank, the Moon's surface, the tick.
        assert_eq!(together[2].4.0, 0.0, "the small tank did not run dry");
        let full = Sim::new(config(&[]))
            .world()
            .resource::<ShipSpec>()
            .fuel_capacity;
        assert!(together[1].4.0 < full, "the steady burn used no fuel");
        assert!(
            matches!(together[4].5, FlightState::Destroyed { .. }),
            "a 20 m/s fall from 3 km wrecks the ship, got {:?}",
            together[4].5
        );
        assert!(
            matches!(together[5].5, FlightState::Landed { .. }),
            "a 4 m drop lands the ship, got {:?}",
            together[5].5
        );
    }
}
