"""The CNN rung of the MNIST ladder: a small convolutional network trained on the CPU with JAX.

    pip install jax==0.10.2
    python3 scripts/train_mnist_cnn.py

Reads the idx files that scripts/prepare_mnist.py shipped in assets/mnist/, trains

    conv1 3x3 1->32 pad 1, ReLU, max-pool 2
    conv2 3x3 32->64 pad 1, ReLU, max-pool 2
    fc1 3136->128, ReLU
    fc2 128->10

(NCHW, PyTorch layouts and names, so `fc1` reads the flattened (channel, row, column) order)
with Adam (batch 128, 6 epochs, step decay, fixed seed, no augmentation), and writes

- assets/models/mnist_cnn.safetensors: the f32 weights;
- assets/golden/classify/mnist_cnn.json: the logits JAX computes for the first 64 test images,
  with their labels and the test accuracy JAX measured on all 10 000.

Takes about twenty minutes on two cores.
"""

import gzip
import json
import pathlib
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from convert_mobilenet_v2 import ROOT, write_safetensors  # noqa: E402

GOLDEN_IMAGES = 64


def load(prefix):
    d = ROOT / "assets" / "mnist"
    images = gzip.open(d / f"{prefix}-images.idx3-ubyte.gz").read()
    labels = gzip.open(d / f"{prefix}-labels.idx1-ubyte.gz").read()
    x = np.frombuffer(images, np.uint8, offset=16).reshape(-1, 1, 28, 28).astype(np.float32) / 255.0
    return x, np.frombuffer(labels, np.uint8, offset=8).astype(np.int32)


def init(key):
    def he(key, shape, fan_in):
        return jax.random.normal(key, shape, jnp.float32) * np.sqrt(2.0 / fan_in)

    k = jax.random.split(key, 4)
    return {
        "conv1.weight": he(k[0], (32, 1, 3, 3), 9), "conv1.bias": jnp.zeros(32),
        "conv2.weight": he(k[1], (64, 32, 3, 3), 288), "conv2.bias": jnp.zeros(64),
        "fc1.weight": he(k[2], (128, 3136), 3136), "fc1.bias": jnp.zeros(128),
        "fc2.weight": he(k[3], (10, 128), 128), "fc2.bias": jnp.zeros(10),
    }


def conv(x, w, b):
    y = jax.lax.conv_general_dilated(x, w, (1, 1), ((1, 1), (1, 1)), dimension_numbers=("NCHW", "OIHW", "NCHW"),
                                     precision=jax.lax.Precision.HIGHEST)
    return y + b[None, :, None, None]


def pool(x):
    return jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, (1, 1, 2, 2), (1, 1, 2, 2), "VALID")


def logits(p, x):
    x = pool(jax.nn.relu(conv(x, p["conv1.weight"], p["conv1.bias"])))
    x = pool(jax.nn.relu(conv(x, p["conv2.weight"], p["conv2.bias"])))
    x = x.reshape(x.shape[0], -1)
    x = jax.nn.relu(jnp.dot(x, p["fc1.weight"].T, precision="highest") + p["fc1.bias"])
    return jnp.dot(x, p["fc2.weight"].T, precision="highest") + p["fc2.bias"]


def loss(p, x, y):
    z = logits(p, x)
    return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(z), y[:, None], axis=1))


@jax.jit
def step(p, m, v, t, lr, x, y):
    g = jax.grad(loss)(p, x, y)
    b1, b2 = 0.9, 0.999
    m = jax.tree.map(lambda a, b: b1 * a + (1 - b1) * b, m, g)
    v = jax.tree.map(lambda a, b: b2 * a + (1 - b2) * b * b, v, g)
    p = jax.tree.map(lambda w, a, b: w - lr * (a / (1 - b1**t)) / (jnp.sqrt(b / (1 - b2**t)) + 1e-8), p, m, v)
    return p, m, v


predict = jax.jit(logits)


def accuracy(p, x, y):
    hits = sum(int((np.asarray(predict(p, x[i:i + 1000])).argmax(1) == y[i:i + 1000]).sum()) for i in range(0, len(x), 1000))
    return hits / len(x)


def main(epochs=6, batch=128, seed=0):
    xtr, ytr = load("train")
    xte, yte = load("t10k")
    p = init(jax.random.PRNGKey(seed))
    m = jax.tree.map(jnp.zeros_like, p)
    v = jax.tree.map(jnp.zeros_like, p)
    rng, t = np.random.default_rng(seed), 0
    for epoch in range(epochs):
        start, lr = time.time(), 1e-3 * (0.3 ** (epoch // 2))
        order = rng.permutation(len(xtr))
        for i in range(0, len(xtr) - batch + 1, batch):
            idx = order[i:i + batch]
            t += 1
            p, m, v = step(p, m, v, t, lr, xtr[idx], ytr[idx])
        print(f"epoch {epoch + 1}: lr {lr:.1e}, test accuracy {accuracy(p, xte, yte):.4f}, {time.time() - start:.0f} s", flush=True)
    acc = accuracy(p, xte, yte)
    weights = {k: np.asarray(w, np.float32) for k, w in p.items()}
    write_safetensors(ROOT / "assets/models/mnist_cnn.safetensors", weights)
    golden = {
        "framework": f"jax {jax.__version__}",
        "test_accuracy": acc,
        "labels": yte[:GOLDEN_IMAGES].tolist(),
        "logits": np.asarray(predict(p, xte[:GOLDEN_IMAGES]), np.float64).tolist(),
    }
    (ROOT / "assets/golden/classify/mnist_cnn.json").write_text(json.dumps(golden))
    print(f"mnist_cnn: test accuracy {acc:.4f}")


if __name__ == "__main__":
    main()
