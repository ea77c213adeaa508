//! The Sun, planets and moons: lit globes (the Sun emissive, and the scene's one
//! light; how each looks is [`super::globes`]), moved between the server's
//! infrequent body states by the same N-body integrator the server uses.

use bevy::ecs::system::SystemParam;
use bevy::prelude::*;
use galaxy_shared::physics::integrator::{BodyIntegrator, NBodyState};
use galaxy_shared::protocol::BodyInfo;
use galaxy_shared::units::ASTRONOMICAL_UNIT as AU;
use glam::DVec3;

use super::GameClock;
use super::globes::{self, GlobeTextures, Turning};
use super::ground::{self, GroundMaterial, Relief, ReliefTextures};
use super::origin::{FloatingOrigin, WorldPosition};
use super::sky::SkyMaterials;
use crate::ClientSystems;
use crate::net::{BodySample, BodySamples, Session};
use crate::options::{LaunchOptions, Quality};

pub(super) fn plugin(app: &mut App) {
    app.insert_resource(GlobalAmbientLight {
        color: Color::srgb(0.6, 0.7, 1.0),
        // A faint fill so night sides read as shapes, not holes.
        brightness: 4_000.0,
        ..default()
    });
    app.init_resource::<GlobeMesh>();
    app.add_systems(Update, spawn_bodies.run_if(resource_added::<Session>));
    app.add_systems(
        Update,
        extrapolate_bodies
            .in_set(ClientSystems::Extrapolate)
            .run_if(resource_exists::<BodySystem>),
    );
    app.add_systems(
        Update,
        aim_sunlight
            .in_set(ClientSystems::Place)
            .run_if(resource_exists::<BodySystem>),
    );
}

/// The Sun's light where the camera is. A point light at the Sun's distance draws
/// nothing in Bevy 0.19's clustered renderer (its range and intensity are far
/// outside what clustering expects), so the Sun lights the scene as a directional
/// light aimed from the Sun at the floating origin, as strong as it is there.
#[derive(Component)]
struct Sunlight;

/// Sunlight at 1 AU (lux).
const SUN_LUX_AT_AU: f64 = 128_000.0;

/// Longest body step the client takes (game s); the server's is 300 s.
const MAX_STEP_S: f64 = 300.0;
/// Most steps per frame; at extreme warp the steps grow instead.
const MAX_STEPS_PER_FRAME: usize = 32;

/// A celestial body's entity; `id` is its id on the wire.
#[derive(Component, Clone, Copy, Debug)]
pub(crate) struct CelestialBody {
    /// Body id.
    pub id: u8,
}

/// Bodies as the client knows them, advanced to the drawn game time.
#[derive(Resource, Clone, Debug, Default)]
pub(crate) struct BodySystem {
    /// Per body id: what the welcome said.
    pub info: Vec<Option<BodyInfo>>,
    /// Barycentric positions at `time` (m).
    pub positions: Vec<DVec3>,
    /// Barycentric velocities at `time` (m/s).
    pub velocities: Vec<DVec3>,
    /// Whether a state for the body has arrived.
    pub known: Vec<bool>,
    /// Game time of `positions`, once any state arrived.
    pub time: Option<f64>,
}

impl BodySystem {
    /// An empty system for the welcome's bodies.
    pub fn new(bodies: &[BodyInfo]) -> Self {
        let slots = bodies
            .iter()
            .map(|b| usize::from(b.id) + 1)
            .max()
            .unwrap_or(0);
        let mut info = vec![None; slots];
        for body in bodies {
            info[usize::from(body.id)] = Some(body.clone());
        }
        Self {
            info,
            positions: vec![DVec3::ZERO; slots],
            velocities: vec![DVec3::ZERO; slots],
            known: vec![false; slots],
            time: None,
        }
    }

    /// GM of body `id` (0 when unknown).
    pub fn gm(&self, id: u8) -> f64 {
        self.info
            .get(usize::from(id))
            .and_then(Option::as_ref)
            .map_or(0.0, |b| b.gm)
    }

    /// Where body `id` is now, once a state for it has arrived.
    pub fn position(&self, id: u8) -> Option<DVec3> {
        let i = usize::from(id);
        self.known
            .get(i)
            .copied()
            .unwrap_or(false)
            .then(|| self.positions[i])
    }

    /// Name of body `id`.
    pub fn name(&self, id: u8) -> &str {
        self.info
            .get(usize::from(id))
            .and_then(Option::as_ref)
            .map_or("?", |b| b.name.as_str())
    }

