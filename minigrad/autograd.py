"""The tape: ``Function`` (the op contract), recording, and the backward walk.

Every differentiable op is a ``Function`` subclass with two static methods that
work on raw backend arrays::

    class Exp(Function):
        @staticmethod
        def forward(ctx, x):          # arrays in, array(s) out
            y = ctx.xp.exp(x)
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, gy):        # one gradient per output in,
            y, = ctx.saved_tensors    # one per input out (None = no gradient)
            return gy * y

``Exp.apply(t)`` unwraps the tensors, runs ``forward``, wraps the result and, when
any input requires a gradient and grad mode is on, records a node on the tape.
``Tensor.backward()`` walks the recorded nodes in reverse topological order.

Contract details that keep op code short:
- ``ctx.xp`` is the array module of the inputs (numpy or cupy); ``ctx.backend``
  the backend module (for its kernels and random generator).
- A gradient returned by ``backward`` may have the broadcast shape of the
  forward computation; the engine sums it back to the input's shape.
- Non-tensor arguments (ints, floats, tuples) are passed through to ``forward``
  unchanged and get no gradient (return ``None`` for them or leave them out).
- ``ctx.needs_input_grad[i]`` says whether input ``i`` wants a gradient.
"""
import contextlib
import threading
import weakref

from minigrad.backends import _backend_by_type, backend_of_array


class _Modes(threading.local):
    """Grad mode and debug mode, one setting per thread (the class values are each
    thread's defaults): ``no_grad()`` in one thread leaves the others recording."""
    enabled = True
    debug = False


_GradMode = _Modes()


def is_grad_enabled():
    return _GradMode.enabled


class _SwitchContext(contextlib.ContextDecorator):
    """What ``set_debug`` and ``set_grad_enabled`` return: the switch already happened (a
    plain call is a switch for this thread); the block (or the decorated function)
    restores the mode that was there before."""
    def __init__(self, mode, value):
        self.mode, self.value = mode, value
        self.previous = getattr(_GradMode, mode)
        setattr(_GradMode, mode, value)

    def __enter__(self):
        setattr(_GradMode, self.mode, self.value)

    def __exit__(self, *exc):
        setattr(_GradMode, self.mode, self.previous)
        return False

    def __call__(self, func):
        # used as a decorator: undo the switch the call made at decoration time; each
        # call of the function then switches and restores what was there
        setattr(_GradMode, self.mode, self.previous)
        return super().__call__(func)

    def _recreate_cm(self):
        return _ModeContext(self.mode, self.value)


def set_debug(enabled=True):
    """Debug mode: every op checks its outputs and gradients for NaN/inf and raises
    ``FloatingPointError`` naming the op where one first appears. Slower; use it to
    find where a training run goes wrong. ``minigrad.set_debug()`` switches it on for
    this thread; ``with minigrad.set_debug(): ...`` only inside the block, and
    ``@minigrad.set_debug()`` only while the decorated function runs."""
    return _SwitchContext("debug", bool(enabled))


def set_grad_enabled(mode):
    """Turn recording on the tape on (``mode=True``) or off, as ``torch.set_grad_enabled``.

    Three uses, as in PyTorch: ``minigrad.set_grad_enabled(False)`` switches it for this
    thread until switched back; ``with minigrad.set_grad_enabled(is_train): ...`` only
    inside the block (the mode before is restored at its end); ``@set_grad_enabled(False)``
    only while the decorated function runs. Modes are per thread (``_GradMode``).
    Not an op: no forward math, no backward."""
    if not isinstance(mode, bool):
        raise TypeError(f"set_grad_enabled: mode must be a bool, got {type(mode).__name__}")
    return _SwitchContext("enabled", mode)


