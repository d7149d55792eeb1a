"""Shared JAX code of the MNIST generative models: autoencoders, class-conditional U-Net, samplers.

Imported by scripts/train_autoencoder_mnist.py and scripts/train_diffusion_mnist.py (jax 0.10.2).
Everything is NCHW and float32, with PyTorch layouts: conv weights `[O, I, kh, kw]`, conv-transpose
weights `[I, O, kh, kw]`, linear weights `[out, in]` (y = x · Wᵀ + b), biases `[C]`.

Autoencoder (`ae_mnist`, `dae_mnist`; input and output in [0, 1], shape [N, 1, 28, 28])
=====================================================================================

    enc.conv1.weight [32, 1, 3, 3]     enc.conv1.bias [32]     conv 3×3 stride 2 pad 1, ReLU   → [N, 32, 14, 14]
    enc.conv2.weight [64, 32, 3, 3]    enc.conv2.bias [64]     conv 3×3 stride 2 pad 1, ReLU   → [N, 64, 7, 7]
                                                               flatten in (C, H, W) order      → [N, 3136]
    enc.fc.weight    [32, 3136]        enc.fc.bias    [32]     linear, no activation           → latent [N, 32]
    dec.fc.weight    [3136, 32]        dec.fc.bias    [3136]   linear, ReLU, reshape           → [N, 64, 7, 7]
    dec.deconv1.weight [64, 32, 3, 3]  dec.deconv1.bias [32]   conv-transpose 3×3 stride 2 pad 1
                                                               output_padding 1, ReLU          → [N, 32, 14, 14]
    dec.deconv2.weight [32, 1, 3, 3]   dec.deconv2.bias [1]    same conv-transpose, sigmoid    → [N, 1, 28, 28]

The conv-transpose is PyTorch's `ConvTranspose2d(stride=2, padding=1, output_padding=1)`:
out[o, y, x] = b[o] + Σ_{i, ky, kx} in[i, iy, ix] · W[i, o, ky, kx] over all iy, ix with
y = 2·iy − 1 + ky and x = 2·ix − 1 + kx (output 2H × 2W). Here it is computed as a stride-1 conv
of the input dilated by 2 (zeros between pixels), padded (1, 2) on each spatial axis, with the
kernel flipped in ky, kx and transposed to [O, I, kh, kw].

Class-conditional U-Net (`ddpm_mnist`, `flow_mnist`; input x [N, 1, 28, 28], time input s [N] (float),
class c [N] (int in 0..10, 10 = the null class); output [N, 1, 28, 28])
=====================================================================================================

No deviation from the issue's architecture: base 32 channels, levels 28×28 (32), 14×14 (64),
7×7 (64), one ResBlock per level, attention at 7×7 only.

Notation: GN = GroupNorm with 8 groups, eps 1e-5, biased variance, per sample over
(C/8 channels of the group, H, W): y = (x − mean) / sqrt(var + 1e-5) · weight[c] + bias[c].
SiLU(x) = x · sigmoid(x). conv3 = 3×3 conv stride 1 pad 1. All convs have a bias.

Time and class embedding:

    half = 32; freqs[i] = exp(−ln(10000) · i / 32), i = 0..31
    emb = concat(sin(s · freqs), cos(s · freqs))                  [N, 64]   (sin first)
    temb = time.lin2(SiLU(time.lin1(emb)))                        [N, 128]
    e = temb + class_emb.weight[c]                                [N, 128]
    se = SiLU(e)        (shared by all res blocks; each has its own projection `emb`)

    time.lin1.weight [128, 64]   time.lin1.bias [128]
    time.lin2.weight [128, 128]  time.lin2.bias [128]
    class_emb.weight [11, 128]

ResBlock(cin, cout) with prefix P (input x, se):

    h = P.conv1(SiLU(P.norm1(x)))                    conv3, cin → cout
    h = h + P.emb(se)[:, :, None, None]              linear 128 → cout
    h = P.conv2(SiLU(P.norm2(h)))                    conv3, cout → cout
    out = h + (P.skip(x) if cin ≠ cout else x)       skip: 1×1 conv cin → cout

    P.norm1.weight [cin]  P.norm1.bias [cin]
    P.conv1.weight [cout, cin, 3, 3]  P.conv1.bias [cout]
    P.emb.weight [cout, 128]  P.emb.bias [cout]
    P.norm2.weight [cout]  P.norm2.bias [cout]
    P.conv2.weight [cout, cout, 3, 3]  P.conv2.bias [cout]
    P.skip.weight [cout, cin, 1, 1]  P.skip.bias [cout]      (only when cin ≠ cout)

Attention block with prefix A = `mid.attn` (x [N, 64, 7, 7]):

    h = A.norm(x)                                             GN, 8 groups
    qkv = A.qkv(h)                                            1×1 conv 64 → 192
    q = qkv[:, 0:64], k = qkv[:, 64:128], v = qkv[:, 128:192] (channel split order q, k, v)
    tokens: the 49 positions in row-major order (index = y·7 + x); q, k, v as [N, 49, 64]
    attn = softmax(q · kᵀ / sqrt(64), over the key axis)      [N, 49, 49]
    o = attn · v                                              [N, 49, 64] → back to [N, 64, 7, 7]
    out = x + A.proj(o)                                       1×1 conv 64 → 64

    mid.attn.norm.weight [64]  mid.attn.norm.bias [64]
    mid.attn.qkv.weight [192, 64, 1, 1]  mid.attn.qkv.bias [192]
    mid.attn.proj.weight [64, 64, 1, 1]  mid.attn.proj.bias [64]

Forward:

    h  = conv_in(x)                                  conv3 1 → 32            [N, 32, 28, 28]
    h  = ResBlock down.0.res (32 → 32);  s1 = h                               28×28
    h  = down.0.down(h)                              3×3 stride 2 pad 1, 32 → 32   → 14×14
    h  = ResBlock down.1.res (32 → 64);  s2 = h                               14×14
    h  = down.1.down(h)                              3×3 stride 2 pad 1, 64 → 64   → 7×7
    h  = ResBlock down.2.res (64 → 64)
    h  = ResBlock mid.res1 (64 → 64)
    h  = attention mid.attn
    h  = ResBlock mid.res2 (64 → 64)
    h  = up.0.up(nearest_upsample_2x(h))             conv3 64 → 64           → 14×14
    h  = ResBlock up.0.res (128 → 64) of concat([h, s2], channel axis)       (h first)
    h  = up.1.up(nearest_upsample_2x(h))             conv3 64 → 64           → 28×28
    h  = ResBlock up.1.res (96 → 32) of concat([h, s1], channel axis)        (h first)
    out = out.conv(SiLU(out.norm(h)))                GN(32), conv3 32 → 1    [N, 1, 28, 28]

nearest_upsample_2x(h)[:, :, y, x] = h[:, :, y // 2, x // 2].

The other weights:

    conv_in.weight [32, 1, 3, 3]   conv_in.bias [32]
    down.0.down.weight [32, 32, 3, 3]  down.0.down.bias [32]
    down.1.down.weight [64, 64, 3, 3]  down.1.down.bias [64]
    up.0.up.weight [64, 64, 3, 3]  up.0.up.bias [64]
    up.1.up.weight [64, 64, 3, 3]  up.1.up.bias [64]
    out.norm.weight [32]  out.norm.bias [32]
    out.conv.weight [1, 32, 3, 3]  out.conv.bias [1]      (initialised to zero)

and the ResBlocks: down.0.res (32, 32), down.1.res (32, 64, with skip), down.2.res (64, 64),
mid.res1 (64, 64), mid.res2 (64, 64), up.0.res (128, 64, with skip), up.1.res (96, 32, with skip).
`unet_shapes()` lists all 101 tensors with their shapes, in this order.

Schedules and time inputs
=========================

DDPM (ε-prediction): betas = linspace(1e-4, 0.02, 1000) (float64), alphas = 1 − betas,
alpha_bar = cumprod(alphas) (float64), all cast to float32 when used. Training: t uniform in
{0..999}, x_t = sqrt(ᾱ_t)·x0 + sqrt(1 − ᾱ_t)·ε, loss MSE(ε̂, ε); the network's time input s = t
(the integer as a float). Data x0 in [−1, 1].

Rectified flow (velocity prediction): x_t = (1 − t)·z + t·x1, z ~ N(0, I) (t = 0 noise, t = 1 data),
t ~ U(0, 1), target velocity x1 − z; the network's time input s = 1000·t.

Samplers (all take the initial noise x [N, 1, 28, 28], classes c [N] and guidance scale w)
==========================================================================================

Classifier-free guidance: each network evaluation runs one batch of 2N: the first N are x with the
classes c, the last N the same x with class 10 (null), all at the same time input;
out = out_null + w · (out_cond − out_null). w = 0 is unconditional, w = 1 plain conditional.

DDIM(S, η), on the DDPM model: τ_i = floor(i · 1000 / S), i = 0..S−1 (S = 20: 0, 50, ..., 950).
For i = S−1 down to 0: ᾱ = alpha_bar[τ_i], ᾱ_prev = alpha_bar[τ_{i−1}] (1.0 when i = 0),
ε̂ = guided network output at time input τ_i,
x0̂ = clip((x − sqrt(1 − ᾱ)·ε̂) / sqrt(ᾱ), −1, 1),
ε̃ = (x − sqrt(ᾱ)·x0̂) / sqrt(1 − ᾱ)                   (ε recomputed from the clipped x0̂),
σ = η · sqrt((1 − ᾱ_prev) / (1 − ᾱ)) · sqrt(1 − ᾱ / ᾱ_prev),
x ← sqrt(ᾱ_prev)·x0̂ + sqrt(1 − ᾱ_prev − σ²)·ε̃ + σ·z   (z ~ N(0, I); no z term when η = 0).
Equivalently, with a = sqrt(1 − ᾱ), b = sqrt(ᾱ), c = sqrt(ᾱ_prev), d = sqrt(1 − ᾱ_prev − σ²):
x ← (c − d·b/a)·x0̂ + (d/a)·x + σ·z, x0̂ = clip((x − a·ε̂) / b, −1, 1).
The recomputation is what OpenAI's guided-diffusion `ddim_sample` does (ε from the clipped x_start).
Keeping the unclipped ε̂ instead is inconsistent once the clip bites (at τ = 950, 1/sqrt(ᾱ) ≈ 100,
so x0̂ is clipped almost everywhere) and ruins guided samples: with the same weights, guidance 3,
DDIM-50, 200 samples, it gave 18% CNN accuracy against 100% with the recomputation.
The trajectory records x after each of the S updates (the last one is the sample, x0̂ of step 0).

DDPM ancestral (1000 steps): for t = 999 down to 0, ε̂ = guided output at time input t,
x ← 1/sqrt(α_t) · (x − β_t / sqrt(1 − ᾱ_t) · ε̂) + sqrt(β_t)·z for t > 0; no noise at t = 0.
No clipping.

Euler(S) and Heun(S), on the flow model: t_k = k / S, k = 0..S, dt = 1/S, from x = z at t = 0 to t = 1.
Euler: x ← x + dt · v(x, t_k), for k = 0..S−1.
Heun:  v1 = v(x, t_k); x' = x + dt·v1; v2 = v(x', t_{k+1}); x ← x + dt/2 · (v1 + v2), for k = 0..S−1,
including the last step (its second evaluation is at t = 1, time input 1000). 2S evaluations.
v(x, t) is the guided network output at time input 1000·t. No clipping.
"""

