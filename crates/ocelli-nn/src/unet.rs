//! A U-Net builder: an encoder of residual blocks with downsampling between levels, a bottom
//! (optionally with self-attention), and a decoder that upsamples and concatenates the encoder's
//! skip of the same level before each block. Blocks can take a conditioning vector (a diffusion
//! model's time and class embedding), projected per block and added to its feature map.
//!
//! Weight names (PyTorch layouts), for levels `0..L` of `channels[i]` and `cin`/`cout` per block:
//!
//! ```text
//! conv_in                      3×3 conv in_channels → channels[0]
//! down.{i}.res                 residual block channels[i-1] → channels[i]   (i = 0..L)
//! down.{i}.down                downsampling after level i < L−1 (3×3 stride-2 conv; none for max-pool)
//! mid.res1, mid.attn, mid.res2 bottom: residual block, self-attention (if enabled), residual block
//! up.{j}.up                    level i = L−2−j: upsample ×2 (3×3 conv after nearest, or a 2×2
//!                              stride-2 transposed conv), channels kept
//! up.{j}.res                   residual block (current + channels[i]) → channels[i], on
//!                              concat([upsampled, skip_i]) along channels
//! out.norm, out.conv           GroupNorm, SiLU, then an `out_kernel`² conv channels[0] → out_channels
//!                              (3×3 for a diffusion model, 1×1 for a per-pixel classifier)
//! ```
//!
//! A residual block `P` holds `norm1` (GroupNorm), `conv1` (3×3), `emb` (linear from the
//! conditioning vector, when there is one), `norm2`, `conv2` (3×3) and, when `cin ≠ cout`, `skip`
//! (1×1): `out = skip(x) + conv2(SiLU(norm2(conv1(SiLU(norm1(x))) + emb(c))))`. Attention `A`
//! holds `norm`, `qkv` (1×1, C → 3C, split in that order) and `proj` (1×1): single-head softmax
//! attention over the H·W positions, `out = x + proj(softmax(qᵀk / √C) v)`.

use ocelli_graph::{
    BinaryOp, ConvTranspose2d, GraphBuilder, Op, Padding, Pool2d, PoolKind, UnaryOp, UpsampleMode, ValueId,
};

use crate::layers::{conv2d, linear};
use crate::{NnError, Result, Scope};

/// How the encoder halves the resolution between levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Downsample {
    /// A 3×3 convolution of stride 2, padding 1 (`down.{i}.down`).
    StridedConv,
    /// 2×2 max pooling (no weights).
    MaxPool,
}

/// How the decoder doubles the resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upsample {
    /// Nearest-neighbour ×2, then a 3×3 convolution (`up.{j}.up`).
    NearestConv,
    /// A 2×2 transposed convolution of stride 2 (`up.{j}.up`, weight `[C, C, 2, 2]`).
    TransposedConv,
}

/// The shape of a U-Net; [`UNet::build`] adds it to a graph.
#[derive(Debug, Clone, PartialEq)]
pub struct UNet {
    /// Channels of the input image.
    pub in_channels: usize,
    /// Channels of the output map.
    pub out_channels: usize,
    /// Channels per level, finest first; the input's sides must divide by `2^(levels − 1)`.
    pub channels: Vec<usize>,
    /// Encoder downsampling.
    pub down: Downsample,
    /// Decoder upsampling.
    pub up: Upsample,
    /// Self-attention between the two bottom blocks.
    pub mid_attention: bool,
    /// GroupNorm groups (divides every block's channels).
    pub groups: usize,
    /// GroupNorm epsilon.
    pub eps: f32,
    /// Width of the conditioning vector every block adds (through its own `emb` projection), or
    /// `None` for an unconditioned U-Net.
    pub cond_width: Option<usize>,
    /// Side of the output convolution (odd): 3 for a diffusion model's image, 1 for a per-pixel
    /// classifier (a segmenter's class scores).
    pub out_kernel: usize,
}

