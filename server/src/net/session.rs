//! Sessions: who is connected, which ship they fly, and what they send.
//!
//! A connection is accepted by netcode only with a valid connect token; its user
//! data says who the player is. The player's ship is found by owner or created in
//! the spawn orbit. Every message is decoded with a size limit and validated; a bad
//! one is dropped and counted, and a client that keeps sending them is cut off.

use std::collections::HashMap;

use bevy::prelude::*;
use bevy_renet2::prelude::{RenetServer, ServerEvent};
use galaxy_shared::components::{Controls, Ship};
use galaxy_shared::flight_plan::{Burn, FlightPlan, LandingPhase};
use galaxy_shared::protocol::{
    BodyInfo, CHANNEL_RELIABLE, CHANNEL_UNRELIABLE, ClientMessage, CodecError, ErrorCode, Event,
    MAX_CLIENT_MESSAGE, MAX_SERVER_MESSAGE, MIN_WARP_REQUEST, PROTOCOL_VERSION,
    RELIABLE_CHANNEL_MEMORY, Role, ServerMessage, Service, ShipInfo, ShipLabel, TokenUserData,
    Warp, WarpReason, Welcome, WireControls, WireTarget, decode, encode,
};
use glam::DVec3;
use metrics::{counter, gauge};
use renet2::ClientId;

use super::transport::GuardedTransport;
use crate::bridge::Actor;
use crate::config::{Config, ShipSpec};
use crate::ephemeris::Bodies;
use crate::roster::{
    AdminLine, BannedNames, ConsoleReply, DisconnectPlayer, OnlinePlayer, PlayerConnected, ReplyTo,
    Roster,
};
use crate::ships::lander::Landing;
use crate::ships::spawn::{SpawnRng, ship_bundle, spawn_slot};
use crate::ships::target::{Target, TargetCommand};
use crate::ships::{Owner, ShipAction, ShipCommand, ShipEvent, ShipEventKind};
use crate::telemetry;
use crate::tick::SimClock;
use crate::warp::WarpChoice;

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
    /// Where this client's look at far ships goes on (see `interest`).
    pub far_cursor: usize,
    /// States sent, to put the ground fix in one in `SURFACE_EVERY`.
    pub states_sent: u32,
    /// State bytes this client may still be sent (token bucket, see `sync`).
    pub credit: f64,
    /// Newest state tick the client says it received.
    pub acked: u64,
    /// Own-ship states sent recently, as the client reconstructs them, by tick.
    pub sent: std::collections::VecDeque<(u64, galaxy_shared::delta::OwnMotion)>,
    /// The newest throttle and controls received, to tell a change from a repeat.
    controls: Option<(f32, WireControls)>,
    /// The own warp request in the last clock event this client was sent; `None`
    /// before the first.
    told_request: Option<f64>,
    /// The flight plan has been sent since the connection opened.
    told_plan: bool,
    /// The target last sent; `None` before the first.
    told_target: Option<Option<WireTarget>>,
    /// The landing autopilot's phase last told (`None`: not yet told).
    told_landing: Option<Option<LandingPhase>>,
    /// Ships whose name this client was sent, by network id: a reused id on
    /// another entity is named again.
    named: HashMap<u32, Entity>,
}

impl Session {
    /// The label for ship `id` (`entity`) unless this client already has it.
    pub fn label_once(&mut self, id: u32, entity: Entity, name: &str) -> Option<ShipLabel> {
        if self.named.get(&id) == Some(&entity) {
            return None;
        }
        if self.named.len() >= NAMED_MEMORY {
            self.named.clear();
        }
        self.named.insert(id, entity);
        Some(ShipLabel::new(id, name))
    }
}

/// Most ships a session remembers naming; past it the memory starts afresh (the
/// names are sent again as the ships come near).
const NAMED_MEMORY: usize = 4_096;

/// Longest wait between telling a client why it is cut off and disconnecting it,
/// if it has not acknowledged the reason before (s).
const GOODBYE_TIMEOUT: f64 = 1.0;

/// Clients told why they are being disconnected, with the deadline (real s). Their
/// messages are dropped; they are disconnected once everything sent to them on the
/// reliable channel (the reason) is acknowledged, or at the deadline.
#[derive(Resource, Debug, Default)]
pub struct Leaving(HashMap<ClientId, f64>);

