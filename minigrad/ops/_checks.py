"""Argument checks the functional wrappers run before an op, so that a wrong input raises
instead of returning a plausible wrong number."""


def _describe(x):
    shape = getattr(x, "shape", None)
    return f"dtype {x.dtype} and shape {tuple(shape) if shape is not None else '()'}"


def check_floating(op, **tensors):
    """Raise TypeError unless every given tensor (or array) has a floating-point dtype.

    Integer and boolean inputs to a float-only op would be truncated or wrap around
    silently (an int64 log-softmax is all zeros), and they can never carry a gradient.
    ``None`` and Python scalars are skipped (scalars are weakly typed)."""
    for name, x in tensors.items():
        dtype = getattr(x, "dtype", None)
        if dtype is not None and dtype.kind != "f":
            raise TypeError(f"{op}: {name} must be a floating-point tensor, got {_describe(x)}; "
                            f"convert it first, e.g. x.astype('float32')")


def check_index_range(op, idx, size, what="the axis"):
    """Raise IndexError (PyTorch's "index out of range in self") unless every integer in
    ``idx`` lies in [0, size): negative indices are errors, not counts from the end."""
    if not idx.size:
        return
    low, high = int(idx.min()), int(idx.max())
    if low < 0 or high >= size:
        bad = low if low < 0 else high
        raise IndexError(f"{op}: index out of range in self: index {bad} for {what} of "
                         f"size {size} (valid indices are [0, {size}); indices of shape "
                         f"{tuple(idx.shape)} range from {low} to {high})")
