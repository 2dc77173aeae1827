"""Single-paper variants of SGD, Adam and AdaGrad: SGDW, AdamP, SGDP, diffGrad, AdaBound,
AMSBound, SWATS and AdaGrad-Norm, step by step against float64 transcriptions of their
algorithm boxes (plain NumPy below, never calling minigrad.optim), save → load → continue,
float32 on every backend, and the edges (zero gradients and weights, huge gradients)."""
import math

import numpy as np
import pytest

from minigrad import optim
from minigrad.backends import to_numpy
from minigrad.layers.module import Parameter
from minigrad.tensor import Tensor
from tests.optim_checks import check_float32, check_save_resume, check_trajectory
from tests.test_optimizers import initial_values, make_params, run_reference, synthetic_grad

TESTED = {"sgdw", "adamp", "sgdp", "diffgrad", "adabound", "amsbound", "swats", "adagrad_norm"}


# ------------------------------------------------------------- reference transcriptions
class RefSGDW:
    """Loshchilov & Hutter, Algorithm 1 (SGDW), constant schedule, η = α·η_t outside the
    buffer: b = g (first step), b ← μb + (1 − d)g; θ ← θ − η·b − η·λ·θ."""

    def __init__(self, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False):
        self.lr, self.mu, self.d, self.nesterov = lr, momentum, dampening, nesterov
        self.wd, self.b = weight_decay, {}

    def __call__(self, thetas, grads):
        out = []
        for k, (th, g) in enumerate(zip(thetas, grads)):
            d = g
            if self.mu:
                self.b[k] = g.copy() if k not in self.b else self.mu * self.b[k] + (1 - self.d) * g
                d = g + self.mu * self.b[k] if self.nesterov else self.b[k]
            out.append(th - self.lr * d - self.lr * self.wd * th)
        return out


def _cosine(x, y, eps):
    """torch.nn.functional.cosine_similarity of the rows of x and y."""
    nx = np.maximum(np.sqrt(np.sum(x * x, axis=1)), eps)
    ny = np.maximum(np.sqrt(np.sum(y * y, axis=1)), eps)
    return np.sum(x * y, axis=1) / (nx * ny)


def _project(th, g, u, delta, wd_ratio, eps):
    """Heo et al., Algorithm 1/2 projection step, with clovaai/AdamP's channel → layer views."""
    if th.ndim <= 1:
        return u, 1.0
    for rows in (th.shape[0], 1):
        tv, gv = th.reshape(rows, -1), g.reshape(rows, -1)
        if np.max(np.abs(_cosine(gv, tv, eps))) < delta / math.sqrt(tv.shape[1]):
            unit = tv / (np.linalg.norm(tv, axis=1, keepdims=True) + eps)
            uv = u.reshape(rows, -1)
            uv = uv - unit * np.sum(unit * uv, axis=1, keepdims=True)
            return uv.reshape(u.shape), wd_ratio
    return u, 1.0


class RefAdamP:
    """Heo et al., Algorithm 2 (AdamP) as in clovaai/AdamP adamp.py."""

    def __init__(self, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, delta=0.1,
                 wd_ratio=0.1, nesterov=False):
        self.lr, (self.b1, self.b2), self.eps, self.wd = lr, betas, eps, weight_decay
        self.delta, self.wd_ratio, self.nesterov = delta, wd_ratio, nesterov
        self.m, self.v, self.t = {}, {}, 0

    def __call__(self, thetas, grads):
        self.t += 1
        t, out = self.t, []
        for k, (th, g) in enumerate(zip(thetas, grads)):
            self.m[k] = self.b1 * self.m.get(k, 0.0) + (1 - self.b1) * g
            self.v[k] = self.b2 * self.v.get(k, 0.0) + (1 - self.b2) * g * g
            denom = np.sqrt(self.v[k]) / np.sqrt(1 - self.b2 ** t) + self.eps
            if self.nesterov:
                u = (self.b1 * self.m[k] + (1 - self.b1) * g) / denom
            else:
                u = self.m[k] / denom
            u, ratio = _project(th, g, u, self.delta, self.wd_ratio, self.eps)
            th = th * (1 - self.lr * self.wd * ratio)
            out.append(th - self.lr / (1 - self.b1 ** t) * u)
        return out


