//! Sampling loops that stay on the device: the initial noise comes from a seed by a
//! counter-based generator, each step is one [`Plan::advance`] that uploads a few scalars
//! (time embedding, coefficients, noise key) and carries the images into the next step without
//! a readback; only the final images and requested previews come back.

use std::collections::HashMap;
use std::ops::ControlFlow;

use ocelli_graph::{Backend, DType, Graph, GraphBuilder, Op, Plan, Tensor, TensorData};
use ocelli_nn::{NnError, Weights};

use crate::model::{step_graph, Evaluation, Model, Objective, StepKind, CLASSES, SIDE};
use crate::schedule::{flow_time, time_embedding, Schedule, Update, T_STEPS};

/// How samples are drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Method {
    /// DDPM's ancestral sampler over all 1000 steps (ε models).
    Ddpm,
    /// DDIM over any number of steps; `eta` 0 is deterministic, 1 as stochastic as DDPM (ε models).
    Ddim {
        /// Stochasticity η in [0, 1].
        eta: f32,
    },
    /// Euler steps of the flow ODE (velocity models).
    Euler,
    /// Heun's second-order steps, two evaluations each (velocity models).
    Heun,
}

impl Method {
    /// The objective the method needs.
    pub fn objective(self) -> Objective {
        match self {
            Method::Ddpm | Method::Ddim { .. } => Objective::Epsilon,
            Method::Euler | Method::Heun => Objective::Velocity,
        }
    }

    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Method::Ddpm => "ddpm",
            Method::Ddim { .. } => "ddim",
            Method::Euler => "euler",
            Method::Heun => "heun",
        }
    }

    /// Network evaluations per step.
    pub fn evaluations_per_step(self) -> usize {
        if self == Method::Heun {
            2
        } else {
            1
        }
    }
}

/// What to sample.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// One class (0..=9) per image: the batch size is its length.
    pub classes: Vec<usize>,
    /// The sampler.
    pub method: Method,
    /// Steps (1000 for [`Method::Ddpm`]).
    pub steps: usize,
    /// Classifier-free guidance scale w: `null + w·(cond − null)`; 0 is unconditional, 1 plainly
    /// conditional (both run one network pass per evaluation, any other w two).
    pub guidance: f32,
    /// Seed of every random draw (the initial noise and the stochastic samplers' noise).
    pub seed: u32,
    /// Read the images back after every this many steps for [`Progress::preview`] (0: never).
    pub preview_every: usize,
}

/// Where a sampling run is, passed to its callback after each step.
#[derive(Debug)]
pub struct Progress<'a> {
    /// Steps done (1 after the first).
    pub step: usize,
    /// Steps in all.
    pub steps: usize,
    /// The images after this step, `[B, 1, 28, 28]` in about [−1, 1], when this step is a
    /// preview step.
    pub preview: Option<&'a Tensor>,
}

