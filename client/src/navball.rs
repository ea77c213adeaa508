//! The navball: an attitude ball at the bottom centre of the flight view, as in
//! KSP or Orbiter. It shows the sky (blue) and ground (brown) of the dominant
//! body's local horizon as the ship's nose sees them, with the horizon, pitch lines
//! every 30°, heading lines every 30° (north, east, south and west darker) and
//! compass letters, a fixed yellow ship symbol in the middle, and markers for the
//! orbit's directions (prograde, retrograde, normal, anti-normal, radial out and
//! in, exactly where the hold modes of those names point) and the target.
//!
//! The ball is an orthographic view of the sky sphere from inside the ship: the
//! nose (body +Z, see [`galaxy_shared::physics::attitude`]) is the centre, and a
//! direction lies at its body-frame (right, up) components from it, in ball radii.
//! Which body axes are screen right and up: the hull is symmetric about its fins,
//! so the model does not say which of ±Y is its top; the keys do. W (pitch torque
//! about −X) swings the nose towards body +Y, A (yaw about +Y) towards +X, and E
//! (roll about +Z) turns +Y towards −X. With +Y as screen up and −X as screen
//! right, W raises the nose, A turns it left, D right, and E rolls the top to the
//! right: what the pilot expects from the chase view behind the ship, and the ball
//! moves as the view out of a cockpit would. (+X as screen right with +Y up is no
//! rotation of the nose's view but its mirror image, with east and west swapped;
//! −Y up would make A turn right.)
//!
//! The ball is painted on the CPU into a small texture, the same natively and in
//! WebGL2, and only when the attitude over the horizon has turned by more than
//! [`REPAINT_ANGLE`]; what each pixel looks along is worked out once ([`Lens`]), so
//! a repaint is a rotation and a few dot products per pixel, with no trigonometry.

use bevy::asset::RenderAssetUsages;
use bevy::prelude::*;
use bevy::render::render_resource::{Extent3d, TextureDimension, TextureFormat};
use galaxy_shared::components::HoldMode;
use glam::{DMat3, DQuat, DVec3};

use crate::camera::OrbitCamera;
use crate::hud::HudBlock;
use crate::net::ShipSamples;
use crate::scene::GameClock;
use crate::scene::bodies::BodySystem;
use crate::scene::ships::{OwnShipModel, OwnShipNow};
use crate::target::{ChosenTarget, locate};
use crate::{ClientSystems, Screen};

pub(crate) fn plugin(app: &mut App) {
    app.add_systems(OnEnter(Screen::Flight), spawn_navball);
    app.add_systems(OnExit(Screen::Flight), drop_painter);
    app.add_systems(
        Update,
        update_navball
            .in_set(ClientSystems::Present)
            .run_if(in_state(Screen::Flight)),
    );
}

/// Side of the ball's texture (px); odd, so that one pixel sits on the centre.
const SIZE: usize = 129;
/// Side of the ball on screen (logical px).
const BALL_PX: f32 = 150.0;
/// Gap under the ball (logical px), which keeps the help line at the bottom clear.
const BOTTOM_PX: f32 = 30.0;
/// The ball is repainted once the attitude over the horizon has turned this far
/// (rad) since the last paint: a quarter of a degree, under a pixel at the centre.
const REPAINT_ANGLE: f32 = 0.25 * std::f32::consts::PI / 180.0;
/// A marker this far behind the ball's rim (in ball radii along the nose) still
/// shows, so that a direction exactly on the rim is not lost to rounding.
const RIM_TOLERANCE: f32 = 1e-4;
/// Width of a marker's box (logical px).
const MARKER_WIDTH_PX: f32 = 30.0;
/// Diameter of a marker's ring (logical px); a marker's point is its ring's centre.
const RING_PX: f32 = 12.0;
/// Compass letters stand this high over the horizon (deg), clear of its line.
const COMPASS_LIFT_DEG: f64 = 6.0;
/// A compass letter closer than this to a ringed marker (logical px) is hidden: the
/// ring and its label take about this much room.
const COMPASS_CLEARANCE_PX: f32 = 18.0;

/// Half-width of the horizon line (texture px at the centre of the ball).
const HORIZON_HALF_PX: f32 = 1.2;
/// Half-width of the pitch and heading lines.
const LINE_HALF_PX: f32 = 0.6;
/// Half-width of the north, east, south and west heading lines.
const CARDINAL_HALF_PX: f32 = 1.0;
/// Width of the dark rim (px).
const RIM_PX: f32 = 1.5;
/// Heading lines stop this close to the zenith and nadir (deg), where they would
/// run together.
const POLE_GAP_DEG: f32 = 10.0;

