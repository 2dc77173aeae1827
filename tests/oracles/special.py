"""Forward references for ``minigrad.special``: the standard library's ``math`` where it
has the function, NumPy's ``i0`` and SciPy's general-order Bessel functions elsewhere."""
import math

import numpy as np
import scipy.special as sp

_vec = np.vectorize


def _xlogy(x, y):
    x, y = np.broadcast_arrays(np.asarray(x, float), np.asarray(y, float))
    return np.where(x == 0, 0.0, x * np.log(np.where(x == 0, 1.0, y)))


ORACLES = {
    "lgamma": _vec(math.lgamma),
    "digamma": lambda x: sp.polygamma(0, x),
    "polygamma": lambda n, x: (-1.0) ** (n + 1) * math.factorial(n) * sp.zeta(n + 1, x)
    if np.all(x > 0) else sp.polygamma(n, x),
    "erfc": _vec(math.erfc),
    "erfinv": lambda x: sp.ndtri((x + 1) / 2) / math.sqrt(2),
    "ndtr": _vec(lambda v: 0.5 * math.erfc(-v / math.sqrt(2))),
    "log_ndtr": _vec(lambda v: math.log(0.5 * math.erfc(-v / math.sqrt(2)))),
    "xlogy": _xlogy,
    "i0": np.i0,
    "i1": lambda x: sp.iv(1, x),
    "i0e": lambda x: np.exp(-np.abs(x)) * np.i0(x),
    "i1e": lambda x: sp.ive(1, x),
}
