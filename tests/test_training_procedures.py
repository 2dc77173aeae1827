"""Training procedures (B026–B030) and input gradients with frozen parameters (B039):
PGD/FGSM on a tiny fixed linear model, mixup and CutMix, the memory bank."""
import math

import numpy as np
import pytest

import minigrad
from minigrad.layers.module import Module, Parameter
from minigrad.ops.indexing import take_along_axis
from minigrad.ops.random import HostGenerator
from minigrad.ops.reductions import logsumexp
from minigrad.tensor import Tensor
from minigrad.training import MemoryBank, cutmix, fgsm, mix_criterion, mixup, pgd_l2, pgd_linf, trades_kl

W0 = np.array([[1.0, -2.0, 0.5, 0.3], [-0.7, 0.4, 1.2, -0.5], [0.2, 0.9, -1.1, 0.8]])
B0 = np.array([0.1, 0.0, -0.2])


class TinyLinear(Module):
    """x @ Wᵀ + b from primitives (Linear is written elsewhere)."""

    def __init__(self):
        super().__init__()
        self.W = Parameter(Tensor(W0.copy()))
        self.b = Parameter(Tensor(B0.copy()))

    def forward(self, x):
        return x @ self.W.T + self.b


def cross_entropy_sum(logits, y):
    return (logsumexp(logits, axis=1) - take_along_axis(logits, y.reshape(-1, 1), 1).reshape(-1)).sum()


def numpy_ce(x, y):
    z = x @ W0.T + B0
    return float(np.sum(np.log(np.exp(z).sum(axis=1)) - z[np.arange(len(y)), y]))


def numpy_input_grad(x, y):
    z = x @ W0.T + B0
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    p[np.arange(len(y)), y] -= 1
    return p @ W0


@pytest.fixture
def batch():
    rng = np.random.default_rng(0)
    return rng.uniform(0.2, 0.8, (6, 4)), np.array([0, 1, 2, 0, 1, 2])


# ------------------------------------------------------------------------ attacks
def test_B039_input_grad_with_frozen_parameters(batch):
    """Input gradients through a model leave its parameters' .grad, requires_grad flags and
    values untouched, both through minigrad.grad and inside the attacks."""
    x, y = batch
    model = TinyLinear()
    model.b.grad = Tensor(np.full(3, 7.0))  # a gradient already there must survive
    xt = Tensor(x.copy(), requires_grad=True)
    loss = cross_entropy_sum(model(xt), Tensor(y))
    gx = minigrad.grad(loss, xt)
    np.testing.assert_allclose(gx.numpy(), numpy_input_grad(x, y), rtol=1e-12)
    assert model.W.grad is None and xt.grad is None
    np.testing.assert_array_equal(model.b.grad.numpy(), np.full(3, 7.0))

    adv = pgd_linf(model, cross_entropy_sum, Tensor(x), Tensor(y), eps=0.1, alpha=0.03, steps=5,
                   generator=np.random.default_rng(1))
    assert not adv.requires_grad
    assert model.W.requires_grad and model.b.requires_grad
    assert model.W.grad is None
    np.testing.assert_array_equal(model.b.grad.numpy(), np.full(3, 7.0))
    np.testing.assert_array_equal(model.W.numpy(), W0)
    np.testing.assert_array_equal(model.b.numpy(), B0)


def test_fgsm_is_one_sign_step(batch):
    x, y = batch
    adv = fgsm(TinyLinear(), cross_entropy_sum, Tensor(x), Tensor(y), eps=0.05)
    expected = np.clip(x + 0.05 * np.sign(numpy_input_grad(x, y)), 0, 1)
    np.testing.assert_allclose(adv.numpy(), expected, rtol=1e-15)


@pytest.mark.parametrize("random_start", [False, True])
def test_pgd_linf_stays_in_the_ball_and_increases_the_loss(batch, random_start):
    x, y = batch
    x[0, :2] = [0.01, 0.99]  # near the box edges: the [0, 1] clip must hold
    eps = 0.1
    adv = pgd_linf(TinyLinear(), cross_entropy_sum, Tensor(x), Tensor(y), eps=eps, alpha=0.025,
                   steps=10, random_start=random_start, generator=np.random.default_rng(2))
    a = adv.numpy()
    assert np.abs(a - x).max() <= eps + 1e-12
    assert a.min() >= 0 and a.max() <= 1
    assert numpy_ce(a, y) > numpy_ce(x, y) + 0.1
    fgsm_adv = fgsm(TinyLinear(), cross_entropy_sum, Tensor(x), Tensor(y), eps=eps).numpy()
    assert numpy_ce(a, y) >= numpy_ce(fgsm_adv, y) - 1e-9


