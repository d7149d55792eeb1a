//! NanoDet, an anchor-free COCO detector: a CSP backbone, a PAN neck over strides 8, 16 and 32,
//! and per level a GFL head predicting 80 class scores and, for each box side, a distribution
//! over 11 distance bins (the distance is its expectation times the stride).
//!
//! [`graph`] builds the pipeline for one image size: the image stretched to 416×416 (TensorFlow
//! 1's bilinear coordinates, as the TF.js port prepares it), BGR, normalised with NanoDet's
//! mean and std; the network; the distance decode and the best class of every cell; per-class
//! NMS. [`objects`] reads the kept boxes in image pixels with their COCO names.

use ocelli_graph::{
    BinaryOp, Graph, GraphBuilder, Op, Padding, Pool2d, PoolKind, ReduceOp, Tensor, UnaryOp, UpsampleMode, ValueId,
};
use ocelli_nn::{conv2d, NnError, Scope, Weights};
use ocelli_vision::{ops, resize_pixels, PixelLayout};

use crate::{binary, constant, selected_boxes, Detection, Thresholds};

/// Side of the square network input.
pub const INPUT: usize = 416;
/// COCO classes.
pub const CLASSES: usize = 80;
/// Distance bins per box side.
pub const BINS: usize = 11;
/// The output strides, finest first.
pub const STRIDES: [usize; 3] = [8, 16, 32];
/// The TF.js port's score threshold and NanoDet's per-class NMS IoU.
pub const THRESHOLDS: Thresholds = Thresholds { score: 0.2, iou: 0.6 };
/// Detections kept per image (and per class) at most.
pub const MAX_OBJECTS: usize = 100;
/// NanoDet's BGR mean and std on 0..255 pixels.
const MEAN: [f32; 3] = [103.53, 116.28, 123.675];
const STD: [f32; 3] = [57.375, 57.12, 58.395];
/// CSP stages: channels and residual blocks (stride 1 for the first, 2 after).
const STAGES: [(usize, usize); 4] = [(32, 1), (64, 2), (128, 2), (256, 3)];
/// Channels of the neck and heads.
const NECK: usize = 128;

/// The input `[1, 3, 416, 416]`: the image stretched to the input, BGR, `(v − mean) / std`.
pub fn preprocess(g: &mut GraphBuilder, layout: &PixelLayout) -> Result<ValueId, NnError> {
    let x = resize_pixels(g, layout, INPUT, INPUT, UpsampleMode::BilinearAsymmetric)?;
    let rgb = ops::to_rgb(g, x, layout.channels)?;
    let bgr = ops::swap_red_blue(g, rgb)?;
    let scale = constant(g, &[1, 3, 1, 1], STD.map(|s| 255.0 / s).to_vec())?;
    let shift = constant(g, &[1, 3, 1, 1], (0..3).map(|c| MEAN[c] / STD[c]).collect())?;
    let x = binary(g, BinaryOp::Mul, bgr, scale)?;
    binary(g, BinaryOp::Sub, x, shift)
}

/// 3×3 (padding 1) or 1×1 convolution with bias, optionally leaky ReLU (0.1).
fn conv(
    g: &mut GraphBuilder,
    w: &Scope<'_>,
    x: ValueId,
    io: (usize, usize),
    k: usize,
    stride: usize,
    leaky: bool,
) -> Result<ValueId, NnError> {
    let y = conv2d(g, w, x, io, k, stride, 1, true, Padding::Explicit([k / 2; 4]))?;
    if leaky {
        Ok(g.op(Op::Unary(UnaryOp::LeakyRelu(0.1)), &[y])?)
    } else {
        Ok(y)
    }
}

/// A CSP stage: `x = in_conv(x)`; residual blocks `a = conv1(y); y = [conv2(a), a]`; out
/// `[out_conv(y), x]` (twice the stage's channels).
fn stage(
    g: &mut GraphBuilder,
    w: &Scope<'_>,
    x: ValueId,
    cin: usize,
    (c, blocks): (usize, usize),
    stride: usize,
) -> Result<ValueId, NnError> {
    let x = conv(g, &w.pp("in_conv"), x, (cin, c), 3, stride, true)?;
    let mut y = x;
    for j in 1..=blocks {
        let r = w.pp(format!("res{j}"));
        let a = conv(g, &r.pp("conv1"), y, (c, c / 2), 3, 1, true)?;
        let b = conv(g, &r.pp("conv2"), a, (c / 2, c / 2), 3, 1, true)?;
        y = g.op(Op::Concat { axis: 1 }, &[b, a])?;
    }
    let out = conv(g, &w.pp("out_conv"), y, (c, c), 3, 1, true)?;
    Ok(g.op(Op::Concat { axis: 1 }, &[out, x])?)
}

