// Graphs from fuzz bytes, for the `graph` and `differential` targets (fuzz/harness.rs).
//
// Each step draws an op from a byte and gives it operands: a value built so far, or a new input
// shaped for the op; the op's parameters come from the next bytes. `Mode::Wild` also draws edge
// sizes (0, 2^31, 2^32, 2^63 + 2, usize::MAX, ...) and edge floats (NaN, infinities), so shape
// inference and the backends meet overflowing and nonsensical requests. `Mode::Tame` keeps every
// graph small and well-posed, with inputs on a grid of 1/16 so that sums and comparisons of them
// are exact: the GPU and the CPU reference must then agree.

use ocelli::{
    BinaryOp, CompileOptions, Conv2d, ConvTranspose2d, DType, Fused, Graph, GraphBuilder, Op, PadMode, Padding, Pool2d,
    PoolKind, ReduceOp, Tensor, UnaryOp, UpsampleMode, ValueId,
};

#[path = "graph_gen_inputs.rs"]
mod inputs;
#[path = "graph_gen_vision.rs"]
mod vision;

/// How the generator draws sizes and values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Any size, edge values included: graphs are built (most are refused), small ones run.
    Wild,
    /// Small, valid graphs of at most [`TAME_OPS`] ops, run on both backends.
    Tame,
}

/// Ops per tame graph: rounding differences compound along a chain, so chains stay short.
pub const TAME_OPS: usize = 4;
const WILD_OPS: usize = 8;
/// Wild graphs whose values hold more elements than this in all are built but not run.
pub const WILD_RUN_ELEMENTS: usize = 1 << 16;
/// Tame graphs with a value larger than this are dropped: they would meet device limits
/// (a binding of 128 MiB) that the CPU reference does not have, and run slowly.
pub const TAME_VALUE_ELEMENTS: usize = 1 << 18;
/// Wild graphs are compiled for the GPU when the values within its binding limit hold at most
/// this many bytes in all (values beyond the limit must be refused, not allocated).
pub const WILD_GPU_BYTES: u64 = 256 << 20;

/// A tolerance as in the conformance suite: |x − y| <= max(rel · |x + y|, abs · scale), where
/// scale is the largest magnitude of the expected output (at least 1).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Tol {
    /// Relative part.
    pub rel: f64,
    /// Absolute part, per unit of the output's scale.
    pub abs: f64,
}

/// The conformance suite's classes (tests/conformance/harness.rs), tightest first (the derived
/// order ranks them so: both parts grow together).
const EXACT: Tol = Tol { rel: 1e-6, abs: 1e-6 };
const ACCUM: Tol = Tol { rel: 1e-4, abs: 1e-4 };
const TRANSCENDENTAL: Tol = Tol { rel: 2e-4, abs: 1e-5 };
const HALF: Tol = Tol { rel: 1e-3, abs: 1e-4 };

/// A generated graph, its inputs and how closely two backends must agree on it.
pub struct Case {
    /// The graph.
    pub graph: Graph,
    /// One tensor per graph input; `None` for wild graphs too large to run.
    pub inputs: Option<Vec<Tensor>>,
    /// The loosest tolerance class of its ops.
    pub tol: Tol,
    /// How the GPU compiles it (small loop chunks force the multi-pass paths on small shapes).
    pub options: CompileOptions,
}

/// How exactly a value is known. Sums and extrema of grid values are exact in f32, so ops whose
/// results are discrete (argmax, top-k indices, NMS, histograms) must agree on them exactly;
/// such ops are not applied to rounded values, where near ties may legitimately break apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Precision {
    Grid,
    Exact,
    Rounded,
}

/// What a graph input holds, drawn to suit the op that asked for it.
#[derive(Debug, Clone, Copy)]
enum Fill {
    Grid,
    Positive,
    Words,
    Index(usize),
    Boxes,
}

struct Val {
    id: ValueId,
    precision: Precision,
    used: bool,
    /// For max pooling's indices: the pooled values they belong to.
    indices_of: Option<usize>,
}

