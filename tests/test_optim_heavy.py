"""Paper-heavy rows: adaptive (per-layer-group) model averaging (O077), the SLQ machinery
meant for the spectrum-based LR learner (O044, not registered), BSVRB multi-block bilevel
optimization (O067)."""
import numpy as np
import pytest

import minigrad
from minigrad import nn
from minigrad.backends import to_numpy
from minigrad.func import hessian
from minigrad.optim import BSVRB, SGD
from minigrad.optim.spectral_lr import (hessian_vector_product, spectral_density,
                                        stochastic_lanczos_quadrature)
from minigrad.training import AdaptiveModelAveraging

TESTED = {"adaptive_model_averaging", "bsvrb"}


def _net(seed):
    minigrad.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))


def _pair():
    model, pre, rlhf = _net(0), _net(1), _net(2)
    return model.to(np.float64), pre.to(np.float64), rlhf.to(np.float64)


def _np_state(m):
    return {k: to_numpy(v.data) for k, v in m.state_dict().items()}


def _ref_ratios(a, init_val, eps):
    """α_k = ᾱ·K·(σ(a_k)+ε)/Σ_j(σ(a_j)+ε), written with numpy."""
    s = 1.0 / (1.0 + np.exp(-a)) + eps
    return init_val * len(a) * s / s.sum()


GROUPS = [["0.weight", "0.bias"], ["2.weight"]]


def test_ratios_start_at_init_val_and_keep_their_mean():
    model, pre, rlhf = _pair()
    ama = AdaptiveModelAveraging(model, pre, rlhf, GROUPS, init_val=0.3, epsilon=0.1)
    np.testing.assert_allclose(to_numpy(ama.ratios().data), [0.3, 0.3], rtol=1e-6)
    a = np.array([0.7, -1.9])
    ama.logits.data[...] = a.astype(ama.logits.data.dtype)
    alpha = to_numpy(ama.ratios().data)
    np.testing.assert_allclose(alpha, _ref_ratios(a, 0.3, 0.1), rtol=1e-6)
    assert abs(alpha.mean() - 0.3) < 1e-6


@pytest.mark.parametrize("ungrouped, fixed", [("average", 0.2), ("pre", 1.0), ("rlhf", 0.0)])
def test_merged_state_dict_is_the_per_group_interpolation(ungrouped, fixed):
    model, pre, rlhf = _pair()
    ama = AdaptiveModelAveraging(model, pre, rlhf, GROUPS, ungrouped=ungrouped)
    a = np.array([1.3, -0.4])
    ama.logits.data[...] = a.astype(ama.logits.data.dtype)
    alpha = _ref_ratios(a, 0.2, 0.2)
    P, R = _np_state(pre), _np_state(rlhf)
    merged = {k: to_numpy(v.data) for k, v in ama.merged_state_dict().items()}
    ratio = {"0.weight": alpha[0], "0.bias": alpha[0], "2.weight": alpha[1], "2.bias": fixed}
    for k, r in ratio.items():
        np.testing.assert_allclose(merged[k], r * P[k] + (1 - r) * R[k], rtol=1e-6, atol=1e-7)
    # the differentiable form gives the same weights
    for k, t in ama.merged_parameters().items():
        np.testing.assert_allclose(to_numpy(t.data), merged[k], rtol=1e-6, atol=1e-7)
    # inputs untouched, outputs fresh
    np.testing.assert_array_equal(_np_state(pre)["0.weight"], P["0.weight"])


