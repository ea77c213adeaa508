//! The gravity kernels alone: eight ships against 11 bodies in vector lanes against
//! the same sums one ship at a time, and one ship against 10 bodies in lanes.
//! Run with `cargo bench -p galaxy_shared --bench lanes`.

#![expect(
    missing_docs,
    reason = "criterion_group! generates an undocumented function"
)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use galaxy_shared::physics::gravity::point_acceleration;
use galaxy_shared::physics::lanes::{self, BodyLanes, LANES, LaneOblate, LaneVec};
use galaxy_shared::physics::oblateness::j2_acceleration;
use glam::DVec3;

/// Eleven bodies scattered like the Solar System's, with GMs and radii.
fn bodies() -> (Vec<DVec3>, Vec<f64>, Vec<f64>) {
    let positions = (0..11)
        .map(|b| {
            let f = b as f64 + 1.0;
            DVec3::new(1.0e10 * f * f, -4.0e9 * f, 3.0e8 * (f - 6.0))
        })
        .collect();
    let gms = (0..11).map(|b| 1.0e13 * (b as f64 + 1.0)).collect();
    let radii = (0..11).map(|b| 1.0e6 * (b as f64 + 1.0)).collect();
    (positions, gms, radii)
}

fn ships(center: DVec3) -> [DVec3; LANES] {
    std::array::from_fn(|i| center + DVec3::new(7.0e6, 1.0e5 * i as f64, -2.0e5))
}

fn kernels(c: &mut Criterion) {
    let (positions, gms, radii) = bodies();
    let ships = ships(positions[3]);
    let pole = DVec3::new(0.0, -0.4, 0.9).normalize();
    let mut group = c.benchmark_group("ship_gravity");
    group.throughput(Throughput::Elements(LANES as u64));
    group.bench_function("one_at_a_time", |b| {
        b.iter(|| {
            let mut out = [DVec3::ZERO; LANES];
            for (ship, slot) in black_box(&ships).iter().zip(&mut out) {
                let mut a = DVec3::ZERO;
                for (&center, &gm) in positions.iter().zip(&gms) {
                    a += point_acceleration(*ship, center, gm);
                }
                *slot = a + j2_acceleration(*ship - positions[3], pole, gms[3], 4.4e10);
            }
            out
        });
    });
    group.bench_function("eight_lanes", |b| {
        b.iter(|| {
            let mut at = LaneVec::default();
            let mut oblate = LaneOblate::default();
            for (i, ship) in black_box(&ships).iter().enumerate() {
                at.set(i, *ship);
                oblate.relative.set(i, *ship - positions[3]);
                oblate.pole.set(i, pole);
                oblate.mu[i] = gms[3];
                oblate.j2_r2[i] = 4.4e10;
            }
            lanes::gravity(&at, &positions, &gms, &radii, &oblate)
        });
    });
    group.finish();
    let mut group = c.benchmark_group("pull_on_one_ship");
    let mut others = BodyLanes::default();
    others.fill(&positions, &gms, 3);
    group.bench_function("one_body_at_a_time", |b| {
        b.iter(|| {
            (0..11)
                .filter(|&j| j != 3)
                .map(|j| point_acceleration(black_box(ships[0]), positions[j], gms[j]))
                .sum::<DVec3>()
        });
    });
    group.bench_function("bodies_in_lanes", |b| {
        b.iter(|| others.pull(black_box(ships[0])));
    });
    group.finish();
}

criterion_group!(benches, kernels);
criterion_main!(benches);
