//! Ship flight: gravity, thrust, rotation and surface contact.
//!
//! Each ship runs all substeps of a tick in one go over the shared [`BodyTrack`],
//! so its data stays in cache and ships are integrated in parallel. A ship under
//! thrust, turning, or near a surface takes every substep: kick-drift-kick leapfrog
//! with the engine's delta-v split between the two kicks, so the velocity change of
//! a burn is exactly the rocket equation's, whatever the step. Every other ship
//! coasts ([`super::coast`]): a few long, near-exact steps per tick at any warp.
//! Landed ships and wrecks sit at a body-fixed point and turn with their body.
//!
//! Ships that need fine substeps fly in groups of [`LANES`], in lockstep: the
//! gravity sum, most of a substep's work, runs for the whole group as vector
//! instructions ([`galaxy_shared::physics::lanes`]), while each ship's own
//! decisions (turning, burning, touching down) stay scalar. Ships that cannot
//! turn fly whole runs of substeps in lanes ([`steady`]). A ship's path is the
//! same bit for bit whether it flies alone or in a group.

use bevy::ecs::change_detection::{ContiguousComponentTicksMut, ContiguousMut, Tick};
use bevy::ecs::query::QueryData;
use bevy::prelude::*;
use bevy::tasks::ComputeTaskPool;
use galaxy_shared::components::{
    Aim, AngularVelocity, Attitude, Controls, FlightState, Fuel, HoldMode, Position, Ship,
    Throttle, Velocity, WheelMomentum,
};
use galaxy_shared::physics::attitude::{
    RotationGoal, RotationState, at_rest, cylinder_inertia, forward, step_rotation,
};
use galaxy_shared::physics::contact::{Ground, touchdown};
use galaxy_shared::physics::gravity::dominant_body;
use galaxy_shared::physics::lanes::{self, LANES, LaneGravity, LaneOblate, LaneVec};
use galaxy_shared::physics::leapfrog::{drift, kick};
use galaxy_shared::physics::oblateness::j2_acceleration;
use galaxy_shared::physics::rocket::engine_step;
use glam::DVec3;

use super::coast::{self, CoastSettings, KickCache};

mod steady;
use crate::SimSystems;
use crate::config::{Config, ShipSpec};
use crate::gravity::BodyTrack;

pub(super) fn plugin(app: &mut App) {
    app.register_required_components::<Ship, PositionCarry>()
        .register_required_components::<Ship, DominantBody>()
        .add_systems(
            FixedUpdate,
            (find_dominant_bodies, integrate_ships)
                .chain()
                .in_set(SimSystems::Ships),
        );
}

/// Rounding carried by the compensated position sum of a ship.
#[derive(Component, Clone, Copy, Debug, Default, PartialEq)]
pub struct PositionCarry(pub DVec3);

/// The body whose sphere of influence holds the ship, as an N-body slot; hold modes,
/// altitude and orbital elements refer to it.
#[derive(Component, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DominantBody(pub usize);

/// A ship's flight data: what the flight system reads and writes, declared once.
#[derive(QueryData)]
#[query_data(mutable, contiguous(mutable))]
pub struct ShipFlight {
    /// Barycentric position.
    pub position: &'static mut Position,
    /// Rounding carried by the position sum.
    pub carry: &'static mut PositionCarry,
    /// Barycentric velocity.
    pub velocity: &'static mut Velocity,
    /// Attitude.
    pub attitude: &'static mut Attitude,
    /// Body rates.
    pub rate: &'static mut AngularVelocity,
    /// Reaction-wheel momentum.
    pub wheels: &'static mut WheelMomentum,
    /// Propellant.
    pub fuel: &'static mut Fuel,
    /// Flying, landed or destroyed.
    pub flight: &'static mut FlightState,
    /// Dominant body at the tick's start.
    pub dominant: &'static DominantBody,
    /// Main-engine throttle.
    pub throttle: &'static Throttle,
    /// Rotation commands or hold mode.
    pub controls: &'static Controls,
    /// Where an aimed hold mode points.
    pub aim: &'static Aim,
}

/// Everything one ship's flight changes, gathered from its components.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ShipState {
    /// Barycentric position (m).
    pub position: DVec3,
    /// Rounding carried by the position sum.
    pub carry: DVec3,
    /// Barycentric velocity (m/s).
    pub velocity: DVec3,
    /// Attitude, body rates and wheel momentum.
    pub rotation: RotationState,
    /// Propellant (kg).
    pub fuel: f64,
    /// Flying, landed or destroyed.
    pub flight: FlightState,
}

