//! The admin command grammar, shared by the in-game console, the HTTP API and the
//! server: one parser, so every entry point accepts exactly the same lines.

use serde::{Deserialize, Serialize};

/// Longest admin line accepted, in bytes.
pub const MAX_ADMIN_LINE: usize = 256;

/// A parsed admin command.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum AdminCommand {
    /// List the commands.
    Help,
    /// Tick, game time, scale, players.
    Status,
    /// Stop game time.
    Pause,
    /// Restart game time.
    Resume,
    /// Set the admin's time scale: the cap on players' warp requests, or with
    /// `force` the rate itself.
    TimeScale {
        /// Game seconds per real second.
        scale: f64,
        /// The rate itself, over the warp policy.
        forced: bool,
    },
    /// Write a world snapshot now.
    Snapshot,
    /// List connected players.
    Players,
    /// Disconnect a player.
    Kick(String),
    /// Fill a player's tank.
    Refuel(String),
    /// Respawn a player's ship.
    Reset(String),
    /// Move a player's ship into a circular orbit `altitude_km` above `body`.
    Teleport {
        /// Player name.
        player: String,
        /// Body name.
        body: String,
        /// Altitude above the mean radius (km).
        altitude_km: f64,
    },
    /// Make a player an admin.
    Promote(String),
    /// Make an admin a player again.
    Demote(String),
    /// Ban a player and disconnect them.
    Ban(String),
}

/// Why a line is not a command.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AdminParseError {
    /// Nothing to parse.
    #[error("empty command; try `help`")]
    Empty,
    /// Over [`MAX_ADMIN_LINE`] bytes.
    #[error("command longer than {MAX_ADMIN_LINE} bytes")]
    TooLong,
    /// Unknown first word.
    #[error("unknown command `{0}`; try `help`")]
    Unknown(String),
    /// Wrong arguments; the usage line says what is expected.
    #[error("usage: {0}")]
    Usage(&'static str),
}

/// One line per command, for `help` and usage errors.
pub const HELP: &str = "\
help                                  this list
status                                tick, game time, warp and why, players
pause | resume                        stop or restart game time
timescale <x>                         cap players' warp requests at x (0..max_time_scale)
timescale force <x>                   run the clock at x whatever players ask; `timescale <x>` ends it
snapshot                              write a world snapshot now
players                               list connected players
kick <player>                         disconnect a player
refuel <player>                       fill a player's tank
reset <player>                        respawn a player's ship in the spawn orbit
teleport <player> <body> <altitude_km>  circular orbit above a body
promote <player>                      make a player an admin
demote <player>                       make an admin a player again
ban <player>                          ban a player and disconnect them";

impl AdminCommand {
    /// Whether the command only reports and changes nothing (not audited).
    pub fn is_read_only(&self) -> bool {
        matches!(self, Self::Help | Self::Status | Self::Players)
    }

