//! A ship's flight plan: manoeuvre nodes, the burn executor's progress through the
//! first of them ([`Burn`], a component only ships flying a node carry), the rules
//! every change must pass, and the `node` console lines.
//!
//! The server keeps the plan (a planned burn is flown while its player is offline,
//! and kept in snapshots); the client sends [`PlanCommand`]s and is shown the plan
//! back. One set of rules serves both, so a change the client offers is checked the
//! same way the server checks it.

use bevy_ecs::prelude::Component;
use glam::DVec3;
use serde::{Deserialize, Serialize};

/// Most nodes a plan holds.
pub const MAX_NODES: usize = 16;
/// Largest delta-v of one node (m/s): more than any ship carries, so a node that
/// asks for more is a typo or an attack.
pub const MAX_NODE_DELTA_V: f64 = 30_000.0;
/// Farthest ahead a node may be placed (s): ten years.
pub const MAX_NODE_AHEAD: f64 = 10.0 * 365.25 * 86_400.0;
/// A burn ends when less than this is left (m/s).
pub const CUTOFF_DELTA_V: f64 = 0.1;

/// One planned burn: its centre in time and its delta-v in the node frame of the
/// dominant body at that time ([`crate::physics::manoeuvre::node_frame`]).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Node {
    /// Game time of the burn's centre (TDB s since J2000).
    pub at: f64,
    /// Along the velocity (m/s).
    pub prograde: f64,
    /// Along the orbit normal (m/s).
    pub normal: f64,
    /// Radially out, in the orbit plane (m/s).
    pub radial: f64,
}

impl Node {
    /// The (prograde, normal, radial) components as a vector.
    pub fn components(&self) -> DVec3 {
        DVec3::new(self.prograde, self.normal, self.radial)
    }

    /// Size of the burn (m/s).
    pub fn delta_v(&self) -> f64 {
        self.components().length()
    }

    /// Checks the node's numbers, whatever the time.
    pub fn check_values(&self) -> Result<(), PlanError> {
        if !(self.at.is_finite() && self.components().is_finite()) {
            return Err(PlanError::NotFinite);
        }
        if self.delta_v() > MAX_NODE_DELTA_V {
            return Err(PlanError::TooLarge);
        }
        Ok(())
    }

    /// Checks the node against the rules at game time `now`.
    pub fn check(&self, now: f64) -> Result<(), PlanError> {
        self.check_values()?;
        if self.at <= now {
            return Err(PlanError::InThePast);
        }
        if self.at - now > MAX_NODE_AHEAD {
            return Err(PlanError::TooFarAhead);
        }
        Ok(())
    }
}

/// How far the executor is with the first node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum BurnPhase {
    /// Coasting to the moment to turn.
    Waiting,
    /// Turning the nose onto the burn, before ignition.
    Turning,
    /// The engine runs.
    Burning,
}

/// How far the landing autopilot is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LandingPhase {
    /// The burn executor flies the burn that lowers the periapsis to the ground.
    Deorbit,
    /// Falling towards the ground, engine off, until the braking burn must start.
    Coast,
    /// Killing the speed over the ground, the nose against it, so the ship stops
    /// just above the surface.
    Brake,
    /// Straight down, slower the lower, to a touchdown at about 1 m/s.
    Descend,
}

/// The executor's state for the first node: present on a ship while it flies it.
#[derive(Component, Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Burn {
    /// Where it is.
    pub phase: BurnPhase,
    /// N-body slot of the body whose frame the burn is planned in.
    pub body: usize,
    /// Velocity relative to that body at the node's time that the plan asks for
    /// (m/s), fixed at ignition; the burn runs until the ship's orbit has it.
    pub planned: DVec3,
    /// The node's delta-v in the ICRF as planned at ignition (m/s).
    pub delta_v: DVec3,
    /// Delta-v the engine has given so far (m/s, ICRF).
    pub achieved: DVec3,
    /// Propellant at the start of the last tick (kg), to count what the engine used.
    pub fuel: f64,
    /// Go on with the next node once this one is done.
    pub all: bool,
}

impl Burn {
    /// A burn about to be flown (and then, if `all`, the nodes after it): nothing
    /// known yet but that it waits.
    pub fn waiting(all: bool) -> Self {
        Self {
            phase: BurnPhase::Waiting,
            body: 0,
            planned: DVec3::ZERO,
            delta_v: DVec3::ZERO,
            achieved: DVec3::ZERO,
            fuel: 0.0,
            all,
        }
    }

