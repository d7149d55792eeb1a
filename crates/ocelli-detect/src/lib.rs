//! `ocelli-detect`: what detectors need around their networks — reading the rows of a GPU
//! non-maximum suppression, box IoU, and the VOC and COCO average-precision metrics.

mod metrics;

pub use metrics::{average_precision, coco_map, iou, voc_map, Detection, GroundTruth, Interpolation};

use ocelli_graph::{Tensor, TensorData};

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
