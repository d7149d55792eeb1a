use ocelli_graph::{Conv2d, GraphBuilder, Op, Padding, UnaryOp, ValueId};

use crate::{Result, Scope};

/// PyTorch's usual padding for an odd `k`×`k` window: `(k − 1)/2` on every side.
pub fn same_size_padding(k: usize) -> Padding {
    Padding::Explicit([(k - 1) / 2; 4])
}

/// Convolution with `weight` `[cout, cin/groups, k, k]` (and `bias` when `bias`).
pub fn conv2d(
    g: &mut GraphBuilder,
    w: &Scope<'_>,
    x: ValueId,
    (cin, cout): (usize, usize),
    k: usize,
    stride: usize,
    groups: usize,
    bias: bool,
    padding: Padding,
) -> Result<ValueId> {
    let weight = g.constant(w.get("weight", &[cout, cin / groups, k, k])?)?;
    let mut inputs = vec![x, weight];
    if bias {
        inputs.push(g.constant(w.get("bias", &[cout])?)?);
    }
    let params = Conv2d { stride: [stride, stride], padding, dilation: [1, 1], groups };
    Ok(g.op(Op::Conv2d(params), &inputs)?)
}

/// Inference batch norm from `weight`, `bias`, `running_mean`, `running_var` (folded into the
/// preceding convolution when the graph is compiled).
pub fn batch_norm(g: &mut GraphBuilder, w: &Scope<'_>, x: ValueId, channels: usize, eps: f32) -> Result<ValueId> {
    let names = ["weight", "bias", "running_mean", "running_var"];
    let mut inputs = vec![x];
    for n in names {
        inputs.push(g.constant(w.get(n, &[channels])?)?);
    }
    Ok(g.op(Op::BatchNorm { eps }, &inputs)?)
}

/// `x · weightᵀ + bias` with PyTorch's `weight` `[out, in]`.
pub fn linear(g: &mut GraphBuilder, w: &Scope<'_>, x: ValueId, inp: usize, out: usize) -> Result<ValueId> {
    let weight = g.constant(w.get("weight", &[out, inp])?)?;
    let bias = g.constant(w.get("bias", &[out])?)?;
    Ok(g.op(Op::MatMul { trans_a: false, trans_b: true }, &[x, weight, bias])?)
}

/// Convolution without bias (`conv` scope) → batch norm (`bn` scope) → optional activation: the
/// basic block of most CNNs.
pub fn conv_bn(
    g: &mut GraphBuilder,
    (conv, bn): (&Scope<'_>, &Scope<'_>),
    x: ValueId,
    io: (usize, usize),
    (k, stride, groups): (usize, usize, usize),
    padding: Padding,
    eps: f32,
    act: Option<UnaryOp>,
) -> Result<ValueId> {
    let y = conv2d(g, conv, x, io, k, stride, groups, false, padding)?;
    let y = batch_norm(g, bn, y, io.1, eps)?;
    Ok(match act {
        Some(a) => g.op(Op::Unary(a), &[y])?,
        None => y,
    })
}
