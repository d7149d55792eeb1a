//! MTCNN (Zhang et al. 2016, as facenet-pytorch 2.6.0 runs it): a cascade of three small
//! networks. P-Net slides over an image pyramid and proposes boxes; each proposal is cropped,
//! area-resized to 24×24 and rescored by R-Net; the survivors are cropped to 48×48 for O-Net,
//! which scores them again, refines the box and places five landmarks.
//!
//! [`graph`] builds the whole cascade for one image size as one plan: the pyramid, the three
//! networks, every threshold, box regression, squaring, cropping ([`Op::CropResize`]) and
//! suppression run on the device, and one readback returns the final faces. The stages keep
//! fixed numbers of proposals ([`Capacity`]), the lowest-scoring ones dropping first when an
//! image has more. [`faces`] reads the result. `scripts/convert_mtcnn.py` documents every formula,
//! down to which widths take a +1, with the independent numpy implementation that wrote the
//! golden.

use ocelli_graph::{
    BinaryOp, Graph, GraphBuilder, GraphError, Nms, Op, Overlap, Padding, Pool2d, PoolKind, ReduceOp, Tensor,
    UpsampleMode, ValueId,
};
use ocelli_nn::{conv2d, linear, NnError, Scope, Weights};
use ocelli_vision::{ops, resize_pixels, PixelLayout};

use crate::{binary, constant, Detection, Thresholds};

/// The smallest face looked for, in image pixels: the pyramid starts at 12 / 20.
pub const MIN_FACE: f64 = 20.0;
/// Ratio between pyramid scales.
pub const FACTOR: f64 = 0.709;
/// P-Net keeps cells scoring at least this.
pub const PNET_SCORE: f32 = 0.6;
/// R-Net keeps proposals scoring above this.
pub const RNET_SCORE: f32 = 0.7;
/// facenet-pytorch's last stage: O-Net scores above 0.7, then boxes overlapping a better one by
/// more than 0.7 of the smaller box's area are dropped.
pub const THRESHOLDS: Thresholds = Thresholds { score: 0.7, iou: 0.7 };
/// Landmarks per face: eyes, nose, mouth corners.
pub const LANDMARKS: usize = 5;
/// Values per row of [`graph`]'s output: box, score, landmark x's, landmark y's.
pub const ROW: usize = 5 + 2 * LANDMARKS;

/// How many proposals each stage carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capacity {
    /// P-Net proposals kept per pyramid scale and in all (R-Net's batch).
    pub proposals: usize,
    /// R-Net survivors (O-Net's batch), and faces at most.
    pub refined: usize,
}

impl Capacity {
    /// For an `height`×`width` image: 256 proposals and 64 refined boxes, more for images over
    /// 512×512 (one proposal per 32×32 pixels, one refined box per 64×64).
    pub fn of(height: usize, width: usize) -> Self {
        let area = height.saturating_mul(width);
        Capacity { proposals: (area / 1024).clamp(256, 4096), refined: (area / 4096).clamp(64, 1024) }
    }
}

/// The pyramid of an `height`×`width` image: (scale, height, width) per level, as
/// facenet-pytorch computes them (float64 products, sizes `int(side·scale + 1)`).
pub fn pyramid(height: usize, width: usize) -> Vec<(f64, usize, usize)> {
    let mut scale = 12.0 / MIN_FACE;
    let mut side = height.min(width) as f64 * scale;
    let mut out = Vec::new();
    while side >= 12.0 {
        out.push((scale, (height as f64 * scale + 1.0) as usize, (width as f64 * scale + 1.0) as usize));
        scale *= FACTOR;
        side *= FACTOR;
    }
    out
}

/// `x` reshaped.
fn reshape(g: &mut GraphBuilder, x: ValueId, shape: &[usize]) -> Result<ValueId, NnError> {
    Ok(g.op(Op::Reshape { shape: shape.to_vec() }, &[x])?)
}

