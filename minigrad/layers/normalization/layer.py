"""Per-sample normalizations over the trailing axes: LayerNorm (catalog N002) and
RMSNorm / partial RMSNorm (N003). Both view the input as rows (M, F), F = the product
of ``normalized_shape``, and run the fused kernels of ``minigrad.backends.kernels.norm_*``.

Layer-normalized RNNs (LN-LSTM/GRU) need nothing more: apply ``layer_norm`` separately
to the W_hh·h and W_xh·x terms at every time step, each with its own gain and bias
shared across time steps (their gradients accumulate over the steps on the tape).
"""
import math

from minigrad.ops._checks import check_floating
from minigrad.autograd import Function
from minigrad.creation import ones, zeros
from minigrad.layers.module import Module, Parameter
from minigrad.layers.normalization._util import as_dtype, standardize
from minigrad.registry import Case, register


def _normalized_shape(op, x, normalized_shape):
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if not shape or x.ndim < len(shape) or tuple(x.shape[x.ndim - len(shape):]) != shape:
        raise ValueError(f"{op}: normalized_shape {shape} does not match the last axes of an "
                         f"input of shape {tuple(x.shape)}")
    return shape


def _check_param(op, name, t, shape):
    if t is not None and tuple(t.shape) != shape:
        raise ValueError(f"{op}: {name} of shape {tuple(t.shape)} does not match "
                         f"normalized_shape {shape}")


class LayerNormFn(Function):
    """Layer Normalization (Ba, Kiros & Hinton 2016).

    Forward, per sample over the normalized axes F: μ = mean_F x, σ² = mean_F (x − μ)²
    (biased), x̂ = (x − μ)/√(σ² + ε), y = g·x̂ + b (ε inside the sqrt; the paper has none,
    PyTorch's 1e-5 keeps constant inputs finite). The same computation at train and test.

    Backward, with ĝ = dy·g and r = 1/√(σ² + ε): ∂x̂_j/∂x_i = r(δ_ij − 1/F − x̂_i x̂_j/F), so
        dx = r·(ĝ − mean_F ĝ − x̂·mean_F(ĝ x̂))   (fused kernel, not a chain of primitives),
        dg = Σ_rows dy·x̂,  db = Σ_rows dy  (summed over the non-normalized axes).
    """
    @staticmethod
    def forward(ctx, x, weight, bias, F, eps):
        x2 = x.reshape(-1, F)
        w = None if weight is None else as_dtype(weight, x.dtype).reshape(F)
        b = None if bias is None else as_dtype(bias, x.dtype).reshape(F)
        y, mean, rstd = ctx.backend.kernels("norm").layer_norm_forward(x2, w, b, eps)
        ctx.save_for_backward(x, weight, mean, rstd)
        ctx.F = F
        ctx.shapes = (None if weight is None else weight.shape, None if bias is None else bias.shape)
        return y.reshape(x.shape)

    @staticmethod
    def backward(ctx, gy):
        x, weight, mean, rstd = ctx.saved_tensors
        needs = ctx.needs_input_grad
        gy2, x2 = gy.reshape(-1, ctx.F), x.reshape(-1, ctx.F)
        w = None if weight is None else as_dtype(weight, x.dtype).reshape(ctx.F)
        dx, dw, db = ctx.backend.kernels("norm").layer_norm_backward(
            gy2, x2, mean, rstd, w, need_affine_grads=bool(needs[1] or needs[2]))
        if needs[2] and db is None:  # a bias without a weight
            db = gy2.sum(axis=0)
        w_shape, b_shape = ctx.shapes
        return (dx.reshape(x.shape),
                dw.reshape(w_shape) if needs[1] and dw is not None else None,
                db.reshape(b_shape) if needs[2] and db is not None else None, None, None)

    @staticmethod
    def composite(x, weight, bias, F, eps):
        y = standardize(x.reshape(-1, F), (1,), eps)
        if weight is not None:
            y = y * as_dtype(weight, x.dtype).reshape(F)
        if bias is not None:
            y = y + as_dtype(bias, x.dtype).reshape(F)
        return y.reshape(x.shape)



