"""PyTorch habits for dtypes, creation functions, devices and conversions (issue 11):
``minigrad.float32`` & co., ``set_default_dtype``, PyTorch's promotion, ``zeros/full/arange/
linspace/eye/randint/randperm/...`` with PyTorch's dtypes and ``device=``, ``x.to(...)``,
``x.float()`` & co., ``model.to(...)`` in place."""
import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.backends import backend_unavailable_reason

F16, F32, F64 = np.dtype("float16"), np.dtype("float32"), np.dtype("float64")
I64, I32, BOOL = np.dtype("int64"), np.dtype("int32"), np.dtype("bool")
CUPY_MISSING = backend_unavailable_reason("cupy")
needs_cupy = pytest.mark.skipif(CUPY_MISSING is not None, reason=str(CUPY_MISSING))


@pytest.fixture
def default_float64():
    mg.set_default_dtype(mg.float64)
    try:
        yield
    finally:
        mg.set_default_dtype(mg.float32)


# ------------------------------------------------------------------- dtype names
def test_dtype_names_are_numpy_dtypes_with_pytorch_aliases():
    expected = {"float32": F32, "float64": F64, "float16": F16, "int64": I64, "int32": I32,
                "int16": np.dtype("int16"), "int8": np.dtype("int8"), "uint8": np.dtype("uint8"),
                "bool": BOOL, "long": I64, "int": I32, "short": np.dtype("int16"), "float": F32,
                "double": F64, "half": F16, "complex64": np.dtype("complex64"),
                "complex128": np.dtype("complex128"), "cfloat": np.dtype("complex64"),
                "cdouble": np.dtype("complex128")}
    for name, dtype in expected.items():
        value = getattr(mg, name)
        assert isinstance(value, np.dtype) and value == dtype, name
    assert mg.tensor([1.0]).dtype == mg.float32 and mg.tensor([1]).dtype == mg.long
    assert not hasattr(mg, "bfloat16")          # NumPy has no bfloat16


def test_set_default_dtype_reaches_every_float_default(backend, default_float64):
    assert mg.get_default_dtype() == F64
    assert mg.tensor([1.5]).dtype == F64 and mg.tensor(2.0).dtype == F64
    assert mg.tensor([1j]).dtype == np.dtype("complex128")
    assert mg.zeros(2).dtype == F64 and mg.ones(2).dtype == F64 and mg.rand(2).dtype == F64
    assert mg.randn(2).dtype == F64 and mg.eye(2).dtype == F64 and mg.full((2,), 1.).dtype == F64
    assert mg.arange(0, 1, .25).dtype == F64 and mg.linspace(0, 1, 3).dtype == F64
    assert (mg.arange(3) / 2).dtype == F64 and (mg.arange(3) + 0.5).dtype == F64
    assert mg.arange(3).exp().dtype == F64
    assert mg.arange(3).dtype == I64                       # ints unaffected


def test_set_default_dtype_back_to_float32_and_refuses_others():
    mg.set_default_dtype("float64")
    mg.set_default_dtype("float32")
    assert mg.get_default_dtype() == F32 and mg.tensor([0.5]).dtype == F32
    assert (mg.arange(3) / 2).dtype == F32
    for bad in (mg.float16, mg.int64, "nonsense"):
        with pytest.raises(TypeError, match="set_default_dtype"):
            mg.set_default_dtype(bad)
    assert mg.get_default_dtype() == F32


@pytest.mark.parametrize("expr,expected,values", [
    (lambda: mg.arange(3) / 2, F32, [0, .5, 1]),
    (lambda: mg.arange(3) + 0.5, F32, [.5, 1.5, 2.5]),
    (lambda: mg.tensor([1., 2.]) * mg.tensor(3., dtype=mg.float64), F32, [3, 6]),
    (lambda: mg.arange(3) * 2, I64, [0, 2, 4]),
    (lambda: mg.tensor([True, False]) + mg.tensor([True, True]), BOOL, [True, True]),
    (lambda: mg.tensor([1, 2], dtype=mg.int32) / mg.tensor([2, 4], dtype=mg.int32), F32, [.5, .5]),
])
def test_promotion_follows_pytorch(backend, expr, expected, values):
    y = expr()
    assert y.dtype == expected
    np.testing.assert_array_equal(y.numpy(), np.array(values, dtype=expected))


