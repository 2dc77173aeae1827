"""Recent update rules: Muon, SPAM, Stable-SPAM, MoMo and MoMo-Adam, step by step against
independent float64 transcriptions of their reference code (plain NumPy below, never calling
minigrad.optim), save → load → continue, float32 on every backend, and their edge cases."""
import math

import numpy as np
import pytest

from minigrad import optim
from minigrad.backends import to_numpy
from minigrad.layers.module import Parameter
from minigrad.tensor import Tensor
from tests.optim_checks import check_float32, check_save_resume, check_trajectory
from tests.test_optimizers import initial_values, make_params, run_optimizer

TESTED = {"muon", "spam", "stable_spam", "momo", "momo_adam", "ranger21", "galore_projection", "agvm"}

MATRIX_INITS = initial_values([(3, 4), (5, 3), (2, 3, 2), (4,), ()], seed=1)


# ------------------------------------------------------------------------------ Muon
def ref_newton_schulz(G, coefficients=(3.4445, -4.7750, 2.0315), steps=5, eps=1e-7):
    """KellerJordan/Muon's quintic iteration on a wide matrix (tall ones transposed)."""
    a, b, c = coefficients
    transpose = G.shape[0] > G.shape[1]
    X = G.T if transpose else G
    X = X / (np.sqrt(np.sum(X * X)) + eps)
    for _ in range(steps):
        gram = X @ X.T
        X = a * X + b * (gram @ X) + c * (gram @ (gram @ X))
    return X.T if transpose else X


class RefMuon:
    """KellerJordan/Muon ``muon_update`` for ≥ 2-axis tensors (viewed as shape[0] × rest),
    the ``adam_update`` of ``SingleDeviceMuonWithAuxAdam`` with decoupled decay for the rest."""

    def __init__(self, lr=0.02, weight_decay=0, momentum=0.95, nesterov=True, ns_steps=5,
                 adjust_lr_fn=None, adamw_lr=3e-4, adamw_betas=(0.9, 0.95), adamw_eps=1e-10,
                 adamw_wd=0):
        self.lr, self.wd, self.mu, self.nesterov, self.ns = lr, weight_decay, momentum, nesterov, ns_steps
        self.adjust = adjust_lr_fn
        self.alr, (self.b1, self.b2), self.aeps, self.awd = adamw_lr, adamw_betas, adamw_eps, adamw_wd
        self.buf, self.m, self.v, self.t = {}, {}, {}, 0

    def __call__(self, thetas, grads):
        self.t += 1
        out = []
        for k, (th, g) in enumerate(zip(thetas, grads)):
            if th.ndim >= 2:
                self.buf[k] = self.mu * self.buf.get(k, 0.0) + (1 - self.mu) * g
                u = (1 - self.mu) * g + self.mu * self.buf[k] if self.nesterov else self.buf[k]
                rows, cols = th.shape[0], th.size // th.shape[0]
                o = ref_newton_schulz(u.reshape(rows, cols), steps=self.ns).reshape(th.shape)
                s = (0.2 * math.sqrt(max(rows, cols)) if self.adjust == "match_rms_adamw"
                     else math.sqrt(max(1.0, rows / cols)))
                out.append(th * (1 - self.lr * self.wd) - self.lr * s * o)
            else:
                self.m[k] = self.b1 * self.m.get(k, 0.0) + (1 - self.b1) * g
                self.v[k] = self.b2 * self.v.get(k, 0.0) + (1 - self.b2) * g * g
                mh, vh = self.m[k] / (1 - self.b1 ** self.t), self.v[k] / (1 - self.b2 ** self.t)
                out.append(th * (1 - self.alr * self.awd) - self.alr * mh / (np.sqrt(vh) + self.aeps))
        return out


MUON_CONFIGS = [dict(), dict(lr=0.05, weight_decay=0.1, momentum=0.9, nesterov=False, ns_steps=3,
                             adamw_lr=1e-2, adamw_wd=0.05),
                dict(adjust_lr_fn="match_rms_adamw", lr=0.01, adamw_betas=(0.8, 0.99))]


@pytest.mark.parametrize("cfg", MUON_CONFIGS)
def test_muon_trajectory(cfg):
    check_trajectory(optim.Muon, RefMuon(**cfg), cfg, inits=MATRIX_INITS, rtol=1e-11, atol=1e-12)


def test_muon_save_resume_and_float32(tmp_path, backend):
    check_save_resume(optim.Muon, MUON_CONFIGS[1], tmp_path, inits=MATRIX_INITS)
    check_float32(optim.Muon, RefMuon(**MUON_CONFIGS[1]), MUON_CONFIGS[1], backend,
                  inits=MATRIX_INITS)


def test_newton_schulz_is_close_to_the_polar_factor():
    """NS5 keeps G's singular vectors exactly (an odd polynomial of G) and puts the singular
    values in KellerJordan's band of about [0.68, 1.13] instead of at 1."""
    rng = np.random.default_rng(3)
    for shape in [(6, 4), (4, 6), (5, 5)]:
        G = rng.standard_normal(shape)
        O = optim.zeropower_via_newtonschulz(G)
        U, _, Vt = np.linalg.svd(G, full_matrices=False)
        inner = U.T @ O @ Vt.T
        np.testing.assert_allclose(inner - np.diag(np.diag(inner)), 0, atol=1e-10)
        s = np.diag(inner)
        assert np.all((s > 0.6) & (s < 1.2)), s
        assert np.linalg.norm(O - U @ Vt, 2) < 0.4
        # more classic cubic steps (a, b, c) = (1.5, -0.5, 0) converge to U Vᵀ itself
        P = optim.zeropower_via_newtonschulz(G, (1.5, -0.5, 0.0), ns_steps=60)
        np.testing.assert_allclose(P, U @ Vt, atol=1e-8)


