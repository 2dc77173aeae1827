"""The fused normalization, softmax and activation kernels equal their plain ``xp`` twins
(``norm_ref``, ``softmax_ref``, ``activation_ref``): the Numba versions on the numpy
backend, the CuPy versions on the cupy backend (skipped without a GPU), in float32 and
float64. ``backend.kernels(family)`` is what the ops call, so that is what is tested."""
import numpy as np
import pytest

from minigrad.backends import get_backend
from minigrad.backends.kernels import load

DTYPES = ["float32", "float64"]


def _tol(dtype):
    return dict(rtol=2e-5, atol=2e-5) if dtype == "float32" else dict(rtol=1e-11, atol=1e-12)


def _host(a):
    return a.get() if hasattr(a, "get") else np.asarray(a)


def _close(got, expected, dtype):
    if expected is None:
        assert got is None
        return
    got, expected = _host(got), _host(expected)
    assert got.dtype == expected.dtype == np.dtype(dtype), f"dtype {got.dtype} vs {expected.dtype}"
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, **_tol(dtype))


def _setup(backend, family):
    b = get_backend(backend)
    return b.kernels(family), load(family, "ref"), b


def _arr(b, rng, shape, dtype, scale=1.0, shift=0.0):
    return b.asarray((rng.standard_normal(shape) * scale + shift).astype(dtype))


# ------------------------------------------------------------------------ norm family
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(4, 7), (1, 16), (33, 5)])
@pytest.mark.parametrize("affine", [True, False])
def test_layer_norm_kernels(backend, dtype, shape, affine, rng):
    fast, ref, b = _setup(backend, "norm")
    x = _arr(b, rng, shape, dtype, 3.0, 1.0)
    gy = _arr(b, rng, shape, dtype)
    w = _arr(b, rng, shape[1:], dtype) if affine else None
    bias = _arr(b, rng, shape[1:], dtype) if affine else None
    got, want = fast.layer_norm_forward(x, w, bias, 1e-5), ref.layer_norm_forward(x, w, bias, 1e-5)
    for g, e in zip(got, want):
        _close(g, e, dtype)
    _, mean, rstd = want
    for g, e in zip(fast.layer_norm_backward(gy, x, mean, rstd, w),
                    ref.layer_norm_backward(gy, x, mean, rstd, w)):
        _close(g, e, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(8, 3, 1), (4, 5, 6), (2, 3, 64)])
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_kernels(backend, dtype, shape, affine, rng):
    fast, ref, b = _setup(backend, "norm")
    x = _arr(b, rng, shape, dtype, 2.0, -1.0)
    gy = _arr(b, rng, shape, dtype)
    w = _arr(b, rng, shape[1:2], dtype) if affine else None
    bias = _arr(b, rng, shape[1:2], dtype) if affine else None
    got, want = fast.batch_norm_forward(x, w, bias, 1e-5), ref.batch_norm_forward(x, w, bias, 1e-5)
    for g, e in zip(got, want):
        _close(g, e, dtype)
    _, mean, _, rstd = want
    for g, e in zip(fast.batch_norm_backward(gy, x, mean, rstd, w),
                    ref.batch_norm_backward(gy, x, mean, rstd, w)):
        _close(g, e, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,k", [((4, 7), 7), ((3, 16), 1), ((5, 8), 3)])
def test_rms_norm_kernels(backend, dtype, shape, k, rng):
    fast, ref, b = _setup(backend, "norm")
    x = _arr(b, rng, shape, dtype, 2.0)
    gy = _arr(b, rng, shape, dtype)
    w = _arr(b, rng, shape[1:], dtype)
    for weight in (w, None):
        got, want = fast.rms_norm_forward(x, weight, 1e-6, k), ref.rms_norm_forward(x, weight, 1e-6, k)
        for g, e in zip(got, want):
            _close(g, e, dtype)
        for g, e in zip(fast.rms_norm_backward(gy, x, want[1], weight, k),
                        ref.rms_norm_backward(gy, x, want[1], weight, k)):
            _close(g, e, dtype)


def test_norm_kernels_take_non_contiguous_inputs(backend, rng):
    fast, ref, b = _setup(backend, "norm")
    x = _arr(b, rng, (7, 5), "float64").T          # (5, 7), Fortran order
    w = _arr(b, rng, (7,), "float64")
    for g, e in zip(fast.layer_norm_forward(x, w, None, 1e-5), ref.layer_norm_forward(x, w, None, 1e-5)):
        _close(g, e, "float64")


def test_norm_kernels_accumulate_float32_sums_in_float64(backend, rng):
    """BatchNorm's mean and bias gradient over 2**17 float32 values near 1000: summed in
    float32 one by one they are off by ~5e-7 relative; summed in float64 (both twins) the
    only error left is the final rounding to float32 (n is a power of two, so /n is exact)."""
    fast, _, b = _setup(backend, "norm")
    x = (1000.0 + rng.standard_normal((2 ** 15, 2, 4))).astype(np.float32)
    _, mean, _, rstd = fast.batch_norm_forward(b.asarray(x), None, None, 1e-5)
    exact = x.astype(np.float64).mean(axis=(0, 2))
    np.testing.assert_allclose(_host(mean), exact, rtol=1e-7, atol=0)
    _, _, dbias = fast.batch_norm_backward(b.asarray(x), b.asarray(x), mean, rstd,
                                           b.asarray(np.ones(2, np.float32)))
    np.testing.assert_allclose(_host(dbias), x.astype(np.float64).sum(axis=(0, 2)), rtol=1e-7, atol=0)


# --------------------------------------------------------------------- softmax family
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(3, 5), (1, 1), (17, 130)])
@pytest.mark.parametrize("scale", [1.0, 1e4])
def test_softmax_kernels(backend, dtype, shape, scale, rng):
    fast, ref, b = _setup(backend, "softmax")
    x = _arr(b, rng, shape, dtype, scale)
    gy = _arr(b, rng, shape, dtype)
    for name in ("softmax", "log_softmax"):
        y = getattr(ref, name + "_forward")(x)
        _close(getattr(fast, name + "_forward")(x), y, dtype)
        _close(getattr(fast, name + "_backward")(gy, y), getattr(ref, name + "_backward")(gy, y), dtype)


