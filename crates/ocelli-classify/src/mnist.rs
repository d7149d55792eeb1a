//! MNIST (LeCun et al.): the gzip-compressed idx files shipped in `assets/mnist/` (see
//! scripts/prepare_mnist.py), and the seed's ladder of classifiers over them.

use std::io::Read;
use std::path::{Path, PathBuf};

use ocelli_graph::{
    BinaryOp, DType, Graph, GraphBuilder, GraphError, Op, Pool2d, PoolKind, Tensor, TensorData, UnaryOp, UpsampleMode,
    ValueId,
};
use ocelli_nn::Weights;
use thiserror::Error;

/// Errors reading the MNIST files.
#[derive(Debug, Error)]
pub enum MnistError {
    /// A file could not be read or decompressed (the OS error is part of the message, named
    /// once in a chain of errors).
    #[error("{path}: {error}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        error: std::io::Error,
    },
    /// The file is not an idx file of the expected kind.
    #[error("{path}: {why}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        why: String,
    },
}

/// Which half of MNIST.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// 60 000 training images.
    Train,
    /// 10 000 test images.
    Test,
}

/// Most bytes an idx file may inflate to (MNIST's training images are 47 MB): a gzip bomb
/// stops here.
const MAX_IDX_BYTES: u64 = 64 << 20;

fn read_gz(path: &Path) -> Result<Vec<u8>, MnistError> {
    let io = |error| MnistError::Io { path: path.to_path_buf(), error };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(file).take(MAX_IDX_BYTES + 1).read_to_end(&mut out).map_err(io)?;
    if out.len() as u64 > MAX_IDX_BYTES {
        return Err(MnistError::Format {
            path: path.to_path_buf(),
            why: format!("inflates past {MAX_IDX_BYTES} bytes"),
        });
    }
    Ok(out)
}

fn header(path: &Path, data: &[u8], magic: u32, dims: usize) -> Result<Vec<usize>, MnistError> {
    let word = |i: usize| u32::from_be_bytes([data[4 * i], data[4 * i + 1], data[4 * i + 2], data[4 * i + 3]]) as usize;
    if data.len() < 4 * (dims + 1) || word(0) != magic as usize {
        return Err(MnistError::Format {
            path: path.to_path_buf(),
            why: format!("not an idx file with magic {magic:#x}"),
        });
    }
    let shape: Vec<usize> = (1..=dims).map(word).collect();
    let body = shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
    if body.and_then(|b| b.checked_add(4 * (dims + 1))) != Some(data.len()) {
        return Err(MnistError::Format { path: path.to_path_buf(), why: "size does not match the header".into() });
    }
    Ok(shape)
}

/// The images `[N, 1, 28, 28]` in [0, 1] and the labels of one split, from `dir`.
pub fn load(dir: &Path, split: Split) -> Result<(Tensor, Vec<u8>), MnistError> {
    let prefix = match split {
        Split::Train => "train",
        Split::Test => "t10k",
    };
    let ipath = dir.join(format!("{prefix}-images.idx3-ubyte.gz"));
    let lpath = dir.join(format!("{prefix}-labels.idx1-ubyte.gz"));
    let (idata, ldata) = (read_gz(&ipath)?, read_gz(&lpath)?);
    let ishape = header(&ipath, &idata, 0x803, 3)?;
    let lshape = header(&lpath, &ldata, 0x801, 1)?;
    if ishape[1..] != [28, 28] {
        let why = format!("images are {}x{}, MNIST's are 28x28", ishape[2], ishape[1]);
        return Err(MnistError::Format { path: ipath, why });
    }
    if lshape[0] != ishape[0] {
        return Err(MnistError::Format { path: lpath, why: format!("{} labels for {} images", lshape[0], ishape[0]) });
    }
    if let Some(bad) = ldata[8..].iter().find(|&&l| l > 9) {
        return Err(MnistError::Format { path: lpath, why: format!("label {bad}: digits are 0 to 9") });
    }
    let pixels: Vec<f32> = idata[16..].iter().map(|&v| f32::from(v) / 255.0).collect();
    let images = Tensor::from_f32([ishape[0], 1, ishape[1], ishape[2]], pixels).expect("size checked");
    Ok((images, ldata[8..].to_vec()))
}

