"""MediaPipe selfie segmentation (person vs background) weights, op list and golden masks for Ocelli.

    python3 -m venv /tmp/mp && /tmp/mp/bin/pip install mediapipe==0.10.21
    /tmp/mp/bin/python scripts/convert_selfie.py

(mediapipe brings numpy and opencv-contrib-python. Without mediapipe the script still writes the
weights and the op list and skips the goldens.)

1. Downloads the PyPI wheel mediapipe==0.10.21 (pip download, no deps, the cp311 manylinux x86_64
   wheel, as convert_blazeface.py does) and reads, checking their sha256 (Apache-2.0):
       mediapipe/modules/selfie_segmentation/selfie_segmentation.tflite            256 x 256 input
       mediapipe/modules/selfie_segmentation/selfie_segmentation_landscape.tflite  144 x 256 input
   ("keras2tflite_selfiesegmentation_mlkit-256x256-2021_01_19-v1215" and "keras2tflite_meet_1655").
2. Parses both with convert_blazeface.py's flatbuffer reader. Every constant is f16 feeding a
   DEQUANTIZE op (110 per model). Ops besides DEQUANTIZE, identical in both models except that
   the portrait model pools with AVERAGE_POOL_2D over the whole map and the landscape one with
   MEAN over axes [1, 2] (keep_dims), the same global average:
       CONV_2D 43, DEPTHWISE_CONV_2D 11, HARD_SWISH 11, RELU 22, LOGISTIC 11, MUL 10, ADD 14,
       AVERAGE_POOL_2D / MEAN 10, RESIZE_BILINEAR 3 (x2, align_corners false, half_pixel_centers
       true), Convolution2DTransposeBias 1 (MediaPipe's custom op); no fused activations.
   scripts/selfie_ops.txt lists every op with tensor names, NHWC shapes, options, SAME pads and
   the safetensors names of its constants, for both models.
3. Writes assets/models/selfie.safetensors and assets/models/selfie_landscape.safetensors: the 110
   f16 tensors exactly as stored, same names in both, in Ocelli's layouts:
       conv (TFLite OHWI)                      -> [O, I, kh, kw]
       depthwise (TFLite 1HWC)                 -> [C, 1, kh, kw]
       transposed conv (TFLite OHWI, O = 1)    -> [I, O, kh, kw]   (PyTorch ConvTranspose2d, groups 1)
       bias                                    -> [O]
   Names, each with .weight and .bias (TFLite layer names in brackets; conv2d_n / dw_n below mean
   conv2d_n/Kernel, conv2d_n/Bias and depthwise_conv2d_n/...; n = 0 is written without suffix):
       stem              3x3 s2 conv, 3 -> 16, hard-swish                              [conv2d]
       enc{k}.expand     1x1 conv, C_in -> E, activation A                             (k = 1..8)
       enc{k}.dw         depthwise K x K, stride S, activation A
       enc{k}.se.fc1     1x1 conv on the global average, E -> E/4 (E/2 for k = 1), relu
       enc{k}.se.fc2     1x1 conv, -> E, sigmoid; the block's map is multiplied by it  (k = 1, 4..8)
       enc{k}.project    1x1 conv, E -> C_out, no activation; + the block input when S = 1 and
                         C_in = C_out (k = 3, 5, 6, 7, 8)
           k:    1      2      3      4     5      6      7     8
           E:    16     72     88     96    128    128    96    96
           K/S:  3/2    3/2    3/1    5/2   5/1    5/1    5/1   5/1
           A:    relu   relu   relu   hs    hs     hs     hs    hs      (hs = hard-swish)
           out:  16     24     24     32    32     32     32    32
           SE:   yes    no     no     yes   yes    yes    yes   yes
           TFLite: expand/dw/se/project = conv2d_{1}/dw/{2,3}/{4}; {5}/dw_1/-/{6}; {7}/dw_2/-/{8};
                   {9}/dw_3/{10,11}/{12}; {13}/dw_4/{14,15}/{16}; {17}/dw_5/{18,19}/{20};
                   {21}/dw_6/{22,23}/{24}; {25}/dw_7/{26,27}/{28}
       head.conv         1x1 conv, 32 -> 128, relu, on the 1/16 map                   [conv2d_29]
       head.gate         1x1 conv on the global average of the 1/16 map, 32 -> 128, sigmoid [conv2d_30]
       dec{k}.up         1x1 conv after the x2 bilinear resize (k = 1, 2, 3 at 1/8, 1/4, 1/2):
                         128 -> 24, 24 -> 16, 16 -> 16                         [conv2d_31, 35, 39]
       dec{k}.se.fc1     1x1 conv on the global average, C -> C, relu            [32, 36, 40]
       dec{k}.se.fc2     1x1 conv, C -> C, sigmoid                               [33, 37, 41]
       dec{k}.conv       1x1 conv, C -> C, relu                                  [34, 38, 42]
       dec{k}.dw         depthwise 3x3, stride 1, relu                           [dw_8, dw_9, dw_10]
       segment           transposed conv 2x2, stride 2, 16 -> 1, no activation
                         [segment in the portrait model, conv2d_transpose in the landscape one]
   The network, NHWC, x the [0, 1] RGB input; conv = the named conv plus its bias; SAME padding
   (the odd pixel at the bottom/right: stride 2 pads (0, 1) for 3x3, (1, 2) for 5x5; all pads
   are in selfie_ops.txt);
   hs(v) = v * min(max(v + 3, 0), 6) / 6; gap = global average over H and W; sigmoid = LOGISTIC:
       s2 = hs(stem(x))                                                     1/2, 16 channels
       for k in 1..8: y = A(enc{k}.dw(A(enc{k}.expand(x))));
                      if SE: y = y * sigmoid(enc{k}.se.fc2(relu(enc{k}.se.fc1(gap(y)))))
                      y = enc{k}.project(y); x = x + y if residual else y
                      (s4 = the output of enc1 at 1/4, s8 = that of enc3 at 1/8)
       f = relu(head.conv(x)) * sigmoid(head.gate(gap(x)))                  1/16, 128 channels
       for (k, skip) in (1, s8), (2, s4), (3, s2):
           f = dec{k}.up(resize_x2(f))           (RESIZE_BILINEAR, half-pixel centres, edge-clamped)
           g = sigmoid(dec{k}.se.fc2(relu(dec{k}.se.fc1(gap(skip + f)))))
           y = relu(dec{k}.conv(skip * g + f))
           f = y + relu(dec{k}.dw(y))
       mask = sigmoid(segment(f))                                           1/1, 1 channel
4. Convolution2DTransposeBias (MediaPipe's custom op; inputs: x, weight [O, kh, kw, I], bias [O]).
   Its custom_options are 12 bytes, 01 00 00 00 02 00 00 00 02 00 00 00: not a flexbuffer (the
   last byte of a flexbuffer is the root's byte width, 1/2/4/8, here 0) but a plain little-endian
   struct of three int32, TfLiteTransposeConvParams {padding, stride_width, stride_height} =
   {1 = kTfLitePaddingSame, 2, 2}. Semantics (TFLite TRANSPOSE_CONV's, plus the bias):
       out[oy, ox, o] = bias[o] + sum over (iy, ix, ky, kx, i) with oy = s*iy + ky - pad_top,
                        ox = s*ix + kx - pad_left of x[iy, ix, i] * w[o, ky, kx, i]
   SAME: out = in * s, total pad = max((in - 1) * s + k - out, 0) split as blazeface's SAME
   (floor at the top/left). Here k = s = 2, so the pad is 0 (VALID would give the same
   (in - 1) * 2 + 2 = 2 * in): 128 x 128 -> 256 x 256 (72 x 128 -> 144 x 256); each input pixel
   writes its own 2 x 2 output block, no overlap. In Ocelli: ConvTranspose2d { stride [2, 2],
   padding [0, 0], output_padding [0, 0], dilation [1, 1], groups 1 } with the [I, O, kh, kw] weight.
5. With mediapipe 0.10.21 importable, writes the goldens assets/golden/segment/selfie.json and
   assets/golden/segment/selfie_masks.safetensors (F32) for assets/images/*.png and both models:
   a) MediaPipe's own legacy Python solution mp.solutions.selfie_segmentation.SelfieSegmentation(
      model_selection=0 -> selfie, 1 -> selfie_landscape), CPU graph selfie_segmentation_cpu.binarypb:
      its segmentation_mask (float32, image size) -> "{image}.{model}.mask", and its coverage
      (fraction of mask pixels > 0.5).
   b) The same graph's first nodes (the ImageToTensorCalculator and InferenceCalculator nodes with
      the options copied from that binarypb, MediaPipe's custom op resolver, XNNPACK delegate),
      with TensorsToFloatsCalculator taps, to read the exact input tensor and the raw network
      output -> "{image}.{model}.raw" ([h, w], the sigmoid output; the solution's mask is this
      raw map resized, checked below).
   c) A numpy re-implementation of MediaPipe's preprocessing (bit-exact, checked), two independent
      float64 numpy forward passes over the converted weights (an interpreter of the parsed TFLite
      graph and the hand-written network above over the safetensors names only) on MediaPipe's
      exact input tensor, and the mask resize; the max |differences| are in the JSON.
   d) The hand-written pass on the input Ocelli's BilinearAsymmetric resize would build (float
      bilinear at src = dst * in / out, no fixed point, no rounding to u8) ->
      "{image}.{model}.raw_float_resize", with its differences to MediaPipe.
   e) The hand-written pass on the fixed-point input with the exact scales W / out_w, H / out_h
      (what Ocelli's fixed-point warp builds: src = dst * in / out quantised to 1/32 with round half
      to even in integers, taps outside the image 0, u8 = (32 * sum + 2^14) >> 15, then / 255; the
      integer version is checked equal to the numpy emulation given the exact diagonal matrix)
      -> "{image}.{model}.raw_exact" [h, w] and its resized mask "{image}.{model}.mask_exact" [H, W];
      the JSON's "exact_scale_input" gives their keys, the float32 input's sum, the differences to
      MediaPipe, the coverage and the mask pixels on the other side of 0.5.
   Keys of selfie_masks.safetensors (all F32): {image}.{model}.raw, .mask (MediaPipe's), .raw_float_resize,
   .raw_exact, .mask_exact (numpy, as float32).

Preprocessing (MediaPipe's ImageToTensorCalculator with output_tensor_width 256, height 256 or
144, keep_aspect_ratio false, output_tensor_float_range [0, 1], border_mode BORDER_ZERO; CPU path:
OpenCV 4.10.0, bundled in the wheel): the whole image is stretched (no letterbox, no crop) to
out_w x out_h by cv::warpPerspective(INTER_LINEAR, BORDER_CONSTANT 0) of the uint8 RGB image,
with the matrix mapping the image's corners (0, 0), (W, 0), (W, H), (0, H) onto the tensor's
corners. For output pixel (x, y) (integers) the source point is
       src_x = x * W / out_w,   src_y = y * H / out_h        (no half-pixel offset: TF1's
                                                             align_corners = half_pixel_centers = false)
quantised to 1/32 pixel: X = round_half_even(32 * src_x), x0 = X >> 5, ax = X & 31 (same for y);
       u8 = (32 * ((32 - ax)(32 - ay) S[y0, x0] + ax (32 - ay) S[y0, x0 + 1]
                   + (32 - ax) ay S[y0 + 1, x0] + ax ay S[y0 + 1, x0 + 1]) + 2^14) >> 15
(taps outside the image read 0; for images at least as large as the tensor only taps of weight 0
do), then input = float32(u8) * float32(1 / 255), NHWC, RGB. OpenCV computes src from the inverse
of the perspective matrix it solves for, which can be 1 ulp off W / out_w (chelsea at 256 x 256:
diag(1.7617187499999998, 1.1718749999999998, 0.9999999999999999)), and that moves the rounding of
exact ties of 32 * src; the JSON records the matrix and how many input values the exact scales
would change.
Post-processing (TensorsToSegmentationCalculator, activation NONE, on the CPU): the [h, w] sigmoid
output is resized to the image's H x W by cv::resize(INTER_LINEAR) on float32, i.e. bilinear with
half-pixel centres, no antialias, no smoothing, no threshold:
       fx = float32((X + 0.5) * (1 / (W / w)) - 0.5); x0 = floor(fx); a = fx - x0;
       x0 < 0 -> (x0, a) = (0, 0); x0 >= w - 1 -> (x0, a) = (w - 1, 0)
       rows = M[:, x0] * (1 - a) + M[:, x0 + 1] * a, then the same in y, in float32
(the numpy emulation agrees to 6e-8). Coverage = fraction of image pixels with mask > 0.5.

Results (mediapipe 0.10.21, numpy 1.26.4): coverage general / landscape: astronaut 0.5447 / 0.5508,
chelsea 0.9122 / 0.6474, coffee 0.2327 / 0.5103. The numpy passes on MediaPipe's input agree with
its raw output within 6.8e-5 (XNNPACK's float32 against float64; both passes give the same values)
and with its masks within 6.5e-5, no pixel on the other side of 0.5. The numpy preprocessing is
bit-exact on all six inputs; with the exact scales only chelsea at 256 x 256 changes (2495 of
196608 values, by at most 2 / 255). The float bilinear input differs from MediaPipe's by up to
0.007 and moves the raw output by up to 0.25 at the person's edges (coverage by up to 0.004).
The exact-scale fixed-point input equals MediaPipe's except for chelsea at 256 x 256 (input sum
88901.4123): there the raw output moves by up to 0.080, the mask by up to 0.073, coverage 0.9120
instead of 0.9122 (37 of 135300 mask pixels on the other side of 0.5); the other five are the
numpy pass on MediaPipe's input (mask within 6.5e-5).
"""

