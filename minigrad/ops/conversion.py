"""Devices and the Tensor conversion methods PyTorch users type: ``x.to(...)``, ``x.float()``,
``x.double()``, ``x.half()``, ``x.long()``, ``x.int()``, ``x.short()``, ``x.bool()``,
``x.byte()``, ``x.type_as(y)``, ``x.type(dtype)``, ``x.cpu()``, ``x.cuda()``, ``x.device``,
``x.is_cuda``. They are installed on ``Tensor`` from here (``install()`` at import).

A device names a backend: ``'cpu'`` is the NumPy backend, ``'cuda'`` / ``'cuda:0'`` the CuPy
backend (one GPU). minigrad's own backend names ``'numpy'`` / ``'cupy'`` are accepted too.

Gradients: a conversion between floating dtypes is the differentiable op ``Cast``
(``minigrad.ops.elementwise.cast``): y = x in the new precision, dL/dx = dL/dy converted
back to x's dtype. A conversion to an integer or bool dtype gives a constant (no gradient,
as in PyTorch). A move to another backend is not recorded on the tape (the engine runs each
op on one backend): a leaf that requires grad gives a new leaf that requires grad on the
target backend; a non-leaf that requires grad is refused with a clear error rather than
silently cut from the graph (PyTorch records the copy; move the leaves or the model first).
"""
import numbers

import numpy

from minigrad.backends import BackendError, backend_of_array, get_backend
from minigrad.dtypes import as_dtype
from minigrad.tensor import Tensor

_DEVICE_OF_BACKEND = {"numpy": "cpu", "cupy": "cuda"}
_BACKEND_OF_DEVICE = {"cpu": "numpy", "cuda": "cupy"}


class device:
    """A device, as ``torch.device``: ``device('cpu')``, ``device('cuda')``,
    ``device('cuda:0')``, ``device('cuda', 0)``. ``'cpu'`` is the NumPy backend, ``'cuda'``
    the CuPy one. It compares equal to another device and to the strings that name it
    (``x.device == 'cpu'``; ``device('cuda:0') == 'cuda'`` too, since minigrad drives one
    GPU — a deviation from PyTorch, where ``device('cuda:0') != device('cuda')``).
    ``device('cuda:1')`` is refused: minigrad uses one GPU."""

    __slots__ = ("type", "index")

    def __init__(self, type, index=None):
        if isinstance(type, device):
            type, index = type.type, type.index if index is None else index
        if not isinstance(type, str):
            raise TypeError(f"device: expected a string such as 'cpu' or 'cuda:0', got {type!r}")
        name = type.strip().lower()
        if ":" in name:
            name, _, number = name.partition(":")
            if index is not None:
                raise ValueError(f"device: {type!r} already has an index; do not also pass {index}")
            try:
                index = int(number)
            except ValueError:
                raise ValueError(f"device: bad device string {type!r}") from None
        name = _DEVICE_OF_BACKEND.get(name, name)
        if name not in _BACKEND_OF_DEVICE:
            raise BackendError(f"unknown device {type!r} (unknown backend): expected 'cpu', "
                               f"'cuda', 'cuda:0', or the backend names 'numpy', 'cupy'")
        if name == "cuda":
            index = 0 if index is None else index
            if index != 0:
                raise BackendError(f"device {type!r}: minigrad uses one GPU, 'cuda:0'")
        elif index not in (None, 0):
            raise ValueError(f"device: the cpu has no index {index}")
        self.type, self.index = name, (0 if name == "cuda" else None)

    @property
    def backend(self):
        """The minigrad backend name of this device ('numpy' or 'cupy')."""
        return _BACKEND_OF_DEVICE[self.type]

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self):
        return (f"device(type='{self.type}')" if self.index is None
                else f"device(type='{self.type}', index={self.index})")

    def __eq__(self, other):
        if isinstance(other, str):
            try:
                other = device(other)
            except (BackendError, ValueError):
                return False
        if isinstance(other, device):
            return self.type == other.type
        return NotImplemented

    def __hash__(self):
        return hash(self.type)


def _is_device_like(x):
    if isinstance(x, device):
        return True
    if isinstance(x, str):
        name = x.strip().lower().partition(":")[0]
        return name in _BACKEND_OF_DEVICE or name in _DEVICE_OF_BACKEND
    return False


def backend_for_device(dev, op="to"):
    """The backend module that ``dev`` (a ``device``, 'cpu', 'cuda', 'cuda:0', 'numpy',
    'cupy', or an int GPU index) names. 'cuda' without CuPy or a GPU raises a
    ``BackendError`` that says why and names ``op``."""
    if _is_gpu_index(dev):
        dev = device("cuda", int(dev))
    if not isinstance(dev, device):
        if not isinstance(dev, str):
            raise TypeError(f"{op}: expected a device ('cpu', 'cuda', 'cuda:0'), got {dev!r}")
        dev = device(dev)
    try:
        return get_backend(dev.backend)
    except BackendError as err:
        raise BackendError(f"{op}: device '{dev}' is the CuPy backend, which cannot run "
                           f"here: {err}") from None


