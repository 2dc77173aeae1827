"""minigrad: a small, readable autodiff engine for deep learning on NumPy (CPU,
Numba-jitted hot loops) and CuPy (GPU), where every op has a hand-derived
backward proven by finite differences.

    import minigrad as mg
    x = mg.tensor([[1.0, 2.0]], requires_grad=True)
    y = (x * x).sum()
    y.backward()          # x.grad == 2x
"""
from minigrad.autograd import Function, enable_grad, grad, is_grad_enabled, no_grad, set_debug  # noqa: F401
from minigrad.backends import (BackendError, available_backends, current as current_backend,  # noqa: F401
                               set_backend, use_backend)
from minigrad.tensor import Tensor, as_tensor, from_numpy, tensor  # noqa: F401
from minigrad import ops  # noqa: F401  (defines and registers the primitives)
from minigrad.ops import tensor_methods  # noqa: F401
from minigrad.ops.random import HostGenerator, manual_seed  # noqa: F401
from minigrad.gradcheck import gradcheck, gradgradcheck  # noqa: F401
from minigrad.creation import arange, empty, full, ones, ones_like, rand, randn, zeros, zeros_like  # noqa: F401
from minigrad import data, functional, layers  # noqa: F401
from minigrad.layers.module import Module, Parameter  # noqa: F401
from minigrad import func, optim, training  # noqa: F401
from minigrad import fft  # noqa: F401
from minigrad import sparse  # noqa: F401
from minigrad import linalg  # noqa: F401
from minigrad.ops import sorting  # noqa: F401
from minigrad import special  # noqa: F401
from minigrad.serialization import load, save  # noqa: F401
from minigrad.functional import *  # noqa: F401,F403  (mg.exp, mg.sum, mg.cat, ... as in torch)

F = functional
nn = layers
__version__ = "0.1.0"

