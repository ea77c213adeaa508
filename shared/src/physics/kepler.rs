//! Two-body motion in closed form (universal variables): the drift of the
//! coasting integrator, exact for ellipses, parabolas and hyperbolas alike.
//!
//! Kepler's equation in the universal anomaly χ is solved with the Laguerre–Conway
//! iteration (Conway 1986), which converges from any starting guess where Newton's
//! method can cycle on hyperbolic and near-parabolic orbits.

use glam::DVec3;

use super::lanes::{LANES, Lane, LaneVec};

/// Stumpff functions `c₂(z) = (1 − cos √z)/z` and `c₃(z) = (√z − sin √z)/√z³`,
/// continued to `z ≤ 0`; series near zero, where the closed forms cancel.
#[inline]
pub(crate) fn stumpff(z: f64) -> (f64, f64) {
    if z.abs() < 0.1 {
        // Σ (−z)ᵏ/(2k+2)! and Σ (−z)ᵏ/(2k+3)! to k = 7 (the next terms are below
        // 1e-20) by Estrin's scheme, whose products do not wait on each other as
        // Horner's do. A coasting step's drifts land here: a fraction of an orbit.
        let (z2, z4) = (z * z, z * z * (z * z));
        (estrin(&SERIES_C2, z, z2, z4), estrin(&SERIES_C3, z, z2, z4))
    } else if z > 0.0 {
        let s = z.sqrt();
        let half = (0.5 * s).sin();
        (2.0 * half * half / z, (s - s.sin()) / (z * s))
    } else {
        let s = (-z).sqrt();
        ((s.cosh() - 1.0) / -z, (s.sinh() - s) / (-z * s))
    }
}

/// `Σ cₖ zᵏ` for k < 8, given z² and z⁴.
#[inline(always)]
fn estrin(c: &[f64; 8], z: f64, z2: f64, z4: f64) -> f64 {
    let low = (c[0] + c[1] * z) + (c[2] + c[3] * z) * z2;
    let high = (c[4] + c[5] * z) + (c[6] + c[7] * z) * z2;
    low + high * z4
}

/// The coefficients of `c₂`'s series: `(−1)ᵏ/(2k+2)!`.
const SERIES_C2: [f64; 8] = [
    1.0 / 2.0,
    -1.0 / 24.0,
    1.0 / 720.0,
    -1.0 / 40_320.0,
    1.0 / 3_628_800.0,
    -1.0 / 479_001_600.0,
    1.0 / 87_178_291_200.0,
    -1.0 / 20_922_789_888_000.0,
];

/// The coefficients of `c₃`'s series: `(−1)ᵏ/(2k+3)!`.
const SERIES_C3: [f64; 8] = [
    1.0 / 6.0,
    -1.0 / 120.0,
    1.0 / 5_040.0,
    -1.0 / 362_880.0,
    1.0 / 39_916_800.0,
    -1.0 / 6_227_020_800.0,
    1.0 / 1_307_674_368_000.0,
    -1.0 / 355_687_428_096_000.0,
];

/// Most Laguerre–Conway iterations; a step of a fraction of an orbit needs 2–4.
const MAX_ITERATIONS: usize = 30;

/// Relative size of a Laguerre–Conway correction after which χ is exact to rounding.
const CONVERGED: f64 = 1e-6;