/// Softmax regression on a batch `[batch, 1, 28, 28]`: outputs probabilities `[batch, 10]`,
/// predicted classes `[batch]` (i32) and logits `[batch, 10]`. Weights: `weight` `[10, 784]`,
/// `bias` `[10]`.
pub fn linear_graph(weights: &Weights, batch: usize) -> Result<Graph, ocelli_nn::NnError> {
    let mut g = GraphBuilder::new();
    let x = g.input("images", [batch, 1, 28, 28], DType::F32)?;
    let logits = linear_logits(&mut g, weights, x)?;
    classifier_outputs(g, logits)
}

/// The small CNN of `scripts/train_mnist_cnn.py` (trained with JAX) on a batch
/// `[batch, 1, 28, 28]`: conv 3×3 1→32, ReLU, max-pool 2; conv 3×3 32→64, ReLU, max-pool 2;
/// linear 3136→128, ReLU; linear 128→10. Outputs as [`linear_graph`]. Weights: `conv1`, `conv2`,
/// `fc1`, `fc2` (`weight` and `bias` each, PyTorch layouts).
pub fn cnn_graph(weights: &Weights, batch: usize) -> Result<Graph, ocelli_nn::NnError> {
    let mut g = GraphBuilder::new();
    let x = g.input("images", [batch, 1, 28, 28], DType::F32)?;
    let (logits, _) = cnn_logits(&mut g, weights, x)?;
    classifier_outputs(g, logits)
}

/// The CNN of [`cnn_graph`] as a judge of generated digits: outputs the predicted classes
/// `[batch]` (i32) and the 128 penultimate activations `[batch, 128]` (after the ReLU), the
/// features a Fréchet distance compares.
pub fn cnn_features_graph(weights: &Weights, batch: usize) -> Result<Graph, ocelli_nn::NnError> {
    let mut g = GraphBuilder::new();
    let x = g.input("images", [batch, 1, 28, 28], DType::F32)?;
    let (logits, features) = cnn_logits(&mut g, weights, x)?;
    let classes = g.op(Op::ArgMax { axis: 1, keep_dims: false }, &[logits])?;
    Ok(g.build(&[classes, features])?)
}

/// The trained MNIST classifiers that map an image batch to logits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Classifier {
    /// Softmax regression (`assets/models/mnist_linear.safetensors`).
    Linear,
    /// The small CNN (`assets/models/mnist_cnn.safetensors`).
    Cnn,
}

impl Classifier {
    /// Its name on the command line and in `assets/models/NAME.safetensors`.
    pub fn name(self) -> &'static str {
        match self {
            Classifier::Linear => "mnist_linear",
            Classifier::Cnn => "mnist_cnn",
        }
    }

    /// The classifier of that name.
    pub fn from_name(name: &str) -> Option<Self> {
        [Classifier::Linear, Classifier::Cnn].into_iter().find(|c| c.name() == name)
    }

    /// Its graph over a batch `[batch, 1, 28, 28]` in [0, 1] (white digit on black).
    pub fn batch_graph(self, weights: &Weights, batch: usize) -> Result<Graph, ocelli_nn::NnError> {
        match self {
            Classifier::Linear => linear_graph(weights, batch),
            Classifier::Cnn => cnn_graph(weights, batch),
        }
    }
}

/// Turns a `[1, 1 or 3, H, W]` image in [0, 1] into the `[1, 1, 28, 28]` input MNIST models
/// expect: grey, area resize, optionally inverted.
pub fn digit_input(g: &mut GraphBuilder, image: ValueId, invert: bool) -> Result<ValueId, GraphError> {
    let channels = g.shape(image)?.dims()[1];
    let x = match channels {
        1 => image,
        3 => ocelli_vision::ops::to_gray(g, image)?,
        c => return Err(GraphError::InvalidParam { op: "mnist input", why: format!("{c} channels (1 or 3 needed)") }),
    };
    let x = ocelli_vision::ops::resize(g, x, 28, 28, UpsampleMode::Area)?;
    if !invert {
        return Ok(x);
    }
    let one = g.constant(Tensor::from_f32([1], vec![1.0])?)?;
    g.op(Op::Binary(BinaryOp::Sub), &[one, x])
}

