//! A headless bot client: logs in over HTTP, connects over UDP or WebSocket with
//! the connect token, flies scripted inputs and records everything it is told.

use std::collections::VecDeque;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use galaxy_shared::delta::{self, OwnMotion};
use galaxy_shared::protocol::{
    CHANNEL_RELIABLE, CHANNEL_UNRELIABLE, ClientMessage, Event, MAX_CLIENT_MESSAGE,
    MAX_SERVER_MESSAGE, OtherShip, ServerMessage, ShipLabel, State, Warp, Welcome, WireControls,
    connection_config, decode, encode,
};
use renet2::RenetClient;
use renet2_netcode::{ClientAuthentication, NativeSocket, NetcodeClientTransport};
use renetcode2::ConnectToken;
use serde::Deserialize;

use crate::ws_socket::WsClientSocket;

/// Which game transport to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// Native UDP (netcode).
    Udp,
    /// The browser transport (WebSocket).
    WebSocket,
}

/// What `/api/auth/login` answers.
#[derive(Clone, Debug, Deserialize)]
pub struct Login {
    /// Session JWT.
    pub token: String,
    /// Player id.
    pub player: u64,
    /// Connect token for UDP, base64.
    pub connect_token: String,
    /// Connect token for WebSocket, base64.
    pub connect_token_ws: String,
}

impl Login {
    /// Logs in at `http` (e.g. `http://127.0.0.1:8080`).
    pub fn request(http: &str, username: &str, password: &str) -> Result<Self, String> {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .new_agent();
        let mut response = agent
            .post(&format!("{http}/api/auth/login"))
            .send_json(serde_json::json!({ "username": username, "password": password }))
            .map_err(|e| format!("login request failed: {e}"))?;
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .read_to_string()
            .map_err(|e| e.to_string())?;
        if status != 200 {
            return Err(format!("login answered {status}: {body}"));
        }
        serde_json::from_str(&body)
            .map_err(|e| format!("login reply is not what a bot expects: {e}"))
    }

    /// Registers `username` (201 or 409 are both fine), then logs in.
    pub fn register_and_login(http: &str, username: &str, password: &str) -> Result<Self, String> {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .new_agent();
        agent
            .post(&format!("{http}/api/auth/register"))
            .send_json(serde_json::json!({ "username": username, "password": password }))
            .map_err(|e| format!("register request failed: {e}"))?;
        Self::request(http, username, password)
    }

    /// The decoded connect token for `transport`.
    pub fn connect_token(&self, transport: Transport) -> Result<ConnectToken, String> {
        let encoded = match transport {
            Transport::Udp => &self.connect_token,
            Transport::WebSocket => &self.connect_token_ws,
        };
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .map_err(|e| e.to_string())?;
        ConnectToken::read(&mut bytes.as_slice()).map_err(|e| e.to_string())
    }
}

/// Reconstructed own-ship states kept for decoding deltas.
const HISTORY: usize = 64;

fn since_unix_epoch() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

/// A connected (or connecting) bot.
pub struct Bot {
    client: RenetClient,
    transport: NetcodeClientTransport,
    last_pump: Instant,
    input_seq: u32,
    /// The server's welcome, once received.
    pub welcome: Option<Welcome>,
    /// The newest state received.
    pub state: Option<State>,
    /// The own ship as reconstructed from the newest state.
    pub own: Option<OwnMotion>,
    /// Reconstructed own-ship states by tick: the baselines deltas refer to.
    history: VecDeque<(u64, OwnMotion)>,
    /// Own-ship updates whose baseline was missing (never expected on loopback).
    pub missing_baselines: u64,
    /// Count of states received.
    pub states_received: u64,
    /// Other-ship updates received, summed over all states.
    pub ship_updates: u64,
    /// Ids of other ships seen in any state.
    pub ships_seen: std::collections::BTreeSet<u32>,
    /// The newest state of each other ship seen, by id.
    pub others: std::collections::HashMap<u32, OtherShip>,
    /// Ship names the server sent, in order (each should come once).
    pub ship_names: Vec<ShipLabel>,
    /// Events received, in order.
    pub events: Vec<Event>,
    /// Admin replies received, in order.
    pub admin_replies: Vec<(bool, String)>,
    /// Errors the server sent.
    pub errors: Vec<String>,
    /// Messages that failed to decode.
    pub undecodable: u64,
}

