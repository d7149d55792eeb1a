//! MediaPipe's BlazeFace short-range face detector: an SSD-style network of 16 "blaze" blocks
//! over a 128×128 letterboxed image, with 896 fixed anchors (2 per cell of a 16×16 grid, then 6
//! per cell of an 8×8 grid), each predicting a box, six keypoints and a face score.
//!
//! [`graph`] builds the whole pipeline for one image size: the packed pixels are resized and
//! letterboxed on the device, run through the network, decoded against the anchors and
//! suppressed on the device. [`faces`] turns its outputs into [`Detection`]s
//! in image pixels, blending each kept box with the boxes it suppressed, weighted by score, as
//! MediaPipe's face detection graph does.

use ocelli_graph::{
    BinaryOp, Graph, GraphBuilder, Op, PadMode, Padding, Pool2d, PoolKind, Tensor, UnaryOp, UpsampleMode, ValueId,
};
use ocelli_nn::{conv2d, NnError, Scope, Weights};
use ocelli_vision::{ops, resize_pixels, PixelLayout};

use crate::{constant, iou, selected_boxes, Detection, Thresholds};

/// Side of the square network input.
pub const INPUT: usize = 128;
/// Anchors: 16·16·2 + 8·8·6.
pub const ANCHORS: usize = 896;
/// Keypoints per face: eyes, nose tip, mouth centre, ear tragions.
pub const KEYPOINTS: usize = 6;
/// Values each anchor regresses: box centre offset and size, then the keypoints.
pub const REGRESSED: usize = 4 + 2 * KEYPOINTS;
/// Faces kept per image at most.
pub const MAX_FACES: usize = 64;
/// MediaPipe's thresholds: faces score above 0.5; boxes overlapping a kept one by more than
/// IoU 0.3 are suppressed (and blended into it).
pub const THRESHOLDS: Thresholds = Thresholds { score: 0.5, iou: 0.3 };

/// Output channels and depthwise stride of blocks 1 to 16.
const BLOCKS: [(usize, usize); 16] = [
    (24, 1),
    (28, 1),
    (32, 2),
    (36, 1),
    (42, 1),
    (48, 2),
    (56, 1),
    (64, 1),
    (72, 1),
    (80, 1),
    (88, 1),
    (96, 2),
    (96, 1),
    (96, 1),
    (96, 1),
    (96, 1),
];
/// The grids the two heads predict on: (side, anchors per cell, the block they read, scope).
const HEADS: [(usize, usize, usize, &str); 2] = [(16, 2, 11, "head8"), (8, 6, 16, "head16")];

/// Where the image sits in the square input: input pixel (x, y) is image pixel
/// `((x − left)·scale_x, (y − top)·scale_y)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Letterbox {
    /// Rows of padding above the resized image.
    pub top: usize,
    /// Columns of padding left of it.
    pub left: usize,
    /// Height of the resized image.
    pub height: usize,
    /// Width of the resized image.
    pub width: usize,
    /// Image pixels per input pixel, horizontally.
    pub scale_x: f32,
    /// Image pixels per input pixel, vertically.
    pub scale_y: f32,
}

impl Letterbox {
    /// The letterbox of an `height`×`width` image: the long side scaled to [`INPUT`], the
    /// short side in proportion (rounded), centred (the odd row or column of padding at the
    /// bottom or right).
    pub fn of(height: usize, width: usize) -> Self {
        let scale = INPUT as f64 / height.max(width) as f64;
        let side = |d: usize| ((d as f64 * scale).round() as usize).clamp(1, INPUT);
        let (h, w) = (side(height), side(width));
        Letterbox {
            top: (INPUT - h) / 2,
            left: (INPUT - w) / 2,
            height: h,
            width: w,
            scale_x: width as f32 / w as f32,
            scale_y: height as f32 / h as f32,
        }
    }

    /// Input coordinates in [0, 1] to image pixels.
    pub fn to_image(&self, x: f32, y: f32) -> [f32; 2] {
        [(x * INPUT as f32 - self.left as f32) * self.scale_x, (y * INPUT as f32 - self.top as f32) * self.scale_y]
    }
}

fn binary(g: &mut GraphBuilder, op: BinaryOp, a: ValueId, b: ValueId) -> Result<ValueId, NnError> {
    Ok(g.op(Op::Binary(op), &[a, b])?)
}

