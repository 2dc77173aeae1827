"""Structured activations: maxout, GroupSort/MaxMin, the capsule squash and the SIREN sine
(catalog A046, A047, A049, A045).

Maxout and GroupSort act on groups of consecutive features along one axis (each output is
one of its inputs, so the backward routes the upstream gradient by the forward's argmax or
sorting permutation); squash acts on whole capsule vectors; sine is elementwise with an
optional learnable frequency. Init helpers: ``maxout_init_`` (Tseran & Montúfar 2023) and
``siren_init_`` (Sitzmann et al. 2020).
"""
import math

from minigrad.autograd import Function, no_grad
from minigrad.layers import init
from minigrad.layers.module import Module, Parameter
from minigrad.ops._checks import check_floating
from minigrad.registry import Case, register
from minigrad.tensor import Tensor

__all__ = ["maxout", "group_sort", "squash", "sine", "maxout_init_", "maxout_init_gain",
           "siren_init_", "Maxout", "GroupSort", "Squash", "Sine", "SineLayer"]


def _axis(x, axis, op):
    if x.ndim == 0:
        raise ValueError(f"{op}: needs an input with at least one axis, got a 0-d tensor")
    if not -x.ndim <= axis < x.ndim:
        raise ValueError(f"{op}: axis {axis} out of range for an input of shape {tuple(x.shape)}")
    return axis % x.ndim


