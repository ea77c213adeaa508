//! The landing autopilot: from a low lunar orbit to a touchdown under 2 m/s on the
//! turning ground, and the landings it refuses.

use galaxy_server::ships::lander::Landing;
use galaxy_server::ships::{ShipAction, ShipEventKind};
use galaxy_shared::components::{Controls, FlightState, Fuel, HoldMode, Position, Velocity};
use galaxy_shared::flight_plan::{Node, PlanCommand};
use galaxy_shared::physics::rocket::delta_v;

use crate::harness::{Sim, config};

/// Speed of `ship` over the turning ground of `body`, from the server's state.
fn ground_speed(sim: &Sim, ship: bevy::prelude::Entity, body: usize) -> f64 {
    let bodies = sim.bodies();
    let r = sim.get::<Position>(ship).0 - bodies.state.positions[body];
    let v = sim.get::<Velocity>(ship).0 - bodies.state.velocities[body];
    let spin = bodies.catalog.rotations[body].angular_velocity(sim.clock().game_time);
    (v - spin.cross(r)).length()
}

fn refusals(sim: &mut Sim) -> Vec<String> {
    sim.events()
        .into_iter()
        .filter_map(|e| match e.kind {
            ShipEventKind::Rejected { reason } => Some(reason),
            _ => None,
        })
        .collect()
}

#[test]
fn the_landing_autopilot_sets_a_ship_down_on_the_moon_from_low_orbit() {
    let mut sim = Sim::new(config(&[]));
    let moon = sim.body("Moon");
    let ship = sim.spawn(sim.orbit_slot("Moon", 100_000.0, 1.0));
    let fuel_before = sim.get::<Fuel>(ship).0;
    sim.command(ship, ShipAction::Plan(PlanCommand::Land));
    sim.tick();
    assert_eq!(refusals(&mut sim), Vec::<String>::new());
    assert!(sim.world().get::<Landing>(ship).is_some());
    // Aloft until the flight state changes; the speed over the ground at the last
    // tick aloft is the touchdown speed (a tick is 1/30 s then).
    let mut last_speed = f64::NAN;
    let mut flying = 0.0;
    sim.fly(4.0 * 3_600.0, 600.0, |sim| {
        if sim.get::<FlightState>(ship) != FlightState::Flying {
            return true;
        }
        last_speed = ground_speed(sim, ship, moon);
        flying += 1.0;
        false
    });
    let flight = sim.get::<FlightState>(ship);
    assert!(
        matches!(flight, FlightState::Landed { body, .. } if body == moon),
        "ended {flight:?}, last {last_speed:.2} m/s over the ground"
    );
    assert!(last_speed <= 2.0, "touched down at {last_speed:.2} m/s");
    sim.tick();
    let touchdown: Vec<f64> = sim
        .events()
        .into_iter()
        .filter_map(|e| match e.kind {
            ShipEventKind::Touchdown { speed } => Some(speed),
            _ => None,
        })
        .collect();
    assert_eq!(touchdown.len(), 1, "one touchdown reported");
    assert!(touchdown[0] <= 2.0);
    assert!(
        sim.world().get::<Landing>(ship).is_none(),
        "the autopilot let go"
    );
    assert_eq!(
        sim.get::<Controls>(ship),
        Controls::Hold(HoldMode::Stability)
    );
    let spec = *sim.world().resource::<galaxy_server::config::ShipSpec>();
    let used = delta_v(
        spec.exhaust_velocity,
        spec.dry_mass + fuel_before,
        spec.dry_mass + sim.get::<Fuel>(ship).0,
    );
    // From 100 km the ideal (a Hohmann descent to the surface) costs about
    // 1.7 km/s; gravity losses of a real braking burn add some.
    assert!(
        (1_600.0..2_400.0).contains(&used),
        "the landing used {used:.0} m/s"
    );
    eprintln!(
        "Moon landing: touchdown at {:.2} m/s, {used:.0} m/s used, {flying} ticks aloft",
        touchdown[0]
    );
}

#[test]
fn landings_are_refused_without_air_to_spare_fuel_or_an_empty_plan() {
    let mut sim = Sim::new(config(&[]));
    let earthling = sim.spawn(sim.orbit_slot("Earth", 400_000.0, 0.0));
    sim.command(earthling, ShipAction::Plan(PlanCommand::Land));
    let lunar = sim.spawn(sim.orbit_slot("Moon", 100_000.0, 0.0));
    sim.app
        .world_mut()
        .get_mut::<Fuel>(lunar)
        .expect("a ship")
        .0 = 1_000.0;
    sim.command(lunar, ShipAction::Plan(PlanCommand::Land));
    sim.tick();
    let refused = refusals(&mut sim);
    assert_eq!(refused.len(), 2, "{refused:?}");
    assert!(refused[0].contains("airless"), "{}", refused[0]);
    assert!(refused[1].starts_with("not enough fuel"), "{}", refused[1]);
    assert!(sim.world().get::<Landing>(earthling).is_none());
    assert!(sim.world().get::<Landing>(lunar).is_none());
    let at = sim.clock().game_time + 600.0;
    sim.app
        .world_mut()
        .get_mut::<Fuel>(lunar)
        .expect("a ship")
        .0 = 40_000.0;
    sim.command(
        lunar,
        ShipAction::Plan(PlanCommand::Add(Node {
            at,
            prograde: 1.0,
            normal: 0.0,
            radial: 0.0,
        })),
    );
    sim.command(lunar, ShipAction::Plan(PlanCommand::Land));
    sim.command(lunar, ShipAction::Controls(Controls::Hold(HoldMode::Land)));
    sim.tick();
    let refused = refusals(&mut sim);
    assert_eq!(refused.len(), 2, "{refused:?}");
    assert!(refused[0].contains("empty plan"), "{}", refused[0]);
    assert!(refused[1].contains("landing autopilot"), "{}", refused[1]);
    // With the plan emptied it lands; an abort hands the ship back at once.
    sim.command(lunar, ShipAction::Plan(PlanCommand::Delete(0)));
    sim.command(lunar, ShipAction::Plan(PlanCommand::Land));
    sim.tick();
    assert!(sim.world().get::<Landing>(lunar).is_some());
    sim.command(lunar, ShipAction::Plan(PlanCommand::Abort));
    sim.tick();
    assert!(sim.world().get::<Landing>(lunar).is_none());
    assert_eq!(refusals(&mut sim), Vec::<String>::new());
}

#[test]
fn a_deorbit_burn_that_falls_short_ends_the_landing() {
    let mut sim = Sim::new(config(&[]));
    let ship = sim.spawn(sim.orbit_slot("Moon", 100_000.0, 0.0));
    sim.command(ship, ShipAction::Plan(PlanCommand::Land));
    sim.tick();
    assert!(sim.world().get::<Landing>(ship).is_some());
    // The tank runs dry before the deorbit burn: the executor gives up on it.
    sim.app.world_mut().get_mut::<Fuel>(ship).expect("a ship").0 = 0.0;
    sim.fly(600.0, 60.0, |sim| {
        sim.world().get::<Landing>(ship).is_none()
    });
    let refused = refusals(&mut sim);
    assert!(
        refused
            .iter()
            .any(|r| r.contains("deorbit burn fell short")),
        "{refused:?}"
    );
    assert!(sim.world().get::<Landing>(ship).is_none());
    assert_eq!(sim.get::<FlightState>(ship), FlightState::Flying);
}
