"""Tensor: a backend array plus what autograd needs to send a gradient back to it."""
import numpy

from minigrad import autograd, dtypes
from minigrad.backends import backend_of_array, current, get_backend


class Tensor:
    """An n-dimensional array on the NumPy or CuPy backend that records the ops
    applied to it, so that ``backward()`` can compute gradients.

    ``Tensor(data, requires_grad=False, dtype=None)`` puts host data (Python
    numbers, lists, NumPy arrays) on the current backend; a CuPy array stays on
    the GPU. An array is copied, as ``torch.tensor`` does, so changing it later leaves the
    tensor alone (``minigrad.from_numpy`` / ``as_tensor`` share memory instead); a Tensor
    given as ``data`` is shared, not copied (``Parameter(t)`` trains ``t``'s memory). Python floats and float lists
    become float32 (the default floating dtype), Python ints become int64.
    In-place methods (``add_``, ``zero_``, ``x[i] = v``, ...) are not recorded on the
    tape: they are for tensors that need no gradient and for parameter updates
    under ``no_grad()``, and each one bumps a version counter so that a backward
    that needed the old values fails loudly instead of returning a wrong gradient.
    Sizes follow PyTorch: ``x.size()`` is the shape and ``x.size(0)`` the length of a
    dimension; NumPy's element count ``array.size`` is ``x.numel()`` (``x.dim()`` = ``x.ndim``).
    """

    __slots__ = ("data", "grad", "requires_grad", "_node", "_version_box", "__weakref__",
                 "__dict__")
    __array_priority__ = 1000  # numpy_array + tensor calls Tensor.__radd__
    # rarely set (hooks, retain_grad, the later outputs of a multi-output op): class-level
    # defaults, so that the millions of tensors an op makes need not set them
    _out_index = 0
    _hooks = ()                    # a list once a hook is registered
    _retains_grad = False

    def __init__(self, data, requires_grad=False, dtype=None):
        source = data if isinstance(data, Tensor) else None
        if source is not None:
            data = data.data
        elif isinstance(data, (list, tuple)) and _holds_tensors(data):
            data = _host_values(data)        # tensor([t1, t2]) of 0-d tensors, as PyTorch
        backend = get_backend("cupy") if _is_device_array(data) else current()
        if dtype is None and not _is_array(data):
            dtype = _default_dtype(data)
        if source is not None and (dtype is None or source.dtype == dtype):
            array = source.data
        else:
            array = backend.asarray(data, dtype=dtype)
            if source is None and _shares_memory(array, data):
                array = array.copy()
        self._init(array, requires_grad)
        if source is not None and array is source.data:     # same memory, same version counter
            self._version_box = source._shared_version_box()
        if requires_grad and array.dtype.kind not in "fc":
            raise TypeError(f"only floating-point tensors can require gradients, got {array.dtype}")

    def _init(self, array, requires_grad=False):
        self.data = array
        self.grad = None
        self.requires_grad = requires_grad
        self._node = None
        self._version_box = None   # made on first need; shared by tensors sharing memory

    @classmethod
    def _wrap(cls, array):
        """Wrap a backend array without a copy or a conversion (used by ops; ``_init``
        written out, as this runs for every op's output)."""
        t = cls.__new__(cls)
        t.data = array
        t.grad = None
        t.requires_grad = False
        t._node = None
        t._version_box = None
        return t

    # ----------------------------------------------------------------- properties
    shape = property(lambda self: self.data.shape)
    dtype = property(lambda self: self.data.dtype)
    ndim = property(lambda self: self.data.ndim)

    def size(self, dim=None):
        """PyTorch's ``size``: ``x.size()`` is the shape (a ``Size``, a tuple), ``x.size(d)``
        the length of dimension ``d`` (an int; negative counts from the end; out of range
        raises IndexError). NumPy's ``array.size`` (the element count) is ``x.numel()``."""
        if dim is None:
            return Size(self.data.shape)
        nd = self.data.ndim
        if isinstance(dim, bool) or not isinstance(dim, int) or not -max(nd, 1) <= dim < max(nd, 1) \
                or nd == 0:
            raise IndexError(f"size: dim {dim!r} is out of range for a tensor of shape "
                             f"{tuple(self.data.shape)} (valid dims are [{-nd}, {nd - 1}])")
        return self.data.shape[dim]

    def numel(self):
        """The number of elements, Π shape (NumPy's ``array.size``)."""
        return self.data.size

    def dim(self):
        """The number of dimensions (``ndim``), as ``torch.Tensor.dim``."""
        return self.data.ndim

    ndimension = dim

    # ------------------------------------------------------------ version counter
    @property
    def _version(self):
        """How many in-place changes this tensor's memory has seen (through this tensor,
        its views, its detached aliases or its base): backward compares it with the
        version an op saved, and refuses to use changed values."""
        return 0 if self._version_box is None else self._version_box.value

    @_version.setter
    def _version(self, value):
        self._shared_version_box().value = value

    def _shared_version_box(self):
        if self._version_box is None:
            self._version_box = _VersionCounter()
        return self._version_box

    @property
    def backend(self):
        """Name of the backend this tensor's array lives on."""
        return backend_of_array(self.data).name

    @property
    def is_leaf(self):
        return self._node is None

    @property
    def grad_fn(self):
        """The recorded op that produced this tensor (``autograd.BackwardNode``: ``.name()``
        such as ``'MulBackward'``, ``.next_functions`` to walk the graph), or None for a
        leaf or a tensor made under ``no_grad()``. It compares equal to the Function's name
        (``y.grad_fn == 'Mul'``)."""
        return None if self._node is None else autograd.grad_fn_of(self._node)

    @property
    def T(self):
        return self.transpose()

    def __len__(self):
        return len(self.data)

    def __repr__(self):
        """PyTorch's print: ``tensor([[1., 2.]], requires_grad=True)``, ``tensor(3.5000)``,
        ``grad_fn=<MulBackward>``, the dtype when it is not float32/int64/bool/complex64, the
        device when it is not the CPU (``device='cuda:0'``, the CuPy backend); see
        ``minigrad.viz.format_tensor``."""
        from minigrad.viz import format_tensor
        return format_tensor(self)

    def __array__(self, dtype=None, copy=None):
        """``numpy.asarray(t)``: the values as a NumPy array (for a CuPy tensor, a copy
        brought to the host, as ``t.numpy()``; it waits for the GPU)."""
        array = self.numpy()
        if dtype is not None and array.dtype != dtype:
            return array.astype(dtype)
        return array.copy() if copy else array

    def __and__(self, other):        # boolean masks: not differentiable
        return Tensor._wrap(self.data & self._operand_array(other))

    def __or__(self, other):
        return Tensor._wrap(self.data | self._operand_array(other))

    def __xor__(self, other):
        return Tensor._wrap(self.data ^ self._operand_array(other))

    def __invert__(self):
        return Tensor._wrap(~self.data)

    def __bool__(self):
        return bool(self.data)

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    __hash__ = object.__hash__

    # ------------------------------------------------------------------- autograd
    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None,
                 grad=None):
        """Accumulate d(self)/d(leaf) into ``leaf.grad`` for every leaf that requires it
        (``torch.Tensor.backward``: the vector-Jacobian product gradientᵀ · ∂self/∂leaf).

        ``gradient`` (default None; ``grad=`` is the older minigrad name) is needed unless
        ``self`` has one element (it defaults to ones). ``retain_graph`` (default None =
        False) keeps the saved values for a second backward. ``create_graph=True`` records
        the gradients on the tape (``leaf.grad`` can then be differentiated again); the graph
        is then kept, as with ``retain_graph=True``. ``inputs`` (a tensor or a list of
        tensors, default None = every leaf) accumulates into the ``.grad`` of those tensors
        only (leaves or not), as PyTorch; their hooks are not run in that case."""
        if grad is not None:
            if gradient is not None:
                raise TypeError("backward: give the seed as gradient= (grad= is its old "
                                "name), not both")
            gradient = grad
        grad = gradient
        if not self.requires_grad:
            raise RuntimeError("backward() on a tensor that does not require grad: "
                               "no input of the computation had requires_grad=True "
                               "(or it ran under no_grad())")
        if inputs is not None:
            from minigrad.autograd import grad as autograd_grad
            inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
            if not inputs:
                raise RuntimeError("backward: inputs= was given but is empty")
            grads = autograd_grad([self], inputs, None if grad is None else [grad],
                                  retain_graph=retain_graph, create_graph=create_graph,
                                  allow_unused=True)
            for t, g in zip(inputs, grads):
                if g is None:
                    continue
                if create_graph:
                    t.grad = g if t.grad is None else t.grad + g
                else:
                    t._accumulate_grad(g.data.copy())
            return
        if create_graph:
            from minigrad import double_backward
            seed = (autograd._seed_tensor(self, grad) if isinstance(grad, Tensor)
                    else Tensor._wrap(autograd._seed_gradient(self, grad)))
            double_backward.run_backward([self], [seed])
            return
        autograd.run_backward([self], [autograd._seed_gradient(self, grad)],
                              retain_graph=bool(retain_graph))

    def requires_grad_(self, requires_grad=True):
        if requires_grad and self.dtype.kind not in "fc":
            raise TypeError(f"only floating-point tensors can require gradients, got {self.dtype}")
        if not self.is_leaf and not requires_grad:
            raise RuntimeError("requires_grad_(False) on a non-leaf tensor; use .detach()")
        self.requires_grad = requires_grad
        return self

    def detach(self):
        """The same values, cut from the tape (shares the array and its version counter:
        an in-place change of the detached tensor is seen by the graph that used this one)."""
        out = Tensor._wrap(self.data)
        out._version_box = self._shared_version_box()
        return out

    def retain_grad(self):
        """Keep ``.grad`` on this non-leaf tensor after backward."""
        if self._node is not None:
            self._retains_grad = True
        return self

    def register_hook(self, hook):
        """Call ``hook(grad)`` when this tensor's gradient is computed; a returned
        tensor replaces the gradient. Returns a handle with ``remove()``."""
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that does not require grad")
        if not self._hooks:
            self._hooks = []
        self._hooks.append(hook)
        return _HookHandle(self._hooks, hook)

    def _accumulate_grad(self, g):
        """Add ``g`` into ``.grad``; the caller guarantees ``g`` is not shared."""
        if self.grad is None:
            self.grad = Tensor._wrap(g)
        else:
            self.grad.data += g

    def zero_grad(self):
        self.grad = None

    # --------------------------------------------------------------- conversions
    def item(self):
        if self.data.size != 1:
            raise ValueError(f"item() needs a tensor with one element, got shape {self.shape}")
        return self.data.item()

    def numpy(self):
        """A NumPy array with the values (copied from the GPU for CuPy tensors)."""
        return backend_of_array(self.data).to_numpy(self.data)

    def tolist(self):
        return self.numpy().tolist()

    # to(), cpu(), cuda(), float(), double(), half(), long(), int(), bool(), type_as(),
    # type(), .device and .is_cuda are installed from minigrad/ops/conversion.py.

    def astype(self, dtype, copy=True):
        """This tensor converted to ``dtype`` (differentiable between floating dtypes);
        ``copy=False`` returns the tensor itself when it already has that dtype (NumPy's)."""
        from minigrad.ops.elementwise import cast
        if not copy and self.dtype == dtype:
            return self
        return cast(self, dtype)

    def clone(self):
        from minigrad.ops.elementwise import cast
        return cast(self, self.dtype, copy=True)

    # ------------------------------------------------------------- in-place ops
    def _check_inplace(self, what):
        if self.requires_grad and autograd.is_grad_enabled():
            kind = "a leaf tensor" if self.is_leaf else "a tensor in the graph"
            raise RuntimeError(f"{what}: in-place change of {kind} that requires grad; "
                               "do it under minigrad.no_grad() or on a detached copy")
        self._version += 1

    def _operand_array(self, other):
        """``other`` as an operand of an in-place op: a Tensor's array, host arrays moved to
        this tensor's backend (a NumPy array can update a CuPy tensor), scalars as they are."""
        if isinstance(other, Tensor):
            if other.requires_grad and autograd.is_grad_enabled():
                raise RuntimeError(
                    f"in-place change of a tensor of shape {tuple(self.shape)} with a value that "
                    "requires grad: in-place ops are not recorded, so that value's gradient "
                    "would be lost; use the out-of-place op (a + b, where, ...) instead")
            other = other.data
        backend = backend_of_array(self.data)
        if _is_array(other) and getattr(other, "ndim", 0) > 0 and backend_of_array(other) is not backend:
            return backend.asarray(other)
        return other

    def add_(self, other, alpha=1):
        self._check_inplace("add_")
        o = self._operand_array(other)
        self.data += o if alpha == 1 else alpha * o
        return self

    def sub_(self, other, alpha=1):
        """x ← x − alpha·other in place (``torch.Tensor.sub_``; not recorded, see the class)."""
        self._check_inplace("sub_")
        o = self._operand_array(other)
        self.data -= o if alpha == 1 else alpha * o
        return self

    def mul_(self, other):
        self._check_inplace("mul_")
        self.data *= self._operand_array(other)
        return self

    def div_(self, other):
        self._check_inplace("div_")
        self.data /= self._operand_array(other)
        return self

    def copy_(self, other):
        self._check_inplace("copy_")
        self.data[...] = self._operand_array(other)
        return self

    def fill_(self, value):
        self._check_inplace("fill_")
        self.data.fill(value)
        return self

    def zero_(self):
        return self.fill_(0)

    def clamp_(self, min=None, max=None):
        self._check_inplace("clamp_")
        backend_of_array(self.data).xp.clip(self.data, min, max, out=self.data)
        return self

    def __setitem__(self, index, value):
        self._check_inplace("__setitem__")
        self.data[_index_array(index, backend_of_array(self.data))] = self._operand_array(value)

    def __iadd__(self, other):
        return self.add_(other)

    def __isub__(self, other):
        return self.sub_(other)

    def __imul__(self, other):
        return self.mul_(other)

    def __itruediv__(self, other):
        return self.div_(other)


