"""Optimizers, step by step, against independent float64 transcriptions of the papers'
update rules (plain NumPy below, never calling minigrad.optim), plus the Optimizer
machinery: parameter groups (B051), closures (B052), post-step hooks (B053), state dicts
and save/resume equivalence, dtype preservation.

The gradients are synthetic and deterministic but depend on the current weights
(g = 0.5·θ + sin(1.3t + index + k)), so a wrong trajectory feeds back into later steps."""
import copy
import math

import numpy as np
import pytest

import minigrad
from minigrad import optim, registry
from minigrad.backends import to_numpy
from minigrad.layers.module import Parameter
from minigrad.tensor import Tensor
from tests.test_clip import CLIP_NAMES
from tests.test_lr_scheduler import SCHEDULE_NAMES

SHAPES = [(), (5,), (3, 4)]


def synthetic_grad(theta, t, k):
    """The gradient fed at step t (from 1) to parameter k with current value theta."""
    index = np.arange(theta.size, dtype=np.float64).reshape(theta.shape)
    return 0.5 * theta + np.sin(1.3 * t + index + k)


def initial_values(shapes=SHAPES, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s) for s in shapes]


# ------------------------------------------------------------- reference transcriptions
# Each reference is a class whose instance maps (thetas, grads) -> new thetas, one call per
# step, keeping its own per-parameter state: the papers' pseudo-code, written out in float64.

class RefSGD:
    """PyTorch SGD docs pseudo-code (heavy ball; Nesterov as g + μb)."""

    def __init__(self, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False):
        self.lr, self.mu, self.d, self.wd, self.nesterov = lr, momentum, dampening, weight_decay, nesterov
        self.b, self.t = {}, 0

    def __call__(self, thetas, grads):
        self.t += 1
        out = []
        for k, (th, g) in enumerate(zip(thetas, grads)):
            g = g + self.wd * th
            if self.mu != 0:
                self.b[k] = g if self.t == 1 else self.mu * self.b[k] + (1 - self.d) * g
                g = g + self.mu * self.b[k] if self.nesterov else self.b[k]
            out.append(th - self.lr * g)
        return out


def RefSGDNesterov(lr=1e-3, momentum=0.9, weight_decay=0):
    return RefSGD(lr, momentum, 0, weight_decay, nesterov=True)


class RefAdam:
    """Kingma & Ba, Algorithm 1 (m̂, v̂ written out), coupled L2; AMSGrad as max of raw v;
    decoupled=True is Loshchilov & Hutter's AdamW: θ ← θ − η(m̂/(√v̂ + ε) + λθ)."""

    def __init__(self, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False,
                 decoupled=False):
        self.lr, (self.b1, self.b2), self.eps, self.wd = lr, betas, eps, weight_decay
        self.amsgrad, self.decoupled = amsgrad, decoupled
        self.m, self.v, self.vmax, self.t = {}, {}, {}, 0

    def __call__(self, thetas, grads):
        self.t += 1
        t, out = self.t, []
        for k, (th, g) in enumerate(zip(thetas, grads)):
            if not self.decoupled:
                g = g + self.wd * th
            self.m[k] = self.b1 * self.m.get(k, 0.0) + (1 - self.b1) * g
            self.v[k] = self.b2 * self.v.get(k, 0.0) + (1 - self.b2) * g ** 2
            m_hat = self.m[k] / (1 - self.b1 ** t)
            v = self.v[k]
            if self.amsgrad:
                self.vmax[k] = np.maximum(self.vmax.get(k, 0.0), v)
                v = self.vmax[k]
            v_hat = v / (1 - self.b2 ** t)
            step = m_hat / (np.sqrt(v_hat) + self.eps)
            if self.decoupled:
                step = step + self.wd * th
            out.append(th - self.lr * step)
        return out


def RefAMSGrad(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0):
    return RefAdam(lr, betas, eps, weight_decay, amsgrad=True)


def RefAdamW(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False):
    return RefAdam(lr, betas, eps, weight_decay, amsgrad, decoupled=True)


class RefAdagrad:
    """Duchi et al. diagonal AdaGrad with PyTorch's lr decay and initial accumulator."""

    def __init__(self, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
                 eps=1e-10):
        self.lr, self.decay, self.wd, self.g0, self.eps = lr, lr_decay, weight_decay, initial_accumulator_value, eps
        self.G, self.t = {}, 0

    def __call__(self, thetas, grads):
        self.t += 1
        rate = self.lr / (1 + (self.t - 1) * self.decay)
        out = []
        for k, (th, g) in enumerate(zip(thetas, grads)):
            g = g + self.wd * th
            self.G[k] = self.G.get(k, self.g0) + g ** 2
            out.append(th - rate * g / (np.sqrt(self.G[k]) + self.eps))
        return out


