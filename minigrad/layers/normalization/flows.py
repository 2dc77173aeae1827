"""Normalizations of flows and learned image compression (catalog N051, N052): generalized
divisive normalization (GDN / IGDN) and ActNorm with its data-dependent initialization and
log-determinant. Both act per channel on (N, C, *) inputs.
"""
import math

from minigrad.autograd import Function, no_grad
from minigrad.creation import eye, ones, zeros
from minigrad.layers.module import Module, Parameter
from minigrad.ops._checks import check_floating
from minigrad.registry import Case, register
from minigrad.tensor import Tensor

__all__ = ["gdn", "act_norm", "GDN", "IGDN", "ActNorm"]


def _channel_shape(x):
    return (1, x.shape[1]) + (1,) * (x.ndim - 2)


def _check_nc(op, x, what="(N, C) or (N, C, *)"):
    if x.ndim < 2:
        raise ValueError(f"{op}: expected an input of shape {what}, got shape {tuple(x.shape)}")


# ------------------------------------------------------------------ N051 GDN / IGDN
class GDNFn(Function):
    """Generalized divisive normalization (Ballé, Laparra & Simoncelli 2016, the
    paper's general form with z = x), per position over the C channels:
        D_i = β_i + Σ_j γ_ij·|x_j|^α,    y_i = x_i·D_i^(−ε)   (GDN),
                                         y_i = x_i·D_i^(+ε)   (IGDN, its approximate inverse,
                                                              as the decoders of Ballé et al.).
    α = 2, ε = ½ give the form every codec uses (tensorflow_compression GDN,
    compressai.layers.GDN: y_i = x_i/√(β_i + Σ_j γ_ij x_j²)). Deviation from the paper,
    following tensorflow_compression: α and ε are one fixed scalar each (the paper learns
    α_ij and ε_i).
    Backward, with e = ∓ε, q_i = dy_i·x_i·e·D_i^(e−1) (∂y_i/∂D_i times dy_i):
        dx_k = dy_k·D_k^e + α·sign(x_k)|x_k|^(α−1)·Σ_i γ_ik q_i,
        dβ_i = Σ_{n,pos} q_i,   dγ_ij = Σ_{n,pos} q_i·|x_j|^α.
    |x|^α is not differentiable at 0 for α ≤ 1 (keep α > 1 for second order there).
    ``differentiable_forward``: the forward is its own composite form (second order).
    """
    differentiable_forward = True

    @staticmethod
    def forward(ctx, x, beta, gamma, inverse, alpha, epsilon):
        xp = ctx.xp
        N, C = x.shape[0], x.shape[1]
        x3 = x.reshape(N, C, math.prod(x.shape[2:]))
        a = x3 * x3 if alpha == 2 else xp.abs(x3) ** alpha
        D = xp.matmul(gamma.astype(x.dtype), a) + beta.astype(x.dtype).reshape(C, 1)
        e = epsilon if inverse else -epsilon
        De = xp.sqrt(D) if e == 0.5 else 1 / xp.sqrt(D) if e == -0.5 else D ** e
        ctx.save_for_backward(x3, D, De, a, gamma)
        ctx.e, ctx.alpha, ctx.shape = e, alpha, x.shape
        return (x3 * De).reshape(x.shape)

    @staticmethod
    def backward(ctx, gy):
        xp = ctx.xp
        x3, D, De, a, gamma = ctx.saved_tensors
        e, alpha = ctx.e, ctx.alpha
        g3 = gy.reshape(x3.shape)
        q = g3 * x3 * e * De / D
        needs = ctx.needs_input_grad
        dx = dbeta = dgamma = None
        if needs[0]:
            back = xp.matmul(gamma.astype(q.dtype).T, q)
            da = 2 * x3 if alpha == 2 else alpha * xp.sign(x3) * xp.abs(x3) ** (alpha - 1)
            dx = (g3 * De + da * back).reshape(ctx.shape)
        if needs[1]:
            dbeta = q.sum(axis=(0, 2))
        if needs[2]:
            dgamma = xp.einsum("nil,njl->ij", q, a)
        return dx, dbeta, dgamma, None, None, None


