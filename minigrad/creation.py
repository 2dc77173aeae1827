"""Tensors made from nothing, with PyTorch's signatures and dtypes: zeros, ones, empty, full,
the ``*_like`` forms, eye, arange, linspace, logspace, and random draws (rand, randn, randint,
randperm, rand_like, randn_like) from the backend's generator (seeded by
``minigrad.manual_seed``) or a given ``generator``.

Every function takes ``dtype=None`` (the default float dtype, ``minigrad.get_default_dtype()``,
or the dtype PyTorch infers: ``full((2,), 7)`` is int64, ``arange(5)`` int64, ``randint``
and ``randperm`` int64), ``device=None`` (None: the current backend; 'cpu': NumPy; 'cuda' /
'cuda:0': CuPy) and ``requires_grad=False``. Shapes are given as ints (``zeros(2, 3)``), a
tuple or a list (``zeros((2, 3))``), or ``size=``. The results are leaves: no backward.
"""
import math
import numbers

import numpy

from minigrad.backends import backend_of_array, current
from minigrad.dtypes import as_dtype, dtype_of_value, get_default_dtype, int64
from minigrad.ops.conversion import backend_for_device
from minigrad.ops.random import generator_on
from minigrad.tensor import Tensor


def _shape(op, shape, size=None):
    """The shape from ``*shape`` (ints, or one tuple/list) or ``size=``, checked."""
    if size is not None:
        if shape:
            raise TypeError(f"{op}: give the shape either positionally or as size=, not both")
        shape = (size,)
    if len(shape) == 1 and not isinstance(shape[0], (numbers.Integral, Tensor)) and hasattr(
            shape[0], "__iter__"):
        shape = tuple(shape[0])               # zeros((2, 3)), zeros([2, 3]), zeros(x.shape)
    out = []
    for s in shape:
        if isinstance(s, Tensor):
            s = s.item()
        if isinstance(s, bool) or not isinstance(s, numbers.Integral) or s < 0:
            raise TypeError(f"{op}: the shape must be non-negative ints, got {tuple(shape)!r}")
        out.append(int(s))
    return tuple(out)


def _backend(device, op):
    return current() if device is None else backend_for_device(device, op)


def _float_dtype(dtype, op):
    return get_default_dtype() if dtype is None else as_dtype(dtype, op)


def _finish(array, requires_grad, op):
    out = Tensor._wrap(array)
    if requires_grad:
        if array.dtype.kind not in "fc":
            raise TypeError(f"{op}: only floating-point tensors can require gradients, "
                            f"got {array.dtype}")
        out.requires_grad = True
    return out


def _like_backend(t, device, op):
    return backend_of_array(t.data) if device is None else backend_for_device(device, op)


def zeros(*shape, dtype=None, device=None, requires_grad=False, out=None, layout=None, size=None):
    """A tensor of zeros: y = 0, shape ``size`` (``zeros(2, 3)`` or ``zeros((2, 3))``), dtype the
    default float dtype unless given. As ``torch.zeros``; ``out``/``layout`` are not supported."""
    _unsupported("zeros", out=out, layout=layout)
    xp = _backend(device, "zeros").xp
    return _finish(xp.zeros(_shape("zeros", shape, size), dtype=_float_dtype(dtype, "zeros")),
                   requires_grad, "zeros")


def ones(*shape, dtype=None, device=None, requires_grad=False, out=None, layout=None, size=None):
    """A tensor of ones: y = 1, shape ``size``; dtype the default float dtype unless given.
    As ``torch.ones``."""
    _unsupported("ones", out=out, layout=layout)
    xp = _backend(device, "ones").xp
    return _finish(xp.ones(_shape("ones", shape, size), dtype=_float_dtype(dtype, "ones")),
                   requires_grad, "ones")


def empty(*shape, dtype=None, device=None, requires_grad=False, out=None, layout=None, size=None):
    """An uninitialized tensor of shape ``size`` (its values are whatever the memory held);
    dtype the default float dtype unless given. As ``torch.empty``."""
    _unsupported("empty", out=out, layout=layout)
    xp = _backend(device, "empty").xp
    return _finish(xp.empty(_shape("empty", shape, size), dtype=_float_dtype(dtype, "empty")),
                   requires_grad, "empty")


