//! Level of detail for round bodies: every frame each body's quadtree (see
//! [`super::cube_sphere`]) is split where a chunk's flat triangles would stand
//! off the true sphere by more than [`Detail::max_error_px`] on screen, as seen
//! from the camera. A body that needs no split is one mesh (its globe's own);
//! a near one is drawn as chunks, each placed in f64 around its own middle, so the
//! ground under a landed ship holds still to the millimetre. Chunks beyond the
//! horizon are not drawn.

use std::collections::HashMap;

use bevy::prelude::*;
use glam::{DQuat, DVec3};

use super::GameClock;
use super::bodies::{BodySystem, CelestialBody};
use super::cube_sphere::{ChunkKey, chunk_mesh};
use super::globes::Turning;
use super::origin::{FloatingOrigin, WorldPosition};
use crate::ClientSystems;
use crate::options::{LaunchOptions, Quality};

pub(super) fn plugin(app: &mut App) {
    app.init_resource::<Detail>();
    app.add_systems(
        Update,
        choose_chunks
            .in_set(ClientSystems::Place)
            .before(super::origin::place_in_render_space)
            .run_if(resource_exists::<BodySystem>),
    );
    app.add_systems(
        Update,
        (
            dress_chunks::<StandardMaterial>,
            dress_chunks::<super::ground::GroundMaterial>,
        ),
    );
}

/// Puts a new chunk in its body's material of type `M` (bodies whose material is of
/// another type are left to that type's instance).
pub(super) fn dress_chunks<M: Material>(
    mut commands: Commands,
    chunks: Query<(Entity, &Chunk), Added<Chunk>>,
    bodies: Query<&MeshMaterial3d<M>>,
) {
    for (entity, chunk) in &chunks {
        if let Ok(material) = bodies.get(chunk.body) {
            commands.entity(entity).insert(material.clone());
        }
    }
}

/// How fine the globes are.
#[derive(Resource, Clone, Copy, Debug, PartialEq)]
pub(crate) struct Detail {
    /// Most a chunk's triangles may stand off the sphere, in screen pixels.
    pub max_error_px: f64,
}

impl FromWorld for Detail {
    fn from_world(world: &mut World) -> Self {
        let quality = world
            .get_resource::<LaunchOptions>()
            .map_or_else(Quality::default, |options| options.quality);
        Self {
            max_error_px: match quality {
                Quality::Low => 4.0,
                Quality::High => 1.0,
            },
        }
    }
}

/// Deepest split: chunks of about 40 m on Earth, 10 m on the Moon.
const MAX_LEVEL: u8 = 18;

/// Most chunks one body is drawn with; past it the coarsest splits wait.
const MAX_CHUNKS: usize = 400;

/// Chunk meshes kept per body once built; the least recently used go first.
const CACHED_MESHES: usize = 1_024;

/// A body drawn in chunks: its globe mesh, to put back when it is far again,
/// and its chunks.
#[derive(Component)]
pub(super) struct Chunked {
    /// The body's own mesh, drawn while no chunk needs splitting.
    globe: Handle<Mesh>,
    /// The chunk entities drawn now.
    drawn: HashMap<ChunkKey, Entity>,
    /// Built meshes, with the frame each was last drawn.
    meshes: HashMap<ChunkKey, (Handle<Mesh>, u64)>,
}

/// One chunk of a body's surface.
#[derive(Component, Clone, Copy, Debug)]
pub(super) struct Chunk {
    /// The body entity whose material it wears.
    pub body: Entity,
}

