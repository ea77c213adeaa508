//! Ships against physics (Kepler, the rocket equation) and the flight rules.

use std::f64::consts::TAU;

use galaxy_server::config::ShipSpec;
use galaxy_server::ships::spawn::OrbitSlot;
use galaxy_server::ships::{ShipAction, ShipEventKind};
use galaxy_shared::components::{
    AngularVelocity, Attitude, Controls, FlightState, Fuel, HoldMode, Position, Velocity,
    WheelMomentum,
};
use galaxy_shared::physics::attitude::{MAX_SPIN_RATE, pointing_error};
use galaxy_shared::physics::rocket::delta_v;
use glam::{DQuat, DVec3};

use crate::harness::{Sim, config};

const ALTITUDE: f64 = 400_000.0;

fn earth_relative(sim: &Sim, ship: bevy::prelude::Entity) -> (DVec3, DVec3) {
    let (earth, earth_v) = sim.body_state("Earth");
    (
        sim.get::<Position>(ship).0 - earth,
        sim.get::<Velocity>(ship).0 - earth_v,
    )
}

fn leo_period(sim: &Sim) -> f64 {
    let earth = sim.body("Earth");
    let r = sim.bodies().catalog.radii[earth] + ALTITUDE;
    TAU * (r.powi(3) / sim.bodies().state.gms[earth]).sqrt()
}

/// Flies one Kepler period of a circular 400 km orbit at `scale` and returns how far
/// from its start (relative to Earth) the ship ends, and the substep used.
fn leo_return_error(scale: f64) -> (f64, f64) {
    // A point-mass Earth: its J2 alone moves a low orbit by tens of kilometres.
    let mut sim = Sim::new(config(&[("GALAXY_PHYSICS__OBLATENESS", "false")]));
    let ship = sim.spawn(sim.orbit_slot("Earth", ALTITUDE, 0.3));
    let (start, _) = earth_relative(&sim, ship);
    sim.set_time_scale(scale);
    let period = leo_period(&sim);
    sim.run_for(period);
    let substep = sim
        .world()
        .resource::<galaxy_server::tick::TickPlan>()
        .substep();
    (earth_relative(&sim, ship).0.distance(start), substep)
}

#[test]
fn circular_leo_returns_to_its_start_after_one_period() {
    // The Moon and Sun pull a 400 km orbit off a pure Kepler ellipse by tens of
    // metres per revolution; the orbit is 42 600 km around.
    let (error, _) = leo_return_error(100.0);
    assert!(
        error < 200.0,
        "ship missed its start by {error:.1} m after one period"
    );
}

#[test]
fn time_scale_1000_stays_accurate_with_substeps() {
    let (slow, _) = leo_return_error(100.0);
    let (fast, substep) = leo_return_error(1_000.0);
    assert!(
        substep <= 1.0,
        "substeps must stay within max_substep, got {substep}"
    );
    assert!(
        fast < 200.0,
        "at 1000x the ship missed its start by {fast:.1} m"
    );
    // At 100x a tick holds four 0.83 s leapfrog substeps (about 15 m off per
    // revolution); at 1000x the ship coasts on Kepler arcs (a few metres, all of
    // it the Moon's and Sun's tides).
    assert!(
        fast < slow && (fast - slow).abs() < 20.0,
        "1000x ({fast:.2} m) and 100x ({slow:.2} m) disagree"
    );
}

#[test]
fn burn_delta_v_matches_the_rocket_equation() {
    let mut sim = Sim::new(config(&[]));
    let slot = sim.orbit_slot("Earth", ALTITUDE, 1.0);
    let burner = sim.spawn(slot);
    let coaster = sim.spawn(slot);
    let spec = *sim.world().resource::<ShipSpec>();
    let fuel0 = sim.get::<Fuel>(burner).0;
    sim.command(burner, ShipAction::Throttle(1.0));
    sim.run_for(10.0);
    let fuel1 = sim.get::<Fuel>(burner).0;
    let expected_fuel = spec.thrust / spec.exhaust_velocity * 10.0;
    assert!(
        ((fuel0 - fuel1) / expected_fuel - 1.0).abs() < 1e-3,
        "burned {} kg",
        fuel0 - fuel1
    );
    let measured = (sim.get::<Velocity>(burner).0 - sim.get::<Velocity>(coaster).0).length();
    let rocket = delta_v(
        spec.exhaust_velocity,
        spec.dry_mass + fuel0,
        spec.dry_mass + fuel1,
    );
    assert!(
        (measured / rocket - 1.0).abs() < 1e-3,
        "burn gave {measured:.4} m/s, the rocket equation {rocket:.4} m/s"
    );
}

