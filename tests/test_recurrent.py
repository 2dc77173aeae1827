"""nn.RNN / nn.LSTM / nn.GRU and their cells against an independent NumPy loop of the
equations (PyTorch's gate order and parameter names), with the same weights."""
import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.gradcheck import gradcheck


def _sig(a):
    return 1.0 / (1.0 + np.exp(-a))


def _np_cell(mode, x, h, c, w_ih, w_hh, b_ih, b_hh):
    """One step for one sample, written gate by gate from PyTorch's documentation."""
    H = h.shape[0]
    gi = w_ih @ x + (b_ih if b_ih is not None else 0.0)
    gh = w_hh @ h + (b_hh if b_hh is not None else 0.0)
    if mode == "tanh":
        return np.tanh(gi + gh), None
    if mode == "relu":
        return np.maximum(gi + gh, 0.0), None
    if mode == "lstm":
        i = _sig(gi[0:H] + gh[0:H])
        f = _sig(gi[H:2 * H] + gh[H:2 * H])
        g = np.tanh(gi[2 * H:3 * H] + gh[2 * H:3 * H])
        o = _sig(gi[3 * H:] + gh[3 * H:])
        c_new = f * c + i * g
        return o * np.tanh(c_new), c_new
    r = _sig(gi[0:H] + gh[0:H])
    z = _sig(gi[H:2 * H] + gh[H:2 * H])
    n = np.tanh(gi[2 * H:] + r * gh[2 * H:])
    return (1 - z) * n + z * h, None


def _np_rnn(mode, module, x, h0=None, c0=None):
    """x (L, N, H_in) (time first); returns output (L, N, D·H), h_n, c_n."""
    p = {k: v.numpy().astype(np.float64) for k, v in module.named_parameters()}
    L, N, _ = x.shape
    H, D = module.hidden_size, 2 if module.bidirectional else 1
    layer_in = x
    h_n, c_n = [], []
    for layer in range(module.num_layers):
        outs = np.zeros((L, N, D * H))
        for d in range(D):
            sfx = f"_l{layer}" + ("_reverse" if d else "")
            w = [p.get(f"{s}{sfx}") for s in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
            k = layer * D + d
            for nb in range(N):
                h = np.zeros(H) if h0 is None else h0[k, nb].copy()
                c = np.zeros(H) if c0 is None else c0[k, nb].copy()
                times = range(L - 1, -1, -1) if d else range(L)
                for t in times:
                    h, c_new = _np_cell(mode, layer_in[t, nb], h, c, *w)
                    c = c_new if c_new is not None else c
                    outs[t, nb, d * H:(d + 1) * H] = h
                h_n.append((k, nb, h))
                c_n.append((k, nb, c))
        layer_in = outs
    hn = np.zeros((module.num_layers * D, N, H))
    cn = np.zeros_like(hn)
    for (k, nb, h), (_, _, c) in zip(h_n, c_n):
        hn[k, nb], cn[k, nb] = h, c
    return layer_in, hn, cn


CONFIGS = [
    dict(num_layers=1, batch_first=False, bidirectional=False),
    dict(num_layers=2, batch_first=True, bidirectional=False),
    dict(num_layers=2, batch_first=False, bidirectional=True),
    dict(num_layers=1, batch_first=True, bidirectional=True, bias=False),
]


def _make(mode, **cfg):
    if mode in ("tanh", "relu"):
        return nn.RNN(3, 4, nonlinearity=mode, **cfg)
    return (nn.LSTM if mode == "lstm" else nn.GRU)(3, 4, **cfg)


@pytest.mark.parametrize("mode", ["tanh", "relu", "lstm", "gru"])
@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()))
def test_matches_numpy_loop(mode, cfg):
    mg.manual_seed(0)
    m = _make(mode, **cfg).double()
    rng = np.random.default_rng(1)
    L, N = 5, 2
    x_tm = rng.standard_normal((L, N, 3))
    D = 2 if cfg["bidirectional"] else 1
    h0 = rng.standard_normal((cfg["num_layers"] * D, N, 4))
    c0 = rng.standard_normal((cfg["num_layers"] * D, N, 4))
    x = x_tm.transpose(1, 0, 2) if cfg["batch_first"] else x_tm
    hx = (mg.tensor(h0), mg.tensor(c0)) if mode == "lstm" else mg.tensor(h0)
    out, state = m(mg.tensor(x), hx)
    want_out, want_h, want_c = _np_rnn(mode, m, x_tm, h0, c0 if mode == "lstm" else None)
    if cfg["batch_first"]:
        want_out = want_out.transpose(1, 0, 2)
    assert out.shape == want_out.shape == (*x.shape[:2], D * 4)
    np.testing.assert_allclose(out.numpy(), want_out, rtol=1e-10, atol=1e-12)
    if mode == "lstm":
        h_n, c_n = state
        np.testing.assert_allclose(c_n.numpy(), want_c, rtol=1e-10, atol=1e-12)
    else:
        h_n = state
    np.testing.assert_allclose(h_n.numpy(), want_h, rtol=1e-10, atol=1e-12)
    # default h0 = zeros
    out0, _ = m(mg.tensor(x))
    want0, _, _ = _np_rnn(mode, m, x_tm)
    np.testing.assert_allclose(out0.numpy(), want0.transpose(1, 0, 2) if cfg["batch_first"] else want0,
                               rtol=1e-10, atol=1e-12)


