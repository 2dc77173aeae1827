"""Rectifiers: ReLU, LeakyReLU, PReLU, ELU, SELU, CELU (catalog A001–A006).

Each backward keeps the mask or the output rather than the input where that is enough,
and follows PyTorch's conventions at the kink x = 0 (ReLU: slope 0; Leaky/PReLU: slope
α; ELU family: the left branch).
"""
from minigrad.autograd import Function
from minigrad.layers.activations._util import channel_sum, channel_view, filled
from minigrad.layers.module import Module, Parameter
from minigrad.ops._checks import check_floating
from minigrad.registry import Case, register

SURVEY = "Three Decades of Activations: A Comprehensive Survey of 400 Activation Functions for Neural Networks"


class ReluFn(Function):
    """ReLU (Nair & Hinton 2010; He et al. 2015, "Delving Deep into Rectifiers").

    y = max(0, x);  dy/dx = 1[x > 0] (0 at x = 0, as in PyTorch). The output is saved:
    y > 0 exactly where x > 0, so no copy of the input is kept.
    """
    @staticmethod
    def forward(ctx, x):
        y = ctx.xp.maximum(x, 0)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, gy):
        y, = ctx.saved_tensors
        return ctx.backend.kernels("activation").relu_backward(gy, y)   # gy·1[y > 0]

    @staticmethod
    def composite(x):
        from minigrad.ops.elementwise import where
        return where(x > 0, x, 0.0)



class LeakyReluFn(Function):
    """LeakyReLU (Maas et al. 2013; SRGAN uses α = 0.2 in its discriminator).

    y = x if x > 0 else α·x;  dy/dx = 1[x > 0] + α·1[x ≤ 0] (slope α at 0, as in PyTorch).
    """
    differentiable_backward = True

    @staticmethod
    def forward(ctx, x, slope):
        positive = x > 0
        ctx.save_for_backward(positive)
        ctx.slope = slope
        return ctx.xp.where(positive, x, slope * x)

    @staticmethod
    def backward(ctx, gy):
        positive, = ctx.saved_tensors
        return ctx.xp.where(positive, gy, ctx.slope * gy), None


class PreluFn(Function):
    """PReLU (He et al. 2015, "Delving Deep into Rectifiers"): a learnable negative slope.

    y = max(0, x) + a·min(0, x), a of shape (1,) (shared) or (C,) (one per channel, axis 1).
    dy/dx = 1[x > 0] + a·1[x ≤ 0];  dy/da = min(0, x), summed over every position that
    shares a (batch and spatial axes; all axes for a shared a).
    """
    differentiable_backward = True

    @staticmethod
    def forward(ctx, x, a):
        ab = channel_view(a, x, "prelu")
        ctx.save_for_backward(x, ab)
        ctx.a_shape = a.shape
        return ctx.xp.where(x > 0, x, ab * x)

    @staticmethod
    def backward(ctx, gy):
        x, ab = ctx.saved_tensors
        xp = ctx.xp
        positive = x > 0
        gx = xp.where(positive, gy, ab * gy) if ctx.needs_input_grad[0] else None
        ga = None
        if ctx.needs_input_grad[1]:
            ga = channel_sum(xp.where(positive, 0, gy * x), ctx.a_shape)
        return gx, ga


class EluFn(Function):
    """ELU (Clevert et al. 2016).

    y = x (x > 0), α(eˣ − 1) (x ≤ 0), with the left branch as expm1(min(x, 0)) so the
    unused branch never overflows. dy/dx = 1 (x > 0), αeˣ = y + α (x ≤ 0), from the
    saved output. C¹ at 0 only for α = 1.
    """
    differentiable_backward = True

    @staticmethod
    def forward(ctx, x, alpha):
        xp = ctx.xp
        positive = x > 0
        y = xp.where(positive, x, alpha * xp.expm1(xp.minimum(x, 0)))
        ctx.save_for_backward(positive, y)
        ctx.alpha = alpha
        return y

    @staticmethod
    def backward(ctx, gy):
        positive, y = ctx.saved_tensors
        return ctx.xp.where(positive, gy, gy * (y + ctx.alpha)), None


SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


class SeluFn(Function):
    """SELU (Klambauer et al. 2017, "Self-Normalizing Neural Networks").

    y = λ·(x if x > 0 else α(eˣ − 1)), λ = 1.0507009873554805, α = 1.6732632423543772;
    dy/dx = λ (x > 0), λαeˣ = y + λα (x ≤ 0). Kink at 0 (left slope λα ≈ 1.758, right λ).
    Pair with LeCun-normal init (``init.kaiming_normal_(w, nonlinearity='linear')``).
    """
    differentiable_backward = True

    @staticmethod
    def forward(ctx, x):
        xp = ctx.xp
        positive = x > 0
        y = SELU_SCALE * xp.where(positive, x, SELU_ALPHA * xp.expm1(xp.minimum(x, 0)))
        ctx.save_for_backward(positive, y)
        return y

    @staticmethod
    def backward(ctx, gy):
        positive, y = ctx.saved_tensors
        return ctx.xp.where(positive, SELU_SCALE * gy, gy * (y + SELU_SCALE * SELU_ALPHA))


class CeluFn(Function):
    """CELU (Barron 2017, "Continuously Differentiable Exponential Linear Units").

    y = max(0, x) + min(0, α(e^(x/α) − 1));  dy/dx = 1 (x > 0), e^(x/α) = y/α + 1 (x ≤ 0).
    C¹ for every α > 0; identical to ELU for α = 1.
    """
    differentiable_backward = True

    @staticmethod
    def forward(ctx, x, alpha):
        xp = ctx.xp
        positive = x > 0
        y = xp.where(positive, x, alpha * xp.expm1(xp.minimum(x, 0) / alpha))
        ctx.save_for_backward(positive, y)
        ctx.alpha = alpha
        return y

    @staticmethod
    def backward(ctx, gy):
        positive, y = ctx.saved_tensors
        return ctx.xp.where(positive, gy, gy * (y / ctx.alpha + 1)), None


# ------------------------------------------------------------------ functional
def relu(x):
    """max(0, x) elementwise.

    y = max(0, x),  dy/dx = 1[x > 0] (0 at x = 0, as in PyTorch).
    Backward: ``ReluFn`` (help(minigrad.layers.activations.rectifiers.ReluFn)).
    Paper: Nair & Hinton 2010, "Rectified Linear Units Improve Restricted Boltzmann Machines".
    Deviation: no ``inplace`` argument (PyTorch's ``F.relu(input, inplace=False)``).
    """
    check_floating("relu", x=x)
    return ReluFn.apply(x)


def leaky_relu(x, negative_slope=0.01):
    """x for x > 0, negative_slope·x otherwise.

    y = x if x > 0 else α·x (α = ``negative_slope`` = 0.01),  dy/dx = 1[x > 0] + α·1[x ≤ 0].
    Backward: ``LeakyReluFn`` (help(minigrad.layers.activations.rectifiers.LeakyReluFn)).
    Paper: Maas, Hannun & Ng 2013, "Rectifier Nonlinearities Improve Neural Network Acoustic
    Models". No ``inplace`` argument.
    """
    check_floating("leaky_relu", x=x)
    return LeakyReluFn.apply(x, float(negative_slope))


def prelu(x, weight):
    """max(0, x) + weight·min(0, x); ``weight`` has 1 value (shared) or one per channel (axis 1).

    y = max(0, x) + a·min(0, x),  dy/dx = 1[x > 0] + a·1[x ≤ 0],  dy/da = Σ min(0, x) over the
    positions sharing a. Backward: ``PreluFn`` (help(minigrad.layers.activations.rectifiers.PreluFn)).
    Paper: He, Zhang, Ren & Sun 2015, "Delving Deep into Rectifiers: Surpassing Human-Level
    Performance on ImageNet Classification".
    """
    check_floating("prelu", x=x, weight=weight)
    return PreluFn.apply(x, weight)


