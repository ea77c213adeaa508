//! End-to-end harness: finds and runs the real `galaxy-server` binary and reads
//! the JPL DE421 truth states the tests compare it with.

pub mod bot;
pub mod browser;
pub mod hostile;
pub mod picture;
pub mod server;
pub mod ws_socket;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use serde::Deserialize;

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate lives inside the repository")
        .to_path_buf()
}

/// Path of the `galaxy-server` binary next to the running test, brought up to date
/// once per test process (`cargo test -p galaxy_tests` alone would not rebuild it).
pub fn server_binary() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let status = Command::new(env!("CARGO"))
                .args([
                    "build",
                    "--quiet",
                    "-p",
                    "galaxy_server",
                    "--bin",
                    "galaxy-server",
                ])
                .current_dir(repo_root())
                .status()
                .expect("cargo runs");
            assert!(status.success(), "building galaxy-server failed");
            let exe = std::env::current_exe().expect("test binary has a path");
            let profile_dir = exe
                .parent()
                .and_then(Path::parent)
                .expect("test binaries live in target/<profile>/deps");
            profile_dir.join(format!("galaxy-server{}", std::env::consts::EXE_SUFFIX))
        })
        .clone()
}

/// A `galaxy-server` command with a clean environment (no inherited `GALAXY_*`
/// overrides), run outside the repository as an installed binary is: it needs no
/// config file or ephemeris beside it.
pub fn server_command() -> Command {
    let mut command = Command::new(server_binary());
    command.current_dir(std::env::temp_dir());
    for (name, _) in std::env::vars() {
        if name.starts_with("GALAXY_") || name == "DATABASE_URL" {
            command.env_remove(name);
        }
    }
    command
}

/// Runs `galaxy-server simulate … --json` with extra environment and returns the
/// parsed report; panics with the server's stderr if it fails.
pub fn simulate(args: &[&str], env: &[(&str, &str)]) -> SimulateReport {
    let mut command = server_command();
    command.arg("simulate").args(args).arg("--json");
    for (k, v) in env {
        command.env(k, v);
    }
    let output = command.output().expect("galaxy-server starts");
    assert!(
        output.status.success(),
        "simulate failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "simulate printed no valid report ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

/// Runs `galaxy-server` with `args` and `env`, returning its output.
pub fn run_server(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = server_command();
    command.args(args);
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().expect("galaxy-server starts")
}

/// The report `simulate --json` prints.
#[derive(Clone, Debug, Deserialize)]
pub struct SimulateReport {
    /// TDB seconds since J2000.
    pub game_time_s: f64,
    /// Wall-clock seconds.
    pub wall_s: f64,
    /// Ship substeps.
    pub steps: u64,
    /// Relative energy drift of the bodies.
    pub energy_rel_drift: f64,
    /// Final body states.
    pub bodies: Vec<BodyState>,
    /// Ships simulated.
    pub ships: usize,
    /// Ships still flying.
    pub ships_flying: usize,
    /// Final states of the `--ships-file` ships, in order.
    pub ship_states: Vec<ShipEnd>,
}

/// A `--ships-file` ship at the end of a simulation.
#[derive(Clone, Debug, Deserialize)]
pub struct ShipEnd {
    /// Barycentric position (m).
    pub position_m: [f64; 3],
    /// Barycentric velocity (m/s).
    pub velocity_m_s: [f64; 3],
    /// Propellant left (kg).
    pub fuel_kg: f64,
    /// `flying`, `landed` or `destroyed`.
    pub flight: String,
    /// Burns the executor finished.
    pub burns: Vec<BurnReport>,
}

/// One burn the executor finished.
#[derive(Clone, Copy, Debug, Deserialize)]
pub struct BurnReport {
    /// Planned delta-v (m/s, ICRF).
    pub planned_m_s: [f64; 3],
    /// Achieved delta-v (m/s, ICRF).
    pub achieved_m_s: [f64; 3],
    /// Left at cutoff (m/s).
    pub left_m_s: f64,
}

/// One body's (or ship's) barycentric ICRF state.
#[derive(Clone, Debug, Deserialize)]
pub struct BodyState {
    /// Name (empty for a ship).
    #[serde(default)]
    pub name: String,
    /// Position (m).
    pub position_m: [f64; 3],
    /// Velocity (m/s).
    pub velocity_m_s: [f64; 3],
}

impl SimulateReport {
    /// The named body.
    pub fn body(&self, name: &str) -> &BodyState {
        self.bodies
            .iter()
            .find(|b| b.name == name)
            .unwrap_or_else(|| panic!("no body {name} in the report"))
    }
}

/// DE421 states at several epochs, made by `tools/gen_ephemeris.py`.
#[derive(Clone, Debug, Deserialize)]
pub struct Truth {
    /// The epochs.
    pub epochs: Vec<TruthEpoch>,
}

/// All bodies at one epoch.
#[derive(Clone, Debug, Deserialize)]
pub struct TruthEpoch {
    /// Days since J2000 (TDB).
    pub days_since_j2000: f64,
    /// States.
    pub bodies: Vec<BodyState>,
}

impl Truth {
    /// Loads `tests/fixtures/de421-truth.json`.
    pub fn load() -> Self {
        let path = repo_root().join("tests/fixtures/de421-truth.json");
        let text = std::fs::read_to_string(&path).expect("fixture exists");
        serde_json::from_str(&text).expect("fixture parses")
    }

    /// The body `name` at `days` since J2000.
    pub fn at(&self, days: f64, name: &str) -> &BodyState {
        self.epochs
            .iter()
            .find(|e| (e.days_since_j2000 - days).abs() < 1e-9)
            .and_then(|e| e.bodies.iter().find(|b| b.name == name))
            .unwrap_or_else(|| panic!("fixture has no {name} at {days} d"))
    }
}

/// Distance between two points (m).
pub fn distance(a: [f64; 3], b: [f64; 3]) -> f64 {
    a.iter()
        .zip(&b)
        .map(|(x, y)| (x - y) * (x - y))
        .sum::<f64>()
        .sqrt()
}
