// GEMM operands a and b as storage buffers (see gemm.wgsl): the binding file for GPUs.

@group(0) @binding(0) var<storage, read> a: array<vec4<elem>>;
@group(0) @binding(1) var<storage, read> b: array<vec4<elem>>;

// The q-th vec4 of a.
fn a_vec4(q: u32) -> vec4<f32> {
    return vec4<f32>(a[q]);
}

// The q-th vec4 of b.
fn b_vec4(q: u32) -> vec4<f32> {
    return vec4<f32>(b[q]);
}
