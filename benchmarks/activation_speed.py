"""Forward+backward time of every registered elementwise activation against GELU (which has
a fused kernel), on the current backend.

    python benchmarks/activation_speed.py                       # (256, 1024) float32, best of 20
    python benchmarks/activation_speed.py --shape 64 4096 --repeats 50 --markdown
    MINIGRAD_BACKEND=cupy python benchmarks/activation_speed.py

The ops are read from the registry (``kind="activation"``), so a new row is timed as soon
as it is registered. Non-elementwise ops (normalisations over a row, maps that mix
channels) are skipped by the explicit ``NOT_ELEMENTWISE`` list, each with its reason.
Ops with required arguments get them from ``ARGUMENTS`` (per-channel parameters over the
1024 columns, axis 1, requiring a gradient as in training); an op that is neither listed
nor callable as ``fn(x)`` is reported as not timed, never silently dropped.

One timed call = forward, then backward with a fixed upstream gradient of ones (no sum
node in the timing), then a device synchronisation; the figure is the best of
``--repeats`` calls after ``--warmup`` untimed ones (Numba compiles on the first call).
"""
import argparse
import math
import time

import numpy as np

import minigrad as mg
from minigrad import registry
from minigrad.backends import current

NOT_ELEMENTWISE = {
    "softmax": "normalises each row (a reduction over the axis)",
    "log_softmax": "normalises each row (a reduction over the axis)",
    "logsumexp": "reduces the axis to one value",
    "sa_softmax": "normalises each row",
    "entmax": "projects each row onto the simplex (sort/bisection over the axis)",
    "glu": "gates one half of the axis with the other (output half the size)",
    "maxout": "max over groups of pieces (output smaller than the input)",
    "group_sort": "sorts groups of entries along an axis",
    "squash": "scales each vector by a function of its norm",
    "householder_activation": "reflects pairs of channels (a 2 × 2 map per pair)",
    "relu_attention": "attention normaliser over a row of scores",
    "rela_attention": "attention over scores and values (a matrix product)",
}


def _param(values):
    return mg.tensor(np.asarray(values, dtype=np.float32), requires_grad=True)


def _arguments(shape):
    """Extra arguments of the ops that need them, built for an input of ``shape``."""
    c = shape[1]
    rng = np.random.default_rng(1)
    return {
        "prelu": lambda: (_param(np.full(c, 0.25)),),
        "matrix_activation": lambda: (_param(np.tile([0.0, 1.0], (c, 1))),),
        "partial_linear_unit": lambda: (_param(np.zeros(c)),),
        "dapa_poly_relu": lambda: (_param(np.tile([[0.1], [0.5], [0.2]], (1, c))),
                                   mg.tensor(rng.random(shape[1:]) < 0.5)),
    }


def _sync():
    if current().name == "cupy":
        import cupy
        cupy.cuda.Device().synchronize()


def time_op(fn, x, extra, gy, repeats, warmup):
    best = math.inf
    for i in range(warmup + repeats):
        x.grad = None
        for p in extra:
            if isinstance(p, mg.Tensor):
                p.grad = None
        _sync()
        t0 = time.perf_counter()
        y = fn(x, *extra)
        y.backward(gy)
        _sync()
        if i >= warmup:
            best = min(best, time.perf_counter() - t0)
    return best


def measure(shape, repeats, warmup, names=None):
    rng = np.random.default_rng(0)
    x = mg.tensor(rng.standard_normal(shape).astype(np.float32), requires_grad=True)
    gy = mg.tensor(np.ones(shape, dtype=np.float32))
    args = _arguments(shape)
    rows, skipped, failed = [], [], []
    for e in registry.entries(kind="activation"):
        if names and e.name not in names and e.name != "gelu":
            continue
        if e.name in NOT_ELEMENTWISE:
            skipped.append((e.name, NOT_ELEMENTWISE[e.name]))
            continue
        extra = args[e.name]() if e.name in args else ()
        try:
            y = e.fn(x, *extra)
            if tuple(y.shape) != tuple(shape):
                raise ValueError(f"output shape {tuple(y.shape)} is not the input's")
            seconds = time_op(e.fn, x, extra, gy, repeats, warmup)
        except Exception as err:          # noqa: BLE001  (reported, not hidden)
            failed.append((e.name, f"{type(err).__name__}: {err}"))
            continue
        rows.append((e.catalog_id or "", e.name, seconds))
    gelu = next(s for _, n, s in rows if n == "gelu")
    rows = [(cid, n, s, s / gelu) for cid, n, s in rows]
    rows.sort(key=lambda r: r[3])
    return rows, skipped, failed


def render(rows, skipped, failed, shape, repeats, markdown):
    out = []
    head = f"backend {current().name}, float32 input {shape}, fwd+bwd, best of {repeats}"
    if markdown:
        out += [head, "", "| id | activation | fwd+bwd ms | / gelu |", "|---|---|---:|---:|"]
        out += [f"| {cid} | {n} | {1e3 * s:.3f} | {r:.2f} |" for cid, n, s, r in rows]
    else:
        out += [head, f"{'id':5} {'activation':24} {'ms':>9} {'/gelu':>7}"]
        out += [f"{cid:5} {n:24} {1e3 * s:9.3f} {r:7.2f}" for cid, n, s, r in rows]
    slow = [n for _, n, _, r in rows if r > 2]
    out += ["", f"more than 2x slower than gelu: {', '.join(slow) if slow else 'none'}"]
    if skipped:
        out += ["", "skipped (not elementwise):"] + [f"  {n}: {why}" for n, why in skipped]
    if failed:
        out += ["", "not timed (no arguments known for it, or it failed):"]
        out += [f"  {n}: {why}" for n, why in failed]
    return "\n".join(out)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--shape", type=int, nargs=2, default=[256, 1024])
    p.add_argument("--repeats", type=int, default=20)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--only", nargs="*", help="time only these ops (and gelu)")
    p.add_argument("--markdown", action="store_true")
    args = p.parse_args(argv)
    shape = tuple(args.shape)
    rows, skipped, failed = measure(shape, args.repeats, args.warmup, args.only)
    print(render(rows, skipped, failed, shape, args.repeats, args.markdown))


if __name__ == "__main__":
    main()