def elu(x, alpha=1.0):
    """x for x > 0, alpha·(eˣ − 1) otherwise.

    y = x (x > 0), α(eˣ − 1) (x ≤ 0), α = ``alpha`` = 1.0;  dy/dx = 1 (x > 0), y + α (x ≤ 0).
    Backward: ``EluFn`` (help(minigrad.layers.activations.rectifiers.EluFn)).
    Paper: Clevert, Unterthiner & Hochreiter 2016, "Fast and Accurate Deep Network Learning by
    Exponential Linear Units (ELUs)". No ``inplace`` argument.
    """
    check_floating("elu", x=x)
    return EluFn.apply(x, float(alpha))


def selu(x):
    """Scaled ELU with the self-normalizing constants λ ≈ 1.0507, α ≈ 1.6733.

    y = λ·(x if x > 0 else α(eˣ − 1)),  dy/dx = λ (x > 0), y + λα (x ≤ 0).
    Backward: ``SeluFn`` (help(minigrad.layers.activations.rectifiers.SeluFn)).
    Paper: Klambauer, Unterthiner, Mayr & Hochreiter 2017, "Self-Normalizing Neural Networks".
    """
    check_floating("selu", x=x)
    return SeluFn.apply(x)


def celu(x, alpha=1.0):
    """max(0, x) + min(0, alpha·(e^(x/alpha) − 1)).

    y = max(0, x) + min(0, α(e^(x/α) − 1)) (α = ``alpha`` = 1.0),  dy/dx = 1 (x > 0), e^(x/α) (x ≤ 0).
    Backward: ``CeluFn`` (help(minigrad.layers.activations.rectifiers.CeluFn)).
    Paper: Barron 2017, "Continuously Differentiable Exponential Linear Units".
    """
    check_floating("celu", x=x)
    if alpha <= 0:
        raise ValueError(f"celu: alpha must be positive, got {alpha}")
    return CeluFn.apply(x, float(alpha))


# ------------------------------------------------------------------ modules
class ReLU(Module):
    """y = max(0, x); backward 1[x > 0] (``ReluFn``, see ``F.relu``).

    Paper: Nair & Hinton 2010, "Rectified Linear Units Improve Restricted Boltzmann Machines".
    """

    def forward(self, x):
        return relu(x)


class LeakyReLU(Module):
    """y = x (x > 0), negative_slope·x (x ≤ 0); ``LeakyReLU(negative_slope=0.01)``.

    Backward: ``LeakyReluFn`` (see ``F.leaky_relu``). Paper: Maas, Hannun & Ng 2013,
    "Rectifier Nonlinearities Improve Neural Network Acoustic Models".
    """

    def __init__(self, negative_slope=0.01):
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x):
        return leaky_relu(x, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}"


class PReLU(Module):
    """y = max(0, x) + a·min(0, x) with a learnable ``a``: one shared value
    (``num_parameters=1``) or one per channel (``num_parameters=C``), initialised to
    ``init`` = 0.25 (He et al. 2015; the paper applies no weight decay to ``a``).

    Backward: ``PreluFn`` (see ``F.prelu``). Paper: He, Zhang, Ren & Sun 2015, "Delving Deep
    into Rectifiers: Surpassing Human-Level Performance on ImageNet Classification".
    """

    def __init__(self, num_parameters=1, init=0.25):
        super().__init__()
        self.num_parameters = num_parameters
        self.weight = Parameter(filled(num_parameters, init))

    def forward(self, x):
        return prelu(x, self.weight)

    def extra_repr(self):
        return f"num_parameters={self.num_parameters}"


class ELU(Module):
    """y = x (x > 0), alpha·(eˣ − 1) (x ≤ 0); ``ELU(alpha=1.0)``.

    Backward: ``EluFn`` (see ``F.elu``). Paper: Clevert, Unterthiner & Hochreiter 2016, "Fast
    and Accurate Deep Network Learning by Exponential Linear Units (ELUs)".
    """

    def __init__(self, alpha=1.0):
        super().__init__()
        self.alpha = alpha

    def forward(self, x):
        return elu(x, self.alpha)

    def extra_repr(self):
        return f"alpha={self.alpha}"


