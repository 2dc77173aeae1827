"""Functional transforms on top of the tape (``torch.func`` / ``torch.autograd.functional``
in spirit): vector-Jacobian and Jacobian-vector products, Hessian-vector products, full
Jacobians and Hessians of small functions, calling a Module with other weights, and
per-example gradients.

Every transform is a few backward passes; the ones that differentiate a gradient use
``create_graph=True`` (catalog rows B041 per-sample gradients, B042 functional_call,
B044 Hessian-vector products).
"""
import contextlib

from minigrad.autograd import enable_grad, grad
from minigrad.backends import backend_of_array
from minigrad.tensor import Tensor


def _as_list(x):
    return (list(x), False) if isinstance(x, (list, tuple)) else ([x], True)


def _leaves(primals):
    """Fresh leaves with the primals' values: the transform differentiates with respect
    to these, whatever produced the primals."""
    return [p.detach().requires_grad_() if p.dtype.kind in "fc" else p.detach() for p in primals]


def vjp(f, primals, v, create_graph=False):
    """(f(*primals), vᵀ·J): the vector-Jacobian product of ``f`` at ``primals`` with ``v``
    (one cotangent per output of f). ``primals`` a tensor or a list of tensors."""
    primals, single = _as_list(primals)
    xs = _leaves(primals)
    with enable_grad():
        out = f(*xs)
    outs, _ = _as_list(out)
    vs, _ = _as_list(v)
    grads = grad(outs, xs, grad_outputs=vs, create_graph=create_graph, allow_unused=True)
    grads = [_zeros_like(x) if g is None else g for x, g in zip(xs, grads)]
    return out, (grads[0] if single else grads)


def jvp(f, primals, tangents, create_graph=False):
    """(f(*primals), J·t): the Jacobian-vector product, by the double-VJP trick: g(u) = Jᵀu
    is linear in u, so ∂⟨g(u), t⟩/∂u = J·t (two backward passes, the first recorded)."""
    primals, single = _as_list(primals)
    tangents, _ = _as_list(tangents)
    xs = _leaves(primals)
    with enable_grad():
        out = f(*xs)
        outs, single_out = _as_list(out)
        us = [_zeros_like(o).requires_grad_() for o in outs]
        gs = grad(outs, xs, grad_outputs=us, create_graph=True, allow_unused=True)
        dot = _sum_products(gs, tangents)
        if dot is None:
            jt = [_zeros_like(o) for o in outs]
        else:
            jt = grad(dot, us, create_graph=create_graph, allow_unused=True)
            jt = [_zeros_like(o) if g is None else g for o, g in zip(outs, jt)]
    return out, (jt[0] if single_out else jt)


def hvp(f, primals, v):
    """(f(*primals), H·v) for a scalar function ``f``: the gradient of ⟨∇f, v⟩, two backward
    passes (the first with ``create_graph=True``); H is never formed."""
    primals, single = _as_list(primals)
    vs, _ = _as_list(v)
    xs = _leaves(primals)
    with enable_grad():
        out = f(*xs)
        _check_scalar("hvp", out)
        hv = hessian_vector(out, xs, vs)
    return out.detach(), (hv[0] if single else hv)


def hessian_vector(loss, xs, vs):
    """H·v for the Hessian H of the scalar ``loss`` (recorded on the tape) with respect to
    the tensors ``xs``, ``vs`` one tensor or array per x: the gradient of ⟨∇loss, v⟩, two
    backward passes; zeros for an x the loss does not depend on. ``hvp`` is this for a
    function of fresh leaves; optimizers call it on their own parameters in place."""
    with enable_grad():
        gs = grad(loss, xs, create_graph=True, allow_unused=True)
        dot = _sum_products(gs, vs)
        if dot is None or not dot.requires_grad:
            return [_zeros_like(x) for x in xs]
        hv = grad(dot, xs, allow_unused=True)
    return [_zeros_like(x) if g is None else g for x, g in zip(xs, hv)]


