"""Softmax, log-softmax and log-sum-exp along an axis, with a temperature (catalog
A024–A026). All three move the reduced axis last, view the input as rows (M, C) and run
the fused kernels of ``minigrad.backends.kernels.softmax_*``; the max is always
subtracted first, so logits of ±1e4 stay finite.

Temperature τ (``temperature``; an inverse temperature β is τ = 1/β, e.g. Hopfield's
β = 1/√d_k): softmax(x/τ), log_softmax(x/τ), and the tempered τ·LSE(x/τ).

Masking: add a large negative *finite* value (−1e9) to masked logits. A row that is
entirely −inf has no maximum to subtract: softmax and log-softmax give NaN there (as in
PyTorch); ``logsumexp`` gives −inf with a zero gradient.

``logsumexp`` here extends the engine's primitive (same name and arguments, plus the
temperature, PyTorch's ``dim`` and the −inf guard); ``F.logsumexp`` is this one.
"""
import math

from minigrad.ops._checks import check_floating
from minigrad.autograd import Function
from minigrad.layers.activations._util import pick_axis
from minigrad.layers.module import Module
from minigrad.ops._util import normalize_axis
from minigrad.ops.reductions import logsumexp as primitive_logsumexp
from minigrad.ops.shape import reshape
from minigrad.registry import Case, register


class _Rows:
    """Views an array as rows (M, R): the reduced ``axes`` moved last and merged."""

    def __init__(self, shape, axes):
        ndim = len(shape)
        self.kept = tuple(a for a in range(ndim) if a not in axes)
        self.perm = self.kept + tuple(axes)
        self.identity = self.perm == tuple(range(ndim))
        self.kept_shape = tuple(shape[a] for a in self.kept)
        self.moved_shape = tuple(shape[a] for a in self.perm)
        self.inverse = tuple(sorted(range(ndim), key=lambda i: self.perm[i]))
        size = 1
        for a in axes:
            size *= shape[a]
        self.R = size

    def to_rows(self, a):
        if not self.identity:
            a = a.transpose(self.perm)
        return a.reshape(math.prod(self.kept_shape), self.R)   # not −1: either may be 0

    def from_rows(self, a):
        a = a.reshape(self.moved_shape)
        return a if self.identity else a.transpose(self.inverse)


class SoftmaxFn(Function):
    """Softmax (Bridle 1990) along one axis with temperature τ:
    s_i = e^((x_i − m)/τ) / Σ_j e^((x_j − m)/τ), m = max x.

    Backward (Jacobian-vector product, never the C×C Jacobian): ∂s_i/∂x_k =
    s_i(δ_ik − s_k)/τ, so dx = s⊙(dy − Σ_j dy_j s_j)/τ, from the saved output.
    """
    @staticmethod
    def forward(ctx, x, axis, temperature):
        rows = _Rows(x.shape, (axis,))
        z = rows.to_rows(x)
        if temperature != 1.0:
            z = z * (1.0 / temperature)
        y = ctx.backend.kernels("softmax").softmax_forward(z) if z.size else z.copy()
        ctx.save_for_backward(y)
        ctx.rows, ctx.tau = rows, temperature
        return rows.from_rows(y)

    @staticmethod
    def backward(ctx, gy):
        y, = ctx.saved_tensors
        g = ctx.rows.to_rows(gy)
        dx = ctx.backend.kernels("softmax").softmax_backward(g, y) if y.size else g.copy()
        if ctx.tau != 1.0:
            dx = dx * (1.0 / ctx.tau)
        return ctx.rows.from_rows(dx), None, None

    @staticmethod
    def composite(x, axis, temperature):
        return LogSoftmaxFn.composite(x, axis, temperature).exp()



