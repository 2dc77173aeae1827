"""Forward references for the paper-learned activations: the monotone activations of the
Constrained Monotonic Neural Networks (A035) and AutoReP's masked DaPa polynomial (A036),
each evaluated element by element with the ``math`` module, written the papers' way
(the saturated activation as its two branches ρ̆(x + 1) − ρ̆(1) and ρ̂(x − 1) + ρ̆(1) with
ρ̂(v) = −ρ̆(−v); the column split as the reference's round-to-even counts)."""
import math

import numpy as np


def _convex(v, activation):
    if activation == "relu":
        return v if v > 0 else 0.0
    return v if v > 0 else math.expm1(v)


def _concave(v, activation):
    return -_convex(-v, activation)


def _saturated(v, activation):
    one = _convex(1.0, activation)
    if v <= 0:
        return _convex(v + 1.0, activation) - one
    return _concave(v - 1.0, activation) + one


def _monotone(x, activation="relu", is_convex=False, is_concave=False,
              activation_weights=(7.0, 7.0, 2.0)):
    x = np.asarray(x, dtype=float)
    units = x.shape[-1]
    if is_convex:
        kinds = ["convex"] * units
    elif is_concave:
        kinds = ["concave"] * units
    else:
        total = sum(activation_weights)
        n1 = round(activation_weights[0] / total * units)
        n2 = round(activation_weights[1] / total * units)
        kinds = ["convex"] * n1 + ["concave"] * n2 + ["saturated"] * (units - n1 - n2)
    f = {"convex": _convex, "concave": _concave, "saturated": _saturated}
    out = np.empty(x.shape)
    for idx in np.ndindex(*x.shape):
        out[idx] = f[kinds[idx[-1]]](float(x[idx]), activation)
    return out


def _dapa(x, coef, mask, mask_weight=None):
    x = np.asarray(x, dtype=float)
    coef = np.asarray(coef, dtype=float)
    out = np.empty(x.shape)
    for idx in np.ndindex(*x.shape):
        v = float(x[idx])
        col = idx[1] if coef.ndim == 2 and coef.shape[1] > 1 else 0
        c0, c1, c2 = (float(coef[k, col]) if coef.ndim == 2 else float(coef[k]) for k in range(3))
        if mask[idx[1:]]:
            out[idx] = max(v, 0.0)
        else:
            out[idx] = c0 + c1 * v + c2 * v ** 2
    return out


ORACLES = {
    "monotone_activation": _monotone,
    "dapa_poly_relu": _dapa,
}
