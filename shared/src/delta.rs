//! Delta compression of the own ship against a state the client has acknowledged.
//!
//! The own ship goes out every send (20 Hz), so its bytes dominate a client's
//! bandwidth. Each client echoes the tick of the newest state it received; the
//! server encodes the next own-ship state against that baseline: it predicts the
//! position with the baseline's velocity and sends only the residuals, quantised
//! to a centimetre and a millimetre per second (a few bytes each as varints
//! instead of 24 bytes of f32). Attitude and fuel are left out when unchanged.
//! Both sides reconstruct the same values from the same bytes, and the server
//! encodes against that reconstruction, so errors never accumulate.

use glam::DVec3;
use serde::{Deserialize, Serialize};

/// Resolution of a position residual (m).
pub const POSITION_UNIT: f64 = 0.01;
/// Resolution of a velocity residual (m/s).
pub const VELOCITY_UNIT: f64 = 0.001;

/// Own-ship motion relative to its dominant body, as reconstructed by the client.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OwnMotion {
    /// Game time of the state (s).
    pub game_time: f64,
    /// Dominant body id.
    pub dominant: u8,
    /// Position relative to the dominant body (m).
    pub position: DVec3,
    /// Velocity relative to the dominant body (m/s).
    pub velocity: DVec3,
    /// Packed attitude quaternion.
    pub attitude: [i16; 4],
    /// Packed fuel fraction.
    pub fuel: u16,
}

/// Motion on the wire: absolute, or residuals against the baseline.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum WireMotion {
    /// Absolute, relative to the dominant body (f32, m and m/s).
    Full {
        /// Position.
        position: [f32; 3],
        /// Velocity.
        velocity: [f32; 3],
    },
    /// Residuals against the baseline's prediction, in [`POSITION_UNIT`] and
    /// [`VELOCITY_UNIT`].
    Delta {
        /// Position residual.
        position: [i32; 3],
        /// Velocity residual.
        velocity: [i32; 3],
    },
}

/// The compressed parts of an own-ship update.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct WireOwnMotion {
    /// Tick of the baseline used, `None` for a keyframe.
    pub baseline: Option<u64>,
    /// Position and velocity.
    pub motion: WireMotion,
    /// Attitude, `None` when equal to the baseline's.
    pub attitude: Option<[i16; 4]>,
    /// Fuel, `None` when equal to the baseline's.
    pub fuel: Option<u16>,
}

fn quantize(v: DVec3, unit: f64) -> Option<[i32; 3]> {
    let q = (v / unit).round();
    let limit = f64::from(i32::MAX);
    (q.abs().max_element() < limit).then(|| q.to_array().map(|x| x as i32))
}

fn dequantize(q: [i32; 3], unit: f64) -> DVec3 {
    DVec3::from_array(q.map(f64::from)) * unit
}

/// Encodes `current` against `baseline` (with its tick) when one is usable, and
/// returns the wire form together with what the client will reconstruct.
pub fn encode(
    current: &OwnMotion,
    baseline: Option<(u64, &OwnMotion)>,
) -> (WireOwnMotion, OwnMotion) {
    let usable = baseline
        .filter(|(_, b)| b.dominant == current.dominant && b.game_time <= current.game_time);
    if let Some((tick, base)) = usable {
        let dt = current.game_time - base.game_time;
        let predicted = base.position + base.velocity * dt;
        let residuals = quantize(current.position - predicted, POSITION_UNIT)
            .zip(quantize(current.velocity - base.velocity, VELOCITY_UNIT));
        if let Some((position, velocity)) = residuals {
            let wire = WireOwnMotion {
                baseline: Some(tick),
                motion: WireMotion::Delta { position, velocity },
                attitude: (current.attitude != base.attitude).then_some(current.attitude),
                fuel: (current.fuel != base.fuel).then_some(current.fuel),
            };
            let decoded =
                decode(&wire, Some(base), current.game_time, current.dominant).unwrap_or(*current);
            return (wire, decoded);
        }
    }
    let wire = WireOwnMotion {
        baseline: None,
        motion: WireMotion::Full {
            position: current.position.as_vec3().to_array(),
            velocity: current.velocity.as_vec3().to_array(),
        },
        attitude: Some(current.attitude),
        fuel: Some(current.fuel),
    };
    let decoded = decode(&wire, None, current.game_time, current.dominant).unwrap_or(*current);
    (wire, decoded)
}

/// Reconstructs the own ship; `None` when the wire needs a baseline that is missing.
pub fn decode(
    wire: &WireOwnMotion,
    baseline: Option<&OwnMotion>,
    game_time: f64,
    dominant: u8,
) -> Option<OwnMotion> {
    let (position, velocity) = match wire.motion {
        WireMotion::Full { position, velocity } => (
            DVec3::from_array(position.map(f64::from)),
            DVec3::from_array(velocity.map(f64::from)),
        ),
        WireMotion::Delta { position, velocity } => {
            let base = baseline?;
            let dt = game_time - base.game_time;
            (
                base.position + base.velocity * dt + dequantize(position, POSITION_UNIT),
                base.velocity + dequantize(velocity, VELOCITY_UNIT),
            )
        }
    };
    Some(OwnMotion {
        game_time,
        dominant,
        position,
        velocity,
        attitude: wire.attitude.or(baseline.map(|b| b.attitude))?,
        fuel: wire.fuel.or(baseline.map(|b| b.fuel))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leo(t: f64) -> OwnMotion {
        // A circular 400 km orbit: ω = v / r.
        let (r, v) = (6.771e6, 7_672.6);
        let w = v / r;
        OwnMotion {
            game_time: t,
            dominant: 3,
            position: DVec3::new(r * (w * t).cos(), r * (w * t).sin(), 0.0),
            velocity: DVec3::new(-v * (w * t).sin(), v * (w * t).cos(), 0.0),
            attitude: [0, 0, 0, 32767],
            fuel: 40_000,
        }
    }

    #[test]
    fn deltas_are_small_and_decode_to_within_their_resolution() {
        let (keyframe, mut client) = encode(&leo(0.0), None);
        assert_eq!(keyframe.baseline, None);
        let mut baseline_tick = 0;
        for step in 1..200u64 {
            let truth = leo(step as f64 * 0.05);
            let (wire, decoded) = encode(&truth, Some((baseline_tick, &client)));
            let bytes = postcard::to_stdvec(&wire).expect("encodes");
            assert!(bytes.len() <= 16, "delta of {} bytes", bytes.len());
            let received = decode(&wire, Some(&client), truth.game_time, truth.dominant)
                .expect("has baseline");
            assert_eq!(
                received, decoded,
                "client and server reconstruct the same state"
            );
            assert!(received.position.distance(truth.position) <= POSITION_UNIT);
            assert!(received.velocity.distance(truth.velocity) <= VELOCITY_UNIT);
            client = received;
            baseline_tick = step;
        }
    }

    #[test]
    fn a_missing_or_foreign_baseline_falls_back_to_a_keyframe() {
        let (_, client) = encode(&leo(0.0), None);
        let mut moved = leo(1.0);
        moved.dominant = 4;
        let (wire, _) = encode(&moved, Some((0, &client)));
        assert_eq!(wire.baseline, None, "dominant body changed");
        let (wire, _) = encode(&leo(1.0), Some((0, &client)));
        assert_eq!(
            decode(&wire, None, 1.0, 3),
            None,
            "a delta cannot decode without its baseline"
        );
    }
}
