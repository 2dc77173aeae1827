"""O068 target_surrogate_sso (minigrad.optim.surrogate.SSO) against an independent NumPy
transcription on a linear softmax model: the first inner step is a plain gradient step on
the loss, m inner steps on the surrogate, the η schedules, state round-trip, both backends,
bad options."""
import numpy as np
import pytest

import minigrad as mg
from minigrad import functional as F
from minigrad import nn, optim
from minigrad.tensor import Tensor

TESTED = {"target_surrogate_sso"}


def data(n=12, d=4, k=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)), rng.integers(0, k, n)


def model(dtype="float64", seed=2):
    mg.manual_seed(seed)
    return nn.Linear(4, 3, dtype=dtype)


def np_ce_grad(z, y):
    z = z - z.max(1, keepdims=True)
    p = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    p[np.arange(len(y)), y] -= 1
    return p / len(y)


def ref_sso(W, b, batches, eta, lr, m, momentum=0.0, schedule="constant", T=None):
    """Outer: z_t = XWᵀ + b, g = ∇_z CE; inner: heavy-ball SGD on ⟨g, f⟩ + ‖f − z_t‖²/(2η)."""
    out = []
    for t, (X, y) in enumerate(batches, start=1):
        e = eta if schedule == "constant" else (eta / np.sqrt(t) if schedule == "stochastic"
                                                 else eta * T ** (-t / T))
        z_t = X @ W.T + b
        g = np_ce_grad(z_t, y)
        bufW = bufb = None
        for _ in range(m):
            r = g + (X @ W.T + b - z_t) / e
            gW, gb = r.T @ X, r.sum(0)
            if momentum:
                bufW = gW if bufW is None else momentum * bufW + gW
                bufb = gb if bufb is None else momentum * bufb + gb
                gW, gb = bufW, bufb
            W, b = W - lr * gW, b - lr * gb
        out.append((W.copy(), b.copy()))
    return out


def batches(count=4):
    return [data(seed=s) for s in range(count)]


def run(sso, net, bs, dtype="float64"):
    out = []
    for X, y in bs:
        sso.step(Tensor(X.astype(dtype)), Tensor(y))
        out.append((net.weight.numpy().copy(), net.bias.numpy().copy()))
    return out


def test_O068_first_inner_step_is_a_gradient_step_on_the_loss():
    X, y = data()
    net = model()
    twin = model()
    sso = optim.SSO(net, F.cross_entropy, eta=0.5, lr=0.3, inner_steps=1)
    sso.step(Tensor(X), Tensor(y))
    sgd = optim.SGD(twin.parameters(), lr=0.3)
    F.cross_entropy(twin(Tensor(X)), Tensor(y)).backward()
    sgd.step()
    np.testing.assert_allclose(net.weight.numpy(), twin.weight.numpy(), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(net.bias.numpy(), twin.bias.numpy(), rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("cfg", [dict(eta=0.5, lr=0.02, inner_steps=5),
                                 dict(eta=2.0, lr=0.01, inner_steps=3, momentum=0.9,
                                      eta_schedule="stochastic"),
                                 dict(eta=1.0, lr=0.02, inner_steps=4, eta_schedule="exponential",
                                      total_steps=10)])
def test_O068_trajectory_against_reference(cfg):
    net = model()
    W0, b0 = net.weight.numpy().copy(), net.bias.numpy().copy()
    sso = optim.SSO(net, F.cross_entropy, **cfg)
    bs = batches()
    got = run(sso, net, bs)
    ref = ref_sso(W0, b0, bs, cfg["eta"], cfg["lr"], cfg["inner_steps"], cfg.get("momentum", 0.0),
                  cfg.get("eta_schedule", "constant"), cfg.get("total_steps"))
    assert np.abs(ref[-1][0]).max() < 10          # a stable inner loop, not a blow-up
    for (gW, gb), (rW, rb) in zip(got, ref):
        np.testing.assert_allclose(gW, rW, rtol=1e-11, atol=1e-13)
        np.testing.assert_allclose(gb, rb, rtol=1e-11, atol=1e-13)


def test_O068_many_inner_steps_regress_onto_the_target_space_step():
    """With m large the inner loop solves the surrogate: for a linear model with enough
    parameters f_θ(X) reaches z_t − η·g_z (projected SGD in target space)."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((3, 4))          # 3 points, 4 features: f can fit any targets
    y = np.array([0, 2, 1])
    net = model()
    z_t = X @ net.weight.numpy().T + net.bias.numpy()
    eta = 0.7
    sso = optim.SSO(net, F.cross_entropy, eta=eta, lr=0.2, inner_steps=3000)
    sso.step(Tensor(X), Tensor(y))
    f = X @ net.weight.numpy().T + net.bias.numpy()
    np.testing.assert_allclose(f, z_t - eta * np_ce_grad(z_t, y), atol=1e-8)


def test_O068_state_round_trip(tmp_path):
    cfg = dict(eta=2.0, lr=0.1, inner_steps=2, eta_schedule="stochastic")
    net = model()
    sso = optim.SSO(net, F.cross_entropy, **cfg)
    full = run(sso, net, batches(5))
    net = model()
    sso = optim.SSO(net, F.cross_entropy, **cfg)
    run(sso, net, batches(5)[:2])
    mg.save(sso.state_dict(), str(tmp_path / "s.npz"))
    sso2 = optim.SSO(net, F.cross_entropy, **cfg)
    sso2.load_state_dict(mg.load(str(tmp_path / "s.npz")))
    rest = run(sso2, net, batches(5)[2:])
    for (gW, gb), (eW, eb) in zip(rest, full[2:]):
        np.testing.assert_array_equal(gW, eW)
        np.testing.assert_array_equal(gb, eb)


def test_O068_float32(backend):
    net = model("float32")
    W0, b0 = net.weight.numpy().astype(np.float64), net.bias.numpy().astype(np.float64)
    sso = optim.SSO(net, F.cross_entropy, eta=0.5, lr=0.02, inner_steps=3)
    bs = batches(2)
    got = run(sso, net, bs, dtype="float32")
    assert net.weight.dtype == np.float32 and net.weight.backend == backend
    ref = ref_sso(W0, b0, bs, 0.5, 0.02, 3)
    np.testing.assert_allclose(got[-1][0], ref[-1][0], rtol=2e-4, atol=2e-5)


def test_O068_bad_options():
    net = model()
    with pytest.raises(ValueError, match="SSO"):
        optim.SSO(net, F.cross_entropy, eta=0, lr=0.1)
    with pytest.raises(ValueError, match="SSO"):
        optim.SSO(net, F.cross_entropy, eta=1, lr=0)
    with pytest.raises(ValueError, match="SSO"):
        optim.SSO(net, F.cross_entropy, eta=1, lr=0.1, inner_steps=0)
    with pytest.raises(ValueError, match="SSO"):
        optim.SSO(net, F.cross_entropy, eta=1, lr=0.1, eta_schedule="exponential")
    with pytest.raises(TypeError, match="SSO"):
        optim.SSO(net.parameters(), F.cross_entropy, eta=1, lr=0.1)
    with pytest.raises(TypeError, match="SSO"):
        optim.SSO(net, F.cross_entropy, eta=1, lr=0.1, inner_optimizer=object)