class RefRMSprop:
    """Tieleman & Hinton RMSprop, PyTorch docs pseudo-code (centered, momentum)."""

    def __init__(self, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False):
        self.lr, self.alpha, self.eps, self.wd = lr, alpha, eps, weight_decay
        self.mu, self.centered = momentum, centered
        self.v, self.gbar, self.b = {}, {}, {}

    def __call__(self, thetas, grads):
        out = []
        for k, (th, g) in enumerate(zip(thetas, grads)):
            g = g + self.wd * th
            self.v[k] = self.alpha * self.v.get(k, 0.0) + (1 - self.alpha) * g ** 2
            v_tilde = self.v[k]
            if self.centered:
                self.gbar[k] = self.alpha * self.gbar.get(k, 0.0) + (1 - self.alpha) * g
                v_tilde = v_tilde - self.gbar[k] ** 2
            direction = g / (np.sqrt(v_tilde) + self.eps)
            if self.mu > 0:
                self.b[k] = self.mu * self.b.get(k, 0.0) + direction
                direction = self.b[k]
            out.append(th - self.lr * direction)
        return out


class RefAdadelta:
    """Zeiler 2012, Algorithm 1, with PyTorch's step size and L2."""

    def __init__(self, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0):
        self.lr, self.rho, self.eps, self.wd = lr, rho, eps, weight_decay
        self.Eg, self.Ed = {}, {}

    def __call__(self, thetas, grads):
        out = []
        for k, (th, g) in enumerate(zip(thetas, grads)):
            g = g + self.wd * th
            self.Eg[k] = self.rho * self.Eg.get(k, 0.0) + (1 - self.rho) * g ** 2
            rms_dx = np.sqrt(self.Ed.get(k, 0.0) + self.eps)
            dx = -(rms_dx / np.sqrt(self.Eg[k] + self.eps)) * g
            self.Ed[k] = self.rho * self.Ed.get(k, 0.0) + (1 - self.rho) * dx ** 2
            out.append(th + self.lr * dx)
        return out


def _norm(a):
    return math.sqrt(float(np.sum(np.square(a))))


class RefLARS:
    """You, Gitman & Ginsburg 2017, Algorithm 1: λ_l = κ‖w‖/(‖∇L‖ + β‖w‖);
    v ← m·v + γ·λ_l·(∇L + βw); w ← w − v. Excluded tensors: v ← m·v + γ·∇L."""

    def __init__(self, lr=1e-3, momentum=0.9, weight_decay=0, trust_coefficient=1e-3, eps=0.0,
                 exclude_bias_and_norm=False):
        self.lr, self.m, self.beta, self.kappa, self.eps = lr, momentum, weight_decay, trust_coefficient, eps
        self.exclude = exclude_bias_and_norm
        self.v = {}

    def __call__(self, thetas, grads):
        out = []
        for k, (w, g) in enumerate(zip(thetas, grads)):
            if self.exclude and w.ndim <= 1:
                update = self.lr * g
            else:
                wn, gn = _norm(w), _norm(g)
                local = self.kappa * wn / (gn + self.beta * wn + self.eps) if wn > 0 and gn > 0 else 1.0
                update = self.lr * local * (g + self.beta * w)
            self.v[k] = self.m * self.v.get(k, 0.0) + update
            out.append(w - self.v[k])
        return out


class RefLAMB:
    """You et al. 2020, Algorithm 2: r = m̂/(√v̂ + ε); x ← x − η·φ(‖x‖)/‖r + λx‖·(r + λx)."""

    def __init__(self, lr=1e-3, betas=(0.9, 0.999), eps=1e-6, weight_decay=0, phi_bounds=None,
                 bias_correction=True, exclude_bias_and_norm=False):
        self.lr, (self.b1, self.b2), self.eps, self.wd = lr, betas, eps, weight_decay
        self.bounds, self.bc, self.exclude = phi_bounds, bias_correction, exclude_bias_and_norm
        self.m, self.v, self.t = {}, {}, 0

    def __call__(self, thetas, grads):
        self.t += 1
        out = []
        for k, (x, g) in enumerate(zip(thetas, grads)):
            self.m[k] = self.b1 * self.m.get(k, 0.0) + (1 - self.b1) * g
            self.v[k] = self.b2 * self.v.get(k, 0.0) + (1 - self.b2) * g * g
            m_hat = self.m[k] / (1 - self.b1 ** self.t) if self.bc else self.m[k]
            v_hat = self.v[k] / (1 - self.b2 ** self.t) if self.bc else self.v[k]
            r = m_hat / (np.sqrt(v_hat) + self.eps)
            if self.exclude and x.ndim <= 1:
                out.append(x - self.lr * r)
                continue
            u = r + self.wd * x
            phi = _norm(x) if self.bounds is None else min(max(_norm(x), self.bounds[0]), self.bounds[1])
            trust = phi / _norm(u) if phi > 0 and _norm(u) > 0 else 1.0
            out.append(x - self.lr * trust * u)
        return out


