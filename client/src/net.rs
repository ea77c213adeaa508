//! The game connection: netcode over UDP with the connect token from the login,
//! decoding of the server's messages into the newest samples the scene, HUD and
//! console read, and sending of what the other plugins queue.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use bevy::platform::time::Instant;
use bevy::prelude::*;
use bevy_renet2::netcode::{
    ClientAuthentication, NetcodeClientPlugin, NetcodeClientTransport, NetcodeTransportError,
};
use bevy_renet2::prelude::{RenetClient, RenetClientPlugin, RenetReceive, RenetSend};
use galaxy_shared::delta::{self, OwnMotion};
use galaxy_shared::protocol::{
    CHANNEL_RELIABLE, CHANNEL_UNRELIABLE, ClientMessage, Event, MAX_CLIENT_MESSAGE,
    MAX_SERVER_MESSAGE, OtherShip, OwnShip, PROTOCOL_VERSION, ServerMessage, ShipLabel, State,
    Warp, Welcome, WireSurface, connection_config, decode, encode,
};
use glam::DVec3;

use crate::Screen;
use crate::login::LoggedIn;
use crate::plan::Plan;
use crate::target::ChosenTarget;

pub(super) fn plugin(app: &mut App) {
    app.add_plugins((RenetClientPlugin, NetcodeClientPlugin));
    app.add_message::<Outgoing>()
        .add_message::<ServerEvent>()
        .add_message::<AdminReply>();
    app.init_resource::<Link>()
        .init_resource::<Latest>()
        .init_resource::<BodySamples>()
        .init_resource::<ShipSamples>()
        .init_resource::<ShipNames>();
    app.add_systems(OnEnter(Screen::Flight), connect);
    app.add_systems(
        PreUpdate,
        (receive_messages, watch_connection)
            .chain()
            .after(RenetReceive)
            .run_if(resource_exists::<RenetClient>),
    );
    app.add_systems(
        Update,
        send_pings.run_if(resource_exists::<Session>.and_then(resource_exists::<RenetClient>)),
    );
    app.add_systems(
        PostUpdate,
        send_outgoing
            .before(RenetSend)
            .run_if(resource_exists::<RenetClient>),
    );
}

/// A message for the server, sent on its natural channel at the end of the frame.
#[derive(Message, Clone, Debug)]
pub(crate) struct Outgoing(pub ClientMessage);

/// Something the server said happened to the own ship or the clock.
#[derive(Message, Clone, Debug)]
pub(crate) struct ServerEvent(pub String);

/// The server's answer to an admin line.
#[derive(Message, Clone, Debug)]
pub(crate) struct AdminReply {
    /// Whether the command ran.
    pub ok: bool,
    /// What it printed, or why it was refused.
    pub output: String,
}

/// The server's welcome: bodies, ship type, own ship id.
#[derive(Resource, Clone, Debug)]
pub(crate) struct Session(pub Welcome);

/// How the connection is doing, for the HUD.
#[derive(Resource, Clone, Debug, Default)]
pub(crate) struct Link {
    /// Connection phase.
    pub status: LinkStatus,
    /// Round-trip time of the newest answered ping.
    pub ping: Option<Duration>,
    /// Pings in flight: nonce and when it left.
    pending_pings: VecDeque<(u32, Instant)>,
    next_nonce: u32,
}

/// Connection phase.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) enum LinkStatus {
    /// Not logged in yet.
    #[default]
    Offline,
    /// Handshaking with the connect token.
    Connecting,
    /// Exchanging messages.
    Connected,
    /// Lost, with the reason.
    Disconnected(String),
}

impl LinkStatus {
    /// One word (and the reason) for the HUD.
    pub fn label(&self) -> String {
        match self {
            Self::Offline => "offline".into(),
            Self::Connecting => "connecting".into(),
            Self::Connected => "connected".into(),
            Self::Disconnected(reason) => format!("disconnected: {reason}"),
        }
    }
}

