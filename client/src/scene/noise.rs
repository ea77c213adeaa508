//! Smooth pseudo-random fields for the textures the client paints itself: Perlin's
//! gradient noise on the integer lattice, and sums of it over octaves. Hashed, not
//! drawn from a generator, so a texture comes out the same on every client.

use bevy::math::{IVec3, Vec3};

/// Gradients at the lattice points: the midpoints of a cube's edges (Perlin 2002),
/// which spread the noise's features evenly in every direction.
const GRADIENTS: [Vec3; 12] = [
    Vec3::new(1.0, 1.0, 0.0),
    Vec3::new(-1.0, 1.0, 0.0),
    Vec3::new(1.0, -1.0, 0.0),
    Vec3::new(-1.0, -1.0, 0.0),
    Vec3::new(1.0, 0.0, 1.0),
    Vec3::new(-1.0, 0.0, 1.0),
    Vec3::new(1.0, 0.0, -1.0),
    Vec3::new(-1.0, 0.0, -1.0),
    Vec3::new(0.0, 1.0, 1.0),
    Vec3::new(0.0, -1.0, 1.0),
    Vec3::new(0.0, 1.0, -1.0),
    Vec3::new(0.0, -1.0, -1.0),
];

/// A lattice point's gradient, mixed from its coordinates and `seed`.
fn gradient(point: IVec3, seed: u32) -> Vec3 {
    let mut h = seed
        ^ (point.x as u32).wrapping_mul(0x8da6_b343)
        ^ (point.y as u32).wrapping_mul(0xd816_3841)
        ^ (point.z as u32).wrapping_mul(0xcb1a_b31f);
    h ^= h >> 15;
    h = h.wrapping_mul(0x2c1b_3c6d);
    h ^= h >> 12;
    h = h.wrapping_mul(0x297a_2d39);
    h ^= h >> 15;
    GRADIENTS[(h % 12) as usize]
}

/// Perlin's quintic fade: the blend between lattice points, smooth to the second
/// derivative so lit relief shows no creases along the lattice.
fn fade(t: Vec3) -> Vec3 {
    t * t * t * (t * (t * 6.0 - 15.0) + 10.0)
}

/// Gradient noise at `p`, about −1 to 1 and 0 at every lattice point. With a
/// `period`, the lattice wraps every `period` cells in x and y, so a square of that
/// side tiles seamlessly.
pub(super) fn gradient_noise(p: Vec3, period: Option<i32>, seed: u32) -> f32 {
    let cell = p.floor();
    let f = p - cell;
    let base = cell.as_ivec3();
    let wrap = |point: IVec3| match period {
        Some(n) => IVec3::new(point.x.rem_euclid(n), point.y.rem_euclid(n), point.z),
        None => point,
    };
    let corner = |dx: i32, dy: i32, dz: i32| {
        let offset = IVec3::new(dx, dy, dz);
        gradient(wrap(base + offset), seed).dot(f - offset.as_vec3())
    };
    let w = fade(f);
    let lerp = |a: f32, b: f32, t: f32| a + (b - a) * t;
    let x00 = lerp(corner(0, 0, 0), corner(1, 0, 0), w.x);
    let x10 = lerp(corner(0, 1, 0), corner(1, 1, 0), w.x);
    let x01 = lerp(corner(0, 0, 1), corner(1, 0, 1), w.x);
    let x11 = lerp(corner(0, 1, 1), corner(1, 1, 1), w.x);
    lerp(lerp(x00, x10, w.y), lerp(x01, x11, w.y), w.z)
}

/// `octaves` of gradient noise, each at twice the frequency and half the amplitude
/// of the one before, scaled back to about −1 to 1. A `period` is the first
/// octave's and doubles with the frequency, so the sum tiles as each octave does.
pub(super) fn fractal(p: Vec3, octaves: u32, period: Option<i32>, seed: u32) -> f32 {
    let mut sum = 0.0;
    let mut norm = 0.0;
    for octave in 0..octaves {
        let scale = (1u32 << octave) as f32;
        let amplitude = 1.0 / scale;
        let period = period.map(|n| n << octave);
        sum += amplitude * gradient_noise(p * scale, period, seed.wrapping_add(octave));
        norm += amplitude;
    }
    sum / norm
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples() -> impl Iterator<Item = Vec3> {
        (0..4_000).map(|k| {
            let k = k as f32;
            Vec3::new(k * 0.137, k * 0.071 - 40.0, (k * 0.013).sin() * 9.0)
        })
    }

    #[test]
    fn noise_is_bounded_varied_and_zero_on_the_lattice() {
        let values: Vec<f32> = samples().map(|p| gradient_noise(p, None, 7)).collect();
        let mean = values.iter().sum::<f32>() / values.len() as f32;
        let spread = values.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / values.len() as f32;
        assert!(values.iter().all(|v| v.abs() <= 1.5), "out of range");
        assert!(mean.abs() < 0.05, "mean {mean}");
        assert!(spread.sqrt() > 0.1, "flat: deviation {}", spread.sqrt());
        for p in [Vec3::ZERO, Vec3::new(3.0, -8.0, 2.0)] {
            assert_eq!(gradient_noise(p, None, 7), 0.0);
        }
    }

    #[test]
    fn noise_is_continuous_and_tiles_with_its_period() {
        for p in samples() {
            let step = Vec3::splat(1e-3);
            let jump = (gradient_noise(p + step, None, 3) - gradient_noise(p, None, 3)).abs();
            assert!(jump < 0.02, "jumps by {jump} at {p}");
            for (dx, dy) in [(8.0, 0.0), (0.0, -8.0), (16.0, 24.0)] {
                let moved = p + Vec3::new(dx, dy, 0.0);
                let (a, b) = (fractal(p, 4, Some(8), 3), fractal(moved, 4, Some(8), 3));
                assert!((a - b).abs() < 1e-4, "{a} at {p}, {b} a period away");
            }
        }
    }

    #[test]
    fn seeds_give_different_fields() {
        let differ = samples()
            .filter(|&p| (gradient_noise(p, None, 1) - gradient_noise(p, None, 2)).abs() > 0.05)
            .count();
        assert!(differ > 2_000, "only {differ} of 4000 samples differ");
    }
}
