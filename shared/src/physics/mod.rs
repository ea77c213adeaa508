//! Pure physics: gravity, integrators, orbits, rockets and attitude.
//!
//! All functions take and return f64 glam types in SI units in the barycentric ICRF
//! frame; the ECS systems on the server only move data in and out of them.

pub mod attitude;
pub mod compensated;
pub mod gravity;
pub mod integrator;
pub mod orbit;
pub mod rocket;
