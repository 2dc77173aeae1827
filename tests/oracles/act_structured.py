"""Forward references for the structured and low-memory activations (maxout, group_sort,
squash, sine, regelu2, resilu2): plain Python loops over index tuples with the ``math``
module, never minigrad's vectorised code."""
import math

import numpy as np


def _lines(x, axis):
    """Every 1-d line of x along ``axis``: (index tuple with None at axis, values list)."""
    x = np.asarray(x, dtype=float)
    axis %= x.ndim
    other = [range(s) for i, s in enumerate(x.shape) if i != axis]
    import itertools
    for rest in itertools.product(*other):
        idx = list(rest)
        idx.insert(axis, slice(None))
        yield tuple(idx), [float(v) for v in x[tuple(idx)]]


def maxout(x, num_pieces, axis=-1, dim=None):
    axis = dim if dim is not None else axis
    x = np.asarray(x, dtype=float)
    axis %= x.ndim
    shape = list(x.shape)
    shape[axis] //= num_pieces
    out = np.empty(shape)
    for idx, line in _lines(x, axis):
        out[idx] = [max(line[i * num_pieces:(i + 1) * num_pieces])
                    for i in range(len(line) // num_pieces)]
    return out


def group_sort(x, group_size=2, axis=1, dim=None):
    axis = dim if dim is not None else axis
    x = np.asarray(x, dtype=float)
    out = np.empty_like(x)
    for idx, line in _lines(x, axis):
        k = len(line) if group_size is None else group_size
        res = []
        for g in range(len(line) // k):
            grp = line[g * k:(g + 1) * k]
            if k == 2:                        # MaxMin written as (min, max)
                res += [min(grp), max(grp)]
            else:
                res += sorted(grp)
        out[idx] = res
    return out


def squash(x, axis=-1, eps=1e-7, dim=None):
    """Eq. 1 of Sabour et al. written with the norm: v = (n²/(1 + n²))·s/√(n² + ε)."""
    axis = dim if dim is not None else axis
    x = np.asarray(x, dtype=float)
    out = np.empty_like(x)
    for idx, line in _lines(x, axis):
        n2 = math.fsum(v * v for v in line)
        out[idx] = [n2 / (1 + n2) * v / math.sqrt(n2 + eps) for v in line]
    return out


def sine(x, w0=30.0):
    w = float(np.asarray(w0).reshape(-1)[0])
    x = np.asarray(x, dtype=float)
    return np.array([math.sin(w * v) for v in x.ravel()]).reshape(x.shape)


def _each(f):
    def apply(x):
        x = np.asarray(x, dtype=float)
        return np.array([f(float(v)) for v in x.ravel()]).reshape(x.shape)
    return apply


ORACLES = {
    "maxout": maxout,
    "group_sort": group_sort,
    "squash": squash,
    "sine": sine,
    "regelu2": _each(lambda v: 0.5 * v * (1 + math.erf(v / math.sqrt(2)))),
    "resilu2": _each(lambda v: v / (1 + math.exp(-v)) if v > -700 else 0.0),
}
