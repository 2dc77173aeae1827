"""SG-MCMC and HMC samplers (O091 sgld, O092 sghmc, O093 hmc): trajectories against
independent float64 transcriptions of the papers' updates fed the same noise (a NumPy
generator with the same seed, drawn in the same order), save → load → continue, float32 on
every backend, and statistical checks: the chains recover the mean and variance of Gaussian
targets (fixed seeds, a few thousand draws)."""
import math

import numpy as np
import pytest

import minigrad
from minigrad import optim
from minigrad.backends import to_numpy
from minigrad.layers.module import Parameter
from minigrad.tensor import Tensor
from tests.optim_checks import check_float32, check_save_resume, check_trajectory
from tests.test_optimizers import initial_values, make_params

TESTED = {"sgld", "sghmc", "hmc"}


# ------------------------------------------------------------- reference transcriptions
class RefSGLD:
    """Welling & Teh 2011, Eq. 4: Δθ = (ε/2)·(−∇Ũ) + η, η ~ N(0, ε) (× T); the prior's
    gradient λθ added to ∇Ũ; noise_std replaces √(εT) when given."""

    def __init__(self, seed, lr=1e-2, weight_decay=0.0, temperature=1.0, noise_std=None):
        self.rng = np.random.default_rng(seed)
        self.lr, self.wd, self.T, self.sigma = lr, weight_decay, temperature, noise_std

    def __call__(self, thetas, grads):
        out = []
        sigma = math.sqrt(self.lr * self.T) if self.sigma is None else self.sigma
        for th, g in zip(thetas, grads):
            eta = sigma * self.rng.standard_normal(np.shape(th))
            grad_u = g + self.wd * th
            out.append(th - 0.5 * self.lr * grad_u + eta)
        return out


class RefSGHMC:
    """Chen, Fox & Guestrin 2014, Eq. 15: Δv = −η∇Ũ − αv + N(0, 2(α − β̂)η); Δθ = v;
    optional momentum resampling v ~ N(0, η) at the start of every block of m steps."""

    def __init__(self, seed, lr=1e-3, alpha=0.01, beta_hat=0.0, weight_decay=0.0,
                 temperature=1.0, resample_every=None):
        self.rng = np.random.default_rng(seed)
        self.eta, self.alpha, self.beta = lr, alpha, beta_hat
        self.wd, self.T = weight_decay, temperature
        self.m, self.v, self.t = resample_every, {}, 0

    def __call__(self, thetas, grads):
        self.t += 1
        out = []
        for k, (th, g) in enumerate(zip(thetas, grads)):
            v = self.v.get(k, np.zeros(np.shape(th)))
            if self.m is not None and (self.t - 1) % self.m == 0:
                v = math.sqrt(self.eta * self.T) * self.rng.standard_normal(np.shape(th))
            noise = math.sqrt(2 * (self.alpha - self.beta) * self.eta * self.T) \
                * self.rng.standard_normal(np.shape(th))
            dv = -self.eta * (g + self.wd * th) - self.alpha * v + noise
            self.v[k] = v + dv
            out.append(th + self.v[k])
        return out


# ----------------------------------------------------------------------------- SGLD
SGLD_CFGS = [dict(generator=3), dict(generator=5, lr=0.05, weight_decay=0.1, temperature=0.3),
             dict(generator=7, lr=0.2, noise_std=0.01)]
SGHMC_CFGS = [dict(generator=3), dict(generator=4, lr=0.01, alpha=0.1, beta_hat=0.05,
                                      weight_decay=0.2, temperature=0.5),
              dict(generator=9, lr=0.02, alpha=0.3, resample_every=3)]


def _ref_cfg(cfg):
    cfg = dict(cfg)
    return cfg.pop("generator"), cfg


@pytest.mark.parametrize("cfg", SGLD_CFGS)
def test_sgld_trajectory(cfg):
    seed, rest = _ref_cfg(cfg)
    check_trajectory(optim.SGLD, RefSGLD(seed, **rest), cfg)