/// What the pilot has set for this tick.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Pilot {
    /// Main-engine throttle 0..1.
    pub throttle: f64,
    /// Rotation commands or hold mode.
    pub controls: Controls,
    /// Where an aimed hold mode points (ICRF).
    pub aim: DVec3,
}

/// A substep closer to a surface than this many substeps of travel is split finely.
const SURFACE_LOOKAHEAD: f64 = 2.0;
/// Most pieces a substep is split into near a surface.
const MAX_SURFACE_PIECES: f64 = 256.0;
/// Fewest ships per parallel task: enough to fill groups and share kick times.
const MIN_CHUNK: usize = 256;
/// Parallel tasks per thread, so the cores stay evenly loaded.
const TASKS_PER_THREAD: usize = 4;

/// Each ship's dominant body at the tick's start, once per tick: the flight, its
/// hold modes and its J2 refer to it for the whole tick.
fn find_dominant_bodies(
    track: Res<BodyTrack>,
    mut ships: Query<(&Position, &mut DominantBody), With<Ship>>,
) {
    if track.substeps() == 0 {
        return;
    }
    ships.par_iter_mut().for_each(|(position, mut dominant)| {
        let body = dominant_body(position.0, track.positions_at(0), &track.soi);
        dominant.set_if_neq(DominantBody(body));
    });
}

fn integrate_ships(
    track: Res<BodyTrack>,
    spec: Res<ShipSpec>,
    config: Res<Config>,
    mut ships: Query<ShipFlight, With<Ship>>,
) {
    if track.substeps() == 0 {
        return;
    }
    let course = Course {
        track: &track,
        spec: &spec,
        settings: CoastSettings::from_config(&config),
    };
    let Ok(tables) = ships.contiguous_iter_mut() else {
        error!("ship components are not stored densely; ships cannot be integrated");
        return;
    };
    let pool = ComputeTaskPool::get();
    let tasks = pool.thread_num().max(1) * TASKS_PER_THREAD;
    for table in tables {
        let chunk_len = table.throttle.len().div_ceil(tasks).max(MIN_CHUNK);
        let mut flight = Tracked::new(table.flight);
        let ships = ShipSlices {
            position: ContiguousMut::split(table.position).0,
            carry: ContiguousMut::split(table.carry).0,
            velocity: ContiguousMut::split(table.velocity).0,
            attitude: ContiguousMut::split(table.attitude).0,
            rate: ContiguousMut::split(table.rate).0,
            wheels: ContiguousMut::split(table.wheels).0,
            fuel: ContiguousMut::split(table.fuel).0,
            flight: flight.view(),
            dominant: table.dominant,
            throttle: table.throttle,
            controls: table.controls,
            aim: table.aim,
        };
        pool.scope(|scope| {
            let mut rest = ships;
            while !rest.throttle.is_empty() {
                let len = chunk_len.min(rest.throttle.len());
                let (chunk, tail) = rest.split_at(len);
                rest = tail;
                scope.spawn(async move { fly_chunk(chunk, course) });
            }
        });
    }
}

/// What every ship flies through this tick.
#[derive(Clone, Copy)]
struct Course<'a> {
    track: &'a BodyTrack,
    spec: &'a ShipSpec,
    settings: CoastSettings,
}

/// A component column whose change ticks are set only where a value really changes
/// (the flight state: its changes are reported to players).
struct Tracked<'w, T> {
    values: &'w mut [T],
    ticks: ContiguousComponentTicksMut<'w>,
}

impl<'w, T: PartialEq> Tracked<'w, T> {
    fn new(column: ContiguousMut<'w, T>) -> Self {
        let (values, ticks) = ContiguousMut::bypass_change_detection_split(column);
        Self { values, ticks }
    }

    fn view(&mut self) -> TrackedSlice<'_, T> {
        let now = self.ticks.this_run();
        TrackedSlice {
            values: &mut *self.values,
            changed: self.ticks.changed_mut(),
            now,
        }
    }
}

/// Part of a [`Tracked`] column.
struct TrackedSlice<'a, T> {
    values: &'a mut [T],
    changed: &'a mut [Tick],
    now: Tick,
}

impl<'a, T: PartialEq> TrackedSlice<'a, T> {
    fn set_if_neq(&mut self, i: usize, value: T) {
        if self.values[i] != value {
            self.values[i] = value;
            self.changed[i] = self.now;
        }
    }

