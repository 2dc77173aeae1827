"""AutoReP's ReLU replacement: the DaPa polynomial with a learnable, hysteresis-gated
ReLU mask (catalog A036).

Peng et al. 2023, "AutoReP: Automatic ReLU Replacement for Fast Private Network Inference"
(ICCV); the method as in the official code harveyp123/AutoReP:
models_util/model_spReLU_relay.py (``STEFunction_relay``, ``ReLU_masked_dapa_relay``),
models_util/auto_poly.py (``x2act_auto``), approx/approx_torch.py (``approx_2rd_torch``),
train_util/train_util.py (the ReLU-count penalty) and README.md (the hysteresis loop),
read and written in our own words.
"""
import math

import numpy as np

from minigrad.autograd import Function
from minigrad.layers import init
from minigrad.layers.activations._util import channel_sum, uniform_away_from_kinks
from minigrad.layers.module import Module, Parameter
from minigrad.ops._checks import check_floating
from minigrad.registry import Case, register
from minigrad.tensor import Tensor


def _coef_views(coef, x):
    """c₀, c₁, c₂ from ``coef`` (3,) shared or (3, C) per channel (axis 1 of x), each
    shaped to broadcast against x."""
    n = coef.shape[1] if coef.ndim == 2 else 1
    shape = (1, n) + (1,) * (x.ndim - 2) if n > 1 else (1,) * x.ndim
    return [coef[k].reshape(shape) for k in range(3)]


def _mask01(xp, mask):
    """The 0/1 mask (bool or float) as floats with a leading batch axis of 1."""
    return xp.where(mask != 0, 1.0, 0.0).reshape((1,) + tuple(mask.shape))


def _softplus(xp, v):
    """log(1 + eᵛ) = max(v, 0) + log1p(e^(−|v|)), finite for every finite v."""
    return xp.maximum(v, 0.0) + xp.log1p(xp.exp(-xp.abs(v)))


class DapaPolyReluFn(Function):
    """AutoReP's ReLU replacement with a gated mask (Peng et al. 2023; harveyp123/AutoReP
    models_util/model_spReLU_relay.py ``ReLU_masked_dapa_relay.forward`` and
    models_util/auto_poly.py ``x2act_auto``):

        y = m⊙ReLU(x) + (1 − m)⊙(c₂x² + c₁x + c₀)

    m ∈ {0, 1} per feature position (every axis but the batch), c₀, c₁, c₂ per channel.
    The mask m is the hysteresis state kept by ``DapaPolyReLU`` (a constant here); its
    learnable weight m_w enters only through the straight-through estimator of the
    official code's ``STEFunction_relay``: forward returns m, backward dm_w = softplus(m_w)·dm.

    Backward, with p = c₂x² + c₁x + c₀ (exact for x and c, product and power rules):
        dx  = dy⊙(m⊙1[x > 0] + (1 − m)⊙(2c₂x + c₁))      (ReLU′(0) = 0)
        dc₀ = Σ dy⊙(1 − m),  dc₁ = Σ dy⊙(1 − m)⊙x,  dc₂ = Σ dy⊙(1 − m)⊙x²
              (sums over every position sharing the coefficient)
        dm_w = softplus(m_w)⊙Σ_batch dy⊙(ReLU(x) − p)     (∂y/∂m = ReLU(x) − p, then the STE;
              deliberately not the true derivative 0: the ``custom`` part of the check).
    The catalog row's lead gives the plain STE ∂m/∂m_w := 1; the official code (followed
    here) scales it by softplus(m_w), which is what ``STEFunction_relay.backward`` returns.
    The backward uses only tensor-capable array functions (``differentiable_backward``).
    """
    differentiable_backward = True

    @staticmethod
    def forward(ctx, x, coef, mask, mask_weight):
        xp = ctx.xp
        m = _mask01(xp, mask)
        c0, c1, c2 = _coef_views(coef, x)
        y = m * xp.maximum(x, 0.0) + (1.0 - m) * ((c2 * x + c1) * x + c0)
        ctx.save_for_backward(x, coef, mask, *([] if mask_weight is None else [mask_weight]))
        ctx.has_weight = mask_weight is not None
        return y.astype(x.dtype)

    @staticmethod
    def backward(ctx, gy):
        xp = ctx.xp
        saved = ctx.saved_tensors
        x, coef, mask = saved[:3]
        m = _mask01(xp, mask)
        c0, c1, c2 = _coef_views(coef, x)
        keep = 1.0 - m
        gx = gc = gw = None
        if ctx.needs_input_grad[0]:
            gx = gy * (m * xp.where(x > 0, 1.0, 0.0) + keep * (2.0 * c2 * x + c1))
        if ctx.needs_input_grad[1]:
            g = gy * keep
            shape = coef.shape[1:]
            gc = xp.stack([channel_sum(g, shape), channel_sum(g * x, shape),
                           channel_sum(g * x * x, shape)])
        if ctx.has_weight and ctx.needs_input_grad[3]:
            w = saved[3]
            dm = (gy * (xp.maximum(x, 0.0) - ((c2 * x + c1) * x + c0))).sum(axis=0)
            gw = _softplus(xp, w) * dm
        return gx, gc, None, gw