def jacobian(f, primals):
    """The full Jacobian of ``f`` (one output) at ``primals``: shape out.shape + x.shape
    per primal, one backward pass per output element (for small problems)."""
    primals, single = _as_list(primals)
    xs = _leaves(primals)
    with enable_grad():
        out = f(*xs)
    xp = backend_of_array(out.data).xp
    rows = []
    for k in range(out.numel()):
        onehot = xp.zeros(out.numel(), dtype=out.dtype)
        onehot[k] = 1
        gs = grad(out, xs, grad_outputs=Tensor._wrap(onehot.reshape(out.shape)),
                  retain_graph=True, allow_unused=True)
        rows.append([(xp.zeros(x.shape, x.dtype) if g is None else g.data) for x, g in zip(xs, gs)])
    jac = [Tensor._wrap(xp.stack([r[i] for r in rows]).reshape(out.shape + x.shape))
           for i, x in enumerate(xs)]
    return jac[0] if single else jac


def hessian(f, primals):
    """The full Hessian of a scalar ``f`` at ``primals`` (one primal): shape x.shape + x.shape,
    the Jacobian of the gradient (small problems)."""
    def gradient(x):
        with enable_grad():
            out = f(x)
            _check_scalar("hessian", out)
            return grad(out, x, create_graph=True)
    return jacobian(gradient, primals)


@contextlib.contextmanager
def _swapped(module, tensors):
    """Every named parameter/buffer of ``module`` replaced by the given tensor for the block."""
    saved = []
    try:
        for name, t in tensors.items():
            owner, attr = _owner(module, name)
            store = owner._parameters if attr in owner._parameters else owner._buffers
            if attr not in store:
                raise KeyError(f"functional_call: {type(module).__name__} has no parameter or "
                               f"buffer named {name!r}")
            saved.append((owner, store, attr, store[attr]))
            store[attr] = t
            object.__setattr__(owner, attr, t)
        yield
    finally:
        for owner, store, attr, original in reversed(saved):
            store[attr] = original
            object.__setattr__(owner, attr, original)


def _owner(module, dotted):
    *path, attr = dotted.split(".")
    for part in path:
        module = module._modules[part]
    return module, attr


def functional_call(module, params_and_buffers, args, kwargs=None):
    """``module(*args)`` with some of its parameters and buffers replaced by the tensors in
    ``params_and_buffers`` (a dict from dotted names, as in ``named_parameters()``). The
    tensors may be anything on the tape (a hypernetwork's output, θ − η∇L for an unrolled
    step, θ + ε for SAM): gradients flow to whatever made them. The module is unchanged
    afterwards (``torch.func.functional_call``)."""
    args = args if isinstance(args, tuple) else (args,)
    with _swapped(module, dict(params_and_buffers)):
        return module(*args, **(kwargs or {}))


# ------------------------------------------------------------------ per-example gradients
def per_sample_grads(model, loss_fn, x, y, method="auto"):
    """The gradient of every example's loss with respect to every parameter:
    ``{name: tensor of shape (N, *param.shape)}``, equal to N backward passes on batches of
    one. ``loss_fn(output, target)`` returns the per-example losses (shape (N,), e.g.
    ``cross_entropy(..., reduction='none')``).

    ``method='vectorized'`` (or 'auto', when every module with parameters is a Linear or a
    convolution) runs one backward for the batch and forms each example's gradient from the
    layer's input and output gradient: dW_i = Σ_t dy_{i,t} x_{i,t}ᵀ for Linear, dY_i·cols_iᵀ
    with per-example im2col columns for a convolution. Examples must not interact (no
    BatchNorm in training mode). ``method='loop'`` runs the N backward passes."""
    names = [n for n, p in model.named_parameters() if p.requires_grad]
    if method == "auto":
        method = "vectorized" if _vectorizable(model) else "loop"
    if method == "loop":
        return _per_sample_loop(model, loss_fn, x, y, names)
    if method != "vectorized":
        raise ValueError(f"per_sample_grads: method must be 'auto', 'loop' or 'vectorized', "
                         f"got {method!r}")
    if not _vectorizable(model):
        raise ValueError("per_sample_grads: the vectorized path supports models whose "
                         "parameters all belong to Linear, Conv1d or Conv2d layers; use "
                         "method='loop'")
    return {n: Tensor._wrap(g) for n, g in _per_sample_layers(model, loss_fn, x, y, names)}


