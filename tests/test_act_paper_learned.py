"""Paper-learned activations beyond the registry harness (which gradchecks each op and
compares its forward with tests/oracles/act_paper_learned.py): A035 monotone activations
and the MonoDense layer (monotonicity, the split, the kernel constraint, a training run),
A036 AutoReP's DaPa polynomial ReLU replacement (the DaPa fit, the hysteresis loop, the
straight-through mask rule, the ReLU-count penalty, a training run); edge cases, dtypes
and errors for both."""
import numpy as np
import pytest

import minigrad as mg
from minigrad import F, nn, optim
from minigrad.gradcheck import gradcheck, gradgradcheck
from minigrad.layers.activations.relu_replacement import ReluMaskSTEFn

EXTREME = np.array([-1e4, -800.0, -40.5, -1.0, -1e-300, 0.0, 1e-300, 1.0, 40.5, 800.0, 1e4])


def t64(a, grad=True):
    return mg.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


# ====================================================================== A035
@pytest.mark.parametrize("activation", ["relu", "elu"])
def test_each_kind_is_monotone_and_the_saturated_one_is_bounded(activation):
    x = np.linspace(-30, 30, 6001)
    for kw in (dict(is_convex=True), dict(is_concave=True), dict(activation_weights=(0, 0, 1))):
        y = F.monotone_activation(t64(x[:, None], False), activation, **kw).numpy()[:, 0]
        assert (np.diff(y) >= 0).all(), kw
    sat = F.monotone_activation(t64(x[:, None], False), activation, activation_weights=(0, 0, 1)).numpy()
    # ReLU base: ρ̃ = clip(x, −1, 1); ELU base: bounded below by −e⁻¹ − ... and above by 1 + e⁻¹ −… both ways
    if activation == "relu":
        np.testing.assert_array_equal(sat[:, 0], np.clip(x, -1, 1))
    assert np.abs(sat).max() < 2.0


def test_saturated_activation_is_continuous_and_c1_at_zero():
    for activation in ("relu", "elu"):
        x = t64([[-1e-9], [0.0], [1e-9]])
        y = F.monotone_activation(x, activation, activation_weights=(0, 0, 1))
        y.sum().backward()
        np.testing.assert_allclose(y.numpy()[:, 0], [0, 0, 0], atol=1e-8)
        np.testing.assert_allclose(x.grad.numpy()[:, 0], [1, 1, 1])   # ρ̆′(1) both sides


def test_concave_is_minus_convex_of_minus_x():
    x = np.random.default_rng(1).standard_normal((4, 5)) * 3
    for activation in ("relu", "elu"):
        cave = F.monotone_activation(t64(x, False), activation, is_concave=True).numpy()
        vex = F.monotone_activation(t64(-x, False), activation, is_convex=True).numpy()
        np.testing.assert_allclose(cave, -vex, rtol=0, atol=0)


@pytest.mark.parametrize("units,expected", [(16, (7, 7, 2)), (5, (2, 2, 1)), (1, (0, 0, 1)),
                                            (32, (14, 14, 4)), (8, (4, 4, 0))])
def test_columns_split_as_the_reference(units, expected):
    # concave columns are the ones with y(−2) = −ρ̆(2) = −2 under a ReLU base, convex give 0,
    # saturated −1
    y = F.monotone_activation(t64(np.full((1, units), -2.0), False)).numpy()[0]
    got = (int((y == 0).sum()), int((y == -2).sum()), int((y == -1).sum()))
    assert got == expected
    assert list(y) == sorted(y, key=lambda v: {0.0: 0, -2.0: 1, -1.0: 2}[v])


def test_extreme_inputs_stay_finite(backend):
    for activation in ("relu", "elu"):
        x = t64(np.tile(EXTREME, (16, 1)).T)
        y = F.monotone_activation(x, activation)
        y.backward(mg.tensor(np.ones(y.shape)))
        assert np.isfinite(y.numpy()).all() and np.isfinite(x.grad.numpy()).all()


def test_float32_batch_of_one_and_module():
    x = mg.tensor(np.array([[-1.5, 0.3, 2.5, -0.2]], dtype=np.float32), requires_grad=True)
    m = nn.MonotoneActivation("elu", activation_weights=(1, 1, 2))
    y = m(x)
    assert y.dtype == np.float32 and y.shape == (1, 4)
    np.testing.assert_array_equal(y.numpy(), F.monotone_activation(x, "elu", activation_weights=(1, 1, 2)).numpy())
    y.sum().backward()
    assert x.grad.dtype == np.float32 and np.isfinite(x.grad.numpy()).all()


