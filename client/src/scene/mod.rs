//! The 3D scene: bodies, ships and stars, extrapolated to the present every frame
//! and drawn around a floating origin at the own ship.

pub(crate) mod bodies;
mod cube_sphere;
pub(crate) mod globes;
mod ground;
pub(crate) mod lod;
mod mipmaps;
mod noise;
pub(crate) mod origin;
mod painted;
pub(crate) mod ships;
pub(crate) mod sky;
pub(crate) mod stars;

use bevy::prelude::*;

use crate::net::Latest;
use crate::{ClientSystems, motion};
use globes::GlobeTextures;
use sky::SkyShaders;

pub(super) fn plugin(app: &mut App) {
    app.init_resource::<GameClock>();
    app.add_systems(
        Update,
        update_game_clock
            .in_set(ClientSystems::Extrapolate)
            .before(bodies::extrapolate_bodies),
    );
    app.add_plugins((
        origin::plugin,
        bodies::plugin,
        globes::plugin,
        ground::plugin,
        lod::plugin,
        ships::plugin,
        sky::plugin,
        stars::plugin,
    ));
}

/// Game time being drawn this frame: the newest state's, run on at its scale.
#[derive(Resource, Clone, Copy, Debug, Default)]
pub(crate) struct GameClock {
    /// Seconds since J2000 (TDB).
    pub now: f64,
    /// Whether any state has arrived yet.
    pub live: bool,
}

fn update_game_clock(latest: Res<Latest>, mut clock: ResMut<GameClock>) {
    if latest.received.is_none() {
        return;
    }
    clock.now = motion::game_time_now(latest.game_time, latest.age(), latest.paused, latest.scale);
    clock.live = true;
}

/// Whether every surface map and sky shader asked for so far is in (or failed, and
/// will not come).
pub(crate) fn looks_loaded(
    textures: &GlobeTextures,
    shaders: &SkyShaders,
    assets: &AssetServer,
) -> bool {
    let textures = textures.files.iter().map(|texture| texture.id().untyped());
    let shaders = shaders.0.iter().map(|shader| shader.id().untyped());
    textures
        .chain(shaders)
        .all(|id| assets.is_loaded(id) || assets.load_state(id).is_failed())
}
