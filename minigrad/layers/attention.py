"""Scaled dot-product and multi-head attention (catalog B010), with causal, block-causal
and padding masks and an additive (learnable) relative position bias.

Masks never produce NaN: masked scores are -inf, the softmax gives them probability 0
and no gradient, and a query whose every key is masked gets all-zero weights (so its
output is 0 and no gradient flows through it) where a plain softmax would give 0/0.
``normalizer=`` swaps the softmax for a replacement (ReLU attention:
``minigrad.layers.activations.attention_normalizers``) with the same guarantees.
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
from minigrad.ops.shape import broadcast_to, concatenate, permute, reshape, transpose
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
    """Boolean (q_len, k_len) mask, True where query i may attend key j:
    M[i, j] = (j ≤ i) (top-left aligned, as
    ``torch.nn.functional.scaled_dot_product_attention(is_causal=True)``)."""
    xp = current().xp
    k_len = q_len if k_len is None else k_len
    return Tensor._wrap(xp.tril(xp.ones((q_len, k_len), dtype=bool)))


def block_causal_mask(seq_len, block_size):
    """Boolean (seq_len, seq_len) block-causal mask (Next Block Prediction): token i may
    attend token j iff M[i, j] = (block(j) ≤ block(i)), so attention is bidirectional
    inside a block and causal between blocks. ``block_size`` is an int or a list of block lengths."""
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
    """Boolean (N, max_len) key-padding mask, True at padded positions:
    M[n, j] = (j ≥ lengths[n]),
    the ``key_padding_mask`` convention of ``MultiheadAttention``."""
    xp = current().xp
    lengths = xp.asarray(lengths.data if isinstance(lengths, Tensor) else lengths)
    max_len = int(lengths.max()) if max_len is None else max_len
    return Tensor._wrap(xp.arange(max_len)[None, :] >= lengths[:, None])


def _array(m, like):
    m = m.data if isinstance(m, Tensor) else m
    return backend_of_array(like.data).asarray(m)


# ------------------------------------------------------------------ attention
def _attend(q, k, v, allowed=None, additive=None, scale=None, dropout_p=0.0, generator=None,
            normalizer=None):
    """normalizer(q kᵀ · scale + additive, keys not ``allowed`` removed) @ v (softmax by
    default); returns (out, weights)."""
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    scores = matmul(q, transpose(k, -2, -1)) * scale
    if additive is not None:
        scores = scores + additive
    if normalizer is None or (isinstance(normalizer, str) and normalizer == "softmax"):
        if allowed is not None:
            scores = masked_fill(scores, Tensor._wrap(~allowed), -math.inf)
        weights = masked_softmax(scores, -1)
    else:
        weights = _normalize(scores, allowed, normalizer)
    if dropout_p > 0.0:
        weights = dropout(weights, dropout_p, generator=generator)
    return matmul(weights, v), weights


def _normalize(scores, allowed, normalizer):
    """Weights from a softmax replacement: -inf scores (an additive mask) join the masked
    keys, masked scores are set to 0 before the call (so no inf·0 = NaN inside it), and
    the weights of masked keys are forced to 0 afterwards (a callable need not)."""
    from minigrad.layers.activations.attention_normalizers import normalizer_fn
    fn = normalizer_fn(normalizer)
    xp = backend_of_array(scores.data).xp
    finite = ~xp.isneginf(scores.data)
    allowed = finite if allowed is None else allowed & finite
    blocked = Tensor._wrap(~allowed)
    weights = fn(masked_fill(scores, blocked, 0.0), allowed)
    if tuple(weights.shape) != tuple(scores.shape):
        raise ValueError(f"attention normalizer {normalizer!r} returned weights of shape "
                         f"{tuple(weights.shape)} for scores of shape {tuple(scores.shape)}")
    return masked_fill(weights, blocked, 0.0)


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
                                 is_causal=False, scale=None, generator=None, normalizer=None):
    """out = softmax(Q Kᵀ/√d_k + M) V over the last two axes (Vaswani et al. 2017,
    "Attention Is All You Need"; ``torch.nn.functional.scaled_dot_product_attention``):
    query (..., L, E), key (..., S, E), value (..., S, Ev).

    ``attn_mask``: boolean, True where a query may attend a key (PyTorch's convention), or a
    float tensor added to the scores (a relative position bias: it gets its gradient when it
    requires one; -inf entries mask). ``is_causal`` adds the mask j ≤ i. Fully masked rows
    give zero output, never NaN. ``dropout_p`` drops attention weights (from ``generator``).

    ``normalizer`` (default None = ``"softmax"``, the unchanged fast path) replaces the
    softmax: ``"relu_attention"`` (see ``minigrad.layers.activations.attention_normalizers``)
    or a callable ``(scores (…, L, S), allowed) -> weights`` with ``allowed`` a boolean
    array of the scores' shape (True where a query may attend a key), e.g. a
    ``ReLUAttention`` module or ``functools.partial(F.relu_attention, alpha=0.5)``. Masked
    scores reach it as 0 and -inf additive entries count as masked; masked weights are set
    to 0 after it, and ``relu_attention`` gives all-zero rows for fully masked queries.

    Backward (all exact, through the registered ops): dV = Aᵀ dO, dA = dO Vᵀ, softmax
    backward dS = A ⊙ (dA - Σ_keys dA ⊙ A), then dQ = dS K/√d_k, dK = dSᵀ Q/√d_k; masked
    entries have A = 0 and get no gradient.
    """
    allowed, additive = _combine_masks(query, attn_mask, is_causal, query.shape[-2],
                                       key.shape[-2], mask_means_allowed=True)
    out, _ = _attend(query, key, value, allowed, additive, scale, dropout_p, generator,
                     normalizer)
    return out


def _extend_keys(xp, allowed, additive, extra, like):
    """Masks for ``extra`` keys appended after the S keys (``bias_k``/``add_zero_attn``):
    those keys are always allowed and get no additive term."""
    if allowed is not None:
        pad = [(0, 0)] * (allowed.ndim - 1) + [(0, extra)]
        allowed = xp.pad(allowed, pad, constant_values=True)
    if additive is not None:
        zeros = Tensor._wrap(xp.zeros(tuple(additive.shape[:-1]) + (extra,), dtype=additive.dtype))
        additive = concatenate([additive, zeros], -1)
    return allowed, additive


def multi_head_attention(query, key, value, num_heads, in_proj_weight, in_proj_bias,
                         out_proj_weight, out_proj_bias=None, attn_mask=None,
                         key_padding_mask=None, is_causal=False, attn_bias=None,
                         dropout_p=0.0, training=True, need_weights=False, generator=None,
                         average_attn_weights=True, q_proj_weight=None, k_proj_weight=None,
                         v_proj_weight=None, bias_k=None, bias_v=None, add_zero_attn=False,
                         normalizer=None):
    """Multi-head attention (Vaswani et al. 2017, "Attention Is All You Need") on batch-first
    tensors: query (N, L, E), key (N, S, E_k), value (N, S, E_v).

    Q = query W_Qᵀ + b_Q, K = key W_Kᵀ + b_K, V = value W_Vᵀ + b_V, with [W_Q; W_K; W_V] =
    ``in_proj_weight`` (3E, E), or the separate ``q_proj_weight`` (E, E), ``k_proj_weight``
    (E, E_k), ``v_proj_weight`` (E, E_v) when ``in_proj_weight`` is None (PyTorch's kdim/vdim);
    [b_Q; b_K; b_V] = ``in_proj_bias`` (3E). Each of the ``num_heads`` heads attends with
    d_k = E/heads: A_h = softmax(Q_h K_hᵀ/√d_k + B + mask), out_h = A_h V_h;
    out = concat_h(out_h) W_Oᵀ + b_O.

    ``bias_k``/``bias_v`` (1, 1, E) append one learned key/value to the projected sequence,
    ``add_zero_attn`` one zero key/value per head (both as PyTorch; masks are extended with
    an allowed column). Masks follow ``torch.nn.MultiheadAttention``: ``attn_mask`` boolean
    True = NOT allowed (or a float mask to add), shape (L, S) or broadcastable to
    (N, heads, L, S); ``key_padding_mask`` (N, S) True = padding; ``is_causal`` allows
    j ≤ i only (minigrad builds the mask; PyTorch treats it as a hint about ``attn_mask``).
    ``attn_bias`` is an additive, differentiable bias broadcastable to (N, heads, L, S)
    (a learned relative position bias, see ``RelativePositionBias``). Fully masked rows
    give 0, never NaN. ``normalizer`` replaces the softmax (as in
    ``scaled_dot_product_attention``; scores (N, heads, L, S)). Returns the output, and
    with ``need_weights`` also the attention weights A (after dropout, as PyTorch):
    averaged over heads (N, L, S) when
    ``average_attn_weights``, else per head (N, heads, L, S).
    Backward: the exact derivative through registered ops (``linear``, ``matmul``,
    ``MaskedSoftmax``; see ``scaled_dot_product_attention`` for the chain).
    """
    if query.ndim != 3:
        raise ValueError(f"multi_head_attention: query must be (N, L, E), got shape {query.shape}")
    n, q_len, e = query.shape
    s_len = key.shape[1]
    if e % num_heads:
        raise ValueError(f"multi_head_attention: embed_dim {e} is not divisible by "
                         f"num_heads {num_heads}")
    if in_proj_weight is not None:
        if tuple(in_proj_weight.shape) != (3 * e, e):
            raise ValueError(f"multi_head_attention: in_proj_weight of shape "
                             f"{in_proj_weight.shape}, expected {(3 * e, e)}")
        w_q, w_k, w_v = in_proj_weight[:e], in_proj_weight[e:2 * e], in_proj_weight[2 * e:]
    else:
        if q_proj_weight is None or k_proj_weight is None or v_proj_weight is None:
            raise ValueError("multi_head_attention: give in_proj_weight, or all three of "
                             "q_proj_weight, k_proj_weight, v_proj_weight")
        w_q, w_k, w_v = q_proj_weight, k_proj_weight, v_proj_weight
    d = e // num_heads
    bq = bk = bv = None
    if in_proj_bias is not None:
        bq, bk, bv = in_proj_bias[:e], in_proj_bias[e:2 * e], in_proj_bias[2 * e:]
    q = linear(query, w_q, bq)
    k = linear(key, w_k, bk)
    v = linear(value, w_v, bv)

    xp = backend_of_array(query.data).xp
    allowed, additive = _combine_masks(query, attn_mask, is_causal, q_len, s_len,
                                       mask_means_allowed=False)
    if key_padding_mask is not None:
        pad = _array(key_padding_mask, query)
        if tuple(pad.shape) != (n, s_len):
            raise ValueError(f"multi_head_attention: key_padding_mask of shape "
                             f"{tuple(pad.shape)}, expected (N, S) = {(n, s_len)}")
        if pad.dtype != bool:          # a float padding mask is added, as in PyTorch
            extra = Tensor._wrap(pad.astype(query.dtype)[:, None, None, :])
            additive = extra if additive is None else additive + extra
        else:
            keep = ~pad[:, None, None, :]
            allowed = keep if allowed is None else allowed & keep
    if attn_bias is not None:
        additive = attn_bias if additive is None else additive + attn_bias
    if (bias_k is None) != (bias_v is None):
        raise ValueError("multi_head_attention: give both bias_k and bias_v, or neither")
    if bias_k is not None:
        k = concatenate([k, broadcast_to(reshape(bias_k, (1, 1, e)), (n, 1, e))], 1)
        v = concatenate([v, broadcast_to(reshape(bias_v, (1, 1, e)), (n, 1, e))], 1)
        allowed, additive = _extend_keys(xp, allowed, additive, 1, query)
    keys = k.shape[1]

    def heads(t, length):
        return permute(reshape(t, (n, length, num_heads, d)), 0, 2, 1, 3)

    kh, vh = heads(k, keys), heads(v, keys)
    if add_zero_attn:
        zero = Tensor._wrap(xp.zeros((n, num_heads, 1, d), dtype=kh.dtype))
        kh, vh = concatenate([kh, zero], 2), concatenate([vh, zero], 2)
        allowed, additive = _extend_keys(xp, allowed, additive, 1, query)
    out, weights = _attend(heads(q, q_len), kh, vh, allowed, additive, None,
                           dropout_p if training else 0.0, generator, normalizer)
    out = reshape(permute(out, 0, 2, 1, 3), (n, q_len, e))
    out = linear(out, out_proj_weight, out_proj_bias)
    if need_weights:
        return out, (weights.mean(axis=1) if average_attn_weights else weights)
    return out


class MultiheadAttention(Module):
    """Multi-head attention (Vaswani et al. 2017, "Attention Is All You Need"), PyTorch's
    ``nn.MultiheadAttention(embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False,
    add_zero_attn=False, kdim=None, vdim=None, batch_first=False)``:

        out = concat_h softmax(Q_h K_hᵀ/√d_k + mask) V_h · W_Oᵀ + b_O,
        Q = query W_Qᵀ + b_Q, K = key W_Kᵀ + b_K, V = value W_Vᵀ + b_V,  d_k = E/num_heads

    Parameters as PyTorch: ``in_proj_weight`` (3E, E) = [W_Q; W_K; W_V] (Xavier uniform),
    or, when kdim or vdim differs from E, ``q_proj_weight`` (E, E), ``k_proj_weight``
    (E, kdim), ``v_proj_weight`` (E, vdim) (each Xavier uniform) and ``in_proj_weight`` None;
    ``in_proj_bias`` (3E) zeros; ``out_proj`` a Linear(E, E) with zero bias; with
    ``add_bias_kv``, ``bias_k``, ``bias_v`` (1, 1, E) (Xavier normal) appended to the keys
    and values. ``dropout`` drops attention weights in training mode.

    ``forward(query, key=None, value=None, key_padding_mask=None, need_weights=True,
    attn_mask=None, average_attn_weights=True, is_causal=False, attn_bias=None)`` returns
    (attn_output, attn_weights): attn_output (L, N, E) ((N, L, E) with ``batch_first``;
    (L, E) for unbatched input), attn_weights (N, L, S) averaged over heads, or per head
    (N, heads, L, S) with ``average_attn_weights=False`` (None unless ``need_weights``).
    Masks: see ``multi_head_attention``. Backward: the exact derivative through the
    registered ops of ``multi_head_attention``.
    Deviations: key and value default to the query (self-attention); ``is_causal=True``
    builds the causal mask itself (PyTorch requires ``attn_mask`` with it); ``attn_bias``,
    ``dtype``, ``generator`` and ``normalizer`` (a softmax replacement, see
    ``scaled_dot_product_attention``; a Module normalizer is a submodule) are minigrad extras.
    """

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False,
                 add_zero_attn=False, kdim=None, vdim=None, batch_first=False, device=None,
                 dtype="float32", generator=None, normalizer=None):
        super().__init__()
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(f"MultiheadAttention: embed_dim and num_heads must be positive, "
                             f"got {embed_dim} and {num_heads}")
        if embed_dim % num_heads:
            raise ValueError(f"MultiheadAttention: embed_dim {embed_dim} is not divisible by "
                             f"num_heads {num_heads}")
        if device is not None and device not in ("cpu", "numpy", "cuda", "cupy"):
            raise ValueError(f"MultiheadAttention: unknown device {device!r}")
        xp = current().xp
        self.embed_dim, self.num_heads, self.dropout = embed_dim, num_heads, dropout
        self.kdim = embed_dim if kdim is None else kdim
        self.vdim = embed_dim if vdim is None else vdim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.head_dim = embed_dim // num_heads
        self.batch_first, self.add_zero_attn = batch_first, add_zero_attn
        self.normalizer = normalizer       # a Module normalizer's parameters are trained too
        if self._qkv_same_embed_dim:
            self.in_proj_weight = Parameter(xp.empty((3 * embed_dim, embed_dim), dtype=dtype))
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(name, None)
        else:
            self.register_parameter("in_proj_weight", None)
            self.q_proj_weight = Parameter(xp.empty((embed_dim, embed_dim), dtype=dtype))
            self.k_proj_weight = Parameter(xp.empty((embed_dim, self.kdim), dtype=dtype))
            self.v_proj_weight = Parameter(xp.empty((embed_dim, self.vdim), dtype=dtype))
        self.register_parameter("in_proj_bias", Parameter(xp.zeros(3 * embed_dim, dtype=dtype))
                                if bias else None)
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, dtype=dtype, generator=generator)
        if add_bias_kv:
            self.bias_k = Parameter(xp.empty((1, 1, embed_dim), dtype=dtype))
            self.bias_v = Parameter(xp.empty((1, 1, embed_dim), dtype=dtype))
        else:
            self.bias_k = self.bias_v = None
        self._reset_parameters(generator)

    def _reset_parameters(self, generator=None):
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight, generator=generator)
        else:
            for w in (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
                init.xavier_uniform_(w, generator=generator)
        if self.in_proj_bias is not None:
            init.zeros_(self.in_proj_bias)
            init.zeros_(self.out_proj.bias)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k, generator=generator)
            init.xavier_normal_(self.bias_v, generator=generator)

    def forward(self, query, key=None, value=None, key_padding_mask=None, need_weights=True,
                attn_mask=None, average_attn_weights=True, is_causal=False, attn_bias=None):
        key = query if key is None else key
        value = key if value is None else value
        batched = query.ndim == 3
        if not batched:
            if query.ndim != 2:
                raise ValueError(f"MultiheadAttention: query must be (L, E) unbatched or 3-D, "
                                 f"got shape {tuple(query.shape)}")
            query, key, value = (reshape(t, (1,) + tuple(t.shape)) for t in (query, key, value))
            if key_padding_mask is not None:
                key_padding_mask = _array(key_padding_mask, query)[None]
        elif not self.batch_first:
            query, key, value = (transpose(t, 0, 1) for t in (query, key, value))
        out = multi_head_attention(
            query, key, value, self.num_heads, self.in_proj_weight, self.in_proj_bias,
            self.out_proj.weight, self.out_proj.bias, attn_mask=attn_mask,
            key_padding_mask=key_padding_mask, is_causal=is_causal, attn_bias=attn_bias,
            dropout_p=self.dropout, training=self.training, need_weights=need_weights,
            average_attn_weights=average_attn_weights, q_proj_weight=self.q_proj_weight,
            k_proj_weight=self.k_proj_weight, v_proj_weight=self.v_proj_weight,
            bias_k=self.bias_k, bias_v=self.bias_v, add_zero_attn=self.add_zero_attn,
            normalizer=self.normalizer)
        weights = None
        if need_weights:
            out, weights = out
        if not batched:
            out = reshape(out, tuple(out.shape[1:]))
            weights = None if weights is None else reshape(weights, tuple(weights.shape[1:]))
        elif not self.batch_first:
            out = transpose(out, 0, 1)
        return out, weights

    def extra_repr(self):
        return f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, dropout={self.dropout}"


class RelativePositionBias(Module):
    """Learned attention bias over a (H, W) grid of tokens, indexed by the offset
    (|Δrow|, |Δcol|) between query and key (Graham et al. 2021, "LeViT: a Vision
    Transformer in ConvNet's Clothing for Faster Inference"; LSNet ``attention_biases``):
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
