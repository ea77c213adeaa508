//! Turning, oblate bodies and coasting ships, against physics: the J2 nodal rate,
//! fine substeps as an independent integrator, and ground that turns.

use std::f64::consts::TAU;

use bevy::prelude::Entity;
use galaxy_server::ships::ShipAction;
use galaxy_server::ships::flight::DominantBody;
use galaxy_server::ships::spawn::{OrbitSlot, circular_orbit};
use galaxy_shared::components::{Controls, FlightState, HoldMode, Position, Velocity};
use galaxy_shared::physics::gravity::dominant_body;
use galaxy_shared::physics::orbit::OrbitalElements;
use glam::{DQuat, DVec3};

use crate::harness::{Sim, config};

fn earth_relative(sim: &Sim, ship: Entity) -> (DVec3, DVec3) {
    let (earth, earth_v) = sim.body_state("Earth");
    (
        sim.get::<Position>(ship).0 - earth,
        sim.get::<Velocity>(ship).0 - earth_v,
    )
}

/// An ISS-like circular orbit: 400 km, 51.6° to Earth's equator (the ICRF XY plane
/// at J2000, where Earth's pole is the ICRF Z axis to a fraction of a degree).
fn iss_orbit(sim: &Sim) -> OrbitSlot {
    let earth = sim.body("Earth");
    let b = sim.bodies();
    circular_orbit(
        b.state.positions[earth],
        b.state.velocities[earth],
        b.state.gms[earth],
        6_778_137.0,
        0.0,
        51.6f64.to_radians(),
        0.0,
    )
}

/// Right ascension of the ascending node of a ship's orbit about Earth's pole.
fn node(sim: &Sim, ship: Entity) -> f64 {
    let (r, v) = earth_relative(sim, ship);
    let pole = sim.bodies().catalog.rotations[sim.body("Earth")].pole(sim.clock().game_time);
    let line = pole.cross(r.cross(v));
    let x = DVec3::X - pole * pole.x;
    let y = pole.cross(x);
    line.dot(y).atan2(line.dot(x))
}

#[test]
fn an_iss_orbit_precesses_at_the_j2_nodal_rate() {
    let mut sim = Sim::new(config(&[]));
    let ship = sim.spawn(iss_orbit(&sim));
    let earth = sim.body("Earth");
    let mu = sim.bodies().state.gms[earth];
    let oblateness = sim.bodies().catalog.oblateness[earth].expect("Earth has a J2");
    let (r, v) = earth_relative(&sim, ship);
    let elements = OrbitalElements::from_state(r, v, mu);
    let a = elements.semi_major_axis;
    let p = a * (1.0 - elements.eccentricity * elements.eccentricity);
    let n = (mu / a.powi(3)).sqrt();
    let inclination = 51.6f64.to_radians();
    // dΩ/dt = −(3/2) n J2 (R/p)² cos i (first order in J2).
    let theory =
        -1.5 * n * oblateness.j2 * (oblateness.reference_radius_m / p).powi(2) * inclination.cos();
    // Sample the node through two days and fit a line: the short-period wobble of
    // the osculating node averages out over 31 revolutions.
    sim.set_time_scale(3_000.0);
    let (mut t, mut angles) = (Vec::new(), Vec::new());
    let (mut unwrapped, mut last) = (0.0, node(&sim, ship));
    for i in 0..=576 {
        if i > 0 {
            sim.run_for(300.0);
        }
        let now = node(&sim, ship);
        let mut step = now - last;
        step -= TAU * (step / TAU).round();
        unwrapped += step;
        last = now;
        t.push(f64::from(i) * 300.0);
        angles.push(unwrapped);
    }
    let count = t.len() as f64;
    let (mt, ma) = (
        t.iter().sum::<f64>() / count,
        angles.iter().sum::<f64>() / count,
    );
    let slope = t
        .iter()
        .zip(&angles)
        .map(|(t, a)| (t - mt) * (a - ma))
        .sum::<f64>()
        / t.iter().map(|t| (t - mt).powi(2)).sum::<f64>();
    let per_day = |rate: f64| rate.to_degrees() * 86_400.0;
    assert!(
        (slope / theory - 1.0).abs() < 0.01,
        "the node moves {:.4}°/day, theory {:.4}°/day",
        per_day(slope),
        per_day(theory)
    );
    // Without J2 the plane stays put (the Moon and Sun move it by millidegrees).
    let mut sim = Sim::new(config(&[("GALAXY_PHYSICS__OBLATENESS", "false")]));
    let ship = sim.spawn(iss_orbit(&sim));
    let start = node(&sim, ship);
    sim.set_time_scale(3_000.0);
    sim.run_for(86_400.0);
    assert!(
        (node(&sim, ship) - start).abs().to_degrees() < 0.05,
        "a point-mass Earth moved the node"
    );
}

