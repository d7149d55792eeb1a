use crate::infer::infer;
use crate::{DType, GraphError, Op, Result, Shape, Tensor};

/// Handle of a value (a graph input, a constant or an op output) inside one graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ValueId(pub usize);

/// Where a value comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum ValueDef {
    /// A named graph input, fed at run time.
    Input(String),
    /// A constant (weights), part of the graph.
    Constant(Tensor),
    /// Output `output` of node `node`.
    Node {
        /// Index into [`Graph::nodes`].
        node: usize,
        /// Which output of that node.
        output: usize,
    },
}

/// Shape, dtype and origin of a value.
#[derive(Debug, Clone, PartialEq)]
pub struct ValueInfo {
    /// Inferred shape.
    pub shape: Shape,
    /// Inferred dtype.
    pub dtype: DType,
    /// Origin.
    pub def: ValueDef,
}

/// One op applied to some values, producing some values.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The op and its parameters.
    pub op: Op,
    /// Input values, in the op's order.
    pub inputs: Vec<ValueId>,
    /// Output values.
    pub outputs: Vec<ValueId>,
}

/// A validated graph: every shape inferred, nodes in a valid execution order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Graph {
    values: Vec<ValueInfo>,
    nodes: Vec<Node>,
    inputs: Vec<ValueId>,
    outputs: Vec<ValueId>,
}

impl Graph {
    /// Every value.
    pub fn values(&self) -> &[ValueInfo] {
        &self.values
    }

    /// One value's shape, dtype and origin.
    pub fn value(&self, id: ValueId) -> &ValueInfo {
        &self.values[id.0]
    }

    /// Nodes in execution order.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// Graph inputs, in the order a run takes them.
    pub fn inputs(&self) -> &[ValueId] {
        &self.inputs
    }

    /// Graph outputs, in the order a run returns them.
    pub fn outputs(&self) -> &[ValueId] {
        &self.outputs
    }

    /// Checks that `inputs` match the declared inputs in count, shape and dtype.
    pub fn check_inputs(&self, inputs: &[Tensor]) -> Result<()> {
        self.check_count(inputs.len())?;
        inputs.iter().enumerate().try_for_each(|(k, t)| self.check_input(k, t))
    }

    /// Checks a [`crate::Plan::advance`] call: a tensor of the declared shape and dtype or
    /// `None` for each input, `None` only where `held[k]` (the input holds a value from an
    /// earlier call); `carry` pairs (output, input) of the same shape and dtype.
    pub fn check_advance(&self, inputs: &[Option<Tensor>], held: &[bool], carry: &[(usize, usize)]) -> Result<()> {
        self.check_count(inputs.len())?;
        for (k, t) in inputs.iter().enumerate() {
            match t {
                Some(t) => self.check_input(k, t)?,
                None if held.get(k) == Some(&true) => {}
                None => {
                    let why = "no tensor given, and no earlier run left one in it".to_string();
                    return Err(GraphError::InputMismatch { name: self.input_name(k), why });
                }
            }
        }
        for &(o, i) in carry {
            let (Some(&out), Some(&inp)) = (self.outputs.get(o), self.inputs.get(i)) else {
                let why = format!("carry ({o}, {i}) names an output or input that does not exist");
                return Err(GraphError::InputMismatch { name: "*".into(), why });
            };
            let (a, b) = (self.value(out), self.value(inp));
            if a.shape != b.shape || a.dtype != b.dtype {
                let why =
                    format!("output {o} ({} {}) cannot be carried into it ({} {})", a.dtype, a.shape, b.dtype, b.shape);
                return Err(GraphError::InputMismatch { name: self.input_name(i), why });
            }
        }
        Ok(())
    }

    fn check_count(&self, n: usize) -> Result<()> {
        if n != self.inputs.len() {
            return Err(GraphError::InputMismatch {
                name: "*".into(),
                why: format!("graph takes {} inputs, got {}", self.inputs.len(), n),
            });
        }
        Ok(())
    }

    fn input_name(&self, k: usize) -> String {
        match &self.value(self.inputs[k]).def {
            ValueDef::Input(n) => n.clone(),
            _ => unreachable!("graph inputs are Input values"),
        }
    }

    fn check_input(&self, k: usize, t: &Tensor) -> Result<()> {
        let v = self.value(self.inputs[k]);
        if t.shape() != &v.shape {
            let why = format!("expected shape {}, got {}", v.shape, t.shape());
            return Err(GraphError::InputMismatch { name: self.input_name(k), why });
        }
        if t.dtype() != v.dtype {
            let why = format!("expected dtype {}, got {}", v.dtype, t.dtype());
            return Err(GraphError::InputMismatch { name: self.input_name(k), why });
        }
        Ok(())
    }
}

