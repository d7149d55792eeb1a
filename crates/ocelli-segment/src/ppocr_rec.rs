//! PP-OCRv4's mobile text recogniser (SVTR-LCNet): a PP-LCNetV3 backbone that keeps the width
//! (strides (2, 1) and (1, 2)), an SVTR neck (two pre-norm transformer blocks over the columns,
//! 8 heads of 15) joined with the backbone's map, and a CTC head over 6625 classes (0 the blank,
//! 1 to 6623 the dictionary's lines, 6624 a space). Input: text lines of height 48 in [−1, 1],
//! BGR; output: per column (W/8 of them) the class probabilities.

use ocelli_graph::{BinaryOp, GraphBuilder, Op, Pool2d, PoolKind, Tensor, UnaryOp, ValueId};
use ocelli_nn::{NnError, Weights};

use crate::ppocr::{binary, conv, dense, lcnet, unary, Stages, S1};

/// Height of the recogniser's input.
pub const HEIGHT: usize = 48;
/// Classes of its output: the CTC blank, the dictionary's 6623 entries, a space.
pub const CLASSES: usize = 6625;

const STAGES: Stages = [
    &[(3, S1, false)],
    &[(3, S1, false), (3, S1, false)],
    &[(3, [2, 1], false), (3, S1, false)],
    &[(3, [1, 2], false), (5, S1, false), (5, S1, false), (5, S1, false), (5, S1, false)],
    &[(5, [2, 1], true), (5, S1, true), (5, [2, 1], false), (5, S1, false)],
];
/// Transformer width, heads and blocks.
const WIDTH: usize = 120;
const HEADS: usize = 8;
const BLOCKS: usize = 2;

/// Class probabilities `[N, T, 6625]` of text lines `x` `[N, 3, 48, W]` (T = W/8 for W a
/// multiple of 8).
pub fn network(g: &mut GraphBuilder, w: &Weights, x: ValueId) -> Result<ValueId, NnError> {
    let features = *lcnet(g, w, x, &STAGES)?.last().expect("five stages");
    let pool = Pool2d {
        kind: PoolKind::Avg,
        kernel: [3, 2],
        stride: [3, 2],
        padding: [0; 4],
        ceil_mode: false,
        count_include_pad: false,
    };
    let columns = g.op(Op::Pool2d(pool), &[features])?;
    let z = swish_conv(g, w, "neck.conv1", columns, Some([0, 1, 0, 1]))?;
    let z = swish_conv(g, w, "neck.conv2", z, None)?;
    let [n, c, _, t] = dims4(g, z)?;
    let z = g.op(Op::Reshape { shape: vec![n, c, t] }, &[z])?;
    let mut z = g.op(Op::Transpose { perm: vec![0, 2, 1] }, &[z])?;
    for b in 0..BLOCKS {
        let p = format!("neck.blocks.{b}");
        let y = layer_norm(g, w, &format!("{p}.norm1"), z, 1e-5)?;
        let y = attention(g, w, &format!("{p}.attn"), y, (n, t))?;
        z = binary(g, BinaryOp::Add, z, y)?;
        let y = layer_norm(g, w, &format!("{p}.norm2"), z, 1e-5)?;
        let y = dense(g, w, &format!("{p}.mlp.fc1"), y)?;
        let y = unary(g, UnaryOp::Silu, y)?;
        let y = dense(g, w, &format!("{p}.mlp.fc2"), y)?;
        z = binary(g, BinaryOp::Add, z, y)?;
    }
    let z = layer_norm(g, w, "neck.norm", z, 1e-6)?;
    let z = g.op(Op::Transpose { perm: vec![0, 2, 1] }, &[z])?;
    let z = g.op(Op::Reshape { shape: vec![n, WIDTH, 1, t] }, &[z])?;
    let z = swish_conv(g, w, "neck.conv3", z, None)?;
    let z = g.op(Op::Concat { axis: 1 }, &[columns, z])?;
    let z = swish_conv(g, w, "neck.conv4", z, Some([0, 1, 0, 1]))?;
    let z = swish_conv(g, w, "neck.conv1x1", z, None)?;
    let z = g.op(Op::Reshape { shape: vec![n, WIDTH, t] }, &[z])?;
    let z = g.op(Op::Transpose { perm: vec![0, 2, 1] }, &[z])?;
    let logits = dense(g, w, "head.fc", z)?;
    Ok(g.op(Op::Softmax { axis: 2, log: false }, &[logits])?)
}

