//! Smooth motion between the server's 20 Hz states: a game clock that runs on
//! between states, Kepler propagation of ships about their dominant body, attitude
//! extrapolation, and a correction that fades instead of snapping.
//!
//! Plain functions over f64, so they are tested without an `App`.

use glam::{DQuat, DVec3};

/// How far past the newest state the clock may run (real seconds) before it waits:
/// beyond this the server has gone quiet and guessing further would only mislead.
pub(crate) const MAX_EXTRAPOLATION_S: f64 = 1.0;

/// Game time now, from the newest state's game time, the real seconds since it
/// arrived, and the clock it reported.
pub(crate) fn game_time_now(state_time: f64, real_since: f64, paused: bool, scale: f64) -> f64 {
    if paused {
        state_time
    } else {
        state_time + real_since.clamp(0.0, MAX_EXTRAPOLATION_S) * scale
    }
}

/// Stumpff functions C(z) and S(z), with series near zero where the closed forms
/// cancel catastrophically.
fn stumpff(z: f64) -> (f64, f64) {
    if z.abs() < 1e-6 {
        (
            0.5 - z / 24.0 + z * z / 720.0,
            1.0 / 6.0 - z / 120.0 + z * z / 5040.0,
        )
    } else if z > 0.0 {
        let s = z.sqrt();
        ((1.0 - s.cos()) / z, (s - s.sin()) / (s * s * s))
    } else {
        let s = (-z).sqrt();
        ((s.cosh() - 1.0) / -z, (s.sinh() - s) / (s * s * s))
    }
}

/// State after `dt` seconds on the two-body orbit through `r0`, `v0` about a centre
/// of `mu` (GM), by universal variables; works for ellipses and hyperbolas and for
/// `dt` of either sign. Degenerate input falls back to a straight line.
pub(crate) fn kepler_propagate(r0: DVec3, v0: DVec3, mu: f64, dt: f64) -> (DVec3, DVec3) {
    let r0n = r0.length();
    if !(mu > 0.0 && r0n > 0.0 && dt.is_finite()) || dt == 0.0 {
        return (r0 + v0 * dt, v0);
    }
    let sqrt_mu = mu.sqrt();
    let vr0 = r0.dot(v0) / r0n;
    let alpha = 2.0 / r0n - v0.length_squared() / mu;
    // Whole revolutions change nothing on a closed orbit; dropping them keeps the
    // Newton iteration near its starting guess at high time warp.
    let dt = if alpha > 1e-12 {
        let period = std::f64::consts::TAU / (sqrt_mu * alpha.powf(1.5));
        dt % period
    } else {
        dt
    };
    let mut chi = if alpha > 1e-12 {
        sqrt_mu * alpha * dt
    } else {
        sqrt_mu * dt / r0n
    };
    for _ in 0..60 {
        let z = alpha * chi * chi;
        let (c, s) = stumpff(z);
        let f = r0n * vr0 / sqrt_mu * chi * chi * c
            + (1.0 - alpha * r0n) * chi * chi * chi * s
            + r0n * chi
            - sqrt_mu * dt;
        let df =
            r0n * vr0 / sqrt_mu * chi * (1.0 - z * s) + (1.0 - alpha * r0n) * chi * chi * c + r0n;
        let step = f / df;
        if !step.is_finite() {
            return (r0 + v0 * dt, v0);
        }
        chi -= step;
        if step.abs() <= 1e-12 * chi.abs().max(1e-6) {
            break;
        }
    }
    let (c, s) = stumpff(alpha * chi * chi);
    let f = 1.0 - chi * chi / r0n * c;
    let g = dt - chi * chi * chi / sqrt_mu * s;
    let r = r0 * f + v0 * g;
    let rn = r.length();
    let fdot = sqrt_mu / (rn * r0n) * (alpha * chi * chi * chi * s - chi);
    let gdot = 1.0 - chi * chi / rn * c;
    let v = r0 * fdot + v0 * gdot;
    if r.is_finite() && v.is_finite() {
        (r, v)
    } else {
        (r0 + v0 * dt, v0)
    }
}

/// Attitude `dt` seconds on at a constant body-frame angular velocity `rates`.
pub(crate) fn attitude_after(attitude: DQuat, rates: DVec3, dt: f64) -> DQuat {
    (attitude * DQuat::from_scaled_axis(rates * dt)).normalize()
}

/// A render-side offset that hides the jump when a new state disagrees with the
/// extrapolation of the old one, and fades out over `tau` seconds.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct Correction {
    /// Offset added to the extrapolated position (m).
    pub offset: DVec3,
}

