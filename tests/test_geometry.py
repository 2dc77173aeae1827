"""minigrad.geometry: the SPD and Poincaré-ball maps behind the Riemannian batch norms.
The two ops with their own Function (SymExpm, LyapunovSolve) are gradchecked to first and
second order; the compositions are checked by the identities that define them."""
import numpy as np
import pytest

import minigrad as mg
from minigrad.geometry import poincare as P
from minigrad.geometry import spd


def _spd(r, *shape):
    n = shape[-1]
    A = r.standard_normal(shape)
    return A @ A.swapaxes(-1, -2) / n + 0.5 * np.eye(n)


def t(a, grad=False):
    return mg.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


# ------------------------------------------------------------------ SPD: ops with a Function
def test_sym_expm_matches_eig_formula_and_gradchecks():
    r = np.random.default_rng(0)
    S = r.standard_normal((2, 3, 3))
    S = (S + S.swapaxes(-1, -2)) / 2
    w, V = np.linalg.eigh(S)
    np.testing.assert_allclose(spd.sym_expm(t(S)).numpy(), (V * np.exp(w)[:, None, :]) @ V.swapaxes(-1, -2),
                               atol=1e-12)
    assert mg.gradcheck(spd.sym_expm, [t(S, True)]).ok
    assert mg.gradgradcheck(spd.sym_expm, [t(S, True)]).ok


def test_sym_expm_gradient_exact_at_repeated_eigenvalues():
    # at S = 0 (all eigenvalues equal) d exp(S) = dS: the gradient of <G, exp(S)> is sym(G)
    G = np.random.default_rng(1).standard_normal((3, 3))
    S = t(np.zeros((3, 3)), True)
    (spd.sym_expm(S) * t(G)).sum().backward()
    np.testing.assert_allclose(S.grad.numpy(), (G + G.T) / 2, atol=1e-12)


def test_lyapunov_solve_solves_and_gradchecks():
    r = np.random.default_rng(2)
    X, V = _spd(r, 2, 3, 3), r.standard_normal((2, 3, 3))
    V = V + V.swapaxes(-1, -2)
    L = spd.lyapunov_solve(t(X), t(V)).numpy()
    np.testing.assert_allclose(X @ L + L @ X, V, atol=1e-12)
    assert mg.gradcheck(spd.lyapunov_solve, [t(X, True), t(V, True)]).ok
    assert mg.gradgradcheck(spd.lyapunov_solve, [t(X, True), t(V, True)]).ok


def test_lyapunov_solve_gradient_finite_at_identity():
    # X = I has one repeated eigenvalue; the solution V/2 and its gradients stay finite
    V = np.random.default_rng(3).standard_normal((3, 3))
    V = V + V.T
    X = t(np.eye(3), True)
    L = spd.lyapunov_solve(X, t(V))
    np.testing.assert_allclose(L.numpy(), V / 2, atol=1e-12)
    (L * L).sum().backward()
    assert np.isfinite(X.grad.numpy()).all()
    assert mg.gradcheck(lambda x: spd.lyapunov_solve(x, t(V)), [t(np.eye(3), True)]).ok


def test_bad_input_names_the_op():
    with pytest.raises(ValueError, match="sym_expm"):
        spd.sym_expm(t(np.zeros((2, 3))))
    with pytest.raises(ValueError, match="lyapunov_solve"):
        spd.lyapunov_solve(t(np.zeros((3, 2))), t(np.zeros((3, 2))))


# ------------------------------------------------------------------ SPD: compositions
def test_affine_invariant_maps():
    r = np.random.default_rng(4)
    A, B = t(_spd(r, 3, 3)), t(_spd(r, 3, 3))
    np.testing.assert_allclose(spd.ai_expmap(A, spd.ai_logmap(A, B)).numpy(), B.numpy(), atol=1e-10)
    np.testing.assert_allclose(spd.ai_geodesic(A, B, 1.0).numpy(), B.numpy(), atol=1e-10)
    np.testing.assert_allclose(spd.ai_geodesic(A, B, 0.0).numpy(), A.numpy(), atol=1e-10)
    # affine invariance of the distance to I: d(C, I) = d(I, C⁻¹)
    d1 = spd.ai_dist2_to_identity(A).item()
    d2 = spd.ai_dist2_to_identity(t(np.linalg.inv(A.numpy()))).item()
    assert d1 == pytest.approx(d2, rel=1e-10)
    # Lie-Cholesky action and its inverse
    Y = spd.cholesky_congruence(A, spd.cholesky_congruence(A, B, inverse=True))
    np.testing.assert_allclose(Y.numpy(), B.numpy(), atol=1e-10)


def test_powm_with_tensor_exponent_gradchecks():
    r = np.random.default_rng(5)
    A = _spd(r, 2, 3, 3)
    p = t(np.array([[[0.7]], [[1.4]]]), True)
    w, V = np.linalg.eigh(A)
    expect = (V * (w ** np.array([[0.7], [1.4]]))[:, None, :]) @ V.swapaxes(-1, -2)
    np.testing.assert_allclose(spd.powm(t(A), p).numpy(), expect, atol=1e-10)
    assert mg.gradcheck(spd.powm, [t(A, True), p]).ok


