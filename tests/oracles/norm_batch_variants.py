"""Forward references for the batch-normalization variants (N009–N017): per-channel
loops over Python floats with ``math.fsum``, written from the papers' equations (not
minigrad's vectorised code)."""
import math

import numpy as np


def _mean(values):
    return math.fsum(values) / len(values)


def _stats(values):
    mu = _mean(values)
    return mu, _mean([(v - mu) ** 2 for v in values])


def _bn_loop(x3, stats_of, weight, bias, eps):
    """y[i, c, j] = γ_c (x − μ_c)/√(σ²_c + ε) + β_c with (μ_c, σ²_c) = stats_of(c)."""
    out = np.empty_like(x3)
    for c in range(x3.shape[1]):
        mu, var = stats_of(c)
        g = 1.0 if weight is None else float(weight[c])
        b = 0.0 if bias is None else float(bias[c])
        for i in range(x3.shape[0]):
            for j in range(x3.shape[2]):
                out[i, c, j] = g * (x3[i, c, j] - mu) / math.sqrt(var + eps) + b
    return out


def ghost_batch_norm(x, running_mean, running_var, weight=None, bias=None, training=False,
                     momentum=0.1, eps=1e-5, virtual_batch_size=128):
    N, C = x.shape[:2]
    x3 = x.reshape(N, C, -1)
    if not training:
        return _bn_loop(x3, lambda c: (float(running_mean[c]), float(running_var[c])),
                        weight, bias, eps).reshape(x.shape)
    out = np.empty_like(x3)
    for start in range(0, N, virtual_batch_size):
        ghost = x3[start:start + virtual_batch_size]
        out[start:start + virtual_batch_size] = _bn_loop(
            ghost, lambda c: _stats([float(v) for v in ghost[:, c, :].ravel()]), weight, bias, eps)
    return out.reshape(x.shape)


def alpha_batch_norm(x, running_mean, running_var, weight=None, bias=None, alpha=None, eps=1e-5):
    N, C = x.shape[:2]
    x3 = x.reshape(N, C, -1)

    def mixed(c):
        mu_t, var_t = _stats([float(v) for v in x3[:, c, :].ravel()])
        return (alpha * float(running_mean[c]) + (1 - alpha) * mu_t,
                alpha * float(running_var[c]) + (1 - alpha) * var_t)
    return _bn_loop(x3, mixed, weight, bias, eps).reshape(x.shape)


def batch_channel_norm(x, num_groups, running_mean, running_var, bn_weight=None, bn_bias=None,
                       weight=None, bias=None, training=False, moving_speed=0.0, eps=1e-5):
    N, C = x.shape[:2]
    x3 = x.reshape(N, C, -1)
    if running_mean is None:                      # large-batch form: BatchNorm first
        z = _bn_loop(x3, lambda c: _stats([float(v) for v in x3[:, c, :].ravel()]),
                     bn_weight, bn_bias, 1e-5)
    else:
        rm = [float(v) for v in running_mean]
        rv = [float(v) for v in running_var]
        if training:                              # EstBN: update first (with the old mean)
            r = moving_speed
            for c in range(C):
                vals = [float(v) for v in x3[:, c, :].ravel()]
                new_mu = _mean(vals)
                new_var = _mean([(v - rm[c]) ** 2 for v in vals])
                rm[c] = (1 - r) * rm[c] + r * new_mu
                rv[c] = (1 - r) * rv[c] + r * new_var
        z = _bn_loop(x3, lambda c: (rm[c], rv[c]), bn_weight, bn_bias, 1e-5)
    per = C // num_groups
    out = np.empty_like(z)
    for n in range(N):
        for g in range(num_groups):
            block = z[n, g * per:(g + 1) * per, :]
            mu, var = _stats([float(v) for v in block.ravel()])
            w = 1.0 if weight is None else float(np.ravel(weight)[g])
            b = 0.0 if bias is None else float(np.ravel(bias)[g])
            out[n, g * per:(g + 1) * per, :] = w * (block - mu) / math.sqrt(var + eps) + b
    return out.reshape(x.shape)


