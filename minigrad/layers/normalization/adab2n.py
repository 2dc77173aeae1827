"""AdaB²N, adaptive balance of BN statistics for continual learning (catalog N011):
``adab2n``, ``AdaB2N2d``. A drop-in BatchNorm whose training statistics weight each task
of the (current + replayed) batch by a learnable balance, and whose running statistics use
an adapted momentum. Formulas from lvyilin/AdaB2N models/utils/adab2n.py (with
models/er_ace_ada.py for how the per-sample task counts are made).
"""
import math

from minigrad.autograd import Function, no_grad
from minigrad.layers.module import Parameter
from minigrad.layers.normalization._util import as_dtype
from minigrad.layers.normalization.batch import _BatchNorm, _check_channels, _rows, batch_norm
from minigrad.ops._checks import check_floating
from minigrad.registry import Case, register
from minigrad.tensor import Tensor

__all__ = ["adab2n", "AdaB2N2d"]


class AdaB2NFn(Function):
    """AdaB²N's training forward (Lyu et al. 2023), with its statistics as extra outputs.

    Forward, x (N, C, L), task t(i) ∈ {0..T−1} of each sample, n_t = samples of task t in the
    batch, φ = the first T task logits:
        c_t = exp(φ_t) + n_t,  π_t = c_t/Σ_u c_u,  w_i = π_{t(i)}/n_{t(i)},
        μ_c = Σ_i w_i·mean_L x_ic,  σ²_c = Σ_i w_i·mean_L (x_ic − μ_c)²,
        y = γ·(x − μ)/√(σ² + ε) + β;   outputs (y, μ, σ²).
    Without tasks (``task is None``): w_i = 1/N, ordinary BatchNorm statistics.
    W = Σ_i w_i is 1 when every task 0..T−1 is in the batch, less otherwise (the code
    normalizes π over all T tasks).

    Backward, with upstream (dy, dμ, dσ²), ĝ = dy·γ, c = x − μ, r = 1/√(σ² + ε), sums over
    the batch per channel: through y, μ and σ² are read directly, so
        Gσ = dσ² − (r²/2)·Σ ĝ·(c r),   Gμ = dμ − r·Σ ĝ − 2ρ·Gσ,
    where ρ = Σ_k w_k·mean_L c_k = μ(1 − W) is ∂σ²/∂μ ÷ (−2). Then
        dx_ij = r·ĝ_ij + (w_i/L)·(Gμ + 2·Gσ·c_ij),
        dw_i = Σ_c (Gμ·mean_L x_ic + Gσ·mean_L c_ic²),
        dπ_t = Σ_{i: t(i)=t} dw_i/n_t,  dφ_k = (e^{φ_k}/Σc)·(dπ_k − Σ_t π_t dπ_t)
    (∂π_t/∂φ_k = (e^{φ_k}/Σc)(δ_tk − π_t)); dγ = Σ dy·(c r), dβ = Σ dy. For uniform w = 1/N
    this is BatchNorm's rule dx = r(ĝ − mean ĝ − x̂·mean(ĝ x̂)).
    """
    @staticmethod
    def forward(ctx, x, weight, bias, task_logits, task, num_tasks, eps):
        xp = ctx.xp
        x3 = _rows(x)
        N, C, L = x3.shape
        w, pi, counts, e = _sample_weights(xp, x.dtype, N, task_logits, task, num_tasks)
        xm = x3.mean(axis=2)                                   # (N, C)
        mu = (w[:, None] * xm).sum(axis=0)
        c = x3 - mu[None, :, None]
        c2m = (c * c).mean(axis=2)
        var = (w[:, None] * c2m).sum(axis=0)
        rstd = 1 / xp.sqrt(var + eps)
        y = c * rstd[None, :, None]
        if weight is not None:
            y = y * as_dtype(weight, x.dtype)[:, None]
        if bias is not None:
            y = y + as_dtype(bias, x.dtype)[:, None]
        ctx.save_for_backward(x, weight, task, mu, rstd, w)
        ctx.extra = (pi, counts, e, num_tasks)
        return y.reshape(x.shape), mu, var

    @staticmethod
    def backward(ctx, gy, gmu, gvar):
        x, weight, task, mu, rstd, w = ctx.saved_tensors
        pi, counts, e, T = ctx.extra
        xp = ctx.xp
        x3 = _rows(x)
        N, C, L = x3.shape
        gy3 = xp.zeros_like(x3) if gy is None else _rows(gy)
        gmu = xp.zeros_like(mu) if gmu is None else gmu
        gvar = xp.zeros_like(mu) if gvar is None else gvar
        c = x3 - mu[None, :, None]
        xhat = c * rstd[None, :, None]
        g = gy3 if weight is None else gy3 * as_dtype(weight, x.dtype)[:, None]
        G_var = gvar - 0.5 * rstd * rstd * (g * xhat).sum(axis=(0, 2))
        rho = mu * (1 - w.sum())
        G_mu = gmu - rstd * g.sum(axis=(0, 2)) - 2 * rho * G_var
        dx = (g * rstd[None, :, None]
              + (w / L)[:, None, None] * (G_mu[None, :, None] + 2 * G_var[None, :, None] * c))
        needs = ctx.needs_input_grad
        dweight = (gy3 * xhat).sum(axis=(0, 2)) if needs[1] else None
        dbias = gy3.sum(axis=(0, 2)) if needs[2] else None
        dphi = None
        if needs[3] and task is not None:
            dw = (G_mu[None, :] * x3.mean(axis=2) + G_var[None, :] * (c * c).mean(axis=2)).sum(axis=1)
            onehot = (task[:, None] == xp.arange(T)[None, :]).astype(x.dtype)     # (N, T)
            dpi = (onehot * dw[:, None]).sum(axis=0) / xp.maximum(counts, 1)
            dphi_T = e / (e + counts).sum() * (dpi - (pi * dpi).sum())
            dphi = xp.zeros(ctx.phi_shape, dtype=x.dtype)
            dphi[:T] = dphi_T
        return dx.reshape(x.shape), dweight, dbias, dphi, None, None, None

    @staticmethod
    def composite(x, weight, bias, task_logits, task, num_tasks, eps):
        from minigrad.backends import backend_of_array
        x3 = _rows(x)
        N, C, L = x3.shape
        xm = x3.mean(axis=2)                                   # (N, C)
        if task is None or num_tasks <= 1:
            mu = xm.mean(axis=0)
            c = x3 - mu.reshape(1, C, 1)
            var = (c * c).mean(axis=(0, 2))
        else:
            t = task.data if isinstance(task, Tensor) else task
            xp = backend_of_array(t).xp
            onehot = (t[:, None] == xp.arange(num_tasks)[None, :]).astype(x.dtype)
            counts = onehot.sum(axis=0)                        # constants of the task labels
            conc = as_dtype(task_logits, x.dtype)[:num_tasks].exp() + Tensor._wrap(counts)
            pi = conc / conc.sum()
            w = (Tensor._wrap(onehot) * (pi / Tensor._wrap(xp.maximum(counts, 1)))).sum(axis=1)
            mu = (w.reshape(N, 1) * xm).sum(axis=0)
            c = x3 - mu.reshape(1, C, 1)
            var = (w.reshape(N, 1) * (c * c).mean(axis=2)).sum(axis=0)
        y = c / (var.reshape(1, C, 1) + eps).sqrt()
        if weight is not None:
            y = y * as_dtype(weight, x.dtype).reshape(1, C, 1)
        if bias is not None:
            y = y + as_dtype(bias, x.dtype).reshape(1, C, 1)
        return y.reshape(x.shape), mu, var