class RefSAM:
    """Foret et al. 2021, Algorithm 1: ε̂ = ρ·g/‖g‖ (global norm), the base step at w with
    the gradient taken at w + ε̂. Needs the gradient as a function: ``grad_at(thetas)``."""

    def __init__(self, base, rho=0.05):
        self.base, self.rho = base, rho

    def step(self, thetas, grad_at):
        g = grad_at(thetas)
        total = math.sqrt(sum(float(np.sum(gk ** 2)) for gk in g))
        perturbed = [th + self.rho * gk / (total + 1e-12) for th, gk in zip(thetas, g)]
        return self.base(thetas, grad_at(perturbed))


REFERENCES = {
    "sgd": RefSGD, "sgd_nesterov": RefSGDNesterov, "adam": RefAdam, "amsgrad": RefAMSGrad,
    "adamw": RefAdamW, "adagrad": RefAdagrad, "rmsprop": RefRMSprop, "adadelta": RefAdadelta,
    "lars": RefLARS, "lamb": RefLAMB, "sam": RefSAM,
    "ema": None, "center_update": None,  # transcribed inside their own tests below
}

CONFIGS = {
    "sgd": [dict(lr=0.1), dict(lr=0.1, momentum=0.9),
            dict(lr=0.1, momentum=0.9, dampening=0.2, weight_decay=1e-2),
            dict(lr=0.05, momentum=0.9, weight_decay=1e-2, nesterov=True)],
    "sgd_nesterov": [dict(lr=0.1), dict(lr=0.1, momentum=0.8, weight_decay=1e-2)],
    "adam": [dict(lr=1e-2), dict(lr=1e-2, betas=(0.8, 0.99), weight_decay=1e-2),
             dict(lr=1e-2, amsgrad=True, weight_decay=0.1)],
    "amsgrad": [dict(lr=1e-2), dict(lr=3e-2, weight_decay=1e-2)],
    "adamw": [dict(lr=1e-2), dict(lr=1e-2, weight_decay=0), dict(lr=1e-2, weight_decay=0.1, amsgrad=True)],
    "adagrad": [dict(lr=0.1), dict(lr=0.1, lr_decay=0.1, weight_decay=1e-2, initial_accumulator_value=0.1)],
    "rmsprop": [dict(lr=1e-2), dict(lr=1e-2, momentum=0.9, centered=True, weight_decay=1e-2),
                dict(lr=1e-2, centered=True), dict(lr=1e-2, momentum=0.5, alpha=0.9)],
    "adadelta": [dict(), dict(lr=0.5, rho=0.8, weight_decay=1e-2)],
    "lars": [dict(lr=0.1), dict(lr=0.1, weight_decay=1e-2, trust_coefficient=1e-2),
             dict(lr=0.1, weight_decay=1e-2, exclude_bias_and_norm=True, eps=1e-9)],
    "lamb": [dict(lr=1e-2), dict(lr=1e-2, weight_decay=1e-2),
             dict(lr=1e-2, weight_decay=1e-2, phi_bounds=(0.0, 0.5)),
             dict(lr=1e-2, bias_correction=False), dict(lr=1e-2, weight_decay=1e-2, exclude_bias_and_norm=True)],
}
CASES = [(name, cfg) for name, cfgs in CONFIGS.items() for cfg in cfgs]


def _case_id(case):
    name, cfg = case
    return name + "-" + ",".join(f"{k}={v}" for k, v in cfg.items())


def make_params(inits, dtype="float64"):
    return [Parameter(Tensor(np.array(v, dtype=dtype))) for v in inits]  # copies


def feed_grads(params, t):
    for k, p in enumerate(params):
        p.grad = Tensor(synthetic_grad(p.numpy().astype(np.float64), t, k).astype(p.dtype))


def run_optimizer(opt, params, steps, first_t=1):
    trajectory = []
    for t in range(first_t, first_t + steps):
        feed_grads(params, t)
        opt.step()
        trajectory.append([p.numpy().copy() for p in params])
    return trajectory


