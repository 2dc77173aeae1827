"""The backward walk that records (``create_graph=True``): gradients as tensors on the tape,
so that they can be differentiated again, to any order.

One backward rule per op. Each ``Function`` gives its second (and higher) derivatives in
one of three ways, and an op that gives none raises a clear error naming it:

- ``differentiable_backward = True``: its ``backward`` is written for any array module
  (operators, ``.sum``, ``.reshape``, ``ctx.xp.where``, ``ctx.xp.exp``...), and every array
  it saves is an input, an output (or a reshape of one), or a constant of the inputs
  (a mask, indices). The walk runs that same ``backward`` on tensors: ``ctx.xp`` becomes
  ``TensorXP`` (the same names, recorded on the tape), each saved input or output becomes
  its tensor, and the gradients are tensors; every operation of the backward is recorded.
- ``composite(*args, **kwargs)``: the op's forward written with differentiable primitives
  (a fused kernel's plain twin). The walk recomputes it from the node's inputs and takes its
  vector-Jacobian product with ``create_graph=True`` (recursively, through the primitives).
- ``differentiable_forward = True``: the op's own ``forward`` is written for any array
  module, so it is its own composite form (run on tensors with a recording ``xp``).

Nothing off the tape is allowed on tensors: ``TensorXP`` refuses array functions it has
no tensor version of, the backend refuses kernels, a saved floating value that is neither
an input nor an output is refused, and an in-place op refuses a value that requires grad.

The first-order walk (``autograd.run_backward``) is untouched: it runs on raw arrays.
"""
from minigrad.autograd import (_accumulate, _raise_freed, _topological_nodes, enable_grad,
                               saved_roles)


class SecondOrderError(RuntimeError):
    """An op on the path of a ``create_graph=True`` backward has no second-order rule."""


def run_backward(outputs, grad_outputs, inputs=None, local=False):
    """The recording twin of ``autograd.run_backward``: ``grad_outputs`` are tensors; with
    ``inputs=None`` the gradients (tensors with their graph) are accumulated into ``.grad``,
    else returned. ``local=True`` stops at ``inputs``: the walk does not go into the ops that
    made them (the vector-Jacobian product of one op, for ``composite``)."""
    from minigrad.tensor import Tensor
    wanted = None if inputs is None else {id(t): t for t in inputs}
    stop = wanted if local else None
    roots, pending, leaf_grads, leaves = [], {}, {}, {}
    for out, g in zip(outputs, grad_outputs):
        if out._node is None or (stop is not None and id(out) in stop):
            _accumulate(leaf_grads, leaves, out, g)
            continue
        if out._node.freed:
            _raise_freed(out._node)
        roots.append(out._node)
        _add_to_slot(pending, out, g)

    for node in _topological_nodes(roots, stop):
        if node.freed:
            _raise_freed(node)
        slots = pending.pop(id(node), None)
        if slots is None:
            continue
        outs = _output_tensors(node)
        for i, out in enumerate(outs):
            if slots[i] is None:
                shape, dtype = node.out_meta[i]
                slots[i] = Tensor._wrap(node.ctx.xp.zeros(shape, dtype=dtype))
                continue
            if out is None:
                continue
            slots[i] = _run_hooks(out, slots[i])
            if out._retains_grad and inputs is None:
                out.grad = slots[i]
            if wanted is not None and id(out) in wanted and stop is None:
                _accumulate(leaf_grads, leaves, out, slots[i])
        grads = node_vjp(node, outs, slots)
        for t, g in zip(node.inputs, grads):
            if t is None or g is None:
                continue
            g = _to_input(g, t, node)
            if t._node is None or (stop is not None and id(t) in stop):
                _accumulate(leaf_grads, leaves, t, g)
            else:
                _add_to_slot(pending, t, g)

    if inputs is not None:
        return [leaf_grads.get(id(t)) for t in inputs]
    for key, g in leaf_grads.items():
        leaf = leaves[key]
        g = _run_hooks(leaf, g)
        if leaf.requires_grad:
            leaf.grad = g if leaf.grad is None else leaf.grad + g
    return None


def node_vjp(node, outs, grads):
    """The gradient of each input of ``node`` (tensors, recorded) given the gradients of its
    outputs, by the op's ``composite`` form or by its own backward run on tensors."""
    function = node.function
    with enable_grad():
        if function.composite is not None or function.differentiable_forward:
            return _composite_vjp(node, grads)
        if function.differentiable_backward:
            result = function.backward(_TensorContext(node, outs), *grads)
            return result if isinstance(result, tuple) else (result,)
    raise SecondOrderError(
        f"{node.name} has no second-order rule, so a gradient that goes through it cannot be "
        f"differentiated again (create_graph=True); differentiate once, or use ops that give "
        f"second derivatives")


