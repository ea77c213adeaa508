//! Shader warm-up behind the login screen. A software renderer takes seconds to
//! compile each new pipeline, and in the browser a frame that compiles blocks the
//! page, the network included: compiled on the first view of the Solar System, the
//! pipelines froze the page past the server's 15 s timeout. So every look the flight
//! view has (each kind of body, the ships, the stars) is drawn once, too small to see
//! and under the login screen, while the player types; the login goes on to the
//! flight only once the surface maps are in and no pipeline is left to compile.

use bevy::diagnostic::FrameCount;
use bevy::platform::time::Instant;
use bevy::prelude::*;
use bevy::render::render_resource::{CachedPipeline, PipelineCache, PipelineDescriptor};
use bevy::render::{MainWorld, RenderApp};
use galaxy_shared::protocol::BodyInfo;

use crate::Screen;
use crate::camera;
use crate::options::LaunchOptions;
use crate::scene::bodies::BodyLooks;
use crate::scene::globes::GlobeTextures;
use crate::scene::ships::{OtherShipLooks, own_ship_parts};
use crate::scene::sky::SkyShaders;
use crate::scene::{self, stars};

pub(super) fn plugin(app: &mut App) {
    app.init_resource::<Warmup>();
    app.add_systems(
        Update,
        (start_warmup, reveal_samples, watch_warmup)
            .chain()
            .run_if(in_state(Screen::Login)),
    );
    if let Some(render) = app.get_sub_app_mut(RenderApp) {
        render.add_systems(ExtractSchedule, count_waiting_pipelines);
    }
}

/// One body of each look (see `scene::globes` and `scene::sky`): the Sun; a
/// mapped globe with city lights and air; a mapped globe with rings and air; a
/// globe in its colour with air; a mapped airless one.
const SAMPLE_BODIES: [&str; 5] = ["Sun", "Earth", "Saturn", "Venus", "Moon"];

/// Frames in a row with nothing left to load or compile before the flight may start:
/// a texture that has just arrived is prepared, specialised and compiled over the
/// frames after it.
const SETTLE_FRAMES: u32 = 3;

/// Longest the login waits for the warm-up (s): past it the flight starts anyway,
/// and whatever is still missing compiles in flight.
const PATIENCE_S: f32 = 60.0;

/// How far the warm-up has got.
#[derive(Resource, Debug, Default)]
pub(crate) struct Warmup {
    /// When the samples were spawned.
    started: Option<Instant>,
    /// Pipelines the renderer still had to compile when it last extracted a frame.
    waiting: usize,
    /// Frames in a row with every asset in and no pipeline waiting.
    settled: u32,
    /// Whether the flight may start.
    pub ready: bool,
}

/// The warm-up's camera and samples, gone with the login screen.
#[derive(Component)]
struct Sample;

/// Spawns the samples after the first frame, so that the page's first download and
/// first picture (the login screen) do not wait for the surface maps.
fn start_warmup(
    mut commands: Commands,
    frames: Res<FrameCount>,
    options: Res<LaunchOptions>,
    mut warmup: ResMut<Warmup>,
    mut looks: BodyLooks,
    ships: Res<OtherShipLooks>,
) {
    if warmup.started.is_some() || frames.0 == 0 {
        return;
    }
    warmup.started = Some(Instant::now());
    let despawn = DespawnOnExit(Screen::Login);
    commands.spawn((
        Name::new("Warm-up camera"),
        camera::lens(&options),
        // Under the login screen's camera, which clears the window after it.
        Camera {
            order: -1,
            ..default()
        },
        despawn.clone(),
    ));
    // Far under a pixel across, 10 m in front of the camera, side by side.
    let sample = |slot: f32| {
        (
            Sample,
            Transform::from_xyz(slot * 1e-3, 0.0, -10.0).with_scale(Vec3::splat(1e-6)),
            Visibility::default(),
            despawn.clone(),
        )
    };
    for (slot, name) in SAMPLE_BODIES.into_iter().enumerate() {
        let mut entity =
            commands.spawn((Name::new(format!("Warm-up {name}")), sample(slot as f32)));
        looks.dress(&mut entity, &sample_body(name));
    }
    let ship = own_ship_parts(&mut looks.meshes, &mut looks.materials);
    commands.spawn((sample(-1.0), ship));
    commands.spawn((sample(-2.0), ships.flying()));
    let stars = stars::sky_of_stars(&mut looks.meshes, &mut looks.materials);
    commands.spawn((Sample, stars, despawn));
}

/// A catalogue entry with only what chooses a body's look: its name, and whether
/// it has a parent (the Sun has none).
fn sample_body(name: &str) -> BodyInfo {
    BodyInfo {
        id: 0,
        name: name.into(),
        parent: (name != "Sun").then_some(0),
        gm: 0.0,
        radius: 1.0,
        color: [0.5; 3],
        rotation: Default::default(),
        oblateness: None,
    }
}

/// Shows the parts the flight view keeps hidden until placed (the Sun's glare).
fn reveal_samples(
    samples: Query<Entity, Added<Sample>>,
    children: Query<&Children>,
    mut visibility: Query<&mut Visibility>,
) {
    for sample in &samples {
        for part in children.iter_descendants(sample) {
            if let Ok(mut visibility) = visibility.get_mut(part) {
                *visibility = Visibility::Inherited;
            }
        }
    }
}

fn watch_warmup(
    mut warmup: ResMut<Warmup>,
    textures: Res<GlobeTextures>,
    shaders: Res<SkyShaders>,
    assets: Res<AssetServer>,
) {
    let Some(started) = warmup.started else {
        return;
    };
    if warmup.ready {
        return;
    }
    let quiet = warmup.waiting == 0 && scene::looks_loaded(&textures, &shaders, &assets);
    warmup.settled = if quiet { warmup.settled + 1 } else { 0 };
    if warmup.settled >= SETTLE_FRAMES {
        info!(
            "shaders warmed up in {:.1} s",
            started.elapsed().as_secs_f32()
        );
        warmup.ready = true;
    } else if started.elapsed().as_secs_f32() > PATIENCE_S {
        warn!(
            "the shader warm-up is still waiting for {} pipelines after {PATIENCE_S} s; going on",
            warmup.waiting
        );
        warmup.ready = true;
    }
}

/// Tells the main world how many pipelines are still to compile (the render world
/// can write to it only while it extracts).
fn count_waiting_pipelines(mut main_world: ResMut<MainWorld>, pipelines: Res<PipelineCache>) {
    if let Some(mut warmup) = main_world.get_resource_mut::<Warmup>() {
        // Render pipelines only: on WebGL2, which has no compute shaders, Bevy's
        // sparse buffer update pipeline waits forever for its shader.
        let all: Vec<&CachedPipeline> = pipelines.pipelines().collect();
        warmup.waiting = pipelines
            .waiting_pipelines()
            .filter(|&id| {
                all.get(id).is_some_and(|pipeline| {
                    matches!(
                        pipeline.descriptor,
                        PipelineDescriptor::RenderPipelineDescriptor(_)
                    )
                })
            })
            .count();
    }
}
