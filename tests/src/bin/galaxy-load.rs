//! `galaxy-load`: many bot players against a running server, reporting what an
//! operator cares about: bandwidth per client, tick duration under load, server
//! memory, and whether anyone was dropped. With `--restart` it then kills the server
//! with SIGKILL right after a snapshot, starts it again, logs every bot in again and
//! checks each got its own ship back where the snapshot left it.
//!
//! `scripts/bench-net.sh` and `scripts/soak.sh` start a release server and run this;
//! see the README.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use galaxy_shared::components::HoldMode;
use galaxy_shared::delta::OwnMotion;
use galaxy_shared::protocol::WireControls;
use galaxy_tests::bot::{Bot, Login, Transport};
use serde_json::{Value, json};

/// Load generator for a Galaxy server.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Base URL of the server's HTTP API.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    http: String,
    /// Bot players to connect.
    #[arg(long, default_value_t = 200)]
    bots: usize,
    /// Seconds to measure once everyone is connected.
    #[arg(long, default_value_t = 60.0)]
    seconds: f64,
    /// Every n-th bot uses the WebSocket transport (0: none).
    #[arg(long, default_value_t = 4)]
    websocket_every: usize,
    /// Threads driving the bots.
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Account name prefix.
    #[arg(long, default_value = "load")]
    prefix: String,
    /// The server's process id: its resident memory is reported at the start and the
    /// end, and `--restart` kills it.
    #[arg(long)]
    server_pid: Option<u32>,
    /// An admin account as `name:password`, to read the server's tick history (the
    /// p99 of every 10 s of the run).
    #[arg(long)]
    admin: Option<String>,
    /// After the run: SIGKILL the server once a snapshot has been written, run this
    /// shell command to start it again, and check every bot's ship (needs
    /// `--server-pid`).
    #[arg(long)]
    restart: Option<String>,
}

const PASSWORD: &str = "load-test-password";
/// How often each bot sends its input, like a real client (s).
const INPUT_PERIOD: Duration = Duration::from_millis(50);
/// Longest wait for a restarted server, or for everyone to be welcomed again.
const RESTART_TIMEOUT: Duration = Duration::from_secs(120);

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(report) => {
            println!(
                "{}",
                serde_json::to_string_pretty(&report).unwrap_or_default()
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("galaxy-load: {error}");
            ExitCode::from(1)
        }
    }
}

fn run(args: &Args) -> Result<Value, String> {
    let logins = log_in_everyone(args)?;
    let admin_token = args
        .admin
        .as_deref()
        .map(|account| {
            let (name, password) = account
                .split_once(':')
                .ok_or("--admin takes name:password")?;
            Login::request(&args.http, name, password).map(|login| login.token)
        })
        .transpose()?;
    let threads = args.threads.max(1);
    let mut groups: Vec<Vec<(usize, Login)>> = (0..threads).map(|_| Vec::new()).collect();
    for (i, login) in logins.iter().cloned().enumerate() {
        groups[i % threads].push((i, login));
    }
    let measuring = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = groups
        .into_iter()
        .map(|group| {
            let (measuring, stop, every) = (measuring.clone(), stop.clone(), args.websocket_every);
            std::thread::spawn(move || drive(group, every, &measuring, &stop))
        })
        .collect();
    // Wait for everyone to be welcomed, then measure.
    std::thread::sleep(Duration::from_secs(5));
    let before = scrape(&args.http)?;
    let memory_start = args.server_pid.and_then(resident_bytes);
    let started = Instant::now();
    let unix_start = unix_now();
    measuring.store(true, Ordering::Relaxed);
    std::thread::sleep(Duration::from_secs_f64(args.seconds));
    let after = scrape(&args.http)?;
    let memory_end = args.server_pid.and_then(resident_bytes);
    let elapsed = started.elapsed().as_secs_f64();
    let history = admin_token
        .as_deref()
        .map(|token| tick_history(&args.http, token, unix_start))
        .transpose()?;
    // The bots keep flying until a snapshot holds their ships, so the world the
    // restart restores is one they were in.
    let snapshot = args.restart.as_ref().map(|_| wait_for_snapshot(&args.http));
    stop.store(true, Ordering::Relaxed);
    let mut outcomes = Vec::new();
    for worker in workers {
        outcomes.extend(
            worker
                .join()
                .map_err(|_| "a bot thread panicked".to_owned())??,
        );
    }
    let mut report = load_report(&outcomes, &before, &after, elapsed);
    report["server_memory_mb_start"] = json!(memory_start.map(megabytes));
    report["server_memory_mb_end"] = json!(memory_end.map(megabytes));
    if let Some(history) = history {
        report["tick_history"] = history;
    }
    if let (Some(command), Some(pid), Some(snapshot)) = (&args.restart, args.server_pid, snapshot) {
        report["restart"] = snapshot
            .and_then(|()| restart_and_check(args, command, pid, &outcomes))
            .unwrap_or_else(|error| json!({ "error": error }));
    }
    Ok(report)
}

