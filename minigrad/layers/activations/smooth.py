"""Smooth activations: sigmoid, log-sigmoid, tanh, softplus, SiLU/Swish, GELU (exact and
tanh), Mish, GLU, softsign, tanhshrink (catalog A007–A016, A021).

``sigmoid`` and ``tanh`` are the engine's primitives (``minigrad.ops.elementwise``),
registered here a second time as the catalog's activations A007/A009 with their Modules.
GELU, its tanh approximation, SiLU and Mish run through the fused kernels of
``minigrad.backends.kernels.activation_*``.
"""
from minigrad.autograd import Function
from minigrad.backends.kernels.activation_ref import stable_sigmoid, stable_softplus
from minigrad.layers.activations._util import channel_sum, channel_view, filled, pick_axis
from minigrad.layers.activations.rectifiers import SURVEY
from minigrad.layers.module import Module, Parameter
from minigrad.ops._checks import check_floating
from minigrad.ops.elementwise import sigmoid, tanh
from minigrad.registry import Case, register
from minigrad.tensor import Tensor


def _plain_softplus(x):
    """log(1 + eˣ) from primitives (composite forms): x + log1p(e⁻ˣ) where x > 0, else
    log1p(eˣ). Each branch is smooth where it is used (max(x, 0) + log1p(e^(−|x|)) would
    give a second derivative of 0 at x = 0, from the kinks of max and |x|), and neither
    branch sees an argument that overflows."""
    from minigrad.ops.elementwise import where
    positive = x > 0
    return where(positive, x + (-where(positive, x, 0.0)).exp().log1p(),
                 where(positive, 0.0, x).exp().log1p())


class LogSigmoidFn(Function):
    """log σ(x) = −softplus(−x) = min(x, 0) − log1p(e^(−|x|)) (never log(sigmoid(x)),
    which is −inf for x ≪ 0);  dy/dx = 1 − σ(x) = σ(−x) = e/(1 + e) for x ≥ 0 and
    1/(1 + e) for x < 0, with e = e^(−|x|) saved from the forward (accurate in both tails).
    """
    @staticmethod
    def forward(ctx, x):
        xp = ctx.xp
        e = xp.exp(-xp.abs(x))
        ctx.save_for_backward(x, e)
        return xp.minimum(x, 0) - xp.log1p(e)

    @staticmethod
    def backward(ctx, gy):
        x, e = ctx.saved_tensors
        return gy * ctx.xp.where(x >= 0, e, 1.0) / (1.0 + e)

    @staticmethod
    def composite(x):
        return -_plain_softplus(-x)



class SoftplusFn(Function):
    """Softplus (Dugas et al. 2001): y = (1/β)·log(1 + e^(βx)), computed as
    max(x, 0) + log1p(e^(−β|x|))/β; PyTorch's shortcut y = x where βx > threshold.
    dy/dx = σ(βx) (stable two-branch sigmoid), and exactly 1 in the shortcut region, so
    forward and backward agree there too.
    """
    @staticmethod
    def forward(ctx, x, beta, threshold):
        xp = ctx.xp
        bx = beta * x
        linear = bx > threshold
        y = xp.where(linear, x, stable_softplus(xp, bx) / beta)
        ctx.save_for_backward(bx, linear)
        return y

    @staticmethod
    def backward(ctx, gy):
        bx, linear = ctx.saved_tensors
        return ctx.xp.where(linear, gy, gy * stable_sigmoid(ctx.xp, bx)), None, None

    @staticmethod
    def composite(x, beta, threshold):
        from minigrad.ops.elementwise import where
        bx = x * beta
        return where(bx > threshold, x, _plain_softplus(bx) / beta)



class SiluFn(Function):
    """SiLU (Elfwing et al. 2018; Hendrycks & Gimpel 2016): y = x·σ(x);
    dy/dx = σ(x) + x·σ(x)(1 − σ(x)) = σ(x)(1 + x(1 − σ(x))). Fused kernel."""
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.backend.kernels("activation").silu_forward(x)

    @staticmethod
    def backward(ctx, gy):
        x, = ctx.saved_tensors
        return ctx.backend.kernels("activation").silu_backward(gy, x)

    @staticmethod
    def composite(x):
        return x * x.sigmoid()



