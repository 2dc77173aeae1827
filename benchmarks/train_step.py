"""Training-step throughput of minigrad against PyTorch: same models, same batch, same
threads, same process, timed in alternating rounds.

    python benchmarks/train_step.py                 # all models, CPU, table on stdout
    python benchmarks/train_step.py --model mlp --rounds 10 --threads 1
    MINIGRAD_BACKEND=cupy python benchmarks/train_step.py   # GPU: PyTorch on CUDA
    MINIGRAD_BACKEND=cupy python benchmarks/train_step.py --batch 1024   # a large batch

    python benchmarks/train_step.py --inference     # forward passes only (eval, no_grad)
    python benchmarks/train_step.py --keep-freed-memory   # both processes keep freed memory

Models: (a) the MNIST-1D CNN, batch 100; (b) an MLP 784-512-512-10 with ReLU, batch 128;
(c) a small CNN on 3×32×32 (two conv-BN-ReLU blocks, max pool, linear), batch 64;
(d) a 2-layer pre-LN transformer encoder (d=128, 4 heads, GELU MLP of width 512) on
sequences of 64 tokens, classified from the mean token, batch 32.
One step = forward, cross-entropy, backward, SGD-with-momentum update, on synthetic data;
with ``--inference``, one forward pass in eval mode under ``no_grad``.
Peak memory is measured in a fresh subprocess per framework and model: the peak resident
memory of the training steps above the process's footprint once the framework is imported.
PyTorch is optional: without it, only minigrad's numbers are printed.
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

import numpy as np

MODELS = {"mnist1d_cnn": dict(batch=100, input=(1, 40), classes=10),
          "mlp": dict(batch=128, input=(784,), classes=10),
          "small_cnn": dict(batch=64, input=(3, 32, 32), classes=10),
          "transformer": dict(batch=32, input=(64, 128), classes=10)}


# ------------------------------------------------------------------ the models
def build_model(nn, name):
    """The benchmark model ``name`` built with ``nn`` (``minigrad.nn`` or ``torch.nn``:
    minigrad's layers take PyTorch's names and arguments, so one definition serves both)."""
    if name == "mnist1d_cnn":
        return nn.Sequential(nn.Conv1d(1, 25, 5, stride=2, padding=1), nn.ReLU(),
                             nn.Conv1d(25, 25, 3, stride=2, padding=1), nn.ReLU(),
                             nn.Conv1d(25, 25, 3, stride=2, padding=1), nn.ReLU(),
                             nn.Flatten(), nn.Linear(125, 10))
    if name == "mlp":
        return nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(),
                             nn.Linear(512, 10))
    if name == "small_cnn":
        return nn.Sequential(nn.Conv2d(3, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
                             nn.Conv2d(32, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
                             nn.MaxPool2d(2), nn.Flatten(), nn.Linear(32 * 16 * 16, 10))
    return _transformer_classifier(nn)


def _transformer_classifier(nn, d_model=128, heads=4, layers=2, classes=10):
    """Two pre-LN encoder layers (GELU MLP of width 4·d, no dropout) on (batch, seq, d)
    inputs, and a linear classifier on the mean token."""
    class MeanTokenClassifier(nn.Module):
        def __init__(self):
            super().__init__()
            layer = nn.TransformerEncoderLayer(d_model, heads, dim_feedforward=4 * d_model,
                                               dropout=0.0, activation="gelu",
                                               batch_first=True, norm_first=True)
            self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
            self.head = nn.Linear(d_model, classes)

        def forward(self, x):
            return self.head(self.encoder(x).mean(dim=1))
    return MeanTokenClassifier()


# ------------------------------------------------------------------ one step each
def make_minigrad_step(name, x_np, y_np, inference=False):
    import minigrad as mg
    model = build_model(mg.nn, name)
    opt = mg.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x, y = mg.tensor(x_np), mg.tensor(y_np)

    @mg.no_grad()
    def forward_only():
        return model(x)

    def step():
        opt.zero_grad()
        loss = mg.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    def sync():
        if x.backend == "cupy":
            import cupy
            cupy.cuda.Device().synchronize()
    if inference:
        model.eval()
        return forward_only, sync
    return step, sync


def make_torch_step(name, x_np, y_np, device, inference=False):
    import torch
    model = build_model(torch.nn, name).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x, y = torch.from_numpy(x_np).to(device), torch.from_numpy(y_np).to(device)
    loss_fn = torch.nn.functional.cross_entropy

    @torch.no_grad()
    def forward_only():
        return model(x)

    def step():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss

    def sync():
        if device == "cuda":
            torch.cuda.synchronize()
    if inference:
        model.eval()
        return forward_only, sync
    return step, sync


def synthetic_batch(name, seed=0, batch=None):
    """A batch of the model's input shape (``batch`` rows, default the model's own)."""
    spec = MODELS[name]
    batch = batch or spec["batch"]
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch,) + spec["input"]).astype(np.float32)
    y = rng.integers(0, spec["classes"], batch).astype(np.int64)
    return x, y


def steps_per_second(step, sync, n):
    sync()
    start = time.perf_counter()
    for _ in range(n):
        step()
    sync()
    return n / (time.perf_counter() - start)


# ------------------------------------------------------------------ isolated runs (subprocess)
def isolated_rate(framework, name, seconds, threads, batch=None, inference=False, keep=False):
    """Steps/s of ``framework`` in a fresh process of its own (no other framework loaded)."""
    code = ("import sys; sys.path.insert(0, %r); import benchmarks.train_step as b; "
            "print(b._rate_alone(%r, %r, %r, %d, %r, %r, %r))"
            % (os.getcwd(), framework, name, seconds, threads, batch, inference, keep))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    try:
        return float(out.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise RuntimeError(f"isolated {framework} run failed:\n{out.stderr[-2000:]}") from None


def _rate_alone(framework, name, seconds, threads, batch=None, inference=False, keep=False):
    if keep:
        keep_freed_memory()
    x, y = synthetic_batch(name, batch=batch)
    if framework == "minigrad":
        from threadpoolctl import threadpool_limits
        threadpool_limits(threads)
        step, sync = make_minigrad_step(name, x, y, inference)
    else:
        import torch
        torch.set_num_threads(threads)
        step, sync = make_torch_step(name, x, y, _torch_device(), inference)
    for _ in range(5):
        step()
    n = max(3, int(seconds * steps_per_second(step, sync, 3)))
    return steps_per_second(step, sync, n)


def keep_freed_memory():
    """``minigrad.keep_freed_memory()`` for this process, whichever framework it runs: the
    module is loaded from its file, so a PyTorch process does not import minigrad."""
    import importlib.util
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                        "minigrad", "backends", "host_memory.py")
    spec = importlib.util.spec_from_file_location("_host_memory", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.keep_freed_memory()


def _torch_device():
    """PyTorch runs where minigrad runs: CUDA under MINIGRAD_BACKEND=cupy, else the CPU."""
    backend = os.environ.get("MINIGRAD_BACKEND", "").strip().lower()
    return "cuda" if backend == "cupy" else "cpu"


# ------------------------------------------------------------------ memory (subprocess)
def peak_memory_mb(framework, name, steps, batch=None, inference=False, keep=False):
    """Growth of peak RSS over ``steps`` training steps, in a fresh process."""
    code = ("import sys; sys.path.insert(0, %r); import benchmarks.train_step as b; "
            "print(b._measure_memory(%r, %r, %d, %r, %r, %r))"
            % (os.getcwd(), framework, name, steps, batch, inference, keep))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    try:
        return float(out.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return float("nan")


def _measure_memory(framework, name, steps, batch=None, inference=False, keep=False):
    """Peak resident memory of ``steps`` training steps above the process's resident memory
    once the framework is imported (so the libraries themselves are not counted), in MB."""
    if keep:
        keep_freed_memory()
    if framework == "minigrad":
        import minigrad  # noqa: F401
    else:
        import torch  # noqa: F401
    with open("/proc/self/statm") as f:
        baseline_kb = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1024
    x, y = synthetic_batch(name, batch=batch)
    if framework == "minigrad":
        step, _ = make_minigrad_step(name, x, y, inference)
    else:
        step, _ = make_torch_step(name, x, y, "cpu", inference)
    for _ in range(steps):
        step()
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return (peak_kb - baseline_kb) / 1024.0


# ------------------------------------------------------------------ main
def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", choices=list(MODELS), nargs="*", default=list(MODELS))
    ap.add_argument("--rounds", type=int, default=7, help="alternating timing rounds")
    ap.add_argument("--seconds", type=float, default=1.0, help="target seconds per round")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--batch", type=int, help="batch size for every model (default: each "
                    "model's own, %s)" % ", ".join(f"{k} {v['batch']}" for k, v in MODELS.items()))
    ap.add_argument("--no-memory", action="store_true")
    ap.add_argument("--keep-freed-memory", action="store_true",
                    help="keep freed memory in every timed process, PyTorch's too "
                         "(minigrad.keep_freed_memory: glibc then reuses the freed arrays "
                         "instead of mapping fresh pages each step)")
    ap.add_argument("--inference", action="store_true",
                    help="time the forward pass only, in eval mode under no_grad, instead of "
                         "training steps")
    ap.add_argument("--isolate", action="store_true",
                    help="time each framework in a fresh process of its own (alternating runs) "
                         "instead of both in this one: the two thread pools then cannot disturb "
                         "each other")
    ap.add_argument("--json", help="also write the results to this file")
    args = ap.parse_args()
    if args.keep_freed_memory:
        keep_freed_memory()

    import minigrad as mg
    backend = mg.current_backend().name
    device = "cuda" if backend == "cupy" else "cpu"
    try:
        import torch
        torch.set_num_threads(args.threads)
    except ImportError:
        torch = None
    limiter = None
    try:
        from threadpoolctl import threadpool_limits
        limiter = threadpool_limits(args.threads)
    except ImportError:
        pass

    rows = []
    for name in args.model:
        frameworks = ["minigrad"] + (["pytorch"] if torch is not None else [])
        rates = {k: [] for k in frameworks}
        if args.isolate:
            for _ in range(args.rounds):
                for k in frameworks:
                    rates[k].append(isolated_rate(k, name, args.seconds, args.threads,
                                                  args.batch, args.inference,
                                                  args.keep_freed_memory))
        else:
            x, y = synthetic_batch(name, batch=args.batch)
            runners = {"minigrad": make_minigrad_step(name, x, y, args.inference)}
            if torch is not None:
                runners["pytorch"] = make_torch_step(name, x, y, device, args.inference)
            for step, sync in runners.values():   # warm up: kernels, caches, allocator
                for _ in range(5):
                    step()
            n = {k: max(3, int(args.seconds * steps_per_second(*r, 3))) for k, r in runners.items()}
            for _ in range(args.rounds):
                for k, r in runners.items():
                    rates[k].append(steps_per_second(*r, n[k]))
        row = {"model": name, "batch": args.batch or MODELS[name]["batch"],
               "inference": args.inference}
        for k in frameworks:
            row[f"{k}_steps_per_s"] = statistics.median(rates[k])
            row[f"{k}_rates"] = rates[k]
            if not args.no_memory and device == "cpu":
                row[f"{k}_peak_mb"] = peak_memory_mb(k, name, 20, args.batch, args.inference,
                                                     args.keep_freed_memory)
        if "pytorch" in frameworks:
            row["ratio"] = row["minigrad_steps_per_s"] / row["pytorch_steps_per_s"]
            # the spread of the ratio over rounds: each round's pair, in alternation
            ratios = [m / p for m, p in zip(rates["minigrad"], rates["pytorch"])]
            row["ratio_min"], row["ratio_max"] = min(ratios), max(ratios)
        rows.append(row)

    mode = "each in its own process" if args.isolate else "both in one process"
    what = "forward passes (eval, no_grad)" if args.inference else "training steps"
    if args.keep_freed_memory:
        what += ", freed memory kept (both frameworks)"
    print(f"backend {backend}, {args.threads} threads, {what}, median of {args.rounds} "
          f"alternating rounds, {mode}")
    print(f"{'model':12} {'batch':>5} {'minigrad steps/s':>17} {'pytorch steps/s':>16} "
          f"{'ratio':>6} {'ratio range':>12} {'minigrad MB':>12} {'pytorch MB':>11}")
    nan = float("nan")
    for r in rows:
        spread = f"{r.get('ratio_min', nan):.2f}–{r.get('ratio_max', nan):.2f}"
        print(f"{r['model']:12} {r['batch']:5d} {r['minigrad_steps_per_s']:17.1f} "
              f"{r.get('pytorch_steps_per_s', nan):16.1f} {r.get('ratio', nan):6.2f} "
              f"{spread:>12} {r.get('minigrad_peak_mb', nan):12.1f} "
              f"{r.get('pytorch_peak_mb', nan):11.1f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
    if limiter is not None:
        limiter.restore_original_limits()


if __name__ == "__main__":
    main()
