// Normalisation, f32.
//
// `batch_norm`: inference batch norm over axis 1, one invocation per element:
//   y = (x − mean[c]) / sqrt(var[c] + eps) · gamma[c] + beta[c], c = (i / inner) % channels.
//   Bindings: x, gamma, beta, mean, var (read), y (write), BatchNormParams.
// `norm_rows`: layer and group norm. The input is `rows` contiguous rows of `len` elements; each
//   row is normalised by its own mean and biased variance (two passes, so no cancellation), then
//   scaled by gamma[a] and shifted by beta[a] with a = ((row % affine_rows) · len + i) / affine_div
//   (layer norm: affine_rows = 1, affine_div = 1; group norm: affine_rows = groups,
//   affine_div = H·W). One workgroup of WG invocations per row reduces through workgroup memory.
//   Bindings: x, gamma, beta (read), y (write), RowNormParams.
// Grid: batch_norm linearised over gid.x + gid.y · nwg.x · WG; norm_rows over workgroups
// wid.x + wid.y · nwg.x.
// Variants: WG (a power of two).

override WG: u32 = 64u;

struct BatchNormParams {
    numel: u32,
    channels: u32,
    inner: u32,
    eps: f32,
}

struct RowNormParams {
    rows: u32,
    len: u32,
    affine_rows: u32,
    affine_div: u32,
    eps: f32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> gamma: array<f32>;
@group(0) @binding(2) var<storage, read> beta: array<f32>;

@group(0) @binding(3) var<storage, read> mean: array<f32>;
@group(0) @binding(4) var<storage, read> variance: array<f32>;
@group(0) @binding(5) var<storage, read_write> bn_y: array<f32>;
@group(0) @binding(6) var<uniform> bp: BatchNormParams;

@group(0) @binding(3) var<storage, read_write> rn_y: array<f32>;
@group(0) @binding(4) var<uniform> rp: RowNormParams;

var<workgroup> partial: array<f32, WG>;

@compute @workgroup_size(WG)
fn batch_norm(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WG;
    if (i >= bp.numel) {
        return;
    }
    let c = (i / bp.inner) % bp.channels;
    let inv = inverseSqrt(variance[c] + bp.eps);
    bn_y[i] = (x[i] - mean[c]) * inv * gamma[c] + beta[c];
}

// Sum of `v` over the workgroup; every invocation gets the result.
fn workgroup_sum(lid: u32, v: f32) -> f32 {
    partial[lid] = v;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s = s / 2u) {
        if (lid < s) {
            partial[lid] += partial[lid + s];
        }
        workgroupBarrier();
    }
    let total = partial[0];
    workgroupBarrier();
    return total;
}

@compute @workgroup_size(WG)
fn norm_rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
             @builtin(local_invocation_index) lid: u32) {
    let row = wid.x + wid.y * nwg.x;
    // Rows past the end still join the barriers (uniform control flow) but store nothing.
    let live = row < rp.rows;
    let base = min(row, rp.rows - 1u) * rp.len;
    var s = 0.0;
    for (var i = lid; i < rp.len; i += WG) {
        s += x[base + i];
    }
    let mean_v = workgroup_sum(lid, s) / f32(rp.len);
    var q = 0.0;
    for (var i = lid; i < rp.len; i += WG) {
        let d = x[base + i] - mean_v;
        q += d * d;
    }
    let inv = inverseSqrt(workgroup_sum(lid, q) / f32(rp.len) + rp.eps);
    if (!live) {
        return;
    }
    let affine_base = (row % rp.affine_rows) * rp.len;
    for (var i = lid; i < rp.len; i += WG) {
        let a = (affine_base + i) / rp.affine_div;
        rn_y[base + i] = (x[base + i] - mean_v) * inv * gamma[a] + beta[a];
    }
}
