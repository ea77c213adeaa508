//! Unattended modes: `--screenshot-after-live PATH` saves the flight view once it
//! shows live data (and the HUD text and where Earth is on screen as JSON next to
//! it), then exits; `--bench-ships N` logs the frame time with N ships in view.

use std::path::{Path, PathBuf};

use bevy::platform::time::Instant;
use bevy::prelude::*;
use bevy::render::view::screenshot::{Screenshot, ScreenshotCaptured, save_to_disk};
use glam::DVec3;
use serde::Serialize;

use crate::ClientSystems;
use crate::camera::OrbitCamera;
use crate::hud::HudText;
use crate::net::{Link, LinkStatus};
use crate::options::LaunchOptions;
use crate::scene::bodies::BodySystem;
use crate::scene::globes::GlobeTextures;
use crate::scene::origin::{FloatingOrigin, to_render};
use crate::scene::ships::{OtherShipModel, OwnShipNow};
use crate::scene::sky::SkyShaders;

pub(super) fn plugin(app: &mut App) {
    app.init_resource::<Capture>();
    app.add_systems(
        Update,
        (measure_frames, take_screenshot, give_up_waiting)
            .chain()
            .in_set(ClientSystems::Present)
            .run_if(|options: Res<LaunchOptions>| options.unattended()),
    );
}

/// Frames the view must have been live before it is captured, so extrapolation,
/// labels and the HUD have settled.
const LIVE_FRAMES: u32 = 20;
/// Seconds to wait for bodies after the own ship is live.
const BODY_GRACE_S: f32 = 20.0;
/// How long the client may take to go live before the run counts as failed.
const LIVE_TIMEOUT_S: f32 = 90.0;
/// Bench: seconds of warm-up, then of measurement.
const BENCH_WARMUP_S: f64 = 3.0;
const BENCH_MEASURE_S: f64 = 6.0;

/// Progress of the unattended run.
#[derive(Resource, Default)]
struct Capture {
    live_frames: u32,
    live_since: Option<Instant>,
    bench: Option<Bench>,
    bench_done: bool,
    shot_taken: bool,
}

/// Frame times collected for the benchmark.
struct Bench {
    started: Instant,
    frames: Vec<f64>,
}

/// What the sidecar JSON says about the captured frame.
#[derive(Serialize, Debug, Default)]
pub(crate) struct Sidecar {
    /// Connection status word.
    pub connection: String,
    /// Whether the connection is up.
    pub connected: bool,
    /// HUD flight block.
    pub hud: String,
    /// Recent events.
    pub events: Vec<String>,
    /// Viewport size (logical px).
    pub viewport: [f32; 2],
    /// Earth's centre projected on screen, if in front of the camera.
    pub earth_center: Option<[f32; 2]>,
    /// Fraction of a grid of screen points whose ray hits Earth.
    pub earth_coverage: f32,
    /// Mean screen position of the grid points that hit Earth.
    pub earth_visible_at: Option<[f32; 2]>,
    /// Bodies with a known state.
    pub bodies_known: usize,
    /// Surface textures asked for, and how many of them loaded.
    pub textures: usize,
    /// Of those, loaded.
    pub textures_loaded: usize,
    /// Frames the view was live before capture.
    pub live_frames: u32,
    /// Benchmark results, when one ran.
    pub bench: Option<BenchResult>,
}

/// Frame-time statistics.
#[derive(Serialize, Debug, Clone, Copy, PartialEq)]
pub(crate) struct BenchResult {
    /// Fake ships in view.
    pub ships: usize,
    /// Frames measured.
    pub frames: usize,
    /// Mean frame time (ms).
    pub mean_ms: f64,
    /// 95th percentile frame time (ms).
    pub p95_ms: f64,
}

/// Mean and 95th percentile of frame times in seconds.
pub(crate) fn frame_stats(ships: usize, frames: &[f64]) -> Option<BenchResult> {
    if frames.is_empty() {
        return None;
    }
    let mut sorted = frames.to_vec();
    sorted.sort_by(f64::total_cmp);
    let p95 = sorted[((sorted.len() as f64 * 0.95) as usize).min(sorted.len() - 1)];
    Some(BenchResult {
        ships,
        frames: frames.len(),
        mean_ms: frames.iter().sum::<f64>() / frames.len() as f64 * 1_000.0,
        p95_ms: p95 * 1_000.0,
    })
}