const EDGE_SIZES: [usize; 8] = [0, 1 << 16, 1 << 31, 1 << 32, (1 << 32) + 1, 1 << 62, (1 << 63) + 2, usize::MAX];
const EDGE_FLOATS: [f32; 6] = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 1e30, -0.0, f32::MIN_POSITIVE];

struct Bytes<'a> {
    data: &'a [u8],
    mode: Mode,
}

impl Bytes<'_> {
    fn byte(&mut self) -> u8 {
        let (&b, rest) = self.data.split_first().unwrap_or((&0, &[]));
        self.data = rest;
        b
    }

    fn below(&mut self, n: usize) -> usize {
        self.byte() as usize % n.max(1)
    }

    fn flag(&mut self) -> bool {
        self.byte() & 1 == 1
    }

    /// `lo..lo + 8`, or in wild mode now and then an edge size.
    fn size(&mut self, lo: usize) -> usize {
        let b = self.byte() as usize;
        match b.checked_sub(256 - EDGE_SIZES.len()) {
            Some(e) if self.mode == Mode::Wild => EDGE_SIZES[e],
            _ => lo + b % 8,
        }
    }

    /// A grid value in [-2, 2], or in wild mode now and then an edge float.
    fn float(&mut self) -> f32 {
        let b = self.byte() as usize;
        match b.checked_sub(256 - EDGE_FLOATS.len()) {
            Some(e) if self.mode == Mode::Wild => EDGE_FLOATS[e],
            _ => (b % 65) as f32 / 16.0 - 2.0,
        }
    }
}

struct Gen<'a> {
    b: Bytes<'a>,
    g: GraphBuilder,
    vals: Vec<Val>,
    fills: Vec<Fill>,
    tol: Tol,
    ops: usize,
    seed: u64,
}

/// Builds the graph the bytes describe, with its inputs; `None` when no op could be applied.
pub fn generate(data: &[u8], mode: Mode) -> Option<Case> {
    let seed = data.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    let mut gen =
        Gen { b: Bytes { data, mode }, g: GraphBuilder::new(), vals: vec![], fills: vec![], tol: EXACT, ops: 0, seed };
    let options = CompileOptions {
        loop_chunk: if gen.b.flag() { 3 } else { CompileOptions::LOOP_CHUNK },
        texel_operands: gen.b.flag(),
        ..Default::default()
    };
    let max_ops = if mode == Mode::Tame { TAME_OPS } else { WILD_OPS };
    while !gen.b.data.is_empty() && gen.ops < max_ops {
        gen.step();
    }
    let sinks: Vec<ValueId> = gen.vals.iter().filter(|v| !v.used).map(|v| v.id).collect();
    if sinks.is_empty() {
        return None;
    }
    let graph = std::mem::take(&mut gen.g).build(&sinks).ok()?;
    if mode == Mode::Tame && graph.values().iter().any(|v| v.shape.numel() > TAME_VALUE_ELEMENTS) {
        return None;
    }
    let total = graph.values().iter().try_fold(0usize, |n, v| n.checked_add(v.shape.numel()));
    let runs = mode == Mode::Tame || total.is_some_and(|n| n <= WILD_RUN_ELEMENTS);
    let inputs = runs.then(|| gen.input_data(&graph));
    Some(Case { graph, inputs, tol: gen.tol, options })
}

