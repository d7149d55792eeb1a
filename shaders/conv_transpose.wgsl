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
// Variants: WG, HAS_BIAS, ACCUMULATE.

override WG: u32 = 64u;
override HAS_BIAS: bool = false;
override ACCUMULATE: bool = false;

struct ConvTransposeParams {
    n: u32, c: u32, h: u32, w: u32,
    o: u32, oh: u32, ow: u32, kh: u32,
    kw: u32, stride_h: u32, stride_w: u32, pad_h: u32,
    pad_w: u32, dil_h: u32, dil_w: u32, cg: u32,
    og: u32, numel: u32, icg_begin: u32, icg_end: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read> prev: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<uniform> p: ConvTransposeParams;

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
        let ty = i32(oy + p.pad_h) - i32(ky * p.dil_h);
        if (ty < 0 || ty % i32(p.stride_h) != 0) {
            continue;
        }
        let iy = u32(ty) / p.stride_h;
        if (iy >= p.h) {
            continue;
        }
        for (var kx = 0u; kx < p.kw; kx++) {
            let tx = i32(ox + p.pad_w) - i32(kx * p.dil_w);
            if (tx < 0 || tx % i32(p.stride_w) != 0) {
                continue;
            }
            let ix = u32(tx) / p.stride_w;
            if (ix >= p.w) {
                continue;
            }
            for (var icg = p.icg_begin; icg < p.icg_end; icg++) {
                let ci = g * p.cg + icg;
                acc += x[((n * p.c + ci) * p.h + iy) * p.w + ix] * w[((ci * p.og + oj) * p.kh + ky) * p.kw + kx];
            }
        }
    }
    if (HAS_BIAS) {
        acc += bias[oc];
    }
    y[i] = acc;
}
