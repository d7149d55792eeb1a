//! `ocelli-device` owns everything wgpu: choosing an adapter (or wrapping a caller's device),
//! a buffer pool that reuses storage buffers by size class, a pipeline cache keyed by a typed
//! kernel plus its override constants, and uploads and readbacks.
//!
//! It knows nothing about graphs or ops: `ocelli-exec` lowers ops to the kernels it runs here.

mod error;
mod gpu;
mod pipeline;
mod pool;
mod transfer;

pub use error::DeviceError;
pub use gpu::{Capabilities, Gpu, GpuOptions};
pub use pipeline::{Kernel, PipelineKey, PipelineRequest};
pub use pool::{BufferPool, PooledBuffer};
pub use wgpu;

/// Result type of this crate.
pub type Result<T, E = DeviceError> = std::result::Result<T, E>;