def _check_finite(op_name, what, arrays, inputs):
    for i, a in enumerate(arrays):
        if a is None or getattr(a, "dtype", None) is None or a.dtype.kind not in "fc":
            continue
        xp = backend_of_array(a).xp
        if not bool(xp.isfinite(a).all()):
            bad = "NaN" if bool(xp.isnan(a).any()) else "inf"
            shapes = ", ".join(str(tuple(getattr(t, "shape", ()))) for t in inputs if t is not None)
            raise FloatingPointError(
                f"debug mode: {op_name} produced {bad} in its {what} {i} "
                f"(shape {tuple(a.shape)}; input shapes {shapes})")


class _ModeContext(contextlib.ContextDecorator):
    """Sets one of this thread's modes ('enabled' or 'debug') for a block, or for each call
    of a decorated function, and restores what was there."""
    def __init__(self, mode, value):
        self.mode, self.value = mode, value

    def __enter__(self):
        self.previous = getattr(_GradMode, self.mode)
        setattr(_GradMode, self.mode, self.value)

    def __exit__(self, *exc):
        setattr(_GradMode, self.mode, self.previous)
        return False

    def _recreate_cm(self):  # a decorated function gets a fresh context per call (recursion, threads)
        return _ModeContext(self.mode, self.value)


def no_grad():
    """Context manager / decorator: ops inside record nothing on the tape."""
    return _ModeContext("enabled", False)


def inference_mode(mode=True):
    """Context manager / decorator (``torch.inference_mode``): with ``mode=True`` ops inside
    record nothing on the tape; ``inference_mode(False)`` records as usual.

    Deviation from PyTorch: here it is exactly ``no_grad()`` (``set_grad_enabled(not mode)``
    for a block): there are no "inference tensors", so a tensor made inside may later be used
    in recorded ops and changed in place, and there is no extra speed over ``no_grad``.
    ``@minigrad.inference_mode`` without parentheses decorates too, as in PyTorch."""
    if callable(mode):                      # @inference_mode without parentheses
        return _ModeContext("enabled", False)(mode)
    return _ModeContext("enabled", not mode)


def enable_grad():
    """Context manager / decorator: turn recording back on inside a ``no_grad`` block."""
    return _ModeContext("enabled", True)


class Context:
    """What a ``Function`` keeps between its forward and backward."""

    __slots__ = ("xp", "backend", "needs_input_grad", "saved_tensors", "_saved_versions",
                 "__dict__")

    def __init__(self, backend, needs_input_grad):
        self.backend = backend
        self.xp = backend.xp
        self.needs_input_grad = needs_input_grad
        self.saved_tensors = ()         # (_saved_versions: set by apply when recorded)

    def save_for_backward(self, *arrays):
        """Keep arrays for backward. Each one that is (a view of) the memory of an input
        or an output tensor is version-checked: changing that memory in place before
        backward, through any tensor that shares it, is an error."""
        self.saved_tensors = arrays


class Node:
    """One recorded op on the tape: the ``Function``, its context and its inputs."""

    __slots__ = ("function", "ctx", "inputs", "n_outputs", "out_meta", "out_tensors",
                 "grad_fn", "__weakref__")   # grad_fn: set on first use (BackwardNode)

    def __init__(self, function, ctx, inputs, outputs):
        self.function = function
        self.ctx = ctx                # None once freed (``_free``)
        self.inputs = inputs          # tensors, or None where no gradient flows
        n = self.n_outputs = len(outputs)
        if n == 1:
            out = outputs[0]
            self.out_meta = [(out.data.shape, out.data.dtype)]
            self.out_tensors = [weakref.ref(out)]   # for hooks and retain_grad
        else:
            self.out_meta = [(o.data.shape, o.data.dtype) for o in outputs]
            self.out_tensors = [weakref.ref(o) for o in outputs]

    @property
    def freed(self):
        """True after a backward without ``retain_graph`` dropped what the op kept."""
        return self.ctx is None

    @property
    def name(self):
        return self.function.__name__


