//! Batch, group and layer norm -> `shaders/norm.wgsl` (group and layer norm after the row
//! statistics of `shaders/reduce.wgsl`).

use ocelli_graph::UnaryOp;

use crate::dispatch::{bindings, linear_groups, Dispatch, Params, Step};
use crate::lower::epilogue::act_constants;
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

/// Elements one `norm_apply` invocation walks: enough invocations to spread small rows over
/// every lane, few enough that its divisions and statistics are paid once per many elements.
const SEGMENT: usize = 256;

/// `rows` rows of `len`; affine index ((row % affine_rows)·len + i) / affine_div; then `acts`.
fn rows(
    io: &Io<'_>,
    (rows, len): (usize, usize),
    (affine_rows, affine_div): (usize, usize),
    eps: f32,
    acts: &[UnaryOp],
    scratch: &mut Vec<u64>,
) -> Vec<Step> {
    let (mut steps, stats) = fold(io.input(0).into(), (rows, len, 1), FoldOp::Moments, None, io.tuning, scratch);
    let mut b = bindings![io.input(0), io.input(1), io.input(2)];
    b.extend([stats, io.output(0).into()]);
    // In groups of 4 elements where each lies in one row and one affine entry.
    let by_four = len.is_multiple_of(4) && affine_div.is_multiple_of(4);
    let unit = if by_four { 4 } else { 1 };
    let (len, affine_div) = (len / unit, affine_div / unit);
    let seg = len.min(SEGMENT / unit).min(io.tuning.loop_chunk).max(1);
    let segs = len.div_ceil(seg);
    let mut constants = vec![("WG", f64::from(WG))];
    constants.extend(act_constants(acts));
    steps.push(Step::Dispatch(Dispatch {
        family: KernelFamily::Norm,
        entry: if by_four { "norm_apply4" } else { "norm_apply" },
        constants,
        bindings: b,
        params: Params::default().us(&[rows, len, affine_rows, affine_div, segs, seg]).f(eps).0,
        groups: linear_groups(rows * segs, WG),
    }));
    steps
}

/// Group norm, then the fused activations `acts`.
pub(crate) fn group_norm(io: &Io<'_>, groups: usize, eps: f32, acts: &[UnaryOp], scratch: &mut Vec<u64>) -> Vec<Step> {
    let (n, c, spatial) = io.in_shape(0).split_at_axis(1);
    rows(io, (n * groups, c / groups * spatial), (groups, spatial), eps, acts, scratch)
}

/// Layer norm over the axes from `axis` on, then the fused activations `acts`.
pub(crate) fn layer_norm(io: &Io<'_>, axis: usize, eps: f32, acts: &[UnaryOp], scratch: &mut Vec<u64>) -> Vec<Step> {
    let d = io.in_shape(0).dims();
    let len: usize = d[axis..].iter().product();
    let count: usize = d[..axis].iter().product();
    rows(io, (count, len), (1, 1), eps, acts, scratch)
}
