//! What the server reads from outside the process besides the network: the config
//! file (with its environment overrides) and the world snapshot blob. Both are
//! hostile input until checked, so they live apart from sockets and databases,
//! where the fuzzers (`fuzz/`) build them alone.

pub mod config;
pub mod snapshot;
