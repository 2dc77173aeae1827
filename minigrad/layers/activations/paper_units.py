"""Activations from single papers, each a unit with its own parameters or calling
convention: the ReLU classification function (A027), SAU (A030), the trainable matrix
activation (A033) and partially linearized units (A034). (The Householder activation,
A048, mixes channel pairs and lives in ``householder.py``.)

Where each formula came from:

* A027 ``relu_classifier``: Agarap 2018, "Deep Learning using Rectified Linear Units
  (ReLU)", §2.3–2.4 (the abstract's f(o) = max(0, o_i), ŷ = argmax f) and the author's
  Keras model (AFAgarap/relu-classifier ``dnn_relu.py``: a ``Dense(num_classes,
  activation='relu')`` output layer compiled with the loss the caller passes).
* A030 ``sau``: Biswas, Kumar, Banerjee & Pandey 2021, "SAU: Smooth activation function
  using convolution with approximate identities", §3: Leaky ReLU convolved with the
  Gaussian approximate identity φ_n(x) = (n/√(2π))·e^(−n²x²/2); α trainable (init 0.15),
  n a hyperparameter. The closed form is derived here from that definition (see
  ``SauFn``); secondary transcriptions of the paper's printed closed form disagree with
  each other, so the definition is the reference.
* A033 ``matrix_activation``: Liu, Cao, Li & Zikatanov, "Neural networks with trainable
  matrix activation functions" (arXiv 2109.09948), §2: σ(x) = D(x)·x, D diagonal with
  piecewise-constant entries on fixed intervals, the values trained. The diagonal case
  only; the paper's tridiagonal variant is not implemented.
* A034 ``partial_linear_unit``: Mehmeti-Göpel & Disselhoff 2022, "Nonlinear Advantage:
  Trained Networks Might Not Be As Complex as You Think": ReLUs replaced by channel-wise
  PReLUs whose slopes a sparsity prior pushes to 1 (a linear channel).
"""
import math
import numbers

from minigrad.autograd import Function
from minigrad.layers.activations._util import (channel_sum, channel_view, filled,
                                               normal_away_from_kinks, stash_parameter)
from minigrad.layers.module import Module, Parameter
from minigrad.ops._checks import check_floating
from minigrad.registry import Case, register
from minigrad.tensor import Tensor

SQRT_2PI = math.sqrt(2 * math.pi)
SQRT_HALF = math.sqrt(0.5)


def _scalar_or_tensor(op, name, value):
    if isinstance(value, Tensor):
        check_floating(op, **{name: value})
        return value
    return float(value)


# ------------------------------------------------------------------ A027
class ReluClassifierFn(Function):
    """ReLU as the classification function (Agarap 2018, §2.3): on the raw class scores
    o = θᵀh of the last Linear layer, f(o) = max(0, o); the class is argmax f(o).

    Backward: df/do = 1[o > 0] (0 at o = 0, as ReLU): a class whose score is ≤ 0 gets no
    gradient for that sample. argmax is not differentiated.
    """
    differentiable_backward = True

    @staticmethod
    def forward(ctx, o):
        positive = o > 0
        ctx.save_for_backward(positive)
        return ctx.xp.where(positive, o, 0.0).astype(o.dtype)

    @staticmethod
    def backward(ctx, gy):
        positive, = ctx.saved_tensors
        return ctx.xp.where(positive, gy, 0.0)


# ------------------------------------------------------------------ A030
def _normal_cdfs(xp, u, tail):
    """(Φ(u), Φ(−u)) from tail = Φ(−|u|) = ½·erfc(|u|/√2): the small one of the pair is the
    tail itself (full relative accuracy), the other 1 − tail."""
    positive = u > 0
    return xp.where(positive, 1 - tail, tail), xp.where(positive, tail, 1 - tail)


