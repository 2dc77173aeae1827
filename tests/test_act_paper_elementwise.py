"""Single-paper elementwise activations (A028 abs, A029 SmeLU/gSmeLU, A031 CRReLU, A039
HeLU, A042 Gumbel) and APA/AGLU (A043/A044) beyond the registry harness (which gradchecks
each op, second order included, and compares its forward with
tests/oracles/act_paper_elementwise.py): extreme inputs, knots, the special cases the
papers name, the HeLU rule, learnable parameters in a tiny training run, dtypes, errors."""
import numpy as np
import pytest
import scipy.special

import minigrad as mg
from minigrad import F, nn
from minigrad.gradcheck import gradcheck
from tests.activation_checks import assert_learns_and_moves

EXTREME = np.array([-1e4, -800.0, -40.5, -7.0, -1e-300, 0.0, 1e-300, 7.0, 40.5, 800.0, 1e4])


def t64(a, grad=True):
    return mg.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


def grad_of(fn, x, *params):
    xs = [t64(x)] + [t64(p) for p in params]
    y = fn(*xs)
    (y * mg.tensor(np.ones(y.shape))).sum().backward()
    return y.numpy(), [t.grad.numpy() for t in xs]


ALL = [F.abs_activation, F.gumbel_activation, F.smelu, F.crrelu, F.helu, F.apa, F.aglu]


# ------------------------------------------------------------------ every op
@pytest.mark.parametrize("fn", ALL, ids=lambda f: f.__name__)
def test_finite_forward_and_backward_at_extreme_inputs(backend, fn):
    x = t64(EXTREME)
    y = fn(x)
    y.backward(mg.tensor(np.ones(EXTREME.shape)))
    assert np.isfinite(y.numpy()).all() and np.isfinite(x.grad.numpy()).all()


@pytest.mark.parametrize("fn", ALL, ids=lambda f: f.__name__)
def test_float32_stays_float32_and_batch_of_one(backend, fn):
    x = mg.tensor(np.array([[-1.5, 0.3, 2.5]], dtype=np.float32), requires_grad=True)
    y = fn(x)
    assert y.dtype == np.float32 and y.shape == (1, 3)
    y.sum().backward()
    assert x.grad.dtype == np.float32 and np.isfinite(x.grad.numpy()).all()


@pytest.mark.parametrize("fn", ALL, ids=lambda f: f.__name__)
def test_integer_input_is_refused_by_name(fn):
    with pytest.raises(TypeError, match=fn.__name__):
        fn(mg.tensor(np.array([1, 2, 3])))


@pytest.mark.parametrize("fn,module", [(F.abs_activation, nn.Abs()), (F.gumbel_activation, nn.GumbelActivation()),
                                       (F.smelu, nn.SmeLU()), (F.helu, nn.HeLU())])
def test_module_matches_functional(fn, module):
    x = np.random.default_rng(0).standard_normal((2, 3, 4))
    np.testing.assert_array_equal(module(t64(x)).numpy(), fn(t64(x)).numpy())


# ------------------------------------------------------------------ A028 abs
def test_abs_gradient_is_sign_with_zero_at_zero():
    _, (g,) = grad_of(F.abs_activation, [-2.0, 0.0, 3.0])
    np.testing.assert_array_equal(g, [-1.0, 0.0, 1.0])


# ------------------------------------------------------------------ A042 Gumbel
def test_gumbel_matches_the_gumbel_cdf_and_its_pdf():
    z = np.linspace(-6, 10, 41)
    y, (g,) = grad_of(F.gumbel_activation, z)
    np.testing.assert_allclose(y, np.exp(-np.exp(-z)), rtol=1e-14)
    np.testing.assert_allclose(g, np.exp(-z - np.exp(-z)), rtol=1e-12, atol=1e-300)   # Gumbel pdf


def test_gumbel_far_left_is_zero_with_zero_gradient():
    y, (g,) = grad_of(F.gumbel_activation, [-1e4, -800.0, -41.0])
    assert (y == 0).all() and (g == 0).all()


