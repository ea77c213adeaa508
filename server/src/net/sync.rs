//! State sync: what each client is told, and how often.
//!
//! Every send (default 20 Hz) carries the client's own ship in full. The rest of
//! its byte budget goes to other ships and bodies by *priority accumulation*: each
//! candidate gains priority every send in proportion to its importance (near ships
//! much faster than far ones, the dominant body faster than the others), the
//! highest-priority candidates that fit are sent and their priority resets. Nothing
//! is starved and the budget is never exceeded. Positions and velocities of ships
//! are f32 relative to their dominant body, which the client extrapolates as a
//! Kepler orbit between updates.
//!
//! Ship candidates come from the [`interest`] index: the ships near the client
//! accumulate priority every send; a rotating sample of the others is looked at in
//! turn, each granted what it gained since its last visit, capped so near ships
//! still come several times a second. A round costs what is near each client.

use std::time::Instant;

use bevy::prelude::*;
use bevy_renet2::prelude::RenetServer;
use galaxy_shared::components::{
    AngularVelocity, Attitude, Body, Controls, FlightState, Fuel, Position, Ship, Throttle,
    Velocity,
};
use galaxy_shared::delta::{self, OwnMotion};
use galaxy_shared::physics::gravity::dominant_body;
use galaxy_shared::physics::rotation::surface_fix;
use galaxy_shared::protocol::{
    BodyState, CHANNEL_RELIABLE, CHANNEL_UNRELIABLE, MAX_SERVER_MESSAGE, NAME_DISTANCE, OtherShip,
    OwnShip, SURFACE_EVERY, ServerMessage, State, WireControls, WireFlight, WireSurface, encode,
    pack_fuel, pack_quat, pack_rates,
};
use glam::DVec3;
use metrics::histogram;

use super::interest::{IndexedShip, ShipIndex};
use super::session::{Sessions, send};
use crate::config::{Config, ShipSpec};
use crate::ephemeris::Bodies;
use crate::ships::ShipName;
use crate::ships::target::Target;
use crate::telemetry;
use crate::tick::SimClock;

/// Bytes netcode and renet add to every state message (header, MAC, channel).
pub const TRANSPORT_OVERHEAD: f64 = 36.0;
/// Own-ship states kept as possible delta baselines: 1.6 s at 20 Hz, longer than
/// any acknowledgement worth waiting for.
const SENT_HISTORY: usize = 32;
/// Most sends' worth of unspent byte credit a client may bank.
const MAX_CREDIT_SENDS: f64 = 4.0;
/// Distance at which a ship's priority has fallen to half of a touching ship's (m).
const NEAR_DISTANCE: f64 = 10_000.0;
/// Priority gained per second by a ship at any distance, and extra when near.
const FAR_SHIP_WEIGHT: f32 = 1.0;
const NEAR_SHIP_WEIGHT: f32 = 20.0;
/// Most priority a far ship brings to one visit: what a touching ship gains in a
/// quarter of a second, so near ships still come four times a second.
const FAR_VISIT_CAP: f32 = 0.25 * (FAR_SHIP_WEIGHT + NEAR_SHIP_WEIGHT);
/// Priority gained per second by the dominant body and by every other body.
const DOMINANT_BODY_WEIGHT: f32 = 2.0;
const BODY_WEIGHT: f32 = 0.1;
/// Most names in one send, so a crowd arriving at once is named over a few sends.
const NAMES_PER_SEND: usize = 16;

type OwnShipQuery = (
    &'static Position,
    &'static Velocity,
    &'static Attitude,
    &'static AngularVelocity,
    &'static Fuel,
    &'static Throttle,
    &'static Controls,
    &'static FlightState,
    Option<&'static Target>,
);

/// Send weight of the own ship's target: above everything else, so it rides in
/// every state the budget allows.
const TARGET_WEIGHT: f32 = 1_000.0;

/// Something that may ride along in a state message.
enum Candidate {
    /// A ship, and whether its name goes with it.
    Ship(OtherShip, bool),
    Body(BodyState),
}

