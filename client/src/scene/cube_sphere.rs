//! The geometry of round bodies: a cube projected onto the unit sphere, each face
//! a quadtree of square chunks. A chunk is a [`GRID`]×[`GRID`] patch of the
//! sphere; its children halve it each way. Chunks are built in the body-fixed
//! frame (+X through the prime meridian, +Z the north pole) with equirectangular
//! texture coordinates, so a surface map lies where the rotation model says.
//!
//! The cube is the *equal-angle* one (each face coordinate is the tangent of an
//! angle), so cells near a face's corner are not much smaller than at its centre.

use std::f64::consts::{FRAC_PI_4, PI, TAU};

use bevy::asset::RenderAssetUsages;
use bevy::mesh::{Indices, PrimitiveTopology};
use bevy::prelude::*;
use glam::DVec3;

/// Quads along each side of a chunk.
pub(crate) const GRID: u32 = 16;

/// The cube's faces: outward normal, then the face's `a` and `b` axes, with
/// `a × b = normal` so the grid winds counter-clockwise seen from outside.
const FACES: [[DVec3; 3]; 6] = [
    [DVec3::X, DVec3::Y, DVec3::Z],
    [DVec3::NEG_X, DVec3::Z, DVec3::Y],
    [DVec3::Y, DVec3::Z, DVec3::X],
    [DVec3::NEG_Y, DVec3::X, DVec3::Z],
    [DVec3::Z, DVec3::X, DVec3::Y],
    [DVec3::NEG_Z, DVec3::Y, DVec3::X],
];

/// One chunk of the quadtree: face, depth and position in the face's grid of
/// `2^level × 2^level` chunks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct ChunkKey {
    /// Index into the cube's faces.
    pub face: u8,
    /// Depth: 0 is the whole face.
    pub level: u8,
    /// Column, `0..2^level`.
    pub x: u32,
    /// Row, `0..2^level`.
    pub y: u32,
}

impl ChunkKey {
    /// The six faces, the roots of the quadtrees.
    pub fn roots() -> impl Iterator<Item = Self> {
        (0..6).map(|face| Self {
            face,
            level: 0,
            x: 0,
            y: 0,
        })
    }

    /// The four chunks one level down.
    pub fn children(self) -> [Self; 4] {
        let (x, y, level) = (self.x * 2, self.y * 2, self.level + 1);
        [(0, 0), (1, 0), (0, 1), (1, 1)].map(|(dx, dy)| Self {
            face: self.face,
            level,
            x: x + dx,
            y: y + dy,
        })
    }

    /// Unit direction through the chunk's point at `(s, t)`, each `0..=1` across it.
    pub fn direction(self, s: f64, t: f64) -> DVec3 {
        let size = 2.0 / f64::from(1u32 << self.level);
        let a = -1.0 + size * (f64::from(self.x) + s);
        let b = -1.0 + size * (f64::from(self.y) + t);
        let [normal, axis_a, axis_b] = FACES[usize::from(self.face)];
        (normal + axis_a * (a * FRAC_PI_4).tan() + axis_b * (b * FRAC_PI_4).tan()).normalize()
    }

    /// Unit direction through the chunk's middle.
    pub fn center(self) -> DVec3 {
        self.direction(0.5, 0.5)
    }

    /// Angle from the middle to the farthest corner (rad): the chunk lies within it.
    pub fn angular_radius(self) -> f64 {
        let center = self.center();
        [(0.0, 0.0), (1.0, 0.0), (0.0, 1.0), (1.0, 1.0)]
            .map(|(s, t)| center.angle_between(self.direction(s, t)))
            .into_iter()
            .fold(0.0, f64::max)
    }

    /// Largest gap between the surface and the chunk's flat triangles, on the
    /// unit sphere: the sagitta of its longest grid cell's diagonal.
    pub fn sag(self) -> f64 {
        let step = 1.0 / f64::from(GRID);
        // The cells at a face's centre are the largest of the equal-angle cube.
        let diagonal = self
            .direction(0.5 - step / 2.0, 0.5 - step / 2.0)
            .angle_between(self.direction(0.5 + step / 2.0, 0.5 + step / 2.0));
        1.0 - (diagonal / 2.0).cos()
    }
}

