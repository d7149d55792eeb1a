"""MTCNN (P-Net, R-Net, O-Net; facenet-pytorch) weights and golden detections for Ocelli.

    pip install numpy
    python3 scripts/convert_mtcnn.py

    # optional cross-check against facenet-pytorch itself (needs torch; any CPU run works):
    pip install numpy "torch==2.2.2" "torchvision==0.17.2" requests tqdm && python3 scripts/convert_mtcnn.py

1. Downloads the PyPI wheel facenet-pytorch==2.6.0 (pip download, no deps; MIT) and reads
   facenet_pytorch/data/{pnet,rnet,onet}.pt out of it, checking their sha256. The weights are the
   original MTCNN models (Zhang et al. 2016) as ported by facenet-pytorch from davidsandberg/facenet.
2. Reads each legacy (pre-zip) torch pickle of a state dict with the restricted unpickler of
   convert_mobilenet_v2.py (no code in the files can run; no torch needed).
3. Writes assets/models/mtcnn.safetensors, F32 (the source is f32; the values are kept exactly),
   every tensor named "<net>.<state-dict name>", net in {pnet, rnet, onet}. Layouts are torch's:
   conv weights [O, I, kh, kw], dense weights [out, in], biases [O], PReLU weights [C] (one slope
   per channel). The 50 tensors:
       pnet.conv1 [10, 3, 3, 3]  pnet.prelu1 [10]   pnet.conv2 [16, 10, 3, 3]  pnet.prelu2 [16]
       pnet.conv3 [32, 16, 3, 3] pnet.prelu3 [32]   pnet.conv4_1 [2, 32, 1, 1] (face logits)
       pnet.conv4_2 [4, 32, 1, 1] (box regression)
       rnet.conv1 [28, 3, 3, 3]  rnet.prelu1 [28]   rnet.conv2 [48, 28, 3, 3]  rnet.prelu2 [48]
       rnet.conv3 [64, 48, 2, 2] rnet.prelu3 [64]   rnet.dense4 [128, 576]     rnet.prelu4 [128]
       rnet.dense5_1 [2, 128] (face logits)          rnet.dense5_2 [4, 128] (box regression)
       onet.conv1 [32, 3, 3, 3]  onet.prelu1 [32]   onet.conv2 [64, 32, 3, 3]  onet.prelu2 [64]
       onet.conv3 [64, 64, 3, 3] onet.prelu3 [64]   onet.conv4 [128, 64, 2, 2] onet.prelu4 [128]
       onet.dense5 [256, 1152]   onet.prelu5 [256]  onet.dense6_1 [2, 256] (face logits)
       onet.dense6_2 [4, 256] (box regression)       onet.dense6_3 [10, 256] (landmarks)
   (each conv*/dense* has .weight and .bias, each prelu* has .weight only).
4. Runs an independent numpy implementation of facenet-pytorch's detect_face (models/mtcnn.py and
   models/utils/detect_face.py of that wheel; MTCNN() defaults) on assets/images/*.png and writes
   assets/golden/detect/mtcnn.json. The networks run in float64. The box bookkeeping runs in
   float32, as facenet-pytorch's float32 tensors do, because it floors and truncates: e.g. at the
   first scale 0.6, grid column 4 gives x1 = floor(float32(9) / float32(0.6)) = floor(14.999999)
   = 14 in float32 (and in torch), 15 in float64 (about one numerator in six does this at 0.6).
5. If torch and the wheel's facenet_pytorch can be imported, also runs facenet-pytorch's own
   MTCNN.detect on the same pixels, captures what its three nets receive and return, and prints and
   records (under "crosscheck") the largest differences from the numpy pipeline.

Networks (NCHW; every conv stride 1, no padding, with bias; PReLU(x) = x if x > 0 else a_c * x;
pools are max pools with ceil_mode=True and no padding: out = ceil((n - k) / s) + 1, minus 1 if
(out - 1) * s >= n, a window running past the edge takes the max of the pixels it covers):
   P-Net (any H x W >= 12): conv1 3x3 3->10, prelu1, pool 2x2 s2, conv2 3x3 10->16, prelu2,
       conv3 3x3 16->32, prelu3; then two 1x1 heads on the same features: conv4_1 -> 2 channels,
       softmax over the channel axis (channel 1 = face probability), and conv4_2 -> 4 channels
       (box regression). Output grid: H' = ceil((H - 2 - 2) / 2) + 1 - 4 (same for W). The cell at
       grid (i, j) sees the 12 x 12 input window starting at (2i, 2j).
   R-Net (24 x 24): conv1 3x3 3->28, prelu1, pool 3x3 s2 (22 -> 11), conv2 3x3 28->48, prelu2,
       pool 3x3 s2 (9 -> 4), conv3 2x2 48->64, prelu3 (-> 64 x 3 x 3), flatten, dense4 576->128,
       prelu4, dense5_1 128->2 + softmax (face probability = [1]), dense5_2 128->4 (regression).
   O-Net (48 x 48): conv1 3x3 3->32, prelu1, pool 3x3 s2 (46 -> 23), conv2 3x3 32->64, prelu2,
       pool 3x3 s2 (21 -> 10), conv3 3x3 64->64, prelu3, pool 2x2 s2 (8 -> 4), conv4 2x2 64->128,
       prelu4 (-> 128 x 3 x 3), flatten, dense5 1152->256, prelu5, dense6_1 256->2 + softmax
       (face probability = [1]), dense6_2 256->4 (regression), dense6_3 256->10 (landmarks).
   Flatten order (both R-Net and O-Net): facenet-pytorch permutes (N, C, H, W) to (N, W, H, C)
   before flattening (the TF/Caffe order of the ported weights), so the dense input index is
       k = (x * H + y) * C + c        (x = column, y = row, C = 64 or 128, H = W = 3):
   x-major, then y, then channel fastest. NOT torch's usual c * H * W + y * W + x.

Pipeline (image: H x W RGB, values v in 0..255 as float; min_face_size = 20, factor = 0.709,
thresholds = [0.6, 0.7, 0.7]). Boxes are [x1, y1, x2, y2] in image pixels, float32 (see 4.):
   pyramid: m = 12 / 20 = 0.6; l = min(H, W) * m; scales = []; s = m;
       while l >= 12: scales.append(s); s = s * 0.709; l = l * 0.709       (python float64)
       (512 x 512: 10 scales, 0.6 ... 0.6 * 0.709^9).
   per scale s: size hs = int(H * s + 1), ws = int(W * s + 1) (truncation, so floor(H*s) + 1);
       area resize = torch F.interpolate(mode="area") = adaptive average pooling: output pixel
       (i, j) is the mean of input rows [floor(i * H / hs), ceil((i + 1) * H / hs)) x columns
       [floor(j * W / ws), ceil((j + 1) * W / ws)) (integer arithmetic; windows overlap when the
       ratio is not whole, and a window is 1 or 2 pixels when upsampling);
       preprocessing x = (v - 127.5) * 0.0078125 (= / 128 exactly), then P-Net.
   candidates (generateBoundingBox, stride 2, cell 12): every grid cell (i = row, j = col), in
       row-major order, with p = prob[1, i, j] >= 0.6 gives (float32 arithmetic, float32(s))
           x1 = floor((2 j + 1) / s),   y1 = floor((2 i + 1) / s),
           x2 = floor((2 j + 12) / s),  y2 = floor((2 i + 12) / s),   score p, reg = reg[:, i, j].
   NMS (torchvision.ops.nms): stable sort by score, descending; keep the best remaining box and
       drop every later one with IoU > t, IoU = inter / (area_a + area_b - inter), area =
       (x2 - x1) * (y2 - y1), inter = max(0, min x2 - max x1) * max(0, min y2 - max y1) (no +1;
       float32, compared as double with t). The kept boxes come out in descending score order.
   stage 1: NMS t = 0.5 within each scale; the survivors of all scales concatenated in scale
       order; NMS t = 0.7 across them (the result is in descending P-Net score order); then
       box regression with widths WITHOUT +1:
           w = x2 - x1, h = y2 - y1;  x1 += reg0 * w, y1 += reg1 * h, x2 += reg2 * w, y2 += reg3 * h;
       then rerec (make square around the centre, no rounding):
           w = x2 - x1, h = y2 - y1, l = max(w, h);
           x1 = x1 + w * 0.5 - l * 0.5;  y1 = y1 + h * 0.5 - l * 0.5;  x2 = x1 + l;  y2 = y1 + l.
   crop (pad() + slicing; MATLAB-style 1-based inclusive corners): x = trunc(x1), y = trunc(y1),
       ex = trunc(x2), ey = trunc(y2) (towards zero, int32); x = max(x, 1), y = max(y, 1),
       ex = min(ex, W), ey = min(ey, H); the crop is the image pixels rows [y - 1, ey) x columns
       [x - 1, ex) (0-based, half-open), i.e. CLIPPED to the image: nothing outside the image is
       filled in, and the clipped (possibly non-square) crop is area-resized straight to 24 x 24
       (48 x 48 for O-Net), then x = (v - 127.5) * 0.0078125. A box whose crop is empty
       (ey <= y - 1 or ex <= x - 1) is skipped (facenet-pytorch would then misalign its boxes and
       fail; here it is dropped, and the golden images have none).
   stage 2: R-Net on the crops in stage-1 order (descending P-Net score); keep score = prob[1] >
       0.7 (strict, float32); the kept boxes (the squared boxes the crops came from) take the
       R-Net score; NMS t = 0.7 (as above);
       regression with widths WITH +1 (bbreg):
           w = x2 - x1 + 1, h = y2 - y1 + 1;  x1 += reg0 * w, y1 += reg1 * h, x2 += reg2 * w, y2 += reg3 * h;
       then rerec.
   stage 3: crop 48 x 48 as above, O-Net in stage-2 order (descending R-Net score); keep
       prob[1] > 0.7; on the box before regression, w = x2 - x1 + 1, h = y2 - y1 + 1, landmark
       k (0..4, order: left eye, right eye,
       nose, left mouth corner, right mouth corner as seen in the image):
           px_k = w * lm[k] + x1 - 1,   py_k = h * lm[5 + k] + y1 - 1;
       then bbreg (with +1) and NO rerec; then the final NMS in facenet-pytorch's own numpy
       nms with method 'Min', t = 0.7: sort by score ascending and repeatedly take the LAST
       (highest), area = (x2 - x1 + 1) * (y2 - y1 + 1), inter = max(0, min x2 - max x1 + 1) *
       max(0, min y2 - max y1 + 1), overlap = inter / min(area_a, area_b), keep the others with
       overlap <= float32(0.7).
   faces: MTCNN.detect (select_largest=True, the default) orders them by box area
       (x2 - x1) * (y2 - y1), largest first; each face is box [x1, y1, x2, y2] (not clipped to
       the image), prob (O-Net) and 5 landmarks (x, y).
   Ties: sorts are stable here (torchvision's nms sorts stably; numpy's argsort in the final NMS
   is not guaranteed to be, but exact float32 ties there are not expected).

Golden file layout (per image): the pyramid scales and sizes; stage counts; the P-Net raw outputs
at the first scale in full ("prob" [2, H', W'] softmax, "reg" [4, H', W'], rounded to 6 decimals,
plus the input size and a checksum of its preprocessed input); the first 3 crops R-Net and O-Net
receive (the squared box, the 1-based pad corners, the 0-based crop rectangle, an input checksum,
the first crop's full preprocessed input [3, n, n] (7 decimals), and the raw outputs: "prob" [2], "reg" [4],
O-Net also "landmarks" [10] raw); the final faces.
"""

