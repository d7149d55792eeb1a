//! PP-OCRv4's mobile text detector (DBNet): a PP-LCNetV3 backbone (re-parameterised: depthwise
//! and pointwise convolutions with hard-swish and a learned scalar affine after it), an RSE-FPN
//! neck (nearest ×2 top-down sums, residual squeeze-and-excitation) and the DB head (3×3 conv,
//! two 2×2 stride-2 transposed convolutions, sigmoid): a text probability per input pixel.
//!
//! [`input_size`] is rapidocr's size rule; [`preprocess`] resizes and normalises packed pixels
//! as rapidocr does (BGR, `(v − 0.5) / 0.5`); [`network`] is the network. Layer names are those
//! `scripts/convert_ppocr.py` writes (its docstring gives the wiring).

use ocelli_graph::{
    BinaryOp, Conv2d, ConvTranspose2d, GraphBuilder, Op, Padding, Tensor, UnaryOp, UpsampleMode, ValueId,
};
use ocelli_nn::{NnError, Weights};
use ocelli_vision::{ops, resize_pixels, PixelLayout};

/// Depthwise kernel, stride and squeeze-excitation of each block, per stage (blocks2 to 6).
const STAGES: [&[(usize, usize, bool)]; 5] = [
    &[(3, 1, false)],
    &[(3, 2, false), (3, 1, false)],
    &[(3, 2, false), (3, 1, false)],
    &[(3, 2, false), (5, 1, false), (5, 1, false), (5, 1, false), (5, 1, false)],
    &[(5, 2, true), (5, 1, true), (5, 1, false), (5, 1, false)],
];
/// Paddle's hard-sigmoid slopes: PP-LCNetV3's squeeze-excitation (f32(0.1666667), not 1/6) and
/// the default one of the neck.
const SLOPE_LCNET: f32 = 0.1666667;
const SLOPE_NECK: f32 = 0.2;
/// rapidocr's `limit_side_len` (`limit_type: min`): the short side is scaled up to it.
pub const SHORT_SIDE: usize = 736;
/// rapidocr's global limit: longer sides are scaled down to it first.
pub const LONG_SIDE: usize = 2000;

/// The network input `(height, width)` for an `h`×`w` image, as rapidocr sizes it: the long
/// side limited to [`LONG_SIDE`], the short side scaled up to [`SHORT_SIDE`], both truncated,
/// then rounded (half to even) to multiples of 32, at least 32.
pub fn input_size(h: usize, w: usize) -> (usize, usize) {
    let (mut hf, mut wf) = (h as f64, w as f64);
    if h.max(w) > LONG_SIDE {
        let r = LONG_SIDE as f64 / h.max(w) as f64;
        (hf, wf) = ((hf * r).trunc(), (wf * r).trunc());
    }
    let short = hf.min(wf);
    let ratio = if short < SHORT_SIDE as f64 { SHORT_SIDE as f64 / short } else { 1.0 };
    let side = |v: f64| (((v * ratio).trunc() / 32.0).round_ties_even() as usize * 32).max(32);
    (side(hf), side(wf))
}

/// The network input `[1, 3, height, width]`: the packed image resized (bilinear, half-pixel
/// centres, as `cv2.resize`), in BGR order, mapped to [−1, 1].
pub fn preprocess(g: &mut GraphBuilder, layout: &PixelLayout, height: usize, width: usize) -> Result<ValueId, NnError> {
    let x = resize_pixels(g, layout, height, width, UpsampleMode::Bilinear { align_corners: false })?;
    let x = ops::to_rgb(g, x, layout.channels)?;
    let x = ops::swap_red_blue(g, x)?;
    let two = scalar(g, 2.0)?;
    let one = scalar(g, 1.0)?;
    let x = binary(g, BinaryOp::Mul, x, two)?;
    binary(g, BinaryOp::Sub, x, one)
}

/// The text probability map `[1, 1, H, W]` of the normalised input `x` `[1, 3, H, W]` (H and W
/// multiples of 32).
pub fn network(g: &mut GraphBuilder, w: &Weights, x: ValueId) -> Result<ValueId, NnError> {
    let mut x = conv(g, w, "backbone.conv1", x, 2, false)?;
    let mut feats = Vec::new();
    for (s, blocks) in STAGES.iter().enumerate() {
        for (j, &(_, stride, se)) in blocks.iter().enumerate() {
            let p = format!("backbone.blocks{}.{j}", s + 2);
            x = conv(g, w, &format!("{p}.dw"), x, stride, true)?;
            if stride != 2 {
                x = affine_hardswish(g, w, &format!("{p}.dw"), x)?;
            }
            if se {
                x = excite(g, w, &format!("{p}.se"), x, SLOPE_LCNET, false)?;
            }
            x = conv(g, w, &format!("{p}.pw"), x, 1, false)?;
            x = affine_hardswish(g, w, &format!("{p}.pw"), x)?;
        }
        if s > 0 {
            feats.push(conv(g, w, &format!("backbone.out{}", s - 1), x, 1, false)?);
        }
    }
    let mut ins = Vec::new();
    for (i, &f) in feats.iter().enumerate() {
        let y = conv(g, w, &format!("neck.ins{i}.conv"), f, 1, false)?;
        ins.push(excite(g, w, &format!("neck.ins{i}.se"), y, SLOPE_NECK, true)?);
    }
    for i in (0..3).rev() {
        let up = upsample(g, ins[i + 1], 2)?;
        ins[i] = binary(g, BinaryOp::Add, ins[i], up)?;
    }
    let mut fuse = Vec::new();
    for (i, &level) in ins.iter().enumerate().rev() {
        let y = conv(g, w, &format!("neck.inp{i}.conv"), level, 1, false)?;
        let y = excite(g, w, &format!("neck.inp{i}.se"), y, SLOPE_NECK, true)?;
        fuse.push(if i == 0 { y } else { upsample(g, y, 1 << i)? });
    }
    let fuse = g.op(Op::Concat { axis: 1 }, &fuse)?;
    let y = conv(g, w, "head.conv", fuse, 1, false)?;
    let y = unary(g, UnaryOp::Relu, y)?;
    let y = transposed(g, w, "head.up1", y)?;
    let y = unary(g, UnaryOp::Relu, y)?;
    let y = transposed(g, w, "head.up2", y)?;
    unary(g, UnaryOp::Sigmoid, y)
}

