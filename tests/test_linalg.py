"""minigrad.linalg (B046 solves/inverse/determinants/Cholesky, B047 eigh/svd/qr and spectral
functions): values against numpy/scipy, gradients and second derivatives against finite
differences, batching, and the errors for bad input."""
import numpy as np
import pytest
import scipy.linalg as sl

import minigrad as mg
from minigrad import linalg as LA
from minigrad.gradcheck import gradcheck, gradgradcheck


def t(a, grad=False):
    return mg.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


def general(rng, *shape):
    return rng.standard_normal(shape) + shape[-1] * np.eye(shape[-1])


def spd(rng, *shape):
    M = rng.standard_normal(shape)
    return M @ np.swapaxes(M, -1, -2) + shape[-1] * np.eye(shape[-1])


# ------------------------------------------------------------------ B046
def test_B046_solve_matrix_vector_and_broadcast(rng, backend):
    A = general(rng, 2, 3, 3)
    b = rng.standard_normal(3)
    x = LA.solve(t(A), t(b)).numpy()                     # B (n,) broadcast over the batch
    assert x.shape == (2, 3)
    np.testing.assert_allclose(A @ x[..., None], np.broadcast_to(b[:, None], (2, 3, 1)), atol=1e-12)
    B = rng.standard_normal((2, 3))                      # B of shape A.shape[:-1]: a batch of vectors
    np.testing.assert_allclose(LA.solve(t(A), t(B)).numpy(), np.linalg.solve(A, B[..., None])[..., 0])
    B = rng.standard_normal((2, 3))                      # X A = B with left=False
    X = LA.solve(t(A[0]), t(B), left=False).numpy()
    np.testing.assert_allclose(X @ A[0], B, atol=1e-12)


def test_B046_gradients_and_second_derivatives(rng, backend):
    A, B = t(general(rng, 2, 3, 3), True), t(rng.standard_normal((3, 2)), True)
    for fn, args in [(LA.solve, (A, B)), (LA.inv, (A,)), (LA.det, (A,)),
                     (lambda a: LA.slogdet(a).logabsdet, (A,))]:
        assert gradcheck(fn, list(args))
        assert gradgradcheck(fn, list(args))
    S = t(spd(rng, 3, 3), True)
    assert gradcheck(LA.cholesky, [S]) and gradgradcheck(LA.cholesky, [S])
    L = t(np.linalg.cholesky(spd(rng, 3, 3)), True)
    assert gradcheck(LA.cholesky_solve, [B, L]) and gradgradcheck(LA.cholesky_solve, [B, L])


def test_B046_values_match_numpy(rng, backend):
    A = general(rng, 2, 3, 3)
    np.testing.assert_allclose(LA.inv(t(A)).numpy(), np.linalg.inv(A))
    np.testing.assert_allclose(LA.det(t(A)).numpy(), np.linalg.det(A))
    sign, logabs = LA.slogdet(t(-A))
    np.testing.assert_allclose(sign.numpy(), np.linalg.slogdet(-A)[0])
    np.testing.assert_allclose(logabs.numpy(), np.linalg.slogdet(-A)[1])
    S = spd(rng, 2, 3, 3)
    L = LA.cholesky(t(S)).numpy()
    np.testing.assert_allclose(L, np.linalg.cholesky(S))
    np.testing.assert_allclose(LA.cholesky(t(S), upper=True).numpy(), np.swapaxes(L, -1, -2))
    B = rng.standard_normal((3, 2))
    np.testing.assert_allclose(LA.solve_triangular(t(L[0]), t(B), upper=False).numpy(),
                               sl.solve_triangular(L[0], B, lower=True))


def test_B046_slogdet_gradient_is_inverse_transpose(rng, backend):
    A = t(general(rng, 3, 3), True)
    LA.slogdet(A).logabsdet.backward()
    np.testing.assert_allclose(A.grad.numpy(), np.linalg.inv(A.numpy()).T, atol=1e-12)


def test_B046_singular_matrix_names_op_and_batch_index(backend):
    A = np.stack([np.eye(3), np.ones((3, 3)), np.eye(3)])
    with pytest.raises(np.linalg.LinAlgError, match=r"inv: the matrix at batch index \(1,\).*singular"):
        LA.inv(t(A))
    with pytest.raises(np.linalg.LinAlgError, match=r"solve: the matrix at batch index \(1,\)"):
        LA.solve(t(A), t(np.ones(3)))
    bad = np.stack([np.eye(2), -np.eye(2)])
    with pytest.raises(np.linalg.LinAlgError, match=r"cholesky: .*batch index \(1,\).*not positive-definite"):
        LA.cholesky(t(bad))


