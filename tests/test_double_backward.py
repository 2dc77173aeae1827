"""B043 double backward: ``create_graph=True`` records the gradient on the tape, so it can be
differentiated again, to any order; an op without a second-order rule says so by name."""
import numpy as np
import pytest

import minigrad as mg
from minigrad import Function, functional as F
from minigrad.double_backward import SecondOrderError


def test_B043_second_and_third_derivatives_of_primitives(backend):
    x = mg.tensor(np.linspace(-1.0, 1.0, 5), requires_grad=True)
    g, = mg.grad((x ** 3).sum(), [x], create_graph=True)
    h, = mg.grad(g.sum(), [x], create_graph=True)
    t, = mg.grad(h.sum(), [x])
    np.testing.assert_allclose(g.numpy(), 3 * x.numpy() ** 2)
    np.testing.assert_allclose(h.numpy(), 6 * x.numpy())
    np.testing.assert_allclose(t.numpy(), np.full(5, 6.0))
    s1, = mg.grad(mg.sin(x).sum(), [x], create_graph=True)
    s2, = mg.grad(s1.sum(), [x], create_graph=True)
    s3, = mg.grad(s2.sum(), [x])
    np.testing.assert_allclose(s3.numpy(), -np.cos(x.numpy()), rtol=1e-12)


def test_B043_backward_create_graph_keeps_the_graph_of_leaf_grads(backend):
    w = mg.tensor([[1.0, 2.0], [3.0, 4.0]], dtype="float64", requires_grad=True)
    loss = (w * w * w).sum()
    loss.backward(create_graph=True)
    assert w.grad.requires_grad                       # d loss/dw = 3w², a tensor on the tape
    hvp, = mg.grad((w.grad * mg.tensor(np.ones((2, 2)))).sum(), [w], retain_graph=True)
    np.testing.assert_allclose(hvp.numpy(), 6 * w.numpy())
    loss.backward()                                   # the graph was kept (retain_graph)
    np.testing.assert_allclose(w.grad.numpy(), 6 * w.numpy() ** 2)


def test_B043_gradient_penalty_matches_finite_differences():
    """WGAN-GP's shape: ‖∂D(x)/∂x‖² differentiated with respect to D's weights."""
    rng = np.random.default_rng(0)
    x = mg.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    w1 = mg.tensor(rng.standard_normal((3, 5)), requires_grad=True)
    w2 = mg.tensor(rng.standard_normal((5, 1)), requires_grad=True)

    def penalty(x, w1, w2):
        with mg.enable_grad():          # gradcheck evaluates its finite differences under no_grad
            d = mg.tanh(x @ w1) @ w2
            g, = mg.grad(d.sum(), [x], create_graph=True)
            return ((g * g).sum(axis=1) - 1.0) ** 2

    assert mg.gradcheck(penalty, [x, w1, w2]).ok
    assert mg.gradgradcheck(lambda a, b: (mg.tanh(x @ a) @ b).exp().sum(), [w1, w2]).ok


class _FirstOrderOnly(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, gy):
        x, = ctx.saved_tensors
        return 2 * x * gy


def test_B043_an_op_without_a_second_order_rule_names_itself(backend):
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = _FirstOrderOnly.apply(x).sum()
    with pytest.raises(SecondOrderError, match="_FirstOrderOnly has no second-order rule"):
        mg.grad(y, [x], create_graph=True)
    (g,) = mg.grad(_FirstOrderOnly.apply(x).sum(), [x])   # first order is unaffected
    np.testing.assert_allclose(g.numpy(), [2.0, 4.0])


def test_B043_saved_values_that_are_not_inputs_or_outputs_are_refused():
    class SavesDerived(Function):
        differentiable_backward = True

        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(2 * x)                 # derived from x: not followable
            return x * x

        @staticmethod
        def backward(ctx, gy):
            twice, = ctx.saved_tensors
            return gy * twice

    x = mg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(SecondOrderError, match="neither an input nor an output"):
        mg.grad(SavesDerived.apply(x).sum(), [x], create_graph=True)


