//! The ground of planets and moons: Bevy's standard material extended with relief
//! finer than the surface maps (whose texels are 10 to 40 km wide, blurred from low
//! orbit), and with Earth's city lights kept to its night side. The relief is two
//! tiling height fields the client makes at start-up, hills and craters;
//! `assets/shaders/ground.wgsl` lays them on the sphere and says how.

use bevy::pbr::{ExtendedMaterial, MaterialExtension};
use bevy::prelude::*;
use bevy::render::render_resource::{AsBindGroup, ShaderType, TextureFormat};
use bevy::shader::ShaderRef;

use super::mipmaps;
use super::noise::fractal;

pub(super) fn plugin(app: &mut App) {
    app.add_plugins(MaterialPlugin::<GroundMaterial>::default());
    app.init_resource::<ReliefTextures>();
}

/// The shader, listed with the sky's so an unattended capture waits for it.
pub(super) const SHADER: &str = "shaders/ground.wgsl";

/// Sun elevation below which city lights shine fully (degrees): civil dusk. Above
/// the horizon none shows.
const DUSK_DEG: f32 = 6.0;

/// Texels along each side of the relief textures.
const RELIEF_SIZE: u32 = 256;

/// Lattice cells across the hills' texture at its first octave, and its octaves:
/// features from 32 texels down to 4.
const HILL_CELLS: i32 = 8;
const HILL_OCTAVES: u32 = 4;

/// Craters in the craters' texture, and their smallest and largest radius
/// (texels). Radii follow a power law, the number larger than a size falling with
/// its square: about the slope of lunar crater counts between a few and a few tens
/// of kilometres (Neukum et al., 2001, "Cratering records in the inner Solar
/// System").
const CRATERS: usize = 160;
const CRATER_RADII: (f32, f32) = (3.0, 36.0);
/// A simple crater's depth and rim height, in its radius (Pike, 1977: depth about a
/// fifth of the diameter, rim about a twenty-fifth).
const CRATER_DEPTH: f32 = 0.4;
const CRATER_RIM: f32 = 0.08;
/// How far a crater's ejecta reach (radii).
const CRATER_REACH: f32 = 3.0;

/// The relief's two height fields, each with height in red and its slope along the
/// texture's `x` and `y` in green and blue, from −1 to 1 (the slopes normalised to
/// the steepest), mipmapped, tiling in both directions: rolling hills, and craters.
#[derive(Resource, Clone, Debug)]
pub(crate) struct ReliefTextures {
    hills: Handle<Image>,
    craters: Handle<Image>,
}

impl FromWorld for ReliefTextures {
    fn from_world(world: &mut World) -> Self {
        let mut images = world.resource_mut::<Assets<Image>>();
        Self {
            hills: images.add(height_image(&hills())),
            craters: images.add(height_image(&craters())),
        }
    }
}

/// The relief's look on one body: how steep, and whether its map shows water.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Relief {
    /// Steepest slope of each octave of hills (0: no relief).
    pub roughness: f32,
    /// Craters' share of the relief, to the hills' 1.
    pub craters: f32,
    /// Whether the map's blue parts are water, left flat.
    pub water: bool,
}

impl Relief {
    /// A body without relief: clouds, or a map with no ground to shade.
    pub const NONE: Self = Self {
        roughness: 0.0,
        craters: 0.0,
        water: false,
    };
}

/// The ground shader's uniforms.
#[derive(ShaderType, Clone, Copy, Debug)]
struct GroundUniform {
    /// Sine of the Sun's elevation above which no city lights show.
    day: f32,
    /// Sine of the Sun's elevation below which they all do.
    night: f32,
    /// Steepest slope of each octave of relief.
    roughness: f32,
    /// 1 where the map's blue parts are water.
    water: f32,
    /// The body's radius (m).
    radius: f32,
    /// Craters' share of the relief, to the hills' 1.
    craters: f32,
    /// WebGL2 binds uniform blocks in whole 16 bytes.
    _padding: Vec2,
}

/// Relief under the map and city lights on the night side, added to the standard
/// material.
#[derive(Asset, TypePath, AsBindGroup, Clone, Debug)]
pub(crate) struct Ground {
    // Bindings from 100 up: the standard material's own take the ones below.
    #[uniform(100)]
    ground: GroundUniform,
    #[texture(101)]
    #[sampler(102)]
    hills: Handle<Image>,
    #[texture(103)]
    craters: Handle<Image>,
}

impl MaterialExtension for Ground {
    fn fragment_shader() -> ShaderRef {
        SHADER.into()
    }
}

/// A planet's or moon's surface.
pub(crate) type GroundMaterial = ExtendedMaterial<StandardMaterial, Ground>;

