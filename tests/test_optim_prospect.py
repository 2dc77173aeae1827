"""O070 prospect (minigrad.optim.prospect) against an independent float64 NumPy transcription
of ronakdm/prospect's loop on least squares (its isotonic step written with the max–min
formula instead of pool-adjacent-violators), the smoothed weights' defining properties,
convergence to a stationary point of the smoothed spectral risk, save → load → continue,
float32 on every backend and bad options."""
import numpy as np
import pytest

import minigrad
from minigrad import optim
from minigrad.layers.module import Parameter
from minigrad.optim.prospect import spectral_smooth_weights
from minigrad.tensor import Tensor

TESTED = {"prospect"}


def isotonic_maxmin(y):
    """x_k = max_{i≤k} min_{j≥k} mean(y_i..y_j): the increasing isotonic regression."""
    n = len(y)
    return np.array([max(min(np.mean(y[i:j + 1]) for j in range(k, n)) for i in range(k + 1))
                     for k in range(n)])


def ref_weights(losses, sigma, c):
    n = len(losses)
    if c < 1e-16:
        out = np.empty(n)
        out[np.argsort(losses, kind="stable")] = sigma
        return out
    perm = np.argsort(losses, kind="stable")
    s = np.empty(n)
    s[perm] = isotonic_maxmin(losses[perm] / c + 1 / n - sigma)
    return losses / c - s + 1 / n


def superquantile(n, alpha=0.5):
    """CVaR_α spectrum: weight 1/(n(1−α)) on the top (1−α)n losses (fractional at the edge)."""
    edges = np.arange(n + 1) / n
    cdf = np.clip((edges - alpha) / (1 - alpha), 0, 1)
    return np.diff(cdf)


def extremile(n, r=2.0):
    k = np.arange(n + 1)
    return np.diff((k / n) ** r)


class RefProspect:
    """ronakdm/prospect src/optim/prospect.py, least squares ℓ_i = ½(x_iᵀw − y_i)²."""

    def __init__(self, X, y, w, sigma, lr, nu, mu, seed):
        self.X, self.y, self.w, self.sigma = X, y, w.copy(), sigma
        self.lr, self.c, self.mu = lr, len(y) * nu, mu
        self.rng = np.random.default_rng(seed)
        n = len(y)
        r = X @ self.w - y
        self.l = 0.5 * r * r
        self.G = r[:, None] * X
        self.lam = ref_weights(self.l, sigma, self.c)
        self.rho = self.lam.copy()
        self.gbar = self.G.T @ self.rho
        self.n = n

    def step(self):
        n = self.n
        i = int(self.rng.integers(0, n))
        r = self.X[i] @ self.w - self.y[i]
        g, loss = r * self.X[i], 0.5 * r * r
        v = n * self.lam[i] * g - n * self.rho[i] * self.G[i] + self.gbar
        self.w = (self.w - self.lr * v) / (1 + self.lr * self.mu)
        self.l[i] = loss
        cur = self.lam[i]
        self.lam = ref_weights(self.l, self.sigma, self.c)
        rho_old = self.rho[i]
        self.rho[i] = cur
        self.gbar = self.gbar + cur * g - rho_old * self.G[i]
        self.G[i] = g
        return self.w.copy()


def data(n=7, d=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)), rng.standard_normal(n)


def make(X, y, w0, sigma, dtype="float64", **cfg):
    w = Parameter(Tensor(np.array(w0, dtype=dtype)))
    Xt, yt = Tensor(X.astype(dtype)), Tensor(y.astype(dtype))

    def sample_loss(i):
        r = (Xt[i] * w).sum() - yt[i]
        return 0.5 * r * r
    return w, optim.Prospect(sample_loss, [w], len(y), sigma, **cfg)


@pytest.mark.parametrize("spectrum,cfg", [
    ("superquantile", dict(generator=3)),
    ("extremile", dict(lr=0.03, shift_cost=0.1, weight_decay=0.2, generator=7)),
    ("superquantile", dict(lr=0.02, shift_cost=0.0, weight_decay=1.0, generator=1))])
