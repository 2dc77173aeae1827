"""The learning-rate range test (Smith's "LR range test", fastai's ``lr_find``,
torch-lr-finder's ``LRFinder.range_test``): a short run with a growing learning rate that
shows where the loss still falls and where it blows up, to pick ``max_lr`` for ``OneCycleLR``
(and ``max_lr / div_factor`` as its start).

The run trains the real model with the real optimizer, one mini-batch per learning rate, and
puts both back as they were afterwards (weights, buffers, optimizer state and options).
"""
import math

from minigrad.autograd import no_grad
from minigrad.registry import register


def range_test_lrs(start_lr, end_lr, num_iter, step_mode="exp"):
    """The learning rates of the test, first = ``start_lr``, last = ``end_lr``:

        η_i = η_start·(η_end/η_start)^(i/(N − 1))     ``step_mode="exp"``
        η_i = η_start + (η_end − η_start)·i/(N − 1)   ``step_mode="linear"``

    (torch-lr-finder's ExponentialLR/LinearLR; N = ``num_iter``)."""
    if step_mode not in ("exp", "linear"):
        raise ValueError(f"lr_range_test: step_mode must be 'exp' or 'linear', got {step_mode!r}")
    if int(num_iter) != num_iter or num_iter < 2:
        raise ValueError(f"lr_range_test: num_iter must be an integer ≥ 2, got {num_iter}")
    if not 0 < start_lr < end_lr:
        raise ValueError(f"lr_range_test: need 0 < start_lr < end_lr, got start_lr={start_lr}, "
                         f"end_lr={end_lr}")
    n = int(num_iter)
    if step_mode == "exp":
        return [start_lr * (end_lr / start_lr) ** (i / (n - 1)) for i in range(n)]
    return [start_lr + (end_lr - start_lr) * i / (n - 1) for i in range(n)]


def smooth_losses(losses, beta=0.98):
    """Exponential moving average with bias correction (fastai's ``AvgSmoothLoss``):

        a_i = β·a_{i−1} + (1 − β)·ℓ_i,  a_{−1} = 0;     ℓ̄_i = a_i / (1 − β^(i+1))

    β = 0 returns the raw losses."""
    if not 0 <= beta < 1:
        raise ValueError(f"lr_range_test: beta must be in [0, 1), got {beta}")
    out, avg = [], 0.0
    for i, loss in enumerate(losses):
        avg = beta * avg + (1 - beta) * loss
        out.append(avg / (1 - beta ** (i + 1)))
    return out


def suggest_lr(lrs, losses, method="steepest", skip_start=10, skip_end=5):
    """The suggested lr from a recorded (lrs, smoothed losses) curve.

    ``"steepest"`` (torch-lr-finder): the lr where the loss falls fastest per step, the argmin
    of the centred difference (ℓ_{i+1} − ℓ_{i−1})/2 (one-sided at the ends) after dropping
    ``skip_start`` points at the start and ``skip_end`` at the end.
    ``"minimum"`` (fastai): the lr of the lowest loss divided by 10, the last lr at which the
    loss was still clearly falling.
    """
    if len(lrs) != len(losses):
        raise ValueError(f"suggest_lr: {len(lrs)} lrs but {len(losses)} losses")
    if method == "minimum":
        finite = [(loss, lr) for lr, loss in zip(lrs, losses) if math.isfinite(loss)]
        if not finite:
            raise ValueError("suggest_lr: no finite loss was recorded")
        return min(finite)[1] / 10
    if method != "steepest":
        raise ValueError(f"suggest_lr: method must be 'steepest' or 'minimum', got {method!r}")
    if skip_start < 0 or skip_end < 0:
        raise ValueError("suggest_lr: skip_start and skip_end must be ≥ 0")
    end = len(losses) - skip_end
    xs, ys = lrs[skip_start:end], losses[skip_start:end]
    if len(ys) < 2:
        raise ValueError(f"suggest_lr: need at least {skip_start + skip_end + 2} recorded points "
                         f"for method 'steepest' with these skips, got {len(losses)}")
    slopes = [ys[1] - ys[0]]
    slopes += [(ys[i + 1] - ys[i - 1]) / 2 for i in range(1, len(ys) - 1)]
    slopes.append(ys[-1] - ys[-2])
    finite = [s if math.isfinite(s) else math.inf for s in slopes]
    best = min(range(len(finite)), key=finite.__getitem__)
    return xs[best]