/// Convolution `name` (weight `[O, I/groups, k, k]`, bias if stored) with padding k/2;
/// depthwise when `depthwise`.
fn conv(
    g: &mut GraphBuilder,
    w: &Weights,
    name: &str,
    x: ValueId,
    stride: usize,
    depthwise: bool,
) -> Result<ValueId, NnError> {
    let weight_name = format!("{name}.weight");
    let dims = dims_of(w, &weight_name)?;
    let [o, i, kh, kw] = dims[..] else {
        return Err(NnError::Spec(format!("{weight_name}: want a [O, I, kh, kw] convolution weight, got {dims:?}")));
    };
    let weight = g.constant(w.get(&weight_name, &[o, i, kh, kw])?)?;
    let mut inputs = vec![x, weight];
    if w.shape(&format!("{name}.bias")).is_some() {
        inputs.push(g.constant(w.get(&format!("{name}.bias"), &[o])?)?);
    }
    let groups = if depthwise { o } else { 1 };
    let padding = Padding::Explicit([kh / 2, kw / 2, kh / 2, kw / 2]);
    let params = Conv2d { stride: [stride, stride], padding, dilation: [1, 1], groups };
    Ok(g.op(Op::Conv2d(params), &inputs)?)
}

/// The 2×2 stride-2 transposed convolution `name` (weight `[I, O, 2, 2]`, bias `[O]`).
fn transposed(g: &mut GraphBuilder, w: &Weights, name: &str, x: ValueId) -> Result<ValueId, NnError> {
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
fn affine_hardswish(g: &mut GraphBuilder, w: &Weights, name: &str, x: ValueId) -> Result<ValueId, NnError> {
    let y = unary(g, UnaryOp::HardSwish, x)?;
    let scale = g.constant(w.get(&format!("{name}.act.scale"), &[1])?)?;
    let bias = g.constant(w.get(&format!("{name}.act.bias"), &[1])?)?;
    let y = binary(g, BinaryOp::Mul, y, scale)?;
    binary(g, BinaryOp::Add, y, bias)
}

/// Squeeze-excitation `name`: `s = hardsigmoid(conv2(relu(conv1(mean over H, W))))` with Paddle's
/// `clamp(slope · v + 0.5, 0, 1)`; `x · s`, or `x + x · s` with `shortcut` (RSE).
fn excite(
    g: &mut GraphBuilder,
    w: &Weights,
    name: &str,
    x: ValueId,
    slope: f32,
    shortcut: bool,
) -> Result<ValueId, NnError> {
    let s = g.op(Op::GlobalAvgPool, &[x])?;
    let s = conv(g, w, &format!("{name}.conv1"), s, 1, false)?;
    let s = unary(g, UnaryOp::Relu, s)?;
    let s = conv(g, w, &format!("{name}.conv2"), s, 1, false)?;
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
fn upsample(g: &mut GraphBuilder, x: ValueId, f: usize) -> Result<ValueId, NnError> {
    let d = g.shape(x)?.dims().to_vec();
    Ok(g.op(Op::Upsample { mode: UpsampleMode::Nearest, out_h: d[2] * f, out_w: d[3] * f }, &[x])?)
}

fn scalar(g: &mut GraphBuilder, v: f32) -> Result<ValueId, NnError> {
    Ok(g.constant(Tensor::from_f32([1], vec![v])?)?)
}

fn unary(g: &mut GraphBuilder, op: UnaryOp, x: ValueId) -> Result<ValueId, NnError> {
    Ok(g.op(Op::Unary(op), &[x])?)
}

fn binary(g: &mut GraphBuilder, op: BinaryOp, a: ValueId, b: ValueId) -> Result<ValueId, NnError> {
    Ok(g.op(Op::Binary(op), &[a, b])?)
}

#[cfg(test)]
mod tests {
    use super::input_size;

    #[test]
    fn sizes_follow_rapidocr() {
        assert_eq!(input_size(191, 384), (736, 1472)); // page.png
        assert_eq!(input_size(400, 600), (736, 1088)); // coffee.png: 34.5 rounds to 34
        assert_eq!(input_size(1000, 800), (992, 800)); // no upscaling past 736
        assert_eq!(input_size(4000, 3000), (1984, 1504)); // the long side limited to 2000 first
        assert_eq!(input_size(5, 5), (736, 736));
    }
}