import hashlib
import importlib
import json
import pathlib
import sys
import tempfile
import zipfile

import numpy as np

from convert_mobilenet_v2 import ROOT, load_legacy_state_dict, pip_download, read_png_rgb, write_safetensors

FACENET = "facenet-pytorch==2.6.0"
NETS = ("pnet", "rnet", "onet")
SHA256 = {
    "pnet": "a2a71925e0b9996a42f63e47efc1ca19043e69558b5c523b978d611dfae49c8f",
    "rnet": "bbb937de72efc9ef83b186c49f5f558467a1d7e3453a8ece0d71a886633f6a86",
    "onet": "165bfbe42940416ccfb977545cf0e976d5bf321f67083ae2aaaa5c764280118d",
}
MIN_FACE_SIZE, FACTOR, THRESHOLDS = 20, 0.709, (0.6, 0.7, 0.7)
F32 = np.float32


# ---- float64 numpy layers (NCHW) ------------------------------------------------------------

def conv2d(x, w, b):
    """Valid (unpadded) stride-1 convolution; x [N, C, H, W], w [O, C, kh, kw]."""
    kh, kw = w.shape[2:]
    win = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(2, 3))    # N, C, oh, ow, kh, kw
    out = np.tensordot(win, w, axes=([1, 4, 5], [1, 2, 3]))                      # N, oh, ow, O
    return out.transpose(0, 3, 1, 2) + b[None, :, None, None]


