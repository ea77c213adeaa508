//! The own ship's predicted orbit: the conic about its dominant body drawn as a
//! line, with periapsis and apoapsis marked and labelled with their altitudes.
//!
//! The line is cut into chords for the view it is seen in: a chord is split until
//! its middle lies within half a pixel of the true conic as seen from the camera, so
//! it stays within a pixel of the conic from any view, next to the ship (where the
//! camera sits, metres from it) as from afar. The sharp turn the line makes seen
//! from the ship's camera is the true projection of an orbit seen almost edge-on:
//! the unit test below finds the old fixed chords within a pixel there too.

use bevy::prelude::*;
use galaxy_shared::physics::gravity::sphere_of_influence;
use galaxy_shared::physics::orbit::OrbitalElements;
use glam::DVec3;

use crate::hud::{HudRects, covers, format_distance, hud_rects, screen_label};
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

/// Chords the line starts from before it is split for the view.
const SEGMENTS: usize = 64;
/// Largest distance (px) of a chord's middle from the true conic, on screen.
const TOLERANCE_PX: f64 = 0.5;
/// Times a chord may be halved, and most points in a line, so a camera on the
/// conic itself cannot make the line endless.
const MAX_SPLITS: u32 = 24;
const MAX_POINTS: usize = 16_384;

/// Which apsis a label names.
#[derive(Component, Clone, Copy, Debug, PartialEq, Eq)]
enum ApsisLabel {
    Periapsis,
    Apoapsis,
}

/// A conic ready to draw, relative to the centre of its body (m).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Conic {
    /// Unit vector towards periapsis.
    along: DVec3,
    /// Unit vector 90° ahead of it in the orbit's plane.
    across: DVec3,
    /// Semi-latus rectum (m).
    p: f64,
    /// Eccentricity.
    e: f64,
    /// True anomalies of the coarse line, in order along the orbit, densest at the
    /// ship.
    anomalies: Vec<f64>,
    /// Where the periapsis is.
    pub periapsis: DVec3,
    /// Where the apoapsis is, for a closed orbit that stays within `max_radius`.
    pub apoapsis: Option<DVec3>,
}

impl Conic {
    /// The point at true anomaly `nu`.
    fn at(&self, nu: f64) -> DVec3 {
        (self.along * nu.cos() + self.across * nu.sin()) * (self.p / (1.0 + self.e * nu.cos()))
    }

    /// The line as seen from `eye` (relative to the same centre) by a camera that
    /// spans `radians_per_px` per pixel: within [`TOLERANCE_PX`] of the conic.
    pub fn line_seen_from(&self, eye: DVec3, radians_per_px: f64) -> Vec<DVec3> {
        self.samples_seen_from(eye, radians_per_px)
            .into_iter()
            .map(|(_, point)| point)
            .collect()
    }

    /// The points of [`Self::line_seen_from`] with their true anomalies.
    fn samples_seen_from(&self, eye: DVec3, radians_per_px: f64) -> Vec<(f64, DVec3)> {
        let tolerance = TOLERANCE_PX * radians_per_px;
        let coarse: Vec<(f64, DVec3)> =
            self.anomalies.iter().map(|&nu| (nu, self.at(nu))).collect();
        let Some(&first) = coarse.first() else {
            return Vec::new();
        };
        let mut line = vec![first];
        for pair in coarse.windows(2) {
            self.split(pair[0], pair[1], eye, tolerance, 0, &mut line);
        }
        line
    }

    /// Appends the chord from `a` to `b` (each an anomaly and its point; `a` is
    /// already in `line`), halved until its middle is within `tolerance` radians of
    /// the conic seen from `eye`.
    fn split(
        &self,
        a: (f64, DVec3),
        b: (f64, DVec3),
        eye: DVec3,
        tolerance: f64,
        splits: u32,
        line: &mut Vec<(f64, DVec3)>,
    ) {
        let nu = 0.5 * (a.0 + b.0);
        let middle = (nu, self.at(nu));
        let chord_middle = 0.5 * (a.1 + b.1);
        let off = (middle.1 - chord_middle).length()
            / (chord_middle - eye).length().max(f64::MIN_POSITIVE);
        if off > tolerance && splits < MAX_SPLITS && line.len() < MAX_POINTS {
            self.split(a, middle, eye, tolerance, splits + 1, line);
            self.split(middle, b, eye, tolerance, splits + 1, line);
        } else {
            line.push(b);
        }
    }
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
    let anomalies = (0..=half)
        .rev()
        .map(|k| toward(back, k))
        .chain((1..=half).map(|k| toward(ahead, k)))
        .collect();
    let mut conic = Conic {
        along: along_periapsis,
        across,
        p,
        e,
        anomalies,
        periapsis: DVec3::ZERO,
        apoapsis: None,
    };
    conic.periapsis = conic.at(0.0);
    conic.apoapsis = (closed && e < 1.0).then(|| conic.at(std::f64::consts::PI));
    Some(conic)
}

