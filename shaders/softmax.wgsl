// Softmax and log-softmax along one axis, f32, from each line's statistics.
//
// The tensor is viewed as [outer, len, inner] with the axis in the middle; reduce.wgsl's fold
// (OP softmax) has already turned each line (o, i) into its record (max m, sum s of exp(x − m)),
// at stats[o · inner + i]. Each invocation then writes one element: exp(x − m) / s, or with
// LOG x − m − log s.
// Bindings: x (read), stats (read), y (write), SoftmaxParams.
// Grid: one invocation per element, linearised over gid.x + gid.y · nwg.x · WG.
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

@compute @workgroup_size(WG)
fn softmax(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let e = gid.x + gid.y * nwg.x * WG;
    if (e >= p.outer * p.len * p.inner) {
        return;
    }
    let s = stats[(e / (p.len * p.inner)) * p.inner + e % p.inner];
    let z = x[e] - s.x;
    if (LOG) {
        y[e] = z - log(s.y);
    } else {
        y[e] = exp(z) / s.y;
    }
}
