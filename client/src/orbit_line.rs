//! The own ship's predicted orbit: the conic about its dominant body drawn as a
//! line, with periapsis and apoapsis marked and labelled with their altitudes.

use bevy::prelude::*;
use galaxy_shared::physics::gravity::sphere_of_influence;
use galaxy_shared::physics::orbit::OrbitalElements;
use glam::DVec3;

use crate::hud::format_distance;
use crate::scene::bodies::BodySystem;
use crate::scene::origin::{FloatingOrigin, to_render};
use crate::scene::ships::OwnShipNow;
use crate::{ClientSystems, Screen};

pub(super) fn plugin(app: &mut App) {
    app.add_systems(OnEnter(Screen::Flight), spawn_apsis_labels);
    app.add_systems(
        Update,
        draw_orbit
            .in_set(ClientSystems::Present)
            .run_if(resource_exists::<BodySystem>),
    );
}

/// Points drawn along a closed orbit.
const SEGMENTS: usize = 256;

/// Which apsis a label names.
#[derive(Component, Clone, Copy, Debug, PartialEq, Eq)]
enum ApsisLabel {
    Periapsis,
    Apoapsis,
}

/// A conic ready to draw, relative to the centre of its body (m).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Conic {
    /// The line, in order along the orbit.
    pub points: Vec<DVec3>,
    /// Where the periapsis is.
    pub periapsis: DVec3,
    /// Where the apoapsis is, for a closed orbit that stays within `max_radius`.
    pub apoapsis: Option<DVec3>,
}

/// The orbit through `r`, `v` about a centre of `mu`, cut where it leaves
/// `max_radius` (the sphere of influence); `None` for a degenerate state.
pub(crate) fn conic(
    r: DVec3,
    v: DVec3,
    mu: f64,
    max_radius: f64,
    segments: usize,
) -> Option<Conic> {
    let h = r.cross(v);
    if mu.is_nan() || mu <= 0.0 || h.length_squared() == 0.0 || segments < 2 {
        return None;
    }
    let elements = OrbitalElements::from_state(r, v, mu);
    let e = elements.eccentricity;
    let p = h.length_squared() / mu;
    let e_vec = v.cross(h) / mu - r.normalize();
    let along_periapsis = if e > 1e-9 { e_vec / e } else { r.normalize() };
    let across = h.normalize().cross(along_periapsis);
    let at =
        |nu: f64| (along_periapsis * nu.cos() + across * nu.sin()) * (p / (1.0 + e * nu.cos()));
    // How far round the orbit stays within max_radius (and, when open, before the
    // asymptote).
    let mut limit = std::f64::consts::PI;
    if e >= 1.0 {
        limit = (-1.0 / e).acos() * 0.999;
    }
    let cos_exit = (p / max_radius - 1.0) / e.max(1e-12);
    if cos_exit > -1.0 && cos_exit < 1.0 {
        limit = limit.min(cos_exit.acos());
    }
    let closed = limit >= std::f64::consts::PI;
    // The line starts at the ship and is densest there: the camera sits next to it,
    // where a coarse chord would pass kilometres wide of the ship.
    let ship = r.dot(across).atan2(r.dot(along_periapsis));
    let (back, ahead) = if closed {
        (ship - std::f64::consts::PI, ship + std::f64::consts::PI)
    } else {
        (-limit, limit)
    };
    let ship = ship.clamp(back, ahead);
    let half = segments.div_ceil(2);
    let toward = |end: f64, k: usize| ship + (end - ship) * (k as f64 / half as f64).powi(2);
    let points = (0..=half)
        .rev()
        .map(|k| toward(back, k))
        .chain((1..=half).map(|k| toward(ahead, k)))
        .map(at)
        .collect();
    Some(Conic {
        points,
        periapsis: at(0.0),
        apoapsis: (closed && e < 1.0).then(|| at(std::f64::consts::PI)),
    })
}

fn spawn_apsis_labels(mut commands: Commands) {
    for apsis in [ApsisLabel::Periapsis, ApsisLabel::Apoapsis] {
        commands.spawn((
            Name::new(format!("{apsis:?} label")),
            apsis,
            Text::new(""),
            TextFont::from_font_size(13.0),
            TextColor(Color::srgb(0.55, 0.95, 0.7)),
            Node {
                position_type: PositionType::Absolute,
                ..default()
            },
            Visibility::Hidden,
            DespawnOnExit(Screen::Flight),
        ));
    }
}

/// Radius of the sphere of influence of body `id`, from where its parent is.
fn influence_radius(bodies: &BodySystem, id: u8) -> f64 {
    let parent = bodies
        .info
        .get(usize::from(id))
        .and_then(Option::as_ref)
        .and_then(|b| b.parent);
    match (parent, bodies.position(id)) {
        (Some(parent), Some(position)) => match bodies.position(parent) {
            Some(parent_position) => sphere_of_influence(
                position.distance(parent_position),
                bodies.gm(id),
                bodies.gm(parent),
            ),
            None => 1.0e9,
        },
        _ => 1.0e13,
    }
}