def full(size, fill_value, dtype=None, device=None, requires_grad=False, out=None, layout=None):
    """A tensor of shape ``size`` filled with ``fill_value``: y = fill_value. The dtype follows
    PyTorch: a bool value gives bool, an int int64, a float the default float dtype, a complex
    the default complex dtype (``full((2,), 7)`` is int64). ``size`` may also be one int
    (a deviation: PyTorch wants a sequence)."""
    _unsupported("full", out=out, layout=layout)
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    dtype = dtype_of_value(fill_value) if dtype is None else as_dtype(dtype, "full")
    shape = _shape("full", (size,))
    xp = _backend(device, "full").xp
    return _finish(xp.full(shape, fill_value, dtype=dtype), requires_grad, "full")


def _like(op, t, fill, dtype, device, requires_grad):
    if not isinstance(t, Tensor):
        raise TypeError(f"{op}: expected a Tensor as input, got {type(t).__name__}")
    dtype = t.dtype if dtype is None else as_dtype(dtype, op)
    xp = _like_backend(t, device, op).xp
    array = xp.empty(t.shape, dtype=dtype) if fill is None else xp.full(t.shape, fill, dtype=dtype)
    return _finish(array, requires_grad, op)


def zeros_like(input, dtype=None, device=None, requires_grad=False, layout=None, memory_format=None):
    """Zeros with the shape of ``input`` (and its dtype and device unless given): y = 0.
    As ``torch.zeros_like``."""
    return _like("zeros_like", input, 0, dtype, device, requires_grad)


def ones_like(input, dtype=None, device=None, requires_grad=False, layout=None, memory_format=None):
    """Ones with the shape of ``input`` (and its dtype and device unless given): y = 1.
    As ``torch.ones_like``."""
    return _like("ones_like", input, 1, dtype, device, requires_grad)


def empty_like(input, dtype=None, device=None, requires_grad=False, layout=None, memory_format=None):
    """An uninitialized tensor with the shape of ``input`` (and its dtype and device unless
    given). As ``torch.empty_like``."""
    return _like("empty_like", input, None, dtype, device, requires_grad)


def full_like(input, fill_value, dtype=None, device=None, requires_grad=False, layout=None,
              memory_format=None):
    """``fill_value`` with the shape of ``input`` and, unless given, its dtype and device
    (``full_like(int_tensor, 2.7)`` is int64, as PyTorch): y = fill_value."""
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    return _like("full_like", input, fill_value, dtype, device, requires_grad)


def eye(n, m=None, dtype=None, device=None, requires_grad=False, out=None, layout=None):
    """The n×m identity matrix (m = n unless given): y[i, j] = 1 if i == j else 0; dtype the
    default float dtype unless given. As ``torch.eye``."""
    _unsupported("eye", out=out, layout=layout)
    for name, v in (("n", n), ("m", m)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 0):
            raise TypeError(f"eye: {name} must be a non-negative int, got {v!r}")
    xp = _backend(device, "eye").xp
    return _finish(xp.eye(n, n if m is None else m, dtype=_float_dtype(dtype, "eye")),
                   requires_grad, "eye")


def _number(op, name, v):
    if isinstance(v, Tensor):
        v = v.item()
    if isinstance(v, numpy.generic):
        v = v.item()
    if not isinstance(v, numbers.Real):
        raise TypeError(f"{op}: {name} must be a real number, got {v!r}")
    return v


