// Reductions along one axis, f32. The tensor is viewed as [outer, len, inner].
//
// `reduce`: sum, mean or max. Bindings: x (read), y (write), ReduceParams.
// `argmax`: index of the first maximum, as i32. Bindings: x (read), idx (write), ReduceParams.
// Grid: one invocation per (outer, inner) output, linearised over gid.x + gid.y · nwg.x · WG.
// Sums use Kahan compensation so long axes (global pooling) stay close to the f64 reference.
// Variants: OP (0 sum, 1 mean, 2 max), WG.

override OP: u32 = 0u;
override WG: u32 = 64u;

struct ReduceParams {
    outer: u32,
    len: u32,
    inner: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;

@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> p: ReduceParams;

@group(0) @binding(1) var<storage, read_write> idx: array<i32>;
@group(0) @binding(2) var<uniform> ap: ReduceParams;

@compute @workgroup_size(WG)
fn reduce(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let o = gid.x + gid.y * nwg.x * WG;
    if (o >= p.outer * p.inner) {
        return;
    }
    let base = (o / p.inner) * p.len * p.inner + o % p.inner;
    if (OP == 2u) {
        var m = x[base];
        for (var k = 1u; k < p.len; k++) {
            m = max(m, x[base + k * p.inner]);
        }
        y[o] = m;
        return;
    }
    var sum = 0.0;
    var comp = 0.0;
    for (var k = 0u; k < p.len; k++) {
        let v = x[base + k * p.inner] - comp;
        let t = sum + v;
        comp = (t - sum) - v;
        sum = t;
    }
    if (OP == 1u) {
        sum = sum / f32(p.len);
    }
    y[o] = sum;
}

@compute @workgroup_size(WG)
fn argmax(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let o = gid.x + gid.y * nwg.x * WG;
    if (o >= ap.outer * ap.inner) {
        return;
    }
    let base = (o / ap.inner) * ap.len * ap.inner + o % ap.inner;
    var best = 0u;
    var m = x[base];
    for (var k = 1u; k < ap.len; k++) {
        let v = x[base + k * ap.inner];
        if (v > m) {
            m = v;
            best = k;
        }
    }
    idx[o] = i32(best);
}
