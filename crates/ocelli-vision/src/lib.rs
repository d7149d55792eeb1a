//! `ocelli-vision`: images in and out of tensors, raw Bayer frames (PGM/PNM and headerless raw),
//! mosaicking RGB images into test frames, and image quality metrics.

mod bands;
mod draw;
mod error;
mod image_io;
mod metrics;
pub mod ops;
mod pixels;
mod raw;

pub use bands::{demosaic_bands, demosaic_in_bands};
pub use draw::Canvas;
pub use error::VisionError;
pub use image_io::{load_image, permute_channels, save_image, tensor_from_rgb8, Image};
pub use metrics::psnr;
pub use pixels::{load_packed, resize_pixels, PackedImage, PixelLayout, SEGMENT_BYTES};
pub use raw::{demosaic_graph, mosaic, read_raw, RawFrame};

/// Result type of this crate.
pub type Result<T, E = VisionError> = std::result::Result<T, E>;