/// Colours of the ball, as sRGB bytes.
const SKY: Vec3 = Vec3::new(45.0, 120.0, 200.0);
const GROUND: Vec3 = Vec3::new(140.0, 85.0, 40.0);
const SKY_LINE: Vec3 = Vec3::new(215.0, 232.0, 255.0);
const GROUND_LINE: Vec3 = Vec3::new(240.0, 205.0, 160.0);
const HORIZON: Vec3 = Vec3::new(250.0, 250.0, 240.0);
const RIM: Vec3 = Vec3::new(25.0, 28.0, 34.0);
/// How strongly pitch and heading lines show over the ball's colour.
const LINE_STRENGTH: f32 = 0.55;
/// A cardinal heading line is the ball's colour this much darker.
const CARDINAL_SHADE: f32 = 0.35;
/// Outside the disc: transparent, in the rim's colour so filtering leaves no halo.
const CLEAR: [u8; 4] = [25, 28, 34, 0];

/// The ship symbol's colour and outline, as sRGB bytes.
const SYMBOL: Vec3 = Vec3::new(255.0, 210.0, 40.0);
const SYMBOL_OUTLINE: Vec3 = Vec3::new(20.0, 16.0, 0.0);

/// The navball's root node.
#[derive(Component)]
struct Navball;

/// A direction shown over the ball.
#[derive(Component, Clone, Copy, Debug, PartialEq, Eq)]
enum Marker {
    /// An orbit direction: where the hold mode of that name points the nose.
    Orbit(HoldMode),
    /// Towards the target.
    Target,
    /// A compass point just over the horizon, by its heading (deg from north).
    Compass(u16),
}

impl Marker {
    /// Whether the marker has a ring (orbit and target markers) or is a bare letter.
    fn ringed(self) -> bool {
        !matches!(self, Self::Compass(_))
    }
}

/// Every marker, with its label and colour.
const MARKERS: [(Marker, &str, Color); 11] = [
    (
        Marker::Orbit(HoldMode::Prograde),
        "PRO",
        Color::srgb(0.75, 1.0, 0.2),
    ),
    (
        Marker::Orbit(HoldMode::Retrograde),
        "RET",
        Color::srgb(1.0, 0.55, 0.1),
    ),
    (
        Marker::Orbit(HoldMode::Normal),
        "NML",
        Color::srgb(0.8, 0.5, 1.0),
    ),
    (
        Marker::Orbit(HoldMode::AntiNormal),
        "ANM",
        Color::srgb(1.0, 0.55, 0.85),
    ),
    (
        Marker::Orbit(HoldMode::RadialOut),
        "RAD",
        Color::srgb(0.3, 0.95, 1.0),
    ),
    (
        Marker::Orbit(HoldMode::RadialIn),
        "RIN",
        Color::srgb(0.6, 0.75, 1.0),
    ),
    (Marker::Target, "TGT", Color::srgb(1.0, 0.3, 0.3)),
    (Marker::Compass(0), "N", Color::srgba(1.0, 1.0, 1.0, 0.9)),
    (Marker::Compass(90), "E", Color::srgba(1.0, 1.0, 1.0, 0.9)),
    (Marker::Compass(180), "S", Color::srgba(1.0, 1.0, 1.0, 0.9)),
    (Marker::Compass(270), "W", Color::srgba(1.0, 1.0, 1.0, 0.9)),
];

/// The ball's texture, what its pixels look along, and the attitude over the
/// horizon it was last painted for.
#[derive(Resource)]
struct BallPainter {
    /// The texture the ball's node shows.
    image: Handle<Image>,
    /// Per-pixel view directions and shading.
    lens: Lens,
    /// Body-to-horizon rotation of the last paint; `None` before the first.
    painted: Option<Quat>,
}

/// What each pixel of the ball shows, worked out once.
struct Lens {
    /// Side of the texture (px).
    size: usize,
    /// Texture pixels per radian of sky at the centre: the ball's radius in pixels.
    px_per_rad: f32,
    /// Row by row from the top.
    pixels: Vec<LensPixel>,
}

/// One pixel of the [`Lens`].
#[derive(Clone, Copy, Debug)]
struct LensPixel {
    /// Body-frame unit direction the pixel looks along (zero off the disc).
    view: Vec3,
    /// Light on the ball there: 1 facing the light, 0.5 on the shadowed rim.
    shade: f32,
    /// How much of the pixel the disc covers, 0..1.
    cover: f32,
    /// How much of it the rim covers, 0..1.
    rim: f32,
}

