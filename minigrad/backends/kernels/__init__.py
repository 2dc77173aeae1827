"""Array kernels, one family per file and three files per family:

    <family>_ref.py     the plain ``xp`` version: readable, works on any backend, the test oracle
    <family>_numba.py   the CPU version (Numba, compiled lazily with ``cache=True``)
    <family>_cupy.py    the GPU version (CuPy ElementwiseKernel/RawKernel)

The fast files define the same functions with the same signatures as the ``_ref``
file (a fast file may re-export a ``_ref`` function where that is already fast).
Ops reach them through ``ctx.backend.kernels("<family>")``; no autograd lives here.
"""
import importlib


def load(family, flavour):
    """The kernel module ``<family>_<flavour>`` ('ref', 'numba' or 'cupy')."""
    return importlib.import_module(f"minigrad.backends.kernels.{family}_{flavour}")
