"""MediaPipe BlazeFace (short-range face detector) weights, op list and golden detections for Ocelli.

    pip install numpy ai-edge-litert==2.3.0
    python3 scripts/convert_blazeface.py

1. Downloads the PyPI wheel mediapipe==0.10.21 (pip download, no deps, the cp311 manylinux x86_64
   wheel; the 1.x wheels ship no .tflite files) and reads
   mediapipe/modules/face_detection/face_detection_short_range.tflite out of it (Apache-2.0),
   checking its sha256.
2. Parses the TFLite flatbuffer with the small reader below (no tflite/flatbuffers packages).
   Every constant is f16 and feeds a DEQUANTIZE op; batch norm is already folded into the convs.
3. Writes assets/models/blazeface.safetensors: every weight and bias as F16 (exactly the f16 values
   of the model), in Ocelli's layouts:
       conv (TFLite OHWI)        -> [O, I, kh, kw]
       depthwise (TFLite 1HWC)   -> [C, 1, kh, kw]
       bias                      -> [O]
   Names (k = 1..16; TFLite's own names in brackets):
       conv0.{weight,bias}            5x5 stride-2 stem conv, 3 -> 24      [conv2d]
       block{k}.dw.{weight,bias}      3x3 depthwise conv of block k        [depthwise_conv2d_{k-1}]
       block{k}.pw.{weight,bias}      1x1 conv of block k                  [conv2d_{k}]
       head8.classifier.{weight,bias}   1x1, 88 -> 2, on the 16x16 grid   [classificator_8]
       head8.regressor.{weight,bias}    1x1, 88 -> 32, on the 16x16 grid  [regressor_8]
       head16.classifier.{weight,bias}  1x1, 96 -> 6, on the 8x8 grid     [classificator_16]
       head16.regressor.{weight,bias}   1x1, 96 -> 96, on the 8x8 grid    [regressor_16]
   head8/head16 are named by their stride (8 px / 16 px per cell), as MediaPipe names them.
   Block k computes relu(pw(dw(x)) + residual(x)); its output is TFLite's activation_{k}.
4. Prints the op list in execution order (op, tensors with NHWC shapes, all options, explicit pads
   for SAME padding, which safetensors names the constants became, the residual kind of each
   block) and writes it to scripts/blazeface_ops.txt.
5. Runs the original .tflite with LiteRT (ai-edge-litert; tflite-runtime as a fallback) on
   assets/images/*.png and writes assets/golden/detect/blazeface.json. It also runs an independent
   numpy forward pass over the parsed graph with the converted weights and checks it agrees.

Preprocessing (Ocelli replicates it), for an image of H x W pixels with values v in [0, 255]:
   letterbox: s = 128 / max(H, W); new_h = floor(H * s + 0.5), new_w = floor(W * s + 0.5);
   bilinear resize of the whole image to new_h x new_w, half-pixel centres, no antialias, edge
   clamped (src = max((dst + 0.5) * in / out - 0.5, 0), neighbours clamped to the last pixel),
   then x = v / 127.5 - 1, then placed in a 128 x 128 canvas filled with -1 (black, as MediaPipe's
   BORDER_ZERO) at top = (128 - new_h) // 2, left = (128 - new_w) // 2; NHWC [1, 128, 128, 3], RGB.
   A point (xt, yt) in tensor pixels maps back to image pixels as
   x = (xt - left) * W / new_w, y = (yt - top) * H / new_h. (MediaPipe samples the square
   max(H, W) region centred on the image with one affine warp, so its padding can be fractional;
   here the resized size is rounded to whole pixels.)

Post-processing (MediaPipe's face detection graph; options checked against the graph config in
the mediapipe wheel):
   anchors: SSD anchors, 128 x 128 input, strides [8, 16, 16, 16], anchor offset 0.5, fixed anchor
   size (w = h = 1), one aspect ratio plus one interpolated scale per layer = 2 anchors per layer;
   layers of equal stride share a grid: stride 8 -> 16x16 grid x 2 anchors (512), stride 16 ->
   8x8 grid x 6 anchors (384). Order: the 512 stride-8 anchors, then the 384 stride-16 anchors,
   each row-major over the grid (y, then x, then anchor), matching the model's RESHAPE +
   CONCATENATION; anchor centre ((x + 0.5) / grid, (y + 0.5) / grid).
   decode (r = the 16 regressor values, a = anchor centre):
       cx = r0 / 128 + ax, cy = r1 / 128 + ay, w = r2 / 128, h = r3 / 128
       box = (cx - w/2, cy - h/2, cx + w/2, cy + h/2) in [0, 1] tensor coordinates
       keypoint j (0..5) = (r[4+2j] / 128 + ax, r[5+2j] / 128 + ay)
   score = sigmoid(clamp(c, -100, 100)); keep score >= 0.5.
   weighted NMS: sort by score descending (ties by anchor index); take the best remaining box,
   its candidates are all remaining boxes (itself included) with IoU > 0.3 against it; output
   one detection with the best box's score and the score-weighted mean of the candidates'
   (xmin, ymin, xmax, ymax) and keypoints; drop the candidates; repeat until none remain.
   Finally boxes and keypoints are scaled by 128 and mapped back through the letterbox.

Checked by hand, not by this script: fed MediaPipe's own resampling (OpenCV warpPerspective of the
uint8 image, which maps pixel corners to corners and so point-samples a 4x downscale at 4j), this
post-processing gives exactly what mediapipe 0.10.21's FaceDetection solution returns for
astronaut.png (score 0.921739, box 177.565, 82.871, 272.909, 178.215). With the half-pixel
resampling above the box moves by up to 4 px (score 0.920843).
"""

