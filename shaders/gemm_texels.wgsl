// GEMM operands a and b as textures (see gemm.wgsl and texels.wgsl): the binding file for CPU
// drivers.

@group(0) @binding(0) var a: texture_2d<f32>;
@group(0) @binding(1) var b: texture_2d<f32>;

// The q-th vec4 of a.
fn a_vec4(q: u32) -> vec4<f32> {
    return texel_at(a, q);
}

// The q-th vec4 of b.
fn b_vec4(q: u32) -> vec4<f32> {
    return texel_at(b, q);
}