def test_monotone_errors_name_the_op():
    x = t64(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="monotone_activation"):
        F.monotone_activation(x, is_convex=True, is_concave=True)
    with pytest.raises(ValueError, match="monotone_activation"):
        F.monotone_activation(x, "gelu")
    with pytest.raises(ValueError, match="monotone_activation"):
        F.monotone_activation(x, activation_weights=(1, -1, 1))
    with pytest.raises(ValueError, match="monotone_activation"):
        F.monotone_activation(x, activation_weights=(1, 1))
    with pytest.raises(ValueError, match="monotone_activation"):
        F.monotone_activation(t64(1.0))
    with pytest.raises(TypeError, match="monotone_activation"):
        F.monotone_activation(mg.tensor(np.array([[1, 2, 3]])))
    with pytest.raises(ValueError, match="MonoDense"):
        nn.MonoDense(3, 4, monotonicity_indicator=[1, 2, 0])
    with pytest.raises(ValueError, match="MonoDense"):
        nn.MonoDense(3, 4, monotonicity_indicator=[1, 0])
    with pytest.raises(ValueError, match="MonotoneActivation"):
        nn.MonoDense(3, 4, is_convex=True, is_concave=True)


def test_monotone_kernel_and_its_gradient():
    w = np.array([[-0.5, 0.3, -0.2], [0.4, -0.1, 0.7]])
    wt = t64(w)
    k = F.monotone_kernel(wt, [1, -1, 0])
    np.testing.assert_array_equal(k.numpy(), np.stack([np.abs(w[:, 0]), -np.abs(w[:, 1]), w[:, 2]], 1))
    g = np.arange(6.0).reshape(2, 3) + 1
    k.backward(mg.tensor(g))
    expected = g * np.stack([np.sign(w[:, 0]), -np.sign(w[:, 1]), np.ones(2)], 1)
    np.testing.assert_allclose(wt.grad.numpy(), expected)
    gradcheck(lambda v: F.monotone_kernel(v, [1, -1, 0]), [t64(w)])


def _jacobian_signs(net, x):
    cols = []
    for j in range(x.shape[1]):
        xt = t64(x)
        net(xt).sum().backward()
        cols.append(xt.grad.numpy()[:, j])
    return np.stack(cols, 1)


def test_mono_dense_network_is_monotone_in_each_constrained_input():
    g = np.random.default_rng(3)
    net = nn.Sequential(nn.MonoDense(3, 16, monotonicity_indicator=[1, -1, 0]),
                        nn.MonoDense(16, 16), nn.MonoDense(16, 1, activation=None)).double()
    for p in net.parameters():        # large random weights of both signs
        p.data[...] = g.standard_normal(p.shape) * 2
    x = g.standard_normal((200, 3)) * 3
    jac = _jacobian_signs(net, x)
    assert (jac[:, 0] >= 0).all() and (jac[:, 1] <= 0).all()
    assert (jac[:, 2] > 0).any() and (jac[:, 2] < 0).any()        # unconstrained input: both
    # along a line in the increasing input the output never decreases
    line = np.zeros((400, 3))
    line[:, 0] = np.linspace(-6, 6, 400)
    y = net(t64(line, False)).numpy()[:, 0]
    assert (np.diff(y) >= -1e-12).all()


def test_mono_dense_learns_a_monotone_function():
    g = np.random.default_rng(0)
    x = g.uniform(-2, 2, (128, 2))
    y = (np.tanh(2 * x[:, 0]) + x[:, 0] - 0.5 * x[:, 1])[:, None]
    net = nn.Sequential(nn.MonoDense(2, 16, monotonicity_indicator=[1, -1], generator=np.random.default_rng(1)),
                        nn.MonoDense(16, 1, activation=None, generator=np.random.default_rng(2)))
    opt = optim.Adam(net.parameters(), lr=0.03)
    xt, yt = mg.tensor(x.astype(np.float32)), mg.tensor(y.astype(np.float32))
    losses = []
    for _ in range(150):
        opt.zero_grad()
        loss = F.mse_loss(net(xt), yt)
        loss.backward()
        opt.step()
        losses.append(float(loss.numpy()))
    assert losses[-1] < 0.1 * losses[0]


def test_mono_dense_state_dict_round_trip():
    a = nn.MonoDense(3, 4, monotonicity_indicator=[1, 0, -1])
    b = nn.MonoDense(3, 4, monotonicity_indicator=[1, 0, -1])
    b.load_state_dict(a.state_dict())
    x = mg.tensor(np.ones((2, 3), dtype=np.float32))
    np.testing.assert_array_equal(a(x).numpy(), b(x).numpy())


