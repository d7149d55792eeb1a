// Normalisation, f32. activation.wgsl is prepended (ACT0..3: `norm_apply`'s fused activations).
//
// `batch_norm`: inference batch norm over axis 1, one invocation per element:
//   y = (x − mean[c]) / sqrt(var[c] + eps) · gamma[c] + beta[c], c = (i / inner) % channels.
//   Bindings: x, gamma, beta, mean, var (read), y (write), BatchNormParams.
// `norm_apply`: layer and group norm over `rows` contiguous rows of `len` elements, from each
//   row's statistics (count, mean, M2), which reduce.wgsl's fold (OP moments) has already
//   computed: y = (x − mean) / sqrt(M2 / count + eps) · gamma[a] + beta[a] (biased variance)
//   with a = ((row % affine_rows) · len + i) / affine_div (layer norm: affine_rows = 1,
//   affine_div = 1; group norm: affine_rows = groups, affine_div = H·W), then y = activate(y).
//   One invocation per segment of a row (segs segments of at most seg ≤ loop_chunk elements):
//   the row's statistics and the affine index are worked out once, then advanced element by
//   element; per element and lane, CPU drivers run integer divisions and storage reads as
//   scalar loops (a division, a bounds check), which made one invocation per element 5× slower
//   than a unary pass. Bindings: x, gamma, beta, stats (read), y (write), RowNormParams.
// Grid: `batch_norm` one invocation per element, `norm_apply` one per segment (items = rows ·
// segs), linearised over gid.x + gid.y · nwg.x · WG.
// Variants: WG, ACT0..3.

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
    segs: u32,
    seg: u32,
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
    let item = gid.x + gid.y * nwg.x * WG;
    if (item >= rp.rows * rp.segs) {
        return;
    }
    let row = item / rp.segs;
    let begin = (item % rp.segs) * rp.seg;
    let end = min(rp.len, begin + rp.seg);
    let s = stats[row];
    let inv = inverseSqrt(s.z / s.x + rp.eps);
    // Affine index a of element `begin`, and the elements left before it moves on.
    let at = (row % rp.affine_rows) * rp.len + begin;
    var a = at / rp.affine_div;
    var left = rp.affine_div - at % rp.affine_div;
    var scale = inv * gamma[a];
    var shift = beta[a];
    let base = row * rp.len;
    for (var i = begin; i < end; i++) {
        rn_y[base + i] = activate((x[base + i] - s.y) * scale + shift);
        left -= 1u;
        if (left == 0u && i + 1u < end) {
            a += 1u;
            left = rp.affine_div;
            scale = inv * gamma[a];
            shift = beta[a];
        }
    }
}
