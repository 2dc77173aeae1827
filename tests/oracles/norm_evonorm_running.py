"""Forward references for EvoNorm-B0/S0 (N018, N019), PowerNorm (N020), Unified
Normalization (N021), Online Normalization (N022) and MS-LayerNorm/MS-RMSNorm (N023):
element-by-element loops with ``math.fsum`` over Python floats, written from the papers'
equations (and the official reference code's order of updates), never calling minigrad."""
import math

import numpy as np


def _var(values):
    n = len(values)
    mu = math.fsum(values) / n
    return mu, math.fsum((v - mu) ** 2 for v in values) / n


def evonorm_b0(x, running_var, weight=None, bias=None, v=None, training=False, momentum=0.1,
               eps=1e-5):
    N, C = x.shape[:2]
    x3 = x.reshape(N, C, -1)
    out = np.empty_like(x3)
    for c in range(C):
        if training:
            _, vb = _var([float(t) for t in x3[:, c, :].ravel()])
        else:
            vb = float(running_var[c])
        left = math.sqrt(vb + eps)
        g = 1.0 if weight is None else float(weight[c])
        b = 0.0 if bias is None else float(bias[c])
        vc = 1.0 if v is None else float(v[c])
        for i in range(N):
            _, vi = _var([float(t) for t in x3[i, c, :]])
            for j in range(x3.shape[2]):
                xv = float(x3[i, c, j])
                out[i, c, j] = g * xv / max(left, vc * xv + math.sqrt(vi + eps)) + b
    return out.reshape(x.shape)


def evonorm_s0(x, num_groups=32, weight=None, bias=None, v=None, eps=1e-5):
    N, C = x.shape[:2]
    x3 = x.reshape(N, C, -1)
    per = C // num_groups
    out = np.empty_like(x3)
    for i in range(N):
        for grp in range(num_groups):
            chans = range(grp * per, (grp + 1) * per)
            _, var = _var([float(t) for c in chans for t in x3[i, c, :]])
            sd = math.sqrt(var + eps)
            for c in chans:
                g = 1.0 if weight is None else float(weight[c])
                b = 0.0 if bias is None else float(bias[c])
                vc = 1.0 if v is None else float(v[c])
                for j in range(x3.shape[2]):
                    xv = float(x3[i, c, j])
                    out[i, c, j] = g * xv / (1.0 + math.exp(-vc * xv)) / sd + b
    return out.reshape(x.shape)


ORACLES = {
    "evonorm_b0": evonorm_b0,
    "evonorm_s0": evonorm_s0,
}


def _token_rows(x):
    C = x.shape[-1]
    return [[float(v) for v in row] for row in x.reshape(-1, C)], C


def power_norm(x, weight=None, bias=None, running_phi=None, ema_gz=None, training=False,
               current_iter=1, warmup_iters=10000, alpha_fwd=0.9, alpha_bkw=0.9, eps=1e-5,
               group_num=1, pad_mask=None):
    rows, C = _token_rows(x)
    per = C // group_num
    scaled = []
    for row in rows:                       # GroupScaling1D: each group of channels by its RMS
        out = []
        for grp in range(group_num):
            vals = row[grp * per:(grp + 1) * per]
            r = math.sqrt(math.fsum(v * v for v in vals) / per + eps)
            out += [v / r for v in vals]
        scaled.append(out)
    keep = [True] * len(rows) if pad_mask is None else [not m for m in pad_mask.reshape(-1)]
    real = [row for row, k in zip(scaled, keep) if k]
    out = np.empty((len(rows), C))
    for c in range(C):
        q = math.fsum(row[c] ** 2 for row in real) / len(real)
        if training and current_iter <= warmup_iters:
            denom = math.sqrt(q + eps)
        else:
            denom = math.sqrt(float(running_phi[c]) + eps)
        g = 1.0 if weight is None else float(weight[c])
        b = 0.0 if bias is None else float(bias[c])
        for i, row in enumerate(scaled):
            out[i, c] = g * row[c] / denom + b
    return out.reshape(x.shape)