fn resize(g: &mut GraphBuilder, x: ValueId, side: usize) -> Result<ValueId, NnError> {
    let mode = UpsampleMode::Bilinear { align_corners: false };
    Ok(g.op(Op::Upsample { mode, out_h: side, out_w: side }, &[x])?)
}

/// The network on a preprocessed input: per stride (8, 16, 32) the class scores `[1, cells,
/// 80]` (sigmoid applied) and distance-bin logits `[1, cells, 44]` (left, top, right, bottom ×
/// 11), cells row-major.
pub fn network(g: &mut GraphBuilder, w: &Weights, x: ValueId) -> Result<Vec<(ValueId, ValueId)>, NnError> {
    let b = w.pp("backbone");
    let x = conv(g, &b.pp("stem"), x, (3, 32), 3, 2, true)?;
    let pool = Pool2d { padding: [1; 4], ..Pool2d::new(PoolKind::Max, 3, 2) };
    let mut x = g.op(Op::Pool2d(pool), &[x])?;
    let (mut cin, mut levels) = (32, Vec::new());
    for (s, &spec) in STAGES.iter().enumerate() {
        x = stage(g, &b.pp(format!("stage{}", s + 1)), x, cin, spec, if s == 0 { 1 } else { 2 })?;
        cin = 2 * spec.0;
        levels.push((x, cin));
    }
    let fpn = w.pp("fpn");
    let lateral = |g: &mut GraphBuilder, (x, c): (ValueId, usize), stride: usize| {
        conv(g, &fpn.pp(format!("lateral{stride}")), x, (c, NECK), 1, 1, false)
    };
    let (l8, l16, l32) = (lateral(g, levels[1], 8)?, lateral(g, levels[2], 16)?, lateral(g, levels[3], 32)?);
    let side = |s: usize| INPUT / s;
    let up = resize(g, l32, side(16))?;
    let p16 = binary(g, BinaryOp::Add, l16, up)?;
    let up = resize(g, p16, side(8))?;
    let p8 = binary(g, BinaryOp::Add, l8, up)?;
    let down = resize(g, p8, side(16))?;
    let n16 = binary(g, BinaryOp::Add, p16, down)?;
    let down = resize(g, n16, side(32))?;
    let n32 = binary(g, BinaryOp::Add, l32, down)?;
    let mut outs = Vec::new();
    for (x, stride) in [(p8, 8), (n16, 16), (n32, 32)] {
        let h = w.pp(format!("head{stride}"));
        let y = conv(g, &h.pp("conv"), x, (NECK, NECK), 3, 1, true)?;
        let y = conv(g, &h.pp("out"), y, (NECK, CLASSES + 4 * BINS), 1, 1, false)?;
        let y = g.op(Op::Transpose { perm: vec![0, 2, 3, 1] }, &[y])?;
        let cells = side(stride) * side(stride);
        let y = g.op(Op::Reshape { shape: vec![1, cells, CLASSES + 4 * BINS] }, &[y])?;
        let logits = g.op(Op::Slice { axis: 2, start: 0, end: CLASSES, step: 1 }, &[y])?;
        let scores = g.op(Op::Unary(UnaryOp::Sigmoid), &[logits])?;
        let dist = g.op(Op::Slice { axis: 2, start: CLASSES, end: CLASSES + 4 * BINS, step: 1 }, &[y])?;
        outs.push((scores, dist));
    }
    Ok(outs)
}

