//! Pilot commands and service requests.
//!
//! Everything a player does to a ship arrives as a [`ShipCommand`] message, so the
//! network and admin plugins feed the same path the tests use. Commands are checked
//! here (finite, in range, ship exists); a bad one is rejected, counted and answered.

use bevy::ecs::query::QueryData;
use bevy::prelude::*;
use galaxy_shared::components::{
    AngularVelocity, Attitude, Controls, FlightState, Fuel, HoldMode, Position, Ship, Throttle,
    Velocity, WheelMomentum,
};
use galaxy_shared::flight_plan::{Burn, FlightPlan, LandingPhase, PlanCommand, PlanEffect};
use galaxy_shared::physics::gravity::dominant_body;
use metrics::counter;

use super::events::{ShipEvent, ShipEventKind};
use super::flight::PositionCarry;
use super::lander::{Landing, plan_landing};
use super::spawn::{OrbitSlot, SpawnRng, spawn_slot};
use crate::SimSystems;
use crate::config::{Config, ShipSpec};
use crate::ephemeris::Bodies;
use crate::telemetry;
use crate::tick::SimClock;

pub(super) fn plugin(app: &mut App) {
    app.add_message::<ShipCommand>()
        .add_message::<ShipEvent>()
        .init_resource::<ShipCommandStats>()
        .add_systems(FixedUpdate, apply_ship_commands.in_set(SimSystems::Input))
        .add_systems(
            FixedUpdate,
            report_flight_changes.in_set(SimSystems::Resolve),
        );
}

/// One pilot action on one ship.
#[derive(Message, Clone, Copy, Debug, PartialEq)]
pub struct ShipCommand {
    /// The ship.
    pub ship: Entity,
    /// What to do.
    pub action: ShipAction,
}

/// What a pilot can ask of a ship.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ShipAction {
    /// Set the main-engine throttle, 0..1.
    Throttle(f64),
    /// Set rotation commands (each −1..1) or a hold mode.
    Controls(Controls),
    /// Fill the tank.
    Refuel,
    /// Respawn in the spawn orbit with a full tank.
    Reset,
    /// Move into this orbit at once, keeping fuel and controls (admin `teleport`).
    Teleport(OrbitSlot),
    /// Change the flight plan, or start or stop flying it.
    Plan(PlanCommand),
}

/// Counters of refused commands, for the metrics.
#[derive(Resource, Debug, Default)]
pub struct ShipCommandStats {
    /// Commands refused for bad values, unknown ships or game rules.
    pub rejected: u64,
}

/// A ship as commands change it.
#[derive(QueryData)]
#[query_data(mutable)]
struct CommandedShip {
    position: &'static mut Position,
    carry: &'static mut PositionCarry,
    velocity: &'static mut Velocity,
    attitude: &'static mut Attitude,
    rate: &'static mut AngularVelocity,
    wheels: &'static mut WheelMomentum,
    fuel: &'static mut Fuel,
    throttle: &'static mut Throttle,
    controls: &'static mut Controls,
    flight: &'static mut FlightState,
    plan: &'static mut FlightPlan,
    burning: Has<Burn>,
    landing: Has<Landing>,
}

/// What every command is judged against.
struct Rules<'a> {
    config: &'a Config,
    spec: &'a ShipSpec,
    bodies: &'a Bodies,
    /// Game time at the tick's start.
    now: f64,
}

fn apply_ship_commands(
    mut commands: MessageReader<ShipCommand>,
    mut events: MessageWriter<ShipEvent>,
    mut stats: ResMut<ShipCommandStats>,
    mut ships: Query<CommandedShip, With<Ship>>,
    config: Res<Config>,
    spec: Res<ShipSpec>,
    bodies: Res<Bodies>,
    clock: Res<SimClock>,
    mut rng: ResMut<SpawnRng>,
    mut executors: Commands,
) {
    let rules = Rules {
        config: &config,
        spec: &spec,
        bodies: &bodies,
        now: clock.game_time,
    };
    for command in commands.read() {
        let outcome = match ships.get_mut(command.ship) {
            Err(_) => Err("no such ship".to_owned()),
            Ok(ship) => apply(command.action, ship, &rules, &mut rng.0).map(|(kind, effect)| {
                let mut ship = executors.entity(command.ship);
                match effect {
                    Autopilot::Keep => {}
                    Autopilot::Start(all) => {
                        ship.insert(Burn::waiting(all));
                    }
                    Autopilot::Stop => {
                        ship.remove::<(Burn, Landing)>();
                    }
                    Autopilot::Land(landing) => {
                        ship.insert(landing);
                        if landing.phase == LandingPhase::Deorbit {
                            ship.insert(Burn::waiting(false));
                        }
                    }
                }
                kind
            }),
        };
        match outcome {
            Ok(Some(kind)) => {
                info!(ship = ?command.ship, ?kind, "ship service");
                events.write(ShipEvent {
                    ship: command.ship,
                    kind,
                });
            }
            Ok(None) => {}
            Err(reason) => {
                stats.rejected += 1;
                counter!(telemetry::SHIP_COMMANDS_REJECTED).increment(1);
                debug!(ship = ?command.ship, action = ?command.action, %reason, "ship command rejected");
                events.write(ShipEvent {
                    ship: command.ship,
                    kind: ShipEventKind::Rejected { reason },
                });
            }
        }
    }
}

/// What becomes of the autopilots (the burn executor, the landing autopilot).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Autopilot {
    /// Nothing.
    Keep,
    /// The executor flies the first node, and with `true` every one after it.
    Start(bool),
    /// Both stop.
    Stop,
    /// The landing autopilot takes the ship (the executor first flies its
    /// deorbit node, when it starts with one).
    Land(Landing),
}