    /// Checks a burn read back from storage, for a world of `bodies` bodies.
    pub fn check_stored(&self, bodies: usize) -> Result<(), String> {
        if self.body >= bodies {
            return Err(format!("a burn names body {}, of {bodies}", self.body));
        }
        let vectors = [self.planned, self.delta_v, self.achieved];
        if !(vectors.iter().all(|v| v.is_finite()) && self.fuel.is_finite()) {
            return Err("a burn whose state is not finite".into());
        }
        Ok(())
    }
}

/// A ship's nodes, in time order.
#[derive(Component, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FlightPlan {
    /// Planned burns, earliest first.
    pub nodes: Vec<Node>,
}

/// What a plan change does to the executor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlanEffect {
    /// Nothing.
    Keep,
    /// Start flying the first node, and with `true` every node after it.
    Start(bool),
    /// Stop flying it.
    Stop,
    /// Hand the ship to the landing autopilot.
    Land,
}

/// A change a pilot asks of the plan.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum PlanCommand {
    /// Add a node.
    Add(Node),
    /// Replace node `index` (0-based, time order) with another.
    Edit {
        /// Which node.
        index: u8,
        /// Its new time and delta-v.
        node: Node,
    },
    /// Delete node `index` (0-based).
    Delete(u8),
    /// Fly the first node; with `all`, then every node after it in turn.
    Execute {
        /// Go on through the whole plan.
        all: bool,
    },
    /// Stop flying it (or the landing); the node stays.
    Abort,
    /// Land on the dominant body (airless ones): deorbit, brake, touch down. The
    /// landing autopilot owns the plan meanwhile, so the plan must be empty.
    Land,
}

/// Why a plan change is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// A time or component is NaN or infinite.
    #[error("a node needs finite numbers")]
    NotFinite,
    /// Over [`MAX_NODE_DELTA_V`].
    #[error("a node's delta-v is at most 30 km/s")]
    TooLarge,
    /// The node's time has passed.
    #[error("a node must lie in the future")]
    InThePast,
    /// Over [`MAX_NODE_AHEAD`].
    #[error("a node may lie at most ten years ahead")]
    TooFarAhead,
    /// Already [`MAX_NODES`].
    #[error("a plan holds at most 16 nodes")]
    Full,
    /// No node at that index.
    #[error("there is no such node")]
    NoSuchNode,
    /// The first node's burn is under way.
    #[error("the first node is being executed; abort it first")]
    Executing,
    /// Execute with no node.
    #[error("there is no node to execute")]
    Empty,
    /// Land with nodes in the plan.
    #[error("the landing autopilot needs an empty plan; delete its nodes first")]
    NotEmpty,
}

impl FlightPlan {
    /// Applies `command` at game time `now` to a plan that an autopilot flies if
    /// `executing` (the burn executor its first node, or the landing autopilot),
    /// or refuses it and changes nothing.
    pub fn apply(
        &mut self,
        command: PlanCommand,
        now: f64,
        executing: bool,
    ) -> Result<PlanEffect, PlanError> {
        match command {
            PlanCommand::Add(node) => {
                node.check(now)?;
                if self.nodes.len() >= MAX_NODES {
                    return Err(PlanError::Full);
                }
                let at = self.nodes.partition_point(|n| n.at <= node.at);
                if at == 0 && executing {
                    return Err(PlanError::Executing);
                }
                self.nodes.insert(at, node);
                Ok(PlanEffect::Keep)
            }
            PlanCommand::Edit { index, node } => {
                node.check(now)?;
                let index = usize::from(index);
                if index >= self.nodes.len() {
                    return Err(PlanError::NoSuchNode);
                }
                if executing && (index == 0 || node.at < self.nodes[0].at) {
                    return Err(PlanError::Executing);
                }
                self.nodes.remove(index);
                let at = self.nodes.partition_point(|n| n.at <= node.at);
                self.nodes.insert(at, node);
                Ok(PlanEffect::Keep)
            }
            PlanCommand::Delete(index) => {
                let index = usize::from(index);
                if index >= self.nodes.len() {
                    return Err(PlanError::NoSuchNode);
                }
                self.nodes.remove(index);
                Ok(if index == 0 && executing {
                    PlanEffect::Stop
                } else {
                    PlanEffect::Keep
                })
            }
            PlanCommand::Execute { .. } if self.nodes.is_empty() => Err(PlanError::Empty),
            PlanCommand::Execute { .. } if executing => Ok(PlanEffect::Keep),
            PlanCommand::Execute { all } => Ok(PlanEffect::Start(all)),
            PlanCommand::Abort if executing => Ok(PlanEffect::Stop),
            PlanCommand::Abort => Ok(PlanEffect::Keep),
            PlanCommand::Land if executing => Err(PlanError::Executing),
            PlanCommand::Land if !self.nodes.is_empty() => Err(PlanError::NotEmpty),
            PlanCommand::Land => Ok(PlanEffect::Land),
        }
    }

