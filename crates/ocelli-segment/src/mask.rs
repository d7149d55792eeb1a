//! What segmentation returns, and the graphs that turn a probability map into it on the device.

use ocelli_graph::{BinaryOp, GraphBuilder, Op, ReduceOp, Tensor, UpsampleMode, ValueId};
use ocelli_nn::NnError;
use ocelli_vision::{ops, resize_pixels, PixelLayout};

/// A per-pixel probability map at the image's size.
#[derive(Debug, Clone, PartialEq)]
pub struct Mask {
    /// Image height.
    pub height: usize,
    /// Image width.
    pub width: usize,
    /// Probabilities in [0, 1], row-major.
    pub probs: Vec<f32>,
    /// The threshold `coverage` was counted at.
    pub threshold: f32,
    /// Fraction of pixels with a probability above `threshold` (counted on the device).
    pub coverage: f32,
}

impl Mask {
    /// The mask as a `[1, 1, H, W]` tensor (for [`ocelli_vision::save_image`]: 255 = 1.0).
    pub fn to_tensor(&self) -> Tensor {
        Tensor::from_f32([1, 1, self.height, self.width], self.probs.clone()).expect("probs match the size")
    }

    /// 1 where the probability is above the threshold, else 0, row-major.
    pub fn binary(&self) -> Vec<u8> {
        self.probs.iter().map(|&p| u8::from(p > self.threshold)).collect()
    }
}

/// A region found in the mask (a text box for text detectors), in image pixels.
#[derive(Debug, Clone, PartialEq)]
pub struct Region {
    /// Confidence in [0, 1].
    pub score: f32,
    /// Corners `(x, y)`, clockwise from the top left.
    pub polygon: Vec<[f32; 2]>,
}

/// A segmentation of one image: its mask and the regions read from it (none for masks-only
/// models).
#[derive(Debug, Clone, PartialEq)]
pub struct Segmentation {
    /// The probability mask.
    pub mask: Mask,
    /// Regions, best first.
    pub regions: Vec<Region>,
}

/// What a cut-out puts behind the segmented foreground.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Background {
    /// Nothing: an RGBA image whose alpha is the mask.
    Transparent,
    /// The image itself, Gaussian-blurred with this σ in pixels.
    Blur(f32),
    /// A flat RGB colour in [0, 1].
    Color([f32; 3]),
}

/// `probs` `[1, 1, h, w]` resized to the image (bilinear, half-pixel centres, edge-clamped, as
/// `cv::resize`) and the fraction of its pixels above `threshold`: outputs `[1, 1, H, W]`, `[1]`.
pub(crate) fn mask_outputs(
    g: &mut GraphBuilder,
    probs: ValueId,
    (height, width): (usize, usize),
    threshold: f32,
) -> Result<[ValueId; 2], NnError> {
    let mode = UpsampleMode::Bilinear { align_corners: false };
    let mask = g.op(Op::Upsample { mode, out_h: height, out_w: width }, &[probs])?;
    let t = g.constant(Tensor::from_f32([1], vec![threshold])?)?;
    let above = g.op(Op::Binary(BinaryOp::Greater), &[mask, t])?;
    let flat = g.op(Op::Reshape { shape: vec![height * width] }, &[above])?;
    let coverage = g.op(Op::Reduce { op: ReduceOp::Mean, axis: 0, keep_dims: true }, &[flat])?;
    Ok([mask, coverage])
}

/// The image composited over `background` by `mask` `[1, 1, H, W]`: `[1, 4, H, W]` RGBA for
/// [`Background::Transparent`], else `[1, 3, H, W]` RGB `background + mask · (image − background)`.
pub(crate) fn cutout(
    g: &mut GraphBuilder,
    layout: &PixelLayout,
    mask: ValueId,
    background: Background,
) -> Result<ValueId, NnError> {
    let image = resize_pixels(g, layout, layout.height, layout.width, UpsampleMode::Nearest)?;
    let rgb = ops::to_rgb(g, image, layout.channels)?;
    let behind = match background {
        Background::Transparent => return Ok(g.op(Op::Concat { axis: 1 }, &[rgb, mask])?),
        Background::Blur(sigma) => ops::gaussian_blur(g, rgb, sigma)?,
        Background::Color(c) => g.constant(Tensor::from_f32([1, 3, 1, 1], c.to_vec())?)?,
    };
    let fore = g.op(Op::Binary(BinaryOp::Sub), &[rgb, behind])?;
    let fore = g.op(Op::Binary(BinaryOp::Mul), &[fore, mask])?;
    Ok(g.op(Op::Binary(BinaryOp::Add), &[fore, behind])?)
}
