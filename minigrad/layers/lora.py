"""LoRA: low-rank adaptation of a frozen linear layer (catalog B015)."""
import math

from minigrad.autograd import no_grad
from minigrad.backends import current
from minigrad.layers import init
from minigrad.layers.linear import Linear, linear
from minigrad.layers.module import Module, Parameter
from minigrad.ops.random import dropout
from minigrad.registry import Case, register

__all__ = ["LoRALinear"]  # Modules; functions: minigrad.functional


def lora_linear(x, weight, lora_A, lora_B, bias=None, alpha=None):
    """h = x W₀ᵀ + b + (α/r) · (x Aᵀ) Bᵀ (Hu et al. 2021, "LoRA"), with W₀ (out, in),
    A (r, in), B (out, r); ``alpha=None`` means α = r (scaling 1).

    The low-rank path is applied as two thin products (never forming BA), so the backward is
    the exact derivative through ``linear``: dB = (α/r) Σ dh (Ax)ᵀ, dA = (α/r) Σ Bᵀ dh xᵀ,
    dx = W₀ᵀ dh + (α/r) Aᵀ Bᵀ dh. With B = 0 (the init) dA = 0: only B moves at step 0.

    Paper: Hu et al. 2022, "LoRA: Low-Rank Adaptation of Large Language Models" (arXiv 2021).
    """
    r = lora_A.shape[0]
    if lora_B.shape[1] != r or lora_A.shape[1] != weight.shape[1] or lora_B.shape[0] != weight.shape[0]:
        raise ValueError(f"lora_linear: A {lora_A.shape} and B {lora_B.shape} do not fit a weight "
                         f"of shape {weight.shape} (A: (r, in), B: (out, r))")
    scaling = 1.0 if alpha is None else alpha / r
    low = linear(linear(x, lora_A), lora_B)
    return linear(x, weight, bias) + (low * scaling if scaling != 1.0 else low)


class LoRALinear(Module):
    """``LoRALinear(in_features, out_features, r=8, alpha=None, bias=True, dropout=0.0)``:
    a ``Linear`` whose ``weight`` (and ``bias``) are frozen, plus trainable ``lora_A`` (r, in),
    Kaiming-uniform(a=√5) as in peft, and ``lora_B`` (out, r) = 0, so the layer starts equal
    to the base layer. ``dropout`` applies to the input of the low-rank path only.
    ``merge()`` folds W = W₀ + (α/r) B A into the weight (for inference), ``unmerge()``
    subtracts it again. ``LoRALinear.from_linear(linear, r, alpha)`` wraps an existing layer.

    y = x W₀ᵀ + b + (α/r)·dropout(x) Aᵀ Bᵀ (see ``F.lora_linear``).
    Paper: Hu et al. 2022, "LoRA: Low-Rank Adaptation of Large Language Models".
    """

    def __init__(self, in_features, out_features, r=8, alpha=None, bias=True, dropout=0.0,
                 dtype="float32", generator=None):
        super().__init__()
        if r <= 0:
            raise ValueError(f"LoRALinear: rank r must be positive, got {r}")
        base = Linear(in_features, out_features, bias=bias, dtype=dtype, generator=generator)
        self._adopt(base, r, alpha, dropout, dtype, generator)

    def _adopt(self, base, r, alpha, dropout_p, dtype, generator):
        self.in_features, self.out_features = base.in_features, base.out_features
        self.r, self.alpha, self.dropout = r, (r if alpha is None else alpha), dropout_p
        self.scaling = self.alpha / r
        self.weight = base.weight.requires_grad_(False)
        self.register_parameter("bias", base.bias.requires_grad_(False)
                                if base.bias is not None else None)
        xp = current().xp
        self.lora_A = Parameter(xp.empty((r, self.in_features), dtype=dtype))
        self.lora_B = Parameter(xp.zeros((self.out_features, r), dtype=dtype))
        init.kaiming_uniform_(self.lora_A, a=math.sqrt(5), generator=generator)
        self.merged = False

    @classmethod
    def from_linear(cls, layer, r=8, alpha=None, dropout=0.0, generator=None):
        """Wrap ``layer`` (a ``Linear``): its parameters become the frozen base."""
        self = cls.__new__(cls)
        Module.__init__(self)
        self._adopt(layer, r, alpha, dropout, layer.weight.dtype, generator)
        return self

    def delta_weight(self):
        """(α/r) B A, the update the adapter adds to the weight."""
        return (self.lora_B.data @ self.lora_A.data) * self.scaling

    def merge(self):
        """W ← W₀ + (α/r) B A; forward then uses the merged weight alone."""
        if not self.merged:
            with no_grad():
                self.weight.data += self.delta_weight().astype(self.weight.dtype)
                self.weight._version += 1
            self.merged = True
        return self

    def unmerge(self):
        """Undo ``merge``: W ← W - (α/r) B A."""
        if self.merged:
            with no_grad():
                self.weight.data -= self.delta_weight().astype(self.weight.dtype)
                self.weight._version += 1
            self.merged = False
        return self

    def forward(self, x):
        if self.merged:
            return linear(x, self.weight, self.bias)
        xa = dropout(x, self.dropout, self.training) if self.dropout else x
        low = linear(linear(xa, self.lora_A), self.lora_B)
        return linear(x, self.weight, self.bias) + low * self.scaling

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, r={self.r}, "
                f"alpha={self.alpha}, merged={self.merged}")


register(lora_linear, kind="layer", catalog_id="B015", module=LoRALinear,
         papers=["Computational Limits of Low-Rank Adaptation (LoRA) for Transformer-Based Models",
                 "One Initialization to Rule them All: Fine-tuning via Explained Variance Adaptation",
                 "Kernelized Sparse Fine-Tuning with Bi-level Parameter Competition for Vision Models"],
         inputs=lambda r: [Case(r.standard_normal((3, 4)), r.standard_normal((5, 4)),
                                r.standard_normal((2, 4)), r.standard_normal((5, 2)),
                                r.standard_normal(5), alpha=4.0),
                           Case(r.standard_normal((2, 3, 4)), r.standard_normal((3, 4)),
                                r.standard_normal((1, 4)), r.standard_normal((3, 1)))])
