//! Helpers the model test suites share: the GPU they run on, the shipped assets, golden JSON.

use std::sync::{Arc, OnceLock};

use ocelli::{Gpu, GpuBackend};
use serde_json::Value;

/// The repository's `assets/` folder.
pub const ASSETS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../assets");

/// The default adapter (lavapipe on CI), opened once per test binary; fails (never skips) when
/// there is none.
pub fn gpu() -> GpuBackend {
    static GPU: OnceLock<Arc<Gpu>> = OnceLock::new();
    let g = GPU.get_or_init(|| {
        Arc::new(Gpu::new().unwrap_or_else(|e| {
            panic!("these tests need a GPU adapter: {e}; install mesa-vulkan-drivers for lavapipe")
        }))
    });
    GpuBackend::new(g.clone())
}

/// `assets/golden/{family}/{name}.json`.
pub fn golden(family: &str, name: &str) -> Value {
    let text = std::fs::read_to_string(format!("{ASSETS}/golden/{family}/{name}.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Every number of a (nested) JSON array, flattened, as f32.
#[allow(dead_code)] // not every suite reads JSON arrays
pub fn floats(v: &Value) -> Vec<f32> {
    match v {
        Value::Array(items) => items.iter().flat_map(floats).collect(),
        other => vec![other.as_f64().expect("a number") as f32],
    }
}