def gdn(x, beta, gamma, inverse=False, alpha=2.0, epsilon=0.5):
    """Generalized divisive normalization of x (N, C, *) across channels (IGDN with
    ``inverse=True``), with β (C,) > 0 and γ (C, C) ≥ 0 given as they are (the ``GDN``
    module keeps them positive by reparameterization).

    D_i = β_i + Σ_j γ_ij·|x_j|^α;  y_i = x_i/D_i^ε (GDN),  y_i = x_i·D_i^ε (IGDN);
    α = 2, ε = ½ by default: y_i = x_i/√(β_i + Σ_j γ_ij x_j²).
    Backward: dx_k = dy_k·D_k^e + α·sign(x_k)|x_k|^(α−1)·Σ_i γ_ik q_i, q_i = dy_i x_i e D_i^(e−1),
    e = ∓ε; ``GDNFn`` (help(minigrad.layers.normalization.flows.GDNFn)).
    Arguments: ``gdn(x, beta, gamma, inverse=False, alpha=2.0, epsilon=0.5)``. Deviation:
    scalar α and ε (tensorflow_compression's GDN; the paper learns α_ij, ε_i).
    Paper: Ballé, Laparra & Simoncelli 2016, "Density Modeling of Images using a Generalized
    Normalization Transformation".
    """
    op = "gdn"
    check_floating(op, x=x, beta=beta, gamma=gamma)
    _check_nc(op, x, "(N, C, *)")
    C = x.shape[1]
    if tuple(beta.shape) != (C,) or tuple(gamma.shape) != (C, C):
        raise ValueError(f"{op}: expected beta of shape ({C},) and gamma of shape ({C}, {C}) for "
                         f"an input of shape {tuple(x.shape)}, got {tuple(beta.shape)} and "
                         f"{tuple(gamma.shape)}")
    if not alpha > 0 or not epsilon > 0:
        raise ValueError(f"{op}: alpha and epsilon must be > 0, got {alpha} and {epsilon}")
    return GDNFn.apply(x, beta, gamma, bool(inverse), float(alpha), float(epsilon))


class LowerBoundFn(Function):
    """The bound of the GDN parameters (Ballé's ``LowerBound``; compressai.ops.LowerBound):
    forward max(x, b); backward (custom, not the derivative): the gradient passes where
    x ≥ b, or where it is negative (a descent step would push x back up above b):
        dx = dy·1[x ≥ b or dy < 0].
    So a parameter stuck below its bound can still come back."""

    @staticmethod
    def forward(ctx, x, bound):
        ctx.save_for_backward(x)
        ctx.bound = bound
        return ctx.xp.maximum(x, bound)

    @staticmethod
    def backward(ctx, gy):
        x, = ctx.saved_tensors
        return gy * ((x >= ctx.bound) | (gy < 0)), None


def _nonnegative(raw, minimum, pedestal):
    """β = max(β', √(minimum + pedestal))² − pedestal (compressai NonNegativeParametrizer)."""
    return LowerBoundFn.apply(raw, math.sqrt(minimum + pedestal)) ** 2 - pedestal


_PEDESTAL = (2.0 ** -18) ** 2