import json
import pathlib
import struct

import jax
import jax.numpy as jnp
import numpy as np

HI = jax.lax.Precision.HIGHEST
NULL_CLASS = 10
T_STEPS = 1000
TEMB = 128
GROUPS = 8

# ---------------------------------------------------------------------------------------------
# primitives


def conv(x, w, b, stride=1, pad=1):
    y = jax.lax.conv_general_dilated(x, w, (stride, stride), ((pad, pad), (pad, pad)),
                                     dimension_numbers=("NCHW", "OIHW", "NCHW"), precision=HI)
    return y + b[None, :, None, None]


def conv_transpose(x, w, b):
    """PyTorch ConvTranspose2d(k=3, stride=2, padding=1, output_padding=1), w as [I, O, kh, kw]."""
    wk = jnp.flip(w, (2, 3)).transpose(1, 0, 2, 3)
    y = jax.lax.conv_general_dilated(x, wk, (1, 1), ((1, 2), (1, 2)), lhs_dilation=(2, 2),
                                     dimension_numbers=("NCHW", "OIHW", "NCHW"), precision=HI)
    return y + b[None, :, None, None]


def linear(x, w, b):
    return jnp.dot(x, w.T, precision=HI) + b


def group_norm(x, w, b, groups=GROUPS, eps=1e-5):
    n, c, h, wd = x.shape
    g = x.reshape(n, groups, c // groups, h, wd)
    mean = g.mean(axis=(2, 3, 4), keepdims=True)
    var = ((g - mean) ** 2).mean(axis=(2, 3, 4), keepdims=True)
    g = (g - mean) / jnp.sqrt(var + eps)
    return g.reshape(n, c, h, wd) * w[None, :, None, None] + b[None, :, None, None]


def silu(x):
    return x * jax.nn.sigmoid(x)


def timestep_embedding(s, dim=64):
    half = dim // 2
    freqs = jnp.exp(-np.log(10000.0) * jnp.arange(half, dtype=jnp.float32) / half)
    a = s.astype(jnp.float32)[:, None] * freqs[None, :]
    return jnp.concatenate([jnp.sin(a), jnp.cos(a)], axis=1)


def upsample2(x):
    return jnp.repeat(jnp.repeat(x, 2, axis=2), 2, axis=3)


# ---------------------------------------------------------------------------------------------
# autoencoder

AE_SHAPES = {
    "enc.conv1.weight": (32, 1, 3, 3), "enc.conv1.bias": (32,),
    "enc.conv2.weight": (64, 32, 3, 3), "enc.conv2.bias": (64,),
    "enc.fc.weight": (32, 3136), "enc.fc.bias": (32,),
    "dec.fc.weight": (3136, 32), "dec.fc.bias": (3136,),
    "dec.deconv1.weight": (64, 32, 3, 3), "dec.deconv1.bias": (32,),
    "dec.deconv2.weight": (32, 1, 3, 3), "dec.deconv2.bias": (1,),
}
AE_FAN_IN = {"enc.conv1": 9, "enc.conv2": 288, "enc.fc": 3136, "dec.fc": 32, "dec.deconv1": 64 * 9 / 4,
             "dec.deconv2": 32 * 9 / 4}


def ae_init(key):
    p = {}
    keys = jax.random.split(key, len(AE_SHAPES))
    for k, (name, shape) in zip(keys, AE_SHAPES.items()):
        if name.endswith(".bias"):
            p[name] = jnp.zeros(shape, jnp.float32)
        else:
            p[name] = jax.random.normal(k, shape, jnp.float32) * np.sqrt(2.0 / AE_FAN_IN[name[:-7]])
    return p


def ae_encode(p, x):
    h = jax.nn.relu(conv(x, p["enc.conv1.weight"], p["enc.conv1.bias"], stride=2))
    h = jax.nn.relu(conv(h, p["enc.conv2.weight"], p["enc.conv2.bias"], stride=2))
    return linear(h.reshape(h.shape[0], -1), p["enc.fc.weight"], p["enc.fc.bias"])


def ae_decode(p, z):
    h = jax.nn.relu(linear(z, p["dec.fc.weight"], p["dec.fc.bias"])).reshape(-1, 64, 7, 7)
    h = jax.nn.relu(conv_transpose(h, p["dec.deconv1.weight"], p["dec.deconv1.bias"]))
    return jax.nn.sigmoid(conv_transpose(h, p["dec.deconv2.weight"], p["dec.deconv2.bias"]))


def ae_forward(p, x):
    return ae_decode(p, ae_encode(p, x))


# ---------------------------------------------------------------------------------------------
# U-Net

RESBLOCKS = [("down.0.res", 32, 32), ("down.1.res", 32, 64), ("down.2.res", 64, 64), ("mid.res1", 64, 64),
             ("mid.res2", 64, 64), ("up.0.res", 128, 64), ("up.1.res", 96, 32)]


def _res_shapes(prefix, cin, cout):
    s = {
        f"{prefix}.norm1.weight": (cin,), f"{prefix}.norm1.bias": (cin,),
        f"{prefix}.conv1.weight": (cout, cin, 3, 3), f"{prefix}.conv1.bias": (cout,),
        f"{prefix}.emb.weight": (cout, TEMB), f"{prefix}.emb.bias": (cout,),
        f"{prefix}.norm2.weight": (cout,), f"{prefix}.norm2.bias": (cout,),
        f"{prefix}.conv2.weight": (cout, cout, 3, 3), f"{prefix}.conv2.bias": (cout,),
    }
    if cin != cout:
        s[f"{prefix}.skip.weight"] = (cout, cin, 1, 1)
        s[f"{prefix}.skip.bias"] = (cout,)
    return s


def unet_shapes():
    s = {
        "time.lin1.weight": (TEMB, 64), "time.lin1.bias": (TEMB,),
        "time.lin2.weight": (TEMB, TEMB), "time.lin2.bias": (TEMB,),
        "class_emb.weight": (11, TEMB),
        "conv_in.weight": (32, 1, 3, 3), "conv_in.bias": (32,),
    }
    rb = {name: (cin, cout) for name, cin, cout in RESBLOCKS}
    s.update(_res_shapes("down.0.res", *rb["down.0.res"]))
    s.update({"down.0.down.weight": (32, 32, 3, 3), "down.0.down.bias": (32,)})
    s.update(_res_shapes("down.1.res", *rb["down.1.res"]))
    s.update({"down.1.down.weight": (64, 64, 3, 3), "down.1.down.bias": (64,)})
    s.update(_res_shapes("down.2.res", *rb["down.2.res"]))
    s.update(_res_shapes("mid.res1", *rb["mid.res1"]))
    s.update({
        "mid.attn.norm.weight": (64,), "mid.attn.norm.bias": (64,),
        "mid.attn.qkv.weight": (192, 64, 1, 1), "mid.attn.qkv.bias": (192,),
        "mid.attn.proj.weight": (64, 64, 1, 1), "mid.attn.proj.bias": (64,),
    })
    s.update(_res_shapes("mid.res2", *rb["mid.res2"]))
    s.update({"up.0.up.weight": (64, 64, 3, 3), "up.0.up.bias": (64,)})
    s.update(_res_shapes("up.0.res", *rb["up.0.res"]))
    s.update({"up.1.up.weight": (64, 64, 3, 3), "up.1.up.bias": (64,)})
    s.update(_res_shapes("up.1.res", *rb["up.1.res"]))
    s.update({"out.norm.weight": (32,), "out.norm.bias": (32,),
              "out.conv.weight": (1, 32, 3, 3), "out.conv.bias": (1,)})
    return s


def unet_init(key):
    shapes = unet_shapes()
    keys = jax.random.split(key, len(shapes))
    p = {}
    for k, (name, shape) in zip(keys, shapes.items()):
        if name.startswith("out.conv"):
            p[name] = jnp.zeros(shape, jnp.float32)
        elif ".norm" in name:
            p[name] = (jnp.ones if name.endswith(".weight") else jnp.zeros)(shape, jnp.float32)
        elif name == "class_emb.weight":
            p[name] = jax.random.normal(k, shape, jnp.float32)
        elif name.endswith(".bias"):
            p[name] = jnp.zeros(shape, jnp.float32)
        else:
            fan_in = int(np.prod(shape[1:]))
            p[name] = jax.random.normal(k, shape, jnp.float32) * np.sqrt(1.0 / fan_in)
    return p


def resblock(p, prefix, x, se):
    h = conv(silu(group_norm(x, p[f"{prefix}.norm1.weight"], p[f"{prefix}.norm1.bias"])),
             p[f"{prefix}.conv1.weight"], p[f"{prefix}.conv1.bias"])
    h = h + linear(se, p[f"{prefix}.emb.weight"], p[f"{prefix}.emb.bias"])[:, :, None, None]
    h = conv(silu(group_norm(h, p[f"{prefix}.norm2.weight"], p[f"{prefix}.norm2.bias"])),
             p[f"{prefix}.conv2.weight"], p[f"{prefix}.conv2.bias"])
    if f"{prefix}.skip.weight" in p:
        x = conv(x, p[f"{prefix}.skip.weight"], p[f"{prefix}.skip.bias"], pad=0)
    return h + x


def attention(p, prefix, x):
    n, c, hh, ww = x.shape
    h = group_norm(x, p[f"{prefix}.norm.weight"], p[f"{prefix}.norm.bias"])
    qkv = conv(h, p[f"{prefix}.qkv.weight"], p[f"{prefix}.qkv.bias"], pad=0).reshape(n, 3 * c, hh * ww)
    q, k, v = (qkv[:, i * c:(i + 1) * c].transpose(0, 2, 1) for i in range(3))  # [N, 49, C]
    a = jax.nn.softmax(jnp.einsum("nqc,nkc->nqk", q, k, precision=HI) / np.sqrt(c), axis=-1)
    o = jnp.einsum("nqk,nkc->nqc", a, v, precision=HI).transpose(0, 2, 1).reshape(n, c, hh, ww)
    return x + conv(o, p[f"{prefix}.proj.weight"], p[f"{prefix}.proj.bias"], pad=0)


def unet(p, x, s, c):
    """x [N, 1, 28, 28], s [N] float time input, c [N] int classes (10 = null) -> [N, 1, 28, 28]."""
    emb = timestep_embedding(s)
    temb = linear(silu(linear(emb, p["time.lin1.weight"], p["time.lin1.bias"])),
                  p["time.lin2.weight"], p["time.lin2.bias"])
    se = silu(temb + p["class_emb.weight"][c])
    h = conv(x, p["conv_in.weight"], p["conv_in.bias"])
    h = resblock(p, "down.0.res", h, se)
    s1 = h
    h = conv(h, p["down.0.down.weight"], p["down.0.down.bias"], stride=2)
    h = resblock(p, "down.1.res", h, se)
    s2 = h
    h = conv(h, p["down.1.down.weight"], p["down.1.down.bias"], stride=2)
    h = resblock(p, "down.2.res", h, se)
    h = resblock(p, "mid.res1", h, se)
    h = attention(p, "mid.attn", h)
    h = resblock(p, "mid.res2", h, se)
    h = conv(upsample2(h), p["up.0.up.weight"], p["up.0.up.bias"])
    h = resblock(p, "up.0.res", jnp.concatenate([h, s2], axis=1), se)
    h = conv(upsample2(h), p["up.1.up.weight"], p["up.1.up.bias"])
    h = resblock(p, "up.1.res", jnp.concatenate([h, s1], axis=1), se)
    h = silu(group_norm(h, p["out.norm.weight"], p["out.norm.bias"]))
    return conv(h, p["out.conv.weight"], p["out.conv.bias"])


# ---------------------------------------------------------------------------------------------
# schedule and samplers

BETAS64 = np.linspace(1e-4, 0.02, T_STEPS, dtype=np.float64)
ALPHAS_BAR64 = np.cumprod(1.0 - BETAS64)
BETAS = BETAS64.astype(np.float32)
ALPHAS = (1.0 - BETAS64).astype(np.float32)
ALPHAS_BAR = ALPHAS_BAR64.astype(np.float32)


def cfg_batch(p, x, s, c):
    """The 2N-batch (first N conditional, last N null) at the scalar time input s; returns both halves."""
    n = x.shape[0]
    xx = jnp.concatenate([x, x], axis=0)
    cc = jnp.concatenate([c, jnp.full((n,), NULL_CLASS, jnp.int32)], axis=0)
    out = unet(p, xx, jnp.full((2 * n,), s, jnp.float32), cc)
    return out[:n], out[n:]


_cfg_batch = jax.jit(cfg_batch)
_unet = jax.jit(unet)


def guided(p, x, s, c, w):
    """null + w·(cond − null); at w = 0 (the null pass alone) and w = 1 (the conditional pass alone)
    one network pass of N images instead of the 2N-batch: the same value (at w = 1 up to rounding)."""
    if w in (0.0, 1.0):
        cls = c if w == 1.0 else jnp.full(c.shape, NULL_CLASS, jnp.int32)
        return _unet(p, x, jnp.full(c.shape, s, jnp.float32), cls)
    cond, null = _cfg_batch(p, x, jnp.float32(s), c)
    return null + jnp.float32(w) * (cond - null)


def ddim_timesteps(steps):
    return [(i * T_STEPS) // steps for i in range(steps)]


def ddim_sample(p, x, c, w, steps, eta=0.0, key=None):
    """Returns (samples, trajectory: x after each update, as a list of arrays)."""
    taus = ddim_timesteps(steps)
    traj = []
    for i in range(steps - 1, -1, -1):
        ab = ALPHAS_BAR[taus[i]]
        ab_prev = ALPHAS_BAR[taus[i - 1]] if i > 0 else np.float32(1.0)
        eps = guided(p, x, float(taus[i]), c, w)
        a, b = np.sqrt(np.float32(1.0) - ab), np.sqrt(ab)
        x0 = jnp.clip((x - a * eps) / b, -1.0, 1.0)
        eps = (x - b * x0) / a  # ε recomputed from the clipped x0̂
        sigma = np.float32(eta * np.sqrt((1 - ab_prev) / (1 - ab)) * np.sqrt(1 - ab / ab_prev))
        x = np.sqrt(ab_prev) * x0 + np.sqrt(np.float32(max(1.0 - ab_prev - sigma * sigma, 0.0))) * eps
        if eta > 0 and i > 0:
            key, sub = jax.random.split(key)
            x = x + sigma * jax.random.normal(sub, x.shape, jnp.float32)
        traj.append(x)
    return x, traj


def ddpm_sample(p, x, c, w, key):
    for t in range(T_STEPS - 1, -1, -1):
        eps = guided(p, x, float(t), c, w)
        x = (x - BETAS[t] / np.sqrt(np.float32(1.0) - ALPHAS_BAR[t]) * eps) / np.sqrt(ALPHAS[t])
        if t > 0:
            key, sub = jax.random.split(key)
            x = x + np.sqrt(BETAS[t]) * jax.random.normal(sub, x.shape, jnp.float32)
    return x


def euler_sample(p, x, c, w, steps):
    traj, dt = [], np.float32(1.0 / steps)
    for k in range(steps):
        x = x + dt * guided(p, x, 1000.0 * k / steps, c, w)
        traj.append(x)
    return x, traj


def heun_sample(p, x, c, w, steps):
    traj, dt = [], np.float32(1.0 / steps)
    for k in range(steps):
        v1 = guided(p, x, 1000.0 * k / steps, c, w)
        xe = x + dt * v1
        v2 = guided(p, xe, 1000.0 * (k + 1) / steps, c, w)
        x = x + (dt / np.float32(2.0)) * (v1 + v2)
        traj.append(x)
    return x, traj


# ---------------------------------------------------------------------------------------------
# the shipped MNIST CNN (scripts/train_mnist_cnn.py), as the quality judge


def read_safetensors(path):
    raw = pathlib.Path(path).read_bytes()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32"
        a, b = info["data_offsets"]
        out[name] = np.frombuffer(raw[8 + n + a:8 + n + b], "<f4").reshape(info["shape"])
    return out


def _cnn_logits(p, x):
    def pool(v):
        return jax.lax.reduce_window(v, -jnp.inf, jax.lax.max, (1, 1, 2, 2), (1, 1, 2, 2), "VALID")
    x = pool(jax.nn.relu(conv(x, p["conv1.weight"], p["conv1.bias"])))
    x = pool(jax.nn.relu(conv(x, p["conv2.weight"], p["conv2.bias"])))
    x = jax.nn.relu(linear(x.reshape(x.shape[0], -1), p["fc1.weight"], p["fc1.bias"]))
    return linear(x, p["fc2.weight"], p["fc2.bias"])


cnn_logits = jax.jit(_cnn_logits)


def rounded(a, digits=7):
    """A flat list of floats rounded to `digits` significant digits (for small JSON goldens)."""
    return [float(f"{v:.{digits}g}") for v in np.asarray(a, np.float32).ravel().tolist()]
