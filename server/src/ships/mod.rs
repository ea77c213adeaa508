//! Player ships: spawning, pilot commands, the burn executor, flight and service
//! requests.

pub mod coast;
mod commands;
mod events;
pub mod executor;
pub mod flight;
pub mod lander;
pub mod spawn;
pub mod target;

use std::sync::Arc;

use bevy::prelude::*;

pub use commands::{ShipAction, ShipCommand, ShipCommandStats};
pub use events::{ShipEvent, ShipEventKind};

/// The player who owns a ship; a ship outlives its player's connection.
#[derive(Component, Clone, Debug, PartialEq, Eq)]
pub struct Owner {
    /// Player id (the netcode client id).
    pub player: u64,
    /// Player name, for admin commands and logs.
    pub name: Arc<str>,
}

/// A ship's name, shared (not copied) with snapshots.
#[derive(Component, Clone, Debug, Default, PartialEq, Eq)]
pub struct ShipName(pub Arc<str>);

pub(super) fn plugin(app: &mut App) {
    app.register_required_components::<galaxy_shared::components::Ship, ShipName>()
        .add_plugins((
            spawn::plugin,
            commands::plugin,
            executor::plugin,
            lander::plugin,
            target::plugin,
            flight::plugin,
        ));
}

/// The word for a flight state in admin replies and metric labels.
pub fn flight_word(flight: &galaxy_shared::components::FlightState) -> &'static str {
    use galaxy_shared::components::FlightState;
    match flight {
        FlightState::Flying => "flying",
        FlightState::Landed { .. } => "landed",
        FlightState::Destroyed { .. } => "destroyed",
    }
}
