//! The burn executor: flies the first node of a ship's flight plan, with or
//! without its player online.
//!
//! Once per tick, before the ships fly, it sets the throttle and the nose of every
//! ship carrying a [`Burn`]: it waits until a turn lead before the burn, turns the
//! nose onto the node's delta-v, ignites so the burn's delta-v is centred on the node's time
//! (its length from the rocket equation), steers by the remaining delta-v
//! ([`galaxy_shared::physics::manoeuvre`]) with the nose held on it (hold mode
//! `Node`, its [`Aim`] set each tick), gives the last tick only what is left,
//! and cuts off under [`CUTOFF_DELTA_V`]. While it flies a ship it owns the
//! ship's throttle and controls: the pilot's inputs are overruled until the burn
//! ends or is aborted.

use bevy::prelude::*;
use galaxy_shared::components::{
    Aim, Attitude, Controls, FlightState, Fuel, HoldMode, Position, Ship, Throttle, Velocity,
};
use galaxy_shared::flight_plan::{Burn, BurnPhase, CUTOFF_DELTA_V, FlightPlan, Node};
use galaxy_shared::physics::attitude::{forward, pointing_error};
use galaxy_shared::physics::manoeuvre::{
    Field, burn_lead, burn_time, planned_velocity, remaining_delta_v, throttle_for,
};
use galaxy_shared::physics::rocket::delta_v;
use glam::DVec3;

use super::events::{ShipEvent, ShipEventKind};
use super::flight::DominantBody;
use crate::SimSystems;
use crate::config::ShipSpec;
use crate::ephemeris::Bodies;
use crate::tick::{SimClock, TickPlan, plan_tick};

pub(super) fn plugin(app: &mut App) {
    app.register_required_components::<Ship, FlightPlan>()
        .init_resource::<ManoeuvreSchedule>()
        .add_systems(
            FixedUpdate,
            (
                fly_burns.in_set(SimSystems::Plan).after(plan_tick),
                schedule_burns.in_set(SimSystems::Publish),
            ),
        );
}

/// Game seconds between starting to turn and igniting: time for a half turn at
/// the hold modes' rate and for the wheels to settle.
pub const TURN_LEAD: f64 = 60.0;
/// An executor acts at a tick that starts this close before its moment (s), so
/// rounding in the game-time sum does not put it off a tick.
pub const ACT_TOLERANCE: f64 = 1e-6;
/// The engine runs only while the nose is this close to the burn (rad).
const ALIGNED: f64 = 0.01;

/// When the executors next need the clock: the warp policy slows for it, and
/// `simulate` ends its ticks there.
#[derive(Resource, Clone, Copy, Debug, Default, PartialEq)]
pub struct ManoeuvreSchedule {
    /// The earliest moment an executor acts (starts turning or ignites), and the
    /// ship; `None` with no burn planned to be flown.
    pub next: Option<(f64, Entity)>,
    /// A ship is turning or burning: ticks should be short.
    pub busy: bool,
}

/// When a node's burn turns and ignites, for a ship with `fuel` left: the burn's
/// delta-v centroid on the node ([`burn_lead`]), or half of what the tank holds.
fn timeline(node: &Node, fuel: f64, spec: &ShipSpec) -> (f64, f64) {
    let mass = spec.dry_mass + fuel;
    let (thrust, ve) = (spec.thrust, spec.exhaust_velocity);
    let lead = if burn_time(node.delta_v(), mass, thrust, ve) <= fuel * ve / thrust {
        burn_lead(node.delta_v(), mass, thrust, ve)
    } else {
        0.5 * fuel * ve / thrust
    };
    let ignite = node.at - lead;
    (ignite - TURN_LEAD, ignite)
}

