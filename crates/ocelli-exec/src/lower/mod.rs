//! Lowering of each op to kernel dispatches, one file per kernel family.

mod cast;
mod color;
mod components;
mod conv;
mod demosaic;
mod elementwise;
mod epilogue;
mod gemm;
mod layout;
mod norm;
mod pool;
mod random;
mod reduce;
mod roi;
mod warp;
mod winograd;

use ocelli_device::Kernel;
use ocelli_graph::{DType, Graph, Node, Op, Shape, Tensor, ValueDef, ValueId};

use crate::dispatch::{take_overflow, Dispatch, Step};
use crate::tuning::Tuning;
use crate::ExecError;

/// How a node runs on the GPU.
pub(crate) enum Lowering {
    /// These commands, in order, with scratch buffers of these sizes (bytes) that live only
    /// while the node runs (`Binding::Scratch(k)` is the k-th), and constants derived from the
    /// graph's constants at compile time, such as padded or transformed weights, uploaded once
    /// (`Binding::Derived(k)` is the k-th); with `f16`, every dispatch runs its family's
    /// f16-storage kernel.
    Steps { steps: Vec<Step>, scratch: Vec<u64>, derived: Vec<Tensor>, f16: bool },
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

    /// Input `i`'s value when it is a constant (weights), known at compile time.
    pub fn constant(&self, i: usize) -> Option<&Tensor> {
        match &self.graph.value(self.node.inputs[i]).def {
            ValueDef::Constant(t) => Some(t),
            _ => None,
        }
    }

    /// Bytes per element of the node's float storage: 2 when it runs f16 kernels.
    pub fn elem_bytes(&self) -> u64 {
        if self.f16() {
            2
        } else {
            4
        }
    }

    /// Whether the node reads f16 values (casts excepted, which convert in their own kernel):
    /// after `widen_f16` only ops with f16 kernels do.
    fn f16(&self) -> bool {
        !matches!(self.node.op, Op::Cast { .. })
            && self.node.inputs.iter().any(|&v| self.graph.value(v).dtype == DType::F16)
    }
}

/// Ops whose kernels read and write f16 storage directly (float bindings typed `elem`); the GPU
/// plan widens the others to f32 between casts.
pub(crate) fn has_f16_kernel(op: &Op) -> bool {
    matches!(
        op,
        Op::MatMul { .. }
            | Op::L1Distance
            | Op::Conv2d(_)
            | Op::Pool2d(_)
            | Op::MaxPool2dWithIndices(_)
            | Op::MaxUnpool2d { .. }
            | Op::Binary(_)
            | Op::Unary(_)
    )
}

/// The kernel a dispatch of a node runs: its family's f16 variant for f16 nodes.
pub(crate) fn kernel_of(d: &Dispatch, f16: bool) -> Kernel {
    d.family.kernel_for(f16).expect("lower() checks that f16 nodes only use families with f16 kernels")
}

