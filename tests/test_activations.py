"""Activations beyond the registry harness (which gradchecks each op and compares its
forward with tests/oracles/activations.py): extreme logits, thresholds, learnable
parameters, temperatures, Module/functional agreement, dtypes and error messages."""
import math

import numpy as np
import pytest
import scipy.special

import minigrad as mg
from minigrad import F, nn
from minigrad.gradcheck import gradcheck


def t64(a, grad=True):
    return mg.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


# ------------------------------------------------------------------ softmax family
EXTREME = np.array([[1e4, -1e4, 0.0, 1e4 - 1.0],
                    [-1e4, -1e4, -1e4, -1e4 + 2.0],
                    [3.0, 1.0, -2.0, 0.5]])


@pytest.mark.parametrize("axis", [-1, 0])
def test_softmax_family_is_finite_and_exact_for_logits_of_1e4(backend, axis):
    x = t64(EXTREME)
    s, ls, lse = F.softmax(x, axis), F.log_softmax(x, axis), F.logsumexp(x, axis)
    np.testing.assert_allclose(s.numpy(), scipy.special.softmax(EXTREME, axis), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(ls.numpy(), scipy.special.log_softmax(EXTREME, axis), rtol=1e-12)
    np.testing.assert_allclose(lse.numpy(), scipy.special.logsumexp(EXTREME, axis), rtol=1e-12)
    for out in (s, ls, lse):
        assert np.isfinite(out.numpy()).all()
        (out * mg.tensor(np.random.default_rng(0).standard_normal(out.shape))).sum().backward()
        assert np.isfinite(x.grad.numpy()).all()
        x.grad = None


def test_softmax_family_in_float32_for_logits_of_1e4(backend):
    x = mg.tensor(EXTREME.astype(np.float32))
    assert F.softmax(x).dtype == np.float32
    np.testing.assert_allclose(F.softmax(x).numpy(), scipy.special.softmax(EXTREME, -1), atol=1e-6)
    np.testing.assert_allclose(F.log_softmax(x).numpy(), scipy.special.log_softmax(EXTREME, -1),
                               rtol=1e-6, atol=1e-3)
    assert np.isfinite(F.logsumexp(x, -1).numpy()).all()


def test_masked_softmax_sends_no_gradient_to_masked_logits(backend):
    x = t64([[0.3, -1e9, 1.2], [-1e9, 0.5, -1e9]])
    s = F.softmax(x)
    np.testing.assert_allclose(s.numpy()[1], [0.0, 1.0, 0.0])
    (s * mg.tensor(np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]))).sum().backward()
    assert x.grad.numpy()[0, 1] == 0 and x.grad.numpy()[1, 0] == 0 and x.grad.numpy()[1, 2] == 0


def test_logsumexp_of_a_row_of_minus_inf_is_minus_inf_with_zero_gradient(backend):
    x = t64([[-np.inf, -np.inf, -np.inf], [0.0, 1.0, -np.inf]])
    y = F.logsumexp(x, axis=1)
    assert y.numpy()[0] == -np.inf and np.isfinite(y.numpy()[1])
    y.backward(mg.tensor(np.ones(2)))
    np.testing.assert_allclose(x.grad.numpy()[0], 0.0)
    np.testing.assert_allclose(x.grad.numpy()[1], scipy.special.softmax([0.0, 1.0, -np.inf]))


@pytest.mark.parametrize("tau", [0.25, 3.0])
def test_softmax_temperature_forward_and_gradient(backend, tau):
    rng = np.random.default_rng(1)
    z = rng.standard_normal((3, 5))
    np.testing.assert_allclose(F.softmax(t64(z), temperature=tau).numpy(),
                               scipy.special.softmax(z / tau, -1), rtol=1e-12)
    np.testing.assert_allclose(F.log_softmax(t64(z), 0, temperature=tau).numpy(),
                               scipy.special.log_softmax(z / tau, 0), rtol=1e-12)
    np.testing.assert_allclose(F.logsumexp(t64(z), 1, temperature=tau).numpy(),
                               tau * scipy.special.logsumexp(z / tau, 1), rtol=1e-12)
    for fn in (lambda x: F.softmax(x, temperature=tau), lambda x: F.log_softmax(x, 0, temperature=tau),
               lambda x: F.logsumexp(x, (0, 1), keepdims=True, temperature=tau)):
        gradcheck(fn, [t64(z)])


def test_tempered_logsumexp_tends_to_the_max():
    z = np.array([[0.1, 2.0, -1.0]])
    assert abs(F.logsumexp(t64(z), 1, temperature=1e-3).item() - 2.0) < 1e-6


