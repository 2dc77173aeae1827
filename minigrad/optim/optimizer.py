"""``Optimizer``: the base of every update rule (PyTorch's ``torch.optim.Optimizer`` shape).

An optimizer holds ``param_groups`` (a list of dicts: ``{"params": [...], "lr": ..., ...}``,
each with its own options, the constructor's keywords filling what a group leaves out) and
``state`` (one dict per parameter: momentum buffers, moment estimates, step counters).

    opt = SGD([{"params": body, "weight_decay": 5e-4},
               {"params": biases, "weight_decay": 0}], lr=0.1, momentum=0.9)
    loss.backward(); opt.step(); opt.zero_grad()

A rule subclass only writes ``_update(p, g, state, group, xp)``: the new value of one
parameter's array ``p`` (changed in place) from its gradient array ``g``, on the parameter's
own array module ``xp`` (numpy or cupy). Everything else lives here: skipping parameters
without a gradient, the closure, post-step hooks, and the state dict.

Second moments are kept as their square roots (√v, updated with ``hypot``): g² overflows
float32 for |g| ≳ 1.8e19 (float16 for |g| > 256), √v never does, so a huge but finite
gradient still gives the step the update rule says instead of none.

Updates never promote a float32 parameter to float64: scalars enter the arithmetic as Python
floats (NumPy 2 keeps the array's dtype then), state arrays take the parameter's dtype.
State buffers are made as arrays (``zeros_like``, ``xp.array``) and updated in place: NumPy
returns a scalar, not a 0-d array, from arithmetic on 0-d arrays, so ``buf = g + λθ`` would
not be updated by a later ``buf *= μ`` for a scalar parameter.
"""
from collections import OrderedDict

from minigrad.autograd import enable_grad, no_grad
from minigrad.backends import backend_of_array
from minigrad.layers.module import _Handle
from minigrad.tensor import Tensor


