//! The MNIST autoencoder and denoising autoencoder of `scripts/train_autoencoder_mnist.py`:
//! conv 3×3/2 1→32, conv 3×3/2 32→64, linear 3136→32 (the latent); linear 32→3136, two 3×3/2
//! transposed convs 64→32→1, sigmoid. Noise for the denoising case is drawn on the device.

use std::collections::HashMap;

use ocelli_graph::{
    Backend, BinaryOp, ConvTranspose2d, DType, Graph, GraphBuilder, Op, Plan, Tensor, TensorData, UnaryOp, ValueId,
};
use ocelli_nn::{conv2d, linear, same_size_padding, NnError, Scope, Weights};

use crate::model::SIDE;
use crate::DiffusionError;

/// Width of the latent code.
pub const LATENT: usize = 32;

/// The autoencoders Ocelli ships.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AeModel {
    /// Trained to reproduce clean digits.
    Ae,
    /// Trained to restore digits under Gaussian noise of σ = 0.5 (clipped to [0, 1]).
    Dae,
}

impl AeModel {
    /// Every model.
    pub const ALL: [AeModel; 2] = [AeModel::Ae, AeModel::Dae];

    /// Its name on the command line and in `assets/models/NAME.safetensors`.
    pub fn name(self) -> &'static str {
        match self {
            AeModel::Ae => "ae_mnist",
            AeModel::Dae => "dae_mnist",
        }
    }

    /// The model of that name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.name() == name)
    }
}

/// Inputs: `images` `[batch, 1, 28, 28]` in [0, 1], `key` `[2]` u32, `sigma` `[1]`. Outputs: the
/// noisy input clip(images + σ·z, 0, 1) (z standard normal from the key), the reconstruction of
/// that input `[batch, 1, 28, 28]` and its latent `[batch, 32]`.
pub fn autoencoder_graph(weights: &Weights, batch: usize) -> Result<Graph, NnError> {
    let mut g = GraphBuilder::new();
    let shape = [batch, 1, SIDE, SIDE];
    let images = g.input("images", shape, DType::F32)?;
    let key = g.input("key", [2], DType::U32)?;
    let sigma = g.input("sigma", [1], DType::F32)?;
    let z = g.op(Op::RandomNormal { shape: shape.to_vec() }, &[key])?;
    let z = g.op(Op::Binary(BinaryOp::Mul), &[sigma, z])?;
    let noisy = g.op(Op::Binary(BinaryOp::Add), &[images, z])?;
    let noisy = g.op(Op::Unary(UnaryOp::Clamp { min: 0.0, max: 1.0 }), &[noisy])?;
    let w = weights.root();
    let relu = Op::Unary(UnaryOp::Relu);
    let pad = same_size_padding(3);
    let h = conv2d(&mut g, &w.pp("enc.conv1"), noisy, (1, 32), 3, 2, 1, true, pad)?;
    let h = g.op(relu.clone(), &[h])?;
    let h = conv2d(&mut g, &w.pp("enc.conv2"), h, (32, 64), 3, 2, 1, true, pad)?;
    let h = g.op(relu.clone(), &[h])?;
    let h = g.op(Op::Reshape { shape: vec![batch, 64 * 7 * 7] }, &[h])?;
    let latent = linear(&mut g, &w.pp("enc.fc"), h, 64 * 7 * 7, LATENT)?;
    let h = linear(&mut g, &w.pp("dec.fc"), latent, LATENT, 64 * 7 * 7)?;
    let h = g.op(relu.clone(), &[h])?;
    let h = g.op(Op::Reshape { shape: vec![batch, 64, 7, 7] }, &[h])?;
    let h = deconv(&mut g, &w.pp("dec.deconv1"), h, (64, 32))?;
    let h = g.op(relu, &[h])?;
    let h = deconv(&mut g, &w.pp("dec.deconv2"), h, (32, 1))?;
    let out = g.op(Op::Unary(UnaryOp::Sigmoid), &[h])?;
    Ok(g.build(&[noisy, out, latent])?)
}

/// PyTorch's `ConvTranspose2d(k=3, stride=2, padding=1, output_padding=1)`: doubles the sides.
fn deconv(g: &mut GraphBuilder, w: &Scope<'_>, x: ValueId, (cin, cout): (usize, usize)) -> Result<ValueId, NnError> {
    let weight = g.constant(w.get("weight", &[cin, cout, 3, 3])?)?;
    let bias = g.constant(w.get("bias", &[cout])?)?;
    let p = ConvTranspose2d { stride: [2, 2], padding: [1, 1], output_padding: [1, 1], ..ConvTranspose2d::default() };
    Ok(g.op(Op::ConvTranspose2d(p), &[x, weight, bias])?)
}

/// What an autoencoder made of a batch.
#[derive(Debug, Clone)]
pub struct Reconstruction {
    /// The input after noise and clipping `[B, 1, 28, 28]` (the images when σ = 0).
    pub noisy: Tensor,
    /// The reconstruction `[B, 1, 28, 28]` in [0, 1].
    pub output: Tensor,
    /// The latent codes `[B, 32]`.
    pub latent: Tensor,
}

/// An autoencoder on one backend, compiled once per batch size.
pub struct Autoencoder<B: Backend> {
    weights: Weights,
    backend: B,
    plans: HashMap<usize, B::Plan>,
}

impl<B: Backend> Autoencoder<B>
where
    B::Error: Send + Sync + 'static,
{
    /// The autoencoder with `weights` on `backend`.
    pub fn new(weights: Weights, backend: B) -> Self {
        Autoencoder { weights, backend, plans: HashMap::new() }
    }

    /// `model` with its shipped weights.
    pub fn shipped(model: AeModel, backend: B) -> Result<Self, DiffusionError> {
        Ok(Self::new(Weights::shipped(model.name())?, backend))
    }

    /// Reconstructs `images` `[B, 1, 28, 28]` in [0, 1] after adding noise of `sigma` drawn from
    /// key (seed, stream) (σ = 0: the clean images).
    pub fn run(
        &mut self,
        images: &Tensor,
        sigma: f32,
        seed: u32,
        stream: u32,
    ) -> Result<Reconstruction, DiffusionError> {
        let dims = images.shape().dims();
        if images.dtype() != DType::F32 || dims.len() != 4 || dims[1..] != [1, SIDE, SIDE] || dims[0] == 0 {
            let why = format!("the autoencoders take f32 [B, 1, {SIDE}, {SIDE}] images, not {}", images.shape());
            return Err(DiffusionError::Request(why));
        }
        if !(sigma.is_finite() && sigma >= 0.0) {
            return Err(DiffusionError::Request(format!("the noise level must be finite and ≥ 0, not {sigma}")));
        }
        let backend_err = |e: B::Error| DiffusionError::Backend(Box::new(e));
        let batch = dims[0];
        if !self.plans.contains_key(&batch) {
            let plan = self.backend.compile(&autoencoder_graph(&self.weights, batch)?).map_err(backend_err)?;
            self.plans.insert(batch, plan);
        }
        let key = Tensor::new([2], TensorData::U32(vec![seed, stream])).map_err(NnError::from)?;
        let sigma = Tensor::from_f32([1], vec![sigma]).map_err(NnError::from)?;
        let plan = self.plans.get_mut(&batch).expect("inserted above");
        let mut out = plan.run(&[images.clone(), key, sigma]).map_err(backend_err)?.into_iter();
        let mut next = || out.next().expect("three outputs");
        Ok(Reconstruction { noisy: next(), output: next(), latent: next() })
    }
}
