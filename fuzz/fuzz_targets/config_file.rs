//! The config file and its environment overrides: the text up to the first NUL is
//! the file, every line after it a `NAME=value` variable.
#![no_main]

use galaxy_formats::config::Config;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (file, env) = text.split_once('\0').unwrap_or((text, ""));
    let vars = env
        .lines()
        .filter_map(|line| line.split_once('='))
        .map(|(name, value)| (name.to_owned(), value.to_owned()));
    if let Ok(config) = Config::parse(file, "fuzz.toml", vars) {
        let _ = config.auth.trusted_proxy_ranges();
    }
});
