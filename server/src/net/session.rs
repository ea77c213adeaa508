//! Sessions: who is connected, which ship they fly, and what they send.
//!
//! A connection is accepted by netcode only with a valid connect token; its user
//! data says who the player is. The player's ship is found by owner or created in
//! the spawn orbit. Every message is decoded with a size limit and validated; a bad
//! one is dropped and counted, and a client that keeps sending them is cut off.

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use bevy::prelude::*;
use bevy_renet2::prelude::{RenetServer, ServerEvent};
use galaxy_shared::components::{Controls, Ship};
use galaxy_shared::protocol::{
    BodyInfo, CHANNEL_RELIABLE, CHANNEL_UNRELIABLE, ClientMessage, ErrorCode, Event,
    MAX_CLIENT_MESSAGE, MAX_SERVER_MESSAGE, PROTOCOL_VERSION, Role, ServerMessage, Service,
    ShipInfo, TokenUserData, Welcome, WireControls, decode, encode,
};
use glam::DVec3;
use renet2::ClientId;

use super::transport::GuardedTransport;
use crate::admin::{AdminAnswer, AdminLine, ReplyTo};
use crate::bridge::{Actor, Bridge};
use crate::config::{Config, ShipSpec};
use crate::ephemeris::Bodies;
use crate::ships::spawn::{SpawnRng, ship_bundle, spawn_slot};
use crate::ships::{Owner, ShipAction, ShipCommand, ShipEvent, ShipEventKind};
use crate::tick::SimClock;

/// Messages one client may send per second before the rest are dropped.
const MAX_MESSAGES_PER_SECOND: u32 = 120;

/// One connected player.
#[derive(Debug)]
pub struct Session {
    /// Player id.
    pub player: u64,
    /// Player name.
    pub name: String,
    /// Role from the connect token.
    pub role: Role,
    /// The player's ship.
    pub ship: Entity,
    /// Newest input sequence applied.
    pub last_input: u32,
    /// Bad messages in a row.
    pub bad_streak: u32,
    /// Messages in the current second, and when that second started (real s).
    window: (f64, u32),
    /// Send priority accumulated by each other ship and body (see `sync`).
    pub priorities: HashMap<Entity, f32>,
    /// State bytes this client may still be sent (token bucket, see `sync`).
    pub credit: f64,
    /// Newest state tick the client says it received.
    pub acked: u64,
    /// Own-ship states sent recently, as the client reconstructs them, by tick.
    pub sent: std::collections::VecDeque<(u64, galaxy_shared::delta::OwnMotion)>,
    /// When a client being cut off is disconnected (real s): late enough for the
    /// error message telling it why to go out first.
    cut_off_at: Option<f64>,
}

/// Time between telling a garbage sender why and disconnecting it (s).
const CUT_OFF_DELAY: f64 = 0.25;

/// Connected players by client id.
#[derive(Resource, Debug, Default)]
pub struct Sessions(pub HashMap<ClientId, Session>);

impl Sessions {
    /// The client of a player, if connected.
    pub fn client_of(&self, player_name: &str) -> Option<ClientId> {
        self.0
            .iter()
            .find(|(_, s)| s.name.eq_ignore_ascii_case(player_name))
            .map(|(&client, _)| client)
    }
}

/// Sends one message, counting an encoding failure (a bug, never input).
pub fn send(server: &mut RenetServer, client: ClientId, channel: u8, message: &ServerMessage) {
    match encode(message, MAX_SERVER_MESSAGE) {
        Ok(bytes) => server.send_message(client, channel, bytes),
        Err(error) => error!(client, %error, "cannot encode a server message"),
    }
}

