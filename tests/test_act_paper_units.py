"""Paper units (A027 ReLU classifier, A030 SAU, A033 trainable matrix activation, A034
partially linearized units, A048 Householder activation) beyond the registry harness
(which gradchecks each op to second order and compares its forward with
tests/oracles/act_paper_units.py): the papers' special cases and properties, extreme
inputs, dtypes, bad-input errors, and a tiny training run for each learnable unit."""
import math

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


def t32(a, grad=True):
    return mg.tensor(np.asarray(a, dtype=np.float32), requires_grad=grad)


def grad_of(fn, x, *params, gy=None):
    xs = [t64(x)] + [t64(p) for p in params]
    y = fn(*xs)
    w = np.ones(y.shape) if gy is None else gy
    (y * mg.tensor(w)).sum().backward()
    return y.numpy(), [t.grad.numpy() for t in xs]


# the functional forms with their parameters filled in (shape-agnostic where possible)
OPS = {
    "relu_classifier": lambda x: F.relu_classifier(x),
    "sau": lambda x: F.sau(x),
    "sau_smooth": lambda x: F.sau(x, 0.2, 1.5),
    "matrix_activation": lambda x: F.matrix_activation(x, mg.tensor(np.array([0.1, 1.0, 0.5], x.dtype)),
                                                        (0.0, 2.0)),
    "partial_linear_unit": lambda x: F.partial_linear_unit(x, 0.3),
    "householder_activation": lambda x: F.householder_activation(x, 1.0, dim=-1),
}


# ------------------------------------------------------------------ every op
@pytest.mark.parametrize("name", OPS)
def test_finite_forward_and_backward_at_extreme_inputs(backend, name):
    x = t64(np.concatenate([EXTREME, [3.0]]).reshape(2, 6))
    y = OPS[name](x)
    y.backward(mg.tensor(np.ones(y.shape)))
    assert np.isfinite(y.numpy()).all() and np.isfinite(x.grad.numpy()).all()


@pytest.mark.parametrize("name", OPS)
def test_float32_stays_float32_and_batch_of_one(backend, name):
    x = t32([[-1.5, 0.3, 2.5, -0.2]])
    y = OPS[name](x)
    assert y.dtype == np.float32 and y.shape == (1, 4)
    y.sum().backward()
    assert x.grad.dtype == np.float32 and np.isfinite(x.grad.numpy()).all()


@pytest.mark.parametrize("name", OPS)
def test_integer_input_is_refused_by_name(name):
    op = name.replace("_smooth", "")
    with pytest.raises(TypeError, match=op):
        OPS[name](mg.tensor(np.array([[1, 2, 3, 4]])))


def test_modules_match_functional():
    x = np.random.default_rng(0).standard_normal((2, 4, 3))
    alpha = float(np.float32(0.15))                  # the module's parameter is float32
    np.testing.assert_allclose(nn.SAU(n=2.0)(t64(x)).numpy(), F.sau(t64(x), alpha, 2.0).numpy(),
                               rtol=1e-15)
    np.testing.assert_array_equal(nn.PartialLinearUnit(4, init=0.25)(t64(x)).numpy(),
                                  F.partial_linear_unit(t64(x), 0.25).numpy())
    theta = float(np.float32(math.pi / 2))
    np.testing.assert_allclose(nn.HouseholderActivation(4)(t64(x)).numpy(),
                               F.householder_activation(t64(x), theta).numpy(), rtol=1e-6)  # sin in float32
    np.testing.assert_array_equal(nn.MatrixActivation(4)(t64(x)).numpy(), F.relu(t64(x)).numpy())


# ------------------------------------------------------------------ A027 ReLU classifier
def test_relu_classifier_forward_gradient_and_dead_classes():
    o = np.array([[2.0, -1.0, 0.5], [-0.3, -2.0, -0.1]])
    y, (g,) = grad_of(F.relu_classifier, o, gy=np.arange(6.0).reshape(2, 3) + 1)
    np.testing.assert_array_equal(y, np.maximum(o, 0))
    np.testing.assert_array_equal(g, [[1.0, 0.0, 3.0], [0.0, 0.0, 0.0]])   # dead scores: no gradient


