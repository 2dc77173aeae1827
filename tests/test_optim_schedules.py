"""Paper schedules and schedule-like procedures: cosine power annealing (O050) against a
transcription of the sharpDARTS array code, the refined schedule (O051) against the official
recipe (scipy's median filter + a naive weight loop), the sub-gradient method with geometric
steps (O054) against a per-measurement hand loop, the LR range test (O053) against a hand
training loop, and the AdAdaGrad-Norm norm test (O042) against a naive per-sample loop."""
import math

import numpy as np
import pytest

import minigrad
from minigrad import func, nn, optim
from minigrad.backends import to_numpy
from minigrad.layers.module import Module, Parameter
from minigrad.optim import lr_scheduler as S
from minigrad.optim.paper_schedules import (CosinePowerAnnealingLR, RefinedLR, refine_schedule,
                                            robust_sensing_subgradient, small_init,
                                            subgradient_geometric_decay)
from minigrad.tensor import Tensor
from minigrad.training import adadagrad_norm_test, lr_range_test
from minigrad.training.lr_finder import range_test_lrs, smooth_losses, suggest_lr
from tests.test_lr_scheduler import BASES, assert_resumes, make_optimizer
from tests.test_lr_scheduler import sequence as lr_sequence

TESTED = {"cosine_power_annealing", "refined_lr_schedule", "subgradient_geometric_decay",
          "lr_range_test", "adadagrad_norm_test"}


def sequence(scheduler, n):
    """``test_lr_scheduler.sequence`` as an array, (n, groups)."""
    return np.array(lr_sequence(scheduler, n))


# ------------------------------------------------------------ O050 cosine power annealing
def sharpdarts_schedule(epochs, max_lr, min_lr, p, warmup):
    """ahundt/sharpDARTS cnn/cosine_power_annealing.py, transcribed: a whole array over epochs
    1..E, rescaled by its own numerical min and max, warm-up entries overwritten."""
    e = np.arange(epochs, dtype=np.float64) + 1
    top = float(epochs)
    in_warmup = e <= warmup + 1
    if warmup > 0:
        top -= warmup
        e = e - warmup
    cos = (1 + np.cos(np.pi * e / top)) / 2
    power = cos if p == 1 else float(p) ** (cos + 1)
    power = power - power.min()
    power = power / power.max()
    if warmup > 0:
        power[in_warmup] = np.arange(1, warmup + 2) / (warmup + 1)
    return power * (max_lr - min_lr) + min_lr


@pytest.mark.parametrize("T, p, warmup, eta_min", [(20, 10, 0, 1e-4), (30, 2, 5, 1e-8),
                                                   (10, 1, 0, 1e-3), (25, 10, 3, 7.5e-4),
                                                   (12, 1, 2, 0.0), (7, 3.5, 0, 0.01)])
def test_O050_cosine_power_annealing_matches_the_sharpdarts_code(T, p, warmup, eta_min):
    sched = CosinePowerAnnealingLR(make_optimizer(), T, eta_min=eta_min, exponent_order=p,
                                   warmup_epochs=warmup)
    got = sequence(sched, T + 3)
    for g, base in enumerate(BASES):
        expected = sharpdarts_schedule(T, base, eta_min, p, warmup)
        np.testing.assert_allclose(got[:T, g], expected, rtol=1e-13, atol=1e-16)
        assert got[0, g] == pytest.approx(base if warmup == 0 else eta_min + (base - eta_min) / (warmup + 1))
        assert got[T - 1, g] == pytest.approx(eta_min, abs=1e-15)
        np.testing.assert_allclose(got[T:, g], eta_min, atol=1e-15)  # held after the run


