//! Which other ships a state message may carry, at a cost that depends on what is
//! near the client rather than on how many ships there are.
//!
//! Once per send round every ship is placed in a grid of [`CELL_M`] cells (a sorted
//! array of cell keys: no hashing, no allocation after the first round), with its
//! wire form ready. A client then looks at the 27 cells around its own ship, its
//! *near* ships, and at a rotating sample of [`FAR_SAMPLE`] of all the others, which
//! come round again every `ships / FAR_SAMPLE` sends.

use bevy::prelude::Entity;
use galaxy_shared::protocol::OtherShip;
use glam::DVec3;

/// Edge of a grid cell (m): ships within one cell of a client are near it.
pub const CELL_M: f64 = 50_000.0;
/// Far ships a client looks at per send.
pub const FAR_SAMPLE: usize = 32;
/// Most near ships a client looks at per send: the nearest ones when more crowd in.
pub const NEAR_LIMIT: usize = 256;

/// One ship as every client may be told about it.
#[derive(Clone, Copy, Debug)]
pub struct IndexedShip {
    /// The ship.
    pub entity: Entity,
    /// Barycentric position (m).
    pub position: DVec3,
    /// What goes on the wire.
    pub wire: OtherShip,
}

/// Every ship of one send round, by grid cell.
#[derive(Debug, Default)]
pub struct ShipIndex {
    ships: Vec<IndexedShip>,
    /// `(cell, index into ships)`, sorted by cell.
    cells: Vec<([i64; 3], u32)>,
}

fn cell_of(position: DVec3) -> [i64; 3] {
    let c = (position / CELL_M).floor();
    [c.x as i64, c.y as i64, c.z as i64]
}

impl ShipIndex {
    /// Replaces the index with `ships`, keeping its allocations.
    pub fn rebuild(&mut self, ships: impl Iterator<Item = IndexedShip>) {
        self.ships.clear();
        self.ships.extend(ships);
        self.cells.clear();
        self.cells.extend(
            self.ships
                .iter()
                .enumerate()
                .map(|(i, ship)| (cell_of(ship.position), i as u32)),
        );
        self.cells.sort_unstable();
    }

    /// Number of ships indexed.
    pub fn len(&self) -> usize {
        self.ships.len()
    }

    /// True when no ship is indexed.
    pub fn is_empty(&self) -> bool {
        self.ships.is_empty()
    }

    /// The ship at `index`.
    pub fn get(&self, index: u32) -> &IndexedShip {
        &self.ships[index as usize]
    }

    /// The ships in the 27 cells around `position`, other than `own`, into `out`:
    /// at most [`NEAR_LIMIT`], the nearest ones when more are there.
    pub fn near(&self, position: DVec3, own: Entity, out: &mut Vec<u32>) {
        out.clear();
        let [x, y, z] = cell_of(position);
        for dx in -1..=1 {
            for dy in -1..=1 {
                for dz in -1..=1 {
                    let key = [x + dx, y + dy, z + dz];
                    let start = self.cells.partition_point(|(cell, _)| *cell < key);
                    out.extend(
                        self.cells[start..]
                            .iter()
                            .take_while(|(cell, _)| *cell == key)
                            .map(|&(_, i)| i)
                            .filter(|&i| self.ships[i as usize].entity != own),
                    );
                }
            }
        }
        if out.len() > NEAR_LIMIT {
            let distance = |i: &u32| self.ships[*i as usize].position.distance_squared(position);
            out.select_nth_unstable_by(NEAR_LIMIT, |a, b| distance(a).total_cmp(&distance(b)));
            out.truncate(NEAR_LIMIT);
        }
    }

    /// The next [`FAR_SAMPLE`] ships from `cursor` on, wrapping; moves the cursor on.
    pub fn sample(&self, cursor: &mut usize) -> impl Iterator<Item = u32> + use<> {
        let len = self.ships.len();
        let start = if len == 0 { 0 } else { *cursor % len };
        let count = FAR_SAMPLE.min(len);
        *cursor = start + count;
        (0..count).map(move |k| ((start + k) % len) as u32)
    }

    /// Sends between two visits of the same ship by [`Self::sample`].
    pub fn revisit_sends(&self) -> f32 {
        (self.ships.len() as f32 / FAR_SAMPLE as f32).max(1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bevy::prelude::World;
    use galaxy_shared::protocol::WireFlight;

    fn ship(world: &mut World, i: u32, position: DVec3) -> IndexedShip {
        IndexedShip {
            entity: world.spawn_empty().id(),
            position,
            wire: OtherShip {
                id: i,
                dominant: 3,
                position: [0.0; 3],
                velocity: [0.0; 3],
                attitude: [0, 0, 0, 32767],
                flight: WireFlight::Flying,
            },
        }
    }

    #[test]
    fn near_finds_the_ships_in_the_cells_around_and_only_those() {
        let mut index = ShipIndex::default();
        let mut world = World::new();
        let center = DVec3::new(1.0e11, -3.0e10, 2.0e9);
        let ships = [
            ship(&mut world, 0, center),
            ship(&mut world, 1, center + DVec3::new(30_000.0, 0.0, 0.0)),
            ship(
                &mut world,
                2,
                center + DVec3::new(-40_000.0, 40_000.0, -10_000.0),
            ),
            ship(&mut world, 3, center + DVec3::new(0.0, 0.0, 400_000.0)),
            ship(&mut world, 4, -center),
        ];
        index.rebuild(ships.iter().copied());
        let mut out = Vec::new();
        index.near(center, ships[0].entity, &mut out);
        let mut ids: Vec<u32> = out.iter().map(|&i| index.get(i).wire.id).collect();
        ids.sort_unstable();
        assert_eq!(
            ids,
            [1, 2],
            "the own ship, a far one and a distant one stay out"
        );
    }

    #[test]
    fn a_crowd_is_cut_to_its_nearest_and_the_sample_visits_everyone() {
        let mut index = ShipIndex::default();
        let mut world = World::new();
        let count = NEAR_LIMIT as u32 * 2;
        let ships: Vec<_> = (0..count)
            .map(|i| ship(&mut world, i, DVec3::X * f64::from(i)))
            .collect();
        index.rebuild(ships.into_iter());
        let mut out = Vec::new();
        let own = world.spawn_empty().id();
        index.near(DVec3::ZERO, own, &mut out);
        assert_eq!(out.len(), NEAR_LIMIT);
        assert!(
            out.iter()
                .all(|&i| index.get(i).wire.id < NEAR_LIMIT as u32)
        );
        let mut seen = vec![0; count as usize];
        let mut cursor = 0;
        let rounds = count as usize / FAR_SAMPLE;
        for _ in 0..rounds {
            for i in index.sample(&mut cursor) {
                seen[i as usize] += 1;
            }
        }
        assert!(seen.iter().all(|&n| n == 1), "every ship once per revisit");
        assert_eq!(index.revisit_sends(), rounds as f32);
    }
}