    /// Checks a plan read back from storage: what [`FlightPlan::apply`] would have
    /// allowed, with nodes in the past allowed (time has moved on since).
    pub fn check_stored(&self) -> Result<(), String> {
        if self.nodes.len() > MAX_NODES {
            return Err(format!("{} nodes, more than {MAX_NODES}", self.nodes.len()));
        }
        if let Some(error) = self.nodes.iter().find_map(|n| n.check_values().err()) {
            return Err(error.to_string());
        }
        if self.nodes.windows(2).any(|w| w[0].at > w[1].at) {
            return Err("nodes out of time order".into());
        }
        Ok(())
    }
}

/// A parsed `node` console line. Times are seconds from now; the client turns
/// them into game time before sending.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum NodeLine {
    /// `node add +<seconds> [prograde <m/s>] [normal <m/s>] [radial <m/s>]`.
    Add {
        /// Seconds from now.
        in_s: f64,
        /// (prograde, normal, radial) in m/s.
        components: DVec3,
    },
    /// `node list`.
    List,
    /// `node delete <n>`, numbered from 1 as `node list` shows.
    Delete(u8),
    /// `node execute [all]`.
    Execute {
        /// Every node in turn, not just the first.
        all: bool,
    },
    /// `node abort`.
    Abort,
    /// `node match`: a node at the closest approach to the target that matches its
    /// velocity (planned by the client, which knows the target).
    Match,
}

/// Usage of the `node` lines, for help and errors.
pub const NODE_USAGE: &str = "\
node add +<time> [prograde <m/s>] [normal <m/s>] [radial <m/s>]   time in s, or with m, h, d
node list                                                         nodes with delta-v, burn time, time to go
node delete <n>                                                   remove node n (from 1)
node execute [all]                                                fly the first node (or every node in turn)
node abort                                                        stop flying it
node match                                                        match the target's velocity at closest approach";

impl NodeLine {
    /// Parses a line that starts with `node`; `None` for any other line.
    pub fn parse(line: &str) -> Option<Result<Self, &'static str>> {
        let words: Vec<&str> = line.split_whitespace().collect();
        let (first, rest) = words.split_first()?;
        if !first.eq_ignore_ascii_case("node") {
            return None;
        }
        let usage = Err(NODE_USAGE);
        Some(match rest {
            [verb] if verb.eq_ignore_ascii_case("list") => Ok(Self::List),
            [verb] if verb.eq_ignore_ascii_case("execute") => Ok(Self::Execute { all: false }),
            [verb, all]
                if verb.eq_ignore_ascii_case("execute") && all.eq_ignore_ascii_case("all") =>
            {
                Ok(Self::Execute { all: true })
            }
            [verb] if verb.eq_ignore_ascii_case("abort") => Ok(Self::Abort),
            [verb] if verb.eq_ignore_ascii_case("match") => Ok(Self::Match),
            [verb, n] if verb.eq_ignore_ascii_case("delete") => n
                .parse::<u8>()
                .ok()
                .filter(|n| *n >= 1)
                .map(|n| Self::Delete(n - 1))
                .ok_or(NODE_USAGE),
            [verb, time, parts @ ..] if verb.eq_ignore_ascii_case("add") => {
                parse_add(time, parts).ok_or(NODE_USAGE)
            }
            _ => usage,
        })
    }
}

