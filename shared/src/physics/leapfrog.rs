//! A ship's fine substep: kick–drift–kick leapfrog, with the engine's delta-v split
//! between the two kicks so a burn's velocity change is the rocket equation's
//! whatever the step. The position sum is compensated, so a day of 1 s drifts
//! loses nothing to rounding.
//!
//! The lane versions do the same operations in the same order over eight ships,
//! one array per coordinate, so a compiler vectorises them and every lane is the
//! one-ship result bit for bit (nothing is fused).

use glam::DVec3;

use super::compensated;
use super::lanes::{Lane, LaneVec};

/// Half a kick: `accel` for half of `h`, and half the engine's `dv`.
#[inline]
pub fn kick(velocity: &mut DVec3, accel: DVec3, dv: DVec3, h: f64) {
    *velocity += accel * (0.5 * h) + dv * 0.5;
}

/// A drift of `h` at `velocity`, summed with its rounding `carry`.
#[inline]
pub fn drift(position: &mut DVec3, carry: &mut DVec3, velocity: DVec3, h: f64) {
    compensated::add_vec(position, carry, velocity * h);
}

/// [`kick`] in every lane.
#[inline(always)]
pub fn kick_lanes(velocity: &mut LaneVec, accel: &LaneVec, dv: &LaneVec, h: f64) {
    let half_h = 0.5 * h;
    let kick = |v: &mut Lane, a: &Lane, d: &Lane| {
        for ((v, a), d) in v.iter_mut().zip(a).zip(d) {
            *v += a * half_h + d * 0.5;
        }
    };
    kick(&mut velocity.x, &accel.x, &dv.x);
    kick(&mut velocity.y, &accel.y, &dv.y);
    kick(&mut velocity.z, &accel.z, &dv.z);
}

/// [`drift`] in every lane.
#[inline(always)]
pub fn drift_lanes(position: &mut LaneVec, carry: &mut LaneVec, velocity: &LaneVec, h: f64) {
    let drift = |sum: &mut Lane, carry: &mut Lane, v: &Lane| {
        for ((sum, carry), v) in sum.iter_mut().zip(carry.iter_mut()).zip(v) {
            let y = v * h - *carry;
            let t = *sum + y;
            *carry = (t - *sum) - y;
            *sum = t;
        }
    };
    drift(&mut position.x, &mut carry.x, &velocity.x);
    drift(&mut position.y, &mut carry.y, &velocity.y);
    drift(&mut position.z, &mut carry.z, &velocity.z);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::physics::lanes::LANES;

    fn lanes(f: impl Fn(f64) -> DVec3) -> [DVec3; LANES] {
        std::array::from_fn(|i| f(i as f64))
    }

    fn pack(vectors: &[DVec3; LANES]) -> LaneVec {
        let mut out = LaneVec::default();
        for (i, v) in vectors.iter().enumerate() {
            out.set(i, *v);
        }
        out
    }

    #[test]
    fn kick_and_drift_in_lanes_are_the_one_ship_steps_bit_for_bit() {
        let h = 0.7;
        let positions = lanes(|f| DVec3::new(-1.4e11 + f * 3.3e6, 4.1e10 - f, 1.0e3 * f));
        let carries = lanes(|f| DVec3::new(1.0e-6 * f, -3.0e-7, 2.5e-6 * f));
        let velocities = lanes(|f| DVec3::new(7.6e3 + f * 0.1, -2.9e4, 11.0 * f));
        let accels = lanes(|f| DVec3::new(-8.1 + f, 0.006, -1.0e-3 * f));
        let dvs = lanes(|f| DVec3::new(0.0, 0.3 * f, -0.01));
        let (mut position, mut carry, mut velocity) =
            (pack(&positions), pack(&carries), pack(&velocities));
        kick_lanes(&mut velocity, &pack(&accels), &pack(&dvs), h);
        drift_lanes(&mut position, &mut carry, &velocity, h);
        for (i, &start) in positions.iter().enumerate() {
            let (mut p, mut c, mut v) = (start, carries[i], velocities[i]);
            kick(&mut v, accels[i], dvs[i], h);
            drift(&mut p, &mut c, v, h);
            assert_eq!(
                (velocity.get(i), position.get(i), carry.get(i)),
                (v, p, c),
                "lane {i}"
            );
            assert_ne!(p, start, "lane {i} did not move");
        }
    }
}
