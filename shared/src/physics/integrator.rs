//! Symplectic integrators for the bodies, and the interpolation ships use between
//! body steps.
//!
//! Bodies advance with kick-drift-kick leapfrog (2nd order) or Yoshida's 4th-order
//! composition of it. Both are symplectic, so energy errors stay bounded instead of
//! drifting. The Sun's 1PN term depends on velocity; evaluated with the velocity at
//! the start of a kick it acts as a small constant drag (Mercury: 11 km after a year,
//! growing with t²), so each kick evaluates it at its predicted mid-kick velocity.

use glam::DVec3;
use serde::{Deserialize, Serialize};

use super::compensated;
use super::gravity::{add_solar_post_newtonian, body_accelerations, body_energy_over_g};

/// Which scheme advances the bodies.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BodyIntegrator {
    /// Kick-drift-kick leapfrog: one force evaluation per step, 2nd order.
    Leapfrog,
    /// Yoshida's triple composition of leapfrog: three evaluations per step, 4th order.
    #[default]
    Yoshida4,
}

/// Positions, velocities and masses of the massive bodies, in structure-of-arrays form
/// so the N² force loop streams through memory.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NBodyState {
    /// Barycentric positions (m).
    pub positions: Vec<DVec3>,
    /// Barycentric velocities (m/s).
    pub velocities: Vec<DVec3>,
    /// Gravitational parameters (m³/s²).
    pub gms: Vec<f64>,
    /// Rounding carried by compensated position sums.
    pub position_carry: Vec<DVec3>,
    /// Rounding carried by compensated velocity sums.
    pub velocity_carry: Vec<DVec3>,
    /// Index of the body whose 1PN field is applied, if relativity is on.
    pub relativistic_center: Option<usize>,
    #[serde(skip)]
    scratch: Vec<DVec3>,
    #[serde(skip)]
    mid_velocities: Vec<DVec3>,
}

/// Yoshida's coefficients: w1 = 1/(2 − ∛2), w0 = −∛2/(2 − ∛2).
const YOSHIDA_W1: f64 = 1.351_207_191_959_657_8;
const YOSHIDA_W0: f64 = -1.702_414_383_919_315_3;

impl NBodyState {
    /// A state from positions, velocities and GMs, with the 1PN field of
    /// `relativistic_center` (normally the Sun) switched on when given.
    pub fn new(
        positions: Vec<DVec3>,
        velocities: Vec<DVec3>,
        gms: Vec<f64>,
        relativistic_center: Option<usize>,
    ) -> Self {
        let n = positions.len();
        Self {
            positions,
            velocities,
            gms,
            position_carry: vec![DVec3::ZERO; n],
            velocity_carry: vec![DVec3::ZERO; n],
            relativistic_center,
            scratch: vec![DVec3::ZERO; n],
            mid_velocities: vec![DVec3::ZERO; n],
        }
    }

    /// Number of bodies.
    pub fn len(&self) -> usize {
        self.positions.len()
    }

    /// True when there are no bodies.
    pub fn is_empty(&self) -> bool {
        self.positions.is_empty()
    }

    /// Newtonian energy over G; see [`body_energy_over_g`].
    pub fn energy_over_g(&self) -> f64 {
        body_energy_over_g(&self.positions, &self.velocities, &self.gms)
    }

    /// Advances every body by `dt` seconds with `scheme`.
    pub fn step(&mut self, scheme: BodyIntegrator, dt: f64) {
        match scheme {
            BodyIntegrator::Leapfrog => self.kick_drift_kick(dt),
            BodyIntegrator::Yoshida4 => {
                self.kick_drift_kick(YOSHIDA_W1 * dt);
                self.kick_drift_kick(YOSHIDA_W0 * dt);
                self.kick_drift_kick(YOSHIDA_W1 * dt);
            }
        }
    }

    fn kick_drift_kick(&mut self, dt: f64) {
        self.kick(0.5 * dt);
        for ((p, c), v) in self
            .positions
            .iter_mut()
            .zip(&mut self.position_carry)
            .zip(&self.velocities)
        {
            compensated::add_vec(p, c, *v * dt);
        }
        self.kick(0.5 * dt);
    }

    fn kick(&mut self, dt: f64) {
        self.scratch.resize(self.positions.len(), DVec3::ZERO);
        body_accelerations(&self.positions, &self.gms, &mut self.scratch);
        if let Some(center) = self.relativistic_center {
            self.mid_velocities.clear();
            self.mid_velocities.extend(
                self.velocities
                    .iter()
                    .zip(&self.scratch)
                    .map(|(v, a)| *v + *a * (0.5 * dt)),
            );
            add_solar_post_newtonian(
                center,
                &self.positions,
                &self.mid_velocities,
                &self.gms,
                &mut self.scratch,
            );
        }
        for ((v, c), a) in self
            .velocities
            .iter_mut()
            .zip(&mut self.velocity_carry)
            .zip(&self.scratch)
        {
            compensated::add_vec(v, c, *a * dt);
        }
    }
}

