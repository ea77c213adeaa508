//! A body's flattening as its J2 zonal harmonic: the term behind nodal precession
//! and sun-synchronous orbits.
//!
//! With the potential `Φ = −μ/r · [1 − J2 (R/r)² P₂(sin φ)]`, the extra
//! acceleration at `r` from the centre, with `z = r·p` along the unit pole `p`, is
//! `a = k · [(5z²/r² − 1) r − 2z p]`, `k = (3/2) J2 μ R² / r⁵`.

use glam::DVec3;
use serde::{Deserialize, Serialize};

/// A body's J2 and the radius it is normalised to.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Oblateness {
    /// The unnormalised second zonal harmonic J2.
    pub j2: f64,
    /// Reference (equatorial) radius of `j2` (m).
    pub reference_radius_m: f64,
}

impl Oblateness {
    /// Finite, non-negative J2 on a positive radius: what a loaded file must hold.
    pub fn is_valid(&self) -> bool {
        self.j2.is_finite()
            && self.j2 >= 0.0
            && self.reference_radius_m.is_finite()
            && self.reference_radius_m > 0.0
    }

    /// `J2 · R²` (m²), the only combination the acceleration needs.
    pub fn j2_r2(&self) -> f64 {
        self.j2 * self.reference_radius_m * self.reference_radius_m
    }
}

/// J2 acceleration at `r` from the body's centre, for `mu` = GM, `j2_r2` = J2·R²
/// and unit `pole`.
#[inline]
pub fn j2_acceleration(r: DVec3, pole: DVec3, mu: f64, j2_r2: f64) -> DVec3 {
    let r2 = r.length_squared();
    let z = r.dot(pole);
    let k = 1.5 * j2_r2 * mu / (r2 * r2 * r2.sqrt());
    (r * (5.0 * z * z / r2 - 1.0) - pole * (2.0 * z)) * k
}

/// The derivative of [`j2_acceleration`] along `u`: `(∇a)·u`, exact.
///
/// The coasting integrator's corrector needs it along the acceleration itself.
#[inline]
pub fn j2_acceleration_derivative(r: DVec3, u: DVec3, pole: DVec3, mu: f64, j2_r2: f64) -> DVec3 {
    let r2 = r.length_squared();
    let z = r.dot(pole);
    let ru = r.dot(u);
    let uz = u.dot(pole);
    let k = 1.5 * j2_r2 * mu / (r2 * r2 * r2.sqrt());
    let f = 5.0 * z * z / r2;
    let dk = -5.0 * k * ru / r2;
    let df = 10.0 * z / r2 * (uz - z * ru / r2);
    (r * (f - 1.0) - pole * (2.0 * z)) * dk + (r * df + u * (f - 1.0) - pole * (2.0 * uz)) * k
}

#[cfg(test)]
mod tests {
    use super::*;

    const MU: f64 = 3.986_004_418e14;
    const J2_R2: f64 = 1.082_63e-3 * 6.378_137e6 * 6.378_137e6;

    fn potential(r: DVec3, pole: DVec3) -> f64 {
        // The J2 part of Φ: (μ J2 R² / 2r³)(3 sin²φ − 1).
        let rn = r.length();
        let s = r.dot(pole) / rn;
        MU * J2_R2 / (2.0 * rn * rn * rn) * (3.0 * s * s - 1.0)
    }

    #[test]
    fn the_acceleration_is_minus_the_gradient_of_the_j2_potential() {
        let pole = DVec3::new(0.3, -0.2, 0.9).normalize();
        for r in [
            DVec3::new(6.8e6, 1.0e5, 2.0e5),
            DVec3::new(1.0e6, -3.0e6, 6.0e6),
            DVec3::new(-2.0e7, 3.0e7, -1.0e7),
        ] {
            let h = 1.0;
            let gradient = DVec3::new(
                potential(r + DVec3::X * h, pole) - potential(r - DVec3::X * h, pole),
                potential(r + DVec3::Y * h, pole) - potential(r - DVec3::Y * h, pole),
                potential(r + DVec3::Z * h, pole) - potential(r - DVec3::Z * h, pole),
            ) / (2.0 * h);
            let a = j2_acceleration(r, pole, MU, J2_R2);
            assert!(
                (a + gradient).length() < 1e-6 * a.length(),
                "at {r}: {a} against {}",
                -gradient
            );
        }
        // Over the equator J2 pulls inward, 1.5·J2·(R/r)² of gravity.
        let r = DVec3::new(7.0e6, 0.0, 0.0);
        let a = j2_acceleration(r, DVec3::Z, MU, J2_R2);
        let expected = 1.5 * J2_R2 / (7.0e6 * 7.0e6) * MU / (7.0e6 * 7.0e6);
        assert!((a.x + expected).abs() < 1e-12 * expected && a.y == 0.0 && a.z == 0.0);
    }

    #[test]
    fn the_derivative_matches_differences_of_the_acceleration() {
        let pole = DVec3::new(-0.1, 0.4, 0.8).normalize();
        let r = DVec3::new(5.0e6, -4.0e6, 3.0e6);
        let u = DVec3::new(0.3, 0.7, -0.2);
        let h = 10.0;
        let numeric = (j2_acceleration(r + u * h, pole, MU, J2_R2)
            - j2_acceleration(r - u * h, pole, MU, J2_R2))
            / (2.0 * h);
        let exact = j2_acceleration_derivative(r, u, pole, MU, J2_R2);
        assert!(
            (exact - numeric).length() < 1e-8 * numeric.length(),
            "{exact} against {numeric}"
        );
    }
}
