//! Agones: a game server in a fleet tells its SDK sidecar when it can take players
//! (`Ready`), keeps saying it is well (`Health`), and says when it stops
//! (`Shutdown`). The sidecar's REST API on localhost (port `AGONES_SDK_HTTP_PORT`,
//! 9358 by default) keeps the gRPC crates out of the build.
//!
//! Before start-up the server reads its GameServer record (`GET /gameserver`): the
//! node's address and the host ports Agones mapped to the game ports become the
//! addresses put into connect tokens and the WebSocket URL given to browsers.
//!
//! `Ready` goes once the simulation has ticked, which is after the database, the
//! HTTP API and the game sockets are all up. `Health` goes only while the
//! simulation ticks and the database answers, so a stuck server is restarted by
//! Agones rather than kept in the fleet.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bevy::log::{info, warn};

use serde_json::Value;

use crate::bridge::Health;
use crate::config::{AgonesConfig, Config};

/// Name of the UDP game port in the GameServer spec (`deploy/agones/`).
pub const UDP_PORT_NAME: &str = "game-udp";
/// Name of the WebSocket game port.
pub const WS_PORT_NAME: &str = "game-ws";
/// Longest host name DNS allows.
const MAX_HOST: usize = 253;

/// The sidecar's REST port when Agones does not say.
const DEFAULT_PORT: u16 = 9358;
/// How long one call may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(2);

/// The SDK's REST client.
#[derive(Clone)]
pub struct Sdk {
    base: String,
    agent: ureq::Agent,
}

impl Sdk {
    /// The sidecar at `AGONES_SDK_HTTP_PORT` on localhost.
    pub fn from_env() -> Result<Self, String> {
        let port = match std::env::var("AGONES_SDK_HTTP_PORT") {
            Ok(text) => text
                .trim()
                .parse::<u16>()
                .map_err(|_| format!("AGONES_SDK_HTTP_PORT is not a port: {text:?}"))?,
            Err(_) => DEFAULT_PORT,
        };
        Ok(Self::at(&format!("http://127.0.0.1:{port}")))
    }

    /// The sidecar at `base` (`http://host:port`).
    pub fn at(base: &str) -> Self {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(CALL_TIMEOUT))
            .build()
            .new_agent();
        Self {
            base: base.trim_end_matches('/').to_owned(),
            agent,
        }
    }

    /// The GameServer record (`GET /gameserver`).
    pub fn game_server(&self) -> Result<Value, String> {
        self.agent
            .get(&format!("{}/gameserver", self.base))
            .call()
            .map_err(|e| format!("Agones gameserver: {e}"))?
            .body_mut()
            .read_json::<Value>()
            .map_err(|e| format!("Agones gameserver: not JSON: {e}"))
    }

    /// `POST /{call}` with an empty JSON object, as the SDK's REST API takes.
    fn call(&self, call: &str) -> Result<(), String> {
        self.agent
            .post(&format!("{}/{call}", self.base))
            .header("content-type", "application/json")
            .send("{}")
            .map(drop)
            .map_err(|e| format!("Agones {call}: {e}"))
    }
}

/// Where players reach this game server, as its GameServer record says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Published {
    /// The node's address.
    pub address: String,
    /// The host port mapped to the UDP game port.
    pub udp_port: u16,
    /// The host port mapped to the WebSocket game port.
    pub ws_port: u16,
}

/// Reads `status.address` and the mapped ports from a GameServer record (untrusted
/// input: every field is checked).
pub fn published(record: &Value) -> Result<Published, String> {
    let status = &record["status"];
    let address = status["address"]
        .as_str()
        .map(str::trim)
        .filter(|a| !a.is_empty() && a.len() <= MAX_HOST)
        .filter(|a| {
            a.chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-:".contains(c))
        })
        .ok_or("the GameServer has no usable status.address yet")?
        .to_owned();
    let port = |name: &str| {
        status["ports"]
            .as_array()
            .and_then(|ports| ports.iter().find(|p| p["name"] == name))
            .and_then(|p| p["port"].as_u64())
            .and_then(|p| u16::try_from(p).ok())
            .filter(|&p| p > 0)
            .ok_or_else(|| format!("the GameServer has no port named {name}"))
    };
    Ok(Published {
        address,
        udp_port: port(UDP_PORT_NAME)?,
        ws_port: port(WS_PORT_NAME)?,
    })
}

