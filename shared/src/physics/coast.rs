//! Coasting flight: exact Kepler arcs about the dominant body, with everything else
//! (the other bodies' pull, the dominant body's own acceleration, its J2) applied
//! as kicks between them.
//!
//! The scheme is Laskar & Robutel's SABAC₃ (Celest. Mech. 80, 2001): the kicks sit
//! at the three Gauss–Legendre nodes of the step, so the error is `O(εh⁶ + ε²h²)`
//! for a perturbation of relative size ε, and a corrector kick at each end removes
//! the `ε²h²` term of the strongest perturbation, J2 (ε ≈ 10⁻³ in low orbit). A
//! low Earth orbit at eight steps per revolution ends a day within metres of an
//! exact solution, where 1 s leapfrog steps end hundreds of metres off.

use glam::DVec3;

use super::kepler::{drift, drift_lanes};
use super::lanes::{LANES, Lane, LaneVec};

/// First drift: the first Gauss–Legendre node, `1/2 − √15/10`.
const C1: f64 = 0.5 - 0.387_298_334_620_741_7;
/// Middle drifts: the spacing of the nodes, `√15/10`.
const C2: f64 = 0.387_298_334_620_741_7;
/// Outer kicks: the outer Gauss weights, `5/18`.
const D1: f64 = 5.0 / 18.0;
/// Middle kick: the middle Gauss weight, `8/18`.
const D2: f64 = 8.0 / 18.0;
/// Corrector coefficient of SABA₃, `(54 − 13√15)/648`.
const G: f64 = (54.0 - 13.0 * 3.872_983_346_207_417) / 648.0;

/// The drifts before each kick, and the kicks' weights, as fractions of the step.
const DRIFTS: [f64; 3] = [C1, C2, C2];
const KICKS: [f64; 3] = [D1, D2, D1];

/// Fractions of the step at which the three kicks act.
pub const KICK_NODES: [f64; 3] = [C1, 0.5, C1 + 2.0 * C2];

/// One coasting step of `h` seconds relative to a body of gravitational parameter
/// `mu`: `perturbation(fraction, r)` is the non-Keplerian acceleration at relative
/// position `r`, `fraction` of the way through the step; `corrector(r)` is `(∇a)·a`
/// of the perturbation the corrector removes (see the module docs).
pub fn step(
    r: &mut DVec3,
    v: &mut DVec3,
    mu: f64,
    h: f64,
    mut perturbation: impl FnMut(f64, DVec3) -> DVec3,
    corrector: impl Fn(DVec3) -> DVec3,
) {
    let correct = G * h * h * h;
    *v += corrector(*r) * correct;
    for ((&c, &d), &node) in DRIFTS.iter().zip(&KICKS).zip(&KICK_NODES) {
        (*r, *v) = drift(*r, *v, mu, c * h);
        *v += perturbation(node, *r) * (d * h);
    }
    (*r, *v) = drift(*r, *v, mu, C1 * h);
    *v += corrector(*r) * correct;
}

/// [`step`] for up to [`LANES`] ships at once, each with its own centre (`mu`) and
/// step (`h`; 0 leaves a lane as it is): the same sequence with the drifts in vector
/// lanes ([`drift_lanes`]) and the kicks ship by ship (`perturbation(lane,
/// fraction, r)`, `corrector(lane, r)`). Every lane comes out as [`step`] alone
/// would give it, bit for bit. A lone ship is cheaper with [`step`].
#[inline]
pub fn step_lanes(
    r: &mut LaneVec,
    v: &mut LaneVec,
    mu: &Lane,
    h: &Lane,
    mut perturbation: impl FnMut(usize, f64, DVec3) -> DVec3,
    corrector: impl Fn(usize, DVec3) -> DVec3,
) {
    let moving = || (0..LANES).filter(|&lane| h[lane] != 0.0);
    let correct: Lane = std::array::from_fn(|lane| G * h[lane] * h[lane] * h[lane]);
    let correct_lanes = |r: &LaneVec, v: &mut LaneVec| {
        for lane in moving() {
            v.set(
                lane,
                v.get(lane) + corrector(lane, r.get(lane)) * correct[lane],
            );
        }
    };
    correct_lanes(r, v);
    for ((&c, &d), &node) in DRIFTS.iter().zip(&KICKS).zip(&KICK_NODES) {
        drift_lanes(r, v, mu, &h.map(|h| c * h));
        for lane in moving() {
            let kick = perturbation(lane, node, r.get(lane)) * (d * h[lane]);
            v.set(lane, v.get(lane) + kick);
        }
    }
    drift_lanes(r, v, mu, &h.map(|h| C1 * h));
    correct_lanes(r, v);
}

/// The longest coasting step (s) for a ship at `r`, `v` about `mu` under a
/// non-Keplerian acceleration `perturbation` (without the corrected J2):
/// `steps_per_orbit` steps per local period `2π√(r³/μ)`, shortened on a pass faster
/// than circular by `(v_circular/v)²` (a hyperbola's perigee kick error would grow
/// without bound) and where the perturbation is no longer small, since its `ε²h²`
/// error is not corrected.
pub fn longest_step(r: DVec3, v: DVec3, mu: f64, perturbation: DVec3, steps_per_orbit: f64) -> f64 {
    let r2 = r.length_squared();
    let fast = (mu / (r2.sqrt() * v.length_squared().max(1e-18))).min(1.0);
    let dynamical = (r2 * r2.sqrt() / mu).sqrt() * fast;
    let epsilon = perturbation.length() * r2 / mu;
    let damping = (PERTURBATION_SCALE / epsilon.max(PERTURBATION_SCALE)).sqrt();
    std::f64::consts::TAU * dynamical / steps_per_orbit * damping
}