/// Columns `start..end` of a `[K, n]` value.
fn columns(g: &mut GraphBuilder, x: ValueId, start: usize, end: usize) -> Result<ValueId, NnError> {
    Ok(g.op(Op::Slice { axis: 1, start, end, step: 1 }, &[x])?)
}

/// `x + a` for a constant row `a` broadcast over `x`'s rows (or a scalar).
fn add_const(g: &mut GraphBuilder, x: ValueId, a: &[f32]) -> Result<ValueId, NnError> {
    let a = constant(g, &[1, a.len()], a.to_vec())?;
    binary(g, BinaryOp::Add, x, a)
}

/// The network input from pixels 0..255: `(v − 127.5) / 128`.
fn normalise(g: &mut GraphBuilder, x: ValueId) -> Result<ValueId, NnError> {
    let mean = constant(g, &[1], vec![127.5])?;
    let scale = constant(g, &[1], vec![0.0078125])?;
    let x = binary(g, BinaryOp::Sub, x, mean)?;
    binary(g, BinaryOp::Mul, x, scale)
}

/// PReLU with the slopes of `w` (one per channel; `spatial` for NCHW maps).
fn prelu(g: &mut GraphBuilder, w: &Scope<'_>, x: ValueId, c: usize, spatial: bool) -> Result<ValueId, NnError> {
    let slope = w.get("weight", &[c])?;
    let slope = if spatial { slope.reshaped([c, 1, 1])? } else { slope };
    let slope = g.constant(slope)?;
    binary(g, BinaryOp::PRelu, x, slope)
}

/// Unpadded stride-1 convolution with bias, then PReLU (scopes `conv{k}`, `prelu{k}`).
fn conv_prelu(
    g: &mut GraphBuilder,
    w: &Scope<'_>,
    x: ValueId,
    k: usize,
    (cin, cout): (usize, usize),
    kernel: usize,
) -> Result<ValueId, NnError> {
    let y = conv2d(g, &w.pp(format!("conv{k}")), x, (cin, cout), kernel, 1, 1, true, Padding::Explicit([0; 4]))?;
    prelu(g, &w.pp(format!("prelu{k}")), y, cout, true)
}

/// Max pooling with PyTorch's ceil mode.
fn pool(g: &mut GraphBuilder, x: ValueId, k: usize, s: usize) -> Result<ValueId, NnError> {
    Ok(g.op(Op::Pool2d(Pool2d { ceil_mode: true, ..Pool2d::new(PoolKind::Max, k, s) }), &[x])?)
}

/// The face probability (softmax channel 1) of `[K, 2]` logits: `[K]`.
fn face_probability(g: &mut GraphBuilder, logits: ValueId, k: usize) -> Result<ValueId, NnError> {
    let p = g.op(Op::Softmax { axis: 1, log: false }, &[logits])?;
    let p = columns(g, p, 1, 2)?;
    reshape(g, p, &[k])
}

/// Flattens `[K, C, 3, 3]` features in the ported weights' order, column-major then channel:
/// index `(x·3 + y)·C + c`.
fn flatten(g: &mut GraphBuilder, x: ValueId, k: usize, c: usize) -> Result<ValueId, NnError> {
    let x = g.op(Op::Transpose { perm: vec![0, 3, 2, 1] }, &[x])?;
    reshape(g, x, &[k, 9 * c])
}

/// P-Net on a normalised `[1, 3, H, W]` level: face probabilities `[1, 2, H', W']` (softmax
/// over the channels) and box regressions `[1, 4, H', W']`.
pub fn pnet(g: &mut GraphBuilder, w: &Weights, x: ValueId) -> Result<(ValueId, ValueId), NnError> {
    let w = w.pp("pnet");
    let x = conv_prelu(g, &w, x, 1, (3, 10), 3)?;
    let x = pool(g, x, 2, 2)?;
    let x = conv_prelu(g, &w, x, 2, (10, 16), 3)?;
    let x = conv_prelu(g, &w, x, 3, (16, 32), 3)?;
    let head = |g: &mut GraphBuilder, name: &str, out| {
        conv2d(g, &w.pp(name), x, (32, out), 1, 1, 1, true, Padding::Explicit([0; 4]))
    };
    let logits = head(g, "conv4_1", 2)?;
    let prob = g.op(Op::Softmax { axis: 1, log: false }, &[logits])?;
    Ok((prob, head(g, "conv4_2", 4)?))
}

