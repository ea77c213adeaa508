//! Server configuration: the defaults compiled into the binary (the repository's
//! `config/galaxy.toml`), overridden by a config file (`GALAXY_CONFIG`, else
//! `config/galaxy.toml` under the working directory when there is one), then by
//! environment variables; validated before anything starts. The binary needs no
//! file to run.
//!
//! Any key can be overridden as `GALAXY_<SECTION>__<KEY>` (for example
//! `GALAXY_TICK__RATE_HZ=60`); the standard variables of the spec (`GALAXY_HTTP_ADDR`,
//! `DATABASE_URL`, …) map onto their keys. A bad value stops start-up with an error
//! that names the key.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use bevy_ecs::resource::Resource;
use galaxy_shared::physics::attitude::AttitudeSpec;
use galaxy_shared::physics::integrator::BodyIntegrator;
use galaxy_shared::physics::rocket::exhaust_velocity;
use glam::DVec3;
use serde::{Deserialize, Serialize};

/// Where the config file is looked for when `GALAXY_CONFIG` is not set.
pub const DEFAULT_CONFIG_PATH: &str = "config/galaxy.toml";

/// The defaults, compiled in: every key with its documented value.
pub const DEFAULTS: &str = include_str!("../../config/galaxy.toml");

/// Variables of the spec that map onto one config key each.
const STANDARD_VARIABLES: [(&str, &str); 5] = [
    ("GALAXY_HTTP_ADDR", "net.http_addr"),
    ("GALAXY_UDP_ADDR", "net.udp_addr"),
    ("GALAXY_WS_ADDR", "net.ws_addr"),
    ("GALAXY_PUBLIC_HOST", "net.public_host"),
    ("DATABASE_URL", "persistence.database_url"),
];

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file or an override is not valid TOML of the right shape.
    #[error("invalid config ({origin}): {message}")]
    Parse {
        /// The file, or the environment.
        origin: String,
        /// The parser's message, which names the key.
        message: String,
    },
    /// A value parsed but is out of range.
    #[error("invalid config key `{key}`: {reason}")]
    Invalid {
        /// Dotted key path, e.g. `tick.rate_hz`.
        key: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// The whole server configuration.
#[derive(Resource, Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Tick engine.
    pub tick: TickConfig,
    /// Integrators and the ephemeris.
    pub physics: PhysicsConfig,
    /// Ship defaults.
    pub ship: ShipConfig,
    /// Network addresses.
    pub net: NetConfig,
    /// Database and snapshots.
    pub persistence: PersistenceConfig,
    /// Accounts and tokens.
    pub auth: AuthConfig,
    /// The browser client's files.
    pub web: WebConfig,
    /// The Agones SDK, for fleets of universes.
    pub agones: AgonesConfig,
    /// The shared time warp policy.
    pub warp: WarpConfig,
}

/// `[warp]`: how players' warp requests and their ships set the shared clock
/// (docs/spec.md, "Shared time warp").
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WarpConfig {
    /// The most the clock runs at while a ship thrusts or an online ship is low
    /// and fast.
    pub safe_rate: f64,
    /// A ship within this height of a surface, faster than the landing speed, on a
    /// path that meets the surface, is low and fast (m).
    pub low_altitude_m: f64,
    /// A player who has changed nothing for this long stops counting (s).
    pub idle_after_s: f64,
    /// The clock speeds up only once the higher rate has held this long (real s);
    /// it slows down at once.
    pub raise_after_s: f64,
}

/// `[agones]`: telling an Agones sidecar (its REST port) that this game server is
/// ready, healthy and shutting down.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AgonesConfig {
    /// Whether to talk to the sidecar at all (only under Agones).
    pub enabled: bool,
    /// Seconds between health pings; under the GameServer's `health.periodSeconds`.
    pub health_interval_s: f64,
}

impl NetConfig {
    /// The UDP port native clients are told to send to.
    pub fn public_udp_port(&self) -> u16 {
        match self.public_udp_port {
            0 => self.udp_addr.port(),
            port => port,
        }
    }
}

/// `[web]`: the browser client the HTTP server serves.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WebConfig {
    /// Folder with the built client (`index.html` and its files).
    pub dir: PathBuf,
}