fn draw_orbit(
    ship: Res<OwnShipNow>,
    bodies: Res<BodySystem>,
    origin: Res<FloatingOrigin>,
    camera: Single<(&Camera, &Transform)>,
    mut labels: Query<(&ApsisLabel, &mut Text, &mut Node, &mut Visibility)>,
    mut gizmos: Gizmos,
) {
    let (camera, camera_transform) = camera.into_inner();
    let conic = ship
        .live
        .then(|| {
            let max_radius = influence_radius(&bodies, ship.dominant);
            conic(
                ship.relative_position,
                ship.relative_velocity,
                bodies.gm(ship.dominant),
                max_radius,
                SEGMENTS,
            )
        })
        .flatten();
    let center = bodies.position(ship.dominant);
    let (Some(conic), Some(center)) = (conic, center) else {
        for (_, _, _, mut visibility) in &mut labels {
            visibility.set_if_neq(Visibility::Hidden);
        }
        return;
    };
    let render = |p: DVec3| to_render(center + p, origin.0);
    gizmos.linestrip(
        conic.points.iter().map(|p| render(*p)),
        Color::srgb(0.3, 0.85, 0.55),
    );
    let radius = bodies
        .info
        .get(usize::from(ship.dominant))
        .and_then(Option::as_ref)
        .map_or(0.0, |b| b.radius);
    let view = GlobalTransform::from(*camera_transform);
    for (apsis, mut text, mut node, mut visibility) in &mut labels {
        let point = match apsis {
            ApsisLabel::Periapsis => Some(conic.periapsis),
            ApsisLabel::Apoapsis => conic.apoapsis,
        };
        let Some(point) = point else {
            visibility.set_if_neq(Visibility::Hidden);
            continue;
        };
        let at = render(point);
        let size = at.distance(camera_transform.translation) * 0.008;
        gizmos.sphere(
            Isometry3d::from_translation(at),
            size,
            Color::srgb(0.55, 0.95, 0.7),
        );
        match camera.world_to_viewport(&view, at) {
            Ok(screen) => {
                let name = match apsis {
                    ApsisLabel::Periapsis => "Pe",
                    ApsisLabel::Apoapsis => "Ap",
                };
                text.0 = format!("{name} {}", format_distance(point.length() - radius));
                node.left = Val::Px(screen.x + 8.0);
                node.top = Val::Px(screen.y - 8.0);
                visibility.set_if_neq(Visibility::Inherited);
            }
            Err(_) => {
                visibility.set_if_neq(Visibility::Hidden);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MU: f64 = 3.986_004_418e14;

    #[test]
    fn an_elliptic_orbit_passes_through_the_ship_and_has_both_apsides() {
        let r = DVec3::new(7.0e6, 0.0, 0.0);
        let v = DVec3::new(0.0, 8_500.0, 1_000.0);
        let orbit = conic(r, v, MU, 1.0e9, 512).expect("a real orbit");
        let elements = OrbitalElements::from_state(r, v, MU);
        assert!((orbit.periapsis.length() - elements.periapsis).abs() < 1e-3);
        let apoapsis = orbit.apoapsis.expect("closed");
        assert!((apoapsis.length() - elements.apoapsis).abs() < 1e-3);
        let closest = orbit
            .points
            .iter()
            .map(|p| p.distance(r))
            .fold(f64::INFINITY, f64::min);
        assert!(
            closest < 1e-3,
            "the line passes through the ship: {closest} m"
        );
        let first = orbit.points.first().expect("points");
        let last = orbit.points.last().expect("points");
        assert!(first.distance(*last) < 1e-3, "a closed orbit is a loop");
        let nearest_neighbour = orbit
            .points
            .iter()
            .map(|p| p.distance(r))
            .filter(|d| *d > 1e-3)
            .fold(f64::INFINITY, f64::min);
        assert!(
            nearest_neighbour < 2_000.0,
            "dense at the ship, where the camera is: {nearest_neighbour} m"
        );
        for p in &orbit.points {
            assert!(
                p.dot(r.cross(v)).abs() < 1e-3 * p.length(),
                "in the orbit plane"
            );
        }
    }

    #[test]
    fn an_escape_orbit_is_cut_at_the_sphere_of_influence() {
        let r = DVec3::new(7.0e6, 0.0, 0.0);
        let v = DVec3::new(0.0, 12_000.0, 0.0);
        let orbit = conic(r, v, MU, 9.0e8, 64).expect("a real orbit");
        assert_eq!(orbit.apoapsis, None);
        let farthest = orbit.points.iter().map(|p| p.length()).fold(0.0, f64::max);
        assert!(farthest <= 9.0e8 * 1.0001, "{farthest}");
    }

    #[test]
    fn a_radial_fall_has_no_orbit() {
        assert_eq!(conic(DVec3::X * 7e6, DVec3::X * 10.0, MU, 1e9, 64), None);
    }
}