/// Equirectangular map coordinates of a body-fixed unit direction: `u` 0.5 on the
/// prime meridian growing east, `v` 0 at the north pole.
pub(crate) fn map_uv(direction: DVec3) -> [f64; 2] {
    let longitude = direction.y.atan2(direction.x);
    let latitude = direction.z.clamp(-1.0, 1.0).asin();
    [0.5 + longitude / TAU, 0.5 - latitude / PI]
}

/// The mesh of `key` on a sphere of `radius`, around its own middle (so vertices
/// near the camera keep their precision in f32): `GRID + 1` squared vertices,
/// and a skirt hanging from the edges that hides the cracks where a neighbour is
/// one level coarser.
pub(crate) fn chunk_mesh(key: ChunkKey, radius: f64) -> Mesh {
    let center = key.center() * radius;
    build(key, true, |direction| direction * radius - center)
}

/// The whole unit sphere at the roots' resolution, as one mesh: what a body far
/// enough away that no chunk needs splitting is drawn with (no skirts: it has no
/// neighbours of other levels).
pub(crate) fn whole_mesh() -> Mesh {
    let mut parts = ChunkKey::roots().map(|key| build(key, false, |direction| direction));
    let Some(mut mesh) = parts.next() else {
        return Mesh::new(
            PrimitiveTopology::TriangleList,
            RenderAssetUsages::RENDER_WORLD,
        );
    };
    for part in parts {
        // Both meshes come from `build`, with the same attributes.
        if let Err(error) = mesh.merge(&part) {
            error!("cube sphere faces do not merge: {error}");
        }
    }
    mesh
}

/// The skirt's depth below the surface, in units of the chunk's sag: deeper than
/// any crack between a chunk and a coarser neighbour.
const SKIRT_SAGS: f64 = 4.0;

fn build(key: ChunkKey, skirt: bool, place: impl Fn(DVec3) -> DVec3) -> Mesh {
    let side = GRID + 1;
    let mut directions = Vec::with_capacity((side * side + 4 * side) as usize);
    for j in 0..side {
        for i in 0..side {
            let step = 1.0 / f64::from(GRID);
            directions.push(key.direction(f64::from(i) * step, f64::from(j) * step));
        }
    }
    let mut indices = Vec::with_capacity((GRID * GRID * 6 + 4 * GRID * 12) as usize);
    for j in 0..GRID {
        for i in 0..GRID {
            let k = j * side + i;
            indices.extend([k, k + 1, k + side + 1, k, k + side + 1, k + side]);
        }
    }
    // The four edges, walked once round the chunk, each with a skirt strip below
    // it. A crack opens beside a chunk, so its skirt is only ever seen from outside:
    // one winding, facing out.
    let edges: [Vec<u32>; 4] = [
        (0..side).collect(),
        (0..side).map(|j| j * side + GRID).collect(),
        (0..side).rev().map(|i| GRID * side + i).collect(),
        (0..side).rev().map(|j| j * side).collect(),
    ];
    let depth = 1.0 - SKIRT_SAGS * key.sag();
    for edge in edges.iter().filter(|_| skirt) {
        let start = directions.len() as u32;
        for &k in edge {
            directions.push(directions[k as usize]);
        }
        for n in 0..GRID {
            let (top, next) = (edge[n as usize], edge[n as usize + 1]);
            let (low, low_next) = (start + n, start + n + 1);
            indices.extend([top, low, next, next, low, low_next]);
        }
    }
    let grid_vertices = (side * side) as usize;
    let positions: Vec<[f32; 3]> = directions
        .iter()
        .enumerate()
        .map(|(n, &d)| {
            let d = if n < grid_vertices { d } else { d * depth };
            place(d).as_vec3().to_array()
        })
        .collect();
    let normals: Vec<[f32; 3]> = directions.iter().map(|d| d.as_vec3().to_array()).collect();
    let mut uvs: Vec<[f64; 2]> = directions.iter().map(|&d| map_uv(d)).collect();
    let mut positions = positions;
    let mut normals = normals;
    // A triangle across the date line, or touching a pole (where every longitude
    // meets), gets vertices of its own with `u` continuous across it (the maps
    // repeat in `u`).
    for triangle in indices.chunks_exact_mut(3) {
        let corners = [0, 1, 2].map(|c| triangle[c] as usize);
        let at_pole = corners.map(|k| directions[k].truncate().length() < 1e-9);
        let others: Vec<f64> = (0..3)
            .filter(|&c| !at_pole[c])
            .map(|c| uvs[corners[c]][0])
            .collect();
        let high = others.iter().copied().fold(f64::MIN, f64::max);
        let wraps = high - others.iter().copied().fold(f64::MAX, f64::min) > 0.5;
        for c in 0..3 {
            let [u, v] = uvs[corners[c]];
            let u = if at_pole[c] {
                let mean = others
                    .iter()
                    .map(|&o| if wraps && o < high - 0.5 { o + 1.0 } else { o });
                mean.sum::<f64>() / others.len().max(1) as f64
            } else if wraps && u < high - 0.5 {
                u + 1.0
            } else {
                continue;
            };
            triangle[c] = positions.len() as u32;
            positions.push(positions[corners[c]]);
            normals.push(normals[corners[c]]);
            uvs.push([u, v]);
        }
    }
    let uvs: Vec<[f32; 2]> = uvs.iter().map(|uv| uv.map(|c| c as f32)).collect();
    triangle_mesh(positions, normals, uvs, indices)
}