    fn split_at(self, mid: usize) -> (Self, Self) {
        let (values, values_tail) = self.values.split_at_mut(mid);
        let (changed, changed_tail) = self.changed.split_at_mut(mid);
        (
            Self {
                values,
                changed,
                now: self.now,
            },
            Self {
                values: values_tail,
                changed: changed_tail,
                now: self.now,
            },
        )
    }
}

/// The [`ShipFlight`] columns of some ships of one table.
struct ShipSlices<'a> {
    position: &'a mut [Position],
    carry: &'a mut [PositionCarry],
    velocity: &'a mut [Velocity],
    attitude: &'a mut [Attitude],
    rate: &'a mut [AngularVelocity],
    wheels: &'a mut [WheelMomentum],
    fuel: &'a mut [Fuel],
    flight: TrackedSlice<'a, FlightState>,
    dominant: &'a [DominantBody],
    throttle: &'a [Throttle],
    controls: &'a [Controls],
    aim: &'a [Aim],
}

impl<'a> ShipSlices<'a> {
    /// The first `mid` ships and the rest.
    fn split_at(self, mid: usize) -> (Self, Self) {
        let (position, position_tail) = self.position.split_at_mut(mid);
        let (carry, carry_tail) = self.carry.split_at_mut(mid);
        let (velocity, velocity_tail) = self.velocity.split_at_mut(mid);
        let (attitude, attitude_tail) = self.attitude.split_at_mut(mid);
        let (rate, rate_tail) = self.rate.split_at_mut(mid);
        let (wheels, wheels_tail) = self.wheels.split_at_mut(mid);
        let (fuel, fuel_tail) = self.fuel.split_at_mut(mid);
        let (flight, flight_tail) = self.flight.split_at(mid);
        let (dominant, dominant_tail) = self.dominant.split_at(mid);
        let (throttle, throttle_tail) = self.throttle.split_at(mid);
        let (controls, controls_tail) = self.controls.split_at(mid);
        let (aim, aim_tail) = self.aim.split_at(mid);
        (
            Self {
                position,
                carry,
                velocity,
                attitude,
                rate,
                wheels,
                fuel,
                flight,
                dominant,
                throttle,
                controls,
                aim,
            },
            Self {
                position: position_tail,
                carry: carry_tail,
                velocity: velocity_tail,
                attitude: attitude_tail,
                rate: rate_tail,
                wheels: wheels_tail,
                fuel: fuel_tail,
                flight: flight_tail,
                dominant: dominant_tail,
                throttle: throttle_tail,
                controls: controls_tail,
                aim: aim_tail,
            },
        )
    }

    /// Ship `i`'s flight through this tick, from its components.
    fn flier(&self, i: usize, settings: CoastSettings) -> Flier {
        let state = ShipState {
            position: self.position[i].0,
            carry: self.carry[i].0,
            velocity: self.velocity[i].0,
            rotation: RotationState {
                attitude: self.attitude[i].0,
                angular_velocity: self.rate[i].0,
                wheel_momentum: self.wheels[i].0,
            },
            fuel: self.fuel[i].0,
            flight: self.flight.values[i],
        };
        let pilot = Pilot {
            throttle: self.throttle[i].0,
            controls: self.controls[i],
            aim: self.aim[i].0,
        };
        Flier::new(state, pilot, self.dominant[i].0, settings)
    }

    /// Writes ship `i`'s flight back into its components.
    fn store(&mut self, i: usize, flier: &Flier) {
        let state = &flier.state;
        self.position[i].0 = state.position;
        self.carry[i].0 = state.carry;
        self.velocity[i].0 = state.velocity;
        self.attitude[i].0 = state.rotation.attitude;
        self.rate[i].0 = state.rotation.angular_velocity;
        self.wheels[i].0 = state.rotation.wheel_momentum;
        self.fuel[i].0 = state.fuel;
        self.flight.set_if_neq(i, state.flight);
    }
}

/// Ships flown per window of a chunk: the ones waiting for fine substeps stay in
/// the core's cache while their groups fly.
const WINDOW: usize = 128;

