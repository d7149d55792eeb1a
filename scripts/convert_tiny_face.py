"""face-api.js Tiny Face Detector (Tiny-YOLOv2 style) weights, op list and golden detections for Ocelli.

    pip install numpy          # and Node.js >= 18 with npm on the PATH
    python3 scripts/convert_tiny_face.py

1. Fetches the npm package @vladmandic/face-api@1.7.15 (`npm pack`; MIT) and reads
   model/tiny_face_detector_model-weights_manifest.json and model/tiny_face_detector_model.bin
   out of it, checking their sha256. The .bin holds the 19 weights of the manifest back to back,
   each as uint8 (one byte per value, row-major in the manifest's TF shape).
2. Dequantises exactly as tfjs-core's io.decodeWeights does for uint8 affine quantisation:
   value = float32(q * scale + min), the product and sum taken in float64 (JavaScript numbers)
   with the manifest's scale and min, then stored in a Float32Array.
3. Writes assets/models/tiny_face.safetensors as F32 in Ocelli's layouts:
       conv (TF HWIO [kh, kw, I, O])        -> [O, I, kh, kw]
       depthwise (TF [kh, kw, C, 1])        -> [C, 1, kh, kw]
       pointwise (TF [1, 1, I, O])          -> [O, I, 1, 1]
       bias                                 -> [O]
   Names (k = 1..5; face-api's manifest names in brackets):
       conv0.weight [16, 3, 3, 3], conv0.bias [16]   3x3 VALID stem conv, 3 -> 16  [conv0/filters, conv0/bias]
       conv{k}.dw.weight [C, 1, 3, 3]                depthwise 3x3 of block k      [conv{k}/depthwise_filter]
       conv{k}.pw.weight [O, C, 1, 1]                pointwise 1x1 of block k      [conv{k}/pointwise_filter]
       conv{k}.pw.bias [O]                           the block's only bias, added  [conv{k}/bias]
                                                     after the pointwise conv
       conv8.weight [25, 512, 1, 1], conv8.bias [25] 1x1 output conv               [conv8/filters, conv8/bias]
   Blocks 1..5 are 16->32, 32->64, 64->128, 128->256, 256->512. face-api's optional conv6/conv7
   blocks are absent from this model (its filterSizes has 7 entries), hence the gap before conv8.
   Stored as F32: the dequantised values are not f16 numbers, and rounding them to f16 (at
   most 9.4e-4 absolute) would move the raw grid by up to 3.4e-2 absolute (measured by this
   script, numpy float64 forward passes on the three images) against 4e-5 between tfjs and
   numpy with the exact float32 weights, so the file keeps float32 (773 KB) and Ocelli is
   compared tightly against face-api itself. The golden file still records the grid f16
   weights would give ("raw_f16_weights"), for reference.
4. Writes the layer list (shapes for a 416 input, strides, paddings, activations, constant
   names) to scripts/tiny_face_ops.txt and prints it.
5. Installs @tensorflow/tfjs@4.22.0 and @tensorflow/tfjs-backend-wasm@4.22.0 (face-api's
   node-wasm build requires both) next to the packed face-api in a temporary npm project, and
   runs scripts/tiny_face_golden.mjs: face-api's ORIGINAL code on tfjs's pure-JS "cpu" backend
   (no native binding and no .wasm is loaded) on assets/images/*.png at input size 416. That
   writes the input tensor face-api built, its raw output grid, its candidates and detections.
   This script then checks (a) that tfjs's dequantised weights equal ours bit for bit, (b) that
   the numpy preprocessing below reproduces face-api's input tensor, (c) that an independent
   float64 numpy forward pass with the converted weights reproduces the raw grid, (d) that the
   numpy decode + NMS below reproduces face-api's detections, and writes
   assets/golden/detect/tiny_face.json.

Preprocessing (face-api's NetInput.toBatchTensor(S, isCenterInputs=false) for a tensor input,
then TinyYolov2Base.forwardInput), for an RGB image of H x W pixels with values v in [0, 255]
(an int32 tensor, as tf.node.decodeImage gives it), S = input size (416; any multiple of 32):
   pad to square: side = max(H, W); the image is placed at the TOP-LEFT of a side x side canvas of
   zeros (padToSquare appends all |H - W| rows at the bottom, or columns at the right; nothing is
   centred). The pad value is 0 before the mean subtraction, i.e. (0 - mean) / 255 after it.
   resize: if side != S, tf.image.resizeBilinear(square, [S, S], alignCorners=false,
   halfPixelCenters=false) -- the legacy TF convention, NOT half-pixel: with r = side / S (float64),
       src_y = r * y_out;  y0 = floor(src_y);  y1 = min(y0 + 1, side - 1) (= min(ceil(src_y), side - 1));
       fy = src_y - y0  (same for x), and
       top = p[y0, x0] + (p[y0, x1] - p[y0, x0]) * fx;  bottom = p[y1, x0] + (p[y1, x1] - p[y1, x0]) * fx;
       out = float32(top + (bottom - top) * fy)          (evaluated in float64, stored as float32).
   normalise: x = float32(float32(out - float32(mean_c)) / 255), mean = (117.001, 114.697, 97.404)
   for (R, G, B). No division by a std; values lie in about [-0.46, 0.62]. NHWC [1, S, S, 3], RGB.
   The numpy version below is checked to match face-api's tensor exactly (max |diff| printed).

Network output: NHWC [1, G, G, 25] with G = S / 32 (13 for 416). Channel c = 5 * a + k for anchor
a in 0..4 and k: 0 tx, 1 ty, 2 tw, 3 th, 4 objectness logit (face-api reshapes to [G, G, 5, 5]).
Row = y cell, col = x cell. One class ("face"), no class scores (boxEncodingSize 5): the score is
the sigmoid of the objectness logit alone (no softmax).

Post-processing (TinyYolov2Base.extractBoxes + detect, TinyFaceDetector's config):
   anchors (in grid cells, (w, h)): (1.603231, 2.094468), (6.041143, 7.080126),
   (2.882459, 3.518061), (4.266906, 5.178857), (9.041765, 10.66308).
   (rw, rh) = face-api's "reshaped input dimensions": s = S / max(H, W),
   rw = round(W * s), rh = round(H * s) (JavaScript Math.round); cx = S / rw, cy = S / rh.
   For cell (row, col) and anchor a, in fractions of the image:
       score = sigmoid(t_conf); kept if score > 0.5 (strictly; scoreThreshold 0.5 default)
       ctr_x = (col + sigmoid(tx)) / G * cx,  ctr_y = (row + sigmoid(ty)) / G * cy
       w = exp(tw) * anchor_w / G * cx,        h = exp(th) * anchor_h / G * cy
       relative box = (ctr_x - w/2, ctr_y - h/2, ctr_x - w/2 + w, ctr_y - h/2 + h)
   NMS (ops/nonMaxSuppression, IoU threshold 0.4): candidates in (row, col, anchor) order are
   stably sorted by score ascending and the last one popped: the highest score first, and among
   equal scores the one latest in (row, col, anchor) order; every remaining box with IoU > 0.4
   against it is dropped (IoU <= 0.4 survives); repeat. IoU on the boxes scaled by S (this does
   not change it). Output in that pick order, no clipping to the image.
   Image pixels: box * (W, H): x1 = rel_x1 * W, y1 = rel_y1 * H, x2 = x1 + (rel_x2 - rel_x1) * W, ...
   (face-api's FaceDetection box). Because rw, rh are rounded, this differs slightly from mapping
   the tensor back through the exact scale side / S.
"""

