//! Accounts and authentication: the rules for names and passwords, argon2id
//! hashing, session JWTs, login throttling and the HTTP API that ties them to the
//! database and the running simulation.

pub mod create_user;
pub mod http;
pub mod jwt;
pub mod password;
pub mod rules;
pub mod throttle;

pub use http::start_http;
