//! The geometry and guidance of a planned burn: the prograde / normal / radial frame
//! a node's delta-v is given in, and the remaining delta-v a burn executor steers by.
//!
//! A burn takes minutes, not an instant, and gravity turns the orbit under it. The
//! executor therefore does not count the engine's delta-v against the plan (which
//! would leave a long burn short by the cosine losses of its arc); it compares two
//! osculating orbits at the node's time, as KSP does for its nodes: the orbit the
//! plan asks for and the one the ship is on now. Their velocity difference at the
//! node is what is left to burn, and it falls to zero exactly when the ship's
//! two-body orbit is the planned one.

use glam::DVec3;

use super::coast;
use super::kepler;
use super::oblateness::{j2_acceleration, j2_acceleration_derivative};

/// Longest coasting step (s) of [`Field::coast`] with J2: a burn's span in low
/// orbit is a few of them.
const J2_STEP: f64 = 30.0;
/// Most of those steps one [`Field::coast`] takes.
const MAX_J2_STEPS: f64 = 64.0;

/// The field a burn is planned in: the body's point mass and, where ships feel
/// it, its J2. In low orbit J2 moves a ship by about 1 m/s over a two-minute burn,
/// and one metre per second at departure puts a trip to the Moon thousands of
/// kilometres off, so the executor plans in the field the ship flies in.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Field {
    /// Gravitational parameter (m³/s²).
    pub mu: f64,
    /// The spin axis (ICRF unit vector) and `J2 · R²` (m²), when ships feel J2.
    pub oblate: Option<(DVec3, f64)>,
}

impl Field {
    /// A point mass.
    pub fn point(mu: f64) -> Self {
        Self { mu, oblate: None }
    }

    /// Free flight from `r`, `v` (relative to the body) for `dt` seconds, either
    /// way in time: a Kepler arc about a point mass, SABAC₃ steps of at most
    /// [`J2_STEP`] with the J2 kicks otherwise.
    pub fn coast(&self, r: DVec3, v: DVec3, dt: f64) -> (DVec3, DVec3) {
        let Some((pole, j2_r2)) = self.oblate.filter(|(_, j)| *j > 0.0) else {
            return kepler::drift(r, v, self.mu, dt);
        };
        if !dt.is_finite() {
            return (r, v);
        }
        // A node executed long after its time must not cost a step per 30 s of
        // the delay every tick: beyond MAX_J2_STEPS the steps lengthen (SABAC₃
        // stays good to an eighth of an orbit).
        let steps = (dt.abs() / J2_STEP).ceil().clamp(1.0, MAX_J2_STEPS);
        let h = dt / steps;
        let (mut r, mut v) = (r, v);
        let mu = self.mu;
        for _ in 0..steps as usize {
            coast::step(
                &mut r,
                &mut v,
                mu,
                h,
                |_, r| j2_acceleration(r, pole, mu, j2_r2),
                |r| {
                    let a = j2_acceleration(r, pole, mu, j2_r2);
                    j2_acceleration_derivative(r, a, pole, mu, j2_r2)
                },
            );
        }
        (r, v)
    }
}

/// The node frame of a ship at `r`, `v` relative to a body: prograde along the
/// velocity, normal along the orbit's angular momentum, radial out (in the orbit's
/// plane, at right angles to prograde, away from the body). `None` when the state
/// defines no orbit plane (at rest, or falling straight in).
pub fn node_frame(r: DVec3, v: DVec3) -> Option<[DVec3; 3]> {
    let prograde = v.try_normalize()?;
    let normal = r.cross(v).try_normalize()?;
    Some([prograde, normal, prograde.cross(normal)])
}

/// A delta-v given as (prograde, normal, radial) components, in the ICRF for a ship
/// at `r`, `v` relative to the body.
pub fn inertial_delta_v(components: DVec3, r: DVec3, v: DVec3) -> Option<DVec3> {
    let [prograde, normal, radial] = node_frame(r, v)?;
    Some(prograde * components.x + normal * components.y + radial * components.z)
}

/// The velocity relative to the body, at the node's time `dt` seconds from now, that
/// the plan asks for: the ship's free flight in `field` carried to the node, plus
/// the node's delta-v in the frame there.
pub fn planned_velocity(
    r: DVec3,
    v: DVec3,
    field: &Field,
    dt: f64,
    components: DVec3,
) -> Option<DVec3> {
    let (r_node, v_node) = field.coast(r, v, dt);
    Some(v_node + inertial_delta_v(components, r_node, v_node)?)
}

