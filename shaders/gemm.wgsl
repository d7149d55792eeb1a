// Batched GEMM with a fused epilogue, f32 arithmetic over f32 or f16 storage (`elem`):
//   y[b] = activate(op(a[b]) · op(b[b]) + bias + residual)
//
// Bindings: a (read), b (read), bias (read), residual [.., M, N] (read), y (write), GemmParams.
// a is [M, K] row-major ([K, M] when TRANS_A), b is [K, N] ([N, K] when TRANS_B), y is [M, N];
// each batch starts at batch · {a,b}_batch_stride (0 broadcasts one operand) and y at
// batch · M · N. bias is [N] (one per column) or, with BIAS_PER_ROW, [M] (one per row: a
// convolution's output channels). An absent bias or residual is bound to `a` and ignored.
// The epilogue's bias and residual and its piecewise-linear activations (ReLU, ReLU6, clamp,
// leaky ReLU: `epilogue` bits and slope/lo/hi) are uniform parameters, not override constants:
// a CNN's GEMMs then differ only in operand layout, and each pipeline of this file costs a CPU
// driver seconds to compile (lavapipe: ~3 s) against a few comparisons per stored output. Other
// activations use the override chain of activation.wgsl (a runtime `switch` over every unary op
// costs lavapipe, which runs such branches masked, about a third of a CNN's speed).
// Every operand is bound as array<vec4<elem>>: with ALIGNED_A (a not transposed, K % 4 == 0) a
// row strip of 4 along K is one vec4 load, and with ALIGNED_B (b not transposed, N % 4 == 0)
// so is a strip of 4 columns; otherwise the same strips are gathered element by element.
// Grid: a workgroup of WG_X invocations owns `rows` (at most MAX_MR) rows × 8·WG_X columns of y;
// z is the batch. Every invocation of a workgroup shares its rows and accumulates rows × 8
// outputs (its 8 columns as two vec4 strips). Loops over rows and sub-blocks have uniform
// (runtime) bounds on purpose: unrolled, they multiply the driver's compile time (lavapipe:
// ~7 s per pipeline instead of ~4) for a few percent of speed. No workgroup memory or barriers: on lavapipe, where invocations
// are SIMD lanes and every storage load is a per-lane loop, barriers cost more than they save and
// the number of loads per FMA is what counts. Entry `gemm` loads the a strips in every invocation;
// `gemm_subgroup` (gemm_subgroup.wgsl, appended for adapters with subgroups) shares them.
// Edge rows/columns clamp their loads and skip their stores.
// Variants: WG_X, TRANS_A, TRANS_B, ALIGNED_A, ALIGNED_B, ALIGNED_BT, L1 (distances instead of
// products), ACT0..3 (activation.wgsl) for activations other than the piecewise-linear ones.

alias elem = f32; // storage type of float bindings: f16 in the f16 kernels (kernels.rs)

override WG_X: u32 = 8u;
override TRANS_A: bool = false;
override TRANS_B: bool = false;
override ALIGNED_A: bool = false;
override ALIGNED_B: bool = false;
override ALIGNED_BT: bool = false;
// L1: accumulate |a − b| instead of a·b, giving the matrix of L1 distances between the rows of
// a and the columns of op(b) (the same tiling serves both).
override L1: bool = false;

// One step of the accumulation: a·b, or |a − b| with L1.
fn term(a: f32, b: vec4<f32>) -> vec4<f32> {
    if (L1) {
        return abs(vec4<f32>(a) - b);
    }
    return a * b;
}

struct GemmParams {
    m: u32,
    n: u32,
    k: u32,
    a_batch_stride: u32,
    b_batch_stride: u32,
    // Sub-blocks of 4 along K per block of 32 in gemm_subgroup (8).
    sub_blocks: u32,
    // Rows per workgroup (at most MAX_MR).
    rows: u32,
    // Epilogue bits: HAS_BIAS, BIAS_PER_ROW, RESIDUAL, LEAKY, LOWER, UPPER.
    epilogue: u32,
    // v = select(v · slope, v, v > 0) with LEAKY, then max(v, lo) with LOWER, min(v, hi) with UPPER.
    slope: f32,
    lo: f32,
    hi: f32,
}

