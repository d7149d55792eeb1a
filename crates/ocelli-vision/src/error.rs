use std::path::PathBuf;

use thiserror::Error;

/// Errors of image and raw-frame handling.
#[derive(Debug, Error)]
pub enum VisionError {
    /// A file could not be read or written. The OS error is part of the message, not a
    /// separate source, so that a chain of errors names it once.
    #[error("{path}: {error}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        error: std::io::Error,
    },
    /// The image crate could not decode or encode the file.
    #[error("{path}: {message}")]
    Image {
        /// The file.
        path: PathBuf,
        /// What the decoder said.
        message: String,
    },
    /// A raw frame whose size does not match what was declared.
    #[error("{path}: a {width}x{height} frame at {bits} bits needs {expected} bytes, the file has {got}")]
    RawSize {
        /// The file.
        path: PathBuf,
        /// Declared width.
        width: usize,
        /// Declared height.
        height: usize,
        /// Declared bits per sample.
        bits: u32,
        /// Bytes expected.
        expected: usize,
        /// Bytes present.
        got: usize,
    },
    /// Input the function does not handle (bit depth, header, tensor shape).
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// The graph rejected the request (for instance a frame that is not whole Bayer cells).
    #[error(transparent)]
    Graph(#[from] ocelli_graph::GraphError),
}
