"""Piecewise-linear activations: hardtanh, ReLU6, hardsigmoid, hardswish, softshrink,
hardshrink (catalog A017–A020, A022, A023).

Every backward is an indicator of the open linear pieces; at the breakpoints the
gradient follows PyTorch (0 at hardtanh's bounds, hardswish's middle piece closed).
"""
from minigrad.autograd import Function
from minigrad.layers.activations.rectifiers import SURVEY, away_from
from minigrad.layers.module import Module
from minigrad.ops._checks import check_floating
from minigrad.registry import Case, register


class HardtanhFn(Function):
    """y = clip(x, min_val, max_val);  dy/dx = 1[min_val < x < max_val] (0 at the bounds)."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx, x, lo, hi):
        ctx.save_for_backward((x > lo) & (x < hi))
        return ctx.xp.clip(x, lo, hi)

    @staticmethod
    def backward(ctx, gy):
        inside, = ctx.saved_tensors
        return gy * inside, None, None


class HardsigmoidFn(Function):
    """y = relu6(x + 3)/6 = clip(x/6 + ½, 0, 1);  dy/dx = 1/6 on −3 < x < 3, else 0."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward((x > -3) & (x < 3))
        return ctx.xp.clip(x / 6 + 0.5, 0, 1)

    @staticmethod
    def backward(ctx, gy):
        inside, = ctx.saved_tensors
        return gy * inside / 6


class HardswishFn(Function):
    """Hardswish (Howard et al. 2019, MobileNetV3): y = x·relu6(x + 3)/6, i.e. 0 for
    x ≤ −3, x for x ≥ 3, x(x + 3)/6 between.  dy/dx = 0 (x < −3), (2x + 3)/6 = x/3 + ½
    (−3 ≤ x ≤ 3), 1 (x > 3); the derivative jumps at ±3."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * ctx.xp.clip(x + 3, 0, 6) / 6

    @staticmethod
    def backward(ctx, gy):
        x, = ctx.saved_tensors
        xp = ctx.xp
        return gy * xp.where(x < -3, 0.0, xp.where(x <= 3, x / 3 + 0.5, 1.0))


class SoftshrinkFn(Function):
    """y = x − λ (x > λ), x + λ (x < −λ), 0 otherwise;  dy/dx = 1[|x| > λ]."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx, x, lambd):
        xp = ctx.xp
        outside = xp.abs(x) > lambd
        ctx.save_for_backward(outside)
        return xp.where(outside, x - xp.sign(x) * lambd, 0.0).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, gy):
        outside, = ctx.saved_tensors
        return gy * outside, None