import hashlib
import json
import math
import pathlib
import shutil
import subprocess
import sys
import tarfile
import tempfile

import numpy as np

from convert_mobilenet_v2 import ROOT, read_png_rgb, write_safetensors

PACKAGE = "@vladmandic/face-api@1.7.15"
TFJS = ["@tensorflow/tfjs@4.22.0", "@tensorflow/tfjs-backend-wasm@4.22.0"]
MANIFEST = "package/model/tiny_face_detector_model-weights_manifest.json"
BIN = "package/model/tiny_face_detector_model.bin"
MANIFEST_SHA256 = "5d1af4849ac48d5b985f4a9b16010c512353ddd6fcc63d50fd0bc9e9e64296e5"
BIN_SHA256 = "b7503ce7df31039b1c43316a9b865cab6a70dd748cc602d3fa28b551503c3871"
SIZE = 416
MEAN_RGB = (117.001, 114.697, 97.404)
ANCHORS = [(1.603231, 2.094468), (6.041143, 7.080126), (2.882459, 3.518061), (4.266906, 5.178857),
           (9.041765, 10.66308)]
SCORE_THRESHOLD = 0.5
LOW_THRESHOLD = 0.02      # a second run, so that every image has detections and NMS has work to do
IOU_THRESHOLD = 0.4
LEAKY = 0.1
CHANNELS = [3, 16, 32, 64, 128, 256, 512]