class SauFn(Function):
    """SAU (Biswas et al. 2021): Leaky ReLU of slope α convolved with the Gaussian
    approximate identity φ_n (standard deviation 1/n).

    Write Leaky ReLU as max(0, t) + α·min(0, t). With Z ~ N(0, 1) and u = n·x,
        r = E[max(0, x + Z/n)] = x·Φ(u) + φ(u)/n,
        q = E[min(0, x + Z/n)] = x·Φ(−u) − φ(u)/n        (r + q = x),
        y = r + α·q = ((1 + α)/2)·x + ((1 − α)/2)·x·erf(u/√2) + (1 − α)·e^(−u²/2)/(n√(2π)).
    Backward (d/dx of x·Φ(nx) is Φ(nx) + nx·φ(nx), of φ(nx)/n is −nx·φ(nx): they cancel):
        dy/dx = Φ(u) + α·Φ(−u) = α + (1 − α)·Φ(nx),     dy/dα = q,
    summed over the positions that share α. Φ(±u) come from one erfc, Φ(−|u|) = ½·erfc(|u|/√2),
    saved for the backward, so both tails are accurate (q is tiny, not 0 − rounding, for
    x ≫ 1/n). n is a hyperparameter (no gradient), as in the paper's experiments.
    n → ∞ recovers Leaky ReLU.
    """

    @staticmethod
    def forward(ctx, x, alpha, n):
        xp = ctx.xp
        a = stash_parameter(ctx, "alpha", alpha, x, "sau")
        ctx.n = n
        u = n * x
        tail = 0.5 * ctx.backend.special().erfc(xp.abs(u) * SQRT_HALF)   # Φ(−|u|)
        cdf, ccdf = _normal_cdfs(xp, u, tail)
        bump = xp.exp(-0.5 * u * u) / (n * SQRT_2PI)             # φ(u)/n
        ctx.save_for_backward(x, tail, *([a] if hasattr(a, "shape") else []))
        return (x * cdf + bump + a * (x * ccdf - bump)).astype(x.dtype)

    @staticmethod
    def backward(ctx, gy):
        xp = ctx.xp
        x, tail, *rest = ctx.saved_tensors
        a = rest[0] if ctx.alpha_shape is not None else ctx.alpha
        n = ctx.n
        cdf, ccdf = _normal_cdfs(xp, n * x, tail)
        gx = ga = None
        if ctx.needs_input_grad[0]:
            gx = gy * (cdf + a * ccdf)
        if ctx.alpha_shape is not None and ctx.needs_input_grad[1]:
            q = x * ccdf - xp.exp(-0.5 * (n * x) ** 2) / (n * SQRT_2PI)
            ga = channel_sum(gy * q, ctx.alpha_shape)
        return gx, ga, None

    @staticmethod
    def composite(x, alpha, n):
        a = channel_view(alpha, x, "sau") if isinstance(alpha, Tensor) else alpha
        u = x * n
        cdf = 0.5 * (1 + (u * SQRT_HALF).erf())                  # Φ(u)
        bump = (-0.5 * u * u).exp() / (n * SQRT_2PI)
        r = x * cdf + bump
        return r + a * (x - r)


# ------------------------------------------------------------------ A033
def _interval_masks(xp, x, breakpoints):
    """One boolean mask per interval [s_{k−1}, s_k) (s_0 = −∞, s_{K+1} = +∞), found with
    comparisons only: k(x) = #{j : x ≥ s_j}."""
    index = sum((x >= s).astype("int8") for s in breakpoints) if breakpoints else xp.zeros(x.shape, "int8")
    return [index == k for k in range(len(breakpoints) + 1)]


def _slope_view(t, k, x, shared):
    """Column k of the slope table t ((K+1,) shared or (C, K+1) per channel), shaped to
    broadcast against x (channel axis 1)."""
    col = t[k] if shared else t[:, k]
    if shared:
        return col
    return col.reshape((1, t.shape[0]) + (1,) * (x.ndim - 2))


