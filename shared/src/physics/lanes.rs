//! Gravity in vector lanes: one array per coordinate, eight values at a time.
//!
//! The inverse-square sum over the bodies is most of a ship's work, and it is the
//! same arithmetic for every ship and every body. Written over fixed-size arrays it
//! compiles to vector instructions, which `pulp` runs with the widest the CPU has
//! (AVX2 and FMA where present, detected at run time, so one binary still runs on any
//! x86-64). Two layouts: [`gravity`] takes eight ships against all bodies (the fine
//! substeps of ships that thrust or turn), [`BodyLanes`] one ship against bodies
//! eight at a time (the kicks of coasting ships). In [`gravity`] the operations and
//! their order are the one-ship sum's ([`super::gravity::point_acceleration`],
//! [`super::oblateness::j2_acceleration`]) and nothing is fused, so every lane gives
//! the scalar result bit for bit.

use glam::DVec3;
use pulp::Simd;

/// Ships per group.
pub const LANES: usize = 8;

/// One value per lane.
pub type Lane = [f64; LANES];

/// One vector per lane, stored as one array per coordinate.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LaneVec {
    /// x of every lane.
    pub x: Lane,
    /// y of every lane.
    pub y: Lane,
    /// z of every lane.
    pub z: Lane,
}

impl LaneVec {
    /// The vector in `lane`.
    #[inline(always)]
    pub fn get(&self, lane: usize) -> DVec3 {
        DVec3::new(self.x[lane], self.y[lane], self.z[lane])
    }

    /// Stores `value` in `lane`.
    #[inline(always)]
    pub fn set(&mut self, lane: usize, value: DVec3) {
        self.x[lane] = value.x;
        self.y[lane] = value.y;
        self.z[lane] = value.z;
    }
}

/// The bodies' pull on each lane's ship, and the body whose surface is nearest it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LaneGravity {
    /// Acceleration (m/s²).
    pub accel: LaneVec,
    /// Slot of the body with the nearest surface.
    pub nearest: [usize; LANES],
    /// Height above that surface (m).
    pub altitude: Lane,
}

/// Each lane's oblate body: where the ship is from its centre, its unit pole, its
/// GM and `J2·R²` (zero where it has none).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LaneOblate {
    /// Ship position from the body's centre (m).
    pub relative: LaneVec,
    /// The body's north pole.
    pub pole: LaneVec,
    /// The body's GM (m³/s²).
    pub mu: Lane,
    /// The body's `J2·R²` (m²).
    pub j2_r2: Lane,
}

/// Gravity on a ship in each lane at `at`: the point masses at `centers` (GM
/// `gms`, radius `radii`) and the J2 of each lane's oblate body, with each ship's
/// nearest surface. Runs with the widest vector instructions this CPU has.
pub fn gravity(
    at: &LaneVec,
    centers: &[DVec3],
    gms: &[f64],
    radii: &[f64],
    oblate: &LaneOblate,
) -> LaneGravity {
    pulp::Arch::new().dispatch(Sum {
        at,
        centers,
        gms,
        radii,
        oblate,
    })
}

/// The work of [`gravity`], compiled once for each instruction set `pulp` knows.
struct Sum<'a> {
    at: &'a LaneVec,
    centers: &'a [DVec3],
    gms: &'a [f64],
    radii: &'a [f64],
    oblate: &'a LaneOblate,
}

impl pulp::WithSimd for Sum<'_> {
    type Output = LaneGravity;

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) -> LaneGravity {
        gravity_with(
            simd,
            self.at,
            self.centers,
            self.gms,
            self.radii,
            self.oblate,
        )
    }
}

/// [`gravity`] for a caller already inside a `pulp` dispatch, so it inlines into a
/// kernel compiled for the same instructions.
#[inline(always)]
pub fn gravity_with<S: Simd>(
    simd: S,
    at: &LaneVec,
    centers: &[DVec3],
    gms: &[f64],
    radii: &[f64],
    oblate: &LaneOblate,
) -> LaneGravity {
    let mut gravity = point_masses(simd, at, centers, gms, radii);
    add_j2(simd, &mut gravity.accel, oblate);
    gravity
}