def tensor_device(self):
    """The device this tensor lives on: ``device('cpu')`` for the NumPy backend,
    ``device('cuda', 0)`` for CuPy. Compares equal to 'cpu' / 'cuda' / 'cuda:0'."""
    return device(_DEVICE_OF_BACKEND[backend_of_array(self.data).name])


def is_cuda(self):
    """True when this tensor lives on the GPU (the CuPy backend)."""
    return backend_of_array(self.data).name == "cupy"


def move(t, target):
    """``t`` on the backend module ``target`` (not recorded on the tape; see the module
    docstring); the same tensor when it is already there."""
    if backend_of_array(t.data) is target:
        return t
    if t.requires_grad and not t.is_leaf:
        from minigrad.autograd import is_grad_enabled
        if is_grad_enabled():
            raise RuntimeError(
                f"to: moving a tensor of shape {tuple(t.shape)} that is the result of ops "
                f"recorded for backward from {backend_of_array(t.data).name} to {target.name} "
                "would cut it from the graph (minigrad records ops on one backend); move the "
                "inputs or the model first (model.to(device)), or .detach() it")
    out = Tensor._wrap(target.asarray(t.data))
    out.requires_grad = t.requires_grad and t.is_leaf
    return out


def convert_array(array, dtype=None, target=None):
    """``array`` as ``dtype`` (None: keep) on the backend module ``target`` (None: stay)."""
    if target is not None:
        array = target.asarray(array)
    return array if dtype is None else array.astype(dtype)


def _copy(t):
    from minigrad.ops.elementwise import cast
    return cast(t, t.dtype, copy=True)


def convert_dtype(t, dtype):
    """``t`` in ``dtype``: the differentiable ``Cast`` between floating dtypes, a constant
    to integer / bool dtypes; ``t`` itself when it already has ``dtype``."""
    from minigrad.ops.elementwise import cast
    if t.dtype == dtype:
        return t
    if dtype.kind not in "fc":
        return Tensor._wrap(t.data.astype(dtype))
    return cast(t, dtype)


_TO_KEYWORDS = ("device", "dtype", "non_blocking", "copy", "memory_format")


def to(self, *args, **kwargs):
    """This tensor converted to a dtype and/or moved to a device, as ``torch.Tensor.to``:

    ``x.to(dtype)``, ``x.to('cpu' | 'cuda' | 'cuda:0' | device)``, ``x.to(device, dtype)``,
    ``x.to(other_tensor)`` (its dtype and device), ``x.to(dtype=..., device=...)``,
    with ``non_blocking=False`` (ignored), ``copy=False``.

    y = x in the new dtype / on the new device. Backward: between floating dtypes the
    Function ``Cast`` (the gradient converted back to x's dtype); to an integer or bool dtype
    y is a constant. Returns ``self`` when nothing changes (as PyTorch), unless ``copy=True``.
    Dtypes may also be given by name (``'float64'``) and devices by backend name
    (``'numpy'``, ``'cupy'``). Deviation: a move between backends is not recorded on the tape
    (a leaf gives a new leaf; a recorded non-leaf is refused), see ``minigrad.ops.conversion``.
    """
    target, dtype, copy = parse_to_args("to", args, kwargs)
    out = self
    if target is not None:                   # move first: a leaf moves as a leaf, then casts
        out = move(out, target)
    if dtype is not None:
        out = convert_dtype(out, dtype)
    return _copy(out) if copy and out is self else out


def parse_to_args(op, args, kwargs):
    """PyTorch's three forms of ``to``: ``(dtype, non_blocking, copy)``, ``(device=None,
    dtype=None, non_blocking, copy)``, ``(tensor, non_blocking, copy)``, plus keywords.
    Returns ``(backend module or None, NumPy dtype or None, copy)``."""
    unknown = set(kwargs) - set(_TO_KEYWORDS)
    if unknown:
        raise TypeError(f"{op}: unexpected keyword {sorted(unknown)[0]!r}; accepted: "
                        + ", ".join(_TO_KEYWORDS))
    dev, dtype = kwargs.get("device"), kwargs.get("dtype")
    rest = list(args)
    if rest and isinstance(rest[0], Tensor):                  # to(other, non_blocking, copy)
        other = rest.pop(0)
        dev, dtype = backend_of_array(other.data), other.dtype
    elif rest and (rest[0] is None or _is_device_like(rest[0]) or _is_gpu_index(rest[0])):
        dev = rest.pop(0)                                     # to(device, dtype, non_blocking, copy)
        if rest and not isinstance(rest[0], bool):
            dtype = rest.pop(0)
    elif rest:                                                # to(dtype, non_blocking, copy)
        dtype = _dtype_or_error(rest.pop(0), op)
    if len(rest) > 2 or not all(isinstance(r, bool) for r in rest):
        raise TypeError(f"{op}: expected (dtype | device | tensor, [dtype,] non_blocking, copy), "
                        f"got {args!r}")
    copy = rest[1] if len(rest) == 2 else kwargs.get("copy", False)
    if dev is not None and isinstance(dev, (str, device, numbers.Integral)):
        dev = backend_for_device(dev, op)
    return dev, as_dtype(dtype, op), copy


