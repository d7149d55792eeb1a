// Region pooling, f32: ONNX RoiAlign (opset 16) and Fast R-CNN RoIPool.
//
// Bindings: x [N, C, H, W] (read), rois [R, 4] (read; x1, y1, x2, y2), batch indices [R] (read,
// i32), prev [R, C, OH, OW] (read, with ACCUMULATE), y [R, C, OH, OW] (write), RoiParams.
// `roi_align`: each output bin averages (MODE 0) or maxes (MODE 1) a grid of bilinear samples;
//   the grid is sampling_ratio² or, when 0, ceil(region / bins) per side. Coordinates are
//   scaled by spatial_scale and shifted by −0.5 with half_pixel; without it (ONNX's
//   output_half_pixel) regions are at least 1×1. Samples outside [−1, H] × [−1, W] weigh 0.
//   Max mode takes, per sample, the largest of its four weighted taps, as the ONNX reference.
// `roi_pool`: corners rounded half away from zero, bins floor/ceil-divided, maximum per bin, 0
//   for an empty bin.
// `crop_resize`: region r's integer rectangle [⌊x1⌋, ⌊x2⌋) × [⌊y1⌋, ⌊y2⌋), clipped to the map,
//   resized by area averaging: bin (ph, pw) is the mean of the crop's rows
//   ⌊ph·h/OH⌋ .. ⌈(ph+1)·h/OH⌉ and columns likewise (PyTorch's adaptive average pooling); an
//   empty or NaN region gives 0. Its window is one flattened loop; dispatch `part` visits
//   entries part, part + parts, ... and adds its share of the mean.
// A region whose batch index is outside [0, N) pools to zeros.
// No invocation loops past llvmpipe's 65 535 iterations (reduce.wgsl), whatever the regions:
// roi_align visits only the grid rows and columns whose samples can fall inside the map (a
// span the map's size bounds: at most 2H + 5 rows with adaptive grids, whose sample step is
// over half a pixel), roi_pool's bins are clipped to the map, and where even that is too much
// for one invocation the plan splits each bin's rows among `parts` dispatches: dispatch `part`
// visits rows part, part + parts, ... and adds its share (the average's sum over the whole
// grid) to, or takes the max with, the previous dispatch's result `prev`.
// Grid: one invocation per output element, linearised over gid.x + gid.y · nwg.x · WG.
// Variants: MODE, ACCUMULATE, WG.

override MODE: u32 = 0u;
override ACCUMULATE: bool = false;
override WG: u32 = 64u;

