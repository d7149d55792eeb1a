//! One way to run every segmentation model: load weights (shipped or a file), compile once per
//! image size on the backend the caller picks, segment many images.

use ocelli_graph::{Backend, BinaryOp, Graph, GraphBuilder, Op, Plan, Pool2d, PoolKind, Tensor, ValueId};
use ocelli_nn::{NnError, Weights};
use ocelli_vision::{PackedImage, PixelLayout};

use crate::mask::{cutout, mask_outputs};
use crate::text_boxes::{finish_labels, text_regions, DB_PARAMS};
use crate::{ppocr_det, selfie, Background, Mask, Segmentation};

/// The segmentation models Ocelli ships.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Model {
    /// MediaPipe's selfie segmentation, general model (256×256 input).
    Selfie,
    /// MediaPipe's selfie segmentation, landscape model (144×256 input, for video calls).
    SelfieLandscape,
    /// PP-OCRv4's text detector (DBNet): a text probability map and the text boxes read from it.
    PpocrDet,
}

impl Model {
    /// Every model.
    pub const ALL: [Model; 3] = [Model::Selfie, Model::SelfieLandscape, Model::PpocrDet];

    /// Its name on the command line and in `assets/models/NAME.safetensors`.
    pub fn name(self) -> &'static str {
        match self {
            Model::Selfie => "selfie",
            Model::SelfieLandscape => "selfie_landscape",
            Model::PpocrDet => "ppocr_det",
        }
    }

    /// The probability above which its pixels count as foreground by default (text for
    /// [`Model::PpocrDet`]: also where its boxes are read).
    pub fn default_threshold(self) -> f32 {
        match self {
            Model::Selfie | Model::SelfieLandscape => 0.5,
            Model::PpocrDet => crate::text_boxes::DB_PARAMS.thresh,
        }
    }

    /// The model of that name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.name() == name)
    }

    /// Its network input `(height, width)` for an `h`×`w` image.
    pub fn input_size(self, h: usize, w: usize) -> (usize, usize) {
        match self {
            Model::Selfie => (256, 256),
            Model::SelfieLandscape => (144, 256),
            Model::PpocrDet => {
                let f = ppocr_det::Frame::of(h, w);
                (f.height, f.width)
            }
        }
    }

    /// The probability map at the network's size, `[1, 1, h, w]`, for images of `layout`.
    fn probs(self, g: &mut GraphBuilder, weights: &Weights, layout: &PixelLayout) -> Result<ValueId, NnError> {
        let (h, w) = self.input_size(layout.height, layout.width);
        match self {
            Model::Selfie | Model::SelfieLandscape => {
                let x = selfie::preprocess(g, layout, h, w)?;
                selfie::network(g, &weights.root(), x, (h, w))
            }
            Model::PpocrDet => {
                let x = ppocr_det::preprocess(g, layout, &ppocr_det::Frame::of(layout.height, layout.width))?;
                ppocr_det::network(g, weights, x)
            }
        }
    }

    /// Its whole pipeline for images of `layout` (fed [`PackedImage::segments`]): preprocessing,
    /// network, the mask at the image's size and its coverage above `threshold`; for
    /// [`Model::PpocrDet`] also the map at the network's size and its connected components
    /// above `threshold` (2×2-dilated, as rapidocr), labelled on the device.
    pub fn graph(self, weights: &Weights, layout: &PixelLayout, threshold: f32) -> Result<Graph, NnError> {
        let mut g = GraphBuilder::new();
        let probs = self.probs(&mut g, weights, layout)?;
        // The map's rows over the image (the detector's input pads some images with black rows).
        let over_image = match self {
            Model::PpocrDet => {
                let f = ppocr_det::Frame::of(layout.height, layout.width);
                g.op(Op::Slice { axis: 2, start: f.top, end: f.top + f.rows, step: 1 }, &[probs])?
            }
            _ => probs,
        };
        let mut outputs = mask_outputs(&mut g, over_image, (layout.height, layout.width), threshold)?.to_vec();
        if self == Model::PpocrDet {
            outputs.extend([probs, text_components(&mut g, probs, threshold)?]);
        }
        Ok(g.build(&outputs)?)
    }

    /// The image cut out over `background` by its mask, for images of `layout`.
    pub fn cutout_graph(
        self,
        weights: &Weights,
        layout: &PixelLayout,
        background: Background,
    ) -> Result<Graph, NnError> {
        let mut g = GraphBuilder::new();
        let probs = self.probs(&mut g, weights, layout)?;
        let [mask, _] = mask_outputs(&mut g, probs, (layout.height, layout.width), 0.5)?;
        let out = cutout(&mut g, layout, mask, background)?;
        Ok(g.build(&[out])?)
    }
}

/// Rounds of label propagation the device runs: enough for the text lines of a page (the host
/// finishes any component they leave with several labels).
fn label_rounds(h: usize, w: usize) -> usize {
    2 * (usize::BITS - h.max(w).leading_zeros()) as usize + 8
}

