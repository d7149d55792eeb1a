//! # Ocelli
//!
//! Computer-vision graphs on any GPU that wgpu reaches (Vulkan, Metal, DX12, GL), as WGSL
//! compute kernels, with a plain CPU reference that checks every kernel.
//!
//! ```no_run
//! use std::sync::Arc;
//! use ocelli::{Backend, DType, Gpu, GpuBackend, GraphBuilder, Op, Tensor, UnaryOp};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let gpu = Arc::new(Gpu::new()?); // honours WGPU_BACKEND / WGPU_ADAPTER_NAME
//! let mut g = GraphBuilder::new();
//! let x = g.input("x", [2, 3], DType::F32)?;
//! let w = g.constant(Tensor::from_f32([3, 2], vec![1.0, 0.0, 0.0, 1.0, 1.0, 1.0])?)?;
//! let y = g.op(Op::MatMul { trans_a: false, trans_b: false }, &[x, w])?;
//! let y = g.op(Op::Unary(UnaryOp::Relu), &[y])?;
//! let graph = g.build(&[y])?;
//!
//! let input = Tensor::from_f32([2, 3], vec![1.0, 2.0, 3.0, -4.0, -5.0, -6.0])?;
//! let out = GpuBackend::new(gpu).run(&graph, &[input])?;
//! assert_eq!(out[0].as_f32().unwrap(), &[4.0, 5.0, 0.0, 0.0]);
//! # Ok(()) }
//! ```
//!
//! Every model family is used the same way: shipped weights (or a file), one compile per image
//! size on the backend you pick, typed results in image pixels.
//!
//! ```no_run
//! use ocelli::detect::{Detector, Model};
//! use ocelli::vision::load_packed;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut faces = Detector::shipped(Model::BlazeFace, ocelli::CpuBackend)?;
//! for d in faces.detect(&load_packed("photo.jpg".as_ref())?)? {
//!     println!("{} {:.2} at {:?}, keypoints {:?}", d.label, d.score, d.bbox, d.keypoints);
//! }
//! # Ok(()) }
//! ```
//!
//! Segmentation and text reading:
//!
//! ```no_run
//! use ocelli::segment::{Background, Model, Ocr, Segmenter};
//! use ocelli::vision::load_packed;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut people = Segmenter::shipped(Model::Selfie, ocelli::CpuBackend)?;
//! let photo = load_packed("photo.jpg".as_ref())?;
//! println!("{:.1}% person", 100.0 * people.segment(&photo)?.mask.coverage);
//! let rgba = people.cutout(&photo, Background::Transparent)?; // [1, 4, H, W], alpha = mask
//! # let _ = rgba;
//! for line in Ocr::shipped(ocelli::CpuBackend)?.read(&load_packed("page.png".as_ref())?)? {
//!     println!("{:.3} {} at {:?}", line.score, line.text, line.polygon);
//! }
//! # Ok(()) }
//! ```

pub mod builtin;

/// Image classification models and top-k.
pub use ocelli_classify as classify;
pub use ocelli_cpu::{CpuBackend, CpuError};
/// Detection utilities: NMS rows, IoU, VOC and COCO mAP.
pub use ocelli_detect as detect;
pub use ocelli_device::{wgpu, Capabilities, DeviceError, Gpu, GpuOptions, Kernel};
/// Generative models: autoencoders, DDPM/DDIM and flow matching, sampled on the device.
pub use ocelli_diffusion as diffusion;
pub use ocelli_exec::{
    CompileOptions, DispatchTime, ExecError, F16Compute, GpuBackend, GpuPlan, KernelFamily, MemoryReport, Profile,
    ProfileRow,
};
pub use ocelli_graph::*;
/// Layer builders and the safetensors weight store.
pub use ocelli_nn as nn;
/// Segmentation: person masks, cut-outs (and text detection).
pub use ocelli_segment as segment;
/// Images, raw Bayer frames and image metrics.
pub use ocelli_vision as vision;
