//! Shared time warp: every player shares one clock, and one policy sets its rate
//! (docs/spec.md, "Shared time warp").
//!
//! The rate is the lowest warp requested by the active players online, capped by
//! the admin's time scale; with no active player online the admin's time scale
//! runs. It drops to the safe rate while any ship thrusts or an online player's
//! ship is low and fast over a surface, slows step by step as a planned burn
//! draws near (a tick never covers more than a tenth of the time left), and an
//! admin can force a rate over all of it. The clock slows at once and speeds up only after the higher rate has held
//! for a while, so a throttle blip or a player coming and going does not make it
//! flap. The choice and its reason go to every client (`Event::Clock`).

use bevy::prelude::*;
use galaxy_shared::components::{FlightState, Fuel, Position, Ship, Throttle, Velocity};
use galaxy_shared::physics::orbit::OrbitalElements;
use galaxy_shared::protocol::WarpReason;

use metrics::gauge;

use crate::SimSystems;
use crate::config::{Config, ShipSpec};
use crate::ephemeris::Bodies;
use crate::roster::Roster;
use crate::ships::Owner;
use crate::ships::executor::ManoeuvreSchedule;
use crate::ships::flight::DominantBody;
use crate::telemetry;
use crate::tick::{SimClock, plan_tick};

/// Adds the policy to a server with players (the network plugin's roster).
pub fn plugin(app: &mut App) {
    // After every input of the tick (a throttle opened this tick holds the clock
    // this tick), before the plan that spends the rate.
    app.init_resource::<WarpChoice>().add_systems(
        FixedUpdate,
        choose_rate.in_set(SimSystems::Plan).before(plan_tick),
    );
}

/// Why a ship holds the clock at the safe rate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hold {
    /// Its engine is burning.
    Thrusting,
    /// It is near a surface, fast, on a path that meets it.
    LowAndFast,
}

/// What the policy weighs at one tick.
#[derive(Clone, Debug, PartialEq)]
pub struct Situation<'a> {
    /// The admin's time scale: the cap, or the rate itself when forced.
    pub admin_scale: f64,
    /// The admin forced the rate.
    pub forced: bool,
    /// The requests of the active players online, by name.
    pub requests: &'a [(&'a str, f64)],
    /// A ship that holds the clock at the safe rate: its owner's name and why.
    pub hold: Option<(&'a str, Hold)>,
    /// The rate while a ship holds the clock.
    pub safe_rate: f64,
    /// A planned burn draws near: its ship's owner and the fastest rate that
    /// still starts it on time.
    pub manoeuvre: Option<(&'a str, f64)>,
}

/// Ticks the clock takes to reach the next moment a burn executor acts: each
/// covers at most this fraction of the time left, so the rate falls smoothly
/// and the last ticks before the turn or the ignition are short.
const TICKS_TO_MANOEUVRE: f64 = 10.0;

/// The fastest rate at which a tick of `tick_rate` Hz ends no more than a tenth
/// of the way to a burn executor's next act, `to_go` game seconds away (`None`:
/// busy turning or burning now), and never under `safe_rate`.
pub fn manoeuvre_rate(to_go: Option<f64>, tick_rate: f64, safe_rate: f64) -> f64 {
    to_go.map_or(safe_rate, |t| {
        (t * tick_rate / TICKS_TO_MANOEUVRE).max(safe_rate)
    })
}

/// The rate the policy wants now, and why.
pub fn target(situation: &Situation) -> (f64, WarpReason) {
    let cap = situation.admin_scale;
    if situation.forced {
        return (cap, WarpReason::Forced);
    }
    let lowest = situation
        .requests
        .iter()
        .min_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.cmp(b.0)));
    let (rate, reason) = match lowest {
        None => (cap, WarpReason::Unattended),
        Some(&(name, request)) if request < cap => (request, WarpReason::Request(name.to_owned())),
        Some(_) => (cap, WarpReason::Cap),
    };
    let (rate, reason) = match situation.hold {
        Some((name, hold)) if situation.safe_rate < rate => {
            let name = name.to_owned();
            let reason = match hold {
                Hold::Thrusting => WarpReason::Thrusting(name),
                Hold::LowAndFast => WarpReason::LowAndFast(name),
            };
            (situation.safe_rate, reason)
        }
        _ => (rate, reason),
    };
    match situation.manoeuvre {
        Some((name, limit)) if limit < rate => (limit, WarpReason::Manoeuvre(name.to_owned())),
        _ => (rate, reason),
    }
}

