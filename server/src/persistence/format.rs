//! The snapshot blob: a versioned, checksummed postcard encoding of the world.
//!
//! Layout (little-endian): 8-byte magic `GXSNAP\0\0`, `u32` format version, `u64`
//! payload length, `u64` checksum of the payload, then the payload (postcard of
//! [`WorldSnapshot`]). Postcard writes every `f64` as its 8 raw bytes, so a decoded
//! snapshot is bit for bit the one encoded. A blob whose magic, length or checksum is
//! wrong is corrupt; one with a newer version is refused as from the future.

use galaxy_shared::components::{Controls, FlightState};
use galaxy_shared::physics::integrator::NBodyState;
use glam::{DQuat, DVec3};
use serde::{Deserialize, Serialize};

/// The format this binary writes and the newest it reads.
pub const FORMAT_VERSION: u32 = 1;

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
}

/// [`crate::tick::SimClock`] as stored.
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
    /// The entity's `Name`.
    pub name: String,
    /// The owning player (id, name); a player gets this ship back when they log in.
    pub owner: Option<(u64, String)>,
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
        let (snapshot, rest) = postcard::take_from_bytes::<Self>(payload)
            .map_err(|e| FormatError::Corrupt(format!("cannot decode the payload: {e}")))?;
        if !rest.is_empty() {
            return Err(FormatError::Corrupt(format!(
                "{} bytes after the payload",
                rest.len()
            )));
        }
        Ok(snapshot)
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

    pub(crate) fn sample() -> WorldSnapshot {
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
        }
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
