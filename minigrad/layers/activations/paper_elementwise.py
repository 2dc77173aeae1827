"""Elementwise activations from single papers: the absolute value of Depth-µP, the Gumbel
CDF of the Gumbel Optimized Loss, SmeLU and its generalized (leaky) form, CRReLU and the
Hysteresis ReLU (catalog A028, A042, A029, A031, A039).

Parameters that a paper learns (SmeLU's β and g, CRReLU's ε) are a float or a tensor of 1
or C values (channel axis 1, as in PReLU); as tensors they get gradients.
"""
from minigrad.autograd import Function
from minigrad.layers.activations._util import (channel_sum, channel_view, filled,
                                               normal_away_from_kinks)
from minigrad.layers.module import Module, Parameter
from minigrad.ops._checks import check_floating
from minigrad.ops.elementwise import Abs as AbsFn  # the primitive; ``Abs`` below is the Module
from minigrad.registry import Case, register
from minigrad.tensor import Tensor

GUMBEL_FLOOR = -40.0   # exp(-exp(40)) = 0 in every float type: the clamp changes no value


def _param(ctx, value, x, op, name):
    """Stash a float or a (1,)/(C,) parameter for backward; returns its broadcastable form."""
    if hasattr(value, "shape"):
        view = channel_view(value, x, op)
        setattr(ctx, name + "_shape", value.shape)
        return view
    setattr(ctx, name + "_shape", None)
    setattr(ctx, name, value)
    return value


class GumbelActivationFn(Function):
    """Gumbel activation (Alexandridis et al. 2022, "Long-tailed Instance Segmentation using
    Gumbel Optimized Loss"; kostas1515/GOL mmdet/models/losses/gumbel_ce.py, which writes
    it 1/exp(exp(−z))): the Gumbel CDF in place of the sigmoid.

    y = G(z) = exp(−exp(−z));  dy/dz = G(z)·exp(−z) (chain rule: d(−e^(−z))/dz = e^(−z)).
    e^(−z) is computed from max(z, −40): below −40 the true y and y·e^(−z) are already 0
    in every float type, and e^(−z) itself would overflow to inf and give 0·inf = NaN.
    """
    differentiable_backward = True

    @staticmethod
    def forward(ctx, z):
        xp = ctx.xp
        y = xp.exp(-xp.exp(-xp.maximum(z, GUMBEL_FLOOR)))
        ctx.save_for_backward(z, y)
        return y

    @staticmethod
    def backward(ctx, gy):
        z, y = ctx.saved_tensors
        xp = ctx.xp
        return gy * y * xp.exp(-xp.maximum(z, GUMBEL_FLOOR))


class SmeluFn(Function):
    """SmeLU and generalized SmeLU (Shamir, Lin & Coviello 2020, "Smooth activations and
    reproducibility in deep networks"; SmeLU as in ChristophReich1996/SmeLU smelu/smelu.py).

    With half-width β > 0 and left slope g (g = 0: SmeLU):
        y = g·x                                         x ≤ −β
        y = (1 − g)x²/(4β) + (1 + g)x/2 + β(1 − g)/4      |x| < β
        y = x                                           x ≥ β
    (g = 0 gives (x + β)²/(4β); the whole family is the leaky ReLU of slope g convolved
    with the uniform kernel on [−β, β], so it is C¹ with knots at ±β.)
    Backward, piece by piece:
        dy/dx = g;  (1 − g)x/(2β) + (1 + g)/2;  1
        dy/dβ = 0;  (1 − g)/4·(1 − x²/β²);  0         (d/dβ of each middle term)
        dy/dg = x;  −(x − β)²/(4β);  0                 (−x²/(4β) + x/2 − β/4)
    β and g sum over every position that shares them. Both are continuous at the knots.
    """
    differentiable_backward = True

    @staticmethod
    def forward(ctx, x, beta, slope):
        xp = ctx.xp
        b = _param(ctx, beta, x, "smelu", "beta")
        g = _param(ctx, slope, x, "smelu", "slope")
        ctx.save_for_backward(x, *[v for v in (b, g) if hasattr(v, "shape")])
        mid = (1 - g) * x * x / (4 * b) + (1 + g) * x / 2 + b * (1 - g) / 4
        return xp.where(x >= b, x, xp.where(x <= -b, g * x + 0.0, mid))   # + 0.0: no −0 when g = 0

    @staticmethod
    def backward(ctx, gy):
        xp = ctx.xp
        saved = list(ctx.saved_tensors)
        x = saved.pop(0)
        b = saved.pop(0) if ctx.beta_shape is not None else ctx.beta
        g = saved.pop(0) if ctx.slope_shape is not None else ctx.slope
        right, left = x >= b, x <= -b
        gx = gb = gg = None
        if ctx.needs_input_grad[0]:
            inner = (1 - g) * x / (2 * b) + (1 + g) / 2
            gx = gy * xp.where(right, 1.0, xp.where(left, g + 0 * x, inner))
        if ctx.beta_shape is not None and ctx.needs_input_grad[1]:
            d = (1 - g) / 4 * (1 - x * x / (b * b))
            gb = channel_sum(gy * xp.where(right, 0.0, xp.where(left, 0.0, d)), ctx.beta_shape)
        if ctx.slope_shape is not None and ctx.needs_input_grad[2]:
            d = -(x - b) * (x - b) / (4 * b)
            gg = channel_sum(gy * xp.where(right, 0.0, xp.where(left, x, d)), ctx.slope_shape)
        return gx, gb, gg


