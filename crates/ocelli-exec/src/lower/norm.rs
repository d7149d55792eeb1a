//! Batch, group and layer norm -> `shaders/norm.wgsl` (group and layer norm after the row
//! statistics of `shaders/reduce.wgsl`).

use crate::dispatch::{bindings, linear_groups, Dispatch, Params, Step};
use crate::lower::reduce::{fold, FoldOp};
use crate::lower::Io;
use crate::KernelFamily;

const WG: u32 = 64;

pub(crate) fn batch_norm(io: &Io<'_>, eps: f32) -> Vec<Step> {
    let x = io.in_shape(0);
    let (_, channels, inner) = x.split_at_axis(1);
    let bindings = io.node.inputs.iter().chain([&io.output(0)]).map(|&v| v.into()).collect();
    vec![Step::Dispatch(Dispatch {
        family: KernelFamily::Norm,
        entry: "batch_norm",
        constants: vec![("WG", f64::from(WG))],
        bindings,
        params: Params::default().us(&[x.numel(), channels, inner]).f(eps).0,
        groups: linear_groups(x.numel(), WG),
    })]
}

/// `rows` rows of `len`; affine index ((row % affine_rows)·len + i) / affine_div.
fn rows(
    io: &Io<'_>,
    (rows, len): (usize, usize),
    (affine_rows, affine_div): (usize, usize),
    eps: f32,
    scratch: &mut Vec<u64>,
) -> Vec<Step> {
    let (mut steps, stats) = fold(io.input(0).into(), (rows, len, 1), FoldOp::Moments, None, io.tuning, scratch);
    let mut b = bindings![io.input(0), io.input(1), io.input(2)];
    b.extend([stats, io.output(0).into()]);
    steps.push(Step::Dispatch(Dispatch {
        family: KernelFamily::Norm,
        entry: "norm_apply",
        constants: vec![("WG", f64::from(WG))],
        bindings: b,
        params: Params::default().us(&[rows, len, affine_rows, affine_div]).f(eps).0,
        groups: linear_groups(rows * len, WG),
    }));
    steps
}

pub(crate) fn group_norm(io: &Io<'_>, groups: usize, eps: f32, scratch: &mut Vec<u64>) -> Vec<Step> {
    let (n, c, spatial) = io.in_shape(0).split_at_axis(1);
    rows(io, (n * groups, c / groups * spatial), (groups, spatial), eps, scratch)
}

pub(crate) fn layer_norm(io: &Io<'_>, axis: usize, eps: f32, scratch: &mut Vec<u64>) -> Vec<Step> {
    let d = io.in_shape(0).dims();
    let len: usize = d[axis..].iter().product();
    let count: usize = d[..axis].iter().product();
    rows(io, (count, len), (1, 1), eps, scratch)
}