#[inline(always)]
fn point_masses<S: Simd>(
    simd: S,
    at: &LaneVec,
    centers: &[DVec3],
    gms: &[f64],
    radii: &[f64],
) -> LaneGravity {
    let mut accel = LaneVec::default();
    let mut altitude = [f64::INFINITY; LANES];
    let mut nearest = [0.0; LANES];
    let (px, _) = S::as_simd_f64s(&at.x);
    let (py, _) = S::as_simd_f64s(&at.y);
    let (pz, _) = S::as_simd_f64s(&at.z);
    let (ax, _) = S::as_mut_simd_f64s(&mut accel.x);
    let (ay, _) = S::as_mut_simd_f64s(&mut accel.y);
    let (az, _) = S::as_mut_simd_f64s(&mut accel.z);
    let (heights, _) = S::as_mut_simd_f64s(&mut altitude);
    let (bodies, _) = S::as_mut_simd_f64s(&mut nearest);
    let zero = simd.splat_f64s(0.0);
    for v in 0..px.len() {
        let (x, y, z) = (px[v], py[v], pz[v]);
        let (mut sx, mut sy, mut sz) = (zero, zero, zero);
        let (mut lowest, mut below) = (simd.splat_f64s(f64::INFINITY), zero);
        for (body, ((center, &gm), &radius)) in centers.iter().zip(gms).zip(radii).enumerate() {
            let dx = simd.sub_f64s(simd.splat_f64s(center.x), x);
            let dy = simd.sub_f64s(simd.splat_f64s(center.y), y);
            let dz = simd.sub_f64s(simd.splat_f64s(center.z), z);
            let r2 = simd.add_f64s(
                simd.add_f64s(simd.mul_f64s(dx, dx), simd.mul_f64s(dy, dy)),
                simd.mul_f64s(dz, dz),
            );
            let r = simd.sqrt_f64s(r2);
            let s = simd.div_f64s(simd.splat_f64s(gm), simd.mul_f64s(r2, r));
            sx = simd.add_f64s(sx, simd.mul_f64s(dx, s));
            sy = simd.add_f64s(sy, simd.mul_f64s(dy, s));
            sz = simd.add_f64s(sz, simd.mul_f64s(dz, s));
            let height = simd.sub_f64s(r, simd.splat_f64s(radius));
            let closer = simd.less_than_f64s(height, lowest);
            lowest = simd.select_f64s(closer, height, lowest);
            below = simd.select_f64s(closer, simd.splat_f64s(body as f64), below);
        }
        (ax[v], ay[v], az[v]) = (sx, sy, sz);
        (heights[v], bodies[v]) = (lowest, below);
    }
    LaneGravity {
        accel,
        nearest: nearest.map(|body| body as usize),
        altitude,
    }
}

#[inline(always)]
fn add_j2<S: Simd>(simd: S, accel: &mut LaneVec, oblate: &LaneOblate) {
    let (r, pole) = (&oblate.relative, &oblate.pole);
    let (rx, _) = S::as_simd_f64s(&r.x);
    let (ry, _) = S::as_simd_f64s(&r.y);
    let (rz, _) = S::as_simd_f64s(&r.z);
    let (nx, _) = S::as_simd_f64s(&pole.x);
    let (ny, _) = S::as_simd_f64s(&pole.y);
    let (nz, _) = S::as_simd_f64s(&pole.z);
    let (mu, _) = S::as_simd_f64s(&oblate.mu);
    let (j2_r2, _) = S::as_simd_f64s(&oblate.j2_r2);
    let (ax, _) = S::as_mut_simd_f64s(&mut accel.x);
    let (ay, _) = S::as_mut_simd_f64s(&mut accel.y);
    let (az, _) = S::as_mut_simd_f64s(&mut accel.z);
    let (mul, add, sub, div) = (
        |a, b| simd.mul_f64s(a, b),
        |a, b| simd.add_f64s(a, b),
        |a, b| simd.sub_f64s(a, b),
        |a, b| simd.div_f64s(a, b),
    );
    for v in 0..rx.len() {
        let (x, y, z) = (rx[v], ry[v], rz[v]);
        let r2 = add(add(mul(x, x), mul(y, y)), mul(z, z));
        let along = add(add(mul(x, nx[v]), mul(y, ny[v])), mul(z, nz[v]));
        let k = div(
            mul(mul(simd.splat_f64s(1.5), j2_r2[v]), mu[v]),
            mul(mul(r2, r2), simd.sqrt_f64s(r2)),
        );
        let radial = sub(
            div(mul(mul(simd.splat_f64s(5.0), along), along), r2),
            simd.splat_f64s(1.0),
        );
        let axial = mul(simd.splat_f64s(2.0), along);
        let oblate = simd.less_than_f64s(simd.splat_f64s(0.0), j2_r2[v]);
        let term = |p, n| mul(sub(mul(p, radial), mul(n, axial)), k);
        ax[v] = simd.select_f64s(oblate, add(ax[v], term(x, nx[v])), ax[v]);
        ay[v] = simd.select_f64s(oblate, add(ay[v], term(y, ny[v])), ay[v]);
        az[v] = simd.select_f64s(oblate, add(az[v], term(z, nz[v])), az[v]);
    }
}

