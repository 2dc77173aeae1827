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
    ((4, 3, 1, 19), (1, 3), (1, 2), ((0, 0), (1, 1)), (1, 1)),   # conv1d, strided (MNIST-1D)
    ((2, 2, 1, 5), (1, 5), (1, 2), ((0, 0), (4, 3)), (1, 2)),    # conv1d, padding > input
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


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("geometry", GEOMETRIES, ids=_gid)
def test_im2col_and_col2im_write_into_out(backend, geometry, dtype, rng):
    """With ``out`` (the convolution's reused block buffer) every entry is overwritten:
    a buffer full of garbage gives the same result as a fresh one."""
    fast, ref, b = _kernels(backend, "conv")
    shape, k, s, p, d = geometry
    x = b.asarray(rng.standard_normal(shape).astype(dtype))
    expected = ref.im2col(x, k, s, p, d)
    for kernels in (fast, ref):
        out = b.asarray(np.full(expected.shape, np.nan, dtype))
        assert kernels.im2col(x, k, s, p, d, out=out) is out
        _close(out, expected, dtype, exact=True)
    g = b.asarray(rng.standard_normal(expected.shape).astype(dtype))
    expected = ref.col2im(g, shape, s, p, d)
    for kernels in (fast, ref):
        out = b.asarray(np.full(shape, np.nan, dtype))
        assert kernels.col2im(g, shape, s, p, d, out=out) is out
        _close(out, expected, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", ["3x3-same", "strided-dilated-groups", "conv1d"])
def test_convolution_in_blocks_equals_one_block(backend, case, dtype, rng, monkeypatch):
    """The convolution unfolds ``BATCH_BLOCK_BYTES`` of columns at a time (uneven last
    block included) and recomputes them in the backward: the same outputs and gradients
    as unfolding the whole batch at once."""
    import minigrad as mg
    import minigrad.functional as F
    fast, _, b = _kernels(backend, "conv")
    shapes = {"3x3-same": ((7, 4, 6, 5), (6, 4, 3, 3), dict(padding=1)),
              "strided-dilated-groups": ((5, 4, 9, 8), (6, 2, 3, 2),
                                         dict(stride=(2, 1), padding=(1, 2), dilation=(1, 2),
                                              groups=2)),
              "conv1d": ((9, 3, 11), (4, 3, 3), dict(stride=2, padding=1))}
    x_shape, w_shape, kwargs = shapes[case]
    conv = F.conv2d if len(x_shape) == 4 else F.conv1d
    arrays = [rng.standard_normal(s).astype(dtype) for s in (x_shape, w_shape, w_shape[:1])]
    results = []
    for limit in (None, 1):                     # one block; one sample per block
        monkeypatch.setattr(fast, "BATCH_BLOCK_BYTES", limit)
        x, w, bias = (mg.tensor(a, requires_grad=True) for a in arrays)
        y = conv(x, w, bias, **kwargs)
        (y * mg.tensor(np.linspace(-1, 1, y.numel()).reshape(y.shape).astype(dtype))).sum().backward()
        results.append([_host(t.data) for t in (y, x.grad, w.grad, bias.grad)])
    for got, expected in zip(*results):
        _close(got, expected, dtype)


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


# kernel = stride, no padding, no dilation: the windows tile x (the Numba fast path)
TILE_GEOMETRIES = [
    ((2, 3, 8, 8), (2, 2), (2, 2), ((0, 0), (0, 0)), (1, 1)),
    ((2, 2, 7, 9), (2, 2), (2, 2), ((0, 0), (0, 0)), (1, 1)),   # odd sizes: last row/col unread
    ((1, 2, 9, 10), (3, 3), (3, 3), ((0, 0), (0, 0)), (1, 1)),
    ((2, 2, 6, 9), (2, 3), (2, 3), ((0, 0), (0, 0)), (1, 1)),
    ((2, 3, 1, 11), (1, 3), (1, 3), ((0, 0), (0, 0)), (1, 1)),   # max_pool1d
    ((1, 2, 5, 5), (1, 1), (1, 1), ((0, 0), (0, 0)), (1, 1)),
]


@pytest.mark.parametrize("ties", [False, True], ids=["distinct", "ties"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("geometry", TILE_GEOMETRIES, ids=_gid)
def test_max_pool_tiles_match_reference(backend, geometry, dtype, ties, rng):
    test_max_pool_matches_reference(backend, geometry, dtype, ties, rng)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kernel", [(2, 2), (3, 2)])
def test_max_pool_tiles_nan_and_infinite_windows(backend, kernel, dtype):
    """The fast path keeps the reference's rules: the last NaN of a window wins, a window
    of −∞ only gives −∞ and index −1 (no gradient), ties go to the first maximum."""
    fast, ref, b = _kernels(backend, "pool")
    kh, kw = kernel
    x = np.zeros((1, 2, 2 * kh, 2 * kw), dtype)
    x[0, 0, :kh, :kw] = [[1.0] + [np.nan] * (kw - 1)] + [[np.nan] + [0.0] * (kw - 1)] * (kh - 1)
    x[0, 0, :kh, kw:] = -np.inf
    x[0, 0, kh:, :kw] = -np.inf
    x[0, 0, kh, 1] = np.inf
    x[0, 1] = 5.0                                       # every window a tie
    args = (kernel, kernel, ((0, 0), (0, 0)), (1, 1))
    y, idx = (_host(a) for a in fast.max_pool2d(b.asarray(x), *args))
    y_ref, idx_ref = (_host(a) for a in ref.max_pool2d(b.asarray(x), *args))
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_array_equal(idx, idx_ref)
    assert np.isnan(y[0, 0, 0, 0]) and idx[0, 0, 0, 0] == (kh - 1) * x.shape[3]
    assert y[0, 0, 0, 1] == -np.inf and idx[0, 0, 0, 1] == -1
    assert y[0, 0, 1, 0] == np.inf and idx[0, 0, 1, 0] == kh * x.shape[3] + 1
    assert np.all(idx[0, 1] == [[0, kw], [kh * x.shape[3], kh * x.shape[3] + kw]])


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
