"""TrAct: train the first layer's pre-activations instead of its weights (a modified weight
gradient for the first Linear / Conv2d layer; the forward is unchanged).

It lives with the optimizers, not the layers, because it is an optimization method: the
layer computes exactly what ``Linear``/``Conv2d`` compute, only the weight gradient that
any optimizer then consumes is replaced. ``TrAct(layer, l=0.1)`` swaps a built layer for
its TrAct twin sharing the same parameters, as the reference's ``TrAct`` does.
"""
import copy
import math

from minigrad.autograd import Function
from minigrad.backends import backend_of_array
from minigrad.backends.kernels.conv_ref import col2im, im2col
from minigrad.dtypes import check_same_dtype
from minigrad.layers.conv import Conv2d
from minigrad.layers.linear import Linear
from minigrad.registry import Case, register

_TRACT = "TrAct: Making First-layer Pre-Activations Trainable"


def tract_weight_grad(a, g, lambda_):
    """The TrAct weight gradient from the input rows ``a`` (n, d_in) and output gradient
    rows ``g`` (n, d_out), on raw arrays:

        n ≥ d_in:  ∇W = Gᵀ X (XᵀX/n + λI)⁻¹
        n < d_in:  ∇W = (1/λ)·Gᵀ (I_n − (1/λ)·A (A/λ + I_n)⁻¹) X,   A = X Xᵀ/n

    (the two are equal by the Woodbury identity). Both systems are symmetric positive
    definite for λ > 0 and are solved, never inverted: (XᵀX/n + λI) is symmetric, so
    Gᵀ X S⁻¹ = (S⁻¹ XᵀG)ᵀ; A and A/λ + I commute, so A (A/λ + I)⁻¹ = (A/λ + I)⁻¹ A."""
    xp = backend_of_array(a).xp
    n, d = a.shape
    if n < d:
        gram = (a @ a.T) / n
        eye = xp.eye(n, dtype=a.dtype)
        k = xp.linalg.solve(gram / lambda_ + eye, gram)
        return (g.T @ (eye - k / lambda_) @ a) / lambda_
    s = (a.T @ a) / n + lambda_ * xp.eye(d, dtype=a.dtype)
    return xp.linalg.solve(s, (g.T @ a).T).T


class TrActLinearFunction(Function):
    """y = x Wᵀ + b (x flattened to rows X (n, d_in) over its leading axes, n = their
    product); backward: dx = dy W and db = Σ dy as for ``linear``, but dW is TrAct's
    ``tract_weight_grad(X, G, λ)`` instead of Gᵀ X: the weight step of the paper's closed
    form that moves the pre-activations like a gradient step on them would (regularized by
    λ), deliberately not the derivative (→ GᵀX/λ as λ → ∞). No gradient flows through the
    solve (the rule is not differentiated again)."""

    @staticmethod
    def forward(ctx, x, weight, bias, lambda_):
        if weight.ndim != 2 or x.ndim == 0 or x.shape[-1] != weight.shape[1]:
            raise ValueError(f"tract_linear: input of shape {x.shape} does not match a weight "
                             f"of shape {weight.shape} (out_features, in_features)")
        if bias is not None and bias.shape != (weight.shape[0],):
            raise ValueError(f"tract_linear: bias of shape {bias.shape} for a weight of shape "
                             f"{weight.shape}; expected ({weight.shape[0]},)")
        ctx.save_for_backward(x, weight)
        ctx.lambda_ = lambda_
        y = x @ weight.T
        return y + bias if bias is not None else y

    @staticmethod
    def backward(ctx, gy):
        x, weight = ctx.saved_tensors
        needs = ctx.needs_input_grad
        gx = gy @ weight if needs[0] else None
        gw = gb = None
        g = gy.reshape(-1, gy.shape[-1])
        if needs[1]:
            gw = tract_weight_grad(x.reshape(-1, x.shape[-1]), g, ctx.lambda_)
        if len(needs) > 2 and needs[2]:
            gb = g.sum(axis=0)
        return gx, gw, gb, None


def _check_lambda(name, lambda_):
    if not (isinstance(lambda_, (int, float)) and lambda_ > 0 and math.isfinite(lambda_)):
        raise ValueError(f"{name}: lambda_ must be a finite number > 0, got {lambda_!r}")


