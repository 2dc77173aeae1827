"""Functional transforms (minigrad.func): B044 Hessian-vector products, B041 per-example
gradients, B042 functional_call, and vjp/jvp/jacobian/hessian against explicit forms."""
import numpy as np
import pytest

import minigrad as mg
from minigrad import func, functional as F, nn


def _mlp(seed=0):
    mg.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)).double()


def _data(n=5, seed=1):
    r = np.random.default_rng(seed)
    return mg.tensor(r.standard_normal((n, 3))), mg.tensor(r.integers(0, 2, n))


def _loss_of_flat(model, x, y):
    """The batch loss as a function of all parameters flattened into one vector."""
    shapes = [(n, p.shape) for n, p in model.named_parameters()]

    def f(theta):
        params, start = {}, 0
        for name, shape in shapes:
            size = int(np.prod(shape))
            params[name] = theta[start:start + size].reshape(shape)
            start += size
        return F.cross_entropy(func.functional_call(model, params, (x,)), y)
    theta = mg.tensor(np.concatenate([p.numpy().ravel() for p in model.parameters()]))
    return f, theta


def test_B044_hvp_equals_the_explicit_hessian_times_v(backend):
    model, (x, y) = _mlp(), _data()
    f, theta = _loss_of_flat(model, x, y)
    H = func.hessian(f, theta).numpy()
    assert H.shape == (theta.numel(), theta.numel()) and np.allclose(H, H.T, atol=1e-12)
    v = np.random.default_rng(2).standard_normal(theta.numel())
    _, hv = func.hvp(f, theta, mg.tensor(v))
    np.testing.assert_allclose(hv.numpy(), H @ v, rtol=1e-10, atol=1e-12)


def test_B044_hvp_matches_central_differences_and_is_symmetric(backend):
    model, (x, y) = _mlp(3), _data(seed=4)
    f, theta = _loss_of_flat(model, x, y)
    r = np.random.default_rng(5)
    u, v = r.standard_normal(theta.numel()), r.standard_normal(theta.numel())
    _, hv = func.hvp(f, theta, mg.tensor(v))
    _, hu = func.hvp(f, theta, mg.tensor(u))
    h = 1e-5

    def g(t):
        return func.vjp(f, mg.tensor(t), mg.tensor(1.0, dtype="float64"))[1].numpy()
    fd = (g(theta.numpy() + h * v) - g(theta.numpy() - h * v)) / (2 * h)
    np.testing.assert_allclose(hv.numpy(), fd, rtol=1e-6, atol=1e-8)
    assert np.isclose(u @ hv.numpy(), v @ hu.numpy(), rtol=1e-10)


def test_jvp_vjp_and_jacobian_agree(backend):
    r = np.random.default_rng(0)
    w = mg.tensor(r.standard_normal((4, 3)))
    f = lambda a: mg.tanh(a @ w.T)          # noqa: E731
    x = mg.tensor(r.standard_normal((2, 3)))
    J = func.jacobian(f, x).numpy().reshape(8, 6)
    t, u = r.standard_normal((2, 3)), r.standard_normal((2, 4))
    _, jt = func.jvp(f, x, mg.tensor(t))
    _, uj = func.vjp(f, x, mg.tensor(u))
    np.testing.assert_allclose(jt.numpy().ravel(), J @ t.ravel(), rtol=1e-12)
    np.testing.assert_allclose(uj.numpy().ravel(), u.ravel() @ J, rtol=1e-12)


def test_hessian_of_a_quadratic_is_its_matrix(backend):
    a = np.array([[2.0, 1.0], [1.0, 3.0]])
    A = mg.tensor(a)
    H = func.hessian(lambda z: 0.5 * (z * (z @ A)).sum(), mg.tensor([0.3, -0.2], dtype="float64"))
    np.testing.assert_allclose(H.numpy(), a, rtol=1e-12)


def test_B042_functional_call_lets_gradients_reach_a_hypernetwork(backend):
    target = nn.Linear(3, 2).double()
    hyper = nn.Linear(1, 8).double()                     # emits the target's 6 weights + 2 biases
    x = mg.tensor(np.random.default_rng(0).standard_normal((4, 3)))
    z = mg.tensor(np.ones((1, 1)))

    def loss(hyper_out):
        params = {"weight": hyper_out[0, :6].reshape(2, 3), "bias": hyper_out[0, 6:]}
        return (func.functional_call(target, params, (x,)) ** 2).sum()

    before = target.weight.numpy().copy()
    loss(hyper(z)).backward()
    assert hyper.weight.grad is not None and target.weight.grad is None
    np.testing.assert_array_equal(target.weight.numpy(), before)          # restored
    assert mg.gradcheck(lambda h: loss(h), [hyper(z).detach().requires_grad_()]).ok