impl Gen<'_> {
    fn wild(&self) -> bool {
        self.b.mode == Mode::Wild
    }

    fn next_random(&mut self) -> u64 {
        self.seed = self.seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.seed;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn dims(&self, v: usize) -> Vec<usize> {
        self.g.shape(self.vals[v].id).map(|s| s.dims().to_vec()).unwrap_or_default()
    }

    fn dtype(&self, v: usize) -> DType {
        self.g.dtype(self.vals[v].id).unwrap_or(DType::F32)
    }

    fn shape(&mut self, rank: usize) -> Vec<usize> {
        (0..rank).map(|_| self.b.size(1)).collect()
    }

    /// A new graph input.
    fn input(&mut self, shape: Vec<usize>, dtype: DType, fill: Fill) -> Option<usize> {
        let name = format!("x{}", self.fills.len());
        let id = self.g.input(&name, shape, dtype).ok()?;
        self.fills.push(fill);
        self.vals.push(Val { id, precision: Precision::Grid, used: true, indices_of: None });
        Some(self.vals.len() - 1)
    }

    /// A constant of grid (or positive) values; an input instead where it would be too big to hold.
    fn constant(&mut self, shape: Vec<usize>, fill: Fill) -> Option<usize> {
        let n = shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
        if n.is_none_or(|n| n > 4096) {
            return self.input(shape, DType::F32, fill);
        }
        let data = (0..n.unwrap_or(0)).map(|_| self.value(fill)).collect();
        let id = self.g.constant(Tensor::from_f32(shape, data).ok()?).ok()?;
        self.vals.push(Val { id, precision: Precision::Grid, used: true, indices_of: None });
        Some(self.vals.len() - 1)
    }

    fn value(&mut self, fill: Fill) -> f32 {
        let r = self.next_random();
        match fill {
            Fill::Positive => 0.25 + (r % 33) as f32 / 16.0,
            _ => (r % 65) as f32 / 16.0 - 2.0,
        }
    }

    /// A float value of `rank` (any rank up to 4 when `None`): one built so far, or a new input.
    fn operand(&mut self, rank: Option<usize>, at_most: Precision) -> Option<usize> {
        let fits: Vec<usize> = (0..self.vals.len())
            .filter(|&v| matches!(self.dtype(v), DType::F32 | DType::F16))
            .filter(|&v| rank.is_none_or(|r| self.dims(v).len() == r))
            .filter(|&v| self.vals[v].precision <= at_most)
            .collect();
        let k = self.b.byte() as usize;
        if !fits.is_empty() && !k.is_multiple_of(4) {
            return Some(fits[k % fits.len()]);
        }
        let rank = rank.unwrap_or(1 + k % 4);
        let shape = self.shape(rank);
        self.input(shape, DType::F32, Fill::Grid)
    }

    /// Applies `op`; on success its outputs join the pool with `precision` (indices exact).
    fn apply(&mut self, op: Op, operands: &[usize], precision: Precision, tol: Tol) -> Option<Vec<usize>> {
        let op_kind = Some(op.name());
        let ids: Vec<ValueId> = operands.iter().map(|&v| self.vals[v].id).collect();
        let outs = self.g.apply(op, &ids).ok()?;
        for &v in operands {
            self.vals[v].used = true;
        }
        let first = self.vals.len();
        for (k, id) in outs.into_iter().enumerate() {
            let exact = self.g.dtype(id).is_ok_and(|d| d == DType::I32);
            let precision = if exact { Precision::Exact } else { precision };
            // Max pooling's indices point into its input planes, where max unpooling can put the
            // values back (top-k's index the last axis, which unpooling would read as collisions).
            let pooled = matches!(op_kind, Some("max_pool2d_with_indices"));
            let indices_of = (k == 1 && pooled).then_some(first);
            self.vals.push(Val { id, precision, used: false, indices_of });
        }
        self.ops += 1;
        if tol > self.tol {
            self.tol = tol;
        }
        Some((first..self.vals.len()).collect())
    }

    fn worst(&self, operands: &[usize]) -> Precision {
        operands.iter().map(|&v| self.vals[v].precision).max().unwrap_or(Precision::Grid)
    }

    /// The precision of a product of `operands`: exact when both factors are grid values.
    fn product(&self, operands: &[usize]) -> Precision {
        if self.worst(operands) == Precision::Grid {
            Precision::Exact
        } else {
            Precision::Rounded
        }
    }

    fn step(&mut self) -> Option<()> {
        match self.b.below(27) {
            0 => self.matmul(),
            1 => self.l1(),
            2 => self.conv(),
            3 => self.conv_transpose(),
            4 | 5 => self.pool(),
            6 => self.unpool(),
            7 => {
                let x = self.operand(Some(4), Precision::Rounded)?;
                self.apply(Op::GlobalAvgPool, &[x], Precision::Rounded, ACCUM).map(drop)
            }
            8 => self.upsample(),
            9 | 10 => self.binary(),
            11 | 12 => self.unary(),
            13 => {
                let x = self.operand(None, Precision::Rounded)?;
                let axis = self.b.below(self.dims(x).len() + usize::from(self.wild()));
                let op = Op::Softmax { axis, log: self.b.flag() };
                self.apply(op, &[x], Precision::Rounded, TRANSCENDENTAL).map(drop)
            }
            14 => self.norm(),
            15 => self.reduce(),
            16 => self.top_k(),
            17 => self.concat(),
            18 => self.slice(),
            19 => self.reshape_or_transpose(),
            20 => self.pad(),
            21 => self.cast(),
            22 => self.raw_pixels(),
            23 => self.roi(),
            24 => self.nms(),
            25 => self.gather(),
            _ => self.colour(),
        }
    }

    fn matmul(&mut self) -> Option<()> {
        let rank = 2 + self.b.below(2);
        let a = self.operand(Some(rank), Precision::Rounded)?;
        let (trans_a, trans_b) = (self.b.flag(), self.b.flag());
        let d = self.dims(a);
        let k = if trans_a { d[rank - 2] } else { d[rank - 1] };
        let n = self.b.size(1);
        let b = if self.b.flag() {
            self.operand(Some(2), Precision::Rounded)?
        } else {
            self.constant(if trans_b { vec![n, k] } else { vec![k, n] }, Fill::Grid)?
        };
        let mut operands = vec![a, b];
        if self.b.flag() {
            let n = if trans_b { self.dims(b)[0] } else { self.dims(b)[1] };
            operands.push(self.constant(vec![n], Fill::Grid)?);
        }
        let precision = self.product(&operands[..2]);
        let op = Op::MatMul { trans_a, trans_b };
        if self.b.flag() {
            let acts = self.acts();
            let fused = Op::Fused(Fused { base: Box::new(op), residual: false, acts });
            return self.apply(fused, &operands, Precision::Rounded, ACCUM).map(drop);
        }
        self.apply(op, &operands, precision, ACCUM).map(drop)
    }

    fn l1(&mut self) -> Option<()> {
        let a = self.operand(Some(2), Precision::Rounded)?;
        let d = self.dims(a)[1];
        let rows = self.b.size(1);
        let b = self.input(vec![rows, d], DType::F32, Fill::Grid)?;
        let precision = self.worst(&[a, b]).max(Precision::Exact);
        self.apply(Op::L1Distance, &[a, b], precision, ACCUM).map(drop)
    }

    fn window(&mut self) -> usize {
        if self.wild() {
            self.b.size(1)
        } else {
            1 + self.b.below(4)
        }
    }

    fn conv(&mut self) -> Option<()> {
        let x = self.operand(Some(4), Precision::Rounded)?;
        let c = self.dims(x)[1];
        let groups = match self.b.below(3) {
            0 => c,
            1 => self.b.size(1),
            _ => 1,
        };
        let per_group = self.b.size(1);
        let out = per_group.checked_mul(groups).unwrap_or(per_group);
        let (kh, kw) = (self.window(), self.window());
        let w = self.constant(vec![out, c / groups.max(1), kh, kw], Fill::Grid)?;
        let padding = if self.b.flag() {
            Padding::Same
        } else {
            Padding::Explicit([self.b.size(0) % 3, self.b.size(0) % 3, self.b.size(0) % 3, self.b.size(0) % 3])
        };
        let padding = match padding {
            Padding::Explicit(_) if self.wild() => Padding::Explicit([self.b.size(0), 0, self.b.size(0), 0]),
            p => p,
        };
        let p = Conv2d {
            stride: [1 + self.b.below(3), 1 + self.b.below(3)],
            padding,
            dilation: [1 + self.b.below(2), 1 + self.b.below(2)],
            groups,
        };
        let mut operands = vec![x, w];
        if self.b.flag() {
            operands.push(self.constant(vec![out], Fill::Grid)?);
        }
        let precision = self.product(&operands[..2]);
        self.apply(Op::Conv2d(p), &operands, precision, ACCUM).map(drop)
    }

    fn conv_transpose(&mut self) -> Option<()> {
        let x = self.operand(Some(4), Precision::Rounded)?;
        let c = self.dims(x)[1];
        let groups = if self.b.flag() { c } else { 1 };
        let per_group = self.b.size(1);
        let (kh, kw) = (self.window(), self.window());
        let w = self.constant(vec![c, per_group, kh, kw], Fill::Grid)?;
        let stride = [1 + self.b.below(3), 1 + self.b.below(3)];
        let dilation = [1 + self.b.below(2), 1 + self.b.below(2)];
        let p = ConvTranspose2d {
            stride,
            padding: [self.b.size(0) % 3, self.b.size(0) % 3],
            output_padding: [self.b.below(stride[0].max(dilation[0])), self.b.below(stride[1].max(dilation[1]))],
            dilation,
            groups,
        };
        let p = if self.wild() { ConvTranspose2d { padding: [self.b.size(0), self.b.size(0)], ..p } } else { p };
        let precision = self.product(&[x, w]);
        self.apply(Op::ConvTranspose2d(p), &[x, w], precision, ACCUM).map(drop)
    }

    fn pool_params(&mut self, kind: PoolKind) -> Pool2d {
        let kernel = [self.window(), self.window()];
        let pad = |b: &mut Bytes, k: usize| b.below(k / 2 + 1);
        Pool2d {
            kind,
            kernel,
            stride: [1 + self.b.below(3), 1 + self.b.below(3)],
            padding: [
                pad(&mut self.b, kernel[0]),
                pad(&mut self.b, kernel[1]),
                pad(&mut self.b, kernel[0]),
                pad(&mut self.b, kernel[1]),
            ],
            ceil_mode: self.b.flag(),
            count_include_pad: self.b.flag(),
        }
    }

    fn pool(&mut self) -> Option<()> {
        match self.b.below(3) {
            0 => {
                let x = self.operand(Some(4), Precision::Rounded)?;
                let p = self.pool_params(PoolKind::Avg);
                self.apply(Op::Pool2d(p), &[x], Precision::Rounded, ACCUM).map(drop)
            }
            1 => {
                let x = self.operand(Some(4), Precision::Rounded)?;
                let p = self.pool_params(PoolKind::Max);
                let precision = self.worst(&[x]);
                self.apply(Op::Pool2d(p), &[x], precision, EXACT).map(drop)
            }
            _ => {
                // Indices of a maximum are only comparable where ties are exact.
                let x = self.operand(Some(4), Precision::Exact)?;
                let p = self.pool_params(PoolKind::Max);
                let precision = self.worst(&[x]);
                self.apply(Op::MaxPool2dWithIndices(p), &[x], precision, EXACT).map(drop)
            }
        }
    }

    /// Max unpooling of a max pool's own values and indices (tame: other indices may collide,
    /// and colliding writes have no defined order); any I32 value in wild mode.
    fn unpool(&mut self) -> Option<()> {
        let pairs: Vec<usize> = (0..self.vals.len()).filter(|&v| self.vals[v].indices_of.is_some()).collect();
        let (x, idx) = if self.wild() && self.b.flag() {
            let x = self.operand(Some(4), Precision::Rounded)?;
            let d = self.dims(x);
            let limit = self.b.size(1);
            (x, self.input(d, DType::I32, Fill::Index(limit))?)
        } else {
            let &idx = pairs.get(self.b.below(pairs.len().max(1)))?;
            (self.vals[idx].indices_of?, idx)
        };
        if self.dtype(x) != DType::F32 || self.dims(x).len() != 4 {
            return None;
        }
        let op = Op::MaxUnpool2d { out_h: self.b.size(1).saturating_add(8), out_w: self.b.size(1).saturating_add(8) };
        let precision = self.worst(&[x]);
        self.apply(op, &[x, idx], precision, EXACT).map(drop)
    }

    fn upsample(&mut self) -> Option<()> {
        let x = self.operand(Some(4), Precision::Rounded)?;
        let mode = match self.b.below(4) {
            0 => UpsampleMode::Nearest,
            1 => UpsampleMode::Bilinear { align_corners: self.b.flag() },
            2 => UpsampleMode::BilinearAsymmetric,
            _ => UpsampleMode::Area,
        };
        let (out_h, out_w) = (self.b.size(1), self.b.size(1));
        let precision = if mode == UpsampleMode::Nearest { self.worst(&[x]) } else { Precision::Rounded };
        self.apply(Op::Upsample { mode, out_h, out_w }, &[x], precision, ACCUM).map(drop)
    }

    /// A shape that broadcasts against `d`: a suffix of it with some dimensions set to 1.
    fn broadcastable(&mut self, d: &[usize]) -> Vec<usize> {
        let keep = self.b.below(d.len() + 1);
        d[d.len() - keep..].iter().map(|&n| if self.b.flag() { 1 } else { n }).collect()
    }

    fn binary(&mut self) -> Option<()> {
        const OPS: [BinaryOp; 9] = [
            BinaryOp::Add,
            BinaryOp::Sub,
            BinaryOp::Mul,
            BinaryOp::Div,
            BinaryOp::Max,
            BinaryOp::Min,
            BinaryOp::Pow,
            BinaryOp::PRelu,
            BinaryOp::Greater,
        ];
        let op = OPS[self.b.below(OPS.len())];
        // Tame division and powers take positive new inputs, as the conformance tests do.
        let positive = !self.wild() && matches!(op, BinaryOp::Div | BinaryOp::Pow);
        let a = if positive && op == BinaryOp::Pow {
            let rank = 1 + self.b.below(4);
            let shape = self.shape(rank);
            self.input(shape, DType::F32, Fill::Positive)?
        } else {
            self.operand(None, Precision::Rounded)?
        };
        let shape = self.broadcastable(&self.dims(a));
        let b = if positive && op == BinaryOp::Div {
            self.input(shape, DType::F32, Fill::Positive)?
        } else if self.b.flag() {
            self.operand(None, Precision::Rounded)?
        } else {
            self.input(shape, DType::F32, Fill::Grid)?
        };
        let (precision, tol) = match op {
            BinaryOp::Add | BinaryOp::Sub | BinaryOp::Max | BinaryOp::Min => (self.worst(&[a, b]), EXACT),
            BinaryOp::Greater => (Precision::Exact, EXACT),
            BinaryOp::Mul | BinaryOp::PRelu => (self.product(&[a, b]), EXACT),
            BinaryOp::Div => (Precision::Rounded, EXACT),
            BinaryOp::Pow => (Precision::Rounded, TRANSCENDENTAL),
        };
        if self.b.flag() && op != BinaryOp::PRelu {
            let acts = self.acts();
            let fused = Op::Fused(Fused { base: Box::new(Op::Binary(op)), residual: false, acts });
            return self.apply(fused, &[a, b], Precision::Rounded, TRANSCENDENTAL).map(drop);
        }
        self.apply(Op::Binary(op), &[a, b], precision, tol).map(drop)
    }

    fn unary_op(&mut self) -> UnaryOp {
        match self.b.below(15) {
            0 => UnaryOp::Relu,
            1 => UnaryOp::Relu6,
            2 => UnaryOp::LeakyRelu(0.125),
            3 => UnaryOp::Sigmoid,
            4 => UnaryOp::Tanh,
            5 => UnaryOp::Silu,
            6 => UnaryOp::Gelu,
            7 => UnaryOp::HardSwish,
            8 => UnaryOp::HardSigmoid,
            9 => UnaryOp::Exp,
            10 => UnaryOp::Log,
            11 => UnaryOp::Sqrt,
            12 => UnaryOp::Abs,
            13 => UnaryOp::Neg,
            _ => {
                let (lo, hi) = (self.b.float(), self.b.float());
                if self.wild() {
                    UnaryOp::Clamp { min: lo, max: hi }
                } else {
                    UnaryOp::Clamp { min: lo.min(hi), max: lo.max(hi) }
                }
            }
        }
    }

    /// A fused activation tail of one to four ops.
    fn acts(&mut self) -> Vec<UnaryOp> {
        let n = 1 + self.b.below(Fused::MAX_ACTS + usize::from(self.wild()));
        (0..n).map(|_| self.unary_op()).filter(|a| !matches!(a, UnaryOp::Log | UnaryOp::Sqrt)).collect()
    }

    fn unary(&mut self) -> Option<()> {
        let op = self.unary_op();
        let domain = !self.wild() && matches!(op, UnaryOp::Log | UnaryOp::Sqrt);
        let x = if domain {
            let rank = 1 + self.b.below(4);
            let shape = self.shape(rank);
            self.input(shape, DType::F32, Fill::Positive)?
        } else {
            self.operand(None, Precision::Rounded)?
        };
        let (precision, tol) = match op {
            UnaryOp::Relu | UnaryOp::Relu6 | UnaryOp::Abs | UnaryOp::Neg | UnaryOp::Clamp { .. } => {
                (self.worst(&[x]), EXACT)
            }
            UnaryOp::LeakyRelu(_) => (self.worst(&[x]).max(Precision::Exact), EXACT),
            UnaryOp::HardSwish | UnaryOp::HardSigmoid => (Precision::Rounded, EXACT),
            _ => (Precision::Rounded, TRANSCENDENTAL),
        };
        self.apply(Op::Unary(op), &[x], precision, tol).map(drop)
    }

    fn norm(&mut self) -> Option<()> {
        let x = self.operand(None, Precision::Rounded)?;
        let d = self.dims(x);
        let eps = if self.wild() && self.b.flag() { self.b.float() } else { 1e-5 };
        let c = d.get(1).copied().unwrap_or(1);
        match self.b.below(3) {
            0 => {
                let mut operands = vec![x];
                for fill in [Fill::Grid, Fill::Grid, Fill::Grid, Fill::Positive] {
                    operands.push(self.constant(vec![c], fill)?);
                }
                self.apply(Op::BatchNorm { eps }, &operands, Precision::Rounded, TRANSCENDENTAL).map(drop)
            }
            1 => {
                let divisors: Vec<usize> = (1..=c.min(64)).filter(|g| c % g == 0).collect();
                let groups = if self.wild() { self.b.size(0) } else { divisors[self.b.below(divisors.len())] };
                let (gamma, beta) = (self.constant(vec![c], Fill::Grid)?, self.constant(vec![c], Fill::Grid)?);
                let op = Op::GroupNorm { groups, eps };
                self.apply(op, &[x, gamma, beta], Precision::Rounded, TRANSCENDENTAL).map(drop)
            }
            _ => {
                let axis = self.b.below(d.len());
                let tail = d.get(axis..).unwrap_or_default().to_vec();
                let (gamma, beta) = (self.constant(tail.clone(), Fill::Grid)?, self.constant(tail, Fill::Grid)?);
                let op = Op::LayerNorm { axis, eps };
                self.apply(op, &[x, gamma, beta], Precision::Rounded, TRANSCENDENTAL).map(drop)
            }
        }
    }

    fn reduce(&mut self) -> Option<()> {
        let kind = self.b.below(4);
        let x = self.operand(None, if kind == 3 { Precision::Exact } else { Precision::Rounded })?;
        let axis = self.b.below(self.dims(x).len() + usize::from(self.wild()));
        let keep_dims = self.b.flag();
        let (op, precision, tol) = match kind {
            0 => (Op::Reduce { op: ReduceOp::Sum, axis, keep_dims }, self.worst(&[x]).max(Precision::Exact), ACCUM),
            1 => (Op::Reduce { op: ReduceOp::Mean, axis, keep_dims }, Precision::Rounded, ACCUM),
            2 => (Op::Reduce { op: ReduceOp::Max, axis, keep_dims }, self.worst(&[x]), EXACT),
            _ => (Op::ArgMax { axis, keep_dims }, Precision::Exact, EXACT),
        };
        self.apply(op, &[x], precision, tol).map(drop)
    }

    fn top_k(&mut self) -> Option<()> {
        let x = self.operand(None, Precision::Exact)?;
        let last = self.dims(x).last().copied().unwrap_or(1);
        let k = if self.wild() { self.b.size(0) } else { 1 + self.b.below(last) };
        let precision = self.worst(&[x]);
        let largest = self.b.flag();
        self.apply(Op::TopK { k, largest }, &[x], precision, EXACT).map(drop)
    }

    fn concat(&mut self) -> Option<()> {
        let first = self.operand(None, Precision::Rounded)?;
        let d = self.dims(first);
        if d.is_empty() {
            return None;
        }
        let axis = self.b.below(d.len());
        let mut operands = vec![first];
        for _ in 0..self.b.below(3) {
            let mut shape = d.clone();
            shape[axis] = self.b.size(1);
            let dtype = self.dtype(first);
            operands.push(self.input(shape, dtype, Fill::Grid)?);
        }
        let precision = self.worst(&operands);
        self.apply(Op::Concat { axis }, &operands, precision, EXACT).map(drop)
    }

    fn slice(&mut self) -> Option<()> {
        let x = self.operand(None, Precision::Rounded)?;
        let d = self.dims(x);
        if d.is_empty() {
            return None;
        }
        let axis = self.b.below(d.len());
        let start = if self.wild() { self.b.size(0) } else { self.b.below(d[axis]) };
        let end = start.saturating_add(self.b.size(1));
        let step = self.b.size(1);
        let precision = self.worst(&[x]);
        self.apply(Op::Slice { axis, start, end, step }, &[x], precision, EXACT).map(drop)
    }

    fn reshape_or_transpose(&mut self) -> Option<()> {
        let x = self.operand(None, Precision::Rounded)?;
        let d = self.dims(x);
        let precision = self.worst(&[x]);
        let op = if self.b.flag() {
            let n: usize = d.iter().product();
            let shape = match self.b.below(4) {
                0 => vec![n],
                1 => vec![1, n, 1],
                2 if self.wild() => {
                    let rank = 1 + self.b.below(4);
                    self.shape(rank)
                }
                _ => {
                    let divisors: Vec<usize> = (1..=n.min(64)).filter(|&k| n.is_multiple_of(k)).collect();
                    let k = divisors[self.b.below(divisors.len())];
                    vec![n / k, k]
                }
            };
            Op::Reshape { shape }
        } else {
            let mut perm: Vec<usize> = (0..d.len()).collect();
            for i in (1..perm.len()).rev() {
                let j = self.b.below(i + 1);
                perm.swap(i, j);
            }
            if self.wild() && self.b.flag() {
                perm.push(self.b.size(0));
            }
            Op::Transpose { perm }
        };
        self.apply(op, &[x], precision, EXACT).map(drop)
    }

    /// Gather along an axis by new i32 indices, some past the end (zeros).
    fn gather(&mut self) -> Option<()> {
        let x = self.operand(None, Precision::Rounded)?;
        let d = self.dims(x);
        if d.is_empty() || self.dtype(x) != DType::F32 {
            return None;
        }
        let axis = self.b.below(d.len());
        let rank = 1 + self.b.below(2);
        let shape = self.shape(rank);
        let limit = if self.wild() { self.b.size(0) } else { d[axis] + 2 };
        let idx = self.input(shape, DType::I32, Fill::Index(limit))?;
        let precision = self.worst(&[x]);
        self.apply(Op::Gather { axis }, &[x, idx], precision, EXACT).map(drop)
    }

    fn pad(&mut self) -> Option<()> {
        let x = self.operand(None, Precision::Rounded)?;
        let d = self.dims(x);
        let mode = match self.b.below(3) {
            0 => PadMode::Constant(self.b.float()),
            1 => PadMode::Reflect,
            _ => PadMode::Edge,
        };
        let pads = d
            .iter()
            .map(|&n| {
                let limit = if mode == PadMode::Reflect { n.min(3) } else { 3 };
                if self.wild() {
                    (self.b.size(0), self.b.size(0))
                } else {
                    (self.b.below(limit), self.b.below(limit))
                }
            })
            .collect();
        let precision = self.worst(&[x]);
        self.apply(Op::Pad { pads, mode }, &[x], precision, EXACT).map(drop)
    }

    fn cast(&mut self) -> Option<()> {
        let x = self.operand(None, Precision::Rounded)?;
        let to = if self.b.flag() { DType::F16 } else { DType::F32 };
        let precision =
            if to == DType::F16 && self.worst(&[x]) != Precision::Grid { Precision::Rounded } else { self.worst(&[x]) };
        let tol = if to == DType::F16 { HALF } else { EXACT };
        self.apply(Op::Cast { to }, &[x], precision, tol).map(drop)
    }
}
