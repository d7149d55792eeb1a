use ocelli_graph::{HistogramOp, Shape};

/// RGB -> HSV (hue as a fraction of a turn) or back, per pixel of `[N, 3, H, W]`.
pub(crate) fn color_space(x: &[f32], sx: &Shape, to_hsv: bool) -> Vec<f32> {
    let d = sx.dims();
    let plane = d[2] * d[3];
    let mut y = vec![0f32; x.len()];
    for n in 0..d[0] {
        for i in 0..plane {
            let at = |c: usize| (n * 3 + c) * plane + i;
            let v = [x[at(0)], x[at(1)], x[at(2)]];
            let out = if to_hsv { rgb_to_hsv(v) } else { hsv_to_rgb(v) };
            for c in 0..3 {
                y[at(c)] = out[c];
            }
        }
    }
    y
}

fn rgb_to_hsv([r, g, b]: [f32; 3]) -> [f32; 3] {
    let max = r.max(g).max(b);
    let c = max - r.min(g).min(b);
    let s = if max > 0.0 { c / max } else { 0.0 };
    let h = if c <= 0.0 {
        0.0
    } else if max == r {
        ((g - b) / c + 6.0) % 6.0
    } else if max == g {
        (b - r) / c + 2.0
    } else {
        (r - g) / c + 4.0
    };
    [h / 6.0, s, max]
}

fn hsv_to_rgb([h, s, v]: [f32; 3]) -> [f32; 3] {
    let h6 = (h - h.floor()) * 6.0;
    let i = (h6.floor() as usize).min(5);
    let f = h6 - i as f32;
    let (p, q, t) = (v * (1.0 - s), v * (1.0 - s * f), v * (1.0 - s * (1.0 - f)));
    match i {
        0 => [v, t, p],
        1 => [q, v, p],
        2 => [p, v, t],
        3 => [p, q, v],
        4 => [t, p, v],
        _ => [v, p, q],
    }
}

/// Bin of a value in the 256-bin histograms of [`HistogramOp`].
pub(crate) fn bin(v: f32) -> usize {
    ((v.clamp(0.0, 1.0) * 256.0) as usize).min(255)
}

/// Histogram equalisation or percentile contrast stretch of every `H·W` plane.
pub(crate) fn histogram(x: &[f32], sx: &Shape, op: HistogramOp) -> Vec<f32> {
    let plane = sx.dims()[2] * sx.dims()[3];
    let mut y = vec![0f32; x.len()];
    for (p, px) in x.chunks(plane).enumerate() {
        let mut cdf = [0u32; 256];
        for &v in px {
            cdf[bin(v)] += 1;
        }
        for b in 1..256 {
            cdf[b] += cdf[b - 1];
        }
        let total = plane as u32;
        let out = &mut y[p * plane..(p + 1) * plane];
        match op {
            HistogramOp::Equalize => {
                let cdf_min = *cdf.iter().find(|&&c| c > 0).expect("planes are not empty");
                for (o, &v) in out.iter_mut().zip(px) {
                    *o = if total == cdf_min {
                        v.clamp(0.0, 1.0)
                    } else {
                        (cdf[bin(v)] - cdf_min) as f32 / (total - cdf_min) as f32
                    };
                }
            }
            HistogramOp::Stretch { low, high } => {
                let find = |pct: f32| {
                    let target = (pct * 0.01) * total as f32;
                    cdf.iter().position(|&c| c as f32 >= target.max(1.0)).unwrap_or(255)
                };
                let lo_bin = find(low);
                let hi_bin = find(high).max(lo_bin + 1);
                let (lo, hi) = (lo_bin as f32 / 256.0, hi_bin as f32 / 256.0);
                for (o, &v) in out.iter_mut().zip(px) {
                    *o = ((v - lo) / (hi - lo)).clamp(0.0, 1.0);
                }
            }
        }
    }
    y
}