    /// Parses one line: a command word and its arguments, separated by whitespace.
    pub fn parse(line: &str) -> Result<Self, AdminParseError> {
        if line.len() > MAX_ADMIN_LINE {
            return Err(AdminParseError::TooLong);
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        let Some((&command, args)) = words.split_first() else {
            return Err(AdminParseError::Empty);
        };
        let one_name = |usage: &'static str| match args {
            [name] => Ok((*name).to_owned()),
            _ => Err(AdminParseError::Usage(usage)),
        };
        let none = |command: Self, usage: &'static str| {
            if args.is_empty() {
                Ok(command)
            } else {
                Err(AdminParseError::Usage(usage))
            }
        };
        match command.to_ascii_lowercase().as_str() {
            "help" => none(Self::Help, "help"),
            "status" => none(Self::Status, "status"),
            "pause" => none(Self::Pause, "pause"),
            "resume" => none(Self::Resume, "resume"),
            "snapshot" => none(Self::Snapshot, "snapshot"),
            "players" => none(Self::Players, "players"),
            "timescale" => {
                let (x, forced) = match args {
                    [x] => (x, false),
                    [force, x] if force.eq_ignore_ascii_case("force") => (x, true),
                    _ => return Err(AdminParseError::Usage("timescale [force] <x>")),
                };
                x.parse::<f64>()
                    .ok()
                    .filter(|x| x.is_finite() && *x >= 0.0)
                    .map(|scale| Self::TimeScale { scale, forced })
                    .ok_or(AdminParseError::Usage(
                        "timescale [force] <x> with x a number ≥ 0",
                    ))
            }
            "kick" => one_name("kick <player>").map(Self::Kick),
            "refuel" => one_name("refuel <player>").map(Self::Refuel),
            "reset" => one_name("reset <player>").map(Self::Reset),
            "promote" => one_name("promote <player>").map(Self::Promote),
            "demote" => one_name("demote <player>").map(Self::Demote),
            "ban" => one_name("ban <player>").map(Self::Ban),
            "teleport" => match args {
                [player, body, altitude] => altitude
                    .parse::<f64>()
                    .ok()
                    .filter(|a| a.is_finite() && *a >= 0.0 && *a <= 1.0e9)
                    .map(|altitude_km| Self::Teleport {
                        player: (*player).to_owned(),
                        body: (*body).to_owned(),
                        altitude_km,
                    })
                    .ok_or(AdminParseError::Usage(
                        "teleport <player> <body> <altitude_km ≥ 0>",
                    )),
                _ => Err(AdminParseError::Usage(
                    "teleport <player> <body> <altitude_km>",
                )),
            },
            other => Err(AdminParseError::Unknown(other.chars().take(32).collect())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_command() {
        assert_eq!(AdminCommand::parse("help"), Ok(AdminCommand::Help));
        assert_eq!(AdminCommand::parse("  PAUSE "), Ok(AdminCommand::Pause));
        assert_eq!(
            AdminCommand::parse("timescale 1000"),
            Ok(AdminCommand::TimeScale {
                scale: 1000.0,
                forced: false
            })
        );
        assert_eq!(
            AdminCommand::parse("timescale FORCE 5"),
            Ok(AdminCommand::TimeScale {
                scale: 5.0,
                forced: true
            })
        );
        assert_eq!(
            AdminCommand::parse("kick bob"),
            Ok(AdminCommand::Kick("bob".into()))
        );
        assert_eq!(
            AdminCommand::parse("demote bob"),
            Ok(AdminCommand::Demote("bob".into()))
        );
        assert_eq!(
            AdminCommand::parse("teleport bob Moon 100"),
            Ok(AdminCommand::Teleport {
                player: "bob".into(),
                body: "Moon".into(),
                altitude_km: 100.0
            })
        );
    }

    #[test]
    fn only_reports_are_read_only() {
        let read_only: Vec<bool> = ["help", "status", "players", "pause", "kick bob", "snapshot"]
            .iter()
            .map(|line| AdminCommand::parse(line).expect("parses").is_read_only())
            .collect();
        assert_eq!(read_only, [true, true, true, false, false, false]);
    }

    #[test]
    fn refuses_bad_lines_with_a_reason() {
        assert_eq!(AdminCommand::parse(""), Err(AdminParseError::Empty));
        assert!(matches!(
            AdminCommand::parse("timescale fast"),
            Err(AdminParseError::Usage(_))
        ));
        assert!(matches!(
            AdminCommand::parse("timescale -1"),
            Err(AdminParseError::Usage(_))
        ));
        assert!(matches!(
            AdminCommand::parse("timescale NaN"),
            Err(AdminParseError::Usage(_))
        ));
        for line in ["timescale force", "timescale fast 5", "timescale force 5 6"] {
            assert!(
                matches!(AdminCommand::parse(line), Err(AdminParseError::Usage(_))),
                "{line}"
            );
        }
        assert!(matches!(
            AdminCommand::parse("kick"),
            Err(AdminParseError::Usage(_))
        ));
        assert!(matches!(
            AdminCommand::parse("pause now"),
            Err(AdminParseError::Usage(_))
        ));
        assert!(matches!(
            AdminCommand::parse("teleport a b inf"),
            Err(AdminParseError::Usage(_))
        ));
        assert!(matches!(
            AdminCommand::parse("selfdestruct"),
            Err(AdminParseError::Unknown(_))
        ));
        assert_eq!(
            AdminCommand::parse(&"x".repeat(300)),
            Err(AdminParseError::TooLong)
        );
    }
}
