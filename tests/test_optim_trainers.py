"""Multi-loss trainers and training procedures of issue 14: GradNorm, DOT, LISA, Fish, FedAU.

Update rules are checked step by step against float64 transcriptions written here in plain
NumPy; procedures against hand-computed results."""
import numpy as np
import pytest

import minigrad
from minigrad import nn
from minigrad.layers.module import Parameter
from minigrad.tensor import Tensor
from minigrad.optim.distillation import DistillationOrientedTrainer
from minigrad.training.multitask import GradNorm
from tests.optim_checks import check_float32, check_save_resume, check_trajectory

TESTED = {"gradnorm", "dot_distillation_trainer"}


# ------------------------------------------------------------------------------ GradNorm
class RefGradNorm:
    """LucasBoTang/GradNorm gradnorm.py, one iteration, in float64: |.| subgradient, a fresh
    torch Adam (β = 0.9, 0.999) for the weights every step, renormalization to sum T."""

    def __init__(self, T, alpha, lr, update="adam_reset", eps=1e-8):
        self.w = np.ones(T)
        self.T, self.alpha, self.lr, self.update, self.eps = T, alpha, lr, update, eps
        self.l0 = None

    def __call__(self, losses, norms):
        losses, norms = np.asarray(losses, float), np.asarray(norms, float)
        if self.l0 is None:
            self.l0 = losses.copy()
        gw = np.abs(self.w) * norms                  # torch.norm(grad of w_i·L_i)
        ratio = losses / self.l0
        rt = ratio / ratio.mean()
        const = gw.mean() * rt ** self.alpha
        g = np.sign(gw - const) * np.sign(self.w) * norms
        if self.update == "sgd":
            w = self.w - self.lr * g
        else:
            b1, b2 = 0.9, 0.999
            m, v = (1 - b1) * g, (1 - b2) * g * g
            w = self.w - (self.lr / (1 - b1)) * m / (np.sqrt(v) / np.sqrt(1 - b2) + self.eps)
        self.w = w / w.sum() * self.T
        return self.w.copy()


def _gradnorm_inputs(steps, T=3, seed=0):
    rng = np.random.default_rng(seed)
    losses = np.exp(rng.standard_normal((steps, T)))
    norms = np.abs(rng.standard_normal((steps, T))) * np.array([1.0, 3.0, 0.2])[:T]
    return losses, norms


@pytest.mark.parametrize("cfg", [dict(alpha=1.5, lr=1e-4), dict(alpha=0.12, lr=0.05),
                                 dict(alpha=0.5, lr=0.01, update="sgd")])
def test_gradnorm_weights_match_reference(cfg):
    losses, norms = _gradnorm_inputs(10)
    gn, ref = GradNorm(3, **cfg), RefGradNorm(3, **cfg)
    for l, n in zip(losses, norms):
        got = gn.update(l, n)
        np.testing.assert_allclose(got, ref(l, n), rtol=1e-12, atol=1e-14)
        assert abs(sum(got) - 3.0) < 1e-12


def test_gradnorm_step_computes_gradient_norms_at_the_shared_layer():
    # two tasks on a shared linear layer W: L_i = 0.5·||W x - y_i||² -> ∇_W L_i = (Wx - y_i) xᵀ
    rng = np.random.default_rng(1)
    W0, x = rng.standard_normal((2, 3)), rng.standard_normal(3)
    ys = [rng.standard_normal(2), 3 * rng.standard_normal(2)]
    W = Parameter(Tensor(W0.copy()))
    xt = Tensor(x)
    losses = [((W @ xt - Tensor(y)) ** 2).sum() * 0.5 for y in ys]
    gn = GradNorm(2, alpha=1.0, lr=0.1, update="sgd")
    total = gn.weighted_loss(losses)
    got = gn.step(losses, [W])
    norms = [np.linalg.norm(np.outer(W0 @ x - y, x)) for y in ys]
    values = [0.5 * np.sum((W0 @ x - y) ** 2) for y in ys]
    np.testing.assert_allclose(got, RefGradNorm(2, 1.0, 0.1, "sgd")(values, norms), rtol=1e-12)
    total.backward()          # the graph was kept for the network's own backward
    np.testing.assert_allclose(W.grad.numpy(), sum(np.outer(W0 @ x - y, x) for y in ys),
                               rtol=1e-12)