const HAS_BIAS: u32 = 1u;
const BIAS_PER_ROW: u32 = 2u;
const RESIDUAL: u32 = 4u;
const LEAKY: u32 = 8u;
const LOWER: u32 = 16u;
const UPPER: u32 = 32u;

// The piecewise-linear activation the `epilogue` bits select (identity when none is set).
fn linear_activation(x: f32) -> f32 {
    var v = x;
    if ((p.epilogue & LEAKY) != 0u) {
        v = select(v * p.slope, v, v > 0.0);
    }
    if ((p.epilogue & LOWER) != 0u) {
        v = max(v, p.lo);
    }
    if ((p.epilogue & UPPER) != 0u) {
        v = min(v, p.hi);
    }
    return v;
}

@group(0) @binding(0) var<storage, read> a: array<vec4<elem>>;
@group(0) @binding(1) var<storage, read> b: array<vec4<elem>>;
@group(0) @binding(2) var<storage, read> bias: array<vec4<elem>>;
@group(0) @binding(3) var<storage, read> residual: array<vec4<elem>>;
@group(0) @binding(4) var<storage, read_write> y: array<elem>;
@group(0) @binding(5) var<uniform> p: GemmParams;

fn a_at(i: u32) -> f32 {
    return f32(a[i >> 2u][i & 3u]);
}

fn b_at(i: u32) -> f32 {
    return f32(b[i >> 2u][i & 3u]);
}

// a[row, k .. k+4] of the batch starting at `base` (k + 4 <= K).
fn a_strip(base: u32, row: u32, k: u32) -> vec4<f32> {
    if (ALIGNED_A) {
        return vec4<f32>(a[(base + row * p.k + k) >> 2u]);
    }
    if (TRANS_A) {
        let i = base + k * p.m + row;
        return vec4<f32>(a_at(i), a_at(i + p.m), a_at(i + 2u * p.m), a_at(i + 3u * p.m));
    }
    let i = base + row * p.k + k;
    return vec4<f32>(a_at(i), a_at(i + 1u), a_at(i + 2u), a_at(i + 3u));
}

// b[k, col .. col+4] (col a multiple of 4; unaligned columns past N are clamped to N − 1).
fn b_strip(base: u32, k: u32, col: u32) -> vec4<f32> {
    if (ALIGNED_B) {
        return vec4<f32>(b[(base + k * p.n + col) >> 2u]);
    }
    let c = vec4<u32>(min(col, p.n - 1u), min(col + 1u, p.n - 1u), min(col + 2u, p.n - 1u), min(col + 3u, p.n - 1u));
    if (TRANS_B) {
        return vec4<f32>(b_at(base + c.x * p.k + k), b_at(base + c.y * p.k + k), b_at(base + c.z * p.k + k), b_at(base + c.w * p.k + k));
    }
    let r = base + k * p.n;
    return vec4<f32>(b_at(r + c.x), b_at(r + c.y), b_at(r + c.z), b_at(r + c.w));
}

// b[kk + j, col .. col+4] for j = 0..3 (kk + 4 <= K). With ALIGNED_BT (b transposed, K % 4 == 0)
// each column's 4 values along K are one vec4 load, transposed in registers.
fn b_block(base: u32, kk: u32, col: u32) -> array<vec4<f32>, 4> {
    var r: array<vec4<f32>, 4>;
    if (ALIGNED_BT) {
        var t: array<vec4<f32>, 4>;
        for (var i = 0u; i < 4u; i++) {
            t[i] = vec4<f32>(b[(base + min(col + i, p.n - 1u) * p.k + kk) >> 2u]);
        }
        for (var j = 0u; j < 4u; j++) {
            r[j] = vec4<f32>(t[0][j], t[1][j], t[2][j], t[3][j]);
        }
        return r;
    }
    for (var j = 0u; j < 4u; j++) {
        r[j] = b_strip(base, kk + j, col);
    }
    return r;
}

