"""Train the digits MLP on a long-tailed subsample of the digits (exponential imbalance, a
fixed seed) with cross-entropy and with each long-tail loss minigrad implements, on the same
budget, and compare the balanced accuracy (mean per-class recall) on the test split.

    python examples/long_tail.py                    # imbalance 100; table, plot in examples/out/
    python examples/long_tail.py --imbalance 10     # another imbalance ratio
    python examples/long_tail.py --seeds 5          # mean ± sd over seeds 0-4 (README table)
    python examples/long_tail.py --quick            # a few steps each (used by the tests)

The imbalance is the one of the LDAM-DRW code (kaidic/LDAM-DRW ``imbalance_cifar.py``,
``imb_type='exp'``): class k keeps int(n_max·ρ^(−k/(C−1))) of its training samples (a seeded
choice), ρ = ``--imbalance``, n_max the smallest class size of the training split, so class 0
is the head and class 9 the tail (int(n_max/ρ) samples: with the digits' n_max ≈ 133 and
ρ = 100 that is one image, and the realised ratio is ≈ 133). The test split is left whole
(about 36 images per class); the balanced accuracy (mean per-class recall) is the accuracy a
class-balanced test set gives.

Training as LDAM-DRW's CIFAR recipe (``cifar_train.py``), shared by every loss: SGD momentum
0.9, lr 0.1 with a 5-epoch linear warm-up, ×0.01 after epoch 160 and ×0.0001 after 180 of
200, weight decay 2e-4, batch 128 (3 steps an epoch here: 600 steps in all); deferred
re-weighting (DRW) switches the class-balanced weights (β = 0.9999) on at epoch 160. LDAM
runs with the cosine classifier the official code uses with it (``NormedLinear``,
``use_norm=True``); the other losses with a plain linear head. The Distribution-Balanced
loss trains with the class-aware sampler of its code (its weights correct that sampler's
bias); ``ce+cas`` is CE with the same sampler. Each loss takes the hyperparameters of its paper's code (the table's settings column).

Each loss is an entry of RECIPES (the registry names it needs, how to build the criterion,
the head). Entries whose loss is not registered are printed by name and skipped. The
measured table of a full run is in examples/README.md.
"""
import argparse
from collections import namedtuple

import numpy as np

import minigrad as mg
from minigrad import nn

from common import (Timer, add_recipe_arguments, balanced_accuracy, mean_over_seeds,
                    report_losses, runnable_recipes, train_criterion)

F = mg.functional
NUM_CLASSES = 10
CB_BETA = 0.9999            # class-balanced weights (Cui et al. 2019), as LDAM-DRW uses them

Recipe = namedtuple("Recipe", "needs family settings build normed_head class_aware",
                    defaults=(False,))


def fixed(fn):
    """A criterion without state: ``fn(logits, target, ctx)``."""
    return lambda ctx: (lambda z, t, index, epoch: fn(z, t, ctx))


def vs_drw(ctx):
    """VS loss with DRW's class-balanced weights from ``drw_epoch`` on (Saddle-LongTail passes
    its ``per_cls_weights`` to ``VSLoss``)."""
    from minigrad.layers.losses.long_tail import class_balanced_weights
    weights = class_balanced_weights(ctx["counts"], CB_BETA)
    return lambda z, t, index, epoch: F.vs_loss(
        z, t, ctx["counts"], gamma=0.3, tau=1.0,
        weight=weights if epoch >= ctx["drw_epoch"] else None)


def drw(loss, **kw):
    """``drw_reweighting`` with the schedule's switch epoch (0: re-weighted from the start)."""
    def build(ctx):
        start = ctx["drw_epoch"] if kw.get("deferred", True) else 0
        return lambda z, t, index, epoch: F.drw_reweighting(
            z, t, ctx["counts"], epoch, drw_epoch=start, beta=CB_BETA, loss=loss,
            **{k: v for k, v in kw.items() if k != "deferred"})
    return build