# -------------------------------------------------------------------- creation
def test_creation_dtypes_follow_pytorch(backend):
    assert mg.full((2,), 7).dtype == I64 and mg.full((2,), 7.).dtype == F32
    assert mg.full((2,), True).dtype == BOOL and mg.full((2,), 1j).dtype == np.dtype("complex64")
    np.testing.assert_array_equal(mg.full((2, 2), 7).numpy(), np.full((2, 2), 7))
    a = mg.arange(0, 1, .25)
    assert a.dtype == F32
    np.testing.assert_array_equal(a.numpy(), [0, .25, .5, .75])
    assert mg.arange(5).dtype == I64 and mg.arange(5).tolist() == [0, 1, 2, 3, 4]
    assert mg.arange(1, 10, 3).tolist() == [1, 4, 7] and mg.arange(5, 0, -2).tolist() == [5, 3, 1]
    assert mg.arange(0, 1, .1).shape == (10,)          # ceil((1 - 0) / .1)
    assert mg.arange(3, dtype=mg.float64).dtype == F64
    assert mg.zeros(2, 3).shape == (2, 3) and mg.zeros((2, 3)).shape == (2, 3)
    assert mg.ones([2, 3]).shape == (2, 3) and mg.empty(4, 1).shape == (4, 1)
    assert mg.zeros(size=(1, 2)).shape == (1, 2) and mg.zeros(()).shape == ()
    assert mg.zeros(2, dtype=mg.int64).dtype == I64 and mg.ones(2).numpy().tolist() == [1, 1]


def test_like_functions_keep_shape_dtype_and_device(backend):
    x = mg.arange(6).reshape(2, 3)
    z, o, f, e = mg.zeros_like(x), mg.ones_like(x), mg.full_like(x, 2.7), mg.empty_like(x)
    for t in (z, o, f, e):
        assert t.shape == (2, 3) and t.dtype == I64 and t.backend == backend
    assert z.numpy().sum() == 0 and o.numpy().sum() == 6
    np.testing.assert_array_equal(f.numpy(), np.full((2, 3), 2))       # full_like keeps int64
    g = mg.full_like(x, 2.5, dtype=mg.float64, requires_grad=True)
    assert g.dtype == F64 and g.requires_grad and g.numpy()[0, 0] == 2.5
    r = mg.randn_like(mg.zeros(100, 50, dtype=mg.float64))
    assert r.dtype == F64 and r.shape == (100, 50) and abs(float(r.numpy().mean())) < 0.05
    u = mg.rand_like(mg.zeros(1000))
    assert u.dtype == F32 and 0 <= u.numpy().min() and u.numpy().max() < 1
    with pytest.raises(TypeError, match="rand_like: needs a floating dtype"):
        mg.rand_like(x)


def test_eye_linspace_logspace(backend):
    np.testing.assert_array_equal(mg.eye(3).numpy(), np.eye(3))
    np.testing.assert_array_equal(mg.eye(2, 4).numpy(), np.eye(2, 4))
    assert mg.eye(2).dtype == F32 and mg.eye(2, dtype=mg.int64).dtype == I64
    lin = mg.linspace(-1, 1, 5)
    assert lin.dtype == F32
    np.testing.assert_allclose(lin.numpy(), [-1, -.5, 0, .5, 1])
    np.testing.assert_allclose(mg.logspace(0, 3, 4).numpy(), [1, 10, 100, 1000], rtol=1e-6)
    np.testing.assert_allclose(mg.logspace(0, 2, 3, base=2).numpy(), [1, 2, 4])


def test_random_integers_and_permutations(backend):
    r = mg.randint(3, 7, (1000,))
    assert r.dtype == I64 and r.shape == (1000,)
    assert set(np.unique(r.numpy()).tolist()) == {3, 4, 5, 6}
    assert set(np.unique(mg.randint(2, (200,)).numpy()).tolist()) == {0, 1}
    assert mg.randint(0, 5, size=(2, 3)).shape == (2, 3)
    p = mg.randperm(10)
    assert p.dtype == I64 and sorted(p.tolist()) == list(range(10))
    g1, g2 = mg.HostGenerator(5), mg.HostGenerator(5)
    assert mg.randperm(20, generator=g1).tolist() == mg.randperm(20, generator=g2).tolist()
    assert mg.randperm(20, generator=g1).tolist() == _second_perm(5, 20)
    np.testing.assert_array_equal(mg.randn(3, generator=mg.HostGenerator(1)).numpy(),
                                  np.random.default_rng(1).standard_normal(3).astype(np.float32))
    with pytest.raises(ValueError, match="randint: expected low < high"):
        mg.randint(3, 3, (2,))
    with pytest.raises(TypeError, match="randint: expected randint"):
        mg.randint(3)


def _second_perm(seed, n):
    rng = np.random.default_rng(seed)
    rng.permutation(n)
    return rng.permutation(n).tolist()


