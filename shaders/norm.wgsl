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
// `norm_apply4`: the same in groups of 4 elements (len, affine_div and seg counted in them,
//   where len and affine_div are multiples of 4): one vector load and store per 4 elements.
// Grid: `batch_norm` one invocation per element, `norm_apply` and `norm_apply4` one per
// segment (items = rows · segs), linearised over gid.x + gid.y · nwg.x · WG.
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
@group(0) @binding(0) var<storage, read> x4: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> rn_y4: array<vec4<f32>>;

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

// A segment's walk along its row: positions begin..end from base, the row's mean and
// 1/σ, the affine index a at the current position, the positions left before it moves on,
// and the scale and shift it gives.
struct Walk {
    base: u32, begin: u32, end: u32, a: u32,
    left: u32, mean: f32, inv: f32, scale: f32,
    shift: f32,
}

fn walk_of(item: u32) -> Walk {
    let row = item / rp.segs;
    let begin = (item % rp.segs) * rp.seg;
    let s = stats[row];
    let at = (row % rp.affine_rows) * rp.len + begin;
    let a = at / rp.affine_div;
    let inv = inverseSqrt(s.z / s.x + rp.eps);
    return Walk(
        row * rp.len,
        begin,
        min(rp.len, begin + rp.seg),
        a,
        rp.affine_div - at % rp.affine_div,
        s.y,
        inv,
        inv * gamma[a],
        beta[a],
    );
}

// Past position i: the next affine entry once this one's positions are done.
fn advance(w: ptr<function, Walk>, i: u32) {
    (*w).left -= 1u;
    if ((*w).left == 0u && i + 1u < (*w).end) {
        (*w).a += 1u;
        (*w).left = rp.affine_div;
        (*w).scale = (*w).inv * gamma[(*w).a];
        (*w).shift = beta[(*w).a];
    }
}

@compute @workgroup_size(WG)
fn norm_apply(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let item = gid.x + gid.y * nwg.x * WG;
    if (item >= rp.rows * rp.segs) {
        return;
    }
    var w = walk_of(item);
    for (var i = w.begin; i < w.end; i++) {
        rn_y[w.base + i] = activate((x[w.base + i] - w.mean) * w.scale + w.shift);
        advance(&w, i);
    }
}

@compute @workgroup_size(WG)
fn norm_apply4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let item = gid.x + gid.y * nwg.x * WG;
    if (item >= rp.rows * rp.segs) {
        return;
    }
    var w = walk_of(item);
    for (var i = w.begin; i < w.end; i++) {
        let v = (x4[w.base + i] - w.mean) * w.scale + w.shift;
        rn_y4[w.base + i] = vec4<f32>(activate(v.x), activate(v.y), activate(v.z), activate(v.w));
        advance(&w, i);
    }
}
