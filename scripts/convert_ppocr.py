"""PP-OCRv4 text detection and recognition (and the PP-OCR direction classifier) for Ocelli.

    pip install numpy onnx==1.23.2 rapidocr-onnxruntime==1.4.4
    python3 scripts/convert_ppocr.py

(rapidocr-onnxruntime pulls in onnxruntime, opencv-python, pyclipper, shapely and Pillow; the
versions used for the shipped files are recorded in assets/golden/ocr/ppocr.json under
"versions".) Nothing runs on a GPU; onnxruntime runs on the CPU.

1. Downloads the PyPI wheel rapidocr-onnxruntime==1.4.4 (Apache-2.0; the models are PaddleOCR's,
   Apache-2.0, converted by paddle2onnx) with pip (no install) and reads, checking their sha256:
       rapidocr_onnxruntime/models/ch_PP-OCRv4_det_infer.onnx        DBNet text detector
       rapidocr_onnxruntime/models/ch_PP-OCRv4_rec_infer.onnx        SVTR-LCNet CTC recogniser
       rapidocr_onnxruntime/models/ch_ppocr_mobile_v2.0_cls_infer.onnx  0/180 degree classifier
       rapidocr_onnxruntime/config.yaml                              pipeline settings
   All weights are Constant nodes (no initializers), all float32. The recogniser's character
   dictionary is not a file in the wheel: it is the ONNX metadata entry "character" of the rec
   model (6623 entries joined by "\n"), which rapidocr reads with str.splitlines().
2. Folds, in float64, every chain of per-channel affine nodes that directly follows a Conv or
   ConvTranspose whose output has no other consumer: BatchNormalization (y = (x - mean) /
   sqrt(var + eps) * gamma + beta, eps = f32(1e-5)), Mul by a constant and Add of a constant,
   scalar or [1, C, 1, 1] (PaddleOCR's "learnable affine block" scalars that sit between each rep
   conv and its activation; the ConvTranspose biases, which paddle2onnx emits as a separate Add;
   the classifier's SE conv biases, emitted as Add of a constant-folded Reshape).
   With a = the product of the scales and c = the accumulated shift, W' = W * a (per output
   channel: axis 0 of a Conv weight, axis 1 of a ConvTranspose weight), b' = a * b + c. This is
   exact algebra, and is checked to be exact in float64: for every fold the original chain and the
   folded conv are evaluated in float64 on a seeded random input; the worst relative difference
   (max |diff| / max |y|) is printed and recorded in ppocr.json ("folds"; at most 2.3e-15, i.e.
   float64 rounding). The folded values are then rounded once to float32. No BatchNormalization is
   left in the shipped weights (det folds 3 BN, rec 6, cls 35).
   The affine block after each activation (scale * hardswish(x) + bias) cannot be folded into the
   next conv exactly (the next conv zero-pads) and is kept as two scalars, `<unit>.act.scale` and
   `<unit>.act.bias`.
3. Writes assets/models/ppocr_{det,rec,cls}.safetensors (F32) under the names below, and the
   dictionary as assets/models/ppocr_keys.txt (one entry per line, UTF-8, in class order).
4. Checks an independent float64 numpy forward pass written against the safetensors names (the
   functions det_forward, rec_forward, cls_forward below, which double as the wiring spec) against
   onnxruntime on the very inputs rapidocr fed it (max abs difference: det map 4.7e-5, rec
   softmax 1.4e-5, cls 1.7e-6; recorded in ppocr.json), and writes scripts/ppocr_ops.txt: per model the
   op-type inventory (CNN+ marks op types a plain CNN engine would lack), the layer list in Ocelli's
   terms (from the numpy pass, with the safetensors names), and every ONNX node in order with its
   inputs, output shape for a typical input (from onnxruntime) and attributes.
5. Runs rapidocr's own RapidOCR pipeline (default config) on assets/ocr/page.png and
   assets/images/coffee.png, observing (not changing) each stage through proxies, and writes
   assets/golden/ocr/ppocr.json plus the raw tensors for page.png: assets/golden/ocr/
   ppocr_raw.safetensors (det input image, det probability map, cls input/output, rec input) and
   ppocr_raw_rec.safetensors (the rec output, [5, 125, 6625] F32, 16.6 MB: kept in a file of its
   own so that each file stays under 20 MB).

Names (`<unit>.weight` [O, I/groups, kh, kw] for convs, [I, O, kh, kw] for ConvTranspose, [out, in]
for dense layers, [C] for LayerNorm; `<unit>.bias` [O] where the layer has one; `<unit>.act.scale`,
`<unit>.act.bias` [1]):

  ppocr_det (PP-OCRv4 mobile det: PP-LCNetV3 x0.75 backbone, RSE-FPN neck with 96 channels,
  DB head, binarisation branch only), 168 tensors:
    backbone.conv1                     3x3 s2 p1, 3 -> 16, no activation (BN folded)
    backbone.blocks{2..6}.{j}.dw       depthwise kxk, stride s, pad k/2; then hardswish and the
                                       act affine unless s == 2 (a plain 2: strides like (2, 1)
                                       keep the activation)
    backbone.blocks{k}.{j}.se.conv1/conv2  (blocks6.0 and 6.1 only) squeeze-excitation, see below
    backbone.blocks{k}.{j}.pw          1x1, then hardswish and the act affine
        blocks2: [k3 s1]; blocks3: [k3 s2, k3 s1]; blocks4: [k3 s2, k3 s1];
        blocks5: [k3 s2, k5 s1 x4]; blocks6: [k5 s2 +SE, k5 s1 +SE, k5 s1, k5 s1];
        channels 16 -> 32 -> 48 -> 96 -> 192 -> 384
    backbone.out{0..3}                 1x1 with bias on the outputs of blocks3..6 (1/4, 1/8, 1/16,
                                       1/32 of the input): 48 -> 12, 96 -> 18, 192 -> 42, 384 -> 360
    neck.ins{i}.conv                   1x1, no bias, -> 96;   then r = x + x * se(x) (RSE)
    neck.ins{i}.se.conv1/conv2         96 -> 24 -> 96
        in3 = ins3;  in2 = ins2 + up2(in3);  in1 = ins1 + up2(in2);  in0 = ins0 + up2(in1)
    neck.inp{i}.conv                   3x3 p1, no bias, 96 -> 24 on in{i}; then RSE
    neck.inp{i}.se.conv1/conv2         24 -> 6 -> 24
        fuse = concat(up8(inp3), up4(inp2), up2(inp1), inp0)   (channels, this order; 96)
    head.conv                          3x3 p1, 96 -> 24 (BN folded), relu
    head.up1                           ConvTranspose 2x2 s2 p0, 24 -> 24 (BN folded), relu
    head.up2                           ConvTranspose 2x2 s2 p0, 24 -> 1, sigmoid -> probability map
  ppocr_rec (PP-OCRv4 mobile rec: PP-LCNetV3 x0.95 backbone for recognition, SVTR neck, CTC
  head), 160 tensors:
    backbone.conv1, backbone.blocks{2..6}.{j}.{dw,se.conv1,se.conv2,pw}  as det, with
        blocks2: [k3 s1]; blocks3: [k3 s1, k3 s1]; blocks4: [k3 s(2,1), k3 s1];
        blocks5: [k3 s(1,2), k5 s1 x4]; blocks6: [k5 s(2,1) +SE, k5 s1 +SE, k5 s(2,1), k5 s1];
        channels 16 -> 32 -> 64 -> 128 -> 240 -> 480 (strides (h, w))
    then average pool 3x2, stride 3x2, no padding: [N, 480, 3, W/4] -> [N, 480, 1, W/8] = h
    neck.conv1      1x3 p(0, 1), 480 -> 60 (BN folded), swish      (swish(x) = x * sigmoid(x))
    neck.conv2      1x1, 60 -> 120 (BN folded), swish; then z = [N, T = W/8, 120] (flatten, transpose)
    neck.blocks.{0,1}.norm1 / .attn.qkv / .attn.proj / .norm2 / .mlp.fc1 / .mlp.fc2   pre-norm
                    transformer blocks: z += proj(attn(norm1(z))); z += fc2(swish(fc1(norm2(z))))
                    LayerNorm eps f32(1e-5); qkv 120 -> 360 split as [T, 3, 8 heads, 15];
                    attn = softmax(q * f32(15^-0.5) @ k^T) @ v; proj 120 -> 120; fc1 120 -> 240
    neck.norm       LayerNorm eps f32(1e-6); back to [N, 120, 1, T]
    neck.conv3      1x1, 120 -> 480 (BN folded), swish
    neck.conv4      1x3 p(0, 1) on concat(h, conv3) (960 channels, h first) -> 60 (BN folded), swish
    neck.conv1x1    1x1, 60 -> 120 (BN folded), swish; squeeze H, -> [N, T, 120]
    head.fc         120 -> 6625, softmax over the last axis -> [N, T, 6625]
  ppocr_cls (PP-OCR mobile v2.0 direction classifier: MobileNetV3-small x0.35 with (2, 1)
  strides), 108 tensors:
    backbone.conv1                  3x3 s2 p1, 3 -> 8 (BN folded), hardswish
    backbone.blocks.{0..10}.expand  1x1 (BN folded), act
    backbone.blocks.{i}.dw          depthwise kxk, stride s, pad k/2 (BN folded), act
    backbone.blocks.{i}.se.conv1/conv2   squeeze-excitation (conv biases), see below
    backbone.blocks.{i}.project     1x1 (BN folded), no activation; + input if in == out and s == 1
        (k, s, SE, act): (3,(2,1),y,relu) (3,(2,1),n,relu) (3,1,n,relu) (5,(2,1),y,hs) (5,1,y,hs)
        (5,1,y,hs) (5,1,y,hs) (5,1,y,hs) (5,(2,1),y,hs) (5,1,y,hs) (5,1,y,hs); hs = hardswish
    backbone.conv2                  1x1, 32 -> 200 (BN folded), hardswish; max pool 2x2 s2; global
                                    average pool
    head.fc                         200 -> 2, softmax: [p(0 degrees), p(180 degrees)]
  Squeeze-excitation everywhere: s = mean over H, W; s = relu(conv1(s)); s = hardsigmoid(conv2(s))
  with ONNX HardSigmoid max(0, min(1, alpha * x + 0.5)), alpha = f32(0.1666667) (not 1/6 exactly:
  0.16666670143604279) in the LCNetV3 backbones, alpha = f32(0.2) in the det neck and the
  classifier; out = x * s (the det neck's RSE adds the shortcut: x + x * s).
  hardswish(x) = x * min(max(x + 3, 0), 6) / 6. Every activation with an act affine:
  y = act.scale * hardswish(x) + act.bias.

rapidocr 1.4.4's pipeline, as it runs with config.yaml's defaults (every formula below is read off
its code and checked against its outputs by this script where noted):

  Loading: PIL.Image.open -> numpy; greyscale (mode L) -> cv2.cvtColor(GRAY2BGR); RGB -> BGR.
    The whole pipeline works on BGR uint8 images; channel 0 of every network input is blue.
  Global preprocessing: if max(h, w) > 2000 or min(h, w) < 30 the image is resized first (the
    det rule below with 2000 / "max" or 30 / "min"; boxes are scaled back at the end); if h <= 30 or
    w / h > 8, p = int(|2 * max(int(w / 8), 30) - h| / 2) black rows are added at the top and at the
    bottom (and subtracted from the boxes at the end). Neither applies to page.png or coffee.png.
  Detection input: ratio = 736 / min(h, w) if min(h, w) < 736 else 1 (limit_type "min"; images
    are never shrunk here); rh = int(h * ratio), rw = int(w * ratio) (truncation), then
    rh = int(round(rh / 32) * 32), rw = int(round(rw / 32) * 32) (Python round: half to even);
    img = cv2.resize(img, (rw, rh)) with INTER_LINEAR (half-pixel centres, no antialias, uint8
    fixed-point arithmetic rounded back to uint8). x = float32((float32(v * float32(1 / 255)) -
    0.5) / 0.5) (the subtraction and division in float64), CHW, [1, 3, rh, rw]. page.png (191 x
    384): ratio 736 / 191, rh = 736, rw = int(1479.7) = 1479 -> round(46.2) * 32 = 1472. coffee.png
    (400 x 600): ratio 1.84, rw = 1104 -> round(34.5) = 34 (half to even) -> 1088, not 1120.
    (Checked: this formula reproduces rapidocr's det input bit for bit, and the size rule holds.)
  DB post-processing on the map P = output[0, 0] (rh x rw, sigmoid probabilities):
    B = P > 0.3; mask = cv2.dilate(B as uint8, 2x2 ones), i.e.
        mask[y, x] = B[y, x] | B[y - 1, x] | B[y, x - 1] | B[y - 1, x - 1]  (outside = 0; checked);
    contours = cv2.findContours(mask * 255, RETR_LIST, CHAIN_APPROX_SIMPLE) (all contours, outer
    and holes, in OpenCV's order), at most 1000. Per contour:
      rect = cv2.minAreaRect(contour); q = cv2.boxPoints(rect) sorted by x (stable);
      (p1, p4) = (q0, q1) if q1.y > q0.y else (q1, q0); (p2, p3) = (q2, q3) if q3.y > q2.y else
      (q3, q2); box = [p1, p2, p3, p4] (top-left, top-right, bottom-right, bottom-left);
      sside = min(rect's width, height); skip if sside < 3.
      score ("fast" mode) = the mean of P over the pixels of the box polygon, not the contour:
      xmin = clip(floor(min x), 0, rw - 1), xmax = clip(ceil(max x), 0, rw - 1), same in y;
      cv2.fillPoly(mask of (ymax - ymin + 1) x (xmax - xmin + 1), int32(box - (xmin, ymin))
      (truncation toward zero), 1), score = cv2.mean(P[ymin:ymax + 1, xmin:xmax + 1], mask).
      Skip if score < 0.5 (box_thresh).
      unclip: d = area(box) * 1.6 / perimeter(box) (shapely Polygon of the 4 float corners);
      pyclipper.PyclipperOffset with JT_ROUND, ET_CLOSEDPOLYGON on the corners truncated to
      integers (pyclipper converts them), Execute(d): a rounded rectangle with integer vertices;
      then minAreaRect + the same corner ordering on that polygon; skip if its sside < 5. (The
      result is within 2 map pixels of the float rectangle grown by d on every side: this script
      measures it and records it per image as "unclip_vs_grown_rect_px" in ppocr.json.)
      Scale to the image: x = clip(np.round(x / rw * w), 0, w), y = clip(np.round(y / rh * h), 0,
      h) (round half to even), int32.
    Then per box (filter_tag_det_res): reorder its corners (sort by x; the two leftmost by y give
    top-left, bottom-left; the two rightmost by y give top-right, bottom-right) to [tl, tr, br,
    bl]; clip each coordinate to int(min(max(v, 0), w - 1)) (resp. h - 1); drop the box if
    int(|tl - tr|) <= 3 or int(|tl - bl|) <= 3.
  Reading order (sorted_boxes): sort by (tl.y, tl.x); then for i in 0..n-2, for j = i down to 0:
    if |tl_y[j+1] - tl_y[j]| < 10 and tl_x[j+1] < tl_x[j], swap j and j+1, else stop this i.
  Crops (get_rotate_crop_image), per box in reading order, from the full-size BGR image (the one
    given to the detector, not its 736-resized input), with the box's float32 image-pixel corners:
    cw = int(max(|p1 - p2|, |p3 - p4|)), ch = int(max(|p1 - p4|, |p2 - p3|));
    M = cv2.getPerspectiveTransform([p1, p2, p3, p4] -> [(0, 0), (cw, 0), (cw, ch), (0, ch)]);
    crop = cv2.warpPerspective(img, M, (cw, ch), flags=INTER_CUBIC, borderMode=BORDER_REPLICATE)
    (OpenCV conventions: integer coordinates are pixel centres, dst (x, y) samples src at
    M^-1 (x, y, 1); bicubic with a = -0.75; the warp quantises source positions to 1/32 pixel and
    interpolates uint8 in fixed point, so a float re-implementation can differ by a grey level;
    ppocr.json records each crop's size and pixel sum);
    if ch / cw >= 1.5: crop = np.rot90(crop) (90 degrees counter-clockwise). (All resizes here,
    cv2.resize INTER_LINEAR on uint8, likewise use fixed-point weights and round to uint8.)
  Direction classifier: crops in order of np.argsort(w / h) (quicksort, not stable), batches of 6;
    each: rw = min(192, ceil(48 * w / h)); cv2.resize(crop, (rw, 48)) INTER_LINEAR;
    (v / 255 - 0.5) / 0.5 (float32); zero-padded on the right to [3, 48, 192]. Output softmax
    [n, 2]; label = argmax ('0' or '180'), score = that probability; if the label is '180' and
    score > 0.9, the crop is rotated by 180 degrees (cv2.rotate(crop, ROTATE_180)) for the
    recogniser.
  Recogniser: crops (after the classifier) in order of np.argsort(w / h), batches of 6; per batch
    r = max(320 / 48, the batch's w / h), W = int(48 * r); each crop: rw = min(W, ceil(48 * w / h)),
    cv2.resize(crop, (rw, 48)) INTER_LINEAR, (v / 255 - 0.5) / 0.5 (float32), zero-padded on the
    right to [3, 48, W]. The padding is part of the input: it changes the output (the attention is
    global), so ppocr.json also records each line recognised alone ("rec_alone": one crop per
    batch, W = int(48 * max(320 / 48, w / h))). Output [n, T, 6625] with T = floor(ceil(ceil(W / 2)
    / 2) / 2) (the stride-2 conv, the (1, 2)-strided conv, the 3x2 pool): W / 8 when 8 divides W.
  CTC greedy decoding: k[t] = argmax over classes (first maximum), p[t] = max probability;
    keep t if k[t] != k[t - 1] (t = 0 always kept) and k[t] != 0; class 0 is the CTC blank,
    class i in 1..6623 is line i - 1 of ppocr_keys.txt, class 6624 is a space ' ' that rapidocr
    appends (use_space_char). text = the kept characters joined; score = mean of p[t] over the
    kept steps (0 when none). (Checked: re-implemented here on the raw output, same text and
    score.)
  Final filter: lines with score < 0.5 (text_score) are dropped. Boxes are reported in image
    pixels (after undoing the global preprocessing; clipped to [0, w] x [0, h]), float.
"""

