// 2-D pooling, NCHW, f32 arithmetic over f32 or f16 storage (`elem`), PyTorch semantics.
//
// `pool`: max or average over each window. Bindings: x (read), y (write), PoolParams.
// `max_pool_indices`: max pooling that also writes, per output, the flat index iy·W + ix of the
//   (first) maximum in its input plane. Bindings: x (read), y (write), idx i32 (write), PoolParams.
// `max_unpool`: scatters x[i] to y[plane · OH · OW + idx[i]]; the host clears y first.
//   Bindings: x (read), idx (read), y (write), PoolParams (h, w = input; oh, ow = output).
//   Overlapping windows may store the same input twice: both stores write the same value.
// Grid: one invocation per output element (per input element for unpool), linearised over
// gid.x + gid.y · nwg.x · WG. Windows are clipped to input + padding, then to the input;
// `count_include_pad` divides by the first, otherwise by the second.
// Variants: KIND (0 max, 1 average), WG.

alias elem = f32; // storage type of float bindings: f16 in the f16 kernels (kernels.rs)

override KIND: u32 = 0u;
override WG: u32 = 64u;

struct PoolParams {
    h: u32, w: u32, oh: u32, ow: u32,
    kh: u32, kw: u32, stride_h: u32, stride_w: u32,
    pad_top: u32, pad_left: u32, pad_bottom: u32, pad_right: u32,
    numel: u32, count_include_pad: u32,
}

// `x` is shared by all entries; the rest are per entry (inputs, outputs, then parameters).
@group(0) @binding(0) var<storage, read> x: array<elem>;

@group(0) @binding(1) var<storage, read_write> y: array<elem>;
@group(0) @binding(2) var<uniform> p: PoolParams;

@group(0) @binding(1) var<storage, read_write> my: array<elem>;
@group(0) @binding(2) var<storage, read_write> midx: array<i32>;
@group(0) @binding(3) var<uniform> mp: PoolParams;

@group(0) @binding(1) var<storage, read> uidx: array<i32>;
@group(0) @binding(2) var<storage, read_write> uy: array<elem>;
@group(0) @binding(3) var<uniform> upp: PoolParams;

struct Window {
    value: f32,
    index: i32,
}

// Max or mean of the window of output element i, and the flat index of its first maximum.
fn window(q: PoolParams, i: u32, is_max: bool) -> Window {
    let ox = i % q.ow;
    let oy = (i / q.ow) % q.oh;
    let plane = i / (q.ow * q.oh);
    let y0 = i32(oy * q.stride_h) - i32(q.pad_top);
    let x0 = i32(ox * q.stride_w) - i32(q.pad_left);
    let y1 = min(y0 + i32(q.kh), i32(q.h + q.pad_bottom));
    let x1 = min(x0 + i32(q.kw), i32(q.w + q.pad_right));
    let padded = f32((y1 - y0) * (x1 - x0));
    var best = 0.0;
    var best_i = -1;
    var sum = 0.0;
    var count = 0.0;
    for (var iy = max(y0, 0); iy < min(y1, i32(q.h)); iy++) {
        for (var ix = max(x0, 0); ix < min(x1, i32(q.w)); ix++) {
            let j = iy * i32(q.w) + ix;
            let v = f32(x[plane * q.h * q.w + u32(j)]);
            if (best_i < 0 || v > best) {
                best = v;
                best_i = j;
            }
            sum += v;
            count += 1.0;
        }
    }
    if (is_max) {
        return Window(best, best_i);
    }
    return Window(sum / select(count, padded, q.count_include_pad != 0u), best_i);
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