/// The chunks of a unit sphere to draw for a camera at `eye` (body-fixed, in
/// radii): split wherever a chunk's sag over its distance exceeds `max_error`
/// (radians), skipping chunks wholly below the horizon.
pub(crate) fn select(eye: DVec3, max_error: f64) -> Vec<ChunkKey> {
    let height = eye.length();
    // The angle from the point under the camera to its horizon.
    let horizon = (height > 1.0).then(|| (1.0 / height).acos());
    let mut drawn = Vec::new();
    let mut open: Vec<ChunkKey> = ChunkKey::roots().collect();
    while let Some(key) = open.pop() {
        let reach = key.angular_radius();
        let center = key.center();
        if let Some(horizon) = horizon
            && eye.angle_between(center) - reach > horizon
        {
            continue;
        }
        // The nearest the chunk comes to the eye: its cap's point nearest the point
        // under the eye, less the sag its flat cells dip below the sphere.
        let gap = (eye.angle_between(center) - reach).max(0.0);
        let nearest = (height * height + 1.0 - 2.0 * height * gap.cos())
            .max(0.0)
            .sqrt();
        let distance = (nearest - key.sag()).max(1e-9);
        let coarse = key.sag() / distance > max_error;
        if coarse && key.level < MAX_LEVEL && drawn.len() + open.len() < MAX_CHUNKS {
            open.extend(key.children());
        } else {
            drawn.push(key);
        }
    }
    drawn
}

/// Whether `keys` are roots only (those beyond the horizon left out): the body is
/// drawn whole, as one mesh.
fn is_whole(keys: &[ChunkKey]) -> bool {
    keys.iter().all(|k| k.level == 0)
}

#[expect(
    clippy::too_many_arguments,
    reason = "one system ties the camera, the bodies and the chunk entities together"
)]
fn choose_chunks(
    mut commands: Commands,
    mut frame: Local<u64>,
    detail: Res<Detail>,
    clock: Res<GameClock>,
    system: Res<BodySystem>,
    origin: Res<FloatingOrigin>,
    camera: Single<(&Transform, &Projection, &Camera), With<Camera3d>>,
    mut bodies: Query<(
        Entity,
        &CelestialBody,
        &WorldPosition,
        &Turning,
        Option<&Mesh3d>,
        Option<&mut Chunked>,
    )>,
    mut chunks: Query<
        (&mut WorldPosition, &mut Transform),
        (With<Chunk>, Without<CelestialBody>, Without<Camera3d>),
    >,
    mut meshes: ResMut<Assets<Mesh>>,
) {
    *frame += 1;
    let (camera_transform, projection, camera) = camera.into_inner();
    let fov = match projection {
        Projection::Perspective(perspective) => f64::from(perspective.fov),
        _ => 1.0,
    };
    let height_px = camera
        .logical_viewport_size()
        .map_or(720.0, |size| f64::from(size.y.max(1.0)));
    let max_error = detail.max_error_px * fov / height_px;
    let eye_world = origin.0 + camera_transform.translation.as_dvec3();
    for (entity, body, center, turning, globe, chunked) in &mut bodies {
        let info = system
            .info
            .get(usize::from(body.id))
            .and_then(Option::as_ref);
        let (Some(info), Some(_)) = (info, system.position(body.id)) else {
            continue;
        };
        let radius = info.radius;
        let orientation = turning.0.orientation(clock.now);
        let eye = orientation.inverse() * (eye_world - center.0) / radius;
        let keys = select(eye, max_error);
        let whole = is_whole(&keys);
        let Some(mut chunked) = chunked else {
            if let (false, Some(globe)) = (whole, globe) {
                commands.entity(entity).remove::<Mesh3d>().insert(Chunked {
                    globe: globe.0.clone(),
                    drawn: HashMap::new(),
                    meshes: HashMap::new(),
                });
            }
            continue;
        };
        if whole {
            for (_, chunk) in chunked.drawn.drain() {
                commands.entity(chunk).despawn();
            }
            let globe = Mesh3d(chunked.globe.clone());
            commands.entity(entity).remove::<Chunked>().insert(globe);
            continue;
        }
        let now = *frame;
        let wanted: std::collections::HashSet<ChunkKey> = keys.iter().copied().collect();
        chunked.drawn.retain(|key, chunk| {
            let keep = wanted.contains(key);
            if !keep {
                commands.entity(*chunk).despawn();
            }
            keep
        });
        for key in keys {
            let place = chunk_place(center.0, orientation, radius, key);
            if let Some(&chunk) = chunked.drawn.get(&key) {
                if let Ok((mut position, mut transform)) = chunks.get_mut(chunk) {
                    position.0 = place;
                    transform.rotation = orientation.as_quat();
                }
                if let Some(entry) = chunked.meshes.get_mut(&key) {
                    entry.1 = now;
                }
                continue;
            }
            let mesh = chunked
                .meshes
                .entry(key)
                .or_insert_with(|| (meshes.add(chunk_mesh(key, radius)), now));
            mesh.1 = now;
            let mesh = mesh.0.clone();
            let chunk = commands
                .spawn((
                    Name::new("Surface chunk"),
                    Chunk { body: entity },
                    WorldPosition(place),
                    Transform::from_rotation(orientation.as_quat()),
                    Mesh3d(mesh),
                ))
                .id();
            chunked.drawn.insert(key, chunk);
        }
        if chunked.meshes.len() > CACHED_MESHES {
            let mut ages: Vec<u64> = chunked.meshes.values().map(|(_, used)| *used).collect();
            ages.sort_unstable();
            let cutoff = ages[ages.len() - CACHED_MESHES / 2];
            chunked.meshes.retain(|_, (_, used)| *used >= cutoff);
        }
    }
}