impl Leaving {
    /// Tells `client` why it is cut off and schedules the disconnect.
    fn say_goodbye(
        &mut self,
        server: &mut RenetServer,
        client: ClientId,
        code: ErrorCode,
        reason: &str,
        now: f64,
    ) {
        send(
            server,
            client,
            CHANNEL_RELIABLE,
            &ServerMessage::Error {
                code,
                message: reason.to_owned(),
            },
        );
        self.0.entry(client).or_insert(now + GOODBYE_TIMEOUT);
    }

    fn contains(&self, client: ClientId) -> bool {
        self.0.contains_key(&client)
    }
}

/// Connected players by client id.
#[derive(Resource, Debug, Default)]
pub struct Sessions(pub HashMap<ClientId, Session>);

impl Sessions {
    /// The client of a player, if connected.
    pub fn client_of(&self, player: u64) -> Option<ClientId> {
        self.0
            .iter()
            .find(|(_, s)| s.player == player)
            .map(|(&client, _)| client)
    }
}

/// Sends one message, counting an encoding failure (a bug, never input).
pub fn send(server: &mut RenetServer, client: ClientId, channel: u8, message: &ServerMessage) {
    match encode(message, MAX_SERVER_MESSAGE) {
        Ok(bytes) => {
            counter!(telemetry::NET_MESSAGES, "direction" => "out").increment(1);
            server.send_message(client, channel, bytes);
        }
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
    players: (
        ResMut<Roster>,
        Res<BannedNames>,
        ResMut<Leaving>,
        MessageWriter<PlayerConnected>,
        Res<Time<Real>>,
    ),
) {
    let (config, spec, bodies, mut rng, clock) = spawn;
    let (mut roster, banned, mut leaving, mut connected, time) = players;
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
                if banned.contains(&data.name) {
                    info!(client_id, player = %data.name, "banned player refused");
                    leaving.say_goodbye(
                        &mut server,
                        client_id,
                        ErrorCode::Banned,
                        "this account is banned",
                        time.elapsed_secs_f64(),
                    );
                    continue;
                }
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
                            name: data.name.as_str().into(),
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
                roster.0.insert(
                    data.player,
                    OnlinePlayer::new(data.name.clone(), data.role, time.elapsed_secs_f64()),
                );
                connected.write(PlayerConnected {
                    player: data.player,
                });
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
                        far_cursor: 0,
                        states_sent: 0,
                        credit: 0.0,
                        acked: 0,
                        sent: std::collections::VecDeque::new(),
                        controls: None,
                        told_request: None,
                        told_plan: false,
                        told_target: None,
                        told_landing: None,
                        named: HashMap::new(),
                    },
                );
            }
            ServerEvent::ClientDisconnected {
                client_id,
                ref reason,
            } => {
                leaving.0.remove(&client_id);
                if let Some(session) = sessions.0.remove(&client_id) {
                    roster.0.remove(&session.player);
                    // The ship coasts on while its player is away.
                    if let Ok((_, _, mut throttle)) = ships.get_mut(session.ship) {
                        throttle.0 = 0.0;
                    }
                    info!(client_id, player = %session.name, ?reason, "player disconnected");
                }
            }
        }
    }
    gauge!(telemetry::PLAYERS_ONLINE).set(sessions.0.len() as f64);
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
            rotation: bodies.catalog.rotations[i],
            oblateness: bodies.catalog.oblateness[i].filter(|_| bodies.oblate),
        })
        .collect()
}