/// Relative perturbation up to which steps keep their full length: a transfer
/// orbit's Moon pull where Earth still dominates.
const PERTURBATION_SCALE: f64 = 1e-3;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::physics::oblateness::{j2_acceleration, j2_acceleration_derivative};
    use std::f64::consts::TAU;

    const MU: f64 = 3.986_004_418e14;
    const J2_R2: f64 = 1.082_63e-3 * 6.378_137e6 * 6.378_137e6;

    fn j2(r: DVec3) -> DVec3 {
        j2_acceleration(r, DVec3::Z, MU, J2_R2)
    }

    fn corrector(r: DVec3) -> DVec3 {
        j2_acceleration_derivative(r, j2(r), DVec3::Z, MU, J2_R2)
    }

    /// A J2 orbit integrated by a different method: RK4 on the full force, tiny steps.
    fn reference(r: DVec3, v: DVec3, t: f64, steps: usize) -> DVec3 {
        let a = |r: DVec3, _| -r * (MU / r.length().powi(3)) + j2(r);
        crate::physics::reference::rk4(r, v, a, t, steps).0
    }

    fn coast(r0: DVec3, v0: DVec3, t: f64, steps: usize, corrected: bool) -> DVec3 {
        let (mut r, mut v) = (r0, v0);
        let h = t / steps as f64;
        for _ in 0..steps {
            step(
                &mut r,
                &mut v,
                MU,
                h,
                |_, r| j2(r),
                |r| {
                    if corrected { corrector(r) } else { DVec3::ZERO }
                },
            );
        }
        r
    }

    #[test]
    fn a_low_orbit_with_j2_stays_within_metres_of_rk4_at_eight_steps_per_orbit() {
        let radius = 6.771e6;
        let inclination = 51.6f64.to_radians();
        let speed = (MU / radius).sqrt();
        let r0 = DVec3::new(radius, 0.0, 0.0);
        let v0 = DVec3::new(0.0, speed * inclination.cos(), speed * inclination.sin());
        let period = TAU * (radius.powi(3) / MU).sqrt();
        let day = 86_400.0;
        let truth = reference(r0, v0, day, 400_000);
        let steps = (day / period * 8.0).round() as usize;
        let corrected = coast(r0, v0, day, steps, true).distance(truth);
        let plain = coast(r0, v0, day, steps, false).distance(truth);
        assert!(corrected < 5.0, "SABAC3 ends the day {corrected} m off");
        assert!(
            plain > 5.0 * corrected,
            "the corrector must matter: {plain} m without, {corrected} m with"
        );
    }

    #[test]
    fn the_error_falls_with_the_step_at_high_order() {
        let r0 = DVec3::new(7.0e6, 0.0, 1.0e6);
        let v0 = DVec3::new(0.0, 7.3e3, 1.5e3);
        let t = 20_000.0;
        let truth = reference(r0, v0, t, 200_000);
        let coarse = coast(r0, v0, t, 20, true).distance(truth);
        let fine = coast(r0, v0, t, 40, true).distance(truth);
        // Halving the step cuts the error by far more than a second-order scheme's 4.
        assert!(coarse / fine > 6.0, "{coarse} m → {fine} m");
    }

    #[test]
    fn steps_in_lanes_are_the_one_ship_steps_bit_for_bit() {
        let mut r = LaneVec::default();
        let mut v = LaneVec::default();
        let mut h = [0.0; LANES];
        for (lane, h) in h.iter_mut().enumerate().take(6) {
            let f = lane as f64;
            r.set(lane, DVec3::new(6.8e6 + 1.0e6 * f, 2.0e5 * f, -1.0e5));
            v.set(lane, DVec3::new(-30.0 * f, 7.6e3 - 200.0 * f, 900.0));
            *h = 60.0 + 250.0 * f;
        }
        let (r0, v0) = (r, v);
        step_lanes(
            &mut r,
            &mut v,
            &[MU; LANES],
            &h,
            |_, _, r| j2(r),
            |_, r| corrector(r),
        );
        for (lane, &h) in h.iter().enumerate() {
            let (mut r1, mut v1) = (r0.get(lane), v0.get(lane));
            if h != 0.0 {
                step(&mut r1, &mut v1, MU, h, |_, r| j2(r), corrector);
            }
            let bits = |a: DVec3| a.to_array().map(f64::to_bits);
            assert_eq!(bits(r.get(lane)), bits(r1), "lane {lane}");
            assert_eq!(bits(v.get(lane)), bits(v1), "lane {lane}");
        }
    }

    #[test]
    fn steps_follow_the_orbit_and_shrink_under_strong_perturbations() {
        let r = DVec3::new(6.771e6, 0.0, 0.0);
        let period = TAU * (6.771e6f64.powi(3) / MU).sqrt();
        let circular = DVec3::Y * (MU / r.length()).sqrt();
        let quiet = longest_step(r, circular, MU, DVec3::splat(1e-6), 8.0);
        assert!((quiet - period / 8.0).abs() < 1e-6);
        let g = MU / r.length_squared();
        let strong = longest_step(r, circular, MU, DVec3::X * (0.1 * g), 8.0);
        assert!((strong / quiet - 0.1).abs() < 1e-9);
        // Twice circular speed: a quarter of the step.
        let fast = longest_step(r, circular * 2.0, MU, DVec3::splat(1e-6), 8.0);
        assert!((fast / quiet - 0.25).abs() < 1e-9);
    }
}
