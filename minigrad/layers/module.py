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

    def to(self, backend):
        """Move every parameter and buffer to ``backend`` ('numpy' or 'cupy'), in place."""
        from minigrad.backends import backend_of_array, get_backend
        target = get_backend(backend)
        for module in self.modules():
            for store in (module._parameters, module._buffers):
                for name, t in store.items():
                    if t is None or backend_of_array(t.data) is target:
                        continue
                    moved = t.to(backend)
                    t.data = moved.data
                    if t.grad is not None:
                        t.grad = t.grad.to(backend)
        return self

    def float(self):
        """Cast every floating-point parameter and buffer to float32, in place."""
        return self._cast_floating("float32")

    def double(self):
        """Cast every floating-point parameter and buffer to float64, in place (the
        dtype of gradient checks; inputs must then be float64 too)."""
        return self._cast_floating("float64")

    def _cast_floating(self, dtype):
        for module in self.modules():
            for store in (module._parameters, module._buffers):
                for t in store.values():
                    if t is not None and t.dtype.kind == "f" and t.dtype != dtype:
                        t.data = t.data.astype(dtype)
                        if t.grad is not None:
                            t.grad = t.grad.astype(dtype).detach()
        return self

    def cpu(self):
        return self.to("numpy")

    def cuda(self):
        return self.to("cupy")

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
    """Modules applied one after another: ``Sequential(Linear(4, 8), ReLU(), Linear(8, 2))``."""

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
        mods = list(self._modules.values())
        return Sequential(*mods[i]) if isinstance(i, slice) else mods[i]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def append(self, module):
        self.add_module(str(len(self)), module)
        return self


class ModuleList(Module):
    """A list of modules whose parameters are registered (``for block in self.blocks``)."""

    def __init__(self, modules=()):
        super().__init__()
        for m in modules:
            self.append(m)

    def append(self, module):
        self.add_module(str(len(self._modules)), module)
        return self

    def extend(self, modules):
        for m in modules:
            self.append(m)
        return self

    def __getitem__(self, i):
        mods = list(self._modules.values())
        return ModuleList(mods[i]) if isinstance(i, slice) else mods[i]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())


class ModuleDict(Module):
    """A dict of modules whose parameters are registered."""

    def __init__(self, modules=None):
        super().__init__()
        for name, m in (modules or {}).items():
            self[name] = m

    def __setitem__(self, name, module):
        self.add_module(name, module)

    def __getitem__(self, name):
        return self._modules[name]

    def __contains__(self, name):
        return name in self._modules

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def keys(self):
        return self._modules.keys()

    def values(self):
        return self._modules.values()

    def items(self):
        return self._modules.items()


class Identity(Module):
    """y = x."""

    def forward(self, x):
        return x


class Flatten(Module):
    """Merge axes ``start_axis..end_axis`` (by default all but the batch axis)."""

    def __init__(self, start_axis=1, end_axis=-1):
        super().__init__()
        self.start_axis, self.end_axis = start_axis, end_axis

    def forward(self, x):
        from minigrad.ops.shape import flatten
        return flatten(x, self.start_axis, self.end_axis)
