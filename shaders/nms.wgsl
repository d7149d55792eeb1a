// Non-maximum suppression on the GPU: ONNX NonMaxSuppression semantics, and a class-agnostic
// form. Nothing goes back to the CPU before the final rows.
//
// Segments: one per (batch, class), or per batch when AGNOSTIC (each box under its best class).
// Candidates are walked in descending score, ascending index (a strict order: indices are
// unique), as the key (an order-preserving u32 of the score, 0 for non-candidates) and index
// pairs sort. The walk only needs the order of the candidates it visits, and it usually stops
// after a few hundred, so a fast path sorts just the top of each segment:
// The per-segment state (STATE words) and key histograms (2 · BINS words per segment) start
// zeroed (the plan clears them).
// `nms_keys`: per segment, a (key, index) pair for each of its n boxes: candidates have a
//   score > threshold when one is set, never NaN. With the fast path (p.mode 1) it counts keys
//   by their top 11 bits. Bindings: scores (read), keys (write), histograms (atomic).
// `nms_bins`: one workgroup per segment settles how many top candidates (at most p.small) the
//   fast path takes: level p.k = 1 finds the top-bit bin where the count passes p.small, level
//   2 refines it with the next 11 bits (`nms_hist2` counts them). The taken set is every key
//   >= tau: whole runs of equal keys, so it is exactly the first `taken` entries of the order.
//   Bindings: histograms (read), state (read_write).
// `nms_gather`: appends the taken (key, index) pairs of each segment to its list of p.small.
// `sort_small`: one workgroup per segment sorts its taken list in workgroup memory (bitonic).
// `nms_fallback_args`: after the fast path, the workgroup counts of the full path's dispatches
//   (args: three triples), zero when every segment's walk is over. Bindings: state (read), args
//   (write), FallbackParams.
// `nms_select` (p.mode 0 on the taken list, 1 on the whole sorted segment, skipping the taken
//   prefix; p.fresh on the first dispatch, which clears the rows; p.small 0 without a fast
//   path): one workgroup per segment walks candidates in blocks of WG: every invocation
//   tests its candidate against the boxes kept so far and, in parallel, against the block's
//   earlier candidates (a bitmask of overlaps); the first invocation then settles the block
//   in order with those masks. Output rows (batch, class, box) in selection order, −1 rows
//   after. One dispatch walks blocks k .. j and keeps its count of kept boxes in the state:
//   the plan bounds the blocks per dispatch so that no invocation's loops pass llvmpipe's
//   65 535 iterations (reduce.wgsl). IoU is computed as the ONNX reference does, in f32,
//   suppressing above the threshold.
// The full path, for segments whose walk the taken list did not finish (or every segment when
// the plan has no fast path): `sort_runs` sorts each run of RUN keys of a segment in workgroup
// memory; `merge_runs` merges groups of p.j sorted runs of length p.k (every entry's place is
// its place in its own run plus, by binary search, the count of each other run's entries that
// sort before it), repeated by the plan (ping-pong) until one run spans the segment; then
// `nms_select` in mode 1, each dispatched indirectly by nms_fallback_args' counts and
// returning at once for a finished segment.
// Grid: nms_keys, nms_hist2, nms_gather and merge_runs one invocation per entry
// (gid.x + gid.y · nwg.x · WG); sort_runs one workgroup per run; nms_bins, sort_small and
// nms_select one per segment (wid.x + wid.y · nwg.x).
// `soft_select`: Gaussian soft-NMS, one workgroup per segment: repeatedly a workgroup reduction
//   finds the best remaining score (ties: lowest index), keeps it while it is above the score
//   threshold, and every invocation decays the others by exp(−IoU² / σ). One dispatch makes
//   selections k .. j (bounded as nms_select's blocks); whether a segment has stopped carries
//   over in `state`. Bindings: boxes, scores (read), work scores (scratch), out rows, kept
//   scores (write), state (read_write), NmsParams.
// Variants: CENTER (boxes as x_center, y_center, width, height), AGNOSTIC, MIN_AREA (overlap
// = intersection / smaller area instead of IoU), WG, RUN (a power
// of two, at most 2048: 16 KiB of workgroup memory; p.small is a power of two <= RUN) and
// SORT_WG.

