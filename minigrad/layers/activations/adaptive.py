"""Adaptive Parametric Activation: APA and its gated form AGLU (catalog A043, A044).

Alexandridis, Deng, Nguyen & Luo 2024, "Adaptive Parametric Activation" (ECCV); the
method as in the official code kostas1515/AGLU (README.md ``Unified``,
classification/cbam.py) and ultralytics/nn/modules/activation.py ``AGLU``:

    APA(z; κ, λ) = (λ·exp(−κz) + 1)^(−1/λ),    AGLU(z) = z·APA(z; κ, λ),

computed as the code does, in log space: exp((1/λ)·softplus_{β=−1}(κz − log λ)), i.e.
APA = σ(u)^(1/λ) with u = κz − log λ, log σ(u) taken stably. λ is clamped to ≥ 1e-4
(``torch.clamp(lambd, min=0.0001)``); κ and λ are learnable (1 shared value, or one per
channel on axis 1 as in cbam.py's ``num_parameters``), initialised U(0, 1).
λ = κ = 1 gives the sigmoid (APA) and SiLU (AGLU); λ → 0 the Gumbel CDF exp(−e^(−κz)).
"""
import math

from minigrad.autograd import Function
from minigrad.layers import init
from minigrad.layers.activations._util import channel_sum, filled, stash_parameter
from minigrad.layers.module import Module, Parameter
from minigrad.ops._checks import check_floating
from minigrad.registry import Case, register
from minigrad.tensor import Tensor

LAMBDA_MIN = 1e-4


def _clamped(xp, lam):
    return max(lam, LAMBDA_MIN) if isinstance(lam, float) else xp.maximum(lam, LAMBDA_MIN)


def _log(xp, v):
    return math.log(v) if isinstance(v, float) else xp.log(v)


def _apa_parts(xp, x, lc, k):
    """u = κx − log λ;  log σ(u) = min(u, 0) − log1p(e^(−|u|));  q = σ(−u);
    p = exp(log σ(u)/λ). Every piece is finite for finite inputs."""
    u = k * x - _log(xp, lc)
    e = xp.exp(-xp.abs(u))
    log_sig = xp.minimum(u, 0.0) - xp.log1p(e)
    q = xp.where(u >= 0, e, 1.0) / (1.0 + e)
    return log_sig, q, xp.exp(log_sig / lc)


class _ApaBase(Function):
    """Shared forward/backward of APA (``gated`` = False) and AGLU (``gated`` = True).

    With u = κz − log λ, s = log σ(u), q = σ(−u) = 1 − σ(u), p = APA = exp(s/λ):
        ∂p/∂u = p·(1/λ)·q                        (d log σ(u)/du = σ(−u))
        ∂p/∂z = κ·p·q/λ,   ∂p/∂κ = z·p·q/λ        (∂u/∂z = κ, ∂u/∂κ = z)
        ∂p/∂λ = p·(−s/λ² − q/λ²) = p·(softplus(−u) − σ(−u))/λ²
                 (the exponent 1/λ gives −s/λ², and ∂u/∂λ = −1/λ gives −q/λ²);
    equal to the catalog's APA·[log1p(λe^(−κz))/λ² − e^(−κz)/(λ(λe^(−κz) + 1))].
    AGLU y = z·p: ∂y/∂z = p + z·∂p/∂z, ∂y/∂κ = z·∂p/∂κ, ∂y/∂λ = z·∂p/∂λ.
    The λ gradient is 0 where λ < 1e-4 (the clamp is active; torch.clamp's rule), and κ, λ
    gradients sum over every position that shares them.
    """
    differentiable_backward = True
    gated = False

    @classmethod
    def _forward(cls, ctx, x, lambd, kappa):
        xp = ctx.xp
        lam = stash_parameter(ctx, "lambd", lambd, x, cls.op)
        k = stash_parameter(ctx, "kappa", kappa, x, cls.op)
        ctx.save_for_backward(x, *[v for v in (lam, k) if hasattr(v, "shape")])
        _, _, p = _apa_parts(xp, x, _clamped(xp, lam), k)
        return x * p if cls.gated else p

    @classmethod
    def _backward(cls, ctx, gy):
        xp = ctx.xp
        saved = list(ctx.saved_tensors)
        x = saved.pop(0)
        lam = saved.pop(0) if ctx.lambd_shape is not None else ctx.lambd
        k = saved.pop(0) if ctx.kappa_shape is not None else ctx.kappa
        lc = _clamped(xp, lam)
        log_sig, q, p = _apa_parts(xp, x, lc, k)
        dp_du = p * q / lc
        outer = gy * x if cls.gated else gy          # dy/dp = z for AGLU, 1 for APA
        gx = gl = gk = None
        if ctx.needs_input_grad[0]:
            gx = outer * k * dp_du
            if cls.gated:
                gx = gx + gy * p
        if ctx.lambd_shape is not None and ctx.needs_input_grad[1]:
            g = outer * p * (-log_sig - q) / (lc * lc)
            gl = channel_sum(xp.where(lam >= LAMBDA_MIN, g, 0.0), ctx.lambd_shape)
        if ctx.kappa_shape is not None and ctx.needs_input_grad[2]:
            gk = channel_sum(outer * x * dp_du, ctx.kappa_shape)
        return gx, gl, gk


