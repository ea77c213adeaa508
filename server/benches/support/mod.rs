//! What both benchmarks build: the shipped config and a server full of ships.

use bevy::prelude::*;
use galaxy_server::config::Config;
use galaxy_server::ephemeris::{Bodies, load_bodies};
use galaxy_server::ships::Owner;
use galaxy_server::ships::spawn::{random_spawn_slot, ship_bundle};
use galaxy_server::{Drive, server_app};
use galaxy_shared::components::{Controls, HoldMode};

/// The compiled-in configuration.
pub fn config() -> Config {
    Config::defaults().expect("compiled-in defaults")
}

/// A manually driven server at the configured start epoch, before start-up.
pub fn server() -> App {
    let config = config();
    let (bodies, start) = load_bodies(&config).expect("ephemeris");
    let mut app = server_app(config, bodies, start, Drive::Manual);
    app.finish();
    app.cleanup();
    app
}

/// A started server with `ships` owned ships in random 400 km Earth orbits; every
/// fourth holds prograde, so the attitude controller is part of the cost, as in play.
pub fn server_with_ships(ships: usize) -> App {
    let mut app = server();
    app.update();
    let config = app.world().resource::<Config>().clone();
    let bodies = app.world().resource::<Bodies>().clone();
    let spec = config.ship.spec();
    let mut rng = fastrand::Rng::with_seed(7);
    for i in 0..ships {
        let slot = random_spawn_slot(&config, &bodies, &mut rng);
        let owner = Owner {
            player: i as u64 + 1,
            name: format!("player{i}"),
        };
        let mut ship = app.world_mut().spawn((
            ship_bundle(format!("ship of player{i}"), slot, &spec),
            owner,
        ));
        if i % 4 == 0 {
            ship.insert(Controls::Hold(HoldMode::Prograde));
        }
    }
    app
}