import hashlib
import importlib.metadata
import json
import pathlib
import struct
import tempfile
import zipfile

import numpy as np

from convert_blazeface import MEDIAPIPE, Table, download_mediapipe, np_conv, parse_tflite, same_pads
from convert_mobilenet_v2 import ROOT, read_png_rgb, resize_bilinear, write_safetensors

MODELS = {  # name: (file in the wheel, sha256, model_selection, (h, w))
    "selfie": ("mediapipe/modules/selfie_segmentation/selfie_segmentation.tflite",
               "9ee168ec7c8f2a16c56fe8e1cfbc514974cbbb7e434051b455635f1bd1462f5c", 0, (256, 256)),
    "selfie_landscape": ("mediapipe/modules/selfie_segmentation/selfie_segmentation_landscape.tflite",
                         "a77d03f4659b9f6b6c1f5106947bf40e99d7655094b6527f214ea7d451106edd", 1, (144, 256)),
}
GRAPH_IN_WHEEL = "mediapipe/modules/selfie_segmentation/selfie_segmentation_cpu.binarypb"
IMAGES = ("astronaut", "chelsea", "coffee")

# Encoder blocks: (expand channels, dw kernel, dw stride, activation, squeeze-excitation, out channels)
ENCODER = [(16, 3, 2, "relu", True, 16), (72, 3, 2, "relu", False, 24), (88, 3, 1, "relu", False, 24),
           (96, 5, 2, "hard_swish", True, 32), (128, 5, 1, "hard_swish", True, 32),
           (128, 5, 1, "hard_swish", True, 32), (96, 5, 1, "hard_swish", True, 32),
           (96, 5, 1, "hard_swish", True, 32)]