class ApaFn(_ApaBase):
    """APA (Alexandridis et al. 2024): y = (λe^(−κz) + 1)^(−1/λ); derivation in ``_ApaBase``."""
    op = "apa"

    @staticmethod
    def forward(ctx, x, lambd, kappa):
        return ApaFn._forward(ctx, x, lambd, kappa)

    @staticmethod
    def backward(ctx, gy):
        return ApaFn._backward(ctx, gy)


class AgluFn(_ApaBase):
    """AGLU (Alexandridis et al. 2024): y = z·APA(z; κ, λ); derivation in ``_ApaBase``."""
    op = "aglu"
    gated = True

    @staticmethod
    def forward(ctx, x, lambd, kappa):
        return AgluFn._forward(ctx, x, lambd, kappa)

    @staticmethod
    def backward(ctx, gy):
        return AgluFn._backward(ctx, gy)


# ------------------------------------------------------------------ functional
def _args(op, x, lambd, kappa):
    check_floating(op, x=x)
    out = []
    for name, v in (("lambd", lambd), ("kappa", kappa)):
        if isinstance(v, Tensor):
            check_floating(op, **{name: v})
            out.append(v)
        else:
            out.append(float(v))
    return out


def apa(x, lambd=1.0, kappa=1.0):
    """Adaptive Parametric Activation, an output (classification) activation.

    y = (λ·exp(−κx) + 1)^(−1/λ) = σ(κx − log λ)^(1/λ), λ clamped to ≥ 1e-4.
    Backward: ``ApaFn`` (help(minigrad.layers.activations.adaptive.ApaFn)).
    Paper: Alexandridis, Deng, Nguyen & Luo 2024, "Adaptive Parametric Activation".
    ``lambd`` = 1.0, ``kappa`` = 1.0 (the sigmoid), each a float or a tensor of 1 or C
    values (channel axis 1) that can be learned (``nn.APA`` initialises both U(0, 1)).
    Deviation: the official code's softplus(β=−1) switches to its linear asymptote below
    κx − log λ < −20 (an error ≤ 2e-9 in log APA); here log σ is exact everywhere.
    """
    return ApaFn.apply(x, *_args("apa", x, lambd, kappa))


def aglu(x, lambd=1.0, kappa=1.0):
    """Adaptive Generalised Linear Unit, the hidden-layer form of APA.

    y = x·(λ·exp(−κx) + 1)^(−1/λ), λ clamped to ≥ 1e-4 (λ = κ = 1: SiLU).
    Backward: ``AgluFn`` (help(minigrad.layers.activations.adaptive.AgluFn)).
    Paper: Alexandridis, Deng, Nguyen & Luo 2024, "Adaptive Parametric Activation".
    ``lambd`` = 1.0, ``kappa`` = 1.0, floats or tensors of 1 or C values (axis 1).
    Deviation as in ``apa`` (exact log σ below the code's softplus threshold).
    """
    return AgluFn.apply(x, *_args("aglu", x, lambd, kappa))


# ------------------------------------------------------------------ modules
class _Adaptive(Module):
    def __init__(self, num_parameters=1, lambd=None, kappa=None, generator=None):
        super().__init__()
        self.num_parameters = num_parameters
        for name, value in (("lambd", lambd), ("kappa", kappa)):
            p = Parameter(filled(num_parameters, 0.0 if value is None else value))
            if value is None:
                init.uniform_(p, 0.0, 1.0, generator=generator)
            setattr(self, name, p)

    def extra_repr(self):
        return f"num_parameters={self.num_parameters}"


class APA(_Adaptive):
    """APA(z) = (λe^(−κz) + 1)^(−1/λ) with learnable λ, κ, ``APA(num_parameters=1,
    lambd=None, kappa=None, generator=None)``: 1 shared value or one per channel (axis 1),
    U(0, 1) as the official code unless ``lambd``/``kappa`` give a starting value.

    Backward: ``ApaFn`` (see ``F.apa``). Paper: Alexandridis, Deng, Nguyen & Luo 2024,
    "Adaptive Parametric Activation".
    """

    def forward(self, x):
        return apa(x, self.lambd, self.kappa)


class AGLU(_Adaptive):
    """AGLU(z) = z·(λe^(−κz) + 1)^(−1/λ) with learnable λ, κ (arguments as ``APA``).

    Backward: ``AgluFn`` (see ``F.aglu``). Paper: Alexandridis, Deng, Nguyen & Luo 2024,
    "Adaptive Parametric Activation".
    """

    def forward(self, x):
        return aglu(x, self.lambd, self.kappa)


# ------------------------------------------------------------------ registry
def _cases(r):
    n = lambda *s: r.standard_normal(s)  # noqa: E731
    return [Case(2 * n(3, 4)),
            Case(2 * n(3, 4), lambd=0.3, kappa=1.7),
            Case(2 * n(3, 4), r.uniform(0.2, 1.0, (1,)), r.uniform(0.2, 1.0, (1,))),
            Case(n(2, 3, 2), r.uniform(0.2, 1.5, (3,)), r.uniform(-1.0, 1.5, (3,))),
            # λ below the clamp: APA = σ(κz + 9.21)^10000, no λ gradient
            Case(n(3, 4) + 3.0, r.uniform(2e-5, 8e-5, (1,)), r.uniform(0.5, 1.0, (1,)))]


def _register_all():
    papers = ["Adaptive Parametric Activation"]
    register(apa, kind="activation", catalog_id="A043", module=APA, papers=papers, inputs=_cases)
    register(aglu, kind="activation", catalog_id="A044", module=AGLU, papers=papers, inputs=_cases)


_register_all()
