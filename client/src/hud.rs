//! The HUD (SPEC §10): game date and time scale, pause, dominant body, altitude,
//! orbital speed, apsides, fuel, throttle, delta-v left, hold mode, ping and the
//! connection, plus the server's recent events.
//!
//! The text is built by plain functions from a plain struct, so the wording is
//! tested without an `App`; systems only gather the numbers.

use std::collections::VecDeque;
use std::fmt::Write;

use bevy::platform::time::Instant;
use bevy::prelude::*;
use galaxy_shared::components::HoldMode;
use galaxy_shared::physics::orbit::OrbitalElements;
use galaxy_shared::physics::rocket::delta_v;
use galaxy_shared::protocol::{Warp, WireControls, WireFlight, WireSurface, unpack_fuel};
use galaxy_shared::units::CalendarTime;

use crate::controls::Pilot;
use crate::net::{Latest, Link, LinkStatus, ServerEvent, Session, ShipSamples};
use crate::plan::Plan;
use crate::prediction::{Prediction, encounter_line};
use crate::scene::GameClock;
use crate::scene::bodies::BodySystem;
use crate::scene::ships::OwnShipNow;
use crate::target::{ChosenTarget, Readout, locate};
use crate::{ClientSystems, Screen};

pub(super) fn plugin(app: &mut App) {
    app.init_resource::<HudText>().init_resource::<EventLog>();
    app.add_systems(OnEnter(Screen::Flight), spawn_hud);
    app.add_systems(
        Update,
        (log_events, update_hud)
            .chain()
            .in_set(ClientSystems::Present)
            .run_if(in_state(Screen::Flight)),
    );
}

/// The HUD's current text, also written to the capture sidecar.
#[derive(Resource, Clone, Debug, Default)]
pub(crate) struct HudText {
    /// Flight data block.
    pub flight: String,
    /// Connection line.
    pub connection: String,
    /// Recent events, newest last.
    pub events: Vec<String>,
}

/// Recent events with when they arrived.
#[derive(Resource, Default)]
struct EventLog(VecDeque<(Instant, String)>);

/// Events stay on screen this long.
const EVENT_SECONDS: f32 = 12.0;

/// The HUD's blocks.
#[derive(Component, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HudBlock {
    Flight,
    Connection,
    Events,
    Help,
    /// The navball at the bottom centre; labels keep clear of it.
    Navball,
}

/// The HUD blocks' screen rectangles (logical px), which labels in the scene keep
/// clear of.
pub(crate) type HudRects<'w, 's> =
    Query<'w, 's, (&'static ComputedNode, &'static UiGlobalTransform), With<HudBlock>>;

/// The rectangles of `blocks`, in logical pixels.
pub(crate) fn hud_rects(blocks: &HudRects) -> Vec<Rect> {
    blocks
        .iter()
        .map(|(block, transform)| {
            let scale = block.inverse_scale_factor;
            Rect::from_center_size(transform.translation * scale, block.size * scale)
        })
        .collect()
}

/// A small text label that a system places on screen beside what it names each
/// frame (body names, Ap/Pe, ship tags); hidden until placed.
pub(crate) fn screen_label(text: impl Into<String>, color: Color) -> impl Bundle {
    (
        Text::new(text),
        TextFont::from_font_size(13.0),
        TextColor(color),
        Node {
            position_type: PositionType::Absolute,
            ..default()
        },
        Visibility::Hidden,
        DespawnOnExit(Screen::Flight),
    )
}

/// Whether a label at `corner` (its top left, logical px) of `computed` size would
/// cover any of `rects`.
pub(crate) fn covers(rects: &[Rect], corner: Vec2, computed: &ComputedNode) -> bool {
    let label = Rect::from_corners(
        corner,
        corner + computed.size * computed.inverse_scale_factor,
    );
    rects.iter().any(|rect| !rect.intersect(label).is_empty())
}