# name -> Recipe(registry names needed, family, settings shown in the table, build(ctx) ->
# criterion(logits, target, index, epoch), cosine head?). ctx: the training class counts,
# the sample count and the DRW switch epoch.
RECIPES = {
    "ce": Recipe(("cross_entropy",), "baseline", "",
                 fixed(lambda z, t, c: F.cross_entropy(z, t)), False),
    # FocalLoss γ = 1 (LDAM-DRW / Saddle-LongTail cifar_train.py)
    "focal": Recipe(("softmax_focal_loss",), "baseline", "γ=1",
                    fixed(lambda z, t, c: F.softmax_focal_loss(z, t, gamma=1.0)), False),
    # CE with class-balanced weights throughout (LDAM-DRW's train_rule 'Reweight')
    "ce+cb": Recipe(("drw_reweighting",), "re-weighting", "β=0.9999 from epoch 0",
                    drw("ce", deferred=False), False),
    "ce+drw": Recipe(("drw_reweighting",), "re-weighting", "β=0.9999 from epoch 160",
                     drw("ce"), False),
    # CE with the class-aware sampler DB trains with (below): the sampler's share of DB's result
    "ce+cas": Recipe(("cross_entropy",), "re-sampling", "class-aware sampler (CAS)",
                     fixed(lambda z, t, c: F.cross_entropy(z, t)), False, True),
    # LDAM max_m = 0.5, s = 30, cosine head (kaidic/LDAM-DRW)
    "ldam": Recipe(("ldam_loss",), "margin", "max_m=0.5 s=30, cosine head",
                   fixed(lambda z, t, c: F.ldam_loss(z, t, c["counts"], max_m=0.5, s=30.0)), True),
    "ldam+drw": Recipe(("ldam_loss", "drw_reweighting"), "margin", "max_m=0.5 s=30 + DRW",
                       drw("ldam", max_m=0.5, s=30.0), True),
    # VS γ = 0.3, τ = 1 (val-iisc/Saddle-LongTail cifar_train.py defaults)
    "vs": Recipe(("vs_loss",), "logit adjustment", "γ=0.3 τ=1",
                 fixed(lambda z, t, c: F.vs_loss(z, t, c["counts"], gamma=0.3, tau=1.0)), False),
    "vs+drw": Recipe(("vs_loss", "drw_reweighting"), "logit adjustment", "γ=0.3 τ=1 + DRW",
                     vs_drw, False),
    # one-vs-all losses of long-tailed detection / multi-label recognition, one positive per row:
    # DB-Focal with the VOC-LT ResampleLoss settings (wutong16/DistributionBalancedLoss
    # configs/voc/LT_resnet50_pfc_DB.py, as LMPT), trained as there with class-aware sampling:
    # its re-balancing weights correct the sampler's bias. GOL with its logit clamp (−4, 10)
    "distribution_balanced": Recipe(("distribution_balanced_loss",), "one-vs-all",
                                    "α=0.1 β=10 μ=0.3 λ=5 κ=0.05 γ=2 + CAS",
                                    fixed(lambda z, t, c: F.distribution_balanced_loss(
                                        z, t, c["counts"], c["num_samples"])), False, True),
    "gumbel_optimized": Recipe(("gumbel_optimized_loss",), "one-vs-all", "clamp (−4, 10)",
                               fixed(lambda z, t, c: F.gumbel_optimized_loss(z, t)), False),
}


# Losses of the long-tail family that this single-label, train-from-scratch table leaves out
# (printed when registered), and why.
NOT_COMPARED = {
    "amarx_loss": "exemplar-free class-incremental learning: needs the stored feature statistics "
                  "(μ_k, Σ_k) of old classes",
    "lmpt_cse_loss": "needs class text-prompt embeddings of a vision-language model",
    "neural_collapse_reg": "a regularizer of the penultimate features added to a loss, not a "
                           "loss of the logits",
}


class ClassAwareSampler(mg.data.Sampler):
    """The class-aware sampler of wutong16/DistributionBalancedLoss (``ClassAwareSampler``,
    ``num_samples_cls=3``, ``reduce=4``): visit the classes in a cycle reshuffled at each
    round, take the next 3 samples of the visited class from its own reshuffled cycle;
    an epoch has int(max_k n_k·C/4) draws."""

    def __init__(self, labels, seed, per_visit=3, reduce=4):
        self.rng = np.random.default_rng(seed)
        self.members = [np.flatnonzero(labels == c) for c in np.unique(labels)]
        self.per_visit = per_visit
        self.num_samples = int(max(len(m) for m in self.members) * len(self.members) / reduce)
        self.class_cycle = self._cycle(np.arange(len(self.members)))
        self.member_cycles = [self._cycle(m) for m in self.members]

    def _cycle(self, items):
        while True:
            yield from self.rng.permutation(items).tolist()

    def __iter__(self):
        drawn = []
        while len(drawn) < self.num_samples:
            cycle = self.member_cycles[next(self.class_cycle)]
            drawn.extend(next(cycle) for _ in range(self.per_visit))
        return iter(drawn[:self.num_samples])

    def __len__(self):
        return self.num_samples


class NormedLinear(nn.Module):
    """Cosine classifier of LDAM-DRW (``NormedLinear``): normalize(h)·normalize(W) columnwise."""

    def __init__(self, in_features, out_features):
        super().__init__()
        self.weight = nn.Parameter(mg.rand(in_features, out_features) * 2 - 1)

    def forward(self, h):
        return F.l2_normalize(h, axis=1) @ F.l2_normalize(self.weight, axis=0)


def mlp(normed_head=False):
    body = [nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU()]
    head = NormedLinear(128, NUM_CLASSES) if normed_head else nn.Linear(128, NUM_CLASSES)
    return nn.Sequential(*body, head)