def unified_norm(x, weight=None, bias=None, running_var=None, ema_gz=None, buffer_x2=None,
                 buffer_gz=None, training=False, current_iter=1, warmup_iters=4000,
                 outlier_filtration=False, eps=1e-5, momentum=0.9, pad_mask=None):
    rows, C = _token_rows(x)
    t = current_iter
    if training:
        keep = [True] * len(rows) if pad_mask is None else [not m for m in pad_mask.reshape(-1)]
        real = [row for row, k in zip(rows, keep) if k]
        q = [math.fsum(row[c] ** 2 for row in real) / len(real) for c in range(C)]
        window = [[float(v) for v in r] for r in buffer_x2]
        wf = len(window)
        roots = [math.sqrt(v) for r in window for v in r]
        mean_root = math.fsum(roots) / len(roots)
        recorded = math.fsum((v - mean_root) ** 2 for v in roots) / (len(roots) - 1)
        window[t % wf] = list(q)
        skip = wf <= 1
        geo = [math.exp(math.fsum(math.log(window[k][c]) for k in range(wf)) / wf)
               for c in range(C)]
        if t >= warmup_iters and outlier_filtration:
            arith = [math.fsum(window[k][c] for k in range(wf)) / wf for c in range(C)]
            if any(a - g > recorded * wf for a, g in zip(arith, geo)):
                skip = True
        var = q if (t <= wf or t < warmup_iters or skip) else geo
    else:
        var = [float(v) for v in running_var]
    out = np.empty((len(rows), C))
    for c in range(C):
        g = 1.0 if weight is None else float(weight[c])
        b = 0.0 if bias is None else float(bias[c])
        for i, row in enumerate(rows):
            out[i, c] = g * row[c] / math.sqrt(var[c] + eps) + b
    return out.reshape(x.shape)


def online_norm(x, weight=None, bias=None, running_mean=None, running_var=None, u=None, v=None,
                training=False, alpha_fwd=0.999, alpha_bkw=0.99, eps=1e-5, ecm="ac",
                clamp_value=5.0, ls_eps=1e-5):
    N, C = x.shape[:2]
    x3 = x.reshape(N, C, -1)
    L = x3.shape[2]
    out = np.empty_like(x3)
    for c in range(C):
        mu, var = float(running_mean[c]), float(running_var[c])
        for i in range(N):
            vals = [float(t) for t in x3[i, c, :]]
            for j in range(L):
                out[i, c, j] = (vals[j] - mu) / math.sqrt(var + eps)
            if training:                     # Eqs. of the paper: statistics of earlier samples
                m_i, s_i = _var(vals)
                var = (alpha_fwd * var + (1 - alpha_fwd) * s_i
                       + alpha_fwd * (1 - alpha_fwd) * (m_i - mu) ** 2)
                mu = alpha_fwd * mu + (1 - alpha_fwd) * m_i
        g = 1.0 if weight is None else float(weight[c])
        b = 0.0 if bias is None else float(bias[c])
        out[:, c, :] = out[:, c, :] * g + b
    if ecm == "ac":
        out = np.minimum(np.maximum(out, -clamp_value), clamp_value)
    elif ecm == "ls":
        for i in range(N):
            flat = [float(t) for t in out[i].ravel()]
            out[i] /= math.sqrt(math.fsum(t * t for t in flat) / len(flat) + ls_eps)
    return out.reshape(x.shape)


ORACLES.update({
    "power_norm": power_norm,
    "unified_norm": unified_norm,
    "online_norm": online_norm,
})


def ms_norm(x, normalized_shape, eps=1e-5, base="layer"):
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    F = math.prod(shape)
    rows = x.reshape(-1, F)
    out = np.empty_like(rows)
    for m, row in enumerate(rows):
        vals = [float(v) for v in row]
        if base == "layer":
            mu, var = _var(vals)
        else:
            mu, var = 0.0, math.fsum(v * v for v in vals) / F
        for f in range(F):
            out[m, f] = (vals[f] - mu) / math.sqrt(var + eps)
    return out.reshape(x.shape)


ORACLES["ms_norm"] = ms_norm
