"""Time the training framework's jitted U-Net forward pass on this CPU, for `ocelli bench model
--model ddpm_mnist|flow_mnist` to be read against.

    pip install jax==0.10.2 numpy
    python3 scripts/bench_unet_jax.py [--batch 1 64] [--runs 10]

One sampler step of batch B is one guided evaluation: the U-Net on 2·B images (B conditional,
B null class) at one time input, plus the guidance combination. This times exactly that
(`diffusion_mnist_model._cfg_batch` and the guidance arithmetic, jitted together), median of
`--runs` after a warm-up, and prints ms per step.
"""

import argparse
import pathlib
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import diffusion_mnist_model as M  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, nargs="+", default=[1, 64])
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--model", default="ddpm_mnist")
    args = ap.parse_args()
    p = {k: jnp.asarray(a) for k, a in M.read_safetensors(ROOT / f"assets/models/{args.model}.safetensors").items()}

    @jax.jit
    def step(x, s, c, w):
        cond, null = M.cfg_batch(p, x, s, c)
        return null + w * (cond - null)

    print(f"jax {jax.__version__}, devices {jax.devices()}")
    for b in args.batch:
        x = jax.random.normal(jax.random.PRNGKey(0), (b, 1, 28, 28), jnp.float32)
        c = jnp.arange(b, dtype=jnp.int32) % 10
        jax.block_until_ready(step(x, jnp.float32(500.0), c, jnp.float32(3.0)))
        times = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            jax.block_until_ready(step(x, jnp.float32(500.0), c, jnp.float32(3.0)))
            times.append(time.perf_counter() - t0)
        print(f"{args.model} batch {b} (network batch {2 * b}): {1e3 * np.median(times):.1f} ms per step"
              f" (min {1e3 * min(times):.1f}), median of {args.runs}")


if __name__ == "__main__":
    main()