impl Lens {
    fn new(size: usize) -> Self {
        let radius = size as f32 / 2.0;
        // From the upper left and a little in front, for a lit, round look.
        let light = Vec3::new(-0.3, 0.4, 0.87).normalize();
        let mut pixels = Vec::with_capacity(size * size);
        for row in 0..size {
            for column in 0..size {
                let p =
                    Vec2::new(column as f32 + 0.5 - radius, radius - (row as f32 + 0.5)) / radius;
                let rho = p.length();
                let cover = ((1.0 - rho) * radius + 0.5).clamp(0.0, 1.0);
                if cover <= 0.0 {
                    pixels.push(LensPixel {
                        view: Vec3::ZERO,
                        shade: 0.0,
                        cover: 0.0,
                        rim: 0.0,
                    });
                    continue;
                }
                // The antialiased edge straddles the rim: look along the rim there.
                let on_disc = if rho > 1.0 { p / rho } else { p };
                let normal = on_disc.extend((1.0 - on_disc.length_squared()).max(0.0).sqrt());
                pixels.push(LensPixel {
                    view: from_screen(on_disc),
                    shade: 0.5 + 0.5 * normal.dot(light).max(0.0),
                    cover,
                    rim: ((rho - (1.0 - RIM_PX / radius)) * radius + 0.5).clamp(0.0, 1.0),
                });
            }
        }
        Self {
            size,
            px_per_rad: radius,
            pixels,
        }
    }
}

/// Screen position (x right, y up, in ball radii from the centre) of a body-frame
/// direction on the front of the ball: body −X is right, +Y up (module docs).
fn to_screen(body: Vec3) -> Vec2 {
    Vec2::new(-body.x, body.y)
}

/// The body-frame unit direction seen at screen position `p` inside the unit disc;
/// the inverse of [`to_screen`] on the front of the ball.
fn from_screen(p: Vec2) -> Vec3 {
    Vec3::new(-p.x, p.y, (1.0 - p.length_squared()).max(0.0).sqrt())
}

/// The local horizon at `r` (relative to the body's centre, ICRF) over a body whose
/// north pole is `pole`: the rotation taking (east, north, up) coordinates to the
/// ICRF. Up is radial out; north is the pole, else ICRF +Z, else +X, whichever is
/// first not along up, flattened onto the horizon; east = north × up, the way the
/// surface of a body turning about its pole moves. `None` at the centre.
fn horizon_frame(r: DVec3, pole: DVec3) -> Option<DQuat> {
    let up = r.try_normalize()?;
    let north = [pole, DVec3::Z, DVec3::X].into_iter().find_map(|axis| {
        let flat = axis - up * axis.dot(up);
        (flat.length_squared() > 1e-12).then(|| flat.normalize())
    })?;
    let east = north.cross(up);
    Some(DQuat::from_mat3(&DMat3::from_cols(east, north, up)))
}

/// Whether a ball painted for `painted` (body to horizon) must be repainted for
/// `now`: always before the first paint, then once it is [`REPAINT_ANGLE`] off.
fn needs_repaint(painted: Option<Quat>, now: Quat) -> bool {
    painted.is_none_or(|painted| painted.angle_between(now) > REPAINT_ANGLE)
}

/// Where `direction` (ICRF) lies on the ball of a ship whose `attitude` turns body
/// axes to ICRF: x right, y up, in ball radii from the centre; `None` behind the
/// ball or for no direction at all.
fn marker_position(attitude: Quat, direction: Vec3) -> Option<Vec2> {
    let body = attitude.inverse() * direction.try_normalize()?;
    (body.z >= -RIM_TOLERANCE).then(|| to_screen(body))
}

