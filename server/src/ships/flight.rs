//! Ship flight: gravity, thrust, rotation and surface contact, substep by substep.
//!
//! Each ship runs all substeps of a tick in one go over the shared [`BodyTrack`],
//! so its data stays in cache and ships are integrated in parallel. Translation is
//! kick-drift-kick leapfrog with the engine's delta-v split between the two kicks:
//! the velocity change of a burn is exactly the rocket equation's, whatever the step.

use bevy::prelude::*;
use galaxy_shared::components::{
    AngularVelocity, Attitude, Controls, FlightState, Fuel, HoldMode, Position, Ship, Throttle,
    Velocity, WheelMomentum,
};
use galaxy_shared::physics::attitude::{
    RotationGoal, RotationState, cylinder_inertia, forward, step_rotation,
};
use galaxy_shared::physics::compensated;
use galaxy_shared::physics::gravity::dominant_body;
use galaxy_shared::physics::rocket::burn;
use glam::DVec3;

use crate::SimSystems;
use crate::config::ShipSpec;
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
            fly(&mut state, pilot, dominant_index, &track, &spec);
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
) {
    let h = track.substep;
    let mut accel = None;
    for k in 0..track.substeps() {
        match state.flight {
            FlightState::Destroyed { body, offset } => {
                rest_on(state, body, offset, track, k + 1);
                continue;
            }
            FlightState::Landed { body, offset } => {
                rotate(state, pilot, dominant, track, k, spec, h);
                if !lifts_off(state, pilot, body, offset, track, spec) {
                    rest_on(state, body, offset, track, k + 1);
                    continue;
                }
                state.flight = FlightState::Flying;
                accel = None;
            }
            FlightState::Flying => rotate(state, pilot, dominant, track, k, spec, h),
        }
        let dv = engine_delta_v(state, pilot.throttle, spec, h);
        accel = fly_substep(state, accel, dv, track, k, spec);
    }
}

fn rest_on(state: &mut ShipState, body: usize, offset: DVec3, track: &BodyTrack, k: usize) {
    state.position = track.positions_at(k)[body] + offset;
    state.carry = DVec3::ZERO;
    state.velocity = track.velocities_at(k)[body];
}

/// A landed ship leaves the surface once its thrust outweighs local gravity.
fn lifts_off(
    state: &ShipState,
    pilot: Pilot,
    body: usize,
    offset: DVec3,
    track: &BodyTrack,
    spec: &ShipSpec,
) -> bool {
    if pilot.throttle <= 0.0 || state.fuel <= 0.0 {
        return false;
    }
    let up = offset.normalize_or_zero();
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
    let goal = match pilot.controls {
        Controls::Rates(rates) => RotationGoal::Torque(rates),
        Controls::Hold(HoldMode::Stability) => RotationGoal::Rate(DVec3::ZERO),
        Controls::Hold(mode) => {
            let r = state.position - track.positions_at(k)[dominant];
            let v = state.velocity - track.velocities_at(k)[dominant];
            mode.direction(r, v)
                .map_or(RotationGoal::Rate(DVec3::ZERO), RotationGoal::Point)
        }
    };
    let idle = goal == RotationGoal::Rate(DVec3::ZERO)
        && state.rotation.angular_velocity == DVec3::ZERO
        && state.rotation.wheel_momentum == DVec3::ZERO;
    if idle {
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

/// Gravity at `position` and the body whose surface is nearest, with its altitude.
#[inline]
fn gravity_and_nearest(
    position: DVec3,
    bodies: &[DVec3],
    gms: &[f64],
    radii: &[f64],
) -> (DVec3, usize, f64) {
    let mut accel = DVec3::ZERO;
    let (mut nearest, mut altitude) = (0, f64::INFINITY);
    for (b, ((&center, &gm), &radius)) in bodies.iter().zip(gms).zip(radii).enumerate() {
        let d = center - position;
        let r2 = d.length_squared();
        let r = r2.sqrt();
        accel += d * (gm / (r2 * r));
        if r - radius < altitude {
            altitude = r - radius;
            nearest = b;
        }
    }
    (accel, nearest, altitude)
}

/// One substep of translation; returns the acceleration at its end for reuse.
fn fly_substep(
    state: &mut ShipState,
    accel: Option<DVec3>,
    dv: DVec3,
    track: &BodyTrack,
    k: usize,
    spec: &ShipSpec,
) -> Option<DVec3> {
    let h = track.substep;
    let (start_accel, nearest, altitude) = gravity_and_nearest(
        state.position,
        track.positions_at(k),
        &track.gms,
        &track.radii,
    );
    let start_accel = accel.unwrap_or(start_accel);
    let closing = (state.velocity - track.velocities_at(k)[nearest]).length() + dv.length();
    let travel = closing * h * SURFACE_LOOKAHEAD;
    if altitude > travel {
        let end = track.positions_at(k + 1);
        return kick_drift_kick(
            state,
            start_accel,
            dv,
            h,
            end,
            track.velocities_at(k + 1),
            track,
            spec,
        );
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
        track.interpolate(
            k,
            piece as f64 / pieces as f64,
            &mut positions,
            &mut velocities,
        );
        let h_piece = h / pieces as f64;
        match kick_drift_kick(
            state,
            piece_accel,
            dv / pieces as f64,
            h_piece,
            &positions,
            &velocities,
            track,
            spec,
        ) {
            Some(next) => piece_accel = next,
            None => return None,
        }
    }
    Some(piece_accel)
}

/// Kick-drift-kick to bodies at `end`; `None` when the ship touched a surface.
fn kick_drift_kick(
    state: &mut ShipState,
    start_accel: DVec3,
    dv: DVec3,
    h: f64,
    end: &[DVec3],
    end_velocities: &[DVec3],
    track: &BodyTrack,
    spec: &ShipSpec,
) -> Option<DVec3> {
    state.velocity += start_accel * (0.5 * h) + dv * 0.5;
    compensated::add_vec(&mut state.position, &mut state.carry, state.velocity * h);
    let (end_accel, nearest, altitude) =
        gravity_and_nearest(state.position, end, &track.gms, &track.radii);
    state.velocity += end_accel * (0.5 * h) + dv * 0.5;
    if altitude >= 0.0 {
        return Some(end_accel);
    }
    let center = end[nearest];
    let relative = state.velocity - end_velocities[nearest];
    let outward = (state.position - center).normalize_or_zero();
    if relative.dot(outward) >= 0.0 {
        // Leaving the surface (a lift-off in progress): not a contact.
        return Some(end_accel);
    }
    let offset = outward * track.radii[nearest];
    state.flight = if relative.length() <= spec.landing_speed {
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
    state.position = center + offset;
    state.carry = DVec3::ZERO;
    state.velocity = end_velocities[nearest];
    None
}