/// Flies `slot` for `seconds` at `scale` and gives the ship's position relative to
/// Earth and the game time at the end; the ship turns to prograde and back half
/// way when `turn_midway` (it then takes fine substeps while turning).
fn fly(
    overrides: &[(&str, &str)],
    slot: impl Fn(&Sim) -> OrbitSlot,
    seconds: f64,
    scale: f64,
    turn_midway: bool,
) -> (DVec3, f64) {
    let mut sim = Sim::new(config(overrides));
    let ship = sim.spawn(slot(&sim));
    sim.set_time_scale(scale);
    if turn_midway {
        sim.run_for(seconds / 2.0);
        sim.command(
            ship,
            ShipAction::Controls(Controls::Hold(HoldMode::Prograde)),
        );
        sim.run_for(600.0);
        sim.command(
            ship,
            ShipAction::Controls(Controls::Hold(HoldMode::Stability)),
        );
        sim.run_for(seconds / 2.0 - 600.0);
    } else {
        sim.run_for(seconds);
    }
    (earth_relative(&sim, ship).0, sim.clock().game_time)
}

/// The independent reference: `slot` flown for `seconds` at `scale` with coasting
/// off and leapfrog substeps of `substep` seconds, as [`fly`] gives it.
fn fine(slot: impl Fn(&Sim) -> OrbitSlot, substep: &str, seconds: f64, scale: f64) -> (DVec3, f64) {
    let overrides = [
        ("GALAXY_PHYSICS__COAST", "false"),
        ("GALAXY_PHYSICS__MAX_SUBSTEP_S", substep),
    ];
    fly(&overrides, slot, seconds, scale, false)
}

#[test]
fn coasting_agrees_with_fine_substeps_and_switching_leaves_no_jump() {
    let seconds = 6.0 * 3_600.0;
    let low = |sim: &Sim| iss_orbit(sim);
    // The independent reference: leapfrog at 0.1 s substeps (a few metres off
    // after six hours).
    let (fine, t_fine) = fine(low, "0.1", seconds, 300.0);
    let (coast, t_coast) = fly(&[], low, seconds, 3_000.0, false);
    let (switched, _) = fly(&[], low, seconds, 3_000.0, true);
    assert!((t_fine - t_coast).abs() < 1e-6);
    let error = coast.distance(fine);
    assert!(
        error < 20.0,
        "coasting ends {error:.1} m from fine substeps"
    );
    let jump = switched.distance(fine);
    assert!(
        jump < 20.0,
        "coasting through a turn ends {jump:.1} m from fine substeps"
    );
}

