//! Newtonian gravity between point masses, and the Sun's first post-Newtonian term.
//!
//! Masses are given as gravitational parameters GM (m³/s²): they are known far more
//! precisely than G or the masses themselves.

use glam::DVec3;

use crate::units::SPEED_OF_LIGHT;

/// Acceleration at `position` caused by a point mass `gm` at `source`.
#[inline]
pub fn point_acceleration(position: DVec3, source: DVec3, gm: f64) -> DVec3 {
    let d = source - position;
    let r2 = d.length_squared();
    let r = r2.sqrt();
    d * (gm / (r2 * r))
}

/// Acceleration of a test particle (a ship) at `position` from all bodies.
///
/// Ships do not attract bodies or each other, so this is all a ship feels.
#[inline]
pub fn ship_gravity(position: DVec3, body_positions: &[DVec3], body_gms: &[f64]) -> DVec3 {
    body_positions
        .iter()
        .zip(body_gms)
        .fold(DVec3::ZERO, |acc, (&source, &gm)| {
            acc + point_acceleration(position, source, gm)
        })
}

/// Mutual Newtonian accelerations of all bodies, written into `out`.
///
/// Each pair is visited once and both accelerations come from the same distance, so
/// momentum is conserved to rounding.
pub fn body_accelerations(positions: &[DVec3], gms: &[f64], out: &mut [DVec3]) {
    out.fill(DVec3::ZERO);
    for i in 0..positions.len() {
        for j in (i + 1)..positions.len() {
            let d = positions[j] - positions[i];
            let r2 = d.length_squared();
            let inv_r3 = 1.0 / (r2 * r2.sqrt());
            out[i] += d * (gms[j] * inv_r3);
            out[j] -= d * (gms[i] * inv_r3);
        }
    }
}

/// Adds the Sun's first post-Newtonian (Schwarzschild, harmonic gauge) correction to
/// every other body's acceleration, with the Sun recoiling so that momentum is kept.
///
/// For a body at heliocentric `r`, `v`: `a = GM/(c²r³)·[(4GM/r − v²)·r + 4(r·v)·v]`.
/// This is the term behind Mercury's 43″/century and most of the 60–100 km a year by
/// which point masses drift from the JPL ephemerides for the inner planets.
pub fn add_solar_post_newtonian(
    sun: usize,
    positions: &[DVec3],
    velocities: &[DVec3],
    gms: &[f64],
    out: &mut [DVec3],
) {
    let gm_sun = gms[sun];
    let c2 = SPEED_OF_LIGHT * SPEED_OF_LIGHT;
    let mut recoil = DVec3::ZERO;
    for i in 0..positions.len() {
        if i == sun {
            continue;
        }
        let r = positions[i] - positions[sun];
        let v = velocities[i] - velocities[sun];
        let r_len = r.length();
        let a = (r * (4.0 * gm_sun / r_len - v.length_squared()) + v * (4.0 * r.dot(v)))
            * (gm_sun / (c2 * r_len * r_len * r_len));
        out[i] += a;
        recoil -= a * gms[i];
    }
    out[sun] += recoil / gm_sun;
}

/// Total Newtonian energy of the bodies divided by G (m⁵/s²): kinetic minus potential.
///
/// Only ratios of this are meaningful, which is all a drift measurement needs.
pub fn body_energy_over_g(positions: &[DVec3], velocities: &[DVec3], gms: &[f64]) -> f64 {
    let kinetic: f64 = velocities
        .iter()
        .zip(gms)
        .map(|(v, gm)| 0.5 * gm * v.length_squared())
        .sum();
    let mut potential = 0.0;
    for i in 0..positions.len() {
        for j in (i + 1)..positions.len() {
            potential -= gms[i] * gms[j] / positions[i].distance(positions[j]);
        }
    }
    kinetic + potential
}

/// Radius of the sphere of influence (Laplace) of a body of `gm` orbiting a parent of
/// `parent_gm` at `distance`: `r = a·(m/M)^(2/5)`.
pub fn sphere_of_influence(distance: f64, gm: f64, parent_gm: f64) -> f64 {
    distance * (gm / parent_gm).powf(0.4)
}

