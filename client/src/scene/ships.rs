//! Ships: the own ship's model, extrapolated along its orbit between states with a
//! fading correction, and the other ships the server tells us about (or, with
//! `--bench-ships`, many fake ones for measuring frame time).

use bevy::platform::time::Instant;
use bevy::prelude::*;
use galaxy_shared::protocol::{OtherShip, WireFlight, unpack_quat, unpack_rates};
use glam::DVec3;

use super::GameClock;
use super::bodies::BodySystem;
use super::origin::{FloatingOrigin, WorldPosition};
use crate::motion::{self, Correction};
use crate::net::{Latest, SHIP_TIMEOUT, Session, ShipSample, ShipSamples};
use crate::options::LaunchOptions;
use crate::{ClientSystems, Screen};

pub(super) fn plugin(app: &mut App) {
    app.init_resource::<OwnShipNow>()
        .init_resource::<OtherShipLooks>();
    app.add_systems(OnEnter(Screen::Flight), spawn_own_ship);
    app.add_systems(
        Update,
        (
            extrapolate_own_ship,
            feed_bench_ships.run_if(resource_exists::<Session>),
            extrapolate_other_ships,
        )
            .chain()
            .in_set(ClientSystems::Extrapolate)
            .after(super::bodies::extrapolate_bodies)
            .run_if(resource_exists::<BodySystem>),
    );
}

/// The own ship's model; its rotation is the ship's attitude.
#[derive(Component)]
pub(crate) struct OwnShipModel;

/// The engine flame, scaled by the throttle.
#[derive(Component)]
struct Flame;

/// Another ship, by network id.
#[derive(Component, Clone, Copy, Debug)]
pub(crate) struct OtherShipModel {
    /// Network id.
    pub id: u32,
}

/// How other ships look: one mesh, nose along body +Z, and a material for ships
/// that fly or sit landed and one for wrecks.
#[derive(Resource, Clone, Debug)]
pub(crate) struct OtherShipLooks {
    mesh: Handle<Mesh>,
    intact: Handle<StandardMaterial>,
    wreck: Handle<StandardMaterial>,
}

impl FromWorld for OtherShipLooks {
    fn from_world(world: &mut World) -> Self {
        let mesh = Cone::new(2.0, 8.0)
            .mesh()
            .resolution(8)
            .build()
            .rotated_by(Quat::from_rotation_x(std::f32::consts::FRAC_PI_2));
        let mesh = world.resource_mut::<Assets<Mesh>>().add(mesh);
        let mut materials = world.resource_mut::<Assets<StandardMaterial>>();
        Self {
            mesh,
            intact: materials.add(StandardMaterial {
                base_color: Color::srgb(1.0, 0.55, 0.2),
                perceptual_roughness: 0.5,
                ..default()
            }),
            wreck: materials.add(StandardMaterial {
                base_color: Color::srgb(0.12, 0.1, 0.09),
                perceptual_roughness: 1.0,
                ..default()
            }),
        }
    }
}

impl OtherShipLooks {
    /// Another ship's mesh and material, as drawn while it flies.
    pub(crate) fn flying(&self) -> impl Bundle {
        (
            Mesh3d(self.mesh.clone()),
            MeshMaterial3d(self.intact.clone()),
        )
    }

    fn material(&self, flight: WireFlight) -> &Handle<StandardMaterial> {
        match flight {
            WireFlight::Destroyed => &self.wreck,
            WireFlight::Flying | WireFlight::Landed => &self.intact,
        }
    }
}

/// The own ship as drawn this frame: what the camera, orbit line and HUD use.
#[derive(Resource, Clone, Copy, Debug, Default)]
pub(crate) struct OwnShipNow {
    /// Whether a state has arrived.
    pub live: bool,
    /// Barycentric position (m), correction included.
    pub position: DVec3,
    /// Dominant body id.
    pub dominant: u8,
    /// Position relative to the dominant body (m).
    pub relative_position: DVec3,
    /// Velocity relative to the dominant body (m/s).
    pub relative_velocity: DVec3,
    /// Render-side correction still being faded out.
    correction: Correction,
    /// `Latest::generation` last folded in.
    generation: u64,
}

