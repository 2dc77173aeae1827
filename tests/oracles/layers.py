"""Forward references for the layers (catalog B0xx): naive loops over NumPy float64 arrays,
written from the layers' formulas without minigrad. Random layers draw from the same seeds
as their ``checked_as`` wrappers (``numpy.random.default_rng(seed)``)."""
import math

import numpy as np


def _linear(x, w, b=None, bias=None):
    b = bias if b is None else b
    x2 = x.reshape(-1, x.shape[-1])
    out = np.zeros((x2.shape[0], w.shape[0]))
    for n in range(x2.shape[0]):
        for o in range(w.shape[0]):
            out[n, o] = math.fsum(x2[n, i] * w[o, i] for i in range(w.shape[1]))
            if b is not None:
                out[n, o] += b[o]
    return out.reshape(x.shape[:-1] + (w.shape[0],))


def _dropout(x, p):
    u = np.random.default_rng(7).random(x.shape)
    out = np.zeros_like(x)
    for i in np.ndindex(*x.shape):
        if u[i] >= p:
            out[i] = x[i] / (1 - p)
    return out


def _drop_path(x, p, scale_by_keep=True):
    u = np.random.default_rng(3).random(x.shape[0])
    out = np.zeros_like(x)
    for n in range(x.shape[0]):
        if u[n] >= p:
            out[n] = x[n] / (1 - p) if scale_by_keep else x[n]
    return out


def _embedding(idx, weight, padding_idx=None):
    out = np.empty(idx.shape + weight.shape[1:])
    for i in np.ndindex(*idx.shape):
        out[i] = weight[idx[i] % weight.shape[0]]
    return out