/// Paints the ball into `pixels` (RGBA8 sRGB, `lens.size` square, rows from the
/// top) for `frame`, the rotation from the ship's body axes to the local horizon's
/// (east, north, up).
fn paint(frame: Quat, lens: &Lens, pixels: &mut [u8]) {
    debug_assert_eq!(pixels.len(), lens.size * lens.size * 4, "texture size");
    let to_horizon = Mat3::from_quat(frame);
    let px = lens.px_per_rad;
    // Coverage of a line `half_px` wide at `distance` (rad) from it, antialiased.
    let stroke = |distance: f32, half_px: f32| ((half_px - distance * px) + 0.5).clamp(0.0, 1.0);
    // Pitch lines at ±30° and ±60°: sine of the elevation, and the secant that turns
    // a difference of sines into an angle.
    let pitch_lines = [30f32, 60.0].map(|deg| {
        let angle = deg.to_radians();
        (angle.sin(), angle.cos().recip())
    });
    // Each heading great circle carries two lines, at a and a + 180°: 0/180 and
    // 90/270 are the cardinal ones. Its normal in (east, north) is (cos a, −sin a).
    let meridians: [(f32, f32, bool); 6] = std::array::from_fn(|k| {
        let a = (30.0 * k as f32).to_radians();
        (a.cos(), a.sin(), k % 3 == 0)
    });
    let pole_cut = POLE_GAP_DEG.to_radians().cos();
    for (out, pixel) in pixels.chunks_exact_mut(4).zip(&lens.pixels) {
        if pixel.cover <= 0.0 {
            out.copy_from_slice(&CLEAR);
            continue;
        }
        let Vec3 {
            x: east,
            y: north,
            z: up,
        } = to_horizon * pixel.view;
        let (base, light_line) = if up >= 0.0 {
            (SKY, SKY_LINE)
        } else {
            (GROUND, GROUND_LINE)
        };
        let mut line = 0.0f32;
        for (sin, secant) in pitch_lines {
            line = line.max(stroke((up.abs() - sin).abs() * secant, LINE_HALF_PX));
        }
        let mut cardinal = 0.0f32;
        if up.abs() < pole_cut {
            for (cos, sin, is_cardinal) in meridians {
                let distance = (east * cos - north * sin).abs();
                if is_cardinal {
                    cardinal = cardinal.max(stroke(distance, CARDINAL_HALF_PX));
                } else {
                    line = line.max(stroke(distance, LINE_HALF_PX));
                }
            }
        }
        let color = base
            .lerp(light_line, LINE_STRENGTH * line)
            .lerp(base * CARDINAL_SHADE, cardinal)
            .lerp(HORIZON, stroke(up.abs(), HORIZON_HALF_PX))
            * pixel.shade;
        let color = color.lerp(RIM, pixel.rim);
        out.copy_from_slice(&[
            byte(color.x),
            byte(color.y),
            byte(color.z),
            byte(pixel.cover * 255.0),
        ]);
    }
}

/// A colour channel (0..255) as a byte.
fn byte(value: f32) -> u8 {
    (value + 0.5).clamp(0.0, 255.0) as u8
}

/// The ship symbol, `size` square (RGBA8 sRGB): yellow wings and a V below the
/// centre, with a dot on it, outlined dark so it reads on sky and ground alike.
fn paint_symbol(size: usize) -> Vec<u8> {
    let radius = size as f32 / 2.0;
    let wing = [
        Vec2::new(-0.42, 0.0),
        Vec2::new(-0.16, 0.0),
        Vec2::new(0.0, -0.14),
        Vec2::new(0.16, 0.0),
        Vec2::new(0.42, 0.0),
    ];
    let stroke = |distance_px: f32, half_px: f32| (half_px - distance_px + 0.5).clamp(0.0, 1.0);
    let mut pixels = Vec::with_capacity(size * size * 4);
    for row in 0..size {
        for column in 0..size {
            let p = Vec2::new(column as f32 + 0.5 - radius, radius - (row as f32 + 0.5)) / radius;
            let to_wing = wing
                .windows(2)
                .map(|ends| segment_distance(p, ends[0], ends[1]))
                .fold(f32::INFINITY, f32::min)
                * radius;
            let to_dot = p.length() * radius;
            let core = stroke(to_wing, 1.2).max(stroke(to_dot, 1.8));
            let outline = stroke(to_wing, 2.4).max(stroke(to_dot, 3.0));
            let color = SYMBOL_OUTLINE.lerp(SYMBOL, core);
            pixels.extend_from_slice(&[
                byte(color.x),
                byte(color.y),
                byte(color.z),
                byte(core.max(0.8 * outline) * 255.0),
            ]);
        }
    }
    pixels
}

/// Distance from `p` to the segment from `a` to `b` (`a` ≠ `b`).
fn segment_distance(p: Vec2, a: Vec2, b: Vec2) -> f32 {
    let ab = b - a;
    let t = ((p - a).dot(ab) / ab.length_squared()).clamp(0.0, 1.0);
    p.distance(a + ab * t)
}

/// A `SIZE` square RGBA8 sRGB texture of `pixels`.
fn texture(pixels: Vec<u8>, usage: RenderAssetUsages) -> Image {
    Image::new(
        Extent3d {
            width: SIZE as u32,
            height: SIZE as u32,
            depth_or_array_layers: 1,
        },
        TextureDimension::D2,
        pixels,
        TextureFormat::Rgba8UnormSrgb,
        usage,
    )
}

