"""Checks shared by the activation test files."""
import numpy as np

import minigrad as mg
from minigrad import nn


def fit_wave(act, width=16, steps=150, lr=0.05):
    """A 1-width-1 MLP with ``act`` fits y = |x|·sin(2x) on [-2, 2]; returns (first, last) loss."""
    rng = np.random.default_rng(0)
    x = rng.uniform(-2, 2, (64, 1)).astype(np.float32)
    y = (np.abs(x) * np.sin(2 * x)).astype(np.float32)
    mg.manual_seed(0)
    model = nn.Sequential(nn.Linear(1, width), act, nn.Linear(width, 1))
    opt = mg.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = ((model(mg.tensor(x)) - mg.tensor(y)) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(float(loss.numpy()))
    return losses[0], losses[-1]


def assert_learns_and_moves(act):
    """``act`` in ``fit_wave``: the loss at least halves and every parameter of ``act`` moves."""
    before = [p.numpy().copy() for p in act.parameters()]
    first, last = fit_wave(act)
    assert last < 0.5 * first
    for b, p in zip(before, act.parameters()):
        assert not np.allclose(b, p.numpy())
