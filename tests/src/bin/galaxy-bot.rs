//! `galaxy-bot`: a headless player. Registers (if needed), logs in, connects over
//! UDP or WebSocket, runs admin lines, flies a scripted burn or lets the landing
//! autopilot set it down, and prints what it saw as JSON.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;
use galaxy_shared::components::HoldMode;
use galaxy_shared::flight_plan::{NODE_USAGE, Node, NodeLine, PlanCommand};
use galaxy_shared::protocol::{ClientMessage, Event, WireControls, unpack_fuel};
use galaxy_tests::bot::{Bot, Login, Transport};

/// A scripted headless Galaxy client.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Base URL of the server's HTTP API.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    http: String,
    /// Account name (registered on first use).
    #[arg(long)]
    user: String,
    /// Account password.
    #[arg(long, env = "GALAXY_BOT_PASSWORD")]
    password: String,
    /// Connect over WebSocket (the browser transport) instead of UDP.
    #[arg(long)]
    websocket: bool,
    /// Seconds to fly.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Throttle during the flight, 0..1.
    #[arg(long, default_value_t = 0.0)]
    throttle: f32,
    /// Add a manoeuvre node, as the console's `node add` takes it (repeatable):
    /// `--node "+10m prograde 120"`.
    #[arg(long)]
    node: Vec<String>,
    /// Run an admin line first (repeatable; the account must be an admin):
    /// `--admin "teleport ada Moon 30"`.
    #[arg(long)]
    admin: Vec<String>,
    /// Ask for this warp (game seconds per real second).
    #[arg(long)]
    warp: Option<f64>,
    /// Let the landing autopilot set the ship down, and stop once it is down.
    #[arg(long)]
    land: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let login = match Login::register_and_login(&args.http, &args.user, &args.password) {
        Ok(login) => login,
        Err(error) => {
            eprintln!("galaxy-bot: {error}");
            return ExitCode::from(2);
        }
    };
    let transport = if args.websocket {
        Transport::WebSocket
    } else {
        Transport::Udp
    };
    let mut bot = match Bot::connect(&login, transport) {
        Ok(bot) => bot,
        Err(error) => {
            eprintln!("galaxy-bot: {error}");
            return ExitCode::from(2);
        }
    };
    if !bot.wait_until(Duration::from_secs(10), |b| b.welcome.is_some()) {
        eprintln!("galaxy-bot: no welcome within 10 s");
        return ExitCode::from(1);
    }
    if !bot.wait_until(Duration::from_secs(10), |b| b.state.is_some()) {
        eprintln!("galaxy-bot: no state within 10 s");
        return ExitCode::from(1);
    }
    for line in &args.admin {
        match bot.admin(line, Duration::from_secs(10)) {
            Some((true, _)) => {}
            Some((false, output)) => {
                eprintln!("galaxy-bot: admin line {line:?} refused: {output}");
                return ExitCode::from(1);
            }
            None => {
                eprintln!("galaxy-bot: no answer to admin line {line:?}");
                return ExitCode::from(1);
            }
        }
    }
    if let Some(factor) = args.warp {
        bot.send(&ClientMessage::Warp { factor });
    }
    if args.land {
        bot.send(&ClientMessage::Plan(PlanCommand::Land));
    }
    let now = bot.state.as_ref().map_or(0.0, |s| s.game_time);
    for line in &args.node {
        match NodeLine::parse(&format!("node add {line}")) {
            Some(Ok(NodeLine::Add { in_s, components })) => {
                bot.send(&ClientMessage::Plan(PlanCommand::Add(Node {
                    at: now + in_s,
                    prograde: components.x,
                    normal: components.y,
                    radial: components.z,
                })));
            }
            _ => {
                eprintln!("galaxy-bot: bad --node {line:?}\n{NODE_USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    let started = Instant::now();
    let first_speed = speed(&bot);
    let down = |b: &Bot| {
        b.events
            .iter()
            .any(|e| matches!(e, Event::Landed(_) | Event::Destroyed(_)))
    };
    while started.elapsed().as_secs_f64() < args.seconds && !bot.is_disconnected() {
        if args.land {
            // The autopilot flies; an input would take the ship back from it.
            if bot.wait_until(Duration::from_millis(50), down) {
                break;
            }
            continue;
        }
        bot.input(args.throttle, WireControls::Hold(HoldMode::Prograde));
        bot.wait_until(Duration::from_millis(50), |_| false);
    }
    let report = serde_json::json!({
        "player": login.player,
        "transport": if args.websocket { "websocket" } else { "udp" },
        "connected": bot.is_connected(),
        "states": bot.states_received,
        "other_ships_seen": bot.ships_seen.len(),
        "speed_start_m_s": first_speed,
        "speed_end_m_s": speed(&bot),
        "fuel_kg": fuel(&bot),
        "events": bot.events.iter().map(|e| format!("{e:?}")).collect::<Vec<_>>(),
    });
    println!("{report}");
    ExitCode::SUCCESS
}

fn fuel(bot: &Bot) -> Option<f64> {
    let capacity = bot.welcome.as_ref()?.ship_info.fuel_capacity;
    bot.own.map(|own| unpack_fuel(own.fuel, capacity))
}

fn speed(bot: &Bot) -> Option<f64> {
    bot.own.map(|own| own.velocity.length())
}
