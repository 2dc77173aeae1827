"""Learning-to-rank losses: NeuralNDCG (NeuralSort + Sinkhorn, Pobrotyn & Białobrzeski
2021), a ``Function`` with a hand-derived backward."""
from minigrad.autograd import Function
from minigrad.layers.losses._common import LossModule, const, xp_of
from minigrad.ops._checks import check_floating
from minigrad.registry import Case, register
from minigrad.tensor import Tensor

__all__ = ["neural_ndcg_loss", "NeuralNDCGLoss"]


# ------------------------------------------------------------------ NeuralNDCG
def _neural_sort(xp, s, tau):
    """P̂[i, :] = softmax(((n + 1 − 2i)·s − A_s·1)/τ), i = 1..n (rows: ranks), per list."""
    n = s.shape[-1]
    scale = (n + 1 - 2 * (xp.arange(n) + 1)).astype(s.dtype)                 # (n,)
    b = xp.abs(s[:, :, None] - s[:, None, :]).sum(axis=2)                   # (B, n)
    logits = (scale[None, :, None] * s[:, None, :] - b[:, None, :]) / tau   # (B, n, n)
    logits = logits - logits.max(axis=2, keepdims=True)
    e = xp.exp(logits)
    return e / e.sum(axis=2, keepdims=True)


def _sinkhorn(xp, p, max_iter, tol, eps=1e-10):
    """allRank's scaling: alternately divide by column sums (axis 1) and row sums (axis 2),
    clamped at eps, stopping once both marginals are within tol of 1. Returns every iterate
    (for the backward) and the final matrix."""
    steps = []
    for _ in range(max_iter):
        c = xp.maximum(p.sum(axis=1, keepdims=True), eps)
        p1 = p / c
        r = xp.maximum(p1.sum(axis=2, keepdims=True), eps)
        p2 = p1 / r
        steps.append((p, c, p1, r))
        p = p2
        if (float(xp.abs(p.sum(axis=2) - 1).max()) < tol
                and float(xp.abs(p.sum(axis=1) - 1).max()) < tol):
            break
    return steps, p


class NeuralNDCG(Function):
    """NeuralNDCG (Pobrotyn & Białobrzeski 2021), allRank's deterministic variant.
    Forward: NeuralSort P̂ = softmax_rows(((n + 1 − 2i)s_j − B_j)/τ), B_j = Σ_k |s_j − s_k|;
    Sinkhorn scaling (column then row normalisation, ≤ 50 iterations, tol 1e-6); gains
    g = 2^y − 1 (or y); ndcg_b = Σ_{i<k} d_i·(P̂g)_i/(IDCG_b + 1e-10), d_i = 1/log₂(i + 2)
    (0-based i); loss = −mean ndcg over the lists with IDCG > 0.
    Backward, in reverse:
      ∂/∂P̂_ij = G_b·d_i·g_j (G_b = the upstream gradient over (IDCG + 1e-10));
      each Sinkhorn step y = x/c with c = Σ_axis x (when not clamped) has
        ∂/∂x = (ḡ − Σ_axis(ḡ·y))/c (the clamped sum is a constant, giving ḡ/c);
      softmax rows: Ḡ = P̂⊙(ḡ − Σ_j ḡP̂)/τ;
      logits L_ij = a_i s_j − B_j (a_i = n + 1 − 2i): ∂/∂s_j = Σ_i Ḡ_ij a_i + Σ_k (β_j + β_k)·
        sign(s_j − s_k) with β_j = −Σ_i Ḡ_ij (sign(0) = 0: a tie is a kink of |·|).
    The early stop of Sinkhorn is a piecewise-constant choice, kept fixed in the backward.
    Second order: the forward is written for any array module (its own composite form)."""
    differentiable_forward = True

    @staticmethod
    def forward(ctx, s, gains, disc, idcg, tau, max_iter, tol):
        xp = ctx.xp
        p0 = _neural_sort(xp, s, tau)
        steps, p = _sinkhorn(xp, p0, max_iter, tol)
        valid = idcg > 0
        ndcg = (disc[None, :] * (p @ gains[:, :, None])[:, :, 0]).sum(axis=1) / (idcg + 1e-10)
        count = max(int(valid.sum()), 1)
        out = -(ndcg * valid).sum() / count
        ctx.save_for_backward(s, p0, gains, disc, idcg)
        ctx.steps, ctx.tau, ctx.count = steps, tau, count
        return xp.asarray(out)

    @staticmethod
    def backward(ctx, gy):
        xp = ctx.xp
        s, p0, gains, disc, idcg = ctx.saved_tensors
        coef = -gy * (idcg > 0) / (idcg + 1e-10) / ctx.count                 # (B,)
        gp = coef[:, None, None] * disc[None, :, None] * gains[:, None, :]    # (B, n, n)
        for p, c, p1, r in reversed(ctx.steps):
            g1 = (gp - (gp * p1 / r).sum(axis=2, keepdims=True) * (r > 1e-10)) / r
            gp = (g1 - (g1 * p1).sum(axis=1, keepdims=True) * (c > 1e-10)) / c
        gl = p0 * (gp - (gp * p0).sum(axis=2, keepdims=True)) / ctx.tau      # (B, n, n)
        n = s.shape[-1]
        a = (n + 1 - 2 * (xp.arange(n) + 1)).astype(s.dtype)
        beta = -gl.sum(axis=1)                                               # (B, n)
        sign = xp.sign(s[:, :, None] - s[:, None, :])
        ds = (gl * a[None, :, None]).sum(axis=1) \
            + ((beta[:, :, None] + beta[:, None, :]) * sign).sum(axis=2)
        return ds, None, None, None


