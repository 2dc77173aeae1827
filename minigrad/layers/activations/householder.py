"""The Householder activation (catalog A048): a learnable reflection of each pair of
channels, 1-Lipschitz and gradient-norm preserving.

Singla, Singla & Feizi 2022 (ICLR), "Improved deterministic l2 robustness on CIFAR-10 and
CIFAR-100", the HH activation of order 1 as in the official code
singlasahil14/improved_l2_robustness ``custom_activations.py`` (``HouseHolder``: channels
split in halves, θ per pair initialised to π/2, reflect where x·sin(θ/2) − y·cos(θ/2) > 0);
the form analysed in Pauli et al. 2024, "Novel Quadratic Constraints for Extending LipSDP
beyond Slope-Restricted Activations".
"""
import math

from minigrad.autograd import Function
from minigrad.layers.activations._util import filled
from minigrad.layers.module import Module, Parameter
from minigrad.ops._checks import check_floating
from minigrad.registry import Case, register
from minigrad.tensor import Tensor


def _scalar_or_tensor(op, name, value):
    if isinstance(value, Tensor):
        check_floating(op, **{name: value})
        return value
    return float(value)


def _theta_view(theta, x, axis):
    """θ ((P,) per pair or (1,) shared; P = half the size of ``axis``) shaped to broadcast
    against one half of x; a float passes through."""
    if not hasattr(theta, "shape"):
        return theta
    shape = [1] * x.ndim
    if math.prod(theta.shape) != 1:
        shape[axis] = math.prod(theta.shape)
    return theta.reshape(tuple(shape))


def _sin_cos(xp, th):
    if hasattr(th, "shape"):
        return xp.sin(th), xp.cos(th), xp.sin(0.5 * th), xp.cos(0.5 * th)
    return math.sin(th), math.cos(th), math.sin(0.5 * th), math.cos(0.5 * th)


class HouseholderActivationFn(Function):
    """Householder (HH) activation of order 1 (Singla, Singla & Feizi 2022; official
    ``HouseHolder`` in singlasahil14/improved_l2_robustness custom_activations.py).

    x is split along ``axis`` into halves (a, b); each pair z = (a_i, b_i) has a unit
    vector v = (sin(θ/2), −cos(θ/2)) and
        HH(z) = (I − 2vvᵀ)z = (a cosθ + b sinθ, a sinθ − b cosθ)   where vᵀz > 0,
        HH(z) = z                                                   where vᵀz ≤ 0.
    (I − 2vvᵀ = [[cosθ, sinθ], [sinθ, −cosθ]]; the reflection fixes the line vᵀz = 0, so
    HH is continuous, 1-Lipschitz and gradient-norm preserving. The paper's form "z if
    vᵀz > 0, else (I − 2vvᵀ)z" is the same map with v → −v.)
    Backward on the reflected branch, with (a', b') the outputs:
        da = cosθ·ga + sinθ·gb,  db = sinθ·ga − cosθ·gb  ((I − 2vvᵀ) is symmetric),
        dθ = ga·∂a'/∂θ + gb·∂b'/∂θ = −ga·b' + gb·a',
    identity branch: da = ga, db = gb, dθ = 0. No delta term from the switch: both branches
    agree on vᵀz = 0. θ sums over every position of its pair.
    """
    differentiable_backward = True

    @staticmethod
    def forward(ctx, x, theta, axis):
        xp = ctx.xp
        half = x.shape[axis] // 2
        a, b = xp.split(x, [half], axis=axis)
        th = _theta_view(theta, a, axis)
        s, c, sh, ch = _sin_cos(xp, th)
        reflect = a * sh - b * ch > 0
        ctx.save_for_backward(x, reflect, *([theta] if hasattr(theta, "shape") else []))
        ctx.axis, ctx.theta = axis, (None if hasattr(theta, "shape") else theta)
        out_a = xp.where(reflect, a * c + b * s, a)
        out_b = xp.where(reflect, a * s - b * c, b)
        return xp.concatenate([out_a, out_b], axis=axis).astype(x.dtype)

    @staticmethod
    def backward(ctx, gy):
        xp = ctx.xp
        saved = ctx.saved_tensors
        x, reflect = saved[0], saved[1]
        theta = saved[2] if ctx.theta is None else ctx.theta
        axis = ctx.axis
        half = x.shape[axis] // 2
        a, b = xp.split(x, [half], axis=axis)
        ga, gb = xp.split(gy, [half], axis=axis)
        s, c, _, _ = _sin_cos(xp, _theta_view(theta, a, axis))
        gx = gt = None
        if ctx.needs_input_grad[0]:
            gx = xp.concatenate([xp.where(reflect, ga * c + gb * s, ga),
                                 xp.where(reflect, ga * s - gb * c, gb)], axis=axis)
        if ctx.theta is None and ctx.needs_input_grad[1]:
            g = xp.where(reflect, gb * (a * c + b * s) - ga * (a * s - b * c), 0.0)
            if math.prod(theta.shape) == 1:
                gt = g.sum().reshape(theta.shape)
            else:
                axes = tuple(i for i in range(x.ndim) if i != axis)
                gt = g.sum(axis=axes).reshape(theta.shape)
        return gx, gt, None