def test_B046_bad_shapes_and_dtypes():
    with pytest.raises(ValueError, match=r"inv: expects square matrices .*\(2, 3\)"):
        LA.inv(t(np.ones((2, 3))))
    with pytest.raises(ValueError, match=r"solve: A of shape \(3, 3\) and B of shape \(4,\)"):
        LA.solve(t(np.eye(3)), t(np.ones(4)))
    with pytest.raises(TypeError, match="det: complex input"):
        LA.det(mg.tensor(np.eye(2) * (1 + 1j)))
    with pytest.raises(TypeError, match="cholesky: A must be a floating-point"):
        LA.cholesky(mg.tensor(np.eye(2, dtype=np.int64)))


# ------------------------------------------------------------------ B047
def test_B047_eigh_svd_qr_reconstruct_and_match(rng, backend):
    S = spd(rng, 2, 4, 4)
    w, V = LA.eigh(t(S))
    np.testing.assert_allclose(w.numpy(), np.linalg.eigvalsh(S))
    np.testing.assert_allclose((V.numpy() * w.numpy()[..., None, :]) @ np.swapaxes(V.numpy(), -1, -2), S)
    A = rng.standard_normal((2, 5, 3))
    U, s, Vh = LA.svd(t(A))
    np.testing.assert_allclose(s.numpy(), np.linalg.svd(A, compute_uv=False))
    np.testing.assert_allclose((U.numpy() * s.numpy()[..., None, :]) @ Vh.numpy(), A, atol=1e-12)
    Q, R = LA.qr(t(A))
    np.testing.assert_allclose(Q.numpy() @ R.numpy(), A, atol=1e-12)
    assert (np.diagonal(R.numpy(), axis1=-2, axis2=-1) >= 0).all()
    np.testing.assert_allclose(LA.matrix_exp(t(A[0, :3])).numpy(), sl.expm(A[0, :3]), rtol=1e-10)


def test_B047_gradients_and_second_derivatives(rng, backend):
    Q, _ = np.linalg.qr(rng.standard_normal((3, 3)))
    S = t((Q * [1.0, 2.0, 4.0]) @ Q.T, True)
    A = t(rng.standard_normal((4, 3)), True)
    W = t(rng.standard_normal((3, 4)), True)
    cases = [(lambda a: LA.eigh(a).eigenvectors, S), (LA.eigvalsh, S), (LA.sqrtm_spd, S),
             (LA.logm_spd, S), (lambda a: LA.powm_spd(a, -0.5), S),
             (lambda a: tuple(LA.svd(a)), A), (lambda a: tuple(LA.svd(a)), W),
             (lambda a: tuple(LA.qr(a)), A), (LA.matrix_exp, t(0.7 * rng.standard_normal((3, 3)), True)),
             (lambda a: LA.matrix_norm(a, "nuc"), A), (lambda a: LA.matrix_norm(a, 2), A)]
    for fn, x in cases:
        assert gradcheck(fn, [x])
        assert gradgradcheck(fn, [x])


def test_B047_daleckii_krein_matches_composite_and_values(rng, backend):
    S = spd(rng, 3, 3)
    np.testing.assert_allclose(LA.sqrtm_spd(t(S)).numpy(), sl.sqrtm(S).real, rtol=1e-10)
    np.testing.assert_allclose(LA.logm_spd(t(S)).numpy(), sl.logm(S).real, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(LA.powm_spd(t(S), 0.3).numpy(), sl.fractional_matrix_power(S, 0.3).real,
                               rtol=1e-8)
    x = t(S, True)
    LA.powm_spd(x, 2.0).sum().backward()                 # d/dA sum(A²) = 2·1ᵀA-ish: check exactly
    ones = np.ones((3, 3))
    np.testing.assert_allclose(x.grad.numpy(), (ones @ S + S @ ones + (ones @ S + S @ ones).T) / 2,
                               rtol=1e-8)


def test_B047_repeated_eigenvalues_eigvalsh_gradient_stays_finite(backend):
    x = t(np.eye(3), True)
    LA.eigvalsh(x).sum().backward()                       # trace: gradient I
    np.testing.assert_allclose(x.grad.numpy(), np.eye(3), atol=1e-12)
    y = t(2 * np.eye(3), True)
    LA.sqrtm_spd(y).sum().backward()                      # divided-difference limit
    assert np.isfinite(y.grad.numpy()).all()


def test_B047_errors():
    with pytest.raises(ValueError, match=r"sqrtm_spd: the matrix at batch index \(1,\).*not positive"):
        LA.sqrtm_spd(t(np.stack([np.eye(2), -np.eye(2)])))
    with pytest.raises(ValueError, match=r"eigh: expects square matrices .*\(3, 2\)"):
        LA.eigh(t(np.ones((3, 2))))
    with pytest.raises(ValueError, match="matrix_norm: ord must be"):
        LA.matrix_norm(t(np.ones((2, 2))), ord=3)
    with pytest.raises(NotImplementedError, match=r"qr: the gradient is implemented for m ≥ n"):
        x = t(np.random.default_rng(0).standard_normal((2, 3)), True)
        LA.qr(x).R.sum().backward()