def run_reference(ref, inits, steps):
    thetas, trajectory = [np.array(v, dtype=np.float64) for v in inits], []
    for t in range(1, steps + 1):
        thetas = ref(thetas, [synthetic_grad(th, t, k) for k, th in enumerate(thetas)])
        trajectory.append([th.copy() for th in thetas])
    return trajectory


def assert_trajectories_close(got, expected, rtol=1e-12, atol=1e-13):
    for step, (g_step, e_step) in enumerate(zip(got, expected), start=1):
        for k, (g, e) in enumerate(zip(g_step, e_step)):
            np.testing.assert_allclose(g, e, rtol=rtol, atol=atol,
                                       err_msg=f"step {step}, parameter {k} (shape {e.shape})")


def _optimizer_class(name):
    return registry.get(name, kind="optimizer").fn


# ------------------------------------------------------------------- trajectories
@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_trajectory_matches_reference(case):
    name, cfg = case
    inits = initial_values()
    params = make_params(inits)
    got = run_optimizer(_optimizer_class(name)(params, **cfg), params, steps=8)
    expected = run_reference(REFERENCES[name](**cfg), inits, steps=8)
    assert_trajectories_close(got, expected)


@pytest.mark.parametrize("name", ["lars", "lamb"])
def test_trust_ratio_is_one_for_a_zero_tensor(name):
    """‖θ‖ = 0 (a freshly zeroed layer): the layer-wise ratio falls back to 1, no NaN."""
    inits = [np.zeros((3, 2)), np.ones(4)]
    params = make_params(inits)
    cfg = dict(lr=0.1, weight_decay=1e-2)
    got = run_optimizer(_optimizer_class(name)(params, **cfg), params, steps=5)
    assert_trajectories_close(got, run_reference(REFERENCES[name](**cfg), inits, steps=5))
    assert all(np.isfinite(a).all() for step in got for a in step)


def test_lars_exclusion_by_group_option():
    """A group with exclude_from_adaptation=True is plain momentum SGD without decay."""
    inits = initial_values([(3, 2), (4,)])
    params = make_params(inits)
    opt = optim.LARS([{"params": [params[0]]},
                      {"params": [params[1]], "exclude_from_adaptation": True}],
                     lr=0.1, weight_decay=1e-2)
    got = run_optimizer(opt, params, steps=5)
    expected = run_reference(RefLARS(lr=0.1, weight_decay=1e-2, exclude_bias_and_norm=True),
                             inits, steps=5)
    assert_trajectories_close(got, expected)


@pytest.mark.parametrize("base, base_ref, kw", [
    (optim.SGD, RefSGD, dict(lr=0.1, momentum=0.9, weight_decay=1e-3)),
    (optim.Adam, RefAdam, dict(lr=1e-2)),
])
def test_sam_two_pass_trajectory(base, base_ref, kw):
    inits = initial_values()
    params = make_params(inits)
    opt = optim.SAM(params, base_optimizer=base, rho=0.1, **kw)
    ref = RefSAM(base_ref(**kw), rho=0.1)
    thetas = [v.copy() for v in inits]
    for t in range(1, 7):
        calls = []

        def closure():
            opt.zero_grad()
            feed_grads(params, t)
            calls.append(1)
            return Tensor(float(t))

        loss = opt.step(closure)
        assert loss.item() == t and len(calls) == 2
        thetas = ref.step(thetas, lambda ths: [synthetic_grad(th, t, k) for k, th in enumerate(ths)])
        for p, th in zip(params, thetas):
            np.testing.assert_allclose(p.numpy(), th, rtol=1e-12, atol=1e-13)


def test_sam_first_and_second_step_restore_the_weights():
    params = make_params(initial_values())
    before = [p.numpy().copy() for p in params]
    opt = optim.SAM(params, lr=0.0, rho=0.5)
    feed_grads(params, 1)
    opt.first_step(zero_grad=True)
    g = [synthetic_grad(b, 1, k) for k, b in enumerate(before)]
    total = math.sqrt(sum(float((gk ** 2).sum()) for gk in g))
    for p, b, gk in zip(params, before, g):
        np.testing.assert_allclose(p.numpy(), b + 0.5 * gk / total, rtol=1e-12, atol=1e-13)
        assert p.grad is None
    feed_grads(params, 1)
    opt.second_step()
    for p, b in zip(params, before):  # lr = 0: back exactly where it started
        np.testing.assert_array_equal(p.numpy(), b)


def test_sam_needs_a_closure():
    opt = optim.SAM(make_params(initial_values()), lr=0.1)
    with pytest.raises(ValueError, match="closure"):
        opt.step()