class CrreluFn(Function):
    """CRReLU (Sun et al. 2024, "A Method on Searching Better Activation Functions"):
    y = ReLU(x) + ε·x·exp(−x²/2), ε learnable (init 0.01).

    dy/dx = 1[x > 0] + ε(1 − x²)·exp(−x²/2)   (product rule on x·e^(−x²/2));
    dy/dε = x·exp(−x²/2), summed over every position that shares ε. ReLU's kink at 0
    takes slope 0 there, as PyTorch's ReLU.
    """
    differentiable_backward = True

    @staticmethod
    def forward(ctx, x, eps):
        xp = ctx.xp
        e = _param(ctx, eps, x, "crrelu", "eps")
        ctx.save_for_backward(x, *([e] if hasattr(e, "shape") else []))
        return xp.maximum(x, 0) + e * x * xp.exp(-0.5 * x * x)

    @staticmethod
    def backward(ctx, gy):
        xp = ctx.xp
        saved = ctx.saved_tensors
        x = saved[0]
        e = saved[1] if ctx.eps_shape is not None else ctx.eps
        bump = xp.exp(-0.5 * x * x)
        gx = ge = None
        if ctx.needs_input_grad[0]:
            gx = xp.where(x > 0, gy, 0.0) + gy * e * (1 - x * x) * bump
        if ctx.eps_shape is not None and ctx.needs_input_grad[1]:
            ge = channel_sum(gy * x * bump, ctx.eps_shape)
        return gx, ge


class HeluFn(Function):
    """HeLU, the Hysteresis ReLU (Kimhi, Kashani, Baskin & Mendelson 2024, "Hysteresis
    Activation Function for Efficient Inference"; idankdev/helu helu.py).

    Forward: y = max(0, x) (ReLU, the threshold-0 test at inference).
    Backward (a documented rule, NOT the derivative): dx = dy·1[x > −α], α = 0.05: the
    backward threshold is shifted left so that units just below 0 still learn (against
    dying ReLU). It differs from ReLU's derivative only on (−α, 0].
    """
    differentiable_backward = True

    @staticmethod
    def forward(ctx, x, alpha):
        ctx.save_for_backward(x)
        ctx.alpha = alpha
        return ctx.xp.maximum(x, 0)

    @staticmethod
    def backward(ctx, gy):
        x, = ctx.saved_tensors
        return ctx.xp.where(x > -ctx.alpha, gy, 0.0), None


# ------------------------------------------------------------------ functional
def _scalar_or_tensor(op, name, value):
    if isinstance(value, Tensor):
        check_floating(op, **{name: value})
        return value
    return float(value)


def abs_activation(x):
    """|x| as an activation (Depth-µP's recommended nonlinearity).

    y = |x|,  dy/dx = sign(x) (0 at x = 0). The row is literally the primitive ``abs``, so
    this is that op. Backward: ``Abs`` (help(minigrad.ops.elementwise.Abs)).
    Paper: Yang, Yu, Zhu & Hayou 2023, "Tensor Programs VI: Feature Learning in
    Infinite-Depth Neural Networks". PyTorch: ``torch.abs``.
    """
    check_floating("abs_activation", x=x)
    return AbsFn.apply(x)


def gumbel_activation(x):
    """The Gumbel CDF as an output activation (in place of the sigmoid).

    y = exp(−exp(−x)),  dy/dx = y·exp(−x); finite for every finite x (0 below x ≈ −6.6).
    Backward: ``GumbelActivationFn`` (help(minigrad.layers.activations.paper_elementwise.GumbelActivationFn)).
    Paper: Alexandridis, Deng, Nguyen & Luo 2022, "Long-tailed Instance Segmentation using
    Gumbel Optimized Loss". Deviation: the official loss (kostas1515/GOL,
    mmdet/models/losses/gumbel_ce.py) clamps logits to [−4, 10] before this function; that
    clamp belongs to the loss, not to the activation, and is not applied here.
    """
    check_floating("gumbel_activation", x=x)
    return GumbelActivationFn.apply(x)