class MatrixActivationFn(Function):
    """Trainable matrix activation, diagonal case (Liu, Cao, Li & Zikatanov, §2):
    σ(x) = D(x)·x with D(x) = diag(d_i(x_i)), d_i(v) = t_{i,k} for v ∈ [s_{k−1}, s_k),
    fixed breakpoints s_1 < … < s_K (s_0 = −∞, s_{K+1} = +∞), trainable slopes t.

    Backward, almost everywhere (D is locally constant away from the breakpoints):
        ∂σ_i/∂x_i = t_{i,k(x_i)},     ∂σ_i/∂t_{i,k} = x_i·1[x_i ∈ [s_{k−1}, s_k)],
    summed over the batch (and spatial) positions of neuron/channel i. At a breakpoint
    s_k ≠ 0 with t_{i,k} ≠ t_{i,k+1} σ jumps: no derivative there (gradient checks keep
    away from every s_k).
    """
    differentiable_backward = True

    @staticmethod
    def forward(ctx, x, t, breakpoints):
        xp = ctx.xp
        shared = t.ndim == 1
        masks = _interval_masks(xp, x, breakpoints)
        slope = 0.0
        for k, m in enumerate(masks):
            slope = slope + xp.where(m, _slope_view(t, k, x, shared), 0.0)
        ctx.save_for_backward(x, t, *masks)
        ctx.shared = shared
        return (slope * x + 0.0).astype(x.dtype)          # + 0.0: no −0 where the slope is 0

    @staticmethod
    def backward(ctx, gy):
        xp = ctx.xp
        x, t, *masks = ctx.saved_tensors
        gx = gt = None
        if ctx.needs_input_grad[0]:
            slope = 0.0
            for k, m in enumerate(masks):
                slope = slope + xp.where(m, _slope_view(t, k, x, ctx.shared), 0.0)
            gx = gy * slope
        if ctx.needs_input_grad[1]:
            gxy = gy * x
            axes = tuple(a for a in range(x.ndim) if ctx.shared or a != 1)
            cols = [xp.where(m, gxy, 0.0).sum(axis=axes) for m in masks]
            gt = xp.stack(cols, axis=-1)
        return gx, gt, None


# ------------------------------------------------------------------ A034
class PartialLinearFn(Function):
    """Partially linearizable unit (Mehmeti-Göpel & Disselhoff 2022): the channel-wise
    PReLU y = max(0, x) + α_c·min(0, x) whose slope α_c = 1 makes channel c linear (the
    identity) and α_c = 0 is ReLU; written as a gate a = 1 − α it is
    y = a·ReLU(x) + (1 − a)·x.

    dy/dx = 1[x > 0] + α·1[x ≤ 0];   dy/dα = min(0, x), summed over the positions of
    channel c (every position when α is shared). Kink at x = 0 (slope α taken there).
    """
    differentiable_backward = True

    @staticmethod
    def forward(ctx, x, alpha):
        xp = ctx.xp
        a = stash_parameter(ctx, "alpha", alpha, x, "partial_linear_unit")
        ctx.save_for_backward(x, *([a] if hasattr(a, "shape") else []))
        return xp.maximum(x, 0) + a * xp.minimum(x, 0)

    @staticmethod
    def backward(ctx, gy):
        xp = ctx.xp
        saved = ctx.saved_tensors
        x = saved[0]
        a = saved[1] if ctx.alpha_shape is not None else ctx.alpha
        gx = ga = None
        if ctx.needs_input_grad[0]:
            gx = xp.where(x > 0, gy, gy * a)
        if ctx.alpha_shape is not None and ctx.needs_input_grad[1]:
            ga = channel_sum(gy * xp.minimum(x, 0), ctx.alpha_shape)
        return gx, ga


# ------------------------------------------------------------------ functional
def relu_classifier(input):  # noqa: A002  (PyTorch's argument name)
    """ReLU as the classification function, applied to the raw class scores o.

    f(o) = max(0, o),  df/do = 1[o > 0]; predict with ``ReLUClassifier.predict`` (argmax f(o),
    the first index among ties, so a sample whose scores are all ≤ 0 is class 0).
    Backward: ``ReluClassifierFn`` (help(minigrad.layers.activations.paper_units.ReluClassifierFn)).
    Paper: Agarap 2018, "Deep Learning using Rectified Linear Units (ReLU)". The loss on
    f(o) is the caller's choice (the author's Keras model takes it as an argument; a class
    whose score is ≤ 0 gets no gradient from any loss).
    """
    check_floating("relu_classifier", input=input)
    return ReluClassifierFn.apply(input)