def test_B043_composite_ops_differentiate_their_plain_twin(backend):
    rng = np.random.default_rng(1)
    x = mg.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    assert mg.gradgradcheck(lambda a: a.var(axis=1) * a.std(), [x]).ok
    assert mg.gradgradcheck(lambda a: mg.logsumexp(a, axis=0), [x]).ok


def test_B043_hooks_see_tensor_gradients_under_create_graph():
    x = mg.tensor([1.0, 2.0], dtype="float64", requires_grad=True)
    seen = []
    x.register_hook(lambda g: seen.append(g.requires_grad))
    (x ** 2).sum().backward(create_graph=True)
    assert seen == [True]


def _critic(seed=0):
    mg.manual_seed(seed)
    return mg.nn.Sequential(mg.nn.Linear(2, 6), mg.nn.Tanh(), mg.nn.Linear(6, 1)).double()


def _penalty_vs_critic_weights(penalty):
    """The penalty as a function of the critic's weights (functional_call), for gradcheck."""
    critic = _critic()
    names = [n for n, _ in critic.named_parameters()]

    def f(*weights):
        params = dict(zip(names, weights))
        return penalty(lambda x: mg.func.functional_call(critic, params, (x,)))
    return f, [p.detach().requires_grad_() for p in critic.parameters()]


def test_L055_wgan_gradient_penalty_value_and_gradient(backend):
    rng = np.random.default_rng(0)
    real, fake = mg.tensor(rng.standard_normal((5, 2))), mg.tensor(rng.standard_normal((5, 2)))
    w = mg.tensor(np.array([[3.0], [4.0]]))
    # a linear critic D(x) = x·w has ‖∇D‖ = 5 everywhere: the penalty is λ(5 − 1)²
    value = F.gradient_penalty(lambda x: x @ w, real, fake, lam=10.0)
    assert np.isclose(value.item(), 160.0)
    f, weights = _penalty_vs_critic_weights(
        lambda critic: F.gradient_penalty(critic, real, fake, generator=np.random.default_rng(1)))
    assert mg.gradcheck(f, weights).ok


def test_L053_r1_penalty_value_and_gradient(backend):
    real = mg.tensor(np.random.default_rng(0).standard_normal((4, 2)))
    w = mg.tensor(np.array([[3.0], [4.0]]))
    assert np.isclose(F.r1_penalty(lambda x: x @ w, real, gamma=2.0).item(), 25.0)   # (γ/2)·25
    f, weights = _penalty_vs_critic_weights(lambda critic: F.r1_penalty(critic, real, gamma=10.0))
    assert mg.gradcheck(f, weights).ok


def test_softplus_second_derivative_is_sigmoid_prime(backend):
    x = mg.tensor(np.linspace(-3.0, 3.0, 7), requires_grad=True)
    g, = mg.grad(F.softplus(x).sum(), [x], create_graph=True)
    h, = mg.grad(g.sum(), [x])
    s = 1 / (1 + np.exp(-x.numpy()))
    np.testing.assert_allclose(h.numpy(), s * (1 - s), rtol=1e-10)


@pytest.mark.parametrize("name,second", [
    ("log_sigmoid", lambda s: -s * (1 - s)),
    ("mish", None)])
def test_second_derivatives_at_the_seams_of_composite_forms(backend, name, second):
    """x = 0 is where a composite built from max(x, 0) and |x| would lose its curvature."""
    x = mg.tensor(np.array([-1.0, 0.0, 1.0]), requires_grad=True)
    assert mg.gradgradcheck(getattr(F, name), [x]).ok
    if second is not None:
        g, = mg.grad(getattr(F, name)(x).sum(), [x], create_graph=True)
        h, = mg.grad(g.sum(), [x])
        s = 1 / (1 + np.exp(-x.numpy()))
        np.testing.assert_allclose(h.numpy(), second(s), rtol=1e-10)
