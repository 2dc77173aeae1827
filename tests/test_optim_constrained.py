"""Constrained learning (minigrad.optim.constrained): O073 augmented_lagrangian (SCONE/WOODS)
and O074 feasible_learning, each against an independent plain-NumPy transcription of the
reference loop on a toy problem, state round-trips through minigrad.save/load, float32 on
every backend and bad options."""
import numpy as np
import pytest

import minigrad
from minigrad import optim
from minigrad.layers.module import Parameter
from minigrad.tensor import Tensor

TESTED = {"augmented_lagrangian", "feasible_learning"}


# ------------------------------------------------------------------ O073 augmented Lagrangian
def ref_psi(c, lam, rho):
    """SCONE train.py: value and dψ/dc of the augmented-Lagrangian term."""
    if rho * c + lam >= 0:
        return lam * c + rho / 2 * c * c, lam + rho * c
    return -lam * lam / (2 * rho), 0.0


def ref_dual(c, lam, rho, lr_lam, mult, tol):
    lam = lam + lr_lam * c if c * rho + lam >= 0 else lam - lr_lam * lam / rho
    if c > tol:
        rho = rho * mult
    return lam, rho


@pytest.mark.parametrize("c,lam,rho", [(0.3, 0.5, 2.0), (-0.3, 0.5, 1.0), (-2.0, 0.5, 1.0),
                                       (0.0, 0.0, 1.0), (-0.1, 3.0, 10.0)])
def test_O073_penalty_value_and_gradient(c, lam, rho):
    al = optim.AugmentedLagrangian(penalty_coefficient=rho, init_multiplier=lam)
    x = Tensor(np.array(c), requires_grad=True)
    psi = al.penalty(x)
    psi.backward()
    value, slope = ref_psi(c, lam, rho)
    np.testing.assert_allclose(psi.item(), value, rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(x.grad.item(), slope, rtol=1e-14, atol=1e-15)


def test_O073_penalty_is_C1_at_the_switch():
    lam, rho = 0.8, 2.0
    al = optim.AugmentedLagrangian(penalty_coefficient=rho, init_multiplier=lam)
    switch = -lam / rho
    for c in (switch - 1e-7, switch + 1e-7):
        x = Tensor(np.array(c), requires_grad=True)
        al.penalty(x).backward()
        h = 1e-6
        fd = (ref_psi(c + h, lam, rho)[0] - ref_psi(c - h, lam, rho)[0]) / (2 * h)
        np.testing.assert_allclose(x.grad.item(), fd, atol=1e-6)
        assert abs(x.grad.item()) < 1e-6
    assert ref_psi(switch - 1e-12, lam, rho)[0] == pytest.approx(ref_psi(switch, lam, rho)[0])


def toy_reference(epochs, inner, lr, lr_lam, rho0, mult, tol, theta0=0.0):
    """min (θ − 2)² s.t. c(θ) = θ − 1 ≤ 0: inner SGD steps on (θ−2)² + ψ(θ − 1), then the
    epoch-end dual step with c at the epoch's final θ."""
    theta, lam, rho, out = theta0, 0.0, rho0, []
    for _ in range(epochs):
        for _ in range(inner):
            g = 2 * (theta - 2) + ref_psi(theta - 1, lam, rho)[1]
            theta = theta - lr * g
        lam, rho = ref_dual(theta - 1, lam, rho, lr_lam, mult, tol)
        out.append((theta, lam, rho))
    return out


def run_toy(al, theta, epochs, inner, lr):
    opt = optim.SGD([theta], lr=lr)
    out = []
    for _ in range(epochs):
        for _ in range(inner):
            opt.zero_grad()
            loss = al.lagrangian((theta - 2.0) ** 2, [theta - 1.0])
            loss.backward()
            opt.step()
        al.update([theta.data - 1.0])
        out.append((theta.item(), al.multipliers[0], al.penalty_coefficients[0]))
    return out


@pytest.mark.parametrize("cfg", [dict(), dict(dual_lr=0.5, penalty_coefficient=0.5,
                                              penalty_growth_factor=2.0, violation_tolerance=0.01)])
def test_O073_toy_problem_multiplier_sequence(cfg):
    al = optim.AugmentedLagrangian(**cfg)
    theta = Parameter(Tensor(np.array(0.0)))
    got = run_toy(al, theta, epochs=12, inner=30, lr=0.01)
    ref = toy_reference(12, 30, 0.01, cfg.get("dual_lr", 1.0), cfg.get("penalty_coefficient", 1.0),
                        cfg.get("penalty_growth_factor", 1.5), cfg.get("violation_tolerance", 0.0))
    np.testing.assert_allclose(np.array(got), np.array(ref), rtol=1e-12, atol=1e-14)
    # toward the KKT point θ = 1, λ = 2 (∇(θ−2)² + λ = 0); λ creeps up as c → 0⁺
    assert abs(got[-1][0] - 1) < 0.05 and 0.5 < got[-1][1] < 2.2


def test_O073_inactive_constraint_shrinks_the_multiplier():
    al = optim.AugmentedLagrangian(num_constraints=2, penalty_coefficient=[1.0, 4.0],
                                   init_multiplier=1.0, dual_lr=0.5)
    al.update([-3.0, 0.25])        # first: ρc + λ < 0 → λ − ηλ/ρ; second: active, violated
    assert al.multipliers == [1.0 - 0.5 * 1.0 / 1.0, 1.0 + 0.5 * 0.25]
    assert al.penalty_coefficients == [1.0, 4.0 * 1.5]


def test_O073_state_round_trip(tmp_path):
    al = optim.AugmentedLagrangian(num_constraints=2, penalty_coefficient=[0.3, 1.7])
    al.update([0.1234567891234, -0.3])
    al.update([0.2, 0.05])
    minigrad.save(al.state_dict(), str(tmp_path / "al.npz"))
    other = optim.AugmentedLagrangian(num_constraints=2)
    other.load_state_dict(minigrad.load(str(tmp_path / "al.npz")))
    assert other.multipliers == al.multipliers
    assert other.penalty_coefficients == al.penalty_coefficients
    for a in (al, other):
        a.update([0.3, -0.2])
    assert other.multipliers == al.multipliers


def test_O073_bad_options():
    with pytest.raises(ValueError, match="AugmentedLagrangian"):
        optim.AugmentedLagrangian(dual_lr=0)
    with pytest.raises(ValueError, match="AugmentedLagrangian"):
        optim.AugmentedLagrangian(penalty_coefficient=-1)
    with pytest.raises(ValueError, match="AugmentedLagrangian"):
        optim.AugmentedLagrangian(num_constraints=2, penalty_coefficient=[1.0])
    with pytest.raises(ValueError, match="AugmentedLagrangian"):
        optim.AugmentedLagrangian(penalty_growth_factor=0.5)
    al = optim.AugmentedLagrangian()
    with pytest.raises(ValueError, match="scalar"):
        al.penalty(Tensor(np.ones(3)))
    with pytest.raises(ValueError, match="constraints"):
        al.update([0.1, 0.2])


# ------------------------------------------------------------------ O074 Feasible Learning
def regression_data(n=8, d=3, seed=1):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)), rng.standard_normal(n)


