//! The wire protocol between client and server: versioned messages, a compact
//! binary codec (postcard) with a size limit on every message, and the user data a
//! connect token carries.
//!
//! Registered once, here. The version is part of the netcode protocol id, so a
//! client and server of different versions refuse each other at the handshake, and
//! the `Welcome` repeats it for a clear message.

use serde::{Deserialize, Serialize};

use crate::components::HoldMode;
use crate::flight_plan::{BurnPhase, LandingPhase, Node, PlanCommand};

/// Version of this protocol; bump on any change to the messages below.
pub const PROTOCOL_VERSION: u16 = 6;

/// Netcode protocol id: "GALAXY" and the version.
pub const PROTOCOL_ID: u64 = 0x4741_4c41_5859_0000 | PROTOCOL_VERSION as u64;

/// renet channel for commands, replies and events: reliable and ordered.
pub const CHANNEL_RELIABLE: u8 = 0;
/// renet channel for inputs and state: unreliable, newest wins.
pub const CHANNEL_UNRELIABLE: u8 = 1;

/// Send and receive buffer of the reliable channel (bytes).
pub const RELIABLE_CHANNEL_MEMORY: usize = 256 * 1024;

/// The renet channels, identical on both sides: reliable-ordered commands and
/// unreliable state, in both directions.
pub fn connection_config() -> renet2::ConnectionConfig {
    let channels = vec![
        renet2::ChannelConfig {
            channel_id: CHANNEL_RELIABLE,
            max_memory_usage_bytes: RELIABLE_CHANNEL_MEMORY,
            send_type: renet2::SendType::ReliableOrdered {
                resend_time: std::time::Duration::from_millis(250),
            },
        },
        renet2::ChannelConfig {
            channel_id: CHANNEL_UNRELIABLE,
            max_memory_usage_bytes: 64 * 1024,
            send_type: renet2::SendType::Unreliable {
                ordered_reliable_substrate: false,
            },
        },
    ];
    renet2::ConnectionConfig::from_shared_channels(channels)
}

/// Largest message a client may send (bytes).
pub const MAX_CLIENT_MESSAGE: usize = 512;
/// Largest message the server sends (bytes); the Welcome is the big one.
pub const MAX_SERVER_MESSAGE: usize = 16 * 1024;
/// Longest player name on the wire.
pub const MAX_NAME: usize = 32;
/// Lowest warp a player may ask for: real time.
pub const MIN_WARP_REQUEST: f64 = 1.0;
/// Highest warp a player may ask for (the admin's cap limits it further).
pub const MAX_WARP_REQUEST: f64 = 1.0e7;

/// Why bytes are not a message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// Larger than the limit for its direction.
    #[error("message of {0} bytes is over the limit")]
    TooLarge(usize),
    /// Not a valid encoding of a message of this version.
    #[error("malformed message: {0}")]
    Malformed(String),
    /// Valid encoding but values out of range.
    #[error("invalid message: {0}")]
    Invalid(&'static str),
}

/// Encodes `message`, refusing anything over `limit` bytes.
pub fn encode<T: Serialize>(message: &T, limit: usize) -> Result<Vec<u8>, CodecError> {
    let bytes = postcard::to_stdvec(message).map_err(|e| CodecError::Malformed(e.to_string()))?;
    if bytes.len() > limit {
        return Err(CodecError::TooLarge(bytes.len()));
    }
    Ok(bytes)
}

/// Decodes exactly one message from `bytes` (trailing bytes are an error).
pub fn decode<'a, T: Deserialize<'a>>(bytes: &'a [u8], limit: usize) -> Result<T, CodecError> {
    if bytes.len() > limit {
        return Err(CodecError::TooLarge(bytes.len()));
    }
    match postcard::take_from_bytes(bytes) {
        Ok((message, [])) => Ok(message),
        Ok((_, rest)) => Err(CodecError::Malformed(format!(
            "{} trailing bytes",
            rest.len()
        ))),
        Err(e) => Err(CodecError::Malformed(e.to_string())),
    }
}

