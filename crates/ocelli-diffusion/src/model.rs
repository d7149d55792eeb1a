//! The class-conditional MNIST U-Net of `scripts/diffusion_mnist_model.py` and the sampler step
//! graphs built around it: classifier-free guidance over one batch of conditional and null
//! passes (or the one pass that guidance 0 or 1 needs), then the update, so that one compiled
//! plan runs a whole step on the device.

use ocelli_graph::{BinaryOp, DType, Graph, GraphBuilder, Op, UnaryOp, ValueId};
use ocelli_nn::{linear, Downsample, NnError, UNet, Upsample, Weights};

use crate::schedule::TIME_EMBEDDING;

/// Classes the models are conditioned on (the digits).
pub const CLASSES: usize = 10;

/// The learned "no class" entry of the class table, used by the unconditional half of
/// classifier-free guidance.
pub const NULL_CLASS: usize = 10;

/// Width of the time-and-class embedding every residual block receives.
const EMBEDDING: usize = 128;

/// MNIST's image side.
pub const SIDE: usize = 28;

/// What the network predicts, which decides the samplers it works with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Objective {
    /// The noise ε of a DDPM (DDPM ancestral and DDIM sampling).
    Epsilon,
    /// The velocity from noise to data of a rectified flow (Euler and Heun sampling).
    Velocity,
}

/// The generative models Ocelli ships.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Model {
    /// Class-conditional DDPM on MNIST (ε-prediction, 1000-step linear schedule).
    DdpmMnist,
    /// The same U-Net trained by flow matching.
    FlowMnist,
}

impl Model {
    /// Every model.
    pub const ALL: [Model; 2] = [Model::DdpmMnist, Model::FlowMnist];

    /// Its name on the command line and in `assets/models/NAME.safetensors`.
    pub fn name(self) -> &'static str {
        match self {
            Model::DdpmMnist => "ddpm_mnist",
            Model::FlowMnist => "flow_mnist",
        }
    }

    /// The model of that name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.name() == name)
    }

    /// What it predicts.
    pub fn objective(self) -> Objective {
        match self {
            Model::DdpmMnist => Objective::Epsilon,
            Model::FlowMnist => Objective::Velocity,
        }
    }
}

/// The U-Net's shape: levels of 32, 64 and 64 channels at 28², 14² and 7², one residual
/// block each, attention at 7², GroupNorm of 8 groups.
pub fn unet() -> UNet {
    UNet {
        in_channels: 1,
        out_channels: 1,
        channels: vec![32, 64, 64],
        down: Downsample::StridedConv,
        up: Upsample::NearestConv,
        mid_attention: true,
        groups: 8,
        eps: 1e-5,
        cond_width: Some(EMBEDDING),
        out_kernel: 3,
    }
}

/// Which step graph: one evaluation and an [`Update`](crate::Update), or a Heun step (two
/// evaluations).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StepKind {
    /// Inputs: `x` `[B, 1, 28, 28]`, `time` `[1, 64]` (the time embedding), `classes` (see
    /// [`Evaluation`]), `coefficients` `[9]` ([`Update::to_vec`](crate::Update::to_vec)), `key`
    /// `[2]` u32 (the noise's seed and stream). Output: the next x.
    Single,
    /// Inputs: `x`, `time` `[2, 64]` (embeddings of tₖ and tₖ₊₁), `classes`, `coefficients` `[2]`
    /// (Δt and the guidance scale). Output: x + Δt/2·(v(x, tₖ) + v(x + Δt·v(x, tₖ), tₖ₊₁)).
    Heun,
}

/// How a step graph evaluates the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Evaluation {
    /// Classifier-free guidance: one pass over `[x; x]` with `classes` `[2B]` i32 (the B classes,
    /// then B null classes), mixed as `null + w·(cond − null)` (w: the guidance coefficient).
    Guided,
    /// One pass over x with `classes` `[B]`: what guidance 1 (the classes asked for) and
    /// guidance 0 (the null class) reduce to, at half the work; the guidance coefficient is unused.
    Plain,
}

impl Evaluation {
    /// The evaluation guidance scale `w` needs: [`Evaluation::Plain`] at 0 and 1.
    pub fn for_guidance(w: f32) -> Self {
        if w == 0.0 || w == 1.0 {
            Evaluation::Plain
        } else {
            Evaluation::Guided
        }
    }

    /// Images per network pass for each image of the batch: 2 guided, 1 plain.
    pub fn passes(self) -> usize {
        match self {
            Evaluation::Guided => 2,
            Evaluation::Plain => 1,
        }
    }