struct RoiParams {
    n: u32, c: u32, h: u32, w: u32,
    rois: u32, oh: u32, ow: u32, sampling_ratio: u32,
    half_pixel: u32, spatial_scale: f32, parts: u32, part: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> rois: array<f32>;
@group(0) @binding(2) var<storage, read> batch: array<i32>;
@group(0) @binding(3) var<storage, read> prev: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<uniform> p: RoiParams;

struct Bin {
    r: u32,
    plane: u32,
    ph: u32,
    pw: u32,
    valid: bool,
}

fn output_bin(i: u32) -> Bin {
    let pw = i % p.ow;
    let ph = (i / p.ow) % p.oh;
    let ch = (i / (p.ow * p.oh)) % p.c;
    let r = i / (p.ow * p.oh * p.c);
    let b = batch[r];
    let valid = b >= 0 && u32(b) < p.n;
    return Bin(r, (u32(max(b, 0)) * p.c + ch) * p.h * p.w, ph, pw, valid);
}

// Region r's corners (x1, y1, x2, y2) in feature-map coordinates.
fn region(r: u32) -> vec4<f32> {
    return vec4<f32>(rois[r * 4u], rois[r * 4u + 1u], rois[r * 4u + 2u], rois[r * 4u + 3u]) * p.spatial_scale;
}

// Weighted value of one tap pair: returns (sum of the four weighted taps, max of them).
fn sample(plane: u32, yy: f32, xx: f32) -> vec2<f32> {
    let hf = f32(p.h);
    let wf = f32(p.w);
    if (yy < -1.0 || yy > hf || xx < -1.0 || xx > wf) {
        return vec2<f32>(0.0, 0.0);
    }
    var sy = max(yy, 0.0);
    var sx = max(xx, 0.0);
    var y0 = u32(sy);
    var x0 = u32(sx);
    var y1 = y0 + 1u;
    var x1 = x0 + 1u;
    if (y0 >= p.h - 1u) {
        y0 = p.h - 1u;
        y1 = y0;
        sy = f32(y0);
    }
    if (x0 >= p.w - 1u) {
        x0 = p.w - 1u;
        x1 = x0;
        sx = f32(x0);
    }
    let ly = sy - f32(y0);
    let lx = sx - f32(x0);
    let hy = 1.0 - ly;
    let hx = 1.0 - lx;
    let v = vec4<f32>(hy * hx * x[plane + y0 * p.w + x0], hy * lx * x[plane + y0 * p.w + x1],
                      ly * hx * x[plane + y1 * p.w + x0], ly * lx * x[plane + y1 * p.w + x1]);
    return vec2<f32>(v.x + v.y + v.z + v.w, max(max(v.x, v.y), max(v.z, v.w)));
}

// Writes output i: this part's share `v` combined with the previous parts' result.
fn store(i: u32, v: f32) {
    if (!ACCUMULATE) {
        y[i] = v;
    } else if (MODE == 0u) {
        y[i] = prev[i] + v;
    } else {
        y[i] = max(prev[i], v);
    }
}

// The grid indices 0 .. grid whose samples base + (k + 0.5) · step can lie in [−1, n] (one
// index of margin each side against rounding; `sample` still tests each one).
fn sample_span(base: f32, step: f32, n: u32, grid: u32) -> vec2<u32> {
    if (grid == 0u || step == 0.0) {
        return vec2<u32>(0u, grid);
    }
    let t1 = (-1.0 - base) / step - 0.5;
    let t2 = (f32(n) - base) / step - 0.5;
    let top = f32(grid);
    let lo = clamp(floor(min(t1, t2)) - 1.0, 0.0, top);
    let hi = clamp(ceil(max(t1, t2)) + 2.0, 0.0, top);
    return vec2<u32>(u32(lo), max(u32(lo), u32(hi)));
}

@compute @workgroup_size(WG)
fn roi_align(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WG;
    if (i >= p.rois * p.c * p.oh * p.ow) {
        return;
    }
    let part = p.part;
    let bin = output_bin(i);
    if (!bin.valid) {
        store(i, 0.0);
        return;
    }
    let roi = region(bin.r) - vec4<f32>(select(0.0, 0.5, p.half_pixel != 0u));
    let x1 = roi.x;
    let y1 = roi.y;
    let x2 = roi.z;
    let y2 = roi.w;
    var rw = x2 - x1;
    var rh = y2 - y1;
    if (p.half_pixel == 0u) {
        rw = max(rw, 1.0);
        rh = max(rh, 1.0);
    }
    let bin_h = rh / f32(p.oh);
    let bin_w = rw / f32(p.ow);
    var grid_h = p.sampling_ratio;
    var grid_w = p.sampling_ratio;
    if (p.sampling_ratio == 0u) {
        grid_h = u32(ceil(rh / f32(p.oh)));
        grid_w = u32(ceil(rw / f32(p.ow)));
    }
    let base_y = y1 + f32(bin.ph) * bin_h;
    let base_x = x1 + f32(bin.pw) * bin_w;
    let step_y = bin_h / f32(max(grid_h, 1u));
    let step_x = bin_w / f32(max(grid_w, 1u));
    let rows = sample_span(base_y, step_y, p.h, grid_h);
    let cols = sample_span(base_x, step_x, p.w, grid_w);
    var sum = 0.0;
    var best = bitcast<f32>(0xff800000u);
    for (var iy = rows.x + part; iy < rows.y; iy += p.parts) {
        let yy = base_y + (f32(iy) + 0.5) * step_y;
        for (var ix = cols.x; ix < cols.y; ix++) {
            let xx = base_x + (f32(ix) + 0.5) * step_x;
            let s = sample(bin.plane, yy, xx);
            sum += s.x;
            best = max(best, s.y);
        }
    }
    let samples = grid_h * grid_w;
    if (MODE == 0u) {
        store(i, sum / f32(max(samples, 1u)));
        return;
    }
    // Samples left out lie outside the map and weigh 0, as does an empty grid; the first part
    // stands for them.
    let visited = (rows.y - rows.x) * (cols.y - cols.x);
    if (part == 0u && (visited < samples || samples == 0u)) {
        best = max(best, 0.0);
    }
    store(i, best);
}

fn round_away(v: f32) -> i32 {
    return i32(sign(v) * floor(abs(v) + 0.5));
}

@compute @workgroup_size(WG)
fn roi_pool(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WG;
    if (i >= p.rois * p.c * p.oh * p.ow) {
        return;
    }
    let part = p.part;
    let t = output_bin(i);
    if (!t.valid) {
        store(i, 0.0);
        return;
    }
    let roi = region(t.r);
    let qx1 = round_away(roi.x);
    let qy1 = round_away(roi.y);
    let qx2 = round_away(roi.z);
    let qy2 = round_away(roi.w);
    let bin_h = f32(max(qy2 - qy1 + 1, 1)) / f32(p.oh);
    let bin_w = f32(max(qx2 - qx1 + 1, 1)) / f32(p.ow);
    let hs = clamp(i32(floor(f32(t.ph) * bin_h)) + qy1, 0, i32(p.h));
    let he = clamp(i32(ceil(f32(t.ph + 1u) * bin_h)) + qy1, 0, i32(p.h));
    let ws = clamp(i32(floor(f32(t.pw) * bin_w)) + qx1, 0, i32(p.w));
    let we = clamp(i32(ceil(f32(t.pw + 1u) * bin_w)) + qx1, 0, i32(p.w));
    if (he <= hs || we <= ws) {
        store(i, 0.0);
        return;
    }
    var m = bitcast<f32>(0xff800000u);
    for (var yy = hs + i32(part); yy < he; yy += i32(p.parts)) {
        for (var xx = ws; xx < we; xx++) {
            m = max(m, x[t.plane + u32(yy) * p.w + u32(xx)]);
        }
    }
    store(i, m);
}

// Crop bounds [lo, hi) of a region's side from its corners, floored and clipped to [0, n].
fn crop_span(a: f32, b: f32, n: u32) -> vec2<u32> {
    let top = f32(n);
    return vec2<u32>(u32(clamp(floor(a), 0.0, top)), u32(clamp(floor(b), 0.0, top)));
}

@compute @workgroup_size(WG)
fn crop_resize(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WG;
    if (i >= p.rois * p.c * p.oh * p.ow) {
        return;
    }
    let t = output_bin(i);
    let roi = region(t.r);
    let finite = all(roi == roi);
    let cols = crop_span(roi.x, roi.z, p.w);
    let rows = crop_span(roi.y, roi.w, p.h);
    if (!t.valid || !finite || cols.y <= cols.x || rows.y <= rows.x) {
        store(i, 0.0);
        return;
    }
    let ch = rows.y - rows.x;
    let cw = cols.y - cols.x;
    let r0 = rows.x + t.ph * ch / p.oh;
    let r1 = rows.x + ((t.ph + 1u) * ch + p.oh - 1u) / p.oh;
    let c0 = cols.x + t.pw * cw / p.ow;
    let c1 = cols.x + ((t.pw + 1u) * cw + p.ow - 1u) / p.ow;
    let wide = c1 - c0;
    let count = (r1 - r0) * wide;
    var sum = 0.0;
    for (var k = p.part; k < count; k += p.parts) {
        sum += x[t.plane + (r0 + k / wide) * p.w + c0 + k % wide];
    }
    store(i, sum / f32(count));
}