# ------------------------------------------------------------------ A029 SmeLU
def test_smelu_matches_the_reference_implementation_formula():
    x = np.linspace(-5, 5, 101)
    for beta in (0.5, 2.0):
        ref = np.where(x >= beta, x, 0.0)
        ref = np.where(np.abs(x) <= beta, (x + beta) ** 2 / (4 * beta), ref)   # ChristophReich1996
        np.testing.assert_allclose(F.smelu(t64(x), beta).numpy(), ref, rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("slope", [0.0, 0.1, -0.3])
def test_generalized_smelu_is_leaky_relu_convolved_with_a_uniform_kernel(slope):
    beta, x = 1.3, np.linspace(-3, 3, 25)
    t = np.linspace(-beta, beta, 200001)              # trapezoid rule over the kernel
    leaky = lambda s: np.where(s > 0, s, slope * s)   # noqa: E731
    conv = np.array([np.trapezoid(leaky(v - t), t) / (2 * beta) for v in x])
    np.testing.assert_allclose(F.smelu(t64(x), beta, slope).numpy(), conv, atol=1e-9)


@pytest.mark.parametrize("slope", [0.0, 0.2])
def test_smelu_is_c1_at_the_knots(slope):
    beta, h = 2.0, 1e-7
    for k in (-beta, beta):
        y, (g,) = grad_of(lambda x: F.smelu(x, beta, slope), [k - h, k + h])
        assert abs(y[1] - y[0]) < 1e-6 and abs(g[1] - g[0]) < 1e-6


def test_learnable_smelu_gradients_and_bad_beta():
    rng = np.random.default_rng(3)
    x = rng.uniform(-3, 3, (4, 3, 2))
    x[np.abs(np.abs(x) - 1.2) < 0.1] = 0.4
    gradcheck(lambda x, b, g: F.smelu(x, b, g), [t64(x), t64([1.2]), t64([0.1, -0.2, 0.3])])
    with pytest.raises(ValueError, match="smelu"):
        F.smelu(t64(x), 0.0)
    with pytest.raises(ValueError, match="SmeLU"):
        nn.SmeLU(beta=-1.0)
    with pytest.raises(ValueError, match="smelu"):
        F.smelu(t64(x), t64([1.0, 2.0]))            # 2 values, 3 channels


# ------------------------------------------------------------------ A031 CRReLU
def test_crrelu_forward_and_eps_gradient():
    x = np.array([-2.0, -0.5, 0.7, 3.0])
    y, (gx, ge) = grad_of(F.crrelu, x, [0.01])
    bump = x * np.exp(-x * x / 2)
    np.testing.assert_allclose(y, np.maximum(x, 0) + 0.01 * bump, rtol=1e-14)
    np.testing.assert_allclose(ge, [bump.sum()], rtol=1e-13)
    np.testing.assert_allclose(gx, (x > 0) + 0.01 * (1 - x * x) * np.exp(-x * x / 2), rtol=1e-13)


# ------------------------------------------------------------------ A039 HeLU
def test_helu_backward_follows_the_shifted_threshold_not_the_derivative():
    x = np.array([-1.0, -0.06, -0.04, -0.01, 0.0, 0.02, 1.0])
    y, (g,) = grad_of(F.helu, x)
    np.testing.assert_array_equal(y, np.maximum(x, 0))
    np.testing.assert_array_equal(g, [0, 0, 1, 1, 1, 1, 1])          # 1[x > −0.05]
    _, (g0,) = grad_of(lambda t: F.helu(t, alpha=0.0), x)
    _, (gr,) = grad_of(F.relu, x)
    np.testing.assert_array_equal(g0, gr)                               # alpha = 0: ReLU's own
    with pytest.raises(ValueError, match="helu"):
        F.helu(t64(x), alpha=-0.1)


# ------------------------------------------------------------------ A043/A044 APA, AGLU
def test_apa_special_cases_sigmoid_silu_and_gumbel():
    z = np.linspace(-8, 8, 33)
    np.testing.assert_allclose(F.apa(t64(z)).numpy(), scipy.special.expit(z), rtol=1e-13)
    np.testing.assert_allclose(F.aglu(t64(z)).numpy(), z * scipy.special.expit(z), rtol=1e-13, atol=1e-15)
    # λ → 0: the Gumbel CDF exp(−e^(−κz)) (λ at its clamp 1e-4: error O(λe^(−2κz)))
    z = np.linspace(-1.5, 8, 20)
    np.testing.assert_allclose(F.apa(t64(z), 1e-4, 1.0).numpy(), F.gumbel_activation(t64(z)).numpy(),
                               rtol=2e-3)


def test_apa_matches_the_official_log_space_form():
    z = np.linspace(-30, 30, 61)
    lam, k = 0.37, 0.81
    # kostas1515/AGLU: exp((1/λ)·softplus_{β=−1}(κz − log λ)), softplus_{−1}(u) = −log(1 + e^(−u))
    ref = np.exp(-np.logaddexp(0, -(k * z - np.log(lam))) / lam)
    np.testing.assert_allclose(F.apa(t64(z), lam, k).numpy(), ref, rtol=1e-12, atol=1e-300)


def test_apa_lambda_clamp_gives_no_lambda_gradient():
    z = np.array([0.5, 1.0, 2.0])
    y1, (_, gl, _) = grad_of(F.apa, z, [1e-6], [1.0])
    y2 = F.apa(t64(z), 1e-4, 1.0).numpy()
    np.testing.assert_array_equal(y1, y2)
    assert (gl == 0).all()


def test_apa_per_channel_parameters_and_channel_mismatch():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 2))
    gradcheck(F.aglu, [t64(x), t64([0.2, 0.5, 0.9]), t64([0.3, -0.4, 1.1])])
    with pytest.raises(ValueError, match="apa"):
        F.apa(t64(x), t64([0.5, 0.5]), 1.0)


def test_apa_module_init_is_uniform_on_0_1_and_learnable():
    mg.manual_seed(0)
    m = nn.AGLU(num_parameters=4)
    mg.manual_seed(0)
    np.testing.assert_array_equal(nn.AGLU(num_parameters=4).lambd.numpy(), m.lambd.numpy())
    for p in (m.lambd, m.kappa):
        v = p.numpy()
        assert v.shape == (4,) and ((v >= 0) & (v <= 1)).all()
    assert len(list(m.parameters())) == 2
    m = nn.APA(lambd=1.0, kappa=1.0)
    np.testing.assert_allclose(m(t64([0.0])).numpy(), [0.5])


# ------------------------------------------------------------------ learning
@pytest.mark.parametrize("make", [lambda: nn.APA(16, lambd=1.0, kappa=1.0),
                                  lambda: nn.AGLU(16),
                                  lambda: nn.SmeLU(beta=1.0, slope=0.05, learnable=True, num_parameters=1),
                                  lambda: nn.CRReLU(),
                                  lambda: nn.HeLU(), lambda: nn.Abs()],
                         ids=["APA", "AGLU", "SmeLU", "CRReLU", "HeLU", "Abs"])
def test_activation_learns_and_its_parameters_move(make):
    assert_learns_and_moves(make())