/// A player's role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Role {
    /// Flies a ship.
    Player,
    /// Flies a ship and runs admin commands.
    Admin,
}

impl Role {
    /// The role's name in tokens and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Player => "player",
            Self::Admin => "admin",
        }
    }

    /// Parses a name written by [`Role::as_str`].
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "player" => Some(Self::Player),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }
}

/// What a connect token carries in its 256 bytes of user data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenUserData {
    /// Player id (also the netcode client id).
    pub player: u64,
    /// Player name.
    pub name: String,
    /// Role at login time.
    pub role: Role,
}

impl TokenUserData {
    /// Packs into netcode's user-data block.
    pub fn to_bytes(&self) -> Result<[u8; 256], CodecError> {
        let mut block = [0u8; 256];
        postcard::to_slice(self, &mut block).map_err(|e| CodecError::Malformed(e.to_string()))?;
        Ok(block)
    }

    /// Unpacks from netcode's user-data block (trailing zero padding allowed).
    pub fn from_bytes(block: &[u8; 256]) -> Result<Self, CodecError> {
        let (data, _) = postcard::take_from_bytes::<Self>(block)
            .map_err(|e| CodecError::Malformed(e.to_string()))?;
        if data.name.len() > MAX_NAME {
            return Err(CodecError::Invalid("name too long"));
        }
        Ok(data)
    }
}

/// How the pilot steers, on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum WireControls {
    /// Pitch, yaw, roll commands, each −1..1.
    Rates([f32; 3]),
    /// An attitude hold mode.
    Hold(HoldMode),
}

/// What a pilot can choose as target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum WireTarget {
    /// Another ship, by network id.
    Ship(u32),
    /// A body, by id.
    Body(u8),
}

/// Service requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Service {
    /// Fill the tank.
    Refuel,
    /// Respawn in the spawn orbit.
    Reset,
}

/// Client → server.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ClientMessage {
    /// Continuous control input, sent unreliably; older `seq` than seen is ignored.
    Input {
        /// Increasing sequence number.
        seq: u32,
        /// Tick of the newest state received: the baseline for own-ship deltas.
        ack: u64,
        /// Throttle 0..1.
        throttle: f32,
        /// Rotation commands or hold mode.
        controls: WireControls,
    },
    /// Refuel or reset.
    Service(Service),
    /// One admin command line.
    Admin {
        /// The line, as typed.
        line: String,
    },
    /// Round-trip probe; answered with `Pong`.
    Ping {
        /// Echoed back.
        nonce: u32,
    },
    /// The warp this player asks for (docs/spec.md, "Shared time warp");
    /// [`MIN_WARP_REQUEST`] is real time, and where every player starts.
    Warp {
        /// Game seconds per real second, within the request limits.
        factor: f64,
    },
    /// A change to the ship's flight plan; answered with `Event::Plan`, or a
    /// refusal.
    Plan(PlanCommand),
    /// Choose a target (`None`: none); answered with `Event::Target`, or a refusal.
    Target(Option<WireTarget>),
}

impl ClientMessage {
    /// Range checks that the type system cannot express.
    pub fn validate(&self) -> Result<(), CodecError> {
        match self {
            Self::Input {
                throttle, controls, ..
            } => {
                if !(throttle.is_finite() && (0.0..=1.0).contains(throttle)) {
                    return Err(CodecError::Invalid("throttle outside 0..1"));
                }
                if let WireControls::Rates(rates) = controls
                    && !rates.iter().all(|r| r.is_finite() && r.abs() <= 1.0)
                {
                    return Err(CodecError::Invalid("rotation rate outside -1..1"));
                }
                Ok(())
            }
            Self::Admin { line } if line.len() > crate::admin::MAX_ADMIN_LINE => {
                Err(CodecError::Invalid("admin line too long"))
            }
            Self::Warp { factor } if !(MIN_WARP_REQUEST..=MAX_WARP_REQUEST).contains(factor) => {
                Err(CodecError::Invalid("warp request outside 1..=1e7"))
            }
            Self::Plan(PlanCommand::Add(node) | PlanCommand::Edit { node, .. })
                if node.check_values().is_err() =>
            {
                Err(CodecError::Invalid(
                    "node not finite or over the delta-v limit",
                ))
            }
            _ => Ok(()),
        }
    }
}

