"""Module, Parameter and the containers networks are built from.

A ``Module`` finds its parameters, buffers and sub-modules from its attributes:
assigning a ``Parameter`` registers a parameter, assigning a ``Module`` registers a
child, and ``register_buffer(name, tensor)`` keeps state that is saved and moved
with the module but not trained (BatchNorm's running statistics).
"""
from collections import OrderedDict

from minigrad.autograd import no_grad
from minigrad.tensor import Tensor


class Parameter(Tensor):
    """A tensor that a ``Module`` trains: ``requires_grad=True`` by default.
    ``Parameter(t)`` shares the memory of the tensor ``t`` (as in PyTorch); an array or a
    list is copied, like ``minigrad.tensor``."""

    def __init__(self, data, requires_grad=True):
        super().__init__(data, requires_grad=requires_grad)

    def __repr__(self):
        return "Parameter(" + super().__repr__() + ")"


class Module:
    """Base class of every layer and network: subclasses set parameters and
    sub-modules in ``__init__`` and define ``forward``."""

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_forward_hooks", OrderedDict())
        object.__setattr__(self, "_forward_pre_hooks", OrderedDict())
        object.__setattr__(self, "training", True)

    # ------------------------------------------------------------ registration
    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise RuntimeError(f"{type(self).__name__}: call super().__init__() before "
                               "assigning attributes")
        for store in (self._parameters, self._buffers, self._modules):
            store.pop(name, None)
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        elif name in self.__dict__.get("_buffer_names", ()):
            self._buffers[name] = value
        object.__setattr__(self, name, value)

    def __delattr__(self, name):
        for store in (self._parameters, self._buffers, self._modules):
            store.pop(name, None)
        object.__delattr__(self, name)

    def register_parameter(self, name, param):
        """Register ``param`` (a Parameter, or None for an absent one such as a bias)."""
        if param is None:
            self._parameters.pop(name, None)
            object.__setattr__(self, name, None)
        else:
            setattr(self, name, param if isinstance(param, Parameter) else Parameter(param))

    def register_buffer(self, name, tensor, persistent=True):
        """Keep ``tensor`` as state that is saved and moved but not trained."""
        names = self.__dict__.setdefault("_buffer_names", set())
        names.add(name)
        non_persistent = self.__dict__.setdefault("_non_persistent", set())
        if persistent:
            non_persistent.discard(name)
        else:
            non_persistent.add(name)
        if tensor is not None and not isinstance(tensor, Tensor):
            tensor = Tensor(tensor)
        self._buffers[name] = tensor
        object.__setattr__(self, name, tensor)

    def add_module(self, name, module):
        setattr(self, name, module)

    # ------------------------------------------------------------------ calling
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args, **kwargs):
        for hook in list(self._forward_pre_hooks.values()):
            result = hook(self, args)
            if result is not None:
                args = result if isinstance(result, tuple) else (result,)
        out = self.forward(*args, **kwargs)
        for hook in list(self._forward_hooks.values()):
            result = hook(self, args, out)
            if result is not None:
                out = result
        return out

    def register_forward_hook(self, hook):
        """Call ``hook(module, inputs, output)`` after each forward; a returned value
        replaces the output. Returns a handle with ``remove()``."""
        return _Handle(self._forward_hooks, hook)

    def register_forward_pre_hook(self, hook):
        """Call ``hook(module, inputs)`` before each forward; a returned value replaces the inputs."""
        return _Handle(self._forward_pre_hooks, hook)

    # ------------------------------------------------------------------ walking
    def named_modules(self, prefix="", remove_duplicate=True, _memo=None):
        """(dotted name, module) for self and every sub-module; a module reachable by two
        paths (shared or tied) is listed once unless ``remove_duplicate=False``."""
        if remove_duplicate:
            _memo = set() if _memo is None else _memo
            if id(self) in _memo:
                return
            _memo.add(id(self))
        yield prefix, self
        for name, child in self._modules.items():
            if child is not None:
                yield from child.named_modules(f"{prefix}.{name}" if prefix else name,
                                               remove_duplicate, _memo)

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def named_children(self):
        return ((n, m) for n, m in self._modules.items() if m is not None)

    def children(self):
        return (m for _, m in self.named_children())

    def named_parameters(self, prefix="", recurse=True):
        """(dotted name, parameter) pairs; a parameter shared by two modules appears once."""
        seen = set()
        modules = self.named_modules(prefix) if recurse else [(prefix, self)]
        for mod_name, module in modules:
            for name, p in module._parameters.items():
                if p is None or id(p) in seen:
                    continue
                seen.add(id(p))
                yield (f"{mod_name}.{name}" if mod_name else name), p

    def parameters(self, recurse=True):
        return (p for _, p in self.named_parameters(recurse=recurse))

    def named_buffers(self, prefix=""):
        for mod_name, module in self.named_modules(prefix):
            for name, b in module._buffers.items():
                if b is not None:
                    yield (f"{mod_name}.{name}" if mod_name else name), b

    def buffers(self):
        return (b for _, b in self.named_buffers())

    def apply(self, fn):
        """Call ``fn(module)`` on every sub-module (children first) and on self."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # -------------------------------------------------------------------- modes
    def train(self, mode=True):
        for m in self.modules():
            object.__setattr__(m, "training", mode)
        return self

    def eval(self):
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        """Freeze (False) or unfreeze every parameter of this module."""
        for p in self.parameters():
            p.requires_grad = requires_grad
        return self

    def zero_grad(self, set_to_none=True):
        for p in self.parameters():
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                p.grad.data[...] = 0

    def to(self, *args, **kwargs):
        """Move and/or cast every parameter and buffer, in place, and return ``self``, as
        ``torch.nn.Module.to``: ``model.to(dtype)``, ``model.to('cpu' | 'cuda' | device)``,
        ``model.to(device, dtype)``, ``model.to(tensor)``, ``model.to(device=..., dtype=...)``.

        p ← p converted (no backward: a change of the leaves themselves). A dtype (floating
        or complex only, as PyTorch) applies to the floating parameters and buffers (complex
        ones get the complex dtype of that precision); integer and bool buffers keep theirs. The Parameter objects stay the same objects
        (their ``.data`` and ``.grad`` are replaced), so an optimizer built before still
        updates them; its existing state (momentum, ...) is not converted, as in PyTorch:
        build the optimizer after ``to()``. The backend names 'numpy' / 'cupy' work as
        devices too."""
        from minigrad.ops.conversion import parse_to_args
        target, dtype, _ = parse_to_args("Module.to", args, kwargs)
        if dtype is not None and dtype.kind not in "fc":
            raise TypeError(f"Module.to: only floating point or complex dtypes, got {dtype} "
                            "(integer buffers keep their dtype; convert a tensor with x.to())")
        return self._convert(dtype, target, only_floating=True)

    def float(self):
        """``self.to(float32)``: every floating parameter and buffer as float32, in place."""
        return self.to("float32")

    def double(self):
        """``self.to(float64)``: every floating parameter and buffer as float64, in place
        (the dtype of gradient checks; inputs must then be float64 too)."""
        return self.to("float64")

    def half(self):
        """``self.to(float16)``: every floating parameter and buffer as float16, in place."""
        return self.to("float16")

    def type(self, dst_type):
        """Every parameter and buffer (integer ones too, as PyTorch) as ``dst_type``, in
        place; returns self. A non-floating ``dst_type`` is refused while a parameter
        requires grad."""
        from minigrad.dtypes import as_dtype
        return self._convert(as_dtype(dst_type, "Module.type"), None, only_floating=False)

    def cpu(self):
        """``self.to('cpu')``: every parameter and buffer on the NumPy backend, in place."""
        return self.to("cpu")

    def cuda(self, device=None):
        """``self.to('cuda')``: every parameter and buffer on the CuPy backend, in place (a
        clear ``BackendError`` when CuPy or a GPU is missing)."""
        return self.to("cuda" if device is None else device)

    def _convert(self, dtype, target, only_floating):
        """The one implementation of ``to`` / ``float`` / ``double`` / ``half`` / ``type`` /
        ``cpu`` / ``cuda``: replace each tensor's array (and its gradient's) in place."""
        import numpy
        from minigrad.backends import backend_of_array
        from minigrad.ops.conversion import convert_array as _converted
        seen = set()
        for module in self.modules():
            for store in (module._parameters, module._buffers):
                for t in store.values():
                    if t is None or id(t) in seen:
                        continue
                    seen.add(id(t))
                    new_dtype = dtype
                    if dtype is not None and only_floating and t.dtype.kind == "c":
                        new_dtype = numpy.promote_types(dtype, "complex64")   # float64 → complex128
                    if new_dtype is not None and (t.dtype == new_dtype or (
                            only_floating and t.dtype.kind not in "fc")):
                        new_dtype = None
                    if new_dtype is not None and new_dtype.kind not in "fc" and t.requires_grad:
                        raise TypeError(f"Module.type: a parameter that requires grad cannot "
                                        f"become {new_dtype}")
                    move = target is not None and backend_of_array(t.data) is not target
                    if new_dtype is None and not move:
                        continue
                    t.data = _converted(t.data, new_dtype, target if move else None)
                    if t.grad is not None:
                        t.grad = Tensor._wrap(_converted(t.grad.data, new_dtype,
                                                         target if move else None))
        return self

    # --------------------------------------------------------------- state dict
    def state_dict(self):
        """Ordered mapping from dotted names to the tensors of every parameter and
        persistent buffer (the tensors themselves, not copies)."""
        out = OrderedDict()
        for mod_name, module in self.named_modules(remove_duplicate=False):
            skip = module.__dict__.get("_non_persistent", set())
            for store in (module._parameters, module._buffers):
                for name, t in store.items():
                    if t is not None and name not in skip:
                        out[f"{mod_name}.{name}" if mod_name else name] = t
        return out

    def load_state_dict(self, state, strict=True):
        """Copy values from ``state`` (tensors or arrays, any backend) into this
        module's parameters and buffers. ``strict`` (the default) raises on missing
        or unexpected keys; a shape mismatch is always an error naming the key."""
        own = self.state_dict()
        missing = [k for k in own if k not in state]
        unexpected = [k for k in state if k not in own]
        if strict and (missing or unexpected):
            raise KeyError(f"load_state_dict for {type(self).__name__}: missing keys "
                           f"{missing}, unexpected keys {unexpected}")
        with no_grad():
            for key, target in own.items():
                if key not in state:
                    continue
                value = state[key]
                array = value.data if isinstance(value, Tensor) else value
                if tuple(array.shape) != tuple(target.shape):
                    raise ValueError(f"load_state_dict: {key!r} has shape {tuple(array.shape)} "
                                     f"in the state but {tuple(target.shape)} in the module")
                from minigrad.backends import backend_of_array
                target.data[...] = backend_of_array(target.data).asarray(
                    Tensor._wrap(array).numpy() if backend_of_array(array) is not
                    backend_of_array(target.data) else array)
                target._version += 1
        return missing, unexpected

    # ------------------------------------------------------------------ display
    def extra_repr(self):
        return ""

    def __repr__(self):
        lines = [f"{type(self).__name__}({self.extra_repr()}"]
        for name, child in self.named_children():
            body = repr(child).replace("\n", "\n  ")
            lines.append(f"  ({name}): {body}")
        return lines[0] + ")" if len(lines) == 1 else "\n".join(lines) + "\n)"


class _Handle:
    _next = 0

    def __init__(self, store, hook):
        _Handle._next += 1
        self.key, self.store = _Handle._next, store
        store[self.key] = hook

    def remove(self):
        self.store.pop(self.key, None)


class Sequential(Module):
    """Modules applied one after another, PyTorch's ``nn.Sequential(*modules)`` (or one
    OrderedDict of named modules): y = m_n(… m_2(m_1(x))), e.g.
    ``Sequential(Linear(4, 8), ReLU(), Linear(8, 2))``. Backward: the chain rule through
    each module's own ops. Indexing (negative too), slicing (a Sequential keeping the
    names), assignment, ``del``, ``append``, ``extend``, ``insert``, ``len``, iteration."""

    def __init__(self, *modules):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], (dict, OrderedDict)):
            for name, m in modules[0].items():
                self.add_module(name, m)
        else:
            for i, m in enumerate(modules):
                self.add_module(str(i), m)

    def forward(self, x):
        for m in self._modules.values():
            x = m(x)
        return x

    def __getitem__(self, i):
        """``seq[i]`` the i-th module (negative i from the end); ``seq[a:b]`` a new
        Sequential of those modules, keeping their names (as PyTorch)."""
        items = list(self._modules.items())
        if isinstance(i, slice):
            return Sequential(OrderedDict(items[i]))
        return items[_list_index(self, i)][1]

    def __setitem__(self, i, module):
        _replace(self, list(self._modules)[_list_index(self, i)], module)

    def __delitem__(self, i):
        keys = list(self._modules)
        for k in (keys[i] if isinstance(i, slice) else [keys[_list_index(self, i)]]):
            delattr(self, k)

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def append(self, module):
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules):
        for m in modules:
            self.append(m)
        return self

    def insert(self, index, module):
        """Insert ``module`` before position ``index``; the modules are renumbered 0..n."""
        mods = list(self._modules.values())
        mods.insert(index, module)
        _renumber(self, mods)
        return self


def _list_index(container, i):
    """``i`` as a non-negative position in ``container`` (negative from the end), or an
    IndexError naming the container and its length."""
    n = len(container)
    if not isinstance(i, int) or isinstance(i, bool):
        raise TypeError(f"{type(container).__name__} indices must be integers or slices, "
                        f"not {type(i).__name__}")
    if not -n <= i < n:
        raise IndexError(f"{type(container).__name__}: index {i} is out of range for "
                         f"{n} entries")
    return i % n


def _replace(container, key, module):
    """Put ``module`` under the existing ``key``, keeping its position in the order."""
    if not isinstance(module, Module):
        raise TypeError(f"{type(container).__name__}: {type(module).__name__} is not a Module")
    container._modules[key] = module
    object.__setattr__(container, key, module)


def _renumber(container, items):
    """Re-register ``items`` (modules or parameters) under the keys '0', '1', ...
    (PyTorch keeps list-container keys contiguous after an insert or a delete)."""
    store = container._parameters if isinstance(container, ParameterList) else container._modules
    for k in list(store):
        delattr(container, k)
    for i, item in enumerate(items):
        if isinstance(container, ParameterList):
            container.register_parameter(str(i), item)
        else:
            container.add_module(str(i), item)


class ModuleList(Module):
    """A list of modules whose parameters are registered (``for block in self.blocks``),
    PyTorch's ``nn.ModuleList(modules=None)``: ``append``, ``extend``, ``insert``, ``+=``,
    indexing (negative too), slicing (a new ModuleList), ``len``, iteration, ``del``.
    Holds no computation of its own (no forward)."""

    def __init__(self, modules=None):
        super().__init__()
        for m in (modules or ()):
            self.append(m)

    def append(self, module):
        self.add_module(str(len(self._modules)), module)
        return self

    def extend(self, modules):
        for m in modules:
            self.append(m)
        return self

    def insert(self, index, module):
        """Insert ``module`` before position ``index``; the keys are renumbered 0..n."""
        mods = list(self._modules.values())
        mods.insert(index, module)
        _renumber(self, mods)

    def __iadd__(self, modules):
        return self.extend(modules)

    def __add__(self, other):
        return ModuleList(list(self) + list(other))

    def __getitem__(self, i):
        mods = list(self._modules.values())
        return ModuleList(mods[i]) if isinstance(i, slice) else mods[_list_index(self, i)]

    def __setitem__(self, i, module):
        _replace(self, str(_list_index(self, i)), module)

    def __delitem__(self, i):
        mods = list(self._modules.values())
        del mods[i if isinstance(i, slice) else _list_index(self, i)]
        _renumber(self, mods)

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())


class _Mapping(Module):
    """The mapping methods the dict containers share, over the store named by ``_STORE``
    (``_modules`` for ``ModuleDict``, ``_parameters`` for ``ParameterDict``); each
    container defines how an entry is set and deleted."""
    _STORE = None

    @property
    def _store(self):
        return getattr(self, self._STORE)

    def __getitem__(self, key):
        return self._store[key]

    def __contains__(self, key):
        return key in self._store

    def __len__(self):
        return len(self._store)

    def __iter__(self):
        return iter(self._store)

    def keys(self):
        return self._store.keys()

    def values(self):
        return self._store.values()

    def items(self):
        return self._store.items()

    def update(self, entries):
        pairs = entries.items() if hasattr(entries, "items") else entries
        for key, value in pairs:
            self[key] = value

    def pop(self, key):
        value = self._store[key]
        del self[key]
        return value


class ModuleDict(_Mapping):
    """A dict of modules whose parameters are registered, PyTorch's ``nn.ModuleDict(
    modules=None)`` (a mapping or an iterable of (name, module) pairs; insertion order is
    kept): ``d[k]``, ``d[k] = m``, ``del d[k]``, ``in``, ``len``, iteration over keys,
    ``keys``/``values``/``items``, ``update``, ``pop``, ``clear``. No forward."""
    _STORE = "_modules"

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __setitem__(self, name, module):
        self.add_module(name, module)

    def __delitem__(self, name):
        delattr(self, name)

    def clear(self):
        for name in list(self._modules):
            del self[name]


def _list_parameters(container):
    """The ``extra_repr`` of the parameter containers: each key with its shape and dtype."""
    return ", ".join(f"({k}): Parameter of shape {tuple(p.shape)} ({p.dtype})"
                     for k, p in container._parameters.items())


class ParameterList(Module):
    """A list of parameters registered on the module (so ``parameters()``, ``state_dict()``
    and optimizers see them, under the keys '0', '1', ...), PyTorch's
    ``nn.ParameterList(values=None)``. A plain tensor is wrapped as a ``Parameter`` (sharing
    its memory). ``append``, ``extend``, ``+=``, indexing (negative too), slicing (a new
    ParameterList of the same parameters), assignment, ``len``, iteration. No forward."""

    def __init__(self, values=None):
        super().__init__()
        for p in (values or ()):
            self.append(p)

    def append(self, value):
        self.register_parameter(str(len(self._parameters)), _as_parameter(self, value))
        return self

    def extend(self, values):
        for p in values:
            self.append(p)
        return self

    def __iadd__(self, values):
        return self.extend(values)

    def __getitem__(self, i):
        params = list(self._parameters.values())
        return ParameterList(params[i]) if isinstance(i, slice) else params[_list_index(self, i)]

    def __setitem__(self, i, value):
        key = str(_list_index(self, i))
        value = _as_parameter(self, value)
        self._parameters[key] = value
        object.__setattr__(self, key, value)

    def __len__(self):
        return len(self._parameters)

    def __iter__(self):
        return iter(self._parameters.values())

    extra_repr = _list_parameters


class ParameterDict(_Mapping):
    """A dict of parameters registered on the module (``parameters()``/``state_dict()``
    see them under their keys), PyTorch's ``nn.ParameterDict(parameters=None)``: ``d[k]``,
    ``d[k] = p`` (a plain tensor is wrapped as a ``Parameter``), ``del d[k]``, ``in``,
    ``len``, iteration over keys, ``keys``/``values``/``items``, ``update``, ``pop``,
    ``get``. Insertion order is kept. No forward."""
    _STORE = "_parameters"

    def __init__(self, parameters=None):
        super().__init__()
        if parameters is not None:
            self.update(parameters)

    def __setitem__(self, key, value):
        if not isinstance(key, str) or "." in key or not key:
            raise KeyError(f"ParameterDict: keys must be non-empty strings without '.', "
                           f"got {key!r}")
        self.register_parameter(key, _as_parameter(self, value))

    def __delitem__(self, key):
        if key not in self._parameters:
            raise KeyError(key)
        delattr(self, key)

    def get(self, key, default=None):
        return self._parameters.get(key, default)

    extra_repr = _list_parameters


def _as_parameter(container, value):
    if isinstance(value, Parameter):
        return value
    if isinstance(value, Tensor):
        return Parameter(value)
    raise TypeError(f"{type(container).__name__}: expected a Parameter or a Tensor, got "
                    f"{type(value).__name__}")


class Identity(Module):
    """The identity map y = x (``nn.Identity(*args, **kwargs)``, arguments ignored as in
    PyTorch); backward dx = dy (no op is recorded: the input itself is returned)."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, x):
        return x


class Flatten(Module):
    """``nn.Flatten(start_dim=1, end_dim=-1)``: merge dimensions ``start_dim..end_dim`` into
    one, y = x.reshape(N, -1) with the defaults (all but the batch dimension, PyTorch's
    defaults; the function ``flatten`` defaults to ``start_dim=0``). Backward: the Function
    ``Reshape`` (dx = dy reshaped back). ``start_axis``/``end_axis`` are the old aliases."""

    def __init__(self, start_dim=None, end_dim=None, *, start_axis=None, end_axis=None):
        super().__init__()
        from minigrad.ops._args import pick
        self.start_dim = pick("Flatten", "start_dim", start_dim, "start_axis", start_axis, 1)
        self.end_dim = pick("Flatten", "end_dim", end_dim, "end_axis", end_axis, -1)

    start_axis = property(lambda self: self.start_dim)
    end_axis = property(lambda self: self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"

    def forward(self, x):
        from minigrad.ops.shape import flatten
        return flatten(x, self.start_dim, self.end_dim)