pub(super) fn schedule_burns(
    clock: Res<SimClock>,
    spec: Res<ShipSpec>,
    ships: Query<(Entity, &FlightPlan, &Burn, &Fuel)>,
    mut schedule: ResMut<ManoeuvreSchedule>,
) {
    let now = clock.game_time;
    let mut next: Option<(f64, Entity)> = None;
    let mut busy = false;
    for (ship, plan, burn, fuel) in &ships {
        let Some(node) = plan.nodes.first() else {
            continue;
        };
        let (turn, ignite) = timeline(node, fuel.0, &spec);
        let at = match burn.phase {
            BurnPhase::Waiting => turn,
            BurnPhase::Turning => ignite,
            BurnPhase::Burning => now,
        };
        busy |= burn.phase != BurnPhase::Waiting;
        if next.is_none_or(|(t, _)| at < t) {
            next = Some((at, ship));
        }
    }
    schedule.set_if_neq(ManoeuvreSchedule { next, busy });
}

/// What the executor reads of a ship.
type Flown = (
    Entity,
    &'static mut FlightPlan,
    &'static mut Burn,
    &'static Position,
    &'static Velocity,
    &'static Attitude,
    &'static Fuel,
    &'static FlightState,
    &'static DominantBody,
    &'static mut Throttle,
    &'static mut Controls,
    &'static mut Aim,
);

pub(super) fn fly_burns(
    clock: Res<SimClock>,
    tick: Res<TickPlan>,
    bodies: Res<Bodies>,
    spec: Res<ShipSpec>,
    mut ships: Query<Flown, With<Ship>>,
    mut events: MessageWriter<ShipEvent>,
    mut commands: Commands,
) {
    let now = clock.game_time;
    for (
        ship,
        mut plan,
        mut burn,
        position,
        velocity,
        attitude,
        fuel,
        flight,
        dominant,
        mut throttle,
        mut controls,
        mut aim,
    ) in &mut ships
    {
        let step = Step {
            now,
            dt: tick.dt,
            spec: &spec,
            bodies: &bodies,
            position: position.0,
            velocity: velocity.0,
            attitude: attitude.0,
            fuel: fuel.0,
            dominant: dominant.0,
        };
        let before = *burn;
        let outcome = match (plan.nodes.first(), flight) {
            (None, _) => Outcome::Stopped("the node is gone".into()),
            (Some(_), FlightState::Landed { .. } | FlightState::Destroyed { .. }) => {
                Outcome::Stopped("the burn was stopped: the ship is not flying".into())
            }
            (Some(node), FlightState::Flying) => step.fly(node, burn.bypass_change_detection()),
        };
        match outcome {
            Outcome::Wait => {}
            Outcome::Steer {
                throttle: value,
                nose,
            } => {
                throttle.set_if_neq(Throttle(value));
                if let Some(nose) = nose {
                    controls.set_if_neq(Controls::Hold(HoldMode::Node));
                    aim.set_if_neq(Aim(nose));
                }
                if burn.phase != before.phase {
                    burn.set_changed();
                    plan.set_changed();
                }
            }
            Outcome::Finished { left } => {
                plan.nodes.remove(0);
                events.write(ShipEvent {
                    ship,
                    kind: ShipEventKind::BurnFinished {
                        left,
                        planned: burn.delta_v,
                        achieved: burn.achieved,
                    },
                });
                hand_back(&mut throttle, &mut controls);
                if burn.all && !plan.nodes.is_empty() {
                    *burn = Burn::waiting(true);
                } else {
                    commands.entity(ship).remove::<Burn>();
                }
            }
            Outcome::Stopped(reason) => {
                plan.set_changed();
                hand_back(&mut throttle, &mut controls);
                commands.entity(ship).remove::<Burn>();
                events.write(ShipEvent {
                    ship,
                    kind: ShipEventKind::Rejected { reason },
                });
            }
        }
    }
}

/// Hands the ship back to its pilot: engine off, attitude held (an autopilot's
/// aimed hold becomes stability).
pub(super) fn hand_back(throttle: &mut Throttle, controls: &mut Controls) {
    throttle.0 = 0.0;
    if matches!(*controls, Controls::Hold(HoldMode::Node | HoldMode::Land)) {
        *controls = Controls::Hold(HoldMode::Stability);
    }
}