/// The own ship as reconstructed from the newest state, with its flight data.
#[derive(Clone, Copy, Debug)]
pub(crate) struct OwnSample {
    /// Position, velocity, attitude and fuel relative to the dominant body.
    pub motion: OwnMotion,
    /// The rest of the own-ship record (rates, throttle, flight, controls).
    pub ship: OwnShip,
}

/// The newest state: clock and own ship.
#[derive(Resource, Default)]
pub(crate) struct Latest {
    /// Tick of the newest state.
    pub tick: u64,
    /// Its game time (s since J2000).
    pub game_time: f64,
    /// Game time stopped.
    pub paused: bool,
    /// Time scale.
    pub scale: f64,
    /// When it arrived.
    pub received: Option<Instant>,
    /// The own ship in it.
    pub own: Option<OwnSample>,
    /// Bumped on every new own-ship state, so the scene notices fresh data.
    pub generation: u64,
    /// The shared clock's rate, the player's request and why, from the newest
    /// clock event.
    pub warp: Option<Warp>,
    /// Where the ship was over the ground, from the newest state that said.
    pub surface: Option<WireSurface>,
    /// Own-ship reconstructions by tick: the baselines deltas refer to.
    history: VecDeque<(u64, OwnMotion)>,
}

impl Latest {
    /// Real seconds since the newest state arrived.
    pub fn age(&self) -> f64 {
        self.received
            .map_or(f64::INFINITY, |t| t.elapsed().as_secs_f64())
    }
}

/// Reconstructed own-ship states kept for decoding deltas (the server keeps 32).
const HISTORY: usize = 64;

/// A barycentric body state as received.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct BodySample {
    /// Game time of the state.
    pub game_time: f64,
    /// Position (m).
    pub position: DVec3,
    /// Velocity (m/s).
    pub velocity: DVec3,
}

/// The newest state of each body by id, and which arrived since the scene looked.
#[derive(Resource, Default)]
pub(crate) struct BodySamples {
    /// Newest sample per body id.
    pub fresh: Vec<(u8, BodySample)>,
}

/// Another ship as last received.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ShipSample {
    /// The wire record.
    pub ship: OtherShip,
    /// Game time of the state it came in.
    pub game_time: f64,
    /// When it arrived.
    pub received: Instant,
}

/// Other ships by network id.
#[derive(Resource, Default)]
pub(crate) struct ShipSamples(pub HashMap<u32, ShipSample>);

/// Other ships' names by network id, as the server sent them.
#[derive(Resource, Default)]
pub(crate) struct ShipNames(pub HashMap<u32, String>);

/// Most names kept; past it the memory starts afresh (the server sends names again
/// as ships come near, so a flood cannot grow it without bound).
const MAX_SHIP_NAMES: usize = 4_096;

impl ShipNames {
    /// Keeps the names in `labels`, each cut to the longest a name may be.
    fn absorb(&mut self, labels: Vec<ShipLabel>) {
        for label in labels {
            if self.0.len() >= MAX_SHIP_NAMES {
                self.0.clear();
            }
            let label = ShipLabel::new(label.id, &label.name);
            self.0.insert(label.id, label.name);
        }
    }
}

/// Other ships not heard of for this long are dropped from view.
pub(crate) const SHIP_TIMEOUT: Duration = Duration::from_secs(30);

/// The game connection's transport: netcode over this platform's socket.
fn open_transport(logged_in: &LoggedIn) -> Result<NetcodeClientTransport, String> {
    let token = renetcode2::ConnectToken::read(&mut logged_in.connect_token.as_slice())
        .map_err(|e| format!("bad connect token: {e}"))?;
    let (socket, now) = open_socket(logged_in)?;
    NetcodeClientTransport::new(
        now,
        ClientAuthentication::Secure {
            connect_token: token,
        },
        socket,
    )
    .map_err(|e| e.to_string())
}

/// Native clients speak netcode over UDP; also the wall-clock time.
#[cfg(not(target_arch = "wasm32"))]
fn open_socket(_: &LoggedIn) -> Result<(bevy_renet2::netcode::NativeSocket, Duration), String> {
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").map_err(|e| e.to_string())?;
    let socket = bevy_renet2::netcode::NativeSocket::new(socket).map_err(|e| e.to_string())?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Ok((socket, now))
}