#[test]
fn engine_stops_when_the_tank_is_empty() {
    let mut sim = Sim::new(config(&[]));
    let ship = sim.spawn(sim.orbit_slot("Earth", ALTITUDE, 1.0));
    let spec = *sim.world().resource::<ShipSpec>();
    sim.app.world_mut().get_mut::<Fuel>(ship).expect("ship").0 = 50.0;
    let v0 = sim.get::<Velocity>(ship).0;
    sim.command(ship, ShipAction::Throttle(1.0));
    sim.run_for(5.0);
    assert_eq!(sim.get::<Fuel>(ship).0, 0.0);
    let dv = (sim.get::<Velocity>(ship).0 - v0).length();
    let rocket = delta_v(spec.exhaust_velocity, spec.dry_mass + 50.0, spec.dry_mass);
    // Gravity changes the velocity too (about 8.7 m/s² for 5 s) but not along the nose.
    let along_nose = (sim.get::<Velocity>(ship).0 - v0).dot(sim.get::<Attitude>(ship).0 * DVec3::Z);
    assert!(dv > rocket * 0.5, "the burn happened");
    assert!(
        (along_nose - rocket).abs() < 0.05 * rocket + 1.0,
        "{along_nose} vs {rocket}"
    );
}

#[test]
fn prograde_hold_converges_within_a_minute() {
    let mut sim = Sim::new(config(&[]));
    let mut slot = sim.orbit_slot("Earth", ALTITUDE, 2.0);
    let (earth, earth_v) = sim.body_state("Earth");
    let (r, v) = (slot.position - earth, slot.velocity - earth_v);
    let away = (-v.normalize() + r.cross(v).normalize() * 0.3).normalize();
    slot.attitude = DQuat::from_rotation_arc(DVec3::Z, away);
    let ship = sim.spawn(slot);
    sim.command(
        ship,
        ShipAction::Controls(Controls::Hold(HoldMode::Prograde)),
    );
    let (_, v) = earth_relative(&sim, ship);
    let initial = pointing_error(sim.get::<Attitude>(ship).0, v).to_degrees();
    assert!(initial > 150.0, "starts far off prograde ({initial:.1}°)");
    sim.run_for(60.0);
    let (_, v) = earth_relative(&sim, ship);
    let error = pointing_error(sim.get::<Attitude>(ship).0, v).to_degrees();
    assert!(error < 1.0, "still {error:.2}° off prograde after 60 s");
    let rate = sim.get::<AngularVelocity>(ship).0.length();
    assert!(rate < 0.01, "still turning at {rate} rad/s");
}

#[test]
fn a_rotation_command_held_through_warp_spins_no_faster_than_the_cap() {
    // Full torque on two axes for three hours of game time: unchecked, the spin
    // grows until the gyroscopic term overflows and the attitude turns to NaN.
    let mut sim = Sim::new(config(&[]));
    let ship = sim.spawn(sim.orbit_slot("Earth", ALTITUDE, 0.0));
    sim.command(
        ship,
        ShipAction::Controls(Controls::Rates(DVec3::new(1.0, -1.0, 0.0))),
    );
    sim.set_time_scale(100.0);
    sim.run_for(3.0 * 3_600.0);
    let rate = sim.get::<AngularVelocity>(ship).0;
    let attitude = sim.get::<Attitude>(ship).0;
    assert!(
        rate.is_finite() && attitude.is_finite(),
        "spun into {rate} / {attitude}"
    );
    assert!(
        rate.length() <= MAX_SPIN_RATE * (1.0 + 1e-12),
        "spins at {} rad/s",
        rate.length()
    );
    assert!((attitude.length() - 1.0).abs() < 1e-9);
}

