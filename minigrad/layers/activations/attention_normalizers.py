"""Attention normalizers that replace the softmax of scaled dot-product attention
(catalog A053, A054): functions of the score tensor S (…, L, S_k) and the boolean
``allowed`` mask (True where query i may attend key j; broadcastable to S).

    relu_attention        ReLU(S)/n^α              (Wortsman et al. 2023)          A053
    rela_attention        RMSNorm(ReLU(S) V) ⊙ σ(w ⊙ ·)   (Zhang et al. 2021)      A054

n (or N) is the number of keys a query may attend: the sequence length S_k without a
mask, the count of allowed keys with one (i + 1 for causal attention). Masked entries
get weight 0 and no gradient; a query with no allowed key gets all-zero weights (never
NaN). ``scaled_dot_product_attention(..., normalizer="relu_attention")`` (and
``multi_head_attention`` / ``MultiheadAttention``) use them instead of the softmax;
ReLA normalizes the attention *output*, so it is called on (scores, value) directly.

Not here, because their papers' text (and official code) could not be read, only
abstracts and third-party write-ups: A055 ReLUFormer's variance scaling ("A Study on ReLU
and Softmax in Transformer"), A056 ReLU + LayerNorm ("Interpret Vision Transformers as
ConvNets with Dynamic Convolutions": the placement and axis of its LayerNorm) and A057
softplus attention's length scale λ_N and re-weighting ("Softplus Attention with
Re-weighting Boosts Length Extrapolation in Large Language Models").
"""
import math

from minigrad.autograd import Function
from minigrad.backends import backend_of_array
from minigrad.layers.module import Module, Parameter
from minigrad.ops._checks import check_floating
from minigrad.registry import Case, register
from minigrad.tensor import Tensor

__all__ = ["relu_attention", "rela_attention", "ReLUAttention", "ReLA"]

_WORTSMAN = "Replacing softmax with ReLU in Vision Transformers"
_RELA = "Sparse Attention with Linear Units"


# ------------------------------------------------------------------ shared helpers
def _allowed_array(op, allowed, scores):
    """``allowed`` as a boolean backend array broadcast to the scores' shape, or None."""
    if allowed is None:
        return None
    a = allowed.data if isinstance(allowed, Tensor) else allowed
    backend = backend_of_array(scores.data)
    xp = backend.xp
    a = backend.asarray(a)
    if a.dtype != bool:
        raise TypeError(f"{op}: allowed must be a boolean mask (True where a query may attend "
                        f"a key), got dtype {a.dtype}")
    try:
        return xp.broadcast_to(a, tuple(scores.shape))
    except ValueError:
        raise ValueError(f"{op}: allowed of shape {tuple(a.shape)} does not broadcast to the "
                         f"scores of shape {tuple(scores.shape)}") from None


def _check_scores(op, scores, min_ndim=1):
    check_floating(op, scores=scores)
    if scores.ndim < min_ndim:
        raise ValueError(f"{op}: scores must have at least {min_ndim} axes (…, L, S), got "
                         f"shape {tuple(scores.shape)}")


def _key_counts(xp, s, allowed):
    """n: the number of keys each query may attend, shape (…, L, 1), as the scores' dtype."""
    if allowed is None:
        return xp.full(s.shape[:-1] + (1,), s.shape[-1], dtype=s.dtype)
    return allowed.sum(axis=-1, keepdims=True).astype(s.dtype)


