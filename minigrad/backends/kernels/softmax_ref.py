"""Softmax-family kernels, plain ``xp`` versions (the oracle of ``softmax_numba`` and
``softmax_cupy``). Every function works on rows: x (M, C), reduced over C.

The max is always subtracted first, so logits of ±1e4 stay finite. A row that is
entirely −inf has no max to subtract: softmax returns NaN for it as PyTorch does (mask
with a large finite negative value such as −1e9 instead).
"""
from minigrad.backends import backend_of_array


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
