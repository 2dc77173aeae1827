"""Array backends: which array library (NumPy or CuPy) tensors live on.

A backend knows arrays and kernels, never autograd. The active backend is chosen
at import by ``MINIGRAD_BACKEND=numpy|cupy`` (default ``numpy``) and changed with
``set_backend(name)`` or, for a block of code, ``with use_backend(name): ...``.
The active backend only decides where *new* tensors are created; an op always
runs on the backend of its inputs.
"""
import contextlib
import importlib
import os

BACKEND_NAMES = ("numpy", "cupy")
_MODULES = {"numpy": "minigrad.backends.numpy_backend",
            "cupy": "minigrad.backends.cupy_backend"}
_loaded = {}


class BackendError(RuntimeError):
    """A backend was named that does not exist or cannot run on this machine."""


def get_backend(name):
    """Return the backend module called ``name`` (``'numpy'`` or ``'cupy'``)."""
    if name not in _MODULES:
        raise BackendError(f"unknown backend {name!r}; valid backends are: "
                           + ", ".join(BACKEND_NAMES))
    if name not in _loaded:
        module = importlib.import_module(_MODULES[name])
        module.check_available()
        _loaded[name] = module
    return _loaded[name]


def available_backends():
    """Names of the backends that can run here (CuPy needs the package and a GPU)."""
    names = []
    for name in BACKEND_NAMES:
        try:
            get_backend(name)
        except BackendError:
            continue
        names.append(name)
    return names


def backend_unavailable_reason(name):
    """Why ``name`` cannot run here, or ``None`` when it can."""
    try:
        get_backend(name)
    except BackendError as err:
        return str(err)
    return None


_current = None


def current():
    """The active backend module (where new tensors are created)."""
    global _current
    if _current is None:
        _current = get_backend_from_environment()
    return _current


def get_backend_from_environment():
    """The backend ``MINIGRAD_BACKEND`` names (``numpy`` when unset); a ``BackendError``
    whose one-line message names the variable when that backend cannot run here."""
    name = os.environ.get("MINIGRAD_BACKEND", "").strip().lower() or "numpy"
    try:
        return get_backend(name)
    except BackendError as err:
        raise BackendError(f"MINIGRAD_BACKEND={name}: {err} (or unset MINIGRAD_BACKEND to "
                           "run on the CPU with NumPy)") from None


def set_backend(name):
    """Make ``name`` the active backend for tensors created from now on."""
    global _current
    _current = get_backend(name)
    return _current


@contextlib.contextmanager
def use_backend(name):
    """``with use_backend('cupy'): ...`` creates tensors on CuPy inside the block."""
    global _current
    previous = current()
    _current = get_backend(name)
    try:
        yield _current
    finally:
        _current = previous


_backend_by_type = {}


def backend_of_array(array):
    """The backend module an array belongs to (NumPy for anything that is not CuPy)."""
    kind = type(array)
    backend = _backend_by_type.get(kind)
    if backend is None:
        backend = get_backend("cupy" if kind.__module__.startswith("cupy") else "numpy")
        _backend_by_type[kind] = backend
    return backend


def to_numpy(array):
    """``array`` (NumPy or CuPy, or a Tensor's ``.data``) as a NumPy array on the host."""
    return backend_of_array(array).to_numpy(array)
