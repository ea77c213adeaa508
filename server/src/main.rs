//! `galaxy-server`: runs the real-time server, or fast-forwards with `simulate`.

use std::io::Write;
use std::process::ExitCode;

use bevy::app::TerminalCtrlCHandlerPlugin;
use bevy::prelude::*;
use clap::{Parser, Subcommand};
use galaxy_server::admin::AdminDb;
use galaxy_server::agones::{self, Agones};
use galaxy_server::auth::create_user::{create_user, password_from};
use galaxy_server::auth::http::{resolve, ws_public_address};
use galaxy_server::bridge::AdminInbox;
use galaxy_server::config::Config;
use galaxy_server::ephemeris::load_bodies;
use galaxy_server::logging::{LogFormat, log_plugin};
use galaxy_server::net::{self, transport::GuardedTransport, transport::TransportSetup};
use galaxy_server::persistence::{self, cli::SnapshotsCommand};
use galaxy_server::secrets::Secrets;
use galaxy_server::simulate::{ShipStart, SimulateOptions, read_ship_states, simulate};
use galaxy_server::{Drive, server_app, services, warp};
use galaxy_shared::protocol::{PROTOCOL_ID, Role};

/// Galaxy: a persistent multiplayer space-flight sandbox in the real Solar System.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Cli {
    /// Print the effective configuration (compiled-in defaults, the config file, the
    /// environment; the database password masked) as TOML and exit.
    #[arg(long)]
    print_config: bool,
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
        /// Also simulate ships from a JSON file:
        /// `[{"position_m":[x,y,z],"velocity_m_s":[x,y,z]}, ...]`, barycentric ICRF at
        /// the start epoch, coasting unless a ship lists `"nodes": [{"at_s": ..,
        /// "prograde_m_s": .., "normal_m_s": .., "radial_m_s": ..}]` for the burn
        /// executor to fly in turn; the report's `ship_states` gives them back in
        /// order, with their fuel and finished burns.
        #[arg(long)]
        ships_file: Option<std::path::PathBuf>,
        /// Newtonian point masses only, so other codes can check the result: no J2
        /// on ships, no 1PN term on the bodies.
        #[arg(long)]
        point_masses: bool,
        /// Print the report as JSON (the only format).
        #[arg(long)]
        json: bool,
    },
    /// Account administration from the command line.
    Admin {
        #[command(subcommand)]
        command: AdminCli,
    },
    /// World snapshots in the database: list, show, pick the one to restore.
    Snapshots {
        #[command(subcommand)]
        command: SnapshotsCommand,
    },
}