# ------------------------------------------------------------------ functional
def householder_activation(x, theta=math.pi / 2, dim=1):
    """Householder activation: each pair (a_i, b_i) of the two halves of x along ``dim`` is
    reflected across the line vᵀz = 0 where vᵀz > 0, v = (sin(θ/2), −cos(θ/2)).

    HH(z) = (I − 2vvᵀ)z if vᵀz > 0 else z;  backward (I − 2vvᵀ)·dy on the reflected side,
    dy on the other, dθ = −ga·b' + gb·a' (reflected pairs only).
    Backward: ``HouseholderActivationFn`` (help(minigrad.layers.activations.householder.HouseholderActivationFn)).
    Paper: Singla, Singla & Feizi 2022, "Improved deterministic l2 robustness on CIFAR-10
    and CIFAR-100"; analysed in Pauli et al. 2024, "Novel Quadratic Constraints for
    Extending LipSDP beyond Slope-Restricted Activations". ``theta`` = π/2 (the official
    initial value: HH is then MaxMin), a float or a tensor of 1 or C/2 values (one per
    pair); ``dim`` = 1 (channels; its size must be even).
    """
    check_floating("householder_activation", x=x)
    theta = _scalar_or_tensor("householder_activation", "theta", theta)
    if x.ndim == 0:
        raise ValueError("householder_activation: needs an input with at least one axis")
    axis = dim % x.ndim
    size = x.shape[axis]
    if size % 2:
        raise ValueError(f"householder_activation: axis {axis} of an input of shape "
                         f"{tuple(x.shape)} has odd size {size}; it must split into pairs")
    if isinstance(theta, Tensor) and math.prod(theta.shape) not in (1, size // 2):
        raise ValueError(f"householder_activation: theta has {math.prod(theta.shape)} values; "
                         f"it needs 1 or {size // 2} (one per pair) for an input of shape "
                         f"{tuple(x.shape)} split along axis {axis}")
    return HouseholderActivationFn.apply(x, theta, axis)


# ------------------------------------------------------------------ module
class HouseholderActivation(Module):
    """HH(z) = (I − 2vvᵀ)z where vᵀz > 0, else z, on the pairs of the two channel halves;
    v = (sin(θ/2), −cos(θ/2)), ``HouseholderActivation(channels, init=π/2, dim=1)``: one
    learnable θ per pair (``channels`` must be even), π/2 as the official code (MaxMin).

    Backward: ``HouseholderActivationFn`` (see ``F.householder_activation``). Paper: Singla,
    Singla & Feizi 2022, "Improved deterministic l2 robustness on CIFAR-10 and CIFAR-100".
    """

    def __init__(self, channels, init=math.pi / 2, dim=1):
        super().__init__()
        if channels % 2:
            raise ValueError(f"HouseholderActivation: channels must be even, got {channels}")
        self.channels, self.dim = channels, dim
        self.theta = Parameter(filled(channels // 2, init))

    def forward(self, x):
        return householder_activation(x, self.theta, self.dim)

    def extra_repr(self):
        return f"channels={self.channels}, dim={self.dim}"


# ------------------------------------------------------------------ registry
def _hh_input(r, shape, theta, axis=1, gap=0.15):
    """Pairs kept at least ``gap`` from the switching line vᵀz = 0 (θ per pair or shared)."""
    import numpy as np
    x = r.standard_normal(shape) * 1.5
    a, b = np.split(x, 2, axis=axis)
    th = np.asarray(theta, dtype=float)
    view = [1] * x.ndim
    if th.size > 1:
        view[axis] = th.size
    th = th.reshape(view)
    sh, ch = np.sin(th / 2), np.cos(th / 2)
    s = a * sh - b * ch
    push = np.where(np.abs(s) < gap, (gap + 0.1 - np.abs(s)) * np.where(s >= 0, 1.0, -1.0), 0.0)
    a, b = a + push * sh, b - push * ch                      # move along v
    return np.concatenate([a, b], axis=axis)


def _hh_case_pairs(r):
    import numpy as np
    theta = r.uniform(0.3, 3.0, (2,))
    return Case(_hh_input(r, (2, 4, 3), theta), np.array(theta))


def _hh_case_shared(r):
    import numpy as np
    theta = r.uniform(0.3, 3.0, (1,))
    return Case(_hh_input(r, (3, 4), theta), np.array(theta))


def _register_all():
    register(householder_activation, kind="activation", catalog_id="A048",
             module=HouseholderActivation,
             papers=["Novel Quadratic Constraints for Extending LipSDP beyond Slope-Restricted Activations"],
             inputs=lambda r: [Case(_hh_input(r, (3, 4), math.pi / 2)),
                               _hh_case_pairs(r),
                               _hh_case_shared(r),
                               Case(_hh_input(r, (2, 3, 4), 1.1, axis=2), theta=1.1, dim=-1)])


_register_all()