# ====================================================================== A036
@pytest.mark.parametrize("mean,var", [(0.0, 1.0), (0.7, 0.5), (-1.3, 2.0), (2.5, 0.09)])
def test_dapa_coefficients_are_the_gaussian_weighted_least_squares_fit(mean, var):
    sd = np.sqrt(var)
    x = np.linspace(mean - 12 * sd, mean + 12 * sd, 200001)
    w = np.exp(-0.5 * ((x - mean) / sd) ** 2)
    a = np.stack([np.ones_like(x), x, x * x], 1) * np.sqrt(w)[:, None]
    c, *_ = np.linalg.lstsq(a, np.maximum(x, 0) * np.sqrt(w), rcond=None)
    np.testing.assert_allclose(F.dapa_coefficients(mean, var)[:, 0], c, rtol=1e-6, atol=1e-9)


def test_dapa_coefficients_per_channel_and_errors():
    c = F.dapa_coefficients([0.0, 1.0], [1.0, 4.0])
    assert c.shape == (3, 2)
    np.testing.assert_allclose(c[:, 0], [0.19947114020071635, 0.5, 0.19947114020071635])
    with pytest.raises(ValueError, match="dapa_coefficients"):
        F.dapa_coefficients(0.0, 0.0)


def test_dapa_values_and_exact_gradients():
    x = np.array([[[-1.5, 2.0], [0.5, -0.3]]])                      # (1, 2, 2)
    coef = np.array([[0.1, 0.2], [0.5, 0.6], [0.3, -0.4]])          # rows c0, c1, c2
    mask = np.array([[True, False], [False, True]])
    xt, ct = t64(x), t64(coef)
    y = F.dapa_poly_relu(xt, ct, mask)
    p = lambda v, ch: coef[0, ch] + coef[1, ch] * v + coef[2, ch] * v * v  # noqa: E731
    np.testing.assert_allclose(y.numpy()[0], [[0.0, p(2.0, 0)], [p(0.5, 1), 0.0]])
    y.sum().backward()
    np.testing.assert_allclose(xt.grad.numpy()[0], [[0.0, 2 * coef[2, 0] * 2.0 + coef[1, 0]],
                                                    [2 * coef[2, 1] * 0.5 + coef[1, 1], 0.0]])
    np.testing.assert_allclose(ct.grad.numpy(), [[1, 1], [2.0, 0.5], [4.0, 0.25]])


def test_dapa_mask_weight_gets_the_straight_through_rule():
    g = np.random.default_rng(4)
    x, coef = g.standard_normal((3, 2, 4)), g.standard_normal((3, 2))
    mask = g.random((2, 4)) < 0.5
    w = g.standard_normal((2, 4)) * 3
    wt = t64(w)
    y = F.dapa_poly_relu(t64(x), t64(coef), mask, wt)
    gy = g.standard_normal(y.shape)
    y.backward(mg.tensor(gy))
    poly = coef[0][None, :, None] + coef[1][None, :, None] * x + coef[2][None, :, None] * x * x
    np.testing.assert_allclose(wt.grad.numpy(), np.logaddexp(0, w) * (gy * (np.maximum(x, 0) - poly)).sum(0))


def test_dapa_second_derivatives_in_x_and_coefficients():
    g = np.random.default_rng(5)
    x = g.standard_normal((2, 3, 2))
    x = np.where(np.abs(x) < 0.05, 0.3, x)
    mask = np.array([[True, False], [False, False], [True, True]])
    gradgradcheck(lambda a, c: F.dapa_poly_relu(a, c, mask), [t64(x), t64(g.standard_normal((3, 3)))])


def test_dapa_extreme_inputs_stay_finite(backend):
    x = t64(np.tile(EXTREME, (1, 2, 1)).reshape(1, 2, -1))
    mask = np.zeros((2, EXTREME.size), dtype=bool)
    mask[0] = True
    y = F.dapa_poly_relu(x, t64([0.1, 0.5, 0.2]), mask, t64(np.full((2, EXTREME.size), 50.0)))
    y.backward(mg.tensor(np.ones(y.shape)))
    assert np.isfinite(y.numpy()).all() and np.isfinite(x.grad.numpy()).all()


