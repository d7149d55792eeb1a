//! `ocelli-exec` is the GPU backend: it lowers every [`Op`](ocelli_graph::Op) of a graph to WGSL
//! kernels (one Rust file per kernel family under `lower/`, next to its WGSL in `shaders/`),
//! records the whole graph into one command encoder, submits once and reads back only the
//! outputs.

mod backend;
mod dispatch;
mod error;
mod gemm_source;
mod kernels;
mod lower;
mod plan;
mod planner;
mod profile;
mod texels;
mod topk_source;
mod tuning;

pub use backend::GpuBackend;
pub use error::ExecError;
pub use kernels::KernelFamily;
pub use plan::{CompileOptions, F16Compute, GpuPlan, MemoryReport};
pub use profile::{DispatchTime, Profile, ProfileRow};