/// `surface` on a body of `radius` (m) with `relief` under its map.
pub(crate) fn ground(
    surface: StandardMaterial,
    radius: f64,
    relief: Relief,
    textures: &ReliefTextures,
) -> GroundMaterial {
    ExtendedMaterial {
        base: surface,
        extension: Ground {
            ground: GroundUniform {
                day: 0.0,
                night: -DUSK_DEG.to_radians().sin(),
                roughness: relief.roughness,
                water: if relief.water { 1.0 } else { 0.0 },
                radius: radius as f32,
                craters: relief.craters,
                _padding: Vec2::ZERO,
            },
            hills: textures.hills.clone(),
            craters: textures.craters.clone(),
        },
    }
}

/// Rolling hills: fractal noise tiling the square.
fn hills() -> Vec<f32> {
    let n = RELIEF_SIZE as usize;
    let cell = HILL_CELLS as f32 / RELIEF_SIZE as f32;
    (0..n * n)
        .map(|k| {
            let p = Vec3::new((k % n) as f32 * cell, (k / n) as f32 * cell, 0.5);
            fractal(p, HILL_OCTAVES, Some(HILL_CELLS), 31)
        })
        .collect()
}

/// Bowl-shaped craters with raised rims and ejecta falling off with the cube of
/// the distance, placed and sized by a fixed sequence, wrapping round the square.
fn craters() -> Vec<f32> {
    let n = RELIEF_SIZE as usize;
    let side = RELIEF_SIZE as f32;
    let mut heights = vec![0.0; n * n];
    let mut random = Sequence(0x2545_f491);
    let (smallest, largest) = CRATER_RADII;
    for _ in 0..CRATERS {
        let (cx, cy) = (random.next() * side, random.next() * side);
        // Inverse of the power law's cumulative count, cut at the largest.
        let radius = (smallest / (1.0 - random.next()).sqrt()).min(largest);
        let reach = (radius * CRATER_REACH).ceil() as i32;
        for dy in -reach..=reach {
            for dx in -reach..=reach {
                let (x, y) = (cx.floor() as i32 + dx, cy.floor() as i32 + dy);
                let offset = Vec2::new(x as f32 + 0.5 - cx, y as f32 + 0.5 - cy);
                let k = y.rem_euclid(n as i32) as usize * n + x.rem_euclid(n as i32) as usize;
                heights[k] += radius * crater_profile(offset.length() / radius);
            }
        }
    }
    heights
}

/// A crater's height at `x` radii from its centre, in radii: a parabolic bowl up to
/// the rim, then ejecta falling to nothing at [`CRATER_REACH`].
fn crater_profile(x: f32) -> f32 {
    if x < 1.0 {
        CRATER_DEPTH * (x * x - 1.0) + CRATER_RIM
    } else if x < CRATER_REACH {
        let floor = CRATER_REACH.powi(-3);
        CRATER_RIM * (x.powi(-3) - floor) / (1.0 - floor)
    } else {
        0.0
    }
}

/// A fixed sequence of numbers in [0, 1) (PCG's RXS-M-XS output on an LCG), so the
/// craters fall in the same places on every client.
struct Sequence(u32);

impl Sequence {
    fn next(&mut self) -> f32 {
        self.0 = self.0.wrapping_mul(747_796_405).wrapping_add(2_891_336_453);
        let word = ((self.0 >> ((self.0 >> 28) + 4)) ^ self.0).wrapping_mul(277_803_737);
        ((word >> 22) ^ word) as f32 / (u32::MAX as f32 + 1.0)
    }
}