class RefSGDP:
    """Heo et al., Algorithm 1 (SGDP) as in clovaai/AdamP sgdp.py (buffer from zero, decay
    divided by 1 − μ, the projected step stored back as the buffer without Nesterov)."""

    def __init__(self, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False,
                 eps=1e-8, delta=0.1, wd_ratio=0.1):
        self.lr, self.mu, self.d, self.nesterov = lr, momentum, dampening, nesterov
        self.wd, self.eps, self.delta, self.wd_ratio = weight_decay, eps, delta, wd_ratio
        self.b = {}

    def __call__(self, thetas, grads):
        out = []
        for k, (th, g) in enumerate(zip(thetas, grads)):
            self.b[k] = self.mu * self.b.get(k, 0.0) + (1 - self.d) * g
            u = g + self.mu * self.b[k] if self.nesterov else self.b[k]
            u, ratio = _project(th, g, u, self.delta, self.wd_ratio, self.eps)
            if not self.nesterov:
                self.b[k] = u          # sgdp.py projects the momentum buffer itself (an alias)
            th = th * (1 - self.lr * self.wd * ratio / (1 - self.mu))
            out.append(th - self.lr * u)
        return out


class RefDiffGrad:
    """Dubey et al., the diffGrad update (diffGrad_v2.py): ξ = sigmoid(|g_prev − g|),
    g_prev₀ = 0."""

    def __init__(self, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0):
        self.lr, (self.b1, self.b2), self.eps, self.wd = lr, betas, eps, weight_decay
        self.m, self.v, self.prev, self.t = {}, {}, {}, 0

    def __call__(self, thetas, grads):
        self.t += 1
        t, out = self.t, []
        for k, (th, g) in enumerate(zip(thetas, grads)):
            g = g + self.wd * th
            self.m[k] = self.b1 * self.m.get(k, 0.0) + (1 - self.b1) * g
            self.v[k] = self.b2 * self.v.get(k, 0.0) + (1 - self.b2) * g * g
            xi = 1.0 / (1.0 + np.exp(-np.abs(self.prev.get(k, 0.0) - g)))
            self.prev[k] = g
            alpha = self.lr * np.sqrt(1 - self.b2 ** t) / (1 - self.b1 ** t)
            out.append(th - alpha * xi * self.m[k] / (np.sqrt(self.v[k]) + self.eps))
        return out


class RefAdaBound:
    """Luo et al., Algorithms 2/3 with Luolc/AdaBound's bounds (constant lr: final_lr as is)."""

    def __init__(self, lr=1e-3, betas=(0.9, 0.999), final_lr=0.1, gamma=1e-3, eps=1e-8,
                 weight_decay=0, amsbound=False):
        self.lr, (self.b1, self.b2), self.final_lr, self.gamma = lr, betas, final_lr, gamma
        self.eps, self.wd, self.amsbound = eps, weight_decay, amsbound
        self.m, self.v, self.vmax, self.t = {}, {}, {}, 0

    def __call__(self, thetas, grads):
        self.t += 1
        t, out = self.t, []
        lower = self.final_lr - self.final_lr / (self.gamma * t + 1)
        upper = self.final_lr + self.final_lr / (self.gamma * t)
        for k, (th, g) in enumerate(zip(thetas, grads)):
            g = g + self.wd * th
            self.m[k] = self.b1 * self.m.get(k, 0.0) + (1 - self.b1) * g
            self.v[k] = self.b2 * self.v.get(k, 0.0) + (1 - self.b2) * g * g
            v = self.v[k]
            if self.amsbound:
                v = self.vmax[k] = np.maximum(self.vmax.get(k, 0.0), v)
            alpha = self.lr * np.sqrt(1 - self.b2 ** t) / (1 - self.b1 ** t)
            eta = np.minimum(np.maximum(alpha / (np.sqrt(v) + self.eps), lower), upper)
            out.append(th - eta * self.m[k])
        return out


def RefAMSBound(**kw):
    return RefAdaBound(amsbound=True, **kw)


