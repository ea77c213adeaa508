//! Who is online, the messages that reach players and the admin lines they type,
//! so plugins that act on players (admin) never touch connections: the network plugin owns the
//! connections, keeps the roster and carries the messages out. Both sides depend on
//! this module, never on each other.

use std::collections::{HashMap, HashSet};

use bevy::prelude::*;
use galaxy_shared::protocol::{ErrorCode, MIN_WARP_REQUEST, Role};

use tokio::sync::oneshot;

use crate::bridge::{Actor, AdminReply};

pub(super) fn plugin(app: &mut App) {
    app.init_resource::<Roster>()
        .init_resource::<BannedNames>()
        .add_message::<PlayerConnected>()
        .add_message::<DisconnectPlayer>()
        .add_message::<ConsoleReply>()
        .add_message::<AdminLine>();
}

/// One player online.
#[derive(Clone, Debug, PartialEq)]
pub struct OnlinePlayer {
    /// Account name.
    pub name: String,
    /// Role their connect token carried (the database may have changed it since).
    pub role: Role,
    /// The warp they ask for; real time until they ask.
    pub warp_request: f64,
    /// When they last changed anything (real s): controls, warp, a service or a
    /// console line. Idle players do not hold the shared clock.
    pub last_active: f64,
}

impl OnlinePlayer {
    /// A player who has just connected: active, asking for real time.
    pub fn new(name: String, role: Role, now: f64) -> Self {
        Self {
            name,
            role,
            warp_request: MIN_WARP_REQUEST,
            last_active: now,
        }
    }
}

/// Players online by player id, kept by the network plugin.
#[derive(Resource, Debug, Default)]
pub struct Roster(pub HashMap<u64, OnlinePlayer>);

impl Roster {
    /// The player called `name` (case-insensitive), if online.
    pub fn find(&self, name: &str) -> Option<(u64, &OnlinePlayer)> {
        self.0
            .iter()
            .find(|(_, p)| p.name.eq_ignore_ascii_case(name))
            .map(|(&id, p)| (id, p))
    }
}

/// Names banned while this process runs: refused at connect at once, without
/// waiting for the database (a connect token stays valid after a ban).
#[derive(Resource, Debug, Default)]
pub struct BannedNames(HashSet<String>);

impl BannedNames {
    /// Adds a name.
    pub fn insert(&mut self, name: &str) {
        self.0.insert(name.to_ascii_lowercase());
    }

    /// Whether a name was banned here.
    pub fn contains(&self, name: &str) -> bool {
        self.0.contains(&name.to_ascii_lowercase())
    }
}

/// A player's connection was accepted: their standing in the database is checked.
#[derive(Message, Clone, Debug, PartialEq, Eq)]
pub struct PlayerConnected {
    /// Player id.
    pub player: u64,
}

/// Ends a player's connection, after telling them why.
#[derive(Message, Clone, Debug, PartialEq, Eq)]
pub struct DisconnectPlayer {
    /// Player id.
    pub player: u64,
    /// What the client is told.
    pub code: ErrorCode,
    /// Why, in words for the player.
    pub reason: String,
}

/// An answer for a player's console.
#[derive(Message, Clone, Debug, PartialEq)]
pub struct ConsoleReply {
    /// Player id.
    pub player: u64,
    /// The answer.
    pub reply: AdminReply,
}

/// Where an admin answer goes.
#[derive(Debug)]
pub enum ReplyTo {
    /// A player's console, over the game connection.
    Player(u64),
    /// An HTTP request waiting on this (its actor was checked by the endpoint).
    Http(oneshot::Sender<AdminReply>),
}

/// One admin line to run.
#[derive(Message, Debug)]
pub struct AdminLine {
    /// Who typed it.
    pub actor: Actor,
    /// The line.
    pub line: String,
    /// Where the answer goes.
    pub reply_to: ReplyTo,
}
