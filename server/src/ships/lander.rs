//! The landing autopilot: from orbit to a gentle touchdown on an airless body,
//! flown by the server with or without its player online.
//!
//! It plans a deorbit burn that lowers the periapsis to just above the ground and
//! hands it to the burn executor; coasts down with the engine off; starts braking
//! at the periapsis, or earlier on a path that meets the ground, at the last
//! moment it safely can (a suicide burn with a margin, timed by flying the braking
//! burn ahead in a small simulation each tick), with the nose against the speed
//! over the turning ground and the throttle that the same simulation says stops
//! the ship just above the ground; and ends with a vertical descent, slower the
//! lower, to about 1 m/s at touchdown. It refuses a body with an
//! atmosphere (nothing here models one) and a tank that cannot pay for the whole
//! descent.

use bevy::prelude::*;
use galaxy_shared::components::{
    Aim, Attitude, Controls, FlightState, Fuel, HoldMode, Position, Ship, Throttle, Velocity,
};
use galaxy_shared::flight_plan::{Burn, FlightPlan, LandingPhase, Node};
use galaxy_shared::physics::attitude::pointing_error;
use galaxy_shared::physics::kepler::drift;
use galaxy_shared::physics::orbit::OrbitalElements;
use galaxy_shared::physics::rocket::delta_v;
use glam::DVec3;

use super::events::{ShipEvent, ShipEventKind};
use super::executor::{ManoeuvreSchedule, TURN_LEAD, fly_burns, hand_back, schedule_burns};
use crate::SimSystems;
use crate::config::ShipSpec;
use crate::ephemeris::Bodies;
use crate::tick::{SimClock, TickPlan};

pub(super) fn plugin(app: &mut App) {
    app.add_systems(
        FixedUpdate,
        (
            fly_landings.in_set(SimSystems::Plan).after(fly_burns),
            schedule_landings
                .in_set(SimSystems::Publish)
                .after(schedule_burns),
        ),
    );
}

/// Present on a ship while the landing autopilot flies it.
#[derive(Component, Clone, Copy, Debug, PartialEq)]
pub struct Landing {
    /// N-body slot of the body landed on.
    pub body: usize,
    /// Where it is.
    pub phase: LandingPhase,
    /// Speed over the ground at the last tick aloft (m/s): the touchdown speed
    /// once the ship has landed.
    pub speed: f64,
    /// When it next needs short ticks (game s): the turn before braking.
    pub next_act: f64,
}

/// Periapsis the deorbit burn aims at, as a fraction of the body's radius above
/// the ground (the Moon: 8.7 km), and at least this many metres.
const PERIAPSIS_FRACTION: f64 = 0.005;
const PERIAPSIS_FLOOR: f64 = 3_000.0;
/// Braking is timed as if the engine gave this fraction of full thrust: the rest
/// is the margin that absorbs what the small simulation leaves out.
const BRAKE_THROTTLE: f64 = 0.8;
/// Braking aims to stop this high over the ground (m), and hands over to the
/// descent below [`DESCENT_ALTITUDE`] whatever its speed.
const BRAKE_END_ALTITUDE: f64 = 250.0;
const DESCENT_ALTITUDE: f64 = 150.0;
/// Speed over the ground at which braking hands over to the vertical descent (m/s).
const DESCENT_SPEED: f64 = 10.0;
/// The descent falls at `1 + altitude / 10` m/s, at most [`DESCENT_SPEED`] + 2.
const DESCENT_RATE_PER_M: f64 = 0.1;
const TOUCHDOWN_SPEED: f64 = 1.0;
/// The descent corrects its velocity over this many seconds (at least two ticks).
const DESCENT_RESPONSE: f64 = 2.0;
/// Steepest tilt from the vertical in the descent (rad).
const DESCENT_TILT: f64 = 0.5;
/// The engine runs at full throttle with the nose this close to the aim (rad),
/// and less further off, down to nothing at three times this: a descent that
/// turns from braking to upright keeps its engine.
const ALIGNED: f64 = 0.1;
/// The braking simulation's step (s), and the most steps it takes (a 2 000 s burn).
const SIM_STEP: f64 = 0.5;
const SIM_STEPS: usize = 4_000;
/// Delta-v kept back beyond the deorbit and the speed at periapsis: gravity
/// losses of braking and the descent's hover (fraction, and m/s).
const RESERVE_FRACTION: f64 = 0.15;
const RESERVE: f64 = 100.0;