def test_creation_requires_grad_and_errors(backend):
    w = mg.zeros(2, 3, requires_grad=True)
    assert w.requires_grad and w.is_leaf
    (w * 2).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), np.full((2, 3), 2))
    with pytest.raises(TypeError, match="only floating-point"):
        mg.arange(3, requires_grad=True)
    with pytest.raises(TypeError, match="zeros: the shape must be non-negative ints"):
        mg.zeros(2, -1)
    with pytest.raises(TypeError, match="not a dtype"):
        mg.ones(2, dtype="flaot32")
    with pytest.raises(ValueError, match="arange: step must be nonzero"):
        mg.arange(0, 1, 0)


def test_creation_device_argument():
    assert mg.zeros(2, device="cpu").backend == "numpy"
    assert mg.tensor([1.0], device="cpu").device == "cpu"
    assert mg.as_tensor(np.zeros(2), device=mg.device("cpu")).backend == "numpy"
    with pytest.raises(mg.BackendError, match="unknown device 'tpu'"):
        mg.ones(2, device="tpu")
    with pytest.raises(mg.BackendError, match="one GPU"):
        mg.ones(2, device="cuda:1")
    if CUPY_MISSING is not None:
        with pytest.raises(mg.BackendError, match="zeros: device 'cuda:0' is the CuPy backend"):
            mg.zeros(2, device="cuda")


@needs_cupy
def test_creation_on_cuda():
    for t in (mg.zeros(2, device="cuda"), mg.arange(3, device="cuda:0"),
              mg.randn(2, device="cuda"), mg.tensor([1.0], device="cuda"),
              mg.randint(0, 3, (2,), device="cuda"), mg.eye(2, device="cuda")):
        assert t.backend == "cupy" and t.is_cuda and t.device == "cuda:0"
    assert mg.arange(3, device="cuda").tolist() == [0, 1, 2]
    assert mg.zeros_like(mg.ones(2, device="cuda")).backend == "cupy"


def test_tensor_copies_and_from_numpy_shares():
    a = np.zeros(3)
    with mg.use_backend("numpy"):
        t, s, f = mg.tensor(a), mg.as_tensor(a), mg.from_numpy(a)
    a[0] = 5
    assert t.numpy()[0] == 0 and s.numpy()[0] == 5 and f.numpy()[0] == 5


# --------------------------------------------------------------- conversions
def test_device_objects():
    d = mg.device("cuda:0")
    assert d.type == "cuda" and d.index == 0 and str(d) == "cuda:0" and d == "cuda" and d == "cuda:0"
    assert mg.device("cuda", 0) == d and mg.device("cpu") != d and mg.device("cpu") == "cpu"
    assert repr(mg.device("cpu")) == "device(type='cpu')" and mg.device("numpy") == "cpu"
    x = mg.tensor([1.0], device="cpu")
    assert x.device == "cpu" and x.device == mg.device("cpu") and not x.is_cuda
    assert {mg.device("cpu"): 1}[mg.device("cpu")] == 1


def test_to_dtype_is_differentiable_between_floats(backend):
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = x.to(mg.float64)
    assert y.dtype == F64 and y.requires_grad
    (y * y).sum().backward()
    assert x.grad.dtype == F32
    np.testing.assert_array_equal(x.grad.numpy(), [2, 4])
    assert x.to(mg.float32) is x and x.float() is x and x.type_as(x) is x
    assert x.to(mg.float32, copy=True) is not x
    assert x.to("float64").dtype == F64 and x.to(dtype=mg.float16).dtype == F16


def test_casting_methods_values_and_constants(backend):
    x = mg.tensor([1.7, -2.2, 0.0], requires_grad=True)
    cases = {"double": (F64, True), "half": (F16, True), "float": (F32, True),
             "long": (I64, False), "int": (I32, False), "short": (np.dtype("int16"), False),
             "bool": (BOOL, False)}
    for name, (dtype, grad) in cases.items():
        y = getattr(x, name)()
        assert y.dtype == dtype and y.requires_grad == grad, name
        np.testing.assert_array_equal(y.numpy(), np.array([1.7, -2.2, 0.0], np.float32).astype(dtype))
    assert x.long().tolist() == [1, -2, 0] and x.bool().tolist() == [True, True, False]
    i = mg.arange(3)
    assert i.type_as(x).dtype == F32 and i.type(mg.float64).dtype == F64
    where = "cuda." if backend == "cupy" else ""
    assert x.type() == f"minigrad.{where}FloatTensor" and i.type() == f"minigrad.{where}LongTensor"
    assert i.type("torch.DoubleTensor").dtype == F64