import collections
import copy
import hashlib
import importlib.metadata
import importlib.util
import json
import math
import pathlib
import sys
import tempfile
import zipfile

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from convert_mobilenet_v2 import ROOT, pip_download, write_safetensors  # noqa: E402

WHEEL = "rapidocr-onnxruntime==1.4.4"
PKG = "rapidocr_onnxruntime"
MODELS = {
    "det": ("models/ch_PP-OCRv4_det_infer.onnx", "d2a7720d45a54257208b1e13e36a8479894cb74155a5efe29462512d42f49da9"),
    "rec": ("models/ch_PP-OCRv4_rec_infer.onnx", "48fc40f24f6d2a207a2b1091d3437eb3cc3eb6b676dc3ef9c37384005483683b"),
    "cls": ("models/ch_ppocr_mobile_v2.0_cls_infer.onnx", "e47acedf663230f8863ff1ab0e64dd2d82b838fceb5957146dab185a89d6215c"),
}
CONFIG_SHA256 = "bf94a1da4cba828e67b1d61e27cee14d9e7da27c9f272e04048a17e41ae97332"
TITLES = {
    "det": "PP-OCRv4 mobile text detector (DBNet: PP-LCNetV3 x0.75, RSE-FPN, DB head)",
    "rec": "PP-OCRv4 mobile text recogniser (SVTR-LCNet: PP-LCNetV3 x0.95, SVTR neck, CTC head)",
    "cls": "PP-OCR mobile v2.0 text direction classifier (MobileNetV3-small x0.35)",
}
TYPICAL = {"det": [1, 3, 736, 1472], "rec": [1, 3, 48, 320], "cls": [1, 3, 48, 192]}
IMAGES = [("page.png", "assets/ocr/page.png"), ("coffee.png", "assets/images/coffee.png")]