/// A triangle list with positions, normals and texture coordinates, as both the
/// globes and Saturn's rings are built.
pub(crate) fn triangle_mesh(
    positions: Vec<[f32; 3]>,
    normals: Vec<[f32; 3]>,
    uvs: Vec<[f32; 2]>,
    indices: Vec<u32>,
) -> Mesh {
    Mesh::new(
        PrimitiveTopology::TriangleList,
        RenderAssetUsages::RENDER_WORLD,
    )
    .with_inserted_attribute(Mesh::ATTRIBUTE_POSITION, positions)
    .with_inserted_attribute(Mesh::ATTRIBUTE_NORMAL, normals)
    .with_inserted_attribute(Mesh::ATTRIBUTE_UV_0, uvs)
    .with_inserted_indices(Indices::U32(indices))
}

#[cfg(test)]
mod tests {
    use bevy::mesh::VertexAttributeValues;

    use super::*;

    fn attribute3(mesh: &Mesh, id: impl Into<bevy::mesh::MeshVertexAttributeId>) -> Vec<Vec3> {
        match mesh.attribute(id) {
            Some(VertexAttributeValues::Float32x3(values)) => {
                values.iter().map(|v| Vec3::from(*v)).collect()
            }
            _ => panic!("a float3 attribute"),
        }
    }

    #[test]
    fn the_faces_tile_the_sphere_and_children_tile_their_parent() {
        // The six face middles are the six axes, and every face is wound outward.
        for key in ChunkKey::roots() {
            let normal = FACES[usize::from(key.face)][0];
            assert!(key.center().distance(normal) < 1e-12);
            let [_, a, b] = FACES[usize::from(key.face)];
            assert!(a.cross(b).distance(normal) < 1e-12, "face {}", key.face);
        }
        // A child's corners are its parent's corner, edge middles and middle.
        let parent = ChunkKey {
            face: 3,
            level: 2,
            x: 1,
            y: 3,
        };
        let [first, .., last] = parent.children();
        assert!(
            first
                .direction(0.0, 0.0)
                .distance(parent.direction(0.0, 0.0))
                < 1e-12
        );
        assert!(
            first
                .direction(1.0, 1.0)
                .distance(parent.direction(0.5, 0.5))
                < 1e-12
        );
        assert!(
            last.direction(1.0, 1.0)
                .distance(parent.direction(1.0, 1.0))
                < 1e-12
        );
        // Halving a chunk quarters its sag.
        let ratio = parent.sag() / first.sag();
        assert!((3.5..4.5).contains(&ratio), "sag ratio {ratio}");
    }

