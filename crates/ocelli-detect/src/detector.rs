//! One way to run every detector: load weights (shipped or a file), compile once per image
//! size on the backend the caller picks, detect in many images.

use ocelli_graph::{Backend, Graph, Plan, Tensor};
use ocelli_nn::{NnError, Weights};
use ocelli_vision::{PackedImage, PixelLayout};

use crate::blazeface;
use crate::tiny_face::{self, Square};
use crate::Detection;
use crate::{mtcnn, nanodet};

/// The detectors Ocelli ships.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Model {
    /// MediaPipe's BlazeFace short-range face detector.
    BlazeFace,
    /// face-api.js's Tiny Face Detector.
    TinyFace,
    /// NanoDet, an anchor-free detector of COCO's 80 classes.
    NanoDet,
    /// MTCNN, a cascade of three networks that also places five facial landmarks.
    Mtcnn,
}

impl Model {
    /// Every model.
    pub const ALL: [Model; 4] = [Model::BlazeFace, Model::TinyFace, Model::NanoDet, Model::Mtcnn];

    /// Its name on the command line and in `assets/models/NAME.safetensors`.
    pub fn name(self) -> &'static str {
        match self {
            Model::BlazeFace => "blazeface",
            Model::TinyFace => "tiny_face",
            Model::NanoDet => "nanodet",
            Model::Mtcnn => "mtcnn",
        }
    }

    /// The model of that name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.name() == name)
    }

    /// Its whole pipeline for images of `layout` (fed [`ocelli_vision::PackedImage::segments`]):
    /// preprocessing, network, decoding and suppression, as [`Detector`] compiles it.
    pub fn graph(self, weights: &Weights, layout: &PixelLayout, t: Thresholds) -> Result<Graph, NnError> {
        match self {
            Model::BlazeFace => Ok(blazeface::graph(weights, layout, t)?.0),
            Model::TinyFace => Ok(tiny_face::graph(weights, layout, t)?.0),
            Model::NanoDet => nanodet::graph(weights, layout, t),
            Model::Mtcnn => mtcnn::graph(weights, layout, t),
        }
    }

    /// The thresholds its original pipeline uses.
    pub fn default_thresholds(self) -> Thresholds {
        match self {
            Model::BlazeFace => blazeface::THRESHOLDS,
            Model::TinyFace => tiny_face::THRESHOLDS,
            Model::NanoDet => nanodet::THRESHOLDS,
            Model::Mtcnn => mtcnn::THRESHOLDS,
        }
    }
}

/// Which detections are kept: scores above `score`; of boxes overlapping by an IoU above `iou`,
/// only the best.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// Minimum score.
    pub score: f32,
    /// Suppression IoU.
    pub iou: f32,
}

/// A detector failed: its weights or the backend.
#[derive(Debug, thiserror::Error)]
pub enum DetectError {
    /// The weights are missing, corrupt or of the wrong shapes.
    #[error(transparent)]
    Model(#[from] NnError),
    /// The backend could not compile or run the graph.
    #[error(transparent)]
    Backend(Box<dyn std::error::Error + Send + Sync>),
}

/// A model with its weights on one backend, compiled for each image size it meets.
pub struct Detector<B: Backend> {
    model: Model,
    weights: Weights,
    backend: B,
    thresholds: Thresholds,
    plans: Vec<(PixelLayout, B::Plan, Geometry)>,
}

/// How a model's input relates to the image, for mapping results back.
enum Geometry {
    Square(Square),
    /// Stretched to the input: the image's height and width, and its class names.
    Stretch(usize, usize, Vec<String>),
    /// Results already in image pixels.
    Image,
}

impl<B: Backend> Detector<B>
where
    B::Error: Send + Sync + 'static,
{
    /// `model` with `weights` on `backend`, at the model's default thresholds.
    pub fn new(model: Model, weights: Weights, backend: B) -> Self {
        Detector { model, weights, backend, thresholds: model.default_thresholds(), plans: Vec::new() }
    }

    /// `model` with its shipped weights ([`Weights::shipped`]).
    pub fn shipped(model: Model, backend: B) -> Result<Self, DetectError> {
        Ok(Self::new(model, Weights::shipped(model.name())?, backend))
    }

    /// The same detector keeping detections by `thresholds` instead.
    pub fn with_thresholds(mut self, thresholds: Thresholds) -> Self {
        self.thresholds = thresholds;
        self.plans.clear();
        self
    }

    /// The model.
    pub fn model(&self) -> Model {
        self.model
    }

    /// Detections in `image`, in its pixels, best first. The first image of a size compiles
    /// the pipeline for it; later ones reuse it. Images larger than one of the backend's
    /// bindings go up in smaller segments.
    pub fn detect(&mut self, image: &PackedImage) -> Result<Vec<Detection>, DetectError> {
        let layout = image.layout.within(self.backend.max_binding_bytes());
        if layout != image.layout {
            return self.detect(&PackedImage { layout, words: image.words.clone() });
        }
        if self.model == Model::Mtcnn && mtcnn::pyramid(layout.height, layout.width).is_empty() {
            return Ok(Vec::new()); // no face of MTCNN's smallest size fits
        }
        let backend_err = |e: B::Error| DetectError::Backend(Box::new(e));
        let at = match self.plans.iter().position(|(l, ..)| *l == image.layout) {
            Some(i) => i,
            None => {
                let l = &image.layout;
                let graph = self.model.graph(&self.weights, l, self.thresholds)?;
                let geometry = match self.model {
                    Model::TinyFace => Geometry::Square(Square::of(l.height, l.width)),
                    Model::NanoDet => Geometry::Stretch(l.height, l.width, nanodet::coco_labels()),
                    Model::BlazeFace | Model::Mtcnn => Geometry::Image,
                };
                let plan = self.backend.compile(&graph).map_err(backend_err)?;
                self.plans.push((image.layout, plan, geometry));
                self.plans.len() - 1
            }
        };
        let (_, plan, geometry) = &mut self.plans[at];
        let outputs: Vec<Tensor> = plan.run(&image.segments()).map_err(backend_err)?;
        Ok(match geometry {
            Geometry::Square(sq) => tiny_face::faces(&outputs, sq),
            Geometry::Stretch(h, w, labels) => nanodet::objects(&outputs, *h, *w, labels),
            Geometry::Image if self.model == Model::BlazeFace => blazeface::faces(&outputs),
            Geometry::Image => mtcnn::faces(&outputs),
        })
    }
}
