// Winograd F(M×M, 3×3) convolution, NCHW, f32, M = 2 or 4 outputs per tile side: a 3×3
// stride-1 ungrouped convolution as A = (M + 2)² GEMMs of [O, C] × [C, tiles] (gemm.wgsl,
// batched) between transforms, 2.25× (M = 2) or 4× (M = 4) fewer multiplications than
// im2col, over a band of N images from image n_begin of x, y and the residual (the
// transforms' scratch holds one band). F(4×4, 3×3) interpolates at 0, ±1, 1/2, -2 and ∞,
// which keeps its f32 rounding error within about 8× that of F(2×2, 3×3). With
// T = N · tiles_h · tiles_w tiles of M×M outputs, padded to t_pad (a multiple of 4) in the
// scratch's rows:
// `winograd_weights`: u[e, o, c] = (G · w[o, c] · Gᵀ)[e] for the A positions e of a tile.
//   Bindings: w [O, C, 3, 3] (read), u [A, O, C] (write), WinoParams (items = O · C).
// `winograd_input`: v[e, c, t] = (Bᵀ · d · B)[e] for the (M + 2)² input tile d of channel c
//   under tile t (zeros in the padding and for t ≥ T), 4 neighbouring tiles per invocation
//   stored as one vector per position. Bindings: x (read, through x_pair / x_window),
//   v [A, C, t_pad] (write), WinoParams (items = C · t_pad / 4).
// `winograd_output`: y = activate((Aᵀ · m · A) + bias + residual) for the M×M outputs of each
//   tile and output channel, m[e, o, t] [A, O, t_pad] being the GEMM's result. Bindings: m
//   (read, through x_at), bias [O] (read), residual (read), y (write), WinoParams
//   (items = O · T); an absent bias or residual is bound to a placeholder and ignored. `winograd_output4` (M = 4, OW a
//   multiple of 4) writes each output row of a tile as one vector, reading the residual so.
// x_at, x_pair and x_window come from conv2d_storage.wgsl or conv2d_texels.wgsl (binding 0
// read as a texture).
// Variants: M, WG, HAS_BIAS, RESIDUAL, ACT0..3 (activation.wgsl).

alias elem = f32; // storage type of float bindings (this family runs f32 graphs only)

override WG: u32 = 64u;
// Outputs per tile side; a tile reads M + 2 inputs a side.
override M: u32 = 2u;
override HAS_BIAS: bool = false;
override RESIDUAL: bool = false;

struct WinoParams {
    n: u32, c: u32, h: u32, w: u32,
    o: u32, oh: u32, ow: u32, pad_top: u32,
    pad_left: u32, tiles_h: u32, tiles_w: u32, items: u32,
    n_begin: u32, t_pad: u32,
}

@group(0) @binding(0) var<storage, read> wsrc: array<elem>;
@group(0) @binding(1) var<storage, read_write> u: array<elem>;
@group(0) @binding(1) var<storage, read_write> v: array<vec4<elem>>;
@group(0) @binding(1) var<storage, read> wbias: array<elem>;
@group(0) @binding(2) var<storage, read> wres: array<elem>;
@group(0) @binding(3) var<storage, read_write> wy: array<elem>;
@group(0) @binding(2) var<storage, read> wres4: array<vec4<elem>>;
@group(0) @binding(3) var<storage, read_write> wy4: array<vec4<elem>>;
@group(0) @binding(2) var<uniform> q: WinoParams;
@group(0) @binding(4) var<uniform> qo: WinoParams;

// The invocation's item, or none past `items`.
fn item_of(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return gid.x + gid.y * nwg.x * WG;
}

// One side of a tile: M + 2 values, the rest unused.
alias Side = array<f32, 6>;

