"""Normalizations of feature vectors and logits (catalog N045–N050): Feature Normalization
before the classifier (FN), LogitClip, Z-normalization of logits, AdaFace's feature-norm
batch statistic, DeeperGCN's MsgNorm and PHI-S standardization of teacher features.

Each acts on one axis of a vector (a feature, a logit vector, a message), not on a CNN's
channels: in ``examples/compare_normalizations.py`` they sit in the classifier head.
"""
import math

from minigrad.autograd import Function, no_grad
from minigrad.creation import ones, zeros
from minigrad.layers.module import Module, Parameter
from minigrad.ops._checks import check_floating
from minigrad.registry import Case, register
from minigrad.tensor import Tensor

__all__ = ["feature_norm", "logit_clip", "z_normalize", "adaface_norm_stat", "msg_norm", "phi_s",
           "FeatureNorm", "LogitClip", "ZNormalize", "AdaFaceNormStat", "MessageNorm", "PHIS"]


def _axis(op, x, dim):
    if x.ndim == 0:
        raise ValueError(f"{op}: expected an input with at least one axis, got a 0-d tensor")
    if not -x.ndim <= dim < x.ndim:
        raise ValueError(f"{op}: dim {dim} is out of range for an input of shape {tuple(x.shape)}")
    return dim % x.ndim


def _pnorm(xp, x, p, axis):
    """(‖x‖_p, ∂‖x‖_p/∂x) along ``axis``, computed on x/m with m = max|x| so that neither
    |x|^p overflows nor underflows (‖x‖_p = m·‖x/m‖_p; the gradient is scale-free). A zero
    vector gets norm 0 and gradient 0."""
    a = xp.abs(x)
    m = a.max(axis=axis, keepdims=True)
    m = xp.where(m > 0, m, xp.ones_like(m))
    u = x / m
    if p == 2:
        s = (u * u).sum(axis=axis, keepdims=True)
        r = s ** 0.5
        grad = u / xp.where(r > 0, r, xp.ones_like(r))
    else:
        au = a / m
        s = (au ** p).sum(axis=axis, keepdims=True)
        r = s ** (1.0 / p)
        grad = xp.sign(x) * au ** (p - 1) / xp.where(r > 0, r, xp.ones_like(r)) ** (p - 1)
    return m * r, grad


# ------------------------------------------------------------------ N045 feature normalization
class FeatureNormFn(Function):
    """Feature Normalization (FN) of Zhang, Beitollahi, Bie & Chen 2023: the penultimate
    feature z ∈ R^d is L2-normalized before the linear head and, in their code
    (huawei-noah/Federated-Learning, Layer_Normalization/models/resnet.py, norm_method
    "fn"; cnn.py option "v"), rescaled by √d so that its mean square is 1:
        ẑ = c·z/max(‖z‖₂, ε),  c = √d (``variance_scale=True``) or 1.
    Backward (n = ‖z‖₂ > ε, u = z/n): ∂u_i/∂z_j = (δ_ij − u_i u_j)/n, so
        dz = c·(dẑ − u·⟨u, dẑ⟩)/n;   where n ≤ ε, ẑ = c·z/ε and dz = c·dẑ/ε.
    ``differentiable_forward``: the forward is its own composite form (second order).
    """
    differentiable_forward = True

    @staticmethod
    def forward(ctx, x, axis, scale, eps):
        xp = ctx.xp
        n = ((x * x).sum(axis=axis, keepdims=True)) ** 0.5
        clamped = n <= eps
        d = xp.maximum(n, eps)
        u = x / d
        ctx.save_for_backward(u, d, clamped)
        ctx.axis, ctx.scale = axis, scale
        return u * scale

    @staticmethod
    def backward(ctx, gy):
        u, d, clamped = ctx.saved_tensors
        s = (gy * u).sum(axis=ctx.axis, keepdims=True)
        return ctx.scale * (gy - u * s * ~clamped) / d, None, None, None


def feature_norm(x, dim=1, variance_scale=True, eps=1e-12):
    """Feature Normalization (FN): L2-normalize the penultimate feature along ``dim`` before
    the classifier head, times √d (``variance_scale=True``, the paper's code) so that the
    normalized feature has mean square 1.

    ẑ = √d·z/max(‖z‖₂, ε)  (c = 1 instead of √d when ``variance_scale=False``);
    dz = c·(dẑ − u⟨u, dẑ⟩)/‖z‖, u = z/‖z‖.
    Backward: ``FeatureNormFn`` (help(minigrad.layers.normalization.feature.FeatureNormFn)).
    Arguments: ``feature_norm(x, dim=1, variance_scale=True, eps=1e-12)``; ε as PyTorch's
    ``F.normalize`` (the code normalizes with it).
    Paper: Zhang, Beitollahi, Bie & Chen 2023, "Normalization Is All You Need: Understanding
    Layer-Normalized Federated Learning under Extreme Label Shift".
    """
    check_floating("feature_norm", x=x)
    axis = _axis("feature_norm", x, dim)
    scale = math.sqrt(x.shape[axis]) if variance_scale else 1.0
    return FeatureNormFn.apply(x, axis, float(scale), float(eps))