def test_relu_classifier_with_softmax_ce_gives_masked_p_minus_q():
    rng = np.random.default_rng(1)
    o = rng.standard_normal((4, 5))
    o[np.abs(o) < 0.1] = 0.5
    q = np.eye(5)[[0, 3, 1, 4]]
    x = t64(o)
    loss = F.cross_entropy(F.relu_classifier(x), mg.tensor(np.array([0, 3, 1, 4])), reduction="sum")
    loss.backward()
    f = np.maximum(o, 0)
    p = np.exp(f - f.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    np.testing.assert_allclose(x.grad.numpy(), (p - q) * (o > 0), rtol=1e-12, atol=1e-15)


def test_relu_classifier_predict_is_argmax_with_first_index_on_ties():
    m = nn.ReLUClassifier(2, 3)
    m.fc.weight.data[...] = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]], dtype=np.float32)
    m.fc.bias.data[...] = 0.0
    h = mg.tensor(np.array([[2.0, 1.0], [1.0, 3.0], [-1.0, -1.0], [-2.0, -3.0]], dtype=np.float32))
    # row 3: scores (-1, -1, 2) -> class 2; row 4: all f = 0 except class 2 (5) -> 2
    assert m.predict(h).numpy().tolist() == [0, 1, 2, 2]
    m.fc.weight.data[...] = 0.0
    m.fc.bias.data[...] = np.array([-1.0, -2.0, -0.5], dtype=np.float32)
    assert m.predict(h).numpy().tolist() == [0, 0, 0, 0]          # all f(o) = 0: first index


def test_relu_classifier_learns_a_three_class_task():
    rng = np.random.default_rng(0)
    centers = np.array([[2.0, 0.0], [-1.0, 1.7], [-1.0, -1.7]])
    labels = rng.integers(0, 3, 150)
    x = (centers[labels] + 0.5 * rng.standard_normal((150, 2))).astype(np.float32)
    mg.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.ReLUClassifier(16, 3))
    # start every class score positive: a class whose scores all fall to ≤ 0 gets no
    # gradient again (the method's dead-output risk), so the test does not hinge on the draw
    model[2].fc.bias.data[...] = 1.0
    opt = mg.optim.Adam(model.parameters(), lr=0.02)
    losses = []
    for _ in range(150):
        opt.zero_grad()
        loss = F.cross_entropy(model(mg.tensor(x)), mg.tensor(labels))
        loss.backward()
        opt.step()
        losses.append(float(loss.numpy()))
    assert losses[-1] < 0.5 * losses[0]
    pred = model[2].predict(model[1](model[0](mg.tensor(x)))).numpy()
    assert (pred == labels).mean() > 0.9


# ------------------------------------------------------------------ A030 SAU
def test_sau_is_leaky_relu_convolved_with_a_gaussian():
    x = np.linspace(-2, 2, 17)
    alpha, n = 0.15, 1.3
    t = np.linspace(-12 / n, 12 / n, 400001)                  # trapezoid rule over the kernel
    dens = n * np.exp(-0.5 * (n * t) ** 2) / math.sqrt(2 * math.pi)
    conv = [np.trapezoid(np.where(v - t > 0, v - t, alpha * (v - t)) * dens, t) for v in x]
    np.testing.assert_allclose(F.sau(t64(x), alpha, n).numpy(), conv, atol=1e-9)


def test_sau_gradients_are_the_closed_forms():
    x = np.linspace(-3, 3, 25)
    alpha, n = 0.1, 2.0
    _, (gx, ga) = grad_of(lambda v, a: F.sau(v, a, n), x, [alpha])
    cdf = scipy.special.ndtr(n * x)
    np.testing.assert_allclose(gx, alpha + (1 - alpha) * cdf, rtol=1e-13)
    q = x * scipy.special.ndtr(-n * x) - np.exp(-0.5 * (n * x) ** 2) / (n * math.sqrt(2 * math.pi))
    np.testing.assert_allclose(ga, [q.sum()], rtol=1e-12)