// G · g for one column (or, applied to rows, g · Gᵀ) of a 3×3 filter.
fn g_side(g: vec3<f32>) -> Side {
    if (M == 2u) {
        return Side(g.x, 0.5 * (g.x + g.y + g.z), 0.5 * (g.x - g.y + g.z), g.z, 0.0, 0.0);
    }
    let third = (g.x + g.z) / 3.0;
    return Side(
        g.x,
        third + g.y / 3.0,
        g.y / 3.0 - third,
        -(16.0 * g.x + 8.0 * g.y + 4.0 * g.z) / 15.0,
        (g.x - 2.0 * g.y + 4.0 * g.z) / 15.0,
        g.z,
    );
}

// Bᵀ · d for one column (or, applied to rows, d · B) of an input tile.
fn bt_side(d: Side) -> Side {
    if (M == 2u) {
        return Side(d[0] - d[2], d[1] + d[2], d[2] - d[1], d[1] - d[3], 0.0, 0.0);
    }
    return Side(
        d[0] - 1.5 * d[1] - 2.0 * d[2] + 1.5 * d[3] + d[4],
        0.5 * d[2] - d[1] + 2.5 * d[3] + d[4],
        d[1] - 2.5 * d[2] + 0.5 * d[3] + d[4],
        2.0 * (d[3] - d[1]) - d[2] + d[4],
        0.5 * (d[1] - d[3]) - d[2] + d[4],
        d[1] - 1.5 * d[2] - 2.0 * d[3] + 1.5 * d[4] + d[5],
    );
}

// Aᵀ · m for one column (or, applied to rows, m · A) of a product tile: M outputs.
fn at_side(m: Side) -> vec4<f32> {
    if (M == 2u) {
        return vec4<f32>(m[0] + m[1] + m[2], m[1] - m[2] - m[3], 0.0, 0.0);
    }
    let sum = m[1] + m[2];
    let diff = m[1] - m[2];
    return vec4<f32>(
        m[0] + sum + m[3] + m[4],
        diff + 0.5 * m[3] - 2.0 * m[4],
        sum + 0.25 * m[3] + 4.0 * m[4],
        diff + 0.125 * m[3] - 8.0 * m[4] + m[5],
    );
}

@compute @workgroup_size(WG)
fn winograd_weights(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let item = item_of(gid, nwg);
    if (item >= q.items) {
        return;
    }
    let a = M + 2u;
    // gg = G · g column by column (a × 3), then each row of gg times Gᵀ.
    let base = item * 9u;
    var gg: array<vec3<f32>, 6>;
    for (var col = 0u; col < 3u; col++) {
        let g = vec3<f32>(f32(wsrc[base + col]), f32(wsrc[base + 3u + col]), f32(wsrc[base + 6u + col]));
        let side = g_side(g);
        for (var r = 0u; r < a; r++) {
            gg[r][col] = side[r];
        }
    }
    let plane = q.o * q.c;
    for (var r = 0u; r < a; r++) {
        let t = g_side(gg[r]);
        for (var s = 0u; s < a; s++) {
            u[(a * r + s) * plane + item] = elem(t[s]);
        }
    }
}

// Column, row and image of tile t.
fn tile_of(t: u32, w: WinoParams) -> vec3<u32> {
    return vec3<u32>(t % w.tiles_w, (t / w.tiles_w) % w.tiles_h, t / (w.tiles_w * w.tiles_h));
}

// The x elements from 4·quad on that a tile row starting at offset 0..3 reads: x_pair's 8 where
// M = 2, the first 12 of x_window's 16 where M = 4.
fn x_row(quad: i32) -> mat3x4<f32> {
    if (M == 2u) {
        let pair = x_pair(quad);
        return mat3x4<f32>(pair[0], pair[1], vec4<f32>(0.0));
    }
    let window = x_window(quad);
    return mat3x4<f32>(window[0], window[1], window[2]);
}

// Element e (below 12) of a row span, chosen by selects: a dynamic index into a matrix would
// make the driver keep it in memory where it does not unroll the loop.
fn span_at(span: mat3x4<f32>, e: u32) -> f32 {
    let texel = select(select(span[0], span[1], e >= 4u), span[2], e >= 8u);
    return texel[e & 3u];
}

