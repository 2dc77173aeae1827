"""Backend selection: environment variable (in a subprocess), context manager, moving tensors."""
import os
import subprocess
import sys

import numpy as np
import pytest

import minigrad as mg
from minigrad.backends import backend_unavailable_reason

CUPY_MISSING = backend_unavailable_reason("cupy")


def run_python(code, **env):
    full_env = dict(os.environ, **env)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=full_env)


def test_environment_variable_picks_the_backend():
    out = run_python("import minigrad; print(minigrad.current_backend().name)", MINIGRAD_BACKEND="numpy")
    assert out.returncode == 0 and out.stdout.strip() == "numpy"


def test_unknown_backend_in_the_environment_is_a_clear_error():
    out = run_python("import minigrad; minigrad.tensor([1.0])", MINIGRAD_BACKEND="tpu")
    assert out.returncode != 0
    assert "unknown backend 'tpu'; valid backends are: numpy, cupy" in out.stderr


# A Python with no CuPy, and one whose CuPy finds no GPU, whatever this machine has.
WITHOUT_CUPY = "import sys; sys.modules['cupy'] = None\n"
WITHOUT_GPU = """import sys, types
cupy = types.ModuleType("cupy")
cupy.ndarray = type("ndarray", (), {})
def _count():
    raise RuntimeError("cudaErrorNoDevice: no CUDA-capable device is detected")
cupy.cuda = types.SimpleNamespace(runtime=types.SimpleNamespace(getDeviceCount=_count))
sys.modules["cupy"] = cupy
"""


@pytest.mark.parametrize("setup,missing", [(WITHOUT_CUPY, 'pip install "minigrad[cuda]"'),
                                           (WITHOUT_GPU, "no usable GPU (CUDA says: cudaErrorNoDevice")])
def test_cupy_requested_without_cupy_or_gpu_is_one_clear_line(setup, missing):
    out = run_python(setup + "import minigrad\nminigrad.tensor([1.0])", MINIGRAD_BACKEND="cupy")
    assert out.returncode != 0
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith("minigrad.backends.BackendError: MINIGRAD_BACKEND=cupy: the 'cupy' backend")
    assert missing in last and "unset MINIGRAD_BACKEND" in last


@pytest.mark.parametrize("args,env", [(["--backend", "cupy"], {}), ([], {"MINIGRAD_BACKEND": "cupy"})])
def test_gradcheck_cli_without_cupy_prints_one_line_and_no_traceback(args, env):
    code = WITHOUT_CUPY + f"import sys; from minigrad.gradcheck.__main__ import main; sys.exit(main({args!r}))"
    out = run_python(code, **env)
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr
    assert out.stderr.startswith("python -m minigrad.gradcheck: ") and "pip install" in out.stderr


def test_gradcheck_cli_checks_on_the_environment_backend():
    out = run_python("import sys; from minigrad.gradcheck.__main__ import main; sys.exit(main(['--op', 'exp']))",
                     MINIGRAD_BACKEND="numpy")
    assert out.returncode == 0 and "(numpy backend, float64)" in out.stdout


def test_import_is_fast_and_compiles_nothing():
    code = ("import time, sys; t = time.perf_counter(); import minigrad; "
            "print(time.perf_counter() - t); print('numba' in sys.modules)")
    out = run_python(code)
    seconds, numba_loaded = out.stdout.split()
    assert float(seconds) < 1.0
    assert numba_loaded == "False"


def test_use_backend_restores_the_previous_backend():
    before = mg.current_backend().name
    with mg.use_backend("numpy"):
        assert mg.current_backend().name == "numpy"
    assert mg.current_backend().name == before


def test_tensors_created_follow_the_backend_fixture(backend):
    t = mg.zeros(2, 3)
    assert t.backend == backend
    assert mg.tensor([1.0]).backend == backend


def test_to_moves_between_backends_and_keeps_values(backend):
    x = mg.tensor(np.arange(4.0), requires_grad=True)
    y = x.to("numpy")
    assert y.backend == "numpy" and y.requires_grad
    np.testing.assert_array_equal(y.numpy(), np.arange(4.0))


@pytest.mark.skipif(CUPY_MISSING is not None, reason=str(CUPY_MISSING))
def test_mixing_backends_in_one_op_names_both():
    a = mg.tensor([1.0]).to("numpy")
    b = mg.tensor([1.0]).to("cupy")
    with pytest.raises(RuntimeError, match="different backends \\(numpy .* and cupy"):
        a + b


@pytest.mark.skipif(CUPY_MISSING is not None, reason=str(CUPY_MISSING))
def test_gradients_flow_through_cupy(rng):
    with mg.use_backend("cupy"):
        x = mg.tensor(rng.standard_normal((3, 4)), requires_grad=True)
        (x.exp() * x).sum().backward()
        assert x.grad.backend == "cupy"
        xn = x.numpy()
        np.testing.assert_allclose(x.grad.numpy(), np.exp(xn) * (1 + xn), rtol=1e-6)


def test_cli_gradcheck_and_catalog_run():
    out = subprocess.run([sys.executable, "-m", "minigrad.gradcheck", "--op", "exp", "matmul"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "2 passed, 0 failed" in out.stdout
    out = subprocess.run([sys.executable, "-m", "minigrad.gradcheck", "--op", "nonexistent"],
                         capture_output=True, text=True)
    assert out.returncode == 2
    out = subprocess.run([sys.executable, "-m", "minigrad.catalog", "--json"], capture_output=True, text=True)
    import json
    names = {row["name"] for row in json.loads(out.stdout)}
    for name in ("add", "sub", "mul", "div", "neg", "pow", "exp", "log", "log1p", "expm1", "sqrt",
                 "rsqrt", "abs", "maximum", "minimum", "clip", "where", "sin", "cos", "tanh",
                 "sigmoid", "erf", "sum", "mean", "var", "std", "max", "min", "logsumexp", "matmul",
                 "einsum", "reshape", "transpose", "permute", "broadcast_to", "squeeze", "unsqueeze",
                 "flatten", "concatenate", "stack", "split", "pad", "flip", "roll", "getitem",
                 "take_along_axis", "index_select", "masked_fill", "dropout"):
        assert name in names, name