/// Flies the ships of one chunk through the tick, a window at a time: each ship
/// alone until it needs a fine substep, then those that do in groups.
fn fly_chunk(mut ships: ShipSlices, course: Course) {
    let mut kicks = KickCache::default();
    // Ships waiting for fine substeps, the steady ones apart so they share groups
    // and their runs fill every lane.
    let mut steady: Vec<(usize, Flier)> = Vec::with_capacity(WINDOW);
    let mut turning: Vec<(usize, Flier)> = Vec::with_capacity(WINDOW);
    let mut coasting: Vec<(usize, Flier)> = Vec::with_capacity(LANES);
    let count = ships.throttle.len();
    for start in (0..count).step_by(WINDOW) {
        steady.clear();
        turning.clear();
        let mut go_on = |(i, mut flier): (usize, Flier), ships: &mut ShipSlices, kicks: &mut _| {
            flier.request = flier.advance(course, kicks);
            if flier.request == Request::Done {
                ships.store(i, &flier);
            } else if flier.is_steady(course.spec) {
                steady.push((i, flier));
            } else {
                turning.push((i, flier));
            }
        };
        let window_end = (start + WINDOW).min(count);
        for i in start..window_end {
            let flier = ships.flier(i, course.settings);
            if flier.wants_to_coast(course) {
                coasting.push((i, flier));
            } else {
                go_on((i, flier), &mut ships, &mut kicks);
            }
            if coasting.len() == LANES || (i + 1 == window_end && !coasting.is_empty()) {
                coast_together(&mut coasting, course, &mut kicks);
                for &mut (i, ref flier) in &mut coasting {
                    if flier.cursor.k == course.track.substeps() {
                        // Coasted to the tick's end: nothing more to fly.
                        ships.store(i, flier);
                    } else {
                        go_on((i, *flier), &mut ships, &mut kicks);
                    }
                }
                coasting.clear();
            }
        }
        for group in steady.chunks_mut(LANES).chain(turning.chunks_mut(LANES)) {
            if group.len() * 2 < LANES {
                for (_, flier) in group.iter_mut() {
                    flier.finish(course, &mut kicks);
                }
            } else {
                fly_group(group, course, &mut kicks);
            }
        }
        for (i, flier) in steady.iter().chain(&turning) {
            ships.store(*i, flier);
        }
    }
}

/// The first coast of ships that want one, side by side ([`coast::coast_lanes`]);
/// each then goes on from where it got, as after a coast of its own.
fn coast_together(ships: &mut [(usize, Flier)], course: Course, kicks: &mut KickCache) {
    let reached = coast::coast_lanes(
        ships
            .iter_mut()
            .map(|(_, flier)| (&mut flier.state, flier.dominant, flier.cursor.k)),
        course.track,
        course.settings,
        kicks,
    );
    for ((_, flier), reached) in ships.iter_mut().zip(reached) {
        flier.cursor.coasted(reached);
    }
}

/// Flies up to [`LANES`] ships in lockstep to the end of the tick: at each substep
/// boundary, the lanes waiting there have their gravity summed together.
fn fly_group(group: &mut [(usize, Flier)], course: Course, kicks: &mut KickCache) {
    let Course { track, spec, .. } = course;
    let h = track.substep;
    let mut oblate = oblate_lanes(group, track);
    loop {
        let Some(k) = group
            .iter()
            .filter(|(_, flier)| flier.request != Request::Done)
            .map(|(_, flier)| flier.cursor.k)
            .min()
        else {
            return;
        };
        let due = |flier: &Flier, wanted: Request| flier.cursor.k == k && flier.request == wanted;
        if group.iter().any(|(_, flier)| due(flier, Request::Gravity)) {
            let gravity = group_gravity(group, track.positions_at(k), track, &mut oblate);
            for (lane, (_, flier)) in group.iter_mut().enumerate() {
                if due(flier, Request::Gravity) {
                    flier.cursor.gravity = Some(Gravity::lane(&gravity, lane));
                    flier.request = flier.advance(course, kicks);
                }
            }
            continue;
        }
        if steady::fly(group, k, course, kicks) {
            continue;
        }
        let mut kicked = [None; LANES];
        for (lane, (_, flier)) in group.iter_mut().enumerate() {
            if let Request::Kick { accel, dv } = flier.request
                && flier.cursor.k == k
            {
                kick_drift(&mut flier.state, accel, dv, h);
                kicked[lane] = Some(dv);
            }
        }
        let end = Instant::at(track, k + 1);
        let gravity = group_gravity(group, end.positions, track, &mut oblate);
        for (lane, (_, flier)) in group.iter_mut().enumerate() {
            if let Some(dv) = kicked[lane] {
                let contact = Contact {
                    dominant: flier.dominant,
                    track,
                    spec,
                };
                flier.cursor.gravity =
                    contact.settle(&mut flier.state, Gravity::lane(&gravity, lane), dv, h, &end);
                flier.cursor.k = k + 1;
                flier.request = flier.advance(course, kicks);
            }
        }
    }
}

