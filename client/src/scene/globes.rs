//! How bodies look: surface maps from `assets/textures`, turned as the server's
//! rotation models turn the bodies, Earth's city lights, and Saturn's rings. The
//! globe meshes ([`super::cube_sphere`]) are built in the body-fixed frame, so a
//! globe's rotation is its body's orientation.

use bevy::image::{ImageAddressMode, ImageLoaderSettings, ImageSampler, ImageSamplerDescriptor};
use bevy::prelude::*;
use galaxy_shared::physics::rotation::RotationModel;
use galaxy_shared::protocol::BodyInfo;

use super::GameClock;
use super::bodies::BodySystem;
use super::ground::Relief;
use super::{mipmaps, painted};
use crate::ClientSystems;

pub(super) fn plugin(app: &mut App) {
    app.init_resource::<GlobeTextures>();
    app.add_systems(Update, mipmap_maps);
    app.add_systems(
        Update,
        turn_bodies
            .in_set(ClientSystems::Place)
            .run_if(resource_exists::<BodySystem>),
    );
}

/// Where a body's surface map comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Map {
    /// `textures/<name in lower case>.png` (see `assets/README.md` for where each
    /// comes from, and why some bodies have none).
    File,
    /// Painted by the client ([`super::painted`]).
    Painted,
}

/// The bodies drawn with a surface map, where it comes from, and the relief under
/// it. Steepness and craters chosen by eye against photographs from orbit: the
/// Moon and Mercury saturated with craters, Mars and Pluto less so, Earth's land
/// hills without; cloud tops and gas giants have no relief.
const SURFACES: [(&str, Map, Relief); 10] = [
    ("Mercury", Map::File, rocky(0.3, 1.0)),
    ("Venus", Map::Painted, Relief::NONE),
    (
        "Earth",
        Map::File,
        Relief {
            water: true,
            ..rocky(0.25, 0.0)
        },
    ),
    ("Moon", Map::File, rocky(0.3, 1.0)),
    ("Mars", Map::File, rocky(0.3, 0.5)),
    ("Jupiter", Map::Painted, Relief::NONE),
    ("Saturn", Map::File, Relief::NONE),
    ("Uranus", Map::File, Relief::NONE),
    ("Neptune", Map::File, Relief::NONE),
    ("Pluto", Map::File, rocky(0.25, 0.4)),
];

/// Dry relief: hills as steep as `roughness`, with `craters` of their share.
const fn rocky(roughness: f32, craters: f32) -> Relief {
    Relief {
        roughness,
        craters,
        water: false,
    }
}

/// Luminance of the brightest city lights (cd/m²): they stand out on the night
/// side, lit only by a faint fill, and are lost in the sunlit ground.
const CITY_LIGHTS_NITS: f32 = 8_000.0;

/// Saturn's rings, from the centre (km): where the ring strip starts and ends.
const SATURN_RINGS_KM: (f64, f64) = (74_510.0, 140_390.0);

/// Segments around the ring's circle.
const RING_SEGMENTS: u32 = 256;

/// Every texture the globes asked for.
#[derive(Resource, Clone, Debug, Default)]
pub(crate) struct GlobeTextures {
    /// Loaded from files, so an unattended capture can wait for them.
    pub files: Vec<Handle<Image>>,
    /// Painted, by body: made once, for the shader warm-up and the flight view both.
    painted: Vec<(String, Handle<Image>)>,
}

impl GlobeTextures {
    /// Starts loading `textures/<file>` (in the background: the browser fetches it
    /// after its first frame) and keeps its handle.
    fn load(&mut self, assets: &AssetServer, file: &str) -> Handle<Image> {
        // The maps wrap round in longitude: chunks across the date line run past 1.
        let handle = assets
            .load_builder()
            .with_settings(|settings: &mut ImageLoaderSettings| {
                settings.sampler = ImageSampler::Descriptor(ImageSamplerDescriptor {
                    address_mode_u: ImageAddressMode::Repeat,
                    ..ImageSamplerDescriptor::linear()
                });
            })
            .load(format!("textures/{file}"));
        // The flight view asks again for what the shader warm-up loaded.
        if !self.files.contains(&handle) {
            self.files.push(handle.clone());
        }
        handle
    }

    /// `body`'s painted map, painted on first use.
    fn paint(&mut self, images: &mut Assets<Image>, body: &BodyInfo) -> Option<Handle<Image>> {
        if let Some((_, handle)) = self.painted.iter().find(|(name, _)| *name == body.name) {
            return Some(handle.clone());
        }
        let handle = images.add(painted::map(&body.name, body.color)?);
        self.painted.push((body.name.clone(), handle.clone()));
        Some(handle)
    }
}

