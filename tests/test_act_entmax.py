"""α-entmax family (catalog A050): sparsemax, 1.5-entmax, bisection, learnable α.
The registry harness checks gradients (first and second order) and the oracle; these
tests cover known values, agreement between the three algorithms, edges, errors and a
tiny training run of the learnable α."""
import numpy as np
import pytest

import minigrad as mg
from minigrad import functional as F, nn
from minigrad.gradcheck import gradcheck
from tests.oracles.act_entmax import _entmax


def t(a, grad=False, dtype="float64"):
    return mg.tensor(np.asarray(a, dtype=dtype), requires_grad=grad)


def test_known_values():
    # deep-spin/entmax README example: x = [-2, 0, 0.5]
    x = t([-2.0, 0.0, 0.5])
    np.testing.assert_allclose(F.sparsemax(x).numpy(), [0.0, 0.25, 0.75], atol=1e-12)
    # 1.5-entmax: p = (z/2 − τ)² on {0, 0.5}: (−τ)² + (0.25 − τ)² = 1
    tau = (0.25 - np.sqrt(0.25 ** 2 - 2 * (0.0625 - 1))) / 2
    np.testing.assert_allclose(F.entmax15(x).numpy(),
                               [0.0, tau ** 2, (0.25 - tau) ** 2], atol=1e-12)


@pytest.mark.parametrize("alpha", [2.0, 1.5])
def test_sort_and_bisection_agree(alpha):
    x = t(np.random.default_rng(0).standard_normal((5, 7)) * 3)
    np.testing.assert_allclose(F.entmax(x, alpha).numpy(),
                               F.entmax_bisect(x, alpha).numpy(), atol=1e-12)
    a = mg.tensor(np.full((5, 1), alpha))
    np.testing.assert_allclose(F.entmax(x, a).numpy(), F.entmax(x, alpha).numpy(), atol=1e-12)


def test_sparsemax_is_the_simplex_projection():
    rng = np.random.default_rng(1)
    z = rng.standard_normal(6) * 2
    p = F.sparsemax(t(z)).numpy()
    assert abs(p.sum() - 1) < 1e-12 and (p >= 0).all()
    for _ in range(200):   # no other point of the simplex is closer to z
        q = rng.dirichlet(np.ones(6) * 0.3)
        assert np.sum((z - p) ** 2) <= np.sum((z - q) ** 2) + 1e-12


def test_alpha_near_one_approaches_softmax():
    x = t(np.random.default_rng(2).standard_normal((3, 5)))
    np.testing.assert_allclose(F.entmax(x, 1.001, n_iter=80).numpy(), F.softmax(x).numpy(),
                               atol=5e-3)