class Optimizer:
    """Base class: ``Optimizer(params, defaults)``.

    ``params`` is an iterable of parameters, or of dicts (parameter groups) with a
    ``"params"`` entry and any per-group options; ``defaults`` gives every option's
    value where a group does not set it.
    """

    def __init__(self, params, defaults):
        self.defaults = dict(defaults)
        self.param_groups = []
        self.state = {}
        self._step_post_hooks = OrderedDict()
        if isinstance(params, Tensor):
            raise TypeError(f"{type(self).__name__}: params must be an iterable of tensors or "
                            f"of dicts (parameter groups), got a single tensor of shape "
                            f"{tuple(params.shape)}; wrap it in a list")
        groups = list(params)
        if not groups:
            raise ValueError(f"{type(self).__name__} got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {v}" for k, v in sorted(group.items()) if k != "params"]
        return "\n".join(lines) + "\n)"

    # ------------------------------------------------------------------ groups
    def add_param_group(self, group):
        """Add a parameter group (a dict with ``"params"``); the constructor's defaults fill
        the options it leaves out. The dict itself is kept (schedulers write into it)."""
        if not isinstance(group, dict):
            raise TypeError(f"{type(self).__name__}.add_param_group: a group is a dict, got "
                            f"{type(group).__name__}")
        params = group.get("params")
        params = [params] if isinstance(params, Tensor) else list(params or ())
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"{type(self).__name__}: can only optimize tensors, got "
                                f"{type(p).__name__}")
            if not p.is_leaf:
                raise ValueError(f"{type(self).__name__}: can't optimize a non-leaf tensor of "
                                 f"shape {tuple(p.shape)} (made by {p.grad_fn})")
        group["params"] = params
        for name, value in self.defaults.items():
            group.setdefault(name, value)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if len({id(p) for p in params}) != len(params) or seen & {id(p) for p in params}:
            raise ValueError(f"{type(self).__name__}: some parameters appear in more than one "
                             "parameter group (or twice in one)")
        self.param_groups.append(group)

    def _params(self):
        return [p for group in self.param_groups for p in group["params"]]

    def _params_with_grad(self):
        """(group, parameter) for every parameter that has a gradient to apply."""
        return [(group, p) for group in self.param_groups for p in group["params"]
                if p.grad is not None and p.requires_grad]

    def zero_grad(self, set_to_none=True):
        """Forget every parameter's gradient (``None``), or zero it in place."""
        for p in self._params():
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                p.grad.data[...] = 0

    # -------------------------------------------------------------------- step
    def step(self, closure=None):
        """One update of every parameter that has a gradient. ``closure`` (optional) is
        called first, with grad mode on: it re-evaluates the model (zero_grad, forward,
        backward) and returns the loss, which ``step`` returns."""
        return self._run_with_hooks(self._step, closure)

    def _step(self, closure=None):
        loss = _evaluate(closure)
        with no_grad():
            for group, p in self._params_with_grad():
                self._update(p.data, p.grad.data, self.state.setdefault(p, {}), group,
                             backend_of_array(p.data).xp)
                p._version += 1
        return loss

    def _update(self, p, g, state, group, xp):
        """Change the parameter array ``p`` in place from its gradient array ``g``."""
        raise NotImplementedError(f"{type(self).__name__} does not define _update()")

    def _run_with_hooks(self, fn, *args, **kwargs):
        result = fn(*args, **kwargs)
        with no_grad():
            for hook in list(self._step_post_hooks.values()):
                hook(self, args, kwargs)
        return result

    def register_step_post_hook(self, hook):
        """Call ``hook(optimizer, args, kwargs)`` after every ``step`` (under ``no_grad``):
        projections, renormalization, mask re-application. Returns a handle with ``remove()``."""
        return _Handle(self._step_post_hooks, hook)

    # -------------------------------------------------------------- state dict
    def state_dict(self):
        """A snapshot that ``minigrad.save`` can write: ``{"state": {index: {name: tensor or
        number}}, "param_groups": [{option: value, "params": [index, ...]}]}``. Parameters are
        referred to by their position in the groups; arrays are copied."""
        index = {id(p): i for i, p in enumerate(self._params())}
        groups = []
        for group in self.param_groups:
            saved = {k: _export(v) for k, v in group.items() if k != "params"}
            saved["params"] = [index[id(p)] for p in group["params"]]
            groups.append(saved)
        state = {index[id(p)]: {k: _export(v) for k, v in s.items()}
                 for p, s in self.state.items() if id(p) in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restore options and per-parameter state from ``state_dict`` (made by
        ``state_dict()`` of an optimizer with the same groups of the same shapes). Arrays
        are copied onto each parameter's backend and cast to its floating dtype."""
        saved = state_dict["param_groups"]
        if len(saved) != len(self.param_groups):
            raise ValueError(f"{type(self).__name__}.load_state_dict: the state has "
                             f"{len(saved)} parameter groups, the optimizer "
                             f"{len(self.param_groups)}")
        params = {}
        for i, (group, old) in enumerate(zip(self.param_groups, saved)):
            if len(group["params"]) != len(old["params"]):
                raise ValueError(f"{type(self).__name__}.load_state_dict: group {i} has "
                                 f"{len(old['params'])} parameters in the state, "
                                 f"{len(group['params'])} in the optimizer")
            for p, key in zip(group["params"], old["params"]):
                params[int(key)] = p
            group.update((k, v) for k, v in old.items() if k != "params")
        self.state = {}
        for key, s in state_dict["state"].items():
            p = params[int(key)]
            self.state[p] = {k: _import(v, p) for k, v in s.items()}


def _evaluate(closure):
    if closure is None:
        return None
    with enable_grad():
        return closure()


def _is_array(x):
    return hasattr(x, "__array_interface__") or hasattr(x, "__cuda_array_interface__")


def _export(value):
    """A state or option value as ``minigrad.save`` can write it (arrays as copied tensors)."""
    if isinstance(value, Tensor):
        value = value.data
    return Tensor._wrap(value.copy()) if _is_array(value) else value


def _import(value, p):
    """A saved state value back as an array on ``p``'s backend (floats in ``p``'s dtype)."""
    array = value.data if isinstance(value, Tensor) else value
    if not _is_array(array):
        return value
    array = backend_of_array(p.data).asarray(array)
    dtype = p.data.dtype if array.dtype.kind == "f" else array.dtype
    return array.astype(dtype, copy=True)


def tensor_norm(xp, a):
    """The L2 (Frobenius) norm of an array as a 0-d value of its dtype (no host sync), with
    no overflow of a² (|a| ≳ 1.8e19 in float32): a is divided by a power of two near max |a|
    first, which leaves every rounding as it was where nothing overflows."""
    s = power_of_two_scale(xp, xp.abs(a).max() if a.size else xp.zeros((), a.dtype))
    b = a / s
    return s * xp.sqrt((b * b).sum())


def power_of_two_scale(xp, amax):
    """2^e with amax = f·2^e, ½ ≤ f < 1 (1 where amax is 0 or not finite): dividing by it
    is exact and brings amax into [½, 1). At the top of the dtype's range (amax ≥ 2^(m−1),
    m = finfo.maxexp) 2^e would overflow: e is capped at m − 1 there, and amax lands in [1, 2)."""
    _, e = xp.frexp(amax)
    e = xp.minimum(e, xp.finfo(amax.dtype).maxexp - 1)
    ok = (amax > 0) & xp.isfinite(amax)
    return xp.where(ok, xp.ldexp(xp.ones_like(amax), e), xp.ones_like(amax))


def safe_ratio(xp, num, den, ok):
    """``num / den`` where ``ok``, 1 elsewhere (trust ratios with a zero norm)."""
    return xp.where(ok, num / xp.where(ok, den, 1), 1)
