"""Softmax-family kernels, plain ``xp`` versions (the oracle of ``softmax_numba`` and
``softmax_cupy``). Every function works on rows: x (M, C), reduced over C.

The max is always subtracted first, so logits of ±1e4 stay finite. A row that is
entirely −inf has no max to subtract: ``logsumexp`` returns −inf for it (and a zero
gradient), softmax returns NaN as PyTorch does (mask with a large finite negative
value such as −1e9 instead).
"""
from minigrad.backends import backend_of_array


def _row_max(xp, x):
    m = x.max(axis=1, keepdims=True)
    return xp.where(xp.isfinite(m), m, 0)


def softmax_forward(x):
    """s = exp(x − max x)/Σ exp(x − max x) per row."""
    xp = backend_of_array(x).xp
    e = xp.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def softmax_backward(gy, y):
    """dx = s·(gy − Σ_j gy_j s_j): the Jacobian-vector product, no C×C Jacobian."""
    return y * (gy - (gy * y).sum(axis=1, keepdims=True))


def log_softmax_forward(x):
    """log s = (x − m) − log Σ exp(x − m) per row, never log(softmax(x))."""
    xp = backend_of_array(x).xp
    shifted = x - x.max(axis=1, keepdims=True)
    return shifted - xp.log(xp.exp(shifted).sum(axis=1, keepdims=True))


def log_softmax_backward(gy, y):
    """dx = gy − s·Σ_j gy_j with s = exp(log s) from the saved output."""
    xp = backend_of_array(y).xp
    return gy - xp.exp(y) * gy.sum(axis=1, keepdims=True)


def logsumexp_forward(x):
    """LSE per row (M,) = m + log Σ exp(x − m); −inf for a row of −inf."""
    xp = backend_of_array(x).xp
    m = _row_max(xp, x)
    s = xp.exp(x - m).sum(axis=1)
    empty = s == 0  # every entry −inf: log 0 = −inf, without a divide-by-zero warning
    return xp.where(empty, -xp.inf, m[:, 0] + xp.log(xp.where(empty, 1, s))).astype(x.dtype, copy=False)


def logsumexp_backward(g, x, lse):
    """dx = g·softmax(x) = g·exp(x − LSE); zero for rows whose LSE is −inf."""
    xp = backend_of_array(x).xp
    finite = xp.isfinite(lse)
    shift = xp.where(finite, lse, 0)[:, None]
    return xp.where(finite[:, None], g[:, None] * xp.exp(x - shift), 0).astype(x.dtype, copy=False)
