//! Copying a graph node by node into a new builder, with values renamed on the way.

use std::collections::HashMap;

use crate::{Graph, GraphBuilder, Op, Result, ValueDef, ValueId};

/// Rebuilds a graph: inputs first (same order), constants on first use, nodes as the pass emits
/// them.
pub(crate) struct Rewriter<'g> {
    pub old: &'g Graph,
    pub b: GraphBuilder,
    map: HashMap<ValueId, ValueId>,
}

impl<'g> Rewriter<'g> {
    pub fn new(old: &'g Graph) -> Result<Self> {
        let mut b = GraphBuilder::new();
        let mut map = HashMap::new();
        for &id in old.inputs() {
            let v = old.value(id);
            let ValueDef::Input(name) = &v.def else { unreachable!("inputs are Input values") };
            map.insert(id, b.input(name, v.shape.clone(), v.dtype)?);
        }
        Ok(Self { old, b, map })
    }

    /// The new id of an old value (constants are copied on first use).
    pub fn value(&mut self, id: ValueId) -> Result<ValueId> {
        if let Some(&v) = self.map.get(&id) {
            return Ok(v);
        }
        match &self.old.value(id).def {
            ValueDef::Constant(t) => {
                let v = self.b.constant(t.clone())?;
                self.map.insert(id, v);
                Ok(v)
            }
            _ => unreachable!("values are emitted before their uses"),
        }
    }

    /// Emits `op` on the new ids of `inputs`, naming its outputs as the old `outputs`.
    pub fn emit(&mut self, op: Op, inputs: &[ValueId], outputs: &[ValueId]) -> Result<()> {
        let ins = inputs.iter().map(|&i| self.value(i)).collect::<Result<Vec<_>>>()?;
        let outs = self.b.apply(op, &ins)?;
        for (o, n) in outputs.iter().zip(outs) {
            self.map.insert(*o, n);
        }
        Ok(())
    }

    /// Names `new` as the new id of the old value `old`.
    pub fn map(&mut self, old: ValueId, new: ValueId) {
        self.map.insert(old, new);
    }

    /// Adds a new constant.
    pub fn constant(&mut self, t: crate::Tensor) -> Result<ValueId> {
        self.b.constant(t)
    }

    /// Emits `op` on already-new ids.
    pub fn emit_new(&mut self, op: Op, inputs: &[ValueId], outputs: &[ValueId]) -> Result<()> {
        let outs = self.b.apply(op, inputs)?;
        for (o, n) in outputs.iter().zip(outs) {
            self.map.insert(*o, n);
        }
        Ok(())
    }

    /// Copies a node unchanged.
    pub fn copy(&mut self, node: usize) -> Result<()> {
        let n = &self.old.nodes()[node];
        self.emit(n.op.clone(), &n.inputs, &n.outputs)
    }

    /// Finishes with the old graph's outputs.
    pub fn finish(mut self) -> Result<Graph> {
        let outs = self.old.outputs().iter().map(|&o| self.value(o)).collect::<Result<Vec<_>>>()?;
        self.b.build(&outs)
    }
}