class FeatureNorm(Module):
    """Feature Normalization before the classifier: ẑ = √d·z/‖z‖₂ along ``dim``.

    ``FeatureNorm(dim=1, variance_scale=True, eps=1e-12)``; no parameters. Backward:
    ``FeatureNormFn`` (see ``F.feature_norm``). Paper: Zhang, Beitollahi, Bie & Chen 2023,
    "Normalization Is All You Need: Understanding Layer-Normalized Federated Learning under
    Extreme Label Shift".
    """

    def __init__(self, dim=1, variance_scale=True, eps=1e-12):
        super().__init__()
        self.dim, self.variance_scale, self.eps = dim, variance_scale, eps

    def forward(self, x):
        return feature_norm(x, self.dim, self.variance_scale, self.eps)

    def extra_repr(self):
        return f"dim={self.dim}, variance_scale={self.variance_scale}"


# ------------------------------------------------------------------ N046 LogitClip
class LogitClipFn(Function):
    """LogitClip (Wei et al. 2023), official code (hongxin001/LogitClip, ``LogitClipping``):
    with n = ‖z‖_p along the class axis and ν = n + 1e-7,
        z' = z/(τ·ν)  where ν > 1/τ,   z' = z  elsewhere,
    i.e. logits whose norm exceeds δ = 1/τ are projected radially onto the sphere of
    radius δ (up to the 1e-7), the others pass unchanged.
    Backward. Inside: dz = dz'. Outside, with ∂n/∂z = sign(z)|z|^(p−1)/n^(p−1) (= z/n for
    p = 2):
        dz = dz'/(τν) − ⟨dz', z⟩/(τν²)·∂n/∂z.
    The map is not differentiable on the sphere ν = 1/τ (the finite-difference cases keep
    away from it). The norm is taken on z/max|z| (no overflow for huge logits).
    ``differentiable_forward``: the forward is its own composite form (second order).
    """
    differentiable_forward = True

    @staticmethod
    def forward(ctx, x, tau, p, axis, delta):
        xp = ctx.xp
        n, dn = _pnorm(xp, x, p, axis)
        nu = n + delta
        clip = nu > 1.0 / tau
        y = xp.where(clip, x / (tau * nu), x)
        ctx.save_for_backward(x, nu, dn, clip)
        ctx.tau, ctx.axis = tau, axis
        return y

    @staticmethod
    def backward(ctx, gy):
        x, nu, dn, clip = ctx.saved_tensors
        tau = ctx.tau
        s = (gy * (x / nu)).sum(axis=ctx.axis, keepdims=True)     # ⟨dz', z⟩/ν, no overflow
        outside = (gy - s * dn) / (tau * nu)
        return ctx.xp.where(clip, outside, gy), None, None, None, None


def logit_clip(x, tau=1.0, p=2.0, dim=-1):
    """LogitClip: clamp the p-norm of each logit vector (along ``dim``) to at most 1/τ,
    before any loss (the official ``LogitClipping``; add a loss after it).

    ν = ‖z‖_p + 1e-7;  z' = z/(τ·ν) if ν > 1/τ, else z.
    Backward outside the ball: dz = dz'/(τν) − ⟨dz', z⟩/(τν²)·∂‖z‖_p/∂z (inside: identity);
    ``LogitClipFn`` (help(minigrad.layers.normalization.feature.LogitClipFn)).
    Arguments: ``logit_clip(x, tau=1.0, p=2.0, dim=-1)``: τ the temperature (δ = 1/τ is the
    norm bound; the paper tunes it per dataset and loss), ``p >= 1`` the norm (default 2, the
    paper's).
    Paper: Wei, Zhuang, Xie, Han, An & Liu 2023, "Mitigating Memorization of Noisy Labels by
    Clipping the Model Prediction".
    """
    check_floating("logit_clip", x=x)
    if not tau > 0:
        raise ValueError(f"logit_clip: the temperature tau must be > 0, got {tau}")
    if not p >= 1:
        raise ValueError(f"logit_clip: p must be >= 1 (a norm), got {p}")
    axis = _axis("logit_clip", x, dim)
    return LogitClipFn.apply(x, float(tau), float(p), axis, 1e-7)


