// Data movement: transpose/permute, slice, concat (as strided copies), gather and padding.
//
// `strided_copy`: for every coordinate c of the `shape` view,
//   dst[dst_base + Σ c·dst_strides] = src[src_base + Σ c·src_strides], on 32-bit words, so it
//   moves f32, i32 and u32 alike. Transpose permutes the source strides; slice scales one by the
//   step and offsets the base; concat writes each part into its region of the output.
//   Bindings: src (read), dst (write), CopyParams.
// `strided_copy4`: the same on 4-word units (shape, strides and bases counted in them), where
//   both sides' innermost dimension is contiguous in whole aligned units: one load and one
//   store per 4 words, and a quarter of the index divisions (a scalar loop per lane on CPU
//   drivers). Bindings as strided_copy's.
// `gather`: x viewed as [outer, len, inner], indices flat [count]: y[o, j, i] =
//   x[o, idx[j], i], or 0 where idx[j] is outside 0..len; 32-bit words, so f32, i32 and u32.
//   Bindings: src (read), indices (read), dst (write), GatherParams.
// `pad`: constant, reflect or edge padding of f32 data: each output coordinate c maps to
//   c − before; coordinates outside the input take the constant (MODE 0), mirror without
//   repeating the edge (MODE 1), or clamp to the edge (MODE 2).
//   Bindings: src (read), dst (write), PadParams.
// Grid: one invocation per element of the view / output (per 4-word unit with
// `strided_copy4`), linearised over
// gid.x + gid.y · nwg.x · WG. Rank <= 8.
// Variants: MODE (pad), WG.

override MODE: u32 = 0u;
override WG: u32 = 256u;

struct CopyParams {
    shape: array<vec4<u32>, 2>,
    src_strides: array<vec4<u32>, 2>,
    dst_strides: array<vec4<u32>, 2>,
    rank: u32,
    numel: u32,
    src_base: u32,
    dst_base: u32,
}

struct PadParams {
    out_shape: array<vec4<u32>, 2>,
    in_shape: array<vec4<u32>, 2>,
    in_strides: array<vec4<u32>, 2>,
    before: array<vec4<u32>, 2>,
    rank: u32,
    numel: u32,
    value: f32,
}

@group(0) @binding(0) var<storage, read> src: array<u32>;
@group(0) @binding(1) var<storage, read_write> dst: array<u32>;
@group(0) @binding(0) var<storage, read> src4: array<vec4<u32>>;
@group(0) @binding(1) var<storage, read_write> dst4: array<vec4<u32>>;
@group(0) @binding(2) var<uniform> cp: CopyParams;

@group(0) @binding(0) var<storage, read> pad_src: array<f32>;
@group(0) @binding(1) var<storage, read_write> pad_dst: array<f32>;
@group(0) @binding(2) var<uniform> pp: PadParams;

// Source and destination offsets of view element i.
fn copy_offsets(i: u32) -> vec2<u32> {
    var rem = i;
    var at = vec2<u32>(cp.src_base, cp.dst_base);
    // Dimensions come merged where both sides allow (dispatch.rs: merge_dims); the outermost
    // coordinate is what is left, without a division.
    for (var k = i32(cp.rank) - 1; k >= 0; k--) {
        let q = u32(k) / 4u;
        let r = u32(k) % 4u;
        var c = rem;
        if (k > 0) {
            let n = cp.shape[q][r];
            c = rem % n;
            rem = rem / n;
        }
        at += c * vec2<u32>(cp.src_strides[q][r], cp.dst_strides[q][r]);
    }
    return at;
}

@compute @workgroup_size(WG)
fn strided_copy(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WG;
    if (i >= cp.numel) {
        return;
    }
    let at = copy_offsets(i);
    dst[at.y] = src[at.x];
}

@compute @workgroup_size(WG)
fn strided_copy4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WG;
    if (i >= cp.numel) {
        return;
    }
    let at = copy_offsets(i);
    dst4[at.y] = src4[at.x];
}

@compute @workgroup_size(WG)
fn pad(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WG;
    if (i >= pp.numel) {
        return;
    }
    var rem = i;
    var s = 0u;
    var inside = true;
    for (var k = i32(pp.rank) - 1; k >= 0; k--) {
        let q = u32(k) / 4u;
        let r = u32(k) % 4u;
        let c = rem % pp.out_shape[q][r];
        rem = rem / pp.out_shape[q][r];
        let n = i32(pp.in_shape[q][r]);
        var j = i32(c) - i32(pp.before[q][r]);
        if (j < 0 || j >= n) {
            if (MODE == 0u) {
                inside = false;
            } else if (MODE == 1u) {
                j = select(2 * (n - 1) - j, -j, j < 0);
            } else {
                j = clamp(j, 0, n - 1);
            }
        }
        s += u32(max(j, 0)) * pp.in_strides[q][r];
    }
    pad_dst[i] = select(pp.value, pad_src[s], inside);
}

struct GatherParams {
    outer: u32, len: u32, inner: u32, count: u32,
    numel: u32,
}

@group(0) @binding(0) var<storage, read> gather_src: array<u32>;
@group(0) @binding(1) var<storage, read> gather_idx: array<i32>;
@group(0) @binding(2) var<storage, read_write> gather_dst: array<u32>;
@group(0) @binding(3) var<uniform> gp: GatherParams;

@compute @workgroup_size(WG)
fn gather(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = gid.x + gid.y * nwg.x * WG;
    if (t >= gp.numel) {
        return;
    }
    let i = t % gp.inner;
    let j = (t / gp.inner) % gp.count;
    let o = t / (gp.inner * gp.count);
    let k = gather_idx[j];
    var v = 0u;
    if (k >= 0 && u32(k) < gp.len) {
        v = gather_src[(o * gp.len + u32(k)) * gp.inner + i];
    }
    gather_dst[t] = v;
}