pub(super) fn handle_connections(
    mut events: MessageReader<ServerEvent>,
    mut server: ResMut<RenetServer>,
    transport: Res<GuardedTransport>,
    mut sessions: ResMut<Sessions>,
    mut commands: Commands,
    mut ships: Query<(Entity, &Owner, &mut galaxy_shared::components::Throttle), With<Ship>>,
    spawn: (
        Res<Config>,
        Res<ShipSpec>,
        Res<Bodies>,
        ResMut<SpawnRng>,
        Res<SimClock>,
    ),
    bridge: Res<Bridge>,
) {
    let (config, spec, bodies, mut rng, clock) = spawn;
    for event in events.read() {
        match *event {
            ServerEvent::ClientConnected { client_id } => {
                let Some(data) = transport
                    .user_data(client_id)
                    .and_then(|block| TokenUserData::from_bytes(&block).ok())
                else {
                    warn!(
                        client_id,
                        "connection without valid user data; disconnecting"
                    );
                    server.disconnect(client_id);
                    continue;
                };
                if let Some((&old, _)) = sessions.0.iter().find(|(_, s)| s.player == data.player) {
                    info!(player = %data.name, "player connected again; closing the older session");
                    server.disconnect(old);
                    sessions.0.remove(&old);
                }
                let ship = match ships
                    .iter()
                    .find(|(_, owner, _)| owner.player == data.player)
                {
                    Some((entity, _, _)) => entity,
                    None => {
                        let slot = spawn_slot(&config, &bodies, &mut rng.0);
                        let owner = Owner {
                            player: data.player,
                            name: data.name.clone(),
                        };
                        commands
                            .spawn((
                                ship_bundle(format!("ship of {}", data.name), slot, &spec),
                                owner,
                            ))
                            .id()
                    }
                };
                let welcome = Welcome {
                    protocol: PROTOCOL_VERSION,
                    player: data.player,
                    name: data.name.clone(),
                    role: data.role,
                    ship: ship.index_u32(),
                    tick_rate: config.tick.rate_hz as f32,
                    epoch: clock.game_time,
                    bodies: body_infos(&bodies),
                    ship_info: ShipInfo {
                        dry_mass: spec.dry_mass,
                        fuel_capacity: spec.fuel_capacity,
                        thrust: spec.thrust,
                        exhaust_velocity: spec.exhaust_velocity,
                    },
                };
                send(
                    &mut server,
                    client_id,
                    CHANNEL_RELIABLE,
                    &ServerMessage::Welcome(Box::new(welcome)),
                );
                info!(client_id, player = %data.name, role = data.role.as_str(), "player connected");
                sessions.0.insert(
                    client_id,
                    Session {
                        player: data.player,
                        name: data.name,
                        role: data.role,
                        ship,
                        last_input: 0,
                        bad_streak: 0,
                        window: (0.0, 0),
                        priorities: HashMap::new(),
                        credit: 0.0,
                        acked: 0,
                        sent: std::collections::VecDeque::new(),
                        cut_off_at: None,
                    },
                );
            }
            ServerEvent::ClientDisconnected {
                client_id,
                ref reason,
            } => {
                if let Some(session) = sessions.0.remove(&client_id) {
                    // The ship coasts on while its player is away.
                    if let Ok((_, _, mut throttle)) = ships.get_mut(session.ship) {
                        throttle.0 = 0.0;
                    }
                    info!(client_id, player = %session.name, ?reason, "player disconnected");
                }
            }
        }
    }
    bridge
        .metrics
        .clients
        .store(sessions.0.len() as u64, Ordering::Relaxed);
}

fn body_infos(bodies: &Bodies) -> Vec<BodyInfo> {
    (0..bodies.state.len())
        .map(|i| BodyInfo {
            id: i as u8,
            name: bodies.catalog.names[i].clone(),
            parent: bodies.catalog.parents[i].map(|p| p as u8),
            gm: bodies.state.gms[i],
            radius: bodies.catalog.radii[i],
            color: bodies.catalog.colors[i],
        })
        .collect()
}

