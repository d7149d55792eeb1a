use std::path::PathBuf;

use ocelli_graph::Shape;
use thiserror::Error;

/// Errors of weight loading and layer building.
#[derive(Debug, Error)]
pub enum NnError {
    /// The weights file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid safetensors.
    #[error("{path}: not a safetensors file: {message}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What the parser said.
        message: String,
    },
    /// A tensor the model needs is not in the file.
    #[error("{file}: missing tensor '{name}'")]
    Missing {
        /// Tensor name.
        name: String,
        /// The file.
        file: String,
    },
    /// A tensor has another shape than the model needs.
    #[error("{file}: tensor '{name}' has shape {got}, the model needs {expected}")]
    Shape {
        /// Tensor name.
        name: String,
        /// The file.
        file: String,
        /// Shape the model needs.
        expected: Shape,
        /// Shape in the file.
        got: Shape,
    },
    /// A tensor of a dtype other than f32, f16 or bf16.
    #[error("{file}: tensor '{name}' has dtype {dtype}; f32, f16 and bf16 are supported")]
    DType {
        /// Tensor name.
        name: String,
        /// The file.
        file: String,
        /// Its dtype.
        dtype: String,
    },
    /// A model description that cannot be built (what is wrong is said).
    #[error("{0}")]
    Spec(String),
    /// The graph rejected a layer.
    #[error(transparent)]
    Graph(#[from] ocelli_graph::GraphError),
}