/// The connected components `[h, w]` (i32 labels, −1 off text) of `probs` `[1, 1, h, w]` above
/// `threshold`, dilated by a 2×2 window reaching up and left (`cv2.dilate` with a 2×2 kernel).
fn text_components(g: &mut GraphBuilder, probs: ValueId, threshold: f32) -> Result<ValueId, NnError> {
    let d = g.shape(probs)?.dims().to_vec();
    let (h, w) = (d[2], d[3]);
    let t = g.constant(ocelli_graph::Tensor::from_f32([1], vec![threshold])?)?;
    let text = g.op(Op::Binary(BinaryOp::Greater), &[probs, t])?;
    let window = Pool2d {
        kind: PoolKind::Max,
        kernel: [2, 2],
        stride: [1, 1],
        padding: [1, 1, 0, 0],
        ceil_mode: false,
        count_include_pad: false,
    };
    let dilated = g.op(Op::Pool2d(window), &[text])?;
    let flat = g.op(Op::Reshape { shape: vec![h, w] }, &[dilated])?;
    Ok(g.op(Op::ConnectedComponents { rounds: label_rounds(h, w) }, &[flat])?)
}

/// A segmentation model failed: its weights, its input or the backend.
#[derive(Debug, thiserror::Error)]
pub enum SegmentError {
    /// The weights are missing, corrupt or of the wrong shapes, or the graph is invalid.
    #[error(transparent)]
    Model(#[from] NnError),
    /// The threshold is not in [0, 1].
    #[error("threshold {0}: want a probability in [0, 1]")]
    Threshold(f32),
    /// The backend could not compile or run the graph.
    #[error(transparent)]
    Backend(Box<dyn std::error::Error + Send + Sync>),
}

/// What a compiled plan produces.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Output {
    Mask,
    Cutout(Background),
}

/// A model with its weights on one backend, compiled for each image size it meets.
pub struct Segmenter<B: Backend> {
    model: Model,
    weights: Weights,
    backend: B,
    threshold: f32,
    plans: Vec<(PixelLayout, Output, B::Plan)>,
}

impl<B: Backend> Segmenter<B>
where
    B::Error: Send + Sync + 'static,
{
    /// `model` with `weights` on `backend`, at the model's default threshold.
    pub fn new(model: Model, weights: Weights, backend: B) -> Self {
        Segmenter { model, weights, backend, threshold: model.default_threshold(), plans: Vec::new() }
    }

    /// `model` with its shipped weights ([`Weights::shipped`]).
    pub fn shipped(model: Model, backend: B) -> Result<Self, SegmentError> {
        Ok(Self::new(model, Weights::shipped(model.name())?, backend))
    }

    /// The same segmenter counting coverage (and binary masks) above `threshold`.
    pub fn with_threshold(mut self, threshold: f32) -> Result<Self, SegmentError> {
        if !(0.0..=1.0).contains(&threshold) {
            return Err(SegmentError::Threshold(threshold));
        }
        self.threshold = threshold;
        self.plans.clear();
        Ok(self)
    }

    /// The model.
    pub fn model(&self) -> Model {
        self.model
    }

    /// The segmentation of `image`, in its pixels. The first image of a size compiles the
    /// pipeline for it; later ones reuse it.
    pub fn segment(&mut self, image: &PackedImage) -> Result<Segmentation, SegmentError> {
        let (layout, outputs) = self.run(image, Output::Mask)?;
        let probs = outputs[0].as_f32().expect("the mask is f32").to_vec();
        let coverage = outputs[1].as_f32().expect("the coverage is f32")[0];
        let mask = Mask { height: layout.height, width: layout.width, probs, threshold: self.threshold, coverage };
        let mut regions = Vec::new();
        if self.model == Model::PpocrDet {
            let frame = ppocr_det::Frame::of(layout.height, layout.width);
            let map = outputs[2].as_f32().expect("the map is f32");
            let mut labels = outputs[3].as_i32().expect("labels are i32").to_vec();
            finish_labels(&mut labels, frame.height, frame.width);
            let params = crate::text_boxes::DbParams { thresh: self.threshold, ..DB_PARAMS };
            regions = text_regions(map, &labels, &frame, (layout.height, layout.width), &params);
        }
        Ok(Segmentation { mask, regions })
    }

    /// `image` cut out over `background` by its mask: `[1, 4, H, W]` RGBA for
    /// [`Background::Transparent`], else `[1, 3, H, W]` RGB, in [0, 1].
    pub fn cutout(&mut self, image: &PackedImage, background: Background) -> Result<Tensor, SegmentError> {
        Ok(self.run(image, Output::Cutout(background))?.1.remove(0))
    }

    /// Runs the plan of `output` for `image`'s size, compiling it first if need be.
    fn run(&mut self, image: &PackedImage, output: Output) -> Result<(PixelLayout, Vec<Tensor>), SegmentError> {
        let layout = image.layout.within(self.backend.max_binding_bytes());
        if layout != image.layout {
            return self.run(&PackedImage { layout, words: image.words.clone() }, output);
        }
        let backend_err = |e: B::Error| SegmentError::Backend(Box::new(e));
        let at = match self.plans.iter().position(|(l, o, _)| *l == layout && *o == output) {
            Some(i) => i,
            None => {
                let graph = match output {
                    Output::Mask => self.model.graph(&self.weights, &layout, self.threshold)?,
                    Output::Cutout(b) => self.model.cutout_graph(&self.weights, &layout, b)?,
                };
                let plan = self.backend.compile(&graph).map_err(backend_err)?;
                self.plans.push((layout, output, plan));
                self.plans.len() - 1
            }
        };
        let outputs = self.plans[at].2.run(&image.segments()).map_err(backend_err)?;
        Ok((layout, outputs))
    }
}
