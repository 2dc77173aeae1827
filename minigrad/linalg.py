"""``minigrad.linalg``: ``torch.linalg``'s names for real matrices, batched over leading axes,
each with a hand-derived backward.

References: M. Giles 2008, "An extended collection of matrix derivative results for forward
and reverse mode algorithmic differentiation" (solve, inv, det, eigh); I. Murray 2016,
"Differentiation of the Cholesky decomposition"; J. Townsend 2016, "Differentiating the
singular value decomposition"; H.-J. Liao et al. 2019, "Differentiable programming tensor
networks" (QR); Daleckii & Krein 1965 (spectral functions); Al-Mohy & Higham 2009 (the
block-matrix form of the Fréchet derivative of exp).

Conventions. ``eigh``, ``cholesky`` and the ``*_spd`` functions read the symmetric part
(A + Aᵀ)/2 of their input (PyTorch reads one triangle; both agree on symmetric input), so
their gradients are symmetric and are the true derivatives. Eigenvectors and singular
vectors are returned with a fixed sign (the largest-magnitude entry of each eigenvector / left
singular vector is positive) and QR with diag(R) ≥ 0, so that results agree across backends.
Singular, non-positive-definite, complex and non-square inputs raise, naming the op, the
shape and (for a batch) the index of the first bad matrix; like PyTorch this costs one
device→host synchronization per call on the GPU.

Second derivatives: every backward is written with matmuls, elementwise ops and the
differentiable ops of this module (solve, triangular solve, inv, matrix_exp), so it runs
unchanged on tensors (``differentiable_backward``); the spectral functions of SPD matrices
give a ``composite`` (V f(Λ) Vᵀ through ``eigh``).
"""
import collections
import math

import numpy

from minigrad.autograd import Function
from minigrad.backends import backend_of_array
from minigrad.ops._checks import check_floating
from minigrad.registry import Case, register
from minigrad.tensor import Tensor

SlogdetResult = collections.namedtuple("SlogdetResult", ["sign", "logabsdet"])
EighResult = collections.namedtuple("EighResult", ["eigenvalues", "eigenvectors"])
SVDResult = collections.namedtuple("SVDResult", ["U", "S", "Vh"])
QRResult = collections.namedtuple("QRResult", ["Q", "R"])


# ------------------------------------------------------------------ small helpers
def _raw(x):
    return x.data if isinstance(x, Tensor) else x


def _xp_of(x):
    return backend_of_array(_raw(x)).xp


def _mT(x):
    """Swap the last two axes (arrays or tensors)."""
    if isinstance(x, Tensor):
        axes = list(range(x.ndim))
        axes[-1], axes[-2] = axes[-2], axes[-1]
        return x.permute(*axes)
    return x.swapaxes(-1, -2)


def _unsq(x, axis):
    return x.unsqueeze(axis) if isinstance(x, Tensor) else _xp_of(x).expand_dims(x, axis)


def _mask(x, kind, k=0):
    """A constant (array) mask of ``x``'s matrix shape: 'tril'/'triu' (with offset k), 'eye'."""
    xp = _xp_of(x)
    n, m = x.shape[-2], x.shape[-1]
    ones = xp.ones((n, m), dtype=x.dtype)
    return xp.eye(n, m, dtype=x.dtype) if kind == "eye" else getattr(xp, kind)(ones, k)


def _check_matrix(op, A, square=True):
    if A.dtype.kind == "c":
        raise TypeError(f"{op}: complex input (dtype {A.dtype}, shape {tuple(A.shape)}) is not "
                        "supported; minigrad.linalg works on real matrices")
    check_floating(op, A=A)
    if A.ndim < 2:
        raise ValueError(f"{op}: expects a matrix or a batch of matrices (..., m, n), got "
                         f"shape {tuple(A.shape)}")
    if square and A.shape[-1] != A.shape[-2]:
        raise ValueError(f"{op}: expects square matrices (..., n, n), got shape {tuple(A.shape)}")


def _first_bad(A, probe):
    """Batch index of the first matrix in A on which ``probe`` fails or is not finite."""
    xp = _xp_of(A)
    batch = A.shape[:-2]
    flat = A.reshape((-1,) + A.shape[-2:])
    for i in range(flat.shape[0]):
        try:
            ok = bool(xp.isfinite(probe(flat[i])).all())
        except numpy.linalg.LinAlgError:
            ok = False
        if not ok:
            return tuple(int(j) for j in numpy.unravel_index(i, batch)) if batch else ()
    return None