/// A ship over a body: its state relative to the body's centre and the body's
/// numbers.
#[derive(Clone, Copy, Debug)]
struct Over {
    r: DVec3,
    v: DVec3,
    mu: f64,
    radius: f64,
    spin: DVec3,
}

impl Over {
    fn new(
        bodies: &Bodies,
        body: usize,
        position: DVec3,
        velocity: DVec3,
        now: f64,
    ) -> Option<Self> {
        let state = &bodies.state;
        Some(Self {
            r: position - *state.positions.get(body)?,
            v: velocity - *state.velocities.get(body)?,
            mu: *state.gms.get(body)?,
            radius: *bodies.catalog.radii.get(body)?,
            spin: bodies.catalog.rotations.get(body)?.angular_velocity(now),
        })
    }

    fn altitude(&self) -> f64 {
        self.r.length() - self.radius
    }

    /// Velocity over the turning ground below.
    fn ground_velocity(&self) -> DVec3 {
        self.v - self.spin.cross(self.r)
    }
}

/// The engine as the autopilot plans with it.
#[derive(Clone, Copy, Debug)]
struct Engine {
    dry: f64,
    thrust: f64,
    exhaust: f64,
}

impl Engine {
    fn of(spec: &ShipSpec) -> Self {
        Self {
            dry: spec.dry_mass,
            thrust: spec.thrust,
            exhaust: spec.exhaust_velocity,
        }
    }
}

/// Plans a landing on `body` for a ship at barycentric `position`, `velocity`
/// with `fuel` kg: the landing state and, when the orbit does not already meet the
/// ground, the deorbit node to fly first. Refused, with the reason, for a body
/// with an atmosphere, a ship already on the ground or a tank too small.
pub fn plan_landing(
    bodies: &Bodies,
    body: usize,
    position: DVec3,
    velocity: DVec3,
    fuel: f64,
    now: f64,
    spec: &ShipSpec,
) -> Result<(Landing, Option<Node>), String> {
    let name = bodies.catalog.names.get(body).cloned().unwrap_or_default();
    if !bodies.catalog.airless.get(body).copied().unwrap_or(false) {
        return Err(format!(
            "the landing autopilot lands only on airless bodies, not {name}"
        ));
    }
    let over = Over::new(bodies, body, position, velocity, now).ok_or("no such body")?;
    let goal = over.radius + periapsis_altitude(over.radius);
    let orbit = OrbitalElements::from_state(over.r, over.v, over.mu);
    let at = now + TURN_LEAD + 60.0;
    let (r, v) = drift(over.r, over.v, over.mu, at - now);
    let deorbit = if orbit.periapsis > goal {
        Some(retrograde_to_periapsis(r, v, over.mu, goal).ok_or_else(|| {
            format!("no retrograde burn brings the periapsis down to {name}'s surface")
        })?)
    } else {
        None
    };
    let lowered = deorbit.unwrap_or(0.0);
    // What braking must take off: the speed at the periapsis (the ground's own
    // turning, a few m/s, is left to the reserve).
    let v_after = v - v.normalize_or_zero() * lowered;
    let low = OrbitalElements::from_state(r, v_after, over.mu);
    let rp = low.periapsis.max(over.radius);
    let energy = 0.5 * v_after.length_squared() - over.mu / r.length();
    let speed_low = (2.0 * (energy + over.mu / rp)).max(0.0).sqrt();
    let needed = lowered + speed_low * (1.0 + RESERVE_FRACTION) + RESERVE;
    let has = delta_v(spec.exhaust_velocity, spec.dry_mass + fuel, spec.dry_mass);
    if has < needed {
        return Err(format!(
            "not enough fuel to land on {name}: it takes about {needed:.0} m/s, the tank holds {has:.0} m/s"
        ));
    }
    let landing = Landing {
        body,
        phase: if deorbit.is_some() {
            LandingPhase::Deorbit
        } else {
            LandingPhase::Coast
        },
        speed: over.ground_velocity().length(),
        next_act: now,
    };
    let node = deorbit.map(|dv| Node {
        at,
        prograde: -dv,
        normal: 0.0,
        radial: 0.0,
    });
    Ok((landing, node))
}