/// The input `[1, 3, 128, 128]` in [−1, 1]: the packed image resized (bilinear) into its
/// letterbox, padded with −1 (black). Grey images are repeated into three channels and alpha
/// is dropped.
pub fn preprocess(g: &mut GraphBuilder, layout: &PixelLayout) -> Result<(ValueId, Letterbox), NnError> {
    let lb = Letterbox::of(layout.height, layout.width);
    let (h, w) = (lb.height, lb.width);
    let x = resize_pixels(g, layout, h, w, UpsampleMode::Bilinear { align_corners: false })?;
    let x = ops::to_rgb(g, x, layout.channels)?;
    let two = constant(g, &[1], vec![2.0])?;
    let one = constant(g, &[1], vec![1.0])?;
    let x = binary(g, BinaryOp::Mul, x, two)?;
    let x = binary(g, BinaryOp::Sub, x, one)?;
    let pads = vec![(0, 0), (0, 0), (lb.top, INPUT - h - lb.top), (lb.left, INPUT - w - lb.left)];
    Ok((g.op(Op::Pad { pads, mode: PadMode::Constant(-1.0) }, &[x])?, lb))
}

/// One blaze block: depthwise 3×3 (stride 1 or 2, TensorFlow's SAME padding), pointwise 1×1,
/// plus the input (max-pooled when strided, zero channels appended when widened), ReLU.
fn block(
    g: &mut GraphBuilder,
    w: &Scope<'_>,
    x: ValueId,
    cin: usize,
    (cout, stride): (usize, usize),
) -> Result<ValueId, NnError> {
    let y = conv2d(g, &w.pp("dw"), x, (cin, cin), 3, stride, cin, true, Padding::Same)?;
    let y = conv2d(g, &w.pp("pw"), y, (cin, cout), 1, 1, 1, true, Padding::Explicit([0; 4]))?;
    let mut skip = x;
    if stride == 2 {
        skip = g.op(Op::Pool2d(Pool2d::new(PoolKind::Max, 2, 2)), &[skip])?;
    }
    if cout > cin {
        let pads = vec![(0, 0), (0, cout - cin), (0, 0), (0, 0)];
        skip = g.op(Op::Pad { pads, mode: PadMode::Constant(0.0) }, &[skip])?;
    }
    let y = binary(g, BinaryOp::Add, y, skip)?;
    Ok(g.op(Op::Unary(UnaryOp::Relu), &[y])?)
}

/// A head's predictions, anchor-major as TensorFlow lays them out (cell row, column, anchor):
/// `[1, side²·per_cell, width]`.
fn head(
    g: &mut GraphBuilder,
    w: &Scope<'_>,
    x: ValueId,
    cin: usize,
    side: usize,
    per_cell: usize,
    width: usize,
) -> Result<ValueId, NnError> {
    let y = conv2d(g, w, x, (cin, per_cell * width), 1, 1, 1, true, Padding::Explicit([0; 4]))?;
    let y = g.op(Op::Transpose { perm: vec![0, 2, 3, 1] }, &[y])?;
    Ok(g.op(Op::Reshape { shape: vec![1, side * side * per_cell, width] }, &[y])?)
}

/// The network on a preprocessed input `[1, 3, 128, 128]`: raw face logits `[1, 896, 1]` and
/// regressions `[1, 896, 16]`, in the order of [`anchors`].
pub fn network(g: &mut GraphBuilder, w: &Weights, x: ValueId) -> Result<(ValueId, ValueId), NnError> {
    let x = conv2d(g, &w.pp("conv0"), x, (3, 24), 5, 2, 1, true, Padding::Same)?;
    let mut x = g.op(Op::Unary(UnaryOp::Relu), &[x])?;
    let (mut cin, mut taps) = (24, Vec::new());
    for (k, &spec) in BLOCKS.iter().enumerate() {
        x = block(g, &w.pp(format!("block{}", k + 1)), x, cin, spec)?;
        cin = spec.0;
        taps.push((x, cin));
    }
    let (mut logits, mut regressions) = (Vec::new(), Vec::new());
    for (side, per_cell, tap, scope) in HEADS {
        let (x, c) = taps[tap - 1];
        logits.push(head(g, &w.pp(scope).pp("classifier"), x, c, side, per_cell, 1)?);
        regressions.push(head(g, &w.pp(scope).pp("regressor"), x, c, side, per_cell, REGRESSED)?);
    }
    let logits = g.op(Op::Concat { axis: 1 }, &logits)?;
    let regressions = g.op(Op::Concat { axis: 1 }, &regressions)?;
    Ok((logits, regressions))
}

/// Anchor centres `(x, y)` in [0, 1], in the network's output order.
pub fn anchors() -> Vec<[f32; 2]> {
    let mut out = Vec::with_capacity(ANCHORS);
    for (side, per_cell, _, _) in HEADS {
        for y in 0..side {
            for x in 0..side {
                let c = [(x as f32 + 0.5) / side as f32, (y as f32 + 0.5) / side as f32];
                out.extend(std::iter::repeat_n(c, per_cell));
            }
        }
    }
    out
}