class LogSoftmaxFn(Function):
    """Log-softmax along one axis with temperature τ, computed directly (never
    log(softmax)): log s = (x − m)/τ − log Σ_j e^((x_j − m)/τ).

    Backward: ∂log s_i/∂x_k = (δ_ik − s_k)/τ, so dx = (dy − s·Σ_j dy_j)/τ with
    s = exp(log s) from the saved output.
    """
    @staticmethod
    def forward(ctx, x, axis, temperature):
        rows = _Rows(x.shape, (axis,))
        z = rows.to_rows(x)
        if temperature != 1.0:
            z = z * (1.0 / temperature)
        y = ctx.backend.kernels("softmax").log_softmax_forward(z) if z.size else z.copy()
        ctx.save_for_backward(y)
        ctx.rows, ctx.tau = rows, temperature
        return rows.from_rows(y)

    @staticmethod
    def backward(ctx, gy):
        y, = ctx.saved_tensors
        g = ctx.rows.to_rows(gy)
        dx = ctx.backend.kernels("softmax").log_softmax_backward(g, y) if y.size else g.copy()
        if ctx.tau != 1.0:
            dx = dx * (1.0 / ctx.tau)
        return ctx.rows.from_rows(dx), None, None

    @staticmethod
    def composite(x, axis, temperature):
        z = x * (1.0 / temperature) if temperature != 1.0 else x
        return z - primitive_logsumexp(z, axis, True)



# ------------------------------------------------------------------ functional
def _temperature(op, temperature):
    if temperature <= 0:
        raise ValueError(f"{op}: temperature must be positive, got {temperature}")
    return float(temperature)


def softmax(x, axis=None, temperature=1.0, dim=None):
    """softmax(x/temperature) along ``axis`` (PyTorch: ``dim``; default -1).

    y_i = exp(x_i/τ) / Σ_j exp(x_j/τ),  dx = y ⊙ (dy − Σ_j dy_j y_j)/τ.
    Backward: ``SoftmaxFn`` (help(minigrad.layers.activations.softmax.SoftmaxFn)).
    Paper: Bridle 1990, "Probabilistic Interpretation of Feedforward Classification Network
    Outputs, with Relationships to Statistical Pattern Recognition".
    Deviation: the ``temperature`` τ (default 1.0) is an addition; no ``dtype`` argument.
    """
    check_floating("softmax", x=x)
    axis = normalize_axis(pick_axis(axis, dim, "softmax"), max(x.ndim, 1))[0]
    if x.ndim == 0:                     # a 0-d tensor is one row of one value, as in PyTorch
        return reshape(softmax(reshape(x, (1,)), 0, temperature), ())
    return SoftmaxFn.apply(x, axis, _temperature("softmax", temperature))


def log_softmax(x, axis=None, temperature=1.0, dim=None):
    """log softmax(x/temperature) along ``axis`` (PyTorch: ``dim``; default -1).

    y_i = x_i/τ − log Σ_j exp(x_j/τ),  dx = (dy − softmax(x/τ)·Σ_j dy_j)/τ.
    Backward: ``LogSoftmaxFn`` (help(minigrad.layers.activations.softmax.LogSoftmaxFn)).
    Paper: Bridle 1990, "Probabilistic Interpretation of Feedforward Classification Network
    Outputs, with Relationships to Statistical Pattern Recognition".
    Deviation: the ``temperature`` τ (default 1.0) is an addition; no ``dtype`` argument.
    """
    check_floating("log_softmax", x=x)
    axis = normalize_axis(pick_axis(axis, dim, "log_softmax"), max(x.ndim, 1))[0]
    if x.ndim == 0:                     # a 0-d tensor is one row of one value, as in PyTorch
        return reshape(log_softmax(reshape(x, (1,)), 0, temperature), ())
    return LogSoftmaxFn.apply(x, axis, _temperature("log_softmax", temperature))


def logsumexp(x, axis=None, keepdims=False, temperature=1.0, dim=None, keepdim=None):
    """Tempered log-sum-exp: y = τ·LSE(x/τ) over ``axis`` (an int, a tuple, or None for all
    axes; PyTorch: ``dim``, ``keepdim``); τ = 1 is the plain LSE, τ → 0 the max. Built on the
    primitive ``minigrad.ops.reductions.logsumexp`` (max-subtracted, −inf with a zero gradient
    for a row of −inf): dy/dx = τ·softmax(x/τ)·(1/τ) = softmax(x/τ).

    Primitive (no introducing paper); ``temperature`` is an addition to PyTorch's signature.
    """
    check_floating("logsumexp", x=x)
    axis = pick_axis(axis, dim, "logsumexp", default=None)
    if keepdim is not None:
        if keepdims:
            raise TypeError("logsumexp: got both keepdim and its NumPy alias keepdims; give one")
        keepdims = keepdim
    tau = _temperature("logsumexp", temperature)
    if tau == 1.0:
        return primitive_logsumexp(x, axis, keepdims)
    return tau * primitive_logsumexp(x * (1.0 / tau), axis, keepdims)


