//! Steady runs: the fine substeps of ships that do not turn and are far from any
//! surface, flown entirely in vector lanes.
//!
//! Most fine substeps repeat the same scalar decisions. A ship whose rotation is at
//! rest on a goal fixed for the tick does not turn; its engine burns at a steady
//! throttle; the nearest surface is far. For such ships of a group, the kicks,
//! drift and gravity of every substep run over all lanes at once, compiled for the
//! widest vector instructions this CPU has. A lane leaves the run at the first
//! boundary where a scalar decision could come out differently (a surface close, a
//! tank run dry so the ship would coast, the tick's end) and goes on from there on
//! the one-ship path. Every operation is the one-ship path's, in its order, so a
//! ship's path is the same bit for bit.

use galaxy_shared::physics::lanes::{self, LANES, Lane, LaneOblate, LaneVec};
use galaxy_shared::physics::leapfrog::{drift_lanes, kick_lanes};
use galaxy_shared::physics::rocket::engine_step;
use glam::DVec3;
use pulp::Simd;

use super::{Contact, Course, Flier, Gravity, Instant, Request, SURFACE_LOOKAHEAD};
use crate::ships::coast::KickCache;

/// Flies the steady ships of `group` that stand at boundary `k` with a plain fine
/// substep to take, for as long as they stay steady; false when none does.
pub(super) fn fly(
    group: &mut [(usize, Flier)],
    k: usize,
    course: Course,
    kicks: &mut KickCache,
) -> bool {
    let Some(run) = Run::join(group, k, course) else {
        return false;
    };
    pulp::Arch::new().dispatch(Fly {
        run,
        group,
        course,
        kicks,
    });
    true
}

/// Ships of a group in a steady run, one lane each.
struct Run {
    /// Each lane's ship, as an index into the group.
    members: [usize; LANES],
    /// Lanes still in the run; padding lanes never are.
    flying: [bool; LANES],
    /// The substep boundary every lane stands at.
    k: usize,
    position: LaneVec,
    carry: LaneVec,
    velocity: LaneVec,
    /// Gravity at the start of the substep.
    accel: LaneVec,
    /// The engine's delta-v over the substep.
    dv: LaneVec,
    fuel: Lane,
    /// The engine's thrust (N).
    force: Lane,
    /// Where the nose points (the rotation does not change in a run).
    nose: [DVec3; LANES],
    /// Each lane's dominant body.
    dominant: [usize; LANES],
    oblate: LaneOblate,
}

impl Run {
    /// The steady ships of `group` at boundary `k`, or `None` when there are none.
    fn join(group: &[(usize, Flier)], k: usize, course: Course) -> Option<Self> {
        let mut members = [0; LANES];
        let mut count = 0;
        for (index, (_, flier)) in group.iter().enumerate() {
            if flier.cursor.k == k
                && matches!(flier.request, Request::Kick { .. })
                && flier.is_steady(course.spec)
            {
                members[count] = index;
                count += 1;
            }
        }
        if count == 0 {
            return None;
        }
        let track = course.track;
        let mut run = Self {
            members,
            flying: std::array::from_fn(|lane| lane < count),
            k,
            position: LaneVec::default(),
            carry: LaneVec::default(),
            velocity: LaneVec::default(),
            accel: LaneVec::default(),
            dv: LaneVec::default(),
            fuel: [0.0; LANES],
            force: [0.0; LANES],
            nose: [DVec3::ZERO; LANES],
            dominant: [0; LANES],
            oblate: LaneOblate::default(),
        };
        for lane in 0..LANES {
            // Padding lanes repeat the first ship, so every lane stays finite.
            let index = if lane < count {
                members[lane]
            } else {
                members[0]
            };
            run.members[lane] = index;
            let flier = &group[index].1;
            let Request::Kick { accel, dv } = flier.request else {
                continue;
            };
            let state = &flier.state;
            run.position.set(lane, state.position);
            run.carry.set(lane, state.carry);
            run.velocity.set(lane, state.velocity);
            run.accel.set(lane, accel);
            run.dv.set(lane, dv);
            run.fuel[lane] = state.fuel;
            run.force[lane] = flier.pilot.throttle * course.spec.thrust;
            run.nose[lane] = galaxy_shared::physics::attitude::forward(state.rotation.attitude);
            let body = flier.dominant;
            run.dominant[lane] = body;
            run.oblate.pole.set(lane, track.poles[body]);
            run.oblate.mu[lane] = track.gms[body];
            run.oblate.j2_r2[lane] = track.j2_r2[body];
        }
        Some(run)
    }
}

/// A steady run, compiled once for each instruction set `pulp` knows.
struct Fly<'a, 'c> {
    run: Run,
    group: &'a mut [(usize, Flier)],
    course: Course<'c>,
    kicks: &'a mut KickCache,
}

impl pulp::WithSimd for Fly<'_, '_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) {
        let Fly {
            mut run,
            group,
            course,
            kicks,
        } = self;
        let Course { track, spec, .. } = course;
        let (h, n) = (track.substep, track.substeps());
        while run.flying.contains(&true) {
            kick_lanes(&mut run.velocity, &run.accel, &run.dv, h);
            drift_lanes(&mut run.position, &mut run.carry, &run.velocity, h);
            let k = run.k + 1;
            let centers = track.positions_at(k);
            for (lane, &body) in run.dominant.iter().enumerate() {
                let relative = run.position.get(lane) - centers[body];
                run.oblate.relative.set(lane, relative);
            }
            let gravity = lanes::gravity_with(
                simd,
                &run.position,
                centers,
                &track.gms,
                &track.radii,
                &run.oblate,
            );
            kick_lanes(&mut run.velocity, &gravity.accel, &run.dv, h);
            run.k = k;
            let velocities = track.velocities_at(k);
            for lane in 0..LANES {
                if !run.flying[lane] {
                    continue;
                }
                let flier = &group[run.members[lane]].1;
                let (fuel_before, mut fuel) = (run.fuel[lane], run.fuel[lane]);
                // What the one-ship path decides at this boundary: it would coast
                // once the tank is dry, and it splits the substep near a surface.
                let coasts =
                    flier.cursor.may_coast && !(flier.pilot.throttle > 0.0 && fuel_before > 0.0);
                let dv = engine_step(
                    &mut fuel,
                    run.force[lane],
                    spec.exhaust_velocity,
                    spec.dry_mass,
                    run.nose[lane],
                    h,
                );
                let closing = (run.velocity.get(lane) - velocities[gravity.nearest[lane]]).length()
                    + dv.length();
                let far = gravity.altitude[lane] > closing * h * SURFACE_LOOKAHEAD;
                if k < n && !coasts && far {
                    run.fuel[lane] = fuel;
                    run.dv.set(lane, dv);
                    run.accel.set(lane, gravity.accel.get(lane));
                    continue;
                }
                run.flying[lane] = false;
                let (_, flier) = &mut group[run.members[lane]];
                flier.state.position = run.position.get(lane);
                flier.state.carry = run.carry.get(lane);
                flier.state.velocity = run.velocity.get(lane);
                flier.state.fuel = fuel_before;
                let contact = Contact {
                    dominant: flier.dominant,
                    track,
                    spec,
                };
                flier.cursor.gravity = contact.touch(
                    &mut flier.state,
                    Gravity::lane(&gravity, lane),
                    &Instant::at(track, k),
                );
                flier.cursor.k = k;
                flier.request = flier.advance(course, kicks);
            }
        }
    }
}