/// Spawns the ball (hidden until there is an attitude to show), the ship symbol
/// and the markers over it, and the painter that keeps its texture.
fn spawn_navball(mut commands: Commands, mut images: ResMut<Assets<Image>>) {
    // The ball's pixels stay in the main world, where the painter rewrites them.
    let ball = images.add(texture(
        CLEAR.repeat(SIZE * SIZE),
        RenderAssetUsages::default(),
    ));
    let symbol = images.add(texture(paint_symbol(SIZE), RenderAssetUsages::RENDER_WORLD));
    commands.insert_resource(BallPainter {
        image: ball.clone(),
        lens: Lens::new(SIZE),
        painted: None,
    });
    commands
        .spawn((
            Name::new("Navball"),
            Navball,
            HudBlock::Navball,
            ImageNode::new(ball),
            Node {
                position_type: PositionType::Absolute,
                width: Val::Px(BALL_PX),
                height: Val::Px(BALL_PX),
                left: Val::Percent(50.0),
                margin: UiRect::left(Val::Px(-BALL_PX / 2.0)),
                bottom: Val::Px(BOTTOM_PX),
                display: Display::None,
                ..default()
            },
            DespawnOnExit(Screen::Flight),
        ))
        .with_children(|ball| {
            ball.spawn((
                Name::new("Navball ship symbol"),
                ImageNode::new(symbol),
                Node {
                    position_type: PositionType::Absolute,
                    left: Val::Px(0.0),
                    top: Val::Px(0.0),
                    width: Val::Percent(100.0),
                    height: Val::Percent(100.0),
                    ..default()
                },
            ));
            for (marker, label, color) in MARKERS {
                ball.spawn((
                    Name::new(format!("Navball {label}")),
                    marker,
                    Node {
                        position_type: PositionType::Absolute,
                        width: Val::Px(MARKER_WIDTH_PX),
                        flex_direction: FlexDirection::Column,
                        align_items: AlignItems::Center,
                        ..default()
                    },
                    Visibility::Hidden,
                ))
                .with_children(|parts| {
                    if marker.ringed() {
                        parts.spawn((
                            Name::new("Ring"),
                            Node {
                                width: Val::Px(RING_PX),
                                height: Val::Px(RING_PX),
                                border: UiRect::all(Val::Px(2.0)),
                                border_radius: BorderRadius::MAX,
                                ..default()
                            },
                            BorderColor::all(color),
                        ));
                    }
                    parts.spawn((
                        Name::new("Label"),
                        Text::new(label),
                        TextFont::from_font_size(10.0),
                        TextColor(color),
                        TextShadow {
                            offset: Vec2::splat(1.0),
                            color: Color::srgba(0.0, 0.0, 0.0, 0.8),
                        },
                    ));
                });
            }
        });
}

/// Lets the ball's texture go with the flight view.
fn drop_painter(mut commands: Commands) {
    commands.remove_resource::<BallPainter>();
}

/// What the ball shows this frame.
struct Sight {
    /// The ship's attitude: body axes to ICRF.
    attitude: Quat,
    /// The local horizon: (east, north, up) to ICRF.
    horizon: DQuat,
    /// Position relative to the dominant body (ICRF, m).
    r: DVec3,
    /// Velocity relative to the dominant body (ICRF, m/s).
    v: DVec3,
    /// Unit direction to the target (ICRF), if there is one.
    target: Option<DVec3>,
}

impl Sight {
    /// The ICRF direction `marker` stands for now, if any.
    fn direction(&self, marker: Marker) -> Option<DVec3> {
        match marker {
            Marker::Orbit(mode) => mode.direction(self.r, self.v),
            Marker::Target => self.target,
            Marker::Compass(heading) => {
                let (a, lift) = (
                    f64::from(heading).to_radians(),
                    COMPASS_LIFT_DEG.to_radians(),
                );
                Some(
                    self.horizon
                        * DVec3::new(a.sin() * lift.cos(), a.cos() * lift.cos(), lift.sin()),
                )
            }
        }
    }
}