/// `[tick]`: the fixed-timestep engine.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TickConfig {
    /// Simulation ticks per real second.
    pub rate_hz: f64,
    /// Extra ticks one frame may run to catch up before the backlog is dropped.
    pub max_catchup_ticks: u32,
    /// The admin's time scale at start: the cap on players' warp requests, and the
    /// rate while no active player is online.
    pub time_scale: f64,
    /// Largest time scale an admin may set.
    pub max_time_scale: f64,
    /// Start paused.
    pub paused: bool,
    /// Start epoch, days since J2000 (TDB), used when no snapshot exists.
    pub start_epoch_days: f64,
}

/// `[physics]`: integrators and the ephemeris.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PhysicsConfig {
    /// The J2000 ephemeris: `bundled` (compiled in) or a JSON file of its shape.
    pub ephemeris: PathBuf,
    /// Scheme for the bodies.
    pub body_integrator: BodyIntegrator,
    /// Longest body step (s of game time).
    pub body_step_s: f64,
    /// Longest ship substep (s of game time).
    pub max_substep_s: f64,
    /// Add the Sun's 1PN correction to the bodies.
    pub relativity: bool,
    /// Ships feel the J2 of the body whose sphere of influence holds them.
    pub oblateness: bool,
    /// Let ships without thrust or rotation coast on Kepler arcs (see
    /// `galaxy_shared::physics::coast`) instead of taking every substep.
    pub coast: bool,
    /// Coasting steps per local orbital period.
    pub coast_steps_per_orbit: f64,
}

/// `[ship]`: the one ship type every player flies.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ShipConfig {
    /// Mass without propellant (kg).
    pub dry_mass_kg: f64,
    /// Tank size (kg).
    pub fuel_capacity_kg: f64,
    /// Main engine thrust along +Z (N).
    pub thrust_n: f64,
    /// Main engine specific impulse (s).
    pub isp_s: f64,
    /// Hull radius for the inertia model (m).
    pub radius_m: f64,
    /// Hull length for the inertia model (m).
    pub length_m: f64,
    /// Reaction wheel torque per axis (N·m).
    pub wheel_torque_nm: f64,
    /// Reaction wheel momentum storage per axis (N·m·s).
    pub wheel_capacity_nms: f64,
    /// RCS torque per axis (N·m).
    pub rcs_torque_nm: f64,
    /// RCS specific impulse (s).
    pub rcs_isp_s: f64,
    /// Fastest rotation hold modes command (rad/s).
    pub max_turn_rate_rad_s: f64,
    /// Fastest touchdown that counts as a landing (m/s).
    pub landing_speed_m_s: f64,
    /// Allow refuelling away from a surface.
    pub refuel_anywhere: bool,
    /// Body ships spawn around.
    pub spawn_body: String,
    /// Altitude of the circular spawn orbit (m).
    pub spawn_altitude_m: f64,
    /// Seed for spawn phases, so runs are reproducible.
    pub seed: u64,
}

/// `[net]`: addresses of the game and HTTP endpoints.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NetConfig {
    /// HTTP API and web client.
    pub http_addr: SocketAddr,
    /// Native clients' UDP game traffic.
    pub udp_addr: SocketAddr,
    /// Browser clients' WebSocket game traffic.
    pub ws_addr: SocketAddr,
    /// Host name or address put into connect tokens.
    pub public_host: String,
    /// UDP port put into connect tokens when a NAT or a cluster maps the socket to
    /// another one; 0: the port of `udp_addr`.
    pub public_udp_port: u16,
    /// WebSocket URL browsers are told to use (`wss://…` behind a TLS proxy); empty
    /// means `ws://public_host:<ws port>`.
    pub public_ws_url: String,
    /// Game-state sends per second to each client.
    pub state_rate_hz: f64,
    /// Budget of state bytes per second per client (own ship always goes).
    pub client_budget_bytes_per_s: f64,
    /// Other ships farther than this are not sent (m).
    pub interest_radius_m: f64,
    /// Most game clients at once.
    pub max_clients: usize,
    /// Connect tokens expire this long after login (s).
    pub token_expire_s: u64,
    /// A silent client is dropped after this long (s).
    pub client_timeout_s: i32,
    /// Bad messages a client may send in a row before it is disconnected.
    pub max_bad_messages: u32,
    /// Largest HTTP request body; longer ones are refused before they are read (bytes).
    pub max_http_body_bytes: usize,
}