class BackwardNode:
    """What ``y.grad_fn`` is: the recorded op that made ``y``, as PyTorch's ``grad_fn``
    object, so that the graph can be walked from an output (``minigrad.viz.draw`` does).

    ``name()`` is the Function's class name followed by ``Backward`` (``'MulBackward'``; a
    trailing ``Fn`` is dropped: ``SoftmaxFn`` gives ``'SoftmaxBackward'``; PyTorch adds an
    overload number, ``'MulBackward0'``, that minigrad has no use for).
    ``next_functions`` is a tuple of ``(grad_fn, output_index)`` pairs, one per argument
    of the Function (PyTorch: one per tensor argument): the ``BackwardNode`` of the op
    that made that argument, an ``AccumulateGrad`` for a leaf that requires grad, or
    ``(None, 0)`` where no gradient flows (a constant tensor or a non-tensor argument).
    ``grad_fn == 'Mul'`` and ``grad_fn == 'MulBackward'`` are both true (older minigrad
    code compared ``grad_fn`` with the Function's name). One object per recorded op, made
    on first access, not while recording. After ``backward()`` without
    ``retain_graph=True`` the op has dropped its inputs: ``next_functions`` is then ``()``
    (PyTorch keeps the structure); draw or walk the graph before that."""

    __slots__ = ("_node",)

    def __init__(self, node):
        self._node = node

    def name(self):
        name = self._node.function.__name__
        return (name[:-2] if name.endswith("Fn") and len(name) > 2 else name) + "Backward"

    @property
    def function(self):
        """The ``Function`` subclass of this op (its docstring holds the math)."""
        return self._node.function

    @property
    def next_functions(self):
        pairs = []
        for t in self._node.inputs:
            if t is None:
                pairs.append((None, 0))
            elif t._node is not None:
                pairs.append((grad_fn_of(t._node), t._out_index))
            else:
                pairs.append((AccumulateGrad.of(t), 0))
        return tuple(pairs)

    @property
    def output_meta(self):
        """(shape, dtype) of each output of the op."""
        return tuple(self._node.out_meta)

    def __eq__(self, other):
        if isinstance(other, str):
            return other == self._node.function.__name__ or other == self.name()
        return self is other

    def __hash__(self):
        return id(self)

    def __repr__(self):
        return f"<{self.name()} object at {id(self):#x}>"


class AccumulateGrad:
    """The ``next_functions`` entry of a leaf that requires grad (PyTorch's
    ``AccumulateGrad``): ``variable`` is that leaf, whose ``.grad`` the backward fills.
    One per leaf, kept on the leaf."""

    __slots__ = ("variable", "__weakref__")
    next_functions = ()

    def __init__(self, variable):
        self.variable = variable

    @staticmethod
    def of(leaf):
        acc = leaf.__dict__.get("_grad_accumulator")
        acc = acc() if acc is not None else None
        if acc is None:
            acc = AccumulateGrad(leaf)
            leaf.__dict__["_grad_accumulator"] = weakref.ref(acc)
        return acc

    def name(self):
        return "AccumulateGrad"

    def __repr__(self):
        return f"<AccumulateGrad object at {id(self):#x}>"


def grad_fn_of(node):
    """The one ``BackwardNode`` of a recorded node, made on first use."""
    fn = getattr(node, "grad_fn", None)
    if fn is None:
        fn = node.grad_fn = BackwardNode(node)
    return fn