def _is_gpu_index(x):
    return isinstance(x, numbers.Integral) and not isinstance(x, bool)


def _dtype_or_error(a, op):
    try:
        return as_dtype(a, op)
    except TypeError:
        raise BackendError(f"{op}: {a!r} is neither a dtype nor a device (unknown backend): devices "
                           f"are 'cpu', 'cuda', 'cuda:0' (or the backend names 'numpy', 'cupy'), "
                           f"dtypes minigrad.float32, 'float64', ...") from None


def cpu(self):
    """This tensor on the CPU (the NumPy backend); itself if it is already there.
    y = x; see ``Tensor.to`` for gradients across backends."""
    return move(self, get_backend("numpy"))


def cuda(self, device=None, non_blocking=False):
    """This tensor on the GPU (the CuPy backend; ``device`` may be None, 0, 'cuda' or
    'cuda:0'); itself if it is already there. A clear ``BackendError`` when CuPy or a GPU is
    missing. y = x; see ``Tensor.to`` for gradients across backends."""
    return move(self, backend_for_device("cuda" if device is None else device, "cuda"))


def _caster(name, dtype):
    def method(self, memory_format=None):
        return convert_dtype(self, dtype)
    method.__name__ = name
    method.__doc__ = (f"``self.to({dtype.name})``: y = x as {dtype.name}. Backward: "
                      + ("the Function Cast (the gradient converted back to x's dtype)."
                         if dtype.kind in "fc" else "none (an integer/bool result is a constant).")
                      + " Returns self when the dtype already matches, as PyTorch.")
    return method


def type_as(self, other):
    """``self.to(other.dtype)`` (the dtype only, as ``torch.Tensor.type_as``); backward as
    ``Tensor.to``."""
    return convert_dtype(self, other.dtype)


_TYPE_NAMES = {"float32": "FloatTensor", "float64": "DoubleTensor", "float16": "HalfTensor",
               "int64": "LongTensor", "int32": "IntTensor", "int16": "ShortTensor",
               "int8": "CharTensor", "uint8": "ByteTensor", "bool": "BoolTensor",
               "complex64": "ComplexFloatTensor", "complex128": "ComplexDoubleTensor"}


def type_(self, dtype=None, non_blocking=False):
    """``x.type()``: the type name, PyTorch's style (``'minigrad.FloatTensor'``, with a
    ``cuda.`` prefix on the GPU); ``x.type(dtype)``: ``x.to(dtype)`` (a dtype, a dtype name,
    or a type name such as ``'minigrad.DoubleTensor'`` / ``'torch.DoubleTensor'``)."""
    if dtype is None:
        where = "cuda." if is_cuda(self) else ""
        return f"minigrad.{where}{_TYPE_NAMES.get(self.dtype.name, self.dtype.name)}"
    if isinstance(dtype, str) and dtype.endswith("Tensor"):
        wanted = dtype.rpartition(".")[2]
        names = {v: k for k, v in _TYPE_NAMES.items()}
        if wanted not in names:
            raise TypeError(f"type: unknown type name {dtype!r}; known: "
                            + ", ".join(sorted(names)))
        out = convert_dtype(self, numpy.dtype(names[wanted]))
        return cuda(out) if ".cuda." in dtype else out
    return convert_dtype(self, as_dtype(dtype, "type"))


def install():
    """Put the conversion methods and properties on ``Tensor``."""
    Tensor.to = to
    Tensor.cpu = cpu
    Tensor.cuda = cuda
    Tensor.type_as = type_as
    Tensor.type = type_
    Tensor.device = property(tensor_device)
    Tensor.is_cuda = property(is_cuda)
    for name, dtype in (("float", "float32"), ("double", "float64"), ("half", "float16"),
                        ("long", "int64"), ("int", "int32"), ("short", "int16"),
                        ("bool", "bool"), ("byte", "uint8"), ("char", "int8"),
                        ("cfloat", "complex64"), ("cdouble", "complex128")):
        setattr(Tensor, name, _caster(name, numpy.dtype(dtype)))


install()
