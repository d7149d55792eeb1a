// 2-D pooling, NCHW, f32 arithmetic over f32 or f16 storage (`elem`), PyTorch semantics.
//
// `pool`: max or average over each window. Bindings: x (read), y (write), PoolParams.
// `max_pool_indices`: max pooling that also writes, per output, the flat index iy·W + ix of the
//   (first) maximum in its input plane. Bindings: x (read), y (write), idx i32 (write), PoolParams.
// `max_unpool`: scatters x[i] to y[plane · OH · OW + idx[i]]; the host clears y first.
//   Bindings: x (read), idx (read), y (write), PoolParams (h, w = input; oh, ow = output).
//   Overlapping windows may store the same input twice: both stores write the same value.
// `pool_parts`: windows too large for one invocation (see reduce.wgsl: llvmpipe leaves an
//   invocation's loops after 65 535 iterations) in `parts` parts of part_rows × part_cols, each
//   writing a record [outputs, parts] that reduce.wgsl's fold then combines: average, the part's
//   sum already divided by the window's divisor (summed over the parts); max, (max, flat index
//   of its first occurrence), the index as u32 bits (max over the parts, or argmax for indices).
//   Bindings: x (read), records (write), PoolParams.
// Grid: one invocation per output element (per input element for unpool, per part of one for
// pool_parts), linearised over gid.x + gid.y · nwg.x · WG. Windows are clipped to input +
// padding, then to the input; `count_include_pad` divides by the first, otherwise by the second.
// Variants: KIND (0 max, 1 average), WG.

alias elem = f32; // storage type of float bindings: f16 in the f16 kernels (kernels.rs)

override KIND: u32 = 0u;
override WG: u32 = 64u;

struct PoolParams {
    h: u32, w: u32, oh: u32, ow: u32,
    kh: u32, kw: u32, stride_h: u32, stride_w: u32,
    pad_top: u32, pad_left: u32, pad_bottom: u32, pad_right: u32,
    numel: u32, count_include_pad: u32,
    // pool_parts: rows and columns of a part, parts per window row band, parts per window.
    part_rows: u32, part_cols: u32, col_parts: u32, parts: u32,
}

// `x` is shared by all entries; the rest are per entry (inputs, outputs, then parameters).
@group(0) @binding(0) var<storage, read> x: array<elem>;

@group(0) @binding(1) var<storage, read_write> y: array<elem>;
@group(0) @binding(2) var<uniform> p: PoolParams;

@group(0) @binding(1) var<storage, read_write> my: array<elem>;
@group(0) @binding(2) var<storage, read_write> midx: array<i32>;
@group(0) @binding(3) var<uniform> mp: PoolParams;

@group(0) @binding(1) var<storage, read_write> parts: array<u32>;
@group(0) @binding(2) var<uniform> pp: PoolParams;

@group(0) @binding(1) var<storage, read> uidx: array<i32>;
@group(0) @binding(2) var<storage, read_write> uy: array<elem>;
@group(0) @binding(3) var<uniform> upp: PoolParams;

struct Window {
    value: f32,
    index: i32,
    sum: f32,
}

// Rows y0 .. y1 and columns x0 .. x1 of output i's window, clipped to input + padding
// (coordinates in the input, negative inside the top/left padding), and its plane.
struct Bounds {
    y0: i32, y1: i32, x0: i32, x1: i32, plane: u32,
}

fn bounds(q: PoolParams, i: u32) -> Bounds {
    let ox = i % q.ow;
    let oy = (i / q.ow) % q.oh;
    let y0 = i32(oy * q.stride_h) - i32(q.pad_top);
    let x0 = i32(ox * q.stride_w) - i32(q.pad_left);
    let y1 = min(y0 + i32(q.kh), i32(q.h + q.pad_bottom));
    let x1 = min(x0 + i32(q.kw), i32(q.w + q.pad_right));
    return Bounds(y0, y1, x0, x1, i / (q.ow * q.oh));
}

// What an average divides by: the window clipped to input + padding, or to the input.
fn divisor(q: PoolParams, b: Bounds) -> f32 {
    if (q.count_include_pad != 0u) {
        return f32((b.y1 - b.y0) * (b.x1 - b.x0));
    }
    let rows = min(b.y1, i32(q.h)) - max(b.y0, 0);
    let cols = min(b.x1, i32(q.w)) - max(b.x0, 0);
    return f32(rows * cols);
}

// Max (with the flat index iy·W + ix of its first occurrence, −1 if none) and sum of the input
// inside `b`.
fn scan(q: PoolParams, b: Bounds) -> Window {
    var best = 0.0;
    var best_i = -1;
    var sum = 0.0;
    for (var iy = max(b.y0, 0); iy < min(b.y1, i32(q.h)); iy++) {
        for (var ix = max(b.x0, 0); ix < min(b.x1, i32(q.w)); ix++) {
            let j = iy * i32(q.w) + ix;
            let v = f32(x[b.plane * q.h * q.w + u32(j)]);
            if (best_i < 0 || v > best) {
                best = v;
                best_i = j;
            }
            sum += v;
        }
    }
    return Window(best, best_i, sum);
}

// Max or mean of the window of output element i, and the flat index of its first maximum.
fn window(q: PoolParams, i: u32, is_max: bool) -> Window {
    let b = bounds(q, i);
    let r = scan(q, b);
    if (is_max) {
        return r;
    }
    return Window(r.sum / divisor(q, b), r.index, r.sum);
}

@compute @workgroup_size(WG)
fn pool_parts(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = gid.x + gid.y * nwg.x * WG;
    if (t >= pp.numel * pp.parts) {
        return;
    }
    let i = t / pp.parts;
    let s = t % pp.parts;
    let b = bounds(pp, i);
    let top = b.y0 + i32((s / pp.col_parts) * pp.part_rows);
    let left = b.x0 + i32((s % pp.col_parts) * pp.part_cols);
    let part = Bounds(top, min(b.y1, top + i32(pp.part_rows)), left, min(b.x1, left + i32(pp.part_cols)), b.plane);
    let r = scan(pp, part);
    var rec = vec2<u32>(bitcast<u32>(r.sum / divisor(pp, b)), 0u);
    if (KIND == 0u) {
        // An empty part loses to any value.
        rec = select(vec2<u32>(bitcast<u32>(r.value), u32(r.index)), vec2<u32>(0xff800000u, 0xffffffffu), r.index < 0);
    }
    parts[4u * t] = rec.x;
    parts[4u * t + 1u] = rec.y;
    parts[4u * t + 2u] = 0u;
    parts[4u * t + 3u] = 0u;
}

@compute @workgroup_size(WG)
fn pool(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WG;
    if (i >= p.numel) {
        return;
    }
    y[i] = elem(window(p, i, KIND == 0u).value);
}

@compute @workgroup_size(WG)
fn max_pool_indices(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WG;
    if (i >= mp.numel) {
        return;
    }
    let r = window(mp, i, true);
    my[i] = elem(r.value);
    midx[i] = r.index;
}

@compute @workgroup_size(WG)
fn max_unpool(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WG;
    if (i >= upp.numel) {
        return;
    }
    let plane = i / (upp.h * upp.w);
    let j = uidx[i];
    if (j >= 0 && u32(j) < upp.oh * upp.ow) {
        uy[plane * upp.oh * upp.ow + u32(j)] = x[i];
    }
}