import hashlib
import importlib.metadata
import json
import math
import pathlib
import struct
import subprocess
import sys
import tempfile
import zipfile

import numpy as np

from convert_mobilenet_v2 import ROOT, read_png_rgb, resize_bilinear, write_safetensors

MEDIAPIPE = "mediapipe==0.10.21"
MODEL_IN_WHEEL = "mediapipe/modules/face_detection/face_detection_short_range.tflite"
MODEL_SHA256 = "bbff11cebd1eb27a1e004cae0b0e63ec8c551cbf34a4451148b4908b8db3eca8"
SIZE = 128


def download_mediapipe(into):
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", MEDIAPIPE, "-d", into,
                    "--only-binary=:all:", "--platform", "manylinux_2_28_x86_64",
                    "--python-version", "3.11", "--implementation", "cp"], check=True)
    return next(pathlib.Path(into).glob("mediapipe-*.whl"))


# ---- a minimal flatbuffer reader for the TFLite schema --------------------------------------

class Table:
    """A flatbuffer table at `pos` of `buf`; fields are addressed by their schema index."""

    def __init__(self, buf, pos):
        self.buf, self.pos = buf, pos
        self.vtable = pos - struct.unpack_from("<i", buf, pos)[0]
        self.vsize = struct.unpack_from("<H", buf, self.vtable)[0]

    def _field(self, i):
        o = 4 + 2 * i
        return struct.unpack_from("<H", self.buf, self.vtable + o)[0] if o < self.vsize else 0

    def scalar(self, i, fmt, default=0):
        o = self._field(i)
        return struct.unpack_from("<" + fmt, self.buf, self.pos + o)[0] if o else default

    def _indirect(self, i):
        o = self._field(i)
        if not o:
            return None
        p = self.pos + o
        return p + struct.unpack_from("<I", self.buf, p)[0]

    def table(self, i):
        p = self._indirect(i)
        return Table(self.buf, p) if p is not None else None

    def _vector(self, i):
        p = self._indirect(i)
        if p is None:
            return 0, 0
        return p + 4, struct.unpack_from("<I", self.buf, p)[0]

    def tables(self, i):
        start, n = self._vector(i)
        return [Table(self.buf, start + 4 * k + struct.unpack_from("<I", self.buf, start + 4 * k)[0]) for k in range(n)]

    def array(self, i, dtype):
        start, n = self._vector(i)
        return np.frombuffer(self.buf, dtype=dtype, count=n, offset=start) if n else np.zeros(0, dtype)

    def string(self, i):
        start, n = self._vector(i)
        return self.buf[start:start + n].decode()