def ibn(x, running_mean, running_var, in_weight=None, in_bias=None, bn_weight=None,
        bn_bias=None, training=False, momentum=0.1, eps=1e-5, ratio=0.5):
    N, C = x.shape[:2]
    h = int(C * ratio)
    x3 = x.reshape(N, C, -1)
    out = np.empty_like(x3)
    for n in range(N):                            # instance part: per (n, c) over H·W
        for c in range(h):
            mu, var = _stats([float(v) for v in x3[n, c]])
            g = 1.0 if in_weight is None else float(in_weight[c])
            b = 0.0 if in_bias is None else float(in_bias[c])
            out[n, c] = g * (x3[n, c] - mu) / math.sqrt(var + eps) + b
    if h < C:
        rest = x3[:, h:]
        if training:
            stats = lambda c: _stats([float(v) for v in rest[:, c, :].ravel()])  # noqa: E731
        else:
            stats = lambda c: (float(running_mean[c]), float(running_var[c]))  # noqa: E731
        out[:, h:] = _bn_loop(rest, stats, bn_weight, bn_bias, eps)
    return out.reshape(x.shape)


ORACLES = {
    "ghost_batch_norm": ghost_batch_norm, "alpha_batch_norm": alpha_batch_norm,
    "batch_channel_norm": batch_channel_norm, "ibn": ibn,
}


def l1_deviation_norm(x, running_mean=None, running_dev=None, weight=None, bias=None,
                      training=False, momentum=0.1, eps=1e-5, normalized_shape=None,
                      scale=math.sqrt(math.pi / 2)):
    def l1_stats(values):
        mu = _mean(values)
        return mu, _mean([abs(v - mu) for v in values])

    if normalized_shape is not None:              # layer form: per row, affine per feature
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        F = math.prod(shape)
        rows = x.reshape(-1, F)
        w = np.ones(F) if weight is None else np.ravel(weight)
        b = np.zeros(F) if bias is None else np.ravel(bias)
        out = np.empty_like(rows)
        for m, row in enumerate(rows):
            mu, d = l1_stats([float(v) for v in row])
            for f in range(F):
                out[m, f] = w[f] * (row[f] - mu) / (scale * d + eps) + b[f]
        return out.reshape(x.shape)
    N, C = x.shape[:2]
    x3 = x.reshape(N, C, -1)
    out = np.empty_like(x3)
    for c in range(C):
        if training:
            mu, d = l1_stats([float(v) for v in x3[:, c, :].ravel()])
        else:
            mu, d = float(running_mean[c]), float(running_dev[c])
        g = 1.0 if weight is None else float(weight[c])
        b = 0.0 if bias is None else float(bias[c])
        out[:, c, :] = g * (x3[:, c, :] - mu) / (scale * d + eps) + b
    return out.reshape(x.shape)


ORACLES["l1_deviation_norm"] = l1_deviation_norm


# ------------------------------------------------------------------ Region Normalization
def _nearest(mask, H, W):
    """PyTorch's 'nearest' resize: source index floor(i·in/out)."""
    h, w = mask.shape[2:]
    rows = [min(int(math.floor(i * h / H)), h - 1) for i in range(H)]
    cols = [min(int(math.floor(j * w / W)), w - 1) for j in range(W)]
    return mask[:, :, rows][:, :, :, cols]


def _region_normalize(x, M, eps):
    """Per region and channel: (x − μ)/√(σ² + ε·n/S) over the region's pixels (S := 1 when
    empty), written from the paper's region statistics."""
    N, C, H, W = x.shape
    n = N * H * W
    out = np.zeros_like(x)
    for region in (M, 1 - M):
        region = np.broadcast_to(region, x.shape)
        for c in range(C):
            vals = [float(x[i, c, p, q]) for i in range(N) for p in range(H) for q in range(W)
                    if region[i, c, p, q]]
            S = len(vals)
            if S == 0:
                continue
            mu, var = _stats(vals)
            for i in range(N):
                for p in range(H):
                    for q in range(W):
                        if region[i, c, p, q]:
                            out[i, c, p, q] = (x[i, c, p, q] - mu) / math.sqrt(var + eps * n / S)
    return out