/// The numbers of the measured window.
fn load_report(outcomes: &[Outcome], before: &Scrape, after: &Scrape, elapsed: f64) -> Value {
    let welcomed = outcomes.iter().filter(|o| o.welcomed).count();
    let dropped = outcomes.iter().filter(|o| o.disconnected).count();
    let states: f64 = outcomes.iter().map(|o| o.states as f64).sum();
    let seen: f64 = outcomes.iter().map(|o| o.ships_seen as f64).sum();
    let updates: f64 = outcomes.iter().map(|o| o.ship_updates as f64).sum();
    let others = (outcomes.len().max(2) - 1) as f64;
    let bots = outcomes.len().max(1) as f64;
    let delta = |name: &str| after.get(name) - before.get(name);
    let sent = delta(r#"galaxy_net_bytes_total{direction="out"}"#);
    json!({
        "bots": outcomes.len(),
        "welcomed": welcomed,
        "unexpected_disconnects": dropped,
        "seconds": elapsed,
        "server_bytes_per_client_per_s": sent / bots / elapsed,
        "states_per_bot_per_s": states / bots / elapsed,
        "other_ships_seen_per_bot": seen / bots,
        "other_ship_updates_per_bot_per_s": updates / bots / elapsed,
        "seconds_between_updates_of_each_other_ship": others / (updates / bots / elapsed).max(1e-9),
        "tick_p99_bucket_ms": tick_p99_bucket(before, after).map(|s| s * 1e3),
        "tick_overruns": delta("galaxy_tick_overruns_total"),
        "ticks_dropped": delta("galaxy_ticks_dropped_total"),
        "ticks": delta("galaxy_ticks_total"),
        "clients_on_server": after.get("galaxy_players_online"),
    })
}

/// Registers and logs in every bot, a few at a time (password hashing is the cost).
fn log_in_everyone(args: &Args) -> Result<Vec<Login>, String> {
    let names: Vec<String> = (0..args.bots)
        .map(|i| format!("{}{i}", args.prefix))
        .collect();
    in_parallel(&names, |name| {
        Login::register_and_login(&args.http, name, PASSWORD)
    })
}

/// Runs `work` over `items` on four threads, keeping the order.
fn in_parallel<T: Sync, R: Send>(
    items: &[T],
    work: impl Fn(&T) -> Result<R, String> + Sync,
) -> Result<Vec<R>, String> {
    let chunk = items.len().div_ceil(4).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|chunk| scope.spawn(|| chunk.iter().map(&work).collect::<Result<Vec<_>, _>>()))
            .collect();
        let mut results = Vec::new();
        for handle in handles {
            results.extend(
                handle
                    .join()
                    .map_err(|_| "a thread panicked".to_owned())??,
            );
        }
        Ok(results)
    })
}

struct Outcome {
    welcomed: bool,
    disconnected: bool,
    states: u64,
    ship_updates: u64,
    ships_seen: usize,
    /// The bot's index, for its account name.
    index: usize,
    /// The own ship in the last state, and its dominant body's GM.
    last: Option<(OwnMotion, f64)>,
}

/// Bot `index`'s transport: every `websocket_every`-th on WebSocket (0: none).
fn transport_of(index: usize, websocket_every: usize) -> Transport {
    if websocket_every > 0 && index.is_multiple_of(websocket_every) {
        Transport::WebSocket
    } else {
        Transport::Udp
    }
}