#[test]
fn a_transfer_to_the_moon_coasts_through_the_spheres_of_influence() {
    // A Hohmann-like transfer from 300 km towards the Moon's distance, flown for
    // three days both ways; the reference is leapfrog at 0.05 s substeps (about 4 m
    // off after three days: at 0.25 s it is 106 m off REBOUND's IAS15, coasting 6 cm).
    let transfer = |sim: &Sim| {
        let earth = sim.body("Earth");
        let moon = sim.body("Moon");
        let b = sim.bodies();
        let (center, center_v) = (b.state.positions[earth], b.state.velocities[earth]);
        let mu = b.state.gms[earth];
        let to_moon = b.state.positions[moon] - center;
        let moon_normal = to_moon
            .cross(b.state.velocities[moon] - center_v)
            .normalize();
        // Aim the apogee 150° ahead of where the Moon is now: it covers about 40° in
        // the transfer's 3 days, so the ship meets it near its apogee.
        let apogee_dir =
            DQuat::from_axis_angle(moon_normal, 150f64.to_radians()) * to_moon.normalize();
        let perigee_dir = -apogee_dir;
        let rp = 6.678e6;
        let ra = to_moon.length();
        let speed = (2.0 * mu * ra / (rp * (rp + ra))).sqrt();
        OrbitSlot {
            position: center + perigee_dir * rp,
            velocity: center_v + moon_normal.cross(perigee_dir) * speed,
            attitude: DQuat::IDENTITY,
        }
    };
    let seconds = 3.0 * 86_400.0;
    let (fine, _) = fine(transfer, "0.05", seconds, 10_000.0);
    let (coast, _) = fly(&[], transfer, seconds, 10_000.0, false);
    assert!(fine.length() > 1.0e8, "the transfer left low orbit");
    let error = coast.distance(fine);
    assert!(
        error < 100.0,
        "after three days coasting ends {error:.1} m from fine substeps"
    );
}

/// A ship `height` above Earth's equator at longitude 0, moving with the ground
/// plus `down` m/s towards it, nose up.
fn over_the_equator(sim: &Sim, height: f64, down: f64) -> OrbitSlot {
    let earth = sim.body("Earth");
    let b = sim.bodies();
    let model = b.catalog.rotations[earth];
    let t = sim.clock().game_time;
    let up = model.orientation(t) * DVec3::X;
    let r = up * (b.catalog.radii[earth] + height);
    OrbitSlot {
        position: b.state.positions[earth] + r,
        velocity: b.state.velocities[earth] + model.angular_velocity(t).cross(r) - up * down,
        attitude: DQuat::from_rotation_arc(DVec3::Z, up),
    }
}

#[test]
fn landed_ships_turn_with_the_ground_and_lift_off_with_its_speed() {
    let mut sim = Sim::new(config(&[]));
    let ship = sim.spawn(over_the_equator(&sim, 2.0, 3.0));
    sim.run_for(3.0);
    // It met the turning ground at 3 m/s, not at the 465 m/s the ground moves at.
    let FlightState::Landed { body, offset } = sim.get::<FlightState>(ship) else {
        panic!("a touchdown at 3 m/s over turning ground lands");
    };
    assert_eq!(body, sim.body("Earth"));
    let model = sim.bodies().catalog.rotations[body];
    let fixed = |sim: &Sim| {
        let (r, _) = earth_relative(sim, ship);
        model.orientation(sim.clock().game_time).inverse() * r
    };
    let start = fixed(&sim);
    assert!(start.distance(offset) < 1e-3, "rests where it touched down");
    // Six sidereal hours later it has turned a quarter turn in space, and not moved
    // on the ground.
    let (before, _) = earth_relative(&sim, ship);
    sim.set_time_scale(100.0);
    sim.run_for(86_164.09 / 4.0);
    let (after, velocity) = earth_relative(&sim, ship);
    assert!(fixed(&sim).distance(start) < 1e-3, "slid over the ground");
    let turned = before.angle_between(after).to_degrees();
    assert!(
        (turned - 90.0).abs() < 0.01,
        "turned {turned}° in six hours"
    );
    let ground_speed = velocity.length();
    let equator = model.spin_rate() * sim.bodies().catalog.radii[body];
    assert!(
        (ground_speed - equator).abs() < 1e-6 && (ground_speed - 464.6).abs() < 0.1,
        "moves at {ground_speed} m/s with the equator"
    );
    // Full throttle, nose up (the nose turned with the ground): it climbs and keeps
    // the ground's eastward speed.
    sim.set_time_scale(1.0);
    sim.command(ship, ShipAction::Throttle(1.0));
    sim.run_for(10.0);
    assert_eq!(sim.get::<FlightState>(ship), FlightState::Flying);
    let (r, v) = earth_relative(&sim, ship);
    let up = r.normalize();
    let east = (v - up * v.dot(up)).length();
    assert!(
        (east - equator).abs() < 0.1,
        "lifted off with {east} m/s of horizontal speed"
    );
    assert!(v.dot(up) > 1.0, "climbing at {} m/s", v.dot(up));
}

