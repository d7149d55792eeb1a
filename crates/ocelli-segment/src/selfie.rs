//! MediaPipe's selfie segmentation (person vs background): a MobileNetV3-style encoder of
//! inverted-residual blocks with squeeze-and-excitation and hard-swish down to 1/16, a gated
//! head, and a decoder that resizes ×2 (bilinear), mixes in the encoder's skip through an SE
//! gate and refines with a depthwise block, three times, then a 2×2 stride-2 transposed
//! convolution and a sigmoid: one probability per pixel of the 256×256 (or, landscape, 144×256)
//! input.
//!
//! [`network`] is the network on a prepared input; [`preprocess`] stretches packed pixels to
//! the input exactly as MediaPipe's ImageToTensorCalculator does on the CPU (OpenCV's
//! fixed-point bilinear warp, [`UpsampleMode::BilinearFixedPoint`]).

use ocelli_graph::{BinaryOp, ConvTranspose2d, GraphBuilder, Op, Padding, UnaryOp, UpsampleMode, ValueId};
use ocelli_nn::{conv2d, NnError, Scope};
use ocelli_vision::{ops, resize_pixels, PixelLayout};

/// One inverted-residual block of the encoder.
struct Block {
    /// Expanded channels.
    expand: usize,
    /// Depthwise kernel side.
    kernel: usize,
    /// Depthwise stride.
    stride: usize,
    /// Hard-swish (else ReLU) after the expansion and the depthwise convolution.
    hard_swish: bool,
    /// Output channels.
    out: usize,
    /// Squeeze-and-excitation after the depthwise convolution.
    se: bool,
}

const fn block(expand: usize, kernel: usize, stride: usize, hard_swish: bool, out: usize, se: bool) -> Block {
    Block { expand, kernel, stride, hard_swish, out, se }
}

/// Blocks `enc1` to `enc8` (a block adds its input when its stride is 1 and it keeps the width).
const ENCODER: [Block; 8] = [
    block(16, 3, 2, false, 16, true),
    block(72, 3, 2, false, 24, false),
    block(88, 3, 1, false, 24, false),
    block(96, 5, 2, true, 32, true),
    block(128, 5, 1, true, 32, true),
    block(128, 5, 1, true, 32, true),
    block(96, 5, 1, true, 32, true),
    block(96, 5, 1, true, 32, true),
];

/// Channels of the stem, of the head and of decoder stages 1 to 3.
const STEM: usize = 16;
const HEAD: usize = 128;
const DECODER: [usize; 3] = [24, 16, 16];

/// The network input `[1, 3, height, width]` in [0, 1] from packed pixels: the whole image
/// stretched (no letterbox) by OpenCV's fixed-point bilinear warp for 8-bit images (the float
/// bilinear of TensorFlow 1 for 16-bit ones), grey repeated, alpha dropped.
pub fn preprocess(g: &mut GraphBuilder, layout: &PixelLayout, height: usize, width: usize) -> Result<ValueId, NnError> {
    let mode = if layout.bits == 8 { UpsampleMode::BilinearFixedPoint } else { UpsampleMode::BilinearAsymmetric };
    let x = resize_pixels(g, layout, height, width, mode)?;
    Ok(ops::to_rgb(g, x, layout.channels)?)
}