def test_alpha_gradient_matches_the_chain_rule_by_hand():
    model, pre, rlhf = _pair()
    ama = AdaptiveModelAveraging(model, pre, rlhf, GROUPS, reg_alpha=0.3, reg_weights=[2.0, 0.5])
    a = np.array([0.4, -0.9])
    ama.logits.data[...] = a.astype(ama.logits.data.dtype)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 3))
    y = rng.standard_normal((5, 2))
    out = ama(minigrad.tensor(x))
    loss = ((out - minigrad.tensor(y)) ** 2).mean() + ama.penalty()
    loss.backward()
    got = to_numpy(ama.logits.grad.data)

    # by hand: dL/dθ at the merged weights (plain numpy MLP), then ⟨dL/dθ_p, θ_pre − θ_rlhf⟩,
    # then the Jacobian of the normalized sigmoid map, plus the |α − ᾱ| penalty
    P, R = _np_state(pre), _np_state(rlhf)
    alpha = _ref_ratios(a, 0.2, 0.2)
    r = {"0.weight": alpha[0], "0.bias": alpha[0], "2.weight": alpha[1], "2.bias": 0.2}
    W = {k: r[k] * P[k] + (1 - r[k]) * R[k] for k in P}
    h = np.tanh(x @ W["0.weight"].T + W["0.bias"])
    o = h @ W["2.weight"].T + W["2.bias"]
    go = 2 * (o - y) / o.size
    g2w = go.T @ h
    gh = go @ W["2.weight"] * (1 - h ** 2)
    g0w, g0b = gh.T @ x, gh.sum(0)
    dalpha = np.array([np.sum(g0w * (P["0.weight"] - R["0.weight"]))
                       + np.sum(g0b * (P["0.bias"] - R["0.bias"])),
                       np.sum(g2w * (P["2.weight"] - R["2.weight"]))])
    dalpha += 0.3 * np.array([2.0, 0.5]) * np.sign(alpha - 0.2)
    sig = 1 / (1 + np.exp(-a))
    s = sig + 0.2
    S, K = s.sum(), len(a)
    J = 0.2 * K * (np.diag(sig * (1 - sig)) / S - np.outer(s, sig * (1 - sig)) / S ** 2)
    np.testing.assert_allclose(got, J.T @ dalpha, rtol=1e-6, atol=1e-10)


def test_training_the_ratios_lowers_the_objective_and_state_round_trips(tmp_path):
    model, pre, rlhf = _pair()
    ama = AdaptiveModelAveraging(model, pre, rlhf, GROUPS, epsilon=0.2)
    rng = np.random.default_rng(1)
    x = minigrad.tensor(rng.standard_normal((8, 3)))
    target = minigrad.tensor(to_numpy(rlhf(x).data))    # the RLHF model's outputs: α → 0 wins
    opt = SGD(ama.parameters(), lr=50.0)

    def objective():
        return ((ama(x) - target) ** 2).mean() + ama.penalty()

    first = float(objective().item())
    for _ in range(20):
        opt.zero_grad()
        objective().backward()
        opt.step()
    assert float(objective().item()) < first
    alpha = to_numpy(ama.ratios().data)
    assert abs(alpha.mean() - 0.2) < 1e-6          # the constraint holds along the way
    # state round trip through minigrad.save / load
    path = tmp_path / "ama.npz"
    minigrad.save(ama.state_dict(), str(path))
    other = AdaptiveModelAveraging(model, pre, rlhf, GROUPS, epsilon=0.2)
    other.load_state_dict(minigrad.load(str(path)))
    np.testing.assert_array_equal(to_numpy(other.ratios().data), alpha)


def test_float32_models_on_every_backend(backend):
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    pre = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    rlhf = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    ama = AdaptiveModelAveraging(model, pre, rlhf, GROUPS)
    x = minigrad.randn(5, 3)
    loss = (ama(x) ** 2).mean() + ama.penalty()
    loss.backward()
    assert ama.logits.grad.data.dtype == np.float32
    assert np.all(np.isfinite(to_numpy(ama.logits.grad.data)))
    merged = ama.merged_state_dict()
    assert all(v.data.dtype == np.float32 for v in merged.values())


def test_zero_difference_gives_zero_gradient_from_the_loss():
    model, pre, _ = _pair()
    ama = AdaptiveModelAveraging(model, pre, pre, GROUPS)
    x = minigrad.tensor(np.ones((2, 3)))
    (ama(x) ** 2).sum().backward()
    np.testing.assert_array_equal(to_numpy(ama.logits.grad.data), 0.0)


def test_bad_options_raise():
    model, pre, rlhf = _pair()
    with pytest.raises(ValueError, match="AdaptiveModelAveraging: init_val"):
        AdaptiveModelAveraging(model, pre, rlhf, GROUPS, init_val=1.0)
    with pytest.raises(ValueError, match="epsilon"):
        AdaptiveModelAveraging(model, pre, rlhf, GROUPS, epsilon=-0.1)
    with pytest.raises(ValueError, match="in groups"):
        AdaptiveModelAveraging(model, pre, rlhf, [["0.weight"], ["0.weight"]])
    with pytest.raises(KeyError, match="not a state-dict key"):
        AdaptiveModelAveraging(model, pre, rlhf, [["nope"]])
    with pytest.raises(ValueError, match="empty"):
        AdaptiveModelAveraging(model, pre, rlhf, [[]])
    with pytest.raises(ValueError, match="reg_weights"):
        AdaptiveModelAveraging(model, pre, rlhf, GROUPS, reg_weights=[1.0])
    with pytest.raises(ValueError, match="ungrouped"):
        AdaptiveModelAveraging(model, pre, rlhf, GROUPS, ungrouped="lm_head")
    other = nn.Sequential(nn.Linear(3, 5))
    with pytest.raises(KeyError):
        AdaptiveModelAveraging(model, pre, other, GROUPS)


