"""Train the digits MLP (and, with --model cnn, the small digits CNN) with every activation
minigrad implements that fits as a hidden-layer nonlinearity (same seed, same weights at
the start, same budget) and compare final loss, test accuracy and time.

    python examples/compare_activations.py               # MLP table on stdout, plot in examples/out/
    python examples/compare_activations.py --model cnn   # the CNN of compare_normalizations.py
    python examples/compare_activations.py --quick       # a few steps each (used by the tests)

The list comes from minigrad's registry (every op of kind "activation"): an activation whose
Module builds with no argument (ReLU, GELU, Mish...) is compared as is, one that needs
arguments gets a recipe in RECIPES, and the ones that are not hidden-layer nonlinearities
(softmax-like normalizers, attention normalizers, a classifier head, a capsule squash) are
listed in EXCLUDED with the reason. A newly registered activation is compared as soon as it
builds with no argument; otherwise the script names it and asks for a recipe. The measured
table of a full run is in examples/README.md.
"""
import argparse
import os

import minigrad as mg
from minigrad import nn, registry
from minigrad.gradcheck import unavailable
from minigrad.layers.activations.structured import siren_init_

from common import Timer, accuracy, report, train

HIDDEN = 128      # MLP width; CNN widths 16, 16, 32

# Registered activations that are not a hidden-layer nonlinearity, and why.
EXCLUDED = {
    "softmax": "normalizes over an axis into a distribution (output layer / attention)",
    "log_softmax": "normalizes over an axis (the log-probabilities of an output layer)",
    "logsumexp": "a reduction over an axis (one value per row), not a layer",
    "entmax": "a sparse softmax: maps a row to a probability distribution",
    "sa_softmax": "a softmax variant for attention scores (rows become distributions)",
    "relu_attention": "an attention normalizer: acts on attention scores (…, L, S)",
    "rela_attention": "an attention normalizer: needs attention scores and values",
    "relu_classifier": "a classifier head (ReLU output layer), not a hidden nonlinearity",
    "squash": "a capsule vector nonlinearity: rescales each whole capsule vector by a "
              "function of its norm (direction kept), not a per-unit hidden nonlinearity",
}


def _sine_init(linears):
    """SIREN: first layer U(±1/n), hidden sine layers U(±√(6/n)/ω₀) (ω₀ = 30)."""
    with mg.no_grad():
        for i, layer in enumerate(linears):
            siren_init_(layer.weight, is_first=(i == 0), omega_0=30.0)


# How a registered activation with constructor arguments is built for c features
# (c = the hidden width of the MLP, the channels of the CNN). "widen": the layer before it
# emits widen·c features (GLU halves them, maxout takes the max of 2 pieces). "init": a
# function of the layers before each activation (SIREN's initialisation for sine).
RECIPES = {
    "gelu_tanh": dict(make=lambda c: nn.GELU(approximate="tanh")),
    "glu": dict(make=lambda c: nn.GLU(dim=1), widen=2),
    "maxout": dict(make=lambda c: nn.Maxout(2, dim=1), widen=2),
    "group_sort": dict(make=lambda c: nn.GroupSort(2, dim=1)),
    # learnable per-feature (per-channel) parameters
    "prelu": dict(make=lambda c: nn.PReLU(c)),
    "apa": dict(make=lambda c: nn.APA(c)),
    "aglu": dict(make=lambda c: nn.AGLU(c)),
    "crrelu": dict(make=lambda c: nn.CRReLU(c)),
    "partial_linear_unit": dict(make=lambda c: nn.PartialLinearUnit(c)),
    "sau": dict(make=lambda c: nn.SAU(c)),
    "swish": dict(make=lambda c: nn.Swish(c)),
    "matrix_activation": dict(make=lambda c: nn.MatrixActivation(c)),
    "householder_activation": dict(make=lambda c: nn.HouseholderActivation(c)),
    "dapa_poly_relu": dict(make=lambda c, shape=None: nn.DapaPolyReLU(shape or (c,)),
                           needs_shape=True),
    # SIREN: sin(30·x) with its own initialisation of the layers before it
    "sine": dict(make=lambda c: nn.Sine(w0=30.0), init=_sine_init),
}


def activation_entries():
    """The registered activations by name (sigmoid and tanh are primitives too: take the
    activation entry, which carries the Module)."""
    return {e.name: e for e in registry.entries(kind="activation")}


