//! Where and how ships come into the world: the circular spawn orbit.

use bevy::prelude::*;
use galaxy_shared::components::{
    AngularVelocity, Attitude, Controls, FlightState, Fuel, Position, Ship, Throttle, Velocity,
    WheelMomentum,
};
use galaxy_shared::physics::orbit::circular_speed;
use glam::{DQuat, DVec3};
use std::f64::consts::TAU;

use super::ShipName;
use super::flight::{DominantBody, PositionCarry};
use crate::config::{Config, ShipSpec};
use crate::ephemeris::Bodies;

pub(super) fn plugin(app: &mut App) {
    let seed = app.world().resource::<Config>().ship.seed;
    app.insert_resource(SpawnRng(fastrand::Rng::with_seed(seed)));
}

/// Random source for spawn phases, seeded from the config so runs repeat exactly.
#[derive(Resource, Debug)]
pub struct SpawnRng(pub fastrand::Rng);

/// A ship's state in a circular orbit.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OrbitSlot {
    /// Barycentric position (m).
    pub position: DVec3,
    /// Barycentric velocity (m/s).
    pub velocity: DVec3,
    /// Nose along the velocity relative to the body.
    pub attitude: DQuat,
}

/// A circular orbit of `radius` about the body at `center`/`center_velocity`, in
/// the plane tilted by `inclination` about the ICRF X axis then turned by `node`
/// about Z, at angle `phase` from the node; prograde (counter-clockwise about +Z
/// for zero inclination, the sense Earth turns in ICRF).
pub fn circular_orbit(
    center: DVec3,
    center_velocity: DVec3,
    gm: f64,
    radius: f64,
    phase: f64,
    inclination: f64,
    node: f64,
) -> OrbitSlot {
    let plane = DQuat::from_rotation_z(node) * DQuat::from_rotation_x(inclination);
    let radial = plane * DVec3::new(phase.cos(), phase.sin(), 0.0);
    let along = plane * DVec3::new(-phase.sin(), phase.cos(), 0.0);
    OrbitSlot {
        position: center + radial * radius,
        velocity: center_velocity + along * circular_speed(radius, gm),
        attitude: DQuat::from_rotation_arc(DVec3::Z, along),
    }
}

/// The spawn orbit of the config around its spawn body, at a random phase.
pub fn spawn_slot(config: &Config, bodies: &Bodies, rng: &mut fastrand::Rng) -> OrbitSlot {
    spawn_orbit(config, bodies, rng.f64() * TAU, 0.0, 0.0)
}

/// A spawn-altitude circular orbit about the spawn body in a uniformly random
/// plane at a random phase: the load `simulate --ships` and the benchmarks use.
pub fn random_spawn_slot(config: &Config, bodies: &Bodies, rng: &mut fastrand::Rng) -> OrbitSlot {
    let phase = rng.f64() * TAU;
    let inclination = (rng.f64() * 2.0 - 1.0).acos();
    spawn_orbit(config, bodies, phase, inclination, rng.f64() * TAU)
}

fn spawn_orbit(
    config: &Config,
    bodies: &Bodies,
    phase: f64,
    inclination: f64,
    node: f64,
) -> OrbitSlot {
    let body = bodies
        .catalog
        .index_of(&config.ship.spawn_body)
        .unwrap_or(0);
    circular_orbit(
        bodies.state.positions[body],
        bodies.state.velocities[body],
        bodies.state.gms[body],
        bodies.catalog.radii[body] + config.ship.spawn_altitude_m,
        phase,
        inclination,
        node,
    )
}

/// A ship entity's components in `slot` with a full tank, engine cut, holding still.
pub fn ship_bundle(name: String, slot: OrbitSlot, spec: &ShipSpec) -> impl Bundle {
    (
        ShipName(name.into()),
        Ship,
        Position(slot.position),
        PositionCarry::default(),
        Velocity(slot.velocity),
        Attitude(slot.attitude),
        (
            AngularVelocity::default(),
            WheelMomentum::default(),
            Fuel(spec.fuel_capacity),
            Throttle(0.0),
            Controls::default(),
            FlightState::Flying,
            DominantBody::default(),
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn circular_orbit_has_the_right_radius_speed_and_sense() {
        let gm = 3.986_004_418e14;
        let slot = circular_orbit(DVec3::ZERO, DVec3::ZERO, gm, 6.771e6, 1.0, 0.0, 0.0);
        assert!((slot.position.length() - 6.771e6).abs() < 1e-6);
        assert!((slot.velocity.length() - (gm / 6.771e6).sqrt()).abs() < 1e-9);
        assert!(
            slot.position.cross(slot.velocity).z > 0.0,
            "prograde about +Z"
        );
        assert!(slot.position.dot(slot.velocity).abs() < 1e-3);
        let nose = slot.attitude * DVec3::Z;
        assert!(nose.dot(slot.velocity.normalize()) > 1.0 - 1e-12);
    }
}
