//! Ship flight: gravity, thrust, rotation and surface contact.
//!
//! Each ship runs all substeps of a tick in one go over the shared [`BodyTrack`],
//! so its data stays in cache and ships are integrated in parallel. A ship under
//! thrust, turning, or near a surface takes every substep: kick-drift-kick leapfrog
//! with the engine's delta-v split between the two kicks, so the velocity change of
//! a burn is exactly the rocket equation's, whatever the step. Every other ship
//! coasts ([`super::coast`]): a few long, near-exact steps per tick at any warp.
//! Landed ships and wrecks sit at a body-fixed point and turn with their body.

use bevy::prelude::*;
use galaxy_shared::components::{
    AngularVelocity, Attitude, Controls, FlightState, Fuel, HoldMode, Position, Ship, Throttle,
    Velocity, WheelMomentum,
};
use galaxy_shared::physics::attitude::{
    RotationGoal, RotationState, at_rest, cylinder_inertia, forward, step_rotation,
};
use galaxy_shared::physics::compensated;
use galaxy_shared::physics::gravity::dominant_body;
use galaxy_shared::physics::oblateness::j2_acceleration;
use galaxy_shared::physics::rocket::burn;
use glam::DVec3;

use super::coast::{self, CoastSettings};
use crate::SimSystems;
use crate::config::{Config, ShipSpec};
use crate::gravity::BodyTrack;

pub(super) fn plugin(app: &mut App) {
    app.add_systems(FixedUpdate, integrate_ships.in_set(SimSystems::Ships));
}

/// Rounding carried by the compensated position sum of a ship.
#[derive(Component, Clone, Copy, Debug, Default, PartialEq)]
pub struct PositionCarry(pub DVec3);

/// The body whose sphere of influence holds the ship, as an N-body slot; hold modes,
/// altitude and orbital elements refer to it.
#[derive(Component, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DominantBody(pub usize);

/// Everything one ship's flight changes, gathered from its components.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ShipState {
    /// Barycentric position (m).
    pub position: DVec3,
    /// Rounding carried by the position sum.
    pub carry: DVec3,
    /// Barycentric velocity (m/s).
    pub velocity: DVec3,
    /// Attitude, body rates and wheel momentum.
    pub rotation: RotationState,
    /// Propellant (kg).
    pub fuel: f64,
    /// Flying, landed or destroyed.
    pub flight: FlightState,
}

/// What the pilot has set for this tick.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Pilot {
    /// Main-engine throttle 0..1.
    pub throttle: f64,
    /// Rotation commands or hold mode.
    pub controls: Controls,
}

/// A substep closer to a surface than this many substeps of travel is split finely.
const SURFACE_LOOKAHEAD: f64 = 2.0;
/// Most pieces a substep is split into near a surface.
const MAX_SURFACE_PIECES: f64 = 256.0;

fn integrate_ships(
    track: Res<BodyTrack>,
    spec: Res<ShipSpec>,
    config: Res<Config>,
    mut ships: Query<
        (
            &mut Position,
            &mut PositionCarry,
            &mut Velocity,
            &mut Attitude,
            &mut AngularVelocity,
            &mut WheelMomentum,
            &mut Fuel,
            &mut FlightState,
            &mut DominantBody,
            &Throttle,
            &Controls,
        ),
        With<Ship>,
    >,
) {
    if track.substeps() == 0 {
        return;
    }
    let settings = CoastSettings::from_config(&config);
    ships.par_iter_mut().for_each(
        |(
            mut position,
            mut carry,
            mut velocity,
            mut attitude,
            mut rate,
            mut wheels,
            mut fuel,
            mut flight,
            mut dominant,
            throttle,
            controls,
        )| {
            let mut state = ShipState {
                position: position.0,
                carry: carry.0,
                velocity: velocity.0,
                rotation: RotationState {
                    attitude: attitude.0,
                    angular_velocity: rate.0,
                    wheel_momentum: wheels.0,
                },
                fuel: fuel.0,
                flight: *flight,
            };
            let pilot = Pilot {
                throttle: throttle.0,
                controls: *controls,
            };
            let dominant_index = dominant_body(state.position, track.positions_at(0), &track.soi);
            fly(&mut state, pilot, dominant_index, &track, &spec, settings);
            dominant.set_if_neq(DominantBody(dominant_index));
            position.0 = state.position;
            carry.0 = state.carry;
            velocity.0 = state.velocity;
            attitude.0 = state.rotation.attitude;
            rate.0 = state.rotation.angular_velocity;
            wheels.0 = state.rotation.wheel_momentum;
            fuel.0 = state.fuel;
            flight.set_if_neq(state.flight);
        },
    );
}