class SELU(Module):
    """y = λ·ELU_α(x) with the self-normalizing constants (λ ≈ 1.0507, α ≈ 1.6733).

    Backward: ``SeluFn`` (see ``F.selu``). Paper: Klambauer, Unterthiner, Mayr & Hochreiter
    2017, "Self-Normalizing Neural Networks".
    """

    def forward(self, x):
        return selu(x)


class CELU(Module):
    """y = max(0, x) + min(0, alpha·(e^(x/alpha) − 1)); ``CELU(alpha=1.0)``.

    Backward: ``CeluFn`` (see ``F.celu``). Paper: Barron 2017, "Continuously Differentiable
    Exponential Linear Units".
    """

    def __init__(self, alpha=1.0):
        super().__init__()
        self.alpha = alpha

    def forward(self, x):
        return celu(x, self.alpha)

    def extra_repr(self):
        return f"alpha={self.alpha}"


# ------------------------------------------------------------------ registry
def away_from(rng, shape, points=(0.0,), margin=0.05, scale=2.0):
    """Values at least ``margin`` away from every kink in ``points``."""
    x = rng.uniform(-scale, scale, shape)
    for p in points:
        near = abs(x - p) < margin
        x = x + near * (2 * margin) * ((x >= p) * 2 - 1)
    return x


def _register_all():
    a = away_from
    register(relu, kind="activation", catalog_id="A001", module=ReLU,
             papers=["Wide and Deep Neural Networks Achieve Optimality for Classification",
                     "Efficient Global Optimization of Two-layer ReLU Networks: Quadratic-time "
                     "Algorithms and Adversarial Training",
                     "Fast Certified Robust Training with Short Warmup",
                     "Deep Residual Learning for Image Recognition",
                     "Delving Deep into Rectifiers: Surpassing Human-Level Performance on "
                     "ImageNet Classification",
                     "Sparsing Law: Towards Large Language Models with Greater Activation Sparsity",
                     "ReLU's Revival: On the Entropic Overload in Normalization-Free Large "
                     "Language Models",
                     "Layer Normalization", "LSNet: See Large, Focus Small",
                     "Layer-wise Regularized Adversarial Training using Layers Sustainability "
                     "Analysis (LSA) framework"],
             inputs=lambda r: [Case(a(r, (3, 4))), Case(a(r, (2, 3, 2)))])
    register(leaky_relu, kind="activation", catalog_id="A002", module=LeakyReLU,
             papers=["Photo-Realistic Single Image Super-Resolution Using a Generative "
                     "Adversarial Network",
                     "SAU: Smooth activation function using convolution with approximate identities",
                     SURVEY,
                     "Layer-wise Regularized Adversarial Training using Layers Sustainability "
                     "Analysis (LSA) framework"],
             inputs=lambda r: [Case(a(r, (3, 4))), Case(a(r, (3, 4)), negative_slope=0.2)])
    register(prelu, kind="activation", catalog_id="A003", module=PReLU,
             papers=["Photo-Realistic Single Image Super-Resolution Using a Generative "
                     "Adversarial Network",
                     "Delving Deep into Rectifiers: Surpassing Human-Level Performance on "
                     "ImageNet Classification", SURVEY],
             inputs=lambda r: [Case(a(r, (2, 3, 4)), r.uniform(0.05, 0.5, (3,))),
                               Case(a(r, (3, 4)), r.uniform(0.05, 0.5, (1,)))])
    register(elu, kind="activation", catalog_id="A004", module=ELU,
             papers=["A Gated Residual Kolmogorov-Arnold Networks for Mixtures of Experts", SURVEY,
                     "Layer-wise Regularized Adversarial Training using Layers Sustainability "
                     "Analysis (LSA) framework"],
             inputs=lambda r: [Case(a(r, (3, 4))), Case(a(r, (3, 4)), alpha=0.5)])
    register(selu, kind="activation", catalog_id="A005", module=SELU, papers=[SURVEY],
             inputs=lambda r: Case(a(r, (3, 4))))
    register(celu, kind="activation", catalog_id="A006", module=CELU, papers=[SURVEY],
             inputs=lambda r: [Case(a(r, (3, 4))), Case(a(r, (3, 4)), alpha=2.0)])


_register_all()