fn spawn_apsis_labels(mut commands: Commands) {
    for apsis in [ApsisLabel::Periapsis, ApsisLabel::Apoapsis] {
        commands.spawn((
            Name::new(format!("{apsis:?} label")),
            apsis,
            screen_label("", Color::srgb(0.55, 0.95, 0.7)),
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
    camera: Single<(&Camera, &Transform, &Projection)>,
    mut labels: Query<(
        &ApsisLabel,
        &mut Text,
        &mut Node,
        &mut Visibility,
        &ComputedNode,
    )>,
    hud: HudRects,
    mut gizmos: Gizmos,
) {
    let (camera, camera_transform, projection) = camera.into_inner();
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
        for (_, _, _, mut visibility, _) in &mut labels {
            visibility.set_if_neq(Visibility::Hidden);
        }
        return;
    };
    let render = |p: DVec3| to_render(center + p, origin.0);
    let eye = origin.0 + camera_transform.translation.as_dvec3() - center;
    let fov = match projection {
        Projection::Perspective(perspective) => perspective.fov,
        _ => 1.0,
    };
    let height = camera
        .logical_viewport_size()
        .map_or(720.0, |size| size.y.max(1.0));
    let radians_per_px = f64::from(fov / height);
    gizmos.linestrip(
        conic
            .line_seen_from(eye, radians_per_px)
            .into_iter()
            .map(render),
        Color::srgb(0.3, 0.85, 0.55),
    );
    let radius = bodies
        .info
        .get(usize::from(ship.dominant))
        .and_then(Option::as_ref)
        .map_or(0.0, |b| b.radius);
    let view = GlobalTransform::from(*camera_transform);
    let hud_rects = hud_rects(&hud);
    for (apsis, mut text, mut node, mut visibility, computed) in &mut labels {
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
                let corner = screen + Vec2::new(8.0, -8.0);
                node.left = Val::Px(corner.x);
                node.top = Val::Px(corner.y);
                // A label that would cover HUD text waits until the view moves on.
                visibility.set_if_neq(if covers(&hud_rects, corner, computed) {
                    Visibility::Hidden
                } else {
                    Visibility::Inherited
                });
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

    /// The coarse line, before it is split for a view.
    fn points(conic: &Conic) -> Vec<DVec3> {
        conic.anomalies.iter().map(|&nu| conic.at(nu)).collect()
    }

    #[test]
    fn an_elliptic_orbit_passes_through_the_ship_and_has_both_apsides() {
        let r = DVec3::new(7.0e6, 0.0, 0.0);
        let v = DVec3::new(0.0, 8_500.0, 1_000.0);
        let orbit = conic(r, v, MU, 1.0e9, 512).expect("a real orbit");
        let elements = OrbitalElements::from_state(r, v, MU);
        assert!((orbit.periapsis.length() - elements.periapsis).abs() < 1e-3);
        let apoapsis = orbit.apoapsis.expect("closed");
        assert!((apoapsis.length() - elements.apoapsis).abs() < 1e-3);
        let closest = points(&orbit)
            .iter()
            .map(|p| p.distance(r))
            .fold(f64::INFINITY, f64::min);
        assert!(
            closest < 1e-3,
            "the line passes through the ship: {closest} m"
        );
        let points = points(&orbit);
        let first = points.first().expect("points");
        let last = points.last().expect("points");
        assert!(first.distance(*last) < 1e-3, "a closed orbit is a loop");
        let nearest_neighbour = points
            .iter()
            .map(|p| p.distance(r))
            .filter(|d| *d > 1e-3)
            .fold(f64::INFINITY, f64::min);
        assert!(
            nearest_neighbour < 2_000.0,
            "dense at the ship, where the camera is: {nearest_neighbour} m"
        );
        for p in &points {
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
        let farthest = points(&orbit)
            .iter()
            .map(|p| p.length())
            .fold(0.0, f64::max);
        assert!(farthest <= 9.0e8 * 1.0001, "{farthest}");
    }

    /// A camera as Bevy's perspective projection makes one (right-handed, infinite
    /// reverse-Z), in f64, over a `size` px viewport.
    struct View {
        view: glam::DMat4,
        projection: glam::DMat4,
        size: glam::DVec2,
    }

    /// Near plane (m), as the client's camera has it.
    const NEAR: f64 = 0.5;

    impl View {
        fn new(eye: DVec3, target: DVec3, up: DVec3, fov: f64, size: glam::DVec2) -> Self {
            Self {
                view: glam::DMat4::look_at_rh(eye, target, up),
                projection: glam::DMat4::perspective_infinite_reverse_rh(
                    fov,
                    size.x / size.y,
                    NEAR,
                ),
                size,
            }
        }

        /// Distance in front of the camera.
        fn depth(&self, p: DVec3) -> f64 {
            -self.view.transform_point3(p).z
        }

        /// Pixel position (origin top left).
        fn pixel(&self, p: DVec3) -> glam::DVec2 {
            let ndc = self
                .projection
                .project_point3(self.view.transform_point3(p));
            glam::DVec2::new(
                (ndc.x + 1.0) * 0.5 * self.size.x,
                (1.0 - ndc.y) * 0.5 * self.size.y,
            )
        }

        fn on_screen(&self, pixel: glam::DVec2) -> bool {
            (0.0..=self.size.x).contains(&pixel.x) && (0.0..=self.size.y).contains(&pixel.y)
        }
    }

    /// Farthest (px) any on-screen point of the conic lies from the chord drawn for
    /// its stretch, each chord cut at the near plane as the GPU cuts it.
    fn worst_pixels(conic: &Conic, anomalies: &[f64], view: &View) -> f64 {
        let mut worst = 0.0f64;
        for pair in anomalies.windows(2) {
            let (a, b) = (conic.at(pair[0]), conic.at(pair[1]));
            let (da, db) = (view.depth(a), view.depth(b));
            if da < NEAR && db < NEAR {
                continue;
            }
            let cut = |inside: DVec3, outside: DVec3, di: f64, dout: f64| {
                inside + (outside - inside) * ((di - NEAR) / (di - dout))
            };
            let (a, b) = match (da < NEAR, db < NEAR) {
                (true, _) => (cut(b, a, db, da), b),
                (_, true) => (a, cut(a, b, da, db)),
                _ => (a, b),
            };
            let (sa, sb) = (view.pixel(a), view.pixel(b));
            for i in 1..64 {
                let nu = pair[0] + (pair[1] - pair[0]) * f64::from(i) / 64.0;
                let q = conic.at(nu);
                if view.depth(q) < NEAR {
                    continue;
                }
                let sq = view.pixel(q);
                if !view.on_screen(sq) {
                    continue;
                }
                let chord = sb - sa;
                let t = ((sq - sa).dot(chord) / chord.length_squared().max(1e-12)).clamp(0.0, 1.0);
                worst = worst.max((sa + chord * t).distance(sq));
            }
        }
        worst
    }

    #[test]
    fn the_line_stays_within_a_pixel_of_the_conic_from_the_ship_and_from_afar() {
        let r = DVec3::new(6.778e6, 0.0, 0.0);
        let v = DVec3::new(0.0, 7_668.6, 0.0);
        let size = glam::DVec2::new(1280.0, 800.0);
        let fov = 50f64.to_radians();
        let radians_per_px = fov / size.y;
        // The ship's camera: 30 m behind the ship and 8 m above it, looking ahead
        // along the orbit, which curves away below the horizon.
        let eye = r + DVec3::new(8.0, -30.0, 0.0);
        let near = View::new(eye, r + DVec3::new(-2.0, 200.0, 0.0), DVec3::X, fov, size);
        // The map, 12 000 km and 40 000 km over the pole.
        let over_pole = |height: f64| {
            let eye = DVec3::new(0.0, 0.0, height);
            (View::new(eye, DVec3::ZERO, DVec3::Y, fov, size), eye)
        };
        let (close, close_eye) = over_pole(1.2e7);
        let (far, far_eye) = over_pole(4.0e7);
        let orbit = conic(r, v, MU, 9.2e8, SEGMENTS).expect("a real orbit");
        for (view, eye, name) in [
            (&near, eye, "the ship"),
            (&close, close_eye, "12 000 km"),
            (&far, far_eye, "40 000 km"),
        ] {
            let line: Vec<f64> = orbit
                .samples_seen_from(eye, radians_per_px)
                .into_iter()
                .map(|(nu, _)| nu)
                .collect();
            let worst = worst_pixels(&orbit, &line, view);
            assert!(
                worst <= 1.0,
                "seen from {name} the line leaves the conic by {worst:.2} px ({} points)",
                line.len()
            );
            assert!(line.len() < 4_000, "{} points seen from {name}", line.len());
        }
        // Unsplit, the coarse chords leave the conic by pixels on the close map.
        let coarse = worst_pixels(&orbit, &orbit.anomalies, &close);
        assert!(coarse > 1.5, "unsplit chords are within {coarse:.2} px");
        // The old fixed 256 chords, densest at the ship, were within a pixel too:
        // the corner seen from the ship's camera is the true projection of an orbit
        // seen almost edge-on, not the sampling.
        let old = conic(r, v, MU, 9.2e8, 256).expect("a real orbit");
        let old_worst = worst_pixels(&old, &old.anomalies, &near);
        assert!(
            old_worst <= 1.0,
            "256 chords leave the conic by {old_worst:.2} px"
        );
    }

    #[test]
    fn a_radial_fall_has_no_orbit() {
        assert_eq!(conic(DVec3::X * 7e6, DVec3::X * 10.0, MU, 1e9, 64), None);
    }
}
