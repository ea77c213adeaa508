//! The in-game console (backtick): admin command lines go to the server over the
//! game connection and its replies (or its refusal, for a player) are shown;
//! Up/Down walk the history of lines typed.

use std::collections::VecDeque;

use bevy::input::ButtonState;
use bevy::input::keyboard::{Key, KeyboardInput};
use bevy::prelude::*;
use galaxy_shared::admin::MAX_ADMIN_LINE;
use galaxy_shared::flight_plan::{NodeLine, PlanCommand};
use galaxy_shared::protocol::{ClientMessage, unpack_fuel};

use crate::net::{AdminReply, Latest, Outgoing, Session, ShipSamples};
use crate::plan::{NodeAction, Plan, node_action};
use crate::prediction::{self, Prediction};
use crate::scene::GameClock;
use crate::scene::bodies::BodySystem;
use crate::scene::ships::OwnShipNow;
use crate::target::{self, ChosenTarget, Readout, locate, match_velocity_node};
use crate::transfer::{self, TransferLine};
use crate::warp;
use crate::{ClientSystems, Screen};

pub(super) fn plugin(app: &mut App) {
    app.init_resource::<ConsoleState>();
    app.add_systems(OnEnter(Screen::Flight), spawn_console);
    app.add_systems(
        Update,
        (type_into_console, show_replies, draw_console)
            .chain()
            .in_set(ClientSystems::Input)
            .run_if(in_state(Screen::Flight)),
    );
}

/// Output lines kept on screen.
const SCROLLBACK: usize = 200;
/// Output lines shown.
const VISIBLE_LINES: usize = 14;

/// Whether the console is open, what is being typed, history and output.
#[derive(Resource, Default)]
pub(crate) struct ConsoleState {
    /// Open and holding the keyboard.
    pub open: bool,
    /// The line being typed.
    pub input: String,
    /// Lines typed before.
    pub history: History,
    /// Output, oldest first.
    pub output: VecDeque<String>,
}

impl ConsoleState {
    fn print(&mut self, text: &str) {
        for line in text.lines() {
            self.output.push_back(line.to_owned());
        }
        while self.output.len() > SCROLLBACK {
            self.output.pop_front();
        }
    }
}

/// Lines typed before, walked with Up and Down.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct History {
    entries: Vec<String>,
    cursor: Option<usize>,
}

impl History {
    /// Remembers a line (not twice in a row) and resets the walk.
    pub fn push(&mut self, line: &str) {
        if self.entries.last().is_none_or(|last| last != line) {
            self.entries.push(line.to_owned());
        }
        self.cursor = None;
    }

    /// One line further back.
    pub fn older(&mut self) -> Option<&str> {
        let index = match self.cursor {
            None => self.entries.len().checked_sub(1)?,
            Some(i) => i.saturating_sub(1),
        };
        self.cursor = Some(index);
        self.entries.get(index).map(String::as_str)
    }

    /// One line forward; past the newest, an empty line.
    pub fn newer(&mut self) -> &str {
        match self.cursor {
            Some(i) if i + 1 < self.entries.len() => {
                self.cursor = Some(i + 1);
                &self.entries[i + 1]
            }
            _ => {
                self.cursor = None;
                ""
            }
        }
    }
}

/// Run condition: the keyboard belongs to the flight controls.
pub(crate) fn console_closed(console: Option<Res<ConsoleState>>) -> bool {
    console.is_none_or(|c| !c.open)
}

/// The console's panel and its text.
#[derive(Component)]
struct ConsolePanel;

fn spawn_console(mut commands: Commands) {
    commands.spawn((
        Name::new("Console"),
        ConsolePanel,
        // The right part of the screen under the connection line: the flight block
        // (top left), the events and the help (bottom left) stay readable.
        Node {
            position_type: PositionType::Absolute,
            top: Val::Px(40.0),
            right: Val::Px(14.0),
            width: Val::Percent(46.0),
            padding: UiRect::all(Val::Px(10.0)),
            display: Display::None,
            ..default()
        },
        BackgroundColor(Color::srgba(0.0, 0.0, 0.0, 0.8)),
        DespawnOnExit(Screen::Flight),
        children![(
            Text::new(""),
            TextFont::from_font_size(14.0),
            TextColor(Color::srgb(0.8, 1.0, 0.8)),
        )],
    ));
}

/// The arguments of a `warp` line, one of the console commands every player has
/// (with the `node` and `target` lines); every other line goes to the server's
/// admin grammar.
fn warp_arguments(line: &str) -> Option<&str> {
    let (word, args) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
    word.eq_ignore_ascii_case("warp").then_some(args)
}