def sau(x, alpha=0.15, n=20000.0):
    """SAU: Leaky ReLU (slope alpha) smoothed by convolution with a Gaussian of std 1/n.

    y = ((1 + α)/2)·x + ((1 − α)/2)·x·erf(nx/√2) + (1 − α)·e^(−n²x²/2)/(n√(2π)),
    dy/dx = α + (1 − α)·Φ(nx),  dy/dα = x·Φ(−nx) − φ(nx)/n.
    Backward: ``SauFn`` (help(minigrad.layers.activations.paper_units.SauFn)).
    Paper: Biswas, Kumar, Banerjee & Pandey 2021, "SAU: Smooth activation function using
    convolution with approximate identities". ``alpha`` = 0.15 (the paper's trainable
    slope, its initial value; a float or a tensor of 1 or C values on axis 1), ``n`` =
    20000.0 (a hyperparameter, > 0; 20000 as reported for the paper's experiments by a
    secondary source: smaller n gives a visibly smooth curve). The closed form is the
    exact convolution, derived from the paper's definition (see ``SauFn``).
    """
    check_floating("sau", x=x)
    if isinstance(n, (bool, str)) or not isinstance(n, numbers.Real) or not (0 < n < math.inf):
        raise ValueError(f"sau: n (the inverse width of the Gaussian) must be a positive "
                         f"number, got {n!r}")
    return SauFn.apply(x, _scalar_or_tensor("sau", "alpha", alpha), float(n))


def matrix_activation(x, weight, breakpoints=(0.0,)):
    """Trainable matrix activation σ(x) = D(x)·x, D diagonal and piecewise constant.

    σ(x)_i = t_{i,k}·x_i for x_i ∈ [s_{k−1}, s_k),  ∂σ_i/∂x_i = t_{i,k},
    ∂σ_i/∂t_{i,k} = x_i·1[x_i ∈ [s_{k−1}, s_k)].
    Backward: ``MatrixActivationFn`` (help(minigrad.layers.activations.paper_units.MatrixActivationFn)).
    Paper: Liu, Cao, Li & Zikatanov 2021, "Neural networks with trainable matrix
    activation functions". ``weight`` = the slope table t: (K + 1,) shared by every neuron
    or (C, K + 1), one row per neuron/channel (axis 1 of x); ``breakpoints`` = (0.0,)
    (s_1 < … < s_K, fixed; t = [0, 1] is then ReLU). Only the diagonal case of the paper.
    """
    check_floating("matrix_activation", x=x, weight=weight)
    s = tuple(float(v) for v in breakpoints)
    if any(not math.isfinite(v) for v in s) or any(b <= a for a, b in zip(s, s[1:])):
        raise ValueError(f"matrix_activation: breakpoints must be finite and strictly "
                         f"increasing, got {tuple(breakpoints)}")
    k = len(s) + 1
    shape = tuple(weight.shape)
    if shape[-1:] != (k,) or weight.ndim not in (1, 2):
        raise ValueError(f"matrix_activation: weight must have shape ({k},) or (C, {k}) for "
                         f"{len(s)} breakpoints, got {shape}")
    if weight.ndim == 2 and (x.ndim < 2 or x.shape[1] != shape[0]):
        raise ValueError(f"matrix_activation: weight of shape {shape} needs an input with "
                         f"{shape[0]} channels on axis 1, got an input of shape {tuple(x.shape)}")
    return MatrixActivationFn.apply(x, weight, s)


def partial_linear_unit(x, alpha):
    """Partially linearizable unit: channel-wise PReLU, linear where alpha = 1.

    y = max(0, x) + α·min(0, x)  (= a·ReLU(x) + (1 − a)·x with a = 1 − α),
    dy/dx = 1[x > 0] + α·1[x ≤ 0],  dy/dα = min(0, x).
    Backward: ``PartialLinearFn`` (help(minigrad.layers.activations.paper_units.PartialLinearFn)).
    Paper: Mehmeti-Göpel & Disselhoff 2022, "Nonlinear Advantage: Trained Networks Might
    Not Be As Complex as You Think". ``alpha``: a float or a tensor of 1 or C values (axis
    1); ``nn.PartialLinearUnit`` learns it and gives the sparsity prior.
    """
    check_floating("partial_linear_unit", x=x)
    return PartialLinearFn.apply(x, _scalar_or_tensor("partial_linear_unit", "alpha", alpha))