def prelu(x, a):
    a = a.reshape((1, -1) + (1,) * (x.ndim - 2))
    return np.where(x > 0, x, a * x)


def ceil_pool_size(n, k, s):
    out = -(-(n - k) // s) + 1
    return out - 1 if (out - 1) * s >= n else out


def max_pool_ceil(x, k, s):
    n, c, h, w = x.shape
    oh, ow = ceil_pool_size(h, k, s), ceil_pool_size(w, k, s)
    ph, pw = max((oh - 1) * s + k - h, 0), max((ow - 1) * s + k - w, 0)
    xp = np.pad(x, ((0, 0), (0, 0), (0, ph), (0, pw)), constant_values=-np.inf)
    win = np.lib.stride_tricks.sliding_window_view(xp, (k, k), axis=(2, 3))[:, :, ::s, ::s][:, :, :oh, :ow]
    return win.max(axis=(4, 5))


def softmax(x, axis=1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def dense(x, sd, name):
    return x @ sd[name + ".weight"].T + sd[name + ".bias"]


def flatten_whc(x):
    """facenet-pytorch's x.permute(0, 3, 2, 1).contiguous().view(N, -1)."""
    return x.transpose(0, 3, 2, 1).reshape(x.shape[0], -1)


def pnet(sd, x):
    """x [N, 3, H, W] -> (reg [N, 4, H', W'], prob [N, 2, H', W'])."""
    c = lambda t, n: conv2d(t, sd[f"pnet.{n}.weight"], sd[f"pnet.{n}.bias"])
    x = max_pool_ceil(prelu(c(x, "conv1"), sd["pnet.prelu1.weight"]), 2, 2)
    x = prelu(c(x, "conv2"), sd["pnet.prelu2.weight"])
    x = prelu(c(x, "conv3"), sd["pnet.prelu3.weight"])
    return c(x, "conv4_2"), softmax(c(x, "conv4_1"))


def rnet(sd, x):
    """x [N, 3, 24, 24] -> (reg [N, 4], prob [N, 2])."""
    c = lambda t, n: conv2d(t, sd[f"rnet.{n}.weight"], sd[f"rnet.{n}.bias"])
    x = max_pool_ceil(prelu(c(x, "conv1"), sd["rnet.prelu1.weight"]), 3, 2)
    x = max_pool_ceil(prelu(c(x, "conv2"), sd["rnet.prelu2.weight"]), 3, 2)
    x = flatten_whc(prelu(c(x, "conv3"), sd["rnet.prelu3.weight"]))
    x = prelu(dense(x, sd, "rnet.dense4"), sd["rnet.prelu4.weight"])
    return dense(x, sd, "rnet.dense5_2"), softmax(dense(x, sd, "rnet.dense5_1"))


def onet(sd, x):
    """x [N, 3, 48, 48] -> (reg [N, 4], landmarks [N, 10], prob [N, 2])."""
    c = lambda t, n: conv2d(t, sd[f"onet.{n}.weight"], sd[f"onet.{n}.bias"])
    x = max_pool_ceil(prelu(c(x, "conv1"), sd["onet.prelu1.weight"]), 3, 2)
    x = max_pool_ceil(prelu(c(x, "conv2"), sd["onet.prelu2.weight"]), 3, 2)
    x = max_pool_ceil(prelu(c(x, "conv3"), sd["onet.prelu3.weight"]), 2, 2)
    x = flatten_whc(prelu(c(x, "conv4"), sd["onet.prelu4.weight"]))
    x = prelu(dense(x, sd, "onet.dense5"), sd["onet.prelu5.weight"])
    return dense(x, sd, "onet.dense6_2"), dense(x, sd, "onet.dense6_3"), softmax(dense(x, sd, "onet.dense6_1"))


def batched(fn, sd, x, chunk=256):
    outs = [fn(sd, x[i:i + chunk]) for i in range(0, len(x), chunk)]
    return tuple(np.concatenate(parts) for parts in zip(*outs))


# ---- area resize (torch F.interpolate(mode="area") = adaptive_avg_pool2d) -------------------

def area_matrix(n_out, n_in):
    a = np.zeros((n_out, n_in))
    for i in range(n_out):
        start, end = (i * n_in) // n_out, -(-((i + 1) * n_in) // n_out)
        a[i, start:end] = 1.0 / (end - start)
    return a


def area_resize(img, oh, ow):
    """img [C, H, W] -> [C, oh, ow]."""
    return area_matrix(oh, img.shape[1]) @ img @ area_matrix(ow, img.shape[2]).T


def normalize(v):
    return (v - 127.5) * 0.0078125


# ---- box bookkeeping (float32, as facenet-pytorch's tensors) --------------------------------

def pyramid_scales(h, w):
    m = 12.0 / MIN_FACE_SIZE
    minl = min(h, w) * m
    scales, s = [], m
    while minl >= 12:
        scales.append(s)
        s = s * FACTOR
        minl = minl * FACTOR
    return scales


def generate_boxes(reg, prob, scale, thresh):
    """reg [4, H', W'], prob [H', W'] (float32) -> [n, 9] float32: x1 y1 x2 y2 score reg0..3."""
    ys, xs = np.nonzero(prob >= F32(thresh))
    s = F32(scale)
    bx, by = xs.astype(F32), ys.astype(F32)
    q = [np.floor((F32(2) * bx + F32(1)) / s), np.floor((F32(2) * by + F32(1)) / s),
         np.floor((F32(2) * bx + F32(12)) / s), np.floor((F32(2) * by + F32(12)) / s)]
    return np.stack(q + [prob[ys, xs]] + [reg[k, ys, xs] for k in range(4)], axis=1).astype(F32)


def nms_iou(boxes, scores, thresh):
    """torchvision.ops.nms in float32: kept indices in descending score order."""
    b, s = boxes.astype(F32), scores.astype(F32)
    x1, y1, x2, y2 = b[:, 0], b[:, 1], b[:, 2], b[:, 3]
    areas = (x2 - x1) * (y2 - y1)
    order = np.argsort(-s, kind="stable")
    suppressed = np.zeros(len(s), dtype=bool)
    keep = []
    for pos, i in enumerate(order):
        if suppressed[i]:
            continue
        keep.append(int(i))
        rest = order[pos + 1:]
        rest = rest[~suppressed[rest]]
        w = np.maximum(F32(0), np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]))
        h = np.maximum(F32(0), np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]))
        inter = w * h
        ovr = inter / (areas[i] + areas[rest] - inter)
        suppressed[rest[ovr.astype(np.float64) > thresh]] = True
    return np.array(keep, dtype=np.int64)


