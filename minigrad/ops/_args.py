"""Argument spelling shared by the reductions and shape ops: PyTorch's ``dim`` /
``keepdim`` with NumPy's ``axis`` / ``keepdims`` as keyword aliases.

``pick(op, "dim", dim, "axis", axis)`` returns whichever of the two was given (the
default when neither) and raises a ``TypeError`` naming the op when both were. The
public wrappers take ``**unknown`` and call ``reject_unknown`` only when it is non-empty,
so a misspelt keyword (``x.sum(dims=1)``) lists the accepted names instead of Python's
bare "unexpected keyword argument" — at no cost on the normal path.
"""


def pick(op, name, value, alias, alias_value, default=None):
    """``value`` or its alias ``alias_value`` (each ``None`` when not given); both given
    is an error, neither gives ``default``."""
    if alias_value is None:
        return default if value is None else value
    if value is not None:
        raise TypeError(f"{op}: got both {name}={value!r} and its NumPy alias "
                        f"{alias}={alias_value!r}; give one of them")
    return alias_value


def dims(op, dim, axis, keepdim, keepdims):
    """(dim, keepdim) resolved from PyTorch's names and NumPy's aliases; a list of dims
    becomes a tuple (hashable, as the Functions keep it)."""
    d = pick(op, "dim", dim, "axis", axis)
    if isinstance(d, list):
        d = tuple(d)
    return d, bool(pick(op, "keepdim", keepdim, "keepdims", keepdims, False))


def reject_unknown(op, unknown, accepted):
    """Raise the ``TypeError`` for keyword arguments ``op`` does not take, listing the
    ones it does."""
    if unknown:
        names = ", ".join(repr(k) for k in unknown)
        raise TypeError(f"{op}() got unexpected keyword argument(s) {names}; "
                        f"accepted: {', '.join(accepted)}")


def numpy_aliases(fn):
    """Wrap a public op taking ``dim`` (and ``keepdim``) so that NumPy's ``axis`` (and
    ``keepdims``) work as aliases and an unknown keyword lists the accepted names. For ops
    off the hot path (sorting, scans): the check is one dict lookup per call when no
    keyword arguments are given."""
    import functools
    import inspect
    params = tuple(inspect.signature(fn).parameters)
    accepted = params + tuple(f"{a} (alias of {p})" for a, p in (("axis", "dim"),
                                                                ("keepdims", "keepdim"))
                              if p in params)

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if kwargs:
            for alias, name in (("axis", "dim"), ("keepdims", "keepdim")):
                if alias in kwargs and name in params:
                    kwargs[name] = pick(fn.__name__, name, kwargs.get(name), alias,
                                        kwargs.pop(alias))
            unknown = [k for k in kwargs if k not in params]
            if unknown:
                reject_unknown(fn.__name__, unknown, accepted)
        return fn(*args, **kwargs)
    return wrapper
