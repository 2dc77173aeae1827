"""Forward reference for TrAct's first linear layer (minigrad.optim.tract): the forward is
an ordinary affine map, written here as a loop over rows and output units."""
import numpy as np


def _tract(x, w, b=None, lambda_=0.1):
    rows = x.reshape(-1, x.shape[-1])
    out = np.zeros((rows.shape[0], w.shape[0]))
    for i in range(rows.shape[0]):
        for j in range(w.shape[0]):
            out[i, j] = sum(rows[i, k] * w[j, k] for k in range(w.shape[1]))
            if b is not None:
                out[i, j] += b[j]
    return out.reshape(x.shape[:-1] + (w.shape[0],))


ORACLES = {"tract": _tract}
