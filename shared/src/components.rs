//! ECS components of bodies and ships, shared by server and client.
//!
//! Each is a small newtype so systems ask only for what they touch, and data that
//! changes every substep (position, velocity) lives apart from data that rarely does.

use bevy_ecs::prelude::*;
use glam::{DQuat, DVec3};
use serde::{Deserialize, Serialize};

/// A celestial body; `index` is its slot in the N-body state.
#[derive(Component, Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[require(Position, Velocity)]
pub struct Body {
    /// Slot of this body in the server's N-body arrays.
    pub index: usize,
}

/// Gravitational parameter GM of a body (m³/s²).
#[derive(Component, Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Gm(pub f64);

/// Mean radius of a body (m): the surface ships land on.
#[derive(Component, Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Radius(pub f64);

/// Barycentric ICRF position (m).
#[derive(Component, Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Position(pub DVec3);

/// Barycentric ICRF velocity (m/s).
#[derive(Component, Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Velocity(pub DVec3);

/// A player's ship.
#[derive(Component, Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[require(
    Position,
    Velocity,
    Attitude,
    AngularVelocity,
    WheelMomentum,
    Fuel,
    Throttle,
    Controls,
    Aim,
    FlightState
)]
pub struct Ship;

/// Body-to-ICRF rotation; the ship's nose and engine axis is body +Z.
#[derive(Component, Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Attitude(pub DQuat);

/// Body-frame angular velocity (rad/s).
#[derive(Component, Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AngularVelocity(pub DVec3);

/// Momentum stored in the reaction wheels, body frame (N·m·s).
#[derive(Component, Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WheelMomentum(pub DVec3);

/// Propellant in the tank (kg), shared by the main engine and the RCS.
#[derive(Component, Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Fuel(pub f64);

/// Main-engine throttle, 0..1.
#[derive(Component, Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Throttle(pub f64);

/// How the pilot steers the ship's rotation.
#[derive(Component, Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Controls {
    /// Direct pitch/yaw/roll commands, each −1..1, as fractions of wheel torque.
    Rates(DVec3),
    /// An autopilot hold mode.
    Hold(HoldMode),
}

impl Default for Controls {
    fn default() -> Self {
        Self::Hold(HoldMode::Stability)
    }
}

/// Attitude hold modes, relative to the dominant body.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum HoldMode {
    /// Kill all rotation.
    Stability,
    /// Nose along the orbital velocity.
    Prograde,
    /// Nose against the orbital velocity.
    Retrograde,
    /// Nose along the orbit normal (r × v).
    Normal,
    /// Nose against the orbit normal.
    AntiNormal,
    /// Nose towards the body's centre.
    RadialIn,
    /// Nose away from the body's centre.
    RadialOut,
    /// Nose on the burn of the node being executed: the burn executor sets it; a
    /// pilot cannot.
    Node,
    /// Nose towards the target.
    Target,
    /// Nose away from the target.
    AntiTarget,
    /// Nose along the velocity relative to the target.
    RelativePrograde,
    /// Nose against the velocity relative to the target.
    RelativeRetrograde,
    /// Nose on the landing autopilot's thrust: the autopilot sets it; a pilot
    /// cannot.
    Land,
}

impl HoldMode {
    /// Whether the mode points the nose at its [`Aim`], which the system that owns
    /// the mode sets once per tick, rather than along the orbit.
    pub fn is_aimed(self) -> bool {
        matches!(
            self,
            Self::Node
                | Self::Target
                | Self::AntiTarget
                | Self::RelativePrograde
                | Self::RelativeRetrograde
                | Self::Land
        )
    }

    /// The ICRF direction the nose should point for a ship at `r`, `v` relative to the
    /// dominant body; `None` for [`HoldMode::Stability`] and the aimed modes.
    pub fn direction(self, r: DVec3, v: DVec3) -> Option<DVec3> {
        let normal = r.cross(v);
        let direction = match self {
            Self::Stability
            | Self::Node
            | Self::Target
            | Self::AntiTarget
            | Self::RelativePrograde
            | Self::RelativeRetrograde
            | Self::Land => return None,
            Self::Prograde => v,
            Self::Retrograde => -v,
            Self::Normal => normal,
            Self::AntiNormal => -normal,
            Self::RadialIn => -r,
            Self::RadialOut => r,
        };
        direction.try_normalize()
    }
}

/// Where the aimed hold modes ([`HoldMode::is_aimed`]) point the nose: an ICRF
/// direction, zero when there is nothing to aim at (the nose then stops turning).
#[derive(Component, Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Aim(pub DVec3);

/// Whether a ship flies, sits on a surface, or is wrecked.
#[derive(Component, Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub enum FlightState {
    /// Free flight under gravity and thrust.
    #[default]
    Flying,
    /// Resting on a body's surface at `offset` from its centre (ICRF, m); it moves
    /// with the body until the engine lifts it.
    Landed {
        /// Slot of the body in the N-body arrays.
        body: usize,
        /// Position relative to the body's centre.
        offset: DVec3,
    },
    /// Hit a surface too fast; the wreck stays where it hit, at `offset` from the
    /// body's centre, until the player resets.
    Destroyed {
        /// Slot of the body in the N-body arrays.
        body: usize,
        /// Position relative to the body's centre.
        offset: DVec3,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hold_directions_follow_the_orbit() {
        let r = DVec3::new(7.0e6, 0.0, 0.0);
        let v = DVec3::new(0.0, 7.5e3, 0.0);
        let cases = [
            (HoldMode::Prograde, DVec3::Y),
            (HoldMode::Retrograde, -DVec3::Y),
            (HoldMode::Normal, DVec3::Z),
            (HoldMode::AntiNormal, -DVec3::Z),
            (HoldMode::RadialIn, -DVec3::X),
            (HoldMode::RadialOut, DVec3::X),
        ];
        for (mode, expected) in cases {
            let direction = mode.direction(r, v).expect("defined for a real orbit");
            assert!(
                direction.distance(expected) < 1e-12,
                "{mode:?} points {direction}"
            );
        }
        assert_eq!(HoldMode::Stability.direction(r, v), None);
        for aimed in [
            HoldMode::Node,
            HoldMode::Target,
            HoldMode::RelativeRetrograde,
            HoldMode::Land,
        ] {
            assert!(aimed.is_aimed());
            assert_eq!(aimed.direction(r, v), None);
        }
        assert!(!HoldMode::Prograde.is_aimed());
    }
}
