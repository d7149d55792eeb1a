//! `Op::Binary`, `Op::Unary` and their fused unary tails -> `shaders/elementwise.wgsl`. The
//! binary op codes below are the `OP` override constant of that file.

use ocelli_graph::{BinaryOp, UnaryOp};

use crate::dispatch::{bindings, check_rank, linear_groups, merge_dims, Dispatch, Params, Step};
use crate::lower::epilogue::act_constants;
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
        BinaryOp::Greater => 8,
    }
}

/// `acts(a op b)` with broadcasting; 4 elements per invocation (`binary4`) where the
/// innermost merged dimension allows it.
pub(crate) fn binary(io: &Io<'_>, op: BinaryOp, acts: &[UnaryOp]) -> Result<Vec<Step>, ExecError> {
    let out = io.out_shape(0);
    check_rank("binary", out)?;
    let (mut dims, mut a, mut b) =
        merge_dims(out.dims(), &io.in_shape(0).broadcast_strides(out), &io.in_shape(1).broadcast_strides(out));
    let mut numel = out.numel();
    // Each operand steps through the innermost dimension in aligned groups of 4 or broadcasts
    // along it (one element per group), and fills its binding read as vectors.
    let inner = dims.len().wrapping_sub(1);
    let whole = |s: &[usize], operand: usize| {
        let steps = s.last() == Some(&1) && s[..inner].iter().all(|x| x.is_multiple_of(4));
        (steps || s.last() == Some(&0)) && io.in_shape(operand).numel().is_multiple_of(4)
    };
    let by_four = dims.last().is_some_and(|n| n.is_multiple_of(4)) && whole(&a, 0) && whole(&b, 1);
    if by_four {
        dims[inner] /= 4;
        a[inner] *= 4;
        b[inner] *= 4;
        numel /= 4;
    }
    let params = Params::default().dims8(&dims).dims8(&a).dims8(&b).us(&[dims.len(), numel]);
    let mut constants = vec![("OP", f64::from(binary_code(op))), ("WG", f64::from(WG))];
    constants.extend(act_constants(acts));
    Ok(vec![Step::Dispatch(Dispatch {
        family: KernelFamily::Elementwise,
        entry: if by_four { "binary4" } else { "binary" },
        constants,
        bindings: bindings![io.input(0), io.input(1), io.output(0)],
        params: params.0,
        groups: linear_groups(numel, WG),
    })])
}

/// A chain of unary ops (one or more) in one pass.
pub(crate) fn unary(io: &Io<'_>, acts: &[UnaryOp]) -> Vec<Step> {
    let numel = io.out_shape(0).numel();
    let mut constants = vec![("WG", f64::from(WG))];
    constants.extend(act_constants(acts));
    vec![Step::Dispatch(Dispatch {
        family: KernelFamily::Elementwise,
        entry: "unary",
        constants,
        bindings: bindings![io.input(0), io.output(0)],
        params: Params::default().u(numel).0,
        groups: linear_groups(numel, WG),
    })]
}
