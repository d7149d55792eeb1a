// Elementwise ops.
//
// `binary`: y[i] = op(a[ia], b[ib]) with NumPy broadcasting. The output index is split into
//   coordinates of `out_shape`; `a_strides` / `b_strides` are 0 on broadcast dimensions.
//   Bindings: a, b (read), y (write), BinaryParams. Rank <= 8.
// `unary`: y[i] = op(x[i]) with scalar parameters alpha, beta (leaky slope, clamp bounds).
//   Bindings: x (read), y (write), UnaryParams.
// Grid: one invocation per output element; the linear index is gid.x + gid.y * nwg.x * WG so
// dispatches past 65535 workgroups wrap into y.
// Variants: override OP selects the operation (codes match ocelli-exec's elementwise.rs); WG is
// the workgroup size.

override OP: u32 = 0u;
override WG: u32 = 256u;

struct BinaryParams {
    out_shape: array<vec4<u32>, 2>,
    a_strides: array<vec4<u32>, 2>,
    b_strides: array<vec4<u32>, 2>,
    rank: u32,
    numel: u32,
}

struct UnaryParams {
    numel: u32,
    alpha: f32,
    beta: f32,
}

@group(0) @binding(0) var<storage, read> bin_a: array<f32>;
@group(0) @binding(1) var<storage, read> bin_b: array<f32>;
@group(0) @binding(2) var<storage, read_write> bin_y: array<f32>;
@group(0) @binding(3) var<uniform> bp: BinaryParams;

@group(0) @binding(0) var<storage, read> un_x: array<f32>;
@group(0) @binding(1) var<storage, read_write> un_y: array<f32>;
@group(0) @binding(2) var<uniform> up: UnaryParams;


// Special values from bit patterns; the runtime operand keeps them out of constant folding,
// where WGSL rejects non-finite results.
fn special(bits: u32, x: f32) -> f32 {
    return bitcast<f32>(bits | (bitcast<u32>(x) & 0u));
}

// Real power: negative bases with integral exponents keep their sign, as in C's pow.
fn pow_real(a: f32, b: f32) -> f32 {
    if (b == 0.0) {
        return 1.0;
    }
    if (a == 0.0) {
        return select(special(0x7f800000u, a), 0.0, b > 0.0);
    }
    let m = pow(abs(a), b);
    if (a > 0.0) {
        return m;
    }
    if (fract(b) != 0.0) {
        return special(0x7fc00000u, a);
    }
    return select(m, -m, abs(b) % 2.0 == 1.0);
}

fn binary_op(a: f32, b: f32) -> f32 {
    switch OP {
        case 0u: { return a + b; }
        case 1u: { return a - b; }
        case 2u: { return a * b; }
        case 3u: { return a / b; }
        case 4u: { return max(a, b); }
        case 5u: { return min(a, b); }
        case 6u: { return pow_real(a, b); }
        default: { return select(a * b, a, a > 0.0); }
    }
}

// erf by Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7).
fn erf(x: f32) -> f32 {
    let t = 1.0 / (1.0 + 0.3275911 * abs(x));
    let poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
    let r = 1.0 - poly * exp(-x * x);
    return select(-r, r, x >= 0.0);
}

fn sigmoid(x: f32) -> f32 {
    return 1.0 / (1.0 + exp(-x));
}

fn unary_op(x: f32) -> f32 {
    switch OP {
        case 0u: { return max(x, 0.0); }
        case 1u: { return clamp(x, 0.0, 6.0); }
        case 2u: { return select(x * up.alpha, x, x > 0.0); }
        case 3u: { return sigmoid(x); }
        case 4u: { return tanh(x); }
        case 5u: { return x * sigmoid(x); }
        case 6u: { return 0.5 * x * (1.0 + erf(x * 0.70710678118654752)); }
        case 7u: { return x * clamp(x + 3.0, 0.0, 6.0) / 6.0; }
        case 8u: { return clamp(x + 3.0, 0.0, 6.0) / 6.0; }
        case 9u: { return exp(x); }
        case 10u: { return log(x); }
        case 11u: { return sqrt(x); }
        case 12u: { return abs(x); }
        case 13u: { return -x; }
        default: { return min(max(x, up.alpha), up.beta); }
    }
}

@compute @workgroup_size(WG)
fn binary(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WG;
    if (i >= bp.numel) {
        return;
    }
    var rem = i;
    var ia = 0u;
    var ib = 0u;
    for (var d = i32(bp.rank) - 1; d >= 0; d--) {
        let q = u32(d) / 4u;
        let r = u32(d) % 4u;
        let n = bp.out_shape[q][r];
        let c = rem % n;
        rem = rem / n;
        ia += c * bp.a_strides[q][r];
        ib += c * bp.b_strides[q][r];
    }
    bin_y[i] = binary_op(bin_a[ia], bin_b[ib]);
}

@compute @workgroup_size(WG)
fn unary(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WG;
    if (i >= up.numel) {
        return;
    }
    un_y[i] = unary_op(un_x[i]);
}
