//! `ocelli sample`: a thin layer over [`ocelli::diffusion::Sampler`]: a progress bar, a grid
//! PNG, one PNG per sample, the trajectory as frames.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use ocelli::diffusion::{Evaluation, Method, Model, Request, Sampler, SIDE};
use ocelli::vision::save_image;
use ocelli::{Backend, CpuBackend, DType, Gpu, GpuBackend, Tensor};

use crate::bench::Which;
use crate::progress::Bar;

/// Sampler names on the command line.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum SamplerName {
    /// DDPM ancestral, 1000 steps (ddpm_mnist).
    Ddpm,
    /// DDIM, any step count (ddpm_mnist).
    Ddim,
    /// Euler ODE steps (flow_mnist).
    Euler,
    /// Heun ODE steps, two evaluations each (flow_mnist).
    Heun,
}

/// Network precision.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum NetDtype {
    /// f32 weights and activations.
    F32,
    /// f16 weights and activations (f16 kernels where the adapter has shader-f16).
    F16,
}

/// How to sample, shared by `ocelli sample`, `ocelli eval diffusion` and the benchmark.
#[derive(Args, Debug, Clone)]
pub struct SamplingArgs {
    /// Sampler (default: ddim for ddpm_mnist, euler for flow_mnist).
    #[arg(long, value_enum)]
    pub sampler: Option<SamplerName>,
    /// Steps (default: 1000 for ddpm, 50 for ddim, 20 for euler and heun).
    #[arg(long)]
    pub steps: Option<usize>,
    /// DDIM's stochasticity η in [0, 1].
    #[arg(long, default_value_t = 0.0)]
    pub eta: f32,
    /// Classifier-free guidance scale (0: unconditional, 1: conditional).
    #[arg(long, default_value_t = 3.0)]
    pub guidance: f32,
    /// Seed of the initial noise and of the samplers' noise.
    #[arg(long, default_value_t = 0)]
    pub seed: u32,
    /// Network precision of the generative models.
    #[arg(long, value_enum, default_value = "f32")]
    pub dtype: NetDtype,
}

impl SamplingArgs {
    /// The model `name`, and the sampler and steps these arguments give it.
    pub fn resolve(&self, name: &str) -> anyhow::Result<(Model, Method, usize)> {
        let Some(model) = Model::from_name(name) else {
            let names: Vec<&str> = Model::ALL.iter().map(|m| m.name()).collect();
            bail!("unknown generative model '{name}' (available: {})", names.join(", "));
        };
        let name = self.sampler.unwrap_or(match model {
            Model::DdpmMnist => SamplerName::Ddim,
            Model::FlowMnist => SamplerName::Euler,
        });
        let method = match name {
            SamplerName::Ddpm => Method::Ddpm,
            SamplerName::Ddim => Method::Ddim { eta: self.eta },
            SamplerName::Euler => Method::Euler,
            SamplerName::Heun => Method::Heun,
        };
        let steps = self.steps.unwrap_or(match name {
            SamplerName::Ddpm => 1000,
            SamplerName::Ddim => 50,
            SamplerName::Euler | SamplerName::Heun => 20,
        });
        Ok((model, method, steps))
    }

    /// The request for `classes` of model `name` under these arguments.
    pub fn request(&self, name: &str, classes: Vec<usize>, seed: u32, preview_every: usize) -> anyhow::Result<Request> {
        let (_, method, steps) = self.resolve(name)?;
        Ok(Request { classes, method, steps, guidance: self.guidance, seed, preview_every })
    }

    /// The network's dtype.
    pub fn dtype(&self) -> DType {
        match self.dtype {
            NetDtype::F32 => DType::F32,
            NetDtype::F16 => DType::F16,
        }
    }
}

/// Arguments of `ocelli sample`.
#[derive(Args, Debug)]
pub struct SampleArgs {
    /// Model: ddpm_mnist or flow_mnist.
    #[arg(long, default_value = "ddpm_mnist")]
    pub model: String,
    /// Where to run.
    #[arg(long, value_enum, default_value = "gpu")]
    pub backend: Which,
    #[command(flatten)]
    pub sampling: SamplingArgs,
    /// The digit to draw (default: 0 to 9 in turn).
    #[arg(long, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(0..10))]
    pub class: Option<usize>,
    /// Samples (one batch).
    #[arg(long, default_value_t = 64, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=4096))]
    pub count: usize,
    /// Write the samples as one grid PNG.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Write each sample as DIR/NNNN_classC.png.
    #[arg(long)]
    pub out_dir: Option<PathBuf>,
    /// Write the grid after every step as DIR/frame_NNNN.png (the trajectory from noise).
    #[arg(long)]
    pub frames: Option<PathBuf>,
}