@pytest.mark.parametrize("cfg", SGHMC_CFGS)
def test_sghmc_trajectory(cfg):
    seed, rest = _ref_cfg(cfg)
    check_trajectory(optim.SGHMC, RefSGHMC(seed, **rest), cfg)


@pytest.mark.parametrize("cls, cfg", [(optim.SGLD, SGLD_CFGS[1]), (optim.SGHMC, SGHMC_CFGS[1]),
                                      (optim.SGHMC, SGHMC_CFGS[2])])
def test_sg_mcmc_save_resume(cls, cfg, tmp_path):
    check_save_resume(cls, cfg, tmp_path)


@pytest.mark.parametrize("cls, ref, cfg", [(optim.SGLD, RefSGLD, SGLD_CFGS[1]),
                                           (optim.SGHMC, RefSGHMC, SGHMC_CFGS[2])])
def test_sg_mcmc_float32(cls, ref, cfg, backend):
    seed, rest = _ref_cfg(cfg)
    check_float32(cls, ref(seed, **rest), cfg, backend)


def test_manual_seed_makes_the_default_generator_reproducible():
    runs = []
    for _ in range(2):
        minigrad.manual_seed(11)
        p = Parameter(Tensor(np.zeros(4)))
        opt = optim.SGLD([p], lr=0.1)
        p.grad = Tensor(np.ones(4))
        opt.step()
        runs.append(p.numpy().copy())
    np.testing.assert_array_equal(runs[0], runs[1])
    assert not np.allclose(runs[0], -0.05)  # the noise is there


def test_shared_minigrad_generator_is_used_and_advanced():
    gen = minigrad.Generator().manual_seed(2)
    p = Parameter(Tensor(np.zeros(3)))
    opt = optim.SGLD([p], lr=0.5, generator=gen)
    p.grad = Tensor(np.zeros(3))
    opt.step()
    expected = math.sqrt(0.5) * np.random.default_rng(2).standard_normal(3)
    np.testing.assert_allclose(p.numpy(), expected, rtol=1e-15)
    assert gen.rng.bit_generator.state != np.random.default_rng(2).bit_generator.state


def test_zero_gradient_and_zero_weights_give_pure_noise_no_nan():
    for cls in (optim.SGLD, optim.SGHMC):
        p = Parameter(Tensor(np.zeros((2, 3))))
        opt = cls([p], lr=1e-2, weight_decay=0.5, generator=0)
        p.grad = Tensor(np.zeros((2, 3)))
        opt.step()
        assert np.all(np.isfinite(p.numpy())) and np.any(p.numpy() != 0)


def test_huge_gradients_stay_finite_in_float32():
    for cls in (optim.SGLD, optim.SGHMC):
        p = Parameter(Tensor(np.zeros(3, dtype=np.float32)))
        opt = cls([p], lr=1e-3, generator=0)
        p.grad = Tensor(np.full(3, 1e30, dtype=np.float32))
        opt.step()
        assert p.dtype == np.float32 and np.all(np.isfinite(p.numpy()))


def test_noise_std_zero_is_gradient_descent_with_half_step():
    p = Parameter(Tensor(np.array([1.0, -2.0])))
    opt = optim.SGLD([p], lr=0.4, noise_std=0.0, generator=0)
    p.grad = Tensor(np.array([0.5, 1.0]))
    opt.step()
    np.testing.assert_allclose(p.numpy(), [1.0 - 0.1, -2.0 - 0.2], rtol=1e-15)


@pytest.mark.parametrize("kwargs, match", [
    (dict(lr=0.0), "lr"), (dict(lr=1e-2, weight_decay=-1), "weight_decay"),
    (dict(lr=1e-2, temperature=-1), "temperature"), (dict(lr=1e-2, noise_std=-0.1), "noise_std"),
])
def test_sgld_bad_options(kwargs, match):
    with pytest.raises(ValueError, match=f"SGLD.*{match}"):
        optim.SGLD(make_params(initial_values()), **kwargs)