/// Builds a [`Graph`] op by op, inferring shapes as it goes so mistakes surface at the line that
/// makes them.
///
/// ```
/// use ocelli_graph::{DType, GraphBuilder, Op, Tensor, UnaryOp};
/// let mut g = GraphBuilder::new();
/// let x = g.input("x", [2, 3], DType::F32).unwrap();
/// let w = g.constant(Tensor::from_f32([3, 4], vec![0.5; 12]).unwrap()).unwrap();
/// let y = g.op(Op::MatMul { trans_a: false, trans_b: false }, &[x, w]).unwrap();
/// let y = g.op(Op::Unary(UnaryOp::Relu), &[y]).unwrap();
/// let graph = g.build(&[y]).unwrap();
/// assert_eq!(graph.value(y).shape.dims(), &[2, 4]);
/// ```
#[derive(Debug, Default)]
pub struct GraphBuilder {
    graph: Graph,
}

impl GraphBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    fn push(&mut self, shape: Shape, dtype: DType, def: ValueDef) -> Result<ValueId> {
        let what = || match &def {
            ValueDef::Input(n) => format!("input '{n}'"),
            ValueDef::Constant(_) => "constant".into(),
            ValueDef::Node { node, .. } => format!("output of node {node}"),
        };
        if shape.dims().contains(&0) {
            return Err(GraphError::ZeroSized { what: what(), shape });
        }
        // Every value's element and byte counts fit in memory arithmetic, so later products over
        // its shape (numel, strides, bytes) cannot wrap.
        let bytes = shape.dims().iter().try_fold(dtype.size(), |n, &d| n.checked_mul(d));
        if bytes.is_none_or(|b| b > isize::MAX as usize) {
            return Err(GraphError::TooLarge { what: what(), shape });
        }
        self.graph.values.push(ValueInfo { shape, dtype, def });
        Ok(ValueId(self.graph.values.len() - 1))
    }

    /// Declares a named input.
    pub fn input(&mut self, name: &str, shape: impl Into<Shape>, dtype: DType) -> Result<ValueId> {
        let id = self.push(shape.into(), dtype, ValueDef::Input(name.to_string()))?;
        self.graph.inputs.push(id);
        Ok(id)
    }

    /// The input declared as `name` (the first, if several were).
    pub fn find_input(&self, name: &str) -> Option<ValueId> {
        let named = |&&id: &&ValueId| matches!(&self.graph.values[id.0].def, ValueDef::Input(n) if n == name);
        self.graph.inputs.iter().find(named).copied()
    }

    /// Adds a constant (weights, biases).
    pub fn constant(&mut self, t: Tensor) -> Result<ValueId> {
        self.push(t.shape().clone(), t.dtype(), ValueDef::Constant(t))
    }

    /// Shape of a value added so far.
    pub fn shape(&self, id: ValueId) -> Result<&Shape> {
        self.graph.values.get(id.0).map(|v| &v.shape).ok_or(GraphError::UnknownValue(id.0))
    }

    /// Dtype of a value added so far.
    pub fn dtype(&self, id: ValueId) -> Result<DType> {
        self.graph.values.get(id.0).map(|v| v.dtype).ok_or(GraphError::UnknownValue(id.0))
    }

    /// Applies `op` to `inputs` and returns all its outputs.
    pub fn apply(&mut self, op: Op, inputs: &[ValueId]) -> Result<Vec<ValueId>> {
        let infos = inputs
            .iter()
            .map(|id| self.graph.values.get(id.0).map(|v| (&v.shape, v.dtype)).ok_or(GraphError::UnknownValue(id.0)))
            .collect::<Result<Vec<_>>>()?;
        let outs = infer(&op, &infos)?;
        let node = self.graph.nodes.len();
        let outputs = outs
            .into_iter()
            .enumerate()
            .map(|(output, (s, d))| self.push(s, d, ValueDef::Node { node, output }))
            .collect::<Result<Vec<_>>>()?;
        self.graph.nodes.push(Node { op, inputs: inputs.to_vec(), outputs: outputs.clone() });
        Ok(outputs)
    }

    /// Applies a single-output `op` and returns its output.
    pub fn op(&mut self, op: Op, inputs: &[ValueId]) -> Result<ValueId> {
        let name = op.name();
        let outs = self.apply(op, inputs)?;
        match outs.as_slice() {
            [one] => Ok(*one),
            _ => Err(GraphError::InvalidParam { op: name, why: format!("has {} outputs; use apply", outs.len()) }),
        }
    }

    /// Finishes the graph with the given outputs.
    pub fn build(mut self, outputs: &[ValueId]) -> Result<Graph> {
        if let Some(bad) = outputs.iter().find(|id| id.0 >= self.graph.values.len()) {
            return Err(GraphError::UnknownValue(bad.0));
        }
        self.graph.outputs = outputs.to_vec();
        Ok(self.graph)
    }
}