def nms_min(boxes, scores, thresh):
    """facenet-pytorch's nms_numpy(..., 'Min') in float32."""
    b, s = boxes.astype(F32), scores.astype(F32)
    x1, y1, x2, y2 = b[:, 0], b[:, 1], b[:, 2], b[:, 3]
    area = (x2 - x1 + F32(1)) * (y2 - y1 + F32(1))
    order = np.argsort(s, kind="stable")
    keep = []
    while order.size > 0:
        i, idx = order[-1], order[:-1]
        keep.append(int(i))
        w = np.maximum(F32(0), np.minimum(x2[i], x2[idx]) - np.maximum(x1[i], x1[idx]) + F32(1))
        h = np.maximum(F32(0), np.minimum(y2[i], y2[idx]) - np.maximum(y1[i], y1[idx]) + F32(1))
        inter = w * h
        o = inter / np.minimum(area[i], area[idx])
        order = idx[o <= F32(thresh)]
    return np.array(keep, dtype=np.int64)


def rerec(b):
    b = b.astype(F32).copy()
    h, w = b[:, 3] - b[:, 1], b[:, 2] - b[:, 0]
    l = np.maximum(w, h)
    b[:, 0] = b[:, 0] + w * F32(0.5) - l * F32(0.5)
    b[:, 1] = b[:, 1] + h * F32(0.5) - l * F32(0.5)
    b[:, 2] = b[:, 0] + l
    b[:, 3] = b[:, 1] + l
    return b


