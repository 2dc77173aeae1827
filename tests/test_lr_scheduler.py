"""Learning-rate schedules (O016–O023): each sequence against its closed form written out
here, plus state dicts (save, load, continue) and the batch-size scaling rules."""
import math

import numpy as np
import pytest

import minigrad
from minigrad import optim, registry
from minigrad.layers.module import Parameter
from minigrad.optim import lr_scheduler as S
from minigrad.tensor import Tensor

SCHEDULE_NAMES = ("step_lr", "multistep_lr", "cosine_lr", "cosine_warm_restarts", "linear_warmup",
                  "linear_lr", "polynomial_decay", "exponential_decay", "one_cycle",
                  "lr_batch_scaling")
BASES = (0.1, 0.4)


def make_optimizer(cls=optim.SGD, **kw):
    params = [Parameter(Tensor(np.ones(2))), Parameter(Tensor(np.ones(3)))]
    return cls([{"params": params[:1], "lr": BASES[0]}, {"params": params[1:], "lr": BASES[1]}], **kw)


def sequence(scheduler, n):
    """The lr of every group after construction and after each of n - 1 steps."""
    out = [scheduler.get_last_lr()]
    for _ in range(n - 1):
        scheduler.optimizer.step()
        scheduler.step()
        out.append(scheduler.get_last_lr())
        assert [g["lr"] for g in scheduler.optimizer.param_groups] == out[-1]
    return out


def expect(fn, n):
    return [[fn(t, base) for base in BASES] for t in range(n)]


def assert_sequence(got, expected):
    np.testing.assert_allclose(np.array(got), np.array(expected), rtol=1e-13, atol=1e-15)


