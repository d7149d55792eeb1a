// Standard normal samples from a counter-based generator (ocelli-cpu's random.rs computes the
// same numbers).
//
// `random_normal`: invocation b runs Philox4x32-10 (Salmon et al., SC 2011) on the counter
//   (b, 0, 0, 0) under the key (two u32 words), and turns its four words into elements 4b ..
//   4b + 3 by Box–Muller: u1 = (top 24 bits + 1) / 2^24 in (0, 1], u2 = top 24 bits / 2^24 in
//   [0, 1), r = sqrt(−2 ln u1) (ln_unit), angle 2π·u2 − π, (−r cos, −r sin). sin and cos are polynomials
//   of half the angle (within 1e-6), not the driver's, whose accuracy Vulkan leaves loose.
//   32-bit products are split into 16-bit halves (WGSL has no 64-bit integers).
//   Bindings: key [2] u32 (read), y f32 (write), RandomParams.
// Grid: one invocation per block of four, linearised over gid.x + gid.y · nwg.x · WG.
// Variants: WG.

override WG: u32 = 64u;

struct RandomParams {
    numel: u32,
}

@group(0) @binding(0) var<storage, read> key: array<u32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> p: RandomParams;

// (high, low) words of the 64-bit product a·b.
fn mul_wide(a: u32, b: u32) -> vec2<u32> {
    let al = a & 0xffffu;
    let ah = a >> 16u;
    let bl = b & 0xffffu;
    let bh = b >> 16u;
    let ll = al * bl;
    let hl = ah * bl;
    let lh = al * bh;
    let cross = (ll >> 16u) + (hl & 0xffffu) + lh;
    return vec2<u32>(ah * bh + (hl >> 16u) + (cross >> 16u), (cross << 16u) | (ll & 0xffffu));
}

fn philox(counter: vec4<u32>, k: vec2<u32>) -> vec4<u32> {
    var c = counter;
    var kk = k;
    for (var round = 0u; round < 10u; round++) {
        if (round > 0u) {
            kk = kk + vec2<u32>(0x9E3779B9u, 0xBB67AE85u);
        }
        let p0 = mul_wide(0xD2511F53u, c.x);
        let p1 = mul_wide(0xCD9E8D57u, c.z);
        c = vec4<u32>(p1.x ^ c.y ^ kk.x, p1.y, p0.x ^ c.w ^ kk.y, p0.y);
    }
    return c;
}

// (sin t, cos t) for t in [−π, π].
fn sincos(t: f32) -> vec2<f32> {
    let h = 0.5 * t;
    let q = h * h;
    let s = h * (1.0 + q * (-1.0 / 6.0 + q * (1.0 / 120.0 + q * (-1.0 / 5040.0 + q * (1.0 / 362880.0
        + q * (-1.0 / 39916800.0 + q * (1.0 / 6227020800.0)))))));
    let c = 1.0 + q * (-0.5 + q * (1.0 / 24.0 + q * (-1.0 / 720.0 + q * (1.0 / 40320.0 + q * (-1.0 / 3628800.0
        + q * (1.0 / 479001600.0 + q * (-1.0 / 87178291200.0)))))));
    return vec2<f32>(2.0 * s * c, 1.0 - 2.0 * s * s);
}

// ln u for u in (0, 1]: on [0.5, 1] by the series of 2 atanh((u − 1) / (u + 1)) (Vulkan lets
// log miss by 2^-21 absolute there, all of a small sample's radius), below by log.
fn ln_unit(u: f32) -> f32 {
    if (u < 0.5) {
        return log(u);
    }
    let z = (u - 1.0) / (u + 1.0);
    let q = z * z;
    let series = 1.0 + q * (1.0 / 3.0 + q * (1.0 / 5.0 + q * (1.0 / 7.0 + q * (1.0 / 9.0 + q * (1.0 / 11.0
        + q * (1.0 / 13.0 + q / 15.0))))));
    return 2.0 * z * series;
}

fn box_muller(a: u32, b: u32) -> vec2<f32> {
    let u1 = (f32(a >> 8u) + 1.0) * (1.0 / 16777216.0);
    let u2 = f32(b >> 8u) * (1.0 / 16777216.0);
    let r = sqrt(-2.0 * ln_unit(u1));
    let sc = sincos(u2 * 6.2831855 - 3.1415927);
    return vec2<f32>(-r * sc.y, -r * sc.x);
}

@compute @workgroup_size(WG)
fn random_normal(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let b = gid.x + gid.y * nwg.x * WG;
    if (4u * b >= p.numel) {
        return;
    }
    let x = philox(vec4<u32>(b, 0u, 0u, 0u), vec2<u32>(key[0], key[1]));
    let z = vec4<f32>(box_muller(x.x, x.y), box_muller(x.z, x.w));
    for (var j = 0u; j < 4u; j++) {
        let e = 4u * b + j;
        if (e < p.numel) {
            y[e] = z[j];
        }
    }
}
