//! Tick cost benchmarks: fine ship substeps at 1k–100k ships, whole real-time
//! ticks, ticks at an admin-forced warp (coasting and thrusting fleets against the
//! 30 Hz budget), and the N-body step.
//! Run with `cargo bench -p galaxy_server --bench tick`.

#![expect(
    missing_docs,
    reason = "criterion_group! generates an undocumented function"
)]

mod support;

use std::hint::black_box;

use bevy::app::FixedMain;
use bevy::prelude::*;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use galaxy_server::ephemeris::load_bodies;
use galaxy_server::tick::SimClock;
use galaxy_shared::components::Fuel;
use galaxy_shared::physics::integrator::BodyIntegrator;

/// A server with `ships` ships (see `support`) running at `time_scale`.
fn world_with_ships(ships: usize, time_scale: f64) -> App {
    let mut app = support::server_with_ships(ships);
    app.world_mut().resource_mut::<SimClock>().time_scale = time_scale;
    app
}

/// The shipped config with coasting off, so every ship takes every substep.
fn fine_config() -> galaxy_server::config::Config {
    let mut config = support::config();
    config.physics.coast = false;
    config
}

fn ship_substeps(c: &mut Criterion) {
    let mut group = c.benchmark_group("ship_substep");
    group.sample_size(10);
    for ships in [1_000, 10_000, 100_000] {
        // 32 substeps per tick (time scale 960 at 30 Hz): the per-tick overhead is
        // spread thin and the time per element is the cost of one ship-substep.
        let mut app = support::fleet(fine_config(), ships, Some(4), 0.0);
        app.world_mut().resource_mut::<SimClock>().time_scale = 960.0;
        group.throughput(Throughput::Elements(ships as u64 * 32));
        group.bench_function(BenchmarkId::from_parameter(ships), |b| {
            b.iter(|| app.world_mut().run_schedule(FixedMain));
        });
    }
    group.finish();
}

fn realtime_ticks(c: &mut Criterion) {
    let mut group = c.benchmark_group("tick_1x");
    group.sample_size(10);
    for ships in [10_000, 100_000] {
        // Real time at 30 Hz: one 1/30 s substep per tick; budget 33.3 ms.
        let mut app = world_with_ships(ships, 1.0);
        group.bench_function(BenchmarkId::from_parameter(ships), |b| {
            b.iter(|| app.world_mut().run_schedule(FixedMain));
        });
    }
    group.finish();
}

fn warp_ticks(c: &mut Criterion) {
    let mut group = c.benchmark_group("tick_at_warp");
    group.sample_size(10);
    // (ships, time scale, throttle): coasting fleets at high warp and a thrusting
    // one at 1000x; the 30 Hz budget is 33.3 ms a tick. The thrusting ships burn at
    // a millionth of full throttle, so no tank runs dry however many ticks the
    // benchmark takes (a dry ship would coast): every one of them takes every
    // substep, as a burn does.
    for (ships, scale, throttle) in [
        (100_000, 10_000.0, 0.0),
        (10_000, 100_000.0, 0.0),
        (1_000, 1_000.0, 1e-6),
    ] {
        let mut app = support::fleet(support::config(), ships, None, throttle);
        app.world_mut().resource_mut::<SimClock>().time_scale = scale;
        let name = format!(
            "{ships}_{}_at_{scale}x",
            if throttle > 0.0 {
                "thrusting"
            } else {
                "coasting"
            }
        );
        group.bench_function(name, |b| {
            b.iter(|| app.world_mut().run_schedule(FixedMain));
        });
        if throttle > 0.0 {
            let mut fuel = app.world_mut().query::<&Fuel>();
            let dry = fuel.iter(app.world()).filter(|f| f.0 <= 0.0).count();
            assert_eq!(
                dry, 0,
                "{dry} ships ran dry: the benchmark measured coasting"
            );
        }
    }
    group.finish();
}

fn body_steps(c: &mut Criterion) {
    let config = support::config();
    let (bodies, _) = load_bodies(&config).expect("ephemeris");
    let mut group = c.benchmark_group("body_step");
    for (name, scheme, relativity) in [
        ("yoshida4_1pn", BodyIntegrator::Yoshida4, true),
        ("yoshida4_newtonian", BodyIntegrator::Yoshida4, false),
        ("leapfrog_1pn", BodyIntegrator::Leapfrog, true),
    ] {
        let mut state = bodies.state.clone();
        state.relativistic_center = relativity.then_some(0);
        group.bench_function(name, |b| b.iter(|| state.step(scheme, black_box(300.0))));
    }
    group.finish();
}

criterion_group!(
    benches,
    ship_substeps,
    realtime_ticks,
    warp_ticks,
    body_steps
);
criterion_main!(benches);