/// Everything the flight block shows, as numbers.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct FlightReadout {
    /// Game time (s since J2000).
    pub game_time: f64,
    /// Time scale.
    pub scale: f64,
    /// Game time stopped.
    pub paused: bool,
    /// Dominant body's name.
    pub dominant: String,
    /// Height above the dominant body's mean radius (m).
    pub altitude: f64,
    /// Speed relative to the dominant body (m/s).
    pub speed: f64,
    /// Apoapsis altitude (m); infinite when escaping.
    pub apoapsis: f64,
    /// Periapsis altitude (m).
    pub periapsis: f64,
    /// Propellant (kg).
    pub fuel: f64,
    /// Tank size (kg).
    pub fuel_capacity: f64,
    /// Throttle the server applies, 0..1.
    pub throttle: f64,
    /// Throttle the pilot commands, 0..1.
    pub throttle_command: f64,
    /// Ideal delta-v left (m/s).
    pub delta_v: f64,
    /// Hold mode, if any.
    pub hold: Option<HoldMode>,
    /// Flying, landed or wrecked.
    pub flight: Option<WireFlight>,
    /// The shared clock's rate, the own request and why.
    pub warp: Option<Warp>,
    /// Latitude, longitude and ground speed over the dominant body.
    pub surface: Option<WireSurface>,
    /// The next node, as [`crate::plan::Plan::next_line`] reads it.
    pub next_node: Option<String>,
    /// The target, as [`crate::target::Readout::line`] reads it.
    pub target: Option<String>,
    /// The predicted path's first pass by another body.
    pub encounter: Option<String>,
}

/// Latitude and longitude in degrees as a pilot reads them, hemisphere first:
/// `N 51.50  W 0.12` (Bevy's built-in font has no degree sign).
pub(crate) fn format_coordinates(latitude: f32, longitude: f32) -> String {
    let ns = if latitude < 0.0 { 'S' } else { 'N' };
    let ew = if longitude < 0.0 { 'W' } else { 'E' };
    format!("{ns} {:.2}  {ew} {:.2}", latitude.abs(), longitude.abs())
}

/// A distance in the unit that reads best: m, km, Mm or AU.
pub(crate) fn format_distance(metres: f64) -> String {
    const AU: f64 = galaxy_shared::units::ASTRONOMICAL_UNIT;
    if !metres.is_finite() {
        return "infinite".into();
    }
    let a = metres.abs();
    if a < 10_000.0 {
        format!("{metres:.0} m")
    } else if a < 1.0e7 {
        format!("{:.1} km", metres / 1_000.0)
    } else if a < 0.1 * AU {
        format!("{:.0} km", metres / 1_000.0)
    } else {
        format!("{:.3} AU", metres / AU)
    }
}

/// A speed in m/s below 10 km/s's worth of precision, else km/s.
pub(crate) fn format_speed(speed: f64) -> String {
    if speed.abs() < 1_000.0 {
        format!("{speed:.1} m/s")
    } else {
        format!("{:.3} km/s", speed / 1_000.0)
    }
}

/// Mass with thousands grouped.
fn format_kg(kg: f64) -> String {
    let whole = kg.max(0.0).round() as u64;
    let digits = whole.to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(' ');
        }
        grouped.push(c);
    }
    format!("{grouped} kg")
}

/// The hold mode's name.
pub(crate) fn hold_name(hold: Option<HoldMode>) -> &'static str {
    match hold {
        None => "off (free rotation)",
        Some(HoldMode::Stability) => "stability",
        Some(HoldMode::Prograde) => "prograde",
        Some(HoldMode::Retrograde) => "retrograde",
        Some(HoldMode::Normal) => "normal",
        Some(HoldMode::AntiNormal) => "anti-normal",
        Some(HoldMode::RadialIn) => "radial in",
        Some(HoldMode::RadialOut) => "radial out",
        Some(HoldMode::Node) => "node (burn executor)",
        Some(HoldMode::Target) => "target",
        Some(HoldMode::AntiTarget) => "anti-target",
        Some(HoldMode::RelativePrograde) => "relative prograde",
        Some(HoldMode::RelativeRetrograde) => "relative retrograde",
        Some(HoldMode::Land) => "land (landing autopilot)",
    }
}