/// A body as the client first learns it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BodyInfo {
    /// Index used in states.
    pub id: u8,
    /// Name.
    pub name: String,
    /// Parent body, if any.
    pub parent: Option<u8>,
    /// GM (m³/s²).
    pub gm: f64,
    /// Mean radius (m).
    pub radius: f64,
    /// Render colour, sRGB.
    pub color: [f32; 3],
    /// How it turns, so the client can turn it too.
    pub rotation: crate::physics::rotation::RotationModel,
    /// Its J2 as ships feel it (`None`: a point mass to them), so the client's
    /// predicted path bends as the server's does.
    pub oblateness: Option<crate::physics::oblateness::Oblateness>,
}

/// Ship constants the client needs for its HUD (delta-v left).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShipInfo {
    /// Dry mass (kg).
    pub dry_mass: f64,
    /// Tank size (kg).
    pub fuel_capacity: f64,
    /// Main engine thrust (N).
    pub thrust: f64,
    /// Exhaust velocity (m/s).
    pub exhaust_velocity: f64,
}

/// The first message on a connection.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Welcome {
    /// [`PROTOCOL_VERSION`] of the server.
    pub protocol: u16,
    /// The player's id.
    pub player: u64,
    /// The player's name.
    pub name: String,
    /// The player's role.
    pub role: Role,
    /// Network id of the player's ship.
    pub ship: u32,
    /// Simulation ticks per second.
    pub tick_rate: f32,
    /// Game time at the welcome (s since J2000, TDB).
    pub epoch: f64,
    /// All bodies.
    pub bodies: Vec<BodyInfo>,
    /// The ship type.
    pub ship_info: ShipInfo,
}

/// Flight state on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum WireFlight {
    /// In flight.
    Flying,
    /// On a surface.
    Landed,
    /// Wrecked.
    Destroyed,
}

/// The own ship, every state message. Motion is relative to the dominant body,
/// whose barycentric state comes in `bodies`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct OwnShip {
    /// Dominant body id.
    pub dominant: u8,
    /// Position, velocity, attitude and fuel, delta-compressed against a state the
    /// client acknowledged (see [`crate::delta`]).
    pub motion: crate::delta::WireOwnMotion,
    /// Body rates in units of [`ANGULAR_RATE_UNIT`]; `None` when not turning.
    pub angular_velocity: Option<[i16; 3]>,
    /// Throttle ×255.
    pub throttle: u8,
    /// Flight state.
    pub flight: WireFlight,
    /// Where the ship is over the dominant body's turning surface: in one state
    /// in [`SURFACE_EVERY`], so it costs a byte in the others.
    pub surface: Option<WireSurface>,
    /// Current controls.
    pub controls: WireControls,
    /// Last input sequence applied.
    pub last_input: u32,
}

/// States between two that carry the own ship's [`WireSurface`]: twice a second at
/// the default 20 Hz.
pub const SURFACE_EVERY: u32 = 10;

/// The own ship over the dominant body: what a pilot flying low reads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WireSurface {
    /// Planetocentric latitude (deg).
    pub latitude_deg: f32,
    /// East longitude (deg, −180..180).
    pub longitude_deg: f32,
    /// Speed relative to the turning ground (m/s).
    pub speed_m_s: f32,
}

/// Another ship, sent by interest and bandwidth budget.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct OtherShip {
    /// Network id.
    pub id: u32,
    /// Dominant body id.
    pub dominant: u8,
    /// Position relative to the dominant body (m).
    pub position: [f32; 3],
    /// Velocity relative to the dominant body (m/s).
    pub velocity: [f32; 3],
    /// Body-to-ICRF rotation, packed by [`pack_quat`].
    pub attitude: [i16; 4],
    /// Flight state.
    pub flight: WireFlight,
}

