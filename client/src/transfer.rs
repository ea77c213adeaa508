//! The transfer planner in the cockpit: `transfer <body>` or `transfer target`
//! draws a porkchop plot (departure burn over departure time × time of flight,
//! from the shared planner, [`galaxy_shared::physics::transfer`]); a click on the
//! plot plans that cell's transfer as nodes on the server, aimed for a body at a
//! periapsis the line may give (`transfer Moon 100`, km over the ground; 100 km
//! when left out) and refined against the full force model; `transfer best` takes
//! the cheapest cell; `transfer close` hides the plot.

use bevy::asset::RenderAssetUsages;
use bevy::image::ImageSampler;
use bevy::prelude::*;
use bevy::render::render_resource::{Extent3d, TextureDimension, TextureFormat};
use bevy::ui::RelativeCursorPosition;
use galaxy_shared::flight_plan::{Node as PlanNode, PlanCommand};
use galaxy_shared::physics::transfer::{Grid, Planner, Porkchop, Transfer, TransferTarget};
use galaxy_shared::protocol::{ClientMessage, WireTarget};

use crate::net::{Outgoing, ServerEvent, ShipSamples};
use crate::prediction::prediction_bodies;
use crate::scene::GameClock;
use crate::scene::bodies::BodySystem;
use crate::scene::ships::OwnShipNow;
use crate::target::{ChosenTarget, locate};
use crate::{ClientSystems, Screen};

pub(super) fn plugin(app: &mut App) {
    app.init_resource::<Shown>()
        .add_message::<TransferLine>()
        .add_systems(
            Update,
            (run_transfer_lines, take_clicked_cell)
                .chain()
                .in_set(ClientSystems::Input)
                .run_if(in_state(Screen::Flight)),
        );
}

/// Usage of the `transfer` lines.
pub(crate) const TRANSFER_USAGE: &str = "\
transfer <body> [km]  porkchop plot to a body (periapsis km over it, 100 if left out)
transfer target       porkchop plot to the target (ship or body)
transfer best         plan the cheapest transfer on the plot
transfer close        hide the plot
click a cell of the plot to plan that transfer";

/// A `transfer …` line typed into the console.
#[derive(Message, Clone, Debug, PartialEq)]
pub(crate) struct TransferLine(pub String);

/// Whether `line` is a `transfer` line.
pub(crate) fn is_transfer_line(line: &str) -> bool {
    line.split_whitespace()
        .next()
        .is_some_and(|w| w.eq_ignore_ascii_case("transfer"))
}

/// A parsed `transfer` line.
#[derive(Clone, Debug, PartialEq)]
enum Request {
    /// Plot transfers to a body by name, passing it this high (m).
    Body(String, f64),
    /// Plot transfers to the chosen target.
    Target,
    /// Plan the cheapest.
    Best,
    /// Hide the plot.
    Close,
}

/// Periapsis height over a body when the line gives none (m).
const DEFAULT_PERIAPSIS: f64 = 100_000.0;

fn parse(line: &str) -> Option<Request> {
    let words: Vec<&str> = line.split_whitespace().skip(1).collect();
    let is = |w: &str, word: &str| w.eq_ignore_ascii_case(word);
    match words.as_slice() {
        [w] if is(w, "target") => Some(Request::Target),
        [w] if is(w, "best") => Some(Request::Best),
        [w] if is(w, "close") => Some(Request::Close),
        [name] => Some(Request::Body((*name).to_owned(), DEFAULT_PERIAPSIS)),
        [name, km] => km
            .parse::<f64>()
            .ok()
            .filter(|km| km.is_finite() && *km >= 0.0)
            .map(|km| Request::Body((*name).to_owned(), km * 1e3)),
        _ => None,
    }
}

/// The plot on screen and what it was made from.
#[derive(Resource, Default)]
struct Shown(Option<Plot>);

struct Plot {
    planner: Planner,
    /// For a body target: its slot, the periapsis distance from its centre asked
    /// for, and its radius (m).
    body: Option<(usize, f64, f64)>,
    porkchop: Porkchop,
    panel: Entity,
}

/// Marks the clickable plot image.
#[derive(Component)]
struct PlotImage;

/// Plot pixels per cell.
const CELL_PX: f32 = 6.0;

