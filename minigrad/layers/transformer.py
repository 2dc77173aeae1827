"""The Transformer encoder (Vaswani et al. 2017, "Attention Is All You Need") with
PyTorch's structure, arguments and parameter names: ``TransformerEncoderLayer`` (self
attention + feed-forward, each with dropout, a residual connection and LayerNorm, post- or
pre-norm) and ``TransformerEncoder`` (a stack of deep copies of one layer).

Both are compositions of registered differentiable ops (``multi_head_attention``,
``linear``, ``layer_norm``, the activation, ``dropout``): their backward is the chain rule
through those ops' own backwards, and second derivatives come for free.
"""
import copy

from minigrad.layers.activations.rectifiers import relu
from minigrad.layers.activations.smooth import gelu
from minigrad.layers.attention import MultiheadAttention
from minigrad.layers.dropout import Dropout
from minigrad.layers.linear import Linear
from minigrad.layers.module import Module, ModuleList
from minigrad.layers.normalization.layer import LayerNorm

__all__ = ["TransformerEncoderLayer", "TransformerEncoder"]

_ACTIVATIONS = {"relu": relu, "gelu": gelu}


class TransformerEncoderLayer(Module):
    """One Transformer encoder layer (Vaswani et al. 2017, "Attention Is All You Need"),
    PyTorch's ``nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward=2048,
    dropout=0.1, activation='relu', layer_norm_eps=1e-5, batch_first=False,
    norm_first=False, bias=True)``:

        SA(x) = dropout1(self_attn(x, x, x, attn_mask, key_padding_mask)[0])
        FF(x) = dropout2(linear2(dropout(activation(linear1(x)))))
        post-norm (default):  x ← norm1(x + SA(x));   x ← norm2(x + FF(x))
        pre-norm (norm_first): x ← x + SA(norm1(x));  x ← x + FF(norm2(x))

    Sub-modules and parameter names as PyTorch: ``self_attn`` (MultiheadAttention with
    ``in_proj_weight``, ``in_proj_bias``, ``out_proj``), ``linear1`` (d_model →
    dim_feedforward), ``dropout``, ``linear2``, ``norm1``, ``norm2`` (LayerNorm, eps
    ``layer_norm_eps``), ``dropout1``, ``dropout2``. ``activation``: 'relu', 'gelu' or a
    callable. ``forward(src, src_mask=None, src_key_padding_mask=None, is_causal=False)``:
    src (S, N, E) ((N, S, E) with ``batch_first``); ``src_mask`` (S, S), boolean True = not
    allowed, or float added; ``src_key_padding_mask`` (N, S), True = padding; is_causal:
    see ``MultiheadAttention`` (minigrad builds the causal mask when src_mask is None).
    Backward: the chain rule through the registered ops (attention, linear, layer_norm).
    Extras (not in PyTorch): ``dtype``, ``generator`` (initial weights). Deviation: no fused
    "fast path" (results are the same).
    """

    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation="relu",
                 layer_norm_eps=1e-5, batch_first=False, norm_first=False, bias=True,
                 device=None, dtype="float32", generator=None):
        super().__init__()
        if isinstance(activation, str):
            if activation not in _ACTIVATIONS:
                raise ValueError(f"TransformerEncoderLayer: activation should be 'relu' or "
                                 f"'gelu' (or a callable), not {activation!r}")
            activation = _ACTIVATIONS[activation]
        elif not callable(activation):
            raise TypeError(f"TransformerEncoderLayer: activation must be a string or a "
                            f"callable, got {type(activation).__name__}")
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                            batch_first=batch_first, dtype=dtype,
                                            generator=generator)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, dtype=dtype, generator=generator)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, dtype=dtype, generator=generator)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias)
        if str(dtype) == "float64":
            self.norm1.double()
            self.norm2.double()
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.activation = activation
        self.batch_first = batch_first

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal):
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                           need_weights=False, is_causal=is_causal)[0]
        return self.dropout1(x)

    def _ff_block(self, x):
        return self.dropout2(self.linear2(self.dropout(self.activation(self.linear1(x)))))

    def forward(self, src, src_mask=None, src_key_padding_mask=None, is_causal=False):
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            x = x + self._ff_block(self.norm2(x))
        else:
            x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
            x = self.norm2(x + self._ff_block(x))
        return x


class TransformerEncoder(Module):
    """A stack of ``num_layers`` Transformer encoder layers (Vaswani et al. 2017, "Attention
    Is All You Need"), PyTorch's ``nn.TransformerEncoder(encoder_layer, num_layers,
    norm=None)``: ``layers`` is a ModuleList of deep copies of ``encoder_layer`` (so every
    layer starts from the same weights, as in PyTorch), then the optional final ``norm``:

        x ← layers[i](x, mask, src_key_padding_mask, is_causal)  for i = 0..num_layers−1;
        y = norm(x)

    ``forward(src, mask=None, src_key_padding_mask=None, is_causal=None)``. Backward: the
    chain rule through the layers. Deviation: no nested-tensor fast path
    (``enable_nested_tensor``, ``mask_check`` are accepted and ignored).
    """

    def __init__(self, encoder_layer, num_layers, norm=None, enable_nested_tensor=True,
                 mask_check=True):
        super().__init__()
        if not isinstance(num_layers, int) or num_layers < 0:
            raise ValueError(f"TransformerEncoder: num_layers must be a non-negative integer, "
                             f"got {num_layers!r}")
        self.layers = ModuleList([copy.deepcopy(encoder_layer) for _ in range(num_layers)])
        self.num_layers = num_layers
        self.norm = norm

    def forward(self, src, mask=None, src_key_padding_mask=None, is_causal=None):
        x = src
        for layer in self.layers:
            x = layer(x, src_mask=mask, src_key_padding_mask=src_key_padding_mask,
                      is_causal=bool(is_causal))
        return self.norm(x) if self.norm is not None else x
