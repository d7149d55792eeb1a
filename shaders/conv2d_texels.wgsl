// Convolution input x and weights w as textures (see conv2d.wgsl and texels.wgsl): the binding
// file for CPU drivers.

@group(0) @binding(0) var x: texture_2d<f32>;
@group(0) @binding(1) var w: texture_2d<f32>;

// Element i of x.
fn x_at(i: u32) -> f32 {
    return texel_at(x, i >> 2u)[i & 3u];
}

// Element i of w.
fn w_at(i: u32) -> f32 {
    return texel_at(w, i >> 2u)[i & 3u];
}

// The 8 elements of x from element 4·q on (as x_window).
fn x_pair(q: i32) -> mat2x4<f32> {
    let t = u32(q);
    return mat2x4<f32>(texel_at(x, t), texel_at(x, t + 1u));
}

// The 16 elements of x from element 4·q on (4 texels; texels outside x read as indeterminate
// values, which callers mask).
fn x_window(q: i32) -> mat4x4<f32> {
    let t = u32(q);
    return mat4x4<f32>(texel_at(x, t), texel_at(x, t + 1u), texel_at(x, t + 2u), texel_at(x, t + 3u));
}

// The 16 elements of w from element 4·q on.
fn w_window(q: i32) -> mat4x4<f32> {
    let t = u32(q);
    return mat4x4<f32>(texel_at(w, t), texel_at(w, t + 1u), texel_at(w, t + 2u), texel_at(w, t + 3u));
}