class LogitClip(Module):
    """LogitClip: z' = z/(τ(‖z‖_p + 1e-7)) where that norm exceeds 1/τ, else z.

    ``LogitClip(tau=1.0, p=2.0, dim=-1)``. Backward: ``LogitClipFn`` (see ``F.logit_clip``).
    Paper: Wei, Zhuang, Xie, Han, An & Liu 2023, "Mitigating Memorization of Noisy Labels by
    Clipping the Model Prediction".
    """

    def __init__(self, tau=1.0, p=2.0, dim=-1):
        super().__init__()
        self.tau, self.p, self.dim = tau, p, dim

    def forward(self, x):
        return logit_clip(x, self.tau, self.p, self.dim)

    def extra_repr(self):
        return f"tau={self.tau}, p={self.p}, dim={self.dim}"


# ------------------------------------------------------------------ N047 Z-normalization
class ZNormalizeFn(Function):
    """Z-normalization of the logits (de Brébisson & Vincent 2016): over the C
    classes, μ = mean z, σ² = mean (z − μ)² (biased), z̃ = (z − μ)/√(σ² + ε).
    Backward (LayerNorm without affine over the class axis), r = 1/√(σ² + ε):
    ∂z̃_j/∂z_i = r(δ_ij − 1/C − z̃_i z̃_j/C), so
        dz = r·(dz̃ − mean dz̃ − z̃·mean(dz̃ ⊙ z̃)).
    ``differentiable_forward``: the forward is its own composite form (second order).
    """
    differentiable_forward = True

    @staticmethod
    def forward(ctx, x, axis, eps):
        c = x - x.mean(axis=axis, keepdims=True)
        r = 1.0 / ((c * c).mean(axis=axis, keepdims=True) + eps) ** 0.5
        y = c * r
        ctx.save_for_backward(y, r)
        ctx.axis = axis
        return y

    @staticmethod
    def backward(ctx, gy):
        y, r = ctx.saved_tensors
        a = ctx.axis
        return r * (gy - gy.mean(axis=a, keepdims=True)
                    - y * (gy * y).mean(axis=a, keepdims=True)), None, None


def z_normalize(x, dim=-1, eps=1e-5):
    """Z-normalize the logits along ``dim`` (the classes): zero mean, unit (biased) standard
    deviation per sample, the front end of the Z-loss.

    z̃ = (z − mean z)/√(var z + ε);  dz = r·(dz̃ − mean dz̃ − z̃·mean(dz̃ z̃)), r = 1/√(var z + ε).
    Backward: ``ZNormalizeFn`` (help(minigrad.layers.normalization.feature.ZNormalizeFn)).
    Arguments: ``z_normalize(x, dim=-1, eps=1e-5)``. Deviation: ε inside the sqrt (the paper
    has none; it keeps constant logits finite: they map to 0).
    Paper: de Brébisson & Vincent 2016, "The Z-loss: a shift and scale invariant
    classification loss belonging to the Spherical Family".
    """
    check_floating("z_normalize", x=x)
    axis = _axis("z_normalize", x, dim)
    return ZNormalizeFn.apply(x, axis, float(eps))


class ZNormalize(Module):
    """Z-normalization of logits: z̃ = (z − mean z)/√(var z + ε) along ``dim``.

    ``ZNormalize(dim=-1, eps=1e-5)``. Backward: ``ZNormalizeFn`` (see ``F.z_normalize``).
    Paper: de Brébisson & Vincent 2016, "The Z-loss: a shift and scale invariant
    classification loss belonging to the Spherical Family".
    """

    def __init__(self, dim=-1, eps=1e-5):
        super().__init__()
        self.dim, self.eps = dim, eps

    def forward(self, x):
        return z_normalize(x, self.dim, self.eps)

    def extra_repr(self):
        return f"dim={self.dim}, eps={self.eps}"