/// Flies one ship through every substep of `track`.
pub fn fly(
    state: &mut ShipState,
    pilot: Pilot,
    dominant: usize,
    track: &BodyTrack,
    spec: &ShipSpec,
    settings: CoastSettings,
) {
    let h = track.substep;
    let n = track.substeps();
    let mut accel = None;
    let mut k = 0;
    // Cleared once coasting declines: the ship takes fine substeps to the tick's end.
    let mut may_coast = settings.enabled;
    while k < n {
        match state.flight {
            FlightState::Destroyed { body, offset } => {
                // A wreck does nothing but turn with its body: straight to the end.
                rest_on(state, body, offset, track, k, n);
                k = n;
                continue;
            }
            FlightState::Landed { body, offset } => {
                rotate(state, pilot, dominant, track, k, spec, h);
                if !lifts_off(state, pilot, body, offset, track, k, spec) {
                    rest_on(state, body, offset, track, k, k + 1);
                    k += 1;
                    continue;
                }
                state.flight = FlightState::Flying;
                accel = None;
            }
            FlightState::Flying => {
                if may_coast && pilot.coasts(state, dominant, track, k, spec) {
                    let reached = coast::coast(state, dominant, k, track, settings);
                    if reached > k {
                        k = reached;
                        accel = None;
                        continue;
                    }
                    may_coast = false;
                }
                rotate(state, pilot, dominant, track, k, spec, h);
            }
        }
        let dv = engine_delta_v(state, pilot.throttle, spec, h);
        accel = fly_substep(state, accel, dv, dominant, track, k, spec);
        k += 1;
    }
}

impl Pilot {
    fn goal(
        &self,
        state: &ShipState,
        dominant: usize,
        track: &BodyTrack,
        k: usize,
    ) -> RotationGoal {
        match self.controls {
            Controls::Rates(rates) => RotationGoal::Torque(rates),
            Controls::Hold(HoldMode::Stability) => RotationGoal::Rate(DVec3::ZERO),
            Controls::Hold(mode) => {
                let r = state.position - track.positions_at(k)[dominant];
                let v = state.velocity - track.velocities_at(k)[dominant];
                mode.direction(r, v)
                    .map_or(RotationGoal::Rate(DVec3::ZERO), RotationGoal::Point)
            }
        }
    }

    /// No thrust and no rotation: the ship's path is gravity's alone.
    fn coasts(
        &self,
        state: &ShipState,
        dominant: usize,
        track: &BodyTrack,
        k: usize,
        spec: &ShipSpec,
    ) -> bool {
        let thrusting = self.throttle > 0.0 && state.fuel > 0.0;
        let goal = self.goal(state, dominant, track, k);
        !thrusting && at_rest(&state.rotation, goal, &spec.attitude, state.fuel)
    }
}

/// Moves a resting ship from substep boundary `from` to `to` with the surface of
/// `body`, at its body-fixed `offset`: carried along and turned with the ground.
fn rest_on(
    state: &mut ShipState,
    body: usize,
    offset: DVec3,
    track: &BodyTrack,
    from: usize,
    to: usize,
) {
    let relative = track.orientation_at(body, to as f64 * track.substep) * offset;
    state.position = track.positions_at(to)[body] + relative;
    state.carry = DVec3::ZERO;
    state.velocity = track.velocities_at(to)[body] + track.angular_velocity(body).cross(relative);
    let turn = glam::DQuat::from_axis_angle(
        track.poles[body],
        track.spin_rates[body] * (to - from) as f64 * track.substep,
    );
    state.rotation.attitude = (turn * state.rotation.attitude).normalize();
}

/// A landed ship leaves the surface once its thrust outweighs local gravity.
fn lifts_off(
    state: &ShipState,
    pilot: Pilot,
    body: usize,
    offset: DVec3,
    track: &BodyTrack,
    k: usize,
    spec: &ShipSpec,
) -> bool {
    if pilot.throttle <= 0.0 || state.fuel <= 0.0 {
        return false;
    }
    let up = (track.orientation_at(body, k as f64 * track.substep) * offset).normalize_or_zero();
    let thrust_accel = pilot.throttle * spec.thrust / (spec.dry_mass + state.fuel);
    let gravity = track.gms[body] / offset.length_squared();
    thrust_accel * forward(state.rotation.attitude).dot(up) > gravity
}

fn rotate(
    state: &mut ShipState,
    pilot: Pilot,
    dominant: usize,
    track: &BodyTrack,
    k: usize,
    spec: &ShipSpec,
    h: f64,
) {
    let goal = pilot.goal(state, dominant, track, k);
    if at_rest(&state.rotation, goal, &spec.attitude, state.fuel) {
        return;
    }
    let inertia = cylinder_inertia(spec.dry_mass + state.fuel, spec.radius, spec.length);
    let actuation = step_rotation(
        &mut state.rotation,
        goal,
        inertia,
        &spec.attitude,
        state.fuel,
        h,
    );
    state.fuel = (state.fuel - actuation.fuel_used).max(0.0);
}

/// Burns the main engine for one substep; the returned delta-v is the rocket
/// equation's for the propellant burned, along the nose.
fn engine_delta_v(state: &mut ShipState, throttle: f64, spec: &ShipSpec, h: f64) -> DVec3 {
    let (used, _) = burn(throttle * spec.thrust, spec.exhaust_velocity, state.fuel, h);
    if used <= 0.0 {
        return DVec3::ZERO;
    }
    let m0 = spec.dry_mass + state.fuel;
    state.fuel -= used;
    let dv = galaxy_shared::physics::rocket::delta_v(spec.exhaust_velocity, m0, m0 - used);
    forward(state.rotation.attitude) * dv
}