/// Index of the body whose sphere of influence holds `position`: the smallest sphere
/// that contains it. A body whose radius is infinite (the Sun) always contains it.
pub fn dominant_body(position: DVec3, body_positions: &[DVec3], soi_radii: &[f64]) -> usize {
    let mut best: Option<(usize, f64)> = None;
    for (i, (&center, &radius)) in body_positions.iter().zip(soi_radii).enumerate() {
        let inside = radius.is_infinite() || position.distance_squared(center) < radius * radius;
        if inside && best.is_none_or(|(_, smallest)| radius < smallest) {
            best = Some((i, radius));
        }
    }
    best.map_or(0, |(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GM_SUN: f64 = 1.327_124_400_18e20;
    const GM_EARTH: f64 = 3.986_004_418e14;
    const GM_MOON: f64 = 4.904_869_5e12;
    const AU: f64 = crate::units::ASTRONOMICAL_UNIT;

    #[test]
    fn point_acceleration_is_inverse_square() {
        let near = point_acceleration(DVec3::new(7.0e6, 0.0, 0.0), DVec3::ZERO, GM_EARTH);
        let far = point_acceleration(DVec3::new(14.0e6, 0.0, 0.0), DVec3::ZERO, GM_EARTH);
        assert!((near.length() / far.length() - 4.0).abs() < 1e-12);
        assert!(near.x < 0.0, "gravity must pull towards the source");
        let surface = point_acceleration(DVec3::new(6.371e6, 0.0, 0.0), DVec3::ZERO, GM_EARTH);
        assert!(
            (surface.length() - 9.82).abs() < 0.01,
            "g at Earth's mean radius"
        );
    }

    #[test]
    fn mutual_accelerations_conserve_momentum() {
        let positions = [
            DVec3::ZERO,
            DVec3::new(AU, 0.0, 0.0),
            DVec3::new(AU + 3.844e8, 1.0e7, 0.0),
        ];
        let gms = [GM_SUN, GM_EARTH, GM_MOON];
        let mut acc = [DVec3::ZERO; 3];
        body_accelerations(&positions, &gms, &mut acc);
        let momentum_rate: DVec3 = acc.iter().zip(&gms).map(|(a, gm)| *a * *gm).sum();
        let scale = acc[1].length() * GM_EARTH;
        assert!(momentum_rate.length() / scale < 1e-12);
        let ship = ship_gravity(positions[1] + DVec3::new(0.0, 7.0e6, 0.0), &positions, &gms);
        assert!(ship.length() > 8.0 && ship.length() < 8.2);
    }

    #[test]
    fn post_newtonian_term_gives_mercurys_perihelion_advance() {
        // Two-body Mercury; the orbit-averaged 1PN precession is
        // 6πGM/(c²a(1−e²)) per orbit: about 43″ per century.
        let a = 5.790_905e10;
        let e = 0.205_630;
        let rp = a * (1.0 - e);
        let vp = (GM_SUN * (1.0 + e) / rp).sqrt();
        let expected = 6.0 * std::f64::consts::PI * GM_SUN
            / (SPEED_OF_LIGHT * SPEED_OF_LIGHT * a * (1.0 - e * e));
        let (r, v) = (DVec3::new(rp, 0.0, 0.0), DVec3::new(0.0, vp, 0.0));
        let accel = |r: DVec3, v: DVec3| {
            let mut out = [DVec3::ZERO, DVec3::ZERO];
            body_accelerations(&[DVec3::ZERO, r], &[GM_SUN, 0.0], &mut out);
            add_solar_post_newtonian(
                0,
                &[DVec3::ZERO, r],
                &[DVec3::ZERO, v],
                &[GM_SUN, 0.0],
                &mut out,
            );
            out[1]
        };
        // One orbit with RK4 at a small step, then the Laplace–Runge–Lenz angle.
        let period = 2.0 * std::f64::consts::PI * (a * a * a / GM_SUN).sqrt();
        let (r, v) = super::super::reference::rk4(r, v, accel, period, 200_000);
        let h_vec = r.cross(v);
        let lrl = v.cross(h_vec) / GM_SUN - r.normalize();
        let advance = lrl.y.atan2(lrl.x);
        assert!(
            (advance / expected - 1.0).abs() < 0.05,
            "perihelion advance {advance:e} rad per orbit, expected {expected:e}"
        );
    }

    #[test]
    fn earths_sphere_of_influence_and_dominance() {
        let soi = sphere_of_influence(AU, GM_EARTH, GM_SUN);
        assert!(
            (soi / 9.25e8 - 1.0).abs() < 0.01,
            "Earth SOI ≈ 925 000 km, got {soi}"
        );
        let bodies = [
            DVec3::ZERO,
            DVec3::new(AU, 0.0, 0.0),
            DVec3::new(AU + 3.844e8, 0.0, 0.0),
        ];
        let moon_soi = sphere_of_influence(3.844e8, GM_MOON, GM_EARTH);
        let radii = [f64::INFINITY, soi, moon_soi];
        assert_eq!(
            dominant_body(DVec3::new(AU + 7.0e6, 0.0, 0.0), &bodies, &radii),
            1
        );
        assert_eq!(
            dominant_body(DVec3::new(AU + 3.84e8, 1.0e6, 0.0), &bodies, &radii),
            2
        );
        assert_eq!(
            dominant_body(DVec3::new(AU * 0.5, 0.0, 0.0), &bodies, &radii),
            0
        );
    }
}
