//! `Op::MatMul` (and its fused epilogue) -> `shaders/gemm.wgsl`.

use ocelli_graph::UnaryOp;

use crate::dispatch::{Dispatch, Params, Step};
use crate::lower::epilogue::act_constants;
use crate::lower::Io;
use crate::{ExecError, KernelFamily};

/// Workgroup shape; each invocation computes a 4×4 block, so a workgroup covers
/// (4·WG_Y) × (4·WG_X) of the output.
const WG_X: u32 = 8;
const WG_Y: u32 = 8;

/// `acts(op(a)·op(b) + bias + residual)`; `n_base` inputs belong to the matmul itself.
pub(crate) fn matmul(
    io: &Io<'_>,
    trans_a: bool,
    trans_b: bool,
    n_base: usize,
    acts: &[UnaryOp],
) -> Result<Vec<Step>, ExecError> {
    let (a, b, y) = (io.in_shape(0).dims(), io.in_shape(1).dims(), io.out_shape(0).dims());
    let (m, n) = (y[y.len() - 2], y[y.len() - 1]);
    let k = if trans_a { a[a.len() - 2] } else { a[a.len() - 1] };
    let batch: usize = y[..y.len() - 2].iter().product();
    if batch > 65_535 {
        return Err(ExecError::Unsupported { op: "matmul", why: format!("batch {batch} exceeds 65535") });
    }
    let batches = |d: &[usize]| d[..d.len() - 2].iter().product::<usize>();
    let a_stride = if batches(a) == 1 { 0 } else { m * k };
    let b_stride = if batches(b) == 1 { 0 } else { k * n };
    let has_bias = n_base == 3;
    let residual = io.node.inputs.len() > n_base;
    let bias = if has_bias { io.input(2) } else { io.input(0) };
    let res = if residual { io.input(n_base) } else { io.input(0) };
    let flag = |b: bool| f64::from(u8::from(b));
    let mut constants = vec![
        ("WG_X", f64::from(WG_X)),
        ("WG_Y", f64::from(WG_Y)),
        ("TRANS_A", flag(trans_a)),
        ("TRANS_B", flag(trans_b)),
        ("HAS_BIAS", flag(has_bias)),
        ("RESIDUAL", flag(residual)),
    ];
    constants.extend(act_constants(acts));
    Ok(vec![Step::Dispatch(Dispatch {
        family: KernelFamily::Gemm,
        entry: "gemm",
        constants,
        bindings: vec![io.input(0), io.input(1), bias, res, io.output(0)],
        params: Params::default().us(&[m, n, k, a_stride, b_stride]).0,
        groups: [n.div_ceil(4 * WG_X as usize) as u32, m.div_ceil(4 * WG_Y as usize) as u32, batch as u32],
    })])
}