class GDN(Module):
    """Generalized divisive normalization over channels of (N, C, *) inputs (IGDN with
    ``inverse=True``): y_i = x_i/√(β_i + Σ_j γ_ij x_j²), or x_i·√(...).

    β and γ are stored reparameterized (compressai's ``GDN``): β = max(β', √(β_min + p))² − p,
    γ = max(γ', √p)² − p with p = 2^-36, the max a ``LowerBoundFn`` whose gradient lets a
    parameter below its bound come back; init β = 1, γ = ``gamma_init``·I.
    ``GDN(in_channels, inverse=False, beta_min=1e-6, gamma_init=0.1)``.
    Backward: ``GDNFn`` (see ``F.gdn``). Paper: Ballé, Laparra & Simoncelli 2016, "Density
    Modeling of Images using a Generalized Normalization Transformation".
    """

    def __init__(self, in_channels, inverse=False, beta_min=1e-6, gamma_init=0.1):
        super().__init__()
        self.in_channels, self.inverse = in_channels, bool(inverse)
        self.beta_min, self.gamma_init = float(beta_min), float(gamma_init)
        self.beta = Parameter((ones(in_channels) + _PEDESTAL).sqrt())
        self.gamma = Parameter((eye(in_channels) * gamma_init + _PEDESTAL).sqrt())

    def forward(self, x):
        if x.ndim < 2 or x.shape[1] != self.in_channels:
            raise ValueError(f"{type(self).__name__}({self.in_channels}): expected an input of "
                             f"shape (N, {self.in_channels}, *), got {tuple(x.shape)}")
        beta = _nonnegative(self.beta, self.beta_min, _PEDESTAL)
        gamma = _nonnegative(self.gamma, 0.0, _PEDESTAL)
        return gdn(x, beta, gamma, self.inverse)

    def extra_repr(self):
        return f"{self.in_channels}, inverse={self.inverse}, beta_min={self.beta_min}"


class IGDN(GDN):
    """Inverse GDN (decoders): y_i = x_i·√(β_i + Σ_j γ_ij x_j²); ``GDN(inverse=True)``.

    Backward: ``GDNFn`` (see ``F.gdn``). Paper: Ballé, Laparra & Simoncelli 2016, "Density
    Modeling of Images using a Generalized Normalization Transformation".
    """

    def __init__(self, in_channels, beta_min=1e-6, gamma_init=0.1):
        super().__init__(in_channels, True, beta_min, gamma_init)


# ------------------------------------------------------------------ N052 ActNorm
class ActNormFn(Function):
    """ActNorm (Kingma & Dhariwal 2018, Glow Table 1; used by the flows of Wu, Köhler & Noé
    2020), per channel c of x (N, C, *), L = number of positions per channel:
        y = (x − b_c)·exp(log s_c),     log|det ∂y/∂x| = L·Σ_c log s_c  (per sample),
    returned as (y, logdet of shape (N,)). Inverse: x = y·exp(−log s) + b.
    Backward, with s = exp(log s), dy and dlogdet the upstream gradients:
        dx = dy·s,   db_c = −Σ_{n,pos} dy·s,
        d(log s)_c = Σ_{n,pos} dy·(x − b)·s + L·Σ_n dlogdet_n.
    ``differentiable_forward``: the forward is its own composite form (second order).
    """
    differentiable_forward = True

    @staticmethod
    def forward(ctx, x, bias, log_scale):
        xp = ctx.xp
        shape = _channel_shape(x)
        s = xp.exp(log_scale.astype(x.dtype)).reshape(shape)
        centered = x - bias.astype(x.dtype).reshape(shape)
        L = math.prod(x.shape[2:])
        logdet = xp.ones((x.shape[0],), dtype=x.dtype) * (log_scale.astype(x.dtype).sum() * L)
        ctx.save_for_backward(centered, s)
        ctx.L = L
        return centered * s, logdet

    @staticmethod
    def backward(ctx, gy, gld):
        centered, s = ctx.saved_tensors
        axes = (0,) + tuple(range(2, gy.ndim))
        gs = gy * s
        dlog = (gs * centered).sum(axis=axes) + ctx.L * gld.sum()
        return gs, -gs.sum(axis=axes), dlog


