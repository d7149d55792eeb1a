//! `Op::Binary`, `Op::Unary` and their fused unary tails -> `shaders/elementwise.wgsl`. The
//! binary op codes below are the `OP` override constant of that file.

use ocelli_graph::{BinaryOp, UnaryOp};

use crate::dispatch::{bindings, check_rank, linear_groups, Dispatch, Params, Step};
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

/// `acts(a op b)` with broadcasting.
pub(crate) fn binary(io: &Io<'_>, op: BinaryOp, acts: &[UnaryOp]) -> Result<Vec<Step>, ExecError> {
    let out = io.out_shape(0);
    check_rank("binary", out)?;
    let (dims, a, b) =
        collapse(out.dims(), &io.in_shape(0).broadcast_strides(out), &io.in_shape(1).broadcast_strides(out));
    let params = Params::default().dims8(&dims).dims8(&a).dims8(&b).us(&[dims.len(), out.numel()]);
    let mut constants = vec![("OP", f64::from(binary_code(op))), ("WG", f64::from(WG))];
    constants.extend(act_constants(acts));
    Ok(vec![Step::Dispatch(Dispatch {
        family: KernelFamily::Elementwise,
        entry: "binary",
        constants,
        bindings: bindings![io.input(0), io.input(1), io.output(0)],
        params: params.0,
        groups: linear_groups(out.numel(), WG),
    })])
}

/// The output dimensions and both operands' strides with size-1 dimensions dropped and
/// neighbours merged where both operands step through them as through one (an image plus a
/// per-channel [N, C, 1, 1] term becomes [N·C, H·W]): the kernel pays two integer divisions per
/// dimension and element, a scalar loop per lane on CPU drivers.
fn collapse(dims: &[usize], a: &[usize], b: &[usize]) -> (Vec<usize>, Vec<usize>, Vec<usize>) {
    let (mut d, mut sa, mut sb): (Vec<usize>, Vec<usize>, Vec<usize>) = (Vec::new(), Vec::new(), Vec::new());
    for i in (0..dims.len()).filter(|&i| dims[i] != 1) {
        let n = dims[i];
        match (d.last_mut(), sa.last_mut(), sb.last_mut()) {
            // The outer dimension steps over exactly this one in both operands: one dimension,
            // stepping by this one's strides.
            (Some(outer), Some(x), Some(y)) if *x == a[i] * n && *y == b[i] * n => {
                (*outer, *x, *y) = (*outer * n, a[i], b[i]);
            }
            _ => {
                d.push(n);
                sa.push(a[i]);
                sb.push(b[i]);
            }
        }
    }
    (d, sa, sb)
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

#[cfg(test)]
mod tests {
    use super::collapse;

    #[test]
    fn broadcast_dimensions_merge_where_both_operands_step_through_them_as_one() {
        // An image plus a per-channel term: [N·C, H·W].
        assert_eq!(
            collapse(&[128, 32, 28, 28], &[25088, 784, 28, 1], &[32, 1, 0, 0]),
            (vec![4096, 784], vec![784, 1], vec![1, 0])
        );
        // Same shapes: one run; size-1 dimensions go.
        assert_eq!(collapse(&[2, 1, 3, 5], &[15, 15, 5, 1], &[15, 15, 5, 1]), (vec![30], vec![1], vec![1]));
        // A row vector against a column: nothing merges.
        assert_eq!(collapse(&[4, 7], &[1, 0], &[0, 1]), (vec![4, 7], vec![1, 0], vec![0, 1]));
        // Broadcast in the middle: [A, B, C] + [A, 1, C] keeps three dimensions.
        assert_eq!(collapse(&[2, 3, 5], &[15, 5, 1], &[5, 0, 1]), (vec![2, 3, 5], vec![15, 5, 1], vec![5, 0, 1]));
        // All ones: a scalar.
        assert_eq!(collapse(&[1, 1], &[1, 1], &[1, 1]), (vec![], vec![], vec![]));
    }
}
