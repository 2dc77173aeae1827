"""Forward references for the normalizations: per-channel / per-row / per-group loops
over Python lists with ``math.fsum``, following the papers' formulas (not minigrad's
vectorised kernels)."""
import math

import numpy as np


def _stats(values):
    n = len(values)
    mu = math.fsum(values) / n
    return mu, math.fsum((v - mu) ** 2 for v in values) / n


def batch_norm(x, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    N, C = x.shape[:2]
    x3 = x.reshape(N, C, -1)
    out = np.empty_like(x3)
    for c in range(C):
        values = [float(v) for v in x3[:, c, :].ravel()]
        if training:
            mu, var = _stats(values)
        else:
            mu, var = float(running_mean[c]), float(running_var[c])
        g = 1.0 if weight is None else float(weight[c])
        b = 0.0 if bias is None else float(bias[c])
        for i in range(N):
            for j in range(x3.shape[2]):
                out[i, c, j] = g * (x3[i, c, j] - mu) / math.sqrt(var + eps) + b
    return out.reshape(x.shape)


def layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    F = math.prod(shape)
    rows = x.reshape(-1, F)
    w = np.ones(F) if weight is None else np.asarray(weight).ravel()
    b = np.zeros(F) if bias is None else np.asarray(bias).ravel()
    out = np.empty_like(rows)
    for m, row in enumerate(rows):
        mu, var = _stats([float(v) for v in row])
        for f in range(F):
            out[m, f] = w[f] * (row[f] - mu) / math.sqrt(var + eps) + b[f]
    return out.reshape(x.shape)


def rms_norm(x, normalized_shape, weight=None, eps=None, p=None):
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    F = math.prod(shape)
    k = F if p is None else max(1, math.ceil(p * F))
    eps = np.finfo(x.dtype).eps if eps is None else eps
    rows = x.reshape(-1, F)
    w = np.ones(F) if weight is None else np.asarray(weight).ravel()
    out = np.empty_like(rows)
    for m, row in enumerate(rows):
        r = math.sqrt(math.fsum(float(v) ** 2 for v in row[:k]) / k + eps)
        for f in range(F):
            out[m, f] = w[f] * row[f] / r
    return out.reshape(x.shape)


def group_norm(x, num_groups, weight=None, bias=None, eps=1e-5):
    N, C = x.shape[:2]
    per = C // num_groups
    x3 = x.reshape(N, C, -1)
    out = np.empty_like(x3)
    for n in range(N):
        for g in range(num_groups):
            block = x3[n, g * per:(g + 1) * per, :]
            mu, var = _stats([float(v) for v in block.ravel()])
            for c in range(g * per, (g + 1) * per):
                gamma = 1.0 if weight is None else float(weight[c])
                beta = 0.0 if bias is None else float(bias[c])
                out[n, c, :] = gamma * (x3[n, c, :] - mu) / math.sqrt(var + eps) + beta
    return out.reshape(x.shape)


def weight_norm(v, g, axis=0, eps=1e-12, dim=None):
    axis = dim if dim is not None else axis
    if axis is None:
        return float(np.ravel(g)[0]) * v / math.sqrt(math.fsum(float(a) ** 2 for a in v.ravel()))
    out = np.empty_like(v)
    gs = np.ravel(g)
    for i in range(v.shape[axis]):
        unit = np.take(v, i, axis=axis)
        norm = math.sqrt(math.fsum(float(a) ** 2 for a in unit.ravel()))
        idx = [slice(None)] * v.ndim
        idx[axis] = i
        out[tuple(idx)] = gs[i] * unit / norm
    return out


def spectral_norm(weight, u, v=None, n_power_iterations=1, eps=1e-12, axis=0, dim=None):
    axis = dim if dim is not None else axis
    wm = np.moveaxis(weight, axis, 0).reshape(weight.shape[axis], -1)
    sigma = math.fsum(float(u[i]) * float(wm[i, j]) * float(v[j])
                      for i in range(wm.shape[0]) for j in range(wm.shape[1]))
    return weight / sigma


def l2_normalize(x, axis=-1, eps=1e-12, dim=None):
    axis = dim if dim is not None else axis
    moved = np.moveaxis(x, axis, -1)
    out = np.empty_like(moved)
    for idx in np.ndindex(*moved.shape[:-1]):
        norm = math.sqrt(math.fsum(float(a) ** 2 for a in moved[idx]))
        out[idx] = moved[idx] / max(norm, eps)
    return np.moveaxis(out, -1, axis)


def norm_residual(x, w, gain, placement="pre"):
    """The registered check block: sublayer tanh(h·W), norm a LayerNorm with ``gain``."""
    def norm(h):
        return layer_norm(h, gain.shape, gain)

    def sublayer(h):
        return np.tanh(h @ w)
    return x + sublayer(norm(x)) if placement == "pre" else norm(x + sublayer(x))


ORACLES = {
    "batch_norm": batch_norm, "layer_norm": layer_norm, "rms_norm": rms_norm,
    "group_norm": group_norm, "weight_norm": weight_norm, "spectral_norm": spectral_norm,
    "l2_normalize": l2_normalize, "norm_residual": norm_residual,
}
