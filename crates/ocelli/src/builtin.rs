//! Built-in graphs for profiling and benchmarks, with deterministic pseudo-random weights.

use crate::{BinaryOp, Conv2d, DType, Graph, GraphBuilder, GraphError, Op, Padding, Tensor, UnaryOp, ValueId};

/// A built-in graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Builtin {
    /// A small ResNet/MobileNet-style CNN on a 1×3×64×64 image: stem conv + BN, two residual
    /// blocks, a strided conv, a depthwise + pointwise pair, global pooling, linear, softmax.
    Cnn,
    /// A 3-layer perceptron on a batch of 64 vectors of 256.
    Mlp,
}

impl Builtin {
    /// Every built-in graph.
    pub const ALL: [Builtin; 2] = [Builtin::Cnn, Builtin::Mlp];

    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Builtin::Cnn => "cnn",
            Builtin::Mlp => "mlp",
        }
    }

    /// The graph of that name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|b| b.name() == name)
    }
}

/// Deterministic values in [-scale, scale).
pub fn data(shape: &[usize], seed: u32, scale: f32) -> Tensor {
    let n: usize = shape.iter().product();
    let mut s = seed.wrapping_mul(2_654_435_761).max(1);
    let v = (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            ((s as f32 / u32::MAX as f32) * 2.0 - 1.0) * scale
        })
        .collect();
    Tensor::from_f32(shape.to_vec(), v).expect("numel")
}

struct Net {
    g: GraphBuilder,
    seed: u32,
}

impl Net {
    fn weight(&mut self, shape: &[usize], scale: f32) -> Result<ValueId, GraphError> {
        self.seed += 1;
        self.g.constant(data(shape, self.seed, scale))
    }

    /// conv (no bias) → batch norm → optional ReLU.
    fn conv_bn(
        &mut self,
        x: ValueId,
        cin: usize,
        cout: usize,
        k: usize,
        stride: usize,
        groups: usize,
        relu: bool,
    ) -> Result<ValueId, GraphError> {
        let w = self.weight(&[cout, cin / groups, k, k], (2.0 / (cin / groups * k * k) as f32).sqrt())?;
        let p = Conv2d { stride: [stride, stride], padding: Padding::Same, groups, ..Default::default() };
        let y = self.g.op(Op::Conv2d(p), &[x, w])?;
        let gamma = self.g.constant(Tensor::from_f32([cout], vec![1.0; cout])?)?;
        let beta = self.weight(&[cout], 0.1)?;
        let mean = self.weight(&[cout], 0.1)?;
        let var = self.g.constant(Tensor::from_f32([cout], vec![1.0; cout])?)?;
        let y = self.g.op(Op::BatchNorm { eps: 1e-5 }, &[y, gamma, beta, mean, var])?;
        Ok(if relu { self.g.op(Op::Unary(UnaryOp::Relu), &[y])? } else { y })
    }
}

/// The graph and an input for it.
pub fn build(which: Builtin) -> Result<(Graph, Vec<Tensor>), GraphError> {
    let mut net = Net { g: GraphBuilder::new(), seed: 0 };
    match which {
        Builtin::Cnn => {
            let x = net.g.input("image", [1, 3, 64, 64], DType::F32)?;
            let mut v = net.conv_bn(x, 3, 32, 3, 2, 1, true)?;
            for _ in 0..2 {
                let h = net.conv_bn(v, 32, 32, 3, 1, 1, true)?;
                let h = net.conv_bn(h, 32, 32, 3, 1, 1, false)?;
                let s = net.g.op(Op::Binary(BinaryOp::Add), &[h, v])?;
                v = net.g.op(Op::Unary(UnaryOp::Relu), &[s])?;
            }
            v = net.conv_bn(v, 32, 64, 3, 2, 1, true)?;
            v = net.conv_bn(v, 64, 64, 3, 1, 64, true)?;
            v = net.conv_bn(v, 64, 64, 1, 1, 1, true)?;
            let gap = net.g.op(Op::GlobalAvgPool, &[v])?;
            let flat = net.g.op(Op::Reshape { shape: vec![1, 64] }, &[gap])?;
            let w = net.weight(&[64, 10], 0.3)?;
            let b = net.weight(&[10], 0.1)?;
            let logits = net.g.op(Op::MatMul { trans_a: false, trans_b: false }, &[flat, w, b])?;
            let probs = net.g.op(Op::Softmax { axis: 1, log: false }, &[logits])?;
            Ok((net.g.build(&[probs])?, vec![data(&[1, 3, 64, 64], 7, 1.0)]))
        }
        Builtin::Mlp => {
            let x = net.g.input("x", [64, 256], DType::F32)?;
            let mut v = x;
            for (i, (din, dout)) in [(256, 512), (512, 512), (512, 10)].into_iter().enumerate() {
                let w = net.weight(&[din, dout], (2.0 / din as f32).sqrt())?;
                let b = net.weight(&[dout], 0.1)?;
                v = net.g.op(Op::MatMul { trans_a: false, trans_b: false }, &[v, w, b])?;
                if i < 2 {
                    v = net.g.op(Op::Unary(UnaryOp::Gelu), &[v])?;
                }
            }
            Ok((net.g.build(&[v])?, vec![data(&[64, 256], 7, 1.0)]))
        }
    }
}