class LRRangeTestResult:
    """What ``lr_range_test`` recorded: ``lrs``, raw ``losses``, ``smoothed_losses``,
    ``best_loss`` (lowest smoothed loss) and ``diverged`` (stopped early)."""

    def __init__(self, lrs, losses, smoothed_losses, diverged):
        self.lrs, self.losses, self.smoothed_losses = list(lrs), list(losses), list(smoothed_losses)
        self.diverged = diverged
        finite = [s for s in self.smoothed_losses if math.isfinite(s)]
        self.best_loss = min(finite) if finite else math.nan

    def __repr__(self):
        return (f"LRRangeTestResult({len(self.lrs)} points, lr {self.lrs[0]:.3g} → "
                f"{self.lrs[-1]:.3g}, best loss {self.best_loss:.4g}, diverged={self.diverged})")

    def suggestion(self, method="steepest", skip_start=10, skip_end=5):
        """See ``suggest_lr`` (on the smoothed losses)."""
        return suggest_lr(self.lrs, self.smoothed_losses, method, skip_start, skip_end)

    def plot(self, ax=None, skip_start=10, skip_end=5, log_lr=True, suggest="steepest"):
        """Smoothed loss against lr (log axis) with the suggested lr marked; needs matplotlib.
        Returns the axes."""
        try:
            import matplotlib.pyplot as plt
        except ImportError as err:  # pragma: no cover - depends on the environment
            raise ImportError("LRRangeTestResult.plot needs matplotlib (pip install "
                              "matplotlib)") from err
        if ax is None:
            _, ax = plt.subplots()
        end = len(self.lrs) - skip_end
        ax.plot(self.lrs[skip_start:end], self.smoothed_losses[skip_start:end])
        if log_lr:
            ax.set_xscale("log")
        ax.set_xlabel("learning rate")
        ax.set_ylabel("loss (smoothed)")
        if suggest:
            try:
                lr = self.suggestion(suggest, skip_start, skip_end)
            except ValueError:
                lr = None
            if lr is not None:
                ax.axvline(lr, color="red", linestyle="--", label=f"{suggest}: {lr:.2e}")
                ax.legend()
        return ax


def _batches(data):
    """Cycle through ``data`` (re-iterating an iterable when it runs out, as
    torch-lr-finder's TrainDataLoaderIter)."""
    while True:
        empty = True
        for batch in data:
            empty = False
            yield batch
        if empty:
            raise ValueError("lr_range_test: the data yielded no batch")


def _snapshot(model):
    return {name: t.data.copy() for name, t in model.state_dict().items()}


def lr_range_test(model, optimizer, criterion, data, start_lr=1e-7, end_lr=10.0, num_iter=100,
                  step_mode="exp", beta=0.98, diverge_th=4.0, restore=True):
    """LR range test: train ``num_iter`` mini-batches at growing learning rates and record the
    loss, stopping when it diverges, then restore the model and the optimizer.

        η_i = η_start·(η_end/η_start)^(i/(N − 1))         (``step_mode="linear"``: a straight line)
        ℓ̄_i = EMA_β(ℓ_0..ℓ_i)/(1 − β^(i+1))               (bias-corrected smoothing)
        stop after step i if ℓ̄_i > ``diverge_th``·min_{j ≤ i} ℓ̄_j or ℓ̄_i is not finite

    Each step sets every group's lr to η_i, then ``zero_grad``, ``loss = criterion(model(x),
    y)``, ``loss.backward()``, ``optimizer.step()``; the recorded ℓ_i is the loss before that
    step. ``data`` yields ``(x, y)`` batches and is cycled when exhausted. Returns an
    ``LRRangeTestResult``: ``.suggestion()`` gives an lr (steepest descent of the smoothed curve,
    or ``method="minimum"``: the lr of the lowest loss / 10) and ``.plot()`` draws the curve
    (matplotlib). The paper's lr_max is where the loss stops falling; ``OneCycleLR`` then
    runs from lr_max/div_factor up to lr_max.

    Defaults: fastai's ``lr_find`` (start 1e-7, end 10, 100 steps, β = 0.98, stop at 4× the best
    loss); torch-lr-finder's lr grid (first = start, last = end) and argument names. With
    ``restore=False`` the model keeps the weights it reached.

    Paper: Smith 2018, "A disciplined approach to neural network hyper-parameters: Part 1 --
    learning rate, batch size, momentum, and weight decay" (the LR range test it reviews and
    uses to set the 1cycle bounds).
    """
    lrs = range_test_lrs(start_lr, end_lr, num_iter, step_mode)
    if not diverge_th > 1:
        raise ValueError(f"lr_range_test: diverge_th must be > 1, got {diverge_th}")
    if not 0 <= beta < 1:
        raise ValueError(f"lr_range_test: beta must be in [0, 1), got {beta}")
    weights = _snapshot(model) if restore else None
    opt_state = optimizer.state_dict() if restore else None
    recorded, raw, smoothed = [], [], []
    avg, best, diverged = 0.0, math.inf, False
    batches = _batches(data)
    try:
        for i, lr in enumerate(lrs):
            x, y = next(batches)
            for group in optimizer.param_groups:
                group["lr"] = lr
            optimizer.zero_grad()
            loss = criterion(model(x), y)
            loss.backward()
            optimizer.step()
            value = float(loss.item())
            avg = beta * avg + (1 - beta) * value
            smooth = avg / (1 - beta ** (i + 1))
            recorded.append(lr)
            raw.append(value)
            smoothed.append(smooth)
            best = min(best, smooth)
            if not math.isfinite(smooth) or smooth > diverge_th * best:
                diverged = True
                break
    finally:
        if restore:
            with no_grad():
                model.load_state_dict(weights)
            optimizer.load_state_dict(opt_state)
            optimizer.zero_grad()
    return LRRangeTestResult(recorded, raw, smoothed, diverged)


register(lr_range_test, kind="optimizer", check="state", catalog_id="O053",
         papers=["A disciplined approach to neural network hyper-parameters: Part 1 -- learning "
                 "rate, batch size, momentum, and weight decay"])
