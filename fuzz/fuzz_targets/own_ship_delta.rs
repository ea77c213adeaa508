//! A server message as a client decodes it, and the own-ship delta inside a state,
//! with and without a baseline.
#![no_main]

use galaxy_shared::delta::{self, OwnMotion};
use galaxy_shared::protocol::{MAX_SERVER_MESSAGE, ServerMessage, decode};
use glam::DVec3;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(ServerMessage::State(state)) = decode::<ServerMessage>(data, MAX_SERVER_MESSAGE) else {
        return;
    };
    let baseline = OwnMotion {
        game_time: 1.0e8,
        dominant: 3,
        position: DVec3::new(6.771e6, 0.0, 0.0),
        velocity: DVec3::new(0.0, 7_672.6, 0.0),
        attitude: [0, 0, 0, i16::MAX],
        fuel: u16::MAX,
    };
    let own = &state.own;
    let _ = delta::decode(&own.motion, None, state.game_time, own.dominant);
    let _ = delta::decode(&own.motion, Some(&baseline), state.game_time, own.dominant);
});
