use super::rewrite::Rewriter;
use super::use_counts;
use crate::{BinaryOp, Graph, Op, Result, TensorData, UnaryOp, ValueDef, ValueId};

/// The value of a one-element float constant.
fn scalar(graph: &Graph, v: ValueId) -> Option<f32> {
    let ValueDef::Constant(t) = &graph.value(v).def else { return None };
    match t.data() {
        TensorData::F32(d) if d.len() == 1 => Some(d[0]),
        TensorData::F16(d) if d.len() == 1 => Some(d[0].to_f32()),
        _ => None,
    }
}

/// `Binary(op)` on `inputs` as (x, scale, shift) when one operand is a float scalar constant and
/// the other already has the result's shape: x·c, c·x, x + c, c + x, x − c and c − x.
fn as_affine(graph: &Graph, op: BinaryOp, inputs: &[ValueId], out: ValueId) -> Option<(ValueId, f32, f32)> {
    let same = |x: ValueId| graph.value(x).shape == graph.value(out).shape;
    let (a, b) = (inputs[0], inputs[1]);
    match (op, scalar(graph, a), scalar(graph, b)) {
        (BinaryOp::Mul, _, Some(c)) if same(a) => Some((a, c, 0.0)),
        (BinaryOp::Mul, Some(c), _) if same(b) => Some((b, c, 0.0)),
        (BinaryOp::Add, _, Some(c)) if same(a) => Some((a, 1.0, c)),
        (BinaryOp::Add, Some(c), _) if same(b) => Some((b, 1.0, c)),
        (BinaryOp::Sub, _, Some(c)) if same(a) => Some((a, 1.0, -c)),
        (BinaryOp::Sub, Some(c), _) if same(b) => Some((b, -1.0, c)),
        _ => None,
    }
}

/// Turns products and sums with a scalar constant into `UnaryOp::Affine`, which the epilogue
/// fusion then folds into the producer (a convolution's `· scale + bias` after its activation,
/// PP-OCR's learnable affine blocks, a squeeze-excitation's hard sigmoid). A product followed by
/// a sum, the product read only there, becomes one `scale·x + shift`: the same two roundings,
/// or one where the device fuses them. Division is left alone (x / c is not x · (1/c)).
pub fn scalars_to_affine(graph: &Graph) -> Result<Graph> {
    let uses = use_counts(graph);
    let nodes = graph.nodes();
    let affine = |i: usize| match nodes[i].op {
        Op::Binary(op) => as_affine(graph, op, &nodes[i].inputs, nodes[i].outputs[0]),
        _ => None,
    };
    // Which node produces each value.
    let mut producer = vec![None; graph.values().len()];
    for (i, n) in nodes.iter().enumerate() {
        for o in &n.outputs {
            producer[o.0] = Some(i);
        }
    }
    let mut absorbed = vec![false; nodes.len()];
    let mut rw = Rewriter::new(graph)?;
    let mut ops: Vec<Option<(ValueId, f32, f32)>> = (0..nodes.len()).map(affine).collect();
    for i in 0..nodes.len() {
        let Some((x, scale, shift)) = ops[i] else { continue };
        // A sum after a lone product by a scalar: one node.
        if scale == 1.0 {
            if let Some(j) = producer[x.0].filter(|&j| uses[x.0] == 1 && !absorbed[j]) {
                if let Some((x0, s0, 0.0)) = ops[j] {
                    absorbed[j] = true;
                    ops[i] = Some((x0, s0, shift));
                }
            }
        }
    }
    for (i, n) in nodes.iter().enumerate() {
        match ops[i] {
            _ if absorbed[i] => {}
            Some((x, scale, shift)) => rw.emit(Op::Unary(UnaryOp::Affine { scale, shift }), &[x], &n.outputs)?,
            None => rw.copy(i)?,
        }
    }
    rw.finish()
}