override CENTER: bool = false;
override AGNOSTIC: bool = false;
override MIN_AREA: bool = false;
override WG: u32 = 64u;
override RUN: u32 = 2048u;
override SORT_WG: u32 = 256u;
// Words of a block's overlap mask per candidate: WG is at most 32 · MASK_WORDS.
const MASK_WORDS: u32 = 2u;
// Histogram bins per level (11 bits of the key) and state words per segment.
const BINS: u32 = 2048u;
const STATE: u32 = 8u;
// State words: boxes kept so far, candidates, top bin (or NO_BIN), entries above it, tau, taken
// entries, gather cursor.
const KEPT: u32 = 0u;
const TOTAL: u32 = 1u;
const BIN: u32 = 2u;
const ABOVE: u32 = 3u;
const TAU: u32 = 4u;
const TAKEN: u32 = 5u;
const CURSOR: u32 = 6u;
const NO_BIN: u32 = 0xffffffffu;

struct NmsParams {
    batches: u32,
    classes: u32,
    n: u32,
    max_out: u32,
    has_threshold: u32,
    score_threshold: f32,
    iou_threshold: f32,
    k: u32,
    j: u32,
    sigma: f32,
    small: u32,
    mode: u32,
    fresh: u32,
}

// Segments, max_out, then the counts of sort_runs, merge_runs and nms_select (x, y, z, _).
struct FallbackParams {
    segments: u32,
    max_out: u32,
    counts: array<vec4<u32>, 3>,
}

@group(0) @binding(0) var<storage, read> args_state: array<u32>;
@group(0) @binding(1) var<storage, read_write> args: array<u32>;
@group(0) @binding(2) var<uniform> ap: FallbackParams;

@group(0) @binding(0) var<storage, read> key_scores: array<f32>;
@group(0) @binding(1) var<storage, read_write> key_out: array<u32>;
@group(0) @binding(2) var<storage, read_write> key_hist: array<atomic<u32>>;
@group(0) @binding(3) var<uniform> kp: NmsParams;

@group(0) @binding(0) var<storage, read> bin_hist: array<u32>;
@group(0) @binding(1) var<storage, read_write> bin_state: array<u32>;
@group(0) @binding(2) var<uniform> bp: NmsParams;

@group(0) @binding(0) var<storage, read> hist_keys: array<vec2<u32>>;
@group(0) @binding(1) var<storage, read_write> hist_counts: array<atomic<u32>>;
@group(0) @binding(2) var<storage, read> hist_state: array<u32>;
@group(0) @binding(3) var<uniform> hp: NmsParams;

@group(0) @binding(0) var<storage, read> gather_keys: array<vec2<u32>>;
@group(0) @binding(1) var<storage, read_write> gather_state: array<atomic<u32>>;
@group(0) @binding(2) var<storage, read_write> gather_list: array<vec2<u32>>;
@group(0) @binding(3) var<uniform> gp: NmsParams;

@group(0) @binding(0) var<storage, read_write> sort_keys: array<vec2<u32>>;
@group(0) @binding(1) var<storage, read> sort_state: array<u32>;
@group(0) @binding(2) var<uniform> sp: NmsParams;

@group(0) @binding(0) var<storage, read> runs: array<vec2<u32>>;
@group(0) @binding(1) var<storage, read_write> merged: array<vec2<u32>>;
@group(0) @binding(2) var<storage, read> merge_state: array<u32>;
@group(0) @binding(3) var<uniform> mp: NmsParams;

@group(0) @binding(0) var<storage, read> boxes: array<f32>;
@group(0) @binding(1) var<storage, read> scores: array<f32>;
@group(0) @binding(2) var<storage, read> keys: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<i32>;
@group(0) @binding(4) var<storage, read_write> nms_state: array<u32>;
@group(0) @binding(5) var<uniform> p: NmsParams;

