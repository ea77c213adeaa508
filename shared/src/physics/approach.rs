//! Closest approach of two objects coasting about one body: when, how near, and
//! how fast they pass, from their two-body orbits (what a pilot closing on a
//! target reads, and what a "match velocity" node is planned from).

use glam::DVec3;

use super::kepler::drift;

/// Samples over the horizon before the minimum is refined.
const SAMPLES: usize = 96;
/// Golden-section steps in the bracket around the best sample.
const REFINEMENTS: usize = 48;

/// The two objects at their closest within a horizon.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Approach {
    /// Seconds from now.
    pub time: f64,
    /// Separation there (m).
    pub distance: f64,
    /// Position of the second relative to the first there (m).
    pub separation: DVec3,
    /// Velocity of the second relative to the first there (m/s).
    pub relative_velocity: DVec3,
}

/// The closest approach within `horizon` seconds of an object at `r1`, `v1` and one
/// at `r2`, `v2`, both relative to a body of gravitational parameter `mu`.
pub fn closest_approach(
    r1: DVec3,
    v1: DVec3,
    r2: DVec3,
    v2: DVec3,
    mu: f64,
    horizon: f64,
) -> Approach {
    let at = |t: f64| {
        let (p1, w1) = drift(r1, v1, mu, t);
        let (p2, w2) = drift(r2, v2, mu, t);
        Approach {
            time: t,
            distance: p1.distance(p2),
            separation: p2 - p1,
            relative_velocity: w2 - w1,
        }
    };
    let horizon = if horizon.is_finite() {
        horizon.max(0.0)
    } else {
        0.0
    };
    let step = horizon / SAMPLES as f64;
    let mut best = at(0.0);
    for i in 1..=SAMPLES {
        let sample = at(step * i as f64);
        if sample.distance < best.distance {
            best = sample;
        }
    }
    // The minimum lies within a sample of the best one: narrow it down.
    let (mut lo, mut hi) = ((best.time - step).max(0.0), (best.time + step).min(horizon));
    const INVERSE_PHI: f64 = 0.618_033_988_749_894_8;
    for _ in 0..REFINEMENTS {
        let a = hi - (hi - lo) * INVERSE_PHI;
        let b = lo + (hi - lo) * INVERSE_PHI;
        if at(a).distance < at(b).distance {
            hi = b;
        } else {
            lo = a;
        }
    }
    let refined = at(0.5 * (lo + hi));
    if refined.distance < best.distance {
        refined
    } else {
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::physics::orbit::circular_speed;
    use std::f64::consts::TAU;

    const MU: f64 = 3.986_004_418e14;

    #[test]
    fn two_ships_on_crossing_circles_meet_where_their_orbits_cross() {
        // Equal circular orbits 400 km up, one equatorial, one tilted 10°, the
        // second a quarter turn behind on its circle: they reach the shared node
        // (+X) at the same moment, a quarter period from now, and pass there at
        // the speed the tilt gives, 2·v·sin(5°).
        let r = 6.771e6;
        let speed = circular_speed(r, MU);
        let period = TAU * (r.powi(3) / MU).sqrt();
        let tilt = 10f64.to_radians();
        let r1 = DVec3::new(0.0, -r, 0.0);
        let v1 = DVec3::new(speed, 0.0, 0.0);
        let r2 = DVec3::new(0.0, -tilt.cos(), -tilt.sin()) * r;
        let v2 = DVec3::X * speed;
        let approach = closest_approach(r1, v1, r2, v2, MU, period);
        assert!(
            (approach.time - 0.25 * period).abs() < 1.0,
            "met at {} s, not {} s",
            approach.time,
            0.25 * period
        );
        assert!(approach.distance < 10.0, "{} m apart", approach.distance);
        let crossing = 2.0 * speed * (0.5 * tilt).sin();
        assert!(
            (approach.relative_velocity.length() - crossing).abs() < 0.01,
            "{} m/s, not {crossing}",
            approach.relative_velocity.length()
        );
    }

    #[test]
    fn a_ship_ahead_on_the_same_circle_stays_as_near_as_it_is() {
        let r = 7.0e6;
        let speed = circular_speed(r, MU);
        let r1 = DVec3::X * r;
        let v1 = DVec3::Y * speed;
        let angle = 0.001_f64;
        let r2 = DVec3::new(angle.cos(), angle.sin(), 0.0) * r;
        let v2 = DVec3::new(-angle.sin(), angle.cos(), 0.0) * speed;
        let approach = closest_approach(r1, v1, r2, v2, MU, 3_000.0);
        let chord = 2.0 * r * (0.5 * angle).sin();
        assert!(
            (approach.distance - chord).abs() < 1e-3,
            "{}",
            approach.distance
        );
        // The two velocities differ only by the angle between them.
        let turned = 2.0 * speed * (0.5 * angle).sin();
        assert!((approach.relative_velocity.length() - turned).abs() < 1e-6);
        let none = closest_approach(r1, v1, r2, v2, MU, f64::NAN);
        assert_eq!(none.time, 0.0, "no horizon: now");
    }
}
