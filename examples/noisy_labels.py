"""Train the digits MLP on labels with symmetric noise (a fixed seed) with cross-entropy and
with each noise-robust loss minigrad implements, on the same budget, and compare the balanced
accuracy on the clean test labels.

    python examples/noisy_labels.py                 # 40% symmetric noise; table, plot in examples/out/
    python examples/noisy_labels.py --noise 0.8     # another noise rate
    python examples/noisy_labels.py --seeds 3       # mean ± sd over seeds 0-2 (README table)
    python examples/noisy_labels.py --quick         # a few steps each (used by the tests)

Noise as the APL code makes it (HanxunH/Active-Passive-Losses ``dataset.py``, symmetric):
int(int(rate·n)/10) training samples of each class get a label drawn uniformly from the 9
other classes, so a fraction ``rate`` of the training labels is wrong; the test labels stay
clean. Each loss takes the hyperparameters of its APL MNIST symmetric-noise configuration
(``configs/mnist/sym/*.yaml``: the α, β, scales, q and γ there) or, for losses APL does not
run, of its own paper. Training is shared: the digits MLP, Adam lr 1e-3 (as the other digits
examples), batch 128, the gradient norm clipped at 5 (APL's ``grad_bound``), 150 epochs
(1,800 steps). APL's own optimizer (SGD-Nesterov lr 0.01, weight decay 1e-2, cosine, 50
epochs) is sized for MNIST's 469 steps per epoch: on the digits' 12 per epoch it leaves the
bounded losses far from trained (in 50 epochs: CE 84%, GCE 26%, MAE 13% balanced accuracy).

Each loss is an entry of RECIPES (the registry names it needs, how to build the criterion
with its recommended settings). Entries whose loss is not registered are printed by name and
skipped. The measured table of a full run is in examples/README.md.
"""
import argparse
from collections import namedtuple

import numpy as np

import minigrad as mg
from minigrad import nn
from minigrad.layers.losses import robust_dro

from common import (Timer, add_recipe_arguments, balanced_accuracy, mean_over_seeds,
                    report_losses, runnable_recipes, train_criterion)

F = mg.functional
NUM_CLASSES = 10

Recipe = namedtuple("Recipe", "needs family settings build")


def fixed(fn):
    """A criterion without state: ``fn(logits, target)``."""
    return lambda ctx: (lambda z, t, index, epoch: fn(z, t))


def apl(active, passive, **kw):
    """An Active-Passive Loss with the APL MNIST weights α = 1, β = 10."""
    return fixed(lambda z, t: F.active_passive_loss(z, t, active, passive, alpha=1.0, beta=10.0,
                                                    **kw))


def aldr_kl(ctx):
    """ALDR-KL keeps one temperature per training sample, updated at each visit."""
    loss = robust_dro.ALDRKLLoss(ctx["num_samples"], lambda_ref=10.0, alpha=2.0, margin=0.1,
                                 logit_norm="l1")
    return lambda z, t, index, epoch: loss(z, t, index)


