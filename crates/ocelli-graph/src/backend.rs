use crate::{Graph, Tensor};

/// A graph compiled once by a [`Backend`], to be run many times.
pub trait Plan {
    /// The backend's error type.
    type Error: From<crate::GraphError>;

    /// Runs the plan on `inputs` (in the order of [`Graph::inputs`]) and returns its outputs in
    /// the order of [`Graph::outputs`].
    fn run(&mut self, inputs: &[Tensor]) -> Result<Vec<Tensor>, Self::Error>;

    /// Runs the plan once without reading anything back, for loops whose state stays on the
    /// backend (a sampler's images between steps). `inputs[k]` replaces input k, or with `None`
    /// input k keeps what it holds: the tensor an earlier call gave it, or the output that
    /// `carry` copied into it. After the run, each pair `(output, input)` of `carry` copies that
    /// output into that input (same shape and dtype) for the next call. On the GPU the call
    /// only uploads the given inputs and submits; nothing waits for the device.
    fn advance(&mut self, inputs: &[Option<Tensor>], carry: &[(usize, usize)]) -> Result<(), Self::Error>;

    /// The outputs of the last [`Plan::advance`] (waiting for it to finish), or an error if
    /// there was none.
    fn outputs(&mut self) -> Result<Vec<Tensor>, Self::Error>;
}

/// Something that runs a [`Graph`]: the CPU reference or the GPU executor.
pub trait Backend {
    /// The backend's error type; graph errors convert into it.
    type Error: std::error::Error + From<crate::GraphError>;
    /// What [`Backend::compile`] returns.
    type Plan: Plan<Error = Self::Error>;

    /// A short name for reports ("cpu", "gpu (adapter, backend)").
    fn name(&self) -> String;

    /// Does the per-graph work once: passes, kernel selection, buffers, weight uploads.
    fn compile(&self, graph: &Graph) -> Result<Self::Plan, Self::Error>;

    /// The largest tensor, in bytes, one value may occupy (a GPU's storage binding limit), or
    /// `None` when there is no such limit (the CPU reference). Callers that can split their
    /// work (image bands, query batches) size it by this.
    fn max_binding_bytes(&self) -> Option<u64> {
        None
    }

    /// Compiles and runs once. Prefer [`Backend::compile`] when running a graph repeatedly.
    fn run(&self, graph: &Graph, inputs: &[Tensor]) -> Result<Vec<Tensor>, Self::Error> {
        self.compile(graph)?.run(inputs)
    }
}
