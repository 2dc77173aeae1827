"""Activation memory kept for the backward: ReGELU2 / ReSiLU2 (2-bit codes, packed four per
byte) against GELU / SiLU (which save their float input), plus forward+backward time.

    python benchmarks/activation_memory.py                  # ViT-B MLP activation, float32
    python benchmarks/activation_memory.py --shape 8 197 3072 --dtype float64 --rounds 5
    MINIGRAD_BACKEND=cupy python benchmarks/activation_memory.py

"Saved bytes" is what the op's graph node holds for its backward (the arrays in
``ctx.saved_tensors``), read off the node after the forward: the memory the paper's
method removes from fine-tuning (Yang et al. 2024, "Reducing Fine-Tuning Memory Overhead by
Approximate and Memory-Sharing Backpropagation"). Times are medians over ``--rounds`` of one
forward and one backward (sum of outputs as the loss).

Results (2026-12-06, this project's development machine: 2 vCPUs, NumPy backend; shape
(8, 197, 3072) = 4,841,472 elements, the MLP hidden activation of ViT-B at batch 8):

float32:
| op      | saved bytes | saved / element | vs its exact op | fwd+bwd ms |
|---------|------------:|----------------:|----------------:|-----------:|
| gelu    |  19,365,888 |          4.00 B |              1x |      273.7 |
| regelu2 |   1,210,368 |          0.25 B |   16.0x smaller |      156.8 |
| silu    |  19,365,888 |          4.00 B |              1x |      163.2 |
| resilu2 |   1,210,368 |          0.25 B |   16.0x smaller |      132.8 |

float64 (--rounds 3):
| op      | saved bytes | saved / element | vs its exact op | fwd+bwd ms |
|---------|------------:|----------------:|----------------:|-----------:|
| gelu    |  38,731,776 |          8.00 B |              1x |      319.8 |
| regelu2 |   1,210,368 |          0.25 B |   32.0x smaller |      225.3 |
| silu    |  38,731,776 |          8.00 B |              1x |      253.6 |
| resilu2 |   1,210,368 |          0.25 B |   32.0x smaller |      187.6 |

The saved bytes are exact (they follow from the storage layout: ⌈N/4⌉ bytes of codes);
the timings are single-machine medians and vary from run to run.
"""
import argparse
import statistics
import time

import numpy as np

import minigrad as mg
from minigrad import F

OPS = [("gelu", F.gelu), ("regelu2", F.regelu2), ("silu", F.silu), ("resilu2", F.resilu2)]


def saved_bytes(y):
    """Bytes held by the graph node that made ``y`` for its backward."""
    return sum(int(a.nbytes) for a in y._node.ctx.saved_tensors if hasattr(a, "nbytes"))


def measure(shape, dtype, rounds):
    rng = np.random.default_rng(0)
    data = rng.standard_normal(shape).astype(dtype)
    rows = []
    for name, fn in OPS:
        x = mg.tensor(data, requires_grad=True)
        y = fn(x)
        nbytes = saved_bytes(y)
        del y
        times = []
        for _ in range(rounds):
            x.grad = None
            t0 = time.perf_counter()
            fn(x).sum().backward()
            float(x.grad.sum().numpy())          # synchronise (GPU)
            times.append(time.perf_counter() - t0)
        rows.append((name, nbytes, nbytes / data.size, 1e3 * statistics.median(times)))
    return rows


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--shape", type=int, nargs="+", default=[8, 197, 3072])
    p.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    p.add_argument("--rounds", type=int, default=5)
    args = p.parse_args(argv)
    rows = measure(tuple(args.shape), args.dtype, args.rounds)
    exact = {name: b for name, b, _, _ in rows}
    print(f"shape {tuple(args.shape)} ({int(np.prod(args.shape)):,} elements), {args.dtype}, "
          f"backend {mg.current_backend().name}")
    print("| op      | saved bytes | saved / element | vs its exact op | fwd+bwd ms |")
    print("|---------|------------:|----------------:|----------------:|-----------:|")
    for name, b, per, ms in rows:
        ref = exact["gelu" if "gelu" in name else "silu"]
        ratio = "1x" if b == ref else f"{ref / b:.1f}x smaller"
        print(f"| {name:7s} | {b:11,d} | {per:13.2f} B | {ratio:>15s} | {ms:10.1f} |")
    return rows


if __name__ == "__main__":
    main()
