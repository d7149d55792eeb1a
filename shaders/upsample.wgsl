// Resize [N, C, H, W] -> [N, C, OH, OW], f32 (PyTorch semantics).
//
// Bindings: x (read), y (write), UpsampleParams.
// Grid: one invocation per output element, linearised over gid.x + gid.y · nwg.x · WG.
// Nearest: src = floor(dst · in / out). Bilinear: src = dst · (in − 1)/(out − 1) with
// align_corners, else max((dst + 0.5) · in/out − 0.5, 0); the two neighbours clamp to the edge.
// Area (antialiased downscale): the mean of input rows floor(o·in/out) .. ceil((o+1)·in/out)
// and likewise for columns (PyTorch's "area").
// Variants: MODE (0 nearest, 1 bilinear, 2 area), WG.

override MODE: u32 = 0u;
override WG: u32 = 64u;

struct UpsampleParams {
    h: u32, w: u32, oh: u32, ow: u32,
    numel: u32, align_corners: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> p: UpsampleParams;

// Fractional weight and the two source indices of output position o.
fn source(o: u32, n_in: u32, n_out: u32) -> vec3<f32> {
    var s = 0.0;
    if (p.align_corners != 0u) {
        if (n_out > 1u) {
            s = f32(o) * f32(n_in - 1u) / f32(n_out - 1u);
        }
    } else {
        s = max((f32(o) + 0.5) * f32(n_in) / f32(n_out) - 0.5, 0.0);
    }
    let i0 = min(u32(floor(s)), n_in - 1u);
    let i1 = min(i0 + 1u, n_in - 1u);
    return vec3<f32>(s - f32(i0), f32(i0), f32(i1));
}

@compute @workgroup_size(WG)
fn upsample(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WG;
    if (i >= p.numel) {
        return;
    }
    let ox = i % p.ow;
    let oy = (i / p.ow) % p.oh;
    let base = (i / (p.ow * p.oh)) * p.h * p.w;
    if (MODE == 0u) {
        let iy = min((oy * p.h) / p.oh, p.h - 1u);
        let ix = min((ox * p.w) / p.ow, p.w - 1u);
        y[i] = x[base + iy * p.w + ix];
        return;
    }
    if (MODE == 2u) {
        let y0 = oy * p.h / p.oh;
        let y1 = ((oy + 1u) * p.h + p.oh - 1u) / p.oh;
        let x0 = ox * p.w / p.ow;
        let x1 = ((ox + 1u) * p.w + p.ow - 1u) / p.ow;
        var sum = 0.0;
        for (var yy = y0; yy < y1; yy++) {
            for (var xx = x0; xx < x1; xx++) {
                sum += x[base + yy * p.w + xx];
            }
        }
        y[i] = sum / f32((y1 - y0) * (x1 - x0));
        return;
    }
    let sy = source(oy, p.h, p.oh);
    let sx = source(ox, p.w, p.ow);
    let y0 = u32(sy.y);
    let y1 = u32(sy.z);
    let x0 = u32(sx.y);
    let x1 = u32(sx.z);
    let top = mix(x[base + y0 * p.w + x0], x[base + y0 * p.w + x1], sx.x);
    let bot = mix(x[base + y1 * p.w + x0], x[base + y1 * p.w + x1], sx.x);
    y[i] = mix(top, bot, sy.x);
}
