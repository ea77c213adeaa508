//! `galaxy-hostile`: attacks a running server the way a malicious player could, then
//! says whether it survived. Logs in (registering on first use), opens a netcode
//! session over UDP and one over WebSocket, sends every hostile sequence of
//! [`galaxy_tests::hostile::attack`] from them, floods the UDP port with random
//! datagrams, and checks `/health`. Exit code 0: the server still answers.

use std::net::UdpSocket;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;
use galaxy_tests::bot::{Login, Transport};
use galaxy_tests::hostile::{Hostile, attack};

/// Attack a Galaxy server (yours) and report whether it survived.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Base URL of the server's HTTP API.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    http: String,
    /// Account name for the attacking sessions (registered on first use; the
    /// WebSocket session uses NAME-ws).
    #[arg(long, default_value = "mallory")]
    user: String,
    /// Its password.
    #[arg(
        long,
        env = "GALAXY_HOSTILE_PASSWORD",
        default_value = "hostile password 1"
    )]
    password: String,
    /// Random datagrams sent at the UDP port.
    #[arg(long, default_value_t = 100_000)]
    flood: u32,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => {
            println!("server survived");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("galaxy-hostile: {error}");
            ExitCode::from(1)
        }
    }
}

fn run(args: &Args) -> Result<(), String> {
    let login = Login::register_and_login(&args.http, &args.user, &args.password)?;
    for (transport, suffix) in [(Transport::Udp, ""), (Transport::WebSocket, "-ws")] {
        // One account per session: netcode holds a player's first session open
        // until it times out.
        let name = format!("{}{suffix}", args.user);
        let login = Login::register_and_login(&args.http, &name, &args.password)?;
        let mut hostile = Hostile::connect(&login, transport, Duration::from_secs(10))?;
        let sent = attack(&mut hostile)?;
        println!("{transport:?}: sent {sent:?}");
        let settle = Instant::now() + Duration::from_millis(500);
        while Instant::now() < settle {
            hostile.pump();
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    let udp = login
        .connect_token(Transport::Udp)?
        .server_addresses
        .iter()
        .flatten()
        .next()
        .copied()
        .ok_or("the connect token names no UDP address")?;
    let socket = UdpSocket::bind("0.0.0.0:0").map_err(|e| e.to_string())?;
    let mut rng = fastrand::Rng::new();
    for _ in 0..args.flood {
        let len = rng.usize(0..1500);
        let datagram: Vec<u8> = (0..len).map(|_| rng.u8(..)).collect();
        let _ = socket.send_to(&datagram, udp);
    }
    println!("flooded {udp} with {} random datagrams", args.flood);
    std::thread::sleep(Duration::from_millis(500));
    let health = ureq::get(&format!("{}/health", args.http))
        .call()
        .map_err(|e| format!("the server no longer answers /health: {e}"))?;
    if health.status() != 200 {
        return Err(format!("/health answered {}", health.status()));
    }
    Ok(())
}
