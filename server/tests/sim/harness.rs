//! A server app built from the shipped config, stepped tick by tick.

use bevy::app::FixedMain;
use bevy::prelude::*;
use galaxy_server::config::Config;
use galaxy_server::ephemeris::{Bodies, load_bodies};
use galaxy_server::ships::executor::ManoeuvreSchedule;
use galaxy_server::ships::spawn::{OrbitSlot, circular_orbit, ship_bundle};
use galaxy_server::ships::{ShipAction, ShipCommand, ShipEvent};
use galaxy_server::tick::SimClock;
use galaxy_server::{Drive, server_app};
use galaxy_shared::physics::predict::PredictionBodies;
use glam::DVec3;

/// The compiled-in config with the given overrides.
pub fn config(overrides: &[(&str, &str)]) -> Config {
    let vars = overrides
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()));
    Config::parse("", "no file", vars).expect("the defaults are valid")
}

/// A manually driven server app.
pub struct Sim {
    pub app: App,
}

impl Sim {
    pub fn new(config: Config) -> Self {
        let (bodies, start) = load_bodies(&config).expect("shipped ephemeris loads");
        let mut app = server_app(config, bodies, start, Drive::Manual);
        app.finish();
        app.cleanup();
        app.update();
        Self { app }
    }

    pub fn world(&self) -> &World {
        self.app.world()
    }

    pub fn bodies(&self) -> &Bodies {
        self.world().resource::<Bodies>()
    }

    pub fn body(&self, name: &str) -> usize {
        self.bodies().catalog.index_of(name).expect("body exists")
    }

    /// Position and velocity of a body.
    pub fn body_state(&self, name: &str) -> (DVec3, DVec3) {
        let i = self.body(name);
        let state = &self.bodies().state;
        (state.positions[i], state.velocities[i])
    }

    /// A circular equatorial orbit at `altitude` above `body`, at `phase`.
    pub fn orbit_slot(&self, body: &str, altitude: f64, phase: f64) -> OrbitSlot {
        let i = self.body(body);
        let b = self.bodies();
        circular_orbit(
            b.state.positions[i],
            b.state.velocities[i],
            b.state.gms[i],
            b.catalog.radii[i] + altitude,
            phase,
            0.0,
            0.0,
        )
    }

    pub fn spawn(&mut self, slot: OrbitSlot) -> Entity {
        let spec = *self.world().resource::<galaxy_server::config::ShipSpec>();
        self.app
            .world_mut()
            .spawn(ship_bundle("test ship".into(), slot, &spec))
            .id()
    }

    pub fn command(&mut self, ship: Entity, action: ShipAction) {
        self.app
            .world_mut()
            .write_message(ShipCommand { ship, action });
    }

    pub fn set_time_scale(&mut self, scale: f64) {
        self.app.world_mut().resource_mut::<SimClock>().time_scale = scale;
    }

    pub fn clock(&self) -> SimClock {
        *self.world().resource::<SimClock>()
    }

    /// Runs one simulation tick.
    pub fn tick(&mut self) {
        self.app.world_mut().run_schedule(FixedMain);
    }

    /// Runs ticks until `seconds` of game time have passed at the current scale.
    pub fn run_for(&mut self, seconds: f64) {
        let end = self.clock().game_time + seconds;
        let rate = self.world().resource::<Config>().tick.rate_hz;
        let scale = self.clock().time_scale;
        while end - self.clock().game_time > 1e-9 {
            let remaining = end - self.clock().game_time;
            let per_tick = scale / rate;
            if remaining < per_tick {
                self.set_time_scale(remaining * rate);
            }
            self.tick();
        }
        self.set_time_scale(scale);
    }

    /// Runs ticks as `simulate` and the warp policy pace them: long ticks (at most
    /// `longest` s) up to the autopilots' next act, real-time ticks while one
    /// turns or burns, for `seconds` or until `stop` says so after a tick.
    pub fn fly(&mut self, seconds: f64, longest: f64, mut stop: impl FnMut(&mut Sim) -> bool) {
        let rate = self.world().resource::<Config>().tick.rate_hz;
        let scale = self.clock().time_scale;
        let end = self.clock().game_time + seconds;
        // A tick of no time first, so the autopilots schedule what they were
        // just given (as `simulate` does).
        self.set_time_scale(0.0);
        self.tick();
        loop {
            let now = self.clock().game_time;
            if end - now < 1e-9 {
                break;
            }
            let schedule = *self.world().resource::<ManoeuvreSchedule>();
            let until = schedule.next.map_or(f64::INFINITY, |(at, _)| at - now);
            let dt = if schedule.busy || until < 1.0 / rate {
                1.0 / rate
            } else {
                until.min(longest)
            };
            self.set_time_scale(dt.min(end - now) * rate);
            self.tick();
            if stop(self) {
                break;
            }
        }
        self.set_time_scale(scale);
    }

    /// The bodies as the client learns them, now.
    pub fn prediction_bodies(&self) -> PredictionBodies {
        let physics = &self.world().resource::<Config>().physics;
        self.bodies().prediction(
            self.clock().game_time,
            physics.body_step_s,
            physics.coast_steps_per_orbit,
        )
    }

    pub fn get<T: Component + Copy>(&self, ship: Entity) -> T {
        *self.world().get::<T>(ship).expect("ship has the component")
    }

    /// Ship events sent since the last call.
    pub fn events(&mut self) -> Vec<ShipEvent> {
        let mut messages = self.app.world_mut().resource_mut::<Messages<ShipEvent>>();
        messages.drain().collect()
    }
}