/// The flight block's text.
pub(crate) fn flight_text(r: &FlightReadout) -> String {
    let mut text = String::new();
    let clock = if r.paused {
        "PAUSED".to_owned()
    } else {
        format!("x{}", r.scale)
    };
    let _ = writeln!(
        text,
        "{}  {clock}",
        CalendarTime::from_game_time(r.game_time)
    );
    if let Some(warp) = &r.warp {
        let _ = writeln!(
            text,
            "Warp           x{} ({}); you ask x{}, cap x{}",
            warp.effective, warp.reason, warp.request, warp.cap
        );
    }
    let _ = writeln!(text, "Dominant body  {}", r.dominant);
    let _ = writeln!(text, "Altitude       {}", format_distance(r.altitude));
    let _ = writeln!(text, "Orbital speed  {}", format_speed(r.speed));
    if let Some(surface) = &r.surface {
        let _ = writeln!(
            text,
            "Over ground    {}  ground speed {}",
            format_coordinates(surface.latitude_deg, surface.longitude_deg),
            format_speed(f64::from(surface.speed_m_s))
        );
    }
    let _ = writeln!(
        text,
        "Apoapsis       {}\nPeriapsis      {}",
        format_distance(r.apoapsis),
        format_distance(r.periapsis)
    );
    let percent = if r.fuel_capacity > 0.0 {
        100.0 * r.fuel / r.fuel_capacity
    } else {
        0.0
    };
    let _ = writeln!(
        text,
        "Fuel           {} ({percent:.1} %)",
        format_kg(r.fuel)
    );
    let _ = writeln!(
        text,
        "Throttle       {:.0} % (set {:.0} %)",
        r.throttle * 100.0,
        r.throttle_command * 100.0
    );
    let _ = writeln!(text, "Delta-v left   {}", format_speed(r.delta_v));
    let _ = write!(text, "Hold           {}", hold_name(r.hold));
    if let Some(node) = &r.next_node {
        let _ = write!(text, "\nNext node      {node}");
    }
    if let Some(target) = &r.target {
        let _ = write!(text, "\nTarget         {target}");
    }
    if let Some(encounter) = &r.encounter {
        let _ = write!(text, "\nEncounter      {encounter}");
    }
    match r.flight {
        Some(WireFlight::Landed) => text.push_str("\nLANDED"),
        Some(WireFlight::Destroyed) => text.push_str("\nDESTROYED - press R to reset"),
        _ => {}
    }
    text
}

/// The connection line: status, ping and whether states are flowing.
pub(crate) fn connection_text(
    status: &LinkStatus,
    ping_ms: Option<f64>,
    state_age_s: f64,
) -> String {
    let mut text = status.label();
    if let Some(ping) = ping_ms {
        let _ = write!(text, "  ping {ping:.0} ms");
    }
    if *status == LinkStatus::Connected && state_age_s > 2.0 && state_age_s.is_finite() {
        let _ = write!(text, "  (no state for {state_age_s:.0} s)");
    }
    text
}

fn spawn_hud(mut commands: Commands) {
    let block = |kind: HudBlock, node: Node, size: f32, color: Color| {
        (
            Name::new(format!("HUD {kind:?}")),
            kind,
            Text::new(""),
            TextFont::from_font_size(size),
            TextColor(color),
            Node {
                position_type: PositionType::Absolute,
                ..node
            },
            DespawnOnExit(Screen::Flight),
        )
    };
    commands
        .spawn(block(
            HudBlock::Flight,
            Node {
                left: Val::Px(14.0),
                top: Val::Px(12.0),
                padding: UiRect::all(Val::Px(8.0)),
                ..default()
            },
            15.0,
            Color::srgb(0.85, 0.92, 1.0),
        ))
        .insert(BackgroundColor(Color::srgba(0.0, 0.02, 0.06, 0.55)));
    commands.spawn(block(
        HudBlock::Connection,
        Node {
            right: Val::Px(14.0),
            top: Val::Px(12.0),
            ..default()
        },
        15.0,
        Color::srgb(0.6, 1.0, 0.7),
    ));
    commands.spawn(block(
        HudBlock::Events,
        Node {
            left: Val::Px(14.0),
            bottom: Val::Px(34.0),
            ..default()
        },
        14.0,
        Color::srgb(1.0, 0.85, 0.5),
    ));
    commands.spawn(block(
        HudBlock::Help,
        Node {
            left: Val::Px(14.0),
            bottom: Val::Px(10.0),
            ..default()
        },
        12.0,
        Color::srgba(0.7, 0.75, 0.85, 0.8),
    ));
}