# ------------------------------------------------- SLQ machinery for O044 (not registered)


def _tiny_problem():
    """A 3-4-1 tanh network on 6 points, its 21 weights packed in one vector."""
    rng = np.random.default_rng(3)
    x = minigrad.tensor(rng.standard_normal((6, 3)))
    y = minigrad.tensor(rng.standard_normal((6, 1)))

    def loss(w):
        W1 = w[:12].reshape(4, 3)
        b1 = w[12:16]
        W2 = w[16:20].reshape(1, 4)
        b2 = w[20:21]
        h = (x @ W1.T + b1).tanh()
        return (((h @ W2.T + b2) - y) ** 2).mean()
    w0 = rng.standard_normal(21)
    return loss, w0


def test_slq_nodes_are_the_exact_hessian_eigenvalues_with_a_full_krylov_space():
    loss, w0 = _tiny_problem()
    H = to_numpy(hessian(loss, minigrad.tensor(w0)).data)
    exact = np.linalg.eigvalsh((H + H.T) / 2)
    w = minigrad.tensor(w0, requires_grad=True)
    hv = hessian_vector_product(lambda: loss(w), [w])
    nodes, weights = stochastic_lanczos_quadrature(hv, [w.data], num_steps=21, num_probes=2,
                                                   generator=np.random.default_rng(0))
    for theta, tau in zip(nodes, weights):
        assert len(theta) == 21
        np.testing.assert_allclose(np.sort(theta), exact, atol=1e-8)
        assert abs(tau.sum() - 1) < 1e-12 and np.all(tau >= 0)
    # the smoothed density integrates to 1 and peaks at the exact eigenvalues
    grid = np.linspace(exact[0] - 0.1, exact[-1] + 0.1, 20001)
    dens = spectral_density(nodes, weights, grid, sigma_squared=1e-5)
    integrate = getattr(np, "trapezoid", None) or np.trapz
    assert abs(integrate(dens, grid) - 1) < 1e-3
    peaks = grid[np.argmax(dens)]
    assert np.min(np.abs(exact - peaks)) < 1e-3


def test_slq_quadrature_reproduces_the_probe_moments():
    """Gauss quadrature with m nodes is exact for v₁ᵀHᵏv₁, k ≤ 2m − 1."""
    loss, w0 = _tiny_problem()
    H = to_numpy(hessian(loss, minigrad.tensor(w0)).data)
    H = (H + H.T) / 2
    w = minigrad.tensor(w0, requires_grad=True)
    hv = hessian_vector_product(lambda: loss(w), [w])
    np.testing.assert_allclose(to_numpy(hv([w.data * 0 + 1])[0]), H @ np.ones(21), rtol=1e-9,
                               atol=1e-12)
    m = 5
    (theta,), (tau,) = stochastic_lanczos_quadrature(hv, [w.data], num_steps=m,
                                                     generator=np.random.default_rng(7))
    v = (np.random.default_rng(7).random(21) < 0.5) * 2.0 - 1
    v /= np.linalg.norm(v)
    for k in range(2 * m):
        np.testing.assert_allclose(np.sum(tau * theta ** k),
                                   v @ np.linalg.matrix_power(H, k) @ v, rtol=1e-7, atol=1e-10)
    # the extreme nodes lie inside the exact spectrum
    exact = np.linalg.eigvalsh(H)
    assert exact[0] - 1e-9 <= theta.min() and theta.max() <= exact[-1] + 1e-9


def test_slq_bad_options_raise():
    w = minigrad.tensor(np.ones(3), requires_grad=True)
    with pytest.raises(ValueError, match="num_steps"):
        stochastic_lanczos_quadrature(lambda v: v, [w.data], num_steps=0)


# ----------------------------------------------------------------------------- BSVRB (O067)

_M, _DX, _DY, _NB = 3, 2, 3, 2