class ReluMaskSTEFn(Function):
    """The ReLU mask as a function of its weight, for the ReLU-count penalty (AutoReP
    ``STEFunction_relay``): forward returns the hysteresis state m (0/1, a constant),
    backward dm_w = softplus(m_w)·dm — a straight-through rule, not the derivative 0."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx, mask_weight, mask):
        ctx.save_for_backward(mask_weight)
        return ctx.xp.where(mask != 0, 1.0, 0.0).astype(mask_weight.dtype)

    @staticmethod
    def backward(ctx, gy):
        w, = ctx.saved_tensors
        return gy * _softplus(ctx.xp, w), None


def dapa_poly_relu(x, coef, mask, mask_weight=None):
    """AutoReP ReLU replacement: ReLU where the mask is 1, a learnable quadratic elsewhere.

    y = m⊙ReLU(x) + (1 − m)⊙(c₂x² + c₁x + c₀), m a 0/1 mask over x's feature positions.
    Backward: ``DapaPolyReluFn`` (help(minigrad.layers.activations.relu_replacement.DapaPolyReluFn)):
    exact for x and c; the mask weight gets the straight-through rule softplus(m_w)·Σ dy⊙(ReLU(x) − p).
    Paper: Peng et al. 2023, "AutoReP: Automatic ReLU Replacement for Fast Private Network Inference".

    ``x``: (N, C, *) (or (N, C)); ``coef``: (3,) or (3, C), the rows c₀, c₁, c₂
    (``nn.DapaPolyReLU`` fits them with ``dapa_coefficients``); ``mask``: 0/1 (bool or
    float) of shape x.shape[1:], the hysteresis state; ``mask_weight`` = None: the mask's
    learnable weight m_w (same shape), which receives the straight-through gradient.
    Deviation from the official code: its x² coefficient is reparametrised as
    scale_x2·c₂ (scale_x2 a fixed hyperparameter); here c₂ is the coefficient itself.
    """
    check_floating("dapa_poly_relu", x=x, coef=coef)
    if x.ndim < 2:
        raise ValueError(f"dapa_poly_relu: the input needs a batch and a channel axis, got shape "
                         f"{tuple(x.shape)}")
    c = x.shape[1]
    if coef.ndim not in (1, 2) or coef.shape[0] != 3 or (coef.ndim == 2 and coef.shape[1] not in (1, c)):
        raise ValueError(f"dapa_poly_relu: coef must be (3,) or (3, {c}) (rows c0, c1, c2), got "
                         f"shape {tuple(coef.shape)}")
    if tuple(mask.shape) != tuple(x.shape[1:]):
        raise ValueError(f"dapa_poly_relu: mask must have the feature shape {tuple(x.shape[1:])} of "
                         f"an input of shape {tuple(x.shape)}, got {tuple(mask.shape)}")
    if not isinstance(mask, Tensor):
        mask = Tensor(mask)
    if mask_weight is not None:
        check_floating("dapa_poly_relu", mask_weight=mask_weight)
        if tuple(mask_weight.shape) != tuple(mask.shape):
            raise ValueError(f"dapa_poly_relu: mask_weight shape {tuple(mask_weight.shape)} differs "
                             f"from the mask's {tuple(mask.shape)}")
    return DapaPolyReluFn.apply(x, coef, mask, mask_weight)


def dapa_coefficients(mean, var):
    """DaPa: the quadratic c₂x² + c₁x + c₀ closest to ReLU in L² under the pre-activation
    distribution N(μ, σ²) — argmin_c E[(ReLU(X) − c₂X² − c₁X − c₀)²], per channel.

    Closed form (AutoReP approx/approx_torch.py ``approx_2rd_torch``, there with σ in the
    place of ``v``), with z = μ/σ, φ and Φ the standard normal pdf and cdf:
        c₂ = φ(z)/(2σ),   c₁ = Φ(z) − z·φ(z),   c₀ = σφ(z)/2 + μ²φ(z)/(2σ).
    (μ = 0, σ = 1 gives 0.1995x² + 0.5x + 0.1995.) Returns a NumPy array (3, C) of rows c₀,
    c₁, c₂ from per-channel ``mean`` and ``var`` (array-likes; var > 0).
    Deviation from the official code: ``update_poly`` feeds the running *variance*, clipped
    at ``var_min`` = 0.5, where this formula takes σ, and then scales c₀ by 1/5 and c₂ by
    1/10 (c₂ later multiplied by scale_x2 in the forward); these heuristic rescalings are not
    reproduced — this is the distribution-aware least-squares fit itself.
    Paper: Peng et al. 2023, "AutoReP: Automatic ReLU Replacement for Fast Private Network
    Inference".
    """
    mu = np.atleast_1d(np.asarray(mean, dtype=np.float64))
    v = np.atleast_1d(np.asarray(var, dtype=np.float64))
    if (v <= 0).any() or not np.isfinite(v).all() or not np.isfinite(mu).all():
        raise ValueError("dapa_coefficients: var must be finite and > 0, mean finite")
    sd = np.sqrt(v)
    z = mu / sd
    pdf = np.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
    cdf = 0.5 * np.vectorize(math.erfc)(-z / math.sqrt(2))
    c2 = pdf / (2 * sd)
    c1 = cdf - z * pdf
    c0 = sd * pdf / 2 + mu * mu * pdf / (2 * sd)
    return np.stack([c0, c1, c2])


class DapaPolyReLU(Module):
    """AutoReP's ReLU-replacement layer: ``DapaPolyReLU(feature_shape, threshold=0.003,
    generator=None)``, y = m⊙ReLU(x) + (1 − m)⊙(c₂x² + c₁x + c₀) (``F.dapa_poly_relu``).

    State and parameters, as harveyp123/AutoReP ``ReLU_masked_dapa_relay``:
      ``mask`` (buffer, ``feature_shape`` = x.shape[1:], starts all 1 = every ReLU kept);
      ``mask_weight`` m_w (same shape, U(0, 1));
      ``coef`` (3, C): c₀ ~ U(0, 1e-4), c₁ ~ U(1, 1 + 1e-4), c₂ ~ U(0, 1e-4) (≈ identity),
      refit by ``dapa_fit_(mean, var)``.
    Hysteresis loop (README.md, ``update_mask``), before each training forward: a kept ReLU
    (m = 1) is replaced only once m_w < −threshold, a replaced one comes back only once
    m_w > threshold (``threshold`` = 0.003 as the reference's training script; its
    config.py default is 0.001). ``relu_count_penalty(budget, lamda)`` = λ·ReLU(Σm/n − budget/n), the
    code's penalty, differentiable in m_w through the straight-through rule softplus(m_w).

    Backward: ``DapaPolyReluFn``. Paper: Peng et al. 2023, "AutoReP: Automatic ReLU
    Replacement for Fast Private Network Inference".
    """

    def __init__(self, feature_shape, threshold=0.003, generator=None):
        super().__init__()
        from minigrad.backends import current
        self.feature_shape = tuple(int(s) for s in (
            feature_shape if isinstance(feature_shape, (tuple, list)) else (feature_shape,)))
        if not self.feature_shape or min(self.feature_shape) < 1:
            raise ValueError(f"DapaPolyReLU: feature_shape must be (C, *) with positive sizes, "
                             f"got {feature_shape}")
        if threshold < 0:
            raise ValueError(f"DapaPolyReLU: threshold must be >= 0, got {threshold}")
        self.threshold = float(threshold)
        xp = current().xp
        c = self.feature_shape[0]
        self.mask_weight = Parameter(xp.empty(self.feature_shape, dtype="float32"))
        init.uniform_(self.mask_weight, 0.0, 1.0, generator=generator)
        self.coef = Parameter(xp.empty((3, c), dtype="float32"))
        init.uniform_(self.coef, 0.0, 1e-4, generator=generator)
        self.coef.data[1] += 1.0                      # c₁ ~ U(1, 1 + 1e-4): ≈ the identity
        self.register_buffer("mask", Tensor(xp.ones(self.feature_shape, dtype="float32")))

    def update_mask(self):
        """One step of the hysteresis loop: m ← m·1[m_w > −t] + (1 − m)·1[m_w > t]."""
        m, w = self.mask.data, self.mask_weight.data
        t = self.threshold
        self.mask.data[...] = m * (w > -t) + (1 - m) * (w > t)

    def dapa_fit_(self, mean, var):
        """Set c₀, c₁, c₂ per channel to the DaPa fit under N(mean, var) (``dapa_coefficients``)."""
        from minigrad.backends import backend_of_array
        c = dapa_coefficients(mean, var)
        if c.shape[1] not in (1, self.coef.shape[1]):
            raise ValueError(f"DapaPolyReLU.dapa_fit_: statistics for {c.shape[1]} channels, "
                             f"the layer has {self.coef.shape[1]}")
        b = backend_of_array(self.coef.data)
        self.coef.data[...] = b.asarray(np.broadcast_to(c, (3, self.coef.shape[1])).astype(
            self.coef.data.dtype))
        return self

    def relu_density(self):
        """Σm / n through the straight-through estimator (a differentiable scalar in m_w)."""
        m = ReluMaskSTEFn.apply(self.mask_weight, self.mask)
        return m.sum() / float(math.prod(m.shape))

    def relu_count(self):
        """How many ReLUs are kept (Σm)."""
        return int(round(float(self.mask.numpy().sum())))

    def relu_count_penalty(self, budget, lamda=10.0):
        """λ·ReLU(Σm/n − budget/n) (AutoReP train_util.py; ``--lamda`` default 10)."""
        from minigrad.layers.activations.rectifiers import relu
        n = float(np.prod(self.feature_shape))
        return lamda * relu(self.relu_density() - budget / n)

    def forward(self, x):
        if self.training:
            self.update_mask()
        return dapa_poly_relu(x, self.coef, self.mask, self.mask_weight)

    def extra_repr(self):
        return f"feature_shape={self.feature_shape}, threshold={self.threshold}"


# ------------------------------------------------------------------ registry
def _dapa_cases(r):
    def mask(shape):
        m = r.random(shape) < 0.5
        m.flat[0], m.flat[1] = True, False          # both branches in every case
        return m
    x1 = uniform_away_from_kinks(r, (3, 2, 4), (0.0,))
    x2 = uniform_away_from_kinks(r, (2, 3), (0.0,))
    return [Case(x1, r.normal(0, 0.5, (3, 2)), mask((2, 4)), r.standard_normal((2, 4)), wrt=(0, 1)),
            Case(x2, r.normal(0, 0.5, (3,)), mask((3,))),
            Case(uniform_away_from_kinks(r, (1, 2, 2, 2), (0.0,)), r.normal(0, 0.5, (3, 1)), mask((2, 2, 2))),
            Case(x1, r.normal(0, 0.5, (3, 2)), mask((2, 4)), r.standard_normal((2, 4)), custom=True),
            Case(x2, r.normal(0, 0.5, (3, 3)), mask((3,)), r.standard_normal(3) * 3, custom=True)]


def _dapa_rule(arrays, kwargs, gy):
    """The documented gradients (NumPy): exact for x and c, softplus(m_w)·Σ_batch dy⊙(ReLU − p)
    for the mask weight (the straight-through rule of AutoReP's ``STEFunction_relay``)."""
    x, coef, mask, w = arrays
    m = mask.astype(float)[None]
    n = coef.shape[1] if coef.ndim == 2 else 1
    shape = (1, n) + (1,) * (x.ndim - 2) if n > 1 else (1,) * x.ndim
    c0, c1, c2 = (coef[k].reshape(shape) for k in range(3))
    p = c2 * x * x + c1 * x + c0
    gx = gy * (m * (x > 0) + (1 - m) * (2 * c2 * x + c1))
    axes = (0,) + tuple(range(2, x.ndim)) if n > 1 else tuple(range(x.ndim))
    g = gy * (1 - m)
    gc = np.stack([(g * x ** k).sum(axis=axes).reshape(coef.shape[1:]) for k in range(3)])
    gw = np.logaddexp(0.0, w) * (gy * (np.maximum(x, 0) - p)).sum(axis=0)
    return [gx, gc, gw]


register(dapa_poly_relu, kind="activation", catalog_id="A036", module=DapaPolyReLU,
         papers=["AutoReP: Automatic ReLU Replacement for Fast Private Network Inference"],
         inputs=_dapa_cases, check="fd+custom", backward_rule=_dapa_rule)

__all__ = ["dapa_poly_relu", "dapa_coefficients", "DapaPolyReLU"]
