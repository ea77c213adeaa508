//! A client protocol message, as the server decodes and validates every one.
#![no_main]

use galaxy_shared::protocol::{ClientMessage, MAX_CLIENT_MESSAGE, decode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(message) = decode::<ClientMessage>(data, MAX_CLIENT_MESSAGE) {
        let _ = message.validate();
    }
});