/// Seconds over which a disagreement with a fresh state fades out.
const CORRECTION_TAU_S: f64 = 0.15;

fn spawn_own_ship(
    mut commands: Commands,
    mut meshes: ResMut<Assets<Mesh>>,
    mut materials: ResMut<Assets<StandardMaterial>>,
) {
    commands.spawn((
        Name::new("Own ship"),
        OwnShipModel,
        WorldPosition::default(),
        Transform::default(),
        Visibility::Hidden,
        own_ship_parts(&mut meshes, &mut materials),
    ));
}

/// The own ship's hull, nose, engine bell, fins and flame, nose along body +Z.
pub(crate) fn own_ship_parts(
    meshes: &mut Assets<Mesh>,
    materials: &mut Assets<StandardMaterial>,
) -> impl Bundle {
    let hull = materials.add(StandardMaterial {
        base_color: Color::srgb(0.82, 0.84, 0.88),
        metallic: 0.6,
        perceptual_roughness: 0.35,
        ..default()
    });
    let dark = materials.add(StandardMaterial {
        base_color: Color::srgb(0.15, 0.16, 0.2),
        perceptual_roughness: 0.6,
        ..default()
    });
    let flame = materials.add(StandardMaterial {
        base_color: Color::srgb(1.0, 0.6, 0.2),
        emissive: LinearRgba::rgb(1.0, 0.45, 0.1) * 2.0e5,
        unlit: true,
        ..default()
    });
    // Bevy's primitives stand along +Y; the ship's nose is body +Z.
    let along_z = Quat::from_rotation_x(std::f32::consts::FRAC_PI_2);
    children![
        (
            Name::new("Hull"),
            Mesh3d(meshes.add(Cylinder::new(2.0, 9.0))),
            MeshMaterial3d(hull.clone()),
            Transform::from_rotation(along_z),
        ),
        (
            Name::new("Nose"),
            Mesh3d(meshes.add(Cone::new(2.0, 3.0))),
            MeshMaterial3d(hull),
            Transform::from_xyz(0.0, 0.0, 6.0).with_rotation(along_z),
        ),
        (
            Name::new("Engine bell"),
            Mesh3d(meshes.add(ConicalFrustum {
                radius_top: 0.8,
                radius_bottom: 1.6,
                height: 2.0,
            })),
            MeshMaterial3d(dark.clone()),
            Transform::from_xyz(0.0, 0.0, -5.5).with_rotation(along_z),
        ),
        (
            Name::new("Fins"),
            Mesh3d(meshes.add(Cuboid::new(7.0, 0.3, 2.5))),
            MeshMaterial3d(dark),
            Transform::from_xyz(0.0, 0.0, -3.5),
        ),
        (
            Name::new("Flame"),
            Flame,
            Mesh3d(meshes.add(Cone::new(1.3, 1.0))),
            MeshMaterial3d(flame),
            Transform::from_xyz(0.0, 0.0, -6.5)
                .with_rotation(Quat::from_rotation_x(-std::f32::consts::FRAC_PI_2))
                .with_scale(Vec3::ZERO),
        ),
    ]
}

/// Moves the own ship along its orbit to the drawn game time.
fn extrapolate_own_ship(
    time: Res<Time<Real>>,
    clock: Res<GameClock>,
    latest: Res<Latest>,
    bodies: Res<BodySystem>,
    mut now: ResMut<OwnShipNow>,
    mut origin: ResMut<FloatingOrigin>,
    mut model: Single<(&mut WorldPosition, &mut Transform, &mut Visibility), With<OwnShipModel>>,
    mut flames: Query<&mut Transform, (With<Flame>, Without<OwnShipModel>)>,
) {
    let Some(sample) = latest.own else {
        return;
    };
    let motion = sample.motion;
    let Some(center) = bodies.position(motion.dominant) else {
        return;
    };
    let dt = clock.now - motion.game_time;
    let (r, v) = motion::kepler_propagate(
        motion.position,
        motion.velocity,
        bodies.gm(motion.dominant),
        dt,
    );
    let fresh = center + r;
    if now.generation != latest.generation {
        if now.live {
            let drawn = now.position;
            now.correction.absorb(drawn, fresh);
        }
        now.generation = latest.generation;
    }
    now.correction
        .decay(time.delta_secs_f64(), CORRECTION_TAU_S);
    let attitude = motion::attitude_after(
        unpack_quat(motion.attitude),
        unpack_rates(sample.ship.angular_velocity),
        dt.min(crate::motion::MAX_EXTRAPOLATION_S * latest.scale.max(1.0)),
    );
    *now = OwnShipNow {
        live: true,
        position: fresh + now.correction.offset,
        dominant: motion.dominant,
        relative_position: r,
        relative_velocity: v,
        ..*now
    };
    origin.0 = now.position;
    let (position, transform, visibility) = &mut *model;
    position.0 = now.position;
    transform.rotation = attitude.as_quat();
    visibility.set_if_neq(Visibility::Inherited);
    let throttle = f32::from(sample.ship.throttle) / 255.0;
    for mut flame in &mut flames {
        flame.scale =
            Vec3::new(1.0, 1.0 + 6.0 * throttle, 1.0) * f32::from(u8::from(throttle > 0.0));
    }
}