#[test]
fn wheels_saturate_then_rcs_takes_over_and_spends_fuel() {
    let mut sim = Sim::new(config(&[]));
    let ship = sim.spawn(sim.orbit_slot("Earth", ALTITUDE, 0.0));
    let spec = *sim.world().resource::<ShipSpec>();
    let fuel0 = sim.get::<Fuel>(ship).0;
    sim.command(ship, ShipAction::Controls(Controls::Rates(DVec3::X)));
    // Full pitch torque fills the wheel in capacity / torque = 10 s.
    let fill_time = spec.attitude.wheel_capacity / spec.attitude.wheel_torque;
    sim.run_for(fill_time * 0.9);
    assert_eq!(
        sim.get::<Fuel>(ship).0,
        fuel0,
        "wheels alone spend no propellant"
    );
    let rate_wheels = sim.get::<AngularVelocity>(ship).0.x;
    sim.run_for(fill_time * 0.2 + 10.0);
    let wheel = sim.get::<WheelMomentum>(ship).0.x.abs();
    assert!(
        wheel >= spec.attitude.wheel_capacity * 0.999,
        "wheel holds {wheel} N·m·s"
    );
    assert!(wheel <= spec.attitude.wheel_capacity * 1.001);
    let fuel1 = sim.get::<Fuel>(ship).0;
    assert!(
        fuel1 < fuel0,
        "RCS must spend propellant once the wheels are full"
    );
    let rate_rcs = sim.get::<AngularVelocity>(ship).0.x;
    assert!(
        rate_rcs > rate_wheels * 1.5,
        "RCS keeps the pitch rate growing: {rate_wheels} → {rate_rcs}"
    );
    // Propellant matches the torque: a couple of thrust τ/d at Isp 220 s.
    let expected_flow =
        spec.attitude.wheel_torque / spec.attitude.rcs_lever.x / spec.attitude.rcs_exhaust_velocity;
    let rcs_time = fill_time * 1.1 + 10.0 - fill_time;
    let used = fuel0 - fuel1;
    assert!(
        (used / (expected_flow * rcs_time) - 1.0).abs() < 0.05,
        "RCS used {used} kg"
    );
}

/// Earth's spin (rad/s, ICRF) now.
fn earth_spin(sim: &Sim) -> DVec3 {
    sim.bodies().catalog.rotations[sim.body("Earth")].angular_velocity(sim.clock().game_time)
}

/// A ship `altitude` above Earth's surface, falling straight down onto the turning
/// ground at `speed`.
fn falling(sim: &Sim, altitude: f64, speed: f64) -> OrbitSlot {
    let (earth, earth_v) = sim.body_state("Earth");
    let radius = sim.bodies().catalog.radii[sim.body("Earth")];
    let up = DVec3::new(0.3, -0.8, 0.52).normalize();
    let r = up * (radius + altitude);
    OrbitSlot {
        position: earth + r,
        velocity: earth_v + earth_spin(sim).cross(r) - up * speed,
        attitude: DQuat::from_rotation_arc(DVec3::Z, up),
    }
}

#[test]
fn gentle_touchdown_lands_and_fast_impact_destroys() {
    let mut sim = Sim::new(config(&[]));
    let gentle = sim.spawn(falling(&sim, 2.0, 5.0));
    let fast = sim.spawn(falling(&sim, 2.0, 40.0));
    sim.run_for(3.0);
    assert!(
        matches!(sim.get::<FlightState>(gentle), FlightState::Landed { .. }),
        "touchdown at ~8 m/s lands"
    );
    assert!(
        matches!(sim.get::<FlightState>(fast), FlightState::Destroyed { .. }),
        "impact at ~40 m/s destroys"
    );
    let events = sim.events();
    assert!(events.iter().any(|e| e.ship == gentle
        && matches!(&e.kind, ShipEventKind::Landed { body } if body == "Earth")));
    assert!(events.iter().any(|e| e.ship == fast
        && matches!(&e.kind, ShipEventKind::Destroyed { body } if body == "Earth")));

    // A landed ship rides with Earth for an hour, on its surface.
    sim.set_time_scale(600.0);
    sim.run_for(3_600.0);
    let (earth, earth_v) = sim.body_state("Earth");
    let radius = sim.bodies().catalog.radii[sim.body("Earth")];
    let height = sim.get::<Position>(gentle).0.distance(earth) - radius;
    assert!(
        height.abs() < 1e-3,
        "landed ship is {height} m off the surface"
    );
    let ground = earth_spin(&sim).cross(sim.get::<Position>(gentle).0 - earth);
    assert!(sim.get::<Velocity>(gentle).0.distance(earth_v + ground) < 1e-6);

    // Full throttle (10 m/s² against 9.8 m/s²) with the nose up lifts it off.
    sim.set_time_scale(1.0);
    sim.command(gentle, ShipAction::Throttle(1.0));
    sim.run_for(10.0);
    assert_eq!(sim.get::<FlightState>(gentle), FlightState::Flying);
    let height = sim
        .get::<Position>(gentle)
        .0
        .distance(sim.body_state("Earth").0)
        - radius;
    assert!(height > 1.0, "climbed {height} m");
}

