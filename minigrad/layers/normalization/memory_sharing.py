"""Memory-sharing normalizations (catalog N023): MS-LayerNorm and MS-RMSNorm, ``ms_norm``,
``MSLayerNorm``, ``MSRMSNorm``, and ``merge_norm_affine_into_linear`` (the folding of a
norm's gain and bias into the Linear that follows it).

The forward is LayerNorm / RMSNorm without the affine map; backward needs only the
output ŷ and one number per row (1/σ or 1/r), not the input x. The output is the next
layer's input, which that layer keeps anyway, so the norm's saved activation shares its
memory (Yang et al. 2024, Memory-Sharing Backpropagation; yyyyychen/LowMemoryBP
lomem/normalization.py, LayerNormFunction / RMSNormFunction, which save (out, rstd) the
same way).
"""
import math

from minigrad.autograd import Function, no_grad
from minigrad.layers.module import Module, Parameter
from minigrad.layers.normalization._util import standardize
from minigrad.ops._checks import check_floating
from minigrad.registry import Case, register

__all__ = ["ms_norm", "MSLayerNorm", "MSRMSNorm"]

PAPER = "Reducing Fine-Tuning Memory Overhead by Approximate and Memory-Sharing Backpropagation"


class MSNormFn(Function):
    """MS-LayerNorm / MS-RMSNorm (Yang, Shi, Wang, Zhen, Shi & Xu 2024; the
    official lomem kernels layer_norm_bw / rms_norm_bw take (grad, out, rstd)).

    Forward, per row over F features:
        layer: ŷ = (x − μ)/√(σ² + ε),  μ = mean_F x, σ² = mean_F (x − μ)² (biased);
        rms:   ŷ = x/√(mean_F x² + ε).
    Saved: ŷ (the output itself) and s = 1/√(σ² + ε) (or 1/√(mean x² + ε)) per row; x is
    not kept.

    Backward, written with ŷ only (exact, not an approximation: x = ŷ/s + μ, so every x
    term of the usual derivative is a ŷ term):
        layer: ∂ŷ_j/∂x_i = s(δ_ij − 1/F − ŷ_i ŷ_j/F), so dx = s·(dŷ − mean_F dŷ − ŷ·mean_F(dŷ·ŷ));
        rms:   ∂ŷ_j/∂x_i = s(δ_ij − ŷ_i ŷ_j/F),        so dx = s·(dŷ − ŷ·mean_F(dŷ·ŷ)).
    (With ε > 0, mean_F ŷ² = σ²/(σ² + ε) < 1 exactly; the formula above is still exact
    because it never uses mean ŷ² = 1.)
    Second derivatives: ``composite``.
    """
    @staticmethod
    def forward(ctx, x, F, eps, centered):
        xp = ctx.xp
        rows = x.reshape(-1, F)
        if centered:
            rows = rows - rows.mean(axis=1, keepdims=True)
        s = 1 / xp.sqrt((rows * rows).mean(axis=1, keepdims=True) + eps)
        y = (rows * s).reshape(x.shape)
        ctx.save_for_backward(y, s)
        ctx.F, ctx.centered = F, centered
        return y

    @staticmethod
    def backward(ctx, gy):
        y, s = ctx.saved_tensors
        F = ctx.F
        g, yh = gy.reshape(-1, F), y.reshape(-1, F)
        dx = g - yh * (g * yh).mean(axis=1, keepdims=True)
        if ctx.centered:
            dx = dx - g.mean(axis=1, keepdims=True)
        return (dx * s).reshape(gy.shape), None, None, None

    @staticmethod
    def composite(x, F, eps, centered):
        rows = x.reshape(-1, F)
        if centered:
            return standardize(rows, (1,), eps).reshape(x.shape)
        return (rows / ((rows * rows).mean(axis=1, keepdims=True) + eps).sqrt()).reshape(x.shape)