def test_sau_large_n_is_leaky_relu_and_alpha_gradient_is_never_positive():
    x = np.array([-5.0, -0.5, -1e-3, 1e-3, 0.5, 5.0])
    np.testing.assert_allclose(F.sau(t64(x), 0.15, 1e6).numpy(), np.where(x > 0, x, 0.15 * x),
                               atol=1e-12)
    x = np.linspace(-30, 30, 61)
    _, (_, g) = grad_of(lambda v, a: F.sau(v, a, 3.0), x.reshape(1, 61), np.full(61, 0.1))
    # q = E[min(0, x + Z/n)] < 0: computed directly, not as x − r (which rounds to 0 or
    # worse for x ≫ 1/n); it underflows to 0 only past nx ≈ 38
    assert (g <= 0).all() and (g[x <= 10] < 0).all()


def test_sau_per_channel_alpha_and_errors():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3, 2))
    gradcheck(lambda v, a: F.sau(v, a, 1.5), [t64(x), t64([0.1, 0.2, -0.1])])
    for bad in (0.0, -1.0, float("inf"), "2"):
        with pytest.raises(ValueError, match="sau"):
            F.sau(t64(x), 0.1, bad)
    with pytest.raises(ValueError, match="sau"):
        F.sau(t64(x), t64([0.1, 0.2]))                        # 2 values, 3 channels
    with pytest.raises(ValueError, match="SAU"):
        nn.SAU(n=0.0)


# ------------------------------------------------------------------ A033 matrix activation
def test_matrix_activation_special_cases_relu_leaky_and_identity():
    x = np.random.default_rng(3).standard_normal((5, 4))
    assert np.array_equal(F.matrix_activation(t64(x), t64([0.0, 1.0])).numpy(), np.maximum(x, 0))
    np.testing.assert_array_equal(F.matrix_activation(t64(x), t64([0.1, 1.0])).numpy(),
                                  np.where(x >= 0, x, 0.1 * x))
    np.testing.assert_array_equal(F.matrix_activation(t64(x), t64([1.0, 1.0, 1.0]), (-1.0, 1.0)).numpy(), x)


def test_matrix_activation_gradients_by_interval_and_neuron():
    x = np.array([[-2.0, -0.5, 0.5, 3.0], [-1.5, 0.2, 1.5, -0.1]])
    s = (-1.0, 1.0)
    w = np.arange(12.0).reshape(4, 3) / 10
    y, (gx, gw) = grad_of(lambda v, t: F.matrix_activation(v, t, s), x, w)
    k = (x >= -1.0).astype(int) + (x >= 1.0)
    np.testing.assert_array_equal(gx, w[np.arange(4), k])
    expect = np.zeros((4, 3))
    for r in range(2):
        for i in range(4):
            expect[i, k[r, i]] += x[r, i]
    np.testing.assert_array_equal(gw, expect)


def test_matrix_activation_jumps_at_a_nonzero_breakpoint_half_open_intervals():
    y = F.matrix_activation(t64([1.0 - 1e-12, 1.0]), t64([0.0, 1.0, 2.0]), (0.0, 1.0)).numpy()
    assert y[0] == pytest.approx(1.0) and y[1] == 2.0        # [s_{k-1}, s_k): 1.0 takes slope 2


def test_matrix_activation_errors_name_the_op():
    x = t64(np.ones((2, 3)))
    with pytest.raises(ValueError, match="matrix_activation"):
        F.matrix_activation(x, t64([0.0, 1.0, 2.0]), (1.0, 0.0))          # not increasing
    with pytest.raises(ValueError, match="matrix_activation"):
        F.matrix_activation(x, t64([0.0, 1.0, 2.0]))                      # 3 slopes, 1 breakpoint
    with pytest.raises(ValueError, match="matrix_activation"):
        F.matrix_activation(x, t64(np.zeros((4, 2))))                     # 4 rows, 3 channels
    with pytest.raises(ValueError, match="MatrixActivation"):
        nn.MatrixActivation(3, breakpoints=(0.0, 1.0), init=[0.0, 1.0])