def region_norm_b(x, mask, foreground_gamma=None, foreground_beta=None, background_gamma=None,
                  background_beta=None, eps=1e-5):
    C = x.shape[1]
    M = _nearest(np.asarray(mask, dtype=float), *x.shape[2:])
    xhat = _region_normalize(x, M, eps)
    z = lambda t: np.zeros(C) if t is None else np.asarray(t)  # noqa: E731
    gf, bf, gb, bb = (z(t).reshape(1, C, 1, 1) for t in (foreground_gamma, foreground_beta,
                                                          background_gamma, background_beta))
    return M * xhat * (1 + gf) + (1 - M) * xhat * (1 + gb) + bf + bb   # the code's biases


def _conv_same(img, k, bias=0.0):
    """img (N, Cin, H, W), k (1, Cin, kh, kw): 'same' cross-correlation by loops."""
    N, Cin, H, W = img.shape
    kh = k.shape[2]
    p = kh // 2
    out = np.full((N, 1, H, W), float(bias))
    for i in range(N):
        for a in range(H):
            for b in range(W):
                acc = []
                for c in range(Cin):
                    for u in range(kh):
                        for v in range(kh):
                            aa, bb = a + u - p, b + v - p
                            if 0 <= aa < H and 0 <= bb < W:
                                acc.append(float(img[i, c, aa, bb]) * float(k[0, c, u, v]))
                out[i, 0, a, b] += math.fsum(acc)
    return out


def region_norm_l(x, weight, gamma_weight, gamma_bias, beta_weight, beta_bias, threshold=0.8,
                  eps=1e-5):
    pooled = np.concatenate([x.mean(axis=1, keepdims=True), x.max(axis=1, keepdims=True)], axis=1)
    s = 1 / (1 + np.exp(-_conv_same(pooled, weight)))
    M = (s >= threshold).astype(float)
    xhat = _region_normalize(x, M, eps)
    gamma = _conv_same(s, gamma_weight, gamma_bias[0])
    beta = _conv_same(s, beta_weight, beta_bias[0])
    return xhat * (1 + gamma) + beta


ORACLES["region_norm_b"] = region_norm_b
ORACLES["region_norm_l"] = region_norm_l


# ------------------------------------------------------------------ AdaB²N
def adab2n(x, weight, bias, task_logits, task, current_task=0):
    """The checked training outputs (y, μ, σ²), by loops over samples and tasks."""
    N, C = x.shape[:2]
    x3 = x.reshape(N, C, -1)
    if task is None or current_task == 0:
        w = [1.0 / N] * N
    else:
        T = current_task + 1
        counts = [sum(1 for t in task if t == u) for u in range(T)]
        conc = [math.exp(float(task_logits[u])) + counts[u] for u in range(T)]
        total = math.fsum(conc)
        w = [conc[t] / total / counts[t] for t in task]
    mu = np.array([math.fsum(w[i] * _mean([float(v) for v in x3[i, c]]) for i in range(N))
                   for c in range(C)])
    var = np.array([math.fsum(w[i] * _mean([(float(v) - mu[c]) ** 2 for v in x3[i, c]])
                              for i in range(N)) for c in range(C)])
    y = np.empty_like(x3)
    for c in range(C):
        y[:, c] = float(weight[c]) * (x3[:, c] - mu[c]) / math.sqrt(var[c] + 1e-5) + float(bias[c])
    return y.reshape(x.shape), mu, var


ORACLES["adab2n"] = adab2n


# ------------------------------------------------------------------ MPBN (LIF + BN on u)
def mp_batch_norm(x, running_mean, running_var, weight=None, bias=None, training=False,
                  momentum=0.1, eps=1e-5, tau=0.25, v_threshold=1.0, temp=3.0,
                  detach_reset=False, return_membrane=False):
    T, N, C = x.shape[:3]
    out = np.empty_like(x)
    u = np.zeros(x.shape[1:])
    spikes = np.zeros(x.shape[1:])
    for t in range(T):
        u = tau * u * (1 - spikes) + x[t]            # leak, hard reset, integrate
        u3 = u.reshape(N, C, -1)
        if training:
            stats = lambda c: _stats([float(v) for v in u3[:, c, :].ravel()])  # noqa: E731
        else:
            stats = lambda c: (float(running_mean[c]), float(running_var[c]))  # noqa: E731
        uh = _bn_loop(u3, stats, weight, bias, eps).reshape(u.shape)
        spikes = np.where(uh / v_threshold > 0.5, 1.0, 0.0)
        out[t] = uh if return_membrane else spikes
    return out


ORACLES["mp_batch_norm"] = mp_batch_norm