@pytest.mark.parametrize("kwargs, match", [
    (dict(alpha=0.0), "alpha"), (dict(alpha=1.5), "alpha"),
    (dict(alpha=0.1, beta_hat=0.2), "beta_hat"),
    (dict(resample_every=0), "resample_every"), (dict(lr=-1.0), "lr"),
])
def test_sghmc_bad_options(kwargs, match):
    with pytest.raises(ValueError, match=f"SGHMC.*{match}"):
        optim.SGHMC(make_params(initial_values()), **kwargs)


def test_bad_generator_raises():
    with pytest.raises(TypeError, match="SGLD: generator"):
        optim.SGLD(make_params(initial_values()), generator="seed")


# --------------------------------------------------------------- statistical checks
def _run_chains(opt, p, grad_fn, steps, burn_in):
    draws = []
    for t in range(steps):
        p.grad = Tensor(grad_fn(p.numpy()))
        opt.step()
        if t >= burn_in:
            draws.append(p.numpy().copy())
    return np.array(draws)


def test_sgld_recovers_a_gaussian():
    """20000 independent 1-D chains on N(μ = 1.5, s² = 0.25); the Euler–Maruyama
    stationary variance is s²/(1 − η/(4s²)) (within 1% here), the mean is exact."""
    mu, s2, n = 1.5, 0.25, 20000
    p = Parameter(Tensor(np.zeros(n)))
    opt = optim.SGLD([p], lr=0.01, generator=0)
    draws = _run_chains(opt, p, lambda th: (th - mu) / s2, steps=300, burn_in=299)[-1]
    assert abs(draws.mean() - mu) < 0.02
    assert abs(draws.var() / s2 - 1) < 0.04


def test_sgld_temperature_scales_the_variance():
    mu, s2, n, T = -0.5, 1.0, 20000, 0.1
    p = Parameter(Tensor(np.zeros(n)))
    opt = optim.SGLD([p], lr=0.02, temperature=T, generator=1)
    draws = _run_chains(opt, p, lambda th: (th - mu) / s2, steps=1000, burn_in=999)[-1]
    assert abs(draws.mean() - mu) < 0.01
    assert abs(draws.var() / (T * s2) - 1) < 0.04


def test_sghmc_recovers_a_gaussian():
    mu, s2, n = 0.7, 0.5, 20000
    p = Parameter(Tensor(np.zeros(n)))
    opt = optim.SGHMC([p], lr=0.005, alpha=0.1, generator=0)
    draws = _run_chains(opt, p, lambda th: (th - mu) / s2, steps=800, burn_in=799)[-1]
    assert abs(draws.mean() - mu) < 0.02
    assert abs(draws.var() / s2 - 1) < 0.05


def test_sghmc_with_noisy_gradients_and_beta_hat():
    """Gradients with added N(0, V) noise: β̂ = ηV/2... here the injected noise 2(α − β̂)η
    plus the gradient noise η²V keep the chain on the target when β̂ = ηV/2."""
    mu, s2, n, lr, V = 0.0, 1.0, 20000, 0.01, 4.0
    rng = np.random.default_rng(5)
    p = Parameter(Tensor(np.zeros(n)))
    opt = optim.SGHMC([p], lr=lr, alpha=0.1, beta_hat=lr * V / 2, generator=0)
    draws = _run_chains(opt, p, lambda th: (th - mu) / s2 + math.sqrt(V) * rng.standard_normal(n),
                        steps=800, burn_in=799)[-1]
    assert abs(draws.mean() - mu) < 0.02
    assert abs(draws.var() / s2 - 1) < 0.06


