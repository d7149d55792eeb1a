//! MediaPipe's BlazeFace short-range face detector: an SSD-style network of 16 "blaze" blocks
//! over a 128×128 letterboxed image, with 896 fixed anchors (2 per cell of a 16×16 grid, then 6
//! per cell of an 8×8 grid), each predicting a box, six keypoints and a face score.
//!
//! [`graph`] builds the whole pipeline for one image size: the packed pixels are resized and
//! letterboxed on the device, run through the network, decoded against the anchors and
//! suppressed on the device, each kept box blended with the boxes it suppressed, weighted by
//! score, as MediaPipe's face detection graph does, and mapped to image pixels. [`faces`]
//! reads the resulting [`Detection`]s.

use ocelli_graph::{
    BinaryOp, Graph, GraphBuilder, Op, PadMode, Padding, Pool2d, PoolKind, ReduceOp, Tensor, UnaryOp, UpsampleMode,
    ValueId,
};
use ocelli_nn::{conv2d, NnError, Scope, Weights};
use ocelli_vision::{ops, resize_pixels, PixelLayout};

use crate::{binary, constant, Detection, Thresholds};

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

/// Pairwise IoU `[K, N]` of corner boxes `a` `[K, 4]` and `b` `[N, 4]` (x1, y1, x2, y2);
/// NaN where both are empty.
fn pairwise_iou(g: &mut GraphBuilder, a: ValueId, b: ValueId, (k, n): (usize, usize)) -> Result<ValueId, NnError> {
    let a = g.op(Op::Reshape { shape: vec![k, 1, 4] }, &[a])?;
    let b = g.op(Op::Reshape { shape: vec![1, n, 4] }, &[b])?;
    let half = |g: &mut GraphBuilder, x, start| g.op(Op::Slice { axis: 2, start, end: start + 2, step: 1 }, &[x]);
    let (a_lo, a_hi, b_lo, b_hi) = (half(g, a, 0)?, half(g, a, 2)?, half(g, b, 0)?, half(g, b, 2)?);
    let lo = binary(g, BinaryOp::Max, a_lo, b_lo)?;
    let hi = binary(g, BinaryOp::Min, a_hi, b_hi)?;
    let side = binary(g, BinaryOp::Sub, hi, lo)?;
    let side = g.op(Op::Unary(UnaryOp::Relu), &[side])?;
    let product = |g: &mut GraphBuilder, x| -> Result<ValueId, NnError> {
        let w = g.op(Op::Slice { axis: 2, start: 0, end: 1, step: 1 }, &[x])?;
        let h = g.op(Op::Slice { axis: 2, start: 1, end: 2, step: 1 }, &[x])?;
        binary(g, BinaryOp::Mul, w, h)
    };
    let inter = product(g, side)?;
    let area = |g: &mut GraphBuilder, lo, hi| -> Result<ValueId, NnError> {
        let d = binary(g, BinaryOp::Sub, hi, lo)?;
        let d = g.op(Op::Unary(UnaryOp::Relu), &[d])?;
        product(g, d)
    };
    let (area_a, area_b) = (area(g, a_lo, a_hi)?, area(g, b_lo, b_hi)?);
    let union = binary(g, BinaryOp::Add, area_a, area_b)?;
    let union = binary(g, BinaryOp::Sub, union, inter)?;
    let iou = binary(g, BinaryOp::Div, inter, union)?;
    Ok(g.op(Op::Reshape { shape: vec![k, n] }, &[iou])?)
}

/// MediaPipe's weighted suppression on the device: each kept box `[K]` of `index` blended
/// with the candidates it suppressed (those above the score threshold overlapping it by more
/// than the IoU threshold and no box kept before it), corners and keypoints averaged weighted
/// by score: `[K, 16]` in the input's [0, 1] coordinates.
fn blend(
    g: &mut GraphBuilder,
    (corners, values, scores): (ValueId, ValueId, ValueId),
    index: ValueId,
    t: Thresholds,
) -> Result<ValueId, NnError> {
    let (k, n) = (MAX_FACES, ANCHORS);
    let seeds = g.op(Op::Gather { axis: 0 }, &[corners, index])?;
    let iou = pairwise_iou(g, seeds, corners, (k, n))?;
    let min_iou = constant(g, &[1], vec![t.iou])?;
    let overlaps = binary(g, BinaryOp::Greater, iou, min_iou)?;
    let min_score = constant(g, &[1], vec![t.score])?;
    let candidate = binary(g, BinaryOp::Greater, scores, min_score)?;
    let members = binary(g, BinaryOp::Mul, overlaps, candidate)?;
    // A candidate belongs to the first kept box it overlaps: count the earlier ones.
    let earlier: Vec<f32> = (0..k * k).map(|i| f32::from(u8::from(i % k < i / k))).collect();
    let earlier = constant(g, &[k, k], earlier)?;
    let before = g.op(Op::MatMul { trans_a: false, trans_b: false }, &[earlier, members])?;
    let one = constant(g, &[1], vec![1.0])?;
    let taken = binary(g, BinaryOp::Min, before, one)?;
    let free = binary(g, BinaryOp::Sub, one, taken)?;
    let members = binary(g, BinaryOp::Mul, members, free)?;
    let weights = binary(g, BinaryOp::Mul, members, scores)?;
    let total = g.op(Op::Reduce { op: ReduceOp::Sum, axis: 1, keep_dims: true }, &[weights])?;
    let tiny = constant(g, &[1], vec![f32::MIN_POSITIVE])?;
    let total = binary(g, BinaryOp::Max, total, tiny)?;
    let sums = g.op(Op::MatMul { trans_a: false, trans_b: false }, &[weights, values])?;
    binary(g, BinaryOp::Div, sums, total)
}