/// What is left to burn for a ship at `r`, `v` relative to the body: the planned
/// velocity at the node, `dt` seconds from now (negative once it has passed), less
/// the velocity the ship's present free flight in `field` has there.
pub fn remaining_delta_v(r: DVec3, v: DVec3, field: &Field, dt: f64, planned: DVec3) -> DVec3 {
    planned - field.coast(r, v, dt).1
}

/// Seconds an engine of `thrust` (N) at exhaust velocity `ve` runs to give a ship of
/// `mass` (kg) the delta-v `dv`: the rocket equation's propellant over the mass flow.
pub fn burn_time(dv: f64, mass: f64, thrust: f64, ve: f64) -> f64 {
    let propellant = mass * (1.0 - (-dv / ve).exp());
    propellant * ve / thrust
}

/// Seconds from ignition to the burn's delta-v centroid (the moment the engine's
/// acceleration, weighted by time, balances): ignite this long before a node and
/// the finite burn leaves the ship where the impulse would have, to first order.
/// The acceleration grows as the tank drains, so this is more than half the burn:
/// with mass flow `q = F/ve` from `m0` to `m1`, `t = (m0 − ve (m0 − m1)/Δv)/q`.
pub fn burn_lead(dv: f64, mass: f64, thrust: f64, ve: f64) -> f64 {
    if !(dv > 0.0 && thrust > 0.0 && ve > 0.0) {
        return 0.0;
    }
    let burnt = mass * (1.0 - (-dv / ve).exp());
    let flow = thrust / ve;
    (mass - ve * burnt / dv) / flow
}