def ref_feasible(X, y, w, batches, lr, momentum, dual_lr, eps, alpha):
    """Alternating dual–primal on ℓ_i(w) = (x_iᵀw − y_i)²: λ_B ← max(0, λ_B + η_λ(ℓ_B − ε
    [− λ_B/α])), then heavy-ball SGD on Σ_B λ_i ∇ℓ_i."""
    lam, buf, out = np.zeros(len(y)), None, []
    for t, ids in enumerate(batches):
        r = X[ids] @ w - y[ids]
        loss = r * r
        step = loss - eps - (lam[ids] / alpha if alpha else 0.0)
        lam[ids] = np.maximum(lam[ids] + dual_lr * step, 0.0)
        g = (lam[ids] * 2 * r) @ X[ids]
        if momentum:
            buf = g if buf is None else momentum * buf + g
            g = buf
        w = w - lr * g
        out.append((w.copy(), lam.copy()))
    return out


BATCHES = [np.array([0, 3, 5]), np.array([1, 2, 7]), np.array([4, 6, 0]), np.array([5, 1, 2]),
           np.array([3, 4, 6]), np.array([7, 0, 1])]


def run_feasible(fl, w, X, y, batches):
    Xt, yt = Tensor(X.astype(w.dtype)), Tensor(y.astype(w.dtype))
    out = []
    for ids in batches:
        def closure():
            r = Xt[ids] @ w - yt[ids]
            return r * r
        fl.step(closure, ids)
        out.append((w.numpy().copy(), minigrad.backends.to_numpy(fl.multipliers).copy()))
    return out


@pytest.mark.parametrize("cfg", [dict(lr=0.05, momentum=0.0, dual_lr=1e-2, eps=0.0, alpha=None),
                                 dict(lr=0.02, momentum=0.9, dual_lr=0.5, eps=0.1, alpha=None),
                                 dict(lr=0.05, momentum=0.0, dual_lr=0.3, eps=0.05, alpha=2.0)])