def test_muon_groups_and_edge_cases():
    w, b = Parameter(Tensor(np.ones((3, 2)))), Parameter(Tensor(np.ones(2)))
    opt = optim.Muon([w, b], lr=0.1, adamw_lr=0.01)
    assert [g["use_muon"] for g in opt.param_groups] == [True, False]
    assert opt.param_groups[1]["lr"] == 0.01 and opt.param_groups[1]["betas"] == (0.9, 0.95)
    with pytest.raises(ValueError, match="use_muon=True"):
        optim.Muon([{"params": [b], "use_muon": True}])
    head = Parameter(Tensor(np.ones((2, 2))))
    opt = optim.Muon([{"params": [head], "use_muon": False, "lr": 0.5}])
    assert opt.param_groups[0]["lr"] == 0.5 and opt.param_groups[0]["eps"] == 1e-10
    w.grad = Tensor(np.zeros((3, 2)))                     # zero gradient: no move, no NaN
    b.grad = Tensor(np.zeros(2))
    opt = optim.Muon([w, b])
    opt.step()
    np.testing.assert_array_equal(w.numpy(), 1.0)
    np.testing.assert_array_equal(b.numpy(), 1.0)
    w.grad = Tensor(np.full((3, 2), 1e300))               # huge: the step is still lr·s·O
    opt.step()
    assert np.all(np.isfinite(w.numpy()))
    for bad in [dict(lr=-1), dict(momentum=1.0), dict(ns_steps=0), dict(adjust_lr_fn="x"),
                dict(ns_coefficients=(1, 2)), dict(adamw_betas=(0.9, 1.0))]:
        with pytest.raises(ValueError, match="Muon"):
            optim.Muon([w], **bad)


# ------------------------------------------------------------------------------ SPAM
class RefSPAM:
    """TianjinYellow/StableSPAM galore_torch/SPAM.py (density 1), with ``update_proj_gap``."""

    def __init__(self, lr=1e-3, betas=(0.9, 0.999), eps=1e-6, weight_decay=0, warmup_epoch=50,
                 threshold=5000, grad_accu_steps=20, update_proj_gap=500):
        self.lr, (self.b1, self.b2), self.eps, self.wd = lr, betas, eps, weight_decay
        self.N, self.thr, self.accu, self.gap = warmup_epoch, threshold, grad_accu_steps, update_proj_gap
        self.total, self.current = 0, warmup_epoch + 1
        self.m, self.v, self.k = {}, {}, {}

    def death_rate(self, c):
        if c >= self.N:
            return 0.0
        return 0.99 * 0.5 * (1 + math.cos(math.pi * c / (self.N + 1)))

    def __call__(self, thetas, grads):
        scale = 1 - self.death_rate(self.current)
        out = []
        for j, (th, g) in enumerate(zip(thetas, grads)):
            g = np.array(g, dtype=np.float64)
            if j not in self.m or (self.total + 1) % self.gap == 0:
                self.m[j], self.v[j] = np.zeros_like(g), np.zeros_like(g)
            self.k[j] = self.k.get(j, 0) + 1
            t = self.total + 1
            if self.thr != 0 and t >= self.accu and t % self.gap >= self.accu:
                spike = g ** 2 > self.thr * self.v[j]
                g[spike] = np.sign(g[spike]) * np.sqrt(self.thr * self.v[j][spike])
            self.m[j] = self.b1 * self.m[j] + (1 - self.b1) * g
            self.v[j] = self.b2 * self.v[j] + (1 - self.b2) * g ** 2
            step = self.lr * math.sqrt(1 - self.b2 ** self.k[j]) / (1 - self.b1 ** self.k[j])
            th = th - step * scale * self.m[j] / (np.sqrt(self.v[j]) + self.eps)
            out.append(th - self.lr * self.wd * th)
        self.total += 1
        self.current += 1
        if (self.total + 1) % self.gap == 0:
            self.current = 0
        return out


SPAM_CONFIGS = [dict(), dict(lr=1e-2, weight_decay=0.1, warmup_epoch=3, threshold=1.5,
                             grad_accu_steps=2, update_proj_gap=4, betas=(0.8, 0.9))]


@pytest.mark.parametrize("cfg", SPAM_CONFIGS)
def test_spam_trajectory(cfg):
    check_trajectory(optim.SPAM, RefSPAM(**cfg), cfg, steps=12)


def test_spam_clips_spikes_and_resets():
    """With the small threshold of config 1 some entries are clipped, and the moments are
    zero again right after the reset steps (T = 4, 8)."""
    cfg = SPAM_CONFIGS[1]
    params = make_params(initial_values())
    opt = optim.SPAM(params, **cfg)
    ref = RefSPAM(**cfg)
    run_optimizer(opt, params, steps=3)
    assert opt.global_state == {"total_step": 3, "current_step": 0}
    assert ref.death_rate(0) == pytest.approx(0.99)
    # an injected spike is clipped to √(θ·v)
    p = Parameter(Tensor(np.zeros(3)))
    opt = optim.SPAM([p], lr=1.0, threshold=4.0, grad_accu_steps=2, update_proj_gap=1000,
                     betas=(0.0, 0.5), eps=0.0)
    p.grad = Tensor(np.array([1.0, 1.0, 1.0]))
    opt.step()                                         # v = 0.5, no clip at T = 1 (v = 0 before)
    p.grad = Tensor(np.array([1.0, 100.0, -100.0]))
    opt.step()                                         # |g| > √(4·0.5) → ±√2
    v = 0.5 * 0.5 + 0.5 * np.array([1.0, 2.0, 2.0])
    state = opt.state[p]
    np.testing.assert_allclose(to_numpy(state["exp_avg"]), [1.0, math.sqrt(2), -math.sqrt(2)])
    np.testing.assert_allclose(to_numpy(state["rms"]) ** 2, v)


def test_spam_save_resume_float32_and_bad_options(tmp_path, backend):
    check_save_resume(optim.SPAM, SPAM_CONFIGS[1], tmp_path, steps=9, split=5)
    check_float32(optim.SPAM, RefSPAM(**SPAM_CONFIGS[1]), SPAM_CONFIGS[1], backend, steps=6)
    p = Parameter(Tensor(np.zeros(2)))
    for bad in [dict(lr=-1), dict(betas=(1.0, 0.9)), dict(threshold=-1), dict(update_proj_gap=0)]:
        with pytest.raises(ValueError, match="SPAM"):
            optim.SPAM([p], **bad)


