// Bayer demosaicing: raw mosaic (8- or 16-bit samples packed little-endian into u32 words)
// -> [1, 3, H, W] f32 RGB in [0, 1].
//
// Each sample is normalised, value = wb[colour] · (raw − black) / (white − black), then the two
// missing colours of every pixel are interpolated:
//   METHOD 0, bilinear: green at red/blue sites = mean of the 4 orthogonal neighbours, the other
//     chroma = mean of the 4 diagonals; at green sites each chroma = mean of its 2 neighbours.
//   METHOD 1, Malvar–He–Cutler (2004): the same estimates corrected by the Laplacian of the
//     sampled colour, i.e. the paper's 5×5 filters (weights in eighths, DC gain 1).
// Borders mirror without repeating the edge (−1 → 1), which keeps the colour filter phase.
// Results are clamped to [0, 1] and optionally sRGB-encoded.
// Bindings: raw (read, u32 words), rgb (write), DemosaicParams. `pattern` packs the colour
// (0 R, 1 G, 2 B) of the 2×2 cell's four sites, two bits each, row by row.
// Grid: one invocation per pixel, linearised over gid.x + gid.y · nwg.x · WG.
// Variants: METHOD, BITS (8 or 16), WG.

override METHOD: u32 = 0u;
override BITS: u32 = 16u;
override WG: u32 = 64u;

struct DemosaicParams {
    h: u32,
    w: u32,
    pattern: u32,
    srgb: u32,
    black: f32,
    scale: f32,
    wb_r: f32,
    wb_g: f32,
    wb_b: f32,
}

@group(0) @binding(0) var<storage, read> raw: array<u32>;
@group(0) @binding(1) var<storage, read_write> rgb: array<f32>;
@group(0) @binding(2) var<uniform> p: DemosaicParams;

fn color_at(y: u32, x: u32) -> u32 {
    return (p.pattern >> (((y & 1u) * 2u + (x & 1u)) * 2u)) & 3u;
}

fn reflect(i: i32, n: u32) -> u32 {
    var j = abs(i);
    if (j >= i32(n)) {
        j = 2 * (i32(n) - 1) - j;
    }
    return u32(j);
}

// Normalised, white-balanced sample at (y, x), mirrored at the borders.
fn at(y: i32, x: i32) -> f32 {
    let yy = reflect(y, p.h);
    let xx = reflect(x, p.w);
    let i = yy * p.w + xx;
    let per = 32u / BITS;
    let v = (raw[i / per] >> ((i % per) * BITS)) & ((1u << BITS) - 1u);
    let c = color_at(yy, xx);
    let gain = select(select(p.wb_b, p.wb_g, c == 1u), p.wb_r, c == 0u);
    return (f32(v) - p.black) * p.scale * gain;
}

fn srgb(v: f32) -> f32 {
    if (v <= 0.0031308) {
        return 12.92 * v;
    }
    return 1.055 * pow(v, 1.0 / 2.4) - 0.055;
}

@compute @workgroup_size(WG)
fn demosaic(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WG;
    if (i >= p.h * p.w) {
        return;
    }
    let x = i32(i % p.w);
    let y = i32(i / p.w);
    let c = color_at(u32(y), u32(x));
    let center = at(y, x);
    let horiz1 = at(y, x - 1) + at(y, x + 1);
    let vert1 = at(y - 1, x) + at(y + 1, x);
    let diag = at(y - 1, x - 1) + at(y - 1, x + 1) + at(y + 1, x - 1) + at(y + 1, x + 1);
    var horiz2 = 0.0;
    var vert2 = 0.0;
    if (METHOD == 1u) {
        horiz2 = at(y, x - 2) + at(y, x + 2);
        vert2 = at(y - 2, x) + at(y + 2, x);
    }
    var out = vec3<f32>(0.0);
    out[c] = center;
    if (c == 1u) {
        let hc = color_at(u32(y), u32(x) + 1u);
        let vc = color_at(u32(y) + 1u, u32(x));
        if (METHOD == 1u) {
            out[hc] = (5.0 * center - diag - horiz2 + 4.0 * horiz1 + 0.5 * vert2) / 8.0;
            out[vc] = (5.0 * center - diag - vert2 + 4.0 * vert1 + 0.5 * horiz2) / 8.0;
        } else {
            out[hc] = horiz1 / 2.0;
            out[vc] = vert1 / 2.0;
        }
    } else {
        let other = 2u - c;
        if (METHOD == 1u) {
            out[1] = (4.0 * center + 2.0 * (horiz1 + vert1) - horiz2 - vert2) / 8.0;
            out[other] = (6.0 * center + 2.0 * diag - 1.5 * (horiz2 + vert2)) / 8.0;
        } else {
            out[1] = (horiz1 + vert1) / 4.0;
            out[other] = diag / 4.0;
        }
    }
    let plane = p.h * p.w;
    for (var ch = 0u; ch < 3u; ch++) {
        var v = clamp(out[ch], 0.0, 1.0);
        if (p.srgb != 0u) {
            v = srgb(v);
        }
        rgb[ch * plane + i] = v;
    }
}