/// Boxes `[1, cells, 4]` (x1, y1, x2, y2 in input pixels, clipped to the input) of one level:
/// the cell centre `((x + 0.5)·s, (y + 0.5)·s)` less (plus) the expected distances.
fn decode(g: &mut GraphBuilder, dist: ValueId, stride: usize) -> Result<ValueId, NnError> {
    let side = INPUT / stride;
    let cells = side * side;
    let d = g.op(Op::Reshape { shape: vec![1, cells, 4, BINS] }, &[dist])?;
    let p = g.op(Op::Softmax { axis: 3, log: false }, &[d])?;
    let bins = constant(g, &[BINS, 1], (0..BINS).map(|b| (b * stride) as f32).collect())?;
    let d = g.op(Op::MatMul { trans_a: false, trans_b: false }, &[p, bins])?;
    let d = g.op(Op::Reshape { shape: vec![1, cells, 4] }, &[d])?;
    let mut centres = Vec::with_capacity(cells * 4);
    for y in 0..side {
        for x in 0..side {
            let (cx, cy) = ((x as f32 + 0.5) * stride as f32, (y as f32 + 0.5) * stride as f32);
            centres.extend([cx, cy, cx, cy]);
        }
    }
    let centres = constant(g, &[1, cells, 4], centres)?;
    let signs = constant(g, &[4], vec![-1.0, -1.0, 1.0, 1.0])?;
    let d = binary(g, BinaryOp::Mul, d, signs)?;
    let boxes = binary(g, BinaryOp::Add, centres, d)?;
    Ok(g.op(Op::Unary(UnaryOp::Clamp { min: 0.0, max: INPUT as f32 }), &[boxes])?)
}

/// The pipeline on one image of `layout`. Outputs: the NMS rows `[80·100, 3]` (per class), the
/// boxes `[1, N, 4]` (x1, y1, x2, y2 in input pixels) and the scores `[1, 80, N]`, each cell's
/// only at its best class (the others 0), N = 52² + 26² + 13² cells, finest level first.
pub fn graph(weights: &Weights, layout: &PixelLayout, t: Thresholds) -> Result<Graph, NnError> {
    let mut g = GraphBuilder::new();
    let x = preprocess(&mut g, layout)?;
    let levels = network(&mut g, weights, x)?;
    let (mut boxes, mut scores) = (Vec::new(), Vec::new());
    for (&(s, d), stride) in levels.iter().zip(STRIDES) {
        boxes.push(decode(&mut g, d, stride)?);
        scores.push(s);
    }
    let boxes = g.op(Op::Concat { axis: 1 }, &boxes)?;
    let scores = g.op(Op::Concat { axis: 1 }, &scores)?;
    // Keep each cell's best class: 1 where a score is its cell's maximum, 0 elsewhere.
    let best = g.op(Op::Reduce { op: ReduceOp::Max, axis: 2, keep_dims: true }, &[scores])?;
    let gap = binary(&mut g, BinaryOp::Sub, best, scores)?;
    let steep = constant(&mut g, &[1], vec![1e30])?;
    let one = constant(&mut g, &[1], vec![1.0])?;
    let gap = binary(&mut g, BinaryOp::Mul, gap, steep)?;
    let mask = binary(&mut g, BinaryOp::Sub, one, gap)?;
    let mask = g.op(Op::Unary(UnaryOp::Relu), &[mask])?;
    let scores = binary(&mut g, BinaryOp::Mul, scores, mask)?;
    let scores = g.op(Op::Transpose { perm: vec![0, 2, 1] }, &[scores])?;
    let rows = crate::suppress(&mut g, boxes, scores, MAX_OBJECTS, t)?;
    Ok(g.build(&[rows, boxes, scores])?)
}

/// COCO's 80 class names in NanoDet's order (`assets/coco_classes.txt`, built in).
pub fn coco_labels() -> Vec<String> {
    include_str!("../../../assets/coco_classes.txt").lines().map(str::to_string).collect()
}

/// Objects from [`graph`]'s outputs for an `height`×`width` image: at most 100, best first,
/// named from `labels` (COCO's 80, in order).
pub fn objects(outputs: &[Tensor], height: usize, width: usize, labels: &[String]) -> Vec<Detection> {
    let (Some(rows), Some(boxes), Some(scores)) = (outputs.first(), outputs.get(1), outputs.get(2)) else {
        return Vec::new();
    };
    let (Some(b), Some(s)) = (boxes.as_f32(), scores.as_f32()) else { return Vec::new() };
    let n = b.len() / 4;
    let (sx, sy) = (width as f32 / INPUT as f32, height as f32 / INPUT as f32);
    let mut found: Vec<Detection> = selected_boxes(rows)
        .into_iter()
        .map(|[_, class, i]| Detection {
            bbox: [b[4 * i] * sx, b[4 * i + 1] * sy, b[4 * i + 2] * sx, b[4 * i + 3] * sy],
            class,
            label: labels.get(class).cloned().unwrap_or_else(|| format!("class {class}")),
            score: s[class * n + i],
            keypoints: Vec::new(),
        })
        .collect();
    found.sort_by(|a, b| b.score.total_cmp(&a.score));
    found.truncate(MAX_OBJECTS);
    found
}