def smelu(x, beta=2.0, slope=0.0):
    """SmeLU (``slope`` = 0) and generalized SmeLU (left slope g = ``slope``).

    y = g·x (x ≤ −β);  (1 − g)x²/(4β) + (1 + g)x/2 + β(1 − g)/4 (|x| < β);  x (x ≥ β);
    g = 0 gives SmeLU, (x + β)²/(4β) in the middle.
    Backward: ``SmeluFn`` (help(minigrad.layers.activations.paper_elementwise.SmeluFn)).
    Paper: Shamir, Lin & Coviello 2020, "Smooth activations and reproducibility in deep
    networks". ``beta`` = 2.0 (ChristophReich1996/SmeLU's default; must be > 0), ``slope``
    = 0.0; each a float or a tensor of 1 or C values (channel axis 1) that can be learned.
    Not in PyTorch.
    """
    check_floating("smelu", x=x)
    beta = _scalar_or_tensor("smelu", "beta", beta)
    slope = _scalar_or_tensor("smelu", "slope", slope)
    if not isinstance(beta, Tensor) and not beta > 0:
        raise ValueError(f"smelu: beta (the half-width of the quadratic piece) must be "
                         f"positive, got {beta}")
    return SmeluFn.apply(x, beta, slope)


def crrelu(x, eps=0.01):
    """CRReLU: ReLU plus a learnable Gaussian-weighted correction.

    y = max(0, x) + ε·x·exp(−x²/2),  dy/dx = 1[x > 0] + ε(1 − x²)exp(−x²/2),
    dy/dε = x·exp(−x²/2).
    Backward: ``CrreluFn`` (help(minigrad.layers.activations.paper_elementwise.CrreluFn)).
    Paper: Sun et al. 2024, "A Method on Searching Better Activation Functions". ``eps`` =
    0.01 (the paper's initial ε), a float or a tensor of 1 or C values (axis 1).
    """
    check_floating("crrelu", x=x)
    return CrreluFn.apply(x, _scalar_or_tensor("crrelu", "eps", eps))


def helu(x, alpha=0.05):
    """Hysteresis ReLU: ReLU forward, backward threshold shifted to −alpha.

    y = max(0, x);  backward dx = dy·1[x > −α] (a documented rule, not the derivative).
    Backward: ``HeluFn`` (help(minigrad.layers.activations.paper_elementwise.HeluFn)).
    Paper: Kimhi, Kashani, Baskin & Mendelson 2024, "Hysteresis Activation Function for
    Efficient Inference". ``alpha`` = 0.05 (idankdev/helu); must be ≥ 0 (0 gives ReLU's own backward).
    """
    check_floating("helu", x=x)
    if not alpha >= 0:
        raise ValueError(f"helu: alpha (the backward threshold shift) must be >= 0, got {alpha}")
    return HeluFn.apply(x, float(alpha))


# ------------------------------------------------------------------ modules
class Abs(Module):
    """y = |x| as an activation; backward ``Abs`` (see ``F.abs_activation``).

    Paper: Yang, Yu, Zhu & Hayou 2023, "Tensor Programs VI: Feature Learning in
    Infinite-Depth Neural Networks".
    """

    def forward(self, x):
        return abs_activation(x)


class GumbelActivation(Module):
    """y = exp(−exp(−x)); backward ``GumbelActivationFn`` (see ``F.gumbel_activation``).

    Paper: Alexandridis, Deng, Nguyen & Luo 2022, "Long-tailed Instance Segmentation using
    Gumbel Optimized Loss".
    """

    def forward(self, x):
        return gumbel_activation(x)


class SmeLU(Module):
    """SmeLU / generalized SmeLU: y = g·x (x ≤ −β), (1 − g)x²/(4β) + (1 + g)x/2 + β(1 − g)/4
    (|x| < β), x (x ≥ β). ``SmeLU(beta=2.0, slope=0.0, learnable=False,
    num_parameters=1)``: with ``learnable=True`` β and g are Parameters (1 shared value or
    one per channel, axis 1) initialised to ``beta`` and ``slope``.

    Backward: ``SmeluFn`` (see ``F.smelu``). Paper: Shamir, Lin & Coviello 2020, "Smooth
    activations and reproducibility in deep networks".
    """

    def __init__(self, beta=2.0, slope=0.0, learnable=False, num_parameters=1):
        super().__init__()
        if not beta > 0:
            raise ValueError(f"SmeLU: beta must be positive, got {beta}")
        self.learnable, self.num_parameters = learnable, num_parameters
        if learnable:
            self.beta = Parameter(filled(num_parameters, beta))
            self.slope = Parameter(filled(num_parameters, slope))
        else:
            self.beta, self.slope = float(beta), float(slope)

    def forward(self, x):
        return smelu(x, self.beta, self.slope)

    def extra_repr(self):
        if self.learnable:
            return f"num_parameters={self.num_parameters}, learnable=True"
        return f"beta={self.beta}, slope={self.slope}"


