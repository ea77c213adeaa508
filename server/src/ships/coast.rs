//! Coasting ships: a few near-exact steps per tick at any warp.
//!
//! A ship with no thrust and no rotation follows gravity alone. It is carried in
//! the frame of its dominant body with [`galaxy_shared::physics::coast::step`]: a
//! Kepler arc about that body, the other bodies' pull (minus the dominant body's own
//! acceleration, since the frame falls with it) and the body's J2 as kicks. Steps
//! follow the orbit (`coast_steps_per_orbit` per local period) and shrink where a
//! sphere-of-influence boundary or a surface could be reached within one, so the
//! frame change happens within a fine substep of the crossing, and a ship heading
//! for the ground hands over to the fine path in time to find its touchdown there.

use galaxy_shared::physics::coast::{longest_step, step_lanes};
use galaxy_shared::physics::compensated;
use galaxy_shared::physics::gravity::dominant_body;
use galaxy_shared::physics::lanes::{BodyLanes, LANES, LaneVec};
use galaxy_shared::physics::oblateness::{j2_acceleration, j2_acceleration_derivative};
use glam::DVec3;

use super::flight::ShipState;
use crate::config::Config;
use crate::ephemeris::MAX_BODIES;
use crate::gravity::BodyTrack;

/// How coasting is configured.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CoastSettings {
    /// Coasting is allowed at all (`physics.coast`).
    pub enabled: bool,
    /// Steps per local orbital period.
    pub steps_per_orbit: f64,
}

impl CoastSettings {
    /// The settings in `config`.
    pub fn from_config(config: &Config) -> Self {
        Self {
            enabled: config.physics.coast,
            steps_per_orbit: config.physics.coast_steps_per_orbit,
        }
    }
}

/// A ship whose periapsis clears the surface by this much cannot reach it while
/// coasting (m).
const SURFACE_CLEARANCE: f64 = 1_000.0;
/// Below the clearance, a step may cover at most this share of the time the ship
/// needs to fall to the surface at its current speed.
const SURFACE_SHARE: f64 = 0.25;
/// Coasting hands over to fine substeps once a step would be shorter than this many.
const HANDOVER_SUBSTEPS: f64 = 4.0;
/// What a coasting step costs in fine substeps (measured: about six): a ship coasts
/// only where that saves work, so at low warp, with a substep or a few per tick,
/// it takes them (they are exact enough at that length).
const STEP_COST_SUBSTEPS: f64 = 8.0;

/// A ship asking to coast: its state (coasted in place), its dominant body at the
/// tick's start, and the substep boundary it starts from.
pub type Coaster<'a> = (&'a mut ShipState, usize, usize);

/// Coasts one ship from substep boundary `k`; returns the boundary it reached: the
/// tick's end, or earlier where it must hand over to fine substeps (`k` itself when
/// it cannot coast, or when the fine substeps left in the tick cost less).
pub fn coast(
    state: &mut ShipState,
    dominant: usize,
    k: usize,
    track: &BodyTrack,
    settings: CoastSettings,
    kicks: &mut KickCache,
) -> usize {
    coast_lanes([(state, dominant, k)], track, settings, kicks)[0]
}

