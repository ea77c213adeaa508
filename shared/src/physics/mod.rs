//! Pure physics: gravity, integrators, orbits, rockets, attitude, and how bodies
//! turn and bulge.
//!
//! All functions take and return f64 glam types in SI units in the barycentric ICRF
//! frame; the ECS systems on the server only move data in and out of them.

pub mod approach;
pub mod attitude;
pub mod coast;
pub mod compensated;
pub mod contact;
pub mod gravity;
pub mod integrator;
pub mod kepler;
pub mod lambert;
pub mod lanes;
pub mod leapfrog;
pub mod manoeuvre;
pub mod oblateness;
pub mod orbit;
pub mod predict;
#[cfg(test)]
mod reference;
pub mod rocket;
pub mod rotation;
pub mod transfer;
