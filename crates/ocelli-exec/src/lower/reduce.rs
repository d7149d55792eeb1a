//! Reductions, softmax and top-k -> `shaders/reduce.wgsl`, `shaders/softmax.wgsl`,
//! `shaders/topk.wgsl`. Every kernel here folds at most [`Tuning::loop_chunk`] entries per
//! invocation and runs in as many passes as the axis needs (see reduce.wgsl).

use ocelli_graph::ReduceOp;

use crate::dispatch::{linear_groups, Binding, Dispatch, Params, Step};
use crate::lower::Io;
use crate::topk_source::{bucket, entry_name};
use crate::tuning::Tuning;
use crate::KernelFamily;

const WG: u32 = 64;

/// What reduce.wgsl's fold computes over each line (its `OP`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FoldOp {
    Sum = 0,
    Mean = 1,
    Max = 2,
    ArgMax = 3,
    /// Running max and sum of exponentials, for softmax.
    Softmax = 4,
    /// Count, mean and M2, for layer and group norm.
    Moments = 5,
}

/// Bytes of one fold record (4 words).
const RECORD_BYTES: usize = 16;

/// Passes of reduce.wgsl's fold over the lines of `x` viewed as `(outer, len, inner)`. With
/// `result`, the last pass writes the op's result there (one value per line); without, it
/// writes one record per line into a new scratch buffer. Returns the steps and where the last
/// pass wrote. Intermediate records alternate between two scratch buffers.
pub(crate) fn fold(
    x: Binding,
    view: (usize, usize, usize),
    op: FoldOp,
    result: Option<Binding>,
    tuning: Tuning,
    scratch: &mut Vec<u64>,
) -> (Vec<Step>, Binding) {
    fold_from(x, true, view, op, result, tuning, scratch)
}

/// [`fold`] over records a kernel wrote (reduce.wgsl's record layout) instead of f32 entries.
pub(crate) fn fold_records(
    records: Binding,
    view: (usize, usize, usize),
    op: FoldOp,
    result: Option<Binding>,
    tuning: Tuning,
    scratch: &mut Vec<u64>,
) -> Vec<Step> {
    fold_from(records, false, view, op, result, tuning, scratch).0
}

fn fold_from(
    x: Binding,
    first: bool,
    (outer, len, inner): (usize, usize, usize),
    op: FoldOp,
    result: Option<Binding>,
    tuning: Tuning,
    scratch: &mut Vec<u64>,
) -> (Vec<Step>, Binding) {
    let lines = outer * inner;
    let chunk = tuning.loop_chunk;
    let mut steps = Vec::new();
    let mut slots: [Option<usize>; 2] = [None, None];
    let (mut src, mut n, mut first) = (x, len, first);
    for pass in 0.. {
        let chunks = n.div_ceil(chunk);
        let last = chunks == 1;
        let dst = match result {
            Some(r) if last => r,
            _ => Binding::Scratch(*slots[pass % 2].get_or_insert_with(|| {
                scratch.push((lines * chunks * RECORD_BYTES) as u64);
                scratch.len() - 1
            })),
        };
        let flag = |b: bool| f64::from(u8::from(b));
        steps.push(Step::Dispatch(Dispatch {
            family: KernelFamily::Reduce,
            entry: "fold",
            constants: vec![
                ("OP", f64::from(op as u8)),
                ("FIRST", flag(first)),
                ("FINAL", flag(last && result.is_some())),
                ("WG", f64::from(WG)),
            ],
            bindings: vec![src, dst],
            params: Params::default().us(&[outer, n, inner, chunk.min(n), chunks, len]).0,
            groups: linear_groups(lines * chunks, WG),
        }));
        if last {
            return (steps, dst);
        }
        (src, n, first) = (dst, chunks, false);
    }
    unreachable!("the number of chunks shrinks by a factor of loop_chunk >= 2 per pass")
}

