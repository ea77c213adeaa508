//! The N-body step of each tick, and the body track ships fly through.
//!
//! Bodies take few, long, 4th-order steps; ships take many short ones. The track
//! holds every body's position and velocity at each ship substep boundary of the
//! tick, rebuilt from the body steps by Hermite interpolation, so the hot ship loop
//! only reads a flat table shared by all ships.
//!
//! The body entities hold the bodies' state: each tick gathers them into the
//! N-body arrays of [`Bodies`], steps, and scatters the result back.

use bevy::prelude::*;
use galaxy_shared::components::{Body, Position, Velocity};
use galaxy_shared::physics::integrator::hermite;
use glam::{DQuat, DVec3};

use crate::SimSystems;
use crate::ephemeris::Bodies;
use crate::tick::{SimClock, TickPlan};

pub(super) fn plugin(app: &mut App) {
    app.init_resource::<BodyTrack>().add_systems(
        FixedUpdate,
        (gather_body_entities, advance_bodies, scatter_body_entities)
            .chain()
            .in_set(SimSystems::Bodies),
    );
}

/// Body states at every ship substep boundary of the current tick.
#[derive(Resource, Clone, Debug, Default)]
pub struct BodyTrack {
    /// Number of bodies per sample.
    pub bodies: usize,
    /// Length of one substep (s).
    pub substep: f64,
    /// `(substeps + 1) · bodies` positions, sample-major.
    pub positions: Vec<DVec3>,
    /// Velocities, laid out like `positions`.
    pub velocities: Vec<DVec3>,
    /// GM of each body.
    pub gms: Vec<f64>,
    /// Radius of each body.
    pub radii: Vec<f64>,
    /// Sphere-of-influence radius of each body at the start of the tick.
    pub soi: Vec<f64>,
    /// Each body's parent; `None` for the root.
    pub parents: Vec<Option<usize>>,
    /// `J2 · R²` of each body (m²), zero where it has none or oblateness is off.
    pub j2_r2: Vec<f64>,
    /// Each body's north pole at the start of the tick (ICRF unit vector).
    pub poles: Vec<DVec3>,
    /// Each body's body-fixed to ICRF rotation at the start of the tick.
    pub orientations: Vec<DQuat>,
    /// Each body's spin rate about its pole (rad/s).
    pub spin_rates: Vec<f64>,
}

impl BodyTrack {
    /// Number of substeps this track covers.
    pub fn substeps(&self) -> usize {
        self.positions
            .len()
            .checked_div(self.bodies)
            .map_or(0, |samples| samples.saturating_sub(1))
    }

    /// Body positions at substep boundary `k`.
    #[inline]
    pub fn positions_at(&self, k: usize) -> &[DVec3] {
        &self.positions[k * self.bodies..(k + 1) * self.bodies]
    }

    /// Body velocities at substep boundary `k`.
    #[inline]
    pub fn velocities_at(&self, k: usize) -> &[DVec3] {
        &self.velocities[k * self.bodies..(k + 1) * self.bodies]
    }

    /// Orientation of `body` at `tau` seconds into the tick.
    #[inline]
    pub fn orientation_at(&self, body: usize, tau: f64) -> DQuat {
        DQuat::from_axis_angle(self.poles[body], self.spin_rates[body] * tau)
            * self.orientations[body]
    }

    /// ICRF angular velocity of `body` (rad/s).
    #[inline]
    pub fn angular_velocity(&self, body: usize) -> DVec3 {
        self.poles[body] * self.spin_rates[body]
    }

    /// The substep holding `tau` seconds into the tick and the fraction through it.
    #[inline]
    fn locate(&self, tau: f64) -> (usize, f64) {
        let last = self.substeps().saturating_sub(1);
        let k = ((tau / self.substep).floor().max(0.0) as usize).min(last);
        (k, tau / self.substep - k as f64)
    }

    /// Positions of all bodies `tau` seconds into the tick, written into `out`
    /// (at least `bodies` long): the coasting kicks' view of the bodies.
    #[inline]
    pub fn positions_at_time(&self, tau: f64, out: &mut [DVec3]) {
        let (k, s) = self.locate(tau);
        let (p0, v0) = (self.positions_at(k), self.velocities_at(k));
        let (p1, v1) = (self.positions_at(k + 1), self.velocities_at(k + 1));
        let s2 = s * s;
        let s3 = s2 * s;
        let h00 = 2.0 * s3 - 3.0 * s2 + 1.0;
        let h10 = (s3 - 2.0 * s2 + s) * self.substep;
        let h01 = -2.0 * s3 + 3.0 * s2;
        let h11 = (s3 - s2) * self.substep;
        for (b, slot) in out.iter_mut().enumerate().take(self.bodies) {
            *slot = p0[b] * h00 + v0[b] * h10 + p1[b] * h01 + v1[b] * h11;
        }
    }

