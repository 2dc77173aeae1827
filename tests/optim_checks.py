"""The checks every optimizer row passes, for the test files of the optimizer families
(``tests/test_optim_<family>.py``): its trajectory against an independent float64
transcription (a reference: a callable ``ref(thetas, grads) -> new thetas``, one call per
step, keeping its own state), save → load → continue equal to an uninterrupted run, and
float32 parameters that stay float32 on every backend.

Each family file names the registered rows it tests in a module-level ``TESTED`` set;
``tests/test_optimizers.py`` checks that every registered optimizer row is tested somewhere."""
import numpy as np

import minigrad
from tests.test_optimizers import (assert_trajectories_close, initial_values, make_params,
                                   run_optimizer, run_reference)


def check_trajectory(cls, reference, cfg, steps=8, rtol=1e-12, atol=1e-13, inits=None):
    """``cls(params, **cfg)`` takes the same float64 steps as ``reference`` on the synthetic
    gradients of ``tests/test_optimizers.synthetic_grad``."""
    inits = initial_values() if inits is None else inits
    params = make_params(inits)
    got = run_optimizer(cls(params, **cfg), params, steps=steps)
    assert_trajectories_close(got, run_reference(reference, inits, steps), rtol=rtol, atol=atol)


def check_save_resume(cls, cfg, tmp_path, steps=7, split=3, inits=None):
    """3 steps, ``state_dict`` through ``minigrad.save``/``load`` into a fresh optimizer made
    with another lr, 4 more steps: bit-identical to 7 uninterrupted steps."""
    inits = initial_values() if inits is None else inits
    params = make_params(inits)
    full = run_optimizer(cls(params, **cfg), params, steps=steps)

    params = make_params(inits)
    opt = cls(params, **cfg)
    run_optimizer(opt, params, steps=split)
    path = tmp_path / "opt.npz"
    minigrad.save(opt.state_dict(), str(path))
    resumed_params = make_params([p.numpy() for p in params])
    resumed = cls(resumed_params, **dict(cfg, lr=123.0))
    resumed.load_state_dict(minigrad.load(str(path)))
    rest = run_optimizer(resumed, resumed_params, steps=steps - split, first_t=split + 1)
    for got, expected in zip(rest, full[split:]):
        for g, e in zip(got, expected):
            np.testing.assert_array_equal(g, e)


def check_float32(cls, reference, cfg, backend, steps=3, rtol=2e-4, atol=2e-5, inits=None):
    """float32 parameters (and every floating state array) stay float32 on ``backend`` and
    follow the float64 reference within float32 rounding."""
    inits = initial_values() if inits is None else inits
    params = make_params(inits, dtype="float32")
    opt = cls(params, **cfg)
    run_optimizer(opt, params, steps=steps)
    for p in params:
        assert p.dtype == np.float32 and p.backend == backend
        for value in opt.state.get(p, {}).values():
            if hasattr(value, "dtype") and np.dtype(value.dtype).kind == "f":
                assert value.dtype == np.float32, (cls.__name__, value.dtype)
    expected = run_reference(reference, inits, steps)[-1]
    for p, e in zip(params, expected):
        np.testing.assert_allclose(p.numpy(), e, rtol=rtol, atol=atol)
