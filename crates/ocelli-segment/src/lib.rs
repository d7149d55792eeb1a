//! `ocelli-segment`: segmentation models — MediaPipe's [`selfie`] segmentation (person vs
//! background) — with their post-processing on the device: the probability mask resized to the
//! image, thresholded into a coverage, and alpha-matted cut-outs.
//!
//! A [`Segmenter`] loads a model once, compiles it per image size on the backend it is given
//! (the GPU, or the CPU reference) and returns a [`Segmentation`] per image, in image pixels;
//! see the `ocelli` crate for an example.

mod fill;
mod mask;
mod ocr;
mod ppocr;
pub mod ppocr_cls;
pub mod ppocr_det;
pub mod ppocr_rec;
mod segmenter;
pub mod selfie;
pub mod text_boxes;

pub use mask::{Background, Mask, Region, Segmentation};
pub use ocr::{Ocr, TextLine, TEXT_SCORE};
pub use segmenter::{Model, SegmentError, Segmenter};
