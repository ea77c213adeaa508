//! A snapshot row's blob, decoded and validated as restore does. The first byte
//! chooses: the input as a whole blob (header, checksum and all), or as a payload
//! wrapped in a valid header so the postcard decoder and the validation see it.
#![no_main]

use galaxy_formats::snapshot::{FORMAT_VERSION, Limits, WorldSnapshot, checksum};
use libfuzzer_sys::fuzz_target;

const LIMITS: Limits = Limits {
    max_time_scale: 100_000.0,
    fuel_capacity: 40_000.0,
};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let blob = if mode & 1 == 0 {
        rest.to_vec()
    } else {
        let mut blob = b"GXSNAP\0\0".to_vec();
        blob.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        blob.extend_from_slice(&(rest.len() as u64).to_le_bytes());
        blob.extend_from_slice(&checksum(rest).to_le_bytes());
        blob.extend_from_slice(rest);
        blob
    };
    if let Ok(snapshot) = WorldSnapshot::decode(&blob) {
        let _ = snapshot.validate(&LIMITS);
    }
});
