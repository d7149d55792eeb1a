//! `ocelli-detect`: detectors ([`blazeface`], [`tiny_face`], [`nanodet`], [`mtcnn`]) and what they need around their networks —
//! reading the rows of a GPU non-maximum suppression, box IoU, and the VOC and COCO
//! average-precision metrics.

pub mod blazeface;
mod detector;
mod metrics;
pub mod mtcnn;
pub mod nanodet;
pub mod tiny_face;

pub use detector::{DetectError, Detector, Model, Thresholds};
pub use metrics::{average_precision, coco_map, iou, voc_map, GroundTruth, Interpolation, Prediction};

/// One detected object, in the pixels of the image it was found in.
#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    /// `(x1, y1, x2, y2)`.
    pub bbox: [f32; 4],
    /// Class index in the model's label list.
    pub class: usize,
    /// Class name.
    pub label: String,
    /// Confidence in [0, 1].
    pub score: f32,
    /// Landmarks `(x, y)`, for models that predict them (empty otherwise).
    pub keypoints: Vec<[f32; 2]>,
}

use ocelli_graph::{GraphBuilder, Nms, Op, Overlap, Tensor, TensorData, ValueId};
use ocelli_nn::NnError;

/// The selected `(batch, class, box)` rows of an [`Op::NonMaxSuppression`] output, without the
/// −1 padding, in the op's order.
///
/// [`Op::NonMaxSuppression`]: ocelli_graph::Op::NonMaxSuppression
pub fn selected_boxes(nms_output: &Tensor) -> Vec<[usize; 3]> {
    match nms_output.data() {
        TensorData::I32(v) => {
            v.chunks_exact(3).filter(|r| r[0] >= 0).map(|r| [r[0] as usize, r[1] as usize, r[2] as usize]).collect()
        }
        _ => Vec::new(),
    }
}

/// A constant of `values` in `shape`.
fn constant(g: &mut GraphBuilder, shape: &[usize], values: Vec<f32>) -> Result<ValueId, NnError> {
    Ok(g.constant(Tensor::from_f32(shape.to_vec(), values)?)?)
}

/// `a op b`, broadcasting.
fn binary(g: &mut GraphBuilder, op: ocelli_graph::BinaryOp, a: ValueId, b: ValueId) -> Result<ValueId, NnError> {
    Ok(g.op(Op::Binary(op), &[a, b])?)
}

/// Per-class NMS of `boxes` `[B, N, 4]` by `scores` `[B, C, N]` keeping at most `max` per class
/// above `t.score`, suppressing above `t.iou`: the rows of [`selected_boxes`].
fn suppress(
    g: &mut GraphBuilder,
    boxes: ValueId,
    scores: ValueId,
    max: usize,
    t: Thresholds,
) -> Result<ValueId, NnError> {
    let nms = Nms {
        max_per_class: max,
        iou_threshold: t.iou,
        score_threshold: Some(t.score),
        center_point_box: false,
        class_agnostic: false,
        soft_sigma: None,
        overlap: Overlap::Iou,
    };
    Ok(g.op(Op::NonMaxSuppression(nms), &[boxes, scores])?)
}
