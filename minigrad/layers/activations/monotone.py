"""Monotone activations (convex / concave / saturated) and the monotone dense layer
``MonoDense`` of the Constrained Monotonic Neural Networks (catalog A035).

Runje & Shankaranarayana 2023, "Constrained Monotonic Neural Networks" (ICML); the method
as in the official code airtai/monotonic-nn, airt/_components/mono_dense_layer.py
(``get_saturated_activation``, ``apply_activations``,
``apply_monotonicity_indicator_to_kernel``, ``MonoDense``), read and written in our own words.
"""
import numpy as np

from minigrad.autograd import Function
from minigrad.layers.activations._util import uniform_away_from_kinks
from minigrad.layers import init
from minigrad.layers.module import Module, Parameter
from minigrad.ops._checks import check_floating
from minigrad.registry import Case, register
from minigrad.tensor import Tensor

BASES = ("relu", "elu")


def _base(xp, u, activation):
    """The convex, monotonically increasing base ρ̆: ReLU max(u, 0) or ELU (α = 1, Keras's
    ``elu``): u for u > 0, eᵘ − 1 otherwise."""
    if activation == "relu":
        return xp.maximum(u, 0.0)
    return xp.where(u > 0, u, xp.expm1(xp.minimum(u, 0.0)))


def _base_grad(xp, u, activation):
    """ρ̆′(u): 1[u > 0] for ReLU (0 at the kink, as torch; a boolean mask, so that the
    product with dy keeps dy's dtype), 1 or eᵘ for ELU."""
    if activation == "relu":
        return u > 0
    return xp.where(u > 0, 1.0, xp.exp(xp.minimum(u, 0.0)))


def _split_sizes(units, is_convex, is_concave, activation_weights, op="monotone_activation"):
    """(s̆, ŝ, s̃): how many of the last axis' ``units`` columns get the convex, concave and
    saturated activation — mono_dense_layer.py ``apply_activations``: the weights are
    normalised to sum 1, s̆ = round(w̆·units), ŝ = round(ŵ·units), s̃ the rest (Python's
    round, half to even, as the reference)."""
    if is_convex and is_concave:
        raise ValueError(f"{op}: is_convex and is_concave cannot both be True "
                         "(only linear functions are both)")
    if is_convex:
        return units, 0, 0
    if is_concave:
        return 0, units, 0
    w = [float(v) for v in activation_weights]
    if len(w) != 3 or min(w) < 0 or sum(w) <= 0:
        raise ValueError(f"{op}: activation_weights must be three non-negative numbers with a "
                         f"positive sum, got {tuple(activation_weights)}")
    s_convex = round(w[0] / sum(w) * units)
    s_concave = round(w[1] / sum(w) * units)
    if s_convex + s_concave > units:
        s_concave = units - s_convex
    return s_convex, s_concave, units - s_convex - s_concave


class MonotoneActivationFn(Function):
    """Convex / concave / saturated monotone activations (Runje & Shankaranarayana 2023,
    Sec. 3 of "Constrained Monotonic Neural Networks"; airtai/monotonic-nn
    airt/_components/mono_dense_layer.py, with a = c = 1 as ``get_activation_functions``).

    From a convex increasing base ρ̆ (ReLU or ELU):
        convex      ρ̆(x)
        concave     ρ̂(x) = −ρ̆(−x)
        saturated   ρ̃(x) = ρ̆(x + 1) − ρ̆(1)    for x ≤ 0
                          ρ̂(x − 1) + ρ̆(1) = ρ̆(1) − ρ̆(1 − x)   for x > 0
    The last axis is split into s̆ convex, ŝ concave and s̃ saturated columns, in that order.

    Backward. Each piece is s·(ρ̆(u) − o) with a sign s = ±1 and an argument u = s·x + b
    (convex: s = 1, u = x; concave: s = −1, u = −x; saturated: s = 1, u = x + 1 for x ≤ 0
    and s = −1, u = 1 − x for x > 0; o a constant). Chain rule: dy/dx = s·ρ̆′(u)·s = ρ̆′(u),
    so dx = dy·ρ̆′(u) in every column. ρ̃ is C¹ at 0 (both sides ρ̆′(1)); a ReLU base has
    kinks at x = 0 (convex, concave) and x = ±1 (saturated), where ρ̆′ is taken as 0.
    The three column blocks are contiguous, so each is computed on its own slice; u is
    recomputed from x in backward, and the same code runs on tensors (second derivative:
    s·ρ̆″(u), 0 for ReLU, s·eᵘ·1[u < 0] for ELU).
    """
    differentiable_backward = True

    @staticmethod
    def _blocks(xp, x, sizes):
        """(convex, concave, saturated) column blocks of x, and u of the saturated block."""
        s_convex, s_concave, _ = sizes
        convex, concave, saturated = xp.split(x, [s_convex, s_convex + s_concave], axis=-1)
        left = saturated <= 0
        return convex, concave, saturated, left, xp.where(left, saturated + 1.0, 1.0 - saturated)

    @staticmethod
    def forward(ctx, x, sizes, activation):
        xp = ctx.xp
        ctx.save_for_backward(x)
        ctx.sizes, ctx.activation = sizes, activation
        convex, concave, _, left, u = MonotoneActivationFn._blocks(xp, x, sizes)
        r = _base(xp, u, activation)            # ρ̆(1) = 1 for ReLU and ELU
        return xp.concatenate([_base(xp, convex, activation), -_base(xp, -concave, activation),
                               xp.where(left, r - 1.0, 1.0 - r)], axis=-1).astype(x.dtype)

    @staticmethod
    def backward(ctx, gy):
        x, = ctx.saved_tensors
        xp, act = ctx.xp, ctx.activation
        convex, concave, _, _, u = MonotoneActivationFn._blocks(xp, x, ctx.sizes)
        slope = [_base_grad(xp, convex, act), _base_grad(xp, -concave, act), _base_grad(xp, u, act)]
        return gy * xp.concatenate(slope, axis=-1), None, None