/// R-Net on `k` normalised 24×24 crops: face probabilities `[k]` and regressions `[k, 4]`.
pub fn rnet(g: &mut GraphBuilder, w: &Weights, x: ValueId, k: usize) -> Result<(ValueId, ValueId), NnError> {
    let w = w.pp("rnet");
    let x = conv_prelu(g, &w, x, 1, (3, 28), 3)?;
    let x = pool(g, x, 3, 2)?;
    let x = conv_prelu(g, &w, x, 2, (28, 48), 3)?;
    let x = pool(g, x, 3, 2)?;
    let x = conv_prelu(g, &w, x, 3, (48, 64), 2)?;
    let x = flatten(g, x, k, 64)?;
    let x = linear(g, &w.pp("dense4"), x, 576, 128)?;
    let x = prelu(g, &w.pp("prelu4"), x, 128, false)?;
    let logits = linear(g, &w.pp("dense5_1"), x, 128, 2)?;
    Ok((face_probability(g, logits, k)?, linear(g, &w.pp("dense5_2"), x, 128, 4)?))
}

/// O-Net on `k` normalised 48×48 crops: face probabilities `[k]`, regressions `[k, 4]` and
/// landmarks `[k, 10]` (five x's, then five y's, as fractions of the box).
pub fn onet(g: &mut GraphBuilder, w: &Weights, x: ValueId, k: usize) -> Result<[ValueId; 3], NnError> {
    let w = w.pp("onet");
    let x = conv_prelu(g, &w, x, 1, (3, 32), 3)?;
    let x = pool(g, x, 3, 2)?;
    let x = conv_prelu(g, &w, x, 2, (32, 64), 3)?;
    let x = pool(g, x, 3, 2)?;
    let x = conv_prelu(g, &w, x, 3, (64, 64), 3)?;
    let x = pool(g, x, 2, 2)?;
    let x = conv_prelu(g, &w, x, 4, (64, 128), 2)?;
    let x = flatten(g, x, k, 128)?;
    let x = linear(g, &w.pp("dense5"), x, 1152, 256)?;
    let x = prelu(g, &w.pp("prelu5"), x, 256, false)?;
    let logits = linear(g, &w.pp("dense6_1"), x, 256, 2)?;
    let prob = face_probability(g, logits, k)?;
    Ok([prob, linear(g, &w.pp("dense6_2"), x, 256, 4)?, linear(g, &w.pp("dense6_3"), x, 256, 2 * LANDMARKS)?])
}

/// The 12×12 window of every P-Net cell of a `gh`×`gw` grid at `scale`, in image pixels,
/// row-major, with facenet-pytorch's float32 rounding: `floor((2j + 1) / s)` .. `floor((2j +
/// 12) / s)`.
fn cell_boxes(gh: usize, gw: usize, scale: f64) -> Vec<f32> {
    let s = scale as f32;
    let at = |v: usize| (v as f32 / s).floor();
    let mut out = Vec::with_capacity(gh * gw * 4);
    for i in 0..gh {
        for j in 0..gw {
            out.extend([at(2 * j + 1), at(2 * i + 1), at(2 * j + 12), at(2 * i + 12)]);
        }
    }
    out
}