class RefSWATS:
    """Keskar & Socher, Algorithm 1, per parameter tensor, one group: the first tensor that
    meets the test switches the group from the next step on, with Λ as its lr."""

    def __init__(self, lr=1e-3, betas=(0.9, 0.999), eps=1e-9, weight_decay=0, switch_eps=1e-9):
        self.lr, (self.b1, self.b2), self.eps, self.wd = lr, betas, eps, weight_decay
        self.switch_eps = switch_eps
        self.m, self.a, self.lam, self.v, self.k = {}, {}, {}, {}, 0
        self.phase, self.switched_at = "adam", None

    def __call__(self, thetas, grads):
        self.k += 1
        k, out, new_lr = self.k, [], None
        for i, (x, g) in enumerate(zip(thetas, grads)):
            g = g + self.wd * x
            if self.phase == "sgd":
                self.v[i] = self.b1 * self.v.get(i, 0.0) + g
                out.append(x - (1 - self.b1) * self.lr * self.v[i])
                continue
            self.m[i] = self.b1 * self.m.get(i, 0.0) + (1 - self.b1) * g
            self.a[i] = self.b2 * self.a.get(i, 0.0) + (1 - self.b2) * g * g
            p = -self.lr * np.sqrt(1 - self.b2 ** k) / (1 - self.b1 ** k) * self.m[i] / (
                np.sqrt(self.a[i]) + self.eps)
            out.append(x + p)
            pg = float(np.sum(p * g))
            if pg != 0:
                gamma = float(np.sum(p * p)) / -pg
                self.lam[i] = self.b2 * self.lam.get(i, 0.0) + (1 - self.b2) * gamma
                big = self.lam[i] / (1 - self.b2 ** k)
                if k > 1 and big > 0 and abs(big - gamma) < self.switch_eps and new_lr is None:
                    new_lr = big
        if new_lr is not None:
            self.phase, self.lr, self.switched_at = "sgd", new_lr, k
        return out


class RefAdaGradNorm:
    """AdaGrad-Norm (Ward et al.; AdAdaGrad's adaptive method): b_k² = b_{k−1}² + ‖g_k‖² over
    all parameters; θ ← θ − η·g/(b_k + ε)."""

    def __init__(self, lr=1.0, initial_accumulator_value=1e-2, eps=1e-10):
        self.lr, self.b2, self.eps = lr, initial_accumulator_value, eps

    def __call__(self, thetas, grads):
        self.b2 += sum(float(np.sum(g * g)) for g in grads)
        b = math.sqrt(self.b2)
        return [th - self.lr * g / (b + self.eps) for th, g in zip(thetas, grads)]


# ------------------------------------------------------------------------ cases
CASES = [
    ("sgdw", optim.SGDW, RefSGDW, dict(lr=0.1)),
    ("sgdw", optim.SGDW, RefSGDW, dict(lr=0.05, momentum=0.9, dampening=0.1, weight_decay=0.3)),
    ("sgdw", optim.SGDW, RefSGDW, dict(lr=0.05, momentum=0.8, weight_decay=0.2, nesterov=True)),
    ("adamp", optim.AdamP, RefAdamP, dict(lr=0.01)),
    ("adamp", optim.AdamP, RefAdamP, dict(lr=0.02, betas=(0.8, 0.99), weight_decay=0.5,
                                          delta=1.9, wd_ratio=0.3)),
    ("adamp", optim.AdamP, RefAdamP, dict(lr=0.02, weight_decay=0.2, delta=10.0, nesterov=True)),
    ("sgdp", optim.SGDP, RefSGDP, dict(lr=0.1)),
    ("sgdp", optim.SGDP, RefSGDP, dict(lr=0.05, momentum=0.9, dampening=0.1, weight_decay=0.3,
                                       delta=1.9, wd_ratio=0.2)),
    ("sgdp", optim.SGDP, RefSGDP, dict(lr=0.05, momentum=0.9, weight_decay=0.1, nesterov=True,
                                       delta=10.0)),
    ("diffgrad", optim.DiffGrad, RefDiffGrad, dict(lr=0.01)),
    ("diffgrad", optim.DiffGrad, RefDiffGrad, dict(lr=0.05, betas=(0.5, 0.9), eps=1e-3,
                                                   weight_decay=0.1)),
    ("adabound", optim.AdaBound, RefAdaBound, dict(lr=0.01)),
    ("adabound", optim.AdaBound, RefAdaBound, dict(lr=0.05, betas=(0.8, 0.99), final_lr=0.02,
                                                   gamma=0.3, weight_decay=0.1)),
    ("amsbound", optim.AMSBound, RefAMSBound, dict(lr=0.01)),
    ("amsbound", optim.AMSBound, RefAMSBound, dict(lr=0.05, final_lr=0.03, gamma=0.5,
                                                   eps=1e-4)),
    ("swats", optim.SWATS, RefSWATS, dict(lr=0.01)),
    ("swats", optim.SWATS, RefSWATS, dict(lr=0.05, betas=(0.8, 0.9), weight_decay=0.1,
                                          switch_eps=0.05)),
    ("swats", optim.SWATS, RefSWATS, dict(lr=0.05, switch_eps=10.0)),
    ("adagrad_norm", optim.AdaGradNorm, RefAdaGradNorm, dict()),
    ("adagrad_norm", optim.AdaGradNorm, RefAdaGradNorm, dict(lr=0.3, initial_accumulator_value=2.0,
                                                             eps=1e-3)),
]


