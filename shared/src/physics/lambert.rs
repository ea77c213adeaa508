//! Lambert's problem: the two-body arc that leaves one point and reaches another a
//! given time later, what a transfer planner asks for every cell of a porkchop plot.
//!
//! Solved in universal variables (Bate, Mueller & White 1971, §5.3; the form of
//! Curtis, *Orbital Mechanics for Engineering Students*, Algorithm 5.2): the time of
//! flight rises monotonically with `z = χ²/a` on a single revolution, so bisection on
//! `z` brackets the root for ellipses, parabolas and hyperbolas alike and cannot
//! diverge. Multi-revolution arcs are not solved: a transfer of more than one
//! revolution is a matter of phasing, which the planner's departure grid covers.

use std::f64::consts::TAU;

use glam::DVec3;

use super::kepler::stumpff;

/// Bisection steps: enough to pin `z` to the last bit from any bracket used here.
const ITERATIONS: usize = 200;
/// Upper end of `z` on a single revolution (`χ²/a = (2π)²` is a whole orbit).
const Z_MAX: f64 = TAU * TAU;

/// The arc's velocities at its two ends.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LambertArc {
    /// Velocity leaving `r1` (relative to the body).
    pub departure: DVec3,
    /// Velocity arriving at `r2`.
    pub arrival: DVec3,
}

