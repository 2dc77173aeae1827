"""Forward references for the paper units (A027, A030, A033, A034, A048), written another
way than minigrad's code: ReLU on scores and PReLU element by element; SAU as the
convolution integral itself (Leaky ReLU against the Gaussian density, Gauss–Hermite
quadrature, not the closed form); the matrix activation as an explicit diagonal matrix
D(x) built neuron by neuron and multiplied into x; the Householder activation as the
2 × 2 matrix I − 2vvᵀ applied pair by pair."""
import math

import numpy as np

def _channel_values(p, x):
    p = np.asarray(p, dtype=float)
    if p.size > 1:
        p = p.reshape((1, p.size) + (1,) * (x.ndim - 2))
    else:
        p = p.reshape(())
    return np.broadcast_to(p, x.shape)


def _relu_classifier(o):
    o = np.asarray(o, dtype=float)
    out = np.empty_like(o)
    for idx in np.ndindex(*o.shape):
        out[idx] = o[idx] if o[idx] > 0 else 0.0
    return out


def _sau(x, alpha=0.15, n=20000.0):
    """(LeakyReLU_α * φ_n)(x) = ∫ LeakyReLU_α(x − y)·φ_n(y) dy, φ_n the N(0, 1/n²) density,
    integrated numerically (adaptive quadrature split at the kink y = x), not the closed form."""
    from scipy.integrate import quad
    x = np.asarray(x, dtype=float)
    a = _channel_values(alpha, x)
    sd = 1.0 / n
    out = np.empty(x.shape)
    for idx in np.ndindex(*x.shape):
        v, al = x[idx], a[idx]
        f = lambda y: ((v - y) if v > y else al * (v - y)) * math.exp(-0.5 * (y / sd) ** 2) / (sd * math.sqrt(2 * math.pi))  # noqa: E731,E501
        lo, hi = -14 * sd, 14 * sd
        pts = [v] if lo < v < hi else None
        out[idx] = quad(f, lo, hi, points=pts, epsabs=1e-13, epsrel=1e-12, limit=200)[0]
    return out


def _matrix_activation(x, weight, breakpoints=(0.0,)):
    x = np.asarray(x, dtype=float)
    w = np.asarray(weight, dtype=float)
    s = list(breakpoints)
    out = np.empty(x.shape)
    # move the neuron axis last, then apply D(x) = diag(d_i(x_i)) to each vector of neurons
    if x.ndim == 1:
        vectors = x.reshape(1, -1)
    else:
        vectors = np.moveaxis(x, 1, -1).reshape(-1, x.shape[1])
    res = np.empty_like(vectors)
    for r, v in enumerate(vectors):
        d = np.zeros((v.size, v.size))
        for i, vi in enumerate(v):
            k = 0
            while k < len(s) and vi >= s[k]:
                k += 1
            d[i, i] = w[k] if w.ndim == 1 else w[i, k]
        res[r] = d @ v
    if x.ndim == 1:
        return res.reshape(x.shape)
    moved = np.moveaxis(x, 1, -1).shape
    out = np.moveaxis(res.reshape(moved), -1, 1)
    return out


def _partial_linear_unit(x, alpha):
    x = np.asarray(x, dtype=float)
    a = _channel_values(alpha, x)
    out = np.empty(x.shape)
    for idx in np.ndindex(*x.shape):
        out[idx] = x[idx] if x[idx] > 0 else a[idx] * x[idx]
    return out


def _householder(x, theta=math.pi / 2, dim=1):
    x = np.asarray(x, dtype=float)
    axis = dim % x.ndim
    xm = np.moveaxis(x, axis, 0)
    half = xm.shape[0] // 2
    th = np.broadcast_to(np.asarray(theta, dtype=float).ravel(), (half,))
    out = np.empty_like(xm)
    for i in range(half):
        v = np.array([math.sin(th[i] / 2), -math.cos(th[i] / 2)])
        house = np.eye(2) - 2 * np.outer(v, v)
        for idx in np.ndindex(*xm.shape[1:]):
            z = np.array([xm[(i,) + idx], xm[(i + half,) + idx]])
            w = house @ z if v @ z > 0 else z
            out[(i,) + idx], out[(i + half,) + idx] = w
    return np.moveaxis(out, 0, axis)


ORACLES = {
    "relu_classifier": _relu_classifier,
    "sau": _sau,
    "matrix_activation": _matrix_activation,
    "partial_linear_unit": _partial_linear_unit,
    "householder_activation": _householder,
}