def _sample_weights(xp, dtype, N, task_logits, task, T):
    """Per-sample weights w (N,), and (π, n, e^φ) over the first T tasks (None without tasks)."""
    if task is None or T <= 1:
        return xp.full((N,), 1.0 / N, dtype=dtype), None, None, None
    onehot = (task[:, None] == xp.arange(T)[None, :]).astype(dtype)
    counts = onehot.sum(axis=0)
    e = xp.exp(task_logits[:T].astype(dtype, copy=False))
    conc = e + counts
    pi = conc / conc.sum()
    w = (onehot * (pi / xp.maximum(counts, 1))).sum(axis=1)
    return w, pi, counts, e


def adab2n(x, running_mean, running_var, weight=None, bias=None, task_logits=None, task=None,
           current_task=0, training=False, eta=0.1, eps=1e-5, return_reg_loss=False):
    """AdaB²N: BatchNorm with task-balanced training statistics (continual learning).

    Training, after the first task (``current_task`` ≥ 1, ``task`` given), for the batch's
    samples (current + replayed) with task t(i) ≤ current_task and n_t samples of task t:
        c_t = exp(φ_t) + n_t,  π_t = c_t/Σ_u c_u,  w_i = π_{t(i)}/n_{t(i)},
        μ = Σ_i w_i·mean_{H,W} x_i,  σ² = Σ_i w_i·mean_{H,W} (x_i − μ)²,
        y = γ·(x − μ)/√(σ² + ε) + β;
    otherwise the plain (biased) batch statistics. Running statistics, η = ``eta``:
        running_mean ← running_mean + η·(μ − running_mean),  running_var ← (1 − η)·running_var + η·σ²
    (biased σ², no n/(n − 1) factor). ``return_reg_loss`` also returns
    L_reg = MSE(μ, running_mean) + MSE(σ², running_var) after the update (running detached),
    the regularizer the training script weights by λ. Evaluation: BatchNorm with the running
    statistics. Backward: ``AdaB2NFn`` (help(minigrad.layers.normalization.adab2n.AdaB2NFn)),
    φ receiving its gradient through π.

    Arguments: ``adab2n(x, running_mean, running_var, weight=None, bias=None,
    task_logits=None, task=None, current_task=0, training=False, eta=0.1, eps=1e-5,
    return_reg_loss=False)``; ``task`` an integer tensor (N,), ``task_logits`` φ of length
    ≥ current_task + 1. The adapted momentum η comes from ``AdaB2N2d`` (κ schedule).
    Formula: lvyilin/AdaB2N models/utils/adab2n.py.
    Paper: Lyu et al. 2023, "Overcoming Recency Bias of
    Normalization Statistics in Continual Learning: Balance and Adaptation".
    """
    op = "adab2n"
    check_floating(op, x=x)
    if x.ndim < 2:
        raise ValueError(f"{op}: expected an input of shape (N, C, *), got shape {tuple(x.shape)}")
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        _check_channels(x, name, t)
    if not training:
        if return_reg_loss:
            raise ValueError(f"{op}: the regularization loss exists in training only")
        return batch_norm(x, running_mean, running_var, weight, bias, False, 0.0, eps)
    if x.shape[0] * math.prod(x.shape[2:]) <= 1:
        raise ValueError(f"{op}: expected more than 1 value per channel when training, got an "
                         f"input of shape {tuple(x.shape)}")
    T = int(current_task) + 1
    use_tasks = task is not None and T > 1
    if use_tasks:
        if task_logits is None or task_logits.ndim != 1 or task_logits.shape[0] < T:
            raise ValueError(f"{op}: task_logits must hold at least current_task + 1 = {T} "
                             f"logits, got {None if task_logits is None else tuple(task_logits.shape)}")
        if tuple(task.shape) != (x.shape[0],) or task.dtype.kind not in "iu":
            raise ValueError(f"{op}: task must be an integer tensor of shape ({x.shape[0]},), "
                             f"got {task.dtype} of shape {tuple(task.shape)}")
        lo, hi = int(task.data.min().item()), int(task.data.max().item())
        if lo < 0 or hi >= T:
            raise ValueError(f"{op}: task indices must be in [0, {T - 1}] (current_task "
                             f"{current_task}), got [{lo}, {hi}]")
    fn = _AdaB2NApply if use_tasks else AdaB2NFn
    y, mu, var = fn.apply(x, weight, bias, task_logits if use_tasks else None,
                          task if use_tasks else None, T if use_tasks else 1, float(eps))
    if running_mean is not None:
        with no_grad():
            running_mean.data += (float(eta) * (mu.data - running_mean.data)).astype(
                running_mean.dtype, copy=False)
            running_var.data *= 1 - float(eta)
            running_var.data += (float(eta) * var.data).astype(running_var.dtype, copy=False)
            running_mean._version += 1
            running_var._version += 1
    if not return_reg_loss:
        return y
    if running_mean is None:
        raise ValueError(f"{op}: the regularization loss needs the running statistics")
    rm = as_dtype(Tensor._wrap(running_mean.data.copy()), x.dtype)
    rv = as_dtype(Tensor._wrap(running_var.data.copy()), x.dtype)
    dm, dv = mu - rm, var - rv
    return y, (dm * dm).mean() + (dv * dv).mean()


