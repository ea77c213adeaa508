//! The flight computer's client-side costs on the real Solar System: one frame's
//! slice of the predicted path restarted as a dragged node changes it (what the
//! client spends per frame while a handle moves), a 48 × 32 porkchop plot to the
//! Moon, and refining its cheapest cell for a 100 km periapsis.
//! Run with `cargo bench -p galaxy_server --bench planner`.

#![expect(
    missing_docs,
    reason = "criterion_group! generates an undocumented function"
)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use galaxy_server::config::Config;
use galaxy_server::ephemeris::load_bodies;
use galaxy_server::ships::spawn::circular_orbit;
use galaxy_shared::physics::predict::{FRAME_SLICE, Predictor};
use galaxy_shared::physics::transfer::{Planner, TransferTarget};
use glam::DVec3;

/// The bodies as a client sees them, and a 400 km orbit in the Moon's plane.
fn setting() -> (Planner, usize) {
    let config = Config::defaults().expect("compiled-in defaults");
    let (bodies, start) = load_bodies(&config).expect("ephemeris");
    let earth = bodies.catalog.index_of("Earth").expect("Earth");
    let moon = bodies.catalog.index_of("Moon").expect("Moon");
    let state = &bodies.state;
    let (center, center_v) = (state.positions[earth], state.velocities[earth]);
    let normal = (state.positions[moon] - center)
        .cross(state.velocities[moon] - center_v)
        .normalize();
    let slot = circular_orbit(
        center,
        center_v,
        state.gms[earth],
        bodies.catalog.radii[earth] + 400_000.0,
        0.0,
        normal.z.acos(),
        normal.x.atan2(-normal.y),
    );
    let prediction = bodies.prediction(
        start,
        config.physics.body_step_s,
        config.physics.coast_steps_per_orbit,
    );
    let planner = Planner {
        bodies: prediction,
        now: start,
        center: earth,
        r: slot.position - center,
        v: slot.velocity - center_v,
    };
    (planner, moon)
}

fn bench(c: &mut Criterion) {
    let (planner, moon) = setting();
    let earth_at = planner.bodies.state.positions[planner.center];
    let grid = planner.grid(TransferTarget::Body(moon));
    let center_v = planner.bodies.state.velocities[planner.center];
    let node = (planner.now + 1_800.0, DVec3::new(3_100.0, 0.0, 0.0));
    c.bench_function("prediction: restart and one frame's slice", |b| {
        b.iter(|| {
            let mut predictor = Predictor::new(
                planner.bodies.clone(),
                planner.now,
                5.0 * 86_400.0,
                earth_at + planner.r,
                center_v + planner.v,
                vec![black_box(node)],
            );
            predictor.advance(FRAME_SLICE);
            black_box(predictor.path.len())
        });
    });
    let mut group = c.benchmark_group("transfer to the Moon");
    group.sample_size(10);
    group.bench_function("porkchop 48 x 32", |b| {
        b.iter(|| planner.porkchop(TransferTarget::Body(moon), black_box(grid)));
    });
    let best = planner
        .porkchop(TransferTarget::Body(moon), grid)
        .and_then(|p| p.best())
        .expect("a transfer");
    let goal = 1_737_400.0 + 100_000.0;
    group.bench_function("refine the cheapest for a 100 km periapsis", |b| {
        b.iter(|| planner.encounter(moon, best.depart, best.flight, black_box(goal)));
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