def bbreg(b, reg):
    b, reg = b.astype(F32).copy(), reg.astype(F32)
    w = b[:, 2] - b[:, 0] + F32(1)
    h = b[:, 3] - b[:, 1] + F32(1)
    b[:, :4] = np.stack([b[:, 0] + reg[:, 0] * w, b[:, 1] + reg[:, 1] * h,
                         b[:, 2] + reg[:, 2] * w, b[:, 3] + reg[:, 3] * h], axis=1)
    return b


def pad_corners(b, w, h):
    """facenet-pytorch's pad(): 1-based inclusive corners (x, y, ex, ey), clipped to the image."""
    t = np.trunc(b[:, :4]).astype(np.int32)
    x, y = np.maximum(t[:, 0], 1), np.maximum(t[:, 1], 1)
    ex, ey = np.minimum(t[:, 2], w), np.minimum(t[:, 3], h)
    return x, y, ex, ey


def crops(img, boxes, size):
    """Crops (clipped to the image) area-resized to size x size and normalised; skips empty crops."""
    _, h, w = img.shape
    x, y, ex, ey = pad_corners(boxes, w, h)
    data, kept, rects = [], [], []
    for k in range(len(boxes)):
        if ey[k] > y[k] - 1 and ex[k] > x[k] - 1:
            data.append(normalize(area_resize(img[:, y[k] - 1:ey[k], x[k] - 1:ex[k]], size, size)))
            kept.append(k)
            rects.append((int(x[k]), int(y[k]), int(ex[k]), int(ey[k])))
    return np.array(data).reshape(-1, 3, size, size), np.array(kept, dtype=np.int64), rects


