//! The tick engine: game time, time scale, pause, and the plan of each tick.
//!
//! The clock runs at [`SimClock::rate`]: the admin's time scale, or what the warp
//! policy ([`crate::warp`]) chose from it where one runs (the real server).
//! Physics runs in `FixedUpdate` at the configured rate. Each tick advances
//! `scale / rate` game seconds, cut into ship substeps no longer than `max_substep`
//! and body steps no longer than `body_step`. After an overrun Bevy's fixed loop runs
//! the ticks it owes, but never more than `max_catchup_ticks` extra in one frame:
//! `Time<Virtual>`'s maximum delta caps the backlog, and what it cuts is counted here
//! as dropped ticks.

use std::time::{Duration, Instant};

use bevy::prelude::*;
use bevy::time::common_conditions::on_real_timer;
use galaxy_shared::components::Ship;
use galaxy_shared::physics::compensated;
use galaxy_shared::units::CalendarTime;
use metrics::{counter, histogram};

use crate::SimSystems;
use crate::config::Config;
use crate::telemetry;

pub(super) fn plugin(app: &mut App) {
    let config = app.world().resource::<Config>().clone();
    let period = config.tick_period();
    let mut virtual_time = Time::<Virtual>::default();
    virtual_time.set_max_delta(Duration::from_secs_f64(
        period * (1.0 + f64::from(config.tick.max_catchup_ticks)),
    ));
    app.insert_resource(Time::<Fixed>::from_hz(config.tick.rate_hz))
        .insert_resource(virtual_time)
        .insert_resource(SimClock {
            paused: config.tick.paused,
            time_scale: config.tick.time_scale,
            ..default()
        })
        .init_resource::<TickPlan>()
        .init_resource::<TickStats>()
        .add_message::<ClockCommand>()
        .add_systems(First, count_dropped_ticks.after(bevy::time::TimeSystems))
        .add_systems(FixedFirst, start_tick_timer)
        .add_systems(
            FixedUpdate,
            (
                apply_clock_commands.in_set(SimSystems::Input),
                plan_tick.in_set(SimSystems::Plan),
                advance_clock.in_set(SimSystems::Publish),
            ),
        )
        .add_systems(FixedLast, finish_tick_timer)
        .add_systems(
            Update,
            log_status.run_if(on_real_timer(Duration::from_secs(STATUS_LOG_INTERVAL_S))),
        );
}

/// Real seconds between the status lines operators see in the log.
const STATUS_LOG_INTERVAL_S: u64 = 30;

/// Game time and how it flows.
#[derive(Resource, Clone, Copy, Debug, Default, PartialEq)]
pub struct SimClock {
    /// Number of ticks run since the server started.
    pub tick: u64,
    /// TDB seconds since J2000.
    pub game_time: f64,
    /// Rounding carried by the compensated game-time sum.
    pub game_time_carry: f64,
    /// The admin's time scale: the cap on players' warp requests (kept in
    /// snapshots), or the rate itself when `forced`.
    pub time_scale: f64,
    /// The admin set the rate itself (`timescale force`); not kept in snapshots.
    pub forced: bool,
    /// Game seconds per real second the warp policy chose; `None` where no policy
    /// runs (simulations, tests), and the time scale is the rate.
    pub warp: Option<f64>,
    /// No game time passes while paused; ticks still run.
    pub paused: bool,
}

impl SimClock {
    /// Game seconds per real second, unless paused.
    pub fn rate(&self) -> f64 {
        self.warp.unwrap_or(self.time_scale)
    }
}

/// What the current tick will integrate, decided once at its start.
#[derive(Resource, Clone, Copy, Debug, Default, PartialEq)]
pub struct TickPlan {
    /// Game seconds this tick covers (0 while paused).
    pub dt: f64,
    /// Body steps this tick.
    pub body_steps: u32,
    /// Ship substeps per body step; ship substeps = `body_steps · substeps_per_body_step`.
    pub substeps_per_body_step: u32,
}

