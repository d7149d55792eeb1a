// Softmax and log-softmax along one axis, f32: exp(x − m) / s, or with LOG x − m − log s, where
// m is the line's max and s the sum of exp(x − m). The tensor is viewed as [outer, len, inner]
// with the axis in the middle.
// `softmax_lines`: one invocation per line (o, i), three passes over it (max, sum, values):
//   for lines of at most loop_chunk entries (lower/reduce.rs), so that no invocation loops past
//   llvmpipe's 65 535 iterations (reduce.wgsl). Bindings: x (read), y (write), SoftmaxParams.
// `softmax`: longer lines, from the records (m, s) that reduce.wgsl's fold (OP softmax) left at
//   stats[o · inner + i]; one invocation per element. Bindings: x (read), stats (read), y
//   (write), SoftmaxParams.
// Grid: linearised over gid.x + gid.y · nwg.x · WG.
// Variants: LOG (log-softmax), WG.

override LOG: bool = false;
override WG: u32 = 64u;

struct SoftmaxParams {
    outer: u32,
    len: u32,
    inner: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> stats: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> p: SoftmaxParams;

@group(0) @binding(1) var<storage, read_write> ly: array<f32>;
@group(0) @binding(2) var<uniform> lp: SoftmaxParams;

@compute @workgroup_size(WG)
fn softmax_lines(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let line = gid.x + gid.y * nwg.x * WG;
    if (line >= lp.outer * lp.inner) {
        return;
    }
    let base = (line / lp.inner) * lp.len * lp.inner + line % lp.inner;
    var m = x[base];
    for (var k = 1u; k < lp.len; k++) {
        m = max(m, x[base + k * lp.inner]);
    }
    var s = 0.0;
    for (var k = 0u; k < lp.len; k++) {
        s += exp(x[base + k * lp.inner] - m);
    }
    let log_s = log(s);
    for (var k = 0u; k < lp.len; k++) {
        ly[base + k * lp.inner] = value(x[base + k * lp.inner] - m, s, log_s);
    }
}

// Softmax (or with LOG log-softmax) of an entry z = x − m of a line whose sum of exp(x − m) is
// s (log_s its log).
fn value(z: f32, s: f32, log_s: f32) -> f32 {
    if (LOG) {
        return z - log_s;
    }
    return exp(z) / s;
}

@compute @workgroup_size(WG)
fn softmax(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let e = gid.x + gid.y * nwg.x * WG;
    if (e >= p.outer * p.len * p.inner) {
        return;
    }
    let s = stats[(e / (p.len * p.inner)) * p.inner + e % p.inner];
    y[e] = value(x[e] - s.x, s.y, log(s.y));
}