# ------------------------------------------------------------------ maxout
class MaxoutFn(Function):
    """Maxout (Goodfellow et al. 2013; initialisation study: Tseran & Montúfar 2023,
    "Expected Gradients of Maxout Networks and Consequences to Parameter Initialization").

    The features along ``axis`` (C = K·m pre-activations z, from a Linear/Conv with K·m
    outputs) are split into m groups of K consecutive entries, as ``tfa.layers.Maxout``
    that the paper's code uses (hanna-tseran/maxout_expected_gradients, training/
    training.py): h_i = max_{k=1..K} z_{i,k}.

    Backward: h_i is locally the single piece z_{i,k*} (k* = argmax), so ∂h_i/∂z_{i,k} =
    1[k = k*] and dz_{i,k} = dh_i·1[k = k*]: the gradient goes to the argmax piece only.
    On a tie the first (lowest-index) maximal piece gets the whole gradient (NumPy/CuPy
    argmax); the derivative does not exist there. The mask is saved, so the backward is
    differentiable (a linear map of dh): the second derivative is 0 almost everywhere.
    """
    differentiable_backward = True

    @staticmethod
    def forward(ctx, x, k, axis):
        xp = ctx.xp
        zg = xp.moveaxis(x, axis, -1)
        zg = zg.reshape(zg.shape[:-1] + (zg.shape[-1] // k, k))
        idx = xp.argmax(zg, axis=-1)
        mask = xp.arange(k) == idx[..., None]
        ctx.save_for_backward(mask)
        ctx.axis = axis
        ctx.moved_shape = zg.shape[:-2] + (zg.shape[-2] * k,)
        y = xp.take_along_axis(zg, idx[..., None], axis=-1)[..., 0]
        return xp.moveaxis(y, -1, axis)

    @staticmethod
    def backward(ctx, gy):
        xp = ctx.xp
        mask, = ctx.saved_tensors
        g = xp.expand_dims(xp.moveaxis(gy, ctx.axis, -1), -1)
        gz = xp.where(mask, g, xp.zeros_like(g)).reshape(ctx.moved_shape)
        return xp.moveaxis(gz, -1, ctx.axis), None, None


def maxout(x, num_pieces, axis=-1, dim=None):
    """Maxout over groups of ``num_pieces`` consecutive features along ``axis`` (default -1;
    PyTorch-style ``dim`` also accepted; use axis=1 for NCHW convolutions).

    h_i = max_{k=1..K} z_{i,k}, z of C = K·m features → h of m features (K = ``num_pieces``).
    Backward: ``MaxoutFn`` (help(minigrad.layers.activations.structured.MaxoutFn)): the
    gradient goes to the argmax piece (the first one on a tie).
    Paper: Tseran & Montúfar 2023, "Expected Gradients of Maxout Networks and Consequences
    to Parameter Initialization" (maxout itself: Goodfellow et al. 2013, "Maxout Networks").
    Grouping as ``tfa.layers.Maxout`` (consecutive entries), which the paper's code uses.
    """
    check_floating("maxout", x=x)
    if dim is not None:
        axis = dim
    axis = _axis(x, axis, "maxout")
    k = int(num_pieces)
    if k < 1 or x.shape[axis] % k:
        raise ValueError(f"maxout: axis {axis} of an input of shape {tuple(x.shape)} has "
                         f"{x.shape[axis]} features, not a multiple of num_pieces={num_pieces}")
    return MaxoutFn.apply(x, k, axis)


def maxout_init_gain(num_pieces):
    """The paper's initialisation constant c = 1/E[(max_{k≤K} Z_k)²], Z_k iid N(0, 1).

    E[M²] = ∫ x²·K·φ(x)·Φ(x)^(K−1) dx (density of the maximum of K normals), evaluated by
    quadrature: K = 2 → 1, 3 → 0.78391, 4 → 0.64461, 5 → 0.55555 (the paper's M_DICT,
    hanna-tseran/maxout_expected_gradients/training/training.py).
    Paper: Tseran & Montúfar 2023, "Expected Gradients of Maxout Networks and Consequences
    to Parameter Initialization".
    """
    import numpy
    from scipy.special import ndtr
    k = int(num_pieces)
    if k < 1:
        raise ValueError(f"maxout_init_gain: num_pieces must be >= 1, got {num_pieces}")
    t = numpy.linspace(-12.0, 12.0, 240001)
    dens = k * numpy.exp(-0.5 * t * t) / math.sqrt(2 * math.pi) * ndtr(t) ** (k - 1)
    f = t * t * dens
    m2 = float((f[:-1] + f[1:]).sum() * 0.5 * (t[1] - t[0]))
    return 1.0 / m2


def maxout_init_(weight, num_pieces, generator=None):
    """Fill the weight of the Linear/Conv feeding a maxout unit with W ~ N(0, c/fan_in),
    c = ``maxout_init_gain(num_pieces)``; fan_in = in·∏kernel (the paper's CNN init uses
    c/(k²·fan_in), the same thing). In place, no backward. Biases: zero in the paper's code.
    Paper: Tseran & Montúfar 2023, "Expected Gradients of Maxout Networks and Consequences
    to Parameter Initialization".
    """
    fan_in, _ = init.calculate_fan_in_and_fan_out(weight)
    return init.normal_(weight, 0.0, math.sqrt(maxout_init_gain(num_pieces) / fan_in),
                        generator=generator)


class Maxout(Module):
    """``Maxout(num_pieces, dim=-1)``: h_i = max over K = num_pieces consecutive features.

    Put it after a Linear/Conv with K·m outputs (initialised by ``maxout_init_``).
    Backward: ``MaxoutFn`` (see ``F.maxout``). Paper: Tseran & Montúfar 2023, "Expected
    Gradients of Maxout Networks and Consequences to Parameter Initialization".
    """

    def __init__(self, num_pieces, dim=-1):
        super().__init__()
        self.num_pieces, self.dim = num_pieces, dim

    def forward(self, x):
        return maxout(x, self.num_pieces, self.dim)

    def extra_repr(self):
        return f"num_pieces={self.num_pieces}, dim={self.dim}"


# ------------------------------------------------------------------ group sort
class GroupSortFn(Function):
    """GroupSort (Anil, Lucas & Grosse 2019, "Sorting out Lipschitz function
    approximation"; used by the LipSDP and LiResNet papers of the catalog row).

    The features along ``axis`` are split into groups of k consecutive entries and each
    group is sorted in ascending order (deel-torchlip torchlip/functional.py ``group_sort``:
    ``torch.sort`` ascending, and for k = 2 (min(a, b), max(a, b)): GroupSort2 = MinMax;
    k = C: FullSort). y_j = x_{p_j} inside a group, p the (stable) argsort permutation.

    Backward: the Jacobian of a group is the permutation matrix P (P_{j,p_j} = 1), which
    is orthogonal (gradient-norm preserving): dx = Pᵀdy, i.e. dx_{p_j} = dy_j, computed
    as dx = dy[..., p⁻¹] (take_along_axis with the inverse permutation, saved from the
    forward). Ties: the sort is stable, so equal entries keep their input order and each
    receives the gradient of the output slot it was sorted into (the derivative does not
    exist there). The backward is linear in dy (differentiable; zero second derivative).
    """
    differentiable_backward = True

    @staticmethod
    def forward(ctx, x, k, axis):
        xp = ctx.xp
        xg = xp.moveaxis(x, axis, -1)
        xg = xg.reshape(xg.shape[:-1] + (xg.shape[-1] // k, k))
        perm = xp.argsort(xg, axis=-1, kind="stable")
        ctx.save_for_backward(xp.argsort(perm, axis=-1))
        ctx.axis, ctx.moved_shape = axis, xg.shape[:-2] + (xg.shape[-2] * k,)
        y = xp.take_along_axis(xg, perm, axis=-1).reshape(ctx.moved_shape)
        return xp.moveaxis(y, -1, ctx.axis)

    @staticmethod
    def backward(ctx, gy):
        xp = ctx.xp
        inv, = ctx.saved_tensors
        g = xp.moveaxis(gy, ctx.axis, -1).reshape(inv.shape)
        gx = xp.take_along_axis(g, inv, -1).reshape(ctx.moved_shape)
        return xp.moveaxis(gx, -1, ctx.axis), None, None


def group_sort(x, group_size=2, axis=1, dim=None):
    """Sort each group of ``group_size`` consecutive features along ``axis`` (default 1, the
    feature/channel axis, as deel-torchlip) in ascending order.

    y_g = sort(x_g) per group g; group_size = 2 gives MaxMin/GroupSort2 ((a, b) →
    (min, max)), ``group_size=None`` one group of all features (FullSort).
    Backward: ``GroupSortFn`` (help(minigrad.layers.activations.structured.GroupSortFn)):
    dx = Pᵀdy, P the sorting permutation (ties: stable order).
    Paper: Anil, Lucas & Grosse 2019, "Sorting out Lipschitz function approximation" (as
    used in the catalog's LipSDP / LiResNet papers). Deviation: deel-torchlip flattens an
    (N, C, *) input in memory order; here the groups always lie along ``axis``.
    """
    check_floating("group_sort", x=x)
    if dim is not None:
        axis = dim
    axis = _axis(x, axis, "group_sort")
    k = x.shape[axis] if group_size is None else int(group_size)
    if k < 1 or x.shape[axis] % k:
        raise ValueError(f"group_sort: axis {axis} of an input of shape {tuple(x.shape)} has "
                         f"{x.shape[axis]} features, not a multiple of group_size={group_size}")
    return GroupSortFn.apply(x, k, axis)


class GroupSort(Module):
    """``GroupSort(group_size=2, dim=1)``: y_g = sort(x_g) (ascending) per group of
    ``group_size`` consecutive features; 2 = MaxMin (GroupSort2), None = FullSort.

    Backward: ``GroupSortFn`` (see ``F.group_sort``). Paper: Anil, Lucas & Grosse 2019,
    "Sorting out Lipschitz function approximation".
    """

    def __init__(self, group_size=2, dim=1):
        super().__init__()
        self.group_size, self.dim = group_size, dim

    def forward(self, x):
        return group_sort(x, self.group_size, self.dim)

    def extra_repr(self):
        return f"group_size={self.group_size}, dim={self.dim}"


# ------------------------------------------------------------------ squash
class SquashFn(Function):
    """Capsule squash (Sabour, Frosst & Hinton 2017, "Dynamic Routing Between Capsules",
    Eq. 1): v = (‖s‖²/(1 + ‖s‖²))·s/‖s‖ over the capsule axis.

    ε placement: as the common Keras implementation (XifengGuo/CapsNet-Keras
    capsulelayers.py ``squash``: scale = q/(1 + q)/√(q + ε), ε = K.epsilon() = 1e-7), ε
    goes only under the square root of the normalising length: with q = Σ s²,
    v = h(q)·s,  h(q) = q/((1 + q)·√(q + ε)). ε = 0 is Sabour et al.'s official TF code
    (Sarasra/models research/capsules/models/layers.py ``_squash``: s/‖s‖·q/(1 + q), no ε),
    which is 0/0 = NaN at s = 0. (Other ports put ε outside the root, s/(‖s‖ + ε): not
    this one.)

    Backward: v_i = h(q)s_i, ∂q/∂s_j = 2s_j, so ∂v_i/∂s_j = h·δ_ij + 2h′(q)·s_i s_j and
    ds = h·dy + 2h′(q)·(sᵀdy)·s, with (quotient rule on q·(1 + q)⁻¹·(q + ε)^(−1/2))
    2h′(q) = [2(q + ε) − q(1 + q)] / ((1 + q)²·(q + ε)^(3/2)) = 2/((1 + q)²r) − h/r²,
    r = √(q + ε) (evaluated by successive divisions, so that nothing overflows while q is
    finite), finite at q = 0 for ε > 0
    (there v = 0 and ds = 0). For ε = 0 this is ds = g(n)dy + (g′(n)/n)(sᵀdy)s with
    g(n) = n/(1 + n²), n = ‖s‖, the catalog's form. Limits: q = Σs² must not overflow
    (‖s‖ < 1.8e19 in float32, 1.3e154 in float64) or v is NaN.
    """
    differentiable_backward = True

    @staticmethod
    def forward(ctx, s, axis, eps):
        xp = ctx.xp
        ctx.save_for_backward(s)
        ctx.axis, ctx.eps = axis, eps
        q = xp.sum(s * s, axis=axis, keepdims=True)
        return s * (q / (1 + q) / xp.sqrt(q + eps))

    @staticmethod
    def backward(ctx, gy):
        xp = ctx.xp
        s, = ctx.saved_tensors
        eps = ctx.eps
        q = xp.sum(s * s, axis=ctx.axis, keepdims=True)
        r = xp.sqrt(q + eps)
        h = q / (1 + q) / r
        h2 = 2 / (1 + q) / (1 + q) / r - h / (q + eps)      # divisions only: no overflow
        sd = xp.sum(s * gy, axis=ctx.axis, keepdims=True)
        return h * gy + h2 * sd * s, None, None


def squash(x, axis=-1, eps=1e-7, dim=None):
    """Capsule squash along ``axis`` (the capsule dimension, default -1; ``dim`` also
    accepted): output length ‖v‖ = ‖s‖²/(1 + ‖s‖²) ∈ [0, 1), direction of s.

    v = (q/(1 + q))·s/√(q + ε), q = Σ s² (ε = ``eps`` = 1e-7 as Keras' K.epsilon(); 0 gives
    the exact Eq. 1, NaN at s = 0).
    Backward: ``SquashFn`` (help(minigrad.layers.activations.structured.SquashFn)).
    Paper: Sabour, Frosst & Hinton 2017, "Dynamic Routing Between Capsules" (Eq. 1).
    """
    check_floating("squash", x=x)
    if dim is not None:
        axis = dim
    axis = _axis(x, axis, "squash")
    if eps < 0:
        raise ValueError(f"squash: eps must be >= 0, got {eps}")
    return SquashFn.apply(x, axis, float(eps))


class Squash(Module):
    """``Squash(dim=-1, eps=1e-7)``: v = (q/(1 + q))·s/√(q + ε), q = ‖s‖² over ``dim``.

    Backward: ``SquashFn`` (see ``F.squash``). Paper: Sabour, Frosst & Hinton 2017,
    "Dynamic Routing Between Capsules".
    """

    def __init__(self, dim=-1, eps=1e-7):
        super().__init__()
        self.dim, self.eps = dim, eps

    def forward(self, x):
        return squash(x, self.dim, self.eps)

    def extra_repr(self):
        return f"dim={self.dim}, eps={self.eps}"


# ------------------------------------------------------------------ sine (SIREN)
class SineFn(Function):
    """SIREN's periodic activation (Sitzmann et al. 2020, "Implicit Neural Representations
    with Periodic Activation Functions"; vsitzmann/siren explore_siren.ipynb ``SineLayer``):
    y = sin(ω₀·x), x the pre-activation, ω₀ a float or a learnable 1-element tensor.

    Backward (chain rule): dx = dy·ω₀·cos(ω₀x);  dω₀ = Σ dy·x·cos(ω₀x) (over all
    positions: one shared ω₀). Differentiable backward (sin, cos, sum).
    """
    differentiable_backward = True

    @staticmethod
    def forward(ctx, x, w0):
        ctx.w0_shape = getattr(w0, "shape", None)
        if ctx.w0_shape is None:
            ctx.save_for_backward(x)
            ctx.w0 = w0
            return ctx.xp.sin(w0 * x)
        ctx.save_for_backward(x, w0)
        return ctx.xp.sin(w0.reshape(()) * x)

    @staticmethod
    def backward(ctx, gy):
        xp = ctx.xp
        if ctx.w0_shape is None:
            (x,), w = ctx.saved_tensors, ctx.w0
        else:
            x, w0 = ctx.saved_tensors
            w = w0.reshape(())
        c = gy * xp.cos(w * x)
        gx = c * w if ctx.needs_input_grad[0] else None
        gw = None
        if ctx.w0_shape is not None and ctx.needs_input_grad[1]:
            gw = xp.sum(c * x).reshape(ctx.w0_shape)
        return gx, gw


def sine(x, w0=30.0):
    """SIREN sine activation y = sin(w0·x) (``w0`` = ω₀ = 30.0, a float or a learnable
    1-element tensor).

    y = sin(ω₀x),  dy/dx = ω₀cos(ω₀x),  dy/dω₀ = x·cos(ω₀x).
    Backward: ``SineFn`` (help(minigrad.layers.activations.structured.SineFn)).
    Paper: Sitzmann, Martel, Bergman, Lindell & Wetzstein 2020, "Implicit Neural
    Representations with Periodic Activation Functions". Use ``SineLayer`` for the
    full layer with SIREN's initialisation.
    """
    check_floating("sine", x=x, w0=w0)
    if isinstance(w0, Tensor):
        if math.prod(w0.shape) != 1:
            raise ValueError(f"sine: a tensor w0 must hold one value, got shape {tuple(w0.shape)}")
        return SineFn.apply(x, w0)
    return SineFn.apply(x, float(w0))


def siren_init_(weight, is_first=False, omega_0=30.0, generator=None):
    """SIREN weight init (vsitzmann/siren ``SineLayer.init_weights``), in place, no backward:
    first layer W ~ U(−1/n, 1/n); other sine layers W ~ U(−√(6/n)/ω₀, √(6/n)/ω₀),
    n = fan_in (the hidden weights are pre-divided by ω₀ so that ω₀Wx has unit-scale
    arguments; Sec. 3.2 and supplement 1.5). Biases keep the Linear default.
    Paper: Sitzmann, Martel, Bergman, Lindell & Wetzstein 2020, "Implicit Neural
    Representations with Periodic Activation Functions".
    """
    n, _ = init.calculate_fan_in_and_fan_out(weight)
    bound = 1.0 / n if is_first else math.sqrt(6.0 / n) / omega_0
    return init.uniform_(weight, -bound, bound, generator=generator)


class Sine(Module):
    """``Sine(w0=30.0, learnable=False)``: y = sin(ω₀x); with ``learnable=True`` ω₀ is a
    1-element Parameter initialised to ``w0``.

    Backward: ``SineFn`` (see ``F.sine``). Paper: Sitzmann, Martel, Bergman, Lindell &
    Wetzstein 2020, "Implicit Neural Representations with Periodic Activation Functions".
    """

    def __init__(self, w0=30.0, learnable=False):
        super().__init__()
        self.learnable = learnable
        if learnable:
            from minigrad.layers.activations._util import filled
            self.w0 = Parameter(filled(1, w0))
        else:
            self.w0 = float(w0)

    def forward(self, x):
        return sine(x, self.w0)

    def extra_repr(self):
        return f"learnable={self.learnable}"


class SineLayer(Module):
    """``SineLayer(in_features, out_features, bias=True, is_first=False, omega_0=30.0)``:
    y = sin(ω₀·(x Wᵀ + b)), W initialised by ``siren_init_`` (first layer U(±1/n), others
    U(±√(6/n)/ω₀)), b the Linear default, as vsitzmann/siren ``SineLayer``.

    Backward: ``LinearFunction`` then ``SineFn``. Paper: Sitzmann, Martel, Bergman,
    Lindell & Wetzstein 2020, "Implicit Neural Representations with Periodic Activation
    Functions". A SIREN is SineLayer(is_first=True), SineLayers, then a plain Linear.
    """

    def __init__(self, in_features, out_features, bias=True, is_first=False, omega_0=30.0,
                 dtype="float32", generator=None):
        super().__init__()
        from minigrad.layers.linear import Linear
        self.in_features, self.out_features = in_features, out_features
        self.is_first, self.omega_0 = is_first, omega_0
        self.linear = Linear(in_features, out_features, bias=bias, dtype=dtype, generator=generator)
        with no_grad():
            siren_init_(self.linear.weight, is_first, omega_0, generator=generator)

    def forward(self, x):
        return sine(self.linear(x), self.omega_0)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"is_first={self.is_first}, omega_0={self.omega_0}")


# ------------------------------------------------------------------ registry
def _no_ties(r, shape, axis):
    """Shuffled values along ``axis`` that differ pairwise by ≥ 0.2 (FD steps never swap
    an order)."""
    import numpy as np
    moved = np.moveaxis(np.empty(shape), axis, -1).shape
    perm = np.argsort(r.random(moved), axis=-1)               # a random order per line
    vals = (perm - moved[-1] / 2) * 0.25 + 0.05 * r.random(moved)   # spacing >= 0.2
    return np.moveaxis(vals, -1, axis)


def _register_all():
    n = lambda r, *s: r.standard_normal(s)  # noqa: E731
    register(maxout, kind="activation", catalog_id="A046", module=Maxout,
             papers=["Expected Gradients of Maxout Networks and Consequences to Parameter "
                     "Initialization"],
             inputs=lambda r: [Case(_no_ties(r, (3, 6), -1), 3),
                               Case(_no_ties(r, (2, 4, 3), 1), 2, axis=1),
                               Case(_no_ties(r, (1, 5), -1), 5)])
    register(group_sort, kind="activation", catalog_id="A047", module=GroupSort,
             papers=["Novel Quadratic Constraints for Extending LipSDP beyond Slope-Restricted "
                     "Activations",
                     "Unlocking Deterministic Robustness Certification on ImageNet"],
             inputs=lambda r: [Case(_no_ties(r, (3, 6), 1)),
                               Case(_no_ties(r, (2, 6, 2), 1), 3),
                               Case(_no_ties(r, (2, 5), 1), None),
                               Case(_no_ties(r, (2, 3, 4), -1), 4, axis=-1)])
    register(squash, kind="activation", catalog_id="A049", module=Squash,
             papers=["A Capsule Network for Hierarchical Multi-Label Image Classification",
                     "weighted CapsuleNet networks for Persian multi-domain sentiment analysis"],
             inputs=lambda r: [Case(n(r, 3, 4)), Case(3 * n(r, 2, 3, 5), axis=1),
                               Case(0.1 * n(r, 4, 8), eps=0.0)])
    register(sine, kind="activation", catalog_id="A045", module=Sine,
             papers=["Spectral Bottleneck in Deep Neural Networks: Noise is All You Need",
                     "Multi-stage Neural Networks: Function Approximator of Machine Precision"],
             inputs=lambda r: [Case(0.1 * n(r, 3, 4)), Case(n(r, 2, 3), w0=1.0),
                               Case(0.1 * n(r, 3, 4), r.uniform(20.0, 40.0, (1,))),
                               Case(n(r, 2, 2, 3), r.uniform(0.5, 2.0, (1,)))])


_register_all()
