"""Normalization kernels for the GPU: CuPy ``ReductionKernel``s compute the per-row /
per-channel sums with the map (centering, products with the weight) fused into the
reduction, and one ``ElementwiseKernel`` writes each full-size result, so no full-size
temporary is materialised. Same functions and signatures as ``norm_ref``.

Every sum accumulates in float64 whatever the input dtype (``reduce_type="double"``), as
the Numba twins do: a float32 mean over a large batch or channel then loses no digits."""
import cupy


def _sum_kernel(params, map_expr, name):
    return cupy.ReductionKernel(params, "T out", map_expr, "a + b", "out = (T)a", "0", name,
                                reduce_type="double")


_sum = _sum_kernel("T x", "x", "minigrad_norm_sum")
_sum_sq_dev = _sum_kernel("T x, T mu", "(double)(x - mu) * (x - mu)", "minigrad_sum_sq_dev")
_sum_prod = _sum_kernel("T p, T q", "(double)p * q", "minigrad_sum_prod")
_sum_g_xhat = _sum_kernel("T gy, T w, T x, T mu, T r", "(double)gy * w * (x - mu) * r",
                          "minigrad_sum_g_xhat")
_sum_sq = _sum_kernel("T x", "(double)x * x", "minigrad_sum_sq")
_sum_gwx = _sum_kernel("T gy, T w, T x", "(double)gy * w * x", "minigrad_sum_gwx")

_normalize = cupy.ElementwiseKernel(
    "T x, T mu, T r, T w, T b", "T y", "y = (x - mu) * r * w + b", "minigrad_normalize")
_norm_backward = cupy.ElementwiseKernel(
    "T gy, T w, T x, T mu, T r, T mg, T mgx", "T dx",
    "dx = r * (gy * w - mg - (x - mu) * r * mgx)", "minigrad_norm_backward")
_bn_backward = cupy.ElementwiseKernel(
    "T gy, T x, T mu, T r, T scale, T mg, T mgx", "T dx",
    "dx = scale * (gy - mg - (x - mu) * r * mgx)", "minigrad_bn_backward")
_rms_backward = cupy.ElementwiseKernel(
    "T gy, T w, T x, T r, T dot, T head", "T dx",
    "dx = gy * w * r - head * x * dot", "minigrad_rms_backward")


def _affine(weight, bias, n, dtype):
    w = cupy.ones(n, dtype) if weight is None else weight
    b = cupy.zeros(n, dtype) if bias is None else bias
    return w, b


def layer_norm_forward(x, weight, bias, eps):
    F = x.shape[1]
    w, b = _affine(weight, bias, F, x.dtype)
    mean = _sum(x, axis=1) / F
    var = _sum_sq_dev(x, mean[:, None], axis=1) / F
    rstd = 1.0 / cupy.sqrt(var + eps)
    y = _normalize(x, mean[:, None], rstd[:, None], w, b)
    return y, mean, rstd


def layer_norm_backward(gy, x, mean, rstd, weight, need_affine_grads=True):
    F = x.shape[1]
    w, _ = _affine(weight, None, F, x.dtype)
    mu, r = mean[:, None], rstd[:, None]
    mg = _sum_prod(gy, w, axis=1, keepdims=True) / F
    mgx = _sum_g_xhat(gy, w, x, mu, r, axis=1, keepdims=True) / F
    dx = _norm_backward(gy, w, x, mu, r, mg, mgx)
    if weight is None or not need_affine_grads:
        return dx, None, None
    one = cupy.ones((), x.dtype)
    return dx, _sum_g_xhat(gy, one, x, mu, r, axis=0), _sum(gy, axis=0)


def batch_norm_forward(x, weight, bias, eps):
    C = x.shape[1]
    n = x.shape[0] * x.shape[2]
    w, b = _affine(weight, bias, C, x.dtype)
    mean = _sum(x, axis=(0, 2)) / n
    var = _sum_sq_dev(x, mean[:, None], axis=(0, 2)) / n
    rstd = 1.0 / cupy.sqrt(var + eps)
    y = _normalize(x, mean[:, None], rstd[:, None], w[:, None], b[:, None])
    return y, mean, var, rstd


def batch_norm_backward(gy, x, mean, rstd, weight):
    C = x.shape[1]
    n = x.shape[0] * x.shape[2]
    w, _ = _affine(weight, None, C, x.dtype)
    mu, r = mean[:, None], rstd[:, None]
    one = cupy.ones((), x.dtype)
    dbias = _sum(gy, axis=(0, 2))
    dweight = _sum_g_xhat(gy, one, x, mu, r, axis=(0, 2))
    dx = _bn_backward(gy, x, mu, r, (rstd * w)[:, None], (dbias / n)[:, None],
                      (dweight / n)[:, None])
    return dx, dweight, dbias


def rms_norm_forward(x, weight, eps, k):
    F = x.shape[1]
    w, _ = _affine(weight, None, F, x.dtype)
    rrms = 1.0 / cupy.sqrt(_sum_sq(x[:, :k], axis=1) / k + eps)
    zero = cupy.zeros((), x.dtype)
    y = _normalize(x, zero, rrms[:, None], w, zero)
    return y, rrms


def rms_norm_backward(gy, x, rrms, weight, k, need_weight_grad=True):
    F = x.shape[1]
    w, _ = _affine(weight, None, F, x.dtype)
    r = rrms[:, None]
    dot = _sum_gwx(gy, w, x, axis=1, keepdims=True) * r ** 3 / k
    head = (cupy.arange(F) < k).astype(x.dtype)
    dx = _rms_backward(gy, w, x, r, dot, head)
    if weight is None or not need_weight_grad:
        return dx, None
    one = cupy.ones((), x.dtype)
    return dx, _sum_gwx(gy, one, x * r, axis=0)