/// `[auth]`: accounts, tokens and login throttling.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// Session (JWT) lifetime (s).
    pub session_lifetime_s: u64,
    /// JWT `iss`.
    pub issuer: String,
    /// JWT `aud`.
    pub audience: String,
    /// Failed logins per source (IPv4 address or IPv6 /64) per window, then the
    /// source is refused for one window.
    pub max_failures_per_address: u32,
    /// Failed logins from one source against one account before that pair backs off.
    pub max_failures_per_username: u32,
    /// Failed logins against one account per window from all sources, then only
    /// sources that logged in to it before are let through.
    pub max_failures_per_account: u32,
    /// Window of the failure counts, and the lockout of a source (s).
    pub throttle_window_s: u64,
    /// First backoff of a source and account pair, doubling per failure (s).
    pub backoff_base_s: u64,
    /// Longest backoff (s).
    pub backoff_max_s: u64,
    /// How long a successful login keeps its source known to the account (s).
    pub known_source_ttl_s: u64,
    /// Most keys in each throttle table; past it the least recently used is dropped.
    pub throttle_table_entries: usize,
    /// Registrations per source per registration window.
    pub max_registrations_per_address: u32,
    /// Window of the registration count (s).
    pub registration_window_s: u64,
    /// Peers (addresses or CIDR ranges) whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<String>,
}

impl AuthConfig {
    /// The trusted proxy ranges; a bare address is a range of one.
    pub fn trusted_proxy_ranges(&self) -> Result<Vec<ipnet::IpNet>, ConfigError> {
        self.trusted_proxies
            .iter()
            .map(|entry| {
                let entry = entry.trim();
                entry
                    .parse::<ipnet::IpNet>()
                    .or_else(|_| entry.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| {
                        invalid(
                            "auth.trusted_proxies",
                            format!("`{entry}` is neither an address nor a CIDR range"),
                        )
                    })
            })
            .collect()
    }
}

/// `[persistence]`: database and snapshots.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PersistenceConfig {
    /// `sqlite://file.db` or `postgres://…`.
    pub database_url: String,
    /// Real seconds between world snapshots.
    pub snapshot_interval_s: f64,
    /// Snapshots kept in the database.
    pub snapshots_kept: u32,
}

/// Ship parameters in the form the physics wants them.
#[derive(Resource, Clone, Copy, Debug, PartialEq)]
pub struct ShipSpec {
    /// Dry mass (kg).
    pub dry_mass: f64,
    /// Tank size (kg).
    pub fuel_capacity: f64,
    /// Main engine thrust (N).
    pub thrust: f64,
    /// Main engine exhaust velocity (m/s).
    pub exhaust_velocity: f64,
    /// Hull radius (m).
    pub radius: f64,
    /// Hull length (m).
    pub length: f64,
    /// Attitude actuators.
    pub attitude: AttitudeSpec,
    /// Fastest safe touchdown (m/s).
    pub landing_speed: f64,
}

impl ShipConfig {
    /// The physics view of this config.
    pub fn spec(&self) -> ShipSpec {
        ShipSpec {
            dry_mass: self.dry_mass_kg,
            fuel_capacity: self.fuel_capacity_kg,
            thrust: self.thrust_n,
            exhaust_velocity: exhaust_velocity(self.isp_s),
            radius: self.radius_m,
            length: self.length_m,
            attitude: AttitudeSpec {
                wheel_torque: self.wheel_torque_nm,
                wheel_capacity: self.wheel_capacity_nms,
                rcs_torque: self.rcs_torque_nm,
                rcs_exhaust_velocity: exhaust_velocity(self.rcs_isp_s),
                // RCS couples: pitch and yaw thrusters at the hull's ends, roll at its rim.
                rcs_lever: DVec3::new(self.length_m / 2.0, self.length_m / 2.0, self.radius_m),
                max_rate: self.max_turn_rate_rad_s,
            },
            landing_speed: self.landing_speed_m_s,
        }
    }
}

impl Config {
    /// The compiled-in defaults, overridden by the config file (the one
    /// `GALAXY_CONFIG` names, which must exist, else `config/galaxy.toml` if present)
    /// and the process environment; validated. Also says which file it read.
    pub fn load() -> Result<(Self, Option<PathBuf>), ConfigError> {
        let (path, required) = match std::env::var_os("GALAXY_CONFIG") {
            Some(path) => (PathBuf::from(path), true),
            None => (PathBuf::from(DEFAULT_CONFIG_PATH), false),
        };
        if !required && !path.exists() {
            return Ok((Self::parse("", "no config file", std::env::vars())?, None));
        }
        Ok((Self::load_from(&path, std::env::vars())?, Some(path)))
    }

