"""Forward oracles of the Riemannian batch normalizations (N053–N055), written as per-matrix /
per-point loops in float64 NumPy: matrix functions by a fresh eigendecomposition of each
matrix, the Lie-Cholesky action with an explicit inverse, the Lyapunov equation by its
Kronecker-product linear system, Möbius operations from their gyrovector formulas, the
Poincaré exp/log maps through the conformal factor — never calling minigrad."""
import numpy as np


def _fm(A, f):
    """f(A) of one symmetric matrix by its eigendecomposition."""
    w, U = np.linalg.eigh((A + A.T) / 2)
    return U @ np.diag(f(w)) @ U.T


def _sqrt(A):
    return _fm(A, np.sqrt)


def _isqrt(A):
    return _fm(A, lambda w: 1 / np.sqrt(w))


def _log(A):
    return _fm(A, np.log)


def _exp(A):
    return _fm(A, np.exp)


def _pow(A, p):
    return _fm(A, lambda w: w ** p)


# ------------------------------------------------------------------ LieBN (N055)
def _lie_deform(X, metric, power):
    if metric == "LEM":
        return _log(X)
    Xp = _pow(X, power)
    if metric == "AIM":
        return Xp
    L = np.linalg.cholesky(Xp)
    out = np.tril(L, -1)
    for k in range(L.shape[0]):
        out[k, k] = np.log(L[k, k])
    return out


def _lie_inv_deform(Y, metric, power):
    if metric == "LEM":
        return _exp(Y)
    if metric == "AIM":
        return _pow(Y, 1 / power)
    C = np.tril(Y, -1)
    for k in range(Y.shape[0]):
        C[k, k] = np.exp(Y[k, k])
    return _pow(C @ C.T, 1 / power)


def _chol_act(P, X, inverse):
    L = np.linalg.cholesky(P)
    if inverse:
        Li = np.linalg.inv(L)
        return Li @ X @ Li.T
    return L @ X @ L.T


def _lie_one_channel(xs, rm, rv, w, s, training, eps, metric, power, alpha, beta, steps):
    n = xs[0].shape[-1]
    D = [_lie_deform(X, metric, power) for X in xs]
    if training:
        M = sum(D) / len(D)
        if metric == "AIM":
            for _ in range(steps):
                T = sum(_log(_isqrt(M) @ P @ _isqrt(M)) for P in D) / len(D)
                if np.sqrt((T ** 2).sum()) <= 0.1:
                    break
                M = _sqrt(M) @ _exp(T) @ _sqrt(M)
    else:
        M = rm
    if metric == "AIM":
        C = [_chol_act(M, P, True) for P in D]
    else:
        C = [P - M for P in D]
    if training:
        d = []
        for P in C:
            if metric == "AIM":
                Lg = _log(P)
                d.append((alpha * (Lg ** 2).sum() + beta * np.trace(Lg) ** 2) / power ** 2)
            elif metric == "LCM":
                d.append((P ** 2).sum() / power ** 2)
            else:
                d.append(alpha * (P ** 2).sum() + beta * np.trace(P) ** 2)
        v = float(np.mean(d))
    else:
        v = float(rv)
    f = (1.0 if s is None else float(s)) / np.sqrt(v + eps)
    out = []
    for P in C:
        S = _pow(P, f) if metric == "AIM" else f * P
        if w is not None:
            B = _lie_deform(w, metric, power)
            S = _chol_act(B, S, False) if metric == "AIM" else S + B
        out.append(_lie_inv_deform(S, metric, power))
    return out


def lie_batch_norm(x, running_mean=None, running_var=None, weight=None, shift=None,
                   training=False, momentum=0.1, eps=1e-5, metric="AIM", power=1.0, alpha=1.0,
                   beta=0.0, karcher_steps=1, detach_stats=True):
    N, n = x.shape[0], x.shape[-1]
    chan = x.shape[1:-2]
    y = np.empty_like(x)
    for c in np.ndindex(*chan):
        xs = [x[(i,) + c] for i in range(N)]
        get = (lambda a, k=c: None if a is None else a[k])
        out = _lie_one_channel(xs, get(running_mean), get(running_var), get(weight),
                               get(shift), training, eps, metric, power, alpha, beta,
                               karcher_steps)
        for i in range(N):
            y[(i,) + c] = out[i]
    return y


# ------------------------------------------------------------------ GBWBN (N054)
def _lyap(X, V):
    """L with X L + L X = V via the Kronecker system (I ⊗ X + X ⊗ I) vec L = vec V."""
    n = X.shape[0]
    K = np.kron(np.eye(n), X) + np.kron(X, np.eye(n))
    return np.linalg.solve(K, V.reshape(-1, order="F")).reshape(n, n, order="F")


def _transport(B, V, g):
    w, U = np.linalg.eigh(B)
    K = np.empty((len(w), len(w)))
    for i in range(len(w)):
        for j in range(len(w)):
            K[i, j] = g(w[i] + w[j])
    return U @ (K * (U.T @ V @ U)) @ U.T


