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
