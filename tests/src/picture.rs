//! Screenshots read back as pixels, so end-to-end tests judge what a player would
//! see rather than what the client reports about itself.

use std::collections::HashSet;
use std::path::Path;

/// A decoded screenshot's colour pixels.
pub struct Picture {
    pixels: Vec<[u8; 3]>,
}

impl Picture {
    /// Decodes a PNG (RGB or RGBA, 8 bits per channel).
    pub fn open(path: &Path) -> Result<Self, String> {
        let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let decoder = png::Decoder::new(std::io::BufReader::new(file));
        let mut reader = decoder.read_info().map_err(|e| format!("not a PNG: {e}"))?;
        let mut buffer = vec![0; reader.output_buffer_size().ok_or("PNG too large")?];
        let info = reader
            .next_frame(&mut buffer)
            .map_err(|e| format!("the PNG does not decode: {e}"))?;
        let channels = info.color_type.samples();
        if channels < 3 || info.bit_depth != png::BitDepth::Eight {
            return Err(format!(
                "want 8-bit colour, got {:?} at {:?}",
                info.color_type, info.bit_depth
            ));
        }
        let pixels = buffer[..info.buffer_size()]
            .chunks_exact(channels)
            .map(|p| [p[0], p[1], p[2]])
            .collect();
        Ok(Self { pixels })
    }

    /// Mean and standard deviation of the luminance (0–255).
    pub fn luma(&self) -> (f64, f64) {
        let luma = |p: &[u8; 3]| {
            0.2126 * f64::from(p[0]) + 0.7152 * f64::from(p[1]) + 0.0722 * f64::from(p[2])
        };
        let n = self.pixels.len().max(1) as f64;
        let mean = self.pixels.iter().map(luma).sum::<f64>() / n;
        let variance = self
            .pixels
            .iter()
            .map(|p| (luma(p) - mean).powi(2))
            .sum::<f64>()
            / n;
        (mean, variance.sqrt())
    }

    /// How many distinct colours it holds.
    pub fn colours(&self) -> usize {
        self.pixels.iter().collect::<HashSet<_>>().len()
    }

    /// The share of pixels (0–1) for which `predicate` holds.
    pub fn share(&self, predicate: impl Fn([u8; 3]) -> bool) -> f64 {
        let hits = self.pixels.iter().filter(|p| predicate(**p)).count();
        hits as f64 / self.pixels.len().max(1) as f64
    }

    /// Fails the test unless the picture shows something: light and shade, and
    /// many colours.
    pub fn assert_not_blank(&self) {
        let (mean, deviation) = self.luma();
        let colours = self.colours();
        assert!(
            deviation > 8.0 && colours > 200,
            "the screenshot looks blank: mean {mean:.1}, deviation {deviation:.1}, {colours} colours"
        );
    }
}

/// Brighter than black space: a body's ground (textured, lit or in the ambient fill),
/// the ship, text. Space, the stars and the HUD's dark panels make up all but a few
/// per cent of a view without a body in it.
pub fn brighter_than_space([r, g, b]: [u8; 3]) -> bool {
    r.max(g).max(b) >= 25
}