def test_O070_trajectory_against_reference(spectrum, cfg):
    X, y = data()
    sigma = superquantile(7) if spectrum == "superquantile" else extremile(7)
    w0 = np.array([0.5, -0.3, 0.2])
    w, opt = make(X, y, w0, sigma, **cfg)
    ref = RefProspect(X, y, w0, sigma, cfg.get("lr", 0.01), cfg.get("shift_cost", 1.0),
                      cfg.get("weight_decay", 0.0), cfg["generator"])
    for _ in range(25):
        opt.step()
        np.testing.assert_allclose(w.numpy(), ref.step(), rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(opt.tables["lam"], ref.lam, rtol=1e-12, atol=1e-14)


def test_O070_smooth_weights_properties():
    rng = np.random.default_rng(0)
    n = 9
    sigma = extremile(n, 3.0)
    for c in (1e-3, 0.5, 5.0, 100.0):
        losses = rng.standard_normal(n)
        q = spectral_smooth_weights(losses, sigma, c)
        np.testing.assert_allclose(q, ref_weights(losses, sigma, c), rtol=1e-12, atol=1e-14)
        assert abs(q.sum() - 1) < 1e-12
        # q lies in the permutahedron of σ: its sorted partial sums majorize-bound σ's
        qs = np.sort(q)[::-1].cumsum()
        ss = np.sort(sigma)[::-1].cumsum()
        assert np.all(qs <= ss + 1e-12)
    # uniform spectrum: uniform weights whatever the losses (ERM)
    np.testing.assert_allclose(spectral_smooth_weights(rng.standard_normal(n), np.ones(n) / n, 2.0),
                               np.ones(n) / n, atol=1e-15)
    # no smoothing: σ at the losses' ranks
    losses = rng.standard_normal(n)
    q = spectral_smooth_weights(losses, sigma, 0.0)
    np.testing.assert_array_equal(q[np.argsort(losses)], sigma)


def test_O070_converges_to_a_stationary_point():
    """∇F(w) = Σ_i q_i(w)∇ℓ_i(w) + μw (Danskin; q unique for ν > 0) vanishes at the limit."""
    X, y = data(n=6, d=2, seed=4)
    sigma = superquantile(6, 0.5)
    nu, mu = 1.0, 0.5
    w, opt = make(X, y, [0.0, 0.0], sigma, lr=0.01, shift_cost=nu, weight_decay=mu, generator=0)
    for _ in range(4000):
        opt.step()
    wv = w.numpy()
    r = X @ wv - y
    q = ref_weights(0.5 * r * r, sigma, 6 * nu)
    grad = (q * r) @ X + mu * wv
    assert np.linalg.norm(grad) < 1e-6


def test_O070_save_resume_bit_identical(tmp_path):
    X, y = data()
    sigma = extremile(7)
    cfg = dict(lr=0.03, shift_cost=0.5, weight_decay=0.1, generator=11)
    w, opt = make(X, y, [0.5, -0.3, 0.2], sigma, **cfg)
    full = []
    for _ in range(9):
        opt.step()
        full.append(w.numpy().copy())
    w, opt = make(X, y, [0.5, -0.3, 0.2], sigma, **cfg)
    for _ in range(4):
        opt.step()
    minigrad.save(opt.state_dict(), str(tmp_path / "p.npz"))
    w2, opt2 = make(X, y, w.numpy(), sigma, **dict(cfg, lr=5.0, generator=99))
    opt2.load_state_dict(minigrad.load(str(tmp_path / "p.npz")))
    for k in range(4, 9):
        opt2.step()
        np.testing.assert_array_equal(w2.numpy(), full[k])


def test_O070_float32(backend):
    X, y = data()
    sigma = superquantile(7)
    w, opt = make(X, y, [0.5, -0.3, 0.2], sigma, dtype="float32", generator=3)
    ref = RefProspect(X, y, np.array([0.5, -0.3, 0.2]), sigma, 0.01, 1.0, 0.0, 3)
    for _ in range(5):
        opt.step()
        expected = ref.step()
    assert w.dtype == np.float32 and w.backend == backend
    for value in opt.state[w].values():
        assert value.dtype == np.float32
    np.testing.assert_allclose(w.numpy(), expected, rtol=2e-4, atol=2e-5)


def test_O070_zero_gradients_and_bad_options():
    X, y = data()
    sigma = superquantile(7)
    w, opt = make(X @ np.zeros((3, 3)), np.zeros(7), [0.0, 0.0, 0.0], sigma, generator=0)
    opt.step()
    np.testing.assert_array_equal(w.numpy(), [0.0, 0.0, 0.0])
    assert np.all(np.isfinite(opt.tables["lam"]))
    with pytest.raises(ValueError, match="Prospect"):
        make(X, y, [0.0] * 3, sigma, lr=0)
    with pytest.raises(ValueError, match="Prospect"):
        make(X, y, [0.0] * 3, sigma[::-1])
    with pytest.raises(ValueError, match="Prospect"):
        make(X, y, [0.0] * 3, sigma[:5])
    with pytest.raises(ValueError, match="Prospect"):
        make(X, y, [0.0] * 3, sigma, shift_cost=-1)
    with pytest.raises(ValueError, match="closure"):
        opt.step(lambda: None)