def test_matrix_activation_module_init_is_relu_and_shapes():
    m = nn.MatrixActivation(3, breakpoints=(-1.0, 0.0, 2.0))
    assert m.weight.shape == (3, 4)
    np.testing.assert_array_equal(m.weight.numpy()[0], [0.0, 0.0, 1.0, 1.0])
    assert nn.MatrixActivation(3, shared=True).weight.shape == (2,)
    x = np.random.default_rng(4).standard_normal((2, 3, 5))
    np.testing.assert_array_equal(m(t32(x)).numpy(), np.maximum(x, 0).astype(np.float32))


# ------------------------------------------------------------------ A034 partial linear units
def test_partial_linear_unit_endpoints_and_gate_form():
    x = np.random.default_rng(5).standard_normal((3, 4))
    np.testing.assert_array_equal(F.partial_linear_unit(t64(x), 1.0).numpy(), x)          # linear
    np.testing.assert_array_equal(F.partial_linear_unit(t64(x), 0.0).numpy(), np.maximum(x, 0))
    a = 0.3                                                        # gate a = 1 − α
    np.testing.assert_allclose(F.partial_linear_unit(t64(x), 1 - a).numpy(),
                               a * np.maximum(x, 0) + (1 - a) * x, rtol=1e-15, atol=1e-16)
    np.testing.assert_array_equal(F.partial_linear_unit(t64(x), t64([0.25])).numpy(),
                                  F.prelu(t64(x), t64([0.25])).numpy())


def test_partial_linear_unit_alpha_gradient_and_penalty():
    x = np.array([[-2.0, 1.0], [-0.5, -1.0]])
    _, (gx, ga) = grad_of(F.partial_linear_unit, x, [0.2, 0.7])
    np.testing.assert_array_equal(ga, [-2.5, -1.0])
    np.testing.assert_allclose(gx, [[0.2, 1.0], [0.2, 0.7]])
    m = nn.PartialLinearUnit(3, init=0.0)
    m.alpha.data[...] = np.array([1.0, 0.5, 0.9996], dtype=np.float32)
    pen = m.linearity_penalty()
    assert float(pen.numpy()) == pytest.approx(0.5004, abs=1e-6)
    assert m.linear_mask().tolist() == [True, False, True]
    pen.backward()
    np.testing.assert_array_equal(m.alpha.grad.numpy(), [0.0, -1.0, -1.0])   # d|1 − α|/dα


def test_partial_linear_unit_learns_and_the_prior_linearizes_channels():
    rng = np.random.default_rng(0)
    x = rng.uniform(-2, 2, (64, 1)).astype(np.float32)
    y = np.abs(x).astype(np.float32)
    for lam, expect_linear in ((0.0, False), (0.5, True)):
        mg.manual_seed(0)
        act = nn.PartialLinearUnit(8)
        model = nn.Sequential(nn.Linear(1, 8), act, nn.Linear(8, 1))
        opt = mg.optim.Adam(model.parameters(), lr=0.03)
        first = None
        for _ in range(200):
            opt.zero_grad()
            fit = ((model(mg.tensor(x)) - mg.tensor(y)) ** 2).mean()
            (fit + lam * act.linearity_penalty()).backward()
            opt.step()
            first = float(fit.numpy()) if first is None else first
        if not expect_linear:
            assert float(fit.numpy()) < 0.3 * first
        else:      # strong prior: most channels pushed to the identity (|1 − α| ≤ 0.05)
            assert act.linear_mask(0.05).sum() >= 5


# ------------------------------------------------------------------ A048 Householder
def test_householder_at_pi_over_2_is_maxmin():
    z = np.random.default_rng(6).standard_normal((5, 6))
    y = F.householder_activation(t64(z)).numpy()          # cos(π/2) = 6e-17 in floats
    np.testing.assert_allclose(y[:, :3], np.minimum(z[:, :3], z[:, 3:]), rtol=1e-15, atol=1e-15)
    np.testing.assert_allclose(y[:, 3:], np.maximum(z[:, :3], z[:, 3:]), rtol=1e-15, atol=1e-15)


