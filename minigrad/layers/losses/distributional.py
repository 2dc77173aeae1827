"""Losses about distributions of targets, losses and class geometry: HL-Gauss / two-hot
classification of scalar targets, spectral-risk (superquantile / CVaR, extremile, ESRM)
aggregation of per-sample losses, and the Equiangular Basis Vectors (EBV) classification
loss with its offline generation objective."""
import math

from minigrad.autograd import Function
from minigrad.backends import backend_of_array, to_numpy
from minigrad.layers.losses._common import (LossModule, check_reduction,
                                            const, log_softmax_array, reduce_array,
                                            reduction_grad, xp_of)
from minigrad.layers.losses.classification import cross_entropy
from minigrad.layers.losses.long_tail import split_targets
from minigrad.ops._checks import check_floating
from minigrad.registry import Case, register
from minigrad.tensor import Tensor

__all__ = ["hl_gauss_loss", "spectral_risk_loss", "ebv_loss", "ebv_generation_loss",
           "HLGaussLoss", "SpectralRiskLoss", "EBVLoss", "EBVGenerationLoss"]


# ------------------------------------------------------------------ HL-Gauss / two-hot
def hl_gauss_probs(target, v_min, v_max, num_bins, sigma=None, mode="gauss"):
    """The target histogram p (N, m) of scalar targets (N,) on m bins of [v_min, v_max]
    (a constant: no gradient). 'gauss': p_i = Φ((b_{i+1} − y)/σ) − Φ((b_i − y)/σ),
    renormalized by Φ((b_m − y)/σ) − Φ((b_0 − y)/σ), with Φ from erf; a target so far
    outside that this mass underflows to 0 puts all mass on the nearest edge bin.
    'two_hot': y clipped to [c_0, c_{m−1}] and split linearly between the two nearest
    centres c_i = v_min + (i + ½)·Δ."""
    xp = xp_of(target)
    y = target.data if isinstance(target, Tensor) else target
    width = (v_max - v_min) / num_bins
    edges = v_min + width * xp.arange(num_bins + 1, dtype=y.dtype)
    if mode == "gauss":
        s = 0.75 * width if sigma is None else float(sigma)
        erf = backend_of_array(y).special().erf
        cdf = erf((edges[None, :] - y[:, None]) / (math.sqrt(2.0) * s))
        mass = cdf[:, -1] - cdf[:, 0]
        probs = (cdf[:, 1:] - cdf[:, :-1]) / xp.where(mass > 0, mass, 1.0)[:, None]
        edge_bin = xp.where(y > (v_min + v_max) / 2, num_bins - 1, 0)
        fallback = (xp.arange(num_bins)[None, :] == edge_bin[:, None]).astype(y.dtype)
        return xp.where((mass > 0)[:, None], probs, fallback)
    centres = edges[:-1] + width / 2
    yc = xp.clip(y, centres[0], centres[-1])
    pos = (yc - centres[0]) / width
    lo = xp.minimum(xp.floor(pos).astype(int), num_bins - 2) if num_bins > 1 else \
        xp.zeros(y.shape, dtype=int)
    frac = pos - lo
    k = xp.arange(num_bins)[None, :]
    return ((k == lo[:, None]) * (1 - frac)[:, None]
            + (k == lo[:, None] + 1) * frac[:, None]).astype(y.dtype)


