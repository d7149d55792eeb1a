use ocelli_graph::ReduceOp;

/// Sum, mean or max over the middle axis of an `(outer, len, inner)` view.
pub(crate) fn reduce(x: &[f32], (outer, len, inner): (usize, usize, usize), op: ReduceOp) -> Vec<f32> {
    let mut y = Vec::with_capacity(outer * inner);
    for o in 0..outer {
        for i in 0..inner {
            let vals = (0..len).map(|k| f64::from(x[(o * len + k) * inner + i]));
            let v = match op {
                ReduceOp::Sum => vals.sum(),
                ReduceOp::Mean => vals.sum::<f64>() / len as f64,
                ReduceOp::Max => vals.fold(f64::NEG_INFINITY, f64::max),
            };
            y.push(v as f32);
        }
    }
    y
}

/// Index of the first maximum over the middle axis.
pub(crate) fn argmax(x: &[f32], (outer, len, inner): (usize, usize, usize)) -> Vec<i32> {
    let mut y = Vec::with_capacity(outer * inner);
    for o in 0..outer {
        for i in 0..inner {
            let mut best = 0;
            for k in 1..len {
                if x[(o * len + k) * inner + i] > x[(o * len + best) * inner + i] {
                    best = k;
                }
            }
            y.push(best as i32);
        }
    }
    y
}

/// Softmax or log-softmax over the middle axis.
pub(crate) fn softmax(x: &[f32], (outer, len, inner): (usize, usize, usize), log: bool) -> Vec<f32> {
    let mut y = vec![0f32; x.len()];
    for o in 0..outer {
        for i in 0..inner {
            let at = |k: usize| (o * len + k) * inner + i;
            let m = (0..len).map(|k| f64::from(x[at(k)])).fold(f64::NEG_INFINITY, f64::max);
            let s: f64 = (0..len).map(|k| (f64::from(x[at(k)]) - m).exp()).sum();
            for k in 0..len {
                let z = f64::from(x[at(k)]) - m;
                y[at(k)] = if log { z - s.ln() } else { z.exp() / s } as f32;
            }
        }
    }
    y
}

/// The `k` best entries of each row of `len`: values and indices, best first, ties by index.
pub(crate) fn top_k(x: &[f32], len: usize, k: usize, largest: bool) -> (Vec<f32>, Vec<i32>) {
    let (mut values, mut indices) = (Vec::new(), Vec::new());
    for row in x.chunks(len) {
        let mut order: Vec<usize> = (0..len).collect();
        order.sort_by(|&a, &b| {
            let c = row[a].total_cmp(&row[b]);
            (if largest { c.reverse() } else { c }).then(a.cmp(&b))
        });
        for &i in &order[..k] {
            values.push(row[i]);
            indices.push(i as i32);
        }
    }
    (values, indices)
}