def tract_linear(x, weight, bias=None, lambda_=0.1):
    """TrAct's first linear layer: y = x Wᵀ + b forward, TrAct weight gradient backward.

        ∇W = Gᵀ X (XᵀX/n + λI)⁻¹    (n ≥ d_in; the Woodbury form for n < d_in)
        ∇x = G W,   ∇b = Σ_rows G    (unchanged)

    Paper: Petersen, Borgelt & Ermon 2024, "TrAct: Making First-layer Pre-Activations
    Trainable" (the closed-form update of the pre-activations, mapped back to the weights).
    Where it came from: Felix-Petersen/tract src/tract.py ``TrActLinearFunction`` (both
    forms, the switch at n < d_in, n = the number of rows); λ = ``lambda_`` = 0.1, its
    ``TrAct(l=0.1)`` default and the paper's recommendation. The reference inverts with
    ``torch.inverse``; here the SPD systems are solved (same values up to rounding).
    ``custom`` check: tested against this closed form, not finite differences.
    """
    _check_lambda("tract_linear", lambda_)
    check_same_dtype("tract_linear", x, weight, bias)
    return TrActLinearFunction.apply(x, weight, bias, lambda_)


class TrActConv2dFunction(Function):
    """conv2d (groups = 1) as a matrix product on im2col patch rows A (N·OH·OW, C·kh·kw):
    y = A Wᵀ + b; backward: dx = col2im(G W) and db = Σ G as for conv2d, dW =
    ``tract_weight_grad(A, G, λ)`` with G the output gradient as (N·OH·OW, O) rows."""

    @staticmethod
    def forward(ctx, x, weight, bias, stride, padding, dilation, lambda_):
        if x.ndim != 4 or weight.ndim != 4 or x.shape[1] != weight.shape[1]:
            raise ValueError(f"tract_conv2d: input of shape {x.shape} does not match a weight "
                             f"of shape {weight.shape} (out, in, kh, kw)")
        n, c, h, w = x.shape
        o, _, kh, kw = weight.shape
        cols = im2col(x, (kh, kw), stride, padding, dilation)       # (N, C, kh, kw, OH, OW)
        oh, ow = cols.shape[4], cols.shape[5]
        a = cols.transpose(0, 4, 5, 1, 2, 3).reshape(n * oh * ow, c * kh * kw)
        y = a @ weight.reshape(o, -1).T
        if bias is not None:
            y = y + bias
        ctx.save_for_backward(weight)
        ctx.a, ctx.geometry = a, (x.shape, (kh, kw), stride, padding, dilation, oh, ow)
        ctx.lambda_ = lambda_
        return y.reshape(n, oh, ow, o).transpose(0, 3, 1, 2).copy()

    @staticmethod
    def backward(ctx, gy):
        (weight,) = ctx.saved_tensors
        x_shape, (kh, kw), stride, padding, dilation, oh, ow = ctx.geometry
        n, c = x_shape[:2]
        o = weight.shape[0]
        g = gy.transpose(0, 2, 3, 1).reshape(-1, o)
        needs = ctx.needs_input_grad
        gx = gw = gb = None
        if needs[0]:
            cols = (g @ weight.reshape(o, -1)).reshape(n, oh, ow, c, kh, kw)
            gx = col2im(cols.transpose(0, 3, 4, 5, 1, 2).copy(), x_shape, stride, padding,
                        dilation)
        if needs[1]:
            gw = tract_weight_grad(ctx.a, g, ctx.lambda_).reshape(weight.shape)
        if len(needs) > 2 and needs[2]:
            gb = g.sum(axis=0)
        return gx, gw, gb, None, None, None, None


def _pairs(name, value, what):
    v = (value, value) if isinstance(value, int) else tuple(value)
    if len(v) != 2 or not all(isinstance(i, int) and i >= 0 for i in v):
        raise ValueError(f"{name}: {what} must be an int or a pair of ints >= 0, got {value!r}")
    return v


def tract_conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, lambda_=0.1):
    """TrAct's first convolution (groups = 1, zero padding): the forward of ``conv2d``, the
    TrAct weight gradient on the im2col patch rows (n = N·OH·OW rows of C·kh·kw entries).

    ∇W = Gᵀ A (AᵀA/n + λI)⁻¹ on the patch rows A; ∇x and ∇b as for ``conv2d``.

    Paper: Petersen, Borgelt & Ermon 2024, "TrAct: Making First-layer Pre-Activations
    Trainable".
    Where it came from: Felix-Petersen/tract src/tract.py ``TrActConv2DFunction`` (unfold
    to patch rows, the same two forms as ``tract_linear`` with n = batch·H′·W′).
    """
    _check_lambda("tract_conv2d", lambda_)
    check_same_dtype("tract_conv2d", x, weight, bias)
    stride = _pairs("tract_conv2d", stride, "stride")
    if any(s < 1 for s in stride):
        raise ValueError(f"tract_conv2d: stride must be >= 1, got {stride}")
    dilation = _pairs("tract_conv2d", dilation, "dilation")
    if any(d < 1 for d in dilation):
        raise ValueError(f"tract_conv2d: dilation must be >= 1, got {dilation}")
    ph, pw = _pairs("tract_conv2d", padding, "padding")
    return TrActConv2dFunction.apply(x, weight, bias, stride, ((ph, ph), (pw, pw)), dilation,
                                     lambda_)


