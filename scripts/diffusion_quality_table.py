"""Sample-quality table of the MNIST diffusion / flow models, with the JAX samplers.

    pip install jax==0.10.2 numpy
    python3 scripts/diffusion_quality_table.py --count 200 --ddpm1000-count 50 \
        --out scripts/diffusion_quality_table.json --md /tmp/quality_table.md

The models (assets/models/{ddpm,flow}_mnist.safetensors) and the samplers are those of
scripts/diffusion_mnist_model.py (imported, not copied); Ocelli's trajectories match them within
7e-5, so this table stands for Ocelli's samplers too.

Each row samples N images, N/10 per class (classes 0..9 in blocks), from the initial noise
jax.random.normal(PRNGKey(seed), (N, 1, 28, 28)) (the same noise for every row of the same N, so
rows differ only by model, sampler, steps and guidance; DDPM's per-step noise comes from
fold_in(PRNGKey(seed + 1), batch index)). The network step is the jitted 2B-batch of
`diffusion_mnist_model.cfg_batch` (B conditional + B null); every batch has the same shape B
(the last one padded with copies of its first rows, which are dropped).

The judge is the shipped MNIST CNN (assets/models/mnist_cnn.safetensors; forward of
scripts/train_mnist_cnn.py, input in [0, 1]), applied to clip((x + 1) / 2, 0, 1):

- accuracy: the share of samples the CNN classifies as the class they were asked for;
- fd: the Fréchet distance between the CNN's 128-d penultimate features (ReLU(fc1)) of the N
  samples and of the 10 000 MNIST test images, in float64:
  |μ1 − μ2|² + tr(S1 + S2 − 2·sqrt(sqrt(S1)·S2·sqrt(S1))), covariances with ddof 1, the matrix
  square roots by symmetric eigen-decomposition (negative eigenvalues clipped to 0);
- floor: the same distance for N random MNIST training images (without replacement, drawn by
  numpy default_rng(seed + k), k = 0..9) — the mean over those 10 draws, and their sd. The
  distance is biased upward at small N, so a row's fd is comparable with the floor at its N only.

Rows are named `{model}-{sampler}{steps}-g{guidance}`: ddpm-ddpm1000 (ancestral, 1000 steps),
ddpm-ddim50 / ddim20 / ddim10 (η = 0), flow-euler20 / euler10, each at guidance 0, 1 and 3.
The 1000-step rows use --ddpm1000-count instead of --count. Each row is printed as it finishes, and
--out (JSON) is rewritten after each one, merging into an existing file's rows by name.

Recorded run (scripts/diffusion_quality_table.json): the command above under `nice -n 19`, batch 100,
seed 0, jax 0.10.2 on the 2-core VM next to a cargo build: 15 DDIM / flow rows at N = 200 (23-136 s
each), then the 3 DDPM-1000 rows at N = 50 (about 530 s each), 41 min in all.
"""

import argparse
import json
import pathlib
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from convert_mobilenet_v2 import ROOT  # noqa: E402
import diffusion_mnist_model as M  # noqa: E402
import train_mnist_cnn as C  # noqa: E402

SAMPLERS = [("ddpm", "ddpm", 1000), ("ddpm", "ddim", 50), ("ddpm", "ddim", 20), ("ddpm", "ddim", 10),
            ("flow", "euler", 20), ("flow", "euler", 10)]
GUIDANCES = [0.0, 1.0, 3.0]
FLOOR_DRAWS = 10


def row_name(model, sampler, steps, w):
    return f"{model}-{sampler}{steps}-g{w:g}"


# the 1000-step rows last (they take most of the time)
ALL_ROWS = [(m, s, k, w) for (m, s, k) in SAMPLERS[1:] + SAMPLERS[:1] for w in GUIDANCES]


def _features(p, x):
    """The CNN's penultimate features ReLU(fc1(...)) [N, 128] and its logits [N, 10]; x in [0, 1]."""
    x = C.pool(jax.nn.relu(C.conv(x, p["conv1.weight"], p["conv1.bias"])))
    x = C.pool(jax.nn.relu(C.conv(x, p["conv2.weight"], p["conv2.bias"])))
    f = jax.nn.relu(jnp.dot(x.reshape(x.shape[0], -1), p["fc1.weight"].T, precision="highest") + p["fc1.bias"])
    return f, jnp.dot(f, p["fc2.weight"].T, precision="highest") + p["fc2.bias"]


