"""Forward references for the single-paper elementwise activations (A028, A029, A031,
A039, A042) and APA/AGLU (A043, A044): each paper's formula evaluated element by element
with the ``math`` module, written the papers' way (APA as (λe^(−κz) + 1)^(−1/λ), not the
code's log-sigmoid form; SmeLU as the three pieces with (x + β)²/(4β) when g = 0)."""
import math

import numpy as np


def _per_element(x, *params):
    """Yield (index, x value, parameter values) with per-channel parameters (axis 1)."""
    x = np.asarray(x, dtype=float)
    full = []
    for p in params:
        p = np.asarray(p, dtype=float)
        if p.size > 1:
            p = p.reshape((1, p.size) + (1,) * (x.ndim - 2))
        else:
            p = p.reshape(())
        full.append(np.broadcast_to(p, x.shape))
    for idx in np.ndindex(*x.shape):
        yield idx, float(x[idx]), [float(p[idx]) for p in full]


def _map(f):
    def apply(x, *params, **kwargs):
        x = np.asarray(x, dtype=float)
        out = np.empty(x.shape)
        for idx, v, ps in _per_element(x, *params):
            out[idx] = f(v, *ps, **kwargs)
        return out
    return apply


def _smelu(v, beta=2.0, slope=0.0):
    if v >= beta:
        return v
    if v <= -beta:
        return slope * v
    if slope == 0.0:
        return (v + beta) ** 2 / (4 * beta)
    # leaky ReLU of slope g convolved with the uniform density on [−β, β], integrated by
    # hand over s = v − t ∈ [v − β, v + β]: ∫_{v−β}^0 g·s ds + ∫_0^{v+β} s ds, over 2β
    left = -slope * (v - beta) ** 2 / 2
    right = (v + beta) ** 2 / 2
    return (left + right) / (2 * beta)


def _apa(v, lambd=1.0, kappa=1.0):
    lam = max(lambd, 1e-4)
    return (lam * math.exp(-kappa * v) + 1) ** (-1 / lam)


ORACLES = {
    "abs_activation": _map(lambda v: v if v >= 0 else -v),
    "gumbel_activation": _map(lambda v: 1 / math.exp(math.exp(-v)) if v > -700 else 0.0),
    "smelu": _map(_smelu),
    "crrelu": _map(lambda v, eps=0.01: max(v, 0.0) + eps * v * math.exp(-v * v / 2)),
    "helu": _map(lambda v, alpha=0.05: v if v > 0 else 0.0),
    "apa": _map(_apa),
    "aglu": _map(lambda v, lambd=1.0, kappa=1.0: v * _apa(v, lambd, kappa)),
}
