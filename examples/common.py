"""Small pieces the example scripts share: accuracy, the training loop, and a timer."""
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