class _AdaB2NApply(AdaB2NFn):
    """``AdaB2NFn`` remembering φ's full shape (only its first T entries are used)."""

    @staticmethod
    def forward(ctx, x, weight, bias, task_logits, task, num_tasks, eps):
        ctx.phi_shape = task_logits.shape
        return AdaB2NFn.forward(ctx, x, weight, bias, task_logits, task, num_tasks, eps)


class AdaB2N2d(_BatchNorm):
    """AdaB²N for (N, C, H, W) inputs: BatchNorm2d with task-balanced training statistics
    and an adapted running-statistics momentum.

    μ = Σ_i w_i·mean_{H,W} x_i, w_i = π_{t(i)}/n_{t(i)}, π ∝ exp(φ_t) + n_t;
    η_1 = m^κ, η_k = η_{k−1}/(η_{k−1} + (1 − m)^κ) (κ = 1: η = m; κ = 0: η = 1/k).
    ``AdaB2N2d(num_features, num_tasks, eps=1e-5, momentum=0.1, affine=True, kappa=1.0,
    init_weight=0.0)``; ``AdaB2N2d.from_batch_norm(bn, num_tasks, kappa, init_weight)``.
    Per batch call ``set_tasks(task)`` (the task of each sample, current + replayed) before
    the forward, ``end_task()`` after each task; after a training forward ``.loss`` holds
    L_reg (weight it by λ in the training loss). Parameter ``task_weight`` (φ), buffer
    ``cur_tasks``. Backward: ``AdaB2NFn`` (see ``F.adab2n``).
    Paper: Lyu et al. 2023, "Overcoming Recency Bias of
    Normalization Statistics in Continual Learning: Balance and Adaptation".
    """
    _expected_ndim = (4,)
    _layout = "(N, C, H, W)"

    def __init__(self, num_features, num_tasks, eps=1e-5, momentum=0.1, affine=True, kappa=1.0,
                 init_weight=0.0):
        if momentum is None:
            raise ValueError("AdaB2N2d: needs a momentum (its κ schedule starts from it)")
        if not 0.0 <= kappa <= 1.0:
            raise ValueError(f"AdaB2N2d: kappa must be in [0, 1], got {kappa}")
        super().__init__(num_features, eps, momentum, affine, True)
        from minigrad.creation import full
        self.num_tasks, self.kappa, self.init_weight = num_tasks, float(kappa), init_weight
        self.task_weight = Parameter(full((num_tasks,), float(init_weight)))
        self.register_buffer("cur_tasks", Tensor(0))
        self.last_eta = None
        self.task = None
        self.loss = None

    @classmethod
    def from_batch_norm(cls, bn, num_tasks, kappa=1.0, init_weight=0.0):
        new = cls(bn.num_features, num_tasks, bn.eps, bn.momentum, bn.affine, kappa, init_weight)
        state = dict(bn.state_dict())
        for name, value in state.items():
            getattr(new, name).data = value.data.copy()
        return new

    def set_tasks(self, task):
        """The task index of each sample of the next batches (current + replayed)."""
        self.task = task

    def end_task(self):
        self.cur_tasks.add_(1)

    def eta(self):
        """The adapted momentum of this step (after ``num_batches_tracked`` is counted)."""
        if self.kappa == 0.0:
            return 1.0 / float(self.num_batches_tracked.item())
        if self.kappa == 1.0:
            return self.momentum
        if self.last_eta is None:
            self.last_eta = self.momentum ** self.kappa
        else:
            self.last_eta = self.last_eta / (self.last_eta + (1 - self.momentum) ** self.kappa)
        return self.last_eta

    def forward(self, x):
        self._check_input(x)
        if not self.training:
            return adab2n(x, self.running_mean, self.running_var, self.weight, self.bias)
        self.num_batches_tracked.add_(1)
        y, self.loss = adab2n(x, self.running_mean, self.running_var, self.weight, self.bias,
                              self.task_weight, self.task, int(self.cur_tasks.item()), True,
                              self.eta(), self.eps, return_reg_loss=True)
        return y

    def extra_repr(self):
        return super().extra_repr() + f", num_tasks={self.num_tasks}, kappa={self.kappa}"


