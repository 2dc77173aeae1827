"""B034: sort / argsort / topk / kthvalue / median / quantile / cumsum / cumprod / cummax:
values and indices against NumPy, the permutation backward against finite differences
(first and second order), PyTorch's conventions (named tuples, lower even median)."""
import numpy as np
import pytest

import minigrad as mg
from minigrad.gradcheck import gradcheck, gradgradcheck
from minigrad.ops import sorting as S


def _distinct(rng, *shape):
    return rng.permutation(int(np.prod(shape))).reshape(shape) * 0.5 + rng.uniform(0, 0.1, shape)


def _t(x, grad=False):
    return mg.tensor(np.asarray(x, dtype=np.float64), dtype="float64", requires_grad=grad)


def _check(fn, *tensors):
    assert gradcheck(fn, list(tensors))
    assert gradgradcheck(fn, list(tensors))


def test_B034_sort_values_indices_named_tuple(backend, rng):
    x = _distinct(rng, 3, 4, 5)
    for dim in (0, 1, -1):
        for descending in (False, True):
            out = S.sort(_t(x), dim=dim, descending=descending)
            assert out._fields == ("values", "indices") and type(out).__name__ == "sort"
            order = np.argsort(-x if descending else x, axis=dim, kind="stable")
            np.testing.assert_array_equal(out.indices.numpy(), order)
            np.testing.assert_array_equal(out.values.numpy(), np.take_along_axis(x, order, dim))
            assert out.indices.dtype == np.int64
    np.testing.assert_array_equal(S.argsort(_t(x), dim=1).numpy(), np.argsort(x, axis=1))


def test_B034_sort_is_stable_on_ties_both_directions(backend):
    x = _t([2.0, 1.0, 2.0, 1.0, 3.0])
    np.testing.assert_array_equal(S.sort(x).indices.numpy(), [1, 3, 0, 2, 4])
    np.testing.assert_array_equal(S.sort(x, descending=True).indices.numpy(), [4, 0, 2, 1, 3])
    ints = mg.tensor(np.array([3, 1, 2], dtype=np.uint8))
    np.testing.assert_array_equal(S.sort(ints, descending=True).values.numpy(), [3, 2, 1])


def test_B034_sort_gradient_is_the_permutation(backend, rng):
    x = _t(_distinct(rng, 3, 5), grad=True)
    w = rng.standard_normal((3, 5))
    (S.sort(x, dim=1).values * _t(w)).sum().backward()
    order = np.argsort(x.numpy(), axis=1)
    expected = np.zeros((3, 5))
    np.put_along_axis(expected, order, w, axis=1)
    np.testing.assert_allclose(x.grad.numpy(), expected)
    _check(lambda t: S.sort(t, dim=0, descending=True).values ** 2, x)


def test_B034_topk(backend, rng):
    x = _distinct(rng, 4, 6)
    v, i = S.topk(_t(x), 3)
    np.testing.assert_array_equal(i.numpy(), np.argsort(-x, axis=1)[:, :3])
    np.testing.assert_array_equal(v.numpy(), -np.sort(-x, axis=1)[:, :3])
    v, i = S.topk(_t(x), 2, dim=0, largest=False)
    np.testing.assert_array_equal(i.numpy(), np.argsort(x, axis=0)[:2])
    assert type(S.topk(_t(x), 1)).__name__ == "topk"
    _check(lambda t: S.topk(t, 2, dim=0).values, _t(x, grad=True))
    with pytest.raises(ValueError, match="topk: k=7"):
        S.topk(_t(x), 7)


def test_B034_kthvalue(backend, rng):
    x = _distinct(rng, 3, 5)
    v, i = S.kthvalue(_t(x), 2)
    np.testing.assert_array_equal(i.numpy(), np.argsort(x, axis=1)[:, 1])
    np.testing.assert_array_equal(v.numpy(), np.sort(x, axis=1)[:, 1])
    v, i = S.kthvalue(_t(x), 3, dim=0, keepdim=True)
    assert v.shape == (1, 5) and i.shape == (1, 5)
    np.testing.assert_array_equal(v.numpy()[0], np.sort(x, axis=0)[2])
    _check(lambda t: S.kthvalue(t, 4, dim=1).values, _t(x, grad=True))
    with pytest.raises(ValueError, match="kthvalue: k=0"):
        S.kthvalue(_t(x), 0)


def test_B034_median_is_the_lower_middle_value_like_pytorch(backend, rng):
    even = _t([4.0, 1.0, 3.0, 2.0])
    assert S.median(even).item() == 2.0           # NumPy's median would give 2.5
    out = S.median(_t([[4.0, 1.0, 3.0, 2.0], [0.0, 9.0, 8.0, 7.0]]), dim=1)
    assert type(out).__name__ == "median" and out._fields == ("values", "indices")
    np.testing.assert_array_equal(out.values.numpy(), [2.0, 7.0])
    np.testing.assert_array_equal(out.indices.numpy(), [3, 3])
    x = _distinct(rng, 5, 3)
    v, i = S.median(_t(x), dim=0, keepdim=True)
    assert v.shape == (1, 3)
    np.testing.assert_array_equal(v.numpy()[0], np.median(x, axis=0))     # odd count: the same
    assert np.isnan(S.median(_t([1.0, np.nan, 3.0])).item())
    _check(lambda t: S.median(t, dim=1).values, _t(_distinct(rng, 3, 4), grad=True))
    _check(S.median, _t(_distinct(rng, 3, 4), grad=True))


