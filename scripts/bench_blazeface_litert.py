"""End-to-end throughput of MediaPipe's BlazeFace short-range model in its original runtime (LiteRT),
for comparison with `ocelli bench model --model blazeface`.

    pip install numpy ai-edge-litert==2.3.0
    python3 scripts/bench_blazeface_litert.py

The model is the .tflite that scripts/convert_blazeface.py reads (mediapipe==0.10.21 wheel, fetched
with pip download, sha256-checked); it runs on LiteRT's default op resolver (XNNPACK), with
num_threads = 1 and then 2, one interpreter per thread count, made before timing.

One pass, as Ocelli's bench times it, goes over assets/images/{astronaut,chelsea,coffee}.png and
for each photo: reads and decodes the PNG, letterboxes it to 128x128 in [-1, 1], runs the network,
decodes the 896 anchors, runs weighted NMS and maps the detections back to image pixels. All of
that is convert_blazeface.py's code (read_png_rgb from convert_mobilenet_v2.py, letterbox,
ssd_anchors, decode, weighted_nms), so the PNG decoding is its pure-Python decoder, which is slow
and dominates a pass; the per-stage split printed alongside shows the runtime's own share. After
one untimed warm-up pass, 5 passes are timed; images/s = 3 / the median pass time. Each line also
gives the median per-image milliseconds of each stage over the timed passes. The detections of
the warm-up pass are checked against assets/golden/detect/blazeface.json.
"""

import hashlib
import json
import statistics
import sys
import tempfile
import time
import zipfile

import numpy as np

from convert_blazeface import (MODEL_IN_WHEEL, MODEL_SHA256, SIZE, decode, download_mediapipe,
                               letterbox, litert_interpreter, ssd_anchors, weighted_nms)
from convert_mobilenet_v2 import ROOT, read_png_rgb

PHOTOS = [ROOT / "assets/images" / f"{n}.png" for n in ("astronaut", "chelsea", "coffee")]
PASSES = 5
THREADS = (1, 2)
STAGES = ("decode_png", "letterbox", "network", "post")


def load_model():
    with tempfile.TemporaryDirectory() as tmp:
        with zipfile.ZipFile(download_mediapipe(tmp)) as z:
            model = z.read(MODEL_IN_WHEEL)
    assert hashlib.sha256(model).hexdigest() == MODEL_SHA256, "unexpected model"
    return model


def detect(it, io, anchors, path, times):
    """One photo end to end; adds each stage's seconds to `times`; returns image-pixel detections."""
    t0 = time.perf_counter()
    img = read_png_rgb(path)
    t1 = time.perf_counter()
    x, info = letterbox(img)
    t2 = time.perf_counter()
    it.set_tensor(io["input"], x)
    it.invoke()
    raw_boxes, raw_scores = it.get_tensor(io["regressors"]), it.get_tensor(io["classificators"])
    t3 = time.perf_counter()
    boxes, kps, scores = decode(raw_boxes, raw_scores, anchors)
    dets = weighted_nms(boxes, kps, scores)
    sx = lambda v: (v * SIZE - info["pad_left"]) * info["scale_x"]
    sy = lambda v: (v * SIZE - info["pad_top"]) * info["scale_y"]
    out = [{"score": d["score"], "box": [sx(d["box"][0]), sy(d["box"][1]), sx(d["box"][2]), sy(d["box"][3])],
            "keypoints": [[sx(p[0]), sy(p[1])] for p in d["keypoints"]]} for d in dets]
    t4 = time.perf_counter()
    for stage, dt in zip(STAGES, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
        times[stage] += dt
    return out


def check_golden(results):
    golden = json.loads((ROOT / "assets/golden/detect/blazeface.json").read_text())["images"]
    for path, dets in results.items():
        want = golden[path.name]["detections"]
        assert len(dets) == len(want), (path.name, len(dets), len(want))
        for d, w in zip(dets, want):
            assert abs(d["score"] - w["score"]) < 1e-4, (path.name, d["score"], w["score"])
            assert max(abs(a - b) for a, b in zip(d["box"], w["box"])) < 0.05, (path.name, d["box"], w["box"])


def main():
    model = load_model()
    Interpreter, _, runtime = litert_interpreter()
    anchors = ssd_anchors()
    print(f"{runtime}, default op resolver (XNNPACK); {len(PHOTOS)} photos per pass, "
          f"median of {PASSES} passes after 1 warm-up pass", flush=True)
    for threads in THREADS:
        it = Interpreter(model_content=model, num_threads=threads)
        it.allocate_tensors()
        outs = {d["name"]: d["index"] for d in it.get_output_details()}
        io = {"input": it.get_input_details()[0]["index"], "regressors": outs["regressors"],
              "classificators": outs["classificators"]}

        warm = {s: 0.0 for s in STAGES}
        check_golden({p: detect(it, io, anchors, p, warm) for p in PHOTOS})
        passes, stages = [], {s: [] for s in STAGES}
        for _ in range(PASSES):
            times = {s: 0.0 for s in STAGES}
            start = time.perf_counter()
            for p in PHOTOS:
                detect(it, io, anchors, p, times)
            passes.append(time.perf_counter() - start)
            for s in STAGES:
                stages[s].append(times[s] / len(PHOTOS))
        per_pass = statistics.median(passes)
        split = ", ".join(f"{s} {1e3 * statistics.median(stages[s]):.3f}" for s in STAGES)
        print(f"num_threads={threads}: {len(PHOTOS) / per_pass:.3f} images/s end to end "
              f"(median pass {per_pass:.3f} s, passes {min(passes):.3f}-{max(passes):.3f} s; "
              f"ms per image: {split})", flush=True)


if __name__ == "__main__":
    sys.exit(main())
