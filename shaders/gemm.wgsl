// Batched GEMM with a fused epilogue, f32 arithmetic over f32 or f16 storage (`elem`):
//   y[b] = activate(op(a[b]) · op(b[b]) + bias + residual)
//
// Bindings: a (read), b (read), bias (read), residual [.., M, N] (read), y (write), GemmParams.
// a is [M, K] row-major ([K, M] when TRANS_A), b is [K, N] with rows `ldb` apart ([N, K] when
// TRANS_B), y is [M, N] with rows `ldy` apart (N, or more when y is a band of the columns of a
// wider matrix, as a convolution's banded im2col writes); each batch starts at
// batch · {a,b}_batch_stride (0 broadcasts one operand) and y (and the residual) at
// y_offset + batch · M · ldy. bias is [N] (one per column) or, with BIAS_PER_ROW, [M] (one per row: a
// convolution's output channels). An absent bias or residual is bound to a placeholder and ignored.
// The epilogue's bias and residual and its piecewise-linear activations (ReLU, ReLU6, clamp,
// leaky ReLU: `epilogue` bits and slope/lo/hi) are uniform parameters, not override constants:
// a CNN's GEMMs then differ only in operand layout, and each pipeline of this file costs a CPU
// driver a noticeable compile (lavapipe: ~0.6 s) against a few comparisons per stored output. Other
// activations use the override chain of activation.wgsl (a runtime `switch` over every unary op
// costs lavapipe, which runs such branches masked, about a third of a CNN's speed).
// Operands a and b are read through `a_vec4`/`b_vec4` (their vec4 at an index), which one of two
// binding files defines: gemm_storage.wgsl (storage buffers) or gemm_texels.wgsl (the same
// bytes copied into textures, which CPU drivers read about 10× faster). With ALIGNED_A (a not
// transposed, K % 4 == 0) a row strip of 4 along K is one vec4, and with ALIGNED_B (b not
// transposed, ldb % 4 == 0: N % 4 == 0, or rows padded by im2col) so is a strip of 4 columns;
// otherwise the same strips are gathered element by element.
// Grid: a workgroup of WG_X invocations owns ROWS rows × 8·WG_X columns of y; z is the batch.
// Every invocation of a workgroup shares its rows and accumulates ROWS × 8 outputs (its 8 columns
// as two vec4 strips). The entry points are generated (gemm_source.rs) with every loop over the
// register block unrolled: accumulators must be plain values, since a driver that cannot prove
// an array index constant keeps the array in memory (lavapipe: a masked per-lane store per
// element, half of a GEMM's time). No workgroup memory or barriers: on lavapipe, where
// invocations are SIMD lanes, they cost more than they save. Entry `gemm` loads the a strips in
// every invocation; `gemm_subgroup` (adapters with subgroups of 8 or more) loads each once per
// subgroup and shuffles it to the others. Edge rows/columns clamp their loads and skip their
// stores; the last step along K reads zeros past K. The per-column bias is loaded once per
// invocation, the per-row bias once per row. Each dispatch covers K from k_begin to k_end.
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
    // Epilogue bits: HAS_BIAS, BIAS_PER_ROW, RESIDUAL, LEAKY, LOWER, UPPER.
    epilogue: u32,
    // v = select(v · slope, v, v > 0) with LEAKY, then max(v, lo) with LOWER, min(v, hi) with UPPER.
    slope: f32,
    lo: f32,
    hi: f32,
    // Elements between rows of b when not transposed: N, or N rounded up to a multiple of 4 when
    // b's rows are padded (ALIGNED_B then holds for any N).
    ldb: u32,
    // The part of K this dispatch accumulates: k_begin is a multiple of 32, and so is k_end
    // unless it is K. A long K runs as several dispatches, each adding its part to the
    // previous one's result (bound as the residual), so that no invocation's K loop runs past
    // llvmpipe's 65 535 iterations (reduce.wgsl).
    k_begin: u32,
    k_end: u32,
    // Where y (and the residual, which shares its layout) starts, and the elements between its rows.
    y_offset: u32,
    ldy: u32,
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

@group(0) @binding(2) var<storage, read> bias: array<vec4<elem>>;
@group(0) @binding(3) var<storage, read> residual: array<vec4<elem>>;
@group(0) @binding(4) var<storage, read_write> y: array<elem>;
@group(0) @binding(5) var<uniform> p: GemmParams;

fn a_at(i: u32) -> f32 {
    return a_vec4(i >> 2u)[i & 3u];
}

fn b_at(i: u32) -> f32 {
    return b_vec4(i >> 2u)[i & 3u];
}

// a[row, k .. k+4] of the batch starting at `base` (k + 4 <= K).
fn a_strip(base: u32, row: u32, k: u32) -> vec4<f32> {
    if (ALIGNED_A) {
        return a_vec4((base + row * p.k + k) >> 2u);
    }
    var v: vec4<f32>;
    if (TRANS_A) {
        let i = base + k * p.m + row;
        v = vec4<f32>(a_at(i), a_at(i + p.m), a_at(i + 2u * p.m), a_at(i + 3u * p.m));
    } else {
        let i = base + row * p.k + k;
        v = vec4<f32>(a_at(i), a_at(i + 1u), a_at(i + 2u), a_at(i + 3u));
    }
    // The last strip of a K that is not a multiple of 4 reads zeros past K.
    return select(vec4<f32>(0.0), v, vec4<u32>(k) + vec4<u32>(0u, 1u, 2u, 3u) < vec4<u32>(p.k));
}

