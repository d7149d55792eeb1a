// Convolution input x and weights w as storage buffers (see conv2d.wgsl): the binding file for
// GPUs.

@group(0) @binding(0) var<storage, read> x: array<elem>;
@group(0) @binding(1) var<storage, read> w: array<elem>;

// Element i of x.
fn x_at(i: u32) -> f32 {
    return f32(x[i]);
}

// Element i of w.
fn w_at(i: u32) -> f32 {
    return f32(w[i]);
}