# ------------------------------------------------------------------------ Stable-SPAM
class RefStableSPAM:
    """TianjinYellow/StableSPAM galore_torch/stablespam.py, including its late reset (the
    moments of the reset step are the old ones, the zeroed ones start one step later)."""

    def __init__(self, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False,
                 gamma1=0.7, gamma2=0.9, gamma3=0.999, total_T=None, eta_min=0.5,
                 update_proj_gap=1000):
        self.lr, self.betas, self.eps, self.wd, self.ams = lr, betas, eps, weight_decay, amsgrad
        self.g1, self.g2, self.th = (betas[0] if gamma1 == -1 else gamma1), gamma2, gamma3
        self.T, self.eta_min, self.gap = total_T, eta_min, update_proj_gap
        self.total, self.s = 0, {}

    def cosine(self, t):
        if t >= self.T:
            return self.eta_min
        return self.eta_min + (1 - self.eta_min) * (1 + math.cos(math.pi * t / (self.T + 1))) / 2

    def __call__(self, thetas, grads):
        self.total += 1
        scale = 1.0 if self.T is None else self.cosine(self.total)
        out = []
        for j, (th, g) in enumerate(zip(thetas, grads)):
            th = th * (1 - self.lr * self.wd)
            g = np.array(g, dtype=np.float64)
            if j not in self.s:
                self.s[j] = dict(step=0, m=np.zeros_like(g), v=np.zeros_like(g), mn=0.0, vn=0.0,
                                 mmax=0.0, vmax=np.zeros_like(g))
            st = self.s[j]
            gmax = np.max(np.abs(g))
            st["step"] += 1
            st["mmax"] = self.th * st["mmax"] + (1 - self.th) * gmax
            mhat = st["mmax"] / (1 - self.th ** st["step"])
            spike = np.abs(g) > mhat
            g[spike] = g[spike] / gmax * mhat
            n = np.sqrt(np.sum(g * g))
            st["mn"] = self.g1 * scale * st["mn"] + (1 - self.g1 * scale) * n
            st["vn"] = self.g2 * st["vn"] + (1 - self.g2) * n ** 2
            mnh = st["mn"] / (1 - (self.g1 * scale) ** st["step"])
            vnh = st["vn"] / (1 - self.g2 ** st["step"])
            if n > 0:
                g = g / n * (mnh / (np.sqrt(vnh) + self.eps))
            reset = self.gap != 0 and self.total % self.gap == 0
            if reset:
                st["step"] = 1
            b1, b2 = self.betas[0] * scale, self.betas[1]
            m = b1 * st["m"] + (1 - b1) * g
            v = b2 * st["v"] + (1 - b2) * g * g
            st["m"], st["v"] = (np.zeros_like(g), np.zeros_like(g)) if reset else (m, v)
            if self.ams:
                st["vmax"] = np.maximum(st["vmax"], v)
                v = st["vmax"]
            denom = np.sqrt(v) / math.sqrt(1 - b2 ** st["step"]) + self.eps
            out.append(th - self.lr / (1 - b1 ** st["step"]) * m / denom)
        return out


STABLE_CONFIGS = [dict(), dict(lr=1e-2, weight_decay=0.1, amsgrad=True, gamma1=0.85, gamma2=0.99,
                               gamma3=0.9, total_T=6, eta_min=0.3, update_proj_gap=4),
                  dict(gamma1=-1, gamma3=0.5, update_proj_gap=0, eps=1e-6)]


@pytest.mark.parametrize("cfg", STABLE_CONFIGS)
def test_stable_spam_trajectory(cfg):
    check_trajectory(optim.StableSPAM, RefStableSPAM(**cfg), cfg, steps=11)


def test_stable_spam_save_resume_float32_and_edges(tmp_path, backend):
    check_save_resume(optim.StableSPAM, STABLE_CONFIGS[1], tmp_path, steps=9, split=5)
    check_float32(optim.StableSPAM, RefStableSPAM(**STABLE_CONFIGS[1]), STABLE_CONFIGS[1],
                  backend, steps=6)
    p = Parameter(Tensor(np.ones(3, dtype=np.float32)))
    opt = optim.StableSPAM([p])
    p.grad = Tensor(np.zeros(3, dtype=np.float32))       # zero gradient: no move, no NaN
    opt.step()
    np.testing.assert_array_equal(p.numpy(), 1.0)
    p.grad = Tensor(np.array([3e37, -3e37, 1.0], dtype=np.float32))   # ‖g‖² overflows float32
    opt.step()
    assert np.all(np.isfinite(p.numpy())) and not np.allclose(p.numpy(), 1.0)
    for bad in [dict(lr=-1), dict(gamma2=1.0), dict(total_T=0), dict(update_proj_gap=-1)]:
        with pytest.raises(ValueError, match="StableSPAM"):
            optim.StableSPAM([p], **bad)


def test_stable_spam_clips_an_injected_spike():
    """γ₃ = 0.5: after a step with max|g| = 1, M̂ = (0.25 + 0.5·100)/(0.75) for a spike of 100;
    the spike is scaled to M̂ and the other entries stay (before the norm rescaling)."""
    p = Parameter(Tensor(np.zeros(2)))
    opt = optim.StableSPAM([p], gamma3=0.5)
    p.grad = Tensor(np.array([1.0, 0.5]))
    opt.step()
    p.grad = Tensor(np.array([100.0, 0.5]))
    opt.step()
    assert float(opt.state[p]["m_max_t"]) == pytest.approx(0.25 + 50.0)
    ref = RefStableSPAM(gamma3=0.5)
    th = ref([np.zeros(2)], [np.array([1.0, 0.5])])
    th = ref(th, [np.array([100.0, 0.5])])
    np.testing.assert_allclose(p.numpy(), th[0], rtol=1e-12)


# ------------------------------------------------------------------------------ MoMo
def synthetic_loss(thetas):
    """The loss value handed to MoMo with the synthetic gradients (any number would do: MoMo
    only reads it; this one is non-negative, as MoMo's default lower bound 0 assumes)."""
    return 0.3 + 0.25 * sum(float(np.sum(np.asarray(th, dtype=np.float64) ** 2)) for th in thetas)


def with_loss(cls):
    """``cls`` whose argument-less ``step()`` passes ``loss=synthetic_loss(params)``, so the
    shared checks (which call ``step()``) can drive it."""
    class Driven(cls):
        def step(self, closure=None, loss=None):
            return super().step(loss=synthetic_loss([p.numpy() for p in self._params()]))
    Driven.__name__ = cls.__name__
    return Driven


