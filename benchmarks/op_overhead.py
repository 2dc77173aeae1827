"""Per-op overhead of minigrad against PyTorch: the time one tiny op costs from Python, where
the arithmetic is negligible and the framework's bookkeeping is all that is measured.

    python benchmarks/op_overhead.py                  # each framework in its own process
    python benchmarks/op_overhead.py --rounds 9 --markdown

Cases, on float32 tensors: an elementwise product of two 10-element vectors and a matrix
product of two 8×8 matrices, each
- ``recorded``: the forward with an input that requires grad (the op is put on the tape),
- ``fwd+bwd``: that forward, then ``y.backward(g)`` with a fixed upstream gradient,
- ``no_grad``: the forward inside ``no_grad()`` (nothing recorded).
Each framework runs in a fresh process of its own (so one's allocator, thread pools and
garbage collector cannot disturb the other's), with one thread, in alternating rounds;
the table gives the median and the range (min–max) over the rounds, in µs per op.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

CASES = [(op, mode) for op in ("mul", "matmul") for mode in ("recorded", "fwd+bwd", "no_grad")]
SHAPES = {"mul": ((10,), (10,)), "matmul": ((8, 8), (8, 8))}


def _make_case(framework, op, mode):
    """A no-argument function that runs the case once."""
    import numpy as np
    rng = np.random.default_rng(0)
    sa, sb = SHAPES[op]
    a_np = rng.standard_normal(sa).astype(np.float32)
    b_np = rng.standard_normal(sb).astype(np.float32)
    if framework == "minigrad":
        import minigrad as lib
        a = lib.tensor(a_np, requires_grad=True)
        b = lib.tensor(b_np)
        no_grad = lib.no_grad
    else:
        import torch as lib
        lib.set_num_threads(1)
        a = lib.tensor(a_np, requires_grad=True)
        b = lib.tensor(b_np)
        no_grad = lib.no_grad
    f = (lambda x, y: x * y) if op == "mul" else (lambda x, y: x @ y)
    g = lib.ones(f(a, b).shape)
    if mode == "recorded":
        return lambda: f(a, b)
    if mode == "fwd+bwd":
        return lambda: f(a, b).backward(g)

    def forward_no_grad():
        with no_grad():
            return f(a, b)
    return forward_no_grad


def _time_alone(framework, op, mode, seconds):
    """µs per call of one case, in this process (called in a fresh subprocess)."""
    if framework == "minigrad":
        from threadpoolctl import threadpool_limits
        threadpool_limits(1)
    run = _make_case(framework, op, mode)
    for _ in range(200):
        run()
    n = 1000
    while True:
        start = time.perf_counter()
        for _ in range(n):
            run()
        elapsed = time.perf_counter() - start
        if elapsed > seconds / 4:
            break
        n *= 4
    n = max(n, int(n * seconds / elapsed))
    start = time.perf_counter()
    for _ in range(n):
        run()
    return (time.perf_counter() - start) / n * 1e6


def isolated_time(framework, op, mode, seconds):
    code = ("import sys; sys.path.insert(0, %r); import benchmarks.op_overhead as b; "
            "print(b._time_alone(%r, %r, %r, %r))" % (os.getcwd(), framework, op, mode, seconds))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    try:
        return float(out.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise RuntimeError(f"{framework} {op} {mode} failed:\n{out.stderr[-2000:]}") from None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=0.5, help="seconds per timed round")
    ap.add_argument("--op", nargs="*", choices=list(SHAPES), default=list(SHAPES))
    ap.add_argument("--mode", nargs="*", choices=["recorded", "fwd+bwd", "no_grad"],
                    default=["recorded", "fwd+bwd", "no_grad"])
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--json", help="also write the results to this file")
    args = ap.parse_args()
    try:
        import torch  # noqa: F401
        frameworks = ["minigrad", "pytorch"]
    except ImportError:
        frameworks = ["minigrad"]
    rows = []
    for op, mode in CASES:
        if op not in args.op or mode not in args.mode:
            continue
        times = {k: [] for k in frameworks}
        for _ in range(args.rounds):
            for k in frameworks:
                times[k].append(isolated_time(k, op, mode, args.seconds))
        row = {"op": op, "mode": mode}
        for k in frameworks:
            row[k] = statistics.median(times[k])
            row[k + "_range"] = (min(times[k]), max(times[k]))
        if "pytorch" in row:
            row["ratio"] = row["minigrad"] / row["pytorch"]
            row["ratio_range"] = (min(times["minigrad"]) / max(times["pytorch"]),
                                  max(times["minigrad"]) / min(times["pytorch"]))
        rows.append(row)
        print(_format(row, args.markdown), flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


def _format(r, markdown):
    mg, lo_hi = r["minigrad"], r["minigrad_range"]
    cells = [f"{r['op']} {r['mode']}", f"{mg:.1f} ({lo_hi[0]:.1f}–{lo_hi[1]:.1f})"]
    if "pytorch" in r:
        pt, pr = r["pytorch"], r["pytorch_range"]
        cells += [f"{pt:.1f} ({pr[0]:.1f}–{pr[1]:.1f})", f"{r['ratio']:.2f}"]
    return ("| " + " | ".join(cells) + " |") if markdown else "  ".join(f"{c:24}" for c in cells)


if __name__ == "__main__":
    main()