def _id(case):
    name, _, _, cfg = case
    return name + "-" + ",".join(f"{k}={v}" for k, v in cfg.items())


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_trajectory(case):
    _, cls, ref, cfg = case
    check_trajectory(cls, lambda thetas, grads, r=ref(**cfg): r(thetas, grads), cfg, steps=10)


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_save_resume(case, tmp_path):
    _, cls, _, cfg = case
    check_save_resume(cls, cfg, tmp_path)


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_float32(case, backend):
    _, cls, ref, cfg = case
    check_float32(cls, lambda thetas, grads, r=ref(**cfg): r(thetas, grads), cfg, backend)


def test_the_projection_configurations_do_project():
    """The δ = 1.9 and δ = 10 cases above take the projected branch on the (3, 4) parameter
    (channel-wise for δ = 10; and the default δ = 0.1 leaves these gradients alone)."""
    th = initial_values()[2]
    g = synthetic_grad(th, 1, 2)
    u = np.ones_like(th)
    assert _project(th, g, u, 10.0, 0.1, 1e-8)[1] == 0.1
    assert _project(th, g, u, 0.1, 0.1, 1e-8)[1] == 1.0
    fired = [_project(th, synthetic_grad(th, t, 2), u, 1.9, 0.2, 1e-8)[1] for t in range(1, 11)]
    assert 0.2 in fired


def test_swats_switch_cases_do_switch():
    """The reference configurations with switch_eps = 0.05 and 10 switch within the checked
    steps (so the SGD phase is under test); the default one stays in Adam."""
    for cfg, switched in [(dict(lr=0.05, betas=(0.8, 0.9), weight_decay=0.1, switch_eps=0.05),
                           True),
                          (dict(lr=0.05, switch_eps=10.0), True), (dict(lr=0.01), False)]:
        ref = RefSWATS(**cfg)
        run_reference(ref, initial_values(), 10)
        assert (ref.switched_at is not None) == switched, (cfg, ref.switched_at)
        params = make_params(initial_values())
        opt = optim.SWATS(params, **cfg)
        for t in range(1, 11):
            for k, p in enumerate(params):
                p.grad = Tensor(synthetic_grad(p.numpy(), t, k))
            opt.step()
        assert opt.param_groups[0]["phase"] == ("sgd" if switched else "adam")
        if switched:
            assert math.isclose(opt.param_groups[0]["lr"], ref.lr, rel_tol=1e-12)


def test_swats_switches_at_step_two_on_a_constant_gradient():
    """A constant gradient with ε = 0 gives the Adam step −η·sign(g) every step, so γ_k is
    constant, Λ = γ exactly and the switch happens at k = 2 with Λ = η·n/Σ|g|; afterwards the
    SGD phase: v ← β₁v + g, θ ← θ − (1 − β₁)Λv."""
    g = np.array([0.5, -2.0, 1.0, 4.0])
    p = Parameter(Tensor(np.zeros(4)))
    opt = optim.SWATS([p], lr=0.01, eps=0.0)
    expected = np.zeros(4)
    for k in range(1, 3):
        p.grad = Tensor(g.copy())
        opt.step()
        expected -= 0.01 * np.sign(g)
    np.testing.assert_allclose(p.numpy(), expected, rtol=1e-12)
    assert opt.param_groups[0]["phase"] == "sgd"
    big = 0.01 * 4 / np.abs(g).sum()
    assert math.isclose(opt.param_groups[0]["lr"], big, rel_tol=1e-9)
    v = np.zeros(4)
    for _ in range(3):
        p.grad = Tensor(g.copy())
        opt.step()
        v = 0.9 * v + g
        expected = expected - 0.1 * big * v
    np.testing.assert_allclose(p.numpy(), expected, rtol=1e-9)


def _scale_invariant_grad(w, a):
    """∇_w of a·(w/‖w‖): the component of a/‖w‖ orthogonal to w."""
    n = np.linalg.norm(w)
    u = w / n
    return (a - np.sum(a * u) * u) / n