fn run_transfer_lines(
    mut lines: MessageReader<TransferLine>,
    mut shown: ResMut<Shown>,
    mut log: MessageWriter<ServerEvent>,
    mut outgoing: MessageWriter<Outgoing>,
    mut images: ResMut<Assets<Image>>,
    mut commands: Commands,
    cockpit: Cockpit,
) {
    for TransferLine(line) in lines.read() {
        let Some(request) = parse(line) else {
            log.write(ServerEvent(TRANSFER_USAGE.into()));
            continue;
        };
        match request {
            Request::Close => {
                if let Some(plot) = shown.0.take() {
                    commands.entity(plot.panel).despawn();
                }
            }
            Request::Best => match &shown.0 {
                Some(plot) => match plot.porkchop.best() {
                    Some(best) => take(plot, best, cockpit.clock.now, &mut outgoing, &mut log),
                    None => {
                        log.write(ServerEvent("no transfer on the plot".into()));
                    }
                },
                None => {
                    log.write(ServerEvent(
                        "no plot; draw one with `transfer <body>`".into(),
                    ));
                }
            },
            Request::Body(..) | Request::Target => match cockpit.plot(&request) {
                Ok((planner, target, body)) => {
                    let grid = planner.grid(target);
                    let Some(porkchop) = planner.porkchop(target, grid) else {
                        log.write(ServerEvent("no transfer can be planned to that".into()));
                        continue;
                    };
                    if let Some(old) = shown.0.take() {
                        commands.entity(old.panel).despawn();
                    }
                    let image = images.add(picture(&porkchop));
                    let panel =
                        spawn_panel(&mut commands, image, &porkchop, &cockpit.title(&request));
                    shown.0 = Some(Plot {
                        planner,
                        body,
                        porkchop,
                        panel,
                    });
                }
                Err(why) => {
                    log.write(ServerEvent(why));
                }
            },
        }
    }
}

/// What the planner reads of the cockpit.
#[derive(bevy::ecs::system::SystemParam)]
struct Cockpit<'w> {
    clock: Res<'w, GameClock>,
    bodies: Option<Res<'w, BodySystem>>,
    own: Res<'w, OwnShipNow>,
    ships: Res<'w, ShipSamples>,
    target: Res<'w, ChosenTarget>,
}

impl Cockpit<'_> {
    /// The planner for the own ship and what a `transfer` line aims at.
    fn plot(
        &self,
        request: &Request,
    ) -> Result<(Planner, TransferTarget, Option<(usize, f64, f64)>), String> {
        let bodies = self.bodies.as_deref().ok_or("no bodies yet")?;
        if !self.own.live {
            return Err("no ship state yet".into());
        }
        let chosen = match request {
            Request::Body(name, _) => bodies
                .info
                .iter()
                .flatten()
                .find(|b| b.name.eq_ignore_ascii_case(name))
                .map(|b| WireTarget::Body(b.id))
                .ok_or_else(|| format!("no body called {name}"))?,
            _ => self.target.0.ok_or("no target; choose one with `target`")?,
        };
        let height = match request {
            Request::Body(_, height) => *height,
            _ => DEFAULT_PERIAPSIS,
        };
        let center = usize::from(self.own.dominant);
        let (target, body) = match chosen {
            WireTarget::Body(id) if usize::from(id) == center => {
                return Err("the ship already orbits that body".into());
            }
            WireTarget::Body(id) => {
                let radius = bodies
                    .info
                    .get(usize::from(id))
                    .and_then(Option::as_ref)
                    .map_or(0.0, |b| b.radius);
                let slot = usize::from(id);
                (
                    TransferTarget::Body(slot),
                    Some((slot, radius + height, radius)),
                )
            }
            WireTarget::Ship(_) => {
                let (position, velocity, _) = locate(chosen, bodies, &self.ships, self.clock.now)
                    .ok_or("the target is not in view")?;
                (TransferTarget::Ship { position, velocity }, None)
            }
        };
        let planner = Planner {
            bodies: prediction_bodies(bodies, self.clock.now),
            now: self.clock.now,
            center,
            r: self.own.relative_position,
            v: self.own.relative_velocity,
        };
        Ok((planner, target, body))
    }

    fn title(&self, request: &Request) -> String {
        match (request, self.bodies.as_deref()) {
            (Request::Body(name, height), _) => {
                format!("to {name}, periapsis {:.0} km", height / 1e3)
            }
            (_, Some(bodies)) => match self.target.0 {
                Some(WireTarget::Body(id)) => format!("to {}", bodies.name(id)),
                Some(WireTarget::Ship(id)) => format!("to ship {id}, matching its velocity"),
                None => "to the target".into(),
            },
            _ => "to the target".into(),
        }
    }
}