# ------------------------------------------------------------------ activation family
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ["gelu", "gelu_tanh", "silu", "mish"])
@pytest.mark.parametrize("shape", [(5,), (3, 4, 5), (1000,)])
def test_activation_kernels(backend, dtype, name, shape, rng):
    fast, ref, b = _setup(backend, "activation")
    x = _arr(b, rng, shape, dtype, 4.0)
    gy = _arr(b, rng, shape, dtype)
    _close(getattr(fast, name + "_forward")(x), getattr(ref, name + "_forward")(x), dtype)
    _close(getattr(fast, name + "_backward")(gy, x), getattr(ref, name + "_backward")(gy, x), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(5,), (3, 4, 5), (2, 3, 16, 16)])
def test_relu_backward_kernel(backend, dtype, shape, rng):
    """gy·1[y > 0], bit for bit: a product, so NaN/±inf in gy give NaN where y ≤ 0 and a
    negative gy gives −0; also for non-contiguous and broadcast gradients."""
    fast, ref, b = _setup(backend, "activation")
    y = np.maximum(rng.standard_normal(shape), 0).astype(dtype)
    y.flat[:3] = 0.0
    gy = rng.standard_normal(shape).astype(dtype)
    gy.flat[:5] = [np.nan, np.inf, -2.0, -np.inf, np.nan][:gy.size]
    gy, y = b.asarray(gy), b.asarray(y)
    for g, yy in [(gy, y), (gy[..., ::-1], y[..., ::-1]), (gy[..., :1], y)]:
        with np.errstate(invalid="ignore"):
            got, want = _host(fast.relu_backward(g, yy)), _host(ref.relu_backward(g, yy))
        assert got.dtype == want.dtype == np.dtype(dtype) and got.shape == want.shape
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(np.signbit(got), np.signbit(want))


@pytest.mark.parametrize("name", ["gelu", "gelu_tanh", "silu", "mish"])
def test_activation_kernels_are_finite_in_the_tails(backend, name):
    fast, ref, b = _setup(backend, "activation")
    x = b.asarray(np.array([-1e4, -80.0, -30.0, 0.0, 30.0, 80.0, 1e4]))
    gy = b.asarray(np.ones(7))
    for k in (fast, ref):
        assert np.isfinite(_host(getattr(k, name + "_forward")(x))).all()
        assert np.isfinite(_host(getattr(k, name + "_backward")(gy, x))).all()


def test_every_fast_kernel_file_defines_the_reference_functions():
    for family in ("norm", "softmax", "activation"):
        ref = load(family, "ref")
        names = {n for n in vars(ref) if n.endswith(("_forward", "_backward"))}
        fast = load(family, "numba")
        assert names <= set(vars(fast)), f"{family}_numba lacks {names - set(vars(fast))}"
        source = open(ref.__file__.replace("_ref.py", "_cupy.py")).read()
        for n in names:
            assert f"def {n}(" in source, f"{family}_cupy lacks {n}"


@pytest.mark.parametrize("name", ["gelu", "silu", "mish"])
def test_float32_kernels_match_the_exact_float64_values(name):
    """The float32 GELU, SiLU and Mish kernels have a single-precision erf and exp of their
    own (see ``activation_numba``): within float32 rounding of the exact values, tails and
    signs included (GELU's erf is clipped to [−1, 1]: f(x) is never > 0 for x < 0)."""
    fast, ref = load("activation", "numba"), load("activation", "ref")
    x = np.concatenate([np.linspace(-40, 40, 400001), [-1e30, -1e4, -80, 80, 1e4, 1e30]])
    x32 = x.astype(np.float32)
    exact = x32.astype(np.float64)
    gy = np.random.default_rng(0).standard_normal(x.size).astype(np.float32)
    y = getattr(fast, name + "_forward")(x32)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, getattr(ref, name + "_forward")(exact), rtol=1e-6, atol=5e-7)
    assert (y[x32 < 0] <= 0).all()
    dx = getattr(fast, name + "_backward")(gy, x32)
    assert dx.dtype == np.float32
    np.testing.assert_allclose(dx, getattr(ref, name + "_backward")(gy.astype(np.float64), exact),
                               rtol=1e-6, atol=5e-7)
