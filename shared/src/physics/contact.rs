//! Surface contact: what happens when a ship ends a step below a body's surface.
//!
//! The ground under a ship moves with its body and turns with it, so a touchdown is
//! judged on the speed relative to that moving ground, and the ship is put on the
//! surface at the point straight below it, moving with the ground.

use glam::DVec3;

/// The body a ship may touch, at the moment it is checked.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Ground {
    /// The body's centre (m).
    pub center: DVec3,
    /// The body's velocity (m/s).
    pub velocity: DVec3,
    /// Its angular velocity (rad/s, ICRF).
    pub spin: DVec3,
    /// Its radius (m).
    pub radius: f64,
}

/// A ship that met the ground.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Touchdown {
    /// At or under the landing speed: the ship stands; faster, it is wrecked.
    pub landed: bool,
    /// The point of contact from the body's centre (m, ICRF).
    pub surface: DVec3,
    /// The ground's velocity there (m/s), which the ship now has.
    pub ground_velocity: DVec3,
    /// The speed it met the ground with (m/s).
    pub speed: f64,
}

/// The touchdown of a ship at `position` with `velocity`, when it is below the
/// surface of `ground` and moving into it; `None` when it is above the surface or
/// leaving it (a lift-off in progress).
pub fn touchdown(
    position: DVec3,
    velocity: DVec3,
    ground: &Ground,
    landing_speed: f64,
) -> Option<Touchdown> {
    let from_center = position - ground.center;
    if from_center.length() >= ground.radius {
        return None;
    }
    let outward = from_center.normalize_or_zero();
    let surface = outward * ground.radius;
    let ground_velocity = ground.velocity + ground.spin.cross(surface);
    let relative = velocity - ground_velocity;
    if relative.dot(outward) >= 0.0 {
        return None;
    }
    let speed = relative.length();
    Some(Touchdown {
        landed: speed <= landing_speed,
        surface,
        ground_velocity,
        speed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A turning body like the Moon, off the origin and moving.
    fn moon() -> Ground {
        Ground {
            center: DVec3::new(3.8e8, -1.0e7, 2.0e6),
            velocity: DVec3::new(-100.0, 1_000.0, 30.0),
            spin: DVec3::Z * 2.66e-6,
            radius: 1.7374e6,
        }
    }

    /// A ship `depth` under the surface straight over `up`, moving at `speed`
    /// relative to the turning ground along `direction`.
    fn under(
        ground: &Ground,
        up: DVec3,
        depth: f64,
        direction: DVec3,
        speed: f64,
    ) -> (DVec3, DVec3) {
        let surface = up * ground.radius;
        let ground_velocity = ground.velocity + ground.spin.cross(surface);
        (
            ground.center + up * (ground.radius - depth),
            ground_velocity + direction * speed,
        )
    }

    #[test]
    fn a_slow_touchdown_lands_and_a_fast_one_wrecks_judged_against_the_turning_ground() {
        let ground = moon();
        let up = DVec3::new(1.0, 0.0, 0.0);
        let (position, velocity) = under(&ground, up, 0.3, -up, 8.0);
        let touch = touchdown(position, velocity, &ground, 10.0).expect("a contact");
        assert!(touch.landed);
        assert!((touch.speed - 8.0).abs() < 1e-9);
        assert!(touch.surface.distance(up * ground.radius) < 1e-6);
        // The ground at the equator moves at spin × radius, about 4.6 m/s, plus the body.
        let expected = ground.velocity + DVec3::Y * (2.66e-6 * ground.radius);
        assert!(touch.ground_velocity.distance(expected) < 1e-9);
        let (position, velocity) = under(&ground, up, 0.3, -up, 12.0);
        let crash = touchdown(position, velocity, &ground, 10.0).expect("a contact");
        assert!(!crash.landed, "12 m/s against a 10 m/s limit wrecks");
        // Sliding sideways fast counts too: the speed is the whole relative speed.
        let side = (DVec3::Y - up * 0.01).normalize();
        let (position, velocity) = under(&ground, up, 0.1, side, 50.0);
        assert!(
            !touchdown(position, velocity, &ground, 10.0)
                .expect("a contact")
                .landed
        );
    }

    #[test]
    fn above_the_ground_or_leaving_it_is_no_contact() {
        let ground = moon();
        let up = DVec3::new(0.0, 0.6, 0.8);
        let (position, velocity) = under(&ground, up, -1.0, -up, 5.0);
        assert_eq!(
            touchdown(position, velocity, &ground, 10.0),
            None,
            "a metre up"
        );
        let (position, velocity) = under(&ground, up, 0.5, up, 5.0);
        assert_eq!(
            touchdown(position, velocity, &ground, 10.0),
            None,
            "climbing out: a lift-off"
        );
        // Standing still on the turning ground is not moving into it either.
        let (position, velocity) = under(&ground, up, 0.5, up, 0.0);
        assert_eq!(touchdown(position, velocity, &ground, 10.0), None);
    }
}
