//! Ships that take fine substeps fly in groups whose gravity is summed in vector
//! lanes; a ship's path must not depend on whether it flew in a group or alone.

use bevy::prelude::Entity;
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

/// Eight ships that all take fine substeps, each doing something different.
fn fleet(sim: &Sim) -> Vec<(OrbitSlot, Vec<ShipAction>)> {
    let leo = |phase| sim.orbit_slot("Earth", 400_000.0, phase);
    let hold = |mode| ShipAction::Controls(Controls::Hold(mode));
    vec![
        (leo(0.1), vec![ShipAction::Throttle(0.5)]),
        (
            leo(0.7),
            vec![ShipAction::Controls(Controls::Rates(DVec3::new(
                0.3, -1.0, 0.2,
            )))],
        ),
        (leo(1.3), vec![hold(HoldMode::Prograde)]),
        (
            leo(2.0),
            vec![hold(HoldMode::RadialOut), ShipAction::Throttle(1.0)],
        ),
        (
            sim.orbit_slot("Moon", 50_000.0, 0.4),
            vec![hold(HoldMode::Retrograde), ShipAction::Throttle(0.2)],
        ),
        (
            falling_onto_the_moon(sim, 3_000.0, 20.0),
            vec![hold(HoldMode::Normal)],
        ),
        (
            falling_onto_the_moon(sim, 4.0, 0.5),
            vec![hold(HoldMode::RadialIn)],
        ),
        (
            sim.orbit_slot("Mars", 300_000.0, 2.5),
            vec![ShipAction::Throttle(0.05), hold(HoldMode::AntiNormal)],
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

/// Spawns `ships`, gives their commands, and flies them 200 s at 50× (many
/// substeps a tick).
fn fly(ships: &[(OrbitSlot, Vec<ShipAction>)]) -> Vec<Flown> {
    let mut sim = Sim::new(config(&[]));
    let entities: Vec<Entity> = ships
        .iter()
        .map(|(slot, actions)| {
            let ship = sim.spawn(*slot);
            for action in actions {
                sim.command(ship, *action);
            }
            ship
        })
        .collect();
    sim.set_time_scale(50.0);
    sim.run_for(200.0);
    entities.iter().map(|&ship| flown(&sim, ship)).collect()
}

#[test]
fn a_ship_flies_the_same_in_a_group_as_alone() {
    let ships = fleet(&Sim::new(config(&[])));
    let together = fly(&ships);
    for (i, ship) in ships.iter().enumerate() {
        let alone = fly(std::slice::from_ref(ship));
        assert_eq!(
            alone[0], together[i],
            "ship {i} flew differently in its group"
        );
    }
    // The fleet did what it was meant to: burned, turned, and met the Moon.
    let full = Sim::new(config(&[]))
        .world()
        .resource::<galaxy_server::config::ShipSpec>()
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
