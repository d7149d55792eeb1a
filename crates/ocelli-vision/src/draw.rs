//! Drawing results onto images: boxes, points and short labels in a 5×7 bitmap font of
//! Ocelli's own (digits, lower-case letters and `.-:%?`; capitals are drawn lower-case and
//! anything else as `?`).

use std::path::Path;

use crate::{PackedImage, Result, VisionError};

/// Glyph rows, top first, the five low bits of each left to right.
const GLYPHS: [(char, [u8; 7]); 41] = [
    ('0', [0b01110, 0b10001, 0b10011, 0b10101, 0b11001, 0b10001, 0b01110]),
    ('1', [0b00100, 0b01100, 0b00100, 0b00100, 0b00100, 0b00100, 0b01110]),
    ('2', [0b01110, 0b10001, 0b00001, 0b00010, 0b00100, 0b01000, 0b11111]),
    ('3', [0b11111, 0b00010, 0b00100, 0b00010, 0b00001, 0b10001, 0b01110]),
    ('4', [0b00010, 0b00110, 0b01010, 0b10010, 0b11111, 0b00010, 0b00010]),
    ('5', [0b11111, 0b10000, 0b11110, 0b00001, 0b00001, 0b10001, 0b01110]),
    ('6', [0b00110, 0b01000, 0b10000, 0b11110, 0b10001, 0b10001, 0b01110]),
    ('7', [0b11111, 0b00001, 0b00010, 0b00100, 0b01000, 0b01000, 0b01000]),
    ('8', [0b01110, 0b10001, 0b10001, 0b01110, 0b10001, 0b10001, 0b01110]),
    ('9', [0b01110, 0b10001, 0b10001, 0b01111, 0b00001, 0b00010, 0b01100]),
    ('a', [0b00000, 0b00000, 0b01110, 0b00001, 0b01111, 0b10001, 0b01111]),
    ('b', [0b10000, 0b10000, 0b10110, 0b11001, 0b10001, 0b10001, 0b11110]),
    ('c', [0b00000, 0b00000, 0b01110, 0b10000, 0b10000, 0b10001, 0b01110]),
    ('d', [0b00001, 0b00001, 0b01101, 0b10011, 0b10001, 0b10001, 0b01111]),
    ('e', [0b00000, 0b00000, 0b01110, 0b10001, 0b11111, 0b10000, 0b01110]),
    ('f', [0b00110, 0b01001, 0b01000, 0b11100, 0b01000, 0b01000, 0b01000]),
    ('g', [0b00000, 0b01111, 0b10001, 0b10001, 0b01111, 0b00001, 0b01110]),
    ('h', [0b10000, 0b10000, 0b10110, 0b11001, 0b10001, 0b10001, 0b10001]),
    ('i', [0b00100, 0b00000, 0b01100, 0b00100, 0b00100, 0b00100, 0b01110]),
    ('j', [0b00010, 0b00000, 0b00110, 0b00010, 0b00010, 0b10010, 0b01100]),
    ('k', [0b10000, 0b10000, 0b10010, 0b10100, 0b11000, 0b10100, 0b10010]),
    ('l', [0b01100, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0b01110]),
    ('m', [0b00000, 0b00000, 0b11010, 0b10101, 0b10101, 0b10001, 0b10001]),
    ('n', [0b00000, 0b00000, 0b10110, 0b11001, 0b10001, 0b10001, 0b10001]),
    ('o', [0b00000, 0b00000, 0b01110, 0b10001, 0b10001, 0b10001, 0b01110]),
    ('p', [0b00000, 0b11110, 0b10001, 0b10001, 0b11110, 0b10000, 0b10000]),
    ('q', [0b00000, 0b01111, 0b10001, 0b10001, 0b01111, 0b00001, 0b00001]),
    ('r', [0b00000, 0b00000, 0b10110, 0b11001, 0b10000, 0b10000, 0b10000]),
    ('s', [0b00000, 0b00000, 0b01111, 0b10000, 0b01110, 0b00001, 0b11110]),
    ('t', [0b01000, 0b01000, 0b11100, 0b01000, 0b01000, 0b01001, 0b00110]),
    ('u', [0b00000, 0b00000, 0b10001, 0b10001, 0b10001, 0b10011, 0b01101]),
    ('v', [0b00000, 0b00000, 0b10001, 0b10001, 0b10001, 0b01010, 0b00100]),
    ('w', [0b00000, 0b00000, 0b10001, 0b10001, 0b10101, 0b10101, 0b01010]),
    ('x', [0b00000, 0b00000, 0b10001, 0b01010, 0b00100, 0b01010, 0b10001]),
    ('y', [0b00000, 0b10001, 0b10001, 0b10001, 0b01111, 0b00001, 0b01110]),
    ('z', [0b00000, 0b00000, 0b11111, 0b00010, 0b00100, 0b01000, 0b11111]),
    ('.', [0b00000, 0b00000, 0b00000, 0b00000, 0b00000, 0b01100, 0b01100]),
    ('-', [0b00000, 0b00000, 0b00000, 0b11111, 0b00000, 0b00000, 0b00000]),
    (':', [0b00000, 0b01100, 0b01100, 0b00000, 0b01100, 0b01100, 0b00000]),
    ('%', [0b11000, 0b11001, 0b00010, 0b00100, 0b01000, 0b10011, 0b00011]),
    ('?', [0b01110, 0b10001, 0b00001, 0b00010, 0b00100, 0b00000, 0b00100]),
];

