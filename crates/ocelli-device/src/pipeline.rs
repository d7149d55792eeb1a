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

/// One pipeline to create: kernel, entry point, override constants.
pub type PipelineRequest<'a> = (Kernel, &'static str, &'a [(&'static str, f64)]);

fn key_of(kernel: Kernel, entry: &'static str, constants: &[(&'static str, f64)]) -> PipelineKey {
    PipelineKey { kernel: kernel.label, entry, constants: constants.iter().map(|&(n, v)| (n, v.to_bits())).collect() }
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
        let key = key_of(kernel, entry, constants);
        if let Some(p) = self.pipelines.lock().expect("pipeline cache poisoned").pipelines.get(&key) {
            return Ok(p.clone());
        }
        let module = self.module(kernel, entry)?;
        let pipeline = Arc::new(self.create_pipeline(&module, kernel, entry, constants)?);
        let mut cache = self.pipelines.lock().expect("pipeline cache poisoned");
        Ok(cache.pipelines.entry(key).or_insert(pipeline).clone())
    }

    /// Creates every requested pipeline that is not cached yet, on as many threads as the
    /// machine has cores: most drivers compile a pipeline when it is created, so a model's
    /// first compile is mostly this (lavapipe is the exception: it compiles at the first
    /// dispatch). Returns the first error, naming its kernel.
    pub fn prepare_pipelines(&self, requests: &[PipelineRequest<'_>]) -> Result<()> {
        let mut todo: Vec<(PipelineKey, PipelineRequest<'_>)> = Vec::new();
        {
            let cache = self.pipelines.lock().expect("pipeline cache poisoned");
            for &(kernel, entry, constants) in requests {
                let key = key_of(kernel, entry, constants);
                if !cache.pipelines.contains_key(&key) && !todo.iter().any(|(k, _)| *k == key) {
                    todo.push((key, (kernel, entry, constants)));
                }
            }
        }
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(todo.len());
        let next = std::sync::atomic::AtomicUsize::new(0);
        let work = || -> Result<()> {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some((key, (kernel, entry, constants))) = todo.get(i) else { return Ok(()) };
                let module = self.module(*kernel, entry)?;
                let pipeline = Arc::new(self.create_pipeline(&module, *kernel, entry, constants)?);
                self.pipelines.lock().expect("pipeline cache poisoned").pipelines.insert(key.clone(), pipeline);
            }
        };
        std::thread::scope(|s| {
            let handles: Vec<_> = (1..threads).map(|_| s.spawn(work)).collect();
            let mine = work();
            handles.into_iter().map(|h| h.join().expect("pipeline thread panicked")).chain([mine]).collect()
        })
    }

    /// The shader module of `kernel`, parsed and validated once; `entry` names the pipeline
    /// that needs it in an error.
    fn module(&self, kernel: Kernel, entry: &'static str) -> Result<wgpu::ShaderModule> {
        let mut cache = self.pipelines.lock().expect("pipeline cache poisoned");
        if let Some(m) = cache.modules.get(kernel.label) {
            return Ok(m.clone());
        }
        let scope = self.device().push_error_scope(wgpu::ErrorFilter::Validation);
        let module = self.device().create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some(kernel.label),
            source: wgpu::ShaderSource::Wgsl(kernel.source.into()),
        });
        if let Some(err) = pollster::block_on(scope.pop()) {
            return Err(DeviceError::Pipeline { kernel: kernel.label, entry, message: err.to_string() });
        }
        cache.modules.insert(kernel.label, module.clone());
        Ok(module)
    }

    fn create_pipeline(
        &self,
        module: &wgpu::ShaderModule,
        kernel: Kernel,
        entry: &'static str,
        constants: &[(&'static str, f64)],
    ) -> Result<wgpu::ComputePipeline> {
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
            return Err(DeviceError::Pipeline { kernel: kernel.label, entry, message: err.to_string() });
        }
        Ok(pipeline)
    }

    /// Number of pipelines created so far (a cache hit creates none).
    pub fn pipeline_count(&self) -> usize {
        self.pipelines.lock().expect("pipeline cache poisoned").pipelines.len()
    }
}