pub(super) fn send_states(
    time: Res<Time<Real>>,
    mut timer: Local<Option<Timer>>,
    mut index: Local<ShipIndex>,
    mut near: Local<Vec<u32>>,
    config: Res<Config>,
    spec: Res<ShipSpec>,
    clock: Res<SimClock>,
    bodies: Res<Bodies>,
    body_entities: Query<(Entity, &Body)>,
    mut sessions: ResMut<Sessions>,
    mut server: ResMut<RenetServer>,
    own_ships: Query<OwnShipQuery, With<Ship>>,
    others: Query<(Entity, &Position, &Velocity, &Attitude, &FlightState), With<Ship>>,
    names: Query<&ShipName>,
) {
    let period = 1.0 / config.net.state_rate_hz;
    let timer =
        timer.get_or_insert_with(|| Timer::from_seconds(period as f32, TimerMode::Repeating));
    timer.tick(time.delta());
    if !timer.just_finished() {
        return;
    }
    let started = Instant::now();
    let refill = config.net.client_budget_bytes_per_s * period;
    let radius2 = config.net.interest_radius_m * config.net.interest_radius_m;
    let body_position = |i: usize| bodies.state.positions[i];
    let dominant_of =
        |position: DVec3| dominant_body(position, &bodies.state.positions, &bodies.soi);
    if !sessions.0.is_empty() {
        index.rebuild(
            others.iter().map(
                |(entity, position, velocity, attitude, flight)| IndexedShip {
                    entity,
                    position: position.0,
                    wire: other_ship(&bodies, entity, position.0, velocity.0, attitude, flight),
                },
            ),
        );
    }
    let far_gain = (FAR_SHIP_WEIGHT * period as f32 * index.revisit_sends()).min(FAR_VISIT_CAP);
    for (&client, session) in &mut sessions.0 {
        let Ok(own) = own_ships.get(session.ship) else {
            continue;
        };
        let (position, velocity, attitude, rate, fuel, throttle, controls, flight, target) = own;
        if session
            .sent
            .back()
            .is_some_and(|(tick, _)| *tick == clock.tick)
        {
            // Nothing new since the last send (the state rate outruns the ticks).
            continue;
        }
        // Computed here rather than read from `DominantBody`, which a ship spawned
        // since the last tick does not have yet.
        let d = dominant_of(position.0);
        let current = OwnMotion {
            game_time: clock.game_time,
            dominant: d as u8,
            position: position.0 - body_position(d),
            velocity: velocity.0 - bodies.state.velocities[d],
            attitude: pack_quat(attitude.0),
            fuel: pack_fuel(fuel.0, spec.fuel_capacity),
        };
        let baseline = session
            .sent
            .iter()
            .find(|(tick, _)| *tick == session.acked)
            .map(|(tick, motion)| (*tick, motion));
        let (motion, reconstructed) = delta::encode(&current, baseline);
        session.sent.push_back((clock.tick, reconstructed));
        if session.sent.len() > SENT_HISTORY {
            session.sent.pop_front();
        }
        let mut state = State {
            tick: clock.tick,
            game_time: clock.game_time,
            paused: clock.paused,
            scale: clock.rate() as f32,
            own: OwnShip {
                dominant: d as u8,
                motion,
                angular_velocity: pack_rates(rate.0),
                throttle: (throttle.0 * 255.0).round() as u8,
                flight: wire_flight(flight),
                surface: session.states_sent.is_multiple_of(SURFACE_EVERY).then(|| {
                    wire_surface(
                        &bodies,
                        d,
                        clock.game_time,
                        current.position,
                        current.velocity,
                    )
                }),
                controls: match *controls {
                    Controls::Rates(r) => WireControls::Rates(r.as_vec3().to_array()),
                    Controls::Hold(mode) => WireControls::Hold(mode),
                },
                last_input: session.last_input,
            },
            ships: Vec::new(),
            bodies: Vec::new(),
        };
        session.states_sent = session.states_sent.wrapping_add(1);
        // A token bucket: every send earns `refill` bytes; the own ship and the
        // framing are always paid; what is left buys other ships and bodies, and
        // unspent credit carries over (up to a few sends' worth).
        session.credit = (session.credit + refill).min(refill * MAX_CREDIT_SENDS);
        session.credit -= TRANSPORT_OVERHEAD + encoded_len(&state) as f64;
        let mut candidates: Vec<(f32, Entity, Candidate)> = Vec::new();
        let mut previous = std::mem::take(&mut session.priorities);
        let mut accumulate = |entity: Entity, gain: f32| {
            let priority = previous.remove(&entity).unwrap_or_default() + gain;
            session.priorities.insert(entity, priority);
            priority
        };
        let targeted = match target {
            Some(Target::Ship(ship)) => others.get(*ship).ok(),
            _ => None,
        };
        if let Some((entity, p, v, a, f)) = targeted {
            let wire = other_ship(&bodies, entity, p.0, v.0, a, f);
            let priority = accumulate(entity, TARGET_WEIGHT * period as f32);
            candidates.push((priority, entity, Candidate::Ship(wire, true)));
        }
        let target_entity = targeted.map(|(entity, ..)| entity);
        index.near(position.0, session.ship, &mut near);
        for &i in near.iter() {
            let ship = index.get(i);
            if Some(ship.entity) == target_entity {
                continue;
            }
            let distance = ship.position.distance(position.0);
            let closeness = (NEAR_DISTANCE / (distance + NEAR_DISTANCE)) as f32;
            let weight = FAR_SHIP_WEIGHT + NEAR_SHIP_WEIGHT * closeness;
            let priority = accumulate(ship.entity, weight * period as f32);
            let named = distance < NAME_DISTANCE;
            candidates.push((priority, ship.entity, Candidate::Ship(ship.wire, named)));
        }
        for i in index.sample(&mut session.far_cursor) {
            let ship = index.get(i);
            let known = near.contains(&i)
                || ship.entity == session.ship
                || Some(ship.entity) == target_entity;
            if known || ship.position.distance_squared(position.0) > radius2 {
                continue;
            }
            let priority = accumulate(ship.entity, far_gain);
            candidates.push((priority, ship.entity, Candidate::Ship(ship.wire, false)));
        }
        for (entity, body) in &body_entities {
            let weight = if body.index == d {
                DOMINANT_BODY_WEIGHT
            } else {
                BODY_WEIGHT
            };
            candidates.push((
                accumulate(entity, weight * period as f32),
                entity,
                Candidate::Body(BodyState {
                    id: body.index as u8,
                    position: bodies.state.positions[body.index].to_array(),
                    velocity: bodies.state.velocities[body.index].to_array(),
                }),
            ));
        }
        candidates.sort_unstable_by(|a, b| b.0.total_cmp(&a.0));
        let mut labels = Vec::new();
        for (_, entity, candidate) in candidates {
            let size = match &candidate {
                Candidate::Ship(ship, _) => ship_wire_len(ship),
                // id, 6 × f64.
                Candidate::Body(_) => 49,
            };
            if size as f64 > session.credit {
                continue;
            }
            session.credit -= size as f64;
            session.priorities.insert(entity, 0.0);
            match candidate {
                Candidate::Ship(ship, named) => {
                    if named && labels.len() < NAMES_PER_SEND {
                        let label = names
                            .get(entity)
                            .ok()
                            .and_then(|name| session.label_once(ship.id, entity, &name.0));
                        labels.extend(label);
                    }
                    state.ships.push(ship);
                }
                Candidate::Body(body) => state.bodies.push(body),
            }
        }
        send(
            &mut server,
            client,
            CHANNEL_UNRELIABLE,
            &ServerMessage::State(Box::new(state)),
        );
        if !labels.is_empty() {
            let message = ServerMessage::ShipNames(labels);
            session.credit -= TRANSPORT_OVERHEAD + encoded_len(&message) as f64;
            send(&mut server, client, CHANNEL_RELIABLE, &message);
        }
    }
    histogram!(telemetry::SYNC_DURATION).record(started.elapsed().as_secs_f64());
}

