//! What both benchmarks build: the shipped config and a server full of ships.

use bevy::prelude::*;
use galaxy_server::config::Config;
use galaxy_server::ephemeris::{Bodies, load_bodies};
use galaxy_server::ships::Owner;
use galaxy_server::ships::spawn::{random_spawn_slot, ship_bundle};
use galaxy_server::{Drive, server_app};
use galaxy_shared::components::{Controls, HoldMode, Throttle};

/// The compiled-in configuration.
pub fn config() -> Config {
    Config::defaults().expect("compiled-in defaults")
}

/// A manually driven server on `config` at its start epoch, before start-up.
pub fn server_from(config: Config) -> App {
    let (bodies, start) = load_bodies(&config).expect("ephemeris");
    let mut app = server_app(config, bodies, start, Drive::Manual);
    app.finish();
    app.cleanup();
    app
}

/// A started server with `ships` owned ships in random 400 km Earth orbits; every
/// fourth holds prograde, so the attitude controller is part of the cost, as in play.
pub fn server_with_ships(ships: usize) -> App {
    fleet(config(), ships, Some(4), 0.0)
}

/// A started server on `config` with `ships` owned ships in random 400 km Earth
/// orbits at `throttle`; every `prograde_every`-th holds prograde.
pub fn fleet(config: Config, ships: usize, prograde_every: Option<usize>, throttle: f64) -> App {
    let mut app = server_from(config);
    app.update();
    let config = app.world().resource::<Config>().clone();
    let bodies = app.world().resource::<Bodies>().clone();
    let spec = config.ship.spec();
    let mut rng = fastrand::Rng::with_seed(7);
    for i in 0..ships {
        let slot = random_spawn_slot(&config, &bodies, &mut rng);
        let owner = Owner {
            player: i as u64 + 1,
            name: format!("player{i}").into(),
        };
        let mut ship = app.world_mut().spawn((
            ship_bundle(format!("ship of player{i}"), slot, &spec),
            owner,
        ));
        if prograde_every.is_some_and(|every| i % every == 0) {
            ship.insert(Controls::Hold(HoldMode::Prograde));
        }
        if throttle > 0.0 {
            ship.insert(Throttle(throttle));
        }
    }
    app
}