fn glyph(c: char) -> [u8; 7] {
    let c = c.to_ascii_lowercase();
    if c == ' ' {
        return [0; 7];
    }
    GLYPHS.iter().find(|(g, _)| *g == c).or_else(|| GLYPHS.iter().find(|(g, _)| *g == '?')).map_or([0; 7], |g| g.1)
}

/// An 8-bit RGB image to draw on.
#[derive(Debug, Clone, PartialEq)]
pub struct Canvas {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// Interleaved RGB samples, row-major.
    pub rgb: Vec<u8>,
}

impl Canvas {
    /// The image as 8-bit RGB (grey repeated, alpha dropped, 16-bit samples rounded).
    pub fn from_image(img: &PackedImage) -> Self {
        let l = &img.layout;
        let max = ((1u64 << l.bits) - 1) as f32;
        let mut rgb = Vec::with_capacity(l.height * l.width * 3);
        for p in 0..l.height * l.width {
            for c in 0..3 {
                let s = img.sample(p * l.channels + if l.channels >= 3 { c } else { 0 });
                rgb.push((s as f32 * 255.0 / max).round() as u8);
            }
        }
        Canvas { width: l.width, height: l.height, rgb }
    }

    fn put(&mut self, x: i64, y: i64, colour: [u8; 3]) {
        if (0..self.width as i64).contains(&x) && (0..self.height as i64).contains(&y) {
            let o = (y as usize * self.width + x as usize) * 3;
            self.rgb[o..o + 3].copy_from_slice(&colour);
        }
    }

    fn fill(&mut self, x0: i64, y0: i64, x1: i64, y1: i64, colour: [u8; 3]) {
        for y in y0.max(0)..y1.min(self.height as i64) {
            for x in x0.max(0)..x1.min(self.width as i64) {
                self.put(x, y, colour);
            }
        }
    }

    /// A size that reads at this image's scale: 1 below 512 pixels on the long side, one more per 256 above.
    pub fn scale(&self) -> usize {
        (self.width.max(self.height) / 256).max(1)
    }

    /// The outline of `[x1, y1, x2, y2]`, `thickness` pixels wide, inside the box.
    pub fn rect(&mut self, bbox: [f32; 4], colour: [u8; 3], thickness: usize) {
        let [x0, y0, x1, y1] = bbox.map(|v| v.round() as i64);
        let t = thickness as i64;
        self.fill(x0, y0, x1 + 1, y0 + t, colour);
        self.fill(x0, y1 + 1 - t, x1 + 1, y1 + 1, colour);
        self.fill(x0, y0, x0 + t, y1 + 1, colour);
        self.fill(x1 + 1 - t, y0, x1 + 1, y1 + 1, colour);
    }

    /// A filled square of side `2·radius + 1` centred on `(x, y)`.
    pub fn dot(&mut self, x: f32, y: f32, radius: usize, colour: [u8; 3]) {
        let (x, y, r) = (x.round() as i64, y.round() as i64, radius as i64);
        self.fill(x - r, y - r, x + r + 1, y + r + 1, colour);
    }

    /// `text` with its top-left corner at `(x, y)`, glyphs `scale` pixels per dot, on a filled
    /// `background` one dot wider on every side.
    pub fn text(&mut self, x: f32, y: f32, text: &str, scale: usize, colour: [u8; 3], background: [u8; 3]) {
        let (x, y, s) = (x.round() as i64, y.round() as i64, scale as i64);
        let n = text.chars().count() as i64;
        self.fill(x, y, x + (6 * n + 1) * s, y + 9 * s, background);
        for (i, c) in text.chars().enumerate() {
            for (row, bits) in glyph(c).iter().enumerate() {
                for col in 0..5 {
                    if bits & (0b10000 >> col) != 0 {
                        let (gx, gy) = (x + (1 + 6 * i as i64 + col) * s, y + (1 + row as i64) * s);
                        self.fill(gx, gy, gx + s, gy + s, colour);
                    }
                }
            }
        }
    }