def test_gradnorm_state_round_trip(tmp_path):
    losses, norms = _gradnorm_inputs(8)
    full = GradNorm(3, alpha=0.12, lr=0.05)
    expected = [full.update(l, n) for l, n in zip(losses, norms)]
    first = GradNorm(3, alpha=0.12, lr=0.05)
    for l, n in zip(losses[:3], norms[:3]):
        first.update(l, n)
    minigrad.save(first.state_dict(), str(tmp_path / "gn.npz"))
    resumed = GradNorm(3, alpha=0.12, lr=0.05)
    resumed.load_state_dict(minigrad.load(str(tmp_path / "gn.npz")))
    for k, (l, n) in enumerate(zip(losses[3:], norms[3:])):
        assert resumed.update(l, n) == expected[3 + k]


def test_gradnorm_edges_and_bad_options():
    gn = GradNorm(2, alpha=1.5, lr=0.01)
    w = gn.update([1.0, 2.0], [0.0, 0.0])        # zero gradients: the weights stay 1
    assert w == [1.0, 1.0]
    w = gn.update([1e30, 1e-30], [1e20, 1e-20])  # extreme losses/norms: finite, sum T
    assert all(np.isfinite(w)) and abs(sum(w) - 2) < 1e-12
    for bad in [dict(num_tasks=0), dict(num_tasks=2, alpha=-1), dict(num_tasks=2, lr=-1),
                dict(num_tasks=2, update="adam"), dict(num_tasks=2, eps=0)]:
        with pytest.raises(ValueError, match="GradNorm"):
            GradNorm(**bad)
    with pytest.raises(ValueError, match="3 losses for 2 tasks"):
        GradNorm(2).update([1, 2, 3], [1, 2, 3])
    with pytest.raises(ValueError, match="L_i\\(0\\)"):
        GradNorm(2).update([0.0, 1.0], [1, 1])


# ----------------------------------------------------------------------------------- DOT
def _kd_grad(g):
    return 0.7 * np.cos(g) - 0.2 * g


KD_PARAMS, TASK_PARAMS = (0, 1), (1, 2)   # param 0: KD only, 1: both, 2: task only


class _DOTPair(DistillationOrientedTrainer):
    """DOT fed two gradients per step by the one-gradient harness: the harness's g is the
    task gradient of parameters 1 and 2; the KD gradient of parameters 0 and 1 is _kd_grad(g)."""

    def step(self, closure=None):
        params = self.param_groups[0]["params"]
        task = [p.grad for p in params]
        for k, p in enumerate(params):
            g = task[k].numpy().astype(np.float64)
            p.grad = Tensor(_kd_grad(g).astype(p.dtype)) if k in KD_PARAMS else None
        self.step_kd()
        for k, p in enumerate(params):
            p.grad = task[k] if k in TASK_PARAMS else None
        return super().step(closure)


class RefDOT:
    """mdistiller/engine/dot.py in float64, with the paper's notation."""

    def __init__(self, lr, momentum=0.825, momentum_kd=0.975, dampening=0.0, weight_decay=0.0):
        self.lr, self.mu, self.mkd, self.tau, self.wd = lr, momentum, momentum_kd, dampening, weight_decay
        self.b, self.bkd = {}, {}

    def __call__(self, thetas, grads):
        thetas = [t.copy() for t in thetas]
        mid = (self.mu + self.mkd) / 2
        for k, (th, g) in enumerate(zip(thetas, grads)):
            if k not in TASK_PARAMS:
                continue
            d = g + self.wd * th
            if k not in self.b:
                self.b[k] = d.copy()
            else:
                self.b[k] = (self.mu if k in KD_PARAMS else mid) * self.b[k] + (1 - self.tau) * d
            thetas[k] = th - self.lr * self.b[k]
        for k, g in enumerate(grads):
            if k not in KD_PARAMS:
                continue
            gk = _kd_grad(g)
            if k not in self.bkd:
                self.bkd[k] = gk.copy()
            elif k in TASK_PARAMS:
                self.bkd[k] = self.mkd * self.bkd[k] + (1 - self.tau) * gk
            else:
                self.bkd[k] = mid * self.bkd[k] + (1 - self.tau) * (gk + self.wd * thetas[k])
            thetas[k] = thetas[k] - self.lr * self.bkd[k]
        return thetas


DOT_CONFIGS = [dict(lr=0.05), dict(lr=0.1, momentum=0.8, momentum_kd=0.95, weight_decay=5e-4),
               dict(lr=0.02, dampening=0.1, weight_decay=1e-2)]


