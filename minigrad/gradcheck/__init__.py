"""Finite-difference gradient checks: the ground truth for every backward.

``gradcheck(fn, inputs)`` compares the gradients that minigrad's backward
computes for every input with ``requires_grad=True`` against central differences
(f(x + εe) - f(x - εe)) / 2ε in float64:

- small problems: the full Jacobian, one backward per output element and two
  forwards per input element;
- larger outputs: the vector-Jacobian product with a random output weighting;
- larger inputs too: directional derivatives along a few random directions.

It reports the worst element (which input, index, analytic and numeric value,
absolute and relative error). ``python -m minigrad.gradcheck`` runs it on every
registered op (or ``--op NAME ...``) and exits non-zero when one fails.
"""
import dataclasses
import functools

import numpy

from minigrad import autograd
from minigrad.backends import backend_of_array, get_backend, use_backend
from minigrad.tensor import Tensor


class GradcheckError(AssertionError):
    """The analytic gradient disagrees with finite differences."""


@dataclasses.dataclass
class Worst:
    input: int
    index: tuple
    analytic: float
    numeric: float
    abs_err: float
    rel_err: float

    def __str__(self):
        return (f"input {self.input} at index {self.index}: analytic {self.analytic:.10g}, "
                f"numeric {self.numeric:.10g} (abs err {self.abs_err:.3g}, "
                f"rel err {self.rel_err:.3g})")


@dataclasses.dataclass
class GradcheckResult:
    ok: bool
    mode: str          # 'jacobian', 'vjp' or 'directional'
    worst: Worst       # the element with the largest error relative to its tolerance
    message: str = ""

    def __bool__(self):
        return self.ok


def _outputs(fn, inputs, kwargs):
    out = fn(*inputs, **kwargs)
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    return [o for o in outs if isinstance(o, Tensor) and o.dtype.kind == "f"]


def _flat_output(fn, inputs, kwargs):
    with autograd.no_grad():
        return numpy.concatenate([o.numpy().ravel() for o in _outputs(fn, inputs, kwargs)])


def _analytic_vjp(outs, wrt, weights):
    """Gradients of Σ_k <outs_k, weights_k> with respect to ``wrt`` (as NumPy arrays)."""
    pairs = [(o, w) for o, w in zip(outs, weights) if o.requires_grad]
    if not pairs:
        return [numpy.zeros(t.shape) for t in wrt]
    grads = autograd.grad([o for o, _ in pairs], wrt,
                          grad_outputs=[backend_of_array(o.data).asarray(w) for o, w in pairs],
                          retain_graph=True, allow_unused=True)
    return [numpy.zeros(t.shape) if g is None else g.numpy() for t, g in zip(wrt, grads)]


def gradcheck(fn, inputs, kwargs=None, eps=1e-6, atol=1e-5, rtol=1e-4,
              jacobian_limit=4096, elementwise_limit=600, n_directions=4, seed=0,
              raise_on_fail=True):
    """Check ``fn``'s backward against central finite differences.

    ``inputs`` are tensors (float64 for the ones checked); every input with
    ``requires_grad=True`` is checked. ``fn`` may return a tensor or a tuple of
    tensors. An element passes when |analytic - numeric| ≤ atol + rtol·|numeric|.
    Returns a ``GradcheckResult``; raises ``GradcheckError`` on failure unless
    ``raise_on_fail=False``.
    """
    kwargs = kwargs or {}
    wrt = [t for t in inputs if isinstance(t, Tensor) and t.requires_grad]
    if not wrt:
        raise ValueError("gradcheck: no input has requires_grad=True")
    for t in wrt:
        if t.dtype != numpy.float64:
            raise TypeError(f"gradcheck needs float64 inputs (finite differences in float32 "
                            f"are too coarse), got {t.dtype} for an input of shape {t.shape}")
    rng = numpy.random.default_rng(seed)
    outs = _outputs(fn, inputs, kwargs)
    if not outs:
        raise ValueError("gradcheck: fn returned no floating-point tensor")
    n_out = sum(o.numel() for o in outs)
    n_in = sum(t.numel() for t in wrt)

    def numeric_along(t, direction):
        """(L(x + ε d) - L(x - ε d)) / 2ε, where L is the flattened output."""
        base = t.data.copy()
        d = backend_of_array(t.data).asarray(direction)
        t.data[...] = base + eps * d
        plus = _flat_output(fn, inputs, kwargs)
        t.data[...] = base - eps * d
        minus = _flat_output(fn, inputs, kwargs)
        t.data[...] = base
        return (plus - minus) / (2 * eps)

    errors = []  # (input, index, analytic, numeric)
    if n_out * n_in <= jacobian_limit:
        mode = "jacobian"
        rows = []
        for k in range(n_out):
            onehot = numpy.zeros(n_out)
            onehot[k] = 1.0
            rows.append(_analytic_vjp(outs, wrt, _split_like(onehot, outs)))
        for i, t in enumerate(wrt):
            analytic = numpy.stack([r[i].ravel() for r in rows])  # (n_out, t.size)
            for j in range(t.numel()):
                e = numpy.zeros(t.numel())
                e[j] = 1.0
                col = numeric_along(t, e.reshape(t.shape))
                for k in range(n_out):
                    errors.append((i, (k,) + numpy.unravel_index(j, t.shape),
                                   analytic[k, j], col[k]))
    else:
        weights = rng.standard_normal(n_out)
        analytic = _analytic_vjp(outs, wrt, _split_like(weights, outs))
        if n_in <= elementwise_limit:
            mode = "vjp"
            for i, t in enumerate(wrt):
                for j in range(t.numel()):
                    e = numpy.zeros(t.numel())
                    e[j] = 1.0
                    num = numeric_along(t, e.reshape(t.shape)) @ weights
                    errors.append((i, numpy.unravel_index(j, t.shape), analytic[i].ravel()[j], num))
        else:
            mode = "directional"
            for i, t in enumerate(wrt):
                for d in range(n_directions):
                    v = rng.standard_normal(t.shape)
                    num = numeric_along(t, v) @ weights
                    errors.append((i, ("direction", d), float((analytic[i] * v).sum()), num))

    worst, ok = None, True
    for i, index, a, n in errors:
        err = abs(a - n)
        ratio = err / (atol + rtol * abs(n))
        if worst is None or ratio > worst[0]:
            worst = (ratio, Worst(i, tuple(int(x) if not isinstance(x, str) else x for x in index),
                                  float(a), float(n), float(err), float(err / max(abs(n), 1e-12))))
        if ratio > 1:
            ok = False
    result = GradcheckResult(ok, mode, worst[1])
    if not ok:
        result.message = f"gradcheck failed ({mode}): worst is {worst[1]}"
        if raise_on_fail:
            raise GradcheckError(result.message)
    return result


