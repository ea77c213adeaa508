//! Surface maps painted by the client for the bodies no public-domain map was found
//! for (see `assets/README.md`): Jupiter's belts and zones with the Great Red Spot,
//! and Venus' cloud deck. They are equirectangular like the files in
//! `assets/textures` and laid on the globe the same way, and the noise is sampled on
//! the sphere itself, so there is no seam at the date line and no pinch at the poles.

use std::f32::consts::{PI, TAU};

use bevy::image::Image;
use bevy::math::Vec3;
use bevy::render::render_resource::TextureFormat;

use super::mipmaps;
use super::noise::fractal;

/// Jupiter's belts (dark) and zones (light) from south to north: the latitude where
/// each band ends (degrees, planetographic) and its colour (sRGB). Latitudes roughly
/// as the British Astronomical Association's Jupiter Section charts them (Rogers,
/// *The Giant Planet Jupiter*, 1995); colours chosen by eye from Cassini's 2000
/// true-colour mosaic.
const JUPITER_BANDS: [(f32, [f32; 3]); 11] = [
    (-45.0, [0.60, 0.56, 0.52]), // south polar region
    (-36.0, [0.80, 0.74, 0.64]), // south temperate zone
    (-27.0, [0.66, 0.55, 0.45]), // south temperate belt
    (-20.0, [0.90, 0.85, 0.76]), // south tropical zone
    (-7.0, [0.70, 0.52, 0.38]),  // south equatorial belt
    (7.0, [0.91, 0.84, 0.70]),   // equatorial zone
    (18.0, [0.64, 0.46, 0.34]),  // north equatorial belt
    (24.0, [0.90, 0.84, 0.74]),  // north tropical zone
    (31.0, [0.68, 0.57, 0.47]),  // north temperate belt
    (38.0, [0.84, 0.78, 0.68]),  // north temperate zone
    (90.0, [0.62, 0.57, 0.52]),  // north polar region
];

/// Degrees over which one band blends into the next.
const BAND_EDGE_DEG: f32 = 1.5;

/// The Great Red Spot: centre (longitude, latitude, degrees), half-length and
/// half-width (degrees), colour (sRGB). About 16 000 km by 11 000 km at 22° S
/// (NASA, Juno, 2017), which on Jupiter is 14° of longitude by 9° of latitude.
const RED_SPOT: ([f32; 2], [f32; 2], [f32; 3]) = ([-60.0, -22.0], [7.0, 4.5], [0.80, 0.47, 0.34]);

/// Map size: Jupiter's bands need the width; Venus' haze is nearly featureless.
const JUPITER_SIZE: (u32, u32) = (1024, 512);
const VENUS_SIZE: (u32, u32) = (512, 256);

/// The painted map of `name`, if the client paints one; `color` is the body's
/// catalogue colour (sRGB), which Venus' clouds are shaded around.
pub(super) fn map(name: &str, color: [f32; 3]) -> Option<Image> {
    match name {
        "Jupiter" => Some(paint(JUPITER_SIZE, jupiter)),
        "Venus" => Some(paint(VENUS_SIZE, |direction| venus(direction, color))),
        _ => None,
    }
}

/// An sRGB map of `size` whose every texel is `color_at` its body-fixed direction
/// (+X the prime meridian, +Z north; `u` 0.5 on the prime meridian growing east),
/// with its mipmaps, repeating in `u` as the loaded maps do.
fn paint(size: (u32, u32), color_at: impl Fn(Vec3) -> [f32; 3]) -> Image {
    let (width, height) = size;
    let mut texels = Vec::with_capacity((width * height * 4) as usize);
    for row in 0..height {
        let latitude = PI * (0.5 - (row as f32 + 0.5) / height as f32);
        for column in 0..width {
            let longitude = TAU * ((column as f32 + 0.5) / width as f32 - 0.5);
            let direction = Vec3::new(
                latitude.cos() * longitude.cos(),
                latitude.cos() * longitude.sin(),
                latitude.sin(),
            );
            let [r, g, b] = color_at(direction);
            texels.extend([r, g, b, 1.0].map(|c| (c.clamp(0.0, 1.0) * 255.0).round() as u8));
        }
    }
    mipmaps::made_texture(width, height, texels, TextureFormat::Rgba8UnormSrgb, false)
}

/// Jupiter at `direction`: its bands, their edges rippled and streaked east–west by
/// the jets, and the Great Red Spot.
fn jupiter(direction: Vec3) -> [f32; 3] {
    // Noise stretched north–south runs in streaks along the latitude lines.
    let zonal = direction * Vec3::new(3.0, 3.0, 14.0);
    let ripple = fractal(zonal, 4, None, 11);
    let latitude = direction.z.asin().to_degrees() + 2.2 * ripple;
    let mut color = band_color(latitude);
    let streaks = fractal(direction * Vec3::new(12.0, 12.0, 60.0), 3, None, 12);
    let shade = 1.0 + 0.07 * streaks;
    color = color.map(|c| c * shade);
    let longitude = direction.y.atan2(direction.x).to_degrees();
    let ([spot_longitude, spot_latitude], [half_length, half_width], spot) = RED_SPOT;
    let across = ((longitude - spot_longitude) / half_length).powi(2)
        + ((latitude - spot_latitude) / half_width).powi(2);
    let inside = 1.0 - smoothstep(0.6, 1.0, across);
    std::array::from_fn(|k| color[k] + (spot[k] - color[k]) * inside)
}