impl UNet {
    /// Adds the network to `g`: `x` `[N, in_channels, H, W]` (in `w`'s dtype) and, when
    /// `cond_width` is set, the conditioning vector `cond` `[N, cond_width]`; returns
    /// `[N, out_channels, H, W]`.
    pub fn build(&self, g: &mut GraphBuilder, w: &Scope<'_>, x: ValueId, cond: Option<ValueId>) -> Result<ValueId> {
        let levels = self.channels.len();
        if levels == 0 {
            return Err(NnError::Spec("a U-Net needs at least one level".into()));
        }
        if self.out_kernel.is_multiple_of(2) {
            return Err(NnError::Spec(format!("the output convolution must be odd-sized, not {}", self.out_kernel)));
        }
        if cond.is_some() != self.cond_width.is_some() {
            return Err(NnError::Spec("the conditioning vector must be given exactly when cond_width is set".into()));
        }
        let dims = g.shape(x)?.dims().to_vec();
        let scale = 1usize << (levels - 1);
        if dims.len() != 4 || dims[1] != self.in_channels || dims[2] % scale != 0 || dims[3] % scale != 0 {
            return Err(NnError::Spec(format!(
                "the U-Net takes [N, {}, H, W] with H and W multiples of {scale}, not {dims:?}",
                self.in_channels
            )));
        }
        let block = |g: &mut GraphBuilder, w: Scope<'_>, x, io| self.res_block(g, &w, x, io, cond);
        let mut h = conv2d(g, &w.pp("conv_in"), x, (self.in_channels, self.channels[0]), 3, 1, 1, true, pad(1))?;
        let mut cur = self.channels[0];
        let mut skips = Vec::new();
        for (i, &c) in self.channels.iter().enumerate() {
            h = block(g, w.pp("down").pp(i).pp("res"), h, (cur, c))?;
            cur = c;
            if i + 1 < levels {
                skips.push((h, c));
                h = match self.down {
                    Downsample::StridedConv => {
                        conv2d(g, &w.pp("down").pp(i).pp("down"), h, (c, c), 3, 2, 1, true, pad(1))?
                    }
                    Downsample::MaxPool => g.op(Op::Pool2d(Pool2d::new(PoolKind::Max, 2, 2)), &[h])?,
                };
            }
        }
        h = block(g, w.pp("mid").pp("res1"), h, (cur, cur))?;
        if self.mid_attention {
            h = self.attention(g, &w.pp("mid").pp("attn"), h, cur)?;
        }
        h = block(g, w.pp("mid").pp("res2"), h, (cur, cur))?;
        for (j, (skip, c)) in skips.into_iter().rev().enumerate() {
            let up = w.pp("up").pp(j);
            h = self.upsample(g, &up.pp("up"), h, cur)?;
            h = g.op(Op::Concat { axis: 1 }, &[h, skip])?;
            h = block(g, up.pp("res"), h, (cur + c, c))?;
            cur = c;
        }
        let h = self.norm_silu(g, &w.pp("out").pp("norm"), h, cur)?;
        let k = self.out_kernel;
        conv2d(g, &w.pp("out").pp("conv"), h, (cur, self.out_channels), k, 1, 1, true, pad(k / 2))
    }

    fn upsample(&self, g: &mut GraphBuilder, w: &Scope<'_>, x: ValueId, c: usize) -> Result<ValueId> {
        let dims = g.shape(x)?.dims().to_vec();
        match self.up {
            Upsample::NearestConv => {
                let mode = UpsampleMode::Nearest;
                let u = g.op(Op::Upsample { mode, out_h: 2 * dims[2], out_w: 2 * dims[3] }, &[x])?;
                conv2d(g, w, u, (c, c), 3, 1, 1, true, pad(1))
            }
            Upsample::TransposedConv => {
                let weight = g.constant(w.get("weight", &[c, c, 2, 2])?)?;
                let bias = g.constant(w.get("bias", &[c])?)?;
                let params = ConvTranspose2d { stride: [2, 2], ..ConvTranspose2d::default() };
                Ok(g.op(Op::ConvTranspose2d(params), &[x, weight, bias])?)
            }
        }
    }

    fn norm_silu(&self, g: &mut GraphBuilder, w: &Scope<'_>, x: ValueId, c: usize) -> Result<ValueId> {
        let y = group_norm(g, w, x, c, self.groups, self.eps)?;
        Ok(g.op(Op::Unary(UnaryOp::Silu), &[y])?)
    }

