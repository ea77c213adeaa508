//! How bodies turn: IAU WGCCRE rotation models (pole and prime meridian over time).
//!
//! The body-fixed frame has +Z along the north pole and +X through the prime
//! meridian on the equator. Its orientation in the ICRF is
//! `Rz(α₀ + 90°) · Rx(90° − δ₀) · Rz(W)`, with the pole's right ascension α₀ and
//! declination δ₀ drifting linearly per Julian century and the meridian angle W
//! turning linearly per day, as the WGCCRE reports give them.

use glam::{DQuat, DVec3};
use serde::{Deserialize, Serialize};

use crate::units::SECONDS_PER_DAY;

/// Days in a Julian century, the unit of the pole's drift.
const DAYS_PER_CENTURY: f64 = 36_525.0;

/// One body's rotation model, in the units of the WGCCRE tables.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RotationModel {
    /// Right ascension of the north pole at J2000 (deg).
    pub pole_ra_deg: f64,
    /// Its drift (deg per Julian century).
    pub pole_ra_deg_per_century: f64,
    /// Declination of the north pole at J2000 (deg).
    pub pole_dec_deg: f64,
    /// Its drift (deg per Julian century).
    pub pole_dec_deg_per_century: f64,
    /// Prime meridian angle W at J2000 (deg).
    pub meridian_deg: f64,
    /// Its rate (deg per day); negative for a body that turns backwards about its
    /// north pole.
    pub meridian_deg_per_day: f64,
}

impl RotationModel {
    /// Every number finite: what a loaded file must satisfy.
    pub fn is_finite(&self) -> bool {
        [
            self.pole_ra_deg,
            self.pole_ra_deg_per_century,
            self.pole_dec_deg,
            self.pole_dec_deg_per_century,
            self.meridian_deg,
            self.meridian_deg_per_day,
        ]
        .iter()
        .all(|x| x.is_finite())
    }

    fn pole_angles(&self, game_time: f64) -> (f64, f64) {
        let centuries = game_time / SECONDS_PER_DAY / DAYS_PER_CENTURY;
        (
            (self.pole_ra_deg + self.pole_ra_deg_per_century * centuries).to_radians(),
            (self.pole_dec_deg + self.pole_dec_deg_per_century * centuries).to_radians(),
        )
    }

    /// Unit north pole in the ICRF at `game_time` (TDB s since J2000).
    pub fn pole(&self, game_time: f64) -> DVec3 {
        let (ra, dec) = self.pole_angles(game_time);
        DVec3::new(dec.cos() * ra.cos(), dec.cos() * ra.sin(), dec.sin())
    }

    /// Body-fixed to ICRF rotation at `game_time`.
    pub fn orientation(&self, game_time: f64) -> DQuat {
        let (ra, dec) = self.pole_angles(game_time);
        let meridian = (self.meridian_deg
            + self.meridian_deg_per_day * (game_time / SECONDS_PER_DAY))
            .rem_euclid(360.0)
            .to_radians();
        DQuat::from_rotation_z(ra + std::f64::consts::FRAC_PI_2)
            * DQuat::from_rotation_x(std::f64::consts::FRAC_PI_2 - dec)
            * DQuat::from_rotation_z(meridian)
    }

    /// Spin rate (rad/s), signed like the meridian rate.
    pub fn spin_rate(&self) -> f64 {
        self.meridian_deg_per_day.to_radians() / SECONDS_PER_DAY
    }

    /// ICRF angular velocity at `game_time` (rad/s); the pole's drift, a
    /// millionth of the spin, is left out.
    pub fn angular_velocity(&self, game_time: f64) -> DVec3 {
        self.pole(game_time) * self.spin_rate()
    }
}

/// Where a point is over a turning body: planetocentric latitude, east longitude,
/// height over the mean radius, and speed relative to the ground under it.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct SurfaceFix {
    /// Latitude (deg, −90..90).
    pub latitude_deg: f64,
    /// East longitude (deg, −180..180).
    pub longitude_deg: f64,
    /// Height over the mean radius (m).
    pub altitude_m: f64,
    /// Speed relative to the turning surface (m/s).
    pub surface_speed_m_s: f64,
}

