use std::fmt;
use std::sync::Mutex;

use crate::pipeline::PipelineCache;
use crate::pool::BufferPool;
use crate::{DeviceError, Result};

/// How to pick an adapter. [`GpuOptions::from_env`] honours `WGPU_BACKEND`, `WGPU_ADAPTER_NAME`
/// and `WGPU_POWER_PREF`, as the rest of the wgpu ecosystem does.
#[derive(Debug, Clone)]
pub struct GpuOptions {
    /// Backends to consider (Vulkan, Metal, DX12, GL, ...).
    pub backends: wgpu::Backends,
    /// A case-insensitive substring the adapter's name must contain.
    pub adapter_name: Option<String>,
    /// Preference between integrated and discrete adapters.
    pub power_preference: wgpu::PowerPreference,
    /// Open the device with at most this `max_storage_buffer_binding_size` (and
    /// `max_buffer_size`), below the adapter's own: tests use it to run the paths that split
    /// large tensors on any machine. `None` takes the adapter's limits.
    pub max_binding_bytes: Option<u64>,
}

impl Default for GpuOptions {
    fn default() -> Self {
        Self {
            backends: wgpu::Backends::all(),
            adapter_name: None,
            power_preference: wgpu::PowerPreference::HighPerformance,
            max_binding_bytes: None,
        }
    }
}

impl GpuOptions {
    /// Defaults overridden by `WGPU_BACKEND`, `WGPU_ADAPTER_NAME` and `WGPU_POWER_PREF`.
    pub fn from_env() -> Self {
        let default = Self::default();
        Self {
            backends: wgpu::Backends::from_env().unwrap_or(default.backends),
            adapter_name: std::env::var("WGPU_ADAPTER_NAME").ok().filter(|s| !s.is_empty()),
            power_preference: wgpu::PowerPreference::from_env().unwrap_or(default.power_preference),
            max_binding_bytes: None,
        }
    }

    /// Only the given backends (for instance `wgpu::Backends::GL`).
    pub fn with_backends(mut self, backends: wgpu::Backends) -> Self {
        self.backends = backends;
        self
    }
}

/// The optional features Ocelli uses and whether this device has them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// `shader-f16`: f16 arithmetic in WGSL.
    pub shader_f16: bool,
    /// Timestamp queries for per-kernel timing.
    pub timestamp_query: bool,
    /// Subgroup operations.
    pub subgroup: bool,
}

impl Capabilities {
    fn from_features(f: wgpu::Features) -> Self {
        Self {
            shader_f16: f.contains(wgpu::Features::SHADER_F16),
            timestamp_query: f.contains(wgpu::Features::TIMESTAMP_QUERY),
            subgroup: f.contains(wgpu::Features::SUBGROUP),
        }
    }
}

/// A wgpu device and queue with Ocelli's buffer pool and pipeline cache.
///
/// Make one with [`Gpu::new`] (pick an adapter) or [`Gpu::from_wgpu`] (wrap a device your
/// application already has). Every function that dispatches work takes the `Gpu` it runs on.
pub struct Gpu {
    device: wgpu::Device,
    queue: wgpu::Queue,
    info: wgpu::AdapterInfo,
    caps: Capabilities,
    limits: wgpu::Limits,
    pub(crate) pool: Mutex<BufferPool>,
    pub(crate) pipelines: Mutex<PipelineCache>,
}

impl fmt::Debug for Gpu {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Gpu")
            .field("adapter", &self.info.name)
            .field("backend", &self.info.backend)
            .field("caps", &self.caps)
            .finish()
    }
}

impl Gpu {
    /// Picks an adapter as the environment asks (see [`GpuOptions::from_env`]) and opens it.
    pub fn new() -> Result<Self> {
        Self::with_options(&GpuOptions::from_env())
    }

    /// Picks an adapter matching `options` and opens a device with the adapter's full limits and
    /// the optional features Ocelli can use.
    pub fn with_options(options: &GpuOptions) -> Result<Self> {
        pollster::block_on(Self::with_options_async(options))
    }