/// Height of the periapsis the deorbit burn aims at over a body of `radius`.
fn periapsis_altitude(radius: f64) -> f64 {
    (PERIAPSIS_FRACTION * radius).max(PERIAPSIS_FLOOR)
}

/// The retrograde delta-v at `r`, `v` that puts the periapsis at `goal` (m from
/// the centre); `None` when even stopping dead would not.
fn retrograde_to_periapsis(r: DVec3, v: DVec3, mu: f64, goal: f64) -> Option<f64> {
    let periapsis =
        |dv: f64| OrbitalElements::from_state(r, v - v.normalize_or_zero() * dv, mu).periapsis;
    let (mut low, mut high) = (0.0, v.length());
    if periapsis(high) > goal {
        return None;
    }
    for _ in 0..60 {
        let mid = 0.5 * (low + high);
        if periapsis(mid) > goal {
            low = mid;
        } else {
            high = mid;
        }
    }
    Some(high)
}

/// Flies a braking burn from `over` at a steady `throttle`, the nose against the
/// speed over the ground, and says how high over the ground the ship is when that
/// speed falls to [`DESCENT_SPEED`]: below zero if it hits the ground first, and
/// −∞ if the tank runs dry or the burn never ends.
fn braking_stop_altitude(over: &Over, mass: f64, engine: &Engine, throttle: f64) -> f64 {
    let (mut r, mut v, mut mass) = (over.r, over.v, mass);
    let flow = throttle * engine.thrust / engine.exhaust;
    for _ in 0..SIM_STEPS {
        let ground = v - over.spin.cross(r);
        let altitude = r.length() - over.radius;
        if altitude < 0.0 || ground.length() < DESCENT_SPEED {
            return altitude;
        }
        if mass <= engine.dry {
            return f64::NEG_INFINITY;
        }
        let push = -ground.normalize() * (throttle * engine.thrust / mass);
        let a = -over.mu * r / r.length().powi(3) + push;
        v += a * SIM_STEP;
        r += v * SIM_STEP;
        mass -= flow * SIM_STEP;
    }
    f64::NEG_INFINITY
}

/// The steady throttle under which braking from `over` stops at
/// [`BRAKE_END_ALTITUDE`]: more throttle stops higher.
fn braking_throttle(over: &Over, mass: f64, engine: &Engine) -> f64 {
    let short = |u: f64| braking_stop_altitude(over, mass, engine, u) < BRAKE_END_ALTITUDE;
    if short(1.0) {
        return 1.0;
    }
    let (mut low, mut high) = (0.0, 1.0);
    for _ in 0..12 {
        let mid = 0.5 * (low + high);
        if short(mid) {
            low = mid;
        } else {
            high = mid;
        }
    }
    high
}

