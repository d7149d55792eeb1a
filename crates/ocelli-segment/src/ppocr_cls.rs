//! PP-OCR's mobile v2.0 text direction classifier: MobileNetV3-small ×0.35 with (2, 1) strides
//! over a `[N, 3, 48, 192]` line (normalised as the recogniser's input), then max pooling, a
//! global average and a two-way softmax: `[p(0°), p(180°)]`.

use ocelli_graph::{BinaryOp, GraphBuilder, Op, Pool2d, PoolKind, UnaryOp, ValueId};
use ocelli_nn::{NnError, Weights};

use crate::ppocr::{binary, conv, dense, excite, unary, S1, S2};

/// The classifier's input `(height, width)`.
pub const INPUT: (usize, usize) = (48, 192);
/// rapidocr's `cls_thresh`: a line is turned when p(180°) is above it.
pub const TURN_THRESHOLD: f32 = 0.9;

/// Paddle's default hard-sigmoid slope (the classifier's squeeze-excitation).
const SLOPE: f32 = 0.2;

/// Blocks: kernel, stride, squeeze-excitation, hard-swish (else ReLU).
const BLOCKS: [(usize, [usize; 2], bool, bool); 11] = [
    (3, [2, 1], true, false),
    (3, [2, 1], false, false),
    (3, S1, false, false),
    (5, [2, 1], true, true),
    (5, S1, true, true),
    (5, S1, true, true),
    (5, S1, true, true),
    (5, S1, true, true),
    (5, [2, 1], true, true),
    (5, S1, true, true),
    (5, S1, true, true),
];

/// `[N, 2]` probabilities (0°, 180°) of lines `x` `[N, 3, 48, 192]`.
pub fn network(g: &mut GraphBuilder, w: &Weights, x: ValueId) -> Result<ValueId, NnError> {
    let x = conv(g, w, "backbone.conv1", x, S2, None)?;
    let mut x = unary(g, UnaryOp::HardSwish, x)?;
    for (i, &(_, stride, se, hard_swish)) in BLOCKS.iter().enumerate() {
        let p = format!("backbone.blocks.{i}");
        let act = if hard_swish { UnaryOp::HardSwish } else { UnaryOp::Relu };
        let y = conv(g, w, &format!("{p}.expand"), x, S1, None)?;
        let y = unary(g, act, y)?;
        let y = conv(g, w, &format!("{p}.dw"), y, stride, None)?;
        let mut y = unary(g, act, y)?;
        if se {
            y = excite(g, w, &format!("{p}.se"), y, SLOPE, false)?;
        }
        let y = conv(g, w, &format!("{p}.project"), y, S1, None)?;
        x = if stride == S1 && g.shape(x)? == g.shape(y)? { binary(g, BinaryOp::Add, x, y)? } else { y };
    }
    let x = conv(g, w, "backbone.conv2", x, S1, None)?;
    let x = unary(g, UnaryOp::HardSwish, x)?;
    let pool = Pool2d {
        kind: PoolKind::Max,
        kernel: [2, 2],
        stride: [2, 2],
        padding: [0; 4],
        ceil_mode: false,
        count_include_pad: false,
    };
    let x = g.op(Op::Pool2d(pool), &[x])?;
    let x = g.op(Op::GlobalAvgPool, &[x])?;
    let d = g.shape(x)?.dims().to_vec();
    let x = g.op(Op::Reshape { shape: vec![d[0], d[1]] }, &[x])?;
    let logits = dense(g, w, "head.fc", x)?;
    Ok(g.op(Op::Softmax { axis: 1, log: false }, &[logits])?)
}