/// The throttle (0..1) that gives a ship of `mass` the delta-v `dv` in `dt` seconds of
/// steady burning, or full throttle when that is not enough: the end of a burn
/// lands on the remaining delta-v instead of overshooting it by a tick's worth.
pub fn throttle_for(dv: f64, dt: f64, mass: f64, thrust: f64, ve: f64) -> f64 {
    if !(dt > 0.0 && thrust > 0.0) {
        return 0.0;
    }
    (burn_time(dv, mass, thrust, ve) / dt).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::physics::orbit::{OrbitalElements, circular_speed};
    use crate::physics::rocket::{delta_v, exhaust_velocity};

    const MU: f64 = 3.986_004_418e14;

    #[test]
    fn the_node_frame_is_right_handed_and_follows_the_orbit() {
        let r = DVec3::new(7.0e6, 0.0, 0.0);
        let v = DVec3::new(0.0, 7.5e3, 100.0);
        let [prograde, normal, radial] = node_frame(r, v).expect("an orbit");
        assert!(prograde.dot(v.normalize()) > 1.0 - 1e-15);
        assert!(normal.dot(r.cross(v).normalize()) > 1.0 - 1e-15);
        assert!(radial.dot(r) > 0.0, "radial points away from the body");
        assert!(prograde.dot(radial).abs() < 1e-15 && normal.dot(radial).abs() < 1e-15);
        assert!((prograde.cross(normal) - radial).length() < 1e-15);
        assert_eq!(node_frame(r, DVec3::ZERO), None);
        assert_eq!(node_frame(r, r), None, "falling straight in has no plane");
    }

    #[test]
    fn a_prograde_node_at_periapsis_raises_apoapsis_by_vis_viva() {
        // 400 km circular; 100 m/s prograde half an orbit from now. The planned
        // orbit's apoapsis follows from vis-viva at the node's radius.
        let r0 = 6.778e6;
        let r = DVec3::new(r0, 0.0, 0.0);
        let v = DVec3::new(0.0, circular_speed(r0, MU), 0.0);
        let period = std::f64::consts::TAU * (r0.powi(3) / MU).sqrt();
        let dt = 0.5 * period;
        let planned = planned_velocity(r, v, &Field::point(MU), dt, DVec3::new(100.0, 0.0, 0.0))
            .expect("orbit");
        let (r_node, v_node) = kepler::drift(r, v, MU, dt);
        assert!((planned.length() - v_node.length() - 100.0).abs() < 1e-6);
        let elements = OrbitalElements::from_state(r_node, planned, MU);
        let speed = circular_speed(r0, MU) + 100.0;
        let a = 1.0 / (2.0 / r0 - speed * speed / MU);
        assert!(
            (elements.apoapsis - (2.0 * a - r0)).abs() < 1e-3,
            "{}",
            elements.apoapsis
        );
    }

    #[test]
    fn the_remaining_delta_v_is_the_plan_before_a_burn_and_nothing_after_an_impulse() {
        let r = DVec3::new(6.778e6, 0.0, 0.0);
        let v = DVec3::new(0.0, 7_668.0, 0.0);
        let components = DVec3::new(120.0, -30.0, 15.0);
        let dt = 600.0;
        let planned = planned_velocity(r, v, &Field::point(MU), dt, components).expect("orbit");
        let before = remaining_delta_v(r, v, &Field::point(MU), dt, planned);
        let (r_node, v_node) = kepler::drift(r, v, MU, dt);
        let wanted = inertial_delta_v(components, r_node, v_node).expect("orbit");
        assert!((before - wanted).length() < 1e-9, "{before} vs {wanted}");
        // The impulse given at the node: nothing left, seen from before or after it.
        let after = v_node + wanted;
        assert!(remaining_delta_v(r_node, after, &Field::point(MU), 0.0, planned).length() < 1e-9);
        let (r_later, v_later) = kepler::drift(r_node, after, MU, 300.0);
        assert!(
            remaining_delta_v(r_later, v_later, &Field::point(MU), -300.0, planned).length() < 1e-6
        );
    }

    #[test]
    fn coasting_with_j2_follows_an_independent_integrator_both_ways_in_time() {
        use crate::physics::reference::rk4;
        // Earth's J2·R² and a pole tilted off the orbit's axis.
        let (pole, j2_r2) = (
            DVec3::new(0.0, 0.4, 1.0).normalize(),
            1.0826e-3 * 6.378e6f64.powi(2),
        );
        let field = Field {
            mu: MU,
            oblate: Some((pole, j2_r2)),
        };
        let r = DVec3::new(6.778e6, 0.0, 0.0);
        let v = DVec3::new(0.0, 7_000.0, 3_000.0);
        let accel =
            |r: DVec3, _| -MU * r / r.length().powi(3) + j2_acceleration(r, pole, MU, j2_r2);
        for dt in [150.0, -150.0] {
            let (r1, v1) = field.coast(r, v, dt);
            let (r2, v2) = rk4(r, v, accel, dt, 15_000);
            assert!(
                r1.distance(r2) < 1e-3 && v1.distance(v2) < 1e-5,
                "{dt}: {}",
                r1.distance(r2)
            );
            let (_, kepler_v) = kepler::drift(r, v, MU, dt);
            assert!(
                kepler_v.distance(v1) > 0.5,
                "J2 moves a low orbit by about 1 m/s"
            );
        }
        assert_eq!(
            Field::point(MU).coast(r, v, 150.0),
            kepler::drift(r, v, MU, 150.0)
        );
    }

    #[test]
    fn the_burn_lead_balances_the_engines_push_about_the_node() {
        let ve = exhaust_velocity(350.0);
        let (mass, thrust, dv) = (50_000.0, 500_000.0, 3_100.0);
        let lead = burn_lead(dv, mass, thrust, ve);
        let length = burn_time(dv, mass, thrust, ve);
        // ∫(t − lead)·a(t) dt over the burn vanishes, summed finely.
        let steps = 100_000;
        let h = length / f64::from(steps);
        let moment: f64 = (0..steps)
            .map(|i| {
                let t = (f64::from(i) + 0.5) * h;
                (t - lead) * thrust / (mass - thrust / ve * t) * h
            })
            .sum();
        assert!(moment.abs() < 1e-3 * dv * length, "{moment}");
        assert!(
            lead > 0.5 * length && lead < 0.6 * length,
            "{lead} of {length}"
        );
        // A short burn is centred in time.
        let short = burn_lead(1.0, mass, thrust, ve);
        assert!((short - 0.5 * burn_time(1.0, mass, thrust, ve)).abs() < 1e-4);
    }

    #[test]
    fn burn_time_and_throttle_follow_the_rocket_equation() {
        let ve = exhaust_velocity(350.0);
        let (mass, thrust) = (50_000.0, 500_000.0);
        let t = burn_time(2_400.0, mass, thrust, ve);
        // Burning for `t` at the mass flow F/ve leaves the mass the equation asks.
        let burnt = t * thrust / ve;
        assert!((delta_v(ve, mass, mass - burnt) - 2_400.0).abs() < 1e-9);
        let dt = 1.0;
        let throttle = throttle_for(3.0, dt, mass, thrust, ve);
        let used = throttle * thrust / ve * dt;
        assert!((delta_v(ve, mass, mass - used) - 3.0).abs() < 1e-12);
        assert_eq!(throttle_for(1.0e4, dt, mass, thrust, ve), 1.0);
        assert_eq!(throttle_for(3.0, 0.0, mass, thrust, ve), 0.0);
    }
}