    /// Takes a received state, moved to this system's time along its velocity (the
    /// gap is one network latency times the time scale).
    pub fn absorb(&mut self, id: u8, sample: &BodySample) {
        let i = usize::from(id);
        if i >= self.positions.len() {
            return;
        }
        let time = *self.time.get_or_insert(sample.game_time);
        self.positions[i] = sample.position + sample.velocity * (time - sample.game_time);
        self.velocities[i] = sample.velocity;
        self.known[i] = true;
    }

    /// Advances the known bodies to game time `t` under their mutual gravity.
    pub fn advance_to(&mut self, t: f64) {
        let Some(time) = self.time else {
            return;
        };
        let span = t - time;
        if span == 0.0 || !span.is_finite() {
            return;
        }
        let known: Vec<usize> = (0..self.known.len()).filter(|&i| self.known[i]).collect();
        let mut state = NBodyState::new(
            known.iter().map(|&i| self.positions[i]).collect(),
            known.iter().map(|&i| self.velocities[i]).collect(),
            known.iter().map(|&i| self.gm(i as u8)).collect(),
            None,
        );
        let steps = ((span.abs() / MAX_STEP_S).ceil() as usize).clamp(1, MAX_STEPS_PER_FRAME);
        let dt = span / steps as f64;
        for _ in 0..steps {
            state.step(BodyIntegrator::Yoshida4, dt);
        }
        for (k, &i) in known.iter().enumerate() {
            self.positions[i] = state.positions[k];
            self.velocities[i] = state.velocities[k];
        }
        self.time = Some(t);
    }
}

/// The globe mesh every body shares, scaled to its radius.
#[derive(Resource, Clone, Debug)]
struct GlobeMesh(Handle<Mesh>);

impl FromWorld for GlobeMesh {
    fn from_world(world: &mut World) -> Self {
        let mut meshes = world.resource_mut::<Assets<Mesh>>();
        Self(meshes.add(super::cube_sphere::whole_mesh()))
    }
}

/// What bodies' looks are made of ([`globes`] and [`super::sky`]): for the flight
/// view, and for the shader warm-up behind the login screen.
#[derive(SystemParam)]
pub(crate) struct BodyLooks<'w> {
    globe: Res<'w, GlobeMesh>,
    assets: Res<'w, AssetServer>,
    textures: ResMut<'w, GlobeTextures>,
    images: ResMut<'w, Assets<Image>>,
    relief: Res<'w, ReliefTextures>,
    grounds: ResMut<'w, Assets<GroundMaterial>>,
    options: Res<'w, LaunchOptions>,
    /// Meshes, for other looks drawn beside the bodies'.
    pub meshes: ResMut<'w, Assets<Mesh>>,
    /// Materials, likewise.
    pub materials: ResMut<'w, Assets<StandardMaterial>>,
    sky: SkyMaterials<'w>,
}

impl BodyLooks<'_> {
    /// Gives `entity` the look of `body`: its globe and material, and its glare, air
    /// and rings as children (in the globe's unit, its radius).
    pub(crate) fn dress(&mut self, entity: &mut EntityCommands, body: &BodyInfo) {
        let is_sun = body.parent.is_none();
        entity.insert(Mesh3d(self.globe.0.clone()));
        if is_sun {
            let [r, g, b] = body.color;
            let color = Color::srgb(r, g, b);
            entity.insert(MeshMaterial3d(self.materials.add(StandardMaterial {
                base_color: color,
                emissive: LinearRgba::from(color) * 4.0e6,
                unlit: true,
                ..default()
            })));
        } else {
            let (surface, relief) =
                globes::surface(body, &self.assets, &mut self.images, &mut self.textures);
            // Relief is the high quality's: the low keeps to the maps.
            let relief = match self.options.quality {
                Quality::High => relief,
                Quality::Low => Relief::NONE,
            };
            let material = ground::ground(surface, body.radius, relief, &self.relief);
            entity.insert(MeshMaterial3d(self.grounds.add(material)));
        }
        if is_sun && let Some(glow) = self.sky.sun_glow(body, &mut self.meshes) {
            entity.with_child(glow);
        }
        if let Some(atmosphere) = self.sky.atmosphere(body, &mut self.meshes) {
            entity.with_child(atmosphere);
        }
        if let Some(rings) = globes::rings(
            body,
            &self.assets,
            &mut self.textures,
            &mut self.meshes,
            &mut self.materials,
        ) {
            entity.with_child(rings);
        }
    }
}

