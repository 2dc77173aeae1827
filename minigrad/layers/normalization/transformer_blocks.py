"""Where the normalization sits in a transformer block, beyond Pre-/Post-LN (N008):
QK-Norm (catalog N025), DeepNorm with its initialization (N027), NormFormer's block (N028),
Peri-LN's residual placement (N029) and nGPT's hypersphere normalization (N030).

QK-Norm and DeepNorm are ``Function``s with hand-derived backwards; NormFormer, Peri-LN and
nGPT's normalized residual are compositions of registered ops (LayerNorm, attention, L2
normalization), as their rows are: their gradients are the tape's.
"""
import math

from minigrad.autograd import Function, no_grad
from minigrad.creation import ones, zeros
from minigrad.layers import init
from minigrad.layers.linear import Linear, linear
from minigrad.layers.module import Module, Parameter
from minigrad.layers.normalization._util import as_dtype
from minigrad.layers.normalization.layer import LayerNorm, LayerNormFn, _normalized_shape
from minigrad.layers.normalization.vector import L2NormalizeFn
from minigrad.ops._checks import check_floating
from minigrad.registry import Case, register
from minigrad.tensor import Tensor

__all__ = ["qk_norm", "deep_norm", "normformer_block", "peri_ln_residual", "ngpt_normalize"]


# ------------------------------------------------------------------ QK-Norm
class QKNormAttentionFn(Function):
    """QK-Norm attention (Henry, Dachapally, Pawar & Chen 2020; the paper's QKNorm equation):
        q̂ = q/‖q‖, k̂ = k/‖k‖ (along the head dim, norms clamped at ε),
        S = g·q̂ k̂ᵀ,  P = softmax(S) over keys (masked keys −∞),  O = P V.

    Backward: dV = Pᵀ dO; dP = dO Vᵀ; dS = P⊙(dP − Σ_keys dP⊙P);
    dg = Σ dS⊙(q̂ k̂ᵀ); dq̂ = g·dS k̂, dk̂ = (g⊙dS)ᵀ q̂; then the L2-normalize backward
    dq = (dq̂ − q̂⟨q̂, dq̂⟩)/‖q‖ (N007; dq̂/ε in the clamped branch), the same for k.
    Masked entries have P = 0 and get no gradient; a query with every key masked gets O = 0.
    Second derivatives through ``composite`` (the same forward from registered ops).
    """

    @staticmethod
    def forward(ctx, q, k, v, g, allowed, eps):
        xp = ctx.xp
        nq = xp.sqrt((q * q).sum(axis=-1, keepdims=True))
        nk = xp.sqrt((k * k).sum(axis=-1, keepdims=True))
        dq, dk = xp.maximum(nq, eps), xp.maximum(nk, eps)
        qh, kh = q / dq, k / dk
        cos = qh @ xp.swapaxes(kh, -1, -2)
        s = g * cos
        if allowed is not None:
            s = xp.where(allowed, s, -xp.inf)
        m = s.max(axis=-1, keepdims=True)
        m = xp.where(xp.isfinite(m), m, 0)
        e = xp.exp(s - m)
        tot = e.sum(axis=-1, keepdims=True)
        p = e / xp.where(tot > 0, tot, 1)
        ctx.save_for_backward(qh, kh, v, g, p, dq, dk, nq <= eps, nk <= eps)
        return p @ v

    @staticmethod
    def backward(ctx, go):
        qh, kh, v, g, p, dq, dk, cq, ck = ctx.saved_tensors
        xp = ctx.xp
        dv = xp.swapaxes(p, -1, -2) @ go
        dp = go @ xp.swapaxes(v, -1, -2)
        ds = p * (dp - (dp * p).sum(axis=-1, keepdims=True))
        cos = qh @ xp.swapaxes(kh, -1, -2)
        dg = ds * cos
        gs = g * ds
        dqh = gs @ kh
        dkh = xp.swapaxes(gs, -1, -2) @ qh
        dqq = (dqh - qh * (qh * dqh).sum(axis=-1, keepdims=True) * ~cq) / dq
        dkk = (dkh - kh * (kh * dkh).sum(axis=-1, keepdims=True) * ~ck) / dk
        return dqq, dkk, dv, dg, None, None

    @staticmethod
    def composite(q, k, v, g, allowed, eps):
        from minigrad.layers.attention import masked_softmax
        from minigrad.ops.indexing import masked_fill
        qh, kh = L2NormalizeFn.apply(q, q.ndim - 1, eps), L2NormalizeFn.apply(k, k.ndim - 1, eps)
        s = g * (qh @ kh.transpose(-1, -2))
        if allowed is not None:
            s = masked_fill(s, Tensor._wrap(~allowed), -math.inf)
        return masked_softmax(s, -1) @ v