def monotone_activation(x, activation="relu", is_convex=False, is_concave=False,
                        activation_weights=(7.0, 7.0, 2.0)):
    """Monotone activations of a monotone dense layer, split over the last axis.

    y = ρ̆(x) | −ρ̆(−x) | ρ̆(x + 1) − ρ̆(1) (x ≤ 0), ρ̆(1) − ρ̆(1 − x) (x > 0): the first s̆
    columns convex, the next ŝ concave, the last s̃ saturated.
    Backward: ``MonotoneActivationFn``
    (help(minigrad.layers.activations.monotone.MonotoneActivationFn)).
    Paper: Runje & Shankaranarayana 2023, "Constrained Monotonic Neural Networks".

    ``activation`` = "relu": the convex increasing base ρ̆ ("relu" or "elu");
    ``is_convex`` = False / ``is_concave`` = False: every column convex (or concave);
    ``activation_weights`` = (7.0, 7.0, 2.0): the ratio s̆ : ŝ : s̃ otherwise (the
    reference's default), s̆ = round(7/16·units), ŝ = round(7/16·units), s̃ the rest.
    Each output is a monotonically increasing function of its input.
    """
    check_floating("monotone_activation", x=x)
    if activation not in BASES:
        raise ValueError(f"monotone_activation: activation must be one of {BASES}, "
                         f"got {activation!r}")
    if x.ndim == 0:
        raise ValueError("monotone_activation: the input needs a last axis to split, got a scalar")
    sizes = _split_sizes(x.shape[-1], is_convex, is_concave, activation_weights)
    return MonotoneActivationFn.apply(x, sizes, activation)


def monotone_kernel(weight, monotonicity_indicator):
    """W′ of a monotone dense layer (mono_dense_layer.py
    ``apply_monotonicity_indicator_to_kernel``): |W| in the columns of inputs with
    indicator t = 1 (increasing), −|W| where t = −1 (decreasing), W where t = 0.
    ``weight`` is (out_features, in_features), ``monotonicity_indicator`` an int or one per
    input feature. Composed of the ``abs`` and ``where`` primitives: dW = sign(W)·dW′ in the
    constrained columns (0 at W = 0), dW′ elsewhere.
    Paper: Runje & Shankaranarayana 2023, "Constrained Monotonic Neural Networks"."""
    from minigrad.backends import backend_of_array
    from minigrad.ops.elementwise import where
    t = np.broadcast_to(np.asarray(monotonicity_indicator), (weight.shape[1],))
    b = backend_of_array(weight.data)
    inc = Tensor(b.asarray(np.broadcast_to(t == 1, weight.shape).copy()))
    dec = Tensor(b.asarray(np.broadcast_to(t == -1, weight.shape).copy()))
    absw = weight.abs()
    return where(inc, absw, where(dec, -absw, weight))


class MonotoneActivation(Module):
    """``MonotoneActivation(activation="relu", is_convex=False, is_concave=False,
    activation_weights=(7.0, 7.0, 2.0))``: the activation part of a monotone dense layer,
    applied to the last axis (see ``F.monotone_activation``): y = ρ̆(x) in the first s̆
    columns, −ρ̆(−x) in the next ŝ, ρ̆(x + 1) − ρ̆(1) (x ≤ 0) or ρ̆(1) − ρ̆(1 − x) (x > 0)
    in the last s̃.

    Backward: ``MonotoneActivationFn``. Paper: Runje & Shankaranarayana 2023,
    "Constrained Monotonic Neural Networks".
    """

    def __init__(self, activation="relu", is_convex=False, is_concave=False,
                 activation_weights=(7.0, 7.0, 2.0)):
        super().__init__()
        if activation not in BASES:
            raise ValueError(f"MonotoneActivation: activation must be one of {BASES}, "
                             f"got {activation!r}")
        _split_sizes(16, is_convex, is_concave, activation_weights, "MonotoneActivation")
        self.activation, self.is_convex, self.is_concave = activation, is_convex, is_concave
        self.activation_weights = tuple(activation_weights)

    def forward(self, x):
        return monotone_activation(x, self.activation, self.is_convex, self.is_concave,
                                   self.activation_weights)

    def extra_repr(self):
        return (f"activation={self.activation!r}, is_convex={self.is_convex}, "
                f"is_concave={self.is_concave}, activation_weights={self.activation_weights}")