# ------------------------------------------------------------------ N048 AdaFace statistic
class AdaFaceNormStatFn(Function):
    """AdaFace's feature-norm statistic (Kim, Jain & Liu 2022, the proxy ẑ_i of the image
    quality; mk-minchul/AdaFace head.py, ``AdaFace.forward``): with ‖f‖ clipped to
    [0.001, 100] and stop-gradient,
        ẑ = clip(h·(‖f‖ − μ_f)/(σ_f + ε), −1, 1),
    μ_f, σ_f the running (EMA) mean and unbiased standard deviation of ‖f‖ over batches.
    In training the running values are first moved with this batch (factor α = momentum):
    μ_f ← α·mean_B + (1 − α)·μ_f, σ_f ← α·std_B + (1 − α)·σ_f, then used (as head.py does).
    Backward: none by design (custom rule: dnorms = 0): ẑ only modulates the AdaFace
    margins, and head.py detaches the norms.
    """

    @staticmethod
    def forward(ctx, norms, running_mean, running_std, training, momentum, h, eps):
        xp = ctx.xp
        safe = xp.clip(norms, 0.001, 100.0)
        if training:
            mean = safe.mean()
            std = safe.std(ddof=1)
            running_mean *= 1 - momentum
            running_mean += momentum * mean
            running_std *= 1 - momentum
            running_std += momentum * std
        mu = running_mean.astype(norms.dtype, copy=False)
        sigma = running_std.astype(norms.dtype, copy=False)
        return xp.clip(h * (safe - mu) / (sigma + eps), -1.0, 1.0)

    @staticmethod
    def backward(ctx, gy):
        return ctx.xp.zeros_like(gy), None, None, None, None, None, None


def adaface_norm_stat(norms, running_mean, running_std, training=False, momentum=0.01,
                      h=0.333, eps=1e-3):
    """AdaFace's margin modulator: the batch-standardized feature norm, clipped to [−1, 1].

    ẑ = clip(h·(clip(‖f‖, 0.001, 100) − μ_f)/(σ_f + ε), −1, 1), with ``running_mean`` μ_f
    and ``running_std`` σ_f (1-element tensors, updated in place when ``training``:
    μ_f ← m·mean_B‖f‖ + (1 − m)·μ_f, σ_f ← m·std_B‖f‖ + (1 − m)·σ_f, unbiased std, before
    use). ``norms``: the feature norms ‖f_i‖ of shape (N,) or (N, 1). No gradient reaches
    ``norms`` (stop-gradient by design); ``AdaFaceNormStatFn``
    (help(minigrad.layers.normalization.feature.AdaFaceNormStatFn)).
    Arguments: ``adaface_norm_stat(norms, running_mean, running_std, training=False,
    momentum=0.01, h=0.333, eps=1e-3)`` (AdaFace's defaults: main.py's t_alpha, h; head.py's eps).
    Paper: Kim, Jain & Liu 2022, "AdaFace: Quality Adaptive Margin for Face Recognition".
    """
    op = "adaface_norm_stat"
    check_floating(op, norms=norms)
    if norms.ndim not in (1, 2) or (norms.ndim == 2 and norms.shape[1] != 1):
        raise ValueError(f"{op}: expected norms of shape (N,) or (N, 1), got {tuple(norms.shape)}")
    for name, t in (("running_mean", running_mean), ("running_std", running_std)):
        if not isinstance(t, Tensor) or t.numel() != 1:
            raise ValueError(f"{op}: {name} must be a 1-element tensor")
    if training and norms.shape[0] < 2:
        raise ValueError(f"{op}: training needs at least 2 norms for the unbiased standard "
                         f"deviation, got shape {tuple(norms.shape)}")
    y = AdaFaceNormStatFn.apply(norms, running_mean, running_std, bool(training),
                                float(momentum), float(h), float(eps))
    if training:
        running_mean._version += 1
        running_std._version += 1
    return y


class AdaFaceNormStat(Module):
    """AdaFace's feature-norm statistic with its running buffers: running_mean (init 20),
    running_std (init 100; head.py's initial values), num_batches_tracked.

    ẑ = clip(h·(‖f‖ − μ_f)/(σ_f + ε), −1, 1); training moves μ_f, σ_f with this batch first,
    eval uses them as they are. ``momentum=None`` gives the cumulative average (factor
    1/num_batches_tracked). ``AdaFaceNormStat(momentum=0.01, h=0.333, eps=1e-3)``;
    ``forward(norms)``. Backward: none (``AdaFaceNormStatFn``, see ``F.adaface_norm_stat``).
    Paper: Kim, Jain & Liu 2022, "AdaFace: Quality Adaptive Margin for Face Recognition".
    """

    def __init__(self, momentum=0.01, h=0.333, eps=1e-3):
        super().__init__()
        self.momentum, self.h, self.eps = momentum, h, eps
        self.register_buffer("running_mean", ones(1) * 20.0)
        self.register_buffer("running_std", ones(1) * 100.0)
        self.register_buffer("num_batches_tracked", Tensor(0))

    def forward(self, norms):
        factor = 0.0
        if self.training:
            self.num_batches_tracked.add_(1)
            factor = (self.momentum if self.momentum is not None
                      else 1.0 / float(self.num_batches_tracked.item()))
        return adaface_norm_stat(norms, self.running_mean, self.running_std, self.training,
                                 factor, self.h, self.eps)

    def extra_repr(self):
        return f"momentum={self.momentum}, h={self.h}, eps={self.eps}"


