"""Train one MLP on the scikit-learn digits with every optimizer minigrad implements (same
seed, same budget) and compare final loss, test accuracy and time; loss curves go to a PNG.

    python examples/compare_optimizers.py            # table on stdout, plot in examples/out/
    python examples/compare_optimizers.py --quick    # a few steps each

The list comes from minigrad's registry: every registered optimizer that is an update
rule for a model's parameters; schedules, clipping, averaging and the centre-loss updater
are not.
"""
import argparse
import inspect
import os


import minigrad as mg
from minigrad import nn, registry
from minigrad.optim import Optimizer

from common import Timer, accuracy, report, train

# Learning rates in each method's usual range for a small MLP (other options: defaults).
SETTINGS = {"sgd": dict(lr=0.1, momentum=0.9), "sgd_nesterov": dict(lr=0.1), "adam": dict(lr=1e-3),
            "amsgrad": dict(lr=1e-3), "adamw": dict(lr=1e-3), "adagrad": dict(lr=0.05),
            "rmsprop": dict(lr=1e-3), "adadelta": dict(lr=1.0), "lars": dict(lr=1.0),
            "lamb": dict(lr=1e-2),
            "muon": dict(lr=0.02, momentum=0.95, adamw_lr=3e-3),
            "spam": dict(lr=1e-3), "stable_spam": dict(lr=1e-3),
            "momo": dict(lr=1.0, beta=0.9), "momo_adam": dict(lr=1e-2),
            "ranger21": dict(num_iterations=1500, lr=1e-3),
            "galore_projection": dict(lr=1e-2, rank=16, update_proj_gap=200, scale=0.25),
            "sgdw": dict(lr=0.1, momentum=0.9, weight_decay=5e-4),
            "adamp": dict(lr=1e-3, weight_decay=1e-2),
            "sgdp": dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-5),
            "diffgrad": dict(lr=1e-3), "adabound": dict(lr=1e-3, final_lr=0.1),
            "amsbound": dict(lr=1e-3, final_lr=0.1), "swats": dict(lr=1e-3),
            "adagrad_norm": dict(lr=1.0),
            # samplers, not minimizers: they draw from exp(-loss/T); a small temperature T
            # (cold posterior) keeps the chain near the minima so the MLP still trains
            "sgld": dict(lr=0.2, temperature=1e-5),
            "sghmc": dict(lr=0.01, alpha=0.1, temperature=1e-5),
            "hmc": dict(lr=2e-3, num_leapfrog=10, temperature=1e-4),
            # GCR recipe; the MLP has no subspace head (geometry=None), so this is its SGD part
            "grassmann_rsgd": dict(lr=0.1, momentum=0.9, weight_decay=1e-4),
            # Normalized LR+GD sees only the batch-mean loss here (one "sample": β = 1/(1 − e^-f))
            "normalized_lr_gd": dict(lr=0.1),
            "beta_normalized_gd": dict(lr=0.5),           # β = 1: normalized GD
            "npg_igt": dict(lr=1.0),                      # γ_t = 2γ/(t + 2), η_t = (2/(t + 2))^0.8
            "optimistic_omd": dict(lr=1.0, adaptive=True),  # η_t = 1/√(1 + Σ‖g_s − g_{s−1}‖²)
            # one tensor (block) per step, GSL rule, step 1/L_b with L_b = 5 for every block
            "greedy_bcd": dict(blocks="params", lipschitz=5.0),
            # DOT with the task loss only (no teacher here): SGD with momentum (0.825+0.975)/2;
            # mdistiller CIFAR-100 recipe lr 0.05, weight decay 5e-4
            "dot_distillation_trainer": dict(lr=0.05, weight_decay=5e-4),
            "sam": dict(lr=0.1, momentum=0.9)}


def is_update_rule(fn):
    """An ``Optimizer`` for a model's parameters (not the centre-loss updater, which takes centres)."""
    return (inspect.isclass(fn) and issubclass(fn, Optimizer)
            and next(iter(inspect.signature(fn).parameters)) == "params")


def mlp():
    return nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, 10))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "out"))
    ap.add_argument("--quick", action="store_true", help="5 steps each (used by the tests)")
    args = ap.parse_args(argv)
    steps = 5 if args.quick else args.steps

    rules = [e for e in registry.entries(kind="optimizer") if is_update_rule(e.fn)]
    missing = [e.name for e in rules if e.name not in SETTINGS]
    if missing:
        raise SystemExit(f"no settings for registered optimizer(s) {missing}: add them to SETTINGS")
    x, y, x_test, y_test = mg.data.load_digits(seed=args.seed)
    results = {}
    for entry in rules:
        mg.manual_seed(args.seed)
        model = mlp()
        optimizer = entry.fn(model.parameters(), **SETTINGS[entry.name])
        with Timer() as t:
            losses = train(model, optimizer, x, y, steps, batch_size=64, seed=args.seed,
                           desc=entry.name)
        results[entry.name] = dict(losses=losses, acc=accuracy(model, x_test, y_test), seconds=t.seconds)

    families = {e.name: e.fn.__module__.rsplit(".", 1)[-1] for e in rules}
    settings = {name: ", ".join(f"{k}={v}" for k, v in SETTINGS[name].items()) for name in results}
    report(results, f"digits MLP 64-128-128-10, {steps} steps, batch 64, seed {args.seed}, "
                    f"backend {mg.current_backend().name}", "optimizer", args.out,
           "compare_optimizers.png", extra=settings, families=families)

if __name__ == "__main__":
    main()
