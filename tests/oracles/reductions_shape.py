"""Forward references for the reductions and shape ops added for PyTorch's API (prod,
norm, amax, amin, chunk), and for the full-reduction forms of max/min: naive loops
over the reduced entries, independent of the implementations."""
import math

import numpy as np


def _loop(fn, x, dim=None, keepdim=False):
    """Apply a 1-D reduction ``fn`` (a list of floats → a float) along ``dim``."""
    axes = tuple(range(x.ndim)) if dim is None else (dim if isinstance(dim, tuple) else (dim,))
    axes = tuple(a % x.ndim for a in axes)
    rest = [a for a in range(x.ndim) if a not in axes]
    out = np.empty([x.shape[a] for a in rest])
    for idx in np.ndindex(*out.shape):
        values = []
        for full in np.ndindex(*x.shape):
            if all(full[a] == i for a, i in zip(rest, idx)):
                values.append(float(x[full]))
        out[idx] = fn(values)
    if keepdim:
        out = out.reshape([1 if a in axes else x.shape[a] for a in range(x.ndim)])
    return out


def _product(values):
    p = 1.0
    for v in values:
        p *= v
    return p


def _pnorm(p):
    def fn(values):
        if p == math.inf:
            return max(abs(v) for v in values)
        if p == -math.inf:
            return min(abs(v) for v in values)
        if p == 0:
            return float(sum(v != 0 for v in values))
        return math.fsum(abs(v) ** p for v in values) ** (1.0 / p)
    return fn


def _norm(x, p="fro", dim=None, keepdim=False):
    return _loop(_pnorm(2.0 if p == "fro" else float(p)), x, dim, keepdim)


def _amax(x, dim=None, keepdim=False, axis=None, keepdims=False):
    return _loop(max, x, axis if dim is None else dim, keepdim or keepdims)


def _amin(x, dim=None, keepdim=False, axis=None, keepdims=False):
    return _loop(min, x, axis if dim is None else dim, keepdim or keepdims)


def _chunk(x, chunks, dim=0):
    d = dim % x.ndim
    n = x.shape[d]
    size = -(-n // chunks)
    pieces, start = [], 0
    while start < n:
        index = [slice(None)] * x.ndim
        index[d] = slice(start, min(start + size, n))
        pieces.append(x[tuple(index)])
        start += size
    return pieces


ORACLES = {
    "prod": lambda x, dim=None, keepdim=False: _loop(_product, x, dim, keepdim),
    "tensor_norm": _norm,      # minigrad.norm (torch.norm); "norm" is torch.linalg.norm's
    "amax": _amax,
    "amin": _amin,
    "chunk": _chunk,
}
