use super::rewrite::Rewriter;
use crate::{DType, Graph, Op, Result};

/// Computes f16 ops in f32: every op except casts, reshapes and those `keep` accepts (ops a
/// backend has f16 kernels for) that reads an f16 value gets casts to f32 on its f16 inputs and
/// a cast back to f16 on its f16 outputs. f16 inputs and weights stay f16 (half the memory).
/// Graphs without f16 values come back as they were.
pub fn widen_f16(graph: &Graph, keep: impl Fn(&Op) -> bool) -> Result<Graph> {
    let f16 = |v: &crate::ValueId| graph.value(*v).dtype == DType::F16;
    let mut rw = Rewriter::new(graph)?;
    for (i, node) in graph.nodes().iter().enumerate() {
        let passthrough = matches!(node.op, Op::Cast { .. } | Op::Reshape { .. }) || keep(&node.op);
        if passthrough || !node.inputs.iter().any(f16) {
            rw.copy(i)?;
            continue;
        }
        let mut ins = Vec::with_capacity(node.inputs.len());
        for v in &node.inputs {
            let new = rw.value(*v)?;
            ins.push(if f16(v) { rw.b.op(Op::Cast { to: DType::F32 }, &[new])? } else { new });
        }
        let outs = rw.b.apply(node.op.clone(), &ins)?;
        for (old, new) in node.outputs.iter().zip(outs) {
            let narrowed = if f16(old) { rw.b.op(Op::Cast { to: DType::F16 }, &[new])? } else { new };
            rw.map(*old, narrowed);
        }
    }
    rw.finish()
}
