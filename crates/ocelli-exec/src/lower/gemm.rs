//! `Op::MatMul` -> `shaders/gemm.wgsl`.

use crate::dispatch::{Dispatch, Params, Step};
use crate::lower::Io;
use crate::{ExecError, KernelFamily};

/// Workgroup shape; each invocation computes a 4×4 block, so a workgroup covers 32×32.
const WG_X: u32 = 8;
const WG_Y: u32 = 8;

pub(crate) fn matmul(io: &Io<'_>, trans_a: bool, trans_b: bool) -> Result<Vec<Step>, ExecError> {
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
    let has_bias = io.node.inputs.len() == 3;
    let bias = if has_bias { io.input(2) } else { io.input(0) };
    Ok(vec![Step::Dispatch(Dispatch {
        family: KernelFamily::Gemm,
        entry: "gemm",
        constants: vec![
            ("WG_X", f64::from(WG_X)),
            ("WG_Y", f64::from(WG_Y)),
            ("TRANS_A", f64::from(u8::from(trans_a))),
            ("TRANS_B", f64::from(u8::from(trans_b))),
            ("HAS_BIAS", f64::from(u8::from(has_bias))),
        ],
        bindings: vec![io.input(0), io.input(1), bias, io.output(0)],
        params: Params::default().us(&[m, n, k, a_stride, b_stride]).0,
        groups: [n.div_ceil(4 * WG_X as usize) as u32, m.div_ceil(4 * WG_Y as usize) as u32, batch as u32],
    })])
}
