// Direct 2-D convolution with a fused epilogue, NCHW, f32 arithmetic over
// f32 or f16 storage (`elem`): stride, asymmetric padding, dilation,
// groups; y = activate(conv(x, w) + bias + residual).
//
// Bindings: x [N, C, H, W] (read), w [O, C/groups, KH, KW] (read), bias [O] (read), residual
// [N, O, OH, OW] (read), y [N, O, OH, OW] (write), ConvParams. An absent bias or residual is bound
// to a placeholder and ignored (HAS_BIAS / RESIDUAL false).
// Grid: one invocation per work item ((n · oc_tiles + t) · OH + oy) · ox_tiles + tx, linearised
// over gid.x + gid.y · nwg.x · WG. An item is a register block of 4 output channels (of one
// group) × 4 consecutive output columns: per (input channel, ky, kx) it loads 4 inputs and 4
// weights for 16 FMAs. Out-of-range channels clamp their weight loads and skip their stores;
// padded inputs read as zero.
// `depthwise`: one input channel per output channel (groups = C = O): an item is one channel ×
//   4 consecutive output columns, so no lane computes channels it does not store. Same bindings
//   and parameters as `conv2d` (items = N · C · OH · ox_tiles). Items run plane after plane, so
//   that late layers' small planes (7×7: 7 items) do not leave most of a workgroup idle, which
//   on CPU drivers still runs the whole body masked.
// `im2col`: the other way to convolve, used for ungrouped convolutions: writes the
//   [N, C·KH·KW, OH·OW] patch matrix (zeros in the padding) that gemm.wgsl multiplies by the
//   weights — or one band of it: images n_begin .. n_begin + band_n and output rows oy_begin ..
//   oy_begin + band_rows, so that a large convolution runs as several im2col + GEMM pairs over
//   one band-sized buffer.
//   One invocation per row of OW patch elements (n, patch row, oy), or per segment of
//   one when ox_tiles splits wide rows into that many (so that no invocation loops past
//   llvmpipe's 65 535 iterations, see reduce.wgsl): the index arithmetic, integer divisions
//   included (a scalar loop per lane on CPU drivers), happens once per row instead of once per
//   element. The plan pads the matrix for the GEMM's aligned
//   variant: each patch row holds patch_cols ≥ band_rows·OW elements (zeros past those), and rows from
//   C·KH·KW up to k_rows are zeros (against zero-padded constant weights). Bindings: x (read),
//   col (write), ConvParams (items = band_n·k_rows·band_rows·ox_tiles).
// The input x and the weights w are read through `x_at` and `w_at`, which one of two binding
// files defines: conv2d_storage.wgsl (storage buffers) or conv2d_texels.wgsl (the same bytes
// copied into textures, which CPU drivers read about 10× faster; `im2col` reads x only).
// Variants: WG (workgroup size), HAS_BIAS, RESIDUAL, ACT0..3 (activation.wgsl).

alias elem = f32; // storage type of float bindings: f16 in the f16 kernels (kernels.rs)

override WG: u32 = 64u;
override HAS_BIAS: bool = false;
override RESIDUAL: bool = false;
// `depthwise` reads each input row through `x_window` (16 consecutive inputs from 4 texels)
// instead of one input per tap and column: set by the plan when x is a texture and the 4 columns'
// taps span at most 13 inputs (3 + 3·stride + (KW − 1)·dilation < 16).
override WINDOW: bool = false;
// With WINDOW, `depthwise` also reads a channel's KH·KW ≤ 13 weights as one window, and with
// WIDE an item is 8 output columns (two strips from the same input windows; ox_tiles counts
// tiles of 8).
override WEIGHT_WINDOW: bool = false;
override WIDE: bool = false;

struct ConvParams {
    n: u32, c: u32, h: u32, w: u32,
    o: u32, oh: u32, ow: u32, kh: u32,
    kw: u32, stride_h: u32, stride_w: u32, pad_top: u32,
    pad_left: u32, dil_h: u32, dil_w: u32, cg: u32,
    og: u32, oc_tiles_per_group: u32, ox_tiles: u32, items: u32,
    k_rows: u32, patch_cols: u32,
    // `conv2d` sums input channels ic_begin .. ic_end of each group: many channels run as
    // several dispatches, each adding its part to the previous one's result (bound as the
    // residual), so that no invocation's loops pass llvmpipe's 65 535 iterations (reduce.wgsl).
    ic_begin: u32, ic_end: u32,
    // `im2col`'s band: its first image and output row, and its output rows per image.
    n_begin: u32, oy_begin: u32, band_rows: u32,
}