DECODER_CH = [24, 16, 16]   # channels of dec1..dec3 (the skips at 1/8, 1/4, 1/2)


# ---- role names and Ocelli layouts ----------------------------------------------------------

def expected_roles():
    """(name, TFLite op kind) of every conv in execution order."""
    roles = [("stem", "CONV_2D")]
    for k, (_, _, _, _, se, _) in enumerate(ENCODER, 1):
        roles += [(f"enc{k}.expand", "CONV_2D"), (f"enc{k}.dw", "DEPTHWISE_CONV_2D")]
        roles += [(f"enc{k}.se.fc1", "CONV_2D"), (f"enc{k}.se.fc2", "CONV_2D")] if se else []
        roles += [(f"enc{k}.project", "CONV_2D")]
    roles += [("head.conv", "CONV_2D"), ("head.gate", "CONV_2D")]
    for k in (1, 2, 3):
        roles += [(f"dec{k}.up", "CONV_2D"), (f"dec{k}.se.fc1", "CONV_2D"), (f"dec{k}.se.fc2", "CONV_2D"),
                  (f"dec{k}.conv", "CONV_2D"), (f"dec{k}.dw", "DEPTHWISE_CONV_2D")]
    return roles + [("segment", "Convolution2DTransposeBias")]


CONV_KINDS = ("CONV_2D", "DEPTHWISE_CONV_2D", "Convolution2DTransposeBias")


def decode_transpose_options(raw):
    """MediaPipe's Convolution2DTransposeBias options: a plain TfLiteTransposeConvParams struct."""
    assert len(raw) == 12 and raw[-1] not in (1, 2, 4, 8), raw.hex()   # not a flexbuffer (root width byte)
    padding, stride_w, stride_h = struct.unpack("<iii", raw)
    return dict(padding={1: "SAME", 2: "VALID"}[padding], stride_w=stride_w, stride_h=stride_h)


def assign_names(tensors, ops):
    """Drops DEQUANTIZE ops, decodes the custom op's options and names the convs' constants."""
    deq = {op["outputs"][0]: op["inputs"][0] for op in ops if op["kind"] == "DEQUANTIZE"}
    graph = [dict(op, inputs=[deq.get(i, i) for i in op["inputs"]]) for op in ops if op["kind"] != "DEQUANTIZE"]
    for op in graph:
        if op["kind"] == "Convolution2DTransposeBias":
            op["options"] = decode_transpose_options(op["custom_options"])
    convs = [op for op in graph if op["kind"] in CONV_KINDS]
    roles = expected_roles()
    assert len(convs) == len(roles) == 55, len(convs)
    weights, counters = {}, {"CONV_2D": 0, "DEPTHWISE_CONV_2D": 0}
    for op, (role, kind) in zip(convs, roles):
        assert op["kind"] == kind, (role, op["kind"])
        x, w, b = op["inputs"]
        tw = tensors[w]
        if kind == "Convolution2DTransposeBias":
            tflite = tw["name"].split("/")[0]
            assert tflite in ("segment", "conv2d_transpose"), tflite
            arr = tw["value"].transpose(3, 0, 1, 2)                               # OHWI -> I,O,kh,kw
        else:
            n = counters[kind]
            counters[kind] += 1
            tflite = ("conv2d" if kind == "CONV_2D" else "depthwise_conv2d") + (f"_{n}" if n else "")
            if kind == "CONV_2D":
                arr = tw["value"].transpose(0, 3, 1, 2)                           # OHWI -> O,I,kh,kw
            else:
                assert op["options"]["depth_multiplier"] == 1
                arr = tw["value"][0].transpose(2, 0, 1)[:, None]                  # 1HWC -> C,1,kh,kw
        assert (tw["name"], tensors[b]["name"]) == (f"{tflite}/Kernel", f"{tflite}/Bias"), (role, tw["name"])
        assert tw["dtype"] == tensors[b]["dtype"] == "float16"
        op["weight_names"] = {w: f"{role}.weight", b: f"{role}.bias"}
        op["role"], op["tflite_layer"] = role, tflite
        weights[f"{role}.weight"] = np.ascontiguousarray(arr)
        weights[f"{role}.bias"] = np.ascontiguousarray(tensors[b]["value"])
    return graph, weights


def check_architecture(weights):
    """The channel counts, kernels and strides of ENCODER / DECODER_CH against the weights."""
    shape = lambda n: list(weights[f"{n}.weight"].shape)
    assert shape("stem") == [16, 3, 3, 3]
    c = 16
    for k, (e, kk, _, _, se, out) in enumerate(ENCODER, 1):
        assert shape(f"enc{k}.expand") == [e, c, 1, 1] and shape(f"enc{k}.dw") == [e, 1, kk, kk], k
        if se:
            r = weights[f"enc{k}.se.fc1.weight"].shape[0]
            assert shape(f"enc{k}.se.fc1") == [r, e, 1, 1] and shape(f"enc{k}.se.fc2") == [e, r, 1, 1]
        assert shape(f"enc{k}.project") == [out, e, 1, 1]
        c = out
    assert shape("head.conv") == [128, 32, 1, 1] and shape("head.gate") == [128, 32, 1, 1]
    prev = 128
    for k, ch in enumerate(DECODER_CH, 1):
        assert shape(f"dec{k}.up") == [ch, prev, 1, 1]
        for n in ("se.fc1", "se.fc2", "conv"):
            assert shape(f"dec{k}.{n}") == [ch, ch, 1, 1]
        assert shape(f"dec{k}.dw") == [ch, 1, 3, 3]
        prev = ch
    assert shape("segment") == [16, 1, 2, 2]