def per_sample_grad_norms(model, loss_fn, x, y):
    """‖g_i‖ over all parameters for every example (shape (N,)), without forming the
    per-example gradients of Linear layers on vectors: ‖Σ_t dy_t x_tᵀ‖² is
    Σ_{t,s} (dy_t·dy_s)(x_t·x_s), which for one position is ‖dy‖²‖x‖². Other layers sum
    the squares of their per-example gradients."""
    if not _vectorizable(model):
        grads = per_sample_grads(model, loss_fn, x, y, method="loop")
        total = None
        for g in grads.values():
            sq = (g.data * g.data).reshape(g.shape[0], -1).sum(axis=1)
            total = sq if total is None else total + sq
        return Tensor._wrap(backend_of_array(total).xp.sqrt(total))
    names = [n for n, p in model.named_parameters() if p.requires_grad]
    total = None
    for _, sq in _per_sample_layers(model, loss_fn, x, y, names, squared_norms=True):
        total = sq if total is None else total + sq
    return Tensor._wrap(backend_of_array(total).xp.sqrt(total))


def _per_sample_loop(model, loss_fn, x, y, names):
    params = dict(model.named_parameters())
    rows = []
    for i in range(x.shape[0]):
        with enable_grad():
            loss = loss_fn(model(x[i:i + 1]), y[i:i + 1]).sum()
            gs = grad(loss, [params[n] for n in names], allow_unused=True)
        rows.append([(params[n].data * 0 if g is None else g.data) for n, g in zip(names, gs)])
    xp = backend_of_array(params[names[0]].data).xp if names else None
    return {n: Tensor._wrap(xp.stack([r[k] for r in rows])) for k, n in enumerate(names)}


def _layer_kinds():
    from minigrad.layers.conv import Conv1d, Conv2d
    from minigrad.layers.linear import Linear
    return Linear, (Conv1d, Conv2d)


def _vectorizable(model):
    linear, convs = _layer_kinds()
    for m in model.modules():
        own = [p for p in m._parameters.values() if p is not None and p.requires_grad]
        if own and not isinstance(m, (linear,) + convs):
            return False
    return True


def _per_sample_layers(model, loss_fn, x, y, names, squared_norms=False):
    """Yield (parameter name, per-example gradient array) — or, with ``squared_norms``,
    (layer, per-example squared norm of its gradients) — from one batched backward."""
    linear, convs = _layer_kinds()
    captured, handles = {}, []
    for prefix, m in model.named_modules():
        if isinstance(m, (linear,) + convs) and any(p is not None and p.requires_grad
                                                   for p in m._parameters.values()):
            def keep(module, inputs, out, prefix=prefix):
                captured[prefix] = [module, inputs[0].data, None]
                out.register_hook(lambda g: captured[prefix].__setitem__(2, g.data))
            handles.append(m.register_forward_hook(keep))
    try:
        with enable_grad():
            losses = loss_fn(model(x), y)
            if losses.ndim != 1 or losses.shape[0] != x.shape[0]:
                raise ValueError(f"per_sample_grads: loss_fn must return one loss per example, "
                                 f"shape ({x.shape[0]},), got {tuple(losses.shape)}; use "
                                 "reduction='none'")
            grad(losses.sum(), [p for n, p in model.named_parameters() if n in names],
                 allow_unused=True)
    finally:
        for h in handles:
            h.remove()
    for prefix, (module, inp, gout) in captured.items():
        dot = (prefix + ".") if prefix else ""
        if isinstance(module, linear):
            parts = _linear_parts(module, inp, gout, squared_norms)
        else:
            parts = _conv_parts(module, inp, gout, squared_norms)
        if squared_norms:
            yield prefix, sum(parts.values())
        else:
            for attr, g in parts.items():
                if dot + attr in names:
                    yield dot + attr, g


