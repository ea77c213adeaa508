//! Rigid-body rotation of a ship with reaction wheels and RCS, and the controller
//! behind the hold modes.
//!
//! Angular velocity, wheel momentum and torques are in the ship's body frame
//! (+Z forward, the engine's thrust axis); the attitude quaternion rotates body to ICRF.

use glam::{DQuat, DVec3};
use serde::{Deserialize, Serialize};

/// Actuator limits of a ship's attitude control.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct AttitudeSpec {
    /// Maximum reaction-wheel torque per axis (N·m).
    pub wheel_torque: f64,
    /// Momentum each wheel can store (N·m·s).
    pub wheel_capacity: f64,
    /// Maximum RCS torque per axis (N·m).
    pub rcs_torque: f64,
    /// RCS exhaust velocity (m/s).
    pub rcs_exhaust_velocity: f64,
    /// Lever arm of the RCS couples about each body axis (m): a couple of total thrust
    /// F at arm d gives torque F·d.
    pub rcs_lever: DVec3,
    /// Fastest rotation the controller commands (rad/s).
    pub max_rate: f64,
}

/// What the pilot or a hold mode asks of the rotation this substep.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RotationGoal {
    /// Direct control: fractions −1..1 of wheel torque per body axis.
    Torque(DVec3),
    /// Reach and keep this body-frame angular velocity.
    Rate(DVec3),
    /// Turn the nose (+Z) to this ICRF direction and hold it there.
    Point(DVec3),
}

/// The rotational state of one ship.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RotationState {
    /// Body-to-ICRF rotation.
    pub attitude: DQuat,
    /// Body-frame angular velocity (rad/s).
    pub angular_velocity: DVec3,
    /// Momentum stored in the wheels (N·m·s), body frame.
    pub wheel_momentum: DVec3,
}

/// Torques used in one substep, for telemetry and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Actuation {
    /// Torque the wheels put on the hull (N·m).
    pub wheels: DVec3,
    /// Torque the RCS put on the hull (N·m).
    pub rcs: DVec3,
    /// RCS propellant burned (kg).
    pub fuel_used: f64,
}

/// Time constant (s) with which the controller closes a rate error.
const RESPONSE_TIME: f64 = 1.0;
/// Fraction of the wheels' angular acceleration the pointing controller plans to brake
/// with, leaving margin for the gyroscopic terms.
const BRAKING_MARGIN: f64 = 0.8;
/// Wheel unloading starts above this fraction of capacity while a goal is held.
const UNLOAD_THRESHOLD: f64 = 0.1;
/// Wheel unloading rate (1/s) and the share of RCS torque it may use.
const UNLOAD_GAIN: f64 = 0.05;
const UNLOAD_RCS_SHARE: f64 = 0.25;
/// RCS commands below this fraction of their limit are not fired (deadband).
const RCS_DEADBAND: f64 = 1e-3;
/// Fastest the hull may spin (rad/s), about one turn in six seconds. A held rotation
/// command (or a hostile one) would otherwise spin the hull up without end, and the
/// explicit gyroscopic term at a one-second substep grows a fast spin until it
/// overflows to NaN.
pub const MAX_SPIN_RATE: f64 = 1.0;
/// Body rates below this (rad/s) count as stopped when the goal is to stop: a
/// drift of half a degree a day, and a ship that stops turning can coast.
const REST_RATE: f64 = 1e-7;

/// Principal moments of inertia of a solid cylinder along +Z (kg·m²).
pub fn cylinder_inertia(mass: f64, radius: f64, length: f64) -> DVec3 {
    let transverse = mass * (3.0 * radius * radius + length * length) / 12.0;
    DVec3::new(transverse, transverse, 0.5 * mass * radius * radius)
}

/// The nose direction (+Z body axis) in ICRF.
pub fn forward(attitude: DQuat) -> DVec3 {
    attitude * DVec3::Z
}

/// Angle (rad) between the nose and `target`.
pub fn pointing_error(attitude: DQuat, target: DVec3) -> f64 {
    forward(attitude).angle_between(target)
}