class Function:
    """Base class of every differentiable op. Subclasses define static
    ``forward(ctx, *args)`` and ``backward(ctx, *grad_outputs)``.

    Second derivatives (``create_graph=True``, see ``minigrad.double_backward``): set
    ``differentiable_backward = True`` when ``backward`` runs unchanged on tensors (with
    ``saves_constants = True`` when it saves floating values that do not depend on the
    inputs); ``differentiable_forward = True`` when ``forward`` does (then it is its own
    composite form); or give a ``composite`` staticmethod, the forward built from
    differentiable ops."""

    differentiable_backward = False
    saves_constants = False
    differentiable_forward = False
    composite = None

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("a Function subclass defines forward(ctx, *arrays)")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("a Function subclass defines backward(ctx, *grad_outputs), "
                                  "returning one gradient (or None) per input")

    @classmethod
    def apply(cls, *args, **kwargs):
        # Every op comes through here, so this is written for speed (benchmarks/op_overhead.py):
        # one pass over the arguments, no generators, a single output without lists, and the
        # tape's bookkeeping only when something is recorded.
        Tensor = _tensor_class or _import_tensor()
        tensors, arrays, needs, grad_inputs = [], [], [], []
        backend = first = None
        record = False
        for a in args:
            if isinstance(a, Tensor):
                data = a.data
                if first is None:
                    backend, first = _backend_by_type.get(type(data)) or backend_of_array(data), a
                elif type(data) is not type(first.data) and backend_of_array(data) is not backend:
                    _raise_mixed_backends(cls, first, a)
                tensors.append(a)
                arrays.append(data)
                if a.requires_grad:
                    record = True
                    needs.append(True)
                    grad_inputs.append(a)
                else:
                    needs.append(False)
                    grad_inputs.append(None)
            else:
                tensors.append(None)
                arrays.append(a)
                needs.append(False)
                grad_inputs.append(None)
        if first is None:
            raise TypeError(f"{cls.__name__} needs at least one Tensor argument")
        record = record and _GradMode.enabled
        ctx = Context(backend, tuple(needs) if record else ())
        if record and (cls.composite is not None or cls.differentiable_forward):
            ctx.composite_args = (args, kwargs)   # create_graph recomputes the composite form
        raw = cls.forward(ctx, *arrays, **kwargs)
        if isinstance(raw, tuple):
            return _finish_multi(cls, ctx, raw, arrays, tensors, grad_inputs, record, Tensor)
        if type(raw) is not backend.ndarray:   # NumPy gives scalars from 0-d ops and reductions
            array = ctx.xp.asarray(raw)
            if ctx.saved_tensors:   # a saved scalar output: save its array
                _resave_outputs(ctx, (raw,), (array,))
            raw = array
        if _GradMode.debug:
            _check_finite(cls.__name__, "output", (raw,), arrays)
        out = Tensor._wrap(raw)
        if raw.base is not None:
            _share_version_with_base(out, tensors, ctx.xp)
        if record and raw.dtype.kind in "fc":   # (an integer or bool output has no gradient)
            outputs = [out]
            ctx._saved_versions = (_watch_saved(ctx.saved_tensors, tensors, outputs,
                                                backend.ndarray, ctx.xp)
                                   if ctx.saved_tensors else ())
            out.requires_grad = True
            out._node = Node(cls, ctx, grad_inputs, outputs)
        return out


def _finish_multi(cls, ctx, raw, arrays, tensors, grad_inputs, record, Tensor):
    """``Function.apply`` after a forward that returned several arrays."""
    ndarray = ctx.backend.ndarray
    arrays_out = tuple(r if type(r) is ndarray else ctx.xp.asarray(r) for r in raw)
    if ctx.saved_tensors and any(a is not r for a, r in zip(arrays_out, raw)):
        _resave_outputs(ctx, raw, arrays_out)
    if _GradMode.debug:
        _check_finite(cls.__name__, "output", arrays_out, arrays)
    outputs = [Tensor._wrap(r) for r in arrays_out]
    for out in outputs:
        if out.data.base is not None:
            _share_version_with_base(out, tensors, ctx.xp)
    if record:
        ctx._saved_versions = (_watch_saved(ctx.saved_tensors, tensors, outputs, ndarray, ctx.xp)
                               if ctx.saved_tensors else ())
        node = Node(cls, ctx, grad_inputs, outputs)
        for i, out in enumerate(outputs):
            if out.data.dtype.kind in "fc":
                out.requires_grad = True
                out._node = node
                if i:
                    out._out_index = i
    return tuple(outputs)