/// What the player's own console lines read: the plan, the target and the ship.
#[derive(bevy::ecs::system::SystemParam)]
struct Cockpit<'w> {
    plan: Res<'w, Plan>,
    clock: Res<'w, GameClock>,
    session: Option<Res<'w, Session>>,
    bodies: Option<Res<'w, BodySystem>>,
    ships: Res<'w, ShipSamples>,
    own: Res<'w, OwnShipNow>,
    target: Res<'w, ChosenTarget>,
}

impl Cockpit<'_> {
    /// The `node match` node: the target's velocity at the closest approach.
    fn matching_node(&self) -> Result<galaxy_shared::flight_plan::Node, String> {
        let (Some(bodies), Some(chosen)) = (&self.bodies, self.target.0) else {
            return Err("no target; choose one with `target`".into());
        };
        let own = &*self.own;
        let (p, v, _) = locate(chosen, bodies, &self.ships, self.clock.now)
            .ok_or("the target is not in view")?;
        let d = usize::from(own.dominant);
        let center = bodies
            .position(own.dominant)
            .ok_or("no dominant body yet")?;
        let center_v = bodies.velocities.get(d).copied().unwrap_or_default();
        let gm = bodies.gm(own.dominant);
        let (r, v_own) = (own.relative_position, own.relative_velocity);
        let readout = Readout::new(r, v_own, p - center, v - center_v, gm);
        match_velocity_node(r, v_own, gm, self.clock.now, &readout.closest)
            .ok_or_else(|| "no orbit to plan in".into())
    }

    /// Runs a player's own line (`node …`, `target …`, `land`): `None` when it is
    /// not one.
    fn run(&self, line: &str, latest: &Latest) -> Option<NodeAction> {
        if line.eq_ignore_ascii_case("land") {
            return Some(NodeAction::Send(ClientMessage::Plan(PlanCommand::Land)));
        }
        if let Some(bodies) = &self.bodies
            && let Some(parsed) =
                target::parse_target_line(line, bodies, &self.ships, self.own.position)
        {
            return Some(match parsed {
                Ok(chosen) => NodeAction::Send(ClientMessage::Target(chosen)),
                Err(why) => NodeAction::Print(why),
            });
        }
        let parsed = NodeLine::parse(line)?;
        let (Ok(node_line), Some(session)) = (parsed, &self.session) else {
            return Some(NodeAction::Print(
                parsed.err().unwrap_or("not connected yet").to_owned(),
            ));
        };
        let info = session.0.ship_info;
        let fuel = latest
            .own
            .map_or(0.0, |own| unpack_fuel(own.motion.fuel, info.fuel_capacity));
        let mass = info.dry_mass + fuel;
        Some(node_action(
            node_line,
            &self.plan,
            self.clock.now,
            mass,
            &info,
            || self.matching_node(),
        ))
    }
}

fn type_into_console(
    mut keys: MessageReader<KeyboardInput>,
    mut console: ResMut<ConsoleState>,
    mut latest: ResMut<Latest>,
    mut outgoing: MessageWriter<Outgoing>,
    mut transfer_lines: MessageWriter<TransferLine>,
    mut prediction: ResMut<Prediction>,
    cockpit: Cockpit,
) {
    for key in keys.read() {
        if key.state != ButtonState::Pressed {
            continue;
        }
        if key.key_code == KeyCode::Backquote {
            console.open = !console.open;
            continue;
        }
        if !console.open {
            continue;
        }
        match &key.logical_key {
            Key::Escape => console.open = false,
            Key::Backspace => {
                console.input.pop();
            }
            Key::ArrowUp => {
                if let Some(line) = console.history.older().map(str::to_owned) {
                    console.input = line;
                }
            }
            Key::ArrowDown => console.input = console.history.newer().to_owned(),
            Key::Enter => {
                let line = std::mem::take(&mut console.input).trim().to_owned();
                if line.is_empty() {
                    continue;
                }
                console.history.push(&line);
                console.print(&format!("> {line}"));
                if transfer::is_transfer_line(&line) {
                    transfer_lines.write(TransferLine(line));
                } else if let Some(action) = cockpit.run(&line, &latest) {
                    match action {
                        NodeAction::Send(message) => {
                            outgoing.write(Outgoing(message));
                        }
                        NodeAction::Print(text) => console.print(&text),
                    }
                } else if let Some(horizon) = prediction::parse_horizon(&line) {
                    prediction.set_horizon(horizon);
                    console.print(&match horizon {
                        Some(s) => format!(
                            "the path through the nodes goes {:.1} days ahead (at least past the last)",
                            s / 86_400.0
                        ),
                        None => "the path through the nodes goes three orbits past the last".to_owned(),
                    });
                } else if let Some(args) = warp_arguments(&line) {
                    match warp::parse_request(args) {
                        Ok(factor) => {
                            console.print(&format!("asking for warp x{factor}"));
                            warp::ask(factor, &mut latest, &mut outgoing);
                        }
                        Err(usage) => console.print(&usage),
                    }
                } else if line.len() > MAX_ADMIN_LINE {
                    console.print(&format!(
                        "line longer than {MAX_ADMIN_LINE} bytes; not sent"
                    ));
                } else {
                    outgoing.write(Outgoing(ClientMessage::Admin { line }));
                }
            }
            _ => {
                if let Some(text) = &key.text {
                    let printable = text.chars().filter(|c| !c.is_control() && *c != '`');
                    console.input.extend(printable);
                }
            }
        }
    }
}

