// Normalisation, f32.
//
// `batch_norm`: inference batch norm over axis 1, one invocation per element:
//   y = (x − mean[c]) / sqrt(var[c] + eps) · gamma[c] + beta[c], c = (i / inner) % channels.
//   Bindings: x, gamma, beta, mean, var (read), y (write), BatchNormParams.
// `norm_apply`: layer and group norm over `rows` contiguous rows of `len` elements, from each
//   row's statistics (count, mean, M2), which reduce.wgsl's fold (OP moments) has already
//   computed: y = (x − mean) / sqrt(M2 / count + eps) · gamma[a] + beta[a] (biased variance)
//   with a = ((row % affine_rows) · len + i) / affine_div (layer norm: affine_rows = 1,
//   affine_div = 1; group norm: affine_rows = groups, affine_div = H·W).
//   Bindings: x, gamma, beta, stats (read), y (write), RowNormParams.
// Grid: one invocation per element, linearised over gid.x + gid.y · nwg.x · WG.
// Variants: WG.

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

@group(0) @binding(3) var<storage, read> stats: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> rn_y: array<f32>;
@group(0) @binding(5) var<uniform> rp: RowNormParams;

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

@compute @workgroup_size(WG)
fn norm_apply(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let e = gid.x + gid.y * nwg.x * WG;
    if (e >= rp.rows * rp.len) {
        return;
    }
    let row = e / rp.len;
    let s = stats[row];
    let inv = inverseSqrt(s.z / s.x + rp.eps);
    let a = ((row % rp.affine_rows) * rp.len + e % rp.len) / rp.affine_div;
    rn_y[e] = (x[e] - s.y) * inv * gamma[a] + beta[a];
}
