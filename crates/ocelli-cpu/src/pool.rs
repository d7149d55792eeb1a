use ocelli_graph::{Pool2d, PoolKind, ResizePixels, Shape, UpsampleMode};

use crate::conv::dims4;

/// Max or average pooling (PyTorch semantics). Also returns, for max pooling, the flat index
/// `iy·W + ix` of each maximum in its input plane (first one on ties).
pub(crate) fn pool2d(x: &[f32], sx: &Shape, p: &Pool2d, out: &Shape) -> (Vec<f32>, Vec<i32>) {
    let [n, c, h, w] = dims4(sx);
    let [_, _, oh, ow] = dims4(out);
    let mut y = vec![0f32; n * c * oh * ow];
    let mut idx = vec![0i32; y.len()];
    for plane in 0..n * c {
        let xp = &x[plane * h * w..(plane + 1) * h * w];
        for oy in 0..oh {
            for ox in 0..ow {
                let y0 = (oy * p.stride[0]) as isize - p.padding[0] as isize;
                let x0 = (ox * p.stride[1]) as isize - p.padding[1] as isize;
                // Window clipped to input + padding (the padded extent), then to the input.
                let y1 = (y0 + p.kernel[0] as isize).min((h + p.padding[2]) as isize);
                let x1 = (x0 + p.kernel[1] as isize).min((w + p.padding[3]) as isize);
                let padded_count = ((y1 - y0) * (x1 - x0)) as f64;
                let (mut best, mut best_i, mut sum, mut count) = (f32::NEG_INFINITY, -1i32, 0f64, 0f64);
                for iy in y0.max(0)..y1.min(h as isize) {
                    for ix in x0.max(0)..x1.min(w as isize) {
                        let i = iy as usize * w + ix as usize;
                        let v = xp[i];
                        if v > best || best_i < 0 {
                            best = v;
                            best_i = i as i32;
                        }
                        sum += f64::from(v);
                        count += 1.0;
                    }
                }
                let o = (plane * oh + oy) * ow + ox;
                y[o] = match p.kind {
                    PoolKind::Max => best,
                    PoolKind::Avg if p.count_include_pad => (sum / padded_count) as f32,
                    PoolKind::Avg => (sum / count) as f32,
                };
                idx[o] = best_i;
            }
        }
    }
    (y, idx)
}

/// Scatters `x` into zeroed output planes at the flat indices `idx`.
pub(crate) fn max_unpool2d(x: &[f32], sx: &Shape, idx: &[i32], out: &Shape) -> Vec<f32> {
    let [n, c, h, w] = dims4(sx);
    let [_, _, oh, ow] = dims4(out);
    let mut y = vec![0f32; n * c * oh * ow];
    for plane in 0..n * c {
        for i in 0..h * w {
            let j = idx[plane * h * w + i];
            if j >= 0 && (j as usize) < oh * ow {
                y[plane * oh * ow + j as usize] = x[plane * h * w + i];
            }
        }
    }
    y
}

/// The samples of an [`Op::ResizePixels`](ocelli_graph::Op::ResizePixels) image as a planar
/// `[1, C, H, W]` f32 image in [0, 1].
pub(crate) fn unpack_pixels(words: &[u32], r: &ResizePixels) -> (Vec<f32>, Shape) {
    let (hw, c) = (r.height * r.width, r.channels);
    let per = (32 / r.bits) as usize;
    let max = ((1u32 << r.bits) - 1) as f32;
    let mut planar = vec![0f32; hw * c];
    for e in 0..hw * c {
        let v = (words[e / per] >> ((e % per) as u32 * r.bits)) & ((1u32 << r.bits) - 1);
        planar[(e % c) * hw + e / c] = v as f32 / max;
    }
    (planar, Shape(vec![1, c, r.height, r.width]))
}

