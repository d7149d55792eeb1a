// Perspective crops of one image (see Op::PerspectiveCrops), f32.
//
// `perspective_crops`: region r's output pixel (u, v) samples x bilinearly at the point its
//   homography maps (u, v, 1) to, edge pixels standing in outside the image (BORDER_REPLICATE);
//   columns at or past widths[r], and points at infinity, hold `fill`.
// Bindings: x [1, C, H, W] (read), matrices [R, 9] (read, row-major), widths [R] (read, i32),
// y [R, C, OH, OW] (write), WarpParams.
// Grid: one invocation per output element, linearised over gid.x + gid.y · nwg.x · WG.
// Variants: WG.

override WG: u32 = 64u;

struct WarpParams {
    c: u32, h: u32, w: u32, rois: u32,
    oh: u32, ow: u32, fill: f32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> matrices: array<f32>;
@group(0) @binding(2) var<storage, read> widths: array<i32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<uniform> p: WarpParams;

@compute @workgroup_size(WG)
fn perspective_crops(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WG;
    if (i >= p.rois * p.c * p.oh * p.ow) {
        return;
    }
    let u = i % p.ow;
    let v = (i / p.ow) % p.oh;
    let ch = (i / (p.ow * p.oh)) % p.c;
    let r = i / (p.ow * p.oh * p.c);
    if (i32(u) >= widths[r]) {
        y[i] = p.fill;
        return;
    }
    let m = r * 9u;
    let uf = f32(u);
    let vf = f32(v);
    let z = matrices[m + 6u] * uf + matrices[m + 7u] * vf + matrices[m + 8u];
    let px = (matrices[m] * uf + matrices[m + 1u] * vf + matrices[m + 2u]) / z;
    let py = (matrices[m + 3u] * uf + matrices[m + 4u] * vf + matrices[m + 5u]) / z;
    // Infinite or NaN points (z = 0) fail this test.
    if (!(abs(px) < 3.0e38 && abs(py) < 3.0e38)) {
        y[i] = p.fill;
        return;
    }
    let x0 = floor(px);
    let y0 = floor(py);
    let fx = px - x0;
    let fy = py - y0;
    let wmax = f32(p.w - 1u);
    let hmax = f32(p.h - 1u);
    let xa = u32(clamp(x0, 0.0, wmax));
    let xb = u32(clamp(x0 + 1.0, 0.0, wmax));
    let ya = u32(clamp(y0, 0.0, hmax));
    let yb = u32(clamp(y0 + 1.0, 0.0, hmax));
    let plane = ch * p.h * p.w;
    let top = mix(x[plane + ya * p.w + xa], x[plane + ya * p.w + xb], fx);
    let bottom = mix(x[plane + yb * p.w + xa], x[plane + yb * p.w + xb], fx);
    y[i] = mix(top, bottom, fy);
}
