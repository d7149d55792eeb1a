"""CPU throughput of the PP-OCR models in their original runtime (onnxruntime, through rapidocr), as the peer
figure for `ocelli bench model` on the ppocr models.

    python3 -m venv /tmp/ort && /tmp/ort/bin/pip install rapidocr-onnxruntime==1.4.4 numpy
    /tmp/ort/bin/python scripts/bench_ppocr_ort.py [--runs 5] [--json]

The models are the ONNX files inside the installed rapidocr-onnxruntime wheel, found and sha256-checked as in
scripts/convert_ppocr.py (nothing is downloaded). Everything runs on onnxruntime's CPU execution provider with its
default thread settings; the number of intra-op threads a session actually uses is measured (threads the session
adds to the process, plus the calling thread) and printed.

What it measures, each after 1 untimed warm-up run, then --runs timed runs (median, min and max):
  det       ppocr_det (PP-OCRv4 DBNet) alone: one InferenceSession with default SessionOptions, run on the
            preprocessed input (rapidocr's own DetPreProcess, not timed) of assets/ocr/page.png (736x1472) and of
            each of assets/images/*.png at rapidocr's input size for that image (convert_ppocr.py's docstring:
            the short side scaled up to 736, both sides rounded to multiples of 32). ms per run, images/s.
  pipeline  rapidocr's whole RapidOCR() pipeline (default config.yaml: det + cls + rec, its own session options,
            which differ from the defaults only in enable_cpu_mem_arena = False) on assets/ocr/page.png, from the
            file path to the recognised lines (PNG decoding included). s per image, images/s, and the median of
            rapidocr's own per-stage times (det, cls, rec, each including its pre- and post-processing).
With --json each result is one JSON line instead of text.
"""

import argparse
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import pathlib
import statistics
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from convert_ppocr import MODELS, PKG, ROOT  # noqa: E402

PAGE = "assets/ocr/page.png"
PHOTOS = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "assets/images").glob("*.png"))


def n_threads():
    return len(os.listdir("/proc/self/task"))


def timed(fn, runs):
    """1 warm-up call, then `runs` timed calls; returns their seconds."""
    fn()
    ts = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return ts


def det_size(h, w):
    """rapidocr's det input size (limit_type "min", 736), as in convert_ppocr.py's docstring."""
    r = 736 / min(h, w) if min(h, w) < 736 else 1.0
    return int(round(int(h * r) / 32) * 32), int(round(int(w * r) / 32) * 32)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    import onnxruntime as ort
    from rapidocr_onnxruntime import RapidOCR

    def emit(rec, text):
        print(json.dumps(rec) if args.json else text, flush=True)

    installed = pathlib.Path(importlib.util.find_spec(PKG).submodule_search_locations[0])
    for key, (path, sha) in MODELS.items():
        assert hashlib.sha256((installed / path).read_bytes()).hexdigest() == sha, f"installed {key} differs"

    before = n_threads()
    sess = ort.InferenceSession(str(installed / MODELS["det"][0]), ort.SessionOptions(),
                                providers=["CPUExecutionProvider"])
    det_threads = n_threads() - before + 1
    name = sess.get_inputs()[0].name
    before = n_threads()
    engine = RapidOCR()
    pipe_threads = (n_threads() - before) / 3 + 1  # det, cls and rec sessions
    versions = {p: importlib.metadata.version(p) for p in ("onnxruntime", "rapidocr-onnxruntime", "numpy", "opencv-python")}
    emit({"what": "env", "versions": versions, "os_cpu_count": os.cpu_count(), "providers": sess.get_providers(),
          "intra_op_threads_det_session": det_threads, "intra_op_threads_per_rapidocr_session": pipe_threads,
          "runs": args.runs, "warmup": 1},
         f"onnxruntime {versions['onnxruntime']}, rapidocr-onnxruntime {versions['rapidocr-onnxruntime']}, "
         f"{os.cpu_count()} CPUs, {sess.get_providers()[0]}, default session options: {det_threads} intra-op threads "
         f"(rapidocr sessions: {pipe_threads:g} each); 1 warm-up + {args.runs} timed runs")

    for rel in [PAGE] + PHOTOS:
        img = engine.load_img(str(ROOT / rel))  # BGR uint8, as the pipeline sees it
        h, w = img.shape[:2]
        x = engine.text_det.get_preprocess(max(h, w))(img)
        assert x.shape == (1, 3) + det_size(h, w), (rel, x.shape)
        ts = timed(lambda: sess.run(None, {name: x}), args.runs)
        ms = [t * 1e3 for t in ts]
        med = statistics.median(ms)
        emit({"what": "det", "image": rel, "input": list(x.shape), "median_ms": med, "min_ms": min(ms),
              "max_ms": max(ms), "images_per_s": 1e3 / med, "ms": ms},
             f"ppocr_det {rel} {x.shape[2]}x{x.shape[3]}: {med:.1f} ms (min {min(ms):.1f}, max {max(ms):.1f}), "
             f"{1e3 / med:.2f} images/s")

    ts, stages = [], []
    engine(str(ROOT / PAGE))  # warm-up, as timed()
    for _ in range(args.runs):
        t0 = time.perf_counter()
        result, elapse = engine(str(ROOT / PAGE))
        ts.append(time.perf_counter() - t0)
        stages.append(elapse)
    med = statistics.median(ts)
    split = {k: statistics.median(e[i] for e in stages) * 1e3 for i, k in enumerate(("det", "cls", "rec"))}
    emit({"what": "pipeline", "image": PAGE, "median_s": med, "min_s": min(ts), "max_s": max(ts),
          "images_per_s": 1 / med, "s": ts, "stage_median_ms": split, "lines": len(result or [])},
         f"RapidOCR pipeline {PAGE}: {med:.3f} s (min {min(ts):.3f}, max {max(ts):.3f}), {1 / med:.2f} images/s; "
         f"{len(result or [])} lines; rapidocr's stage medians: "
         + ", ".join(f"{k} {v:.0f} ms" for k, v in split.items()))


if __name__ == "__main__":
    main()