    /// Blends `colour` over every pixel by `opacity · weights[pixel]` (weights row-major, one
    /// per pixel, clamped to [0, 1]; a mask).
    pub fn tint(&mut self, weights: &[f32], colour: [u8; 3], opacity: f32) {
        for (p, &w) in weights.iter().enumerate().take(self.width * self.height) {
            let a = (w.clamp(0.0, 1.0) * opacity.clamp(0.0, 1.0)).clamp(0.0, 1.0);
            for c in 0..3 {
                let v = &mut self.rgb[p * 3 + c];
                *v = (f32::from(*v) * (1.0 - a) + f32::from(colour[c]) * a).round() as u8;
            }
        }
    }

    /// The closed outline through `points`, `thickness` pixels wide.
    pub fn polygon(&mut self, points: &[[f32; 2]], colour: [u8; 3], thickness: usize) {
        let r = (thickness / 2) as i64;
        for (i, &[x0, y0]) in points.iter().enumerate() {
            let [x1, y1] = points[(i + 1) % points.len()];
            let steps = (x1 - x0).abs().max((y1 - y0).abs()).ceil().max(1.0) as usize;
            for k in 0..=steps {
                let t = k as f32 / steps as f32;
                let (x, y) = ((x0 + t * (x1 - x0)).round() as i64, (y0 + t * (y1 - y0)).round() as i64);
                self.fill(x - r, y - r, x - r + thickness as i64, y - r + thickness as i64, colour);
            }
        }
    }

    /// Writes the canvas as an image file of the format its extension names.
    pub fn save(&self, path: &Path) -> Result<()> {
        let img =
            image::RgbImage::from_raw(self.width as u32, self.height as u32, self.rgb.clone()).ok_or_else(|| {
                VisionError::Unsupported(format!("{}: a {}x{} canvas", path.display(), self.width, self.height))
            })?;
        img.save(path).map_err(|e| crate::image_io::image_err(path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_glyph_is_distinct_and_five_wide() {
        for (i, (c, rows)) in GLYPHS.iter().enumerate() {
            assert!(rows.iter().all(|r| r >> 5 == 0), "{c}");
            assert!(GLYPHS[..i].iter().all(|(d, other)| d != c && other != rows), "{c}");
        }
        assert_eq!(glyph('A'), glyph('a'));
        assert_eq!(glyph('~'), glyph('?'));
    }

    #[test]
    fn text_and_boxes_land_where_asked() {
        let mut c = Canvas { width: 40, height: 20, rgb: vec![0; 40 * 20 * 3] };
        c.rect([2.0, 3.0, 30.0, 15.0], [255, 0, 0], 1);
        let at = |c: &Canvas, x: usize, y: usize| c.rgb[(y * c.width + x) * 3..][..3].to_vec();
        assert_eq!(at(&c, 2, 3), [255, 0, 0]);
        assert_eq!(at(&c, 30, 15), [255, 0, 0]);
        assert_eq!(at(&c, 10, 10), [0, 0, 0]);
        c.text(0.0, 0.0, "1", 1, [9, 9, 9], [1, 1, 1]);
        // '1' has its top dot in column 2 of the glyph, drawn after a one-dot margin.
        assert_eq!(at(&c, 3, 1), [9, 9, 9]);
        assert_eq!(at(&c, 1, 1), [1, 1, 1]);
    }

    #[test]
    fn tints_blend_by_weight_and_polygons_close() {
        let mut c = Canvas { width: 4, height: 4, rgb: vec![100; 4 * 4 * 3] };
        let mut weights = vec![0.0; 16];
        weights[5] = 1.0;
        weights[6] = 0.5;
        c.tint(&weights, [200, 0, 100], 1.0);
        let at = |c: &Canvas, x: usize, y: usize| c.rgb[(y * c.width + x) * 3..][..3].to_vec();
        assert_eq!(at(&c, 1, 1), [200, 0, 100]);
        assert_eq!(at(&c, 2, 1), [150, 50, 100]);
        assert_eq!(at(&c, 0, 0), [100, 100, 100]);
        let mut c = Canvas { width: 8, height: 8, rgb: vec![0; 8 * 8 * 3] };
        c.polygon(&[[1.0, 1.0], [6.0, 1.0], [6.0, 5.0], [1.0, 5.0]], [9, 9, 9], 1);
        assert_eq!(at(&c, 3, 1), [9, 9, 9]);
        assert_eq!(at(&c, 1, 3), [9, 9, 9]); // the closing edge
        assert_eq!(at(&c, 3, 3), [0, 0, 0]);
    }
}