/// Ships this close to a player's (m), and the target, come with their names: as
/// far as the client shows name tags.
pub const NAME_DISTANCE: f64 = 50_000.0;

/// A ship's name, sent once per connection when the ship first comes near (or is
/// the target), so states need not repeat it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShipLabel {
    /// Network id.
    pub id: u32,
    /// The ship's name, at most [`MAX_NAME`] bytes.
    pub name: String,
}

impl ShipLabel {
    /// The label of ship `id`, its name cut to [`MAX_NAME`] bytes at a character
    /// boundary.
    pub fn new(id: u32, name: &str) -> Self {
        let mut end = name.len().min(MAX_NAME);
        while !name.is_char_boundary(end) {
            end -= 1;
        }
        Self {
            id,
            name: name[..end].to_owned(),
        }
    }
}

/// A body's barycentric state, sent at a low rate.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct BodyState {
    /// Body id.
    pub id: u8,
    /// Position (m).
    pub position: [f64; 3],
    /// Velocity (m/s).
    pub velocity: [f64; 3],
}

/// The periodic world update for one client.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct State {
    /// Server tick.
    pub tick: u64,
    /// Game time (s since J2000, TDB).
    pub game_time: f64,
    /// Game time is stopped.
    pub paused: bool,
    /// Time scale.
    pub scale: f32,
    /// The player's ship.
    pub own: OwnShip,
    /// Other ships chosen this time.
    pub ships: Vec<OtherShip>,
    /// Bodies chosen this time.
    pub bodies: Vec<BodyState>,
}

/// Something that happened to the player's ship.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Event {
    /// Touched down on a body.
    Landed(String),
    /// Crashed into a body.
    Destroyed(String),
    /// Left a surface.
    LiftedOff,
    /// Tank filled.
    Refuelled,
    /// Respawned.
    Reset,
    /// A request was refused.
    Rejected(String),
    /// How the clock runs now: sent at connect and whenever it, the reason or the
    /// player's own request changes.
    Clock {
        /// Paused now.
        paused: bool,
        /// The warp, the cap, the player's request and why.
        warp: Warp,
    },
    /// The ship's flight plan: sent at connect and whenever it changes.
    Plan {
        /// The nodes, earliest first.
        nodes: Vec<Node>,
        /// How far the executor is with the first, when it flies it.
        burn: Option<BurnPhase>,
    },
    /// The target the server holds for the ship (`None`: none, or it is gone).
    Target(Option<WireTarget>),
    /// The executor finished a burn (the node is gone from the plan).
    BurnFinished {
        /// Delta-v the burn was short of the plan (m/s): under the cutoff, unless
        /// the tank ran dry.
        left_m_s: f64,
    },
    /// What the landing autopilot is doing (`None`: it does not fly the ship):
    /// sent at connect and whenever it changes.
    Landing(Option<LandingPhase>),
    /// The landing autopilot set the ship down.
    Touchdown {
        /// Speed relative to the turning ground at touchdown (m/s).
        speed_m_s: f64,
    },
}

/// The shared clock's rate and why it is what it is.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Warp {
    /// Game seconds per real second now.
    pub effective: f64,
    /// The admin's time scale: the most players may warp to (the rate itself
    /// when forced).
    pub cap: f64,
    /// What this player asked for.
    pub request: f64,
    /// Why the clock runs at `effective`.
    pub reason: WarpReason,
}

/// Why the shared clock runs at its rate (docs/spec.md, "Shared time warp").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum WarpReason {
    /// No active player is online: the admin's time scale runs.
    Unattended,
    /// Every active player asked for the admin's cap or more.
    Cap,
    /// The lowest request among the active players, and whose it is.
    Request(String),
    /// This player's ship is under thrust: the safe rate.
    Thrusting(String),
    /// This online player's ship is low over a surface on a path that meets it.
    LowAndFast(String),
    /// This player's ship is nearing a planned burn: the clock slows so the burn
    /// starts on time.
    Manoeuvre(String),
    /// An admin set the rate itself (`timescale force`).
    Forced,
}

