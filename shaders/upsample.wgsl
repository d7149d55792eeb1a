// Resize [N, C, H, W] -> [N, C, OH, OW], f32 (PyTorch semantics).
//
// `upsample`: nearest and bilinear. Bindings: x (read), y (write), UpsampleParams.
//   `upsample4` writes 4 neighbouring outputs of a row per invocation where OW is a multiple
//   of 4: one vector store and a quarter of the index divisions (a scalar loop per lane on CPU
//   drivers); numel then counts groups of 4.
//   Nearest: src = floor(dst · in / out). Bilinear by `coords`: 0 half-pixel centres,
//   max((dst + 0.5) · in/out − 0.5, 0); 1 align_corners, dst · (in − 1)/(out − 1); 2 TensorFlow
//   1's asymmetric dst · in/out. The two neighbours clamp to the edge.
// `area_axis`: area resizing (antialiased downscale, PyTorch's "area": the mean of input rows
//   floor(o·in/out) .. ceil((o+1)·in/out), likewise for columns) along one axis, since the mean
//   over a window of rows × columns is the mean over rows of the means over columns; the plan
//   runs it along W, then along H. x is viewed as [outer, len, inner] and resized along `len`
//   to `olen`. A window longer than `part` entries is split into `parts` parts, each written
//   already divided by the window's length, as y [outer, olen, parts, inner], which reduce.wgsl
//   then sums over the parts: no invocation loops more than `part` times (see reduce.wgsl).
//   Bindings: x (read), y (write), AreaParams.
// `resize_pixels`: `upsample` straight from an image's packed 8- or 16-bit interleaved samples
//   (4 or 2 per u32 word), divided by the largest value of BITS: the image goes to the device
//   at a quarter (half) of its f32 size and never exists there as f32. The words may span up to
//   four bindings (segments of seg_words words), so an image larger than one binding still goes
//   up whole. Bindings: s0..s3 (read; unused ones are placeholders), y (write), PixelParams.
//   MODE 2: OpenCV's fixed-point INTER_LINEAR of 8-bit samples (cv::warpAffine with a scale
//   matrix): src = dst · in/out quantised to 1/32 (ties to even, in exact integer arithmetic),
//   integer weights (32 − a)(32 − b)…, taps outside the image read 0, the sum rounded to the
//   8-bit grid, then / 255. The host checks that out · in · 32 fits 32 bits.
// Grid: one invocation per output element (per 4 with `upsample4`, per part of one with
// `area_axis`), linearised over
// gid.x + gid.y · nwg.x · WG.
// Variants: MODE (0 nearest, 1 bilinear, 2 fixed-point bilinear), BITS (resize_pixels: 8 or 16), WG.

override MODE: u32 = 0u;
override BITS: u32 = 8u;
override WG: u32 = 64u;

struct UpsampleParams {
    h: u32, w: u32, oh: u32, ow: u32,
    numel: u32, coords: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(1) var<storage, read_write> y4: array<vec4<f32>>;
@group(0) @binding(2) var<uniform> p: UpsampleParams;

struct PixelParams {
    h: u32, w: u32, c: u32, oh: u32,
    ow: u32, seg_words: u32, coords: u32,
}

@group(0) @binding(0) var<storage, read> s0: array<u32>;
@group(0) @binding(1) var<storage, read> s1: array<u32>;
@group(0) @binding(2) var<storage, read> s2: array<u32>;
@group(0) @binding(3) var<storage, read> s3: array<u32>;
@group(0) @binding(4) var<storage, read_write> py: array<f32>;
@group(0) @binding(5) var<uniform> pp: PixelParams;

struct AreaParams {
    outer: u32, len: u32, inner: u32, olen: u32,
    parts: u32, part: u32,
}

@group(0) @binding(2) var<uniform> ap: AreaParams;

// Fractional weight and the two source indices of output position o.
fn source(o: u32, n_in: u32, n_out: u32, coords: u32) -> vec3<f32> {
    var s = 0.0;
    if (coords == 1u) {
        if (n_out > 1u) {
            s = f32(o) * f32(n_in - 1u) / f32(n_out - 1u);
        }
    } else if (coords == 2u) {
        s = f32(o) * f32(n_in) / f32(n_out);
    } else {
        s = max((f32(o) + 0.5) * f32(n_in) / f32(n_out) - 0.5, 0.0);
    }
    let i0 = min(u32(floor(s)), n_in - 1u);
    let i1 = min(i0 + 1u, n_in - 1u);
    return vec3<f32>(s - f32(i0), f32(i0), f32(i1));
}

// Source index of output position o for nearest resizing of n to out.
fn nearest(o: u32, n: u32, out: u32) -> u32 {
    return min((o * n) / out, n - 1u);
}

// The two source rows and columns of a bilinear output and their weights.
struct Taps {
    y0: u32, y1: u32, x0: u32, x1: u32, fy: f32, fx: f32,
}

// Taps of output (oy, ox) resizing (h, w) to (oh, ow).
fn taps(o: vec2<u32>, n: vec2<u32>, out: vec2<u32>, coords: u32) -> Taps {
    let sy = source(o.x, n.x, out.x, coords);
    let sx = source(o.y, n.y, out.y, coords);
    return Taps(u32(sy.y), u32(sy.z), u32(sx.y), u32(sx.z), sy.x, sx.x);
}

// The bilinear blend of the values at taps (y0, x0), (y0, x1), (y1, x0), (y1, x1).
fn blend(t: Taps, v00: f32, v01: f32, v10: f32, v11: f32) -> f32 {
    return mix(mix(v00, v01, t.fx), mix(v10, v11, t.fx), t.fy);
}

// Output (oy, ox) of the plane that starts at x[base].
fn upsampled(base: u32, oy: u32, ox: u32) -> f32 {
    if (MODE == 0u) {
        return x[base + nearest(oy, p.h, p.oh) * p.w + nearest(ox, p.w, p.ow)];
    }
    let t = taps(vec2<u32>(oy, ox), vec2<u32>(p.h, p.w), vec2<u32>(p.oh, p.ow), p.coords);
    let v00 = x[base + t.y0 * p.w + t.x0];
    let v01 = x[base + t.y0 * p.w + t.x1];
    let v10 = x[base + t.y1 * p.w + t.x0];
    return blend(t, v00, v01, v10, x[base + t.y1 * p.w + t.x1]);
}

// Plane base in x, output row and column of output element i.
fn output_at(i: u32) -> vec3<u32> {
    return vec3<u32>((i / (p.ow * p.oh)) * p.h * p.w, (i / p.ow) % p.oh, i % p.ow);
}

@compute @workgroup_size(WG)
fn upsample(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WG;
    if (i >= p.numel) {
        return;
    }
    let at = output_at(i);
    y[i] = upsampled(at.x, at.y, at.z);
}

@compute @workgroup_size(WG)
fn upsample4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WG;
    if (i >= p.numel) {
        return;
    }
    let at = output_at(4u * i);
    var v: vec4<f32>;
    for (var k = 0u; k < 4u; k++) {
        v[k] = upsampled(at.x, at.y, at.z + k);
    }
    y4[i] = v;
}

