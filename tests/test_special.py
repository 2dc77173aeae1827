"""B049: the special functions of ``minigrad.special`` against SciPy, their first and
second derivatives against finite differences, their domains and dtype promotion."""
import numpy as np
import pytest
import scipy.special as sp

import minigrad as mg
from minigrad import special as S
from minigrad.gradcheck import gradcheck, gradgradcheck

UNARY = {  # name -> (scipy reference, inputs inside the domain)
    "lgamma": (sp.gammaln, [0.3, 1.0, 2.5, 7.0, -0.5, -2.7]),
    "digamma": (sp.digamma, [0.3, 1.0, 2.5, 7.0, -0.5, -2.7]),
    "erfc": (sp.erfc, [-3.0, -0.5, 0.0, 0.7, 4.0, 9.0]),
    "erfinv": (sp.erfinv, [-0.999, -0.5, 0.0, 0.3, 0.9, 0.99]),
    "ndtr": (sp.ndtr, [-8.0, -1.0, 0.0, 0.5, 3.0, 6.0]),
    "log_ndtr": (sp.log_ndtr, [-40.0, -10.0, -1.0, 0.0, 2.0, 8.0]),
    "i0": (sp.i0, [-4.0, -1.0, 0.0, 0.5, 2.0, 10.0]),
    "i1": (sp.i1, [-4.0, -1.0, 0.0, 0.5, 2.0, 10.0]),
    "i0e": (sp.i0e, [-40.0, -1.0, 0.0, 0.5, 2.0, 100.0]),
    "i1e": (sp.i1e, [-40.0, -1.0, 0.0, 0.5, 2.0, 100.0]),
}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_B049_values_match_scipy(name, backend):
    ref, values = UNARY[name]
    x = np.array(values)
    got = getattr(S, name)(mg.tensor(x, dtype="float64")).numpy()
    np.testing.assert_allclose(got, ref(x), rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("name", sorted(UNARY))
def test_B049_gradients_and_second_derivatives(name, backend):
    x = np.array([v for v in UNARY[name][1] if abs(v) < 5 and abs(v) not in (0.999, 0.99, 0.0)])
    fn = getattr(S, name)
    t = mg.tensor(x + 0.01, dtype="float64", requires_grad=True)
    assert gradcheck(fn, [t])
    assert gradgradcheck(fn, [t])


def test_B049_derivative_chain_lgamma_digamma_polygamma(backend):
    x = np.array([0.4, 1.3, 3.0, -1.6])
    t = mg.tensor(x, dtype="float64", requires_grad=True)
    g1, = mg.grad(S.lgamma(t).sum(), [t], create_graph=True)
    np.testing.assert_allclose(g1.numpy(), sp.digamma(x), rtol=1e-12)
    g2, = mg.grad(g1.sum(), [t], create_graph=True)
    np.testing.assert_allclose(g2.numpy(), sp.polygamma(1, x), rtol=1e-12)
    g3, = mg.grad(g2.sum(), [t])
    np.testing.assert_allclose(g3.numpy(), sp.polygamma(2, x), rtol=1e-12)
    np.testing.assert_allclose(S.polygamma(3, t).numpy(), sp.polygamma(3, x), rtol=1e-12)
    assert gradgradcheck(lambda u: S.polygamma(2, u), [t])


def test_B049_i0_derivatives_at_zero(backend):
    t = mg.tensor([0.0], dtype="float64", requires_grad=True)
    for fn, first, second in [(S.i0, 0.0, 0.5), (S.i1, 0.5, 0.0)]:
        g, = mg.grad(fn(t).sum(), [t], create_graph=True)
        gg, = mg.grad(g.sum(), [t])
        np.testing.assert_allclose([g.item(), gg.item()], [first, second], atol=1e-15)


def test_B049_log_ndtr_gradient_is_finite_in_the_left_tail(backend):
    x = np.array([-40.0, -20.0, -5.0])
    t = mg.tensor(x, dtype="float64", requires_grad=True)
    S.log_ndtr(t).sum().backward()
    mills = np.exp(-x * x / 2 - 0.5 * np.log(2 * np.pi) - sp.log_ndtr(x))   # φ/Φ
    np.testing.assert_allclose(t.grad.numpy(), mills, rtol=1e-10)
    assert np.all(np.isfinite(t.grad.numpy())) and t.grad.numpy()[0] > 40


def test_B049_xlogy_values_and_pytorch_gradients_at_x_zero(backend):
    x = np.array([0.0, 0.0, 2.0, -1.5])
    y = np.array([0.0, 3.0, 0.5, 4.0])
    tx = mg.tensor(x, dtype="float64", requires_grad=True)
    ty = mg.tensor(y, dtype="float64", requires_grad=True)
    z = S.xlogy(tx, ty)
    np.testing.assert_allclose(z.numpy(), sp.xlogy(x, y))
    assert z.numpy()[0] == 0.0          # 0 log 0 = 0
    with np.errstate(invalid="ignore", divide="ignore"):
        z.sum().backward()
    gx = tx.grad.numpy()
    np.testing.assert_allclose(gx, [0.0, 0.0, np.log(0.5), np.log(4.0)])   # 0 where x = 0
    gy = ty.grad.numpy()
    assert np.isnan(gy[0])               # 0/0 at x = y = 0, as in PyTorch
    np.testing.assert_allclose(gy[1:], (x / np.where(y == 0, 1, y))[1:])
    a = mg.tensor(np.array([[0.5, -1.0]]), dtype="float64", requires_grad=True)
    b = mg.tensor(np.array([[1.5], [2.0]]), dtype="float64", requires_grad=True)
    assert gradgradcheck(S.xlogy, [a, b])
    np.testing.assert_allclose(S.xlogy(2, ty).numpy()[1:], 2 * np.log(y[1:]))


def test_B049_domains_follow_scipy_and_pytorch(backend):
    with np.errstate(all="ignore"):
        e = S.erfinv(mg.tensor([-1.5, -1.0, 1.0, 1.5], dtype="float64")).numpy()
    assert np.isnan(e[0]) and np.isnan(e[3]) and e[1] == -np.inf and e[2] == np.inf
    lg = S.lgamma(mg.tensor([-0.5, -2.5, 0.0, -1.0], dtype="float64")).numpy()
    np.testing.assert_allclose(lg[:2], sp.gammaln([-0.5, -2.5]))      # log|Γ| at negatives
    assert np.all(lg[2:] == np.inf)                                   # poles
    with pytest.raises(ValueError, match="polygamma"):
        S.polygamma(-1, mg.tensor([1.0]))
    with pytest.raises(ValueError, match="polygamma"):
        S.polygamma(1.5, mg.tensor([1.0]))


@pytest.mark.parametrize("name", sorted(UNARY) + ["polygamma"])
def test_B049_integer_inputs_compute_in_float32(name, backend):
    fn = (lambda t: S.polygamma(1, t)) if name == "polygamma" else getattr(S, name)
    for dtype in ("int64", "int32", "bool"):
        x = mg.tensor(np.array([1, 0, 1]).astype(dtype))
        assert fn(x).dtype == np.float32, (name, dtype)
    assert fn(mg.tensor([0.5, 0.25], dtype="float64")).dtype == np.float64
    assert fn(mg.tensor([0.5, 0.25], dtype="float32")).dtype == np.float32
    assert S.xlogy(mg.tensor([1, 2]), mg.tensor([3, 4])).dtype == np.float32


def test_B049_aliases_and_erf_in_the_namespace(backend):
    x = mg.tensor([0.7, 2.0], dtype="float64")
    np.testing.assert_allclose(S.gammaln(x).numpy(), S.lgamma(x).numpy())
    np.testing.assert_allclose(S.psi(x).numpy(), sp.digamma([0.7, 2.0]))
    np.testing.assert_allclose(S.erf(x).numpy(), sp.erf([0.7, 2.0]))
