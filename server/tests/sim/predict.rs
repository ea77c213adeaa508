//! The client's predicted path (shared `physics::predict`) against where the server
//! then flies the ship.

use galaxy_server::ships::spawn::circular_orbit;
use galaxy_shared::components::Position;
use galaxy_shared::physics::predict::Predictor;

use crate::harness::{Sim, config};

#[test]
fn the_predicted_path_ends_a_day_within_a_kilometre_of_the_server() {
    let mut sim = Sim::new(config(&[]));
    let earth = sim.body("Earth");
    let (center, center_v) = sim.body_state("Earth");
    let bodies = sim.bodies();
    let slot = circular_orbit(
        center,
        center_v,
        bodies.state.gms[earth],
        bodies.catalog.radii[earth] + 400_000.0,
        0.3,
        51.6f64.to_radians(),
        0.0,
    );
    let ship = sim.spawn(slot);
    let day = 86_400.0;
    let mut predictor = Predictor::new(
        sim.prediction_bodies(),
        sim.clock().game_time,
        day,
        slot.position,
        slot.velocity,
        vec![],
    );
    while !predictor.advance(64) {}
    let (_, predicted, _) = predictor.state();
    sim.set_time_scale(1_000.0);
    sim.run_for(day);
    let flown = sim.get::<Position>(ship).0;
    let error = flown.distance(predicted);
    assert!(
        error < 1_000.0,
        "the prediction ends {error:.1} m from the server"
    );
    // The force model matters: a two-body conic about Earth misses by far more
    // (J2 turns a 51.6° orbit's plane by about 5° a day).
    let (earth_end, _) = sim.body_state("Earth");
    let (r, _) = galaxy_shared::physics::kepler::drift(
        slot.position - center,
        slot.velocity - center_v,
        sim.bodies().state.gms[earth],
        day,
    );
    let conic = (earth_end + r).distance(flown);
    assert!(
        conic > 100.0 * error.max(1.0),
        "a conic ends {conic:.0} m off"
    );
    eprintln!("prediction after a day: {error:.3} m from the server");
}
