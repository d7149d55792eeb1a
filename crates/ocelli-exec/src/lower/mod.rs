//! Lowering of each op to kernel dispatches, one file per kernel family.

mod cast;
mod color;
mod conv;
mod demosaic;
mod elementwise;
mod epilogue;
mod gemm;
mod layout;
mod norm;
mod pool;
mod reduce;
mod roi;

use ocelli_graph::{Graph, Node, Op, Shape, ValueId};

use crate::dispatch::Step;
use crate::tuning::Tuning;
use crate::ExecError;

/// How a node runs on the GPU.
pub(crate) enum Lowering {
    /// These commands, in order, with scratch buffers of these sizes (bytes) that live only
    /// while the node runs (`Binding::Scratch(k)` is the k-th).
    Steps(Vec<Step>, Vec<u64>),
    /// No work: the single output shares the first input's buffer (reshape, identity cast).
    Alias,
}

/// Shapes of a node's inputs and outputs, looked up once.
pub(crate) struct Io<'a> {
    pub node: &'a Node,
    pub graph: &'a Graph,
    pub tuning: Tuning,
}

impl Io<'_> {
    pub fn input(&self, i: usize) -> ValueId {
        self.node.inputs[i]
    }

    pub fn output(&self, i: usize) -> ValueId {
        self.node.outputs[i]
    }

    pub fn in_shape(&self, i: usize) -> &Shape {
        &self.graph.value(self.node.inputs[i]).shape
    }

    pub fn out_shape(&self, i: usize) -> &Shape {
        &self.graph.value(self.node.outputs[i]).shape
    }
}

/// Lowers one node.
pub(crate) fn lower(node: &Node, graph: &Graph, tuning: Tuning) -> Result<Lowering, ExecError> {
    let io = Io { node, graph, tuning };
    let mut scratch = Vec::new();
    let steps = match &node.op {
        Op::MatMul { trans_a, trans_b } => gemm::matmul(&io, *trans_a, *trans_b, node.inputs.len(), &[])?,
        Op::L1Distance => gemm::l1_distance(&io)?,
        Op::Conv2d(p) => conv::conv2d(&io, p, node.inputs.len(), &[], &mut scratch)?,
        Op::ConvTranspose2d(p) => conv::conv_transpose2d(&io, p),
        Op::Pool2d(p) => pool::pool2d(&io, p, false),
        Op::MaxPool2dWithIndices(p) => pool::pool2d(&io, p, true),
        Op::MaxUnpool2d { .. } => pool::max_unpool2d(&io),
        Op::GlobalAvgPool => reduce::global_avg_pool(&io),
        Op::Upsample { mode, .. } => pool::upsample(&io, *mode),
        Op::Binary(b) => elementwise::binary(&io, *b, &[])?,
        Op::Unary(u) => elementwise::unary(&io, &[*u]),
        Op::Softmax { axis, log } => reduce::softmax(&io, *axis, *log),
        Op::BatchNorm { eps } => norm::batch_norm(&io, *eps),
        Op::GroupNorm { groups, eps } => norm::group_norm(&io, *groups, *eps),
        Op::LayerNorm { axis, eps } => norm::layer_norm(&io, *axis, *eps),
        Op::Reduce { op, axis, .. } => reduce::reduce(&io, *op, *axis),
        Op::ArgMax { axis, .. } => reduce::argmax(&io, *axis),
        Op::TopK { k, largest } => reduce::top_k(&io, *k, *largest),
        Op::Concat { axis } => layout::concat(&io, *axis)?,
        Op::Slice { axis, start, step, .. } => layout::slice(&io, *axis, *start, *step)?,
        Op::Transpose { perm } => layout::transpose(&io, perm)?,
        Op::Pad { pads, mode } => layout::pad(&io, pads, *mode)?,
        Op::Reshape { .. } => return Ok(Lowering::Alias),
        Op::Cast { to } if *to == graph.value(node.inputs[0]).dtype => return Ok(Lowering::Alias),
        Op::Cast { to } => cast::cast(&io, *to),
        Op::Demosaic(d) => demosaic::demosaic(&io, d),
        Op::ColorSpace { to_hsv } => color::color_space(&io, *to_hsv),
        Op::Histogram(h) => color::histogram(&io, *h, &mut scratch),
        Op::RoiAlign(p) => roi::roi_align(&io, p),
        Op::RoiPool(p) => roi::roi_pool(&io, p),
        Op::NonMaxSuppression(p) => roi::nms(&io, p, &mut scratch),
        Op::Fused(f) => {
            let n_base = f.base_inputs(node.inputs.len());
            match (&*f.base, f.residual) {
                (Op::MatMul { trans_a, trans_b }, _) => gemm::matmul(&io, *trans_a, *trans_b, n_base, &f.acts)?,
                (Op::Conv2d(p), _) => conv::conv2d(&io, p, n_base, &f.acts, &mut scratch)?,
                (Op::Binary(b), false) => elementwise::binary(&io, *b, &f.acts)?,
                (Op::Unary(u), false) => {
                    let chain: Vec<_> = std::iter::once(*u).chain(f.acts.iter().copied()).collect();
                    elementwise::unary(&io, &chain)
                }
                (base, _) => {
                    return Err(ExecError::Unsupported {
                        op: "fused",
                        why: format!("no fused kernel for {} with residual {}", base.name(), f.residual),
                    })
                }
            }
        }
    };
    Ok(Lowering::Steps(steps, scratch))
}