class RMSNormFn(Function):
    """Root Mean Square Layer Normalization (Zhang & Sennrich 2019), and its partial form.

    Forward, per sample over F: r = √(mean of x² over the first k features + ε) (k = F;
    pRMSNorm: k = ⌈p·F⌉), y = g·x/r. No centering, no bias.

    Backward, with ĝ = dy·g: ∂r/∂x_i = 1[i < k]·x_i/(k r), so
        dx_i = ĝ_i/r − 1[i < k]·x_i·Σ_j ĝ_j x_j/(k r³)
    (for k = F: dx = (1/r)(ĝ − x̄·mean_F(ĝ x̄)), x̄ = x/r), and dg = Σ_rows dy·x/r.
    """
    @staticmethod
    def forward(ctx, x, weight, F, eps, k):
        x2 = x.reshape(-1, F)
        w = None if weight is None else as_dtype(weight, x.dtype).reshape(F)
        y, rrms = ctx.backend.kernels("norm").rms_norm_forward(x2, w, eps, k)
        ctx.save_for_backward(x, weight, rrms)
        ctx.F, ctx.k = F, k
        return y.reshape(x.shape)

    @staticmethod
    def backward(ctx, gy):
        x, weight, rrms = ctx.saved_tensors
        needs = ctx.needs_input_grad
        w = None if weight is None else as_dtype(weight, x.dtype).reshape(ctx.F)
        dx, dw = ctx.backend.kernels("norm").rms_norm_backward(
            gy.reshape(-1, ctx.F), x.reshape(-1, ctx.F), rrms, w, ctx.k,
            need_weight_grad=bool(needs[1]))
        return dx.reshape(x.shape), (dw.reshape(weight.shape) if dw is not None else None), \
            None, None, None

    @staticmethod
    def composite(x, weight, F, eps, k):
        x2 = x.reshape(-1, F)
        head = x2[:, :k]
        y = x2 / ((head * head).mean(axis=1, keepdims=True) + eps).sqrt()
        if weight is not None:
            y = y * as_dtype(weight, x.dtype).reshape(F)
        return y.reshape(x.shape)



