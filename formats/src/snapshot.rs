//! The snapshot blob: a versioned, checksummed postcard encoding of the world.
//!
//! Layout (little-endian): 8-byte magic `GXSNAP\0\0`, `u32` format version, `u64`
//! payload length, `u64` checksum of the payload, then the payload (postcard of
//! [`WorldSnapshot`]). Postcard writes every `f64` as its 8 raw bytes, so a decoded
//! snapshot is bit for bit the one encoded. A blob whose magic, length or checksum is
//! wrong is corrupt; one with a newer version is refused as from the future.

use galaxy_shared::components::{Controls, FlightState};
use galaxy_shared::flight_plan::{Burn, LandingPhase, Node};
use galaxy_shared::physics::integrator::NBodyState;
use glam::{DQuat, DVec3};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::sync::Arc;

/// The format this binary writes and the newest it reads. Version 1 kept the
/// offsets of landed ships and wrecks in the ICRF; since 2 they are body-fixed;
/// 3 added the flight plans and 4 the landings in progress, each as the payload's
/// last field then, so an older payload reads as one with none.
pub const FORMAT_VERSION: u32 = 4;

const MAGIC: [u8; 8] = *b"GXSNAP\0\0";
const HEADER_LEN: usize = 8 + 4 + 8 + 8;

/// The whole world at the end of one tick.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorldSnapshot {
    /// Game time and how it flows.
    pub clock: ClockRecord,
    /// Body names in N-body order, to check the ephemeris still matches.
    pub body_names: Vec<String>,
    /// Positions, velocities, GMs and the Kahan carries of the bodies.
    pub bodies: NBodyState,
    /// State of the spawn RNG, so spawns after a restore continue the sequence.
    pub spawn_rng: u64,
    /// Every ship.
    pub ships: Vec<ShipRecord>,
    /// The flight plans of the ships that have one, in ship order.
    pub plans: Vec<PlanRecord>,
    /// The landing autopilot's state on the ships it flies, in ship order.
    pub landings: Vec<LandingRecord>,
    /// Read from a version 1 blob: the resting offsets are in the ICRF at the
    /// snapshot's game time, not body-fixed, and the restore turns them.
    #[serde(skip)]
    pub inertial_offsets: bool,
}

/// The server's simulation clock as stored.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClockRecord {
    /// Ticks run.
    pub tick: u64,
    /// TDB seconds since J2000.
    pub game_time: f64,
    /// Rounding carried by the game-time sum.
    pub game_time_carry: f64,
    /// Game seconds per real second.
    pub time_scale: f64,
    /// Whether game time is stopped.
    pub paused: bool,
}

/// One ship: every component the simulation reads, and its owner.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShipRecord {
    /// The ship's name.
    #[serde(with = "shared_str")]
    pub name: Arc<str>,
    /// The owning player (id, name); a player gets this ship back when they log in.
    #[serde(with = "shared_owner")]
    pub owner: Option<(u64, Arc<str>)>,
    /// Barycentric position (m).
    pub position: DVec3,
    /// Rounding carried by the position sum.
    pub position_carry: DVec3,
    /// Barycentric velocity (m/s).
    pub velocity: DVec3,
    /// Body-to-ICRF rotation.
    pub attitude: DQuat,
    /// Body rates (rad/s).
    pub angular_velocity: DVec3,
    /// Reaction-wheel momentum (N·m·s).
    pub wheel_momentum: DVec3,
    /// Propellant (kg).
    pub fuel: f64,
    /// Main-engine throttle.
    pub throttle: f64,
    /// Rotation commands or hold mode.
    pub controls: Controls,
    /// Flying, landed or destroyed.
    pub flight: FlightState,
    /// N-body slot of the dominant body.
    pub dominant_body: usize,
}

/// One ship's flight plan.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlanRecord {
    /// The ship's index in [`WorldSnapshot::ships`].
    pub ship: u32,
    /// Its nodes, earliest first.
    pub nodes: Vec<Node>,
    /// The executor's state, while it flies the first node.
    pub burn: Option<Burn>,
}