# name -> Recipe(registry names needed, family, settings shown in the table, build(ctx) ->
# criterion(logits, target, index, epoch)). APL MNIST symmetric-noise configs unless noted.
RECIPES = {
    "ce": Recipe(("cross_entropy",), "baseline", "",
                 fixed(lambda z, t: F.cross_entropy(z, t))),
    # FocalLoss γ = 0.5 (APL configs/mnist/sym/focal.yaml)
    "focal": Recipe(("softmax_focal_loss",), "baseline", "γ=0.5",
                    fixed(lambda z, t: F.softmax_focal_loss(z, t, gamma=0.5))),
    # GCE q = 0.7 (Zhang & Sabuncu 2018; APL gce.yaml)
    "gce": Recipe(("gce_loss",), "robust", "q=0.7",
                  fixed(lambda z, t: F.gce_loss(z, t, q=0.7))),
    # SCE α = 0.01, β = 1 (APL sce.yaml for MNIST)
    "sce": Recipe(("reverse_ce_loss",), "robust", "α=0.01 β=1",
                  fixed(lambda z, t: F.reverse_ce_loss(z, t, variant="sce", alpha=0.01, beta=1.0))),
    "rce": Recipe(("reverse_ce_loss",), "robust", "",
                  fixed(lambda z, t: F.reverse_ce_loss(z, t))),
    "mae": Recipe(("mae_prob_loss",), "robust", "",
                  fixed(lambda z, t: F.mae_prob_loss(z, t))),
    # the normalized losses alone: NCE scale 10, NFL scale 1 γ = 0.5, NGCE scale 10 q = 0.1
    "nce": Recipe(("normalized_ce_loss",), "normalized", "scale=10",
                  fixed(lambda z, t: 10.0 * F.normalized_ce_loss(z, t))),
    "nfl": Recipe(("normalized_focal_loss",), "normalized", "γ=0.5",
                  fixed(lambda z, t: F.normalized_focal_loss(z, t, gamma=0.5))),
    "ngce": Recipe(("normalized_gce_loss",), "normalized", "scale=10 q=0.1",
                   fixed(lambda z, t: 10.0 * F.normalized_gce_loss(z, t, q=0.1))),
    # Active-Passive Losses, α = 1, β = 10 on MNIST (APL nce+rce.yaml, ...)
    "nce+rce": Recipe(("active_passive_loss",), "APL", "α=1 β=10", apl("nce", "rce")),
    "nce+mae": Recipe(("active_passive_loss",), "APL", "α=1 β=10", apl("nce", "mae")),
    "nfl+rce": Recipe(("active_passive_loss",), "APL", "α=1 β=10 γ=0.5", apl("nfl", "rce", gamma=0.5)),
    "nfl+mae": Recipe(("active_passive_loss",), "APL", "α=1 β=10 γ=0.5", apl("nfl", "mae", gamma=0.5)),
    "ngce+rce": Recipe(("active_passive_loss",), "APL", "α=1 β=10 q=0.1", apl("ngce", "rce", q=0.1)),
    "ngce+mae": Recipe(("active_passive_loss",), "APL", "α=1 β=10 q=0.1", apl("ngce", "mae", q=0.1)),
    # LDR-KL: margin 0.1, λ = 10, softplus normalisation (Optimization-AI/ICML2023_LDR defaults);
    # ALDR-KL: λ₀ = 10, α = 2, margin 0.1, l1 normalisation (its ALDRLoss_V1)
    "ldr_kl": Recipe(("ldr_kl_loss",), "label DRO", "c=0.1 λ=10",
                     fixed(lambda z, t: F.ldr_kl_loss(z, t, margin=0.1, lambd=10.0))),
    "aldr_kl": Recipe(("aldr_kl_loss",), "label DRO", "c=0.1 λ₀=10 α=2", aldr_kl),
    # smoothing and logit penalties, each with its own paper's default: label smoothing 0.1
    # (Szegedy et al.), Poly-1 ε = 1 (Leng et al.), MbLS m = 10 λ = 0.1, ACLS (its paper's
    # α = 0.1, λ_pos = 1, λ_neg = 0.1, M = 10), MaxSup α = 0.1, Squentropy (no parameter)
    "label_smoothing": Recipe(("label_smoothing_ce",), "smoothing", "ε=0.1",
                              fixed(lambda z, t: F.label_smoothing_ce(z, t, smoothing=0.1))),
    "poly1": Recipe(("poly_loss",), "smoothing", "ε=1",
                    fixed(lambda z, t: F.poly_loss(z, t, epsilon=1.0))),
    "squentropy": Recipe(("squentropy_loss",), "smoothing", "",
                         fixed(lambda z, t: F.squentropy_loss(z, t))),
    "mbls": Recipe(("mbls_loss",), "smoothing", "m=10 λ=0.1",
                   fixed(lambda z, t: F.mbls_loss(z, t, margin=10.0, alpha=0.1))),
    "acls": Recipe(("acls_loss",), "smoothing", "α=0.1 M=10",
                   fixed(lambda z, t: F.acls_loss(z, t, alpha=0.1, pos_lambda=1.0, neg_lambda=0.1,
                                                  margin=10.0))),
    "maxsup": Recipe(("maxsup_loss",), "smoothing", "α=0.1",
                     fixed(lambda z, t: F.maxsup_loss(z, t, alpha=0.1))),
}