pub(super) fn read_client_messages(
    mut server: ResMut<RenetServer>,
    mut sessions: ResMut<Sessions>,
    mut ship_commands: MessageWriter<ShipCommand>,
    mut target_commands: MessageWriter<TargetCommand>,
    mut admin_lines: MessageWriter<AdminLine>,
    time: Res<Time<Real>>,
    config: Res<Config>,
    mut leaving: ResMut<Leaving>,
    mut roster: ResMut<Roster>,
) {
    let now = time.elapsed_secs_f64();
    leaving.0.retain(|&client, &mut deadline| {
        for channel in [CHANNEL_RELIABLE, CHANNEL_UNRELIABLE] {
            while server.receive_message(client, channel).is_some() {}
        }
        let told =
            server.channel_available_memory(client, CHANNEL_RELIABLE) >= RELIABLE_CHANNEL_MEMORY;
        if told || now >= deadline {
            server.disconnect(client);
            return false;
        }
        true
    });
    let mut to_cut = Vec::new();
    for (&client, session) in &mut sessions.0 {
        if leaving.contains(client) {
            continue;
        }
        for channel in [CHANNEL_RELIABLE, CHANNEL_UNRELIABLE] {
            while let Some(bytes) = server.receive_message(client, channel) {
                counter!(telemetry::NET_MESSAGES, "direction" => "in").increment(1);
                if now - session.window.0 >= 1.0 {
                    session.window = (now, 0);
                }
                session.window.1 += 1;
                if session.window.1 > MAX_MESSAGES_PER_SECOND {
                    count_rejected("rate_limited");
                    continue;
                }
                let message = decode::<ClientMessage>(&bytes, MAX_CLIENT_MESSAGE)
                    .and_then(|message| message.validate().map(|()| message));
                match message {
                    Ok(message) => {
                        session.bad_streak = 0;
                        if let Some(player) = roster.0.get_mut(&session.player) {
                            note_activity(&message, session, player, now);
                        }
                        apply(
                            message,
                            client,
                            session,
                            &mut server,
                            Writers {
                                ships: &mut ship_commands,
                                targets: &mut target_commands,
                                admin: &mut admin_lines,
                            },
                        );
                    }
                    Err(error) => {
                        count_rejected(match error {
                            CodecError::TooLarge(_) => "too_large",
                            CodecError::Malformed(_) => "malformed",
                            CodecError::Invalid(_) => "invalid",
                        });
                        session.bad_streak += 1;
                        debug!(client, %error, "bad message from client");
                        if session.bad_streak > config.net.max_bad_messages {
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
        leaving.say_goodbye(
            &mut server,
            client,
            ErrorCode::BadMessage,
            "too many malformed messages",
            now,
        );
        counter!(telemetry::GARBAGE_DISCONNECTS).increment(1);
    }
}

fn count_rejected(reason: &'static str) {
    counter!(telemetry::REJECTED_MESSAGES, "reason" => reason).increment(1);
}

/// Keeps the player's warp request and marks them active when a message changes
/// something: a repeated input is not activity, a new throttle or control is.
fn note_activity(
    message: &ClientMessage,
    session: &mut Session,
    player: &mut OnlinePlayer,
    now: f64,
) {
    let active = match message {
        ClientMessage::Input {
            throttle, controls, ..
        } => session.controls.replace((*throttle, *controls)) != Some((*throttle, *controls)),
        ClientMessage::Warp { factor } => {
            player.warp_request = *factor;
            true
        }
        ClientMessage::Service(_)
        | ClientMessage::Admin { .. }
        | ClientMessage::Plan(_)
        | ClientMessage::Target(_) => true,
        ClientMessage::Ping { .. } => false,
    };
    if active {
        player.last_active = now;
    }
}

/// Where a client's messages go on.
struct Writers<'a, 's, 't, 'l> {
    ships: &'a mut MessageWriter<'s, ShipCommand>,
    targets: &'a mut MessageWriter<'t, TargetCommand>,
    admin: &'a mut MessageWriter<'l, AdminLine>,
}

fn apply(
    message: ClientMessage,
    client: ClientId,
    session: &mut Session,
    server: &mut RenetServer,
    writers: Writers,
) {
    let Writers {
        ships: ship_commands,
        targets: target_commands,
        admin: admin_lines,
    } = writers;
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
                reply_to: ReplyTo::Player(session.player),
            });
        }
        ClientMessage::Ping { nonce } => send(
            server,
            client,
            CHANNEL_RELIABLE,
            &ServerMessage::Pong { nonce },
        ),
        ClientMessage::Warp { .. } => {}
        ClientMessage::Plan(change) => {
            ship_commands.write(ShipCommand {
                ship,
                action: ShipAction::Plan(change),
            });
        }
        ClientMessage::Target(target) => {
            target_commands.write(TargetCommand { ship, target });
        }
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
            ShipEventKind::BurnFinished { left, .. } => Event::BurnFinished { left_m_s: *left },
            ShipEventKind::Rejected { reason } => Event::Rejected(reason.clone()),
            ShipEventKind::Touchdown { speed } => Event::Touchdown { speed_m_s: *speed },
        };
        send(
            &mut server,
            client,
            CHANNEL_RELIABLE,
            &ServerMessage::Event(wire),
        );
    }
}