class RefMomo:
    """fabian-sp/MoMo momo/momo.py (Momo.step), one parameter group."""

    def __init__(self, lr=1.0, weight_decay=0, beta=0.9, lb=0, bias_correction=False,
                 use_fstar=False):
        self.lr, self.lam, self.beta, self.lb0 = lr, weight_decay, beta, lb
        self.lb, self.bc, self.fstar = lb, bias_correction, use_fstar
        self.k, self.d, self.gdw, self.favg = 0, {}, {}, 0.0

    def __call__(self, thetas, grads):
        f = synthetic_loss(thetas)
        b, lr, lam = self.beta, self.lr, self.lam
        self.k += 1
        if self.k == 1:
            self.favg = 0.0 if self.bc else f
            for j, (x, g) in enumerate(zip(thetas, grads)):
                self.d[j] = np.zeros_like(g) if self.bc else g.copy()
                self.gdw[j] = 0.0 if self.bc else float(np.sum(x * g))
        self.favg = b * self.favg + (1 - b) * f
        rho = 1 - b ** self.k if self.bc else 1.0
        dot = gamma = norm = 0.0
        for j, (x, g) in enumerate(zip(thetas, grads)):
            self.d[j] = b * self.d[j] + (1 - b) * g
            self.gdw[j] = b * self.gdw[j] + (1 - b) * float(np.sum(x * g))
            dot += float(np.sum(x * self.d[j]))
            gamma += self.gdw[j]
            norm += float(np.sum(self.d[j] ** 2))
        c = 1 + lr * lam
        if self.fstar:
            cap = c * self.favg + dot - c * gamma
            if cap < c * rho * self.lb:
                self.lb = max(cap / (2 * c * rho), self.lb0)
        t1 = max(c * (self.favg - rho * self.lb) + dot - c * gamma, 0.0) / norm
        tau = min(lr / rho, t1)
        if self.fstar:
            self.lb = max((self.favg + dot - gamma - 0.5 * tau * norm) / rho, self.lb0)
        return [(x - tau * self.d[j]) / c for j, x in enumerate(thetas)]


class RefMomoAdam:
    """fabian-sp/MoMo momo/momo_adam.py (MomoAdam.step), one parameter group."""

    def __init__(self, lr=1e-2, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, lb=0, divide=True,
                 use_fstar=False):
        self.lr, (self.b1, self.b2), self.eps, self.lam = lr, betas, eps, weight_decay
        self.lb0 = self.lb = lb
        self.divide, self.fstar = divide, use_fstar
        self.k, self.d, self.v, self.gdw, self.favg = 0, {}, {}, {}, 0.0

    def __call__(self, thetas, grads):
        f = synthetic_loss(thetas)
        b1, b2, lr, lam = self.b1, self.b2, self.lr, self.lam
        self.k += 1
        dot = gamma = norm = 0.0
        D = {}
        for j, (x, g) in enumerate(zip(thetas, grads)):
            self.d[j] = b1 * self.d.get(j, 0.0) + (1 - b1) * g
            self.v[j] = b2 * self.v.get(j, 0.0) + (1 - b2) * g * g
            self.gdw[j] = b1 * self.gdw.get(j, 0.0) + (1 - b1) * float(np.sum(x * g))
            D[j] = np.sqrt(self.v[j] / (1 - b2 ** self.k)) + self.eps
            dot += float(np.sum(x * self.d[j]))
            gamma += self.gdw[j]
            norm += float(np.sum(self.d[j] ** 2 / D[j]))
        self.favg = (1 - b1) * f + b1 * self.favg
        rho, c = 1 - b1 ** self.k, 1 + lr * lam
        if self.fstar:
            cap = c * self.favg + dot - c * gamma
            if cap < c * rho * self.lb:
                self.lb = max(cap / (2 * c * rho), self.lb0)
        tau = min(lr / rho, max(c * (self.favg - rho * self.lb) + dot - c * gamma, 0.0) / norm)
        if self.fstar:
            self.lb = max((self.favg + dot - gamma - 0.5 * tau * norm) / rho, self.lb0)
        out = []
        for j, x in enumerate(thetas):
            if lam and not self.divide:
                x = x * (1 - lam * lr)
            x = x - tau * self.d[j] / D[j]
            out.append(x / c if lam and self.divide else x)
        return out


MOMO_CONFIGS = [dict(), dict(lr=0.3, weight_decay=0.1, beta=0.8, bias_correction=True),
                dict(lr=2.0, lb=0.1, use_fstar=True), dict(weight_decay=0.05, use_fstar=True,
                                                           bias_correction=True)]
MOMO_ADAM_CONFIGS = [dict(), dict(lr=0.5, betas=(0.8, 0.99), weight_decay=0.1),
                     dict(lr=0.1, weight_decay=0.1, divide=False, use_fstar=True, lb=0.05),
                     dict(lr=1.0, eps=1e-3, use_fstar=True)]


@pytest.mark.parametrize("cfg", MOMO_CONFIGS)
def test_momo_trajectory(cfg):
    check_trajectory(with_loss(optim.Momo), RefMomo(**cfg), cfg, steps=10)


@pytest.mark.parametrize("cfg", MOMO_ADAM_CONFIGS)
def test_momo_adam_trajectory(cfg):
    check_trajectory(with_loss(optim.MomoAdam), RefMomoAdam(**cfg), cfg, steps=10)


@pytest.mark.parametrize("cls, ref, cfg", [(optim.Momo, RefMomo, MOMO_CONFIGS[3]),
                                           (optim.MomoAdam, RefMomoAdam, MOMO_ADAM_CONFIGS[2])])
def test_momo_save_resume_and_float32(cls, ref, cfg, tmp_path, backend):
    check_save_resume(with_loss(cls), cfg, tmp_path)
    check_float32(with_loss(cls), ref(**cfg), cfg, backend)


def test_momo_step_size_is_the_truncated_polyak_step():
    """One step of Momo from x = 1 with f = 0.5, g = 1 (no averaging at step 1):
    τ = min(α, (f − f_* + ⟨d, x⟩ − γ)/‖d‖²) = min(α, 0.5), so x ← 1 − τ."""
    for lr, expected in [(10.0, 0.5), (0.2, 0.8)]:
        p = Parameter(Tensor(np.ones(1)))
        opt = optim.Momo([p], lr=lr)
        p.grad = Tensor(np.ones(1))
        opt.step(loss=Tensor(np.array(0.5)))
        np.testing.assert_allclose(p.numpy(), [expected])


