//! `Op::RandomNormal` -> `shaders/random.wgsl`.

use crate::dispatch::{bindings, linear_groups, Dispatch, Params, Step};
use crate::lower::Io;
use crate::{ExecError, KernelFamily};

const WG: u32 = 64;

/// One invocation per block of four samples.
pub(crate) fn normals(io: &Io<'_>) -> Result<Vec<Step>, ExecError> {
    let numel = io.out_shape(0).numel();
    if numel > u32::MAX as usize {
        return Err(ExecError::Unsupported {
            op: "random_normal",
            why: format!("{numel} samples pass the kernel's 32-bit element index"),
        });
    }
    Ok(vec![Step::Dispatch(Dispatch {
        family: KernelFamily::Random,
        entry: "random_normal",
        constants: vec![("WG", f64::from(WG))],
        bindings: bindings![io.input(0), io.output(0)],
        params: Params::default().u(numel).0,
        groups: linear_groups(numel.div_ceil(4), WG),
    })])
}
