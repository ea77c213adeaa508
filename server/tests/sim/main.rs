//! Simulation tests: the server's plugins in an `App` stepped by hand, checked
//! against physics (Kepler, the rocket equation, published periods) and the rules
//! of the spec.

mod bodies;
mod harness;
mod lander;
mod lanes;
mod predict;
mod ships;
mod surface;
mod target;
mod tick;
mod transfer;