# ---- the pipeline ---------------------------------------------------------------------------

def checksum(a):
    return {"sum": round(float(a.sum()), 4), "abs_sum": round(float(np.abs(a).sum()), 4)}


def rounded(a, n=6):
    return np.round(np.asarray(a, dtype=np.float64), n).tolist()


def crop_record(box, rect, inp, outs, full_input):
    x, y, ex, ey = rect
    r = {"box": rounded(box[:4], 4), "pad_1based": {"x": x, "y": y, "ex": ex, "ey": ey},
         "crop_0based": [x - 1, y - 1, ex, ey], "input_checksum": checksum(inp)}
    if full_input:
        r["input"] = rounded(inp, 7)
    r.update({k: rounded(v) for k, v in outs.items()})
    return r


def detect(sd, img):
    """img [3, H, W] float64 pixel values 0..255. Returns (faces, golden record, internals)."""
    _, h, w = img.shape
    scales = pyramid_scales(h, w)
    rec = {"image_hw": [h, w], "scales": scales, "pyramid_hw": [], "counts": {"pnet_per_scale": []}}
    internals = {}
    all_boxes = []
    for n, scale in enumerate(scales):
        hs, ws = int(h * scale + 1), int(w * scale + 1)
        x = normalize(area_resize(img, hs, ws))[None]
        reg, prob = pnet(sd, x)
        rec["pyramid_hw"].append([hs, ws])
        if n == 0:
            internals["pnet"] = (x, reg, prob)
            rec["pnet_first_scale"] = {"scale": scale, "input_hw": [hs, ws], "output_hw": list(prob.shape[2:]),
                                       "input_checksum": checksum(x), "prob": rounded(prob[0]), "reg": rounded(reg[0])}
        cand = generate_boxes(reg[0].astype(F32), prob[0, 1].astype(F32), scale, THRESHOLDS[0])
        pick = nms_iou(cand[:, :4], cand[:, 4], 0.5)
        rec["counts"]["pnet_per_scale"].append({"candidates": len(cand), "after_nms_0.5": len(pick)})
        all_boxes.append(cand[pick])
    boxes = np.concatenate(all_boxes)
    boxes = boxes[nms_iou(boxes[:, :4], boxes[:, 4], 0.7)]
    rec["counts"]["stage1_after_nms_0.7"] = len(boxes)
    regw, regh = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    boxes = np.stack([boxes[:, 0] + boxes[:, 5] * regw, boxes[:, 1] + boxes[:, 6] * regh,
                      boxes[:, 2] + boxes[:, 7] * regw, boxes[:, 3] + boxes[:, 8] * regh, boxes[:, 4]], axis=1)
    boxes = rerec(boxes)
    faces, points = np.zeros((0, 5), F32), np.zeros((0, 5, 2), F32)

    # stage 2: R-Net
    rec["rnet_first_crops"], rec["onet_first_crops"] = [], []
    if len(boxes):
        data, kept, rects = crops(img, boxes, 24)
        rec["counts"]["rnet_crops_skipped"] = len(boxes) - len(kept)
        boxes = boxes[kept]
        reg, prob = batched(rnet, sd, data)
        internals["rnet"] = (data, reg, prob)
        rec["counts"]["rnet_inputs"] = len(data)
        rec["rnet_first_crops"] = [crop_record(boxes[k], rects[k], data[k], {"prob": prob[k], "reg": reg[k]}, k == 0)
                                   for k in range(min(3, len(data)))]
        score = prob[:, 1].astype(F32)
        ipass = score > F32(THRESHOLDS[1])
        boxes = np.concatenate([boxes[ipass, :4], score[ipass, None]], axis=1)
        mv = reg[ipass].astype(F32)
        rec["counts"]["rnet_pass"] = int(ipass.sum())
        pick = nms_iou(boxes[:, :4], boxes[:, 4], 0.7)
        boxes = rerec(bbreg(boxes[pick], mv[pick]))
        rec["counts"]["rnet_after_nms_0.7"] = len(boxes)

    # stage 3: O-Net
    if len(boxes):
        data, kept, rects = crops(img, boxes, 48)
        rec["counts"]["onet_crops_skipped"] = len(boxes) - len(kept)
        boxes = boxes[kept]
        reg, lm, prob = batched(onet, sd, data)
        internals["onet"] = (data, reg, lm, prob)
        rec["counts"]["onet_inputs"] = len(data)
        rec["onet_first_crops"] = [crop_record(boxes[k], rects[k], data[k],
                                               {"prob": prob[k], "reg": reg[k], "landmarks": lm[k]}, k == 0)
                                   for k in range(min(3, len(data)))]
        score = prob[:, 1].astype(F32)
        ipass = score > F32(THRESHOLDS[2])
        lm = lm[ipass].astype(F32)
        boxes = np.concatenate([boxes[ipass, :4], score[ipass, None]], axis=1)
        mv = reg[ipass].astype(F32)
        rec["counts"]["onet_pass"] = int(ipass.sum())
        wi, hi = boxes[:, 2] - boxes[:, 0] + F32(1), boxes[:, 3] - boxes[:, 1] + F32(1)
        px = wi[:, None] * lm[:, :5] + boxes[:, 0:1] - F32(1)
        py = hi[:, None] * lm[:, 5:] + boxes[:, 1:2] - F32(1)
        pts = np.stack([px, py], axis=2)
        boxes = bbreg(boxes, mv)
        pick = nms_min(boxes[:, :4], boxes[:, 4], 0.7)
        faces, points = boxes[pick], pts[pick]
    order = np.argsort((faces[:, 2] - faces[:, 0]) * (faces[:, 3] - faces[:, 1]), kind="stable")[::-1]
    faces, points = faces[order], points[order]
    rec["counts"]["faces"] = len(faces)
    rec["faces"] = [{"box": rounded(f[:4], 4), "prob": round(float(f[4]), 6), "landmarks": rounded(p, 4)}
                    for f, p in zip(faces, points)]
    internals["faces"] = (faces, points)
    return rec, internals