def hl_gauss_loss(input, target, v_min, v_max, sigma=None, mode="gauss", reduction="mean"):
    """HL-Gauss (or two-hot) classification loss for scalar regression targets:

        p_i = [Φ((b_{i+1} − y)/σ) − Φ((b_i − y)/σ)] / [Φ((b_m − y)/σ) − Φ((b_0 − y)/σ)],
        ℓ = −Σ_i p_i·log softmax(z)_i,   prediction ŷ = Σ_i softmax(z)_i·c_i

    ``input`` logits (N, m) over m bins of [v_min, v_max] (edges b_0..b_m, centres c_i),
    ``target`` scalars (N,) (TD targets: constants); σ = 0.75 × bin width by default (the
    paper's σ/ς = 0.75; its Appendix A code: edges = linspace(v_min, v_max, m + 1), erf
    differences renormalized, CE, ŷ from the centres); ``mode='two_hot'`` splits the mass
    linearly between the two nearest centres. The target histogram is a constant
    (``hl_gauss_probs``), so the loss is literally the registered soft-target
    ``cross_entropy`` on it, and its backward is ``CrossEntropySoft``'s:
    ∂ℓ/∂z = softmax(z) − p. ``HLGaussLoss.predict`` gives ŷ.
    Deviation: a target so far outside the support that its Gaussian mass underflows
    (≳ 8σ) gets all mass on the nearest edge bin (the paper's snippet divides 0 by 0).

    Paper: Farebrother et al. 2024, "Stop Regressing: Training Value Functions via
    Classification for Scalable Deep RL" (Farebrother, Orbay, Vuong, Taïga, Chebotar, Xiao,
    Irpan, Levine, Castro, Faust, Kumar, Agarwal); HL-Gauss itself from Imani & White 2018,
    "Improving Regression Performance with Distributional Losses".
    """
    op = "hl_gauss_loss"
    check_reduction(op, reduction)
    check_floating(op, input=input)
    if mode not in ("gauss", "two_hot"):
        raise ValueError(f"{op}: mode must be 'gauss' or 'two_hot', got {mode!r}")
    if input.ndim != 2:
        raise ValueError(f"{op}: logits must be (N, num_bins), got shape {tuple(input.shape)}")
    if not v_max > v_min:
        raise ValueError(f"{op}: v_max must exceed v_min, got [{v_min}, {v_max}]")
    if sigma is not None and not sigma > 0:
        raise ValueError(f"{op}: sigma must be positive, got {sigma}")
    y = const(target, input).data
    if y.dtype.kind != "f" or tuple(y.shape) != (input.shape[0],):
        raise TypeError(f"{op}: targets must be floating scalars of shape ({input.shape[0]},) "
                        f"for logits of shape {tuple(input.shape)}, got dtype {y.dtype} and "
                        f"shape {tuple(y.shape)}")
    probs = hl_gauss_probs(y.astype(input.dtype), float(v_min), float(v_max), input.shape[1],
                           sigma, mode)
    return cross_entropy(input, Tensor._wrap(probs), reduction=reduction)


# ------------------------------------------------------------------ spectral risk
def spectrum_weights(n, spectrum="superquantile", level=None):
    """The spectrum σ (n,) (nondecreasing, Σσ = 1) of ronakdm/prospect
    ``src/optim/objectives.py``: 'superquantile' (CVaR at quantile level q, default 0.5),
    'extremile' (r, default 2), 'esrm' (ρ, default 1), 'erm' (uniform). Host float64."""
    import numpy as np
    i = np.arange(n, dtype=np.float64)
    if spectrum == "erm":
        return np.full(n, 1.0 / n)
    if spectrum == "superquantile":
        q = 0.5 if level is None else float(level)
        w = np.zeros(n)
        idx = math.floor(n * q)
        frac = 1 - (n - idx - 1) / (n * (1 - q))
        if frac > 1e-12:
            w[idx] = frac
            w[idx + 1:] = 1 / (n * (1 - q))
        else:
            w[idx:] = 1 / (n - idx)
        return w
    if spectrum == "extremile":
        r = 2.0 if level is None else float(level)
        return ((i + 1) ** r - i ** r) / n ** r
    if spectrum == "esrm":
        rho = 1.0 if level is None else float(level)
        return math.exp(-rho) * (np.exp(rho * (i + 1) / n) - np.exp(rho * i / n)) / (1 - math.exp(-rho))
    raise ValueError(f"spectral_risk_loss: unknown spectrum {spectrum!r} (superquantile, "
                     f"extremile, esrm, erm, or an array)")


def _pav_blocks(values):
    """Pool-adjacent-violators on ``values`` (host float64): the block index of each
    position of the nondecreasing isotonic regression (blocks merged while mean_{k−1} ≥ mean_k)."""
    import numpy as np
    means, counts = [], []
    for v in values:
        means.append(float(v))
        counts.append(1)
        while len(means) > 1 and means[-2] >= means[-1]:
            m, c = means.pop(), counts.pop()
            means[-1] = (counts[-1] * means[-1] + c * m) / (counts[-1] + c)
            counts[-1] += c
    return np.repeat(np.arange(len(counts)), counts), np.asarray(counts)