    #[test]
    fn chunk_vertices_lie_on_the_sphere_and_the_skirt_below_it() {
        let radius = 6.371e6;
        let key = ChunkKey {
            face: 1,
            level: 5,
            x: 17,
            y: 9,
        };
        let mesh = chunk_mesh(key, radius);
        let center = key.center() * radius;
        let positions = attribute3(&mesh, Mesh::ATTRIBUTE_POSITION);
        let normals = attribute3(&mesh, Mesh::ATTRIBUTE_NORMAL);
        let grid = ((GRID + 1) * (GRID + 1)) as usize;
        assert_eq!(positions.len(), grid + 4 * (GRID as usize + 1));
        for (n, (p, normal)) in positions.iter().zip(&normals).enumerate() {
            let at = center + p.as_dvec3();
            let r = at.length();
            if n < grid {
                assert!((r - radius).abs() < 1.0, "vertex {n} at r {r}");
            } else {
                assert!(
                    r < radius - 2.0 * key.sag() * radius,
                    "skirt vertex {n} at r {r}"
                );
            }
            assert!(at.normalize().distance(normal.as_dvec3()) < 1e-6);
        }
        // The middle is where the chunk was placed, in metres.
        assert!(positions[grid / 2].length() < 1.0);
        // Front faces (counter-clockwise) look out: the ground's out of the sphere,
        // the skirt's out of the chunk, where a crack beside it would show it.
        let Some(Indices::U32(indices)) = mesh.indices() else {
            panic!("the chunk has u32 indices");
        };
        for triangle in indices.chunks_exact(3) {
            let [a, b, c] = [0, 1, 2].map(|i| positions[triangle[i] as usize].as_dvec3());
            let facing = (b - a).cross(c - a);
            let middle = (a + b + c) / 3.0;
            let skirt = triangle.iter().any(|&k| k as usize >= grid);
            let out = if skirt { middle } else { center + middle };
            assert!(
                facing.dot(out) > 0.0,
                "triangle {triangle:?} (skirt: {skirt}) faces in"
            );
        }
    }

    #[test]
    fn the_map_lies_in_the_body_fixed_frame_and_no_triangle_wraps_the_date_line() {
        assert_eq!(map_uv(DVec3::X), [0.5, 0.5]);
        let east = map_uv(DVec3::Y);
        assert!((east[0] - 0.75).abs() < 1e-12 && (east[1] - 0.5).abs() < 1e-12);
        assert!(map_uv(DVec3::Z)[1].abs() < 1e-12);
        // No triangle runs the long way round: across the date line (the −X face)
        // or around a pole (the ±Z faces), `u` stays continuous.
        for key in ChunkKey::roots().chain(ChunkKey::roots().flat_map(ChunkKey::children)) {
            let mesh = chunk_mesh(key, 1.0);
            let Some(VertexAttributeValues::Float32x2(uvs)) = mesh.attribute(Mesh::ATTRIBUTE_UV_0)
            else {
                panic!("uvs");
            };
            let Some(Indices::U32(indices)) = mesh.indices() else {
                panic!("indices");
            };
            for triangle in indices.chunks_exact(3) {
                let u = triangle.iter().map(|&k| uvs[k as usize][0]);
                let (low, high) =
                    u.fold((f32::MAX, f32::MIN), |(lo, hi), u| (lo.min(u), hi.max(u)));
                assert!(
                    high - low < 0.3,
                    "a triangle of {key:?} spans u {low}..{high}"
                );
            }
        }
    }
}
