// Non-maximum suppression on the GPU: ONNX NonMaxSuppression semantics, and a class-agnostic
// form. Nothing goes back to the CPU before the final rows.
//
// Segments: one per (batch, class), or per batch when AGNOSTIC (each box under its best class).
// `nms_keys`: per segment, a (key, index) pair for each of the `padded` (power of two) slots:
//   key = the score mapped to an order-preserving u32 for candidates (score > threshold when
//   one is set; NaN never), 0 otherwise. Bindings: scores (read), keys (write), NmsParams.
// `bitonic`: one compare-exchange step (k, j) of a bitonic sort of every segment into
//   descending key, ascending index. Bindings: keys (read_write), NmsParams.
// `nms_select`: one workgroup per segment walks the sorted candidates in blocks of WG: every
//   invocation tests its candidate against the boxes kept so far (in parallel), then the first
//   invocation settles the block in order against boxes kept within it. Output rows
//   (batch, class, box) in selection order, −1 rows after. One dispatch walks blocks k .. j and
//   keeps its count of kept boxes in `state` for the next: the plan bounds the blocks per
//   dispatch so that no invocation's loops pass llvmpipe's 65 535 iterations (reduce.wgsl).
//   Bindings: boxes, scores, keys (read), out, state (read_write), NmsParams. IoU is computed
//   as the ONNX reference does, in f32, suppressing above the threshold.
// Grid: nms_keys and bitonic one invocation per slot (gid.x + gid.y · nwg.x · WG); nms_select
// one workgroup per segment (wid.x + wid.y · nwg.x).
// `soft_select`: Gaussian soft-NMS, one workgroup per segment: repeatedly a workgroup reduction
//   finds the best remaining score (ties: lowest index), keeps it while it is above the score
//   threshold, and every invocation decays the others by exp(−IoU² / σ). One dispatch makes
//   selections k .. j (bounded as nms_select's blocks); whether a segment has stopped carries
//   over in `state`. Bindings: boxes, scores (read), work scores (scratch), out rows, kept
//   scores (write), state (read_write), NmsParams.
// Variants: CENTER (boxes as x_center, y_center, width, height), AGNOSTIC, WG.

override CENTER: bool = false;
override AGNOSTIC: bool = false;
override WG: u32 = 64u;

struct NmsParams {
    batches: u32,
    classes: u32,
    n: u32,
    padded: u32,
    max_out: u32,
    has_threshold: u32,
    score_threshold: f32,
    iou_threshold: f32,
    k: u32,
    j: u32,
    sigma: f32,
}

@group(0) @binding(0) var<storage, read> key_scores: array<f32>;
@group(0) @binding(1) var<storage, read_write> key_out: array<u32>;
@group(0) @binding(2) var<uniform> kp: NmsParams;

@group(0) @binding(0) var<storage, read_write> sort_keys: array<u32>;
@group(0) @binding(1) var<uniform> sp: NmsParams;

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
var<workgroup> kept: u32;
var<workgroup> red_score: array<f32, WG>;
var<workgroup> red_index: array<u32, WG>;
var<workgroup> stop: u32;

fn segments(q: NmsParams) -> u32 {
    return select(q.batches * q.classes, q.batches, AGNOSTIC);
}

@compute @workgroup_size(WG)
fn nms_keys(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = gid.x + gid.y * nwg.x * WG;
    if (t >= segments(kp) * kp.padded) {
        return;
    }
    let g = t / kp.padded;
    let i = t % kp.padded;
    var key = 0u;
    if (i < kp.n) {
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
        let candidate = found && (kp.has_threshold == 0u || s > kp.score_threshold);
        if (candidate) {
            let bits = bitcast<u32>(s);
            key = select(bits | 0x80000000u, ~bits, (bits & 0x80000000u) != 0u);
            key = max(key, 1u);
        }
    }
    key_out[2u * t] = key;
    key_out[2u * t + 1u] = i;
}

// Whether slot a sorts before slot b: higher key first, then lower index.
fn before(ka: u32, ia: u32, kb: u32, ib: u32) -> bool {
    return ka > kb || (ka == kb && ia < ib);
}

@compute @workgroup_size(WG)
fn bitonic(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = gid.x + gid.y * nwg.x * WG;
    if (t >= segments(sp) * sp.padded) {
        return;
    }
    let i = t % sp.padded;
    let partner = i ^ sp.j;
    if (partner <= i) {
        return;
    }
    let a = t;
    let b = t - i + partner;
    let ka = sort_keys[2u * a];
    let ia = sort_keys[2u * a + 1u];
    let kb = sort_keys[2u * b];
    let ib = sort_keys[2u * b + 1u];
    let descending = (i & sp.k) == 0u;
    if (descending == before(kb, ib, ka, ia)) {
        sort_keys[2u * a] = kb;
        sort_keys[2u * a + 1u] = ib;
        sort_keys[2u * b] = ka;
        sort_keys[2u * b + 1u] = ia;
    }
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
    let first = p.k == 0u;
    if (live && first) {
        clear_rows(rows, p.max_out, lid);
    }
    if (lid == 0u) {
        kept = select(nms_state[seg], 0u, first);
    }
    storageBarrier();
    workgroupBarrier();
    for (var blk = p.k; blk < p.j; blk++) {
        let base = blk * WG;
        let count = workgroupUniformLoad(&kept);
        if (count >= p.max_out || !live || base >= p.n) {
            break;
        }
        let slot = (seg * p.padded + base + lid) * 2u;
        var sup = 1u;
        if (base + lid < p.n && keys[slot] != 0u) {
            let mine = box_at(b, keys[slot + 1u], p.n);
            sup = 0u;
            for (var r = 0u; r < count; r++) {
                if (iou_above(mine, box_at(b, u32(out[(rows + r) * 3u + 2u]), p.n))) {
                    sup = 1u;
                    break;
                }
            }
        }
        suppressed[lid] = sup;
        workgroupBarrier();
        if (lid == 0u) {
            var k = count;
            for (var t = 0u; t < WG && k < p.max_out; t++) {
                if (suppressed[t] != 0u) {
                    continue;
                }
                let idx = keys[(seg * p.padded + base + t) * 2u + 1u];
                let cand = box_at(b, idx, p.n);
                var ok = true;
                for (var r = count; r < k; r++) {
                    if (iou_above(cand, box_at(b, u32(out[(rows + r) * 3u + 2u]), p.n))) {
                        ok = false;
                        break;
                    }
                }
                if (ok) {
                    out[(rows + k) * 3u] = i32(b);
                    out[(rows + k) * 3u + 1u] = i32(class_of(seg, idx));
                    out[(rows + k) * 3u + 2u] = i32(idx);
                    k++;
                }
            }
            kept = k;
        }
        storageBarrier();
        workgroupBarrier();
    }
    if (lid == 0u && live) {
        nms_state[seg] = kept;
    }
}

const NONE: f32 = -3.0e38;

// IoU as the ONNX reference computes it (0 without overlap or for an empty box).
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
    let uni = area_a + area_b - inter;
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