impl std::fmt::Display for WarpReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unattended => write!(f, "no active player: the admin's time scale"),
            Self::Cap => write!(f, "the admin's cap"),
            Self::Request(name) => write!(f, "lowest request, by {name}"),
            Self::Thrusting(name) => write!(f, "safe rate: {name} is thrusting"),
            Self::LowAndFast(name) => write!(f, "safe rate: {name} is low and fast"),
            Self::Manoeuvre(name) => write!(f, "slowing for {name}'s planned burn"),
            Self::Forced => write!(f, "forced by an admin"),
        }
    }
}

/// Error codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ErrorCode {
    /// A message could not be decoded or was out of range.
    BadMessage,
    /// Sending too fast.
    RateLimited,
    /// The server is closing the connection.
    Kicked,
    /// The account is banned.
    Banned,
}

/// Server → client.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ServerMessage {
    /// First message of a session.
    Welcome(Box<Welcome>),
    /// World update.
    State(Box<State>),
    /// Something happened.
    Event(Event),
    /// Names of ships the states carry (reliable: each is sent once).
    ShipNames(Vec<ShipLabel>),
    /// Answer to an admin line.
    AdminReply {
        /// Whether the command ran.
        ok: bool,
        /// What it printed, or why it was refused.
        output: String,
    },
    /// Answer to a `Ping`.
    Pong {
        /// The ping's nonce.
        nonce: u32,
    },
    /// Something went wrong with the client's messages.
    Error {
        /// Category.
        code: ErrorCode,
        /// Words for the player.
        message: String,
    },
}

/// Resolution of [`OwnShip::angular_velocity`] (rad/s): ±4 rad/s in an i16.
pub const ANGULAR_RATE_UNIT: f64 = 1.0 / 8192.0;

/// Packs body rates; `None` when the ship is not turning.
pub fn pack_rates(rates: glam::DVec3) -> Option<[i16; 3]> {
    let packed = rates
        .to_array()
        .map(|r| (r / ANGULAR_RATE_UNIT).round().clamp(-32767.0, 32767.0) as i16);
    (packed != [0; 3]).then_some(packed)
}

/// Unpacks body rates from [`pack_rates`].
pub fn unpack_rates(rates: Option<[i16; 3]>) -> glam::DVec3 {
    rates.map_or(glam::DVec3::ZERO, |r| {
        glam::DVec3::from_array(r.map(|x| f64::from(x) * ANGULAR_RATE_UNIT))
    })
}

/// Packs a fuel level as a fraction of `capacity`.
pub fn pack_fuel(fuel: f64, capacity: f64) -> u16 {
    if capacity <= 0.0 {
        0
    } else {
        ((fuel / capacity).clamp(0.0, 1.0) * 65535.0).round() as u16
    }
}

/// Unpacks a fuel level (kg) from [`pack_fuel`].
pub fn unpack_fuel(fuel: u16, capacity: f64) -> f64 {
    f64::from(fuel) / 65535.0 * capacity
}

/// Packs a unit quaternion into four i16.
pub fn pack_quat(q: glam::DQuat) -> [i16; 4] {
    q.to_array()
        .map(|c| (c.clamp(-1.0, 1.0) * 32767.0).round() as i16)
}

