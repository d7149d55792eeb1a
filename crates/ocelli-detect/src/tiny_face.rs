//! face-api.js's Tiny Face Detector: a Tiny-YOLOv2-style network (a 3×3 stem, five separable
//! blocks with max pooling, a 1×1 output) predicting 5 anchor boxes per cell of a 13×13 grid
//! (for a 416×416 input), each with a face confidence.
//!
//! [`graph`] builds the pipeline for one image size, as face-api prepares its input: the image
//! padded with black at the bottom or right into a square, resized to [`INPUT`] with TensorFlow
//! 1's bilinear coordinates, less the training mean; then the network, the box decode and NMS.
//! [`faces`] reads the kept boxes in image pixels.

use ocelli_graph::{
    BinaryOp, Graph, GraphBuilder, Op, PadMode, Padding, Pool2d, PoolKind, Tensor, UnaryOp, UpsampleMode, ValueId,
};
use ocelli_nn::{conv2d, NnError, Scope, Weights};
use ocelli_vision::{ops, resize_pixels, PixelLayout};

use crate::{constant, selected_boxes, Detection, Thresholds};

/// Side of the square network input (face-api's default; any multiple of 32 works).
pub const INPUT: usize = 416;
/// Anchors per grid cell.
pub const ANCHORS_PER_CELL: usize = 5;
/// Anchor sizes (width, height) in grid cells.
pub const ANCHORS: [[f32; 2]; ANCHORS_PER_CELL] =
    [[1.603231, 2.094468], [6.041143, 7.080126], [2.882459, 3.518061], [4.266906, 5.178857], [9.041765, 10.66308]];
/// face-api's defaults: faces score above 0.5; boxes overlapping a kept one by more than IoU
/// 0.4 are suppressed.
pub const THRESHOLDS: Thresholds = Thresholds { score: 0.5, iou: 0.4 };
/// Faces kept per image at most.
pub const MAX_FACES: usize = 100;
/// The mean RGB (0..255) the network was trained with.
const MEAN: [f32; 3] = [117.001, 114.697, 97.404];
/// Output channels of the separable blocks 1 to 5.
const BLOCKS: [usize; 5] = [32, 64, 128, 256, 512];

/// How an image maps onto the input: face-api's own correction of boxes from input fractions
/// to image pixels, `x · (INPUT / resized_w) · width` (and likewise for y), where the resized
/// sides are the image's sides scaled by `INPUT / max(height, width)`, rounded.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Square {
    /// Image height.
    pub height: usize,
    /// Image width.
    pub width: usize,
    /// Image width once scaled into the input, rounded.
    pub resized_w: usize,
    /// Image height once scaled into the input, rounded.
    pub resized_h: usize,
}

impl Square {
    /// The square of an `height`×`width` image.
    pub fn of(height: usize, width: usize) -> Self {
        let side = height.max(width) as f64;
        let scaled = |d: usize| ((d as f64 * INPUT as f64 / side).round() as usize).max(1);
        Square { height, width, resized_w: scaled(width), resized_h: scaled(height) }
    }

    /// Input fractions `(x, y)` to image pixels.
    pub fn to_image(&self, x: f32, y: f32) -> [f32; 2] {
        let fx = INPUT as f32 / self.resized_w as f32 * self.width as f32;
        let fy = INPUT as f32 / self.resized_h as f32 * self.height as f32;
        [x * fx, y * fy]
    }
}

/// The input `[1, 3, INPUT, INPUT]`: the image padded into a black square at its bottom or
/// right, resized with TensorFlow 1's bilinear coordinates, less the training mean, / 255.
pub fn preprocess(g: &mut GraphBuilder, layout: &PixelLayout) -> Result<(ValueId, Square), NnError> {
    let (h, w) = (layout.height, layout.width);
    let side = h.max(w);
    let x = resize_pixels(g, layout, h, w, UpsampleMode::Nearest)?;
    let x = ops::to_rgb(g, x, layout.channels)?;
    let x = if side > h.min(w) {
        let pads = vec![(0, 0), (0, 0), (0, side - h), (0, side - w)];
        g.op(Op::Pad { pads, mode: PadMode::Constant(0.0) }, &[x])?
    } else {
        x
    };
    let x = if side == INPUT {
        x
    } else {
        g.op(Op::Upsample { mode: UpsampleMode::BilinearAsymmetric, out_h: INPUT, out_w: INPUT }, &[x])?
    };
    let mean = constant(g, &[1, 3, 1, 1], MEAN.map(|m| m / 255.0).to_vec())?;
    Ok((g.op(Op::Binary(BinaryOp::Sub), &[x, mean])?, Square::of(h, w)))
}

fn leaky(g: &mut GraphBuilder, x: ValueId) -> Result<ValueId, NnError> {
    Ok(g.op(Op::Unary(UnaryOp::LeakyRelu(0.1)), &[x])?)
}

/// Max pooling 2×2 with TensorFlow's SAME padding (the odd row and column at the bottom and
/// right, never the maximum).
fn pool(g: &mut GraphBuilder, x: ValueId, stride: usize) -> Result<ValueId, NnError> {
    let side = g.shape(x)?.dims()[2];
    let pad = (side.div_ceil(stride) - 1) * stride + 2 - side;
    let p = Pool2d { padding: [0, 0, pad, pad], ..Pool2d::new(PoolKind::Max, 2, stride) };
    Ok(g.op(Op::Pool2d(p), &[x])?)
}