@group(0) @binding(2) var<storage, read> bias: array<elem>;
@group(0) @binding(3) var<storage, read> residual: array<elem>;
@group(0) @binding(4) var<storage, read_write> y: array<elem>;
@group(0) @binding(5) var<uniform> p: ConvParams;

@group(0) @binding(1) var<storage, read_write> col: array<elem>;
@group(0) @binding(2) var<uniform> ip: ConvParams;

// Inputs at output columns ox0 .. ox0+3 for tap kx of input row x_row (0 in the padding).
fn input_strip(x_row: u32, ox0: u32, kx: u32) -> vec4<f32> {
    var xv = vec4<f32>(0.0);
    for (var j = 0u; j < 4u; j++) {
        let ix = i32((ox0 + j) * p.stride_w + kx * p.dil_w) - i32(p.pad_left);
        if (ix >= 0 && ix < i32(p.w)) {
            xv[j] = x_at(x_row + u32(ix));
        }
    }
    return xv;
}

// Element e (< 16) of a window of 4 vec4 columns.
fn window_at(win: mat4x4<f32>, e: u32) -> f32 {
    let c = select(select(win[0], win[1], e >= 4u), select(win[2], win[3], e >= 12u), e >= 8u);
    return c[e & 3u];
}

// input_strip from the window whose element `off` is the input under output column ox0, tap 0.
fn window_strip(win: mat4x4<f32>, off: u32, ox0: u32, kx: u32) -> vec4<f32> {
    var xv = vec4<f32>(0.0);
    for (var j = 0u; j < 4u; j++) {
        let ix = i32((ox0 + j) * p.stride_w + kx * p.dil_w) - i32(p.pad_left);
        let v = window_at(win, off + j * p.stride_w + kx * p.dil_w);
        xv[j] = select(0.0, v, ix >= 0 && ix < i32(p.w));
    }
    return xv;
}

// Stores activate(v + bias + residual) at columns ox0 .. ox0+3 of output row y_row (channel oc).
fn store_strip(v: vec4<f32>, oc: u32, y_row: u32, ox0: u32) {
    var b = 0.0;
    if (HAS_BIAS) {
        b = f32(bias[oc]);
    }
    for (var j = 0u; j < 4u; j++) {
        if (ox0 + j < p.ow) {
            var r = v[j] + b;
            if (RESIDUAL) {
                r += f32(residual[y_row + ox0 + j]);
            }
            y[y_row + ox0 + j] = elem(activate(r));
        }
    }
}

@compute @workgroup_size(WG)
fn conv2d(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let item = gid.x + gid.y * nwg.x * WG;
    if (item >= p.items) {
        return;
    }
    let tx = item % p.ox_tiles;
    var rest = item / p.ox_tiles;
    let oy = rest % p.oh;
    rest = rest / p.oh;
    let oc_tiles = (p.o / p.og) * p.oc_tiles_per_group;
    let t = rest % oc_tiles;
    let n = rest / oc_tiles;
    let g = t / p.oc_tiles_per_group;
    let oj0 = (t % p.oc_tiles_per_group) * 4u;
    let ox0 = tx * 4u;

    // Weight row of each of the 4 output channels (clamped inside the group).
    var w_rows: array<u32, 4>;
    for (var q = 0u; q < 4u; q++) {
        let oc = g * p.og + min(oj0 + q, p.og - 1u);
        w_rows[q] = oc * p.cg * p.kh * p.kw;
    }
    let ksize = p.kh * p.kw;
    var acc: array<vec4<f32>, 4>;
    for (var ic = p.ic_begin; ic < p.ic_end; ic++) {
        let x_plane = (n * p.c + g * p.cg + ic) * p.h * p.w;
        let w_off = ic * ksize;
        for (var ky = 0u; ky < p.kh; ky++) {
            let iy = i32(oy * p.stride_h + ky * p.dil_h) - i32(p.pad_top);
            if (iy < 0 || iy >= i32(p.h)) {
                continue;
            }
            let x_row = x_plane + u32(iy) * p.w;
            for (var kx = 0u; kx < p.kw; kx++) {
                let xv = input_strip(x_row, ox0, kx);
                let k = w_off + ky * p.kw + kx;
                acc[0] += w_at(w_rows[0] + k) * xv;
                acc[1] += w_at(w_rows[1] + k) * xv;
                acc[2] += w_at(w_rows[2] + k) * xv;
                acc[3] += w_at(w_rows[3] + k) * xv;
            }
        }
    }
    for (var q = 0u; q < 4u; q++) {
        if (oj0 + q >= p.og) {
            break;
        }
        let oc = g * p.og + oj0 + q;
        store_strip(acc[q], oc, ((n * p.o + oc) * p.oh + oy) * p.ow, ox0);
    }
}

