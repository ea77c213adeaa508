//! Player ships: spawning, pilot commands, flight and service requests.

mod commands;
pub mod flight;
pub mod spawn;

use bevy::prelude::*;

pub use commands::{ShipAction, ShipCommand, ShipCommandStats, ShipEvent, ShipEventKind};

pub(super) fn plugin(app: &mut App) {
    app.add_plugins((spawn::plugin, commands::plugin, flight::plugin));
}
