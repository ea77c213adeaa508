//! Osculating Keplerian elements of a state relative to a central body.

use glam::DVec3;
use serde::{Deserialize, Serialize};
use std::f64::consts::TAU;

/// Classical orbital elements with the derived quantities the HUD shows.
///
/// Angles are radians in the frame of the input vectors (ICRF). For open orbits
/// (e ≥ 1) the semi-major axis is negative or infinite and the period and apoapsis
/// are infinite.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrbitalElements {
    /// Semi-major axis a (m); negative for hyperbolas.
    pub semi_major_axis: f64,
    /// Eccentricity e.
    pub eccentricity: f64,
    /// Inclination i to the frame's XY plane.
    pub inclination: f64,
    /// Longitude of the ascending node Ω.
    pub ascending_node: f64,
    /// Argument of periapsis ω.
    pub argument_of_periapsis: f64,
    /// True anomaly ν.
    pub true_anomaly: f64,
    /// Periapsis distance from the centre (m).
    pub periapsis: f64,
    /// Apoapsis distance from the centre (m); infinite for open orbits.
    pub apoapsis: f64,
    /// Orbital period (s); infinite for open orbits.
    pub period: f64,
}

/// Below this, an eccentricity or inclination is treated as zero and the undefined
/// angle is folded into the next one, as is conventional.
const SMALL: f64 = 1e-11;

impl OrbitalElements {
    /// Elements of relative position `r` and velocity `v` about a centre of `mu` (GM).
    pub fn from_state(r: DVec3, v: DVec3, mu: f64) -> Self {
        let h = r.cross(v);
        let r_len = r.length();
        let node = DVec3::Z.cross(h);
        let e_vec = v.cross(h) / mu - r / r_len;
        let e = e_vec.length();
        let energy = 0.5 * v.length_squared() - mu / r_len;
        let p = h.length_squared() / mu;
        let semi_major_axis = if (e - 1.0).abs() < SMALL {
            f64::INFINITY
        } else {
            -mu / (2.0 * energy)
        };
        let inclination = (h.z / h.length()).clamp(-1.0, 1.0).acos();
        let node_len = node.length();
        let equatorial = node_len < SMALL * h.length();
        let circular = e < SMALL;

        let ascending_node = if equatorial {
            0.0
        } else {
            wrap(node.y.atan2(node.x))
        };
        let argument_of_periapsis = match (circular, equatorial) {
            (true, _) => 0.0,
            (false, true) => wrap(e_vec.y.atan2(e_vec.x) * h.z.signum()),
            (false, false) => angle_between(node, e_vec, h),
        };
        let true_anomaly = match (circular, equatorial) {
            (false, _) => angle_between(e_vec, r, h),
            (true, false) => angle_between(node, r, h),
            (true, true) => wrap(r.y.atan2(r.x) * h.z.signum()),
        };
        let periapsis = p / (1.0 + e);
        let (apoapsis, period) = if e < 1.0 {
            (p / (1.0 - e), TAU * (semi_major_axis.powi(3) / mu).sqrt())
        } else {
            (f64::INFINITY, f64::INFINITY)
        };
        Self {
            semi_major_axis,
            eccentricity: e,
            inclination,
            ascending_node,
            argument_of_periapsis,
            true_anomaly,
            periapsis,
            apoapsis,
            period,
        }
    }
}

/// Angle from `a` to `b` measured positively about `normal`, in [0, 2π).
fn angle_between(a: DVec3, b: DVec3, normal: DVec3) -> f64 {
    let angle = a.cross(b).dot(normal.normalize()).atan2(a.dot(b));
    wrap(angle)
}

fn wrap(angle: f64) -> f64 {
    let wrapped = angle.rem_euclid(TAU);
    // rem_euclid of a tiny negative angle rounds up to exactly 2π.
    if wrapped >= TAU { 0.0 } else { wrapped }
}

/// Speed of a circular orbit of radius `r` about `mu`.
pub fn circular_speed(r: f64, mu: f64) -> f64 {
    (mu / r).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MU: f64 = 3.986_004_418e14;

    /// State from elements by the textbook perifocal rotation, to check the inverse.
    fn state_from(a: f64, e: f64, i: f64, raan: f64, argp: f64, nu: f64) -> (DVec3, DVec3) {
        let p = a * (1.0 - e * e);
        let r_pf = DVec3::new(nu.cos(), nu.sin(), 0.0) * (p / (1.0 + e * nu.cos()));
        let v_pf = DVec3::new(-nu.sin(), e + nu.cos(), 0.0) * (MU / p).sqrt();
        let rot = glam::DQuat::from_rotation_z(raan)
            * glam::DQuat::from_rotation_x(i)
            * glam::DQuat::from_rotation_z(argp);
        (rot * r_pf, rot * v_pf)
    }

    #[test]
    fn elements_round_trip_through_a_state() {
        let (a, e, i, raan, argp, nu) = (2.4e7, 0.35, 0.9, 1.2, 2.1, 0.7);
        let (r, v) = state_from(a, e, i, raan, argp, nu);
        let el = OrbitalElements::from_state(r, v, MU);
        assert!((el.semi_major_axis / a - 1.0).abs() < 1e-12);
        assert!((el.eccentricity - e).abs() < 1e-12);
        assert!((el.inclination - i).abs() < 1e-12);
        assert!((el.ascending_node - raan).abs() < 1e-12);
        assert!((el.argument_of_periapsis - argp).abs() < 1e-12);
        assert!((el.true_anomaly - nu).abs() < 1e-12);
        assert!((el.periapsis / (a * (1.0 - e)) - 1.0).abs() < 1e-12);
        assert!((el.apoapsis / (a * (1.0 + e)) - 1.0).abs() < 1e-12);
        let kepler = TAU * (a.powi(3) / MU).sqrt();
        assert!((el.period / kepler - 1.0).abs() < 1e-12);
    }

    #[test]
    fn circular_equatorial_orbit_has_equal_apsides() {
        let r = 6.771e6;
        let el = OrbitalElements::from_state(
            DVec3::new(r, 0.0, 0.0),
            DVec3::new(0.0, circular_speed(r, MU), 0.0),
            MU,
        );
        assert!(el.eccentricity < 1e-12);
        assert!((el.apoapsis - el.periapsis).abs() < 1e-3);
        assert!(
            (el.period - 5_544.0).abs() < 5.0,
            "400 km orbit is ~92.4 min"
        );
    }

    #[test]
    fn escape_orbit_is_open() {
        let r = 7.0e6;
        let v = (2.0 * MU / r).sqrt() * 1.1;
        let el = OrbitalElements::from_state(DVec3::new(r, 0.0, 0.0), DVec3::new(0.0, v, 0.0), MU);
        assert!(el.eccentricity > 1.0);
        assert!(el.semi_major_axis < 0.0);
        assert!(el.apoapsis.is_infinite() && el.period.is_infinite());
        assert!((el.periapsis - r).abs() < 1e-3);
    }
}
