// Colour and intensity transforms of [N, C, H, W] f32 images in [0, 1].
//
// `color_space`: RGB -> HSV (TO_HSV, hue as a fraction of a turn) or back, one invocation per
//   pixel. Bindings: x (read), y (write), ColorParams.
// Histogram ops, per H·W plane, 256 bins (bin = min(floor(256·clamp(v, 0, 1)), 255)):
// `hist_clear`: zero the counts. Bindings: counts (write), ColorParams.
// `hist_count`: one invocation per element, atomic increments. Bindings: x, counts, ColorParams.
// `hist_lut`: one invocation per plane turns counts into a cumulative count and then into a
//   256-entry table: equalisation (STRETCH false) maps bin b to (cdf(b) − cdf_min)/(n − cdf_min)
//   (a plane with one occupied bin stays as it is: entry −1); the stretch (STRETCH true)
//   stores lo and hi, the lower edges of the bins holding the low and high percentiles.
//   Bindings: counts (read), lut (write), ColorParams.
// `hist_apply`: one invocation per element. Bindings: x, lut (read), y (write), ColorParams.
// Grid: linearised over gid.x + gid.y · nwg.x · WG.
// Variants: TO_HSV, STRETCH, WG.

override TO_HSV: bool = true;
override STRETCH: bool = false;
override WG: u32 = 64u;

struct ColorParams {
    images: u32,
    channels: u32,
    plane: u32,
    low: f32,
    high: f32,
}

@group(0) @binding(0) var<storage, read> cx: array<f32>;
@group(0) @binding(1) var<storage, read_write> cy: array<f32>;
@group(0) @binding(2) var<uniform> cp: ColorParams;

@group(0) @binding(0) var<storage, read_write> clear_counts: array<u32>;
@group(0) @binding(1) var<uniform> zp: ColorParams;

@group(0) @binding(0) var<storage, read> hx: array<f32>;
@group(0) @binding(1) var<storage, read_write> counts: array<atomic<u32>>;
@group(0) @binding(2) var<uniform> hp: ColorParams;

@group(0) @binding(0) var<storage, read> cdf_counts: array<u32>;
@group(0) @binding(1) var<storage, read_write> lut: array<f32>;
@group(0) @binding(2) var<uniform> lp: ColorParams;

@group(0) @binding(0) var<storage, read> ax: array<f32>;
@group(0) @binding(1) var<storage, read> alut: array<f32>;
@group(0) @binding(2) var<storage, read_write> ay: array<f32>;
@group(0) @binding(3) var<uniform> ap: ColorParams;

fn rgb_to_hsv(c: vec3<f32>) -> vec3<f32> {
    let mx = max(max(c.x, c.y), c.z);
    let d = mx - min(min(c.x, c.y), c.z);
    let s = select(0.0, d / mx, mx > 0.0);
    var h = 0.0;
    if (d > 0.0) {
        if (mx == c.x) {
            h = ((c.y - c.z) / d + 6.0) % 6.0;
        } else if (mx == c.y) {
            h = (c.z - c.x) / d + 2.0;
        } else {
            h = (c.x - c.y) / d + 4.0;
        }
    }
    return vec3<f32>(h / 6.0, s, mx);
}

fn hsv_to_rgb(c: vec3<f32>) -> vec3<f32> {
    let h6 = fract(c.x) * 6.0;
    let i = min(u32(floor(h6)), 5u);
    let f = h6 - f32(i);
    let v = c.z;
    let p = v * (1.0 - c.y);
    let q = v * (1.0 - c.y * f);
    let t = v * (1.0 - c.y * (1.0 - f));
    switch i {
        case 0u: { return vec3<f32>(v, t, p); }
        case 1u: { return vec3<f32>(q, v, p); }
        case 2u: { return vec3<f32>(p, v, t); }
        case 3u: { return vec3<f32>(p, q, v); }
        case 4u: { return vec3<f32>(t, p, v); }
        default: { return vec3<f32>(v, p, q); }
    }
}

@compute @workgroup_size(WG)
fn color_space(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WG;
    if (i >= cp.images * cp.plane) {
        return;
    }
    let base = (i / cp.plane) * 3u * cp.plane + i % cp.plane;
    let v = vec3<f32>(cx[base], cx[base + cp.plane], cx[base + 2u * cp.plane]);
    var o: vec3<f32>;
    if (TO_HSV) {
        o = rgb_to_hsv(v);
    } else {
        o = hsv_to_rgb(v);
    }
    cy[base] = o.x;
    cy[base + cp.plane] = o.y;
    cy[base + 2u * cp.plane] = o.z;
}

fn bin_of(v: f32) -> u32 {
    return min(u32(clamp(v, 0.0, 1.0) * 256.0), 255u);
}

@compute @workgroup_size(WG)
fn hist_clear(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WG;
    if (i < zp.images * zp.channels * 256u) {
        clear_counts[i] = 0u;
    }
}

@compute @workgroup_size(WG)
fn hist_count(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WG;
    if (i >= hp.images * hp.channels * hp.plane) {
        return;
    }
    atomicAdd(&counts[(i / hp.plane) * 256u + bin_of(hx[i])], 1u);
}

@compute @workgroup_size(WG)
fn hist_lut(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let plane = gid.x + gid.y * nwg.x * WG;
    if (plane >= lp.images * lp.channels) {
        return;
    }
    let base = plane * 256u;
    let total = lp.plane;
    if (STRETCH) {
        let lo_target = max(lp.low * f32(total), 1.0);
        let hi_target = max(lp.high * f32(total), 1.0);
        var lo_bin = 255u;
        var hi_bin = 255u;
        var lo_found = false;
        var hi_found = false;
        var c = 0u;
        for (var b = 0u; b < 256u; b++) {
            c += cdf_counts[base + b];
            if (!lo_found && f32(c) >= lo_target) {
                lo_bin = b;
                lo_found = true;
            }
            if (!hi_found && f32(c) >= hi_target) {
                hi_bin = b;
                hi_found = true;
            }
        }
        lut[base] = f32(lo_bin) / 256.0;
        lut[base + 1u] = f32(max(hi_bin, lo_bin + 1u)) / 256.0;
        return;
    }
    var cdf_min = 0u;
    var c = 0u;
    for (var b = 0u; b < 256u; b++) {
        c += cdf_counts[base + b];
        if (cdf_min == 0u) {
            cdf_min = c;
        }
    }
    c = 0u;
    for (var b = 0u; b < 256u; b++) {
        c += cdf_counts[base + b];
        if (total == cdf_min) {
            lut[base + b] = -1.0;
        } else {
            lut[base + b] = f32(c - min(c, cdf_min)) / f32(total - cdf_min);
        }
    }
}

@compute @workgroup_size(WG)
fn hist_apply(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WG;
    if (i >= ap.images * ap.channels * ap.plane) {
        return;
    }
    let v = ax[i];
    let base = (i / ap.plane) * 256u;
    if (STRETCH) {
        let lo = alut[base];
        let hi = alut[base + 1u];
        ay[i] = clamp((v - lo) / (hi - lo), 0.0, 1.0);
        return;
    }
    let m = alut[base + bin_of(v)];
    ay[i] = select(m, clamp(v, 0.0, 1.0), m < 0.0);
}