/// Gravity at `position` (point masses, plus the J2 of `dominant`) and the body
/// whose surface is nearest, with its altitude.
#[inline]
fn gravity_and_nearest(
    position: DVec3,
    bodies: &[DVec3],
    dominant: usize,
    track: &BodyTrack,
) -> (DVec3, usize, f64) {
    let mut accel = DVec3::ZERO;
    let (mut nearest, mut altitude) = (0, f64::INFINITY);
    for (b, ((&center, &gm), &radius)) in
        bodies.iter().zip(&track.gms).zip(&track.radii).enumerate()
    {
        let d = center - position;
        let r2 = d.length_squared();
        let r = r2.sqrt();
        accel += d * (gm / (r2 * r));
        if r - radius < altitude {
            altitude = r - radius;
            nearest = b;
        }
    }
    let j2_r2 = track.j2_r2[dominant];
    if j2_r2 > 0.0 {
        accel += j2_acceleration(
            position - bodies[dominant],
            track.poles[dominant],
            track.gms[dominant],
            j2_r2,
        );
    }
    (accel, nearest, altitude)
}

/// One substep of translation; returns the acceleration at its end for reuse.
fn fly_substep(
    state: &mut ShipState,
    accel: Option<DVec3>,
    dv: DVec3,
    dominant: usize,
    track: &BodyTrack,
    k: usize,
    spec: &ShipSpec,
) -> Option<DVec3> {
    let h = track.substep;
    let (start_accel, nearest, altitude) =
        gravity_and_nearest(state.position, track.positions_at(k), dominant, track);
    let start_accel = accel.unwrap_or(start_accel);
    let closing = (state.velocity - track.velocities_at(k)[nearest]).length() + dv.length();
    let travel = closing * h * SURFACE_LOOKAHEAD;
    let contact = Contact {
        dominant,
        track,
        spec,
    };
    if altitude > travel {
        let end = Instant {
            tau: (k + 1) as f64 * h,
            positions: track.positions_at(k + 1),
            velocities: track.velocities_at(k + 1),
        };
        return contact.kick_drift_kick(state, start_accel, dv, h, &end);
    }
    // Close to a surface: split the substep so the touchdown speed is resolved.
    let pieces = (travel / altitude.max(1.0))
        .clamp(1.0, MAX_SURFACE_PIECES)
        .ceil() as usize;
    let (mut positions, mut velocities) = (
        Vec::with_capacity(track.bodies),
        Vec::with_capacity(track.bodies),
    );
    let mut piece_accel = start_accel;
    for piece in 1..=pieces {
        let fraction = piece as f64 / pieces as f64;
        track.interpolate(k, fraction, &mut positions, &mut velocities);
        let end = Instant {
            tau: (k as f64 + fraction) * h,
            positions: &positions,
            velocities: &velocities,
        };
        let h_piece = h / pieces as f64;
        piece_accel =
            contact.kick_drift_kick(state, piece_accel, dv / pieces as f64, h_piece, &end)?;
    }
    Some(piece_accel)
}

/// The bodies at one moment of the tick.
struct Instant<'a> {
    /// Seconds into the tick.
    tau: f64,
    positions: &'a [DVec3],
    velocities: &'a [DVec3],
}

/// What a fine step needs to find and settle a touchdown.
struct Contact<'a> {
    dominant: usize,
    track: &'a BodyTrack,
    spec: &'a ShipSpec,
}

impl Contact<'_> {
    /// Kick-drift-kick to the bodies at `end`; `None` when the ship touched a surface.
    fn kick_drift_kick(
        &self,
        state: &mut ShipState,
        start_accel: DVec3,
        dv: DVec3,
        h: f64,
        end: &Instant,
    ) -> Option<DVec3> {
        state.velocity += start_accel * (0.5 * h) + dv * 0.5;
        compensated::add_vec(&mut state.position, &mut state.carry, state.velocity * h);
        let (end_accel, nearest, altitude) =
            gravity_and_nearest(state.position, end.positions, self.dominant, self.track);
        state.velocity += end_accel * (0.5 * h) + dv * 0.5;
        if altitude >= 0.0 {
            return Some(end_accel);
        }
        let center = end.positions[nearest];
        let outward = (state.position - center).normalize_or_zero();
        let surface = outward * self.track.radii[nearest];
        let spin = self.track.angular_velocity(nearest);
        let ground = end.velocities[nearest] + spin.cross(surface);
        let relative = state.velocity - ground;
        if relative.dot(outward) >= 0.0 {
            // Leaving the surface (a lift-off in progress): not a contact.
            return Some(end_accel);
        }
        let offset = self.track.orientation_at(nearest, end.tau).inverse() * surface;
        state.flight = if relative.length() <= self.spec.landing_speed {
            FlightState::Landed {
                body: nearest,
                offset,
            }
        } else {
            FlightState::Destroyed {
                body: nearest,
                offset,
            }
        };
        state.position = center + surface;
        state.carry = DVec3::ZERO;
        state.velocity = ground;
        None
    }
}