/// The band colour at `latitude` (degrees), blended across band edges.
fn band_color(latitude: f32) -> [f32; 3] {
    let mut color = JUPITER_BANDS[0].1;
    for pair in JUPITER_BANDS.windows(2) {
        let (edge, next) = (pair[0].0, pair[1].1);
        let t = smoothstep(edge - BAND_EDGE_DEG, edge + BAND_EDGE_DEG, latitude);
        color = std::array::from_fn(|k| color[k] + (next[k] - color[k]) * t);
    }
    color
}

/// Venus at `direction`: a pale, nearly featureless deck in `color`, with the faint
/// east–west streaks and brighter polar collars that photographs in visible light
/// show.
fn venus(direction: Vec3, color: [f32; 3]) -> [f32; 3] {
    let streaks = fractal(direction * Vec3::new(2.5, 2.5, 9.0), 4, None, 21);
    let polar = smoothstep(0.75, 0.95, direction.z.abs());
    let shade = 0.95 + 0.08 * streaks + 0.05 * polar;
    color.map(|c| c * shade)
}

fn smoothstep(low: f32, high: f32, x: f32) -> f32 {
    let t = ((x - low) / (high - low)).clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sRGB texel at (`column`, `row`) of the full-size map.
    fn texel(image: &Image, column: u32, row: u32) -> [f32; 3] {
        let width = image.width();
        let data = image.data.as_ref().expect("painted maps have data");
        let at = ((row * width + column) * 4) as usize;
        [0, 1, 2].map(|k| f32::from(data[at + k]) / 255.0)
    }

    fn brightness(color: [f32; 3]) -> f32 {
        color.iter().sum::<f32>() / 3.0
    }

    /// Mean brightness of the row at `latitude` (degrees).
    fn row_brightness(image: &Image, latitude: f32) -> f32 {
        let row = ((0.5 - latitude / 180.0) * image.height() as f32) as u32;
        let sum: f32 = (0..image.width())
            .map(|c| brightness(texel(image, c, row)))
            .sum();
        sum / image.width() as f32
    }

    #[test]
    fn jupiters_belts_are_darker_than_its_zones() {
        let image = map("Jupiter", [0.85, 0.75, 0.6]).expect("Jupiter is painted");
        let (equatorial_zone, north_belt, south_belt) = (
            row_brightness(&image, 0.0),
            row_brightness(&image, 12.5),
            row_brightness(&image, -13.5),
        );
        assert!(
            north_belt < equatorial_zone - 0.08 && south_belt < equatorial_zone - 0.08,
            "belts {north_belt}, {south_belt} against the zone {equatorial_zone}"
        );
    }

    #[test]
    fn the_great_red_spot_is_red_in_the_south_tropics() {
        let image = map("Jupiter", [0.85, 0.75, 0.6]).expect("Jupiter is painted");
        let ([longitude, latitude], ..) = RED_SPOT;
        let column = ((longitude / 360.0 + 0.5) * image.width() as f32) as u32;
        let row = ((0.5 - latitude / 180.0) * image.height() as f32) as u32;
        let [r, g, b] = texel(&image, column, row);
        assert!(r > g + 0.2 && r > b + 0.3, "the spot is ({r}, {g}, {b})");
        let [r, g, _] = texel(&image, (column + image.width() / 2) % image.width(), row);
        assert!(
            r < g + 0.2,
            "half a turn away the zone is not red: ({r}, {g})"
        );
    }

    #[test]
    fn painted_maps_meet_across_the_date_line_and_carry_mipmaps() {
        for name in ["Jupiter", "Venus"] {
            let image = map(name, [0.9, 0.85, 0.66]).expect("painted");
            let last = image.width() - 1;
            for row in (0..image.height()).step_by(7) {
                let (west, east) = (texel(&image, 0, row), texel(&image, last, row));
                let step = (0..3)
                    .map(|k| (west[k] - east[k]).abs())
                    .fold(0.0, f32::max);
                assert!(
                    step < 0.06,
                    "{name} steps by {step} across the date line at row {row}"
                );
            }
            assert_eq!(
                image.texture_descriptor.mip_level_count,
                image.width().max(image.height()).ilog2() + 1
            );
        }
    }

    #[test]
    fn venus_stays_close_to_its_catalogue_colour() {
        let color = [0.93, 0.85, 0.66];
        let image = map("Venus", color).expect("Venus is painted");
        let mean = row_brightness(&image, 10.0);
        assert!(
            (mean - brightness(color)).abs() < 0.06,
            "Venus' clouds average {mean}"
        );
    }
}