def run(cmd, **kw):
    print("+", " ".join(map(str, cmd)), flush=True)
    return subprocess.run(cmd, check=True, **kw)


# ---- the package and its weights ------------------------------------------------------------

def fetch_package(into):
    out = run(["npm", "pack", PACKAGE, "--pack-destination", str(into), "--json"], capture_output=True, text=True)
    info = json.loads(out.stdout)[0]
    tgz = pathlib.Path(into) / info["filename"]
    with tarfile.open(tgz) as tar:
        manifest = tar.extractfile(MANIFEST).read()
        blob = tar.extractfile(BIN).read()
    assert hashlib.sha256(manifest).hexdigest() == MANIFEST_SHA256, "unexpected manifest"
    assert hashlib.sha256(blob).hexdigest() == BIN_SHA256, "unexpected weights"
    return tgz, manifest, blob, info["integrity"]


def dequantise(manifest, blob):
    """-> {face-api name: float32 array in TF layout}, {name: quantisation record}."""
    (group,) = json.loads(manifest)
    assert group["paths"] == ["tiny_face_detector_model.bin"]
    weights, quant, offset = {}, {}, 0
    for spec in group["weights"]:
        q = spec["quantization"]
        assert spec["dtype"] == "float32" and q["dtype"] == "uint8", spec
        n = math.prod(spec["shape"])
        raw = np.frombuffer(blob, np.uint8, n, offset).astype(np.float64)
        weights[spec["name"]] = (raw * q["scale"] + q["min"]).astype(np.float32).reshape(spec["shape"])
        quant[spec["name"]] = {"shape": spec["shape"], "scale": q["scale"], "min": q["min"]}
        offset += n
    assert offset == len(blob), (offset, len(blob))
    return weights, quant


def to_ocelli(tf_weights):
    """face-api names and TF layouts -> Ocelli names and layouts (see the module docstring)."""
    out = {"conv0.weight": tf_weights["conv0/filters"].transpose(3, 2, 0, 1),      # HWIO -> OIHW
           "conv0.bias": tf_weights["conv0/bias"]}
    source = {"conv0.weight": "conv0/filters", "conv0.bias": "conv0/bias"}
    for k in range(1, 6):
        dw, pw = tf_weights[f"conv{k}/depthwise_filter"], tf_weights[f"conv{k}/pointwise_filter"]
        assert dw.shape == (3, 3, CHANNELS[k], 1) and pw.shape == (1, 1, CHANNELS[k], CHANNELS[k + 1])
        out[f"conv{k}.dw.weight"] = dw.transpose(2, 3, 0, 1)                       # [3,3,C,1] -> [C,1,3,3]
        out[f"conv{k}.pw.weight"] = pw.transpose(3, 2, 0, 1)                       # [1,1,I,O] -> [O,I,1,1]
        out[f"conv{k}.pw.bias"] = tf_weights[f"conv{k}/bias"]
        source.update({f"conv{k}.dw.weight": f"conv{k}/depthwise_filter", f"conv{k}.pw.weight": f"conv{k}/pointwise_filter",
                       f"conv{k}.pw.bias": f"conv{k}/bias"})
    out["conv8.weight"] = tf_weights["conv8/filters"].transpose(3, 2, 0, 1)
    out["conv8.bias"] = tf_weights["conv8/bias"]
    source.update({"conv8.weight": "conv8/filters", "conv8.bias": "conv8/bias"})
    assert sorted(source.values()) == sorted(tf_weights), "a weight was left out"
    return {k: np.ascontiguousarray(v) for k, v in out.items()}, source


# ---- layer list -------------------------------------------------------------------------------