/// A sampling run failed.
#[derive(Debug, thiserror::Error)]
pub enum DiffusionError {
    /// The weights are missing, corrupt or of the wrong shapes, or a graph could not be built.
    #[error(transparent)]
    Model(#[from] NnError),
    /// The request cannot be sampled (what is wrong is said).
    #[error("{0}")]
    Request(String),
    /// The callback stopped the run after this many steps.
    #[error("sampling cancelled after {0} steps")]
    Cancelled(usize),
    /// The backend could not compile or run a graph.
    #[error(transparent)]
    Backend(Box<dyn std::error::Error + Send + Sync>),
}

/// A generative model with its weights on one backend; plans are compiled once per sampler
/// kind, evaluation and batch size and reused.
pub struct Sampler<B: Backend> {
    model: Model,
    weights: Weights,
    backend: B,
    dtype: DType,
    schedule: Schedule,
    steps: HashMap<(StepKind, Evaluation, usize), B::Plan>,
    noise: HashMap<usize, B::Plan>,
}

impl<B: Backend> Sampler<B>
where
    B::Error: Send + Sync + 'static,
{
    /// `model` with `weights` on `backend`, the network in f32.
    pub fn new(model: Model, weights: Weights, backend: B) -> Self {
        let (steps, noise) = (HashMap::new(), HashMap::new());
        Sampler { model, weights, backend, dtype: DType::F32, schedule: Schedule::linear(), steps, noise }
    }

    /// `model` with its shipped weights.
    pub fn shipped(model: Model, backend: B) -> Result<Self, DiffusionError> {
        Ok(Self::new(model, Weights::shipped(model.name())?, backend))
    }

    /// The same sampler with the network's weights and activations in `dtype` (f32 or f16; the
    /// images between steps and the update stay f32).
    pub fn with_dtype(mut self, dtype: DType) -> Self {
        self.dtype = dtype;
        self.steps.clear();
        self
    }

    /// The model.
    pub fn model(&self) -> Model {
        self.model
    }

    /// The initial noise of a batch of `batch` images under `seed`: standard normal
    /// `[batch, 1, 28, 28]` from key (seed, 0). Image i's noise is the same in every batch size.
    pub fn noise(&mut self, batch: usize, seed: u32) -> Result<Tensor, DiffusionError> {
        let backend_err = |e: B::Error| DiffusionError::Backend(Box::new(e));
        if !self.noise.contains_key(&batch) {
            let plan = self.backend.compile(&noise_graph(batch)?).map_err(backend_err)?;
            self.noise.insert(batch, plan);
        }
        let plan = self.noise.get_mut(&batch).expect("inserted above");
        let mut out = plan.run(&[key(seed, 0)]).map_err(backend_err)?;
        Ok(out.remove(0))
    }

    /// Samples `request.classes.len()` images `[B, 1, 28, 28]` (data range [−1, 1]) from the
    /// seed's noise. `on_step` runs after every step; returning `Break` cancels the run.
    pub fn sample(
        &mut self,
        request: &Request,
        on_step: impl FnMut(Progress<'_>) -> ControlFlow<()>,
    ) -> Result<Tensor, DiffusionError> {
        self.check(request)?;
        let noise = self.noise(request.classes.len(), request.seed)?;
        self.sample_from(noise, request, on_step)
    }

    /// As [`Sampler::sample`], from the given initial noise `[B, 1, 28, 28]` (B = the number of
    /// classes), e.g. another framework's, to compare trajectories.
    pub fn sample_from(
        &mut self,
        noise: Tensor,
        request: &Request,
        mut on_step: impl FnMut(Progress<'_>) -> ControlFlow<()>,
    ) -> Result<Tensor, DiffusionError> {
        self.check(request)?;
        let batch = request.classes.len();
        if noise.dtype() != DType::F32 || noise.shape().dims() != [batch, 1, SIDE, SIDE] {
            let why = format!("the initial noise must be f32 [{batch}, 1, {SIDE}, {SIDE}], not {}", noise.shape());
            return Err(DiffusionError::Request(why));
        }
        let backend_err = |e: B::Error| DiffusionError::Backend(Box::new(e));
        let kind = if request.method == Method::Heun { StepKind::Heun } else { StepKind::Single };
        let evaluation = Evaluation::for_guidance(request.guidance);
        let plan_key = (kind, evaluation, batch);
        if !self.steps.contains_key(&plan_key) {
            let graph = step_graph(&self.weights, kind, evaluation, batch, self.dtype)?;
            let plan = self.backend.compile(&graph).map_err(backend_err)?;
            self.steps.insert(plan_key, plan);
        }
        let plan = self.steps.get_mut(&plan_key).expect("inserted above");
        let classes = evaluation.classes(&request.classes, request.guidance);
        let classes = Tensor::from_i32([classes.len()], classes).map_err(NnError::from)?;
        let mut first = Some((noise, classes));
        let steps = request.steps;
        for step in 0..steps {
            let (time, coefficients) = step_inputs(&self.schedule, request, step)?;
            let (x, classes) = match first.take() {
                Some((x, c)) => (Some(x), Some(c)),
                None => (None, None),
            };
            let mut inputs = vec![x, Some(time), classes, Some(coefficients)];
            if kind == StepKind::Single {
                inputs.push(Some(key(request.seed, step as u32 + 1)));
            }
            plan.advance(&inputs, &[(0, 0)]).map_err(backend_err)?;
            let previewing = request.preview_every > 0 && (step + 1) % request.preview_every == 0;
            let preview = if previewing || step + 1 == steps {
                Some(plan.outputs().map_err(backend_err)?.remove(0))
            } else {
                None
            };
            let progress = Progress { step: step + 1, steps, preview: preview.as_ref().filter(|_| previewing) };
            if on_step(progress).is_break() {
                return Err(DiffusionError::Cancelled(step + 1));
            }
            if step + 1 == steps {
                return Ok(preview.expect("read back after the last step"));
            }
        }
        unreachable!("check() rejects zero steps")
    }

    fn check(&self, request: &Request) -> Result<(), DiffusionError> {
        let bad = |why: String| Err(DiffusionError::Request(why));
        let batch = request.classes.len();
        if batch == 0 {
            return bad("no classes given: the batch is empty".into());
        }
        if let Some(c) = request.classes.iter().find(|&&c| c >= CLASSES) {
            return bad(format!("class {c}: the models know the digits 0 to 9"));
        }
        if request.method.objective() != self.model.objective() {
            let wants = match self.model.objective() {
                Objective::Epsilon => "ddpm or ddim",
                Objective::Velocity => "euler or heun",
            };
            return bad(format!("{} cannot sample {}: it takes {wants}", request.method.name(), self.model.name()));
        }
        if request.steps == 0 {
            return bad("steps must be at least 1".into());
        }
        if request.method == Method::Ddpm && request.steps != T_STEPS {
            return bad(format!("the DDPM ancestral sampler runs all {T_STEPS} steps, not {}", request.steps));
        }
        if request.steps > T_STEPS && request.method.objective() == Objective::Epsilon {
            return bad(format!("DDIM takes at most {T_STEPS} steps, not {}", request.steps));
        }
        if let Method::Ddim { eta } = request.method {
            if !(0.0..=1.0).contains(&eta) {
                return bad(format!("eta must lie in [0, 1], not {eta}"));
            }
        }
        if !request.guidance.is_finite() {
            return bad(format!("guidance must be finite, not {}", request.guidance));
        }
        Ok(())
    }
}

/// The time embedding and coefficients of step `step` (0 = the first, at the noisy end).
fn step_inputs(schedule: &Schedule, request: &Request, step: usize) -> Result<(Tensor, Tensor), DiffusionError> {
    let (steps, w) = (request.steps, request.guidance);
    let single = |u: Update| -> Result<(Tensor, Tensor), NnError> {
        Ok((embeddings(&[u.time])?, Tensor::from_f32([9], u.to_vec(w))?))
    };
    Ok(match request.method {
        Method::Ddpm => single(Update::ddpm(schedule, T_STEPS - 1 - step))?,
        Method::Ddim { eta } => single(Update::ddim(schedule, steps, steps - 1 - step, eta))?,
        Method::Euler => single(Update::euler(steps, step))?,
        Method::Heun => {
            let times = [flow_time(steps, step), flow_time(steps, step + 1)];
            let dt = (1.0 / steps as f64) as f32;
            (embeddings(&times)?, Tensor::from_f32([2], vec![dt, w]).map_err(NnError::from)?)
        }
    })
}

/// Time embeddings `[times.len(), 64]`.
fn embeddings(times: &[f32]) -> Result<Tensor, NnError> {
    let rows: Vec<f32> = times.iter().flat_map(|&t| time_embedding(t)).collect();
    Ok(Tensor::from_f32([times.len(), rows.len() / times.len()], rows)?)
}

/// The generator key (seed, stream).
fn key(seed: u32, stream: u32) -> Tensor {
    Tensor::new([2], TensorData::U32(vec![seed, stream])).expect("two words")
}

/// Standard normal noise `[batch, 1, 28, 28]` from a key input.
fn noise_graph(batch: usize) -> Result<Graph, NnError> {
    if batch == 0 {
        return Err(NnError::Spec("a sampler batch needs at least one image".into()));
    }
    let mut g = GraphBuilder::new();
    let key = g.input("key", [2], DType::U32)?;
    let z = g.op(Op::RandomNormal { shape: vec![batch, 1, SIDE, SIDE] }, &[key])?;
    Ok(g.build(&[z])?)
}