/// [`UpsampleMode::BilinearFixedPoint`] straight from 8-bit packed samples: a planar
/// `[1, C, out_h, out_w]` image in [0, 1].
pub(crate) fn resize_pixels_fixed_point(words: &[u32], r: &ResizePixels) -> Vec<f32> {
    let (h, w, c) = (r.height, r.width, r.channels);
    let sample = |yy: usize, xx: usize, ch: usize| -> u32 {
        if yy >= h || xx >= w {
            return 0; // BORDER_CONSTANT 0
        }
        let e = (yy * w + xx) * c + ch;
        (words[e / 4] >> ((e % 4) * 8)) & 0xff
    };
    let mut y = vec![0f32; c * r.out_h * r.out_w];
    for ch in 0..c {
        for oy in 0..r.out_h {
            let (y0, ay) = fixed_point_source(oy, h, r.out_h);
            for ox in 0..r.out_w {
                let (x0, ax) = fixed_point_source(ox, w, r.out_w);
                let sum = (32 - ax) * (32 - ay) * sample(y0, x0, ch)
                    + ax * (32 - ay) * sample(y0, x0 + 1, ch)
                    + (32 - ax) * ay * sample(y0 + 1, x0, ch)
                    + ax * ay * sample(y0 + 1, x0 + 1, ch);
                let v = (32 * sum + (1 << 14)) >> 15;
                y[(ch * r.out_h + oy) * r.out_w + ox] = v as f32 / 255.0;
            }
        }
    }
    y
}

/// The source pixel and its 1/32 fraction of output position `o` resizing `inp` to `out`:
/// `round_half_even(32 · o · inp / out)`, split into `>> 5` and `& 31`.
fn fixed_point_source(o: usize, inp: usize, out: usize) -> (usize, u32) {
    let num = 32 * o * inp;
    let (mut q, r) = (num / out, num % out);
    if 2 * r > out || (2 * r == out && q % 2 == 1) {
        q += 1;
    }
    (q >> 5, (q & 31) as u32)
}

/// Nearest or bilinear resize (PyTorch semantics).
pub(crate) fn upsample(x: &[f32], sx: &Shape, mode: UpsampleMode, out: &Shape) -> Vec<f32> {
    let [n, c, h, w] = dims4(sx);
    let [_, _, oh, ow] = dims4(out);
    let mut y = vec![0f32; n * c * oh * ow];
    for plane in 0..n * c {
        let xp = &x[plane * h * w..(plane + 1) * h * w];
        for oy in 0..oh {
            for ox in 0..ow {
                let v = match mode {
                    UpsampleMode::Nearest => {
                        let iy = ((oy * h) / oh).min(h - 1);
                        let ix = ((ox * w) / ow).min(w - 1);
                        f64::from(xp[iy * w + ix])
                    }
                    UpsampleMode::Area => {
                        let (y0, y1) = (oy * h / oh, ((oy + 1) * h).div_ceil(oh));
                        let (x0, x1) = (ox * w / ow, ((ox + 1) * w).div_ceil(ow));
                        let sum: f64 = (y0..y1).flat_map(|yy| (x0..x1).map(move |xx| f64::from(xp[yy * w + xx]))).sum();
                        sum / ((y1 - y0) * (x1 - x0)) as f64
                    }
                    UpsampleMode::BilinearFixedPoint => unreachable!("inference rejects it outside ResizePixels"),
                    UpsampleMode::Bilinear { .. } | UpsampleMode::BilinearAsymmetric => {
                        let (fy, y0, y1) = source_coord(oy, h, oh, mode);
                        let (fx, x0, x1) = source_coord(ox, w, ow, mode);
                        let at = |yy: usize, xx: usize| f64::from(xp[yy * w + xx]);
                        let top = at(y0, x0) * (1.0 - fx) + at(y0, x1) * fx;
                        let bot = at(y1, x0) * (1.0 - fx) + at(y1, x1) * fx;
                        top * (1.0 - fy) + bot * fy
                    }
                };
                y[(plane * oh + oy) * ow + ox] = v as f32;
            }
        }
    }
    y
}

/// Fractional weight and the two source indices of output position `o` for bilinear resize.
fn source_coord(o: usize, inp: usize, out: usize, mode: UpsampleMode) -> (f64, usize, usize) {
    let src = match mode {
        UpsampleMode::Bilinear { align_corners: true } if out > 1 => o as f64 * (inp - 1) as f64 / (out - 1) as f64,
        UpsampleMode::Bilinear { align_corners: true } => 0.0,
        UpsampleMode::BilinearAsymmetric => o as f64 * inp as f64 / out as f64,
        _ => ((o as f64 + 0.5) * inp as f64 / out as f64 - 0.5).max(0.0),
    };
    let i0 = (src.floor() as usize).min(inp - 1);
    let i1 = (i0 + 1).min(inp - 1);
    (src - i0 as f64, i0, i1)
}
