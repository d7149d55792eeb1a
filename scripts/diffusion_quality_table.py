"""Sample-quality table of the MNIST diffusion / flow models, with the JAX samplers; resumable.

    pip install jax==0.10.2 numpy
    nice -n 19 python3 scripts/diffusion_quality_table.py --minutes 120

The models (assets/models/{ddpm,flow}_mnist.safetensors) and the samplers are those of
scripts/diffusion_mnist_model.py (imported, not copied); Ocelli's trajectories match them within
7e-5, so this table stands for Ocelli's samplers too.

Rows are named `{model}-{sampler}{steps}-g{guidance}`: ddpm-ddpm1000 (ancestral, 1000 steps),
ddpm-ddim50 / ddim20 / ddim10 (η = 0), flow-euler20 / euler10, each at guidance 0, 1 and 3.

Work goes in batches of 100 samples, 10 per class, --workers of them sampled at once in threads
(one XLA CPU execution of this small U-Net keeps about one core busy; two fill these 2-core
machines and nearly double the throughput); batches join the state in plan order. Batch j of
every row starts from the noise jax.random.normal(fold_in(PRNGKey(seed), j), (100, 1, 28, 28))
(so rows differ only by model, sampler, steps and guidance; DDPM's per-step noise comes from fold_in(PRNGKey(seed + 1), j)). The
network step is `diffusion_mnist_model.guided`: at guidance 3 the jitted 200-batch of `cfg_batch`
(100 conditional + 100 null), at guidance 0 and 1 the one 100-batch pass that the value needs
(samples taken before that change, with both passes, equal these up to float rounding). After each batch a row keeps only sufficient statistics — the count, the correct
classifications per class, the non-finite samples, and the float64 sum and sum of outer products of
the judge's features — in the state file (--state, an .npz), which is rewritten after each batch;
a run stopped anywhere resumes from it, so the table grows over several runs (sessions).

The schedule (--plan) is a list of stages `ROWS:N`, each bringing its rows to N samples before the
next stage starts; the default brings the 15 DDIM / flow rows to 1000, then the two default rows
(ddpm-ddim50-g3, flow-euler20-g3) to 10 000, then the DDPM-1000 rows to 200 (a first look at
all three guidances: each of their samples costs 20 DDIM-50 ones), then to 1000, then every row to
10 000. --minutes stops after the batch that crosses the budget.

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

--out (JSON) and --md are rewritten from the state after each batch that completes a stage's row.
"""

import argparse
import collections
import concurrent.futures
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


BATCH = 100


def sample_batch(sampler, steps, p, x, c, w, key):
    if sampler == "ddpm":
        return M.ddpm_sample(p, x, c, w, key)
    if sampler == "ddim":
        return M.ddim_sample(p, x, c, w, steps)[0]
    return M.euler_sample(p, x, c, w, steps)[0]


def empty_state():
    return {"n": 0, "correct": np.zeros(10, np.int64), "nonfinite": 0, "sum": np.zeros(128),
            "outer": np.zeros((128, 128)), "wall_s": 0.0}


def load_state(path):
    rows = {}
    if path.exists():
        with np.load(path) as z:
            for name in {k.split("/")[0] for k in z.files}:
                rows[name] = {"n": int(z[f"{name}/n"]), "correct": z[f"{name}/correct"].astype(np.int64),
                              "nonfinite": int(z[f"{name}/nonfinite"]), "sum": z[f"{name}/sum"],
                              "outer": z[f"{name}/outer"], "wall_s": float(z[f"{name}/wall_s"])}
    return rows


def save_state(path, rows):
    arrays = {f"{name}/{k}": np.asarray(v) for name, s in rows.items() for k, v in s.items()}
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, **arrays)
    tmp.replace(path)