impl Correction {
    /// Offsets larger than this are real jumps (a reset, a teleport): show them.
    const MAX_HIDDEN_M: f64 = 1_000.0;

    /// Takes up the difference between where the ship was drawn and where the new
    /// state puts it.
    pub fn absorb(&mut self, drawn: DVec3, fresh: DVec3) {
        let offset = drawn - fresh;
        self.offset = if offset.length() <= Self::MAX_HIDDEN_M {
            offset
        } else {
            DVec3::ZERO
        };
    }

    /// Fades the offset for `dt` real seconds.
    pub fn decay(&mut self, dt: f64, tau: f64) {
        self.offset *= (-dt / tau).exp();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MU_EARTH: f64 = 3.986_004_418e14;

    #[test]
    fn the_clock_runs_at_the_scale_and_stops_when_paused_or_stale() {
        assert_eq!(game_time_now(100.0, 0.5, false, 10.0), 105.0);
        assert_eq!(game_time_now(100.0, 0.5, true, 10.0), 100.0);
        assert_eq!(
            game_time_now(100.0, 30.0, false, 1.0),
            100.0 + MAX_EXTRAPOLATION_S
        );
    }

    #[test]
    fn a_circular_orbit_comes_back_after_one_period() {
        let r = 6.771e6;
        let v = (MU_EARTH / r).sqrt();
        let period = std::f64::consts::TAU * (r * r * r / MU_EARTH).sqrt();
        let (r0, v0) = (DVec3::new(r, 0.0, 0.0), DVec3::new(0.0, v, 0.0));
        let (quarter, _) = kepler_propagate(r0, v0, MU_EARTH, period / 4.0);
        assert!(
            quarter.distance(DVec3::new(0.0, r, 0.0)) < 1e-3,
            "a quarter period is a quarter turn: {quarter}"
        );
        let (back, back_v) = kepler_propagate(r0, v0, MU_EARTH, 3.0 * period);
        assert!(back.distance(r0) < 1e-2, "{back}");
        assert!(back_v.distance(v0) < 1e-5);
        let (before, _) = kepler_propagate(r0, v0, MU_EARTH, -period / 4.0);
        assert!(before.distance(DVec3::new(0.0, -r, 0.0)) < 1e-3, "{before}");
    }

    #[test]
    fn propagation_conserves_energy_and_momentum_on_open_and_closed_orbits() {
        let r0 = DVec3::new(7.0e6, 1.0e6, -2.0e5);
        for speed in [7_000.0, 9_000.0, 12_000.0, 20_000.0] {
            let v0 = DVec3::new(-1_000.0, speed, 800.0);
            let energy = |r: DVec3, v: DVec3| 0.5 * v.length_squared() - MU_EARTH / r.length();
            let (r, v) = kepler_propagate(r0, v0, MU_EARTH, 5_000.0);
            let (e0, e1) = (energy(r0, v0), energy(r, v));
            assert!(
                ((e1 - e0) / e0).abs() < 1e-9,
                "energy at {speed} m/s: {e0} → {e1}"
            );
            let (h0, h1) = (r0.cross(v0), r.cross(v));
            assert!(h0.distance(h1) / h0.length() < 1e-9);
        }
    }

    #[test]
    fn short_steps_match_the_gravity_of_a_straight_line() {
        let r0 = DVec3::new(6.771e6, 0.0, 0.0);
        let v0 = DVec3::new(0.0, 7_672.0, 0.0);
        let dt = 0.05;
        let (r, _) = kepler_propagate(r0, v0, MU_EARTH, dt);
        let expected =
            r0 + v0 * dt - r0.normalize() * (MU_EARTH / r0.length_squared()) * dt * dt / 2.0;
        assert!(r.distance(expected) < 1e-6, "{}", r.distance(expected));
    }

    #[test]
    fn attitude_turns_at_its_rate() {
        let q = attitude_after(DQuat::IDENTITY, DVec3::new(0.0, 0.0, 0.5), 2.0);
        assert!(q.angle_between(DQuat::from_rotation_z(1.0)) < 1e-12);
    }

    #[test]
    fn corrections_hide_small_jumps_and_fade() {
        let mut correction = Correction::default();
        correction.absorb(DVec3::new(3.0, 0.0, 0.0), DVec3::ZERO);
        assert_eq!(correction.offset, DVec3::new(3.0, 0.0, 0.0));
        correction.decay(0.1, 0.1);
        assert!((correction.offset.x - 3.0 / std::f64::consts::E).abs() < 1e-12);
        correction.absorb(DVec3::new(1.0e6, 0.0, 0.0), DVec3::ZERO);
        assert_eq!(
            correction.offset,
            DVec3::ZERO,
            "a teleport is shown at once"
        );
    }
}
