//! Light around the bodies, drawn without Bevy's bloom or HDR (full-screen passes the
//! software renderer cannot afford): atmospheres glowing on their day side, the
//! Sun's glare. Each is a material
//! whose shader (`assets/shaders/`) reads uniforms only, so it runs on WebGL2 as on
//! Vulkan.

use bevy::ecs::system::SystemParam;
use bevy::mesh::MeshVertexBufferLayoutRef;
use bevy::pbr::{MaterialPipeline, MaterialPipelineKey};
use bevy::prelude::*;
use bevy::render::render_resource::{
    AsBindGroup, Face, RenderPipelineDescriptor, ShaderType, SpecializedMeshPipelineError,
};
use bevy::shader::ShaderRef;
use galaxy_shared::protocol::BodyInfo;
use glam::{DQuat, DVec3};

use super::bodies::{BodySystem, Sun, sunlight_lux};
use super::origin::{FloatingOrigin, WorldPosition};
use crate::ClientSystems;
use crate::options::{LaunchOptions, Quality};

pub(super) fn plugin(app: &mut App) {
    app.add_plugins((
        MaterialPlugin::<AtmosphereMaterial>::default(),
        MaterialPlugin::<GlowMaterial>::default(),
    ));
    // Present, not Place: the camera and the globes' turns are both written in Place,
    // in no order among its systems, and are final only once it has run.
    app.init_resource::<SkyShaders>();
    app.add_systems(
        Update,
        (light_atmospheres, aim_sun_glow)
            .in_set(ClientSystems::Present)
            .run_if(resource_exists::<BodySystem>),
    );
}

/// The sky's shaders, loaded from the start and held, so that an unattended capture
/// can wait until they are in.
#[derive(Resource, Clone, Debug)]
pub(crate) struct SkyShaders(pub Vec<Handle<Shader>>);

impl FromWorld for SkyShaders {
    fn from_world(world: &mut World) -> Self {
        let assets = world.resource::<AssetServer>();
        Self(
            [ATMOSPHERE_SHADER, SUN_GLOW_SHADER, super::ground::SHADER]
                .map(|path| assets.load(path))
                .into(),
        )
    }
}

const ATMOSPHERE_SHADER: &str = "shaders/atmosphere.wgsl";
const SUN_GLOW_SHADER: &str = "shaders/sun_glow.wgsl";

/// Atmospheres worth drawing: name; optical depth straight up from the ground in red,
/// green and blue (how hazy the air is and, by the colour it scatters most, its
/// colour); density scale height (km). Earth's depths are Rayleigh scattering at 680,
/// 550 and 440 nm; the others are chosen by eye to look like photographs of their
/// limbs (Mars' dust, Venus' and the giants' hazes, Titan's orange smog). Scale
/// heights from NASA's planetary fact sheets, Titan's a rough figure for its haze.
const AIRS: [(&str, [f32; 3], f64); 8] = [
    ("Earth", [0.049, 0.115, 0.281], 8.5),
    ("Mars", [0.30, 0.20, 0.12], 11.1),
    ("Venus", [0.60, 0.52, 0.36], 15.9),
    ("Jupiter", [0.28, 0.25, 0.20], 27.0),
    ("Saturn", [0.26, 0.23, 0.16], 59.5),
    ("Uranus", [0.10, 0.20, 0.26], 27.7),
    ("Neptune", [0.07, 0.15, 0.32], 19.7),
    ("Titan", [0.90, 0.55, 0.25], 40.0),
];

/// Scale heights up to the shell's edge: the air there is a millionth as dense as at
/// the ground, so the glow has faded long before the mesh ends (Earth: 1.019 radii).
const SHELL_SCALE_HEIGHTS: f64 = 14.0;

/// The shell mesh is this much larger than the shell the shader draws, so its flat
/// facets (up to 0.24 % inside its vertices at 64 × 32) still enclose it.
const FACET_MARGIN: f32 = 1.005;
/// Segments around the shell mesh, and from pole to pole.
const SHELL_SECTORS: u32 = 64;
const SHELL_STACKS: u32 = 32;