def _guarded(op, what, fn, A, probe):
    """fn() with LAPACK's LinAlgError (NumPy) or a non-finite result (CuPy) turned into a
    LinAlgError naming the op and the batch index of the first bad matrix."""
    try:
        out = fn()
        ok = all(bool(_xp_of(o).isfinite(o).all()) for o in (out if isinstance(out, tuple) else (out,)))
    except numpy.linalg.LinAlgError:
        ok = False
    if ok:
        return out
    index = _first_bad(A, probe)
    where = f"the matrix at batch index {index}" if index else "the matrix"
    if index is None:
        where = "the result (the right-hand side may not be finite) for a matrix"
    raise numpy.linalg.LinAlgError(f"{op}: {where} of an input of shape {tuple(A.shape)} and "
                                   f"dtype {A.dtype} is {what}")


def _bcast(A, B):
    xp = _xp_of(A)
    batch = numpy.broadcast_shapes(A.shape[:-2], B.shape[:-2])
    return xp.broadcast_to(A, batch + A.shape[-2:]), xp.broadcast_to(B, batch + B.shape[-2:])


def _solve_raw(A, B, op="solve"):
    xp = _xp_of(A)
    A2, B2 = _bcast(A, B)
    return _guarded(op, "singular", lambda: xp.linalg.solve(A2, B2), A, xp.linalg.inv)


def _tri_raw(A, B, upper, op="solve_triangular"):
    xp = _xp_of(A)
    T = xp.triu(A) if upper else xp.tril(A)
    T2, B2 = _bcast(T, B)
    return _guarded(op, "singular (a zero on the diagonal)",
                    lambda: xp.linalg.solve(T2, B2), T, xp.linalg.inv)


# Used inside backwards: arrays take the raw path, tensors the recorded op (second order).
def _solve_any(A, B):
    return Solve.apply(A, B) if isinstance(B, Tensor) or isinstance(A, Tensor) else _solve_raw(A, B)


def _tri_any(A, B, upper):
    if isinstance(A, Tensor) or isinstance(B, Tensor):
        return SolveTriangular.apply(A, B, upper)
    return _tri_raw(A, B, upper)


def _fix_signs(xp, V):
    """Signs (..., 1, k) making the largest-magnitude entry of each column of V positive."""
    idx = xp.expand_dims(xp.argmax(xp.abs(V), axis=-2), -2)
    s = xp.sign(xp.take_along_axis(V, idx, axis=-2))
    return xp.where(s == 0, 1, s).astype(V.dtype)


def _safe_recip_offdiag(d):
    """1/d off exact zeros (the diagonal, exactly tied eigen/singular values), 0 there."""
    tied = (_raw(d) == 0).astype(d.dtype)
    return (1 / (d + tied)) * (1 - tied)


# ------------------------------------------------------------------ B046: solves, inverse, determinants
class Solve(Function):
    """X = A⁻¹ B for square A (..., n, n) and B (..., n, k), batch axes broadcast.
    From A X = B: dA X + A dX = dB, so dX = A⁻¹(dB − dA X) and
    <G, dX> = <A⁻ᵀG, dB> − <A⁻ᵀG Xᵀ, dA>:  gB = A⁻ᵀ G,  gA = −gB Xᵀ   (Giles 2008, §2.3.1)."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx, A, B):
        X = _solve_raw(A, B)
        ctx.save_for_backward(A, X)
        return X

    @staticmethod
    def backward(ctx, G):
        A, X = ctx.saved_tensors
        gB = _solve_any(_mT(A), G)
        gA = -(gB @ _mT(X)) if ctx.needs_input_grad[0] else None
        return gA, gB


class SolveTriangular(Function):
    """X = T⁻¹ B with T the upper (or lower) triangle of A; as ``Solve`` with the gradient of
    A restricted to that triangle: gB = T⁻ᵀ G,  gA = triangle(−gB Xᵀ)."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx, A, B, upper):
        X = _tri_raw(A, B, upper)
        ctx.upper = upper
        ctx.save_for_backward(A, X)
        return X

    @staticmethod
    def backward(ctx, G):
        A, X = ctx.saved_tensors
        gB = _tri_any(_mT(A), G, not ctx.upper)
        gA = None
        if ctx.needs_input_grad[0]:
            gA = -(gB @ _mT(X))
            gA = gA * _mask(A, "triu" if ctx.upper else "tril")
        return gA, gB, None


