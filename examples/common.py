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