class TrActLinear(Linear):
    """``TrActLinear(in_features, out_features, bias=True, lambda_=0.1)``: a ``Linear`` whose
    weight gradient is TrAct's (see ``tract_linear``): y = x Wᵀ + b forward,
    ∇W = Gᵀ X (XᵀX/n + λI)⁻¹ backward. Paper: Petersen, Borgelt & Ermon 2024, "TrAct:
    Making First-layer Pre-Activations Trainable"."""

    def __init__(self, in_features, out_features, bias=True, lambda_=0.1, dtype="float32",
                 generator=None):
        _check_lambda("TrActLinear", lambda_)
        super().__init__(in_features, out_features, bias=bias, dtype=dtype, generator=generator)
        self.lambda_ = lambda_

    def forward(self, x):
        return tract_linear(x, self.weight, self.bias, self.lambda_)


class TrActConv2d(Conv2d):
    """``TrActConv2d(in_channels, out_channels, kernel_size, stride=1, padding=0,
    dilation=1, bias=True, lambda_=0.1)``: a ``Conv2d`` (groups = 1) whose weight gradient
    is TrAct's (see ``tract_conv2d``): ∇W = Gᵀ A (AᵀA/n + λI)⁻¹ on the im2col patch rows A.
    Paper: Petersen, Borgelt & Ermon 2024, "TrAct: Making First-layer Pre-Activations
    Trainable"."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 bias=True, lambda_=0.1, dtype="float32", generator=None):
        _check_lambda("TrActConv2d", lambda_)
        super().__init__(in_channels, out_channels, kernel_size, stride=stride, padding=padding,
                         dilation=dilation, bias=bias, dtype=dtype, generator=generator)
        if isinstance(self.padding, str):
            raise ValueError("TrActConv2d: padding must be numbers, not a string")
        self.lambda_ = lambda_

    def forward(self, x):
        return tract_conv2d(x, self.weight, self.bias, self.stride, self.padding,
                            self.dilation, self.lambda_)


def TrAct(layer, l=0.1):  # noqa: E741  (the reference's argument name)
    """Wrap an existing first ``Linear`` or ``Conv2d`` layer: the TrAct twin with the same
    weight and bias tensors (``model.conv1 = TrAct(model.conv1, l=0.1)``), whose weight
    gradient becomes ∇W = Gᵀ X (XᵀX/n + λI)⁻¹ with λ = ``l`` (0.1, the paper's default).
    Paper: Petersen, Borgelt & Ermon 2024, "TrAct: Making First-layer Pre-Activations
    Trainable"."""
    _check_lambda("TrAct", l)
    if isinstance(layer, Linear):
        new = TrActLinear.__new__(TrActLinear)
    elif isinstance(layer, Conv2d):
        if layer.groups != 1 or isinstance(layer.padding, str):
            raise ValueError("TrAct: only Conv2d with groups=1 and numeric padding is supported")
        new = TrActConv2d.__new__(TrActConv2d)
    else:
        raise TypeError(f"TrAct: the layer must be a Linear or a Conv2d, got "
                        f"{type(layer).__name__}")
    new.__dict__.update({k: copy.copy(v) if isinstance(v, dict) else v
                         for k, v in layer.__dict__.items()})
    new.lambda_ = l
    return new


def _tract_rule(arrays, kwargs, gy):
    """The documented gradients, written with explicit inverses (the paper's closed form)."""
    import numpy as np
    x, w = arrays[0], arrays[1]
    lam = kwargs.get("lambda_", 0.1)
    xm, gm = x.reshape(-1, x.shape[-1]), gy.reshape(-1, gy.shape[-1])
    n, d = xm.shape
    gw = gm.T @ xm @ np.linalg.inv(xm.T @ xm / n + lam * np.eye(d))
    out = [gy @ w, gw]
    if len(arrays) > 2 and arrays[2] is not None:
        out.append(gm.sum(axis=0))
    return out


register(tract_linear, name="tract", kind="optimizer", check="custom", catalog_id="O055",
         papers=[_TRACT], module=TrActLinear, backward_rule=_tract_rule,
         inputs=lambda r: [Case(r.standard_normal((7, 3)), r.standard_normal((2, 3)),
                                r.standard_normal(2)),
                           Case(r.standard_normal((3, 5)), r.standard_normal((4, 5)),
                                r.standard_normal(4), lambda_=0.5),
                           Case(r.standard_normal((2, 3, 4)), r.standard_normal((3, 4)),
                                lambda_=2.0)])
