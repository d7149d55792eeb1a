//! Connected-component labelling by label propagation, round for round as the device does it.

/// `rounds` rounds of [`Op::ConnectedComponents`](ocelli_graph::Op::ConnectedComponents) over
/// the `h`×`w` mask `x`.
pub(crate) fn connected_components(x: &[f32], h: usize, w: usize, rounds: usize) -> Vec<i32> {
    let mut labels: Vec<i32> = x.iter().enumerate().map(|(p, &v)| if v != 0.0 { p as i32 } else { -1 }).collect();
    let mut next = labels.clone();
    for _ in 0..rounds {
        for y in 0..h {
            for xx in 0..w {
                let p = y * w + xx;
                if labels[p] < 0 {
                    continue;
                }
                let mut best = labels[p];
                for yy in y.saturating_sub(1)..(y + 2).min(h) {
                    for qx in xx.saturating_sub(1)..(xx + 2).min(w) {
                        let l = labels[yy * w + qx];
                        if l >= 0 {
                            best = best.min(labels[l as usize]);
                        }
                    }
                }
                next[p] = best;
            }
        }
        std::mem::swap(&mut labels, &mut next);
    }
    labels
}
