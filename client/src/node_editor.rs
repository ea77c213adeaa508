//! Manoeuvre nodes with the mouse: a middle click on the orbit line adds a node
//! there; the selected node (the first, or the one last clicked) shows six handles
//! (prograde, normal, radial and their opposites) that a left drag pulls to change
//! its delta-v, a pixel a metre per second (a tenth with Shift). While a handle is
//! held the plan is changed on the client at once, so the HUD and the predicted
//! path follow the drag; the server gets the edit when the button is let go.

use bevy::input::mouse::AccumulatedMouseMotion;
use bevy::prelude::*;
use bevy::window::PrimaryWindow;
use galaxy_shared::flight_plan::{Node, PlanCommand};
use galaxy_shared::physics::kepler::drift;
use galaxy_shared::physics::manoeuvre::node_frame;
use galaxy_shared::physics::orbit::OrbitalElements;
use galaxy_shared::protocol::ClientMessage;
use glam::DVec3;

use crate::net::Outgoing;
use crate::plan::Plan;
use crate::scene::GameClock;
use crate::scene::bodies::BodySystem;
use crate::scene::origin::{FloatingOrigin, to_render};
use crate::scene::ships::OwnShipNow;
use crate::{ClientSystems, Screen};

pub(super) fn plugin(app: &mut App) {
    app.init_resource::<NodeEditor>().add_systems(
        Update,
        edit_nodes
            .in_set(ClientSystems::Present)
            .run_if(in_state(Screen::Flight))
            .run_if(resource_exists::<BodySystem>),
    );
}

/// How near (px) the cursor must be to the orbit line or a handle to grab it.
const GRAB_PX: f32 = 14.0;
/// Points the orbit line is sampled at for picking.
const PICK_SAMPLES: usize = 180;
/// Delta-v per pixel dragged (m/s), and with Shift.
const PER_PIXEL: f64 = 1.0;
const PER_PIXEL_FINE: f64 = 0.1;

/// Which way a handle pulls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Handle {
    /// Along (+1) or against (−1) the prograde axis.
    Prograde(i8),
    /// Along or against the normal.
    Normal(i8),
    /// Along or against radial out.
    Radial(i8),
}

const HANDLES: [Handle; 6] = [
    Handle::Prograde(1),
    Handle::Prograde(-1),
    Handle::Normal(1),
    Handle::Normal(-1),
    Handle::Radial(1),
    Handle::Radial(-1),
];

impl Handle {
    /// Its direction in the node frame's (prograde, normal, radial) components.
    fn axis(self) -> DVec3 {
        match self {
            Self::Prograde(s) => DVec3::X * f64::from(s),
            Self::Normal(s) => DVec3::Y * f64::from(s),
            Self::Radial(s) => DVec3::Z * f64::from(s),
        }
    }

    fn color(self) -> Color {
        match self {
            Self::Prograde(_) => Color::srgb(0.95, 0.9, 0.2),
            Self::Normal(_) => Color::srgb(0.85, 0.3, 0.95),
            Self::Radial(_) => Color::srgb(0.3, 0.85, 1.0),
        }
    }
}

/// A handle being dragged.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Drag {
    handle: Handle,
    /// Screen direction the handle points, from the node (unit, px).
    screen_axis: Vec2,
    /// Cursor travel along it so far (px).
    pulled: f32,
    /// The node as it was when the drag began.
    start: Node,
}

/// The node being edited and the drag in progress.
#[derive(Resource, Debug, Default)]
pub(crate) struct NodeEditor {
    /// Index of the selected node in the plan.
    selected: usize,
    drag: Option<Drag>,
}

impl NodeEditor {
    /// Whether a handle is held: the camera leaves the mouse alone meanwhile.
    pub fn dragging(&self) -> bool {
        self.drag.is_some()
    }
}

/// `start` after pulling `handle` `pulled` pixels along it.
pub(crate) fn dragged(start: Node, handle: Handle, pulled: f32, fine: bool) -> Node {
    let rate = if fine { PER_PIXEL_FINE } else { PER_PIXEL };
    let change = handle.axis() * (f64::from(pulled) * rate);
    Node {
        prograde: start.prograde + change.x,
        normal: start.normal + change.y,
        radial: start.radial + change.z,
        ..start
    }
}

/// The sample nearest `cursor` among `points` (screen positions, `None` off
/// screen), if within [`GRAB_PX`].
pub(crate) fn nearest_on_screen(points: &[Option<Vec2>], cursor: Vec2) -> Option<usize> {
    points
        .iter()
        .enumerate()
        .filter_map(|(i, p)| p.map(|p| (i, p.distance(cursor))))
        .filter(|(_, d)| *d <= GRAB_PX)
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(i, _)| i)
}

/// The own ship's orbit relative to its dominant body, sampled in time: seconds from
/// now and position, over one period (a day for an open orbit).
pub(crate) fn orbit_samples(r: DVec3, v: DVec3, mu: f64) -> Vec<(f64, DVec3)> {
    let period = OrbitalElements::from_state(r, v, mu).period;
    let span = if period.is_finite() { period } else { 86_400.0 };
    (1..=PICK_SAMPLES)
        .map(|i| {
            let t = span * i as f64 / PICK_SAMPLES as f64;
            (t, drift(r, v, mu, t).0)
        })
        .collect()
}

