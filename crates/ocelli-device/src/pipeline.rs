use std::collections::HashMap;
use std::sync::Arc;

use crate::{DeviceError, Gpu, Result};

/// One WGSL kernel family: a label (used in every wgpu object and error) and its source.
/// `ocelli-exec` defines these from a typed enum of kernels, one per file in `shaders/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Kernel {
    /// Short name, e.g. `"gemm"`.
    pub label: &'static str,
    /// WGSL source text.
    pub source: &'static str,
}

/// Cache key of one compute pipeline: the kernel, its entry point and its override constants
/// (stored as `f64` bit patterns so the key is hashable).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PipelineKey {
    /// Kernel label.
    pub kernel: &'static str,
    /// Entry point.
    pub entry: &'static str,
    /// Override constants, name and `f64::to_bits` of the value.
    pub constants: Vec<(&'static str, u64)>,
}

#[derive(Default)]
pub(crate) struct PipelineCache {
    modules: HashMap<&'static str, wgpu::ShaderModule>,
    pipelines: HashMap<PipelineKey, Arc<wgpu::ComputePipeline>>,
}

impl Gpu {
    /// The compute pipeline for `kernel`'s `entry` with the given override constants, created on
    /// first use and cached afterwards. Creation runs inside a validation error scope, so a WGSL
    /// or layout mistake comes back as [`DeviceError::Pipeline`] naming the kernel.
    pub fn pipeline(
        &self,
        kernel: Kernel,
        entry: &'static str,
        constants: &[(&'static str, f64)],
    ) -> Result<Arc<wgpu::ComputePipeline>> {
        let key = PipelineKey {
            kernel: kernel.label,
            entry,
            constants: constants.iter().map(|&(n, v)| (n, v.to_bits())).collect(),
        };
        let mut cache = self.pipelines.lock().expect("pipeline cache poisoned");
        if let Some(p) = cache.pipelines.get(&key) {
            return Ok(p.clone());
        }
        let fail = |message: String| DeviceError::Pipeline { kernel: kernel.label, entry, message };
        if !cache.modules.contains_key(kernel.label) {
            let scope = self.device().push_error_scope(wgpu::ErrorFilter::Validation);
            let module = self.device().create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(kernel.label),
                source: wgpu::ShaderSource::Wgsl(kernel.source.into()),
            });
            if let Some(err) = pollster::block_on(scope.pop()) {
                return Err(fail(err.to_string()));
            }
            cache.modules.insert(kernel.label, module);
        }
        let module = &cache.modules[kernel.label];
        let label = format!("{}::{}", kernel.label, entry);
        let scope = self.device().push_error_scope(wgpu::ErrorFilter::Validation);
        let pipeline = self.device().create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(&label),
            layout: None,
            module,
            entry_point: Some(entry),
            compilation_options: wgpu::PipelineCompilationOptions { constants, ..Default::default() },
            cache: None,
        });
        if let Some(err) = pollster::block_on(scope.pop()) {
            return Err(fail(err.to_string()));
        }
        let pipeline = Arc::new(pipeline);
        cache.pipelines.insert(key, pipeline.clone());
        Ok(pipeline)
    }

    /// Number of pipelines created so far (a cache hit creates none).
    pub fn pipeline_count(&self) -> usize {
        self.pipelines.lock().expect("pipeline cache poisoned").pipelines.len()
    }
}
