//! `ocelli eval diffusion`: how often the shipped MNIST CNN reads generated digits as the class
//! asked for, and the Fréchet distance between the CNN's 128-d features of the samples and of
//! the MNIST test set (with the training images' own distance as the floor).

use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context};
use ocelli::classify::mnist;
use ocelli::diffusion::{frechet_distance, Gaussian, Sampler};
use ocelli::nn::Weights;
use ocelli::{Backend, CpuBackend, Gpu, GpuBackend, Plan, Tensor, TensorData};

use crate::bench::Which;
use crate::classify::assets;
use crate::sample::{unit_range, SamplingArgs};

/// Images per CNN run.
const CNN_BATCH: usize = 250;

/// Samples `count` digits (classes 0..9 in turn) in batches of `batch` and prints accuracy,
/// per-class accuracy and, with `fid`, the Fréchet distances.
pub fn eval(
    name: &str,
    backend: Which,
    s: &SamplingArgs,
    count: usize,
    batch: usize,
    fid: bool,
    json: bool,
) -> anyhow::Result<()> {
    if count == 0 || batch == 0 {
        bail!("--count and --batch must be at least 1");
    }
    match backend {
        Which::Gpu => eval_on(GpuBackend::new(Arc::new(Gpu::new()?)), name, s, count, batch, fid, json),
        Which::Cpu => eval_on(CpuBackend, name, s, count, batch, fid, json),
    }
}

fn eval_on<B: Backend + Clone>(
    backend: B,
    name: &str,
    s: &SamplingArgs,
    count: usize,
    batch: usize,
    fid: bool,
    json: bool,
) -> anyhow::Result<()>
where
    B::Error: Send + Sync + 'static,
{
    let (model, method, steps) = s.resolve(name)?;
    let mut sampler = Sampler::shipped(model, backend.clone())?.with_dtype(s.dtype());
    let mut judge = Judge::new(&backend)?;
    let classes: Vec<usize> = (0..count).map(|i| i % 10).collect();
    let (mut predicted, mut features) = (Vec::new(), Vec::new());
    let start = Instant::now();
    for (b, chunk) in classes.chunks(batch).enumerate() {
        let request = s.request(name, chunk.to_vec(), s.seed.wrapping_add(b as u32), 0)?;
        eprint!("batch {}/{}: ", b + 1, count.div_ceil(batch));
        let images = crate::sample::run(&mut sampler, &request, None)?;
        let (p, f) = judge.judge(&unit_range(&images))?;
        predicted.extend(p);
        features.extend(f);
    }
    let secs = start.elapsed().as_secs_f64();
    let hits = |k: Option<usize>| {
        let pairs = predicted.iter().zip(&classes).filter(|(_, &c)| k.is_none_or(|k| c == k));
        let (n, right) = pairs.fold((0, 0), |(n, r), (&p, &c)| (n + 1, r + usize::from(p == c)));
        right as f64 / n.max(1) as f64
    };
    let accuracy = hits(None);
    let per_class: Vec<f64> = (0..10).map(|k| hits(Some(k))).collect();
    let distances = if fid {
        let test = judge.dataset(mnist::Split::Test, 10_000)?;
        let train = judge.dataset(mnist::Split::Train, 10_000)?;
        let sampled = Gaussian::fit(&features, 128);
        Some((frechet_distance(&sampled, &test), frechet_distance(&train, &test)))
    } else {
        None
    };
    let sampler_name = method.name();
    if json {
        let v = serde_json::json!({
            "model": model.name(), "sampler": sampler_name, "steps": steps, "eta": s.eta, "guidance": s.guidance,
            "dtype": format!("{:?}", s.dtype).to_lowercase(), "count": count, "seed": s.seed, "accuracy": accuracy,
            "per_class": per_class, "frechet": distances.map(|d| d.0), "frechet_train_floor": distances.map(|d| d.1),
            "seconds": secs, "backend": backend.name(),
        });
        println!("{v}");
    } else {
        let per: Vec<String> = per_class.iter().map(|a| format!("{:.0}", 100.0 * a)).collect();
        println!(
            "{} {sampler_name}-{steps} guidance {}: {count} samples, {:.1}% read as the class asked (per class % {}), {secs:.0} s",
            model.name(),
            s.guidance,
            100.0 * accuracy,
            per.join(" ")
        );
        if let Some((d, floor)) = distances {
            println!("Fréchet distance to the MNIST test set in the CNN's features: {d:.3} (10 000 training images: {floor:.3})");
        }
    }
    Ok(())
}

/// The MNIST CNN as a judge: classes and penultimate features of [0, 1] images.
struct Judge<P> {
    plan: P,
}

impl<P: Plan> Judge<P>
where
    P::Error: std::error::Error + Send + Sync + 'static,
{
    fn new<B: Backend<Plan = P>>(backend: &B) -> anyhow::Result<Self>
    where
        B::Error: Send + Sync + 'static,
    {
        let weights = Weights::shipped(mnist::Classifier::Cnn.name())?;
        Ok(Judge { plan: backend.compile(&mnist::cnn_features_graph(&weights, CNN_BATCH)?)? })
    }

    /// Predicted classes and features `[n·128]` of flat 28×28 images.
    fn judge(&mut self, pixels: &[f32]) -> anyhow::Result<(Vec<usize>, Vec<f32>)> {
        let (mut classes, mut features) = (Vec::new(), Vec::new());
        for chunk in pixels.chunks(CNN_BATCH * 784) {
            let n = chunk.len() / 784;
            let mut data = chunk.to_vec();
            data.resize(CNN_BATCH * 784, 0.0);
            let out = self.plan.run(&[Tensor::from_f32([CNN_BATCH, 1, 28, 28], data)?])?;
            let TensorData::I32(c) = out[0].data() else { bail!("classes are i32") };
            classes.extend(c[..n].iter().map(|&c| c as usize));
            features.extend_from_slice(&out[1].as_f32().context("features are f32")?[..n * 128]);
        }
        Ok((classes, features))
    }

    /// The feature Gaussian of the first `n` images of a split.
    fn dataset(&mut self, split: mnist::Split, n: usize) -> anyhow::Result<Gaussian> {
        let (images, _) = mnist::load(&assets().join("mnist"), split)?;
        let pixels = images.as_f32().context("f32 images")?;
        let n = n.min(pixels.len() / 784);
        Ok(Gaussian::fit(&self.judge(&pixels[..n * 784])?.1, 128))
    }
}
