use super::rewrite::Rewriter;
use crate::{Graph, Op, Result, Tensor, TensorData, ValueDef};

/// `t` with its last two dimensions swapped.
fn transposed(t: &Tensor) -> Result<Tensor> {
    let dims = t.shape().dims();
    let (rows, cols) = (dims[dims.len() - 2], dims[dims.len() - 1]);
    // Element i of the result (batch b, row c, column r) comes from (b, r, c) of t.
    let source = |i: usize| {
        let (b, rest) = (i / (rows * cols), i % (rows * cols));
        let (c, r) = (rest / rows, rest % rows);
        b * rows * cols + r * cols + c
    };
    fn gather<T: Copy>(v: &[T], source: impl Fn(usize) -> usize) -> Vec<T> {
        (0..v.len()).map(|i| v[source(i)]).collect()
    }
    let data = match t.data() {
        TensorData::F32(v) => TensorData::F32(gather(v, source)),
        TensorData::F16(v) => TensorData::F16(gather(v, source)),
        TensorData::I32(v) => TensorData::I32(gather(v, source)),
        TensorData::U32(v) => TensorData::U32(gather(v, source)),
    };
    let mut shape = dims.to_vec();
    let n = shape.len();
    shape.swap(n - 2, n - 1);
    Tensor::new(shape, data)
}

/// Stores constant `b` operands of matrix products transposed once, at compile time, so that
/// `a·bᵀ` with a constant `b` (PyTorch's `Linear` keeps its weight as [out, in]) runs as a plain
/// product: GPU kernels then need no transposed variant (one pipeline less to build) and read
/// `b` along its rows.
pub fn transpose_constants(graph: &Graph) -> Result<Graph> {
    let mut rw = Rewriter::new(graph)?;
    for (i, n) in graph.nodes().iter().enumerate() {
        if let Op::MatMul { trans_a, trans_b: true } = n.op {
            if let ValueDef::Constant(w) = &graph.value(n.inputs[1]).def {
                let mut ins = vec![rw.value(n.inputs[0])?, rw.constant(transposed(w)?)?];
                for &v in &n.inputs[2..] {
                    ins.push(rw.value(v)?);
                }
                rw.emit_new(Op::MatMul { trans_a, trans_b: false }, &ins, &n.outputs)?;
                continue;
            }
        }
        rw.copy(i)?;
    }
    rw.finish()
}