class SpectralRisk(Function):
    """Smoothed spectral risk (Mehta et al. 2024; ronakdm/prospect ``smoothing.py`` and
    ``objectives.py``, 'l2' penalty): for losses ℓ (n,), spectrum σ and c = n·ν,
        R(ℓ) = max_{q ∈ P(σ)} ⟨q, ℓ⟩ − (c/2)·‖q − 1/n‖²    (ν = 0: R = Σ_i σ_i·ℓ_(i)).
    The maximizer, with ℓ sorted increasingly (ℓ_s = ℓ[perm]) and s the isotonic regression
    of ℓ_s/c + 1/n − σ (pool-adjacent-violators, blocks B), is q_s = ℓ_s/c − s + 1/n,
    i.e. per block q_j = ℓ_j/c − mean_B(ℓ)/c + mean_B(σ). Backward (envelope theorem: the
    maximizer is unique for ν > 0): ∂R/∂ℓ = q*; at ν = 0 it is σ at ℓ's ranks (away from
    ties). The forward is written for any array module from the sorted order and the PAV
    blocks (constants found on the host), so the second derivative is exact:
    ∂q*/∂ℓ = (I − block averaging)/c."""
    differentiable_forward = True

    @staticmethod
    def forward(ctx, losses, perm, sigma, block, starts, ends, c):
        xp = ctx.xp
        ls = losses[perm]
        n = ls.shape[0]
        if c == 0:
            q = sigma
            risk = (q * ls).sum()
        else:
            csum = xp.concatenate([xp.zeros(1, dtype=ls.dtype), xp.cumsum(ls, axis=0)])
            size = (ends - starts).astype(ls.dtype)
            block_mean = ((csum[ends] - csum[starts]) / size)[block]
            sig_sum = xp.concatenate([xp.zeros(1, dtype=sigma.dtype), xp.cumsum(sigma, axis=0)])
            sig_mean = ((sig_sum[ends] - sig_sum[starts]) / size)[block]
            q = ls * (1.0 / c) - block_mean * (1.0 / c) + sig_mean
            risk = (q * ls).sum() - (c / 2) * ((q - 1.0 / n) ** 2).sum()
        ctx.save_for_backward(q)
        ctx.perm = perm
        return risk

    @staticmethod
    def backward(ctx, gy):
        xp = ctx.xp
        q, = ctx.saved_tensors
        grad = xp.zeros(q.shape, dtype=q.dtype)
        grad[ctx.perm] = q
        return gy * grad


def spectral_risk_loss(losses, spectrum="superquantile", level=None, shift_cost=1.0):
    """Spectral-risk aggregation of per-sample losses ℓ (n,) (superquantile / CVaR,
    extremile, ESRM), smoothed by a χ²-type shift penalty:

        R_σ(ℓ) = max_{q ∈ P(σ)} Σ_i q_i·ℓ_i − ν·(n/2)·‖q − 1/n‖²,   ν = ``shift_cost``

    P(σ) the permutahedron of the spectrum σ (nondecreasing, Σσ = 1). ``spectrum``:
    'superquantile' (quantile level q = ``level``, default 0.5: σ = 1/(n(1 − q)) on the
    top (1 − q)·n losses), 'extremile' (r, default 2), 'esrm' (ρ, default 1), 'erm', or an
    array (n,). ν = 0 gives the plain spectral risk Σ_i σ_i·ℓ_(i) (q = σ at the ranks).
    This *is* the reduction: a 0-d result, no ``reduction`` argument; add (μ/2)‖w‖² as weight
    decay. Backward (envelope): ∂R/∂ℓ = q*; see ``SpectralRisk``
    (help(minigrad.layers.losses.distributional.SpectralRisk)). The sort and the
    pool-adjacent-violators pass run on the host (sequential; the ``optim.Prospect``
    optimizer uses the same weights).

    Paper: Mehta, Roulet, Pillutla & Harchaoui 2024, "Distributionally Robust Optimization
    with Bias and Variance Reduction" (ronakdm/prospect).
    """
    import numpy as np
    op = "spectral_risk_loss"
    check_floating(op, losses=losses)
    if losses.ndim != 1 or losses.shape[0] == 0:
        raise ValueError(f"{op}: losses must be a non-empty 1-D tensor of per-sample losses, "
                         f"got shape {tuple(losses.shape)}")
    if not shift_cost >= 0:
        raise ValueError(f"{op}: shift_cost must be >= 0, got {shift_cost}")
    n = losses.shape[0]
    if isinstance(spectrum, str):
        sigma = spectrum_weights(n, spectrum, level)
    else:
        sigma = np.asarray(to_numpy(spectrum.data if isinstance(spectrum, Tensor) else
                                    const(spectrum, losses).data), dtype=np.float64).reshape(-1)
        if sigma.shape != (n,) or (sigma < 0).any() or (np.diff(sigma) < -1e-12).any() \
                or abs(sigma.sum() - 1) > 1e-6:
            raise ValueError(f"{op}: a spectrum array must have {n} nonnegative, nondecreasing "
                             f"entries summing to 1 (one per loss), got shape {sigma.shape}")
    host = np.asarray(to_numpy(losses.data), dtype=np.float64)
    perm = np.argsort(host, kind="stable")
    c = float(n * shift_cost)
    if c < 1e-16:
        c = 0.0
        block = np.arange(n)
        starts, ends = block, block + 1
    else:
        block, counts = _pav_blocks(host[perm] / c + 1.0 / n - sigma)
        ends = np.cumsum(counts)
        starts = ends - counts
    backend = backend_of_array(losses.data)
    put = lambda a, dt=None: backend.asarray(a, dtype=dt)  # noqa: E731
    return SpectralRisk.apply(losses, put(perm), put(sigma, losses.dtype), put(block),
                              put(starts), put(ends), c)