class Inv(Function):
    """Y = A⁻¹. From A Y = I: dY = −Y dA Y, so gA = −Yᵀ G Yᵀ  (Giles 2008, §2.2.1)."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx, A):
        xp = ctx.xp
        Y = _guarded("inv", "singular", lambda: xp.linalg.inv(A), A, xp.linalg.inv)
        ctx.save_for_backward(Y)
        return Y

    @staticmethod
    def backward(ctx, G):
        Y, = ctx.saved_tensors
        Yt = _mT(Y)
        return -(Yt @ G @ Yt)


def _inv_any(A):
    return Inv.apply(A) if isinstance(A, Tensor) else _guarded(
        "inv", "singular", lambda: _xp_of(A).linalg.inv(A), A, _xp_of(A).linalg.inv)


class Det(Function):
    """d = det A. Jacobi's formula: dd = d·tr(A⁻¹ dA), so gA = g·d·A⁻ᵀ  (Giles 2008, §2.2.4).
    The gradient at a singular A (the adjugate) is not computed: it raises as inv does."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx, A):
        d = ctx.xp.linalg.det(A)
        ctx.save_for_backward(A, d)
        return d

    @staticmethod
    def backward(ctx, g):
        A, d = ctx.saved_tensors
        return _unsq(_unsq(g * d, -1), -1) * _mT(_inv_any(A))