    /// The `classes` input of a batch asking for `classes` at guidance `w`.
    pub fn classes(self, classes: &[usize], w: f32) -> Vec<i32> {
        let null = std::iter::repeat_n(NULL_CLASS as i32, classes.len());
        match self {
            Evaluation::Guided => classes.iter().map(|&c| c as i32).chain(null).collect(),
            Evaluation::Plain if w == 0.0 => null.collect(),
            Evaluation::Plain => classes.iter().map(|&c| c as i32).collect(),
        }
    }
}

/// The step graph of `kind` for a batch of `batch` images evaluating the network as
/// `evaluation` says, the U-Net in `dtype` (f32, or f16 with f32 sampler state).
pub fn step_graph(
    weights: &Weights,
    kind: StepKind,
    evaluation: Evaluation,
    batch: usize,
    dtype: DType,
) -> Result<Graph, NnError> {
    if batch == 0 {
        return Err(NnError::Spec("a sampler batch needs at least one image".into()));
    }
    let mut g = GraphBuilder::new();
    let image = [batch, 1, SIDE, SIDE];
    let x = g.input("x", image, DType::F32)?;
    let times = if kind == StepKind::Single { 1 } else { 2 };
    let time = g.input("time", [times, TIME_EMBEDDING], DType::F32)?;
    let classes = g.input("classes", [evaluation.passes() * batch], DType::I32)?;
    let ncoef = if kind == StepKind::Single { 9 } else { 2 };
    let coefficients = g.input("coefficients", [ncoef], DType::F32)?;
    let coef =
        |g: &mut GraphBuilder, i: usize| g.op(Op::Slice { axis: 0, start: i, end: i + 1, step: 1 }, &[coefficients]);
    let table = g.constant(weights.get("class_emb.weight", &[CLASSES + 1, EMBEDDING])?)?;
    let class_emb = g.op(Op::Gather { axis: 0 }, &[table, classes])?;
    // The guidance coefficient of a guided evaluation (Single: the 9th coefficient; Heun: the 2nd).
    let guidance = match (evaluation, kind) {
        (Evaluation::Plain, _) => None,
        (Evaluation::Guided, StepKind::Single) => Some(coef(&mut g, 8)?),
        (Evaluation::Guided, StepKind::Heun) => Some(coef(&mut g, 1)?),
    };
    let net = Network { weights, class_emb, dtype, batch, guidance };
    let bin = |g: &mut GraphBuilder, op, a, b| g.op(Op::Binary(op), &[a, b]);
    let next = match kind {
        StepKind::Single => {
            let key = g.input("key", [2], DType::U32)?;
            let eps = net.eval(&mut g, x, time)?;
            let coef: Vec<ValueId> = (0..8).map(|i| coef(&mut g, i)).collect::<Result<_, _>>()?;
            let (a, b, lo, hi, c, d, e) = (coef[0], coef[1], coef[2], coef[3], coef[4], coef[5], coef[6]);
            let t = bin(&mut g, BinaryOp::Mul, a, eps)?;
            let t = bin(&mut g, BinaryOp::Sub, x, t)?;
            let t = bin(&mut g, BinaryOp::Div, t, b)?;
            let t = bin(&mut g, BinaryOp::Max, t, lo)?;
            let x0 = bin(&mut g, BinaryOp::Min, t, hi)?;
            let t = bin(&mut g, BinaryOp::Mul, c, x0)?;
            let de = bin(&mut g, BinaryOp::Mul, d, eps)?;
            let t = bin(&mut g, BinaryOp::Add, t, de)?;
            let ex = bin(&mut g, BinaryOp::Mul, e, x)?;
            let t = bin(&mut g, BinaryOp::Add, t, ex)?;
            let z = g.op(Op::RandomNormal { shape: image.to_vec() }, &[key])?;
            let sz = bin(&mut g, BinaryOp::Mul, coef[7], z)?;
            bin(&mut g, BinaryOp::Add, t, sz)?
        }
        StepKind::Heun => {
            let dt = coef(&mut g, 0)?;
            let t0 = g.op(Op::Slice { axis: 0, start: 0, end: 1, step: 1 }, &[time])?;
            let t1 = g.op(Op::Slice { axis: 0, start: 1, end: 2, step: 1 }, &[time])?;
            let v1 = net.eval(&mut g, x, t0)?;
            let s = bin(&mut g, BinaryOp::Mul, dt, v1)?;
            let xe = bin(&mut g, BinaryOp::Add, x, s)?;
            let v2 = net.eval(&mut g, xe, t1)?;
            let half = g.constant(ocelli_graph::Tensor::from_f32([1], vec![2.0])?)?;
            let h = bin(&mut g, BinaryOp::Div, dt, half)?;
            let v = bin(&mut g, BinaryOp::Add, v1, v2)?;
            let s = bin(&mut g, BinaryOp::Mul, h, v)?;
            bin(&mut g, BinaryOp::Add, x, s)?
        }
    };
    Ok(g.build(&[next])?)
}