/// The rate in force and why, with the hysteresis that keeps it from flapping.
#[derive(Resource, Clone, Debug, PartialEq)]
pub struct WarpChoice {
    /// Game seconds per real second.
    pub rate: f64,
    /// Why.
    pub reason: WarpReason,
    /// Since when (real s) a higher rate than `rate` has been wanted.
    rising_since: Option<f64>,
}

impl Default for WarpChoice {
    fn default() -> Self {
        Self {
            rate: galaxy_shared::protocol::MIN_WARP_REQUEST,
            reason: WarpReason::Unattended,
            rising_since: None,
        }
    }
}

impl WarpChoice {
    /// Takes the policy's `target` at real time `now`: a lower rate at once, a
    /// higher one once it has been wanted for `raise_after` seconds without a break.
    /// An admin's forced rate applies at once either way. Whether the rate or the
    /// reason changed.
    pub fn update(&mut self, target: (f64, WarpReason), now: f64, raise_after: f64) -> bool {
        let (rate, reason) = target;
        if rate > self.rate && reason != WarpReason::Forced {
            let since = *self.rising_since.get_or_insert(now);
            if now - since < raise_after {
                return false;
            }
        }
        self.rising_since = None;
        let changed = rate != self.rate || reason != self.reason;
        self.rate = rate;
        self.reason = reason;
        changed
    }
}

/// The first ship found that holds the clock at the safe rate. Any ship under
/// thrust does (a burn flown for an offline player too); only online players'
/// ships hold it for being low and fast, since nobody watches an offline one.
#[derive(bevy::ecs::system::SystemParam)]
struct Holds<'w, 's> {
    bodies: Res<'w, Bodies>,
    spec: Res<'w, ShipSpec>,
    ships: Query<
        'w,
        's,
        (
            &'static Owner,
            &'static Throttle,
            &'static Fuel,
            &'static FlightState,
            &'static Position,
            &'static Velocity,
            &'static DominantBody,
        ),
        With<Ship>,
    >,
}

impl Holds<'_, '_> {
    /// The owner of the ship whose burn comes next, and the rate that meets it.
    fn manoeuvre<'a>(
        &'a self,
        schedule: &ManoeuvreSchedule,
        now: f64,
        tick_rate: f64,
        safe_rate: f64,
    ) -> Option<(&'a str, f64)> {
        let (at, ship) = schedule.next?;
        let name = self
            .ships
            .get(ship)
            .map_or("a ship", |(owner, ..)| &*owner.name);
        let to_go = (!schedule.busy).then_some(at - now);
        Some((name, manoeuvre_rate(to_go, tick_rate, safe_rate)))
    }

    fn find<'a>(&'a self, roster: &Roster, low_altitude: f64) -> Option<(&'a str, Hold)> {
        self.ships
            .iter()
            .filter(|(_, _, _, flight, ..)| matches!(flight, FlightState::Flying))
            .find_map(|(owner, throttle, fuel, _, position, velocity, dominant)| {
                if throttle.0 > 0.0 && fuel.0 > 0.0 {
                    return Some((&*owner.name, Hold::Thrusting));
                }
                let online = roster.0.contains_key(&owner.player);
                (online && self.low_and_fast(position.0, velocity.0, dominant.0, low_altitude))
                    .then_some((&*owner.name, Hold::LowAndFast))
            })
    }

    fn low_and_fast(
        &self,
        position: glam::DVec3,
        velocity: glam::DVec3,
        body: usize,
        low_altitude: f64,
    ) -> bool {
        let state = &self.bodies.state;
        let (Some(&center), Some(&body_velocity), Some(&gm), Some(&radius)) = (
            state.positions.get(body),
            state.velocities.get(body),
            state.gms.get(body),
            self.bodies.catalog.radii.get(body),
        ) else {
            return false;
        };
        low_and_fast(
            position - center,
            velocity - body_velocity,
            gm,
            radius,
            low_altitude,
            self.spec.landing_speed,
        )
    }
}