/// Tells every client its ship's flight plan, target and landing autopilot when it
/// connects and whenever the plan, the executor's progress on it, the target or
/// the landing's phase changes.
pub(super) fn forward_plans(
    mut sessions: ResMut<Sessions>,
    plans: Query<(
        Ref<FlightPlan>,
        Option<&Burn>,
        Option<&Target>,
        Option<&Landing>,
    )>,
    mut server: ResMut<RenetServer>,
) {
    for (&client, session) in &mut sessions.0 {
        let Ok((plan, burn, target, landing)) = plans.get(session.ship) else {
            continue;
        };
        if !session.told_plan || plan.is_changed() {
            session.told_plan = true;
            let event = Event::Plan {
                nodes: plan.nodes.clone(),
                burn: burn.map(|b| b.phase),
            };
            send(
                &mut server,
                client,
                CHANNEL_RELIABLE,
                &ServerMessage::Event(event),
            );
        }
        let target = target.map(|t| t.wire());
        if session.told_target != Some(target) {
            session.told_target = Some(target);
            send(
                &mut server,
                client,
                CHANNEL_RELIABLE,
                &ServerMessage::Event(Event::Target(target)),
            );
        }
        let landing = landing.map(|l| l.phase);
        if session.told_landing != Some(landing) {
            session.told_landing = Some(landing);
            send(
                &mut server,
                client,
                CHANNEL_RELIABLE,
                &ServerMessage::Event(Event::Landing(landing)),
            );
        }
    }
}

/// Tells every client how the clock runs, when it first connects and whenever the
/// pause, the rate, the cap, the reason or its own request changes.
pub(super) fn announce_clock_changes(
    clock: Res<SimClock>,
    choice: Res<WarpChoice>,
    roster: Res<Roster>,
    mut announced: Local<Option<(bool, f64, f64, WarpReason)>>,
    mut sessions: ResMut<Sessions>,
    mut server: ResMut<RenetServer>,
) {
    let now = (clock.paused, clock.rate(), clock.time_scale);
    let changed = announced
        .as_ref()
        .is_none_or(|(paused, rate, cap, reason)| {
            (*paused, *rate, *cap) != now || *reason != choice.reason
        });
    if changed {
        *announced = Some((now.0, now.1, now.2, choice.reason.clone()));
    }
    for (&client, session) in &mut sessions.0 {
        let request = roster
            .0
            .get(&session.player)
            .map_or(MIN_WARP_REQUEST, |p| p.warp_request);
        if !changed && session.told_request == Some(request) {
            continue;
        }
        session.told_request = Some(request);
        let event = Event::Clock {
            paused: now.0,
            warp: Warp {
                effective: now.1,
                cap: now.2,
                request,
                reason: choice.reason.clone(),
            },
        };
        send(
            &mut server,
            client,
            CHANNEL_RELIABLE,
            &ServerMessage::Event(event),
        );
    }
}

pub(super) fn forward_console_replies(
    mut replies: MessageReader<ConsoleReply>,
    sessions: Res<Sessions>,
    mut server: ResMut<RenetServer>,
) {
    for ConsoleReply { player, reply } in replies.read() {
        let Some(client) = sessions.client_of(*player) else {
            continue;
        };
        let message = ServerMessage::AdminReply {
            ok: reply.ok,
            output: reply.output.clone(),
        };
        send(&mut server, client, CHANNEL_RELIABLE, &message);
    }
}

/// Carries out the disconnects other plugins ask for (kick, ban).
pub(super) fn carry_out_disconnects(
    mut requests: MessageReader<DisconnectPlayer>,
    sessions: Res<Sessions>,
    mut leaving: ResMut<Leaving>,
    mut server: ResMut<RenetServer>,
    time: Res<Time<Real>>,
) {
    for DisconnectPlayer {
        player,
        code,
        reason,
    } in requests.read()
    {
        let Some(client) = sessions.client_of(*player) else {
            continue;
        };
        info!(client, player, %reason, "disconnecting a player");
        leaving.say_goodbye(&mut server, client, *code, reason, time.elapsed_secs_f64());
    }
}