    /// Position and velocity of one body `tau` seconds into the tick.
    pub fn state_at_time(&self, body: usize, tau: f64) -> (DVec3, DVec3) {
        let (k, s) = self.locate(tau);
        hermite(
            self.positions_at(k)[body],
            self.velocities_at(k)[body],
            self.positions_at(k + 1)[body],
            self.velocities_at(k + 1)[body],
            self.substep,
            s,
        )
    }

    /// Positions and velocities of all bodies at fraction `s` of substep `k`, for
    /// ships that need a finer step near a surface.
    pub fn interpolate(
        &self,
        k: usize,
        s: f64,
        positions: &mut Vec<DVec3>,
        velocities: &mut Vec<DVec3>,
    ) {
        positions.clear();
        velocities.clear();
        let (p0, v0) = (self.positions_at(k), self.velocities_at(k));
        let (p1, v1) = (self.positions_at(k + 1), self.velocities_at(k + 1));
        for b in 0..self.bodies {
            let (p, v) = hermite(p0[b], v0[b], p1[b], v1[b], self.substep, s);
            positions.push(p);
            velocities.push(v);
        }
    }
}

/// Advances the bodies over the tick and records the track ships will need.
pub fn advance_bodies(
    plan: Res<TickPlan>,
    clock: Res<SimClock>,
    mut bodies: ResMut<Bodies>,
    mut track: ResMut<BodyTrack>,
    ships: Query<(), With<galaxy_shared::components::Ship>>,
) {
    let track = &mut *track;
    let n = bodies.state.len();
    track.bodies = n;
    track.substep = plan.substep();
    track.gms.clone_from(&bodies.state.gms);
    track.radii.clone_from(&bodies.catalog.radii);
    track.soi.clone_from(&bodies.soi);
    track.parents.clone_from(&bodies.catalog.parents);
    track.j2_r2.clear();
    track.j2_r2.extend(
        bodies
            .catalog
            .oblateness
            .iter()
            .map(|o| o.filter(|_| bodies.oblate).map_or(0.0, |o| o.j2_r2())),
    );
    let rotations = &bodies.catalog.rotations;
    track.poles.clear();
    track
        .poles
        .extend(rotations.iter().map(|m| m.pole(clock.game_time)));
    track.orientations.clear();
    track
        .orientations
        .extend(rotations.iter().map(|m| m.orientation(clock.game_time)));
    track.spin_rates.clear();
    track
        .spin_rates
        .extend(rotations.iter().map(|m| m.spin_rate()));
    track.positions.clear();
    track.velocities.clear();
    let record = !ships.is_empty();
    if record {
        track.positions.extend_from_slice(&bodies.state.positions);
        track.velocities.extend_from_slice(&bodies.state.velocities);
    }
    if plan.body_steps == 0 {
        return;
    }
    let body_dt = plan.dt / f64::from(plan.body_steps);
    let per_step = plan.substeps_per_body_step as usize;
    let integrator = bodies.integrator;
    for _ in 0..plan.body_steps {
        let start = track.positions.len().saturating_sub(n);
        bodies.state.step(integrator, body_dt);
        if !record {
            continue;
        }
        for j in 1..=per_step {
            if j == per_step {
                track.positions.extend_from_slice(&bodies.state.positions);
                track.velocities.extend_from_slice(&bodies.state.velocities);
                continue;
            }
            let s = j as f64 / per_step as f64;
            for b in 0..n {
                let (p, v) = hermite(
                    track.positions[start + b],
                    track.velocities[start + b],
                    bodies.state.positions[b],
                    bodies.state.velocities[b],
                    body_dt,
                    s,
                );
                track.positions.push(p);
                track.velocities.push(v);
            }
        }
    }
    bodies.update_spheres_of_influence();
}

/// Reads the body entities into the N-body arrays; a state set on an entity (not
/// by the last scatter) starts without the old rounding carry.
fn gather_body_entities(
    mut bodies: ResMut<Bodies>,
    entities: Query<(&Body, &Position, &Velocity), Or<(Changed<Position>, Changed<Velocity>)>>,
) {
    let state = &mut bodies.bypass_change_detection().state;
    for (body, position, velocity) in &entities {
        let i = body.index;
        if i >= state.len() {
            continue;
        }
        if state.positions[i] != position.0 {
            state.positions[i] = position.0;
            state.position_carry[i] = DVec3::ZERO;
        }
        if state.velocities[i] != velocity.0 {
            state.velocities[i] = velocity.0;
            state.velocity_carry[i] = DVec3::ZERO;
        }
    }
}

/// Writes the stepped N-body arrays back into the body entities.
fn scatter_body_entities(
    bodies: Res<Bodies>,
    mut entities: Query<(&Body, &mut Position, &mut Velocity)>,
) {
    for (body, mut position, mut velocity) in &mut entities {
        let i = body.index;
        if let (Some(&p), Some(&v)) = (
            bodies.state.positions.get(i),
            bodies.state.velocities.get(i),
        ) {
            position.set_if_neq(Position(p));
            velocity.set_if_neq(Velocity(v));
        }
    }
}