/// Browsers have no UDP: the server's WebSocket socket; also the wall-clock time.
#[cfg(target_arch = "wasm32")]
fn open_socket(
    logged_in: &LoggedIn,
) -> Result<(bevy_renet2::netcode::WebSocketClient, Duration), String> {
    use bevy_renet2::netcode::{WebSocketClient, WebSocketClientConfig};
    let server_url = url::Url::parse(&logged_in.ws_url)
        .map_err(|e| format!("bad WebSocket address {:?}: {e}", logged_in.ws_url))?;
    let socket =
        WebSocketClient::new(WebSocketClientConfig { server_url }).map_err(|e| e.to_string())?;
    Ok((
        socket,
        Duration::from_secs_f64(js_sys::Date::now() / 1000.0),
    ))
}

/// Opens the game connection with the login's connect token.
fn connect(mut commands: Commands, logged_in: Option<Res<LoggedIn>>, mut link: ResMut<Link>) {
    let Some(logged_in) = logged_in else {
        link.status = LinkStatus::Disconnected("not logged in".into());
        return;
    };
    match open_transport(&logged_in) {
        Ok(transport) => {
            // Over a reliable transport (WebSocket) renet sends every channel
            // unreliably, as the server does for that client.
            let reliable = transport.is_reliable();
            commands.insert_resource(RenetClient::new(connection_config(), reliable));
            commands.insert_resource(transport);
            link.status = LinkStatus::Connecting;
        }
        Err(e) => link.status = LinkStatus::Disconnected(e),
    }
}

/// Decodes everything that arrived; malformed messages are counted and dropped.
fn receive_messages(
    mut commands: Commands,
    mut client: ResMut<RenetClient>,
    mut link: ResMut<Link>,
    mut latest: ResMut<Latest>,
    mut bodies: ResMut<BodySamples>,
    mut ships: ResMut<ShipSamples>,
    mut names: ResMut<ShipNames>,
    mut plan: ResMut<Plan>,
    mut target: ResMut<ChosenTarget>,
    mut events: MessageWriter<ServerEvent>,
    mut replies: MessageWriter<AdminReply>,
    mut undecodable: Local<u64>,
) {
    for channel in [CHANNEL_RELIABLE, CHANNEL_UNRELIABLE] {
        while let Some(bytes) = client.receive_message(channel) {
            let message = match decode::<ServerMessage>(&bytes, MAX_SERVER_MESSAGE) {
                Ok(message) => message,
                Err(e) => {
                    *undecodable += 1;
                    warn!("dropped undecodable message #{}: {e}", *undecodable);
                    continue;
                }
            };
            match message {
                ServerMessage::Welcome(welcome) => {
                    if welcome.protocol != PROTOCOL_VERSION {
                        link.status = LinkStatus::Disconnected(format!(
                            "server speaks protocol {}, this client {PROTOCOL_VERSION}",
                            welcome.protocol
                        ));
                    }
                    info!(
                        "welcomed as {} ({:?}), ship {}",
                        welcome.name, welcome.role, welcome.ship
                    );
                    commands.insert_resource(Session(*welcome));
                }
                ServerMessage::State(state) => {
                    record_state(*state, &mut latest, &mut bodies, &mut ships);
                }
                ServerMessage::ShipNames(labels) => names.absorb(labels),
                ServerMessage::Event(event) => {
                    events.write(ServerEvent(describe_event(&event)));
                    match event {
                        Event::Clock { warp, .. } => latest.warp = Some(warp),
                        Event::Plan { nodes, burn } => {
                            plan.nodes = nodes;
                            plan.burn = burn;
                        }
                        Event::Landing(phase) => plan.landing = phase,
                        Event::Target(chosen) => target.0 = chosen,
                        _ => {}
                    }
                }
                ServerMessage::AdminReply { ok, output } => {
                    replies.write(AdminReply { ok, output });
                }
                ServerMessage::Pong { nonce } => {
                    if let Some(index) = link.pending_pings.iter().position(|(n, _)| *n == nonce) {
                        let sent = link.pending_pings[index].1;
                        link.ping = Some(sent.elapsed());
                        link.pending_pings.drain(..=index);
                    }
                }
                ServerMessage::Error { code, message } => {
                    events.write(ServerEvent(format!("server error {code:?}: {message}")));
                }
            }
        }
    }
}