/// Softmax: lines of at most loop_chunk entries in one pass (three loops over the line, no
/// statistics in memory), longer ones from fold's statistics.
pub(crate) fn softmax(io: &Io<'_>, axis: usize, log: bool, scratch: &mut Vec<u64>) -> Vec<Step> {
    let view = io.in_shape(0).split_at_axis(axis);
    if view.1 <= io.tuning.loop_chunk {
        return vec![Step::Dispatch(Dispatch {
            family: KernelFamily::Softmax,
            entry: "softmax_lines",
            constants: vec![("LOG", f64::from(u8::from(log))), ("WG", f64::from(WG))],
            bindings: vec![io.input(0).into(), io.output(0).into()],
            params: Params::default().us(&[view.0, view.1, view.2]).0,
            groups: linear_groups(view.0 * view.2, WG),
        })];
    }
    let (mut steps, stats) = fold(io.input(0).into(), view, FoldOp::Softmax, None, io.tuning, scratch);
    steps.push(Step::Dispatch(Dispatch {
        family: KernelFamily::Softmax,
        entry: "softmax",
        constants: vec![("LOG", f64::from(u8::from(log))), ("WG", f64::from(WG))],
        bindings: vec![io.input(0).into(), stats, io.output(0).into()],
        params: Params::default().us(&[view.0, view.1, view.2]).0,
        groups: linear_groups(io.in_shape(0).numel(), WG),
    }));
    steps
}

pub(crate) fn reduce(io: &Io<'_>, op: ReduceOp, axis: usize, scratch: &mut Vec<u64>) -> Vec<Step> {
    let op = match op {
        ReduceOp::Sum => FoldOp::Sum,
        ReduceOp::Mean => FoldOp::Mean,
        ReduceOp::Max => FoldOp::Max,
    };
    let view = io.in_shape(0).split_at_axis(axis);
    fold(io.input(0).into(), view, op, Some(io.output(0).into()), io.tuning, scratch).0
}

pub(crate) fn argmax(io: &Io<'_>, axis: usize, scratch: &mut Vec<u64>) -> Vec<Step> {
    let view = io.in_shape(0).split_at_axis(axis);
    fold(io.input(0).into(), view, FoldOp::ArgMax, Some(io.output(0).into()), io.tuning, scratch).0
}

/// Mean over H·W of each of the N·C planes.
pub(crate) fn global_avg_pool(io: &Io<'_>, scratch: &mut Vec<u64>) -> Vec<Step> {
    let d = io.in_shape(0).dims();
    let view = (d[0] * d[1], d[2] * d[3], 1);
    fold(io.input(0).into(), view, FoldOp::Mean, Some(io.output(0).into()), io.tuning, scratch).0
}

/// Top-k along the last axis: each invocation keeps the best of one chunk of a row in a sorted
/// list of [`bucket`]`(k)` entries; merge passes then take the best of chunks of those lists
/// (which carry their indices) until one list per row is left, whose first k are the result.
pub(crate) fn top_k(io: &Io<'_>, k: usize, largest: bool, scratch: &mut Vec<u64>) -> Vec<Step> {
    let len = *io.in_shape(0).dims().last().expect("rank >= 1");
    let rows = io.in_shape(0).numel() / len;
    let list = bucket(k);
    // Merges must shrink: a chunk holds at least two lists.
    let chunk = io.tuning.loop_chunk.max(2 * list);
    let mut steps = Vec::new();
    let mut slots: [Option<(usize, usize)>; 2] = [None, None];
    let (mut values, mut indices, mut n) = (Binding::from(io.input(0)), Binding::Placeholder, len);
    for pass in 0.. {
        let chunks = n.div_ceil(chunk);
        let last = chunks == 1;
        let (out_v, out_i) = if last {
            (io.output(0).into(), io.output(1).into())
        } else {
            let (v, i) = *slots[pass % 2].get_or_insert_with(|| {
                let bytes = (rows * chunks * list * 4) as u64;
                scratch.extend([bytes, bytes]);
                (scratch.len() - 2, scratch.len() - 1)
            });
            (Binding::Scratch(v), Binding::Scratch(i))
        };
        steps.push(Step::Dispatch(Dispatch {
            family: KernelFamily::TopK,
            entry: entry_name(list),
            constants: vec![
                ("LARGEST", f64::from(u8::from(largest))),
                ("MERGE", f64::from(u8::from(pass > 0))),
                ("WG", f64::from(WG)),
            ],
            bindings: vec![values, indices, out_v, out_i],
            params: Params::default().us(&[rows, n, chunk.min(n), chunks, if last { k } else { list }]).0,
            groups: linear_groups(rows * chunks, WG),
        }));
        if last {
            return steps;
        }
        (values, indices, n) = (out_v, out_i, chunks * list);
    }
    unreachable!("each merge pass at least halves the lists per row")
}
