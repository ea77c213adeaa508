//! The flight plan on the client: the server's copy of the ship's nodes, the
//! `node` console lines that change them, and how a node reads in the HUD and
//! the console (delta-v, burn time from the rocket equation, time to go).

use std::fmt::Write;

use bevy::prelude::*;
use galaxy_shared::flight_plan::{BurnPhase, LandingPhase, Node, NodeLine, PlanCommand};
use galaxy_shared::physics::manoeuvre::burn_time;
use galaxy_shared::protocol::{ClientMessage, ShipInfo};

pub(super) fn plugin(app: &mut App) {
    app.init_resource::<Plan>();
}

/// The ship's flight plan as the server last sent it.
#[derive(Resource, Clone, Debug, Default, PartialEq)]
pub(crate) struct Plan {
    /// Nodes, earliest first.
    pub nodes: Vec<Node>,
    /// How far the executor is with the first node, when it flies it.
    pub burn: Option<BurnPhase>,
    /// What the landing autopilot does, when it flies the ship.
    pub landing: Option<LandingPhase>,
}

/// `h:mm:ss` (or `d h:mm:ss`), with a sign for the past.
fn format_countdown(seconds: f64) -> String {
    let sign = if seconds < 0.0 { "-" } else { "" };
    let total = seconds.abs().round() as u64;
    let (days, rest) = (total / 86_400, total % 86_400);
    let (h, m, s) = (rest / 3_600, rest / 60 % 60, rest % 60);
    if days > 0 {
        format!("{sign}{days}d {h}:{m:02}:{s:02}")
    } else {
        format!("{sign}{h}:{m:02}:{s:02}")
    }
}

fn phase_name(phase: BurnPhase) -> &'static str {
    match phase {
        BurnPhase::Waiting => "executing: waiting",
        BurnPhase::Turning => "executing: turning",
        BurnPhase::Burning => "executing: burning",
    }
}

/// One node as the player reads it, for a ship of `mass` kg at game time `now`.
pub(crate) fn describe_node(node: &Node, now: f64, mass: f64, info: &ShipInfo) -> String {
    let length = burn_time(node.delta_v(), mass, info.thrust, info.exhaust_velocity);
    format!(
        "dv {:.1} m/s (pro {:.1}, nrm {:.1}, rad {:.1}), burn {:.0} s, in {}",
        node.delta_v(),
        node.prograde,
        node.normal,
        node.radial,
        length,
        format_countdown(node.at - now)
    )
}

/// The HUD's words for a landing phase.
pub(crate) fn landing_words(phase: LandingPhase) -> &'static str {
    match phase {
        LandingPhase::Deorbit => "landing: deorbit burn",
        LandingPhase::Coast => "landing: falling to the braking burn",
        LandingPhase::Brake => "landing: braking",
        LandingPhase::Descend => "landing: descending",
    }
}

impl Plan {
    /// The HUD's line for the next node, if any.
    pub fn next_line(&self, now: f64, mass: f64, info: &ShipInfo) -> Option<String> {
        if let Some(phase) = self.landing {
            return Some(landing_words(phase).to_owned());
        }
        let node = self.nodes.first()?;
        let mut line = describe_node(node, now, mass, info);
        if let Some(phase) = self.burn {
            let _ = write!(line, " [{}]", phase_name(phase));
        }
        Some(line)
    }

    /// The console's answer to `node list`.
    pub fn listing(&self, now: f64, mass: f64, info: &ShipInfo) -> String {
        if self.nodes.is_empty() {
            return "no nodes; add one with `node add +<time> prograde <m/s>`".into();
        }
        let mut text = String::new();
        for (i, node) in self.nodes.iter().enumerate() {
            let _ = write!(text, "{}: {}", i + 1, describe_node(node, now, mass, info));
            if i == 0
                && let Some(phase) = self.burn
            {
                let _ = write!(text, " [{}]", phase_name(phase));
            }
            text.push('\n');
        }
        text.pop();
        text
    }
}