/// Seconds to the next periapsis of a closed orbit (or the only one of an open
/// orbit still ahead); `None` once an open orbit has passed it.
fn time_to_periapsis(r: DVec3, v: DVec3, mu: f64) -> Option<f64> {
    let orbit = OrbitalElements::from_state(r, v, mu);
    let (e, nu) = (orbit.eccentricity, orbit.true_anomaly);
    let a = orbit.semi_major_axis;
    if e < 1.0 {
        let big_e = 2.0 * (((1.0 - e) / (1.0 + e)).sqrt() * (0.5 * nu).tan()).atan();
        let mean = big_e - e * big_e.sin();
        let n = (mu / a.powi(3)).sqrt();
        Some((std::f64::consts::TAU - mean).rem_euclid(std::f64::consts::TAU) / n)
    } else if r.dot(v) < 0.0 {
        let h = 2.0 * (((e - 1.0) / (e + 1.0)).sqrt() * (0.5 * nu).tan()).atanh();
        let mean = e * h.sinh() - h;
        Some(-mean / (mu / (-a).powi(3)).sqrt())
    } else {
        None
    }
}

/// What the autopilot does with the engine and the nose this tick.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Command {
    throttle: f64,
    aim: DVec3,
}

/// One tick of the autopilot for a ship `over` its body with `mass` kg aboard and
/// its nose at `attitude`: the phase it moves to and what it commands (`None`:
/// engine off, the pilot's hold untouched).
fn guide(
    phase: LandingPhase,
    over: &Over,
    mass: f64,
    attitude: glam::DQuat,
    engine: &Engine,
    dt: f64,
) -> (LandingPhase, Option<Command>, f64) {
    let ground = over.ground_velocity();
    let up = over.r.normalize_or_zero();
    let altitude = over.altitude();
    let mut phase = phase;
    let mut next_act = f64::INFINITY;
    if phase == LandingPhase::Coast {
        // Brake at the last moment a 20 % margin allows, or at the periapsis if
        // the orbit passes it that low without meeting the ground.
        let stop = braking_stop_altitude(over, mass, engine, BRAKE_THROTTLE);
        let at_periapsis =
            over.r.dot(ground) >= 0.0 && altitude < 3.0 * periapsis_altitude(over.radius);
        if stop < BRAKE_END_ALTITUDE || at_periapsis {
            phase = LandingPhase::Brake;
        } else {
            // Time to turn: before the periapsis by the time braking takes there,
            // or at once on a path that meets the ground first (the periapsis lies
            // beyond the impact).
            let orbit = OrbitalElements::from_state(over.r, over.v, over.mu);
            let to_periapsis = if orbit.periapsis < over.radius {
                0.0
            } else {
                time_to_periapsis(over.r, over.v, over.mu).unwrap_or(0.0)
            };
            let braking = ground.length() / (BRAKE_THROTTLE * engine.thrust / mass);
            next_act = to_periapsis - 1.5 * braking - TURN_LEAD;
            let aim = (-ground).normalize_or_zero();
            return (
                phase,
                (next_act <= 0.0).then_some(Command { throttle: 0.0, aim }),
                next_act,
            );
        }
    }
    if phase == LandingPhase::Brake
        && (ground.length() < DESCENT_SPEED || altitude < DESCENT_ALTITUDE)
    {
        phase = LandingPhase::Descend;
    }
    let (throttle, aim) = match phase {
        LandingPhase::Brake => (
            braking_throttle(over, mass, engine),
            (-ground).normalize_or_zero(),
        ),
        _ => {
            let sink =
                (TOUCHDOWN_SPEED + DESCENT_RATE_PER_M * altitude.max(0.0)).min(DESCENT_SPEED + 2.0);
            let gravity = over.mu / over.r.length_squared();
            let response = DESCENT_RESPONSE.max(2.0 * dt);
            let wanted = (-up * sink - ground) / response + up * gravity;
            // Tilt no further than DESCENT_TILT from the vertical.
            let vertical = wanted.dot(up).max(gravity * 0.5);
            let sideways = wanted - up * wanted.dot(up);
            let limit = vertical * DESCENT_TILT.tan();
            let sideways = sideways.clamp_length_max(limit);
            let push = up * vertical + sideways;
            (
                (push.length() * mass / engine.thrust).clamp(0.0, 1.0),
                push.normalize_or_zero(),
            )
        }
    };
    let error = pointing_error(attitude, aim);
    let alignment = ((3.0 * ALIGNED - error) / (2.0 * ALIGNED)).clamp(0.0, 1.0);
    (
        phase,
        Some(Command {
            throttle: throttle * alignment,
            aim,
        }),
        next_act.min(0.0),
    )
}