/// A departure closer than this to now (s) is too soon to turn and burn for: the
/// plot is stale.
const SOONEST_DEPARTURE: f64 = 120.0;

/// Plans `transfer` (a cell of the plot) as nodes on the server, at game time
/// `now`: refined for the periapsis asked when it goes to a body, and not at all
/// when no encounter is found (the cell aims at the body's centre) or the plot has
/// grown too old to leave on time.
fn take(
    plot: &Plot,
    transfer: Transfer,
    now: f64,
    outgoing: &mut MessageWriter<Outgoing>,
    log: &mut MessageWriter<ServerEvent>,
) {
    if transfer.depart - now < SOONEST_DEPARTURE {
        log.write(ServerEvent(
            "that departure is too soon; draw the plot again".into(),
        ));
        return;
    }
    let (transfer, pass) = match plot.body {
        Some((body, periapsis, _)) => {
            match plot
                .planner
                .encounter(body, transfer.depart, transfer.flight, periapsis)
            {
                Some((refined, pass)) => (refined, Some(pass)),
                None => {
                    log.write(ServerEvent(
                        "no pass by the body found for that cell; not planned".into(),
                    ));
                    return;
                }
            }
        }
        None => (transfer, None),
    };
    let node = |at: f64, burn: glam::DVec3| PlanNode {
        at,
        prograde: burn.x,
        normal: burn.y,
        radial: burn.z,
    };
    outgoing.write(Outgoing(ClientMessage::Plan(PlanCommand::Add(node(
        transfer.depart,
        transfer.burn,
    )))));
    if plot.body.is_none() {
        outgoing.write(Outgoing(ClientMessage::Plan(PlanCommand::Add(node(
            transfer.depart + transfer.flight,
            transfer.arrival_burn,
        )))));
    }
    let mut text = format!(
        "transfer planned: {:.0} m/s, leaving in {:.0} min, {:.2} days of flight",
        transfer.cost,
        (transfer.depart - plot.planner.now) / 60.0,
        transfer.flight / 86_400.0
    );
    if let (Some(pass), Some((_, _, radius))) = (pass, plot.body) {
        text.push_str(&format!(
            "; predicted periapsis {:.0} km over the ground",
            (pass.periapsis - radius) / 1e3
        ));
    }
    log.write(ServerEvent(text));
}

/// Takes the cell clicked on the plot.
fn take_clicked_cell(
    shown: Res<Shown>,
    clock: Res<GameClock>,
    mouse: Res<ButtonInput<MouseButton>>,
    images: Query<&RelativeCursorPosition, With<PlotImage>>,
    mut outgoing: MessageWriter<Outgoing>,
    mut log: MessageWriter<ServerEvent>,
) {
    let Some(plot) = &shown.0 else {
        return;
    };
    if !mouse.just_pressed(MouseButton::Left) {
        return;
    }
    let Some(at) = images
        .iter()
        .find_map(|c| c.cursor_over().then_some(c.normalized).flatten())
    else {
        return;
    };
    if let Some(cell) = cell_at(&plot.porkchop.grid, at).and_then(|(i, j)| plot.porkchop.cell(i, j))
    {
        take(plot, cell, clock.now, &mut outgoing, &mut log);
    }
}

/// The cell (column, row) under a cursor at `at` on the plot (−0.5..0.5, y down;
/// rows of longer flights drawn higher).
fn cell_at(grid: &Grid, at: Vec2) -> Option<(usize, usize)> {
    let x = at.x + 0.5;
    let y = 0.5 - at.y;
    if !((0.0..1.0).contains(&x) && (0.0..1.0).contains(&y)) {
        return None;
    }
    Some((
        (x * grid.columns as f32) as usize,
        (y * grid.rows as f32) as usize,
    ))
}

/// The plot as pixels: cheap cells bright, dear ones dark, none black, the
/// cheapest white.
fn picture(plot: &Porkchop) -> Image {
    let grid = plot.grid;
    let best = plot.best().map_or(f64::INFINITY, |b| b.cost);
    let mut data = Vec::with_capacity(grid.columns * grid.rows * 4);
    for y in 0..grid.rows {
        let j = grid.rows - 1 - y;
        for i in 0..grid.columns {
            let rgba = match plot.cell(i, j) {
                Some(cell) if cell.cost <= best => [255, 255, 255, 255],
                Some(cell) => ramp((cell.cost / best - 1.0) / 1.5),
                None => [0, 0, 0, 255],
            };
            data.extend_from_slice(&rgba);
        }
    }
    let mut image = Image::new(
        Extent3d {
            width: grid.columns as u32,
            height: grid.rows as u32,
            depth_or_array_layers: 1,
        },
        TextureDimension::D2,
        data,
        TextureFormat::Rgba8UnormSrgb,
        RenderAssetUsages::RENDER_WORLD,
    );
    image.sampler = ImageSampler::nearest();
    image
}