/// Advances the rotation by `dt`, spending at most `fuel` kg of RCS propellant.
pub fn step_rotation(
    state: &mut RotationState,
    goal: RotationGoal,
    inertia: DVec3,
    spec: &AttitudeSpec,
    fuel: f64,
    dt: f64,
) -> Actuation {
    let w = state.angular_velocity;
    let gyroscopic = w.cross(inertia * w + state.wheel_momentum);
    let (demand, holding) = match goal {
        RotationGoal::Torque(fraction) => (
            fraction.clamp(-DVec3::ONE, DVec3::ONE) * spec.wheel_torque,
            false,
        ),
        RotationGoal::Rate(rate) => (rate_demand(rate, w, inertia, dt) + gyroscopic, true),
        RotationGoal::Point(target) => {
            let rate = pointing_rate(state.attitude, target, inertia, spec);
            (rate_demand(rate, w, inertia, dt) + gyroscopic, true)
        }
    };
    let unload = if holding && fuel > 0.0 {
        unloading_torque(state.wheel_momentum, spec)
    } else {
        DVec3::ZERO
    };
    let actuation = split_torque(
        demand - unload,
        unload,
        state.wheel_momentum,
        spec,
        fuel,
        dt,
    );
    let net = actuation.wheels + actuation.rcs - gyroscopic;
    state.angular_velocity =
        (state.angular_velocity + net / inertia * dt).clamp_length_max(MAX_SPIN_RATE);
    if goal == RotationGoal::Rate(DVec3::ZERO) && state.angular_velocity.length() < REST_RATE {
        state.angular_velocity = DVec3::ZERO;
    }
    state.wheel_momentum -= actuation.wheels * dt;
    let turn = DQuat::from_scaled_axis(state.angular_velocity * dt);
    state.attitude = (state.attitude * turn).normalize();
    actuation
}

/// Whether [`step_rotation`] towards `goal` would change nothing: the ship is still,
/// nothing turns it and no wheel needs unloading (with `fuel` left to do it).
pub fn at_rest(state: &RotationState, goal: RotationGoal, spec: &AttitudeSpec, fuel: f64) -> bool {
    state.angular_velocity == DVec3::ZERO
        && match goal {
            RotationGoal::Torque(fraction) => fraction == DVec3::ZERO,
            RotationGoal::Rate(rate) => {
                rate == DVec3::ZERO
                    && (fuel <= 0.0 || unloading_torque(state.wheel_momentum, spec) == DVec3::ZERO)
            }
            RotationGoal::Point(_) => false,
        }
}

/// Torque that moves `current` towards `target` rate within the response time.
fn rate_demand(target: DVec3, current: DVec3, inertia: DVec3, dt: f64) -> DVec3 {
    inertia * (target - current) / RESPONSE_TIME.max(dt)
}

/// Body rate that turns the nose onto `target` as fast as the wheels can stop it.
fn pointing_rate(attitude: DQuat, target: DVec3, inertia: DVec3, spec: &AttitudeSpec) -> DVec3 {
    let Some(target) = target.try_normalize() else {
        return DVec3::ZERO;
    };
    let nose = forward(attitude);
    let angle = nose.angle_between(target);
    if angle < 1e-9 {
        return DVec3::ZERO;
    }
    let axis_world = nose
        .cross(target)
        .try_normalize()
        .unwrap_or_else(|| nose.any_orthonormal_vector());
    let axis = attitude.inverse() * axis_world;
    let alpha = spec.wheel_torque / inertia.x.max(inertia.y);
    let speed = (2.0 * BRAKING_MARGIN * alpha * angle)
        .sqrt()
        .min(angle / RESPONSE_TIME)
        .min(spec.max_rate);
    axis * speed
}

/// RCS torque on the hull that bleeds wheel momentum; the wheels cancel it.
fn unloading_torque(wheel_momentum: DVec3, spec: &AttitudeSpec) -> DVec3 {
    let limit = spec.rcs_torque * UNLOAD_RCS_SHARE;
    let excess = DVec3::select(
        wheel_momentum
            .abs()
            .cmpgt(DVec3::splat(UNLOAD_THRESHOLD * spec.wheel_capacity)),
        wheel_momentum,
        DVec3::ZERO,
    );
    (-excess * UNLOAD_GAIN).clamp(-DVec3::splat(limit), DVec3::splat(limit))
}

