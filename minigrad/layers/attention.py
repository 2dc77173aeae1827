"""Scaled dot-product and multi-head attention (catalog B010), with causal, block-causal
and padding masks and an additive (learnable) relative position bias.

Masks never produce NaN: masked scores are -inf, the softmax gives them probability 0
and no gradient, and a query whose every key is masked gets all-zero weights (so its
output is 0 and no gradient flows through it) where a plain softmax would give 0/0.
"""
import math

from minigrad.autograd import Function
from minigrad.backends import backend_of_array, current
from minigrad.layers import init
from minigrad.layers.linear import Linear, linear
from minigrad.layers.module import Module, Parameter
from minigrad.ops.indexing import index_select, masked_fill
from minigrad.ops.linalg import matmul
from minigrad.ops.random import dropout
from minigrad.ops.shape import permute, reshape, transpose
from minigrad.registry import Case, register
from minigrad.tensor import Tensor

__all__ = ["MultiheadAttention", "RelativePositionBias"]  # Modules; functions: minigrad.functional

_PAPERS = ["Transformers as Support Vector Machines",
           "Next Block Prediction: Video Generation via Semi-Autoregressive Modeling",
           "Replacing softmax with ReLU in Vision Transformers",
           "Oscillation-free Quantization for Low-bit Vision Transformers",
           "LSNet: See Large, Focus Small"]


class MaskedSoftmax(Function):
    """y = softmax(s) along ``axis``, computed as e^(s - m) / Σ e^(s - m) with m the row max.

    -inf scores (masked keys) get y = 0. A row with no finite score gives y = 0 instead of
    0/0 = NaN (m is taken as 0 there, every e^(s - m) is 0, and the sum is guarded).
    Backward: dy_i/ds_j = y_i (δ_ij - y_j), so ds = y ⊙ (dy - Σ_j dy_j y_j); masked entries
    and fully masked rows have y = 0 and get exactly zero gradient.
    """
    differentiable_backward = True

    @staticmethod
    def forward(ctx, s, axis):
        xp = ctx.xp
        m = s.max(axis=axis, keepdims=True)
        m = xp.where(xp.isfinite(m), m, 0)
        e = xp.exp(s - m)
        d = e.sum(axis=axis, keepdims=True)
        y = e / xp.where(d > 0, d, 1)
        ctx.save_for_backward(y)
        ctx.axis = axis
        return y

    @staticmethod
    def backward(ctx, gy):
        y, = ctx.saved_tensors
        return y * (gy - (gy * y).sum(axis=ctx.axis, keepdims=True))


def masked_softmax(scores, axis=-1):
    """Softmax along ``axis`` that maps -inf scores to 0 and an all -inf row to zeros."""
    return MaskedSoftmax.apply(scores, axis)


# ------------------------------------------------------------------ mask helpers
def causal_mask(q_len, k_len=None):
    """Boolean (q_len, k_len) mask, True where query i may attend key j: j ≤ i
    (top-left aligned, as ``torch.nn.functional.scaled_dot_product_attention(is_causal=True)``)."""
    xp = current().xp
    k_len = q_len if k_len is None else k_len
    return Tensor._wrap(xp.tril(xp.ones((q_len, k_len), dtype=bool)))


def block_causal_mask(seq_len, block_size):
    """Boolean (seq_len, seq_len) block-causal mask (Next Block Prediction): token i may
    attend token j iff block(j) ≤ block(i), so attention is bidirectional inside a block
    and causal between blocks. ``block_size`` is an int or a list of block lengths."""
    xp = current().xp
    if isinstance(block_size, int):
        block = xp.arange(seq_len) // block_size
    else:
        sizes = list(block_size)
        if sum(sizes) != seq_len:
            raise ValueError(f"block_causal_mask: block sizes {sizes} add up to {sum(sizes)}, "
                             f"not seq_len={seq_len}")
        block = xp.asarray([b for b, size in enumerate(sizes) for _ in range(size)])
    return Tensor._wrap(block[None, :] <= block[:, None])