@pytest.mark.parametrize("cfg", DOT_CONFIGS)
def test_dot_trajectory(cfg):
    check_trajectory(_DOTPair, RefDOT(**cfg), cfg)


def test_dot_save_resume(tmp_path):
    check_save_resume(_DOTPair, DOT_CONFIGS[1], tmp_path)


def test_dot_float32(backend):
    check_float32(_DOTPair, RefDOT(**DOT_CONFIGS[1]), DOT_CONFIGS[1], backend)


def test_dot_without_kd_is_sgd_with_the_mean_momentum():
    from tests.test_optimizers import RefSGD
    check_trajectory(DistillationOrientedTrainer, RefSGD(lr=0.05, momentum=0.9, weight_decay=5e-4),
                     dict(lr=0.05, weight_decay=5e-4))


def test_dot_two_real_backward_passes_and_edges():
    p = Parameter(Tensor(np.array([1.0, -2.0])))
    opt = DistillationOrientedTrainer([p], lr=0.1)
    (p * p).sum().backward()          # KD loss: grad 2p
    opt.step_kd()
    opt.zero_grad(set_to_none=False)  # zeroing in place must not change the recorded g_KD
    (p * 3.0).sum().backward()        # task loss: grad 3
    opt.step()
    np.testing.assert_allclose(p.numpy(), np.array([1.0, -2.0]) - 0.1 * 3 - 0.1 * np.array([2.0, -4.0]))
    q = Parameter(Tensor(np.zeros(3)))
    opt = DistillationOrientedTrainer([q], lr=0.1, weight_decay=1e-2)
    q.grad = Tensor(np.zeros(3))
    opt.step()
    assert np.all(q.numpy() == 0)
    q.grad = Tensor(np.full(3, 1e300))
    opt.step()
    assert np.all(np.isfinite(q.numpy()))
    for bad in [dict(lr=-1), dict(lr=0.1, momentum=-1), dict(lr=0.1, momentum_kd=-1),
                dict(lr=0.1, weight_decay=-1), dict(lr=0.1, dampening=2)]:
        with pytest.raises(ValueError, match="DistillationOrientedTrainer"):
            DistillationOrientedTrainer([q], **bad)


# ---------------------------------------------------------------------------------- LISA
from minigrad.training.layer_sampling import LISA  # noqa: E402

TESTED |= {"lisa"}


def _lisa_model():
    minigrad.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), *[nn.Linear(4, 4) for _ in range(5)], nn.Linear(4, 2))


def test_lisa_schedule_with_a_fixed_generator():
    model = _lisa_model()
    mods = list(model.children()) if hasattr(model, "children") else list(model)
    body = mods[1:-1]
    lisa = LISA(body, n_layers=2, interval_steps=3, generator=minigrad.Generator().manual_seed(7))
    rng = np.random.default_rng(7)
    for t in range(10):
        if t % 3 == 0:
            expected = sorted(int(i) for i in rng.permutation(5)[:2])
        active = lisa.step()
        assert sorted(active) == expected
        for j, layer in enumerate(body):
            assert all(p.requires_grad == (j in expected) for p in layer.parameters())
        for head in (mods[0], mods[-1]):              # embedding and head always train
            assert all(p.requires_grad for p in head.parameters())


def test_lisa_trains_only_the_active_layers_and_resets_state(tmp_path):
    model = _lisa_model()
    mods = list(model.children())
    body = mods[1:-1]
    opt = minigrad.optim.AdamW(model.parameters(), lr=1e-2)
    lisa = LISA(body, n_layers=1, interval_steps=2, optimizer=opt, reset_state=True,
                generator=np.random.default_rng(3))
    x = Tensor(np.random.default_rng(0).standard_normal((8, 3)).astype(np.float32))
    y = Tensor(np.zeros((8, 2), np.float32))
    for t in range(6):
        active = lisa.step()
        before = [[p.numpy().copy() for p in layer.parameters()] for layer in body]
        opt.zero_grad()
        ((model(x) - y) ** 2).mean().backward()
        opt.step()
        for j, layer in enumerate(body):
            changed = any(not np.array_equal(b, p.numpy()) for b, p in zip(before[j], layer.parameters()))
            assert changed == (j in active)
            has_state = any(p in opt.state for p in layer.parameters())
            assert has_state == (j in active)     # frozen layers' AdamW moments discarded
    # state round trip: the same draws after save -> load
    minigrad.save(lisa.state_dict(), str(tmp_path / "lisa.npz"))
    expected = [lisa.step() for _ in range(6)]
    other = LISA(body, n_layers=1, interval_steps=2, optimizer=opt, reset_state=True,
                 generator=np.random.default_rng(99))
    other.load_state_dict(minigrad.load(str(tmp_path / "lisa.npz")))
    assert [other.step() for _ in range(6)] == expected


