"""Distributionally robust, ensemble and margin-variant losses of issue 15 (LDR-KL, ALDR-KL,
EnsLoss, ...): the issue's shared edges and the papers' facts. Gradients (first and second
order, every backend) and forwards against the oracles in ``tests/oracles/loss_dro.py`` are
checked by ``tests/test_registry.py``."""
import math

import numpy as np
import pytest

import minigrad as mg
from minigrad import functional as F, nn
from tests.oracles import loss_dro as oracle


@pytest.fixture
def r():
    return np.random.default_rng(0)


def t(a, grad=False, dtype=float):
    return mg.tensor(np.asarray(a, dtype=dtype), requires_grad=grad)


LDR_CASES = {
    "ldr_softplus": ("ldr_kl_loss", dict()),
    "ldr_l1": ("ldr_kl_loss", dict(logit_norm="l1")),
    "ldr_raw": ("ldr_kl_loss", dict(logit_norm=None, lambd=1.0, margin=1.0)),
    "aldr_l1": ("aldr_kl_loss", dict(lambda_ref=1.0)),
    "aldr_raw": ("aldr_kl_loss", dict(logit_norm=None, lambda_ref=2.0)),
}


def _call(key, z, y, n=None, **extra):
    name, kw = LDR_CASES[key]
    kw = dict(kw, **extra)
    if name == "aldr_kl_loss":
        rows = n if n is not None else (1 if np.ndim(y) == 0 else np.asarray(y).size)
        kw["lambdas"] = np.linspace(0.5, 1.5, rows)
    return getattr(F, name)(z, y, **kw)


@pytest.mark.parametrize("key", sorted(LDR_CASES))
def test_reductions_batch_of_one_and_unbatched(key, r):
    z, y = r.standard_normal((5, 4)), r.integers(0, 4, 5)
    none = _call(key, t(z), y, reduction="none").numpy()
    assert none.shape == (5,)
    assert np.isclose(_call(key, t(z), y, reduction="sum").item(), none.sum())
    assert np.isclose(_call(key, t(z), y).item(), none.mean())
    name, kw = LDR_CASES[key]
    one = _call(key, t(z[:1]), y[:1], reduction="none").numpy()
    if name == "ldr_kl_loss":
        assert np.allclose(one, none[:1])
        unbatched = _call(key, t(z[0]), np.int64(y[0]), reduction="none")
        assert unbatched.shape == () and np.isclose(unbatched.item(), none[0])


@pytest.mark.parametrize("key", sorted(LDR_CASES))
def test_extreme_logits_give_no_nan(key):
    z = t([[1e4, -1e4, 0.5, 3.0], [-1e4, -1e4, 1e4, 1e4], [-1e4, -1e4, -1e4, -1e4]], True)
    y = np.array([1, 0, 3])
    loss = _call(key, z, y)
    loss.backward()
    assert np.isfinite(loss.item()) and np.isfinite(z.grad.numpy()).all()


@pytest.mark.parametrize("key", sorted(LDR_CASES))
def test_empty_classes_and_ignore_index(key, r):
    z = r.standard_normal((6, 4))
    y = np.array([0, 2, 2, -100, 0, 2])
    name, kw = LDR_CASES[key]
    lam = {"lambdas": np.linspace(0.5, 1.5, 6)} if name == "aldr_kl_loss" else {}
    got = getattr(F, name)(t(z), y, **kw, **lam).item()
    want = getattr(oracle, name)(z, y, **kw, **lam)
    assert np.isclose(got, want, rtol=1e-10)
    zz = t(z, True)
    getattr(F, name)(zz, y, **kw, **lam).backward()
    assert np.all(zz.grad.numpy()[3] == 0)                      # the ignored row


@pytest.mark.parametrize("key", sorted(LDR_CASES))
def test_one_hot_soft_targets_equal_class_indices(key, r):
    z, y = t(r.standard_normal((5, 4))), r.integers(0, 4, 5)
    assert np.isclose(_call(key, z, y).item(), _call(key, z, np.eye(4)[y], n=5).item())


def test_ldr_kl_special_cases(r):
    """c = 0, λ = 1 on raw logits: CE − log C; λ → 0: the Crammer–Singer hinge."""
    z, y = r.standard_normal((6, 5)), r.integers(0, 5, 6)
    ce = F.cross_entropy(t(z), y, reduction="none").numpy()
    got = F.ldr_kl_loss(t(z), y, margin=0.0, lambd=1.0, logit_norm=None, reduction="none")
    assert np.allclose(got.numpy(), ce - math.log(5))
    cs = [max(0.0, max(1.0 + z[i, k] - z[i, y[i]] for k in range(5) if k != y[i]))
          for i in range(6)]
    lam = 1e-3
    small = F.ldr_kl_loss(t(z), y, margin=1.0, lambd=lam, logit_norm=None, reduction="none")
    assert np.allclose(small.numpy(), cs, atol=lam * math.log(5) + 1e-9)


