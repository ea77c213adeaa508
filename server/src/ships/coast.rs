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

use galaxy_shared::physics::coast::{longest_step, step};
use galaxy_shared::physics::compensated;
use galaxy_shared::physics::gravity::dominant_body;
use galaxy_shared::physics::lanes::BodyLanes;
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

/// Coasts `state` from substep boundary `k`; returns the boundary it reached: the
/// tick's end, or earlier where it must hand over to fine substeps (`k` itself
/// when it cannot coast, or when the fine substeps left in the tick cost less).
pub fn coast(
    state: &mut ShipState,
    dominant: usize,
    k: usize,
    track: &BodyTrack,
    settings: CoastSettings,
    kicks: &mut KickCache,
) -> usize {
    let n = track.substeps();
    let substep = track.substep;
    let end = n as f64 * substep;
    let mut frame = Frame::at(state, dominant, k, track);
    let mut tau = k as f64 * substep;
    let mut scratch = [DVec3::ZERO; MAX_BODIES];
    let mut stop = end;
    let mut reached = n;
    let mut surface = frame.surface_limit(track);
    if surface.is_some_and(|limit| limit < HANDOVER_SUBSTEPS * substep) {
        return k;
    }
    let quiet = longest_step(
        frame.r,
        frame.v,
        frame.center.mu,
        DVec3::ZERO,
        settings.steps_per_orbit,
    );
    if ((end - tau) / quiet).ceil() * STEP_COST_SUBSTEPS > (n - k) as f64 {
        return k;
    }
    let mut pull = kicks.pull(track, frame.body, tau, frame.r);
    while stop - tau > 0.0 {
        let mut h = longest_step(
            frame.r,
            frame.v,
            frame.center.mu,
            pull,
            settings.steps_per_orbit,
        );
        if let Some(limit) = surface {
            if limit < HANDOVER_SUBSTEPS * substep && reached == n {
                // Stop at the next boundary, where the fine path takes over.
                let boundary = (tau / substep).ceil();
                reached = boundary as usize;
                stop = boundary * substep;
                if stop - tau <= 0.0 {
                    break;
                }
            }
            h = h.min(limit);
        }
        let boundary = frame.boundary_limit(track, tau);
        h = h.min(boundary.max(substep));
        let remaining = stop - tau;
        let h = remaining / (remaining / h).ceil().max(1.0);
        let start = tau;
        let (body, center) = (frame.body, frame.center);
        let mut last_pull = pull;
        step(
            &mut frame.r,
            &mut frame.v,
            center.mu,
            h,
            |fraction, r| {
                last_pull = kicks.pull(track, body, start + fraction * h, r);
                last_pull + center.accel(r)
            },
            |r| center.corrector(r),
        );
        pull = last_pull;
        tau = if stop - (start + h) < 1e-9 * substep {
            stop
        } else {
            start + h
        };
        if boundary <= 2.0 * h {
            frame.rebase(track, tau, &mut scratch);
        }
        surface = frame.surface_limit(track);
    }
    frame.write_back(state, track, tau);
    reached
}

/// A ship's state relative to its dominant body.
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
    /// it at all; `None` when the periapsis clears it.
    fn surface_limit(&self, track: &BodyTrack) -> Option<f64> {
        let radius = track.radii[self.body];
        let (r, v) = (self.r.length(), self.v.length());
        let energy = 0.5 * v * v - self.center.mu / r;
        let momentum2 = self.r.cross(self.v).length_squared();
        let receding = self.r.dot(self.v) >= 0.0;
        if receding && energy >= 0.0 {
            return None;
        }
        let e = (1.0 + 2.0 * energy * momentum2 / (self.center.mu * self.center.mu))
            .max(0.0)
            .sqrt();
        let periapsis = momentum2 / self.center.mu / (1.0 + e);
        if periapsis > radius + SURFACE_CLEARANCE {
            return None;
        }
        Some(SURFACE_SHARE * (r - radius).max(0.0) / v.max(1e-9))
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
    fn rebase(&mut self, track: &BodyTrack, tau: f64, scratch: &mut [DVec3; MAX_BODIES]) {
        track.positions_at_time(tau, scratch);
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
        }
    }
}

impl KickCache {
    /// The pull of every body but `body` on a ship at `r` from it, `tau` seconds
    /// into the tick, less the pull that accelerates `body` itself.
    fn pull(&mut self, track: &BodyTrack, body: usize, tau: f64, r: DVec3) -> DVec3 {
        let key = Some((body, tau.to_bits()));
        let index = match self.slots.iter().position(|slot| slot.key == key) {
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
        let slot = &self.slots[index];
        slot.others.pull(slot.center + r) - slot.center_pull
    }
}