def gradgradcheck(fn, inputs, kwargs=None, seed=0, **tolerances):
    """Check second derivatives: the gradient of h(x) = Σ_i <∂(Σ_k <f_k(x), u_k>)/∂x_i, v_i>
    (random u, v), which minigrad gets by differentiating its own first-order backward
    (``create_graph=True``), against central differences of h, which need first-order
    gradients only. That is the vector-Hessian (or Jacobian-of-VJP) product of ``fn``.
    Same arguments and result as ``gradcheck``; inputs are float64."""
    kwargs = kwargs or {}
    wrt_positions = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    if not wrt_positions:
        raise ValueError("gradgradcheck: no input has requires_grad=True")
    rng = numpy.random.default_rng(seed + 1)
    outs = _outputs(fn, inputs, kwargs)
    u = [rng.standard_normal(o.shape) for o in outs]
    v = [rng.standard_normal(inputs[i].shape) for i in wrt_positions]

    def first_order_dot(*xs):
        with autograd.enable_grad():
            outs = _outputs(fn, xs, kwargs)
            pairs = [(o, w) for o, w in zip(outs, u) if o.requires_grad]
            wrt = [xs[i] for i in wrt_positions]
            grads = autograd.grad([o for o, _ in pairs], wrt,
                                  grad_outputs=[backend_of_array(o.data).asarray(w) for o, w in pairs],
                                  create_graph=True, allow_unused=True) if pairs else []
            total = None
            for g, vi in zip(grads, v):
                if g is not None:
                    term = (g * backend_of_array(g.data).asarray(vi)).sum()
                    total = term if total is None else total + term
            return total if total is not None else Tensor._wrap(
                backend_of_array(wrt[0].data).xp.zeros(()))

    return gradcheck(first_order_dot, inputs, **tolerances)


def _split_like(flat, outs):
    parts, start = [], 0
    for o in outs:
        parts.append(flat[start:start + o.numel()].reshape(o.shape))
        start += o.numel()
    return parts


def check_backward_rule(fn, inputs, rule, kwargs=None, atol=1e-8, rtol=1e-6, seed=0):
    """For a ``custom`` op: compare minigrad's backward with the documented ``rule``.

    ``rule(arrays, kwargs, gy)`` gets the inputs as NumPy arrays, the kwargs and a
    random output gradient, and returns the documented gradient of each input
    that requires one (NumPy arrays, in order)."""
    kwargs = kwargs or {}
    wrt = [t for t in inputs if isinstance(t, Tensor) and t.requires_grad]
    out = _outputs(fn, inputs, kwargs)[0]
    gy = numpy.random.default_rng(seed).standard_normal(out.shape)
    analytic = autograd.grad([out], wrt, grad_outputs=[backend_of_array(out.data).asarray(gy)],
                             allow_unused=True)
    arrays = [t.numpy() if isinstance(t, Tensor) else t for t in inputs]
    expected = rule(arrays, kwargs, gy)
    worst_err = 0.0
    for i, (a, e) in enumerate(zip(analytic, expected)):
        a = numpy.zeros(wrt[i].shape) if a is None else a.numpy()
        err = numpy.abs(a - e) - (atol + rtol * numpy.abs(e))
        if err.max() > 0:
            j = numpy.unravel_index(int(err.argmax()), err.shape)
            raise GradcheckError(f"backward differs from the documented rule at input {i}, "
                                 f"index {tuple(int(x) for x in j)}: got {a[j]:.10g}, "
                                 f"rule says {e[j]:.10g}")
        worst_err = max(worst_err, float(numpy.abs(a - e).max()))
    return worst_err


