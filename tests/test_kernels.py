"""Every fast kernel equals its plain ``xp`` twin (``<family>_ref.py``): the Numba
kernels on the numpy backend, the CuPy kernels on the cupy backend (skipped without a
GPU). The backend's ``kernels(family)`` is what the ops call, so that is what is tested."""
import numpy as np
import pytest

from minigrad.backends import get_backend
from minigrad.backends.kernels import load

# (x shape, kernel, stride, ((top, bottom), (left, right)), dilation)
GEOMETRIES = [
    ((2, 3, 7, 6), (3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1)),
    ((2, 2, 9, 8), (3, 2), (2, 3), ((2, 1), (0, 2)), (1, 2)),
    ((1, 4, 6, 6), (2, 2), (2, 2), ((0, 1), (0, 1)), (1, 1)),
    ((3, 2, 5, 7), (1, 1), (1, 1), ((0, 0), (0, 0)), (1, 1)),
    ((2, 3, 1, 11), (1, 4), (1, 3), ((0, 0), (3, 0)), (1, 2)),   # conv1d as H = 1, causal
    ((1, 2, 8, 8), (3, 3), (3, 1), ((1, 0), (2, 2)), (2, 3)),
    ((2, 5, 4, 3), (4, 3), (1, 1), ((0, 0), (0, 0)), (1, 1)),    # kernel = the whole input
]
POOL_GEOMETRIES = [g for g in GEOMETRIES
                   if all(2 * max(p) <= d * (k - 1) + 1 for p, k, d in zip(g[3], g[1], g[4]))]
DTYPES = ["float32", "float64"]


def _gid(g):
    return "x{}-k{}-s{}-p{}-d{}".format(*["x".join(map(str, v)) if isinstance(v[0], int)
                                          else str(v).replace(" ", "") for v in g])


def _tol(dtype):
    return dict(rtol=1e-5, atol=1e-5) if dtype == "float32" else dict(rtol=1e-12, atol=1e-12)


def _kernels(backend, family):
    """(fast kernels of this backend, the reference kernels, the backend module)."""
    b = get_backend(backend)
    return b.kernels(family), load(family, "ref"), b


def _close(got, expected, dtype, exact=False):
    got, expected = np.asarray(_host(got)), np.asarray(_host(expected))
    assert got.dtype == expected.dtype, f"dtype {got.dtype} != {expected.dtype}"
    assert got.shape == expected.shape, f"shape {got.shape} != {expected.shape}"
    if exact:
        np.testing.assert_array_equal(got, expected)
    else:
        np.testing.assert_allclose(got, expected, **_tol(dtype))


def _host(a):
    return a.get() if hasattr(a, "get") else a


# ------------------------------------------------------------------ conv: im2col / col2im
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("geometry", GEOMETRIES, ids=_gid)
def test_im2col_and_col2im_match_reference(backend, geometry, dtype, rng):
    fast, ref, b = _kernels(backend, "conv")
    shape, k, s, p, d = geometry
    x = b.asarray(rng.standard_normal(shape).astype(dtype))
    cols = fast.im2col(x, k, s, p, d)
    _close(cols, ref.im2col(x, k, s, p, d), dtype, exact=True)
    g = b.asarray(rng.standard_normal(cols.shape).astype(dtype))
    _close(fast.col2im(g, shape, s, p, d), ref.col2im(g, shape, s, p, d), dtype)


@pytest.mark.parametrize("geometry", GEOMETRIES, ids=_gid)
def test_col2im_is_the_adjoint_of_im2col(backend, geometry, rng):
    """<im2col(x), c> = <x, col2im(c)> for random x and c."""
    fast, _, b = _kernels(backend, "conv")
    shape, k, s, p, d = geometry
    x = rng.standard_normal(shape)
    cols = _host(fast.im2col(b.asarray(x), k, s, p, d))
    c = rng.standard_normal(cols.shape)
    back = _host(fast.col2im(b.asarray(c), shape, s, p, d))
    assert np.isclose((cols * c).sum(), (x * back).sum(), rtol=1e-12)


def test_col2im_reaches_past_the_input_like_a_transposed_conv(backend, rng):
    """Transposed convolutions fold onto an output whose last windows overhang it."""
    fast, ref, b = _kernels(backend, "conv")
    c = b.asarray(rng.standard_normal((2, 3, 3, 3, 4, 4)))
    shape, pads = (2, 3, 8, 9), ((1, 2), (1, 3))
    _close(fast.col2im(c, shape, (2, 2), pads, (1, 1)),
           ref.col2im(c, shape, (2, 2), pads, (1, 1)), "float64")


