//! `ocelli-classify`: image classifiers built from `ocelli-nn` layers, with their preprocessing
//! in the same graph, and top-k.

pub mod efficientnet_lite0;
pub mod mnist;
pub mod mobilenet_v2;

use ocelli_graph::{DType, Graph, GraphBuilder, GraphError, Op, Tensor, UpsampleMode, ValueId};
use ocelli_nn::Weights;
use ocelli_vision::{ops, resize_pixels, PixelLayout};

/// The ImageNet classifiers Ocelli ships.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Model {
    /// MobileNetV2, torchvision weights.
    MobileNetV2,
    /// EfficientNet-Lite0.
    EfficientNetLite0,
}

impl Model {
    /// Every model.
    pub const ALL: [Model; 2] = [Model::MobileNetV2, Model::EfficientNetLite0];

    /// Its name on the command line and in `assets/models/NAME.safetensors`.
    pub fn name(self) -> &'static str {
        match self {
            Model::MobileNetV2 => "mobilenet_v2",
            Model::EfficientNetLite0 => "efficientnet_lite0",
        }
    }

    /// The model of that name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.name() == name)
    }

    /// Per-channel mean and std the model was trained with (on pixels in [0, 1]).
    fn normalization(self) -> ([f32; 3], [f32; 3]) {
        match self {
            Model::MobileNetV2 => ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
            Model::EfficientNetLite0 => ([0.5; 3], [0.5; 3]),
        }
    }

    /// Pooled features `[N, 1280]` of a preprocessed `[N, 3, 224, 224]` batch.
    fn features(self, g: &mut GraphBuilder, w: &Weights, x: ValueId) -> Result<ValueId, ocelli_nn::NnError> {
        match self {
            Model::MobileNetV2 => mobilenet_v2::features(g, w, x),
            Model::EfficientNetLite0 => efficientnet_lite0::features(g, w, x),
        }
    }

    /// The classifier layer's scope.
    fn head<'a>(self, w: &'a Weights) -> ocelli_nn::Scope<'a> {
        match self {
            Model::MobileNetV2 => w.pp("classifier").pp(1),
            Model::EfficientNetLite0 => w.pp("_fc"),
        }
    }

    /// Logits, probabilities and embeddings of an already preprocessed batch
    /// `[batch, 3, 224, 224]`.
    pub fn batch_graph(self, weights: &Weights, batch: usize) -> Result<Graph, ocelli_nn::NnError> {
        let mut g = GraphBuilder::new();
        let x = g.input("images", [batch, 3, 224, 224], DType::F32)?;
        self.finish(g, weights, x)
    }

    /// The whole pipeline on one decoded image of `layout` (RGB or RGBA, whose alpha is
    /// ignored), fed as its packed samples ([`ocelli_vision::PackedImage::segments`]): on the
    /// device, bilinear resize of the short side to 256 straight from the samples, centre crop
    /// 224, normalisation, the network; outputs logits and probabilities `[1, 1000]` and the
    /// embedding `[1, 1280]`. Images larger than one storage binding work: only the packed
    /// samples (a quarter of the f32 size at 8 bits, in segments) and the resized image go up.
    pub fn image_graph(self, weights: &Weights, layout: &PixelLayout) -> Result<Graph, ocelli_nn::NnError> {
        if layout.channels < 3 {
            return Err(GraphError::InvalidParam {
                op: "image_graph",
                why: format!("a colour image is needed, got {} channel(s)", layout.channels),
            }
            .into());
        }
        let mut g = GraphBuilder::new();
        let (oh, ow) = short_side(layout.height, layout.width, 256);
        let x = resize_pixels(&mut g, layout, oh, ow, UpsampleMode::Bilinear { align_corners: false })?;
        let x = if layout.channels > 3 { g.op(Op::Slice { axis: 1, start: 0, end: 3, step: 1 }, &[x])? } else { x };
        let x = ops::center_crop(&mut g, x, 224, 224)?;
        let (mean, std) = self.normalization();
        let x = ops::normalize(&mut g, x, &mean, &std)?;
        self.finish(g, weights, x)
    }

    fn finish(self, mut g: GraphBuilder, weights: &Weights, x: ValueId) -> Result<Graph, ocelli_nn::NnError> {
        let emb = self.features(&mut g, weights, x)?;
        let logits = ocelli_nn::linear(&mut g, &self.head(weights), emb, 1280, 1000)?;
        let probs = g.op(Op::Softmax { axis: 1, log: false }, &[logits])?;
        Ok(g.build(&[logits, probs, emb])?)
    }
}

/// The size whose short side is `side`, keeping the aspect ratio of `h`×`w` (rounded).
fn short_side(h: usize, w: usize, side: usize) -> (usize, usize) {
    if h <= w {
        (side, ((w * side) as f64 / h as f64).round() as usize)
    } else {
        (((h * side) as f64 / w as f64).round() as usize, side)
    }
}

/// The `k` largest entries of a `[1, classes]` (or `[classes]`) tensor: (index, value), largest
/// first, ties by index.
pub fn top_k(scores: &Tensor, k: usize) -> Vec<(usize, f32)> {
    let v = scores.to_f64_vec();
    let mut idx: Vec<usize> = (0..v.len()).collect();
    idx.sort_by(|&a, &b| v[b].total_cmp(&v[a]).then(a.cmp(&b)));
    idx.into_iter().take(k).map(|i| (i, v[i] as f32)).collect()
}