/// Spawns, moves, turns and retires the other ships' models; a ship the server
/// says is destroyed looks a wreck from that frame on.
fn extrapolate_other_ships(
    mut commands: Commands,
    clock: Res<GameClock>,
    bodies: Res<BodySystem>,
    looks: Res<OtherShipLooks>,
    mut samples: ResMut<ShipSamples>,
    mut models: Query<(
        Entity,
        &OtherShipModel,
        &mut WorldPosition,
        &mut Transform,
        &mut Visibility,
        &mut MeshMaterial3d<StandardMaterial>,
    )>,
) {
    samples.0.retain(|_, s| s.received.elapsed() < SHIP_TIMEOUT);
    let mut seen = std::collections::HashSet::new();
    for (entity, model, mut position, mut transform, mut visibility, mut material) in &mut models {
        let Some(sample) = samples.0.get(&model.id) else {
            commands.entity(entity).despawn();
            continue;
        };
        seen.insert(model.id);
        transform.rotation = unpack_quat(sample.ship.attitude).as_quat();
        let look = looks.material(sample.ship.flight);
        if material.0 != *look {
            material.0 = look.clone();
        }
        match ship_position(sample, &bodies, clock.now) {
            Some(p) => {
                position.0 = p;
                visibility.set_if_neq(Visibility::Inherited);
            }
            None => {
                visibility.set_if_neq(Visibility::Hidden);
            }
        }
    }
    for (id, sample) in &samples.0 {
        if seen.contains(id) {
            continue;
        }
        commands.spawn((
            Name::new(format!("Ship {id}")),
            OtherShipModel { id: *id },
            WorldPosition(ship_position(sample, &bodies, clock.now).unwrap_or_default()),
            Mesh3d(looks.mesh.clone()),
            MeshMaterial3d(looks.material(sample.ship.flight).clone()),
            Transform::from_rotation(unpack_quat(sample.ship.attitude).as_quat()),
            Visibility::Hidden,
        ));
    }
}

/// Where another ship is now: its last state carried along its orbit.
fn ship_position(sample: &ShipSample, bodies: &BodySystem, now: f64) -> Option<DVec3> {
    let ship = &sample.ship;
    let center = bodies.position(ship.dominant)?;
    let r = DVec3::from_array(ship.position.map(f64::from));
    let v = DVec3::from_array(ship.velocity.map(f64::from));
    if ship.flight != WireFlight::Flying {
        return Some(center + r);
    }
    let (r, _) = motion::kepler_propagate(r, v, bodies.gm(ship.dominant), now - sample.game_time);
    Some(center + r)
}

/// Keeps `--bench-ships N` fake ships in formation around the own ship, fed through
/// the same path as real ones so the measurement covers extrapolation too.
fn feed_bench_ships(
    options: Res<LaunchOptions>,
    latest: Res<Latest>,
    clock: Res<GameClock>,
    mut samples: ResMut<ShipSamples>,
) {
    let (Some(count), Some(own)) = (options.bench_ships, latest.own) else {
        return;
    };
    let received = Instant::now();
    let motion = own.motion;
    let forward = motion.velocity.normalize_or(DVec3::X);
    let up = motion.position.normalize_or(DVec3::Z);
    let side = forward.cross(up);
    for i in 0..count {
        let [f, s, u] = bench_offset(i);
        let offset = forward * f + side * s + up * u;
        let ship = OtherShip {
            id: u32::MAX - i as u32,
            dominant: motion.dominant,
            position: (motion.position + offset).as_vec3().to_array(),
            velocity: motion.velocity.as_vec3().to_array(),
            attitude: motion.attitude,
            flight: WireFlight::Flying,
        };
        samples.0.insert(
            ship.id,
            ShipSample {
                ship,
                game_time: clock.now.min(motion.game_time),
                received,
            },
        );
    }
}