def test_im2col_accepts_non_contiguous_input(backend, rng):
    fast, ref, b = _kernels(backend, "conv")
    x = b.asarray(rng.standard_normal((3, 5, 6, 4))).transpose(1, 0, 3, 2)[:, :, ::2]
    args = ((2, 2), (1, 1), ((1, 0), (0, 1)), (1, 1))
    _close(fast.im2col(x, *args), ref.im2col(x, *args), "float64", exact=True)


# ------------------------------------------------------------------ pooling
def _pool_input(rng, b, shape, dtype, ties):
    """Random values, or small integers when ``ties`` (so windows hold equal maxima)."""
    x = rng.integers(-3, 4, shape) if ties else rng.standard_normal(shape)
    return b.asarray(x.astype(dtype))


@pytest.mark.parametrize("ties", [False, True], ids=["distinct", "ties"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("geometry", POOL_GEOMETRIES, ids=_gid)
def test_max_pool_matches_reference(backend, geometry, dtype, ties, rng):
    fast, ref, b = _kernels(backend, "pool")
    shape, k, s, p, d = geometry
    x = _pool_input(rng, b, shape, dtype, ties)
    y, idx = fast.max_pool2d(x, k, s, p, d)
    y_ref, idx_ref = ref.max_pool2d(x, k, s, p, d)
    _close(y, y_ref, dtype, exact=True)
    _close(idx, idx_ref, dtype, exact=True)          # same argmax, ties included
    gy = b.asarray(rng.standard_normal(y.shape).astype(dtype))
    _close(fast.max_pool2d_backward(gy, idx, shape), ref.max_pool2d_backward(gy, idx, shape),
           dtype)


def test_max_pool_nan_and_empty_windows(backend):
    """A NaN wins its window; a window that holds only padding gives −∞ and index −1."""
    fast, ref, b = _kernels(backend, "pool")
    x = np.arange(16, dtype="float64").reshape(1, 1, 4, 4)
    x[0, 0, 1, 1] = np.nan
    args = ((2, 2), (2, 2), ((0, 0), (0, 2)), (1, 1))  # the last column of windows is padding
    y, idx = (_host(a) for a in fast.max_pool2d(b.asarray(x), *args))
    y_ref, idx_ref = (_host(a) for a in ref.max_pool2d(b.asarray(x), *args))
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_array_equal(idx, idx_ref)
    assert np.isnan(y[0, 0, 0, 0]) and idx[0, 0, 0, 0] == 5
    assert np.all(y[0, 0, :, 2] == -np.inf) and np.all(idx[0, 0, :, 2] == -1)
    gx = _host(fast.max_pool2d_backward(b.asarray(np.ones(y.shape)), b.asarray(idx), x.shape))
    assert gx.sum() == 4 and gx[0, 0, 1, 1] == 1


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("geometry", POOL_GEOMETRIES, ids=_gid)
def test_sum_pool_matches_reference(backend, geometry, dtype, rng):
    fast, ref, b = _kernels(backend, "pool")
    shape, k, s, p, d = geometry
    x = b.asarray(rng.standard_normal(shape).astype(dtype))
    y = fast.sum_pool2d(x, k, s, p, d)
    _close(y, ref.sum_pool2d(x, k, s, p, d), dtype)
    gy = b.asarray(rng.standard_normal(y.shape).astype(dtype))
    _close(fast.sum_pool2d_backward(gy, shape, k, s, p, d),
           ref.sum_pool2d_backward(gy, shape, k, s, p, d), dtype)


# ------------------------------------------------------------------ indexing
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", ["rows", "rows-negative", "rows-2d-index", "tuple-index"])
def test_scatter_add_matches_reference(backend, case, dtype, rng):
    fast, ref, b = _kernels(backend, "indexing")
    shape = (6, 3, 2)
    if case == "rows":                       # repeated rows must add up
        index = rng.integers(0, 6, 20)
    elif case == "rows-negative":
        index = rng.integers(-6, 6, 15)
    elif case == "rows-2d-index":
        index = rng.integers(0, 6, (4, 5))
    else:                                    # not the Numba fast path: falls back to the reference
        index = (rng.integers(0, 6, 9), rng.integers(0, 3, 9))
    value_shape = (index[0].shape + shape[2:]) if isinstance(index, tuple) else index.shape + shape[1:]
    values = b.asarray(rng.standard_normal(value_shape).astype(dtype))
    index = tuple(b.asarray(i) for i in index) if isinstance(index, tuple) else b.asarray(index)
    _close(fast.scatter_add(shape, dtype, index, values), ref.scatter_add(shape, dtype, index, values),
           dtype)