/// Gravity on every ship of `group` from the bodies at `centers`; `oblate` holds
/// each lane's dominant body, as [`oblate_lanes`] filled it.
fn group_gravity(
    group: &[(usize, Flier)],
    centers: &[DVec3],
    track: &BodyTrack,
    oblate: &mut LaneOblate,
) -> LaneGravity {
    let mut at = LaneVec::default();
    for lane in 0..LANES {
        // Lanes past the group's end repeat its first ship, so every lane is finite.
        let (_, flier) = &group[if lane < group.len() { lane } else { 0 }];
        at.set(lane, flier.state.position);
        oblate
            .relative
            .set(lane, flier.state.position - centers[flier.dominant]);
    }
    lanes::gravity(&at, centers, &track.gms, &track.radii, oblate)
}

/// The dominant body of each ship of `group` as its lane's oblate body.
fn oblate_lanes(group: &[(usize, Flier)], track: &BodyTrack) -> LaneOblate {
    let mut oblate = LaneOblate::default();
    for lane in 0..LANES {
        let (_, flier) = &group[if lane < group.len() { lane } else { 0 }];
        let body = flier.dominant;
        oblate.pole.set(lane, track.poles[body]);
        oblate.mu[lane] = track.gms[body];
        oblate.j2_r2[lane] = track.j2_r2[body];
    }
    oblate
}

/// Gravity at a ship: the bodies' pull and its nearest surface.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Gravity {
    accel: DVec3,
    nearest: usize,
    altitude: f64,
}

impl Gravity {
    /// Lane `lane` of a group's gravity.
    fn lane(gravity: &LaneGravity, lane: usize) -> Self {
        Self {
            accel: gravity.accel.get(lane),
            nearest: gravity.nearest[lane],
            altitude: gravity.altitude[lane],
        }
    }
}

/// What a ship needs next to go on through the tick.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Request {
    /// Nothing: it has reached the tick's end.
    Done,
    /// Gravity at its position at the cursor's boundary.
    Gravity,
    /// A plain fine substep from the cursor's boundary: kick and drift, gravity at
    /// the end, kick.
    Kick {
        /// Gravity at the start.
        accel: DVec3,
        /// The engine's delta-v over the substep.
        dv: DVec3,
    },
}

/// Where a ship's flight through the tick stands.
#[derive(Clone, Copy, Debug)]
struct Cursor {
    /// The substep boundary it has reached.
    k: usize,
    /// Gravity at its position at `k`, once known.
    gravity: Option<Gravity>,
    /// Cleared once coasting declines: fine substeps to the tick's end.
    may_coast: bool,
}

impl Cursor {
    /// After a coast from `k` that reached `reached`: on from there, or, when it
    /// could not coast at all, on fine substeps to the tick's end.
    fn coasted(&mut self, reached: usize) {
        if reached > self.k {
            self.k = reached;
            self.gravity = None;
        } else {
            self.may_coast = false;
        }
    }
}

/// One ship on its way through a tick.
#[derive(Clone, Copy, Debug)]
struct Flier {
    state: ShipState,
    pilot: Pilot,
    dominant: usize,
    cursor: Cursor,
    request: Request,
}

impl Flier {
    fn new(state: ShipState, pilot: Pilot, dominant: usize, settings: CoastSettings) -> Self {
        Self {
            state,
            pilot,
            dominant,
            cursor: Cursor {
                k: 0,
                gravity: None,
                may_coast: settings.enabled,
            },
            request: Request::Done,
        }
    }

    /// Flies on alone to the tick's end, serving its own requests.
    fn finish(&mut self, course: Course, kicks: &mut KickCache) {
        let Course { track, spec, .. } = course;
        let h = track.substep;
        loop {
            let k = self.cursor.k;
            match self.request {
                Request::Done => return,
                Request::Gravity => {
                    self.cursor.gravity = Some(gravity_at(
                        self.state.position,
                        track.positions_at(k),
                        self.dominant,
                        track,
                    ));
                }
                Request::Kick { accel, dv } => {
                    kick_drift(&mut self.state, accel, dv, h);
                    let end = Instant::at(track, k + 1);
                    let gravity =
                        gravity_at(self.state.position, end.positions, self.dominant, track);
                    let contact = Contact {
                        dominant: self.dominant,
                        track,
                        spec,
                    };
                    self.cursor.gravity = contact.settle(&mut self.state, gravity, dv, h, &end);
                    self.cursor.k = k + 1;
                }
            }
            self.request = self.advance(course, kicks);
        }
    }