def test_ldr_kl_gradient_is_inner_maximiser_minus_target(r):
    z, y = r.standard_normal((3, 4)), np.array([0, 3, 1])
    zz = t(z, True)
    F.ldr_kl_loss(zz, y, margin=1.0, lambd=0.7, logit_norm=None, reduction="sum").backward()
    d = 1.0 * (1 - np.eye(4)[y]) + z - z[np.arange(3), y][:, None]
    w = np.exp(d / 0.7)
    w /= w.sum(axis=1, keepdims=True)
    assert np.allclose(zz.grad.numpy(), w - np.eye(4)[y])


def test_ldr_kl_float32_and_module(r):
    z, y = r.standard_normal((4, 3)).astype(np.float32), r.integers(0, 3, 4)
    out = F.ldr_kl_loss(t(z, dtype=np.float32), y)
    assert out.dtype == np.float32
    m = nn.LDRKLLoss(margin=0.5, lambd=2.0, logit_norm="l1", reduction="sum")
    assert np.isclose(m(t(z), y).item(), oracle.ldr_kl_loss(z, y, 0.5, 2.0, "l1", reduction="sum"))
    assert "lambd=2.0" in repr(m)


def test_aldr_equals_ldr_at_reference_lambda(r):
    z, y = r.standard_normal((5, 4)), r.integers(0, 4, 5)
    a = F.aldr_kl_loss(t(z), y, np.full(5, 3.0), lambda_ref=3.0, reduction="none").numpy()
    b = F.ldr_kl_loss(t(z), y, lambd=3.0, logit_norm="l1", reduction="none").numpy()
    assert np.allclose(a, b)


def test_aldr_module_updates_lambdas_as_the_official_code(r):
    z, y = r.standard_normal((4, 5)), r.integers(0, 5, 4)
    m = nn.ALDRKLLoss(num_samples=10, lambda_ref=10.0, alpha=2.0)
    idx = np.array([7, 1, 3, 8])
    loss = m(t(z), y, idx)
    want = []
    for row in z:
        u = row / (np.abs(row).sum() / 5)
        p = np.exp(u / 10.0) / np.exp(u / 10.0).sum() + 1e-5
        p /= p.sum()
        kl = float((p * np.log(5 * p)).sum())
        want.append(10.0 - 10.0 * kl / (2.0 * math.log(5)))
    lam = m.lambdas.numpy()
    assert np.allclose(lam[idx], want, rtol=1e-6)
    assert np.all(lam[[0, 2, 4, 5, 6, 9]] == 10.0) and np.all(lam > 0)
    assert np.isclose(loss.item(), oracle.aldr_kl_loss(z, y, lam[idx], 10.0, 2.0))
    assert "lambdas" in m.state_dict()
    with pytest.raises(ValueError, match="alpha must be > 1"):
        nn.ALDRKLLoss(4, alpha=1.0)


@pytest.mark.parametrize("name", ["ldr_kl_loss", "aldr_kl_loss"])
def test_bad_inputs_name_the_loss(name, r):
    fn = getattr(F, name)
    lam = {"lambdas": np.ones(3)} if name == "aldr_kl_loss" else {}
    z = t(r.standard_normal((3, 4)))
    with pytest.raises(TypeError, match=name):
        fn(mg.tensor(np.ones((3, 4), dtype=np.int64)), np.array([0, 1, 2]), **lam)
    with pytest.raises(ValueError, match=name):
        fn(z, np.array([0.0, 1.0, 2.0]), **lam)                  # float labels, wrong shape
    with pytest.raises(IndexError, match=name):
        fn(z, np.array([0, 4, 1]), **lam)
    with pytest.raises(ValueError, match=name):
        fn(z, np.array([0, 1]), **lam)
    with pytest.raises(ValueError, match=name):
        fn(z, np.array([0, 1, 2]), logit_norm="l2", **lam)
    with pytest.raises(ValueError, match=name):
        fn(z, np.array([0, 1, 2]), reduction="avg", **lam)
    if name == "aldr_kl_loss":
        with pytest.raises(ValueError, match="one temperature per row"):
            fn(z, np.array([0, 1, 2]), lambdas=np.ones(2))
        with pytest.raises(ValueError, match="> 0"):
            fn(z, np.array([0, 1, 2]), lambdas=np.array([1.0, 0.0, 1.0]))
    else:
        with pytest.raises(ValueError, match="lambd must be > 0"):
            fn(z, np.array([0, 1, 2]), lambd=0.0)


# ------------------------------------------------------------------ EnsLoss
def test_ensloss_gradient_is_the_drawn_calibrated_derivative(r):
    f, y, eps = r.standard_normal(8) * 2, r.integers(0, 2, 8), r.standard_normal(8)
    ff = t(f, True)
    F.ensloss(ff, y, noise=eps, reduction="sum").backward()
    s = 2.0 * y - 1.0
    g = ff.grad.numpy() * s                       # φ'(t_i)
    margins = f * s
    order = np.argsort(margins)
    assert np.all(g < 0) and np.all(g >= -1.0 - 1e-6)            # calibrated: φ' < 0
    # convex: φ' non-decreasing in t, before the 1/t tail rescaling of t > 1
    raw = np.where(margins > 1, (g + 1e-6) * margins - 1e-6, g)
    assert np.all(np.diff(raw[order]) >= -1e-12)


