"""Classify scikit-learn's bundled 8×8 digits with a small CNN with BatchNorm (target: ≥ 98%).

    python examples/digits_cnn.py
    python examples/digits_cnn.py --quick
"""
import argparse

import minigrad as mg
from minigrad import nn

from common import Timer, accuracy, train


def digits_cnn(channels=32):
    """Two conv-BN-ReLU blocks (8×8 → pool → 4×4), then a linear classifier."""
    return nn.Sequential(
        nn.Conv2d(1, channels, 3, padding=1), nn.BatchNorm2d(channels), nn.ReLU(),
        nn.Conv2d(channels, channels, 3, padding=1), nn.BatchNorm2d(channels), nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(channels, 2 * channels, 3, padding=1), nn.BatchNorm2d(2 * channels), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2 * channels, 10))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true", help="20 steps only (used by the tests)")
    args = ap.parse_args(argv)
    steps = 20 if args.quick else args.steps

    mg.manual_seed(args.seed)
    x, y, x_test, y_test = mg.data.load_digits(seed=args.seed, image_shape=True)
    model = digits_cnn()
    optimizer = mg.optim.Adam(model.parameters(), lr=2e-3)
    schedule = mg.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
    with Timer() as t:
        train(model, optimizer, x, y, steps, batch_size=64, seed=args.seed, desc="digits CNN",
              schedule=schedule)
    print(f"digits CNN: {steps} steps in {t.seconds:.1f} s; test accuracy {100 * accuracy(model, x_test, y_test):.1f}%")


if __name__ == "__main__":
    main()