def test_O074_trajectory_against_reference(cfg):
    X, y = regression_data()
    w0 = np.array([0.3, -0.2, 0.1])
    w = Parameter(Tensor(w0.copy()))
    fl = optim.FeasibleLearning(optim.SGD([w], lr=cfg["lr"], momentum=cfg["momentum"]),
                                num_samples=8, epsilon=cfg["eps"], dual_lr=cfg["dual_lr"],
                                alpha=cfg["alpha"])
    got = run_feasible(fl, w, X, y, BATCHES * 2)
    ref = ref_feasible(X, y, w0, BATCHES * 2, cfg["lr"], cfg["momentum"], cfg["dual_lr"],
                       cfg["eps"], cfg["alpha"])
    for (gw, gl), (rw, rl) in zip(got, ref):
        np.testing.assert_allclose(gw, rw, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(gl, rl, rtol=1e-12, atol=1e-14)


def test_O074_feasible_problem_reaches_the_loss_level():
    """An interpolating linear model: FL drives every per-sample loss below ε."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((6, 4))
    y = X @ np.array([1.0, -1.0, 0.5, 2.0])
    w = Parameter(Tensor(np.zeros(4)))
    fl = optim.FeasibleLearning(optim.SGD([w], lr=0.01), num_samples=6, epsilon=1e-2,
                                dual_lr=0.1)
    for _ in range(1500):
        run_feasible(fl, w, X, y, [np.arange(6)])
    assert np.all((X @ w.numpy() - y) ** 2 <= 1e-2 + 1e-3)
    assert np.all(minigrad.backends.to_numpy(fl.multipliers) >= 0)


def test_O074_save_resume_bit_identical(tmp_path):
    X, y = regression_data()

    def make():
        w = Parameter(Tensor(np.array([0.3, -0.2, 0.1])))
        return w, optim.FeasibleLearning(optim.SGD([w], lr=0.02, momentum=0.9), num_samples=8,
                                         epsilon=0.1, dual_lr=0.5, alpha=3.0)
    w, fl = make()
    full = run_feasible(fl, w, X, y, BATCHES)
    w, fl = make()
    run_feasible(fl, w, X, y, BATCHES[:3])
    minigrad.save(fl.state_dict(), str(tmp_path / "fl.npz"))
    w2 = Parameter(Tensor(w.numpy().copy()))
    fl2 = optim.FeasibleLearning(optim.SGD([w2], lr=0.02, momentum=0.9), num_samples=8,
                                 epsilon=0.1, dual_lr=0.5, alpha=3.0)
    fl2.load_state_dict(minigrad.load(str(tmp_path / "fl.npz")))
    rest = run_feasible(fl2, w2, X, y, BATCHES[3:])
    for (gw, gl), (ew, el) in zip(rest, full[3:]):
        np.testing.assert_array_equal(gw, ew)
        np.testing.assert_array_equal(gl, el)


def test_O074_float32(backend):
    X, y = regression_data()
    w = Parameter(Tensor(np.array([0.3, -0.2, 0.1], dtype="float32")))
    fl = optim.FeasibleLearning(optim.SGD([w], lr=0.05), num_samples=8, epsilon=0.0,
                                dual_lr=0.3)
    got = run_feasible(fl, w, X, y, BATCHES)
    assert w.dtype == np.float32 and w.backend == backend
    assert fl.multipliers.dtype == np.float32
    ref = ref_feasible(X, y, np.array([0.3, -0.2, 0.1]), BATCHES, 0.05, 0.0, 0.3, 0.0, None)
    np.testing.assert_allclose(got[-1][0], ref[-1][0], rtol=2e-4, atol=2e-5)
    np.testing.assert_allclose(got[-1][1], ref[-1][1], rtol=2e-4, atol=2e-5)


def test_O074_zero_multipliers_give_a_zero_first_step():
    """Losses already ≤ ε: λ stays 0 and θ does not move (no NaN from a zero Lagrangian)."""
    w = Parameter(Tensor(np.array([1.0, 2.0])))
    fl = optim.FeasibleLearning(optim.SGD([w], lr=1.0), num_samples=2, epsilon=10.0)
    Xt = Tensor(np.eye(2))
    fl.step(lambda: (Xt @ w) ** 2, [0, 1])
    np.testing.assert_array_equal(w.numpy(), [1.0, 2.0])
    np.testing.assert_array_equal(minigrad.backends.to_numpy(fl.multipliers), [0.0, 0.0])


def test_O074_bad_options_and_inputs():
    w = Parameter(Tensor(np.zeros(2)))
    sgd = optim.SGD([w], lr=0.1)
    with pytest.raises(ValueError, match="FeasibleLearning"):
        optim.FeasibleLearning(sgd, num_samples=0)
    with pytest.raises(ValueError, match="FeasibleLearning"):
        optim.FeasibleLearning(sgd, num_samples=3, dual_lr=-1)
    with pytest.raises(ValueError, match="FeasibleLearning"):
        optim.FeasibleLearning(sgd, num_samples=3, alpha=0)
    with pytest.raises(TypeError, match="FeasibleLearning"):
        optim.FeasibleLearning([w], num_samples=3)
    fl = optim.FeasibleLearning(sgd, num_samples=3)
    Xt = Tensor(np.eye(2))
    with pytest.raises(ValueError, match="repeated"):
        fl.step(lambda: (Xt @ w) ** 2, [1, 1])
    with pytest.raises(IndexError, match="FeasibleLearning"):
        fl.step(lambda: (Xt @ w) ** 2, [0, 3])
    with pytest.raises(ValueError, match="indices"):
        fl.step(lambda: (Xt @ w) ** 2, [0])
    with pytest.raises(ValueError, match="1-D"):
        fl.step(lambda: ((Xt @ w) ** 2).sum(), [0])
