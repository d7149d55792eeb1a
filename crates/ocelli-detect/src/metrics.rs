//! IoU and average precision, computed on the CPU.

/// Intersection over union of two boxes `(x1, y1, x2, y2)`; 0 when the union is empty.
pub fn iou(a: [f32; 4], b: [f32; 4]) -> f32 {
    let iw = (a[2].min(b[2]) - a[0].max(b[0])).max(0.0);
    let ih = (a[3].min(b[3]) - a[1].max(b[1])).max(0.0);
    let inter = iw * ih;
    let area = |r: [f32; 4]| (r[2] - r[0]).max(0.0) * (r[3] - r[1]).max(0.0);
    let union = area(a) + area(b) - inter;
    if union > 0.0 {
        inter / union
    } else {
        0.0
    }
}

/// One predicted box.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prediction {
    /// Which image.
    pub image: usize,
    /// Predicted class.
    pub class: usize,
    /// Confidence.
    pub score: f32,
    /// `(x1, y1, x2, y2)`.
    pub bbox: [f32; 4],
}

/// One annotated box.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GroundTruth {
    /// Which image.
    pub image: usize,
    /// True class.
    pub class: usize,
    /// `(x1, y1, x2, y2)`.
    pub bbox: [f32; 4],
}

/// How the precision–recall curve is summarised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interpolation {
    /// VOC 2010+: area under the monotone precision envelope at every recall step.
    AllPoints,
    /// COCO: mean of the envelope sampled at recall 0, 0.01, ..., 1 (101 points).
    Coco101,
}

/// Average precision of `class` at one IoU threshold, or `None` when the class has no ground
/// truth. Detections are matched greedily by descending score (ties: input order) to the
/// unmatched ground truth of the same image with the highest IoU at or above the threshold.
pub fn average_precision(
    detections: &[Prediction],
    truths: &[GroundTruth],
    class: usize,
    iou_threshold: f32,
    interpolation: Interpolation,
) -> Option<f64> {
    let gts: Vec<&GroundTruth> = truths.iter().filter(|g| g.class == class).collect();
    if gts.is_empty() {
        return None;
    }
    let mut dets: Vec<&Prediction> = detections.iter().filter(|d| d.class == class).collect();
    dets.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut matched = vec![false; gts.len()];
    let (mut tp, mut fp) = (0usize, 0usize);
    let mut curve = Vec::with_capacity(dets.len()); // (recall, precision)
    for d in dets {
        let best = gts
            .iter()
            .enumerate()
            .filter(|(k, g)| g.image == d.image && !matched[*k])
            .map(|(k, g)| (k, iou(d.bbox, g.bbox)))
            .filter(|&(_, v)| v >= iou_threshold)
            .max_by(|a, b| a.1.total_cmp(&b.1));
        match best {
            Some((k, _)) => {
                matched[k] = true;
                tp += 1;
            }
            None => fp += 1,
        }
        curve.push((tp as f64 / gts.len() as f64, tp as f64 / (tp + fp) as f64));
    }
    // Precision envelope: the best precision at this recall or beyond.
    let mut envelope = curve.clone();
    for i in (0..envelope.len().saturating_sub(1)).rev() {
        envelope[i].1 = envelope[i].1.max(envelope[i + 1].1);
    }
    let ap = match interpolation {
        Interpolation::AllPoints => {
            let mut prev_recall = 0.0;
            envelope
                .iter()
                .map(|&(r, p)| {
                    let area = (r - prev_recall) * p;
                    prev_recall = r;
                    area
                })
                .sum()
        }
        Interpolation::Coco101 => {
            (0..=100)
                .map(|k| {
                    let r = k as f64 / 100.0;
                    envelope.iter().find(|&&(rec, _)| rec >= r - 1e-12).map_or(0.0, |&(_, p)| p)
                })
                .sum::<f64>()
                / 101.0
        }
    };
    Some(ap)
}

fn classes(truths: &[GroundTruth]) -> Vec<usize> {
    let mut c: Vec<usize> = truths.iter().map(|g| g.class).collect();
    c.sort_unstable();
    c.dedup();
    c
}

/// VOC mAP: mean over classes with ground truth of the all-points AP at IoU 0.5.
pub fn voc_map(detections: &[Prediction], truths: &[GroundTruth]) -> f64 {
    let aps: Vec<f64> = classes(truths)
        .into_iter()
        .filter_map(|c| average_precision(detections, truths, c, 0.5, Interpolation::AllPoints))
        .collect();
    aps.iter().sum::<f64>() / aps.len().max(1) as f64
}

