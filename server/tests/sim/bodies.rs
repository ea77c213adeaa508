//! The bodies against physics: published sidereal periods and energy conservation.

use std::f64::consts::TAU;

use galaxy_server::ephemeris::load_bodies;
use galaxy_shared::units::SECONDS_PER_DAY;
use glam::DVec3;

use crate::harness::config;

/// Sidereal orbital periods in days (NASA planetary fact sheets).
const SIDEREAL_PERIODS: [(&str, f64); 5] = [
    ("Mercury", 87.969),
    ("Venus", 224.701),
    ("Earth", 365.256),
    ("Mars", 686.980),
    ("Jupiter", 4_332.589),
];

#[test]
fn planets_complete_one_revolution_in_their_sidereal_period() {
    let config = config(&[]);
    let (bodies, _) = load_bodies(&config).expect("ephemeris loads");
    let sun = bodies.catalog.index_of("Sun").expect("Sun");
    let step = 3_600.0;
    for (name, period_days) in SIDEREAL_PERIODS {
        let planet = bodies.catalog.index_of(name).expect("planet");
        let mut state = bodies.clone();
        let heliocentric = |s: &galaxy_server::ephemeris::Bodies| {
            (
                s.state.positions[planet] - s.state.positions[sun],
                s.state.velocities[planet] - s.state.velocities[sun],
            )
        };
        let (r0, v0) = heliocentric(&state);
        let normal = r0.cross(v0).normalize();
        // Sweep the angle in the orbit plane until it passes a full turn.
        let (mut swept, mut previous, mut t) = (0.0, r0, 0.0);
        let angle = |a: DVec3, b: DVec3| a.cross(b).dot(normal).atan2(a.dot(b));
        loop {
            state.state.step(state.integrator, step);
            t += step;
            let (r, _) = heliocentric(&state);
            let delta = angle(previous, r);
            if swept + delta >= TAU {
                let fraction = (TAU - swept) / delta;
                t -= step * (1.0 - fraction);
                break;
            }
            swept += delta;
            previous = r;
        }
        let measured = t / SECONDS_PER_DAY;
        let error = (measured / period_days - 1.0).abs();
        assert!(
            error < 2e-3,
            "{name}: one revolution took {measured:.3} d, sidereal period is {period_days} d"
        );
    }
}

#[test]
fn body_energy_and_momentum_are_conserved_for_a_decade() {
    let config = config(&[("GALAXY_PHYSICS__RELATIVITY", "false")]);
    let (mut bodies, _) = load_bodies(&config).expect("ephemeris loads");
    let e0 = bodies.state.energy_over_g();
    let momentum = |b: &galaxy_server::ephemeris::Bodies| -> DVec3 {
        b.state
            .velocities
            .iter()
            .zip(&b.state.gms)
            .map(|(v, gm)| *v * *gm)
            .sum()
    };
    let p0 = momentum(&bodies);
    bodies.propagate(10.0 * 365.25 * SECONDS_PER_DAY, config.physics.body_step_s);
    let drift = ((bodies.state.energy_over_g() - e0) / e0).abs();
    assert!(
        drift < 1e-10,
        "relative energy drift {drift:e} over 10 years"
    );
    let scale: f64 = bodies
        .state
        .velocities
        .iter()
        .zip(&bodies.state.gms)
        .map(|(v, gm)| v.length() * gm)
        .sum();
    let dp = (momentum(&bodies) - p0).length() / scale;
    assert!(dp < 1e-13, "relative momentum change {dp:e}");
}