# ---------------------------------------------------------------------------- EMA
def test_ema_trajectory_of_parameters():
    params = make_params(initial_values())
    ema = optim.EMA(params, decay=0.9)
    avg = [p.numpy().copy() for p in params]
    for t in range(1, 7):
        feed_grads(params, t)
        for p in params:
            p.data -= 0.1 * p.grad.data
        ema.update()
        avg = [0.9 * a + 0.1 * p.numpy() for a, p in zip(avg, params)]
        for s, a in zip(ema.shadow, avg):
            np.testing.assert_allclose(s.numpy(), a, rtol=1e-13)


def test_ema_warmup_and_callable_decay():
    params = make_params([np.zeros(3)])
    ema = optim.EMA(params, decay=0.99, warmup=True)
    expected = [0.0, 1 - 2 ** (-2 / 3), 1 - 3 ** (-2 / 3)]
    assert [ema.get_decay(k) for k in (1, 2, 3)] == pytest.approx(expected, rel=1e-14)
    assert ema.get_decay(10 ** 6) == 0.99
    params[0].data[...] = 5.0
    ema.update()  # first update with warm-up copies the weights
    np.testing.assert_array_equal(ema.shadow[0].numpy(), np.full(3, 5.0))
    schedule = optim.EMA(params, decay=lambda k: optim.byol_decay(k, 10))
    assert schedule.get_decay(0) == pytest.approx(0.996) and schedule.get_decay(10) == pytest.approx(1.0)


def test_ema_of_a_module_averages_parameters_and_buffers():
    class Net(minigrad.Module):
        def __init__(self):
            super().__init__()
            self.w = Parameter(Tensor(np.ones((2, 2))))
            self.register_buffer("running", Tensor(np.zeros(2)))
            self.register_buffer("count", Tensor(np.array([0])))

    net = Net()
    ema = optim.EMA(net, decay=0.5)
    assert ema.module is not net and not ema.module.w.requires_grad
    net.w.data[...] = 3.0
    net.running.data[...] = 2.0
    net.count.data[...] = 7
    ema.update()
    np.testing.assert_allclose(ema.module.w.numpy(), np.full((2, 2), 2.0))
    np.testing.assert_allclose(ema.module.running.numpy(), np.full(2, 1.0))
    np.testing.assert_array_equal(ema.module.count.numpy(), [7])
    copied = optim.EMA(net, decay=0.5, ema_buffers=False)
    net.running.data[...] = 4.0
    copied.update()
    np.testing.assert_allclose(copied.module.running.numpy(), np.full(2, 4.0))
    state = copy.deepcopy(ema.state_dict())
    ema.update()
    ema.load_state_dict(state)
    assert ema.num_updates == 1
    np.testing.assert_allclose(ema.module.w.numpy(), np.full((2, 2), 2.0))
    ema.copy_to(net)
    np.testing.assert_allclose(net.w.numpy(), np.full((2, 2), 2.0))


# ------------------------------------------------------------------ centre update
def test_center_update_matches_hand_computed_batch():
    rng = np.random.default_rng(3)
    centers0 = rng.standard_normal((4, 3))
    feats = rng.standard_normal((6, 3))
    labels = np.array([0, 2, 2, 0, 2, 1])
    centers = Parameter(Tensor(centers0.copy()))
    upd = optim.CenterUpdate(centers, alpha=0.5)
    upd.step(Tensor(feats), Tensor(labels))
    expected = centers0.copy()
    for j in range(4):  # Wen et al. 2016, eq. (4)-(5)
        members = [i for i in range(6) if labels[i] == j]
        delta = sum((centers0[j] - feats[i] for i in members), np.zeros(3)) / (1 + len(members))
        expected[j] = centers0[j] - 0.5 * delta
    np.testing.assert_allclose(centers.numpy(), expected, rtol=1e-13)
    np.testing.assert_array_equal(centers.numpy()[3], centers0[3])  # absent class: unchanged


# ------------------------------------------------------------- save and resume
def _save_load(state, tmp_path):
    path = tmp_path / "opt.npz"
    minigrad.save(state, str(path))
    return minigrad.load(str(path))


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_save_resume_equals_uninterrupted_run(case, tmp_path):
    name, cfg = case
    cls = _optimizer_class(name)
    inits = initial_values()
    params = make_params(inits)
    opt = cls(params, **cfg)
    full = run_optimizer(opt, params, steps=7)

    params = make_params(inits)
    opt = cls(params, **cfg)
    run_optimizer(opt, params, steps=3)
    state = _save_load(opt.state_dict(), tmp_path)
    resumed_params = make_params([p.numpy() for p in params])
    resumed = cls(resumed_params, **dict(cfg, lr=123.0))
    resumed.load_state_dict(state)
    assert resumed.param_groups[0]["lr"] == opt.param_groups[0]["lr"]
    rest = run_optimizer(resumed, resumed_params, steps=4, first_t=4)
    for got, expected in zip(rest, full[3:]):
        for g, e in zip(got, expected):
            np.testing.assert_array_equal(g, e)