/// Whether a ship at `r`, `v` relative to a body is within `low_altitude` of its
/// surface, faster than `landing_speed`, on a conic whose periapsis is below the
/// surface: warping it would skip the last seconds before it lands or crashes.
pub fn low_and_fast(
    r: glam::DVec3,
    v: glam::DVec3,
    gm: f64,
    radius: f64,
    low_altitude: f64,
    landing_speed: f64,
) -> bool {
    r.length() - radius < low_altitude
        && v.length() > landing_speed
        && OrbitalElements::from_state(r, v, gm).periapsis < radius
}

fn choose_rate(
    mut clock: ResMut<SimClock>,
    mut choice: ResMut<WarpChoice>,
    roster: Res<Roster>,
    config: Res<Config>,
    holds: Holds,
    schedule: Res<ManoeuvreSchedule>,
    time: Res<Time<Real>>,
) {
    let now = time.elapsed_secs_f64();
    let warp = &config.warp;
    let requests: Vec<(&str, f64)> = roster
        .0
        .values()
        .filter(|player| now - player.last_active < warp.idle_after_s)
        .map(|player| (player.name.as_str(), player.warp_request))
        .collect();
    let situation = Situation {
        admin_scale: clock.time_scale,
        forced: clock.forced,
        requests: &requests,
        hold: holds.find(&roster, warp.low_altitude_m),
        safe_rate: warp.safe_rate,
        manoeuvre: holds.manoeuvre(
            &schedule,
            clock.game_time,
            config.tick.rate_hz,
            warp.safe_rate,
        ),
    };
    // The first tick (after a start or a restore) takes the rate as it is.
    let raise_after = if clock.warp.is_none() {
        0.0
    } else {
        warp.raise_after_s
    };
    if choice.update(target(&situation), now, raise_after) {
        info!(rate = choice.rate, reason = %choice.reason, "warp changed");
    }
    clock.warp = Some(choice.rate);
    gauge!(telemetry::WARP).set(choice.rate);
}

#[cfg(test)]
mod tests {
    use super::*;
    use galaxy_shared::physics::orbit::circular_speed;
    use glam::DVec3;

