"""Structured and low-memory activations beyond the registry harness (which gradchecks
each op and compares its forward with tests/oracles/act_structured.py): ties, zero
capsules, extreme values, the SIREN and maxout initialisations, the 2-bit backward rules
and their packed storage, learnable frequencies in training, dtypes and error messages."""
import math

import numpy as np
import pytest
import scipy.special

import minigrad as mg
from minigrad import F, nn
from minigrad.double_backward import SecondOrderError
from minigrad.gradcheck import gradcheck
from minigrad.layers.activations import low_memory


def t64(a, grad=True):
    return mg.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


def grad_of(fn, x, gy):
    x.grad = None
    y = fn(x)
    (y * mg.tensor(np.asarray(gy, dtype=y.numpy().dtype))).sum().backward()
    return y.numpy(), x.grad.numpy()


def test_exports_resolve():
    for name in ("maxout", "group_sort", "squash", "sine", "regelu2", "resilu2",
                 "siren_init_", "maxout_init_", "maxout_init_gain"):
        assert callable(getattr(F, name)), name
    for name in ("Maxout", "GroupSort", "Squash", "Sine", "SineLayer", "ReGELU2", "ReSiLU2"):
        assert isinstance(getattr(nn, name), type), name


# ------------------------------------------------------------------ maxout
def test_maxout_routes_gradient_to_argmax_and_first_on_ties(backend):
    x = t64([[1.0, 3.0, 2.0, 5.0, 5.0, -1.0]])
    y, g = grad_of(lambda t: F.maxout(t, 3), x, [[10.0, 20.0]])
    np.testing.assert_array_equal(y, [[3.0, 5.0]])
    np.testing.assert_array_equal(g, [[0, 10, 0, 20, 0, 0]])   # tie 5, 5: first piece


def test_maxout_axis_batch_of_one_and_module(backend):
    x = np.random.default_rng(0).standard_normal((1, 6, 2, 2))
    y = F.maxout(t64(x, False), 2, axis=1).numpy()
    np.testing.assert_array_equal(y, np.maximum(x[:, 0::2], x[:, 1::2]))
    np.testing.assert_array_equal(nn.Maxout(2, dim=1)(t64(x, False)).numpy(), y)
    x32 = mg.tensor(x.astype(np.float32))
    assert F.maxout(x32, 3, axis=1).dtype == mg.float32


def test_maxout_errors_name_the_op():
    with pytest.raises(ValueError, match="maxout"):
        F.maxout(mg.zeros((2, 5)), 2)
    with pytest.raises(TypeError, match="maxout"):
        F.maxout(mg.tensor(np.arange(4)), 2)
    with pytest.raises(ValueError, match="maxout"):
        F.maxout(mg.zeros((2, 4)), 2, axis=3)


def test_maxout_init_gain_matches_the_paper_and_closed_forms():
    # M_DICT of hanna-tseran/maxout_expected_gradients training/training.py
    for k, c in {2: 1.0, 3: 0.78391, 4: 0.64461, 5: 0.55555}.items():
        assert abs(F.maxout_init_gain(k) - c) < 1e-5, k
    assert abs(F.maxout_init_gain(3) - 2 * math.pi / (math.sqrt(3) + 2 * math.pi)) < 1e-9
    assert abs(F.maxout_init_gain(4) - math.pi / (math.sqrt(3) + math.pi)) < 1e-9
    # Monte-Carlo check of E[max²] for K = 5
    z = np.random.default_rng(0).standard_normal((400000, 5)).max(axis=1)
    assert abs(1 / np.mean(z * z) - F.maxout_init_gain(5)) < 5e-3


def test_maxout_init_std():
    lin = nn.Linear(400, 3 * 500, dtype="float64")
    F.maxout_init_(lin.weight, 3)
    std = lin.weight.numpy().std()
    assert abs(std - math.sqrt(F.maxout_init_gain(3) / 400)) < 0.02 * std


def test_maxout_network_learns(backend):
    mg.manual_seed(0)
    rng = np.random.default_rng(0)
    x = rng.uniform(-2, 2, (64, 2))
    target = np.abs(x[:, :1]) + 0.5 * np.abs(x[:, 1:])    # convex: maxout fits it
    lin1, lin2 = nn.Linear(2, 8 * 3, dtype="float64"), nn.Linear(8, 1, dtype="float64")
    F.maxout_init_(lin1.weight, 3)
    net = nn.Sequential(lin1, nn.Maxout(3), lin2)
    opt = mg.optim.Adam(net.parameters(), lr=0.02)
    xs, ts = t64(x, False), t64(target, False)
    losses = []
    for _ in range(150):
        opt.zero_grad()
        loss = F.mse_loss(net(xs), ts)
        loss.backward()
        opt.step()
        losses.append(float(loss.numpy()))
    assert losses[-1] < 0.1 * losses[0]