# ------------------------------------------------------------------ N049 MsgNorm
class MsgNormFn(Function):
    """MsgNorm (Li, Xiong, Thabet & Ghanem 2020; torch_geometric MessageNorm): the
    aggregated message m_v is rescaled to the norm of the node feature h_v,
        y = s·‖h‖_p·m/max(‖m‖_p, 1e-12)       (along the feature axis),
    and DeeperGCN then forms h' = MLP(h + y). s is a learnable scalar (init 1).
    Backward, with u = m/‖m‖ and g = dy:
        dh = s·⟨g, u⟩·∂‖h‖_p/∂h    (∂‖h‖₂/∂h = h/‖h‖),
        dm = s·‖h‖·(g − (∂‖m‖_p/∂m)·⟨g, m⟩/‖m‖)/‖m‖    (= s‖h‖(g − u⟨g, u⟩)/‖m‖ for p = 2),
        ds = Σ g ⊙ ‖h‖·u.
    ``differentiable_forward``: the forward is its own composite form (second order).
    """
    differentiable_forward = True

    @staticmethod
    def forward(ctx, x, msg, scale, p, axis):
        xp = ctx.xp
        nx, dnx = _pnorm(xp, x, p, axis)
        nm, dnm = _pnorm(xp, msg, p, axis)
        d = xp.maximum(nm, 1e-12)
        u = msg / d
        y = u * nx * scale
        ctx.save_for_backward(msg, scale, nx, dnx, d, dnm, nm > 1e-12)
        ctx.axis = axis
        return y

    @staticmethod
    def backward(ctx, gy):
        msg, scale, nx, dnx, d, dnm, live = ctx.saved_tensors
        a = ctx.axis
        gu = (gy * msg).sum(axis=a, keepdims=True) / d          # ⟨g, u⟩
        dx = scale * gu * dnx
        dm = scale * nx * (gy - dnm * gu * live) / d
        ds = (gy * msg / d * nx).sum()
        return dx, dm, ds.reshape(scale.shape), None, None


def msg_norm(x, msg, scale, p=2.0, dim=-1):
    """MsgNorm: rescale the aggregated message ``msg`` to the norm of the node feature ``x``
    (along ``dim``), times the learnable scalar ``scale``; DeeperGCN adds the result to x.

    y = s·‖x‖_p·msg/max(‖msg‖_p, 1e-12);  ds = Σ dy⊙‖x‖·msg/‖msg‖,
    dx = s·⟨dy, msg/‖msg‖⟩·∂‖x‖_p/∂x; ``MsgNormFn``
    (help(minigrad.layers.normalization.feature.MsgNormFn)).
    Arguments: ``msg_norm(x, msg, scale, p=2.0, dim=-1)``, ``scale`` a 1-element tensor
    (torch_geometric's ``MessageNorm``: ``forward(x, msg, p=2)``).
    Paper: Li, Xiong, Thabet & Ghanem 2020, "DeeperGCN: All You Need to Train Deeper GCNs".
    """
    op = "msg_norm"
    check_floating(op, x=x, msg=msg)
    if tuple(x.shape) != tuple(msg.shape):
        raise ValueError(f"{op}: x of shape {tuple(x.shape)} and msg of shape "
                         f"{tuple(msg.shape)} must have the same shape")
    if not isinstance(scale, Tensor) or scale.numel() != 1:
        raise ValueError(f"{op}: scale must be a 1-element tensor")
    if not p >= 1:
        raise ValueError(f"{op}: p must be >= 1 (a norm), got {p}")
    return MsgNormFn.apply(x, msg, scale, float(p), _axis(op, x, dim))


class MessageNorm(Module):
    """MsgNorm with its learnable scalar s (init 1; ``learn_scale=False`` freezes it):
    y = s·‖x‖_p·msg/‖msg‖_p. ``MessageNorm(learn_scale=False, p=2.0, dim=-1)``,
    ``forward(x, msg)`` (torch_geometric's names and default). Backward: ``MsgNormFn``
    (see ``F.msg_norm``). Paper: Li, Xiong, Thabet & Ghanem 2020, "DeeperGCN: All You Need
    to Train Deeper GCNs".
    """

    def __init__(self, learn_scale=False, p=2.0, dim=-1):
        super().__init__()
        self.p, self.dim = p, dim
        self.scale = Parameter(ones(1), requires_grad=learn_scale)

    def forward(self, x, msg):
        return msg_norm(x, msg, self.scale, self.p, self.dim)

    def extra_repr(self):
        return f"learn_scale={self.scale.requires_grad}, p={self.p}, dim={self.dim}"


