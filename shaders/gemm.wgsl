// Batched GEMM with a fused epilogue: y[b] = activate(op(a[b]) · op(b[b]) + bias + residual), f32.
//
// Bindings: a (read), b (read), bias [N] (read), residual [.., M, N] (read), y (write),
// GemmParams. An absent bias or residual is bound to `a` and ignored (HAS_BIAS / RESIDUAL false). a is [M, K] row-major ([K, M] when TRANS_A), b is [K, N] ([N, K] when TRANS_B),
// y is [M, N]; each batch starts at batch * {a,b}_batch_stride (0 broadcasts one operand).
// Grid: x covers N in tiles of 4·WG_X columns, y covers M in tiles of 4·WG_Y rows, z is the
// batch. Each invocation accumulates a 4×4 register block (rows in vec4 of columns), reading
// 4-wide strips of A and B per step of 4 along K: 32 loads feed 64 FMAs. Edge rows/columns
// clamp their loads and skip their stores, so any M, N, K works.
// Why not more per invocation: on SIMD-across-invocations hardware (lavapipe) every accumulator
// is a vector register, and 16 of them fill an AVX2 register file; larger blocks spill.
// Variants: WG_X, WG_Y (workgroup shape, hence tile size), TRANS_A, TRANS_B, HAS_BIAS, RESIDUAL,
// ACT0..3 (activation.wgsl).

override WG_X: u32 = 8u;
override WG_Y: u32 = 8u;
override TRANS_A: bool = false;
override TRANS_B: bool = false;
override HAS_BIAS: bool = false;
override RESIDUAL: bool = false;

struct GemmParams {
    m: u32,
    n: u32,
    k: u32,
    a_batch_stride: u32,
    b_batch_stride: u32,
}

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read> residual: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<uniform> p: GemmParams;

fn a_at(base: u32, row: u32, col: u32) -> f32 {
    if (TRANS_A) {
        return a[base + col * p.m + row];
    }
    return a[base + row * p.k + col];
}

fn b_at(base: u32, row: u32, col: u32) -> f32 {
    if (TRANS_B) {
        return b[base + col * p.k + row];
    }
    return b[base + row * p.n + col];
}

@compute @workgroup_size(WG_X, WG_Y, 1)
fn gemm(@builtin(global_invocation_id) gid: vec3<u32>) {
    let row0 = gid.y * 4u;
    let col0 = gid.x * 4u;
    if (row0 >= p.m || col0 >= p.n) {
        return;
    }
    let a_base = gid.z * p.a_batch_stride;
    let b_base = gid.z * p.b_batch_stride;
    var rows: array<u32, 4>;
    var cols: array<u32, 4>;
    for (var i = 0u; i < 4u; i++) {
        rows[i] = min(row0 + i, p.m - 1u);
        cols[i] = min(col0 + i, p.n - 1u);
    }
    var acc: array<vec4<f32>, 4>;
    var kk = 0u;
    for (; kk + 4u <= p.k; kk += 4u) {
        var bk: array<vec4<f32>, 4>;
        for (var j = 0u; j < 4u; j++) {
            bk[j] = vec4<f32>(b_at(b_base, kk + j, cols[0]), b_at(b_base, kk + j, cols[1]),
                              b_at(b_base, kk + j, cols[2]), b_at(b_base, kk + j, cols[3]));
        }
        for (var i = 0u; i < 4u; i++) {
            let av = vec4<f32>(a_at(a_base, rows[i], kk), a_at(a_base, rows[i], kk + 1u),
                               a_at(a_base, rows[i], kk + 2u), a_at(a_base, rows[i], kk + 3u));
            acc[i] += av.x * bk[0] + av.y * bk[1] + av.z * bk[2] + av.w * bk[3];
        }
    }
    for (; kk < p.k; kk++) {
        let bv = vec4<f32>(b_at(b_base, kk, cols[0]), b_at(b_base, kk, cols[1]),
                           b_at(b_base, kk, cols[2]), b_at(b_base, kk, cols[3]));
        for (var i = 0u; i < 4u; i++) {
            acc[i] += a_at(a_base, rows[i], kk) * bv;
        }
    }
    var bias_v = vec4<f32>(0.0);
    if (HAS_BIAS) {
        bias_v = vec4<f32>(bias[cols[0]], bias[cols[1]], bias[cols[2]], bias[cols[3]]);
    }
    let y_base = gid.z * p.m * p.n;
    for (var i = 0u; i < 4u; i++) {
        if (row0 + i < p.m) {
            let v = acc[i] + bias_v;
            for (var j = 0u; j < 4u; j++) {
                if (col0 + j < p.n) {
                    let at = y_base + (row0 + i) * p.n + col0 + j;
                    var r = v[j];
                    if (RESIDUAL) {
                        r += residual[at];
                    }
                    y[at] = activate(r);
                }
            }
        }
    }
}