# ------------------------------------------------------------------ modules
class ReLUClassifier(Module):
    """The ReLU classification layer, ``ReLUClassifier(in_features, num_classes, bias=True)``:
    o = θᵀh + b (a Linear layer on the penultimate activations h), f(o) = max(0, o);
    ``predict(h)`` = argmax f(o) (first index on ties).

    Backward: ``ReluClassifierFn`` (see ``F.relu_classifier``). Paper: Agarap 2018, "Deep
    Learning using Rectified Linear Units (ReLU)".
    """

    def __init__(self, in_features, num_classes, bias=True):
        super().__init__()
        from minigrad.layers.linear import Linear
        self.in_features, self.num_classes = in_features, num_classes
        self.fc = Linear(in_features, num_classes, bias=bias)

    def forward(self, h):
        return relu_classifier(self.fc(h))

    def predict(self, h):
        """ŷ = argmax_i f(o)_i, an integer tensor (ties: the first index)."""
        from minigrad.autograd import no_grad
        with no_grad():
            return self.forward(h).argmax(axis=-1)

    def extra_repr(self):
        return f"in_features={self.in_features}, num_classes={self.num_classes}"


class SAU(Module):
    """y = ((1 + α)/2)·x + ((1 − α)/2)·x·erf(nx/√2) + (1 − α)·e^(−n²x²/2)/(n√(2π)),
    ``SAU(num_parameters=1, init=0.15, n=20000.0, learnable=True)``: α trainable (one shared
    value or one per channel, axis 1), initialised to ``init``; n fixed.

    Backward: ``SauFn`` (see ``F.sau``). Paper: Biswas, Kumar, Banerjee & Pandey 2021, "SAU:
    Smooth activation function using convolution with approximate identities".
    """

    def __init__(self, num_parameters=1, init=0.15, n=20000.0, learnable=True):
        super().__init__()
        if not n > 0:
            raise ValueError(f"SAU: n must be positive, got {n}")
        self.num_parameters, self.n, self.learnable = num_parameters, float(n), learnable
        self.alpha = Parameter(filled(num_parameters, init)) if learnable else float(init)

    def forward(self, x):
        return sau(x, self.alpha, self.n)

    def extra_repr(self):
        return f"num_parameters={self.num_parameters}, n={self.n}, learnable={self.learnable}"


def relu_slopes(breakpoints):
    """The ReLU initial slope table row: t_k = 1 on intervals [s_{k−1}, s_k) with
    s_{k−1} ≥ 0, else 0 (so t = [0, 1] for the breakpoint 0)."""
    lower = [-math.inf] + list(breakpoints)
    return [1.0 if lo >= 0 else 0.0 for lo in lower]


class MatrixActivation(Module):
    """σ(x) = D(x)·x with trainable piecewise-constant diagonal D,
    ``MatrixActivation(num_features, breakpoints=(0.0,), init=None, shared=False)``: one row
    of K + 1 slopes per neuron/channel (axis 1; one row for all with ``shared=True``),
    initialised to ReLU (t_k = 1 on intervals at or above 0, else 0) or to ``init`` (a
    sequence of K + 1 slopes).

    Backward: ``MatrixActivationFn`` (see ``F.matrix_activation``). Paper: Liu, Cao, Li &
    Zikatanov 2021, "Neural networks with trainable matrix activation functions".
    """

    def __init__(self, num_features, breakpoints=(0.0,), init=None, shared=False):
        super().__init__()
        import numpy as np
        self.breakpoints = tuple(float(v) for v in breakpoints)
        row = relu_slopes(self.breakpoints) if init is None else [float(v) for v in init]
        if len(row) != len(self.breakpoints) + 1:
            raise ValueError(f"MatrixActivation: init needs {len(self.breakpoints) + 1} slopes "
                             f"for {len(self.breakpoints)} breakpoints, got {len(row)}")
        self.num_features, self.shared = num_features, shared
        table = np.array(row, dtype=np.float32)
        if not shared:
            table = np.tile(table, (num_features, 1))
        self.weight = Parameter(table)

    def forward(self, x):
        return matrix_activation(x, self.weight, self.breakpoints)

    def extra_repr(self):
        return f"num_features={self.num_features}, breakpoints={self.breakpoints}, shared={self.shared}"