def act_norm(x, bias, log_scale):
    """ActNorm: a per-channel affine map of x (N, C, *) and its log-determinant, for flows.

    y = (x − b)·exp(log s) per channel;  logdet_n = L·Σ_c log s_c (L = H·W, positions per
    channel). Returns ``(y, logdet)``, logdet of shape (N,).
    Backward: dx = dy·s, db = −Σ dy·s, d(log s) = Σ dy·(x − b)·s + L·Σ dlogdet;
    ``ActNormFn`` (help(minigrad.layers.normalization.flows.ActNormFn)).
    Arguments: ``act_norm(x, bias, log_scale)``, both (C,). The data-dependent init is the
    ``ActNorm`` module's.
    Paper: Wu, Köhler & Noé 2020, "Stochastic Normalizing Flows" (ActNorm from Kingma &
    Dhariwal 2018, Glow).
    """
    op = "act_norm"
    check_floating(op, x=x, bias=bias, log_scale=log_scale)
    _check_nc(op, x)
    C = x.shape[1]
    if tuple(bias.shape) != (C,) or tuple(log_scale.shape) != (C,):
        raise ValueError(f"{op}: expected bias and log_scale of shape ({C},) for an input of "
                         f"shape {tuple(x.shape)}, got {tuple(bias.shape)} and "
                         f"{tuple(log_scale.shape)}")
    return ActNormFn.apply(x, bias, log_scale)


class ActNorm(Module):
    """ActNorm with data-dependent initialization: the first batch seen in training sets
    b = its per-channel mean and log s = −log(std + ε) (biased std, Glow's init), so that
    this batch leaves with mean 0 and variance 1 per channel; the ``initialized`` buffer
    records it (saved in ``state_dict``, so a loaded model is not re-initialized).

    ``forward(x)`` returns ``(y, logdet)`` (see ``F.act_norm``), ``inverse(y)`` returns
    ``(x, −logdet)``. ``ActNorm(num_features, eps=1e-6)``.
    Backward: ``ActNormFn``. Paper: Wu, Köhler & Noé 2020, "Stochastic Normalizing Flows".
    """

    def __init__(self, num_features, eps=1e-6):
        super().__init__()
        self.num_features, self.eps = num_features, eps
        self.bias = Parameter(zeros(num_features))
        self.log_scale = Parameter(zeros(num_features))
        self.register_buffer("initialized", Tensor(0))

    def _check(self, x):
        if x.ndim < 2 or x.shape[1] != self.num_features:
            raise ValueError(f"ActNorm({self.num_features}): expected an input of shape "
                             f"(N, {self.num_features}, *), got {tuple(x.shape)}")

    def initialize_(self, x):
        """Set b and log s from the batch x (no gradient), and mark the layer initialized."""
        self._check(x)
        with no_grad():
            axes = (0,) + tuple(range(2, x.ndim))
            xd = x.detach()
            mean = xd.mean(axis=axes)
            std = ((xd - mean.reshape(_channel_shape(x))) ** 2).mean(axis=axes).sqrt()
            self.bias.copy_(mean.astype(self.bias.dtype))
            self.log_scale.copy_((-(std + self.eps).log()).astype(self.log_scale.dtype))
            self.initialized.fill_(1)
        return self

    def forward(self, x):
        self._check(x)
        if self.training and not int(self.initialized.item()):
            self.initialize_(x)
        return act_norm(x, self.bias.astype(x.dtype), self.log_scale.astype(x.dtype))

    def inverse(self, y):
        self._check(y)
        shape = _channel_shape(y)
        ls = self.log_scale.astype(y.dtype)
        x = y * (-ls).exp().reshape(shape) + self.bias.astype(y.dtype).reshape(shape)
        return x, -(ls.sum() * math.prod(y.shape[2:])) * ones(y.shape[0], dtype=y.dtype,
                                                              device=y.device)

    def extra_repr(self):
        return f"{self.num_features}, eps={self.eps}"


# ------------------------------------------------------------------ registry
def _gdn_checked(x, beta, gamma, inverse=False, alpha=2.0, epsilon=0.5, reparameterized=False,
                 beta_min=1e-6):
    """What the checks call: ``gdn`` on β, γ as given, or (``reparameterized``) on the raw
    parameters through the GDN module's bound (the custom part: ``LowerBoundFn``)."""
    if reparameterized:
        beta = _nonnegative(beta, beta_min, _PEDESTAL)
        gamma = _nonnegative(gamma, 0.0, _PEDESTAL)
    return gdn(x, beta, gamma, inverse, alpha, epsilon)