impl Bot {
    /// Starts connecting with a login's token over `transport`.
    pub fn connect(login: &Login, transport: Transport) -> Result<Self, String> {
        Self::connect_from(login, transport, SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// The same, over UDP from a chosen local address (to come back from the one a
    /// connect token was first used from).
    pub fn connect_from(
        login: &Login,
        transport: Transport,
        local: SocketAddr,
    ) -> Result<Self, String> {
        let token = login.connect_token(transport)?;
        let authentication = ClientAuthentication::Secure {
            connect_token: token,
        };
        let (transport, reliable) = match transport {
            Transport::Udp => {
                let socket = UdpSocket::bind(local).map_err(|e| e.to_string())?;
                let socket = NativeSocket::new(socket).map_err(|e| e.to_string())?;
                (
                    NetcodeClientTransport::new(since_unix_epoch(), authentication, socket),
                    false,
                )
            }
            Transport::WebSocket => {
                let server = ws_server_of(login)?;
                (
                    NetcodeClientTransport::new(
                        since_unix_epoch(),
                        authentication,
                        WsClientSocket::new(server),
                    ),
                    true,
                )
            }
        };
        let transport = transport.map_err(|e| e.to_string())?;
        Ok(Self {
            client: RenetClient::new(connection_config(), reliable),
            transport,
            last_pump: Instant::now(),
            input_seq: 0,
            welcome: None,
            state: None,
            own: None,
            history: VecDeque::new(),
            missing_baselines: 0,
            ship_updates: 0,
            states_received: 0,
            ships_seen: Default::default(),
            others: Default::default(),
            ship_names: Vec::new(),
            events: Vec::new(),
            admin_replies: Vec::new(),
            errors: Vec::new(),
            undecodable: 0,
        })
    }

    /// The local address of a UDP bot.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.transport.addr().ok()
    }

    /// Whether the connection is up.
    pub fn is_connected(&self) -> bool {
        self.client.is_connected()
    }

    /// Whether the server closed the connection (or it timed out).
    pub fn is_disconnected(&self) -> bool {
        self.client.is_disconnected()
    }

    /// Moves time forward: receives, decodes and records, then sends.
    pub fn pump(&mut self) {
        let elapsed = self.last_pump.elapsed();
        self.last_pump = Instant::now();
        self.client.update(elapsed);
        let _ = self.transport.update(elapsed, &mut self.client);
        for channel in [CHANNEL_RELIABLE, CHANNEL_UNRELIABLE] {
            while let Some(bytes) = self.client.receive_message(channel) {
                match decode::<ServerMessage>(&bytes, MAX_SERVER_MESSAGE) {
                    Ok(message) => self.record(message),
                    Err(_) => self.undecodable += 1,
                }
            }
        }
        let _ = self.transport.send_packets(&mut self.client);
    }

    fn record(&mut self, message: ServerMessage) {
        match message {
            ServerMessage::Welcome(welcome) => self.welcome = Some(*welcome),
            ServerMessage::State(state) => {
                self.states_received += 1;
                self.ships_seen.extend(state.ships.iter().map(|s| s.id));
                self.others.extend(state.ships.iter().map(|s| (s.id, *s)));
                self.ship_updates += state.ships.len() as u64;
                let wire = &state.own.motion;
                let baseline = wire.baseline.and_then(|tick| {
                    self.history
                        .iter()
                        .find(|(t, _)| *t == tick)
                        .map(|(_, m)| m)
                });
                match delta::decode(wire, baseline, state.game_time, state.own.dominant) {
                    Some(motion) => {
                        self.history.push_back((state.tick, motion));
                        if self.history.len() > HISTORY {
                            self.history.pop_front();
                        }
                        if self.state.as_ref().is_none_or(|old| old.tick <= state.tick) {
                            self.own = Some(motion);
                            self.state = Some(*state);
                        }
                    }
                    None => self.missing_baselines += 1,
                }
            }
            ServerMessage::Event(event) => self.events.push(event),
            ServerMessage::AdminReply { ok, output } => self.admin_replies.push((ok, output)),
            ServerMessage::ShipNames(labels) => self.ship_names.extend(labels),
            ServerMessage::Pong { .. } => {}
            ServerMessage::Error { message, .. } => self.errors.push(message),
        }
    }

    /// Pumps every 5 ms until `done` holds or `timeout` passes; returns whether it held.
    pub fn wait_until(&mut self, timeout: Duration, mut done: impl FnMut(&Bot) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            self.pump();
            if done(self) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Sends a message on its natural channel.
    pub fn send(&mut self, message: &ClientMessage) {
        let channel = match message {
            ClientMessage::Input { .. } => CHANNEL_UNRELIABLE,
            _ => CHANNEL_RELIABLE,
        };
        if let Ok(bytes) = encode(message, MAX_CLIENT_MESSAGE) {
            self.client.send_message(channel, bytes);
        }
    }

    /// Sends an admin line and waits for its answer: whether it ran and what it
    /// printed, or `None` when no answer came within `timeout`.
    pub fn admin(&mut self, line: &str, timeout: Duration) -> Option<(bool, String)> {
        let before = self.admin_replies.len();
        self.send(&ClientMessage::Admin { line: line.into() });
        self.wait_until(timeout, |b| b.admin_replies.len() > before)
            .then(|| self.admin_replies[before].clone())
    }

    /// The clock as the server last described it: the rate, the cap, this bot's
    /// request and why.
    pub fn warp(&self) -> Option<&Warp> {
        self.events.iter().rev().find_map(|event| match event {
            Event::Clock { warp, .. } => Some(warp),
            _ => None,
        })
    }

    /// Sends raw bytes as a message, for tests of the server's defences.
    pub fn send_raw(&mut self, channel: u8, bytes: Vec<u8>) {
        self.client.send_message(channel, bytes);
    }

    /// Sends a control input with the next sequence number.
    pub fn input(&mut self, throttle: f32, controls: WireControls) {
        self.input_seq += 1;
        let ack = self.state.as_ref().map_or(0, |s| s.tick);
        let message = ClientMessage::Input {
            seq: self.input_seq,
            ack,
            throttle,
            controls,
        };
        self.send(&message);
    }
}

pub(crate) fn ws_server_of(login: &Login) -> Result<SocketAddr, String> {
    let token = login.connect_token(Transport::WebSocket)?;
    token
        .server_addresses
        .iter()
        .flatten()
        .next()
        .copied()
        .ok_or_else(|| "the WebSocket connect token names no server".to_owned())
}
