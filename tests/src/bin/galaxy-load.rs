//! `galaxy-load`: many bot players against a running server, reporting what an
//! operator cares about: bandwidth per client, tick duration under load, and
//! whether anyone was dropped.
//!
//! `scripts/bench-net.sh` starts a release server and runs this; see the README.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use galaxy_shared::components::HoldMode;
use galaxy_shared::protocol::WireControls;
use galaxy_tests::bot::{Bot, Login, Transport};

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
}

const PASSWORD: &str = "load-test-password";
/// How often each bot sends its input, like a real client (s).
const INPUT_PERIOD: Duration = Duration::from_millis(50);

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(report) => {
            println!("{report}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("galaxy-load: {error}");
            ExitCode::from(1)
        }
    }
}

fn run(args: &Args) -> Result<serde_json::Value, String> {
    let logins = log_in_everyone(args)?;
    let threads = args.threads.max(1);
    let mut groups: Vec<Vec<(usize, Login)>> = (0..threads).map(|_| Vec::new()).collect();
    for (i, login) in logins.into_iter().enumerate() {
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
    let started = Instant::now();
    measuring.store(true, Ordering::Relaxed);
    std::thread::sleep(Duration::from_secs_f64(args.seconds));
    let after = scrape(&args.http)?;
    let elapsed = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let mut outcomes = Vec::new();
    for worker in workers {
        outcomes.extend(
            worker
                .join()
                .map_err(|_| "a bot thread panicked".to_owned())??,
        );
    }
    let welcomed = outcomes.iter().filter(|o| o.welcomed).count();
    let dropped = outcomes.iter().filter(|o| o.disconnected).count();
    let states: f64 = outcomes.iter().map(|o| o.states as f64).sum();
    let seen: f64 = outcomes.iter().map(|o| o.ships_seen as f64).sum();
    let updates: f64 = outcomes.iter().map(|o| o.ship_updates as f64).sum();
    let others = (outcomes.len().max(2) - 1) as f64;
    let bots = outcomes.len().max(1) as f64;
    let sent = after.get("galaxy_net_sent_bytes_total") - before.get("galaxy_net_sent_bytes_total");
    Ok(serde_json::json!({
        "bots": outcomes.len(),
        "welcomed": welcomed,
        "unexpected_disconnects": dropped,
        "seconds": elapsed,
        "server_bytes_per_client_per_s": sent / bots / elapsed,
        "states_per_bot_per_s": states / bots / elapsed,
        "other_ships_seen_per_bot": seen / bots,
        "other_ship_updates_per_bot_per_s": updates / bots / elapsed,
        "seconds_between_updates_of_each_other_ship": others / (updates / bots / elapsed).max(1e-9),
        "tick_p50_ms": after.get("galaxy_tick_duration_p50_microseconds") / 1e3,
        "tick_p99_ms": after.get("galaxy_tick_duration_p99_microseconds") / 1e3,
        "tick_overruns": after.get("galaxy_tick_overruns_total") - before.get("galaxy_tick_overruns_total"),
        "ticks_dropped": after.get("galaxy_ticks_dropped_total") - before.get("galaxy_ticks_dropped_total"),
        "ticks": after.get("galaxy_ticks_total") - before.get("galaxy_ticks_total"),
        "clients_on_server": after.get("galaxy_clients"),
    }))
}

/// Registers and logs in every bot, a few at a time (password hashing is the cost).
fn log_in_everyone(args: &Args) -> Result<Vec<Login>, String> {
    let names: Vec<String> = (0..args.bots)
        .map(|i| format!("{}{i}", args.prefix))
        .collect();
    let chunks: Vec<Vec<String>> = names
        .chunks(args.bots.div_ceil(4).max(1))
        .map(<[String]>::to_vec)
        .collect();
    let handles: Vec<_> = chunks
        .into_iter()
        .map(|chunk| {
            let http = args.http.clone();
            std::thread::spawn(move || {
                chunk
                    .iter()
                    .map(|name| Login::register_and_login(&http, name, PASSWORD))
                    .collect::<Result<Vec<_>, _>>()
            })
        })
        .collect();
    let mut logins = Vec::new();
    for handle in handles {
        logins.extend(
            handle
                .join()
                .map_err(|_| "a login thread panicked".to_owned())??,
        );
    }
    Ok(logins)
}

struct Outcome {
    welcomed: bool,
    disconnected: bool,
    states: u64,
    ship_updates: u64,
    ships_seen: usize,
}

fn drive(
    group: Vec<(usize, Login)>,
    websocket_every: usize,
    measuring: &AtomicBool,
    stop: &AtomicBool,
) -> Result<Vec<Outcome>, String> {
    let mut bots = Vec::new();
    for (i, login) in &group {
        let transport = if websocket_every > 0 && i % websocket_every == 0 {
            Transport::WebSocket
        } else {
            Transport::Udp
        };
        bots.push(Bot::connect(login, transport)?);
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
        .map(|(bot, (states, updates))| Outcome {
            welcomed: bot.welcome.is_some(),
            disconnected: bot.is_disconnected() || bot.missing_baselines > 0,
            states: bot.states_received - states,
            ship_updates: bot.ship_updates - updates,
            ships_seen: bot.ships_seen.len(),
        })
        .collect())
}

/// Prometheus text from `/metrics`, as name → value.
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
                let (name, value) = line.split_once(' ')?;
                Some((name.to_owned(), value.trim().parse().ok()?))
            })
            .collect(),
    ))
}