/// A separable block: depthwise 3×3 (zero padding 1, no bias), pointwise 1×1 with bias, leaky.
fn separable(g: &mut GraphBuilder, w: &Scope<'_>, x: ValueId, cin: usize, cout: usize) -> Result<ValueId, NnError> {
    let y = conv2d(g, &w.pp("dw"), x, (cin, cin), 3, 1, cin, false, Padding::Explicit([1; 4]))?;
    let y = conv2d(g, &w.pp("pw"), y, (cin, cout), 1, 1, 1, true, Padding::Explicit([0; 4]))?;
    leaky(g, y)
}

/// The network on a preprocessed input: `[1, 25, G, G]` for a grid of G = INPUT / 32 cells,
/// channel `5·anchor + k` with k = (tx, ty, tw, th, confidence logit).
pub fn network(g: &mut GraphBuilder, w: &Weights, x: ValueId) -> Result<ValueId, NnError> {
    let x = conv2d(g, &w.pp("conv0"), x, (3, 16), 3, 1, 1, true, Padding::Explicit([0; 4]))?;
    let mut x = leaky(g, x)?;
    let mut cin = 16;
    for (k, &cout) in BLOCKS.iter().enumerate() {
        x = pool(g, x, 2)?;
        x = separable(g, &w.pp(format!("conv{}", k + 1)), x, cin, cout)?;
        cin = cout;
    }
    let x = pool(g, x, 1)?;
    conv2d(g, &w.pp("conv8"), x, (cin, ANCHORS_PER_CELL * 5), 1, 1, 1, true, Padding::Explicit([0; 4]))
}

/// The pipeline on one image of `layout` (fed [`ocelli_vision::PackedImage::segments`]).
/// Outputs: the NMS rows `[100, 3]`, the boxes `[1, N, 4]` (x1, y1, x2, y2 as fractions of the
/// input) and the face scores `[1, 1, N]`, N = 5 · G² in (row, column, anchor) order.
pub fn graph(weights: &Weights, layout: &PixelLayout, t: Thresholds) -> Result<(Graph, Square), NnError> {
    let mut g = GraphBuilder::new();
    let (x, square) = preprocess(&mut g, layout)?;
    let y = network(&mut g, weights, x)?;
    let grid = INPUT / 32;
    let n = grid * grid * ANCHORS_PER_CELL;
    let y = g.op(Op::Transpose { perm: vec![0, 2, 3, 1] }, &[y])?;
    let y = g.op(Op::Reshape { shape: vec![1, n, 5] }, &[y])?;
    let slice = |g: &mut GraphBuilder, start: usize, end: usize| g.op(Op::Slice { axis: 2, start, end, step: 1 }, &[y]);
    let (txy, twh, logit) = (slice(&mut g, 0, 2)?, slice(&mut g, 2, 4)?, slice(&mut g, 4, 5)?);
    // Centres: (cell + sigmoid(t)) / G; sizes: exp(t) · anchor / G.
    let mut cells = Vec::with_capacity(n * 2);
    let mut sizes = Vec::with_capacity(n * 2);
    for row in 0..grid {
        for col in 0..grid {
            for a in ANCHORS {
                cells.extend([col as f32, row as f32]);
                sizes.extend(a.map(|v| v / grid as f32));
            }
        }
    }
    let cells = constant(&mut g, &[1, n, 2], cells)?;
    let sizes = constant(&mut g, &[1, n, 2], sizes)?;
    let inv_grid = constant(&mut g, &[1], vec![1.0 / grid as f32])?;
    let centre = g.op(Op::Unary(UnaryOp::Sigmoid), &[txy])?;
    let centre = g.op(Op::Binary(BinaryOp::Add), &[centre, cells])?;
    let centre = g.op(Op::Binary(BinaryOp::Mul), &[centre, inv_grid])?;
    let size = g.op(Op::Unary(UnaryOp::Exp), &[twh])?;
    let size = g.op(Op::Binary(BinaryOp::Mul), &[size, sizes])?;
    let half = constant(&mut g, &[1], vec![0.5])?;
    let half_size = g.op(Op::Binary(BinaryOp::Mul), &[size, half])?;
    let low = g.op(Op::Binary(BinaryOp::Sub), &[centre, half_size])?;
    let high = g.op(Op::Binary(BinaryOp::Add), &[centre, half_size])?;
    let boxes = g.op(Op::Concat { axis: 2 }, &[low, high])?;
    let scores = g.op(Op::Unary(UnaryOp::Sigmoid), &[logit])?;
    let scores = g.op(Op::Reshape { shape: vec![1, 1, n] }, &[scores])?;
    // NMS reads (y1, x1, y2, x2); IoU does not change when both axes swap.
    let rows = crate::suppress(&mut g, boxes, scores, MAX_FACES, t)?;
    Ok((g.build(&[rows, boxes, scores])?, square))
}

/// Faces from [`graph`]'s outputs, in image pixels, best first.
pub fn faces(outputs: &[Tensor], square: &Square) -> Vec<Detection> {
    let (Some(rows), Some(boxes), Some(scores)) = (outputs.first(), outputs.get(1), outputs.get(2)) else {
        return Vec::new();
    };
    let (Some(b), Some(s)) = (boxes.as_f32(), scores.as_f32()) else { return Vec::new() };
    selected_boxes(rows)
        .into_iter()
        .map(|[_, _, i]| {
            let [x1, y1] = square.to_image(b[4 * i], b[4 * i + 1]);
            let [x2, y2] = square.to_image(b[4 * i + 2], b[4 * i + 3]);
            Detection { bbox: [x1, y1, x2, y2], class: 0, label: "face".into(), score: s[i], keypoints: Vec::new() }
        })
        .collect()
}