    fn situation<'a>(requests: &'a [(&'a str, f64)]) -> Situation<'a> {
        Situation {
            admin_scale: 1000.0,
            forced: false,
            requests,
            hold: None,
            safe_rate: 1.0,
            manoeuvre: None,
        }
    }

    #[test]
    fn the_lowest_active_request_under_the_cap_wins() {
        let requests = [("ann", 500.0), ("bob", 50.0), ("cy", 5000.0)];
        assert_eq!(
            target(&situation(&requests)),
            (50.0, WarpReason::Request("bob".into()))
        );
        assert_eq!(
            target(&situation(&[("cy", 5000.0)])),
            (1000.0, WarpReason::Cap),
            "requests above the cap get the cap"
        );
        assert_eq!(
            target(&situation(&[])),
            (1000.0, WarpReason::Unattended),
            "with nobody active the admin's time scale runs"
        );
        assert_eq!(
            target(&situation(&[("dee", 1.0), ("ann", 1.0)])),
            (1.0, WarpReason::Request("ann".into())),
            "ties name the same player every time"
        );
    }

    #[test]
    fn a_holding_ship_drops_the_clock_to_the_safe_rate_unless_forced() {
        let requests = [("ann", 500.0)];
        let mut held = situation(&requests);
        held.hold = Some(("bob", Hold::Thrusting));
        assert_eq!(target(&held), (1.0, WarpReason::Thrusting("bob".into())));
        held.hold = Some(("bob", Hold::LowAndFast));
        assert_eq!(target(&held), (1.0, WarpReason::LowAndFast("bob".into())));
        held.safe_rate = 800.0;
        assert_eq!(
            target(&held),
            (500.0, WarpReason::Request("ann".into())),
            "a safe rate above the rate changes nothing"
        );
        held.forced = true;
        assert_eq!(target(&held), (1000.0, WarpReason::Forced));
    }

    #[test]
    fn a_coming_burn_slows_the_clock_a_tenth_of_the_way_at_a_time() {
        let requests = [("ann", 500.0)];
        let mut near = situation(&requests);
        near.manoeuvre = Some(("bob", manoeuvre_rate(Some(100.0), 30.0, 1.0)));
        assert_eq!(
            target(&near),
            (300.0, WarpReason::Manoeuvre("bob".into())),
            "100 s away, a 300× tick covers a tenth of it: ann's 500× is too fast"
        );
        near.manoeuvre = Some(("bob", manoeuvre_rate(Some(1000.0), 30.0, 1.0)));
        assert_eq!(
            target(&near),
            (500.0, WarpReason::Request("ann".into())),
            "far off, the burn does not slow the clock"
        );
        near.manoeuvre = Some(("bob", manoeuvre_rate(Some(0.01), 30.0, 1.0)));
        assert_eq!(target(&near).0, 1.0, "never slower than the safe rate");
        near.manoeuvre = Some(("bob", manoeuvre_rate(None, 30.0, 1.0)));
        assert_eq!(target(&near), (1.0, WarpReason::Manoeuvre("bob".into())));
        near.forced = true;
        assert_eq!(target(&near), (1000.0, WarpReason::Forced));
    }

    #[test]
    fn the_clock_slows_at_once_and_speeds_up_after_the_hold() {
        let mut choice = WarpChoice::default();
        choice.update((100.0, WarpReason::Cap), 0.0, 3.0);
        assert_eq!(choice.rate, 1.0, "the first raise waits too");
        choice.update((100.0, WarpReason::Cap), 3.0, 3.0);
        assert_eq!((choice.rate, &choice.reason), (100.0, &WarpReason::Cap));
        let thrust = WarpReason::Thrusting("bob".into());
        choice.update((1.0, thrust.clone()), 3.1, 3.0);
        assert_eq!(choice.rate, 1.0, "slows at once");
        // The throttle blips off and on: the clock does not flap.
        choice.update((100.0, WarpReason::Cap), 4.0, 3.0);
        choice.update((1.0, thrust.clone()), 5.0, 3.0);
        choice.update((100.0, WarpReason::Cap), 6.0, 3.0);
        choice.update((100.0, WarpReason::Cap), 8.9, 3.0);
        assert_eq!((choice.rate, &choice.reason), (1.0, &thrust));
        choice.update((100.0, WarpReason::Cap), 9.0, 3.0);
        assert_eq!(
            choice.rate, 100.0,
            "three quiet seconds after the last burn"
        );
        choice.update((5000.0, WarpReason::Forced), 9.1, 3.0);
        assert_eq!(
            choice.rate, 5000.0,
            "an admin's forced rate applies at once"
        );
    }

    #[test]
    fn only_a_path_into_the_surface_near_it_is_low_and_fast() {
        let (gm, radius) = (3.986_004_418e14, 6.371e6);
        let landing = 10.0;
        let low = 100_000.0;
        let r = DVec3::new(radius + 50_000.0, 0.0, 0.0);
        let orbit = DVec3::new(0.0, circular_speed(r.length(), gm), 0.0);
        assert!(
            !low_and_fast(r, orbit, gm, radius, low, landing),
            "a circular orbit 50 km up never meets the surface"
        );
        let falling = DVec3::new(-300.0, 1_000.0, 0.0);
        assert!(low_and_fast(r, falling, gm, radius, low, landing));
        let high = DVec3::new(radius + 200_000.0, 0.0, 0.0);
        assert!(
            !low_and_fast(high, falling, gm, radius, low, landing),
            "above the low band"
        );
        let slow = DVec3::new(-3.0, 1.0, 0.0);
        assert!(
            !low_and_fast(r, slow, gm, radius, low, landing),
            "slower than a landing"
        );
    }
}