// soft_select shares boxes, scores and out with nms_select.
@group(0) @binding(2) var<storage, read_write> work: array<f32>;
@group(0) @binding(4) var<storage, read_write> soft_kept: array<f32>;
@group(0) @binding(5) var<storage, read_write> soft_state: array<u32>;
@group(0) @binding(6) var<uniform> q: NmsParams;

var<workgroup> suppressed: array<u32, WG>;
var<workgroup> block_box: array<vec4<f32>, WG>;
var<workgroup> overlaps: array<u32, WG * MASK_WORDS>;
var<workgroup> run_keys: array<vec2<u32>, RUN>;
var<workgroup> kept: u32;
var<workgroup> shared_count: u32;
var<workgroup> red_score: array<f32, WG>;
var<workgroup> red_index: array<u32, WG>;
var<workgroup> stop: u32;

fn segments(q: NmsParams) -> u32 {
    return select(q.batches * q.classes, q.batches, AGNOSTIC);
}

@compute @workgroup_size(1)
fn nms_fallback_args() {
    var needed = false;
    for (var g = 0u; g < ap.segments; g++) {
        let st = g * STATE;
        if (args_state[st + KEPT] < ap.max_out && args_state[st + TAKEN] != args_state[st + TOTAL]) {
            needed = true;
            break;
        }
    }
    for (var i = 0u; i < 3u; i++) {
        for (var c = 0u; c < 3u; c++) {
            args[3u * i + c] = select(0u, ap.counts[i][c], needed);
        }
    }
}

@compute @workgroup_size(WG)
fn nms_keys(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = gid.x + gid.y * nwg.x * WG;
    if (t >= segments(kp) * kp.n) {
        return;
    }
    let g = t / kp.n;
    let i = t % kp.n;
    var s = key_scores[g * kp.n + i];
    var found = s == s;
    if (AGNOSTIC) {
        // The highest non-NaN score over the classes.
        found = false;
        for (var c = 0u; c < kp.classes; c++) {
            let v = key_scores[(g * kp.classes + c) * kp.n + i];
            if (v == v && (!found || v > s)) {
                s = v;
                found = true;
            }
        }
    }
    var key = 0u;
    if (found && (kp.has_threshold == 0u || s > kp.score_threshold)) {
        let bits = bitcast<u32>(s);
        key = max(select(bits | 0x80000000u, ~bits, (bits & 0x80000000u) != 0u), 1u);
        if (kp.mode == 1u) {
            atomicAdd(&key_hist[g * 2u * BINS + (key >> 21u)], 1u);
        }
    }
    key_out[2u * t] = key;
    key_out[2u * t + 1u] = i;
}

@compute @workgroup_size(1)
fn nms_bins(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let g = wid.x + wid.y * nwg.x;
    if (g >= segments(bp)) {
        return;
    }
    let h = g * 2u * BINS;
    let st = g * STATE;
    if (bp.k == 1u) {
        // From the top bin down: the first bin whose entries would pass the list's size.
        var above = 0u;
        var bin = NO_BIN;
        for (var b = BINS; b > 0u; b--) {
            let c = bin_hist[h + b - 1u];
            if (bin == NO_BIN && above + c > bp.small) {
                bin = b - 1u;
            }
            if (bin == NO_BIN) {
                above += c;
            }
            bin_state[st + TOTAL] += c;
        }
        bin_state[st + BIN] = bin;
        bin_state[st + ABOVE] = above;
        // Everything fits: take every candidate (keys are >= 1).
        bin_state[st + TAU] = 1u;
        bin_state[st + TAKEN] = above;
        return;
    }
    let bin = bin_state[st + BIN];
    if (bin == NO_BIN) {
        return;
    }
    // The sub-bins of the top bin, from the top, while the list has room for all of each.
    var taken = bin_state[st + ABOVE];
    var tau = select((bin + 1u) << 21u, NO_BIN, bin == BINS - 1u);
    for (var b = BINS; b > 0u; b--) {
        let c = bin_hist[h + BINS + b - 1u];
        if (taken + c > bp.small) {
            break;
        }
        taken += c;
        tau = (bin << 21u) | ((b - 1u) << 10u);
    }
    bin_state[st + TAU] = tau;
    bin_state[st + TAKEN] = taken;
}

