"""Second-order update rules (minigrad.optim.second_order): O063 nharpg and O065
regularized_newton, each against an independent float64 NumPy transcription with analytic
gradients and Hessians (the engine's Hessian-vector products also against finite differences
of gradients), save → load → continue bit-identical, float32 on every backend, edge cases and
bad options."""
import numpy as np
import pytest

import minigrad
from minigrad import functional as F
from minigrad import optim
from minigrad.layers.module import Parameter
from minigrad.tensor import Tensor

TESTED = {"nharpg", "regularized_newton"}


# ----------------------------------------------------------------------------- O063 N-HARPG
# f(w1, w2) = Σ(¼w1⁴ + sin w1) + Σ(¼w2⁴ + sin w2) + (Σw1)(Σw2): a coupled non-quadratic
# objective with analytic gradient and Hessian-vector product.
def f_tensors(w1, w2):
    return ((w1 ** 4) * 0.25 + w1.sin()).sum() + ((w2 ** 4) * 0.25 + w2.sin()).sum() \
        + w1.sum() * w2.sum()


def f_grad(ws):
    w1, w2 = ws
    return [w1 ** 3 + np.cos(w1) + w2.sum(), w2 ** 3 + np.cos(w2) + w1.sum()]


def f_hvp(ws, us):
    w1, w2 = ws
    u1, u2 = us
    return [(3 * w1 ** 2 - np.sin(w1)) * u1 + u2.sum(), (3 * w2 ** 2 - np.sin(w2)) * u2 + u1.sum()]


INITS = [np.array([0.7, -1.1, 0.3]), np.array([[0.2, -0.5], [1.2, 0.4]])]


class RefNHARPG:
    """The (N)-HARPG box: q ~ U(0,1), θ̂ = qθ_t + (1−q)θ_{t−1}, v = ∇²f(θ̂)(θ_t − θ_{t−1}),
    d = (1−η)(d + v) + η∇f(θ_t), θ ← θ − γ d/‖d‖ (γ_t = γ_0(2/(t+2))^a, η_t = η_0(2/(t+2))^b)."""

    def __init__(self, lr=0.1, eta0=1.0, lr_decay=1.0, eta_decay=1.0, normalized=True, seed=0):
        self.lr, self.eta0, self.a, self.b = lr, eta0, lr_decay, eta_decay
        self.normalized = normalized
        self.rng = np.random.default_rng(seed)
        self.t, self.prev, self.d = 0, None, None

    def __call__(self, thetas):
        t = self.t
        if self.prev is None:
            self.prev = [th.copy() for th in thetas]
            self.d = [np.zeros_like(th) for th in thetas]
        g = f_grad(thetas)
        if t > 0:
            q = self.rng.random()
            hat = [q * th + (1 - q) * pr for th, pr in zip(thetas, self.prev)]
            v = f_hvp(hat, [th - pr for th, pr in zip(thetas, self.prev)])
            self.d = [d + vi for d, vi in zip(self.d, v)]
        eta = self.eta0 * (2 / (t + 2)) ** self.b
        gamma = self.lr * (2 / (t + 2)) ** self.a
        self.d = [(1 - eta) * d + eta * gi for d, gi in zip(self.d, g)]
        norm = np.sqrt(sum(np.sum(d * d) for d in self.d))
        self.prev = [th.copy() for th in thetas]
        if self.normalized:
            out = [th - gamma * d / norm for th, d in zip(thetas, self.d)] if norm > 0 else thetas
        else:
            out = [th - gamma * d for th, d in zip(thetas, self.d)]
        self.t += 1
        return [o.copy() for o in out]


def make_nharpg(dtype="float64", inits=INITS, **cfg):
    ps = [Parameter(Tensor(np.array(v, dtype=dtype))) for v in inits]
    return ps, optim.NHARPG(lambda: f_tensors(*ps), ps, **cfg)