def arange(start=0, end=None, step=1, dtype=None, device=None, requires_grad=False, out=None,
           layout=None):
    """Values start, start + step, ... up to, not including, ``end`` (``arange(end)`` counts
    from 0): y[i] = start + i·step for i < ceil((end − start) / step). The dtype follows
    PyTorch: int64 when start, end and step are all ints, else the default float dtype
    (``arange(0, 1, .25)`` is float32). The values are computed in float64 (or int64) and
    then converted."""
    _unsupported("arange", out=out, layout=layout)
    if end is None:
        start, end = 0, start
    start, end, step = (_number("arange", k, v) for k, v in
                        (("start", start), ("end", end), ("step", step)))
    if step == 0:
        raise ValueError("arange: step must be nonzero")
    if (end - start) * step < 0:
        raise ValueError(f"arange: upper bound and larger bound inconsistent with step sign "
                         f"(start={start}, end={end}, step={step})")
    integral = all(isinstance(v, numbers.Integral) for v in (start, end, step))
    if dtype is None:
        dtype = int64 if integral else get_default_dtype()
    dtype = as_dtype(dtype, "arange")
    n = max(0, math.ceil((end - start) / step))
    values = start + numpy.arange(n, dtype=numpy.int64 if integral else numpy.float64) * step
    backend = _backend(device, "arange")
    return _finish(backend.asarray(values.astype(dtype)), requires_grad, "arange")


def linspace(start, end, steps, dtype=None, device=None, requires_grad=False, out=None,
             layout=None):
    """``steps`` evenly spaced values from ``start`` to ``end``, both included:
    y[i] = start + i·(end − start)/(steps − 1). Default float dtype unless given (PyTorch's
    rule; ``steps`` is required, as in PyTorch ≥ 2)."""
    _unsupported("linspace", out=out, layout=layout)
    start, end = _number("linspace", "start", start), _number("linspace", "end", end)
    if isinstance(steps, bool) or not isinstance(steps, numbers.Integral) or steps < 0:
        raise TypeError(f"linspace: steps must be a non-negative int, got {steps!r}")
    values = numpy.linspace(start, end, steps, dtype=numpy.float64)
    backend = _backend(device, "linspace")
    return _finish(backend.asarray(values.astype(_float_dtype(dtype, "linspace"))),
                   requires_grad, "linspace")


def logspace(start, end, steps, base=10.0, dtype=None, device=None, requires_grad=False,
             out=None, layout=None):
    """``steps`` values spaced evenly on a log scale: y[i] = base ** (start + i·(end −
    start)/(steps − 1)). Default float dtype unless given. As ``torch.logspace``."""
    _unsupported("logspace", out=out, layout=layout)
    start, end = _number("logspace", "start", start), _number("logspace", "end", end)
    if isinstance(steps, bool) or not isinstance(steps, numbers.Integral) or steps < 0:
        raise TypeError(f"logspace: steps must be a non-negative int, got {steps!r}")
    values = float(base) ** numpy.linspace(start, end, steps, dtype=numpy.float64)
    backend = _backend(device, "logspace")
    return _finish(backend.asarray(values.astype(_float_dtype(dtype, "logspace"))),
                   requires_grad, "logspace")


def _draw(op, backend, generator, draw, dtype, requires_grad):
    gen = generator_on(backend, generator)
    return _finish(draw(gen).astype(dtype, copy=False), requires_grad, op)


def randn(*shape, generator=None, dtype=None, device=None, requires_grad=False, out=None,
          layout=None, size=None):
    """Standard normal draws, y ~ N(0, 1), of shape ``size``, from ``generator`` (a
    ``minigrad.HostGenerator`` or a NumPy/CuPy ``Generator``) or the backend's generator
    seeded by ``minigrad.manual_seed``. Default float dtype unless given. The draws are made
    in float64 and converted (so float32 and float64 runs see the same numbers)."""
    _unsupported("randn", out=out, layout=layout)
    shape = _shape("randn", shape, size)
    return _draw("randn", _backend(device, "randn"), generator,
                 lambda g: g.standard_normal(shape), _float_dtype(dtype, "randn"), requires_grad)


def rand(*shape, generator=None, dtype=None, device=None, requires_grad=False, out=None,
          layout=None, size=None):
    """Uniform draws on [0, 1), y ~ U(0, 1), of shape ``size``; generator and dtype as
    ``randn``."""
    _unsupported("rand", out=out, layout=layout)
    shape = _shape("rand", shape, size)
    return _draw("rand", _backend(device, "rand"), generator,
                 lambda g: g.random(shape), _float_dtype(dtype, "rand"), requires_grad)


