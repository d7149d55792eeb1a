//! PP-OCRv4's mobile text detector (DBNet): a PP-LCNetV3 backbone (re-parameterised: depthwise
//! and pointwise convolutions with hard-swish and a learned scalar affine after it), an RSE-FPN
//! neck (nearest ×2 top-down sums, residual squeeze-and-excitation) and the DB head (3×3 conv,
//! two 2×2 stride-2 transposed convolutions, sigmoid): a text probability per input pixel.
//!
//! [`input_size`] is rapidocr's size rule; [`preprocess`] resizes and normalises packed pixels
//! as rapidocr does (BGR, `(v − 0.5) / 0.5`); [`network`] is the network. Layer names are those
//! `scripts/convert_ppocr.py` writes (its docstring gives the wiring).

use ocelli_graph::{BinaryOp, GraphBuilder, Op, UnaryOp, UpsampleMode, ValueId};
use ocelli_nn::{NnError, Weights};
use ocelli_vision::{ops, resize_pixels, PixelLayout};

use crate::ppocr::{binary, conv, excite, lcnet, scalar, transposed, unary, upsample, Stages, S1, S2};

/// The backbone's blocks: depthwise kernel, stride and squeeze-excitation, per stage.
const STAGES: Stages = [
    &[(3, S1, false)],
    &[(3, S2, false), (3, S1, false)],
    &[(3, S2, false), (3, S1, false)],
    &[(3, S2, false), (5, S1, false), (5, S1, false), (5, S1, false), (5, S1, false)],
    &[(5, S2, true), (5, S1, true), (5, S1, false), (5, S1, false)],
];
/// Paddle's default hard-sigmoid slope, which the neck's squeeze-excitation uses.
const SLOPE_NECK: f32 = 0.2;
/// rapidocr's `limit_side_len` (`limit_type: min`): the short side is scaled up to it.
pub const SHORT_SIDE: usize = 736;
/// rapidocr's global limits: a longer side is first scaled down to 2000, a shorter one up to 30.
const LONG_LIMIT: usize = 2000;
const SHORT_LIMIT: usize = 30;

/// Where the image sits in the detector's input, as rapidocr places it: globally resized when a
/// side is over 2000 or under 30 pixels, padded with black rows above and below when the result
/// is at most 30 high or over 8 times wider than high, then resized so that the short side is
/// 736, each side a multiple of 32.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame {
    /// Network input height.
    pub height: usize,
    /// Network input width.
    pub width: usize,
    /// Rows of black padding above the image in the input.
    pub top: usize,
    /// Rows the image covers in the input.
    pub rows: usize,
}

/// rapidocr's resize rule: sides scaled by `ratio`, truncated, rounded (half to even) to
/// multiples of 32, at least 32.
fn limit(h: usize, w: usize, ratio: f64) -> (usize, usize) {
    let side = |v: usize| (((v as f64 * ratio).trunc() / 32.0).round_ties_even() as usize * 32).max(32);
    (side(h), side(w))
}

impl Frame {
    /// The frame of an `h`×`w` image.
    pub fn of(h: usize, w: usize) -> Frame {
        let (h1, w1) = if h.max(w) > LONG_LIMIT {
            limit(h, w, LONG_LIMIT as f64 / h.max(w) as f64)
        } else if h.min(w) < SHORT_LIMIT {
            limit(h, w, SHORT_LIMIT as f64 / h.min(w) as f64)
        } else {
            (h, w)
        };
        let pad = if h1 <= SHORT_LIMIT || w1 as f64 / h1 as f64 > 8.0 {
            (2 * (w1 / 8).max(SHORT_LIMIT)).abs_diff(h1) / 2
        } else {
            0
        };
        let h2 = h1 + 2 * pad;
        let short = h2.min(w1);
        let ratio = if short < SHORT_SIDE { SHORT_SIDE as f64 / short as f64 } else { 1.0 };
        let (height, width) = limit(h2, w1, ratio);
        let top = (pad as f64 * height as f64 / h2 as f64).round() as usize;
        let rows = ((h1 as f64 * height as f64 / h2 as f64).round() as usize).clamp(1, height - top);
        Frame { height, width, top, rows }
    }
}