/// Wheels take `wheel_demand` up to their torque and momentum limits; the RCS takes
/// `rcs_demand` plus whatever the wheels could not, within its torque and the fuel.
fn split_torque(
    wheel_demand: DVec3,
    rcs_demand: DVec3,
    momentum: DVec3,
    spec: &AttitudeSpec,
    fuel: f64,
    dt: f64,
) -> Actuation {
    // The hull gains τ while the wheels lose τ·dt of stored momentum.
    let capacity = DVec3::splat(spec.wheel_capacity);
    let low = ((momentum - capacity) / dt).max(DVec3::splat(-spec.wheel_torque));
    let high = ((momentum + capacity) / dt).min(DVec3::splat(spec.wheel_torque));
    let wheels = wheel_demand.clamp(low.min(DVec3::ZERO), high.max(DVec3::ZERO));
    let limit = DVec3::splat(spec.rcs_torque);
    let mut rcs = (rcs_demand + wheel_demand - wheels).clamp(-limit, limit);
    rcs = DVec3::select(rcs.abs().cmplt(limit * RCS_DEADBAND), DVec3::ZERO, rcs);
    let thrust = (rcs.abs() / spec.rcs_lever).element_sum();
    let mut fuel_used = thrust / spec.rcs_exhaust_velocity * dt;
    if fuel_used > fuel {
        rcs *= if fuel_used > 0.0 {
            fuel / fuel_used
        } else {
            0.0
        };
        fuel_used = fuel.max(0.0);
    }
    Actuation {
        wheels,
        rcs,
        fuel_used,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> AttitudeSpec {
        AttitudeSpec {
            wheel_torque: 20_000.0,
            wheel_capacity: 200_000.0,
            rcs_torque: 40_000.0,
            rcs_exhaust_velocity: 220.0 * crate::units::STANDARD_GRAVITY,
            rcs_lever: DVec3::new(6.0, 6.0, 4.0),
            max_rate: 0.2,
        }
    }

    fn at_rest() -> RotationState {
        RotationState {
            attitude: DQuat::IDENTITY,
            angular_velocity: DVec3::ZERO,
            wheel_momentum: DVec3::ZERO,
        }
    }

    #[test]
    fn a_ship_told_to_stop_comes_to_rest_exactly_and_then_needs_no_steps() {
        let mut state = RotationState {
            angular_velocity: DVec3::new(0.05, -0.02, 0.01),
            ..at_rest()
        };
        let inertia = DVec3::new(1.0e5, 1.0e5, 2.0e4);
        let stop = RotationGoal::Rate(DVec3::ZERO);
        assert!(!super::at_rest(&state, stop, &spec(), 100.0));
        for _ in 0..60 {
            step_rotation(&mut state, stop, inertia, &spec(), 100.0, 1.0);
        }
        assert_eq!(state.angular_velocity, DVec3::ZERO);
        assert!(super::at_rest(&state, stop, &spec(), 100.0));
        let before = state;
        step_rotation(&mut state, stop, inertia, &spec(), 100.0, 1.0);
        assert_eq!(state, before, "a step at rest changes nothing");
        assert!(!super::at_rest(
            &state,
            RotationGoal::Point(DVec3::X),
            &spec(),
            100.0
        ));
        assert!(!super::at_rest(
            &state,
            RotationGoal::Torque(DVec3::X),
            &spec(),
            100.0
        ));
    }

    #[test]
    fn inertia_of_the_default_ship() {
        let i = cylinder_inertia(50_000.0, 4.0, 12.0);
        assert!((i.z - 400_000.0).abs() < 1e-6);
        assert!((i.x - 800_000.0).abs() < 1e-6);
    }

    #[test]
    fn torque_free_rotation_keeps_angular_momentum() {
        // An asymmetric body tumbling freely: |L| in ICRF must not change.
        let inertia = DVec3::new(1.0e5, 2.0e5, 3.0e5);
        let mut state = RotationState {
            angular_velocity: DVec3::new(0.01, 0.2, 0.01),
            ..at_rest()
        };
        let l0 = state.attitude * (inertia * state.angular_velocity);
        let no_actuators = AttitudeSpec {
            wheel_torque: 0.0,
            rcs_torque: 0.0,
            ..spec()
        };
        for _ in 0..10_000 {
            step_rotation(
                &mut state,
                RotationGoal::Torque(DVec3::ZERO),
                inertia,
                &no_actuators,
                0.0,
                0.001,
            );
        }
        let l1 = state.attitude * (inertia * state.angular_velocity);
        assert!(
            l1.distance(l0) / l0.length() < 1e-3,
            "L drifted from {l0} to {l1}"
        );
    }

    #[test]
    fn pointing_converges_and_stops() {
        let inertia = cylinder_inertia(50_000.0, 4.0, 12.0);
        let mut state = at_rest();
        let target = DVec3::new(1.0, -1.0, -0.2).normalize();
        let dt = 1.0 / 30.0;
        let mut settled_at = None;
        for tick in 0..(120 * 30) {
            step_rotation(
                &mut state,
                RotationGoal::Point(target),
                inertia,
                &spec(),
                1_000.0,
                dt,
            );
            if settled_at.is_none() && pointing_error(state.attitude, target) < 0.5f64.to_radians()
            {
                settled_at = Some(tick as f64 * dt);
            }
        }
        let settled = settled_at.expect("never pointed within 0.5°");
        assert!(settled < 60.0, "took {settled} s");
        assert!(pointing_error(state.attitude, target) < 0.1f64.to_radians());
        assert!(state.angular_velocity.length() < 1e-3);
    }
}