def test_dim_and_shapes():
    x = np.random.default_rng(3).standard_normal((2, 4, 3))
    for fn in (F.sparsemax, F.entmax15, lambda v, dim: F.entmax(v, 1.7, dim=dim)):
        y = fn(t(x), dim=1).numpy()
        assert y.shape == x.shape
        np.testing.assert_allclose(y.sum(axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(F.entmax(t(x), 1.7, axis=0).numpy(), _entmax(x, 1.7, axis=0),
                               atol=1e-12)


def test_batch_of_one_single_entry_and_ties():
    assert F.sparsemax(t([[3.0]])).numpy().tolist() == [[1.0]]
    assert F.entmax(t([[3.0]]), 1.3).numpy().tolist() == [[1.0]]
    np.testing.assert_allclose(F.entmax15(t([[1.0, 1.0, 1.0]])).numpy(), [[1 / 3] * 3])


@pytest.mark.parametrize("alpha", [2.0, 1.5, 1.3, 4.0])
def test_extreme_values_stay_finite(alpha):
    x = t([[1e4, -1e4, 0.0, 1e4 - 1e-3], [-1e9, -1e9, 0.0, 1.0], [0.0, 0.0, 0.0, 0.0]], grad=True)
    y = F.entmax(x, alpha)
    (y * t(np.arange(12.0).reshape(3, 4))).sum().backward()
    assert np.isfinite(y.numpy()).all() and np.isfinite(x.grad.numpy()).all()
    np.testing.assert_allclose(y.numpy().sum(-1), 1.0, atol=1e-9)
    assert y.numpy()[1, :2].tolist() == [0.0, 0.0]


@pytest.mark.parametrize("alpha", [2.0, 1.5, 1.3])
def test_float32_in_float32_out(alpha):
    x = t(np.random.default_rng(4).standard_normal((3, 6)), grad=True, dtype="float32")
    y = F.entmax(x, alpha)
    assert y.dtype == x.dtype
    y.sum().backward()
    assert x.grad.dtype == x.dtype
    np.testing.assert_allclose(y.numpy(), _entmax(x.numpy().astype(float), alpha), atol=1e-5)


def test_gradient_zero_off_support_and_alpha_gradient_by_fd():
    x = t([[-3.0, 0.0, 0.5, 0.9]], grad=True)
    F.sparsemax(x).backward(t([[1.0, 2.0, 3.0, 4.0]]))
    assert x.grad.numpy()[0, 0] == 0.0
    a = mg.tensor(np.array([[1.6]]), requires_grad=True)
    assert gradcheck(lambda v, al: F.entmax(v, al), [t([[-0.3, 0.2, 0.55, 0.9]], grad=True), a])


def test_bad_inputs_name_the_op():
    with pytest.raises(ValueError, match="entmax: alpha must be > 1"):
        F.entmax(t([1.0, 2.0]), 1.0)
    with pytest.raises(ValueError, match="entmax_bisect: every alpha must be > 1"):
        F.entmax(t([[1.0, 2.0]]), mg.tensor(np.array([[0.5]])))
    with pytest.raises(ValueError, match="size 1 along axis"):
        F.entmax(t([[1.0, 2.0]]), mg.tensor(np.array([[1.5, 1.5]])))
    with pytest.raises(ValueError, match="sparsemax: needs at least one axis"):
        F.sparsemax(t(1.0))
    with pytest.raises(ValueError, match="entmax15: the normalised axis"):
        F.entmax15(t(np.zeros((2, 0))))
    with pytest.raises(TypeError, match="sparsemax"):
        F.sparsemax(mg.tensor(np.array([1, 2])))
    with pytest.raises(TypeError, match="give axis or dim"):
        F.entmax(t([1.0, 2.0]), axis=0, dim=-1)


def test_modules():
    x = t(np.random.default_rng(5).standard_normal((2, 3, 4, 5)))
    for m, ref in ((nn.Sparsemax(), 2.0), (nn.Entmax15(dim=-1), 1.5), (nn.Entmax(1.7), 1.7),
                   (nn.EntmaxBisect(2.5), 2.5)):
        np.testing.assert_allclose(m(x).numpy(), _entmax(x.numpy(), ref), atol=1e-10)
    m = nn.EntmaxAlpha(3)
    assert [p.shape for p in m.parameters()] == [(3,)]
    np.testing.assert_allclose(m(x).numpy(), _entmax(x.numpy(), 1.5), atol=1e-10)
    with pytest.raises(ValueError, match="EntmaxAlpha: expected 3 heads"):
        nn.EntmaxAlpha(3)(t(np.zeros((2, 4, 4, 5))))
    assert "alpha=1.7" in repr(nn.Entmax(1.7))


def test_learnable_alpha_learns():
    # Target: per-head distributions made by α = 1.2 (head 0) and α = 1.9 (head 1) from
    # the same scores; starting from α = 1.5 both heads move towards their target α.
    rng = np.random.default_rng(6)
    x = t(rng.standard_normal((8, 2, 1, 6)) * 2)
    target = np.concatenate([_entmax(x.numpy()[:, :1], 1.2), _entmax(x.numpy()[:, 1:], 1.9)], 1)
    m = nn.EntmaxAlpha(2)
    opt = mg.optim.SGD(m.parameters(), lr=20.0)
    losses = []
    for _ in range(60):
        opt.zero_grad()
        loss = ((m(x) - t(target)) ** 2).sum()
        loss.backward()
        opt.step()
        losses.append(float(loss.numpy()))
    alpha = m.alpha.numpy()
    assert losses[-1] < 0.05 * losses[0]
    assert alpha[0] < 1.35 and alpha[1] > 1.75


# ---------------------------------------------------------------- SA-Softmax (A052)
from tests.oracles.act_entmax import _sa_softmax  # noqa: E402


def test_sa_softmax_values_and_range():
    x = np.array([[-1.0, 0.5, 2.0], [0.3, 0.1, 0.2]])
    s = np.exp(x) / np.exp(x).sum(-1, keepdims=True)
    np.testing.assert_allclose(F.sa_softmax(t(x)).numpy(), x * s, atol=1e-14)
    y = F.sa_softmax(t(x), normalized=True).numpy()
    np.testing.assert_allclose(y[0], (x[0] + 1) / 3 * s[0], atol=1e-14)
    np.testing.assert_allclose(y[1], x[1] / 0.3 * s[1], atol=1e-14)     # lo = 0, hi = 0.3
    assert (y >= 0).all() and (y <= s + 1e-15).all()


@pytest.mark.parametrize("normalized", [False, True])
def test_sa_softmax_edges(normalized):
    x = t([[1e4, -1e4, 0.0], [0.0, 0.0, 0.0], [-1e9, 0.5, 1.0]], grad=True)
    y = F.sa_softmax(x, normalized=normalized)
    y.backward(t(np.arange(9.0).reshape(3, 3)))
    assert np.isfinite(y.numpy()).all() and np.isfinite(x.grad.numpy()).all()
    assert y.numpy()[1].tolist() == [0.0, 0.0, 0.0]
    np.testing.assert_allclose(y.numpy(), _sa_softmax(x.numpy(), normalized=normalized),
                               atol=1e-12)
    one = t([[2.5]], grad=True)                        # batch of one, one entry
    assert np.isfinite(F.sa_softmax(one, normalized=normalized).numpy()).all()


def test_sa_softmax_dtype_dim_module_and_errors():
    x = t(np.random.default_rng(7).standard_normal((2, 4, 3)), grad=True, dtype="float32")
    y = F.sa_softmax(x, dim=1, normalized=True)
    assert y.dtype == x.dtype and y.shape == x.shape
    y.sum().backward()
    assert x.grad.dtype == x.dtype
    np.testing.assert_allclose(nn.SASoftmax(dim=1, normalized=True)(x).numpy(), y.numpy())
    assert "normalized=True" in repr(nn.SASoftmax(normalized=True))
    with pytest.raises(ValueError, match="sa_softmax: needs at least one axis"):
        F.sa_softmax(t(1.0))
    with pytest.raises(TypeError, match="sa_softmax"):
        F.sa_softmax(mg.tensor(np.array([1, 2])))