def test_momo_closure_loss_argument_and_edges():
    p = Parameter(Tensor(np.array([2.0, -1.0])))

    def closure():
        p.grad = Tensor(2 * p.numpy())
        return Tensor(np.array(float(np.sum(p.numpy() ** 2))))

    for cls in (optim.Momo, optim.MomoAdam):
        opt = cls([p])
        with pytest.raises(ValueError, match="loss"):
            opt.step()
        with pytest.raises(ValueError, match="not both"):
            opt.step(closure, loss=1.0)
        expected = float(np.sum(p.numpy() ** 2))
        loss = opt.step(closure)
        assert float(loss.item()) == expected
        q = Parameter(Tensor(np.ones(2)))
        opt = cls([q])
        q.grad = Tensor(np.zeros(2))                     # zero gradient: no move, no NaN
        opt.step(loss=3.0)
        np.testing.assert_array_equal(q.numpy(), 1.0)
    with pytest.raises(ValueError, match="Momo"):
        optim.Momo([p], beta=1.0)
    with pytest.raises(ValueError, match="MomoAdam"):
        optim.MomoAdam([p], betas=(0.9, 1.5))


# ---------------------------------------------------------------------------- Ranger21
def ref_unit_norm(x):
    x = np.asarray(x, dtype=np.float64)
    if x.ndim <= 1:
        return np.sqrt(np.sum(x * x))
    axes = 1 if x.ndim in (2, 3) else tuple(range(1, x.ndim))
    return np.sqrt(np.sum(x * x, axis=axes, keepdims=True))


def ref_centralize_normalize(g, centralize=True, normalize=True):
    if centralize and g.ndim > 1:
        g = g - g.mean(axis=tuple(range(1, g.ndim)), keepdims=True)
    if normalize and g.size > 2:
        g = g / (np.std(g, ddof=1) + 1e-8)
    return g


class RefRanger21:
    """kozistr/pytorch_optimizer optimizer/ranger21.py (Ranger21.step and its helpers agc,
    centralize_gradient, normalize_gradient, unit_norm, lookahead_process_step)."""

    def __init__(self, num_iterations, lr=1e-3, betas=(0.9, 0.999), use_softplus=True,
                 beta_softplus=50.0, disable_lr_scheduler=False, num_warm_up_iterations=None,
                 num_warm_down_iterations=None, warm_down_min_lr=3e-5, agc_clipping_value=1e-2,
                 agc_eps=1e-3, centralize_gradients=True, normalize_gradients=True,
                 lookahead_merge_time=5, lookahead_blending_alpha=0.5, weight_decay=1e-4,
                 norm_loss_factor=1e-4, eps=1e-8):
        self.lr, (self.b1, self.b2), self.sp, self.bsp = lr, betas, use_softplus, beta_softplus
        self.no_sched, self.min_lr = disable_lr_scheduler, warm_down_min_lr
        self.clip, self.agc_eps = agc_clipping_value, agc_eps
        self.gc, self.gn = centralize_gradients, normalize_gradients
        self.k, self.alpha, self.wd, self.nlf, self.eps = (lookahead_merge_time,
                                                           lookahead_blending_alpha,
                                                           weight_decay, norm_loss_factor, eps)
        beta_iters = math.ceil(2 / (1 - betas[1]))
        self.warm = (num_warm_up_iterations if num_warm_up_iterations is not None else
                     int(0.22 * num_iterations) if beta_iters / num_iterations > 0.45 else beta_iters)
        self.down = (num_warm_down_iterations if num_warm_down_iterations is not None
                     else num_iterations - int(0.72 * num_iterations))
        self.start_down = num_iterations - self.down
        self.t, self.la, self.v, self.ma, self.neg, self.slow = 0, 0, {}, {}, {}, {}

    def schedule(self, t):
        lr = self.lr
        if self.no_sched:
            return lr
        if t <= self.warm:
            lr = lr * min(1.0, t / self.warm)
        if t >= self.start_down:
            pct = min(max(t + 1 - self.start_down, 1) / (self.down + 1), 1.0)
            lr = max(self.lr - (self.lr - self.min_lr) * pct, self.min_lr)
        return lr

    def __call__(self, thetas, grads):
        self.t += 1
        t, b1, b2 = self.t, self.b1, self.b2
        processed, vsum, size = [], 1.0, 0
        for j, (x, g) in enumerate(zip(thetas, grads)):
            if j not in self.v:
                self.v[j], self.ma[j], self.neg[j] = np.zeros_like(x), np.zeros_like(x), np.zeros_like(x)
                self.slow[j] = x.copy()
            max_norm = np.maximum(ref_unit_norm(x), self.agc_eps) * self.clip
            g_norm = np.maximum(ref_unit_norm(g), 1e-6)
            g = np.where(g_norm > max_norm, g * (max_norm / g_norm), g)
            g = ref_centralize_normalize(g, self.gc, self.gn)
            processed.append(g)
            self.v[j] = b2 * self.v[j] + (1 - b2) * g * g
            vsum += float(np.sum(self.v[j] / (1 - b2 ** t)))
            size += x.size
        vnorm = math.sqrt(vsum / size)
        lr = self.schedule(t)
        out = []
        for j, (x, g) in enumerate(zip(thetas, processed)):
            x = x * (1 - self.wd * lr / vnorm)
            x = x * (1 - lr * 2 * self.nlf * (1 - 1 / (ref_unit_norm(x) + self.eps)))
            denom = np.sqrt(self.v[j]) / math.sqrt(1 - b2 ** t) + self.eps
            if self.sp:
                denom = np.where(self.bsp * denom > 20, denom,
                                 np.log(1 + np.exp(np.minimum(self.bsp * denom, 20))) / self.bsp)
            g = ref_centralize_normalize(g, self.gc, self.gn)
            if t % 2 == 1:
                self.ma[j] = b1 ** 2 * self.ma[j] + (1 - b1 ** 2) * g
                cur, other = self.ma[j], self.neg[j]
            else:
                self.neg[j] = b1 ** 2 * self.neg[j] + (1 - b1 ** 2) * g
                cur, other = self.neg[j], self.ma[j]
            pn = (2 * cur - other) / math.sqrt((1 + b2) ** 2 + b2 ** 2)
            out.append(x - lr / (1 - b1 ** t) * pn / denom)
        self.la += 1
        if self.la >= self.k:
            self.la = 0
            out = [self.alpha * x + (1 - self.alpha) * self.slow[j] for j, x in enumerate(out)]
            self.slow = {j: x.copy() for j, x in enumerate(out)}
        return out