    /// Whether its substeps can fly a steady run ([`steady`]): flying, its rotation
    /// at rest on a goal fixed for the tick, so it cannot turn until the tick ends.
    fn is_steady(&self, spec: &ShipSpec) -> bool {
        self.state.flight == FlightState::Flying
            && self.pilot.fixed_goal().is_some_and(|goal| {
                at_rest(&self.state.rotation, goal, &spec.attitude, self.state.fuel)
            })
    }

    /// Whether the ship would coast from where it stands.
    fn wants_to_coast(&self, course: Course) -> bool {
        self.cursor.may_coast
            && self.cursor.k < course.track.substeps()
            && self.state.flight == FlightState::Flying
            && self.pilot.coasts(
                &self.state,
                self.dominant,
                course.track,
                self.cursor.k,
                course.spec,
            )
    }

    /// Flies on until the ship needs gravity or a plain fine substep, or the tick ends.
    fn advance(&mut self, course: Course, kicks: &mut KickCache) -> Request {
        let Course {
            track,
            spec,
            settings,
        } = course;
        let h = track.substep;
        let n = track.substeps();
        let (state, pilot, dominant) = (&mut self.state, self.pilot, self.dominant);
        let cursor = &mut self.cursor;
        while cursor.k < n {
            let k = cursor.k;
            let start = match state.flight {
                FlightState::Destroyed { body, offset } => {
                    // A wreck does nothing but turn with its body: straight to the end.
                    rest_on(state, body, offset, track, k, n);
                    cursor.k = n;
                    continue;
                }
                FlightState::Landed { body, offset } => {
                    rotate(state, pilot, dominant, track, k, spec, h);
                    if !lifts_off(state, pilot, body, offset, track, k, spec) {
                        rest_on(state, body, offset, track, k, k + 1);
                        cursor.k = k + 1;
                        continue;
                    }
                    state.flight = FlightState::Flying;
                    gravity_at(state.position, track.positions_at(k), dominant, track)
                }
                FlightState::Flying => {
                    if cursor.may_coast && pilot.coasts(state, dominant, track, k, spec) {
                        let reached = coast::coast(state, dominant, k, track, settings, kicks);
                        cursor.coasted(reached);
                        if cursor.k > k {
                            continue;
                        }
                    }
                    let Some(start) = cursor.gravity else {
                        return Request::Gravity;
                    };
                    rotate(state, pilot, dominant, track, k, spec, h);
                    start
                }
            };
            let dv = engine_delta_v(state, pilot.throttle, spec, h);
            let closing =
                (state.velocity - track.velocities_at(k)[start.nearest]).length() + dv.length();
            let travel = closing * h * SURFACE_LOOKAHEAD;
            if start.altitude > travel {
                return Request::Kick {
                    accel: start.accel,
                    dv,
                };
            }
            let contact = Contact {
                dominant,
                track,
                spec,
            };
            cursor.gravity = contact.near_surface(state, start, dv, k, travel);
            cursor.k = k + 1;
        }
        Request::Done
    }
}

impl Pilot {
    fn goal(
        &self,
        state: &ShipState,
        dominant: usize,
        track: &BodyTrack,
        k: usize,
    ) -> RotationGoal {
        match self.controls {
            Controls::Hold(mode) if self.fixed_goal().is_none() => {
                let r = state.position - track.positions_at(k)[dominant];
                let v = state.velocity - track.velocities_at(k)[dominant];
                mode.direction(r, v)
                    .map_or(RotationGoal::Rate(DVec3::ZERO), RotationGoal::Point)
            }
            _ => self.fixed_goal().unwrap_or(RotationGoal::Rate(DVec3::ZERO)),
        }
    }

    /// The rotation goal when it stays the same through the tick: all but the hold
    /// modes that follow the ship's motion about its dominant body.
    fn fixed_goal(&self) -> Option<RotationGoal> {
        match self.controls {
            Controls::Rates(rates) => Some(RotationGoal::Torque(rates)),
            Controls::Hold(HoldMode::Stability) => Some(RotationGoal::Rate(DVec3::ZERO)),
            Controls::Hold(mode) if mode.is_aimed() => Some(
                self.aim
                    .try_normalize()
                    .map_or(RotationGoal::Rate(DVec3::ZERO), RotationGoal::Point),
            ),
            Controls::Hold(_) => None,
        }
    }