_tensor_class = None


def _import_tensor():
    """``minigrad.tensor.Tensor`` (imported on first use: that module imports this one)."""
    global _tensor_class
    from minigrad.tensor import Tensor
    _tensor_class = Tensor
    return Tensor


def _resave_outputs(ctx, scalars, arrays):
    """Forward saved an output that NumPy gave as a scalar: save the array that becomes the
    output tensor's instead, so that the saved value is known to be that output."""
    swap = {id(s): a for s, a in zip(scalars, arrays) if s is not a}
    ctx.saved_tensors = tuple(swap.get(id(x), x) for x in ctx.saved_tensors)


def _same_memory(xp, a, b):
    return a is b or ((a.base is not None or b.base is not None) and xp.may_share_memory(a, b))


def _share_version_with_base(out, inputs, xp):
    """An output that is a view of an input's memory (reshape, slice, transpose) shares
    that input's version counter, so an in-place change through either is seen by both."""
    for t in inputs:
        if t is not None and xp.may_share_memory(out.data, t.data):
            out._version_box = t._shared_version_box()
            return


def _watch_saved(saved, inputs, outputs, ndarray, xp):
    """One entry (k, role, version counter, version now, shape) for each saved array k that
    is the memory of an input or output tensor: backward checks that none of them changed,
    and a double backward reads the role, ('input', i) or ('output', j), to find the tensor
    the array belongs to (``saved_roles``)."""
    watched = []
    for k, array in enumerate(saved):
        if type(array) is not ndarray and not hasattr(array, "base"):
            continue                     # None, a Python number, a shape, ...
        role = owner = None
        i = 0
        for t in inputs:                 # the common case: the input's array itself
            if t is not None and t.data is array:
                role, owner = ("input", i), t
                break
            i += 1
        else:
            j = 0
            for t in outputs:
                if t.data is array:
                    role, owner = ("output", j), t
                    break
                j += 1
            else:
                role, owner = _memory_owner(array, inputs, outputs, xp)
        if owner is not None:
            box = owner._shared_version_box()
            watched.append((k, role, box, box.value, owner.data.shape))
    return watched


def saved_roles(ctx):
    """For each of ``ctx.saved_tensors``: ('input', i) or ('output', j) when it is that
    tensor's array (or a view of its memory), else None (a value of the op's own)."""
    roles = [None] * len(ctx.saved_tensors)
    for k, role, *_ in ctx._saved_versions:
        roles[k] = role
    return roles


def _memory_owner(array, inputs, outputs, xp):
    """(role, tensor) of the input or output whose memory ``array`` views (a @ a.T), or
    (None, None)."""
    for i, t in enumerate(inputs):
        if t is not None and _same_memory(xp, array, t.data):
            return ("input", i), t
    for j, t in enumerate(outputs):
        if _same_memory(xp, array, t.data):
            return ("output", j), t
    return None, None


def _raise_mixed_backends(cls, a, b):
    raise RuntimeError(
        f"{cls.__name__}: inputs live on different backends "
        f"({backend_of_array(a.data).name} array of shape {tuple(a.shape)} and "
        f"{backend_of_array(b.data).name} array of shape {tuple(b.shape)}); "
        f"move them to one backend first with .to('numpy') or .to('cupy')")