/// Angle from the Sun to the glare quad's edge (degrees).
const GLOW_REACH_DEG: f64 = 25.0;

/// Glare luminance one degree from the Sun per lux of sunlight (cd/m²); it falls off
/// with the square of the angle. A tenth of the human eye's veiling glare
/// (Stiles–Holladay: 10 E/θ², θ in degrees): through `Exposure::SUNLIGHT` at 1 AU it
/// whites out within about 2° of the Sun and fades to a faint haze by 15°.
const GLARE: f64 = 1.0;

/// The material assets the sky adds to a body as it is spawned; at low quality
/// there are no atmospheres or glare.
#[derive(SystemParam)]
pub(crate) struct SkyMaterials<'w> {
    options: Res<'w, LaunchOptions>,
    atmospheres: ResMut<'w, Assets<AtmosphereMaterial>>,
    glows: ResMut<'w, Assets<GlowMaterial>>,
}

impl SkyMaterials<'_> {
    /// `body`'s atmosphere, as a child of its globe (whose unit is its radius);
    /// `None` for a body without one.
    pub(super) fn atmosphere(
        &mut self,
        body: &BodyInfo,
        meshes: &mut Assets<Mesh>,
    ) -> Option<impl Bundle> {
        if self.options.quality == Quality::Low {
            return None;
        }
        let air = air(body)?;
        Some((
            Name::new(format!("{}'s atmosphere", body.name)),
            AirShell {
                radius: body.radius,
            },
            Mesh3d(meshes.add(shell_mesh(air.shell))),
            MeshMaterial3d(self.atmospheres.add(AtmosphereMaterial { air })),
            Transform::default(),
        ))
    }

    /// The Sun's glare, as a child of the Sun's globe; placed every frame.
    pub(super) fn sun_glow(
        &mut self,
        sun: &BodyInfo,
        meshes: &mut Assets<Mesh>,
    ) -> Option<impl Bundle> {
        if self.options.quality == Quality::Low {
            return None;
        }
        let [r, g, b] = sun.color;
        let color = LinearRgba::from(Color::srgb(r, g, b));
        let glow = GlowUniform {
            glare: Vec3::ZERO,
            tan_reach: GLOW_REACH_DEG.to_radians().tan() as f32,
        };
        Some((
            Name::new("Sun's glare"),
            SunGlow {
                color: Vec3::new(color.red, color.green, color.blue),
            },
            Mesh3d(meshes.add(Rectangle::new(2.0, 2.0))),
            MeshMaterial3d(self.glows.add(GlowMaterial { glow })),
            Transform::default(),
            // Until it is first placed.
            Visibility::Hidden,
        ))
    }
}

/// A body's atmosphere shell; its uniforms follow the camera and the Sun.
#[derive(Component, Clone, Copy, Debug)]
struct AirShell {
    /// The body's radius (m): the unit of the shell's frame.
    radius: f64,
}

/// The Sun's glare quad, turned to face the camera every frame.
#[derive(Component, Clone, Copy, Debug)]
struct SunGlow {
    /// The Sun's colour, linear.
    color: Vec3,
}

/// The atmosphere shader's uniforms, in the body's own frame with its radius as the
/// unit: the ray maths then needs no world-space f32 position, which far from the
/// floating origin would be kilometres off.
#[derive(ShaderType, Clone, Copy, Debug, Default)]
struct AirUniform {
    /// The camera (radii).
    eye: Vec3,
    /// Radius of the shell drawn (radii).
    shell: f32,
    /// Unit vector towards the Sun.
    sun: Vec3,
    /// Density scale height (radii).
    scale_height: f32,
    /// Optical depth straight up from the ground, per channel.
    depth: Vec3,
    /// Sunlight (lux), as much as lights the ground.
    sunlight: f32,
}

/// A body's atmosphere: single scattering of sunlight in exponential air, worked out
/// per pixel along the view ray, drawn on the inside of a shell around the body.
#[derive(Asset, TypePath, AsBindGroup, Clone, Debug)]
pub(super) struct AtmosphereMaterial {
    #[uniform(0)]
    air: AirUniform,
}

