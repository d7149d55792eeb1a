use ocelli_device::DeviceError;
use ocelli_graph::GraphError;
use thiserror::Error;

/// Errors of the GPU backend.
#[derive(Debug, Error)]
pub enum ExecError {
    /// The graph or its inputs are invalid.
    #[error(transparent)]
    Graph(#[from] GraphError),
    /// The device refused something (limits, pipeline creation, readback).
    #[error(transparent)]
    Device(#[from] DeviceError),
    /// A valid op with parameters this backend cannot run yet.
    #[error("{op}: not supported on the GPU backend: {why}")]
    Unsupported {
        /// Op name.
        op: &'static str,
        /// Why.
        why: String,
    },
    /// The graph needs an adapter feature this adapter lacks.
    #[error("adapter '{adapter}' lacks the '{feature}' feature, needed for {needed_for}")]
    MissingFeature {
        /// WebGPU feature name, e.g. `shader-f16`.
        feature: &'static str,
        /// Adapter name.
        adapter: String,
        /// What needed it.
        needed_for: &'static str,
    },
}
