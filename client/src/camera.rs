//! The camera: orbits the own ship (mouse drag, wheel zoom) in the ship's local
//! horizon frame, so the body below stays below; the map view (M) zooms out in the
//! ICRF frame to show the whole system, with a marker and label on every body.

use bevy::camera::Exposure;
use bevy::input::mouse::{AccumulatedMouseMotion, AccumulatedMouseScroll, MouseScrollUnit};
use bevy::prelude::*;
use glam::DVec3;

use crate::console::console_closed;
use crate::hud::screen_label;
use crate::node_editor::NodeEditor;
use crate::options::LaunchOptions;
use crate::scene::bodies::{BodySystem, CelestialBody};
use crate::scene::origin::{FloatingOrigin, to_render};
use crate::scene::ships::OwnShipNow;
use crate::{ClientSystems, Screen};

pub(super) fn plugin(app: &mut App) {
    app.add_systems(OnEnter(Screen::Flight), spawn_camera);
    app.add_systems(
        Update,
        (toggle_map_view.run_if(console_closed), steer_camera)
            .chain()
            .in_set(ClientSystems::Input)
            .run_if(in_state(Screen::Flight)),
    );
    app.add_systems(
        Update,
        place_camera
            .in_set(ClientSystems::Place)
            .run_if(in_state(Screen::Flight)),
    );
    app.add_systems(
        Update,
        (
            spawn_body_labels.run_if(resource_added::<BodySystem>),
            label_bodies,
        )
            .chain()
            .in_set(ClientSystems::Present)
            .run_if(resource_exists::<BodySystem>),
    );
}

/// The orbit camera's controls.
#[derive(Component, Clone, Copy, Debug)]
pub(crate) struct OrbitCamera {
    /// Angle around the ship from behind it (rad).
    pub yaw: f32,
    /// Angle above the horizon (rad).
    pub pitch: f32,
    /// Distance from the ship in the flight view (m).
    pub distance: f64,
    /// Distance from the ship in the map view (m).
    pub map_distance: f64,
    /// Whether the map view is on.
    pub map: bool,
}

impl Default for OrbitCamera {
    fn default() -> Self {
        Self {
            // A little off the orbit plane, so the orbit line reads as a curve.
            yaw: 0.45,
            pitch: 0.35,
            distance: 45.0,
            map_distance: 6.0e7,
            map: false,
        }
    }
}

/// A body's name on screen.
#[derive(Component)]
struct BodyLabel(u8);

const FLIGHT_RANGE: (f64, f64) = (12.0, 5.0e7);
const MAP_RANGE: (f64, f64) = (1.0e6, 2.0e13);

fn spawn_camera(mut commands: Commands, options: Res<LaunchOptions>) {
    let view = options.view;
    let initial = OrbitCamera::default();
    let orbit = OrbitCamera {
        yaw: view.yaw.map_or(initial.yaw, f32::to_radians),
        pitch: view.pitch.map_or(initial.pitch, f32::to_radians),
        map: view.map,
        ..initial
    };
    commands.spawn((
        Name::new("Camera"),
        lens(&options),
        orbit,
        DespawnOnExit(Screen::Flight),
    ));
}

/// The flight camera's lens: projection, exposure and anti-aliasing (which shader
/// variants the scene needs depends on them).
pub(crate) fn lens(options: &LaunchOptions) -> impl Bundle {
    (
        Camera3d::default(),
        Projection::Perspective(PerspectiveProjection {
            fov: 50f32.to_radians(),
            near: 0.5,
            // Culling uses the far plane; the depth buffer itself is infinite.
            far: 1.0e16,
            ..default()
        }),
        Exposure::SUNLIGHT,
        options.msaa,
    )
}

fn toggle_map_view(keys: Res<ButtonInput<KeyCode>>, mut camera: Single<&mut OrbitCamera>) {
    if keys.just_pressed(KeyCode::KeyM) {
        camera.map = !camera.map;
    }
}

fn steer_camera(
    buttons: Res<ButtonInput<MouseButton>>,
    motion: Res<AccumulatedMouseMotion>,
    scroll: Res<AccumulatedMouseScroll>,
    editor: Res<NodeEditor>,
    mut camera: Single<&mut OrbitCamera>,
) {
    if buttons.any_pressed([MouseButton::Left, MouseButton::Right]) && !editor.dragging() {
        let (yaw, pitch) = drag(camera.yaw, camera.pitch, motion.delta);
        camera.yaw = yaw;
        camera.pitch = pitch;
    }
    let notches = match scroll.unit {
        MouseScrollUnit::Line => scroll.delta.y,
        MouseScrollUnit::Pixel => scroll.delta.y / 40.0,
    };
    if notches != 0.0 {
        if camera.map {
            camera.map_distance = zoom(camera.map_distance, notches, MAP_RANGE);
        } else {
            camera.distance = zoom(camera.distance, notches, FLIGHT_RANGE);
        }
    }
}

/// Yaw and pitch after a mouse drag of `delta` pixels; pitch stops short of the poles.
pub(crate) fn drag(yaw: f32, pitch: f32, delta: Vec2) -> (f32, f32) {
    let limit = 1.55;
    (
        (yaw - delta.x * 0.005).rem_euclid(std::f32::consts::TAU),
        (pitch + delta.y * 0.005).clamp(-limit, limit),
    )
}