fn log_events(mut events: MessageReader<ServerEvent>, mut log: ResMut<EventLog>) {
    for ServerEvent(text) in events.read() {
        log.0.push_back((Instant::now(), text.clone()));
        if log.0.len() > 6 {
            log.0.pop_front();
        }
    }
    while log
        .0
        .front()
        .is_some_and(|(t, _)| t.elapsed().as_secs_f32() > EVENT_SECONDS)
    {
        log.0.pop_front();
    }
}

/// Gathers the numbers and rewrites the HUD's text.
fn update_hud(
    clock: Res<GameClock>,
    latest: Res<Latest>,
    link: Res<Link>,
    pilot: Res<Pilot>,
    ship: Res<OwnShipNow>,
    session: Option<Res<Session>>,
    bodies: Option<Res<BodySystem>>,
    plan: Res<Plan>,
    prediction: Res<Prediction>,
    target: Res<ChosenTarget>,
    ships: Res<ShipSamples>,
    log: Res<EventLog>,
    mut hud: ResMut<HudText>,
    mut blocks: Query<(&HudBlock, &mut Text, &mut TextColor)>,
) {
    let ping_ms = link.ping.map(|p| p.as_secs_f64() * 1_000.0);
    hud.connection = connection_text(&link.status, ping_ms, latest.age());
    hud.events = log.0.iter().map(|(_, t)| t.clone()).collect();
    hud.flight = match (session, bodies, latest.own) {
        (Some(session), Some(bodies), Some(own)) if ship.live => {
            let info = session.0.ship_info;
            let gm = bodies.gm(ship.dominant);
            let radius = bodies
                .info
                .get(usize::from(ship.dominant))
                .and_then(Option::as_ref)
                .map_or(0.0, |b| b.radius);
            let elements =
                OrbitalElements::from_state(ship.relative_position, ship.relative_velocity, gm);
            let fuel = unpack_fuel(own.motion.fuel, info.fuel_capacity);
            flight_text(&FlightReadout {
                game_time: clock.now,
                scale: latest.scale,
                paused: latest.paused,
                dominant: bodies.name(ship.dominant).to_owned(),
                altitude: ship.relative_position.length() - radius,
                speed: ship.relative_velocity.length(),
                apoapsis: elements.apoapsis - radius,
                periapsis: elements.periapsis - radius,
                fuel,
                fuel_capacity: info.fuel_capacity,
                throttle: f64::from(own.ship.throttle) / 255.0,
                throttle_command: f64::from(pilot.throttle),
                delta_v: delta_v(info.exhaust_velocity, info.dry_mass + fuel, info.dry_mass),
                hold: match own.ship.controls {
                    WireControls::Hold(mode @ (HoldMode::Node | HoldMode::Land)) => Some(mode),
                    _ => pilot.hold,
                },
                flight: Some(own.ship.flight),
                warp: latest.warp.clone(),
                surface: latest.surface,
                next_node: plan.next_line(clock.now, info.dry_mass + fuel, &info),
                target: target.0.and_then(|chosen| {
                    let (p, v, name) = locate(chosen, &bodies, &ships, clock.now)?;
                    let center = bodies.position(ship.dominant)?;
                    let center_v = *bodies.velocities.get(usize::from(ship.dominant))?;
                    let readout = Readout::new(
                        ship.relative_position,
                        ship.relative_velocity,
                        p - center,
                        v - center_v,
                        gm,
                    );
                    Some(readout.line(&name))
                }),
                encounter: prediction
                    .encounter
                    .as_ref()
                    .map(|e| encounter_line(e, &bodies, clock.now)),
            })
        }
        _ => "waiting for the first state...".into(),
    };
    for (block, mut text, mut color) in &mut blocks {
        match block {
            HudBlock::Flight => text.0.clone_from(&hud.flight),
            HudBlock::Connection => {
                text.0.clone_from(&hud.connection);
                color.0 = match link.status {
                    LinkStatus::Connected => Color::srgb(0.6, 1.0, 0.7),
                    LinkStatus::Disconnected(_) => Color::srgb(1.0, 0.45, 0.4),
                    _ => Color::srgb(1.0, 0.9, 0.5),
                };
            }
            HudBlock::Events => text.0 = hud.events.join("\n"),
            HudBlock::Help => {
                text.0 = "W/S pitch  A/D yaw  Q/E roll  Shift/Ctrl throttle  Z full  X cut  \
                          T stability  1-9 - = hold  0 free  F refuel  R reset  , . warp  M map  drag/wheel camera  ` console"
                    .into();
            }
            // The ball is a picture, not text.
            HudBlock::Navball => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances_and_speeds_pick_readable_units() {
        assert_eq!(format_distance(412.4), "412 m");
        assert_eq!(format_distance(400_012.0), "400.0 km");
        assert_eq!(format_distance(3.844e8), "384400 km");
        assert_eq!(format_distance(1.495_978_707e11), "1.000 AU");
        assert_eq!(format_distance(f64::INFINITY), "infinite");
        assert_eq!(format_speed(7_672.6), "7.673 km/s");
        assert_eq!(format_speed(12.34), "12.3 m/s");
        assert_eq!(format_kg(40_000.0), "40 000 kg");
        assert_eq!(format_kg(999.6), "1 000 kg");
    }

    #[test]
    fn the_flight_block_names_every_spec_item() {
        let text = flight_text(&FlightReadout {
            game_time: 0.0,
            scale: 1.0,
            paused: true,
            dominant: "Earth".into(),
            altitude: 400_000.0,
            speed: 7_670.0,
            apoapsis: 401_000.0,
            periapsis: 399_000.0,
            fuel: 30_000.0,
            fuel_capacity: 40_000.0,
            throttle: 0.5,
            throttle_command: 0.5,
            delta_v: 4_000.0,
            hold: Some(HoldMode::Prograde),
            flight: Some(WireFlight::Flying),
            warp: Some(Warp {
                effective: 50.0,
                cap: 1000.0,
                request: 100.0,
                reason: galaxy_shared::protocol::WarpReason::Request("bob".into()),
            }),
            surface: Some(WireSurface {
                latitude_deg: -33.87,
                longitude_deg: 151.21,
                speed_m_s: 7_204.0,
            }),
            next_node: Some("dv 120.0 m/s".into()),
            target: Some("Moon: 384 400 km".into()),
            encounter: Some("Moon periapsis 100 km in 110.2 h".into()),
        });
        for expected in [
            "Warp           x50 (lowest request, by bob); you ask x100, cap x1000",
            "Over ground    S 33.87  E 151.21  ground speed 7.204 km/s",
            "Encounter      Moon periapsis 100 km in 110.2 h",
            "2000-01-01 12:00:00 TDB",
            "PAUSED",
            "Earth",
            "400.0 km",
            "7.670 km/s",
            "401.0 km",
            "399.0 km",
            "30 000 kg (75.0 %)",
            "Throttle       50 %",
            "4.000 km/s",
            "prograde",
            "Next node      dv 120.0 m/s",
            "Target         Moon: 384 400 km",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in\n{text}");
        }
    }

    #[test]
    fn the_connection_line_warns_when_states_stop() {
        assert_eq!(
            connection_text(&LinkStatus::Connected, Some(3.2), 0.1),
            "connected  ping 3 ms"
        );
        assert!(connection_text(&LinkStatus::Connected, None, 5.0).contains("no state for 5 s"));
        assert_eq!(
            connection_text(&LinkStatus::Disconnected("timed out".into()), None, 9.0),
            "disconnected: timed out"
        );
    }
}