/// Samples one batch and writes what was asked for.
pub fn sample(a: SampleArgs) -> anyhow::Result<()> {
    let (model, ..) = a.sampling.resolve(&a.model)?;
    let classes: Vec<usize> = (0..a.count).map(|i| a.class.unwrap_or(i % 10)).collect();
    let request = a.sampling.request(&a.model, classes, a.sampling.seed, usize::from(a.frames.is_some()))?;
    for dir in [&a.out_dir, &a.frames].into_iter().flatten() {
        std::fs::create_dir_all(dir).with_context(|| dir.display().to_string())?;
    }
    let images = match a.backend {
        Which::Gpu => {
            let gpu = GpuBackend::new(Arc::new(Gpu::new()?));
            run(&mut Sampler::shipped(model, gpu)?.with_dtype(a.sampling.dtype()), &request, a.frames.as_deref())?
        }
        Which::Cpu => {
            let mut sampler = Sampler::shipped(model, CpuBackend)?.with_dtype(a.sampling.dtype());
            run(&mut sampler, &request, a.frames.as_deref())?
        }
    };
    if let Some(path) = &a.output {
        save_image(&grid(&images)?, path, false).with_context(|| path.display().to_string())?;
        println!("wrote {} samples of {} to {}", a.count, model.name(), path.display());
    }
    if let Some(dir) = &a.out_dir {
        let pixels = unit_range(&images);
        for (i, (img, class)) in pixels.chunks(SIDE * SIDE).zip(&request.classes).enumerate() {
            let path = dir.join(format!("{i:04}_class{class}.png"));
            save_image(&Tensor::from_f32([1, 1, SIDE, SIDE], img.to_vec())?, &path, false)?;
        }
        println!("wrote {} PNGs to {}", a.count, dir.display());
    }
    if a.output.is_none() && a.out_dir.is_none() && a.frames.is_none() {
        println!("sampled {} images of {} (use -o, --out-dir or --frames to write them)", a.count, model.name());
    }
    Ok(())
}

/// Runs one request with a progress bar, writing frames when asked.
pub fn run<B: Backend>(sampler: &mut Sampler<B>, request: &Request, frames: Option<&Path>) -> anyhow::Result<Tensor>
where
    B::Error: Send + Sync + 'static,
{
    let label = format!("{} {} ×{}", sampler.model().name(), request.method.name(), request.classes.len());
    let bar = Bar::new(label, request.steps);
    let mut failed = None;
    let images = sampler.sample(request, |p| {
        bar.set(p.step);
        if let (Some(dir), Some(x)) = (frames, p.preview) {
            let path = dir.join(format!("frame_{:04}.png", p.step));
            if let Err(e) = grid(x).and_then(|g| Ok(save_image(&g, &path, false)?)) {
                failed = Some(e.context(path.display().to_string()));
                return ControlFlow::Break(());
            }
        }
        ControlFlow::Continue(())
    });
    if let Some(e) = failed {
        return Err(e);
    }
    Ok(images?)
}

/// Samples in [−1, 1] as pixels in [0, 1].
pub fn unit_range(images: &Tensor) -> Vec<f32> {
    images.as_f32().expect("samples are f32").iter().map(|v| ((v + 1.0) / 2.0).clamp(0.0, 1.0)).collect()
}

/// The batch tiled row by row, ⌈√B⌉ columns, 2-pixel grey gaps: `[1, 1, H, W]`.
pub fn grid(images: &Tensor) -> anyhow::Result<Tensor> {
    let n = images.shape().dims()[0];
    let cols = (1..=n).find(|c| c * c >= n).unwrap_or(1);
    let rows = n.div_ceil(cols);
    let (gap, cell) = (2, SIDE + 2);
    let (h, w) = (rows * cell + gap, cols * cell + gap);
    let mut out = vec![0.5f32; h * w];
    for (i, img) in unit_range(images).chunks(SIDE * SIDE).enumerate() {
        let (y0, x0) = (gap + (i / cols) * cell, gap + (i % cols) * cell);
        for y in 0..SIDE {
            out[(y0 + y) * w + x0..][..SIDE].copy_from_slice(&img[y * SIDE..][..SIDE]);
        }
    }
    Ok(Tensor::from_f32([1, 1, h, w], out)?)
}

