//! Where shipped models and data live: `$OCELLI_ASSETS`, else the repository's `assets/`.

use std::path::{Path, PathBuf};

use crate::{Result, Weights};

/// The assets directory: `$OCELLI_ASSETS` when set, else the `assets/` folder of the
/// repository this crate was built from.
pub fn assets_dir() -> PathBuf {
    std::env::var_os("OCELLI_ASSETS").map(PathBuf::from).unwrap_or_else(|| {
        let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets");
        shipped.canonicalize().unwrap_or(shipped)
    })
}

impl Weights {
    /// The shipped weights of model `name`: `assets_dir()/models/{name}.safetensors`.
    pub fn shipped(name: &str) -> Result<Self> {
        Self::load(&assets_dir().join("models").join(format!("{name}.safetensors")))
    }
}