def padding_mask(lengths, max_len=None):
    """Boolean (N, max_len) key-padding mask, True at padded positions (j ≥ lengths[n]),
    the ``key_padding_mask`` convention of ``MultiheadAttention``."""
    xp = current().xp
    lengths = xp.asarray(lengths.data if isinstance(lengths, Tensor) else lengths)
    max_len = int(lengths.max()) if max_len is None else max_len
    return Tensor._wrap(xp.arange(max_len)[None, :] >= lengths[:, None])


def _array(m, like):
    m = m.data if isinstance(m, Tensor) else m
    return backend_of_array(like.data).asarray(m)


# ------------------------------------------------------------------ attention
def _attend(q, k, v, allowed=None, additive=None, scale=None, dropout_p=0.0, generator=None):
    """softmax(q kᵀ · scale + additive, keys not ``allowed`` removed) @ v; returns (out, weights)."""
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    scores = matmul(q, transpose(k, -2, -1)) * scale
    if additive is not None:
        scores = scores + additive
    if allowed is not None:
        scores = masked_fill(scores, Tensor._wrap(~allowed), -math.inf)
    weights = masked_softmax(scores, -1)
    if dropout_p > 0.0:
        weights = dropout(weights, dropout_p, generator=generator)
    return matmul(weights, v), weights


def _combine_masks(like, attn_mask, is_causal, q_len, k_len, mask_means_allowed):
    """Split ``attn_mask`` into a boolean 'allowed' array and an additive float mask."""
    xp = backend_of_array(like.data).xp
    allowed = additive = None
    if attn_mask is not None:
        if attn_mask.dtype == bool:
            m = _array(attn_mask, like)
            allowed = m if mask_means_allowed else ~m
        elif isinstance(attn_mask, Tensor):
            additive = attn_mask
        else:
            additive = Tensor._wrap(_array(attn_mask, like))
    if is_causal:
        causal = xp.tril(xp.ones((q_len, k_len), dtype=bool))
        allowed = causal if allowed is None else allowed & causal
    return allowed, additive


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0,
                                 is_causal=False, scale=None, generator=None):
    """out = softmax(Q Kᵀ/√d_k + M) V over the last two axes (``torch.nn.functional.
    scaled_dot_product_attention``): query (..., L, E), key (..., S, E), value (..., S, Ev).

    ``attn_mask``: boolean, True where a query may attend a key (PyTorch's convention), or a
    float tensor added to the scores (a relative position bias: it gets its gradient when it
    requires one; -inf entries mask). ``is_causal`` adds the mask j ≤ i. Fully masked rows
    give zero output, never NaN. ``dropout_p`` drops attention weights (from ``generator``).

    Backward (all exact, through the registered ops): dV = Aᵀ dO, dA = dO Vᵀ, softmax
    backward dS = A ⊙ (dA - Σ_keys dA ⊙ A), then dQ = dS K/√d_k, dK = dSᵀ Q/√d_k; masked
    entries have A = 0 and get no gradient.
    """
    allowed, additive = _combine_masks(query, attn_mask, is_causal, query.shape[-2],
                                       key.shape[-2], mask_means_allowed=True)
    out, _ = _attend(query, key, value, allowed, additive, scale, dropout_p, generator)
    return out


