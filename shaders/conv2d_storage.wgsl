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

// Element i of x, 0 before the start (past the end the bounds-checked load stays inside x).
fn x_or_zero(i: i32) -> f32 {
    return select(0.0, x_at(u32(max(i, 0))), i >= 0);
}

// The 8 elements of x from element 4·q on.
fn x_pair(q: i32) -> mat2x4<f32> {
    let i = 4 * q;
    return mat2x4<f32>(
        vec4<f32>(x_or_zero(i), x_or_zero(i + 1), x_or_zero(i + 2), x_or_zero(i + 3)),
        vec4<f32>(x_or_zero(i + 4), x_or_zero(i + 5), x_or_zero(i + 6), x_or_zero(i + 7)),
    );
}

// The 16 elements of x from element 4·q on.
fn x_window(q: i32) -> mat4x4<f32> {
    var m: mat4x4<f32>;
    for (var c = 0; c < 4; c++) {
        let i = 4 * (q + c);
        m[c] = vec4<f32>(x_or_zero(i), x_or_zero(i + 1), x_or_zero(i + 2), x_or_zero(i + 3));
    }
    return m;
}

// The 16 elements of w from element 4·q on (past the end the bounds-checked load stays inside w).
fn w_window(q: i32) -> mat4x4<f32> {
    var m: mat4x4<f32>;
    for (var c = 0u; c < 4u; c++) {
        let i = 4u * (u32(q) + c);
        m[c] = vec4<f32>(w_at(i), w_at(i + 1u), w_at(i + 2u), w_at(i + 3u));
    }
    return m;
}