impl Material for AtmosphereMaterial {
    fn vertex_shader() -> ShaderRef {
        ATMOSPHERE_SHADER.into()
    }

    fn fragment_shader() -> ShaderRef {
        ATMOSPHERE_SHADER.into()
    }

    fn alpha_mode(&self) -> AlphaMode {
        // Scattered light added; what is behind dimmed by the air in front of it.
        AlphaMode::Premultiplied
    }

    fn enable_prepass() -> bool {
        false
    }

    fn enable_shadows() -> bool {
        false
    }

    fn specialize(
        _pipeline: &MaterialPipeline,
        descriptor: &mut RenderPipelineDescriptor,
        _layout: &MeshVertexBufferLayoutRef,
        _key: MaterialPipelineKey<Self>,
    ) -> Result<(), SpecializedMeshPipelineError> {
        // Only the far side of the shell: it covers every pixel whose ray crosses the
        // shell exactly once, from outside the shell or inside it (where there is no
        // near side), and the shader works out the whole ray's air itself. Its depth
        // is the shader's too (the middle of the air crossed), so the ground behind
        // does not hide it and a ship in front does.
        descriptor.primitive.cull_mode = Some(Face::Front);
        Ok(())
    }
}

/// The glare shader's uniforms.
#[derive(ShaderType, Clone, Copy, Debug, Default)]
struct GlowUniform {
    /// Luminance one degree from the Sun (cd/m²), per channel.
    glare: Vec3,
    /// Tangent of the angle from the Sun to the quad's edge.
    tan_reach: f32,
}

/// The Sun's glare: a radial falloff added to what is behind, on a quad facing the
/// camera through the Sun's centre (so bodies in front of the Sun hide it).
#[derive(Asset, TypePath, AsBindGroup, Clone, Debug)]
pub(super) struct GlowMaterial {
    #[uniform(0)]
    glow: GlowUniform,
}

impl Material for GlowMaterial {
    fn fragment_shader() -> ShaderRef {
        SUN_GLOW_SHADER.into()
    }

    fn alpha_mode(&self) -> AlphaMode {
        AlphaMode::Add
    }

    fn enable_prepass() -> bool {
        false
    }

    fn enable_shadows() -> bool {
        false
    }
}

/// The shell's fixed uniforms for `body`, if it has an atmosphere worth drawing.
fn air(body: &BodyInfo) -> Option<AirUniform> {
    let &(_, depth, scale_height_km) = AIRS.iter().find(|(name, ..)| *name == body.name)?;
    let scale_height = scale_height_km * 1_000.0 / body.radius;
    if !scale_height.is_finite() || scale_height <= 0.0 {
        return None;
    }
    Some(AirUniform {
        shell: (1.0 + SHELL_SCALE_HEIGHTS * scale_height) as f32,
        scale_height: scale_height as f32,
        depth: Vec3::from_array(depth),
        ..default()
    })
}

/// The mesh carrying a shell of radius `shell`.
fn shell_mesh(shell: f32) -> Mesh {
    Sphere::new(shell * FACET_MARGIN)
        .mesh()
        .uv(SHELL_SECTORS, SHELL_STACKS)
}

/// `point` in a body's own frame and in its radii: the difference is taken in f64
/// before it is narrowed, so a camera a few hundred kilometres up keeps its metres.
fn in_body_frame(point: DVec3, center: DVec3, orientation: DQuat, radius: f64) -> Vec3 {
    (orientation.inverse() * (point - center) / radius).as_vec3()
}

/// Half the side of a quad `distance` away whose edge is `GLOW_REACH_DEG` off its
/// middle.
fn glow_half_size(distance: f64) -> f64 {
    distance * GLOW_REACH_DEG.to_radians().tan()
}