/// The fix of a point at `r`, moving at `v` (both relative to the body's centre,
/// ICRF), over a body of `radius` with `orientation` and `angular_velocity`.
pub fn surface_fix(
    r: DVec3,
    v: DVec3,
    radius: f64,
    orientation: DQuat,
    angular_velocity: DVec3,
) -> SurfaceFix {
    let fixed = orientation.inverse() * r;
    let distance = fixed.length();
    let latitude = if distance > 0.0 {
        (fixed.z / distance).clamp(-1.0, 1.0).asin()
    } else {
        0.0
    };
    SurfaceFix {
        latitude_deg: latitude.to_degrees(),
        longitude_deg: fixed.y.atan2(fixed.x).to_degrees(),
        altitude_m: distance - radius,
        surface_speed_m_s: (v - angular_velocity.cross(r)).length(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn earth() -> RotationModel {
        RotationModel {
            pole_ra_deg: 0.0,
            pole_ra_deg_per_century: -0.641,
            pole_dec_deg: 90.0,
            pole_dec_deg_per_century: -0.557,
            meridian_deg: 190.147,
            meridian_deg_per_day: 360.985_623_5,
        }
    }

    #[test]
    fn the_frame_puts_the_pole_on_z_and_turns_about_it() {
        let model = RotationModel {
            pole_ra_deg: 40.0,
            pole_dec_deg: 60.0,
            meridian_deg: 10.0,
            meridian_deg_per_day: 90.0,
            ..RotationModel::default()
        };
        let q = model.orientation(0.0);
        assert!((q * DVec3::Z).distance(model.pole(0.0)) < 1e-15);
        // The prime meridian at W = 0 lies on the ascending node, RA α₀ + 90°.
        let node = RotationModel {
            meridian_deg: 0.0,
            ..model
        }
        .orientation(0.0)
            * DVec3::X;
        let expected = DVec3::new(130f64.to_radians().cos(), 130f64.to_radians().sin(), 0.0);
        assert!(node.distance(expected) < 1e-15, "node {node}");
        // A quarter day later the meridian has turned 22.5° about the pole.
        let later = model.orientation(SECONDS_PER_DAY / 4.0) * DVec3::X;
        let now = q * DVec3::X;
        let angle = now.cross(later).dot(model.pole(0.0)).atan2(now.dot(later));
        assert!((angle.to_degrees() - 22.5).abs() < 1e-9, "turned {angle}");
        // The angular velocity is the derivative of a fixed point's motion.
        let point = DVec3::new(1.0, 2.0, 3.0);
        let dt = 1.0;
        let moved = (model.orientation(dt) * point - model.orientation(-dt) * point) / (2.0 * dt);
        let predicted = model.angular_velocity(0.0).cross(q * point);
        assert!(moved.distance(predicted) < 1e-8 * predicted.length());
    }

    #[test]
    fn earth_turns_once_per_sidereal_day_and_greenwich_meets_the_sun_near_noon() {
        let model = earth();
        let sidereal = 360.0 / model.meridian_deg_per_day * SECONDS_PER_DAY;
        assert!(
            (sidereal - 86_164.09).abs() < 0.01,
            "sidereal day {sidereal} s"
        );
        // At J2000 (12:00 TT on 1 January 2000) Greenwich faces the Sun to within
        // the equation of time and the solar declination: the Sun's RA is about
        // 281.3°, so Greenwich's RA, 190.147° + 90° = 280.1°, lies a degree from it.
        let greenwich = model.orientation(0.0) * DVec3::X;
        let ra = greenwich
            .y
            .atan2(greenwich.x)
            .to_degrees()
            .rem_euclid(360.0);
        assert!((ra - 280.147).abs() < 1e-9, "Greenwich RA {ra}");
    }

    #[test]
    fn a_fix_reads_latitude_longitude_and_ground_speed() {
        let model = earth();
        let q = model.orientation(0.0);
        let omega = model.angular_velocity(0.0);
        let radius = 6.371e6;
        let lat = 51.5f64.to_radians();
        let lon = (-0.12f64).to_radians();
        let fixed = DVec3::new(lat.cos() * lon.cos(), lat.cos() * lon.sin(), lat.sin()) * radius;
        let r = q * fixed;
        // Standing still on the ground: no surface speed, whatever the inertial speed.
        let fix = surface_fix(r, omega.cross(r), radius, q, omega);
        assert!((fix.latitude_deg - 51.5).abs() < 1e-9);
        assert!((fix.longitude_deg + 0.12).abs() < 1e-9);
        assert!(fix.altitude_m.abs() < 1e-6);
        assert!(fix.surface_speed_m_s < 1e-9);
        let inertial = omega.cross(r).length();
        assert!((inertial - 465.1 * lat.cos()).abs() < 0.5, "{inertial} m/s");
        // Still in inertial space, the ground runs under at the same speed.
        let fix = surface_fix(r, DVec3::ZERO, radius, q, omega);
        assert!((fix.surface_speed_m_s - inertial).abs() < 1e-9);
    }
}