def test_softmax_axis_and_dim_are_aliases(backend):
    x = t64(np.random.default_rng(2).standard_normal((2, 3, 4)))
    np.testing.assert_array_equal(F.softmax(x, dim=1).numpy(), F.softmax(x, axis=1).numpy())
    np.testing.assert_array_equal(F.softmax(x, 1).numpy(), F.softmax(x, axis=1).numpy())
    np.testing.assert_array_equal(F.logsumexp(x, dim=(0, 2)).numpy(), F.logsumexp(x, (0, 2)).numpy())
    np.testing.assert_array_equal(nn.Softmax(dim=0)(x).numpy(), F.softmax(x, 0).numpy())
    with pytest.raises(TypeError, match="softmax"):
        F.softmax(x, axis=0, dim=1)
    with pytest.raises(ValueError, match="temperature"):
        F.softmax(x, temperature=0.0)


def test_logsumexp_matches_the_primitive_it_extends(backend):
    from minigrad.ops import reductions
    x = t64(np.random.default_rng(3).standard_normal((3, 4, 2)))
    for kw in ({}, {"axis": 1}, {"axis": (0, 2), "keepdims": True}):
        np.testing.assert_allclose(F.logsumexp(x, **kw).numpy(), reductions.logsumexp(x, **kw).numpy(),
                                   rtol=1e-13)


# ------------------------------------------------------------------ softplus threshold
def test_softplus_threshold(backend):
    x = t64([-30.0, -1.0, 0.0, 1.0, 9.9, 10.1, 50.0])
    y = F.softplus(x, beta=2.0, threshold=20.0)
    expected = np.where(2 * x.numpy() > 20, x.numpy(), np.logaddexp(0, 2 * x.numpy()) / 2)
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-14)
    assert y.numpy()[-2] == 10.1 and y.numpy()[-1] == 50.0   # exactly x above the threshold
    y.sum().backward()
    sig = scipy.special.expit(2 * x.numpy())
    np.testing.assert_allclose(x.grad.numpy(), np.where(2 * x.numpy() > 20, 1.0, sig), rtol=1e-14)


def test_softplus_default_is_stable_for_large_inputs(backend):
    y = F.softplus(t64([-800.0, 800.0]))
    np.testing.assert_allclose(y.numpy(), [0.0, 800.0])


def test_log_sigmoid_is_finite_far_in_both_tails(backend):
    x = t64([-1000.0, -40.0, 40.0, 1000.0])
    y = F.log_sigmoid(x)
    np.testing.assert_allclose(y.numpy(), [-1000.0, -40.0 - math.exp(-40.0), -math.exp(-40.0), 0.0],
                               rtol=1e-14)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0, 1.0, math.exp(-40.0), 0.0], rtol=1e-12)
    assert F.logsigmoid is F.log_sigmoid


# ------------------------------------------------------------------ learnable parameters
def test_prelu_learnable_slope_gradient(backend):
    rng = np.random.default_rng(4)
    layer = nn.PReLU(3)
    np.testing.assert_array_equal(layer.weight.numpy(), [0.25] * 3)
    x = rng.standard_normal((2, 3, 2, 2))
    gy = rng.standard_normal(x.shape)
    (layer(mg.tensor(x.astype(np.float32))) * mg.tensor(gy.astype(np.float32))).sum().backward()
    expected = (gy * np.minimum(x, 0)).sum(axis=(0, 2, 3))
    np.testing.assert_allclose(layer.weight.grad.numpy(), expected, rtol=1e-5)
    shared = nn.PReLU()
    (shared(mg.tensor(x.astype(np.float32))) * mg.tensor(gy.astype(np.float32))).sum().backward()
    np.testing.assert_allclose(shared.weight.grad.numpy(), [expected.sum()], rtol=1e-5)
    xa = x + 0.1 * np.sign(x)
    gradcheck(lambda x, a: F.prelu(x, a), [t64(xa), t64([0.1, 0.2, 0.3])])


def test_prelu_rejects_a_channel_mismatch():
    with pytest.raises(ValueError, match="prelu: a parameter of 3 values"):
        F.prelu(mg.tensor(np.ones((2, 4))), mg.tensor(np.ones(3)))


def test_swish_learnable_beta(backend):
    rng = np.random.default_rng(5)
    layer = nn.Swish(3)
    x = mg.tensor(rng.standard_normal((4, 3)).astype(np.float32))
    np.testing.assert_allclose(layer(x).numpy(), F.silu(x).numpy(), rtol=1e-6)
    layer(x).sum().backward()
    assert layer.beta.grad.shape == (3,)
    gradcheck(lambda x, b: F.swish(x, b), [t64(rng.standard_normal((4, 3))), t64([0.5, 1.0, 2.0])])
    fixed = nn.Swish(init=1.702, learnable=False)
    assert list(fixed.parameters()) == []
    np.testing.assert_allclose(fixed(x).numpy(), x.numpy() * scipy.special.expit(1.702 * x.numpy()),
                               rtol=1e-6)