def sum_to_shape(grad, shape, op_name="op"):
    """Sum a broadcast gradient back down to ``shape`` (the input's shape)."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra < 0:
        raise RuntimeError(f"{op_name}.backward returned a gradient of shape {grad.shape} "
                           f"for an input of shape {shape}")
    axes = list(range(extra))
    for i, n in enumerate(shape):
        if n == 1 and grad.shape[extra + i] != 1:
            axes.append(extra + i)
        elif n != grad.shape[extra + i]:
            raise RuntimeError(f"{op_name}.backward returned a gradient of shape {grad.shape} "
                               f"that does not broadcast to the input's shape {shape}")
    if axes:
        grad = grad.sum(axis=tuple(axes), keepdims=True)
    return grad.reshape(shape)


def _topological_nodes(roots, stop=None):
    """Nodes reachable from ``roots``, each after every node that consumes its outputs
    (not going past the tensors whose ids are in ``stop``)."""
    order, seen = [], set()
    stack = [(n, False) for n in roots if n is not None]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        for t in node.inputs:
            if t is not None and t._node is not None and id(t._node) not in seen \
                    and (stop is None or id(t) not in stop):
                stack.append((t._node, False))
    order.reverse()
    return order


def run_backward(outputs, grad_outputs, retain_graph=False, inputs=None):
    """Walk the tape from ``outputs`` (seeded with ``grad_outputs``, raw arrays).

    With ``inputs=None`` gradients are accumulated into the ``.grad`` of every leaf
    that requires one (``Tensor.backward``). With a list of tensors, their
    gradients are returned instead and no ``.grad`` is touched (``autograd.grad``).
    """
    roots = []
    pending = {}
    leaf_grads = {}
    leaves = {}
    wanted = None if inputs is None else {id(t): t for t in inputs}
    for out, g in zip(outputs, grad_outputs):
        if out._node is None:
            _accumulate(leaf_grads, leaves, out, g)
            continue
        if out._node.freed:
            _raise_freed(out._node)
        roots.append(out._node)
        slots = pending.setdefault(id(out._node), [None] * out._node.n_outputs)
        slots[out._out_index] = g if slots[out._out_index] is None else slots[out._out_index] + g

    walked = []
    for node in _topological_nodes(roots):
        if node.freed:
            _raise_freed(node)
        slots = pending.pop(id(node), None)
        if slots is None:
            continue
        xp = node.ctx.xp
        for i, ref in enumerate(node.out_tensors):
            out = ref() if ref is not None else None
            if slots[i] is None:
                shape, dtype = node.out_meta[i]
                slots[i] = xp.zeros(shape, dtype=dtype)
            elif out is not None:
                slots[i] = _run_hooks(out, slots[i])
                if out._retains_grad and inputs is None:
                    out._accumulate_grad(slots[i].copy())
                if wanted is not None and id(out) in wanted:
                    _accumulate(leaf_grads, leaves, out, slots[i])
        for _, _, box, version, shape in node.ctx._saved_versions:
            if box.value != version:
                raise RuntimeError(
                    f"{node.name}.backward needs a tensor of shape {tuple(shape)} that "
                    f"was modified in place after {node.name} used it (version {version} → "
                    f"{box.value}); use an out-of-place op or .clone() before changing it")
        grads = node.function.backward(node.ctx, *slots)
        if not isinstance(grads, tuple):
            grads = (grads,)
        if _GradMode.debug:
            _check_finite(node.name + ".backward", "input gradient", grads, node.inputs)
        for t, g in zip(node.inputs, grads):
            if t is None or g is None:
                continue
            g = sum_to_shape(g, t.data.shape, node.name)
            if type(g) is not type(t.data):  # a NumPy scalar from 0-d arithmetic
                g = xp.asarray(g)
            if g.dtype != t.data.dtype:
                if g.dtype.kind == "c" and t.data.dtype.kind != "c":
                    g = g.real  # a real input's gradient from a complex computation
                g = g.astype(t.data.dtype)
            if t._node is None:
                _accumulate(leaf_grads, leaves, t, g)
            else:
                slots = pending.setdefault(id(t._node), [None] * t._node.n_outputs)
                j = t._out_index
                slots[j] = g if slots[j] is None else slots[j] + g
        walked.append(node)
        if not retain_graph:
            node.ctx.saved_tensors = ()      # saved arrays go at once; the rest after the walk
    if not retain_graph:                     # (the inputs keep tensors alive that hooks still need)
        for node in walked:
            _free(node)

    if inputs is not None:
        return [leaf_grads.get(id(t)) for t in inputs]
    stored = set()
    for key, g in leaf_grads.items():
        leaf = leaves[key]
        g = _run_hooks(leaf, g)
        if leaf.requires_grad:
            if g.base is not None or id(g) in stored:
                # a view (broadcast, reshape) or an array that also reached another
                # leaf (a + b): .grad must own its memory, optimizers write into it
                g = g.copy()
            stored.add(id(g))
            leaf._accumulate_grad(g)
    return None


def _free(node):
    """After a backward without ``retain_graph``: drop everything the node kept (saved
    arrays, the context, the input tensors), so that a loss kept after backward
    (``history.append(loss)``) no longer keeps the step's activations alive."""
    node.ctx = None
    node.inputs = ()
    node.out_tensors = [None] * node.n_outputs