@compute @workgroup_size(WG)
fn nms_hist2(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = gid.x + gid.y * nwg.x * WG;
    if (t >= segments(hp) * hp.n) {
        return;
    }
    let g = t / hp.n;
    let key = hist_keys[t].x;
    let bin = hist_state[g * STATE + BIN];
    if (key != 0u && bin != NO_BIN && (key >> 21u) == bin) {
        atomicAdd(&hist_counts[g * 2u * BINS + BINS + ((key >> 10u) & (BINS - 1u))], 1u);
    }
}

@compute @workgroup_size(WG)
fn nms_gather(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = gid.x + gid.y * nwg.x * WG;
    if (t >= segments(gp) * gp.n) {
        return;
    }
    let g = t / gp.n;
    let entry = gather_keys[t];
    if (entry.x != 0u && entry.x >= atomicLoad(&gather_state[g * STATE + TAU])) {
        let slot = atomicAdd(&gather_state[g * STATE + CURSOR], 1u);
        gather_list[g * gp.small + slot] = entry;
    }
}

// Whether slot a sorts before slot b: higher key first, then lower index.
fn before(ka: u32, ia: u32, kb: u32, ib: u32) -> bool {
    return ka > kb || (ka == kb && ia < ib);
}

fn sorts_before(a: vec2<u32>, b: vec2<u32>) -> bool {
    return before(a.x, a.y, b.x, b.y);
}

// Sorts run_keys[0 .. size) (a power of two) by the strict order, bitonically.
fn sort_in_workgroup(size: u32, lid: u32) {
    for (var k = 2u; k <= size; k = k * 2u) {
        for (var j = k / 2u; j > 0u; j = j / 2u) {
            for (var e = lid; e < size; e += SORT_WG) {
                let partner = e ^ j;
                if (partner > e) {
                    let a = run_keys[e];
                    let b = run_keys[partner];
                    if (((e & k) == 0u) == sorts_before(b, a)) {
                        run_keys[e] = b;
                        run_keys[partner] = a;
                    }
                }
            }
            workgroupBarrier();
        }
    }
}

@compute @workgroup_size(SORT_WG)
fn sort_small(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
    let g = wid.x + wid.y * nwg.x;
    if (g >= segments(sp)) {
        return;
    }
    if (lid == 0u) {
        shared_count = sort_state[g * STATE + TAKEN];
    }
    let len = workgroupUniformLoad(&shared_count);
    let start = g * sp.small;
    for (var e = lid; e < sp.small; e += SORT_WG) {
        run_keys[e] = select(vec2<u32>(0u, 0xffffffffu), sort_keys[start + min(e, sp.small - 1u)], e < len);
    }
    workgroupBarrier();
    sort_in_workgroup(sp.small, lid);
    for (var e = lid; e < len; e += SORT_WG) {
        sort_keys[start + e] = run_keys[e];
    }
}

@compute @workgroup_size(SORT_WG)
fn sort_runs(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
             @builtin(local_invocation_index) lid: u32) {
    let per_segment = (sp.n + RUN - 1u) / RUN;
    let r = wid.x + wid.y * nwg.x;
    if (r >= segments(sp) * per_segment) {
        return;
    }
    let g = r / per_segment;
    if (lid == 0u) {
        let st = g * STATE;
        shared_count = u32(sort_state[st + KEPT] >= sp.max_out || sort_state[st + TAKEN] == sort_state[st + TOTAL]);
    }
    if (sp.mode == 1u && workgroupUniformLoad(&shared_count) != 0u) {
        return;
    }
    let start = g * sp.n + (r % per_segment) * RUN;
    let len = min(RUN, sp.n - (r % per_segment) * RUN);
    for (var e = lid; e < RUN; e += SORT_WG) {
        run_keys[e] = select(vec2<u32>(0u, 0xffffffffu), sort_keys[start + min(e, len - 1u)], e < len);
    }
    workgroupBarrier();
    sort_in_workgroup(RUN, lid);
    for (var e = lid; e < len; e += SORT_WG) {
        sort_keys[start + e] = run_keys[e];
    }
}

