//! `ocelli bench gemm|conv2d|nms`: median wall time of runs of a compiled plan (input upload,
//! kernels, readback; the device is synchronised inside the timed region because a run ends with
//! a blocking readback).

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use ocelli::{
    Backend, CompileOptions, Conv2d, CpuBackend, DType, F16Compute, Gpu, GpuBackend, GraphBuilder, Nms, Op, Overlap,
    Padding, Plan, Tensor,
};

/// Which backend to time.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum Which {
    /// The default adapter (honours WGPU_BACKEND).
    Gpu,
    /// The CPU reference.
    Cpu,
}

/// Options every benchmark takes.
#[derive(Args, Debug)]
pub struct Common {
    /// Backend to time.
    #[arg(long, value_enum, default_value = "gpu")]
    backend: Which,
    /// Timed runs (the median is reported; at least 1).
    #[arg(long, default_value_t = 5, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    runs: usize,
    /// Untimed runs first (pipeline compilation, buffer pool warm-up).
    #[arg(long, default_value_t = 1)]
    warmup: usize,
    /// Print one JSON object per line.
    #[arg(long)]
    json: bool,
    /// Element type of the kernel benchmarks' tensors (gemm, conv2d).
    #[arg(long, value_enum, default_value = "f32")]
    dtype: Precision,
    /// How f16 ops run on the GPU: f16 kernels where the adapter has shader-f16 (auto), always
    /// (native), or f32 kernels between casts (widened).
    #[arg(long, value_enum, default_value = "auto")]
    f16: F16Mode,
}

/// Element type of a kernel benchmark.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum Precision {
    /// 32-bit floats.
    F32,
    /// 16-bit floats (stored f16, computed f32).
    F16,
}

/// `--f16`: [`F16Compute`] on the command line.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum F16Mode {
    /// f16 kernels where the adapter has shader-f16.
    Auto,
    /// f16 kernels; an error without shader-f16.
    Native,
    /// f32 kernels between casts.
    Widened,
}

impl Common {
    fn dtype(&self) -> DType {
        match self.dtype {
            Precision::F32 => DType::F32,
            Precision::F16 => DType::F16,
        }
    }

    fn compile_options(&self) -> CompileOptions {
        let f16 = match self.f16 {
            F16Mode::Auto => F16Compute::Auto,
            F16Mode::Native => F16Compute::Native,
            F16Mode::Widened => F16Compute::Widened,
        };
        CompileOptions { f16, ..Default::default() }
    }
}

/// Kernels with a benchmark.
#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// y[M,N] = a[M,K] · b[K,N].
    Gemm {
        /// Rows of a and y.
        #[arg(long, default_value_t = 1024)]
        m: usize,
        /// Columns of b and y.
        #[arg(long, default_value_t = 1024)]
        n: usize,
        /// Inner dimension.
        #[arg(long, default_value_t = 1024)]
        k: usize,
        #[command(flatten)]
        common: Common,
    },
    /// NCHW conv2d with a [K, C, R, R] weight and bias.
    Conv2d {
        /// Batch.
        #[arg(long, default_value_t = 1)]
        n: usize,
        /// Input channels.
        #[arg(long, default_value_t = 64)]
        c: usize,
        /// Input height.
        #[arg(long, default_value_t = 56)]
        h: usize,
        /// Input width.
        #[arg(long, default_value_t = 56)]
        w: usize,
        /// Output channels.
        #[arg(long, default_value_t = 64)]
        k: usize,
        /// Kernel size.
        #[arg(long, default_value_t = 3)]
        r: usize,
        /// Stride.
        #[arg(long, default_value_t = 1)]
        stride: usize,
        /// Padding on every side.
        #[arg(long, default_value_t = 1)]
        pad: usize,
        /// Groups (C for a depthwise convolution with K = C).
        #[arg(long, default_value_t = 1)]
        groups: usize,
        #[command(flatten)]
        common: Common,
    },
    /// A whole model: images/s at a batch size, and the cold start.
    Model {
        /// Model name.
        #[arg(long, default_value = "mobilenet_v2")]
        model: String,
        /// Images per batch.
        #[arg(long, default_value_t = 1)]
        batch: usize,
        /// Classifier-free guidance of the diffusion models' sampler steps (0 and 1 run one
        /// network pass over the batch, any other scale one over twice the batch).
        #[arg(long, default_value_t = 3.0)]
        guidance: f32,
        #[command(flatten)]
        common: Common,
    },
    /// Non-maximum suppression over clustered random boxes (one batch).
    Nms {
        /// Boxes.
        #[arg(long, default_value_t = 20_000)]
        boxes: usize,
        /// Classes.
        #[arg(long, default_value_t = 1)]
        classes: usize,
        /// Boxes kept per class at most.
        #[arg(long, default_value_t = 200)]
        max_per_class: usize,
        /// IoU threshold.
        #[arg(long, default_value_t = 0.5)]
        iou: f32,
        #[command(flatten)]
        common: Common,
    },
}