# ------------------------------------------------------------------ modules
class Softmax(Module):
    """y = softmax(x/temperature) along ``axis`` (or PyTorch's ``dim``; default -1).

    Backward: ``SoftmaxFn`` (see ``F.softmax``). Paper: Bridle 1990, "Probabilistic
    Interpretation of Feedforward Classification Network Outputs, with Relationships to
    Statistical Pattern Recognition".
    """

    def __init__(self, axis=None, temperature=1.0, dim=None):
        super().__init__()
        self.axis = pick_axis(axis, dim, "Softmax")
        self.temperature = temperature

    def forward(self, x):
        return softmax(x, self.axis, self.temperature)

    def extra_repr(self):
        return f"axis={self.axis}" + (f", temperature={self.temperature}"
                                      if self.temperature != 1.0 else "")


class LogSoftmax(Module):
    """y = log_softmax(x/temperature) along ``axis`` (or PyTorch's ``dim``; default -1).

    Backward: ``LogSoftmaxFn`` (see ``F.log_softmax``). Paper: Bridle 1990, "Probabilistic
    Interpretation of Feedforward Classification Network Outputs, with Relationships to
    Statistical Pattern Recognition".
    """

    def __init__(self, axis=None, temperature=1.0, dim=None):
        super().__init__()
        self.axis = pick_axis(axis, dim, "LogSoftmax")
        self.temperature = temperature

    def forward(self, x):
        return log_softmax(x, self.axis, self.temperature)

    def extra_repr(self):
        return f"axis={self.axis}" + (f", temperature={self.temperature}"
                                      if self.temperature != 1.0 else "")


# ------------------------------------------------------------------ registry
def _register_all():
    n = lambda r, *s: r.standard_normal(s)  # noqa: E731
    register(softmax, kind="activation", catalog_id="A024", module=Softmax,
             papers=["Transformers as Support Vector Machines", "Equiangular Basis Vectors",
                     "Self-Knowledge Distillation with Progressive Refinement of Targets",
                     "Blockwise Compression of Transformer-based Models without Retraining",
                     "The Two-Pass Softmax Algorithm", "Hopfield Networks is All You Need",
                     "Weight-Entanglement Meets Gradient-Based Neural Architecture Search",
                     "AWARE-NET: Adaptive Weighted Averaging for Robust Ensemble Network in "
                     "Deepfake Detection"],
             inputs=lambda r: [Case(n(r, 3, 5)), Case(n(r, 2, 3, 4), axis=1),
                               Case(n(r, 3, 4), dim=0), Case(n(r, 3, 4), temperature=0.5),
                               Case(n(r, 2, 5), temperature=4.0)])
    register(log_softmax, kind="activation", catalog_id="A025", module=LogSoftmax,
             papers=["The Two-Pass Softmax Algorithm",
                     "Self-Knowledge Distillation with Progressive Refinement of Targets",
                     "Shedding More Light on Robust Classifiers under the lens of Energy-based Models"],
             inputs=lambda r: [Case(n(r, 3, 5)), Case(n(r, 2, 3, 4), axis=1),
                               Case(n(r, 3, 4), dim=0), Case(n(r, 3, 4), temperature=2.0)])
    # The oracle of the primitive of the same name (axis, keepdims) checks these cases;
    # the temperature is checked in tests/test_activations.py.
    register(logsumexp, kind="activation", catalog_id="A026",
             papers=["Shedding More Light on Robust Classifiers under the lens of Energy-based Models"],
             inputs=lambda r: [Case(n(r, 3, 5), axis=-1), Case(n(r, 3, 4, 2), axis=1, keepdims=True),
                               Case(n(r, 3, 4, 2), axis=(0, 2)), Case(n(r, 3, 4))])


_register_all()