class HardshrinkFn(Function):
    """y = x if |x| > λ else 0;  dy/dx = 1[|x| > λ] (the forward jumps at ±λ)."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx, x, lambd):
        outside = ctx.xp.abs(x) > lambd
        ctx.save_for_backward(outside)
        return x * outside

    @staticmethod
    def backward(ctx, gy):
        outside, = ctx.saved_tensors
        return gy * outside, None


# ------------------------------------------------------------------ functional
def hardtanh(x, min_val=-1.0, max_val=1.0):
    """x clipped into [min_val, max_val].

    y = clip(x, min_val, max_val) (defaults −1, 1),  dy/dx = 1[min_val < x < max_val].
    Backward: ``HardtanhFn`` (help(minigrad.layers.activations.hard.HardtanhFn)).
    Paper: Collobert 2004, "Large Scale Machine Learning" (PhD thesis). No ``inplace``.
    """
    check_floating("hardtanh", x=x)
    if min_val >= max_val:
        raise ValueError(f"hardtanh: min_val ({min_val}) must be below max_val ({max_val})")
    return HardtanhFn.apply(x, float(min_val), float(max_val))


def relu6(x):
    """min(max(0, x), 6) (= hardtanh(x, 0, 6)).

    y = min(max(0, x), 6),  dy/dx = 1[0 < x < 6]. Backward: ``HardtanhFn``
    (help(minigrad.layers.activations.hard.HardtanhFn)).
    Paper: Krizhevsky 2010, "Convolutional Deep Belief Networks on CIFAR-10".
    """
    check_floating("relu6", x=x)
    return HardtanhFn.apply(x, 0.0, 6.0)


def hardsigmoid(x):
    """clip(x/6 + 1/2, 0, 1).

    y = relu6(x + 3)/6,  dy/dx = 1/6 on −3 < x < 3, else 0.
    Backward: ``HardsigmoidFn`` (help(minigrad.layers.activations.hard.HardsigmoidFn)).
    Paper (PyTorch's x/6 + ½ form): Howard et al. 2019, "Searching for MobileNetV3".
    """
    check_floating("hardsigmoid", x=x)
    return HardsigmoidFn.apply(x)


def hardswish(x):
    """x·relu6(x + 3)/6.

    y = x·relu6(x + 3)/6,  dy/dx = 0 (x < −3), (2x + 3)/6 (−3 ≤ x ≤ 3), 1 (x > 3).
    Backward: ``HardswishFn`` (help(minigrad.layers.activations.hard.HardswishFn)).
    Paper: Howard et al. 2019, "Searching for MobileNetV3".
    """
    check_floating("hardswish", x=x)
    return HardswishFn.apply(x)


def softshrink(x, lambd=0.5):
    """x − lambd·sign(x) where |x| > lambd, 0 elsewhere.

    y = x − λ·sign(x)·1[|x| > λ] (λ = ``lambd`` = 0.5),  dy/dx = 1[|x| > λ].
    Backward: ``SoftshrinkFn`` (help(minigrad.layers.activations.hard.SoftshrinkFn)).
    Paper: Donoho 1995, "De-noising by soft-thresholding".
    """
    check_floating("softshrink", x=x)
    if lambd < 0:
        raise ValueError(f"softshrink: lambd must be non-negative, got {lambd}")
    return SoftshrinkFn.apply(x, float(lambd))


def hardshrink(x, lambd=0.5):
    """x where |x| > lambd, 0 elsewhere.

    y = x·1[|x| > λ] (λ = ``lambd`` = 0.5),  dy/dx = 1[|x| > λ].
    Backward: ``HardshrinkFn`` (help(minigrad.layers.activations.hard.HardshrinkFn)).
    Paper: Donoho & Johnstone 1994, "Ideal Spatial Adaptation by Wavelet Shrinkage".
    """
    check_floating("hardshrink", x=x)
    return HardshrinkFn.apply(x, float(lambd))


# ------------------------------------------------------------------ modules
class Hardtanh(Module):
    """y = clip(x, min_val, max_val); ``Hardtanh(min_val=-1.0, max_val=1.0)``.

    Backward: ``HardtanhFn`` (see ``F.hardtanh``). Paper: Collobert 2004, "Large Scale
    Machine Learning".
    """

    def __init__(self, min_val=-1.0, max_val=1.0):
        super().__init__()
        self.min_val, self.max_val = min_val, max_val

    def forward(self, x):
        return hardtanh(x, self.min_val, self.max_val)

    def extra_repr(self):
        return f"min_val={self.min_val}, max_val={self.max_val}"


class ReLU6(Module):
    """y = min(max(0, x), 6); backward 1[0 < x < 6] (see ``F.relu6``).

    Paper: Krizhevsky 2010, "Convolutional Deep Belief Networks on CIFAR-10".
    """

    def forward(self, x):
        return relu6(x)


class Hardsigmoid(Module):
    """y = clip(x/6 + 1/2, 0, 1); backward ``HardsigmoidFn`` (see ``F.hardsigmoid``).

    Paper: Howard et al. 2019, "Searching for MobileNetV3".
    """

    def forward(self, x):
        return hardsigmoid(x)


class Hardswish(Module):
    """y = x·relu6(x + 3)/6; backward ``HardswishFn`` (see ``F.hardswish``).

    Paper: Howard et al. 2019, "Searching for MobileNetV3".
    """

    def forward(self, x):
        return hardswish(x)


class Softshrink(Module):
    """y = x − lambd·sign(x) where |x| > lambd, else 0; ``Softshrink(lambd=0.5)``.

    Backward: ``SoftshrinkFn`` (see ``F.softshrink``). Paper: Donoho 1995, "De-noising by
    soft-thresholding".
    """

    def __init__(self, lambd=0.5):
        super().__init__()
        self.lambd = lambd

    def forward(self, x):
        return softshrink(x, self.lambd)

    def extra_repr(self):
        return f"lambd={self.lambd}"


class Hardshrink(Module):
    """y = x where |x| > lambd, else 0; ``Hardshrink(lambd=0.5)``.

    Backward: ``HardshrinkFn`` (see ``F.hardshrink``). Paper: Donoho & Johnstone 1994, "Ideal
    Spatial Adaptation by Wavelet Shrinkage".
    """

    def __init__(self, lambd=0.5):
        super().__init__()
        self.lambd = lambd

    def forward(self, x):
        return hardshrink(x, self.lambd)

    def extra_repr(self):
        return f"lambd={self.lambd}"


# ------------------------------------------------------------------ registry
def _register_all():
    a = away_from
    register(hardtanh, kind="activation", catalog_id="A017", module=Hardtanh, papers=[SURVEY],
             inputs=lambda r: [Case(a(r, (3, 4), (-1.0, 1.0))),
                               Case(a(r, (3, 4), (-0.5, 2.0), scale=3.0), min_val=-0.5, max_val=2.0)])
    register(relu6, kind="activation", catalog_id="A018", module=ReLU6, papers=[SURVEY],
             inputs=lambda r: Case(a(r, (3, 4), (0.0, 6.0), scale=8.0)))
    register(hardsigmoid, kind="activation", catalog_id="A019", module=Hardsigmoid, papers=[SURVEY],
             inputs=lambda r: Case(a(r, (3, 4), (-3.0, 3.0), scale=5.0)))
    register(hardswish, kind="activation", catalog_id="A020", module=Hardswish, papers=[SURVEY],
             inputs=lambda r: Case(a(r, (3, 4), (-3.0, 3.0), scale=5.0)))
    register(softshrink, kind="activation", catalog_id="A022", module=Softshrink, papers=[SURVEY],
             inputs=lambda r: [Case(a(r, (3, 4), (-0.5, 0.5))),
                               Case(a(r, (3, 4), (-1.0, 1.0)), lambd=1.0)])
    register(hardshrink, kind="activation", catalog_id="A023", module=Hardshrink, papers=[SURVEY],
             inputs=lambda r: [Case(a(r, (3, 4), (-0.5, 0.5))),
                               Case(a(r, (3, 4), (-1.0, 1.0)), lambd=1.0)])


_register_all()