    /// The effective configuration as TOML for `--print-config`, with the database
    /// password masked.
    pub fn to_redacted_toml(&self) -> String {
        let mut shown = self.clone();
        shown.persistence.database_url = redact_password(&shown.persistence.database_url);
        toml::to_string(&shown)
            .unwrap_or_else(|e| format!("# cannot show the configuration: {e}\n"))
    }

    /// The compiled-in defaults alone.
    pub fn defaults() -> Result<Self, ConfigError> {
        Self::parse("", "the compiled-in defaults", Vec::new())
    }

    /// The defaults overridden by `path`, then by `vars`; validated.
    pub fn load_from(
        path: &Path,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, &path.display().to_string(), vars)
    }

    /// The defaults overridden by TOML `text` (which may set any subset of the
    /// keys), then by `vars`; validated.
    pub fn parse(
        text: &str,
        origin: &str,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let parse = |text: &str, origin: &str| {
            text.parse::<toml::Table>().map_err(|e| ConfigError::Parse {
                origin: origin.to_owned(),
                message: e.to_string(),
            })
        };
        let mut table = parse(DEFAULTS, "the compiled-in defaults")?;
        merge(&mut table, parse(text, origin)?);
        for (name, value) in vars {
            if let Some(key) = override_key(&name) {
                set_key(&mut table, &key, &value)?;
            }
        }
        let config: Config =
            toml::Value::Table(table)
                .try_into()
                .map_err(|e: toml::de::Error| ConfigError::Parse {
                    origin: format!("{origin} with environment overrides"),
                    message: e.to_string(),
                })?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let t = &self.tick;
        let p = &self.physics;
        let s = &self.ship;
        positive("tick.rate_hz", t.rate_hz)?;
        range("tick.rate_hz", t.rate_hz, 1.0, 1000.0)?;
        range(
            "tick.max_catchup_ticks",
            f64::from(t.max_catchup_ticks),
            0.0,
            1000.0,
        )?;
        range("tick.max_time_scale", t.max_time_scale, 0.0, 1.0e7)?;
        range("tick.time_scale", t.time_scale, 0.0, t.max_time_scale)?;
        range(
            "tick.start_epoch_days",
            t.start_epoch_days,
            -36_525.0,
            36_525.0,
        )?;
        positive("physics.body_step_s", p.body_step_s)?;
        positive("physics.max_substep_s", p.max_substep_s)?;
        if !(p.coast_steps_per_orbit.is_finite() && (4.0..=1e4).contains(&p.coast_steps_per_orbit))
        {
            return Err(invalid(
                "physics.coast_steps_per_orbit",
                format!(
                    "must be between 4 and 10000, got {}",
                    p.coast_steps_per_orbit
                ),
            ));
        }
        for (key, value) in [
            ("ship.dry_mass_kg", s.dry_mass_kg),
            ("ship.thrust_n", s.thrust_n),
            ("ship.isp_s", s.isp_s),
            ("ship.radius_m", s.radius_m),
            ("ship.length_m", s.length_m),
            ("ship.rcs_isp_s", s.rcs_isp_s),
            ("ship.max_turn_rate_rad_s", s.max_turn_rate_rad_s),
            ("ship.landing_speed_m_s", s.landing_speed_m_s),
            ("ship.spawn_altitude_m", s.spawn_altitude_m),
            ("net.state_rate_hz", self.net.state_rate_hz),
            (
                "net.client_budget_bytes_per_s",
                self.net.client_budget_bytes_per_s,
            ),
            ("net.interest_radius_m", self.net.interest_radius_m),
            ("net.token_expire_s", self.net.token_expire_s as f64),
            ("net.client_timeout_s", f64::from(self.net.client_timeout_s)),
            ("net.max_clients", self.net.max_clients as f64),
            ("net.max_bad_messages", f64::from(self.net.max_bad_messages)),
            (
                "auth.session_lifetime_s",
                self.auth.session_lifetime_s as f64,
            ),
            (
                "auth.max_failures_per_address",
                f64::from(self.auth.max_failures_per_address),
            ),
            (
                "auth.max_failures_per_username",
                f64::from(self.auth.max_failures_per_username),
            ),
            ("auth.throttle_window_s", self.auth.throttle_window_s as f64),
            (
                "auth.max_failures_per_account",
                f64::from(self.auth.max_failures_per_account),
            ),
            ("auth.backoff_base_s", self.auth.backoff_base_s as f64),
            ("auth.backoff_max_s", self.auth.backoff_max_s as f64),
            (
                "auth.known_source_ttl_s",
                self.auth.known_source_ttl_s as f64,
            ),
            (
                "auth.throttle_table_entries",
                self.auth.throttle_table_entries as f64,
            ),
            (
                "auth.max_registrations_per_address",
                f64::from(self.auth.max_registrations_per_address),
            ),
            (
                "auth.registration_window_s",
                self.auth.registration_window_s as f64,
            ),
            (
                "net.max_http_body_bytes",
                self.net.max_http_body_bytes as f64,
            ),
            (
                "persistence.snapshot_interval_s",
                self.persistence.snapshot_interval_s,
            ),
            ("agones.health_interval_s", self.agones.health_interval_s),
            ("warp.safe_rate", self.warp.safe_rate),
            ("warp.idle_after_s", self.warp.idle_after_s),
        ] {
            positive(key, value)?;
        }
        range(
            "warp.safe_rate",
            self.warp.safe_rate,
            0.0,
            galaxy_shared::protocol::MAX_WARP_REQUEST,
        )?;
        for (key, value) in [
            ("ship.fuel_capacity_kg", s.fuel_capacity_kg),
            ("ship.wheel_torque_nm", s.wheel_torque_nm),
            ("ship.wheel_capacity_nms", s.wheel_capacity_nms),
            ("ship.rcs_torque_nm", s.rcs_torque_nm),
            ("warp.low_altitude_m", self.warp.low_altitude_m),
            ("warp.raise_after_s", self.warp.raise_after_s),
        ] {
            range(key, value, 0.0, f64::MAX)?;
        }
        let url = &self.persistence.database_url;
        if !(url.starts_with("sqlite:")
            || url.starts_with("postgres://")
            || url.starts_with("postgresql://"))
        {
            return Err(invalid(
                "persistence.database_url",
                format!("`{url}` is neither sqlite: nor postgres://"),
            ));
        }
        self.auth.trusted_proxy_ranges()?;
        let ws_url = self.net.public_ws_url.trim();
        if !(ws_url.is_empty() || ws_url.starts_with("ws://") || ws_url.starts_with("wss://")) {
            return Err(invalid(
                "net.public_ws_url",
                format!("`{ws_url}` is neither empty nor a ws:// or wss:// URL"),
            ));
        }
        if self.net.public_host.trim().is_empty() {
            return Err(invalid("net.public_host", "must not be empty".into()));
        }
        Ok(())
    }

    /// Real seconds per tick.
    pub fn tick_period(&self) -> f64 {
        1.0 / self.tick.rate_hz
    }
}

