//! Layers the PP-OCR networks share, over the names `scripts/convert_ppocr.py` writes: PP-LCNetV3
//! (re-parameterised: depthwise and pointwise convolutions, each followed by hard-swish and a
//! learned scalar affine), Paddle's squeeze-excitation, and small graph helpers.

use ocelli_graph::{
    BinaryOp, Conv2d, ConvTranspose2d, GraphBuilder, Op, Padding, Tensor, UnaryOp, UpsampleMode, ValueId,
};
use ocelli_nn::{NnError, Weights};

/// Stride 1 and 2.
pub(crate) const S1: [usize; 2] = [1, 1];
pub(crate) const S2: [usize; 2] = [2, 2];

/// PP-LCNetV3's blocks2 to blocks6: per block its depthwise kernel, stride `[h, w]` and whether
/// it has squeeze-excitation.
pub(crate) type Stages = [&'static [(usize, [usize; 2], bool)]; 5];

/// PP-LCNetV3's hard-sigmoid slope in its squeeze-excitation: f32(0.1666667), not 1/6.
const SLOPE_LCNET: f32 = 0.1666667;

/// PP-LCNetV3 on `x`: the stem (3×3 stride 2), then the blocks of `stages` (a depthwise
/// convolution, hard-swish + affine unless its stride is a plain 2, squeeze-excitation where
/// marked, a pointwise convolution with hard-swish + affine). The output of each stage.
pub(crate) fn lcnet(g: &mut GraphBuilder, w: &Weights, x: ValueId, stages: &Stages) -> Result<Vec<ValueId>, NnError> {
    let mut x = conv(g, w, "backbone.conv1", x, S2, None)?;
    let mut outs = Vec::new();
    for (s, blocks) in stages.iter().enumerate() {
        for (j, &(_, stride, se)) in blocks.iter().enumerate() {
            let p = format!("backbone.blocks{}.{j}", s + 2);
            x = conv(g, w, &format!("{p}.dw"), x, stride, None)?;
            if stride != S2 {
                x = affine_hardswish(g, w, &format!("{p}.dw"), x)?;
            }
            if se {
                x = excite(g, w, &format!("{p}.se"), x, SLOPE_LCNET, false)?;
            }
            x = conv(g, w, &format!("{p}.pw"), x, S1, None)?;
            x = affine_hardswish(g, w, &format!("{p}.pw"), x)?;
        }
        outs.push(x);
    }
    Ok(outs)
}

/// Convolution `name` (weight `[O, I, kh, kw]`; grouped when x has more channels than I; bias
/// if stored) with `pads` `[top, left, bottom, right]`, by default kh/2 and kw/2.
pub(crate) fn conv(
    g: &mut GraphBuilder,
    w: &Weights,
    name: &str,
    x: ValueId,
    stride: [usize; 2],
    pads: Option<[usize; 4]>,
) -> Result<ValueId, NnError> {
    let weight_name = format!("{name}.weight");
    let dims = dims_of(w, &weight_name)?;
    let [o, i, kh, kw] = dims[..] else {
        return Err(NnError::Spec(format!("{weight_name}: want a [O, I, kh, kw] convolution weight, got {dims:?}")));
    };
    let channels = g.shape(x)?.dims()[1];
    if i == 0 || channels % i != 0 {
        return Err(NnError::Spec(format!("{weight_name}: {i} input channels per group do not divide {channels}")));
    }
    let weight = g.constant(w.get(&weight_name, &[o, i, kh, kw])?)?;
    let mut inputs = vec![x, weight];
    if w.shape(&format!("{name}.bias")).is_some() {
        inputs.push(g.constant(w.get(&format!("{name}.bias"), &[o])?)?);
    }
    let padding = Padding::Explicit(pads.unwrap_or([kh / 2, kw / 2, kh / 2, kw / 2]));
    let params = Conv2d { stride, padding, dilation: [1, 1], groups: channels / i };
    Ok(g.op(Op::Conv2d(params), &inputs)?)
}
/// The 2×2 stride-2 transposed convolution `name` (weight `[I, O, 2, 2]`, bias `[O]`).
pub(crate) fn transposed(g: &mut GraphBuilder, w: &Weights, name: &str, x: ValueId) -> Result<ValueId, NnError> {
    let weight_name = format!("{name}.weight");
    let dims = dims_of(w, &weight_name)?;
    if dims.len() != 4 {
        return Err(NnError::Spec(format!("{weight_name}: want an [I, O, 2, 2] weight, got {dims:?}")));
    }
    let weight = g.constant(w.get(&weight_name, &dims)?)?;
    let bias = g.constant(w.get(&format!("{name}.bias"), &dims[1..2])?)?;
    let params = ConvTranspose2d { stride: [2, 2], ..ConvTranspose2d::default() };
    Ok(g.op(Op::ConvTranspose2d(params), &[x, weight, bias])?)
}

/// The stored shape of tensor `name` (the store's missing-tensor error when it has none).
fn dims_of(w: &Weights, name: &str) -> Result<Vec<usize>, NnError> {
    match w.shape(name) {
        Some(s) => Ok(s.dims().to_vec()),
        None => Err(w.get(name, &[]).expect_err("the tensor is missing")),
    }
}

/// `act.scale · hardswish(x) + act.bias` with the scalars of unit `name`.
pub(crate) fn affine_hardswish(g: &mut GraphBuilder, w: &Weights, name: &str, x: ValueId) -> Result<ValueId, NnError> {
    let y = unary(g, UnaryOp::HardSwish, x)?;
    let scale = g.constant(w.get(&format!("{name}.act.scale"), &[1])?)?;
    let bias = g.constant(w.get(&format!("{name}.act.bias"), &[1])?)?;
    let y = binary(g, BinaryOp::Mul, y, scale)?;
    binary(g, BinaryOp::Add, y, bias)
}

/// Squeeze-excitation `name`: `s = hardsigmoid(conv2(relu(conv1(mean over H, W))))` with Paddle's
/// `clamp(slope · v + 0.5, 0, 1)`; `x · s`, or `x + x · s` with `shortcut` (RSE).
pub(crate) fn excite(
    g: &mut GraphBuilder,
    w: &Weights,
    name: &str,
    x: ValueId,
    slope: f32,
    shortcut: bool,
) -> Result<ValueId, NnError> {
    let s = g.op(Op::GlobalAvgPool, &[x])?;
    let s = conv(g, w, &format!("{name}.conv1"), s, S1, None)?;
    let s = unary(g, UnaryOp::Relu, s)?;
    let s = conv(g, w, &format!("{name}.conv2"), s, S1, None)?;
    let slope = scalar(g, slope)?;
    let half = scalar(g, 0.5)?;
    let s = binary(g, BinaryOp::Mul, s, slope)?;
    let s = binary(g, BinaryOp::Add, s, half)?;
    let s = unary(g, UnaryOp::Clamp { min: 0.0, max: 1.0 }, s)?;
    let y = binary(g, BinaryOp::Mul, x, s)?;
    if shortcut {
        binary(g, BinaryOp::Add, x, y)
    } else {
        Ok(y)
    }
}

/// Nearest-neighbour upsampling by `f` (pixel replication).
pub(crate) fn upsample(g: &mut GraphBuilder, x: ValueId, f: usize) -> Result<ValueId, NnError> {
    let d = g.shape(x)?.dims().to_vec();
    Ok(g.op(Op::Upsample { mode: UpsampleMode::Nearest, out_h: d[2] * f, out_w: d[3] * f }, &[x])?)
}

pub(crate) fn scalar(g: &mut GraphBuilder, v: f32) -> Result<ValueId, NnError> {
    Ok(g.constant(Tensor::from_f32([1], vec![v])?)?)
}

pub(crate) fn unary(g: &mut GraphBuilder, op: UnaryOp, x: ValueId) -> Result<ValueId, NnError> {
    Ok(g.op(Op::Unary(op), &[x])?)
}

pub(crate) fn binary(g: &mut GraphBuilder, op: BinaryOp, a: ValueId, b: ValueId) -> Result<ValueId, NnError> {
    Ok(g.op(Op::Binary(op), &[a, b])?)
}

/// `x · weightᵀ + bias` with `weight` `[out, in]`.
pub(crate) fn dense(g: &mut GraphBuilder, w: &Weights, name: &str, x: ValueId) -> Result<ValueId, NnError> {
    let inp = *g.shape(x)?.dims().last().expect("rank >= 1");
    let out = w.shape(&format!("{name}.weight")).map_or(0, |s| s.dims()[0]);
    let weight = g.constant(w.get(&format!("{name}.weight"), &[out, inp])?)?;
    let bias = g.constant(w.get(&format!("{name}.bias"), &[out])?)?;
    Ok(g.op(Op::MatMul { trans_a: false, trans_b: true }, &[x, weight, bias])?)
}