/// Coasts up to [`LANES`] ships side by side, step by step, and gives the boundary
/// each reached (see [`coast`]): each takes the steps it would take alone, with its
/// drifts computed in vector lanes together with the others' ([`step_lanes`]), so
/// each ends bit for bit where it would alone.
pub fn coast_lanes<'a>(
    ships: impl IntoIterator<Item = Coaster<'a>>,
    track: &BodyTrack,
    settings: CoastSettings,
    kicks: &mut KickCache,
) -> [usize; LANES] {
    let mut states: [Option<&mut ShipState>; LANES] = Default::default();
    let mut reached = [0; LANES];
    let mut lanes: [Option<Lane>; LANES] = [None; LANES];
    for (i, (state, dominant, k)) in ships.into_iter().take(LANES).enumerate() {
        reached[i] = k;
        lanes[i] = Lane::start(state, dominant, k, track, settings, kicks);
        states[i] = Some(state);
    }
    let mut r = LaneVec::default();
    let mut v = LaneVec::default();
    let mut mu = [1.0; LANES];
    loop {
        let mut h = [0.0; LANES];
        for (i, lane) in lanes.iter_mut().enumerate() {
            let Some(lane) = lane.as_mut() else {
                continue;
            };
            if let Some(step) = lane.plan(track, settings) {
                h[i] = step;
                r.set(i, lane.frame.r);
                v.set(i, lane.frame.v);
                mu[i] = lane.frame.center.mu;
            }
        }
        if h.iter().all(|&h| h == 0.0) {
            break;
        }
        let mut last_pull = [DVec3::ZERO; LANES];
        step_lanes(
            &mut r,
            &mut v,
            &mu,
            &h,
            |i, fraction, at| match &lanes[i] {
                Some(lane) => {
                    let pull = kicks.pull(track, lane.frame.body, lane.tau + fraction * h[i], at);
                    last_pull[i] = pull;
                    pull + lane.frame.center.accel(at)
                }
                None => DVec3::ZERO,
            },
            |i, at| {
                lanes[i]
                    .as_ref()
                    .map_or(DVec3::ZERO, |lane| lane.frame.center.corrector(at))
            },
        );
        for (i, lane) in lanes.iter_mut().enumerate() {
            if let Some(lane) = lane.as_mut().filter(|_| h[i] != 0.0) {
                lane.frame.r = r.get(i);
                lane.frame.v = v.get(i);
                lane.pull = last_pull[i];
                lane.stepped(track, h[i]);
            }
        }
    }
    for ((state, lane), reached) in states.into_iter().zip(lanes).zip(&mut reached) {
        if let (Some(state), Some(lane)) = (state, lane) {
            lane.frame.write_back(state, track, lane.tau);
            *reached = lane.reached;
        }
    }
    reached
}

/// One coasting ship's way through the tick.
#[derive(Clone, Copy)]
struct Lane {
    frame: Frame,
    /// Seconds into the tick.
    tau: f64,
    /// Where this coast ends (s into the tick), and its boundary.
    stop: f64,
    reached: usize,
    /// The longest step that cannot reach the surface, when it could be reached.
    surface: Option<f64>,
    /// The non-Keplerian pull at the last kick.
    pull: DVec3,
    /// The distance to the nearest sphere-of-influence boundary, over the closing
    /// speed, before the last step.
    boundary: f64,
}

impl Lane {
    /// `None` when the ship cannot coast from its boundary, or its fine substeps
    /// to the tick's end cost less.
    fn start(
        state: &ShipState,
        dominant: usize,
        k: usize,
        track: &BodyTrack,
        settings: CoastSettings,
        kicks: &mut KickCache,
    ) -> Option<Self> {
        let n = track.substeps();
        let substep = track.substep;
        let end = n as f64 * substep;
        let frame = Frame::at(state, dominant, k, track);
        let tau = k as f64 * substep;
        let surface = frame.surface_limit(track);
        if surface.is_some_and(|limit| limit < HANDOVER_SUBSTEPS * substep) {
            return None;
        }
        let quiet = longest_step(
            frame.r,
            frame.v,
            frame.center.mu,
            DVec3::ZERO,
            settings.steps_per_orbit,
        );
        if ((end - tau) / quiet).ceil() * STEP_COST_SUBSTEPS > (n - k) as f64 {
            return None;
        }
        let pull = kicks.pull(track, frame.body, tau, frame.r);
        Some(Self {
            frame,
            tau,
            stop: end,
            reached: n,
            surface,
            pull,
            boundary: f64::INFINITY,
        })
    }

    /// The next step's length, `None` when the coast has ended.
    fn plan(&mut self, track: &BodyTrack, settings: CoastSettings) -> Option<f64> {
        let substep = track.substep;
        if self.stop - self.tau <= 0.0 {
            return None;
        }
        let frame = &self.frame;
        let mut h = longest_step(
            frame.r,
            frame.v,
            frame.center.mu,
            self.pull,
            settings.steps_per_orbit,
        );
        if let Some(limit) = self.surface {
            if limit < HANDOVER_SUBSTEPS * substep && self.reached == track.substeps() {
                // Stop at the next boundary, where the fine path takes over.
                let boundary = (self.tau / substep).ceil();
                self.reached = boundary as usize;
                self.stop = boundary * substep;
                if self.stop - self.tau <= 0.0 {
                    return None;
                }
            }
            h = h.min(limit);
        }
        self.boundary = frame.boundary_limit(track, self.tau);
        h = h.min(self.boundary.max(substep));
        let remaining = self.stop - self.tau;
        Some(remaining / (remaining / h).ceil().max(1.0))
    }