def _toy(kappa=0.3, rho=0.1, seed=5):
    """g_i(x, y; b) = ½yᵀA_ib y − yᵀB_ib x + (κ/4)Σy⁴,  f_i(x, y; b) = ½‖y − c_ib‖² + (ρ/2)‖x‖²."""
    rng = np.random.default_rng(seed)
    A = np.empty((_M, _NB, _DY, _DY))
    for i in range(_M):
        for b in range(_NB):
            Q = rng.standard_normal((_DY, _DY))
            A[i, b] = Q @ Q.T / _DY + np.eye(_DY)
    B = rng.standard_normal((_M, _NB, _DY, _DX))
    C = rng.standard_normal((_M, _NB, _DY))
    return dict(A=A, B=B, C=C, kappa=kappa, rho=rho)


def _minigrad_losses(P):
    def lower(i, x, y, b):
        A = minigrad.tensor(P["A"][i, b].astype(y.dtype))
        B = minigrad.tensor(P["B"][i, b].astype(y.dtype))
        return 0.5 * (y * (A @ y)).sum() - (y * (B @ x)).sum() + P["kappa"] / 4 * (y ** 4).sum()

    def upper(i, x, y, b):
        c = minigrad.tensor(P["C"][i, b].astype(y.dtype))
        return 0.5 * ((y - c) ** 2).sum() + P["rho"] / 2 * (x ** 2).sum()
    return upper, lower


class RefBSVRB:
    """quanqihu/BSVRB_ICML2023 HO/main.py BSVRB(), transcribed for the toy with closed-form
    derivatives, in float64 NumPy."""

    def __init__(self, P, x, ys, variant, lr, lr_y, lr_v, alpha, gamma, beta, v_bound, H_bound):
        self.P, self.variant = P, variant
        self.hp = dict(lr=lr, lr_y=lr_y, lr_v=lr_v, alpha=alpha, gamma=gamma, beta=beta,
                       v_bound=v_bound, H_bound=H_bound)
        self.x1, self.x0 = x.copy(), x.copy()
        self.y1, self.y0 = ys.copy(), ys.copy()
        self.v1, self.v0 = np.zeros_like(ys), np.zeros_like(ys)
        self.s, self.u = np.zeros_like(ys), np.zeros_like(ys)
        self.z = np.zeros_like(x)
        self.H1 = np.stack([np.eye(_DY)] * _M)
        self.H0 = self.H1.copy()
        self.delay = np.zeros(_M)

    def gy(self, i, b, x, y):
        P = self.P
        return P["A"][i, b] @ y - P["B"][i, b] @ x + P["kappa"] * y ** 3

    def hyy(self, i, b, y):
        return self.P["A"][i, b] + 3 * self.P["kappa"] * np.diag(y ** 2)

    def hxy(self, i, b):            # ∂²g/∂x∂y as a (dx, dy) matrix
        return -self.P["B"][i, b].T

    def fy(self, i, b, y):
        return y - self.P["C"][i, b]

    def fx(self, x):
        return self.P["rho"] * x

    def step(self, blocks, batches):
        h = self.hp
        a, c = h["alpha"], h["gamma"]
        H_new, y_new, v_new = self.H1.copy(), self.y1.copy(), self.v1.copy()
        G0, G1 = np.zeros_like(self.x1), np.zeros_like(self.x1)
        for i, (bg, bf) in zip(blocks, batches):
            self.s[i] = ((1 - a) * self.s[i] + (a + c) * self.gy(i, bg, self.x1, self.y1[i])
                         - c * self.gy(i, bg, self.x0, self.y0[i]))
            if self.variant == "v2":
                gn = self.hyy(i, bg, self.y1[i]) @ self.v1[i] - self.fy(i, bf, self.y1[i])
                go = self.hyy(i, bg, self.y0[i]) @ self.v0[i] - self.fy(i, bf, self.y0[i])
                self.u[i] = (1 - a) * self.u[i] + (a + c) * gn - c * go
                G0 += self.fx(self.x0) - self.hxy(i, bg) @ self.v0[i]
                G1 += self.fx(self.x1) - self.hxy(i, bg) @ self.v1[i]
            else:
                Hn = (1 - a) * H_new[i] + (a + c) * self.hyy(i, bg, self.y1[i]) \
                    - c * self.hyy(i, bg, self.y0[i])
                nrm = np.linalg.norm(Hn)
                H_new[i] = Hn * (h["H_bound"] / nrm) if nrm < h["H_bound"] else Hn
                G0 += self.fx(self.x0) - self.hxy(i, bg) @ np.linalg.inv(self.H0[i]) @ \
                    self.fy(i, bf, self.y0[i])
                G1 += self.fx(self.x1) - self.hxy(i, bg) @ np.linalg.inv(self.H1[i]) @ \
                    self.fy(i, bf, self.y1[i])
        for i in range(_M):
            if self.variant == "v1":
                y_new[i] = y_new[i] - h["lr_y"] * self.s[i]
            elif i in blocks:
                d = self.delay[i] + 1
                y_new[i] = y_new[i] - h["lr_y"] * d * self.s[i]
                t = v_new[i] - h["lr_v"] * d * self.u[i]
                n = np.linalg.norm(t)
                v_new[i] = t / n * h["v_bound"] if n > h["v_bound"] else t
                self.delay[i] = 0
            else:
                self.delay[i] += 1
        self.x0 = self.x1.copy()
        I = len(blocks)
        self.z = (1 - h["beta"]) * (self.z - G0 / I) + G1 / I
        self.x1 = self.x1 - h["lr"] * self.z
        self.H0, self.H1 = self.H1, H_new
        self.y0, self.y1 = self.y1, y_new
        if self.variant == "v2":
            self.v0, self.v1 = self.v1, v_new


