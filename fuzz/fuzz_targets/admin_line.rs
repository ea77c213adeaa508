//! An admin line, through the one grammar the console and the HTTP API share.
#![no_main]

use galaxy_shared::admin::AdminCommand;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(line) = std::str::from_utf8(data) {
        let _ = AdminCommand::parse(line);
    }
});