/// Whether a ray from `origin` along unit `direction` hits the sphere.
pub(crate) fn ray_hits_sphere(origin: DVec3, direction: DVec3, center: DVec3, radius: f64) -> bool {
    let to_center = center - origin;
    let along = to_center.dot(direction);
    if along < 0.0 {
        return to_center.length_squared() <= radius * radius;
    }
    (to_center - direction * along).length_squared() <= radius * radius
}

fn is_live(link: &Link, ship: &OwnShipNow) -> bool {
    link.status == LinkStatus::Connected && ship.live
}

fn measure_frames(
    options: Res<LaunchOptions>,
    time: Res<Time<Real>>,
    link: Res<Link>,
    ship: Res<OwnShipNow>,
    others: Query<(), With<OtherShipModel>>,
    mut capture: ResMut<Capture>,
    mut exit: MessageWriter<AppExit>,
) {
    let Some(count) = options.bench_ships else {
        return;
    };
    if capture.bench_done || !is_live(&link, &ship) || others.iter().count() < count {
        return;
    }
    let bench = capture.bench.get_or_insert_with(|| Bench {
        started: Instant::now(),
        frames: Vec::new(),
    });
    let elapsed = bench.started.elapsed().as_secs_f64();
    if elapsed < BENCH_WARMUP_S {
        return;
    }
    bench.frames.push(time.delta_secs_f64());
    if elapsed < BENCH_WARMUP_S + BENCH_MEASURE_S {
        return;
    }
    if let Some(result) = frame_stats(count, &bench.frames) {
        info!(
            "bench: {} ships in view, {} frames, mean {:.1} ms ({:.1} FPS), p95 {:.1} ms",
            result.ships,
            result.frames,
            result.mean_ms,
            1_000.0 / result.mean_ms,
            result.p95_ms
        );
        println!(
            "BENCH {}",
            serde_json::to_string(&result).unwrap_or_default()
        );
    }
    capture.bench_done = true;
    if options.capture.is_none() {
        exit.write(AppExit::Success);
    }
}

fn take_screenshot(
    mut commands: Commands,
    options: Res<LaunchOptions>,
    link: Res<Link>,
    ship: Res<OwnShipNow>,
    hud: Res<HudText>,
    bodies: Option<Res<BodySystem>>,
    (textures, shaders, assets): (Res<GlobeTextures>, Res<SkyShaders>, Res<AssetServer>),
    origin: Res<FloatingOrigin>,
    camera: Query<(&Camera, &Transform), With<OrbitCamera>>,
    mut capture: ResMut<Capture>,
) {
    let Some(path) = options.capture.clone() else {
        return;
    };
    if capture.shot_taken || !is_live(&link, &ship) {
        return;
    }
    let Some(bodies) = bodies else {
        return;
    };
    let live_since = *capture.live_since.get_or_insert_with(Instant::now);
    capture.live_frames += 1;
    let all_known = bodies.known.iter().all(|k| *k);
    let loaded = textures
        .files
        .iter()
        .filter(|texture| assets.is_loaded(texture.id()))
        .count();
    let settled = crate::scene::looks_loaded(&textures, &shaders, &assets);
    let waited = live_since.elapsed().as_secs_f32() > BODY_GRACE_S;
    let bench_pending = options.bench_ships.is_some() && !capture.bench_done;
    if capture.live_frames < LIVE_FRAMES || !(all_known && settled || waited) || bench_pending {
        return;
    }
    let Ok((camera, transform)) = camera.single() else {
        return;
    };
    let mut sidecar = Sidecar {
        connection: link.status.label(),
        connected: link.status == LinkStatus::Connected,
        hud: hud.flight.clone(),
        events: hud.events.clone(),
        bodies_known: bodies.known.iter().filter(|k| **k).count(),
        textures: textures.files.len(),
        textures_loaded: loaded,
        live_frames: capture.live_frames,
        bench: capture
            .bench
            .as_ref()
            .and_then(|b| frame_stats(options.bench_ships.unwrap_or(0), &b.frames)),
        ..default()
    };
    locate_earth(&mut sidecar, &bodies, origin.0, camera, transform);
    if let Err(e) = write_sidecar(&path, &sidecar) {
        error!("cannot write the capture sidecar: {e}");
    }
    info!("capturing the flight view to {}", path.display());
    commands
        .spawn(Screenshot::primary_window())
        .observe(save_to_disk(path))
        .observe(
            |_: On<ScreenshotCaptured>, mut exit: MessageWriter<AppExit>| {
                exit.write(AppExit::Success);
            },
        );
    capture.shot_taken = true;
}

