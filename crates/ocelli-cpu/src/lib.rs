//! `ocelli-cpu` is the reference backend: every [`Op`] as plain loops that are obviously right,
//! accumulating in f64. It is the ground truth the GPU kernels are tested against, not a fast
//! path.

mod color;
mod components;
mod conv;
mod demosaic;
mod elementwise;
mod layout;
mod linalg;
mod nms;
mod norm;
mod pool;
mod random;
mod reduce;
mod roi;

use ocelli_graph::{Backend, DType, Graph, GraphError, Op, Plan, Shape, Tensor, ValueDef};
use thiserror::Error;

pub use elementwise::erf;

/// Errors of the CPU backend.
#[derive(Debug, Error)]
pub enum CpuError {
    /// The graph or its inputs are invalid.
    #[error(transparent)]
    Graph(#[from] GraphError),
    /// A value larger than the reference allocates ([`CpuBackend::MAX_VALUE_BYTES`]), refused
    /// before anything runs rather than aborting the process.
    #[error("{what} {shape} needs {bytes} bytes, more than the CPU reference's {limit} per tensor")]
    TooLarge {
        /// Which value.
        what: String,
        /// Its shape.
        shape: ocelli_graph::Shape,
        /// Bytes it needs (f32 working precision).
        bytes: u64,
        /// The budget.
        limit: u64,
    },
}

/// The CPU reference backend.
#[derive(Debug, Default, Clone, Copy)]
pub struct CpuBackend;

impl CpuBackend {
    /// The most bytes one value may take in the reference (which computes in f32, 4 bytes per
    /// element): larger graphs are a [`CpuError::TooLarge`] at compile time.
    pub const MAX_VALUE_BYTES: u64 = 4 << 30;

    /// A CPU backend.
    pub fn new() -> Self {
        Self
    }
}

impl Backend for CpuBackend {
    type Error = CpuError;
    type Plan = CpuPlan;

    fn name(&self) -> String {
        "cpu".into()
    }

    /// The reference runs the graph as written: no passes, so it checks them.
    fn compile(&self, graph: &Graph) -> Result<CpuPlan, CpuError> {
        for (i, v) in graph.values().iter().enumerate() {
            let bytes = v.shape.numel() as u64 * 4;
            if bytes > Self::MAX_VALUE_BYTES {
                let what = match &v.def {
                    ValueDef::Input(name) => format!("input '{name}'"),
                    ValueDef::Constant(_) => format!("constant {i}"),
                    ValueDef::Node { node, .. } => {
                        format!("output of node {node} ({})", graph.nodes()[*node].op.name())
                    }
                };
                return Err(CpuError::TooLarge { what, shape: v.shape.clone(), bytes, limit: Self::MAX_VALUE_BYTES });
            }
        }
        Ok(CpuPlan { graph: graph.clone(), held: vec![None; graph.inputs().len()], last: None })
    }
}

/// A graph ready to run on the CPU reference.
#[derive(Debug, Clone)]
pub struct CpuPlan {
    graph: Graph,
    /// What each input holds between [`Plan::advance`] calls.
    held: Vec<Option<Tensor>>,
    /// The outputs of the last advance.
    last: Option<Vec<Tensor>>,
}

impl Plan for CpuPlan {
    type Error = CpuError;

    fn run(&mut self, inputs: &[Tensor]) -> Result<Vec<Tensor>, CpuError> {
        let graph = &self.graph;
        graph.check_inputs(inputs)?;
        let mut vals: Vec<Option<Tensor>> = vec![None; graph.values().len()];
        for (id, t) in graph.inputs().iter().zip(inputs) {
            vals[id.0] = Some(t.clone());
        }
        for (i, v) in graph.values().iter().enumerate() {
            if let ValueDef::Constant(t) = &v.def {
                vals[i] = Some(t.clone());
            }
        }
        for node in graph.nodes() {
            let args: Vec<&Tensor> = node
                .inputs
                .iter()
                .map(|id| vals[id.0].as_ref().expect("graph order guarantees inputs are computed"))
                .collect();
            let out_shapes: Vec<&Shape> = node.outputs.iter().map(|o| &graph.value(*o).shape).collect();
            let widen = !matches!(node.op, Op::Cast { .. }) && args.iter().any(|t| t.dtype() == DType::F16);
            let outs = if widen {
                // f16 ops compute in f32 and round their results to f16.
                let wide: Vec<Tensor> = args.iter().map(|t| layout::cast(t, DType::F32)).collect();
                let outs = eval(&node.op, &wide.iter().collect::<Vec<_>>(), &out_shapes);
                outs.iter()
                    .zip(&node.outputs)
                    .map(
                        |(t, o)| {
                            if graph.value(*o).dtype == DType::F16 {
                                layout::cast(t, DType::F16)
                            } else {
                                t.clone()
                            }
                        },
                    )
                    .collect()
            } else {
                eval(&node.op, &args, &out_shapes)
            };
            for (id, t) in node.outputs.iter().zip(outs) {
                vals[id.0] = Some(t);
            }
        }
        Ok(graph.outputs().iter().map(|id| vals[id.0].clone().expect("outputs are computed")).collect())
    }