# ------------------------------------------------------------------ group sort
def test_group_sort_maxmin_fullsort_and_permutation_gradient(backend):
    x = t64([[3.0, 1.0, -2.0, 4.0]])
    y, g = grad_of(lambda t: F.group_sort(t), x, [[1.0, 2.0, 3.0, 4.0]])
    np.testing.assert_array_equal(y, [[1.0, 3.0, -2.0, 4.0]])      # (min, max) per pair
    np.testing.assert_array_equal(g, [[2.0, 1.0, 3.0, 4.0]])
    y, g = grad_of(lambda t: F.group_sort(t, None), x, [[1.0, 2.0, 3.0, 4.0]])
    np.testing.assert_array_equal(y, [[-2.0, 1.0, 3.0, 4.0]])
    np.testing.assert_array_equal(g, [[3.0, 2.0, 1.0, 4.0]])


def test_group_sort_is_gradient_norm_preserving_and_ties_stable(backend):
    rng = np.random.default_rng(1)
    x = t64(rng.standard_normal((4, 6, 3)))
    gy = rng.standard_normal((4, 6, 3))
    _, g = grad_of(lambda t: F.group_sort(t, 3), x, gy)
    np.testing.assert_allclose(np.linalg.norm(g), np.linalg.norm(gy), rtol=1e-14)
    x = t64([[2.0, 2.0, 1.0, 1.0]])
    y, g = grad_of(lambda t: F.group_sort(t, 4), x, [[1.0, 2.0, 3.0, 4.0]])
    np.testing.assert_array_equal(y, [[1.0, 1.0, 2.0, 2.0]])
    np.testing.assert_array_equal(g, [[3.0, 4.0, 1.0, 2.0]])     # stable order on ties


def test_group_sort_module_dtype_and_errors():
    x = mg.tensor(np.random.default_rng(2).standard_normal((2, 4, 3)).astype(np.float32))
    y = nn.GroupSort(2)(x)
    assert y.dtype == mg.float32 and y.shape == (2, 4, 3)
    np.testing.assert_array_equal(y.numpy()[:, 0::2], np.minimum(x.numpy()[:, 0::2], x.numpy()[:, 1::2]))
    with pytest.raises(ValueError, match="group_sort"):
        F.group_sort(mg.zeros((2, 5)), 2)
    with pytest.raises(TypeError, match="group_sort"):
        F.group_sort(mg.tensor(np.arange(4).reshape(1, 4)))


# ------------------------------------------------------------------ squash
def test_squash_length_direction_and_zero_capsule(backend):
    rng = np.random.default_rng(3)
    s = rng.standard_normal((5, 8)) * np.array([[0.0], [1e-3], [1.0], [10.0], [1e3]])
    x = t64(s)
    v, g = grad_of(lambda t: F.squash(t), x, rng.standard_normal((5, 8)))
    assert np.isfinite(v).all() and np.isfinite(g).all()
    np.testing.assert_array_equal(v[0], 0.0)
    np.testing.assert_array_equal(g[0], 0.0)
    n = np.linalg.norm(s[1:], axis=1)
    np.testing.assert_allclose(np.linalg.norm(v[1:], axis=1),     # ε = 1e-7 under the root
                               n * n / (1 + n * n) * n / np.sqrt(n * n + 1e-7), rtol=1e-12)
    cos = (v[1:] * s[1:]).sum(1) / np.linalg.norm(v[1:], axis=1) / n
    np.testing.assert_allclose(cos, 1.0, rtol=1e-12)


def test_squash_gradient_matches_catalog_form_and_extremes(backend):
    rng = np.random.default_rng(4)
    s, gy = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    _, g = grad_of(lambda t: F.squash(t, eps=0.0), t64(s), gy)
    n = np.linalg.norm(s, axis=1, keepdims=True)
    gn, dgn = n / (1 + n * n), (1 - n * n) / (1 + n * n) ** 2
    np.testing.assert_allclose(g, gn * gy + dgn / n * (s * gy).sum(1, keepdims=True) * s, rtol=1e-12)
    big = t64(np.array([[1e100, -2e100], [3e5, 4e5]]))
    v, g = grad_of(lambda t: F.squash(t), big, np.ones((2, 2)))
    assert np.isfinite(v).all() and np.isfinite(g).all()
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, rtol=1e-10)
    x32 = mg.tensor(np.array([[3e15, 4e15]], dtype=np.float32))
    assert np.isfinite(F.squash(x32).numpy()).all() and F.squash(x32).dtype == mg.float32
    with np.errstate(invalid="ignore"):
        assert np.isnan(F.squash(mg.zeros((1, 3)), eps=0.0).numpy()).all()   # Eq. 1: 0/0


