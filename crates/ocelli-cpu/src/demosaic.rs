use ocelli_graph::{Demosaic, DemosaicMethod};

/// Mirror index without repeating the edge (`-1 -> 1`, `n -> n-2`), which keeps Bayer phase.
fn reflect(i: isize, n: usize) -> usize {
    let n = n as isize;
    let j = if i < 0 { -i } else { i };
    (if j >= n { 2 * (n - 1) - j } else { j }) as usize
}

/// Unpacks sample `i` from little-endian packed words.
fn sample(words: &[u32], bits: u32, i: usize) -> u32 {
    let per = (32 / bits) as usize;
    let mask = if bits == 32 { u32::MAX } else { (1 << bits) - 1 };
    (words[i / per] >> ((i % per) as u32 * bits)) & mask
}

/// sRGB transfer curve.
fn srgb(v: f64) -> f64 {
    if v <= 0.003_130_8 {
        12.92 * v
    } else {
        1.055 * v.powf(1.0 / 2.4) - 0.055
    }
}

/// Bilinear or Malvar–He–Cutler demosaicing into `[1, 3, H, W]`.
pub(crate) fn demosaic(words: &[u32], d: &Demosaic) -> Vec<f32> {
    let (h, w) = (d.height, d.width);
    let scale = 1.0 / (f64::from(d.white) - f64::from(d.black));
    let raw = |y: isize, x: isize| -> f64 {
        let (yy, xx) = (reflect(y, h), reflect(x, w));
        let v = f64::from(sample(words, d.bits, yy * w + xx));
        (v - f64::from(d.black)) * scale * f64::from(d.wb[d.pattern.color_at(yy, xx)])
    };
    let mut out = vec![0f32; 3 * h * w];
    for y in 0..h {
        for x in 0..w {
            let (yi, xi) = (y as isize, x as isize);
            let at = |dy: isize, dx: isize| raw(yi + dy, xi + dx);
            let c = d.pattern.color_at(y, x);
            let center = at(0, 0);
            let orth1 = at(-1, 0) + at(1, 0) + at(0, -1) + at(0, 1);
            let diag = at(-1, -1) + at(-1, 1) + at(1, -1) + at(1, 1);
            let (horiz1, vert1) = (at(0, -1) + at(0, 1), at(-1, 0) + at(1, 0));
            let (horiz2, vert2) = (at(0, -2) + at(0, 2), at(-2, 0) + at(2, 0));
            let mut rgb = [0f64; 3];
            rgb[c] = center;
            if c == 1 {
                // Green site: one chroma sits left/right, the other above/below.
                let hc = d.pattern.color_at(y, x + 1);
                let vc = d.pattern.color_at(y + 1, x);
                let (hv, vv) = match d.method {
                    DemosaicMethod::Bilinear => (horiz1 / 2.0, vert1 / 2.0),
                    DemosaicMethod::Mhc => (
                        (5.0 * center - diag - horiz2 + 4.0 * horiz1 + 0.5 * vert2) / 8.0,
                        (5.0 * center - diag - vert2 + 4.0 * vert1 + 0.5 * horiz2) / 8.0,
                    ),
                };
                rgb[hc] = hv;
                rgb[vc] = vv;
            } else {
                let other = 2 - c;
                let (g, o) = match d.method {
                    DemosaicMethod::Bilinear => (orth1 / 4.0, diag / 4.0),
                    DemosaicMethod::Mhc => (
                        (4.0 * center + 2.0 * orth1 - horiz2 - vert2) / 8.0,
                        (6.0 * center + 2.0 * diag - 1.5 * (horiz2 + vert2)) / 8.0,
                    ),
                };
                rgb[1] = g;
                rgb[other] = o;
            }
            for (ch, v) in rgb.iter().enumerate() {
                let v = v.clamp(0.0, 1.0);
                out[(ch * h + y) * w + x] = (if d.srgb { srgb(v) } else { v }) as f32;
            }
        }
    }
    out
}
