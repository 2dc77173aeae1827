"""Array kernels, one family per file and three files per family:

    <family>_ref.py     the plain ``xp`` version: readable, works on any backend, the test oracle
    <family>_numba.py   the CPU version (Numba, compiled lazily with ``cache=True``)
    <family>_cupy.py    the GPU version (CuPy ElementwiseKernel/RawKernel)

The fast files define the same functions with the same signatures as the ``_ref``
file (a fast file may re-export a ``_ref`` function where that is already fast).
Ops reach them through ``ctx.backend.kernels("<family>")`` (``fast`` below); no autograd
lives here.

float16: Numba has no half-precision arithmetic and the CUDA kernels accumulate in the
input's type, so a fast kernel called with float16 arrays runs in float32 (its float16
arguments upcast, ``out=`` included) and its float32 results come back as float16.
"""
import functools
import importlib
import types

import numpy

_HALF = numpy.dtype(numpy.float16)
_fast = {}


def load(family, flavour):
    """The kernel module ``<family>_<flavour>`` ('ref', 'numba' or 'cupy')."""
    return importlib.import_module(f"minigrad.backends.kernels.{family}_{flavour}")


def fast(family, flavour):
    """The public functions of ``load(family, flavour)``, each taking float16 through float32."""
    key = (family, flavour)
    if key not in _fast:
        module = load(family, flavour)
        space = types.SimpleNamespace()
        for name in dir(module):
            value = getattr(module, name)
            if not name.startswith("_") and callable(value) and not isinstance(value, type):
                value = _through_float32(value)
            setattr(space, name, value)
        _fast[key] = space
    return _fast[key]


def _is_half(a):
    if isinstance(a, (numpy.dtype, type)):
        return a is numpy.float16 or a == _HALF
    return getattr(a, "dtype", None) == _HALF


def _up(a):
    if not _is_half(a):
        return a
    return numpy.float32 if isinstance(a, (numpy.dtype, type)) else a.astype(numpy.float32)


def _down(a):
    if isinstance(a, tuple):
        return tuple(_down(v) for v in a)
    return a.astype(_HALF) if getattr(a, "dtype", None) == numpy.float32 else a


def _through_float32(kernel):
    @functools.wraps(kernel)
    def run(*args, **kwargs):
        if not any(map(_is_half, args)) and not any(map(_is_half, kwargs.values())):
            return kernel(*args, **kwargs)
        out = kwargs.get("out")
        kwargs = {k: _up(v) for k, v in kwargs.items()}
        result = kernel(*map(_up, args), **kwargs)
        if _is_half(out):                   # the kernel wrote a float32 copy of ``out``
            out[...] = kwargs["out"]
            return out
        return _down(result)
    return run
