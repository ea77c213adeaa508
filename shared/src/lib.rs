//! Galaxy's shared crate: units, the physics of bodies and ships as plain f64
//! functions, and the ECS component types both the server and the client use.
//!
//! Nothing here does I/O or rendering, so every rule of the game can be unit-tested
//! without an `App`.

pub mod admin;
pub mod components;
pub mod delta;
pub mod flight_plan;
pub mod guard;
pub mod physics;
pub mod protocol;
pub mod units;
