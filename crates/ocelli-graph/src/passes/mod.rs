//! Graph-to-graph passes. Each returns a new graph with the same inputs and outputs that
//! computes the same values (up to rounding), and is tested against the unpassed graph.

mod dead_code;
mod fold_batch_norm;
mod fuse_epilogues;
mod rewrite;
mod scalars_to_affine;
mod transpose_constants;
mod widen_f16;

pub use dead_code::eliminate_dead_code;
pub use fold_batch_norm::fold_batch_norm;
pub use fuse_epilogues::fuse_epilogues;
pub use scalars_to_affine::scalars_to_affine;
pub use transpose_constants::transpose_constants;
pub use widen_f16::widen_f16;

use crate::{Graph, Result};

/// Every pass in order: fold batch norm into the producer's weights, store constant transposed
/// matmul operands transposed, turn products and sums with scalar constants into affine unary
/// ops, fuse elementwise tails into their producers, drop dead nodes.
pub fn optimize(graph: &Graph) -> Result<Graph> {
    let g = fold_batch_norm(graph)?;
    let g = transpose_constants(&g)?;
    let g = scalars_to_affine(&g)?;
    let g = fuse_epilogues(&g)?;
    eliminate_dead_code(&g)
}

/// How many times each value is read: by nodes, and once more for every graph output.
pub(crate) fn use_counts(graph: &Graph) -> Vec<usize> {
    let mut uses = vec![0; graph.values().len()];
    for n in graph.nodes() {
        for i in &n.inputs {
            uses[i.0] += 1;
        }
    }
    for o in graph.outputs() {
        uses[o.0] += 1;
    }
    uses
}