/// One ship's landing in progress: the landing autopilot's state.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct LandingRecord {
    /// The ship's index in [`WorldSnapshot::ships`].
    pub ship: u32,
    /// N-body slot of the body it lands on.
    pub body: usize,
    /// How far it is.
    pub phase: LandingPhase,
    /// Speed over the ground at the last tick (m/s).
    pub speed: f64,
    /// When it next needs short ticks (game s).
    pub next_act: f64,
}

/// Names are shared with the world (a capture copies a pointer, not the text) and
/// encoded as plain strings.
mod shared_str {
    use super::*;

    pub fn serialize<S: Serializer>(name: &Arc<str>, to: S) -> Result<S::Ok, S::Error> {
        to.serialize_str(name)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(from: D) -> Result<Arc<str>, D::Error> {
        String::deserialize(from).map(Arc::from)
    }
}

/// [`shared_str`] for the owner.
mod shared_owner {
    use super::*;

    pub fn serialize<S: Serializer>(
        owner: &Option<(u64, Arc<str>)>,
        to: S,
    ) -> Result<S::Ok, S::Error> {
        owner
            .as_ref()
            .map(|(id, name)| (*id, &**name))
            .serialize(to)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        from: D,
    ) -> Result<Option<(u64, Arc<str>)>, D::Error> {
        Ok(Option::<(u64, String)>::deserialize(from)?.map(|(id, name)| (id, Arc::from(name))))
    }
}

/// The ranges a restored world must fall in, from the configuration.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Limits {
    /// Largest time scale an admin may set.
    pub max_time_scale: f64,
    /// A ship's tank (kg).
    pub fuel_capacity: f64,
}

/// Why a blob cannot be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FormatError {
    /// Too short, wrong magic, wrong length or wrong checksum.
    #[error("corrupt snapshot data: {0}")]
    Corrupt(String),
    /// Written by a newer server.
    #[error("snapshot format version {found} is newer than this server's {FORMAT_VERSION}")]
    FutureVersion {
        /// The version in the blob or row.
        found: u32,
    },
}

/// An encoded snapshot with the facts its row repeats.
#[derive(Clone, Debug)]
pub struct EncodedSnapshot {
    /// The blob.
    pub bytes: Vec<u8>,
    /// Checksum of the payload.
    pub checksum: u64,
    /// Tick it was taken at.
    pub tick: u64,
    /// Game time it was taken at.
    pub game_time: f64,
    /// Ships in it.
    pub ship_count: usize,
}

/// FNV-1a over 8-byte little-endian words (the tail zero-padded), then the length:
/// fast enough for 25 MB blobs and it catches any torn or garbled payload.
pub fn checksum(bytes: &[u8]) -> u64 {
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0; 8];
        word.copy_from_slice(chunk);
        hash = (hash ^ u64::from_le_bytes(word)).wrapping_mul(PRIME);
        hash ^= hash >> 29;
    }
    let mut tail = [0; 8];
    tail[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
    hash = (hash ^ u64::from_le_bytes(tail)).wrapping_mul(PRIME);
    (hash ^ bytes.len() as u64).wrapping_mul(PRIME)
}

impl WorldSnapshot {
    /// Encodes the snapshot into a blob.
    pub fn encode(&self) -> Result<EncodedSnapshot, postcard::Error> {
        let payload = postcard::to_allocvec(self)?;
        let sum = checksum(&payload);
        let mut bytes = Vec::with_capacity(HEADER_LEN + payload.len());
        bytes.extend_from_slice(&MAGIC);
        bytes.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        bytes.extend_from_slice(&(payload.len() as u64).to_le_bytes());
        bytes.extend_from_slice(&sum.to_le_bytes());
        bytes.extend_from_slice(&payload);
        Ok(EncodedSnapshot {
            bytes,
            checksum: sum,
            tick: self.clock.tick,
            game_time: self.clock.game_time,
            ship_count: self.ships.len(),
        })
    }

