//! The ship's predicted path through its flight plan under the full force model
//! ([`galaxy_shared::physics::predict`], the server's own propagation pieces),
//! worked out a slice per frame so a month's horizon never stalls one, and drawn
//! in each stretch's dominant body's frame, its nodes marked.

use bevy::prelude::*;
use galaxy_shared::physics::gravity::sphere_of_influence;
use galaxy_shared::physics::integrator::{BodyIntegrator, NBodyState};
use galaxy_shared::physics::orbit::OrbitalElements;
use galaxy_shared::physics::predict::{
    Encounter, FRAME_SLICE, PredictionBodies, Predictor, encounters,
};
use glam::DVec3;

use crate::plan::Plan;
use crate::scene::GameClock;
use crate::scene::bodies::BodySystem;
use crate::scene::origin::{FloatingOrigin, to_render};
use crate::scene::ships::OwnShipNow;
use crate::{ClientSystems, Screen};

pub(super) fn plugin(app: &mut App) {
    app.init_resource::<Prediction>().add_systems(
        Update,
        (advance_prediction, draw_prediction)
            .chain()
            .in_set(ClientSystems::Present)
            .run_if(in_state(Screen::Flight))
            .run_if(resource_exists::<BodySystem>),
    );
}

/// Orbits the path covers, at most [`MAX_HORIZON`].
const ORBITS: f64 = 3.0;
/// Longest horizon (s): thirty days.
pub(crate) const MAX_HORIZON: f64 = 30.0 * 86_400.0;
/// A finished prediction is started afresh after this many real seconds, so it
/// follows the ship's true state.
const REFRESH_S: f32 = 5.0;
/// The server's defaults for the bodies' step and the coasting steps per orbit.
const BODY_STEP: f64 = 300.0;
const STEPS_PER_ORBIT: f64 = 8.0;

/// The prediction in progress or done, and what it was made for.
#[derive(Resource, Default)]
pub(crate) struct Prediction {
    predictor: Option<Predictor>,
    /// The plan it flies through.
    plan: Plan,
    /// Real seconds since it started.
    age: f32,
    /// The first pass by another body on the path, once the path is done.
    pub encounter: Option<Encounter>,
    /// How far ahead the player asked to see (`predict <time>`); three orbits when
    /// not asked.
    pub horizon: Option<f64>,
}

impl Prediction {
    /// Predicts `horizon` seconds ahead from now on (`None`: three orbits),
    /// starting afresh.
    pub(crate) fn set_horizon(&mut self, horizon: Option<f64>) {
        self.horizon = horizon;
        self.predictor = None;
    }
}

/// What a `predict` line asks: `Some(None)` for the default horizon, `Some(Some(s))`
/// for `s` seconds (at most [`MAX_HORIZON`]); `None` for a line that is not one or
/// a bad duration.
pub(crate) fn parse_horizon(line: &str) -> Option<Option<f64>> {
    let (word, rest) = line.split_once(char::is_whitespace)?;
    if !word.eq_ignore_ascii_case("predict") {
        return None;
    }
    let rest = rest.trim();
    if rest.eq_ignore_ascii_case("auto") {
        return Some(None);
    }
    galaxy_shared::flight_plan::parse_duration(rest)
        .filter(|s| *s > 0.0 && s.is_finite())
        .map(|s| Some(s.min(MAX_HORIZON)))
}

/// The bodies as the client knows them, in the form the predictor takes.
pub(crate) fn prediction_bodies(bodies: &BodySystem, now: f64) -> PredictionBodies {
    let info = |i: usize| bodies.info.get(i).and_then(Option::as_ref);
    let n = bodies.positions.len();
    let soi = (0..n)
        .map(|i| {
            let parent = info(i).and_then(|b| b.parent).map(usize::from);
            parent.map_or(f64::INFINITY, |p| {
                sphere_of_influence(
                    bodies.positions[i].distance(bodies.positions[p]),
                    bodies.gm(i as u8),
                    bodies.gm(p as u8),
                )
            })
        })
        .collect();
    PredictionBodies {
        state: NBodyState::new(
            bodies.positions.clone(),
            bodies.velocities.clone(),
            (0..n).map(|i| bodies.gm(i as u8)).collect(),
            None,
        ),
        soi,
        poles: (0..n)
            .map(|i| info(i).map_or(DVec3::Z, |b| b.rotation.pole(now)))
            .collect(),
        j2_r2: (0..n)
            .map(|i| {
                info(i)
                    .and_then(|b| b.oblateness)
                    .map_or(0.0, |o| o.j2_r2())
            })
            .collect(),
        scheme: BodyIntegrator::Yoshida4,
        body_step: BODY_STEP,
        steps_per_orbit: STEPS_PER_ORBIT,
    }
}

/// How far ahead to predict for a ship at `r`, `v` about a body of `mu`.
pub(crate) fn horizon(r: DVec3, v: DVec3, mu: f64) -> f64 {
    let period = OrbitalElements::from_state(r, v, mu).period;
    if period.is_finite() {
        (ORBITS * period).min(MAX_HORIZON)
    } else {
        86_400.0
    }
}