/// Lowers one node.
pub(crate) fn lower(node: &Node, graph: &Graph, tuning: Tuning) -> Result<Lowering, ExecError> {
    let io = Io { node, graph, tuning };
    take_overflow();
    let mut scratch = Vec::new();
    let mut derived = Vec::new();
    let steps = match &node.op {
        Op::MatMul { trans_a, trans_b } => gemm::matmul(&io, *trans_a, *trans_b, node.inputs.len(), &[], &mut scratch)?,
        Op::L1Distance => gemm::l1_distance(&io, &mut scratch)?,
        Op::Conv2d(p) => conv::conv2d(&io, p, node.inputs.len(), &[], &mut scratch, &mut derived)?,
        Op::ConvTranspose2d(p) => conv::conv_transpose2d(&io, p, &mut scratch, &mut derived)?,
        Op::Pool2d(p) => pool::pool2d(&io, p, false, &mut scratch)?,
        Op::MaxPool2dWithIndices(p) => pool::pool2d(&io, p, true, &mut scratch)?,
        Op::MaxUnpool2d { .. } => pool::max_unpool2d(&io),
        Op::GlobalAvgPool => reduce::global_avg_pool(&io, &mut scratch),
        Op::Upsample { mode, .. } => pool::upsample(&io, *mode, &mut scratch),
        Op::Binary(b) => elementwise::binary(&io, *b, &[])?,
        Op::Unary(u) => elementwise::unary(&io, &[*u]),
        Op::Softmax { axis, log } => reduce::softmax(&io, *axis, *log, &mut scratch),
        Op::BatchNorm { eps } => norm::batch_norm(&io, *eps),
        Op::GroupNorm { groups, eps } => norm::group_norm(&io, *groups, *eps, &[], &mut scratch),
        Op::LayerNorm { axis, eps } => norm::layer_norm(&io, *axis, *eps, &[], &mut scratch),
        Op::Reduce { op, axis, .. } => reduce::reduce(&io, *op, *axis, &mut scratch),
        Op::ArgMax { axis, .. } => reduce::argmax(&io, *axis, &mut scratch),
        Op::TopK { k, largest } => reduce::top_k(&io, *k, *largest, &mut scratch),
        Op::Concat { axis } => layout::concat(&io, *axis)?,
        Op::Slice { axis, start, step, .. } => layout::slice(&io, *axis, *start, *step)?,
        Op::Gather { axis } => layout::gather(&io, *axis),
        Op::Transpose { perm } => layout::transpose(&io, perm)?,
        Op::Pad { pads, mode } => layout::pad(&io, pads, *mode)?,
        Op::Reshape { .. } => return Ok(Lowering::Alias),
        Op::Cast { to } if *to == graph.value(node.inputs[0]).dtype => return Ok(Lowering::Alias),
        Op::Cast { to } => cast::cast(&io, *to),
        Op::Demosaic(d) => demosaic::demosaic(&io, d),
        Op::ResizePixels(r) => pool::resize_pixels(&io, r),
        Op::ColorSpace { to_hsv } => color::color_space(&io, *to_hsv),
        Op::Histogram(h) => color::histogram(&io, *h, &mut scratch),
        Op::ConnectedComponents { rounds } => components::connected_components(&io, *rounds, &mut scratch),
        Op::RandomNormal { .. } => random::normals(&io)?,
        Op::RoiAlign(p) => roi::roi_align(&io, p, &mut scratch)?,
        Op::RoiPool(p) => roi::roi_pool(&io, p, &mut scratch)?,
        Op::PerspectiveCrops { fill, .. } => warp::perspective_crops(&io, *fill),
        Op::CropResize { out_h, out_w } => roi::crop_resize(&io, (*out_h, *out_w), &mut scratch)?,
        Op::NonMaxSuppression(p) => roi::nms(&io, p, &mut scratch)?,
        Op::Fused(f) => {
            let n_base = f.base_inputs(node.inputs.len());
            match (&*f.base, f.residual) {
                (Op::MatMul { trans_a, trans_b }, _) => {
                    gemm::matmul(&io, *trans_a, *trans_b, n_base, &f.acts, &mut scratch)?
                }
                (Op::Conv2d(p), _) => conv::conv2d(&io, p, n_base, &f.acts, &mut scratch, &mut derived)?,
                (Op::Binary(b), false) => elementwise::binary(&io, *b, &f.acts)?,
                (Op::Unary(u), false) => {
                    let chain: Vec<_> = std::iter::once(*u).chain(f.acts.iter().copied()).collect();
                    elementwise::unary(&io, &chain)
                }
                (Op::GroupNorm { groups, eps }, false) => norm::group_norm(&io, *groups, *eps, &f.acts, &mut scratch),
                (Op::LayerNorm { axis, eps }, false) => norm::layer_norm(&io, *axis, *eps, &f.acts, &mut scratch),
                (base, _) => {
                    return Err(ExecError::Unsupported {
                        op: "fused",
                        why: format!("no fused kernel for {} with residual {}", base.name(), f.residual),
                    })
                }
            }
        }
    };
    if let Some(v) = take_overflow() {
        return Err(ExecError::Unsupported {
            op: node.op.name(),
            why: format!("a size or parameter of {v} does not fit the kernels' 32-bit arithmetic"),
        });
    }
    let f16 = io.f16();
    for step in &steps {
        if let Some(d) = step.dispatch() {
            if d.family.kernel_for(f16).is_none() {
                return Err(ExecError::Unsupported {
                    op: node.op.name(),
                    why: format!("no f16 kernel in family {:?}; widen the graph to f32 first", d.family),
                });
            }
        }
    }
    Ok(Lowering::Steps { steps, scratch, derived, f16 })
}