def test_lisa_bad_options():
    body = list(_lisa_model().children())[1:-1]
    for bad, msg in [(dict(n_layers=0), "n_layers"), (dict(n_layers=6), "n_layers"),
                     (dict(interval_steps=0), "interval_steps"), (dict(reset_state=True), "optimizer")]:
        with pytest.raises(ValueError, match=msg):
            LISA(body, **bad)
    with pytest.raises(TypeError, match="LISA"):
        LISA([])


# ---------------------------------------------------------------------------------- Fish
from minigrad.training.domain import Fish  # noqa: E402

TESTED |= {"fish"}


def _fish_setup(inner="sgd"):
    minigrad.manual_seed(0)
    model, clone = nn.Linear(3, 1).double(), nn.Linear(3, 1).double()
    opt = (minigrad.optim.SGD(clone.parameters(), lr=0.1) if inner == "sgd"
           else minigrad.optim.Adam(clone.parameters(), lr=1e-2))
    return model, clone, opt


def _domains(seed):
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal((4, 3)), rng.standard_normal((4, 1))) for _ in range(2)]


def _mse(out, y):
    return ((out - Tensor(y)) ** 2).mean()


def test_fish_matches_the_hand_computed_meta_step():
    model, clone, opt = _fish_setup()
    W, b = model.weight.numpy().copy(), model.bias.numpy().copy()
    fish = Fish(model, clone, opt, meta_lr=0.5)
    doms = _domains(1)
    fish.update([(Tensor(x), y) for x, y in doms], _mse)
    Wt, bt = W.copy(), b.copy()
    for x, y in doms:        # inner SGD steps on mean((Wx + b − y)²): ∇_W = (2/n)·rᵀX
        r = x @ Wt.T + bt - y
        gW, gb = 2 * r.T @ x / r.size, 2 * r.sum(0) / r.size
        Wt, bt = Wt - 0.1 * gW, bt - 0.1 * gb
    np.testing.assert_allclose(model.weight.numpy(), W + 0.5 * (Wt - W), rtol=1e-12)
    np.testing.assert_allclose(model.bias.numpy(), b + 0.5 * (bt - b), rtol=1e-12)


def test_fish_state_round_trip_with_adam_inner(tmp_path):
    model, clone, opt = _fish_setup("adam")
    fish = Fish(model, clone, opt)
    batches = [[(Tensor(x), y) for x, y in _domains(s)] for s in range(6)]
    for bt in batches:
        fish.update(bt, _mse)
    expected = model.weight.numpy().copy()

    model, clone, opt = _fish_setup("adam")
    fish = Fish(model, clone, opt)
    for bt in batches[:3]:
        fish.update(bt, _mse)
    minigrad.save({"model": model.state_dict(), "fish": fish.state_dict()}, str(tmp_path / "f.npz"))
    saved = minigrad.load(str(tmp_path / "f.npz"))
    model2, clone2, opt2 = _fish_setup("adam")
    model2.load_state_dict(saved["model"])
    fish2 = Fish(model2, clone2, opt2)
    fish2.load_state_dict(saved["fish"])
    for bt in batches[3:]:
        fish2.update(bt, _mse)
    np.testing.assert_array_equal(model2.weight.numpy(), expected)


def test_fish_bad_arguments():
    model, clone, opt = _fish_setup()
    for bad in (0.0, 1.5):
        with pytest.raises(ValueError, match="meta_lr"):
            Fish(model, clone, opt, meta_lr=bad)
    with pytest.raises(ValueError, match="separate"):
        Fish(model, model, opt)
    with pytest.raises(ValueError, match="inner_model's parameters"):
        Fish(model, clone, minigrad.optim.SGD(model.parameters(), lr=0.1))
    with pytest.raises(ValueError, match="shape"):
        Fish(model, nn.Linear(2, 1).double(), opt)


# --------------------------------------------------------------------------------- FedAU
from minigrad.training.federated import FedAU  # noqa: E402