@compute @workgroup_size(WG)
fn merge_runs(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = gid.x + gid.y * nwg.x * WG;
    if (t >= segments(mp) * mp.n) {
        return;
    }
    let st = (t / mp.n) * STATE;
    if (mp.mode == 1u && (merge_state[st + KEPT] >= mp.max_out || merge_state[st + TAKEN] == merge_state[st + TOTAL])) {
        return;
    }
    let seg0 = (t / mp.n) * mp.n;
    let i = t % mp.n;
    let len = mp.k;
    let run = i / len;
    let first = (run / mp.j) * mp.j;
    let last = min(first + mp.j, (mp.n + len - 1u) / len);
    let me = runs[t];
    var place = i - run * len;
    for (var q = first; q < last; q++) {
        if (q == run) {
            continue;
        }
        // Entries of run q before `me`: its first entry that does not sort before it.
        var lo = q * len;
        var hi = min(lo + len, mp.n);
        let base = lo;
        while (lo < hi) {
            let mid = (lo + hi) / 2u;
            if (sorts_before(runs[seg0 + mid], me)) {
                lo = mid + 1u;
            } else {
                hi = mid;
            }
        }
        place += lo - base;
    }
    merged[seg0 + first * len + place] = me;
}

// Box i of batch b, with n boxes per batch.
fn box_at(b: u32, i: u32, n: u32) -> vec4<f32> {
    let o = (b * n + i) * 4u;
    return vec4<f32>(boxes[o], boxes[o + 1u], boxes[o + 2u], boxes[o + 3u]);
}

// Fills a segment's output rows with −1.
fn clear_rows(rows: u32, max_out: u32, lid: u32) {
    for (var r = lid; r < max_out; r += WG) {
        out[(rows + r) * 3u] = -1;
        out[(rows + r) * 3u + 1u] = -1;
        out[(rows + r) * 3u + 2u] = -1;
    }
}

// (x_min, x_max, y_min, y_max) of a box.
fn extent(v: vec4<f32>) -> vec4<f32> {
    if (CENTER) {
        return vec4<f32>(v.x - v.z / 2.0, v.x + v.z / 2.0, v.y - v.w / 2.0, v.y + v.w / 2.0);
    }
    return vec4<f32>(min(v.y, v.w), max(v.y, v.w), min(v.x, v.z), max(v.x, v.z));
}

fn iou_above(a: vec4<f32>, b: vec4<f32>) -> bool {
    return iou_value(a, b) > p.iou_threshold;
}

// Class of box i in segment g: the segment's class, or the first class with the box's highest
// non-NaN score.
fn class_of(g: u32, i: u32) -> u32 {
    if (!AGNOSTIC) {
        return g % p.classes;
    }
    var c_best = 0u;
    var s_best = 0.0;
    var found = false;
    for (var c = 0u; c < p.classes; c++) {
        let s = scores[(g * p.classes + c) * p.n + i];
        if (s == s && (!found || s > s_best)) {
            s_best = s;
            c_best = c;
            found = true;
        }
    }
    return c_best;
}