class Size(tuple):
    """The shape returned by ``Tensor.size()`` (``torch.Size``): a tuple of ints that also
    has ``numel()`` (the product of its entries)."""
    __slots__ = ()

    def numel(self):
        n = 1
        for s in self:
            n *= s
        return n

    def __repr__(self):
        return f"minigrad.Size({list(self)})"


class _VersionCounter:
    __slots__ = ("value",)

    def __init__(self):
        self.value = 0


class _HookHandle:
    def __init__(self, hooks, hook):
        self._hooks, self._hook = hooks, hook

    def remove(self):
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


def _is_array(x):
    return hasattr(x, "__array_interface__") or hasattr(x, "__cuda_array_interface__")


def _holds_tensors(items):
    return any(isinstance(i, Tensor) or (isinstance(i, (list, tuple)) and _holds_tensors(i))
               for i in items)


def _host_values(items):
    """A nested list with every Tensor replaced by its values on the host (keeping its dtype)."""
    return [i.numpy() if isinstance(i, Tensor) else
            _host_values(i) if isinstance(i, (list, tuple)) else i for i in items]


def _shares_memory(array, data):
    if array is data:
        return True
    return (type(array) is type(data)
            and backend_of_array(array).xp.may_share_memory(array, data))


def _is_device_array(x):
    return type(x).__module__.startswith("cupy")