/// Unpacks a quaternion from [`pack_quat`], renormalised (all zeros, which no
/// rotation packs to, reads as no rotation rather than NaN).
pub fn unpack_quat(q: [i16; 4]) -> glam::DQuat {
    let [x, y, z, w] = q.map(|c| f64::from(c) / 32767.0);
    let q = glam::DQuat::from_xyzw(x, y, z, w);
    let length = q.length();
    if length > 0.5 {
        q / length
    } else {
        glam::DQuat::IDENTITY
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip() {
        let input = ClientMessage::Input {
            seq: 7,
            ack: 1234,
            throttle: 0.5,
            controls: WireControls::Hold(HoldMode::Prograde),
        };
        let bytes = encode(&input, MAX_CLIENT_MESSAGE).expect("encodes");
        assert!(bytes.len() < 16, "input is compact: {} bytes", bytes.len());
        assert_eq!(
            decode::<ClientMessage>(&bytes, MAX_CLIENT_MESSAGE),
            Ok(input)
        );
    }

    #[test]
    fn garbage_and_oversize_are_refused() {
        assert!(decode::<ClientMessage>(&[0xff, 0xff, 0xff], MAX_CLIENT_MESSAGE).is_err());
        assert!(decode::<ClientMessage>(&[], MAX_CLIENT_MESSAGE).is_err());
        let big = vec![0u8; MAX_CLIENT_MESSAGE + 1];
        assert_eq!(
            decode::<ClientMessage>(&big, MAX_CLIENT_MESSAGE),
            Err(CodecError::TooLarge(MAX_CLIENT_MESSAGE + 1))
        );
        let mut ping =
            encode(&ClientMessage::Ping { nonce: 1 }, MAX_CLIENT_MESSAGE).expect("encodes");
        ping.push(0);
        assert!(matches!(
            decode::<ClientMessage>(&ping, MAX_CLIENT_MESSAGE),
            Err(CodecError::Malformed(_))
        ));
    }

    #[test]
    fn out_of_range_inputs_fail_validation() {
        let bad = [
            ClientMessage::Input {
                seq: 1,
                ack: 0,
                throttle: f32::NAN,
                controls: WireControls::Rates([0.0; 3]),
            },
            ClientMessage::Input {
                seq: 1,
                ack: 0,
                throttle: 1.5,
                controls: WireControls::Rates([0.0; 3]),
            },
            ClientMessage::Input {
                seq: 1,
                ack: 0,
                throttle: 0.0,
                controls: WireControls::Rates([0.0, 2.0, 0.0]),
            },
            ClientMessage::Admin {
                line: "x".repeat(1000),
            },
            ClientMessage::Warp { factor: 0.5 },
            ClientMessage::Warp { factor: f64::NAN },
            ClientMessage::Warp { factor: 1.0e8 },
            ClientMessage::Plan(PlanCommand::Add(Node {
                at: 1.0,
                prograde: f64::NAN,
                normal: 0.0,
                radial: 0.0,
            })),
            ClientMessage::Plan(PlanCommand::Edit {
                index: 0,
                node: Node {
                    at: 1.0,
                    prograde: 0.0,
                    normal: 1.0e6,
                    radial: 0.0,
                },
            }),
        ];
        for message in bad {
            assert!(message.validate().is_err(), "{message:?}");
        }
        for factor in [MIN_WARP_REQUEST, 1000.0, MAX_WARP_REQUEST] {
            assert_eq!(ClientMessage::Warp { factor }.validate(), Ok(()));
        }
    }

    #[test]
    fn user_data_fits_the_token_and_round_trips() {
        let data = TokenUserData {
            player: 42,
            name: "a".repeat(MAX_NAME),
            role: Role::Admin,
        };
        let block = data.to_bytes().expect("fits");
        assert_eq!(TokenUserData::from_bytes(&block), Ok(data));
    }

    #[test]
    fn rates_and_fuel_pack_within_their_resolution() {
        let rates = glam::DVec3::new(0.3, -1.2, 0.0001);
        assert!(unpack_rates(pack_rates(rates)).distance(rates) < ANGULAR_RATE_UNIT);
        assert_eq!(pack_rates(glam::DVec3::ZERO), None);
        assert!((unpack_fuel(pack_fuel(12_345.6, 40_000.0), 40_000.0) - 12_345.6).abs() < 0.7);
        assert_eq!(pack_fuel(-5.0, 40_000.0), 0);
    }

    #[test]
    fn quaternion_packing_is_accurate() {
        let q = glam::DQuat::from_euler(glam::EulerRot::XYZ, 0.3, -1.2, 2.0);
        let angle = unpack_quat(pack_quat(q)).angle_between(q);
        assert!(angle < 1e-4, "{angle}");
    }
}
