//! `galaxy-server`: runs the real-time server, or fast-forwards with `simulate`.

use std::io::Write;
use std::process::ExitCode;

use bevy::app::TerminalCtrlCHandlerPlugin;
use bevy::log::LogPlugin;
use bevy::prelude::*;
use clap::{Parser, Subcommand};
use galaxy_server::config::Config;
use galaxy_server::ephemeris::load_bodies;
use galaxy_server::simulate::{SimulateOptions, simulate};
use galaxy_server::{Drive, server_app};

/// Galaxy: a persistent multiplayer space-flight sandbox in the real Solar System.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the real-time server (the default).
    Run,
    /// Simulate headless as fast as possible and print one JSON report.
    Simulate {
        /// Game days to simulate.
        #[arg(long, allow_negative_numbers = true)]
        days: f64,
        /// Start epoch in days since J2000 (TDB); default from the config.
        #[arg(long, allow_negative_numbers = true)]
        start_epoch: Option<f64>,
        /// Ships to add in random 400 km Earth orbits.
        #[arg(long, default_value_t = 0)]
        ships: usize,
        /// Ship integrator substep (s); bodies keep `physics.body_step_s`.
        #[arg(long)]
        dt: Option<f64>,
        /// Print the report as JSON (the only format).
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::load() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("galaxy-server: {error}");
            return ExitCode::from(2);
        }
    };
    match cli.command.unwrap_or(Command::Run) {
        Command::Run => run(config),
        Command::Simulate {
            days,
            start_epoch,
            ships,
            dt,
            json: _,
        } => run_simulation(config, days, start_epoch, ships, dt),
    }
}

fn run(config: Config) -> ExitCode {
    let (bodies, start) = match load_bodies(&config) {
        Ok(loaded) => loaded,
        Err(error) => {
            eprintln!("galaxy-server: {error}");
            return ExitCode::from(2);
        }
    };
    let mut app = server_app(config, bodies, start, Drive::RealTime);
    app.add_plugins((LogPlugin::default(), TerminalCtrlCHandlerPlugin));
    app.add_systems(Startup, announce);
    let exit = app.run();
    info!("galaxy-server stopped");
    match exit {
        AppExit::Success => ExitCode::SUCCESS,
        AppExit::Error(code) => ExitCode::from(code.get()),
    }
}

fn announce(config: Res<Config>, bodies: Res<galaxy_server::ephemeris::Bodies>) {
    info!(
        bodies = bodies.state.len(),
        tick_hz = config.tick.rate_hz,
        relativity = config.physics.relativity,
        "galaxy-server simulating the Solar System"
    );
}

fn run_simulation(
    mut config: Config,
    days: f64,
    start_epoch: Option<f64>,
    ships: usize,
    dt: Option<f64>,
) -> ExitCode {
    if !(days.is_finite() && days >= 0.0) {
        eprintln!("galaxy-server: --days must be a non-negative number, got {days}");
        return ExitCode::from(2);
    }
    if let Some(epoch) = start_epoch {
        if !epoch.is_finite() || epoch.abs() > 36_525.0 {
            eprintln!(
                "galaxy-server: --start-epoch must be within ±36525 days of J2000, got {epoch}"
            );
            return ExitCode::from(2);
        }
        config.tick.start_epoch_days = epoch;
    }
    if let Some(dt) = dt {
        if !(dt.is_finite() && dt > 0.0) {
            eprintln!("galaxy-server: --dt must be a positive number of seconds, got {dt}");
            return ExitCode::from(2);
        }
        config.physics.max_substep_s = dt;
    }
    let (bodies, start) = match load_bodies(&config) {
        Ok(loaded) => loaded,
        Err(error) => {
            eprintln!("galaxy-server: {error}");
            return ExitCode::from(2);
        }
    };
    let report = simulate(config, bodies, start, SimulateOptions { days, ships });
    let mut out = std::io::stdout().lock();
    match serde_json::to_writer(&mut out, &report).map(|()| writeln!(out)) {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(error)) => {
            eprintln!("galaxy-server: cannot write the report: {error}");
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("galaxy-server: cannot encode the report: {error}");
            ExitCode::FAILURE
        }
    }
}