/// What a `node` line does: a message for the server, or text to show at once.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum NodeAction {
    /// Send this.
    Send(ClientMessage),
    /// Print this.
    Print(String),
}

/// Turns a parsed `node` line into its action, at game time `now`; `matching`
/// plans the node of `node match`, or says why there is none.
pub(crate) fn node_action(
    line: NodeLine,
    plan: &Plan,
    now: f64,
    mass: f64,
    info: &ShipInfo,
    matching: impl FnOnce() -> Result<Node, String>,
) -> NodeAction {
    let command = match line {
        NodeLine::List => return NodeAction::Print(plan.listing(now, mass, info)),
        NodeLine::Match => match matching() {
            Ok(node) => PlanCommand::Add(node),
            Err(why) => return NodeAction::Print(why),
        },
        NodeLine::Add { in_s, components } => PlanCommand::Add(Node {
            at: now + in_s,
            prograde: components.x,
            normal: components.y,
            radial: components.z,
        }),
        NodeLine::Delete(index) => PlanCommand::Delete(index),
        NodeLine::Execute { all } => PlanCommand::Execute { all },
        NodeLine::Abort => PlanCommand::Abort,
    };
    NodeAction::Send(ClientMessage::Plan(command))
}

#[cfg(test)]
mod tests {
    use super::*;
    use galaxy_shared::physics::rocket::exhaust_velocity;

    const INFO: ShipInfo = ShipInfo {
        dry_mass: 10_000.0,
        fuel_capacity: 40_000.0,
        thrust: 500_000.0,
        exhaust_velocity: 3_432.327_5,
    };

    fn node(at: f64, prograde: f64) -> Node {
        Node {
            at,
            prograde,
            normal: 0.0,
            radial: 0.0,
        }
    }

    #[test]
    fn a_node_reads_with_its_burn_time_and_countdown() {
        let info = ShipInfo {
            exhaust_velocity: exhaust_velocity(350.0),
            ..INFO
        };
        // 2.4 km/s from 50 t: 25.2 t of propellant at 145.7 kg/s, 173 s.
        let text = describe_node(&node(4_000.0, 2_400.0), 400.0, 50_000.0, &info);
        assert!(text.starts_with("dv 2400.0 m/s"), "{text}");
        assert!(text.contains("burn 173 s"), "{text}");
        assert!(text.ends_with("in 1:00:00"), "{text}");
        assert_eq!(format_countdown(-61.0), "-0:01:01");
        assert_eq!(format_countdown(90_061.0), "1d 1:01:01");
    }

    #[test]
    fn node_lines_become_plan_commands_in_game_time() {
        let plan = Plan {
            nodes: vec![node(2_000.0, 5.0)],
            burn: Some(BurnPhase::Turning),
            landing: None,
        };
        let line = NodeLine::parse("node add +10m prograde 120")
            .expect("a node line")
            .expect("valid");
        let no_target = || Err("no target".to_owned());
        assert_eq!(
            node_action(line, &plan, 1_000.0, 50_000.0, &INFO, no_target),
            NodeAction::Send(ClientMessage::Plan(PlanCommand::Add(node(1_600.0, 120.0))))
        );
        assert_eq!(
            node_action(NodeLine::Match, &plan, 1_000.0, 50_000.0, &INFO, no_target),
            NodeAction::Print("no target".into())
        );
        assert_eq!(
            node_action(NodeLine::Match, &plan, 1_000.0, 50_000.0, &INFO, || {
                Ok(node(1_700.0, -3.0))
            }),
            NodeAction::Send(ClientMessage::Plan(PlanCommand::Add(node(1_700.0, -3.0))))
        );
        let NodeAction::Print(listing) =
            node_action(NodeLine::List, &plan, 1_000.0, 50_000.0, &INFO, no_target)
        else {
            panic!("a listing");
        };
        assert!(listing.starts_with("1: dv 5.0 m/s"), "{listing}");
        assert!(listing.ends_with("[executing: turning]"), "{listing}");
        assert!(
            Plan::default()
                .listing(0.0, 1.0, &INFO)
                .starts_with("no nodes")
        );
    }
}