class Slogdet(Function):
    """(sign, log|det A|). d log|det A| = tr(A⁻¹ dA), so gA = g·A⁻ᵀ; the sign is piecewise
    constant (no gradient). A singular A gives (0, −inf), as in PyTorch."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx, A):
        sign, logabs = ctx.xp.linalg.slogdet(A)
        ctx.save_for_backward(A)
        return sign.astype(A.dtype), logabs

    @staticmethod
    def backward(ctx, gsign, glog):
        A, = ctx.saved_tensors
        return _unsq(_unsq(glog, -1), -1) * _mT(_inv_any(A))


class Cholesky(Function):
    """L lower-triangular with L Lᵀ = S = (A + Aᵀ)/2. Murray 2016 (eq. 10): with
    Φ(X) = the lower triangle of X with its diagonal halved,
    gS = L⁻ᵀ Φ(Lᵀ Ḡ) L⁻¹ (Ḡ = tril(G): L's upper triangle is identically zero),
    and gA = (gS + gSᵀ)/2, computed with two triangular solves."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx, A):
        xp = ctx.xp
        S = (A + A.swapaxes(-1, -2)) / 2
        L = _guarded("cholesky", "not positive-definite", lambda: xp.linalg.cholesky(S), S,
                     xp.linalg.cholesky)
        ctx.save_for_backward(L)
        return L

    @staticmethod
    def backward(ctx, G):
        L, = ctx.saved_tensors
        Lt = _mT(L)
        phi = _mask(L, "tril") - _mask(L, "eye") / 2
        P = (Lt @ (G * _mask(L, "tril"))) * phi
        gS = _mT(_tri_any(Lt, _mT(_tri_any(Lt, P, True)), True))   # L⁻ᵀ P L⁻¹
        return (gS + _mT(gS)) / 2


def solve(A, B, *, left=True):
    """X with A X = B (``torch.linalg.solve``): A (..., n, n); B (..., n, k) or a vector
    (B of shape (n,) or A.shape[:-1]); batch axes broadcast. Prefer it to inv(A) @ B."""
    _check_matrix("solve", A)
    check_floating("solve", B=B)
    if not left:                                  # X A = B  ⇔  Aᵀ Xᵀ = Bᵀ
        return _mT(solve(_mT(A), _mT(B)))
    if A.dtype != B.dtype:
        raise TypeError(f"solve: A and B must have the same dtype, got {A.dtype} and {B.dtype}")
    vector = B.ndim == 1 or (B.ndim == A.ndim - 1 and tuple(B.shape) == tuple(A.shape[:-1]))
    n = A.shape[-1]
    if (B.shape[-1] if vector else B.shape[-2] if B.ndim >= 2 else -1) != n:
        raise ValueError(f"solve: A of shape {tuple(A.shape)} and B of shape {tuple(B.shape)} "
                         f"do not match (B needs {n} rows)")
    if vector:
        return Solve.apply(A, B.unsqueeze(-1)).squeeze(-1)
    return Solve.apply(A, B)


def solve_triangular(A, B, *, upper, left=True):
    """X with T X = B (left) or X T = B (left=False), T the upper or lower triangle of A
    (``torch.linalg.solve_triangular``); B is a matrix (..., n, k)."""
    _check_matrix("solve_triangular", A)
    check_floating("solve_triangular", B=B)
    if B.ndim < 2:
        raise ValueError(f"solve_triangular: B must be a matrix (..., n, k), got shape {tuple(B.shape)}")
    if not left:
        return _mT(solve_triangular(_mT(A), _mT(B), upper=not upper))
    if B.shape[-2] != A.shape[-1]:
        raise ValueError(f"solve_triangular: A of shape {tuple(A.shape)} and B of shape "
                         f"{tuple(B.shape)} do not match")
    return SolveTriangular.apply(A, B, bool(upper))


def inv(A):
    """A⁻¹ (``torch.linalg.inv``); raises LinAlgError naming the first singular matrix."""
    _check_matrix("inv", A)
    return Inv.apply(A)


def det(A):
    """det A (``torch.linalg.det``)."""
    _check_matrix("det", A)
    return Det.apply(A)


def slogdet(A):
    """(sign, logabsdet) of det A (``torch.linalg.slogdet``), a named tuple."""
    _check_matrix("slogdet", A)
    return SlogdetResult(*Slogdet.apply(A))


def cholesky(A, *, upper=False):
    """L with L Lᵀ = A for SPD A (``torch.linalg.cholesky``; Lᵀ with upper=True)."""
    _check_matrix("cholesky", A)
    L = Cholesky.apply(A)
    return _mT(L) if upper else L


def cholesky_solve(B, L, upper=False):
    """X with (L Lᵀ) X = B given the Cholesky factor L (``torch.cholesky_solve``): two
    triangular solves, so its gradients (of both B and L) come from theirs."""
    if upper:
        L = _mT(L)
    Y = solve_triangular(L, B, upper=False)
    return solve_triangular(_mT(L), Y, upper=True)


# ------------------------------------------------------------------ B047: eigh, svd, qr, spectral functions
def _eigh_raw(op, A):
    xp = _xp_of(A)
    S = (A + A.swapaxes(-1, -2)) / 2
    w, V = _guarded(op, "not diagonalizable (no convergence)", lambda: xp.linalg.eigh(S), S,
                    lambda M: xp.linalg.eigh(M)[0])
    return w, V * _fix_signs(xp, V)


def _outputs(function, ctx):
    """The decomposition's outputs for its backward: the forward's arrays on the first-order
    walk; under create_graph=True the decomposition recomputed from the saved input on the tape
    (so that a discarded output, e.g. the eigenvalues of ``eigh(A).eigenvectors``, is no
    obstacle to differentiating the backward again)."""
    A, = ctx.saved_tensors
    return function.apply(A) if isinstance(A, Tensor) else ctx.outs


class Eigh(Function):
    """S = (A + Aᵀ)/2 = V diag(λ) Vᵀ (ascending λ). Giles 2008 §3.1:
    gS = V (diag(gλ) + F ∘ (Vᵀ gV)) Vᵀ,  F_ij = 1/(λ_j − λ_i) (i ≠ j), 0 on the diagonal;
    gA = (gS + gSᵀ)/2. Repeated eigenvalues: the eigenvectors are not unique and F blows up,
    so eigenvector gradients are infinite/undefined there (as in PyTorch, not checked);
    exactly equal pairs get F_ij = 0, which keeps eigenvalue-only losses (eigvalsh) exact."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx, A):
        w, V = _eigh_raw("eigh", A)
        ctx.save_for_backward(A)
        ctx.outs = w, V
        return w, V

    @staticmethod
    def backward(ctx, gw, gV):
        w, V = _outputs(Eigh, ctx)
        Vt = _mT(V)
        F = _safe_recip_offdiag(_unsq(w, -2) - _unsq(w, -1))
        inner = _unsq(gw, -1) * _mask(V, "eye") + F * (Vt @ gV)
        gS = V @ inner @ Vt
        return (gS + _mT(gS)) / 2


class SVD(Function):
    """Thin SVD A = U diag(s) Vh (k = min(m, n), s descending). Townsend 2016, with V = Vhᵀ,
    F_ij = 1/(s_j² − s_i²) (i ≠ j), 0 on the diagonal:
    gA = U[(F∘(UᵀgU − gUᵀU)) S + diag(gs) + S (F∘(VᵀgV − gVᵀV))]Vᵀ
         + (I − UUᵀ) gU S⁻¹ Vᵀ + U S⁻¹ gVᵀ (I − VVᵀ).
    Repeated singular values make the singular-vector gradients infinite/undefined, and a zero
    singular value makes the projector terms (m ≠ n) so: documented, not checked (as PyTorch)."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx, A):
        xp = ctx.xp
        U, s, Vh = _guarded("svd", "not decomposable (no convergence)",
                            lambda: xp.linalg.svd(A, full_matrices=False), A,
                            lambda M: xp.linalg.svd(M, compute_uv=False))
        sg = _fix_signs(xp, U)
        U, Vh = U * sg, Vh * sg.swapaxes(-1, -2)
        ctx.save_for_backward(A)
        ctx.outs = U, s, Vh
        return U, s, Vh

    @staticmethod
    def backward(ctx, gU, gs, gVh):
        U, s, Vh = _outputs(SVD, ctx)
        V, gV, Ut = _mT(Vh), _mT(gVh), _mT(U)
        s2 = s * s
        F = _safe_recip_offdiag(_unsq(s2, -2) - _unsq(s2, -1))
        UtgU, VtgV = Ut @ gU, Vh @ gV
        J = F * (UtgU - _mT(UtgU))
        K = F * (VtgV - _mT(VtgV))
        eye = _xp_of(s).eye(s.shape[-1], dtype=s.dtype)
        inner = J * _unsq(s, -2) + _unsq(gs, -1) * eye + _unsq(s, -1) * K
        sinv = _safe_recip_offdiag(s)  # 1/s, 0 where s == 0
        gA = U @ inner @ Vh
        gA = gA + ((gU - U @ UtgU) * _unsq(sinv, -2)) @ Vh
        gA = gA + U @ (_unsq(sinv, -1) * (gVh - (gVh @ V) @ Vh))
        return gA


class QR(Function):
    """Reduced QR, A = Q R (m ≥ n for the gradient), diag(R) ≥ 0. Liao et al. 2019 (eq. 3),
    Walter & Lehmann 2018: with Ḡ_R = triu(G_R),
    M = R Ḡ_Rᵀ − G_Qᵀ Q,  gA = (G_Q + Q copyltu(M)) R⁻ᵀ,  copyltu(M) = tril(M) + tril(M, −1)ᵀ.
    A rank-deficient A (a zero on diag(R)) has no gradient (the triangular solve raises)."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx, A):
        xp = ctx.xp
        Q, R = xp.linalg.qr(A, mode="reduced")
        d = xp.sign(xp.diagonal(R, axis1=-2, axis2=-1))
        d = xp.where(d == 0, 1, d).astype(A.dtype)
        Q, R = Q * xp.expand_dims(d, -2), R * xp.expand_dims(d, -1)
        ctx.save_for_backward(A)
        ctx.outs = Q, R
        return Q, R

    @staticmethod
    def backward(ctx, gQ, gR):
        Q, R = _outputs(QR, ctx)
        if Q.shape[-2] < R.shape[-1]:
            raise NotImplementedError(f"qr: the gradient is implemented for m ≥ n only, got an "
                                      f"input of shape {tuple(Q.shape[:-1]) + (R.shape[-1],)}")
        M = R @ _mT(gR * _mask(R, "triu")) - _mT(gQ) @ Q
        copyltu = M * _mask(M, "tril") + _mT(M * _mask(M, "tril", -1))
        B = gQ + Q @ copyltu
        return _mT(_tri_any(R, _mT(B), True))    # B R⁻ᵀ


def _expm_raw(A):
    """exp(A) by scaling and squaring with a degree-18 Taylor polynomial (‖A/2ˢ‖₁ ≤ 1/2)."""
    xp = _xp_of(A)
    norm = float(xp.abs(A).sum(axis=-2).max()) if A.size else 0.0
    s = max(0, int(math.ceil(math.log2(norm))) + 1) if norm > 0 else 0
    X = A / (2.0 ** s)
    E = term = xp.broadcast_to(xp.eye(A.shape[-1], dtype=A.dtype), A.shape)
    for k in range(1, 19):
        term = (term @ X) / k
        E = E + term
    for _ in range(s):
        E = E @ E
    return E


class MatrixExp(Function):
    """Y = exp(A) = Σ Aᵏ/k!. Its Fréchet derivative L(A, E) is the upper-right block of
    exp([[A, E], [0, A]]) (Mathias 1996; Al-Mohy & Higham 2009), and the adjoint is
    gA = L(Aᵀ, G): the upper-right block of exp([[Aᵀ, G], [0, Aᵀ]])."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx, A):
        ctx.save_for_backward(A)
        return _expm_raw(A)

    @staticmethod
    def backward(ctx, G):
        A, = ctx.saved_tensors
        xp, n = ctx.xp, A.shape[-1]
        At = _mT(A)
        top = xp.concatenate([At, G], axis=-1)
        bottom = xp.concatenate([xp.zeros_like(At), At], axis=-1)
        block = xp.concatenate([top, bottom], axis=-2)
        big = MatrixExp.apply(block) if isinstance(block, Tensor) else _expm_raw(block)
        return big[..., :n, n:]


def eigh(A, UPLO="L"):
    """(eigenvalues ascending, eigenvectors as columns) of the symmetric part of A
    (``torch.linalg.eigh``); ``UPLO`` is accepted for compatibility (both give (A + Aᵀ)/2)."""
    _check_matrix("eigh", A)
    return EighResult(*Eigh.apply(A))


class Eigvalsh(Function):
    """λ of S = (A + Aᵀ)/2: gA = V diag(gλ) Vᵀ (well defined even for repeated eigenvalues when
    the loss is symmetric in them). Second order: ``composite`` through eigh."""

    @staticmethod
    def forward(ctx, A):
        w, V = _eigh_raw("eigvalsh", A)
        ctx.save_for_backward(V)
        return w

    @staticmethod
    def backward(ctx, gw):
        V, = ctx.saved_tensors
        return (V * ctx.xp.expand_dims(gw, -2)) @ V.swapaxes(-1, -2)

    @staticmethod
    def composite(A):
        return Eigh.apply(A)[0]


class Svdvals(Function):
    """Singular values s of A: gA = U diag(gs) Vh. Second order: ``composite`` through svd."""

    @staticmethod
    def forward(ctx, A):
        U, s, Vh = SVD.forward(ctx, A)
        return s

    @staticmethod
    def backward(ctx, gs):
        U, s, Vh = ctx.outs
        return (U * ctx.xp.expand_dims(gs, -2)) @ Vh

    @staticmethod
    def composite(A):
        return SVD.apply(A)[1]


def eigvalsh(A, UPLO="L"):
    """Eigenvalues (ascending) of the symmetric part of A (``torch.linalg.eigvalsh``)."""
    _check_matrix("eigvalsh", A)
    return Eigvalsh.apply(A)


def svd(A, full_matrices=False):
    """Thin SVD (U, S, Vh) with A = U diag(S) Vh (``torch.linalg.svd``, full_matrices=False)."""
    _check_matrix("svd", A, square=False)
    if full_matrices:
        raise NotImplementedError("svd: only the thin SVD (full_matrices=False) is implemented")
    return SVDResult(*SVD.apply(A))


def svdvals(A):
    """Singular values, descending (``torch.linalg.svdvals``)."""
    _check_matrix("svdvals", A, square=False)
    return Svdvals.apply(A)


def qr(A, mode="reduced"):
    """Reduced QR (Q, R) with diag(R) ≥ 0 (``torch.linalg.qr``)."""
    _check_matrix("qr", A, square=False)
    if mode != "reduced":
        raise NotImplementedError(f"qr: only mode='reduced' is implemented, got {mode!r}")
    return QRResult(*QR.apply(A))


def matrix_exp(A):
    """exp(A) for square A (``torch.linalg.matrix_exp``)."""
    _check_matrix("matrix_exp", A)
    return MatrixExp.apply(A)


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False):
    """‖A‖ over the two axes ``dim`` (``torch.linalg.matrix_norm``): 'fro', 'nuc', 2 (largest
    singular value) or -2 (smallest); built from differentiable ops."""
    _check_matrix("matrix_norm", A, square=False)
    dim = tuple(d % A.ndim for d in dim)
    if ord == "fro":
        return (A * A).sum(axis=dim, keepdims=keepdim).sqrt()
    if ord not in ("nuc", 2, -2):
        raise ValueError(f"matrix_norm: ord must be 'fro', 'nuc', 2 or -2, got {ord!r}")
    rest = [d for d in range(A.ndim) if d not in dim]
    s = svdvals(A.permute(*rest, *dim))
    out = s.sum(axis=-1) if ord == "nuc" else s[..., 0] if ord == 2 else s[..., -1]
    if keepdim:
        for d in sorted(dim):
            out = out.unsqueeze(d)
    return out