impl TickPlan {
    /// Splits `dt` game seconds into body steps of at most `body_step` and ship
    /// substeps of at most `max_substep`, aligned so every body step boundary is a
    /// substep boundary.
    pub fn new(dt: f64, body_step: f64, max_substep: f64) -> Self {
        if dt <= 0.0 {
            return Self::default();
        }
        let body_steps = (dt / body_step).ceil().max(1.0);
        let per_body = (dt / body_steps / max_substep).ceil().max(1.0);
        Self {
            dt,
            body_steps: body_steps as u32,
            substeps_per_body_step: per_body as u32,
        }
    }

    /// Total ship substeps.
    pub fn substeps(&self) -> u32 {
        self.body_steps * self.substeps_per_body_step
    }

    /// Length of one ship substep (s).
    pub fn substep(&self) -> f64 {
        if self.substeps() == 0 {
            0.0
        } else {
            self.dt / f64::from(self.substeps())
        }
    }
}

/// Requests to change how game time flows; admin commands feed these.
#[derive(Message, Clone, Copy, Debug, PartialEq)]
pub enum ClockCommand {
    /// Stop game time.
    Pause,
    /// Let game time flow again.
    Resume,
    /// Set the admin's time scale (already validated against the maximum).
    SetTimeScale {
        /// Game seconds per real second.
        scale: f64,
        /// The rate itself, not a cap on players' requests.
        forced: bool,
    },
}

/// Tick timing for the metrics: recent durations and lifetime counters.
#[derive(Resource, Debug, Default)]
pub struct TickStats {
    started: Option<Instant>,
    recent: Vec<Duration>,
    next: usize,
    /// Ticks that took longer than the tick period.
    pub overruns: u64,
    /// Ticks skipped because the backlog exceeded the catch-up limit.
    pub dropped: u64,
    /// Integrator substeps run since start.
    pub substeps: u64,
    /// Body steps run since start.
    pub body_steps: u64,
}

/// Tick durations kept for the percentiles: about a minute at 30 Hz.
const RECENT_TICKS: usize = 2048;

impl TickStats {
    /// The `q`-quantile (0..1) of recent tick durations.
    pub fn quantile(&self, q: f64) -> Duration {
        self.recent_quantile(RECENT_TICKS, q)
    }

    /// The `q`-quantile of the last `count` tick durations (fewer if not yet run).
    pub fn recent_quantile(&self, count: usize, q: f64) -> Duration {
        let count = count.min(self.recent.len());
        let len = self.recent.len();
        // `next` is where the oldest entry sits once the ring has filled.
        let newest_end = if len < RECENT_TICKS { len } else { self.next };
        let mut last: Vec<Duration> = (0..count)
            .map(|back| self.recent[(newest_end + len - 1 - back) % len])
            .collect();
        last.sort_unstable();
        let Some(top) = last.len().checked_sub(1) else {
            return Duration::ZERO;
        };
        last[((top as f64) * q.clamp(0.0, 1.0)).round() as usize]
    }

    fn record(&mut self, duration: Duration) {
        if self.recent.len() < RECENT_TICKS {
            self.recent.push(duration);
        } else {
            self.recent[self.next] = duration;
        }
        self.next = (self.next + 1) % RECENT_TICKS;
    }
}

/// Whether simulation time is flowing.
pub fn simulation_running(clock: Res<SimClock>) -> bool {
    !clock.paused && clock.rate() > 0.0
}

fn apply_clock_commands(mut commands: MessageReader<ClockCommand>, mut clock: ResMut<SimClock>) {
    for command in commands.read() {
        match *command {
            ClockCommand::Pause => clock.paused = true,
            ClockCommand::Resume => clock.paused = false,
            ClockCommand::SetTimeScale { scale, forced } => {
                clock.time_scale = scale;
                clock.forced = forced;
            }
        }
        info!(?command, tick = clock.tick, "clock changed");
    }
}

pub(crate) fn plan_tick(clock: Res<SimClock>, config: Res<Config>, mut plan: ResMut<TickPlan>) {
    let dt = if clock.paused {
        0.0
    } else {
        clock.rate() / config.tick.rate_hz
    };
    *plan = TickPlan::new(dt, config.physics.body_step_s, config.physics.max_substep_s);
}