# ------------------------------------------------------------------ EBV
class EBVCrossEntropy(Function):
    """EBV classification loss (Shen et al. 2023): fixed unit class vectors w_c (rows of W),
    x̂ = x/max(‖x‖, ε), s = x̂·Wᵀ/τ, ℓ = −Σ_c T_c·log softmax(s)_c (T = onehot(y) or soft t).
    Backward: ∂ℓ/∂s = (Σ_c T_c)·softmax(s) − T; ∂ℓ/∂x̂ = (∂ℓ/∂s)·W/τ; the normalization's
    Jacobian (I − x̂x̂ᵀ)/‖x‖ gives ∂ℓ/∂x = (u − x̂·⟨x̂, u⟩)/‖x‖ with u = ∂ℓ/∂x̂
    (for ‖x‖ < ε, x̂ = x/ε and ∂ℓ/∂x = u/ε). W is a constant (no gradient)."""
    differentiable_forward = True

    @staticmethod
    def forward(ctx, x, y, t, basis, tau, eps, reduction):
        xp = ctx.xp
        nrm = xp.sqrt((x * x).sum(axis=1, keepdims=True))
        den = xp.maximum(nrm, eps)
        xh = x / den
        s = xp.matmul(xh, basis.T) * (1.0 / tau)
        logp = log_softmax_array(xp, s, -1)
        if y is not None:
            loss = -logp[xp.arange(y.shape[0]), y]
        else:
            loss = -(t * logp).sum(axis=1)
        ctx.save_for_backward(xh, den, logp)
        ctx.y, ctx.t, ctx.basis, ctx.tau, ctx.eps = y, t, basis, tau, eps
        ctx.reduction, ctx.shape = reduction, loss.shape
        return reduce_array(xp, loss, reduction)

    @staticmethod
    def backward(ctx, gy):
        xp = ctx.xp
        xh, den, logp = ctx.saved_tensors
        g = reduction_grad(xp, gy, ctx.shape, ctx.reduction)
        p = xp.exp(logp)
        if ctx.y is not None:
            p[xp.arange(ctx.y.shape[0]), ctx.y] -= 1
            ds = p
        else:
            ds = ctx.t.sum(axis=1, keepdims=True) * p - ctx.t
        u = (g[:, None] * ds) @ ctx.basis * (1.0 / ctx.tau)
        radial = xp.where(den > ctx.eps, (xh * u).sum(axis=1, keepdims=True), 0.0)
        return (u - xh * radial) / den, None