    /// No thrust and no rotation: the ship's path is gravity's alone.
    fn coasts(
        &self,
        state: &ShipState,
        dominant: usize,
        track: &BodyTrack,
        k: usize,
        spec: &ShipSpec,
    ) -> bool {
        let thrusting = self.throttle > 0.0 && state.fuel > 0.0;
        !thrusting
            && at_rest(
                &state.rotation,
                self.goal(state, dominant, track, k),
                &spec.attitude,
                state.fuel,
            )
    }
}

/// Moves a resting ship from substep boundary `from` to `to` with the surface of
/// `body`, at its body-fixed `offset`: carried along and turned with the ground.
fn rest_on(
    state: &mut ShipState,
    body: usize,
    offset: DVec3,
    track: &BodyTrack,
    from: usize,
    to: usize,
) {
    let relative = track.orientation_at(body, to as f64 * track.substep) * offset;
    state.position = track.positions_at(to)[body] + relative;
    state.carry = DVec3::ZERO;
    state.velocity = track.velocities_at(to)[body] + track.angular_velocity(body).cross(relative);
    let turn = glam::DQuat::from_axis_angle(
        track.poles[body],
        track.spin_rates[body] * (to - from) as f64 * track.substep,
    );
    state.rotation.attitude = (turn * state.rotation.attitude).normalize();
}

/// A landed ship leaves the surface once its thrust outweighs local gravity.
fn lifts_off(
    state: &ShipState,
    pilot: Pilot,
    body: usize,
    offset: DVec3,
    track: &BodyTrack,
    k: usize,
    spec: &ShipSpec,
) -> bool {
    if pilot.throttle <= 0.0 || state.fuel <= 0.0 {
        return false;
    }
    let up = (track.orientation_at(body, k as f64 * track.substep) * offset).normalize_or_zero();
    let thrust_accel = pilot.throttle * spec.thrust / (spec.dry_mass + state.fuel);
    let gravity = track.gms[body] / offset.length_squared();
    thrust_accel * forward(state.rotation.attitude).dot(up) > gravity
}

fn rotate(
    state: &mut ShipState,
    pilot: Pilot,
    dominant: usize,
    track: &BodyTrack,
    k: usize,
    spec: &ShipSpec,
    h: f64,
) {
    let goal = pilot.goal(state, dominant, track, k);
    if at_rest(&state.rotation, goal, &spec.attitude, state.fuel) {
        return;
    }
    let inertia = cylinder_inertia(spec.dry_mass + state.fuel, spec.radius, spec.length);
    let actuation = step_rotation(
        &mut state.rotation,
        goal,
        inertia,
        &spec.attitude,
        state.fuel,
        h,
    );
    state.fuel = (state.fuel - actuation.fuel_used).max(0.0);
}

/// Burns the main engine for one substep; the returned delta-v is the rocket
/// equation's for the propellant burned, along the nose.
fn engine_delta_v(state: &mut ShipState, throttle: f64, spec: &ShipSpec, h: f64) -> DVec3 {
    engine_step(
        &mut state.fuel,
        throttle * spec.thrust,
        spec.exhaust_velocity,
        spec.dry_mass,
        forward(state.rotation.attitude),
        h,
    )
}

/// Gravity at `position` (point masses, plus the J2 of `dominant`) and the body
/// whose surface is nearest, with its altitude: one lane of [`group_gravity`].
#[inline]
fn gravity_at(position: DVec3, bodies: &[DVec3], dominant: usize, track: &BodyTrack) -> Gravity {
    let mut accel = DVec3::ZERO;
    let (mut nearest, mut altitude) = (0, f64::INFINITY);
    for (b, ((&center, &gm), &radius)) in
        bodies.iter().zip(&track.gms).zip(&track.radii).enumerate()
    {
        let d = center - position;
        let r2 = d.length_squared();
        let r = r2.sqrt();
        accel += d * (gm / (r2 * r));
        if r - radius < altitude {
            altitude = r - radius;
            nearest = b;
        }
    }
    let j2_r2 = track.j2_r2[dominant];
    if j2_r2 > 0.0 {
        accel += j2_acceleration(
            position - bodies[dominant],
            track.poles[dominant],
            track.gms[dominant],
            j2_r2,
        );
    }
    Gravity {
        accel,
        nearest,
        altitude,
    }
}