def test_to_forms(backend):
    x = mg.tensor([1.0, 2.0])
    other = mg.tensor([1, 2])
    y = x.to(other)
    assert y.dtype == I64 and y.backend == backend
    assert x.to("cpu", mg.float64).dtype == F64 and x.to("cpu", mg.float64).backend == "numpy"
    assert x.to(device="cpu", dtype=mg.float64).dtype == F64
    assert x.to(mg.float64, False, False).dtype == F64
    if backend == "numpy":
        assert x.to("cpu") is x and x.cpu() is x and x.to(mg.device("cpu")) is x
    with pytest.raises(TypeError, match="to: unexpected keyword 'dtyp'; accepted: device, dtype"):
        x.to(dtyp=mg.float64)
    with pytest.raises(mg.BackendError, match="neither a dtype nor a device"):
        x.to("gpu")


def test_to_cuda_without_cupy_is_a_clear_error():
    if CUPY_MISSING is None:
        pytest.skip("CuPy is installed")
    x = mg.tensor([1.0])
    for call in (lambda: x.to("cuda"), lambda: x.cuda(), lambda: x.to("cuda:0"),
                 lambda: nn.Linear(2, 2).cuda()):
        with pytest.raises(mg.BackendError, match="CuPy backend, which cannot run here"):
            call()


@needs_cupy
def test_to_cuda_and_back_keeps_values_and_leafness():
    x = mg.tensor([1.0, 2.0], requires_grad=True, device="cpu")
    y = x.to("cuda")
    assert y.is_cuda and y.device == "cuda:0" and y.requires_grad and y.is_leaf
    assert y.to("cuda") is y and y.cpu().tolist() == [1.0, 2.0]
    z = x.to("cuda", mg.float64)
    assert z.is_cuda and z.dtype == F64
    with pytest.raises(RuntimeError, match="would cut it from the graph"):
        (x * 2).cuda()


# ---------------------------------------------------------------------- Module
class _Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 2)
        self.bn = nn.BatchNorm1d(2)

    def forward(self, x):
        return self.bn(self.lin(x))


def test_module_to_dtype_in_place_keeps_parameter_objects(backend):
    net = _Net()
    params = list(net.parameters())
    before = [p.numpy().copy() for p in params]
    opt = mg.optim.SGD(net.parameters(), lr=0.1)
    assert net.double() is net
    assert [id(p) for p in net.parameters()] == [id(p) for p in params]
    assert all(p.dtype == F64 for p in net.parameters())
    assert net.bn.running_mean.dtype == F64
    assert net.bn.num_batches_tracked.dtype == I64            # integer buffers keep their dtype
    for p, b in zip(params, before):
        np.testing.assert_array_equal(p.numpy(), b.astype(np.float64))
    x = mg.tensor(np.ones((4, 3)))
    net.lin(x).sum().backward()
    opt.step()                                                   # the optimizer still updates them
    assert params[0].dtype == F64
    np.testing.assert_allclose(params[0].numpy(), before[0].astype(np.float64) - 0.1 * 4)
    assert net.to(mg.float32) is net and all(p.dtype == F32 for p in net.parameters())
    assert net.half().lin.weight.dtype == F16 and net.float().lin.weight.dtype == F32
    assert net.to("cpu", mg.float64).lin.bias.dtype == F64
    assert net.to(dtype=mg.float32, device="cpu").lin.bias.dtype == F32


def test_module_to_refuses_integer_dtypes_and_converts_grads(backend):
    net = _Net()
    net.lin(mg.ones(4, 3)).sum().backward()
    net.double()
    assert net.lin.weight.grad.dtype == F64
    with pytest.raises(TypeError, match="Module.to: only floating point or complex dtypes"):
        net.to(mg.int64)
    with pytest.raises(mg.BackendError, match="unknown backend"):
        net.to("tpu")


def test_module_type_converts_all_and_cpu_is_a_no_op_on_numpy():
    with mg.use_backend("numpy"):
        net = _Net()
    w = net.lin.weight.data
    assert net.cpu() is net and net.lin.weight.data is w and net.to("numpy") is net
    net.type(mg.float64)
    assert net.lin.weight.dtype == F64 and net.bn.num_batches_tracked.dtype == F64


@needs_cupy
def test_module_cuda_round_trip():
    net = _Net()
    sd = {k: v.numpy().copy() for k, v in net.state_dict().items()}
    net.to("cuda", mg.float64)
    assert all(t.backend == "cupy" for t in net.state_dict().values())
    assert net.lin.weight.dtype == F64
    net.cpu().float()
    for k, v in net.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), sd[k])


def test_module_to_keeps_complex_parameters_complex():
    net = nn.Module()
    net.z = nn.Parameter(mg.tensor(np.array([1 + 2j], dtype=np.complex64)))
    net.double()
    assert net.z.dtype == np.dtype("complex128") and net.z.tolist() == [1 + 2j]
    net.float()
    assert net.z.dtype == np.dtype("complex64")