def _dcg_ideal(xp, y, gains, disc):
    order = xp.argsort(-y, axis=1, kind="stable")
    return (xp.take_along_axis(gains, order, axis=1) * disc[None, :]).sum(axis=1)


def neural_ndcg_loss(input, target, temperature=1.0, powered_relevancies=True, k=None,
                     max_iter=50, tol=1e-6):
    """NeuralNDCG: −NDCG@k with the sort relaxed by NeuralSort and Sinkhorn scaling,

        P̂[i, :] = softmax(((n + 1 − 2i)·s − A_s·1)/τ),  A_s[j, l] = |s_j − s_l|,
        NeuralNDCG = (1/IDCG@k)·Σ_{i≤k} (Sinkhorn(P̂)·g)_i / log₂(i + 1),  loss = −mean NeuralNDCG

    ``input`` (B, n) scores, ``target`` (B, n) graded relevances (≥ 0); gains g = 2^y − 1
    (``powered_relevancies=False``: g = y); ``temperature`` τ = 1, ``k`` = n, ``max_iter`` = 50,
    ``tol`` = 1e-6 — allRank's defaults (allegro/allRank allrank/models/losses/neuralNDCG.py,
    the authors' code, which this follows line by line). Lists whose IDCG is 0 (no relevant
    item) give 0 and do not count in the mean; if none has one the loss is 0. Always a
    scalar (the mean over lists). Not covered: allRank's padding (pass lists of equal length)
    and the stochastic (Gumbel) and transposed variants. The loss is not differentiable at
    tied scores (|s_j − s_l| kink).
    Backward: ``NeuralNDCG`` (help(minigrad.layers.losses.ranking.NeuralNDCG)).

    Paper: Pobrotyn & Białobrzeski 2021, "NeuralNDCG: Direct Optimisation of a Ranking
    Metric via Differentiable Relaxation of Sorting".
    """
    op = "neural_ndcg_loss"
    check_floating(op, input=input)
    if input.ndim != 2:
        raise ValueError(f"{op}: input must be (B, n) scores, got shape {tuple(input.shape)}")
    y = const(target, input).data
    if tuple(y.shape) != tuple(input.shape):
        raise ValueError(f"{op}: target of shape {tuple(y.shape)} must match input of shape "
                         f"{tuple(input.shape)}")
    y = y.astype(input.dtype)
    if y.size and bool((y < 0).any()):
        raise ValueError(f"{op}: relevance labels must be >= 0 (padding is not supported)")
    if not temperature > 0:
        raise ValueError(f"{op}: temperature must be > 0, got {temperature}")
    n = input.shape[1]
    k = n if k is None else int(k)
    if k < 1:
        raise ValueError(f"{op}: k must be >= 1, got {k}")
    xp = xp_of(input)
    gains = xp.exp2(y) - 1 if powered_relevancies else y
    disc = 1.0 / xp.log2(xp.arange(n, dtype=input.dtype) + 2)
    disc = xp.where(xp.arange(n) < k, disc, 0).astype(input.dtype)
    idcg = _dcg_ideal(xp, y, gains, disc)
    return NeuralNDCG.apply(input, Tensor._wrap(gains), Tensor._wrap(disc), Tensor._wrap(idcg),
                            float(temperature), int(max_iter), float(tol))


class NeuralNDCGLoss(LossModule):
    """``NeuralNDCGLoss(temperature=1.0, powered_relevancies=True, k=None, max_iter=50,
    tol=1e-6)``: loss = −NeuralNDCG@k; see ``F.neural_ndcg_loss``.

    Paper: Pobrotyn & Białobrzeski 2021, "NeuralNDCG: Direct Optimisation of a Ranking
    Metric via Differentiable Relaxation of Sorting".
    """

    def __init__(self, temperature=1.0, powered_relevancies=True, k=None, max_iter=50, tol=1e-6):
        super().__init__("mean")
        self.temperature, self.powered_relevancies, self.k = temperature, powered_relevancies, k
        self.max_iter, self.tol = max_iter, tol

    def forward(self, input, target):
        return neural_ndcg_loss(input, target, self.temperature, self.powered_relevancies,
                                self.k, self.max_iter, self.tol)


def _register_all():
    import numpy as np
    n = lambda r, *s: r.standard_normal(s)  # noqa: E731
    register(neural_ndcg_loss, kind="loss", catalog_id="L096", module=NeuralNDCGLoss,
             papers=["NeuralNDCG: Direct Optimisation of a Ranking Metric via Differentiable "
                     "Relaxation of Sorting"],
             inputs=lambda r: [Case(n(r, 2, 4), r.integers(0, 3, (2, 4))),
                               Case(n(r, 2, 5), r.integers(0, 3, (2, 5)), temperature=0.5, k=3,
                                    max_iter=5),
                               Case(n(r, 3, 3), np.array([[0, 1, 2], [0, 0, 0], [1, 0, 0]]),
                                    powered_relevancies=False)])



_register_all()