class PartialLinearUnit(Module):
    """y = max(0, x) + α_c·min(0, x) with learnable channel-wise slopes,
    ``PartialLinearUnit(num_parameters=1, init=0.0)`` (init 0: starts as the ReLU it
    replaces). Channel c is linear when α_c = 1.

    ``linearity_penalty()`` = Σ_c |1 − α_c| is the sparsity prior on the number of
    nonlinear channels (add λ times it to the loss); ``linear_mask(tol)`` marks the
    channels with |1 − α_c| ≤ tol. Deviation: the penalty is the L1 form of "regularizing
    the slopes towards linearity"; its exact weighting in the paper was not available.
    Backward: ``PartialLinearFn`` (see ``F.partial_linear_unit``). Paper: Mehmeti-Göpel &
    Disselhoff 2022, "Nonlinear Advantage: Trained Networks Might Not Be As Complex as You
    Think".
    """

    def __init__(self, num_parameters=1, init=0.0):
        super().__init__()
        self.num_parameters = num_parameters
        self.alpha = Parameter(filled(num_parameters, init))

    def forward(self, x):
        return partial_linear_unit(x, self.alpha)

    def linearity_penalty(self):
        """Σ_c |1 − α_c| (a differentiable scalar tensor)."""
        return (1.0 - self.alpha).abs().sum()

    def linear_mask(self, tol=1e-3):
        """A boolean NumPy array: channel c is linear when |1 − α_c| ≤ tol."""
        import numpy as np
        return np.abs(1.0 - self.alpha.numpy()) <= tol

    def extra_repr(self):
        return f"num_parameters={self.num_parameters}"


# ------------------------------------------------------------------ registry
def _register_all():
    n = lambda r, *s: r.standard_normal(s)  # noqa: E731
    register(relu_classifier, kind="activation", catalog_id="A027", module=ReLUClassifier,
             papers=["Deep Learning using Rectified Linear Units (ReLU)"],
             inputs=lambda r: [Case(normal_away_from_kinks(r, (3, 4), [0.0])), Case(normal_away_from_kinks(r, (1, 5), [0.0]))])
    register(sau, kind="activation", catalog_id="A030", module=SAU,
             papers=["SAU: Smooth activation function using convolution with approximate identities"],
             inputs=lambda r: [Case(n(r, 3, 4), alpha=0.15, n=1.5),
                               Case(n(r, 3, 4) * 0.5, r.uniform(0.0, 0.3, (1,)), n=3.0),
                               Case(n(r, 2, 3, 2), r.uniform(-0.2, 0.4, (3,)), n=1.0),
                               Case(normal_away_from_kinks(r, (3, 4), [0.0], gap=0.05), 0.1)])
    register(matrix_activation, kind="activation", catalog_id="A033", module=MatrixActivation,
             papers=["Neural networks with trainable matrix activation functions"],
             inputs=lambda r: [Case(normal_away_from_kinks(r, (3, 4), [0.0]), r.uniform(-1, 1, (4, 2))),
                               Case(normal_away_from_kinks(r, (2, 3, 2), [-1.0, 0.0, 1.0]), r.uniform(-1, 1, (3, 4)),
                                    breakpoints=(-1.0, 0.0, 1.0)),
                               Case(normal_away_from_kinks(r, (4, 3), [0.5]), r.uniform(-1, 1, (2,)),
                                    breakpoints=(0.5,))])
    register(partial_linear_unit, kind="activation", catalog_id="A034", module=PartialLinearUnit,
             papers=["Nonlinear Advantage: Trained Networks Might Not Be As Complex as You Think"],
             inputs=lambda r: [Case(normal_away_from_kinks(r, (3, 4), [0.0]), 0.3),
                               Case(normal_away_from_kinks(r, (2, 3, 2), [0.0]), r.uniform(0.0, 1.0, (3,))),
                               Case(normal_away_from_kinks(r, (3, 4), [0.0]), r.uniform(0.0, 1.0, (1,)))])


_register_all()
