//! Launch options: the server, scripted credentials (which skip the login screen)
//! and the unattended modes used by tests and measurements.

use std::path::PathBuf;

use bevy::prelude::*;

/// What the client was started with.
#[derive(Resource, Clone, Debug, Default)]
pub(crate) struct LaunchOptions {
    /// HTTP address of the server, e.g. `http://127.0.0.1:8080`.
    pub server: String,
    /// Username to log in with; with `password`, the login screen is skipped.
    pub user: Option<String>,
    /// Password for `user`.
    pub password: Option<String>,
    /// Register the account before logging in (an existing account is fine).
    pub register: bool,
    /// Save a screenshot here once the flight view is live, then exit.
    pub capture: Option<PathBuf>,
    /// Spawn this many fake ships around the own ship and log frame times.
    pub bench_ships: Option<usize>,
    /// Initial camera: yaw and pitch (degrees) and whether the map view is on.
    pub view: InitialView,
    /// The camera's anti-aliasing (Bevy's default: 4× MSAA).
    pub msaa: Msaa,
    /// How much the view may cost to draw.
    pub quality: Quality,
}

/// How much the view may cost to draw: `low` for software renderers and weak
/// GPUs, `high` (the default) for everything the client can show.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Quality {
    /// Coarser globes (4 px from the true sphere), no atmosphere rim, no Sun glow,
    /// no relief under the maps.
    Low,
    /// Globes within a pixel of the sphere, the atmosphere rim, the Sun's glow and
    /// relief under the maps.
    #[default]
    High,
}

impl std::str::FromStr for Quality {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "low" => Ok(Self::Low),
            "high" => Ok(Self::High),
            _ => Err(format!("quality {text:?} is not low or high")),
        }
    }
}

/// Where the camera starts, so unattended captures can frame other views.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct InitialView {
    /// Degrees around the ship from behind it.
    pub yaw: Option<f32>,
    /// Degrees above the horizon.
    pub pitch: Option<f32>,
    /// Start in the map view.
    pub map: bool,
}

impl LaunchOptions {
    /// Whether the client logs in by itself instead of showing the login screen.
    pub fn scripted_login(&self) -> Option<(String, String)> {
        self.user.clone().zip(self.password.clone())
    }

    /// Whether the client runs unattended (and should render every pipeline before
    /// its first frame).
    pub fn unattended(&self) -> bool {
        self.capture.is_some() || self.bench_ships.is_some()
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use super::*;
    use clap::Parser;

    /// Galaxy's 3D client.
    #[derive(Parser, Debug)]
    #[command(name = "galaxy-client", version)]
    struct Cli {
        /// Server HTTP address.
        #[arg(long, env = "GALAXY_SERVER", default_value = "http://127.0.0.1:8080")]
        server: String,
        /// Username (with --password, skips the login screen).
        #[arg(long, env = "GALAXY_USER")]
        user: Option<String>,
        /// Password.
        #[arg(long, env = "GALAXY_PASSWORD", hide_env_values = true)]
        password: Option<String>,
        /// Register the account first (an existing account is fine).
        #[arg(long)]
        register: bool,
        /// Once the flight view is live, save a PNG screenshot here (and the HUD as
        /// JSON next to it), then exit.
        #[arg(long, value_name = "PATH")]
        screenshot_after_live: Option<PathBuf>,
        /// Spawn N fake ships around the own ship and log the average frame time.
        #[arg(long, value_name = "N")]
        bench_ships: Option<usize>,
        /// Initial camera yaw around the ship (degrees; 0 is behind it).
        #[arg(long, value_name = "DEG", allow_hyphen_values = true)]
        camera_yaw: Option<f32>,
        /// Initial camera pitch above the horizon (degrees).
        #[arg(long, value_name = "DEG", allow_hyphen_values = true)]
        camera_pitch: Option<f32>,
        /// Start in the map view.
        #[arg(long)]
        map: bool,
        /// Anti-aliasing samples per pixel: 1 (off), 2, 4 or 8. Software renderers
        /// draw about a third faster with 1.
        #[arg(long, env = "GALAXY_MSAA", default_value = "4", value_parser = parse_msaa)]
        msaa: Msaa,
        /// How much the view may cost: low (coarser globes, no atmosphere rim or
        /// Sun glow) or high.
        #[arg(long, env = "GALAXY_QUALITY", default_value = "high")]
        quality: Quality,
    }

    fn parse_msaa(text: &str) -> Result<Msaa, String> {
        match text {
            "1" => Ok(Msaa::Off),
            "2" => Ok(Msaa::Sample2),
            "4" => Ok(Msaa::Sample4),
            "8" => Ok(Msaa::Sample8),
            _ => Err(format!("{text:?} is not 1, 2, 4 or 8")),
        }
    }

    impl LaunchOptions {
        /// Options from the command line and `GALAXY_*` variables.
        pub fn from_environment() -> Result<Self, String> {
            let cli = Cli::try_parse().map_err(|e| e.to_string())?;
            Ok(Self {
                server: cli.server.trim_end_matches('/').to_owned(),
                user: cli.user,
                password: cli.password,
                register: cli.register,
                capture: cli.screenshot_after_live,
                bench_ships: cli.bench_ships,
                view: InitialView {
                    yaw: cli.camera_yaw,
                    pitch: cli.camera_pitch,
                    map: cli.map,
                },
                msaa: cli.msaa,
                quality: cli.quality,
            })
        }
    }
}

#[cfg(target_arch = "wasm32")]
impl LaunchOptions {
    /// In the browser the server is the one that served the page, the quality
    /// comes from the address (`?quality=low`) and everything else from the login
    /// screen.
    pub fn from_environment() -> Result<Self, String> {
        let location = web_sys::window().map(|window| window.location());
        let server = location
            .as_ref()
            .and_then(|location| location.origin().ok())
            .unwrap_or_default();
        let search = location
            .and_then(|location| location.search().ok())
            .unwrap_or_default();
        let quality = url::form_urlencoded::parse(search.trim_start_matches('?').as_bytes())
            .find(|(key, _)| key == "quality")
            .map(|(_, value)| value.parse())
            .transpose()?
            .unwrap_or_default();
        Ok(Self {
            server,
            quality,
            ..Self::default()
        })
    }
}