RANGER_INITS = initial_values([(), (5,), (3, 4), (2, 3, 2), (2, 2, 1, 3)], seed=2)
RANGER_CONFIGS = [dict(num_iterations=10),
                  dict(num_iterations=10, lr=1e-2, betas=(0.8, 0.9), use_softplus=False,
                       weight_decay=0.1, norm_loss_factor=0.05, agc_clipping_value=0.5,
                       lookahead_merge_time=3, lookahead_blending_alpha=0.3,
                       normalize_gradients=False),
                  dict(num_iterations=100, disable_lr_scheduler=True, beta_softplus=2.0,
                       centralize_gradients=False, num_warm_up_iterations=3)]


@pytest.mark.parametrize("cfg", RANGER_CONFIGS)
def test_ranger21_trajectory(cfg):
    check_trajectory(optim.Ranger21, RefRanger21(**cfg), cfg, steps=9, inits=RANGER_INITS)


def test_ranger21_schedule_save_resume_float32(tmp_path, backend):
    check_save_resume(optim.Ranger21, RANGER_CONFIGS[1], tmp_path, steps=9, split=4,
                      inits=RANGER_INITS)
    check_float32(optim.Ranger21, RefRanger21(**RANGER_CONFIGS[0]), RANGER_CONFIGS[0], backend,
                  steps=6, inits=RANGER_INITS)
    p = Parameter(Tensor(np.ones(3)))
    opt = optim.Ranger21([p], num_iterations=1000, lr=1.0)
    # W = ⌈2/(1 − 0.999)⌉ = 2000 > 45 % of 1000 → ⌊0.22·1000⌋ = 220; warm-down from 1000 − 280
    assert opt.num_warm_up_iterations == 220 and opt.start_warm_down == 720
    assert opt.scheduled_lr(1.0, 110) == pytest.approx(0.5)
    assert opt.scheduled_lr(1.0, 500) == 1.0
    assert opt.scheduled_lr(1.0, 999) == pytest.approx(1.0 - (1.0 - 3e-5) * 280 / 281)
    opt = optim.Ranger21([p], num_iterations=100000)
    assert opt.num_warm_up_iterations == 2000


def test_ranger21_edges_and_bad_options():
    for value in (0.0, 1e30):
        p = Parameter(Tensor(np.zeros((2, 3))))
        opt = optim.Ranger21([p], num_iterations=10)
        p.grad = Tensor(np.full((2, 3), value))
        opt.step()
        assert np.all(np.isfinite(p.numpy()))
    p = Parameter(Tensor(np.ones(4, dtype=np.float32)))
    p.grad = Tensor(np.array([3e37, -3e37, 1.0, 2.0], dtype=np.float32))
    opt = optim.Ranger21([p], num_iterations=10)
    opt.step()
    assert np.all(np.isfinite(p.numpy()))
    for bad in [dict(num_iterations=0), dict(num_iterations=10, lr=-1),
                dict(num_iterations=10, lookahead_merge_time=0),
                dict(num_iterations=10, lookahead_blending_alpha=2.0),
                dict(num_iterations=10, agc_eps=-1)]:
        with pytest.raises(ValueError, match="Ranger21"):
            optim.Ranger21([p], **bad)


# ------------------------------------------------------------------------------ GaLore
class RefGaLore:
    """jiaweizzhao/GaLore galore_torch/adamw.py with GaLoreProjector (2-D tensors projected,
    the rest plain), one group."""

    def __init__(self, lr=1e-3, betas=(0.9, 0.999), eps=1e-6, weight_decay=0.0, correct_bias=True,
                 rank=None, update_proj_gap=200, scale=0.25, proj_type="std"):
        self.lr, (self.b1, self.b2), self.eps, self.wd, self.bc = lr, betas, eps, weight_decay, correct_bias
        self.rank, self.gap, self.scale, self.type = rank, update_proj_gap, scale, proj_type
        self.k, self.m, self.v, self.P, self.Q = {}, {}, {}, {}, {}

    def side(self, shape):
        tall = shape[0] >= shape[1]
        return {"std": "right" if tall else "left", "reverse_std": "left" if tall else "right"}.get(
            self.type, self.type)

    def __call__(self, thetas, grads):
        out = []
        for j, (th, g) in enumerate(zip(thetas, grads)):
            k = self.k.get(j, 0)
            proj = self.rank is not None and th.ndim == 2
            if proj:
                side = self.side(th.shape)
                if k % self.gap == 0:
                    U, _, Vt = np.linalg.svd(g, full_matrices=False)
                    self.P[j], self.Q[j] = U[:, :self.rank], Vt[:self.rank, :]
                if side in ("left", "full"):
                    g = self.P[j].T @ g
                if side in ("right", "full"):
                    g = g @ self.Q[j].T
            self.k[j] = k = k + 1
            self.m[j] = self.b1 * self.m.get(j, 0.0) + (1 - self.b1) * g
            self.v[j] = self.b2 * self.v.get(j, 0.0) + (1 - self.b2) * g * g
            n = self.m[j] / (np.sqrt(self.v[j]) + self.eps)
            if proj:
                if side in ("left", "full"):
                    n = self.P[j] @ n
                if side in ("right", "full"):
                    n = n @ self.Q[j]
                n = n * self.scale
            step = self.lr * (math.sqrt(1 - self.b2 ** k) / (1 - self.b1 ** k) if self.bc else 1.0)
            th = th - step * n
            out.append(th - self.lr * self.wd * th)
        return out


GALORE_INITS = initial_values([(4, 6), (7, 3), (5, 5), (4,), ()], seed=4)
GALORE_CONFIGS = [dict(), dict(rank=2, update_proj_gap=3),
                  dict(rank=2, update_proj_gap=4, proj_type="full", scale=1.0, lr=1e-2,
                       weight_decay=0.1, betas=(0.8, 0.9)),
                  dict(rank=1, update_proj_gap=2, proj_type="reverse_std", correct_bias=False),
                  dict(rank=3, proj_type="left", eps=1e-8), dict(rank=2, proj_type="right")]