class SwishFn(Function):
    """Swish (Ramachandran et al. 2017, "Searching for Activation Functions"):
    y = x·σ(βx), β a float or a learnable per-channel array (axis 1, like PReLU).

    With s = σ(βx): dy/dx = s + βx·s(1 − s);  dy/dβ = x²·s(1 − s), summed over every
    position that shares β.
    """
    @staticmethod
    def forward(ctx, x, beta):
        xp = ctx.xp
        b = channel_view(beta, x, "swish") if hasattr(beta, "shape") else beta
        s = stable_sigmoid(xp, b * x)
        ctx.save_for_backward(x, s)
        ctx.beta = b
        ctx.beta_shape = getattr(beta, "shape", None)
        return x * s

    @staticmethod
    def backward(ctx, gy):
        x, s = ctx.saved_tensors
        ds = s * (1 - s)
        gx = gy * (s + ctx.beta * x * ds) if ctx.needs_input_grad[0] else None
        gb = None
        if ctx.beta_shape is not None and ctx.needs_input_grad[1]:
            gb = channel_sum(gy * x * x * ds, ctx.beta_shape)
        return gx, gb

    @staticmethod
    def composite(x, beta):
        from minigrad.tensor import Tensor
        b = channel_view(beta, x, "swish") if isinstance(beta, Tensor) else beta
        return x * (b * x).sigmoid()



class GeluFn(Function):
    """GELU (Hendrycks & Gimpel, "Gaussian Error Linear Units (GELUs)"), exact erf form.

    y = x·Φ(x) = ½x(1 + erf(x/√2));  dy/dx = Φ(x) + x·φ(x), φ(x) = e^(−x²/2)/√(2π)
    (product rule; Φ' = φ). Fused kernel (Numba ``math.erf`` on CPU, CUDA ``erf`` on GPU).
    """
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.backend.kernels("activation").gelu_forward(x)

    @staticmethod
    def backward(ctx, gy):
        x, = ctx.saved_tensors
        return ctx.backend.kernels("activation").gelu_backward(gy, x)

    @staticmethod
    def composite(x):
        return 0.5 * x * (1 + (x * 0.7071067811865476).erf())



class GeluTanhFn(Function):
    """GELU, tanh approximation (Hendrycks & Gimpel): y = ½x(1 + tanh u),
    u = √(2/π)(x + 0.044715x³).

    The backward differentiates the approximation itself (not Φ + xφ), so forward and
    backward agree: dy/dx = ½(1 + t) + ½x(1 − t²)·√(2/π)(1 + 3·0.044715x²), t = tanh u.
    """
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.backend.kernels("activation").gelu_tanh_forward(x)

    @staticmethod
    def backward(ctx, gy):
        x, = ctx.saved_tensors
        return ctx.backend.kernels("activation").gelu_tanh_backward(gy, x)

    @staticmethod
    def composite(x):
        return 0.5 * x * (1 + (0.7978845608028654 * (x + 0.044715 * x * x * x)).tanh())



class MishFn(Function):
    """Mish (Misra 2019): y = x·tanh(softplus(x)), softplus computed stably.

    With t = tanh(softplus(x)) and softplus' = σ: dy/dx = t + x(1 − t²)σ(x). Fused kernel.
    """
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.backend.kernels("activation").mish_forward(x)

    @staticmethod
    def backward(ctx, gy):
        x, = ctx.saved_tensors
        return ctx.backend.kernels("activation").mish_backward(gy, x)

    @staticmethod
    def composite(x):
        return x * _plain_softplus(x).tanh()



