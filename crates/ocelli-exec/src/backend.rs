//! [`GpuBackend`]: compiles graphs into [`GpuPlan`]s on a [`Gpu`].

use std::sync::Arc;

use ocelli_device::Gpu;
use ocelli_graph::{Backend, Graph};

use crate::plan::{CompileOptions, GpuPlan};
use crate::ExecError;

/// The GPU backend: lowers each op to WGSL kernels on a [`Gpu`].
#[derive(Debug, Clone)]
pub struct GpuBackend {
    gpu: Arc<Gpu>,
}

impl GpuBackend {
    /// A backend running on `gpu`.
    pub fn new(gpu: Arc<Gpu>) -> Self {
        Self { gpu }
    }

    /// The device this backend runs on.
    pub fn gpu(&self) -> &Arc<Gpu> {
        &self.gpu
    }

    /// [`Backend::compile`] with explicit options (for instance without passes, to compare).
    pub fn compile_with(&self, graph: &Graph, options: CompileOptions) -> Result<GpuPlan, ExecError> {
        GpuPlan::new(self.gpu.clone(), graph, options)
    }
}

impl Backend for GpuBackend {
    type Error = ExecError;
    type Plan = GpuPlan;

    fn name(&self) -> String {
        let info = self.gpu.adapter_info();
        format!("gpu ({}, {:?})", info.name, info.backend)
    }

    fn compile(&self, graph: &Graph) -> Result<GpuPlan, ExecError> {
        self.compile_with(graph, CompileOptions::default())
    }

    fn max_binding_bytes(&self) -> Option<u64> {
        let limits = self.gpu.limits();
        Some(limits.max_storage_buffer_binding_size.min(limits.max_buffer_size))
    }
}
