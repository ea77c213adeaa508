//! A ship's predicted path under the full force model, through its planned nodes:
//! what the client draws, worked out with the server's own pieces (the bodies'
//! N-body integrator, the SABAC₃ coasting step with the dominant body's J2, the
//! spheres of influence), so the line shows where the server will fly the ship.
//!
//! The prediction advances in slices ([`Predictor::advance`]), so a client spreads
//! a month's horizon over frames instead of stalling one; nodes are impulses at
//! their time (the executor centres the real burn on it).

use glam::DVec3;

use super::coast::{longest_step, step};
use super::gravity::{dominant_body, point_acceleration};
use super::integrator::{BodyIntegrator, NBodyState, hermite};
use super::manoeuvre::inertial_delta_v;
use super::oblateness::{j2_acceleration, j2_acceleration_derivative};
use super::orbit::OrbitalElements;

/// Body steps a client spends on a prediction each frame: a few hundred
/// microseconds, so even a 30-day horizon never stalls a frame.
pub const FRAME_SLICE: usize = 48;

/// The bodies a prediction starts from, and how the server moves them.
#[derive(Clone, Debug, PartialEq)]
pub struct PredictionBodies {
    /// Barycentric positions, velocities and GMs now.
    pub state: NBodyState,
    /// Sphere-of-influence radii (m).
    pub soi: Vec<f64>,
    /// Unit spin axes (ICRF).
    pub poles: Vec<DVec3>,
    /// `J2 · R²` of each body (m², 0 for a point mass).
    pub j2_r2: Vec<f64>,
    /// The server's body integrator and its step (s).
    pub scheme: BodyIntegrator,
    /// Longest body step (s).
    pub body_step: f64,
    /// Coasting steps per local orbital period.
    pub steps_per_orbit: f64,
}

/// One point of the predicted path.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PathPoint {
    /// Game time (s).
    pub time: f64,
    /// N-body slot of the dominant body there.
    pub dominant: usize,
    /// Position relative to that body (m).
    pub relative: DVec3,
    /// Velocity relative to that body (m/s).
    pub relative_velocity: DVec3,
    /// Barycentric position (m).
    pub position: DVec3,
}

/// A prediction in progress.
#[derive(Clone, Debug)]
pub struct Predictor {
    bodies: PredictionBodies,
    time: f64,
    end: f64,
    position: DVec3,
    velocity: DVec3,
    /// Impulses still ahead: game time and (prograde, normal, radial) components.
    nodes: Vec<(f64, DVec3)>,
    /// The path so far, one point per coasting step.
    pub path: Vec<PathPoint>,
}

impl Predictor {
    /// Starts predicting a ship at barycentric `position`, `velocity` at game time
    /// `time` for `horizon` seconds, through `nodes` (time and components).
    pub fn new(
        bodies: PredictionBodies,
        time: f64,
        horizon: f64,
        position: DVec3,
        velocity: DVec3,
        mut nodes: Vec<(f64, DVec3)>,
    ) -> Self {
        nodes.retain(|(at, c)| *at >= time && at.is_finite() && c.is_finite());
        nodes.sort_by(|a, b| b.0.total_cmp(&a.0));
        let mut predictor = Self {
            bodies,
            time,
            end: time + horizon.max(0.0),
            position,
            velocity,
            nodes,
            path: Vec::new(),
        };
        let (centers, velocities) = (
            predictor.bodies.state.positions.clone(),
            predictor.bodies.state.velocities.clone(),
        );
        predictor.record(&centers, &velocities);
        predictor
    }

    /// Whether the horizon has been reached.
    pub fn is_done(&self) -> bool {
        self.time >= self.end || !(self.position.is_finite() && self.velocity.is_finite())
    }

    /// The ship's barycentric position and velocity where the prediction stands.
    pub fn state(&self) -> (f64, DVec3, DVec3) {
        (self.time, self.position, self.velocity)
    }

    /// Advances by up to `body_steps` body steps; whether the horizon is reached.
    pub fn advance(&mut self, body_steps: usize) -> bool {
        for _ in 0..body_steps {
            if self.is_done() {
                break;
            }
            let next_node = self.nodes.last().map_or(f64::INFINITY, |(at, _)| *at);
            let span = (self.end - self.time)
                .min(self.bodies.body_step)
                .min((next_node - self.time).max(0.0));
            if span > 0.0 {
                self.window(span);
            }
            if self.nodes.last().is_some_and(|(at, _)| *at <= self.time) {
                self.apply_node();
            }
        }
        self.is_done()
    }