# ------------------------------------------------------------------ registry cases
def case_inputs(case, backend="numpy", dtype="float64"):
    """Turn a registry ``Case`` into (args, kwargs) of tensors on ``backend``: float
    arrays become ``dtype`` tensors that require grad (those in ``case.wrt``, or all),
    integer/bool arrays become constant tensors, lists of arrays lists of tensors."""
    b = get_backend(backend)
    position = [0]

    def convert(a, differentiable):
        if isinstance(a, numpy.ndarray):
            if a.dtype.kind == "f":
                pos = position[0]
                position[0] += 1
                wanted = differentiable and (case.wrt is None or pos in case.wrt)
                return Tensor._wrap(b.asarray(a.astype(dtype))).requires_grad_(wanted)
            return Tensor._wrap(b.asarray(a))
        if isinstance(a, list) and a and all(isinstance(x, numpy.ndarray) for x in a):
            return [convert(x, differentiable) for x in a]
        if isinstance(a, tuple):
            return tuple(b.asarray(x) if isinstance(x, numpy.ndarray) else x for x in a)
        return a

    args = [convert(a, True) for a in case.args]
    kwargs = {k: convert(v, False) for k, v in case.kwargs.items()}
    return args, kwargs


def _flat_tensors(args):
    for a in args:
        if isinstance(a, list):
            yield from a
        else:
            yield a


def unavailable(entry, backend):
    """Why ``entry`` cannot be checked on ``backend`` on this machine, or None. One case:
    the transforms of minigrad.fft on the CPU stand-in for CuPy (``cupy.__version__`` ends in
    '+fake'), which does not emulate cupy.fft. On real CuPy they run, and fail if broken.
    Registered ops outside minigrad.fft that compute an FFT are named in ``USES_FFT``."""
    if entry.name in USES_FFT:
        return fft_unavailable(backend)
    if entry.fn.__module__ != "minigrad.fft" or entry.name.endswith("shift"):
        return None
    return fft_unavailable(backend)


# Registered ops defined outside minigrad.fft whose forward or backward calls xp.fft.
USES_FFT = {"pc_norm"}


def fft_unavailable(backend):
    """The reason the backend's FFT cannot run here (the CuPy stand-in), or None."""
    xp = get_backend(backend).xp
    if backend == "cupy" and str(getattr(xp, "__version__", "")).endswith("+fake"):
        return ("the CPU stand-in for CuPy has no cupy.fft; the FFT checks run on a real GPU "
                "(../shared/tools/cupy/gpu_suite.sh)")
    return None


def check_entry(entry, backend="numpy", order=1):
    """Run every generated case of a registry entry. Returns (n_cases, worst_abs_err,
    worst_rel_err); raises ``GradcheckError`` on the first failing case. ``order=2``
    checks second derivatives (``gradgradcheck``) of an ``fd`` entry instead."""
    if order == 2 and entry.check != "fd":
        raise ValueError(f"{entry.name}: second derivatives are checked for 'fd' ops only, "
                         f"this one is checked as {entry.check!r}")
    check = gradcheck
    if order == 2:   # each evaluation is a whole backward: random directions past 64 elements
        check = functools.partial(gradgradcheck, jacobian_limit=64, elementwise_limit=64)
    with use_backend(backend):      # tensors an op creates itself go to the checked backend
        return _check_cases(entry, backend, check)


def _check_cases(entry, backend, check=None):
    rng = numpy.random.default_rng(0)
    worst_abs = worst_rel = 0.0
    cases = entry.cases(rng)
    for n, case in enumerate(cases):
        args, kwargs = case_inputs(case, backend)
        flat = list(_flat_tensors(args))
        if any(isinstance(a, list) for a in args):
            fn = _list_adapter(entry.check_fn, args)
        else:
            fn = entry.check_fn
        try:
            if case.custom or entry.check == "custom":
                err = check_backward_rule(fn, flat, entry.backward_rule, kwargs)
                worst_abs = max(worst_abs, err)
                continue
            tol = {k: v for k, v in (("atol", case.atol), ("rtol", case.rtol)) if v is not None}
            result = (check or gradcheck)(fn, flat, kwargs, **tol)
        except GradcheckError as err:
            raise GradcheckError(f"{entry.name} case {n} {case}: {err}") from None
        worst_abs = max(worst_abs, result.worst.abs_err)
        worst_rel = max(worst_rel, result.worst.rel_err if result.worst.abs_err > 1e-12 else 0.0)
    return len(cases), worst_abs, worst_rel


def _list_adapter(fn, args):
    """Call ``fn`` with the original (list-nested) argument structure from flat tensors."""
    def call(*flat, **kwargs):
        it = iter(flat)
        rebuilt = [[next(it) for _ in a] if isinstance(a, list) else next(it) for a in args]
        return fn(*rebuilt, **kwargs)
    return call