def test_dapa_errors_name_the_op():
    x = t64(np.zeros((2, 3, 4)))
    ok_mask = np.ones((3, 4), dtype=bool)
    with pytest.raises(ValueError, match="dapa_poly_relu"):
        F.dapa_poly_relu(x, t64(np.zeros((3, 2))), ok_mask)
    with pytest.raises(ValueError, match="dapa_poly_relu"):
        F.dapa_poly_relu(x, t64(np.zeros(4)), ok_mask)
    with pytest.raises(ValueError, match="dapa_poly_relu"):
        F.dapa_poly_relu(x, t64(np.zeros(3)), np.ones((3, 5), dtype=bool))
    with pytest.raises(ValueError, match="dapa_poly_relu"):
        F.dapa_poly_relu(x, t64(np.zeros(3)), ok_mask, t64(np.zeros(4)))
    with pytest.raises(ValueError, match="dapa_poly_relu"):
        F.dapa_poly_relu(t64(np.zeros(3)), t64(np.zeros(3)), np.ones((), dtype=bool))
    with pytest.raises(TypeError, match="dapa_poly_relu"):
        F.dapa_poly_relu(mg.tensor(np.zeros((2, 3), dtype=np.int64)), t64(np.zeros(3)), np.ones(3, bool))
    with pytest.raises(ValueError, match="DapaPolyReLU"):
        nn.DapaPolyReLU((3, 4), threshold=-1.0)


def test_hysteresis_loop():
    layer = nn.DapaPolyReLU((4,), threshold=0.1)
    layer.mask.data[...] = np.array([1.0, 1.0, 0.0, 0.0], dtype=np.float32)
    layer.mask_weight.data[...] = np.array([-0.05, -0.2, 0.05, 0.2], dtype=np.float32)
    layer.update_mask()
    # inside the band both states hold; past −t a kept ReLU goes, past +t a replaced one returns
    np.testing.assert_array_equal(layer.mask.numpy(), [1, 0, 0, 1])
    layer.mask_weight.data[...] = np.array([0.05, 0.05, -0.05, -0.05], dtype=np.float32)
    layer.update_mask()
    np.testing.assert_array_equal(layer.mask.numpy(), [1, 0, 0, 1])


def test_relu_mask_ste_and_penalty():
    w = t64([[-1.0, 0.0, 2.0]])
    m = ReluMaskSTEFn.apply(w, mg.tensor(np.array([[True, False, True]])))
    np.testing.assert_array_equal(m.numpy(), [[1.0, 0.0, 1.0]])
    m.sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), np.logaddexp(0, [[-1.0, 0.0, 2.0]]))
    layer = nn.DapaPolyReLU((2, 3))
    assert layer.relu_count() == 6
    assert float(layer.relu_count_penalty(6).numpy()) == 0.0
    pen = layer.relu_count_penalty(3, lamda=10.0)
    np.testing.assert_allclose(float(pen.numpy()), 10.0 * 0.5, rtol=1e-6)
    pen.backward()
    np.testing.assert_allclose(layer.mask_weight.grad.numpy(),
                               10.0 / 6 * np.logaddexp(0, layer.mask_weight.numpy()), rtol=1e-5)


def test_dapa_fit_sets_the_coefficients_and_eval_keeps_the_mask():
    layer = nn.DapaPolyReLU((2, 3)).dapa_fit_([0.0, 1.0], [1.0, 4.0])
    np.testing.assert_allclose(layer.coef.numpy(), F.dapa_coefficients([0.0, 1.0], [1.0, 4.0]), rtol=1e-6)
    layer.mask_weight.data[...] = -1.0
    layer.eval()
    layer(mg.tensor(np.ones((1, 2, 3), dtype=np.float32)))
    assert layer.relu_count() == 6                        # no mask update outside training
    layer.train()
    y = layer(mg.tensor(np.full((1, 2, 3), 2.0, dtype=np.float32)))
    assert layer.relu_count() == 0
    c = layer.coef.numpy()
    np.testing.assert_allclose(y.numpy()[0, 1], np.full(3, c[0, 1] + 2 * c[1, 1] + 4 * c[2, 1]), rtol=1e-6)
    assert "mask" in layer.state_dict() and y.dtype == np.float32


def test_dapa_layer_learns_and_meets_a_relu_budget():
    g = np.random.default_rng(0)
    x = g.standard_normal((64, 4)).astype(np.float32)
    y = (np.abs(x[:, :1]) + 0.5 * x[:, 1:2] ** 2).astype(np.float32)
    gen = np.random.default_rng(1)
    lin1, act, lin2 = nn.Linear(4, 8, generator=gen), nn.DapaPolyReLU((8,), generator=gen), \
        nn.Linear(8, 1, generator=gen)
    net = nn.Sequential(lin1, act, lin2)
    opt = optim.Adam(net.parameters(), lr=0.02)
    xt, yt = mg.tensor(x), mg.tensor(y)
    losses = []
    for _ in range(200):
        opt.zero_grad()
        task = F.mse_loss(net(xt), yt)
        (task + act.relu_count_penalty(4, lamda=10.0)).backward()
        opt.step()
        losses.append(float(task.numpy()))
    assert losses[-1] < 0.5 * losses[0]
    assert act.relu_count() <= 4