@pytest.mark.parametrize("name", ["adamp", "sgdp"])
def test_projection_slows_the_norm_growth_of_scale_invariant_weights(name):
    """On the loss a·w/‖w‖ the gradient is orthogonal to w: plain momentum steps make ‖w‖ grow
    (the 'slowdown' of the paper), AdamP/SGDP remove the radial part of the update, so ‖w‖
    grows only by the second-order ‖θ − ηu‖² = ‖θ‖² + η²‖u‖² of a tangent step."""
    rng = np.random.default_rng(0)
    w0, a = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    norms = {}
    for cls, kw in ([(optim.AdamP, dict(lr=0.05)), (optim.Adam, dict(lr=0.05))] if name == "adamp"
                    else [(optim.SGDP, dict(lr=0.5, momentum=0.9)),
                          (optim.SGD, dict(lr=0.5, momentum=0.9))]):
        p = Parameter(Tensor(w0.copy()))
        opt = cls([p], **kw)
        for _ in range(50):
            p.grad = Tensor(_scale_invariant_grad(p.numpy(), a))
            opt.step()
        norms[cls.__name__] = np.linalg.norm(p.numpy())
    n0 = np.linalg.norm(w0)
    projected, plain = norms.pop("AdamP" if name == "adamp" else "SGDP"), norms.popitem()[1]
    assert plain - n0 > 0.1 * n0
    assert projected - n0 < 0.3 * (plain - n0)     # only the second-order η²‖u‖² growth is left


def test_adamp_leaves_one_dimensional_parameters_alone():
    """Biases and norm gains (ndim ≤ 1) take the plain AdamW-like step, never projected."""
    p = Parameter(Tensor(np.array([1.0, 2.0, 3.0])))
    q = Parameter(Tensor(np.array([1.0, 2.0, 3.0])))
    g = np.array([2.0, -1.0, 0.0])                   # orthogonal to p: cos = 0 < δ/√3
    pa, ad = optim.AdamP([p], lr=0.1, weight_decay=0.5), optim.AdamW([q], lr=0.1, weight_decay=0.5)
    for opt, param in ((pa, p), (ad, q)):
        param.grad = Tensor(g.copy())
        opt.step()
    np.testing.assert_allclose(p.numpy(), q.numpy(), rtol=1e-12)


ALL = [(optim.SGDW, dict(lr=0.1, momentum=0.9, weight_decay=0.1)),
       (optim.AdamP, dict(lr=0.1, weight_decay=0.1)),
       (optim.SGDP, dict(lr=0.1, momentum=0.9, weight_decay=0.1, nesterov=True)),
       (optim.DiffGrad, dict(lr=0.1)), (optim.AdaBound, dict(lr=0.1)),
       (optim.AMSBound, dict(lr=0.1)), (optim.SWATS, dict(lr=0.1)),
       (optim.AdaGradNorm, dict(lr=0.1))]


@pytest.mark.parametrize("cls,cfg", ALL, ids=lambda x: getattr(x, "__name__", ""))
def test_zero_gradients_and_zero_weights_give_finite_steps(cls, cfg):
    params = [Parameter(Tensor(np.zeros(s))) for s in [(), (4,), (3, 4)]]
    opt = cls(params, **cfg)
    for _ in range(3):
        for p in params:
            p.grad = Tensor(np.zeros(p.shape))
        opt.step()
    for p in params:
        np.testing.assert_array_equal(p.numpy(), 0.0)
    # zero weights, non-zero gradients
    for p in params:
        p.grad = Tensor(np.ones(p.shape))
    opt.step()
    for p in params:
        assert np.all(np.isfinite(p.numpy())) and np.all(p.numpy() != 0)


@pytest.mark.parametrize("cls,cfg", ALL, ids=lambda x: getattr(x, "__name__", ""))
def test_huge_float32_gradients_give_finite_steps(cls, cfg, backend):
    """|g| = 3e37: g² overflows float32; the moments are kept as √v, the norms scaled."""
    inits = initial_values()
    params = make_params(inits, dtype="float32")
    opt = cls(params, **cfg)
    for t in range(1, 4):
        for k, p in enumerate(params):
            g = synthetic_grad(np.asarray(p.numpy(), dtype=np.float64), t, k)
            p.grad = Tensor((3e37 * np.sign(g)).astype(np.float32))
        opt.step()
    for p, v in zip(params, inits):
        got = p.numpy()
        assert np.all(np.isfinite(got)), (cls.__name__, got)