def test_O050_defaults_and_the_cosine_limit():
    sched = CosinePowerAnnealingLR(make_optimizer(), 50)
    assert (sched.eta_min, sched.exponent_order, sched.warmup_epochs) == (1e-4, 10, 0)
    cosine = sequence(CosinePowerAnnealingLR(make_optimizer(), 30, exponent_order=1), 30)
    near = sequence(CosinePowerAnnealingLR(make_optimizer(), 30, exponent_order=1 + 1e-7), 30)
    np.testing.assert_allclose(near, cosine, rtol=1e-5)
    steep = sequence(CosinePowerAnnealingLR(make_optimizer(), 30, exponent_order=10), 30)
    assert np.all(steep[1:-1] < cosine[1:-1])  # a larger p decays faster early on
    assert np.all(np.diff(steep[:, 0]) < 0)


def test_O050_state_dict_round_trip_and_bad_options(tmp_path):
    assert_resumes(lambda opt: CosinePowerAnnealingLR(opt, 15, exponent_order=4, warmup_epochs=3),
                   tmp_path)
    for kw in [dict(T_max=1), dict(T_max=5, warmup_epochs=5), dict(T_max=5, exponent_order=0.5),
               dict(T_max=5.5), dict(T_max=5, warmup_epochs=-1)]:
        with pytest.raises(ValueError, match="CosinePowerAnnealingLR"):
            CosinePowerAnnealingLR(make_optimizer(), **kw)