/// How much of the Sun's disc shows from `eye` (0 to 1) past the `bodies` (centre,
/// radius) that may stand in front of it. The disc is taken to slide behind a limb
/// linearly in angle: enough to fade the glare over a sunset.
fn sun_visible(
    eye: DVec3,
    sun: DVec3,
    sun_radius: f64,
    bodies: impl IntoIterator<Item = (DVec3, f64)>,
) -> f64 {
    let to_sun = sun - eye;
    let sun_distance = to_sun.length();
    let sun_angle = (sun_radius / sun_distance).min(1.0).asin();
    bodies.into_iter().fold(1.0, |visible, (center, radius)| {
        let to_body = center - eye;
        let distance = to_body.length();
        if distance >= sun_distance || distance <= radius {
            return visible;
        }
        let body_angle = (radius / distance).asin();
        let apart = to_sun.angle_between(to_body);
        let shown = (apart - body_angle + sun_angle) / (2.0 * sun_angle);
        visible.min(shown.clamp(0.0, 1.0))
    })
}

/// Gives every atmosphere the camera and the Sun in its body's frame. The Sun is
/// seen from the floating origin, as the scene's sunlight is aimed, so the glow's
/// terminator is the ground's.
fn light_atmospheres(
    origin: Res<FloatingOrigin>,
    camera: Single<&Transform, With<Camera3d>>,
    sun: Single<&WorldPosition, With<Sun>>,
    bodies: Query<(&WorldPosition, &Transform)>,
    shells: Query<(&AirShell, &ChildOf, &MeshMaterial3d<AtmosphereMaterial>)>,
    mut materials: ResMut<Assets<AtmosphereMaterial>>,
) {
    let eye = origin.0 + camera.translation.as_dvec3();
    let Some(to_sun) = (sun.0 - origin.0).try_normalize() else {
        return;
    };
    let sunlight = sunlight_lux(origin.0.distance(sun.0)) as f32;
    for (atmosphere, child_of, material) in &shells {
        let Ok((center, globe)) = bodies.get(child_of.parent()) else {
            continue;
        };
        let Some(mut material) = materials.get_mut(&material.0) else {
            continue;
        };
        let orientation = globe.rotation.as_dquat();
        let air = &mut material.air;
        air.eye = in_body_frame(eye, center.0, orientation, atmosphere.radius);
        air.sun = (orientation.inverse() * to_sun).as_vec3();
        air.sunlight = sunlight;
    }
}

/// Turns the glare quad to the camera, sizes it to its reach at the Sun's distance,
/// and dims it as bodies pass in front of the Sun.
fn aim_sun_glow(
    origin: Res<FloatingOrigin>,
    system: Res<BodySystem>,
    camera: Single<&Transform, (With<Camera3d>, Without<SunGlow>)>,
    sun: Single<(&WorldPosition, &Transform), (With<Sun>, Without<SunGlow>)>,
    glow: Single<(
        &SunGlow,
        &MeshMaterial3d<GlowMaterial>,
        &mut Transform,
        &mut Visibility,
    )>,
    mut materials: ResMut<Assets<GlowMaterial>>,
) {
    let (sun_position, sun_globe) = sun.into_inner();
    let (glow, material, mut transform, mut visibility) = glow.into_inner();
    let eye = origin.0 + camera.translation.as_dvec3();
    let sun_radius = f64::from(sun_globe.scale.x);
    let occluders = system
        .info
        .iter()
        .flatten()
        .filter(|info| info.parent.is_some())
        .filter_map(|info| Some((system.position(info.id)?, info.radius)));
    let visible = sun_visible(eye, sun_position.0, sun_radius, occluders);
    if visible <= 0.0 {
        visibility.set_if_neq(Visibility::Hidden);
        return;
    }
    visibility.set_if_neq(Visibility::Inherited);
    // The quad is the Sun's child: undo the globe's turn and scale.
    let distance = eye.distance(sun_position.0);
    transform.rotation = sun_globe.rotation.inverse() * camera.rotation;
    transform.scale = Vec3::splat((glow_half_size(distance) / sun_radius) as f32);
    let glare = glow.color * (GLARE * sunlight_lux(distance) * visible) as f32;
    let Some(mut material) = materials.get_mut(&material.0) else {
        return;
    };
    if material.glow.glare != glare {
        material.glow.glare = glare;
    }
}

#[cfg(test)]
mod tests {
    use bevy::mesh::VertexAttributeValues;
    use galaxy_shared::units::ASTRONOMICAL_UNIT as AU;
    use glam::EulerRot;