/// The network of one step graph: the class embeddings are gathered once, each evaluation adds
/// its time embedding; `guidance` is the guidance coefficient of a guided evaluation.
struct Network<'a> {
    weights: &'a Weights,
    class_emb: ValueId,
    dtype: DType,
    batch: usize,
    guidance: Option<ValueId>,
}

impl Network<'_> {
    /// Guided: `null + w·(cond − null)` of one U-Net pass over `[x; x]` with the classes, then the
    /// nulls; plain: the U-Net on x with its classes.
    fn eval(&self, g: &mut GraphBuilder, x: ValueId, time: ValueId) -> Result<ValueId, NnError> {
        let root = self.weights.root();
        let mut cond = embedding(g, self.weights, time, self.class_emb)?;
        let mut xx = match self.guidance {
            Some(_) => g.op(Op::Concat { axis: 0 }, &[x, x])?,
            None => x,
        };
        if self.dtype != DType::F32 {
            cond = g.op(Op::Cast { to: self.dtype }, &[cond])?;
            xx = g.op(Op::Cast { to: self.dtype }, &[xx])?;
        }
        // One pass over the whole guided batch: convolutions whose im2col patch matrix would pass
        // the executor's scratch limit run in bands of images (on lavapipe as fast per image as
        // the chunks of 16 this graph used to slice by hand).
        let mut out = unet().build(g, &root.with_dtype(self.dtype), xx, Some(cond))?;
        if self.dtype != DType::F32 {
            out = g.op(Op::Cast { to: DType::F32 }, &[out])?;
        }
        let Some(w) = self.guidance else { return Ok(out) };
        let n = self.batch;
        let c = g.op(Op::Slice { axis: 0, start: 0, end: n, step: 1 }, &[out])?;
        let u = g.op(Op::Slice { axis: 0, start: n, end: 2 * n, step: 1 }, &[out])?;
        let diff = g.op(Op::Binary(BinaryOp::Sub), &[c, u])?;
        let scaled = g.op(Op::Binary(BinaryOp::Mul), &[w, diff])?;
        Ok(g.op(Op::Binary(BinaryOp::Add), &[u, scaled])?)
    }
}

/// One raw network evaluation (no guidance): `x` `[B, 1, 28, 28]`, `time` `[1, 64]`, `classes`
/// `[B]` i32 → `[B, 1, 28, 28]`. For checking the network alone against the golden.
pub fn network_graph(weights: &Weights, batch: usize) -> Result<Graph, NnError> {
    let mut g = GraphBuilder::new();
    let x = g.input("x", [batch, 1, SIDE, SIDE], DType::F32)?;
    let time = g.input("time", [1, TIME_EMBEDDING], DType::F32)?;
    let classes = g.input("classes", [batch], DType::I32)?;
    let table = g.constant(weights.get("class_emb.weight", &[CLASSES + 1, EMBEDDING])?)?;
    let class_emb = g.op(Op::Gather { axis: 0 }, &[table, classes])?;
    let cond = embedding(&mut g, weights, time, class_emb)?;
    let out = unet().build(&mut g, &weights.root(), x, Some(cond))?;
    Ok(g.build(&[out])?)
}

/// SiLU(time MLP(time embedding) + class embedding): the vector every residual block adds.
fn embedding(g: &mut GraphBuilder, weights: &Weights, time: ValueId, class_emb: ValueId) -> Result<ValueId, NnError> {
    let w = weights.pp("time");
    let silu = Op::Unary(UnaryOp::Silu);
    let h = linear(g, &w.pp("lin1"), time, TIME_EMBEDDING, EMBEDDING)?;
    let h = g.op(silu.clone(), &[h])?;
    let temb = linear(g, &w.pp("lin2"), h, EMBEDDING, EMBEDDING)?;
    let e = g.op(Op::Binary(BinaryOp::Add), &[class_emb, temb])?;
    Ok(g.op(silu, &[e])?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guidance_0_and_1_evaluate_once_with_the_classes_they_need() {
        let null = NULL_CLASS as i32;
        assert_eq!(Evaluation::for_guidance(3.0), Evaluation::Guided);
        assert_eq!(Evaluation::for_guidance(1.0 + 1e-6), Evaluation::Guided);
        assert_eq!(Evaluation::Guided.classes(&[3, 8], 3.0), [3, 8, null, null]);
        assert_eq!(Evaluation::for_guidance(1.0), Evaluation::Plain);
        assert_eq!(Evaluation::Plain.classes(&[3, 8], 1.0), [3, 8]);
        assert_eq!(Evaluation::for_guidance(0.0), Evaluation::Plain);
        assert_eq!(Evaluation::Plain.classes(&[3, 8], 0.0), [null, null]);
    }
}