def _composite_vjp(node, grads):
    from minigrad.tensor import Tensor
    args, kwargs = node.ctx.composite_args
    with enable_grad():
        if node.function.composite is not None:
            out = node.function.composite(*args, **kwargs)
        else:                            # a forward written for any array module
            out = node.function.forward(_ForwardContext(node), *args, **kwargs)
    outs = list(out) if isinstance(out, tuple) else [out]
    wrt = [t for t in node.inputs if t is not None]
    pairs = [(o, g) for o, g in zip(outs, grads) if isinstance(o, Tensor) and o.requires_grad]
    got = run_backward([o for o, _ in pairs], [g for _, g in pairs], inputs=wrt, local=True)
    by_id = {id(t): g for t, g in zip(wrt, got)}
    return tuple(None if t is None else by_id.get(id(t)) for t in node.inputs)


class _TensorContext:
    """A node's context seen by its backward when it runs on tensors: the same attributes,
    ``xp`` recording on the tape, saved arrays as the tensors they belong to."""

    def __init__(self, node, outs):
        from minigrad.ops.tensor_xp import TensorXP
        ctx = node.ctx
        self.__dict__.update(ctx.__dict__)
        self.backend = _TensorBackend(ctx.backend, node.name)
        self.xp = TensorXP(ctx.backend)
        self.needs_input_grad = ctx.needs_input_grad
        self.saved_tensors = tuple(_as_tensor(a, role, node, outs)
                                   for a, role in zip(ctx.saved_tensors, saved_roles(ctx)))


class _ForwardContext:
    """The context a ``differentiable_forward`` op's forward gets when it runs on tensors
    as its own composite form: recording ``xp``, no kernels, nothing saved."""

    def __init__(self, node):
        from minigrad.ops.tensor_xp import TensorXP
        self.backend = _TensorBackend(node.ctx.backend, node.name)
        self.xp = TensorXP(node.ctx.backend)
        self.needs_input_grad = node.ctx.needs_input_grad

    def save_for_backward(self, *arrays):
        pass


class _TensorBackend:
    """The backend as a backward on tensors sees it: fused kernels and special functions
    work on arrays only, so reaching for them is an error naming the op (the op needs a
    composite form), never a computation off the tape."""

    def __init__(self, backend, op):
        self._backend, self._op = backend, op

    def __getattr__(self, name):
        if name in ("kernels", "special"):
            raise SecondOrderError(f"{self._op} has no second-order rule: its backward uses a "
                                   f"fused kernel ({name}), so it needs a composite form")
        return getattr(self._backend, name)


def _as_tensor(array, role, node, outs):
    """The tensor a saved array belongs to (as recorded by the forward), or a constant:
    a non-floating value, an input that needs no gradient, or a value the op declares
    constant (``saves_constants``)."""
    from minigrad.tensor import Tensor
    if not hasattr(array, "dtype"):
        return array
    kind, k = role if role is not None else (None, None)
    tensor = node.inputs[k] if kind == "input" else outs[k] if kind == "output" else None
    if tensor is not None:
        if tensor.data is array:
            return tensor
        if array.size == tensor.data.size and array.flags.c_contiguous \
                and tensor.data.flags.c_contiguous:
            return tensor.reshape(array.shape)
        raise SecondOrderError(f"{node.name}: a saved array is a strided view of an input or "
                               "output, which create_graph=True cannot follow")
    if kind == "output" or (kind is None and array.dtype.kind in "fc"
                            and not node.function.saves_constants):
        raise SecondOrderError(
            f"{node.name}: its backward uses a saved value that is neither an input nor an "
            f"output{' (or an output that was freed)' if kind else ''}, so create_graph=True "
            "cannot follow it; the op needs a composite form (or saves_constants = True when "
            "that value does not depend on the inputs)")
    return Tensor._wrap(array)


def _output_tensors(node):
    """The node's output tensors; None for one that is gone (nothing used it, so no
    gradient comes from it)."""
    return [ref() if ref is not None else None for ref in node.out_tensors]


def _to_input(g, t, node):
    """A gradient as a tensor of the input's shape and dtype (recorded)."""
    from minigrad.ops.elementwise import cast
    from minigrad.tensor import Tensor
    if not isinstance(g, Tensor):
        g = Tensor._wrap(node.ctx.xp.asarray(g))
    if g.shape != t.shape:
        g = _sum_to_shape(g, t.shape, node.name)
    if g.dtype != t.dtype and g.dtype.kind == "c" and t.dtype.kind != "c":
        from minigrad.ops.complex import real
        g = real(g)      # a real input's gradient from a complex computation
    if g.dtype != t.dtype:
        g = cast(g, t.dtype)
    return g


def _sum_to_shape(g, shape, op_name):
    extra = g.ndim - len(shape)
    if extra < 0:
        raise RuntimeError(f"{op_name}.backward returned a gradient of shape {g.shape} for an "
                           f"input of shape {shape}")
    axes = list(range(extra)) + [extra + i for i, n in enumerate(shape)
                                 if n == 1 and g.shape[extra + i] != 1]
    if axes:
        g = g.sum(axis=tuple(axes), keepdims=True)
    return g.reshape(shape)


def _add_to_slot(pending, t, g):
    slots = pending.setdefault(id(t._node), [None] * t._node.n_outputs)
    j = t._out_index
    slots[j] = g if slots[j] is None else slots[j] + g


def _run_hooks(tensor, g):
    for hook in tensor._hooks:
        result = hook(g)
        if result is not None:
            g = result
    return g