def test_pgd_random_start_is_reproducible_with_a_generator(batch):
    x, y = batch
    runs = [pgd_linf(TinyLinear(), cross_entropy_sum, Tensor(x), Tensor(y), 0.1, 0.02, 0,
                     generator=np.random.default_rng(5)).numpy() for _ in range(2)]
    np.testing.assert_array_equal(runs[0], runs[1])
    assert 0 < np.abs(runs[0] - x).max() <= 0.1  # zero steps: the random start itself
    host = pgd_linf(TinyLinear(), cross_entropy_sum, Tensor(x), Tensor(y), 0.1, 0.02, 0,
                    generator=HostGenerator(5))  # draws on the CPU: the same on every backend
    np.testing.assert_array_equal(host.numpy(), runs[0])


def test_pgd_l2_stays_in_the_ball_and_increases_the_loss(batch):
    x, y = batch
    eps = 0.3
    for random_start in (False, True):
        adv = pgd_l2(TinyLinear(), cross_entropy_sum, Tensor(x), Tensor(y), eps=eps, alpha=0.1,
                     steps=10, random_start=random_start, generator=np.random.default_rng(3)).numpy()
        assert np.linalg.norm(adv - x, axis=1).max() <= eps + 1e-12
        assert numpy_ce(adv, y) > numpy_ce(x, y) + 0.1
    one = pgd_l2(TinyLinear(), cross_entropy_sum, Tensor(x), Tensor(y), eps=eps, alpha=0.1,
                 steps=1, random_start=False).numpy()
    g = numpy_input_grad(x, y)
    np.testing.assert_allclose(one, np.clip(x + 0.1 * g / np.linalg.norm(g, axis=1, keepdims=True), 0, 1),
                               rtol=1e-12, atol=1e-13)


def test_trades_kl_pgd_attacks_the_clean_prediction(batch):
    x, _ = batch
    model = TinyLinear()
    adv = pgd_linf(model, trades_kl, Tensor(x), None, eps=0.031, alpha=0.007, steps=10,
                   random_start=0.001, generator=np.random.default_rng(4))
    assert np.abs(adv.numpy() - x).max() <= 0.031 + 1e-12
    clean = model(Tensor(x)).detach()
    with minigrad.no_grad():
        kl_adv = trades_kl(model(adv), clean).item()
        kl_clean = trades_kl(clean, clean).item()
    assert abs(kl_clean) < 1e-12 and kl_adv > 1e-3


def test_attacks_run_under_no_grad(batch):
    x, y = batch
    with minigrad.no_grad():
        adv = pgd_linf(TinyLinear(), cross_entropy_sum, Tensor(x), Tensor(y), 0.05, 0.02, 3,
                       random_start=False)
    expected = pgd_linf(TinyLinear(), cross_entropy_sum, Tensor(x), Tensor(y), 0.05, 0.02, 3,
                        random_start=False)
    np.testing.assert_array_equal(adv.numpy(), expected.numpy())


# -------------------------------------------------------------------------- mixing
def test_mixup_mixes_inputs_and_labels():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 3, 2))
    y = np.array([0, 1, 2, 3, 4])
    xt = Tensor(x.copy(), requires_grad=True)
    mixed, y_a, y_b, lam = mixup(xt, Tensor(y), alpha=0.4, generator=np.random.default_rng(7))
    draws = np.random.default_rng(7)
    lam_expected, perm = draws.beta(0.4, 0.4), draws.permutation(5)
    assert lam == lam_expected and 0 <= lam <= 1
    np.testing.assert_array_equal(y_a.numpy(), y)
    np.testing.assert_array_equal(y_b.numpy(), y[perm])
    np.testing.assert_allclose(mixed.numpy(), lam * x + (1 - lam) * x[perm], rtol=1e-14)
    mixed.sum().backward()  # each example appears once with weight λ and once with 1 − λ
    np.testing.assert_allclose(xt.grad.numpy(), np.ones_like(x), rtol=1e-14)
    host, _, _, _ = mixup(xt, Tensor(y), alpha=0.4, generator=HostGenerator(7))
    np.testing.assert_array_equal(host.numpy(), mixed.numpy())
    same, _, _, one = mixup(Tensor(x), alpha=0.0)
    assert one == 1.0
    np.testing.assert_array_equal(same.numpy(), x)


