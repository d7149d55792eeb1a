use ocelli_graph::{PoolKind, RoiAlign, RoiPool, Shape};

use crate::conv::dims4;

/// ONNX RoiAlign, following the operator's reference implementation step by step. Regions
/// whose batch index is out of range pool to zeros.
pub(crate) fn roi_align(x: &[f32], sx: &Shape, rois: &[f32], batch: &[i32], p: &RoiAlign) -> Vec<f32> {
    let [n, c, h, w] = dims4(sx);
    let (ph_n, pw_n) = (p.out_h, p.out_w);
    let mut out = vec![0f32; batch.len() * c * ph_n * pw_n];
    let offset = if p.half_pixel { 0.5 } else { 0.0 };
    for (r, &b) in batch.iter().enumerate() {
        if b < 0 || b as usize >= n {
            continue; // a region of a batch that does not exist pools to zeros
        }
        let roi: Vec<f64> =
            rois[r * 4..r * 4 + 4].iter().map(|&v| f64::from(v) * f64::from(p.spatial_scale) - offset).collect();
        let (mut rw, mut rh) = (roi[2] - roi[0], roi[3] - roi[1]);
        if !p.half_pixel {
            rw = rw.max(1.0);
            rh = rh.max(1.0);
        }
        let (bin_h, bin_w) = (rh / ph_n as f64, rw / pw_n as f64);
        let grid_h = if p.sampling_ratio > 0 { p.sampling_ratio } else { (rh / ph_n as f64).ceil() as usize };
        let grid_w = if p.sampling_ratio > 0 { p.sampling_ratio } else { (rw / pw_n as f64).ceil() as usize };
        let count = (grid_h * grid_w).max(1) as f64;
        for ch in 0..c {
            let plane = &x[(b as usize * c + ch) * h * w..][..h * w];
            for ph in 0..ph_n {
                for pw in 0..pw_n {
                    let mut acc: Option<f64> = None;
                    let mut sum = 0.0;
                    for iy in 0..grid_h {
                        let y = roi[1] + ph as f64 * bin_h + (iy as f64 + 0.5) * bin_h / grid_h as f64;
                        for ix in 0..grid_w {
                            let xx = roi[0] + pw as f64 * bin_w + (ix as f64 + 0.5) * bin_w / grid_w as f64;
                            let taps = bilinear_taps(y, xx, h, w);
                            let vals: Vec<f64> = taps.iter().map(|&(i, wt)| wt * f64::from(plane[i])).collect();
                            sum += vals.iter().sum::<f64>();
                            let m = vals.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                            acc = Some(acc.map_or(m, |a| a.max(m)));
                        }
                    }
                    let v = match p.mode {
                        PoolKind::Avg => sum / count,
                        PoolKind::Max => acc.unwrap_or(0.0),
                    };
                    out[((r * c + ch) * ph_n + ph) * pw_n + pw] = v as f32;
                }
            }
        }
    }
    out
}

/// [`ocelli_graph::Op::CropResize`]: each region's integer rectangle, clipped to its map,
/// area-resized (adaptive average pooling, summed in f64).
pub(crate) fn crop_resize(x: &[f32], sx: &Shape, rois: &[f32], batch: &[i32], (oh, ow): (usize, usize)) -> Vec<f32> {
    let [n, c, h, w] = dims4(sx);
    let mut out = vec![0f32; batch.len() * c * oh * ow];
    for (r, &b) in batch.iter().enumerate() {
        let roi = &rois[r * 4..r * 4 + 4];
        if b < 0 || b as usize >= n || roi.iter().any(|v| v.is_nan()) {
            continue;
        }
        // Floored corners clipped to [0, side]: the crop's rows y0..y1 and columns x0..x1.
        let clip = |v: f32, side: usize| v.floor().clamp(0.0, side as f32) as usize;
        let (x0, x1) = (clip(roi[0], w), clip(roi[2], w));
        let (y0, y1) = (clip(roi[1], h), clip(roi[3], h));
        if x1 <= x0 || y1 <= y0 {
            continue;
        }
        let (ch_, cw) = (y1 - y0, x1 - x0);
        for ch in 0..c {
            let plane = &x[(b as usize * c + ch) * h * w..][..h * w];
            for i in 0..oh {
                let (r0, r1) = (y0 + i * ch_ / oh, y0 + ((i + 1) * ch_).div_ceil(oh));
                for j in 0..ow {
                    let (c0, c1) = (x0 + j * cw / ow, x0 + ((j + 1) * cw).div_ceil(ow));
                    let sum: f64 =
                        (r0..r1).flat_map(|yy| &plane[yy * w + c0..yy * w + c1]).map(|&v| f64::from(v)).sum();
                    out[((r * c + ch) * oh + i) * ow + j] = (sum / ((r1 - r0) * (c1 - c0)) as f64) as f32;
                }
            }
        }
    }
    out
}

