"""minigrad: a small, readable autodiff engine for deep learning on NumPy (CPU,
Numba-jitted hot loops) and CuPy (GPU), where every op has a hand-derived
backward proven by finite differences.

    import minigrad as mg
    x = mg.tensor([[1.0, 2.0]], requires_grad=True)
    y = (x * x).sum()
    y.backward()          # x.grad == 2x
"""
from minigrad.autograd import (Function, enable_grad, grad, inference_mode, is_grad_enabled,  # noqa: F401
                               no_grad, set_debug, set_grad_enabled)
from minigrad.backends import (BackendError, available_backends, current as current_backend,  # noqa: F401
                               set_backend, use_backend)
from minigrad.tensor import Size, Tensor, as_tensor, from_numpy, tensor  # noqa: F401
from minigrad import ops  # noqa: F401  (defines and registers the primitives)
from minigrad.ops import tensor_methods  # noqa: F401
from minigrad.ops.random import Generator, HostGenerator, manual_seed  # noqa: F401
from minigrad.gradcheck import gradcheck, gradgradcheck  # noqa: F401
from minigrad.ops.conversion import device  # noqa: F401  (also installs x.to(), x.float(), ...)
from minigrad.dtypes import get_default_dtype, set_default_dtype  # noqa: F401
from minigrad.creation import (arange, empty, empty_like, eye, full, full_like, linspace,  # noqa: F401
                               logspace, ones, ones_like, rand, rand_like, randint, randn,
                               randn_like, randperm, zeros, zeros_like)
from minigrad import data, functional, layers  # noqa: F401
from minigrad.layers.module import Module, Parameter  # noqa: F401
from minigrad import func, optim, training  # noqa: F401
from minigrad import fft  # noqa: F401
from minigrad import sparse  # noqa: F401
from minigrad import linalg  # noqa: F401
from minigrad import geometry  # noqa: F401
from minigrad.ops import sorting  # noqa: F401
from minigrad import special  # noqa: F401
from minigrad import viz  # noqa: F401  (minigrad.viz.draw: the tape as Graphviz DOT)
from minigrad.backends.host_memory import keep_freed_memory  # noqa: F401
from minigrad.backends.host_memory import apply_environment as _host_memory_from_environment
from minigrad.serialization import load, save  # noqa: F401
from minigrad.functional import *  # noqa: F401,F403  (mg.exp, mg.sum, mg.cat, ... as in torch)
from minigrad.dtypes import (float32, float64, float16, complex64, complex128,  # noqa: F401,E402
                             int64, int32, int16, int8, uint8, bool_ as bool)
# PyTorch's dtype aliases; last, so nothing above sees builtins float/int/bool shadowed.
float, double, half, long, int, short, cfloat, cdouble = (  # noqa: A001
    float32, float64, float16, int64, int32, int16, complex64, complex128)

F = functional
nn = layers
__version__ = "0.1.0"


def _pytorch_import_paths():
    """PyTorch's import lines work with ``torch`` replaced by ``minigrad``: ``import
    minigrad.nn as nn``, ``import minigrad.nn.functional as F``, ``from minigrad.nn import
    init``, ``from minigrad.utils.data import DataLoader``. Each path names the module object
    that already exists (``minigrad.layers``, ``minigrad.functional``, ``minigrad.data``),
    never a second copy of it."""
    import sys
    import types
    for name, module in list(sys.modules.items()):
        if name == "minigrad.layers" or name.startswith("minigrad.layers."):
            sys.modules["minigrad.nn" + name[len("minigrad.layers"):]] = module
    layers.functional = functional
    sys.modules["minigrad.nn.functional"] = functional
    utils = types.ModuleType("minigrad.utils", "PyTorch's ``torch.utils`` path: ``minigrad.utils.data`` "
                                               "is ``minigrad.data``.")
    utils.data = data
    sys.modules["minigrad.utils"] = utils
    sys.modules["minigrad.utils.data"] = data
    return utils


utils = _pytorch_import_paths()
_host_memory_from_environment()
# ``from minigrad import *`` never shadows a Python builtin (float, int, bool, sum, max...):
# use ``minigrad.float32``, ``minigrad.sum`` for those.
import builtins as _builtins  # noqa: E402
__all__ = sorted(name for name in dir() if not name.startswith("_")
                 and not hasattr(_builtins, name))
del _builtins