def test_mix_criterion_weights_the_two_label_sets():
    out = Tensor(np.array([[2.0, 0.5, -1.0]]))
    lam = 0.3
    loss = mix_criterion(cross_entropy_sum, out, Tensor(np.array([0])), Tensor(np.array([2])), lam)
    z = np.array([2.0, 0.5, -1.0])
    lse = np.log(np.exp(z).sum())
    assert loss.item() == pytest.approx(lam * (lse - z[0]) + (1 - lam) * (lse - z[2]), rel=1e-14)


@pytest.mark.parametrize("seed", range(8))
def test_cutmix_box_area_matches_lam(seed):
    n, h, w = 4, 7, 9
    x = np.arange(n * 2 * h * w, dtype=np.float64).reshape(n, 2, h, w)  # every pixel distinct
    y = np.arange(n)
    mixed, y_a, y_b, lam = cutmix(Tensor(x), Tensor(y), alpha=1.0, generator=np.random.default_rng(seed))
    m = mixed.numpy()
    perm = y_b.numpy()
    np.testing.assert_array_equal(y_a.numpy(), y)
    for i in range(n):
        pasted = m[i] != x[i]
        if perm[i] == i:
            assert not pasted.any()
            continue
        assert (pasted[0] == pasted[1]).all()  # the same box on every channel
        rows, cols = np.nonzero(pasted[0])
        area = pasted[0].sum()
        if area:
            assert area == (rows.max() - rows.min() + 1) * (cols.max() - cols.min() + 1)  # a rectangle
        assert lam == pytest.approx(1 - area / (h * w), abs=1e-15)
        np.testing.assert_array_equal(m[i][pasted], x[perm[i]][pasted])


def test_cutmix_gradient_follows_the_mask():
    x = Tensor(np.random.default_rng(1).standard_normal((3, 1, 6, 6)), requires_grad=True)
    mixed, _, _, _ = cutmix(x, alpha=1.0, generator=np.random.default_rng(2))
    mixed.sum().backward()  # every pixel comes from exactly one example
    np.testing.assert_array_equal(x.grad.numpy(), np.ones((3, 1, 6, 6)))


# --------------------------------------------------------------------- memory bank
def test_memory_bank_is_a_fifo_queue():
    bank = MemoryBank(5, 3, generator=np.random.default_rng(0), dtype="float64")
    np.testing.assert_allclose(np.linalg.norm(bank().numpy(), axis=1), np.ones(5), rtol=1e-14)
    initial = bank().numpy().copy()
    batches = [np.full((2, 3), float(k + 1)) for k in range(3)]
    for b in batches:
        bank.enqueue(Tensor(b, requires_grad=True))
    mem = bank().numpy()
    np.testing.assert_array_equal(mem[0:2], [batches[2][1], batches[0][1]])  # wrapped around:
    np.testing.assert_array_equal(mem[2:4], batches[1])                       # the oldest row
    np.testing.assert_array_equal(mem[4], batches[2][0])                      # was replaced
    assert int(bank.ptr.numpy()[0]) == 1
    assert not bank().requires_grad
    bank.enqueue(np.full((4, 3), 9.0))
    np.testing.assert_array_equal(bank().numpy()[[1, 2, 3, 4]], np.full((4, 3), 9.0))
    np.testing.assert_array_equal(bank().numpy()[0], batches[2][1])
    assert int(bank.ptr.numpy()[0]) == 0
    with pytest.raises(ValueError, match="do not fit"):
        bank.enqueue(np.ones((6, 3)))
    with pytest.raises(ValueError, match="shape"):
        bank.enqueue(np.ones((2, 4)))
    assert not np.array_equal(initial, bank().numpy())


def test_memory_bank_npid_update_and_state_dict():
    bank = MemoryBank(4, 2, momentum=0.5, generator=np.random.default_rng(1), dtype="float64")
    before = bank().numpy().copy()
    f = np.array([[3.0, 4.0], [0.0, -2.0]])
    bank.update(np.array([2, 0]), Tensor(f))
    expected = before.copy()
    for row, i in enumerate([2, 0]):
        v = 0.5 * before[i] + 0.5 * f[row]
        expected[i] = v / math.sqrt(v @ v)
    np.testing.assert_allclose(bank().numpy(), expected, rtol=1e-14)
    bank.enqueue(np.ones((1, 2)))
    other = MemoryBank(4, 2, dtype="float64")
    other.load_state_dict(bank.state_dict())
    np.testing.assert_array_equal(other().numpy(), bank().numpy())
    assert int(other.ptr.numpy()[0]) == 1