def _pixel_shuffle(x, r):
    *lead, c, h, w = x.shape
    out = np.empty(tuple(lead) + (c // (r * r), h * r, w * r))
    for pre in np.ndindex(*lead):
        for ch in range(c // (r * r)):
            for i in range(h):
                for j in range(w):
                    for a in range(r):
                        for b in range(r):
                            out[pre + (ch, i * r + a, j * r + b)] = x[pre + (ch * r * r + a * r + b, i, j)]
    return out


def _attend_row(q, keys, values, scale, allowed, add):
    """One query against all keys: naive softmax over the allowed, finite scores."""
    scores = []
    for j in range(len(keys)):
        s = scale * math.fsum(q[e] * keys[j][e] for e in range(len(q))) + add[j]
        scores.append(s if allowed[j] else -math.inf)
    finite = [s for s in scores if s != -math.inf]
    out = np.zeros(values.shape[1])
    if not finite:
        return out, np.zeros(len(keys))
    m = max(finite)
    e = [math.exp(s - m) if s != -math.inf else 0.0 for s in scores]
    z = math.fsum(e)
    p = np.array([v / z for v in e])
    for j in range(len(keys)):
        out += p[j] * values[j]
    return out, p


def _sdpa(q, k, v, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None):
    scale = 1 / math.sqrt(q.shape[-1]) if scale is None else scale
    lead = np.broadcast_shapes(q.shape[:-2], k.shape[:-2])
    L, S = q.shape[-2], k.shape[-2]
    out = np.zeros(lead + (L, v.shape[-1]))
    for b in np.ndindex(*lead):
        qb = np.broadcast_to(q, lead + q.shape[-2:])[b]
        kb = np.broadcast_to(k, lead + k.shape[-2:])[b]
        vb = np.broadcast_to(v, lead + v.shape[-2:])[b]
        for i in range(L):
            allowed = [not is_causal or j <= i for j in range(S)]
            add = [0.0] * S
            if attn_mask is not None:
                m = np.broadcast_to(attn_mask, lead + (L, S))[b][i]
                if attn_mask.dtype == bool:
                    allowed = [a and bool(m[j]) for j, a in enumerate(allowed)]
                else:
                    add = list(m)
            out[b + (i,)] = _attend_row(qb[i], kb, vb, scale, allowed, add)[0]
    return out


def _mha(query, key, value, num_heads, w_in, b_in, w_out, b_out=None, attn_mask=None,
         key_padding_mask=None, is_causal=False, attn_bias=None):
    n, L, E = query.shape
    S = key.shape[1]
    d = E // num_heads
    b_in = np.zeros(3 * E) if b_in is None else b_in
    q = _linear(query, w_in[:E], b_in[:E])
    k = _linear(key, w_in[E:2 * E], b_in[E:2 * E])
    v = _linear(value, w_in[2 * E:], b_in[2 * E:])
    concat = np.zeros((n, L, E))
    for b in range(n):
        for h in range(num_heads):
            sl = slice(h * d, (h + 1) * d)
            for i in range(L):
                allowed = []
                add = []
                for j in range(S):
                    ok = not (is_causal and j > i)
                    if attn_mask is not None and attn_mask.dtype == bool and attn_mask[i, j]:
                        ok = False
                    if key_padding_mask is not None and key_padding_mask[b, j]:
                        ok = False
                    allowed.append(ok)
                    extra = 0.0
                    if attn_bias is not None:
                        extra += np.broadcast_to(attn_bias, (n, num_heads, L, S))[b, h, i, j]
                    if attn_mask is not None and attn_mask.dtype != bool:
                        extra += attn_mask[i, j]
                    add.append(extra)
                concat[b, i, sl] = _attend_row(q[b, i, sl], k[b, :, sl], v[b, :, sl],
                                               1 / math.sqrt(d), allowed, add)[0]
    return _linear(concat, w_out, b_out)


def _softmax(z, axis=-1):
    z = np.moveaxis(z, axis, -1)
    out = np.empty_like(z)
    for i in np.ndindex(*z.shape[:-1]):
        e = [math.exp(v) for v in z[i]]
        s = math.fsum(e)
        out[i] = [v / s for v in e]
    return np.moveaxis(out, -1, axis)


def _st_categorical(logits, tau=1.0):
    u = np.random.default_rng(11).random(logits.shape[:-1])
    p = _softmax(logits)
    out = np.zeros_like(logits)
    for i in np.ndindex(*logits.shape[:-1]):
        acc, pick = 0.0, logits.shape[-1] - 1
        for c in range(logits.shape[-1]):
            acc += p[i][c]
            if u[i] <= acc:
                pick = c
                break
        out[i + (pick,)] = 1.0
    return out


def _gumbel(logits, tau=1.0, hard=False, dim=-1):
    u = np.random.default_rng(5).random(logits.shape)
    g = np.vectorize(lambda a: -math.log(-math.log(max(a, 1e-20))))(u)
    y = _softmax((logits + g) / tau, dim)
    if not hard:
        return y
    idx = np.argmax(y, axis=dim)
    out = np.zeros_like(y)
    np.put_along_axis(out, np.expand_dims(idx, dim), 1.0, axis=dim)
    return out


def _ste_sign(x, clip=None):
    return np.vectorize(lambda v: 1.0 if v >= 0 else -1.0)(x)


def _ste_round(x, bits=None, stochastic=False, clamp=False):
    P = 1 if bits is None else 2 ** bits - 1
    u = np.random.default_rng(9).random(x.shape) if stochastic else None
    out = np.empty_like(x)
    for i in np.ndindex(*x.shape):
        v = min(max(x[i], -1.0), 1.0) if clamp else x[i]
        v *= P
        if stochastic:
            f = math.floor(v)
            q = f + (1.0 if u[i] < v - f else 0.0)
        else:
            q = round(v)  # Python's round is half to even, like NumPy's
        out[i] = q / P
    return out


def _fake_quantize(x, scale, zero_point, quant_min=-128, quant_max=127, axis=None):
    out = np.empty_like(x)
    for i in np.ndindex(*x.shape):
        s = scale if axis is None else scale[i[axis]]
        z = zero_point if axis is None else zero_point[i[axis]]
        q = min(max(round(x[i] / s) + round(z), quant_min), quant_max)
        out[i] = (q - round(z)) * s
    return out


def _lora(x, w, a, b, bias=None, alpha=None):
    scaling = 1.0 if alpha is None else alpha / a.shape[0]
    merged = w + scaling * np.einsum("or,ri->oi", b, a)
    return _linear(x, merged, bias)


def _pruned(*weights, amount, scope="global"):
    def smallest(values, k):
        order = sorted(range(len(values)), key=lambda i: (abs(values[i]), i))
        return set(order[:k])
    outs = []
    if scope == "layer":
        for w in weights:
            drop = smallest(list(w.ravel()), int(round(amount * w.size)))
            outs.append(np.array([0.0 if i in drop else v for i, v in enumerate(w.ravel())]).reshape(w.shape))
    else:
        flat = [v for w in weights for v in w.ravel()]
        drop = smallest(flat, int(round(amount * len(flat))))
        start = 0
        for w in weights:
            outs.append(np.array([0.0 if start + i in drop else v for i, v in enumerate(w.ravel())])
                        .reshape(w.shape))
            start += w.size
    return outs[0] if len(outs) == 1 else tuple(outs)


ORACLES = {
    "linear": _linear,
    # "dropout" (B006): the primitive's oracle in primitives.py checks both registry entries
    "drop_path": _drop_path,
    "embedding": _embedding,
    "pixel_shuffle": _pixel_shuffle,
    "scaled_dot_product_attention": _sdpa,
    "multi_head_attention": _mha,
    "straight_through_categorical": _st_categorical,
    "gumbel_softmax": _gumbel,
    "ste_sign": _ste_sign,
    "ste_round": _ste_round,
    "fake_quantize": _fake_quantize,
    "lora_linear": _lora,
    "magnitude_prune_mask": _pruned,
}


# ---------------------------------------------------------------- initialization schemes
def _fans(shape):
    receptive = 1
    for k in shape[2:]:
        receptive *= k
    return shape[1] * receptive, shape[0] * receptive


def _gain(nonlinearity, a):
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        return math.sqrt(2.0 / (1 + a * a))
    return 1.0


def _init(w, scheme="kaiming_normal", a=0.0, mode="fan_in", nonlinearity="leaky_relu", gain=1.0):
    rng = np.random.default_rng(13)
    fan_in, fan_out = _fans(w.shape)
    if scheme.startswith("kaiming"):
        std = _gain(nonlinearity, a) / math.sqrt(fan_in if mode == "fan_in" else fan_out)
    else:
        std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    if scheme.endswith("uniform"):
        bound = math.sqrt(3.0) * std               # Var U(-b, b) = b²/3
        return -bound + 2 * bound * rng.random(w.shape)
    return std * rng.standard_normal(w.shape)


def _fixup(x, b1a, b1b, b2a, b2b, scale, initialized=False):
    rng = np.random.default_rng(17)
    w1 = rng.uniform(-0.5, 0.5, (5, 4))            # Linear(4, 5) init: U(±1/√4)
    w2 = rng.uniform(-1 / math.sqrt(5), 1 / math.sqrt(5), (4, 5))
    if initialized:                                # Fixup: N(0, 2/fan_out)·L^(-1/2), last = 0
        w1 = rng.standard_normal((5, 4)) * math.sqrt(2.0 / 5) * 4 ** -0.5
        w2 = np.zeros((4, 5))
    out = np.empty_like(x)
    for n in range(x.shape[0]):
        h = [max(sum(w1[j, i] * (x[n, i] + b1a[0]) for i in range(4)) + b1b[0], 0.0) for j in range(5)]
        for i in range(4):
            branch = sum(w2[i, j] * (h[j] + b2a[0]) for j in range(5))
            out[n, i] = max(x[n, i] + scale[0] * branch + b2b[0], 0.0)
    return out


def _gram_schmidt_orthonormal(rng, rows, cols):
    """A (semi-)orthogonal rows×cols matrix from a Gaussian draw: Gram-Schmidt on the columns
    of the taller orientation (the Q of a QR with a positive diagonal R)."""
    g = rng.standard_normal((rows, cols))
    a = g if rows >= cols else g.T
    q = np.zeros_like(a)
    for j in range(a.shape[1]):
        v = a[:, j].copy()
        for i in range(j):
            v -= (q[:, i] @ a[:, j]) * q[:, i]
        q[:, j] = v / np.linalg.norm(v)
    return q if rows >= cols else q.T


def _lsuv(x, b1, b2):
    rng = np.random.default_rng(19)
    ws = [_gram_schmidt_orthonormal(rng, 6, 4), _gram_schmidt_orthonormal(rng, 3, 6)]

    def outputs():
        h1 = x @ ws[0].T + b1
        return [h1, np.tanh(h1) @ ws[1].T + b2]
    for layer in range(2):
        for _ in range(10):
            var = outputs()[layer].var()
            if abs(var - 1.0) < 0.1:
                break
            ws[layer] = ws[layer] / math.sqrt(var)
    return outputs()[-1]


ORACLES.update({"kaiming_xavier_init": _init, "fixup_init": _fixup, "lsuv_init": _lsuv})


# ---------------------------------------------------------------- residual blocks, SE
def _conv2d(x, w, stride=1):
    """Naive cross-correlation with 'same'-style padding k//2 (the blocks' 3×3 and 1×1 convs)."""
    n, c, h, wd = x.shape
    o, _, k, _ = w.shape
    p = k // 2
    xp = np.zeros((n, c, h + 2 * p, wd + 2 * p))
    xp[:, :, p:p + h, p:p + wd] = x
    oh, ow = (h + 2 * p - k) // stride + 1, (wd + 2 * p - k) // stride + 1
    out = np.zeros((n, o, oh, ow))
    for b in range(n):
        for f in range(o):
            for i in range(oh):
                for j in range(ow):
                    patch = xp[b, :, i * stride:i * stride + k, j * stride:j * stride + k]
                    out[b, f, i, j] = math.fsum((patch * w[f]).ravel())
    return out


def _bn(x, gamma, beta, eps=1e-5):
    out = np.empty_like(x)
    for ch in range(x.shape[1]):
        values = x[:, ch].ravel()
        m = math.fsum(values) / len(values)
        v = math.fsum((values - m) ** 2) / len(values)
        out[:, ch] = (x[:, ch] - m) / math.sqrt(v + eps) * gamma[ch] + beta[ch]
    return out


def _relu(x):
    return np.where(x > 0, x, 0.0)


def _option_a(x, channels, stride):
    x = x[:, :, ::stride, ::stride]
    extra = channels - x.shape[1]
    out = np.zeros((x.shape[0], channels) + x.shape[2:])
    out[:, extra // 2:extra // 2 + x.shape[1]] = x
    return out


def _residual(x, w1, g1, b1, w2, g2, b2, ws=None, gs=None, bs=None, stride=1):
    out = _bn(_conv2d(_relu(_bn(_conv2d(x, w1, stride), g1, b1)), w2), g2, b2)
    if ws is not None:
        sc = _bn(_conv2d(x, ws, stride), gs, bs)
    elif stride != 1 or w2.shape[0] != x.shape[1]:
        sc = _option_a(x, w2.shape[0], stride)
    else:
        sc = x
    return _relu(out + sc)


def _preact(x, g1, b1, w1, g2, b2, w2, ws=None, stride=1, dropout_p=0.0):
    a = _relu(_bn(x, g1, b1))
    h = _relu(_bn(_conv2d(a, w1, stride), g2, b2))
    if dropout_p:
        keep = np.random.default_rng(23).random(h.shape) >= dropout_p
        h = np.where(keep, h / (1 - dropout_p), 0.0)
    return _conv2d(h, w2) + (x if ws is None else _conv2d(a, ws, stride))


def _squeeze_excite(x, w1, b1, w2, b2, gate_scale=1.0):
    w1, w2 = w1.reshape(w1.shape[0], -1), w2.reshape(w2.shape[0], -1)
    out = np.empty_like(x)
    for n in range(x.shape[0]):
        z = [math.fsum(x[n, c].ravel()) / x[n, c].size for c in range(x.shape[1])]
        h = [max(math.fsum(w1[r, c] * z[c] for c in range(len(z))) + b1[r], 0.0)
             for r in range(w1.shape[0])]
        for c in range(x.shape[1]):
            s = 1 / (1 + math.exp(-(math.fsum(w2[c, r] * h[r] for r in range(len(h))) + b2[c])))
            out[n, c] = x[n, c] * s * gate_scale
    return out


ORACLES.update({"residual_block": _residual, "preact_residual_block": _preact,
                "wide_residual_block": _preact, "squeeze_excite": _squeeze_excite,
                "zero_init_residual": _relu})