    fn res_block(
        &self,
        g: &mut GraphBuilder,
        w: &Scope<'_>,
        x: ValueId,
        (cin, cout): (usize, usize),
        cond: Option<ValueId>,
    ) -> Result<ValueId> {
        let h = self.norm_silu(g, &w.pp("norm1"), x, cin)?;
        let mut h = conv2d(g, &w.pp("conv1"), h, (cin, cout), 3, 1, 1, true, pad(1))?;
        if let (Some(c), Some(width)) = (cond, self.cond_width) {
            let e = linear(g, &w.pp("emb"), c, width, cout)?;
            let n = g.shape(e)?.dims()[0];
            let e = g.op(Op::Reshape { shape: vec![n, cout, 1, 1] }, &[e])?;
            h = g.op(Op::Binary(BinaryOp::Add), &[h, e])?;
        }
        let h = self.norm_silu(g, &w.pp("norm2"), h, cout)?;
        let h = conv2d(g, &w.pp("conv2"), h, (cout, cout), 3, 1, 1, true, pad(1))?;
        let skip = if cin == cout { x } else { conv2d(g, &w.pp("skip"), x, (cin, cout), 1, 1, 1, true, pad(0))? };
        Ok(g.op(Op::Binary(BinaryOp::Add), &[h, skip])?)
    }

    fn attention(&self, g: &mut GraphBuilder, w: &Scope<'_>, x: ValueId, c: usize) -> Result<ValueId> {
        let dims = g.shape(x)?.dims().to_vec();
        let (n, hw) = (dims[0], dims[2] * dims[3]);
        let h = group_norm(g, &w.pp("norm"), x, c, self.groups, self.eps)?;
        let qkv = conv2d(g, &w.pp("qkv"), h, (c, 3 * c), 1, 1, 1, true, pad(0))?;
        let qkv = g.op(Op::Reshape { shape: vec![n, 3 * c, hw] }, &[qkv])?;
        let part = |g: &mut GraphBuilder, i: usize| {
            g.op(Op::Slice { axis: 1, start: i * c, end: (i + 1) * c, step: 1 }, &[qkv])
        };
        let (q, k, v) = (part(g, 0)?, part(g, 1)?, part(g, 2)?);
        // scores[n, q, k] = Σ_c q[n, c, q] · k[n, c, k], scaled, softmax over k.
        let scores = g.op(Op::MatMul { trans_a: true, trans_b: false }, &[q, k])?;
        let scale = g.constant(scalar(w, 1.0 / (c as f32).sqrt())?)?;
        let scores = g.op(Op::Binary(BinaryOp::Mul), &[scores, scale])?;
        let attn = g.op(Op::Softmax { axis: 2, log: false }, &[scores])?;
        // o[n, c, q] = Σ_k v[n, c, k] · attn[n, q, k]
        let o = g.op(Op::MatMul { trans_a: false, trans_b: true }, &[v, attn])?;
        let o = g.op(Op::Reshape { shape: dims.clone() }, &[o])?;
        let o = conv2d(g, &w.pp("proj"), o, (c, c), 1, 1, 1, true, pad(0))?;
        Ok(g.op(Op::Binary(BinaryOp::Add), &[x, o])?)
    }
}

/// GroupNorm with `weight` and `bias` `[channels]`.
pub fn group_norm(
    g: &mut GraphBuilder,
    w: &Scope<'_>,
    x: ValueId,
    channels: usize,
    groups: usize,
    eps: f32,
) -> Result<ValueId> {
    let gamma = g.constant(w.get("weight", &[channels])?)?;
    let beta = g.constant(w.get("bias", &[channels])?)?;
    Ok(g.op(Op::GroupNorm { groups, eps }, &[x, gamma, beta])?)
}

fn pad(p: usize) -> Padding {
    Padding::Explicit([p; 4])
}

/// A one-element constant in the scope's dtype.
fn scalar(w: &Scope<'_>, v: f32) -> Result<ocelli_graph::Tensor> {
    let t = ocelli_graph::Tensor::from_f32([1], vec![v])?;
    Ok(match w.dtype() {
        ocelli_graph::DType::F16 => ocelli_graph::Tensor::from_f16([1], vec![half::f16::from_f32(v)])?,
        _ => t,
    })
}
