"""``minigrad.functional`` (imported as ``F``): the functional form of every op,
re-exported from the module where it lives (PyTorch's ``torch.nn.functional`` names)."""
from minigrad.ops.elementwise import (abs, add, cast, clamp, clip, cos, div, erf, exp,  # noqa: F401,A004
                                      expm1, log, log1p, maximum, minimum, mul, neg, pow,
                                      rsqrt, sigmoid, sin, sqrt, sub, tanh, where)
from minigrad.ops.complex import (angle, complex, conj, imag, polar, real,  # noqa: F401,A004
                                  view_as_complex, view_as_real)
from minigrad.ops.indexing import (gather, getitem, index_select, masked_fill, one_hot,  # noqa: F401
                                   take_along_axis)
from minigrad.ops.linalg import bmm, cdist, dist, einsum, matmul, mm, outer, t  # noqa: F401
from minigrad.ops.elementwise import (ceil, clamp_max, clamp_min, exp2, floor,  # noqa: F401,E402,A004
                                      floor_divide, fmod, log2, log10, reciprocal, remainder,
                                      round, sign, square, trunc)
from minigrad.ops.comparison import *  # noqa: F401,F403,E402  (eq, ne, lt, ..., isclose, nonzero)
from minigrad.ops.indexing import (index_add, index_fill, masked_select,  # noqa: F401,E402
                                   repeat_interleave, scatter, scatter_add, tile)
from minigrad.ops.random import dropout  # noqa: F401
from minigrad.ops.reductions import (amax, amin, argmax, argmin, logsumexp, max, mean, min,  # noqa: F401,A004
                                     norm, prod, std, sum, var)
from minigrad.ops.shape import (broadcast_to, cat, chunk, concatenate, expand, flatten, flip,  # noqa: F401
                                pad, permute, reshape, roll, split, squeeze, stack, transpose,
                                unsqueeze)
from minigrad.ops.sorting import (argsort, cummax, cumprod, cumsum, kthvalue, median,  # noqa: F401
                                  quantile, sort, topk)
from minigrad.special import (digamma, erfc, erfinv, i0, i0e, i1, i1e, lgamma, log_ndtr,  # noqa: F401
                              ndtr, polygamma, xlogy)


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
from minigrad.layers.linear import bilinear, linear  # noqa: F401,E402
from minigrad.layers.dropout import drop_path  # noqa: F401,E402
from minigrad.layers.embedding import embedding  # noqa: F401,E402
from minigrad.layers.pixel_shuffle import pixel_shuffle, pixel_unshuffle  # noqa: F401,E402
from minigrad.layers.attention import (block_causal_mask, causal_mask, multi_head_attention,  # noqa: F401,E402
                                       padding_mask, scaled_dot_product_attention)
from minigrad.layers.stochastic import gumbel_softmax, straight_through, straight_through_categorical  # noqa: F401,E402
from minigrad.layers.quantization import (fake_quantize, quantization_params, quantize_grad,  # noqa: F401,E402
                                          ste_round, ste_sign)
from minigrad.layers.lora import lora_linear  # noqa: F401,E402
from minigrad.layers.pruning import magnitude_prune_mask  # noqa: F401,E402
from minigrad.layers.init_schemes import (fixup_init, init_weights_, kaiming_xavier_init,  # noqa: F401,E402
                                            lsuv_init, zero_init_residual)
from minigrad.layers.residual import (preact_residual_block, residual_block,  # noqa: F401,E402
                                      wide_residual_block)
from minigrad.layers.squeeze_excite import squeeze_excite  # noqa: F401,E402
from minigrad.layers.upsample import interpolate, upsample  # noqa: F401,E402
