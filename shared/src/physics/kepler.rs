//! Two-body motion in closed form (universal variables): the drift of the
//! coasting integrator, exact for ellipses, parabolas and hyperbolas alike.
//!
//! Kepler's equation in the universal anomaly χ is solved with the Laguerre–Conway
//! iteration (Conway 1986), which converges from any starting guess where Newton's
//! method can cycle on hyperbolic and near-parabolic orbits.

use glam::DVec3;

/// Stumpff functions `c₂(z) = (1 − cos √z)/z` and `c₃(z) = (√z − sin √z)/√z³`,
/// continued to `z ≤ 0`; series near zero, where the closed forms cancel.
#[inline]
pub(crate) fn stumpff(z: f64) -> (f64, f64) {
    if z.abs() < 0.1 {
        // Σ (−z)ᵏ/(2k+2)! and Σ (−z)ᵏ/(2k+3)!; the next terms are below 1e-20.
        let (mut c2, mut c3) = (0.0, 0.0);
        let (mut t2, mut t3) = (0.5, 1.0 / 6.0);
        for k in 0..8 {
            c2 += t2;
            c3 += t3;
            let k = f64::from(k);
            t2 *= -z / ((2.0 * k + 3.0) * (2.0 * k + 4.0));
            t3 *= -z / ((2.0 * k + 4.0) * (2.0 * k + 5.0));
        }
        (c2, c3)
    } else if z > 0.0 {
        let s = z.sqrt();
        let half = (0.5 * s).sin();
        (2.0 * half * half / z, (s - s.sin()) / (z * s))
    } else {
        let s = (-z).sqrt();
        ((s.cosh() - 1.0) / -z, (s.sinh() - s) / (-z * s))
    }
}

/// Most Laguerre–Conway iterations; a step of a fraction of an orbit needs 2–4.
const MAX_ITERATIONS: usize = 30;

