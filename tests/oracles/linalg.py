"""Forward oracles for minigrad.linalg: numpy.linalg / scipy.linalg called directly, with the
sign conventions minigrad documents (largest-magnitude entry of each eigen/left singular vector
positive, diag(R) ≥ 0)."""
import numpy as np
import scipy.linalg as sl


def _sym(A):
    return (A + np.swapaxes(A, -1, -2)) / 2


def _batched(fn):
    def run(A, *rest):
        if A.ndim == 2:
            return fn(A, *rest)
        outs = [run(a, *rest) for a in A]
        if isinstance(outs[0], tuple):
            return tuple(np.stack(parts) for parts in zip(*outs))
        return np.stack(outs)
    return run


def _signs(V):
    idx = np.argmax(np.abs(V), axis=0)
    return np.sign(V[idx, np.arange(V.shape[1])])


@_batched
def _eigh(A):
    w, V = sl.eigh(_sym(A))
    return w, V * _signs(V)


@_batched
def _svd(A):
    U, s, Vh = sl.svd(A, full_matrices=False)
    sg = _signs(U)
    return U * sg, s, Vh * sg[:, None]


@_batched
def _qr(A):
    Q, R = sl.qr(A, mode="economic")
    d = np.sign(np.diag(R))
    return Q * d, R * d[:, None]


def _solve(A, B):
    vector = B.ndim == 1 or (B.ndim == A.ndim - 1 and B.shape == A.shape[:-1])
    Bm = B[..., None] if vector else B
    batch = np.broadcast_shapes(A.shape[:-2], Bm.shape[:-2])
    A2 = np.broadcast_to(A, batch + A.shape[-2:]).reshape((-1,) + A.shape[-2:])
    B2 = np.broadcast_to(Bm, batch + Bm.shape[-2:]).reshape((-1,) + Bm.shape[-2:])
    X = np.stack([sl.solve(a, b) for a, b in zip(A2, B2)]).reshape(batch + Bm.shape[-2:])
    return X[..., 0] if vector else X


def _solve_triangular(A, B, upper, left=True):
    if left:
        return sl.solve_triangular(A, B, lower=not upper)
    return sl.solve_triangular(A.T, B.T, lower=upper).T


@_batched
def _spd_fn(A, f):
    w, V = np.linalg.eigh(_sym(A))
    return (V * f(w)) @ V.T


def _matrix_norm(A, ord="fro"):
    if ord == "fro":
        return np.sqrt((A ** 2).sum(axis=(-2, -1)))
    return np.linalg.norm(A, ord=ord, axis=(-2, -1))


def _norm(x, ord=None, dim=None):
    if ord is None:
        return np.sqrt((x ** 2).sum())
    if isinstance(ord, str):
        return np.linalg.norm(x, ord=ord)
    return np.linalg.norm(x, ord=ord, axis=dim)


ORACLES = {
    "solve": _solve,
    "inv": _batched(sl.inv),
    "det": _batched(sl.det),
    "slogdet": lambda A: tuple(np.asarray(v, dtype=float) for v in np.linalg.slogdet(A)),
    "cholesky": _batched(lambda A: sl.cholesky(_sym(A), lower=True)),
    "solve_triangular": _solve_triangular,
    "cholesky_solve": lambda B, L: sl.cho_solve((L, True), B),
    "eigh": _eigh,
    "eigvalsh": lambda A: _eigh(A)[0],
    "svd": _svd,
    "svdvals": lambda A: sl.svdvals(A),
    "qr": _qr,
    "matrix_exp": _batched(sl.expm),
    "matrix_norm": _matrix_norm,
    "norm": _norm,
    "logm_spd": _batched(lambda A: sl.logm(_sym(A)).real),
    "powm_spd": lambda A, p: _batched(lambda a: sl.fractional_matrix_power(_sym(a), p).real)(A),
}
ORACLES["sqrtm_spd"] = _batched(lambda A: sl.sqrtm(_sym(A)).real)