fn show_replies(mut replies: MessageReader<AdminReply>, mut console: ResMut<ConsoleState>) {
    for reply in replies.read() {
        if reply.ok {
            console.print(&reply.output);
        } else {
            console.print(&format!("refused: {}", reply.output));
        }
    }
}

fn draw_console(
    console: Res<ConsoleState>,
    panel: Single<(&mut Node, &Children), With<ConsolePanel>>,
    mut texts: Query<&mut Text>,
    time: Res<Time>,
) {
    let (mut node, children) = panel.into_inner();
    let display = if console.open {
        Display::Flex
    } else {
        Display::None
    };
    if node.display != display {
        node.display = display;
    }
    if !console.open {
        return;
    }
    let Some(mut text) = children.first().and_then(|c| texts.get_mut(*c).ok()) else {
        return;
    };
    let skip = console.output.len().saturating_sub(VISIBLE_LINES);
    let mut shown: Vec<&str> = console
        .output
        .iter()
        .skip(skip)
        .map(String::as_str)
        .collect();
    if shown.is_empty() {
        shown.push(
            "console: `warp <x>` asks for warp; admins: `help`; Enter sends, Up/Down history, ` or Esc closes",
        );
    }
    let caret = if time.elapsed_secs().fract() < 0.5 {
        "_"
    } else {
        " "
    };
    text.0 = format!("{}\n> {}{caret}", shown.join("\n"), console.input);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_walks_back_and_forth() {
        let mut history = History::default();
        assert_eq!(history.older(), None);
        history.push("status");
        history.push("pause");
        history.push("pause");
        assert_eq!(history.older(), Some("pause"));
        assert_eq!(history.older(), Some("status"));
        assert_eq!(history.older(), Some("status"), "stops at the oldest");
        assert_eq!(history.newer(), "pause");
        assert_eq!(history.newer(), "", "past the newest is a fresh line");
    }

    fn press(app: &mut App, key_code: KeyCode, logical_key: Key, text: Option<&str>) {
        app.world_mut().write_message(KeyboardInput {
            key_code,
            logical_key,
            state: ButtonState::Pressed,
            text: text.map(Into::into),
            repeat: false,
            window: Entity::PLACEHOLDER,
        });
    }

    fn console_app() -> App {
        let mut app = App::new();
        app.add_plugins(MinimalPlugins)
            .add_message::<KeyboardInput>()
            .add_message::<Outgoing>()
            .add_message::<AdminReply>()
            .init_resource::<ConsoleState>()
            .init_resource::<Latest>()
            .init_resource::<Plan>()
            .init_resource::<GameClock>()
            .init_resource::<ShipSamples>()
            .init_resource::<OwnShipNow>()
            .init_resource::<ChosenTarget>()
            .init_resource::<Prediction>()
            .add_message::<TransferLine>()
            .add_systems(Update, (type_into_console, show_replies).chain());
        press(
            &mut app,
            KeyCode::Backquote,
            Key::Character("`".into()),
            Some("`"),
        );
        app
    }

    /// Types `line` and Enter, and returns what went to the server.
    fn type_line(app: &mut App, line: &str) -> Vec<Outgoing> {
        for c in line.chars() {
            let text = c.to_string();
            press(
                app,
                KeyCode::KeyP,
                Key::Character(text.as_str().into()),
                Some(&text),
            );
        }
        press(app, KeyCode::Enter, Key::Enter, None);
        app.update();
        app.world_mut()
            .resource_mut::<Messages<Outgoing>>()
            .drain()
            .collect()
    }

    #[test]
    fn typed_lines_go_to_the_server_and_refusals_are_shown() {
        let mut app = console_app();
        let sent = type_line(&mut app, "pause");
        assert!(
            matches!(sent.as_slice(), [Outgoing(ClientMessage::Admin { line })] if line == "pause"),
            "{sent:?}"
        );
        app.world_mut().write_message(AdminReply {
            ok: false,
            output: "admin role required".into(),
        });
        app.update();
        let console = app.world().resource::<ConsoleState>();
        assert!(console.open);
        assert_eq!(console.output, ["> pause", "refused: admin role required"]);
    }

    #[test]
    fn node_lines_become_plan_changes_once_connected() {
        use galaxy_shared::flight_plan::{Node, PlanCommand};
        use galaxy_shared::protocol::{Role, ShipInfo, Welcome};
        let mut app = console_app();
        assert!(type_line(&mut app, "node list").is_empty());
        assert_eq!(
            app.world()
                .resource::<ConsoleState>()
                .output
                .back()
                .map(String::as_str),
            Some("not connected yet")
        );
        app.world_mut().insert_resource(Session(Welcome {
            protocol: galaxy_shared::protocol::PROTOCOL_VERSION,
            player: 1,
            name: "ada".into(),
            role: Role::Player,
            ship: 1,
            tick_rate: 30.0,
            epoch: 0.0,
            bodies: Vec::new(),
            ship_info: ShipInfo {
                dry_mass: 10_000.0,
                fuel_capacity: 40_000.0,
                thrust: 500_000.0,
                exhaust_velocity: 3_432.0,
            },
        }));
        app.world_mut().resource_mut::<GameClock>().now = 1_000.0;
        let sent = type_line(&mut app, "node add +60 prograde 5");
        let wanted = PlanCommand::Add(Node {
            at: 1_060.0,
            prograde: 5.0,
            normal: 0.0,
            radial: 0.0,
        });
        assert!(
            matches!(sent.as_slice(), [Outgoing(ClientMessage::Plan(c))] if *c == wanted),
            "{sent:?}"
        );
        assert!(
            type_line(&mut app, "node add 60").is_empty(),
            "usage, not sent"
        );
        assert!(
            matches!(
                type_line(&mut app, "node abort").as_slice(),
                [Outgoing(ClientMessage::Plan(PlanCommand::Abort))]
            ),
            "abort is sent"
        );
    }

    #[test]
    fn land_transfer_and_predict_lines_stay_out_of_the_admin_grammar() {
        use galaxy_shared::flight_plan::PlanCommand;
        let mut app = console_app();
        let sent = type_line(&mut app, "land");
        assert!(
            matches!(
                sent.as_slice(),
                [Outgoing(ClientMessage::Plan(PlanCommand::Land))]
            ),
            "{sent:?}"
        );
        assert!(type_line(&mut app, "transfer Moon 50").is_empty());
        let lines: Vec<TransferLine> = app
            .world_mut()
            .resource_mut::<Messages<TransferLine>>()
            .drain()
            .collect();
        assert_eq!(lines, [TransferLine("transfer Moon 50".into())]);
        assert!(type_line(&mut app, "predict 2d").is_empty());
        assert_eq!(
            app.world().resource::<Prediction>().horizon,
            Some(2.0 * 86_400.0)
        );
    }

    #[test]
    fn warp_lines_are_requests_not_admin_lines() {
        let mut app = console_app();
        let sent = type_line(&mut app, "WARP 1000");
        assert!(
            matches!(sent.as_slice(), [Outgoing(ClientMessage::Warp { factor })] if *factor == 1000.0),
            "{sent:?}"
        );
        assert!(
            type_line(&mut app, "warp fast").is_empty(),
            "a bad request is not sent"
        );
        assert!(type_line(&mut app, "warp").is_empty());
        let console = app.world().resource::<ConsoleState>();
        assert_eq!(console.output[1], "asking for warp x1000");
        assert!(
            console.output[3].starts_with("usage: warp <x>"),
            "{:?}",
            console.output
        );
        let sent = type_line(&mut app, "warpdrive");
        assert!(
            matches!(sent.as_slice(), [Outgoing(ClientMessage::Admin { .. })]),
            "only the word `warp` itself: {sent:?}"
        );
    }

    #[test]
    fn output_is_split_into_lines_and_bounded() {
        let mut console = ConsoleState::default();
        console.print("a\nb");
        assert_eq!(console.output, ["a", "b"]);
        for i in 0..SCROLLBACK {
            console.print(&i.to_string());
        }
        assert_eq!(console.output.len(), SCROLLBACK);
    }
}