    /// One body step of `span` seconds, the ship coasting through it.
    fn window(&mut self, span: f64) {
        let (p0, v0) = (
            self.bodies.state.positions.clone(),
            self.bodies.state.velocities.clone(),
        );
        self.bodies.state.step(self.bodies.scheme, span);
        let (p1, v1) = (
            self.bodies.state.positions.clone(),
            self.bodies.state.velocities.clone(),
        );
        let at = |s: f64, out: &mut Vec<DVec3>| {
            out.clear();
            out.extend((0..p0.len()).map(|i| hermite(p0[i], v0[i], p1[i], v1[i], span, s).0));
        };
        let motion_at = |s: f64, out: &mut Vec<DVec3>| {
            out.clear();
            out.extend((0..p0.len()).map(|i| hermite(p0[i], v0[i], p1[i], v1[i], span, s).1));
        };
        let mut center_velocities = Vec::with_capacity(p0.len());
        let velocity_at =
            |s: f64, body: usize| hermite(p0[body], v0[body], p1[body], v1[body], span, s).1;
        let mut centers = Vec::with_capacity(p0.len());
        let mut elapsed = 0.0;
        while span - elapsed > 1e-9 {
            let s0 = elapsed / span;
            at(s0, &mut centers);
            let body = dominant_body(self.position, &centers, &self.bodies.soi);
            let mu = self.bodies.state.gms[body];
            let (j2_r2, pole) = (self.bodies.j2_r2[body], self.bodies.poles[body]);
            let mut r = self.position - centers[body];
            let mut v = self.velocity - velocity_at(s0, body);
            let pull_now = pull(&centers, &self.bodies.state.gms, body, r);
            let h =
                longest_step(r, v, mu, pull_now, self.bodies.steps_per_orbit).min(span - elapsed);
            let oblate = |r: DVec3| {
                if j2_r2 > 0.0 {
                    j2_acceleration(r, pole, mu, j2_r2)
                } else {
                    DVec3::ZERO
                }
            };
            let mut kick_centers = Vec::with_capacity(p0.len());
            step(
                &mut r,
                &mut v,
                mu,
                h,
                |fraction, r| {
                    at((elapsed + fraction * h) / span, &mut kick_centers);
                    pull(&kick_centers, &self.bodies.state.gms, body, r) + oblate(r)
                },
                |r| {
                    if j2_r2 > 0.0 {
                        j2_acceleration_derivative(r, oblate(r), pole, mu, j2_r2)
                    } else {
                        DVec3::ZERO
                    }
                },
            );
            elapsed += h;
            let s1 = (elapsed / span).min(1.0);
            at(s1, &mut centers);
            motion_at(s1, &mut center_velocities);
            self.position = centers[body] + r;
            self.velocity = center_velocities[body] + v;
            self.time += h;
            self.record(&centers, &center_velocities);
        }
    }

    /// Gives the ship the next node's delta-v, in the node frame of its dominant
    /// body there.
    fn apply_node(&mut self) {
        let Some((_, components)) = self.nodes.pop() else {
            return;
        };
        let state = &self.bodies.state;
        let body = dominant_body(self.position, &state.positions, &self.bodies.soi);
        let r = self.position - state.positions[body];
        let v = self.velocity - state.velocities[body];
        if let Some(dv) = inertial_delta_v(components, r, v) {
            self.velocity += dv;
        }
    }

    /// Adds the ship's present point, the bodies being at `centers` moving at
    /// `velocities`.
    fn record(&mut self, centers: &[DVec3], velocities: &[DVec3]) {
        if centers.is_empty() || velocities.len() != centers.len() {
            return;
        }
        let dominant = dominant_body(self.position, centers, &self.bodies.soi);
        self.path.push(PathPoint {
            time: self.time,
            dominant,
            relative: self.position - centers[dominant],
            relative_velocity: self.velocity - velocities[dominant],
            position: self.position,
        });
    }
}