def model_description(buf):
    """The model's description string (TFLite Model field 3)."""
    return Table(buf, struct.unpack_from("<I", buf, 0)[0]).string(3)


# ---- op list ------------------------------------------------------------------------------

def transpose_pads(n, k, s, padding):
    if padding == "VALID":
        return 0, 0
    total = max((n - 1) * s + k - n * s, 0)
    return total // 2, total - total // 2


def describe(name, meta, tensors, graph_in, graph_out, graph, weights):
    fmt = lambda i: f"{tensors[i]['name']}{tensors[i]['shape']}"
    counts = {}
    for op in graph:
        counts[op["kind"]] = counts.get(op["kind"], 0) + 1
    lines = [f"==== {name}: {meta['file']} (sha256 {meta['sha256']}; description \"{meta['description']}\")",
             f"graph inputs: {', '.join(map(fmt, graph_in))} (float32, NHWC, RGB in [0, 1])",
             f"graph outputs: {', '.join(map(fmt, graph_out))} (float32, the sigmoid mask)",
             f"{meta['dequantize']} DEQUANTIZE ops (every constant is float16) are left out below; other ops: "
             + ", ".join(f"{k} {v}" for k, v in counts.items()),
             "SAME padding pads = (top, bottom, left, right); TFLite puts the odd pixel at the bottom/right", ""]
    for n, op in enumerate(graph):
        kind, opts = op["kind"], dict(op["options"])
        x = op["inputs"][0]
        acts = [i for i in op["inputs"] if i >= 0 and tensors[i]["value"] is None]
        text = f"{n:3d} {kind:<17} {' * '.join(map(fmt, acts)) if kind == 'MUL' else ' + '.join(map(fmt, acts))}" \
               f" -> {fmt(op['outputs'][0])}"
        if kind in CONV_KINDS:
            w = tensors[op["inputs"][1]]
            kh, kw = w["shape"][1], w["shape"][2]
            _, h, wd, _ = tensors[x]["shape"]
            opts = {"kernel": f"{kh}x{kw}", **opts}
            if kind == "Convolution2DTransposeBias":
                opts["custom_options"] = op["custom_options"].hex()
                opts["pads"] = (transpose_pads(h, kh, opts["stride_h"], opts["padding"])
                                + transpose_pads(wd, kw, opts["stride_w"], opts["padding"]))
            elif opts["padding"] == "SAME":
                opts["pads"] = same_pads(h, kh, opts["stride_h"]) + same_pads(wd, kw, opts["stride_w"])
            if opts.get("dilation_w") == 1 and opts.get("dilation_h") == 1:
                del opts["dilation_w"], opts["dilation_h"]
            consts = ", ".join(f"{op['weight_names'][i]} {list(weights[op['weight_names'][i]].shape)} "
                               f"(tflite {tensors[i]['name']} {tensors[i]['shape']})" for i in op["inputs"][1:])
            text += f"  {opts}  constants: {consts}"
        elif kind == "AVERAGE_POOL_2D":
            _, h, wd, _ = tensors[x]["shape"]
            assert opts["padding"] == "VALID" and (opts["filter_h"], opts["filter_w"]) == (h, wd)
            text += f"  {opts} (global average)"
        elif kind == "MEAN":
            axes = tensors[op["inputs"][1]]["value"].tolist()
            text += f"  {opts} axes {axes} (tflite {tensors[op['inputs'][1]]['name']}; global average)"
        elif kind == "RESIZE_BILINEAR":
            size = tensors[op["inputs"][1]]["value"].tolist()
            text += (f"  size {size} (tflite {tensors[op['inputs'][1]]['name']}) {opts}: "
                     "src = (dst + 0.5) * in / out - 0.5, neighbours clamped to the edge")
        elif kind == "HARD_SWISH":
            text += "  v * min(max(v + 3, 0), 6) / 6"
        elif kind == "LOGISTIC":
            text += "  1 / (1 + exp(-v))"
        elif kind in ("MUL", "ADD"):
            shapes = [tensors[i]["shape"] for i in acts]
            text += f"  {opts}" + ("  (broadcast over H, W)" if shapes[0] != shapes[1] else "")
        else:
            text += f"  {opts}" if opts else ""
        lines.append(text)
    lines += ["", "conv roles in execution order (role: tflite layer, kernel, stride, in -> out channels, "
                  "input map, activation that follows):"]
    consumers = {}
    for op in graph:
        for i in op["inputs"]:
            consumers.setdefault(i, []).append(op)
    for op in graph:
        if op["kind"] not in CONV_KINDS:
            continue
        w = weights[f"{op['role']}.weight"]
        follow = [c["kind"] for c in consumers.get(op["outputs"][0], []) if c["kind"] in ("RELU", "HARD_SWISH", "LOGISTIC")]
        cin, cout = (w.shape[0], w.shape[1]) if op["kind"] == "Convolution2DTransposeBias" else \
            (w.shape[0] if op["kind"] == "DEPTHWISE_CONV_2D" else w.shape[1], w.shape[0])
        s = tensors[op["inputs"][0]]["shape"]
        lines.append(f"  {op['role']:<16} {op['tflite_layer']:<20} {w.shape[2]}x{w.shape[3]} s{op['options']['stride_h']} "
                     f"{cin:>3} -> {cout:<3} on {s[1]}x{s[2]}  {follow[0] if follow else 'none'}")
    lines += ["", f"safetensors ({len(weights)} tensors, all F16; conv [O, I, kh, kw], depthwise [C, 1, kh, kw], "
                  "transposed conv [I, O, kh, kw], bias [O]):"]
    lines += [f"  {n:<24} {list(a.shape)}" for n, a in weights.items()]
    return "\n".join(lines) + "\n"


# ---- numpy forward passes (NHWC, float64) -------------------------------------------------

def hard_swish(v):
    return v * np.clip(v + 3.0, 0.0, 6.0) / 6.0