NHARPG_CFGS = [dict(generator=0), dict(lr=0.05, eta0=0.5, lr_decay=0.5, eta_decay=0.8, generator=3),
               dict(lr=0.01, normalized=False, generator=5)]


@pytest.mark.parametrize("cfg", NHARPG_CFGS)
def test_O063_trajectory_against_reference(cfg):
    ps, opt = make_nharpg(**cfg)
    ref_cfg = {k: v for k, v in cfg.items() if k != "generator"}
    ref = RefNHARPG(seed=cfg["generator"], **ref_cfg)
    thetas = [v.copy() for v in INITS]
    for _ in range(10):
        opt.step()
        thetas = ref(thetas)
        for p, th in zip(ps, thetas):
            np.testing.assert_allclose(p.numpy(), th, rtol=1e-12, atol=1e-13)


def test_O063_engine_hvp_matches_finite_differences_of_gradients():
    ws = [v.copy() for v in INITS]
    us = [np.array([0.3, 0.1, -0.2]), np.array([[0.5, -0.1], [0.2, 0.3]])]
    h = 1e-6
    plus = f_grad([w + h * u for w, u in zip(ws, us)])
    minus = f_grad([w - h * u for w, u in zip(ws, us)])
    fd = [(a - b) / (2 * h) for a, b in zip(plus, minus)]
    _, hv = minigrad.func.hvp(f_tensors, [Tensor(w) for w in ws], [Tensor(u) for u in us])
    for a, b, c in zip(hv, fd, f_hvp(ws, us)):
        np.testing.assert_allclose(a.numpy(), c, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(b, c, rtol=1e-6, atol=1e-7)


def test_O063_save_resume_bit_identical(tmp_path):
    cfg = dict(lr=0.05, eta0=0.5, eta_decay=0.8, generator=11)
    ps, opt = make_nharpg(**cfg)
    full = []
    for _ in range(7):
        opt.step()
        full.append([p.numpy().copy() for p in ps])
    ps, opt = make_nharpg(**cfg)
    for _ in range(3):
        opt.step()
    minigrad.save(opt.state_dict(), str(tmp_path / "o.npz"))
    ps2, opt2 = make_nharpg(inits=[p.numpy() for p in ps], **dict(cfg, lr=9.0, generator=1))
    opt2.load_state_dict(minigrad.load(str(tmp_path / "o.npz")))
    for k in range(3, 7):
        opt2.step()
        for p, e in zip(ps2, full[k]):
            np.testing.assert_array_equal(p.numpy(), e)


def test_O063_float32(backend):
    ps, opt = make_nharpg(dtype="float32", generator=0)
    ref = RefNHARPG(seed=0)
    thetas = [v.copy() for v in INITS]
    for _ in range(3):
        opt.step()
        thetas = ref(thetas)
    for p, th in zip(ps, thetas):
        assert p.dtype == np.float32 and p.backend == backend
        for value in opt.state[p].values():
            assert value.dtype == np.float32
        np.testing.assert_allclose(p.numpy(), th, rtol=2e-4, atol=2e-5)


def test_O063_zero_gradient_and_bad_options():
    w = Parameter(Tensor(np.zeros(3)))
    opt = optim.NHARPG(lambda: (w * 0.0).sum(), [w], generator=0)
    for _ in range(3):
        opt.step()
    np.testing.assert_array_equal(w.numpy(), np.zeros(3))
    with pytest.raises(ValueError, match="NHARPG"):
        optim.NHARPG(f_tensors, [w], lr=0)
    with pytest.raises(ValueError, match="NHARPG"):
        optim.NHARPG(f_tensors, [w], eta0=1.5)
    with pytest.raises(ValueError, match="NHARPG"):
        optim.NHARPG(f_tensors, [w], eta_decay=-1)
    with pytest.raises(TypeError, match="NHARPG"):
        optim.NHARPG([w], lr=0.1)
    with pytest.raises(ValueError, match="scalar"):
        optim.NHARPG(lambda: w * 1.0, [w]).step()


# -------------------------------------------------------------- O065 regularized Newton
def logistic_data(n=20, d=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = np.sign(X @ np.array([1.5, -2.0, 0.5]) + 0.3 * rng.standard_normal(n))
    return X, y


def np_logistic(wb, X, y, mu):
    """f = mean softplus(−y(Xw + b)) + (μ/2)(‖w‖² + b²), its gradient and Hessian in (w, b)."""
    A = np.hstack([X, np.ones((len(y), 1))])
    m = y * (A @ wb)
    f = np.mean(np.logaddexp(0, -m)) + 0.5 * mu * wb @ wb
    s = 1 / (1 + np.exp(m))                     # σ(−m)
    g = -(A.T @ (s * y)) / len(y) + mu * wb
    H = (A.T * (s * (1 - s))) @ A / len(y) + mu * np.eye(len(wb))
    return f, g, H


def ref_regularized_newton(wb, X, y, mu, steps, gamma_0=1.0, adaptive=True, eps=1e-8,
                           gamma_min=1e-9, max_search=40, approx=None):
    """Algorithm 1 (grad_norm_smooth) in NumPy with exact or approximate Hessians."""
    gamma, out = gamma_0, []
    f, g, H = np_logistic(wb, X, y, mu)
    for _ in range(steps):
        if approx is not None:
            H = approx(H)
        delta = None
        for i in range(max_search + 1):
            if i == max_search:
                break
            lam = np.linalg.norm(g) / (gamma + eps)
            delta = np.linalg.solve(H + lam * np.eye(len(g)), -g)
            f_new, g_new, H_new = np_logistic(wb + delta, X, y, mu)
            if not adaptive:
                break
            if f - f_new >= g_new @ g_new / (8 * lam):
                gamma = max(2 * gamma, gamma_min)
                break
            gamma *= 0.5
        wb = wb + delta
        f, g, H = np_logistic(wb, X, y, mu)
        out.append((wb.copy(), gamma))
    return out


def make_newton(X, y, mu, dtype="float64", wb0=(0.1, -0.2, 0.3, 0.0), **cfg):
    w = Parameter(Tensor(np.array(wb0[:3], dtype=dtype)))
    b = Parameter(Tensor(np.array(wb0[3], dtype=dtype)))
    Xt, yt = Tensor(X.astype(dtype)), Tensor(y.astype(dtype))

    def loss_fn():
        m = yt * (Xt @ w + b)
        return F.softplus(-m).mean() + 0.5 * mu * ((w * w).sum() + b * b)
    return (w, b), optim.RegularizedNewton(loss_fn, [w, b], **cfg)


@pytest.mark.parametrize("cfg", [dict(), dict(gamma_0=0.01),
                                 dict(gamma_0=100.0, adaptive_search=False),
                                 dict(gamma_0=3.0, max_search=2)])
def test_O065_logistic_regression_against_dense_reference(cfg):
    X, y = logistic_data()
    mu = 1e-3
    (w, b), opt = make_newton(X, y, mu, **cfg)
    ref = ref_regularized_newton(np.array([0.1, -0.2, 0.3, 0.0]), X, y, mu, 8,
                                 gamma_0=cfg.get("gamma_0", 1.0),
                                 adaptive=cfg.get("adaptive_search", True),
                                 max_search=cfg.get("max_search", 40))
    for wb, gamma in ref:
        opt.step()
        np.testing.assert_allclose(np.append(w.numpy(), b.numpy()), wb, rtol=1e-10, atol=1e-12)
        assert opt.global_state["gamma"] == pytest.approx(gamma, rel=1e-12)


def test_O065_converges_fast_and_approximate_hessian():
    X, y = logistic_data()
    mu = 1e-2
    (w, b), opt = make_newton(X, y, mu)
    for _ in range(15):
        opt.step()
    _, g, _ = np_logistic(np.append(w.numpy(), b.numpy()), X, y, mu)
    assert np.linalg.norm(g) < 1e-9
    # a diagonal approximation of the Hessian (hessian_fn) against the same approximation
    diag = lambda H: np.diag(np.diag(H))  # noqa: E731

    def hessian_fn(params):
        return diag(np_logistic(np.append(params[0].numpy(), params[1].numpy()), X, y, mu)[2])
    (w, b), opt = make_newton(X, y, mu, hessian_fn=hessian_fn)
    ref = ref_regularized_newton(np.array([0.1, -0.2, 0.3, 0.0]), X, y, mu, 6, approx=diag)
    for wb, gamma in ref:
        opt.step()
        np.testing.assert_allclose(np.append(w.numpy(), b.numpy()), wb, rtol=1e-10, atol=1e-12)


def test_O065_save_resume_bit_identical(tmp_path):
    X, y = logistic_data()
    (w, b), opt = make_newton(X, y, 1e-3, gamma_0=0.05)
    full = []
    for _ in range(6):
        opt.step()
        full.append(np.append(w.numpy(), b.numpy()))
    (w, b), opt = make_newton(X, y, 1e-3, gamma_0=0.05)
    for _ in range(2):
        opt.step()
    minigrad.save(opt.state_dict(), str(tmp_path / "n.npz"))
    (w2, b2), opt2 = make_newton(X, y, 1e-3, wb0=tuple(np.append(w.numpy(), b.numpy())),
                                 gamma_0=7.0)
    opt2.load_state_dict(minigrad.load(str(tmp_path / "n.npz")))
    for k in range(2, 6):
        opt2.step()
        np.testing.assert_array_equal(np.append(w2.numpy(), b2.numpy()), full[k])


def test_O065_float32(backend):
    X, y = logistic_data()
    (w, b), opt = make_newton(X, y, 1e-3, dtype="float32")
    ref = ref_regularized_newton(np.array([0.1, -0.2, 0.3, 0.0]), X, y, 1e-3, 3)
    for _ in range(3):
        opt.step()
    assert w.dtype == np.float32 and b.dtype == np.float32 and w.backend == backend
    np.testing.assert_allclose(np.append(w.numpy(), b.numpy()), ref[-1][0], rtol=2e-4, atol=2e-4)


def test_O065_zero_gradient_indefinite_hessian_and_bad_options():
    w = Parameter(Tensor(np.zeros(2)))
    opt = optim.RegularizedNewton(lambda: (w * w).sum(), [w])
    opt.step()                                   # ∇f = 0 at the minimizer: no step, no NaN
    np.testing.assert_array_equal(w.numpy(), [0.0, 0.0])
    # a saddle: H = diag(2, −2); the trial with λ < 2 is not positive definite → γ halves
    v = Parameter(Tensor(np.array([1.0, 0.5])))
    opt = optim.RegularizedNewton(lambda: v[0] * v[0] - v[1] * v[1], [v], gamma_0=10.0)
    opt.step()
    assert np.all(np.isfinite(v.numpy()))
    assert v.numpy()[1] > 0.5 or v.numpy()[0] < 1.0
    with pytest.raises(ValueError, match="RegularizedNewton"):
        optim.RegularizedNewton(lambda: (w * w).sum(), [w], gamma_0=0)
    with pytest.raises(ValueError, match="RegularizedNewton"):
        optim.RegularizedNewton(lambda: (w * w).sum(), [w], max_search=0)
    with pytest.raises(TypeError, match="RegularizedNewton"):
        optim.RegularizedNewton([w])
    bad = optim.RegularizedNewton(lambda: (w * w).sum() + w.sum(), [w],
                                  hessian_fn=lambda params: np.eye(3))
    with pytest.raises(ValueError, match="shape"):
        bad.step()