/// The rows NMS keeps of `boxes` `[n, 4]` scored `scores` `[n]` (score above `min`), as
/// indices `[max]` (−1 past the kept ones).
fn keep(
    g: &mut GraphBuilder,
    (boxes, scores, n): (ValueId, ValueId, usize),
    max: usize,
    min: f32,
    (iou, overlap): (f32, Overlap),
) -> Result<ValueId, NnError> {
    let nms = Nms {
        max_per_class: max.min(n),
        iou_threshold: iou,
        score_threshold: Some(min),
        center_point_box: false,
        class_agnostic: false,
        soft_sigma: None,
        overlap,
    };
    let b = reshape(g, boxes, &[1, n, 4])?;
    let s = reshape(g, scores, &[1, 1, n])?;
    let rows = g.op(Op::NonMaxSuppression(nms), &[b, s])?;
    let index = columns(g, rows, 2, 3)?;
    reshape(g, index, &[max.min(n)])
}

fn gather(g: &mut GraphBuilder, x: ValueId, index: ValueId) -> Result<ValueId, NnError> {
    Ok(g.op(Op::Gather { axis: 0 }, &[x, index])?)
}

/// Which of `n` rows an index vector names: 1 for a kept row, 0 for NMS's −1 padding.
fn kept_mask(g: &mut GraphBuilder, index: ValueId, n: usize) -> Result<ValueId, NnError> {
    let ones = constant(g, &[n], vec![1.0; n])?;
    gather(g, ones, index)
}

/// `(w, h, w, h)` of `[K, 4]` corner boxes, plus `extra`.
fn sizes(g: &mut GraphBuilder, boxes: ValueId, extra: f32) -> Result<ValueId, NnError> {
    #[rustfmt::skip]
    let m = constant(g, &[4, 4], vec![
        -1.0, 0.0, -1.0, 0.0,
        0.0, -1.0, 0.0, -1.0,
        1.0, 0.0, 1.0, 0.0,
        0.0, 1.0, 0.0, 1.0,
    ])?;
    let wh = g.op(Op::MatMul { trans_a: false, trans_b: false }, &[boxes, m])?;
    if extra == 0.0 {
        return Ok(wh);
    }
    add_const(g, wh, &[extra])
}

/// Box regression: every corner moves by its offset times the box's width or height (`+ extra`).
fn regress(g: &mut GraphBuilder, boxes: ValueId, offsets: ValueId, extra: f32) -> Result<ValueId, NnError> {
    let wh = sizes(g, boxes, extra)?;
    let d = binary(g, BinaryOp::Mul, offsets, wh)?;
    binary(g, BinaryOp::Add, boxes, d)
}

/// The square of side max(w, h) centred on each box.
fn square(g: &mut GraphBuilder, boxes: ValueId) -> Result<ValueId, NnError> {
    let wh = sizes(g, boxes, 0.0)?;
    let wh = columns(g, wh, 0, 2)?;
    let side = g.op(Op::Reduce { op: ReduceOp::Max, axis: 1, keep_dims: true }, &[wh])?;
    let half = constant(g, &[1], vec![0.5])?;
    let corner = columns(g, boxes, 0, 2)?;
    let grow = binary(g, BinaryOp::Mul, wh, half)?;
    let corner = binary(g, BinaryOp::Add, corner, grow)?;
    let shrink = binary(g, BinaryOp::Mul, side, half)?;
    let corner = binary(g, BinaryOp::Sub, corner, shrink)?;
    let far = binary(g, BinaryOp::Add, corner, side)?;
    Ok(g.op(Op::Concat { axis: 1 }, &[corner, far])?)
}

/// Normalised `side`×`side` crops of `image` (0..255) for `k` boxes: facenet-pytorch's
/// MATLAB-style corners, columns `trunc(x1) − 1 .. trunc(x2)` clipped to the image.
fn crops(g: &mut GraphBuilder, image: ValueId, boxes: ValueId, k: usize, side: usize) -> Result<ValueId, NnError> {
    let rects = add_const(g, boxes, &[-1.0, -1.0, 0.0, 0.0])?;
    let batch = g.constant(Tensor::from_i32([k], vec![0; k])?)?;
    let x = g.op(Op::CropResize { out_h: side, out_w: side }, &[image, rects, batch])?;
    normalise(g, x)
}