def test_huge_gradient_steps_match_the_reference():
    """Adam-family rows: the step for a gradient of 1e20 (float32 g² = inf) follows float64."""
    for cls, ref, cfg in [(optim.DiffGrad, RefDiffGrad, dict(lr=0.01)),
                          (optim.AdaBound, RefAdaBound, dict(lr=0.01)),
                          (optim.AdamP, RefAdamP, dict(lr=0.01, delta=10.0))]:
        inits = initial_values()
        grads = [1e20 * (0.5 + np.abs(synthetic_grad(v, 1, k))) for k, v in enumerate(inits)]
        params = make_params(inits, dtype="float32")
        opt, r, thetas = cls(params, **cfg), ref(**cfg), [np.array(v) for v in inits]
        for _ in range(3):
            for p, g in zip(params, grads):
                p.grad = Tensor(g.astype(np.float32))
            opt.step()
            thetas = r(thetas, grads)
        for p, th in zip(params, thetas):
            np.testing.assert_allclose(p.numpy(), th, rtol=1e-4, atol=1e-5)


def test_adagrad_norm_is_one_scalar_over_all_groups():
    """Two groups with their own lr share one b_k, accumulated over every parameter."""
    inits = initial_values()
    params = make_params(inits)
    opt = optim.AdaGradNorm([{"params": params[:2]}, {"params": params[2:], "lr": 0.2}], lr=0.5)
    b2, thetas = 1e-2, [np.array(v) for v in inits]
    for t in range(1, 5):
        grads = [synthetic_grad(th, t, k) for k, th in enumerate(thetas)]
        for p, g in zip(params, grads):
            p.grad = Tensor(g)
        opt.step()
        b2 += sum(np.sum(g ** 2) for g in grads)
        thetas = [th - lr * g / (np.sqrt(b2) + 1e-10)
                  for th, g, lr in zip(thetas, grads, [0.5, 0.5, 0.2])]
    for p, th in zip(params, thetas):
        np.testing.assert_allclose(p.numpy(), th, rtol=1e-12)
    assert opt.param_groups[0]["b"] == opt.param_groups[1]["b"]


def test_adabound_final_lr_follows_the_learning_rate_schedule():
    """final_lr is scaled by lr/initial lr (Luolc/AdaBound): halving lr halves the bounds."""
    p = Parameter(Tensor(np.array([1.0, -1.0])))
    opt = optim.AdaBound([p], lr=0.01, final_lr=0.1, gamma=0.999)
    for _ in range(200):                     # bounds now within 0.1·(1 ± 0.005): SGD-like
        p.grad = Tensor(np.array([1.0, 1.0]))
        opt.step()
    opt.param_groups[0]["lr"] = 0.005
    before = p.numpy().copy()
    p.grad = Tensor(np.array([1.0, 1.0]))
    opt.step()
    m = to_numpy(opt.state[p]["exp_avg"])
    t = 201
    lower = 0.05 * (1 - 1 / (0.999 * t + 1))       # Adam's own step (≈ 0.005) is below it
    np.testing.assert_allclose(before - p.numpy(), lower * m, rtol=1e-12)


def test_bad_options_raise():
    ps = [Parameter(Tensor(np.zeros(2)))]
    bad = [(optim.SGDW, dict(lr=-1)), (optim.SGDW, dict(nesterov=True)),
           (optim.SGDW, dict(weight_decay=-0.1)),
           (optim.AdamP, dict(betas=(0.9, 1.0))), (optim.AdamP, dict(delta=-1)),
           (optim.AdamP, dict(eps=-1)),
           (optim.SGDP, dict(momentum=1.0)), (optim.SGDP, dict(nesterov=True)),
           (optim.SGDP, dict(wd_ratio=-1)),
           (optim.DiffGrad, dict(betas=(1.2, 0.9))), (optim.DiffGrad, dict(lr=-1)),
           (optim.AdaBound, dict(gamma=0)), (optim.AdaBound, dict(gamma=1.5)),
           (optim.AdaBound, dict(final_lr=-0.1)), (optim.AdaBound, dict(lr=0)),
           (optim.AMSBound, dict(betas=(0.9,))),
           (optim.SWATS, dict(switch_eps=-1)), (optim.SWATS, dict(betas=(0.9, -0.1))),
           (optim.AdaGradNorm, dict(initial_accumulator_value=-1)),
           (optim.AdaGradNorm, dict(lr=-1))]
    for cls, kw in bad:
        with pytest.raises(ValueError, match=cls.__name__):
            cls(ps, **kw)
