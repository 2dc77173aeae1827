"""Small pieces the example scripts share: accuracy, the training loop, a timer, and the
table and plot of the comparison scripts."""
import os
import time

import numpy as np
from tqdm import tqdm

import minigrad as mg


def accuracy(model, x, y, batch_size=500):
    """Fraction of ``x`` (a NumPy array) that ``model`` classifies as ``y``, in eval mode."""
    model.eval()
    correct = 0
    with mg.no_grad():
        for start in range(0, len(x), batch_size):
            logits = model(mg.tensor(x[start:start + batch_size]))
            correct += int((logits.argmax(axis=1).numpy() == y[start:start + batch_size]).sum())
    model.train()
    return correct / len(x)


def train(model, optimizer, x, y, steps, batch_size, seed=0, desc="training", schedule=None,
          shuffle=True):
    """Train with cross-entropy for ``steps`` steps (with a tqdm bar), on minibatches drawn
    in a new random order every epoch (``shuffle=True``) or in the data's own order.
    Returns the list of training losses, one per step.

    The step is written as ``optimizer.step(closure)``, PyTorch's form for optimizers that
    evaluate the loss more than once per step (SAM); for the others it is the same as
    ``zero_grad(); loss.backward(); step()``."""
    loader = mg.data.DataLoader(mg.data.TensorDataset(x, y), batch_size=batch_size,
                                shuffle=shuffle, drop_last=True, seed=seed)
    losses = []
    bar = tqdm(total=steps, desc=desc, leave=False)
    while len(losses) < steps:
        for xb, yb in loader:
            def closure():
                optimizer.zero_grad()
                loss = mg.functional.cross_entropy(model(xb), yb)
                loss.backward()
                return loss
            loss = optimizer.step(closure)
            if schedule is not None:
                schedule.step()
            losses.append(loss.item())
            bar.update(1)
            if len(losses) % 100 == 0:
                bar.set_postfix(loss=f"{np.mean(losses[-100:]):.3f}")
            if len(losses) == steps:
                break
    bar.close()
    return losses


class Timer:
    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start


def balanced_accuracy(model, x, y, batch_size=500):
    """Mean per-class recall of ``model`` on ``x`` (a NumPy array) in eval mode: the accuracy
    a class-balanced test set would give. Returns (balanced accuracy, {class: recall})."""
    model.eval()
    pred = []
    with mg.no_grad():
        for start in range(0, len(x), batch_size):
            pred.append(model(mg.tensor(x[start:start + batch_size])).argmax(axis=1).numpy())
    model.train()
    pred = np.concatenate(pred)
    recall = {int(c): float(np.mean(pred[y == c] == c)) for c in np.unique(y)}
    return float(np.mean(list(recall.values()))), recall


def train_criterion(model, optimizer, x, y, criterion, epochs, batch_size, seed=0,
                    desc="training", on_epoch=None, clip_norm=None, max_steps=None,
                    sampler=None):
    """Train for ``epochs`` passes over (x, y) (a new random order every epoch, or the
    order of ``sampler``; the last short batch kept) on ``criterion(logits, target, index,
    epoch)``: ``index`` holds the batch's row numbers in ``x`` (for losses with per-sample
    state, as ALDR-KL's temperatures), ``epoch`` counts from 0 (for schedules such as DRW).
    ``on_epoch(epoch)`` runs before each epoch (a learning-rate schedule); ``clip_norm``
    clips the gradient norm; ``max_steps`` stops early (the --quick runs). Returns the
    per-step losses."""
    loader = mg.data.DataLoader(mg.data.TensorDataset(x, y, np.arange(len(y))),
                                batch_size=batch_size, shuffle=sampler is None,
                                sampler=sampler, seed=seed)
    losses = []
    bar = tqdm(total=epochs * len(loader) if max_steps is None else max_steps, desc=desc,
               leave=False)
    for epoch in range(epochs):
        if on_epoch is not None:
            on_epoch(epoch)
        for xb, yb, ib in loader:
            optimizer.zero_grad()
            loss = criterion(model(xb), yb, ib, epoch)
            loss.backward()
            if clip_norm is not None:
                mg.optim.clip_grad_norm_(model.parameters(), clip_norm)
            optimizer.step()
            losses.append(loss.item())
            bar.update(1)
            if not np.isfinite(losses[-1]):
                raise FloatingPointError(f"{desc}: the training loss is {losses[-1]} at step "
                                         f"{len(losses)}")
            if max_steps is not None and len(losses) >= max_steps:
                bar.close()
                return losses
    bar.close()
    return losses