/// Stage 1: P-Net over the pyramid of `image` (0..255, `[1, 3, H, W]`), suppressed per scale
/// (IoU 0.5) and across scales (0.7): proposals `[n, 4]`, regressions `[n, 4]`, their kept
/// mask `[n]`.
fn propose(
    g: &mut GraphBuilder,
    w: &Weights,
    image: ValueId,
    (height, width): (usize, usize),
    n: usize,
) -> Result<[ValueId; 3], NnError> {
    // "At least 0.6" as NMS's "above": the float just below.
    let min = f32::from_bits(PNET_SCORE.to_bits() - 1);
    let (mut boxes, mut scores, mut offsets) = (Vec::new(), Vec::new(), Vec::new());
    let mut total = 0;
    for (scale, hs, ws) in pyramid(height, width) {
        let level = g.op(Op::Upsample { mode: UpsampleMode::Area, out_h: hs, out_w: ws }, &[image])?;
        let level = normalise(g, level)?;
        let (prob, reg) = pnet(g, w, level)?;
        let &[_, _, gh, gw] = g.shape(prob)?.dims() else { unreachable!("P-Net maps are NCHW") };
        let cells = gh * gw;
        let face = g.op(Op::Slice { axis: 1, start: 1, end: 2, step: 1 }, &[prob])?;
        let face = reshape(g, face, &[cells])?;
        let reg = reshape(g, reg, &[4, cells])?;
        let reg = g.op(Op::Transpose { perm: vec![1, 0] }, &[reg])?;
        let cell = constant(g, &[cells, 4], cell_boxes(gh, gw, scale))?;
        let index = keep(g, (cell, face, cells), n, min, (0.5, Overlap::Iou))?;
        boxes.push(gather(g, cell, index)?);
        scores.push(gather(g, face, index)?);
        offsets.push(gather(g, reg, index)?);
        total += n.min(cells);
    }
    let boxes = g.op(Op::Concat { axis: 0 }, &boxes)?;
    let scores = g.op(Op::Concat { axis: 0 }, &scores)?;
    let offsets = g.op(Op::Concat { axis: 0 }, &offsets)?;
    // Padding rows scored 0 and are never candidates again.
    let index = keep(g, (boxes, scores, total), n, 0.0, (0.7, Overlap::Iou))?;
    let kept = kept_mask(g, index, total)?;
    Ok([gather(g, boxes, index)?, gather(g, offsets, index)?, kept])
}