/// The texture of a square height field `heights` (row by row, tiling): heights
/// about their mean, slopes by central differences across the wrap.
fn height_image(heights: &[f32]) -> Image {
    let n = RELIEF_SIZE as usize;
    let mean = heights.iter().sum::<f32>() / heights.len() as f32;
    let at = |x: usize, y: usize| heights[(y % n) * n + x % n] - mean;
    let slopes: Vec<[f32; 2]> = (0..n * n)
        .map(|k| {
            let (x, y) = (k % n, k / n);
            [
                at(x + 1, y) - at(x + n - 1, y),
                at(x, y + 1) - at(x, y + n - 1),
            ]
        })
        .collect();
    let tallest = heights
        .iter()
        .map(|h| (h - mean).abs())
        .fold(f32::EPSILON, f32::max);
    let steepest = slopes
        .iter()
        .flatten()
        .map(|s| s.abs())
        .fold(f32::EPSILON, f32::max);
    let byte = |v: f32| ((v * 0.5 + 0.5).clamp(0.0, 1.0) * 255.0).round() as u8;
    let texels = (0..n * n)
        .flat_map(|k| {
            let [sx, sy] = slopes[k];
            [
                byte((heights[k] - mean) / tallest),
                byte(sx / steepest),
                byte(sy / steepest),
                255,
            ]
        })
        .collect();
    mipmaps::made_texture(
        RELIEF_SIZE,
        RELIEF_SIZE,
        texels,
        TextureFormat::Rgba8Unorm,
        true,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields() -> [(&'static str, Image); 2] {
        [
            ("hills", height_image(&hills())),
            ("craters", height_image(&craters())),
        ]
    }

    /// Channel `c` of the top level at (`x`, `y`), decoded to −1..1.
    fn value(image: &Image, x: u32, y: u32, c: usize) -> f32 {
        let data = image.data.as_ref().expect("the relief has data");
        let k = ((y % RELIEF_SIZE * RELIEF_SIZE + x % RELIEF_SIZE) * 4) as usize + c;
        f32::from(data[k]) / 255.0 * 2.0 - 1.0
    }

    #[test]
    fn the_stored_slopes_are_the_heights_slopes() {
        // Slopes are stored normalised: they must follow the height's differences by
        // one factor, the same for x as for y.
        for (name, image) in fields() {
            let mut ratios = Vec::new();
            for y in (0..RELIEF_SIZE).step_by(3) {
                for x in (0..RELIEF_SIZE).step_by(3) {
                    let dx = value(&image, x + 1, y, 0) - value(&image, x + RELIEF_SIZE - 1, y, 0);
                    let dy = value(&image, x, y + 1, 0) - value(&image, x, y + RELIEF_SIZE - 1, 0);
                    for (difference, slope) in
                        [(dx, value(&image, x, y, 1)), (dy, value(&image, x, y, 2))]
                    {
                        if slope.abs() > 0.3 {
                            ratios.push(difference / slope);
                        }
                    }
                }
            }
            assert!(
                ratios.len() > 100,
                "{name}: too few steep texels: {}",
                ratios.len()
            );
            ratios.sort_by(f32::total_cmp);
            let median = ratios[ratios.len() / 2];
            let agree = ratios
                .iter()
                .filter(|r| (*r / median - 1.0).abs() < 0.2)
                .count();
            assert!(median > 0.0, "{name}: slopes point downhill: {median}");
            assert!(
                agree * 10 > ratios.len() * 9,
                "{name}: only {agree} of {} slopes match the heights",
                ratios.len()
            );
        }
    }

    #[test]
    fn the_relief_averages_to_flat_in_its_last_mipmap() {
        for (name, image) in fields() {
            let data = image.data.as_ref().expect("the relief has data");
            assert_eq!(image.texture_descriptor.mip_level_count, 9);
            let last = &data[data.len() - 4..];
            for (channel, &b) in last[..3].iter().enumerate() {
                let v = f32::from(b) / 255.0 * 2.0 - 1.0;
                assert!(
                    v.abs() < 0.02,
                    "{name}: channel {channel} averages {v}, not flat"
                );
            }
        }
    }

    #[test]
    fn the_relief_tiles_without_a_step_at_its_edges() {
        for (name, image) in fields() {
            let mut worst: f32 = 0.0;
            let mut typical: f32 = 0.0;
            for k in 0..RELIEF_SIZE {
                let across =
                    |x0, y0, x1, y1| (value(&image, x0, y0, 0) - value(&image, x1, y1, 0)).abs();
                worst = worst.max(across(0, k, RELIEF_SIZE - 1, k));
                worst = worst.max(across(k, 0, k, RELIEF_SIZE - 1));
                typical = typical.max(across(1, k, 0, k)).max(across(k, 1, k, 0));
            }
            assert!(
                worst <= typical * 1.5,
                "{name}: a step of {worst} at the edge, {typical} inside"
            );
        }
    }

    #[test]
    fn a_crater_is_a_bowl_below_a_raised_rim_fading_into_the_plain() {
        let floor = crater_profile(0.0);
        let rim = crater_profile(1.0);
        assert!(
            (rim - floor - CRATER_DEPTH).abs() < 1e-6,
            "rim to floor {}",
            rim - floor
        );
        assert!(floor < 0.0 && rim > 0.0);
        let just_inside = crater_profile(1.0 - 1e-4);
        assert!((just_inside - rim).abs() < 1e-3, "the rim is continuous");
        assert!(crater_profile(2.0) > 0.0 && crater_profile(2.0) < rim);
        assert!(crater_profile(CRATER_REACH - 1e-3).abs() < 1e-4);
        assert_eq!(crater_profile(CRATER_REACH + 1.0), 0.0);
    }
}