def split_recipes(recipes, kind="loss"):
    """Split a recipe table ({name: recipe with a ``needs`` tuple of registry names}) into
    the names whose every needed op is registered, in table order, and {name: [the needed
    ops that are not registered]}; prints the second part by name (never silently)."""
    from minigrad import registry
    known = {e.name for e in registry.entries(kind=kind)}
    missing = {name: [op for op in r.needs if op not in known] for name, r in recipes.items()}
    missing = {name: ops for name, ops in missing.items() if ops}
    for name, ops in missing.items():
        print(f"recipe {name}: not run, not registered (yet): {', '.join(ops)}")
    return [name for name in recipes if name not in missing], missing


def add_recipe_arguments(ap, seeded):
    """The arguments of a loss-recipe comparison (``noisy_labels.py``, ``long_tail.py``):
    --seed (``seeded`` names what it draws), --seeds, --only, --out, --quick."""
    ap.add_argument("--seed", type=int, default=0, help=f"first seed ({seeded})")
    ap.add_argument("--seeds", type=int, default=1, help="average over this many seeds")
    ap.add_argument("--only", nargs="*", help="run only these recipes")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "out"))
    ap.add_argument("--quick", action="store_true", help="3 steps each (used by the tests)")


def runnable_recipes(ap, args, recipes, not_compared):
    """The recipes ``--only`` picks that can run (``split_recipes``); an unknown name is an
    argument error, and each registered loss of ``not_compared`` is printed with its reason."""
    unknown = sorted(set(args.only or ()) - set(recipes))
    if unknown:
        ap.error(f"--only: no recipe named {unknown}; recipes: {list(recipes)}")
    runnable, _ = split_recipes({n: r for n, r in recipes.items()
                                 if not args.only or n in args.only})
    known = {e.name for e in mg.registry.entries(kind="loss")}
    for name, why in not_compared.items():
        if name in known:
            print(f"not compared: {name}: {why}")
    return runnable


def mean_over_seeds(runs):
    """One result from the runs of one recipe over several seeds (each a dict(acc, recall,
    seconds, losses)): the mean balanced accuracy and its standard deviation over the seeds
    (``acc_std``, with one seed: absent), the mean recall of each class, the mean time, and
    the first run's loss curve."""
    out = dict(acc=float(np.mean([r["acc"] for r in runs])),
               recall={c: float(np.mean([r["recall"][c] for r in runs])) for c in runs[0]["recall"]},
               seconds=float(np.mean([r["seconds"] for r in runs])), losses=runs[0]["losses"])
    if len(runs) > 1:
        out["acc_std"] = float(np.std([r["acc"] for r in runs], ddof=1))
    return out


