"""Squeeze-and-Excitation (catalog B014)."""
from minigrad.layers.linear import linear
from minigrad.layers.module import Module
from minigrad.ops.elementwise import maximum, sigmoid
from minigrad.ops.reductions import mean
from minigrad.ops.shape import reshape
from minigrad.registry import Case, register

__all__ = ["SqueezeExcite"]


def _as_matrix(w):
    """A 1×1 conv weight (out, in, 1, 1) as the (out, in) matrix it applies."""
    return reshape(w, (w.shape[0], w.shape[1])) if w.ndim == 4 else w


def squeeze_excite(x, reduce_weight, reduce_bias, expand_weight, expand_bias, gate_scale=1.0):
    """Squeeze-and-Excitation (Hu et al. 2018; timm ``SqueezeExcite``; NFNet uses
    ``gate_scale=2``) on x (N, C, H, W):

        z = GAP(x) = mean_{H,W} x,   s = σ(W₂ ReLU(W₁ z + b₁) + b₂),   y = gate_scale · x ⊙ s

    with W₁ (rd, C) and W₂ (C, rd), given as matrices or as 1×1 conv weights (rd, C, 1, 1).
    Backward (exact, through the registered ops): ds = gate_scale Σ_{H,W} dy ⊙ x, then the
    sigmoid, ReLU and linear backwards down to dz, and dx = gate_scale dy ⊙ s + dz/(H·W)
    broadcast over H, W (the GAP backward).

    Paper: Hu, Shen & Sun 2018, "Squeeze-and-Excitation Networks".
    """
    if x.ndim != 4:
        raise ValueError(f"squeeze_excite: expected x of shape (N, C, H, W), got {x.shape}")
    n, c = x.shape[:2]
    z = mean(x, axis=(2, 3))
    h = maximum(linear(z, _as_matrix(reduce_weight), reduce_bias), 0.0)
    s = sigmoid(linear(h, _as_matrix(expand_weight), expand_bias))
    if gate_scale != 1.0:
        s = s * gate_scale
    return x * reshape(s, (n, c, 1, 1))


class SqueezeExcite(Module):
    """``SqueezeExcite(channels, rd_ratio=0.25, rd_channels=None, gate_scale=1.0)``: 1×1 convs
    ``conv_reduce`` (C → rd, rd = rd_channels or round(C · rd_ratio)) and ``conv_expand``
    (rd → C), both with bias, as timm names them.

    y = gate_scale·x ⊙ σ(W₂ ReLU(W₁ GAP(x) + b₁) + b₂) (see ``F.squeeze_excite``).
    Paper: Hu, Shen & Sun 2018, "Squeeze-and-Excitation Networks".
    """

    def __init__(self, channels, rd_ratio=0.25, rd_channels=None, gate_scale=1.0):
        super().__init__()
        from minigrad.layers.conv import Conv2d
        rd = rd_channels if rd_channels is not None else max(1, int(round(channels * rd_ratio)))
        self.channels, self.rd_channels, self.gate_scale = channels, rd, gate_scale
        self.conv_reduce = Conv2d(channels, rd, 1, bias=True)
        self.conv_expand = Conv2d(rd, channels, 1, bias=True)

    def forward(self, x):
        return squeeze_excite(x, self.conv_reduce.weight, self.conv_reduce.bias,
                              self.conv_expand.weight, self.conv_expand.bias, self.gate_scale)

    def extra_repr(self):
        return f"{self.channels}, rd_channels={self.rd_channels}, gate_scale={self.gate_scale}"


register(squeeze_excite, kind="layer", catalog_id="B014", module=SqueezeExcite,
         papers=["LSNet: See Large, Focus Small",
                 "High-Performance Large-Scale Image Recognition Without Normalization"],
         inputs=lambda r: [Case(r.standard_normal((2, 4, 3, 3)), r.standard_normal((2, 4, 1, 1)),
                                r.standard_normal(2), r.standard_normal((4, 2, 1, 1)),
                                r.standard_normal(4)),
                           Case(r.standard_normal((2, 3, 2, 2)), r.standard_normal((2, 3)),
                                r.standard_normal(2), r.standard_normal((3, 2)),
                                r.standard_normal(3), gate_scale=2.0)])
