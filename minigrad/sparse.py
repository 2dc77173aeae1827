"""Sparse (CSR) matrix times dense tensor, ``torch.sparse.mm``-style, on scipy.sparse (CPU) or
cupyx.scipy.sparse (GPU; a gather/scatter-add fallback where cupyx's sparse module is
missing). Used e.g. by the Deep Conjugate Direction Method's residual loss (Kaneda et al. 2023).

y = A x with A (m, n) in CSR form (values, indices = column of each value, indptr) and
x (n,) or (n, k):
    y[i, j] = Σ_{p ∈ row i} values[p] · x[col(p), j]
so  dx = Aᵀ dy                           (again a CSR product, with Aᵀ's CSR structure)
    dvalues[p] = Σ_j dy[row(p), j] · x[col(p), j].
Both are products, gathers and sums that minigrad records, so the backward runs on tensors
too (second derivatives).
"""
from minigrad.autograd import Function
from minigrad.backends import backend_of_array
from minigrad.registry import Case, register
from minigrad.tensor import Tensor


def _raw(x):
    return x.data if isinstance(x, Tensor) else x


def _product(values, indices, indptr, shape, x):
    """CSR(values, indices, indptr, shape) @ x for arrays, x of shape (n, k)."""
    backend = backend_of_array(x)
    if backend.name == "numpy":
        import scipy.sparse
        return scipy.sparse.csr_matrix((values, indices, indptr), shape=shape) @ x
    try:
        import cupyx.scipy.sparse
    except ImportError:        # no cupyx.scipy.sparse: gather, multiply, scatter-add by row
        xp = backend.xp
        rows = xp.searchsorted(indptr, xp.arange(values.shape[0]), side="right") - 1
        y = xp.zeros((shape[0], x.shape[1]), dtype=x.dtype)
        xp.add.at(y, rows, xp.expand_dims(values, -1) * x[indices])
        return y
    return cupyx.scipy.sparse.csr_matrix((values, indices, indptr), shape=shape) @ x


class SparseCSRMM(Function):
    """Y = A X for A in CSR form (values, indices, indptr, shape), X dense (n, k).
    gX = Aᵀ G (Aᵀ in CSR: values[perm], rows[perm] with perm the stable sort by column);
    gvalues[p] = Σ_j G[row(p), j] X[col(p), j]."""
    differentiable_backward = True

    @staticmethod
    def forward(ctx, values, x, indices, indptr, shape):
        xp = ctx.xp
        nnz = values.shape[0]
        ctx.rows = xp.searchsorted(indptr, xp.arange(nnz), side="right") - 1
        ctx.cols, ctx.shape = indices, shape
        ctx.save_for_backward(values, x)
        perm = xp.argsort(indices, kind="stable")
        ctx.perm, ctx.rows_t = perm, ctx.rows[perm]
        ctx.indptr_t = xp.searchsorted(indices[perm], xp.arange(shape[1] + 1), side="left")
        return _product(values, indices, indptr, shape, x)

    @staticmethod
    def backward(ctx, G):
        values, x = ctx.saved_tensors
        gvalues = gx = None
        if ctx.needs_input_grad[1]:
            vt = values[ctx.perm]
            shape_t = (ctx.shape[1], ctx.shape[0])
            if isinstance(vt, Tensor) or isinstance(G, Tensor):
                gx = SparseCSRMM.apply(vt, G, ctx.rows_t, ctx.indptr_t, shape_t)
            else:
                gx = _product(vt, ctx.rows_t, ctx.indptr_t, shape_t, G)
        if ctx.needs_input_grad[0]:
            gvalues = (G[ctx.rows] * x[ctx.cols]).sum(axis=-1)
        return gvalues, gx, None, None, None


