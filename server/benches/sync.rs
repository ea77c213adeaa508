//! State sync interest: what choosing the ships for one round of state messages
//! costs, 1 000 clients among 100 000 ships in low Earth orbit (the index rebuild
//! once per round, then each client's near cells and far sample).
//! Run with `cargo bench -p galaxy_server --bench sync`.

#![expect(
    missing_docs,
    reason = "criterion_group! generates an undocumented function"
)]

use std::hint::black_box;

use bevy::prelude::*;
use criterion::{Criterion, criterion_group, criterion_main};
use galaxy_server::net::interest::{IndexedShip, ShipIndex};
use galaxy_shared::protocol::{OtherShip, WireFlight};
use glam::DVec3;

const SHIPS: usize = 100_000;
const CLIENTS: usize = 1_000;

fn fleet(world: &mut World) -> Vec<IndexedShip> {
    let mut rng = fastrand::Rng::with_seed(11);
    (0..SHIPS)
        .map(|i| {
            let direction =
                DVec3::new(rng.f64() - 0.5, rng.f64() - 0.5, rng.f64() - 0.5).normalize();
            IndexedShip {
                entity: world.spawn_empty().id(),
                position: DVec3::new(-2.7e10, 1.3e11, 5.7e10) + direction * 6.771e6,
                wire: OtherShip {
                    id: i as u32,
                    dominant: 3,
                    position: [0.0; 3],
                    velocity: [0.0; 3],
                    attitude: [0, 0, 0, 32767],
                    flight: WireFlight::Flying,
                },
            }
        })
        .collect()
}

fn interest(c: &mut Criterion) {
    let mut world = World::new();
    let ships = fleet(&mut world);
    let mut index = ShipIndex::default();
    let mut group = c.benchmark_group("sync_interest");
    group.sample_size(10);
    group.bench_function("rebuild_100000_ships", |b| {
        b.iter(|| index.rebuild(ships.iter().copied()));
    });
    index.rebuild(ships.iter().copied());
    let clients: Vec<&IndexedShip> = ships.iter().step_by(SHIPS / CLIENTS).collect();
    let mut cursors = vec![0usize; CLIENTS];
    let mut near = Vec::new();
    group.bench_function("select_1000_clients_of_100000_ships", |b| {
        b.iter(|| {
            let mut seen = 0;
            for (client, cursor) in clients.iter().zip(&mut cursors) {
                index.near(client.position, client.entity, &mut near);
                seen += near.len() + index.sample(cursor).count();
            }
            black_box(seen)
        });
    });
    group.finish();
}

criterion_group!(benches, interest);
criterion_main!(benches);
