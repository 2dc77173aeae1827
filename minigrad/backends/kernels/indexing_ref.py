"""Indexing kernels, plain ``xp`` versions."""
from minigrad.backends import backend_of_array


def scatter_add(shape, dtype, index, values):
    """zeros(shape) with ``values`` added at ``index`` (repeated indices add up).

    This is the backward of ``x[index]``: every element read by the forward sends
    its gradient back to where it was read from.
    """
    xp = backend_of_array(values).xp
    out = xp.zeros(shape, dtype=dtype)
    xp.add.at(out, index, values)
    return out