/// A body that turns: its model, and its orientation is set from it every frame.
#[derive(Component, Clone, Copy, Debug)]
pub(super) struct Turning(pub RotationModel);

/// The material of a planet or moon: its surface map where there is one, else its
/// render colour, and the relief under the map.
pub(super) fn surface(
    body: &BodyInfo,
    assets: &AssetServer,
    images: &mut Assets<Image>,
    textures: &mut GlobeTextures,
) -> (StandardMaterial, Relief) {
    let [r, g, b] = body.color;
    let mut material = StandardMaterial {
        base_color: Color::srgb(r, g, b),
        perceptual_roughness: 0.85,
        ..default()
    };
    let surface = SURFACES.iter().find(|(name, ..)| *name == body.name);
    let map = match surface {
        Some((_, Map::File, _)) => {
            let name = body.name.to_lowercase();
            Some(textures.load(assets, &format!("{name}.png")))
        }
        Some((_, Map::Painted, _)) => textures.paint(images, body),
        None => None,
    };
    if map.is_some() {
        material.base_color = Color::WHITE;
        material.base_color_texture = map;
    }
    if body.name == "Earth" {
        // Exposed like the lit ground, so both are in cd/m² through the same camera.
        material.emissive = LinearRgba::rgb(CITY_LIGHTS_NITS, CITY_LIGHTS_NITS, CITY_LIGHTS_NITS);
        material.emissive_exposure_weight = 1.0;
        material.emissive_texture = Some(textures.load(assets, "earth_night.png"));
    }
    let relief = match surface {
        Some(&(_, _, relief)) if material.base_color_texture.is_some() => relief,
        _ => Relief::NONE,
    };
    (material, relief)
}

/// Saturn's rings as a child of its globe (whose unit is its radius), in its
/// equatorial plane; `None` for every other body.
pub(super) fn rings(
    body: &BodyInfo,
    assets: &AssetServer,
    textures: &mut GlobeTextures,
    meshes: &mut Assets<Mesh>,
    materials: &mut Assets<StandardMaterial>,
) -> Option<impl Bundle> {
    if body.name != "Saturn" {
        return None;
    }
    let radius_km = body.radius / 1_000.0;
    let (inner, outer) = SATURN_RINGS_KM;
    let mesh = annulus(
        (inner / radius_km) as f32,
        (outer / radius_km) as f32,
        RING_SEGMENTS,
    );
    let material = StandardMaterial {
        base_color_texture: Some(textures.load(assets, "saturn_rings.png")),
        alpha_mode: AlphaMode::Blend,
        double_sided: true,
        cull_mode: None,
        perceptual_roughness: 1.0,
        ..default()
    };
    Some((
        Name::new("Saturn's rings"),
        Mesh3d(meshes.add(mesh)),
        MeshMaterial3d(materials.add(material)),
        Transform::default(),
    ))
}

/// A flat ring in the XY plane from `inner` to `outer`, facing +Z, with `u` running
/// from 0 at the inner edge to 1 at the outer (a radial strip maps straight onto it).
fn annulus(inner: f32, outer: f32, segments: u32) -> Mesh {
    let mut positions = Vec::new();
    let mut uvs = Vec::new();
    for i in 0..=segments {
        let angle = i as f32 / segments as f32 * std::f32::consts::TAU;
        let (sin, cos) = angle.sin_cos();
        positions.push([inner * cos, inner * sin, 0.0]);
        positions.push([outer * cos, outer * sin, 0.0]);
        uvs.push([0.0, 0.5]);
        uvs.push([1.0, 0.5]);
    }
    let indices = (0..segments)
        .flat_map(|i| {
            let k = 2 * i;
            [k, k + 1, k + 2, k + 2, k + 1, k + 3]
        })
        .collect();
    let normals = vec![[0.0, 0.0, 1.0]; positions.len()];
    super::cube_sphere::triangle_mesh(positions, normals, uvs, indices)
}

/// Gives each map file its mipmaps as it arrives.
fn mipmap_maps(
    mut arrivals: MessageReader<AssetEvent<Image>>,
    textures: Res<GlobeTextures>,
    mut images: ResMut<Assets<Image>>,
) {
    for arrival in arrivals.read() {
        let AssetEvent::LoadedWithDependencies { id } = arrival else {
            continue;
        };
        if !textures.files.iter().any(|file| file.id() == *id) {
            continue;
        }
        if let Some(mut image) = images.get_mut(*id) {
            mipmaps::generate(&mut image);
        }
    }
}

/// ICRF orientation of a globe mesh at `game_time`: the body-fixed frame's.
pub(crate) fn globe_rotation(model: &RotationModel, game_time: f64) -> Quat {
    model.orientation(game_time).as_quat()
}

