//! The coasting integrator's parts: one Kepler drift (the bulk of a coasting step)
//! and one whole SABAC₃ step of a low Earth orbit with J2.
//! Run with `cargo bench -p galaxy_shared --bench coast`.

#![expect(
    missing_docs,
    reason = "criterion_group! generates an undocumented function"
)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use galaxy_shared::physics::coast::step;
use galaxy_shared::physics::kepler::drift;
use galaxy_shared::physics::oblateness::{j2_acceleration, j2_acceleration_derivative};
use glam::DVec3;

const MU: f64 = 3.986_004_418e14;
const J2_R2: f64 = 1.082_63e-3 * 6.378_137e6 * 6.378_137e6;

fn coast(c: &mut Criterion) {
    // ISS-like: 400 km, 51.6°, slightly eccentric.
    let r = DVec3::new(6.771e6, 0.0, 0.0);
    let v = DVec3::new(10.0, 7.67e3 * 0.621, 7.67e3 * 0.784);
    let mut group = c.benchmark_group("coast");
    for (name, dt) in [
        ("drift_40s", 40.0),
        ("drift_130s", 130.0),
        ("drift_2000s", 2000.0),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| drift(black_box(r), black_box(v), MU, black_box(dt)));
        });
    }
    let pole = DVec3::Z;
    let j2 = move |r: DVec3| j2_acceleration(r, pole, MU, J2_R2);
    group.bench_function("sabac3_step_333s", |b| {
        b.iter(|| {
            let (mut r, mut v) = (black_box(r), black_box(v));
            step(
                &mut r,
                &mut v,
                MU,
                black_box(333.0),
                |_, r| j2(r),
                |r| j2_acceleration_derivative(r, j2(r), pole, MU, J2_R2),
            );
            (r, v)
        });
    });
    group.finish();
}

criterion_group!(benches, coast);
criterion_main!(benches);