def recipe(name):
    """The recipe of a registered activation: its entry in RECIPES, or its Module built with
    no argument. None when neither exists."""
    if name in RECIPES:
        return RECIPES[name]
    module = activation_entries()[name].module
    if module is None:
        return None
    try:
        module()
    except TypeError:
        return None
    return dict(make=lambda c: module())


def _act(r, c, shape):
    return r["make"](c, shape) if r.get("needs_shape") else r["make"](c)


def mlp(r):
    """64 → 128 → act → 128 → act → 10, the Linear layers built first (so every activation
    starts from the same weights under the same seed)."""
    w = r.get("widen", 1)
    linears = [nn.Linear(64, w * HIDDEN), nn.Linear(HIDDEN, w * HIDDEN), nn.Linear(HIDDEN, 10)]
    if "init" in r:
        r["init"](linears[:2])
    acts = [_act(r, HIDDEN, (HIDDEN,)) for _ in range(2)]
    return nn.Sequential(linears[0], acts[0], linears[1], acts[1], linears[2])


def cnn(r, width=16):
    """conv-act ×2 (8×8), max-pool, conv-act (4×4), global average, classifier (the CNN of
    compare_normalizations.py without normalization)."""
    w = r.get("widen", 1)
    convs = [nn.Conv2d(1, w * width, 3, padding=1), nn.Conv2d(width, w * width, 3, padding=1),
             nn.Conv2d(width, w * 2 * width, 3, padding=1)]
    head = nn.Linear(2 * width, 10)
    if "init" in r:
        r["init"](convs)
    shapes = [(width, 8, 8), (width, 8, 8), (2 * width, 4, 4)]
    acts = [_act(r, s[0], s) for s in shapes]
    return nn.Sequential(convs[0], acts[0], convs[1], acts[1], nn.MaxPool2d(2),
                         convs[2], acts[2], nn.AdaptiveAvgPool2d(1), nn.Flatten(), head)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", choices=["mlp", "cnn"], default="mlp")
    ap.add_argument("--steps", type=int, default=600, help="Adam steps per activation")
    ap.add_argument("--only", default=None,
                    help="comma-separated activation names: train only these")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "out"))
    ap.add_argument("--quick", action="store_true", help="5 steps each (used by the tests)")
    args = ap.parse_args(argv)
    steps = 5 if args.quick else args.steps

    entries = activation_entries()
    registered = list(entries)
    if args.only:
        wanted = args.only.split(",")
        unknown = [n for n in wanted if n not in entries]
        if unknown:
            raise SystemExit(f"not registered activations: {unknown}")
        registered = [n for n in registered if n in wanted]
    recipes, missing = {}, []
    for name in registered:
        if name in EXCLUDED:
            continue
        r = recipe(name)
        if r is None:
            missing.append(name)
        else:
            recipes[name] = r
    if missing:
        print(f"not compared (no recipe, and the Module needs arguments): {missing}: add "
              "them to RECIPES or, if they are not hidden-layer nonlinearities, to EXCLUDED")

    image = args.model == "cnn"
    x, y, x_test, y_test = mg.data.load_digits(seed=args.seed, image_shape=image)
    build = cnn if image else mlp
    backend = mg.current_backend().name
    results = {}
    for name, r in recipes.items():
        reason = unavailable(entries[name], backend)
        if reason:
            print(f"{name}: skipped: {reason}")
            continue
        mg.manual_seed(args.seed)
        model = build(r)
        optimizer = mg.optim.Adam(model.parameters(), lr=2e-3)
        with Timer() as t:
            losses = train(model, optimizer, x, y, steps, batch_size=64, seed=args.seed, desc=name)
        results[name] = dict(losses=losses, acc=accuracy(model, x_test, y_test), seconds=t.seconds)

    print("excluded (not hidden-layer nonlinearities):")
    for name in registered:
        if name in EXCLUDED:
            print(f"  {name}: {EXCLUDED[name]}")
    report(results, f"digits {args.model.upper()}, {steps} Adam steps (lr 2e-3), batch 64, "
                    f"seed {args.seed}, backend {backend}", "activation", args.out,
           f"compare_activations_{args.model}.png")


if __name__ == "__main__":
    main()