    fn advance(&mut self, inputs: &[Option<Tensor>], carry: &[(usize, usize)]) -> Result<(), CpuError> {
        let held: Vec<bool> = self.held.iter().map(Option::is_some).collect();
        self.graph.check_advance(inputs, &held, carry)?;
        for (slot, given) in self.held.iter_mut().zip(inputs) {
            if let Some(t) = given {
                *slot = Some(t.clone());
            }
        }
        let now: Vec<Tensor> =
            self.held.iter().map(|t| t.clone().expect("checked: every input holds a tensor")).collect();
        let outputs = self.run(&now)?;
        for &(o, i) in carry {
            self.held[i] = Some(outputs[o].clone());
        }
        self.last = Some(outputs);
        Ok(())
    }

    fn outputs(&mut self) -> Result<Vec<Tensor>, CpuError> {
        self.last.clone().ok_or_else(|| {
            GraphError::InputMismatch { name: "*".into(), why: "outputs asked for before any advance".into() }.into()
        })
    }
}

fn f32s(t: &Tensor) -> &[f32] {
    t.as_f32().expect("shape inference admits only f32 here")
}

fn i32s(t: &Tensor) -> &[i32] {
    match t.data() {
        ocelli_graph::TensorData::I32(v) => v,
        _ => unreachable!("shape inference admits only i32 here"),
    }
}

fn out_f32(shape: &Shape, data: Vec<f32>) -> Tensor {
    Tensor::from_f32(shape.clone(), data).expect("reference kernels produce numel elements")
}

/// Evaluates one op on host tensors; `out` are the inferred output shapes.
fn eval(op: &Op, args: &[&Tensor], out: &[&Shape]) -> Vec<Tensor> {
    let x = args[0];
    let xs = x.shape();
    let one = |data: Vec<f32>| vec![out_f32(out[0], data)];
    match op {
        Op::MatMul { trans_a, trans_b } => one(linalg::matmul(
            f32s(x),
            xs,
            f32s(args[1]),
            args[1].shape(),
            args.get(2).map(|b| f32s(b)),
            *trans_a,
            *trans_b,
            out[0],
        )),
        Op::L1Distance => one(linalg::l1_distance(f32s(x), f32s(args[1]), xs.dims()[1])),
        Op::Conv2d(p) => {
            one(conv::conv2d(f32s(x), xs, f32s(args[1]), args[1].shape(), args.get(2).map(|b| f32s(b)), p, out[0]))
        }
        Op::ConvTranspose2d(p) => one(conv::conv_transpose2d(
            f32s(x),
            xs,
            f32s(args[1]),
            args[1].shape(),
            args.get(2).map(|b| f32s(b)),
            p,
            out[0],
        )),
        Op::Pool2d(p) => one(pool::pool2d(f32s(x), xs, p, out[0]).0),
        Op::MaxPool2dWithIndices(p) => {
            let (v, idx) = pool::pool2d(f32s(x), xs, p, out[0]);
            vec![out_f32(out[0], v), Tensor::from_i32(out[1].clone(), idx).expect("same shape")]
        }
        Op::MaxUnpool2d { .. } => {
            let idx = match args[1].data() {
                ocelli_graph::TensorData::I32(v) => v,
                _ => unreachable!("inference checks i32 indices"),
            };
            one(pool::max_unpool2d(f32s(x), xs, idx, out[0]))
        }
        Op::GlobalAvgPool => {
            let (o, l, i) = Shape::new(vec![xs.dims()[0] * xs.dims()[1], xs.dims()[2] * xs.dims()[3]]).split_at_axis(1);
            one(reduce::reduce(f32s(x), (o, l, i), ocelli_graph::ReduceOp::Mean))
        }
        Op::Upsample { mode, .. } => one(pool::upsample(f32s(x), xs, *mode, out[0])),
        Op::Binary(b) => one(elementwise::binary(f32s(x), xs, f32s(args[1]), args[1].shape(), *b, out[0])),
        Op::Unary(u) => one(f32s(x).iter().map(|&v| elementwise::unary(v, *u)).collect()),
        Op::Softmax { axis, log } => one(reduce::softmax(f32s(x), xs.split_at_axis(*axis), *log)),
        Op::BatchNorm { eps } => {
            let p: Vec<&[f32]> = args[1..].iter().map(|t| f32s(t)).collect();
            one(norm::batch_norm(f32s(x), xs, p[0], p[1], p[2], p[3], *eps))
        }
        Op::GroupNorm { groups, eps } => {
            one(norm::group_norm(f32s(x), xs, f32s(args[1]), f32s(args[2]), *groups, *eps))
        }
        Op::LayerNorm { axis, eps } => one(norm::layer_norm(f32s(x), xs, f32s(args[1]), f32s(args[2]), *axis, *eps)),
        Op::Reduce { op, axis, .. } => one(reduce::reduce(f32s(x), xs.split_at_axis(*axis), *op)),
        Op::ArgMax { axis, .. } => {
            vec![Tensor::from_i32(out[0].clone(), reduce::argmax(f32s(x), xs.split_at_axis(*axis))).expect("numel")]
        }
        Op::TopK { k, largest } => {
            let len = *xs.dims().last().expect("rank >= 1");
            let (v, i) = reduce::top_k(f32s(x), len, *k, *largest);
            vec![out_f32(out[0], v), Tensor::from_i32(out[1].clone(), i).expect("numel")]
        }
        Op::Concat { axis } => vec![layout::concat(args, *axis, out[0])],
        Op::Slice { axis, start, step, .. } => vec![layout::slice(x, *axis, *start, *step, out[0])],
        Op::Gather { axis } => {
            let idx = match args[1].data() {
                ocelli_graph::TensorData::I32(v) => v,
                _ => unreachable!("inference checks i32 indices"),
            };
            vec![layout::take(x, *axis, idx, out[0])]
        }
        Op::Reshape { shape } => vec![x.clone().reshaped(shape.clone()).expect("inference checked numel")],
        Op::Transpose { perm } => vec![layout::transpose(x, perm, out[0])],
        Op::Pad { pads, mode } => one(layout::pad(f32s(x), xs, pads, *mode, out[0])),
        Op::Cast { to } => vec![layout::cast(x, *to)],
        Op::Demosaic(d) => {
            let words = match x.data() {
                ocelli_graph::TensorData::U32(v) => v,
                _ => unreachable!("inference checks u32 words"),
            };
            one(demosaic::demosaic(words, d))
        }
        Op::ResizePixels(r) => {
            let words: Vec<u32> = args
                .iter()
                .flat_map(|t| match t.data() {
                    ocelli_graph::TensorData::U32(v) => v.iter().copied(),
                    _ => unreachable!("inference checks u32 words"),
                })
                .collect();
            if r.mode == ocelli_graph::UpsampleMode::BilinearFixedPoint {
                one(pool::resize_pixels_fixed_point(&words, r))
            } else {
                let (planar, shape) = pool::unpack_pixels(&words, r);
                one(pool::upsample(&planar, &shape, r.mode, out[0]))
            }
        }
        Op::RoiAlign(p) => one(roi::roi_align(f32s(x), xs, f32s(args[1]), i32s(args[2]), p)),
        Op::RoiPool(p) => one(roi::roi_pool(f32s(x), xs, f32s(args[1]), i32s(args[2]), p)),
        Op::PerspectiveCrops { out_h, out_w, fill } => {
            one(roi::perspective_crops(f32s(x), xs, f32s(args[1]), i32s(args[2]), (*out_h, *out_w, *fill)))
        }
        Op::CropResize { out_h, out_w } => {
            one(roi::crop_resize(f32s(x), xs, f32s(args[1]), i32s(args[2]), (*out_h, *out_w)))
        }
        Op::NonMaxSuppression(p) => {
            let (rows, scores) = nms::nms(f32s(x), xs, f32s(args[1]), args[1].shape(), p);
            let mut outs = vec![Tensor::from_i32(out[0].clone(), rows).expect("numel")];
            if p.soft_sigma.is_some() {
                outs.push(out_f32(out[1], scores));
            }
            outs
        }
        Op::RandomNormal { .. } => {
            let ocelli_graph::TensorData::U32(key) = x.data() else { unreachable!("inference checks a u32 key") };
            one(random::normals([key[0], key[1]], out[0].numel()))
        }
        Op::ColorSpace { to_hsv } => one(color::color_space(f32s(x), xs, *to_hsv)),
        Op::Histogram(h) => one(color::histogram(f32s(x), xs, *h)),
        Op::ConnectedComponents { rounds } => {
            let d = xs.dims();
            let labels = components::connected_components(f32s(x), d[0], d[1], *rounds);
            vec![Tensor::from_i32(out[0].clone(), labels).expect("numel")]
        }
        Op::Fused(f) => {
            let n = f.base_inputs(args.len());
            let base = eval(&f.base, &args[..n], out).remove(0);
            let mut v = f32s(&base).to_vec();
            if f.residual {
                for (y, r) in v.iter_mut().zip(f32s(args[n])) {
                    *y = (f64::from(*y) + f64::from(*r)) as f32;
                }
            }
            for &act in &f.acts {
                v.iter_mut().for_each(|y| *y = elementwise::unary(*y, act));
            }
            one(v)
        }
    }
}

impl CpuBackend {
    /// Converts a host tensor between f32 and f16 (f16 rounds to nearest even); other dtypes
    /// are returned unchanged.
    pub fn cast(t: &Tensor, to: DType) -> Tensor {
        layout::cast(t, to)
    }
}