def test_parameter_names_shapes_and_init():
    m = nn.LSTM(3, 5, num_layers=2, bidirectional=True)
    names = [n for n, _ in m.named_parameters()]
    assert names[:8] == ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0",
                         "weight_ih_l0_reverse", "weight_hh_l0_reverse", "bias_ih_l0_reverse",
                         "bias_hh_l0_reverse"]
    shapes = dict((n, tuple(p.shape)) for n, p in m.named_parameters())
    assert shapes["weight_ih_l0"] == (20, 3) and shapes["weight_hh_l0"] == (20, 5)
    assert shapes["weight_ih_l1"] == (20, 10)          # the concatenated directions
    assert nn.GRU(3, 5).weight_ih_l0.shape == (15, 3)
    assert [n for n, _ in nn.RNN(3, 5, bias=False).named_parameters()] == ["weight_ih_l0", "weight_hh_l0"]
    big = nn.GRU(4, 100)
    bound = 1 / np.sqrt(100)
    w = big.weight_hh_l0.numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.95 * bound
    assert abs(w.std() - bound / np.sqrt(3)) < 0.01 * bound * 3     # U(-b, b): std = b/√3


def test_unbatched_input_and_cells():
    mg.manual_seed(2)
    rng = np.random.default_rng(3)
    m = nn.GRU(3, 4).double()
    x = rng.standard_normal((6, 3))
    out, h = m(mg.tensor(x))
    assert out.shape == (6, 4) and h.shape == (1, 4)
    batched, hb = m(mg.tensor(x[:, None, :]))
    np.testing.assert_allclose(out.numpy(), batched.numpy()[:, 0])
    # the cells equal one step of the numpy equations
    for mode, cell in (("tanh", nn.RNNCell(3, 4)), ("lstm", nn.LSTMCell(3, 4)), ("gru", nn.GRUCell(3, 4))):
        cell = cell.double()
        xb, hb0, cb0 = rng.standard_normal((2, 3)), rng.standard_normal((2, 4)), rng.standard_normal((2, 4))
        w = [getattr(cell, k).numpy() for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
        got = cell(mg.tensor(xb), (mg.tensor(hb0), mg.tensor(cb0)) if mode == "lstm" else mg.tensor(hb0))
        for nb in range(2):
            h_want, c_want = _np_cell(mode, xb[nb], hb0[nb], cb0[nb], *w)
            if mode == "lstm":
                np.testing.assert_allclose(got[0].numpy()[nb], h_want, rtol=1e-12)
                np.testing.assert_allclose(got[1].numpy()[nb], c_want, rtol=1e-12)
            else:
                np.testing.assert_allclose(got.numpy()[nb], h_want, rtol=1e-12)


@pytest.mark.parametrize("cls", [nn.RNN, nn.LSTM, nn.GRU])
def test_gradcheck_through_time(cls):
    mg.manual_seed(4)
    m = cls(2, 3, num_layers=2, bidirectional=True).double()
    rng = np.random.default_rng(5)
    x = mg.tensor(rng.standard_normal((3, 2, 2)), requires_grad=True)
    params = list(m.parameters())
    w = params[0]

    def f(x, w):
        out, _ = m(x)
        return (out * out).sum()

    gradcheck(f, [x, w])
    out, _ = m(x)
    out.sum().backward()
    assert all(p.grad is not None for p in m.parameters())


def test_dropout_between_layers_and_errors():
    mg.manual_seed(6)
    m = nn.LSTM(3, 4, num_layers=2, dropout=0.5).double()
    x = mg.tensor(np.random.default_rng(0).standard_normal((4, 2, 3)))
    m.eval()
    a, _ = m(x)
    b, _ = m(x)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    m.train()
    c, _ = m(x)
    assert not np.allclose(a.numpy(), c.numpy())
    with pytest.warns(UserWarning, match="dropout"):
        nn.GRU(3, 4, dropout=0.2)
    with pytest.raises(ValueError, match="input_size=3"):
        m(mg.tensor(np.zeros((4, 2, 5))))
    with pytest.raises(ValueError, match="h_0"):
        m(x, (mg.tensor(np.zeros((1, 2, 4))), mg.tensor(np.zeros((2, 2, 4)))))
    with pytest.raises(ValueError, match="nonlinearity"):
        nn.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(NotImplementedError, match="proj_size"):
        nn.LSTM(3, 4, proj_size=2)