/// Bodies as lanes, for the pull of many bodies on one ship: one body per lane, in
/// groups of [`LANES`], the last group padded with massless bodies far away.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BodyLanes {
    groups: Vec<(LaneVec, Lane)>,
}

/// Where padding lanes sit: far enough that nothing divides by zero.
const FAR: f64 = 1e30;

impl BodyLanes {
    /// Lays out the bodies at `positions` with GM `gms`, leaving out `skip`.
    pub fn fill(&mut self, positions: &[DVec3], gms: &[f64], skip: usize) {
        self.groups.clear();
        let bodies = positions
            .iter()
            .zip(gms)
            .enumerate()
            .filter(|&(b, _)| b != skip);
        for (slot, (_, (&position, &gm))) in bodies.enumerate() {
            let lane = slot % LANES;
            if lane == 0 {
                let far = LaneVec {
                    x: [FAR; LANES],
                    y: [FAR; LANES],
                    z: [FAR; LANES],
                };
                self.groups.push((far, [0.0; LANES]));
            }
            if let Some((at, gm_lanes)) = self.groups.last_mut() {
                at.set(lane, position);
                gm_lanes[lane] = gm;
            }
        }
    }

    /// Point-mass pull of the bodies on a ship at `at` (m/s²), with the widest
    /// vector instructions this CPU has.
    pub fn pull(&self, at: DVec3) -> DVec3 {
        pulp::Arch::new().dispatch(Pull { bodies: self, at })
    }
}

/// The work of [`BodyLanes::pull`].
struct Pull<'a> {
    bodies: &'a BodyLanes,
    at: DVec3,
}