def ebv_loss(input, target, basis, tau=0.07, eps=1e-12, reduction="mean"):
    """Equiangular Basis Vectors classification loss: cross-entropy of cosine similarities
    to fixed, nearly orthogonal unit class vectors, at temperature τ:

        s_c = cos(f, w_c)/τ = ⟨f/‖f‖, w_c⟩/τ,   ℓ = −log softmax(s)_y,   prediction argmax_c s_c

    ``input`` features f (N, d); ``target`` class indices (N,) or probabilities (N, C)
    (mixup/cutmix/label smoothing, as the paper's ablations); ``basis`` the EBVs W (C, d)
    (normalized here, as the official ``F.normalize(d)``; generate them with
    ``ebv_generation_loss``); τ = 0.07 (``image_preds @ d.t() / 0.07`` in
    aassxun/Equiangular-Basis-Vectors ``EBV_ImageNet.py``). The basis gets no gradient.
    Backward: ``EBVCrossEntropy`` (help(minigrad.layers.losses.distributional.EBVCrossEntropy)).

    Paper: Shen, Sun & Wei 2023, "Equiangular Basis Vectors".
    """
    op = "ebv_loss"
    check_reduction(op, reduction)
    check_floating(op, input=input)
    if input.ndim != 2:
        raise ValueError(f"{op}: features must be (N, d), got shape {tuple(input.shape)}")
    w = const(basis, input).data.astype(input.dtype)
    if w.ndim != 2 or w.shape[1] != input.shape[1]:
        raise ValueError(f"{op}: basis of shape {tuple(w.shape)} must be (C, d) with d = "
                         f"{input.shape[1]} (features of shape {tuple(input.shape)})")
    xp = xp_of(input)
    w = w / xp.maximum(xp.sqrt((w * w).sum(axis=1, keepdims=True)), eps)
    fake = Tensor._wrap(xp.zeros((input.shape[0], w.shape[0]), dtype=input.dtype))
    y, t = split_targets(op, fake, target)
    return EBVCrossEntropy.apply(input, None if y is None else Tensor._wrap(y), t, w, float(tau),
                                 float(eps), reduction)


class EBVGeneration(Function):
    """EBV generation objective (aassxun/Equiangular-Basis-Vectors ``Generate_EBV.py``): for
    vectors w_i (rows of W, N × d), ŵ_i = w_i/‖w_i‖ (or w_i itself when normalize=False, as
    the official loop, which renormalizes the data between SGD steps), G = ŴŴᵀ,
        ℓ_ij = max(|G_ij| − α, 0)  for i ≠ j (0 on the diagonal).
    Backward: ∂ℓ_ij/∂G_ij = 1[|G_ij| > α]·sign(G_ij) =: D_ij (D_ii = 0), and with G = ŴŴᵀ,
    ∂/∂Ŵ = (D + Dᵀ)·Ŵ (times the upstream gradient of each ℓ_ij); through the
    normalization ∂/∂w_i = (u_i − ŵ_i⟨ŵ_i, u_i⟩)/‖w_i‖."""
    differentiable_forward = True

    @staticmethod
    def forward(ctx, w, threshold, normalize, reduction):
        xp = ctx.xp
        n = w.shape[0]
        if normalize:
            nrm = xp.sqrt((w * w).sum(axis=1, keepdims=True))
            wh = w / nrm
        else:
            nrm, wh = None, w
        gram = xp.matmul(wh, wh.T)
        off = 1.0 - xp.eye(n, dtype=w.dtype)
        loss = xp.maximum(xp.abs(gram) - threshold, 0.0) * off
        ctx.save_for_backward(wh, gram)
        ctx.nrm, ctx.threshold, ctx.off, ctx.reduction, ctx.shape = \
            nrm, threshold, off, reduction, loss.shape
        if reduction == "mean":
            return loss.sum() * (1.0 / max(n * (n - 1), 1))
        return reduce_array(xp, loss, reduction)

    @staticmethod
    def backward(ctx, gy):
        xp = ctx.xp
        wh, gram = ctx.saved_tensors
        n = wh.shape[0]
        if ctx.reduction == "mean":
            g = xp.broadcast_to(gy * (1.0 / max(n * (n - 1), 1)), ctx.shape)
        else:
            g = reduction_grad(xp, gy, ctx.shape, ctx.reduction)
        d = g * (xp.abs(gram) > ctx.threshold) * xp.sign(gram) * ctx.off
        u = (d + d.T) @ wh
        if ctx.nrm is None:
            return u
        return (u - wh * (wh * u).sum(axis=1, keepdims=True)) / ctx.nrm