/// Stores one state: the own ship decoded against its baseline, bodies and ships.
fn record_state(
    state: State,
    latest: &mut Latest,
    bodies: &mut BodySamples,
    ships: &mut ShipSamples,
) {
    let now = Instant::now();
    for body in &state.bodies {
        bodies.fresh.push((
            body.id,
            BodySample {
                game_time: state.game_time,
                position: DVec3::from_array(body.position),
                velocity: DVec3::from_array(body.velocity),
            },
        ));
    }
    for ship in &state.ships {
        ships.0.insert(
            ship.id,
            ShipSample {
                ship: *ship,
                game_time: state.game_time,
                received: now,
            },
        );
    }
    let wire = &state.own.motion;
    let baseline = wire.baseline.and_then(|tick| {
        latest
            .history
            .iter()
            .find(|(t, _)| *t == tick)
            .map(|(_, m)| m)
    });
    let Some(motion) = delta::decode(wire, baseline, state.game_time, state.own.dominant) else {
        // The next state refers to a baseline we do hold (our ack); skip this one.
        return;
    };
    latest.history.push_back((state.tick, motion));
    if latest.history.len() > HISTORY {
        latest.history.pop_front();
    }
    if latest.received.is_some() && state.tick < latest.tick {
        return;
    }
    latest.tick = state.tick;
    latest.game_time = state.game_time;
    latest.paused = state.paused;
    latest.scale = f64::from(state.scale);
    latest.received = Some(now);
    if let Some(surface) = state.own.surface {
        latest.surface = Some(surface);
    }
    latest.own = Some(OwnSample {
        motion,
        ship: state.own,
    });
    latest.generation += 1;
}

/// Words for an event, for the HUD's event list.
pub(crate) fn describe_event(event: &Event) -> String {
    match event {
        Event::Landed(body) => format!("landed on {body}"),
        Event::Destroyed(body) => format!("destroyed on {body}; press R to reset"),
        Event::LiftedOff => "lifted off".into(),
        Event::Refuelled => "refuelled".into(),
        Event::Reset => "ship reset to the spawn orbit".into(),
        Event::Rejected(reason) => format!("refused: {reason}"),
        Event::Clock { paused: true, .. } => "game time paused".into(),
        Event::Clock {
            paused: false,
            warp,
        } => format!("warp x{} ({})", warp.effective, warp.reason),
        Event::Plan { nodes, burn: None } => format!("flight plan: {} node(s)", nodes.len()),
        Event::Plan {
            nodes,
            burn: Some(phase),
        } => format!(
            "flight plan: {} node(s), executing ({phase:?})",
            nodes.len()
        ),
        Event::BurnFinished { left_m_s } => format!("burn done, {left_m_s:.2} m/s short"),
        Event::Target(None) => "no target".into(),
        Event::Target(Some(target)) => format!("target: {target:?}"),
        Event::Landing(None) => "landing autopilot off".into(),
        Event::Landing(Some(phase)) => crate::plan::landing_words(*phase).into(),
        Event::Touchdown { speed_m_s } => format!("touchdown at {speed_m_s:.1} m/s"),
    }
}

/// Follows the handshake and notices a lost connection.
fn watch_connection(
    client: Res<RenetClient>,
    mut link: ResMut<Link>,
    mut errors: MessageReader<NetcodeTransportError>,
) {
    let transport_error = errors.read().last().map(ToString::to_string);
    let status = if client.is_connected() {
        LinkStatus::Connected
    } else if client.is_disconnected() {
        let reason = transport_error
            .or_else(|| client.disconnect_reason().map(|r| r.to_string()))
            .unwrap_or_else(|| "connection lost".into());
        match &link.status {
            LinkStatus::Disconnected(old) => LinkStatus::Disconnected(old.clone()),
            _ => LinkStatus::Disconnected(reason),
        }
    } else {
        LinkStatus::Connecting
    };
    if link.status != status {
        info!("connection: {}", status.label());
        link.status = status;
    }
}