/// Shows the ball in the flight view once the ship and its dominant body are
/// known, repaints it when the attitude over the horizon has turned, and puts the
/// markers where their directions lie.
fn update_navball(
    clock: Res<GameClock>,
    ship: Res<OwnShipNow>,
    bodies: Option<Res<BodySystem>>,
    target: Res<ChosenTarget>,
    ships: Res<ShipSamples>,
    cameras: Query<&OrbitCamera>,
    models: Query<&Transform, With<OwnShipModel>>,
    painter: Option<ResMut<BallPainter>>,
    mut images: ResMut<Assets<Image>>,
    mut balls: Query<&mut Node, (With<Navball>, Without<Marker>)>,
    mut markers: Query<(&Marker, &mut Node, &mut Visibility), Without<Navball>>,
) {
    let Ok(mut ball) = balls.single_mut() else {
        return;
    };
    let map = cameras.iter().any(|camera| camera.map);
    let sight = match (map, bodies, models.single()) {
        (false, Some(bodies), Ok(model)) if ship.live => bodies
            .info
            .get(usize::from(ship.dominant))
            .and_then(Option::as_ref)
            .and_then(|body| horizon_frame(ship.relative_position, body.rotation.pole(clock.now)))
            .map(|horizon| Sight {
                attitude: model.rotation,
                horizon,
                r: ship.relative_position,
                v: ship.relative_velocity,
                target: target
                    .0
                    .and_then(|chosen| locate(chosen, &bodies, &ships, clock.now))
                    .and_then(|(position, _, _)| (position - ship.position).try_normalize()),
            }),
        _ => None,
    };
    let display = if sight.is_some() {
        Display::Flex
    } else {
        Display::None
    };
    if ball.display != display {
        ball.display = display;
    }
    let (Some(sight), Some(mut painter)) = (sight, painter) else {
        return;
    };
    let frame = (sight.horizon.as_quat().inverse() * sight.attitude).normalize();
    if needs_repaint(painter.painted, frame) {
        let painter = &mut *painter;
        if let Some(mut image) = images.get_mut(&painter.image)
            && let Some(pixels) = image.data.as_mut()
        {
            paint(frame, &painter.lens, pixels);
            painter.painted = Some(frame);
        }
    }
    let radius = BALL_PX / 2.0;
    let spot_of = |marker: Marker| {
        sight
            .direction(marker)
            .and_then(|direction| marker_position(sight.attitude, direction.as_vec3()))
    };
    let steering: Vec<Vec2> = markers
        .iter()
        .filter(|(marker, ..)| marker.ringed())
        .filter_map(|(marker, ..)| spot_of(*marker))
        .collect();
    for (marker, mut node, mut visibility) in &mut markers {
        let spot = spot_of(*marker)
            .filter(|&spot| marker.ringed() || clear_of(spot * radius, &steering, radius));
        let Some(spot) = spot else {
            visibility.set_if_neq(Visibility::Hidden);
            continue;
        };
        let left = Val::Px(radius * (1.0 + spot.x) - MARKER_WIDTH_PX / 2.0);
        let top = Val::Px(radius * (1.0 - spot.y) - RING_PX / 2.0);
        if node.left != left || node.top != top {
            node.left = left;
            node.top = top;
        }
        visibility.set_if_neq(Visibility::Inherited);
    }
}

/// Whether a compass letter at `spot` (px from the ball's centre) stands clear of
/// every marker a pilot steers by at `steering` (in ball radii): a letter gives way
/// rather than cover one.
fn clear_of(spot: Vec2, steering: &[Vec2], radius: f32) -> bool {
    steering
        .iter()
        .all(|&other| spot.distance(other * radius) >= COMPASS_CLEARANCE_PX)
}

#[cfg(test)]
mod tests {
    use std::f32::consts::{FRAC_1_SQRT_2, FRAC_PI_2};

    use super::*;

    /// A ship over the equator of a body with its pole on ICRF +Z, on a circular
    /// prograde orbit: up is +X, north +Z, east (and prograde) +Y.
    const R: DVec3 = DVec3::new(7.0e6, 0.0, 0.0);
    const V: DVec3 = DVec3::new(0.0, 7_546.0, 0.0);
    const UP: Vec3 = Vec3::X;
    const NORTH: Vec3 = Vec3::Z;
    const EAST: Vec3 = Vec3::Y;

    /// The attitude with the nose along `nose` and the top (body +Y) towards `top`.
    fn attitude(nose: Vec3, top: Vec3) -> Quat {
        let z = nose.normalize();
        let y = (top - z * top.dot(z)).normalize();
        Quat::from_mat3(&Mat3::from_cols(y.cross(z), y, z))
    }

    /// The ball painted for a ship of `attitude` at [`R`].
    fn painted(attitude: Quat) -> Vec<u8> {
        let horizon = horizon_frame(R, DVec3::Z).expect("off the centre");
        let frame = (horizon.as_quat().inverse() * attitude).normalize();
        let mut pixels = vec![0; SIZE * SIZE * 4];
        paint(frame, &Lens::new(SIZE), &mut pixels);
        pixels
    }

    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    enum Look {
        Clear,
        Sky,
        Ground,
        /// Neither blue nor brown: the horizon (or the rim).
        Line,
    }

    /// What the pixel in `column`, `row` shows.
    fn look_px(pixels: &[u8], column: usize, row: usize) -> Look {
        let i = (row * SIZE + column) * 4;
        let [r, _, b, a] = [0, 1, 2, 3].map(|k| f32::from(pixels[i + k]));
        if a < 128.0 {
            Look::Clear
        } else if b > 1.4 * r + 4.0 {
            Look::Sky
        } else if r > 1.4 * b + 4.0 {
            Look::Ground
        } else {
            Look::Line
        }
    }