# ------------------------------------------------------------ O051 refined schedule
def refined_reference(norms, tau, power):
    """The official recipe: scipy median filter with reflect padding past the end, then
    s_t = w_t·Σ_{p>t} w_p / Σ w (a double loop), normalized to max 1."""
    ndimage = pytest.importorskip("scipy.ndimage")
    width = 2 * (int(tau * len(norms)) // 2) + 1
    pad = 2 * width
    smooth = ndimage.median_filter(np.pad(norms, (0, pad), mode="reflect"), size=width,
                                   mode="nearest")[:-pad]
    w = [g ** (-power) for g in smooth]
    total = sum(w)
    s = [w[t] * sum(w[t + 1:]) / total for t in range(len(w))]
    return np.array(s) / max(s)


@pytest.mark.parametrize("T, tau, norm", [(200, 0.1, "l2"), (57, 0.2, "l1"), (30, 0.0, "l2"),
                                          (9, 0.5, "l2"), (120, 0.05, "l1")])
def test_O051_refined_schedule_matches_the_official_recipe(T, tau, norm):
    rng = np.random.default_rng(T)
    norms = np.exp(0.3 * rng.standard_normal(T)) * np.linspace(2.0, 0.5, T)
    expected = refined_reference(norms, tau, 2 if norm == "l2" else 1)
    np.testing.assert_allclose(refine_schedule(norms, tau, norm), expected, rtol=1e-12, atol=1e-15)
    got = sequence(RefinedLR(make_optimizer(), norms, smoothing=tau, norm=norm), T + 2)
    for g, base in enumerate(BASES):
        np.testing.assert_allclose(got[:T, g], base * expected, rtol=1e-12, atol=1e-16)
        assert got[T - 1, g] == 0 and np.all(got[T:, g] == 0)


def test_O051_constant_norms_give_linear_decay():
    T = 11
    got = sequence(RefinedLR(make_optimizer(), [3.0] * T), T)
    linear = sequence(S.PolynomialLR(make_optimizer(), total_iters=T - 1, power=1.0), T)
    np.testing.assert_allclose(got, linear, rtol=1e-13, atol=1e-16)


def test_O051_falling_norms_produce_a_warmup():
    norms = np.concatenate([np.linspace(10, 1, 20), np.ones(80)])
    s = refine_schedule(norms, smoothing=0.0)
    peak = int(np.argmax(s))
    assert peak > 10 and np.all(np.diff(s[:peak]) > 0) and s[0] < 0.05


def test_O051_fractional_steps_state_and_bad_inputs(tmp_path):
    norms = np.linspace(1, 2, 10)
    sched = RefinedLR(make_optimizer(), norms)
    s = refine_schedule(norms)
    sched.step(2.5)
    assert sched.get_last_lr()[1] == pytest.approx(0.4 * (s[2] + s[3]) / 2)
    assert_resumes(lambda opt: RefinedLR(opt, np.linspace(3, 1, 14), smoothing=0.2), tmp_path)
    for scale in (1e-250, 1e250):                     # scale-free, no overflow
        np.testing.assert_allclose(refine_schedule(norms * scale), s, rtol=1e-12)
    for bad in ([1.0], [1.0, 0.0, 2.0], [1.0, np.inf]):
        with pytest.raises(ValueError, match="refine_schedule"):
            refine_schedule(bad)
    with pytest.raises(ValueError, match="norm"):
        refine_schedule([1.0, 2.0], norm="l3")


# ------------------------------------------------------------ O054 sub-gradient method
def sensing_problem(d=6, r=1, m=120, outliers=0.1, seed=0):
    rng = np.random.default_rng(seed)
    U_star = rng.standard_normal((d, r))
    A = rng.standard_normal((m, d, d))
    y = np.array([np.sum(A[i] * (U_star @ U_star.T)) for i in range(m)])
    bad = rng.random(m) < outliers
    y[bad] += 10 * rng.standard_normal(bad.sum())
    return A, y, U_star @ U_star.T


def hand_subgradient_method(A, y, U, lr, decay, steps):
    """Per measurement: r_i = Σ_jk A_ijk (UUᵀ)_jk, G = (1/m)Σ_i sign(r_i)(A_i + A_iᵀ)U."""
    m = len(y)
    losses = []
    for t in range(steps + 1):
        X = U @ U.T
        G, loss = np.zeros_like(U), 0.0
        for i in range(m):
            r = np.sum(A[i] * X) - y[i]
            loss += abs(r) / m
            G += (np.sign(r) / m) * (A[i] + A[i].T) @ U
        losses.append(loss)
        if t < steps:
            U = U - lr * decay ** t * G
    return U, losses


def test_O054_matches_a_hand_loop_and_sgd_with_exponential_decay():
    A, y, _ = sensing_problem()
    U0 = small_init(6, 3, 1e-2, generator=np.random.default_rng(1)).numpy()
    U, losses = subgradient_geometric_decay(A, y, U0, lr=0.2, decay=0.97, steps=25)
    U_hand, losses_hand = hand_subgradient_method(A, y, U0, 0.2, 0.97, 25)
    np.testing.assert_allclose(U.numpy(), U_hand, rtol=1e-11, atol=1e-14)
    np.testing.assert_allclose(losses, losses_hand, rtol=1e-12)

    # the same run through autograd: SGD(lr=η₀) + ExponentialLR(γ=ρ) on f(U)
    P = Parameter(Tensor(U0.copy()))
    opt = optim.SGD([P], lr=0.2)
    sched = S.ExponentialLR(opt, gamma=0.97)
    A_flat, y_t = Tensor(A.reshape(len(y), -1)), Tensor(y)
    for _ in range(25):
        opt.zero_grad()
        loss = (A_flat @ (P @ P.T).reshape(-1) - y_t).abs().mean()
        loss.backward()
        opt.step()
        sched.step()
    np.testing.assert_allclose(P.numpy(), U_hand, rtol=1e-10, atol=1e-13)


def test_O054_small_init_recovers_the_low_rank_matrix_despite_outliers_and_overparameterization():
    A, y, X_star = sensing_problem()
    U0 = small_init(6, 3, 1e-3, generator=np.random.default_rng(1))
    assert np.linalg.norm(U0.numpy(), 2) == pytest.approx(1e-3)
    U, losses = subgradient_geometric_decay(Tensor(A), Tensor(y), U0, lr=0.2, decay=0.99, steps=600)
    U = U.numpy()
    assert np.linalg.norm(U @ U.T - X_star) / np.linalg.norm(X_star) < 1e-2
    assert losses[-1] < losses[0]


def test_O054_sign_of_zero_residuals_is_zero():
    rng = np.random.default_rng(3)
    U = rng.standard_normal((4, 2))
    A = rng.standard_normal((10, 4, 4))
    y = np.einsum("ijk,jk->i", A, U @ U.T)            # every residual exactly 0
    loss, G = robust_sensing_subgradient(U, A, y)
    assert loss == 0 and np.all(G == 0)
    U_end, losses = subgradient_geometric_decay(A, y, U, lr=1.0, decay=0.5, steps=3)
    np.testing.assert_array_equal(U_end.numpy(), U)
    zeros, _ = subgradient_geometric_decay(A, y, np.zeros((4, 2)), lr=1.0, decay=0.5, steps=3)
    assert np.all(zeros.numpy() == 0)                 # U = 0 is a stationary point


def test_O054_on_every_backend_and_in_float32(backend):
    A, y, _ = sensing_problem(d=4, m=40, seed=2)
    U0 = small_init(4, 2, 1e-2, generator=np.random.default_rng(5), dtype="float32")
    assert U0.backend == backend and U0.dtype == np.float32
    A_b, y_b = Tensor(A.astype(np.float32)), Tensor(y.astype(np.float32))
    U, _ = subgradient_geometric_decay(A_b, y_b, U0, lr=0.1, decay=0.95, steps=10)
    assert U.dtype == np.float32 and U.backend == backend
    U_hand, _ = hand_subgradient_method(A, y, U0.numpy().astype(np.float64), 0.1, 0.95, 10)
    np.testing.assert_allclose(U.numpy(), U_hand, rtol=1e-4, atol=1e-5)


def test_O054_bad_arguments():
    A, y, _ = sensing_problem(d=3, m=5)
    U0 = np.ones((3, 2))
    for kw in [dict(lr=0.0), dict(decay=1.5), dict(decay=0.0), dict(steps=-1)]:
        args = dict(lr=0.1, decay=0.9, steps=2, **{})
        args.update(kw)
        with pytest.raises(ValueError, match="subgradient_geometric_decay"):
            subgradient_geometric_decay(A, y, U0, **args)
    with pytest.raises(ValueError, match="U0"):
        subgradient_geometric_decay(A, y, np.ones((4, 2)), 0.1, 0.9, 2)
    with pytest.raises(ValueError, match="y must"):
        subgradient_geometric_decay(A, y[:3], U0, 0.1, 0.9, 2)
    if minigrad.backends.current().name != "numpy":
        with pytest.raises(ValueError, match="same backend"):
            subgradient_geometric_decay(A, y, Tensor(U0), 0.1, 0.9, 2)
    with pytest.raises(ValueError, match="small_init"):
        small_init(3, 2, 0.1, B=np.ones((2, 2)))


# ------------------------------------------------------------ O053 LR range test
class Linear1(Module):
    """y = x·w + b from primitives."""

    def __init__(self, w, b):
        super().__init__()
        self.w = Parameter(Tensor(np.array(w, dtype=np.float64)))
        self.b = Parameter(Tensor(np.array(b, dtype=np.float64)))

    def forward(self, x):
        return x @ self.w + self.b


def mse(pred, target):
    return ((pred - target) ** 2).mean()


def regression_batches(n_batches=4, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n_batches):
        x = rng.standard_normal((8, 3))
        out.append((x, x @ np.array([1.0, -2.0, 0.5]) + 0.3 + 0.1 * rng.standard_normal(8)))
    return out


def hand_range_test(w, b, batches, lrs, momentum, beta, diverge_th, buf=None):
    """SGD with heavy-ball momentum on the MSE, one batch per lr, batches cycled."""
    buf = [np.zeros_like(w), np.zeros(())] if buf is None else buf
    raw, smooth, avg, best = [], [], 0.0, math.inf
    for i, lr in enumerate(lrs):
        x, y = batches[i % len(batches)]
        err = x @ w + b - y
        raw.append(float(np.mean(err ** 2)))
        grads = [2 * x.T @ err / len(y), np.array(2 * err.mean())]
        for k, g in enumerate(grads):
            buf[k] = momentum * buf[k] + g if momentum else g
        w, b = w - lr * buf[0], b - lr * buf[1]
        avg = beta * avg + (1 - beta) * raw[-1]
        smooth.append(avg / (1 - beta ** (i + 1)))
        best = min(best, smooth[-1])
        if not math.isfinite(smooth[-1]) or smooth[-1] > diverge_th * best:
            break
    return raw, smooth


def test_O053_lr_grid_and_smoothing_by_hand():
    lrs = range_test_lrs(1e-4, 1.0, 5)
    np.testing.assert_allclose(lrs, [1e-4, 1e-3, 1e-2, 1e-1, 1.0], rtol=1e-12)
    np.testing.assert_allclose(range_test_lrs(0.1, 0.5, 5, "linear"), [0.1, 0.2, 0.3, 0.4, 0.5])
    losses = [4.0, 2.0, 3.0, 1.0]
    a1 = 0.1 * 4
    a2 = 0.9 * a1 + 0.1 * 2
    expected = [4.0, a2 / (1 - 0.81), (0.9 * a2 + 0.3) / (1 - 0.729)]
    np.testing.assert_allclose(smooth_losses(losses, beta=0.9)[:3], expected, rtol=1e-14)
    assert smooth_losses(losses, beta=0.0) == losses


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_O053_records_the_hand_loop_and_restores_model_and_optimizer(momentum):
    batches = regression_batches()
    model = Linear1([0.5, 0.5, 0.5], 0.0)
    opt = optim.SGD(model.parameters(), lr=0.05, momentum=momentum)
    # one ordinary step first, so the optimizer has state to restore
    opt.zero_grad()
    mse(model(Tensor(batches[0][0])), Tensor(batches[0][1])).backward()
    opt.step()
    w0, b0 = model.w.numpy().copy(), model.b.numpy().copy()
    buf0 = None
    if momentum:
        buf0 = [to_numpy(opt.state[p]["momentum_buffer"]).copy() for p in (model.w, model.b)]
    before = opt.state_dict()

    result = lr_range_test(model, opt, mse, [(Tensor(x), Tensor(y)) for x, y in batches],
                           start_lr=1e-4, end_lr=10.0, num_iter=40, beta=0.9, diverge_th=4.0)
    lrs = range_test_lrs(1e-4, 10.0, 40)
    raw, smooth = hand_range_test(w0, b0, batches, lrs, momentum, 0.9, 4.0,
                                  None if buf0 is None else [v.copy() for v in buf0])
    n = len(raw)
    np.testing.assert_allclose(result.lrs, lrs[:n], rtol=1e-15)
    np.testing.assert_allclose(result.losses, raw, rtol=1e-10)
    np.testing.assert_allclose(result.smoothed_losses, smooth, rtol=1e-10)
    assert result.diverged == (n < 40)
    assert result.diverged  # lr 10 on this problem blows up
    assert result.smoothed_losses[-1] > 4 * min(result.smoothed_losses[:-1])

    # restored: weights, momentum buffers and lr
    np.testing.assert_array_equal(model.w.numpy(), w0)
    np.testing.assert_array_equal(model.b.numpy(), b0)
    after = opt.state_dict()
    assert [g["lr"] for g in after["param_groups"]] == [0.05]
    assert before["state"].keys() == after["state"].keys()
    for k in before["state"]:
        for name, v in before["state"][k].items():
            np.testing.assert_array_equal(np.asarray(to_numpy(after["state"][k][name].data)),
                                          np.asarray(to_numpy(v.data)))


def test_O053_restore_false_keeps_the_trained_weights_and_a_fresh_optimizer_stays_fresh():
    batches = [(Tensor(x), Tensor(y)) for x, y in regression_batches()]
    model = Linear1([0.5, 0.5, 0.5], 0.0)
    opt = optim.Adam(model.parameters(), lr=1e-3)
    lr_range_test(model, opt, mse, batches, num_iter=10, end_lr=1e-2)
    assert opt.state == {} and opt.param_groups[0]["lr"] == 1e-3
    np.testing.assert_array_equal(model.w.numpy(), [0.5, 0.5, 0.5])
    lr_range_test(model, opt, mse, batches, num_iter=10, end_lr=1e-2, restore=False)
    assert not np.array_equal(model.w.numpy(), [0.5, 0.5, 0.5])


def test_O053_overflowing_losses_stop_the_test_and_leave_no_nan_behind():
    batches = [(Tensor(x), Tensor(y)) for x, y in regression_batches()]
    model = Linear1([0.5, 0.5, 0.5], 0.0)
    opt = optim.SGD(model.parameters(), lr=0.01)
    with np.errstate(all="ignore"):
        result = lr_range_test(model, opt, mse, batches, start_lr=1e10, end_lr=1e300,
                               num_iter=50, diverge_th=1e300)
    assert result.diverged and len(result.lrs) < 50
    assert not math.isfinite(result.smoothed_losses[-1])
    assert math.isfinite(result.best_loss)
    np.testing.assert_array_equal(model.w.numpy(), [0.5, 0.5, 0.5])


def test_O053_suggestion_on_a_synthetic_curve():
    lrs = list(np.logspace(-6, 1, 60))
    x = np.log10(lrs)
    losses = list(2.0 - 1.5 / (1 + np.exp(-3 * (x + 3))) + np.exp(2 * (x - 0.5)))  # fall, then rise
    steepest = suggest_lr(lrs, losses, "steepest", skip_start=10, skip_end=5)
    trimmed = np.array(losses[10:-5])
    assert steepest == lrs[10 + int(np.argmin(np.gradient(trimmed)))]
    assert abs(math.log10(steepest) + 3) < 0.2       # the inflection of the falling part
    assert suggest_lr(lrs, losses, "minimum") == pytest.approx(lrs[int(np.argmin(losses))] / 10)
    with pytest.raises(ValueError, match="at least 17"):
        suggest_lr(lrs[:16], losses[:16], "steepest")
    with pytest.raises(ValueError, match="method"):
        suggest_lr(lrs, losses, "valley")


def test_O053_plot_and_bad_options(tmp_path):
    batches = [(Tensor(x), Tensor(y)) for x, y in regression_batches()]
    model = Linear1([0.5, 0.5, 0.5], 0.0)
    opt = optim.SGD(model.parameters(), lr=0.01)
    result = lr_range_test(model, opt, mse, batches, start_lr=1e-5, end_lr=1.0, num_iter=30)
    assert len(result.lrs) == 30 and not result.diverged and "30 points" in repr(result)
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    ax = result.plot()
    assert ax.get_xscale() == "log" and len(ax.lines) == 2  # the curve and the suggestion
    ax.figure.savefig(tmp_path / "lr.png")
    for kw, match in [(dict(step_mode="cos"), "step_mode"), (dict(num_iter=1), "num_iter"),
                      (dict(start_lr=1.0, end_lr=0.1), "start_lr"), (dict(beta=1.0), "beta"),
                      (dict(diverge_th=1.0), "diverge_th")]:
        with pytest.raises(ValueError, match=match):
            lr_range_test(model, opt, mse, batches, **kw)
    with pytest.raises(ValueError, match="no batch"):
        lr_range_test(model, opt, mse, [], num_iter=3)


# ------------------------------------------------------------ O042 AdAdaGrad-Norm norm test
def naive_norm_test(samples, eta):
    """samples: list over i of lists of per-parameter gradient arrays."""
    b = len(samples)
    flat = [np.concatenate([np.ravel(g) for g in s]) for s in samples]
    mean = sum(flat) / b
    spread = sum(float(np.sum((f - mean) ** 2)) for f in flat)
    passed = spread / ((b - 1) * b) <= eta ** 2 * float(mean @ mean)
    required = spread / ((b - 1) * eta ** 2 * float(mean @ mean))
    return passed, max(b, math.ceil(required)), required


def test_O042_norm_test_against_a_naive_loop():
    rng = np.random.default_rng(0)
    for noise, eta in [(0.05, 0.1), (3.0, 0.1), (0.5, 0.5)]:
        b = 6
        mean_dir = [rng.standard_normal((3, 2)), rng.standard_normal(4)]
        grads = {"w": np.stack([mean_dir[0] + noise * rng.standard_normal((3, 2)) for _ in range(b)]),
                 "b": np.stack([mean_dir[1] + noise * rng.standard_normal(4) for _ in range(b)])}
        samples = [[grads["w"][i], grads["b"][i]] for i in range(b)]
        passed, next_b, required = naive_norm_test(samples, eta)
        res = adadagrad_norm_test({k: Tensor(v) for k, v in grads.items()}, eta=eta)
        assert res.passed == passed and res.batch_size == next_b
        assert res.required_batch_size == pytest.approx(required, rel=1e-12)
        assert res.batch_size >= b                      # the batch size only grows
        assert (res.passed, res.batch_size) == ((True, b) if passed else (False, next_b))
    assert not adadagrad_norm_test([grads["w"], grads["b"]], eta=0.01).passed


def test_O042_with_per_sample_gradients_of_a_model(backend):
    minigrad.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)).double()
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((7, 3)), rng.integers(0, 2, 7)

    def loss_fn(out, target):
        return minigrad.functional.cross_entropy(out, target, reduction="none")
    grads = func.per_sample_grads(model, loss_fn, Tensor(x), Tensor(y))
    samples = []                                        # the naive loop: one backward per example
    for i in range(7):
        model.zero_grad()
        minigrad.functional.cross_entropy(model(Tensor(x[i:i + 1])), Tensor(y[i:i + 1])).backward()
        samples.append([p.grad.numpy().copy() for p in model.parameters()])
    for eta in (0.1, 1.0, 5.0):
        passed, next_b, required = naive_norm_test(samples, eta)
        res = adadagrad_norm_test(grads, eta=eta)
        assert (res.passed, res.batch_size) == (passed, next_b)
        assert res.required_batch_size == pytest.approx(required, rel=1e-9)
    res32 = adadagrad_norm_test({k: v.float() for k, v in grads.items()}, eta=0.1)
    assert res32.required_batch_size == pytest.approx(naive_norm_test(samples, 0.1)[2], rel=1e-4)