# ------------------------------------------------------------------ N050 PHI-S
def hadamard_matrix(n, dtype=None):
    """The normalized Hadamard matrix H (n × n, entries ±1/√n, H Hᵀ = I), as NVlabs/RADIO
    examples/common/hadamard.py builds it: Sylvester doubling [[A, A], [A, −A]] of a core of
    order 1, 2, q + 1 (Paley I, q ≡ 3 mod 4 prime: 12, 20, 24, 44, ...) or 2(q + 1)
    (Paley II, q ≡ 1 mod 4 prime: 12, 36, 60, ...). Other orders raise: RADIO falls back to a
    random orthogonal matrix there, which is not a Hadamard matrix (PHI-S's equal variances
    would only hold approximately)."""
    import numpy as np

    def is_prime(q):
        return q > 1 and all(q % d for d in range(2, int(q ** 0.5) + 1))

    def jacobsthal(q):
        residues = {(i * i) % q for i in range(1, q)}
        return np.array([[0 if (j - i) % q == 0 else (1 if (j - i) % q in residues else -1)
                          for j in range(q)] for i in range(q)], dtype=float)

    def paley1(q):                      # order q + 1, q ≡ 3 (mod 4)
        S = np.zeros((q + 1, q + 1))
        S[0, 1:], S[1:, 0], S[1:, 1:] = 1, -1, jacobsthal(q)
        return S + np.eye(q + 1)

    def paley2(q):                      # order 2(q + 1), q ≡ 1 (mod 4)
        S = np.zeros((q + 1, q + 1))
        S[0, 1:], S[1:, 0], S[1:, 1:] = 1, 1, jacobsthal(q)
        zero, pos = np.array([[1.0, -1.0], [-1.0, -1.0]]), np.array([[1.0, 1.0], [1.0, -1.0]])
        return np.block([[zero if v == 0 else v * pos for v in row] for row in S])

    def core_of(m):
        if m in (1, 2):
            return np.ones((1, 1)) if m == 1 else np.array([[1.0, 1.0], [1.0, -1.0]])
        if m % 4 == 0 and is_prime(m - 1) and (m - 1) % 4 == 3:
            return paley1(m - 1)
        if m % 4 == 0 and is_prime(m // 2 - 1) and (m // 2 - 1) % 4 == 1:
            return paley2(m // 2 - 1)
        return None

    if n < 1:
        raise ValueError(f"phi_s: a Hadamard order must be >= 1, got {n}")
    m, core = n, core_of(n)
    while core is None and m % 2 == 0:
        m //= 2
        core = core_of(m)
    if core is None:
        raise ValueError(f"phi_s: no Hadamard matrix of order {n} is built here (orders 2^k, "
                         "2^k·(q + 1) with q ≡ 3 mod 4 prime, 2^k·2(q + 1) with q ≡ 1 mod 4 "
                         "prime); PHI-S needs the feature dimension to be such an order")
    H = core
    while H.shape[0] < n:
        H = np.block([[H, H], [H, -H]])
    H = H / math.sqrt(n)
    return H if dtype is None else H.astype(dtype)


def phi_s_fit(features):
    """The PHI-S statistics of a batch of teacher features (N, C), fitted once, offline,
    without gradient (NVlabs/RADIO ``get_phi_s_matrix``): μ = mean, Σ = UΛUᵀ the unbiased
    covariance (negative eigenvalues from rounding set to 0), α = √(mean Λ) = √(tr Σ/C),
    and the whitening matrix W = (1/α)·H·Uᵀ. Returns (mean (C,), W (C, C)) as tensors."""
    from minigrad import linalg
    with no_grad():
        f = features.detach()
        n, c = f.shape
        if n < 2:
            raise ValueError(f"phi_s: fitting needs at least 2 feature vectors, got {n}")
        mean = f.mean(axis=0)
        centered = f - mean
        cov = (centered.T @ centered) / (n - 1)
        e, U = linalg.eigh(cov)
        e = e.maximum(0.0)
        alpha = e.mean().sqrt()
        if float(alpha.item()) == 0.0:
            raise ValueError("phi_s: the features have zero variance; PHI-S divides by it")
        from minigrad import tensor
        H = tensor(hadamard_matrix(c), dtype=f.dtype, device=f.device)
        return mean, (H @ U.T) / alpha


class PhiSFn(Function):
    """PHI-S (Ranzinger, Barker, Heinrich, Molchanov, Catanzaro & Tao 2024;
    NVlabs/RADIO examples/common/phi_s.py ``get_phi_s_matrix``, applied as in
    radio/feature_normalizer.py): the teacher feature y ∈ R^C goes
    through the fixed affine map
        y' = W·(y − μ),   W = (1/α)·H·Uᵀ,
    μ and Σ = UΛUᵀ the teacher features' mean and covariance, H the normalized Hadamard
    matrix, α = √(tr Σ/C): the rotation Uᵀ decorrelates, H spreads the variance equally over
    all C dimensions (every output has variance 1: isotropic) and the map stays invertible,
    y = α·U·Hᵀ·y' + μ. μ and W are statistics fitted offline (``phi_s_fit``): constants.
    Backward (a linear map): dy = dy'·W (rows); no gradient to μ or W.
    """
    differentiable_forward = True

    @staticmethod
    def forward(ctx, x, mean, whiten):
        ctx.whiten = whiten
        return (x - mean) @ whiten.T

    @staticmethod
    def backward(ctx, gy):
        return gy @ ctx.whiten, None, None


def phi_s(x, mean, whiten):
    """PHI-S standardization of teacher features x (…, C) with the fitted ``mean`` (C,) and
    ``whiten`` W = (1/α)·H·Uᵀ (C, C) from ``phi_s_fit``: the distillation target the student
    regresses.

    y' = W·(y − μ);  dy = dy'·W (μ and W are constants, no gradient);
    ``PhiSFn`` (help(minigrad.layers.normalization.feature.PhiSFn)).
    Arguments: ``phi_s(x, mean, whiten)``; ``PHIS`` fits and keeps them as buffers.
    Paper: Ranzinger, Barker, Heinrich, Molchanov, Catanzaro & Tao 2024, "PHI-S: Distribution
    Balancing for Label-Free Multi-Teacher Distillation".
    """
    op = "phi_s"
    check_floating(op, x=x)
    C = x.shape[-1] if x.ndim else 0
    if x.ndim == 0 or tuple(mean.shape) != (C,) or tuple(whiten.shape) != (C, C):
        raise ValueError(f"phi_s: expected mean of shape ({C},) and whiten of shape ({C}, {C}) "
                         f"for an input of shape {tuple(x.shape)}, got {tuple(mean.shape)} and "
                         f"{tuple(whiten.shape)}")
    return PhiSFn.apply(x, mean.detach(), whiten.detach())


class PHIS(Module):
    """PHI-S standardization with its fitted statistics as buffers: ``mean`` (C,), ``whiten``
    W = (1/α)·H·Uᵀ (C, C). ``fit_(features)`` estimates them (no gradient; on the teacher's
    features, once), ``forward(y)`` returns W·(y − μ), ``inverse(y')`` returns
    α·U·Hᵀ·y' + μ = W⁻¹y' + μ. ``PHIS(num_features)``.
    Backward: ``PhiSFn`` (see ``F.phi_s``). Paper: Ranzinger, Barker, Heinrich, Molchanov,
    Catanzaro & Tao 2024, "PHI-S: Distribution Balancing for Label-Free Multi-Teacher
    Distillation".
    """

    def __init__(self, num_features):
        super().__init__()
        hadamard_matrix(num_features)          # raises early for an order without one
        self.num_features = num_features
        self.register_buffer("mean", zeros(num_features))
        self.register_buffer("whiten", zeros(num_features, num_features))
        self.register_buffer("fitted", Tensor(0))

    def fit_(self, features):
        if features.ndim != 2 or features.shape[1] != self.num_features:
            raise ValueError(f"PHIS({self.num_features}): expected features of shape "
                             f"(N, {self.num_features}), got {tuple(features.shape)}")
        mean, whiten = phi_s_fit(features)
        with no_grad():
            self.mean.copy_(mean.astype(self.mean.dtype))
            self.whiten.copy_(whiten.astype(self.whiten.dtype))
            self.fitted.fill_(1)
        return self

    def _check_fitted(self):
        if not int(self.fitted.item()):
            raise RuntimeError(f"PHIS({self.num_features}): call fit_(teacher_features) first")

    def forward(self, y):
        self._check_fitted()
        return phi_s(y, self.mean.astype(y.dtype), self.whiten.astype(y.dtype))

    def inverse(self, z):
        self._check_fitted()
        w = self.whiten.astype(z.dtype)
        # W = (1/α)HUᵀ with H, U orthogonal: W Wᵀ = I/α², so W⁻¹ = α²·Wᵀ = α·U·Hᵀ
        alpha2 = 1.0 / (w * w).sum(axis=1).mean()
        return (z @ w) * alpha2 + self.mean.astype(z.dtype)

    def extra_repr(self):
        return f"{self.num_features}"


# ------------------------------------------------------------------ registry
def _buffer(values, like):
    """A fresh 1-element running-statistic tensor on ``like``'s backend."""
    from minigrad import tensor
    data = values.numpy() if isinstance(values, Tensor) else values
    return tensor(data, dtype=like.dtype, device=like.device)


def _register():
    import numpy as np
    n = lambda r, *s: r.standard_normal(s)  # noqa: E731

    def away_from_zero(r, *s):
        return r.choice([-1.0, 1.0], s) * r.uniform(0.3, 2.0, s)

    register(feature_norm, kind="normalization", catalog_id="N045", module=FeatureNorm,
             papers=["Normalization Is All You Need: Understanding Layer-Normalized Federated "
                     "Learning under Extreme Label Shift"],
             inputs=lambda r: [Case(n(r, 3, 4)), Case(n(r, 2, 5), variance_scale=False),
                               Case(n(r, 2, 3, 2), dim=1), Case(n(r, 1, 6), dim=-1)])
    register(logit_clip, kind="normalization", catalog_id="N046", module=LogitClip,
             papers=["Mitigating Memorization of Noisy Labels by Clipping the Model Prediction"],
             inputs=lambda r: [Case(n(r, 4, 5) * 2, tau=1.0),            # mixed inside / outside
                               Case(n(r, 3, 4), tau=0.1),                # all inside (identity)
                               Case(away_from_zero(r, 3, 4), tau=2.0, p=3.0),
                               Case(away_from_zero(r, 2, 4), tau=2.0, p=1.0),
                               Case(n(r, 4, 3) * 2, tau=1.5, dim=0)])
    register(z_normalize, kind="normalization", catalog_id="N047", module=ZNormalize,
             papers=["The Z-loss: a shift and scale invariant classification loss belonging to "
                     "the Spherical Family"],
             inputs=lambda r: [Case(n(r, 3, 5)), Case(n(r, 4, 3) * 3 + 1, dim=0),
                               Case(n(r, 2, 3, 4), eps=1e-3)])

    def adaface_inputs(r):
        norms = r.uniform(5.0, 40.0, (6,))
        return [Case(norms, r.uniform(10, 30, (1,)), r.uniform(5, 20, (1,)), wrt=(0,),
                     training=True, custom=True),
                Case(norms.reshape(6, 1), np.full(1, 20.0), np.full(1, 100.0), wrt=(0,),
                     custom=True),
                Case(r.uniform(1e-4, 200.0, (5,)), np.full(1, 20.0), np.full(1, 100.0), wrt=(0,),
                     training=True, h=1.0, custom=True)]

    def adaface_checked(norms, running_mean, running_std, **kwargs):
        # the checks call an op many times: move copies of the running values, not the case's
        return adaface_norm_stat(norms, _buffer(running_mean, norms), _buffer(running_std, norms),
                                 **kwargs)

    register(adaface_norm_stat, kind="normalization", catalog_id="N048", check="custom",
             module=AdaFaceNormStat,
             papers=["AdaFace: Quality Adaptive Margin for Face Recognition"],
             inputs=adaface_inputs, checked_as=adaface_checked,
             backward_rule=lambda arrays, kwargs, gy: [0 * arrays[0]])
    register(msg_norm, kind="normalization", catalog_id="N049", module=MessageNorm,
             papers=["DeeperGCN: All You Need to Train Deeper GCNs"],
             inputs=lambda r: [Case(n(r, 4, 3), n(r, 4, 3), r.uniform(0.5, 2.0, (1,))),
                               Case(n(r, 3, 5), n(r, 3, 5), r.uniform(0.5, 2.0, (1,)), dim=0),
                               Case(away_from_zero(r, 3, 4), away_from_zero(r, 3, 4),
                                    r.uniform(0.5, 2.0, (1,)), p=3.0)])

    def phi_s_inputs(r):
        cases = []
        for C in (4, 12):
            teacher = n(r, 64, C) @ n(r, C, C) + n(r, C)
            mean, whiten = phi_s_fit(Tensor(teacher))
            cases.append(Case(n(r, 3, C), mean.numpy(), whiten.numpy(), wrt=(0,)))
        return cases

    register(phi_s, kind="normalization", catalog_id="N050", module=PHIS,
             papers=["PHI-S: Distribution Balancing for Label-Free Multi-Teacher Distillation"],
             inputs=phi_s_inputs)


_register()