/// Under Agones, points the connect tokens and the browsers' WebSocket URL at the
/// node's address and mapped ports (a `net.public_ws_url` set by the operator, for
/// a TLS proxy, is kept). Retries while the record has no address yet.
pub fn publish_game_server(config: &mut Config) -> Result<(), String> {
    if !config.agones.enabled {
        return Ok(());
    }
    let sdk = Sdk::from_env()?;
    let mut last = String::new();
    for _ in 0..30 {
        match sdk.game_server().and_then(|record| published(&record)) {
            Ok(found) => {
                info!(address = %found.address, udp = found.udp_port, websocket = found.ws_port,
                    "Agones: publishing the GameServer's address");
                let host = if found.address.contains(':') {
                    format!("[{}]", found.address)
                } else {
                    found.address.clone()
                };
                if config.net.public_ws_url.trim().is_empty() {
                    config.net.public_ws_url = format!("ws://{host}:{}", found.ws_port);
                }
                config.net.public_host = found.address;
                config.net.public_udp_port = found.udp_port;
                return Ok(());
            }
            Err(error) => last = error,
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    Err(format!(
        "cannot read this game server's address from Agones: {last}"
    ))
}

/// The thread that talks to the sidecar while the server runs.
pub struct Agones {
    sdk: Sdk,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Agones {
    /// Starts telling the sidecar about `health`, if `config` enables Agones.
    pub fn start(config: &AgonesConfig, health: Arc<Health>) -> Result<Option<Self>, String> {
        if !config.enabled {
            return Ok(None);
        }
        let sdk = Sdk::from_env()?;
        let stop = Arc::new(AtomicBool::new(false));
        let interval = Duration::from_secs_f64(config.health_interval_s);
        let (thread_sdk, thread_stop) = (sdk.clone(), stop.clone());
        let thread = std::thread::Builder::new()
            .name("galaxy-agones".into())
            .spawn(move || report(&thread_sdk, &health, &thread_stop, interval))
            .map_err(|e| format!("cannot start the Agones thread: {e}"))?;
        info!(sidecar = %sdk.base, "Agones SDK enabled");
        Ok(Some(Self {
            sdk,
            stop,
            thread: Some(thread),
        }))
    }

    /// Stops the health pings and tells the sidecar the server is shutting down.
    pub fn shut_down(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        match self.sdk.call("shutdown") {
            Ok(()) => info!("told Agones: shutdown"),
            Err(error) => warn!(%error, "cannot tell Agones about the shutdown"),
        }
    }
}

/// `Ready` once the simulation ticks, then `Health` every `interval` while it
/// ticks and the database answers.
fn report(sdk: &Sdk, health: &Health, stop: &AtomicBool, interval: Duration) {
    let mut ready = false;
    let mut last_failure: Option<String> = None;
    while !stop.load(Ordering::Relaxed) {
        let well = health.simulation_up() && health.database_up();
        if !ready && well {
            match sdk.call("ready") {
                Ok(()) => {
                    ready = true;
                    info!("told Agones: ready");
                }
                Err(error) => note_failure(&mut last_failure, error),
            }
        }
        if ready && well {
            match sdk.call("health") {
                Ok(()) => last_failure = None,
                Err(error) => note_failure(&mut last_failure, error),
            }
        }
        sleep_unless_stopped(stop, interval);
    }
}

/// Logs a failure once, not once per ping.
fn note_failure(last: &mut Option<String>, error: String) {
    if last.as_deref() != Some(error.as_str()) {
        warn!(%error, "the Agones sidecar did not answer");
        *last = Some(error);
    }
}

fn sleep_unless_stopped(stop: &AtomicBool, total: Duration) {
    let step = Duration::from_millis(50);
    let until = Instant::now() + total;
    while !stop.load(Ordering::Relaxed) && Instant::now() < until {
        std::thread::sleep(step.min(until.saturating_duration_since(Instant::now())));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(address: &str, ports: Value) -> Value {
        json!({ "status": { "state": "Scheduled", "address": address, "ports": ports } })
    }

    #[test]
    fn the_published_address_and_ports_come_from_the_record() {
        let ports = json!([
            { "name": "http", "port": 7001 },
            { "name": "game-udp", "port": 7002 },
            { "name": "game-ws", "port": 7003 }
        ]);
        assert_eq!(
            published(&record("203.0.113.7", ports)),
            Ok(Published {
                address: "203.0.113.7".into(),
                udp_port: 7002,
                ws_port: 7003
            })
        );
    }

    #[test]
    fn bad_records_are_refused_with_a_reason() {
        let good_ports =
            json!([{ "name": "game-udp", "port": 1 }, { "name": "game-ws", "port": 2 }]);
        assert!(
            published(&record("", good_ports.clone())).is_err(),
            "no address yet"
        );
        assert!(published(&record("evil/../host", good_ports.clone())).is_err());
        assert!(published(&record(&"a".repeat(300), good_ports)).is_err());
        let bad_port =
            json!([{ "name": "game-udp", "port": 70000 }, { "name": "game-ws", "port": 2 }]);
        assert!(published(&record("10.0.0.1", bad_port)).is_err());
        let missing = json!([{ "name": "game-udp", "port": 5 }]);
        assert!(published(&record("10.0.0.1", missing)).is_err());
        assert!(published(&json!("not a record")).is_err());
    }
}
