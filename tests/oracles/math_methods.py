"""Forward references for the math, comparison and indexing ops of issue 11 (remainder,
fmod, the rounding family, dist, cdist, gather, index_add, scatter, scatter_add): plain
Python loops and the defining formulas, not the NumPy call the op itself makes."""
import itertools
import math

import numpy as np


def _elementwise(fn):
    def apply(a, b=None, **kw):
        a = np.asarray(a, dtype=float)
        if b is None:
            return np.vectorize(lambda x: fn(x, **kw))(a)
        return np.vectorize(fn)(a, np.asarray(b, dtype=float))
    return apply


def _remainder(a, b):
    return a - b * math.floor(a / b)          # Python's sign convention (sign of b)


def _fmod(a, b):
    return math.fmod(a, b)                    # C's sign convention (sign of a)


def _sign(x):
    return 1.0 if x > 0 else -1.0 if x < 0 else 0.0


def _round(x, decimals=0):
    return float(np.round(x, decimals)) if decimals else float(round(x))  # halves to even


def _pnorm(values, p):
    values = [abs(v) for v in values]
    if p == math.inf:
        return max(values)
    if p == 0:
        return float(sum(v != 0 for v in values))
    return sum(v ** p for v in values) ** (1.0 / p)


def _dist(a, b, p=2):
    a, b = np.broadcast_arrays(a, b)
    return np.array(_pnorm([x - y for x, y in zip(a.ravel(), b.ravel())], p))


def _cdist(x1, x2, p=2.0):
    batch = np.broadcast_shapes(x1.shape[:-2], x2.shape[:-2])
    x1 = np.broadcast_to(x1, batch + x1.shape[-2:])
    x2 = np.broadcast_to(x2, batch + x2.shape[-2:])
    out = np.empty(batch + (x1.shape[-2], x2.shape[-2]))
    for b in itertools.product(*[range(n) for n in batch]):
        for i in range(x1.shape[-2]):
            for j in range(x2.shape[-2]):
                out[b + (i, j)] = _pnorm([u - v for u, v in zip(x1[b + (i,)], x2[b + (j,)])], p)
    return out


def _gather(x, dim, index):
    out = np.empty(index.shape)
    for pos in np.ndindex(*index.shape):
        src = list(pos)
        src[dim] = index[pos]
        out[pos] = x[tuple(src)]
    return out


def _index_add(x, dim, index, source, alpha=1):
    out = np.array(x, dtype=float)
    for pos in np.ndindex(*source.shape):
        dst = list(pos)
        dst[dim] = index[pos[dim]]
        out[tuple(dst)] += alpha * source[pos]
    return out


def _scatter(x, dim, index, src=None, value=None):
    out = np.array(x, dtype=float)
    for pos in np.ndindex(*index.shape):
        dst = list(pos)
        dst[dim] = index[pos]
        out[tuple(dst)] = value if src is None else src[pos]
    return out


def _scatter_add(x, dim, index, src):
    out = np.array(x, dtype=float)
    for pos in np.ndindex(*index.shape):
        dst = list(pos)
        dst[dim] = index[pos]
        out[tuple(dst)] += src[pos]
    return out


ORACLES = {
    "remainder": _elementwise(_remainder), "fmod": _elementwise(_fmod),
    "floor": _elementwise(math.floor), "ceil": _elementwise(math.ceil),
    "trunc": _elementwise(math.trunc), "sign": _elementwise(_sign), "round": _elementwise(_round),
    "dist": _dist, "cdist": _cdist, "gather": _gather, "index_add": _index_add,
    "scatter": _scatter, "scatter_add": _scatter_add,
}
