//! Mipmaps for the globes' textures, made on the CPU: Bevy's image loaders make
//! none, and without them a map seen from afar shimmers as the body turns (each
//! pixel picks one texel of many). Each level averages 2×2 texels of the one above,
//! in linear light for sRGB images so that far globes keep their brightness.

use bevy::asset::RenderAssetUsages;
use bevy::image::{Image, ImageAddressMode, ImageSampler, ImageSamplerDescriptor};
use bevy::render::render_resource::{Extent3d, TextureDimension, TextureFormat};

/// A texture the client makes itself: `width`×`height` RGBA8 `texels` in `format`,
/// with its mipmaps, repeating in `u` (maps, round the date line) and in `v` too
/// when `tiles` (tiling fields).
pub(super) fn made_texture(
    width: u32,
    height: u32,
    texels: Vec<u8>,
    format: TextureFormat,
    tiles: bool,
) -> Image {
    let mut image = Image::new(
        Extent3d {
            width,
            height,
            depth_or_array_layers: 1,
        },
        TextureDimension::D2,
        texels,
        format,
        RenderAssetUsages::RENDER_WORLD,
    );
    generate(&mut image);
    image.sampler = ImageSampler::Descriptor(ImageSamplerDescriptor {
        address_mode_u: ImageAddressMode::Repeat,
        address_mode_v: if tiles {
            ImageAddressMode::Repeat
        } else {
            ImageAddressMode::ClampToEdge
        },
        ..ImageSamplerDescriptor::linear()
    });
    image
}

/// Gives `image` (8-bit RGBA, linear or sRGB) its full chain of mipmaps. Other
/// formats, and images already with mipmaps, are left as they are.
pub(super) fn generate(image: &mut Image) {
    let format = image.texture_descriptor.format;
    let srgb = match format {
        TextureFormat::Rgba8UnormSrgb => true,
        TextureFormat::Rgba8Unorm => false,
        _ => return,
    };
    if image.texture_descriptor.mip_level_count > 1
        || image.texture_descriptor.size.depth_or_array_layers != 1
    {
        return;
    }
    let (mut width, mut height) = (image.width() as usize, image.height() as usize);
    let Some(data) = image.data.as_mut() else {
        return;
    };
    if data.len() != width * height * 4 {
        return;
    }
    let decode = Decoder::new(srgb);
    let mut level: Vec<f32> = data
        .iter()
        .enumerate()
        .map(|(k, &b)| decode.channel(k, b))
        .collect();
    let mut levels = 1;
    while width > 1 || height > 1 {
        let (next_width, next_height) = ((width / 2).max(1), (height / 2).max(1));
        let mut next = Vec::with_capacity(next_width * next_height * 4);
        for y in 0..next_height {
            let rows = [(2 * y).min(height - 1), (2 * y + 1).min(height - 1)];
            for x in 0..next_width {
                let columns = [(2 * x).min(width - 1), (2 * x + 1).min(width - 1)];
                for channel in 0..4 {
                    let sum: f32 = rows
                        .iter()
                        .flat_map(|&r| columns.iter().map(move |&c| (r * width + c) * 4 + channel))
                        .map(|k| level[k])
                        .sum();
                    next.push(sum / 4.0);
                }
            }
        }
        data.extend(next.iter().enumerate().map(|(k, &v)| decode.encode(k, v)));
        (level, width, height) = (next, next_width, next_height);
        levels += 1;
    }
    image.texture_descriptor.mip_level_count = levels;
}

/// Byte to value and back: sRGB colour channels through the sRGB curve, alpha and
/// linear formats straight.
struct Decoder {
    srgb: bool,
    to_linear: [f32; 256],
}

impl Decoder {
    fn new(srgb: bool) -> Self {
        let to_linear = std::array::from_fn(|b| {
            let c = b as f32 / 255.0;
            if !srgb {
                c
            } else if c <= 0.040_45 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        });
        Self { srgb, to_linear }
    }

    /// The value of byte `b` at index `k` of RGBA data.
    fn channel(&self, k: usize, b: u8) -> f32 {
        if k % 4 == 3 {
            f32::from(b) / 255.0
        } else {
            self.to_linear[usize::from(b)]
        }
    }

    /// The byte for value `v` at index `k` of RGBA data.
    fn encode(&self, k: usize, v: f32) -> u8 {
        let c = if self.srgb && k % 4 != 3 {
            if v <= 0.003_130_8 {
                v * 12.92
            } else {
                1.055 * v.powf(1.0 / 2.4) - 0.055
            }
        } else {
            v
        };
        (c.clamp(0.0, 1.0) * 255.0).round() as u8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(
        width: u32,
        height: u32,
        format: TextureFormat,
        texel: impl Fn(u32, u32) -> [u8; 4],
    ) -> Image {
        let bytes = (0..height)
            .flat_map(|y| (0..width).map(move |x| (x, y)))
            .flat_map(|(x, y)| texel(x, y))
            .collect();
        Image::new(
            Extent3d {
                width,
                height,
                depth_or_array_layers: 1,
            },
            TextureDimension::D2,
            bytes,
            format,
            RenderAssetUsages::RENDER_WORLD,
        )
    }

    #[test]
    fn the_chain_runs_down_to_one_texel_of_the_average() {
        // A linear checkerboard of 0 and 200 averages to 100 at every level below.
        let mut checker = image(8, 4, TextureFormat::Rgba8Unorm, |x, y| {
            let v = if (x + y) % 2 == 0 { 0 } else { 200 };
            [v, v, v, 255]
        });
        generate(&mut checker);
        assert_eq!(checker.texture_descriptor.mip_level_count, 4);
        let data = checker.data.as_ref().expect("data");
        // 8×4 + 4×2 + 2×1 + 1×1 texels.
        assert_eq!(data.len(), (32 + 8 + 2 + 1) * 4);
        assert!(data[32 * 4..].chunks(4).all(|t| t == [100, 100, 100, 255]));
    }

    #[test]
    fn srgb_levels_keep_the_brightness_in_linear_light() {
        // Black and white average to half the light, which sRGB writes as 188, not 128.
        let mut stripes = image(2, 2, TextureFormat::Rgba8UnormSrgb, |x, _| {
            let v = if x == 0 { 0 } else { 255 };
            [v, v, v, 255]
        });
        generate(&mut stripes);
        let data = stripes.data.as_ref().expect("data");
        assert_eq!(&data[16..], &[188, 188, 188, 255]);
    }

    #[test]
    fn other_formats_are_left_alone() {
        let mut float = Image::new(
            Extent3d {
                width: 2,
                height: 2,
                depth_or_array_layers: 1,
            },
            TextureDimension::D2,
            vec![0; 2 * 2 * 16],
            TextureFormat::Rgba32Float,
            RenderAssetUsages::RENDER_WORLD,
        );
        generate(&mut float);
        assert_eq!(float.texture_descriptor.mip_level_count, 1);
    }
}
