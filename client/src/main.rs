//! Galaxy's 3D client: a login screen, then the flight view of the Solar System
//! with the own ship, other ships, a HUD, keyboard and mouse controls and an admin
//! console, fed by the server's 20 Hz states.
//!
//! `main` only reads the launch options and builds the `App` from one plugin per
//! concern; every concern lives in its own module.

mod camera;
#[cfg(any(target_arch = "wasm32", test))]
mod canvas;
mod capture;
mod console;
mod controls;
mod hud;
mod login;
mod motion;
mod navball;
mod net;
mod node_editor;
mod options;
mod orbit_line;
mod page;
mod plan;
mod prediction;
mod scene;
mod tags;
mod target;
mod transfer;
mod warmup;
mod warp;

use bevy::asset::{AssetMetaCheck, AssetPlugin};
use bevy::prelude::*;
use bevy::render::RenderPlugin;
use bevy::window::WindowResolution;

use crate::options::LaunchOptions;

/// The client's screens.
#[derive(States, Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub(crate) enum Screen {
    /// Server address and credentials.
    #[default]
    Login,
    /// Logged in: connecting, then flying.
    Flight,
}

/// Where the textures are: the page's `assets/` in the browser; natively
/// `GALAXY_ASSETS`, else the checkout's `assets/` the client was built from.
fn assets_dir() -> String {
    if cfg!(target_arch = "wasm32") {
        return "assets".into();
    }
    std::env::var("GALAXY_ASSETS")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../assets").into())
}

fn main() -> AppExit {
    let options = match LaunchOptions::from_environment() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}");
            return AppExit::error();
        }
    };
    let mut app = App::new();
    app.add_plugins(
        DefaultPlugins
            .set(WindowPlugin {
                primary_window: Some(primary_window()),
                ..default()
            })
            .set(AssetPlugin {
                file_path: assets_dir(),
                // Our assets have no `.meta` files: asking for them costs the
                // browser a failed request per texture.
                meta_check: AssetMetaCheck::Never,
                ..default()
            })
            .set(RenderPlugin {
                // Screenshots on a software renderer come out black while pipelines
                // still compile in the background; waiting for them costs start-up time.
                synchronous_pipeline_compilation: options.unattended(),
                ..default()
            }),
    );
    app.insert_resource(options);
    // Space is black, not Bevy's default grey.
    app.insert_resource(ClearColor(Color::BLACK));
    app.add_plugins(plugin);
    app.run()
}

/// The game's window: 1280×800 natively; in the browser the page's canvas, sized
/// by the page (and its device pixel ratio), with the browser's own shortcuts
/// (Tab, F5, Ctrl+R...) kept from the game's keys while the canvas has focus.
fn primary_window() -> Window {
    Window {
        title: "Galaxy".into(),
        resolution: WindowResolution::new(1280, 800),
        canvas: Some("#galaxy".into()),
        fit_canvas_to_parent: true,
        prevent_default_event_handling: true,
        ..default()
    }
}

/// Frame order of the client's `Update` work: read the pilot, move everything to
/// the present, put it in render space around the floating origin, then draw the
/// overlays that depend on where things ended up.
#[derive(SystemSet, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum ClientSystems {
    /// Keyboard, mouse and console input.
    Input,
    /// Clock, bodies and ships extrapolated to now.
    Extrapolate,
    /// Floating origin, transforms and camera.
    Place,
    /// HUD, labels, orbit line, captures.
    Present,
}

/// The root plugin: every concern of the client.
fn plugin(app: &mut App) {
    app.init_state::<Screen>();
    app.configure_sets(
        Update,
        (
            ClientSystems::Input,
            ClientSystems::Extrapolate,
            ClientSystems::Place,
            ClientSystems::Present,
        )
            .chain(),
    );
    app.add_plugins((
        login::plugin,
        net::plugin,
        scene::plugin,
        camera::plugin,
        orbit_line::plugin,
        hud::plugin,
        controls::plugin,
        console::plugin,
        warp::plugin,
        capture::plugin,
        page::plugin,
        plan::plugin,
        node_editor::plugin,
        prediction::plugin,
        target::plugin,
    ));
    app.add_plugins((
        transfer::plugin,
        tags::plugin,
        navball::plugin,
        warmup::plugin,
    ));
    #[cfg(target_arch = "wasm32")]
    app.add_plugins(canvas::plugin);
}
