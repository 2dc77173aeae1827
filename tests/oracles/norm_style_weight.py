"""Forward references for the style and weight-space normalizations (N033–N044): loops
over Python floats with ``math.fsum``, written from the papers' formulas and the
reference code's definitions, never through minigrad."""
import math

import numpy as np


def _mean_var(values, ddof=0):
    n = len(values)
    mu = math.fsum(values) / n
    return mu, math.fsum((v - mu) ** 2 for v in values) / (n - ddof)


def _channels(a):
    """(N, C, *) → dict (n, c) → list of floats."""
    N, C = a.shape[:2]
    flat = a.reshape(N, C, -1)
    return {(n, c): [float(v) for v in flat[n, c]] for n in range(N) for c in range(C)}


def adain(content, style, eps=1e-5):
    N, C = content.shape[:2]
    xs, ss = _channels(content), _channels(style)
    out = np.empty(content.reshape(N, C, -1).shape)
    for (n, c), values in xs.items():
        mx, vx = _mean_var(values, ddof=1)
        ms, vs = _mean_var(ss[(n if style.shape[0] > 1 else 0, c)], ddof=1)
        for j, v in enumerate(values):
            out[n, c, j] = math.sqrt(vs + eps) * (v - mx) / math.sqrt(vx + eps) + ms
    return out.reshape(content.shape)


def functional_instance_norm(x, cos_phi, sin_phi, a_gamma, b_gamma, a_beta, b_beta, eps=1e-5):
    N, C = x.shape[:2]
    out = np.empty(x.reshape(N, C, -1).shape)
    for (n, c), values in _channels(x).items():
        mu, var = _mean_var(values)
        gamma = a_gamma[c] * cos_phi[n] + b_gamma[c]
        beta = a_beta[c] * sin_phi[n] + b_beta[c]
        for j, v in enumerate(values):
            out[n, c, j] = gamma * (v - mu) / math.sqrt(var + eps) + beta
    return out.reshape(x.shape)


def _units(w):
    return w.reshape(w.shape[0], -1)


def weight_standardization(weight, eps=1e-5):
    out = np.empty(_units(weight).shape)
    for o, row in enumerate(_units(weight)):
        mu, var_u = _mean_var([float(v) for v in row], ddof=1)
        for j, v in enumerate(row):
            out[o, j] = (v - mu) / (math.sqrt(var_u) + eps)
    return out.reshape(weight.shape)


def scaled_weight_standardization(weight, gain=None, gamma=1.0, eps=1e-4):
    out = np.empty(_units(weight).shape)
    fan_in = out.shape[1]
    for o, row in enumerate(_units(weight)):
        mu, var = _mean_var([float(v) for v in row])
        g = 1.0 if gain is None else float(np.ravel(gain)[o])
        scale = g * gamma / math.sqrt(max(var * fan_in, eps))
        for j, v in enumerate(row):
            out[o, j] = (v - mu) * scale
    return out.reshape(weight.shape)


def unit_norm_weight(weight, eps=1e-12):
    out = np.empty(_units(weight).shape)
    for o, row in enumerate(_units(weight)):
        norm = math.sqrt(math.fsum(float(v) ** 2 for v in row))
        for j, v in enumerate(row):
            out[o, j] = v / max(norm, eps)
    return out.reshape(weight.shape)


def nf_residual(x, w, alpha=0.2, beta=1.0):
    """The registered check block: branch tanh(h·W)."""
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        for k in range(w.shape[1]):
            pre = math.fsum(float(x[i, j]) / beta * float(w[j, k]) for j in range(w.shape[0]))
            out[i, k] = x[i, k] + alpha * math.tanh(pre)
    return out


def statsq_weight_scale(weight):
    """StatsQ's clamp(W/s, −1, 1 − 1e-6), s = 2·mean|W| per row (2-D), per middle index (3-D,
    the official code), per output unit (4-D)."""
    w = np.asarray(weight, dtype=float)
    out = np.empty_like(w)
    if w.ndim == 3:
        for k in range(w.shape[1]):
            s = 2 * math.fsum(abs(float(v)) for v in w[:, k, :].ravel()) / w[:, k, :].size
            out[:, k, :] = np.clip(w[:, k, :] / s, -1, 1 - 1e-6)
        return out
    for o in range(w.shape[0]):
        s = 2 * math.fsum(abs(float(v)) for v in w[o].ravel()) / w[o].size
        out[o] = np.clip(w[o] / s, -1, 1 - 1e-6)
    return out


