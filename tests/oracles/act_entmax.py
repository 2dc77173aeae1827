"""Forward references for the sparse normalizers (sparse_softmax.py) and SA-Softmax
(softmax_variants.py). α-entmax is solved row
by row with a plain bisection on τ in Python floats (200 halvings, then a closed-form
refit of τ on the found support where one exists), independent of the sort-based and
vectorised code of the implementation."""
import math

import numpy as np


def _entmax_line(z, alpha):
    """p_i = [(α−1) z_i − τ]₊^{1/(α−1)} with Σ p = 1: bisection on the decreasing
    f(τ) = Σ p_i(τ) − 1 over [min X − 1, max X]."""
    a1 = alpha - 1.0
    X = [a1 * v for v in z]

    def total(tau):
        return math.fsum(max(v - tau, 0.0) ** (1.0 / a1) for v in X)

    lo, hi = min(X) - 1.0, max(X)          # total(lo) >= 1 >= total(hi) = 0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if total(mid) >= 1.0:
            lo = mid
        else:
            hi = mid
    tau = 0.5 * (lo + hi)
    if alpha == 2.0:                       # sparsemax: τ = (Σ_S X − 1)/|S| on the support
        S = [v for v in X if v > tau]
        tau = (math.fsum(S) - 1.0) / len(S)
    p = [max(v - tau, 0.0) ** (1.0 / a1) for v in X]
    s = math.fsum(p)
    return [v / s for v in p]


def _entmax(x, alpha=1.5, axis=None, n_iter=50, dim=None):
    axis = -1 if axis is None and dim is None else (dim if dim is not None else axis)
    x = np.asarray(x, dtype=float)
    a = np.asarray(alpha, dtype=float)
    if a.ndim:
        a = np.broadcast_to(a.reshape((1,) * (x.ndim - a.ndim) + a.shape),
                            tuple(1 if i == axis % x.ndim else n for i, n in enumerate(x.shape)))
        a = np.moveaxis(a, axis, -1)
    moved = np.moveaxis(x, axis, -1)
    out = np.empty_like(moved)
    for idx in np.ndindex(*moved.shape[:-1]):
        al = float(a[idx][0]) if a.ndim else float(a)
        out[idx] = _entmax_line(list(moved[idx]), al)
    return np.moveaxis(out, -1, axis)


ORACLES = {"entmax": _entmax}


def _sa_softmax(x, axis=None, normalized=False, dim=None):
    """SA-Softmax row by row from the paper's formula with the ``math`` module."""
    axis = -1 if axis is None and dim is None else (dim if dim is not None else axis)
    x = np.asarray(x, dtype=float)
    moved = np.moveaxis(x, axis, -1)
    out = np.empty_like(moved)
    for idx in np.ndindex(*moved.shape[:-1]):
        row = [float(v) for v in moved[idx]]
        m = max(row)
        e = [math.exp(v - m) for v in row]
        tot = math.fsum(e)
        if normalized:
            lo, hi = min(min(row), 0.0), max(0.0, max(row))
            scale = [(v - lo) / (hi - lo) if hi > lo else 0.0 for v in row]
        else:
            scale = row
        out[idx] = [a * b / tot for a, b in zip(scale, e)]
    return np.moveaxis(out, -1, axis)


ORACLES["sa_softmax"] = _sa_softmax