fn advance_clock(plan: Res<TickPlan>, mut clock: ResMut<SimClock>, mut stats: ResMut<TickStats>) {
    clock.tick += 1;
    let SimClock {
        game_time,
        game_time_carry,
        ..
    } = &mut *clock;
    compensated::add(game_time, game_time_carry, plan.dt);
    counter!(telemetry::TICKS).increment(1);
    stats.substeps += u64::from(plan.substeps());
    stats.body_steps += u64::from(plan.body_steps);
}

fn start_tick_timer(mut stats: ResMut<TickStats>) {
    stats.started = Some(Instant::now());
}

fn finish_tick_timer(mut stats: ResMut<TickStats>, fixed: Res<Time<Fixed>>) {
    let Some(started) = stats.started.take() else {
        return;
    };
    let duration = started.elapsed();
    stats.record(duration);
    histogram!(telemetry::TICK_DURATION).record(duration.as_secs_f64());
    if duration > fixed.timestep() {
        stats.overruns += 1;
        counter!(telemetry::TICK_OVERRUNS).increment(1);
    }
}

fn log_status(clock: Res<SimClock>, stats: Res<TickStats>, ships: Query<(), With<Ship>>) {
    info!(
        tick = clock.tick,
        date = %CalendarTime::from_game_time(clock.game_time),
        scale = clock.rate(),
        cap = clock.time_scale,
        paused = clock.paused,
        ships = ships.iter().count(),
        tick_p50_ms = stats.quantile(0.5).as_secs_f64() * 1e3,
        tick_p99_ms = stats.quantile(0.99).as_secs_f64() * 1e3,
        overruns = stats.overruns,
        dropped = stats.dropped,
        "status"
    );
}

fn count_dropped_ticks(
    real: Res<Time<Real>>,
    virtual_time: Res<Time<Virtual>>,
    fixed: Res<Time<Fixed>>,
    mut stats: ResMut<TickStats>,
) {
    let lost = real.delta().saturating_sub(virtual_time.delta());
    let dropped = (lost.as_secs_f64() / fixed.timestep().as_secs_f64()).floor() as u64;
    if dropped > 0 {
        stats.dropped += dropped;
        counter!(telemetry::TICKS_DROPPED).increment(dropped);
        warn!(
            dropped,
            total = stats.dropped,
            "tick backlog over the catch-up limit was dropped"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recent_quantiles_look_at_the_newest_ticks_only() {
        let mut stats = TickStats::default();
        for ms in 0..(RECENT_TICKS as u64 + 10) {
            stats.record(Duration::from_millis(ms));
        }
        let newest = RECENT_TICKS as u64 + 9;
        assert_eq!(stats.recent_quantile(1, 0.5), Duration::from_millis(newest));
        assert_eq!(
            stats.recent_quantile(20, 0.0),
            Duration::from_millis(newest - 19)
        );
        assert_eq!(
            stats.recent_quantile(20, 1.0),
            Duration::from_millis(newest)
        );
        let mut fresh = TickStats::default();
        assert_eq!(fresh.recent_quantile(5, 0.5), Duration::ZERO);
        fresh.record(Duration::from_millis(3));
        fresh.record(Duration::from_millis(7));
        assert_eq!(fresh.recent_quantile(300, 1.0), Duration::from_millis(7));
        assert_eq!(fresh.recent_quantile(1, 0.0), Duration::from_millis(7));
    }

    #[test]
    fn plan_aligns_substeps_with_body_steps() {
        let plan = TickPlan::new(1.0 / 30.0, 300.0, 1.0);
        assert_eq!((plan.body_steps, plan.substeps()), (1, 1));
        let plan = TickPlan::new(100_000.0 / 30.0, 300.0, 1.0);
        assert_eq!(plan.body_steps, 12);
        assert!(plan.substep() <= 1.0);
        assert!((plan.substep() * f64::from(plan.substeps()) - plan.dt).abs() < 1e-9);
        assert_eq!(TickPlan::new(0.0, 300.0, 1.0).substeps(), 0);
    }
}