/// The four (index, weight) taps of a bilinear sample at (y, x); all weights 0 outside
/// [-1, H] × [-1, W], as ONNX specifies.
fn bilinear_taps(y: f64, x: f64, h: usize, w: usize) -> [(usize, f64); 4] {
    if y < -1.0 || y > h as f64 || x < -1.0 || x > w as f64 {
        return [(0, 0.0); 4];
    }
    let (mut y, mut x) = (y.max(0.0), x.max(0.0));
    let (mut y0, mut x0) = (y as usize, x as usize);
    let y1 = if y0 >= h - 1 {
        y0 = h - 1;
        y = y0 as f64;
        y0
    } else {
        y0 + 1
    };
    let x1 = if x0 >= w - 1 {
        x0 = w - 1;
        x = x0 as f64;
        x0
    } else {
        x0 + 1
    };
    let (ly, lx) = (y - y0 as f64, x - x0 as f64);
    let (hy, hx) = (1.0 - ly, 1.0 - lx);
    [(y0 * w + x0, hy * hx), (y0 * w + x1, hy * lx), (y1 * w + x0, ly * hx), (y1 * w + x1, ly * lx)]
}

/// Rounds half away from zero, as C's `roundf`.
fn round_away(v: f64) -> f64 {
    v.signum() * (v.abs() + 0.5).floor()
}

/// Fast R-CNN RoIPool (Caffe / torchvision semantics); out-of-range batch indices give zeros.
pub(crate) fn roi_pool(x: &[f32], sx: &Shape, rois: &[f32], batch: &[i32], p: &RoiPool) -> Vec<f32> {
    let [n, c, h, w] = dims4(sx);
    let mut out = vec![0f32; batch.len() * c * p.out_h * p.out_w];
    for (r, &b) in batch.iter().enumerate() {
        if b < 0 || b as usize >= n {
            continue; // a region of a batch that does not exist pools to zeros
        }
        let s = f64::from(p.spatial_scale);
        let q: Vec<i64> = rois[r * 4..r * 4 + 4].iter().map(|&v| round_away(f64::from(v) * s) as i64).collect();
        let rw = (q[2] - q[0] + 1).max(1) as f64;
        let rh = (q[3] - q[1] + 1).max(1) as f64;
        let (bin_h, bin_w) = (rh / p.out_h as f64, rw / p.out_w as f64);
        for ch in 0..c {
            let plane = &x[(b as usize * c + ch) * h * w..][..h * w];
            for ph in 0..p.out_h {
                for pw in 0..p.out_w {
                    let clampi = |v: i64, n: usize| v.clamp(0, n as i64) as usize;
                    let hs = clampi((ph as f64 * bin_h).floor() as i64 + q[1], h);
                    let he = clampi(((ph + 1) as f64 * bin_h).ceil() as i64 + q[1], h);
                    let ws = clampi((pw as f64 * bin_w).floor() as i64 + q[0], w);
                    let we = clampi(((pw + 1) as f64 * bin_w).ceil() as i64 + q[0], w);
                    let mut m = if he <= hs || we <= ws { 0.0 } else { f32::MIN };
                    for yy in hs..he {
                        for xx in ws..we {
                            m = m.max(plane[yy * w + xx]);
                        }
                    }
                    out[((r * c + ch) * p.out_h + ph) * p.out_w + pw] = m;
                }
            }
        }
    }
    out
}

/// [`Op::PerspectiveCrops`](ocelli_graph::Op::PerspectiveCrops).
pub(crate) fn perspective_crops(
    x: &[f32],
    sx: &Shape,
    matrices: &[f32],
    widths: &[i32],
    (oh, ow, fill): (usize, usize, f32),
) -> Vec<f32> {
    let d = sx.dims();
    let (c, h, w) = (d[1], d[2], d[3]);
    let mut y = vec![fill; widths.len() * c * oh * ow];
    for (r, m) in matrices.chunks_exact(9).enumerate() {
        let m: Vec<f64> = m.iter().map(|&v| f64::from(v)).collect();
        for v in 0..oh {
            for u in 0..ow.min(widths[r].max(0) as usize) {
                let (uf, vf) = (u as f64, v as f64);
                let z = m[6] * uf + m[7] * vf + m[8];
                let (px, py) = ((m[0] * uf + m[1] * vf + m[2]) / z, (m[3] * uf + m[4] * vf + m[5]) / z);
                if !(px.is_finite() && py.is_finite()) {
                    continue;
                }
                let (x0, y0) = (px.floor(), py.floor());
                let (fx, fy) = (px - x0, py - y0);
                let at = |n: usize, v: f64| v.clamp(0.0, (n - 1) as f64) as usize;
                let (xa, xb, ya, yb) = (at(w, x0), at(w, x0 + 1.0), at(h, y0), at(h, y0 + 1.0));
                for ch in 0..c {
                    let plane = &x[ch * h * w..(ch + 1) * h * w];
                    let s = |yy: usize, xx: usize| f64::from(plane[yy * w + xx]);
                    let top = s(ya, xa) * (1.0 - fx) + s(ya, xb) * fx;
                    let bottom = s(yb, xa) * (1.0 - fx) + s(yb, xb) * fx;
                    y[((r * c + ch) * oh + v) * ow + u] = (top * (1.0 - fy) + bottom * fy) as f32;
                }
            }
        }
    }
    y
}
