"""Sample digit images for `ocelli classify --model mnist_*` and its CLI test.

    python3 scripts/export_mnist_digits.py

Writes to assets/digits/ the first MNIST test image of each class as a 28x28 grey PNG named
`test{INDEX}_digit{LABEL}.png`, and one "paper" version of the first (a dark digit on a light
background, RGB, upscaled 3x by pixel repetition) named `paper_test{INDEX}_digit{LABEL}.png`:
it exercises the grey conversion, the area resize and the inversion of the preprocessing.
"""

import gzip
import pathlib
import struct
import sys
import zlib

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from convert_mobilenet_v2 import ROOT  # noqa: E402


def write_png(path, pixels):
    """8-bit grey (H, W) or RGB (H, W, 3) array to PNG, no filtering."""
    h, w = pixels.shape[:2]
    colour = 2 if pixels.ndim == 3 else 0
    raw = b"".join(b"\x00" + pixels[y].tobytes() for y in range(h))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", w, h, 8, colour, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def main():
    d = ROOT / "assets" / "mnist"
    images = np.frombuffer(gzip.open(d / "t10k-images.idx3-ubyte.gz").read(), np.uint8, offset=16).reshape(-1, 28, 28)
    labels = np.frombuffer(gzip.open(d / "t10k-labels.idx1-ubyte.gz").read(), np.uint8, offset=8)
    out = ROOT / "assets" / "digits"
    out.mkdir(parents=True, exist_ok=True)
    for digit in range(10):
        i = int(np.argmax(labels == digit))
        write_png(out / f"test{i}_digit{digit}.png", images[i])
        if digit == 0:
            paper = np.repeat(np.repeat(255 - images[i], 3, axis=0), 3, axis=1)
            write_png(out / f"paper_test{i}_digit{digit}.png", np.stack([paper] * 3, axis=-1))


if __name__ == "__main__":
    main()