/// The cascade on one image of `layout` (fed [`ocelli_vision::PackedImage::segments`]).
/// Outputs: `[refined, ROW]`, the faces O-Net keeps and the last suppression leaves, best first,
/// each `(x1, y1, x2, y2, score, landmark x ×5, landmark y ×5)` in image pixels, rows past them
/// zeros; and the masks (1 kept, 0 padding) of the proposals R-Net scores (`[proposals]`) and
/// of those O-Net scores (`[refined]`), which count what each stage passed on. `t.score` is O-Net's threshold, `t.iou` the last suppression's (over the smaller
/// box's area). An image under 20 pixels on a side has no pyramid: an error (the
/// [`crate::Detector`] finds no faces in it).
pub fn graph(weights: &Weights, layout: &PixelLayout, t: Thresholds) -> Result<Graph, NnError> {
    let (h, w) = (layout.height, layout.width);
    if pyramid(h, w).is_empty() {
        let why = format!("MTCNN looks for faces of at least {MIN_FACE} pixels: a {w}x{h} image is too small");
        return Err(GraphError::InvalidParam { op: "mtcnn", why }.into());
    }
    let cap = Capacity::of(h, w);
    let mut g = GraphBuilder::new();
    let x = resize_pixels(&mut g, layout, h, w, UpsampleMode::Nearest)?;
    let x = ops::to_rgb(&mut g, x, layout.channels)?;
    let full = constant(&mut g, &[1], vec![255.0])?;
    let image = binary(&mut g, BinaryOp::Mul, x, full)?;

    let [proposals, offsets, proposed] = propose(&mut g, weights, image, (h, w), cap.proposals)?;
    let n1 = g.shape(proposed)?.numel();
    let boxes = regress(&mut g, proposals, offsets, 0.0)?;
    let boxes = square(&mut g, boxes)?;

    // Stage 2: R-Net rescoring of the squared proposals.
    let input = crops(&mut g, image, boxes, n1, 24)?;
    let (score, offsets) = rnet(&mut g, weights, input, n1)?;
    let score = binary(&mut g, BinaryOp::Mul, score, proposed)?;
    let index = keep(&mut g, (boxes, score, n1), cap.refined, RNET_SCORE, (0.7, Overlap::Iou))?;
    let n2 = cap.refined.min(n1);
    let kept = kept_mask(&mut g, index, n1)?;
    let boxes = gather(&mut g, boxes, index)?;
    let offsets = gather(&mut g, offsets, index)?;
    let boxes = regress(&mut g, boxes, offsets, 1.0)?;
    let boxes = square(&mut g, boxes)?;

    // Stage 3: O-Net scores, boxes and landmarks; the last suppression over the smaller area,
    // with facenet-pytorch's +1 pixel sizes (the far corners moved out by one).
    let input = crops(&mut g, image, boxes, n2, 48)?;
    let [score, offsets, marks] = onet(&mut g, weights, input, n2)?;
    let score = binary(&mut g, BinaryOp::Mul, score, kept)?;
    let wh = sizes(&mut g, boxes, 1.0)?;
    let origin = add_const(&mut g, boxes, &[-1.0; 4])?;
    let mut landmarks = Vec::new();
    for axis in 0..2 {
        let fraction = columns(&mut g, marks, axis * LANDMARKS, (axis + 1) * LANDMARKS)?;
        let size = columns(&mut g, wh, axis, axis + 1)?;
        let at = binary(&mut g, BinaryOp::Mul, fraction, size)?;
        let start = columns(&mut g, origin, axis, axis + 1)?;
        landmarks.push(binary(&mut g, BinaryOp::Add, at, start)?);
    }
    let boxes = regress(&mut g, boxes, offsets, 1.0)?;
    let inclusive = add_const(&mut g, boxes, &[0.0, 0.0, 1.0, 1.0])?;
    let index = keep(&mut g, (inclusive, score, n2), n2, t.score, (t.iou, Overlap::Min))?;
    let score = reshape(&mut g, score, &[n2, 1])?;
    let rows = g.op(Op::Concat { axis: 1 }, &[boxes, score, landmarks[0], landmarks[1]])?;
    let rows = gather(&mut g, rows, index)?;
    Ok(g.build(&[rows, proposed, kept])?)
}

/// Faces from [`graph`]'s output, largest box first (facenet-pytorch's `select_largest`).
pub fn faces(outputs: &[Tensor]) -> Vec<Detection> {
    let Some(rows) = outputs.first().and_then(Tensor::as_f32) else { return Vec::new() };
    let mut out: Vec<Detection> = rows
        .chunks_exact(ROW)
        .filter(|r| r[4] > 0.0)
        .map(|r| Detection {
            bbox: [r[0], r[1], r[2], r[3]],
            class: 0,
            label: "face".into(),
            score: r[4],
            keypoints: (0..LANDMARKS).map(|k| [r[5 + k], r[5 + LANDMARKS + k]]).collect(),
        })
        .collect();
    let area = |d: &Detection| (d.bbox[2] - d.bbox[0]) * (d.bbox[3] - d.bbox[1]);
    out.sort_by(|a, b| area(b).total_cmp(&area(a)));
    out
}