/// The pipeline on one image of `layout` (fed [`ocelli_vision::PackedImage::segments`]).
/// Outputs: the NMS rows `[64, 3]` (see [`crate::selected_boxes`]), the decoded anchors
/// `[1, 896, 16]` (box centre x, y and size w, h, then keypoints x, y, all in [0, 1] of the
/// input), and the face scores `[1, 1, 896]`.
pub fn graph(weights: &Weights, layout: &PixelLayout, t: Thresholds) -> Result<(Graph, Letterbox), NnError> {
    let mut g = GraphBuilder::new();
    let (x, lb) = preprocess(&mut g, layout)?;
    let (logits, regressions) = network(&mut g, weights, x)?;
    // Offsets in input pixels, scaled to [0, 1], plus the anchor centre on every x and y.
    let mut centres = Vec::with_capacity(ANCHORS * REGRESSED);
    for [ax, ay] in anchors() {
        for k in 0..REGRESSED {
            centres.push(match k {
                2 | 3 => 0.0,
                k if k % 2 == 0 => ax,
                _ => ay,
            });
        }
    }
    let scale = constant(&mut g, &[1], vec![1.0 / INPUT as f32])?;
    let centres = constant(&mut g, &[1, ANCHORS, REGRESSED], centres)?;
    let decoded = binary(&mut g, BinaryOp::Mul, regressions, scale)?;
    let decoded = binary(&mut g, BinaryOp::Add, decoded, centres)?;
    // (cx, cy, w, h) -> (y1, x1, y2, x2), NMS's corner order.
    let corners = constant(
        &mut g,
        &[4, 4],
        vec![0.0, 1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.0, 0.0, -0.5, 0.0, 0.5, -0.5, 0.0, 0.5, 0.0],
    )?;
    let centre_size = g.op(Op::Slice { axis: 2, start: 0, end: 4, step: 1 }, &[decoded])?;
    let boxes = g.op(Op::MatMul { trans_a: false, trans_b: false }, &[centre_size, corners])?;
    let scores = g.op(Op::Unary(UnaryOp::Clamp { min: -100.0, max: 100.0 }), &[logits])?;
    let scores = g.op(Op::Unary(UnaryOp::Sigmoid), &[scores])?;
    let scores = g.op(Op::Reshape { shape: vec![1, 1, ANCHORS] }, &[scores])?;
    let rows = crate::suppress(&mut g, boxes, scores, MAX_FACES, t)?;
    Ok((g.build(&[rows, decoded, scores])?, lb))
}

/// Faces from [`graph`]'s outputs: each kept box blended with the candidates it suppressed
/// (the box corners and keypoints averaged, weighted by score; the score is the kept box's), in
/// image pixels, best first.
pub fn faces(outputs: &[Tensor], lb: &Letterbox, t: Thresholds) -> Vec<Detection> {
    let (Some(rows), Some(decoded), Some(scores)) = (outputs.first(), outputs.get(1), outputs.get(2)) else {
        return Vec::new();
    };
    let (Some(d), Some(s)) = (decoded.as_f32(), scores.as_f32()) else { return Vec::new() };
    // Corners (x1, y1, x2, y2) and keypoints of anchor i, in [0, 1].
    let corners = |i: usize| {
        let v = &d[i * REGRESSED..i * REGRESSED + 4];
        [v[0] - v[2] / 2.0, v[1] - v[3] / 2.0, v[0] + v[2] / 2.0, v[1] + v[3] / 2.0]
    };
    let kept: Vec<usize> = selected_boxes(rows).into_iter().map(|[_, _, i]| i).collect();
    let candidates: Vec<usize> = (0..ANCHORS).filter(|&i| s[i] > t.score).collect();
    let overlaps = |a: usize, b: usize| iou(corners(a), corners(b)) > t.iou;
    kept.iter()
        .enumerate()
        .map(|(k, &seed)| {
            // The candidates this box suppressed: not taken by a box kept before it.
            let members =
                candidates.iter().filter(|&&i| overlaps(i, seed) && !kept[..k].iter().any(|&e| overlaps(i, e)));
            let (mut sum, mut acc) = (0f32, [0f32; REGRESSED]);
            for &i in members {
                let c = corners(i);
                for (j, a) in acc.iter_mut().enumerate() {
                    *a += s[i] * if j < 4 { c[j] } else { d[i * REGRESSED + j] };
                }
                sum += s[i];
            }
            let v = acc.map(|a| a / sum.max(f32::MIN_POSITIVE));
            let [x1, y1] = lb.to_image(v[0], v[1]);
            let [x2, y2] = lb.to_image(v[2], v[3]);
            Detection {
                bbox: [x1, y1, x2, y2],
                class: 0,
                label: "face".into(),
                score: s[seed],
                keypoints: (0..KEYPOINTS).map(|p| lb.to_image(v[4 + 2 * p], v[5 + 2 * p])).collect(),
            }
        })
        .collect()
}
