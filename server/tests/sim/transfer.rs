//! The transfer planner against the server: a trip from low Earth orbit to the
//! Moon, planned on a porkchop plot and refined for a 100 km lunar periapsis, then
//! flown by the burn executor under the full force model.

use galaxy_server::ships::ShipAction;
use galaxy_server::ships::flight::DominantBody;
use galaxy_server::ships::spawn::circular_orbit;
use galaxy_shared::components::{Position, Velocity};
use galaxy_shared::flight_plan::{Node, PlanCommand};
use galaxy_shared::physics::orbit::OrbitalElements;
use galaxy_shared::physics::transfer::{Planner, TransferTarget};

use crate::harness::{Sim, config};

#[test]
fn a_planned_trip_to_the_moon_passes_it_at_the_predicted_periapsis() {
    let mut sim = Sim::new(config(&[]));
    let (earth, moon) = (sim.body("Earth"), sim.body("Moon"));
    let (center, center_v) = sim.body_state("Earth");
    let (moon_p, moon_v) = sim.body_state("Moon");
    // A 400 km circular orbit in the Moon's orbital plane.
    let normal = (moon_p - center).cross(moon_v - center_v).normalize();
    let inclination = normal.z.acos();
    let node = normal.x.atan2(-normal.y);
    let bodies = sim.bodies();
    let (mu, radius) = (bodies.state.gms[earth], bodies.catalog.radii[earth]);
    let moon_radius = bodies.catalog.radii[moon];
    let slot = circular_orbit(
        center,
        center_v,
        mu,
        radius + 400_000.0,
        0.0,
        inclination,
        node,
    );
    let ship = sim.spawn(slot);
    let planner = Planner {
        bodies: sim.prediction_bodies(),
        now: sim.clock().game_time,
        center: earth,
        r: slot.position - center,
        v: slot.velocity - center_v,
    };
    let grid = planner.grid(TransferTarget::Body(moon));
    let plot = planner
        .porkchop(TransferTarget::Body(moon), grid)
        .expect("a plot");
    let best = plot.best().expect("a transfer");
    // The cheapest departure is close to a Hohmann transfer's (3.1 km/s from
    // 400 km to the Moon's distance).
    assert!(
        (3_000.0..3_300.0).contains(&best.cost),
        "cheapest departure {:.0} m/s",
        best.cost
    );
    let goal = moon_radius + 100_000.0;
    let (transfer, pass) = planner
        .encounter(moon, best.depart, best.flight, goal)
        .expect("an encounter");
    assert!(
        (pass.periapsis - goal).abs() < 10_000.0,
        "the planner aimed for {:.0} km and predicts {:.0} km",
        goal / 1e3,
        pass.periapsis / 1e3
    );
    sim.command(
        ship,
        ShipAction::Plan(PlanCommand::Add(Node {
            at: transfer.depart,
            prograde: transfer.burn.x,
            normal: transfer.burn.y,
            radial: transfer.burn.z,
        })),
    );
    sim.command(ship, ShipAction::Plan(PlanCommand::Execute { all: false }));
    // Fly until well past the pass, noting the osculating lunar periapsis at the
    // nearest tick inside the Moon's sphere of influence.
    let mut nearest = (f64::INFINITY, f64::NAN);
    let span = transfer.depart - sim.clock().game_time + 1.5 * transfer.flight;
    sim.fly(span, 300.0, |sim| {
        if sim.get::<DominantBody>(ship).0 == moon {
            let (p, v) = sim.body_state("Moon");
            let r = sim.get::<Position>(ship).0 - p;
            let w = sim.get::<Velocity>(ship).0 - v;
            if r.length() < nearest.0 {
                let mu_moon = sim.bodies().state.gms[moon];
                nearest = (
                    r.length(),
                    OrbitalElements::from_state(r, w, mu_moon).periapsis,
                );
            }
        }
        false
    });
    let flown = nearest.1;
    assert!(flown.is_finite(), "the ship never reached the Moon");
    eprintln!(
        "Earth to Moon: {:.0} m/s, {:.2} days; lunar periapsis predicted {:.1} km, flown {:.1} km",
        best.cost,
        transfer.flight / 86_400.0,
        (pass.periapsis - moon_radius) / 1e3,
        (flown - moon_radius) / 1e3
    );
    assert!(
        (flown - pass.periapsis).abs() < 50_000.0,
        "flown periapsis {:.1} km, predicted {:.1} km",
        (flown - moon_radius) / 1e3,
        (pass.periapsis - moon_radius) / 1e3
    );
}
