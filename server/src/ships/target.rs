//! Targets: another ship or a body a pilot closes on. The target-relative hold
//! modes point the nose at it (its [`Aim`] set once per tick), and state sync
//! sends a targeted ship several times a second.

use bevy::prelude::*;
use galaxy_shared::components::{Aim, Controls, HoldMode, Position, Ship, Velocity};
use galaxy_shared::protocol::WireTarget;
use glam::DVec3;
use metrics::counter;

use super::events::{ShipEvent, ShipEventKind};
use crate::SimSystems;
use crate::ephemeris::Bodies;
use crate::telemetry;
use crate::tick::plan_tick;

pub(super) fn plugin(app: &mut App) {
    app.add_message::<TargetCommand>().add_systems(
        FixedUpdate,
        (
            choose_targets.in_set(SimSystems::Input),
            aim_at_targets.in_set(SimSystems::Plan).after(plan_tick),
        ),
    );
}

/// What a ship is targeting.
#[derive(Component, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// Another ship.
    Ship(Entity),
    /// A body, by N-body slot.
    Body(usize),
}

impl Target {
    /// The target as its pilot's client names it.
    pub fn wire(self) -> WireTarget {
        match self {
            Self::Ship(ship) => WireTarget::Ship(ship.index_u32()),
            Self::Body(body) => WireTarget::Body(body as u8),
        }
    }
}

/// A pilot's choice of target (`None`: none).
#[derive(Message, Clone, Copy, Debug, PartialEq)]
pub struct TargetCommand {
    /// The pilot's ship.
    pub ship: Entity,
    /// The chosen target, as the client names it.
    pub target: Option<WireTarget>,
}

fn choose_targets(
    mut choices: MessageReader<TargetCommand>,
    ships: Query<Entity, With<Ship>>,
    bodies: Res<Bodies>,
    mut events: MessageWriter<ShipEvent>,
    mut commands: Commands,
) {
    for choice in choices.read() {
        let chosen = match choice.target {
            None => Ok(None),
            Some(WireTarget::Body(body)) if usize::from(body) < bodies.state.len() => {
                Ok(Some(Target::Body(usize::from(body))))
            }
            Some(WireTarget::Body(_)) => Err("no such body"),
            Some(WireTarget::Ship(id)) if id == choice.ship.index_u32() => {
                Err("a ship cannot target itself")
            }
            Some(WireTarget::Ship(id)) => ships
                .iter()
                .find(|ship| ship.index_u32() == id)
                .map(|ship| Some(Target::Ship(ship)))
                .ok_or("no such ship"),
        };
        let Ok(mut ship) = commands.get_entity(choice.ship) else {
            continue;
        };
        match chosen {
            Ok(Some(target)) => {
                ship.insert(target);
            }
            Ok(None) => {
                // A target hold with nothing to aim at holds the attitude still.
                ship.remove::<Target>().insert(Aim::default());
            }
            Err(reason) => {
                counter!(telemetry::SHIP_COMMANDS_REJECTED).increment(1);
                events.write(ShipEvent {
                    ship: choice.ship,
                    kind: ShipEventKind::Rejected {
                        reason: reason.into(),
                    },
                });
            }
        }
    }
}

/// The nose direction of a target-relative hold mode for a ship at `position`,
/// `velocity`, with its target at `target_position`, `target_velocity`; zero when
/// the mode is not one or the direction is undefined.
pub fn target_direction(
    mode: HoldMode,
    position: DVec3,
    velocity: DVec3,
    target_position: DVec3,
    target_velocity: DVec3,
) -> DVec3 {
    let direction = match mode {
        HoldMode::Target => target_position - position,
        HoldMode::AntiTarget => position - target_position,
        HoldMode::RelativePrograde => velocity - target_velocity,
        HoldMode::RelativeRetrograde => target_velocity - velocity,
        _ => DVec3::ZERO,
    };
    direction.normalize_or_zero()
}

fn aim_at_targets(
    bodies: Res<Bodies>,
    mut pilots: Query<(&Controls, &Position, &Velocity, &mut Aim, &Target), With<Ship>>,
    others: Query<(&Position, &Velocity), With<Ship>>,
) {
    for (controls, position, velocity, mut aim, target) in &mut pilots {
        let Controls::Hold(mode) = *controls else {
            continue;
        };
        if !mode.is_aimed() || matches!(mode, HoldMode::Node | HoldMode::Land) {
            continue;
        }
        let at = match *target {
            Target::Ship(ship) => others.get(ship).ok().map(|(p, v)| (p.0, v.0)),
            Target::Body(body) => bodies
                .state
                .positions
                .get(body)
                .zip(bodies.state.velocities.get(body))
                .map(|(p, v)| (*p, *v)),
        };
        let direction = at.map_or(DVec3::ZERO, |(p, v)| {
            target_direction(mode, position.0, velocity.0, p, v)
        });
        aim.set_if_neq(Aim(direction));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_holds_point_at_and_along_the_relative_motion() {
        let (p, v) = (DVec3::ZERO, DVec3::new(0.0, 10.0, 0.0));
        let (tp, tv) = (DVec3::new(100.0, 0.0, 0.0), DVec3::new(0.0, 7.0, 4.0));
        let cases = [
            (HoldMode::Target, DVec3::X),
            (HoldMode::AntiTarget, -DVec3::X),
            (HoldMode::RelativePrograde, DVec3::new(0.0, 0.6, -0.8)),
            (HoldMode::RelativeRetrograde, DVec3::new(0.0, -0.6, 0.8)),
            (HoldMode::Prograde, DVec3::ZERO),
        ];
        for (mode, expected) in cases {
            let direction = target_direction(mode, p, v, tp, tv);
            assert!(
                direction.distance(expected) < 1e-12,
                "{mode:?}: {direction}"
            );
        }
        assert_eq!(
            target_direction(HoldMode::RelativePrograde, p, v, tp, v),
            DVec3::ZERO,
            "no relative motion, no direction"
        );
    }
}
