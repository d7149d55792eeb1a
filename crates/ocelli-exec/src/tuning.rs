//! Per-adapter kernel shapes: a small table keyed by what the adapter reports, so one WGSL
//! source serves CPU drivers and GPUs through override constants and entry points.

use ocelli_device::Gpu;

use crate::texels::TEXELS_PER_ROW;
use crate::CompileOptions;

/// Loop iterations one invocation may spend on work that cannot be split further (a
/// convolution's taps for one channel, NMS's work per block of candidates), whatever
/// `loop_chunk` is: far below llvmpipe's 65 535 (see reduce.wgsl); more is a typed error.
pub(crate) const MAX_WINDOW: usize = 16_384;

/// Kernel choices for one adapter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tuning {
    /// GEMMs share their `a` strips through subgroup broadcasts (`gemm_subgroup`): needs the
    /// SUBGROUP feature with subgroups of at least 8 lanes.
    pub gemm_subgroups: bool,
    /// GEMM workgroup width in invocations (a multiple of 8; each invocation owns 8 columns).
    pub gemm_wg: u32,
    /// Texels (4 elements each) an operand texture holds: GEMMs whose operands fit read them
    /// through textures (`gemm_texels.wgsl`); 0 keeps every operand in storage buffers.
    pub texel_capacity: usize,
    /// The most entries one invocation of a chunked kernel folds (reductions, softmax and norm
    /// statistics, top-k, windows; GEMM K blocks of 4·loop_chunk): longer axes run in more
    /// passes or dispatches ([`crate::CompileOptions::loop_chunk`]).
    pub loop_chunk: usize,
    /// The largest im2col band or Winograd scratch buffer in bytes
    /// ([`crate::CompileOptions::scratch_limit`], at most the device's storage-binding limit).
    pub scratch_limit: u64,
}

impl Tuning {
    /// The table: CPU adapters (lavapipe, llvmpipe, WARP) run a workgroup as SIMD-wide chunks of
    /// one thread, so narrow workgroups spread even small GEMMs over every core, and they read
    /// textures about 10× faster than storage buffers (FACTS in the README); GPUs get 64
    /// invocations, two or more full subgroups on every vendor, and storage buffers.
    /// `texel_operands: false` keeps storage buffers everywhere.
    pub fn for_gpu(gpu: &Gpu, options: &CompileOptions) -> Self {
        let info = gpu.adapter_info();
        let cpu = info.device_type == wgpu::DeviceType::Cpu;
        // One row short of the limit: operand textures never have a power-of-two row count.
        let rows = gpu.limits().max_texture_dimension_2d as usize - 1;
        Self {
            gemm_subgroups: gpu.capabilities().subgroup && info.subgroup_min_size >= 8,
            gemm_wg: if cpu { 8 } else { 64 },
            texel_capacity: if cpu && options.texel_operands { rows * TEXELS_PER_ROW as usize } else { 0 },
            loop_chunk: options.loop_chunk.max(2),
            scratch_limit: options.scratch_limit.min(gpu.limits().max_storage_buffer_binding_size),
        }
    }

    /// Whether an operand of `len` elements can be read through a texture.
    pub fn fits_texels(&self, len: usize) -> bool {
        len.div_ceil(4) <= self.texel_capacity
    }
}