def test_B042_meta_gradient_through_an_unrolled_step():
    """MAXL-style: L_val(θ − η∇L_train(θ)), differentiated w.r.t. θ (needs double backward),
    against finite differences."""
    model, (x, y) = _mlp(), _data()
    xv, yv = _data(seed=7)
    names = [n for n, _ in model.named_parameters()]

    def meta(*thetas):
        with mg.enable_grad():
            params = dict(zip(names, thetas))
            train = F.cross_entropy(func.functional_call(model, params, (x,)), y)
            grads = mg.grad(train, list(thetas), create_graph=True)
            updated = {n: t - 0.5 * g for n, t, g in zip(names, thetas, grads)}
            return F.cross_entropy(func.functional_call(model, updated, (xv,)), yv)

    thetas = [p.detach().requires_grad_() for p in model.parameters()]
    assert mg.gradcheck(meta, thetas).ok


def _cnn():
    mg.manual_seed(0)
    return nn.Sequential(nn.Conv2d(2, 3, 3, padding=1, groups=1), nn.ReLU(),
                         nn.Conv2d(3, 4, 2, stride=2, groups=1), nn.Flatten(),
                         nn.Linear(16, 3)).double()


@pytest.mark.parametrize("make,shape", [(_mlp, (5, 3)), (_cnn, (4, 2, 4, 4))])
def test_B041_per_sample_grads_equal_the_loop(backend, make, shape):
    model = make()
    r = np.random.default_rng(3)
    x, y = mg.tensor(r.standard_normal(shape)), mg.tensor(r.integers(0, 2, shape[0]))
    loss_fn = lambda out, t: F.cross_entropy(out, t, reduction="none")      # noqa: E731
    fast = func.per_sample_grads(model, loss_fn, x, y, method="vectorized")
    loop = func.per_sample_grads(model, loss_fn, x, y, method="loop")
    assert set(fast) == set(loop) == {n for n, _ in model.named_parameters()}
    for name in loop:
        assert fast[name].shape == (shape[0],) + dict(model.named_parameters())[name].shape
        np.testing.assert_allclose(fast[name].numpy(), loop[name].numpy(), rtol=1e-10, atol=1e-13)
    norms = func.per_sample_grad_norms(model, loss_fn, x, y).numpy()
    expected = np.sqrt(sum((g.numpy().reshape(shape[0], -1) ** 2).sum(axis=1) for g in loop.values()))
    np.testing.assert_allclose(norms, expected, rtol=1e-10)


def test_B041_per_sample_grads_of_a_sequence_linear_and_a_conv1d_with_groups(backend):
    mg.manual_seed(1)
    model = nn.Sequential(nn.Conv1d(4, 6, 3, padding="same", groups=2), nn.GELU(),
                          nn.Linear(5, 2)).double()
    r = np.random.default_rng(0)
    x, y = mg.tensor(r.standard_normal((3, 4, 5))), mg.tensor(r.standard_normal((3, 6, 2)))
    loss_fn = lambda out, t: ((out - t) ** 2).sum(axis=(1, 2))               # noqa: E731
    fast = func.per_sample_grads(model, loss_fn, x, y)
    loop = func.per_sample_grads(model, loss_fn, x, y, method="loop")
    for name in loop:
        np.testing.assert_allclose(fast[name].numpy(), loop[name].numpy(), rtol=1e-10, atol=1e-13)
    norms = func.per_sample_grad_norms(model, loss_fn, x, y).numpy()
    expected = np.sqrt(sum((g.numpy().reshape(3, -1) ** 2).sum(axis=1) for g in loop.values()))
    np.testing.assert_allclose(norms, expected, rtol=1e-10)


def test_B041_models_the_vectorized_path_cannot_take_fall_back_or_say_so():
    model = nn.Sequential(nn.Linear(3, 4), nn.LayerNorm(4), nn.Linear(4, 2)).double()
    x, y = _data()
    loss_fn = lambda out, t: F.cross_entropy(out, t, reduction="none")      # noqa: E731
    with pytest.raises(ValueError, match="use method='loop'"):
        func.per_sample_grads(model, loss_fn, x, y, method="vectorized")
    auto = func.per_sample_grads(model, loss_fn, x, y)
    assert auto["1.weight"].shape == (5, 4)
    with pytest.raises(ValueError, match="one loss per example"):
        func.per_sample_grads(_mlp(), lambda o, t: F.cross_entropy(o, t), x, y, method="vectorized")