# ------------------------------------------------------------------ registry
def _checked(x, weight, bias, task_logits, task, current_task=0):
    """The checked op: the training outputs (y, μ, σ²) without running statistics."""
    use = task is not None and current_task > 0
    fn = _AdaB2NApply if use else AdaB2NFn
    return fn.apply(x, weight, bias, task_logits if use else None, task if use else None,
                    current_task + 1 if use else 1, 1e-5)


def _register():
    import numpy as np
    n = lambda r, *s: r.standard_normal(s)  # noqa: E731
    pos = lambda r, *s: r.uniform(0.5, 2.0, s)  # noqa: E731
    register(adab2n, kind="normalization", catalog_id="N011", module=AdaB2N2d,
             checked_as=_checked,
             papers=["Overcoming Recency Bias of Normalization Statistics in Continual "
                     "Learning: Balance and Adaptation"],
             inputs=lambda r: [
                 Case(n(r, 5, 2, 2, 2), pos(r, 2), n(r, 2), n(r, 3) * 0.5,
                      np.array([0, 0, 1, 2, 2]), current_task=2),
                 # task 1 absent from the batch: the weights sum to less than 1
                 Case(n(r, 4, 3, 3), pos(r, 3), n(r, 3), n(r, 3) * 0.5,
                      np.array([0, 2, 2, 0]), current_task=2),
                 Case(n(r, 4, 2, 3), pos(r, 2), n(r, 2), n(r, 2), np.array([0, 1, 1, 1]),
                      current_task=1, wrt=(0, 3)),
                 # the first task: plain batch statistics
                 Case(n(r, 3, 2, 2), pos(r, 2), n(r, 2), None, None),
             ])


_register()