def ebv_generation_loss(vectors, threshold=0.002, normalize=True, reduction="sum"):
    """EBV generation objective (offline): push every pair of unit class vectors toward
    |cosine| ≤ α:

        L = Σ_{i ≠ j} max(|ŵ_iᵀŵ_j| − α, 0),   ŵ_i = w_i/‖w_i‖

    ``vectors`` W (N, d) (N classes); α = ``threshold`` = 0.002; 'sum' as the official
    ``Generate_EBV.py`` (d = 1000, N = 1000, SGD lr 1e-3, up to 1e5 steps, stop when the
    largest |cosine| ≤ α + 1e-4; it sums ordered pairs, both (i, j) and (j, i)); 'mean'
    divides by N(N − 1), 'none' gives the (N, N) matrix. ``normalize=False`` differentiates
    the raw Gram matrix as the official loop does (it renormalizes W in place before each
    step); True (default) differentiates through the normalization. The official slicing in
    130-row chunks only saves memory (the sum is the same). Subgradients at the kinks.
    Backward: ``EBVGeneration`` (help(minigrad.layers.losses.distributional.EBVGeneration)).

    Paper: Shen, Sun & Wei 2023, "Equiangular Basis Vectors".
    """
    op = "ebv_generation_loss"
    check_reduction(op, reduction)
    check_floating(op, vectors=vectors)
    if vectors.ndim != 2:
        raise ValueError(f"{op}: vectors must be (N, d), got shape {tuple(vectors.shape)}")
    return EBVGeneration.apply(vectors, float(threshold), bool(normalize), reduction)


# ------------------------------------------------------------------ Modules
class HLGaussLoss(LossModule):
    """HL-Gauss / two-hot loss Module over ``num_bins`` bins of [v_min, v_max]
    (σ = 0.75 × bin width); ``predict(logits)`` = ŷ = Σ_i softmax(z)_i·c_i.

    ℓ = −Σ_i p_i(y)·log softmax(z)_i; see ``F.hl_gauss_loss``.
    Paper: Farebrother et al. 2024, "Stop Regressing: Training Value Functions via
    Classification for Scalable Deep RL".
    """

    def __init__(self, v_min, v_max, num_bins, sigma=None, mode="gauss", reduction="mean"):
        super().__init__(reduction)
        self.v_min, self.v_max, self.num_bins, self.sigma, self.mode = \
            v_min, v_max, num_bins, sigma, mode

    def forward(self, input, target):
        if input.shape[-1] != self.num_bins:
            raise ValueError(f"HLGaussLoss: logits of shape {tuple(input.shape)} do not have "
                             f"num_bins={self.num_bins} columns")
        return hl_gauss_loss(input, target, self.v_min, self.v_max, self.sigma, self.mode,
                             self.reduction)

    def predict(self, input):
        from minigrad.layers.losses._common import softmax
        width = (self.v_max - self.v_min) / self.num_bins
        xp = xp_of(input)
        centres = self.v_min + width * (xp.arange(self.num_bins, dtype=input.dtype) + 0.5)
        return (softmax(input, -1) * Tensor._wrap(centres)).sum(axis=-1)


class SpectralRiskLoss(LossModule):
    """Spectral-risk aggregation Module (superquantile q = 0.5 by default, shift cost ν = 1).

    R = max_{q ∈ P(σ)} Σ_i q_i ℓ_i − ν(n/2)‖q − 1/n‖²; backward ``SpectralRisk``.
    Paper: Mehta, Roulet, Pillutla & Harchaoui 2024, "Distributionally Robust Optimization
    with Bias and Variance Reduction".
    """

    def __init__(self, spectrum="superquantile", level=None, shift_cost=1.0):
        super().__init__("none")
        self.spectrum, self.level, self.shift_cost = spectrum, level, shift_cost

    def forward(self, losses):
        return spectral_risk_loss(losses, self.spectrum, self.level, self.shift_cost)