#[test]
fn an_escape_through_earths_sphere_of_influence_changes_frame_without_a_jump() {
    // A hyperbolic departure from 300 km at 12 km/s leaves Earth's sphere of
    // influence (about 925 000 km) in under three days; coasting carries it in
    // Earth's frame and then in the Sun's. The reference is leapfrog at 0.05 s
    // substeps; with point masses both are within 3 m of REBOUND's IAS15.
    let escape = |sim: &Sim| {
        let (center, center_v) = sim.body_state("Earth");
        let r = DVec3::new(0.0, 0.6, 0.8) * 6.678e6;
        OrbitSlot {
            position: center + r,
            velocity: center_v + DVec3::X * 12_000.0,
            attitude: DQuat::IDENTITY,
        }
    };
    let seconds = 4.0 * 86_400.0;
    let (fine, _) = fine(escape, "0.05", seconds, 10_000.0);
    let mut sim = Sim::new(config(&[]));
    let ship = sim.spawn(escape(&sim));
    sim.set_time_scale(10_000.0);
    sim.run_for(seconds);
    let (coast, _) = earth_relative(&sim, ship);
    let soi = sim.bodies().soi[sim.body("Earth")];
    assert!(coast.length() > soi, "left the sphere of influence");
    sim.tick();
    assert_eq!(
        sim.get::<DominantBody>(ship).0,
        sim.body("Sun"),
        "the Sun holds it now"
    );
    let error = coast.distance(fine);
    assert!(
        error < 100.0,
        "coasting ends {error:.1} m from fine substeps"
    );
}

/// Ticks `sim` at `scale` until `ship` is no longer flying or its dominant body
/// changes, at most `limit` ticks; gives the tick it happened on.
fn tick_until_change(sim: &mut Sim, ship: Entity, scale: f64, limit: u64) -> u64 {
    sim.set_time_scale(scale);
    let bodies = sim.bodies();
    let body = dominant_body(
        sim.get::<Position>(ship).0,
        &bodies.state.positions,
        &bodies.soi,
    );
    for _ in 0..limit {
        sim.tick();
        if sim.get::<FlightState>(ship) != FlightState::Flying
            || sim.get::<DominantBody>(ship).0 != body
        {
            return sim.clock().tick;
        }
    }
    panic!("nothing happened in {limit} ticks");
}

