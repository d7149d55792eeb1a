//! `ocelli autoencode` (input, noisy input and reconstruction of digit images as one grid) and
//! `ocelli eval mnist --model ae_mnist|dae_mnist` (reconstruction PSNR on the test set).

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::Args;
use ocelli::classify::mnist;
use ocelli::diffusion::{mean_psnr, AeModel, Autoencoder};
use ocelli::vision::save_image;
use ocelli::{Backend, CpuBackend, Gpu, GpuBackend, Tensor};

use crate::bench::Which;
use crate::classify::assets;
use crate::progress::Bar;

/// Arguments of `ocelli autoencode`.
#[derive(Args, Debug)]
pub struct AutoencodeArgs {
    /// Digit images (any size; light backgrounds are inverted to MNIST's white on black).
    #[arg(required = true)]
    pub images: Vec<PathBuf>,
    /// Model: ae_mnist or dae_mnist.
    #[arg(long, default_value = "dae_mnist")]
    pub model: String,
    /// Gaussian noise σ added (then clipped to [0, 1]) before encoding.
    #[arg(long, default_value_t = 0.5)]
    pub noise: f32,
    /// Seed of the noise.
    #[arg(long, default_value_t = 0)]
    pub seed: u32,
    /// Where to run.
    #[arg(long, value_enum, default_value = "gpu")]
    pub backend: Which,
    /// The grid to write: one row per image (input, noisy input, reconstruction).
    #[arg(short, long, required = true)]
    pub output: PathBuf,
}

fn model(name: &str) -> anyhow::Result<AeModel> {
    AeModel::from_name(name).with_context(|| format!("unknown autoencoder '{name}' (available: ae_mnist, dae_mnist)"))
}

/// Reconstructs the images and writes the comparison grid.
pub fn autoencode(a: AutoencodeArgs) -> anyhow::Result<()> {
    let m = model(&a.model)?;
    for path in &a.images {
        std::fs::metadata(path).with_context(|| path.display().to_string())?;
    }
    match a.backend {
        Which::Gpu => write_grid(Autoencoder::shipped(m, GpuBackend::new(Arc::new(Gpu::new()?)))?, &a),
        Which::Cpu => write_grid(Autoencoder::shipped(m, CpuBackend)?, &a),
    }
}

fn write_grid<B: Backend>(mut ae: Autoencoder<B>, a: &AutoencodeArgs) -> anyhow::Result<()>
where
    B::Error: Send + Sync + 'static,
{
    let backend_digits = crate::digits::load_digits(&a.images, &CpuBackend)?;
    let n = a.images.len();
    let clean = Tensor::from_f32([n, 1, 28, 28], backend_digits)?;
    let r = ae.run(&clean, a.noise, a.seed, 0)?;
    // Rows of three 28×28 tiles with 2-pixel gaps.
    let (cell, gap) = (30, 2);
    let (h, w) = (n * cell + gap, 3 * cell + gap);
    let mut out = vec![0.5f32; h * w];
    for (col, t) in [&clean, &r.noisy, &r.output].into_iter().enumerate() {
        for (row, img) in t.as_f32().context("f32 images")?.chunks(784).enumerate() {
            for y in 0..28 {
                let at = (gap + row * cell + y) * w + gap + col * cell;
                out[at..at + 28].copy_from_slice(&img[y * 28..][..28]);
            }
        }
    }
    save_image(&Tensor::from_f32([1, 1, h, w], out)?, &a.output, false)?;
    let psnr = mean_psnr(r.output.as_f32().context("f32")?, clean.as_f32().context("f32")?, 784);
    println!(
        "{}: {n} images, noise σ {}; mean PSNR of the reconstruction against the input {psnr:.2} dB; wrote {}",
        a.model,
        a.noise,
        a.output.display()
    );
    Ok(())
}

/// Test-set PSNR of an autoencoder: of its reconstruction of clean images (ae_mnist), or of its
/// output and of the noisy input at σ (dae_mnist), against the clean images.
pub fn eval_psnr(
    name: &str,
    sigma: f32,
    limit: Option<usize>,
    batch: usize,
    backend: Which,
    json: bool,
) -> anyhow::Result<()> {
    let m = model(name)?;
    let sigma = if m == AeModel::Ae { 0.0 } else { sigma };
    match backend {
        Which::Gpu => {
            eval_on(Autoencoder::shipped(m, GpuBackend::new(Arc::new(Gpu::new()?)))?, name, sigma, limit, batch, json)
        }
        Which::Cpu => eval_on(Autoencoder::shipped(m, CpuBackend)?, name, sigma, limit, batch, json),
    }
}

fn eval_on<B: Backend>(
    mut ae: Autoencoder<B>,
    name: &str,
    sigma: f32,
    limit: Option<usize>,
    batch: usize,
    json: bool,
) -> anyhow::Result<()>
where
    B::Error: Send + Sync + 'static,
{
    let (images, _) = mnist::load(&assets().join("mnist"), mnist::Split::Test)?;
    let pixels = images.as_f32().context("f32 images")?;
    let n = limit.unwrap_or(pixels.len() / 784).min(pixels.len() / 784);
    if n == 0 || batch == 0 {
        bail!("nothing to evaluate");
    }
    let bar = Bar::new(format!("{name} on MNIST test"), n);
    let (mut out_sum, mut noisy_sum, mut seen) = (0.0, 0.0, 0);
    for (i, chunk) in pixels[..n * 784].chunks(batch * 784).enumerate() {
        let b = chunk.len() / 784;
        let clean = Tensor::from_f32([b, 1, 28, 28], chunk.to_vec())?;
        let r = ae.run(&clean, sigma, 0, i as u32)?;
        out_sum += mean_psnr(r.output.as_f32().context("f32")?, chunk, 784) * b as f64;
        noisy_sum += mean_psnr(r.noisy.as_f32().context("f32")?, chunk, 784) * b as f64;
        seen += b;
        bar.set(seen);
    }
    let (out, noisy) = (out_sum / n as f64, noisy_sum / n as f64);
    if json {
        let v = serde_json::json!({"dataset": "mnist", "model": name, "images": n, "sigma": sigma, "psnr_output": out, "psnr_noisy_input": if sigma > 0.0 { Some(noisy) } else { None }});
        println!("{v}");
    } else if sigma > 0.0 {
        println!(
            "{name} on {n} MNIST test images at σ {sigma}: output {out:.2} dB, noisy input {noisy:.2} dB ({:+.2} dB)",
            out - noisy
        );
    } else {
        println!("{name} on {n} MNIST test images: reconstruction PSNR {out:.2} dB");
    }
    Ok(())
}