def test_sam_state_dict_round_trip(tmp_path):
    params = make_params(initial_values())
    opt = optim.SAM(params, rho=0.05, lr=0.1, momentum=0.9)

    def closure():
        opt.zero_grad()
        feed_grads(params, 1)

    opt.step(closure)
    state = _save_load(opt.state_dict(), tmp_path)
    other_params = make_params([p.numpy() for p in params])
    other = optim.SAM(other_params, rho=0.05, lr=0.1, momentum=0.9)
    other.load_state_dict(state)
    for p, q in zip(params, other_params):
        np.testing.assert_array_equal(to_numpy(other.base_optimizer.state[q]["momentum_buffer"]),
                                      to_numpy(opt.base_optimizer.state[p]["momentum_buffer"]))


def test_state_dict_refers_to_parameters_by_index_and_is_a_snapshot():
    params = make_params(initial_values())
    opt = optim.Adam([{"params": params[:1]}, {"params": params[1:], "lr": 0.5}], lr=0.1)
    run_optimizer(opt, params, steps=2)
    state = opt.state_dict()
    assert [g["params"] for g in state["param_groups"]] == [[0], [1, 2]]
    assert set(state["state"]) == {0, 1, 2} and state["state"][2]["step"] == 2
    saved = state["state"][0]["exp_avg"].numpy().copy()
    run_optimizer(opt, params, steps=1, first_t=3)
    np.testing.assert_array_equal(state["state"][0]["exp_avg"].numpy(), saved)


def test_load_state_dict_rejects_a_different_layout():
    params = make_params(initial_values())
    state = optim.SGD(params, lr=0.1).state_dict()
    with pytest.raises(ValueError, match="parameter groups"):
        optim.SGD([{"params": params[:1]}, {"params": params[1:]}], lr=0.1).load_state_dict(state)
    with pytest.raises(ValueError, match="group 0"):
        optim.SGD(params[:2], lr=0.1).load_state_dict(state)


# --------------------------------------------------------------- dtype and backend
@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_float32_parameters_stay_float32(case, backend):
    name, cfg = case
    params = make_params(initial_values(), dtype="float32")
    opt = _optimizer_class(name)(params, **cfg)
    run_optimizer(opt, params, steps=3)
    for p in params:
        assert p.dtype == np.float32 and p.backend == backend
        for value in opt.state[p].values():
            if hasattr(value, "dtype"):
                assert value.dtype == np.float32, (name, value.dtype)
    expected = run_reference(REFERENCES[name](**cfg), initial_values(), steps=3)[-1]
    for p, e in zip(params, expected):
        np.testing.assert_allclose(p.numpy(), e, rtol=2e-4, atol=2e-5)


# ------------------------------------------------------------------- the machinery
def test_parameters_without_gradient_are_skipped():
    params = make_params(initial_values())
    opt = optim.Adam(params, lr=0.1)
    params[0].grad = Tensor(np.ones(()))
    before = [p.numpy().copy() for p in params]
    opt.step()
    assert params[0].numpy() != before[0]
    for p, b in zip(params[1:], before[1:]):
        np.testing.assert_array_equal(p.numpy(), b)
        assert p not in opt.state


def test_zero_grad():
    params = make_params(initial_values())
    opt = optim.SGD(params, lr=0.1)
    feed_grads(params, 1)
    opt.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.numpy().any() for p in params)
    opt.zero_grad()
    assert all(p.grad is None for p in params)


def test_invalid_options_and_parameters_are_rejected():
    params = make_params(initial_values())
    with pytest.raises(ValueError, match="Nesterov"):
        optim.SGD(params, lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="more than one"):
        optim.SGD([{"params": params[:2]}, {"params": params[1:]}], lr=0.1)
    with pytest.raises(ValueError, match="empty"):
        optim.Adam([], lr=0.1)
    with pytest.raises(TypeError, match="single tensor"):
        optim.Adam(params[0])
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([params[1] * 2], lr=0.1)
    with pytest.raises(ValueError, match="betas"):
        optim.Adam(params, betas=(0.9, 1.5))