/// Yellow (0, cheapest) through magenta to dark blue (1 and more).
fn ramp(t: f64) -> [u8; 4] {
    let t = t.clamp(0.0, 1.0);
    let stops = [
        [250.0, 220.0, 60.0],
        [200.0, 50.0, 150.0],
        [25.0, 25.0, 90.0],
    ];
    let (a, b, s) = if t < 0.5 {
        (stops[0], stops[1], t * 2.0)
    } else {
        (stops[1], stops[2], t * 2.0 - 1.0)
    };
    let mix = |k: usize| (a[k] + (b[k] - a[k]) * s) as u8;
    [mix(0), mix(1), mix(2), 255]
}

fn spawn_panel(
    commands: &mut Commands,
    image: Handle<Image>,
    plot: &Porkchop,
    title: &str,
) -> Entity {
    let grid = plot.grid;
    let days = |s: f64| s / 86_400.0;
    let best = plot.best().map_or_else(
        || "no transfer".to_owned(),
        |b| {
            format!(
                "cheapest {:.0} m/s: leave in {:.0} min, {:.2} d of flight",
                b.cost,
                (b.depart - plot.now) / 60.0,
                days(b.flight)
            )
        },
    );
    let caption = format!(
        "transfer {title}\nflight {:.2}-{:.2} d (up), departure +{:.0}-{:.0} min (right)",
        days(grid.flight_from),
        days(grid.flight_to),
        grid.depart_from / 60.0,
        (grid.depart_from + grid.depart_span) / 60.0
    );
    commands
        .spawn((
            Name::new("Transfer plot"),
            Node {
                position_type: PositionType::Absolute,
                right: Val::Px(10.0),
                bottom: Val::Px(10.0),
                flex_direction: FlexDirection::Column,
                padding: UiRect::all(Val::Px(8.0)),
                row_gap: Val::Px(4.0),
                ..default()
            },
            BackgroundColor(Color::srgba(0.0, 0.0, 0.0, 0.75)),
            DespawnOnExit(Screen::Flight),
            children![
                (
                    Text::new(caption),
                    TextFont::from_font_size(12.0),
                    TextColor(Color::srgb(0.85, 0.9, 1.0)),
                ),
                (
                    PlotImage,
                    ImageNode::new(image),
                    Node {
                        width: Val::Px(grid.columns as f32 * CELL_PX),
                        height: Val::Px(grid.rows as f32 * CELL_PX),
                        ..default()
                    },
                    RelativeCursorPosition::default(),
                ),
                (
                    Text::new(format!("{best}\nclick a cell, or `transfer best`")),
                    TextFont::from_font_size(12.0),
                    TextColor(Color::srgb(0.85, 0.9, 1.0)),
                ),
            ],
        ))
        .id()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transfer_lines_parse_with_their_periapsis_in_kilometres() {
        assert_eq!(
            parse("transfer Moon"),
            Some(Request::Body("Moon".into(), DEFAULT_PERIAPSIS))
        );
        assert_eq!(
            parse("TRANSFER mars 300"),
            Some(Request::Body("mars".into(), 300_000.0))
        );
        assert_eq!(parse("transfer target"), Some(Request::Target));
        assert_eq!(parse("transfer best"), Some(Request::Best));
        assert_eq!(parse("transfer close"), Some(Request::Close));
        assert_eq!(parse("transfer moon -5"), None);
        assert_eq!(parse("transfer"), None);
        assert!(is_transfer_line("transfer moon") && !is_transfer_line("transfers"));
    }

    #[test]
    fn a_click_finds_its_cell_with_longer_flights_drawn_higher() {
        let grid = Grid {
            depart_from: 0.0,
            depart_span: 1.0,
            flight_from: 1.0,
            flight_to: 2.0,
            columns: 48,
            rows: 32,
        };
        assert_eq!(cell_at(&grid, Vec2::new(-0.49, 0.49)), Some((0, 0)));
        assert_eq!(cell_at(&grid, Vec2::new(0.49, -0.49)), Some((47, 31)));
        assert_eq!(cell_at(&grid, Vec2::new(0.6, 0.0)), None);
    }
}