@compute @workgroup_size(WG)
fn nms_select(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
    let g = wid.x + wid.y * nwg.x;
    let live = g < segments(p);
    let seg = min(g, segments(p) - 1u);
    let b = select(seg / p.classes, seg, AGNOSTIC);
    let rows = seg * p.max_out;
    let st = seg * STATE;
    let fresh = p.fresh != 0u;
    if (live && fresh) {
        clear_rows(rows, p.max_out, lid);
    }
    // Mode 0 walks the taken list (stride p.small); mode 1 the whole sorted segment past the
    // taken prefix, unless the taken list finished the walk.
    var walked = p.n;
    var skip = 0u;
    if (lid == 0u) {
        kept = select(nms_state[st + KEPT], 0u, fresh);
        let taken = nms_state[st + TAKEN];
        let done = p.mode == 1u && !fresh && (kept >= p.max_out || (p.small != 0u && taken == nms_state[st + TOTAL]));
        shared_count = select(taken, 0xffffffffu, done);
    }
    let taken = workgroupUniformLoad(&shared_count);
    if (taken == 0xffffffffu) {
        return;
    }
    if (p.mode == 0u) {
        walked = taken;
    } else if (!fresh) {
        skip = taken;
    }
    let stride = select(p.n, p.small, p.mode == 0u);
    storageBarrier();
    workgroupBarrier();
    for (var blk = p.k; blk < p.j; blk++) {
        let base = blk * WG;
        let count = workgroupUniformLoad(&kept);
        if (count >= p.max_out || !live || base >= walked) {
            break;
        }
        let pos = base + lid;
        let slot = (seg * stride + pos) * 2u;
        var sup = 1u;
        var mine = vec4<f32>(0.0);
        if (pos < walked && pos >= skip && keys[slot] != 0u) {
            mine = box_at(b, keys[slot + 1u], p.n);
            sup = 0u;
            for (var r = 0u; r < count; r++) {
                if (iou_above(mine, box_at(b, u32(out[(rows + r) * 3u + 2u]), p.n))) {
                    sup = 1u;
                    break;
                }
            }
        }
        suppressed[lid] = sup;
        block_box[lid] = mine;
        workgroupBarrier();
        // Which earlier candidates of the block overlap this one.
        var mask = array<u32, MASK_WORDS>();
        if (sup == 0u) {
            for (var u = 0u; u < lid; u++) {
                if (suppressed[u] == 0u && iou_above(mine, block_box[u])) {
                    mask[u / 32u] |= 1u << (u % 32u);
                }
            }
        }
        for (var w = 0u; w < MASK_WORDS; w++) {
            overlaps[lid * MASK_WORDS + w] = mask[w];
        }
        workgroupBarrier();
        if (lid == 0u) {
            var k = count;
            var taken_bits = array<u32, MASK_WORDS>();
            for (var t = 0u; t < WG && k < p.max_out; t++) {
                var clear = suppressed[t] == 0u;
                for (var w = 0u; w < MASK_WORDS; w++) {
                    clear = clear && (overlaps[t * MASK_WORDS + w] & taken_bits[w]) == 0u;
                }
                if (clear) {
                    let idx = keys[(seg * stride + base + t) * 2u + 1u];
                    out[(rows + k) * 3u] = i32(b);
                    out[(rows + k) * 3u + 1u] = i32(class_of(seg, idx));
                    out[(rows + k) * 3u + 2u] = i32(idx);
                    taken_bits[t / 32u] |= 1u << (t % 32u);
                    k++;
                }
            }
            kept = k;
        }
        storageBarrier();
        workgroupBarrier();
    }
    if (lid == 0u && live) {
        nms_state[st + KEPT] = kept;
    }
}

const NONE: f32 = -3.0e38;

// IoU as the ONNX reference computes it, or with MIN_AREA the intersection over the smaller
// area (0 without overlap or for an empty box).
fn iou_value(a: vec4<f32>, b: vec4<f32>) -> f32 {
    let ea = extent(a);
    let eb = extent(b);
    let ix0 = max(ea.x, eb.x);
    let ix1 = min(ea.y, eb.y);
    let iy0 = max(ea.z, eb.z);
    let iy1 = min(ea.w, eb.w);
    if (ix1 <= ix0 || iy1 <= iy0) {
        return 0.0;
    }
    let inter = (ix1 - ix0) * (iy1 - iy0);
    let area_a = (ea.y - ea.x) * (ea.w - ea.z);
    let area_b = (eb.y - eb.x) * (eb.w - eb.z);
    let uni = select(area_a + area_b - inter, min(area_a, area_b), MIN_AREA);
    if (inter <= 0.0 || area_a <= 0.0 || area_b <= 0.0 || uni <= 0.0) {
        return 0.0;
    }
    return inter / uni;
}