def same_pads(n, k, s):
    out = -(-n // s)
    total = max((out - 1) * s + k - n, 0)
    return total // 2, total - total // 2


def layers(size=SIZE):
    """The network as face-api's TinyYolov2Base.runMobilenet runs it (isFirstLayerConv2d, no conv6/7)."""
    seq, n = [], size
    seq.append(dict(op="conv", name="conv0", kernel=3, stride=1, pads=(0, 0, 0, 0), cin=3, cout=16,
                    act="leaky", hin=n, hout=n - 2))
    n -= 2
    for k in range(1, 6):
        t, b = same_pads(n, 2, 2)
        seq.append(dict(op="max_pool", kernel=2, stride=2, pads=(t, b, t, b), c=CHANNELS[k], hin=n, hout=-(-n // 2)))
        n = -(-n // 2)
        seq.append(dict(op="separable", name=f"conv{k}", kernel=3, stride=1, pads=(1, 1, 1, 1), cin=CHANNELS[k],
                        cout=CHANNELS[k + 1], act="leaky", hin=n, hout=n))
    t, b = same_pads(n, 2, 1)
    seq.append(dict(op="max_pool", kernel=2, stride=1, pads=(t, b, t, b), c=512, hin=n, hout=n))
    seq.append(dict(op="conv", name="conv8", kernel=1, stride=1, pads=(0, 0, 0, 0), cin=512, cout=25, act="none",
                    hin=n, hout=n))
    return seq


def describe(weights, source, quant):
    lines = [f"face-api TinyFaceDetector ({PACKAGE}), input NHWC [1, {SIZE}, {SIZE}, 3] float32 RGB, "
             f"x = (v - mean_rgb) / 255, mean_rgb = {list(MEAN_RGB)}",
             "any input size S that is a multiple of 32 works: the spatial sizes are S, S-2, S/2-1, S/4, S/8, S/16, S/32",
             "pads = (top, bottom, left, right); max-pool SAME pads never take part in the max (TF: the odd pixel "
             "goes to the bottom/right)",
             "leaky = face-api's leaky(): relu(x - 0.1f*x) + 0.1f*x, i.e. x for x > 0, 0.1*x otherwise (slope float32(0.1))",
             "separable = zero-pad 1 on each side, depthwise 3x3 stride 1 VALID (no bias), pointwise 1x1 (no bias), "
             "+ bias, leaky (face-api's depthwiseSeparableConv; tf.separableConv2d)", ""]
    for i, l in enumerate(layers()):
        shape_in = f"{l['hin']}x{l['hin']}x{l.get('cin', l.get('c'))}"
        shape_out = f"{l['hout']}x{l['hout']}x{l.get('cout', l.get('c'))}"
        if l["op"] == "max_pool":
            lines.append(f"{i:3d} max_pool {l['kernel']}x{l['kernel']} stride {l['stride']} SAME  {shape_in} -> {shape_out}  "
                         f"pads {l['pads']}")
            continue
        names = ([f"{l['name']}.weight", f"{l['name']}.bias"] if l["op"] == "conv"
                 else [f"{l['name']}.dw.weight", f"{l['name']}.pw.weight", f"{l['name']}.pw.bias"])
        consts = ", ".join(f"{nm} {list(weights[nm].shape)} (face-api {source[nm]} {quant[source[nm]]['shape']})"
                           for nm in names)
        kind = (f"conv {l['kernel']}x{l['kernel']} stride 1 {'VALID' if l['name'] == 'conv0' else 'VALID (1x1)'}"
                if l["op"] == "conv" else "separable 3x3 stride 1 (explicit zero pad 1, then VALID)")
        lines.append(f"{i:3d} {l['name']:<5} {kind}  {shape_in} -> {shape_out}  pads {l['pads']}  "
                     f"activation {l['act']}  constants: {consts}")
    lines += ["", "output: [1, 13, 13, 25] NHWC, channel = 5 * anchor + k, k = (tx, ty, tw, th, objectness logit); "
              "row = y cell, col = x cell",
              f"anchors (w, h) in grid cells: {ANCHORS}",
              "", f"safetensors ({len(weights)} tensors, F32; dequantised float32(q * scale + min)):"]
    lines += [f"  {nm:<18} {str(list(arr.shape)):<18} from {source[nm]}" for nm, arr in weights.items()]
    return "\n".join(lines) + "\n"


# ---- independent numpy forward pass (NHWC, float64) --------------------------------------------

def leaky(x):
    return np.where(x > 0, x, LEAKY * x)


def max_pool(x, stride):
    h, w, c = x.shape
    (t, b), (l, r) = same_pads(h, 2, stride), same_pads(w, 2, stride)
    xp = np.pad(x, ((t, b), (l, r), (0, 0)), constant_values=-np.inf)
    oh, ow = -(-h // stride), -(-w // stride)
    taps = [xp[dy:dy + stride * oh:stride, dx:dx + stride * ow:stride] for dy in range(2) for dx in range(2)]
    return np.max(taps, axis=0)


def conv3x3(x, w):
    """VALID 3x3 conv, x [H, W, C], w [O, C, 3, 3]."""
    h, wd, c = x.shape
    taps = np.stack([x[ky:h - 2 + ky, kx:wd - 2 + kx] for ky in range(3) for kx in range(3)], axis=-1)   # oh, ow, c, 9
    return taps.reshape((h - 2) * (wd - 2), c * 9) @ w.reshape(w.shape[0], -1).T


def depthwise3x3(x, w):
    """zero pad 1, VALID depthwise 3x3; w [C, 1, 3, 3]."""
    h, wd, _ = x.shape
    xp = np.pad(x, ((1, 1), (1, 1), (0, 0)))
    return sum(xp[ky:ky + h, kx:kx + wd] * w[:, 0, ky, kx] for ky in range(3) for kx in range(3))


def np_forward(weights, x):
    """x [S, S, 3] -> raw grid [S/32, S/32, 25]."""
    w = {k: v.astype(np.float64) for k, v in weights.items()}
    s = x.shape[0]
    y = leaky(conv3x3(x.astype(np.float64), w["conv0.weight"]).reshape(s - 2, s - 2, 16) + w["conv0.bias"])
    for k in range(1, 6):
        y = max_pool(y, 2)
        y = depthwise3x3(y, w[f"conv{k}.dw.weight"])
        y = leaky(y @ w[f"conv{k}.pw.weight"][:, :, 0, 0].T + w[f"conv{k}.pw.bias"])
    y = max_pool(y, 1)
    return y @ w["conv8.weight"][:, :, 0, 0].T + w["conv8.bias"]


# ---- pre- and post-processing -------------------------------------------------------------------

def preprocess(rgb, size=SIZE):
    """rgb uint8 [H, W, 3] -> (face-api's input [size, size, 3] float32, record of the geometry)."""
    h, w, _ = rgb.shape
    side = max(h, w)
    square = np.zeros((side, side, 3), np.float64)
    square[:h, :w] = rgb
    if side != size:
        ratio = side / size
        src = ratio * np.arange(size)
        i0 = np.maximum(0, np.floor(src)).astype(int)
        i1 = np.minimum(side - 1, np.ceil(src)).astype(int)
        f = src - i0
        fx, fy = f[None, :, None], f[:, None, None]
        tl, tr = square[i0][:, i0], square[i0][:, i1]
        bl, br = square[i1][:, i0], square[i1][:, i1]
        top = tl + (tr - tl) * fx
        bottom = bl + (br - bl) * fx
        resized = (top + (bottom - top) * fy).astype(np.float32)
    else:
        resized = square.astype(np.float32)
    x = ((resized - np.array(MEAN_RGB, np.float32)) / np.float32(255)).astype(np.float32)
    s = size / side
    rw, rh = math.floor(w * s + 0.5), math.floor(h * s + 0.5)          # JavaScript Math.round (positive)
    info = {"image_hw": [h, w], "square_side": side, "pad_bottom": side - h, "pad_right": side - w,
            "pad_value": 0, "resize_ratio": side / size, "reshaped_wh": [rw, rh],
            "correction_xy": [size / rw, size / rh]}
    return x, info


def sigmoid(v):
    return 1.0 / (1.0 + np.exp(-v))


def decode(raw, info, threshold=SCORE_THRESHOLD):
    """raw [G, G, 25] -> candidates in (row, col, anchor) order (face-api's extractBoxes)."""
    g = raw.shape[0]
    cx, cy = info["correction_xy"]
    out = []
    for row in range(g):
        for col in range(g):
            for a, (aw, ah) in enumerate(ANCHORS):
                tx, ty, tw, th, tc = (float(v) for v in raw[row, col, 5 * a:5 * a + 5])
                score = 1.0 / (1.0 + math.exp(-tc))
                if not score > threshold:
                    continue
                ctr_x = (col + 1.0 / (1.0 + math.exp(-tx))) / g * cx
                ctr_y = (row + 1.0 / (1.0 + math.exp(-ty))) / g * cy
                bw = math.exp(tw) * aw / g * cx
                bh = math.exp(th) * ah / g * cy
                x, y = ctr_x - bw / 2, ctr_y - bh / 2
                out.append({"row": row, "col": col, "anchor": a, "score": score, "box_relative": [x, y, x + bw, y + bh]})
    return out


def iou(a, b):
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def nms(cands):
    order = sorted(range(len(cands)), key=lambda i: cands[i]["score"])           # stable, ascending
    boxes = [[v * SIZE for v in c["box_relative"]] for c in cands]
    pick = []
    while order:
        cur = order.pop()
        pick.append(cur)
        order = [i for i in order if iou(boxes[cur], boxes[i]) <= IOU_THRESHOLD]
    return pick


def to_image(box, info):
    h, w = info["image_hw"]
    x, y = box[0] * w, box[1] * h
    return [x, y, x + (box[2] - box[0]) * w, y + (box[3] - box[1]) * h]


# ---- Node / face-api ----------------------------------------------------------------------------

def run_face_api(tmp, tgz, images):
    project = tmp / "node"
    project.mkdir()
    (project / "package.json").write_text('{"name": "tiny-face-golden", "version": "0.0.0", "private": true}\n')
    run(["npm", "install", "--no-audit", "--no-fund", "--ignore-scripts", "--save-exact", *TFJS, str(tgz)], cwd=project)
    model_dir = project / "node_modules/@vladmandic/face-api/model"
    work = tmp / "work"
    work.mkdir()
    listing = []
    for name, rgb in images.items():
        (work / f"{name}.rgb").write_bytes(np.ascontiguousarray(rgb, np.uint8).tobytes())
        listing.append({"name": name, "height": rgb.shape[0], "width": rgb.shape[1], "file": f"{name}.rgb"})
    (work / "images.json").write_text(json.dumps(listing))
    run(["node", str(ROOT / "scripts/tiny_face_golden.mjs"), str(project), str(model_dir), str(work), str(SIZE),
         str(SCORE_THRESHOLD), str(LOW_THRESHOLD)])
    res = json.loads((work / "results.json").read_text())
    inputs = {name: np.fromfile(work / f"{name}.input.f32", "<f4").reshape(SIZE, SIZE, 3) for name in images}
    lock = json.loads((project / "package-lock.json").read_text())["packages"]
    versions = {k.removeprefix("node_modules/"): v["version"] for k, v in lock.items()
                if (k.startswith("node_modules/@tensorflow/") or k == "node_modules/@vladmandic/face-api")
                and "/node_modules/" not in k.removeprefix("node_modules/")}
    return res, inputs, versions


def r6(v):
    return round(float(v), 6)


def main():
    if not shutil.which("npm") or not shutil.which("node"):
        sys.exit("needs node and npm on the PATH")
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = pathlib.Path(tmpdir)
        tgz, manifest, blob, integrity = fetch_package(tmp)
        tf_weights, quant = dequantise(manifest, blob)
        weights, source = to_ocelli(tf_weights)
        weights16 = {k: v.astype(np.float16) for k, v in weights.items()}
        print(f"{len(weights)} tensors, {sum(a.size for a in weights.values())} values")

        out_st = ROOT / "assets/models/tiny_face.safetensors"
        write_safetensors(out_st, weights, "F32", {"source": f"npm {PACKAGE} model/tiny_face_detector_model.bin",
                                                  "license": "MIT", "sha256": BIN_SHA256,
                                                  "quantization": "uint8 affine, dequantised float32(q * scale + min), stored f32"})
        print(f"wrote {out_st} ({out_st.stat().st_size} bytes)")
        ops_text = describe(weights, source, quant)
        print(ops_text)
        (ROOT / "scripts/tiny_face_ops.txt").write_text(ops_text)

        paths = sorted((ROOT / "assets/images").glob("*.png"))
        images = {p.name: np.rint(read_png_rgb(p).transpose(1, 2, 0) * 255).astype(np.uint8) for p in paths}
        res, fa_inputs, versions = run_face_api(tmp, tgz, images)

    # (a) tfjs decoded the same float32 weights
    d_w = max(float(np.abs(np.asarray(res["weights"][n], np.float32) - tf_weights[n].ravel()).max()) for n in tf_weights)
    assert sorted(res["weights"]) == sorted(tf_weights) and d_w == 0.0, d_w
    assert res["backend"] == "cpu"
    cfg = res["config"]
    assert np.allclose(cfg["anchors"], ANCHORS, rtol=0, atol=1e-12) and cfg["meanRgb"] == list(MEAN_RGB)
    assert cfg["iouThreshold"] == IOU_THRESHOLD and cfg["boxEncodingSize"] == 5 and not cfg["withClassScores"]
    assert cfg["filterSizes"] == CHANNELS and cfg["isFirstLayerConv2d"]
    print(f"tfjs's dequantised weights == ours (max |diff| {d_w}); versions {res['versions']}")

    golden = {
        "model": {"source": f"npm {PACKAGE} (integrity {integrity}), model/tiny_face_detector_model.bin "
                            "+ tiny_face_detector_model-weights_manifest.json",
                  "sha256": {"bin": BIN_SHA256, "manifest": MANIFEST_SHA256}, "license": "MIT"},
        "runtime": f"face-api {res['versions']['faceapi']} dist/face-api.node-wasm.js with @tensorflow/tfjs "
                   f"{res['versions']['tfjs']}, backend '{res['backend']}' (tfjs-backend-cpu "
                   f"{res['versions']['tfjs-backend-cpu']}, pure JS), Node {res['versions']['node']}",
        "input_size": SIZE,
        "preprocessing": {
            "pad": "image at the top-left of a max(H, W) square of zeros (padding appended at the bottom or right)",
            "resize": "if side != S: bilinear, alignCorners=false, halfPixelCenters=false (legacy TF): src = (side / S) * dst, "
                      "i0 = floor(src), i1 = min(ceil(src), side - 1), frac = src - i0; computed in float64, stored float32",
            "normalise": "x = (v - mean_rgb) / 255 in float32, no std",
            "mean_rgb": list(MEAN_RGB), "layout": "NHWC [1, S, S, 3] RGB float32"},
        "output": {"shape": "[1, S/32, S/32, 25] NHWC", "channel": "5 * anchor + k, k: 0 tx, 1 ty, 2 tw, 3 th, 4 objectness logit",
                   "raw": "raw[row][col][channel] (row = y cell), 6 decimals: tfjs's output",
                   "raw_f16_weights": "the same grid from an independent float64 numpy forward pass on face-api's "
                                      "input tensor with the weights rounded to f16"},
        "postprocessing": {
            "anchors_wh_cells": [list(a) for a in ANCHORS],
            "reshaped_wh": "rw = round(W * S / max(H, W)), rh = round(H * S / max(H, W)); cx = S / rw, cy = S / rh",
            "decode": "score = sigmoid(t4); ctr_x = (col + sigmoid(tx)) / G * cx; ctr_y = (row + sigmoid(ty)) / G * cy; "
                      "w = exp(tw) * anchor_w / G * cx; h = exp(th) * anchor_h / G * cy; box_relative = "
                      "[ctr_x - w/2, ctr_y - h/2, ctr_x - w/2 + w, ctr_y - h/2 + h] in fractions of the image",
            "score_threshold": "score > 0.5", "classes": "one ('face'), no class scores, no softmax",
            "nms": "greedy, highest score first (ties: latest in (row, col, anchor) order), drop IoU > 0.4",
            "iou_threshold": IOU_THRESHOLD,
            "boxes": "box = [x1, y1, x2, y2] in image pixels = box_relative scaled by (W, H), not clipped; in NMS pick order"},
        "npm_versions": versions,
        "images": {},
    }
    report = []
    for name, rgb in images.items():
        r = res["images"][name]
        x_fa = fa_inputs[name]
        # (b) preprocessing
        x_np, info = preprocess(rgb)
        d_in = float(np.abs(x_np - x_fa).max())
        assert d_in <= 1e-6, (name, d_in)
        assert r["reshaped_wh"] == info["reshaped_wh"], (r["reshaped_wh"], info)
        g = SIZE // 32
        assert r["output_shape"] == [1, g, g, 25]
        raw = np.asarray(r["raw"], np.float64).reshape(g, g, 25)
        # (c) numpy forward pass on face-api's own input, with f32 and with the stored f16 weights
        mine32 = np_forward(weights, x_fa)
        mine16 = np_forward(weights16, x_fa)
        d32, d16 = float(np.abs(mine32 - raw).max()), float(np.abs(mine16 - raw).max())
        assert d32 < 1e-3 and d16 < 5e-2, (d32, d16)
        d16_score = float(np.abs(sigmoid(mine16[:, :, 4::5]) - sigmoid(raw[:, :, 4::5])).max())
        d16_rel = float((np.abs(mine16 - raw) / np.maximum(np.abs(raw), 1.0)).max())
        # (d) decode + NMS, at face-api's default threshold and at a low one
        runs, run_report = {}, []
        for t in (SCORE_THRESHOLD, LOW_THRESHOLD):
            fa = r["runs"][str(t)]
            assert fa["score_threshold"] == t
            cands = decode(raw, info, t)
            assert [(c["row"], c["col"], c["anchor"]) for c in cands] == \
                   [(c["row"], c["col"], c["anchor"]) for c in fa["candidates"]], name
            d_cand = max([abs(a - b) for c, fc in zip(cands, fa["candidates"])
                          for a, b in zip([c["score"], *c["box_relative"]], [fc["score"], *fc["box_relative"]])], default=0.0)
            pick = nms(cands)
            assert len(pick) == len(fa["detections"]), (name, pick, fa["detections"])
            d_det = 0.0
            for i, d in zip(pick, fa["detections"]):
                box = to_image(cands[i]["box_relative"], info)
                d_det = max(d_det, abs(cands[i]["score"] - d["score"]), *(abs(a - b) for a, b in zip(box, d["box"])))
            assert d_cand < 1e-9 and d_det < 1e-6, (d_cand, d_det)
            # what the f16 weights would give
            c16 = decode(mine16, info, t)
            p16 = nms(c16)
            same = [(c16[j]["row"], c16[j]["col"], c16[j]["anchor"]) for j in p16] == \
                   [(cands[i]["row"], cands[i]["col"], cands[i]["anchor"]) for i in pick]
            d16_det = max([0.0] + [max(abs(c16[j]["score"] - cands[i]["score"]),
                                       *(abs(a - b) for a, b in zip(to_image(c16[j]["box_relative"], info),
                                                                    to_image(cands[i]["box_relative"], info))))
                                   for i, j in zip(pick, p16)]) if same else None
            runs[str(t)] = {
                "score_threshold": t,
                "candidates": [{"row": c["row"], "col": c["col"], "anchor": c["anchor"], "score": r6(c["score"]),
                                "box_relative": [r6(v) for v in c["box_relative"]]} for c in fa["candidates"]],
                "detections": [{"box": [round(v, 4) for v in d["box"]], "score": r6(d["score"]),
                                "box_relative": [r6(v) for v in d["box_relative"]],
                                "row": cands[i]["row"], "col": cands[i]["col"], "anchor": cands[i]["anchor"]}
                               for i, d in zip(pick, fa["detections"])]}
            run_report.append(f"  score > {t}: {len(cands)} candidates, {len(pick)} detections (|numpy decode/NMS - face-api| "
                              f"{max(d_cand, d_det):.1e}); f16 weights: "
                              + (f"same detections, max |score or box px diff| {d16_det:.2e}" if same
                                 else f"different detections {[(c16[j]['row'], c16[j]['col'], c16[j]['anchor']) for j in p16]}"))
            for d in runs[str(t)]["detections"]:
                run_report.append(f"    face {d['box']} score {d['score']:.6f} (cell row {d['row']} col {d['col']} anchor {d['anchor']})")

        flat = x_fa.astype(np.float64)
        golden["images"][name] = {
            "geometry": info,
            "input_checksum": {"sum": round(float(flat.sum()), 4), "abs_sum": round(float(np.abs(flat).sum()), 4),
                               "samples_yxc": [[y, xx, c, r6(x_fa[y, xx, c])]
                                               for y, xx, c in [(0, 0, 0), (10, 20, 1), (100, 300, 2), (208, 208, 0),
                                                                (300, 50, 1), (380, 400, 2), (415, 415, 0)]]},
            "max_score": r6(sigmoid(raw[:, :, 4::5].max())),
            "detections": runs[str(SCORE_THRESHOLD)]["detections"],
            "low_threshold": runs[str(LOW_THRESHOLD)],
            "candidates": runs[str(SCORE_THRESHOLD)]["candidates"],
            "raw": np.round(raw, 6).tolist(),
            "raw_f16_weights": np.round(mine16, 6).tolist(),
        }
        report.append(f"{name}: {info['image_hw'][0]}x{info['image_hw'][1]}, square {info['square_side']}, reshaped "
                      f"{info['reshaped_wh']}; |numpy preprocessing - face-api| {d_in:.1e}; raw grid |numpy f32 weights - tfjs| "
                      f"{d32:.2e}, |numpy f16 weights - tfjs| {d16:.2e} (relative to max(|raw|, 1): {d16_rel:.1e}, "
                      f"scores {d16_score:.1e})")
        report += run_report
    (ROOT / "assets/golden/detect").mkdir(parents=True, exist_ok=True)
    (ROOT / "assets/golden/detect/tiny_face.json").write_text(json.dumps(golden, separators=(",", ":")) + "\n")
    print("\n".join(report))
    print(golden["runtime"])


if __name__ == "__main__":
    main()