    use super::*;

    fn body(name: &str, radius: f64) -> BodyInfo {
        BodyInfo {
            id: 3,
            name: name.into(),
            parent: Some(0),
            gm: 1.0,
            radius,
            color: [1.0; 3],
            rotation: Default::default(),
            oblateness: None,
        }
    }

    #[test]
    fn a_camera_in_low_orbit_is_placed_in_the_bodys_frame_to_the_metre() {
        let center = DVec3::new(1.4e12, -3.0e11, 5.0e10);
        let radius = 6.371e6;
        let orientation = DQuat::from_euler(EulerRot::YXZ, 0.3, 0.41, 1.7);
        let up = DVec3::new(0.0, 0.6, 0.8);
        let eye = center + orientation * up * (radius + 400_001.0);
        let local = in_body_frame(eye, center, orientation, radius).as_dvec3();
        let expected = up * (1.0 + 400_001.0 / radius);
        let error = (local - expected).length() * radius;
        assert!(
            error < 1.0,
            "the camera is {error} m off in the body's frame"
        );
    }

    #[test]
    fn earths_shell_ends_near_1_02_radii_and_airless_bodies_have_none() {
        let earth = air(&body("Earth", 6.371e6)).expect("Earth has air");
        assert!(
            (1.015..1.025).contains(&earth.shell),
            "Earth's shell ends at {} radii",
            earth.shell
        );
        let scale_height_m = f64::from(earth.scale_height) * 6.371e6;
        assert!((scale_height_m - 8_500.0).abs() < 1.0, "{scale_height_m} m");
        assert!(air(&body("Moon", 1.737e6)).is_none());
        assert!(
            air(&body("Earth", 0.0)).is_none(),
            "a zero radius from the wire draws no shell"
        );
    }

    #[test]
    fn the_shell_mesh_encloses_the_shell_the_shader_draws() {
        let shell = 1.02;
        let mesh = shell_mesh(shell);
        let Some(VertexAttributeValues::Float32x3(positions)) =
            mesh.attribute(Mesh::ATTRIBUTE_POSITION)
        else {
            panic!("the shell has positions");
        };
        let indices: Vec<usize> = mesh.indices().expect("indexed").iter().collect();
        for triangle in indices.chunks_exact(3) {
            let [a, b, c] = [0, 1, 2].map(|k| Vec3::from(positions[triangle[k]]));
            let normal = (b - a).cross(c - a);
            if normal.length() < 1e-9 {
                continue;
            }
            // The facet's plane is nearest the centre of all its points.
            let nearest = normal.normalize().dot(a).abs();
            assert!(
                nearest >= shell,
                "a facet comes within {nearest} of the centre, inside the shell {shell}"
            );
        }
    }

    #[test]
    fn the_glare_quad_reaches_its_angle_near_the_sun_and_far() {
        for distance in [1.0e9, AU, 40.0 * AU] {
            let reach = (glow_half_size(distance) / distance).atan().to_degrees();
            assert!(
                (reach - GLOW_REACH_DEG).abs() < 1e-9,
                "{reach}° at {distance} m"
            );
        }
    }

    #[test]
    fn the_sun_fades_as_it_sets_behind_the_limb() {
        let radius = 6.371e6;
        let eye = DVec3::new(radius + 400e3, 0.0, 0.0);
        let limb = (radius / eye.length()).asin();
        // The Sun `apart` radians from the direction of Earth's centre, seen from `eye`.
        let visible = |apart: f64| {
            let direction = -DVec3::X * apart.cos() + DVec3::Y * apart.sin();
            sun_visible(eye, eye + direction * AU, 6.957e8, [(DVec3::ZERO, radius)])
        };
        let degree = 1f64.to_radians();
        assert_eq!(visible(limb + degree), 1.0, "clear of the limb");
        assert_eq!(visible(limb - degree), 0.0, "behind Earth");
        let half = visible(limb);
        assert!((half - 0.5).abs() < 1e-6, "centred on the limb: {half}");
        assert_eq!(
            visible(std::f64::consts::PI),
            1.0,
            "Earth behind the camera"
        );
    }
}