def norm(x, ord=None, dim=None, keepdim=False):
    """``torch.linalg.norm``: the 2-norm of x flattened (ord=None, dim=None), a vector p-norm
    over one axis (ord a number, inf, -inf), or a matrix norm over two axes."""
    if ord is None:
        axis = None if dim is None else dim
        return (x * x).sum(axis=axis, keepdims=keepdim).sqrt()
    if isinstance(dim, (tuple, list)) and len(dim) == 2 or (dim is None and x.ndim == 2):
        return matrix_norm(x, ord, dim=tuple(dim) if dim is not None else (-2, -1), keepdim=keepdim)
    axis = -1 if dim is None else dim
    if ord == math.inf:
        return x.abs().max(axis=axis, keepdims=keepdim)
    if ord == -math.inf:
        return x.abs().min(axis=axis, keepdims=keepdim)
    if ord == 2:
        return (x * x).sum(axis=axis, keepdims=keepdim).sqrt()
    return (x.abs() ** ord).sum(axis=axis, keepdims=keepdim) ** (1.0 / ord)


class _SpdFunction(Function):
    """Y = f(S) = V diag(f(λ)) Vᵀ for S = (A + Aᵀ)/2 SPD. Daleckii–Krein:
    gS = V (K ∘ (Vᵀ Ḡ V)) Vᵀ with Ḡ = (G + Gᵀ)/2, K_ij = (f(λ_i) − f(λ_j))/(λ_i − λ_j) off the
    diagonal and f′(λ_i) on it (and (f′(λ_i) + f′(λ_j))/2 for nearly equal λ: the divided
    difference's limit); gA = gS (already symmetric). Second order: ``composite`` (through
    eigh, whose F needs distinct eigenvalues)."""
    name = "spd"

    @staticmethod
    def f(xp, w, p):
        raise NotImplementedError

    @staticmethod
    def df(xp, w, p):
        raise NotImplementedError

    @classmethod
    def forward(cls, ctx, A, p=None):
        xp = ctx.xp
        w, V = _eigh_raw(cls.name, A)
        bad = (w <= 0).any(axis=-1)
        if bool(bad.any()):
            i = numpy.unravel_index(int(xp.argmax(bad)), bad.shape) if bad.ndim else ()
            raise ValueError(f"{cls.name}: the matrix at batch index {tuple(int(j) for j in i)} of an "
                             f"input of shape {tuple(A.shape)} is not positive-definite "
                             f"(smallest eigenvalue {float(w[i].min()):.3g}); add ε·I first")
        fw = cls.f(xp, w, p)
        ctx.save_for_backward(w, V, fw)
        ctx.p = p
        return (V * xp.expand_dims(fw, -2)) @ V.swapaxes(-1, -2)

    @classmethod
    def backward(cls, ctx, G):
        w, V, fw = ctx.saved_tensors
        xp = ctx.xp
        dw = w[..., :, None] - w[..., None, :]
        near = xp.abs(dw) <= 1e-10 * xp.abs(w).max(axis=-1)[..., None, None]
        dfw = cls.df(xp, w, ctx.p)
        K = xp.where(near, (dfw[..., :, None] + dfw[..., None, :]) / 2,
                     (fw[..., :, None] - fw[..., None, :]) / xp.where(near, 1, dw))
        Gs = (G + G.swapaxes(-1, -2)) / 2
        Vt = V.swapaxes(-1, -2)
        return V @ (K * (Vt @ Gs @ V)) @ Vt, None

    @classmethod
    def composite(cls, A, p=None):
        w, V = eigh(A)
        fw = {"sqrtm_spd": lambda: w.sqrt(), "logm_spd": lambda: w.log(),
              "powm_spd": lambda: w ** p}[cls.name]()
        return (V * fw.unsqueeze(-2)) @ _mT(V)