/// State after `dt` seconds of free motion about a point mass `mu` at the origin,
/// from position `r0` and velocity `v0`. Non-finite input comes back unchanged.
pub fn drift(r0: DVec3, v0: DVec3, mu: f64, dt: f64) -> (DVec3, DVec3) {
    let r0n = r0.length();
    if !(dt != 0.0 && r0n > 0.0 && mu > 0.0 && r0n.is_finite() && v0.is_finite()) {
        return (r0, v0);
    }
    let sqrt_mu = mu.sqrt();
    // Reciprocals once: divisions are the slowest operations on the path.
    let (inv_r0, inv_sqrt_mu) = (1.0 / r0n, 1.0 / sqrt_mu);
    let v2 = v0.length_squared();
    let sigma0 = r0.dot(v0) * inv_sqrt_mu;
    // α = 1/a: positive for ellipses, zero for parabolas, negative for hyperbolas.
    let alpha = 2.0 * inv_r0 - v2 * (inv_sqrt_mu * inv_sqrt_mu);
    let target = sqrt_mu * dt;
    // χ's Taylor series in time to third order (dχ/dt = √μ/r, and r's derivatives
    // from r·v and the energy): a drift of a fraction of an orbit then starts within
    // about 1e-8 of its root and converges in one step. For longer drifts (many
    // orbits) the series is no guide, and the first-order term alone starts it.
    let first = target * inv_r0;
    let radial_speed = sigma0 * sqrt_mu * inv_r0;
    let w = radial_speed * dt * inv_r0;
    let q = (v2 - mu * inv_r0 - radial_speed * radial_speed) * (dt * inv_r0) * (dt * inv_r0);
    let mut chi = if w.abs() < 0.5 && q.abs() < 0.5 {
        first * (1.0 - 0.5 * w - (q - 2.0 * w * w) / 6.0)
    } else {
        first
    };
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
        let denominator = if radius < 0.0 {
            radius - root
        } else {
            radius + root
        };
        if denominator == 0.0 || !denominator.is_finite() {
            break;
        }
        let delta = N * f / denominator;
        chi -= delta;
        iterations += 1;
        // The iteration converges cubically, so after a correction this small
        // the next one would be below rounding.
        if delta.abs() <= CONVERGED * chi.abs().max(1e-300) || iterations >= MAX_ITERATIONS {
            let chi2 = chi * chi;
            let z = alpha * chi2;
            (c2, c3) = stumpff(z);
            radius = chi2 * c2 + sigma0 * chi * (1.0 - z * c3) + r0n * (1.0 - z * c2);
            break;
        }
    }
    let chi2 = chi * chi;
    let z = alpha * chi2;
    let inv_radius = 1.0 / radius;
    let f = 1.0 - chi2 * c2 * inv_r0;
    let g = dt - chi2 * chi * c3 * inv_sqrt_mu;
    let f_dot = sqrt_mu * chi * (z * c3 - 1.0) * (inv_radius * inv_r0);
    let g_dot = 1.0 - chi2 * c2 * inv_radius;
    (r0 * f + v0 * g, r0 * f_dot + v0 * g_dot)
}

/// [`drift`] for up to [`LANES`] ships at once, each lane with its own centre and
/// time (a lane with `dt` 0 stays where it is): the same arithmetic in the same
/// order, compiled for the widest vector instructions this CPU has, so every lane
/// comes out bit for bit as [`drift`] gives it. A lane the series does not cover
/// (a drift of a large part of an orbit, or input that is not finite) is handed
/// to [`drift`] itself.
pub fn drift_lanes(r: &mut LaneVec, v: &mut LaneVec, mu: &Lane, dt: &Lane) {
    let lanes = DriftLanes { r, v, mu, dt };
    // The browser build stays free of wasm SIMD (it cannot be detected at run
    // time there, and the client needs a lane at a time): plain code.
    #[cfg(target_arch = "wasm32")]
    let scalar = pulp::WithSimd::with_simd(lanes, pulp::Scalar::new());
    #[cfg(not(target_arch = "wasm32"))]
    let scalar = pulp::Arch::new().dispatch(lanes);
    for lane in (0..LANES).filter(|&lane| scalar[lane]) {
        let (r1, v1) = drift(r.get(lane), v.get(lane), mu[lane], dt[lane]);
        r.set(lane, r1);
        v.set(lane, v1);
    }
}

/// One value per lane.
#[inline(always)]
fn each(f: impl Fn(usize) -> f64) -> Lane {
    std::array::from_fn(f)
}

/// The work of [`drift_lanes`]; gives the lanes it left to [`drift`].
struct DriftLanes<'a> {
    r: &'a mut LaneVec,
    v: &'a mut LaneVec,
    mu: &'a Lane,
    dt: &'a Lane,
}

