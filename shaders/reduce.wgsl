// Chunked reductions along one axis, f32: sum, mean, max and argmax, and the line statistics
// that softmax (running max and sum of exponentials) and layer/group norm (count, mean and the
// sum of squared deviations, M2) apply afterwards (softmax.wgsl, norm.wgsl).
//
// The input is viewed as [outer, len, inner]; line (o, i) is x[o, 0..len, i]. One invocation
// folds `chunk` consecutive entries of one line at most, so no invocation loops more than
// `chunk` times whatever the shape: Mesa's llvmpipe JIT (lavapipe and llvmpipe GL) leaves every
// loop of an invocation, silently, once their iterations add up to 65 535. A pass turns
// [outer, len, inner] entries into [outer, chunks, inner] records; the plan chains passes until
// one record per line is left (lower/reduce.rs).
// Records are 4 words: f32 bits, and argmax's index as u32 —
//   sum, mean: (sum, Kahan compensation)   max: (max)   argmax: (max, index of its first)
//   softmax: (max m, sum of exp(x − m))    moments: (count, mean, M2)
// Bindings: src (read: the f32 input with FIRST, else the previous pass's records), dst (write:
// records, or with FINAL the result: f32 bits for sum/mean/max, i32 for argmax), FoldParams.
// Grid: one invocation per (outer, chunk, inner), linearised over gid.x + gid.y · nwg.x · WG.
// Variants: OP (0 sum, 1 mean, 2 max, 3 argmax, 4 softmax, 5 moments), FIRST, FINAL, WG.

override OP: u32 = 0u;
override FIRST: bool = true;
override FINAL: bool = true;
override WG: u32 = 64u;

const SUM: u32 = 0u;
const MEAN: u32 = 1u;
const MAX: u32 = 2u;
const ARGMAX: u32 = 3u;
const SOFTMAX: u32 = 4u;
const MOMENTS: u32 = 5u;

struct FoldParams {
    outer: u32,
    len: u32,
    inner: u32,
    // Entries one invocation folds, and chunks per line (the length of the output lines).
    chunk: u32,
    chunks: u32,
    // Length of the original axis (the divisor of a mean).
    total: u32,
}

@group(0) @binding(0) var<storage, read> src: array<u32>;
@group(0) @binding(1) var<storage, read_write> dst: array<u32>;
@group(0) @binding(2) var<uniform> p: FoldParams;

// The record of one input entry at `at` (entry k of its line).
fn lift(at: u32, k: u32) -> vec4<f32> {
    if (!FIRST) {
        let w = 4u * at;
        return bitcast<vec4<f32>>(vec4<u32>(src[w], src[w + 1u], src[w + 2u], src[w + 3u]));
    }
    let x = bitcast<f32>(src[at]);
    switch OP {
        case ARGMAX: { return vec4<f32>(x, bitcast<f32>(k), 0.0, 0.0); }
        case SOFTMAX: { return vec4<f32>(x, 1.0, 0.0, 0.0); }
        case MOMENTS: { return vec4<f32>(1.0, x, 0.0, 0.0); }
        default: { return vec4<f32>(x, 0.0, 0.0, 0.0); }
    }
}

// `a` followed by `b` (records of consecutive parts of a line).
fn combine(a: vec4<f32>, b: vec4<f32>) -> vec4<f32> {
    switch OP {
        case MAX: { return vec4<f32>(max(a.x, b.x), 0.0, 0.0, 0.0); }
        // Strictly greater: the earlier part keeps equal maxima, so the first index wins.
        case ARGMAX: { return select(a, b, b.x > a.x); }
        case SOFTMAX: {
            let m = max(a.x, b.x);
            return vec4<f32>(m, a.y * exp(a.x - m) + b.y * exp(b.x - m), 0.0, 0.0);
        }
        case MOMENTS: {
            // Chan et al.'s pairwise update: no cancellation however long the line.
            let n = a.x + b.x;
            let d = b.y - a.y;
            let f = b.x / n;
            return vec4<f32>(n, a.y + d * f, a.z + b.z + d * d * a.x * f, 0.0);
        }
        default: {
            // Kahan summation: a.y and b.y hold the low-order parts lost so far.
            let v = (b.x - b.y) - a.y;
            let t = a.x + v;
            return vec4<f32>(t, (t - a.x) - v, 0.0, 0.0);
        }
    }
}

@compute @workgroup_size(WG)
fn fold(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = gid.x + gid.y * nwg.x * WG;
    if (t >= p.outer * p.chunks * p.inner) {
        return;
    }
    let i = t % p.inner;
    let c = (t / p.inner) % p.chunks;
    let o = t / (p.inner * p.chunks);
    let begin = c * p.chunk;
    let end = min(begin + p.chunk, p.len);
    let line = o * p.len * p.inner + i;
    var acc = lift(line + begin * p.inner, begin);
    for (var k = begin + 1u; k < end; k++) {
        acc = combine(acc, lift(line + k * p.inner, k));
    }
    if (!FINAL) {
        let bits = bitcast<vec4<u32>>(acc);
        for (var j = 0u; j < 4u; j++) {
            dst[4u * t + j] = bits[j];
        }
        return;
    }
    switch OP {
        case MEAN: { dst[t] = bitcast<u32>(acc.x / f32(p.total)); }
        case ARGMAX: { dst[t] = bitcast<u32>(acc.y); }
        default: { dst[t] = bitcast<u32>(acc.x); }
    }
}
