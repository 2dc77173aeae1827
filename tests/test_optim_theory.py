"""Update rules from optimization-theory papers: O060 normalized_lr_gd, O061 beta_normalized_gd
(+ SPIDER), O062 npg_igt, O064 optimistic_omd, O066 greedy_bcd. Each against an independent
float64 transcription of the paper's update (plain NumPy), save → load → continue
bit-identical, float32 on every backend, edge cases and bad options."""
import math

import numpy as np
import pytest

import minigrad
from minigrad import functional as F
from minigrad import optim
from minigrad.layers.module import Parameter
from minigrad.tensor import Tensor
from tests.optim_checks import check_float32, check_save_resume, check_trajectory
from tests.test_optimizers import initial_values, make_params

TESTED = {"normalized_lr_gd", "beta_normalized_gd", "npg_igt", "optimistic_omd", "greedy_bcd"}


def _global_norm(arrays):
    return math.sqrt(sum(float(np.sum(a * a)) for a in arrays))


# ------------------------------------------------------------ O060 Normalized LR+GD
def separable_data(n=12, d=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    w_true = np.array([1.0, -2.0, 0.5])[:d]
    y = np.sign(X @ w_true + 0.3)
    return X, y


def ref_normalized_lr_gd(X, y, theta, bias, lr, steps):
    """Tyurin, Section 6: β_t = (mean_i (1 + exp(y_i a_iᵀθ))⁻¹)⁻¹, θ ← θ − γβ_t∇f(θ), with
    ∇f = −(1/n)Σ_i (1 + exp(m_i))⁻¹ y_i a_i (the bias as a feature of ones)."""
    out = []
    for _ in range(steps):
        m = y * (X @ theta + bias)
        s = 1.0 / (1.0 + np.exp(m))
        beta = 1.0 / s.mean()
        theta = theta + lr * beta * (s * y) @ X / len(y)
        bias = bias + lr * beta * np.mean(s * y)
        out.append((theta.copy(), bias))
    return out


def logistic_closure(opt, w, b, X, y):
    Xt, yt = Tensor(X), Tensor(y)

    def closure():
        opt.zero_grad()
        losses = F.softplus(-(yt * (Xt @ w + b)))
        losses.mean().backward()
        return losses
    return closure


@pytest.mark.parametrize("lr", [1.0, 10.0, 0.1])
def test_normalized_lr_gd_trajectory(lr):
    X, y = separable_data()
    w, b = Parameter(Tensor(np.array([0.2, 0.1, -0.3]))), Parameter(Tensor(np.array(0.05)))
    opt = optim.NormalizedLRGD([w, b], lr=lr)
    closure = logistic_closure(opt, w, b, X, y)
    expected = ref_normalized_lr_gd(X, y, np.array([0.2, 0.1, -0.3]), 0.05, lr, 10)
    for theta, bias in expected:
        opt.step(closure)
        np.testing.assert_allclose(w.numpy(), theta, rtol=1e-11, atol=1e-12)
        np.testing.assert_allclose(b.numpy(), bias, rtol=1e-11, atol=1e-12)


def test_large_step_is_the_normalized_batch_perceptron():
    """γ → ∞ from θ_0 = 0: θ_t/γ follows θ̂ ← θ̂ + (1/|S_t|)Σ_{i∈S_t} y_i a_i (Theorem 5.3's
    method, which Normalized LR+GD was built from)."""
    X, y = separable_data(n=10, d=2, seed=3)
    gamma = 1e7
    w = Parameter(Tensor(np.zeros(2)))
    opt = optim.NormalizedLRGD([w], lr=gamma)
    Xt, yt = Tensor(X), Tensor(y)

    def closure():
        opt.zero_grad()
        losses = F.softplus(-(yt * (Xt @ w)))
        losses.mean().backward()
        return losses

    theta_hat = np.zeros(2)
    for _ in range(4):
        S = y * (X @ theta_hat) <= 0
        if not S.any():
            break
        theta_hat = theta_hat + (y[S, None] * X[S]).mean(0)
        opt.step(closure)
        np.testing.assert_allclose(w.numpy() / gamma, theta_hat, rtol=1e-6, atol=1e-9)


def test_scalar_closure_is_one_sample():
    w = Parameter(Tensor(np.array([0.5, -0.5])))
    opt = optim.NormalizedLRGD([w], lr=0.5)
    a, yv = np.array([1.0, 2.0]), -1.0

    def closure():
        opt.zero_grad()
        loss = F.softplus(-(Tensor(yv) * (w * Tensor(a)).sum()))
        loss.backward()
        return loss

    f = math.log1p(math.exp(-yv * float(a @ np.array([0.5, -0.5]))))
    g = -yv * a / (1 + math.exp(yv * float(a @ np.array([0.5, -0.5]))))
    opt.step(closure)
    np.testing.assert_allclose(w.numpy(), [0.5, -0.5] - 0.5 / (1 - math.exp(-f)) * g, rtol=1e-13)
    assert opt.last_beta == pytest.approx(1 / (1 - math.exp(-f)))


def test_normalized_lr_gd_separated_data_underflow_gives_no_nan():
    X, y = separable_data()
    w = Parameter(Tensor(np.array([1.0, -2.0, 0.5]) * 1e4))
    b = Parameter(Tensor(np.array(3e3)))
    opt = optim.NormalizedLRGD([w, b], lr=100.0)
    before = w.numpy().copy()
    opt.step(logistic_closure(opt, w, b, X, y))
    assert np.all(np.isfinite(w.numpy()))
    np.testing.assert_array_equal(w.numpy(), before)  # every weight is 0: no step


def test_normalized_lr_gd_save_resume(tmp_path):
    X, y = separable_data()
    w, b = Parameter(Tensor(np.array([0.2, 0.1, -0.3]))), Parameter(Tensor(np.array(0.05)))
    opt = optim.NormalizedLRGD([w, b], lr=2.0)
    closure = logistic_closure(opt, w, b, X, y)
    for _ in range(3):
        opt.step(closure)
    minigrad.save(opt.state_dict(), str(tmp_path / "o.npz"))
    w2, b2 = Parameter(Tensor(w.numpy())), Parameter(Tensor(b.numpy()))
    opt2 = optim.NormalizedLRGD([w2, b2], lr=99.0)
    opt2.load_state_dict(minigrad.load(str(tmp_path / "o.npz")))
    closure2 = logistic_closure(opt2, w2, b2, X, y)
    for _ in range(3):
        opt.step(closure)
        opt2.step(closure2)
        np.testing.assert_array_equal(w2.numpy(), w.numpy())


def test_normalized_lr_gd_float32(backend):
    X, y = separable_data()
    w = Parameter(Tensor(np.array([0.2, 0.1, -0.3], dtype=np.float32)))
    b = Parameter(Tensor(np.array(0.05, dtype=np.float32)))
    opt = optim.NormalizedLRGD([w, b], lr=1.0)
    Xt, yt = Tensor(X.astype(np.float32)), Tensor(y.astype(np.float32))

    def closure():
        opt.zero_grad()
        losses = F.softplus(-(yt * (Xt @ w + b)))
        losses.mean().backward()
        return losses

    for _ in range(3):
        opt.step(closure)
    expected = ref_normalized_lr_gd(X, y, np.array([0.2, 0.1, -0.3]), 0.05, 1.0, 3)[-1]
    assert w.dtype == np.float32 and w.backend == backend
    np.testing.assert_allclose(w.numpy(), expected[0], rtol=2e-4, atol=2e-5)


def test_normalized_lr_gd_bad_use():
    w = Parameter(Tensor(np.zeros(3)))
    with pytest.raises(ValueError, match="NormalizedLRGD: lr"):
        optim.NormalizedLRGD([w], lr=0.0)
    opt = optim.NormalizedLRGD([w])
    with pytest.raises(ValueError, match="closure"):
        opt.step()

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return Tensor(np.ones((2, 2)))
    with pytest.raises(ValueError, match="per-sample"):
        opt.step(closure)


# ------------------------------------------------------- O061 β-normalized GD / SPIDER
class RefBetaGD:
    """Chen et al. 2023 β-GD: x ← x − γ·∇f(x)/‖∇f(x)‖^β, ‖·‖ over the whole vector."""

    def __init__(self, lr=0.1, beta=1.0):
        self.lr, self.beta = lr, beta

    def __call__(self, thetas, grads):
        n = _global_norm(grads)
        if n == 0:
            return [th.copy() for th in thetas]
        return [th - self.lr * g / n ** self.beta for th, g in zip(thetas, grads)]


BETA_CFGS = [dict(), dict(lr=0.05, beta=2 / 3), dict(lr=0.3, beta=0.0)]


@pytest.mark.parametrize("cfg", BETA_CFGS)
def test_beta_gd_trajectory(cfg):
    check_trajectory(optim.BetaNormalizedGD, RefBetaGD(**cfg), cfg)


def test_beta_gd_save_resume_and_float32(tmp_path, backend):
    check_save_resume(optim.BetaNormalizedGD, BETA_CFGS[1], tmp_path)
    check_float32(optim.BetaNormalizedGD, RefBetaGD(**BETA_CFGS[1]), BETA_CFGS[1], backend)


def test_beta_gd_zero_and_huge_gradient():
    p = Parameter(Tensor(np.ones(3)))
    opt = optim.BetaNormalizedGD([p], lr=0.1, beta=2 / 3)
    p.grad = Tensor(np.zeros(3))
    opt.step()
    np.testing.assert_array_equal(p.numpy(), np.ones(3))
    q = Parameter(Tensor(np.ones(3, dtype=np.float32)))
    opt = optim.BetaNormalizedGD([q], lr=0.1, beta=1.0)
    q.grad = Tensor(np.array([3e38, -3e38, 1e38], dtype=np.float32))
    opt.step()
    g = np.array([3.0, -3.0, 1.0])
    np.testing.assert_allclose(q.numpy(), 1 - 0.1 * g / np.linalg.norm(g), rtol=1e-6)


# finite sum f(x) = (1/N)Σ_i f_i(x), f_i(x) = ¼(a_iᵀx − b_i)⁴ + ½‖x‖²·c_i: generalized smooth
SPIDER_A = np.random.default_rng(7).standard_normal((16, 3))
SPIDER_B = np.random.default_rng(8).standard_normal(16)
SPIDER_C = np.linspace(0.1, 1.0, 16)


def spider_grad(x, idx):
    r = SPIDER_A[idx] @ x - SPIDER_B[idx]
    return (r ** 3) @ SPIDER_A[idx] / len(idx) + SPIDER_C[idx].mean() * x


def spider_batches(steps, q, seed=0):
    rng = np.random.default_rng(seed)
    return [np.arange(16) if t % q == 0 else rng.choice(16, 4, replace=False)
            for t in range(steps)]


class RefSpider:
    """SPIDER with the β-normalized step (ynyang94/Gensmooth-IAN-SGD ``Spider_PhaseRetrieval``):
    v = ∇f_S0(x) every q steps, else v ← v + ∇f_S1(x_t) − ∇f_S1(x_{t−1})."""

    def __init__(self, lr, beta, q):
        self.lr, self.beta, self.q, self.t, self.v, self.prev = lr, beta, q, 0, None, None

    def step(self, x, idx):
        if self.t % self.q == 0:
            v = spider_grad(x, idx)
        else:
            v = self.v + spider_grad(x, idx) - spider_grad(self.prev, idx)
        self.v, self.prev, self.t = v, x.copy(), self.t + 1
        n = np.linalg.norm(v)
        return x - self.lr * v / n ** self.beta


def spider_closure(opt, p, batch):
    def closure():
        opt.zero_grad()
        idx = batch[0]
        A, B = Tensor(SPIDER_A[idx]), Tensor(SPIDER_B[idx])
        r = A @ p - B
        loss = 0.25 * (r ** 4).mean() + 0.5 * float(SPIDER_C[idx].mean()) * (p * p).sum()
        loss.backward()
        return loss
    return closure


@pytest.mark.parametrize("lr, beta, q", [(0.1, 1.0, 3), (0.05, 2 / 3, 4)])
def test_spider_trajectory(lr, beta, q):
    x0 = np.array([0.5, -1.0, 0.3])
    p = Parameter(Tensor(x0.copy()))
    opt = optim.BetaNormalizedGD([p], lr=lr, beta=beta, spider_period=q)
    ref, x = RefSpider(lr, beta, q), x0.copy()
    batch = [None]
    closure = spider_closure(opt, p, batch)
    for t, idx in enumerate(spider_batches(12, q)):
        assert opt.refresh_due == (t % q == 0)
        batch[0] = idx
        before = p.numpy().copy()
        opt.step(closure)
        # after the swap to x_{t−1} and back, .grad is again the gradient at x_t
        np.testing.assert_allclose(p.grad.numpy(), spider_grad(before, idx), rtol=1e-12)
        x = ref.step(x, idx)
        np.testing.assert_allclose(p.numpy(), x, rtol=1e-12, atol=1e-13)


def test_spider_save_resume(tmp_path):
    batches = spider_batches(8, 3)
    x0 = np.array([0.5, -1.0, 0.3])
    p = Parameter(Tensor(x0.copy()))
    opt = optim.BetaNormalizedGD([p], lr=0.1, beta=2 / 3, spider_period=3)
    batch = [None]
    full = []
    for idx in batches:
        batch[0] = idx
        opt.step(spider_closure(opt, p, batch))
        full.append(p.numpy().copy())
    p = Parameter(Tensor(x0.copy()))
    opt = optim.BetaNormalizedGD([p], lr=0.1, beta=2 / 3, spider_period=3)
    for idx in batches[:4]:
        batch[0] = idx
        opt.step(spider_closure(opt, p, batch))
    minigrad.save(opt.state_dict(), str(tmp_path / "s.npz"))
    p2 = Parameter(Tensor(p.numpy()))
    opt2 = optim.BetaNormalizedGD([p2], lr=5.0, spider_period=7)
    opt2.load_state_dict(minigrad.load(str(tmp_path / "s.npz")))
    for idx, expected in zip(batches[4:], full[4:]):
        batch[0] = idx
        opt2.step(spider_closure(opt2, p2, batch))
        np.testing.assert_array_equal(p2.numpy(), expected)


@pytest.mark.parametrize("kwargs, match", [(dict(lr=0.0), "lr"), (dict(beta=1.5), "beta"),
                                           (dict(spider_period=0), "spider_period")])
def test_beta_gd_bad_options(kwargs, match):
    with pytest.raises(ValueError, match=f"BetaNormalizedGD.*{match}"):
        optim.BetaNormalizedGD(make_params(initial_values()), **kwargs)


def test_spider_needs_a_closure():
    opt = optim.BetaNormalizedGD(make_params(initial_values()), spider_period=2)
    with pytest.raises(ValueError, match="closure"):
        opt.step()


# ------------------------------------------------------------------ O062 N-PG-IGT
QA = [np.array(2.0), np.array([1.0, 0.5, 3.0]), np.array([[0.7, 1.2], [2.0, 0.4]])]
QM = [np.array(0.3), np.array([1.0, -1.0, 0.5]), np.array([[0.0, 0.2], [-0.4, 1.0]])]
Q_INITS = [np.array(-0.4), np.array([0.3, 0.8, -1.2]), np.array([[1.0, -0.5], [0.25, 0.6]])]


def quartic_grad(thetas):
    return [a * (th - m) + 0.4 * th ** 3 for a, m, th in zip(QA, QM, thetas)]


def quartic_closure(opt, params, where=None):
    def closure():
        opt.zero_grad()
        loss = 0.0
        for a, m, p in zip(QA, QM, params):
            d = p - Tensor(m)
            loss = loss + (0.5 * Tensor(a) * d * d + 0.1 * p ** 4).sum()
        loss.backward()
        if where is not None:
            where.append([p.numpy().copy() for p in params])
        return loss
    return closure


class RefNPGIGT:
    """θ̃_t = θ_t + ((1−η_t)/η_t)(θ_t − θ_{t−1}); d_t = (1−η_t)d_{t−1} + η_t∇f(θ̃_t);
    θ_{t+1} = θ_t − γ_t d_t/‖d_t‖; γ_t = γ_0(2/(t+2))^a, η_t = η_0(2/(t+2))^b."""

    def __init__(self, lr=0.1, eta0=1.0, lr_decay=1.0, eta_decay=0.8):
        self.g0, self.e0, self.a, self.b = lr, eta0, lr_decay, eta_decay
        self.t, self.prev, self.d = 0, None, None
        self.points = []

    def step(self, thetas):
        t = self.t
        eta = self.e0 * (2 / (t + 2)) ** self.b
        gamma = self.g0 * (2 / (t + 2)) ** self.a
        prev = thetas if self.prev is None else self.prev
        tilde = [th + (1 - eta) / eta * (th - pv) for th, pv in zip(thetas, prev)]
        self.points.append(tilde)
        g = quartic_grad(tilde)
        self.d = [(1 - eta) * (0 if self.d is None else dk) + eta * gk
                  for dk, gk in zip(self.d or [None] * len(g), g)]
        n = _global_norm(self.d)
        self.prev = [th.copy() for th in thetas]
        self.t += 1
        return [th - gamma * dk / n for th, dk in zip(thetas, self.d)]


NPG_CFGS = [dict(), dict(lr=0.3, eta0=0.5, lr_decay=0.6, eta_decay=0.8),
            dict(lr=0.05, lr_decay=0.0, eta_decay=0.5)]


@pytest.mark.parametrize("cfg", NPG_CFGS)
def test_npg_igt_trajectory_and_extrapolated_points(cfg):
    params = make_params(Q_INITS)
    opt = optim.NPGIGT(params, **cfg)
    ref = RefNPGIGT(**cfg)
    thetas = [p.numpy().copy() for p in params]
    where = []
    for _ in range(10):
        opt.step(quartic_closure(opt, params, where))
        thetas = ref.step(thetas)
        for p, th in zip(params, thetas):
            np.testing.assert_allclose(p.numpy(), th, rtol=1e-11, atol=1e-12)
    for got, expected in zip(where, ref.points):  # the closure ran at θ̃_t
        for g, e in zip(got, expected):
            np.testing.assert_allclose(g, e, rtol=1e-11, atol=1e-12)


def test_npg_igt_save_resume(tmp_path):
    cfg = NPG_CFGS[1]
    params = make_params(Q_INITS)
    opt = optim.NPGIGT(params, **cfg)
    full = []
    for _ in range(7):
        opt.step(quartic_closure(opt, params))
        full.append([p.numpy().copy() for p in params])
    params = make_params(Q_INITS)
    opt = optim.NPGIGT(params, **cfg)
    for _ in range(3):
        opt.step(quartic_closure(opt, params))
    minigrad.save(opt.state_dict(), str(tmp_path / "n.npz"))
    params2 = make_params([p.numpy() for p in params])
    opt2 = optim.NPGIGT(params2, lr=7.0)
    opt2.load_state_dict(minigrad.load(str(tmp_path / "n.npz")))
    for expected in full[3:]:
        opt2.step(quartic_closure(opt2, params2))
        for p, e in zip(params2, expected):
            np.testing.assert_array_equal(p.numpy(), e)


def test_npg_igt_float32(backend):
    params = make_params(Q_INITS, dtype="float32")
    opt = optim.NPGIGT(params, **NPG_CFGS[1])
    ref = RefNPGIGT(**NPG_CFGS[1])
    thetas = [p.numpy().astype(np.float64) for p in params]
    for _ in range(3):
        opt.step(quartic_closure(opt, params))
        thetas = ref.step(thetas)
    for p, th in zip(params, thetas):
        assert p.dtype == np.float32 and p.backend == backend
        np.testing.assert_allclose(p.numpy(), th, rtol=2e-4, atol=2e-5)


def test_npg_igt_zero_gradient_no_step():
    p = Parameter(Tensor(np.zeros(3)))
    opt = optim.NPGIGT([p])

    def closure():
        opt.zero_grad()
        loss = (p * 0.0).sum()
        loss.backward()
        return loss

    opt.step(closure)
    opt.step(closure)
    np.testing.assert_array_equal(p.numpy(), np.zeros(3))


@pytest.mark.parametrize("kwargs, match", [(dict(lr=0.0), "lr"), (dict(eta0=0.0), "eta0"),
                                           (dict(eta0=1.5), "eta0"), (dict(eta_decay=-1), "decay")])
def test_npg_igt_bad_options(kwargs, match):
    with pytest.raises(ValueError, match=f"NPGIGT.*{match}"):
        optim.NPGIGT(make_params(initial_values()), **kwargs)


def test_npg_igt_needs_a_closure():
    with pytest.raises(ValueError, match="closure"):
        optim.NPGIGT(make_params(initial_values())).step()


# --------------------------------------------------------------- O064 optimistic OMD
class RefOptimisticOMD:
    """Optimistic OMD, Euclidean ψ, two sequences: x_t = Π(x̂_t − η_t M_t) is played;
    x̂_{t+1} = Π(x̂_t − η_t g_t); M_{t+1} = g_t; Π onto {‖x‖ ≤ R} (all parameters);
    η_t = lr or lr/√(δ + Σ_{s<t}‖g_s − M_s‖²)."""

    def __init__(self, lr=1e-2, adaptive=False, delta=1.0, radius=None):
        self.lr, self.adaptive, self.delta, self.R = lr, adaptive, delta, radius
        self.x_hat = self.M = None
        self.var = 0.0

    def eta(self):
        return self.lr / math.sqrt(self.delta + self.var) if self.adaptive else self.lr

    def proj(self, xs):
        if self.R is None:
            return xs
        n = _global_norm(xs)
        return [x * (self.R / n) for x in xs] if n > self.R else xs

    def __call__(self, thetas, grads):
        if self.x_hat is None:
            self.x_hat, self.M = [th.copy() for th in thetas], [np.zeros_like(th) for th in thetas]
        eta = self.eta()
        self.var += sum(float(np.sum((g - m) ** 2)) for g, m in zip(grads, self.M))
        self.x_hat = self.proj([xh - eta * g for xh, g in zip(self.x_hat, grads)])
        self.M = [g.copy() for g in grads]
        eta = self.eta()
        return self.proj([xh - eta * m for xh, m in zip(self.x_hat, self.M)])


OMD_CFGS = [dict(), dict(lr=0.05), dict(lr=0.5, adaptive=True, delta=2.0),
            dict(lr=0.3, adaptive=True, radius=1.5)]


@pytest.mark.parametrize("cfg", OMD_CFGS)
def test_optimistic_omd_trajectory(cfg):
    check_trajectory(optim.OptimisticOMD, RefOptimisticOMD(**cfg), cfg)


def test_optimistic_omd_is_past_extragradient_when_unconstrained():
    """Fixed η, no projection: x_{t+1} = x_t − η(2g_t − g_{t−1}) (g_0 = 0)."""
    p = Parameter(Tensor(np.array([1.0, -1.0])))
    opt = optim.OptimisticOMD([p], lr=0.1)
    x, g_prev = np.array([1.0, -1.0]), np.zeros(2)
    for t in range(1, 6):
        g = np.array([math.sin(t), math.cos(2 * t)]) + 0.5 * x
        p.grad = Tensor(g)
        opt.step()
        x = x - 0.1 * (2 * g - g_prev)
        g_prev = g
        np.testing.assert_allclose(p.numpy(), x, rtol=1e-13, atol=1e-14)


def test_optimistic_omd_projection_keeps_the_ball_and_state_roundtrip(tmp_path, backend):
    cfg = dict(lr=0.3, adaptive=True, radius=1.5)
    check_save_resume(optim.OptimisticOMD, cfg, tmp_path)
    check_float32(optim.OptimisticOMD, RefOptimisticOMD(**cfg), cfg, backend)
    params = make_params(initial_values())
    opt = optim.OptimisticOMD(params, lr=5.0, radius=1.0)
    for t in range(1, 5):
        for k, p in enumerate(params):
            p.grad = Tensor(np.full(p.shape, 10.0 * (-1) ** (t + k)))
        opt.step()
        assert _global_norm([p.numpy() for p in params]) <= 1.0 + 1e-12


def test_optimistic_omd_zero_gradients_and_bad_options():
    p = Parameter(Tensor(np.array([0.5, 0.0])))
    opt = optim.OptimisticOMD([p], lr=1.0, adaptive=True)
    p.grad = Tensor(np.zeros(2))
    opt.step()
    np.testing.assert_array_equal(p.numpy(), [0.5, 0.0])
    for kwargs, match in [(dict(lr=0.0), "lr"), (dict(delta=0.0), "delta"),
                          (dict(radius=-1.0), "radius")]:
        with pytest.raises(ValueError, match=f"OptimisticOMD: {match}"):
            optim.OptimisticOMD([p], **kwargs)


# ------------------------------------------------------------------ O066 greedy BCD
class RefGreedyBCD:
    """IssamLaradji/BlockCoordinateDescent, fixed blocks: GS score Σ|g_b|, GSL Σ|g_b|/√L_b
    (norm=2: ‖g_b‖₂ instead); first maximum wins; x_b ← x_b − g_b/L_b."""

    def __init__(self, blocks, lipschitz, rule="gsl", norm=1):
        self.blocks, self.L, self.rule, self.norm = blocks, lipschitz, rule, norm
        self.selected = []

    def __call__(self, thetas, grads):
        best, best_score = None, -1.0
        for i, block in enumerate(self.blocks):
            g = np.concatenate([grads[k].ravel() for k in block])
            s = np.abs(g).sum() if self.norm == 1 else np.sqrt((g * g).sum())
            if self.rule == "gsl":
                s = s / np.sqrt(self.L[i])
            if s > best_score:
                best, best_score = i, s
        self.selected.append(best)
        out = [th.copy() for th in thetas]
        for k in self.blocks[best]:
            out[k] = thetas[k] - grads[k] / self.L[best]
        return out


@pytest.mark.parametrize("rule, norm, lips", [("gsl", 1, (4.0, 1.0, 9.0)),
                                              ("gs", 1, (2.0, 2.0, 3.0)),
                                              ("gsl", 2, (1.0, 0.5, 20.0))])
def test_greedy_bcd_per_parameter_blocks(rule, norm, lips):
    params = make_params(initial_values())
    groups = [{"params": [p], "lipschitz": L} for p, L in zip(params, lips)]
    opt = optim.GreedyBCD(groups, rule=rule, norm=norm)
    ref = RefGreedyBCD([[0], [1], [2]], lips, rule, norm)
    thetas = [v.copy() for v in initial_values()]
    from tests.test_optimizers import feed_grads, synthetic_grad
    selected = []
    for t in range(1, 10):
        feed_grads(params, t)
        grads = [synthetic_grad(th, t, k) for k, th in enumerate(thetas)]
        opt.step()
        selected.append(opt.selected)
        thetas = ref(thetas, grads)
        for p, th in zip(params, thetas):
            np.testing.assert_allclose(p.numpy(), th, rtol=1e-13, atol=1e-14)
    assert selected == ref.selected
    if (rule, norm) == ("gsl", 1):
        assert len(set(selected)) > 1  # the Lipschitz weights change the choice


def test_greedy_bcd_groups_as_blocks_and_params_option():
    cfg = dict(rule="gsl", lipschitz=2.0, blocks="params")
    check_trajectory(optim.GreedyBCD, RefGreedyBCD([[0], [1], [2]], (2.0,) * 3), cfg)
    params = make_params(initial_values())
    opt = optim.GreedyBCD([{"params": params[:2], "lipschitz": 3.0},
                           {"params": params[2:], "lipschitz": 1.0}], rule="gs")
    ref = RefGreedyBCD([[0, 1], [2]], (3.0, 1.0), rule="gs")
    from tests.test_optimizers import feed_grads, synthetic_grad
    thetas = [v.copy() for v in initial_values()]
    for t in range(1, 8):
        feed_grads(params, t)
        grads = [synthetic_grad(th, t, k) for k, th in enumerate(thetas)]
        opt.step()
        thetas = ref(thetas, grads)
        for p, th in zip(params, thetas):
            np.testing.assert_allclose(p.numpy(), th, rtol=1e-13, atol=1e-14)


def test_greedy_bcd_tie_goes_to_the_lowest_index_and_quadratic_converges():
    a, b = Parameter(Tensor(np.array([1.0]))), Parameter(Tensor(np.array([-1.0])))
    opt = optim.GreedyBCD([{"params": [a]}, {"params": [b]}], rule="gs")
    a.grad, b.grad = Tensor(np.array([2.0])), Tensor(np.array([-2.0]))
    opt.step()
    assert opt.selected == 0 and a.numpy()[0] == -1.0 and b.numpy()[0] == -1.0
    # f(x) = ½xᵀAx − cᵀx with blocks of sizes 2 and 1, L_b = λ_max(A_bb): converges to A⁻¹c
    A = np.array([[3.0, 0.5, 0.2], [0.5, 2.0, 0.3], [0.2, 0.3, 1.0]])
    c = np.array([1.0, -1.0, 0.5])
    x1, x2 = Parameter(Tensor(np.zeros(2))), Parameter(Tensor(np.zeros(1)))
    opt = optim.GreedyBCD([{"params": [x1], "lipschitz": float(np.linalg.eigvalsh(A[:2, :2])[-1])},
                           {"params": [x2], "lipschitz": 1.0}], rule="gsl")
    for _ in range(300):
        x = np.concatenate([x1.numpy(), x2.numpy()])
        g = A @ x - c
        x1.grad, x2.grad = Tensor(g[:2]), Tensor(g[2:])
        opt.step()
    np.testing.assert_allclose(np.concatenate([x1.numpy(), x2.numpy()]), np.linalg.solve(A, c),
                               atol=1e-10)


def test_greedy_bcd_save_resume_float32_and_bad_options(tmp_path, backend):
    cfg = dict(rule="gs", lipschitz=4.0, blocks="params")
    # save → load → continue (no lr to vary: the step is 1/L_b)
    from tests.test_optimizers import run_optimizer
    params = make_params(initial_values())
    full = run_optimizer(optim.GreedyBCD(params, **cfg), params, steps=6)
    params = make_params(initial_values())
    opt = optim.GreedyBCD(params, **cfg)
    run_optimizer(opt, params, steps=3)
    minigrad.save(opt.state_dict(), str(tmp_path / "g.npz"))
    params2 = make_params([p.numpy() for p in params])
    opt2 = optim.GreedyBCD(params2, rule="gsl", lipschitz=1.0)
    opt2.load_state_dict(minigrad.load(str(tmp_path / "g.npz")))
    assert opt2.rule == "gs" and opt2.selected == opt.selected
    for got, expected in zip(run_optimizer(opt2, params2, steps=3, first_t=4), full[3:]):
        for g, e in zip(got, expected):
            np.testing.assert_array_equal(g, e)
    check_float32(optim.GreedyBCD, RefGreedyBCD([[0], [1], [2]], (4.0,) * 3, rule="gs"), cfg,
                  backend)
    params = make_params(initial_values())
    for kwargs, match in [(dict(rule="gsq"), "rule"), (dict(blocks="rows"), "blocks"),
                          (dict(norm=3), "norm"), (dict(lipschitz=0.0), "lipschitz")]:
        with pytest.raises(ValueError, match=f"GreedyBCD: {match}"):
            optim.GreedyBCD(params, **kwargs)
    with pytest.raises(ValueError, match="GreedyBCD: lipschitz"):
        optim.GreedyBCD([{"params": params, "lipschitz": -1.0}])
    p = Parameter(Tensor(np.ones(2)))
    opt = optim.GreedyBCD([p])
    p.grad = Tensor(np.zeros(2))
    opt.step()
    np.testing.assert_array_equal(p.numpy(), np.ones(2))