fn turn_bodies(clock: Res<GameClock>, mut globes: Query<(&Turning, &mut Transform)>) {
    for (turning, mut transform) in &mut globes {
        transform.rotation = globe_rotation(&turning.0, clock.now);
    }
}

#[cfg(test)]
mod tests {
    use bevy::mesh::{Indices, VertexAttributeValues};
    use glam::DVec3;

    use super::*;

    /// Earth's rotation model as the shipped ephemeris gives it.
    fn earth() -> RotationModel {
        let ephemeris: serde_json::Value =
            serde_json::from_str(include_str!("../../../config/ephemeris-j2000.json"))
                .expect("the shipped ephemeris is JSON");
        let earth = ephemeris["bodies"]
            .as_array()
            .and_then(|bodies| bodies.iter().find(|b| b["name"] == "Earth"))
            .expect("the ephemeris has Earth");
        serde_json::from_value(earth["rotation"].clone()).expect("Earth has a rotation model")
    }

    /// Where the map point at (`u`, `v`) sits on the globe mesh (any `u` at a pole).
    fn map_point(mesh: &Mesh, u: f32, v: f32) -> Vec3 {
        let Some(VertexAttributeValues::Float32x2(uvs)) = mesh.attribute(Mesh::ATTRIBUTE_UV_0)
        else {
            panic!("the sphere has UVs");
        };
        let Some(VertexAttributeValues::Float32x3(positions)) =
            mesh.attribute(Mesh::ATTRIBUTE_POSITION)
        else {
            panic!("the sphere has positions");
        };
        let at = uvs
            .iter()
            .position(|uv| (v == 0.0 || (uv[0] - u).abs() < 1e-6) && (uv[1] - v).abs() < 1e-6)
            .expect("a vertex there");
        Vec3::from(positions[at])
    }

    #[test]
    fn the_map_lies_on_the_globe_where_the_rotation_model_puts_the_surface() {
        let sphere = super::super::cube_sphere::whole_mesh();
        let model = earth();
        for t in [0.0, 3.7e7, -1.2e8] {
            let rotation = globe_rotation(&model, t).as_dquat();
            let fixed = model.orientation(t);
            // Map centre: 0° N 0° E. Three quarters across: 0° N 90° E. Top: the pole.
            for ((u, v), body_fixed) in [
                ((0.5, 0.5), DVec3::X),
                ((0.75, 0.5), DVec3::Y),
                ((0.25, 0.5), -DVec3::Y),
                ((0.0, 0.0), DVec3::Z),
            ] {
                let drawn = rotation * map_point(&sphere, u, v).as_dvec3();
                let surface = fixed * body_fixed;
                assert!(
                    (drawn - surface).length() < 1e-6,
                    "map ({u}, {v}) drawn at {drawn}, the surface point is at {surface} (t = {t})"
                );
            }
        }
    }

    #[test]
    fn greenwich_faces_the_sun_near_noon_utc() {
        // 2000-01-01 12:00 TT is within minutes of noon at Greenwich, and the Sun was
        // then at about 281° right ascension, −23° declination.
        let sun = {
            let (ra, dec) = (280.5f64.to_radians(), (-23.0f64).to_radians());
            DVec3::new(dec.cos() * ra.cos(), dec.cos() * ra.sin(), dec.sin())
        };
        let sphere = super::super::cube_sphere::whole_mesh();
        let greenwich =
            globe_rotation(&earth(), 0.0).as_dquat() * map_point(&sphere, 0.5, 0.5).as_dvec3();
        let angle = greenwich.angle_between(sun).to_degrees();
        // Greenwich's meridian at the equator sees the Sun within the season's
        // declination (23°) and a few degrees of the equation of time.
        assert!(
            angle < 27.0,
            "the Sun is {angle:.1}° from the zenith at noon"
        );
    }

    #[test]
    fn the_ring_strip_runs_from_the_inner_edge_to_the_outer() {
        let mesh = annulus(1.2, 2.3, 16);
        let Some(VertexAttributeValues::Float32x3(positions)) =
            mesh.attribute(Mesh::ATTRIBUTE_POSITION)
        else {
            panic!("positions");
        };
        let Some(VertexAttributeValues::Float32x2(uvs)) = mesh.attribute(Mesh::ATTRIBUTE_UV_0)
        else {
            panic!("uvs");
        };
        for (p, uv) in positions.iter().zip(uvs) {
            let r = Vec3::from(*p).length();
            assert!(
                (r - (1.2 + 1.1 * uv[0])).abs() < 1e-5,
                "r {r} at u {}",
                uv[0]
            );
            assert_eq!(p[2], 0.0);
        }
        assert_eq!(mesh.indices().map(Indices::len), Some(16 * 6));
    }
}
