use thiserror::Error;

use crate::{DType, Shape};

/// A graph that cannot be built or run: each variant names the op and the shapes involved.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum GraphError {
    /// Input shapes that the op cannot combine.
    #[error("{op}: incompatible shapes {shapes}: {why}")]
    ShapeMismatch {
        /// Op name.
        op: &'static str,
        /// The shapes involved, formatted.
        shapes: String,
        /// What rule they break.
        why: String,
    },
    /// An input of a dtype the op does not take.
    #[error("{op}: input {index} has dtype {got}, expected {expected}")]
    DTypeMismatch {
        /// Op name.
        op: &'static str,
        /// Which input.
        index: usize,
        /// Its dtype.
        got: DType,
        /// What the op takes.
        expected: String,
    },
    /// Wrong number of inputs.
    #[error("{op}: takes {expected} inputs, got {got}")]
    Arity {
        /// Op name.
        op: &'static str,
        /// Accepted counts.
        expected: String,
        /// Count given.
        got: usize,
    },
    /// A parameter out of range (axis, stride, groups, ...).
    #[error("{op}: invalid parameter: {why}")]
    InvalidParam {
        /// Op name.
        op: &'static str,
        /// What is wrong.
        why: String,
    },
    /// A tensor with a zero-sized dimension.
    #[error("{what}: zero-sized dimension in shape {shape}")]
    ZeroSized {
        /// Which tensor.
        what: String,
        /// Its shape.
        shape: Shape,
    },
    /// A tensor whose byte count does not fit in memory arithmetic.
    #[error("{what}: shape {shape} is too large (its byte count overflows)")]
    TooLarge {
        /// Which tensor.
        what: String,
        /// Its shape.
        shape: Shape,
    },
    /// Data length that does not match the shape.
    #[error("tensor of shape {shape} needs {expected} elements, got {got}")]
    DataLength {
        /// Shape.
        shape: Shape,
        /// numel of the shape.
        expected: usize,
        /// Elements supplied.
        got: usize,
    },
    /// A value id that is not in this graph.
    #[error("value {0} is not part of this graph")]
    UnknownValue(usize),
    /// Inputs given to a run that do not match the graph's declared inputs.
    #[error("graph input '{name}': {why}")]
    InputMismatch {
        /// Input name.
        name: String,
        /// What differs.
        why: String,
    },
}
