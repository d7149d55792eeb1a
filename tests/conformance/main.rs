//! Conformance suite: every op, GPU (each adapter under test) against the CPU reference, over
//! several shapes including 1-sized dimensions and sizes that do not divide the workgroup or the
//! 4-wide register blocks.

mod harness;

mod components;
mod conv;
mod demosaic;
mod elementwise;
mod f16;
mod layout;
mod long_axes;
mod matmul;
mod norm;
mod onnx_cases;
mod plan;
mod pool;
mod random;
mod reduce;
mod roi;
mod vision_ops;
