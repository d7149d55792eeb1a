// Transposed 2-D convolution, NCHW, f32 (PyTorch semantics), as a gather.
//
// Bindings: x [N, C, H, W] (read), w [C, O/groups, KH, KW] (read), bias [O] (read; a placeholder
// when there is none), prev [N, O, OH, OW] (read, with ACCUMULATE), y [N, O, OH, OW] (write),
// ConvTransposeParams. Each dispatch sums the input channels icg_begin .. icg_end of each group:
// many channels run as several dispatches, each adding its part to the previous one's result
// (`prev`), so that no invocation's loops pass llvmpipe's 65 535 iterations (reduce.wgsl).
// Grid: one invocation per output element, linearised over gid.x + gid.y · nwg.x · WG. Output
// (oy, ox) receives input (iy, ix) through tap (ky, kx) when oy + pad_h − ky·dil_h = iy·stride_h
// (and likewise in x), so each invocation walks the taps and keeps those that land on the grid.
// `col2im`: the GEMM way, for ungrouped ones: the plan multiplies the weights, as the
//   [O·KH·KW, C] matrix, by each image's [C, H·W] input into cols [N, O·KH·KW, H·W], and this
//   entry gathers each output element's taps from it (the same grid rule) and adds the bias.
//   Bindings: cols (read), bias (read), y (write), ConvTransposeParams.
// Variants: WG, HAS_BIAS, ACCUMULATE (conv_transpose2d only).

override WG: u32 = 64u;
override HAS_BIAS: bool = false;
override ACCUMULATE: bool = false;

struct ConvTransposeParams {
    n: u32, c: u32, h: u32, w: u32,
    o: u32, oh: u32, ow: u32, kh: u32,
    kw: u32, stride_h: u32, stride_w: u32, pad_h: u32,
    pad_w: u32, dil_h: u32, dil_w: u32, cg: u32,
    og: u32, numel: u32, icg_begin: u32, icg_end: u32,
    // `col2im`: segments per output row (numel then counts segments, N·O·OH·ox_tiles).
    ox_tiles: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read> prev: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<uniform> p: ConvTransposeParams;

// The input position that tap k of output position o reads along an axis (o + pad − k·dil =
// i·stride), or −1 when that lands off the input grid.
fn tap_source(o: u32, k: u32, pad: u32, dil: u32, stride: u32, size: u32) -> i32 {
    let t = i32(o + pad) - i32(k * dil);
    if (t < 0 || t % i32(stride) != 0 || u32(t) / stride >= size) {
        return -1;
    }
    return t / i32(stride);
}

@group(0) @binding(0) var<storage, read> cols: array<f32>;
@group(0) @binding(1) var<storage, read> col_bias: array<f32>;
@group(0) @binding(2) var<storage, read_write> col_y: array<f32>;
@group(0) @binding(3) var<uniform> cp: ConvTransposeParams;

@compute @workgroup_size(WG)
fn col2im(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let item = gid.x + gid.y * nwg.x * WG;
    if (item >= cp.numel) {
        return;
    }
    // One segment of an output row (n, oc, oy): the index arithmetic, integer divisions
    // included (a scalar loop per lane on CPU drivers), happens once per segment and tap, not per
    // element: along a tap's row the outputs it reaches are stride_w apart and read consecutive
    // inputs. The segment's outputs start at the bias and gather tap after tap.
    let seg = item % cp.ox_tiles;
    let row = item / cp.ox_tiles;
    let oy = row % cp.oh;
    let oc = (row / cp.oh) % cp.o;
    let n = row / (cp.oh * cp.o);
    let seg_len = (cp.ow + cp.ox_tiles - 1u) / cp.ox_tiles;
    let begin = seg * seg_len;
    let end = min(cp.ow, begin + seg_len);
    let y_row = row * cp.ow;
    var b = 0.0;
    if (HAS_BIAS) {
        b = col_bias[oc];
    }
    for (var ox = begin; ox < end; ox++) {
        col_y[y_row + ox] = b;
    }
    let plane = cp.h * cp.w;
    for (var ky = 0u; ky < cp.kh; ky++) {
        let iy = tap_source(oy, ky, cp.pad_h, cp.dil_h, cp.stride_h, cp.h);
        if (iy < 0) {
            continue;
        }
        for (var kx = 0u; kx < cp.kw; kx++) {
            // Output ox takes input ix = (ox + pad_w − kx·dil_w) / stride_w where that divides:
            // the first such ox in the segment, then every stride_w-th.
            let shift = i32(cp.pad_w) - i32(kx * cp.dil_w);
            let t = max(i32(begin) + shift, 0);
            let ix0 = (u32(t) + cp.stride_w - 1u) / cp.stride_w;
            let src = ((n * cp.o + oc) * cp.kh * cp.kw + ky * cp.kw + kx) * plane + u32(iy) * cp.w;
            var ox = u32(i32(ix0 * cp.stride_w) - shift);
            for (var ix = ix0; ix < cp.w && ox < end; ix++) {
                col_y[y_row + ox] += cols[src + ix];
                ox += cp.stride_w;
            }
        }
    }
}

@compute @workgroup_size(WG)
fn conv_transpose2d(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WG;
    if (i >= p.numel) {
        return;
    }
    let ox = i % p.ow;
    let oy = (i / p.ow) % p.oh;
    let oc = (i / (p.ow * p.oh)) % p.o;
    let n = i / (p.ow * p.oh * p.o);
    let g = oc / p.og;
    let oj = oc % p.og;
    var acc = 0.0;
    if (ACCUMULATE) {
        acc = prev[i];
    }
    for (var ky = 0u; ky < p.kh; ky++) {
        let iy = tap_source(oy, ky, p.pad_h, p.dil_h, p.stride_h, p.h);
        if (iy < 0) {
            continue;
        }
        for (var kx = 0u; kx < p.kw; kx++) {
            let ix = tap_source(ox, kx, p.pad_w, p.dil_w, p.stride_w, p.w);
            if (ix < 0) {
                continue;
            }
            for (var icg = p.icg_begin; icg < p.icg_end; icg++) {
                let ci = g * p.cg + icg;
                let at = ((n * p.c + ci) * p.h + u32(iy)) * p.w + u32(ix);
                acc += x[at] * w[((ci * p.og + oj) * p.kh + ky) * p.kw + kx];
            }
        }
    }
    if (HAS_BIAS) {
        acc += bias[oc];
    }
    y[i] = acc;
}