fn parse_add(time: &str, parts: &[&str]) -> Option<NodeLine> {
    let in_s = parse_duration(time.strip_prefix('+')?)?;
    if !parts.len().is_multiple_of(2) {
        return None;
    }
    let mut components = DVec3::ZERO;
    for pair in parts.chunks_exact(2) {
        let value: f64 = pair[1].parse().ok().filter(|v: &f64| v.is_finite())?;
        match pair[0].to_ascii_lowercase().as_str() {
            "prograde" => components.x = value,
            "retrograde" => components.x = -value,
            "normal" => components.y = value,
            "antinormal" => components.y = -value,
            "radial" => components.z = value,
            "radialin" => components.z = -value,
            _ => return None,
        }
    }
    Some(NodeLine::Add { in_s, components })
}

/// Seconds in `600`, `10m`, `1.5h` or `2d`.
pub fn parse_duration(text: &str) -> Option<f64> {
    let (number, unit) = match text.char_indices().last()? {
        (i, 's') => (&text[..i], 1.0),
        (i, 'm') => (&text[..i], 60.0),
        (i, 'h') => (&text[..i], 3_600.0),
        (i, 'd') => (&text[..i], 86_400.0),
        _ => (text, 1.0),
    };
    let value: f64 = number.parse().ok()?;
    (value.is_finite() && value > 0.0).then_some(value * unit)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(at: f64, prograde: f64) -> Node {
        Node {
            at,
            prograde,
            normal: 0.0,
            radial: 0.0,
        }
    }

    #[test]
    fn nodes_stay_in_time_order_and_bad_ones_change_nothing() {
        let mut plan = FlightPlan::default();
        let now = 1_000.0;
        for at in [3_000.0, 2_000.0, 4_000.0] {
            plan.apply(PlanCommand::Add(node(at, 10.0)), now, false)
                .expect("valid");
        }
        let times: Vec<f64> = plan.nodes.iter().map(|n| n.at).collect();
        assert_eq!(times, [2_000.0, 3_000.0, 4_000.0]);
        let before = plan.clone();
        let refusals = [
            (PlanCommand::Add(node(500.0, 1.0)), PlanError::InThePast),
            (PlanCommand::Add(node(now, 1.0)), PlanError::InThePast),
            (PlanCommand::Add(node(f64::NAN, 1.0)), PlanError::NotFinite),
            (
                PlanCommand::Add(node(2e3, f64::INFINITY)),
                PlanError::NotFinite,
            ),
            (PlanCommand::Add(node(2e3, 30_001.0)), PlanError::TooLarge),
            (
                PlanCommand::Add(node(now + 4e8, 1.0)),
                PlanError::TooFarAhead,
            ),
            (PlanCommand::Delete(3), PlanError::NoSuchNode),
            (
                PlanCommand::Edit {
                    index: 9,
                    node: node(5e3, 1.0),
                },
                PlanError::NoSuchNode,
            ),
        ];
        for (command, error) in refusals {
            assert_eq!(plan.apply(command, now, false), Err(error), "{command:?}");
            assert_eq!(plan, before);
        }
        plan.apply(
            PlanCommand::Edit {
                index: 0,
                node: node(5_000.0, 7.0),
            },
            now,
            false,
        )
        .expect("valid");
        assert_eq!(plan.nodes.last(), Some(&node(5_000.0, 7.0)));
        while plan.nodes.len() < MAX_NODES {
            plan.apply(PlanCommand::Add(node(9e3, 1.0)), now, false)
                .expect("room");
        }
        assert_eq!(
            plan.apply(PlanCommand::Add(node(9e3, 1.0)), now, false),
            Err(PlanError::Full)
        );
    }

    #[test]
    fn the_node_being_flown_cannot_be_moved_but_can_be_deleted() {
        let mut plan = FlightPlan::default();
        assert_eq!(
            plan.apply(PlanCommand::Execute { all: false }, 0.0, false),
            Err(PlanError::Empty)
        );
        assert_eq!(
            plan.apply(PlanCommand::Add(node(100.0, 5.0)), 0.0, false),
            Ok(PlanEffect::Keep)
        );
        assert_eq!(
            plan.apply(PlanCommand::Execute { all: false }, 0.0, false),
            Ok(PlanEffect::Start(false))
        );
        assert_eq!(
            plan.apply(PlanCommand::Execute { all: false }, 0.0, true),
            Ok(PlanEffect::Keep)
        );
        let edit = PlanCommand::Edit {
            index: 0,
            node: node(200.0, 5.0),
        };
        assert_eq!(plan.apply(edit, 0.0, true), Err(PlanError::Executing));
        assert_eq!(
            plan.apply(PlanCommand::Add(node(50.0, 1.0)), 0.0, true),
            Err(PlanError::Executing)
        );
        plan.apply(PlanCommand::Add(node(150.0, 1.0)), 0.0, true)
            .expect("later");
        assert_eq!(
            plan.apply(PlanCommand::Delete(1), 0.0, true),
            Ok(PlanEffect::Keep)
        );
        assert_eq!(
            plan.apply(PlanCommand::Delete(0), 0.0, true),
            Ok(PlanEffect::Stop),
            "deleting the node flown stops the burn"
        );
        assert_eq!(plan.nodes, []);
        assert_eq!(
            plan.apply(PlanCommand::Abort, 0.0, false),
            Ok(PlanEffect::Keep)
        );
    }

    #[test]
    fn landing_asks_for_an_empty_plan_and_no_autopilot_at_work() {
        let mut plan = FlightPlan::default();
        assert_eq!(
            plan.apply(PlanCommand::Land, 0.0, false),
            Ok(PlanEffect::Land)
        );
        assert_eq!(
            plan.apply(PlanCommand::Land, 0.0, true),
            Err(PlanError::Executing)
        );
        plan.apply(PlanCommand::Add(node(100.0, 5.0)), 0.0, false)
            .expect("valid");
        assert_eq!(
            plan.apply(PlanCommand::Land, 0.0, false),
            Err(PlanError::NotEmpty)
        );
        assert_eq!(
            plan.apply(PlanCommand::Abort, 0.0, true),
            Ok(PlanEffect::Stop)
        );
    }

    #[test]
    fn stored_plans_and_burns_are_checked() {
        let mut plan = FlightPlan::default();
        plan.apply(PlanCommand::Add(node(100.0, 5.0)), 0.0, false)
            .expect("valid");
        assert_eq!(plan.check_stored(), Ok(()));
        let mut nan = plan.clone();
        nan.nodes[0].radial = f64::NAN;
        assert!(nan.check_stored().is_err());
        let mut disorder = plan;
        disorder.nodes.push(node(50.0, 1.0));
        assert!(disorder.check_stored().is_err());
        let burn = Burn::waiting(false);
        assert_eq!(burn.check_stored(11), Ok(()));
        assert!(Burn { body: 11, ..burn }.check_stored(11).is_err());
        assert!(
            Burn {
                fuel: f64::NAN,
                ..burn
            }
            .check_stored(11)
            .is_err()
        );
    }

    #[test]
    fn node_lines_parse_as_typed() {
        assert_eq!(NodeLine::parse("status"), None);
        assert_eq!(
            NodeLine::parse("node add +600 prograde 120"),
            Some(Ok(NodeLine::Add {
                in_s: 600.0,
                components: DVec3::new(120.0, 0.0, 0.0)
            }))
        );
        assert_eq!(
            NodeLine::parse("NODE add +1.5h retrograde 10 normal -2 radial 3"),
            Some(Ok(NodeLine::Add {
                in_s: 5_400.0,
                components: DVec3::new(-10.0, -2.0, 3.0)
            }))
        );
        assert_eq!(NodeLine::parse("node list"), Some(Ok(NodeLine::List)));
        assert_eq!(
            NodeLine::parse("node delete 1"),
            Some(Ok(NodeLine::Delete(0)))
        );
        assert_eq!(
            NodeLine::parse("node execute"),
            Some(Ok(NodeLine::Execute { all: false }))
        );
        assert_eq!(
            NodeLine::parse("node execute all"),
            Some(Ok(NodeLine::Execute { all: true }))
        );
        assert_eq!(NodeLine::parse("node abort"), Some(Ok(NodeLine::Abort)));
        assert_eq!(NodeLine::parse("node match"), Some(Ok(NodeLine::Match)));
        for bad in [
            "node",
            "node add 600 prograde 1",
            "node add +600 prograde",
            "node add +600 sideways 1",
            "node add +-5 prograde 1",
            "node add +600 prograde nan",
            "node delete 0",
            "node delete x",
            "node fly",
        ] {
            assert_eq!(NodeLine::parse(bad), Some(Err(NODE_USAGE)), "{bad}");
        }
    }
}
