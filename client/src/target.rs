//! The target on the client: the `target` console lines, the server's word on what
//! is targeted, and what the HUD reads of it (distance, relative speed, closest
//! approach) and the "match velocity" node planned from it.

use bevy::prelude::*;
use galaxy_shared::flight_plan::Node;
use galaxy_shared::physics::approach::{Approach, closest_approach};
use galaxy_shared::physics::kepler::drift;
use galaxy_shared::physics::orbit::OrbitalElements;
use galaxy_shared::protocol::WireTarget;
use glam::DVec3;

use crate::hud::{format_distance, format_speed};
use crate::net::ShipSamples;
use crate::scene::bodies::BodySystem;

pub(super) fn plugin(app: &mut App) {
    app.init_resource::<ChosenTarget>();
}

/// What the server says the ship targets.
#[derive(Resource, Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct ChosenTarget(pub Option<WireTarget>);

/// Usage of the `target` lines.
pub(crate) const TARGET_USAGE: &str = "\
target <body>        target a body by name
target ship <id>     target another ship by its id
target nearest       target the nearest other ship in view
target none          clear the target";

/// A parsed `target` line: what to ask the server for, or why not. `None` for a
/// line that is not a `target` line.
pub(crate) fn parse_target_line(
    line: &str,
    bodies: &BodySystem,
    ships: &ShipSamples,
    own_position: DVec3,
) -> Option<Result<Option<WireTarget>, String>> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let (first, rest) = words.split_first()?;
    if !first.eq_ignore_ascii_case("target") {
        return None;
    }
    Some(match rest {
        [none] if none.eq_ignore_ascii_case("none") => Ok(None),
        [nearest] if nearest.eq_ignore_ascii_case("nearest") => ships
            .0
            .values()
            .filter_map(|sample| {
                let center = bodies.position(sample.ship.dominant)?;
                let position = center + DVec3::from_array(sample.ship.position.map(f64::from));
                Some((position.distance(own_position), sample.ship.id))
            })
            .min_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, id)| Some(WireTarget::Ship(id)))
            .ok_or_else(|| "no other ship in view".to_owned()),
        [ship, id] if ship.eq_ignore_ascii_case("ship") => id
            .parse::<u32>()
            .map(|id| Some(WireTarget::Ship(id)))
            .map_err(|_| TARGET_USAGE.to_owned()),
        [name] => bodies
            .info
            .iter()
            .flatten()
            .find(|b| b.name.eq_ignore_ascii_case(name))
            .map(|b| Some(WireTarget::Body(b.id)))
            .ok_or_else(|| format!("no body called {name}")),
        _ => Err(TARGET_USAGE.to_owned()),
    })
}

/// Where the target is: barycentric position and velocity now, and its name.
pub(crate) fn locate(
    target: WireTarget,
    bodies: &BodySystem,
    ships: &ShipSamples,
    now: f64,
) -> Option<(DVec3, DVec3, String)> {
    match target {
        WireTarget::Body(id) => {
            let i = usize::from(id);
            Some((
                bodies.position(id)?,
                *bodies.velocities.get(i)?,
                bodies.name(id).to_owned(),
            ))
        }
        WireTarget::Ship(id) => {
            let sample = ships.0.get(&id)?;
            let d = sample.ship.dominant;
            let (r, v) = drift(
                DVec3::from_array(sample.ship.position.map(f64::from)),
                DVec3::from_array(sample.ship.velocity.map(f64::from)),
                bodies.gm(d),
                now - sample.game_time,
            );
            let i = usize::from(d);
            Some((
                bodies.position(d)? + r,
                *bodies.velocities.get(i)? + v,
                format!("ship {id}"),
            ))
        }
    }
}

/// The target as the pilot reads it, relative to the own ship; positions and
/// velocities relative to the own dominant body of parameter `mu`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Readout {
    /// Distance now (m).
    pub distance: f64,
    /// Speed relative to the target now (m/s); positive when closing.
    pub closing: f64,
    /// The closest approach within one own orbit (or a day on an open orbit).
    pub closest: Approach,
}

impl Readout {
    /// Readout of a target at `target_r`, `target_v` for a ship at `r`, `v`.
    pub fn new(r: DVec3, v: DVec3, target_r: DVec3, target_v: DVec3, mu: f64) -> Self {
        let separation = target_r - r;
        let relative = target_v - v;
        let period = OrbitalElements::from_state(r, v, mu).period;
        let horizon = if period.is_finite() { period } else { 86_400.0 };
        Self {
            distance: separation.length(),
            closing: -relative.dot(separation.normalize_or_zero()),
            closest: closest_approach(r, v, target_r, target_v, mu, horizon),
        }
    }

    /// The HUD's line.
    pub fn line(&self, name: &str) -> String {
        format!(
            "{name}: {}, closing {}; closest in {:.0} s at {}",
            format_distance(self.distance),
            format_speed(self.closing),
            self.closest.time,
            format_distance(self.closest.distance)
        )
    }
}

/// A node at the closest approach that cancels the velocity relative to the target
/// there, for a ship at `r`, `v` at game time `now`.
pub(crate) fn match_velocity_node(
    r: DVec3,
    v: DVec3,
    mu: f64,
    now: f64,
    closest: &Approach,
) -> Option<Node> {
    let (r_node, v_node) = drift(r, v, mu, closest.time);
    let [prograde, normal, radial] = galaxy_shared::physics::manoeuvre::node_frame(r_node, v_node)?;
    let dv = closest.relative_velocity;
    Some(Node {
        at: now + closest.time,
        prograde: dv.dot(prograde),
        normal: dv.dot(normal),
        radial: dv.dot(radial),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use galaxy_shared::physics::manoeuvre::inertial_delta_v;
    use galaxy_shared::physics::orbit::circular_speed;

    const MU: f64 = 3.986_004_418e14;

    #[test]
    fn matching_velocity_at_closest_approach_leaves_no_relative_motion() {
        // A target on a slightly larger, tilted orbit, passing close ahead.
        let r = DVec3::X * 6.771e6;
        let v = DVec3::Y * circular_speed(6.771e6, MU);
        let target_r = DVec3::new(6.771e6, 2_000.0, 500.0);
        let target_v = DVec3::new(3.0, circular_speed(6.78e6, MU), 40.0);
        let readout = Readout::new(r, v, target_r, target_v, MU);
        assert!((readout.distance - (2_000f64.powi(2) + 500f64.powi(2)).sqrt()).abs() < 1e-6);
        let node = match_velocity_node(r, v, MU, 100.0, &readout.closest).expect("an orbit");
        assert!((node.at - 100.0 - readout.closest.time).abs() < 1e-9);
        // The node's delta-v, applied there, gives the ship the target's velocity.
        let (r_node, v_node) = drift(r, v, MU, readout.closest.time);
        let (_, tv_node) = drift(target_r, target_v, MU, readout.closest.time);
        let after = v_node + inertial_delta_v(node.components(), r_node, v_node).expect("orbit");
        assert!(
            after.distance(tv_node) < 1e-6,
            "{} m/s left",
            after.distance(tv_node)
        );
    }
}