def test_squash_module_axis_and_errors():
    x = np.random.default_rng(5).standard_normal((2, 3, 4))
    np.testing.assert_allclose(nn.Squash(dim=1)(t64(x, False)).numpy(),
                               np.swapaxes(F.squash(t64(np.swapaxes(x, 1, 2), False)).numpy(), 1, 2))
    with pytest.raises(ValueError, match="squash"):
        F.squash(mg.zeros((2, 3)), eps=-1.0)
    with pytest.raises(TypeError, match="squash"):
        F.squash(mg.tensor(np.arange(3)))


# ------------------------------------------------------------------ sine / SIREN
def test_sine_values_gradient_and_learnable_w0(backend):
    x = np.linspace(-0.1, 0.1, 7)
    y, g = grad_of(lambda t: F.sine(t), t64(x), np.ones(7))
    np.testing.assert_allclose(y, np.sin(30 * x), rtol=1e-14)
    np.testing.assert_allclose(g, 30 * np.cos(30 * x), rtol=1e-14)
    w = t64([2.0])
    assert gradcheck(lambda a, b: F.sine(a, b), [t64(x), w])
    with pytest.raises(ValueError, match="sine"):
        F.sine(t64(x), t64([1.0, 2.0]))
    assert F.sine(mg.tensor(x.astype(np.float32))).dtype == mg.float32


def test_siren_init_bounds_and_sine_layer():
    mg.manual_seed(0)
    first = nn.SineLayer(3, 256, is_first=True, dtype="float64")
    hidden = nn.SineLayer(256, 256, omega_0=30.0, dtype="float64")
    w1, w2 = first.linear.weight.numpy(), hidden.linear.weight.numpy()
    assert np.abs(w1).max() <= 1 / 3 and np.abs(w1).max() > 0.9 / 3
    b = math.sqrt(6 / 256) / 30
    assert np.abs(w2).max() <= b and np.abs(w2).max() > 0.95 * b
    x = t64(np.random.default_rng(0).uniform(-1, 1, (4, 3)), False)
    np.testing.assert_allclose(first(x).numpy(),
                               np.sin(30 * (x.numpy() @ w1.T + first.linear.bias.numpy())), rtol=1e-12)


def _train(params, loss_fn, steps, lr):
    opt = mg.optim.Adam(params, lr=lr)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = loss_fn()
        loss.backward()
        opt.step()
        losses.append(float(loss.numpy()))
    return losses


def test_siren_fits_a_signal(backend):
    mg.manual_seed(0)
    x = np.linspace(-1, 1, 64)[:, None]
    xs, ts = t64(x, False), t64(np.sin(6 * x) * np.exp(-x * x), False)
    net = nn.Sequential(nn.SineLayer(1, 32, is_first=True, dtype="float64"),
                        nn.SineLayer(32, 32, dtype="float64"), nn.Linear(32, 1, dtype="float64"))
    losses = _train(net.parameters(), lambda: F.mse_loss(net(xs), ts), 100, 1e-3)
    assert losses[-1] < 0.2 * losses[0]


def test_learnable_w0_trains(backend):
    x = np.linspace(-1, 1, 32)
    act = nn.Sine(w0=1.5, learnable=True)
    xs, ts = mg.tensor(x.astype(np.float32)), mg.tensor(np.sin(2 * x).astype(np.float32))
    losses = _train(act.parameters(), lambda: F.mse_loss(act(xs), ts), 100, 0.02)
    assert losses[-1] < 0.01 * losses[0]
    assert abs(float(act.w0.numpy()[0]) - 2.0) < 0.05


# ------------------------------------------------------------------ ReGELU2 / ReSiLU2
RULES = [("regelu2", low_memory.REGELU2_A, low_memory.REGELU2_C),
         ("resilu2", low_memory.RESILU2_A, low_memory.RESILU2_C)]