/// Barycentric position of `key`'s middle on a body at `center` turned by
/// `orientation`.
fn chunk_place(center: DVec3, orientation: DQuat, radius: f64, key: ChunkKey) -> DVec3 {
    center + orientation * key.center() * radius
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Where a point on the flat triangles of `keys` can stand furthest off the
    /// true sphere as seen from `eye` (radians): for every grid cell of every chunk
    /// in front of the horizon, the angle between its diagonal's middle and the
    /// sphere point behind it.
    fn worst_error(eye: DVec3, keys: &[ChunkKey]) -> f64 {
        let grid = f64::from(super::super::cube_sphere::GRID);
        let mut worst: f64 = 0.0;
        for key in keys {
            for j in 0..super::super::cube_sphere::GRID {
                for i in 0..super::super::cube_sphere::GRID {
                    let (s, t) = (f64::from(i) / grid, f64::from(j) / grid);
                    let a = key.direction(s, t);
                    let b = key.direction(s + 1.0 / grid, t + 1.0 / grid);
                    let chord = (a + b) / 2.0;
                    let surface = chord.normalize();
                    // Only what the eye sees: the surface point faces it.
                    if (eye - surface).dot(surface) <= 0.0 {
                        continue;
                    }
                    worst = worst.max((chord - eye).angle_between(surface - eye));
                }
            }
        }
        worst
    }

    const PX: f64 = 0.873 / 800.0;

    #[test]
    fn the_surface_is_within_a_pixel_of_the_sphere_from_orbit_to_the_ground() {
        let earth = 6.371e6;
        let moon = 1.737_4e6;
        for (radius, altitude) in [
            (earth, 400e3),
            (earth, 100e3),
            (moon, 30.0),
            (moon, 5e3),
            (earth, 3.0e7),
        ] {
            let eye = DVec3::new(0.3, -0.8, 0.52).normalize() * (1.0 + altitude / radius);
            let keys = select(eye, PX);
            let worst = worst_error(eye, &keys) / PX;
            assert!(
                worst <= 1.0,
                "{altitude} m over r {radius}: {worst:.2} px off the sphere ({} chunks)",
                keys.len()
            );
            assert!(keys.len() <= MAX_CHUNKS, "{} chunks", keys.len());
        }
    }

    #[test]
    fn a_far_body_is_one_mesh_and_the_round_sphere_needs_the_splits() {
        let far = DVec3::new(0.0, 0.0, 40.0);
        assert!(is_whole(&select(far, PX)));
        // From low orbit the roots alone stand far off the sphere.
        let eye = DVec3::new(1.0 + 100e3 / 6.371e6, 0.0, 0.0);
        let roots: Vec<ChunkKey> = ChunkKey::roots().collect();
        assert!(worst_error(eye, &roots) / PX > 10.0);
    }

    #[test]
    fn chunks_below_the_horizon_are_left_out() {
        let eye = DVec3::new(1.0 + 400e3 / 6.371e6, 0.0, 0.0);
        let keys = select(eye, PX);
        assert!(
            keys.iter().all(|k| k.face != 1),
            "the far side's face is not drawn"
        );
    }
}
