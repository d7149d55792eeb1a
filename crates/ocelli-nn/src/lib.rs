//! `ocelli-nn`: a safetensors weight store read through path-scoped views (`w.pp("conv1")`), and
//! layer builders over [`GraphBuilder`](ocelli_graph::GraphBuilder) so a model file reads like
//! its architecture.

mod assets;
mod error;
mod layers;
mod unet;
mod weights;

pub use assets::assets_dir;
pub use error::NnError;
pub use layers::{batch_norm, conv2d, conv_bn, linear, same_size_padding};
pub use unet::{group_norm, Downsample, UNet, Upsample};
pub use weights::{Scope, Weights};

/// Result type of this crate.
pub type Result<T, E = NnError> = std::result::Result<T, E>;
