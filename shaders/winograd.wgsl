// Winograd F(2×2, 3×3) convolution, NCHW, f32: a 3×3 stride-1 ungrouped convolution as 16
// GEMMs of [O, C] × [C, tiles] (gemm.wgsl, batched) between transforms, 2.25× fewer
// multiplications than im2col + GEMM, over a band of N images from image n_begin of x, y and
// the residual (the transforms' scratch holds one band). With T = N · tiles_h · tiles_w tiles of 2×2 outputs:
// `winograd_weights`: u[e, o, c] = (G · w[o, c] · Gᵀ)[e] for the 16 positions e of a 4×4 tile.
//   Bindings: w [O, C, 3, 3] (read), u [16, O, C] (write), WinoParams (items = O · C).
// `winograd_input`: v[e, c, t] = (Bᵀ · d · B)[e] for the 4×4 input tile d of channel c under
//   tile t (zeros in the padding). Bindings: x (read, through x_pair), v [16, C, T] (write),
//   WinoParams (items = C · T).
// `winograd_output`: y = activate((Aᵀ · m · A) + bias + residual) for the 2×2 outputs of each
//   tile and output channel, m[e, o, t] being the GEMM's result. Bindings: m (read, through
//   x_at), bias [O] (read), residual (read), y (write), WinoParams (items = O · T); an absent
//   bias or residual is bound to a placeholder and ignored.
// x_at and x_pair come from conv2d_storage.wgsl or conv2d_texels.wgsl (binding 0 read as a
// texture).
// Variants: WG, HAS_BIAS, RESIDUAL, ACT0..3 (activation.wgsl).

alias elem = f32; // storage type of float bindings (this family runs f32 graphs only)

override WG: u32 = 64u;
override HAS_BIAS: bool = false;
override RESIDUAL: bool = false;

struct WinoParams {
    n: u32, c: u32, h: u32, w: u32,
    o: u32, oh: u32, ow: u32, pad_top: u32,
    pad_left: u32, tiles_h: u32, tiles_w: u32, items: u32,
    n_begin: u32,
}

@group(0) @binding(0) var<storage, read> wsrc: array<elem>;
@group(0) @binding(1) var<storage, read_write> u: array<elem>;
@group(0) @binding(1) var<storage, read_write> v: array<elem>;
@group(0) @binding(1) var<storage, read> wbias: array<elem>;
@group(0) @binding(2) var<storage, read> wres: array<elem>;
@group(0) @binding(3) var<storage, read_write> wy: array<elem>;
@group(0) @binding(2) var<uniform> q: WinoParams;
@group(0) @binding(4) var<uniform> qo: WinoParams;

// The invocation's item, or none past `items`.
fn item_of(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return gid.x + gid.y * nwg.x * WG;
}

@compute @workgroup_size(WG)
fn winograd_weights(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let item = item_of(gid, nwg);
    if (item >= q.items) {
        return;
    }
    // g: the 3×3 filter as rows; gg = G · g (4×3), then gg · Gᵀ (4×4).
    let base = item * 9u;
    var g: array<vec3<f32>, 3>;
    for (var r = 0u; r < 3u; r++) {
        g[r] = vec3<f32>(f32(wsrc[base + 3u * r]), f32(wsrc[base + 3u * r + 1u]), f32(wsrc[base + 3u * r + 2u]));
    }
    let gg = array<vec3<f32>, 4>(g[0], 0.5 * (g[0] + g[1] + g[2]), 0.5 * (g[0] - g[1] + g[2]), g[2]);
    let plane = q.o * q.c;
    for (var r = 0u; r < 4u; r++) {
        let row = gg[r];
        let t = vec4<f32>(row.x, 0.5 * (row.x + row.y + row.z), 0.5 * (row.x - row.y + row.z), row.z);
        for (var s = 0u; s < 4u; s++) {
            u[(4u * r + s) * plane + item] = elem(t[s]);
        }
    }
}