# BuiltinOperator codes and enums of schema.fbs that this model (and convert_selfie.py's) need.
# A CUSTOM op (32) is named by its custom_code and keeps its raw custom_options bytes.
OPS = {0: "ADD", 1: "AVERAGE_POOL_2D", 2: "CONCATENATION", 3: "CONV_2D", 4: "DEPTHWISE_CONV_2D",
       6: "DEQUANTIZE", 14: "LOGISTIC", 17: "MAX_POOL_2D", 18: "MUL", 19: "RELU", 22: "RESHAPE",
       23: "RESIZE_BILINEAR", 32: "CUSTOM", 34: "PAD", 40: "MEAN", 117: "HARD_SWISH"}
TYPES = {0: "float32", 1: "float16", 2: "int32"}
VIEWS = {"float32": "<f4", "float16": "<f2", "int32": "<i4"}
PADDING = {0: "SAME", 1: "VALID"}
ACT = {0: "NONE", 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6", 4: "TANH", 5: "SIGN_BIT"}


def parse_tflite(buf):
    model = Table(buf, struct.unpack_from("<I", buf, 0)[0])
    assert buf[4:8] == b"TFL3"
    codes = []
    for oc in model.tables(1):  # operator_codes: deprecated_builtin_code (0, int8), custom_code (1), builtin_code (3)
        code = max(oc.scalar(0, "b"), oc.scalar(3, "i"))
        if code not in OPS:
            raise ValueError(f"unexpected builtin operator {code}")
        codes.append(oc.string(1) if OPS[code] == "CUSTOM" else OPS[code])
    buffers = [b.array(0, np.uint8) for b in model.tables(4)]
    (sg,) = model.tables(2)
    tensors = []
    for t in sg.tables(0):
        dtype = TYPES[t.scalar(1, "b")]
        data = buffers[t.scalar(2, "I")]
        shape = [int(d) for d in t.array(0, "<i4")]
        value = data.view(VIEWS[dtype]).reshape(shape) if len(data) else None
        tensors.append({"name": t.string(3), "shape": shape, "dtype": dtype, "value": value})
    ops = []
    for op in sg.tables(3):
        kind = codes[op.scalar(0, "I")]
        o, opts = op.table(4), {}  # builtin_options (the union's value; field 3 is its type)
        if kind == "CONV_2D":
            opts = dict(padding=PADDING[o.scalar(0, "b")], stride_w=o.scalar(1, "i"), stride_h=o.scalar(2, "i"),
                        activation=ACT[o.scalar(3, "b")], dilation_w=o.scalar(4, "i", 1), dilation_h=o.scalar(5, "i", 1))
        elif kind == "DEPTHWISE_CONV_2D":
            opts = dict(padding=PADDING[o.scalar(0, "b")], stride_w=o.scalar(1, "i"), stride_h=o.scalar(2, "i"),
                        depth_multiplier=o.scalar(3, "i"), activation=ACT[o.scalar(4, "b")],
                        dilation_w=o.scalar(5, "i", 1), dilation_h=o.scalar(6, "i", 1))
        elif kind in ("MAX_POOL_2D", "AVERAGE_POOL_2D"):
            opts = dict(padding=PADDING[o.scalar(0, "b")], stride_w=o.scalar(1, "i"), stride_h=o.scalar(2, "i"),
                        filter_w=o.scalar(3, "i"), filter_h=o.scalar(4, "i"), activation=ACT[o.scalar(5, "b")])
        elif kind in ("ADD", "MUL"):
            opts = dict(activation=ACT[o.scalar(0, "b")] if o else "NONE")
        elif kind == "MEAN":
            opts = dict(keep_dims=bool(o.scalar(0, "B")) if o else False)
        elif kind == "RESIZE_BILINEAR":
            opts = dict(align_corners=bool(o.scalar(2, "B")) if o else False,
                        half_pixel_centers=bool(o.scalar(3, "B")) if o else False)
        elif kind == "CONCATENATION":
            opts = dict(axis=o.scalar(0, "i"), activation=ACT[o.scalar(1, "b")])
        elif kind == "RESHAPE":
            opts = dict(new_shape=[int(d) for d in o.array(0, "<i4")] if o else None)
        entry = {"kind": kind, "inputs": [int(i) for i in op.array(1, "<i4")],
                 "outputs": [int(i) for i in op.array(2, "<i4")], "options": opts}
        if kind not in OPS.values():  # a custom op: its custom_options (field 5) as raw bytes
            entry["custom_options"] = op.array(5, np.uint8).tobytes()
        ops.append(entry)
    return tensors, [int(i) for i in sg.array(1, "<i4")], [int(i) for i in sg.array(2, "<i4")], ops


# ---- role names and Ocelli layouts ----------------------------------------------------------

def assign_names(tensors, ops):
    """Drops DEQUANTIZE ops and names each conv's constants by role (see the module docstring)."""
    deq = {op["outputs"][0]: op["inputs"][0] for op in ops if op["kind"] == "DEQUANTIZE"}
    graph = [dict(op, inputs=[deq.get(i, i) for i in op["inputs"]]) for op in ops if op["kind"] != "DEQUANTIZE"]
    producer = {op["outputs"][0]: op for op in graph}
    weights, block = {}, 0
    for op in graph:
        if op["kind"] not in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            continue
        x, w, b = op["inputs"]
        src, tw = producer.get(x), tensors[w]
        if op["kind"] == "DEPTHWISE_CONV_2D":
            block += 1
            role = f"block{block}.dw"
            arr = tw["value"][0].transpose(2, 0, 1)[:, None]                      # 1HWC -> C,1,kh,kw
        else:
            arr = tw["value"].transpose(0, 3, 1, 2)                               # OHWI -> O,I,kh,kw
            if src is None:
                role = "conv0"
            elif src["kind"] == "DEPTHWISE_CONV_2D":
                role = f"block{block}.pw"
            else:
                grid = tensors[x]["shape"][1]
                stride = SIZE // grid
                per_cell = {8: 2, 16: 6}[stride]
                head = "classifier" if arr.shape[0] == per_cell else "regressor"
                assert arr.shape[0] == per_cell * (1 if head == "classifier" else 16)
                role = f"head{stride}.{head}"
                tflite = {"classifier": "classificator", "regressor": "regressor"}[head]
                assert tw["name"].startswith(f"{tflite}_{stride}/"), tw["name"]
        op["weight_names"] = {w: f"{role}.weight", b: f"{role}.bias"}
        weights[f"{role}.weight"] = np.ascontiguousarray(arr)
        weights[f"{role}.bias"] = np.ascontiguousarray(tensors[b]["value"])
    return graph, weights


# ---- op list ------------------------------------------------------------------------------

def same_pads(n, k, s):
    out = -(-n // s)
    total = max((out - 1) * s + k - n, 0)
    return total // 2, total - total // 2


def describe(tensors, graph_in, graph_out, graph, weights):
    fmt = lambda i: f"{tensors[i]['name']}{tensors[i]['shape']}"
    lines = [f"graph inputs: {', '.join(map(fmt, graph_in))} (float32, NHWC, RGB in [-1, 1])",
             f"graph outputs: {', '.join(map(fmt, graph_out))}",
             "every constant is float16 feeding a DEQUANTIZE op; those DEQUANTIZE ops are left out below",
             "SAME padding pads = (top, bottom, left, right); TFLite puts the odd pixel at the bottom/right", ""]
    for n, op in enumerate(graph):
        kind, opts = op["kind"], dict(op["options"])
        x = op["inputs"][0]
        acts = [i for i in op["inputs"] if tensors[i]["value"] is None]
        text = f"{n:3d} {kind:<17} {' + '.join(map(fmt, acts))} -> {fmt(op['outputs'][0])}"
        if kind in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            w = tensors[op["inputs"][1]]
            kh, kw = w["shape"][1], w["shape"][2]
            _, h, wd, _ = tensors[x]["shape"]
            opts = {"kernel": f"{kh}x{kw}", **opts}
            if opts["padding"] == "SAME":
                opts["pads"] = same_pads(h, kh, opts["stride_h"]) + same_pads(wd, kw, opts["stride_w"])
            if opts.get("dilation_w") == 1 and opts.get("dilation_h") == 1:
                del opts["dilation_w"], opts["dilation_h"]
            consts = ", ".join(f"{op['weight_names'][i]} (tflite {tensors[i]['name']} {tensors[i]['shape']})"
                               for i in op["inputs"][1:])
            text += f"  {opts}  constants: {consts}"
        elif kind == "MAX_POOL_2D":
            _, h, wd, _ = tensors[x]["shape"]
            if opts["padding"] == "SAME":
                opts["pads"] = same_pads(h, opts["filter_h"], opts["stride_h"]) + same_pads(wd, opts["filter_w"], opts["stride_w"])
            text += f"  {opts}"
        elif kind == "PAD":
            pads = tensors[op["inputs"][1]]["value"]
            text += f"  paddings [[before, after] per NHWC axis] = {pads.tolist()} (zeros; tflite {tensors[op['inputs'][1]]['name']})"
        else:
            text += f"  {opts}"
        lines.append(text)
    lines += ["", "block summary (block k: y = relu(pw(dw(x)) + residual(x)); output = tflite activation_k):"]
    producer = {op["outputs"][0]: op for op in graph}
    for op in graph:
        if op["kind"] != "ADD":
            continue
        a, b = op["inputs"]
        conv = producer[b] if producer[b]["kind"] == "CONV_2D" else producer[a]
        res = a if conv is producer[b] else b
        name = conv["weight_names"][conv["inputs"][1]].split(".")[0]
        dw = producer[conv["inputs"][0]]
        x = dw["inputs"][0]
        chain, r = [], res
        while r != x:
            chain.append(producer[r])
            r = producer[r]["inputs"][0]
        kinds = []
        for p in reversed(chain):
            if p["kind"] == "MAX_POOL_2D":
                o = p["options"]
                kinds.append(f"max_pool {o['filter_h']}x{o['filter_w']} stride {o['stride_h']} {o['padding']}")
            elif p["kind"] == "PAD":
                pads = tensors[p["inputs"][1]]["value"].tolist()
                kinds.append(f"zero-pad channels {pads[3]} ({tensors[p['inputs'][0]]['shape'][3]} -> {tensors[p['outputs'][0]]['shape'][3]})")
        sin, sout = tensors[x]["shape"], tensors[op["outputs"][0]]["shape"]
        lines.append(f"  {name:<8} {sin[1]}x{sin[2]}x{sin[3]} -> {sout[1]}x{sout[2]}x{sout[3]}  dw stride {dw['options']['stride_h']} "
                     f"{dw['options']['padding']}  residual: {' then '.join(kinds) if kinds else 'identity'}")
    lines += ["", f"safetensors ({len(weights)} tensors, all F16):"]
    lines += [f"  {name:<26} {list(arr.shape)}" for name, arr in weights.items()]
    return "\n".join(lines) + "\n"


# ---- independent numpy forward pass over the parsed graph (NHWC, float64) -------------------

def np_conv(x, w, b, stride, padding, groups):
    """x [H, W, C]; w in Ocelli layout [O, I/groups, kh, kw]."""
    h, wd, c = x.shape
    o, cg, kh, kw = w.shape
    if padding == "SAME":
        (t, bt), (l, r) = same_pads(h, kh, stride), same_pads(wd, kw, stride)
    else:
        t = bt = l = r = 0
    xp = np.pad(x, ((t, bt), (l, r), (0, 0)))
    oh, ow = (h + t + bt - kh) // stride + 1, (wd + l + r - kw) // stride + 1
    taps = [xp[ky:ky + stride * oh:stride, kx:kx + stride * ow:stride] for ky in range(kh) for kx in range(kw)]
    if groups == 1:
        cols = np.stack(taps, axis=-1)                                            # oh, ow, c, kh*kw
        out = cols.reshape(oh * ow, c * kh * kw) @ w.reshape(o, -1).T
        return out.reshape(oh, ow, o) + b
    assert groups == c == o and cg == 1
    wt = w.reshape(o, kh * kw)
    return sum(taps[k] * wt[:, k] for k in range(kh * kw)) + b


def np_forward(tensors, graph_in, graph_out, graph, weights, x):
    env = {graph_in[0]: x[0].astype(np.float64)}
    for op in graph:
        kind, o, ins = op["kind"], op["options"], op["inputs"]
        a = env.get(ins[0])
        if kind in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            names = op["weight_names"]
            w, b = (weights[names[i]].astype(np.float64) for i in ins[1:])
            assert o["stride_h"] == o["stride_w"] and o["activation"] == "NONE"
            y = np_conv(a, w, b, o["stride_h"], o["padding"], w.shape[0] if kind == "DEPTHWISE_CONV_2D" else 1)
        elif kind == "RELU":
            y = np.maximum(a, 0.0)
        elif kind == "ADD":
            y = a + env[ins[1]]
        elif kind == "PAD":
            pads = tensors[ins[1]]["value"]
            assert pads[0].tolist() == [0, 0]
            y = np.pad(a, [tuple(p) for p in pads[1:]])
        elif kind == "MAX_POOL_2D":
            h, wd, c = a.shape
            assert o["filter_h"] == o["stride_h"] == 2 == o["filter_w"] == o["stride_w"] and h % 2 == wd % 2 == 0
            y = a.reshape(h // 2, 2, wd // 2, 2, c).max(axis=(1, 3))
        elif kind == "RESHAPE":
            y = a.reshape(tensors[op["outputs"][0]]["shape"][1:])
        elif kind == "CONCATENATION":
            y = np.concatenate([env[i] for i in ins], axis=o["axis"] - 1)
        else:
            raise ValueError(kind)
        env[op["outputs"][0]] = y
    return [env[i][None] for i in graph_out]


# ---- pre- and post-processing ---------------------------------------------------------------

def letterbox(img):
    """img [3, H, W] in [0, 1] -> (input [1, 128, 128, 3] in [-1, 1], letterbox record)."""
    _, h, w = img.shape
    s = SIZE / max(h, w)
    nh, nw = math.floor(h * s + 0.5), math.floor(w * s + 0.5)
    top, left = (SIZE - nh) // 2, (SIZE - nw) // 2
    resized = resize_bilinear(img * 255.0, nh, nw) / 127.5 - 1.0
    canvas = np.full((3, SIZE, SIZE), -1.0)
    canvas[:, top:top + nh, left:left + nw] = resized
    info = {"image_hw": [h, w], "resized_hw": [nh, nw], "pad_top": top, "pad_bottom": SIZE - nh - top,
            "pad_left": left, "pad_right": SIZE - nw - left, "pad_value": -1.0,
            "scale_x": w / nw, "scale_y": h / nh,
            "to_image": "x_img = (x_tensor_px - pad_left) * scale_x, y_img = (y_tensor_px - pad_top) * scale_y"}
    return canvas.transpose(1, 2, 0)[None].astype(np.float32), info


def ssd_anchors():
    """Anchor centres; with fixed_anchor_size every anchor is 1 x 1, so the scales do not matter."""
    strides, anchors, layer = [8, 16, 16, 16], [], 0
    while layer < len(strides):
        end = layer
        while end < len(strides) and strides[end] == strides[layer]:
            end += 1
        per_cell = 2 * (end - layer)   # per layer: aspect ratio 1.0, plus the interpolated-scale anchor
        grid = math.ceil(SIZE / strides[layer])
        for y in range(grid):
            for x in range(grid):
                anchors += [((x + 0.5) / grid, (y + 0.5) / grid)] * per_cell
        layer = end
    return np.array(anchors)


def decode(raw_boxes, raw_scores, anchors):
    r = raw_boxes[0].astype(np.float64)
    ax, ay = anchors[:, 0], anchors[:, 1]
    cx, cy = r[:, 0] / SIZE + ax, r[:, 1] / SIZE + ay
    w, h = r[:, 2] / SIZE, r[:, 3] / SIZE
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
    kps = np.stack([r[:, 4::2] / SIZE + ax[:, None], r[:, 5::2] / SIZE + ay[:, None]], axis=2)   # [896, 6, 2]
    scores = 1.0 / (1.0 + np.exp(-np.clip(raw_scores[0, :, 0].astype(np.float64), -100.0, 100.0)))
    return boxes, kps, scores


def iou(a, b):
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def weighted_nms(boxes, kps, scores, min_score=0.5, threshold=0.3):
    remaining = sorted((i for i in range(len(scores)) if scores[i] >= min_score), key=lambda i: (-scores[i], i))
    out = []
    while remaining:
        best = remaining[0]
        cand = [i for i in remaining if iou(boxes[i], boxes[best]) > threshold]
        rest = [i for i in remaining if i not in cand]
        if not cand:   # only for a degenerate best box (IoU with itself 0): keep it as is
            cand, rest = [best], remaining[1:]
        wts = scores[cand]
        out.append({"anchor": best, "score": float(scores[best]), "members": cand,
                    "box": (boxes[cand] * wts[:, None]).sum(0) / wts.sum(),
                    "keypoints": (kps[cand] * wts[:, None, None]).sum(0) / wts.sum()})
        remaining = rest
    return out


# ---- LiteRT ---------------------------------------------------------------------------------

def litert_interpreter():
    try:
        from ai_edge_litert.interpreter import Interpreter, OpResolverType
        return Interpreter, OpResolverType, f"ai-edge-litert {importlib.metadata.version('ai-edge-litert')}"
    except ImportError:
        from tflite_runtime.interpreter import Interpreter, OpResolverType
        return Interpreter, OpResolverType, f"tflite-runtime {importlib.metadata.version('tflite-runtime')}"


def run_litert(Interpreter, model, x, **kw):
    it = Interpreter(model_content=model, num_threads=1, **kw)
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], x)
    it.invoke()
    out = {d["name"]: it.get_tensor(d["index"]).copy() for d in it.get_output_details()}
    return out["regressors"], out["classificators"]


def rounded(a):
    return np.round(a.astype(np.float64), 6).tolist()


def main():
    with tempfile.TemporaryDirectory() as tmp:
        wheel = download_mediapipe(tmp)
        with zipfile.ZipFile(wheel) as z:
            model = z.read(MODEL_IN_WHEEL)
    assert hashlib.sha256(model).hexdigest() == MODEL_SHA256, "unexpected model"
    tensors, graph_in, graph_out, ops = parse_tflite(model)
    graph, weights = assign_names(tensors, ops)
    assert sorted(weights) == sorted(set(weights)) and len(weights) == 2 * (1 + 2 * 16 + 4), len(weights)

    (ROOT / "assets/models").mkdir(parents=True, exist_ok=True)
    out_st = ROOT / "assets/models/blazeface.safetensors"
    write_safetensors(out_st, weights, "F16", {"source": f"{MEDIAPIPE} {MODEL_IN_WHEEL}", "license": "Apache-2.0",
                                            "sha256": MODEL_SHA256})
    print(f"{len(weights)} tensors, {sum(a.size for a in weights.values())} values, {out_st.stat().st_size} bytes")

    ops_text = describe(tensors, graph_in, graph_out, graph, weights)
    print(ops_text)
    (ROOT / "scripts/blazeface_ops.txt").write_text(ops_text)

    Interpreter, OpResolverType, runtime = litert_interpreter()
    anchors = ssd_anchors()
    assert anchors.shape == (896, 2)
    golden = {
        "model": {"source": f"PyPI wheel {MEDIAPIPE}, {MODEL_IN_WHEEL}", "sha256": MODEL_SHA256, "license": "Apache-2.0"},
        "runtime": f"{runtime}, default op resolver (XNNPACK), 1 thread",
        "preprocessing": "letterbox: s = 128 / max(H, W), new = floor(dim * s + 0.5); bilinear resize (half-pixel "
                         "centres, no antialias, edge clamped) of the whole image to new_h x new_w; v / 127.5 - 1; "
                         "placed at (pad_top, pad_left) in a 128x128 canvas of -1; NHWC RGB float32",
        "postprocessing": {"anchors": "896 SSD anchors, strides [8, 16, 16, 16], offset 0.5, fixed size; 16x16x2 then 8x8x6, "
                                      "row-major (y, x, anchor); anchors[i] = [x_center, y_center] in [0, 1]",
                           "scale": 128, "reverse_output_order": True, "num_keypoints": 6,
                           "score": "sigmoid(clamp(c, -100, 100))", "min_score_thresh": 0.5,
                           "nms": "weighted (blending), IoU > 0.3 suppresses, score of the best box kept",
                           "boxes": "[x1, y1, x2, y2] in image pixels; box_tensor in [0, 1] letterboxed tensor coordinates"},
        "anchors": np.round(anchors, 6).tolist(),
        "images": {},
    }
    for path in sorted((ROOT / "assets/images").glob("*.png")):
        x, info = letterbox(read_png_rgb(path))
        boxes_raw, scores_raw = run_litert(Interpreter, model, x)
        ref = run_litert(Interpreter, model, x, experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
        mine = np_forward(tensors, graph_in, graph_out, graph, weights, x)
        d_ref = max(float(np.abs(a - b).max()) for a, b in zip((boxes_raw, scores_raw), ref))
        d_np = max(float(np.abs(a - b).max()) for a, b in zip((boxes_raw, scores_raw), mine))
        assert d_np < 1e-3, d_np

        boxes, kps, scores = decode(boxes_raw, scores_raw, anchors)
        dets = weighted_nms(boxes, kps, scores)
        to_img_x = lambda v: (v * SIZE - info["pad_left"]) * info["scale_x"]
        to_img_y = lambda v: (v * SIZE - info["pad_top"]) * info["scale_y"]
        detections = []
        for d in dets:
            b, k = d["box"], d["keypoints"]
            detections.append({
                "box": [round(float(v), 4) for v in (to_img_x(b[0]), to_img_y(b[1]), to_img_x(b[2]), to_img_y(b[3]))],
                "score": round(d["score"], 6),
                "keypoints": [[round(float(to_img_x(p[0])), 4), round(float(to_img_y(p[1])), 4)] for p in k],
                "box_tensor": [round(float(v), 6) for v in b],
                "keypoints_tensor": np.round(k, 6).tolist(),
                "anchor": d["anchor"], "members": d["members"]})
        cand = [int(i) for i in np.flatnonzero(scores >= 0.5)]
        name = path.name
        flat = x.astype(np.float64)
        golden["images"][name] = {
            "letterbox": info,
            "input_checksum": {"sum": round(float(flat.sum()), 4), "abs_sum": round(float(np.abs(flat).sum()), 4),
                               "samples_yxc": [[y, xx, c, round(float(x[0, y, xx, c]), 6)]
                                               for y, xx, c in [(0, 0, 0), (10, 20, 1), (64, 64, 0), (64, 64, 2),
                                                                (100, 37, 1), (127, 127, 2)]]},
            "max_score": round(float(scores.max()), 6),
            "max_score_anchor": int(scores.argmax()),
            "candidates": [{"anchor": i, "score": round(float(scores[i]), 6),
                            "box_tensor": [round(float(v), 6) for v in boxes[i]]} for i in cand],
            "detections": detections,
            "regressors": rounded(boxes_raw),
            "classificators": rounded(scores_raw),
        }
        print(f"{name}: letterbox {info['resized_hw']} pads t{info['pad_top']} l{info['pad_left']}, input sum "
              f"{flat.sum():.4f}, max score {scores.max():.4f} (anchor {scores.argmax()}), {len(cand)} candidates, "
              f"|litert - reference kernels| {d_ref:.2e}, |litert - numpy| {d_np:.2e}")
        for d in detections:
            print(f"    face {d['box']} score {d['score']:.4f} keypoints {d['keypoints']} (from {len(d['members'])} boxes)")
    (ROOT / "assets/golden/detect").mkdir(parents=True, exist_ok=True)
    (ROOT / "assets/golden/detect/blazeface.json").write_text(json.dumps(golden, separators=(",", ":")) + "\n")
    print(runtime)


if __name__ == "__main__":
    main()