fn spawn_bodies(mut commands: Commands, session: Res<Session>, mut looks: BodyLooks) {
    commands.insert_resource(BodySystem::new(&session.0.bodies));
    for body in &session.0.bodies {
        let mut entity = commands.spawn((
            Name::new(body.name.clone()),
            CelestialBody { id: body.id },
            WorldPosition::default(),
            Transform::from_scale(Vec3::splat(body.radius as f32)),
            Visibility::Hidden,
            Turning(body.rotation),
        ));
        looks.dress(&mut entity, body);
        if body.parent.is_none() {
            entity.insert(Sun);
        }
    }
    commands.spawn((
        Name::new("Sunlight"),
        Sunlight,
        DirectionalLight {
            illuminance: SUN_LUX_AT_AU as f32,
            shadow_maps_enabled: false,
            ..default()
        },
        Transform::default(),
    ));
}

/// The body that shines.
#[derive(Component)]
pub(super) struct Sun;

/// Illuminance (lux) at `distance` metres from the Sun.
pub(super) fn sunlight_lux(distance: f64) -> f64 {
    SUN_LUX_AT_AU * (AU / distance.max(1.0e9)).powi(2)
}

fn aim_sunlight(
    origin: Res<FloatingOrigin>,
    sun: Single<&WorldPosition, With<Sun>>,
    light: Single<(&mut DirectionalLight, &mut Transform), With<Sunlight>>,
) {
    let (mut light, mut transform) = light.into_inner();
    let from_sun = origin.0 - sun.0;
    let Some(direction) = from_sun.try_normalize() else {
        return;
    };
    light.illuminance = sunlight_lux(from_sun.length()) as f32;
    let direction = direction.as_vec3();
    *transform = Transform::default().looking_to(direction, direction.any_orthonormal_vector());
}

/// Folds in fresh body states and advances every body to the drawn game time.
pub(crate) fn extrapolate_bodies(
    clock: Res<GameClock>,
    mut samples: ResMut<BodySamples>,
    mut system: ResMut<BodySystem>,
    mut bodies: Query<(&CelestialBody, &mut WorldPosition, &mut Visibility)>,
) {
    system.advance_to(clock.now);
    for (id, sample) in samples.fresh.drain(..) {
        system.absorb(id, &sample);
    }
    for (body, mut position, mut visibility) in &mut bodies {
        if let Some(now) = system.position(body.id) {
            position.0 = now;
            visibility.set_if_neq(Visibility::Inherited);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GM_SUN: f64 = 1.327_124_400_18e20;
    const GM_EARTH: f64 = 3.986_004_418e14;

    fn info(id: u8, name: &str, gm: f64) -> BodyInfo {
        BodyInfo {
            id,
            name: name.into(),
            parent: None,
            gm,
            radius: 1.0,
            color: [1.0; 3],
            rotation: Default::default(),
            oblateness: None,
        }
    }

    #[test]
    fn bodies_follow_gravity_between_states_and_unknown_ones_wait() {
        let mut system = BodySystem::new(&[info(0, "Sun", GM_SUN), info(1, "Earth", GM_EARTH)]);
        assert_eq!(system.position(1), None);
        let v = (GM_SUN / AU).sqrt();
        let sample = |position, velocity| BodySample {
            game_time: 0.0,
            position,
            velocity,
        };
        system.absorb(0, &sample(DVec3::ZERO, DVec3::ZERO));
        system.absorb(
            1,
            &sample(DVec3::new(AU, 0.0, 0.0), DVec3::new(0.0, v, 0.0)),
        );
        let quarter_year = std::f64::consts::FRAC_PI_2 * AU / v;
        let mut t = 0.0;
        while t < quarter_year {
            t = (t + 20_000.0).min(quarter_year);
            system.advance_to(t);
        }
        let earth = system.position(1).expect("known");
        assert!(
            earth.distance(DVec3::new(0.0, AU, 0.0)) < 1e-4 * AU,
            "a quarter orbit later Earth is at +Y: {earth}"
        );
    }

    #[test]
    fn sunlight_falls_off_with_the_square_of_the_distance() {
        assert!((sunlight_lux(AU) - SUN_LUX_AT_AU).abs() < 1e-6);
        assert!((sunlight_lux(5.2 * AU) - SUN_LUX_AT_AU / 27.04).abs() < 1e-6);
    }

    #[test]
    fn a_late_state_is_moved_to_the_systems_time() {
        let mut system = BodySystem::new(&[info(0, "Sun", GM_SUN)]);
        system.absorb(
            0,
            &BodySample {
                game_time: 10.0,
                position: DVec3::ZERO,
                velocity: DVec3::X,
            },
        );
        system.advance_to(20.0);
        system.absorb(
            0,
            &BodySample {
                game_time: 15.0,
                position: DVec3::ZERO,
                velocity: DVec3::X,
            },
        );
        assert_eq!(system.position(0), Some(DVec3::new(5.0, 0.0, 0.0)));
    }
}