    /// Async form of [`Gpu::with_options`].
    pub async fn with_options_async(options: &GpuOptions) -> Result<Self> {
        let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
        desc.backends = options.backends;
        let instance = wgpu::Instance::new(desc);
        let adapter = pick_adapter(&instance, options).await?;
        let info = adapter.get_info();
        let wanted = wgpu::Features::SHADER_F16
            | wgpu::Features::TIMESTAMP_QUERY
            | wgpu::Features::TIMESTAMP_QUERY_INSIDE_PASSES
            | wgpu::Features::SUBGROUP;
        let features = adapter.features() & wanted;
        let mut limits = adapter.limits();
        if let Some(max) = options.max_binding_bytes {
            limits.max_storage_buffer_binding_size = limits.max_storage_buffer_binding_size.min(max);
            limits.max_buffer_size = limits.max_buffer_size.min(max);
        }
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("ocelli"),
                required_features: features,
                required_limits: limits,
                ..Default::default()
            })
            .await
            .map_err(|source| DeviceError::RequestDevice { adapter: info.name.clone(), source })?;
        Ok(Self::assemble(device, queue, info))
    }

    /// Wraps a device and queue the caller already owns (Ocelli as the compute backend of another
    /// crate or engine). Ocelli uses only the features and limits that device was created with.
    pub fn from_wgpu(device: wgpu::Device, queue: wgpu::Queue) -> Self {
        let info = device.adapter_info();
        Self::assemble(device, queue, info)
    }

    fn assemble(device: wgpu::Device, queue: wgpu::Queue, info: wgpu::AdapterInfo) -> Self {
        let caps = Capabilities::from_features(device.features());
        let limits = device.limits();
        Self {
            device,
            queue,
            info,
            caps,
            limits,
            pool: Mutex::new(BufferPool::default()),
            pipelines: Mutex::new(PipelineCache::default()),
        }
    }

    /// The wgpu device.
    pub fn device(&self) -> &wgpu::Device {
        &self.device
    }

    /// The wgpu queue.
    pub fn queue(&self) -> &wgpu::Queue {
        &self.queue
    }

    /// Name, backend, device type and driver of the adapter.
    pub fn adapter_info(&self) -> &wgpu::AdapterInfo {
        &self.info
    }

    /// Optional features this device has.
    pub fn capabilities(&self) -> Capabilities {
        self.caps
    }

    /// The limits the device was opened with.
    pub fn limits(&self) -> &wgpu::Limits {
        &self.limits
    }

    /// Checks that a storage binding of `bytes` fits this device; `what` names it in the error.
    pub fn check_binding_size(&self, what: &str, bytes: u64) -> Result<()> {
        let limit = self.limits.max_storage_buffer_binding_size;
        if bytes > limit {
            return Err(DeviceError::LimitExceeded {
                what: what.to_string(),
                bytes,
                limit,
                limit_name: "max_storage_buffer_binding_size",
            });
        }
        if bytes > self.limits.max_buffer_size {
            return Err(DeviceError::LimitExceeded {
                what: what.to_string(),
                bytes,
                limit: self.limits.max_buffer_size,
                limit_name: "max_buffer_size",
            });
        }
        Ok(())
    }

    /// Blocks until all submitted work is done.
    pub fn wait(&self) -> Result<()> {
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map(|_| ())
            .map_err(|e| DeviceError::Execution { label: "poll".into(), message: e.to_string() })
    }
}

async fn pick_adapter(instance: &wgpu::Instance, options: &GpuOptions) -> Result<wgpu::Adapter> {
    let adapters = instance.enumerate_adapters(options.backends).await;
    let found: Vec<String> = adapters
        .iter()
        .map(|a| {
            let i = a.get_info();
            format!("{} ({:?})", i.name, i.backend)
        })
        .collect();
    let wanted = options.adapter_name.as_ref().map(|n| n.to_lowercase());
    let mut candidates: Vec<wgpu::Adapter> = adapters
        .into_iter()
        .filter(|a| match &wanted {
            Some(n) => a.get_info().name.to_lowercase().contains(n),
            None => true,
        })
        .collect();
    candidates.sort_by_key(|a| rank(&a.get_info(), options.power_preference));
    candidates.into_iter().next().ok_or_else(|| DeviceError::NoAdapter {
        detail: format!(
            "backends {:?}, name filter {:?}; adapters present: [{}]",
            options.backends,
            options.adapter_name,
            found.join(", ")
        ),
    })
}

/// Lower is better: the preferred device type first, then Vulkan/Metal/DX12 before GL.
fn rank(info: &wgpu::AdapterInfo, pref: wgpu::PowerPreference) -> (u8, u8) {
    use wgpu::DeviceType as T;
    let ty = match (pref, info.device_type) {
        (wgpu::PowerPreference::LowPower, T::IntegratedGpu) => 0,
        (_, T::DiscreteGpu) => 0,
        (_, T::IntegratedGpu) => 1,
        (_, T::VirtualGpu) => 2,
        (_, T::Cpu) => 3,
        (_, T::Other) => 4,
    };
    let backend = match info.backend {
        wgpu::Backend::Vulkan | wgpu::Backend::Metal | wgpu::Backend::Dx12 => 0,
        _ => 1,
    };
    (ty, backend)
}
