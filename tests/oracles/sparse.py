"""Forward oracle for minigrad.sparse: a naive loop over the CSR rows."""
import numpy as np


def _csr_mm(values, indices, indptr, shape, x):
    x2 = x.reshape(shape[1], -1)
    y = np.zeros((shape[0], x2.shape[1]))
    for i in range(shape[0]):
        for p in range(indptr[i], indptr[i + 1]):
            y[i] += values[p] * x2[indices[p]]
    return y.reshape((shape[0],) + x.shape[1:])


ORACLES = {"sparse_csr_mm": _csr_mm}
