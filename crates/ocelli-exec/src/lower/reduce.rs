//! Softmax and reductions -> `shaders/softmax.wgsl`, `shaders/reduce.wgsl`.

use ocelli_graph::ReduceOp;

use crate::dispatch::{bindings, linear_groups, Dispatch, Params, Step};
use crate::lower::Io;
use crate::KernelFamily;

const WG: u32 = 64;

fn lines(
    family: KernelFamily,
    entry: &'static str,
    constants: Vec<(&'static str, f64)>,
    io: &Io<'_>,
    view: (usize, usize, usize),
) -> Vec<Step> {
    let (outer, len, inner) = view;
    let mut constants = constants;
    constants.push(("WG", f64::from(WG)));
    vec![Step::Dispatch(Dispatch {
        family,
        entry,
        constants,
        bindings: bindings![io.input(0), io.output(0)],
        params: Params::default().us(&[outer, len, inner]).0,
        groups: linear_groups(outer * inner, WG),
    })]
}

pub(crate) fn softmax(io: &Io<'_>, axis: usize, log: bool) -> Vec<Step> {
    let view = io.in_shape(0).split_at_axis(axis);
    lines(KernelFamily::Softmax, "softmax", vec![("LOG", f64::from(u8::from(log)))], io, view)
}

pub(crate) fn reduce(io: &Io<'_>, op: ReduceOp, axis: usize) -> Vec<Step> {
    let code = match op {
        ReduceOp::Sum => 0.0,
        ReduceOp::Mean => 1.0,
        ReduceOp::Max => 2.0,
    };
    lines(KernelFamily::Reduce, "reduce", vec![("OP", code)], io, io.in_shape(0).split_at_axis(axis))
}

pub(crate) fn argmax(io: &Io<'_>, axis: usize) -> Vec<Step> {
    lines(KernelFamily::Reduce, "argmax", vec![], io, io.in_shape(0).split_at_axis(axis))
}

/// Mean over H·W of each of the N·C planes.
pub(crate) fn global_avg_pool(io: &Io<'_>) -> Vec<Step> {
    let d = io.in_shape(0).dims();
    lines(KernelFamily::Reduce, "reduce", vec![("OP", 1.0)], io, (d[0] * d[1], d[2] * d[3], 1))
}

/// Top-k along the last axis: one invocation per row.
pub(crate) fn top_k(io: &Io<'_>, k: usize, largest: bool) -> Vec<Step> {
    let x = io.in_shape(0).dims();
    let len = *x.last().expect("rank >= 1");
    let rows = io.in_shape(0).numel() / len;
    vec![Step::Dispatch(Dispatch {
        family: KernelFamily::TopK,
        entry: "top_k",
        constants: vec![("LARGEST", f64::from(u8::from(largest))), ("WG", f64::from(WG))],
        bindings: bindings![io.input(0), io.output(0), io.output(1)],
        params: Params::default().us(&[rows, len, k]).0,
        groups: linear_groups(rows, WG),
    })]
}