def _gdn_rule(arrays, kwargs, gy):
    """The documented gradient of ``_gdn_checked``: the exact GDN gradient (einsum over
    channels), chained through β = lb(β')² − p, γ = lb(γ')² − p with the LowerBound rule
    (pass where raw ≥ bound or the incoming gradient is negative)."""
    import numpy as np
    x, braw, graw = arrays
    alpha, eps = kwargs.get("alpha", 2.0), kwargs.get("epsilon", 0.5)
    e = eps if kwargs.get("inverse", False) else -eps
    bb = math.sqrt(kwargs.get("beta_min", 1e-6) + _PEDESTAL)
    bg = math.sqrt(_PEDESTAL)
    lbb, lbg = np.maximum(braw, bb), np.maximum(graw, bg)
    beta, gamma = lbb ** 2 - _PEDESTAL, lbg ** 2 - _PEDESTAL
    N, C = x.shape[:2]
    x3, g3 = x.reshape(N, C, -1), gy.reshape(N, C, -1)
    a = np.abs(x3) ** alpha
    D = beta[None, :, None] + np.einsum("ij,njl->nil", gamma, a)
    q = g3 * x3 * e * D ** (e - 1)
    back = np.einsum("ij,nil->njl", gamma, q)
    dx = g3 * D ** e + alpha * np.sign(x3) * np.abs(x3) ** (alpha - 1) * back
    out_b = q.sum(axis=(0, 2)) * 2 * lbb
    out_g = np.einsum("nil,njl->ij", q, a) * 2 * lbg
    out_b = out_b * ((braw >= bb) | (out_b < 0))
    out_g = out_g * ((graw >= bg) | (out_g < 0))
    return [dx.reshape(x.shape), out_b, out_g]


def _register():
    import numpy as np
    n = lambda r, *s: r.standard_normal(s)  # noqa: E731

    def gdn_inputs(r):
        def gamma(C):
            return r.uniform(0.05, 0.5, (C, C))

        raw_b = np.array([1.0, 1e-5, 0.8])              # one β' below its bound √(1e-6 + p)
        raw_g = r.uniform(0.1, 0.6, (3, 3))
        raw_g[0, 1] = -0.2                              # one γ' below its bound
        return [Case(n(r, 2, 3, 2, 2), r.uniform(0.5, 1.5, 3), gamma(3)),
                Case(n(r, 2, 3, 2, 2), r.uniform(0.5, 1.5, 3), gamma(3), inverse=True),
                Case(n(r, 3, 4), r.uniform(0.5, 1.5, 4), gamma(4)),
                Case(r.choice([-1.0, 1.0], (2, 2, 3)) * r.uniform(0.3, 2, (2, 2, 3)),
                     r.uniform(0.5, 1.5, 2), gamma(2), alpha=1.0, epsilon=1.0),
                Case(n(r, 2, 3, 2), r.uniform(0.5, 1.5, 3), gamma(3), alpha=1.5, epsilon=0.7,
                     inverse=True, atol=1e-5),
                Case(n(r, 2, 3, 2, 2), raw_b, raw_g, reparameterized=True, custom=True),
                Case(n(r, 2, 3, 2), raw_b, raw_g, inverse=True, reparameterized=True,
                     custom=True)]

    register(gdn, kind="normalization", catalog_id="N051", check="fd+custom", module=GDN,
             papers=["Density Modeling of Images using a Generalized Normalization "
                     "Transformation"],
             inputs=gdn_inputs, checked_as=_gdn_checked, backward_rule=_gdn_rule)
    register(act_norm, kind="normalization", catalog_id="N052", module=ActNorm,
             papers=["Stochastic Normalizing Flows"],
             inputs=lambda r: [Case(n(r, 2, 3, 2, 2), n(r, 3), n(r, 3) * 0.5),
                               Case(n(r, 4, 3), n(r, 3), n(r, 3) * 0.5),
                               Case(n(r, 1, 2, 5), n(r, 2), n(r, 2) * 0.5)])


_register()
