"""Grad mode and debug mode are per thread; ``@set_debug()`` and ``@no_grad()`` as
decorators switch the mode only while the function runs, recursion included; a kept loss
does not keep the activations of its step alive."""
import threading

import numpy as np

import minigrad as mg
from minigrad.autograd import _GradMode


def test_no_grad_in_one_thread_leaves_other_threads_recording():
    inside, other = threading.Event(), threading.Event()
    seen = {}

    def worker():
        with mg.no_grad():
            inside.set()
            other.wait(5)
            seen["worker"] = mg.is_grad_enabled()

    t = threading.Thread(target=worker)
    t.start()
    inside.wait(5)
    x = mg.tensor([1.0], requires_grad=True)
    seen["main"] = (x * 2).requires_grad
    other.set()
    t.join()
    assert seen == {"main": True, "worker": False}


def test_set_debug_as_a_decorator_is_off_until_the_call():
    assert not _GradMode.debug

    @mg.set_debug()
    def checked():
        return _GradMode.debug

    assert not _GradMode.debug
    assert checked() is True
    assert not _GradMode.debug


def test_set_debug_called_and_as_a_block():
    with mg.set_debug():
        assert _GradMode.debug
    assert not _GradMode.debug
    mg.set_debug()
    try:
        assert _GradMode.debug
    finally:
        mg.set_debug(False)


def test_no_grad_decorator_survives_recursion():
    @mg.no_grad()
    def down(n):
        return mg.is_grad_enabled() if n == 0 else down(n - 1)

    assert down(3) is False
    assert mg.is_grad_enabled()


def _rss_mib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2 ** 20


def test_kept_losses_do_not_keep_their_activations():
    """200 steps of a small CNN keeping every loss (``history.append(loss)``): resident
    memory grows by less than 20 MiB (each step's graph holds ~1 MiB of activations)."""
    from minigrad import functional as F, nn
    mg.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(8 * 8 * 8, 10))
    opt = mg.optim.SGD(model.parameters(), lr=0.01)
    x, y = mg.randn(64, 1, 16, 16), mg.tensor(np.arange(64) % 10)
    history = []
    for step in range(220):
        if step == 20:
            start = _rss_mib()
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        history.append(loss)
    assert _rss_mib() - start < 20
    assert history[0]._node.freed and history[0]._node.inputs == ()


def test_hooks_on_intermediates_nobody_else_holds_still_run():
    """The walk frees each node's inputs only after it ends: a tensor that only the graph
    holds (a layer's output seen by a forward hook) still gets its hook called."""
    x = mg.tensor(np.arange(3.0), requires_grad=True)
    seen = []
    h = x * 2.0
    h = h.exp()                       # only the graph holds it once the name is gone
    h.register_hook(lambda g: seen.append(g.numpy().copy()))
    w = mg.tensor(np.full(3, 3.0), requires_grad=True)
    loss = (h * w).sum()
    del h
    loss.backward()
    assert len(seen) == 1
    np.testing.assert_allclose(seen[0], np.full(3, 3.0))
