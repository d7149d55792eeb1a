//! `Op::Binary`, `Op::Unary` -> `shaders/elementwise.wgsl`. The op codes below are the `OP`
//! override constant of that file.

use ocelli_graph::{BinaryOp, UnaryOp};

use crate::dispatch::{check_rank, linear_groups, Dispatch, Params, Step};
use crate::lower::Io;
use crate::{ExecError, KernelFamily};

const WG: u32 = 256;

fn binary_code(op: BinaryOp) -> u32 {
    match op {
        BinaryOp::Add => 0,
        BinaryOp::Sub => 1,
        BinaryOp::Mul => 2,
        BinaryOp::Div => 3,
        BinaryOp::Max => 4,
        BinaryOp::Min => 5,
        BinaryOp::Pow => 6,
        BinaryOp::PRelu => 7,
    }
}

/// Op code and the (alpha, beta) parameters.
fn unary_code(op: UnaryOp) -> (u32, f32, f32) {
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
    }
}

pub(crate) fn binary(io: &Io<'_>, op: BinaryOp) -> Result<Vec<Step>, ExecError> {
    let out = io.out_shape(0);
    check_rank("binary", out)?;
    let params = Params::default()
        .dims8(out.dims())
        .dims8(&io.in_shape(0).broadcast_strides(out))
        .dims8(&io.in_shape(1).broadcast_strides(out))
        .us(&[out.rank(), out.numel()]);
    Ok(vec![Step::Dispatch(Dispatch {
        family: KernelFamily::Elementwise,
        entry: "binary",
        constants: vec![("OP", f64::from(binary_code(op))), ("WG", f64::from(WG))],
        bindings: vec![io.input(0), io.input(1), io.output(0)],
        params: params.0,
        groups: linear_groups(out.numel(), WG),
    })])
}

pub(crate) fn unary(io: &Io<'_>, op: UnaryOp) -> Vec<Step> {
    let numel = io.out_shape(0).numel();
    let (code, alpha, beta) = unary_code(op);
    vec![Step::Dispatch(Dispatch {
        family: KernelFamily::Elementwise,
        entry: "unary",
        constants: vec![("OP", f64::from(code)), ("WG", f64::from(WG))],
        bindings: vec![io.input(0), io.output(0)],
        params: Params::default().u(numel).f(alpha).f(beta).0,
        groups: linear_groups(numel, WG),
    })]
}