/// `scheme://user:secret@host/...` with the secret replaced by `***`.
fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

/// Lays `over` onto `base`, table by table, so a file sets only the keys it names.
fn merge(base: &mut toml::Table, over: toml::Table) {
    for (key, value) in over {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(inner)), toml::Value::Table(value)) => merge(inner, value),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

/// The dotted key an environment variable overrides, if it is one of ours.
fn override_key(name: &str) -> Option<String> {
    if let Some((_, key)) = STANDARD_VARIABLES.iter().find(|(var, _)| *var == name) {
        return Some((*key).to_owned());
    }
    let rest = name.strip_prefix("GALAXY_")?;
    let (section, key) = rest.split_once("__")?;
    Some(format!("{}.{}", section.to_lowercase(), key.to_lowercase()))
}

/// Sets `section.key` to `raw`, read as a TOML value where it is one (numbers,
/// booleans) and as a string otherwise.
fn set_key(table: &mut toml::Table, key: &str, raw: &str) -> Result<(), ConfigError> {
    let Some((section, field)) = key.split_once('.') else {
        return Err(invalid(key, "expected SECTION__KEY".into()));
    };
    let value = format!("v = {raw}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(raw.to_owned()));
    let entry = table
        .entry(section.to_owned())
        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    let Some(section_table) = entry.as_table_mut() else {
        return Err(invalid(key, format!("`{section}` is not a section")));
    };
    section_table.insert(field.to_owned(), value);
    Ok(())
}

fn invalid(key: &str, reason: String) -> ConfigError {
    ConfigError::Invalid {
        key: key.to_owned(),
        reason,
    }
}

fn positive(key: &str, value: f64) -> Result<(), ConfigError> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(invalid(
            key,
            format!("must be a positive number, got {value}"),
        ))
    }
}