@pytest.mark.parametrize("name,a,c", RULES)
def test_two_bit_backward_is_the_documented_step_rule(backend, name, a, c):
    fn = getattr(F, name)
    x = np.array([-10.0, c[0] - 1e-6, c[0] + 1e-6, -0.5, c[1] - 1e-7, c[1] + 1e-7, 0.7,
                  c[2] - 1e-6, c[2] + 1e-6, 12.0, -1e30, 1e30, 0.0])
    gy = np.arange(1.0, x.size + 1)
    y, g = grad_of(fn, t64(x), gy)
    slope = np.array([sum(aj for aj, cj in zip(a, c) if v > cj) for v in x])
    np.testing.assert_allclose(g, gy * slope, rtol=1e-15, atol=0)
    assert abs(sum(a) - 1) < 1e-12
    np.testing.assert_array_equal(g[[0, -3]], 0.0)
    np.testing.assert_allclose(g[[9, -2]], gy[[9, -2]], rtol=1e-14)
    exact = {"regelu2": lambda v: v * scipy.special.ndtr(v),
             "resilu2": lambda v: v * scipy.special.expit(v)}[name](x[np.abs(x) < 1e3])
    np.testing.assert_allclose(y[np.abs(x) < 1e3], exact, rtol=1e-13, atol=1e-15)
    assert np.isfinite(y).all()


@pytest.mark.parametrize("name", ["regelu2", "resilu2"])
def test_two_bit_codes_are_stored_packed(backend, name):
    for shape in [(1,), (3, 5), (2, 3, 7)]:
        x = mg.tensor(np.random.default_rng(6).uniform(-8, 8, shape).astype(np.float32),
                      requires_grad=True)
        y = getattr(F, name)(x)
        saved = y._node.ctx.saved_tensors
        assert len(saved) == 1 and saved[0].dtype == np.uint8
        assert saved[0].nbytes == math.ceil(x.numpy().size / 4)
        y.sum().backward()
        assert x.grad.dtype == mg.float32 and x.grad.shape == shape


def test_pack_unpack_roundtrip():
    xp = np
    code = np.random.default_rng(7).integers(0, 4, (3, 7)).astype(np.uint8)
    packed = low_memory.pack_codes(xp, code)
    assert packed.shape == (6,)
    np.testing.assert_array_equal(low_memory.unpack_codes(xp, packed, code.shape), code)
    # byte layout: element 4i + j in bits 2j..2j+1 (LowMemoryBP's kernels)
    assert low_memory.pack_codes(xp, np.array([1, 2, 3, 0], np.uint8))[0] == 1 | 2 << 2 | 3 << 4


@pytest.mark.parametrize("name", ["regelu2", "resilu2"])
def test_two_bit_ops_refuse_second_order_and_modules_agree(name):
    x = t64(np.linspace(-3, 3, 8))
    y = getattr(F, name)(x)
    with pytest.raises(SecondOrderError):
        g, = mg.grad(y.sum(), [x], create_graph=True)
        g.sum().backward()
    mod = {"regelu2": nn.ReGELU2, "resilu2": nn.ReSiLU2}[name]()
    np.testing.assert_array_equal(mod(x).numpy(), y.numpy())
    with pytest.raises(TypeError, match=name):
        getattr(F, name)(mg.tensor(np.arange(3)))


def test_regelu2_network_learns(backend):
    mg.manual_seed(0)
    rng = np.random.default_rng(8)
    x = rng.uniform(-2, 2, (64, 3))
    target = np.sin(x.sum(1, keepdims=True))
    net = nn.Sequential(nn.Linear(3, 32, dtype="float64"), nn.ReGELU2(),
                        nn.Linear(32, 32, dtype="float64"), nn.ReSiLU2(),
                        nn.Linear(32, 1, dtype="float64"))
    opt = mg.optim.Adam(net.parameters(), lr=0.01)
    xs, ts = t64(x, False), t64(target, False)
    losses = []
    for _ in range(150):
        opt.zero_grad()
        loss = F.mse_loss(net(xs), ts)
        loss.backward()
        opt.step()
        losses.append(float(loss.numpy()))
    assert losses[-1] < 0.2 * losses[0]


def test_activation_memory_benchmark_runs():
    import importlib.util
    import pathlib
    path = pathlib.Path(__file__).resolve().parents[1] / "benchmarks" / "activation_memory.py"
    spec = importlib.util.spec_from_file_location("activation_memory", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    rows = {name: b for name, b, _, _ in bench.main(["--shape", "3", "5", "--rounds", "1"])}
    assert rows == {"gelu": 60, "regelu2": 4, "silu": 60, "resilu2": 4}