def run_batch(row, j, seed, weights, cnn):
    """Samples batch j of the row; returns its contribution to the row's statistics."""
    model, sampler, steps, w = row
    t0 = time.time()
    classes = np.repeat(np.arange(10, dtype=np.int32), BATCH // 10)
    x = jax.random.normal(jax.random.fold_in(jax.random.PRNGKey(seed), j), (BATCH, 1, 28, 28), jnp.float32)
    xs = np.asarray(sample_batch(sampler, steps, weights[model], x, jnp.asarray(classes), w,
                                 jax.random.fold_in(jax.random.PRNGKey(seed + 1), j)))
    f, lg = cnn_features(cnn, np.clip((xs + 1.0) / 2.0, 0.0, 1.0))
    pred = lg.argmax(1)
    return {"n": BATCH, "correct": np.bincount(classes[pred == classes], minlength=10),
            "nonfinite": int((~np.isfinite(xs.reshape(BATCH, -1)).all(1)).sum()), "sum": f.sum(0),
            "outer": f.T @ f, "wall_s": time.time() - t0}


def merge(state, part):
    for k, v in part.items():
        state[k] = state[k] + v


def tasks(stages, rows):
    """The (row name, batch index) pairs still to run, in plan order."""
    scheduled = {}
    for names, n in stages:
        for name in names:
            first = scheduled.get(name, rows.setdefault(name, empty_state())["n"] // BATCH)
            for j in range(first, n // BATCH):
                yield name, j
            scheduled[name] = max(first, n // BATCH)


def stats_of(state):
    n = state["n"]
    mu = state["sum"] / n
    return mu, (state["outer"] - n * np.outer(mu, mu)) / (n - 1)


def floor(n, seed, train_feats, test_stats):
    v = [frechet(stats(train_feats[np.random.default_rng(seed + k).choice(len(train_feats), n, replace=False)]),
                 test_stats) for k in range(FLOOR_DRAWS)]
    return float(np.mean(v)), float(np.std(v, ddof=1))


def record(name, state, test_stats, floor_of):
    model, sampler, steps, w = NAMES[name]
    n = state["n"]
    fl = floor_of(n)
    return {"name": name, "model": model, "sampler": sampler, "steps": steps,
            "eta": 0.0 if sampler == "ddim" else None, "guidance": w, "count": n,
            "accuracy": float(state["correct"].sum() / n),
            "accuracy_per_class": [float(c / (n // 10)) for c in state["correct"]],
            "fd": round(frechet(stats_of(state), test_stats), 4), "floor_fd": round(fl[0], 4),
            "floor_fd_sd": round(fl[1], 4), "nonfinite_samples": state["nonfinite"],
            "wall_s": round(state["wall_s"], 1)}


def markdown(doc):
    lines = ["| model | sampler | steps | guidance | N | CNN accuracy | FD to test | floor (train, same N) | JAX wall |",
             "|---|---|---|---|---|---|---|---|---|"]
    order = {row_name(*r): i for i, r in enumerate(ALL_ROWS)}
    for r in sorted(doc["rows"], key=lambda r: order.get(r["name"], 99)):
        lines.append(f"| {r['model']} | {r['sampler']} | {r['steps']} | {r['guidance']:g} | {r['count']} |"
                     f" {100 * r['accuracy']:.1f}% | {r['fd']:.2f} | {r['floor_fd']:.2f} ± {r['floor_fd_sd']:.2f} |"
                     f" {r['wall_s']:.0f} s |")
    return "\n".join(lines) + "\n"


NAMES = {row_name(*r): r for r in ALL_ROWS}
DEFAULT_ROWS = "ddpm-ddim50-g3,flow-euler20-g3"
FAST_ROWS = ",".join(row_name(*r) for r in ALL_ROWS if r[1] != "ddpm")
SLOW_ROWS = ",".join(row_name(*r) for r in ALL_ROWS if r[1] == "ddpm")
DEFAULT_PLAN = f"{FAST_ROWS}:1000;{DEFAULT_ROWS}:10000;{SLOW_ROWS}:200;{SLOW_ROWS}:1000;{FAST_ROWS},{SLOW_ROWS}:10000"


def parse_plan(text):
    stages = []
    for part in text.split(";"):
        rows, _, n = part.rpartition(":")
        names = [s.strip() for s in rows.split(",") if s.strip()]
        bad = [s for s in names if s not in NAMES]
        if bad or not n.isdigit() or int(n) % BATCH:
            raise SystemExit(f"bad plan stage {part!r}: rows must be of {list(NAMES)}, N a multiple of {BATCH}")
        stages.append((names, int(n)))
    return stages


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--plan", default=DEFAULT_PLAN, help="stages ROW,ROW:N separated by ';' (default: see the doc)")
    ap.add_argument("--minutes", type=float, default=None, help="stop after the batch that crosses this budget")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=2,
                    help="batches sampled at once, in threads (one XLA CPU execution keeps about one core busy)")
    ap.add_argument("--state", default=str(ROOT / "scripts/diffusion_quality_state.npz"))
    ap.add_argument("--out", default=str(ROOT / "scripts/diffusion_quality_table.json"))
    ap.add_argument("--md", default=None, help="also write the markdown table here")
    args = ap.parse_args()
    stages = parse_plan(args.plan)
    if args.workers < 1:
        raise SystemExit(f"--workers must be at least 1, not {args.workers}")

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
    floors = {}

    def floor_of(n):
        if n not in floors:
            floors[n] = floor(n, args.seed, train_f, test_stats)
        return floors[n]

    state_path, out = pathlib.Path(args.state), pathlib.Path(args.out)
    rows = load_state(state_path)

    def publish():
        doc = {"doc": "scripts/diffusion_quality_table.py: JAX samplers of scripts/diffusion_mnist_model.py;"
                      " accuracy = share of samples the MNIST CNN classifies as the class asked for; fd = Fréchet"
                      " distance of the CNN's 128-d penultimate features to those of the 10 000 test images"
                      " (float64); floor_fd = the same for N random training images, mean (and sd) over"
                      f" {FLOOR_DRAWS} draws; N/10 samples per class; wall_s = the sum of the JAX sampling times of the row's"
                      " batches (which overlap when several are sampled at once)",
               "framework": f"jax {jax.__version__}", "cnn_test_accuracy": test_acc, "seed": args.seed,
               "batch": BATCH, "rows": [record(name, rows[name], test_stats, floor_of) for name in NAMES
                                if name in rows and rows[name]["n"] > 1]}
        out.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n")
        if args.md:
            pathlib.Path(args.md).write_text(markdown(doc))
        return doc

    targets = collections.defaultdict(list)  # each row's N at the end of every stage it is in
    for names, n in stages:
        for name in names:
            targets[name].append(n)
    todo, running = tasks(stages, rows), collections.deque()
    with concurrent.futures.ThreadPoolExecutor(args.workers) as pool:
        while True:
            while len(running) < args.workers and (args.minutes is None or time.time() - t0 <= 60 * args.minutes):
                task = next(todo, None)
                if task is None:
                    break
                running.append((task, pool.submit(run_batch, NAMES[task[0]], task[1], args.seed, weights, cnn)))
            if not running:
                break
            (name, _), future = running.popleft()
            state = rows[name]
            merge(state, future.result())
            save_state(state_path, rows)
            goal = next((n for n in targets[name] if n >= state["n"]), targets[name][-1])
            print(f"{name}: {state['n']}/{goal}, accuracy {100 * state['correct'].sum() / state['n']:.1f}%,"
                  f" {state['wall_s']:.0f} s", flush=True)
            if state["n"] in targets[name]:
                publish()
    if next(todo, None) is not None:
        print("time budget spent", flush=True)
    print(markdown(publish()), flush=True)


if __name__ == "__main__":
    main()