    /// Decodes and verifies a blob.
    pub fn decode(bytes: &[u8]) -> Result<Self, FormatError> {
        let (header, payload) = header(bytes)?;
        if header.version > FORMAT_VERSION {
            return Err(FormatError::FutureVersion {
                found: header.version,
            });
        }
        if header.version == 0 {
            return Err(FormatError::Corrupt("format version 0".into()));
        }
        if checksum(payload) != header.checksum {
            return Err(FormatError::Corrupt("checksum mismatch".into()));
        }
        // Postcard writes an empty list as one zero byte: a payload from before the
        // plans (3) or the landings (4) were added reads with a zero byte after it
        // for each as one without them.
        let padded;
        let missing = FORMAT_VERSION.saturating_sub(header.version.max(2)) as usize;
        let payload = if missing > 0 {
            padded = [payload, &vec![0; missing]].concat();
            &padded[..]
        } else {
            payload
        };
        let (snapshot, rest) = postcard::take_from_bytes::<Self>(payload)
            .map_err(|e| FormatError::Corrupt(format!("cannot decode the payload: {e}")))?;
        if !rest.is_empty() {
            return Err(FormatError::Corrupt(format!(
                "{} bytes after the payload",
                rest.len()
            )));
        }
        Ok(Self {
            inertial_offsets: header.version == 1,
            ..snapshot
        })
    }

    /// Checks what decoding cannot: every number finite and in range, one ship per
    /// owner. A row can decode and still hold a NaN or a full-and-a-half tank
    /// (written by a buggy build, or edited by hand); restoring it would poison
    /// the world, so it is refused with the first reason found.
    pub fn validate(&self, limits: &Limits) -> Result<(), String> {
        let clock = &self.clock;
        if !(clock.game_time.is_finite() && clock.game_time_carry.is_finite()) {
            return Err("the game time is not finite".into());
        }
        if !(clock.time_scale.is_finite()
            && (0.0..=limits.max_time_scale).contains(&clock.time_scale))
        {
            return Err(format!(
                "time scale {} is outside 0..={}",
                clock.time_scale, limits.max_time_scale
            ));
        }
        let bodies = &self.bodies;
        let vectors = [
            &bodies.positions,
            &bodies.velocities,
            &bodies.position_carry,
            &bodies.velocity_carry,
        ];
        if vectors.iter().any(|v| v.iter().any(|x| !x.is_finite())) {
            return Err("a body state is not finite".into());
        }
        if bodies.gms.iter().any(|gm| !(gm.is_finite() && *gm > 0.0)) {
            return Err("a body GM is not a positive number".into());
        }
        let mut owners = std::collections::HashSet::new();
        for ship in &self.ships {
            let name = &ship.name;
            let vectors = [
                ship.position,
                ship.position_carry,
                ship.velocity,
                ship.angular_velocity,
                ship.wheel_momentum,
            ];
            if vectors.iter().any(|v| !v.is_finite()) {
                return Err(format!("ship `{name}` has a state that is not finite"));
            }
            if !(ship.attitude.is_finite() && (ship.attitude.length() - 1.0).abs() < 1e-6) {
                return Err(format!(
                    "ship `{name}` has an attitude that is not a rotation"
                ));
            }
            if !(ship.fuel.is_finite() && (0.0..=limits.fuel_capacity).contains(&ship.fuel)) {
                return Err(format!(
                    "ship `{name}` holds {} kg of fuel in a {} kg tank",
                    ship.fuel, limits.fuel_capacity
                ));
            }
            if !(ship.throttle.is_finite() && (0.0..=1.0).contains(&ship.throttle)) {
                return Err(format!(
                    "ship `{name}` has throttle {} outside 0..1",
                    ship.throttle
                ));
            }
            if let Controls::Rates(rates) = ship.controls
                && !(rates.is_finite() && rates.abs().max_element() <= 1.0)
            {
                return Err(format!("ship `{name}` has rotation commands outside -1..1"));
            }
            if let FlightState::Landed { offset, .. } | FlightState::Destroyed { offset, .. } =
                ship.flight
                && !offset.is_finite()
            {
                return Err(format!(
                    "ship `{name}` rests at an offset that is not finite"
                ));
            }
            if let Some((player, _)) = &ship.owner
                && !owners.insert(*player)
            {
                return Err(format!("player {player} owns more than one ship"));
            }
        }
        if self.plans.windows(2).any(|w| w[0].ship >= w[1].ship) {
            return Err("flight plans out of ship order, or two for one ship".into());
        }
        for plan in &self.plans {
            let Some(ship) = self.ships.get(plan.ship as usize) else {
                return Err(format!(
                    "a flight plan for ship {}, of {}",
                    plan.ship,
                    self.ships.len()
                ));
            };
            let nodes = galaxy_shared::flight_plan::FlightPlan {
                nodes: plan.nodes.clone(),
            };
            let checked = nodes.check_stored().and_then(|()| match &plan.burn {
                Some(_) if plan.nodes.is_empty() => Err("a burn without a node".to_owned()),
                Some(burn) => burn.check_stored(self.bodies.positions.len()),
                None => Ok(()),
            });
            if let Err(why) = checked {
                return Err(format!("ship `{}` has a bad flight plan: {why}", ship.name));
            }
        }
        if self.landings.windows(2).any(|w| w[0].ship >= w[1].ship) {
            return Err("landings out of ship order, or two for one ship".into());
        }
        for landing in &self.landings {
            let Some(ship) = self.ships.get(landing.ship as usize) else {
                return Err(format!(
                    "a landing for ship {}, of {}",
                    landing.ship,
                    self.ships.len()
                ));
            };
            let bodies = self.bodies.positions.len();
            if landing.body >= bodies {
                return Err(format!(
                    "ship `{}` lands on body {}, of {bodies}",
                    ship.name, landing.body
                ));
            }
            if !(landing.speed.is_finite() && landing.speed >= 0.0 && landing.next_act.is_finite())
            {
                return Err(format!(
                    "ship `{}` has a landing that is not finite",
                    ship.name
                ));
            }
        }
        Ok(())
    }