# ------------------------------------------------------------------------------ HMC
A = [np.array(2.0), np.array([1.0, 0.5, 3.0]), np.array([[0.7, 1.2], [2.0, 0.4]])]
MU = [np.array(0.3), np.array([1.0, -1.0, 0.5]), np.array([[0.0, 0.2], [-0.4, 1.0]])]
SHAPES = [(), (3,), (2, 2)]


def potential_np(thetas):
    """U = Σ ½a(θ − μ)² + 0.1·Σ θ⁴: not Gaussian, so the leapfrog energy error is nonzero."""
    return sum(float((0.5 * a * (th - m) ** 2 + 0.1 * th ** 4).sum())
               for a, m, th in zip(A, MU, thetas))


def grad_np(thetas):
    return [a * (th - m) + 0.4 * th ** 3 for a, m, th in zip(A, MU, thetas)]


class RefHMC:
    """Neal 2011, Section 5.3.2 (and bnn-bo's hmc_update): r ~ N(0, M); L leapfrog steps
    (half kick, drift, half kick); accept with min(1, exp(H0 − H1)); else keep θ."""

    def __init__(self, seed, lr, num_leapfrog, inv_mass=1.0, temperature=1.0, mh=True):
        self.rng = np.random.default_rng(seed)
        self.eps, self.L, self.m, self.T, self.mh = lr, num_leapfrog, inv_mass, temperature, mh
        self.accepted = []

    def step(self, thetas):
        r0 = [self.rng.standard_normal(np.shape(th)) / math.sqrt(self.m) for th in thetas]
        th, r = [t.copy() for t in thetas], [x.copy() for x in r0]
        for _ in range(self.L):
            r = [x - 0.5 * self.eps * g / self.T for x, g in zip(r, grad_np(th))]
            th = [t + self.eps * self.m * x for t, x in zip(th, r)]
            r = [x - 0.5 * self.eps * g / self.T for x, g in zip(r, grad_np(th))]

        def energy(ths, rs):
            kinetic = sum(0.5 * self.m * float((x ** 2).sum()) for x in rs)
            return potential_np(ths) / self.T + kinetic

        accept = True
        if self.mh:
            u = self.rng.random()
            accept = u < min(1.0, math.exp(min(0.0, energy(thetas, r0) - energy(th, r))))
        self.accepted.append(accept)
        return th if accept else [t.copy() for t in thetas]


def potential_closure(params, opt, calls=None):
    def closure():
        opt.zero_grad()
        loss = 0.0
        for a, m, p in zip(A, MU, params):
            d = p - Tensor(m)
            loss = loss + (0.5 * Tensor(a) * d * d + 0.1 * p ** 4).sum()
        loss.backward()
        if calls is not None:
            calls.append(1)
        return loss
    return closure


def _hmc_inits(dtype="float64"):
    return make_params([np.full(s, 0.1) + 0.2 * np.arange(int(np.prod(s))).reshape(s)
                        for s in SHAPES], dtype=dtype)


@pytest.mark.parametrize("cfg", [dict(lr=0.3, num_leapfrog=5),
                                 dict(lr=0.5, num_leapfrog=3, inv_mass=2.0, temperature=0.5),
                                 dict(lr=0.2, num_leapfrog=4, mh_correction=False)])
def test_hmc_trajectory_against_reference(cfg):
    params = _hmc_inits()
    opt = optim.HMC(params, generator=4, **cfg)
    ref = RefHMC(4, cfg["lr"], cfg["num_leapfrog"], cfg.get("inv_mass", 1.0),
                 cfg.get("temperature", 1.0), cfg.get("mh_correction", True))
    thetas = [p.numpy().copy() for p in params]
    accepted = []
    for _ in range(25):
        calls = []
        opt.step(potential_closure(params, opt, calls))
        assert len(calls) == cfg["num_leapfrog"] + 1
        thetas = ref.step(thetas)
        accepted.append(opt.accepted)
        for p, th in zip(params, thetas):
            np.testing.assert_allclose(p.numpy(), th, rtol=1e-12, atol=1e-12)
    assert accepted == ref.accepted
    if cfg.get("mh_correction", True):
        assert 0 < sum(accepted) < len(accepted)  # both branches are exercised
        assert opt.num_accepted == sum(accepted) and opt.num_steps == 25