#[test]
fn refuel_and_reset_follow_the_rules() {
    let mut sim = Sim::new(config(&[("GALAXY_SHIP__REFUEL_ANYWHERE", "false")]));
    let flying = sim.spawn(sim.orbit_slot("Earth", ALTITUDE, 0.0));
    let landed = sim.spawn(falling(&sim, 1.0, 1.0));
    let wreck = sim.spawn(falling(&sim, 1.0, 100.0));
    sim.run_for(2.0);
    sim.events();
    for ship in [flying, landed, wreck] {
        sim.app.world_mut().get_mut::<Fuel>(ship).expect("ship").0 = 100.0;
        sim.command(ship, ShipAction::Refuel);
    }
    sim.tick();
    let capacity = sim.world().resource::<ShipSpec>().fuel_capacity;
    let events = sim.events();
    let answer = |ship| {
        events
            .iter()
            .find(|e| e.ship == ship)
            .map(|e| e.kind.clone())
    };
    assert!(
        matches!(answer(flying), Some(ShipEventKind::Rejected { .. })),
        "{:?}",
        answer(flying)
    );
    assert_eq!(sim.get::<Fuel>(flying).0, 100.0);
    assert_eq!(answer(landed), Some(ShipEventKind::Refuelled));
    assert_eq!(sim.get::<Fuel>(landed).0, capacity);
    assert!(matches!(
        answer(wreck),
        Some(ShipEventKind::Rejected { .. })
    ));

    sim.command(wreck, ShipAction::Reset);
    sim.tick();
    assert_eq!(
        sim.events()
            .iter()
            .find(|e| e.ship == wreck)
            .map(|e| e.kind.clone()),
        Some(ShipEventKind::Reset)
    );
    assert_eq!(sim.get::<FlightState>(wreck), FlightState::Flying);
    assert_eq!(sim.get::<Fuel>(wreck).0, capacity);
    let (r, v) = earth_relative(&sim, wreck);
    let radius = sim.bodies().catalog.radii[sim.body("Earth")];
    assert!(
        (r.length() - radius - ALTITUDE).abs() < 50.0,
        "reset into the 400 km orbit"
    );
    assert!(
        r.dot(v).abs() / (r.length() * v.length()) < 1e-3,
        "circular: velocity ⟂ radius"
    );

    let mut anywhere = Sim::new(config(&[]));
    let ship = anywhere.spawn(anywhere.orbit_slot("Earth", ALTITUDE, 0.0));
    anywhere
        .app
        .world_mut()
        .get_mut::<Fuel>(ship)
        .expect("ship")
        .0 = 1.0;
    anywhere.command(ship, ShipAction::Refuel);
    anywhere.tick();
    assert_eq!(
        anywhere.get::<Fuel>(ship).0,
        capacity,
        "refuel_anywhere (default) allows it in orbit"
    );
}

#[test]
fn out_of_range_commands_are_rejected_and_counted() {
    let mut sim = Sim::new(config(&[]));
    let ship = sim.spawn(sim.orbit_slot("Earth", ALTITUDE, 0.0));
    sim.command(ship, ShipAction::Throttle(f64::NAN));
    sim.command(ship, ShipAction::Throttle(1.5));
    sim.command(
        ship,
        ShipAction::Controls(Controls::Rates(DVec3::new(0.0, 3.0, 0.0))),
    );
    sim.command(bevy::prelude::Entity::PLACEHOLDER, ShipAction::Refuel);
    sim.tick();
    let stats = sim
        .world()
        .resource::<galaxy_server::ships::ShipCommandStats>();
    assert_eq!(stats.rejected, 4);
    assert_eq!(sim.get::<galaxy_shared::components::Throttle>(ship).0, 0.0);
}
