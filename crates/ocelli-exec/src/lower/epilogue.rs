//! The activation chain of `shaders/activation.wgsl`, as override constants. The op codes here
//! are the `switch` cases of `unary_op` in that file.

use ocelli_graph::UnaryOp;

/// Op code and the (a, b) parameters of one unary op.
fn code(op: UnaryOp) -> (u32, f32, f32) {
    match op {
        UnaryOp::Relu => (0, 0.0, 0.0),
        UnaryOp::Relu6 => (1, 0.0, 0.0),
        UnaryOp::LeakyRelu(a) => (2, a, 0.0),
        UnaryOp::Sigmoid => (3, 0.0, 0.0),
        UnaryOp::Tanh => (4, 0.0, 0.0),
        UnaryOp::Silu => (5, 0.0, 0.0),
        UnaryOp::Gelu => (6, 0.0, 0.0),
        UnaryOp::HardSwish => (7, 0.0, 0.0),
        UnaryOp::HardSigmoid => (8, 0.0, 0.0),
        UnaryOp::Exp => (9, 0.0, 0.0),
        UnaryOp::Log => (10, 0.0, 0.0),
        UnaryOp::Sqrt => (11, 0.0, 0.0),
        UnaryOp::Abs => (12, 0.0, 0.0),
        UnaryOp::Neg => (13, 0.0, 0.0),
        UnaryOp::Clamp { min, max } => (14, min, max),
        UnaryOp::Affine { scale, shift } => (15, scale, shift),
    }
}

const NAMES: [(&str, &str, &str); 4] = [
    ("ACT0", "ACT0_A", "ACT0_B"),
    ("ACT1", "ACT1_A", "ACT1_B"),
    ("ACT2", "ACT2_A", "ACT2_B"),
    ("ACT3", "ACT3_A", "ACT3_B"),
];

/// Override constants selecting `acts` (at most four; the fusion pass guarantees it).
pub(crate) fn act_constants(acts: &[UnaryOp]) -> Vec<(&'static str, f64)> {
    assert!(acts.len() <= NAMES.len(), "at most {} fused activations", NAMES.len());
    let mut out = Vec::new();
    for (i, &(op, a, b)) in NAMES.iter().enumerate() {
        let (c, pa, pb) = acts.get(i).map_or((255, 0.0, 0.0), |&u| code(u));
        out.extend([(op, f64::from(c)), (a, f64::from(pa)), (b, f64::from(pb))]);
    }
    out
}