/// `ocelli bench model --model ddpm_mnist|flow_mnist`: ms per sampler step (one guided
/// network evaluation: a network batch of 2·`batch`) at `batch` images, from sampling runs of
/// `STEPS` DDIM or Euler steps after a warm-up run; the median of `runs`.
pub fn bench(
    name: &str,
    batch: usize,
    guidance: f32,
    runs: usize,
    backend: Which,
    dtype: DType,
    json: bool,
) -> anyhow::Result<()> {
    const STEPS: usize = 5;
    let args = SamplingArgs { sampler: None, steps: Some(STEPS), eta: 0.0, guidance, seed: 0, dtype: NetDtype::F32 };
    let request = args.request(name, (0..batch).map(|i| i % 10).collect(), 0, 0)?;
    let (model, ..) = args.resolve(name)?;
    let (device, mut times) = match backend {
        Which::Gpu => {
            let gpu = GpuBackend::new(Arc::new(Gpu::new()?));
            (gpu.name(), time_steps(Sampler::shipped(model, gpu)?.with_dtype(dtype), &request, runs)?)
        }
        Which::Cpu => {
            ("cpu".to_string(), time_steps(Sampler::shipped(model, CpuBackend)?.with_dtype(dtype), &request, runs)?)
        }
    };
    times.sort_by(f64::total_cmp);
    let ms = times[times.len() / 2] * 1e3 / STEPS as f64;
    let network_batch = Evaluation::for_guidance(guidance).passes() * batch;
    let dt = format!("{dtype:?}").to_lowercase();
    if json {
        let v = serde_json::json!({"op": "model", "model": name, "batch": batch, "guidance": guidance, "network_batch": network_batch, "dtype": dt, "backend": format!("{backend:?}").to_lowercase(), "device": device, "ms_per_step": ms, "images_steps_per_s": batch as f64 * 1e3 / ms});
        println!("{v}");
    } else {
        println!("{name} batch {batch} ({dt}) on {device}: {ms:.1} ms per sampler step (guidance {guidance}: network batch {network_batch}), median of {runs}");
    }
    Ok(())
}

fn time_steps<B: Backend>(mut sampler: Sampler<B>, request: &Request, runs: usize) -> anyhow::Result<Vec<f64>>
where
    B::Error: Send + Sync + 'static,
{
    sampler.sample(request, |_| ControlFlow::Continue(()))?; // compiles, warms the pipelines
    (0..runs.max(1))
        .map(|_| {
            let t = std::time::Instant::now();
            sampler.sample(request, |_| ControlFlow::Continue(()))?;
            Ok(t.elapsed().as_secs_f64())
        })
        .collect()
}

/// The demo's generative part: one digit of each class from the flow-matching model.
pub fn demo() -> anyhow::Result<()> {
    let path = std::env::temp_dir().join("ocelli-demo").join("flow_mnist_grid.png");
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    println!("\nflow_mnist: digits 0 to 9 drawn from noise in 20 Euler steps with guidance 3, on the GPU:");
    let sampling = SamplingArgs::default_for_bench();
    let args = SampleArgs {
        model: "flow_mnist".into(),
        backend: Which::Gpu,
        sampling,
        class: None,
        count: 10,
        output: Some(path),
        out_dir: None,
        frames: None,
    };
    sample(args)
}

/// One DDIM (ddpm_mnist) or Euler (flow_mnist) step graph for `batch` images with inputs for
/// its first step, for `ocelli profile`.
pub fn step_inputs(name: &str, batch: usize) -> anyhow::Result<(ocelli::Graph, Vec<Tensor>)> {
    use ocelli::diffusion::{step_graph, time_embedding, Schedule, StepKind, Update};
    let (model, ..) = SamplingArgs::default_for_bench().resolve(name)?;
    let weights = ocelli::nn::Weights::shipped(name)?;
    let graph = step_graph(&weights, StepKind::Single, Evaluation::Guided, batch, DType::F32)?;
    let update = match model {
        Model::DdpmMnist => Update::ddim(&Schedule::linear(), 50, 49, 0.0),
        Model::FlowMnist => Update::euler(20, 0),
    };
    let digits: Vec<usize> = (0..batch).map(|i| i % 10).collect();
    let classes = Evaluation::Guided.classes(&digits, 3.0);
    let noise = crate::bench::data_scaled(&[batch, 1, SIDE, SIDE], 3, 2.0)?;
    let inputs = vec![
        noise,
        Tensor::from_f32([1, 64], time_embedding(update.time))?,
        Tensor::from_i32([2 * batch], classes)?,
        Tensor::from_f32([9], update.to_vec(3.0))?,
        Tensor::new([2], ocelli::TensorData::U32(vec![0, 1]))?,
    ];
    Ok((graph, inputs))
}

impl SamplingArgs {
    /// The defaults of the command line (guidance 3, the model's default sampler and steps).
    fn default_for_bench() -> Self {
        SamplingArgs { sampler: None, steps: None, eta: 0.0, guidance: 3.0, seed: 0, dtype: NetDtype::F32 }
    }
}