@pytest.mark.parametrize("interpolation", ["linear", "lower", "higher", "midpoint", "nearest"])
def test_B034_quantile_matches_numpy(interpolation, backend, rng):
    x = _distinct(rng, 4, 7)
    for q in (0.3, [0.0, 0.25, 0.9, 1.0]):
        for dim, keepdim in ((None, False), (None, True), (1, False), (0, True), (-1, True)):
            got = S.quantile(_t(x), q, dim=dim, keepdim=keepdim, interpolation=interpolation)
            want = np.quantile(x, q, axis=dim, keepdims=keepdim, method=interpolation)
            assert got.shape == want.shape, (q, dim, keepdim)
            np.testing.assert_allclose(got.numpy(), want, rtol=1e-12)


def test_B034_quantile_gradient_split_by_interpolation_weights(backend):
    x = _t([3.0, 0.0, 1.0, 2.0, 4.0], grad=True)       # sorted: 0 1 2 3 4; q = 0.4 -> rank 1.6
    S.quantile(x, 0.4).backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.0, 0.0, 0.4, 0.6, 0.0])
    _check(lambda t: S.quantile(t, [0.2, 0.75], dim=0), _t(np.random.default_rng(1).permutation(6)
                                                            .reshape(3, 2) * 0.3, grad=True))
    assert np.isnan(S.quantile(_t([1.0, np.nan, 2.0]), 0.1).item())
    with pytest.raises(ValueError, match="q must lie in"):
        S.quantile(_t([1.0, 2.0]), 1.5)
    with pytest.raises(TypeError, match="float32 or float64"):
        S.quantile(mg.tensor([1, 2]), 0.5)


def test_B034_cumsum(backend, rng):
    x = rng.standard_normal((3, 4))
    for dim in (0, 1, -1):
        np.testing.assert_allclose(S.cumsum(_t(x), dim).numpy(), np.cumsum(x, axis=dim))
    _check(lambda t: S.cumsum(t, 1) ** 2, _t(x, grad=True))


def test_B034_cumprod_with_zeros(backend, rng):
    x = np.array([[2.0, 0.0, 3.0, 0.5, -1.5],
                  [0.0, 0.0, 1.5, 2.0, 0.7],
                  [1.2, -0.8, 0.9, 1.1, 0.0]])
    np.testing.assert_allclose(S.cumprod(_t(x), 1).numpy(), np.cumprod(x, axis=1))
    t = _t(x, grad=True)
    S.cumprod(t, 1).sum().backward()
    expected = np.zeros_like(x)                          # Σ_{i≥j} Π_{k≤i, k≠j} x_k, by loops
    for r in range(3):
        for j in range(5):
            expected[r, j] = sum(np.prod(np.delete(x[r, :i + 1], j)) for i in range(j, 5))
    np.testing.assert_allclose(t.grad.numpy(), expected)
    assert np.all(np.isfinite(t.grad.numpy()))
    _check(lambda u: S.cumprod(u, 1), t)
    _check(lambda u: S.cumprod(u, 0), _t(x.T.copy(), grad=True))
    long = rng.uniform(0.8, 1.2, (2, 37))
    long[0, 5] = long[1, 20] = 0.0
    _check(lambda u: S.cumprod(u, 1), _t(long, grad=True))


def test_B034_cummax(backend):
    x = np.array([[1.0, 3.0, 2.0, 5.0, 4.0, 6.0],
                  [0.5, 0.2, 0.1, 0.7, 0.6, 0.3]])
    out = S.cummax(_t(x), 1)
    assert type(out).__name__ == "cummax"
    np.testing.assert_array_equal(out.values.numpy(), np.maximum.accumulate(x, axis=1))
    np.testing.assert_array_equal(out.indices.numpy(), [[0, 1, 1, 3, 3, 5], [0, 0, 0, 3, 3, 3]])
    np.testing.assert_array_equal(S.cummax(_t([1.0, 1.0, 0.0]), 0).indices.numpy(), [0, 1, 1])
    t = _t(x, grad=True)
    S.cummax(t, 1).values.sum().backward()
    np.testing.assert_allclose(t.grad.numpy(), [[1, 2, 0, 2, 0, 1], [3, 0, 0, 3, 0, 0]])
    _check(lambda u: S.cummax(u, 0).values, _t(x.T.copy(), grad=True))


def test_B034_zero_d_and_bad_dims(backend):
    s = _t(2.5)
    v, i = S.sort(s)
    assert v.shape == () and i.item() == 0 and v.item() == 2.5
    assert S.cumsum(s, 0).item() == 2.5
    with pytest.raises(IndexError, match=r"sort: dim 2 is out of range .*\(3, 4\)"):
        S.sort(_t(np.zeros((3, 4))), dim=2)
    with pytest.raises(TypeError, match="cumprod: expected a Tensor"):
        S.cumprod([1.0, 2.0], 0)