class EBVLoss(LossModule):
    """EBV classification loss Module holding the fixed basis W (C, d) as a buffer (τ = 0.07).

    ℓ = −log softmax(cos(f, W)/τ)_y; backward ``EBVCrossEntropy``; ``predict`` = argmax cosine.
    Paper: Shen, Sun & Wei 2023, "Equiangular Basis Vectors".
    """

    def __init__(self, basis, tau=0.07, reduction="mean"):
        super().__init__(reduction)
        self.tau = tau
        self.register_buffer("basis", basis)

    def forward(self, input, target):
        return ebv_loss(input, target, self.basis, self.tau, reduction=self.reduction)

    def predict(self, input):
        w = const(self.basis, input).data
        xp = xp_of(input)
        w = w / xp.sqrt((w * w).sum(axis=1, keepdims=True))
        return Tensor._wrap((input.data @ w.T).argmax(axis=1))


class EBVGenerationLoss(LossModule):
    """EBV generation objective Module (α = 0.002, sum over ordered pairs).

    L = Σ_{i≠j} max(|ŵ_iᵀŵ_j| − α, 0); backward ``EBVGeneration``.
    Paper: Shen, Sun & Wei 2023, "Equiangular Basis Vectors".
    """

    def __init__(self, threshold=0.002, normalize=True, reduction="sum"):
        super().__init__(reduction)
        self.threshold, self.normalize = threshold, normalize

    def forward(self, vectors):
        return ebv_generation_loss(vectors, self.threshold, self.normalize, self.reduction)


# ------------------------------------------------------------------ registration
def _register_all():
    import numpy as np
    n = lambda r, *s: r.standard_normal(s)  # noqa: E731
    register(hl_gauss_loss, kind="loss", catalog_id="L076", module=HLGaussLoss,
             papers=["Stop Regressing: Training Value Functions via Classification for Scalable Deep RL"],
             inputs=lambda r: [Case(n(r, 4, 6), r.uniform(-1.2, 1.2, 4), v_min=-1.0, v_max=1.0, wrt=(0,)),
                               Case(n(r, 3, 5), r.uniform(0, 10, 3), v_min=0.0, v_max=10.0, sigma=1.5,
                                    reduction="none", wrt=(0,)),
                               Case(n(r, 3, 5), np.array([0.3, 4.9, 12.0]), v_min=0.0, v_max=5.0,
                                    mode="two_hot", reduction="sum", wrt=(0,))])

    def spectral_cases(r):
        return [Case(r.permutation(np.linspace(0.1, 2.0, 7)) + 0.01 * n(r, 7)),
                Case(r.permutation(np.linspace(0.1, 3.0, 6)), spectrum="extremile", shift_cost=0.05),
                Case(r.permutation(np.linspace(0.1, 3.0, 5)), spectrum="esrm", level=2.0, shift_cost=0.0),
                Case(r.permutation(np.linspace(0.1, 1.0, 4)), spectrum=np.array([0.1, 0.2, 0.3, 0.4]),
                     shift_cost=0.3)]

    register(spectral_risk_loss, kind="loss", catalog_id="L074", module=SpectralRiskLoss,
             papers=["Distributionally Robust Optimization with Bias and Variance Reduction"],
             inputs=spectral_cases)

    def ebv_cases(r):
        basis = n(r, 5, 3)
        return [Case(n(r, 4, 3), r.integers(0, 5, 4), basis=basis, tau=0.5),
                Case(n(r, 3, 3), r.integers(0, 5, 3), basis=basis, reduction="none"),
                Case(n(r, 3, 3), r.dirichlet(np.ones(5), 3), basis=basis, tau=0.3, wrt=(0,),
                     reduction="sum")]

    register(ebv_loss, kind="loss", catalog_id="L078", module=EBVLoss,
             papers=["Equiangular Basis Vectors"], inputs=ebv_cases)
    register(ebv_generation_loss, kind="loss", catalog_id="L079", module=EBVGenerationLoss,
             papers=["Equiangular Basis Vectors"],
             inputs=lambda r: [Case(n(r, 4, 3), threshold=0.05),
                               Case(n(r, 5, 3), threshold=0.1, normalize=False, reduction="mean"),
                               Case(n(r, 3, 4), threshold=0.02, reduction="none")])


_register_all()