impl pulp::WithSimd for DriftLanes<'_> {
    type Output = [bool; LANES];

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) -> [bool; LANES] {
        // Written lane by lane over fixed arrays: compiled inside pulp's dispatch,
        // the loops become vector instructions.
        let Self { r, v, mu, dt } = self;
        let r0n = each(|i| r.get(i).length());
        let v2 = each(|i| v.get(i).length_squared());
        let rv = each(|i| r.get(i).dot(v.get(i)));
        let valid: [bool; LANES] = std::array::from_fn(|i| {
            dt[i] != 0.0
                && r0n[i] > 0.0
                && mu[i] > 0.0
                && r0n[i].is_finite()
                && v.get(i).is_finite()
        });
        let sqrt_mu = each(|i| mu[i].sqrt());
        let inv_r0 = each(|i| 1.0 / r0n[i]);
        let inv_sqrt_mu = each(|i| 1.0 / sqrt_mu[i]);
        let sigma0 = each(|i| rv[i] * inv_sqrt_mu[i]);
        let alpha = each(|i| 2.0 * inv_r0[i] - v2[i] * (inv_sqrt_mu[i] * inv_sqrt_mu[i]));
        let target = each(|i| sqrt_mu[i] * dt[i]);
        let mut chi = each(|i| {
            let first = target[i] * inv_r0[i];
            let radial_speed = sigma0[i] * sqrt_mu[i] * inv_r0[i];
            let w = radial_speed * dt[i] * inv_r0[i];
            let q = (v2[i] - mu[i] * inv_r0[i] - radial_speed * radial_speed)
                * (dt[i] * inv_r0[i])
                * (dt[i] * inv_r0[i]);
            if w.abs() < 0.5 && q.abs() < 0.5 {
                first * (1.0 - 0.5 * w - (q - 2.0 * w * w) / 6.0)
            } else {
                first
            }
        });
        let mut scalar: [bool; LANES] = std::array::from_fn(|i| !valid[i]);
        let mut active = valid;
        let mut again = [false; LANES];
        let (mut c2, mut c3, mut radius) = ([0.0; LANES], [0.0; LANES], [0.0; LANES]);
        let mut iterations = 0;
        while active.iter().any(|&a| a) {
            let chi2 = each(|i| chi[i] * chi[i]);
            let z = each(|i| alpha[i] * chi2[i]);
            for i in 0..LANES {
                scalar[i] |= active[i] && z[i].abs() >= 0.1;
            }
            let (z2, z4) = (each(|i| z[i] * z[i]), each(|i| z[i] * z[i] * (z[i] * z[i])));
            let s2 = each(|i| estrin(&SERIES_C2, z[i], z2[i], z4[i]));
            let s3 = each(|i| estrin(&SERIES_C3, z[i], z2[i], z4[i]));
            let f = each(|i| {
                sigma0[i] * chi2[i] * s2[i]
                    + (1.0 - alpha[i] * r0n[i]) * chi2[i] * chi[i] * s3[i]
                    + r0n[i] * chi[i]
                    - target[i]
            });
            let rad = each(|i| {
                chi2[i] * s2[i]
                    + sigma0[i] * chi[i] * (1.0 - z[i] * s3[i])
                    + r0n[i] * (1.0 - z[i] * s2[i])
            });
            let slope = each(|i| {
                sigma0[i] * (1.0 - z[i] * s2[i])
                    + (1.0 - alpha[i] * r0n[i]) * chi[i] * (1.0 - z[i] * s3[i])
            });
            const N: f64 = 5.0;
            let denominator = each(|i| {
                let root = ((N - 1.0) * (N - 1.0) * rad[i] * rad[i]
                    - N * (N - 1.0) * f[i] * slope[i])
                    .abs()
                    .sqrt();
                if rad[i] < 0.0 {
                    rad[i] - root
                } else {
                    rad[i] + root
                }
            });
            iterations += 1;
            for i in 0..LANES {
                if !active[i] {
                    continue;
                }
                (c2[i], c3[i], radius[i]) = (s2[i], s3[i], rad[i]);
                if denominator[i] == 0.0 || !denominator[i].is_finite() {
                    active[i] = false;
                    continue;
                }
                let delta = N * f[i] / denominator[i];
                chi[i] -= delta;
                if delta.abs() <= CONVERGED * chi[i].abs().max(1e-300)
                    || iterations >= MAX_ITERATIONS
                {
                    active[i] = false;
                    again[i] = true;
                }
            }
        }
        let chi2 = each(|i| chi[i] * chi[i]);
        let z = each(|i| alpha[i] * chi2[i]);
        for i in (0..LANES).filter(|&i| again[i]) {
            scalar[i] |= z[i].abs() >= 0.1;
            let (z2, z4) = (z[i] * z[i], z[i] * z[i] * (z[i] * z[i]));
            (c2[i], c3[i]) = (
                estrin(&SERIES_C2, z[i], z2, z4),
                estrin(&SERIES_C3, z[i], z2, z4),
            );
            radius[i] = chi2[i] * c2[i]
                + sigma0[i] * chi[i] * (1.0 - z[i] * c3[i])
                + r0n[i] * (1.0 - z[i] * c2[i]);
        }
        for i in (0..LANES).filter(|&i| !scalar[i]) {
            let inv_radius = 1.0 / radius[i];
            let f = 1.0 - chi2[i] * c2[i] * inv_r0[i];
            let g = dt[i] - chi2[i] * chi[i] * c3[i] * inv_sqrt_mu[i];
            let f_dot = sqrt_mu[i] * chi[i] * (z[i] * c3[i] - 1.0) * (inv_radius * inv_r0[i]);
            let g_dot = 1.0 - chi2[i] * c2[i] * inv_radius;
            let (r0, v0) = (r.get(i), v.get(i));
            r.set(i, r0 * f + v0 * g);
            v.set(i, r0 * f_dot + v0 * g_dot);
        }
        scalar
    }
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
    fn the_series_meets_the_closed_forms_where_it_hands_over() {
        for z in [0.099_999, -0.099_999, 0.05, -0.05] {
            let (c2, c3) = stumpff(z);
            let (c2_closed, c3_closed) = if z > 0.0 {
                let s = f64::sqrt(z);
                ((1.0 - s.cos()) / z, (s - s.sin()) / (z * s))
            } else {
                let s = f64::sqrt(-z);
                ((s.cosh() - 1.0) / -z, (s.sinh() - s) / (-z * s))
            };
            // The closed forms lose about |log₁₀ z| digits to cancellation here.
            assert!(
                (c2 - c2_closed).abs() < 1e-13,
                "c₂({z}): {c2} against {c2_closed}"
            );
            assert!(
                (c3 - c3_closed).abs() < 1e-13,
                "c₃({z}): {c3} against {c3_closed}"
            );
        }
        assert_eq!(stumpff(0.0), (0.5, 1.0 / 6.0));
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
    fn drifts_in_lanes_are_the_one_ship_drifts_bit_for_bit() {
        let mut r = LaneVec::default();
        let mut v = LaneVec::default();
        let mut mu = [MU; LANES];
        let mut dt = [0.0; LANES];
        let cases = [
            // (position, velocity, time): short and long, every kind of conic,
            // standing still, and input the series cannot take.
            (
                DVec3::new(6.8e6, 1.0e5, -2.0e5),
                DVec3::new(-10.0, 7.6e3, 1.0e3),
                37.0,
            ),
            (
                DVec3::new(7.0e6, 1.0e6, -5.0e5),
                DVec3::new(-1.0e3, 10.7e3, 2.0e3),
                129.0,
            ),
            (
                DVec3::new(4.2e7, 0.0, 0.0),
                DVec3::new(0.0, 3.07e3, 0.0),
                600.0,
            ),
            (
                DVec3::new(-4.0e7, 2.0e6, 3.0e6),
                DVec3::new(500.0, -2.9e3, 300.0),
                123_456.0,
            ),
            (
                DVec3::new(6.7e6, 0.0, 0.0),
                DVec3::new(0.0, 15.0e3, 0.0),
                -300.0,
            ),
            (
                DVec3::new(6.7e6, 0.0, 0.0),
                DVec3::new(0.0, 7.7e3, 0.0),
                0.0,
            ),
            (
                DVec3::new(f64::NAN, 0.0, 0.0),
                DVec3::new(0.0, 7.7e3, 0.0),
                10.0,
            ),
            (
                DVec3::new(3.8e8, 1.0e7, 0.0),
                DVec3::new(-200.0, 900.0, 10.0),
                5_000.0,
            ),
        ];
        for (lane, &(r0, v0, t)) in cases.iter().enumerate() {
            r.set(lane, r0);
            v.set(lane, v0);
            dt[lane] = t;
        }
        mu[7] = 4.9e12;
        drift_lanes(&mut r, &mut v, &mu, &dt);
        for (lane, &(r0, v0, t)) in cases.iter().enumerate() {
            let (r1, v1) = drift(r0, v0, mu[lane], t);
            let same = |a: DVec3, b: DVec3| {
                a.to_array().map(f64::to_bits) == b.to_array().map(f64::to_bits)
            };
            assert!(
                same(r.get(lane), r1) && same(v.get(lane), v1),
                "lane {lane}"
            );
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