    /// After a step of `h`: the time, the frame and the surface brought up to date.
    fn stepped(&mut self, track: &BodyTrack, h: f64) {
        let start = self.tau;
        self.tau = if self.stop - (start + h) < 1e-9 * track.substep {
            self.stop
        } else {
            start + h
        };
        if self.boundary <= 2.0 * h {
            self.frame.rebase(track, self.tau);
        }
        if self.stop - self.tau > 0.0 {
            self.surface = self.frame.surface_limit(track);
        }
    }
}

/// A ship's state relative to its dominant body.
#[derive(Clone, Copy)]
struct Frame {
    body: usize,
    center: Center,
    r: DVec3,
    v: DVec3,
}

/// The dominant body's gravitational parameter and J2: the Kepler drift's centre,
/// the kicks' J2 term and the corrector's.
#[derive(Clone, Copy)]
struct Center {
    mu: f64,
    j2_r2: f64,
    pole: DVec3,
}

impl Center {
    fn accel(self, r: DVec3) -> DVec3 {
        if self.j2_r2 > 0.0 {
            j2_acceleration(r, self.pole, self.mu, self.j2_r2)
        } else {
            DVec3::ZERO
        }
    }

    /// `(∇a)·a` of the J2 acceleration, which the SABAC₃ corrector needs.
    fn corrector(self, r: DVec3) -> DVec3 {
        if self.j2_r2 > 0.0 {
            j2_acceleration_derivative(r, self.accel(r), self.pole, self.mu, self.j2_r2)
        } else {
            DVec3::ZERO
        }
    }
}

impl Frame {
    fn at(state: &ShipState, body: usize, k: usize, track: &BodyTrack) -> Self {
        let r = (state.position - track.positions_at(k)[body]) - state.carry;
        let v = state.velocity - track.velocities_at(k)[body];
        Self::relative_to(body, r, v, track)
    }

    fn relative_to(body: usize, r: DVec3, v: DVec3, track: &BodyTrack) -> Self {
        Self {
            body,
            center: Center {
                mu: track.gms[body],
                j2_r2: track.j2_r2[body],
                pole: track.poles[body],
            },
            r,
            v,
        }
    }

    /// The longest step that cannot reach the surface, when the orbit could reach
    /// it at all; `None` when the periapsis clears it. Most ships ask this every
    /// step and clear it, so that answer takes one square root.
    fn surface_limit(&self, track: &BodyTrack) -> Option<f64> {
        let mu = self.center.mu;
        let r = self.r.length();
        let v2 = self.v.length_squared();
        let energy = 0.5 * v2 - mu / r;
        let receding = self.r.dot(self.v) >= 0.0;
        if receding && energy >= 0.0 {
            return None;
        }
        // Periapsis p/(1 + e) clears `floor` when p/floor − 1 > e, with
        // p = h²/μ and e² = 1 + 2Eh²/μ²: compared squared, both sides positive.
        let momentum2 = self.r.cross(self.v).length_squared();
        let floor = track.radii[self.body] + SURFACE_CLEARANCE;
        let margin = momentum2 / (mu * floor) - 1.0;
        let e2 = 1.0 + 2.0 * energy * momentum2 / (mu * mu);
        if margin > 0.0 && margin * margin > e2 {
            return None;
        }
        let radius = track.radii[self.body];
        Some(SURFACE_SHARE * (r - radius).max(0.0) / v2.sqrt().max(1e-9))
    }

    /// The longest step that cannot carry the ship across a sphere-of-influence
    /// boundary by more than itself: the distance to the nearest boundary over the
    /// fastest closing speed.
    fn boundary_limit(&self, track: &BodyTrack, tau: f64) -> f64 {
        let speed = self.v.length();
        let mut limit = f64::INFINITY;
        if track.parents[self.body].is_some() {
            limit = (track.soi[self.body] - self.r.length()) / speed.max(1e-9);
        }
        let (center, center_velocity) = track.state_at_time(self.body, tau);
        for child in (0..track.bodies).filter(|&c| track.parents[c] == Some(self.body)) {
            let (position, velocity) = track.state_at_time(child, tau);
            let distance = (center + self.r).distance(position) - track.soi[child];
            let closing = speed + (velocity - center_velocity).length();
            limit = limit.min(distance / closing.max(1e-9));
        }
        limit.max(0.0)
    }

