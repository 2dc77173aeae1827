"""Where the normalization sits around a residual sub-layer (catalog N008):
Post-LN h' = Norm(h + F(h)) (the original Transformer) or Pre-LN h' = h + F(Norm(h))
(PreNorm; add a final Norm before the head). No new parameters: a composition of
existing ops, so the backward is the tape's (the residual add sums the two gradients).

The papers' diagnostics: Pre-LN hidden-state variance grows with depth, Post-LN
gradients vanish in deep stacks; DeepNorm, NormFormer and Peri-LN are separate entries.
"""
from minigrad.layers.module import Module
from minigrad.registry import Case, register

PLACEMENTS = ("pre", "post")


def norm_residual(x, sublayer, norm, placement="pre"):
    """x + sublayer(norm(x)) (``placement='pre'``) or norm(x + sublayer(x)) (``'post'``);
    ``sublayer`` and ``norm`` are callables (Modules or functions of a tensor).

    y = x + f(N(x)) (pre) or y = N(x + f(x)) (post); backward by the chain rule through the
    recorded ops (no Function of its own). ``norm_residual(x, sublayer, norm, placement='pre')``.
    Paper (pre-norm vs post-norm): Xiong et al. 2020, "On Layer Normalization in the
    Transformer Architecture".
    """
    if placement == "pre":
        return x + sublayer(norm(x))
    if placement == "post":
        return norm(x + sublayer(x))
    raise ValueError(f"norm_residual: placement must be one of {PLACEMENTS}, got {placement!r}")


class NormResidual(Module):
    """A residual block around ``sublayer`` with its normalization ``norm`` (e.g.
    ``LayerNorm(d)`` or ``RMSNorm(d)``) placed before it (``'pre'``) or after the
    residual add (``'post'``).

    y = x + f(N(x)) (pre) or y = N(x + f(x)) (post); see ``F.norm_residual``.
    Paper: Xiong et al. 2020, "On Layer Normalization in the Transformer Architecture".
    """

    def __init__(self, sublayer, norm, placement="pre"):
        super().__init__()
        if placement not in PLACEMENTS:
            raise ValueError(f"NormResidual: placement must be one of {PLACEMENTS}, "
                             f"got {placement!r}")
        self.sublayer, self.norm, self.placement = sublayer, norm, placement

    def forward(self, x):
        return norm_residual(x, self.sublayer, self.norm, self.placement)

    def extra_repr(self):
        return f"placement={self.placement!r}"


def _checked(x, w, gain, placement="pre"):
    """The block the checks differentiate: sublayer tanh(h·W), norm a LayerNorm with gain."""
    from minigrad.layers.normalization.layer import layer_norm
    from minigrad.ops.elementwise import tanh
    return norm_residual(x, lambda h: tanh(h @ w), lambda h: layer_norm(h, gain.shape, gain),
                         placement)


register(norm_residual, kind="normalization", catalog_id="N008", module=NormResidual,
         papers=["Transformers without Tears: Improving the Normalization of Self-Attention",
                 "Peri-LN: Revisiting Layer Normalization in the Transformer Architecture"],
         checked_as=_checked,
         inputs=lambda r: [Case(r.standard_normal((3, 4)), r.standard_normal((4, 4)) / 2,
                                r.uniform(0.5, 2.0, (4,)), placement=p) for p in PLACEMENTS])
