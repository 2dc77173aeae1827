"""Forward references for ``minigrad.ops.sorting``: Python's ``sorted`` on each slice (a loop),
``numpy.quantile``, and plain loops for the scans."""
import numpy as np


def _slices(x, dim, fn, out_len):
    """Apply ``fn`` (1-D list -> list of ``out_len`` values) to every slice along ``dim``."""
    moved = np.moveaxis(np.asarray(x), dim, -1)
    out = np.empty(moved.shape[:-1] + (out_len,), dtype=object)
    for idx in np.ndindex(*moved.shape[:-1]):
        out[idx] = fn(list(moved[idx]))
    return np.moveaxis(out, -1, dim)


def _order(values, descending=False):
    return sorted(range(len(values)), key=lambda i: -values[i] if descending else values[i])


def _sorted(x, dim=-1, descending=False):
    n = np.shape(x)[dim]
    idx = _slices(x, dim, lambda v: _order(v, descending), n).astype(np.int64)
    return np.take_along_axis(x, idx, dim), idx


def _topk(x, k, dim=-1, largest=True):
    v, i = _sorted(x, dim, descending=largest)
    return np.take(v, range(k), axis=dim), np.take(i, range(k), axis=dim)


def _kth(x, k, dim=-1, keepdim=False):
    v, i = _sorted(x, dim)
    sel = lambda a: np.take(a, [k - 1], axis=dim) if keepdim else np.take(a, k - 1, axis=dim)  # noqa: E731
    return sel(v), sel(i)


def _median(x, dim=None, keepdim=False):
    if dim is None:
        return np.asarray(sorted(np.ravel(x))[(np.size(x) - 1) // 2])
    return _kth(x, (np.shape(x)[dim] - 1) // 2 + 1, dim, keepdim)


def _scan(x, dim, step):
    def run(v):
        out = [v[0]]
        for a in v[1:]:
            out.append(step(out[-1], a))
        return out
    return _slices(x, dim, run, np.shape(x)[dim]).astype(float)


def _cummax(x, dim):
    def run(v):
        best, out = 0, []
        for i, a in enumerate(v):
            best = i if a >= v[best] else best
            out.append(best)
        return out
    idx = _slices(x, dim, run, np.shape(x)[dim]).astype(np.int64)
    return np.take_along_axis(x, idx, dim), idx


ORACLES = {
    "sort": _sorted,
    "topk": _topk,
    "kthvalue": _kth,
    "median": _median,
    "quantile": lambda x, q, dim=None, keepdim=False, interpolation="linear":
        np.quantile(x, q, axis=dim, keepdims=keepdim, method=interpolation),
    "cumsum": lambda x, dim: _scan(x, dim, lambda s, a: s + a),
    "cumprod": lambda x, dim: _scan(x, dim, lambda s, a: s * a),
    "cummax": _cummax,
}
