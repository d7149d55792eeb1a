//! `ocelli classify`, `ocelli demo` and `ocelli bench model`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context};
use clap::Args;
use ocelli::classify::{top_k, Model};
use ocelli::nn::Weights;
use ocelli::vision::{load_packed, PackedImage};
use ocelli::{Backend, CpuBackend, Gpu, GpuBackend, Plan};

use crate::bench::Which;
use crate::digits;

/// Where the shipped assets are: $OCELLI_ASSETS, else the repository's assets/.
pub fn assets() -> PathBuf {
    ocelli::nn::assets_dir()
}

/// `path` relative to the working directory when it lies below it (as a user would type it).
pub fn as_typed(path: PathBuf) -> PathBuf {
    let here = std::env::current_dir().ok().and_then(|d| d.canonicalize().ok());
    here.and_then(|d| path.strip_prefix(d).ok().map(Path::to_path_buf)).unwrap_or(path)
}

fn model(name: &str) -> anyhow::Result<(Model, Weights)> {
    let m = crate::inputs::pick(name, &Model::ALL, Model::name)?;
    Ok((m, Weights::shipped(name)?))
}

fn labels() -> anyhow::Result<Vec<String>> {
    let path = assets().join("imagenet_classes.txt");
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let names: Vec<String> = text.lines().map(str::to_string).collect();
    if names.len() != 1000 {
        bail!("{}: {} class names, ImageNet models need 1000 (one per line)", path.display(), names.len());
    }
    Ok(names)
}

/// Every model `ocelli classify` knows.
const MODELS: &str = "mobilenet_v2, efficientnet_lite0, mnist_cnn, mnist_linear, mnist_knn";

/// Arguments of `ocelli classify`.
#[derive(Args, Debug)]
pub struct ClassifyArgs {
    /// Images (PNG, JPEG, BMP, TIFF, PNM).
    #[arg(required = true)]
    images: Vec<PathBuf>,
    /// Model: mobilenet_v2, efficientnet_lite0, mnist_cnn, mnist_linear or mnist_knn.
    #[arg(long, default_value = "mobilenet_v2")]
    model: String,
    /// How many classes to show.
    #[arg(long, default_value_t = 5)]
    top: usize,
    /// Where to run.
    #[arg(long, value_enum, default_value = "gpu")]
    backend: Which,
    /// One JSON object per image.
    #[arg(long)]
    json: bool,
}

/// Runs `model` on every image and prints its top classes.
pub fn classify(a: ClassifyArgs) -> anyhow::Result<()> {
    if digits::is_mnist_model(&a.model) {
        let ranked = match a.backend {
            Which::Gpu => digits::classify_digits(&a.model, &a.images, a.top, &GpuBackend::new(Arc::new(Gpu::new()?)))?,
            Which::Cpu => digits::classify_digits(&a.model, &a.images, a.top, &CpuBackend)?,
        };
        let names: Vec<String> = (0..10).map(|d| d.to_string()).collect();
        for (path, top) in a.images.iter().zip(ranked) {
            print_top(&a, path, &top, &names);
        }
        return Ok(());
    }
    if Model::from_name(&a.model).is_none() {
        bail!("unknown model '{}' (available: {})", a.model, MODELS);
    }
    let (m, w) = model(&a.model)?;
    let names = labels()?;
    // Missing files fail before the GPU starts.
    for path in &a.images {
        std::fs::metadata(path).with_context(|| path.display().to_string())?;
    }
    let gpu = match a.backend {
        Which::Gpu => Some(GpuBackend::new(Arc::new(Gpu::new()?))),
        Which::Cpu => None,
    };
    for path in &a.images {
        let img = colour_image(path, gpu.as_ref())?;
        let graph = m.image_graph(&w, &img.layout)?;
        let out = match &gpu {
            Some(g) => g.run(&graph, &img.segments())?,
            None => CpuBackend.run(&graph, &img.segments())?,
        };
        print_top(&a, path, &top_k(&out[1], a.top), &names);
    }
    Ok(())
}

/// One image's top classes as text or one JSON line.
fn print_top(a: &ClassifyArgs, path: &Path, top: &[(usize, f32)], names: &[String]) {
    if a.json {
        let top: Vec<_> =
            top.iter().map(|&(i, p)| serde_json::json!({"index": i, "label": names[i], "score": p})).collect();
        println!("{}", serde_json::json!({"image": path.display().to_string(), "model": a.model, "top": top}));
    } else {
        println!("{}:", path.display());
        for &(i, p) in top {
            println!("  {p:7.4}  {i:4}  {}", names[i]);
        }
    }
}

/// Arguments of `ocelli embed`.
#[derive(Args, Debug)]
pub struct EmbedArgs {
    /// Images (PNG, JPEG, BMP, TIFF, PNM).
    #[arg(required = true)]
    images: Vec<PathBuf>,
    /// Model.
    #[arg(long, default_value = "mobilenet_v2")]
    model: String,
    /// Where to run.
    #[arg(long, value_enum, default_value = "gpu")]
    backend: Which,
    /// Output safetensors file: `embeddings` [images, 1280] f32, image paths in the metadata.
    #[arg(short, long)]
    output: PathBuf,
}