fn range(key: &str, value: f64, low: f64, high: f64) -> Result<(), ConfigError> {
    if value.is_finite() && (low..=high).contains(&value) {
        Ok(())
    } else {
        Err(invalid(
            key,
            format!("must be within {low}..={high}, got {value}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn default_text() -> String {
        DEFAULTS.to_owned()
    }

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn shipped_file_holds_the_spec_defaults() {
        let config = Config::parse(&default_text(), "galaxy.toml", vec![]).expect("valid");
        assert_eq!(config.tick.rate_hz, 30.0);
        assert_eq!(config.tick.max_catchup_ticks, 5);
        assert_eq!(config.physics.max_substep_s, 1.0);
        assert_eq!(config.ship.thrust_n, 500_000.0);
        assert_eq!(config.ship.spawn_altitude_m, 400_000.0);
        assert_eq!(config.net.udp_addr.port(), 5000);
        assert_eq!(config.persistence.database_url, "sqlite://galaxy.db");
    }

    #[test]
    fn environment_overrides_the_file() {
        let config = Config::parse(
            &default_text(),
            "galaxy.toml",
            vars(&[
                ("GALAXY_TICK__RATE_HZ", "60"),
                ("GALAXY_PHYSICS__RELATIVITY", "false"),
                ("DATABASE_URL", "postgres://postgres@127.0.0.1/test"),
                ("GALAXY_UDP_ADDR", "127.0.0.1:7000"),
                ("UNRELATED", "x"),
            ]),
        )
        .expect("valid");
        assert_eq!(config.tick.rate_hz, 60.0);
        assert!(!config.physics.relativity);
        assert_eq!(
            config.persistence.database_url,
            "postgres://postgres@127.0.0.1/test"
        );
        assert_eq!(config.net.udp_addr.port(), 7000);
    }

    #[test]
    fn bad_values_name_their_key() {
        let cases = [
            ("GALAXY_TICK__RATE_HZ", "0", "tick.rate_hz"),
            ("GALAXY_TICK__RATE_HZ", "fast", "rate_hz"),
            ("GALAXY_SHIP__ISP_S", "-3", "ship.isp_s"),
            ("GALAXY_UDP_ADDR", "nowhere", "udp_addr"),
            ("GALAXY_TICK__WARP", "2", "warp"),
            ("DATABASE_URL", "mysql://x", "persistence.database_url"),
        ];
        for (var, value, key) in cases {
            let error = Config::parse(&default_text(), "galaxy.toml", vars(&[(var, value)]))
                .expect_err("must be refused");
            assert!(
                error.to_string().contains(key),
                "{var}={value}: `{error}` does not name {key}"
            );
        }
    }

    #[test]
    fn a_file_overrides_only_the_keys_it_names() {
        let config =
            Config::parse("[tick]\nrate_hz = 20.0\n", "small.toml", vec![]).expect("valid");
        assert_eq!(config.tick.rate_hz, 20.0);
        assert_eq!(config.tick.max_catchup_ticks, 5, "the rest stays default");
        assert_eq!(config, {
            let mut expected = Config::defaults().expect("defaults");
            expected.tick.rate_hz = 20.0;
            expected
        });
        let error = Config::parse("[tick]\nrate = 20.0\n", "typo.toml", vec![])
            .expect_err("an unknown key is refused");
        assert!(error.to_string().contains("rate"), "{error}");
        assert!(error.to_string().contains("typo.toml"), "{error}");
    }

    #[test]
    fn the_printed_configuration_reads_back_the_same_without_the_password() {
        let config = Config::parse(
            "",
            "none",
            vars(&[(
                "DATABASE_URL",
                "postgres://galaxy:hunter22@db:5432/galaxy?sslmode=require",
            )]),
        )
        .expect("valid");
        let printed = config.to_redacted_toml();
        assert!(!printed.contains("hunter22"), "{printed}");
        assert!(printed.contains("postgres://galaxy:***@db:5432/galaxy?sslmode=require"));
        let mut again = Config::parse(&printed, "printed", vec![]).expect("reads back");
        again.persistence.database_url = config.persistence.database_url.clone();
        assert_eq!(again, config);
        assert_eq!(redact_password("sqlite://galaxy.db"), "sqlite://galaxy.db");
    }

    #[test]
    fn broken_toml_is_refused_with_the_file_name() {
        let error = Config::parse("[tick\nrate_hz = 1", "broken.toml", vec![]).expect_err("broken");
        assert!(error.to_string().contains("broken.toml"), "{error}");
    }
}
