"""Train one small CNN on the scikit-learn digits with every normalization minigrad
implements (same seed, same budget) and compare final loss, test accuracy and time.

    python examples/compare_normalizations.py            # table on stdout, plot in examples/out/
    python examples/compare_normalizations.py --quick    # a few steps each

The list comes from minigrad's registry (every op of kind "normalization"), so a new
normalization is compared as soon as it is registered and given a recipe below.
"""
import argparse
import os


import minigrad as mg
from minigrad import nn, registry
from minigrad.layers import normalization as norms

from common import Timer, accuracy, report, train


class ChannelsLast(nn.Module):
    """Apply a normalization over the channel axis of an NCHW map (as ConvNeXt does)."""

    def __init__(self, norm):
        super().__init__()
        self.norm = norm

    def forward(self, x):
        return self.norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class CosineClassifier(nn.Module):
    """Logits s · cos(feature, class weight): both L2-normalized (NormFace / cosine classifier)."""

    def __init__(self, features, classes, scale=16.0):
        super().__init__()
        self.weight = nn.Parameter(mg.randn(classes, features) * 0.1)
        self.scale = scale

    def forward(self, h):
        return self.scale * (mg.functional.l2_normalize(h) @ mg.functional.l2_normalize(self.weight).T)


class PreNormBlock(nn.Module):
    """x + conv(relu(norm(x))): the normalization placed before the residual branch (Pre-LN)."""

    def __init__(self, channels):
        super().__init__()
        self.body = nn.NormResidual(nn.Sequential(nn.ReLU(), nn.Conv2d(channels, channels, 3, padding=1)),
                                    nn.GroupNorm(1, channels), placement="pre")

    def forward(self, x):
        return self.body(x)


def cnn(norm=None, weight_reparam=None, head=None, residual=False, width=16):
    """conv-norm-ReLU ×2 (8×8), max-pool, conv-norm-ReLU (4×4), global average, classifier."""
    norm = norm or (lambda c: nn.Identity())
    convs = [nn.Conv2d(1, width, 3, padding=1), nn.Conv2d(width, width, 3, padding=1),
             nn.Conv2d(width, 2 * width, 3, padding=1)]
    if weight_reparam is not None:
        for conv in convs:
            weight_reparam(conv)
    layers = [convs[0], norm(width), nn.ReLU(), convs[1], norm(width), nn.ReLU(), nn.MaxPool2d(2),
              convs[2], norm(2 * width), nn.ReLU()]
    if residual:
        layers.append(PreNormBlock(2 * width))
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), head(2 * width) if head else nn.Linear(2 * width, 10)]
    return nn.Sequential(*layers)


# How each registered normalization is placed in the CNN.
RECIPES = {
    "batch_norm": lambda: cnn(norm=nn.BatchNorm2d),
    "group_norm": lambda: cnn(norm=lambda c: nn.GroupNorm(4, c)),
    "instance_norm": lambda: cnn(norm=lambda c: nn.InstanceNorm2d(c, affine=True)),
    "layer_norm": lambda: cnn(norm=lambda c: ChannelsLast(nn.LayerNorm(c))),
    "rms_norm": lambda: cnn(norm=lambda c: ChannelsLast(nn.RMSNorm(c))),
    "weight_norm": lambda: cnn(weight_reparam=norms.apply_weight_norm),
    "spectral_norm": lambda: cnn(weight_reparam=norms.apply_spectral_norm),
    "l2_normalize": lambda: cnn(norm=nn.BatchNorm2d, head=lambda f: CosineClassifier(f, 10)),
    "norm_residual": lambda: cnn(norm=nn.BatchNorm2d, residual=True),
}

# Registered normalizations that do not act on a CNN's activations are compared in the
# example named here instead (a transformer on a sequence task, SPD or hyperbolic inputs...).
ELSEWHERE = {
}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "out"))
    ap.add_argument("--quick", action="store_true", help="5 steps each (used by the tests)")
    args = ap.parse_args(argv)
    steps = 5 if args.quick else args.steps

    registered = [e.name for e in registry.entries(kind="normalization")]
    missing = [n for n in registered if n not in RECIPES and n not in ELSEWHERE]
    if missing:
        raise SystemExit(f"no recipe for registered normalization(s) {missing}: add one to "
                         "RECIPES (or name the example that compares it in ELSEWHERE)")
    registered = [n for n in registered if n in RECIPES]
    x, y, x_test, y_test = mg.data.load_digits(seed=args.seed, image_shape=True)
    results = {}
    for name in ["none"] + registered:
        mg.manual_seed(args.seed)
        model = cnn() if name == "none" else RECIPES[name]()
        optimizer = mg.optim.Adam(model.parameters(), lr=2e-3)
        with Timer() as t:
            losses = train(model, optimizer, x, y, steps, batch_size=64, seed=args.seed, desc=name)
        results[name] = dict(losses=losses, acc=accuracy(model, x_test, y_test), seconds=t.seconds)

    report(results, f"digits CNN, {steps} Adam steps, batch 64, seed {args.seed}, "
                    f"backend {mg.current_backend().name}", "normalization", args.out,
           "compare_normalizations.png")

if __name__ == "__main__":
    main()