def test_bures_wasserstein_maps():
    r = np.random.default_rng(6)
    A, B = t(_spd(r, 3, 3)), t(_spd(r, 3, 3))
    np.testing.assert_allclose(spd.bw_expmap(A, spd.bw_logmap(A, B)).numpy(), B.numpy(), atol=1e-10)
    np.testing.assert_allclose(spd.bw_exp_identity(spd.bw_log_identity(B)).numpy(), B.numpy(), atol=1e-10)
    np.testing.assert_allclose(spd.bw_geodesic(A, B, 1.0).numpy(), B.numpy(), atol=1e-10)
    assert spd.bw_dist2(A, A).item() == pytest.approx(0, abs=1e-10)
    assert spd.bw_dist2(A, B).item() == pytest.approx(spd.bw_dist2(B, A).item(), rel=1e-10)
    # the squared distance is the squared BW norm of the log: ‖Log_A B‖²_A = ½ tr(L_A[V] V)
    V = spd.bw_logmap(A, B)
    L = spd.lyapunov_solve(A, V)
    assert spd.bw_dist2(B, A).item() == pytest.approx(0.5 * spd.trace(L @ V).item(), rel=1e-8)
    # the two transports are inverse to each other
    S = r.standard_normal((3, 3))
    S = t(S + S.T)
    back = spd.bw_transport_from_identity(A, spd.bw_transport_to_identity(A, S))
    np.testing.assert_allclose(back.numpy(), S.numpy(), atol=1e-10)


def test_bw_barycenter_step_is_exact_for_commuting_matrices():
    # diagonal (commuting) matrices: the BW barycentre is (mean of square roots)²
    d = np.random.default_rng(7).uniform(0.5, 3.0, (5, 3))
    X = t(np.stack([np.diag(v) for v in d]))
    G = spd.bw_barycenter_step(X, X.mean(axis=0)).numpy()
    np.testing.assert_allclose(G, np.diag(np.sqrt(d).mean(0) ** 2), atol=1e-12)


# ------------------------------------------------------------------ Poincaré ball
def _ball(r, *shape, radius=0.6):
    x = r.standard_normal(shape)
    return x / np.linalg.norm(x, axis=-1, keepdims=True) * r.uniform(0, radius, shape[:-1] + (1,))


def test_poincare_exp_log_dist_transport():
    r = np.random.default_rng(8)
    x, y = t(_ball(r, 4, 3)), t(_ball(r, 4, 3))
    np.testing.assert_allclose(P.expmap(x, P.logmap(x, y)).numpy(), y.numpy(), atol=1e-12)
    np.testing.assert_allclose(P.expmap0(P.logmap0(y)).numpy(), y.numpy(), atol=1e-12)
    # d(x, y) = λ_x ‖log_x y‖
    lam = P.conformal_factor(x).numpy()[..., 0]
    np.testing.assert_allclose(P.dist(x, y).numpy(), lam * np.linalg.norm(P.logmap(x, y).numpy(), axis=-1),
                               rtol=1e-12)
    # distance from the arccosh formula
    xn, yn = x.numpy(), y.numpy()
    ac = np.arccosh(1 + 2 * ((xn - yn) ** 2).sum(-1) / ((1 - (xn ** 2).sum(-1)) * (1 - (yn ** 2).sum(-1))))
    np.testing.assert_allclose(P.dist(x, y).numpy(), ac, rtol=1e-10)
    # left cancellation (−x) ⊕ (x ⊕ y) = y and transport preserves the Riemannian norm
    np.testing.assert_allclose(P.mobius_add(-x, P.mobius_add(x, y)).numpy(), yn, atol=1e-12)
    v = P.logmap(x, y)
    z = t(_ball(r, 4, 3))
    w = P.transp(x, z, v)
    np.testing.assert_allclose(np.linalg.norm(w.numpy(), axis=-1) * P.conformal_factor(z).numpy()[..., 0],
                               np.linalg.norm(v.numpy(), axis=-1) * lam, rtol=1e-10)
    # scalar multiplication: 2 ⊗ x = x ⊕ x
    np.testing.assert_allclose(P.mobius_scalar_mul(2.0, x).numpy(), P.mobius_add(x, x).numpy(), atol=1e-12)


def test_poincare_midpoint():
    r = np.random.default_rng(9)
    a = _ball(r, 1, 3)
    m = P.midpoint(t(np.concatenate([a, -a])))      # symmetric pair → the origin
    np.testing.assert_allclose(m.numpy(), 0, atol=1e-14)
    np.testing.assert_allclose(P.midpoint(t(a)).numpy(), a, atol=1e-14)   # one point → itself
    # two points: the midpoint lies halfway along the geodesic
    b = _ball(r, 1, 3)
    m = P.midpoint(t(np.concatenate([a, b])))
    assert P.dist(t(a), m).item() == pytest.approx(P.dist(t(b), m).item(), rel=1e-10)
    assert P.dist(t(a), m).item() == pytest.approx(P.dist(t(a), t(b)).item() / 2, rel=1e-10)


def test_poincare_gradients_and_boundary():
    r = np.random.default_rng(10)
    x, y = _ball(r, 3, 2), _ball(r, 3, 2)
    assert mg.gradcheck(P.dist, [t(x, True), t(y, True)]).ok
    assert mg.gradcheck(P.logmap, [t(x, True), t(y, True)]).ok
    assert mg.gradcheck(P.expmap, [t(x, True), t(0.3 * y, True)]).ok
    assert mg.gradcheck(P.transp, [t(x, True), t(y, True), t(r.standard_normal((3, 2)), True)]).ok
    # points pushed past the boundary are projected; distances stay finite at the edge
    far = t(np.array([[3.0, 4.0]]))
    assert np.linalg.norm(P.project(far).numpy()) == pytest.approx(1 - 1e-5)
    edge = P.expmap0(t(np.array([[50.0, 0.0]])))
    assert np.isfinite(P.dist(edge, t(np.zeros((1, 2)))).numpy()).all()
    z = t(np.zeros((2, 2)), True)          # log_0(0) = 0 with a finite gradient
    P.logmap0(z).sum().backward()
    assert np.isfinite(z.grad.numpy()).all()
