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