/// The pipeline on one image of `layout` (fed [`ocelli_vision::PackedImage::segments`]).
/// Outputs: the faces `[64, 17]` — score, then box corners (x1, y1, x2, y2) and the six
/// keypoints (x, y), blended as MediaPipe does ([`blend`]) and in image pixels; rows past the
/// kept faces are zeros — then the decoded anchors `[1, 896, 16]` (box centre x, y and size
/// w, h, then keypoints x, y, all in [0, 1] of the input) and the face scores `[1, 1, 896]`.
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
    // (cx, cy, w, h) -> (y1, x1, y2, x2), NMS's corner order, and (x1, y1, x2, y2).
    let to_corners = |g: &mut GraphBuilder, m: Vec<f32>, x| -> Result<ValueId, NnError> {
        let m = constant(g, &[4, 4], m)?;
        Ok(g.op(Op::MatMul { trans_a: false, trans_b: false }, &[x, m])?)
    };
    let centre_size = g.op(Op::Slice { axis: 2, start: 0, end: 4, step: 1 }, &[decoded])?;
    #[rustfmt::skip]
    let nms_order = vec![0.0, 1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.0, 0.0, -0.5, 0.0, 0.5, -0.5, 0.0, 0.5, 0.0];
    let boxes = to_corners(&mut g, nms_order, centre_size)?;
    #[rustfmt::skip]
    let xy_order = vec![1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 1.0, -0.5, 0.0, 0.5, 0.0, 0.0, -0.5, 0.0, 0.5];
    let corners = to_corners(&mut g, xy_order, centre_size)?;
    let corners = g.op(Op::Reshape { shape: vec![ANCHORS, 4] }, &[corners])?;
    let keypoints = g.op(Op::Slice { axis: 2, start: 4, end: REGRESSED, step: 1 }, &[decoded])?;
    let keypoints = g.op(Op::Reshape { shape: vec![ANCHORS, REGRESSED - 4] }, &[keypoints])?;
    let values = g.op(Op::Concat { axis: 1 }, &[corners, keypoints])?;
    let scores = g.op(Op::Unary(UnaryOp::Clamp { min: -100.0, max: 100.0 }), &[logits])?;
    let scores = g.op(Op::Unary(UnaryOp::Sigmoid), &[scores])?;
    let scores = g.op(Op::Reshape { shape: vec![1, 1, ANCHORS] }, &[scores])?;
    let rows = crate::suppress(&mut g, boxes, scores, MAX_FACES, t)?;
    let index = g.op(Op::Slice { axis: 1, start: 2, end: 3, step: 1 }, &[rows])?;
    let index = g.op(Op::Reshape { shape: vec![MAX_FACES] }, &[index])?;
    let flat_scores = g.op(Op::Reshape { shape: vec![1, ANCHORS] }, &[scores])?;
    let blended = blend(&mut g, (corners, values, flat_scores), index, t)?;
    // To image pixels: (v·INPUT − offset)·scale, x and y alternating.
    let along = |f: fn(&Letterbox, usize) -> f32| (0..REGRESSED).map(|c| f(&lb, c)).collect::<Vec<f32>>();
    let size = constant(&mut g, &[1, REGRESSED], vec![INPUT as f32; REGRESSED])?;
    let offset = along(|lb, c| if c % 2 == 0 { lb.left as f32 } else { lb.top as f32 });
    let offset = constant(&mut g, &[1, REGRESSED], offset)?;
    let stretch = constant(&mut g, &[1, REGRESSED], along(|lb, c| if c % 2 == 0 { lb.scale_x } else { lb.scale_y }))?;
    let pixels = binary(&mut g, BinaryOp::Mul, blended, size)?;
    let pixels = binary(&mut g, BinaryOp::Sub, pixels, offset)?;
    let pixels = binary(&mut g, BinaryOp::Mul, pixels, stretch)?;
    let score_list = g.op(Op::Reshape { shape: vec![ANCHORS] }, &[scores])?;
    let kept_scores = g.op(Op::Gather { axis: 0 }, &[score_list, index])?;
    let kept_scores = g.op(Op::Reshape { shape: vec![MAX_FACES, 1] }, &[kept_scores])?;
    let faces = g.op(Op::Concat { axis: 1 }, &[kept_scores, pixels])?;
    Ok((g.build(&[faces, decoded, scores])?, lb))
}

/// Faces from [`graph`]'s first output, best first.
pub fn faces(outputs: &[Tensor]) -> Vec<Detection> {
    let Some(rows) = outputs.first().and_then(Tensor::as_f32) else { return Vec::new() };
    rows.chunks_exact(1 + REGRESSED)
        .filter(|r| r[0] > 0.0)
        .map(|r| Detection {
            bbox: [r[1], r[2], r[3], r[4]],
            class: 0,
            label: "face".into(),
            score: r[0],
            keypoints: (0..KEYPOINTS).map(|p| [r[5 + 2 * p], r[6 + 2 * p]]).collect(),
        })
        .collect()
}