@pytest.mark.parametrize("cfg", GALORE_CONFIGS)
def test_galore_trajectory(cfg):
    check_trajectory(optim.GaLoreAdamW, RefGaLore(**cfg), cfg, steps=9, inits=GALORE_INITS)


def test_galore_save_resume_float32_and_projection(tmp_path, backend):
    check_save_resume(optim.GaLoreAdamW, GALORE_CONFIGS[2], tmp_path, steps=9, split=5,
                      inits=GALORE_INITS)
    check_float32(optim.GaLoreAdamW, RefGaLore(**GALORE_CONFIGS[1]), GALORE_CONFIGS[1], backend,
                  inits=GALORE_INITS)
    # the Adam state of a projected matrix is rank-sized; the step lies in the projector's span
    params = make_params(GALORE_INITS)
    opt = optim.GaLoreAdamW(params, **GALORE_CONFIGS[1])
    before = params[0].numpy().copy()
    run_optimizer(opt, params, steps=1)
    state = opt.state[params[0]]
    assert state["exp_avg"].shape == (2, 6) and state["rms"].shape == (2, 6)   # 4×6: left
    P = to_numpy(state["ortho_left"])
    delta = params[0].numpy() - before
    np.testing.assert_allclose(P @ (P.T @ delta), delta, atol=1e-6)
    assert opt.state[params[1]]["exp_avg"].shape == (7, 2)                      # 7×3: right


def test_galore_edges_and_bad_options():
    p = Parameter(Tensor(np.ones((3, 4))))
    opt = optim.GaLoreAdamW([p], rank=2)
    p.grad = Tensor(np.zeros((3, 4)))                     # zero gradient: no move, no NaN
    opt.step()
    np.testing.assert_array_equal(p.numpy(), 1.0)
    for bad in [dict(rank=0), dict(rank=2, update_proj_gap=0), dict(proj_type="diag"),
                dict(lr=-1)]:
        with pytest.raises(ValueError, match="GaLoreAdamW"):
            optim.GaLoreAdamW([p], **bad)


# -------------------------------------------------------------------------------- AGVM
AGVM_SHAPES = [(3, 2), (4,), (2, 2), ()]          # groups: [0, 1] backbone, [2, 3] head


def half_grad(theta, part, k, it):
    """A deterministic gradient for half ``part`` (0/1) of the batch at iteration ``it``; the
    halves disagree more on the head (k ≥ 2) than on the backbone."""
    index = np.arange(theta.size, dtype=np.float64).reshape(theta.shape)
    noise = (0.2 if k < 2 else 1.0) * np.cos(2.1 * it + 0.7 * index + 3 * k + 5 * part)
    return 0.5 * theta + np.sin(0.9 * it + index + k) + noise


class RefAGVM:
    """Sense-X/AGVM AgvmOptimizerHook.after_train_iter with SGD (momentum μ) or Adam as the
    base optimizer: μ_j from the two halves' cosine, lr_j·μ_j in the step."""

    def __init__(self, lr, interval, start, stop, momentum, use_adam=False, max_norm=None,
                 sgd_momentum=0.9, betas=(0.9, 0.999), eps=1e-8):
        self.lr, self.tau, self.start, self.m = lr, interval, start, momentum
        self.stop = stop if stop > start else math.inf
        self.adam, self.max_norm, self.mu_sgd, self.betas, self.eps = use_adam, max_norm, sgd_momentum, betas, eps
        self.scale, self.it, self.buf, self.am, self.av, self.t = [1.0, 1.0], 0, {}, {}, {}, 0

    def precondition(self, g, k):
        if not self.adam:
            return g
        b2 = self.betas[1]
        return g / (np.sqrt(b2 * self.av.get(k, 0.0) + (1 - b2) * g * g) + self.eps)

    def __call__(self, thetas):
        groups = [[0, 1], [2, 3]]
        in_range = self.start <= self.it <= self.stop
        if in_range and self.it % self.tau == 0:
            ga = [half_grad(th, 0, k, self.it) for k, th in enumerate(thetas)]
            gb = [half_grad(th, 1, k, self.it) for k, th in enumerate(thetas)]
            phi = []
            for ks in groups:
                a = np.concatenate([np.ravel(self.precondition(ga[k], k)) for k in ks])
                b = np.concatenate([np.ravel(self.precondition(gb[k], k)) for k in ks])
                phi.append(1 - a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))
            new = [math.sqrt(np.clip((phi[0] + 1e-6) / (p + 1e-6), 0.5, 10.0)) for p in phi]
            self.scale = [self.m * s + (1 - self.m) * n for s, n in zip(self.scale, new)]
            grads = [(a + b) / 2 for a, b in zip(ga, gb)]
        else:
            grads = [(half_grad(th, 0, k, self.it) + half_grad(th, 1, k, self.it)) / 2
                     for k, th in enumerate(thetas)]
        if self.max_norm is not None:
            total = math.sqrt(sum(float(np.sum(g * g)) for g in grads))
            grads = [g * min(1.0, self.max_norm / (total + 1e-6)) for g in grads]
        out = []
        self.t += 1
        for k, (th, g) in enumerate(zip(thetas, grads)):
            lr = self.lr * (self.scale[0 if k < 2 else 1] if in_range else 1.0)
            if self.adam:
                b1, b2 = self.betas
                self.am[k] = b1 * self.am.get(k, 0.0) + (1 - b1) * g
                self.av[k] = b2 * self.av.get(k, 0.0) + (1 - b2) * g * g
                mh, vh = self.am[k] / (1 - b1 ** self.t), self.av[k] / (1 - b2 ** self.t)
                out.append(th - lr * mh / (np.sqrt(vh) + self.eps))
            else:
                self.buf[k] = g if k not in self.buf else self.mu_sgd * self.buf[k] + g
                out.append(th - lr * self.buf[k])
        self.it += 1
        return out


def run_agvm(agvm, params, steps):
    """Drive ``agvm`` with a closure(part) that writes ``half_grad`` (part None: the mean of
    both halves, i.e. the whole batch) and returns a loss; the trajectory of the parameters."""
    trajectory = []
    for _ in range(steps):
        it = agvm.iter

        def closure(part):
            for k, p in enumerate(params):
                th = p.numpy().astype(np.float64)
                g = ((half_grad(th, 0, k, it) + half_grad(th, 1, k, it)) / 2 if part is None
                     else half_grad(th, part, k, it))
                p.grad = Tensor(g.astype(p.numpy().dtype))
            return Tensor(np.array(float(it)))

        agvm.step(closure)
        trajectory.append([p.numpy().copy() for p in params])
    return trajectory