def sparse_csr_mm(values, indices, indptr, shape, x):
    """y = A x for A given in CSR form: ``values`` (nnz,) a float tensor (it gets a gradient
    when it requires one), ``indices`` (nnz,) column indices, ``indptr`` (m + 1,) row starts,
    ``shape`` = (m, n); x of shape (n,) or (n, k). Returns (m,) or (m, k)."""
    indices, indptr = _raw(indices), _raw(indptr)
    m, n = (int(s) for s in shape)
    if not isinstance(x, Tensor) or not isinstance(values, Tensor):
        raise TypeError("sparse_csr_mm: values and x must be tensors")
    if x.dtype.kind != "f" or values.dtype.kind != "f" or x.dtype != values.dtype:
        raise TypeError(f"sparse_csr_mm: values and x must be floating tensors of one dtype, got "
                        f"{values.dtype} and {x.dtype}")
    if x.ndim not in (1, 2) or x.shape[0] != n:
        raise ValueError(f"sparse_csr_mm: A of shape ({m}, {n}) cannot multiply x of shape "
                         f"{tuple(x.shape)} (x needs shape ({n},) or ({n}, k))")
    if values.ndim != 1 or indices.shape != values.shape or indptr.shape != (m + 1,):
        raise ValueError(f"sparse_csr_mm: CSR arrays do not fit shape ({m}, {n}): values "
                         f"{tuple(values.shape)}, indices {tuple(indices.shape)}, indptr "
                         f"{tuple(indptr.shape)} (needs ({m + 1},))")
    xp = backend_of_array(x.data)
    indices, indptr = xp.asarray(indices), xp.asarray(indptr)
    x2 = x.reshape(n, 1) if x.ndim == 1 else x
    y = SparseCSRMM.apply(values, x2, indices, indptr, (m, n))
    return y.reshape(m) if x.ndim == 1 else y


def to_backend_sparse(A, like=None):
    """A scipy.sparse matrix as the CSR matrix of ``like``'s backend (scipy.sparse on
    "numpy", cupyx.scipy.sparse on "cupy"; default: the current backend)."""
    from minigrad.backends import current, get_backend
    backend = get_backend(like) if isinstance(like, str) else (
        backend_of_array(like.data) if isinstance(like, Tensor) else current())
    if backend.name == "numpy":
        if type(A).__module__.startswith("cupyx"):
            return A.get().tocsr()
        return A.tocsr()
    import cupyx.scipy.sparse
    return cupyx.scipy.sparse.csr_matrix(A.tocsr() if not type(A).__module__.startswith("cupyx") else A)


def sparse_mm(A, x):
    """y = A x for a sparse matrix A (scipy.sparse or cupyx.scipy.sparse, any format) that is
    data (no gradient), x a dense tensor (n,) or (n, k); dx = Aᵀ dy."""
    if not hasattr(A, "tocsr"):
        raise TypeError(f"sparse_mm: A must be a scipy.sparse / cupyx.scipy.sparse matrix, got "
                        f"{type(A).__name__}")
    if not isinstance(x, Tensor):
        raise TypeError(f"sparse_mm: x must be a tensor, got {type(x).__name__}")
    A = A.tocsr()
    backend = backend_of_array(x.data)
    values = Tensor._wrap(backend.asarray(A.data, dtype=x.dtype))
    return sparse_csr_mm(values, backend.asarray(A.indices), backend.asarray(A.indptr),
                         A.shape, x)


def _random_csr(r, m, n, density=0.4):
    import numpy
    dense = r.standard_normal((m, n)) * (r.random((m, n)) < density)
    dense[0, 0] = 1.5                                   # at least one value
    dense[m - 1] = 0.0                                  # and an empty row
    import scipy.sparse
    return scipy.sparse.csr_matrix(dense), numpy


def _cases(r):
    cases = []
    for m, n, k in ((4, 3, None), (5, 4, 2)):
        A, numpy = _random_csr(r, m, n)
        x = r.standard_normal((n,) if k is None else (n, k))
        cases.append(Case(A.data.astype(numpy.float64), A.indices.astype(numpy.int64),
                          A.indptr.astype(numpy.int64), (m, n), x))
    return cases


register(sparse_csr_mm, kind="layer", catalog_id="B164", aliases=("sparse_matvec",),
         papers=["A Deep Conjugate Direction Method for Iteratively Solving Linear Systems"],
         inputs=_cases)