# ------------------------------------------------------------------ functional
def layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalize x over its last axes ``normalized_shape`` (mean 0, variance 1 per sample),
    then scale by ``weight`` and shift by ``bias`` (both of shape ``normalized_shape``).

    Per sample over the normalized axes F:
        μ = mean_F x,  σ² = mean_F (x − μ)²,  x̂ = (x − μ)/√(σ² + ε),  y = g·x̂ + b.
    Backward: dx = r·(ĝ − mean_F ĝ − x̂·mean_F(ĝ x̂)), ĝ = dy·g, r = 1/√(σ² + ε); derivation in
    ``LayerNormFn`` (help(minigrad.layers.normalization.layer.LayerNormFn)).
    Arguments: ``layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-5)``
    (PyTorch's order and defaults; PyTorch names the first argument ``input``).
    Deviation from the paper: ε inside the sqrt (the paper has none).
    Paper: Ba, Kiros & Hinton 2016, "Layer Normalization".
    """
    check_floating("layer_norm", x=x)
    shape = _normalized_shape("layer_norm", x, normalized_shape)
    _check_param("layer_norm", "weight", weight, shape)
    _check_param("layer_norm", "bias", bias, shape)
    return LayerNormFn.apply(x, weight, bias, math.prod(shape), float(eps))


def rms_norm(x, normalized_shape, weight=None, eps=None, p=None):
    """x divided by its root mean square over the last axes ``normalized_shape``, times
    ``weight``. ``eps=None`` uses the dtype's machine epsilon (PyTorch's default).
    ``p`` in (0, 1] gives partial RMSNorm: the RMS of the first ⌈p·F⌉ features only.

    r = √(mean_F x² + ε),  y = g·x/r;  dx = (1/r)(ĝ − x̄·mean_F(ĝ x̄)), x̄ = x/r, ĝ = dy·g.
    Backward: ``RMSNormFn`` (help(minigrad.layers.normalization.layer.RMSNormFn)).
    ``rms_norm(x, normalized_shape, weight=None, eps=None, p=None)``; ``p`` is an addition.
    Paper: Zhang & Sennrich 2019, "Root Mean Square Layer Normalization".
    """
    check_floating("rms_norm", x=x)
    shape = _normalized_shape("rms_norm", x, normalized_shape)
    _check_param("rms_norm", "weight", weight, shape)
    F = math.prod(shape)
    k = F
    if p is not None:
        if not 0 < p <= 1:
            raise ValueError(f"rms_norm: the partial fraction p must be in (0, 1], got {p}")
        k = max(1, math.ceil(p * F))
    if eps is None:
        from minigrad.backends import backend_of_array
        eps = float(backend_of_array(x.data).xp.finfo(x.dtype).eps)
    return RMSNormFn.apply(x, weight, F, float(eps), k)


# ------------------------------------------------------------------ modules
class LayerNorm(Module):
    """Layer normalization over the last axes ``normalized_shape``, with a learnable gain
    (init 1) and bias (init 0) of that shape (``elementwise_affine``, ``bias``).

    y = g·(x − μ)/√(σ² + ε) + b per sample; ``LayerNorm(normalized_shape, eps=1e-5,
    elementwise_affine=True, bias=True)``. Backward: ``LayerNormFn`` (see ``F.layer_norm``).
    Paper: Ba, Kiros & Hinton 2016, "Layer Normalization".
    """

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True):
        super().__init__()
        self.normalized_shape = ((normalized_shape,) if isinstance(normalized_shape, int)
                                 else tuple(normalized_shape))
        self.eps, self.elementwise_affine = eps, elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(ones(self.normalized_shape))
            if bias:
                self.bias = Parameter(zeros(self.normalized_shape))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, x):
        return layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")


class RMSNorm(Module):
    """RMS normalization over the last axes ``normalized_shape`` with a learnable gain
    (init 1); ``p`` makes it partial RMSNorm (Zhang & Sennrich use p = 0.0625).

    Backward: ``RMSNormFn`` (see ``F.rms_norm``). Paper: Zhang & Sennrich 2019, "Root Mean
    Square Layer Normalization".
    """

    def __init__(self, normalized_shape, eps=None, elementwise_affine=True, p=None):
        super().__init__()
        self.normalized_shape = ((normalized_shape,) if isinstance(normalized_shape, int)
                                 else tuple(normalized_shape))
        self.eps, self.elementwise_affine, self.p = eps, elementwise_affine, p
        if elementwise_affine:
            self.weight = Parameter(ones(self.normalized_shape))
        else:
            self.register_parameter("weight", None)

    def forward(self, x):
        return rms_norm(x, self.normalized_shape, self.weight, self.eps, self.p)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}" +
                (f", p={self.p}" if self.p is not None else ""))


# ------------------------------------------------------------------ registry
def _register():
    n = lambda r, *s: r.standard_normal(s)  # noqa: E731
    pos = lambda r, *s: r.uniform(0.5, 2.0, s)  # noqa: E731
    register(layer_norm, kind="normalization", catalog_id="N002", module=LayerNorm,
             papers=["Layer Normalization", "Sparse Attention with Linear Units",
                     "A Study on ReLU and Softmax in Transformer",
                     "A Gated Residual Kolmogorov-Arnold Networks for Mixtures of Experts",
                     "Reducing Fine-Tuning Memory Overhead by Approximate and Memory-Sharing "
                     "Backpropagation"],
             inputs=lambda r: [Case(n(r, 3, 4), (4,), pos(r, 4), n(r, 4)),
                               Case(n(r, 2, 3, 4), (3, 4), pos(r, 3, 4), n(r, 3, 4)),
                               Case(n(r, 2, 5) * 3 + 2, 5),
                               Case(n(r, 1, 6), (6,), pos(r, 6), n(r, 6))])
    register(rms_norm, kind="normalization", catalog_id="N003", module=RMSNorm,
             papers=["Root Mean Square Layer Normalization", "Sparse Attention with Linear Units",
                     "Reducing Fine-Tuning Memory Overhead by Approximate and Memory-Sharing "
                     "Backpropagation",
                     "Peri-LN: Revisiting Layer Normalization in the Transformer Architecture"],
             inputs=lambda r: [Case(n(r, 3, 4), (4,), pos(r, 4)),
                               Case(n(r, 2, 3, 4), (3, 4), pos(r, 3, 4), eps=1e-6),
                               Case(n(r, 2, 5), 5),
                               Case(n(r, 2, 8), (8,), pos(r, 8), p=0.25)])


_register()
