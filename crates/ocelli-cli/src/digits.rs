//! `ocelli classify --model mnist_cnn|mnist_linear|mnist_knn`: handwritten digits in any image.
//!
//! The image is turned grey and area-resized to 28×28 in the graph; a light image (mean above
//! one half) is taken to be a dark digit on paper and inverted, since MNIST digits are white on
//! black.

use std::path::PathBuf;

use anyhow::Context;
use ocelli::classify::mnist;
use ocelli::nn::Weights;
use ocelli::vision::load_image;
use ocelli::{Backend, Graph, GraphBuilder, Plan, Tensor};

use crate::classify::{assets, drop_alpha};

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
    let mut batch = Vec::with_capacity(images.len() * 784);
    for path in images {
        let img = drop_alpha(&load_image(path)?.tensor)?;
        let d = img.shape().dims().to_vec();
        let invert = mean(&img)? > 0.5;
        let digit = backend.run(&digit_graph((d[1], d[2], d[3]), invert)?, &[img])?.remove(0);
        batch.extend_from_slice(digit.as_f32().context("digits are f32")?);
    }
    let n = images.len();
    let chunk = mnist::knn_chunk(backend.max_binding_bytes());
    let b = n.clamp(1, mnist::knn_batch(backend.max_binding_bytes(), chunk));
    let classifier = mnist::Classifier::from_name(name);
    let (graph, labels) = match classifier {
        Some(c) => {
            let weights = Weights::load(&assets().join("models").join(format!("{}.safetensors", c.name())))?;
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

/// The preprocessing of one image.
fn digit_graph((c, h, w): (usize, usize, usize), invert: bool) -> anyhow::Result<Graph> {
    let mut g = GraphBuilder::new();
    let image = g.input("image", [1, c, h, w], ocelli::DType::F32)?;
    let x = mnist::digit_input(&mut g, image, invert)?;
    Ok(g.build(&[x])?)
}

fn mean(img: &Tensor) -> anyhow::Result<f64> {
    let v = img.as_f32().context("images decode to f32")?;
    Ok(v.iter().map(|&x| f64::from(x)).sum::<f64>() / v.len().max(1) as f64)
}
