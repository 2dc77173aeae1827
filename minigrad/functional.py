"""``minigrad.functional`` (imported as ``F``): the functional form of every op,
re-exported from the module where it lives (PyTorch's ``torch.nn.functional`` names)."""
from minigrad.ops.elementwise import (abs, add, cast, clamp, clip, cos, div, erf, exp,  # noqa: F401,A004
                                      expm1, log, log1p, maximum, minimum, mul, neg, pow,
                                      rsqrt, sigmoid, sin, sqrt, sub, tanh, where)
from minigrad.ops.indexing import (gather, getitem, index_select, masked_fill, one_hot,  # noqa: F401
                                   take_along_axis)
from minigrad.ops.linalg import einsum, matmul  # noqa: F401
from minigrad.ops.random import dropout  # noqa: F401
from minigrad.ops.reductions import (argmax, argmin, logsumexp, max, mean, min, std, sum,  # noqa: F401,A004
                                     var)
from minigrad.ops.shape import (broadcast_to, cat, concatenate, expand, flatten, flip, pad,  # noqa: F401
                                permute, reshape, roll, split, squeeze, stack, transpose,
                                unsqueeze)


def _export_functions(*modules):
    """Re-export the lowercase public names of each family module."""
    for module in modules:
        for name in module.__all__:
            if name[:1].islower():
                globals()[name] = getattr(module, name)


def _export_families():
    from minigrad.ops import conv, pooling
    from minigrad.layers import activations, losses, normalization
    _export_functions(conv, pooling, activations, normalization, losses)


_export_families()