/// The network input `[1, 3, height, width]` of `frame`: the packed image resized (bilinear,
/// half-pixel centres, as `cv2.resize`) into its rows, black above and below, in BGR order,
/// mapped to [−1, 1].
pub fn preprocess(g: &mut GraphBuilder, layout: &PixelLayout, frame: &Frame) -> Result<ValueId, NnError> {
    let x = resize_pixels(g, layout, frame.rows, frame.width, UpsampleMode::Bilinear { align_corners: false })?;
    let x = ops::to_rgb(g, x, layout.channels)?;
    let x = ops::swap_red_blue(g, x)?;
    let two = scalar(g, 2.0)?;
    let one = scalar(g, 1.0)?;
    let x = binary(g, BinaryOp::Mul, x, two)?;
    let x = binary(g, BinaryOp::Sub, x, one)?;
    if frame.rows == frame.height {
        return Ok(x);
    }
    let below = frame.height - frame.rows - frame.top;
    let pads = vec![(0, 0), (0, 0), (frame.top, below), (0, 0)];
    Ok(g.op(Op::Pad { pads, mode: ocelli_graph::PadMode::Constant(-1.0) }, &[x])?)
}

/// The text probability map `[1, 1, H, W]` of the normalised input `x` `[1, 3, H, W]` (H and W
/// multiples of 32).
pub fn network(g: &mut GraphBuilder, w: &Weights, x: ValueId) -> Result<ValueId, NnError> {
    let stages = lcnet(g, w, x, &STAGES)?;
    let feats = (1..5)
        .map(|s| conv(g, w, &format!("backbone.out{}", s - 1), stages[s], S1, None))
        .collect::<Result<Vec<_>, _>>()?;
    let mut ins = Vec::new();
    for (i, &f) in feats.iter().enumerate() {
        let y = conv(g, w, &format!("neck.ins{i}.conv"), f, S1, None)?;
        ins.push(excite(g, w, &format!("neck.ins{i}.se"), y, SLOPE_NECK, true)?);
    }
    for i in (0..3).rev() {
        let up = upsample(g, ins[i + 1], 2)?;
        ins[i] = binary(g, BinaryOp::Add, ins[i], up)?;
    }
    let mut fuse = Vec::new();
    for (i, &level) in ins.iter().enumerate().rev() {
        let y = conv(g, w, &format!("neck.inp{i}.conv"), level, S1, None)?;
        let y = excite(g, w, &format!("neck.inp{i}.se"), y, SLOPE_NECK, true)?;
        fuse.push(if i == 0 { y } else { upsample(g, y, 1 << i)? });
    }
    let fuse = g.op(Op::Concat { axis: 1 }, &fuse)?;
    let y = conv(g, w, "head.conv", fuse, S1, None)?;
    let y = unary(g, UnaryOp::Relu, y)?;
    let y = transposed(g, w, "head.up1", y)?;
    let y = unary(g, UnaryOp::Relu, y)?;
    let y = transposed(g, w, "head.up2", y)?;
    unary(g, UnaryOp::Sigmoid, y)
}

#[cfg(test)]
mod tests {
    use super::Frame;

    #[test]
    fn frames_follow_rapidocr() {
        let size = |h, w| {
            let f = Frame::of(h, w);
            (f.height, f.width)
        };
        assert_eq!(size(191, 384), (736, 1472)); // page.png
        assert_eq!(size(400, 600), (736, 1088)); // coffee.png: 34.5 rounds to 34
        assert_eq!(size(1000, 800), (992, 800)); // no upscaling past 736
        assert_eq!(size(4000, 3000), (1984, 1504)); // the long side limited to 2000 first
        assert_eq!(size(5, 5), (736, 736));
        // A 2304 x 40 strip: 1984 x 32 after the global limit, 232 black rows above and below
        // (496 rows), then 736 x 2944.
        let f = Frame::of(40, 2304);
        assert_eq!((f.height, f.width), (736, 2944));
        assert_eq!((f.top, f.rows), (344, 47));
    }
}
