"""Forward references for the feature/logit normalizations (N045–N050) and the flow /
compression normalizations (N051, N052): loops over vectors and channels with
``math.fsum``, the papers' formulas written out per element (not minigrad's code)."""
import math

import numpy as np


def _rows(x, axis):
    """Yield (index, 1-D vector) for every vector of x along ``axis``."""
    moved = np.moveaxis(x, axis, -1)
    for idx in np.ndindex(*moved.shape[:-1]):
        yield idx, moved[idx]


def _apply_rows(x, axis, f):
    moved = np.moveaxis(np.asarray(x, dtype=float), axis, -1)
    out = np.empty_like(moved)
    for idx, v in _rows(x, axis):
        out[idx] = f([float(a) for a in v])
    return np.moveaxis(out, -1, axis)


def feature_norm(x, dim=1, variance_scale=True, eps=1e-12):
    def f(v):
        n = math.sqrt(math.fsum(a * a for a in v))
        c = math.sqrt(len(v)) if variance_scale else 1.0
        return [c * a / max(n, eps) for a in v]
    return _apply_rows(x, dim, f)


def logit_clip(x, tau=1.0, p=2.0, dim=-1):
    def f(v):
        norm = math.fsum(abs(a) ** p for a in v) ** (1.0 / p) + 1e-7
        if norm > 1.0 / tau:
            return [a / norm / tau for a in v]
        return list(v)
    return _apply_rows(x, dim, f)


def z_normalize(x, dim=-1, eps=1e-5):
    def f(v):
        mu = math.fsum(v) / len(v)
        sd = math.sqrt(math.fsum((a - mu) ** 2 for a in v) / len(v) + eps)
        return [(a - mu) / sd for a in v]
    return _apply_rows(x, dim, f)


def adaface_norm_stat(norms, running_mean, running_std, training=False, momentum=0.01,
                      h=0.333, eps=1e-3):
    """head.py's steps: clip the norms, (training) EMA of batch mean / unbiased std, then
    the clipped standardized value."""
    flat = [min(max(float(a), 0.001), 100.0) for a in np.ravel(norms)]
    mu, sigma = float(np.ravel(running_mean)[0]), float(np.ravel(running_std)[0])
    if training:
        m = math.fsum(flat) / len(flat)
        sd = math.sqrt(math.fsum((a - m) ** 2 for a in flat) / (len(flat) - 1))
        mu = momentum * m + (1 - momentum) * mu
        sigma = momentum * sd + (1 - momentum) * sigma
    out = [min(max((a - mu) / (sigma + eps) * h, -1.0), 1.0) for a in flat]
    return np.array(out).reshape(np.shape(norms))


def msg_norm(x, msg, scale, p=2.0, dim=-1):
    xm = np.moveaxis(x, dim, -1)
    mm = np.moveaxis(msg, dim, -1)
    out = np.empty_like(mm, dtype=float)
    s = float(np.ravel(scale)[0])
    for idx in np.ndindex(*mm.shape[:-1]):
        nx = math.fsum(abs(float(a)) ** p for a in xm[idx]) ** (1.0 / p)
        nm = max(math.fsum(abs(float(a)) ** p for a in mm[idx]) ** (1.0 / p), 1e-12)
        out[idx] = [s * nx * float(a) / nm for a in mm[idx]]
    return np.moveaxis(out, -1, dim)


def phi_s(x, mean, whiten):
    C = x.shape[-1]
    rows = x.reshape(-1, C)
    out = np.empty_like(rows, dtype=float)
    for r, row in enumerate(rows):
        for i in range(C):
            out[r, i] = math.fsum(float(whiten[i, j]) * (float(row[j]) - float(mean[j]))
                                  for j in range(C))
    return out.reshape(x.shape)


_PEDESTAL = (2.0 ** -18) ** 2


def gdn(x, beta, gamma, inverse=False, alpha=2.0, epsilon=0.5, reparameterized=False,
        beta_min=1e-6):
    beta, gamma = np.asarray(beta, float), np.asarray(gamma, float)
    if reparameterized:   # compressai's NonNegativeParametrizer, written out
        beta = np.array([max(b, math.sqrt(beta_min + _PEDESTAL)) ** 2 - _PEDESTAL for b in beta])
        gamma = np.array([[max(g, math.sqrt(_PEDESTAL)) ** 2 - _PEDESTAL for g in row]
                          for row in gamma])
    N, C = x.shape[:2]
    x3 = x.reshape(N, C, -1)
    out = np.empty_like(x3, dtype=float)
    for n in range(N):
        for pos in range(x3.shape[2]):
            for i in range(C):
                d = beta[i] + math.fsum(gamma[i, j] * abs(float(x3[n, j, pos])) ** alpha
                                        for j in range(C))
                factor = d ** epsilon
                out[n, i, pos] = x3[n, i, pos] * factor if inverse else x3[n, i, pos] / factor
    return out.reshape(x.shape)


def act_norm(x, bias, log_scale):
    N, C = x.shape[:2]
    x3 = x.reshape(N, C, -1)
    L = x3.shape[2]
    y = np.empty_like(x3, dtype=float)
    for c in range(C):
        s = math.exp(float(log_scale[c]))
        for n in range(N):
            for pos in range(L):
                y[n, c, pos] = (x3[n, c, pos] - bias[c]) * s
    logdet = np.full(N, L * math.fsum(float(v) for v in log_scale))
    return y.reshape(x.shape), logdet


ORACLES = {
    "feature_norm": feature_norm, "logit_clip": logit_clip, "z_normalize": z_normalize,
    "adaface_norm_stat": adaface_norm_stat, "msg_norm": msg_norm, "phi_s": phi_s,
    "gdn": gdn, "act_norm": act_norm,
}