/// Seeded f32 data in [−scale, scale), refused (before allocating) when it would pass the CPU
/// reference's per-tensor budget.
pub(crate) fn data_scaled(shape: &[usize], seed: u32, scale: f32) -> anyhow::Result<Tensor> {
    let bytes = shape.iter().try_fold(4u64, |n, &d| n.checked_mul(d as u64));
    match bytes {
        Some(b) if b <= CpuBackend::MAX_VALUE_BYTES => Ok(ocelli::builtin::data(shape, seed, scale)),
        _ => anyhow::bail!(
            "a benchmark input of shape {shape:?} needs more than {} bytes; choose smaller sizes",
            CpuBackend::MAX_VALUE_BYTES
        ),
    }
}

fn data(shape: &[usize], seed: u32) -> anyhow::Result<Tensor> {
    data_scaled(shape, seed, 1.0)
}

/// Seeded data of `dtype`.
fn typed(shape: &[usize], seed: u32, dtype: DType) -> anyhow::Result<Tensor> {
    Ok(CpuBackend::cast(&data(shape, seed)?, dtype))
}

pub fn run(cmd: BenchCommand) -> anyhow::Result<()> {
    if let BenchCommand::Model { model, batch, guidance, common } = &cmd {
        if let Some(detector) = ocelli::detect::Model::from_name(model) {
            return crate::detect::bench(detector, common.runs, common.backend, common.json);
        }
        if model == "ppocr" {
            return crate::ocr::bench(common.runs, common.backend, common.json);
        }
        if let Some(segmenter) = ocelli::segment::Model::from_name(model) {
            return crate::segment::bench(segmenter, common.runs, common.backend, common.json);
        }
        if ocelli::diffusion::Model::from_name(model).is_some() {
            let dtype = common.dtype();
            return crate::sample::bench(model, *batch, *guidance, common.runs, common.backend, dtype, common.json);
        }
        return crate::classify::bench_model(model, *batch, common.runs, common.backend, common.json);
    }
    let (op, shape, flops, graph, inputs, common) = match cmd {
        BenchCommand::Gemm { m, n, k, common } => {
            let dt = common.dtype();
            let mut g = GraphBuilder::new();
            let a = g.input("a", [m, k], dt)?;
            let b = g.input("b", [k, n], dt)?;
            let y = g.op(Op::MatMul { trans_a: false, trans_b: false }, &[a, b])?;
            let graph = g.build(&[y])?;
            let flops = 2.0 * (m * n * k) as f64;
            let inputs = vec![typed(&[m, k], 1, dt)?, typed(&[k, n], 2, dt)?];
            ("gemm", format!("{m}x{n}x{k}"), Some(flops), graph, inputs, common)
        }
        BenchCommand::Conv2d { n, c, h, w, k, r, stride, pad, groups, common } => {
            let dt = common.dtype();
            let cg = c / groups.max(1);
            let mut g = GraphBuilder::new();
            let x = g.input("x", [n, c, h, w], dt)?;
            let wt = g.input("w", [k, cg, r, r], dt)?;
            let b = g.input("b", [k], dt)?;
            let p =
                Conv2d { stride: [stride, stride], padding: Padding::Explicit([pad; 4]), groups, ..Default::default() };
            let y = g.op(Op::Conv2d(p), &[x, wt, b])?;
            let out = g.shape(y)?.clone();
            let graph = g.build(&[y])?;
            let flops = 2.0 * (out.numel() * cg * r * r) as f64;
            let inputs = vec![typed(&[n, c, h, w], 1, dt)?, typed(&[k, cg, r, r], 2, dt)?, typed(&[k], 3, dt)?];
            let shape = format!("n{n} c{c} {h}x{w} k{k} r{r} s{stride} p{pad} g{groups}");
            ("conv2d", shape, Some(flops), graph, inputs, common)
        }
        BenchCommand::Nms { boxes, classes, max_per_class, iou, common } => {
            let mut g = GraphBuilder::new();
            let b = g.input("boxes", [1, boxes, 4], DType::F32)?;
            let s = g.input("scores", [1, classes, boxes], DType::F32)?;
            let p = Nms {
                max_per_class,
                iou_threshold: iou,
                score_threshold: Some(0.05),
                center_point_box: false,
                class_agnostic: false,
                soft_sigma: None,
                overlap: Overlap::Iou,
            };
            let y = g.op(Op::NonMaxSuppression(p), &[b, s])?;
            let graph = g.build(&[y])?;
            // Boxes of side 4..20 around a 100x100 grid of centres, so clusters overlap.
            let u = data(&[boxes, 4], 5)?;
            let u = u.as_f32().expect("f32");
            let corners: Vec<f32> = u
                .chunks(4)
                .enumerate()
                .flat_map(|(i, v)| {
                    let (cy, cx) = (((i / 100) % 100) as f32 * 10.0, (i % 100) as f32 * 10.0);
                    let (y, x) = (cy + v[0] * 5.0, cx + v[1] * 5.0);
                    let (h, w) = (12.0 + v[2] * 8.0, 12.0 + v[3] * 8.0);
                    [y, x, y + h, x + w]
                })
                .collect();
            let scores = data(&[classes * boxes], 6)?.as_f32().expect("f32").iter().map(|v| (v + 1.0) / 2.0).collect();
            let inputs =
                vec![Tensor::from_f32([1, boxes, 4], corners)?, Tensor::from_f32([1, classes, boxes], scores)?];
            ("nms", format!("{boxes} boxes {classes} classes max {max_per_class}"), None, graph, inputs, common)
        }
        BenchCommand::Model { .. } => unreachable!("handled above"),
    };
    let (name, ms) = match common.backend {
        Which::Gpu => {
            let gpu = GpuBackend::new(Arc::new(Gpu::new()?));
            let mut plan = gpu.compile_with(&graph, common.compile_options()).context("compiling the graph")?;
            (gpu.name(), time(&mut plan, &inputs, &common)?)
        }
        Which::Cpu => {
            let mut plan = CpuBackend.compile(&graph).context("compiling the graph")?;
            ("cpu".to_string(), time(&mut plan, &inputs, &common)?)
        }
    };
    let dtype = format!("{:?}", common.dtype).to_lowercase();
    let gflops = flops.map(|f| f / (ms * 1e6));
    if common.json {
        let obj = serde_json::json!({
            "op": op, "shape": shape, "dtype": dtype, "backend": format!("{:?}", common.backend).to_lowercase(),
            "device": name, "ms": ms, "gflops": gflops, "runs": common.runs,
        });
        println!("{obj}");
    } else {
        let rate = gflops.map_or_else(String::new, |g| format!("{g:9.2} GFLOP/s"));
        println!("{op:7} {shape:28} {dtype} {name:48} {ms:10.3} ms {rate} (median of {})", common.runs);
    }
    Ok(())
}

/// Median milliseconds of `runs` timed runs of the compiled plan after `warmup` untimed ones.
fn time<P: Plan>(plan: &mut P, inputs: &[Tensor], common: &Common) -> anyhow::Result<f64>
where
    P::Error: std::error::Error + Send + Sync + 'static,
{
    for _ in 0..common.warmup {
        plan.run(inputs).context("warm-up run")?;
    }
    let mut times = Vec::with_capacity(common.runs.max(1));
    for _ in 0..common.runs.max(1) {
        let t = Instant::now();
        plan.run(inputs).context("timed run")?;
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
}