features = jax.jit(_features)


def cnn_features(cnn, x, chunk=1000):
    fs, ls = [], []
    for i in range(0, len(x), chunk):
        f, lg = features(cnn, jnp.asarray(x[i:i + chunk]))
        fs.append(np.asarray(f, np.float64))
        ls.append(np.asarray(lg))
    return np.concatenate(fs), np.concatenate(ls)


def _sym(a):
    return (a + a.T) / 2


def _sqrtm_psd(a):
    w, v = np.linalg.eigh(_sym(a))
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def stats(f):
    f = np.asarray(f, np.float64)
    return f.mean(0), np.cov(f, rowvar=False)


def frechet(s1, s2):
    (m1, c1), (m2, c2) = s1, s2
    r1 = _sqrtm_psd(c1)
    w = np.linalg.eigvalsh(_sym(r1 @ c2 @ r1))
    return float(np.sum((m1 - m2) ** 2) + np.trace(c1) + np.trace(c2) - 2 * np.sum(np.sqrt(np.clip(w, 0, None))))


def sample_batch(model, sampler, steps, p, x, c, w, key):
    if sampler == "ddpm":
        return M.ddpm_sample(p, x, c, w, key)
    if sampler == "ddim":
        return M.ddim_sample(p, x, c, w, steps)[0]
    return M.euler_sample(p, x, c, w, steps)[0]