/// The arc from `r1` to `r2` (relative to a body of gravitational parameter `mu`)
/// taking `time` seconds, going round the body in the sense of `normal` (the
/// transfer's angular momentum points to the same side of the plane of `r1` and `r2`
/// as `normal`): a prograde transfer passes the ship's orbit normal. `None` for
/// non-finite input, a non-positive time, or ends that define no plane (collinear
/// with the body).
pub fn solve(r1: DVec3, r2: DVec3, time: f64, mu: f64, normal: DVec3) -> Option<LambertArc> {
    let (n1, n2) = (r1.length(), r2.length());
    if !(time > 0.0 && mu > 0.0 && n1 > 0.0 && n2 > 0.0 && r1.is_finite() && r2.is_finite())
        || !(time.is_finite() && normal.is_finite())
    {
        return None;
    }
    let cross = r1.cross(r2);
    if cross.length() <= 1e-12 * n1 * n2 {
        return None;
    }
    let cos_angle = (r1.dot(r2) / (n1 * n2)).clamp(-1.0, 1.0);
    let short = cos_angle.acos();
    let angle = if cross.dot(normal) >= 0.0 {
        short
    } else {
        TAU - short
    };
    let a = angle.sin() * (n1 * n2 / (1.0 - cos_angle)).sqrt();
    let y = |z: f64| {
        let (c, s) = stumpff(z);
        n1 + n2 + a * (z * s - 1.0) / c.sqrt()
    };
    let sqrt_mu = mu.sqrt();
    // √μ·(time of flight) at `z`; where y < 0 no arc exists and the time is −∞.
    let flight = |z: f64| {
        let yz = y(z);
        if yz < 0.0 {
            return f64::NEG_INFINITY;
        }
        let (c, s) = stumpff(z);
        (yz / c).powf(1.5) * s + a * yz.sqrt()
    };
    let target = sqrt_mu * time;
    // Lower end: hyperbolic enough to be faster than asked.
    let mut low = -4.0 * Z_MAX;
    while flight(low) > target {
        low *= 2.0;
        if low < -1e9 {
            return None;
        }
    }
    let mut high = Z_MAX * (1.0 - 1e-12);
    if flight(high) < target {
        return None;
    }
    for _ in 0..ITERATIONS {
        let mid = 0.5 * (low + high);
        if mid == low || mid == high {
            break;
        }
        if flight(mid) < target {
            low = mid;
        } else {
            high = mid;
        }
    }
    let yz = y(0.5 * (low + high));
    let f = 1.0 - yz / n1;
    let g = a * (yz / mu).sqrt();
    let g_dot = 1.0 - yz / n2;
    if g == 0.0 || !g.is_finite() {
        return None;
    }
    Some(LambertArc {
        departure: (r2 - f * r1) / g,
        arrival: (g_dot * r2 - r1) / g,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::physics::kepler::drift;

    const KM: f64 = 1e3;

    fn km(x: f64, y: f64, z: f64) -> DVec3 {
        DVec3::new(x, y, z) * KM
    }

    /// Curtis, *Orbital Mechanics for Engineering Students* (3rd ed.), Example 5.2:
    /// μ = 398 600 km³/s², one hour, prograde.
    #[test]
    fn curtis_example_5_2() {
        let mu = 398_600.0 * KM.powi(3);
        let r1 = km(5_000.0, 10_000.0, 2_100.0);
        let r2 = km(-14_600.0, 2_500.0, 7_000.0);
        let arc = solve(r1, r2, 3_600.0, mu, DVec3::Z).expect("an arc");
        let v1 = km(-5.9925, 1.9254, 3.2456);
        let v2 = km(-3.3125, -4.1966, -0.38529);
        // The book prints five figures.
        assert!(arc.departure.distance(v1) < 0.1, "{}", arc.departure / KM);
        assert!(arc.arrival.distance(v2) < 0.1, "{}", arc.arrival / KM);
    }

    /// Vallado, *Fundamentals of Astrodynamics and Applications* (4th ed.),
    /// Example 7-5: 76 minutes, the short way.
    #[test]
    fn vallado_example_7_5() {
        let mu = 398_600.441_8 * KM.powi(3);
        let r1 = km(15_945.34, 0.0, 0.0);
        let r2 = km(12_214.838_99, 10_249.467_31, 0.0);
        let arc = solve(r1, r2, 76.0 * 60.0, mu, DVec3::Z).expect("an arc");
        let v1 = km(2.058_913, 2.915_965, 0.0);
        let v2 = km(-3.451_565, 0.910_315, 0.0);
        assert!(arc.departure.distance(v1) < 0.01, "{}", arc.departure / KM);
        assert!(arc.arrival.distance(v2) < 0.01, "{}", arc.arrival / KM);
    }

    /// Whatever the geometry, the arc flown by the Kepler propagator for the time
    /// asked arrives at `r2` with the arrival velocity: short and long ways,
    /// ellipses and hyperbolas, near-half turns.
    #[test]
    fn the_arc_flown_by_kepler_arrives_where_and_when_asked() {
        let mu = 3.986_004_418e14;
        let r1 = DVec3::new(7.0e6, 0.0, 0.0);
        let cases = [
            (DVec3::new(0.0, 4.2e7, 1.0e6), 20_000.0, DVec3::Z),
            (DVec3::new(0.0, 4.2e7, 1.0e6), 20_000.0, -DVec3::Z),
            (DVec3::new(-3.8e8, 1.0e6, 3.0e7), 3.0 * 86_400.0, DVec3::Z),
            (DVec3::new(-1.0e7, 5.0e6, 0.0), 600.0, DVec3::Z),
            (DVec3::new(-7.1e6, 1.0e4, 0.0), 2_900.0, DVec3::Z),
        ];
        for (r2, time, normal) in cases {
            let arc = solve(r1, r2, time, mu, normal).expect("an arc");
            let (end, velocity) = drift(r1, arc.departure, mu, time);
            assert!(end.distance(r2) < 1e-6 * r2.length(), "{r2} {time}: {end}");
            assert!(velocity.distance(arc.arrival) < 1e-6 * velocity.length());
            let h = r1.cross(arc.departure);
            assert!(h.dot(normal) > 0.0, "goes round the asked way");
        }
    }

    #[test]
    fn impossible_asks_have_no_arc() {
        let mu = 3.986_004_418e14;
        let r1 = DVec3::X * 7.0e6;
        assert_eq!(
            solve(r1, r1 * 2.0, 1_000.0, mu, DVec3::Z),
            None,
            "collinear"
        );
        assert_eq!(solve(r1, DVec3::Y * 7.0e6, 0.0, mu, DVec3::Z), None);
        assert_eq!(solve(r1, DVec3::Y * f64::NAN, 10.0, mu, DVec3::Z), None);
    }
}