fn advance_prediction(
    time: Res<Time>,
    plan: Res<Plan>,
    clock: Res<GameClock>,
    ship: Res<OwnShipNow>,
    bodies: Res<BodySystem>,
    mut prediction: ResMut<Prediction>,
) {
    prediction.age += time.delta_secs();
    let stale = prediction.plan != *plan
        || prediction
            .predictor
            .as_ref()
            .is_none_or(|p| p.is_done() && prediction.age > REFRESH_S);
    if plan.nodes.is_empty() || !ship.live || bodies.time.is_none() {
        prediction.predictor = None;
        prediction.encounter = None;
        return;
    }
    if stale {
        let d = usize::from(ship.dominant);
        let velocity =
            bodies.velocities.get(d).copied().unwrap_or_default() + ship.relative_velocity;
        let span = horizon(
            ship.relative_position,
            ship.relative_velocity,
            bodies.gm(ship.dominant),
        );
        let last_node = plan.nodes.last().map_or(0.0, |n| n.at - clock.now);
        // The player's horizon counts from now, but the path always passes the last
        // node; the default goes a few orbits past it.
        let span = match prediction.horizon {
            Some(horizon) => horizon.max(last_node),
            None => span.max(last_node + span),
        };
        let nodes = plan.nodes.iter().map(|n| (n.at, n.components())).collect();
        prediction.predictor = Some(Predictor::new(
            prediction_bodies(&bodies, clock.now),
            clock.now,
            span.min(MAX_HORIZON),
            ship.position,
            velocity,
            nodes,
        ));
        prediction.plan = plan.clone();
        prediction.age = 0.0;
        prediction.encounter = None;
    }
    if let Some(predictor) = &mut prediction.predictor
        && !predictor.is_done()
        && predictor.advance(FRAME_SLICE)
    {
        let gms: Vec<f64> = (0..bodies.positions.len())
            .map(|i| bodies.gm(i as u8))
            .collect();
        let first = encounters(&predictor.path, &gms).into_iter().next();
        prediction.encounter = first;
    }
}

/// The HUD's line for an encounter: the body, the periapsis over its ground and
/// when.
pub(crate) fn encounter_line(encounter: &Encounter, bodies: &BodySystem, now: f64) -> String {
    let id = encounter.body as u8;
    let radius = bodies
        .info
        .get(encounter.body)
        .and_then(Option::as_ref)
        .map_or(0.0, |b| b.radius);
    format!(
        "{} periapsis {:.0} km in {:.1} h",
        bodies.name(id),
        (encounter.periapsis - radius) / 1e3,
        (encounter.time - now) / 3_600.0
    )
}

fn draw_prediction(
    prediction: Res<Prediction>,
    bodies: Res<BodySystem>,
    origin: Res<FloatingOrigin>,
    mut gizmos: Gizmos,
) {
    let Some(predictor) = &prediction.predictor else {
        return;
    };
    let Some(first) = predictor.path.first() else {
        return;
    };
    // Each stretch in its own dominant body's frame, placed where that body is now.
    let render = |dominant: usize, relative: DVec3| {
        bodies
            .position(dominant as u8)
            .map(|center| to_render(center + relative, origin.0))
    };
    let home = first.dominant;
    let mut stretch: Vec<Vec3> = Vec::new();
    let mut frame = home;
    for point in &predictor.path {
        if point.dominant != frame {
            draw_stretch(&mut gizmos, &stretch, frame == home);
            stretch.clear();
            frame = point.dominant;
        }
        if let Some(at) = render(point.dominant, point.relative) {
            stretch.push(at);
        }
    }
    draw_stretch(&mut gizmos, &stretch, frame == home);
    if let Some(encounter) = &prediction.encounter {
        draw_encounter(&mut gizmos, encounter, &bodies, origin.0);
    }
    for node in &prediction.plan.nodes {
        let nearest = predictor.path.iter().min_by(|a, b| {
            (a.time - node.at)
                .abs()
                .total_cmp(&(b.time - node.at).abs())
        });
        if let Some(at) = nearest.and_then(|p| render(p.dominant, p.relative)) {
            let size = at.length() * 0.01;
            gizmos.sphere(
                Isometry3d::from_translation(at),
                size,
                Color::srgb(1.0, 0.6, 0.2),
            );
        }
    }
}

/// Marks the periapsis of the first encounter on the path, where its body is now.
fn draw_encounter(gizmos: &mut Gizmos, encounter: &Encounter, bodies: &BodySystem, origin: DVec3) {
    let Some(center) = bodies.position(encounter.body as u8) else {
        return;
    };
    let at = to_render(center + encounter.periapsis_position, origin);
    gizmos.sphere(
        Isometry3d::from_translation(at),
        at.length() * 0.012,
        Color::srgb(0.4, 1.0, 0.6),
    );
}

fn draw_stretch(gizmos: &mut Gizmos, points: &[Vec3], home: bool) {
    let color = if home {
        Color::srgb(1.0, 0.75, 0.3)
    } else {
        Color::srgb(0.9, 0.4, 0.9)
    };
    gizmos.linestrip(points.iter().copied(), color);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predict_lines_choose_the_horizon() {
        assert_eq!(parse_horizon("predict 5d"), Some(Some(5.0 * 86_400.0)));
        assert_eq!(parse_horizon("PREDICT auto"), Some(None));
        assert_eq!(parse_horizon("predict 90d"), Some(Some(MAX_HORIZON)));
        assert_eq!(parse_horizon("predict soon"), None);
        assert_eq!(parse_horizon("predictor 5d"), None);
    }

    #[test]
    fn the_horizon_is_a_few_orbits_and_at_most_thirty_days() {
        let mu = 3.986_004_418e14;
        let r = DVec3::X * 6.771e6;
        let v = DVec3::Y * (mu / 6.771e6f64).sqrt();
        let period = std::f64::consts::TAU * (6.771e6f64.powi(3) / mu).sqrt();
        assert!((horizon(r, v, mu) - 3.0 * period).abs() < 1e-6);
        let far = DVec3::X * 3.8e8;
        let slow = DVec3::Y * (mu / 3.8e8f64).sqrt();
        assert_eq!(horizon(far, slow, mu), MAX_HORIZON);
        assert_eq!(horizon(r, v * 2.0, mu), 86_400.0, "open orbit: a day");
    }
}
