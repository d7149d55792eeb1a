//! `ocelli-diffusion`: generative models sampled on the device. MNIST autoencoders, a
//! class-conditional DDPM (DDPM ancestral and DDIM sampling) and a flow-matching model (Euler
//! and Heun), both with classifier-free guidance, trained by the JAX scripts in `scripts/`.
//!
//! ```no_run
//! use ocelli_diffusion::{Method, Model, Request, Sampler};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut sampler = Sampler::shipped(Model::FlowMnist, ocelli_cpu::CpuBackend)?;
//! let request = Request {
//!     classes: vec![7; 16],
//!     method: Method::Euler,
//!     steps: 20,
//!     guidance: 3.0,
//!     seed: 0,
//!     preview_every: 0,
//! };
//! let images = sampler.sample(&request, |p| {
//!     eprintln!("step {}/{}", p.step, p.steps);
//!     std::ops::ControlFlow::Continue(())
//! })?; // [16, 1, 28, 28] in [-1, 1]
//! # let _ = images; Ok(()) }
//! ```

mod autoencoder;
mod metrics;
mod model;
mod sampler;
mod schedule;

pub use autoencoder::{autoencoder_graph, AeModel, Autoencoder, Reconstruction, LATENT};
pub use metrics::{frechet_distance, mean_psnr, Gaussian};
pub use model::{network_graph, step_graph, unet, Evaluation, Model, Objective, StepKind, CLASSES, NULL_CLASS, SIDE};
pub use sampler::{DiffusionError, Method, Progress, Request, Sampler};
pub use schedule::{ddim_times, flow_time, time_embedding, Schedule, Update, TIME_EMBEDDING, T_STEPS};
