use crate::{Graph, Tensor};

/// Something that runs a [`Graph`]: the CPU reference or the GPU executor.
pub trait Backend {
    /// The backend's error type; graph errors convert into it.
    type Error: std::error::Error + From<crate::GraphError>;

    /// A short name for reports ("cpu", "gpu").
    fn name(&self) -> String;

    /// Runs `graph` on `inputs` (in the order of [`Graph::inputs`]) and returns its outputs in
    /// the order of [`Graph::outputs`].
    fn run(&self, graph: &Graph, inputs: &[Tensor]) -> Result<Vec<Tensor>, Self::Error>;
}
