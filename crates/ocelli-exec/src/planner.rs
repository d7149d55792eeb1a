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
    /// For each node: the shared buffer of each of its scratch buffers.
    pub scratch_slot: Vec<Vec<usize>>,
    /// Bytes all intermediates (and scratch buffers) would take with one buffer each.
    pub naive_bytes: u64,
}

impl MemoryPlan {
    /// Bytes of all shared buffers: the plan's peak intermediate memory.
    pub fn planned_bytes(&self) -> u64 {
        self.slot_bytes.iter().sum()
    }
}

/// Plans the intermediates of `graph`. `alias[node]` marks nodes whose output reuses their first
/// input's storage; `scratch[node]` lists the sizes of buffers a node needs only while it runs.
/// With `reuse` off, every intermediate gets a buffer of its own.
pub(crate) fn plan(
    graph: &Graph,
    alias: &[bool],
    scratch: &[Vec<u64>],
    bytes: impl Fn(ValueId) -> u64,
    reuse: bool,
) -> MemoryPlan {
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
    let mut scratch_slot = Vec::with_capacity(graph.nodes().len());
    let mut naive_bytes = 0;
    // Best fit among free buffers at most twice the need; failing that, a new buffer when some
    // free buffer is big (so a small value does not squat in a large one), else grow the largest
    // free one.
    let mut alloc = |need: u64, free: &mut Vec<usize>, slot_bytes: &mut Vec<u64>| {
        naive_bytes += need;
        let pick = if reuse {
            let fits = |s: usize| slot_bytes[s] >= need;
            let best_fit = free
                .iter()
                .enumerate()
                .filter(|(_, &s)| fits(s) && slot_bytes[s] <= 2 * need)
                .min_by_key(|(_, &s)| slot_bytes[s]);
            let any_fits = free.iter().any(|&s| fits(s));
            let largest = free.iter().enumerate().max_by_key(|(_, &s)| slot_bytes[s]);
            best_fit.or(if any_fits { None } else { largest }).map(|(k, _)| k)
        } else {
            None
        };
        match pick {
            Some(k) => {
                let s = free.swap_remove(k);
                slot_bytes[s] = slot_bytes[s].max(need);
                s
            }
            None => {
                slot_bytes.push(need);
                slot_bytes.len() - 1
            }
        }
    };
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
            slot_of[o.0] = Some(alloc(bytes(o), &mut free, &mut slot_bytes));
            live.push(o);
        }
        // Scratch buffers are taken after the outputs, so they never share with them, and given
        // back as soon as the node is done.
        let taken: Vec<usize> = scratch[i].iter().map(|&b| alloc(b, &mut free, &mut slot_bytes)).collect();
        free.extend(&taken);
        scratch_slot.push(taken);
    }
    MemoryPlan { root, slot_of, slot_bytes, scratch_slot, naive_bytes }
}