/// Where Earth is on screen: its centre's projection and the part of a 64×40 grid
/// of screen points that sees it.
fn locate_earth(
    sidecar: &mut Sidecar,
    bodies: &BodySystem,
    origin: DVec3,
    camera: &Camera,
    transform: &Transform,
) {
    let Some(size) = camera.logical_viewport_size() else {
        return;
    };
    sidecar.viewport = size.to_array();
    let earth = bodies
        .info
        .iter()
        .flatten()
        .find(|b| b.name == "Earth")
        .and_then(|b| Some((bodies.position(b.id)?, b.radius)));
    let Some((position, radius)) = earth else {
        return;
    };
    let view = GlobalTransform::from(*transform);
    let center = to_render(position, origin);
    sidecar.earth_center = camera
        .world_to_viewport(&view, center)
        .ok()
        .map(|p| p.to_array());
    let (columns, rows) = (64, 40);
    let mut hits = Vec::new();
    for row in 0..rows {
        for column in 0..columns {
            let point = Vec2::new(
                (column as f32 + 0.5) / columns as f32 * size.x,
                (row as f32 + 0.5) / rows as f32 * size.y,
            );
            let Ok(ray) = camera.viewport_to_world(&view, point) else {
                continue;
            };
            let hit = ray_hits_sphere(
                ray.origin.as_dvec3(),
                ray.direction.as_dvec3(),
                center.as_dvec3(),
                radius,
            );
            if hit {
                hits.push(point);
            }
        }
    }
    sidecar.earth_coverage = hits.len() as f32 / (columns * rows) as f32;
    if !hits.is_empty() {
        let mean = hits.iter().sum::<Vec2>() / hits.len() as f32;
        sidecar.earth_visible_at = Some(mean.to_array());
    }
}

fn write_sidecar(screenshot: &Path, sidecar: &Sidecar) -> std::io::Result<()> {
    let json = serde_json::to_string_pretty(sidecar).map_err(std::io::Error::other)?;
    std::fs::write(sidecar_path(screenshot), json)
}

/// The sidecar's path: the screenshot's with a `.json` extension.
pub(crate) fn sidecar_path(screenshot: &Path) -> PathBuf {
    screenshot.with_extension("json")
}

/// Ends a capture run that never went live, with the reason in the sidecar.
fn give_up_waiting(
    options: Res<LaunchOptions>,
    time: Res<Time<Real>>,
    link: Res<Link>,
    capture: Res<Capture>,
    mut exit: MessageWriter<AppExit>,
) {
    if capture.shot_taken || time.elapsed_secs() < LIVE_TIMEOUT_S {
        return;
    }
    let reason = format!("not live after {LIVE_TIMEOUT_S} s: {}", link.status.label());
    error!("{reason}");
    if let Some(path) = &options.capture {
        let sidecar = Sidecar {
            connection: link.status.label(),
            hud: reason,
            ..default()
        };
        let _ = write_sidecar(path, &sidecar);
    }
    exit.write(AppExit::error());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rays_hit_spheres_in_front_only() {
        let center = DVec3::new(0.0, 0.0, -10.0);
        assert!(ray_hits_sphere(DVec3::ZERO, -DVec3::Z, center, 1.0));
        assert!(
            !ray_hits_sphere(DVec3::ZERO, DVec3::Z, center, 1.0),
            "behind"
        );
        assert!(!ray_hits_sphere(
            DVec3::ZERO,
            DVec3::new(0.6, 0.0, -0.8),
            center,
            1.0
        ));
        assert!(
            ray_hits_sphere(DVec3::ZERO, DVec3::Z, DVec3::ZERO, 1.0),
            "inside"
        );
    }

    #[test]
    fn frame_statistics() {
        let frames = [0.01; 19].iter().copied().chain([0.1]).collect::<Vec<_>>();
        let stats = frame_stats(5, &frames).expect("frames");
        assert!((stats.mean_ms - 14.5).abs() < 1e-9);
        assert!((stats.p95_ms - 100.0).abs() < 1e-9);
        assert_eq!(frame_stats(5, &[]), None);
        assert_eq!(
            sidecar_path(Path::new("/tmp/a.png")),
            PathBuf::from("/tmp/a.json")
        );
    }
}
