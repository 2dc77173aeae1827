"""B164: sparse (CSR) matrix times dense tensor, against the dense product; gradients of x and
of the CSR values, second derivatives, and shape errors."""
import numpy as np
import pytest
import scipy.sparse as sp

import minigrad as mg
from minigrad.gradcheck import gradcheck, gradgradcheck
from minigrad.sparse import sparse_csr_mm, sparse_mm


def random_csr(rng, m, n):
    dense = rng.standard_normal((m, n)) * (rng.random((m, n)) < 0.5)
    dense[0, 0], dense[-1] = 2.0, 0.0
    return sp.csr_matrix(dense)


@pytest.mark.parametrize("k", [None, 3])
def test_B164_sparse_mm_matches_dense_and_backward_is_At_dy(rng, backend, k):
    A = random_csr(rng, 5, 4)
    x = mg.tensor(rng.standard_normal((4,) if k is None else (4, k)), requires_grad=True)
    y = sparse_mm(A, x)
    np.testing.assert_allclose(y.numpy(), A.toarray() @ x.numpy(), atol=1e-12)
    gy = rng.standard_normal(y.shape)
    (y * mg.tensor(gy)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), A.toarray().T @ gy, atol=1e-12)
    assert gradcheck(lambda t: sparse_mm(A, t), [x]) and gradgradcheck(lambda t: sparse_mm(A, t), [x])


def test_B164_csr_values_gradient_and_second_derivatives(rng, backend):
    A = random_csr(rng, 4, 3)
    v = mg.tensor(A.data, requires_grad=True)
    x = mg.tensor(rng.standard_normal((3, 2)), requires_grad=True)
    fn = lambda vals, xx: sparse_csr_mm(vals, A.indices, A.indptr, A.shape, xx)  # noqa: E731
    gy = rng.standard_normal((4, 2))
    (fn(v, x) * mg.tensor(gy)).sum().backward()
    rows = np.repeat(np.arange(4), np.diff(A.indptr))
    np.testing.assert_allclose(v.grad.numpy(), (gy[rows] * x.numpy()[A.indices]).sum(-1), atol=1e-12)
    assert gradcheck(fn, [v, x]) and gradgradcheck(fn, [v, x])


def test_B164_shape_and_type_errors(rng):
    A = random_csr(rng, 4, 3)
    with pytest.raises(ValueError, match=r"sparse_csr_mm: A of shape \(4, 3\) cannot multiply x of shape \(4,\)"):
        sparse_mm(A, mg.tensor(np.ones(4)))
    with pytest.raises(TypeError, match="sparse_mm: A must be a scipy.sparse"):
        sparse_mm(np.ones((4, 3)), mg.tensor(np.ones(3)))
    with pytest.raises(ValueError, match=r"indptr \(4,\) \(needs \(5,\)\)"):
        sparse_csr_mm(mg.tensor(A.data), A.indices, A.indptr[:-1], A.shape, mg.tensor(np.ones(3)))
