"""End-to-end throughput of facenet-pytorch's MTCNN in its original runtime (PyTorch on the CPU),
for comparison with `ocelli bench model --model mtcnn`.

    pip install "torch==2.2.2" "torchvision==0.17.2" "numpy<2" pillow requests tqdm
    pip install --no-deps facenet-pytorch==2.6.0
    python3 scripts/bench_mtcnn_facenet.py

MTCNN() with its defaults (the pipeline scripts/convert_mtcnn.py re-implements and the golden
records), torch.set_num_threads(1) and then 2. One pass, as Ocelli's bench times it, goes over
assets/images/{astronaut,chelsea,coffee}.png and for each photo decodes the PNG (Pillow) and runs
MTCNN.detect (pyramid, P-Net, NMS, crops, R-Net, O-Net, landmarks). After one untimed warm-up
pass, 5 passes are timed; images/s = 3 / the median pass time. The faces of the warm-up pass are
checked against assets/golden/detect/mtcnn.json.
"""

import json
import pathlib
import statistics
import time

import numpy as np
import torch
from facenet_pytorch import MTCNN
from PIL import Image

ROOT = pathlib.Path(__file__).resolve().parent.parent
PHOTOS = ["astronaut.png", "chelsea.png", "coffee.png"]


def one_pass(mtcnn):
    found = {}
    for name in PHOTOS:
        image = Image.open(ROOT / "assets" / "images" / name).convert("RGB")
        boxes, probs = mtcnn.detect(image)
        found[name] = [] if boxes is None else list(zip(boxes.tolist(), probs.tolist()))
    return found


def main():
    golden = json.loads((ROOT / "assets" / "golden" / "detect" / "mtcnn.json").read_text())
    mtcnn = MTCNN(device="cpu")
    for threads in (1, 2):
        torch.set_num_threads(threads)
        found = one_pass(mtcnn)
        for name in PHOTOS:
            want = golden["images"][name]["faces"]
            assert len(found[name]) == len(want), (name, found[name])
            for (box, prob), w in zip(found[name], want):
                assert np.abs(np.array(box) - np.array(w["box"])).max() < 0.01, (name, box, w["box"])
                assert abs(prob - w["prob"]) < 1e-4
        times = []
        for _ in range(5):
            start = time.perf_counter()
            one_pass(mtcnn)
            times.append(time.perf_counter() - start)
        median = statistics.median(times)
        print(f"facenet-pytorch MTCNN, torch {torch.__version__}, {threads} thread(s): "
              f"{len(PHOTOS) / median:.2f} images/s end to end over {len(PHOTOS)} photos (median of 5 passes)")


if __name__ == "__main__":
    main()
