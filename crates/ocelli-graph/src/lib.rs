//! `ocelli-graph` is Ocelli's intermediate representation: [`DType`], [`Shape`], host
//! [`Tensor`]s, the closed [`Op`] enum with every operator and its parameters, [`Graph`] and
//! [`GraphBuilder`] with shape and dtype inference, and the [`Backend`] trait that the CPU
//! reference and the GPU executor implement. No wgpu, no I/O.

mod backend;
mod dtype;
mod error;
mod graph;
mod infer;
mod op;
pub mod passes;
mod shape;
mod tensor;

pub use backend::{Backend, Plan};
pub use dtype::DType;
pub use error::GraphError;
pub use graph::{Graph, GraphBuilder, Node, ValueDef, ValueId, ValueInfo};
pub use infer::{conv_out_len, pool_out_len, resolve_conv_padding};
pub use op::{
    BayerPattern, BinaryOp, Conv2d, ConvTranspose2d, Demosaic, DemosaicMethod, Fused, HistogramOp, Nms, Op, Overlap,
    PadMode, Padding, Pool2d, PoolKind, ReduceOp, ResizePixels, RoiAlign, RoiPool, UnaryOp, UpsampleMode,
};
pub use shape::Shape;
pub use tensor::{Tensor, TensorData};

/// Result type of this crate.
pub type Result<T, E = GraphError> = std::result::Result<T, E>;
