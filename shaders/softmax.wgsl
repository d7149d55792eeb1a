// Softmax and log-softmax along one axis, f32.
//
// The tensor is viewed as [outer, len, inner] with the axis in the middle.
// Bindings: x (read), y (write), SoftmaxParams.
// Grid: one invocation per (outer, inner) line, linearised over gid.x + gid.y · nwg.x · WG;
// three passes over the line: max, sum of exp(x − max), then the normalised values.
// Variants: LOG (log-softmax), WG.

override LOG: bool = false;
override WG: u32 = 64u;

struct SoftmaxParams {
    outer: u32,
    len: u32,
    inner: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> p: SoftmaxParams;

@compute @workgroup_size(WG)
fn softmax(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let line = gid.x + gid.y * nwg.x * WG;
    if (line >= p.outer * p.inner) {
        return;
    }
    let base = (line / p.inner) * p.len * p.inner + line % p.inner;
    var m = x[base];
    for (var k = 1u; k < p.len; k++) {
        m = max(m, x[base + k * p.inner]);
    }
    var s = 0.0;
    for (var k = 0u; k < p.len; k++) {
        s += exp(x[base + k * p.inner] - m);
    }
    let log_s = log(s);
    for (var k = 0u; k < p.len; k++) {
        let z = x[base + k * p.inner] - m;
        if (LOG) {
            y[base + k * p.inner] = z - log_s;
        } else {
            y[base + k * p.inner] = exp(z) / s;
        }
    }
}
