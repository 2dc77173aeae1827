"""Fit a two-layer network built from minigrad primitives to y = sin(3x) + noise.

Nothing but tensors, operators and backward(): the parameters are plain tensors
updated by hand with gradient descent. Runs in about a second on a CPU.

    python examples/fit_tiny_model.py            # prints the loss every 200 steps
    MINIGRAD_BACKEND=cupy python examples/fit_tiny_model.py
"""
import argparse

import numpy as np

import minigrad as mg


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--quick", action="store_true", help="a few steps only (used by the tests)")
    args = ap.parse_args()
    steps = 20 if args.quick else args.steps

    rng = np.random.default_rng(0)
    x_np = rng.uniform(-1, 1, (256, 1))
    y_np = np.sin(3 * x_np) + 0.05 * rng.standard_normal((256, 1))
    x, y = mg.tensor(x_np, dtype="float32"), mg.tensor(y_np, dtype="float32")

    hidden = 32
    w1 = mg.tensor(rng.standard_normal((1, hidden)), dtype="float32", requires_grad=True)
    b1 = mg.zeros(hidden, requires_grad=True)
    w2 = mg.tensor(rng.standard_normal((hidden, 1)) / np.sqrt(hidden), dtype="float32", requires_grad=True)
    b2 = mg.zeros(1, requires_grad=True)
    params = [w1, b1, w2, b2]

    lr = 0.1
    for step in range(steps + 1):
        prediction = mg.tanh(x @ w1 + b1) @ w2 + b2
        loss = ((prediction - y) ** 2).mean()
        for p in params:
            p.grad = None
        loss.backward()
        with mg.no_grad():
            for p in params:
                p -= lr * p.grad
        if step % 200 == 0 or step == steps:
            print(f"step {step:5d}  mse {loss.item():.4f}")
    return loss.item()


if __name__ == "__main__":
    main()