impl pulp::WithSimd for Pull<'_> {
    type Output = DVec3;

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) -> DVec3 {
        let zero = simd.splat_f64s(0.0);
        let (mut sx, mut sy, mut sz) = (zero, zero, zero);
        let (x, y, z) = (
            simd.splat_f64s(self.at.x),
            simd.splat_f64s(self.at.y),
            simd.splat_f64s(self.at.z),
        );
        for (centers, gms) in &self.bodies.groups {
            let (cx, _) = S::as_simd_f64s(&centers.x);
            let (cy, _) = S::as_simd_f64s(&centers.y);
            let (cz, _) = S::as_simd_f64s(&centers.z);
            let (gm, _) = S::as_simd_f64s(gms);
            for v in 0..cx.len() {
                let dx = simd.sub_f64s(cx[v], x);
                let dy = simd.sub_f64s(cy[v], y);
                let dz = simd.sub_f64s(cz[v], z);
                let r2 = simd.add_f64s(
                    simd.add_f64s(simd.mul_f64s(dx, dx), simd.mul_f64s(dy, dy)),
                    simd.mul_f64s(dz, dz),
                );
                let s = simd.div_f64s(gm[v], simd.mul_f64s(r2, simd.sqrt_f64s(r2)));
                sx = simd.add_f64s(sx, simd.mul_f64s(dx, s));
                sy = simd.add_f64s(sy, simd.mul_f64s(dy, s));
                sz = simd.add_f64s(sz, simd.mul_f64s(dz, s));
            }
        }
        DVec3::new(
            simd.reduce_sum_f64s(sx),
            simd.reduce_sum_f64s(sy),
            simd.reduce_sum_f64s(sz),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::physics::gravity::point_acceleration;
    use crate::physics::oblateness::j2_acceleration;

    /// Eight ships scattered from low orbit to far out, one lane each.
    fn ships() -> [DVec3; LANES] {
        std::array::from_fn(|i| {
            let f = i as f64;
            DVec3::new(6.8e6 + f * 3.1e7, -2.0e6 * f, 1.0e6 + f * f * 4.0e5)
        })
    }

    fn lanes(vectors: &[DVec3; LANES]) -> LaneVec {
        let mut out = LaneVec::default();
        for (i, v) in vectors.iter().enumerate() {
            out.set(i, *v);
        }
        out
    }

    #[test]
    fn each_lane_matches_the_one_ship_sum_bit_for_bit() {
        let centers = [
            DVec3::ZERO,
            DVec3::new(3.84e8, 1.0e7, -2.0e6),
            DVec3::new(-1.5e11, 2.0e9, 0.0),
        ];
        let gms = [3.986004418e14, 4.9048695e12, 1.32712440018e20];
        let radii = [6.371e6, 1.7374e6, 6.957e8];
        let pole = DVec3::new(0.1, -0.2, 1.0).normalize();
        let ships = ships();
        let at = lanes(&ships);
        let j2_r2 = std::array::from_fn(|i| if i % 3 == 0 { 0.0 } else { 4.4e10 });
        let oblate = LaneOblate {
            relative: at,
            pole: lanes(&[pole; LANES]),
            mu: [gms[0]; LANES],
            j2_r2,
        };
        let gravity = gravity(&at, &centers, &gms, &radii, &oblate);
        for (i, &ship) in ships.iter().enumerate() {
            let mut expected = DVec3::ZERO;
            for (&center, &gm) in centers.iter().zip(&gms) {
                expected += point_acceleration(ship, center, gm);
            }
            if j2_r2[i] > 0.0 {
                expected += j2_acceleration(ship, pole, gms[0], j2_r2[i]);
            }
            assert_eq!(gravity.accel.get(i), expected, "lane {i}");
            let (nearest, altitude) = centers
                .iter()
                .zip(&radii)
                .map(|(&c, &radius)| (c - ship).length() - radius)
                .enumerate()
                .fold(
                    (0, f64::INFINITY),
                    |best, (b, h)| if h < best.1 { (b, h) } else { best },
                );
            assert_eq!(
                (gravity.nearest[i], gravity.altitude[i]),
                (nearest, altitude)
            );
        }
    }

    #[test]
    fn body_lanes_pull_like_the_bodies_one_by_one() {
        let positions: Vec<DVec3> = (0..11)
            .map(|b| {
                let f = b as f64;
                DVec3::new(1.0e9 * f * f, -3.0e8 * f, 2.0e7 * (f - 5.0))
            })
            .collect();
        let gms: Vec<f64> = (0..11).map(|b| 1.0e12 * (b as f64 + 1.0)).collect();
        let mut lanes = BodyLanes::default();
        lanes.fill(&positions, &gms, 3);
        let ship = DVec3::new(4.0e8, 1.0e8, -5.0e7);
        let expected: DVec3 = (0..11)
            .filter(|&b| b != 3)
            .map(|b| point_acceleration(ship, positions[b], gms[b]))
            .sum();
        let pulled = lanes.pull(ship);
        assert!(
            (pulled - expected).length() <= 1e-14 * expected.length(),
            "{pulled} against {expected}"
        );
        // Leaving out a body takes its pull away.
        lanes.fill(&positions, &gms, 11);
        let all: DVec3 = (0..11)
            .map(|b| point_acceleration(ship, positions[b], gms[b]))
            .sum();
        assert!((lanes.pull(ship) - all).length() <= 1e-14 * all.length());
        assert!((all - expected).length() > 1e-6 * all.length());
    }
}