// Column, row and image of tile t.
fn tile_of(t: u32, w: WinoParams) -> vec3<u32> {
    return vec3<u32>(t % w.tiles_w, (t / w.tiles_w) % w.tiles_h, t / (w.tiles_w * w.tiles_h));
}

// Bᵀ · col for one column (or, applied to rows, row · B) of a 4×4 tile.
fn bt(d: vec4<f32>) -> vec4<f32> {
    return vec4<f32>(d.x - d.z, d.y + d.z, d.z - d.y, d.y - d.w);
}

@compute @workgroup_size(WG)
fn winograd_input(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let item = item_of(gid, nwg);
    if (item >= q.items) {
        return;
    }
    let tiles = q.n * q.tiles_h * q.tiles_w;
    let c = item / tiles;
    let tile = tile_of(item % tiles, q);
    let plane = ((q.n_begin + tile.z) * q.c + c) * q.h * q.w;
    let iy0 = i32(2u * tile.y) - i32(q.pad_top);
    let ix0 = i32(2u * tile.x) - i32(q.pad_left);
    // Rows of d, each already multiplied by B on the right.
    var rows: array<vec4<f32>, 4>;
    for (var i = 0; i < 4; i++) {
        var d = vec4<f32>(0.0);
        let iy = iy0 + i;
        if (iy >= 0 && iy < i32(q.h)) {
            // The row's 4 inputs from the 2 texels (8 elements) that hold them.
            let start = i32(plane) + iy * i32(q.w) + ix0;
            let pair = x_pair(start >> 2u);
            for (var j = 0; j < 4; j++) {
                let ix = ix0 + j;
                let e = u32((start & 3) + j);
                let v = select(pair[0], pair[1], e >= 4u)[e & 3u];
                d[j] = select(0.0, v, ix >= 0 && ix < i32(q.w));
            }
        }
        rows[i] = bt(d);
    }
    // Bᵀ on the left, column by column.
    let stride = q.c * tiles;
    for (var j = 0u; j < 4u; j++) {
        let col = bt(vec4<f32>(rows[0][j], rows[1][j], rows[2][j], rows[3][j]));
        for (var i = 0u; i < 4u; i++) {
            v[(4u * i + j) * stride + item] = elem(col[i]);
        }
    }
}

@compute @workgroup_size(WG)
fn winograd_output(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let item = item_of(gid, nwg);
    if (item >= qo.items) {
        return;
    }
    let tiles = qo.n * qo.tiles_h * qo.tiles_w;
    let o = item / tiles;
    let tile = tile_of(item % tiles, qo);
    // Aᵀ · m · A: first m · A row by row (2 columns each), then Aᵀ on the left.
    let stride = qo.o * tiles;
    var ma: array<vec2<f32>, 4>;
    for (var i = 0u; i < 4u; i++) {
        let e = 4u * i * stride + item;
        let r = vec4<f32>(x_at(e), x_at(e + stride), x_at(e + 2u * stride), x_at(e + 3u * stride));
        ma[i] = vec2<f32>(r.x + r.y + r.z, r.y - r.z - r.w);
    }
    let top = ma[0] + ma[1] + ma[2];
    let bottom = ma[1] - ma[2] - ma[3];
    var b = 0.0;
    if (HAS_BIAS) {
        b = f32(wbias[o]);
    }
    for (var r = 0u; r < 2u; r++) {
        let oy = 2u * tile.y + r;
        let vals = select(bottom, top, r == 0u);
        for (var s = 0u; s < 2u; s++) {
            let ox = 2u * tile.x + s;
            if (oy < qo.oh && ox < qo.ow) {
                let at = (((qo.n_begin + tile.z) * qo.o + o) * qo.oh + oy) * qo.ow + ox;
                var val = vals[s] + b;
                if (RESIDUAL) {
                    val += f32(wres[at]);
                }
                wy[at] = elem(activate(val));
            }
        }
    }
}
