"""Forward references for the transformer normalizations (transformer_norms.py,
transformer_blocks.py): per-row / per-element loops with ``math`` and ``math.fsum``,
written from the papers' equations, never calling minigrad."""
import math

import numpy as np


def _rows(x):
    return x.reshape(-1, x.shape[-1])


def _ln_row(row, g=None, eps=1e-5, rms=False):
    n = len(row)
    mu = 0.0 if rms else math.fsum(row) / n
    var = math.fsum((v - mu) ** 2 for v in row) / n
    if rms:
        eps = float(np.finfo(np.float64).eps)
    out = [(v - mu) / math.sqrt(var + eps) for v in row]
    return np.array(out) * (1.0 if g is None else np.asarray(g))


def scale_norm(x, scale, eps=1e-5):
    out = np.empty_like(_rows(x))
    for i, row in enumerate(_rows(x)):
        norm = max(math.sqrt(math.fsum(v * v for v in row)), eps)
        out[i] = [float(np.asarray(scale).ravel()[0]) * v / norm for v in row]
    return out.reshape(x.shape)


def rescale_block(x, weight, bias, w1, b1, w2, b2, detach_grad=False):
    """out·rescale + rebias with out = γ x̂ + β, rescale = W1 σ + B1, rebias = W2 μ + B2."""
    out = np.empty_like(x)
    for n in range(x.shape[0]):
        values = [float(v) for v in x[n].ravel()]
        mu = math.fsum(values) / len(values)
        sigma = math.sqrt(math.fsum((v - mu) ** 2 for v in values) / len(values) + 1e-5)
        for c in range(x.shape[1]):
            rs, rb = w1[c] * sigma + b1[c], w2[c] * mu + b2[c]
            for idx in np.ndindex(*x.shape[2:]):
                y = weight[c] * (x[(n, c) + idx] - mu) / sigma + bias[c]
                out[(n, c) + idx] = y * rs + rb
    return out


def dyt(x, alpha, weight=None, bias=None, channels_last=True):
    a = float(np.asarray(alpha).ravel()[0])
    out = np.empty_like(x)
    for idx in np.ndindex(*x.shape):
        c = idx[-1] if channels_last else idx[1]
        g = 1.0 if weight is None else weight[c]
        b = 0.0 if bias is None else bias[c]
        out[idx] = g * math.tanh(a * x[idx]) + b
    return out


def elementwise_layer_norm(x, beta, weight=None, bias=None):
    b = float(np.asarray(beta).ravel()[0])
    C = x.shape[-1]
    out = np.empty_like(x)
    for idx in np.ndindex(*x.shape):
        c = idx[-1]
        y = math.sqrt(C) * x[idx] / math.sqrt(b + x[idx] ** 2)
        out[idx] = y * (1.0 if weight is None else weight[c]) + (0.0 if bias is None else bias[c])
    return out


def _attention_cos(q, k, v, g, causal):
    """One head: softmax over keys of g·cos(q_i, k_j), weighted sum of v."""
    L, S = q.shape[0], k.shape[0]
    out = np.zeros((L, v.shape[1]))
    for i in range(L):
        nq = math.sqrt(math.fsum(t * t for t in q[i]))
        scores = []
        for j in range(S):
            if causal and j > i:
                continue
            nk = math.sqrt(math.fsum(t * t for t in k[j]))
            scores.append((j, g * math.fsum(a * b for a, b in zip(q[i], k[j])) / (nq * nk)))
        m = max(s for _, s in scores)
        z = math.fsum(math.exp(s - m) for _, s in scores)
        for j, s in scores:
            out[i] += math.exp(s - m) / z * v[j]
    return out


def qk_norm(q, k, v, g, causal=False):
    g = np.asarray(g)
    if q.ndim == 2:
        return _attention_cos(q, k, v, float(g.ravel()[0]), causal)
    out = np.empty(q.shape[:-1] + (v.shape[-1],))
    for b in range(q.shape[0]):
        gb = float(g.ravel()[b]) if g.size > 1 else float(g.ravel()[0])
        out[b] = _attention_cos(q[b], k[b], v[b], gb, causal)
    return out


def deep_norm(x, sublayer_out, alpha, normalized_shape, weight=None, bias=None, eps=1e-5):
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    F = math.prod(shape)
    z = (alpha * x + sublayer_out).reshape(-1, F)
    w = np.ones(F) if weight is None else np.asarray(weight).ravel()
    b = np.zeros(F) if bias is None else np.asarray(bias).ravel()
    out = np.array([_ln_row(list(row), eps=eps) * w + b for row in z])
    return out.reshape(x.shape)


def normformer(x, w_in, w_out, w1, w2, g1, g2, g3, g4, head_scale, lam=None):
    """Per token, per head, written from Sec. 2 of the NormFormer paper (2 heads, tanh FFN)."""
    N, L, E = x.shape
    H, d = 2, E // 2
    out = np.empty_like(x)
    for n in range(N):
        a = np.array([_ln_row(list(t), g1) for t in x[n]])
        qkv = a @ w_in.T
        q, k, v = qkv[:, :E], qkv[:, E:2 * E], qkv[:, 2 * E:]
        heads = []
        for h in range(H):
            sl = slice(h * d, (h + 1) * d)
            s = q[:, sl] @ k[:, sl].T / math.sqrt(d)
            p = np.exp(s - s.max(axis=1, keepdims=True))
            p /= p.sum(axis=1, keepdims=True)
            heads.append(head_scale[h] * (p @ v[:, sl]))
        attn = np.concatenate(heads, axis=1) @ w_out.T
        hid = x[n] + np.array([_ln_row(list(t), g2) for t in attn])
        ffn_in = np.array([_ln_row(list(t), g3) for t in hid])
        mid = np.array([_ln_row(list(t), g4) for t in np.tanh(ffn_in @ w1.T)])
        res = hid if lam is None else hid * lam
        out[n] = res + mid @ w2.T
    return out


def peri_ln(x, w, g_in, g_out, rms=False):
    rows = _rows(x)
    out = np.empty_like(rows)
    for i, row in enumerate(rows):
        a = _ln_row(list(row), g_in, rms=rms)
        f = np.tanh(a @ w)
        out[i] = row + _ln_row(list(f), g_out, rms=rms)
    return out.reshape(x.shape)


def ngpt_normalize(x, dim=-1, eps=1e-12):
    moved = np.moveaxis(x, dim, -1)
    out = np.empty_like(moved)
    for idx in np.ndindex(*moved.shape[:-1]):
        row = moved[idx]
        out[idx] = row / max(math.sqrt(math.fsum(v * v for v in row)), eps)
    return np.moveaxis(out, -1, dim)


ORACLES = {
    "scale_norm": scale_norm,
    "rescale_norm": rescale_block,
    "dyt": dyt,
    "elementwise_layer_norm": elementwise_layer_norm,
    "qk_norm": qk_norm,
    "deep_norm": deep_norm,
    "normformer_block": normformer,
    "peri_ln_residual": peri_ln,
    "ngpt_normalize": ngpt_normalize,
}