# ---- optional cross-check against facenet-pytorch (torch) -----------------------------------

def load_facenet_pytorch(pkg_dir):
    """Imports facenet_pytorch (from the unpacked wheel if it is not installed); None if torch is missing."""
    try:
        importlib.import_module("torch")
    except ImportError:
        return None
    sys.path.insert(0, str(pkg_dir))
    try:
        return importlib.import_module("facenet_pytorch")
    except ImportError as e:
        print(f"torch found but facenet_pytorch not importable ({e}); no cross-check")
        return None


def crosscheck(fp, pixels_hwc, internals):
    import torch

    class Tap(torch.nn.Module):
        def __init__(self, net):
            super().__init__()
            self.net, self.calls = net, []

        def forward(self, x):
            out = self.net(x)
            self.calls.append((x.numpy().copy(), [o.numpy().copy() for o in out]))
            return out

    m = fp.MTCNN(keep_all=True)
    m.pnet, m.rnet, m.onet = Tap(m.pnet), Tap(m.rnet), Tap(m.onet)
    boxes, probs, points = m.detect(pixels_hwc, landmarks=True)
    diff = lambda a, b: float(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64)).max()) if np.size(a) else 0.0
    out = {}
    x, reg, prob = internals["pnet"]
    tx, (treg, tprob) = m.pnet.calls[0]
    out["pnet_first_scale"] = {"input": diff(tx, x), "prob": diff(tprob, prob), "reg": diff(treg, reg)}
    for name, outs in (("rnet", ("reg", "prob")), ("onet", ("reg", "landmarks", "prob"))):
        tap = getattr(m, name)
        if name not in internals or not tap.calls:
            out[name] = {"inputs": len(tap.calls), "same_count": name not in internals}
            continue
        tin = np.concatenate([c[0] for c in tap.calls])
        touts = [np.concatenate([c[1][i] for c in tap.calls]) for i in range(len(outs))]
        mine = internals[name]
        r = {"inputs_torch": len(tin), "inputs_numpy": len(mine[0])}
        if len(tin) == len(mine[0]):
            r["input"] = diff(tin, mine[0])
            r.update({k: diff(t, v) for k, t, v in zip(outs, touts, mine[1:])})
        out[name] = r
    faces, pts = internals["faces"]
    if boxes is None:
        out["faces"] = {"torch": 0, "numpy": len(faces)}
    else:
        out["faces"] = {"torch": len(boxes), "numpy": len(faces)}
        if len(boxes) == len(faces):
            out["faces"].update({"box": diff(np.stack(boxes), faces[:, :4]), "prob": diff(np.asarray(probs, np.float64), faces[:, 4]),
                                 "landmarks": diff(np.stack(points), pts)})
    return out