def _accumulate(grads, leaves, tensor, g):
    key = id(tensor)
    leaves[key] = tensor
    grads[key] = g if key not in grads else grads[key] + g


def _run_hooks(tensor, g):
    for hook in tensor._hooks:
        result = hook(tensor._wrap(g))
        if result is not None:
            g = result.data if hasattr(result, "data") else result
    return g


def _raise_freed(node):
    raise RuntimeError(
        f"trying to backward through {node.name} a second time, but its saved values "
        "were freed after the first backward; call .backward(retain_graph=True) the "
        "first time if you need to backward through this graph again")


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=False):
    """Gradients of ``outputs`` with respect to ``inputs``, returned as tensors;
    nothing is accumulated into any ``.grad`` (like ``torch.autograd.grad``).
    ``create_graph=True`` records the gradients on the tape, so that they can be
    differentiated again (``retain_graph`` then defaults to True)."""
    from minigrad.tensor import Tensor
    single_input = isinstance(inputs, Tensor)
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    inputs = [inputs] if single_input else list(inputs)
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs]
    if create_graph:
        from minigrad import double_backward
        seeds = [_seed_tensor(out, g) if isinstance(g, Tensor) else Tensor._wrap(_seed_gradient(out, g))
                 for out, g in zip(outputs, grad_outputs)]
        grads = double_backward.run_backward(outputs, seeds, inputs=inputs)
    else:
        seeds = [_seed_gradient(out, g) for out, g in zip(outputs, grad_outputs)]
        grads = run_backward(outputs, seeds, retain_graph=bool(retain_graph), inputs=inputs)
    result = []
    for t, g in zip(inputs, grads):
        if g is None:
            if not allow_unused:
                raise RuntimeError(f"an input of shape {tuple(t.shape)} was not used to "
                                   "compute the outputs; pass allow_unused=True to get None")
            result.append(None)
        else:
            result.append(g if isinstance(g, Tensor) else Tensor._wrap(g))
    return result[0] if single_input else result


def _seed_tensor(out, g):
    """A tensor seed of a ``create_graph`` backward keeps its graph (a gradient of a
    gradient may depend on it); it is cast to the output's dtype."""
    if g.shape != out.shape:
        raise RuntimeError(f"gradient of shape {tuple(g.shape)} given for an output of shape "
                           f"{tuple(out.shape)}")
    return g if g.dtype == out.dtype else g.astype(out.dtype)


def _seed_gradient(out, g):
    if g is None:
        if out.data.size != 1:
            raise RuntimeError(f"backward of a non-scalar tensor of shape {tuple(out.shape)} "
                               "needs a gradient argument of the same shape")
        xp = backend_of_array(out.data).xp
        return xp.ones(out.data.shape, dtype=out.data.dtype)
    from minigrad.tensor import Tensor
    garr = backend_of_array(out.data).asarray(g.data if isinstance(g, Tensor) else g)
    if garr.shape != out.data.shape:
        raise RuntimeError(f"gradient of shape {garr.shape} given for an output of shape "
                           f"{out.data.shape}")
    return garr.astype(out.data.dtype, copy=True)  # never alias the caller's array