TESTED |= {"fedau"}


def test_fedau_weights_on_a_fixed_participation_log():
    fed = FedAU(2, cutoff=3)
    log = [{0}, set(), {0}, {0}, set(), {1}, {0, 1}]
    got = [fed.observe(s) for s in log]
    # client 0 (rounds 0, 2, 3, 6): ω = 1 (no interval yet), mean{1} = 1, mean{1, 2} = 1.5,
    #   mean{1, 2, 1} = 4/3 (2 absences < K: no cut-off interval);
    # client 1 (rounds 5, 6): absent 3 rounds -> interval 3 (cut off at K = 3), then the
    #   interval 2 + 1 = 3 that ends at round 5: ω = 3 at round 5, mean{3, 3} = 3 at round 6
    assert got == [{0: 1.0}, {}, {0: 1.0}, {0: 1.5}, {}, {1: 3.0}, {0: 4 / 3, 1: 3.0}]


def test_fedau_server_step_and_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    x = {"w": Tensor(rng.standard_normal((2, 3))), "n": Tensor(np.array(4))}
    log = [{0, 2}, {1}, {0}, {0, 1, 2}, set(), {2}]
    deltas = [{n: {"w": Tensor(rng.standard_normal((2, 3)))} for n in s} for s in log]
    fed, state = FedAU(3, cutoff=2, lr_global=0.5), x
    # naive loop: ω_n from the intervals list, Σ in client order, / N, × γ
    intervals, absent, w = [[], [], []], [0, 0, 0], x["w"].numpy().copy()
    for t, (s, d) in enumerate(zip(log, deltas)):
        acc = np.zeros((2, 3))
        for n in range(3):
            if n in s:
                acc = acc + (np.mean(intervals[n]) if intervals[n] else 1.0) * d[n]["w"].numpy()
                intervals[n].append(absent[n] + 1)
                absent[n] = 0
            else:
                absent[n] += 1
                if absent[n] >= 2:
                    intervals[n].append(absent[n])
                    absent[n] = 0
        w = w + 0.5 * (acc / 3)
        state = fed.step(state, d)
        np.testing.assert_allclose(state["w"].numpy(), w, rtol=1e-13, atol=1e-15)
        assert int(state["n"].numpy()) == 4
        if t == 2:
            minigrad.save(fed.state_dict(), str(tmp_path / "fedau.npz"))
            saved_state = state
    resumed = FedAU(3, cutoff=2, lr_global=0.5)
    resumed.load_state_dict(minigrad.load(str(tmp_path / "fedau.npz")))
    again = saved_state
    for d in deltas[3:]:
        again = resumed.step(again, d)
    np.testing.assert_array_equal(again["w"].numpy(), state["w"].numpy())


def test_fedau_float32_and_bad_arguments():
    fed = FedAU(2)
    out = fed.step({"w": Tensor(np.ones(3, np.float32))}, {1: {"w": Tensor(np.ones(3, np.float32))}})
    assert out["w"].dtype == np.float32
    np.testing.assert_allclose(out["w"].numpy(), 1.5)
    for bad in [dict(num_clients=0), dict(num_clients=2, cutoff=0), dict(num_clients=2, lr_global=0)]:
        with pytest.raises(ValueError, match="FedAU"):
            FedAU(**bad)
    with pytest.raises(ValueError, match="client index 5"):
        fed.observe({5})
    with pytest.raises(ValueError, match="shape"):
        fed.step({"w": Tensor(np.ones(3))}, {0: {"w": Tensor(np.ones(4))}})


# ----------------------------------------------------------------------------------- MAP
from minigrad.training.merging_pareto import (fit_quadratic_surrogate, map_merging,  # noqa: E402
                                              pareto_front, quadratic_features, surrogate_predict)

TESTED |= {"map_merging"}