fn linear_logits(g: &mut GraphBuilder, weights: &Weights, x: ValueId) -> Result<ValueId, ocelli_nn::NnError> {
    let batch = g.shape(x)?.dims()[0];
    let flat = g.op(Op::Reshape { shape: vec![batch, 784] }, &[x])?;
    ocelli_nn::linear(g, &weights.root(), flat, 784, 10)
}

/// Logits `[batch, 10]` and the hidden layer `[batch, 128]` of the CNN.
fn cnn_logits(g: &mut GraphBuilder, w: &Weights, x: ValueId) -> Result<(ValueId, ValueId), ocelli_nn::NnError> {
    let batch = g.shape(x)?.dims()[0];
    let pad = ocelli_nn::same_size_padding(3);
    let relu = Op::Unary(UnaryOp::Relu);
    let pool = Op::Pool2d(Pool2d::new(PoolKind::Max, 2, 2));
    let mut y = x;
    for (name, io) in [("conv1", (1, 32)), ("conv2", (32, 64))] {
        y = ocelli_nn::conv2d(g, &w.pp(name), y, io, 3, 1, 1, true, pad)?;
        y = g.op(relu.clone(), &[y])?;
        y = g.op(pool.clone(), &[y])?;
    }
    let flat = g.op(Op::Reshape { shape: vec![batch, 64 * 7 * 7] }, &[y])?;
    let hidden = ocelli_nn::linear(g, &w.pp("fc1"), flat, 64 * 7 * 7, 128)?;
    let hidden = g.op(relu, &[hidden])?;
    Ok((ocelli_nn::linear(g, &w.pp("fc2"), hidden, 128, 10)?, hidden))
}

/// Probabilities, predicted classes and logits of a `[batch, 10]` logits value.
fn classifier_outputs(mut g: GraphBuilder, logits: ValueId) -> Result<Graph, ocelli_nn::NnError> {
    let probs = g.op(Op::Softmax { axis: 1, log: false }, &[logits])?;
    let classes = g.op(Op::ArgMax { axis: 1, keep_dims: false }, &[logits])?;
    Ok(g.build(&[probs, classes, logits])?)
}

/// Most training images per distance GEMM: keeps each chunk (and its distance matrix) well
/// inside a 128 MiB storage binding.
pub const KNN_CHUNK: usize = 30_000;

/// Most queries per kNN run.
pub const KNN_BATCH: usize = 250;

/// Bytes of one 28×28 f32 image.
const IMAGE_BYTES: u64 = 784 * 4;

/// Training images per distance GEMM on a backend whose tensors may take `max_binding_bytes`
/// ([`ocelli_graph::Backend::max_binding_bytes`]; `None`: no limit): [`KNN_CHUNK`] or fewer.
pub fn knn_chunk(max_binding_bytes: Option<u64>) -> usize {
    let fits = max_binding_bytes.map_or(usize::MAX, |b| usize::try_from(b / IMAGE_BYTES).unwrap_or(usize::MAX));
    KNN_CHUNK.min(fits).max(1)
}

/// Queries per kNN run whose distances to a chunk of `chunk` training images fit
/// `max_binding_bytes`: [`KNN_BATCH`] or fewer, so any number of queries runs in batches.
pub fn knn_batch(max_binding_bytes: Option<u64>, chunk: usize) -> usize {
    let row = (chunk as u64).max(1) * 4;
    let fits = max_binding_bytes.map_or(usize::MAX, |b| usize::try_from(b / row).unwrap_or(usize::MAX));
    KNN_BATCH.min(fits).max(1)
}

/// Distance of the nearest-neighbour classifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// Sum of absolute differences.
    L1,
    /// Euclidean.
    L2,
}