/// A pass by a body other than the one the path starts about: where the path's
/// conic about it comes closest.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Encounter {
    /// N-body slot of the body passed.
    pub body: usize,
    /// Game time of the path's point nearest the body (s).
    pub time: f64,
    /// Periapsis distance from the body's centre (m): of the osculating conic at
    /// that point, so a coarse coasting step does not hide the true pass.
    pub periapsis: f64,
    /// Periapsis position relative to the body (m).
    pub periapsis_position: DVec3,
}

/// Every pass by another body along `path`, in order: one per stretch spent in
/// that body's sphere of influence. `gms` are the bodies' gravitational parameters.
pub fn encounters(path: &[PathPoint], gms: &[f64]) -> Vec<Encounter> {
    let Some(home) = path.first().map(|p| p.dominant) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    let mut nearest: Option<&PathPoint> = None;
    let close = |nearest: Option<&PathPoint>, found: &mut Vec<Encounter>| {
        if let Some(point) = nearest
            && let Some(&mu) = gms.get(point.dominant)
        {
            let (r, v) = (point.relative, point.relative_velocity);
            let periapsis = OrbitalElements::from_state(r, v, mu).periapsis;
            let e = ((v.length_squared() - mu / r.length()) * r - r.dot(v) * v) / mu;
            found.push(Encounter {
                body: point.dominant,
                time: point.time,
                periapsis,
                periapsis_position: e.try_normalize().unwrap_or(r.normalize_or_zero()) * periapsis,
            });
        }
    };
    for (i, point) in path.iter().enumerate() {
        let left = i > 0 && path[i - 1].dominant != point.dominant;
        if left {
            close(nearest.take(), &mut found);
        }
        if point.dominant != home
            && nearest.is_none_or(|n| point.relative.length() < n.relative.length())
        {
            nearest = Some(point);
        }
    }
    close(nearest, &mut found);
    found
}

/// The pull of every body but `body` on a point at `r` from it, less the pull on
/// `body` itself: what moves the point in `body`'s falling frame.
fn pull(centers: &[DVec3], gms: &[f64], body: usize, r: DVec3) -> DVec3 {
    let center = centers[body];
    let x = center + r;
    let mut a = DVec3::ZERO;
    for (b, (&p, &gm)) in centers.iter().zip(gms).enumerate() {
        if b != body {
            a += point_acceleration(x, p, gm) - point_acceleration(center, p, gm);
        }
    }
    a
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::physics::orbit::circular_speed;

    const MU: f64 = 3.986_004_418e14;

    /// Earth alone, a point mass at rest, stepped as the server steps bodies.
    pub(crate) fn earth_alone() -> PredictionBodies {
        PredictionBodies {
            state: NBodyState::new(vec![DVec3::ZERO], vec![DVec3::ZERO], vec![MU], None),
            soi: vec![f64::INFINITY],
            poles: vec![DVec3::Z],
            j2_r2: vec![0.0],
            scheme: BodyIntegrator::Yoshida4,
            body_step: 300.0,
            steps_per_orbit: 8.0,
        }
    }

    #[test]
    fn a_lone_body_gives_a_kepler_orbit_and_a_node_raises_it() {
        let r0 = 6.771e6;
        let speed = circular_speed(r0, MU);
        let period = std::f64::consts::TAU * (r0.powi(3) / MU).sqrt();
        let mut predictor = Predictor::new(
            earth_alone(),
            1_000.0,
            period,
            DVec3::X * r0,
            DVec3::Y * speed,
            vec![],
        );
        while !predictor.advance(10) {}
        let (time, position, _) = predictor.state();
        assert!((time - 1_000.0 - period).abs() < 1e-6);
        assert!(position.distance(DVec3::X * r0) < 1e-3, "{position}");
        assert!(predictor.path.len() > 8, "{} points", predictor.path.len());
        // 100 m/s prograde at the start: the apoapsis vis-viva predicts.
        let mut raised = Predictor::new(
            earth_alone(),
            0.0,
            0.25 * period,
            DVec3::X * r0,
            DVec3::Y * speed,
            vec![(0.0, DVec3::new(100.0, 0.0, 0.0))],
        );
        while !raised.advance(10) {}
        let (_, r, v) = raised.state();
        let apoapsis = OrbitalElements::from_state(r, v, MU).apoapsis;
        let a = 1.0 / (2.0 / r0 - (speed + 100.0).powi(2) / MU);
        assert!((apoapsis - (2.0 * a - r0)).abs() < 1e-2, "{apoapsis}");
    }
}
