//! `ocelli eval mnist`: accuracy on the 10 000 MNIST test images and images/s.

use std::sync::Arc;
use std::time::Instant;

use anyhow::bail;
use clap::Args;
use ocelli::classify::mnist;
use ocelli::nn::Weights;
use ocelli::{Backend, CpuBackend, Gpu, GpuBackend, Plan, Tensor, TensorData};

use crate::bench::Which;
use crate::classify::assets;

/// A compiled plan on either backend.
type Runner = Box<dyn FnMut(&[Tensor]) -> anyhow::Result<Vec<Tensor>>>;

/// Arguments of `ocelli eval mnist`.
#[derive(Args, Debug)]
pub struct EvalArgs {
    /// Dataset: mnist (classifiers, autoencoders) or diffusion (generated digits).
    dataset: String,
    /// Model: mnist_cnn, mnist_linear, mnist_knn, ae_mnist, dae_mnist (mnist); ddpm_mnist, flow_mnist (diffusion).
    #[arg(long, default_value = "mnist_linear")]
    model: String,
    /// Neighbours for mnist_knn.
    #[arg(long, default_value_t = 3)]
    k: usize,
    /// Distance for mnist_knn: l1 or l2.
    #[arg(long, default_value = "l2")]
    metric: String,
    /// Evaluate only the first N test images (at least 1).
    #[arg(long, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    limit: Option<usize>,
    /// Images per run (default: 1000 test images; 100 generated samples; 500 images for the
    /// autoencoders).
    #[arg(long, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    batch: Option<usize>,
    /// Where to run.
    #[arg(long, value_enum, default_value = "gpu")]
    backend: Which,
    /// One JSON object.
    #[arg(long)]
    json: bool,
    /// Generated samples to judge (`eval diffusion`; classes 0..9 in turn).
    #[arg(long, default_value_t = 1000)]
    count: usize,
    /// Also the Fréchet distance to the MNIST test set in the CNN's features (`eval diffusion`).
    #[arg(long)]
    fid: bool,
    /// Noise σ for dae_mnist (`eval mnist`).
    #[arg(long, default_value_t = 0.5)]
    noise: f32,
    #[command(flatten)]
    sampling: crate::sample::SamplingArgs,
}

/// Most images per CNN run: its im2col scratch (batch × 196 × 288 floats) stays under 128 MiB.
const CNN_BATCH: usize = 250;

/// Runs the model over the test set in batches and prints accuracy and throughput (or, for
/// `diffusion`, judges generated samples; for the autoencoders, reconstruction PSNR).
pub fn eval(a: EvalArgs) -> anyhow::Result<()> {
    if a.dataset == "diffusion" {
        let batch = a.batch.unwrap_or(100);
        return crate::eval_diffusion::eval(&a.model, a.backend, &a.sampling, a.count, batch, a.fid, a.json);
    }
    if a.dataset != "mnist" {
        bail!("unknown dataset '{}' (available: mnist, diffusion)", a.dataset);
    }
    if a.model.starts_with("ae_") || a.model.starts_with("dae_") {
        return crate::autoencode::eval_psnr(&a.model, a.noise, a.limit, a.batch.unwrap_or(500), a.backend, a.json);
    }
    let metric = match a.metric.as_str() {
        "l1" => mnist::Metric::L1,
        "l2" => mnist::Metric::L2,
        other => bail!("unknown distance '{other}' (l1 or l2)"),
    };
    let classifier = mnist::Classifier::from_name(&a.model);
    let knn = a.model == "mnist_knn";
    if classifier.is_none() && !knn {
        bail!("unknown MNIST model '{}' (available: mnist_cnn, mnist_linear, mnist_knn)", a.model);
    }
    let (images, labels) = mnist::load(&assets().join("mnist"), mnist::Split::Test)?;
    let n = a.limit.unwrap_or(labels.len()).min(labels.len());
    let gpu = match a.backend {
        Which::Gpu => Some(GpuBackend::new(Arc::new(Gpu::new()?))),
        Which::Cpu => None,
    };
    // kNN's training chunks and distance matrices follow the device's binding limit.
    let limit = gpu.as_ref().and_then(Backend::max_binding_bytes);
    let chunk = mnist::knn_chunk(limit);
    let cap = match (knn, classifier) {
        (true, _) => mnist::knn_batch(limit, chunk),
        (false, Some(mnist::Classifier::Cnn)) => CNN_BATCH,
        _ => usize::MAX,
    };
    let batch = a.batch.unwrap_or(1000).clamp(1, n.max(1)).min(cap);
    let (graph, train_labels) = if knn {
        let (train, train_labels) = mnist::load(&assets().join("mnist"), mnist::Split::Train)?;
        (mnist::knn_graph(&train, batch, a.k, metric, chunk)?, train_labels)
    } else {
        let weights = Weights::shipped(&a.model)?;
        (classifier.expect("checked above").batch_graph(&weights, batch)?, Vec::new())
    };
    let mut plan: Runner = match gpu {
        Some(gpu) => {
            let mut p = gpu.compile(&graph)?;
            Box::new(move |x| Ok(p.run(x)?))
        }
        None => {
            let mut p = CpuBackend.compile(&graph)?;
            Box::new(move |x| Ok(p.run(x)?))
        }
    };
    let pixels = images.as_f32().expect("images are f32");
    let per = 28 * 28;
    let (mut correct, mut seen) = (0usize, 0usize);
    let start = Instant::now();
    while seen < n {
        // The last batch is padded by repeating images; only the first `take` count.
        let take = batch.min(n - seen);
        let mut data: Vec<f32> = pixels[seen * per..(seen + take) * per].to_vec();
        data.resize(batch * per, 0.0);
        let out = plan(&[Tensor::from_f32([batch, 1, 28, 28], data)?])?;
        let pred: Vec<u8> = if knn {
            mnist::knn_neighbours(&out, a.k, chunk).iter().map(|nb| mnist::vote(nb, &train_labels)).collect()
        } else {
            let TensorData::I32(p) = out[1].data() else { bail!("predictions are i32") };
            p.iter().map(|&c| c as u8).collect()
        };
        correct += pred[..take].iter().zip(&labels[seen..seen + take]).filter(|(p, l)| p == l).count();
        seen += take;
    }
    let secs = start.elapsed().as_secs_f64();
    let accuracy = correct as f64 / n as f64;
    let ips = n as f64 / secs;
    if a.json {
        println!(
            "{}",
            serde_json::json!({"dataset": "mnist", "model": a.model, "images": n, "accuracy": accuracy, "images_per_s": ips, "backend": format!("{:?}", a.backend).to_lowercase()})
        );
    } else {
        println!("{} on {n} MNIST test images: accuracy {:.2}%, {ips:.0} images/s", a.model, 100.0 * accuracy);
    }
    Ok(())
}