def _linear_parts(module, x, gy, squared_norms):
    """y = x Wᵀ + b over (N, T..., in): dW_i = Σ_t gy_{i,t} x_{i,t}ᵀ, db_i = Σ_t gy_{i,t}."""
    xp = backend_of_array(gy).xp
    n = x.shape[0]
    x3, g3 = x.reshape(n, -1, x.shape[-1]), gy.reshape(n, -1, gy.shape[-1])
    parts = {}
    if module.weight.requires_grad:
        if squared_norms:     # ‖Σ_t g_t x_tᵀ‖² = Σ_{t,s} (g_t·g_s)(x_t·x_s): no (out, in) matrix
            parts["weight"] = (xp.matmul(g3, g3.transpose(0, 2, 1))
                               * xp.matmul(x3, x3.transpose(0, 2, 1))).sum(axis=(1, 2))
        else:
            parts["weight"] = xp.matmul(g3.transpose(0, 2, 1), x3)
    if module.bias is not None and module.bias.requires_grad:
        gb = g3.sum(axis=1)
        parts["bias"] = (gb * gb).sum(axis=1) if squared_norms else gb
    return parts


def _conv_parts(module, x, gy, squared_norms):
    """Per-example convolution gradients: dW_i = dY_i · cols_iᵀ per group, with cols_i the
    example's im2col columns; db_i = Σ_positions dY_i."""
    from minigrad.backends.kernels.conv_ref import im2col
    from minigrad.ops.conv import _conv_args
    xp = backend_of_array(gy).xp
    w = module.weight
    op = "conv1d" if x.ndim == 3 else "conv2d"
    stride, pads, dilation = _conv_args(op, x.ndim - 2, Tensor._wrap(x), w, module.bias,
                                        module.stride, module.padding, module.dilation,
                                        module.groups)
    x4 = x if x.ndim == 4 else x.reshape(x.shape[0], x.shape[1], 1, x.shape[2])
    kernel = w.shape[2:] if w.ndim == 4 else (1,) + w.shape[2:]
    n, g, o = x.shape[0], module.groups, w.shape[0]
    cols = im2col(x4, kernel, stride, pads, dilation)
    cols = cols.reshape(n, g, -1, cols.shape[-2] * cols.shape[-1])          # (N, G, K, L)
    dy = gy.reshape(n, g, o // g, -1)                                        # (N, G, O/G, L)
    parts = {}
    if w.requires_grad:
        gw = xp.matmul(dy, cols.transpose(0, 1, 3, 2)).reshape((n,) + w.shape)
        parts["weight"] = (gw * gw).reshape(n, -1).sum(axis=1) if squared_norms else gw
    if module.bias is not None and module.bias.requires_grad:
        gb = dy.reshape(n, o, -1).sum(axis=2)
        parts["bias"] = (gb * gb).sum(axis=1) if squared_norms else gb
    return parts


# ------------------------------------------------------------------ helpers
def _zeros_like(t):
    return Tensor._wrap(backend_of_array(t.data).xp.zeros(t.shape, dtype=t.dtype))


def _sum_products(gs, vs):
    total = None
    for g, v in zip(gs, vs):
        if g is None:
            continue
        term = (g * (v if isinstance(v, Tensor) else Tensor(v))).sum()
        total = term if total is None else total + term
    return total


def _check_scalar(op, out):
    if not isinstance(out, Tensor) or out.numel() != 1:
        raise ValueError(f"{op}: f must return a tensor with one element, got "
                         f"{getattr(out, 'shape', type(out).__name__)}")
