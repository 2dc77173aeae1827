"""Forward references for the attention normalizers (attention_normalizers.py), written
as plain Python loops over (batch…, query) rows with ``math`` functions, one key at a
time, from the papers' formulas (no vectorised code shared with the implementation)."""
import math

import numpy as np


def _rows(scores, allowed):
    """Yield (index of the row, its scores, its allowed flags) over every query row."""
    s = np.asarray(scores, dtype=float)
    a = np.ones(s.shape, dtype=bool) if allowed is None else np.broadcast_to(allowed, s.shape)
    for idx in np.ndindex(s.shape[:-1]):
        yield idx, [float(v) for v in s[idx]], [bool(v) for v in a[idx]]


def relu_attention(scores, allowed=None, alpha=1.0):
    out = np.zeros(np.shape(scores))
    for idx, row, ok in _rows(scores, allowed):
        L = max(sum(ok), 1)                      # the sequence length a query sees
        for j, (v, k) in enumerate(zip(row, ok)):
            out[idx + (j,)] = (v if (k and v > 0) else 0.0) / L ** alpha
    return out


def rela_attention(scores, value, weight=None, gate=None, allowed=None, eps=1e-8):
    s = np.asarray(scores, dtype=float)
    v = np.broadcast_to(np.asarray(value, dtype=float), s.shape[:-2] + np.shape(value)[-2:])
    D = v.shape[-1]
    g = [1.0] * D if weight is None else [float(x) for x in weight]
    w = None if gate is None else [float(x) for x in gate]
    out = np.zeros(s.shape[:-1] + (D,))
    for idx, row, ok in _rows(s, allowed):
        batch = idx[:-1]
        z = [math.fsum((row[j] if (ok[j] and row[j] > 0) else 0.0) * v[batch + (j, d)]
                       for j in range(len(row))) for d in range(D)]
        rms = math.sqrt(math.fsum(x * x for x in z) / D + eps)
        for d in range(D):
            gate_d = 1.0 if w is None else 1.0 / (1.0 + math.exp(-w[d] * z[d]))
            out[idx + (d,)] = g[d] * z[d] / rms * gate_d
    return out


ORACLES = {"relu_attention": relu_attention, "rela_attention": rela_attention}