/// What the autopilot reads and writes of a ship.
type Landed = (
    Entity,
    &'static mut Landing,
    &'static Position,
    &'static Velocity,
    &'static Attitude,
    &'static Fuel,
    &'static FlightState,
    &'static mut Throttle,
    &'static mut Controls,
    &'static mut Aim,
    Has<Burn>,
);

fn fly_landings(
    clock: Res<SimClock>,
    tick: Res<TickPlan>,
    bodies: Res<Bodies>,
    spec: Res<ShipSpec>,
    mut ships: Query<Landed, (With<Ship>, With<FlightPlan>)>,
    mut events: MessageWriter<ShipEvent>,
    mut commands: Commands,
) {
    let now = clock.game_time;
    let engine = Engine::of(&spec);
    for (
        ship,
        mut landing,
        position,
        velocity,
        attitude,
        fuel,
        flight,
        mut throttle,
        mut controls,
        mut aim,
        burning,
    ) in &mut ships
    {
        let mut end = |kind: Option<ShipEventKind>| {
            hand_back(&mut throttle, &mut controls);
            commands.entity(ship).remove::<Landing>();
            if let Some(kind) = kind {
                events.write(ShipEvent { ship, kind });
            }
        };
        let over = match (
            flight,
            Over::new(&bodies, landing.body, position.0, velocity.0, now),
        ) {
            (FlightState::Landed { .. }, _) => {
                end(Some(ShipEventKind::Touchdown {
                    speed: landing.speed,
                }));
                continue;
            }
            // The wreck is told as such by the flight state's own event.
            (FlightState::Destroyed { .. }, _) => {
                end(None);
                continue;
            }
            (FlightState::Flying, None) => {
                let reason = "the landing's body is gone".to_owned();
                end(Some(ShipEventKind::Rejected { reason }));
                continue;
            }
            (FlightState::Flying, Some(over)) => over,
        };
        if landing.phase == LandingPhase::Deorbit {
            if burning {
                continue;
            }
            // The executor is done with the deorbit burn, or gave up on it (a dry
            // tank): the braking waits for a periapsis this low, so without one
            // the landing ends here.
            let periapsis = OrbitalElements::from_state(over.r, over.v, over.mu).periapsis;
            if periapsis - over.radius > 3.0 * periapsis_altitude(over.radius) {
                let reason = "the deorbit burn fell short; landing stopped".to_owned();
                end(Some(ShipEventKind::Rejected { reason }));
                continue;
            }
            landing.phase = LandingPhase::Coast;
        }
        let mass = spec.dry_mass + fuel.0;
        let (phase, command, next_act) =
            guide(landing.phase, &over, mass, attitude.0, &engine, tick.dt);
        // A non-finite time (a near-parabolic path's periapsis) means: act now.
        let next_act = if next_act.is_finite() { next_act } else { 0.0 };
        landing.set_if_neq(Landing {
            phase,
            speed: over.ground_velocity().length(),
            next_act: now + next_act,
            ..*landing
        });
        match command {
            Some(Command {
                throttle: value,
                aim: nose,
            }) => {
                throttle.set_if_neq(Throttle(value));
                controls.set_if_neq(Controls::Hold(HoldMode::Land));
                aim.set_if_neq(Aim(nose));
            }
            None => {
                throttle.set_if_neq(Throttle(0.0));
            }
        }
    }
}

