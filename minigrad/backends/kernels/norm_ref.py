"""Normalization kernels, plain ``xp`` versions: the readable reference and the test
oracle of ``norm_numba`` and ``norm_cupy``.

Shapes are fixed so that every normalization maps onto one of three layouts:

    layer_norm_*   x (M, F): statistics per row (LayerNorm; GroupNorm on (N·G, C/G·L))
    batch_norm_*   x (N, C, L): statistics per channel over (N, L) (BatchNorm 1d/2d)
    rms_norm_*     x (M, F): root mean square per row over the first k features

``weight``/``bias`` are 1-D arrays or ``None``. Statistics are returned so that the
backward can rebuild x̂ = (x − mean)·rstd instead of keeping a second full-size array.
"""
from minigrad.backends import backend_of_array


def _xp(a):
    return backend_of_array(a).xp


def layer_norm_forward(x, weight, bias, eps):
    """Per row of x (M, F): x̂ = (x − μ)/√(σ² + ε) (biased σ²), y = x̂·weight + bias.
    Returns y, mean (M,), rstd (M,) = 1/√(σ² + ε)."""
    xp = _xp(x)
    mean = x.mean(axis=1)
    centered = x - mean[:, None]
    var = (centered * centered).mean(axis=1)
    rstd = 1.0 / xp.sqrt(var + eps)
    y = centered * rstd[:, None]
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y, mean, rstd


def layer_norm_backward(gy, x, mean, rstd, weight, need_affine_grads=True):
    """dx = rstd·(ĝ − mean_F(ĝ) − x̂·mean_F(ĝ·x̂)) with ĝ = gy·weight;
    dweight = Σ_rows gy·x̂, dbias = Σ_rows gy (None without weight / when not needed)."""
    xhat = (x - mean[:, None]) * rstd[:, None]
    g = gy * weight if weight is not None else gy
    dx = rstd[:, None] * (g - g.mean(axis=1, keepdims=True)
                          - xhat * (g * xhat).mean(axis=1, keepdims=True))
    if weight is None or not need_affine_grads:
        return dx, None, None
    return dx, (gy * xhat).sum(axis=0), gy.sum(axis=0)


def batch_norm_forward(x, weight, bias, eps):
    """Per channel of x (N, C, L) over (N, L): x̂ = (x − μ_c)/√(σ²_c + ε), y = γ_c x̂ + β_c.
    Returns y, mean (C,), var (C,) (biased), rstd (C,)."""
    xp = _xp(x)
    mean = x.mean(axis=(0, 2))
    centered = x - mean[:, None]
    var = (centered * centered).mean(axis=(0, 2))
    rstd = 1.0 / xp.sqrt(var + eps)
    scale = rstd if weight is None else rstd * weight
    y = centered * scale[:, None]
    if bias is not None:
        y = y + bias[:, None]
    return y, mean, var, rstd


def batch_norm_backward(gy, x, mean, rstd, weight):
    """With n = N·L and the per-channel sums dβ = Σ gy, dγ = Σ gy·x̂:
    dx = γ·rstd·(gy − dβ/n − x̂·dγ/n)  (the fused form of (ĝ − mean ĝ − x̂ mean(ĝx̂))/σ,
    since γ is constant over the reduced axes). Returns dx, dγ (C,), dβ (C,)."""
    n = x.shape[0] * x.shape[2]
    xhat = (x - mean[:, None]) * rstd[:, None]
    dbias = gy.sum(axis=(0, 2))
    dweight = (gy * xhat).sum(axis=(0, 2))
    scale = rstd if weight is None else rstd * weight
    dx = scale[:, None] * (gy - (dbias / n)[:, None] - xhat * (dweight / n)[:, None])
    return dx, dweight, dbias


def rms_norm_forward(x, weight, eps, k):
    """Per row of x (M, F): r = √(mean of x² over the first k features + ε) (k = F for
    RMSNorm, k < F for partial RMSNorm); y = weight·x/r. Returns y, rrms (M,) = 1/r."""
    xp = _xp(x)
    head = x[:, :k]
    rrms = 1.0 / xp.sqrt((head * head).mean(axis=1) + eps)
    y = x * rrms[:, None]
    if weight is not None:
        y = y * weight
    return y, rrms


def rms_norm_backward(gy, x, rrms, weight, k, need_weight_grad=True):
    """ĝ = gy·weight: dx_i = ĝ_i/r − 1[i < k]·x_i·Σ_j ĝ_j x_j/(k r³);
    dweight = Σ_rows gy·x/r."""
    g = gy * weight if weight is not None else gy
    dot = (g * x).sum(axis=1) * rrms ** 3 / k
    dx = g * rrms[:, None]
    dx[:, :k] -= x[:, :k] * dot[:, None]
    if weight is None or not need_weight_grad:
        return dx, None
    return dx, (gy * x * rrms[:, None]).sum(axis=0)
