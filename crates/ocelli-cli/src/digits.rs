//! `ocelli classify --model mnist_cnn|mnist_linear|mnist_knn`: handwritten digits in any image.
//!
//! The image is turned grey and area-resized to 28×28 in the graph; a light image (mean above
//! one half) is taken to be a dark digit on paper and inverted, since MNIST digits are white on
//! black.

use std::path::PathBuf;

use anyhow::Context;
use ocelli::classify::mnist;
use ocelli::nn::Weights;
use ocelli::vision::{load_packed, resize_pixels, PixelLayout};
use ocelli::{Backend, Graph, GraphBuilder, Op, Plan, Tensor, UpsampleMode};

use crate::classify::assets;

/// One image's classes, best first: (digit, score).
pub type Ranked = Vec<(usize, f32)>;

/// Whether `name` is one of the MNIST models.
pub fn is_mnist_model(name: &str) -> bool {
    name == "mnist_knn" || mnist::Classifier::from_name(name).is_some()
}

/// Classifies every image with the MNIST model `name` on `backend`, returning each image's top
/// `top` digits: probabilities for the trained classifiers, vote shares for kNN (k = 3, L2).
/// Each image is preprocessed by its own small graph; the model, compiled once, runs on batches
/// of up to [`mnist::KNN_BATCH`] images, fewer where the backend's bindings need it.
pub fn classify_digits<B>(name: &str, images: &[PathBuf], top: usize, backend: &B) -> anyhow::Result<Vec<Ranked>>
where
    B: Backend,
    B::Error: Send + Sync + 'static,
{
    let batch = load_digits(images, backend)?;
    let n = images.len();
    let chunk = mnist::knn_chunk(backend.max_binding_bytes());
    let b = n.clamp(1, mnist::knn_batch(backend.max_binding_bytes(), chunk));
    let classifier = mnist::Classifier::from_name(name);
    let (graph, labels) = match classifier {
        Some(c) => {
            let weights = Weights::shipped(c.name())?;
            (c.batch_graph(&weights, b)?, Vec::new())
        }
        None => {
            let (train, labels) = mnist::load(&assets().join("mnist"), mnist::Split::Train)?;
            (mnist::knn_graph(&train, b, 3, mnist::Metric::L2, chunk)?, labels)
        }
    };
    let votes = |neighbours: &Vec<usize>| {
        let mut v = vec![0.0f32; 10];
        for &i in neighbours {
            v[usize::from(labels[i])] += 1.0 / neighbours.len() as f32;
        }
        v
    };
    let mut plan = backend.compile(&graph)?;
    let mut scores: Vec<Vec<f32>> = Vec::with_capacity(n);
    for part in batch.chunks(b * 784) {
        // The last batch is padded with blank digits; only its first images count.
        let mut data = part.to_vec();
        data.resize(b * 784, 0.0);
        let out = plan.run(&[Tensor::from_f32([b, 1, 28, 28], data)?])?;
        let mut rows: Vec<Vec<f32>> = match classifier {
            Some(_) => out[0].as_f32().context("probabilities are f32")?.chunks(10).map(<[f32]>::to_vec).collect(),
            None => mnist::knn_neighbours(&out, 3, chunk).iter().map(votes).collect(),
        };
        rows.truncate(part.len() / 784);
        scores.extend(rows);
    }
    Ok(scores
        .iter()
        .map(|s| {
            let mut order: Vec<usize> = (0..s.len()).collect();
            order.sort_by(|&a, &b| s[b].total_cmp(&s[a]).then(a.cmp(&b)));
            order.into_iter().take(top).map(|i| (i, s[i])).collect()
        })
        .collect())
}

/// Longest side of the image the area resize to 28×28 starts from: larger photos are first
/// resized (bilinear, straight from their packed samples) to this, so they never exist on the
/// device as f32 at full size.
/// The images as MNIST digits `[n·784]` (grey, 28×28, white on black: light images are
/// inverted), prepared on `backend`.
pub fn load_digits<B>(images: &[PathBuf], backend: &B) -> anyhow::Result<Vec<f32>>
where
    B: Backend,
    B::Error: Send + Sync + 'static,
{
    let mut batch = Vec::with_capacity(images.len() * 784);
    for path in images {
        let mut img = load_packed(path)?;
        img.layout = img.layout.within(backend.max_binding_bytes());
        let invert = img.mean(img.layout.channels.min(3)) > 0.5;
        let digit = backend.run(&digit_graph(&img.layout, invert)?, &img.segments())?.remove(0);
        batch.extend_from_slice(digit.as_f32().context("digits are f32")?);
    }
    Ok(batch)
}

const MAX_SIDE: usize = 1024;

/// The preprocessing of one image: its samples unpacked (and alpha dropped), then
/// [`mnist::digit_input`].
fn digit_graph(layout: &PixelLayout, invert: bool) -> anyhow::Result<Graph> {
    let (h, w) = (layout.height, layout.width);
    let scale = (MAX_SIDE as f64 / h.max(w) as f64).min(1.0);
    let size = |side: usize| ((side as f64 * scale).round() as usize).max(1);
    let mut g = GraphBuilder::new();
    let image = resize_pixels(&mut g, layout, size(h), size(w), UpsampleMode::Bilinear { align_corners: false })?;
    let keep = if layout.channels >= 3 { 3 } else { 1 };
    let image = if layout.channels == keep {
        image
    } else {
        g.op(Op::Slice { axis: 1, start: 0, end: keep, step: 1 }, &[image])?
    };
    let x = mnist::digit_input(&mut g, image, invert)?;
    Ok(g.build(&[x])?)
}