_SCHEDULE = [([0, 2], [(0, 1), (1, 0)]), ([1], [(1, 1)]), ([0, 1], [(1, 0), (0, 0)]),
             ([2], [(0, 1)]), ([0, 1, 2], [(1, 1), (0, 1), (1, 0)]), ([1, 2], [(0, 0), (1, 1)])]


def _make(P, variant, dtype=np.float64, **hp):
    rng = np.random.default_rng(11)
    x0 = rng.standard_normal(_DX)
    ys0 = rng.standard_normal((_M, _DY))
    upper, lower = _minigrad_losses(P)
    x = minigrad.tensor(x0.astype(dtype))
    ys = [minigrad.tensor(y.astype(dtype)) for y in ys0]
    opt = BSVRB(x, ys, upper, lower, variant=variant, **hp)
    return opt, x, ys, x0, ys0


_CONFIGS = [("v2", {}), ("v2", dict(lr=0.05, lr_y=0.3, lr_v=0.2, alpha=0.5, gamma=0.7,
                                    beta=0.4, v_bound=0.5)),
            ("v1", {}), ("v1", dict(lr=0.05, lr_y=0.2, alpha=0.6, gamma=0.5, beta=0.3,
                                    H_bound=3.0))]


@pytest.mark.parametrize("variant, hp", _CONFIGS)
def test_bsvrb_matches_the_reference_step_by_step(variant, hp):
    P = _toy()
    opt, x, ys, x0, ys0 = _make(P, variant, **hp)
    d = dict(lr=1e-3, lr_y=0.5, lr_v=None, alpha=0.9, gamma=1.0, beta=0.9, v_bound=10.0,
             H_bound=10.0)
    d.update(hp)
    d["lr_v"] = d["lr_y"] if d["lr_v"] is None else d["lr_v"]
    ref = RefBSVRB(P, x0, ys0, variant, **d)
    for blocks, batches in _SCHEDULE:
        opt.step(blocks, batches)
        ref.step(blocks, batches)
        np.testing.assert_allclose(to_numpy(x.data), ref.x1, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(np.stack([to_numpy(y.data) for y in ys]), ref.y1,
                                   rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("variant", ["v1", "v2"])
def test_bsvrb_hypergradient_matches_finite_differences(variant):
    """With plain estimators (α = 1, γ = 0, β = 1), y = y*(x) and the exact linear-system
    solution, z is the hypergradient of F(x) = (1/I)Σ_i f_i(x, y_i*(x)) on a quadratic toy."""
    P = _toy(kappa=0.0)
    rng = np.random.default_rng(2)
    x0 = rng.standard_normal(_DX)
    b = 1

    def ystar(i, x):
        return np.linalg.solve(P["A"][i, b], P["B"][i, b] @ x)

    def F(x):
        return np.mean([0.5 * np.sum((ystar(i, x) - P["C"][i, b]) ** 2) for i in range(_M)]) \
            + P["rho"] / 2 * x @ x
    ys0 = [ystar(i, x0) for i in range(_M)]
    vs = [np.linalg.solve(P["A"][i, b], ys0[i] - P["C"][i, b]) for i in range(_M)]
    upper, lower = _minigrad_losses(P)
    x = minigrad.tensor(x0)
    ys = [minigrad.tensor(y) for y in ys0]
    opt = BSVRB(x, ys, upper, lower, vs=vs, variant=variant, lr=0.0, lr_y=0.0, lr_v=0.0,
                alpha=1.0, gamma=0.0, beta=1.0, H_bound=1e-6)
    blocks, batches = [0, 1, 2], [(b, b)] * 3
    z = opt.step(blocks, batches)
    if variant == "v1":              # the tracked Hessian is exact from the second step on
        z = opt.step(blocks, batches)
    eps = 1e-6
    fd = np.array([(F(x0 + eps * e) - F(x0 - eps * e)) / (2 * eps) for e in np.eye(_DX)])
    np.testing.assert_allclose(to_numpy(z), fd, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("variant", ["v1", "v2"])
def test_bsvrb_save_resume_is_bit_identical(variant, tmp_path):
    P = _toy()
    opt, x, ys, _, _ = _make(P, variant)
    for blocks, batches in _SCHEDULE[:3]:
        opt.step(blocks, batches)
    path = tmp_path / "bsvrb.npz"
    minigrad.save(opt.state_dict(), str(path))
    for blocks, batches in _SCHEDULE[3:]:
        opt.step(blocks, batches)
    final = (to_numpy(x.data).copy(), [to_numpy(y.data).copy() for y in ys])
    other, x2, ys2, _, _ = _make(P, variant)
    other.load_state_dict(minigrad.load(str(path)))
    for blocks, batches in _SCHEDULE[3:]:
        other.step(blocks, batches)
    np.testing.assert_array_equal(to_numpy(x2.data), final[0])
    for a, b in zip(ys2, final[1]):
        np.testing.assert_array_equal(to_numpy(a.data), b)


@pytest.mark.parametrize("variant", ["v1", "v2"])
def test_bsvrb_float32_on_every_backend(backend, variant):
    P = _toy()
    opt, x, ys, _, _ = _make(P, variant, dtype=np.float32)
    for blocks, batches in _SCHEDULE:
        opt.step(blocks, batches)
    assert x.data.dtype == np.float32 and all(y.data.dtype == np.float32 for y in ys)
    assert np.all(np.isfinite(to_numpy(x.data)))
    ref = RefBSVRB(P, *[a for a in _make(P, variant)[3:]], variant, lr=1e-3, lr_y=0.5,
                   lr_v=0.5, alpha=0.9, gamma=1.0, beta=0.9, v_bound=10.0, H_bound=10.0)
    for blocks, batches in _SCHEDULE:
        ref.step(blocks, batches)
    np.testing.assert_allclose(to_numpy(x.data), ref.x1, rtol=1e-4, atol=1e-5)


def test_bsvrb_zero_gradients_leave_everything_still():
    upper = lambda i, x, y, b: (x * 0).sum() + (y * 0).sum()      # noqa: E731
    lower = lambda i, x, y, b: 0.5 * (y * y).sum() * 0             # noqa: E731
    x = minigrad.tensor(np.ones(2))
    ys = [minigrad.tensor(np.zeros(3)) for _ in range(2)]
    opt = BSVRB(x, ys, upper, lower)
    z = opt.step([0, 1], [(0, 0), (0, 0)])
    np.testing.assert_array_equal(to_numpy(z), 0.0)
    np.testing.assert_array_equal(to_numpy(x.data), 1.0)


def test_bsvrb_bad_options_raise():
    P = _toy()
    upper, lower = _minigrad_losses(P)
    x = minigrad.tensor(np.zeros(_DX))
    ys = [minigrad.tensor(np.zeros(_DY)) for _ in range(_M)]
    with pytest.raises(ValueError, match="BSVRB: variant"):
        BSVRB(x, ys, upper, lower, variant="v3")
    with pytest.raises(ValueError, match="alpha"):
        BSVRB(x, ys, upper, lower, alpha=1.5)
    with pytest.raises(ValueError, match="lr"):
        BSVRB(x, ys, upper, lower, lr=-1.0)
    with pytest.raises(TypeError, match="ys"):
        BSVRB(x, [], upper, lower)
    opt = BSVRB(x, ys, upper, lower)
    with pytest.raises(ValueError, match="distinct"):
        opt.step([0, 0], [(0, 0), (0, 0)])
    with pytest.raises(ValueError, match="batches"):
        opt.step([0, 1], [(0, 0)])
    blocks = opt.sample_blocks(2, generator=np.random.default_rng(0))
    assert len(set(blocks)) == 2 and all(0 <= b < _M for b in blocks)