/// Offset of fake ship `i` from the own ship (forward, side, up in metres): a
/// deterministic disc ahead of the ship, inside the default camera's view.
fn bench_offset(i: usize) -> [f64; 3] {
    let golden_angle = 2.399_963_229_728_653;
    let k = i as f64;
    let radius = 3.0 * k.sqrt();
    let ahead = 150.0 + 2.0 * k.sqrt();
    [
        ahead,
        (k * golden_angle).cos() * radius,
        // The camera looks about 20° down past the ship.
        (k * golden_angle).sin() * radius * 0.6 - 0.3 * ahead,
    ]
}

#[cfg(test)]
mod tests {
    use galaxy_shared::protocol::{BodyInfo, pack_quat};
    use glam::DQuat;

    use super::*;
    use crate::net::BodySample;

    fn moon_system() -> BodySystem {
        let mut system = BodySystem::new(&[BodyInfo {
            id: 0,
            name: "Moon".into(),
            parent: None,
            gm: 4.904_869_5e12,
            radius: 1.737_4e6,
            color: [0.5; 3],
            rotation: Default::default(),
            oblateness: None,
        }]);
        system.absorb(
            0,
            &BodySample {
                game_time: 0.0,
                position: DVec3::ZERO,
                velocity: DVec3::ZERO,
            },
        );
        system
    }

    fn sample(flight: WireFlight, attitude: DQuat) -> ShipSample {
        ShipSample {
            ship: OtherShip {
                id: 7,
                dominant: 0,
                position: [1.8e6, 0.0, 0.0],
                velocity: [0.0, 1_600.0, 0.0],
                attitude: pack_quat(attitude),
                flight,
            },
            game_time: 0.0,
            received: Instant::now(),
        }
    }

    #[test]
    fn other_ships_turn_as_told_and_a_destroyed_one_is_a_wreck_in_the_next_frame() {
        let mut app = App::new();
        app.init_resource::<Assets<Mesh>>()
            .init_resource::<Assets<StandardMaterial>>()
            .init_resource::<OtherShipLooks>()
            .init_resource::<ShipSamples>()
            .insert_resource(GameClock {
                now: 0.0,
                live: true,
            })
            .insert_resource(moon_system())
            .add_systems(Update, extrapolate_other_ships);
        let pitched = DQuat::from_rotation_x(0.7);
        let turned = DQuat::from_rotation_y(-1.2);
        let put = |app: &mut App, flight, attitude| {
            app.world_mut()
                .resource_mut::<ShipSamples>()
                .0
                .insert(7, sample(flight, attitude));
        };
        put(&mut app, WireFlight::Flying, pitched);
        app.update();
        put(&mut app, WireFlight::Flying, turned);
        app.update();
        let looks = app.world().resource::<OtherShipLooks>().clone();
        let model = |app: &mut App| {
            let mut query = app.world_mut().query::<(
                &OtherShipModel,
                &Transform,
                &MeshMaterial3d<StandardMaterial>,
            )>();
            let (model, transform, material) = query.single(app.world()).expect("one other ship");
            (model.id, transform.rotation, material.0.clone())
        };
        let (id, rotation, material) = model(&mut app);
        assert_eq!(id, 7);
        let nose = rotation * Vec3::Z;
        assert!(
            nose.distance(turned.as_quat() * Vec3::Z) < 1e-3,
            "the nose follows the newest attitude: {nose}"
        );
        assert_eq!(material, looks.intact);

        put(&mut app, WireFlight::Destroyed, turned);
        app.update();
        assert_eq!(model(&mut app).2, looks.wreck, "destroyed: a wreck at once");
    }
}