class CRReLU(Module):
    """y = ReLU(x) + ε·x·exp(−x²/2) with a learnable ε (``num_parameters`` = 1 shared value
    or one per channel, axis 1), initialised to ``init`` = 0.01.

    Backward: ``CrreluFn`` (see ``F.crrelu``). Paper: Sun et al. 2024, "A Method on Searching
    Better Activation Functions".
    """

    def __init__(self, num_parameters=1, init=0.01):
        super().__init__()
        self.num_parameters = num_parameters
        self.eps = Parameter(filled(num_parameters, init))

    def forward(self, x):
        return crrelu(x, self.eps)

    def extra_repr(self):
        return f"num_parameters={self.num_parameters}"


class HeLU(Module):
    """Hysteresis ReLU, ``HeLU(alpha=0.05)``: y = max(0, x); backward dx = dy·1[x > −alpha].

    Backward: ``HeluFn`` (see ``F.helu``). Paper: Kimhi, Kashani, Baskin & Mendelson 2024,
    "Hysteresis Activation Function for Efficient Inference".
    """

    def __init__(self, alpha=0.05):
        super().__init__()
        if not alpha >= 0:
            raise ValueError(f"HeLU: alpha must be >= 0, got {alpha}")
        self.alpha = alpha

    def forward(self, x):
        return helu(x, self.alpha)

    def extra_repr(self):
        return f"alpha={self.alpha}"


# ------------------------------------------------------------------ registry
def _helu_rule(arrays, kwargs, gy):
    x = arrays[0]
    return [gy * (x > -kwargs.get("alpha", 0.05))]


def _register_all():
    n = lambda r, *s: r.standard_normal(s)  # noqa: E731
    register(abs_activation, kind="activation", catalog_id="A028", module=Abs,
             papers=["Tensor Programs VI: Feature Learning in Infinite-Depth Neural Networks"],
             inputs=lambda r: [Case(normal_away_from_kinks(r, (3, 4), [0.0])), Case(normal_away_from_kinks(r, (2, 3, 2), [0.0]))])
    register(gumbel_activation, kind="activation", catalog_id="A042", module=GumbelActivation,
             papers=["Long-tailed Instance Segmentation using Gumbel Optimized Loss"],
             inputs=lambda r: [Case(2 * n(r, 3, 4)), Case(n(r, 2, 3, 2) + 1.0)])
    register(smelu, kind="activation", catalog_id="A029", module=SmeLU,
             papers=["Smooth activations and reproducibility in deep networks"],
             inputs=lambda r: [
                 Case(normal_away_from_kinks(r, (3, 4), [-2.0, 2.0], scale=2.5)),
                 Case(normal_away_from_kinks(r, (3, 4), [-1.0, 1.0]), beta=1.0, slope=0.1),
                 # learnable β (0.8) and g (0.2, per channel): the knots ±0.8 are kept clear
                 Case(normal_away_from_kinks(r, (2, 3, 2), [-0.8, 0.8], scale=1.5), r.uniform(0.79, 0.81, (1,)),
                      r.uniform(-0.3, 0.3, (3,))),
                 Case(normal_away_from_kinks(r, (4, 5), [-1.5, 1.5], scale=2.0), r.uniform(1.49, 1.51, (1,)),
                      r.uniform(0.0, 0.2, (1,)))])
    register(crrelu, kind="activation", catalog_id="A031", module=CRReLU,
             papers=["A Method on Searching Better Activation Functions"],
             inputs=lambda r: [Case(normal_away_from_kinks(r, (3, 4), [0.0])),
                               Case(normal_away_from_kinks(r, (3, 4), [0.0]), eps=0.3),
                               Case(normal_away_from_kinks(r, (2, 3, 2), [0.0]), r.uniform(-0.5, 0.5, (3,))),
                               Case(normal_away_from_kinks(r, (3, 4), [0.0]), r.uniform(0.0, 0.1, (1,)))])
    register(helu, kind="activation", catalog_id="A039", module=HeLU, check="custom",
             papers=["Hysteresis Activation Function for Efficient Inference"],
             backward_rule=_helu_rule,
             inputs=lambda r: [Case(normal_away_from_kinks(r, (3, 4), [0.0], gap=0.0, scale=0.1)),
                               Case(n(r, 2, 3, 2), alpha=0.5),
                               Case(r.uniform(-0.2, 0.2, (5, 4)), alpha=0.0)])


_register_all()