class MonoDense(Module):
    """Monotone dense layer (Runje & Shankaranarayana 2023, "Constrained Monotonic Neural
    Networks", Sec. 3; airtai/monotonic-nn ``MonoDense``):

        h = x W′ᵀ + b,   W′ = |W| (t = 1), −|W| (t = −1), W (t = 0) per input column,
        y = monotone_activation(h, activation, is_convex, is_concave, activation_weights).

    ``MonoDense(in_features, out_features, activation="relu", monotonicity_indicator=1,
    is_convex=False, is_concave=False, activation_weights=(7.0, 7.0, 2.0), bias=True,
    dtype="float32", generator=None)``. ``monotonicity_indicator``: 1 (increasing), −1
    (decreasing) or 0 (unconstrained), one int for all inputs or one per input feature;
    ``activation=None`` gives the linear layer h. Hidden layers of a monotone network use
    t = 1. W is (out_features, in_features) as ``nn.Linear``; initialised as the
    reference's Keras ``Dense``: W Glorot-uniform, b = 0.

    Backward: ``LinearFunction`` for h, the ``abs``/``where`` primitives for W′
    (dW = sign(W)·dW′ in constrained columns), ``MonotoneActivationFn`` for y.
    """

    def __init__(self, in_features, out_features, activation="relu", monotonicity_indicator=1,
                 is_convex=False, is_concave=False, activation_weights=(7.0, 7.0, 2.0),
                 bias=True, dtype="float32", generator=None):
        super().__init__()
        from minigrad.backends import current
        t = np.asarray(monotonicity_indicator)
        if t.ndim > 1 or (t.ndim == 1 and t.shape[0] not in (1, in_features)):
            raise ValueError(f"MonoDense: monotonicity_indicator must be one int or one per "
                             f"input feature ({in_features}), got shape {t.shape}")
        if not np.isin(t, (-1, 0, 1)).all():
            raise ValueError(f"MonoDense: each monotonicity_indicator must be -1, 0 or 1, "
                             f"got {t.tolist()}")
        if activation is not None:
            MonotoneActivation(activation, is_convex, is_concave, activation_weights)
        self.in_features, self.out_features = in_features, out_features
        self.monotonicity_indicator = np.broadcast_to(t, (in_features,)).astype(np.int64)
        self.activation, self.is_convex, self.is_concave = activation, is_convex, is_concave
        self.activation_weights = tuple(activation_weights)
        xp = current().xp
        self.weight = Parameter(xp.empty((out_features, in_features), dtype=dtype))
        init.xavier_uniform_(self.weight, generator=generator)
        if bias:
            self.bias = Parameter(xp.zeros((out_features,), dtype=dtype))
        else:
            self.register_parameter("bias", None)

    def kernel(self):
        """W′: the weight with the monotonicity constraints applied."""
        return monotone_kernel(self.weight, self.monotonicity_indicator)

    def forward(self, x):
        from minigrad.layers.linear import linear
        h = linear(x, self.kernel(), self.bias)
        if self.activation is None:
            return h
        return monotone_activation(h, self.activation, self.is_convex, self.is_concave,
                                   self.activation_weights)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"activation={self.activation!r}, "
                f"monotonicity_indicator={self.monotonicity_indicator.tolist()}")


# ------------------------------------------------------------------ registry
def _monotone_cases(r):
    kinks = (-1.0, 0.0, 1.0)
    return [Case(uniform_away_from_kinks(r, (3, 16), kinks)),
            Case(uniform_away_from_kinks(r, (2, 3, 5), kinks), activation="elu"),
            Case(uniform_away_from_kinks(r, (4, 6), kinks), activation_weights=(1.0, 1.0, 1.0)),
            Case(uniform_away_from_kinks(r, (3, 4), kinks), "relu", False, True),
            Case(uniform_away_from_kinks(r, (1, 7), kinks), activation="elu", is_convex=True)]


register(monotone_activation, kind="activation", catalog_id="A035", module=MonotoneActivation,
         papers=["Constrained Monotonic Neural Networks"], inputs=_monotone_cases)

__all__ = ["monotone_activation", "monotone_kernel", "MonotoneActivation", "MonoDense"]