def test_O042_edge_cases():
    same = np.tile(np.array([[1.0, -2.0]]), (5, 1))
    res = adadagrad_norm_test(same)                     # no noise: passes, batch kept
    assert res.passed and res.batch_size == 5 and res.variance == 0
    cancel = np.array([[1.0, 0.0], [-1.0, 0.0], [2.0, 1.0], [-2.0, -1.0]])  # mean 0, noisy
    with pytest.raises(ValueError, match="max_batch_size"):
        adadagrad_norm_test(cancel)
    res = adadagrad_norm_test(cancel, max_batch_size=64)
    assert not res.passed and res.batch_size == 64 and math.isinf(res.required_batch_size)
    noisy = np.random.default_rng(0).standard_normal((4, 10)) + 0.01
    assert adadagrad_norm_test(noisy, max_batch_size=16).batch_size == 16  # capped
    huge = noisy * 1e200                                 # no overflow to inf/nan in the ratio
    assert adadagrad_norm_test(huge).required_batch_size == pytest.approx(
        adadagrad_norm_test(noisy).required_batch_size, rel=1e-10)
    with pytest.raises(ValueError, match="at least 2"):
        adadagrad_norm_test(np.ones((1, 3)))
    with pytest.raises(ValueError, match="leading batch axis"):
        adadagrad_norm_test({"a": np.ones((3, 2)), "b": np.ones((4, 2))})
    with pytest.raises(ValueError, match="eta"):
        adadagrad_norm_test(noisy, eta=0)
    with pytest.raises(ValueError, match="not finite"):
        adadagrad_norm_test(np.array([[1.0, np.nan], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="below"):
        adadagrad_norm_test(noisy, max_batch_size=2)
