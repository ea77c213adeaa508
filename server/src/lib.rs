//! Galaxy's authoritative server: a headless Bevy app made of one plugin per concern.
//!
//! [`server_app`] builds the app from a [`Config`]; `main.rs` runs it in real time
//! or, for `simulate`, steps it as fast as it can.

pub mod admin;
pub mod agones;
pub mod auth;
pub mod bridge;
pub mod dashboard;
pub mod db;
pub mod ephemeris;
pub mod gravity;
pub mod logging;
pub mod net;
pub mod persistence;
pub mod roster;
pub mod secrets;
pub mod services;
pub mod ships;
pub mod simulate;
pub mod telemetry;
pub mod tick;
pub mod warp;
pub mod web;

pub use galaxy_formats::config;

use std::time::Duration;

use bevy::app::{ScheduleRunnerPlugin, TaskPoolOptions};
use bevy::prelude::*;

use config::Config;
use ephemeris::Bodies;

/// The order of work inside every tick, configured once here; plugins only say
/// which set their systems belong to.
#[derive(SystemSet, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SimSystems {
    /// Player and admin messages change controls, clock and ships.
    Input,
    /// The tick decides how much game time it covers and how to split it.
    Plan,
    /// The N-body step and the body track.
    Bodies,
    /// Ships fly every substep: rotation, thrust, gravity and surface contact.
    Ships,
    /// Consequences of the step: contacts and services are reported.
    Resolve,
    /// Game time advances; entities and metrics are brought up to date.
    Publish,
}

/// How the app is driven.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Drive {
    /// Bevy's loop paced in real time at the tick rate.
    RealTime,
    /// No runner: the caller steps the schedules (tests, `simulate`).
    Manual,
}

/// Thread pools for a simulation server: ship integration is the one heavy job, so
/// the compute pool gets every core; Bevy's default leaves it one core of two.
fn simulation_task_pools() -> TaskPoolOptions {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let mut options = TaskPoolOptions::default();
    options.compute.min_threads = cores;
    options
}

/// Builds the server app: bodies loaded and propagated to the start epoch, every
/// simulation plugin added.
pub fn server_app(config: Config, bodies: Bodies, start_time: f64, drive: Drive) -> App {
    let mut app = App::new();
    let runner = match drive {
        // Waking twice per tick keeps the fixed loop's jitter under half a tick.
        Drive::RealTime => {
            ScheduleRunnerPlugin::run_loop(Duration::from_secs_f64(config.tick_period() / 2.0))
        }
        Drive::Manual => ScheduleRunnerPlugin::run_once(),
    };
    app.add_plugins(MinimalPlugins.set(runner).set(TaskPoolPlugin {
        task_pool_options: simulation_task_pools(),
    }));
    app.insert_resource(config.ship.spec())
        .insert_resource(bodies)
        .insert_resource(config);
    app.configure_sets(
        FixedUpdate,
        (
            SimSystems::Input,
            SimSystems::Plan,
            SimSystems::Bodies,
            SimSystems::Ships,
            SimSystems::Resolve,
            SimSystems::Publish,
        )
            .chain(),
    );
    app.add_plugins((
        tick::plugin,
        ephemeris::plugin,
        gravity::plugin,
        ships::plugin,
        roster::plugin,
        admin::plugin,
    ));
    app.world_mut().resource_mut::<tick::SimClock>().game_time = start_time;
    app
}
