use ocelli_graph::{Nms, Overlap, Shape};

/// ONNX's IoU of two boxes (or their intersection over the smaller area), in f32 as the
/// operator's reference computes it (0 when the boxes do not overlap or one is empty). Boxes
/// are corners (y1, x1, y2, x2) in any order, or centre form.
pub(crate) fn overlap(a: [f32; 4], b: [f32; 4], center: bool, kind: Overlap) -> f32 {
    let extent = |v: [f32; 4]| -> [f32; 4] {
        if center {
            [v[0] - v[2] / 2.0, v[0] + v[2] / 2.0, v[1] - v[3] / 2.0, v[1] + v[3] / 2.0]
        } else {
            [v[1].min(v[3]), v[1].max(v[3]), v[0].min(v[2]), v[0].max(v[2])]
        }
    };
    let ([ax0, ax1, ay0, ay1], [bx0, bx1, by0, by1]) = (extent(a), extent(b));
    let (ix0, ix1) = (ax0.max(bx0), ax1.min(bx1));
    let (iy0, iy1) = (ay0.max(by0), ay1.min(by1));
    if ix1 <= ix0 || iy1 <= iy0 {
        return 0.0;
    }
    let inter = (ix1 - ix0) * (iy1 - iy0);
    let (area_a, area_b) = ((ax1 - ax0) * (ay1 - ay0), (bx1 - bx0) * (by1 - by0));
    let union = match kind {
        Overlap::Iou => area_a + area_b - inter,
        Overlap::Min => area_a.min(area_b),
    };
    if inter <= 0.0 || area_a <= 0.0 || area_b <= 0.0 || union <= 0.0 {
        return 0.0;
    }
    inter / union
}

/// ONNX NonMaxSuppression (or the class-agnostic form, or Gaussian soft-NMS): rows padded with
/// −1, and the kept scores (0 on padding).
pub(crate) fn nms(boxes: &[f32], sb: &Shape, scores: &[f32], ss: &Shape, p: &Nms) -> (Vec<i32>, Vec<f32>) {
    let (batches, n) = (sb.dims()[0], sb.dims()[1]);
    let classes = ss.dims()[1];
    let bx = |b: usize, i: usize| -> [f32; 4] {
        let o = (b * n + i) * 4;
        [boxes[o], boxes[o + 1], boxes[o + 2], boxes[o + 3]]
    };
    let score = |b: usize, c: usize, i: usize| scores[(b * classes + c) * n + i];
    let groups = if p.class_agnostic { batches } else { batches * classes };
    let mut out = vec![-1i32; groups * p.max_per_class * 3];
    let mut kept_scores = vec![0f32; groups * p.max_per_class];
    for g in 0..groups {
        let (b, c) = if p.class_agnostic { (g, 0) } else { (g / classes, g % classes) };
        // (score, index, class) of every candidate.
        let mut cand: Vec<(f32, usize, usize)> = (0..n)
            .map(|i| {
                if p.class_agnostic {
                    // The first class with the highest non-NaN score (NaN if there is none).
                    let best = (0..classes).filter(|&cc| !score(b, cc, i).is_nan()).fold(
                        None,
                        |k: Option<usize>, cc| match k {
                            Some(k) if score(b, cc, i) <= score(b, k, i) => Some(k),
                            _ => Some(cc),
                        },
                    );
                    best.map_or((f32::NAN, i, 0), |k| (score(b, k, i), i, k))
                } else {
                    (score(b, c, i), i, c)
                }
            })
            .filter(|&(s, _, _)| !s.is_nan() && p.score_threshold.is_none_or(|t| s > t))
            .collect();
        let mut keep = |k: usize, score: f32, i: usize, cls: usize| {
            let row = g * p.max_per_class + k;
            out[row * 3..row * 3 + 3].copy_from_slice(&[b as i32, cls as i32, i as i32]);
            kept_scores[row] = score;
        };
        if let Some(sigma) = p.soft_sigma {
            // Gaussian soft-NMS: keep the best remaining score, decay the others by overlap.
            let mut k = 0;
            while k < p.max_per_class {
                let best = cand
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| p.score_threshold.is_none_or(|t| c.0 > t))
                    .min_by(|(_, a), (_, b)| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
                let Some((pos, &(s, i, cls))) = best else { break };
                keep(k, s, i, cls);
                k += 1;
                cand.swap_remove(pos);
                for c in cand.iter_mut() {
                    let o = overlap(bx(b, i), bx(b, c.1), p.center_point_box, p.overlap);
                    c.0 *= (-(o * o) / sigma).exp();
                }
            }
            continue;
        }
        cand.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        let mut kept: Vec<usize> = Vec::new();
        for (s, i, cls) in cand {
            if kept.len() == p.max_per_class {
                break;
            }
            if kept.iter().all(|&k| overlap(bx(b, i), bx(b, k), p.center_point_box, p.overlap) <= p.iou_threshold) {
                keep(kept.len(), s, i, cls);
                kept.push(i);
            }
        }
    }
    (out, kept_scores)
}
