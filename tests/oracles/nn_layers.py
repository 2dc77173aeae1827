"""Forward references for the PyTorch-habit ``nn`` layers of issue 11: naive loops over
NumPy float64 arrays, written from PyTorch's documented formulas (``interpolate``: one
output element at a time, the 2-, 4- or 8-tap weighted sum of PyTorch's kernel, not the
separable passes of the implementation)."""
import itertools
import math

import numpy as np


def _src_nearest(o, in_size, out_size, scale, exact):
    s = np.float32(1.0 / scale if scale else in_size / out_size)
    pos = np.float32(o + 0.5) if exact else np.float32(o)
    return min(int(math.floor(np.float32(pos * s))), in_size - 1)


def _src_linear(o, in_size, out_size, scale, align_corners):
    """(i0, i1, λ1) of PyTorch's ``compute_source_index_and_lambda``."""
    if in_size == out_size:
        return o, o, 0.0
    if align_corners:
        src = o * (in_size - 1) / (out_size - 1) if out_size > 1 else 0.0
    else:
        s = 1.0 / scale if scale else in_size / out_size
        src = max(s * (o + 0.5) - 0.5, 0.0)
    i0 = int(math.floor(src))
    i1 = i0 + 1 if i0 < in_size - 1 else i0
    return i0, i1, min(max(src - i0, 0.0), 1.0)


def _interpolate(x, size=None, scale_factor=None, mode="nearest", align_corners=None,
                 recompute_scale_factor=None, antialias=False):
    spatial = x.shape[2:]
    nd = len(spatial)
    if size is not None:
        out = tuple(size) if isinstance(size, (tuple, list)) else (size,) * nd
        scales = (None,) * nd
    else:
        scales = tuple(scale_factor) if isinstance(scale_factor, (tuple, list)) else (scale_factor,) * nd
        out = tuple(int(math.floor(i * s)) for i, s in zip(spatial, scales))
        if recompute_scale_factor:
            scales = (None,) * nd
    y = np.zeros(x.shape[:2] + out)
    for n, c in itertools.product(range(x.shape[0]), range(x.shape[1])):
        for o in itertools.product(*(range(k) for k in out)):
            if mode in ("nearest", "nearest-exact"):
                src = tuple(_src_nearest(o[d], spatial[d], out[d], scales[d], mode == "nearest-exact")
                            for d in range(nd))
                y[(n, c) + o] = x[(n, c) + src]
                continue
            taps = [_src_linear(o[d], spatial[d], out[d], scales[d], bool(align_corners))
                    for d in range(nd)]
            total = 0.0
            for corner in itertools.product((0, 1), repeat=nd):
                weight, index = 1.0, []
                for d, bit in enumerate(corner):
                    i0, i1, lam = taps[d]
                    weight *= lam if bit else 1.0 - lam
                    index.append(i1 if bit else i0)
                total += weight * x[(n, c) + tuple(index)]
            y[(n, c) + o] = total
    return y


ORACLES = {
    "interpolate": _interpolate,
}
