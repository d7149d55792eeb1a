//! Per-adapter kernel shapes: a small table keyed by what the adapter reports, so one WGSL
//! source serves CPU drivers and GPUs through override constants and entry points.

use ocelli_device::Gpu;

/// Kernel choices for one adapter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tuning {
    /// GEMMs share their `a` strips through subgroup shuffles (`gemm_subgroup`): needs the
    /// SUBGROUP feature with subgroups of at least 8 lanes.
    pub gemm_subgroups: bool,
    /// GEMM workgroup width in invocations (a multiple of 8; each invocation owns 8 columns).
    pub gemm_wg: u32,
}

impl Tuning {
    /// The table: CPU adapters (lavapipe, llvmpipe, WARP) run a workgroup as SIMD-wide chunks of
    /// one thread, so narrow workgroups spread even small GEMMs over every core; GPUs get 64
    /// invocations, two or more full subgroups on every vendor.
    pub fn for_gpu(gpu: &Gpu) -> Self {
        let info = gpu.adapter_info();
        let cpu = info.device_type == wgpu::DeviceType::Cpu;
        Self {
            gemm_subgroups: gpu.capabilities().subgroup && info.subgroup_min_size >= 8,
            gemm_wg: if cpu { 8 } else { 64 },
        }
    }
}
