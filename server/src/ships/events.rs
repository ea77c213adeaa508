//! What happens to ships, told to their players: services done, touchdowns and
//! wrecks, burns flown, commands refused. Every ship plugin writes these; the
//! network plugin carries them out.

use bevy::prelude::*;

/// Something that happened to a ship, for its player.
#[derive(Message, Clone, Debug, PartialEq)]
pub struct ShipEvent {
    /// The ship.
    pub ship: Entity,
    /// What happened.
    pub kind: ShipEventKind,
}

/// Kinds of [`ShipEvent`].
#[derive(Clone, Debug, PartialEq)]
pub enum ShipEventKind {
    /// Touched down gently on a body.
    Landed {
        /// The body's name.
        body: String,
    },
    /// Hit a body too fast.
    Destroyed {
        /// The body's name.
        body: String,
    },
    /// Left the surface under thrust.
    LiftedOff,
    /// A refuel request was carried out.
    Refuelled,
    /// A reset request was carried out.
    Reset,
    /// The burn executor finished a node's burn.
    BurnFinished {
        /// Delta-v short of the plan (m/s).
        left: f64,
        /// The node's delta-v as planned at ignition (m/s, ICRF).
        planned: glam::DVec3,
        /// What the engine gave (m/s, ICRF).
        achieved: glam::DVec3,
    },
    /// The landing autopilot set the ship down.
    Touchdown {
        /// Speed relative to the turning ground at its last tick aloft (m/s).
        speed: f64,
    },
    /// A command was refused.
    Rejected {
        /// Why, in words for the player.
        reason: String,
    },
}
