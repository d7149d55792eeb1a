// Connected-component labelling of a mask [H, W] by label propagation with pointer jumping,
// 8-connected (see Op::ConnectedComponents).
//
// `cc_init`: label = the pixel's own index y·W + x where x ≠ 0, else −1. Bindings: x (read f32),
//   dst (write i32), CcParams.
// `cc_round`: one round: each foreground pixel's label becomes the least src[src[q]] over itself
//   and its foreground neighbours q (background stays −1). Reads src, writes dst (the plan
//   alternates two buffers), so a round is deterministic and the CPU reference repeats it
//   exactly. Bindings: src (read i32), dst (write i32), CcParams.
// Grid: one invocation per pixel, linearised over gid.x + gid.y · nwg.x · WG.
// Variants: WG.

override WG: u32 = 64u;

struct CcParams {
    h: u32, w: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(0) var<storage, read> src: array<i32>;
@group(0) @binding(1) var<storage, read_write> dst: array<i32>;
@group(0) @binding(2) var<uniform> p: CcParams;

@compute @workgroup_size(WG)
fn cc_init(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WG;
    if (i >= p.h * p.w) {
        return;
    }
    dst[i] = select(-1, i32(i), x[i] != 0.0);
}

@compute @workgroup_size(WG)
fn cc_round(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WG;
    if (i >= p.h * p.w) {
        return;
    }
    var best = src[i];
    if (best < 0) {
        dst[i] = -1;
        return;
    }
    let yy = i / p.w;
    let xx = i % p.w;
    let y0 = select(yy - 1u, 0u, yy == 0u);
    let x0 = select(xx - 1u, 0u, xx == 0u);
    let y1 = min(yy + 1u, p.h - 1u);
    let x1 = min(xx + 1u, p.w - 1u);
    for (var qy = y0; qy <= y1; qy++) {
        for (var qx = x0; qx <= x1; qx++) {
            let l = src[qy * p.w + qx];
            if (l >= 0) {
                best = min(best, src[u32(l)]);
            }
        }
    }
    dst[i] = best;
}