HS_LCNET = float(np.float32(0.1666667))  # Paddle's hardsigmoid slope in PP-LCNetV3's SE
HS_PADDLE = float(np.float32(0.2))       # Paddle's default slope (det neck, classifier)

DET_BLOCKS = {
    "blocks2": [(3, 1, False)],
    "blocks3": [(3, 2, False), (3, 1, False)],
    "blocks4": [(3, 2, False), (3, 1, False)],
    "blocks5": [(3, 2, False)] + [(5, 1, False)] * 4,
    "blocks6": [(5, 2, True), (5, 1, True), (5, 1, False), (5, 1, False)],
}
REC_BLOCKS = {
    "blocks2": [(3, 1, False)],
    "blocks3": [(3, 1, False), (3, 1, False)],
    "blocks4": [(3, (2, 1), False), (3, 1, False)],
    "blocks5": [(3, (1, 2), False)] + [(5, 1, False)] * 4,
    "blocks6": [(5, (2, 1), True), (5, 1, True), (5, (2, 1), False), (5, 1, False)],
}
CLS_BLOCKS = [  # kernel, stride, SE, activation
    (3, (2, 1), True, "relu"), (3, (2, 1), False, "relu"), (3, 1, False, "relu"),
    (5, (2, 1), True, "hardswish"), (5, 1, True, "hardswish"), (5, 1, True, "hardswish"),
    (5, 1, True, "hardswish"), (5, 1, True, "hardswish"), (5, (2, 1), True, "hardswish"),
    (5, 1, True, "hardswish"), (5, 1, True, "hardswish"),
]


def pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


# ---- names in ONNX graph order ----------------------------------------------------------------

def lcnet_conv_names(blocks):
    names = ["backbone.conv1"]
    for stage, cfg in blocks.items():
        for j, (_, _, se) in enumerate(cfg):
            p = f"backbone.{stage}.{j}"
            names += [f"{p}.dw"] + ([f"{p}.se.conv1", f"{p}.se.conv2"] if se else []) + [f"{p}.pw"]
    return names


def det_names():
    convs = lcnet_conv_names(DET_BLOCKS) + [f"backbone.out{i}" for i in range(4)]
    for part in ("ins", "inp"):
        for i in (3, 2, 1, 0):  # the graph builds the coarsest level first
            convs += [f"neck.{part}{i}.conv", f"neck.{part}{i}.se.conv1", f"neck.{part}{i}.se.conv2"]
    convs += ["head.conv", "head.up1", "head.up2"]
    return convs, [], []


def rec_names():
    convs = lcnet_conv_names(REC_BLOCKS) + ["neck.conv1", "neck.conv2", "neck.conv3", "neck.conv4", "neck.conv1x1"]
    dense, norms = [], []
    for b in range(2):
        p = f"neck.blocks.{b}"
        dense += [f"{p}.attn.qkv", f"{p}.attn.proj", f"{p}.mlp.fc1", f"{p}.mlp.fc2"]
        norms += [f"{p}.norm1", f"{p}.norm2"]
    return convs, dense + ["head.fc"], norms + ["neck.norm"]


def cls_names():
    convs = ["backbone.conv1"]
    for i, (_, _, se, _) in enumerate(CLS_BLOCKS):
        p = f"backbone.blocks.{i}"
        convs += [f"{p}.expand", f"{p}.dw"] + ([f"{p}.se.conv1", f"{p}.se.conv2"] if se else []) + [f"{p}.project"]
    return convs + ["backbone.conv2"], ["head.fc"], []


NAMES = {"det": det_names, "rec": rec_names, "cls": cls_names}


# ---- reading the ONNX graphs ------------------------------------------------------------------

class Graph:
    """The nodes of an ONNX model, its constants (Constant nodes, plus nodes of constants only)."""

    FOLDABLE = {"Reshape", "Cast", "Concat", "Unsqueeze", "Squeeze", "Identity"}

    def __init__(self, blob):
        import onnx
        from onnx import helper, numpy_helper
        self.model = onnx.load_from_string(blob)
        g = self.model.graph
        self.all_nodes = list(g.node)
        self.const = {i.name: numpy_helper.to_array(i) for i in g.initializer}
        for n in self.all_nodes:
            if n.op_type == "Constant":
                assert len(n.attribute) == 1 and n.attribute[0].name == "value"
                self.const[n.output[0]] = numpy_helper.to_array(n.attribute[0].t)
        self.nodes = [n for n in self.all_nodes if n.op_type != "Constant"]
        self.attrs = {}
        for n in self.nodes:
            a = {x.name: helper.get_attribute_value(x) for x in n.attribute}
            self.attrs[n.name] = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in a.items()}
        self.folded = set()
        changed = True
        while changed:
            changed = False
            for n in self.nodes:
                if n.name in self.folded or n.op_type not in self.FOLDABLE:
                    continue
                if all(i in self.const for i in n.input if i):
                    self.const[n.output[0]] = self._eval_const(n)
                    self.folded.add(n.name)
                    changed = True
        self.consumers = collections.defaultdict(list)
        for n in self.nodes:
            for i in n.input:
                self.consumers[i].append(n)
        self.meta = {p.key: p.value for p in self.model.metadata_props}

    def _eval_const(self, n):
        a, x = self.attrs[n.name], [self.const[i] for i in n.input if i]
        if n.op_type == "Reshape":
            shape = [d if d != 0 else x[0].shape[k] for k, d in enumerate(x[1].tolist())]
            return x[0].reshape(shape)
        if n.op_type == "Cast":
            import onnx
            return x[0].astype(onnx.helper.tensor_dtype_to_np_dtype(a["to"]))
        if n.op_type == "Concat":
            return np.concatenate(x, axis=a["axis"])
        if n.op_type == "Unsqueeze":
            return np.expand_dims(x[0], tuple(a["axes"]))
        if n.op_type == "Squeeze":
            return np.squeeze(x[0], tuple(a["axes"]))
        return x[0]

    def only_consumer(self, name):
        c = self.consumers.get(name, [])
        return c[0] if len(c) == 1 else None

    def other_const(self, n, name):
        """The constant input of a binary node whose other input is `name`, else None."""
        ins = list(n.input)
        if len(ins) != 2 or name not in ins:
            return None
        other = ins[1] if ins[0] == name else ins[0]
        return self.const.get(other)


def per_channel(k, c):
    """A constant broadcast against [N, C, H, W] as a [C] vector, or None if it is not one (a [C]
    vector would broadcast along W)."""
    k = np.asarray(k, dtype=np.float64)
    if k.size == 1:
        return np.full(c, float(k.reshape(-1)[0]))
    if k.shape in ((1, c, 1, 1), (c, 1, 1)):
        return k.reshape(-1)
    return None


def conv_attrs(g, n):
    a = g.attrs[n.name]
    assert "auto_pad" not in a or a["auto_pad"] in ("NOTSET", ""), a
    assert list(a.get("dilations", [1, 1])) == [1, 1], a
    return dict(stride=tuple(a.get("strides", [1, 1])), pads=tuple(a.get("pads", [0, 0, 0, 0])),
                groups=a.get("group", 1), output_padding=tuple(a.get("output_padding", [0, 0])))


def fold_conv(g, n, rng):
    """Folds the affine chain after a Conv/ConvTranspose. Returns weight, bias (or None), the
    chain's node names, the chain's output name and the float64 exactness check."""
    transpose = n.op_type == "ConvTranspose"
    at = conv_attrs(g, n)
    w0 = g.const[n.input[1]].astype(np.float64)
    cout = w0.shape[1] * at["groups"] if transpose else w0.shape[0]
    has_bias = len(n.input) > 2 and n.input[2] != ""
    b0 = g.const[n.input[2]].astype(np.float64) if has_bias else np.zeros(cout)
    a, c = np.ones(cout), np.zeros(cout)
    steps, out = [], n.output[0]
    while True:
        m = g.only_consumer(out)
        if m is None:
            break
        if m.op_type == "BatchNormalization" and m.input[0] == out:
            gamma, beta, mean, var = (g.const[i].astype(np.float64) for i in m.input[1:5])
            eps = float(np.float32(g.attrs[m.name]["epsilon"]))
            s = gamma / np.sqrt(var + eps)
            a, c = a * s, (c - mean) * s + beta
            steps.append(("bn", m.name, (gamma, beta, mean, var, eps)))
        elif m.op_type in ("Mul", "Add") and g.other_const(m, out) is not None:
            k = per_channel(g.other_const(m, out), cout)
            if k is None:
                break
            if m.op_type == "Mul":
                a, c = a * k, c * k
            else:
                c = c + k
            steps.append((m.op_type.lower(), m.name, k))
        else:
            break
        out = m.output[0]
    if transpose:
        w = w0 * a[None, :, None, None]
    else:
        w = w0 * a[:, None, None, None]
    b = a * b0 + c
    # float64 exactness check on a random input
    cin = w0.shape[0] if transpose else w0.shape[1] * at["groups"]
    x = rng.standard_normal((1, cin, 5, 6) if transpose else (1, cin, 7, 9))
    if transpose:
        y = conv_transpose2d(x, w0, b0 if has_bias else None, at["stride"], at["pads"])
        yf = conv_transpose2d(x, w, b, at["stride"], at["pads"])
    else:
        y = conv2d(x, w0, b0 if has_bias else None, at["stride"], at["pads"], at["groups"])
        yf = conv2d(x, w, b, at["stride"], at["pads"], at["groups"])
    for kind, _, p in steps:
        if kind == "bn":
            gamma, beta, mean, var, eps = (v[None, :, None, None] if isinstance(v, np.ndarray) else v for v in p)
            y = (y - mean) / np.sqrt(var + eps) * gamma + beta
        elif kind == "mul":
            y = y * p[None, :, None, None]
        else:
            y = y + p[None, :, None, None]
    rel = float(np.abs(y - yf).max() / max(np.abs(y).max(), 1e-300)) if steps else 0.0
    keep_bias = has_bias or bool(steps)
    return w, (b if keep_bias else None), [s[1] for s in steps], [s[0] for s in steps], out, rel