def analog_lp_norm(x, p=2, whole=False, make_max_1=False, backward="identity"):
    """AnalogVNN LPNorm / LPNormW: divide by max(‖·‖_p, 1e-4), then (M) by the largest |y|."""
    x = np.asarray(x, dtype=float)
    groups = [x] if whole or x.ndim <= 1 else [x[i] for i in range(x.shape[0])]
    parts = []
    for g in groups:
        norm = math.fsum(abs(float(v)) ** p for v in g.ravel()) ** (1.0 / p)
        parts.append(g / max(norm, 1e-4))
    y = parts[0] if len(parts) == 1 and (whole or x.ndim <= 1) else np.stack(parts)
    if make_max_1:
        y = y / max(abs(float(v)) for v in y.ravel())
    return y


def gradnormlorp_weight(w0, i_factor, j_factor, magnitude, eps=1e-12):
    m, n = w0.shape
    r = i_factor.shape[1]
    v = [[float(w0[a, b]) + math.fsum(float(i_factor[a, k]) * float(j_factor[k, b])
                                      for k in range(r)) for b in range(n)] for a in range(m)]
    out = np.empty((m, n))
    for b in range(n):
        norm = math.sqrt(math.fsum(v[a][b] ** 2 for a in range(m)))
        for a in range(m):
            out[a, b] = float(magnitude[b]) * v[a][b] / max(norm, eps)
    return out


ORACLES = {
    "adain": adain, "functional_instance_norm": functional_instance_norm,
    "weight_standardization": weight_standardization,
    "scaled_weight_standardization": scaled_weight_standardization,
    "unit_norm_weight": unit_norm_weight, "nf_residual": nf_residual,
    "statsq_weight_scale": statsq_weight_scale, "analog_lp_norm": analog_lp_norm,
    "gradnormlorp_weight": gradnormlorp_weight,
}


def _dft2(a):
    """The 2-D DFT over the last two axes from explicit DFT matrices (not numpy.fft)."""
    H, W = a.shape[-2:]
    fh = np.exp(-2j * np.pi * np.outer(np.arange(H), np.arange(H)) / H)
    fw = np.exp(-2j * np.pi * np.outer(np.arange(W), np.arange(W)) / W)
    return fh @ a @ fw.T


def _decompose(a):
    """The DAC code's decompose: amplitude √|F|² and phase atan2(Im, Re), values below
    1e-5 in magnitude replaced by 1e-5."""
    X = _dft2(a)
    q = X.real ** 2 + X.imag ** 2
    q = np.where(np.abs(q) < 1e-5, 1e-5, q)
    re = np.where(np.abs(X.real) < 1e-5, 1e-5, X.real)
    return np.arctan2(X.imag, re), np.sqrt(q)


def _compose(phase, amp):
    """The DAC code's compose: irfft2 of the full spectrum (only its non-negative last-axis
    frequencies are read), 'ortho' norm, after dividing by √(HW)."""
    H, W = phase.shape[-2:]
    z = (np.cos(phase) * amp + 1j * np.sin(phase) * amp) / math.sqrt(H * W)
    return np.fft.irfft2(z[..., :W // 2 + 1], s=(H, W), norm="ortho")


def _bn(x, rm, rv, training, eps):
    N, C = x.shape[:2]
    out = np.empty_like(x)
    for c in range(C):
        if training:
            mu, var = _mean_var([float(v) for v in x[:, c].ravel()])
        else:
            mu, var = float(rm[c]), float(rv[c])
        out[:, c] = (x[:, c] - mu) / math.sqrt(var + eps)
    return out


def _in(x, eps):
    out = np.empty_like(x)
    for (n, c), values in _channels(x).items():
        mu, var = _mean_var(values)
        out[n, c] = (x[n, c] - mu) / math.sqrt(var + eps)
    return out


def pc_norm(x, running_mean=None, running_var=None, weight=None, bias=None, training=False,
            momentum=0.1, eps=1e-5, mode="pc", lam=None):
    lam = None if lam is None else float(lam)
    if mode == "sc":
        _, norm_amp = _decompose(_in(x, eps))
        phase, amp = _decompose(x)
        y = _compose(phase, lam * norm_amp + (1 - lam) * amp)
    else:
        use_batch = training or running_mean is None
        _, norm_amp = _decompose(_bn(x, running_mean, running_var, use_batch, eps))
        shifted = x
        if mode == "cc":
            mu = (x.mean(axis=(0, 2, 3)) if use_batch else np.asarray(running_mean))
            shifted = x - lam * mu.reshape(1, -1, 1, 1)
        phase, _ = _decompose(shifted)
        y = _compose(phase, norm_amp)
    C = x.shape[1]
    if weight is not None:
        y = y * np.asarray(weight).reshape(1, C, 1, 1)
    if bias is not None:
        y = y + np.asarray(bias).reshape(1, C, 1, 1)
    return y


ORACLES["pc_norm"] = pc_norm
