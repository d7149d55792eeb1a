use thiserror::Error;

/// Everything that can go wrong while talking to the GPU.
#[derive(Debug, Error)]
pub enum DeviceError {
    /// No adapter matched the request; the message says what to install.
    #[error(
        "no GPU adapter found ({detail}). On a GPU-less Linux box install the Vulkan software \
         rasterizer: `apt-get install mesa-vulkan-drivers libvulkan1` (or set WGPU_BACKEND=gl to use \
         llvmpipe through EGL)"
    )]
    NoAdapter {
        /// What was asked for and what was found.
        detail: String,
    },
    /// The adapter refused to create a device.
    #[error("the adapter '{adapter}' refused to create a device: {source}")]
    RequestDevice {
        /// Adapter name.
        adapter: String,
        /// wgpu's reason.
        #[source]
        source: wgpu::RequestDeviceError,
    },
    /// A WGSL module failed to compile or its pipeline failed validation.
    #[error("kernel '{kernel}' (entry '{entry}') failed to build: {message}")]
    Pipeline {
        /// Kernel label.
        kernel: &'static str,
        /// Entry point.
        entry: &'static str,
        /// wgpu's validation message.
        message: String,
    },
    /// A buffer request exceeded one of the device's limits.
    #[error("{what} needs {bytes} bytes but the device allows at most {limit} ({limit_name})")]
    LimitExceeded {
        /// What was being allocated.
        what: String,
        /// Bytes requested.
        bytes: u64,
        /// The limit in force.
        limit: u64,
        /// Name of the wgpu limit.
        limit_name: &'static str,
    },
    /// Mapping a buffer for readback failed.
    #[error("reading a buffer back from the GPU failed: {0}")]
    Readback(String),
    /// The device reported an error while executing submitted work.
    #[error("the GPU reported an error while running '{label}': {message}")]
    Execution {
        /// What was running.
        label: String,
        /// wgpu's message.
        message: String,
    },
}