def multi_head_attention(query, key, value, num_heads, in_proj_weight, in_proj_bias,
                         out_proj_weight, out_proj_bias=None, attn_mask=None,
                         key_padding_mask=None, is_causal=False, attn_bias=None,
                         dropout_p=0.0, training=True, need_weights=False, generator=None):
    """Multi-head attention (Vaswani et al. 2017) on batch-first tensors (N, L, E).

    Q = query W_Qᵀ + b_Q, K = key W_Kᵀ + b_K, V = value W_Vᵀ + b_V, with [W_Q; W_K; W_V] =
    ``in_proj_weight`` (3E, E); each of the ``num_heads`` heads attends with d_k = E/heads:
    out_h = softmax(Q_h K_hᵀ/√d_k + B + mask) V_h; out = concat_h(out_h) W_Oᵀ + b_O.

    Masks follow ``torch.nn.MultiheadAttention``: ``attn_mask`` boolean True = NOT allowed
    (or a float mask to add), shape (L, S) or broadcastable to (N, heads, L, S);
    ``key_padding_mask`` (N, S) True = padding; ``is_causal`` allows j ≤ i only.
    ``attn_bias`` is an additive, differentiable bias broadcastable to (N, heads, L, S)
    (a learned relative position bias, see ``RelativePositionBias``). Returns the output,
    and the head-averaged weights (N, L, S) too when ``need_weights``.
    The backward is the exact derivative, built from registered ops.
    """
    if query.ndim != 3:
        raise ValueError(f"multi_head_attention: query must be (N, L, E), got shape {query.shape}")
    n, q_len, e = query.shape
    s_len = key.shape[1]
    if e % num_heads:
        raise ValueError(f"multi_head_attention: embed_dim {e} is not divisible by "
                         f"num_heads {num_heads}")
    if tuple(in_proj_weight.shape) != (3 * e, e):
        raise ValueError(f"multi_head_attention: in_proj_weight of shape {in_proj_weight.shape}, "
                         f"expected {(3 * e, e)}")
    d = e // num_heads
    bq = bk = bv = None
    if in_proj_bias is not None:
        bq, bk, bv = in_proj_bias[:e], in_proj_bias[e:2 * e], in_proj_bias[2 * e:]
    q = linear(query, in_proj_weight[:e], bq)
    k = linear(key, in_proj_weight[e:2 * e], bk)
    v = linear(value, in_proj_weight[2 * e:], bv)

    def heads(t, length):
        return permute(reshape(t, (n, length, num_heads, d)), 0, 2, 1, 3)

    allowed, additive = _combine_masks(query, attn_mask, is_causal, q_len, s_len,
                                       mask_means_allowed=False)
    if key_padding_mask is not None:
        keep = ~_array(key_padding_mask, query).astype(bool)[:, None, None, :]
        allowed = keep if allowed is None else allowed & keep
    if attn_bias is not None:
        additive = attn_bias if additive is None else additive + attn_bias
    out, weights = _attend(heads(q, q_len), heads(k, s_len), heads(v, s_len), allowed,
                           additive, None, dropout_p if training else 0.0, generator)
    out = reshape(permute(out, 0, 2, 1, 3), (n, q_len, e))
    out = linear(out, out_proj_weight, out_proj_bias)
    if need_weights:
        return out, weights.mean(axis=1)
    return out


class MultiheadAttention(Module):
    """``MultiheadAttention(embed_dim, num_heads, dropout=0.0, bias=True, batch_first=False)``
    as in PyTorch (parameters ``in_proj_weight`` (3E, E), ``in_proj_bias``, ``out_proj``;
    Xavier-uniform in-projection, zero biases). ``forward(query, key=None, value=None,
    key_padding_mask=None, need_weights=True, attn_mask=None, average_attn_weights=True,
    is_causal=False, attn_bias=None)`` returns (output, weights or None); key and value
    default to the query (self-attention). Tensors are (L, N, E) unless ``batch_first``."""

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, batch_first=False,
                 dtype="float32", generator=None):
        super().__init__()
        if embed_dim % num_heads:
            raise ValueError(f"MultiheadAttention: embed_dim {embed_dim} is not divisible by "
                             f"num_heads {num_heads}")
        xp = current().xp
        self.embed_dim, self.num_heads, self.dropout = embed_dim, num_heads, dropout
        self.batch_first = batch_first
        self.in_proj_weight = Parameter(xp.empty((3 * embed_dim, embed_dim), dtype=dtype))
        init.xavier_uniform_(self.in_proj_weight, generator=generator)
        self.register_parameter("in_proj_bias", Parameter(xp.zeros(3 * embed_dim, dtype=dtype))
                                if bias else None)
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, dtype=dtype, generator=generator)
        if bias:
            init.zeros_(self.out_proj.bias)

    def forward(self, query, key=None, value=None, key_padding_mask=None, need_weights=True,
                attn_mask=None, average_attn_weights=True, is_causal=False, attn_bias=None):
        key = query if key is None else key
        value = key if value is None else value
        if not self.batch_first:
            query, key, value = (transpose(t, 0, 1) for t in (query, key, value))
        out = multi_head_attention(
            query, key, value, self.num_heads, self.in_proj_weight, self.in_proj_bias,
            self.out_proj.weight, self.out_proj.bias, attn_mask=attn_mask,
            key_padding_mask=key_padding_mask, is_causal=is_causal, attn_bias=attn_bias,
            dropout_p=self.dropout, training=self.training, need_weights=need_weights)
        weights = None
        if need_weights:
            out, weights = out
            if not average_attn_weights:
                weights = None
        if not self.batch_first:
            out = transpose(out, 0, 1)
        return out, weights

    def extra_repr(self):
        return f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, dropout={self.dropout}"