def test_hmc_rejection_restores_parameters_and_gradients():
    params = _hmc_inits()
    opt = optim.HMC(params, lr=3.0, num_leapfrog=4, generator=0)  # too big a step: rejected
    closure = potential_closure(params, opt)
    before = [p.numpy().copy() for p in params]
    opt.step(closure)
    assert opt.accepted is False and opt.accept_prob < 1e-6
    for p, b, g in zip(params, before, grad_np(before)):
        np.testing.assert_array_equal(p.numpy(), b)
        np.testing.assert_allclose(p.grad.numpy(), g, rtol=1e-13)


def test_leapfrog_is_reversible():
    params = _hmc_inits()
    opt = optim.SGLD(params)  # only for zero_grad in the closure
    closure = potential_closure(params, opt)
    closure()
    start = [p.numpy().copy() for p in params]
    r0 = [np.random.default_rng(k).standard_normal(s) for k, s in enumerate(SHAPES)]
    r = [x.copy() for x in r0]
    optim.leapfrog(params, r, closure, step_size=0.1, num_steps=20)
    assert not np.allclose(params[1].numpy(), start[1])
    r = [-x for x in r]
    optim.leapfrog(params, r, closure, step_size=0.1, num_steps=20)
    for p, s in zip(params, start):
        np.testing.assert_allclose(p.numpy(), s, rtol=1e-11, atol=1e-12)
    for x, x0 in zip(r, r0):
        np.testing.assert_allclose(-to_numpy(x), x0, rtol=1e-11, atol=1e-12)


def test_leapfrog_conserves_energy_to_second_order():
    """Halving ε (same trajectory time) divides the energy error by about 4."""
    errors = []
    for eps, n in ((0.1, 10), (0.05, 20)):
        params = _hmc_inits()
        closure = potential_closure(params, optim.SGLD(params))
        u0 = closure().item()
        r = [np.ones(s) * 0.5 for s in SHAPES]
        h0 = u0 + sum(0.5 * float((x ** 2).sum()) for x in r)
        u1 = optim.leapfrog(params, r, closure, step_size=eps, num_steps=n)
        errors.append(abs(u1 + sum(0.5 * float((to_numpy(x) ** 2).sum()) for x in r) - h0))
    assert 3.0 < errors[0] / errors[1] < 5.0


def test_hmc_save_resume_bit_identical(tmp_path):
    cfg = dict(lr=0.4, num_leapfrog=3, generator=8)
    params = _hmc_inits()
    opt = optim.HMC(params, **cfg)
    full = []
    for _ in range(7):
        opt.step(potential_closure(params, opt))
        full.append([p.numpy().copy() for p in params])
    params = _hmc_inits()
    opt = optim.HMC(params, **cfg)
    for _ in range(3):
        opt.step(potential_closure(params, opt))
    minigrad.save(opt.state_dict(), str(tmp_path / "hmc.npz"))
    resumed_params = make_params([p.numpy() for p in params])
    resumed = optim.HMC(resumed_params, **dict(cfg, lr=9.0, generator=99, num_leapfrog=1))
    resumed.load_state_dict(minigrad.load(str(tmp_path / "hmc.npz")))
    assert resumed.num_leapfrog == 3 and resumed.param_groups[0]["lr"] == 0.4
    for expected in full[3:]:
        resumed.step(potential_closure(resumed_params, resumed))
        for p, e in zip(resumed_params, expected):
            np.testing.assert_array_equal(p.numpy(), e)
    assert resumed.num_steps == 7