def test_map_quadratic_surrogate_fit_recovers_a_synthetic_quadratic():
    rng = np.random.default_rng(0)
    C = rng.uniform(0, 1, (30, 3))
    p = rng.standard_normal(10)
    # naive: Σ p·features written out for T = 3 in MAP's order
    c1, c2, c3 = C.T
    y = (p[0] * c1 ** 2 + p[1] * c2 ** 2 + p[2] * c3 ** 2 + p[3] * c1 * c2 + p[4] * c1 * c3
         + p[5] * c2 * c3 + p[6] * c1 + p[7] * c2 + p[8] * c3 + p[9])
    np.testing.assert_allclose(quadratic_features(C) @ p, y, rtol=1e-13)
    np.testing.assert_allclose(fit_quadratic_surrogate(C, y), p, rtol=1e-9, atol=1e-10)
    q = 0.3 * p
    acc = 1 / (1 + np.exp(-(quadratic_features(C) @ q)))
    got = fit_quadratic_surrogate(C, acc, link="sigmoid")
    np.testing.assert_allclose(surrogate_predict(got, C, "sigmoid"), acc, atol=1e-7)
    with pytest.raises(ValueError, match="10 parameters"):
        fit_quadratic_surrogate(C[:5], y[:5])


def test_map_pareto_front_matches_a_naive_double_loop():
    V = np.random.default_rng(1).integers(0, 5, (40, 2)).astype(float)
    naive = [i for i in range(40)
             if not any(all(V[j] >= V[i]) and any(V[j] > V[i]) for j in range(40))]
    assert list(pareto_front(V)) == naive
    naive_low = [i for i in range(40)
                 if not any(all(V[j] <= V[i]) and any(V[j] < V[i]) for j in range(40))]
    assert list(pareto_front(V, higher_is_better=False)) == naive_low


def test_map_merging_on_two_quadratic_task_losses():
    base = {"w": Tensor(np.zeros(2)), "b": Tensor(np.array([0.5]))}
    ft = [{"w": Tensor(np.array([1.0, 0.0])), "b": Tensor(np.array([0.5]))},
          {"w": Tensor(np.array([0.0, 1.0])), "b": Tensor(np.array([0.5]))}]
    a = np.array([[0.8, 0.2], [0.3, 0.7]])          # task t's best merged weights

    def evaluate(sd):
        w = sd["w"].numpy()
        return [np.sum((w - a[0]) ** 2), np.sum((w - a[1]) ** 2)]

    res = map_merging(base, ft, evaluate, num_samples=12, metric="loss", link="identity",
                      num_candidates=3000, generator=minigrad.Generator().manual_seed(0))
    merged = res["merge"]([0.25, 0.5])               # θ₀ + Σ c_i τ_i by hand
    np.testing.assert_allclose(merged["w"].numpy(), [0.25, 0.5])
    np.testing.assert_allclose(merged["b"].numpy(), [0.5])
    np.testing.assert_allclose(res["metrics"], [evaluate({"w": Tensor(c)}) for c in res["samples"]])
    # exact quadratics: the surrogates are exact, and the front is the segment a_0 -> a_1
    P = res["pareto_coefficients"]
    assert len(P) > 10
    d = a[1] - a[0]
    s = (P - a[0]) @ d / (d @ d)
    assert np.all((s > -1e-9) & (s < 1 + 1e-9))
    np.testing.assert_allclose(P, a[0] + s[:, None] * d, atol=0.05)
    truth = np.array([evaluate({"w": Tensor(c)}) for c in P])
    np.testing.assert_allclose(res["pareto_metrics"], truth, atol=1e-9)


def test_map_merging_bad_arguments():
    base, ft = {"w": Tensor(np.zeros(2))}, [{"w": Tensor(np.ones(2))}, {"w": Tensor(-np.ones(2))}]
    with pytest.raises(ValueError, match="num_samples >= 6"):
        map_merging(base, ft, lambda sd: [0, 0], num_samples=5)
    with pytest.raises(ValueError, match="bounds"):
        map_merging(base, ft, lambda sd: [0, 0], bounds=(1, 0))
    with pytest.raises(ValueError, match="2 numbers"):
        map_merging(base, ft, lambda sd: [0.5], num_samples=6)
    with pytest.raises(ValueError, match="metric"):
        map_merging(base, ft, lambda sd: [0, 0], metric="f1")


# --------------------------------------------------------------------------------- PA&DA
from minigrad.training.layer_sampling import PADASampler  # noqa: E402

TESTED |= {"pada_sampling"}


def _pada_run(sampler, rng, epochs, N, E=6, ops=5, start=0, steps=4):
    """Drive the sampler with synthetic logits / op norms from ``rng``; return what it drew."""
    drawn = []
    for e in range(start, epochs):
        sampler.begin_epoch(e)
        for _ in range(steps):
            arch = sampler.sample_path()
            idx = rng.integers(0, N, 5)
            logits, y = rng.standard_normal((5, 3)), rng.integers(0, 3, 5)
            sampler.record_samples(idx, sampler.logit_grad_norms(logits, y))
            norms = {o: float(rng.uniform(0.1, 2)) for o in set(arch) if o in (2, 3)}
            sampler.record_path(arch, norms)
            drawn.append(arch)
        drawn.append(list(sampler.end_epoch()))
    return drawn