#[test]
fn coasting_finds_impacts_touchdowns_and_frame_changes_where_fine_substeps_do() {
    // Each case flies once coasting and once on 1 s fine substeps only; the event
    // must come on the same tick, and a contact within one fine substep's travel of
    // where the fine path made it.
    let moon_impact = |sim: &Sim| {
        // From 300 km over the Moon, at apoapsis of an orbit whose periapsis is
        // 200 km under the ground: a grazing impact at about 1.7 km/s.
        let moon = sim.body("Moon");
        let (center, center_v) = sim.body_state("Moon");
        let (gm, radius) = (
            sim.bodies().state.gms[moon],
            sim.bodies().catalog.radii[moon],
        );
        let (apo, peri) = (radius + 300e3, radius - 200e3);
        let speed = (2.0 * gm * peri / (apo * (apo + peri))).sqrt();
        let up = DVec3::new(0.2, 0.9, -0.3).normalize();
        OrbitSlot {
            position: center + up * apo,
            velocity: center_v + up.any_orthonormal_vector() * speed,
            attitude: DQuat::IDENTITY,
        }
    };
    let moon_touchdown = |sim: &Sim| {
        // 15 m over the turning ground, at rest on it: down at about 7 m/s.
        let moon = sim.body("Moon");
        let (center, center_v) = sim.body_state("Moon");
        let radius = sim.bodies().catalog.radii[moon];
        let spin = sim.bodies().catalog.rotations[moon].angular_velocity(sim.clock().game_time);
        let up = DVec3::new(-0.5, 0.1, 0.7).normalize();
        let r = up * (radius + 15.0);
        OrbitSlot {
            position: center + r,
            velocity: center_v + spin.cross(r),
            attitude: DQuat::from_rotation_arc(DVec3::Z, up),
        }
    };
    let escape = |sim: &Sim| {
        // Out of Earth's sphere of influence in about three days.
        let (center, center_v) = sim.body_state("Earth");
        OrbitSlot {
            position: center + DVec3::new(0.0, 0.6, 0.8) * 6.678e6,
            velocity: center_v + DVec3::X * 12_000.0,
            attitude: DQuat::IDENTITY,
        }
    };
    type Case<'a> = (&'a str, &'a dyn Fn(&Sim) -> OrbitSlot, f64, u64);
    let cases: [Case; 3] = [
        ("impact", &moon_impact, 10_000.0, 1_000),
        ("touchdown", &moon_touchdown, 30.0, 1_000),
        ("frame change", &escape, 30_000.0, 1_000),
    ];
    for (name, slot, scale, limit) in cases {
        let ends = [true, false].map(|coast| {
            let coast = if coast { "true" } else { "false" };
            let mut sim = Sim::new(config(&[
                ("GALAXY_PHYSICS__COAST", coast),
                ("GALAXY_PHYSICS__MAX_SUBSTEP_S", "1"),
            ]));
            let ship = sim.spawn(slot(&sim));
            let tick = tick_until_change(&mut sim, ship, scale, limit);
            let flight = sim.get::<FlightState>(ship);
            (tick, flight, sim.get::<DominantBody>(ship).0)
        });
        let [
            (coast_tick, coast_flight, coast_body),
            (fine_tick, fine_flight, fine_body),
        ] = ends;
        assert_eq!(coast_tick, fine_tick, "{name}: on another tick");
        assert_eq!(coast_body, fine_body, "{name}: another body");
        match (coast_flight, fine_flight) {
            (FlightState::Flying, FlightState::Flying) => {
                assert_eq!(name, "frame change");
            }
            (
                FlightState::Destroyed { body, offset } | FlightState::Landed { body, offset },
                FlightState::Destroyed {
                    body: fine_at,
                    offset: fine_offset,
                }
                | FlightState::Landed {
                    body: fine_at,
                    offset: fine_offset,
                },
            ) => {
                assert_eq!(
                    std::mem::discriminant(&coast_flight),
                    std::mem::discriminant(&fine_flight),
                    "{name}: {coast_flight:?} coasting, {fine_flight:?} on fine substeps"
                );
                assert_eq!(body, fine_at, "{name}: on another body");
                let apart = offset.distance(fine_offset);
                // One 1 s substep's travel at the contact speed: the Moon's escape
                // speed (2.4 km/s) bounds any fall onto it.
                let substep_travel = 2_400.0;
                assert!(
                    apart < substep_travel,
                    "{name}: contacts {apart:.1} m apart (one substep: {substep_travel:.0} m)"
                );
            }
            other => panic!("{name}: the paths disagree: {other:?}"),
        }
    }
}