// b[k, col .. col+4] (col a multiple of 4; unaligned columns past N are clamped to N − 1).
fn b_strip(base: u32, k: u32, col: u32) -> vec4<f32> {
    if (ALIGNED_B) {
        return b_vec4((base + k * p.ldb + col) >> 2u);
    }
    let c = vec4<u32>(min(col, p.n - 1u), min(col + 1u, p.n - 1u), min(col + 2u, p.n - 1u), min(col + 3u, p.n - 1u));
    if (TRANS_B) {
        return vec4<f32>(b_at(base + c.x * p.k + k), b_at(base + c.y * p.k + k), b_at(base + c.z * p.k + k), b_at(base + c.w * p.k + k));
    }
    let r = base + k * p.ldb;
    return vec4<f32>(b_at(r + c.x), b_at(r + c.y), b_at(r + c.z), b_at(r + c.w));
}

// b[kk + j, col .. col+4] for j = 0..3, zeros past K. With ALIGNED_BT (b transposed, K % 4 == 0)
// each column's 4 values along K are one vec4 load, transposed in registers.
fn b_block(base: u32, kk: u32, col: u32) -> array<vec4<f32>, 4> {
    var r: array<vec4<f32>, 4>;
    if (ALIGNED_BT) {
        var t: array<vec4<f32>, 4>;
        for (var i = 0u; i < 4u; i++) {
            t[i] = b_vec4((base + min(col + i, p.n - 1u) * p.k + kk) >> 2u);
        }
        for (var j = 0u; j < 4u; j++) {
            r[j] = vec4<f32>(t[0][j], t[1][j], t[2][j], t[3][j]);
        }
        return r;
    }
    for (var j = 0u; j < 4u; j++) {
        // Rows past K (the last block of a K that is not a multiple of 4) read as zeros.
        r[j] = select(vec4<f32>(0.0), b_strip(base, kk + j, col), kk + j < p.k);
    }
    return r;
}

// Row i of the block at row0, clamped into y (a row past M loads row M − 1 and is not stored).
fn block_row(row0: u32, i: u32) -> u32 {
    return min(row0 + i, p.m - 1u);
}

// The starts of an invocation's two column strips for its block at col0; an aligned strip past
// the row is moved back inside it (its results are not stored).
fn strip_cols(col0: u32) -> vec2<u32> {
    if (ALIGNED_B) {
        return min(vec2<u32>(col0, col0 + 4u), vec2<u32>(p.ldb - 4u));
    }
    return vec2<u32>(col0, col0 + 4u);
}

// One step of 4 along K for one row: acc.lo/hi += a4 · b[kk .. kk+4, cols] (bl/bh: b_block).
fn step4(acc: mat2x4<f32>, a4: vec4<f32>, bl: array<vec4<f32>, 4>, bh: array<vec4<f32>, 4>) -> mat2x4<f32> {
    let lo = acc[0] + term(a4.x, bl[0]) + term(a4.y, bl[1]) + term(a4.z, bl[2]) + term(a4.w, bl[3]);
    let hi = acc[1] + term(a4.x, bh[0]) + term(a4.y, bh[1]) + term(a4.z, bh[2]) + term(a4.w, bh[3]);
    return mat2x4<f32>(lo, hi);
}

fn bias_at(i: u32) -> f32 {
    return f32(bias[i >> 2u][i & 3u]);
}

// The per-column bias of columns col0 .. col0+8 (zeros unless the bias is per column), loaded
// once per invocation: a storage load per stored element would cost more than the products of
// a short-K GEMM (lavapipe: ~14 ns per lane).
fn column_bias(col0: u32) -> mat2x4<f32> {
    if ((p.epilogue & HAS_BIAS) == 0u || (p.epilogue & BIAS_PER_ROW) != 0u) {
        return mat2x4<f32>();
    }
    let c = min(vec4<u32>(col0) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(p.n - 1u));
    let d = min(c + vec4<u32>(4u), vec4<u32>(p.n - 1u));
    return mat2x4<f32>(
        vec4<f32>(bias_at(c.x), bias_at(c.y), bias_at(c.z), bias_at(c.w)),
        vec4<f32>(bias_at(d.x), bias_at(d.y), bias_at(d.z), bias_at(d.w)),
    );
}

// Stores activate(acc + bias + residual) for row `row` and columns col0 .. col0+8 of batch z
// (acc[0] holds columns 0..3, acc[1] 4..7; cb: column_bias(col0)), skipping those outside y.
fn store_row(z: u32, row: u32, col0: u32, acc: mat2x4<f32>, cb: mat2x4<f32>) {
    if (row >= p.m || col0 >= p.n) {
        return;
    }
    let y_base = p.y_offset + z * p.m * p.ldy;
    var row_bias = 0.0;
    if ((p.epilogue & HAS_BIAS) != 0u && (p.epilogue & BIAS_PER_ROW) != 0u) {
        row_bias = bias_at(row);
    }
    let sums = acc + cb;
    // A runtime bound, so that the driver keeps one copy of the epilogue.
    for (var j = 0u; j < min(8u, p.n - col0); j++) {
        let col = col0 + j;
        let at = y_base + row * p.ldy + col;
        let strip = select(sums[1], sums[0], j < 4u);
        var v = strip[j & 3u] + row_bias;
        if ((p.epilogue & RESIDUAL) != 0u) {
            v += f32(residual[at >> 2u][at & 3u]);
        }
        y[at] = elem(activate(linear_activation(v)));
    }
}