/// Probes the round trip once a second.
fn send_pings(
    time: Res<Time<Real>>,
    mut timer: Local<Option<Timer>>,
    mut link: ResMut<Link>,
    mut outgoing: MessageWriter<Outgoing>,
) {
    let timer = timer.get_or_insert_with(|| Timer::from_seconds(1.0, TimerMode::Repeating));
    if !timer.tick(time.delta()).just_finished() || link.status != LinkStatus::Connected {
        return;
    }
    link.next_nonce = link.next_nonce.wrapping_add(1);
    let nonce = link.next_nonce;
    link.pending_pings.push_back((nonce, Instant::now()));
    if link.pending_pings.len() > 8 {
        link.pending_pings.pop_front();
    }
    outgoing.write(Outgoing(ClientMessage::Ping { nonce }));
}

/// Encodes and queues what the other plugins want sent.
fn send_outgoing(mut client: ResMut<RenetClient>, mut outgoing: MessageReader<Outgoing>) {
    for Outgoing(message) in outgoing.read() {
        let channel = match message {
            ClientMessage::Input { .. } => CHANNEL_UNRELIABLE,
            _ => CHANNEL_RELIABLE,
        };
        match encode(message, MAX_CLIENT_MESSAGE) {
            Ok(bytes) => client.send_message(channel, bytes),
            Err(e) => warn!("not sending {message:?}: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use galaxy_shared::components::HoldMode;
    use galaxy_shared::protocol::{WireControls, WireFlight};

    fn own(motion: delta::WireOwnMotion) -> OwnShip {
        OwnShip {
            dominant: 3,
            motion,
            angular_velocity: None,
            throttle: 0,
            flight: WireFlight::Flying,
            surface: None,
            controls: WireControls::Hold(HoldMode::Stability),
            last_input: 0,
        }
    }

    fn truth(t: f64) -> OwnMotion {
        OwnMotion {
            game_time: t,
            dominant: 3,
            position: DVec3::new(6.771e6 + t, 0.0, 0.0),
            velocity: DVec3::new(1.0, 7_672.0, 0.0),
            attitude: [0, 0, 0, 32767],
            fuel: 65535,
        }
    }

    fn state(tick: u64, motion: delta::WireOwnMotion) -> State {
        State {
            tick,
            game_time: tick as f64,
            paused: false,
            scale: 1.0,
            own: own(motion),
            ships: Vec::new(),
            bodies: Vec::new(),
        }
    }

    #[test]
    fn own_ship_deltas_decode_against_the_acknowledged_state() {
        let (mut latest, mut bodies, mut ships) = Default::default();
        let (keyframe, server_view) = delta::encode(&truth(1.0), None);
        record_state(state(1, keyframe), &mut latest, &mut bodies, &mut ships);
        let (wire, expected) = delta::encode(&truth(2.0), Some((1, &server_view)));
        record_state(state(2, wire), &mut latest, &mut bodies, &mut ships);
        let sample = latest.own.expect("the delta's baseline was held");
        assert_eq!(sample.motion, expected);
        assert_eq!(latest.tick, 2);
        assert_eq!(latest.generation, 2);
    }

    #[test]
    fn an_older_state_does_not_replace_a_newer_one() {
        let (mut latest, mut bodies, mut ships) = Default::default();
        let (new, _) = delta::encode(&truth(5.0), None);
        let (old, _) = delta::encode(&truth(4.0), None);
        record_state(state(5, new), &mut latest, &mut bodies, &mut ships);
        record_state(state(4, old), &mut latest, &mut bodies, &mut ships);
        assert_eq!(latest.tick, 5, "late packets must not move the clock back");
    }
}