/// State after `dt` seconds of free motion about a point mass `mu` at the origin,
/// from position `r0` and velocity `v0`. Non-finite input comes back unchanged.
pub fn drift(r0: DVec3, v0: DVec3, mu: f64, dt: f64) -> (DVec3, DVec3) {
    let r0n = r0.length();
    if !(dt != 0.0 && r0n > 0.0 && mu > 0.0 && r0n.is_finite() && v0.is_finite()) {
        return (r0, v0);
    }
    let sqrt_mu = mu.sqrt();
    let sigma0 = r0.dot(v0) / sqrt_mu;
    // α = 1/a: positive for ellipses, zero for parabolas, negative for hyperbolas.
    let alpha = 2.0 / r0n - v0.length_squared() / mu;
    let target = sqrt_mu * dt;
    // dχ/dt = √μ / r, so this is exact to first order for any orbit.
    let mut chi = target / r0n;
    let mut radius;
    let (mut c2, mut c3);
    let mut iterations = 0;
    loop {
        let chi2 = chi * chi;
        let z = alpha * chi2;
        (c2, c3) = stumpff(z);
        let f = sigma0 * chi2 * c2 + (1.0 - alpha * r0n) * chi2 * chi * c3 + r0n * chi - target;
        radius = chi2 * c2 + sigma0 * chi * (1.0 - z * c3) + r0n * (1.0 - z * c2);
        let slope = sigma0 * (1.0 - z * c2) + (1.0 - alpha * r0n) * chi * (1.0 - z * c3);
        const N: f64 = 5.0;
        let root = ((N - 1.0) * (N - 1.0) * radius * radius - N * (N - 1.0) * f * slope)
            .abs()
            .sqrt();
        let denominator = radius + radius.signum() * root;
        if denominator == 0.0 || !denominator.is_finite() {
            break;
        }
        let delta = N * f / denominator;
        chi -= delta;
        iterations += 1;
        if delta.abs() <= 1e-15 * chi.abs().max(1e-300) || iterations >= MAX_ITERATIONS {
            let chi2 = chi * chi;
            let z = alpha * chi2;
            (c2, c3) = stumpff(z);
            radius = chi2 * c2 + sigma0 * chi * (1.0 - z * c3) + r0n * (1.0 - z * c2);
            break;
        }
    }
    let chi2 = chi * chi;
    let z = alpha * chi2;
    let f = 1.0 - chi2 * c2 / r0n;
    let g = dt - chi2 * chi * c3 / sqrt_mu;
    let f_dot = sqrt_mu * chi * (z * c3 - 1.0) / (radius * r0n);
    let g_dot = 1.0 - chi2 * c2 / radius;
    (r0 * f + v0 * g, r0 * f_dot + v0 * g_dot)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::TAU;

    const MU: f64 = 3.986_004_418e14;

    fn rk4(r: DVec3, v: DVec3, dt: f64, steps: usize) -> (DVec3, DVec3) {
        let point_mass = |r: DVec3, _| -r * (MU / r.length().powi(3));
        crate::physics::reference::rk4(r, v, point_mass, dt, steps)
    }

    #[test]
    fn an_eccentric_orbit_closes_after_its_period_in_a_few_drifts() {
        let (rp, e) = (7.0e6, 0.7);
        let a = rp / (1.0 - e);
        let r0 = DVec3::new(rp, 0.0, 0.0);
        let v0 = DVec3::new(0.0, (MU * (1.0 + e) / rp).sqrt(), 0.0);
        let period = TAU * (a * a * a / MU).sqrt();
        let (mut r, mut v) = (r0, v0);
        for _ in 0..7 {
            (r, v) = drift(r, v, MU, period / 7.0);
        }
        assert!(r.distance(r0) < 1e-6, "misses by {} m", r.distance(r0));
        assert!(v.distance(v0) < 1e-9, "velocity off by {}", v.distance(v0));
    }

    #[test]
    fn drifts_match_a_fine_numerical_integration_on_every_kind_of_conic() {
        let r0 = DVec3::new(7.0e6, 1.0e6, -5.0e5);
        for speed in [5.0e3, 7.5e3, 10.6e3, 10.7e3, 15.0e3] {
            // Below circular, near circular, near parabolic either side, hyperbolic.
            let v0 = DVec3::new(-1.0e3, speed, 2.0e3);
            for dt in [1.0, 600.0, 5_000.0, -3_000.0] {
                let (r, v) = drift(r0, v0, MU, dt);
                let (re, ve) = rk4(r0, v0, dt, 20_000);
                assert!(
                    r.distance(re) < 1e-3 && v.distance(ve) < 1e-6,
                    "speed {speed}, dt {dt}: off by {} m, {} m/s",
                    r.distance(re),
                    v.distance(ve)
                );
            }
        }
    }

    #[test]
    fn energy_and_angular_momentum_are_kept_and_a_drift_runs_backwards() {
        let r0 = DVec3::new(-4.0e7, 2.0e6, 3.0e6);
        let v0 = DVec3::new(500.0, -2.9e3, 300.0);
        let energy = |r: DVec3, v: DVec3| v.length_squared() / 2.0 - MU / r.length();
        let (r, v) = drift(r0, v0, MU, 123_456.0);
        assert!(((energy(r, v) - energy(r0, v0)) / energy(r0, v0)).abs() < 1e-13);
        let h0 = r0.cross(v0);
        assert!((r.cross(v) - h0).length() < 1e-13 * h0.length());
        let (rb, vb) = drift(r, v, MU, -123_456.0);
        assert!(
            rb.distance(r0) < 1e-4 && vb.distance(v0) < 1e-8,
            "back off by {} m, {} m/s",
            rb.distance(r0),
            vb.distance(v0)
        );
        let bad = DVec3::new(f64::NAN, 0.0, 0.0);
        assert!(
            drift(bad, v0, MU, 10.0).0.x.is_nan(),
            "handed back as it came"
        );
        assert_eq!(drift(r0, v0, MU, 0.0), (r0, v0));
    }
}