def test_step_lr():
    got = sequence(S.StepLR(make_optimizer(), step_size=3, gamma=0.5), 10)
    assert_sequence(got, expect(lambda t, b: b * 0.5 ** (t // 3), 10))


def test_multistep_lr():
    got = sequence(S.MultiStepLR(make_optimizer(), milestones=[5, 2], gamma=0.1), 8)
    factors = [1, 1, 0.1, 0.1, 0.1, 0.01, 0.01, 0.01]  # the milestone step uses the new lr
    assert_sequence(got, [[b * f for b in BASES] for f in factors])


def test_cosine_annealing():
    got = sequence(S.CosineAnnealingLR(make_optimizer(), T_max=10, eta_min=0.001), 11)
    assert_sequence(got, expect(lambda t, b: 0.001 + (b - 0.001) * (1 + math.cos(math.pi * t / 10)) / 2, 11))
    assert got[-1] == pytest.approx([0.001, 0.001])


def test_cosine_closed_form_ignores_a_hand_changed_lr():
    opt = make_optimizer()
    sched = S.CosineAnnealingLR(opt, T_max=10)
    opt.param_groups[0]["lr"] = 5.0
    sched.step()
    assert sched.get_last_lr()[0] == pytest.approx(0.1 * (1 + math.cos(math.pi / 10)) / 2)


@pytest.mark.parametrize("T_0, T_mult", [(3, 1), (3, 2), (2, 3)])
def test_cosine_warm_restarts(T_0, T_mult):
    n = 30
    got = sequence(S.CosineAnnealingWarmRestarts(make_optimizer(), T_0=T_0, T_mult=T_mult,
                                                 eta_min=0.01), n)
    expected, t_cur, t_i = [], 0, T_0  # SGDR's bookkeeping, one epoch at a time
    for _ in range(n):
        expected.append([0.01 + (b - 0.01) * (1 + math.cos(math.pi * t_cur / t_i)) / 2 for b in BASES])
        t_cur += 1
        if t_cur >= t_i:
            t_cur, t_i = t_cur - t_i, t_i * T_mult
    assert_sequence(got, expected)


def test_cosine_warm_restarts_fractional_epochs():
    sched = S.CosineAnnealingWarmRestarts(make_optimizer(), T_0=2, T_mult=2)
    for epoch, (t_cur, t_i) in [(0.5, (0.5, 2)), (2.25, (0.25, 4)), (5.5, (3.5, 4)), (6.0, (0, 8))]:
        sched.step(epoch)
        assert sched.get_last_lr()[1] == pytest.approx(0.4 * (1 + math.cos(math.pi * t_cur / t_i)) / 2)


def test_linear_lr():
    got = sequence(S.LinearLR(make_optimizer(), start_factor=0.25, end_factor=0.75, total_iters=4), 7)
    factors = [0.25, 0.375, 0.5, 0.625, 0.75, 0.75, 0.75]
    assert_sequence(got, [[b * f for b in BASES] for f in factors])


def test_linear_warmup_then_cosine():
    opt = make_optimizer()
    sched = S.LinearWarmup(opt, warmup_steps=4, after=S.CosineAnnealingLR(opt, T_max=6))
    got = sequence(sched, 12)

    def lr(t, b):
        if t < 4:
            return b * t / 4  # the first step is at lr 0 (start_factor 0)
        return b * (1 + math.cos(math.pi * (t - 4) / 6)) / 2
    assert_sequence(got, expect(lr, 12))


def test_linear_warmup_alone_holds_the_peak():
    got = sequence(S.LinearWarmup(make_optimizer(), warmup_steps=3, start_factor=0.1), 6)
    assert_sequence(got, expect(lambda t, b: b * (0.1 + 0.9 * min(t, 3) / 3), 6))


def test_polynomial_decay():
    got = sequence(S.PolynomialLR(make_optimizer(), total_iters=8, power=2.0, eta_min=0.01), 11)
    assert_sequence(got, expect(lambda t, b: (b - 0.01) * (1 - min(t, 8) / 8) ** 2 + 0.01, 11))
    linear = sequence(S.PolynomialLR(make_optimizer(), total_iters=4), 6)
    assert_sequence(linear, expect(lambda t, b: b * max(0, 1 - t / 4), 6))


def test_exponential_decay():
    assert_sequence(sequence(S.ExponentialLR(make_optimizer(), gamma=0.9), 6),
                    expect(lambda t, b: b * 0.9 ** t, 6))
    got = sequence(S.ExponentialLR(make_optimizer(), gamma=0.5, decay_steps=2, staircase=True,
                                   min_factor=0.05), 14)
    factors = [1, 1, .5, .5, .25, .25, .125, .125, .0625, .0625, .05, .05, .05, .05]
    assert_sequence(got, [[b * f for b in BASES] for f in factors])
    smooth = sequence(S.ExponentialLR(make_optimizer(), gamma=0.97, decay_steps=2.4, min_factor=0.05), 300)
    assert_sequence(smooth, expect(lambda t, b: b * max(0.97 ** (t / 2.4), 0.05), 300))


def _one_cycle_reference(t, T, max_lr, pct, three_phase, linear, div=25.0, final_div=1e4):
    """Smith's 1cycle with PyTorch's phase boundaries: returns (lr, momentum)."""
    def anneal(a, b, f):
        return a + (b - a) * f if linear else b + (a - b) * (1 + math.cos(math.pi * f)) / 2
    low, top, bottom = max_lr / div, max_lr, max_lr / div / final_div
    rise = pct * T - 1
    if t <= rise:
        f = t / rise
        return anneal(low, top, f), anneal(0.95, 0.85, f)
    if three_phase:
        if t <= 2 * rise:
            f = (t - rise) / rise
            return anneal(top, low, f), anneal(0.85, 0.95, f)
        f = (t - 2 * rise) / (T - 1 - 2 * rise)
        return anneal(low, bottom, f), 0.95
    f = (t - rise) / (T - 1 - rise)
    return anneal(top, bottom, f), anneal(0.85, 0.95, f)


@pytest.mark.parametrize("three_phase, strategy", [(False, "cos"), (True, "linear")])
def test_one_cycle_lr_and_momentum(three_phase, strategy):
    opt = make_optimizer(momentum=0.9)
    sched = S.OneCycleLR(opt, max_lr=[1.0, 2.0], total_steps=20, pct_start=0.3,
                         anneal_strategy=strategy, three_phase=three_phase)
    for t in range(20):
        for g, top in zip(opt.param_groups, (1.0, 2.0)):
            lr, mom = _one_cycle_reference(t, 20, top, 0.3, three_phase, strategy == "linear")
            assert g["lr"] == pytest.approx(lr, rel=1e-12, abs=1e-15)
            assert g["momentum"] == pytest.approx(mom, rel=1e-12)
        if t < 19:
            sched.step()
    with pytest.raises(ValueError, match="total_steps"):
        sched.step()
        sched.step()


def test_one_cycle_cycles_adam_beta1():
    opt = make_optimizer(optim.Adam, betas=(0.9, 0.99))
    sched = S.OneCycleLR(opt, max_lr=0.5, epochs=2, steps_per_epoch=5)
    assert opt.param_groups[0]["betas"] == (0.95, 0.99)
    sched.step()
    lr, mom = _one_cycle_reference(1, 10, 0.5, 0.3, False, False)
    assert opt.param_groups[1]["betas"][0] == pytest.approx(mom) and opt.param_groups[1]["lr"] == pytest.approx(lr)
    assert opt.param_groups[1]["betas"][1] == 0.99


def _all_schedulers():
    def warm(opt):
        return S.LinearWarmup(opt, 3, after=S.PolynomialLR(opt, total_iters=10, power=2.0))
    return [lambda o: S.StepLR(o, 2), lambda o: S.MultiStepLR(o, [1, 4]),
            lambda o: S.CosineAnnealingLR(o, 9), lambda o: S.CosineAnnealingWarmRestarts(o, 2, 2),
            lambda o: S.LinearLR(o), warm, lambda o: S.PolynomialLR(o, 6),
            lambda o: S.ExponentialLR(o, 0.8, min_factor=0.3),
            lambda o: S.OneCycleLR(o, 1.0, total_steps=12, three_phase=True)]


def assert_resumes(build, tmp_path, steps=12, split=5):
    """Optimizer and scheduler state through ``minigrad.save``/``load`` after ``split`` steps,
    into a fresh pair: the same lrs afterwards as an uninterrupted run."""
    full = sequence(build(make_optimizer(momentum=0.9)), steps)
    opt = make_optimizer(momentum=0.9)
    sched = build(opt)
    sequence(sched, split + 1)
    path = str(tmp_path / "sched.npz")
    minigrad.save({"optimizer": opt.state_dict(), "scheduler": sched.state_dict()}, path)
    state = minigrad.load(path)
    opt2 = make_optimizer(momentum=0.9)
    sched2 = build(opt2)
    opt2.load_state_dict(state["optimizer"])
    sched2.load_state_dict(state["scheduler"])
    rest = [sched2.get_last_lr()]
    for _ in range(steps - split - 1):
        sched2.step()
        rest.append(sched2.get_last_lr())
    np.testing.assert_array_equal(np.array(rest), np.array(full[split:]))


@pytest.mark.parametrize("build", _all_schedulers())
def test_state_dict_save_load_continue(build, tmp_path):
    assert_resumes(build, tmp_path, steps=10, split=3)


def test_lr_batch_scaling():
    assert S.lr_batch_scaling(0.1, 1024, 256) == pytest.approx(0.4)
    assert S.lr_batch_scaling(1e-3, 1024, 256, rule="sqrt") == pytest.approx(2e-3)
    assert S.lr_batch_scaling(0.1, 4096, 256, critical_batch_size=2048) == pytest.approx(0.8)
    assert S.lr_batch_scaling(0.1, 64, 256) == pytest.approx(0.025)
    assert S.regime_epochs(90, 1024, 256) == 360
    with pytest.raises(ValueError, match="rule"):
        S.lr_batch_scaling(0.1, 64, 256, rule="cubic")


def test_schedules_are_registered():
    for name in SCHEDULE_NAMES:
        entry = registry.get(name, kind="optimizer")
        assert entry.check == "state" and entry.catalog_id and entry.papers