def sigmoid(v):
    e = np.exp(-np.abs(v))
    return np.where(v >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def relu(v):
    return np.maximum(v, 0.0)


def resize_x2(x, oh, ow):
    """RESIZE_BILINEAR with half_pixel_centers (align_corners false) on [H, W, C]."""
    return resize_bilinear(x.transpose(2, 0, 1), oh, ow).transpose(1, 2, 0)


def conv_transpose(x, w, b, stride, padding):
    """x [H, W, I]; w [I, O, kh, kw] (PyTorch layout); TFLite TRANSPOSE_CONV semantics plus bias."""
    h, wd, _ = x.shape
    _, o, kh, kw = w.shape
    full = np.zeros(((h - 1) * stride + kh, (wd - 1) * stride + kw, o))
    for ky in range(kh):
        for kx in range(kw):
            full[ky:ky + stride * h:stride, kx:kx + stride * wd:stride] += x @ w[:, :, ky, kx]
    (t, _), (l, _) = transpose_pads(h, kh, stride, padding), transpose_pads(wd, kw, stride, padding)
    oh, ow = (h * stride, wd * stride) if padding == "SAME" else full.shape[:2]
    return full[t:t + oh, l:l + ow] + b


def graph_forward(tensors, graph_in, graph_out, graph, weights, x):
    """Interprets the parsed TFLite graph op by op, with the converted (Ocelli-layout) weights."""
    env = {graph_in[0]: x[0].astype(np.float64)}
    for op in graph:
        kind, o, ins = op["kind"], op["options"], op["inputs"]
        a = env.get(ins[0])
        if kind in CONV_KINDS:
            names = op["weight_names"]
            w, b = (weights[names[i]].astype(np.float64) for i in ins[1:])
            assert o["stride_h"] == o["stride_w"] and o.get("activation", "NONE") == "NONE"
            if kind == "Convolution2DTransposeBias":
                y = conv_transpose(a, w, b, o["stride_h"], o["padding"])
            else:
                y = np_conv(a, w, b, o["stride_h"], o["padding"], w.shape[0] if kind == "DEPTHWISE_CONV_2D" else 1)
        elif kind == "RELU":
            y = relu(a)
        elif kind == "HARD_SWISH":
            y = hard_swish(a)
        elif kind == "LOGISTIC":
            y = sigmoid(a)
        elif kind in ("ADD", "MUL"):
            assert o["activation"] == "NONE"
            y = a + env[ins[1]] if kind == "ADD" else a * env[ins[1]]
        elif kind == "AVERAGE_POOL_2D":
            assert o["padding"] == "VALID" and (o["filter_h"], o["filter_w"]) == a.shape[:2]
            y = a.mean(axis=(0, 1), keepdims=True)
        elif kind == "MEAN":
            assert tensors[ins[1]]["value"].tolist() == [1, 2] and o["keep_dims"]
            y = a.mean(axis=(0, 1), keepdims=True)
        elif kind == "RESIZE_BILINEAR":
            assert not o["align_corners"] and o["half_pixel_centers"]
            y = resize_x2(a, *tensors[ins[1]]["value"].tolist())
        else:
            raise ValueError(kind)
        assert list(y.shape) == tensors[op["outputs"][0]]["shape"][1:], (kind, y.shape)
        env[op["outputs"][0]] = y
    return env[graph_out[0]][..., 0]


def selfie_forward(wts, x):
    """The network as a hand-written builder would wire it, over the safetensors names only."""
    def conv(name, v, stride=1):
        w, b = wts[f"{name}.weight"].astype(np.float64), wts[f"{name}.bias"].astype(np.float64)
        return np_conv(v, w, b, stride, "SAME", w.shape[0] if name.endswith(".dw") else 1)
    gap = lambda v: v.mean(axis=(0, 1), keepdims=True)
    act = {"relu": relu, "hard_swish": hard_swish}
    x = hard_swish(conv("stem", x[0].astype(np.float64), 2))
    skips = {2: x}
    c = 16
    for k, (_, _, stride, a, se, out) in enumerate(ENCODER, 1):
        y = act[a](conv(f"enc{k}.dw", act[a](conv(f"enc{k}.expand", x)), stride))
        if se:
            y = y * sigmoid(conv(f"enc{k}.se.fc2", relu(conv(f"enc{k}.se.fc1", gap(y)))))
        y = conv(f"enc{k}.project", y)
        x = x + y if stride == 1 and c == out else y
        c = out
        if k in (1, 3):
            skips[4 if k == 1 else 8] = x
    f = relu(conv("head.conv", x)) * sigmoid(conv("head.gate", gap(x)))
    for k, skip in ((1, skips[8]), (2, skips[4]), (3, skips[2])):
        f = conv(f"dec{k}.up", resize_x2(f, *skip.shape[:2]))
        g = sigmoid(conv(f"dec{k}.se.fc2", relu(conv(f"dec{k}.se.fc1", gap(skip + f)))))
        y = relu(conv(f"dec{k}.conv", skip * g + f))
        f = y + relu(conv(f"dec{k}.dw", y))
    w, b = wts["segment.weight"].astype(np.float64), wts["segment.bias"].astype(np.float64)
    return sigmoid(conv_transpose(f, w, b, 2, "SAME"))[..., 0]


# ---- MediaPipe's pre- and post-processing, in numpy -----------------------------------------

def image_u8(path):
    return np.round(read_png_rgb(path).transpose(1, 2, 0) * 255.0).astype(np.uint8)


def warp_matrix(h, w, oh, ow):
    """The inverse matrix cv::warpPerspective uses (OpenCV's own solve and invert), or the exact one."""
    try:
        import cv2
    except ImportError:
        return np.diag([w / ow, h / oh, 1.0]), "exact (cv2 missing)"
    src = np.array([[0, h], [0, 0], [w, 0], [w, h]], np.float32)   # cv::boxPoints of the whole-image ROI
    dst = np.array([[0, oh], [0, 0], [ow, 0], [ow, oh]], np.float32)
    return cv2.invert(cv2.getPerspectiveTransform(src, dst))[1], f"cv2 {cv2.__version__}"


def mediapipe_input(img, oh, ow, minv):
    """cv::warpPerspective(INTER_LINEAR, BORDER_CONSTANT 0) of uint8 RGB, then * float32(1/255).
    OpenCV works in blocks of bw x bh output pixels (bh = min(16, oh), bw = min(1024 // bh, ow)) and
    evaluates the source point of pixel x = xb + x1 of a block as ((m0 xb + m1 y + m2) + m0 x1) * s,
    s = 32 / ((m6 xb + m7 y + m8) + m6 x1), in float64, rounded half to even; done the same here."""
    h, w, _ = img.shape
    m = minv.ravel()
    bw = min(1024 // min(16, oh), ow)
    x = np.arange(ow)
    xb, x1 = (x // bw * bw).astype(np.float64)[None], (x % bw).astype(np.float64)[None]
    y = np.arange(oh, dtype=np.float64)[:, None]
    s = (m[6] * xb + m[7] * y + m[8]) + m[6] * x1
    s = np.where(s != 0, 32.0 / np.where(s != 0, s, 1.0), 0.0)
    qx = np.rint(((m[0] * xb + m[1] * y + m[2]) + m[0] * x1) * s).astype(np.int64)
    qy = np.rint(((m[3] * xb + m[4] * y + m[5]) + m[3] * x1) * s).astype(np.int64)
    x0, ax, y0, ay = qx >> 5, (qx & 31)[..., None], qy >> 5, (qy & 31)[..., None]
    inside = (x0 >= -1) & (x0 < w) & (y0 >= -1) & (y0 < h)       # else every tap is the border (0)
    src = np.zeros((h + 2, w + 2, 3), np.int64)                    # one pixel of zeros around the image
    src[1:h + 1, 1:w + 1] = img
    x0, y0 = np.clip(x0, -1, w) + 1, np.clip(y0, -1, h) + 1
    acc = ((32 - ay) * (32 - ax) * src[y0, x0] + (32 - ay) * ax * src[y0, x0 + 1]
           + ay * (32 - ax) * src[y0 + 1, x0] + ay * ax * src[y0 + 1, x0 + 1])
    u8 = np.where(inside[..., None], np.clip((acc * 32 + (1 << 14)) >> 15, 0, 255), 0).astype(np.uint8)
    return (u8.astype(np.float32) * np.float32(1 / 255))[None], u8


def exact_scale_input(img, oh, ow):
    """Ocelli's fixed-point warp: the same taps and rounding as mediapipe_input, but with the exact
    scales, X = round_half_even(32 * x * W / out_w) computed in integers (same for y), taps outside
    the image read 0, u8 = (32 * sum + 2^14) >> 15, then * float32(1/255)."""
    def coords(o, n):
        q, r = np.divmod(np.arange(o, dtype=np.int64) * 32 * n, o)
        q = q + ((2 * r > o) | ((2 * r == o) & (q % 2 == 1)))
        return q >> 5, q & 31
    h, w, _ = img.shape
    y0, ay = coords(oh, h)
    x0, ax = coords(ow, w)
    src = np.zeros((h + 1, w + 1, 3), np.int64)                    # a row and a column of zeros past the image
    src[:h, :w] = img
    y0, x0, ay, ax = y0[:, None], x0[None], ay[:, None, None], ax[None, :, None]
    acc = ((32 - ay) * (32 - ax) * src[y0, x0] + (32 - ay) * ax * src[y0, x0 + 1]
           + ay * (32 - ax) * src[y0 + 1, x0] + ay * ax * src[y0 + 1, x0 + 1])
    u8 = ((acc * 32 + (1 << 14)) >> 15).astype(np.uint8)
    return (u8.astype(np.float32) * np.float32(1 / 255))[None], u8


def float_asymmetric_input(img, oh, ow):
    """What Ocelli's BilinearAsymmetric resize gives: src = dst * in / out, edge-clamped, in float."""
    def coords(o, n):
        s = np.arange(o) * n / o
        i0 = np.minimum(np.floor(s).astype(int), n - 1)
        return s - i0, i0, np.minimum(i0 + 1, n - 1)
    x = img.astype(np.float64) / 255.0
    fy, y0, y1 = coords(oh, img.shape[0])
    fx, x0, x1 = coords(ow, img.shape[1])
    fx = fx[None, :, None]
    top = x[y0][:, x0] * (1 - fx) + x[y0][:, x1] * fx
    bot = x[y1][:, x0] * (1 - fx) + x[y1][:, x1] * fx
    return (top * (1 - fy)[:, None, None] + bot * fy[:, None, None])[None]


def resize_mask(m, oh, ow):
    """cv::resize(INTER_LINEAR) of a float32 map: half-pixel centres, float32 coefficients."""
    f32 = np.float32

    def coeffs(o, n):
        f = ((np.arange(o) + 0.5) * (1.0 / (o / n)) - 0.5).astype(f32)
        s = np.floor(f).astype(np.int64)
        a = (f - s.astype(f32)).astype(f32)
        a[s < 0], s[s < 0] = 0, 0
        a[s >= n - 1], s[s >= n - 1] = 0, n - 1
        return s, np.minimum(s + 1, n - 1), (f32(1) - a).astype(f32), a
    m = m.astype(f32)
    y0, y1, b0, b1 = coeffs(oh, m.shape[0])
    x0, x1, a0, a1 = coeffs(ow, m.shape[1])
    rows = (m[:, x0] * a0 + m[:, x1] * a1).astype(f32)
    return (rows[y0] * b0[:, None] + rows[y1] * b1[:, None]).astype(f32)


# ---- MediaPipe itself ---------------------------------------------------------------------

def run_mediapipe(images):
    """MediaPipe's solution masks plus its graph's exact input tensors and raw outputs."""
    import mediapipe as mp
    from google.protobuf import text_format
    from mediapipe.calculators.tensor import image_to_tensor_calculator_pb2 as i2t_pb2
    from mediapipe.calculators.tensor import inference_calculator_pb2  # noqa: F401 (registers the extension)
    from mediapipe.calculators.tensor import tensors_to_segmentation_calculator_pb2 as t2s_pb2
    from mediapipe.framework import calculator_pb2
    from mediapipe.framework.tool import switch_container_pb2
    from mediapipe.python import packet_creator, packet_getter
    from mediapipe.python._framework_bindings import calculator_graph, image_frame, resource_util

    version = importlib.metadata.version("mediapipe")
    assert version == MEDIAPIPE.split("==")[1], version
    pkg = pathlib.Path(mp.__file__).parent
    resource_util.set_resource_dir(str(pkg.parent))
    solution = calculator_pb2.CalculatorGraphConfig()
    solution.ParseFromString((pkg.parent / GRAPH_IN_WHEEL).read_bytes())
    nodes = {n.calculator: n for n in solution.node}
    switch = nodes["SwitchContainer"].options.Extensions[switch_container_pb2.SwitchContainerOptions.ext]
    seg_opts = nodes["TensorsToSegmentationCalculator"].options.Extensions[t2s_pb2.TensorsToSegmentationCalculatorOptions.ext]
    record = {"tensors_to_segmentation": text_format.MessageToString(seg_opts, as_one_line=True),
              "inference": text_format.MessageToString(nodes["InferenceCalculator"].options, as_one_line=True),
              "image_to_tensor": {}}
    out = {}
    for model, (_, _, sel, (oh, ow)) in MODELS.items():
        pre = calculator_pb2.CalculatorGraphConfig.Node()
        pre.CopyFrom(switch.contained_node[sel])
        o = pre.options.Extensions[i2t_pb2.ImageToTensorCalculatorOptions.ext]
        assert (o.output_tensor_width, o.output_tensor_height, o.keep_aspect_ratio) == (ow, oh, False)
        assert (o.output_tensor_float_range.min, o.output_tensor_float_range.max) == (0.0, 1.0)
        record["image_to_tensor"][model] = text_format.MessageToString(o, as_one_line=True)
        pre.input_stream.append("IMAGE:image")
        pre.output_stream.append("TENSORS:input_tensors")
        graph = calculator_pb2.CalculatorGraphConfig()
        graph.input_stream.append("image")
        graph.input_side_packet.append("model_selection")
        graph.output_stream.extend(["in_floats", "out_floats"])
        graph.node.append(pre)
        for name in ("TfLiteCustomOpResolverCalculator", "SelfieSegmentationModelLoader", "InferenceCalculator"):
            graph.node.append(nodes[name])
        for tensors, floats in (("input_tensors", "in_floats"), ("output_tensors", "out_floats")):
            tap = graph.node.add()
            tap.calculator = "TensorsToFloatsCalculator"
            tap.input_stream.append(f"TENSORS:{tensors}")
            tap.output_stream.append(f"FLOATS:{floats}")
        g = calculator_graph.CalculatorGraph(graph_config=graph)
        got = {}
        for s in ("in_floats", "out_floats"):
            g.observe_output_stream(s, lambda s, p: got.__setitem__(s, np.array(packet_getter.get_float_list(p), np.float32)), True)
        g.start_run({"model_selection": packet_creator.create_int(sel)})
        with mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=sel) as seg:
            for t, (name, img) in enumerate(images.items(), 1):
                g.add_packet_to_input_stream("image", packet_creator.create_image_frame(
                    img, image_format=image_frame.ImageFormat.SRGB).at(t))
                g.wait_until_idle()
                mask = np.array(seg.process(img).segmentation_mask, dtype=np.float32)
                assert mask.shape == img.shape[:2]
                out[name, model] = {"input": got["in_floats"].reshape(1, oh, ow, 3),
                                    "raw": got["out_floats"].reshape(oh, ow), "mask": mask}
        g.close()
    import cv2
    record["runtime"] = (f"mediapipe {version} (PyPI wheel, its legacy Python solution "
                         f"mp.solutions.selfie_segmentation.SelfieSegmentation, CPU graph {GRAPH_IN_WHEEL}: "
                         "ImageToTensorCalculator on its bundled OpenCV 4.10.0, InferenceCalculator = TFLite with the "
                         "XNNPACK delegate and MediaPipe's custom op resolver, TensorsToSegmentationCalculator); "
                         f"numpy {np.__version__}, cv2 {cv2.__version__} (only for the perspective matrix)")
    return out, record


# ---- goldens --------------------------------------------------------------------------------

def r6(v):
    return round(float(v), 6)


def samples(a, points):
    return [[y, x, r6(a[y, x])] for y, x in points]


def golden_points(a):
    """A few fixed pixels, then those nearest 0.25, 0.5 and 0.75 (first in raster order)."""
    h, w = a.shape
    fixed = [(0, 0), (h // 2, w // 2), (h // 3, 2 * w // 3), (h - 1, w - 1)]
    return fixed + [tuple(int(i) for i in np.unravel_index(np.abs(a - t).argmin(), a.shape)) for t in (0.25, 0.5, 0.75)]


def write_goldens(models, mp_out, record):
    golden = {
        "models": {m: {"source": f"PyPI wheel {MEDIAPIPE}, {spec['file']}", "sha256": spec["sha256"], "license": "Apache-2.0",
                       "weights": f"models/{m}.safetensors", "model_selection": MODELS[m][2],
                       "input_hw": list(MODELS[m][3])} for m, spec in models.items()},
        "runtime": record["runtime"],
        "graph_options": {k: v for k, v in record.items() if k != "runtime"},
        "preprocessing": "stretch the whole image (no letterbox) to out_w x out_h with cv::warpPerspective(INTER_LINEAR, "
                         "BORDER_CONSTANT 0) of the uint8 RGB image: src = (x * W / out_w, y * H / out_h) for integer output "
                         "pixels (no half-pixel offset), quantised to 1/32 (round half to even), fixed-point bilinear "
                         "u8 = (32 * sum(w_tap * S_tap) + 2^14) >> 15 with w = (32 - ax)(32 - ay), ax (32 - ay), (32 - ax) ay, "
                         "ax ay; then float32(u8) * float32(1/255); NHWC RGB [1, out_h, out_w, 3]. src actually comes from "
                         "OpenCV's inverse matrix (per image in opencv_inverse_matrix), which can be 1 ulp off the exact scale",
        "postprocessing": "mask = cv::resize(raw, (W, H), INTER_LINEAR) in float32: half-pixel centres, fx = float32((X + 0.5) "
                          "* in / out - 0.5), edge-clamped, no antialias, no smoothing, no threshold (the model's last op is "
                          "already the sigmoid; TensorsToSegmentation activation NONE); coverage = mean(mask > 0.5)",
        "masks_file": "golden/segment/selfie_masks.safetensors",
        "masks_file_keys": "{image}.{model}.raw [h, w]: MediaPipe's raw network output; {image}.{model}.mask [H, W]: "
                           "its segmentation_mask; {image}.{model}.raw_float_resize [h, w]: the float64 numpy pass on the "
                           "float asymmetric bilinear input (Ocelli's BilinearAsymmetric), as float32; "
                           "{image}.{model}.raw_exact [h, w] and {image}.{model}.mask_exact [H, W]: the float64 numpy "
                           "pass on the fixed-point input with the exact scales W / out_w, H / out_h (Ocelli's "
                           "preprocessing) and its cv::resize to the image size, as float32",
        "images": {},
    }
    blobs = {}
    worst = {}
    for name in IMAGES:
        img = image_u8(ROOT / f"assets/images/{name}.png")
        h, w = img.shape[:2]
        entry = {"image_hw": [h, w]}
        for model, spec in models.items():
            oh, ow = MODELS[model][3]
            ref = mp_out[name, model]
            minv, minv_src = warp_matrix(h, w, oh, ow)
            x_np, u8 = mediapipe_input(img, oh, ow, minv)
            x_exact, u8_exact = mediapipe_input(img, oh, ow, np.diag([w / ow, h / oh, 1.0]))
            x_exact_int, u8_exact_int = exact_scale_input(img, oh, ow)
            assert np.array_equal(u8_exact_int, u8_exact) and np.array_equal(x_exact_int, x_exact), (name, model)
            ref_u8 = np.round(ref["input"][0].astype(np.float64) * 255).astype(np.int64)
            assert np.array_equal(ref_u8.astype(np.float32) * np.float32(1 / 255), ref["input"][0])
            emu_bad = int((u8 != ref_u8).sum())
            exact_diff = np.abs(u8_exact.astype(np.int64) - ref_u8)
            x_float = float_asymmetric_input(img, oh, ow)

            raw_graph = graph_forward(*spec["graph"], spec["weights"], ref["input"])
            raw_named = selfie_forward(spec["weights"], ref["input"])
            raw_float = selfie_forward(spec["weights"], x_float)
            raw_exact = selfie_forward(spec["weights"], x_exact)
            mask_np = resize_mask(raw_named, h, w)
            mask_from_mp_raw = resize_mask(ref["raw"], h, w)
            mask_float = resize_mask(raw_float, h, w)
            mask_exact = resize_mask(raw_exact, h, w)
            d = {
                "raw_named_pass": float(np.abs(raw_named - ref["raw"]).max()),
                "raw_graph_interpreter": float(np.abs(raw_graph - ref["raw"]).max()),
                "named_vs_interpreter": float(np.abs(raw_named - raw_graph).max()),
                "mask": float(np.abs(mask_np - ref["mask"]).max()),
                "mask_resize_of_mediapipe_raw": float(np.abs(mask_from_mp_raw - ref["mask"]).max()),
            }
            assert emu_bad == 0, (name, model, emu_bad)
            assert d["raw_named_pass"] < 1e-3 and d["named_vs_interpreter"] < 1e-9 and d["mask_resize_of_mediapipe_raw"] < 1e-6, d
            for k, v in d.items():
                worst[k] = max(worst.get(k, 0.0), v)
            cov = float((ref["mask"] > 0.5).mean())
            key = f"{name}.{model}"
            blobs[f"{key}.raw"], blobs[f"{key}.mask"] = ref["raw"], ref["mask"]
            blobs[f"{key}.raw_float_resize"] = raw_float.astype(np.float32)
            blobs[f"{key}.raw_exact"], blobs[f"{key}.mask_exact"] = raw_exact.astype(np.float32), mask_exact
            entry[model] = {
                "coverage": round(cov, 6),
                "input": {
                    "shape": [1, oh, ow, 3],
                    "u8_sum": int(ref_u8.sum()), "sum": round(float(ref["input"].astype(np.float64).sum()), 4),
                    "samples_yxc_u8": [[y, x, c, int(ref_u8[y, x, c])] for y, x, c in
                                       [(0, 0, 0), (oh // 2, ow // 2, 1), (oh // 3, 2 * ow // 3, 2), (oh - 1, ow - 1, 0)]],
                    "opencv_inverse_matrix": [float(v) for v in minv.ravel()], "matrix_from": minv_src,
                    "numpy_emulation_mismatches": emu_bad,
                    "exact_scale_mismatches": int((exact_diff > 0).sum()),
                    "exact_scale_max_abs_diff_u8": int(exact_diff.max()),
                    "float_asymmetric_max_abs_diff": r6(np.abs(x_float - ref["input"]).max()),
                },
                "raw": {"key": f"{key}.raw", "shape": [oh, ow], "min": r6(ref["raw"].min()), "max": r6(ref["raw"].max()),
                        "mean": r6(ref["raw"].mean()), "coverage": round(float((ref["raw"] > 0.5).mean()), 6),
                        "samples_yx": samples(ref["raw"], golden_points(ref["raw"]))},
                "mask": {"key": f"{key}.mask", "shape": [h, w], "mean": r6(ref["mask"].mean()),
                         "samples_yx": samples(ref["mask"], golden_points(ref["mask"]))},
                "numpy_vs_mediapipe_max_abs_diff": {k: float(f"{v:.3e}") for k, v in d.items()},
                "numpy_coverage": round(float((mask_np > 0.5).mean()), 6),
                "numpy_mask_pixels_other_side_of_0.5": int(((mask_np > 0.5) != (ref["mask"] > 0.5)).sum()),
                "float_asymmetric_input": {
                    "key": f"{key}.raw_float_resize",
                    "raw_max_abs_diff_to_mediapipe": float(f"{np.abs(raw_float - ref['raw']).max():.3e}"),
                    "mask_max_abs_diff_to_mediapipe": float(f"{np.abs(mask_float - ref['mask']).max():.3e}"),
                    "coverage": round(float((mask_float > 0.5).mean()), 6),
                    "mask_pixels_other_side_of_0.5": int(((mask_float > 0.5) != (ref["mask"] > 0.5)).sum()),
                },
                "exact_scale_input": {
                    "raw_key": f"{key}.raw_exact", "mask_key": f"{key}.mask_exact",
                    "input_sum": round(float(x_exact.astype(np.float64).sum()), 4),
                    "raw_max_abs_diff_to_mediapipe": float(f"{np.abs(raw_exact - ref['raw']).max():.3e}"),
                    "mask_max_abs_diff_to_mediapipe": float(f"{np.abs(mask_exact - ref['mask']).max():.3e}"),
                    "coverage": round(float((mask_exact > 0.5).mean()), 6),
                    "mask_pixels_other_side_of_0.5": int(((mask_exact > 0.5) != (ref["mask"] > 0.5)).sum()),
                },
            }
            print(f"{name} {model}: coverage {cov:.4f} (numpy {(mask_np > 0.5).mean():.4f}), input emulation mismatches "
                  f"{emu_bad}, exact-scale mismatches {(exact_diff > 0).sum()} (max {exact_diff.max()}), |numpy - mediapipe| "
                  f"raw {d['raw_named_pass']:.2e} (interpreter {d['raw_graph_interpreter']:.2e}), mask {d['mask']:.2e}; "
                  f"float-resize input: raw {np.abs(raw_float - ref['raw']).max():.2e}, coverage {(mask_float > 0.5).mean():.4f}; "
                  f"exact-scale input: sum {x_exact.astype(np.float64).sum():.4f}, raw {np.abs(raw_exact - ref['raw']).max():.2e}, "
                  f"mask {np.abs(mask_exact - ref['mask']).max():.2e}, coverage {(mask_exact > 0.5).mean():.4f}")
        golden["images"][f"{name}.png"] = entry
    golden["numpy_vs_mediapipe_worst"] = {k: float(f"{v:.3e}") for k, v in worst.items()}
    out_dir = ROOT / "assets/golden/segment"
    out_dir.mkdir(parents=True, exist_ok=True)
    write_safetensors(out_dir / "selfie_masks.safetensors", blobs, "F32",
                      {"source": record["runtime"], "models": ", ".join(f"{m}: {s['file']}" for m, s in models.items())})
    (out_dir / "selfie.json").write_text(json.dumps(golden, separators=(",", ":")) + "\n")
    print("worst |numpy - mediapipe|:", golden["numpy_vs_mediapipe_worst"])


def main():
    with tempfile.TemporaryDirectory() as tmp:
        wheel = download_mediapipe(tmp)
        with zipfile.ZipFile(wheel) as z:
            blobs = {m: z.read(spec[0]) for m, spec in MODELS.items()}
    models, texts = {}, []
    for model, (path, sha, _, (oh, ow)) in MODELS.items():
        buf = blobs[model]
        assert hashlib.sha256(buf).hexdigest() == sha, f"unexpected {path}"
        tensors, graph_in, graph_out, ops = parse_tflite(buf)
        assert tensors[graph_in[0]]["shape"] == [1, oh, ow, 3] and tensors[graph_out[0]]["shape"] == [1, oh, ow, 1]
        graph, weights = assign_names(tensors, ops)
        check_architecture(weights)
        assert len(weights) == 110
        meta = {"file": path, "sha256": sha, "dequantize": sum(op["kind"] == "DEQUANTIZE" for op in ops),
                "description": model_description(buf)}
        out = ROOT / f"assets/models/{model}.safetensors"
        write_safetensors(out, weights, "F16", {"source": f"{MEDIAPIPE} {path}", "license": "Apache-2.0", "sha256": sha})
        print(f"{model}: {len(weights)} tensors, {sum(a.size for a in weights.values())} values, {out.stat().st_size} bytes")
        texts.append(describe(model, meta, tensors, graph_in, graph_out, graph, weights))
        models[model] = {"file": path, "sha256": sha, "weights": weights, "graph": (tensors, graph_in, graph_out, graph)}
    a, b = (models[m]["weights"] for m in MODELS)
    assert list(a) == list(b) and all(a[n].shape == b[n].shape for n in a)
    ops_text = "\n".join(texts)
    print(ops_text)
    (ROOT / "scripts/selfie_ops.txt").write_text(ops_text)

    try:
        import mediapipe  # noqa: F401
    except ImportError:
        print(f"mediapipe is not installed: goldens skipped (pip install {MEDIAPIPE} in a venv and rerun)")
        return
    images = {name: image_u8(ROOT / f"assets/images/{name}.png") for name in IMAGES}
    mp_out, record = run_mediapipe(images)
    write_goldens(models, mp_out, record)
    print(record["runtime"])


if __name__ == "__main__":
    main()
