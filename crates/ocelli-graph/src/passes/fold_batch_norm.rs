use super::rewrite::Rewriter;
use super::use_counts;
use crate::{Graph, Op, Result, Tensor, ValueDef, ValueId};

fn constant(graph: &Graph, id: ValueId) -> Option<&[f32]> {
    match &graph.value(id).def {
        ValueDef::Constant(t) => t.as_f32(),
        _ => None,
    }
}

/// Folds an inference batch norm into the convolution (or 2-D matmul) that feeds it when the
/// weights, bias and statistics are constants and the batch norm is the only reader:
/// `w'[c] = w[c]·s[c]`, `b'[c] = (b[c] − mean[c])·s[c] + beta[c]` with `s = gamma/√(var + eps)`.
pub fn fold_batch_norm(graph: &Graph) -> Result<Graph> {
    let uses = use_counts(graph);
    let producer = |v: ValueId| match graph.value(v).def {
        ValueDef::Node { node, .. } => Some(node),
        _ => None,
    };
    // For each batch norm that folds: (producer node, new weight, new bias).
    let mut folds: Vec<Option<(usize, Tensor, Tensor)>> = vec![None; graph.nodes().len()];
    let mut absorbed = vec![false; graph.nodes().len()];
    for (i, n) in graph.nodes().iter().enumerate() {
        let Op::BatchNorm { eps } = n.op else { continue };
        let Some(p) = producer(n.inputs[0]) else { continue };
        let pn = &graph.nodes()[p];
        let folds_into = match pn.op {
            Op::Conv2d(_) => true,
            Op::MatMul { .. } => graph.value(pn.outputs[0]).shape.rank() == 2,
            _ => false,
        };
        if !folds_into || uses[n.inputs[0].0] != 1 || absorbed[p] {
            continue;
        }
        let stats: Option<Vec<&[f32]>> = n.inputs[1..].iter().map(|&v| constant(graph, v)).collect();
        let Some(stats) = stats else { continue };
        let (gamma, beta, mean, var) = (stats[0], stats[1], stats[2], stats[3]);
        let scale: Vec<f64> =
            (0..gamma.len()).map(|c| f64::from(gamma[c]) / (f64::from(var[c]) + f64::from(eps)).sqrt()).collect();
        let Some(w) = constant(graph, pn.inputs[1]) else { continue };
        let w_shape = graph.value(pn.inputs[1]).shape.clone();
        let bias: Vec<f32> = match pn.inputs.get(2) {
            Some(&b) => match constant(graph, b) {
                Some(b) => b.to_vec(),
                None => continue,
            },
            None => vec![0.0; scale.len()],
        };
        // Which output channel each weight element belongs to.
        let channel_of: Box<dyn Fn(usize) -> usize> = match &pn.op {
            Op::Conv2d(_) => {
                let per = w_shape.numel() / w_shape.dims()[0];
                Box::new(move |i| i / per)
            }
            Op::MatMul { trans_b, .. } => {
                let d = w_shape.dims().to_vec();
                if *trans_b {
                    Box::new(move |i| i / d[1])
                } else {
                    Box::new(move |i| i % d[1])
                }
            }
            _ => continue,
        };
        let new_w: Vec<f32> =
            w.iter().enumerate().map(|(i, &v)| (f64::from(v) * scale[channel_of(i)]) as f32).collect();
        let new_b: Vec<f32> = (0..scale.len())
            .map(|c| ((f64::from(bias[c]) - f64::from(mean[c])) * scale[c] + f64::from(beta[c])) as f32)
            .collect();
        folds[i] = Some((p, Tensor::from_f32(w_shape, new_w)?, Tensor::from_f32([scale.len()], new_b)?));
        absorbed[p] = true;
    }
    let mut rw = Rewriter::new(graph)?;
    for (i, n) in graph.nodes().iter().enumerate() {
        if absorbed[i] {
            continue; // emitted, folded, at its batch norm
        }
        match folds[i].take() {
            Some((p, w, b)) => {
                let pn = &graph.nodes()[p];
                let x = rw.value(pn.inputs[0])?;
                let w = rw.constant(w)?;
                let b = rw.constant(b)?;
                rw.emit_new(pn.op.clone(), &[x, w, b], &n.outputs)?;
            }
            None => rw.copy(i)?,
        }
    }
    rw.finish()
}
