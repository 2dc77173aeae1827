"""Numba-jitted CPU kernels. Each mirrors a plain ``xp`` function in ``reference.py``.

Imported only when a kernel is first needed; every function compiles on first call
and is cached on disk.
"""
import numba


@numba.njit(cache=True)
def scatter_add_rows(out, index, rows):
    """out[index[i], :] += rows[i, :] for every i (out is 2-D, index 1-D, rows 2-D)."""
    n_rows = out.shape[0]
    for i in range(index.shape[0]):
        r = index[i]
        if r < 0:
            r += n_rows
        for j in range(rows.shape[1]):
            out[r, j] += rows[i, j]