// Row i of the input tile over (iy0, ix0) in plane `plane` of x, times B; zeros past the
// tile's M + 2 rows. The kernels call this and the other row helpers with constant i, so that
// the driver keeps the tile in registers instead of indexing it in memory.
fn input_row(i: u32, plane: u32, iy0: i32, ix0: i32) -> Side {
    var d: Side;
    let iy = iy0 + i32(i);
    if (i < M + 2u && iy >= 0 && iy < i32(q.h)) {
        // The row's inputs from the texels that hold them.
        let start = i32(plane) + iy * i32(q.w) + ix0;
        let span = x_row(start >> 2u);
        for (var j = 0u; j < M + 2u; j++) {
            let ix = ix0 + i32(j);
            let e = u32(start & 3) + j;
            d[j] = select(0.0, span_at(span, e), ix >= 0 && ix < i32(q.w));
        }
    }
    return bt_side(d);
}

// The rows of input tile t of channel c (zeros for padding tiles past the band's), each
// times B.
fn tile_rows(c: u32, t: u32) -> array<Side, 6> {
    if (t >= q.n * q.tiles_h * q.tiles_w) {
        return array<Side, 6>();
    }
    let tile = tile_of(t, q);
    let plane = ((q.n_begin + tile.z) * q.c + c) * q.h * q.w;
    let iy0 = i32(M * tile.y) - i32(q.pad_top);
    let ix0 = i32(M * tile.x) - i32(q.pad_left);
    return array<Side, 6>(
        input_row(0u, plane, iy0, ix0),
        input_row(1u, plane, iy0, ix0),
        input_row(2u, plane, iy0, ix0),
        input_row(3u, plane, iy0, ix0),
        input_row(4u, plane, iy0, ix0),
        input_row(5u, plane, iy0, ix0),
    );
}

// Column j of 4 neighbouring tiles' rows (already times B), times Bᵀ, into v as one vector
// per position, at vector `at` of position 0 (positions `stride` vectors apart).
fn store_input_columns(j: u32, r0: array<Side, 6>, r1: array<Side, 6>, r2: array<Side, 6>, r3: array<Side, 6>, at: u32, stride: u32) {
    if (j >= M + 2u) {
        return;
    }
    let c0 = bt_side(Side(r0[0][j], r0[1][j], r0[2][j], r0[3][j], r0[4][j], r0[5][j]));
    let c1 = bt_side(Side(r1[0][j], r1[1][j], r1[2][j], r1[3][j], r1[4][j], r1[5][j]));
    let c2 = bt_side(Side(r2[0][j], r2[1][j], r2[2][j], r2[3][j], r2[4][j], r2[5][j]));
    let c3 = bt_side(Side(r3[0][j], r3[1][j], r3[2][j], r3[3][j], r3[4][j], r3[5][j]));
    for (var i = 0u; i < M + 2u; i++) {
        v[((M + 2u) * i + j) * stride + at] = vec4<elem>(vec4<f32>(c0[i], c1[i], c2[i], c3[i]));
    }
}

// One invocation per 4 neighbouring tiles (of the band's t_pad) of one channel: their 4 values
// of each position are one vector of v.
@compute @workgroup_size(WG)
fn winograd_input(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let item = item_of(gid, nwg);
    if (item >= q.items) {
        return;
    }
    let quads = q.t_pad / 4u;
    let c = item / quads;
    let t = 4u * (item % quads);
    let r0 = tile_rows(c, t);
    let r1 = tile_rows(c, t + 1u);
    let r2 = tile_rows(c, t + 2u);
    let r3 = tile_rows(c, t + 3u);
    let stride = q.c * quads;
    store_input_columns(0u, r0, r1, r2, r3, item, stride);
    store_input_columns(1u, r0, r1, r2, r3, item, stride);
    store_input_columns(2u, r0, r1, r2, r3, item, stride);
    store_input_columns(3u, r0, r1, r2, r3, item, stride);
    store_input_columns(4u, r0, r1, r2, r3, item, stride);
    store_input_columns(5u, r0, r1, r2, r3, item, stride);
}