/// Applies one action: `Some` event for services that answer with one, and what
/// becomes of the autopilots.
fn apply(
    action: ShipAction,
    ship: CommandedShipItem,
    rules: &Rules,
    rng: &mut fastrand::Rng,
) -> Result<(Option<ShipEventKind>, Autopilot), String> {
    let Rules {
        config,
        spec,
        bodies,
        now,
    } = *rules;
    let CommandedShipItem {
        mut position,
        mut carry,
        mut velocity,
        mut attitude,
        mut rate,
        mut wheels,
        mut fuel,
        mut throttle,
        mut controls,
        mut flight,
        mut plan,
        burning,
        landing,
    } = ship;
    let executing = burning || landing;
    let keep = |event: Option<ShipEventKind>| (event, Autopilot::Keep);
    match action {
        ShipAction::Throttle(value) => {
            if !(value.is_finite() && (0.0..=1.0).contains(&value)) {
                return Err(format!("throttle must be within 0..1, got {value}"));
            }
            throttle.0 = value;
            Ok(keep(None))
        }
        ShipAction::Controls(Controls::Rates(rates)) => {
            if !(rates.is_finite() && rates.abs().max_element() <= 1.0) {
                return Err(format!("rotation rates must be within -1..1, got {rates}"));
            }
            *controls = Controls::Rates(rates);
            Ok(keep(None))
        }
        ShipAction::Controls(Controls::Hold(HoldMode::Node)) => {
            Err("the node hold is the burn executor's; use `node execute`".into())
        }
        ShipAction::Controls(Controls::Hold(HoldMode::Land)) => {
            Err("the land hold is the landing autopilot's; use `land`".into())
        }
        ShipAction::Controls(hold) => {
            *controls = hold;
            Ok(keep(None))
        }
        ShipAction::Plan(change) => {
            if matches!(change, PlanCommand::Execute { .. } | PlanCommand::Land)
                && !matches!(*flight, FlightState::Flying)
            {
                return Err("only a ship in flight can fly a node or land".into());
            }
            // Checked on a copy, so a refusal leaves the plan (and its change tick)
            // untouched.
            let mut changed = plan.clone();
            let effect = match changed
                .apply(change, now, executing)
                .map_err(|error| error.to_string())?
            {
                PlanEffect::Keep => Autopilot::Keep,
                PlanEffect::Start(all) => Autopilot::Start(all),
                PlanEffect::Stop => {
                    super::executor::hand_back(&mut throttle, &mut controls);
                    Autopilot::Stop
                }
                PlanEffect::Land => {
                    // Where the ship is now: a ship spawned this tick has no
                    // dominant body worked out yet.
                    let body = dominant_body(position.0, &bodies.state.positions, &bodies.soi);
                    let (landing, deorbit) =
                        plan_landing(bodies, body, position.0, velocity.0, fuel.0, now, spec)?;
                    changed.nodes.extend(deorbit);
                    Autopilot::Land(landing)
                }
            };
            *plan = changed;
            Ok((None, effect))
        }
        ShipAction::Refuel => match *flight {
            FlightState::Destroyed { .. } => {
                Err("a destroyed ship cannot be refuelled; reset it".into())
            }
            FlightState::Flying if !config.ship.refuel_anywhere => {
                Err("refuelling is only allowed on a surface on this server".into())
            }
            _ => {
                fuel.0 = spec.fuel_capacity;
                Ok(keep(Some(ShipEventKind::Refuelled)))
            }
        },
        ShipAction::Reset | ShipAction::Teleport(_) => {
            let slot = match action {
                ShipAction::Teleport(slot) => {
                    if !(slot.position.is_finite()
                        && slot.velocity.is_finite()
                        && slot.attitude.is_finite())
                    {
                        return Err("teleport target is not finite".into());
                    }
                    slot
                }
                _ => {
                    plan.nodes.clear();
                    wheels.0 = Default::default();
                    fuel.0 = spec.fuel_capacity;
                    throttle.0 = 0.0;
                    *controls = Controls::default();
                    spawn_slot(config, bodies, rng)
                }
            };
            position.0 = slot.position;
            carry.0 = Default::default();
            velocity.0 = slot.velocity;
            attitude.0 = slot.attitude;
            rate.0 = Default::default();
            // Answered by its own event (or none), not reported as a lift-off.
            *flight.bypass_change_detection() = FlightState::Flying;
            // A reset or a teleport leaves the orbit a plan was made for.
            let effect = if executing {
                super::executor::hand_back(&mut throttle, &mut controls);
                Autopilot::Stop
            } else {
                Autopilot::Keep
            };
            Ok((
                (action == ShipAction::Reset).then_some(ShipEventKind::Reset),
                effect,
            ))
        }
    }
}

fn report_flight_changes(
    ships: Query<(Entity, Ref<FlightState>), (With<Ship>, Changed<FlightState>)>,
    bodies: Res<Bodies>,
    mut events: MessageWriter<ShipEvent>,
) {
    let name = |body: usize| bodies.catalog.names.get(body).cloned().unwrap_or_default();
    for (ship, flight) in &ships {
        if flight.is_added() {
            continue;
        }
        let kind = match *flight {
            FlightState::Landed { body, .. } => ShipEventKind::Landed { body: name(body) },
            FlightState::Destroyed { body, .. } => ShipEventKind::Destroyed { body: name(body) },
            FlightState::Flying => ShipEventKind::LiftedOff,
        };
        info!(?ship, ?kind, "flight state changed");
        events.write(ShipEvent { ship, kind });
    }
}
