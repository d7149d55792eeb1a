//! MobileNetV2 (Sandler et al., "MobileNetV2: Inverted Residuals and Linear Bottlenecks",
//! CVPR 2018), ImageNet weights from torchvision (`mobilenet_v2-b0353104.pth`, converted by
//! scripts/convert_mobilenet_v2.py), torchvision's tensor names.

use ocelli_graph::{BinaryOp, GraphBuilder, Op, UnaryOp, ValueId};
use ocelli_nn::{conv_bn, same_size_padding, Result, Scope, Weights};

/// (expansion t, output channels c, repeats n, first stride s) of the inverted residual stages.
const STAGES: [(usize, usize, usize, usize); 7] =
    [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)];

/// Width of the last convolution: the embedding size.
pub const EMBEDDING: usize = 1280;

/// conv → batch norm → ReLU6, with torchvision's `{i}.0` / `{i}.1` names.
fn conv_bn_relu6(
    g: &mut GraphBuilder,
    w: &Scope<'_>,
    x: ValueId,
    io: (usize, usize),
    k: usize,
    stride: usize,
    groups: usize,
) -> Result<ValueId> {
    conv_bn(g, (&w.pp(0), &w.pp(1)), x, io, (k, stride, groups), same_size_padding(k), 1e-5, Some(UnaryOp::Relu6))
}

/// Expand (1×1), depthwise 3×3, project (1×1, linear), plus the input when shapes allow.
fn inverted_residual(
    g: &mut GraphBuilder,
    w: &Scope<'_>,
    x: ValueId,
    cin: usize,
    cout: usize,
    stride: usize,
    t: usize,
) -> Result<ValueId> {
    let hidden = cin * t;
    let (mut y, mut j) = (x, 0);
    if t != 1 {
        y = conv_bn_relu6(g, &w.pp(0), y, (cin, hidden), 1, 1, 1)?;
        j = 1;
    }
    y = conv_bn_relu6(g, &w.pp(j), y, (hidden, hidden), 3, stride, hidden)?;
    y = conv_bn(g, (&w.pp(j + 1), &w.pp(j + 2)), y, (hidden, cout), (1, 1, 1), same_size_padding(1), 1e-5, None)?;
    if stride == 1 && cin == cout {
        y = g.op(Op::Binary(BinaryOp::Add), &[x, y])?;
    }
    Ok(y)
}

/// The 1280-wide pooled features of a preprocessed `[N, 3, 224, 224]` batch: `[N, 1280]`.
pub fn features(g: &mut GraphBuilder, weights: &Weights, x: ValueId) -> Result<ValueId> {
    let f = weights.pp("features");
    let mut y = conv_bn_relu6(g, &f.pp(0), x, (3, 32), 3, 2, 1)?;
    let (mut cin, mut i) = (32, 1);
    for (t, c, n, s) in STAGES {
        for r in 0..n {
            y = inverted_residual(g, &f.pp(i).pp("conv"), y, cin, c, if r == 0 { s } else { 1 }, t)?;
            cin = c;
            i += 1;
        }
    }
    y = conv_bn_relu6(g, &f.pp(i), y, (cin, EMBEDDING), 1, 1, 1)?;
    let pooled = g.op(Op::GlobalAvgPool, &[y])?;
    let n = g.shape(pooled)?.dims()[0];
    Ok(g.op(Op::Reshape { shape: vec![n, EMBEDDING] }, &[pooled])?)
}