#[derive(Subcommand, Debug)]
enum AdminCli {
    /// Create an account; the password comes from GALAXY_ADMIN_PASSWORD or, if unset,
    /// one line of stdin. Prints the new player id.
    CreateUser {
        /// Username: 3–32 of A-Z a-z 0-9 _ -.
        name: String,
        /// Give the account the admin role.
        #[arg(long)]
        admin: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let (config, file) = match Config::load() {
        Ok(loaded) => loaded,
        Err(error) => {
            eprintln!("galaxy-server: {error}");
            return ExitCode::from(2);
        }
    };
    if cli.print_config {
        let file = file.map_or_else(|| "none".to_owned(), |f| f.display().to_string());
        let jwt = if std::env::var_os("GALAXY_JWT_SECRET").is_some() {
            "GALAXY_JWT_SECRET (not shown)"
        } else {
            "random per process (GALAXY_JWT_SECRET unset)"
        };
        print!(
            "# compiled-in defaults, then config file: {file}, then the environment\n# session signing secret: {jwt}\n{}",
            config.to_redacted_toml()
        );
        return ExitCode::SUCCESS;
    }
    let log_format = match LogFormat::from_environment() {
        Ok(format) => format,
        Err(error) => {
            eprintln!("galaxy-server: {error}");
            return ExitCode::from(2);
        }
    };
    match cli.command.unwrap_or(Command::Run) {
        Command::Run => run(config, file, log_format),
        Command::Simulate {
            days,
            start_epoch,
            ships,
            dt,
            ships_file,
            point_masses,
            json: _,
        } => {
            let mut config = config;
            if point_masses {
                config.physics.relativity = false;
                config.physics.oblateness = false;
            }
            run_simulation(config, days, start_epoch, ships, dt, ships_file)
        }
        Command::Admin {
            command: AdminCli::CreateUser { name, admin },
        } => run_create_user(&config, &name, admin),
        Command::Snapshots { command } => persistence::cli::run(&config, command),
    }
}

fn run_create_user(config: &Config, name: &str, admin: bool) -> ExitCode {
    let role = if admin { Role::Admin } else { Role::Player };
    let password = password_from(
        std::env::var("GALAXY_ADMIN_PASSWORD").ok(),
        std::io::stdin().lock(),
    );
    match password.and_then(|pw| create_user(&config.persistence.database_url, name, &pw, role)) {
        Ok(player) => {
            println!("{}", player.id);
            eprintln!(
                "galaxy-server: created {} `{}` with id {}",
                role.as_str(),
                player.username,
                player.id
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("galaxy-server: {error}");
            ExitCode::from(2)
        }
    }
}

fn run(mut config: Config, file: Option<std::path::PathBuf>, log_format: LogFormat) -> ExitCode {
    if let Err(error) = agones::publish_game_server(&mut config) {
        eprintln!("galaxy-server: {error}");
        return ExitCode::from(2);
    }
    let (bodies, start) = match load_bodies(&config) {
        Ok(loaded) => loaded,
        Err(error) => {
            eprintln!("galaxy-server: {error}");
            return ExitCode::from(2);
        }
    };
    let mut app = server_app(config.clone(), bodies, start, Drive::RealTime);
    // Logging first, so the services' start-up messages are printed.
    app.add_plugins(log_plugin(log_format));
    match &file {
        Some(file) => info!(
            "configuration: compiled-in defaults, {}, environment",
            file.display()
        ),
        None => info!("configuration: compiled-in defaults and the environment (no config file)"),
    }
    install_shutdown_handler();
    app.add_plugins(TerminalCtrlCHandlerPlugin);
    let (runtime, bridge, inbox, secrets, db) = match services::start_services(&config) {
        Ok(started) => started,
        Err(error) => {
            error!("{error}");
            eprintln!("galaxy-server: {error}");
            return ExitCode::from(2);
        }
    };
    let transport = match bind_game_transport(&config, &secrets, runtime.handle()) {
        Ok(transport) => transport,
        Err(error) => {
            error!("{error}");
            eprintln!("galaxy-server: {error}");
            return ExitCode::from(2);
        }
    };
    info!(
        udp = %transport.udp_addr(),
        websocket = %transport.ws_addr(),
        "game server listening (native clients on UDP, browsers on WebSocket)"
    );
    // The newest usable snapshot replaces the ephemeris start, before the first tick.
    if let Err(error) = persistence::restore_newest(&db, runtime.handle(), app.world_mut()) {
        error!("cannot read the snapshots: {error}");
        eprintln!("galaxy-server: cannot read the snapshots: {error}");
        return ExitCode::from(2);
    }
    let snapshots = persistence::start(&mut app, db.clone(), bridge.clone(), runtime.handle());
    app.insert_resource(transport)
        .add_plugins((net::plugin, warp::plugin))
        .insert_resource(AdminDb {
            db: db.clone(),
            runtime: runtime.handle().clone(),
        });
    let agones = match Agones::start(&config.agones, bridge.health.clone()) {
        Ok(agones) => agones,
        Err(error) => {
            error!("{error}");
            eprintln!("galaxy-server: {error}");
            return ExitCode::from(2);
        }
    };
    app.insert_resource(bridge)
        .insert_resource(AdminInbox(inbox))
        .insert_resource(db)
        .add_plugins(services::plugin);
    app.add_systems(Startup, announce);
    let exit = app.run();
    // The last frame captured the final snapshot; it must land before we exit.
    persistence::finish(&snapshots, runtime.handle());
    if let Some(agones) = agones {
        agones.shut_down();
    }
    // The runtime lives as long as the app: HTTP and the database go down with it.
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    info!("galaxy-server stopped");
    match exit {
        AppExit::Success => ExitCode::SUCCESS,
        AppExit::Error(code) => ExitCode::from(code.get()),
    }
}

/// Makes SIGINT and SIGTERM shut down cleanly (final snapshot, clients told), even
/// when the server was started with SIGINT ignored (`galaxy-server &` from a script),
/// where Bevy's own handler refuses to install.
fn install_shutdown_handler() {
    if let Err(error) = ctrlc::set_handler(TerminalCtrlCHandlerPlugin::gracefully_exit) {
        warn!(%error, "cannot install the SIGINT/SIGTERM handler; signals will kill the server outright");
    }
}

/// Binds the UDP and WebSocket sockets, publishing the addresses logins put into
/// connect tokens.
fn bind_game_transport(
    config: &Config,
    secrets: &Secrets,
    runtime: &tokio::runtime::Handle,
) -> Result<GuardedTransport, String> {
    let host = config.net.public_host.trim();
    let udp_public = runtime
        .block_on(resolve(host, config.net.public_udp_port()))
        .map_err(|e| e.to_string())?;
    let ws_public = runtime
        .block_on(ws_public_address(&config.net))
        .map_err(|e| e.to_string())?;
    let setup = TransportSetup {
        udp_listen: config.net.udp_addr,
        ws_listen: config.net.ws_addr,
        udp_public,
        ws_public,
        max_clients: config.net.max_clients,
        private_key: secrets.netcode,
        protocol_id: PROTOCOL_ID,
    };
    GuardedTransport::bind(&setup, runtime.clone()).map_err(|e| {
        format!(
            "cannot open the game sockets (UDP {}, WebSocket {}): {e}",
            config.net.udp_addr, config.net.ws_addr
        )
    })
}

fn announce(config: Res<Config>, bodies: Res<galaxy_server::ephemeris::Bodies>) {
    info!(
        bodies = bodies.state.len(),
        tick_hz = config.tick.rate_hz,
        relativity = config.physics.relativity,
        "galaxy-server simulating the Solar System"
    );
}

/// The ships of `simulate --ships-file`, or why the file will not do.
fn read_ships_file(path: &std::path::Path) -> Result<Vec<ShipStart>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the ships file {}: {e}", path.display()))?;
    read_ship_states(&text).map_err(|e| format!("ships file {}: {e}", path.display()))
}

fn run_simulation(
    mut config: Config,
    days: f64,
    start_epoch: Option<f64>,
    ships: usize,
    dt: Option<f64>,
    ships_file: Option<std::path::PathBuf>,
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
    let ship_states = match ships_file.as_deref().map(read_ships_file).transpose() {
        Ok(states) => states.unwrap_or_default(),
        Err(error) => {
            eprintln!("galaxy-server: {error}");
            return ExitCode::from(2);
        }
    };
    let (bodies, start) = match load_bodies(&config) {
        Ok(loaded) => loaded,
        Err(error) => {
            eprintln!("galaxy-server: {error}");
            return ExitCode::from(2);
        }
    };
    let options = SimulateOptions {
        days,
        ships,
        ship_states,
    };
    let report = simulate(config, bodies, start, options);
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
