"""Indexing kernels for the CPU: ``numpy.add.at`` is slow, a Numba loop is not."""
import math

import numba
import numpy

from minigrad.backends.kernels import indexing_ref


@numba.njit(cache=True)
def _scatter_add_rows(out, index, rows):
    """out[index[i], :] += rows[i, :] for every i (out 2-D, index 1-D, rows 2-D)."""
    n_rows = out.shape[0]
    for i in range(index.shape[0]):
        r = index[i]
        if r < 0:
            r += n_rows
        for j in range(rows.shape[1]):
            out[r, j] += rows[i, j]


def scatter_add(shape, dtype, index, values):
    """Same as ``indexing_ref.scatter_add``; a Numba loop when ``index`` is one
    integer array indexing the first axis (embedding rows, getitem, gather rows)."""
    if (isinstance(index, numpy.ndarray) and index.dtype.kind in "iu" and len(shape) >= 1
            and values.shape == index.shape + tuple(shape[1:])):
        out = numpy.zeros(shape, dtype=dtype)
        width = math.prod(shape[1:])            # not −1: an empty index has no rows to infer from
        rows = numpy.ascontiguousarray(values.reshape(index.size, width))
        _scatter_add_rows(out.reshape(shape[0], width), index.reshape(-1), rows)
        return out
    return indexing_ref.scatter_add(shape, dtype, index, values)