# ------------------------------------------------------------------ A053 ReLU attention
class ReluAttentionFn(Function):
    """ReLU attention with sequence-length scaling (Wortsman et al. 2023, "Replacing
    softmax with ReLU in Vision Transformers", Sec. 2: φ = L^{-α}·relu, α = 1 recommended):

        A_ij = ReLU(S_ij)·n_i^{-α}·1[allowed_ij],   n_i = number of keys query i may attend

    (n_i = L, the sequence length, without a mask; at least 1). There is no normalization
    across keys.

    Backward: n_i^{-α} does not depend on S, so dS_ij = dA_ij·n_i^{-α}·1[S_ij > 0]·1[allowed_ij]
    (0 at the kink S = 0, as ReLU). The saved mask and the constant n^{-α} make the backward
    its own second-order rule (zero a.e.).
    """
    differentiable_backward = True
    saves_constants = True

    @staticmethod
    def forward(ctx, s, allowed, alpha):
        xp = ctx.xp
        scale = xp.maximum(_key_counts(xp, s, allowed), 1) ** (-alpha)
        keep = s > 0 if allowed is None else (s > 0) & allowed
        ctx.save_for_backward(keep, scale)
        return xp.where(keep, s, 0) * scale

    @staticmethod
    def backward(ctx, gy):
        keep, scale = ctx.saved_tensors
        return ctx.xp.where(keep, gy * scale, 0), None, None


def relu_attention(scores, allowed=None, alpha=1.0):
    """ReLU attention weights: A = ReLU(S)·n^{-α} over the last axis (keys), masked.

    A_ij = max(S_ij, 0)/n_i^α,  n_i = the number of keys query i may attend (the sequence
    length L without a mask); entries not ``allowed`` are 0.
    Backward: ``ReluAttentionFn`` (help(minigrad.layers.activations.attention_normalizers.ReluAttentionFn)):
    dS = dA·n^{-α}·1[S > 0].
    Paper: Wortsman et al. 2023, "Replacing softmax with ReLU in Vision Transformers".
    Arguments: ``scores`` (…, L, S) (already scaled, e.g. Q Kᵀ/√d), ``allowed`` boolean,
    broadcastable to the scores (default None: all keys), ``alpha`` = 1.0 (the paper's
    L^{-α} family; α = 1 matches softmax's mean weight 1/L).
    Deviation: with a mask, L is the number of allowed keys of each query (the paper has no
    masks). Use as ``scaled_dot_product_attention(q, k, v, normalizer="relu_attention")``.
    """
    _check_scores("relu_attention", scores)
    return ReluAttentionFn.apply(scores, _allowed_array("relu_attention", allowed, scores),
                                 float(alpha))


class ReLUAttention(Module):
    """Attention normalizer A = ReLU(S)/n^α (``F.relu_attention``); call it on (scores,
    allowed) or pass it as ``normalizer=`` to ``scaled_dot_product_attention``.

    Backward: ``ReluAttentionFn``. Paper: Wortsman et al. 2023, "Replacing softmax with ReLU
    in Vision Transformers".
    """

    def __init__(self, alpha=1.0):
        super().__init__()
        self.alpha = alpha

    def forward(self, scores, allowed=None):
        return relu_attention(scores, allowed, self.alpha)

    def extra_repr(self):
        return f"alpha={self.alpha}"