// Score and class of box i in segment g (the best non-NaN class when AGNOSTIC); NaN-free.
fn soft_candidate(g: u32, i: u32) -> vec2<f32> {
    if (!AGNOSTIC) {
        return vec2<f32>(scores[g * q.n + i], f32(g % q.classes));
    }
    var s = 0.0;
    var cls = 0u;
    var found = false;
    for (var c = 0u; c < q.classes; c++) {
        let v = scores[(g * q.classes + c) * q.n + i];
        if (v == v && (!found || v > s)) {
            s = v;
            cls = c;
            found = true;
        }
    }
    return vec2<f32>(select(NONE, s, found), f32(cls));
}

@compute @workgroup_size(WG)
fn soft_select(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
    let g = wid.x + wid.y * nwg.x;
    let segs = select(q.batches * q.classes, q.batches, AGNOSTIC);
    let live = g < segs;
    let seg = min(g, segs - 1u);
    let b = select(seg / q.classes, seg, AGNOSTIC);
    let rows = seg * q.max_out;
    let has_threshold = q.has_threshold != 0u;
    let first = q.k == 0u;
    if (live && first) {
        clear_rows(rows, q.max_out, lid);
        for (var r = lid; r < q.max_out; r += WG) {
            soft_kept[rows + r] = 0.0;
        }
        for (var i = lid; i < q.n; i += WG) {
            let s = soft_candidate(seg, i).x;
            let ok = s == s && s != NONE && (!has_threshold || s > q.score_threshold);
            work[seg * q.n + i] = select(NONE, s, ok);
        }
    }
    if (lid == 0u) {
        stop = select(soft_state[seg], 0u, first);
    }
    storageBarrier();
    workgroupBarrier();
    for (var k = q.k; k < min(q.j, q.max_out); k++) {
        if (workgroupUniformLoad(&stop) != 0u) {
            break;
        }
        var best = NONE;
        var best_i = 0xffffffffu;
        if (live) {
            for (var i = lid; i < q.n; i += WG) {
                let s = work[seg * q.n + i];
                if (s > best) {
                    best = s;
                    best_i = i;
                }
            }
        }
        red_score[lid] = best;
        red_index[lid] = best_i;
        workgroupBarrier();
        for (var step = WG / 2u; step > 0u; step = step / 2u) {
            if (lid < step) {
                let s = red_score[lid + step];
                let i = red_index[lid + step];
                if (s > red_score[lid] || (s == red_score[lid] && i < red_index[lid])) {
                    red_score[lid] = s;
                    red_index[lid] = i;
                }
            }
            workgroupBarrier();
        }
        if (lid == 0u) {
            let s = red_score[0];
            let i = red_index[0];
            let usable = live && s != NONE && (!has_threshold || s > q.score_threshold);
            stop = select(1u, 0u, usable);
            if (usable) {
                out[(rows + k) * 3u] = i32(b);
                out[(rows + k) * 3u + 1u] = i32(soft_candidate(seg, i).y);
                out[(rows + k) * 3u + 2u] = i32(i);
                soft_kept[rows + k] = s;
                work[seg * q.n + i] = NONE;
            }
        }
        storageBarrier();
        if (workgroupUniformLoad(&stop) != 0u) {
            break;
        }
        let m = box_at(b, red_index[0], q.n);
        for (var i = lid; i < q.n; i += WG) {
            let s = work[seg * q.n + i];
            if (s != NONE) {
                let o = iou_value(m, box_at(b, i, q.n));
                work[seg * q.n + i] = s * exp(-(o * o) / q.sigma);
            }
        }
        storageBarrier();
        workgroupBarrier();
    }
    if (lid == 0u && live) {
        soft_state[seg] = stop;
    }
}