class GluFn(Function):
    """GLU (Dauphin et al. 2017): x split in halves (a, b) along ``axis``; y = a⊙σ(b).

    da = dy⊙σ(b);  db = dy⊙a⊙σ(b)(1 − σ(b)); the two are concatenated back in split order.
    """
    @staticmethod
    def forward(ctx, x, axis):
        xp = ctx.xp
        n = x.shape[axis]
        if n % 2:
            raise ValueError(f"glu: axis {axis} of an input of shape {tuple(x.shape)} has odd "
                             f"size {n}; it must split into two equal halves")
        a, b = xp.split(x, 2, axis=axis)
        s = stable_sigmoid(xp, b)
        ctx.save_for_backward(a, s)
        ctx.axis = axis
        return a * s

    @staticmethod
    def backward(ctx, gy):
        a, s = ctx.saved_tensors
        ga = gy * s
        return ctx.xp.concatenate([ga, ga * a * (1 - s)], axis=ctx.axis), None

    @staticmethod
    def composite(x, axis):
        from minigrad.ops.shape import split
        a, b = split(x, x.shape[axis] // 2, axis)
        return a * b.sigmoid()



class SoftsignFn(Function):
    """Softsign (Turian et al. 2009): y = x/(1 + |x|);  dy/dx = 1/(1 + |x|)² (quotient
    rule; the |x| terms cancel in the numerator, so the derivative is continuous at 0)."""
    @staticmethod
    def forward(ctx, x):
        d = 1 + ctx.xp.abs(x)
        ctx.save_for_backward(d)
        return x / d

    @staticmethod
    def backward(ctx, gy):
        d, = ctx.saved_tensors
        return gy / (d * d)

    @staticmethod
    def composite(x):
        return x / (1 + x.abs())



class TanhshrinkFn(Function):
    """Tanhshrink: y = x − tanh x;  dy/dx = 1 − (1 − tanh² x) = tanh² x."""
    @staticmethod
    def forward(ctx, x):
        t = ctx.xp.tanh(x)
        ctx.save_for_backward(t)
        return x - t

    @staticmethod
    def backward(ctx, gy):
        t, = ctx.saved_tensors
        return gy * t * t

    @staticmethod
    def composite(x):
        return x - x.tanh()



# ------------------------------------------------------------------ functional
def log_sigmoid(x):
    """log σ(x), finite for every finite x.

    y = log σ(x) = min(x, 0) − log1p(e^(−|x|)),  dy/dx = 1 − σ(x) = σ(−x).
    Backward: ``LogSigmoidFn`` (help(minigrad.layers.activations.smooth.LogSigmoidFn)).
    Primitive (an elementary function, no paper).
    """
    check_floating("log_sigmoid", x=x)
    return LogSigmoidFn.apply(x)


logsigmoid = log_sigmoid  # PyTorch's F.logsigmoid


def softplus(x, beta=1.0, threshold=20.0):
    """(1/beta)·log(1 + e^(beta·x)), and x itself where beta·x > threshold.

    y = (1/β)·log(1 + e^(βx)) (β = ``beta`` = 1.0, ``threshold`` = 20.0),  dy/dx = σ(βx).
    Backward: ``SoftplusFn`` (help(minigrad.layers.activations.smooth.SoftplusFn)).
    Paper: Dugas, Bengio, Bélisle, Nadeau & Garcia 2001, "Incorporating Second-Order
    Functional Knowledge for Better Option Pricing".
    """
    check_floating("softplus", x=x)
    if beta <= 0:
        raise ValueError(f"softplus: beta must be positive, got {beta}")
    return SoftplusFn.apply(x, float(beta), float(threshold))


def silu(x):
    """x·σ(x) (SiLU, Swish with β = 1).

    y = x·σ(x),  dy/dx = σ(x)(1 + x(1 − σ(x))).
    Backward: ``SiluFn`` (help(minigrad.layers.activations.smooth.SiluFn)).
    Paper: Elfwing, Uchibe & Doya 2018, "Sigmoid-Weighted Linear Units for Neural Network
    Function Approximation in Reinforcement Learning". No ``inplace``.
    """
    check_floating("silu", x=x)
    return SiluFn.apply(x)


def swish(x, beta=1.0):
    """x·σ(beta·x). ``beta`` is a float (1 gives SiLU, 1.702 the sigmoid approximation of
    GELU) or a tensor of 1 or C values (axis 1) that can be learned.

    y = x·σ(βx),  dy/dx = σ(βx)(1 + βx(1 − σ(βx))),  dy/dβ = x²σ(βx)(1 − σ(βx)).
    Backward: ``SwishFn`` (help(minigrad.layers.activations.smooth.SwishFn)).
    Paper: Ramachandran, Zoph & Le 2017, "Searching for Activation Functions". Not in PyTorch.
    """
    check_floating("swish", x=x, beta=beta)
    if isinstance(beta, Tensor):
        return SwishFn.apply(x, beta)
    if beta == 1.0:
        return SiluFn.apply(x)
    return SwishFn.apply(x, float(beta))


def gelu(x, approximate="none"):
    """x·Φ(x) (``approximate='none'``) or its tanh approximation (``'tanh'``).

    y = x·Φ(x),  dy/dx = Φ(x) + x·φ(x)  (Φ, φ the standard normal cdf and pdf).
    Backward: ``GeluFn`` (help(minigrad.layers.activations.smooth.GeluFn)); ``'tanh'``:
    ``GeluTanhFn``. Paper: Hendrycks & Gimpel 2016, "Gaussian Error Linear Units (GELUs)".
    """
    check_floating("gelu", x=x)
    if approximate == "none":
        return GeluFn.apply(x)
    if approximate == "tanh":
        return GeluTanhFn.apply(x)
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


def gelu_tanh(x):
    """½x(1 + tanh(√(2/π)(x + 0.044715x³))), the tanh approximation of GELU.

    y = ½x(1 + tanh u), u = √(2/π)(x + 0.044715x³);  dy/dx = ½(1 + tanh u) + ½x(1 − tanh²u)·du/dx.
    Backward: ``GeluTanhFn`` (help(minigrad.layers.activations.smooth.GeluTanhFn)).
    Paper: Hendrycks & Gimpel 2016, "Gaussian Error Linear Units (GELUs)". PyTorch spells it
    ``F.gelu(x, approximate='tanh')``.
    """
    check_floating("gelu_tanh", x=x)
    return GeluTanhFn.apply(x)


def mish(x):
    """x·tanh(softplus(x)).

    y = x·tanh(softplus(x)),  dy/dx = tanh(s) + x·σ(x)(1 − tanh²(s)), s = softplus(x).
    Backward: ``MishFn`` (help(minigrad.layers.activations.smooth.MishFn)).
    Paper: Misra 2019, "Mish: A Self Regularized Non-Monotonic Activation Function".
    """
    check_floating("mish", x=x)
    return MishFn.apply(x)


def glu(x, axis=None, dim=None):
    """a·σ(b) for the two halves (a, b) of x along ``axis`` (PyTorch: ``dim``; default -1).

    y = a ⊙ σ(b),  ∂y/∂a = σ(b),  ∂y/∂b = a ⊙ σ(b)(1 − σ(b)).
    Backward: ``GluFn`` (help(minigrad.layers.activations.smooth.GluFn)).
    Paper: Dauphin, Fan, Auli & Grangier 2017, "Language Modeling with Gated Convolutional
    Networks".
    """
    check_floating("glu", x=x)
    return GluFn.apply(x, pick_axis(axis, dim, "glu") % x.ndim)


def softsign(x):
    """x/(1 + |x|).

    y = x/(1 + |x|),  dy/dx = 1/(1 + |x|)².
    Backward: ``SoftsignFn`` (help(minigrad.layers.activations.smooth.SoftsignFn)).
    Paper: Turian, Bergstra & Bengio 2009, "Quadratic Features and Deep Architectures for
    Chunking".
    """
    check_floating("softsign", x=x)
    return SoftsignFn.apply(x)


def tanhshrink(x):
    """x − tanh(x).

    y = x − tanh(x),  dy/dx = tanh²(x).
    Backward: ``TanhshrinkFn`` (help(minigrad.layers.activations.smooth.TanhshrinkFn)).
    Primitive (an elementary function; no paper).
    """
    check_floating("tanhshrink", x=x)
    return TanhshrinkFn.apply(x)


# ------------------------------------------------------------------ modules
class Sigmoid(Module):
    """y = σ(x) = 1/(1 + e⁻ˣ); backward dy·y(1 − y) (see ``F.sigmoid``).

    Primitive (an elementary function; no introducing paper).
    """

    def forward(self, x):
        return sigmoid(x)


class LogSigmoid(Module):
    """y = log σ(x)."""

    def forward(self, x):
        return log_sigmoid(x)


class Tanh(Module):
    """y = tanh(x); backward dy·(1 − y²) (see ``F.tanh``).

    Primitive (an elementary function; no introducing paper).
    """

    def forward(self, x):
        return tanh(x)


class Softplus(Module):
    """y = (1/beta)·log(1 + e^(beta·x)) (x where beta·x > threshold); ``Softplus(beta=1.0, threshold=20.0)``.

    Backward: ``SoftplusFn`` (see ``F.softplus``). Paper: Dugas, Bengio, Bélisle, Nadeau &
    Garcia 2001, "Incorporating Second-Order Functional Knowledge for Better Option Pricing".
    """

    def __init__(self, beta=1.0, threshold=20.0):
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, x):
        return softplus(x, self.beta, self.threshold)

    def extra_repr(self):
        return f"beta={self.beta}, threshold={self.threshold}"