    /// A hash of the simulated state, the tick excluded: equal hashes mean the same
    /// world bit for bit (ships compared in owner order).
    pub fn state_hash(&self) -> u64 {
        let mut copy = self.clone();
        copy.clock.tick = 0;
        copy.ships
            .sort_by(|a, b| (&a.owner, &a.name).cmp(&(&b.owner, &b.name)));
        postcard::to_allocvec(&copy).map_or(0, |bytes| checksum(&bytes))
    }
}

/// The checksum a blob's header claims, for comparing with its row.
pub fn header_checksum(bytes: &[u8]) -> Result<u64, FormatError> {
    header(bytes).map(|(header, _)| header.checksum)
}

struct Header {
    version: u32,
    checksum: u64,
}

fn header(bytes: &[u8]) -> Result<(Header, &[u8]), FormatError> {
    let corrupt = |why: &str| FormatError::Corrupt(why.to_owned());
    if bytes.len() < HEADER_LEN {
        return Err(corrupt("shorter than the header"));
    }
    let (head, payload) = bytes.split_at(HEADER_LEN);
    if head[..8] != MAGIC {
        return Err(corrupt("not a Galaxy snapshot (bad magic)"));
    }
    let word = |range: std::ops::Range<usize>| {
        let mut out = [0; 8];
        out[..range.len()].copy_from_slice(&head[range]);
        u64::from_le_bytes(out)
    };
    let version = u32::try_from(word(8..12)).map_err(|_| corrupt("bad version"))?;
    let length = word(12..20);
    if length != payload.len() as u64 {
        return Err(FormatError::Corrupt(format!(
            "payload is {} bytes, header says {length}",
            payload.len()
        )));
    }
    Ok((
        Header {
            version,
            checksum: word(20..28),
        },
        payload,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use galaxy_shared::components::HoldMode;

    const LIMITS: Limits = Limits {
        max_time_scale: 100_000.0,
        fuel_capacity: 40_000.0,
    };

    #[test]
    fn rows_that_decode_but_break_the_rules_are_refused_with_a_reason() {
        let two_ships = || {
            let mut snapshot = sample();
            let mut other = snapshot.ships[0].clone();
            other.name = "ship of bob".into();
            other.owner = Some((8, "bob".into()));
            snapshot.ships.push(other);
            snapshot
        };
        assert_eq!(two_ships().validate(&LIMITS), Ok(()));
        let cases: [(fn(&mut WorldSnapshot), &str); 15] = [
            (|s| s.clock.game_time = f64::NAN, "game time"),
            (|s| s.clock.time_scale = 1.0e6, "time scale"),
            (|s| s.bodies.velocities[1].y = f64::INFINITY, "body state"),
            (|s| s.bodies.gms[0] = -1.0, "GM"),
            (|s| s.ships[0].position.x = f64::NAN, "not finite"),
            (|s| s.ships[0].fuel = 40_001.0, "tank"),
            (|s| s.ships[1].throttle = 1.5, "throttle"),
            (
                |s| s.ships[0].attitude = DQuat::from_xyzw(0.0, 0.0, 0.0, 2.0),
                "attitude",
            ),
            (
                |s| {
                    let owner = s.ships[0].owner.clone();
                    s.ships[1].owner = owner;
                },
                "more than one ship",
            ),
            (|s| s.plans[0].ship = 2, "a flight plan for ship 2"),
            (|s| s.plans[0].nodes[0].normal = f64::NAN, "bad flight plan"),
            (
                |s| {
                    let plan = s.plans[0].clone();
                    s.plans.push(plan);
                },
                "two for one ship",
            ),
            (|s| s.landings[0].ship = 2, "a landing for ship 2"),
            (|s| s.landings[0].body = 2, "lands on body 2"),
            (
                |s| s.landings[0].speed = f64::NAN,
                "landing that is not finite",
            ),
        ];
        for (break_it, reason) in cases {
            let mut snapshot = two_ships();
            break_it(&mut snapshot);
            let error = snapshot.validate(&LIMITS).expect_err(reason);
            assert!(error.contains(reason), "`{error}` does not say {reason}");
        }
    }

    fn sample() -> WorldSnapshot {
        let mut rng = fastrand::Rng::with_seed(3);
        let mut v = || DVec3::new(rng.f64() * 1e11, -rng.f64() * 1e-9, rng.f64());
        let bodies = NBodyState::new(vec![v(), v()], vec![v(), v()], vec![1.0e20, 3.0e14], None);
        WorldSnapshot {
            clock: ClockRecord {
                tick: 42,
                game_time: 1.234_567_890_123e8,
                game_time_carry: -3.1e-9,
                time_scale: 1000.0,
                paused: true,
            },
            body_names: vec!["Sun".into(), "Earth".into()],
            bodies,
            spawn_rng: 77,
            ships: vec![ShipRecord {
                name: "ship of ann".into(),
                owner: Some((7, "ann".into())),
                position: v(),
                position_carry: v(),
                velocity: v(),
                attitude: DQuat::from_rotation_y(0.3),
                angular_velocity: v(),
                wheel_momentum: v(),
                fuel: 123.456,
                throttle: 0.5,
                controls: Controls::Hold(HoldMode::Prograde),
                flight: FlightState::Landed {
                    body: 1,
                    offset: v(),
                },
                dominant_body: 1,
            }],
            plans: vec![PlanRecord {
                ship: 0,
                nodes: vec![Node {
                    at: 1.3e8,
                    prograde: 100.0,
                    normal: -2.5,
                    radial: 0.0,
                }],
                burn: Some(Burn::waiting(true)),
            }],
            landings: vec![LandingRecord {
                ship: 0,
                body: 1,
                phase: LandingPhase::Brake,
                speed: 812.5,
                next_act: 1.3e8,
            }],
            inertial_offsets: false,
        }
    }

    #[test]
    fn a_version_1_blob_says_its_offsets_are_inertial() {
        let mut snapshot = sample();
        snapshot.plans.clear();
        snapshot.landings.clear();
        let bytes = snapshot.encode().expect("encodes").bytes;
        assert!(
            !WorldSnapshot::decode(&bytes)
                .expect("decodes")
                .inertial_offsets
        );
        assert!(
            WorldSnapshot::decode(&older_blob(&snapshot, 1))
                .expect("decodes")
                .inertial_offsets
        );
    }

    /// `snapshot` (without the lists added since `version`) as a blob of that older
    /// version: the same payload without their trailing empty lists.
    fn older_blob(snapshot: &WorldSnapshot, version: u32) -> Vec<u8> {
        assert!(snapshot.landings.is_empty());
        assert!(version >= 3 || snapshot.plans.is_empty());
        let mut bytes = snapshot.encode().expect("encodes").bytes;
        for _ in version.max(2)..FORMAT_VERSION {
            assert_eq!(bytes.pop(), Some(0));
        }
        let payload_len = (bytes.len() - HEADER_LEN) as u64;
        bytes[12..20].copy_from_slice(&payload_len.to_le_bytes());
        let sum = checksum(&bytes[HEADER_LEN..]);
        bytes[20..28].copy_from_slice(&sum.to_le_bytes());
        bytes[8..12].copy_from_slice(&version.to_le_bytes());
        bytes
    }

    #[test]
    fn a_version_2_blob_reads_as_one_without_plans() {
        let mut snapshot = sample();
        snapshot.plans.clear();
        snapshot.landings.clear();
        let back = WorldSnapshot::decode(&older_blob(&snapshot, 2)).expect("decodes");
        assert_eq!(back.plans, []);
        assert_eq!(back.ships, snapshot.ships);
        assert_eq!(back.state_hash(), snapshot.state_hash());
    }

    #[test]
    fn a_version_3_blob_reads_with_its_plans_and_no_landings() {
        let mut snapshot = sample();
        snapshot.landings.clear();
        let back = WorldSnapshot::decode(&older_blob(&snapshot, 3)).expect("decodes");
        assert_eq!(back.plans, snapshot.plans);
        assert_eq!(back.landings, []);
        assert_eq!(back.state_hash(), snapshot.state_hash());
    }

    #[test]
    fn a_blob_decodes_to_the_same_bits() {
        let snapshot = sample();
        let encoded = snapshot.encode().expect("encodes");
        assert_eq!(encoded.ship_count, 1);
        assert_eq!(header_checksum(&encoded.bytes), Ok(encoded.checksum));
        let back = WorldSnapshot::decode(&encoded.bytes).expect("decodes");
        assert_eq!(
            back.clock.game_time_carry.to_bits(),
            snapshot.clock.game_time_carry.to_bits()
        );
        assert_eq!(back.bodies.positions, snapshot.bodies.positions);
        assert_eq!(back.ships, snapshot.ships);
        assert_eq!(back.plans, snapshot.plans);
        assert_eq!(back.landings, snapshot.landings);
        assert_eq!(back.state_hash(), snapshot.state_hash());
    }

    #[test]
    fn damaged_and_future_blobs_are_refused() {
        let bytes = sample().encode().expect("encodes").bytes;
        let mut flipped = bytes.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert_eq!(
            WorldSnapshot::decode(&flipped),
            Err(FormatError::Corrupt("checksum mismatch".into()))
        );
        let torn = &bytes[..bytes.len() - 10];
        assert!(matches!(
            WorldSnapshot::decode(torn),
            Err(FormatError::Corrupt(_))
        ));
        assert!(matches!(
            WorldSnapshot::decode(b"garbage garbage garbage garbage"),
            Err(FormatError::Corrupt(_))
        ));
        let mut future = bytes;
        future[8..12].copy_from_slice(&(FORMAT_VERSION + 1).to_le_bytes());
        assert_eq!(
            WorldSnapshot::decode(&future),
            Err(FormatError::FutureVersion {
                found: FORMAT_VERSION + 1
            })
        );
    }

    #[test]
    fn the_state_hash_sees_one_bit_but_not_the_tick() {
        let snapshot = sample();
        let mut later = snapshot.clone();
        later.clock.tick += 100;
        assert_eq!(later.state_hash(), snapshot.state_hash());
        let mut nudged = snapshot.clone();
        nudged.ships[0].fuel = f64::from_bits(nudged.ships[0].fuel.to_bits() + 1);
        assert_ne!(nudged.state_hash(), snapshot.state_hash());
    }
}