@pytest.mark.parametrize("theta", [0.3, 1.0, 2.5])
def test_householder_preserves_norms_and_gradient_norms(theta):
    rng = np.random.default_rng(7)
    z = rng.standard_normal((20, 2))
    gy = rng.standard_normal((20, 2))
    y, (g,) = grad_of(lambda v: F.householder_activation(v, theta), z, gy=gy)
    np.testing.assert_allclose(np.linalg.norm(y, axis=1), np.linalg.norm(z, axis=1), rtol=1e-13)
    np.testing.assert_allclose(np.linalg.norm(g, axis=1), np.linalg.norm(gy, axis=1), rtol=1e-13)


def test_householder_is_continuous_across_the_switching_line_and_1_lipschitz():
    theta = 1.3
    v = np.array([math.sin(theta / 2), -math.cos(theta / 2)])
    on_line = np.array([v[1], -v[0]]) * 1.7                 # vᵀz = 0
    eps = 1e-9
    z = np.stack([on_line + eps * v, on_line - eps * v])
    y = F.householder_activation(t64(z, grad=False), theta).numpy()
    assert np.abs(y[0] - y[1]).max() < 1e-8
    rng = np.random.default_rng(8)
    a, b = rng.standard_normal((2, 500, 2))
    ya = F.householder_activation(t64(a, grad=False), theta).numpy()
    yb = F.householder_activation(t64(b, grad=False), theta).numpy()
    assert (np.linalg.norm(ya - yb, axis=1) <= np.linalg.norm(a - b, axis=1) + 1e-12).all()


def test_householder_theta_gradient_and_other_axis():
    rng = np.random.default_rng(9)
    z = rng.standard_normal((3, 4, 2)) * 2
    gradcheck(lambda v, th: F.householder_activation(v, th, dim=1), [t64(z), t64([0.4, 2.2])])
    x = rng.standard_normal((2, 3, 4))
    y = F.householder_activation(t64(x), math.pi / 2, dim=-1).numpy()
    np.testing.assert_allclose(y[..., :2], np.minimum(x[..., :2], x[..., 2:]), rtol=1e-15, atol=1e-15)


def test_householder_errors_name_the_op():
    with pytest.raises(ValueError, match="householder_activation"):
        F.householder_activation(t64(np.ones((2, 3))))                    # odd channels
    with pytest.raises(ValueError, match="householder_activation"):
        F.householder_activation(t64(np.ones((2, 6))), t64([1.0, 2.0]))  # 2 θ for 3 pairs
    with pytest.raises(ValueError, match="HouseholderActivation"):
        nn.HouseholderActivation(5)


# ------------------------------------------------------------------ learning
@pytest.mark.parametrize("make", [lambda: nn.SAU(n=2.0), lambda: nn.SAU(16),
                                  lambda: nn.MatrixActivation(16, breakpoints=(-1.0, 0.0, 1.0)),
                                  lambda: nn.PartialLinearUnit(16),
                                  lambda: nn.HouseholderActivation(16)],
                         ids=["SAU", "SAU-per-channel", "MatrixActivation", "PartialLinearUnit",
                              "Householder"])
def test_activation_learns_and_its_parameters_move(make):
    assert_learns_and_moves(make())


# ------------------------------------------------------------------ benchmark
def test_activation_speed_benchmark_runs_and_accounts_for_every_activation():
    import importlib.util
    import pathlib
    from minigrad import registry
    path = pathlib.Path(__file__).resolve().parents[1] / "benchmarks" / "activation_speed.py"
    spec = importlib.util.spec_from_file_location("activation_speed", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    rows, skipped, failed = bench.measure((4, 8), repeats=1, warmup=0)
    timed = {r[1] for r in rows}
    assert {"gelu", "relu_classifier", "sau", "matrix_activation", "partial_linear_unit"} <= timed
    assert "householder_activation" in {n for n, _ in skipped}
    names = {e.name for e in registry.entries(kind="activation")}
    assert timed | {n for n, _ in skipped} | {n for n, _ in failed} == names
    assert next(r for r in rows if r[1] == "gelu")[3] == 1.0
    text = bench.render(rows, skipped, failed, (4, 8), 1, markdown=True)
    assert "| A012 | gelu |" in text and "more than 2x slower than gelu" in text