@compute @workgroup_size(WG)
fn depthwise(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let item = gid.x + gid.y * nwg.x * WG;
    if (item >= p.items) {
        return;
    }
    // The plane (n · C + channel), then the tile within it.
    let per_plane = p.oh * p.ox_tiles;
    let plane = item / per_plane;
    let i = item - plane * per_plane;
    let tx = i % p.ox_tiles;
    let oy = i / p.ox_tiles;
    let ch = plane % p.c;
    let n = plane / p.c;
    let ox0 = tx * select(4u, 8u, WIDE);
    let x_plane = plane * p.h * p.w;
    let w_row = ch * p.kh * p.kw;
    var wwin = mat4x4<f32>();
    if (WEIGHT_WINDOW) {
        wwin = w_window(i32(w_row >> 2u));
    }
    var acc = vec4<f32>(0.0);
    var acc2 = vec4<f32>(0.0);
    for (var ky = 0u; ky < p.kh; ky++) {
        let iy = i32(oy * p.stride_h + ky * p.dil_h) - i32(p.pad_top);
        if (iy < 0 || iy >= i32(p.h)) {
            continue;
        }
        let x_row = x_plane + u32(iy) * p.w;
        if (WINDOW) {
            let start = i32(x_row) + i32(ox0 * p.stride_w) - i32(p.pad_left);
            let win = x_window(start >> 2u);
            for (var kx = 0u; kx < p.kw; kx++) {
                let tap = ky * p.kw + kx;
                var wv = 0.0;
                if (WEIGHT_WINDOW) {
                    wv = window_at(wwin, (w_row & 3u) + tap);
                } else {
                    wv = w_at(w_row + tap);
                }
                acc += wv * window_strip(win, u32(start & 3), ox0, kx);
                if (WIDE) {
                    acc2 += wv * window_strip(win, u32(start & 3) + 4u * p.stride_w, ox0 + 4u, kx);
                }
            }
        } else {
            for (var kx = 0u; kx < p.kw; kx++) {
                acc += w_at(w_row + ky * p.kw + kx) * input_strip(x_row, ox0, kx);
            }
        }
    }
    let y_row = ((n * p.o + ch) * p.oh + oy) * p.ow;
    store_strip(acc, ch, y_row, ox0);
    if (WIDE && ox0 + 4u < p.ow) {
        store_strip(acc2, ch, y_row, ox0 + 4u);
    }
}

@compute @workgroup_size(WG)
fn im2col(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let item = gid.x + gid.y * nwg.x * WG;
    if (item >= ip.items) {
        return;
    }
    let ksize = ip.c * ip.kh * ip.kw;
    let segs = ip.ox_tiles;
    let seg = item % segs;
    let row = item / segs;
    let band_oy = row % ip.band_rows;
    let oy = ip.oy_begin + band_oy;
    let r = (row / ip.band_rows) % ip.k_rows;
    let band_n = row / (ip.band_rows * ip.k_rows);
    let n = ip.n_begin + band_n;
    let seg_len = (ip.ow + segs - 1u) / segs;
    let kx = r % ip.kw;
    let ky = (r / ip.kw) % ip.kh;
    let ic = r / (ip.kh * ip.kw);
    let iy = i32(oy * ip.stride_h + ky * ip.dil_h) - i32(ip.pad_top);
    let row_start = (band_n * ip.k_rows + r) * ip.patch_cols;
    let out = row_start + band_oy * ip.ow;
    let inside = r < ksize && iy >= 0 && iy < i32(ip.h);
    let x_row = ((n * ip.c + ic) * ip.h + u32(max(iy, 0))) * ip.w;
    for (var ox = seg * seg_len; ox < min(ip.ow, (seg + 1u) * seg_len); ox++) {
        let ix = i32(ox * ip.stride_w + kx * ip.dil_w) - i32(ip.pad_left);
        var v = 0.0;
        if (inside && ix >= 0 && ix < i32(ip.w)) {
            v = x_at(x_row + u32(ix));
        }
        col[out + ox] = elem(v);
    }
    // The last segment of the band's last row of outputs also zeroes the padding past its columns.
    if (band_oy == ip.band_rows - 1u && seg == segs - 1u) {
        for (var t = ip.band_rows * ip.ow; t < ip.patch_cols; t++) {
            col[row_start + t] = elem(0.0);
        }
    }
}