    /// Moves to the frame of whichever body's sphere of influence now holds the ship.
    fn rebase(&mut self, track: &BodyTrack, tau: f64) {
        let mut scratch = [DVec3::ZERO; MAX_BODIES];
        track.positions_at_time(tau, &mut scratch);
        let ship = scratch[self.body] + self.r;
        let body = dominant_body(ship, &scratch[..track.bodies], &track.soi);
        if body == self.body {
            return;
        }
        let (old_center, old_velocity) = track.state_at_time(self.body, tau);
        let (new_center, new_velocity) = track.state_at_time(body, tau);
        let r = (old_center - new_center) + self.r;
        let v = (old_velocity - new_velocity) + self.v;
        *self = Self::relative_to(body, r, v, track);
    }

    /// Barycentric state back into `state`, `tau` seconds into the tick.
    fn write_back(&self, state: &mut ShipState, track: &BodyTrack, tau: f64) {
        let (center, velocity) = track.state_at_time(self.body, tau);
        state.position = center;
        state.carry = DVec3::ZERO;
        compensated::add_vec(&mut state.position, &mut state.carry, self.r);
        state.velocity = velocity + self.v;
    }
}

/// The bodies at the moments coasting ships kick, kept for the ships after: ships
/// whose steps divide the tick alike (at high warp, most of them take one step a
/// tick) kick at the same times, so the bodies are interpolated, and the dominant
/// body's own acceleration summed, once per moment instead of once per ship.
pub struct KickCache {
    slots: Vec<KickSlot>,
    /// The slot the next new moment takes.
    next: usize,
    /// Where the next lookup starts.
    hint: usize,
}

/// The other bodies at one moment, as seen from one dominant body.
#[derive(Default)]
struct KickSlot {
    /// Dominant body and the moment's bits; `None` while empty.
    key: Option<(usize, u64)>,
    /// The dominant body's position.
    center: DVec3,
    /// The other bodies.
    others: BodyLanes,
    /// Their pull on the dominant body itself.
    center_pull: DVec3,
}

/// Moments kept: a ship's kick times through one tick (three a step) for a few
/// step counts and dominant bodies.
const KICK_SLOTS: usize = 48;

impl Default for KickCache {
    fn default() -> Self {
        Self {
            slots: (0..KICK_SLOTS).map(|_| KickSlot::default()).collect(),
            next: 0,
            hint: 0,
        }
    }
}

impl KickCache {
    /// The pull of every body but `body` on a ship at `r` from it, `tau` seconds
    /// into the tick, less the pull that accelerates `body` itself.
    fn pull(&mut self, track: &BodyTrack, body: usize, tau: f64, r: DVec3) -> DVec3 {
        let key = Some((body, tau.to_bits()));
        // Ships side by side ask for the same moment in turn, and ships one after
        // another go through the same moments in the same order: the moment last
        // asked for, then the one after it, are the likeliest.
        let found = (0..KICK_SLOTS)
            .map(|i| (self.hint + i) % KICK_SLOTS)
            .find(|&i| self.slots[i].key == key);
        let index = match found {
            Some(index) => index,
            None => {
                // The oldest moment makes room: ships fly one after another, each
                // through the same moments in the same order.
                let index = self.next;
                self.next = (self.next + 1) % KICK_SLOTS;
                let slot = &mut self.slots[index];
                let mut positions = [DVec3::ZERO; MAX_BODIES];
                track.positions_at_time(tau, &mut positions);
                let positions = &positions[..track.bodies];
                slot.center = positions[body];
                slot.others.fill(positions, &track.gms, body);
                slot.center_pull = slot.others.pull(slot.center);
                slot.key = key;
                index
            }
        };
        self.hint = index;
        let slot = &self.slots[index];
        slot.others.pull(slot.center + r) - slot.center_pull
    }
}