    /// What the ball shows at screen position `x` right, `y` up (ball radii).
    fn look(pixels: &[u8], x: f32, y: f32) -> Look {
        let half = SIZE as f32 / 2.0;
        look_px(
            pixels,
            (half * (1.0 + x)) as usize,
            (half * (1.0 - y)) as usize,
        )
    }

    fn near(a: Vec2, b: Vec2) -> bool {
        a.distance(b) < 1e-3
    }

    #[test]
    fn the_horizon_frame_has_up_out_north_to_the_pole_and_east_along_the_spin() {
        let pole = DVec3::new(0.3, -0.2, 0.93).normalize();
        let r = DVec3::new(1.0e6, 2.0e6, 0.5e6);
        let frame = horizon_frame(r, pole).expect("off the centre");
        let (east, north, up) = (frame * DVec3::X, frame * DVec3::Y, frame * DVec3::Z);
        assert!(up.distance(r.normalize()) < 1e-12, "up {up}");
        assert!(
            north.dot(up).abs() < 1e-12 && north.dot(pole) > 0.0,
            "north {north}"
        );
        let spin = pole.cross(up).normalize();
        assert!(
            east.distance(spin) < 1e-12,
            "east {east}, surface moves {spin}"
        );
        // Over the pole, north falls back to ICRF +Z, then +X.
        let frame = horizon_frame(DVec3::X * 7.0e6, DVec3::X).expect("off the centre");
        assert!((frame * DVec3::Y).distance(DVec3::Z) < 1e-12);
        let frame = horizon_frame(DVec3::Z * 7.0e6, DVec3::Z).expect("off the centre");
        assert!((frame * DVec3::Y).distance(DVec3::X) < 1e-12);
        assert_eq!(horizon_frame(DVec3::ZERO, pole), None);
    }

    #[test]
    fn nose_up_shows_sky_with_the_orbit_on_the_rim() {
        let ship = attitude(UP, NORTH);
        let pixels = painted(ship);
        assert_eq!(look(&pixels, 0.0, 0.0), Look::Sky);
        assert_eq!(look(&pixels, 0.5, -0.5), Look::Sky);
        let prograde = marker_position(ship, V.as_vec3()).expect("on the rim");
        // Top to the north: east is on the left, as looking up with one's head north.
        assert!(
            near(prograde, Vec2::new(-1.0, 0.0)),
            "prograde at {prograde}"
        );
        let radial = marker_position(ship, R.as_vec3()).expect("ahead");
        assert!(near(radial, Vec2::ZERO), "radial out at {radial}");
        assert_eq!(
            marker_position(ship, -R.as_vec3()),
            None,
            "radial in behind"
        );
    }

    #[test]
    fn nose_prograde_sits_on_the_horizon_with_prograde_centred() {
        let ship = attitude(V.as_vec3(), UP);
        let pixels = painted(ship);
        assert_eq!(
            look(&pixels, 0.0, 0.0),
            Look::Line,
            "horizon through the centre"
        );
        assert_eq!(look(&pixels, 0.0, 0.5), Look::Sky);
        assert_eq!(look(&pixels, 0.0, -0.5), Look::Ground);
        let sight = Sight {
            attitude: ship,
            horizon: horizon_frame(R, DVec3::Z).expect("off the centre"),
            r: R,
            v: V,
            target: None,
        };
        let at = |marker| {
            sight
                .direction(marker)
                .and_then(|d| marker_position(ship, d.as_vec3()))
        };
        let prograde = at(Marker::Orbit(HoldMode::Prograde)).expect("ahead");
        assert!(near(prograde, Vec2::ZERO), "prograde at {prograde}");
        assert_eq!(at(Marker::Orbit(HoldMode::Retrograde)), None);
        // Flying east, north (the orbit normal) is on the left and up on top.
        let normal = at(Marker::Orbit(HoldMode::Normal)).expect("on the rim");
        assert!(near(normal, Vec2::new(-1.0, 0.0)), "normal at {normal}");
        let radial = at(Marker::Orbit(HoldMode::RadialOut)).expect("on the rim");
        assert!(near(radial, Vec2::new(0.0, 1.0)), "radial out at {radial}");
        let east = at(Marker::Compass(90)).expect("ahead");
        assert!(east.x.abs() < 1e-4 && east.y > 0.05, "E at {east}");
        assert_eq!(at(Marker::Compass(270)), None, "W behind");
        assert_eq!(at(Marker::Target), None);
    }