# Registered losses of the same family that this table leaves out, and why.
NOT_COMPARED = {
    "comp_sum_loss": "τ ∈ (1, 2] is GCE with q = τ − 1 (the gce row); τ < 1 is not a robust loss",
    "adv_comp_sum_loss": "robustness to input perturbations (a PGD inner maximum), not to "
                         "label noise",
    "spherical_z_loss": "its a, b are tuned per task in its paper; no setting to take for "
                        "the digits",
    "ensloss": "a binary-margin loss (y ∈ {−1, +1}); the digits have 10 classes",
    "batch_perceptron_loss": "a binary-margin loss (y ∈ {−1, +1}); the digits have 10 classes",
    "spectral_risk_loss": "an aggregation of per-sample losses that up-weights the largest "
                          "(the noisy samples); not a noise-robust loss",
}


def mlp():
    return nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(),
                         nn.Linear(128, NUM_CLASSES))


def symmetric_noise(y, rate, seed):
    """APL's symmetric noise: int(int(rate·n)/C) samples of each class, chosen without
    replacement, get a label drawn uniformly from the other C − 1 classes."""
    rng = np.random.default_rng(seed)
    noisy = y.copy()
    per_class = int(int(rate * len(y)) / NUM_CLASSES)
    for c in range(NUM_CLASSES):
        members = np.flatnonzero(y == c)
        for i in rng.choice(members, min(per_class, len(members)), replace=False):
            noisy[i] = rng.choice([k for k in range(NUM_CLASSES) if k != c])
    return noisy


def run(name, noise, epochs, seed, max_steps=None):
    """Train one recipe on the digits of split ``seed`` with noise drawn from ``seed``;
    returns dict(acc, recall, seconds, losses) on the clean test labels."""
    x, y_clean, x_test, y_test = mg.data.load_digits(seed=seed)
    y = symmetric_noise(y_clean, noise, seed)
    mg.manual_seed(seed)
    model = mlp()
    criterion = RECIPES[name].build(dict(num_samples=len(y)))
    optimizer = mg.optim.Adam(model.parameters(), lr=1e-3)
    with Timer() as t:
        losses = train_criterion(model, optimizer, x, y, criterion, epochs, batch_size=128,
                                 seed=seed, desc=f"{name} (seed {seed})", clip_norm=5.0,
                                 max_steps=max_steps)
    acc, recall = balanced_accuracy(model, x_test, y_test)
    return dict(losses=losses, acc=acc, recall=recall, seconds=t.seconds)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--noise", type=float, default=0.4, help="symmetric noise rate (0.4)")
    ap.add_argument("--epochs", type=int, default=150)
    add_recipe_arguments(ap, "split, noise, init, order")
    args = ap.parse_args(argv)
    if not 0.0 <= args.noise < 1.0:
        ap.error(f"--noise must be in [0, 1), got {args.noise}")
    runnable = runnable_recipes(ap, args, RECIPES, NOT_COMPARED)
    seeds = range(args.seed, args.seed + args.seeds)
    for seed in seeds:
        x, y_clean, x_test, _ = mg.data.load_digits(seed=seed)
        y = symmetric_noise(y_clean, args.noise, seed)
        print(f"seed {seed}: {len(y)} training samples, {100 * np.mean(y != y_clean):.1f}% of "
              f"their labels wrong; {len(x_test)} clean test samples")
    epochs, max_steps = (1, 3) if args.quick else (args.epochs, None)
    results = {name: mean_over_seeds([run(name, args.noise, epochs, seed, max_steps)
                                      for seed in seeds])
               for name in runnable}

    budget = f"{max_steps} steps" if args.quick else f"{epochs} epochs"
    seed_text = f"seed {args.seed}" if args.seeds == 1 else f"mean of seeds {seeds[0]}–{seeds[-1]}"
    report_losses(results, f"digits MLP, {100 * args.noise:.0f}% symmetric label noise, {budget} "
                           f"(Adam lr 1e-3, batch 128, clip 5), {seed_text}, "
                           f"backend {mg.current_backend().name}",
                  args.out, "noisy_labels.png",
                  settings={n: RECIPES[n].settings for n in results},
                  families={n: RECIPES[n].family for n in results})


if __name__ == "__main__":
    main()