class RelativePositionBias(Module):
    """Learned attention bias over a (H, W) grid of tokens, indexed by the offset
    (|Δrow|, |Δcol|) between query and key (LeViT / LSNet ``attention_biases``):
    B[h, i, j] = table[h, idx(i, j)]. ``forward()`` returns B of shape (heads, H·W, H·W),
    to pass as ``attn_bias``; its backward scatter-adds dB into the table (index_select)."""

    def __init__(self, num_heads, resolution, dtype="float32"):
        super().__init__()
        h, w = (resolution, resolution) if isinstance(resolution, int) else resolution
        xp = current().xp
        token = xp.arange(h * w)
        rows, cols = token // w, token % w
        dr = xp.abs(rows[:, None] - rows[None, :])
        dc = xp.abs(cols[:, None] - cols[None, :])
        self.table = Parameter(xp.zeros((num_heads, h * w), dtype=dtype))
        self.register_buffer("index", Tensor._wrap(dr * w + dc), persistent=False)

    def forward(self):
        return index_select(self.table, 1, self.index)


# ------------------------------------------------------------------ registry
def _register_all():
    n = lambda r, *s: r.standard_normal(s)  # noqa: E731

    def sdpa_cases(r):
        row_masked = r.standard_normal((3, 5)) > -0.3
        row_masked[1] = False                      # a query with no allowed key
        neg_inf = r.standard_normal((2, 3, 5))
        neg_inf[0, 2] = -float("inf")              # an additive -inf row
        neg_inf[1, 0, 1] = -float("inf")
        return [Case(n(r, 2, 3, 4), n(r, 2, 5, 4), n(r, 2, 5, 3)),
                Case(n(r, 2, 4, 3), n(r, 2, 4, 3), n(r, 2, 4, 2), is_causal=True),
                Case(n(r, 2, 3, 4), n(r, 2, 5, 4), n(r, 2, 5, 3), attn_mask=row_masked),
                Case(n(r, 2, 3, 4), n(r, 2, 5, 4), n(r, 2, 5, 3), neg_inf, wrt=(0, 1, 2)),
                Case(n(r, 1, 3, 4), n(r, 1, 5, 4), n(r, 1, 5, 3), n(r, 3, 5), scale=0.7)]

    def mha_cases(r):
        pad = r.standard_normal((2, 4)) > 0.5
        pad[:, 0] = False
        pad[1, :] = True                           # a fully padded sequence: zeros, no NaN
        return [Case(n(r, 2, 3, 4), n(r, 2, 3, 4), n(r, 2, 3, 4), 2, n(r, 12, 4), n(r, 12),
                     n(r, 4, 4), n(r, 4), is_causal=True),
                Case(n(r, 2, 3, 4), n(r, 2, 4, 4), n(r, 2, 4, 4), 2, n(r, 12, 4), n(r, 12),
                     n(r, 4, 4), None, key_padding_mask=pad),
                Case(n(r, 1, 4, 4), n(r, 1, 4, 4), n(r, 1, 4, 4), 2, n(r, 12, 4), None,
                     n(r, 4, 4), n(r, 4), attn_mask=block_causal_np(4, 2),
                     attn_bias=n(r, 2, 4, 4))]

    register(scaled_dot_product_attention, kind="layer", catalog_id="B010", papers=_PAPERS,
             inputs=sdpa_cases)
    register(multi_head_attention, kind="layer", catalog_id="B010", papers=_PAPERS,
             module=MultiheadAttention, inputs=mha_cases)


def block_causal_np(seq_len, block_size):
    """NumPy twin of ``block_causal_mask``, inverted to MultiheadAttention's True = blocked."""
    import numpy
    block = numpy.arange(seq_len) // block_size
    return ~(block[None, :] <= block[:, None])


_register_all()
