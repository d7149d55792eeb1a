//! `ocelli-classify`: image classifiers built from `ocelli-nn` layers, with their preprocessing
//! in the same graph, and top-k.

pub mod mobilenet_v2;

use ocelli_graph::{DType, Graph, GraphBuilder, GraphError, Op, Tensor, UpsampleMode, ValueId};
use ocelli_nn::Weights;
use ocelli_vision::ops;

/// ImageNet preprocessing of a `[1, 3, H, W]` image in [0, 1]: bilinear resize of the short side
/// to `resize`, centre crop `crop`×`crop`, then ImageNet mean/std.
pub fn imagenet_preprocess(
    g: &mut GraphBuilder,
    x: ValueId,
    resize: usize,
    crop: usize,
) -> Result<ValueId, GraphError> {
    let d = g.shape(x)?.dims().to_vec();
    let (h, w) = (d[2], d[3]);
    let (oh, ow) = if h <= w {
        (resize, ((w * resize) as f64 / h as f64).round() as usize)
    } else {
        (((h * resize) as f64 / w as f64).round() as usize, resize)
    };
    let y = ops::resize(g, x, oh, ow, UpsampleMode::Bilinear { align_corners: false })?;
    let y = ops::center_crop(g, y, crop, crop)?;
    ops::normalize(g, y, &[0.485, 0.456, 0.406], &[0.229, 0.224, 0.225])
}

/// A whole-image classification graph: input `image` `[1, 3, height, width]` in [0, 1],
/// outputs logits `[1, 1000]`, probabilities `[1, 1000]` and the embedding `[1, 1280]`.
pub fn mobilenet_v2_graph(weights: &Weights, height: usize, width: usize) -> Result<Graph, ocelli_nn::NnError> {
    let mut g = GraphBuilder::new();
    let image = g.input("image", [1, 3, height, width], DType::F32)?;
    let x = imagenet_preprocess(&mut g, image, 256, 224)?;
    let emb = mobilenet_v2::features(&mut g, weights, x)?;
    let logits = ocelli_nn::linear(&mut g, &weights.pp("classifier").pp(1), emb, mobilenet_v2::EMBEDDING, 1000)?;
    let probs = g.op(Op::Softmax { axis: 1, log: false }, &[logits])?;
    Ok(g.build(&[logits, probs, emb])?)
}

/// MobileNetV2 on an already preprocessed batch `[batch, 3, 224, 224]`: outputs logits and
/// probabilities `[batch, 1000]`, and the 1280-d embeddings `[batch, 1280]`.
pub fn mobilenet_v2_batch_graph(weights: &Weights, batch: usize) -> Result<Graph, ocelli_nn::NnError> {
    let mut g = GraphBuilder::new();
    let x = g.input("images", [batch, 3, 224, 224], DType::F32)?;
    let emb = mobilenet_v2::features(&mut g, weights, x)?;
    let logits = ocelli_nn::linear(&mut g, &weights.pp("classifier").pp(1), emb, mobilenet_v2::EMBEDDING, 1000)?;
    let probs = g.op(Op::Softmax { axis: 1, log: false }, &[logits])?;
    Ok(g.build(&[logits, probs, emb])?)
}

/// The `k` largest entries of a `[1, classes]` (or `[classes]`) tensor: (index, value), largest
/// first, ties by index.
pub fn top_k(scores: &Tensor, k: usize) -> Vec<(usize, f32)> {
    let v = scores.to_f64_vec();
    let mut idx: Vec<usize> = (0..v.len()).collect();
    idx.sort_by(|&a, &b| v[b].total_cmp(&v[a]).then(a.cmp(&b)));
    idx.into_iter().take(k).map(|i| (i, v[i] as f32)).collect()
}