/// What the executor does with a ship this tick.
#[derive(Clone, Debug, PartialEq)]
enum Outcome {
    /// Nothing yet: the pilot keeps the ship until the turn.
    Wait,
    /// Throttle and, unless `None`, the nose's direction.
    Steer {
        /// Throttle 0..1.
        throttle: f64,
        /// ICRF direction to hold.
        nose: Option<DVec3>,
    },
    /// The burn is done, `left` m/s short of the plan.
    Finished { left: f64 },
    /// The burn cannot go on.
    Stopped(String),
}

/// One ship at the start of one tick.
struct Step<'a> {
    now: f64,
    dt: f64,
    spec: &'a ShipSpec,
    bodies: &'a Bodies,
    position: DVec3,
    velocity: DVec3,
    attitude: glam::DQuat,
    fuel: f64,
    dominant: usize,
}

impl Step<'_> {
    /// The ship's position and velocity relative to `body`, and the field the
    /// ship flies in there (with J2 when ships feel it).
    fn relative_to(&self, body: usize) -> Option<(DVec3, DVec3, Field)> {
        let state = &self.bodies.state;
        let catalog = &self.bodies.catalog;
        let pole = catalog.rotations.get(body)?.pole(self.now);
        let oblate = catalog
            .oblateness
            .get(body)?
            .filter(|_| self.bodies.oblate)
            .map(|o| (pole, o.j2_r2()));
        Some((
            self.position - *state.positions.get(body)?,
            self.velocity - *state.velocities.get(body)?,
            Field {
                mu: *state.gms.get(body)?,
                oblate,
            },
        ))
    }

    fn fly(&self, node: &Node, burn: &mut Burn) -> Outcome {
        let spec = self.spec;
        if burn.phase == BurnPhase::Burning {
            let used = burn.fuel - self.fuel;
            if used > 0.0 {
                let dv = delta_v(
                    spec.exhaust_velocity,
                    spec.dry_mass + burn.fuel,
                    spec.dry_mass + self.fuel,
                );
                burn.achieved += forward(self.attitude) * dv;
            }
        }
        burn.fuel = self.fuel;
        let body = if burn.phase == BurnPhase::Burning {
            burn.body
        } else {
            self.dominant
        };
        let Some((r, v, field)) = self.relative_to(body) else {
            return Outcome::Stopped("the burn's body is gone".into());
        };
        let to_node = node.at - self.now;
        if burn.phase != BurnPhase::Burning {
            let (turn, ignite) = timeline(node, self.fuel, spec);
            if self.now < turn - ACT_TOLERANCE {
                burn.phase = BurnPhase::Waiting;
                return Outcome::Wait;
            }
            let Some(planned) = planned_velocity(r, v, &field, to_node, node.components()) else {
                return Outcome::Stopped("the node has no orbit to be planned in".into());
            };
            let wanted = remaining_delta_v(r, v, &field, to_node, planned);
            if self.now < ignite - ACT_TOLERANCE {
                burn.phase = BurnPhase::Turning;
                return Outcome::Steer {
                    throttle: 0.0,
                    nose: wanted.try_normalize(),
                };
            }
            *burn = Burn {
                phase: BurnPhase::Burning,
                body,
                planned,
                delta_v: wanted,
                achieved: DVec3::ZERO,
                ..*burn
            };
        }
        let left = remaining_delta_v(r, v, &field, to_node, burn.planned);
        if left.length() < CUTOFF_DELTA_V || self.fuel <= 0.0 {
            return Outcome::Finished {
                left: left.length(),
            };
        }
        let nose = left / left.length();
        let throttle = if pointing_error(self.attitude, nose) < ALIGNED {
            throttle_for(
                left.length(),
                self.dt,
                spec.dry_mass + self.fuel,
                spec.thrust,
                spec.exhaust_velocity,
            )
        } else {
            0.0
        };
        Outcome::Steer {
            throttle,
            nose: Some(nose),
        }
    }
}