/// Another ship as it goes on the wire: relative to its dominant body.
fn other_ship(
    bodies: &Bodies,
    entity: Entity,
    position: DVec3,
    velocity: DVec3,
    attitude: &Attitude,
    flight: &FlightState,
) -> OtherShip {
    let d = dominant_body(position, &bodies.state.positions, &bodies.soi);
    OtherShip {
        id: entity.index_u32(),
        dominant: d as u8,
        position: relative(position - bodies.state.positions[d]),
        velocity: relative(velocity - bodies.state.velocities[d]),
        attitude: pack_quat(attitude.0),
        flight: wire_flight(flight),
    }
}

fn relative(v: DVec3) -> [f32; 3] {
    v.as_vec3().to_array()
}

/// Latitude, longitude and ground speed over body `d` of a ship at `r`, `v` from it.
fn wire_surface(bodies: &Bodies, d: usize, game_time: f64, r: DVec3, v: DVec3) -> WireSurface {
    let model = &bodies.catalog.rotations[d];
    let fix = surface_fix(
        r,
        v,
        bodies.catalog.radii[d],
        model.orientation(game_time),
        model.angular_velocity(game_time),
    );
    WireSurface {
        latitude_deg: fix.latitude_deg as f32,
        longitude_deg: fix.longitude_deg as f32,
        speed_m_s: fix.surface_speed_m_s as f32,
    }
}

fn wire_flight(flight: &FlightState) -> WireFlight {
    match flight {
        FlightState::Flying => WireFlight::Flying,
        FlightState::Landed { .. } => WireFlight::Landed,
        FlightState::Destroyed { .. } => WireFlight::Destroyed,
    }
}

/// Bytes postcard uses for `value` as a varint.
fn varint_len(value: u32) -> usize {
    (32 - value.leading_zeros() as usize).div_ceil(7).max(1)
}

/// Bytes postcard uses for `ship`: id and attitude as (zigzag) varints, dominant,
/// 6 × f32, flight.
pub fn ship_wire_len(ship: &OtherShip) -> usize {
    let zigzag = |c: i16| ((c << 1) ^ (c >> 15)) as u16 as u32;
    varint_len(ship.id)
        + ship
            .attitude
            .iter()
            .map(|&c| varint_len(zigzag(c)))
            .sum::<usize>()
        + 26
}

fn encoded_len<T: serde::Serialize>(value: &T) -> usize {
    encode(value, MAX_SERVER_MESSAGE).map_or(usize::MAX / 2, |bytes| bytes.len())
}