def run_row(model, sampler, steps, w, n, batch, seed, weights, cnn, test_stats):
    assert n % 10 == 0, "the count must be a multiple of 10 (balanced classes)"
    classes = np.repeat(np.arange(10, dtype=np.int32), n // 10)
    noise = np.asarray(jax.random.normal(jax.random.PRNGKey(seed), (n, 1, 28, 28), jnp.float32))
    b = min(batch, n)
    base = jax.random.PRNGKey(seed + 1)
    out = []
    for j, i in enumerate(range(0, n, b)):
        xb, cb = noise[i:i + b], classes[i:i + b]
        k = len(xb)
        if k < b:  # pad to the fixed batch shape
            reps = -(-b // k)
            xb, cb = np.concatenate([xb] * reps)[:b], np.concatenate([cb] * reps)[:b]
        xs = sample_batch(model, sampler, steps, weights[model], jnp.asarray(xb), jnp.asarray(cb), w,
                          jax.random.fold_in(base, j))
        out.append(np.asarray(xs)[:k])
    xs = np.concatenate(out)
    f, lg = cnn_features(cnn, np.clip((xs + 1.0) / 2.0, 0.0, 1.0))
    pred = lg.argmax(1)
    return {
        "accuracy": float((pred == classes).mean()),
        "accuracy_per_class": [float((pred[classes == d] == d).mean()) for d in range(10)],
        "fd": frechet(stats(f), test_stats),
        "nonfinite_samples": int((~np.isfinite(xs.reshape(n, -1)).all(1)).sum()),
    }


def floor(n, seed, train_feats, test_stats):
    v = [frechet(stats(train_feats[np.random.default_rng(seed + k).choice(len(train_feats), n, replace=False)]),
                 test_stats) for k in range(FLOOR_DRAWS)]
    return float(np.mean(v)), float(np.std(v, ddof=1))


def markdown(doc):
    lines = ["| model | sampler | steps | guidance | N | CNN accuracy | FD to test | floor (train, same N) | wall |",
             "|---|---|---|---|---|---|---|---|---|"]
    order = {row_name(*r): i for i, r in enumerate(ALL_ROWS)}
    for r in sorted(doc["rows"], key=lambda r: order.get(r["name"], 99)):
        lines.append(f"| {r['model']} | {r['sampler']} | {r['steps']} | {r['guidance']:g} | {r['count']} |"
                     f" {100 * r['accuracy']:.1f}% | {r['fd']:.2f} | {r['floor_fd']:.2f} ± {r['floor_fd_sd']:.2f} |"
                     f" {r['wall_s']:.0f} s |")
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", default=None,
                    help="comma-separated row names (e.g. flow-euler20-g3,ddpm-ddim50-g3), default all 18;"
                         f" names: {', '.join(row_name(*r) for r in ALL_ROWS)}")
    ap.add_argument("--count", type=int, default=200, help="samples per row (multiple of 10)")
    ap.add_argument("--ddpm1000-count", type=int, default=None, help="samples for the 1000-step rows (default --count)")
    ap.add_argument("--batch", type=int, default=100, help="images per network batch (each evaluation runs 2×)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=None, help="JSON file (rows merged by name into an existing one)")
    ap.add_argument("--md", default=None, help="also write the markdown table here")
    args = ap.parse_args()
    names = {row_name(*r): r for r in ALL_ROWS}
    if args.rows:
        wanted = [s.strip() for s in args.rows.split(",") if s.strip()]
        bad = [s for s in wanted if s not in names]
        if bad:
            ap.error(f"unknown rows {bad}; known: {list(names)}")
        rows = [r for r in ALL_ROWS if row_name(*r) in wanted]
    else:
        rows = ALL_ROWS

    t0 = time.time()
    cnn = {k: jnp.asarray(a) for k, a in M.read_safetensors(ROOT / "assets/models/mnist_cnn.safetensors").items()}
    weights = {m: {k: jnp.asarray(a) for k, a in M.read_safetensors(ROOT / f"assets/models/{m}_mnist.safetensors").items()}
               for m in ("ddpm", "flow")}
    xte, yte = C.load("t10k")
    xtr, _ = C.load("train")
    test_f, test_lg = cnn_features(cnn, xte)
    test_stats = stats(test_f)
    train_f, _ = cnn_features(cnn, xtr)
    test_acc = float((test_lg.argmax(1) == yte).mean())
    print(f"CNN on the 10 000 test images: accuracy {test_acc:.4f}; features of test and train in"
          f" {time.time() - t0:.0f} s", flush=True)

    out = pathlib.Path(args.out) if args.out else None
    doc = {"rows": []}
    if out is not None and out.exists():
        doc = json.loads(out.read_text())
    doc.update({
        "doc": "scripts/diffusion_quality_table.py: JAX samplers of scripts/diffusion_mnist_model.py; accuracy ="
               " share of samples the MNIST CNN classifies as the class asked for; fd = Fréchet distance of the"
               " CNN's 128-d penultimate features to those of the 10 000 test images (float64); floor_fd = the"
               f" same for N random training images, mean (and sd) over {FLOOR_DRAWS} draws; N/10 samples per class",
        "framework": f"jax {jax.__version__}",
        "cnn_test_accuracy": test_acc,
        "seed": args.seed,
        "batch": args.batch,
    })
    floors = {}
    for model, sampler, steps, w in rows:
        n = args.ddpm1000_count if (sampler == "ddpm" and args.ddpm1000_count) else args.count
        if n not in floors:
            floors[n] = floor(n, args.seed, train_f, test_stats)
        t1 = time.time()
        r = run_row(model, sampler, steps, w, n, args.batch, args.seed, weights, cnn, test_stats)
        wall = time.time() - t1
        name = row_name(model, sampler, steps, w)
        rec = {"name": name, "model": model, "sampler": sampler, "steps": steps, "eta": 0.0 if sampler == "ddim" else None,
               "guidance": w, "count": n, "accuracy": r["accuracy"], "accuracy_per_class": r["accuracy_per_class"],
               "fd": round(r["fd"], 4), "floor_fd": round(floors[n][0], 4), "floor_fd_sd": round(floors[n][1], 4),
               "nonfinite_samples": r["nonfinite_samples"], "wall_s": round(wall, 1)}
        print(f"{name}: N {n}, accuracy {100 * r['accuracy']:.1f}%, FD {r['fd']:.2f} (floor {floors[n][0]:.2f}"
              f" ± {floors[n][1]:.2f}), {wall:.0f} s", flush=True)
        doc["rows"] = [x for x in doc["rows"] if x["name"] != name] + [rec]
        if out is not None:
            out.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n")
        if args.md:
            pathlib.Path(args.md).write_text(markdown(doc))
    print(markdown(doc), flush=True)


if __name__ == "__main__":
    main()
