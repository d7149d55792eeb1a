// Top-k along the last axis, f32: the k largest (LARGEST) or smallest entries of every row,
// best first, ties by lower index, with their indices.
//
// One invocation keeps the best `chunk` consecutive candidates of one row at most in a sorted
// list of LIST entries (LIST = k rounded up to a power of two, at most 128): a candidate that
// beats the list's last entry travels down the list by compare-and-swap steps, unrolled
// (topk_source.rs) so that the list lives in registers and no loop runs per step. The first pass
// reads the rows of x (a candidate's index is its position); with MERGE a pass reads the lists
// of the previous one (values and indices), viewed as rows of `len` candidates. Each pass writes
// `keep` entries per chunk: whole lists between passes, k in the last, where `chunks` is 1.
// No invocation loops more than `chunk` times (lower/reduce.rs bounds it; see reduce.wgsl).
// Bindings: x (read), xi (read: the candidates' indices with MERGE, else ignored), values
// (write), indices (write, i32), TopKParams.
// Grid: one invocation per (row, chunk), linearised over gid.x + gid.y · nwg.x · WG.
// Entries: top_k_LIST for LIST in 1, 2, 4, ..., 128. Variants: LARGEST, MERGE, WG.

override LARGEST: bool = true;
override MERGE: bool = false;
override WG: u32 = 64u;

struct TopKParams {
    rows: u32,
    len: u32,
    chunk: u32,
    chunks: u32,
    keep: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> xi: array<i32>;
@group(0) @binding(2) var<storage, read_write> values: array<f32>;
@group(0) @binding(3) var<storage, read_write> indices: array<i32>;
@group(0) @binding(4) var<uniform> p: TopKParams;

// The value of an empty list entry: every candidate beats it (a real ±inf by its lower index).
fn worst() -> f32 {
    return select(bitcast<f32>(0x7f800000u), bitcast<f32>(0xff800000u), LARGEST);
}

// Index of an empty entry.
const NONE: u32 = 0xffffffffu;

// Whether candidate (v, i) comes before (w, j): better value, or equal value and lower index.
fn better(v: f32, i: u32, w: f32, j: u32) -> bool {
    return select((v < w), (v > w), LARGEST) || (v == w && i < j);
}

// Candidate e of the invocation's row: its value and index.
fn candidate(row: u32, e: u32) -> vec2<u32> {
    let at = row * p.len + e;
    var i = e;
    if (MERGE) {
        i = u32(xi[at]);
    }
    return vec2<u32>(bitcast<u32>(x[at]), i);
}