class SqrtmSpd(_SpdFunction):
    name = "sqrtm_spd"
    f = staticmethod(lambda xp, w, p: xp.sqrt(w))
    df = staticmethod(lambda xp, w, p: 0.5 / xp.sqrt(w))


class LogmSpd(_SpdFunction):
    name = "logm_spd"
    f = staticmethod(lambda xp, w, p: xp.log(w))
    df = staticmethod(lambda xp, w, p: 1 / w)


class PowmSpd(_SpdFunction):
    name = "powm_spd"
    f = staticmethod(lambda xp, w, p: w ** p)
    df = staticmethod(lambda xp, w, p: p * w ** (p - 1))


def sqrtm_spd(A):
    """A^{1/2} of an SPD matrix (its symmetric part), via eigh; Daleckii–Krein backward."""
    _check_matrix("sqrtm_spd", A)
    return SqrtmSpd.apply(A)


def logm_spd(A):
    """log A of an SPD matrix (its symmetric part), via eigh; Daleckii–Krein backward."""
    _check_matrix("logm_spd", A)
    return LogmSpd.apply(A)


def powm_spd(A, p):
    """A^p (any real p) of an SPD matrix (its symmetric part), via eigh; Daleckii–Krein."""
    _check_matrix("powm_spd", A)
    return PowmSpd.apply(A, float(p))


