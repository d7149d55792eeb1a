// Activation chain shared by elementwise, gemm and conv2d: this file is prepended to their
// source (see ocelli-exec's kernels.rs), so an epilogue is override constants, not a copy.
//
// `activate(x)` applies up to four unary ops in order: ACT0..ACT3 are op codes (255 = none; codes
// match ocelli-exec's elementwise.rs), ACTi_A / ACTi_B their scalar parameters (leaky slope,
// clamp bounds, affine scale and shift).

override ACT0: u32 = 255u;
override ACT1: u32 = 255u;
override ACT2: u32 = 255u;
override ACT3: u32 = 255u;
override ACT0_A: f32 = 0.0;
override ACT0_B: f32 = 0.0;
override ACT1_A: f32 = 0.0;
override ACT1_B: f32 = 0.0;
override ACT2_A: f32 = 0.0;
override ACT2_B: f32 = 0.0;
override ACT3_A: f32 = 0.0;
override ACT3_B: f32 = 0.0;

// erf by Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7).
fn erf_approx(x: f32) -> f32 {
    let t = 1.0 / (1.0 + 0.3275911 * abs(x));
    let poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
    let r = 1.0 - poly * exp(-x * x);
    return select(-r, r, x >= 0.0);
}

fn sigmoid(x: f32) -> f32 {
    return 1.0 / (1.0 + exp(-x));
}

fn unary_op(code: u32, x: f32, a: f32, b: f32) -> f32 {
    switch code {
        case 0u: { return max(x, 0.0); }
        case 1u: { return clamp(x, 0.0, 6.0); }
        case 2u: { return select(x * a, x, x > 0.0); }
        case 3u: { return sigmoid(x); }
        case 4u: { return tanh(x); }
        case 5u: { return x * sigmoid(x); }
        case 6u: { return 0.5 * x * (1.0 + erf_approx(x * 0.70710678118654752)); }
        case 7u: { return x * clamp(x + 3.0, 0.0, 6.0) / 6.0; }
        case 8u: { return clamp(x + 3.0, 0.0, 6.0) / 6.0; }
        case 9u: { return exp(x); }
        case 10u: { return log(x); }
        case 11u: { return sqrt(x); }
        case 12u: { return abs(x); }
        case 13u: { return -x; }
        case 14u: { return min(max(x, a), b); }
        case 15u: { return x * a + b; }
        default: { return x; }
    }
}

fn activate(x: f32) -> f32 {
    var v = x;
    if (ACT0 != 255u) { v = unary_op(ACT0, v, ACT0_A, ACT0_B); }
    if (ACT1 != 255u) { v = unary_op(ACT1, v, ACT1_A, ACT1_B); }
    if (ACT2 != 255u) { v = unary_op(ACT2, v, ACT2_A, ACT2_B); }
    if (ACT3 != 255u) { v = unary_op(ACT3, v, ACT3_A, ACT3_B); }
    return v;
}