/// The person probability `[1, 1, h, w]` of the input `x` `[1, 3, h, w]` (h and w multiples of
/// 16).
pub fn network(g: &mut GraphBuilder, w: &Scope<'_>, x: ValueId, (h, wd): (usize, usize)) -> Result<ValueId, NnError> {
    let stem = conv(g, &w.pp("stem"), x, (3, STEM), 3, 2, 1)?;
    let s2 = unary(g, UnaryOp::HardSwish, stem)?;
    let (mut x, mut cin) = (s2, STEM);
    let mut skips = vec![(s2, (h / 2, wd / 2))];
    let mut size = (h / 2, wd / 2);
    for (k, b) in ENCODER.iter().enumerate() {
        let s = w.pp(format!("enc{}", k + 1));
        let act = if b.hard_swish { UnaryOp::HardSwish } else { UnaryOp::Relu };
        let e = conv(g, &s.pp("expand"), x, (cin, b.expand), 1, 1, 1)?;
        let e = unary(g, act, e)?;
        let d = conv(g, &s.pp("dw"), e, (b.expand, b.expand), b.kernel, b.stride, b.expand)?;
        let mut y = unary(g, act, d)?;
        if b.se {
            let squeeze = if k == 0 { b.expand / 2 } else { b.expand / 4 };
            let gate = excite(g, &s.pp("se"), y, b.expand, squeeze)?;
            y = binary(g, BinaryOp::Mul, y, gate)?;
        }
        let y = conv(g, &s.pp("project"), y, (b.expand, b.out), 1, 1, 1)?;
        x = if b.stride == 1 && cin == b.out { binary(g, BinaryOp::Add, x, y)? } else { y };
        size = (size.0.div_ceil(b.stride), size.1.div_ceil(b.stride));
        cin = b.out;
        if k == 0 || k == 2 {
            skips.push((x, size)); // s4 after enc1, s8 after enc3
        }
    }
    let head = conv(g, &w.pp("head.conv"), x, (cin, HEAD), 1, 1, 1)?;
    let head = unary(g, UnaryOp::Relu, head)?;
    let pooled = g.op(Op::GlobalAvgPool, &[x])?;
    let gate = conv(g, &w.pp("head.gate"), pooled, (cin, HEAD), 1, 1, 1)?;
    let gate = unary(g, UnaryOp::Sigmoid, gate)?;
    let mut f = binary(g, BinaryOp::Mul, head, gate)?;
    let mut c = HEAD;
    for (k, &out) in DECODER.iter().enumerate() {
        let s = w.pp(format!("dec{}", k + 1));
        let (skip, (sh, sw)) = skips[skips.len() - 1 - k];
        let up =
            g.op(Op::Upsample { mode: UpsampleMode::Bilinear { align_corners: false }, out_h: sh, out_w: sw }, &[f])?;
        let up = conv(g, &s.pp("up"), up, (c, out), 1, 1, 1)?;
        let mixed = binary(g, BinaryOp::Add, skip, up)?;
        let gate = excite(g, &s.pp("se"), mixed, out, out)?;
        let gated = binary(g, BinaryOp::Mul, skip, gate)?;
        let gated = binary(g, BinaryOp::Add, gated, up)?;
        let y = conv(g, &s.pp("conv"), gated, (out, out), 1, 1, 1)?;
        let y = unary(g, UnaryOp::Relu, y)?;
        let d = conv(g, &s.pp("dw"), y, (out, out), 3, 1, out)?;
        let d = unary(g, UnaryOp::Relu, d)?;
        f = binary(g, BinaryOp::Add, y, d)?;
        c = out;
    }
    let seg = w.pp("segment");
    let weight = g.constant(seg.get("weight", &[c, 1, 2, 2])?)?;
    let bias = g.constant(seg.get("bias", &[1])?)?;
    let params = ConvTranspose2d { stride: [2, 2], ..ConvTranspose2d::default() };
    let logits = g.op(Op::ConvTranspose2d(params), &[f, weight, bias])?;
    unary(g, UnaryOp::Sigmoid, logits)
}

/// Squeeze-and-excitation gate `[1, c, 1, 1]`: sigmoid(fc2(relu(fc1(mean over H, W)))).
fn excite(g: &mut GraphBuilder, w: &Scope<'_>, x: ValueId, c: usize, squeeze: usize) -> Result<ValueId, NnError> {
    let pooled = g.op(Op::GlobalAvgPool, &[x])?;
    let s = conv(g, &w.pp("fc1"), pooled, (c, squeeze), 1, 1, 1)?;
    let s = unary(g, UnaryOp::Relu, s)?;
    let s = conv(g, &w.pp("fc2"), s, (squeeze, c), 1, 1, 1)?;
    unary(g, UnaryOp::Sigmoid, s)
}

/// A convolution with bias and TensorFlow's SAME padding.
fn conv(
    g: &mut GraphBuilder,
    w: &Scope<'_>,
    x: ValueId,
    io: (usize, usize),
    k: usize,
    stride: usize,
    groups: usize,
) -> Result<ValueId, NnError> {
    conv2d(g, w, x, io, k, stride, groups, true, Padding::Same)
}

fn unary(g: &mut GraphBuilder, op: UnaryOp, x: ValueId) -> Result<ValueId, NnError> {
    Ok(g.op(Op::Unary(op), &[x])?)
}

fn binary(g: &mut GraphBuilder, op: BinaryOp, a: ValueId, b: ValueId) -> Result<ValueId, NnError> {
    Ok(g.op(Op::Binary(op), &[a, b])?)
}
