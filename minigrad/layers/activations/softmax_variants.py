"""Softmax variants that reshape the softmax's output: SA-Softmax (catalog A052).

SA-Softmax (Zheng et al. 2025, "Self-Adjust Softmax"; formulas from the paper's abstract
and introduction, arXiv:2502.18277) multiplies the softmax of each row of attention scores
by the scores themselves, so that the output's gradient does not vanish where softmax
saturates:

    SA(x)      = x ⊙ softmax(x)
    SA_norm(x) = r ⊙ softmax(x),   r = (x − lo)/(hi − lo),  lo = min(x_min, 0),
                                                           hi = max(0, x_max).

The normalised variant keeps every output in [0, 1]·softmax(x).
"""
from minigrad.autograd import Function
from minigrad.layers.activations._util import pick_axis
from minigrad.layers.module import Module
from minigrad.ops._checks import check_floating
from minigrad.ops._util import normalize_axis
from minigrad.registry import Case, register

__all__ = ["sa_softmax", "SASoftmax"]


class SASoftmaxFn(Function):
    """SA-Softmax along one axis (Zheng et al. 2025): y = x⊙s (``normalized=False``) or
    y = r⊙s with r = (x − lo)/D, lo = min(x_min, 0), hi = max(0, x_max), D = hi − lo
    (``normalized=True``); s = softmax(x) (max subtracted first).

    Backward. Plain: ∂y_i/∂x_k = δ_ik s_i + x_i s_i(δ_ik − s_k), so
        dx = dy⊙s + s⊙(dy⊙x − Σ_i s_i dy_i x_i).
    Normalised: y_i = r_i s_i with r depending on x_i directly (1/D) and on lo and hi:
    ∂r_i/∂lo = (r_i − 1)/D, ∂r_i/∂hi = −r_i/D. With c = dy⊙s,
        dx = c/D + s⊙(dy⊙r − Σ s dy r) + e_min·Σ c(r − 1)/D − e_max·Σ c r/D,
    where e_min is the one-hot of the (first) argmin, present only when x_min < 0 (else
    lo = 0 is a constant), and e_max that of the argmax, present only when x_max > 0.
    Not differentiable at ties of the min or the max, nor where x_min or x_max crosses 0.
    A row of zeros has D = 0: its output is 0 (numerator 0) and D is taken as 1 there.
    Second derivatives: ``composite`` (the same forward from registered ops).
    """

    @staticmethod
    def forward(ctx, x, axis, normalized):
        xp = ctx.xp
        e = xp.exp(x - x.max(axis=axis, keepdims=True))
        s = e / e.sum(axis=axis, keepdims=True)
        ctx.axis, ctx.normalized = axis, normalized
        if not normalized:
            ctx.save_for_backward(x, s)
            return x * s
        xmin = x.min(axis=axis, keepdims=True)
        xmax = x.max(axis=axis, keepdims=True)
        lo = xp.minimum(xmin, 0)
        hi = xp.maximum(xmax, 0)
        D = xp.where(hi - lo == 0, 1, hi - lo).astype(x.dtype, copy=False)
        r = (x - lo) / D
        idx = xp.arange(x.shape[axis]).reshape([-1 if a == axis else 1 for a in range(x.ndim)])
        e_min = (idx == xp.expand_dims(xp.argmin(x, axis=axis), axis)) & (xmin < 0)
        e_max = (idx == xp.expand_dims(xp.argmax(x, axis=axis), axis)) & (xmax > 0)
        ctx.save_for_backward(s, r, D, e_min, e_max)
        return r * s

    @staticmethod
    def backward(ctx, gy):
        ax = ctx.axis
        if not ctx.normalized:
            x, s = ctx.saved_tensors
            u = gy * x
            return gy * s + s * (u - (s * u).sum(axis=ax, keepdims=True)), None, None
        s, r, D, e_min, e_max = ctx.saved_tensors
        c = gy * s
        u = gy * r
        dx = c / D + s * (u - (s * u).sum(axis=ax, keepdims=True))
        g_lo = (c * (r - 1)).sum(axis=ax, keepdims=True) / D
        g_hi = -(c * r).sum(axis=ax, keepdims=True) / D
        return dx + e_min * g_lo + e_max * g_hi, None, None

    @staticmethod
    def composite(x, axis, normalized):
        from minigrad.layers.activations.softmax import softmax
        from minigrad.ops.elementwise import maximum, minimum, where
        from minigrad.ops.reductions import amax, amin
        s = softmax(x, axis)
        if not normalized:
            return x * s
        lo = minimum(amin(x, axis, True), 0.0)
        hi = maximum(amax(x, axis, True), 0.0)
        D = hi - lo
        D = where(D.data == 0, 1.0, D)                  # a row of zeros: D := 1
        return (x - lo) / D * s