# ------------------------------------------------------------------ modules and functional
X = np.random.default_rng(6).uniform(-4, 4, (2, 4, 3))
MODULES = [
    (nn.ReLU(), F.relu), (nn.LeakyReLU(0.2), lambda x: F.leaky_relu(x, 0.2)),
    (nn.ELU(0.5), lambda x: F.elu(x, 0.5)), (nn.SELU(), F.selu), (nn.CELU(2.0), lambda x: F.celu(x, 2.0)),
    (nn.Sigmoid(), F.sigmoid), (nn.LogSigmoid(), F.log_sigmoid), (nn.Tanh(), F.tanh),
    (nn.Softplus(2.0, 5.0), lambda x: F.softplus(x, 2.0, 5.0)), (nn.SiLU(), F.silu),
    (nn.GELU(), F.gelu), (nn.GELU("tanh"), F.gelu_tanh), (nn.Mish(), F.mish),
    (nn.GLU(1), lambda x: F.glu(x, dim=1)), (nn.Softsign(), F.softsign),
    (nn.Hardtanh(-2.0, 2.0), lambda x: F.hardtanh(x, -2.0, 2.0)), (nn.ReLU6(), F.relu6),
    (nn.Hardsigmoid(), F.hardsigmoid), (nn.Hardswish(), F.hardswish),
    (nn.Tanhshrink(), F.tanhshrink), (nn.Softshrink(1.0), lambda x: F.softshrink(x, 1.0)),
    (nn.Hardshrink(1.0), lambda x: F.hardshrink(x, 1.0)),
    (nn.Softmax(dim=1), lambda x: F.softmax(x, 1)), (nn.LogSoftmax(), F.log_softmax),
    (nn.PReLU(), lambda x: F.prelu(x, mg.tensor(np.array([0.25], np.float32)))),
]


@pytest.mark.parametrize("module,fn", MODULES, ids=lambda m: type(m).__name__)
def test_module_matches_functional_and_keeps_float32(backend, module, fn):
    module.to(backend)                     # MODULES were built at import, on the default backend
    x = mg.tensor(X.astype(np.float32), requires_grad=True)
    y = module(x)
    assert y.dtype == np.float32, f"{type(module).__name__} returned {y.dtype}"
    np.testing.assert_array_equal(y.numpy(), fn(x).numpy())
    y.sum().backward()
    assert x.grad.dtype == np.float32 and np.isfinite(x.grad.numpy()).all()
    assert repr(module)


def test_activations_in_a_sequential(backend):
    net = nn.Sequential(nn.GELU(), nn.PReLU(4), nn.Softmax(dim=1))
    x = mg.tensor(X.astype(np.float32), requires_grad=True)
    net(x).sum().backward()
    np.testing.assert_allclose(net(x).numpy().sum(axis=1), 1.0, rtol=1e-6)
    assert [n for n, _ in net.named_parameters()] == ["1.weight"]


def test_gelu_variants_and_errors():
    x = t64(np.linspace(-3, 3, 7))
    np.testing.assert_array_equal(F.gelu(x, approximate="tanh").numpy(), F.gelu_tanh(x).numpy())
    assert np.abs(F.gelu(x).numpy() - F.gelu_tanh(x).numpy()).max() < 1e-3
    with pytest.raises(ValueError, match="gelu"):
        F.gelu(x, approximate="sigmoid")
    with pytest.raises(ValueError, match="glu: axis 0"):
        F.glu(t64(np.ones((3, 2))), axis=0)


def test_kink_conventions_match_pytorch(backend):
    x = t64([0.0, 0.0])
    F.relu(x).sum().backward()
    assert x.grad.numpy().tolist() == [0.0, 0.0]
    x = t64([0.0])
    F.leaky_relu(x, 0.1).sum().backward()
    assert x.grad.numpy().tolist() == [0.1]
    x = t64([-1.0, 1.0, 0.5])
    F.hardtanh(x).sum().backward()
    assert x.grad.numpy().tolist() == [0.0, 0.0, 1.0]
    x = t64([-3.0, 3.0])
    F.hardswish(x).sum().backward()
    assert x.grad.numpy().tolist() == [-0.5, 1.5]


def test_selu_constants_self_normalize():
    z = np.random.default_rng(7).standard_normal(200000)
    y = F.selu(t64(z, grad=False)).numpy()
    assert abs(y.mean()) < 0.01 and abs(y.std() - 1) < 0.01


def test_elu_does_not_overflow_on_large_inputs(backend):
    x = t64([1000.0, -1000.0])
    for fn in (F.elu, F.selu, F.celu):
        y = fn(x)
        assert np.isfinite(y.numpy()).all()
        y.sum().backward()
        assert np.isfinite(x.grad.numpy()).all()
        x.grad = None
