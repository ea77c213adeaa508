//! Whether a player on the game connection may run admin lines: their current role
//! and ban flag from the database, never the role their connect token carried (a
//! demoted admin keeps the token for the connection's life, a banned one can
//! reconnect with it until it expires).
//!
//! Standings are cached for [`STANDING_TTL_S`], short enough for changes made by
//! another process, and dropped at once when this process promotes, demotes or
//! bans. At most one lookup per player is in flight; lines that wait for it are
//! parked, a few per player, so a player spamming admin lines costs one query per
//! TTL and no audit rows. Every lookup that finds a ban also ends the connection.

use std::collections::{HashMap, HashSet};

use bevy::prelude::*;
use galaxy_shared::protocol::Role;
use tokio::sync::mpsc;

use super::{AdminDb, AdminLine};

/// How long a standing read from the database is trusted (real s).
pub const STANDING_TTL_S: f64 = 2.0;
/// Standings kept before the stale ones are swept out.
const MAX_STANDINGS: usize = 10_000;
/// Lines one player may have waiting for a lookup; more are refused.
const PARKED_PER_PLAYER: usize = 4;

/// A player's account as the database has it now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Standing {
    pub role: Role,
    pub banned: bool,
}

/// What to do with one line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Verdict {
    /// The account is an admin and not banned.
    Admin,
    /// Not an admin (or no longer an account).
    NotAdmin,
    /// Banned: refuse and disconnect.
    Banned,
    /// The standing could not be read.
    Unavailable(String),
}

impl From<Standing> for Verdict {
    fn from(standing: Standing) -> Self {
        match standing {
            Standing { banned: true, .. } => Self::Banned,
            Standing {
                role: Role::Admin, ..
            } => Self::Admin,
            Standing { .. } => Self::NotAdmin,
        }
    }
}

type Lookup = (u64, Result<Option<Standing>, String>);

/// Cached standings, lookups in flight and the lines waiting for them.
#[derive(Resource)]
pub(super) struct Access {
    standings: HashMap<u64, (Standing, f64)>,
    in_flight: HashSet<u64>,
    parked: HashMap<u64, Vec<AdminLine>>,
    tx: mpsc::UnboundedSender<Lookup>,
    rx: mpsc::UnboundedReceiver<Lookup>,
}

impl Default for Access {
    fn default() -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        Self {
            standings: HashMap::new(),
            in_flight: HashSet::new(),
            parked: HashMap::new(),
            tx,
            rx,
        }
    }
}

impl Access {
    /// The verdict for a line from `player`'s game connection, or `None` when the
    /// line waits for a lookup. Without a database the token's role stands.
    pub fn admit(
        &mut self,
        player: u64,
        line: AdminLine,
        now: f64,
        db: Option<&AdminDb>,
    ) -> Option<(AdminLine, Verdict)> {
        let Some(db) = db else {
            let verdict = if line.actor.role == Role::Admin {
                Verdict::Admin
            } else {
                Verdict::NotAdmin
            };
            return Some((line, verdict));
        };
        if let Some(&(standing, at)) = self.standings.get(&player)
            && now - at < STANDING_TTL_S
        {
            return Some((line, standing.into()));
        }
        let parked = self.parked.entry(player).or_default();
        if parked.len() >= PARKED_PER_PLAYER {
            return Some((
                line,
                Verdict::Unavailable("too many admin lines at once; slow down".into()),
            ));
        }
        parked.push(line);
        self.look_up(player, db);
        None
    }

    /// Starts a lookup of `player` unless one is in flight.
    pub fn look_up(&mut self, player: u64, db: &AdminDb) {
        if !self.in_flight.insert(player) {
            return;
        }
        let (handle, tx) = (db.db.clone(), self.tx.clone());
        db.runtime.spawn(async move {
            let result = handle
                .find_player(player)
                .await
                .map(|found| {
                    found.map(|p| Standing {
                        role: p.role,
                        banned: p.banned,
                    })
                })
                .map_err(|e| e.to_string());
            let _ = tx.send((player, result));
        });
    }

    /// Lookups that finished: the parked lines with their verdicts, and the players
    /// found banned.
    pub fn finished(&mut self, now: f64) -> (Vec<(AdminLine, Verdict)>, Vec<u64>) {
        let mut ready = Vec::new();
        let mut banned = Vec::new();
        while let Ok((player, result)) = self.rx.try_recv() {
            self.in_flight.remove(&player);
            let verdict = match result {
                Ok(Some(standing)) => {
                    if self.standings.len() >= MAX_STANDINGS {
                        self.standings
                            .retain(|_, (_, at)| now - *at < STANDING_TTL_S);
                    }
                    self.standings.insert(player, (standing, now));
                    standing.into()
                }
                Ok(None) => Verdict::NotAdmin,
                Err(error) => Verdict::Unavailable(format!("database error: {error}")),
            };
            if verdict == Verdict::Banned {
                banned.push(player);
            }
            for line in self.parked.remove(&player).unwrap_or_default() {
                ready.push((line, verdict.clone()));
            }
        }
        (ready, banned)
    }

    /// Forgets every cached standing (after a promote, demote or ban here).
    pub fn forget_standings(&mut self) {
        self.standings.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standings_decide_the_verdict() {
        let standing = |role, banned| Verdict::from(Standing { role, banned });
        assert_eq!(standing(Role::Admin, false), Verdict::Admin);
        assert_eq!(standing(Role::Player, false), Verdict::NotAdmin);
        assert_eq!(standing(Role::Admin, true), Verdict::Banned);
        assert_eq!(standing(Role::Player, true), Verdict::Banned);
    }
}
