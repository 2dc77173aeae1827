"""O059 rift_module_criticality (minigrad.training.criticality) against a plain-NumPy loop
of microsoft/robustlearn RiFT/main.py ``layer_sharpness`` on a small tanh MLP: gradient ascent
on one module's weight, the relative ε-ball projection after each epoch, the max over epochs,
the ranking; the model left untouched; bad arguments."""
import numpy as np
import pytest

import minigrad as mg
from minigrad import nn, training
from minigrad.tensor import Tensor

TESTED = {"rift_module_criticality"}


def make_model(dtype="float64"):
    mg.manual_seed(3)
    model = nn.Sequential(nn.Linear(3, 5, dtype=dtype), nn.Tanh(), nn.Linear(5, 4, dtype=dtype))
    return model


def make_batches(dtype="float64", seed=0):
    rng = np.random.default_rng(seed)
    return [(Tensor(rng.standard_normal((6, 3)).astype(dtype)), Tensor(rng.integers(0, 4, 6)))
            for _ in range(3)]


def np_forward(W1, b1, W2, b2, x):
    h = np.tanh(x @ W1.T + b1)
    return h, h @ W2.T + b2


def np_loss_and_grads(params, x, y):
    W1, b1, W2, b2 = params
    h, z = np_forward(W1, b1, W2, b2, x)
    z = z - z.max(1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(1, keepdims=True))
    p = np.exp(logp)
    n = len(y)
    loss = -np.mean(logp[np.arange(n), y])
    d = p.copy()
    d[np.arange(n), y] -= 1
    d /= n
    gW2 = d.T @ h
    gW1 = ((d @ W2) * (1 - h * h)).T @ x
    return loss, {0: gW1, 2: gW2}


def np_mrc(params, batches, epsilon, epochs, lr):
    def mean_loss(ps):
        tot = sum(np_loss_and_grads(ps, x, y)[0] * len(y) for x, y in batches)
        return tot / sum(len(y) for _, y in batches)
    origin = mean_loss(params)
    out = {}
    for k, name in ((0, "0"), (2, "2")):
        ps = [p.copy() for p in params]
        w0 = params[k].copy()
        best = 0.0
        for _ in range(epochs):
            for x, y in batches:
                ps[k] = ps[k] + lr * np_loss_and_grads(ps, x, y)[1][k]
            diff = ps[k] - w0
            times = np.linalg.norm(diff) / np.linalg.norm(w0)
            if times > epsilon:
                ps[k] = w0 + diff / times * epsilon
            best = max(best, mean_loss(ps))
        out[name] = best - origin
    return out


def host_batches(batches):
    return [(x.numpy(), y.numpy()) for x, y in batches]


@pytest.mark.parametrize("cfg", [dict(), dict(epsilon=0.5, epochs=3, lr=0.05),
                                 dict(epsilon=10.0, epochs=2, lr=0.2)])
def test_O059_matches_naive_loop(cfg):
    model = make_model()
    batches = make_batches()
    params = [p.numpy().copy() for p in model.parameters()]
    got = training.rift_module_criticality(model, batches, **cfg)
    ref = np_mrc(params, host_batches(batches), cfg.get("epsilon", 0.1), cfg.get("epochs", 10),
                 cfg.get("lr", 1.0))
    assert [name for name, _ in got] == sorted(ref, key=ref.get)
    for name, value in got:
        np.testing.assert_allclose(value, ref[name], rtol=1e-10, atol=1e-12)
        assert value >= 0
    # the model is unchanged
    for p, before in zip(model.parameters(), params):
        np.testing.assert_array_equal(p.numpy(), before)
        assert p.requires_grad and p.grad is None
    assert model.training


def test_O059_projection_lands_on_the_ball():
    """With a huge ascent step the perturbation is scaled back to exactly ε‖W₀‖."""
    model = make_model()
    batches = make_batches()
    params = [p.numpy().copy() for p in model.parameters()]
    eps = 0.1
    # one epoch, lr 1e3: the perturbation certainly leaves the ball; after projection
    # the loss equals the loss at W₀ + ε‖W₀‖·d/‖d‖
    got = dict(training.rift_module_criticality(model, batches, epsilon=eps, epochs=1, lr=1e3,
                                                modules=["2"]))
    hb = host_batches(batches)
    w0 = params[2]
    w = w0.copy()
    for x, y in hb:
        w = w + 1e3 * np_loss_and_grads([params[0], params[1], w, params[3]], x, y)[1][2]
    d = w - w0
    proj = w0 + d * (eps * np.linalg.norm(w0) / np.linalg.norm(d))
    np.testing.assert_allclose(np.linalg.norm(proj - w0) / np.linalg.norm(w0), eps)
    ps = [params[0], params[1], proj, params[3]]
    mean = lambda q: sum(np_loss_and_grads(q, x, y)[0] * len(y) for x, y in hb) / 18  # noqa: E731
    np.testing.assert_allclose(got["2"], mean(ps) - mean(params), rtol=1e-10)


def test_O059_float32_and_backend(backend):
    model = make_model("float32")
    batches = make_batches("float32")
    got = training.rift_module_criticality(model, batches, epochs=2)
    assert len(got) == 2 and all(np.isfinite(v) for _, v in got)
    for p in model.parameters():
        assert p.dtype == np.float32 and p.backend == backend


def test_O059_adversarial_data_and_bad_arguments():
    model = make_model()
    rng = np.random.default_rng(5)
    batches = [(Tensor(rng.uniform(0, 1, (6, 3))), Tensor(rng.integers(0, 4, 6)))
               for _ in range(3)]
    adv = training.rift_adversarial_data(model, batches, steps=2,
                                         generator=np.random.default_rng(0))
    assert len(adv) == 3 and model.training
    for (xa, ya), (x, y) in zip(adv, batches):
        assert np.abs(xa.numpy() - x.numpy()).max() <= 8 / 255 + 1e-12
        assert xa.numpy().min() >= 0 and xa.numpy().max() <= 1 and not xa.requires_grad
        np.testing.assert_array_equal(ya.numpy(), y.numpy())
    with pytest.raises(ValueError, match="rift_module_criticality"):
        training.rift_module_criticality(model, batches, epsilon=0)
    with pytest.raises(ValueError, match="rift_module_criticality"):
        training.rift_module_criticality(model, batches, epochs=0)
    with pytest.raises(KeyError, match="rift_module_criticality"):
        training.rift_module_criticality(model, batches, modules=["1"])
    with pytest.raises(ValueError, match="empty"):
        training.rift_module_criticality(model, [])


def test_O059_zero_weight_module_stays_in_its_ball():
    """A zero weight: the relative ball ‖ΔW‖ ≤ ε‖W‖ is {0}, so MRC is 0 and no NaN appears."""
    model = make_model()
    model[2].weight.data[...] = 0
    got = dict(training.rift_module_criticality(model, make_batches(), epochs=2, modules=["2"]))
    assert got["2"] == pytest.approx(0.0, abs=1e-12)
    np.testing.assert_array_equal(model[2].weight.numpy(), 0)