# ------------------------------------------------------------------ registration
_B046 = ["TrAct: Making First-layer Pre-Activations Trainable", "Stochastic Normalizing Flows",
         "Training Normalizing Flows from Dependent Data"]
_B047 = ["Learning to Normalize on the SPD Manifold under Bures-Wasserstein Geometry",
         "A Lie Group Approach to Riemannian Batch Normalization",
         "Gradient Weight-normalized Low-rank Projection for Efficient LLM Training"]


def _general(r, *shape):
    n = shape[-1]
    return r.standard_normal(shape) + n * numpy.eye(n)


def _spd(r, *shape):
    n = shape[-1]
    M = r.standard_normal(shape)
    return M @ M.swapaxes(-1, -2) + n * numpy.eye(n)


def _distinct_sym(r, *shape):
    """Symmetric with well-separated eigenvalues 1, 2, ..., n (times a random rotation)."""
    n = shape[-1]
    Q, _ = numpy.linalg.qr(r.standard_normal(shape))
    return (Q * numpy.arange(1.0, n + 1)) @ Q.swapaxes(-1, -2)


def _register_all():
    n = lambda r, *s: r.standard_normal(s)  # noqa: E731
    tri = lambda r, *s: numpy.tril(_general(r, *s))  # noqa: E731
    reg = dict(kind="layer", catalog_id="B046", papers=_B046)
    register(solve, **reg, inputs=lambda r: [
        Case(_general(r, 3, 3), n(r, 3, 2)), Case(_general(r, 2, 3, 3), n(r, 3)),
        Case(_general(r, 2, 3, 3), n(r, 1, 3, 2))])
    register(inv, **reg, inputs=lambda r: [Case(_general(r, 3, 3)), Case(_general(r, 2, 3, 3))])
    register(det, **reg, inputs=lambda r: [Case(_general(r, 3, 3)), Case(_general(r, 2, 3, 3))])
    register(slogdet, **reg, inputs=lambda r: [Case(_general(r, 3, 3)), Case(-_general(r, 2, 3, 3))])
    register(cholesky, **reg, inputs=lambda r: [Case(_spd(r, 3, 3)), Case(_spd(r, 2, 3, 3))])
    register(solve_triangular, **reg, inputs=lambda r: [
        Case(tri(r, 3, 3), n(r, 3, 2), upper=False), Case(_mT(tri(r, 2, 3, 3)), n(r, 3, 2), upper=True),
        Case(tri(r, 3, 3), n(r, 2, 3), upper=False, left=False)])
    register(cholesky_solve, **reg, inputs=lambda r: [
        Case(n(r, 3, 2), numpy.linalg.cholesky(_spd(r, 3, 3)))])
    reg = dict(kind="layer", catalog_id="B047", papers=_B047)
    register(eigh, **reg, inputs=lambda r: [Case(_distinct_sym(r, 3, 3)), Case(_distinct_sym(r, 2, 3, 3))])
    register(eigvalsh, **reg, inputs=lambda r: [Case(_distinct_sym(r, 3, 3))])
    register(svd, **reg, inputs=lambda r: [Case(n(r, 4, 3)), Case(n(r, 3, 4)), Case(n(r, 2, 3, 3))])
    register(svdvals, **reg, inputs=lambda r: [Case(n(r, 4, 3))])
    register(qr, **reg, inputs=lambda r: [Case(n(r, 4, 3)), Case(n(r, 2, 3, 3))])
    register(matrix_exp, **reg, inputs=lambda r: [Case(0.5 * n(r, 3, 3)), Case(1.5 * n(r, 2, 2, 2))])
    register(matrix_norm, **reg, inputs=lambda r: [
        Case(n(r, 3, 4)), Case(n(r, 3, 4), ord="nuc"), Case(n(r, 2, 3, 3), ord=2)])
    register(norm, **reg, inputs=lambda r: [
        Case(n(r, 3, 4)), Case(n(r, 2, 3), ord=3, dim=1), Case(n(r, 3, 3), ord="nuc")])
    register(sqrtm_spd, **reg, inputs=lambda r: [Case(_spd(r, 3, 3)), Case(_spd(r, 2, 3, 3))])
    register(logm_spd, **reg, inputs=lambda r: [Case(_spd(r, 3, 3))])
    register(powm_spd, **reg, inputs=lambda r: [Case(_spd(r, 3, 3), 0.7), Case(_spd(r, 3, 3), -0.5)])


_register_all()
