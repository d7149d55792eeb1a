use super::rewrite::Rewriter;
use super::use_counts;
use crate::{BinaryOp, Fused, Graph, Op, Result, ValueId};

/// Fuses elementwise tails into their producers: a MatMul or Conv2d absorbs a following
/// same-shape residual `Add`, then up to [`Fused::MAX_ACTS`] unary ops; a Binary, Unary,
/// GroupNorm or LayerNorm op absorbs following unary ops. Only values read once (and not graph outputs) are fused away.
pub fn fuse_epilogues(graph: &Graph) -> Result<Graph> {
    let uses = use_counts(graph);
    let mut consumer = vec![None; graph.values().len()];
    for (i, n) in graph.nodes().iter().enumerate() {
        for x in &n.inputs {
            consumer[x.0] = Some(i);
        }
    }
    // The single reader of a single-output node's value, if fusing through it is allowed.
    let next = |node: usize| -> Option<usize> {
        let outs = &graph.nodes()[node].outputs;
        if outs.len() != 1 || uses[outs[0].0] != 1 {
            return None;
        }
        consumer[outs[0].0]
    };
    // Nodes that belong to a fused group; the group is emitted at its last member.
    let mut absorbed = vec![false; graph.nodes().len()];
    // Fused node to emit at the position of its last member: (fused op, inputs).
    let mut emit_at: Vec<Option<(Fused, Vec<ValueId>)>> = vec![None; graph.nodes().len()];
    for (head, n) in graph.nodes().iter().enumerate() {
        if absorbed[head] {
            continue;
        }
        let gemm_like = matches!(n.op, Op::MatMul { .. } | Op::Conv2d(_));
        let acts_only = matches!(n.op, Op::Binary(_) | Op::Unary(_) | Op::GroupNorm { .. } | Op::LayerNorm { .. });
        if !(gemm_like || acts_only) {
            continue;
        }
        let mut fused = Fused { base: Box::new(n.op.clone()), residual: false, acts: Vec::new() };
        let mut inputs = n.inputs.clone();
        let mut last = head;
        while let Some(c) = next(last) {
            if absorbed[c] {
                // An earlier producer took this node already (two convs feeding one residual
                // add: the first claims the add, the second must stay a node of its own).
                break;
            }
            let cn = &graph.nodes()[c];
            let produced = graph.nodes()[last].outputs[0];
            let shape = &graph.value(produced).shape;
            match cn.op {
                Op::Binary(BinaryOp::Add) if gemm_like && !fused.residual && fused.acts.is_empty() => {
                    let other = if cn.inputs[0] == produced { cn.inputs[1] } else { cn.inputs[0] };
                    if other == produced || graph.value(other).shape != *shape {
                        break;
                    }
                    fused.residual = true;
                    inputs.push(other);
                }
                Op::Unary(u) if fused.acts.len() + usize::from(matches!(n.op, Op::Unary(_))) < Fused::MAX_ACTS => {
                    fused.acts.push(u)
                }
                _ => break,
            }
            absorbed[c] = true;
            last = c;
        }
        if last != head {
            absorbed[head] = true;
            emit_at[last] = Some((fused, inputs));
        }
    }
    let mut rw = Rewriter::new(graph)?;
    for (i, n) in graph.nodes().iter().enumerate() {
        match emit_at[i].take() {
            Some((fused, inputs)) => rw.emit(Op::Fused(fused), &inputs, &n.outputs)?,
            None if absorbed[i] => {}
            None => rw.copy(i)?,
        }
    }
    rw.finish()
}