def test_hmc_float32(backend):
    params = _hmc_inits("float32")
    opt = optim.HMC(params, lr=0.3, num_leapfrog=5, generator=4)
    ref = RefHMC(4, 0.3, 5)
    thetas = [p.numpy().astype(np.float64) for p in params]
    for _ in range(3):
        opt.step(potential_closure(params, opt))
        thetas = ref.step(thetas)
    for p, th in zip(params, thetas):
        assert p.dtype == np.float32 and p.backend == backend
        np.testing.assert_allclose(p.numpy(), th, rtol=2e-4, atol=2e-5)


def test_hmc_path_length_sets_the_number_of_leapfrog_steps():
    params = _hmc_inits()
    opt = optim.HMC(params, lr=0.03, path_length=1.0, max_leapfrog=20, generator=0)
    assert opt.leapfrog_steps() == 20
    opt.param_groups[0]["lr"] = 0.3
    assert opt.leapfrog_steps() == 4
    calls = []
    opt.step(potential_closure(params, opt, calls))
    assert len(calls) == 5


def test_hmc_recovers_a_correlated_gaussian():
    mu = np.array([1.0, -2.0])
    cov = np.array([[1.0, 0.6], [0.6, 0.5]])
    prec = Tensor(np.linalg.inv(cov))
    p = Parameter(Tensor(np.zeros(2)))
    opt = optim.HMC([p], lr=0.25, num_leapfrog=8, generator=0)

    def closure():
        opt.zero_grad()
        d = p - Tensor(mu)
        loss = 0.5 * (d * (prec @ d)).sum()
        loss.backward()
        return loss

    draws = []
    for t in range(1600):
        opt.step(closure)
        if t >= 100:
            draws.append(p.numpy().copy())
    draws = np.array(draws)
    assert opt.num_accepted / opt.num_steps > 0.8
    np.testing.assert_allclose(draws.mean(0), mu, atol=0.1)
    np.testing.assert_allclose(np.cov(draws.T), cov, atol=0.1)


@pytest.mark.parametrize("kwargs, match", [
    (dict(lr=0.0), "lr"), (dict(num_leapfrog=0), "num_leapfrog"),
    (dict(max_leapfrog=2.5), "max_leapfrog"),
    (dict(path_length=-1.0), "path_length"), (dict(inv_mass=0.0), "inv_mass"),
    (dict(temperature=0.0), "temperature"),
])
def test_hmc_bad_options(kwargs, match):
    with pytest.raises(ValueError, match=f"HMC.*{match}"):
        optim.HMC(make_params(initial_values()), **kwargs)


def test_hmc_needs_a_closure():
    opt = optim.HMC(make_params(initial_values()))
    with pytest.raises(ValueError, match="closure"):
        opt.step()


def test_sgld_in_input_space_with_a_frozen_energy_model():
    """JEM-style input-space SGLD: x ← x − (α'/2)∇_x E(x) + σξ with E(x) = −LSE_c f(x)_c for a
    frozen linear classifier f(x) = Wx + b (α' = ``lr``, σ = ``noise_std`` set apart)."""
    rng = np.random.default_rng(0)
    W, b = rng.standard_normal((4, 3)), rng.standard_normal(4)
    x0 = rng.standard_normal((5, 3))
    x = Parameter(Tensor(x0.copy()))
    opt = optim.SGLD([x], lr=2.0, noise_std=0.01, generator=6)
    noise = np.random.default_rng(6)
    xr = x0.copy()
    for _ in range(5):
        opt.zero_grad()
        logits = x @ Tensor(W.T) + Tensor(b)
        energy = -minigrad.functional.logsumexp(logits, dim=1).sum()
        energy.backward()
        opt.step()
        z = xr @ W.T + b
        p = np.exp(z - z.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        grad_e = -(p @ W)                        # ∇_x E = −softmax(f(x))ᵀW
        xr = xr - 1.0 * grad_e + 0.01 * noise.standard_normal(xr.shape)
        np.testing.assert_allclose(x.numpy(), xr, rtol=1e-12, atol=1e-13)