def test_ensloss_fresh_draws_and_reproducible_generator():
    f, y = t(np.linspace(-2, 2, 6), True), np.array([0, 1, 1, 0, 1, 0])
    a = F.ensloss(f, y, generator=np.random.default_rng(3)).item()
    b = F.ensloss(f, y, generator=np.random.default_rng(3)).item()
    c = F.ensloss(f, y, generator=np.random.default_rng(4)).item()
    assert a == b and a != c
    loss = nn.EnsLoss()(f, y)
    loss.backward()
    assert np.isfinite(f.grad.numpy()).all()


def test_ensloss_edges_and_errors(r):
    f = t([1e4, -1e4, 0.0], True)
    loss = F.ensloss(f, np.array([1, 1, 0]), noise=np.array([0.1, -0.2, 3.0]))
    loss.backward()
    assert np.isfinite(loss.item()) and np.isfinite(f.grad.numpy()).all()
    one = F.ensloss(t([0.3], True), np.array([1]), noise=np.array([0.0]), reduction="none")
    assert one.shape == (1,) and np.isclose(one.item(), (-1.0 - 1e-6) * 0.3)
    with pytest.raises(ValueError, match="ensloss.*0 or 1"):
        F.ensloss(t([0.1, 0.2]), np.array([1, 2]))
    with pytest.raises(ValueError, match="ensloss"):
        F.ensloss(t([0.1, 0.2]), np.array([1, 0, 1]))
    with pytest.raises(TypeError, match="ensloss"):
        F.ensloss(mg.tensor(np.array([1, 2])), np.array([1, 0]))
    with pytest.raises(ValueError, match="ensloss.*one draw per score"):
        F.ensloss(t([0.1, 0.2]), np.array([1, 0]), noise=np.zeros(3))


# ------------------------------------------------------------------ LMPT CSE
def test_lmpt_cse_matches_the_official_hinge(r):
    a, b = r.standard_normal((3, 2, 4)), r.standard_normal((5, 2, 4))
    tgt = r.integers(0, 2, (3, 5))
    counts = np.array([0.4, 0.3, 0.15, 0.1, 0.05])
    for kw in (dict(), dict(class_counts=counts, margin=2.0, gamma=1.0)):
        got = F.lmpt_cse_loss(t(a), t(b), tgt, reduction="none", **kw).numpy()
        assert got.shape == (3, 5)
        assert np.allclose(got, oracle.lmpt_cse_loss(a, b, tgt, reduction="none", **kw))
        assert np.isclose(F.lmpt_cse_loss(t(a), t(b), tgt, **kw).item(), got.mean())
    # tail classes (small counts) get larger margins and larger weights
    w = counts ** -2.0 / (counts ** -2.0).sum()
    assert np.all(np.diff(w) > 0)


def test_lmpt_cse_edges_and_errors(r):
    a = t(np.zeros((1, 2, 3)), True)                           # zero caption embedding
    b = t(r.standard_normal((2, 2, 3)), True)
    loss = F.lmpt_cse_loss(a, b, np.array([[1, 0]]), margin=5.0)
    loss.backward()
    assert np.isfinite(loss.item()) and np.isfinite(a.grad.numpy()).all()
    big = t(1e4 * r.standard_normal((2, 2, 3)), True)
    F.lmpt_cse_loss(big, b, np.array([[1, 0], [0, 1]]), margin=5.0).backward()
    assert np.isfinite(big.grad.numpy()).all()
    m = nn.LMPTCSELoss(margin=5.0, reduction="sum")
    assert np.isclose(m(big, b, np.array([[1, 0], [0, 1]])).item(),
                      oracle.lmpt_cse_loss(big.numpy(), b.numpy(), [[1, 0], [0, 1]], margin=5.0,
                                           reduction="sum"))
    with pytest.raises(ValueError, match="lmpt_cse_loss.*multi-hot"):
        F.lmpt_cse_loss(big, b, np.array([[1, 2], [0, 1]]))
    with pytest.raises(ValueError, match="lmpt_cse_loss.*multi-hot"):
        F.lmpt_cse_loss(big, b, np.array([1, 0]))
    with pytest.raises(ValueError, match="lmpt_cse_loss.*same T"):
        F.lmpt_cse_loss(big, t(np.ones((2, 3, 3))), np.array([[1, 0], [0, 1]]))
    with pytest.raises(ValueError, match="lmpt_cse_loss.*class_counts"):
        F.lmpt_cse_loss(big, b, np.array([[1, 0], [0, 1]]), class_counts=np.array([1.0, 0.0]))
    with pytest.raises(TypeError, match="lmpt_cse_loss"):
        F.lmpt_cse_loss(mg.tensor(np.ones((2, 2, 3), dtype=np.int64)), b, np.eye(2, dtype=int))