def report_losses(results, title, out_dir, filename, settings=None, groups=None, families=None):
    """The table and plot of a loss comparison on a balanced test metric. ``results``:
    {name: dict(acc=balanced accuracy, recall={class: recall}, seconds, losses), optionally
    acc_std (see ``mean_over_seeds``)}. Columns: recipe, its settings (``settings``: {name:
    text}), balanced test accuracy (± its standard deviation over seeds), the mean
    recall of each class group (``groups``: {label: [classes]}, e.g. many/few-shot), the
    worst class's recall and the time. The PNG has the balanced accuracies as bars
    (coloured by ``families``: {name: family}) beside a recipes × classes recall map."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    settings, groups, families = settings or {}, groups or {}, families or {}
    names = list(results)
    print(title)
    if not results:
        print("no recipe could run: nothing to compare")
        return
    classes = sorted(next(iter(results.values()))["recall"])
    width = max([len("recipe")] + [len(n) for n in names])
    swidth = max([len(settings.get(n, "")) for n in names] + [0])
    spread = any("acc_std" in r for r in results.values())
    cols = ([f"{'bal. acc':>8}"] + ([f"{'± sd':>5}"] if spread else [])
            + [f"{g:>{max(6, len(g))}}" for g in groups] + [f"{'worst':>6}", f"{'time (s)':>8}"])
    print(f"{'recipe':{width}} {'':{swidth}} " + " ".join(cols))
    for n in names:
        r = results[n]
        row = [f"{100 * r['acc']:7.1f}%"] + ([f"{100 * r.get('acc_std', 0):5.1f}"] if spread else [])
        row += [f"{100 * np.mean([r['recall'][c] for c in cs]):{max(6, len(g)) - 1}.1f}%"
                for g, cs in groups.items()]
        row += [f"{100 * min(r['recall'].values()):5.1f}%", f"{r['seconds']:8.1f}"]
        print(f"{n:{width}} {settings.get(n, ''):{swidth}} " + " ".join(row))

    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, filename)
    fig, (bars, heat) = plt.subplots(1, 2, figsize=(13, 0.3 * len(names) + 1.8),
                                     gridspec_kw=dict(width_ratios=[1, 1.3]))
    fams = list(dict.fromkeys(families.get(n, "other") for n in names))
    colours = {f: plt.cm.tab10(i % 10) for i, f in enumerate(fams)}
    ys = np.arange(len(names))
    bars.barh(ys, [100 * results[n]["acc"] for n in names],
              xerr=[100 * results[n].get("acc_std", 0) for n in names],
              color=[colours[families.get(n, "other")] for n in names])
    bars.set_yticks(ys, names, fontsize=8)
    bars.invert_yaxis()
    bars.set(xlabel="balanced test accuracy (%)")
    fig.legend(handles=[matplotlib.patches.Patch(color=colours[f], label=f) for f in fams],
               fontsize=8, loc="lower center", ncol=len(fams), frameon=False)
    grid = np.array([[100 * results[n]["recall"][c] for c in classes] for n in names])
    im = heat.imshow(grid.reshape(len(names), len(classes)), aspect="auto", cmap="viridis",
                     vmin=0, vmax=100)
    heat.set_xticks(range(len(classes)), classes)
    heat.set_yticks(ys, names, fontsize=8)
    heat.set(xlabel="class", title="test recall per class (%)")
    fig.colorbar(im, ax=heat)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout(rect=(0, 0.35 / fig.get_figheight(), 1, 1))   # room for the legend
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    print(f"plot saved to {path}")


def report(results, title, label, out_dir, filename, extra=None, families=None):
    """Print a table (final loss = mean of the last 50 steps, test accuracy, time) of
    ``results`` ({name: dict(losses, acc, seconds)}) and save the loss curves as a PNG.
    ``extra`` maps a name to one more column of text (the settings used, say).

    ``families`` ({name: family}) is for many curves: the plot then has one small panel per
    family, on shared axes, and a second PNG (``*_ranked.png``) ranks every entry by test
    accuracy in one bar chart."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    print(title)
    width = max(len(label), *(len(n) for n in results))
    extra_width = max((len(v) for v in (extra or {}).values()), default=0)
    print(f"{label:{width}} {'':{extra_width}} {'final loss':>10} {'test acc':>9} {'time (s)':>9}")
    for name, r in results.items():
        print(f"{name:{width}} {(extra or {}).get(name, ''):{extra_width}} {_final(r):10.4f} "
              f"{100 * r['acc']:8.1f}% {r['seconds']:9.1f}")

    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, filename)
    if families is None:
        fig, ax = plt.subplots(figsize=(8, 5))
        _plot_curves(ax, results)
        ax.set(xlabel="step", ylabel="training loss (moving average)", title=title)
        ax.legend(ncol=2)
    else:
        fig = _small_multiples(plt, results, families, title)
        _ranked_bars(plt, results, title, os.path.splitext(path)[0] + "_ranked.png")
    fig.savefig(path, dpi=120, bbox_inches="tight")
    print(f"plot saved to {path}")


def _final(r):
    return float(np.mean(r["losses"][-min(50, len(r["losses"])):]))


def _plot_curves(ax, results):
    for name, r in results.items():
        k = max(1, min(25, len(r["losses"]) // 10))
        ax.plot(np.convolve(r["losses"], np.ones(k) / k, mode="valid"), label=name)
    ax.set_yscale("log")


def _small_multiples(plt, results, families, title):
    """One panel per family (in order of first appearance), shared log-scale axes."""
    groups = {}
    for name in results:
        groups.setdefault(families.get(name, "other"), []).append(name)
    ncols = min(4, len(groups))
    nrows = -(-len(groups) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4 * ncols, 3 * nrows), sharex=True,
                             sharey=True, squeeze=False)
    for ax, (family, names) in zip(axes.flat, groups.items()):
        _plot_curves(ax, {n: results[n] for n in names})
        ax.set_title(family, fontsize=10)
        ax.legend(fontsize=7)
    for ax in axes.flat[len(groups):]:
        ax.set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel("step")
    for ax in axes[:, 0]:
        ax.set_ylabel("training loss")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def _ranked_bars(plt, results, title, path):
    ranked = sorted(results, key=lambda n: (results[n]["acc"], -_final(results[n])))
    fig, ax = plt.subplots(figsize=(7, 0.22 * len(ranked) + 1.2))
    ax.barh(range(len(ranked)), [100 * results[n]["acc"] for n in ranked])
    ax.set_yticks(range(len(ranked)), ranked, fontsize=8)
    ax.set(xlabel="test accuracy (%)", title=title)
    ax.title.set_fontsize(9)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    print(f"ranking saved to {path}")