/// Position on the cubic Hermite curve through (`p0`, `v0`) and (`p1`, `v1`) a time
/// `h` apart, at fraction `s` ∈ [0, 1] of the interval, with its velocity.
///
/// Ships take many short substeps inside one long body step; this reconstructs the
/// bodies between the step's ends to 4th order without re-integrating them.
#[inline]
pub fn hermite(p0: DVec3, v0: DVec3, p1: DVec3, v1: DVec3, h: f64, s: f64) -> (DVec3, DVec3) {
    let s2 = s * s;
    let s3 = s2 * s;
    let h00 = 2.0 * s3 - 3.0 * s2 + 1.0;
    let h10 = s3 - 2.0 * s2 + s;
    let h01 = -2.0 * s3 + 3.0 * s2;
    let h11 = s3 - s2;
    let position = p0 * h00 + v0 * (h10 * h) + p1 * h01 + v1 * (h11 * h);
    let d00 = 6.0 * s2 - 6.0 * s;
    let d10 = 3.0 * s2 - 4.0 * s + 1.0;
    let d01 = -6.0 * s2 + 6.0 * s;
    let d11 = 3.0 * s2 - 2.0 * s;
    let velocity = (p0 * d00 + p1 * d01) / h + v0 * d10 + v1 * d11;
    (position, velocity)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::TAU;

    const GM_SUN: f64 = 1.327_124_400_18e20;
    const GM_EARTH: f64 = 3.986_004_418e14;
    const AU: f64 = crate::units::ASTRONOMICAL_UNIT;

    fn sun_earth(e: f64) -> NBodyState {
        // Eccentric orbit started at perihelion, in the centre-of-mass frame.
        let mu = GM_SUN + GM_EARTH;
        let rp = AU * (1.0 - e);
        let vp = (mu * (1.0 + e) / rp).sqrt();
        let fe = GM_EARTH / mu;
        let fs = GM_SUN / mu;
        NBodyState::new(
            vec![
                DVec3::new(-rp * fe, 0.0, 0.0),
                DVec3::new(rp * fs, 0.0, 0.0),
            ],
            vec![
                DVec3::new(0.0, -vp * fe, 0.0),
                DVec3::new(0.0, vp * fs, 0.0),
            ],
            vec![GM_SUN, GM_EARTH],
            None,
        )
    }

    fn kepler_period() -> f64 {
        TAU * (AU * AU * AU / (GM_SUN + GM_EARTH)).sqrt()
    }

    fn return_error(scheme: BodyIntegrator, steps: usize) -> f64 {
        let mut state = sun_earth(0.3);
        let start = state.positions[1] - state.positions[0];
        let dt = kepler_period() / steps as f64;
        for _ in 0..steps {
            state.step(scheme, dt);
        }
        (state.positions[1] - state.positions[0]).distance(start)
    }

    #[test]
    fn two_body_orbit_closes_after_keplers_period() {
        let error = return_error(BodyIntegrator::Yoshida4, 20_000);
        assert!(error < 100.0, "Yoshida misses its start by {error} m");
        let error = return_error(BodyIntegrator::Leapfrog, 200_000);
        assert!(error < 10_000.0, "leapfrog misses its start by {error} m");
    }

    #[test]
    fn yoshida_converges_at_fourth_order_and_leapfrog_at_second() {
        let y1 = return_error(BodyIntegrator::Yoshida4, 2_000);
        let y2 = return_error(BodyIntegrator::Yoshida4, 4_000);
        let order = (y1 / y2).log2();
        assert!((order - 4.0).abs() < 0.3, "Yoshida order {order}");
        let l1 = return_error(BodyIntegrator::Leapfrog, 2_000);
        let l2 = return_error(BodyIntegrator::Leapfrog, 4_000);
        let order = (l1 / l2).log2();
        assert!((order - 2.0).abs() < 0.2, "leapfrog order {order}");
    }

    #[test]
    fn energy_error_stays_bounded_over_many_orbits() {
        let mut state = sun_earth(0.5);
        let e0 = state.energy_over_g();
        let dt = kepler_period() / 1_000.0;
        let mut worst: f64 = 0.0;
        for _ in 0..100_000 {
            state.step(BodyIntegrator::Yoshida4, dt);
            worst = worst.max(((state.energy_over_g() - e0) / e0).abs());
        }
        assert!(worst < 1e-7, "relative energy error reached {worst}");
    }

    #[test]
    fn hermite_reproduces_circular_motion_to_fourth_order() {
        let circle = |t: f64| {
            (
                DVec3::new(t.cos(), t.sin(), 0.0),
                DVec3::new(-t.sin(), t.cos(), 0.0),
            )
        };
        for h in [0.1, 0.05] {
            let (p0, v0) = circle(0.0);
            let (p1, v1) = circle(h);
            let (p, v) = hermite(p0, v0, p1, v1, h, 0.5);
            let (pe, ve) = circle(h / 2.0);
            assert!(
                p.distance(pe) < h.powi(4) / 300.0,
                "h={h} position error {}",
                p.distance(pe)
            );
            assert!(
                v.distance(ve) < h.powi(3) / 20.0,
                "h={h} velocity error {}",
                v.distance(ve)
            );
        }
    }
}