/// COCO mAP@[.5:.95]: mean over classes and over IoU thresholds 0.50, 0.55, ..., 0.95 of the
/// 101-point AP.
pub fn coco_map(detections: &[Prediction], truths: &[GroundTruth]) -> f64 {
    let cls = classes(truths);
    let mut total = 0.0;
    for t in 0..10 {
        let thr = 0.5 + 0.05 * t as f32;
        let aps: Vec<f64> =
            cls.iter().filter_map(|&c| average_precision(detections, truths, c, thr, Interpolation::Coco101)).collect();
        total += aps.iter().sum::<f64>() / aps.len().max(1) as f64;
    }
    total / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gt(image: usize, class: usize, bbox: [f32; 4]) -> GroundTruth {
        GroundTruth { image, class, bbox }
    }

    fn det(image: usize, class: usize, score: f32, bbox: [f32; 4]) -> Prediction {
        Prediction { image, class, score, bbox }
    }

    #[test]
    fn iou_of_hand_made_boxes() {
        assert_eq!(iou([0.0, 0.0, 2.0, 2.0], [0.0, 0.0, 2.0, 2.0]), 1.0);
        assert_eq!(iou([0.0, 0.0, 2.0, 2.0], [1.0, 0.0, 3.0, 2.0]), 2.0 / 6.0);
        assert_eq!(iou([0.0, 0.0, 1.0, 1.0], [2.0, 2.0, 3.0, 3.0]), 0.0);
        assert_eq!(iou([0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]), 0.0);
    }

    #[test]
    fn perfect_detections_score_one() {
        let truths = [gt(0, 0, [0.0, 0.0, 10.0, 10.0]), gt(1, 1, [5.0, 5.0, 9.0, 9.0])];
        let dets = [det(0, 0, 0.9, [0.0, 0.0, 10.0, 10.0]), det(1, 1, 0.8, [5.0, 5.0, 9.0, 9.0])];
        assert_eq!(voc_map(&dets, &truths), 1.0);
        assert!((coco_map(&dets, &truths) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn a_confident_false_positive_halves_the_first_precision() {
        // Two truths; detections by score: FP, TP, TP. Precision 0, 1/2, 2/3 at recall 0, .5, 1.
        let truths = [gt(0, 0, [0.0, 0.0, 10.0, 10.0]), gt(0, 0, [20.0, 20.0, 30.0, 30.0])];
        let dets = [
            det(0, 0, 0.9, [50.0, 50.0, 60.0, 60.0]),
            det(0, 0, 0.8, [0.0, 0.0, 10.0, 10.0]),
            det(0, 0, 0.7, [20.0, 20.0, 30.0, 30.0]),
        ];
        // Envelope: 2/3 from recall 0 to 1 -> AP = 0.5·2/3 + 0.5·2/3.
        let ap = average_precision(&dets, &truths, 0, 0.5, Interpolation::AllPoints).unwrap();
        assert!((ap - 2.0 / 3.0).abs() < 1e-12, "{ap}");
        let coco = average_precision(&dets, &truths, 0, 0.5, Interpolation::Coco101).unwrap();
        assert!((coco - 2.0 / 3.0).abs() < 1e-12, "{coco}");
    }

    #[test]
    fn duplicates_are_false_positives_and_iou_thresholds_matter() {
        let truths = [gt(0, 0, [0.0, 0.0, 10.0, 10.0])];
        // A second box on the same truth is a false positive; the loose box (IoU 0.8) fails at 0.9.
        let dets = [det(0, 0, 0.9, [0.0, 0.0, 10.0, 8.0]), det(0, 0, 0.8, [0.0, 0.0, 10.0, 10.0])];
        let at_half = average_precision(&dets, &truths, 0, 0.5, Interpolation::AllPoints).unwrap();
        assert_eq!(at_half, 1.0);
        let strict = average_precision(&dets, &truths, 0, 0.9, Interpolation::AllPoints).unwrap();
        // First detection misses at 0.9 (IoU 0.8), second hits: precision 1/2 at recall 1.
        assert_eq!(strict, 0.5);
        assert_eq!(average_precision(&dets, &truths, 3, 0.5, Interpolation::AllPoints), None);
        // Detections in the wrong image never match.
        let elsewhere = [det(1, 0, 0.9, [0.0, 0.0, 10.0, 10.0])];
        assert_eq!(average_precision(&elsewhere, &truths, 0, 0.5, Interpolation::AllPoints), Some(0.0));
    }
}