# ------------------------------------------------------------------ A054 ReLA
class ReLAFn(Function):
    """Rectified linear attention with gated RMSNorm (Zhang, Titov & Sennrich 2021,
    "Sparse Attention with Linear Units"; formula as in the official code,
    bzhangGo/zero modules/rela.py ``dot_attention`` + ``gated_rms_norm``):

        α = ReLU(S)·1[allowed]           (no normalization: rows may be all zero)
        z = α V,   r = √(mean_d z² + ε),   n = z/r
        out = g ⊙ n ⊙ σ(w ⊙ z)           (g: RMSNorm gain, w: gate; both per feature)

    Backward (u = σ(w ⊙ z), dout given):
        dg = Σ dout⊙n⊙u,  du = dout⊙g⊙n,  dw = Σ du⊙u(1 − u)⊙z,
        dn = dout⊙g⊙u,  dz = (dn − n·mean_d(dn⊙n))/r + du⊙u(1 − u)⊙w,
        dα = dz Vᵀ,  dV = αᵀ dz,  dS = dα⊙1[S > 0]⊙1[allowed].
    A query whose α row is 0 has z = 0, r = √ε, out = 0 (ε > 0 keeps it finite).
    Second derivatives: ``composite``.
    """

    @staticmethod
    def forward(ctx, s, v, g, w, allowed, eps):
        xp = ctx.xp
        keep = s > 0 if allowed is None else (s > 0) & allowed
        a = xp.where(keep, s, 0)
        z = xp.matmul(a, v)
        r = xp.sqrt((z * z).mean(axis=-1, keepdims=True) + eps)
        n = z / r
        u = 1 / (1 + xp.exp(-xp.clip(w * z, -700, 700)))
        ctx.save_for_backward(keep, a, v, g, w, z, r, n, u)
        return g * n * u

    @staticmethod
    def backward(ctx, gout):
        keep, a, v, g, w, z, r, n, u = ctx.saved_tensors
        xp = ctx.xp
        du = gout * g * n
        dn = gout * g * u
        dgate = du * u * (1 - u)
        dz = (dn - n * (dn * n).mean(axis=-1, keepdims=True)) / r + dgate * w
        ds = xp.where(keep, xp.matmul(dz, xp.swapaxes(v, -1, -2)), 0)
        dv = xp.matmul(xp.swapaxes(a, -1, -2), dz)
        dg = gout * n * u if ctx.needs_input_grad[2] else None
        dw = dgate * z if ctx.needs_input_grad[3] else None
        return ds, dv, dg, dw, None, None

    @staticmethod
    def composite(s, v, g, w, allowed, eps):
        from minigrad.ops.elementwise import sigmoid, sqrt, where
        from minigrad.ops.linalg import matmul
        keep = s.data > 0 if allowed is None else (s.data > 0) & allowed
        z = matmul(where(keep, s, 0.0), v)
        n = z / sqrt((z * z).mean(axis=-1, keepdims=True) + eps)
        return g * n * sigmoid(w * z)


def rela_attention(scores, value, weight=None, gate=None, allowed=None, eps=1e-8):
    """ReLA (rectified linear attention) output: out = g ⊙ RMSNorm(ReLU(S) V) ⊙ σ(w ⊙ ReLU(S) V).

    z = ReLU(S)·1[allowed] @ V,  out = g ⊙ z/√(mean(z²) + ε) ⊙ σ(w ⊙ z)  (last axis of z);
    ``gate=None`` drops the gate (plain RMSNorm, out = g ⊙ z/√(mean(z²) + ε)).
    Backward: ``ReLAFn`` (help(minigrad.layers.activations.attention_normalizers.ReLAFn)).
    Paper: Zhang et al. 2021, "Sparse Attention with Linear Units".
    Arguments: ``scores`` (…, L, S), ``value`` (…, S, D), ``weight`` g (D,) (default ones),
    ``gate`` w (D,) (default None: no gate), ``allowed`` boolean mask or None, ``eps`` =
    1e-8 (the official code's ε). Rows with no positive allowed score give 0 (null attention).
    Follows the official code (bzhangGo/zero, modules/rela.py): the gate is σ(w ⊙ z) with
    a per-feature vector w; the code normalizes the heads' concatenated output, so pass
    the concatenation as one axis to reproduce that exactly (the ``ReLA`` module normalizes
    each head's output). The paper's ReLA-i gain initialisation is not reproduced (the
    code initialises g = 1).
    """
    _check_scores("rela_attention", scores, 2)
    check_floating("rela_attention", value=value)
    if value.ndim < 2 or value.shape[-2] != scores.shape[-1]:
        raise ValueError(f"rela_attention: value of shape {tuple(value.shape)} does not match "
                         f"scores of shape {tuple(scores.shape)} (need value (…, S, D) with "
                         f"S = {scores.shape[-1]})")
    if eps <= 0:
        raise ValueError(f"rela_attention: eps must be positive (an all-zero attention row "
                         f"divides by √ε), got {eps}")
    xp = backend_of_array(scores.data).xp
    d = value.shape[-1]
    if weight is None:
        weight = Tensor._wrap(xp.ones(d, dtype=value.dtype))
    if gate is None:
        gate = Tensor._wrap(xp.zeros(d, dtype=value.dtype))
        weight = weight * 2.0           # σ(0) = 1/2: g·n·(2·½) is the ungated RMSNorm
    for name, p in (("weight", weight), ("gate", gate)):
        if tuple(p.shape) not in ((d,), (1,)):
            raise ValueError(f"rela_attention: {name} of shape {tuple(p.shape)}, expected ({d},)")
    return ReLAFn.apply(scores, value, weight, gate,
                        _allowed_array("rela_attention", allowed, scores), float(eps))