def long_tailed(y, imbalance, seed):
    """Row numbers of the LDAM-DRW exponential profile: class k keeps
    int(n_max·imbalance^(−k/(C−1))) samples (seeded choice), n_max the smallest class size."""
    rng = np.random.default_rng(seed)
    n_max = min(int(np.sum(y == c)) for c in range(NUM_CLASSES))
    keep = []
    for c in range(NUM_CLASSES):
        n = max(1, int(n_max * imbalance ** (-c / (NUM_CLASSES - 1))))
        keep.append(rng.permutation(np.flatnonzero(y == c))[:n])
    return np.sort(np.concatenate(keep))


def ldam_drw_schedule(optimizer, lr, epochs):
    """LDAM-DRW's ``adjust_learning_rate``: 5-epoch linear warm-up, ×0.01 after 80% of the
    epochs (160 of 200), ×0.0001 after 90% (180 of 200)."""
    def on_epoch(epoch):
        e = epoch + 1
        factor = (e / 5 if e <= 5 else 1e-4 if e > 0.9 * epochs else 1e-2 if e > 0.8 * epochs
                  else 1.0)
        for group in optimizer.param_groups:
            group["lr"] = lr * factor
    return on_epoch


def long_tailed_digits(imbalance, seed):
    """The training split of ``seed`` subsampled to the long tail, and the whole test split."""
    x_all, y_all, x_test, y_test = mg.data.load_digits(seed=seed)
    rows = long_tailed(y_all, imbalance, seed)
    return x_all[rows], y_all[rows], x_test, y_test


def run(name, imbalance, epochs, seed, max_steps=None):
    """Train one recipe on the long-tailed digits of ``seed``; returns dict(acc, recall,
    seconds, losses) on the test split."""
    x, y, x_test, y_test = long_tailed_digits(imbalance, seed)
    recipe = RECIPES[name]
    ctx = dict(counts=np.bincount(y, minlength=NUM_CLASSES).astype(np.float64),
               num_samples=len(y), drw_epoch=int(round(0.8 * epochs)))
    mg.manual_seed(seed)
    model = mlp(recipe.normed_head)
    criterion = recipe.build(ctx)
    optimizer = mg.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=2e-4)
    with Timer() as t:
        losses = train_criterion(model, optimizer, x, y, criterion, epochs, batch_size=128,
                                 seed=seed, desc=f"{name} (seed {seed})",
                                 on_epoch=ldam_drw_schedule(optimizer, 0.1, epochs),
                                 max_steps=max_steps,
                                 sampler=ClassAwareSampler(y, seed) if recipe.class_aware else None)
    acc, recall = balanced_accuracy(model, x_test, y_test)
    return dict(losses=losses, acc=acc, recall=recall, seconds=t.seconds)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--imbalance", type=float, default=100.0, help="n_max/n_min (100)")
    ap.add_argument("--epochs", type=int, default=200)
    add_recipe_arguments(ap, "split, subsample, init, order")
    args = ap.parse_args(argv)
    if not args.imbalance >= 1:
        ap.error(f"--imbalance must be >= 1, got {args.imbalance}")
    runnable = runnable_recipes(ap, args, RECIPES, NOT_COMPARED)
    seeds = range(args.seed, args.seed + args.seeds)
    for seed in seeds:
        _, y, _, y_test = long_tailed_digits(args.imbalance, seed)
        counts = np.bincount(y, minlength=NUM_CLASSES)
        print(f"seed {seed}: training counts per class {counts.tolist()} ({len(y)} samples, "
              f"imbalance {counts.max() / counts.min():.0f}); test counts "
              f"{np.bincount(y_test, minlength=NUM_CLASSES).tolist()}")
    epochs, max_steps = (1, 3) if args.quick else (args.epochs, None)
    results = {name: mean_over_seeds([run(name, args.imbalance, epochs, seed, max_steps)
                                      for seed in seeds])
               for name in runnable}

    budget = f"{max_steps} steps" if args.quick else f"{epochs} epochs"
    seed_text = f"seed {args.seed}" if args.seeds == 1 else f"mean of seeds {seeds[0]}–{seeds[-1]}"
    groups = {"head 0-2": [0, 1, 2], "mid 3-6": [3, 4, 5, 6], "tail 7-9": [7, 8, 9]}
    report_losses(results, f"digits MLP, long tail (imbalance {args.imbalance:g}), {budget} "
                           f"(SGD lr 0.1, LDAM-DRW schedule, batch 128), {seed_text}, "
                           f"backend {mg.current_backend().name}",
                  args.out, "long_tail.png", groups=groups,
                  settings={n: RECIPES[n].settings for n in results},
                  families={n: RECIPES[n].family for n in results})


if __name__ == "__main__":
    main()