def _default_dtype(data):
    """The dtype PyTorch gives Python numbers and nested lists of them: the kind NumPy
    infers from all the elements (``[1, 2.5]`` is floating, ``[1.0, 2j]`` complex), at
    PyTorch's default precision: ``minigrad.get_default_dtype()`` (float32 unless changed),
    int64, the matching complex dtype (bool stays bool)."""
    try:
        kind = numpy.asarray(data).dtype.kind
    except (TypeError, ValueError):       # ragged or not numbers: the backend will say why
        return None
    if kind == "f":
        return dtypes.get_default_dtype()
    if kind == "c":
        return dtypes.default_complex_dtype()
    return "int64" if kind in "iu" else None


def _index_array(index, backend):
    """The index as ``backend`` arrays: Tensors unwrapped, and NumPy (host) index arrays
    moved to ``backend`` so that a NumPy index works on a CuPy tensor."""
    def convert(i):
        if isinstance(i, Tensor):
            i = i.data
        if _is_array(i) and getattr(i, "ndim", 0) > 0 and backend_of_array(i) is not backend:
            return backend.asarray(i)
        return i
    if isinstance(index, tuple):
        return tuple(convert(i) for i in index)
    return convert(index)


def tensor(data, requires_grad=False, dtype=None, device=None, pin_memory=False):
    """A new tensor holding a copy of ``data`` (a number, a nested list, a NumPy/CuPy
    array or a Tensor), like ``torch.tensor(data, *, dtype=None, device=None,
    requires_grad=False)``: changing ``data`` afterwards does not change the tensor.
    y = data (a leaf; no backward). Python floats get the default float dtype
    (``minigrad.tensor([1., 2.])`` is float32), Python ints int64. ``device``: None (the
    current backend; a CuPy array stays on the GPU), 'cpu' (NumPy) or 'cuda' (CuPy).
    ``pin_memory`` is accepted and ignored. Deviation: ``requires_grad`` may also be given
    positionally (second), as minigrad always allowed."""
    if isinstance(data, Tensor):
        data = data.data.copy() if dtype is None else data.data.astype(dtype)
    if device is None:
        return Tensor(data, requires_grad=requires_grad, dtype=dtype)
    from minigrad.backends import use_backend
    from minigrad.ops.conversion import backend_for_device
    target = backend_for_device(device, "tensor")
    if _is_array(data) and backend_of_array(data) is not target:
        data = target.asarray(data)
    with use_backend(target.name):
        return Tensor(data, requires_grad=requires_grad, dtype=dtype)