def post_act_affine(g, out):
    """After `out`: hardswish (Add 3, Clip 0 6, Mul, Div 6) then Mul(const scalar), Add(const
    scalar)? Returns (scale, bias) or None."""
    cons = g.consumers.get(out, [])
    adds = [m for m in cons if m.op_type == "Add" and g.other_const(m, out) is not None
            and np.allclose(g.other_const(m, out), 3.0)]
    if len(cons) != 2 or len(adds) != 1:
        return None
    clip = g.only_consumer(adds[0].output[0])
    if clip is None or clip.op_type != "Clip":
        return None
    mul = g.only_consumer(clip.output[0])
    if mul is None or mul.op_type != "Mul" or out not in mul.input:
        return None
    div = g.only_consumer(mul.output[0])
    if div is None or div.op_type != "Div":
        return None
    m1 = g.only_consumer(div.output[0])
    if m1 is None or m1.op_type != "Mul" or g.other_const(m1, div.output[0]) is None:
        return None
    a1 = g.only_consumer(m1.output[0])
    if a1 is None or a1.op_type != "Add" or g.other_const(a1, m1.output[0]) is None:
        return None
    s, b = g.other_const(m1, div.output[0]), g.other_const(a1, m1.output[0])
    assert s.size == 1 and b.size == 1
    return float(s.reshape(-1)[0]), float(b.reshape(-1)[0])


def extract(key, g):
    conv_names, dense_names, norm_names = NAMES[key]()
    rng = np.random.default_rng(0)
    tensors, folds = collections.OrderedDict(), []
    convs = [n for n in g.nodes if n.op_type in ("Conv", "ConvTranspose")]
    assert len(convs) == len(conv_names), (key, len(convs), len(conv_names))
    for n, name in zip(convs, conv_names):
        w, b, chain, kinds, out, rel = fold_conv(g, n, rng)
        tensors[f"{name}.weight"] = w
        if b is not None:
            tensors[f"{name}.bias"] = b
        if chain:
            folds.append({"unit": name, "onnx": [n.name] + chain, "folded": kinds, "f64_rel_diff": rel})
        act = post_act_affine(g, out)
        if act is not None:
            tensors[f"{name}.act.scale"] = np.array([act[0]])
            tensors[f"{name}.act.bias"] = np.array([act[1]])
    mats = [n for n in g.nodes if n.op_type == "MatMul" and n.input[1] in g.const]
    assert len(mats) == len(dense_names), (key, len(mats))
    for n, name in zip(mats, dense_names):
        tensors[f"{name}.weight"] = g.const[n.input[1]].astype(np.float64).T
        add = g.only_consumer(n.output[0])
        assert add is not None and add.op_type == "Add"
        tensors[f"{name}.bias"] = g.other_const(add, n.output[0]).astype(np.float64).reshape(-1)
    sqrts = [n for n in g.nodes if n.op_type == "Sqrt"]
    assert len(sqrts) == len(norm_names)
    eps = {}
    for n, name in zip(sqrts, norm_names):
        add_eps = next(m for m in g.nodes if m.output[0] == n.input[0])
        eps[name] = float(np.asarray(g.other_const(add_eps, add_eps.input[0])).reshape(-1)[0])
        div = g.only_consumer(n.output[0])
        mul = g.only_consumer(div.output[0])
        add = g.only_consumer(mul.output[0])
        assert div.op_type == "Div" and mul.op_type == "Mul" and add.op_type == "Add"
        tensors[f"{name}.weight"] = g.other_const(mul, div.output[0]).astype(np.float64).reshape(-1)
        tensors[f"{name}.bias"] = g.other_const(add, mul.output[0]).astype(np.float64).reshape(-1)
    assert all(n.op_type != "BatchNormalization" or any(n.name in f["onnx"] for f in folds) for n in g.nodes)
    return tensors, folds, eps


# ---- numpy float64 layers ---------------------------------------------------------------------

def conv2d(x, w, b, stride=(1, 1), pads=(0, 0, 0, 0), groups=1):
    """ONNX Conv: x [N, C, H, W], w [O, C/groups, kh, kw], pads (top, left, bottom, right)."""
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    sh, sw = pair(stride)
    pt, pl, pb, pr = pads
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    oh, ow = (h + pt + pb - kh) // sh + 1, (wd + pl + pr - kw) // sw + 1
    out = np.zeros((n, o, oh, ow))
    depthwise = groups == c == o and cg == 1
    for ky in range(kh):
        for kx in range(kw):
            patch = xp[:, :, ky:ky + sh * (oh - 1) + 1:sh, kx:kx + sw * (ow - 1) + 1:sw]
            if depthwise:
                out += w[None, :, 0, ky, kx, None, None] * patch
            elif groups == 1:
                out += np.einsum("oc,nchw->nohw", w[:, :, ky, kx], patch, optimize=True)
            else:
                og = o // groups
                for gi in range(groups):
                    out[:, gi * og:(gi + 1) * og] += np.einsum(
                        "oc,nchw->nohw", w[gi * og:(gi + 1) * og, :, ky, kx], patch[:, gi * cg:(gi + 1) * cg], optimize=True)
    if b is not None:
        out += b[None, :, None, None]
    return out


def conv_transpose2d(x, w, b, stride=(2, 2), pads=(0, 0, 0, 0)):
    """ONNX ConvTranspose with kernel == stride and no padding: w [C, O, k, k]."""
    n, c, h, wd = x.shape
    _, o, kh, kw = w.shape
    assert pair(stride) == (kh, kw) and tuple(pads) == (0, 0, 0, 0)
    out = np.zeros((n, o, h * kh, wd * kw))
    for ky in range(kh):
        for kx in range(kw):
            out[:, :, ky::kh, kx::kw] = np.einsum("co,nchw->nohw", w[:, :, ky, kx], x, optimize=True)
    if b is not None:
        out += b[None, :, None, None]
    return out


def hardswish(x):
    return x * np.clip(x + 3.0, 0.0, 6.0) / 6.0


def hardsigmoid(x, alpha):
    return np.clip(alpha * x + 0.5, 0.0, 1.0)


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def fmt(shape):
    return "x".join(str(d) for d in shape)


