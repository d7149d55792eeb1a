use super::rewrite::Rewriter;
use crate::{Graph, Result};

/// Drops nodes none of whose outputs reach a graph output, and constants only they used.
pub fn eliminate_dead_code(graph: &Graph) -> Result<Graph> {
    let mut live = vec![false; graph.values().len()];
    for o in graph.outputs() {
        live[o.0] = true;
    }
    let mut keep = vec![false; graph.nodes().len()];
    for (i, n) in graph.nodes().iter().enumerate().rev() {
        if n.outputs.iter().any(|o| live[o.0]) {
            keep[i] = true;
            for x in &n.inputs {
                live[x.0] = true;
            }
        }
    }
    let mut rw = Rewriter::new(graph)?;
    for (i, k) in keep.iter().enumerate() {
        if *k {
            rw.copy(i)?;
        }
    }
    rw.finish()
}