def test_pada_matches_a_transcription_of_the_reference_epoch_loop():
    N, epochs = 12, 3
    s = PADASampler(N, epochs=epochs, generator=np.random.default_rng(5))
    got = _pada_run(s, np.random.default_rng(0), epochs, N)
    # reference: np.random.Generator.choice with the same stream, the official bookkeeping
    draw, feed = np.random.default_rng(5), np.random.default_rng(0)
    q, out = np.full(5, 0.2), []
    for e in range(epochs):
        tau, path_norm, records = e / epochs, [0.0] * 5, []
        for _ in range(4):
            arch = draw.choice(list(range(5)), size=6, p=q).tolist()
            idx = feed.integers(0, N, 5)
            logits, y = feed.standard_normal((5, 3)), feed.integers(0, 3, 5)
            probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
            h = np.linalg.norm(probs - np.eye(3)[y], axis=-1)
            records += list(zip(idx, h))
            norms = {o: float(feed.uniform(0.1, 2)) for o in set(arch) if o in (2, 3)}
            for o in range(5):
                t = norms.get(o, 0.0)
                if t != 0.0:
                    path_norm[o] = np.mean([path_norm[o], t / arch.count(o)])
            out.append(arch)
        q = np.array(path_norm) / np.sum(path_norm) * tau + np.full(5, 0.2) * (1 - tau)
        sg = np.zeros(N)
        for i, v in records:
            sg[i] = np.mean([sg[i], v]) if sg[i] != 0 else v
        p = sg / sg.sum() * tau + (1 - tau) * np.full(N, 1 / N)
        out.append(list(draw.choice(list(range(N)), size=N, replace=True, p=p)))
    assert got == out
    np.testing.assert_allclose(s.data_prob, p, rtol=1e-14)
    np.testing.assert_allclose(s.path_prob, q, rtol=1e-14)


def test_pada_importance_weights_unbias_the_mean_and_round_trip(tmp_path):
    N = 10
    s = PADASampler(N, epochs=4, generator=minigrad.Generator().manual_seed(1))
    _pada_run(s, np.random.default_rng(2), 3, N)
    g = np.random.default_rng(3).standard_normal(N)
    w = s.importance_weights(np.arange(N))
    np.testing.assert_allclose(np.sum(s.data_prob * w * g), g.mean(), rtol=1e-12)
    assert abs(s.data_prob.sum() - 1) < 1e-12 and abs(s.path_prob.sum() - 1) < 1e-12
    # save mid-run (after a few steps of epoch 3), then continue: the same draws
    s.begin_epoch(3)
    s.record_samples([1, 2], [0.5, 0.25])
    minigrad.save(s.state_dict(), str(tmp_path / "pada.npz"))
    expected = [s.sample_path() for _ in range(3)] + [list(s.end_epoch())]
    t = PADASampler(N, epochs=4, generator=minigrad.Generator().manual_seed(99))
    t.load_state_dict(minigrad.load(str(tmp_path / "pada.npz")))
    assert [t.sample_path() for _ in range(3)] + [list(t.end_epoch())] == expected


def test_pada_edges_and_bad_arguments():
    s = PADASampler(4, epochs=2, generator=np.random.default_rng(0))
    s.begin_epoch(1)
    order = s.end_epoch()                          # nothing recorded: uniform, no 0/0
    np.testing.assert_allclose(s.data_prob, 0.25)
    np.testing.assert_allclose(s.path_prob, 0.2)
    assert len(order) == 4
    h = PADASampler.logit_grad_norms(np.array([[1e4, -1e4, 0.0]]), np.array([0]))
    assert np.all(np.isfinite(h)) and h[0] < 1e-12
    for bad in [dict(num_samples=0), dict(num_samples=3, num_ops=0), dict(num_samples=3, epochs=0)]:
        with pytest.raises(ValueError, match="PADASampler"):
            PADASampler(**bad)
    with pytest.raises(ValueError, match="indices"):
        s.record_samples([4], [1.0])
    with pytest.raises(ValueError, match="not on the path"):
        s.record_path([0] * 6, {2: 1.0})