def make_agvm(params, base="sgd", lr=0.05, **kw):
    groups = [{"params": params[:2]}, {"params": params[2:]}]
    opt = (optim.SGD(groups, lr=lr, momentum=0.9) if base == "sgd" else optim.Adam(groups, lr=lr))
    return optim.AGVM(opt, **kw)


AGVM_CASES = [("sgd", dict(lr_update_interval=2, lr_update_start_iter=1, momentum=0.5), {}),
              ("adam", dict(lr_update_interval=1, lr_update_start_iter=0, momentum=0.97,
                            use_adam=True, lr_update_stop_iter=5), dict(use_adam=True)),
              ("sgd", dict(lr_update_interval=3, lr_update_start_iter=0, momentum=0.8,
                           grad_clip=dict(max_norm=0.5)), dict(max_norm=0.5))]


@pytest.mark.parametrize("base, kw, ref_kw", AGVM_CASES)
def test_agvm_modulation_against_the_hook(base, kw, ref_kw):
    inits = initial_values(AGVM_SHAPES, seed=5)
    params = make_params(inits)
    agvm = make_agvm(params, base, **kw)
    got = run_agvm(agvm, params, steps=9)
    ref = RefAGVM(0.05, kw["lr_update_interval"], kw["lr_update_start_iter"],
                  kw.get("lr_update_stop_iter", -1), kw["momentum"], **ref_kw)
    thetas = [np.array(v, dtype=np.float64) for v in inits]
    for step, got_step in enumerate(got, start=1):
        thetas = ref(thetas)
        for k, (g, e) in enumerate(zip(got_step, thetas)):
            np.testing.assert_allclose(g, e, rtol=1e-11, atol=1e-12, err_msg=f"step {step}, {k}")
    np.testing.assert_allclose(agvm.scale_factors, ref.scale, rtol=1e-12)
    assert agvm.scale_factors[0] == pytest.approx(1.0)     # the backbone's own ratio is 1
    assert agvm.scale_factors[1] != pytest.approx(1.0)
    assert [g["lr"] for g in agvm.param_groups] == [0.05, 0.05]   # restored after each step


def test_agvm_scale_factor_formula_by_hand():
    """One modulation with momentum 0: μ_1 = √clip((Φ_0 + 1e-6)/(Φ_1 + 1e-6), 0.5, 10), and
    the step uses the mean of the halves' gradients with lr·μ."""
    a, b = Parameter(Tensor(np.zeros(2))), Parameter(Tensor(np.zeros(2)))
    halves = {0: ([1.0, 0.0], [1.0, 0.0]), 1: ([1.0, 1.0], [-1.0, 1.0])}   # part: (g_a, g_b)

    def closure(part):
        a.grad, b.grad = Tensor(np.array(halves[part][0])), Tensor(np.array(halves[part][1]))
        return Tensor(np.array(1.0))

    agvm = optim.AGVM(optim.SGD([{"params": [a]}, {"params": [b]}], lr=1.0),
                      lr_update_start_iter=0, momentum=0.0)
    agvm.step(closure)
    phi_0, phi_1 = 1 - 1 / math.sqrt(2), 1 + 1 / math.sqrt(2)
    ratio = (phi_0 + 1e-6) / (phi_1 + 1e-6)                 # 0.17: clipped up to 0.5
    assert ratio < 0.5
    assert agvm.scale_factors == pytest.approx([1.0, math.sqrt(0.5)], rel=1e-12)
    np.testing.assert_allclose(a.numpy(), [-1.0, -0.5])
    np.testing.assert_allclose(b.numpy(), [0.0, -0.5 * math.sqrt(0.5)])
    halves[1] = ([0.0, 1.0], [1.0, 0.0])                    # Φ_0 = 1, Φ_1 = 0: clipped to 10
    agvm = optim.AGVM(optim.SGD([{"params": [a]}, {"params": [b]}], lr=1.0),
                      lr_update_start_iter=0, momentum=0.0)
    agvm.step(closure)
    assert agvm.scale_factors == pytest.approx([1.0, math.sqrt(10.0)], rel=1e-12)


def test_agvm_save_resume_float32_and_errors(tmp_path, backend):
    import minigrad
    inits = initial_values(AGVM_SHAPES, seed=5)
    kw = AGVM_CASES[1][1]
    params = make_params(inits)
    full = run_agvm(make_agvm(params, "adam", **kw), params, steps=7)
    params = make_params(inits)
    agvm = make_agvm(params, "adam", **kw)
    run_agvm(agvm, params, steps=3)
    minigrad.save(agvm.state_dict(), str(tmp_path / "agvm.npz"))
    resumed_params = make_params([p.numpy() for p in params])
    resumed = make_agvm(resumed_params, "adam", lr=7.0, **kw)
    resumed.load_state_dict(minigrad.load(str(tmp_path / "agvm.npz")))
    rest = run_agvm(resumed, resumed_params, steps=4)
    for got, expected in zip(rest, full[3:]):
        for g, e in zip(got, expected):
            np.testing.assert_array_equal(g, e)
    params = make_params(inits, dtype="float32")
    agvm = make_agvm(params, "adam", **kw)
    run_agvm(agvm, params, steps=3)
    assert all(p.dtype == np.float32 and p.backend == backend for p in params)
    ref = RefAGVM(0.05, 1, 0, 5, 0.97, use_adam=True)
    thetas = [np.array(v, dtype=np.float64) for v in inits]
    for _ in range(3):
        thetas = ref(thetas)
    for p, e in zip(params, thetas):
        np.testing.assert_allclose(p.numpy(), e, rtol=2e-4, atol=2e-5)
    with pytest.raises(ValueError, match="closure"):
        agvm.step(None)
    with pytest.raises(TypeError, match="AGVM"):
        optim.AGVM(params)
    opt = optim.SGD(params, lr=0.1)
    for bad in [dict(lr_update_interval=0), dict(momentum=1.5), dict(grad_clip={"x": 1}),
                dict(grad_clip_iter_range=(5, 1))]:
        with pytest.raises(ValueError, match="AGVM"):
            optim.AGVM(opt, **bad)