/// Distance after `notches` of wheel: 15 % per notch, within `range`.
pub(crate) fn zoom(distance: f64, notches: f32, range: (f64, f64)) -> f64 {
    (distance * 0.85f64.powf(f64::from(notches))).clamp(range.0, range.1)
}

/// Camera offset from the ship (m) and its up direction, for the frame given by
/// `up` and `forward`: behind the ship at `yaw` 0, above it at positive `pitch`.
pub(crate) fn orbit_offset(
    up: DVec3,
    forward: DVec3,
    yaw: f32,
    pitch: f32,
    distance: f64,
) -> DVec3 {
    let up = up.normalize_or(DVec3::Z);
    let forward = (forward - up * forward.dot(up)).normalize_or(up.any_orthonormal_vector());
    let side = forward.cross(up);
    let (yaw, pitch) = (f64::from(yaw), f64::from(pitch));
    (-forward * yaw.cos() + side * yaw.sin()) * pitch.cos() * distance + up * pitch.sin() * distance
}

fn place_camera(ship: Res<OwnShipNow>, camera: Single<(&OrbitCamera, &mut Transform)>) {
    let (orbit, mut transform) = camera.into_inner();
    let (up, forward, distance) = if orbit.map {
        (DVec3::Z, DVec3::X, orbit.map_distance)
    } else if ship.live {
        (
            ship.relative_position,
            ship.relative_velocity,
            orbit.distance,
        )
    } else {
        (DVec3::Z, DVec3::X, orbit.distance)
    };
    let offset = orbit_offset(up, forward, orbit.yaw, orbit.pitch, distance);
    *transform = Transform::from_translation(offset.as_vec3())
        .looking_at(Vec3::ZERO, up.normalize_or(DVec3::Z).as_vec3());
}

fn spawn_body_labels(mut commands: Commands, bodies: Res<BodySystem>) {
    for info in bodies.info.iter().flatten() {
        commands.spawn((
            Name::new(format!("{} label", info.name)),
            BodyLabel(info.id),
            screen_label(info.name.clone(), Color::srgba(0.8, 0.85, 1.0, 0.85)),
        ));
    }
}

/// Puts each body's label next to it on screen; in the map view also rings every
/// body, since planets are far below a pixel at system scale.
fn label_bodies(
    bodies: Res<BodySystem>,
    origin: Res<FloatingOrigin>,
    camera: Single<(&Camera, &Transform, &OrbitCamera)>,
    spheres: Query<(&CelestialBody, &Transform), Without<OrbitCamera>>,
    mut labels: Query<(&BodyLabel, &mut Node, &mut Visibility)>,
    mut gizmos: Gizmos,
) {
    let (camera, camera_transform, orbit) = camera.into_inner();
    let view = GlobalTransform::from(*camera_transform);
    for (label, mut node, mut visibility) in &mut labels {
        let Some(position) = bodies.position(label.0) else {
            continue;
        };
        let render = to_render(position, origin.0);
        let distance = render.distance(camera_transform.translation);
        let radius = spheres
            .iter()
            .find(|(b, _)| b.id == label.0)
            .map_or(0.0, |(_, t)| t.scale.x);
        // In the flight view, name only bodies that are small on screen (the one
        // below needs no label); in the map view, name them all.
        let small = radius / distance.max(1.0) < 0.05;
        match camera.world_to_viewport(&view, render) {
            Ok(point) if orbit.map || small => {
                node.left = Val::Px(point.x + 8.0);
                node.top = Val::Px(point.y - 8.0);
                visibility.set_if_neq(Visibility::Inherited);
                if orbit.map && small {
                    let ring = (distance * 0.012).max(radius * 1.2);
                    gizmos.circle(
                        Isometry3d::new(render, camera_transform.rotation),
                        ring,
                        Color::srgba(0.6, 0.75, 1.0, 0.7),
                    );
                }
            }
            _ => {
                visibility.set_if_neq(Visibility::Hidden);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_view_is_behind_and_above_the_ship() {
        let up = DVec3::new(6.771e6, 0.0, 0.0);
        let forward = DVec3::new(0.0, 7_670.0, 0.0);
        let offset = orbit_offset(up, forward, 0.0, 0.35, 45.0);
        assert!(offset.y < 0.0, "behind: {offset}");
        assert!(offset.x > 0.0, "above: {offset}");
        assert!((offset.length() - 45.0).abs() < 1e-9);
        let beside = orbit_offset(up, forward, std::f32::consts::FRAC_PI_2, 0.0, 10.0);
        let (beside, forward, up) = (beside.normalize(), forward.normalize(), up.normalize());
        assert!(beside.dot(forward).abs() < 1e-6 && beside.dot(up).abs() < 1e-6);
    }

    #[test]
    fn zoom_and_drag_stay_in_range() {
        assert!((zoom(100.0, 1.0, FLIGHT_RANGE) - 85.0).abs() < 1e-9);
        assert_eq!(zoom(100.0, -100.0, FLIGHT_RANGE), FLIGHT_RANGE.1);
        assert_eq!(zoom(100.0, 100.0, FLIGHT_RANGE), FLIGHT_RANGE.0);
        let (_, pitch) = drag(0.0, 1.5, Vec2::new(0.0, 1_000.0));
        assert!(pitch < std::f32::consts::FRAC_PI_2);
    }
}