    #[test]
    fn pitched_up_45_degrees_the_horizon_is_below_by_sin_45() {
        let ship = attitude(EAST + UP, UP);
        let level = marker_position(ship, EAST).expect("on the front");
        assert!(
            near(level, Vec2::new(0.0, -FRAC_1_SQRT_2)),
            "horizon at {level}"
        );
        let pixels = painted(ship);
        let looks: Vec<Look> = (0..SIZE)
            .map(|row| look_px(&pixels, SIZE / 2, row))
            .collect();
        let last_sky = looks.iter().rposition(|l| *l == Look::Sky).expect("sky");
        let first_ground = looks
            .iter()
            .position(|l| *l == Look::Ground)
            .expect("ground");
        let horizon = (last_sky + first_ground + 1) as f32 / 2.0;
        let expected = SIZE as f32 / 2.0 * (1.0 + FRAC_1_SQRT_2);
        assert!(
            (horizon - expected).abs() < 1.5,
            "horizon at row {horizon}, expected {expected}: {looks:?}"
        );
        assert!(
            looks[4..last_sky].iter().all(|l| *l == Look::Sky),
            "all sky above the horizon: {looks:?}"
        );
    }

    #[test]
    fn the_ball_rolls_with_the_ship() {
        // Nose north, rolled 90° right: the top points east, the ground is right.
        let ship = attitude(NORTH, EAST);
        let pixels = painted(ship);
        assert_eq!(look(&pixels, 0.5, 0.0), Look::Ground);
        assert_eq!(look(&pixels, -0.5, 0.0), Look::Sky);
        assert_eq!(look(&pixels, 0.0, 0.5), Look::Line, "vertical horizon");
        assert_eq!(look(&pixels, 0.0, -0.5), Look::Line, "vertical horizon");
        let rolled = FRAC_PI_2 - marker_position(ship, EAST).expect("on the rim").to_angle();
        assert!(
            rolled.abs() < 1e-3,
            "east should be straight up, {rolled} rad off"
        );
    }

    #[test]
    fn cardinal_heading_lines_are_darker_than_the_sky_between() {
        let pixels = painted(attitude(NORTH, UP));
        let brightness = |x: f32, y: f32| {
            let half = SIZE as f32 / 2.0;
            let i = ((half * (1.0 - y)) as usize * SIZE + (half * (1.0 + x)) as usize) * 4;
            pixels[i..i + 3].iter().map(|&c| u32::from(c)).sum::<u32>()
        };
        let on_north = brightness(0.0, 0.3);
        let beside = brightness(0.15, 0.3);
        assert_eq!(look(&pixels, 0.0, 0.3), Look::Sky);
        assert!(
            on_north * 10 < beside * 7,
            "north line {on_north}, sky beside {beside}"
        );
    }

    #[test]
    fn the_ball_is_a_disc_with_a_clear_outside() {
        let pixels = painted(attitude(UP, NORTH));
        assert_eq!(look_px(&pixels, 0, 0), Look::Clear);
        assert_eq!(look_px(&pixels, SIZE - 1, SIZE / 2 + 20), Look::Clear);
        let centre = (SIZE / 2 * SIZE + SIZE / 2) * 4;
        assert_eq!(pixels[centre + 3], 255);
        let symbol = paint_symbol(SIZE);
        assert_eq!(
            &symbol[centre..centre + 4],
            &[255, 210, 40, 255],
            "yellow dot"
        );
        assert_eq!(symbol[3], 0, "clear corner");
    }

    #[test]
    fn a_compass_letter_gives_way_to_a_marker_under_it() {
        let prograde = Vec2::new(0.3, -0.2);
        let radius = BALL_PX / 2.0;
        let on_it = prograde * radius + Vec2::new(4.0, 5.0);
        let beside = prograde * radius + Vec2::new(COMPASS_CLEARANCE_PX + 1.0, 0.0);
        assert!(!clear_of(on_it, &[prograde], radius));
        assert!(clear_of(beside, &[prograde], radius));
        assert!(clear_of(on_it, &[], radius));
    }

    #[test]
    fn the_ball_is_repainted_only_after_a_quarter_degree() {
        let q = attitude(Vec3::new(0.3, 0.5, 0.8), Vec3::Z);
        assert!(needs_repaint(None, q));
        let turned = |deg: f32| Quat::from_rotation_y(deg.to_radians()) * q;
        assert!(!needs_repaint(Some(q), turned(0.1)));
        assert!(needs_repaint(Some(q), turned(0.4)));
        assert!(!needs_repaint(Some(q), -q), "the same attitude");
    }
}