def test_updates_bump_the_version_counter():
    """A backward that saved a parameter fails loudly after an update, not silently."""
    w = Parameter(Tensor(np.array([1.0, 2.0])))
    y = (w * w).sum()
    opt = optim.SGD([w], lr=0.1)
    w.grad = Tensor(np.ones(2))
    opt.step()
    with pytest.raises(RuntimeError, match="modified in place"):
        y.backward()


def test_B051_param_groups():
    """Per-group options (lr, weight decay), defaults filling the rest, per-parameter state,
    a group added later, and a scheduler writing each group's lr."""
    inits = initial_values()
    params = make_params(inits)
    opt = optim.SGD([{"params": params[:2], "lr": 0.05},
                     {"params": params[2:], "weight_decay": 0.1}], lr=0.2, momentum=0.9)
    assert opt.param_groups[0]["momentum"] == 0.9 and opt.param_groups[1]["lr"] == 0.2
    got = run_optimizer(opt, params, steps=5)
    first = run_reference(RefSGD(lr=0.05, momentum=0.9), inits[:2], steps=5)
    # the reference feeds parameter k its own gradient index: shift the second group's index
    ref = RefSGD(lr=0.2, momentum=0.9, weight_decay=0.1)
    theta = [inits[2].copy()]
    for t in range(1, 6):
        theta = ref(theta, [synthetic_grad(theta[0], t, 2)])
        np.testing.assert_allclose(got[t - 1][2], theta[0], rtol=1e-12)
    for t in range(5):
        for k in range(2):
            np.testing.assert_allclose(got[t][k], first[t][k], rtol=1e-12)

    extra = Parameter(Tensor(np.ones(2)))
    opt.add_param_group({"params": extra, "lr": 1.0, "momentum": 0})
    extra.grad = Tensor(np.full(2, 0.5))
    opt.step()
    np.testing.assert_allclose(extra.numpy(), np.full(2, 0.5))

    sched = optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    sched.step()
    assert [g["lr"] for g in opt.param_groups] == [0.025, 0.1, 0.5]


def test_B052_optimizer_closure():
    """step(closure) re-evaluates the loss with grad enabled (even when called under
    no_grad), returns it, and takes the same step as backward-then-step."""
    rng = np.random.default_rng(1)
    x, target = Tensor(rng.standard_normal((5, 3))), Tensor(rng.standard_normal((5, 2)))
    w0, b0 = rng.standard_normal((2, 3)), rng.standard_normal(2)

    def model():
        w, b = Parameter(Tensor(w0.copy())), Parameter(Tensor(b0.copy()))
        return w, b, optim.Adam([w, b], lr=0.1)

    def loss_of(w, b):
        d = x @ w.T + b - target
        return (d * d).mean()

    w, b, opt = model()
    losses = []
    for _ in range(4):
        def closure():
            opt.zero_grad()
            loss = loss_of(w, b)
            loss.backward()
            return loss
        with minigrad.no_grad():
            losses.append(opt.step(closure).item())

    w2, b2, opt2 = model()
    for k in range(4):
        opt2.zero_grad()
        loss = loss_of(w2, b2)
        loss.backward()
        assert loss.item() == losses[k]
        opt2.step()
    np.testing.assert_array_equal(w.numpy(), w2.numpy())
    np.testing.assert_array_equal(b.numpy(), b2.numpy())
    assert losses[-1] < losses[0]


def test_B053_post_step_hooks():
    """Hooks run after every step, with (optimizer, args, kwargs), under no_grad (so an
    in-place projection of a parameter is allowed), in registration order; remove() stops one."""
    params = make_params([np.array([0.5, -0.2, 1.0])])
    opt = optim.SGD(params, lr=1.0)
    calls = []

    def project(optimizer, args, kwargs):
        assert not minigrad.is_grad_enabled()
        calls.append(("project", optimizer is opt, args, kwargs, params[0].numpy().copy()))
        for p in optimizer.param_groups[0]["params"]:
            p.clamp_(min=0.0)

    def log(optimizer, args, kwargs):
        calls.append(("log", params[0].numpy().copy()))

    handle = opt.register_step_post_hook(project)
    opt.register_step_post_hook(log)
    params[0].grad = Tensor(np.array([1.0, -1.0, 0.5]))
    opt.step()
    name, same, args, kwargs, seen = calls[0]
    assert name == "project" and same and args == (None,) and kwargs == {}
    np.testing.assert_allclose(seen, [-0.5, 0.8, 0.5])            # after the update
    np.testing.assert_allclose(calls[1][1], [0.0, 0.8, 0.5])       # after the projection
    handle.remove()
    opt.step()
    assert [c[0] for c in calls] == ["project", "log", "log"]
    np.testing.assert_allclose(params[0].numpy(), [-1.0, 1.8, 0.0])

    center = Parameter(Tensor(np.zeros((2, 2))))
    upd = optim.CenterUpdate(center)
    seen_args = []
    upd.register_step_post_hook(lambda o, a, k: seen_args.append(len(a)))
    upd.step(Tensor(np.ones((1, 2))), Tensor(np.array([0])))
    assert seen_args == [2]