def qk_norm(query, key, value, g, attn_mask=None, is_causal=False, eps=1e-12):
    """QK-Norm attention: queries and keys L2-normalized along the head dim, their cosine
    similarities scaled by the learnable g (in place of 1/√d_k) before the softmax.

    out = softmax(g·q̂ k̂ᵀ) V,  q̂ = q/‖q‖, k̂ = k/‖k‖
    Backward: ``QKNormAttentionFn`` (help(minigrad.layers.normalization.transformer_blocks.
    QKNormAttentionFn)). query (..., L, d), key (..., S, d), value (..., S, d_v); ``g`` a
    tensor broadcastable to (..., L, S) (one scalar per layer; (heads, 1, 1) per head);
    init g₀ = log₂(L² − L) with L the 97.5th percentile of the training lengths
    (``qk_norm_init``). ``attn_mask`` boolean, True where a query may attend a key
    (``scaled_dot_product_attention``'s convention); ``is_causal`` allows j ≤ i.
    ``qk_norm(query, key, value, g, attn_mask=None, is_causal=False, eps=1e-12)``; ε clamps
    the norms (the paper has none).
    Paper: Henry, Dachapally, Pawar & Chen 2020, "Query-Key Normalization for Transformers".
    """
    check_floating("qk_norm", query=query, key=key, value=value)
    if query.ndim < 2 or key.ndim != query.ndim or value.ndim != query.ndim:
        raise ValueError(f"qk_norm: query, key and value must be (..., L, d) of one rank, got "
                         f"{tuple(query.shape)}, {tuple(key.shape)}, {tuple(value.shape)}")
    if query.shape[-1] != key.shape[-1] or key.shape[-2] != value.shape[-2]:
        raise ValueError(f"qk_norm: query {tuple(query.shape)} and key {tuple(key.shape)} need "
                         f"one head dim; key and value {tuple(value.shape)} one length")
    from minigrad.backends import backend_of_array
    backend = backend_of_array(query.data)
    xp = backend.xp
    allowed = None
    if attn_mask is not None:
        allowed = backend.asarray(attn_mask.data if isinstance(attn_mask, Tensor) else attn_mask)
        if allowed.dtype != bool:
            raise ValueError("qk_norm: attn_mask must be boolean (True = may attend)")
    if is_causal:
        causal = xp.tril(xp.ones((query.shape[-2], key.shape[-2]), dtype=bool))
        allowed = causal if allowed is None else allowed & causal
    if not isinstance(g, Tensor):
        g = Tensor._wrap(backend_of_array(query.data).asarray(float(g), dtype=query.dtype))
    return QKNormAttentionFn.apply(query, key, value, g, allowed, float(eps))


def qk_norm_init(seq_len):
    """g₀ = log₂(L² − L), L = the 97.5th percentile of the training sequence lengths (L ≥ 2)."""
    if seq_len < 2:
        raise ValueError(f"qk_norm_init: needs a sequence length of at least 2, got {seq_len}")
    return math.log2(seq_len * seq_len - seq_len)