fn edit_nodes(
    buttons: Res<ButtonInput<MouseButton>>,
    motion: Res<AccumulatedMouseMotion>,
    keys: Res<ButtonInput<KeyCode>>,
    window: Single<&Window, With<PrimaryWindow>>,
    camera: Single<(&Camera, &GlobalTransform)>,
    ship: Res<OwnShipNow>,
    bodies: Res<BodySystem>,
    clock: Res<GameClock>,
    origin: Res<FloatingOrigin>,
    mut plan: ResMut<Plan>,
    mut editor: ResMut<NodeEditor>,
    mut outgoing: MessageWriter<Outgoing>,
    mut gizmos: Gizmos,
) {
    let (camera, view) = camera.into_inner();
    let (Some(center), true) = (bodies.position(ship.dominant), ship.live) else {
        return;
    };
    let mu = bodies.gm(ship.dominant);
    let (r, v) = (ship.relative_position, ship.relative_velocity);
    let screen = |p: DVec3| {
        camera
            .world_to_viewport(view, to_render(center + p, origin.0))
            .ok()
    };
    let cursor = window.cursor_position();
    if buttons.just_pressed(MouseButton::Middle)
        && let Some(cursor) = cursor
    {
        let samples = orbit_samples(r, v, mu);
        let points: Vec<_> = samples.iter().map(|(_, p)| screen(*p)).collect();
        if let Some(i) = nearest_on_screen(&points, cursor) {
            let node = Node {
                at: clock.now + samples[i].0,
                prograde: 0.0,
                normal: 0.0,
                radial: 0.0,
            };
            outgoing.write(Outgoing(ClientMessage::Plan(PlanCommand::Add(node))));
        }
    }
    if editor.selected >= plan.nodes.len() {
        editor.selected = 0;
    }
    // Where each node is on the present orbit, and its frame there.
    let at_node = |node: &Node| {
        let (rn, vn) = drift(r, v, mu, node.at - clock.now);
        node_frame(rn, vn).map(|frame| (rn, frame))
    };
    if buttons.just_pressed(MouseButton::Left)
        && let Some(cursor) = cursor
    {
        let markers: Vec<_> = plan
            .nodes
            .iter()
            .map(|n| at_node(n).and_then(|(p, _)| screen(p)))
            .collect();
        if let Some(i) = nearest_on_screen(&markers, cursor) {
            editor.selected = i;
        }
    }
    let Some(node) = plan.nodes.get(editor.selected).copied() else {
        editor.drag = None;
        return;
    };
    let Some((position, frame)) = at_node(&node) else {
        return;
    };
    let Some(node_screen) = screen(position) else {
        return;
    };
    let node_render = to_render(center + position, origin.0);
    let length = node_render.distance(view.translation()) as f64 * 0.12;
    let tip = |handle: Handle| {
        let a = handle.axis();
        position + (frame[0] * a.x + frame[1] * a.y + frame[2] * a.z) * length
    };
    for handle in HANDLES {
        let end = to_render(center + tip(handle), origin.0);
        gizmos.line(node_render, end, handle.color());
        gizmos.sphere(
            Isometry3d::from_translation(end),
            (length * 0.06) as f32,
            handle.color(),
        );
    }
    let fine = keys.any_pressed([KeyCode::ShiftLeft, KeyCode::ShiftRight]);
    match (editor.drag, cursor) {
        (None, Some(cursor)) if buttons.just_pressed(MouseButton::Left) => {
            let tips: Vec<_> = HANDLES.iter().map(|h| screen(tip(*h))).collect();
            if let Some(i) = nearest_on_screen(&tips, cursor)
                && let Some(end) = tips[i]
            {
                editor.drag = Some(Drag {
                    handle: HANDLES[i],
                    screen_axis: (end - node_screen).normalize_or_zero(),
                    pulled: 0.0,
                    start: node,
                });
            }
        }
        (Some(mut drag), _) => {
            drag.pulled += motion.delta.dot(drag.screen_axis);
            let edited = dragged(drag.start, drag.handle, drag.pulled, fine);
            plan.nodes[editor.selected] = edited;
            if buttons.just_released(MouseButton::Left) {
                editor.drag = None;
                outgoing.write(Outgoing(ClientMessage::Plan(PlanCommand::Edit {
                    index: editor.selected as u8,
                    node: edited,
                })));
            } else {
                editor.drag = Some(drag);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_handle_pulls_its_own_component_by_the_pixel() {
        let start = Node {
            at: 100.0,
            prograde: 10.0,
            normal: 0.0,
            radial: -2.0,
        };
        assert_eq!(
            dragged(start, Handle::Prograde(1), 25.0, false),
            Node {
                prograde: 35.0,
                ..start
            }
        );
        let pulled = dragged(start, Handle::Radial(-1), 30.0, true);
        assert!((pulled.radial - -5.0).abs() < 1e-12, "{pulled:?}");
        assert_eq!(
            (pulled.prograde, pulled.normal, pulled.at),
            (10.0, 0.0, 100.0)
        );
        assert_eq!(
            dragged(start, Handle::Normal(1), -4.0, false).normal,
            -4.0,
            "pulling back along a handle takes delta-v away"
        );
    }

    #[test]
    fn the_orbit_line_is_grabbed_only_near_it() {
        let points = [Some(Vec2::new(0.0, 0.0)), None, Some(Vec2::new(100.0, 0.0))];
        assert_eq!(nearest_on_screen(&points, Vec2::new(95.0, 5.0)), Some(2));
        assert_eq!(nearest_on_screen(&points, Vec2::new(50.0, 0.0)), None);
        let mu = 3.986_004_418e14;
        let r = DVec3::X * 7.0e6;
        let v = DVec3::Y * (mu / 7.0e6f64).sqrt();
        let samples = orbit_samples(r, v, mu);
        assert_eq!(samples.len(), PICK_SAMPLES);
        let (period, last) = samples[PICK_SAMPLES - 1];
        assert!(last.distance(r) < 1e-3, "a whole orbit round: {last}");
        assert!((period - std::f64::consts::TAU * (7.0e6f64.powi(3) / mu).sqrt()).abs() < 1e-6);
    }
}