def _tested_in_family_files():
    """The ``TESTED`` names of every ``tests/test_optim_<family>.py`` (see tests/optim_checks.py)."""
    import importlib
    import pathlib
    names = set()
    for path in sorted(pathlib.Path(__file__).parent.glob("test_optim_*.py")):
        names |= set(importlib.import_module(f"tests.{path.stem}").TESTED)
    return names


def test_every_registered_optimizer_has_a_reference_or_a_test_file():
    names = {e.name for e in registry.entries(kind="optimizer")}
    tested = set(REFERENCES) | set(CLIP_NAMES) | set(SCHEDULE_NAMES) | _tested_in_family_files()
    assert names == tested, names ^ tested
    for name, ref in REFERENCES.items():
        if ref is not None and name != "sam":
            assert name in CONFIGS, f"{name} has a reference but no configuration to test"


# ------------------------------------------------------ huge but finite gradients
@pytest.mark.parametrize("scale", [1e20, 3e37])
@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_float32_step_with_a_gradient_whose_square_overflows(case, scale, backend):
    """g² = inf in float32 for |g| ≳ 1.8e19: the second moments are kept as √v, so the float32
    run still takes the float64 reference's step instead of none (or NaN)."""
    name, cfg = case
    inits = initial_values()
    grads = [scale * np.sign(synthetic_grad(np.asarray(v, dtype=np.float64), 1, k))
             * (0.5 + np.abs(synthetic_grad(np.asarray(v, dtype=np.float64), 1, k)))
             for k, v in enumerate(inits)]
    params = make_params(inits, dtype="float32")
    opt = _optimizer_class(name)(params, **cfg)
    ref, thetas = REFERENCES[name](**cfg), [np.array(v, dtype=np.float64) for v in inits]
    for _ in range(3):
        for p, g in zip(params, grads):
            p.grad = Tensor(g.astype(np.float32))
        opt.step()
        thetas = ref(thetas, grads)
    for p, th, v in zip(params, thetas, inits):
        got = p.numpy()
        assert np.all(np.isfinite(got)), (name, got)
        assert not np.allclose(got, v), f"{name}: the parameter did not move"
        np.testing.assert_allclose(got, th, rtol=1e-4, atol=1e-4 * np.abs(th).max())


def test_norms_of_huge_gradients_do_not_overflow(backend):
    from minigrad.optim.optimizer import tensor_norm
    huge = [3e19, -4e19]                                # ‖g‖ = 5e19, g² overflows float32
    p = Parameter(Tensor(np.zeros(2, dtype=np.float32)))
    p.grad = Tensor(np.array(huge, dtype=np.float32))
    total = optim.clip_grad_norm_([p], max_norm=1.0)
    np.testing.assert_allclose(total.numpy(), 5e19, rtol=1e-6)
    np.testing.assert_allclose(p.grad.numpy(), [0.6, -0.8], rtol=1e-5)
    xp = minigrad.backends.current().xp
    np.testing.assert_allclose(to_numpy(tensor_norm(xp, xp.asarray(huge, dtype=xp.float32))),
                               5e19, rtol=1e-6)
    assert float(to_numpy(tensor_norm(xp, xp.zeros(0, dtype=xp.float32)))) == 0.0
    top = xp.asarray([3e38, 1.0], dtype=xp.float32)       # max |a| ≥ 2^127: 2^128 would be inf
    np.testing.assert_allclose(to_numpy(tensor_norm(xp, top)), 3e38, rtol=1e-6)


def test_sam_perturbation_with_a_huge_gradient(backend):
    p = Parameter(Tensor(np.zeros(2, dtype=np.float32)))

    def closure():
        p.grad = Tensor(np.array([3e19, -4e19], dtype=np.float32))
        return Tensor(0.0)

    opt = optim.SAM([p], lr=0.0, rho=0.5)
    closure()
    opt.first_step()
    np.testing.assert_allclose(p.numpy(), [0.3, -0.4], rtol=1e-5)    # θ + ρ·g/‖g‖
