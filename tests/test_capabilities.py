"""Engine capabilities of the layer catalog ("Engine capability: ..." rows), each proven by
the test named after its row id."""
import pathlib
import re

import numpy
import pytest

import minigrad as mg
from minigrad import F, Function, nn
from minigrad.backends import backend_unavailable_reason
from minigrad.gradcheck import gradcheck
from minigrad import HostGenerator

DOCS = pathlib.Path(__file__).resolve().parent.parent / "docs"


def _f64(*shape, seed=0, requires_grad=True):
    data = numpy.random.default_rng(seed).standard_normal(shape)
    return mg.tensor(data, dtype="float64", requires_grad=requires_grad)


# ---------------------------------------------------------------- B031
def test_B031_freeze_parameters_gradient_flows_through_frozen_layers(backend):
    w1, w2, b2 = _f64(4, 3, seed=1), _f64(2, 4, seed=2), _f64(2, seed=3)
    w2.requires_grad_(False)                          # the middle of the network is frozen
    x = _f64(5, 3, seed=4)
    loss = (F.linear(F.tanh(F.linear(x, w1)), w2, b2) ** 2).sum()
    loss.backward()
    assert w2.grad is None                            # frozen: nothing accumulated
    assert w1.grad is not None and b2.grad is not None and x.grad is not None
    # the gradient that reached w1 *through* the frozen w2 is the true one
    gradcheck(lambda a, b: (F.linear(F.tanh(F.linear(a, b)), w2, b2) ** 2).sum(), [x, w1])


def test_B031_freeze_parameters_toggling_leaves_no_stale_grads():
    mg.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 1))
    x = mg.randn(6, 3)
    net[0].requires_grad_(False)                     # BN-only / LoRA style: train a subset
    assert [n for n, p in net.named_parameters() if p.requires_grad] == ["1.weight", "1.bias"]
    net(x).sum().backward()
    assert net[0].weight.grad is None and net[1].weight.grad is not None
    net.zero_grad()
    net[0].requires_grad_(True)                      # LISA-style switch between steps
    net[1].requires_grad_(False)
    net(x).sum().backward()
    assert net[1].weight.grad is None and net[1].bias.grad is None
    assert net[0].weight.grad is not None


# ---------------------------------------------------------------- B035
def test_B035_grad_accumulation_fan_out_weight_tying(backend):
    w = _f64(3, 3, seed=1)
    x = _f64(2, 3, seed=2, requires_grad=False)

    def twice(w_):                                    # the same weight used at two depths
        return (F.linear(F.tanh(F.linear(x, w_)), w_) ** 2).sum()
    twice(w).backward()
    gradcheck(twice, [w])                             # fan-out: the two uses add up
    g_once = w.grad.numpy().copy()
    twice(w).backward()                               # a second backward accumulates
    numpy.testing.assert_allclose(w.grad.numpy(), 2 * g_once, rtol=1e-12)
    w.zero_grad()
    assert w.grad is None

    # accumulating over micro-batches equals the gradient of the summed loss
    big = _f64(6, 3, seed=5, requires_grad=False)
    loss = lambda xb: (F.linear(F.tanh(F.linear(xb, w)), w) ** 2).sum()  # noqa: E731
    loss(big).backward()
    full = w.grad.numpy().copy()
    w.zero_grad()
    for part in (big[:2], big[2:5], big[5:]):
        loss(part).backward()
    numpy.testing.assert_allclose(w.grad.numpy(), full, rtol=1e-10)


def test_B035_weight_tying_between_modules():
    mg.manual_seed(0)
    emb = nn.Embedding(7, 4)
    head = nn.Linear(4, 7, bias=False)
    head.weight = emb.weight                          # tied input/output embedding
    model = nn.ModuleList([emb, head])
    assert len(list(model.parameters())) == 1
    idx = mg.tensor(numpy.array([[1, 2, 3], [3, 4, 6]]))
    logits = head(emb(idx))
    (logits ** 2).sum().backward()
    # reference: the sum of the two uses' gradients, computed separately
    e = emb.weight.detach().numpy()
    rows = e[idx.numpy()]                             # (2, 3, 4)
    dlogits = 2 * rows @ e.T                          # (2, 3, 7)
    g_head = dlogits.reshape(-1, 7).T @ rows.reshape(-1, 4)
    g_emb = numpy.zeros_like(e)
    numpy.add.at(g_emb, idx.numpy(), dlogits @ e)
    numpy.testing.assert_allclose(emb.weight.grad.numpy(), g_head + g_emb, rtol=1e-4, atol=1e-5)