/// The first half of a fine substep: half the kick with half the engine's
/// delta-v, then the drift.
#[inline]
fn kick_drift(state: &mut ShipState, start_accel: DVec3, dv: DVec3, h: f64) {
    kick(&mut state.velocity, start_accel, dv, h);
    drift(&mut state.position, &mut state.carry, state.velocity, h);
}

/// The bodies at one moment of the tick.
struct Instant<'a> {
    /// Seconds into the tick.
    tau: f64,
    positions: &'a [DVec3],
    velocities: &'a [DVec3],
}

impl<'a> Instant<'a> {
    /// Substep boundary `k`.
    fn at(track: &'a BodyTrack, k: usize) -> Self {
        Self {
            tau: k as f64 * track.substep,
            positions: track.positions_at(k),
            velocities: track.velocities_at(k),
        }
    }
}

/// What a fine step needs to find and settle a touchdown.
struct Contact<'a> {
    dominant: usize,
    track: &'a BodyTrack,
    spec: &'a ShipSpec,
}

impl Contact<'_> {
    /// Substep `k` close to a surface, split into pieces so the touchdown speed is
    /// resolved; the gravity at its end, `None` when the ship touched the surface.
    fn near_surface(
        &self,
        state: &mut ShipState,
        start: Gravity,
        dv: DVec3,
        k: usize,
        travel: f64,
    ) -> Option<Gravity> {
        let track = self.track;
        let h = track.substep;
        let pieces = (travel / start.altitude.max(1.0))
            .clamp(1.0, MAX_SURFACE_PIECES)
            .ceil() as usize;
        let (mut positions, mut velocities) = (
            Vec::with_capacity(track.bodies),
            Vec::with_capacity(track.bodies),
        );
        let h_piece = h / pieces as f64;
        let dv_piece = dv / pieces as f64;
        let mut gravity = start;
        for piece in 1..=pieces {
            let fraction = piece as f64 / pieces as f64;
            track.interpolate(k, fraction, &mut positions, &mut velocities);
            let end = Instant {
                tau: (k as f64 + fraction) * h,
                positions: &positions,
                velocities: &velocities,
            };
            kick_drift(state, gravity.accel, dv_piece, h_piece);
            let end_gravity = gravity_at(state.position, end.positions, self.dominant, track);
            gravity = self.settle(state, end_gravity, dv_piece, h_piece, &end)?;
        }
        Some(gravity)
    }

    /// The second half of a fine substep ending at `end`, where the ship feels
    /// `gravity`: the closing kick, or the touchdown when it is below the nearest
    /// surface. Returns the gravity to start the next substep with, `None` when the
    /// ship touched down.
    fn settle(
        &self,
        state: &mut ShipState,
        gravity: Gravity,
        dv: DVec3,
        h: f64,
        end: &Instant,
    ) -> Option<Gravity> {
        kick(&mut state.velocity, gravity.accel, dv, h);
        self.touch(state, gravity, end)
    }

    /// A fine substep's end at `end` after its closing kick: the touchdown when the
    /// ship is below the nearest surface. Returns the gravity to start the next
    /// substep with, `None` when the ship touched down.
    fn touch(&self, state: &mut ShipState, gravity: Gravity, end: &Instant) -> Option<Gravity> {
        if gravity.altitude >= 0.0 {
            return Some(gravity);
        }
        let nearest = gravity.nearest;
        let ground = Ground {
            center: end.positions[nearest],
            velocity: end.velocities[nearest],
            spin: self.track.angular_velocity(nearest),
            radius: self.track.radii[nearest],
        };
        let Some(touch) = touchdown(
            state.position,
            state.velocity,
            &ground,
            self.spec.landing_speed,
        ) else {
            // Leaving the surface (a lift-off in progress): not a contact.
            return Some(gravity);
        };
        let offset = self.track.orientation_at(nearest, end.tau).inverse() * touch.surface;
        state.flight = if touch.landed {
            FlightState::Landed {
                body: nearest,
                offset,
            }
        } else {
            FlightState::Destroyed {
                body: nearest,
                offset,
            }
        };
        state.position = ground.center + touch.surface;
        state.carry = DVec3::ZERO;
        state.velocity = touch.ground_velocity;
        None
    }
}