def main():
    with tempfile.TemporaryDirectory() as tmp:
        wheel = pip_download(FACENET, tmp)
        sd = {}
        with zipfile.ZipFile(wheel) as z:
            z.extractall(pathlib.Path(tmp) / "wheel")
        for net in NETS:
            path = pathlib.Path(tmp) / "wheel" / f"facenet_pytorch/data/{net}.pt"
            assert hashlib.sha256(path.read_bytes()).hexdigest() == SHA256[net], f"unexpected {net}.pt"
            for k, v in load_legacy_state_dict(path).items():
                sd[f"{net}.{k}"] = v
        weights = {k: v.astype(np.float32) for k, v in sd.items()}
        (ROOT / "assets/models").mkdir(parents=True, exist_ok=True)
        out_st = ROOT / "assets/models/mtcnn.safetensors"
        write_safetensors(out_st, weights, "F32", {"source": f"{FACENET} facenet_pytorch/data/{{pnet,rnet,onet}}.pt",
                                                  "license": "MIT", **{f"sha256_{n}": SHA256[n] for n in NETS}})
        print(f"{len(weights)} tensors, {sum(a.size for a in weights.values())} values, {out_st.stat().st_size} bytes")
        for k, v in weights.items():
            print(f"  {k:<22} {list(v.shape)}")

        fp = load_facenet_pytorch(pathlib.Path(tmp) / "wheel")
        sd64 = {k: v.astype(np.float64) for k, v in weights.items()}
        golden = {
            "model": {"source": f"PyPI wheel {FACENET}, facenet_pytorch/data/{{pnet,rnet,onet}}.pt", "sha256": SHA256,
                      "license": "MIT"},
            "reference": "independent numpy re-implementation of facenet-pytorch 2.6.0's detect_face: networks in float64, "
                         "box bookkeeping in float32 (see scripts/convert_mtcnn.py)",
            "parameters": {"min_face_size": MIN_FACE_SIZE, "factor": FACTOR, "thresholds": list(THRESHOLDS),
                           "pnet_stride": 2, "pnet_cell": 12, "nms": {"per_scale": ["IoU", 0.5], "stage1": ["IoU", 0.7],
                                                                       "stage2": ["IoU", 0.7], "stage3": ["Min", 0.7]}},
            "preprocessing": "x = (v - 127.5) * 0.0078125 on RGB 0..255; area resize (adaptive average pooling) to "
                             "(int(H * s + 1), int(W * s + 1)) per pyramid scale s, and of each clipped crop to 24 or 48",
            "layouts": "pnet_first_scale prob [2, H', W'] (softmax, [1] = face), reg [4, H', W']; crop 'input' [3, n, n]; "
                       "boxes [x1, y1, x2, y2] image pixels; crop_0based [x0, y0, x1, y1) half-open; landmarks [[x, y]] x 5",
            "images": {},
        }
        if fp is not None:
            import torch
            golden["crosscheck"] = {"runtime": f"facenet-pytorch 2.6.0 MTCNN(keep_all=True).detect on torch "
                                               f"{torch.__version__} CPU, float32", "max_abs_diff": {}}
        for path in sorted((ROOT / "assets/images").glob("*.png")):
            img = np.round(read_png_rgb(path) * 255.0)
            rec, internals = detect(sd64, img)
            name = path.name
            golden["images"][name] = rec
            c = rec["counts"]
            print(f"{name}: {len(rec['scales'])} scales, first {rec['pyramid_hw'][0]} -> P-Net "
                  f"{rec['pnet_first_scale']['output_hw']}; stage 1 {c['stage1_after_nms_0.7']} boxes, "
                  f"R-Net pass {c.get('rnet_pass')} -> {c.get('rnet_after_nms_0.7')}, O-Net pass {c.get('onet_pass')}, "
                  f"faces {c['faces']}")
            for f in rec["faces"]:
                print(f"    face {f['box']} prob {f['prob']} landmarks {f['landmarks']}")
            if fp is not None:
                d = crosscheck(fp, img.transpose(1, 2, 0).astype(np.uint8), internals)
                golden["crosscheck"]["max_abs_diff"][name] = d
                print(f"    |facenet-pytorch - numpy|: {json.dumps(d)}")
    (ROOT / "assets/golden/detect").mkdir(parents=True, exist_ok=True)
    (ROOT / "assets/golden/detect/mtcnn.json").write_text(json.dumps(golden, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