def gbw_batch_norm(x, running_mean=None, running_var=None, weight=None, metric_weight=None,
                   shift=None, training=False, momentum=0.1, eps=1e-5, power=1.0,
                   detach_stats=True):
    n = x.shape[-1]
    I = np.eye(n)
    Mi = I if metric_weight is None else _isqrt(metric_weight)
    Ps = [Mi @ _pow(X, power) @ Mi for X in x.reshape(-1, n, n)]
    if training:
        G0 = sum(Ps) / len(Ps)
        H = sum(_sqrt(_sqrt(G0) @ P @ _sqrt(G0)) for P in Ps) / len(Ps)
        G = _isqrt(G0) @ H @ H @ _isqrt(G0)
        v = np.mean([np.trace(P) + n - 2 * np.trace(_sqrt(P)) for P in Ps]) / power ** 2
    else:
        G, v = running_mean, float(running_var)
    f = (1.0 if shift is None else float(shift)) / np.sqrt(v + eps)
    out = []
    for P in Ps:
        # Log_G P = (G P)^{1/2} + (P G)^{1/2} − 2G, with (G P)^{1/2} = G^{1/2}(G^{1/2}PG^{1/2})^{1/2}G^{-1/2}
        C = _sqrt(G) @ _sqrt(_sqrt(G) @ P @ _sqrt(G)) @ _isqrt(G)
        V = _transport(G, C + C.T - 2 * G, lambda s: np.sqrt(2 / s))
        Q = (I + V / 2) @ (I + V / 2)
        W = f * (2 * _sqrt(Q) - 2 * I)
        R = (I + W / 2) @ (I + W / 2)
        U = 2 * _sqrt(R) - 2 * I
        if weight is None:
            Y = (I + U / 2) @ (I + U / 2)
        else:
            B = Mi @ _pow(weight, power) @ Mi
            T = _transport(B, U, lambda s: np.sqrt(s / 2))
            L = _lyap(B, T)
            Y = B + T + L @ B @ L
        if metric_weight is not None:
            Y = _sqrt(metric_weight) @ Y @ _sqrt(metric_weight)
        out.append(_pow(Y, 1 / power))
    return np.array(out).reshape(x.shape)


ORACLES = {"lie_batch_norm": lie_batch_norm, "gbw_batch_norm": gbw_batch_norm}


# ------------------------------------------------------------------ Poincaré midpoint BN (N053)
def _madd(x, y, c):
    xy, x2, y2 = x @ y, x @ x, y @ y
    return ((1 + 2 * c * xy + c * y2) * x + (1 - c * x2) * y) / (1 + 2 * c * xy + c * c * x2 * y2)


def _gyr(a, b, w, c):
    """gyr[a, b]w by its definition: ⊖(a ⊕ b) ⊕ (a ⊕ (b ⊕ w)) (w a small vector, linearised)."""
    h = 1e-4   # gyr[a,b] is linear in w: apply it to a small point and rescale
    return _madd(-_madd(a, b, c), _madd(a, _madd(b, h * w, c), c), c) / h


def _lam(x, c):
    return 2 / (1 - c * (x @ x))


def _dist(x, y, c):
    """arccosh form: d = arccosh(1 + 2c‖x − y‖²/((1 − c‖x‖²)(1 − c‖y‖²)))/√c."""
    return np.arccosh(1 + 2 * c * ((x - y) @ (x - y)) / ((1 - c * x @ x) * (1 - c * y @ y))) / np.sqrt(c)


def _plog(x, y, c):
    u = _madd(-x, y, c)
    return _dist(x, y, c) / _lam(x, c) * u / np.linalg.norm(u) if np.linalg.norm(u) > 0 else 0 * u


def _proj(y, c, eps=1e-5):
    mx = (1 - eps) / np.sqrt(c)
    n = np.linalg.norm(y)
    return y / n * mx if n > mx else y


def _pexp(x, v, c):
    n = np.linalg.norm(v)
    if n == 0:
        return x
    return _proj(_madd(x, np.tanh(np.sqrt(c) * _lam(x, c) * n / 2) * v / (np.sqrt(c) * n), c), c)


def _klein_midpoint(X, c):
    """The Einstein midpoint in the Klein model, mapped back to the ball."""
    K = [2 * x / (1 + c * x @ x) for x in X]
    g = [1 / np.sqrt(1 - c * k @ k) for k in K]
    mk = sum(gi * k for gi, k in zip(g, K)) / sum(g)
    gm = 1 / np.sqrt(1 - c * mk @ mk)
    return gm / (1 + gm) * mk


def poincare_batch_norm(x, running_mean=None, running_var=None, weight=None, bias=None,
                        training=False, momentum=0.1, eps=1e-6, c=1.0):
    D = x.shape[-1]
    X = x.reshape(-1, D)
    if training:
        m = _klein_midpoint(X, c)
        var = np.mean([_dist(xi, m, c) ** 2 for xi in X])
    else:
        m, var = running_mean, float(running_var)
    if bias is None:
        beta = np.zeros(D)
    else:
        nb = np.linalg.norm(bias)
        beta = _proj(np.tanh(np.sqrt(c) * nb) * bias / (np.sqrt(c) * nb), c)
    g = 1.0 if weight is None else float(weight)
    out = []
    for xi in X:
        v = _gyr(beta, -m, _plog(m, xi, c), c) * _lam(m, c) / _lam(beta, c)
        out.append(_pexp(beta, np.sqrt(g / (var + eps)) * v, c))
    return np.array(out).reshape(x.shape)


ORACLES["poincare_batch_norm"] = poincare_batch_norm