pub(super) fn read_client_messages(
    mut server: ResMut<RenetServer>,
    mut sessions: ResMut<Sessions>,
    mut ship_commands: MessageWriter<ShipCommand>,
    mut admin_lines: MessageWriter<AdminLine>,
    time: Res<Time<Real>>,
    config: Res<Config>,
    bridge: Res<Bridge>,
) {
    let now = time.elapsed_secs_f64();
    let mut to_cut = Vec::new();
    for (&client, session) in &mut sessions.0 {
        if let Some(at) = session.cut_off_at {
            for channel in [CHANNEL_RELIABLE, CHANNEL_UNRELIABLE] {
                while server.receive_message(client, channel).is_some() {}
            }
            if now >= at {
                server.disconnect(client);
            }
            continue;
        }
        for channel in [CHANNEL_RELIABLE, CHANNEL_UNRELIABLE] {
            while let Some(bytes) = server.receive_message(client, channel) {
                if now - session.window.0 >= 1.0 {
                    session.window = (now, 0);
                }
                session.window.1 += 1;
                if session.window.1 > MAX_MESSAGES_PER_SECOND {
                    bridge.metrics.bad_messages.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                let message = decode::<ClientMessage>(&bytes, MAX_CLIENT_MESSAGE)
                    .and_then(|message| message.validate().map(|()| message));
                match message {
                    Ok(message) => {
                        session.bad_streak = 0;
                        apply(
                            message,
                            client,
                            session,
                            &mut server,
                            &mut ship_commands,
                            &mut admin_lines,
                        );
                    }
                    Err(error) => {
                        bridge.metrics.bad_messages.fetch_add(1, Ordering::Relaxed);
                        session.bad_streak += 1;
                        debug!(client, %error, "bad message from client");
                        if session.bad_streak > config.net.max_bad_messages {
                            session.cut_off_at = Some(now + CUT_OFF_DELAY);
                            to_cut.push(client);
                            break;
                        }
                    }
                }
            }
        }
    }
    for client in to_cut {
        warn!(
            client,
            "client kept sending malformed messages; disconnecting"
        );
        send(
            &mut server,
            client,
            CHANNEL_RELIABLE,
            &ServerMessage::Error {
                code: ErrorCode::BadMessage,
                message: "too many malformed messages".into(),
            },
        );
        bridge
            .metrics
            .garbage_disconnects
            .fetch_add(1, Ordering::Relaxed);
    }
}

fn apply(
    message: ClientMessage,
    client: ClientId,
    session: &mut Session,
    server: &mut RenetServer,
    ship_commands: &mut MessageWriter<ShipCommand>,
    admin_lines: &mut MessageWriter<AdminLine>,
) {
    let ship = session.ship;
    match message {
        ClientMessage::Input {
            seq,
            ack,
            throttle,
            controls,
        } => {
            session.acked = session.acked.max(ack);
            if seq <= session.last_input && session.last_input != 0 {
                return;
            }
            session.last_input = seq;
            let controls = match controls {
                WireControls::Rates(r) => Controls::Rates(DVec3::new(
                    f64::from(r[0]),
                    f64::from(r[1]),
                    f64::from(r[2]),
                )),
                WireControls::Hold(mode) => Controls::Hold(mode),
            };
            ship_commands.write(ShipCommand {
                ship,
                action: ShipAction::Throttle(f64::from(throttle)),
            });
            ship_commands.write(ShipCommand {
                ship,
                action: ShipAction::Controls(controls),
            });
        }
        ClientMessage::Service(service) => {
            let action = match service {
                Service::Refuel => ShipAction::Refuel,
                Service::Reset => ShipAction::Reset,
            };
            ship_commands.write(ShipCommand { ship, action });
        }
        ClientMessage::Admin { line } => {
            let actor = Actor {
                player: session.player,
                name: session.name.clone(),
                role: session.role,
            };
            admin_lines.write(AdminLine {
                actor,
                line,
                reply_to: ReplyTo::Client(client),
            });
        }
        ClientMessage::Ping { nonce } => send(
            server,
            client,
            CHANNEL_RELIABLE,
            &ServerMessage::Pong { nonce },
        ),
    }
}

pub(super) fn forward_ship_events(
    mut events: MessageReader<ShipEvent>,
    sessions: Res<Sessions>,
    mut server: ResMut<RenetServer>,
) {
    for event in events.read() {
        let Some((&client, _)) = sessions.0.iter().find(|(_, s)| s.ship == event.ship) else {
            continue;
        };
        let wire = match &event.kind {
            ShipEventKind::Landed { body } => Event::Landed(body.clone()),
            ShipEventKind::Destroyed { body } => Event::Destroyed(body.clone()),
            ShipEventKind::LiftedOff => Event::LiftedOff,
            ShipEventKind::Refuelled => Event::Refuelled,
            ShipEventKind::Reset => Event::Reset,
            ShipEventKind::Rejected { reason } => Event::Rejected(reason.clone()),
        };
        send(
            &mut server,
            client,
            CHANNEL_RELIABLE,
            &ServerMessage::Event(wire),
        );
    }
}

pub(super) fn announce_clock_changes(
    clock: Res<SimClock>,
    mut announced: Local<Option<(bool, f64)>>,
    sessions: Res<Sessions>,
    mut server: ResMut<RenetServer>,
) {
    let now = (clock.paused, clock.time_scale);
    if announced.replace(now).is_none_or(|before| before == now) {
        return;
    }
    let event = ServerMessage::Event(Event::Clock {
        paused: now.0,
        scale: now.1 as f32,
    });
    for &client in sessions.0.keys() {
        send(&mut server, client, CHANNEL_RELIABLE, &event);
    }
}

pub(super) fn forward_admin_answers(
    mut answers: MessageReader<AdminAnswer>,
    mut server: ResMut<RenetServer>,
) {
    for answer in answers.read() {
        let message = ServerMessage::AdminReply {
            ok: answer.reply.ok,
            output: answer.reply.output.clone(),
        };
        send(&mut server, answer.client, CHANNEL_RELIABLE, &message);
    }
}