/// The clock slows for a landing as for a burn: to its turn, then short ticks
/// until the ship is down.
fn schedule_landings(
    clock: Res<SimClock>,
    ships: Query<(Entity, &Landing)>,
    mut schedule: ResMut<ManoeuvreSchedule>,
) {
    for (ship, landing) in &ships {
        let turning = match landing.phase {
            LandingPhase::Deorbit => continue,
            LandingPhase::Coast => landing.next_act <= clock.game_time,
            LandingPhase::Brake | LandingPhase::Descend => true,
        };
        if turning {
            schedule.busy = true;
        }
        if schedule.next.is_none_or(|(t, _)| landing.next_act < t) {
            schedule.next = Some((landing.next_act, ship));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MU_MOON: f64 = 4.902_800_076e12;
    const R_MOON: f64 = 1_737_400.0;

    fn engine() -> Engine {
        Engine {
            dry: 10_000.0,
            thrust: 500_000.0,
            exhaust: 350.0 * 9.806_65,
        }
    }

    fn over(altitude: f64, horizontal: f64, vertical: f64) -> Over {
        let r = DVec3::X * (R_MOON + altitude);
        Over {
            r,
            v: DVec3::Y * horizontal + DVec3::X * vertical,
            mu: MU_MOON,
            radius: R_MOON,
            spin: DVec3::ZERO,
        }
    }

    #[test]
    fn the_deorbit_burn_puts_the_periapsis_where_asked() {
        let r = DVec3::X * (R_MOON + 100_000.0);
        let v = DVec3::Y * (MU_MOON / r.length()).sqrt();
        let goal = R_MOON + 8_700.0;
        let dv = retrograde_to_periapsis(r, v, MU_MOON, goal).expect("reachable");
        // Vis-viva: the speed at apoapsis of the orbit from r down to the goal.
        let a = 0.5 * (r.length() + goal);
        let wanted = v.length() - (MU_MOON * (2.0 / r.length() - 1.0 / a)).sqrt();
        assert!((dv - wanted).abs() < 1e-6, "{dv} against {wanted}");
        assert_eq!(retrograde_to_periapsis(r, v, MU_MOON, -1.0), None);
    }

    #[test]
    fn more_throttle_stops_higher_and_none_stops_nowhere() {
        let state = over(15_000.0, 1_600.0, -20.0);
        let mass = 30_000.0;
        let stops: Vec<f64> = [0.3, 0.6, 0.9]
            .iter()
            .map(|&u| braking_stop_altitude(&state, mass, &engine(), u))
            .collect();
        assert!(stops[0] < stops[1] && stops[1] < stops[2], "{stops:?}");
        assert!(
            braking_stop_altitude(&state, mass, &engine(), 0.0) < 0.0,
            "falling with the engine off meets the ground"
        );
        let orbiting = over(100_000.0, (MU_MOON / (R_MOON + 100_000.0)).sqrt(), 0.0);
        assert_eq!(
            braking_stop_altitude(&orbiting, mass, &engine(), 0.0),
            f64::NEG_INFINITY,
            "an orbit never stops"
        );
        let u = braking_throttle(&state, mass, &engine());
        let stop = braking_stop_altitude(&state, mass, &engine(), u);
        assert!(
            (stop - BRAKE_END_ALTITUDE).abs() < 50.0,
            "{u}: stops at {stop} m"
        );
    }

    #[test]
    fn the_time_to_periapsis_is_what_kepler_flies_to() {
        let r = DVec3::X * (R_MOON + 100_000.0);
        let v = DVec3::Y * 1_500.0 + DVec3::X * 30.0;
        let t = time_to_periapsis(r, v, MU_MOON).expect("closed orbit");
        let (rp, vp) = drift(r, v, MU_MOON, t);
        assert!(
            rp.dot(vp).abs() < 1e-6 * rp.length() * vp.length(),
            "at periapsis"
        );
        let orbit = OrbitalElements::from_state(r, v, MU_MOON);
        assert!((rp.length() - orbit.periapsis).abs() < 1.0);
    }
}
