"""Helpers shared by the normalization families."""


def as_dtype(a, dtype):
    """An optional parameter array in the input's dtype (the kernels want one dtype)."""
    return None if a is None else a.astype(dtype, copy=False)