/// Writes the last hidden layer's activations (the pooled features before the classifier) of
/// every image.
pub fn embed(a: EmbedArgs) -> anyhow::Result<()> {
    let (m, w) = model(&a.model)?;
    let gpu = match a.backend {
        Which::Gpu => Some(GpuBackend::new(Arc::new(Gpu::new()?))),
        Which::Cpu => None,
    };
    let mut rows: Vec<f32> = Vec::new();
    let mut width = 0;
    for path in &a.images {
        let img = colour_image(path, gpu.as_ref())?;
        let graph = m.image_graph(&w, &img.layout)?;
        let out = match &gpu {
            Some(g) => g.run(&graph, &img.segments())?,
            None => CpuBackend.run(&graph, &img.segments())?,
        };
        width = out[2].shape().dims()[1];
        rows.extend(out[2].as_f32().context("embeddings are f32")?);
    }
    let bytes: Vec<u8> = rows.iter().flat_map(|v| v.to_le_bytes()).collect();
    let view = safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![a.images.len(), width], &bytes)?;
    let paths: Vec<String> = a.images.iter().map(|p| p.display().to_string()).collect();
    let meta = std::collections::HashMap::from([
        ("model".to_string(), a.model.clone()),
        ("images".to_string(), serde_json::to_string(&paths)?),
    ]);
    safetensors::tensor::serialize_to_file([("embeddings", view)], Some(meta), &a.output)?;
    println!("{} embeddings of width {width} ({}) -> {}", a.images.len(), a.model, a.output.display());
    Ok(())
}

/// The RGB or RGBA image at `path` as packed samples in segments that fit `gpu`'s bindings; a
/// grey one is an error.
fn colour_image(path: &Path, gpu: Option<&GpuBackend>) -> anyhow::Result<PackedImage> {
    let mut img = load_packed(path)?;
    img.layout = img.layout.within(gpu.and_then(Backend::max_binding_bytes));
    if img.layout.channels < 3 {
        bail!("{}: a colour image is needed", path.display());
    }
    Ok(img)
}

/// `ocelli demo`: MobileNetV2, then the detectors, on the shipped photos, on the GPU.
pub fn demo() -> anyhow::Result<()> {
    let images = crate::detect::shipped_photos()?;
    println!("MobileNetV2 (ImageNet) on the {} shipped photos, on the GPU:", images.len());
    classify(ClassifyArgs { images, model: "mobilenet_v2".into(), top: 3, backend: Which::Gpu, json: false })?;
    crate::detect::demo()?;
    crate::segment::demo()?;
    crate::ocr::demo()?;
    crate::sample::demo()
}

/// The graph of model `name` for `batch` images and a seeded input batch for it.
pub fn model_graph(name: &str, batch: usize) -> anyhow::Result<(ocelli::Graph, ocelli::Tensor)> {
    let (m, w) = model(name)?;
    let input = crate::bench::data_scaled(&[batch, 3, 224, 224], 9, 2.0)?;
    Ok((m.batch_graph(&w, batch)?, input))
}

/// Images per second of `model` at batch `batch` on the chosen backend, and its cold start.
pub fn bench_model(model_name: &str, batch: usize, runs: usize, backend: Which, json: bool) -> anyhow::Result<()> {
    let (graph, input) = model_graph(model_name, batch)?;
    let start = Instant::now();
    let (name, mut times) = match backend {
        Which::Gpu => {
            let gpu = GpuBackend::new(Arc::new(Gpu::new()?));
            let mut plan = gpu.compile(&graph)?;
            plan.run(std::slice::from_ref(&input))?;
            let cold = start.elapsed().as_secs_f64();
            (gpu.name(), timed(runs, cold, || Ok(plan.run(std::slice::from_ref(&input)).map(|_| ())?))?)
        }
        Which::Cpu => {
            let mut plan = CpuBackend.compile(&graph)?;
            plan.run(std::slice::from_ref(&input))?;
            let cold = start.elapsed().as_secs_f64();
            ("cpu".to_string(), timed(runs, cold, || Ok(plan.run(std::slice::from_ref(&input)).map(|_| ())?))?)
        }
    };
    let cold = times.remove(0);
    times.sort_by(f64::total_cmp);
    let ms = times[times.len() / 2] * 1e3;
    let ips = batch as f64 / (ms / 1e3);
    if json {
        println!(
            "{}",
            serde_json::json!({"op": "model", "model": model_name, "batch": batch, "backend": format!("{backend:?}").to_lowercase(), "device": name, "ms": ms, "images_per_s": ips, "cold_start_s": cold})
        );
    } else {
        println!("{model_name} batch {batch} on {name}: {ms:.1} ms per batch, {ips:.2} images/s; cold start (compile + first run) {cold:.2} s");
    }
    Ok(())
}

/// The cold-start time followed by `runs` timed runs, in seconds.
fn timed(runs: usize, cold: f64, mut f: impl FnMut() -> anyhow::Result<()>) -> anyhow::Result<Vec<f64>> {
    let mut t = vec![cold];
    for _ in 0..runs.max(1) {
        let s = Instant::now();
        f()?;
        t.push(s.elapsed().as_secs_f64());
    }
    Ok(t)
}
