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


def report(results, title, label, out_dir, filename, extra=None):
    """Print a table (final loss = mean of the last 50 steps, test accuracy, time) of
    ``results`` ({name: dict(losses, acc, seconds)}) and save the loss curves as a PNG.
    ``extra`` maps a name to one more column of text (the settings used, say)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    print(title)
    width = max(len(label), *(len(n) for n in results))
    extra_width = max((len(v) for v in (extra or {}).values()), default=0)
    print(f"{label:{width}} {'':{extra_width}} {'final loss':>10} {'test acc':>9} {'time (s)':>9}")
    for name, r in results.items():
        final = np.mean(r["losses"][-min(50, len(r["losses"])):])
        print(f"{name:{width}} {(extra or {}).get(name, ''):{extra_width}} {final:10.4f} "
              f"{100 * r['acc']:8.1f}% {r['seconds']:9.1f}")

    os.makedirs(out_dir, exist_ok=True)
    fig, ax = plt.subplots(figsize=(8, 5))
    for name, r in results.items():
        k = max(1, min(25, len(r["losses"]) // 10))
        ax.plot(np.convolve(r["losses"], np.ones(k) / k, mode="valid"), label=name)
    ax.set(xlabel="step", ylabel="training loss (moving average)", yscale="log", title=title)
    ax.legend(ncol=2)
    path = os.path.join(out_dir, filename)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    print(f"plot saved to {path}")
