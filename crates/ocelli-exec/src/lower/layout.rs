//! Concat, slice, transpose (strided copies), gather and pad -> `shaders/layout.wgsl`.

use ocelli_graph::{PadMode, Shape};

use crate::dispatch::{bindings, check_rank, linear_groups, merge_dims, Dispatch, Params, Step};
use crate::lower::Io;
use crate::{ExecError, KernelFamily};

const WG: u32 = 256;

/// Copy of the `view`-shaped region: dst[dst_base + c·dst_strides] = src[src_base + c·src_strides].
fn strided_copy(io: &Io<'_>, input: usize, view: &Shape, src: (usize, &[usize]), dst: (usize, &[usize])) -> Step {
    let (mut dims, mut src_strides, mut dst_strides) = merge_dims(view.dims(), src.1, dst.1);
    let (mut numel, mut bases) = (view.numel(), [src.0, dst.0]);
    // In 4-word units where the innermost dimension is contiguous on both sides and every
    // other stride, the length and the bases keep units whole.
    let inner = dims.len().wrapping_sub(1);
    let units = dims.last().is_some_and(|n| n.is_multiple_of(4))
        && src_strides.last() == Some(&1)
        && dst_strides.last() == Some(&1)
        && src_strides[..inner].iter().chain(&dst_strides[..inner]).chain(&bases).all(|s| s.is_multiple_of(4));
    if units {
        dims[inner] /= 4;
        for s in src_strides[..inner].iter_mut().chain(&mut dst_strides[..inner]).chain(&mut bases) {
            *s /= 4;
        }
        numel /= 4;
    }
    let params = Params::default().dims8(&dims).dims8(&src_strides).dims8(&dst_strides).us(&[
        dims.len(),
        numel,
        bases[0],
        bases[1],
    ]);
    Step::Dispatch(Dispatch {
        family: KernelFamily::Layout,
        entry: if units { "strided_copy4" } else { "strided_copy" },
        constants: vec![("WG", f64::from(WG))],
        bindings: bindings![io.input(input), io.output(0)],
        params: params.0,
        groups: linear_groups(numel, WG),
    })
}

pub(crate) fn concat(io: &Io<'_>, axis: usize) -> Result<Vec<Step>, ExecError> {
    let out = io.out_shape(0);
    check_rank("concat", out)?;
    let out_strides = out.strides();
    let mut offset = 0;
    let mut steps = Vec::new();
    for i in 0..io.node.inputs.len() {
        let part = io.in_shape(i);
        steps.push(strided_copy(io, i, part, (0, &part.strides()), (offset * out_strides[axis], &out_strides)));
        offset += part.dims()[axis];
    }
    Ok(steps)
}

pub(crate) fn slice(io: &Io<'_>, axis: usize, start: usize, step: usize) -> Result<Vec<Step>, ExecError> {
    let out = io.out_shape(0);
    check_rank("slice", out)?;
    let mut src = io.in_shape(0).strides();
    let base = start * src[axis];
    // A step past the axis leaves one output entry, whose coordinate 0 never meets the stride;
    // otherwise step · stride stays within the input.
    src[axis] = if out.dims()[axis] == 1 { 0 } else { src[axis] * step };
    Ok(vec![strided_copy(io, 0, out, (base, &src), (0, &out.strides()))])
}

pub(crate) fn gather(io: &Io<'_>, axis: usize) -> Vec<Step> {
    let (outer, len, inner) = io.in_shape(0).split_at_axis(axis);
    let (count, numel) = (io.in_shape(1).numel(), io.out_shape(0).numel());
    vec![Step::Dispatch(Dispatch {
        family: KernelFamily::Layout,
        entry: "gather",
        constants: vec![("WG", f64::from(WG))],
        bindings: bindings![io.input(0), io.input(1), io.output(0)],
        params: Params::default().us(&[outer, len, inner, count, numel]).0,
        groups: linear_groups(numel, WG),
    })]
}

pub(crate) fn transpose(io: &Io<'_>, perm: &[usize]) -> Result<Vec<Step>, ExecError> {
    let out = io.out_shape(0);
    check_rank("transpose", out)?;
    let st = io.in_shape(0).strides();
    let src: Vec<usize> = perm.iter().map(|&p| st[p]).collect();
    Ok(vec![strided_copy(io, 0, out, (0, &src), (0, &out.strides()))])
}

pub(crate) fn pad(io: &Io<'_>, pads: &[(usize, usize)], mode: PadMode) -> Result<Vec<Step>, ExecError> {
    let (x, out) = (io.in_shape(0), io.out_shape(0));
    check_rank("pad", out)?;
    let (code, value) = match mode {
        PadMode::Constant(v) => (0.0, v),
        PadMode::Reflect => (1.0, 0.0),
        PadMode::Edge => (2.0, 0.0),
    };
    let before: Vec<usize> = pads.iter().map(|p| p.0).collect();
    let params = Params::default()
        .dims8(out.dims())
        .dims8(x.dims())
        .dims8(&x.strides())
        .dims8(&before)
        .us(&[out.rank(), out.numel()])
        .f(value);
    Ok(vec![Step::Dispatch(Dispatch {
        family: KernelFamily::Layout,
        entry: "pad",
        constants: vec![("MODE", code), ("WG", f64::from(WG))],
        bindings: bindings![io.input(0), io.output(0)],
        params: params.0,
        groups: linear_groups(out.numel(), WG),
    })])
}