def _heads(t, heads):
    n, length, e = t.shape
    return t.reshape(n, length, heads, e // heads).permute(0, 2, 1, 3)


def _merge(t):
    n, heads, length, d = t.shape
    return t.permute(0, 2, 1, 3).reshape(n, length, heads * d)


class QKNormAttention(Module):
    """Multi-head self-attention with QK-Norm on batch-first (N, L, E) inputs:
    ``QKNormAttention(embed_dim, num_heads, seq_len=None, g_init=None, bias=True)``;
    q, k, v, out projections are ``Linear(E, E)``; g one learnable scalar, init
    log₂(L² − L) from ``seq_len`` (or ``g_init``).

    out = concat_h softmax(g·q̂_h k̂_hᵀ) V_h · W_Oᵀ + b_O; see ``F.qk_norm``.
    Paper: Henry, Dachapally, Pawar & Chen 2020, "Query-Key Normalization for Transformers".
    """

    def __init__(self, embed_dim, num_heads, seq_len=None, g_init=None, bias=True):
        super().__init__()
        if embed_dim % num_heads:
            raise ValueError(f"QKNormAttention: embed_dim {embed_dim} is not divisible by "
                             f"num_heads {num_heads}")
        if (seq_len is None) == (g_init is None):
            raise ValueError("QKNormAttention: give seq_len (g₀ = log2(L² − L)) or g_init")
        self.embed_dim, self.num_heads = embed_dim, num_heads
        self.q_proj, self.k_proj = Linear(embed_dim, embed_dim, bias), Linear(embed_dim, embed_dim, bias)
        self.v_proj, self.out_proj = Linear(embed_dim, embed_dim, bias), Linear(embed_dim, embed_dim, bias)
        self.g = Parameter(ones(()) * (qk_norm_init(seq_len) if g_init is None else float(g_init)))

    def forward(self, x, attn_mask=None, is_causal=False):
        h = self.num_heads
        out = qk_norm(_heads(self.q_proj(x), h), _heads(self.k_proj(x), h),
                      _heads(self.v_proj(x), h), self.g, attn_mask, is_causal)
        return self.out_proj(_merge(out))

    def extra_repr(self):
        return f"{self.embed_dim}, num_heads={self.num_heads}"


# ------------------------------------------------------------------ DeepNorm
class DeepNormFn(Function):
    """DeepNorm (Wang et al. 2022, the pseudocode of Fig. 2): y = LN(α·x + G(x)) with the
    residual x up-weighted by the constant α.

    Backward: with z = α x + gx and dz the LayerNorm backward at z (``LayerNormFn``:
    dz = r·(ĝ − mean ĝ − ẑ·mean(ĝ ẑ)), ĝ = dy·γ), dx = α·dz and d(gx) = dz; dγ = Σ dy·ẑ,
    dβ = Σ dy. Second derivatives through ``composite``.
    """

    @staticmethod
    def forward(ctx, x, gx, weight, bias, alpha, F, eps):
        z = alpha * x + gx
        w = None if weight is None else as_dtype(weight, x.dtype).reshape(F)
        b = None if bias is None else as_dtype(bias, x.dtype).reshape(F)
        y, mean, rstd = ctx.backend.kernels("norm").layer_norm_forward(z.reshape(-1, F), w, b, eps)
        ctx.save_for_backward(z, weight, mean, rstd)
        ctx.alpha, ctx.F = alpha, F
        ctx.shapes = (None if weight is None else weight.shape, None if bias is None else bias.shape)
        return y.reshape(x.shape)

    @staticmethod
    def backward(ctx, gy):
        z, weight, mean, rstd = ctx.saved_tensors
        needs = ctx.needs_input_grad
        F = ctx.F
        w = None if weight is None else as_dtype(weight, z.dtype).reshape(F)
        dz, dw, db = ctx.backend.kernels("norm").layer_norm_backward(
            gy.reshape(-1, F), z.reshape(-1, F), mean, rstd, w,
            need_affine_grads=bool(needs[2] or needs[3]))
        if needs[3] and db is None:
            db = gy.reshape(-1, F).sum(axis=0)
        dz = dz.reshape(z.shape)
        w_shape, b_shape = ctx.shapes
        return (ctx.alpha * dz, dz,
                dw.reshape(w_shape) if needs[2] and dw is not None else None,
                db.reshape(b_shape) if needs[3] and db is not None else None, None, None, None)

    @staticmethod
    def composite(x, gx, weight, bias, alpha, F, eps):
        return LayerNormFn.composite(alpha * x + gx, weight, bias, F, eps)


def deep_norm(x, sublayer_out, alpha, normalized_shape, weight=None, bias=None, eps=1e-5):
    """DeepNorm's residual connection: a Post-LN with the skip path up-weighted by α.

    y = LN(α·x + G(x))      (G(x) = ``sublayer_out``, the attention or FFN output)
    Backward: dx = α·dz, dG = dz with dz the LayerNorm backward (``DeepNormFn``,
    help(minigrad.layers.normalization.transformer_blocks.DeepNormFn)).
    ``deep_norm(x, sublayer_out, alpha, normalized_shape, weight=None, bias=None, eps=1e-5)``;
    α and the init gain β from ``deep_norm_constants``, the init by ``deep_norm_init_``.
    Paper: Wang, Ma, Dong, Huang, Zhang & Wei 2022, "DeepNet: Scaling Transformers to 1,000
    Layers".
    """
    check_floating("deep_norm", x=x, sublayer_out=sublayer_out)
    if tuple(x.shape) != tuple(sublayer_out.shape):
        raise ValueError(f"deep_norm: x {tuple(x.shape)} and sublayer_out "
                         f"{tuple(sublayer_out.shape)} must have one shape")
    shape = _normalized_shape("deep_norm", x, normalized_shape)
    for t, n in ((weight, "weight"), (bias, "bias")):
        if t is not None and tuple(t.shape) != shape:
            raise ValueError(f"deep_norm: {n} of shape {tuple(t.shape)} does not match "
                             f"normalized_shape {shape}")
    return DeepNormFn.apply(x, sublayer_out, weight, bias, float(alpha), math.prod(shape),
                            float(eps))


def deep_norm_constants(num_layers, decoder_layers=None, part="encoder"):
    """(α, β) of DeepNet (Table in Fig. 2 of the paper). An encoder-only or decoder-only model
    of N layers (``decoder_layers=None``): α = (2N)^{1/4}, β = (8N)^{-1/4}. An
    encoder–decoder of N encoder and M decoder layers: for ``part='encoder'``
    α = 0.81(N⁴M)^{1/16}, β = 0.87(N⁴M)^{-1/16}; for ``part='decoder'`` α = (3M)^{1/4},
    β = (12M)^{-1/4}."""
    n = num_layers
    if decoder_layers is None:
        return (2 * n) ** 0.25, (8 * n) ** -0.25
    m = decoder_layers
    if part == "encoder":
        return 0.81 * (n ** 4 * m) ** (1 / 16), 0.87 * (n ** 4 * m) ** (-1 / 16)
    if part == "decoder":
        return (3 * m) ** 0.25, (12 * m) ** -0.25
    raise ValueError(f"deep_norm_constants: part must be 'encoder' or 'decoder', got {part!r}")


class DeepNorm(Module):
    """DeepNorm's residual LayerNorm: ``DeepNorm(normalized_shape, alpha, eps=1e-5)`` with
    γ (init 1) and β (init 0); ``forward(x, sublayer_out)`` = LN(α·x + sublayer_out).
    Paper: Wang, Ma, Dong, Huang, Zhang & Wei 2022, "DeepNet: Scaling Transformers to 1,000
    Layers".
    """

    def __init__(self, normalized_shape, alpha, eps=1e-5):
        super().__init__()
        self.normalized_shape = ((normalized_shape,) if isinstance(normalized_shape, int)
                                 else tuple(normalized_shape))
        self.alpha, self.eps = float(alpha), eps
        self.weight = Parameter(ones(self.normalized_shape))
        self.bias = Parameter(zeros(self.normalized_shape))

    def forward(self, x, sublayer_out):
        return deep_norm(x, sublayer_out, self.alpha, self.normalized_shape, self.weight,
                         self.bias, self.eps)

    def extra_repr(self):
        return f"{self.normalized_shape}, alpha={self.alpha:.4g}, eps={self.eps}"


def deep_norm_init_(q_proj=(), k_proj=(), v_proj=(), out_proj=(), ffn=(), beta=1.0):
    """DeepNet's initialization (Fig. 2 of the paper), in place: Xavier-normal with gain β
    for the FFN, value and output projections, gain 1 for the query and key projections.
    Each argument is an iterable of weight tensors (biases are left alone)."""
    with no_grad():
        for ws, gain in ((q_proj, 1.0), (k_proj, 1.0), (v_proj, beta), (out_proj, beta),
                         (ffn, beta)):
            for w in ws:
                init.xavier_normal_(w, gain=gain)


# ------------------------------------------------------------------ NormFormer
def normformer_block(x, qkv, out_proj, fc1, fc2, norms, head_scale, num_heads, activation=None,
                     resid_scale=None):
    """A NormFormer block: Pre-LN plus (1) a LayerNorm on the attention output before the
    residual add, (2) a learnable scale per head on each head's output before the output
    projection, (3) a LayerNorm after the FFN's first linear and activation.

    a = concat_h(γ_h·Attn_h(LN₁(x))) W_Oᵀ;  h = x + LN₂(a);
    y = λ⊙h + fc2(LN₄(σ(fc1(LN₃(h)))))      (λ = ``resid_scale``, 1 when None)
    Backward: the chain rule through the registered ops (``layer_norm``, ``linear``,
    ``scaled_dot_product_attention``); dγ_h = Σ d(head_h)⊙head_h. ``qkv`` maps (N, L, E) to
    (q, k, v), ``out_proj``, ``fc1``, ``fc2`` are callables, ``norms`` the four LayerNorms
    (LN₁ pre-attention, LN₂ post-attention, LN₃ pre-FFN, LN₄ after the activation),
    ``head_scale`` (num_heads,), ``activation`` defaults to GELU.
    ``normformer_block(x, qkv, out_proj, fc1, fc2, norms, head_scale, num_heads,
    activation=None, resid_scale=None)``; ``NormFormerLayer`` owns the parameters.
    Paper: Shleifer, Weston & Ott 2021, "NormFormer: Improved Transformer Pretraining with
    Extra Normalization".
    """
    check_floating("normformer_block", x=x)
    from minigrad.layers.attention import scaled_dot_product_attention
    if activation is None:
        from minigrad.layers.activations.smooth import gelu as activation
    if tuple(head_scale.shape) != (num_heads,):
        raise ValueError(f"normformer_block: head_scale of shape {tuple(head_scale.shape)}, "
                         f"expected ({num_heads},)")
    ln1, ln2, ln3, ln4 = norms
    q, k, v = qkv(ln1(x))
    heads = scaled_dot_product_attention(_heads(q, num_heads), _heads(k, num_heads),
                                         _heads(v, num_heads))
    h = x + ln2(out_proj(_merge(heads * head_scale.reshape(1, num_heads, 1, 1))))
    res = h if resid_scale is None else resid_scale * h
    return res + fc2(ln4(activation(fc1(ln3(h)))))


class NormFormerLayer(Module):
    """A NormFormer encoder layer on (N, L, E): ``NormFormerLayer(d_model, nhead,
    dim_feedforward=2048, scale_resid=False)``. Head scales init 1, the four LayerNorms
    γ = 1, β = 0, λ_resid init 1 when ``scale_resid`` (fairseq's ``w_resid``).

    See ``F.normformer_block`` for the formula.
    Paper: Shleifer, Weston & Ott 2021, "NormFormer: Improved Transformer Pretraining with
    Extra Normalization".
    """

    def __init__(self, d_model, nhead, dim_feedforward=2048, scale_resid=False):
        super().__init__()
        if d_model % nhead:
            raise ValueError(f"NormFormerLayer: d_model {d_model} is not divisible by nhead {nhead}")
        self.nhead = nhead
        self.in_proj = Linear(d_model, 3 * d_model)
        self.out_proj = Linear(d_model, d_model)
        self.fc1, self.fc2 = Linear(d_model, dim_feedforward), Linear(dim_feedforward, d_model)
        self.attn_norm, self.attn_out_norm = LayerNorm(d_model), LayerNorm(d_model)
        self.ffn_norm, self.ffn_mid_norm = LayerNorm(d_model), LayerNorm(dim_feedforward)
        self.head_scale = Parameter(ones(nhead))
        if scale_resid:
            self.resid_scale = Parameter(ones(d_model))
        else:
            self.register_parameter("resid_scale", None)

    def _qkv(self, x):
        e = x.shape[-1]
        qkv = self.in_proj(x)
        return qkv[..., :e], qkv[..., e:2 * e], qkv[..., 2 * e:]

    def forward(self, x):
        return normformer_block(x, self._qkv, self.out_proj, self.fc1, self.fc2,
                                (self.attn_norm, self.attn_out_norm, self.ffn_norm,
                                 self.ffn_mid_norm), self.head_scale, self.nhead,
                                resid_scale=self.resid_scale)


# ------------------------------------------------------------------ Peri-LN
def peri_ln_residual(x, sublayer, norm_in, norm_out):
    """Peri-LN placement: every sub-layer's input and output normalized, the output norm
    before the residual add; the residual stream itself is never normalized (add a final
    norm before the head, as in Pre-LN).

    y = x + N_out(F(N_in(x)))
    Backward: the chain rule through the recorded ops (no Function of its own: the row is
    a placement of N002/N003). ``sublayer``, ``norm_in``, ``norm_out`` are callables
    (``LayerNorm(d)`` or ``RMSNorm(d)``). ``peri_ln_residual(x, sublayer, norm_in, norm_out)``.
    Paper: Kim et al. 2025, "Peri-LN: Revisiting Layer Normalization in the Transformer
    Architecture".
    """
    check_floating("peri_ln_residual", x=x)
    return x + norm_out(sublayer(norm_in(x)))


class PeriLNResidual(Module):
    """``PeriLNResidual(sublayer, norm_in, norm_out)``: y = x + N_out(F(N_in(x)));
    see ``F.peri_ln_residual``.
    Paper: Kim et al. 2025, "Peri-LN: Revisiting Layer Normalization in the Transformer
    Architecture".
    """

    def __init__(self, sublayer, norm_in, norm_out):
        super().__init__()
        self.sublayer, self.norm_in, self.norm_out = sublayer, norm_in, norm_out

    def forward(self, x):
        return peri_ln_residual(x, self.sublayer, self.norm_in, self.norm_out)


# ------------------------------------------------------------------ nGPT
def ngpt_normalize(x, dim=-1, eps=1e-12):
    """nGPT's Norm: x projected onto the unit hypersphere along the embedding axis.

    y = x/‖x‖₂      (‖x‖ clamped at ε = 1e-12; the official ``justnorm`` has no clamp)
    Backward: dx = (dy − y⟨dy, y⟩)/‖x‖, the L2 normalization of N007 (``L2NormalizeFn``,
    help(minigrad.layers.normalization.vector.L2NormalizeFn)): nGPT's Norm is that op.
    ``ngpt_normalize(x, dim=-1, eps=1e-12)``. With it: ``ngpt_residual`` (the normalized
    residual update), ``NGPTResidual`` and the post-step projection of the weights
    (``l2_normalize_`` of each weight along its embedding axis, see ``ngpt_normalize_``).
    Paper: Loshchilov, Hsieh, Sun & Ginsburg 2024, "nGPT: Normalized Transformer with
    Representation Learning on the Hypersphere".
    """
    check_floating("ngpt_normalize", x=x)
    return L2NormalizeFn.apply(x, dim % x.ndim, float(eps))


def ngpt_residual(h, update, alpha):
    """nGPT's residual update (NVIDIA/ngpt model.py, Block.forward; the paper's normalized
    update with eigen learning rates α):
    h ← Norm(Norm(h) + |α|⊙(Norm(update) − Norm(h))), α the "eigen learning rate" (per dim).
    A composition of ``ngpt_normalize`` and elementwise ops; ``alpha`` is the effective α."""
    a = ngpt_normalize(h)
    return ngpt_normalize(a + alpha.abs() * (ngpt_normalize(update) - a))


class NGPTResidual(Module):
    """``NGPTResidual(sublayer, dim, alpha_init=0.05, alpha_scale=None)``:
    h ← Norm(h + |α|(Norm(F(h)) − h)) with α stored at scale ``alpha_scale`` (1/√dim) and
    used as α·alpha_init/alpha_scale (init value α_init; NVIDIA/ngpt's parameterization).
    Paper: Loshchilov, Hsieh, Sun & Ginsburg 2024, "nGPT: Normalized Transformer with
    Representation Learning on the Hypersphere".
    """

    def __init__(self, sublayer, dim, alpha_init=0.05, alpha_scale=None):
        super().__init__()
        self.sublayer = sublayer
        self.alpha_init = alpha_init
        self.alpha_scale = 1 / math.sqrt(dim) if alpha_scale is None else alpha_scale
        self.alpha = Parameter(ones(dim) * self.alpha_scale)

    def forward(self, h):
        return ngpt_residual(h, self.sublayer(h), self.alpha * (self.alpha_init / self.alpha_scale))


def ngpt_normalize_(weights_and_axes, eps=1e-12):
    """The post-step projection (call after every optimizer step): each (weight, axis) pair
    renormalized in place to unit norm along its embedding axis (axis 1 for weights that
    read the embedding, (out, d); axis 0 for those that write it, (d, in); embeddings along
    d). Outside autodiff (``l2_normalize_``)."""
    from minigrad.layers.normalization.vector import l2_normalize_
    for w, axis in weights_and_axes:
        l2_normalize_(w, axis, eps)


# ------------------------------------------------------------------ registry
def _qk_checked(q, k, v, g, causal=False):
    return qk_norm(q, k, v, g, is_causal=causal)


def _normformer_checked(x, w_in, w_out, w1, w2, g1, g2, g3, g4, head_scale, lam=None):
    """A 2-head NormFormer block with the given weights (no biases) and LayerNorm gains."""
    from minigrad.layers.normalization.layer import layer_norm
    e = x.shape[-1]

    def qkv(a):
        t = linear(a, w_in)
        return t[..., :e], t[..., e:2 * e], t[..., 2 * e:]
    norms = [lambda t, g=g: layer_norm(t, g.shape, g) for g in (g1, g2, g3, g4)]
    from minigrad.ops.elementwise import tanh
    return normformer_block(x, qkv, lambda t: linear(t, w_out), lambda t: linear(t, w1),
                            lambda t: linear(t, w2), norms, head_scale, 2, activation=tanh,
                            resid_scale=lam)


def _peri_checked(x, w, g_in, g_out, rms=False):
    from minigrad.layers.normalization.layer import layer_norm, rms_norm
    from minigrad.ops.elementwise import tanh
    norm = rms_norm if rms else layer_norm
    return peri_ln_residual(x, lambda h: tanh(h @ w), lambda h: norm(h, g_in.shape, g_in),
                            lambda h: norm(h, g_out.shape, g_out))


def _register():
    import numpy as np
    n = lambda r, *s: r.standard_normal(s)  # noqa: E731
    pos = lambda r, *s: np.asarray(r.uniform(0.5, 2.0, s))  # noqa: E731
    register(qk_norm, kind="normalization", catalog_id="N025", module=QKNormAttention,
             papers=["Query-Key Normalization for Transformers"], checked_as=_qk_checked,
             inputs=lambda r: [Case(n(r, 3, 4), n(r, 4, 4), n(r, 4, 2), pos(r) * 2),
                               Case(n(r, 2, 3, 4), n(r, 2, 3, 4), n(r, 2, 3, 3), pos(r, 2, 1, 1),
                                    causal=True)])
    register(deep_norm, kind="normalization", catalog_id="N027", module=DeepNorm,
             papers=["DeepNet: Scaling Transformers to 1,000 Layers"],
             inputs=lambda r: [Case(n(r, 3, 4), n(r, 3, 4), 1.7, (4,), pos(r, 4), n(r, 4)),
                               Case(n(r, 2, 3, 4), n(r, 2, 3, 4), 2.0, (3, 4)),
                               Case(n(r, 1, 5), n(r, 1, 5), 0.8, 5, pos(r, 5))])
    d, f = 4, 6
    register(normformer_block, kind="normalization", catalog_id="N028", module=NormFormerLayer,
             papers=["NormFormer: Improved Transformer Pretraining with Extra Normalization"],
             checked_as=_normformer_checked,
             inputs=lambda r: [Case(n(r, 2, 3, d), n(r, 3 * d, d) / 2, n(r, d, d) / 2,
                                    n(r, f, d) / 2, n(r, d, f) / 2, pos(r, d), pos(r, d),
                                    pos(r, d), pos(r, f), pos(r, 2)),
                               Case(n(r, 1, 2, d), n(r, 3 * d, d) / 2, n(r, d, d) / 2,
                                    n(r, f, d) / 2, n(r, d, f) / 2, pos(r, d), pos(r, d),
                                    pos(r, d), pos(r, f), pos(r, 2), pos(r, d))])
    register(peri_ln_residual, kind="normalization", catalog_id="N029", module=PeriLNResidual,
             papers=["Peri-LN: Revisiting Layer Normalization in the Transformer Architecture"],
             checked_as=_peri_checked,
             inputs=lambda r: [Case(n(r, 3, 4), n(r, 4, 4) / 2, pos(r, 4), pos(r, 4)),
                               Case(n(r, 2, 3, 4), n(r, 4, 4) / 2, pos(r, 4), pos(r, 4), rms=True)])
    register(ngpt_normalize, kind="normalization", catalog_id="N030", module=NGPTResidual,
             papers=["nGPT: Normalized Transformer with Representation Learning on the "
                     "Hypersphere"],
             inputs=lambda r: [Case(n(r, 3, 4)), Case(n(r, 2, 3, 5), dim=1)])


_register()
