//! Buffer planning by liveness: intermediate values share buffers once earlier values are dead,
//! greedily by size (best fit, else grow the largest free buffer), as ratchet and TVM do.

use ocelli_graph::{Graph, ValueDef, ValueId};

/// Where every value lives.
#[derive(Debug, Clone)]
pub(crate) struct MemoryPlan {
    /// The value whose storage each value uses (itself, or an aliased input for reshapes).
    pub root: Vec<ValueId>,
    /// For intermediate roots: the shared buffer they occupy.
    pub slot_of: Vec<Option<usize>>,
    /// Size of each shared buffer.
    pub slot_bytes: Vec<u64>,
    /// Bytes all intermediates would take with one buffer each.
    pub naive_bytes: u64,
}

impl MemoryPlan {
    /// Bytes of all shared buffers: the plan's peak intermediate memory.
    pub fn planned_bytes(&self) -> u64 {
        self.slot_bytes.iter().sum()
    }
}

/// Plans the intermediates of `graph`. `alias[node]` marks nodes whose output reuses their first
/// input's storage. With `reuse` off, every intermediate gets a buffer of its own.
pub(crate) fn plan(graph: &Graph, alias: &[bool], bytes: impl Fn(ValueId) -> u64, reuse: bool) -> MemoryPlan {
    let n_values = graph.values().len();
    let mut root: Vec<ValueId> = (0..n_values).map(ValueId).collect();
    for (i, node) in graph.nodes().iter().enumerate() {
        if alias[i] {
            root[node.outputs[0].0] = root[node.inputs[0].0];
        }
    }
    let is_intermediate =
        |v: ValueId| matches!(graph.value(v).def, ValueDef::Node { node, .. } if !alias[node]) && root[v.0] == v;
    // Last node reading each root; graph outputs live to the end.
    let mut last_use: Vec<usize> = (0..n_values)
        .map(|v| match graph.value(ValueId(v)).def {
            ValueDef::Node { node, .. } => node,
            _ => 0,
        })
        .collect();
    for (i, node) in graph.nodes().iter().enumerate() {
        for x in &node.inputs {
            let r = root[x.0].0;
            last_use[r] = last_use[r].max(i);
        }
    }
    for o in graph.outputs() {
        last_use[root[o.0].0] = usize::MAX;
    }

    let mut slot_of = vec![None; n_values];
    let mut slot_bytes: Vec<u64> = Vec::new();
    let mut free: Vec<usize> = Vec::new();
    let mut live: Vec<ValueId> = Vec::new();
    let mut naive_bytes = 0;
    for (i, node) in graph.nodes().iter().enumerate() {
        // Values whose last reader ran before this node give their buffer back.
        live.retain(|v| {
            if last_use[v.0] < i {
                free.push(slot_of[v.0].expect("live values have slots"));
                false
            } else {
                true
            }
        });
        for &o in node.outputs.iter().filter(|&&o| is_intermediate(o)) {
            let need = bytes(o);
            naive_bytes += need;
            let pick = if reuse {
                let best_fit =
                    free.iter().enumerate().filter(|(_, &s)| slot_bytes[s] >= need).min_by_key(|(_, &s)| slot_bytes[s]);
                let largest = free.iter().enumerate().max_by_key(|(_, &s)| slot_bytes[s]);
                best_fit.or(largest).map(|(k, _)| k)
            } else {
                None
            };
            let slot = match pick {
                Some(k) => {
                    let s = free.swap_remove(k);
                    slot_bytes[s] = slot_bytes[s].max(need);
                    s
                }
                None => {
                    slot_bytes.push(need);
                    slot_bytes.len() - 1
                }
            };
            slot_of[o.0] = Some(slot);
            live.push(o);
        }
    }
    MemoryPlan { root, slot_of, slot_bytes, naive_bytes }
}