#[cfg(test)]
pub(crate) mod tests {
    use ocelli_graph::{BinaryOp, DType, GraphBuilder, Op, UpsampleMode, ValueId};

    use super::{lower, Lowering};
    use crate::dispatch::Step;
    use crate::tuning::Tuning;

    /// A CPU adapter's tuning, without subgroups, for lowering tests.
    pub(crate) const TUNING: Tuning = Tuning {
        gemm_subgroups: false,
        gemm_wg: 8,
        texel_capacity: 1 << 20,
        loop_chunk: 4096,
        scratch_limit: 64 << 20,
    };

    /// The entry points the first op over inputs of `shapes` lowers to.
    fn entries(shapes: &[&[usize]], op: Op) -> Vec<&'static str> {
        let mut g = GraphBuilder::new();
        let ins: Vec<ValueId> =
            shapes.iter().enumerate().map(|(i, s)| g.input(&format!("x{i}"), *s, DType::F32).unwrap()).collect();
        let y = g.op(op, &ins).unwrap();
        let graph = g.build(&[y]).unwrap();
        let Lowering::Steps { steps, .. } = lower(&graph.nodes()[0], &graph, TUNING).unwrap() else {
            panic!("an alias")
        };
        steps.iter().filter_map(|s| if let Step::Dispatch(d) = s { Some(d.entry) } else { None }).collect()
    }

    #[test]
    fn elementwise_and_copy_kernels_take_groups_of_4_where_rows_allow() {
        let add = || Op::Binary(BinaryOp::Add);
        // Stepping through rows of 8, broadcasting a per-row term of 12 entries, both ways round.
        for shapes in [[&[2, 3, 4, 8][..], &[8]], [&[2, 6, 8, 12], &[2, 6, 1, 1]], [&[4, 1], &[1, 8]]] {
            assert_eq!(entries(&shapes, add()), ["binary4"], "{shapes:?}");
        }
        // Rows of 7; a per-row term of 18 entries (not whole vectors); a scalar.
        for shapes in [[&[3, 5, 7][..], &[7]], [&[3, 6, 8, 12], &[3, 6, 1, 1]], [&[4, 8], &[1]]] {
            assert_eq!(entries(&shapes, add()), ["binary"], "{shapes:?}");
        }
        let concat = |shapes: &[&[usize]]| entries(shapes, Op::Concat { axis: 1 });
        assert_eq!(concat(&[&[2, 3, 4, 8], &[2, 5, 4, 8]]), ["strided_copy4"; 2]);
        assert_eq!(concat(&[&[2, 3, 1, 3], &[2, 5, 1, 3]]), ["strided_copy"; 2]);
        let slice = |start, step| entries(&[&[2, 6, 8]], Op::Slice { axis: 2, start, end: 8, step });
        assert_eq!([slice(4, 1), slice(2, 1), slice(0, 2)], [["strided_copy4"], ["strided_copy"], ["strided_copy"]]);
        let up = |out_w| entries(&[&[1, 2, 5, 6]], Op::Upsample { mode: UpsampleMode::Nearest, out_h: 10, out_w });
        assert_eq!([up(12), up(14)], [["upsample4"], ["upsample"]]);
        let norm = |x: &[usize]| entries(&[x, &[8], &[8]], Op::GroupNorm { groups: 2, eps: 1e-5 });
        assert_eq!(norm(&[2, 8, 4, 5]).last(), Some(&"norm_apply4"));
        assert_eq!(norm(&[2, 8, 3, 5]).last(), Some(&"norm_apply"));
    }
}