@compute @workgroup_size(WG)
fn area_axis(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = gid.x + gid.y * nwg.x * WG;
    if (t >= ap.outer * ap.olen * ap.parts * ap.inner) {
        return;
    }
    let i = t % ap.inner;
    let s = (t / ap.inner) % ap.parts;
    let j = (t / (ap.inner * ap.parts)) % ap.olen;
    let o = t / (ap.inner * ap.parts * ap.olen);
    let k0 = j * ap.len / ap.olen;
    let k1 = ((j + 1u) * ap.len + ap.olen - 1u) / ap.olen;
    let begin = k0 + s * ap.part;
    let end = min(k1, begin + ap.part);
    let line = o * ap.len * ap.inner + i;
    var sum = 0.0;
    for (var k = begin; k < end; k++) {
        sum += x[line + k * ap.inner];
    }
    y[t] = sum / f32(k1 - k0);
}

// Word q of the packed samples, from its segment.
fn pixel_word(q: u32) -> u32 {
    let s = q / pp.seg_words;
    let o = q - s * pp.seg_words;
    switch s {
        case 0u: { return s0[o]; }
        case 1u: { return s1[o]; }
        case 2u: { return s2[o]; }
        default: { return s3[o]; }
    }
}

// Sample `ch` of pixel (yy, xx) in [0, 1].
fn pixel(yy: u32, xx: u32, ch: u32) -> f32 {
    let e = (yy * pp.w + xx) * pp.c + ch;
    let per = 32u / BITS;
    let mask = (1u << BITS) - 1u;
    return f32((pixel_word(e / per) >> ((e % per) * BITS)) & mask) / f32(mask);
}

// Raw sample `ch` of pixel (yy, xx), 0 outside the image.
fn raw_sample(yy: u32, xx: u32, ch: u32) -> u32 {
    if (yy >= pp.h || xx >= pp.w) {
        return 0u;
    }
    let e = (yy * pp.w + xx) * pp.c + ch;
    let per = 32u / BITS;
    return (pixel_word(e / per) >> ((e % per) * BITS)) & ((1u << BITS) - 1u);
}

// round_half_even(32 · o · n / out) of output position o: (source index, 1/32 fraction).
fn fixed_source(o: u32, n: u32, out: u32) -> vec2<u32> {
    let num = 32u * o * n;
    var q = num / out;
    let r = num - q * out;
    if (2u * r > out || (2u * r == out && (q & 1u) == 1u)) {
        q += 1u;
    }
    return vec2<u32>(q >> 5u, q & 31u);
}

// The fixed-point bilinear sample `ch` at output (oy, ox), in [0, 1].
fn fixed_point_pixel(oy: u32, ox: u32, ch: u32) -> f32 {
    let sy = fixed_source(oy, pp.h, pp.oh);
    let sx = fixed_source(ox, pp.w, pp.ow);
    let y0 = sy.x;
    let ay = sy.y;
    let x0 = sx.x;
    let ax = sx.y;
    let sum = (32u - ax) * (32u - ay) * raw_sample(y0, x0, ch) + ax * (32u - ay) * raw_sample(y0, x0 + 1u, ch)
        + (32u - ax) * ay * raw_sample(y0 + 1u, x0, ch) + ax * ay * raw_sample(y0 + 1u, x0 + 1u, ch);
    return f32((32u * sum + 16384u) >> 15u) / 255.0;
}

@compute @workgroup_size(WG)
fn resize_pixels(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WG;
    if (i >= pp.c * pp.oh * pp.ow) {
        return;
    }
    let ox = i % pp.ow;
    let oy = (i / pp.ow) % pp.oh;
    let ch = i / (pp.ow * pp.oh);
    if (MODE == 0u) {
        py[i] = pixel(nearest(oy, pp.h, pp.oh), nearest(ox, pp.w, pp.ow), ch);
        return;
    }
    if (MODE == 2u) {
        py[i] = fixed_point_pixel(oy, ox, ch);
        return;
    }
    let t = taps(vec2<u32>(oy, ox), vec2<u32>(pp.h, pp.w), vec2<u32>(pp.oh, pp.ow), pp.coords);
    py[i] = blend(t, pixel(t.y0, t.x0, ch), pixel(t.y0, t.x1, ch), pixel(t.y1, t.x0, ch), pixel(t.y1, t.x1, ch));
}