/// Multi-head self-attention `name` over `x` `[n, t, 120]`: qkv projection split as
/// `[n, t, 3, heads, 15]`, `softmax(q·k^T / √15)·v` per head, output projection.
fn attention(
    g: &mut GraphBuilder,
    w: &Weights,
    name: &str,
    x: ValueId,
    (n, t): (usize, usize),
) -> Result<ValueId, NnError> {
    let d = WIDTH / HEADS;
    let qkv = dense(g, w, &format!("{name}.qkv"), x)?;
    let qkv = g.op(Op::Reshape { shape: vec![n, t, 3, HEADS, d] }, &[qkv])?;
    let qkv = g.op(Op::Transpose { perm: vec![2, 0, 3, 1, 4] }, &[qkv])?;
    let part = |g: &mut GraphBuilder, k: usize| -> Result<ValueId, NnError> {
        let s = g.op(Op::Slice { axis: 0, start: k, end: k + 1, step: 1 }, &[qkv])?;
        Ok(g.op(Op::Reshape { shape: vec![n, HEADS, t, d] }, &[s])?)
    };
    let (q, k, v) = (part(g, 0)?, part(g, 1)?, part(g, 2)?);
    let scale = g.constant(Tensor::from_f32([1], vec![(d as f32).powf(-0.5)])?)?;
    let q = binary(g, BinaryOp::Mul, q, scale)?;
    let scores = g.op(Op::MatMul { trans_a: false, trans_b: true }, &[q, k])?;
    let a = g.op(Op::Softmax { axis: 3, log: false }, &[scores])?;
    let y = g.op(Op::MatMul { trans_a: false, trans_b: false }, &[a, v])?;
    let y = g.op(Op::Transpose { perm: vec![0, 2, 1, 3] }, &[y])?;
    let y = g.op(Op::Reshape { shape: vec![n, t, WIDTH] }, &[y])?;
    dense(g, w, &format!("{name}.proj"), y)
}

/// Layer norm `name` over the last axis.
fn layer_norm(g: &mut GraphBuilder, w: &Weights, name: &str, x: ValueId, eps: f32) -> Result<ValueId, NnError> {
    let gamma = g.constant(w.get(&format!("{name}.weight"), &[WIDTH])?)?;
    let beta = g.constant(w.get(&format!("{name}.bias"), &[WIDTH])?)?;
    let axis = g.shape(x)?.rank() - 1;
    Ok(g.op(Op::LayerNorm { axis, eps }, &[x, gamma, beta])?)
}

/// Convolution `name` then swish (x · sigmoid(x)).
fn swish_conv(
    g: &mut GraphBuilder,
    w: &Weights,
    name: &str,
    x: ValueId,
    pads: Option<[usize; 4]>,
) -> Result<ValueId, NnError> {
    let y = conv(g, w, name, x, S1, pads)?;
    unary(g, UnaryOp::Silu, y)
}

fn dims4(g: &GraphBuilder, x: ValueId) -> Result<[usize; 4], NnError> {
    let d = g.shape(x)?.dims().to_vec();
    d.try_into().map_err(|d| NnError::Spec(format!("want a 4-d map, got {d:?}")))
}

/// CTC greedy decoding of one line's probabilities `[T, classes]` (row-major): see
/// [`ctc_greedy`], with each column's most likely class (the first on ties).
pub fn ctc_decode(probs: &[f32], classes: usize, keys: &[String]) -> (String, f32) {
    let best = probs
        .chunks_exact(classes)
        .map(|row| row.iter().enumerate().fold((0, f32::MIN), |best, (i, &v)| if v > best.1 { (i, v) } else { best }));
    ctc_greedy(best, keys)
}

/// CTC greedy decoding from each column's best class and its probability: repeats merged,
/// blanks (0) dropped; class i is `keys[i − 1]`, a class past the keys a space. The text and the
/// mean probability of the kept columns (0 when none).
pub fn ctc_greedy(columns: impl IntoIterator<Item = (usize, f32)>, keys: &[String]) -> (String, f32) {
    let (mut text, mut sum, mut kept, mut prev) = (String::new(), 0f64, 0usize, usize::MAX);
    for (k, p) in columns {
        if k != prev && k != 0 {
            text.push_str(keys.get(k - 1).map_or(" ", String::as_str));
            sum += f64::from(p);
            kept += 1;
        }
        prev = k;
    }
    (text, if kept == 0 { 0.0 } else { (sum / kept as f64) as f32 })
}

#[cfg(test)]
mod tests {
    use super::ctc_decode;

    #[test]
    fn ctc_merges_repeats_and_drops_blanks() {
        let keys: Vec<String> = ["a", "b"].iter().map(|s| s.to_string()).collect();
        // Columns: a, a, blank, a, b, space (class 3).
        let rows = [
            [0.1, 0.8, 0.1, 0.0],
            [0.1, 0.6, 0.3, 0.0],
            [0.9, 0.05, 0.05, 0.0],
            [0.0, 1.0, 0.0, 0.0],
            [0.2, 0.0, 0.8, 0.0],
            [0.0, 0.0, 0.3, 0.7],
        ];
        let flat: Vec<f32> = rows.iter().flatten().copied().collect();
        let (text, score) = ctc_decode(&flat, 4, &keys);
        assert_eq!(text, "aab ");
        assert!((score - (0.8 + 1.0 + 0.8 + 0.7) / 4.0).abs() < 1e-6, "{score}");
    }
}