// Element a[row, k].
fn a_one(base: u32, row: u32, k: u32) -> f32 {
    if (TRANS_A) {
        return a_at(base + k * p.m + row);
    }
    return a_at(base + row * p.k + k);
}

// The register block's capacity in rows; `rows` of them are used.
const MAX_MR: u32 = 32u;

// Rows of the block starting at row0 that lie inside y.
fn block_rows(row0: u32) -> u32 {
    return min(p.rows, p.m - row0);
}

// The starts of an invocation's two column strips for its block at col0; an aligned strip past
// N is moved back inside the row (its results are not stored).
fn strip_cols(col0: u32) -> vec2<u32> {
    if (ALIGNED_B) {
        return min(vec2<u32>(col0, col0 + 4u), vec2<u32>(p.n - 4u));
    }
    return vec2<u32>(col0, col0 + 4u);
}

// Adds the products for k = kk0 .. K to the block of rows row0 .. row0+rows and columns `cols`:
// steps of 4 along K (strip loads), then single steps.
fn accumulate(
    ab: vec2<u32>,
    row0: u32,
    cols: vec2<u32>,
    kk0: u32,
    lo: ptr<function, array<vec4<f32>, MAX_MR>>,
    hi: ptr<function, array<vec4<f32>, MAX_MR>>,
) {
    let rows = block_rows(row0);
    var kk = kk0;
    for (; kk + 4u <= p.k; kk += 4u) {
        let bl = b_block(ab.y, kk, cols.x);
        let bh = b_block(ab.y, kk, cols.y);
        for (var i = 0u; i < rows; i++) {
            let av = a_strip(ab.x, row0 + i, kk);
            (*lo)[i] += term(av.x, bl[0]) + term(av.y, bl[1]) + term(av.z, bl[2]) + term(av.w, bl[3]);
            (*hi)[i] += term(av.x, bh[0]) + term(av.y, bh[1]) + term(av.z, bh[2]) + term(av.w, bh[3]);
        }
    }
    for (; kk < p.k; kk++) {
        let bl = b_strip(ab.y, kk, cols.x);
        let bh = b_strip(ab.y, kk, cols.y);
        for (var i = 0u; i < rows; i++) {
            let av = a_one(ab.x, row0 + i, kk);
            (*lo)[i] += term(av, bl);
            (*hi)[i] += term(av, bh);
        }
    }
}

@compute @workgroup_size(WG_X, 1, 1)
fn gemm(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let row0 = wg.y * p.rows;
    let col0 = (wg.x * WG_X + lid.x) * 8u;
    var lo: array<vec4<f32>, MAX_MR>;
    var hi: array<vec4<f32>, MAX_MR>;
    let ab = wg.z * vec2<u32>(p.a_batch_stride, p.b_batch_stride);
    accumulate(ab, row0, strip_cols(col0), 0u, &lo, &hi);
    store_block(wg.z, row0, col0, &lo, &hi);
}

// Stores activate(acc + bias + residual) for rows row0 .. row0+rows and columns col0 .. col0+8 of
// batch z (lo holds columns 0..3, hi 4..7), skipping those outside y.
fn store_block(z: u32, row0: u32, col0: u32, lo: ptr<function, array<vec4<f32>, MAX_MR>>, hi: ptr<function, array<vec4<f32>, MAX_MR>>) {
    if (col0 >= p.n) {
        return;
    }
    let y_base = z * p.m * p.n;
    for (var i = 0u; i < block_rows(row0); i++) {
        let row = row0 + i;
        for (var j = 0u; j < 8u; j++) {
            let col = col0 + j;
            if (col >= p.n) {
                break;
            }
            let at = y_base + row * p.n + col;
            var v = select((*hi)[i][j & 3u], (*lo)[i][j & 3u], j < 4u);
            if ((p.epilogue & HAS_BIAS) != 0u) {
                let bi = select(col, row, (p.epilogue & BIAS_PER_ROW) != 0u);
                v += f32(bias[bi >> 2u][bi & 3u]);
            }
            if ((p.epilogue & RESIDUAL) != 0u) {
                v += f32(residual[at >> 2u][at & 3u]);
            }
            y[at] = elem(activate(linear_activation(v)));
        }
    }
}