def as_tensor(data, dtype=None, device=None):
    """``data`` as a tensor, sharing its memory where it can (an array already on the
    target backend with the right dtype; a Tensor is returned as it is), like
    ``torch.as_tensor(data, dtype=None, device=None)``. Changing the array then changes the
    tensor. y = data (no backward of its own: a Tensor input is returned, or converted
    with ``Tensor.to``). ``device``: None (the current backend; a CuPy array stays on the
    GPU), 'cpu' or 'cuda'."""
    if device is not None:
        from minigrad.ops.conversion import backend_for_device
        target = backend_for_device(device, "as_tensor")
        if isinstance(data, Tensor):
            return data.to(device=target.name, dtype=dtype)
        if dtype is None and not _is_array(data):
            dtype = _default_dtype(data)
        return Tensor._wrap(target.asarray(data, dtype=dtype))
    if isinstance(data, Tensor) and (dtype is None or data.dtype == dtype):
        return data
    backend = get_backend("cupy") if _is_device_array(data) else current()
    if dtype is None and not _is_array(data):
        dtype = _default_dtype(data)
    return Tensor._wrap(backend.asarray(data.data if isinstance(data, Tensor) else data,
                                        dtype=dtype))


def from_numpy(array):
    """A tensor sharing the memory of the NumPy ``array`` (``torch.from_numpy``); under
    the CuPy backend the values must be copied to the GPU, so nothing is shared."""
    if type(array).__module__.split(".")[0] != "numpy" or not hasattr(array, "__array_interface__"):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(array).__name__}")
    return Tensor._wrap(current().asarray(array))