class Net:
    """Float64 numpy layers over the safetensors names; records each layer when tracing."""

    def __init__(self, params, trace=False):
        self.p = {k: np.asarray(v, dtype=np.float64) for k, v in params.items()}
        self.used = set()
        self.trace = [] if trace else None

    def t(self, name):
        self.used.add(name)
        return self.p[name]

    def log(self, kind, name, y, inputs, detail):
        if self.trace is not None:
            self.trace.append((kind, name, list(y.shape), inputs, detail))

    def conv(self, x, name, stride=1, pad=None, groups=1, act=None, src="x"):
        w = self.t(f"{name}.weight")
        b = self.t(f"{name}.bias") if f"{name}.bias" in self.p else None
        kh, kw = w.shape[2:]
        pads = pad if pad is not None else (kh // 2, kw // 2, kh // 2, kw // 2)
        y = conv2d(x, w, b, pair(stride), pads, groups)
        y = self.act(y, name, act)
        kind = "conv_dw" if groups > 1 else "conv"
        self.log(kind, name, y, f"{src}[{fmt(x.shape)}]",
                 f"kernel {kh}x{kw} stride {fmt(pair(stride))} pads (t, l, b, r) {pads}, groups {groups}, "
                 f"{x.shape[1]}->{w.shape[0]}, bias {'yes' if b is not None else 'no'}, activation {act or 'none'}")
        return y

    def conv_t(self, x, name, act=None, src="x"):
        w, b = self.t(f"{name}.weight"), self.t(f"{name}.bias")
        y = self.act(conv_transpose2d(x, w, b), name, act)
        self.log("conv_transpose", name, y, f"{src}[{fmt(x.shape)}]",
                 f"kernel 2x2 stride 2x2 pads 0 output_padding 0, weight [C_in, C_out, 2, 2], {x.shape[1]}->{w.shape[1]}, "
                 f"bias yes, activation {act}")
        return y

    def act(self, y, name, act):
        if act is None:
            return y
        if act == "relu":
            return np.maximum(y, 0.0)
        if act == "sigmoid":
            return sigmoid(y)
        if act == "swish":
            return y * sigmoid(y)
        if act == "hardswish":
            return hardswish(y)
        if act == "hardswish+affine":
            return self.t(f"{name}.act.scale")[0] * hardswish(y) + self.t(f"{name}.act.bias")[0]
        raise ValueError(act)

    def se(self, x, name, alpha, shortcut=False, src="x"):
        s = x.mean(axis=(2, 3), keepdims=True)
        s = np.maximum(conv2d(s, self.t(f"{name}.conv1.weight"), self.t(f"{name}.conv1.bias")), 0.0)
        s = hardsigmoid(conv2d(s, self.t(f"{name}.conv2.weight"), self.t(f"{name}.conv2.bias")), alpha)
        y = x + x * s if shortcut else x * s
        c1 = self.p[f"{name}.conv1.weight"].shape
        self.log("se", name, y, f"{src}[{fmt(x.shape)}]",
                 f"global avg pool -> {name}.conv1 1x1 {c1[1]}->{c1[0]} bias, relu -> {name}.conv2 1x1 {c1[0]}->{c1[1]} bias, "
                 f"hardsigmoid(alpha={alpha!r}, beta=0.5) -> {'x + x * s' if shortcut else 'x * s'}")
        return y

    def up(self, x, f, name, src):
        y = x.repeat(f, axis=2).repeat(f, axis=3)
        self.log("upsample", name, y, f"{src}[{fmt(x.shape)}]", f"nearest x{f} (ONNX Resize nearest, asymmetric, floor: src = floor(dst / {f}))")
        return y

    def add(self, a, b, name, src):
        y = a + b
        self.log("add", name, y, src, "elementwise")
        return y

    def concat(self, xs, name, src):
        y = np.concatenate(xs, axis=1)
        self.log("concat", name, y, src, "along channels, in this order")
        return y

    def dense(self, x, name, act=None, src="x"):
        w, b = self.t(f"{name}.weight"), self.t(f"{name}.bias")
        y = self.act(x @ w.T + b, name, act)
        self.log("dense", name, y, f"{src}[{fmt(x.shape)}]", f"x @ weight^T + bias, weight [{w.shape[0]}, {w.shape[1]}], activation {act or 'none'}")
        return y

    def layer_norm(self, x, name, eps, src="x"):
        m = x.mean(axis=-1, keepdims=True)
        v = ((x - m) ** 2).mean(axis=-1, keepdims=True)
        y = (x - m) / np.sqrt(v + eps) * self.t(f"{name}.weight") + self.t(f"{name}.bias")
        self.log("layer_norm", name, y, f"{src}[{fmt(x.shape)}]", f"over the last axis, biased variance, eps {eps!r}")
        return y


def lcnet_backbone(net, x, blocks):
    """PP-LCNetV3 (after re-parameterisation). Returns the outputs of blocks2..blocks6."""
    x = net.conv(x, "backbone.conv1", stride=2, src="input")
    outs, prev = [], "backbone.conv1"
    for stage, cfg in blocks.items():
        for j, (k, s, se) in enumerate(cfg):
            p = f"backbone.{stage}.{j}"
            x = net.conv(x, f"{p}.dw", stride=s, groups=x.shape[1], act=None if s == 2 else "hardswish+affine", src=prev)
            prev = f"{p}.dw"
            if se:
                x = net.se(x, f"{p}.se", HS_LCNET, src=prev)
                prev = f"{p}.se"
            x = net.conv(x, f"{p}.pw", act="hardswish+affine", src=prev)
            prev = f"{p}.pw"
        outs.append((prev, x))
    return outs


def det_forward(net, x):
    """PP-OCRv4 det: x [N, 3, H, W] (H, W multiples of 32) -> probability map [N, 1, H, W]."""
    feats = lcnet_backbone(net, x, DET_BLOCKS)[1:]
    outs = [net.conv(f, f"backbone.out{i}", src=src) for i, (src, f) in enumerate(feats)]
    ins = {}
    for i in (3, 2, 1, 0):
        y = net.conv(outs[i], f"neck.ins{i}.conv", src=f"backbone.out{i}")
        ins[i] = net.se(y, f"neck.ins{i}.se", HS_PADDLE, shortcut=True, src=f"neck.ins{i}.conv")
    lvl = {3: ins[3]}
    for i in (2, 1, 0):
        lvl[i] = net.add(ins[i], net.up(lvl[i + 1], 2, f"up(in{i + 1})", f"in{i + 1}"), f"in{i}",
                         f"neck.ins{i}.se, up(in{i + 1})")
    ps = {}
    for i in (3, 2, 1, 0):
        y = net.conv(lvl[i], f"neck.inp{i}.conv", src=f"in{i}")
        ps[i] = net.se(y, f"neck.inp{i}.se", HS_PADDLE, shortcut=True, src=f"neck.inp{i}.conv")
    ups = [net.up(ps[3], 8, "up(inp3)", "neck.inp3.se"), net.up(ps[2], 4, "up(inp2)", "neck.inp2.se"),
           net.up(ps[1], 2, "up(inp1)", "neck.inp1.se"), ps[0]]
    fuse = net.concat(ups, "fuse", "up(inp3), up(inp2), up(inp1), neck.inp0.se")
    y = net.conv(fuse, "head.conv", act="relu", src="fuse")
    y = net.conv_t(y, "head.up1", act="relu", src="head.conv")
    return net.conv_t(y, "head.up2", act="sigmoid", src="head.up1")


def rec_forward(net, x, eps):
    """PP-OCRv4 rec: x [N, 3, 48, W] -> softmax [N, T, 6625]."""
    src, x = lcnet_backbone(net, x, REC_BLOCKS)[-1]
    n, c, h, w = x.shape
    ho, wo = (h - 3) // 3 + 1, (w - 2) // 2 + 1
    x = x[:, :, :ho * 3, :wo * 2].reshape(n, c, ho, 3, wo, 2).mean(axis=(3, 5))
    net.log("avg_pool", "backbone.pool", x, f"{src}[{fmt((n, c, h, w))}]", "kernel 3x2 stride 3x2 pads 0, floor")
    hsc = x
    z = net.conv(x, "neck.conv1", pad=(0, 1, 0, 1), act="swish", src="backbone.pool")
    z = net.conv(z, "neck.conv2", act="swish", src="neck.conv1")
    n, c, h, w = z.shape
    assert h == 1
    z = z.reshape(n, c, h * w).transpose(0, 2, 1)
    net.log("reshape", "tokens", z, f"neck.conv2[{fmt((n, c, h, w))}]", "[N, C, 1, T] -> [N, C, T] -> transpose -> [N, T, C]")
    prev = "tokens"
    for b in range(2):
        p = f"neck.blocks.{b}"
        y = net.layer_norm(z, f"{p}.norm1", eps[f"{p}.norm1"], src=prev)
        qkv = net.dense(y, f"{p}.attn.qkv", src=f"{p}.norm1")
        t = qkv.shape[1]
        qkv = qkv.reshape(n, t, 3, 8, 15).transpose(2, 0, 3, 1, 4)
        q, k, v = qkv[0] * float(np.float32(15 ** -0.5)), qkv[1], qkv[2]
        a = softmax(q @ k.transpose(0, 1, 3, 2), axis=-1)
        y = (a @ v).transpose(0, 2, 1, 3).reshape(n, t, 120)
        net.log("attention", f"{p}.attn", y, f"{p}.attn.qkv[{fmt((n, t, 360))}]",
                f"reshape [N, T, 3, 8, 15] -> transpose (2, 0, 3, 1, 4) -> q, k, v [N, 8, T, 15]; "
                f"softmax(q * {float(np.float32(15 ** -0.5))!r} @ k^T, last axis) @ v -> transpose (0, 2, 1, 3) -> [N, T, 120]")
        y = net.dense(y, f"{p}.attn.proj", src=f"{p}.attn")
        z = net.add(z, y, f"{p}.res1", f"{prev}, {p}.attn.proj")
        y = net.layer_norm(z, f"{p}.norm2", eps[f"{p}.norm2"], src=f"{p}.res1")
        y = net.dense(y, f"{p}.mlp.fc1", act="swish", src=f"{p}.norm2")
        y = net.dense(y, f"{p}.mlp.fc2", src=f"{p}.mlp.fc1")
        z = net.add(z, y, f"{p}.res2", f"{p}.res1, {p}.mlp.fc2")
        prev = f"{p}.res2"
    z = net.layer_norm(z, "neck.norm", eps["neck.norm"], src=prev)
    z = z.reshape(n, h, w, c).transpose(0, 3, 1, 2)
    net.log("reshape", "to_map", z, f"neck.norm[{fmt((n, w, c))}]", "[N, T, C] -> [N, 1, T, C] -> transpose (0, 3, 1, 2) -> [N, C, 1, T]")
    z = net.conv(z, "neck.conv3", act="swish", src="to_map")
    z = net.concat([hsc, z], "neck.concat", "backbone.pool, neck.conv3")
    z = net.conv(z, "neck.conv4", pad=(0, 1, 0, 1), act="swish", src="neck.concat")
    z = net.conv(z, "neck.conv1x1", act="swish", src="neck.conv4")
    z = z[:, :, 0, :].transpose(0, 2, 1)
    net.log("reshape", "sequence", z, f"neck.conv1x1[{fmt((n, 120, 1, w))}]", "squeeze H -> [N, C, T] -> transpose -> [N, T, C]")
    y = net.dense(z, "head.fc", src="sequence")
    y = softmax(y, axis=-1)
    net.log("softmax", "head.softmax", y, f"head.fc[{fmt(y.shape)}]", "over the last axis (6625 classes; 0 = CTC blank)")
    return y


def cls_forward(net, x):
    """Direction classifier: x [N, 3, 48, 192] -> softmax [N, 2]."""
    x = net.conv(x, "backbone.conv1", stride=2, act="hardswish", src="input")
    prev = "backbone.conv1"
    for i, (k, s, se, act) in enumerate(CLS_BLOCKS):
        p = f"backbone.blocks.{i}"
        y = net.conv(x, f"{p}.expand", act=act, src=prev)
        y = net.conv(y, f"{p}.dw", stride=s, groups=y.shape[1], act=act, src=f"{p}.expand")
        last = f"{p}.dw"
        if se:
            y = net.se(y, f"{p}.se", HS_PADDLE, src=last)
            last = f"{p}.se"
        y = net.conv(y, f"{p}.project", src=last)
        if y.shape == x.shape and pair(s) == (1, 1):
            y = net.add(x, y, f"{p}.residual", f"{prev}, {p}.project")
            prev = f"{p}.residual"
        else:
            prev = f"{p}.project"
        x = y
    x = net.conv(x, "backbone.conv2", act="hardswish", src=prev)
    n, c, h, w = x.shape
    xm = x[:, :, :h // 2 * 2, :w // 2 * 2].reshape(n, c, h // 2, 2, w // 2, 2).max(axis=(3, 5))
    net.log("max_pool", "backbone.pool", xm, f"backbone.conv2[{fmt(x.shape)}]", "kernel 2x2 stride 2x2 pads 0, floor")
    g = xm.mean(axis=(2, 3))
    net.log("global_avg_pool", "head.pool", g, f"backbone.pool[{fmt(xm.shape)}]", "mean over H, W, flattened to [N, C]")
    y = softmax(net.dense(g, "head.fc", src="head.pool"), axis=-1)
    net.log("softmax", "head.softmax", y, f"head.fc[{fmt(y.shape)}]", "over the classes: [p(0), p(180)]")
    return y


def forward(key, params, x, eps=None, trace=False):
    net = Net(params, trace)
    y = {"det": lambda: det_forward(net, x), "rec": lambda: rec_forward(net, x, eps), "cls": lambda: cls_forward(net, x)}[key]()
    assert net.used == set(params), sorted(set(params) - net.used)
    return y, net.trace


# ---- op lists -----------------------------------------------------------------------------------

def op_note(key, op, g):
    """(flag, note) for an op type: flag = a plain CNN engine (convs, batch norm, pooling,
    elementwise activations, add/mul/concat over channels, global pool + dense classifier) lacks it."""
    n_of = [n for n in g.nodes if n.op_type == op]
    if op == "Constant":
        return False, "holds every weight and scalar (no run-time work); inlined below"
    if op == "Conv":
        ks = sorted({tuple(g.attrs[n.name]["kernel_shape"]) for n in n_of})
        ss = sorted({tuple(g.attrs[n.name]["strides"]) for n in n_of})
        dw = sum(1 for n in n_of if g.attrs[n.name]["group"] > 1)
        sym = all(list(g.attrs[n.name]["pads"]) == [k[0] // 2, k[1] // 2, k[0] // 2, k[1] // 2]
                  for n in n_of for k in [g.attrs[n.name]["kernel_shape"]])
        return False, f"kernels {ks}, strides {ss}, {dw} depthwise (group = C); pads {'all' if sym else 'NOT all'} (kh // 2, kw // 2) on both sides"
    if op == "BatchNormalization":
        return False, "inference batch norm; folded into the preceding conv in the safetensors"
    if op == "Add":
        return False, {"det": "affine scalars, hardswish's + 3, ConvTranspose biases, RSE shortcuts, FPN merges",
                       "rec": "affine scalars, hardswish's + 3, dense biases, residuals, LayerNorm eps and beta",
                       "cls": "hardswish's + 3, SE conv biases (constant-folded Reshape), residuals"}[key]
    if op == "Mul":
        return False, "hardswish's x * relu6(x + 3), squeeze-excitation gating" + (
            "" if key == "cls" else ", affine scalars") + (", swish, q scaling, LayerNorm gamma" if key == "rec" else "")
    if op == "Div":
        return False, "hardswish's / 6" + (", LayerNorm's (x - mean) / sqrt(var + eps)" if key == "rec" else "")
    if op == "Clip":
        bounds = sorted({(float(g.const[n.input[1]]), float(g.const[n.input[2]])) for n in n_of})
        return False, f"bounds {bounds} (hardswish's relu6(x + 3))"
    if op == "Relu":
        return False, "squeeze-excitation" + (", DB head" if key == "det" else "") + (", classifier blocks" if key == "cls" else "")
    if op == "GlobalAveragePool":
        return False, "squeeze-excitation" + (", the classifier's final pool" if key == "cls" else "")
    if op == "Sigmoid":
        return False, "the probability map" if key == "det" else "swish x * sigmoid(1.0 * x) (the Mul by 1.0 is explicit)"
    if op == "HardSigmoid":
        hs = sorted({(g.attrs[n.name]["alpha"], g.attrs[n.name]["beta"]) for n in n_of})
        return True, (f"max(0, min(1, alpha * x + beta)) with (alpha, beta) in {hs}: Paddle's slopes, f32(0.2) and "
                      "f32(0.1666667), never exactly 1/6 (PyTorch-style engines fix alpha = 1/6; Ocelli's "
                      "UnaryOp::HardSigmoid is relu6(x + 3) / 6)")
    if op == "Resize":
        return True, "nearest-neighbour upsampling by 2, 4, 8 (mode nearest, asymmetric, floor: pixel replication)"
    if op == "ConvTranspose":
        return True, "2x2 stride-2 transposed convs (learned upsampling in the DB head)"
    if op == "Concat":
        if key == "det":
            return False, "channel concatenation of the 4 FPN levels"
        if key == "rec":
            return True, "channel concatenation (neck shortcut), and int64 shape vectors (axis 0) for the run-time Reshape targets"
        return True, "joins an int64 shape vector for the flatten before the classifier (run-time shape)"
    if op == "MatMul":
        if key == "cls":
            return False, "the dense classifier [N, 200] @ [200, 2]"
        return True, "3-D dense layers [N, T, C] @ [C, C'] and batched attention products q @ k^T, a @ v"
    if op == "Softmax":
        if key == "cls":
            return False, "over the 2 classes"
        return True, "over the last axis: attention scores [N, 8, T, T] (axis 3) and the 6625 classes per time step (axis 2)"
    if op == "Reshape":
        if key == "cls":
            return False, "flatten [N, 200, 1, 1] -> [N, 200] (target from Shape), and constant-folded reshapes of SE biases"
        return True, "[N, C, 1, T] -> [N, C, T], qkv -> [N, T, 3, 8, 15], heads -> [N, T, 120], tokens -> [N, 1, T, 120] (targets from Shape)"
    if op in ("Shape", "Cast", "Slice"):
        what = {"Shape": "run-time shape queries (the input width is dynamic)", "Cast": "int64 <-> int32 casts of shape values",
                "Slice": "slices of shape vectors" + (", and of the stacked q/k/v tensor" if key == "rec" else "")}[op]
        return True, what + "; a static-shape builder computes these itself"
    if op == "Squeeze":
        return True, "drops the q/k/v axis and the height-1 axis"
    if op == "Transpose":
        perms = sorted({tuple(g.attrs[n.name]["perm"]) for n in n_of})
        return True, f"perms {perms}: [N, C, T] <-> [N, T, C], attention heads"
    if op in ("ReduceMean", "Sub", "Pow", "Sqrt"):
        return True, {"ReduceMean": "LayerNorm, decomposed: mean and biased variance over the last axis",
                      "Sub": "LayerNorm, decomposed: x - mean", "Pow": "LayerNorm, decomposed: (x - mean)^2",
                      "Sqrt": "LayerNorm, decomposed: sqrt(var + eps)"}[op]
    if op == "AveragePool":
        return False, "3x2 window, stride 3x2, no padding (a non-square window)"
    if op == "MaxPool":
        return False, "2x2 stride 2"
    if op == "Identity":
        return False, "no-op at the output"
    raise KeyError(op)


def ort_shapes(blob, shape):
    """Runs the model once with every node output exposed; returns name -> shape."""
    import onnx
    import onnxruntime as ort
    m = onnx.load_from_string(blob)
    have = {o.name for o in m.graph.output}
    for n in m.graph.node:
        for o in n.output:
            if o and o not in have:
                m.graph.output.append(onnx.helper.make_empty_tensor_value_info(o))
                have.add(o)
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    so.log_severity_level = 3
    sess = ort.InferenceSession(m.SerializeToString(), so, providers=["CPUExecutionProvider"])
    x = np.random.default_rng(1).uniform(-1, 1, shape).astype(np.float32)
    names = [o.name for o in sess.get_outputs()]
    vals = sess.run(names, {sess.get_inputs()[0].name: x})
    return {k: list(np.shape(v)) for k, v in zip(names, vals)}, {k: v for k, v in zip(names, vals) if np.ndim(v) <= 1 and np.size(v) <= 8}


def describe_const(g, name):
    a = g.const[name]
    if a.size <= 6:
        return f"{a.tolist()!r}"
    return f"const {a.dtype}[{', '.join(map(str, a.shape))}]"


def op_list(key, g, sha, params, eps, folds):
    shapes, small = ort_shapes(g.model.SerializeToString(), TYPICAL[key])
    x = np.random.default_rng(1).uniform(-1, 1, TYPICAL[key])
    _, trace = forward(key, params, x, eps, trace=True)
    m = g.model
    inp, out = m.graph.input[0], m.graph.output[0]
    shapes[inp.name] = list(TYPICAL[key])
    lines = [f"== {key}: {TITLES[key]} ==",
             f"file: {PKG}/{MODELS[key][0]} (sha256 {sha}) from the PyPI wheel {WHEEL}",
             f"ir_version {m.ir_version}, opsets {[(o.domain or 'ai.onnx', o.version) for o in m.opset_import]}, "
             f"producer {m.producer_name!r} {m.producer_version!r}",
             f"graph input: {inp.name} [{', '.join(d.dim_param or str(d.dim_value) for d in inp.type.tensor_type.shape.dim)}] float32; "
             f"graph output: {out.name}; typical input here {TYPICAL[key]} -> output {shapes[out.name]}",
             ""]
    counts = collections.Counter(n.op_type for n in g.all_nodes)
    lines.append(f"op types ({len(g.all_nodes)} nodes; CNN+ = an op type a plain CNN engine (conv, batch norm, pooling, "
                 "elementwise activations, add/mul/concat, global pool + dense classifier) would lack, or uses "
                 "beyond that):")
    for op, k in sorted(counts.items(), key=lambda t: (-t[1], t[0])):
        flag, note = op_note(key, op, g)
        lines.append(f"  {'CNN+' if flag else '    '} {op:20s} {k:4d}  {note}")
    hs = sorted({(round(g.attrs[n.name]["alpha"], 10), g.attrs[n.name]["beta"]) for n in g.nodes if n.op_type == "HardSigmoid"})
    if hs:
        lines.append(f"  HardSigmoid (alpha, beta) used: {hs}")
    rz = sorted({(g.attrs[n.name]["mode"], g.attrs[n.name]["coordinate_transformation_mode"], g.attrs[n.name].get("nearest_mode"),
                  tuple(g.const[n.input[2]].tolist())) for n in g.nodes if n.op_type == "Resize"})
    if rz:
        lines.append(f"  Resize (mode, coordinate_transformation_mode, nearest_mode, scales) used: {rz}; roi empty, sizes absent")
    ct = [(g.attrs[n.name].get("strides"), g.attrs[n.name].get("pads"), g.attrs[n.name].get("output_padding", [0, 0]),
           g.attrs[n.name].get("kernel_shape")) for n in g.nodes if n.op_type == "ConvTranspose"]
    if ct:
        lines.append(f"  ConvTranspose (strides, pads, output_padding, kernel_shape): {ct} (output_padding absent = 0), "
                     "bias as a separate Add")
    bn = [n for n in g.nodes if n.op_type == "BatchNormalization"]
    if bn:
        lines.append(f"  BatchNormalization: {len(bn)}, epsilon {sorted({g.attrs[n.name]['epsilon'] for n in bn})}, "
                     "all folded into the preceding conv in the safetensors (exact in float64; see below)")
    if key == "rec":
        lines.append(f"  LayerNorm eps: {eps}")
    lines.append(f"  folds: {len(folds)} conv units absorbed {collections.Counter(k for f in folds for k in f['folded'])} "
                 f"(bn = BatchNormalization, mul/add = constant Mul/Add); worst float64 relative difference "
                 f"{max((f['f64_rel_diff'] for f in folds), default=0.0):.2e}")
    lines.append("")
    lines.append(f"== {key}: layers in Ocelli's terms, over the safetensors names (from the numpy forward pass; NCHW; "
                 f"typical input {TYPICAL[key]}) ==")
    for i, (kind, name, shape, src, detail) in enumerate(trace):
        lines.append(f"  {i:3d} {kind:16s} {name:32s} [{fmt(shape)}] <- {src}  {detail}")
    lines.append("")
    lines.append(f"== {key}: every ONNX node in order (Constant nodes inlined as their values or shapes; output shapes for "
                 f"input {TYPICAL[key]}, from onnxruntime) ==")
    for i, n in enumerate(g.nodes):
        ins = []
        for v in n.input:
            if not v:
                ins.append("<none>")
            elif v in g.const:
                ins.append(describe_const(g, v))
            else:
                ins.append(f"{v}[{', '.join(map(str, shapes.get(v, ['?'])))}]")
        outs = ", ".join(f"{o}[{', '.join(map(str, shapes.get(o, ['?'])))}]" + (f"={small[o].tolist()}" if o in small and n.op_type in ("Shape", "Cast", "Slice", "Concat") else "")
                         for o in n.output)
        at = g.attrs[n.name]
        note = " (constant-folded)" if n.name in g.folded else ""
        lines.append(f"  {i:3d} {n.op_type:18s} {n.name} -> {outs}  inputs: {'; '.join(ins)}" + (f"  attrs {at}" if at else "") + note)
    lines.append("")
    return lines


# ---- rapidocr, observed -----------------------------------------------------------------------

class Proxy:
    """Forwards calls and attributes to `inner`, logging each call's arguments and result."""

    def __init__(self, inner, log):
        self._inner, self._log = inner, log

    def __call__(self, *a, **k):
        r = self._inner(*a, **k)
        self._log.append((a, r))
        return r

    def __getattr__(self, name):
        return getattr(self._inner, name)


def observe(engine):
    """Installs proxies on a RapidOCR instance; returns the log dict they fill."""
    log = collections.defaultdict(list)
    det = engine.text_det
    det.infer = Proxy(det.infer, log["det_infer"])
    pp = det.postprocess_op
    for name in ("get_mini_boxes", "box_score_fast", "unclip", "boxes_from_bitmap"):
        orig = getattr(pp, name)

        def wrapped(*a, _orig=orig, _name=name):
            r = _orig(*a)
            log["db"].append((_name, a, copy.deepcopy(r)))  # boxes_from_bitmap rescales boxes in place
            return r
        setattr(pp, name, wrapped)
    for obj, name in ((det, "filter_tag_det_res"), (engine, "sorted_boxes"), (engine, "get_crop_img_list")):
        orig = getattr(obj, name)

        def wrapped(*a, _orig=orig, _name=name):
            r = _orig(*a)
            log[_name].append((a, r))
            return r
        setattr(obj, name, wrapped)
    engine.text_cls.infer = Proxy(engine.text_cls.infer, log["cls_infer"])
    engine.text_cls = Proxy(engine.text_cls, log["cls"])
    engine.text_rec.session = Proxy(engine.text_rec.session, log["rec_session"])
    engine.text_rec = Proxy(engine.text_rec, log["rec"])
    return log


def db_candidates(events):
    """Parses the DBPostProcess call stream into per-contour candidates."""
    cands, cur = [], None
    for name, a, r in events:
        if name == "get_mini_boxes":
            if cur is not None and cur.get("stage") == "unclipped":
                cur["final_box"], cur["final_sside"] = r[0].tolist(), float(r[1])
                cur["stage"] = "done"
                continue
            cur = {"rect": r[0].tolist(), "sside": float(r[1]), "stage": "rect"}
            cands.append(cur)
        elif name == "box_score_fast":
            cur["score"] = float(r)
        elif name == "unclip":
            cur["unclipped"] = r.reshape(-1, 2).tolist()
            cur["stage"] = "unclipped"
    return cands


def checksum(a):
    a = np.asarray(a, dtype=np.float64)
    return {"shape": list(a.shape), "sum": float(a.sum()), "sum_sq": float((a * a).sum()), "min": float(a.min()), "max": float(a.max())}


def ctc_decode(probs, keys):
    """Greedy CTC as rapidocr decodes it (re-implemented): blank 0, keys at 1.., ' ' last."""
    chars = ["<blank>"] + keys + [" "]
    k, p = probs.argmax(axis=-1), probs.max(axis=-1)
    keep = np.ones(len(k), bool)
    keep[1:] = k[1:] != k[:-1]
    keep &= k != 0
    text = "".join(chars[i] for i in k[keep])
    return text, (float(p[keep].astype(np.float64).mean()) if keep.any() else 0.0), k, p


def grown_rect_error(cands):
    """Max corner distance between rapidocr's unclipped box and the rectangle grown by d."""
    from shapely.geometry import Polygon
    worst = 0.0
    for c in cands:
        if "final_box" not in c:
            continue
        box = np.array(c["rect"], dtype=np.float64)
        poly = Polygon(box)
        d = poly.area * 1.6 / poly.length
        ctr = box.mean(axis=0)
        u = (box[1] - box[0]) / np.linalg.norm(box[1] - box[0])
        v = (box[3] - box[0]) / np.linalg.norm(box[3] - box[0])
        grown = np.array([ctr + (np.dot(p - ctr, u) + math.copysign(d, np.dot(p - ctr, u))) * u
                          + (np.dot(p - ctr, v) + math.copysign(d, np.dot(p - ctr, v))) * v for p in box])
        fin = np.array(c["final_box"])
        worst = max(worst, float(max(np.linalg.norm(fin - g, axis=1).min() for g in grown)))
    return worst


def run_image(engine_cls, rel, keys, params, eps):
    import cv2
    engine = engine_cls()
    log = observe(engine)
    result, _ = engine(str(ROOT / rel))
    img = engine.load_img(str(ROOT / rel))
    h, w = img.shape[:2]
    out = {"file": rel, "image_size_hw": [h, w], "loaded_as": "BGR uint8 (grey replicated)" if
           Image_mode(ROOT / rel) == "L" else "BGR uint8 (from RGB)"}
    # detection input and the resize rule
    det_args, det_out = log["det_infer"][0]
    x_det, pred = det_args[0], det_out[0]
    rh, rw = x_det.shape[2:]
    ratio = 736 / min(h, w) if min(h, w) < 736 else 1.0
    exp_hw = (int(round(int(h * ratio) / 32) * 32), int(round(int(w * ratio) / 32) * 32))
    assert (rh, rw) == exp_hw, ((rh, rw), exp_hw)
    resized = engine.text_det.get_preprocess(max(h, w)).resize(img)
    mine = ((resized.astype(np.float32) * np.float32(1 / 255.0)).astype(np.float64) - 0.5) / 0.5
    mine = mine.astype(np.float32).transpose(2, 0, 1)[None]
    assert np.array_equal(mine, x_det), "det normalisation formula"
    P = pred[0, 0]
    seg = (P > 0.3).astype(np.uint8)
    mask = cv2.dilate(seg, np.ones((2, 2)))
    m2 = seg.copy()
    m2[1:] |= seg[:-1]
    m2[:, 1:] |= seg[:, :-1]
    m2[1:, 1:] |= seg[:-1, :-1]
    assert np.array_equal(mask, m2), "dilation rule"
    contours, _ = cv2.findContours(mask * 255, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    f = 8
    ds = P[:rh // f * f, :rw // f * f].reshape(rh // f, f, rw // f, f).mean(axis=(1, 3))
    out["det"] = {
        "input_size_hw": [int(rh), int(rw)], "ratio": ratio,
        "input_checksum": checksum(x_det), "resized_uint8_sum": int(resized.astype(np.int64).sum()),
        "prob": dict(checksum(P), above_thresh=int(seg.sum()), mask_after_dilate=int(mask.sum()), argmax_yx=[int(v) for v in np.unravel_index(P.argmax(), P.shape)],
                     downsample=f"mean of {f}x{f} blocks", mean_blocks=np.round(ds, 5).tolist()),
        "contours": len(contours),
    }
    cands = db_candidates(log["db"])
    (pp_in, (db_boxes, db_scores)) = next((a, r) for n, a, r in log["db"] if n == "boxes_from_bitmap")
    out["det"]["candidates"] = [{k: v for k, v in c.items() if k != "stage"} for c in cands if "score" in c]
    out["det"]["candidates_note"] = ("contours with sside >= 3 in findContours order: rect = minAreaRect corners [p1..p4] in "
                                     "map pixels, score = mean prob in the rect polygon, unclipped = pyclipper polygon, "
                                     "final_box = its minAreaRect (map pixels, before scaling)")
    out["det"]["db_boxes"] = [{"box": b.tolist(), "score": float(s)} for b, s in zip(db_boxes, db_scores)]
    out["unclip_vs_grown_rect_px"] = grown_rect_error(cands)
    lines = []
    if log["sorted_boxes"]:
        filt_out = log["filter_tag_det_res"][0][1]
        # scores of the kept boxes: redo the filter's keep rule on copies with rapidocr's methods
        kept_scores = []
        for b, s in zip(db_boxes, db_scores):
            bb = engine.text_det.clip_det_res(engine.text_det.order_points_clockwise(b.astype(np.float32).copy()), h, w)
            if int(np.linalg.norm(bb[0] - bb[1])) > 3 and int(np.linalg.norm(bb[0] - bb[3])) > 3:
                kept_scores.append((bb, float(s)))
        assert len(kept_scores) == len(filt_out)
        sorted_boxes = log["sorted_boxes"][0][1]
        crops = log["get_crop_img_list"][0][1]
        cls_imgs, cls_res, _ = log["cls"][0][1]
        cls_x = np.concatenate([a[0] for a, _ in log["cls_infer"]])
        cls_y = np.concatenate([r[0] for _, r in log["cls_infer"]])
        cls_order = np.argsort(np.array([c.shape[1] / float(c.shape[0]) for c in crops]))
        rec_res, _ = log["rec"][0][1]
        rec_order = np.argsort(np.array([c.shape[1] / float(c.shape[0]) for c in cls_imgs]))
        rec_batches = [(a[0], r[0]) for a, r in log["rec_session"]]
        for i, box in enumerate(sorted_boxes):
            score = next(s for bb, s in kept_scores if np.array_equal(bb, box))
            crop = crops[i]
            ci = int(np.where(cls_order == i)[0][0])
            ri = int(np.where(rec_order == i)[0][0])
            bx, by = divmod(ri, 6)
            rx, ry = rec_batches[bx]
            text, conf, k, p = ctc_decode(ry[by], keys)
            assert (text, round(conf, 9)) == (rec_res[i][0], round(rec_res[i][1], 9)), (text, conf, rec_res[i])
            alone, _ = engine.text_rec._inner([cls_imgs[i]])
            ratio_i = cls_imgs[i].shape[1] / cls_imgs[i].shape[0]
            lines.append({
                "box": np.asarray(box, dtype=np.float64).tolist(), "box_score": score,
                "crop_size_hw": list(crop.shape[:2]), "crop_rotated_90": bool(
                    int(max(np.linalg.norm(box[0] - box[3]), np.linalg.norm(box[1] - box[2]))) /
                    int(max(np.linalg.norm(box[0] - box[1]), np.linalg.norm(box[2] - box[3]))) >= 1.5),
                "crop_sum": int(crop.astype(np.int64).sum()),
                "cls": {"label": cls_res[i][0], "score": float(cls_res[i][1]), "probs_0_180": cls_y[ci].tolist(),
                        "batch_position": ci, "resized_width": int(min(192, math.ceil(48 * crop.shape[1] / crop.shape[0])))},
                "rotated_180": bool(cls_res[i][0] == "180" and cls_res[i][1] > 0.9),
                "rec": {"batch": bx, "batch_position": by, "input_width": int(rx.shape[3]),
                        "resized_width": int(min(rx.shape[3], math.ceil(48 * ratio_i))), "steps": int(ry.shape[1]),
                        "text": rec_res[i][0], "score": float(rec_res[i][1]),
                        "argmax": k.tolist(), "maxprob": np.round(p, 7).tolist()},
                "rec_alone": {"input_width": int(48 * max(320 / 48, ratio_i)), "text": alone[0][0], "score": float(alone[0][1])},
                "kept": bool(rec_res[i][1] >= 0.5),
            })
        out["cls_order"] = cls_order.tolist()
        out["rec_order"] = rec_order.tolist()
        raw = {"det_input": x_det, "det_prob": pred, "resized": resized, "cls_x": cls_x, "cls_y": cls_y,
               "rec_batches": rec_batches}
    else:
        raw = {"det_input": x_det, "det_prob": pred, "resized": resized}
    out["lines"] = lines
    out["result"] = [[np.asarray(r[0], dtype=np.float64).tolist(), r[1], float(r[2])] for r in (result or [])]
    return out, raw


def Image_mode(path):
    from PIL import Image
    with Image.open(path) as im:
        return im.mode


# ---- main ---------------------------------------------------------------------------------------

def main():
    import onnxruntime as ort
    from rapidocr_onnxruntime import RapidOCR

    assert importlib.metadata.version("rapidocr-onnxruntime") == "1.4.4"
    blobs = {}
    with tempfile.TemporaryDirectory() as tmp:
        wheel = pip_download(WHEEL, tmp)
        wheel_sha = hashlib.sha256(open(wheel, "rb").read()).hexdigest()
        with zipfile.ZipFile(wheel) as z:
            for key, (path, sha) in MODELS.items():
                blobs[key] = z.read(f"{PKG}/{path}")
                assert hashlib.sha256(blobs[key]).hexdigest() == sha, key
            config = z.read(f"{PKG}/config.yaml")
            assert hashlib.sha256(config).hexdigest() == CONFIG_SHA256
    installed = pathlib.Path(importlib.util.find_spec(PKG).submodule_search_locations[0])
    for key, (path, sha) in MODELS.items():
        assert hashlib.sha256((installed / path).read_bytes()).hexdigest() == sha, f"installed {key} differs from the wheel"

    graphs = {k: Graph(b) for k, b in blobs.items()}
    keys = graphs["rec"].meta["character"].splitlines()
    assert len(keys) == 6623
    (ROOT / "assets/models").mkdir(parents=True, exist_ok=True)
    (ROOT / "assets/models/ppocr_keys.txt").write_text("\n".join(keys) + "\n", encoding="utf-8")

    params, folds, eps = {}, {}, {}
    for key, g in graphs.items():
        t, folds[key], eps[key] = extract(key, g)
        params[key] = collections.OrderedDict((k, v.astype(np.float32)) for k, v in t.items())
        meta = {"source": f"{WHEEL} {PKG}/{MODELS[key][0]}", "sha256": MODELS[key][1],
                "made_by": "scripts/convert_ppocr.py", "note": "BatchNormalization and constant Mul/Add after convs folded in float64"}
        write_safetensors(ROOT / f"assets/models/ppocr_{key}.safetensors", params[key], "F32", meta)
        worst = max((f["f64_rel_diff"] for f in folds[key]), default=0.0)
        print(f"{key}: {len(t)} tensors, {sum(v.size for v in t.values())} values, {len(folds[key])} folds "
              f"(worst float64 relative difference {worst:.2e})")

    ops = [f"PP-OCR models from the PyPI wheel {WHEEL} (sha256 {wheel_sha}), as converted by scripts/convert_ppocr.py",
           "Safetensors names, the wiring and rapidocr's pre/post-processing: see the docstring of scripts/convert_ppocr.py.", ""]
    for key, g in graphs.items():
        ops += op_list(key, g, MODELS[key][1], params[key], eps[key], folds[key])
    (ROOT / "scripts/ppocr_ops.txt").write_text("\n".join(ops) + "\n")

    golden = {
        "source": {"wheel": WHEEL, "wheel_sha256": wheel_sha, "models": {k: {"path": f"{PKG}/{p}", "sha256": s} for k, (p, s) in MODELS.items()},
                   "config_sha256": CONFIG_SHA256},
        "versions": {p: importlib.metadata.version(p) for p in ("rapidocr-onnxruntime", "onnxruntime", "onnx", "numpy", "opencv-python",
                                                                 "pyclipper", "Shapely", "Pillow")},
        "config": config.decode(),
        "dictionary": {"file": "assets/models/ppocr_keys.txt", "entries": len(keys), "classes": len(keys) + 2,
                       "blank": 0, "space_class": len(keys) + 1},
        "folds": folds,
        "images": {},
        "numpy_vs_onnxruntime": {},
    }
    raw_page = None
    for name, rel in IMAGES:
        info, raw = run_image(RapidOCR, rel, keys, params, eps)
        golden["images"][name] = info
        y, _ = forward("det", params["det"], raw["det_input"].astype(np.float64))
        golden["numpy_vs_onnxruntime"][f"det {name}"] = float(np.abs(y - raw["det_prob"]).max())
        if "cls_x" in raw:
            y, _ = forward("cls", params["cls"], raw["cls_x"].astype(np.float64))
            golden["numpy_vs_onnxruntime"][f"cls {name}"] = float(np.abs(y - raw["cls_y"]).max())
            golden["numpy_vs_onnxruntime"][f"rec {name}"] = max(
                float(np.abs(forward("rec", params["rec"], rx.astype(np.float64), eps["rec"])[0] - ry).max())
                for rx, ry in raw["rec_batches"])
        if name == "page.png":
            raw_page = raw
        print(name, "det input", info["det"]["input_size_hw"], "contours", info["det"]["contours"],
              "db boxes", len(info["det"]["db_boxes"]))
        for ln in info["lines"]:
            print(f"   {ln['rec']['text']!r} {ln['rec']['score']:.4f} box {ln['box']} db {ln['box_score']:.4f} "
                  f"crop {ln['crop_size_hw']} cls {ln['cls']['label']} {ln['cls']['score']:.4f} alone {ln['rec_alone']['text']!r}")
    print("numpy vs onnxruntime:", golden["numpy_vs_onnxruntime"])
    for k, v in golden["numpy_vs_onnxruntime"].items():
        assert v < 1e-3, (k, v)
    page = golden["images"]["page.png"]
    assert page["result"][0][1] == "Region-basedsegmentation" and len(page["result"]) == 5

    out = ROOT / "assets/golden/ocr"
    out.mkdir(parents=True, exist_ok=True)
    resized = raw_page["resized"]
    assert len(raw_page["rec_batches"]) == 1
    assert (resized[..., 0] == resized[..., 1]).all() and (resized[..., 0] == resized[..., 2]).all()
    write_safetensors(out / "ppocr_raw.safetensors", collections.OrderedDict([
        ("det.resized", resized[..., 0].astype(np.float32)),
        ("det.prob", raw_page["det_prob"]),
        ("cls.input", raw_page["cls_x"]),
        ("cls.output", raw_page["cls_y"]),
        ("rec.input", raw_page["rec_batches"][0][0]),
    ]), "F32", {"image": "assets/ocr/page.png", "note": "det.resized: the det input before normalisation (uint8 values, one "
                "channel: B = G = R); cls/rec inputs in rapidocr's batch order (see ppocr.json cls_order/rec_order)"})
    write_safetensors(out / "ppocr_raw_rec.safetensors", collections.OrderedDict([("rec.output", raw_page["rec_batches"][0][1])]), "F32",
                      {"image": "assets/ocr/page.png", "note": "rec softmax for rec.input of ppocr_raw.safetensors"})
    golden["raw"] = {
        "ppocr_raw.safetensors": {"det.resized": "det input image before normalisation, [rh, rw], uint8 values (B = G = R)",
                                  "det.prob": "det output [1, 1, rh, rw]", "cls.input": "[n, 3, 48, 192] in cls_order",
                                  "cls.output": "[n, 2] in cls_order", "rec.input": "[n, 3, 48, W] in rec_order"},
        "ppocr_raw_rec.safetensors": {"rec.output": "[n, T, 6625] in rec_order"},
    }
    (out / "ppocr.json").write_text(json.dumps(golden, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    for p in ["assets/models/ppocr_det.safetensors", "assets/models/ppocr_rec.safetensors", "assets/models/ppocr_cls.safetensors",
              "assets/golden/ocr/ppocr.json", "assets/golden/ocr/ppocr_raw.safetensors", "assets/golden/ocr/ppocr_raw_rec.safetensors"]:
        size = (ROOT / p).stat().st_size
        assert size < 20e6, (p, size)
        print(f"{p}: {size / 1e6:.2f} MB")
    print("onnxruntime", ort.__version__)


if __name__ == "__main__":
    main()
