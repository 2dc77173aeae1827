"""Parameter penalties added to a loss: the coupled L2 penalty (weight decay as a loss
term) and the L1 penalty, plus the L1 proximal step that actually produces zeros."""
from minigrad.autograd import no_grad
from minigrad.layers.losses._common import LossModule, xp_of
from minigrad.layers.module import Module
from minigrad.ops.elementwise import abs as tabs
from minigrad.registry import Case, register
from minigrad.tensor import Tensor

__all__ = ["l2_penalty", "l1_penalty", "soft_threshold_", "L2Penalty", "L1Penalty"]


def _tensors(op, parameters):
    if isinstance(parameters, Tensor):
        return [parameters]
    if isinstance(parameters, Module):
        return list(parameters.parameters())
    found = list(parameters)
    if not found:
        raise ValueError(f"{op}: no tensors given")
    return found


def _total(terms):
    total = terms[0]
    for t in terms[1:]:
        total = total + t
    return total


def l2_penalty(parameters, lam=1.0):
    """Coupled L2 penalty R = (λ/2)·Σ‖θ‖² over ``parameters`` (a tensor, an iterable of
    tensors or a Module); ∂R/∂θ = λθ. This is weight decay added to the loss (so adaptive
    optimisers rescale it); the decoupled form θ ← θ − ηλθ belongs to the optimiser (AdamW).
    ``L2Penalty`` skips biases and normalisation gains (1-D parameters) by default.

    Paper: Hoerl & Kennard 1970, "Ridge Regression: Biased Estimation for Nonorthogonal
    Problems".
    """
    return _total([(t * t).sum() for t in _tensors("l2_penalty", parameters)]) * (0.5 * lam)


def l1_penalty(parameters, lam=1.0):
    """L1 penalty R = λ·Σ|θ|; subgradient λ·sign(θ) (0 at 0). Plain (sub)gradient steps never
    land exactly on 0 ("GD doesn't make the cut"); use ``soft_threshold_`` (the proximal
    step) after the optimiser step when sparsity is wanted.

    Paper: Tibshirani 1996, "Regression Shrinkage and Selection via the Lasso".
    """
    return _total([tabs(t).sum() for t in _tensors("l1_penalty", parameters)]) * lam


def soft_threshold_(parameters, threshold):
    """Proximal step of t·|θ|: θ ← sign(θ)·max(|θ| − t, 0), in place (t = lr·λ).

    No gradient (outside the tape). Paper: Donoho 1995, "De-noising by soft-thresholding".
    """
    with no_grad():
        for p in _tensors("soft_threshold_", parameters):
            xp = xp_of(p)
            p.data[...] = xp.sign(p.data) * xp.maximum(xp.abs(p.data) - threshold, 0)
            p._version += 1


class _Penalty(LossModule):
    _fn = None

    def __init__(self, lam=1.0, skip_1d=True):
        super().__init__("sum")
        self.lam, self.skip_1d = lam, skip_1d

    def forward(self, parameters):
        ts = _tensors(type(self).__name__, parameters)
        if self.skip_1d:
            ts = [t for t in ts if t.ndim >= 2]
        if not ts:
            return Tensor(0.0)
        return type(self)._fn(ts, self.lam)


class L2Penalty(_Penalty):
    """(λ/2)Σ‖θ‖² over a module's weights; 1-D parameters (biases, norm gains) skipped by default."""
    _fn = staticmethod(l2_penalty)


class L1Penalty(_Penalty):
    """λΣ|θ| over a module's weights; 1-D parameters skipped by default."""
    _fn = staticmethod(l1_penalty)


def _register_all():
    n = lambda r, *s: r.standard_normal(s)  # noqa: E731

    def away_from_zero(r, *shape):
        return n(r, *shape) + 0.1 * r.choice([-1, 1], shape)

    register(l2_penalty, kind="loss", catalog_id="L056", module=L2Penalty,
             papers=["Parallel Deep Neural Networks Have Zero Duality Gap",
                     "GD doesn't make the cut: Three ways that non-differentiability affects neural "
                     "network training",
                     "Robust Layerwise Scaling Rules by Proper Weight Decay Tuning",
                     "Large Batch Optimization for Deep Learning: Training BERT in 76 minutes"],
             inputs=lambda r: [Case([n(r, 3, 4), n(r, 4)], lam=0.1), Case(n(r, 2, 3))])
    register(l1_penalty, kind="loss", catalog_id="L057", module=L1Penalty,
             papers=["GD doesn't make the cut: Three ways that non-differentiability affects neural "
                     "network training"],
             inputs=lambda r: [Case([away_from_zero(r, 3, 4), away_from_zero(r, 4)], lam=0.1),
                               Case(away_from_zero(r, 2, 3))])


_register_all()