# ---------------------------------------------------------------- B036
def test_B036_stop_gradient_detach(backend):
    x = _f64(4, seed=1)
    q = F.ste_sign(x)                                 # any non-differentiable value
    y = x + (q - x).detach()                          # value of q, gradient of x
    numpy.testing.assert_array_equal(y.numpy(), q.numpy())
    (y * mg.tensor(numpy.arange(1.0, 5.0))).sum().backward()
    numpy.testing.assert_array_equal(x.grad.numpy(), numpy.arange(1.0, 5.0))

    # a partially detached loss: the gradient flows only through the live path
    a, b = _f64(3, seed=2), _f64(3, seed=3)
    loss = (a * b.detach()).sum() + (a.detach() * b * b).sum()
    loss.backward()
    numpy.testing.assert_allclose(a.grad.numpy(), b.numpy())
    numpy.testing.assert_allclose(b.grad.numpy(), 2 * a.numpy() * b.numpy())

    # no_grad: side computations are not recorded at all
    with mg.no_grad():
        ema = a * 0.9 + b * 0.1
    assert not ema.requires_grad and ema.grad_fn is None
    d = a.detach()
    assert d.is_leaf and not d.requires_grad and d.data is a.data   # shares the values


# ---------------------------------------------------------------- B037
class ClippedSTE(Function):
    """A user-written op: y = round(x); backward dx = dy · 1[|x| ≤ 1] (a documented rule)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.xp.round(x)

    @staticmethod
    def backward(ctx, gy):
        x, = ctx.saved_tensors
        return gy * (ctx.xp.abs(x) <= 1)


class Cube(Function):
    """A user-written op with an exact backward: y = x³, dx = 3x² dy (saves the input)."""

    @staticmethod
    def forward(ctx, x, scale):
        ctx.save_for_backward(x)
        ctx.scale = scale
        return scale * x ** 3

    @staticmethod
    def backward(ctx, gy):
        x, = ctx.saved_tensors
        return 3 * ctx.scale * x * x * gy, None


def test_B037_custom_function(backend):
    x = mg.tensor(numpy.array([-2.3, -0.6, 0.2, 0.7, 1.6]), dtype="float64", requires_grad=True)
    y = ClippedSTE.apply(x)
    numpy.testing.assert_array_equal(y.numpy(), [-2.0, -1.0, 0.0, 1.0, 2.0])
    gy = numpy.array([1.0, 2.0, 3.0, 4.0, 5.0])
    y.backward(mg.tensor(gy, dtype="float64"))
    numpy.testing.assert_array_equal(x.grad.numpy(), gy * (numpy.abs(x.numpy()) <= 1))
    assert y.grad_fn == "ClippedSTE"
    # an exact custom op composes with built-in ops and passes finite differences
    z = _f64(3, 2, seed=3)
    gradcheck(lambda t: Cube.apply(F.tanh(t), 0.5).sum(axis=1), [z])


def test_B037_custom_function_doc_example_runs():
    text = (DOCS / "custom_function.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks, "docs/custom_function.md has no python example"
    namespace = {}
    exec(compile("\n".join(blocks), "docs/custom_function.md", "exec"), namespace)  # noqa: S102
    assert namespace["x"].grad.numpy().tolist() == [0.0, 2.0, 3.0, 4.0, 0.0]


# ---------------------------------------------------------------- B038
class RunningMean(nn.Module):
    """A stateful module: in training it normalizes by the batch mean and updates an EMA
    buffer outside the tape; in eval it uses the buffer."""

    def __init__(self, features, momentum=0.1):
        super().__init__()
        self.momentum = momentum
        self.register_buffer("running_mean", mg.zeros(features, dtype="float64"))
        self.register_buffer("num_batches", mg.zeros(1, dtype="int64"))

    def forward(self, x):
        if self.training:
            mean = x.mean(axis=0)
            with mg.no_grad():
                self.running_mean.mul_(1 - self.momentum).add_(mean.detach(), alpha=self.momentum)
                self.num_batches.add_(1)
            return x - mean
        return x - self.running_mean


def test_B038_module_buffers_train_eval(backend):
    m = RunningMean(3)
    rng = numpy.random.default_rng(0)
    batches = [rng.standard_normal((4, 3)) + 2 for _ in range(5)]
    ref = numpy.zeros(3)
    for b in batches:                                  # step-by-step reference trajectory
        x = mg.tensor(b, dtype="float64", requires_grad=True)
        m(x).sum().backward()
        ref = 0.9 * ref + 0.1 * b.mean(axis=0)
        numpy.testing.assert_allclose(m.running_mean.numpy(), ref, rtol=1e-12)
    assert int(m.num_batches.item()) == 5
    assert m.running_mean.grad is None and not m.running_mean.requires_grad
    assert list(m.state_dict()) == ["running_mean", "num_batches"]
    m.eval()
    x = mg.tensor(batches[0], dtype="float64")
    numpy.testing.assert_allclose(m(x).numpy(), batches[0] - ref)
    m(x)
    assert int(m.num_batches.item()) == 5              # eval does not touch the buffers
    fresh = RunningMean(3)
    fresh.load_state_dict(m.state_dict())
    numpy.testing.assert_allclose(fresh.running_mean.numpy(), ref)


def test_B038_fake_quantize_observer_buffers():
    fq = nn.FakeQuantize(bits=4, signed=False, averaging_constant=0.5)
    rng = numpy.random.default_rng(1)
    lo = hi = None
    for _ in range(3):
        x = rng.uniform(-1, 3, (8,))
        fq(mg.tensor(x))
        lo = x.min() if lo is None else lo + 0.5 * (x.min() - lo)
        hi = x.max() if hi is None else hi + 0.5 * (x.max() - hi)
        numpy.testing.assert_allclose([fq.min_val.item(), fq.max_val.item()], [lo, hi], rtol=1e-6)
    fq.eval()
    fq(mg.tensor(rng.uniform(-9, 9, (8,))))
    numpy.testing.assert_allclose([fq.min_val.item(), fq.max_val.item()], [lo, hi], rtol=1e-6)
    assert {"min_val", "max_val", "scale", "zero_point"} <= set(fq.state_dict())


# ---------------------------------------------------------------- B040
def test_B040_forward_hooks_and_intermediate_grads(backend):
    mg.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 5), nn.Linear(5, 2))
    for p in net.parameters():
        p.data = p.data.astype("float64")
    captured = {}

    def keep(module, inputs, output):
        output.retain_grad()
        captured["act"] = output

    handle = net[0].register_forward_hook(keep)
    seen = []
    x = _f64(4, 3, seed=1)
    out = net(x)
    captured["act"].register_hook(lambda g: seen.append(g.numpy().copy()))
    gy = numpy.random.default_rng(2).standard_normal(out.shape)
    out.backward(mg.tensor(gy, dtype="float64"))
    act_grad = captured["act"].grad.numpy()
    # the adjoint at the hidden layer is dy W₂ (the exact gradient, only retained)
    numpy.testing.assert_allclose(act_grad, gy @ net[1].weight.numpy(), rtol=1e-12)
    numpy.testing.assert_allclose(seen[0], act_grad)
    # and it agrees with finite differences of the part of the net after the hook
    act = captured["act"].detach().requires_grad_(True)
    gradcheck(lambda a: net[1](a), [act])
    handle.remove()
    captured.clear()
    net(x)
    assert captured == {}

    # a gradient hook may also replace the gradient on its way down
    x.zero_grad()
    h = net[0](x)
    h.register_hook(lambda g: g * 0)
    net[1](h).sum().backward()
    assert float(abs(x.grad.numpy()).sum()) == 0.0

    # a forward hook may replace the output
    net[0].register_forward_hook(lambda m, i, o: o * 0)
    numpy.testing.assert_allclose(net(x).numpy(), numpy.broadcast_to(net[1].bias.numpy(), (4, 2)))


# ---------------------------------------------------------------- B055
def test_B055_reproducible_rng(backend):
    def draws():
        mg.manual_seed(123)
        a = mg.randn(3, 4)
        d = F.dropout(mg.ones(50), 0.5)
        mod = nn.Dropout(0.3)
        m = mod(mg.ones(20))
        p = F.drop_path(mg.ones(8, 2), 0.5, training=True)
        g = F.gumbel_softmax(mg.zeros(4, 3))
        return [t.numpy() for t in (a, d, m, p, g)]
    first, second = draws(), draws()
    for u, v in zip(first, second):
        numpy.testing.assert_array_equal(u, v)
    assert first[0].dtype == numpy.float32 and set(numpy.unique(first[1])) <= {0.0, 2.0}
    mg.manual_seed(124)
    assert not numpy.array_equal(mg.randn(3, 4).numpy(), first[0])
    # a HostGenerator draws on the CPU: the same masks on any backend
    x = mg.ones(40)
    mask = F.dropout(x, 0.5, generator=HostGenerator(7).on(backend)).numpy()
    numpy.testing.assert_array_equal(mask, (numpy.random.default_rng(7).random(40) >= 0.5) * 2.0)


@pytest.mark.skipif(backend_unavailable_reason("cupy") is not None,
                    reason=str(backend_unavailable_reason("cupy")))
def test_B055_host_generator_gives_identical_masks_on_numpy_and_cupy():
    results = []
    for name in ("numpy", "cupy"):
        with mg.use_backend(name):
            x = mg.ones(4, 6)
            drop = nn.Dropout(0.5, generator=HostGenerator(3))
            y = drop(x)
            g = F.gumbel_softmax(mg.zeros(3, 5), hard=True, generator=HostGenerator(4))
            results.append((y.numpy(), g.numpy()))
    for a, b in zip(*results):
        numpy.testing.assert_array_equal(a, b)