// Row i of the product tile at `at` (positions `stride` apart) times A: M values; zeros past
// the tile's M + 2 rows.
fn product_row(i: u32, at: u32, stride: u32) -> vec4<f32> {
    if (i >= M + 2u) {
        return vec4<f32>(0.0);
    }
    var r: Side;
    for (var j = 0u; j < M + 2u; j++) {
        r[j] = x_at(((M + 2u) * i + j) * stride + at);
    }
    return at_side(r);
}

// The M×M outputs (rows of M, bias added) of the tile and output channel of `item`, and
// where they go: tile column, row and image, and the channel.
struct OutputTile {
    tile: vec3<u32>,
    o: u32,
    rows: mat4x4<f32>,
}

fn output_tile(item: u32) -> OutputTile {
    let tiles = qo.n * qo.tiles_h * qo.tiles_w;
    let o = item / tiles;
    let t = item % tiles;
    let tile = tile_of(t, qo);
    // Aᵀ · m · A: first m · A row by row, then Aᵀ on the left, column by column; m's rows hold
    // the band's t_pad tiles.
    let stride = qo.o * qo.t_pad;
    let at = o * qo.t_pad + t;
    let ma = array<vec4<f32>, 6>(
        product_row(0u, at, stride),
        product_row(1u, at, stride),
        product_row(2u, at, stride),
        product_row(3u, at, stride),
        product_row(4u, at, stride),
        product_row(5u, at, stride),
    );
    var b = 0.0;
    if (HAS_BIAS) {
        b = f32(wbias[o]);
    }
    var columns: mat4x4<f32>;
    for (var s = 0u; s < M; s++) {
        columns[s] = at_side(Side(ma[0][s], ma[1][s], ma[2][s], ma[3][s], ma[4][s], ma[5][s])) + b;
    }
    return OutputTile(tile, o, transpose(columns));
}

// Row r of a tile's outputs, chosen by selects (see span_at).
fn row_of(rows: mat4x4<f32>, r: u32) -> vec4<f32> {
    return select(select(rows[0], rows[1], r == 1u), select(rows[2], rows[3], r == 3u), r >= 2u);
}

@compute @workgroup_size(WG)
fn winograd_output(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let item = item_of(gid, nwg);
    if (item >= qo.items) {
        return;
    }
    let t = output_tile(item);
    for (var r = 0u; r < M; r++) {
        let oy = M * t.tile.y + r;
        for (var s = 0u; s < M; s++) {
            let ox = M * t.tile.x + s;
            if (oy < qo.oh && ox < qo.ow) {
                let at = (((qo.n_begin + t.tile.z) * qo.o + t.o) * qo.oh + oy) * qo.ow + ox;
                var val = row_of(t.rows, r)[s];
                if (RESIDUAL) {
                    val += f32(wres[at]);
                }
                wy[at] = elem(activate(val));
            }
        }
    }
}

@compute @workgroup_size(WG)
fn winograd_output4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let item = item_of(gid, nwg);
    if (item >= qo.items) {
        return;
    }
    let t = output_tile(item);
    for (var r = 0u; r < 4u; r++) {
        let oy = 4u * t.tile.y + r;
        if (oy < qo.oh) {
            let at = ((((qo.n_begin + t.tile.z) * qo.o + t.o) * qo.oh + oy) * qo.ow) / 4u + t.tile.x;
            var val = row_of(t.rows, r);
            if (RESIDUAL) {
                val += vec4<f32>(wres4[at]);
            }
            wy4[at] = vec4<elem>(vec4<f32>(activate(val.x), activate(val.y), activate(val.z), activate(val.w)));
        }
    }
}