class SiLU(Module):
    """y = x·σ(x); backward ``SiluFn`` (see ``F.silu``).

    Paper: Elfwing, Uchibe & Doya 2018, "Sigmoid-Weighted Linear Units for Neural Network
    Function Approximation in Reinforcement Learning".
    """

    def forward(self, x):
        return silu(x)


class Swish(Module):
    """y = x·σ(βx) with a learnable β: one shared value (``num_parameters=1``) or one per
    channel (axis 1), initialised to ``init`` = 1 (Ramachandran et al. 2017). With
    ``learnable=False`` β is the fixed float ``init`` (1.702: the GELU approximation).

    Backward: ``SwishFn`` (see ``F.swish``). Paper: Ramachandran, Zoph & Le 2017, "Searching
    for Activation Functions".
    """

    def __init__(self, num_parameters=1, init=1.0, learnable=True):
        super().__init__()
        self.num_parameters, self.learnable = num_parameters, learnable
        if learnable:
            self.beta = Parameter(filled(num_parameters, init))
        else:
            self.beta = float(init)

    def forward(self, x):
        return swish(x, self.beta)

    def extra_repr(self):
        return f"num_parameters={self.num_parameters}, learnable={self.learnable}"


class GELU(Module):
    """y = x·Φ(x) (``approximate='none'``) or its tanh approximation (``'tanh'``).

    Backward: ``GeluFn`` / ``GeluTanhFn`` (see ``F.gelu``). Paper: Hendrycks & Gimpel 2016,
    "Gaussian Error Linear Units (GELUs)".
    """

    def __init__(self, approximate="none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, x):
        return gelu(x, self.approximate)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class Mish(Module):
    """y = x·tanh(softplus(x)); backward ``MishFn`` (see ``F.mish``).

    Paper: Misra 2019, "Mish: A Self Regularized Non-Monotonic Activation Function".
    """

    def forward(self, x):
        return mish(x)


class GLU(Module):
    """y = a·σ(b) for the halves (a, b) of x along ``dim`` (default -1).

    Backward: ``GluFn`` (see ``F.glu``). Paper: Dauphin, Fan, Auli & Grangier 2017, "Language
    Modeling with Gated Convolutional Networks".
    """

    def __init__(self, dim=-1):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return glu(x, dim=self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class Softsign(Module):
    """y = x/(1 + |x|); backward ``SoftsignFn`` (see ``F.softsign``).

    Paper: Turian, Bergstra & Bengio 2009, "Quadratic Features and Deep Architectures for
    Chunking".
    """

    def forward(self, x):
        return softsign(x)


class Tanhshrink(Module):
    """y = x − tanh(x)."""

    def forward(self, x):
        return tanhshrink(x)


# ------------------------------------------------------------------ registry
def _register_all():
    n = lambda r, *s: r.standard_normal(s)  # noqa: E731
    register(sigmoid, kind="activation", catalog_id="A007", module=Sigmoid,
             papers=["Wide and Deep Neural Networks Achieve Optimality for Classification",
                     "Region Normalization for Image Inpainting",
                     "Evolving Normalization-Activation Layers",
                     "diffGrad: An Optimization Method for Convolutional Neural Networks",
                     "A Gated Residual Kolmogorov-Arnold Networks for Mixtures of Experts",
                     "Trellis Networks for Sequence Modeling",
                     "Sparse Attention with Linear Units", "LSNet: See Large, Focus Small", SURVEY],
             inputs=lambda r: [Case(3 * n(r, 3, 4)), Case(n(r, 2, 3, 2))])
    register(log_sigmoid, kind="activation", catalog_id="A008", module=LogSigmoid,
             aliases=["logsigmoid"], papers=[SURVEY],
             inputs=lambda r: [Case(3 * n(r, 3, 4)), Case(n(r, 5) * 30)])
    register(tanh, kind="activation", catalog_id="A009", module=Tanh,
             papers=["Layer Normalization", "Trellis Networks for Sequence Modeling",
                     "Statistical mechanics of continual learning: variational principle and "
                     "mean-field potential", SURVEY],
             inputs=lambda r: [Case(n(r, 3, 4)), Case(n(r, 2, 3, 2))])
    register(softplus, kind="activation", catalog_id="A010", module=Softplus,
             papers=["What's in a Prior? Learned Proximal Networks for Inverse Problems",
                     "Forward Learning of Graph Neural Networks",
                     "Minimum width for universal approximation using ReLU networks on compact domain",
                     "Softplus Attention with Re-weighting Boosts Length Extrapolation in Large "
                     "Language Models",
                     "Shedding More Light on Robust Classifiers under the lens of Energy-based Models",
                     SURVEY],
             inputs=lambda r: [Case(3 * n(r, 3, 4)), Case(n(r, 3, 4), beta=2.0),
                               # β·x on both sides of threshold = 2, at least 0.5 away from it
                               Case(r.choice([-1.0, 1.0], (3, 4)) * r.uniform(0.0, 0.5, (3, 4))
                                    + r.choice([0.25, 1.75], (3, 4)), beta=2.0, threshold=2.0)])
    register(swish, kind="activation", catalog_id="A011", module=Swish, aliases=["silu"],
             papers=["Searching for Activation Functions", "Evolving Normalization-Activation Layers",
                     "YOLOv9: Learning What You Want to Learn Using Programmable Gradient Information",
                     "Gaussian Error Linear Units (GELUs)", SURVEY],
             inputs=lambda r: [Case(3 * n(r, 3, 4)), Case(n(r, 3, 4), beta=1.702),
                               Case(n(r, 2, 3, 2), r.uniform(0.5, 2.0, (3,))),
                               Case(n(r, 3, 4), r.uniform(0.5, 2.0, (1,)))])
    register(gelu, kind="activation", catalog_id="A012", module=GELU,
             papers=["Gaussian Error Linear Units (GELUs)",
                     "GELU Activation Function in Deep Learning: A Comprehensive Mathematical "
                     "Analysis and Performance",
                     "Blockwise Compression of Transformer-based Models without Retraining",
                     "Minimum width for universal approximation using ReLU networks on compact domain",
                     "Faster Inference of Integer SWIN Transformer by Removing the GELU Activation",
                     "Reducing Fine-Tuning Memory Overhead by Approximate and Memory-Sharing "
                     "Backpropagation",
                     "Oscillation-free Quantization for Low-bit Vision Transformers",
                     "Kernelized Sparse Fine-Tuning with Bi-level Parameter Competition for "
                     "Vision Models"],
             inputs=lambda r: [Case(2 * n(r, 3, 4)), Case(n(r, 2, 3, 2))])
    register(gelu_tanh, kind="activation", catalog_id="A013", module=GELU,
             papers=["Gaussian Error Linear Units (GELUs)"],
             inputs=lambda r: Case(2 * n(r, 3, 4)))
    register(mish, kind="activation", catalog_id="A014", module=Mish,
             papers=["Mish: A Self Regularized Non-Monotonic Activation Function"],
             inputs=lambda r: [Case(2 * n(r, 3, 4)), Case(n(r, 2, 3, 2))])
    register(glu, kind="activation", catalog_id="A015", module=GLU,
             papers=["A Gated Residual Kolmogorov-Arnold Networks for Mixtures of Experts",
                     "Malware Detection by Eating a Whole EXE"],
             inputs=lambda r: [Case(n(r, 3, 4)), Case(n(r, 4, 3), dim=0),
                               Case(n(r, 2, 6, 2), axis=1)])
    register(softsign, kind="activation", catalog_id="A016", module=Softsign, papers=[SURVEY],
             inputs=lambda r: Case(2 * n(r, 3, 4)))
    register(tanhshrink, kind="activation", catalog_id="A021", module=Tanhshrink, papers=[SURVEY],
             inputs=lambda r: Case(2 * n(r, 3, 4)))


_register_all()