def sa_softmax(x, axis=None, normalized=False, dim=None):
    """Self-Adjust Softmax along ``axis`` (PyTorch-style ``dim``; default -1):
    y = x ⊙ softmax(x); with ``normalized=True`` (default False)
    y = (x − min(x_min, 0))/(max(0, x_max) − min(x_min, 0)) ⊙ softmax(x).

    Backward: ``SASoftmaxFn`` (help(minigrad.layers.activations.softmax_variants.SASoftmaxFn)):
    dx = dy⊙s + s⊙(dy⊙x − Σ s dy x) (plain); the normalised form adds the gradients
    through min and max at the argmin/argmax entries.
    Paper: Zheng et al. 2025, "Self-Adjust Softmax".
    Masking: min and max run over the whole row, masked entries included; mask with a
    large negative finite value (−inf gives −inf·0 = NaN in the plain form).
    A row of zeros (normalised form) gives 0.
    """
    check_floating("sa_softmax", x=x)
    if x.ndim == 0:
        raise ValueError("sa_softmax: needs at least one axis to normalise over, got a 0-d input")
    axis = normalize_axis(pick_axis(axis, dim, "sa_softmax"), x.ndim)[0]
    if x.shape[axis] == 0:
        raise ValueError(f"sa_softmax: the normalised axis {axis} of an input of shape "
                         f"{tuple(x.shape)} is empty")
    return SASoftmaxFn.apply(x, axis, bool(normalized))


class SASoftmax(Module):
    """y = sa_softmax(x, normalized) along ``dim`` (default -1).

    Backward: ``SASoftmaxFn`` (see ``F.sa_softmax``). Paper: Zheng et al. 2025,
    "Self-Adjust Softmax".
    """

    def __init__(self, dim=-1, normalized=False):
        super().__init__()
        self.dim, self.normalized = dim, normalized

    def forward(self, x):
        return sa_softmax(x, normalized=self.normalized, dim=self.dim)

    def extra_repr(self):
        return f"dim={self.dim}, normalized={self.normalized}"


def _rows(r, *shape, sign=None):
    """Scores away from ties of the min and max and from 0 (where lo/hi switch)."""
    n = 1
    for s in shape:
        n *= s
    x = (r.permutation(n).reshape(shape) - n / 2 + 0.5) * 0.3 + r.uniform(-0.02, 0.02, shape)
    if sign == "+":
        x = abs(x) + 0.1
    elif sign == "-":
        x = -abs(x) - 0.1
    return x


register(sa_softmax, kind="activation", catalog_id="A052", module=SASoftmax,
         papers=["Self-Adjust Softmax"],
         inputs=lambda r: [Case(_rows(r, 3, 5)), Case(_rows(r, 2, 4, 3), dim=1),
                           Case(_rows(r, 3, 5), normalized=True),
                           Case(_rows(r, 2, 4, 3), axis=1, normalized=True),
                           Case(_rows(r, 2, 4, sign="+"), normalized=True),
                           Case(_rows(r, 2, 4, sign="-"), normalized=True)])
