//! The ground of planets and moons: Bevy's standard material extended with relief
//! finer than the surface maps (whose texels are 10 to 40 km wide, blurred from low
//! orbit), and with Earth's city lights kept to its night side. The relief is a
//! tiling height field the client makes at start-up; `assets/shaders/ground.wgsl`
//! lays it on the sphere and says how.

use bevy::asset::RenderAssetUsages;
use bevy::image::{ImageAddressMode, ImageSampler, ImageSamplerDescriptor};
use bevy::pbr::{ExtendedMaterial, MaterialExtension};
use bevy::prelude::*;
use bevy::render::render_resource::{
    AsBindGroup, Extent3d, ShaderType, TextureDimension, TextureFormat,
};
use bevy::shader::ShaderRef;

use super::mipmaps;
use super::noise::fractal;

pub(super) fn plugin(app: &mut App) {
    app.add_plugins(MaterialPlugin::<GroundMaterial>::default());
    app.init_resource::<ReliefTexture>();
}

/// The shader, listed with the sky's so an unattended capture waits for it.
pub(super) const SHADER: &str = "shaders/ground.wgsl";

/// Sun elevation below which city lights shine fully (degrees): civil dusk. Above
/// the horizon none shows.
const DUSK_DEG: f32 = 6.0;

/// Texels along each side of the relief texture.
const RELIEF_SIZE: u32 = 256;

/// Lattice cells across the relief texture at its first octave, and its octaves:
/// features from 32 texels down to 4.
const RELIEF_CELLS: i32 = 8;
const RELIEF_OCTAVES: u32 = 4;

/// The relief's height field: height in red, its slope along the texture's `x` and
/// `y` in green and blue, each from −1 to 1 (the slopes normalised to the steepest),
/// mipmapped, tiling in both directions.
#[derive(Resource, Clone, Debug)]
pub(crate) struct ReliefTexture(Handle<Image>);

impl FromWorld for ReliefTexture {
    fn from_world(world: &mut World) -> Self {
        let mut images = world.resource_mut::<Assets<Image>>();
        Self(images.add(relief_image()))
    }
}

/// The relief's look on one body: how steep, and whether its map shows water.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Relief {
    /// Steepest slope of each octave (0: no relief).
    pub roughness: f32,
    /// Whether the map's blue parts are water, left flat.
    pub water: bool,
}

impl Relief {
    /// A body without relief: clouds, or a map with no ground to shade.
    pub const NONE: Self = Self {
        roughness: 0.0,
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
    /// WebGL2 binds uniform blocks in whole 16 bytes.
    _padding: Vec3,
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
    relief: Handle<Image>,
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
    texture: &ReliefTexture,
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
                _padding: Vec3::ZERO,
            },
            relief: texture.0.clone(),
        },
    }
}

/// The relief texture: fractal noise tiling the square, its slopes by central
/// differences across the wrap.
fn relief_image() -> Image {
    let n = RELIEF_SIZE as usize;
    let heights: Vec<f32> = (0..n * n)
        .map(|k| {
            let cell = RELIEF_CELLS as f32 / RELIEF_SIZE as f32;
            let p = Vec3::new((k % n) as f32 * cell, (k / n) as f32 * cell, 0.5);
            fractal(p, RELIEF_OCTAVES, Some(RELIEF_CELLS), 31)
        })
        .collect();
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
    let mut image = Image::new(
        Extent3d {
            width: RELIEF_SIZE,
            height: RELIEF_SIZE,
            depth_or_array_layers: 1,
        },
        TextureDimension::D2,
        texels,
        TextureFormat::Rgba8Unorm,
        RenderAssetUsages::RENDER_WORLD,
    );
    mipmaps::generate(&mut image);
    image.sampler = ImageSampler::Descriptor(ImageSamplerDescriptor {
        address_mode_u: ImageAddressMode::Repeat,
        address_mode_v: ImageAddressMode::Repeat,
        ..ImageSamplerDescriptor::linear()
    });
    image
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Channel `c` of the top level at (`x`, `y`), decoded to −1..1.
    fn value(image: &Image, x: u32, y: u32, c: usize) -> f32 {
        let data = image.data.as_ref().expect("the relief has data");
        let k = ((y % RELIEF_SIZE * RELIEF_SIZE + x % RELIEF_SIZE) * 4) as usize + c;
        f32::from(data[k]) / 255.0 * 2.0 - 1.0
    }

    #[test]
    fn the_stored_slopes_are_the_heights_slopes() {
        // Slopes are stored normalised: along any row they must follow the height's
        // differences by one factor, the same for x as for y.
        let image = relief_image();
        let mut ratios = Vec::new();
        for y in (0..RELIEF_SIZE).step_by(5) {
            for x in (0..RELIEF_SIZE).step_by(5) {
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
        assert!(ratios.len() > 100, "too few steep texels: {}", ratios.len());
        ratios.sort_by(f32::total_cmp);
        let median = ratios[ratios.len() / 2];
        let agree = ratios
            .iter()
            .filter(|r| (*r / median - 1.0).abs() < 0.15)
            .count();
        assert!(median > 0.0, "slopes point downhill: {median}");
        assert!(
            agree * 10 > ratios.len() * 9,
            "only {agree} of {} slopes match the heights",
            ratios.len()
        );
    }

    #[test]
    fn the_relief_averages_to_flat_in_its_last_mipmap() {
        let image = relief_image();
        let data = image.data.as_ref().expect("the relief has data");
        assert_eq!(image.texture_descriptor.mip_level_count, 9);
        let last = &data[data.len() - 4..];
        for (channel, &b) in last[..3].iter().enumerate() {
            let v = f32::from(b) / 255.0 * 2.0 - 1.0;
            assert!(v.abs() < 0.02, "channel {channel} averages {v}, not flat");
        }
    }

    #[test]
    fn the_relief_tiles_without_a_step_at_its_edges() {
        let image = relief_image();
        let mut worst: f32 = 0.0;
        let mut typical: f32 = 0.0;
        for k in 0..RELIEF_SIZE {
            worst =
                worst.max((value(&image, 0, k, 0) - value(&image, RELIEF_SIZE - 1, k, 0)).abs());
            worst =
                worst.max((value(&image, k, 0, 0) - value(&image, k, RELIEF_SIZE - 1, 0)).abs());
            typical = typical.max((value(&image, 1, k, 0) - value(&image, 0, k, 0)).abs());
        }
        assert!(
            worst <= typical * 1.5,
            "a step of {worst} at the edge, {typical} inside"
        );
    }
}
