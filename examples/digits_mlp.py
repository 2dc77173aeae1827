"""Classify scikit-learn's bundled 8×8 handwritten digits with an MLP (target: ≥ 97% test accuracy).

    python examples/digits_mlp.py
    python examples/digits_mlp.py --quick
"""
import argparse

import minigrad as mg
from minigrad import nn

from common import Timer, accuracy, train


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true", help="30 steps only (used by the tests)")
    args = ap.parse_args(argv)
    steps = 30 if args.quick else args.steps

    mg.manual_seed(args.seed)
    x, y, x_test, y_test = mg.data.load_digits(seed=args.seed)
    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Dropout(0.1),
                          nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, 10))
    optimizer = mg.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=1e-4)
    schedule = mg.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
    with Timer() as t:
        train(model, optimizer, x, y, steps, batch_size=64, seed=args.seed, desc="digits MLP",
              schedule=schedule)
    print(f"digits MLP: {steps} steps in {t.seconds:.1f} s; test accuracy {100 * accuracy(model, x_test, y_test):.1f}%")


if __name__ == "__main__":
    main()