def ms_norm(x, normalized_shape, eps=1e-5, base="layer"):
    """Memory-sharing LayerNorm (``base="layer"``) or RMSNorm (``base="rms"``) of x over its
    last axes ``normalized_shape``, without gain or bias: the backward is computed from the
    saved output, so the input need not be kept.

        layer: ŷ = (x − μ)/√(σ² + ε);  rms: ŷ = x/√(mean x² + ε)   (per row over F features)
        dx = s·(dŷ − mean_F dŷ − ŷ·mean_F(dŷ·ŷ))  (rms: without the mean_F dŷ term),
    s = 1/√(σ² + ε) (1/√(mean x² + ε)) per row: exact, derivation in ``MSNormFn``
    (help(minigrad.layers.normalization.memory_sharing.MSNormFn)).
    The gain and bias of the norm it replaces go into the next Linear:
    ``merge_norm_affine_into_linear`` (W' = W·diag(γ), b' = W·β + b).
    Arguments: ``ms_norm(x, normalized_shape, eps=1e-5, base="layer")``.
    Paper: Yang, Shi, Wang, Zhen, Shi & Xu 2024, "Reducing Fine-Tuning Memory Overhead by
    Approximate and Memory-Sharing Backpropagation".
    """
    check_floating("ms_norm", x=x)
    if base not in ("layer", "rms"):
        raise ValueError(f"ms_norm: base must be 'layer' or 'rms', got {base!r}")
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if not shape or x.ndim < len(shape) or tuple(x.shape[x.ndim - len(shape):]) != shape:
        raise ValueError(f"ms_norm: normalized_shape {shape} does not match the last axes of an "
                         f"input of shape {tuple(x.shape)}")
    return MSNormFn.apply(x, math.prod(shape), float(eps), base == "layer")


class _MSNorm(Module):
    _base = "layer"

    def __init__(self, normalized_shape, eps=1e-5):
        super().__init__()
        self.normalized_shape = ((normalized_shape,) if isinstance(normalized_shape, int)
                                 else tuple(normalized_shape))
        self.eps = eps

    def forward(self, x):
        return ms_norm(x, self.normalized_shape, self.eps, self._base)

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}"


class MSLayerNorm(_MSNorm):
    """MS-LayerNorm: LayerNorm over ``normalized_shape`` without gain and bias, whose backward
    needs only its output (memory shared with the next layer's saved input).

    ŷ = (x − μ)/√(σ² + ε); ``MSLayerNorm(normalized_shape, eps=1e-5)``. Fold a trained
    LayerNorm's γ, β into the following Linear with ``merge_norm_affine_into_linear``.
    Backward: ``MSNormFn`` (see ``F.ms_norm``).
    Paper: Yang, Shi, Wang, Zhen, Shi & Xu 2024, "Reducing Fine-Tuning Memory Overhead by
    Approximate and Memory-Sharing Backpropagation".
    """
    _base = "layer"


class MSRMSNorm(_MSNorm):
    """MS-RMSNorm: RMSNorm over ``normalized_shape`` without gain, whose backward needs only
    its output.

    ŷ = x/√(mean x² + ε); ``MSRMSNorm(normalized_shape, eps=1e-5)``.
    Backward: ``MSNormFn`` (see ``F.ms_norm``).
    Paper: Yang, Shi, Wang, Zhen, Shi & Xu 2024, "Reducing Fine-Tuning Memory Overhead by
    Approximate and Memory-Sharing Backpropagation".
    """
    _base = "rms"


def merge_norm_affine_into_linear(linear, weight=None, bias=None):
    """Fold a norm's per-feature gain γ (``weight``) and bias β into the Linear that
    follows it, in place: Linear(γ·ŷ + β) = W'·ŷ + b' with W' = W·diag(γ), b' = W·β + b
    (the paper's merge before fine-tuning with MS-LayerNorm / MS-RMSNorm). Returns ``linear``."""
    with no_grad():
        W = linear.weight.data
        b = None if getattr(linear, "bias", None) is None else linear.bias.data
        new_b = b
        if bias is not None:
            beta = bias.data.astype(W.dtype)
            shift = W @ beta
            new_b = shift if b is None else b + shift
        if weight is not None:
            W = W * weight.data.astype(W.dtype)[None, :]
        linear.weight = Parameter(W.copy())
        if new_b is not None:
            linear.bias = Parameter(new_b.copy())
    return linear


def _register():
    n = lambda r, *s: r.standard_normal(s)  # noqa: E731
    register(ms_norm, kind="normalization", catalog_id="N023", module=MSLayerNorm,
             papers=[PAPER],
             inputs=lambda r: [Case(n(r, 3, 5), 5),
                               Case(n(r, 2, 3, 4), (3, 4), eps=1e-6),
                               Case(n(r, 3, 5) * 2 + 1, 5, base="rms"),
                               Case(n(r, 2, 2, 4), 4, 1e-5, "rms"),
                               Case(n(r, 1, 6), (6,))])


_register()
