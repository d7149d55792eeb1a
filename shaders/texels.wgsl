// Operands read through textures (texels.rs): the plan copies a buffer into an rgba32float (f32)
// or rgba16float (f16) texture right before the dispatch, row after row of TEXELS_PER_ROW texels,
// so vec4 q of the buffer sits at texel (q % TEXELS_PER_ROW, q / TEXELS_PER_ROW). CPU drivers
// read a texel far faster than a storage buffer: lavapipe about 1.3 ns per lane, against 13 ns
// for a vec4 from a storage buffer (a per-lane loop with a bounds check each).

// Texels per texture row (texels.rs: TEXELS_PER_ROW).
const TEXELS_PER_ROW: u32 = 1024u;

// Vec4 q of the buffer copied into t.
fn texel_at(t: texture_2d<f32>, q: u32) -> vec4<f32> {
    return textureLoad(t, vec2<u32>(q % TEXELS_PER_ROW, q / TEXELS_PER_ROW), 0);
}