class ReLA(Module):
    """ReLA output normalization (``F.rela_attention``): out = g ⊙ RMSNorm(ReLU(S) V) ⊙
    σ(w ⊙ ReLU(S) V), per head over its ``head_dim`` features.

    Parameters (official code, bzhangGo/zero modules/rela.py): ``weight`` g (head_dim,)
    ones; with ``gated`` (default True) ``gate`` w (head_dim,) ~ U(−√(3/d), √(3/d)) (the
    code's variance-scaling fan-avg uniform initialiser). ``forward(scores, value,
    allowed=None)``. Backward: ``ReLAFn``. Paper: Zhang et al. 2021, "Sparse Attention with
    Linear Units".
    """

    def __init__(self, head_dim, gated=True, eps=1e-8, dtype="float32", generator=None):
        super().__init__()
        from minigrad.backends import current
        from minigrad.layers import init
        xp = current().xp
        self.head_dim, self.eps = head_dim, eps
        self.weight = Parameter(xp.ones(head_dim, dtype=dtype))
        if gated:
            bound = math.sqrt(3.0 / head_dim)
            self.gate = Parameter(xp.zeros(head_dim, dtype=dtype))
            init.uniform_(self.gate, -bound, bound, generator=generator)
        else:
            self.gate = None

    def forward(self, scores, value, allowed=None):
        return rela_attention(scores, value, self.weight, self.gate, allowed, self.eps)

    def extra_repr(self):
        return f"head_dim={self.head_dim}, gated={self.gate is not None}, eps={self.eps}"


# ------------------------------------------------------------------ normalizer= lookup
NORMALIZERS = {"relu_attention": relu_attention}


def normalizer_fn(name_or_fn):
    """The callable (scores, allowed) -> weights behind a ``normalizer=`` argument."""
    if callable(name_or_fn):
        return name_or_fn
    if name_or_fn in NORMALIZERS:
        return NORMALIZERS[name_or_fn]
    raise ValueError(f"unknown attention normalizer {name_or_fn!r}: give 'softmax', one of "
                     f"{sorted(NORMALIZERS)}, or a callable (scores, allowed) -> weights")


# ------------------------------------------------------------------ registry
def _scores(r, *shape, gap=0.05):
    """Scores away from the ReLU kink at 0."""
    x = r.standard_normal(shape)
    return x + gap * (2 * (x > 0) - 1)


def _causal(L, S=None):
    import numpy
    return numpy.tril(numpy.ones((L, L if S is None else S), dtype=bool))


def _masked_rows(r, L, S):
    m = r.standard_normal((L, S)) > -0.3
    m[0] = False                                   # a query with no allowed key
    m[1:, 0] = True
    return m


register(relu_attention, kind="activation", catalog_id="A053", module=ReLUAttention,
         papers=[_WORTSMAN],
         inputs=lambda r: [Case(_scores(r, 2, 3, 5)), Case(_scores(r, 1, 4, 4), _causal(4)),
                           Case(_scores(r, 2, 3, 5), _masked_rows(r, 3, 5)),
                           Case(_scores(r, 3, 4), alpha=0.5)])

register(rela_attention, kind="activation", catalog_id="A054", module=ReLA, papers=[_RELA],
         inputs=lambda r: [Case(_scores(r, 2, 3, 4), r.standard_normal((2, 4, 3)),
                                r.uniform(0.5, 1.5, 3), r.standard_normal(3)),
                           Case(_scores(r, 1, 4, 4), r.standard_normal((1, 4, 2)),
                                r.uniform(0.5, 1.5, 2), None, _causal(4)),
                           Case(_scores(r, 3, 5), r.standard_normal((5, 3)),
                                r.uniform(0.5, 1.5, 3), r.standard_normal(3),
                                _masked_rows(r, 3, 5))])