/// k-nearest-neighbour search, entirely on the GPU: per chunk of `chunk` training images (see
/// [`knn_chunk`]) one GEMM-tiled
/// kernel scores every pair — L2 as `2·q·t − |t|²` (the order of −|q − t|²), L1 as the distance
/// itself — and a top-k keeps the best `k`; a second top-k merges the chunks. Input `images`
/// `[batch, 1, 28, 28]`; outputs the merged positions `[batch, k]` (i32, into the concatenation
/// of the chunks' candidates) and then each chunk's candidate indices `[batch, k]`. Use
/// [`knn_neighbours`] to read them.
pub fn knn_graph(train: &Tensor, batch: usize, k: usize, metric: Metric, chunk: usize) -> Result<Graph, GraphError> {
    let n = train.shape().dims()[0];
    let pixels =
        train.as_f32().ok_or(GraphError::InvalidParam { op: "knn", why: "training images must be f32".into() })?;
    let mut g = GraphBuilder::new();
    let x = g.input("images", [batch, 1, 28, 28], DType::F32)?;
    let q = g.op(Op::Reshape { shape: vec![batch, 784] }, &[x])?;
    let two = g.constant(Tensor::from_f32([1], vec![2.0])?)?;
    let q2 = g.op(Op::Binary(BinaryOp::Mul), &[q, two])?;
    let (mut scores, mut candidates) = (Vec::new(), Vec::new());
    for start in (0..n).step_by(chunk.max(1)) {
        let end = (start + chunk.max(1)).min(n);
        let chunk = &pixels[start * 784..end * 784];
        let t = g.constant(Tensor::from_f32([end - start, 784], chunk.to_vec())?)?;
        let s = match metric {
            Metric::L2 => {
                let norms: Vec<f32> = chunk.chunks(784).map(|t| -t.iter().map(|v| v * v).sum::<f32>()).collect();
                let bias = g.constant(Tensor::from_f32([end - start], norms)?)?;
                g.op(Op::MatMul { trans_a: false, trans_b: true }, &[q2, t, bias])?
            }
            Metric::L1 => g.op(Op::L1Distance, &[q, t])?,
        };
        let best = g.apply(Op::TopK { k, largest: metric == Metric::L2 }, &[s])?;
        scores.push(best[0]);
        candidates.push(best[1]);
    }
    let all = g.op(Op::Concat { axis: 1 }, &scores)?;
    let merged = g.apply(Op::TopK { k, largest: metric == Metric::L2 }, &[all])?;
    let mut outputs = vec![merged[1]];
    outputs.extend(candidates);
    g.build(&outputs)
}

/// The training-set indices of each query's `k` nearest neighbours, nearest first, from the
/// outputs of a [`knn_graph`] run with chunks of `chunk`.
pub fn knn_neighbours(outputs: &[Tensor], k: usize, chunk: usize) -> Vec<Vec<usize>> {
    let ints = |t: &Tensor| match t.data() {
        TensorData::I32(v) => v.clone(),
        _ => Vec::new(),
    };
    let merged = ints(&outputs[0]);
    let chunks: Vec<Vec<i32>> = outputs[1..].iter().map(ints).collect();
    merged
        .chunks(k)
        .enumerate()
        .map(|(q, row)| {
            row.iter()
                .map(|&pos| {
                    let (c, j) = (pos as usize / k, pos as usize % k);
                    c * chunk.max(1) + chunks[c][q * k + j] as usize
                })
                .collect()
        })
        .collect()
}

/// Majority label of the neighbours (ties go to the label of the nearer neighbour).
pub fn vote(neighbours: &[usize], labels: &[u8]) -> u8 {
    let mut counts = [0usize; 256];
    for &n in neighbours {
        counts[usize::from(labels[n])] += 1;
    }
    let top = neighbours.iter().map(|&n| counts[usize::from(labels[n])]).max().unwrap_or(0);
    neighbours.iter().map(|&n| labels[n]).find(|&l| counts[usize::from(l)] == top).unwrap_or(0)
}