def randint(*args, size=None, generator=None, dtype=None, device=None, requires_grad=False,
            low=None, high=None, out=None, layout=None):
    """Integers drawn uniformly from [low, high): ``randint(high, size)`` or
    ``randint(low, high, size)`` (``torch.randint(low=0, high, size)``); int64 unless
    ``dtype`` is given. Generator as ``randn``."""
    _unsupported("randint", out=out, layout=layout)
    args = list(args)
    if size is None and args and isinstance(args[-1], (tuple, list)):
        size = args.pop()
    if high is None and args:
        high = args.pop()
    if low is None:
        low = args.pop() if args else 0
    if args or high is None or size is None:
        raise TypeError("randint: expected randint(high, size) or randint(low, high, size), "
                        "with size a tuple")
    low, high = int(_number("randint", "low", low)), int(_number("randint", "high", high))
    if high <= low:
        raise ValueError(f"randint: expected low < high, got low={low}, high={high}")
    shape = _shape("randint", (size,))
    return _draw("randint", _backend(device, "randint"), generator,
                 lambda g: g.integers(low, high, size=shape),
                 int64 if dtype is None else as_dtype(dtype, "randint"), requires_grad)


def randperm(n, generator=None, dtype=None, device=None, requires_grad=False, out=None,
             layout=None):
    """A random permutation of 0, ..., n − 1 (int64 unless ``dtype`` is given); generator
    as ``randn``. As ``torch.randperm``."""
    _unsupported("randperm", out=out, layout=layout)
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0:
        raise TypeError(f"randperm: n must be a non-negative int, got {n!r}")
    return _draw("randperm", _backend(device, "randperm"), generator,
                 lambda g: _permutation(g, int(n)),
                 int64 if dtype is None else as_dtype(dtype, "randperm"), requires_grad)


def _permutation(gen, n):
    """A uniform permutation of range(n): the generator's own, or (CuPy's Generator has
    none) the argsort of n uniform draws, which is uniform since ties have probability 0."""
    if hasattr(gen, "permutation"):
        return gen.permutation(n)
    return backend_of_array(gen.random(1)).xp.argsort(gen.random(n))


def _random_like(op, t, draw, dtype, device, requires_grad, generator):
    if not isinstance(t, Tensor):
        raise TypeError(f"{op}: expected a Tensor as input, got {type(t).__name__}")
    dtype = t.dtype if dtype is None else as_dtype(dtype, op)
    if dtype.kind not in "fc":
        raise TypeError(f"{op}: needs a floating dtype, got {dtype} (the input's dtype unless "
                        f"dtype= is given)")
    shape = tuple(t.shape)
    return _draw(op, _like_backend(t, device, op), generator, lambda g: draw(g, shape), dtype,
                 requires_grad)


def randn_like(input, dtype=None, device=None, requires_grad=False, generator=None,
               layout=None, memory_format=None):
    """``randn`` with the shape of ``input`` and, unless given, its dtype and device:
    y ~ N(0, 1). ``generator`` is a minigrad extension (PyTorch's has none)."""
    return _random_like("randn_like", input, lambda g, s: g.standard_normal(s), dtype, device,
                        requires_grad, generator)


def rand_like(input, dtype=None, device=None, requires_grad=False, generator=None,
              layout=None, memory_format=None):
    """``rand`` with the shape of ``input`` and, unless given, its dtype and device:
    y ~ U(0, 1). ``generator`` is a minigrad extension (PyTorch's has none)."""
    return _random_like("rand_like", input, lambda g, s: g.random(s), dtype, device,
                        requires_grad, generator)


def _unsupported(op, **kwargs):
    given = [k for k, v in kwargs.items() if v is not None]
    if given:
        raise TypeError(f"{op}: {given[0]}= is not supported by minigrad (PyTorch accepts it); "
                        f"assign the result instead")