fn drive(
    group: Vec<(usize, Login)>,
    websocket_every: usize,
    measuring: &AtomicBool,
    stop: &AtomicBool,
) -> Result<Vec<Outcome>, String> {
    let mut bots = Vec::new();
    for (i, login) in &group {
        bots.push(Bot::connect(login, transport_of(*i, websocket_every))?);
    }
    let mut states_at_start = vec![(0u64, 0u64); bots.len()];
    let mut started = false;
    let mut last_input = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        let send_input = last_input.elapsed() >= INPUT_PERIOD;
        if send_input {
            last_input = Instant::now();
        }
        for bot in &mut bots {
            if send_input && bot.welcome.is_some() {
                bot.input(0.0, WireControls::Hold(HoldMode::Prograde));
            }
            bot.pump();
        }
        if !started && measuring.load(Ordering::Relaxed) {
            started = true;
            states_at_start = bots
                .iter()
                .map(|b| (b.states_received, b.ship_updates))
                .collect();
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    Ok(bots
        .iter()
        .zip(states_at_start)
        .zip(&group)
        .map(|((bot, (states, updates)), (index, _))| Outcome {
            welcomed: bot.welcome.is_some(),
            disconnected: bot.is_disconnected() || bot.missing_baselines > 0,
            states: bot.states_received - states,
            ship_updates: bot.ship_updates - updates,
            ships_seen: bot.ships_seen.len(),
            index: *index,
            last: bot.own.zip(own_gm(bot)),
        })
        .collect())
}

/// GM of the body the bot's ship is bound to, from its welcome.
fn own_gm(bot: &Bot) -> Option<f64> {
    let own = bot.own?;
    let welcome = bot.welcome.as_ref()?;
    welcome
        .bodies
        .iter()
        .find(|b| b.id == own.dominant)
        .map(|b| b.gm)
}

/// Kills the server, starts it again and checks every bot's ship: logged in again,
/// welcomed, and where its orbit from the last state before the kill puts it.
fn restart_and_check(
    args: &Args,
    command: &str,
    pid: u32,
    outcomes: &[Outcome],
) -> Result<Value, String> {
    let killed = std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .map_err(|e| format!("cannot run kill: {e}"))?;
    if !killed.success() {
        return Err(format!("kill -9 {pid} failed"));
    }
    let killed_at = Instant::now();
    std::thread::sleep(Duration::from_millis(500));
    std::process::Command::new("sh")
        .args(["-c", command])
        .spawn()
        .map_err(|e| format!("cannot start the server again: {e}"))?;
    wait_for_health(&args.http)?;
    let back_after = killed_at.elapsed().as_secs_f64();
    let names: Vec<(usize, &Outcome)> = outcomes.iter().map(|o| (o.index, o)).collect();
    let logins = in_parallel(&names, |(index, _)| {
        Login::request(&args.http, &format!("{}{index}", args.prefix), PASSWORD)
    })?;
    let mut bots: Vec<Bot> = logins
        .iter()
        .zip(&names)
        .map(|(login, (index, _))| Bot::connect(login, transport_of(*index, args.websocket_every)))
        .collect::<Result<_, _>>()?;
    let deadline = Instant::now() + RESTART_TIMEOUT;
    while Instant::now() < deadline && bots.iter().any(|b| b.own.is_none()) {
        for bot in &mut bots {
            bot.pump();
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let mut own_ship = 0;
    let mut worst_phase = 0.0_f64;
    let mut failures = Vec::new();
    for (bot, (index, outcome)) in bots.iter().zip(&names) {
        match (bot.own, outcome.last) {
            (Some(now), Some((before, gm))) => {
                let error = phase_error(&before, &now, gm);
                worst_phase = worst_phase.max(error);
                if error < SAME_SHIP_PHASE_RAD && now.dominant == before.dominant {
                    own_ship += 1;
                } else {
                    failures.push(format!("{}{index}: {error:.3} rad off", args.prefix));
                }
            }
            (None, _) => failures.push(format!("{}{index}: no state", args.prefix)),
            (_, None) => failures.push(format!("{}{index}: no state before", args.prefix)),
        }
    }
    failures.truncate(10);
    Ok(json!({
        "server_back_after_s": back_after,
        "bots_logged_in_again": logins.len(),
        "bots_welcomed_again": bots.iter().filter(|b| b.welcome.is_some()).count(),
        "bots_with_their_own_ship": own_ship,
        "worst_phase_error_rad": worst_phase,
        "first_failures": failures,
    }))
}

/// A ship found within this angle of where its orbit puts it is the same ship: a
/// fresh spawn lands at a random phase.
const SAME_SHIP_PHASE_RAD: f64 = 0.02;

/// How far (rad) along its orbit `now` is from where two-body motion from `before`
/// puts it. The bots coast in near-circular orbits, so the argument of latitude
/// advances at the mean motion.
fn phase_error(before: &OwnMotion, now: &OwnMotion, gm: f64) -> f64 {
    let normal = before.position.cross(before.velocity).normalize_or_zero();
    let radius = before.position.length();
    let mean_motion = (gm / radius.powi(3)).sqrt();
    let predicted = mean_motion * (now.game_time - before.game_time);
    let moved = before
        .position
        .cross(now.position)
        .dot(normal)
        .atan2(before.position.dot(now.position));
    let off = (moved - predicted).rem_euclid(std::f64::consts::TAU);
    off.min(std::f64::consts::TAU - off)
}

fn wait_for_health(http: &str) -> Result<(), String> {
    let deadline = Instant::now() + RESTART_TIMEOUT;
    while Instant::now() < deadline {
        if ureq::get(&format!("{http}/health")).call().is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Err("the restarted server never answered /health".into())
}

/// Waits until the server has written one more snapshot than now.
fn wait_for_snapshot(http: &str) -> Result<(), String> {
    let written = |scrape: &Scrape| scrape.get(r#"galaxy_snapshots_total{outcome="written"}"#);
    let start = written(&scrape(http)?);
    let deadline = Instant::now() + RESTART_TIMEOUT;
    while Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
        if written(&scrape(http)?) > start {
            return Ok(());
        }
    }
    Err("no snapshot was written".into())
}

/// The server's tick p99 for every 10 s since `since` (unix s), from the dashboard's
/// history: the worst and the median window.
fn tick_history(http: &str, token: &str, since: u64) -> Result<Value, String> {
    let mut response = ureq::get(&format!("{http}/api/admin/history"))
        .header("Authorization", &format!("Bearer {token}"))
        .call()
        .map_err(|e| format!("history: {e}"))?;
    let body: Value = response
        .body_mut()
        .read_json()
        .map_err(|e| format!("history: {e}"))?;
    let mut p99: Vec<f64> = body["samples"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["unix_s"].as_u64().is_some_and(|t| t > since))
        .filter_map(|s| s["tick_p99_ms"].as_f64())
        .collect();
    p99.sort_by(f64::total_cmp);
    Ok(json!({
        "windows_of_10_s": p99.len(),
        "tick_p99_ms_median_window": p99.get(p99.len() / 2),
        "tick_p99_ms_worst_window": p99.last(),
    }))
}

/// The bucket bound (s) under which 99 % of the ticks between two scrapes fell.
fn tick_p99_bucket(before: &Scrape, after: &Scrape) -> Option<f64> {
    let prefix = "galaxy_tick_duration_seconds_bucket{le=\"";
    let mut buckets: Vec<(f64, f64)> = after
        .0
        .iter()
        .filter_map(|(name, count)| {
            let bound = name.strip_prefix(prefix)?.strip_suffix("\"}")?;
            let bound = if bound == "+Inf" {
                f64::INFINITY
            } else {
                bound.parse().ok()?
            };
            Some((bound, count - before.get(name)))
        })
        .collect();
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total = buckets.last()?.1;
    buckets
        .iter()
        .find(|(_, count)| *count >= 0.99 * total)
        .map(|(bound, _)| *bound)
}

/// Resident memory of a process (bytes), from `/proc` (Linux).
fn resident_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

fn megabytes(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Prometheus text from `/metrics`, as series → value.
struct Scrape(std::collections::HashMap<String, f64>);

impl Scrape {
    fn get(&self, name: &str) -> f64 {
        self.0.get(name).copied().unwrap_or(0.0)
    }
}

fn scrape(http: &str) -> Result<Scrape, String> {
    let mut response = ureq::get(&format!("{http}/metrics"))
        .call()
        .map_err(|e| format!("metrics: {e}"))?;
    let text = response
        .body_mut()
        .read_to_string()
        .map_err(|e| e.to_string())?;
    Ok(Scrape(
        text.lines()
            .filter(|line| !line.starts_with('#'))
            .filter_map(|line| {
                let (name, value) = line.rsplit_once(' ')?;
                Some((name.to_owned(), value.trim().parse().ok()?))
            })
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use glam::DVec3;

    /// A circular orbit's state at `t` (s), with phase `phase` at t = 0.
    fn circular(t: f64, phase: f64, gm: f64, radius: f64) -> OwnMotion {
        let n = (gm / radius.powi(3)).sqrt();
        let angle = phase + n * t;
        let (s, c) = angle.sin_cos();
        OwnMotion {
            game_time: t,
            dominant: 3,
            position: DVec3::new(c, s, 0.0) * radius,
            velocity: DVec3::new(-s, c, 0.0) * radius * n,
            attitude: [0, 0, 0, 32767],
            fuel: 65535,
        }
    }

    #[test]
    fn the_same_orbit_later_is_the_same_ship_and_another_phase_is_not() {
        let (gm, radius) = (3.986e14, 6.771e6);
        let before = circular(100.0, 0.3, gm, radius);
        for later in [100.0, 130.0, 2_000.0, 50.0] {
            let error = phase_error(&before, &circular(later, 0.3, gm, radius), gm);
            assert!(error < 1e-9, "{later}: {error}");
        }
        let fresh = phase_error(&before, &circular(130.0, 1.3, gm, radius), gm);
        assert!((fresh - 1.0).abs() < 1e-9, "{fresh}");
    }
}
